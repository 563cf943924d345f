//! The master's side of the replicated registry: which changes wait for it, what
//! happens once they are committed, and rebuilding the master from it after a failover.
//!
//! Mesos: master.cpp `registerSlave` -> `registrar->apply(...)` -> `_registerSlave`, the
//! same for re-registration and `markUnreachable`, and `Master::recover` /
//! `_recover` (agents from the registry must re-register within
//! `--agent_reregister_timeout`). Here every such change is an
//! [`Output::Registry`](super::Output) with an [`AfterRegistry`] saying how to continue; the
//! actor submits it to the registrar and calls [`MasterCore::on_registry_result`] once it
//! is committed (or failed). Frameworks are in the registry too, which Mesos never did:
//! a new leader knows every framework and its failover timeout.

use std::collections::BTreeSet;
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, FrameworkId};
use mesos_proto::mesos::{self, internal};

use super::{MasterConfig, MasterCore, Output, Timer, UnreachableAgent};
use mesos_proto::resources::Resources;
use mesos_registrar::{RegistryOperation, RegistryState};

/// How a flow continues once its registry change is committed.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum AfterRegistry {
    /// A new agent was admitted: add it and answer `SlaveRegisteredMessage`.
    AgentAdmitted { pid: Pid, message: Box<internal::RegisterSlaveMessage> },
    /// A re-registering agent the master did not have is (again) in the registry.
    /// `total` is the agent's total, computed when its message was checked.
    AgentReadmitted { pid: Pid, message: Box<internal::ReregisterSlaveMessage>, total: Resources },
    /// An agent is recorded unreachable: remove it.
    AgentUnreachable { agent_id: AgentId },
    /// An agent recovered from the registry never re-registered: it is unreachable now.
    RecoveredAgentUnreachable { agent_id: AgentId, info: Box<mesos::SlaveInfo> },
    /// A framework was registered: add it and answer.
    FrameworkRegistered {
        pid: Pid,
        info: Box<mesos::FrameworkInfo>,
        suppressed: BTreeSet<String>,
        reregistered: bool,
    },
    /// An operator call on an agent (or the draining it started) is in the registry;
    /// `request` is the HTTP call waiting for it, if any.
    AgentCall {
        agent_id: AgentId,
        done: super::AgentCallDone,
        request: Option<super::OperatorRequest>,
    },
    /// A maintenance change is in the registry; `request` is the waiting HTTP call.
    Maintenance { done: super::MaintenanceDone, request: super::OperatorRequest },
    /// An operator's quota update is committed: apply it.
    QuotaUpdated { configs: Vec<mesos::quota::QuotaConfig> },
    /// An operator's weights update is committed: apply it.
    WeightsUpdated { weights: Vec<mesos::WeightInfo> },
    /// Nothing more to do (the master already acted, e.g. removing a framework).
    Nothing,
}

/// A `TimeInfo` for `time`.
pub(crate) fn time_info(time: Time) -> mesos::TimeInfo {
    mesos::TimeInfo { nanoseconds: time.since_epoch().as_nanos().min(i64::MAX as u128) as i64 }
}

impl MasterCore {
    pub(crate) fn registry(&mut self, operation: RegistryOperation, after: AfterRegistry) {
        self.outbox.push(Output::Registry { operation, after });
    }

    /// The registrar's answer to an [`Output::Registry`]. On failure nothing happens
    /// beyond forgetting the pending request: the agent or scheduler retries, and a lost
    /// leadership resets the whole master anyway.
    pub fn on_registry_result(
        &mut self,
        after: AfterRegistry,
        result: Result<(), String>,
        now: Time,
    ) {
        match result {
            Ok(()) => self.on_registry_done(after, now),
            Err(error) if matches!(after, AfterRegistry::AgentCall { .. }) => {
                if let AfterRegistry::AgentCall { agent_id, done, request } = after {
                    self.on_agent_call_done(&agent_id, done, request, Err(error), now);
                }
            }
            Err(error) if matches!(after, AfterRegistry::Maintenance { .. }) => {
                if let AfterRegistry::Maintenance { done, request } = after {
                    self.on_maintenance_done(done, request, Err(error), now);
                }
            }
            Err(error) => {
                tracing::warn!(%error, ?after, "registry change failed");
                match after {
                    AfterRegistry::AgentAdmitted { pid, .. }
                    | AfterRegistry::AgentReadmitted { pid, .. }
                    | AfterRegistry::FrameworkRegistered { pid, .. } => {
                        self.pending_pids.remove(&pid);
                    }
                    _ => {}
                }
            }
        }
    }

