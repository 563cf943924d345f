//! Mesos-shaped JSON of the master's objects: tasks, executors, offers, agents,
//! frameworks and the whole `/master/state` document.
//!
//! Mesos: master/readonly_handler.cpp `FullFrameworkWriter`, `SlaveWriter`,
//! `SlavesWriter::writeSlave`, `json(Summary<Framework>)`, `ReadOnlyHandler::state`, and
//! common/http.cpp `json(Task)`, `json(TaskStatus)`, `json(ExecutorInfo)`, `json(Offer)`,
//! `json(SlaveInfo)`, `json(MasterInfo)`. Field names, presence rules and number types
//! follow those writers (gauges such as `activated_slaves` are doubles, as in Mesos).

use std::collections::HashMap;

use mesos_proto::ids::{AgentId, FrameworkId};
use mesos_proto::json::to_json;
use mesos_proto::mesos;
use mesos_proto::resources::Resources;
use serde_json::{Map, Value, json};

use crate::core::{Agent, AgentOperatorState, AgentState, Framework, FrameworkState};
use crate::snapshot::StateSnapshot;

/// The Mesos name of a task state (`TASK_RUNNING`).
pub fn state_name(state: mesos::TaskState) -> String {
    state.as_str_name().to_string()
}

/// Resources as Mesos's summary object (`{"cpus": 1.0, "mem": 128.0, ...}`).
pub fn resources_json(resources: &Resources) -> Value {
    resources.to_state_json()
}

fn protos_summary(protos: &[mesos::Resource]) -> Value {
    resources_json(&Resources::from_protos(protos.iter().cloned()).unwrap_or_default())
}

/// Full protobuf JSON of each resource, in the format Mesos's endpoints use (the
/// pre-refinement `role`/`reservation` fields where possible; Mesos:
/// `convertResourceFormat(ENDPOINT)`).
pub fn resources_full_json(resources: &Resources) -> Value {
    let list = resources
        .iter()
        .map(|resource| {
            let mut resource = resource.clone();
            // Resources with refined reservations cannot be downgraded; Mesos shows
            // them in the post-refinement format, and so do we.
            let _ = mesos_proto::resources::resource::downgrade(&mut resource);
            to_json(&resource)
        })
        .collect();
    Value::Array(list)
}

fn role_of(resources: &[mesos::Resource]) -> Option<String> {
    resources.first().and_then(|r| r.allocation_info.as_ref()).and_then(|a| a.role.clone())
}

/// One task status (Mesos: `json(TaskStatus)`).
pub fn task_status_json(status: &mesos::TaskStatus) -> Value {
    let mut value = json!({
        "state": state_name(status.state()),
        "timestamp": status.timestamp.unwrap_or(0.0),
    });
    // Beyond Mesos's `json(TaskStatus)`: who sent the update and why, so the web UI's
    // status history shows what Mesos's UI could only show for the latest state.
    if let Some(source) = status.source.and_then(|s| mesos::task_status::Source::try_from(s).ok()) {
        value["source"] = json!(source.as_str_name());
    }
    if let Some(reason) = status.reason.and_then(|r| mesos::task_status::Reason::try_from(r).ok()) {
        value["reason"] = json!(reason.as_str_name());
    }
    if let Some(message) = status.message.as_ref().filter(|m| !m.is_empty()) {
        value["message"] = json!(message);
    }
    if let Some(labels) = &status.labels {
        value["labels"] = labels_json(labels);
    }
    if let Some(container_status) = &status.container_status {
        value["container_status"] = to_json(container_status);
    }
    if let Some(healthy) = status.healthy {
        value["healthy"] = json!(healthy);
    }
    value
}

fn labels_json(labels: &mesos::Labels) -> Value {
    Value::Array(labels.labels.iter().map(to_json).collect())
}

/// One task (Mesos: `json(Task)`).
pub fn task_json(task: &mesos::Task) -> Value {
    let mut value = json!({
        "id": task.task_id.value,
        "name": task.name,
        "framework_id": task.framework_id.value,
        "executor_id": task.executor_id.as_ref().map(|e| e.value.clone()).unwrap_or_default(),
        "slave_id": task.slave_id.value,
        "state": state_name(task.state()),
        "resources": protos_summary(&task.resources),
        "statuses": task.statuses.iter().map(task_status_json).collect::<Vec<_>>(),
    });
    if !task.limits.is_empty() {
        let limits: Map<String, Value> =
            task.limits.iter().map(|(name, scalar)| (name.clone(), json!(scalar.value))).collect();
        value["limits"] = Value::Object(limits);
    }
    if let Some(role) = role_of(&task.resources) {
        value["role"] = json!(role);
    }
    if let Some(user) = &task.user {
        value["user"] = json!(user);
    }
    if let Some(labels) = &task.labels {
        value["labels"] = labels_json(labels);
    }
    if let Some(discovery) = &task.discovery {
        value["discovery"] = to_json(discovery);
    }
    if let Some(container) = &task.container {
        value["container"] = to_json(container);
    }
    if let Some(health_check) = &task.health_check {
        value["health_check"] = to_json(health_check);
    }
    value
}

