//! Members that lose their disk: a blank log rejoins an existing group as the next
//! incarnation of its slot (a membership change), a new group starts only when every
//! member is blank, and an earlier incarnation can never come back.

use mesos_registrar::members::member_id;
use mesos_registrar::{LogBackend, MemBackend, RaftStatus, RegistryOperation as Op};

use super::support::{Cluster, agent};

/// Runs until member `i` is a member with raft id `id` whose registry equals member
/// `leader`'s, and the leader's configuration is `members` (not joint); fails after 100
/// ticks.
async fn wait_rejoined(
    cluster: &Cluster,
    i: usize,
    id: u64,
    leader: usize,
    members: &[u64],
) -> RaftStatus {
    for _ in 0..100 {
        cluster.step().await;
        let status = cluster.status(i).await;
        let leader_status = cluster.status(leader).await;
        if status.id == id
            && leader_status.members == members
            && status.applied == leader_status.applied
        {
            assert_eq!(
                cluster.state(i).await,
                cluster.state(leader).await,
                "the rejoined member has the registry"
            );
            return status;
        }
    }
    panic!(
        "member {i} did not rejoin as {id}: {:?} / leader {:?}",
        cluster.status(i).await,
        cluster.status(leader).await
    );
}

/// Submits `n` agent admissions named `<prefix><k>` on `leader`.
async fn admit(cluster: &Cluster, leader: usize, prefix: &str, n: usize) {
    for k in 0..n {
        cluster
            .submit(leader, Op::AdmitAgent(agent(&format!("{prefix}{k}"))))
            .await
            .expect("admit");
    }
}

/// A follower whose disk is wiped restarts blank: it finds that the group has a log,
/// asks to rejoin, and the leader replaces raft id 3 by 259 (generation 1 of slot 3) in
/// one joint-consensus change. The new member catches up from the snapshot taken at the
/// change (the log before it is compacted away) and is a real voter afterwards: with the
/// third member down, commits need it.
#[actix_rt::test]
async fn wiped_follower_rejoins_as_a_new_member() {
    let mut cluster = Cluster::new(3);
    cluster.snapshot_interval = 5;
    cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    admit(&cluster, leader, "before", 12).await;
    assert!(cluster.status(leader).await.snapshot_index >= 10, "the leader compacted its log");

    let wiped = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let old_id = wiped as u64 + 1;
    cluster.stop(wiped).await;
    cluster.start(wiped, Box::new(MemBackend::new()));
    let new_id = member_id(old_id, 1);
    let mut members: Vec<u64> =
        [1, 2, 3].into_iter().map(|id| if id == old_id { new_id } else { id }).collect();
    members.sort_unstable();
    let status = wait_rejoined(&cluster, wiped, new_id, leader, &members).await;
    assert!(
        status.snapshot_index >= 12,
        "caught up from the snapshot taken at the change: {status:?}"
    );

    cluster.stop(other).await;
    cluster
        .submit(leader, Op::AdmitAgent(agent("needs-the-new-member")))
        .await
        .expect("commits with the new member's vote");
    cluster.run(2).await;
    assert!(cluster.state(wiped).await.is_admitted("needs-the-new-member"));
    assert!(cluster.state(wiped).await.is_admitted("before11"));
    cluster.shutdown().await;
}

/// The leader itself is wiped: the other two elect a leader, the blank master rejoins as
/// generation 1; wiped again, it rejoins as generation 2. The registry is never lost.
#[actix_rt::test]
async fn wiped_leader_rejoins_and_each_wipe_is_a_new_generation() {
    let mut cluster = Cluster::new(3);
    cluster.snapshot_interval = 5;
    cluster.start_all();
    let first = cluster.wait_leader(&[0, 1, 2]).await;
    admit(&cluster, first, "a", 3).await;
    let slot = first as u64 + 1;

    cluster.stop(first).await;
    let rest: Vec<usize> = (0..3).filter(|i| *i != first).collect();
    let second = cluster.wait_leader(&rest).await;
    admit(&cluster, second, "b", 3).await;
    cluster.start(first, Box::new(MemBackend::new()));
    let mut members: Vec<u64> =
        rest.iter().map(|i| *i as u64 + 1).chain([member_id(slot, 1)]).collect();
    members.sort_unstable();
    wait_rejoined(&cluster, first, member_id(slot, 1), second, &members).await;

    cluster.stop(first).await;
    cluster.start(first, Box::new(MemBackend::new()));
    let mut members: Vec<u64> =
        rest.iter().map(|i| *i as u64 + 1).chain([member_id(slot, 2)]).collect();
    members.sort_unstable();
    wait_rejoined(&cluster, first, member_id(slot, 2), second, &members).await;
    let state = cluster.state(first).await;
    assert!(state.is_admitted("a0") && state.is_admitted("b2"), "nothing committed was lost");
    cluster.shutdown().await;
}

