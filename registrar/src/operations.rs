//! Registry operations: every change to the registry is one of these, committed as one
//! raft entry and applied, in log order, by every master.
//!
//! Mesos: src/master/registry_operations.cpp (`AdmitSlave`, `UpdateSlave`,
//! `MarkSlaveUnreachable`, `MarkSlaveReachable`, `Prune`, `RemoveSlave`, `MarkSlaveGone`),
//! registrar.cpp (`Recover`), weights.cpp (`UpdateWeights`), quota.cpp (`UpdateQuota`),
//! maintenance.cpp (`UpdateSchedule`, `StartMaintenance`, `StopMaintenance`), and the
//! draining ones (`DrainAgent`, `MarkAgentDrained`, `DeactivateAgent`,
//! `ReactivateAgent`, in [`crate::draining`]). Each
//! `apply` returns what Mesos's `perform` returns: `Ok(true)` when the registry changed,
//! `Ok(false)` when the operation is valid but changes nothing, `Err` when the operation
//! is refused (Mesos resolves the registrar future to `false` then). Applying is
//! deterministic: every replica that applies the same operations in the same order ends
//! with the same registry. An operation that fails changes nothing.
//!
//! The framework and id operations are this project's own (Mesos does not replicate
//! frameworks or id counters).

use std::collections::{HashMap, HashSet};

use mesos_proto::mesos::internal::registry::{
    GoneSlave, Machine, Machines, Slave, UnreachableSlave, Weight,
};
use mesos_proto::mesos::machine_info::Mode;
use mesos_proto::mesos::maintenance::Schedule;
use mesos_proto::mesos::quota::QuotaConfig;
use mesos_proto::mesos::{
    FrameworkId, FrameworkInfo, MachineId, MachineInfo, MasterInfo, SlaveId, SlaveInfo, TimeInfo,
    WeightInfo,
};

use crate::state::{
    MAX_COMPLETED_FRAMEWORKS, RegisteredFramework, RegistryState, swap_remove_indexed,
};
use crate::{RegistryError, draining};

/// An agent and the time it was marked unreachable.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentAtTime {
    /// The agent.
    #[prost(message, optional, tag = "1")]
    pub info: Option<SlaveInfo>,
    /// When.
    #[prost(message, optional, tag = "2")]
    pub time: Option<TimeInfo>,
}

/// An agent id and a time.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentIdAtTime {
    /// The agent.
    #[prost(message, optional, tag = "1")]
    pub id: Option<SlaveId>,
    /// When.
    #[prost(message, optional, tag = "2")]
    pub time: Option<TimeInfo>,
}

/// Agent ids to forget from the unreachable and gone lists.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PruneAgents {
    /// Forget these unreachable agents.
    #[prost(message, repeated, tag = "1")]
    pub unreachable: Vec<SlaveId>,
    /// Forget these gone agents.
    #[prost(message, repeated, tag = "2")]
    pub gone: Vec<SlaveId>,
}

/// A list of role weights.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Weights {
    /// The weights.
    #[prost(message, repeated, tag = "1")]
    pub weights: Vec<WeightInfo>,
}

/// A list of quota configurations.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QuotaConfigs {
    /// The configurations.
    #[prost(message, repeated, tag = "1")]
    pub configs: Vec<QuotaConfig>,
}

/// A list of machines.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MachineIds {
    /// The machines.
    #[prost(message, repeated, tag = "1")]
    pub machines: Vec<MachineId>,
}

/// A framework and a time.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FrameworkAtTime {
    /// The framework's info, with `id` set.
    #[prost(message, optional, tag = "1")]
    pub info: Option<FrameworkInfo>,
    /// Registration time (register) or disconnection time (update; unset = connected).
    #[prost(message, optional, tag = "2")]
    pub time: Option<TimeInfo>,
}

