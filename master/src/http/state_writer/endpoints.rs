//! The endpoints written from the parts of `/master/state`: `/master/state-summary` (the
//! agents and frameworks without their tasks, with task counts by state and who runs
//! where), `/master/frameworks`, `/master/slaves` and `/master/tasks`.

use std::collections::{BTreeSet, HashMap};

use mesos_proto::mesos;

use super::{
    Agent, Framework, JsonOut, OfferedIndex, StateSnapshot, SummaryExtra, agents, empty_array,
    framework, frameworks, task_list,
};

/// Task counts by state (Mesos: `TaskStateSummary`).
#[derive(Default, Clone, Copy)]
pub(super) struct TaskCounts([usize; 16]);

impl TaskCounts {
    fn count(&mut self, task: &mesos::Task) {
        if let Some(slot) = self.0.get_mut(task.state as usize) {
            *slot += 1;
        }
    }

    pub(super) fn get(&self, state: mesos::TaskState) -> usize {
        self.0.get(state as usize).copied().unwrap_or(0)
    }
}

/// `/master/state-summary`: agents and frameworks with task counts and who runs where.
pub fn state_summary(out: &mut JsonOut, s: &StateSnapshot) {
    let offered = OfferedIndex::of(s);
    let mut by_agent: HashMap<&str, TaskCounts> = HashMap::new();
    let mut by_framework: HashMap<&str, TaskCounts> = HashMap::new();
    let mut agent_frameworks: HashMap<&str, BTreeSet<String>> = HashMap::new();
    let mut framework_agents: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for framework in &s.frameworks {
        let id = framework.id.as_str();
        for task in framework.tasks.values().chain(framework.completed_tasks.iter().map(|t| &**t)) {
            let agent = task.slave_id.value.as_str();
            by_agent.entry(agent).or_default().count(task);
            by_framework.entry(id).or_default().count(task);
            let frameworks = agent_frameworks.entry(agent).or_default();
            if !frameworks.contains(id) {
                frameworks.insert(id.to_string());
            }
            let agents = framework_agents.entry(id).or_default();
            if !agents.contains(agent) {
                agents.insert(agent.to_string());
            }
        }
    }
    out.begin_object();
    out.key("frameworks");
    out.begin_array();
    for f in &s.frameworks {
        let id = f.id.as_str();
        let extra = SummaryExtra {
            counts: by_framework.get(id).copied().unwrap_or_default(),
            ids: framework_agents.get(id),
        };
        framework(out, f, &offered, None, Some(&extra));
        out.boundary();
    }
    out.end_array();
    out.field_str("hostname", s.info.hostname.as_deref().unwrap_or_default());
    out.key("slaves");
    let extra = |a: &Agent| {
        Some(SummaryExtra {
            counts: by_agent.get(a.id.as_str()).copied().unwrap_or_default(),
            ids: agent_frameworks.get(a.id.as_str()),
        })
    };
    agents(out, s, &offered, false, |_| true, extra);
    out.end_object();
}

/// `/master/frameworks[?framework_id=]`.
pub fn frameworks_endpoint(out: &mut JsonOut, s: &StateSnapshot, wanted: Option<&str>) {
    let offered = OfferedIndex::of(s);
    let accept = |f: &&Framework| wanted.is_none_or(|w| w == f.id.as_str());
    out.begin_object();
    out.key("completed_frameworks");
    frameworks(out, s, s.completed_frameworks.iter().map(|f| &**f).filter(accept), &offered);
    out.key("frameworks");
    frameworks(out, s, s.frameworks.iter().map(|f| &**f).filter(accept), &offered);
    empty_array(out, "unregistered_frameworks");
    out.end_object();
}

/// `/master/slaves[?slave_id=]`.
pub fn slaves_endpoint(out: &mut JsonOut, s: &StateSnapshot, wanted: Option<&str>) {
    let offered = OfferedIndex::of(s);
    out.begin_object();
    empty_array(out, "recovered_slaves");
    out.key("slaves");
    agents(out, s, &offered, true, |a| wanted.is_none_or(|w| w == a.id.as_str()), |_| None);
    out.end_object();
}

/// `/master/tasks`: `{"tasks": [...]}` of the page chosen by the caller.
pub fn tasks_endpoint<'t>(out: &mut JsonOut, page: impl IntoIterator<Item = &'t mesos::Task>) {
    out.begin_object();
    out.key("tasks");
    task_list(out, page);
    out.end_object();
}
