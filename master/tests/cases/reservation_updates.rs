//! Reservation updates (Mesos 1.11): `RESERVE_RESOURCES` (and v0 `/reserve`) with
//! `source` move a reservation to another role in one step, without unreserving in
//! between; frameworks may not (Mesos refuses them on the scheduler API).

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use mesos_proto::mesos::{self, offer};
use mesos_proto::resources::Resources;
use mesos_security::{Authorizer, Principal};
use serde_json::{Value, json};

use super::reservations::{PRINCIPAL, ROLE, checkpointed, reserved, setup};
use super::support::Cluster;

async fn v1(cluster: &Cluster, call: Value) -> StatusCode {
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .body(Bytes::from(call.to_string()))
        .unwrap();
    request.extensions_mut().insert(Principal(PRINCIPAL.into()));
    cluster.node.handle_http(request).await.status()
}

fn json_of(resources: &Resources) -> Value {
    Value::Array(resources.iter().map(mesos_proto::json::to_json).collect())
}

fn reserve_call(offer: &mesos::Offer, source: Option<&Resources>, target: &Resources) -> Value {
    let mut reserve = json!({
        "agent_id": {"value": offer.slave_id.value}, "resources": json_of(target)});
    if let Some(source) = source {
        reserve["source"] = json_of(source);
    }
    json!({"type": "RESERVE_RESOURCES", "reserve_resources": reserve})
}

/// A reservation for `role1` becomes one for `role2` in one call: the agent checkpoints
/// the new set (never the unreserved state in between). A source whose quantities
/// differ from the target's, or with mixed reservations, is `400`; so is a source that
/// is not there (nothing to convert: `409`).
#[actix_rt::test]
async fn reservation_update_moves_a_reservation_between_roles() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, _scheduler, offer) = setup(&cluster, "cpus:2;mem:512").await;
    let old = reserved("cpus:1", ROLE);
    assert_eq!(v1(&cluster, reserve_call(&offer, None, &old)).await, StatusCode::ACCEPTED);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(old.clone()));

    let new = reserved("cpus:1", "role2");
    let status = v1(&cluster, reserve_call(&offer, Some(&old), &new)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(new.clone()), "one step, straight to role2");

    let bigger = reserved("cpus:2", "role3");
    assert_eq!(
        v1(&cluster, reserve_call(&offer, Some(&new), &bigger)).await,
        StatusCode::BAD_REQUEST
    );
    let mixed = &new + &reserved("mem:64", ROLE);
    let target = reserved("cpus:1;mem:64", "role3");
    assert_eq!(
        v1(&cluster, reserve_call(&offer, Some(&mixed), &target)).await,
        StatusCode::BAD_REQUEST
    );
    let absent = reserved("cpus:1", "role9");
    assert_eq!(
        v1(&cluster, reserve_call(&offer, Some(&absent), &reserved("cpus:1", "role3"))).await,
        StatusCode::CONFLICT
    );
    assert_eq!(checkpointed(&mut agent), None, "nothing changed");
}

/// A reservation update needs `unreserve_resources` for the source's reservation and
/// `reserve_resources` for the target's role (Mesos `ActionObject::reserve`): with
/// unreserving denied it is `403`.
#[actix_rt::test]
async fn reservation_update_needs_both_acls() {
    let acls = json!({
        "unreserve_resources": [{"principals": {"type": "ANY"}, "reserver_principals": {"type": "NONE"}}]
    });
    let authorizer = Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    let cluster = Cluster::start(move |options| options.authorizer = Some(Arc::new(authorizer)));
    let (mut agent, _scheduler, offer) = setup(&cluster, "cpus:2;mem:512").await;
    let old = reserved("cpus:1", ROLE);
    assert_eq!(v1(&cluster, reserve_call(&offer, None, &old)).await, StatusCode::ACCEPTED);
    cluster.settle().await;
    checkpointed(&mut agent);
    let new = reserved("cpus:1", "role2");
    assert_eq!(v1(&cluster, reserve_call(&offer, Some(&old), &new)).await, StatusCode::FORBIDDEN);
}

/// Frameworks cannot update reservations (Mesos 1.11: "not yet implemented for the
/// scheduler API"): the operation is refused with the reason and changes nothing.
#[actix_rt::test]
async fn frameworks_may_not_update_reservations() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = setup(&cluster, "cpus:1;mem:512").await;
    let operation = offer::Operation {
        r#type: Some(offer::operation::Type::Reserve as i32),
        reserve: Some(offer::operation::Reserve {
            source: Resources::parse("cpus:1").unwrap().to_protos(),
            resources: reserved("cpus:1", ROLE).to_protos(),
        }),
        ..Default::default()
    };
    scheduler.accept_operations(vec![offer.id.clone()], vec![operation]);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), None);
    assert_eq!(cluster.inspect(|m| m.stats().operations_error).await, 1);
}