/// One change to the registry. Encoded as a protobuf oneof inside every raft entry.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum RegistryOperation {
    /// Mesos `Recover`: record the leading master's info. Always a mutation.
    #[prost(message, tag = "1")]
    Recover(MasterInfo),
    /// Set the cluster id once; the same id again changes nothing, another id fails.
    #[prost(string, tag = "2")]
    InitializeCluster(String),
    /// Mesos `AdmitSlave`: fails if the agent is already admitted.
    #[prost(message, tag = "3")]
    AdmitAgent(SlaveInfo),
    /// Mesos `UpdateSlave`: replace an admitted agent's info.
    #[prost(message, tag = "4")]
    UpdateAgent(SlaveInfo),
    /// Mesos `MarkSlaveUnreachable`: admitted -> unreachable.
    #[prost(message, tag = "5")]
    MarkUnreachable(AgentAtTime),
    /// Mesos `MarkSlaveReachable`: unreachable (or unknown) -> admitted.
    #[prost(message, tag = "6")]
    MarkReachable(SlaveInfo),
    /// Mesos `MarkSlaveGone`: admitted or unreachable -> gone.
    #[prost(message, tag = "7")]
    MarkGone(AgentIdAtTime),
    /// Mesos `RemoveSlave`: forget an admitted agent.
    #[prost(message, tag = "8")]
    RemoveAgent(SlaveInfo),
    /// Mesos `Prune`: forget unreachable / gone agents.
    #[prost(message, tag = "9")]
    Prune(PruneAgents),
    /// Mesos `UpdateWeights`.
    #[prost(message, tag = "10")]
    UpdateWeights(Weights),
    /// Mesos `quota::UpdateQuota`: a config with no guarantees and no limits removes it.
    #[prost(message, tag = "11")]
    UpdateQuota(QuotaConfigs),
    /// Mesos `maintenance::UpdateSchedule`.
    #[prost(message, tag = "12")]
    UpdateSchedule(Schedule),
    /// Mesos `maintenance::StartMaintenance`: scheduled machines go `DOWN`.
    #[prost(message, tag = "13")]
    StartMaintenance(MachineIds),
    /// Mesos `maintenance::StopMaintenance`: machines leave the schedule.
    #[prost(message, tag = "14")]
    StopMaintenance(MachineIds),
    /// Mesos `DrainAgent`: the agent is DRAINING with a config, and deactivated.
    #[prost(message, tag = "15")]
    DrainAgent(crate::draining::DrainAgent),
    /// Mesos `MarkAgentDrained`: DRAINING -> DRAINED.
    #[prost(message, tag = "16")]
    MarkAgentDrained(SlaveId),
    /// Mesos `DeactivateAgent`: no offers for the agent until it is reactivated.
    #[prost(message, tag = "17")]
    DeactivateAgent(SlaveId),
    /// Mesos `ReactivateAgent`: offers again; ends any draining.
    #[prost(message, tag = "18")]
    ReactivateAgent(SlaveId),
    /// A new framework: fails if its id is registered or completed.
    #[prost(message, tag = "20")]
    RegisterFramework(FrameworkAtTime),
    /// A registered framework's new info and disconnection time (unset = connected).
    #[prost(message, tag = "21")]
    UpdateFramework(FrameworkAtTime),
    /// A framework is removed: its id moves to the completed list.
    #[prost(message, tag = "22")]
    RemoveFramework(FrameworkId),
}

/// The raft entry payload: one operation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RegistryEntry {
    /// The operation.
    #[prost(
        oneof = "RegistryOperation",
        tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23"
    )]
    pub operation: Option<RegistryOperation>,
}

fn agent_id(info: &SlaveInfo) -> Result<&str, RegistryError> {
    info.id
        .as_ref()
        .map(|id| id.value.as_str())
        .ok_or(RegistryError::Invalid { reason: "SlaveInfo has no id".into() })
}

fn required<T>(value: &Option<T>, what: &str) -> Result<(), RegistryError> {
    value
        .as_ref()
        .map(|_| ())
        .ok_or_else(|| RegistryError::Invalid { reason: format!("{what} is missing") })
}

