//! Mesos-shaped JSON for `/master/state` (Mesos: master/http.cpp `FullFrameworkWriter`,
//! `SlaveWriter`, common/http.cpp `model(Task)`).

use mesos_proto::mesos;
use mesos_proto::resources::Resources;
use serde_json::{Value, json};

use crate::core::{Agent, Framework};
use crate::snapshot::StateSnapshot;

fn resources_json(resources: &Resources) -> Value {
    resources.to_state_json()
}

fn task_json(task: &mesos::Task) -> Value {
    let resources = Resources::from_protos(task.resources.clone()).unwrap_or_default();
    let role = resources.allocations().keys().next().cloned();
    let statuses: Vec<Value> = task
        .statuses
        .iter()
        .map(|s| json!({ "state": state_name(s.state()), "timestamp": s.timestamp.unwrap_or(0.0) }))
        .collect();
    let mut value = json!({
        "id": task.task_id.value,
        "name": task.name,
        "framework_id": task.framework_id.value,
        "executor_id": task.executor_id.as_ref().map(|e| e.value.clone()).unwrap_or_default(),
        "slave_id": task.slave_id.value,
        "state": state_name(task.state()),
        "resources": resources_json(&resources),
        "statuses": statuses,
    });
    if let Some(role) = role {
        value["role"] = json!(role);
    }
    if let Some(user) = &task.user {
        value["user"] = json!(user);
    }
    value
}

/// The Mesos name of a task state (`TASK_RUNNING`).
pub fn state_name(state: mesos::TaskState) -> String {
    state.as_str_name().to_string()
}

/// One framework as `/master/state` shows it.
pub fn framework_json(framework: &Framework) -> Value {
    let mut used = Resources::new();
    for task in framework.tasks.values() {
        if !crate::core::is_terminal_state(task.state()) {
            used += Resources::from_protos(task.resources.clone()).unwrap_or_default();
        }
    }
    json!({
        "id": framework.id.to_string(),
        "name": framework.info.name,
        "pid": framework.pid.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        "user": framework.info.user,
        "hostname": framework.info.hostname.clone().unwrap_or_default(),
        "webui_url": framework.info.webui_url.clone().unwrap_or_default(),
        "failover_timeout": framework.info.failover_timeout.unwrap_or(0.0),
        "checkpoint": framework.info.checkpoint.unwrap_or(false),
        "roles": framework.roles.iter().collect::<Vec<_>>(),
        "role": framework.roles.iter().next().cloned().unwrap_or_default(),
        "active": framework.active(),
        "connected": framework.pid.is_some() && framework.active(),
        "recovered": framework.state == crate::core::FrameworkState::Recovered,
        "registered_time": framework.registered_time.secs_f64(),
        "reregistered_time": framework.reregistered_time.map(|t| t.secs_f64()),
        "unregistered_time": framework.unregistered_time.map(|t| t.secs_f64()).unwrap_or(0.0),
        "capabilities": framework.info.capabilities.iter().map(|c| c.r#type().as_str_name()).collect::<Vec<_>>(),
        "used_resources": resources_json(&used),
        "tasks": framework.tasks.values().map(task_json).collect::<Vec<_>>(),
        "completed_tasks": framework.completed_tasks.iter().map(task_json).collect::<Vec<_>>(),
        "offers": framework.offers.iter().map(|o| json!({ "id": o.to_string() })).collect::<Vec<_>>(),
    })
}

fn agent_json(agent: &Agent) -> Value {
    let used = agent.used_total();
    json!({
        "id": agent.id.to_string(),
        "pid": agent.pid.to_string(),
        "hostname": agent.info.hostname,
        "port": agent.info.port.unwrap_or(5051),
        "resources": resources_json(&agent.total),
        "used_resources": resources_json(&used),
        "attributes": mesos_proto::attributes::Attributes::from_protos(agent.info.attributes.clone())
            .map(|a| a.to_state_json())
            .unwrap_or_else(|_| json!({})),
        "active": agent.state == crate::core::AgentState::Active,
        "version": agent.version,
        "registered_time": agent.registered_time.secs_f64(),
    })
}

/// The whole `/master/state` document.
pub fn state_json(s: &StateSnapshot) -> Value {
    let pid = s.info.pid.clone().unwrap_or_default();
    let active = s.agents.iter().filter(|a| a.state == crate::core::AgentState::Active).count();
    json!({
        "version": s.info.version,
        "id": s.info.id,
        "pid": pid,
        "hostname": s.info.hostname,
        "leader": pid,
        "leader_info": mesos_proto::json::to_json(&s.info),
        "start_time": s.start_time.secs_f64(),
        "elected_time": s.elected_time.secs_f64(),
        "activated_slaves": active,
        "deactivated_slaves": s.agents.len() - active,
        "unreachable_slaves": s.unreachable.len(),
        "slaves": s.agents.iter().map(agent_json).collect::<Vec<_>>(),
        "frameworks": s.frameworks.iter().map(framework_json).collect::<Vec<_>>(),
        "completed_frameworks": s.completed_frameworks.iter().map(framework_json).collect::<Vec<_>>(),
        "flags": s.flags.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}
