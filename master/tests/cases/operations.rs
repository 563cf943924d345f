//! No operation is dropped silently: what the master does not perform is answered with
//! a task status or an operation status (issue 14, section 2; issue 15, section 1).

use std::time::Duration;

use mesos_proto::mesos::{self, offer, task_status};
use mesos_proto::resources::Resources;

use super::support::{Cluster, agent_framework_offer, task};

fn operation(kind: offer::operation::Type, id: Option<&str>) -> mesos::offer::Operation {
    mesos::offer::Operation {
        r#type: Some(kind as i32),
        id: id.map(|value| mesos::OperationId { value: value.into() }),
        ..Default::default()
    }
}

/// An invalid LAUNCH_GROUP (its tasks do not carry the group's executor) is answered,
/// never dropped: each task of the group gets TASK_ERROR with REASON_TASK_GROUP_INVALID
/// and the reason, and the resources are offered again.
#[actix_rt::test]
async fn invalid_launch_group_tasks_get_task_error() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let mut group = operation(offer::operation::Type::LaunchGroup, None);
    let mut first = task("g1", &offer, "cpus:0.5;mem:64");
    first.command = None;
    let mut second = task("g2", &offer, "cpus:0.5;mem:64");
    second.command = None;
    group.launch_group = Some(offer::operation::LaunchGroup {
        executor: mesos::ExecutorInfo {
            executor_id: mesos::ExecutorId { value: "default".into() },
            r#type: Some(mesos::executor_info::Type::Default as i32),
            resources: Resources::parse("cpus:0.1;mem:32").unwrap().to_protos(),
            ..Default::default()
        },
        task_group: mesos::TaskGroupInfo { tasks: vec![first, second] },
    });
    scheduler.accept_operations(vec![offer.id.clone()], vec![group]);
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 2, "{updates:?}");
    for update in &updates {
        assert_eq!(update.state(), mesos::TaskState::TaskError);
        assert_eq!(update.reason(), task_status::Reason::TaskGroupInvalid);
        assert!(update.message().contains("'TaskInfo.executor' must be set"), "{:?}", update);
    }
    cluster.advance(Duration::from_secs(6)).await;
    assert_eq!(scheduler.offers().len(), 1, "the resources came back");
}

/// An operation the master cannot perform that carries an id gets OPERATION_ERROR with
/// the reason (CREATE_DISK needs a resource provider, UNKNOWN is unknown); a LAUNCH
/// with an id gets TASK_ERROR, as in Mesos.
#[actix_rt::test]
async fn unsupported_operations_with_ids_get_operation_error() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let mut launch = operation(offer::operation::Type::Launch, Some("launch-1"));
    launch.launch =
        Some(offer::operation::Launch { task_infos: vec![task("t1", &offer, "cpus:1;mem:64")] });
    scheduler.accept_operations(
        vec![offer.id.clone()],
        vec![
            operation(offer::operation::Type::CreateDisk, Some("disk-1")),
            operation(offer::operation::Type::Unknown, Some("unknown-1")),
            launch,
        ],
    );
    cluster.settle().await;
    let messages = scheduler.drain();
    let statuses: Vec<&mesos::OperationStatus> = messages
        .iter()
        .filter_map(|m| match m {
            super::support::SchedMsg::OperationStatus(u) => Some(&u.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{messages:?}");
    assert_eq!(statuses[0].operation_id.as_ref().unwrap().value, "disk-1");
    assert_eq!(statuses[0].state(), mesos::OperationState::OperationError);
    assert!(statuses[0].message().contains("resource provider"), "{:?}", statuses[0].message);
    assert_eq!(statuses[1].operation_id.as_ref().unwrap().value, "unknown-1");
    let task_error = messages.iter().find_map(|m| match m {
        super::support::SchedMsg::Update(u) => Some(u.update.status.clone()),
        _ => None,
    });
    let task_error = task_error.expect("a status for the LAUNCH with an id");
    assert_eq!(task_error.state(), mesos::TaskState::TaskError);
    assert!(task_error.message().contains("`id`"), "{:?}", task_error.message);
}

/// An ACCEPT of invalid offers: a RESERVE in it that carries an id gets OPERATION_ERROR
/// naming the invalid offers (Mesos: `Master::accept`).
#[actix_rt::test]
async fn operation_with_invalid_offers_gets_operation_error() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let bogus = mesos::OfferId { value: "no-such-offer".into() };
    scheduler.accept_operations(
        vec![offer.id.clone(), bogus],
        vec![operation(offer::operation::Type::Reserve, Some("reserve-1"))],
    );
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state(), mesos::OperationState::OperationError);
    assert!(statuses[0].message().contains("invalid offers"), "{:?}", statuses[0].message);
}
