//! Agents: registration, health pings, unreachable and back (ports of `MasterTest`,
//! `PartitionTest` scenarios).

use std::sync::atomic::Ordering;
use std::time::Duration;

use mesos_proto::mesos::{self, internal, task_status};

use super::support::{AgentMsg, Cluster, SchedMsg, agent_framework_offer, task};

/// Agents get `<master id>-S<n>` ids; a retried registration from the same pid gets the
/// same id, not a second agent.
#[actix_rt::test]
async fn registration_assigns_ids_and_is_idempotent() {
    let cluster = Cluster::start(|_| {});
    let mut a = cluster.agent("cpus:1;mem:128");
    let mut b = cluster.agent("cpus:1;mem:128");
    let id_a = a.register(&cluster).await;
    let id_b = b.register(&cluster).await;
    assert_eq!(id_a.value, "c0ffee00-0000-4000-8000-000000000001-S0");
    assert_eq!(id_b.value, "c0ffee00-0000-4000-8000-000000000001-S1");
    a.id = None;
    assert_eq!(a.register(&cluster).await, id_a);
    assert_eq!(cluster.inspect(|c| c.agents().count()).await, 2);
}

/// An agent that stops answering pings is marked unreachable after
/// `max_agent_ping_timeouts` pings: its tasks become TASK_LOST for a framework that is
/// not partition-aware, frameworks are told the agent is lost, and it leaves the
/// registered agents.
#[actix_rt::test]
async fn silent_agent_becomes_unreachable() {
    let cluster = Cluster::start(|o| {
        o.agent_ping_timeout = Duration::from_secs(15);
        o.max_agent_ping_timeouts = 5;
    });
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    scheduler.drain();
    agent.pong.store(false, Ordering::SeqCst);
    for _ in 0..5 {
        cluster.advance(Duration::from_secs(15)).await;
    }
    assert_eq!(cluster.inspect(|c| c.agents().count()).await, 1, "not yet: 4 pings missed");
    cluster.advance(Duration::from_secs(15)).await;
    assert_eq!(
        cluster.inspect(|c| (c.agents().count(), c.unreachable_agents().count())).await,
        (0, 1)
    );
    let messages = scheduler.drain();
    let lost: Vec<_> = messages
        .iter()
        .filter_map(
            |m| if let SchedMsg::Update(u) = m { Some(u.update.status.clone()) } else { None },
        )
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].state(), mesos::TaskState::TaskLost);
    assert_eq!(lost[0].reason(), task_status::Reason::SlaveRemoved);
    assert!(messages.iter().any(|m| matches!(m, SchedMsg::LostSlave(_))));
}

/// An agent answering pings stays registered indefinitely.
#[actix_rt::test]
async fn healthy_agent_stays() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:1;mem:128");
    agent.register(&cluster).await;
    for _ in 0..20 {
        cluster.advance(Duration::from_secs(15)).await;
    }
    assert_eq!(cluster.inspect(|c| c.agents().count()).await, 1);
    assert!(agent.drain().iter().filter(|m| matches!(m, AgentMsg::Ping(_))).count() >= 19);
}

/// An unreachable agent that re-registers with its running task is re-admitted and the
/// task comes back (the framework hears TASK_RUNNING, reason SLAVE_REREGISTERED).
#[actix_rt::test]
async fn unreachable_agent_comes_back_with_its_tasks() {
    let cluster = Cluster::start(|o| o.max_agent_ping_timeouts = 1);
    let (mut agent, mut scheduler, offer) =
        agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let t1 = task("t1", &offer, "cpus:1;mem:128");
    scheduler.accept(vec![offer.id.clone()], vec![t1.clone()], 5.0);
    cluster.settle().await;
    let framework_id = scheduler.id.clone().unwrap();
    agent.update(&framework_id, "t1", mesos::TaskState::TaskRunning, b"u");
    cluster.settle().await;
    agent.pong.store(false, Ordering::SeqCst);
    cluster.advance(Duration::from_secs(15)).await;
    cluster.advance(Duration::from_secs(15)).await;
    assert_eq!(cluster.inspect(|c| c.unreachable_agents().count()).await, 1);
    scheduler.drain();

    agent.pong.store(true, Ordering::SeqCst);
    let running = mesos::Task {
        name: "t1".into(),
        task_id: t1.task_id.clone(),
        framework_id: framework_id.clone(),
        slave_id: agent.id.clone().unwrap(),
        state: mesos::TaskState::TaskRunning as i32,
        resources: t1.resources.clone(),
        ..Default::default()
    };
    let framework = mesos::FrameworkInfo {
        id: Some(framework_id.clone()),
        ..super::support::framework_info("fw")
    };
    agent.send(internal::ReregisterSlaveMessage {
        slave: agent.info(),
        tasks: vec![running],
        frameworks: vec![framework],
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(agent.drain().iter().any(|m| matches!(m, AgentMsg::Reregistered(_))));
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].state(), mesos::TaskState::TaskRunning);
    assert_eq!(updates[0].reason(), task_status::Reason::SlaveReregistered);
    let back = cluster
        .inspect(move |c| {
            (
                c.agents().count(),
                c.unreachable_agents().count(),
                c.framework(&framework_id.into()).unwrap().tasks.len(),
            )
        })
        .await;
    assert_eq!(back, (1, 0, 1));
}

/// A disconnected agent's offers are rescinded and it gets no new ones until it
/// re-registers.
#[actix_rt::test]
async fn disconnected_agent_offers_are_rescinded() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    cluster.sim.partition(cluster.node.address(), agent.node.address());
    cluster.settle().await;
    assert!(
        scheduler
            .drain()
            .iter()
            .any(|m| matches!(m, SchedMsg::Rescind(r) if r.offer_id == offer.id))
    );
    cluster.advance(Duration::from_secs(1)).await;
    assert!(scheduler.offers().is_empty());
    cluster.sim.heal(cluster.node.address(), agent.node.address());
    agent.send(internal::ReregisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(scheduler.offers().len(), 1);
}
