//! Many re-registrations at once, as after a failover: the master decodes them on its
//! worker thread while its mailbox is backed up, answers copies without decoding them,
//! and keeps each agent's messages in the order they were sent.

use libprocess::Pid;
use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;

use super::support::Cluster;

/// Agents sent at once: well past the mailbox backlog (64) from which the master
/// decodes re-registrations on its worker.
const AGENTS: usize = 300;

fn reregistration(n: usize) -> internal::ReregisterSlaveMessage {
    let slave = mesos::SlaveInfo {
        hostname: format!("host-{n}"),
        port: Some(5051),
        resources: Resources::parse("cpus:2;mem:1024").unwrap().to_protos(),
        id: Some(mesos::SlaveId { value: format!("storm-agent-{n}") }),
        ..Default::default()
    };
    internal::ReregisterSlaveMessage { slave, version: Some("1.11.0".into()), ..Default::default() }
}

/// Settles until `done` holds of the master's core (the worker thread decodes in real
/// time, outside the paused clock's view), at most 10,000 rounds.
async fn settle_until(
    cluster: &Cluster,
    done: impl Fn(&mesos_master::core::MasterCore) -> bool + Clone + Send + 'static,
) {
    for _ in 0..10_000 {
        cluster.settle().await;
        if cluster.inspect(done.clone()).await {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the master never reached the expected state");
}

/// 300 agents re-register at once (admitted through the registry; copies of ten of
/// them are recognised without decoding), then again with an
/// `UnregisterSlaveMessage` right behind agent 250's re-registration: whether or not
/// the master decodes on its worker, agent 250 is re-registered first and then removed,
/// and every other agent stays. A third round of the same bytes is answered from the
/// agents' records without decoding (`master/slave_reregistrations_repeated`).
#[actix_rt::test]
async fn a_storm_of_reregistrations_keeps_each_agents_order() {
    let cluster = Cluster::start(|_| {});
    let master = cluster.master_pid();
    let node = cluster.agent("cpus:1;mem:128").node.clone();
    let pid = |n: usize| Pid::new(format!("slave({})", n + 1), node.address());
    for n in 0..AGENTS {
        node.send(&pid(n), &master, reregistration(n));
    }
    // Copies while the originals are decoded or admitted through the registry: dropped
    // (or, once admitted, answered) without decoding.
    for n in 0..10 {
        node.send(&pid(n), &master, reregistration(n));
    }
    settle_until(&cluster, |core| core.agents().count() == AGENTS).await;
    let repeated = cluster.node.metrics().counter("master/slave_reregistrations_repeated");
    assert_eq!(repeated.get(), 10, "the copies were recognised");

    for n in 0..AGENTS {
        node.send(&pid(n), &master, reregistration(n));
        if n == 250 {
            let id = mesos::SlaveId { value: format!("storm-agent-{n}") };
            node.send(&pid(n), &master, internal::UnregisterSlaveMessage { slave_id: id });
        }
    }
    settle_until(&cluster, |core| core.agents().count() == AGENTS - 1).await;
    let left = cluster.inspect(|core| core.agents().map(|a| a.pid.clone()).collect::<Vec<_>>());
    let left = left.await;
    assert!(!left.contains(&pid(250)), "agent 250 unregistered after it re-registered");
    assert_eq!(left.len(), AGENTS - 1);

    let metrics = cluster.node.metrics();
    let elsewhere = metrics.counter("master/slave_reregistrations_decoded_elsewhere").get();
    assert!(elsewhere > 0, "the storm was decoded (in part) on the worker");
    let before = metrics.counter("master/slave_reregistrations_repeated").get();
    for n in 0..AGENTS {
        node.send(&pid(n), &master, reregistration(n));
    }
    cluster.settle().await;
    let repeated = metrics.counter("master/slave_reregistrations_repeated").get() - before;
    // Agent 250 is gone: its copy goes the full path (and is re-admitted).
    assert_eq!(repeated as usize, AGENTS - 1, "copies answered without decoding");
}