fn framework_id(info: &Option<FrameworkInfo>) -> Result<String, RegistryError> {
    info.as_ref()
        .and_then(|i| i.id.as_ref())
        .map(|id| id.value.clone())
        .ok_or(RegistryError::Invalid { reason: "FrameworkInfo has no id".into() })
}

impl RegistryOperation {
    /// False for the operations that leave the Mesos registry message alone (they change
    /// only the frameworks and ids kept beside it), so its size
    /// ([`RegistryState::registry_size_bytes`], a walk of the whole message: 10 ms at
    /// 50,000 agents) stays what it was. When in doubt, true.
    pub fn touches_registry(&self) -> bool {
        match self {
            RegistryOperation::InitializeCluster(_)
            | RegistryOperation::RegisterFramework(_)
            | RegistryOperation::UpdateFramework(_)
            | RegistryOperation::RemoveFramework(_) => false,
            RegistryOperation::Recover(_)
            | RegistryOperation::AdmitAgent(_)
            | RegistryOperation::UpdateAgent(_)
            | RegistryOperation::MarkUnreachable(_)
            | RegistryOperation::MarkReachable(_)
            | RegistryOperation::MarkGone(_)
            | RegistryOperation::RemoveAgent(_)
            | RegistryOperation::Prune(_)
            | RegistryOperation::UpdateWeights(_)
            | RegistryOperation::UpdateQuota(_)
            | RegistryOperation::UpdateSchedule(_)
            | RegistryOperation::StartMaintenance(_)
            | RegistryOperation::StopMaintenance(_)
            | RegistryOperation::DrainAgent(_)
            | RegistryOperation::MarkAgentDrained(_)
            | RegistryOperation::DeactivateAgent(_)
            | RegistryOperation::ReactivateAgent(_) => true,
        }
    }

    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            RegistryOperation::Recover(_) => "recover",
            RegistryOperation::InitializeCluster(_) => "initialize_cluster",
            RegistryOperation::AdmitAgent(_) => "admit_agent",
            RegistryOperation::UpdateAgent(_) => "update_agent",
            RegistryOperation::MarkUnreachable(_) => "mark_unreachable",
            RegistryOperation::MarkReachable(_) => "mark_reachable",
            RegistryOperation::MarkGone(_) => "mark_gone",
            RegistryOperation::RemoveAgent(_) => "remove_agent",
            RegistryOperation::Prune(_) => "prune",
            RegistryOperation::UpdateWeights(_) => "update_weights",
            RegistryOperation::UpdateQuota(_) => "update_quota",
            RegistryOperation::UpdateSchedule(_) => "update_schedule",
            RegistryOperation::StartMaintenance(_) => "start_maintenance",
            RegistryOperation::StopMaintenance(_) => "stop_maintenance",
            RegistryOperation::DrainAgent(_) => "drain_agent",
            RegistryOperation::MarkAgentDrained(_) => "mark_agent_drained",
            RegistryOperation::DeactivateAgent(_) => "deactivate_agent",
            RegistryOperation::ReactivateAgent(_) => "reactivate_agent",
            RegistryOperation::RegisterFramework(_) => "register_framework",
            RegistryOperation::UpdateFramework(_) => "update_framework",
            RegistryOperation::RemoveFramework(_) => "remove_framework",
        }
    }

    /// Applies the operation: `Ok(true)` if the registry changed, `Ok(false)` if not,
    /// `Err` (and no change) if the operation is refused.
    pub fn apply(&self, state: &mut RegistryState) -> Result<bool, RegistryError> {
        match self {
            RegistryOperation::Recover(info) => {
                state.registry.master =
                    Some(mesos_proto::mesos::internal::registry::Master { info: info.clone() });
                Ok(true)
            }
            RegistryOperation::InitializeCluster(id) => initialize_cluster(state, id),
            RegistryOperation::AdmitAgent(info) => admit_agent(state, info),
            RegistryOperation::UpdateAgent(info) => update_agent(state, info),
            RegistryOperation::MarkUnreachable(op) => mark_unreachable(state, op),
            RegistryOperation::MarkReachable(info) => mark_reachable(state, info),
            RegistryOperation::MarkGone(op) => mark_gone(state, op),
            RegistryOperation::RemoveAgent(info) => remove_agent(state, info),
            RegistryOperation::Prune(op) => Ok(prune(state, op)),
            RegistryOperation::UpdateWeights(op) => Ok(update_weights(state, &op.weights)),
            RegistryOperation::UpdateQuota(op) => Ok(update_quota(state, &op.configs)),
            RegistryOperation::UpdateSchedule(schedule) => Ok(update_schedule(state, schedule)),
            RegistryOperation::StartMaintenance(op) => Ok(start_maintenance(state, &op.machines)),
            RegistryOperation::StopMaintenance(op) => Ok(stop_maintenance(state, &op.machines)),
            RegistryOperation::DrainAgent(op) => draining::drain_agent(state, op),
            RegistryOperation::MarkAgentDrained(id) => draining::mark_agent_drained(state, id),
            RegistryOperation::DeactivateAgent(id) => Ok(draining::deactivate_agent(state, id)),
            RegistryOperation::ReactivateAgent(id) => Ok(draining::reactivate_agent(state, id)),
            RegistryOperation::RegisterFramework(op) => register_framework(state, op),
            RegistryOperation::UpdateFramework(op) => update_framework(state, op),
            RegistryOperation::RemoveFramework(id) => remove_framework(state, &id.value),
        }
    }
}