fn command_json(command: &mesos::CommandInfo) -> Value {
    let mut value = json!({
        "argv": command.arguments,
        "uris": command
            .uris
            .iter()
            .map(|uri| json!({ "value": uri.value, "executable": uri.executable.unwrap_or(false) }))
            .collect::<Vec<_>>(),
    });
    if let Some(shell) = command.shell {
        value["shell"] = json!(shell);
    }
    if let Some(text) = &command.value {
        value["value"] = json!(text);
    }
    if let Some(environment) = &command.environment {
        value["environment"] = to_json(environment);
    }
    value
}

/// One executor of a framework on an agent (Mesos: `json(ExecutorInfo)` + `slave_id`).
pub fn executor_json(executor: &mesos::ExecutorInfo, agent_id: &AgentId) -> Value {
    let mut value = json!({
        "executor_id": executor.executor_id.value,
        "name": executor.name.clone().unwrap_or_default(),
        "framework_id": executor.framework_id.as_ref().map(|f| f.value.clone()).unwrap_or_default(),
        "command": executor.command.as_ref().map(command_json).unwrap_or_else(|| command_json(&Default::default())),
        "resources": protos_summary(&executor.resources),
        "slave_id": agent_id.to_string(),
    });
    if let Some(role) = role_of(&executor.resources) {
        value["role"] = json!(role);
    }
    if let Some(labels) = &executor.labels {
        value["labels"] = labels_json(labels);
    }
    if let Some(kind) = executor.r#type.and_then(|t| mesos::executor_info::Type::try_from(t).ok()) {
        value["type"] = json!(kind.as_str_name());
    }
    value
}

/// One offer (Mesos: `json(Offer)`).
pub fn offer_json(offer: &mesos::Offer) -> Value {
    json!({
        "id": offer.id.value,
        "framework_id": offer.framework_id.value,
        "allocation_info": offer.allocation_info.as_ref().map(to_json).unwrap_or_else(|| json!({})),
        "slave_id": offer.slave_id.value,
        "resources": protos_summary(&offer.resources),
    })
}

/// This master as `leader_info` shows it (Mesos: `json(MasterInfo)`).
pub fn master_info_json(info: &mesos::MasterInfo) -> Value {
    let mut value = json!({
        "id": info.id,
        "pid": info.pid.clone().unwrap_or_default(),
        "port": info.port,
        "hostname": info.hostname.clone().unwrap_or_default(),
    });
    if let Some(domain) = &info.domain {
        value["domain"] = to_json(domain);
    }
    value
}

/// Offered resources of the snapshot, summed by agent and by framework.
#[derive(Default)]
pub struct OfferedIndex {
    /// By agent.
    pub by_agent: HashMap<AgentId, Resources>,
    /// By framework.
    pub by_framework: HashMap<FrameworkId, Resources>,
}

impl OfferedIndex {
    /// Sums the outstanding offers of `snapshot`.
    pub fn of(snapshot: &StateSnapshot) -> OfferedIndex {
        let mut index = OfferedIndex::default();
        for offer in &snapshot.offers {
            *index.by_agent.entry(offer.agent_id.clone()).or_default() += &offer.resources;
            *index.by_framework.entry(offer.framework_id.clone()).or_default() += &offer.resources;
        }
        index
    }
}

fn slave_info_json(info: &mesos::SlaveInfo) -> Value {
    let attributes = mesos_proto::attributes::Attributes::from_protos(info.attributes.clone())
        .map(|a| a.to_state_json())
        .unwrap_or_else(|_| json!({}));
    let mut value = json!({
        "id": info.id.as_ref().map(|id| id.value.clone()).unwrap_or_default(),
        "hostname": info.hostname,
        "port": info.port.unwrap_or(5051),
        "attributes": attributes,
    });
    if let Some(domain) = &info.domain {
        value["domain"] = to_json(domain);
    }
    value
}

