//! Offers: timeout, filters, suppress/revive, invalid offers.

use std::time::Duration;

use mesos_proto::mesos::{self, scheduler, task_status};

use super::support::{Cluster, SchedMsg, agent_framework_offer, framework_info, task};

/// `MasterTest.OfferTimeout`: an offer held past `--offer_timeout` is rescinded and its
/// resources offered again.
#[actix_rt::test]
async fn master_test_offer_timeout() {
    let cluster = Cluster::start(|o| o.offer_timeout = Some(Duration::from_secs(30)));
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    cluster.advance(Duration::from_secs(31)).await;
    let messages = scheduler.drain();
    assert!(messages.iter().any(|m| matches!(m, SchedMsg::Rescind(r) if r.offer_id == offer.id)));
    cluster.advance(Duration::from_secs(1)).await;
    let again = scheduler.offers();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].id, offer.id, "a new offer id");
}

/// A new framework is offered at once, not at the next batch round a full
/// `--allocation_interval` away (Mesos: hierarchical.cpp
/// `HierarchicalAllocatorProcess::addFramework` triggers an allocation): with the clock
/// paused, its SUBSCRIBE alone brings the offer (E2E-1's probe, docs/benchmarks.md).
#[actix_rt::test]
async fn new_framework_offered_without_waiting_for_the_batch_round() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    cluster.advance(Duration::from_secs(1)).await; // A batch round with no framework.
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, framework_info("fw")).await;
    cluster.settle().await;
    assert_eq!(scheduler.offers().len(), 1, "offered with no clock advance");
}

/// `MasterTest.LaunchDuplicateOfferLost`: accepting the same offer twice in one call is
/// invalid: the task is TASK_LOST with REASON_INVALID_OFFERS and the resources come back.
#[actix_rt::test]
async fn master_test_launch_duplicate_offer_lost() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(
        vec![offer.id.clone(), offer.id.clone()],
        vec![task("t1", &offer, "cpus:1;mem:128")],
        5.0,
    );
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].state(), mesos::TaskState::TaskLost);
    assert_eq!(updates[0].reason(), task_status::Reason::InvalidOffers);
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(scheduler.offers().len(), 1, "resources were recovered and re-offered");
}

/// `HierarchicalAllocatorTest.OfferFilter` through the master: a declined offer is not
/// re-offered until `refuse_seconds` pass.
#[actix_rt::test]
async fn decline_filter_holds_until_refuse_seconds() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.decline(vec![offer.id.clone()], 10.0);
    cluster.settle().await;
    for _ in 0..9 {
        cluster.advance(Duration::from_secs(1)).await;
    }
    assert!(scheduler.offers().is_empty(), "filtered for 10 s");
    cluster.advance(Duration::from_secs(2)).await;
    assert_eq!(scheduler.offers().len(), 1);
}

/// `HierarchicalAllocatorTest.SuppressAndReviveOffers` through the master: a suppressed
/// framework gets no offers until it revives.
#[actix_rt::test]
async fn suppress_and_revive_offers() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Suppress as i32),
        ..Default::default()
    });
    scheduler.decline(vec![offer.id.clone()], 0.0);
    cluster.settle().await;
    for _ in 0..5 {
        cluster.advance(Duration::from_secs(1)).await;
    }
    assert!(scheduler.offers().is_empty(), "suppressed");
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Revive as i32),
        ..Default::default()
    });
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(scheduler.offers().len(), 1);
}

/// Offers that were never made are refused: the task is TASK_LOST (invalid offers).
#[actix_rt::test]
async fn accept_of_unknown_offer_is_invalid() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let forged = mesos::OfferId { value: "forged-O99".into() };
    scheduler.accept(vec![forged], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates[0].state(), mesos::TaskState::TaskLost);
    assert_eq!(updates[0].reason(), task_status::Reason::InvalidOffers);
    let offers = cluster.inspect(|core| core.offers().count()).await;
    assert_eq!(offers, 1, "the real offer is untouched");
}

/// Tasks that fail validation get TASK_ERROR with a message saying why; valid tasks of
/// the same ACCEPT still launch.
#[actix_rt::test]
async fn invalid_tasks_get_task_error() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let mut no_command = task("no-command", &offer, "cpus:0.1;mem:32");
    no_command.command = None;
    let too_big = task("too-big", &offer, "cpus:4;mem:32");
    let ok = task("ok", &offer, "cpus:1;mem:32");
    let duplicate = task("ok", &offer, "cpus:0.1;mem:32");
    scheduler.accept(vec![offer.id.clone()], vec![no_command, too_big, ok, duplicate], 5.0);
    cluster.settle().await;
    let updates = scheduler.updates();
    let errors: Vec<(String, String)> = updates
        .iter()
        .filter(|u| u.state() == mesos::TaskState::TaskError)
        .map(|u| (u.task_id.value.clone(), u.message.clone().unwrap_or_default()))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].1.contains("CommandInfo or ExecutorInfo"));
    assert!(errors[1].1.contains("more resources"));
    assert!(errors[2].1.contains("duplicate ID"));
    let live =
        cluster.inspect(|core| core.frameworks().map(|f| f.tasks.len()).sum::<usize>()).await;
    assert_eq!(live, 1);
}

/// REVIVE drops decline filters at once: a declined offer (refused for 10 s) comes back
/// right after REVIVE, not when the filter expires.
#[actix_rt::test]
async fn revive_clears_decline_filters() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.decline(vec![offer.id.clone()], 10.0);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    assert!(scheduler.offers().is_empty(), "filtered");
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Revive as i32),
        revive: Some(scheduler::call::Revive { roles: vec![] }),
        ..Default::default()
    });
    cluster.settle().await;
    assert_eq!(scheduler.offers().len(), 1, "offered again right after REVIVE");
}