fn initialize_cluster(state: &mut RegistryState, id: &str) -> Result<bool, RegistryError> {
    if id.is_empty() {
        return Err(RegistryError::Invalid { reason: "empty cluster id".into() });
    }
    match state.ids.cluster_id.as_str() {
        "" => {
            state.ids.cluster_id = id.to_string();
            Ok(true)
        }
        current if current == id => Ok(false),
        current => Err(RegistryError::ClusterIdMismatch {
            current: current.to_string(),
            proposed: id.to_string(),
        }),
    }
}

// Mesos: AdmitSlave::perform. "Agent already admitted" on an id collision.
fn admit_agent(state: &mut RegistryState, info: &SlaveInfo) -> Result<bool, RegistryError> {
    let id = agent_id(info)?.to_string();
    if state.admitted.contains_key(&id) {
        return Err(RegistryError::AgentAlreadyAdmitted { agent_id: id });
    }
    let generated = mesos_proto::ids::AgentId::from(id.as_str());
    count_generated(&state.ids.cluster_id, generated.generated_parts(), &mut state.ids.next_agent);
    let slaves = state.slaves_mut();
    slaves.push(Slave { info: info.clone(), drain_info: None, deactivated: None });
    let position = slaves.len() - 1;
    state.admitted.insert(id, position);
    Ok(true)
}

// Mesos: UpdateSlave::perform.
fn update_agent(state: &mut RegistryState, info: &SlaveInfo) -> Result<bool, RegistryError> {
    let id = agent_id(info)?;
    let Some(&position) = state.admitted.get(id) else {
        return Err(RegistryError::AgentNotAdmitted { agent_id: id.to_string() });
    };
    let slave = &mut state.slaves_mut()[position];
    if slave.info == *info {
        return Ok(false);
    }
    slave.info = info.clone();
    Ok(true)
}

// Mesos: MarkSlaveUnreachable::perform. Only admitted agents can become unreachable.
fn mark_unreachable(state: &mut RegistryState, op: &AgentAtTime) -> Result<bool, RegistryError> {
    let info =
        op.info.as_ref().ok_or(RegistryError::Invalid { reason: "SlaveInfo is missing".into() })?;
    required(&op.time, "unreachable time")?;
    let id = agent_id(info)?.to_string();
    let Some(position) = state.admitted.remove(&id) else {
        return Err(RegistryError::AgentNotAdmitted { agent_id: id });
    };
    // Draining and deactivation survive the partition (Mesos copies them too).
    let (drain_info, deactivated) =
        state.slaves_mut().get(position).map(|s| (s.drain_info, s.deactivated)).unwrap_or_default();
    let mut admitted = std::mem::take(&mut state.admitted);
    swap_remove_indexed(state.slaves_mut(), &mut admitted, position, slave_id_of);
    state.admitted = admitted;
    push_unreachable(
        state,
        UnreachableSlave {
            id: SlaveId { value: id },
            timestamp: op.time.unwrap_or_default(),
            drain_info,
            deactivated,
        },
    );
    Ok(true)
}

