//! The operator's reservations and volumes: v1 `RESERVE_RESOURCES`,
//! `UNRESERVE_RESOURCES`, `CREATE_VOLUMES`, `DESTROY_VOLUMES` and the v0 `/reserve`,
//! `/unreserve`, `/create-volumes`, `/destroy-volumes`, with their ACLs. Ports of
//! Mesos's `ReservationEndpointsTest` and `PersistentVolumeEndpointsTest` scenarios.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use mesos_proto::mesos;
use mesos_proto::resources::Resources;
use mesos_security::{Authorizer, Principal};
use serde_json::{Value, json};

use super::reservations::{PRINCIPAL, ROLE, checkpointed, reserved, setup, unallocated, volume};
use super::support::{Cluster, task};

async fn post(cluster: &Cluster, path: &str, content_type: &str, body: String) -> Response {
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", content_type)
        .body(Bytes::from(body))
        .unwrap();
    request.extensions_mut().insert(Principal(PRINCIPAL.into()));
    cluster.node.handle_http(request).await
}

async fn v1(cluster: &Cluster, call: Value) -> StatusCode {
    post(cluster, "/api/v1", "application/json", call.to_string()).await.status()
}

/// Percent-encodes a form value (everything but unreserved characters).
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn json_of(resources: &Resources) -> Value {
    Value::Array(resources.iter().map(mesos_proto::json::to_json).collect())
}

fn agent_id(offer: &mesos::Offer) -> Value {
    json!({ "value": offer.slave_id.value })
}

/// `ReservationEndpointsTest.AvailableResources`: the operator reserves resources that
/// are offered to a framework: the offer is rescinded, the agent checkpoints the
/// reservation, and the framework of the role is offered it; UNRESERVE_RESOURCES
/// gives it back.
#[actix_rt::test]
async fn reservation_endpoints_test_available_resources() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster, "cpus:2;mem:512").await;
    let dynamic = reserved("cpus:1;mem:256", ROLE);
    let status = v1(
        &cluster,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
            "agent_id": agent_id(&offer), "resources": json_of(&dynamic)}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(dynamic.clone()));
    cluster.advance(Duration::from_secs(1)).await;
    let messages = scheduler.drain();
    assert!(messages.iter().any(|m| matches!(m, super::support::SchedMsg::Rescind(_))));
    let offered: Vec<Resources> = messages
        .iter()
        .filter_map(|m| match m {
            super::support::SchedMsg::Offers(o) => Some(unallocated(&o.offers[0])),
            _ => None,
        })
        .collect();
    assert_eq!(offered.len(), 1, "offered again");
    assert!(offered[0].contains(&dynamic), "{}", offered[0]);

    // The framework holds the offer again: UNRESERVE rescinds it once more.
    let status = v1(
        &cluster,
        json!({"type": "UNRESERVE_RESOURCES", "unreserve_resources": {
            "agent_id": agent_id(&offer), "resources": json_of(&dynamic)}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(Resources::new()));
}

/// The v0 endpoints take form bodies (`slaveId`, `resources` / `volumes` as JSON):
/// `/reserve`, `/create-volumes`, `/destroy-volumes`, `/unreserve` in turn; the volume
/// is offered back with its `DiskInfo`. Mesos: `PersistentVolumeEndpointsTest
/// .StaticReservation`-style flow on dynamically reserved disk.
#[actix_rt::test]
async fn persistent_volume_endpoints_test_v0_endpoints() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster, "cpus:1;mem:512;disk:1024").await;
    let form = "application/x-www-form-urlencoded";
    let encode = |value: &Value| form_encode(&value.to_string());
    let slave = &offer.slave_id.value;
    let disk = reserved("disk:512", ROLE);
    let body = format!("slaveId={slave}&resources={}", encode(&json_of(&disk)));
    assert_eq!(post(&cluster, "/reserve", form, body).await.status(), StatusCode::ACCEPTED);
    let v = volume(&disk, "vol", "data");
    let volumes = Value::Array(vec![mesos_proto::json::to_json(&v)]);
    let body = format!("slaveId={slave}&volumes={}", encode(&volumes));
    assert_eq!(
        post(&cluster, "/create-volumes", form, body.clone()).await.status(),
        StatusCode::ACCEPTED
    );
    cluster.settle().await;
    let expected = Resources::from_protos([v]).unwrap();
    assert_eq!(checkpointed(&mut agent), Some(expected.clone()));
    // Each call withdrew the outstanding offer; the latest one holds the volume.
    cluster.advance(Duration::from_secs(1)).await;
    let offers = scheduler.offers();
    let latest = offers.last().expect("offered again");
    assert!(unallocated(latest).persistent_volumes().contains(&expected));

    assert_eq!(post(&cluster, "/destroy-volumes", form, body).await.status(), StatusCode::ACCEPTED);
    let body = format!("slaveId={slave}&resources={}", encode(&json_of(&disk)));
    assert_eq!(post(&cluster, "/unreserve", form, body).await.status(), StatusCode::ACCEPTED);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(Resources::new()));
    let bad = post(&cluster, "/reserve", form, "resources=[]".into()).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "no slaveId");
}

/// `ReservationEndpointsTest.InsufficientResources`: resources in use by a task cannot
/// be reserved by the operator: `409 Conflict`, nothing changes.
#[actix_rt::test]
async fn reservation_endpoints_test_insufficient_resources() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = setup(&cluster, "cpus:1;mem:512").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:512")], 5.0);
    cluster.settle().await;
    let status = v1(
        &cluster,
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
            "agent_id": agent_id(&offer), "resources": json_of(&reserved("cpus:1", ROLE))}}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(checkpointed(&mut agent), None);
}

/// `ReservationEndpointsTest.BadReserveACL` / `BadCreateVolumeACL`: the ACLs deny the
/// operator's principal: `403`, nothing changes. A reservation signed by another
/// principal is `400`.
#[actix_rt::test]
async fn reservation_endpoints_test_acls_and_principals() {
    let acls = json!({
        "reserve_resources": [{"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
        "create_volumes": [{"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}]
    });
    let authorizer = Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    let cluster = Cluster::start(move |options| options.authorizer = Some(Arc::new(authorizer)));
    let (mut agent, _scheduler, offer) = setup(&cluster, "cpus:1;mem:512;disk:64").await;
    let reserve = |resources: &Resources| {
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
            "agent_id": agent_id(&offer), "resources": json_of(resources)}})
    };
    assert_eq!(v1(&cluster, reserve(&reserved("cpus:1", ROLE))).await, StatusCode::FORBIDDEN);
    let reservation =
        mesos_proto::resources::resource::dynamic_reservation(ROLE, Some("someone-else"), None);
    let foreign = Resources::parse("cpus:1").unwrap().push_reservation(&reservation).unwrap();
    assert_eq!(v1(&cluster, reserve(&foreign)).await, StatusCode::BAD_REQUEST);
    assert_eq!(checkpointed(&mut agent), None);
}
