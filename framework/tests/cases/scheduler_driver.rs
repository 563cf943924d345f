//! The scheduler driver against a real master on a simulated network: subscription,
//! offers, launches, acknowledgements, filters, reconciliation, teardown.

use std::time::Duration;

use libprocess::Match;
use mesos_framework::FrameworkError;
use mesos_framework::scheduler::{DriverStatus, Event, refuse_for};
use mesos_framework::testing::{AgentConfig, Cluster};
use mesos_proto::mesos::{TaskState, scheduler};

use super::support::{Recorder, config, events, launch_each, start, updates, wait_for};

/// A new framework subscribes at once, gets its FrameworkID through `registered`, and
/// then an offer for the agent's resources.
#[actix_rt::test]
async fn subscribes_and_receives_offers() {
    let cluster = Cluster::start();
    let _agent = cluster.agent(AgentConfig::new("cpus:2;mem:1024"));
    let (_node, handle) = start(&cluster, config(vec![cluster.master_pid()]), Recorder::holding());
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Offers(_))).await);
    let events = events(&handle).await;
    let Event::Registered { framework_id, .. } = &events[0] else {
        panic!("first event: {:?}", events[0])
    };
    assert!(framework_id.value.starts_with("c0ffee00"));
    let (id, connected, held) = handle
        .inspect(|_, core| {
            (core.framework_id().cloned(), core.is_connected(), core.outstanding_offers())
        })
        .await
        .unwrap();
    assert_eq!(id.as_ref(), Some(framework_id));
    assert!(connected);
    assert_eq!(held, 1);
}

/// With implicit acknowledgements (the default) every update that has a uuid is
/// acknowledged after `status_update` returns: the agent sees one ack per update.
#[actix_rt::test]
async fn implicit_acknowledgements_reach_the_agent() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let (_node, handle) =
        start(&cluster, config(vec![cluster.master_pid()]), launch_each("echo hi"));
    assert!(
        wait_for(
            &cluster,
            &handle,
            |e| matches!(e, Event::Update(s) if s.state() == TaskState::TaskFinished)
        )
        .await
    );
    assert_eq!(
        updates(&handle).await,
        vec![("t1".into(), TaskState::TaskRunning), ("t1".into(), TaskState::TaskFinished)]
    );
    cluster.settle().await;
    assert_eq!(agent.inspect(|a| a.acks).await, 2);
}

/// Without implicit acknowledgements nothing is acknowledged until the scheduler calls
/// `acknowledge`; calling it on an implicit driver is an error.
#[actix_rt::test]
async fn explicit_acknowledgements() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let mut cfg = config(vec![cluster.master_pid()]);
    cfg.implicit_acknowledgements = false;
    let (_node, handle) = start(&cluster, cfg, launch_each("sleep 100"));
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Update(_))).await);
    cluster.settle().await;
    assert_eq!(agent.inspect(|a| a.acks).await, 0);
    let acked = handle
        .call(|s, driver| {
            let status = s
                .events
                .iter()
                .find_map(|e| match e {
                    Event::Update(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap();
            driver.acknowledge(&status)
        })
        .await
        .unwrap();
    assert!(acked.is_ok());
    cluster.settle().await;
    assert_eq!(agent.inspect(|a| a.acks).await, 1);

    let (_node2, implicit) =
        start(&cluster, config(vec![cluster.master_pid()]), Recorder::holding());
    let refused = implicit.call(|_, driver| driver.acknowledge(&Default::default())).await.unwrap();
    assert!(matches!(refused, Err(FrameworkError::ImplicitAcknowledgements)));
}

/// A declined offer's resources come back only after the filter's `refuse_seconds`;
/// `revive` clears the filter at once. Port of the intent of `MasterTest.RecoverResources`.
#[actix_rt::test]
async fn decline_filters_and_revive() {
    let cluster = Cluster::start();
    let _agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let decline = Recorder::with(|driver, offers| {
        for offer in offers {
            driver.decline(&offer.id, Some(refuse_for(Duration::from_secs(30))));
        }
    });
    let (_node, handle) = start(&cluster, config(vec![cluster.master_pid()]), decline);
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Offers(_))).await);
    let offers =
        async || events(&handle).await.iter().filter(|e| matches!(e, Event::Offers(_))).count();
    cluster.advance(Duration::from_secs(10)).await;
    assert_eq!(offers().await, 1, "filtered for 30 s");
    handle.call(|_, driver| driver.revive(Vec::new())).await.unwrap();
    cluster.advance(Duration::from_secs(2)).await;
    assert_eq!(offers().await, 2, "revive removes the filter");
}

/// Implicit reconciliation (an empty RECONCILE) returns the latest state of every task
/// the master knows, as an update without uuid (nothing to acknowledge).
#[actix_rt::test]
async fn implicit_reconciliation() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let (_node, handle) =
        start(&cluster, config(vec![cluster.master_pid()]), launch_each("sleep 100"));
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Update(_))).await);
    handle.call(|_, driver| driver.reconcile(Vec::new())).await.unwrap();
    cluster.settle().await;
    let last = events(&handle)
        .await
        .into_iter()
        .rev()
        .find_map(|e| match e {
            Event::Update(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(last.task_id.value, "t1");
    assert_eq!(last.state(), TaskState::TaskRunning);
    assert!(last.uuid.is_none(), "reconciliation updates are not acknowledged");
    assert_eq!(agent.live_tasks().await, vec!["t1".to_string()]);
}

/// `stop(false)` tears the framework down: TEARDOWN reaches the master, the agent is
/// told to shut the framework down (its tasks are killed) and `join` returns Stopped.
#[actix_rt::test]
async fn stop_without_failover_tears_down() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let (_node, mut handle) =
        start(&cluster, config(vec![cluster.master_pid()]), launch_each("sleep 100"));
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Update(_))).await);
    let teardown = cluster.hooks.expect::<scheduler::Call>(Match::any().from(handle.pid()));
    handle.call(|_, driver| driver.stop(false)).await.unwrap();
    cluster.settle().await;
    assert_eq!(teardown.await.message.r#type(), scheduler::call::Type::Teardown);
    let (_, status) = handle.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    assert_eq!(agent.inspect(|a| a.shutdowns).await, 1);
    assert!(agent.live_tasks().await.is_empty());
}

/// A framework message from the scheduler reaches the agent (for an executor) through
/// the master as MESSAGE.
#[actix_rt::test]
async fn framework_message_goes_through_the_master() {
    let cluster = Cluster::start();
    let _agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let (_node, handle) = start(&cluster, config(vec![cluster.master_pid()]), Recorder::holding());
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Offers(_))).await);
    let seen = cluster
        .hooks
        .expect::<scheduler::Call>(Match::any().from(handle.pid()).to(&cluster.master_pid()));
    handle
        .call(|_, driver| {
            driver.send_message(
                &Default::default(),
                &mesos_proto::mesos::ExecutorId { value: "e".into() },
                b"hi".to_vec(),
            )
        })
        .await
        .unwrap();
    let call = seen.await.message;
    assert_eq!(call.r#type(), scheduler::call::Type::Message);
    assert_eq!(call.message.unwrap().data, b"hi");
}