    pub(crate) fn on_registry_done(&mut self, after: AfterRegistry, now: Time) {
        match after {
            AfterRegistry::AgentAdmitted { pid, message } => {
                self.pending_pids.remove(&pid);
                self.on_agent_admitted(&pid, *message, now);
            }
            AfterRegistry::AgentReadmitted { pid, message, total } => {
                self.pending_pids.remove(&pid);
                self.on_agent_readmitted(&pid, *message, total, now);
            }
            AfterRegistry::AgentUnreachable { agent_id } => {
                self.on_agent_marked_unreachable(&agent_id, now)
            }
            AfterRegistry::RecoveredAgentUnreachable { agent_id, info } => {
                self.unreachable.insert(agent_id, UnreachableAgent { info: *info, time: now });
            }
            AfterRegistry::FrameworkRegistered { pid, info, suppressed, reregistered } => {
                self.pending_pids.remove(&pid);
                self.on_framework_registered(&pid, *info, suppressed, reregistered, now);
            }
            AfterRegistry::AgentCall { agent_id, done, request } => {
                self.on_agent_call_done(&agent_id, done, request, Ok(()), now)
            }
            AfterRegistry::Maintenance { done, request } => {
                self.on_maintenance_done(done, request, Ok(()), now)
            }
            AfterRegistry::QuotaUpdated { configs } => self.on_quota_updated(configs),
            AfterRegistry::WeightsUpdated { weights } => self.on_weights_updated(weights),
            AfterRegistry::Nothing => {}
        }
    }

    /// A master that has just become leader, rebuilt from the committed registry:
    /// admitted agents are expected to re-register within `--agent_reregister_timeout`,
    /// unreachable ones stay unreachable, and registered frameworks wait for their
    /// schedulers (until their failover timeout). Mesos: master.cpp `_recover`.
    ///
    /// Agent and framework ids continue the registry's counters under its cluster id
    /// (Mesos prefixes them with each master's own id and restarts its counters; here the
    /// ids of a cluster stay one sequence across leaders). The first leader names the
    /// cluster after itself.
    pub fn recover(config: MasterConfig, registry: &RegistryState, now: Time) -> MasterCore {
        let mut core = MasterCore::new(config, now);
        let ids = registry.ids();
        if ids.cluster_id.is_empty() {
            let name = RegistryOperation::InitializeCluster(core.config.id.clone());
            core.registry(name, AfterRegistry::Nothing);
        } else {
            core.id_prefix = ids.cluster_id.clone();
        }
        core.next_agent = ids.next_agent;
        core.next_framework = ids.next_framework;
        for slave in registry.admitted_agents() {
            if let Some(id) = slave.info.id.as_ref() {
                core.recovered_agents.insert(AgentId::from(id), slave.info.clone());
            }
        }
        // The registry's agents come back within the re-registration timeout: the maps
        // are sized for them once instead of growing (and rehashing) as they come.
        core.agents.reserve(core.recovered_agents.len());
        core.agents_by_pid.reserve(core.recovered_agents.len());
        for slave in registry.unreachable_agents() {
            let time =
                Time::from_epoch(Duration::from_nanos(slave.timestamp.nanoseconds.max(0) as u64));
            let info = mesos::SlaveInfo { id: Some(slave.id.clone()), ..Default::default() };
            core.unreachable.insert(AgentId::from(&slave.id), UnreachableAgent { info, time });
        }
        for framework in registry.frameworks().values() {
            if let Some(info) = &framework.info {
                core.recover_framework(info, now);
                if let Some(id) = info.id.as_ref().map(FrameworkId::from) {
                    // A connected scheduler needs time to find the new leader, whatever
                    // its own failover timeout (often 0): it gets at least as long as the
                    // agents do, so a failover never removes a live framework.
                    let own =
                        Duration::try_from_secs_f64(info.failover_timeout.unwrap_or(0.0).max(0.0))
                            .unwrap_or(Duration::MAX);
                    let timeout = own.max(core.config.agent_reregister_timeout);
                    let epoch = core.frameworks.get(&id).map(|f| f.failover_epoch).unwrap_or(0);
                    core.timer(timeout, Timer::FrameworkFailover { framework_id: id, epoch });
                }
            }
        }
        core.recover_draining(registry, now);
        core.recover_maintenance(registry);
        core.load_quota_and_weights(registry);
        for id in registry.completed_frameworks() {
            core.completed_framework_ids.insert(FrameworkId::from(id));
        }
        if !core.recovered_agents.is_empty() {
            core.timer(core.config.agent_reregister_timeout, Timer::AgentReregisterTimeout);
        }
        tracing::info!(
            agents = core.recovered_agents.len(),
            unreachable = core.unreachable.len(),
            frameworks = core.frameworks.len(),
            "recovered from the registry"
        );
        core
    }

    /// Agents from the registry that did not re-register in time become unreachable.
    pub(crate) fn on_agent_reregister_timeout(&mut self, now: Time) {
        let missing: Vec<(AgentId, mesos::SlaveInfo)> = self.recovered_agents.drain().collect();
        for (agent_id, info) in missing {
            tracing::warn!(%agent_id, "agent did not re-register after master failover: unreachable");
            let operation =
                RegistryOperation::MarkUnreachable(mesos_registrar::operations::AgentAtTime {
                    info: Some(info.clone()),
                    time: Some(time_info(now)),
                });
            self.registry(
                operation,
                AfterRegistry::RecoveredAgentUnreachable { agent_id, info: Box::new(info) },
            );
        }
    }

    /// Pids of agents known from the registry that have not re-registered yet, where the
    /// pid can be told from the agent's info (`slave(1)@<hostname>:<port>` with an IP
    /// hostname): a new leader announces itself to them.
    pub fn recovered_agent_pids(&self) -> Vec<Pid> {
        self.recovered_agents
            .values()
            .filter_map(|info| {
                format!("slave(1)@{}:{}", info.hostname, info.port.unwrap_or(5051)).parse().ok()
            })
            .collect()
    }
}
