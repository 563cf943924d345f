//! The simulated network: several nodes in one test, partitions and node death.

use libprocess::testing::{Echo, Ping};
use libprocess::{Clock, Hooks, Match, Node, SimNetwork};
use std::sync::Arc;

use super::support::{Seen, next, probe};

fn sim_node(sim: &SimNetwork, clock: &Clock, hooks: &Arc<Hooks>, address: &str) -> Node {
    Node::builder(address.parse().unwrap())
        .simulated(sim)
        .clock(clock.clone())
        .hooks(hooks.clone())
        .start()
        .unwrap()
}

/// Messages between simulated nodes are encoded and delivered in order; a partition
/// drops them and fires `exited` for links across it; healing restores traffic.
#[actix_rt::test]
async fn partition_and_heal() {
    let sim = SimNetwork::new();
    let clock = Clock::paused();
    let hooks = Arc::new(Hooks::default());
    let m1 = sim_node(&sim, &clock, &hooks, "10.0.0.1:5050");
    let a1 = sim_node(&sim, &clock, &hooks, "10.0.0.2:5051");
    let master = m1.spawn("master", Echo::default()).unwrap();
    let (agent, mut rx) = probe(&a1, "slave(1)");
    let target = master.pid().clone();
    agent.dispatch(move |_, ctx| ctx.link(&target)).await.unwrap();

    // Hooks shared across the simulated cluster see cross-node traffic.
    let seen = hooks.expect::<Ping>(Match::any().to(master.pid()));
    for seq in 1..=3 {
        a1.send(agent.pid(), master.pid(), Ping { seq, ..Default::default() });
    }
    assert_eq!(seen.await.message.seq, 1);
    for seq in 1..=3 {
        assert_eq!(next(&mut rx).await, Seen::Pong { from: master.pid().clone(), seq });
    }

    sim.partition(m1.address(), a1.address());
    assert_eq!(next(&mut rx).await, Seen::Exited(master.pid().clone()));
    a1.send(agent.pid(), master.pid(), Ping { seq: 4, ..Default::default() });
    clock.settle().await;
    assert_eq!(sim.dropped(), 1);

    sim.heal(m1.address(), a1.address());
    a1.send(agent.pid(), master.pid(), Ping { seq: 5, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: master.pid().clone(), seq: 5 });
    m1.shutdown().await;
    a1.shutdown().await;
}

/// When a simulated node shuts down (its machine died), processes linked to processes
/// there get `exited`, and linking to it afterwards fails at once.
#[actix_rt::test]
async fn node_death_fires_exited() {
    let sim = SimNetwork::new();
    let clock = Clock::paused();
    let hooks = Arc::new(Hooks::default());
    let m1 = sim_node(&sim, &clock, &hooks, "10.0.0.1:5050");
    let a1 = sim_node(&sim, &clock, &hooks, "10.0.0.2:5051");
    let master = m1.spawn("master", Echo::default()).unwrap();
    let (agent, mut rx) = probe(&a1, "slave(1)");
    let target = master.pid().clone();
    agent.dispatch(move |_, ctx| ctx.link(&target)).await.unwrap();
    m1.shutdown().await;
    assert_eq!(next(&mut rx).await, Seen::Exited(master.pid().clone()));
    let target = master.pid().clone();
    agent.dispatch(move |_, ctx| ctx.link(&target)).await.unwrap();
    assert_eq!(next(&mut rx).await, Seen::Exited(master.pid().clone()));
    a1.shutdown().await;
}

/// Isolating a node cuts it off from everyone.
#[actix_rt::test]
async fn isolate_and_rejoin() {
    let sim = SimNetwork::new();
    let clock = Clock::paused();
    let hooks = Arc::new(Hooks::default());
    let m1 = sim_node(&sim, &clock, &hooks, "10.0.0.1:5050");
    let a1 = sim_node(&sim, &clock, &hooks, "10.0.0.2:5051");
    let master = m1.spawn("master", Echo::default()).unwrap();
    let (agent, mut rx) = probe(&a1, "slave(1)");
    sim.isolate(m1.address());
    a1.send(agent.pid(), master.pid(), Ping { seq: 1, ..Default::default() });
    clock.settle().await;
    assert!(rx.try_recv().is_err());
    sim.rejoin(m1.address());
    a1.send(agent.pid(), master.pid(), Ping { seq: 2, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: master.pid().clone(), seq: 2 });
    m1.shutdown().await;
    a1.shutdown().await;
}
