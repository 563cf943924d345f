//! The read-only endpoints other than `/state` and `/roles` ([`super::roles`]):
//! `/state-summary`, `/frameworks`, `/slaves`, `/tasks`, `/flags`. Each renders a
//! [`StateSnapshot`] and its query into a JSON value, or refuses the query with a
//! [`QueryError`].
//!
//! Mesos: master/readonly_handler.cpp `stateSummary`, `frameworks`, `slaves`, `tasks`
//! and master/http.cpp `flags`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesos_proto::mesos;
use serde_json::{Value, json};

use super::json_out::JsonOut;
use super::query::{Query, QueryError};
use super::state_json::{
    OfferedIndex, agent_json, flags_json, framework_json, framework_summary_json, task_json,
};
use super::state_writer;
use crate::snapshot::StateSnapshot;

/// Tasks `/tasks` returns when no `limit` is given (Mesos: `TASK_LIMIT`).
pub const TASK_LIMIT: usize = 100;

/// Weight of a role without a configured weight (Mesos: `DEFAULT_WEIGHT`).
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// Task counts by state (Mesos: `TaskStateSummary`).
#[derive(Default, Clone, Copy)]
struct TaskCounts([usize; 16]);

impl TaskCounts {
    fn count(&mut self, task: &mesos::Task) {
        let index = task.state as usize;
        if let Some(slot) = self.0.get_mut(index) {
            *slot += 1;
        }
    }

    fn get(&self, state: mesos::TaskState) -> usize {
        self.0.get(state as usize).copied().unwrap_or(0)
    }

    /// Adds the `TASK_*` fields Mesos's `/state-summary` shows.
    fn write(&self, value: &mut Value) {
        use mesos::TaskState::*;
        for state in [
            TaskStaging,
            TaskStarting,
            TaskRunning,
            TaskKilling,
            TaskFinished,
            TaskKilled,
            TaskFailed,
            TaskLost,
            TaskError,
            TaskUnreachable,
        ] {
            value[state.as_str_name()] = json!(self.get(state));
        }
    }
}

/// `/master/state-summary`: agents and frameworks with task counts and who runs where.
pub fn state_summary(s: &StateSnapshot, _query: &Query) -> Result<Value, QueryError> {
    let offered = OfferedIndex::of(s);
    let mut by_agent: HashMap<&str, TaskCounts> = HashMap::new();
    let mut by_framework: HashMap<String, TaskCounts> = HashMap::new();
    let mut agent_frameworks: HashMap<&str, BTreeSet<String>> = HashMap::new();
    let mut framework_agents: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for framework in &s.frameworks {
        let id = framework.id.to_string();
        for task in framework.tasks.values().chain(framework.completed_tasks.iter().map(|t| &**t)) {
            let agent = task.slave_id.value.as_str();
            by_agent.entry(agent).or_default().count(task);
            by_framework.entry(id.clone()).or_default().count(task);
            agent_frameworks.entry(agent).or_default().insert(id.clone());
            framework_agents.entry(id.clone()).or_default().insert(agent);
        }
    }
    let slaves: Vec<Value> = s
        .agents
        .iter()
        .map(|agent| {
            let id = agent.id.as_str();
            let operator = s.agent_operator_states.get(&agent.id);
            let mut value = agent_json(agent, operator, &offered, false);
            by_agent.get(id).copied().unwrap_or_default().write(&mut value);
            value["framework_ids"] = json!(agent_frameworks.get(id).cloned().unwrap_or_default());
            value
        })
        .collect();
    let frameworks: Vec<Value> = s
        .frameworks
        .iter()
        .map(|framework| {
            let id = framework.id.to_string();
            let mut value = framework_summary_json(framework, &offered);
            by_framework.get(&id).copied().unwrap_or_default().write(&mut value);
            value["slave_ids"] = json!(framework_agents.get(&id).cloned().unwrap_or_default());
            value
        })
        .collect();
    Ok(json!({
        "hostname": s.info.hostname.clone().unwrap_or_default(),
        "slaves": slaves,
        "frameworks": frameworks,
    }))
}

/// `/master/frameworks[?framework_id=]`.
pub fn frameworks(s: &StateSnapshot, query: &Query) -> Result<Value, QueryError> {
    let offered = OfferedIndex::of(s);
    let wanted = query.get("framework_id");
    let accept = |id: &str| wanted.is_none_or(|w| w == id);
    Ok(json!({
        "frameworks": s.frameworks.iter().filter(|f| accept(f.id.as_str())).map(|f| framework_json(f, s, &offered)).collect::<Vec<_>>(),
        "completed_frameworks": s.completed_frameworks.iter().filter(|f| accept(f.id.as_str())).map(|f| framework_json(f, s, &offered)).collect::<Vec<_>>(),
        "unregistered_frameworks": [],
    }))
}