fn slave_id_of(slave: &Slave) -> String {
    slave.info.id.as_ref().map(|id| id.value.clone()).unwrap_or_default()
}

fn push_unreachable(state: &mut RegistryState, slave: UnreachableSlave) {
    let id = slave.id.value.clone();
    let list = state.unreachable_mut();
    list.push(slave);
    let position = list.len() - 1;
    state.unreachable.insert(id, position);
}

fn take_unreachable(state: &mut RegistryState, id: &str) -> bool {
    let Some(position) = state.unreachable.remove(id) else { return false };
    let mut index = std::mem::take(&mut state.unreachable);
    swap_remove_indexed(state.unreachable_mut(), &mut index, position, |s| s.id.value.clone());
    state.unreachable = index;
    true
}

fn take_gone(state: &mut RegistryState, id: &str) -> bool {
    let Some(position) = state.gone.remove(id) else { return false };
    let mut index = std::mem::take(&mut state.gone);
    swap_remove_indexed(state.gone_mut(), &mut index, position, |s| s.id.value.clone());
    state.gone = index;
    true
}

// Mesos: MarkSlaveReachable::perform. Already admitted: no change. Unknown agents are
// admitted too (their unreachable entry may have been pruned).
fn mark_reachable(state: &mut RegistryState, info: &SlaveInfo) -> Result<bool, RegistryError> {
    let id = agent_id(info)?.to_string();
    if state.admitted.contains_key(&id) {
        return Ok(false);
    }
    if state.gone.contains_key(&id) {
        // Mesos refuses gone agents in the master before reaching the registrar; a
        // replicated registry must not resurrect one either.
        return Err(RegistryError::AgentGone { agent_id: id });
    }
    let drain = state
        .unreachable
        .get(&id)
        .and_then(|&p| state.unreachable_agents().get(p))
        .map(|s| (s.drain_info, s.deactivated));
    if !take_unreachable(state, &id) {
        tracing::warn!(agent_id = %id, "allowing an unknown agent to reregister");
    }
    let admitted = admit_agent(state, info)?;
    // Mesos: MarkSlaveReachable copies the draining and deactivation state back.
    if let Some((drain_info, deactivated)) = drain
        && let Some(slave) = state.slaves_mut().last_mut()
    {
        slave.drain_info = drain_info;
        slave.deactivated = deactivated;
    }
    Ok(admitted)
}

// Mesos: MarkSlaveGone::perform.
fn mark_gone(state: &mut RegistryState, op: &AgentIdAtTime) -> Result<bool, RegistryError> {
    let id = op
        .id
        .as_ref()
        .map(|id| id.value.clone())
        .ok_or(RegistryError::Invalid { reason: "agent id is missing".into() })?;
    required(&op.time, "gone time")?;
    if state.gone.contains_key(&id) {
        return Err(RegistryError::AgentAlreadyGone { agent_id: id });
    }
    let found = if let Some(position) = state.admitted.remove(&id) {
        let mut admitted = std::mem::take(&mut state.admitted);
        swap_remove_indexed(state.slaves_mut(), &mut admitted, position, slave_id_of);
        state.admitted = admitted;
        true
    } else {
        take_unreachable(state, &id)
    };
    if !found {
        return Err(RegistryError::UnknownAgent { agent_id: id });
    }
    let list = state.gone_mut();
    list.push(GoneSlave {
        id: SlaveId { value: id.clone() },
        timestamp: op.time.unwrap_or_default(),
    });
    let position = list.len() - 1;
    state.gone.insert(id, position);
    Ok(true)
}

