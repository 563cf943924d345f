//! The scheduler driver under faults: lost SUBSCRIBEs, dead masters, followers,
//! partitions, master failover, scheduler failover.

use std::time::Duration;

use libprocess::{Context, Match, Pid, Process};
use mesos_framework::scheduler::{DriverStatus, Event, SchedulerConfig};
use mesos_framework::testing::{AgentConfig, Cluster};
use mesos_proto::mesos::{self, TaskState, internal, scheduler, task_status};

use super::support::{Recorder, config, events, launch_each, start, wait_for};

/// The first SUBSCRIBE is lost: the driver retries within the 2 s initial backoff and
/// registers. Port of `SchedulerDriverTest.RegistrationRetry` (its intent).
#[actix_rt::test]
async fn lost_subscribe_is_retried() {
    let cluster = Cluster::start();
    let node = cluster.host();
    let dropped =
        cluster.hooks.drop_next::<scheduler::Call>(Match::any().from_address(node.address()));
    let handle = mesos_framework::scheduler::spawn_scheduler(
        &node,
        config(vec![cluster.master_pid()]),
        Recorder::holding(),
    )
    .unwrap();
    cluster.settle().await;
    assert_eq!(dropped.await.message.r#type(), scheduler::call::Type::Subscribe);
    assert!(events(&handle).await.is_empty());
    cluster.advance(Duration::from_secs(2)).await;
    assert!(matches!(events(&handle).await.first(), Some(Event::Registered { .. })));
}

/// With an HA list whose first master does not exist, the driver moves on to the next
/// and registers there.
#[actix_rt::test]
async fn tries_the_next_master_when_one_is_unreachable() {
    let cluster = Cluster::start();
    let nowhere: Pid = "master@10.0.0.9:5050".parse().unwrap();
    let (_node, handle) =
        start(&cluster, config(vec![nowhere, cluster.master_pid()]), Recorder::holding());
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Registered { .. })).await);
    let master = handle.inspect(|_, core| core.master().cloned()).await.unwrap();
    assert_eq!(master, Some(cluster.master_pid()));
}

/// A master that answers "not the leader" (a follower) is skipped without reaching the
/// scheduler as an error; the driver goes to the leader it names.
#[actix_rt::test]
async fn follower_refusal_redirects_to_the_leader() {
    struct Follower {
        leader: Pid,
    }
    libprocess::protocol! {
        enum FollowerMessage { Call(scheduler::Call) }
    }
    impl Process for Follower {
        type Message = FollowerMessage;
        fn on_message(&mut self, from: Pid, _m: FollowerMessage, ctx: &mut Context<'_, Self>) {
            let message =
                format!("{}; leader: {}", mesos_framework::masters::NOT_LEADER_PREFIX, self.leader);
            ctx.send(&from, internal::FrameworkErrorMessage { message });
        }
    }
    let cluster = Cluster::start();
    let follower_node = cluster.node_at("10.0.0.2:5050");
    let follower =
        follower_node.spawn("master", Follower { leader: cluster.master_pid() }).unwrap();
    let (_node, handle) = start(
        &cluster,
        config(vec![follower.pid().clone(), cluster.master_pid()]),
        Recorder::holding(),
    );
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Registered { .. })).await);
    assert!(!events(&handle).await.iter().any(|e| matches!(e, Event::Error(_))));
    assert_eq!(handle.status(), DriverStatus::Running);
}