/// `/master/slaves[?slave_id=]`.
pub fn slaves(s: &StateSnapshot, query: &Query) -> Result<Value, QueryError> {
    let offered = OfferedIndex::of(s);
    let wanted = query.get("slave_id");
    Ok(json!({
        "slaves": s
            .agents
            .iter()
            .filter(|a| wanted.is_none_or(|w| w == a.id.as_str()))
            .map(|a| agent_json(a, s.agent_operator_states.get(&a.id), &offered, true))
            .collect::<Vec<_>>(),
        "recovered_slaves": [],
    }))
}

/// The timestamp of a task's first status (Mesos sorts `/tasks` by it).
fn first_timestamp(task: &mesos::Task) -> Option<f64> {
    task.statuses.first().map(|s| s.timestamp.unwrap_or(0.0))
}

/// `/master/tasks[?limit=&offset=&order=asc|des&framework_id=&task_id=]`: tasks of
/// registered and completed frameworks (live, unreachable and completed tasks), sorted
/// by their first status's timestamp, newest first unless `order=asc`.
///
/// The parameters are read as Mesos reads them (readonly_handler.cpp `tasks`): `limit`
/// and `offset` are `numify<int>` with the defaults when absent or unparseable, and
/// Mesos stores them in a `size_t`, so a negative `limit` means no limit (the Mesos CLI
/// sends `limit=-1`) and a negative `offset` starts past the end (no tasks). Any
/// `order` but `asc` is descending (Mesos's help says `asc|desc`, its code compares
/// with `asc` only). One Mesos quirk is not reproduced: with a negative `limit` and a
/// positive `offset`, its `offset + limit` wraps around and returns no tasks; here
/// the page starts at `offset` and has no limit.
fn select_tasks<'s>(s: &'s StateSnapshot, query: &Query) -> Vec<&'s mesos::Task> {
    let limit = match query.int("limit") {
        None => TASK_LIMIT,
        Some(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
    };
    let offset = match query.int("offset") {
        None => 0,
        Some(offset) => usize::try_from(offset).unwrap_or(usize::MAX),
    };
    let ascending = query.get("order") == Some("asc");
    let framework_id = query.get("framework_id");
    let task_id = query.get("task_id");
    let mut tasks: Vec<&'s mesos::Task> = s
        .frameworks
        .iter()
        .chain(s.completed_frameworks.iter())
        .filter(|f| framework_id.is_none_or(|w| w == f.id.as_str()))
        .flat_map(|f| {
            let mut live: Vec<&mesos::Task> = f.tasks.values().collect();
            live.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
            live.into_iter().chain(f.completed_tasks.iter().map(|t| &**t))
        })
        .filter(|t| task_id.is_none_or(|w| w == t.task_id.value))
        .collect();
    // A task without statuses sorts first ascending and last descending, as in Mesos
    // (`TaskComparator`); the sort is stable, so ties keep their order.
    tasks.sort_by(|a, b| {
        let (a, b) = (first_timestamp(a), first_timestamp(b));
        let ordering = match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.total_cmp(&b),
        };
        if ascending { ordering } else { ordering.reverse() }
    });
    tasks.into_iter().skip(offset).take(limit).collect()
}

/// [`write_tasks`] as a `Value`.
pub fn tasks(s: &StateSnapshot, query: &Query) -> Result<Value, QueryError> {
    let page: Vec<Value> = select_tasks(s, query).into_iter().map(task_json).collect();
    Ok(json!({ "tasks": page }))
}

/// [`tasks`] written straight to bytes.
pub fn write_tasks(s: &StateSnapshot, query: &Query, out: &mut JsonOut) {
    state_writer::tasks_endpoint(out, select_tasks(s, query));
}

/// [`state_summary`] written straight to bytes.
pub fn write_state_summary(s: &StateSnapshot, _query: &Query, out: &mut JsonOut) {
    state_writer::state_summary(out, s);
}

/// [`frameworks`] written straight to bytes.
pub fn write_frameworks(s: &StateSnapshot, query: &Query, out: &mut JsonOut) {
    state_writer::frameworks_endpoint(out, s, query.get("framework_id"));
}

/// [`slaves`] written straight to bytes.
pub fn write_slaves(s: &StateSnapshot, query: &Query, out: &mut JsonOut) {
    state_writer::slaves_endpoint(out, s, query.get("slave_id"));
}

/// Role weights from the `weights` flag (`role1=2,role2=1`), as shown at `/flags`.
pub fn weights(s: &StateSnapshot) -> BTreeMap<String, f64> {
    s.weights.clone()
}

/// `/master/flags`: `{"flags": {"name": "value", ...}}`.
pub fn flags(s: &StateSnapshot, _query: &Query) -> Result<Value, QueryError> {
    Ok(json!({ "flags": flags_json(s) }))
}