// Mesos: RemoveSlave::perform.
fn remove_agent(state: &mut RegistryState, info: &SlaveInfo) -> Result<bool, RegistryError> {
    let id = agent_id(info)?.to_string();
    let Some(position) = state.admitted.remove(&id) else {
        return Err(RegistryError::AgentNotAdmitted { agent_id: id });
    };
    let mut admitted = std::mem::take(&mut state.admitted);
    swap_remove_indexed(state.slaves_mut(), &mut admitted, position, slave_id_of);
    state.admitted = admitted;
    Ok(true)
}

// Mesos: Prune::perform. Ids not present are ignored (a concurrent operation may have
// removed them already).
fn prune(state: &mut RegistryState, op: &PruneAgents) -> bool {
    let mut mutated = false;
    for id in &op.unreachable {
        mutated |= take_unreachable(state, &id.value);
    }
    for id in &op.gone {
        mutated |= take_gone(state, &id.value);
    }
    mutated
}

// Mesos: weights::UpdateWeights::perform.
fn update_weights(state: &mut RegistryState, weights: &[WeightInfo]) -> bool {
    let mut mutated = false;
    for info in weights {
        match state.registry.weights.iter_mut().find(|w| w.info.role == info.role) {
            Some(stored) if stored.info.weight != info.weight => {
                stored.info = info.clone();
                mutated = true;
            }
            Some(_) => {}
            None => {
                state.registry.weights.push(Weight { info: info.clone() });
                mutated = true;
            }
        }
    }
    mutated
}

// Mesos: quota::UpdateQuota::perform (1.11): upsert by role; a config without
// guarantees and limits removes the role's config; the legacy `quotas` entry of every
// updated role is dropped.
#[allow(deprecated)]
fn update_quota(state: &mut RegistryState, configs: &[QuotaConfig]) -> bool {
    let mut mutated = false;
    for config in configs {
        let before = state.registry.quotas.len();
        state.registry.quotas.retain(|q| q.info.role.as_deref() != Some(config.role.as_str()));
        mutated |= state.registry.quotas.len() != before;
        let existing = state.registry.quota_configs.iter().position(|c| c.role == config.role);
        let is_default = config.guarantees.is_empty() && config.limits.is_empty();
        match (existing, is_default) {
            (Some(position), true) => {
                state.registry.quota_configs.remove(position);
                mutated = true;
            }
            (Some(position), false) if state.registry.quota_configs[position] != *config => {
                state.registry.quota_configs[position] = config.clone();
                mutated = true;
            }
            (None, false) => {
                state.registry.quota_configs.push(config.clone());
                mutated = true;
            }
            _ => {}
        }
    }
    mutated
}

type MachineKey = (Option<String>, Option<String>);

fn machine_key(id: &MachineId) -> MachineKey {
    (id.hostname.clone(), id.ip.clone())
}

fn machines_mut(state: &mut RegistryState) -> &mut Vec<Machine> {
    &mut state.registry.machines.get_or_insert_with(Machines::default).machines
}

// Mesos: maintenance::UpdateSchedule::perform. Replaces the schedule; scheduled machines
// keep their mode and get the new unavailability, new ones start `DRAINING`, machines no
// longer scheduled are forgotten.
fn update_schedule(state: &mut RegistryState, schedule: &Schedule) -> bool {
    let existing: HashSet<MachineKey> = state
        .registry
        .schedules
        .iter()
        .flat_map(|s| s.windows.iter())
        .flat_map(|w| w.machine_ids.iter().map(machine_key))
        .collect();
    let mut updated = HashMap::new();
    for window in &schedule.windows {
        for id in &window.machine_ids {
            updated.insert(machine_key(id), window.unavailability);
        }
    }
    machines_mut(state).retain_mut(|machine| match updated.get(&machine_key(&machine.info.id)) {
        Some(unavailability) => {
            machine.info.unavailability = Some(*unavailability);
            true
        }
        None => false,
    });
    for window in &schedule.windows {
        for id in &window.machine_ids {
            if existing.contains(&machine_key(id)) {
                continue;
            }
            machines_mut(state).push(Machine {
                info: MachineInfo {
                    id: id.clone(),
                    mode: Some(Mode::Draining as i32),
                    unavailability: Some(window.unavailability),
                },
            });
        }
    }
    state.registry.schedules = vec![schedule.clone()];
    true
}