/// One agent (Mesos: `SlaveWriter`). With `full`, also the `*_full` arrays that
/// `/master/slaves` adds (Mesos: `SlavesWriter::writeSlave`).
pub fn agent_json(
    agent: &Agent,
    operator: Option<&AgentOperatorState>,
    offered: &OfferedIndex,
    full: bool,
) -> Value {
    let used = agent.used_total();
    let empty = Resources::new();
    let offered = offered.by_agent.get(&agent.id).unwrap_or(&empty);
    let reservations = agent.total.reservations();
    let unreserved = agent.total.unreserved();
    let mut value = slave_info_json(&agent.info);
    value["pid"] = json!(agent.pid.to_string());
    value["registered_time"] = json!(agent.registered_time.secs_f64());
    if let Some(time) = agent.reregistered_time {
        value["reregistered_time"] = json!(time.secs_f64());
    }
    value["resources"] = resources_json(&agent.total);
    value["used_resources"] = resources_json(&used);
    value["offered_resources"] = resources_json(offered);
    value["reserved_resources"] = Value::Object(
        reservations.iter().map(|(role, r)| (role.clone(), resources_json(r))).collect(),
    );
    value["unreserved_resources"] = resources_json(&unreserved);
    value["active"] = json!(agent.state == AgentState::Active);
    // Mesos: readonly_handler.cpp `SlaveWriter` writes `deactivated`, and `drain_info`
    // (with `estimated_drain_start_time_seconds` if known) for a draining or drained agent.
    let operator = operator.cloned().unwrap_or_default();
    value["deactivated"] = json!(operator.deactivated);
    if let Some(drain_info) = &operator.drain_info {
        value["drain_info"] = to_json(drain_info);
        if let Some(start) = operator.estimated_drain_start_time {
            value["estimated_drain_start_time_seconds"] = json!(start.secs_f64());
        }
    }
    value["version"] = json!(agent.version);
    value["capabilities"] =
        json!(agent.capabilities.iter().map(|c| c.r#type().as_str_name()).collect::<Vec<_>>());
    if full {
        value["reserved_resources_full"] = Value::Object(
            reservations.iter().map(|(role, r)| (role.clone(), resources_full_json(r))).collect(),
        );
        value["unreserved_resources_full"] = resources_full_json(&unreserved);
        value["used_resources_full"] = resources_full_json(&used);
        value["offered_resources_full"] = resources_full_json(offered);
    }
    value
}

/// The resources a framework's non-terminal tasks and its executors use.
pub fn framework_used(framework: &Framework) -> Resources {
    let mut used = Resources::new();
    for task in framework.tasks.values() {
        if !task.state().is_terminal() {
            used += Resources::from_protos(task.resources.clone()).unwrap_or_default();
        }
    }
    for executors in framework.executors.values() {
        for executor in executors.values() {
            used += Resources::from_protos(executor.resources.clone()).unwrap_or_default();
        }
    }
    used
}

/// A framework's summary fields (Mesos: `json(Summary<Framework>)`), shared by
/// `/state`, `/frameworks` and `/state-summary`.
pub fn framework_summary_json(framework: &Framework, offered: &OfferedIndex) -> Value {
    let empty = Resources::new();
    let offered = offered.by_framework.get(&framework.id).unwrap_or(&empty);
    let mut value = json!({
        "id": framework.id.to_string(),
        "name": framework.info.name,
        "used_resources": resources_json(&framework_used(framework)),
        "offered_resources": resources_json(offered),
        "capabilities": framework.info.capabilities.iter().map(|c| c.r#type().as_str_name()).collect::<Vec<_>>(),
        "hostname": framework.info.hostname.clone().unwrap_or_default(),
        "webui_url": framework.info.webui_url.clone().unwrap_or_default(),
        "active": framework.active(),
        "connected": framework.pid.is_some() && framework.active(),
        "recovered": framework.state == FrameworkState::Recovered,
    });
    if let Some(pid) = &framework.pid {
        value["pid"] = json!(pid.to_string());
    }
    value
}

fn sorted_tasks<'a>(tasks: impl Iterator<Item = &'a mesos::Task>) -> Vec<&'a mesos::Task> {
    let mut tasks: Vec<&mesos::Task> = tasks.collect();
    tasks.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
    tasks
}

/// One framework with its tasks, offers and executors (Mesos: `FullFrameworkWriter`).
pub fn framework_json(
    framework: &Framework,
    snapshot: &StateSnapshot,
    offered: &OfferedIndex,
) -> Value {
    let mut value = framework_summary_json(framework, offered);
    let info = &framework.info;
    value["user"] = json!(info.user);
    value["failover_timeout"] = json!(info.failover_timeout.unwrap_or(0.0));
    value["checkpoint"] = json!(info.checkpoint.unwrap_or(false));
    value["registered_time"] = json!(framework.registered_time.secs_f64());
    value["unregistered_time"] =
        json!(framework.unregistered_time.map(|t| t.secs_f64()).unwrap_or(0.0));
    if let Some(principal) = &info.principal {
        value["principal"] = json!(principal);
    }
    let empty = Resources::new();
    let total =
        framework_used(framework) + offered.by_framework.get(&framework.id).unwrap_or(&empty);
    value["resources"] = resources_json(&total);
    if let Some(time) = framework.reregistered_time {
        value["reregistered_time"] = json!(time.secs_f64());
    }
    let multi_role = framework.has_capability(mesos::framework_info::capability::Type::MultiRole);
    if multi_role {
        value["roles"] = json!(info.roles);
    } else {
        #[allow(deprecated)]
        let role = info.role.clone().unwrap_or_else(|| "*".to_string());
        value["role"] = json!(role);
    }
    let (unreachable, live): (Vec<&mesos::Task>, Vec<&mesos::Task>) =
        sorted_tasks(framework.tasks.values())
            .into_iter()
            .partition(|t| t.state() == mesos::TaskState::TaskUnreachable);
    value["tasks"] = json!(live.into_iter().map(task_json).collect::<Vec<_>>());
    value["unreachable_tasks"] = json!(unreachable.into_iter().map(task_json).collect::<Vec<_>>());
    value["completed_tasks"] =
        json!(framework.completed_tasks.iter().map(|t| task_json(t)).collect::<Vec<_>>());
    let offers = snapshot.offers_of(&framework.id);
    value["offers"] = json!(offers.into_iter().map(offer_json).collect::<Vec<_>>());
    let mut executors: Vec<Value> = Vec::new();
    let mut agents: Vec<&AgentId> = framework.executors.keys().collect();
    agents.sort();
    for agent_id in agents {
        let mut on_agent: Vec<&mesos::ExecutorInfo> =
            framework.executors[agent_id].values().collect();
        on_agent.sort_by(|a, b| a.executor_id.value.cmp(&b.executor_id.value));
        executors.extend(on_agent.into_iter().map(|e| executor_json(e, agent_id)));
    }
    value["executors"] = Value::Array(executors);
    if let Some(labels) = &info.labels {
        value["labels"] = labels_json(labels);
    }
    value["offer_constraints"] = json!({});
    value
}

/// The number of active and inactive agents (Mesos gauges `slaves_active/inactive`).
pub fn agent_counts(snapshot: &StateSnapshot) -> (usize, usize) {
    let active = snapshot.agents.iter().filter(|a| a.state == AgentState::Active).count();
    (active, snapshot.agents.len() - active)
}

/// The master's flags as a JSON object (`{"port": "5050", ...}`).
pub fn flags_json(snapshot: &StateSnapshot) -> Value {
    Value::Object(snapshot.flags.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// The whole `/master/state` document (Mesos: `ReadOnlyHandler::state`).
pub fn state_json(s: &StateSnapshot) -> Value {
    let offered = OfferedIndex::of(s);
    let (active, inactive) = agent_counts(s);
    let pid = s.info.pid.clone().unwrap_or_default();
    json!({
        "version": s.info.version.clone().unwrap_or_default(),
        "build_date": "",
        "build_time": 0,
        "build_user": "",
        "start_time": s.start_time.secs_f64(),
        "elected_time": s.elected_time.secs_f64(),
        "id": s.info.id,
        "pid": pid,
        "hostname": s.info.hostname.clone().unwrap_or_default(),
        "capabilities": s.info.capabilities.iter().map(|c| c.r#type().as_str_name()).collect::<Vec<_>>(),
        "activated_slaves": active as f64,
        "deactivated_slaves": inactive as f64,
        "unreachable_slaves": s.unreachable.len() as f64,
        "leader": super::leader_pid(s),
        "leader_info": master_info_json(&s.info),
        "flags": flags_json(s),
        "slaves": s
            .agents
            .iter()
            .map(|a| agent_json(a, s.agent_operator_states.get(&a.id), &offered, false))
            .collect::<Vec<_>>(),
        "recovered_slaves": [],
        "frameworks": s.frameworks.iter().map(|f| framework_json(f, s, &offered)).collect::<Vec<_>>(),
        "completed_frameworks": s.completed_frameworks.iter().map(|f| framework_json(f, s, &offered)).collect::<Vec<_>>(),
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    })
}