/// A new group starts only once every member has answered that it is blank too (as
/// Mesos's replicated log initializes only when every replica is empty): with one member
/// missing nobody leads; when it starts, the founders get raft ids 1, 2, 3.
#[actix_rt::test]
async fn new_group_waits_for_every_member() {
    let mut cluster = Cluster::new(3);
    cluster.start(0, Box::new(MemBackend::new()));
    cluster.start(1, Box::new(MemBackend::new()));
    cluster.run(30).await;
    assert!(cluster.leaders().is_empty());
    assert_eq!(cluster.status(0).await.role, "Probing");
    cluster.start(2, Box::new(MemBackend::new()));
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    assert_eq!(cluster.status(leader).await.members, vec![1, 2, 3]);
    for i in 0..3 {
        assert_eq!(cluster.status(i).await.id, i as u64 + 1);
    }
    cluster.shutdown().await;
}

/// Two of three members wiped: the survivor has the only copy of the registry and no
/// quorum. The blank members must not start a new, empty group between themselves: they
/// wait to rejoin (an operator restores them from a dump of the survivor), and the
/// survivor's registry is untouched.
#[actix_rt::test]
async fn wiped_majority_does_not_start_a_new_group() {
    let mut cluster = Cluster::new(3);
    let backends = cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    admit(&cluster, leader, "kept", 2).await;
    cluster.run(2).await;
    cluster.shutdown().await;

    let survivor = (leader + 1) % 3;
    for (i, backend) in backends.iter().enumerate() {
        let backend = if i == survivor { backend.clone() } else { MemBackend::new() };
        cluster.start(i, Box::new(backend));
    }
    cluster.run(50).await;
    assert!(cluster.leaders().is_empty(), "no group without a quorum of the old one");
    for i in (0..3).filter(|i| *i != survivor) {
        assert_eq!(cluster.status(i).await.role, "Joining");
    }
    assert!(cluster.state(survivor).await.is_admitted("kept1"));
    cluster.shutdown().await;
}

/// A replaced incarnation started again from an old copy of its disk is refused by the
/// group (its raft id is superseded): the group keeps its leader and commits.
#[actix_rt::test]
async fn superseded_incarnation_cannot_come_back() {
    let mut cluster = Cluster::new(3);
    let backends = cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2]).await;
    admit(&cluster, leader, "x", 2).await;
    let wiped = (leader + 1) % 3;
    let old_id = wiped as u64 + 1;
    cluster.stop(wiped).await;
    cluster.start(wiped, Box::new(MemBackend::new()));
    let mut members: Vec<u64> = [1, 2, 3]
        .into_iter()
        .map(|id| if id == old_id { member_id(old_id, 1) } else { id })
        .collect();
    members.sort_unstable();
    wait_rejoined(&cluster, wiped, member_id(old_id, 1), leader, &members).await;

    cluster.stop(wiped).await;
    cluster.start(wiped, Box::new(backends[wiped].clone()));
    assert_eq!(cluster.status(wiped).await.id, old_id);
    cluster.run(40).await;
    assert_eq!(
        cluster.leaders().into_iter().map(|(i, _)| i).collect::<Vec<_>>(),
        vec![leader],
        "the old incarnation disrupted nothing"
    );
    cluster.submit(leader, Op::AdmitAgent(agent("after"))).await.expect("the group still commits");
    assert_eq!(cluster.status(leader).await.members, members);
    cluster.shutdown().await;
}

/// The leader proposes the replacement and dies before it commits (every raft message to
/// it is held, so it never learns that the others have the entry): the next leader, of
/// five, commits the change from the old term, leaves the joint configuration, and
/// answers the blank master's retried request. The dead leader, restarted with its log,
/// follows the new configuration.
#[actix_rt::test]
async fn replacement_survives_a_change_of_leader() {
    use libprocess::Match;
    use mesos_registrar::RaftMessage;
    let mut cluster = Cluster::new(5);
    let backends = cluster.start_all();
    let leader = cluster.wait_leader(&[0, 1, 2, 3, 4]).await;
    admit(&cluster, leader, "y", 2).await;
    let wiped = (leader + 1) % 5;
    let old_id = wiped as u64 + 1;
    cluster.stop(wiped).await;

    let held =
        cluster.hooks.hold::<RaftMessage>(Match::any().to_address(cluster.addresses[leader]));
    cluster.start(wiped, Box::new(MemBackend::new()));
    cluster.run(2).await;
    assert_eq!(cluster.status(wiped).await.role, "Joining");
    assert!(!held.is_empty(), "the others answered the leader's append of the change");
    let follower = backends[(leader + 2) % 5].clone().load().expect("load");
    let change = follower
        .entries
        .values()
        .find(|e| e.get_entry_type() == raft::eraftpb::EntryType::EntryConfChangeV2);
    let change = change.expect("the followers have the change in their logs");
    assert!(follower.hard_state.commit < change.index, "but do not know it is committed");
    cluster.stop(leader).await;
    held.discard();

    let rest: Vec<usize> = (0..5).filter(|i| *i != leader && *i != wiped).collect();
    let next = cluster.wait_leader(&rest).await;
    let new_id = member_id(old_id, 1);
    let mut members: Vec<u64> = (1..=5).map(|id| if id == old_id { new_id } else { id }).collect();
    members.sort_unstable();
    wait_rejoined(&cluster, wiped, new_id, next, &members).await;

    cluster.start(leader, Box::new(backends[leader].clone()));
    cluster.run(20).await;
    assert_eq!(cluster.status(leader).await.members, members);
    assert_eq!(cluster.state(leader).await, cluster.state(next).await);
    cluster.shutdown().await;
}