/// Our followers answer SUBSCRIBE with `NewMasterDetectedMessage` naming the leader:
/// the driver subscribes there at once (no backoff wait), the error callback untouched.
#[actix_rt::test]
async fn new_master_detected_sends_the_driver_to_the_leader() {
    struct Follower {
        leader: Pid,
    }
    libprocess::protocol! {
        enum FollowerMessage { Call(scheduler::Call) }
    }
    impl Process for Follower {
        type Message = FollowerMessage;
        fn on_message(&mut self, from: Pid, _m: FollowerMessage, ctx: &mut Context<'_, Self>) {
            ctx.send(
                &from,
                mesos_proto::extensions::NewMasterDetectedMessage { pid: self.leader.to_string() },
            );
        }
    }
    let cluster = Cluster::start();
    let follower_node = cluster.node_at("10.0.0.2:5050");
    let follower =
        follower_node.spawn("master", Follower { leader: cluster.master_pid() }).unwrap();
    let (_node, handle) = start(
        &cluster,
        config(vec![follower.pid().clone(), cluster.master_pid()]),
        Recorder::holding(),
    );
    cluster.settle().await;
    assert!(
        matches!(events(&handle).await.first(), Some(Event::Registered { .. })),
        "registered without waiting for a retry"
    );
    assert_eq!(
        handle.inspect(|_, core| core.master().cloned()).await.unwrap(),
        Some(cluster.master_pid())
    );
}

/// Our master announces that another master leads now (it was deposed): the driver
/// reports `disconnected` and re-subscribes with the new leader, same FrameworkID.
#[actix_rt::test]
async fn deposed_master_announcement_moves_the_driver() {
    let cluster = Cluster::start();
    let other_node = cluster.node_at("10.0.0.2:5050");
    let other = mesos_master::launch::spawn_master(
        &other_node,
        mesos_master::launch::MasterOptions::with_id("c0ffee00-0000-4000-8000-000000000002"),
    )
    .unwrap();
    let other_pid = other.master.pid().clone();
    let (_node, handle) =
        start(&cluster, config(vec![cluster.master_pid(), other_pid.clone()]), Recorder::holding());
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Registered { .. })).await);
    let framework_id = handle.inspect(|_, core| core.framework_id().cloned()).await.unwrap();
    let announce = mesos_proto::extensions::NewMasterDetectedMessage { pid: other_pid.to_string() };
    cluster.master_node.send(&cluster.master_pid(), handle.pid(), announce);
    cluster.settle().await;
    let seen = events(&handle).await;
    assert!(seen.contains(&Event::Disconnected));
    assert!(matches!(seen.last(), Some(Event::Reregistered { .. })), "{seen:?}");
    assert_eq!(handle.inspect(|_, core| core.master().cloned()).await.unwrap(), Some(other_pid));
    assert_eq!(handle.inspect(|_, core| core.framework_id().cloned()).await.unwrap(), framework_id);
}

/// The network between scheduler and master breaks: the driver reports `disconnected`,
/// forgets its offers, and after the network heals re-subscribes with the same
/// FrameworkID (`reregistered`); its task was never killed.
#[actix_rt::test]
async fn partition_then_resubscribe_with_same_id() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:2;mem:256"));
    let (node, handle) =
        start(&cluster, config(vec![cluster.master_pid()]), launch_each("sleep 100"));
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Update(_))).await);
    let framework_id =
        handle.inspect(|_, core| core.framework_id().cloned()).await.unwrap().unwrap();

    cluster.sim.partition(node.address(), cluster.master_node.address());
    cluster.settle().await;
    assert!(events(&handle).await.contains(&Event::Disconnected));
    assert_eq!(
        handle.inspect(|_, core| (core.is_connected(), core.outstanding_offers())).await.unwrap(),
        (false, 0)
    );
    let launched_while_away = handle
        .call(|_, driver| {
            let task = mesos::TaskInfo {
                task_id: mesos::TaskId { value: "late".into() },
                ..Default::default()
            };
            driver.launch(&mesos::OfferId { value: "stale".into() }, vec![task], None);
        })
        .await;
    assert!(launched_while_away.is_ok());
    let lost = events(&handle)
        .await
        .into_iter()
        .rev()
        .find_map(|e| match e {
            Event::Update(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!((lost.task_id.value.as_str(), lost.state()), ("late", TaskState::TaskLost));
    assert_eq!(lost.reason, Some(task_status::Reason::MasterDisconnected as i32));

    cluster.sim.heal(node.address(), cluster.master_node.address());
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Reregistered { .. })).await);
    let again = handle.inspect(|_, core| core.framework_id().cloned()).await.unwrap();
    assert_eq!(again, Some(framework_id));
    assert_eq!(agent.inspect(|a| (a.kills, a.shutdowns)).await, (0, 0));
    assert!(agent.live_tasks().await.contains(&"t1".to_string()), "t1 never stopped");
}

