//! Three registrars on a simulated network with a paused clock: election, replication,
//! fencing of a deposed leader, minority partitions, restarts and snapshot catch-up.

use mesos_registrar::{
    LeaderState, Registrar, RegistrarError, RegistryOperation as Op, SledBackend,
};

use super::support::{Cluster, agent};

/// A leader is elected within the election timeout; a submit on it commits and is
/// applied on all three members; a submit on a follower is refused with the leader's pid
/// (RegistrarTest.Recover: operations before recovery/election fail).
#[actix_rt::test]
async fn leader_elected_and_submits_commit_on_all() {
    let mut cluster = Cluster::new(3);
    cluster.start_all();
    // Before any election, nobody may propose.
    let early = cluster.registrar(0).submit(Op::AdmitAgent(agent("0")));
    assert!(matches!(
        cluster.complete(early, 1).await,
        Err(RegistrarError::NotLeader { leader: None })
    ));

    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let applied = cluster.submit(leader, Op::AdmitAgent(agent("1"))).await.expect("admit");
    assert!(applied.mutated);
    cluster.run(3).await;
    for i in 0..3 {
        assert!(cluster.state(i).await.is_admitted("1"), "member {i} applied the admit");
    }
    let follower = (leader + 1) % 3;
    match cluster.submit(follower, Op::AdmitAgent(agent("2"))).await {
        Err(RegistrarError::NotLeader { leader: Some(pid) }) => {
            assert_eq!(pid.address(), cluster.addresses[leader])
        }
        other => panic!("a follower must refuse with the leader's pid, got {other:?}"),
    }
    // Mesos's refusal semantics survive replication: admitting twice is refused.
    assert!(matches!(
        cluster.submit(leader, Op::AdmitAgent(agent("1"))).await,
        Err(RegistrarError::Rejected { .. })
    ));
    cluster.shutdown().await;
}

/// The leader is partitioned away: the majority elects a new leader in a higher term;
/// the old leader reports lost leadership (check_quorum) and its pending submit fails
/// (fencing); after healing, the old leader follows and has exactly the majority's
/// registry, without its own uncommitted entry.
#[actix_rt::test]
async fn partitioned_leader_is_fenced_and_catches_up() {
    let mut cluster = Cluster::new(3);
    cluster.start_all();
    let old = cluster.wait_leader(&[0, 1, 2]).await;
    let old_term = cluster.registrar(old).leadership().borrow().term;
    cluster.submit(old, Op::AdmitAgent(agent("1"))).await.expect("admit before the partition");

    cluster.sim.isolate(cluster.addresses[old]);
    let stranded = cluster.registrar(old).submit(Op::AdmitAgent(agent("stranded")));
    let majority: Vec<usize> = (0..3).filter(|i| *i != old).collect();
    let new = cluster.wait_leader(&majority).await;
    let new_term = cluster.registrar(new).leadership().borrow().term;
    assert!(new_term > old_term);
    match cluster.complete(stranded, 50).await {
        Err(RegistrarError::LeadershipLost { term }) => assert_eq!(term, old_term),
        other => panic!("the deposed leader's submit must fail, got {other:?}"),
    }
    assert!(!cluster.registrar(old).leadership().borrow().is_leading());
    assert_eq!(cluster.leaders().len(), 1, "never two leading masters");

    cluster.submit(new, Op::AdmitAgent(agent("2"))).await.expect("the majority commits");
    cluster.sim.rejoin(cluster.addresses[old]);
    cluster.run(30).await;
    let healed = cluster.state(old).await;
    assert!(healed.is_admitted("1") && healed.is_admitted("2"));
    assert!(
        !healed.is_admitted("stranded"),
        "an uncommitted entry of a deposed leader is discarded"
    );
    assert_eq!(healed, cluster.state(new).await);
    let leadership = cluster.registrar(old).leadership().borrow().clone();
    assert!(
        matches!(leadership.state, LeaderState::Following { leader: Some(_) }),
        "{leadership:?}"
    );
    cluster.shutdown().await;
}

/// A leader cut off from both followers (a minority of one) cannot commit: its submit
/// never succeeds, it steps down, and no member applies the operation.
#[actix_rt::test]
async fn minority_cannot_commit() {
    let mut cluster = Cluster::new(3);
    cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    for other in (0..3).filter(|i| *i != leader) {
        cluster.sim.partition(cluster.addresses[leader], cluster.addresses[other]);
    }
    // The two followers can still talk to each other, but hold them apart too so that
    // nobody has a majority.
    cluster.sim.partition(cluster.addresses[(leader + 1) % 3], cluster.addresses[(leader + 2) % 3]);
    let submit = cluster.registrar(leader).submit(Op::AdmitAgent(agent("x")));
    assert!(matches!(
        cluster.complete(submit, 50).await,
        Err(RegistrarError::LeadershipLost { .. })
    ));
    cluster.run(20).await;
    assert!(cluster.leaders().is_empty(), "no member leads without a quorum");
    for i in 0..3 {
        assert!(!cluster.state(i).await.is_admitted("x"));
    }
    cluster.shutdown().await;
}

