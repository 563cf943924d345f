//! Launching, killing and updating tasks (ports of Mesos's `MasterTest`).

use std::time::Duration;

use mesos_proto::mesos::{self, scheduler, task_status};

use super::support::{AgentMsg, Cluster, agent_framework_offer, task};

fn kill_call(task_id: &str) -> scheduler::Call {
    scheduler::Call {
        r#type: Some(scheduler::call::Type::Kill as i32),
        kill: Some(scheduler::call::Kill {
            task_id: mesos::TaskId { value: task_id.into() },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// MesosTest `MasterTest.TaskRunning`: an accepted offer launches the task on the agent,
/// and the agent's TASK_RUNNING reaches the framework with the agent's pid.
#[actix_rt::test]
async fn master_test_task_running() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) =
        agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:512")], 5.0);
    cluster.settle().await;
    let run = agent
        .drain()
        .into_iter()
        .find_map(|m| if let AgentMsg::RunTask(r) = m { Some(r) } else { None })
        .expect("RunTaskMessage");
    assert_eq!(run.task.task_id.value, "t1");
    assert_eq!(run.framework.name, "fw");
    assert_eq!(run.pid.as_deref(), Some(scheduler.pid().to_string().as_str()));

    let framework_id = scheduler.id.clone().unwrap();
    agent.update(&framework_id, "t1", mesos::TaskState::TaskRunning, b"u1");
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].state(), mesos::TaskState::TaskRunning);
    let state = cluster
        .inspect(move |core| {
            let fw = core.framework(&framework_id.into()).unwrap();
            fw.tasks.values().next().map(|t| t.state())
        })
        .await;
    assert_eq!(state, Some(mesos::TaskState::TaskRunning));
}

/// `MasterTest.KillTask`: killing a running task sends KillTaskMessage to its agent.
#[actix_rt::test]
async fn master_test_kill_task() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:512")], 5.0);
    cluster.settle().await;
    agent.drain();
    scheduler.call(kill_call("t1"));
    cluster.settle().await;
    let kills: Vec<_> = agent
        .drain()
        .into_iter()
        .filter_map(|m| if let AgentMsg::KillTask(k) = m { Some(k) } else { None })
        .collect();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0].task_id.value, "t1");
}

/// `MasterTest.KillUnknownTask`: killing a task the master does not know answers
/// TASK_LOST (reason RECONCILIATION) and sends nothing to agents.
#[actix_rt::test]
async fn master_test_kill_unknown_task() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, _offer) =
        agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.call(kill_call("nope"));
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].state(), mesos::TaskState::TaskLost);
    assert_eq!(updates[0].reason(), task_status::Reason::Reconciliation);
    assert!(agent.drain().iter().all(|m| !matches!(m, AgentMsg::KillTask(_))));
}

/// `MasterTest.StatusUpdateAck`: the framework's acknowledgement reaches the agent, and
/// a terminal task acknowledged moves to the completed tasks.
#[actix_rt::test]
async fn master_test_status_update_ack() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) =
        agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:512")], 5.0);
    cluster.settle().await;
    let framework_id = scheduler.id.clone().unwrap();
    agent.update(&framework_id, "t1", mesos::TaskState::TaskFinished, b"uuid-1");
    cluster.settle().await;
    assert_eq!(scheduler.updates()[0].state(), mesos::TaskState::TaskFinished);
    agent.drain();
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Acknowledge as i32),
        acknowledge: Some(scheduler::call::Acknowledge {
            slave_id: agent.id.clone().unwrap(),
            task_id: mesos::TaskId { value: "t1".into() },
            uuid: b"uuid-1".to_vec(),
        }),
        ..Default::default()
    });
    cluster.settle().await;
    let acks: Vec<_> = agent
        .drain()
        .into_iter()
        .filter_map(|m| if let AgentMsg::Ack(a) = m { Some(a) } else { None })
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].uuid, b"uuid-1");
    let (live, completed) = cluster
        .inspect(move |core| {
            let fw = core.framework(&framework_id.into()).unwrap();
            (fw.tasks.len(), fw.completed_tasks.len())
        })
        .await;
    assert_eq!((live, completed), (0, 1));
}

/// `MasterTest.RecoverResources`: when a task ends its resources are offered again.
#[actix_rt::test]
async fn master_test_recover_resources() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:2;mem:1024")], 0.0);
    cluster.settle().await;
    assert!(scheduler.offers().is_empty(), "everything is in use");
    let framework_id = scheduler.id.clone().unwrap();
    agent.update(&framework_id, "t1", mesos::TaskState::TaskFailed, b"u");
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    let offered =
        mesos_proto::resources::Resources::from_protos(offers[0].resources.clone()).unwrap();
    assert_eq!(offered.cpus(), Some(2.0));
    assert_eq!(offered.mem_mb(), Some(1024.0));
}