// Mesos: maintenance::StartMaintenance::perform.
fn start_maintenance(state: &mut RegistryState, ids: &[MachineId]) -> bool {
    let ids: HashSet<MachineKey> = ids.iter().map(machine_key).collect();
    let mut mutated = false;
    for machine in machines_mut(state) {
        if ids.contains(&machine_key(&machine.info.id)) {
            machine.info.mode = Some(Mode::Down as i32);
            mutated = true;
        }
    }
    mutated
}

// Mesos: maintenance::StopMaintenance::perform. The machines leave every window; empty
// windows and schedules are dropped; their machine infos are forgotten.
fn stop_maintenance(state: &mut RegistryState, ids: &[MachineId]) -> bool {
    let ids: HashSet<MachineKey> = ids.iter().map(machine_key).collect();
    for schedule in &mut state.registry.schedules {
        for window in &mut schedule.windows {
            window.machine_ids.retain(|id| !ids.contains(&machine_key(id)));
        }
        schedule.windows.retain(|w| !w.machine_ids.is_empty());
    }
    state.registry.schedules.retain(|s| !s.windows.is_empty());
    machines_mut(state).retain(|m| !ids.contains(&machine_key(&m.info.id)));
    true
}

fn register_framework(
    state: &mut RegistryState,
    op: &FrameworkAtTime,
) -> Result<bool, RegistryError> {
    let id = framework_id(&op.info)?;
    if state.frameworks.contains_key(&id) {
        return Err(RegistryError::FrameworkAlreadyRegistered { framework_id: id });
    }
    if state.completed_frameworks.contains(&id) {
        return Err(RegistryError::FrameworkCompleted { framework_id: id });
    }
    let generated = mesos_proto::ids::FrameworkId::from(id.as_str());
    count_generated(
        &state.ids.cluster_id,
        generated.generated_parts(),
        &mut state.ids.next_framework,
    );
    let framework = RegisteredFramework {
        info: op.info.clone(),
        registered_time: op.time,
        disconnected_since: None,
    };
    state.frameworks.insert(id, framework);
    Ok(true)
}

fn update_framework(
    state: &mut RegistryState,
    op: &FrameworkAtTime,
) -> Result<bool, RegistryError> {
    let id = framework_id(&op.info)?;
    let Some(framework) = state.frameworks.get_mut(&id) else {
        return Err(RegistryError::UnknownFramework { framework_id: id });
    };
    if framework.info == op.info && framework.disconnected_since == op.time {
        return Ok(false);
    }
    framework.info = op.info.clone();
    framework.disconnected_since = op.time;
    Ok(true)
}

fn remove_framework(state: &mut RegistryState, id: &str) -> Result<bool, RegistryError> {
    if state.frameworks.remove(id).is_none() {
        return Err(RegistryError::UnknownFramework { framework_id: id.to_string() });
    }
    if state.completed_frameworks.len() >= MAX_COMPLETED_FRAMEWORKS {
        state.completed_frameworks.pop_front();
    }
    state.completed_frameworks.push_back(id.to_string());
    Ok(true)
}

/// Raises `counter` past `id` if `id` was generated under the cluster id (`<cluster>-S<n>`
/// or `<cluster>-<NNNN>`): a later leader continues after it, so no id is handed out twice.
fn count_generated(cluster_id: &str, generated: Option<(&str, u64)>, counter: &mut u64) {
    if let Some((prefix, n)) = generated
        && !cluster_id.is_empty()
        && prefix == cluster_id
    {
        *counter = (*counter).max(n.saturating_add(1));
    }
}