/// A follower that was partitioned away and missed entries catches up when healed.
#[actix_rt::test]
async fn partitioned_follower_catches_up() {
    let mut cluster = Cluster::new(3);
    cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let lagging = (leader + 1) % 3;
    cluster.sim.isolate(cluster.addresses[lagging]);
    for id in 0..5 {
        cluster
            .submit(leader, Op::AdmitAgent(agent(&format!("a{id}"))))
            .await
            .expect("commit with two of three");
    }
    assert!(!cluster.state(lagging).await.is_admitted("a0"));
    cluster.sim.rejoin(cluster.addresses[lagging]);
    cluster.run(20).await;
    assert_eq!(cluster.state(lagging).await, cluster.state(leader).await);
    assert_eq!(cluster.leaders().len(), 1);
    cluster.shutdown().await;
}

/// All three masters stop and restart on their sled folders: the registry (agents and
/// id counters) is all there, a leader is elected again, and new submits commit.
#[actix_rt::test]
async fn full_restart_from_sled_keeps_registry() {
    let dirs: Vec<tempfile::TempDir> =
        (0..3).map(|_| tempfile::tempdir().expect("temp dir")).collect();
    let mut cluster = Cluster::new(3);
    cluster.snapshot_interval = 4;
    for (i, dir) in dirs.iter().enumerate() {
        cluster.start(i, Box::new(SledBackend::open(dir.path()).expect("open sled")));
    }
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    cluster.submit(leader, Op::InitializeCluster("c".into())).await.expect("name the cluster");
    for id in 0..6 {
        cluster.submit(leader, Op::AdmitAgent(agent(&format!("a{id}")))).await.expect("admit");
    }
    cluster.submit(leader, Op::AdmitAgent(agent("c-S41"))).await.expect("admit a generated id");
    cluster.run(3).await;
    let before = cluster.state(leader).await;
    cluster.shutdown().await;

    for (i, dir) in dirs.iter().enumerate() {
        cluster.start(i, Box::new(SledBackend::open(dir.path()).expect("reopen sled")));
    }
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    assert_eq!(cluster.state(leader).await, before);
    assert_eq!(cluster.state(leader).await.ids().next_agent, 42);
    cluster.submit(leader, Op::AdmitAgent(agent("after"))).await.expect("commit after restart");
    cluster.run(3).await;
    for i in 0..3 {
        let state = cluster.state(i).await;
        assert!(state.is_admitted("a5") && state.is_admitted("after"), "member {i}");
    }
    cluster.shutdown().await;
}

/// A member that is down while the leader compacts its log past the member's last entry
/// catches up from the leader's snapshot when it restarts (the entries it misses no
/// longer exist anywhere), then follows normally.
#[actix_rt::test]
async fn lagging_member_catches_up_via_snapshot() {
    let mut cluster = Cluster::new(3);
    cluster.snapshot_interval = 5;
    let backends = cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let lagging = (leader + 1) % 3;
    cluster.submit(leader, Op::AdmitAgent(agent("first"))).await.expect("admit");
    cluster.run(3).await;
    cluster.stop(lagging).await;
    for id in 0..12 {
        cluster
            .submit(leader, Op::AdmitAgent(agent(&format!("a{id}"))))
            .await
            .expect("admit with two of three");
    }
    assert!(cluster.status(leader).await.snapshot_index >= 10, "the leader compacted its log");
    cluster.start(lagging, Box::new(backends[lagging].clone()));
    cluster.run(30).await;
    assert_eq!(cluster.state(lagging).await, cluster.state(leader).await);
    let status = cluster.status(lagging).await;
    assert!(status.snapshot_index >= 10, "caught up through a snapshot: {status:?}");
    cluster.submit(leader, Op::AdmitAgent(agent("later"))).await.expect("admit");
    cluster.run(3).await;
    assert!(cluster.state(lagging).await.is_admitted("later"));
    cluster.shutdown().await;
}

/// Raft messages that do not come from a configured peer's registrar are refused
/// before they are decoded (RUSTSEC-2024-0437), and the group keeps working.
#[actix_rt::test]
async fn raft_messages_from_strangers_are_refused() {
    use libprocess::Pid;
    use mesos_registrar::RaftMessage;
    let mut cluster = Cluster::new(3);
    cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    let stranger = libprocess::Node::builder("10.0.0.99:5050".parse().unwrap())
        .simulated(&cluster.sim)
        .clock(cluster.clock.clone())
        .start()
        .unwrap();
    let target = cluster.registrar(leader).pid().clone();
    // Raft ids follow the sorted addresses: member i is raft id i + 1.
    let peer = (leader + 1) % 3;
    let forged = RaftMessage { data: vec![0xff; 16], from: peer as u64 + 1, to: leader as u64 + 1 };
    stranger.send(&Pid::new("registrar", stranger.address()), &target, forged.clone());
    // A configured peer's registrar, right ids, but bytes that are not a raft message.
    let member = cluster.members[peer].as_ref().unwrap();
    member.node.send(&Pid::new("registrar", member.node.address()), &target, forged);
    cluster.run(2).await;
    let refused = cluster.members[leader].as_ref().unwrap().node.metrics().snapshot();
    assert_eq!(refused.get("registrar/raft_messages_refused").copied(), Some(2.0));
    cluster.submit(leader, Op::AdmitAgent(agent("1"))).await.expect("still works");
    stranger.shutdown().await;
    cluster.shutdown().await;
}
