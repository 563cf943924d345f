//! The load emulated agents report when they start by re-registering, as in Mesos's
//! `MasterFailover_BENCHMARK_Test.AgentReregistrationDelay`: the same frameworks
//! (`framework0`, `framework1`, ..., `MULTI_ROLE` and `RESERVATION_REFINEMENT`, role
//! `*`) on every agent, each with some `TASK_RUNNING` tasks (`cpus:0.1;mem:5`, 10
//! labels, no executor).

use std::sync::Arc;

use mesos_proto::mesos;
use mesos_proto::resources::Resources;

use crate::Running;

/// What every agent runs: `frameworks` frameworks with `tasks` running tasks each.
pub fn running(frameworks: usize, tasks: usize) -> Running {
    // The literal parses: a unit test below proves it.
    let task_resources = Resources::parse("cpus:0.1;mem:5").expect("resources").to_protos();
    let labels = mesos::Labels {
        labels: (0..10)
            .map(|i| mesos::Label { key: format!("key{i}"), value: Some(format!("value{i}")) })
            .collect(),
    };
    let infos: Vec<mesos::FrameworkInfo> = (0..frameworks).map(framework).collect();
    Arc::new(move |agent: &mesos::SlaveId| {
        let tasks: Vec<mesos::Task> = infos
            .iter()
            .enumerate()
            .flat_map(|(k, framework)| (0..tasks).map(move |j| (k, j, framework)))
            .map(|(k, j, framework)| {
                let id = format!("{}-framework{k}-task{j}", agent.value);
                mesos::Task {
                    name: id.clone(),
                    task_id: mesos::TaskId { value: id },
                    framework_id: framework.id.clone().unwrap_or_default(),
                    slave_id: agent.clone(),
                    state: mesos::TaskState::TaskRunning as i32,
                    resources: task_resources.clone(),
                    labels: Some(labels.clone()),
                    ..Default::default()
                }
            })
            .collect();
        // Frameworks without tasks are not reported (a real agent reports only those
        // it runs).
        let infos = if tasks.is_empty() { Vec::new() } else { infos.clone() };
        (infos, tasks, Vec::new())
    })
}

/// The `k`th benchmark framework (`framework<k>`, role `*`, `MULTI_ROLE` and
/// `RESERVATION_REFINEMENT`, as Mesos's benchmark makes them).
pub fn framework(k: usize) -> mesos::FrameworkInfo {
    mesos::FrameworkInfo {
        id: Some(mesos::FrameworkId { value: format!("framework{k}") }),
        user: "bench".into(),
        name: "default".into(),
        principal: Some("test-principal".into()),
        roles: vec!["*".into()],
        capabilities: [
            mesos::framework_info::capability::Type::MultiRole,
            mesos::framework_info::capability::Type::ReservationRefinement,
        ]
        .into_iter()
        .map(|t| mesos::framework_info::Capability { r#type: Some(t as i32) })
        .collect(),
        ..Default::default()
    }
}

/// Nothing: agents that register fresh and run only what they are given.
pub fn nothing() -> Running {
    Arc::new(|_: &mesos::SlaveId| (Vec::new(), Vec::new(), Vec::new()))
}

#[cfg(test)]
mod tests {
    /// Each agent reports every framework with its tasks, named after the agent.
    #[test]
    fn every_agent_reports_frameworks_times_tasks() {
        let running = super::running(5, 2);
        let id = mesos_proto::mesos::SlaveId { value: "agent7".into() };
        let (frameworks, tasks, completed) = running(&id);
        assert!(completed.is_empty());
        assert_eq!((frameworks.len(), tasks.len()), (5, 10));
        assert_eq!(tasks[3].task_id.value, "agent7-framework1-task1");
        assert_eq!(super::running(3, 0)(&id).0.len(), 0);
    }
}
