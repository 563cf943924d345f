//! Forged and malformed input is refused and changes nothing.

use mesos_proto::mesos::{self, internal, scheduler};

use super::support::{Cluster, agent_framework_offer, task};

/// A status update claiming an agent id from a pid that is not that agent is refused:
/// the task keeps its state and the framework hears nothing.
#[actix_rt::test]
async fn forged_status_update_is_refused() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    scheduler.drain();
    let mut impostor = cluster.agent("cpus:1;mem:1");
    impostor.id = agent.id.clone();
    impostor.update(scheduler.id.as_ref().unwrap(), "t1", mesos::TaskState::TaskFinished, b"x");
    cluster.settle().await;
    assert!(scheduler.updates().is_empty());
    let (state, invalid) = cluster
        .inspect(|c| {
            let task_state = c.frameworks().next().unwrap().tasks.values().next().unwrap().state();
            (task_state, c.stats().invalid_status_updates)
        })
        .await;
    assert_eq!(state, mesos::TaskState::TaskStaging);
    assert_eq!(invalid, 1);
}

/// Calls for a framework from a pid that does not own it are refused (no teardown, no
/// kill), as are calls naming unknown frameworks.
#[actix_rt::test]
async fn calls_from_non_owners_are_refused() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    agent.drain();
    let intruder = cluster.scheduler();
    for kind in [scheduler::call::Type::Teardown, scheduler::call::Type::Kill] {
        intruder.call(scheduler::Call {
            framework_id: scheduler.id.clone(),
            r#type: Some(kind as i32),
            kill: Some(scheduler::call::Kill {
                task_id: mesos::TaskId { value: "t1".into() },
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    intruder.call(scheduler::Call {
        framework_id: Some(mesos::FrameworkId { value: "no-such-framework".into() }),
        r#type: Some(scheduler::call::Type::Teardown as i32),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(agent.drain().is_empty(), "nothing reached the agent");
    let (frameworks, tasks) = cluster
        .inspect(|c| (c.frameworks().count(), c.frameworks().map(|f| f.tasks.len()).sum::<usize>()))
        .await;
    assert_eq!((frameworks, tasks), (1, 1));
    let refused = cluster.node.metrics().snapshot()["master/invalid_messages"];
    assert_eq!(refused, 3.0);
}

/// Malformed registrations (no id on re-registration, invalid resources, invalid
/// framework info) are refused without effect.
#[actix_rt::test]
async fn malformed_registrations_are_refused() {
    let cluster = Cluster::start(|_| {});
    let agent = cluster.agent("cpus:1;mem:128");
    agent.send(internal::ReregisterSlaveMessage { slave: agent.info(), ..Default::default() });
    let mut bad = agent.info();
    bad.resources[0].scalar = Some(mesos::value::Scalar { value: -1.0 });
    agent.send(internal::RegisterSlaveMessage { slave: bad, ..Default::default() });
    let scheduler = cluster.scheduler();
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        subscribe: Some(scheduler::call::Subscribe {
            framework_info: mesos::FrameworkInfo {
                user: "u".into(),
                name: String::new(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    });
    cluster.settle().await;
    assert_eq!(cluster.inspect(|c| (c.agents().count(), c.frameworks().count())).await, (0, 0));
}
