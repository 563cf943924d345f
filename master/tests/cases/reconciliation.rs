//! Reconciliation (ports of Mesos's `ReconciliationTest`).

use mesos_proto::mesos::{self, scheduler, task_status};

use super::support::{Cluster, agent_framework_offer, task};

fn reconcile(tasks: Vec<(&str, Option<mesos::SlaveId>)>) -> scheduler::Call {
    scheduler::Call {
        r#type: Some(scheduler::call::Type::Reconcile as i32),
        reconcile: Some(scheduler::call::Reconcile {
            tasks: tasks
                .into_iter()
                .map(|(id, agent)| scheduler::call::reconcile::Task {
                    task_id: mesos::TaskId { value: id.into() },
                    slave_id: agent,
                })
                .collect(),
        }),
        ..Default::default()
    }
}

/// `ReconciliationTest.TaskStateMismatch`: explicit reconciliation answers the master's
/// latest state for a known task (TASK_RUNNING), with reason RECONCILIATION and no uuid.
#[actix_rt::test]
async fn reconciliation_test_task_state_mismatch() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    agent.update(scheduler.id.as_ref().unwrap(), "t1", mesos::TaskState::TaskRunning, b"u");
    cluster.settle().await;
    scheduler.drain();
    scheduler.call(reconcile(vec![("t1", agent.id.clone())]));
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].state(), mesos::TaskState::TaskRunning);
    assert_eq!(updates[0].reason(), task_status::Reason::Reconciliation);
    assert_eq!(updates[0].source(), task_status::Source::Master);
    assert!(updates[0].uuid.is_none());
}

/// `ReconciliationTest.UnknownTask`: a task unknown to the master on a registered agent
/// is TASK_LOST for a framework that is not partition-aware.
#[actix_rt::test]
async fn reconciliation_test_unknown_task() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, _offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.call(reconcile(vec![("ghost", agent.id.clone()), ("ghost2", None)]));
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|u| u.state() == mesos::TaskState::TaskLost));
    assert_eq!(updates[0].message.as_deref(), Some("Reconciliation: Task is unknown to the agent"));
    assert_eq!(updates[1].message.as_deref(), Some("Reconciliation: Task is unknown"));
}

/// `ReconciliationTest.ImplicitNonTerminalTask`: implicit reconciliation (no tasks)
/// answers every non-completed task of the framework.
#[actix_rt::test]
async fn reconciliation_test_implicit_non_terminal_task() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(
        vec![offer.id.clone()],
        vec![task("t1", &offer, "cpus:1;mem:128"), task("t2", &offer, "cpus:1;mem:128")],
        5.0,
    );
    cluster.settle().await;
    agent.update(scheduler.id.as_ref().unwrap(), "t1", mesos::TaskState::TaskRunning, b"u");
    cluster.settle().await;
    scheduler.drain();
    scheduler.call(reconcile(vec![]));
    cluster.settle().await;
    let mut states: Vec<(String, mesos::TaskState)> =
        scheduler.updates().into_iter().map(|u| (u.task_id.value.clone(), u.state())).collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        states,
        vec![
            ("t1".into(), mesos::TaskState::TaskRunning),
            ("t2".into(), mesos::TaskState::TaskStaging)
        ]
    );
}

/// Partition-aware frameworks get TASK_UNKNOWN/TASK_GONE instead of TASK_LOST.
#[actix_rt::test]
async fn partition_aware_reconciliation_states() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:1;mem:128");
    agent.register(&cluster).await;
    let mut scheduler = cluster.scheduler();
    let mut info = super::support::framework_info("pa");
    info.capabilities.push(mesos::framework_info::Capability {
        r#type: Some(mesos::framework_info::capability::Type::PartitionAware as i32),
    });
    scheduler.subscribe(&cluster, info).await;
    scheduler.call(reconcile(vec![("a", agent.id.clone()), ("b", None)]));
    cluster.settle().await;
    let states: Vec<mesos::TaskState> = scheduler.updates().iter().map(|u| u.state()).collect();
    assert_eq!(states, vec![mesos::TaskState::TaskGone, mesos::TaskState::TaskUnknown]);
}