/// Master failover: the leader's machine dies and another master takes over with no
/// state. The agent re-registers with it, the driver finds it in the HA list and
/// re-subscribes with its FrameworkID; the task keeps running.
#[actix_rt::test]
async fn master_failover_resubscribes_to_the_new_leader() {
    let mut cluster = Cluster::start();
    let second: Pid = "master@10.0.0.2:5050".parse().unwrap();
    let masters = vec![cluster.master_pid(), second.clone()];
    let agent = cluster.agent(AgentConfig::new("cpus:2;mem:256").masters(masters.clone()));
    let (_node, handle) = start(&cluster, config(masters), launch_each("sleep 100"));
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Update(_))).await);

    cluster.fail_over_master("10.0.0.2:5050", "c0ffee00-0000-4000-8000-000000000002").await;
    assert!(events(&handle).await.contains(&Event::Disconnected));
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Reregistered { .. })).await);
    assert_eq!(handle.inspect(|_, core| core.master().cloned()).await.unwrap(), Some(second));
    let framework_id =
        handle.inspect(|_, core| core.framework_id().cloned()).await.unwrap().unwrap();
    let master = cluster.master.master.clone();
    let learned = cluster
        .advance_until(Duration::from_millis(500), Duration::from_secs(10), async || {
            let id = framework_id.clone();
            let t1 = mesos_proto::ids::TaskId::from("t1");
            master
                .dispatch(move |m, _| {
                    m.core().framework(&id.into()).is_some_and(|f| f.tasks.contains_key(&t1))
                })
                .await
                .unwrap()
        })
        .await;
    assert!(learned, "the new master learns the task when the agent re-registers");
    assert_eq!(agent.inspect(|a| (a.kills, a.shutdowns)).await, (0, 0));
    assert!(agent.live_tasks().await.contains(&"t1".to_string()), "t1 never stopped");
}

/// `FaultToleranceTest.SchedulerFailover`: a second scheduler started with the first
/// one's FrameworkID takes over (SUBSCRIBE with force); the first is told it failed
/// over, reaches `error` and aborts; the tasks keep running.
#[actix_rt::test]
async fn scheduler_failover_aborts_the_old_driver() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:2;mem:256"));
    let (_n1, mut first) =
        start(&cluster, config(vec![cluster.master_pid()]), launch_each("sleep 100"));
    assert!(wait_for(&cluster, &first, |e| matches!(e, Event::Update(_))).await);
    let framework_id =
        first.inspect(|_, core| core.framework_id().cloned()).await.unwrap().unwrap();

    let mut info = config(vec![]).framework;
    info.id = Some(framework_id.clone());
    let takeover = SchedulerConfig::new(info, vec![cluster.master_pid()]);
    let force = cluster.hooks.expect::<scheduler::Call>(Match::any().to(&cluster.master_pid()));
    let (_n2, second) = start(&cluster, takeover, Recorder::holding());
    cluster.settle().await;
    assert_eq!(force.await.message.subscribe.unwrap().force, Some(true));
    assert!(
        matches!(&events(&second).await[0], Event::Registered { framework_id: id, .. } if *id == framework_id)
    );
    let (old, status) = first.join().await.unwrap();
    assert!(old.events.contains(&Event::Error("Framework failed over".into())));
    assert_eq!(status, DriverStatus::Aborted { message: "Framework failed over".into() });
    assert_eq!(agent.live_tasks().await, vec!["t1".to_string()]);
}
