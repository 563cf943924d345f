//! Quota and weights through the operator API, end to end on the simulated network with
//! the paused clock (ports of Mesos's `MasterQuotaTest` and `WeightsTest` scenarios:
//! validation, `force`, the legacy calls, ACLs, enforcement, and failover).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::Node;
use mesos_proto::resources::{ResourceQuantities, Resources};
use mesos_security::Authorizer;
use serde_json::{Value, json};

use super::support::{Cluster, framework_info};

/// Sends `body` to `path` on `node` while the paused clock advances in 10 ms steps, so
/// calls that wait on the registry (raft on the simulated network) complete.
async fn request(
    cluster: &Cluster,
    node: &Node,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Bytes::from(if body.is_null() { String::new() } else { body.to_string() }))
        .unwrap();
    let node = node.clone();
    let handle = actix_rt::spawn(async move {
        let response = node.handle_http(request).await;
        let status = response.status();
        let bytes = response.into_body().into_bytes().await;
        (
            status,
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
        )
    });
    for _ in 0..500 {
        if handle.is_finished() {
            break;
        }
        cluster.advance(Duration::from_millis(10)).await;
    }
    handle.await.expect("request task")
}

async fn api(cluster: &Cluster, node: &Node, body: Value) -> (StatusCode, Value) {
    request(cluster, node, Method::POST, "/api/v1", body).await
}

fn update_quota(role: &str, guarantees: Value, limits: Value, force: bool) -> Value {
    json!({"type": "UPDATE_QUOTA", "update_quota": {"force": force, "quota_configs": [
        {"role": role, "guarantees": guarantees, "limits": limits}
    ]}})
}

fn update_weights(role: &str, weight: f64) -> Value {
    json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": role, "weight": weight}]}})
}

/// The quota configs GET_QUOTA returns, by role.
async fn quota_configs(cluster: &Cluster, node: &Node) -> Vec<Value> {
    let (status, body) = api(cluster, node, json!({"type": "GET_QUOTA"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["get_quota"]["status"]["configs"].as_array().cloned().unwrap_or_default()
}

async fn weights(cluster: &Cluster, node: &Node) -> Vec<Value> {
    let (status, body) = api(cluster, node, json!({"type": "GET_WEIGHTS"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["get_weights"]["weight_infos"].as_array().cloned().unwrap_or_default()
}

/// `MasterQuotaTest` validation: overcommit needs `force`; a guarantee above its limit,
/// quota on `*` or on a nested role, a negative amount and a duplicate role are `400`;
/// GET_QUOTA and `/quota` show what was set; REMOVE_QUOTA of an unset role is `400`.
#[actix_rt::test]
async fn update_quota_validation_and_queries() {
    let cluster = Cluster::start(|_| {});
    let node = cluster.node.clone();
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;

    let too_big = update_quota("dev", json!({"cpus": {"value": 4}}), json!({}), false);
    let (status, body) = api(&cluster, &node, too_big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.as_str().unwrap_or("").contains("exceed cluster capacity"), "{body}");
    for invalid in [
        update_quota("dev", json!({"cpus": {"value": 2}}), json!({"cpus": {"value": 1}}), true),
        update_quota("*", json!({"cpus": {"value": 1}}), json!({}), true),
        update_quota("dev/a", json!({"cpus": {"value": 1}}), json!({}), true),
        update_quota("dev", json!({"cpus": {"value": -1}}), json!({}), true),
        update_quota("dev", json!({"ports": {"value": 1}}), json!({}), true),
    ] {
        let (status, body) = api(&cluster, &node, invalid.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{invalid}: {body}");
    }
    assert!(quota_configs(&cluster, &node).await.is_empty());

    let forced =
        update_quota("dev", json!({"cpus": {"value": 4}}), json!({"cpus": {"value": 8}}), true);
    assert_eq!(api(&cluster, &node, forced).await.0, StatusCode::OK);
    let configs = quota_configs(&cluster, &node).await;
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0]["role"], "dev");
    assert_eq!(configs[0]["guarantees"]["cpus"]["value"], 4.0);
    assert_eq!(configs[0]["limits"]["cpus"]["value"], 8.0);
    let (status, legacy) = request(&cluster, &node, Method::GET, "/quota", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(legacy["configs"][0]["role"], "dev", "{legacy}");
    let (_, roles) = request(&cluster, &node, Method::GET, "/roles", Value::Null).await;
    let dev = roles["roles"].as_array().unwrap().iter().find(|r| r["name"] == "dev").cloned();
    assert_eq!(dev.expect("dev listed")["quota"]["guarantee"]["cpus"], 4.0);

    // The default config removes the quota.
    let cleared = update_quota("dev", json!({}), json!({}), false);
    assert_eq!(api(&cluster, &node, cleared).await.0, StatusCode::OK);
    assert!(quota_configs(&cluster, &node).await.is_empty());
    let remove = json!({"type": "REMOVE_QUOTA", "remove_quota": {"role": "dev"}});
    assert_eq!(api(&cluster, &node, remove).await.0, StatusCode::BAD_REQUEST);
}

/// The legacy calls: SET_QUOTA sets guarantee and limit alike, a second SET_QUOTA of
/// the role is `409`, REMOVE_QUOTA and `DELETE /quota/<role>` remove; `POST /quota`
/// takes a `QuotaRequest`.
#[actix_rt::test]
async fn legacy_set_and_remove_quota() {
    let cluster = Cluster::start(|_| {});
    let node = cluster.node.clone();
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let guarantee = json!([{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]);
    let set = json!({"type": "SET_QUOTA", "set_quota": {"quota_request": {"role": "ops", "guarantee": guarantee}}});
    assert_eq!(api(&cluster, &node, set.clone()).await.0, StatusCode::OK);
    let configs = quota_configs(&cluster, &node).await;
    assert_eq!(configs[0]["guarantees"]["cpus"]["value"], 1.0);
    assert_eq!(configs[0]["limits"]["cpus"]["value"], 1.0);
    assert_eq!(api(&cluster, &node, set).await.0, StatusCode::CONFLICT);
    let remove = json!({"type": "REMOVE_QUOTA", "remove_quota": {"role": "ops"}});
    assert_eq!(api(&cluster, &node, remove).await.0, StatusCode::OK);

    let body = json!({"role": "web", "guarantee": guarantee});
    assert_eq!(request(&cluster, &node, Method::POST, "/quota", body).await.0, StatusCode::OK);
    assert_eq!(quota_configs(&cluster, &node).await[0]["role"], "web");
    let deleted = request(&cluster, &node, Method::DELETE, "/master/quota/web", Value::Null).await;
    assert_eq!(deleted.0, StatusCode::OK, "{:?}", deleted.1);
    assert!(quota_configs(&cluster, &node).await.is_empty());
}

/// `WeightsTest`: UPDATE_WEIGHTS and `PUT /weights` change GET_WEIGHTS, `/weights` and
/// GET_ROLES; a weight of zero is `400`; `--weights` shows from the start.
#[actix_rt::test]
async fn update_and_get_weights() {
    let cluster = Cluster::start(|options| options.weights = vec![("web".into(), 2.5)]);
    let node = cluster.node.clone();
    assert_eq!(weights(&cluster, &node).await, [json!({"role": "web", "weight": 2.5})]);
    assert_eq!(api(&cluster, &node, update_weights("dev", 3.0)).await.0, StatusCode::OK);
    assert_eq!(api(&cluster, &node, update_weights("dev", 0.0)).await.0, StatusCode::BAD_REQUEST);
    let body = json!([{"role": "web", "weight": 0.5}]);
    assert_eq!(request(&cluster, &node, Method::PUT, "/weights", body).await.0, StatusCode::OK);
    let (status, listed) = request(&cluster, &node, Method::GET, "/weights", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, json!([{"role": "dev", "weight": 3.0}, {"role": "web", "weight": 0.5}]));
    let (_, roles) = api(&cluster, &node, json!({"type": "GET_ROLES"})).await;
    let dev = roles["get_roles"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "dev")
        .cloned();
    assert_eq!(dev.expect("dev listed")["weight"], 3.0);
}

/// The `update_quotas` and `update_weights` ACLs: denied callers get `403` and nothing
/// changes.
#[actix_rt::test]
async fn acls_guard_quota_and_weights() {
    let acls = json!({
        "update_quotas": [{"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
        "update_weights": [{"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
    });
    let authorizer = Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    let cluster = Cluster::start(move |options| options.authorizer = Some(Arc::new(authorizer)));
    let node = cluster.node.clone();
    let quota = update_quota("dev", json!({}), json!({"cpus": {"value": 1}}), true);
    assert_eq!(api(&cluster, &node, quota).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api(&cluster, &node, update_weights("dev", 2.0)).await.0, StatusCode::FORBIDDEN);
    assert!(quota_configs(&cluster, &node).await.is_empty());
    assert!(weights(&cluster, &node).await.is_empty());
}

/// `MasterQuotaTest` enforcement, end to end: with a guarantee for `q` (which has no
/// framework yet), a greedy framework in another role is offered only what the
/// guarantee leaves; a limit on the greedy role caps it further.
#[actix_rt::test]
async fn guarantee_is_held_back_and_limit_caps_offers() {
    let cluster = Cluster::start(|_| {});
    let node = cluster.node.clone();
    let mut agent = cluster.agent("cpus:4;mem:4096");
    agent.register(&cluster).await;
    let guarantee =
        update_quota("q", json!({"cpus": {"value": 2}, "mem": {"value": 2048}}), json!({}), false);
    assert_eq!(api(&cluster, &node, guarantee).await.0, StatusCode::OK);
    let limit = update_quota("greedy", json!({}), json!({"cpus": {"value": 1}}), false);
    assert_eq!(api(&cluster, &node, limit).await.0, StatusCode::OK);

    let mut scheduler = cluster.scheduler();
    let mut info = framework_info("greedy");
    info.roles = vec!["greedy".into()];
    info.capabilities = vec![mesos_proto::mesos::framework_info::Capability {
        r#type: Some(mesos_proto::mesos::framework_info::capability::Type::MultiRole as i32),
    }];
    scheduler.subscribe(&cluster, info).await;
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let mut offered = ResourceQuantities::new();
    for offer in scheduler.offers() {
        let resources = Resources::from_protos(offer.resources.clone()).unwrap();
        offered += &ResourceQuantities::from_scalar_resources(&resources);
    }
    assert_eq!(offered.get("cpus"), 1.0, "limited to 1 cpu: {offered}");
    assert_eq!(offered.get("mem"), 2048.0, "2048 mem held back for q: {offered}");
}

/// Quota and weights are in the replicated registry: after the leader dies, the new
/// leader answers GET_QUOTA and GET_WEIGHTS with them and its allocator enforces them.
#[actix_rt::test]
async fn quota_and_weights_survive_failover() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    let node = cluster.masters[leader].0.clone();
    let quota =
        update_quota("q", json!({"cpus": {"value": 1}}), json!({"cpus": {"value": 2}}), true);
    assert_eq!(api(&cluster, &node, quota).await.0, StatusCode::OK);
    assert_eq!(api(&cluster, &node, update_weights("q", 4.0)).await.0, StatusCode::OK);

    let next = cluster.fail_over(leader).await;
    let node = cluster.masters[next].0.clone();
    let configs = quota_configs(&cluster, &node).await;
    assert_eq!(configs.len(), 1, "{configs:?}");
    assert_eq!(configs[0]["limits"]["cpus"]["value"], 2.0);
    assert_eq!(weights(&cluster, &node).await, [json!({"role": "q", "weight": 4.0})]);
    let in_allocator =
        cluster.masters[next].1.allocator.dispatch(|a, _| a.core().quota("q")).await.unwrap();
    assert_eq!(in_allocator.guarantees.get("cpus"), 1.0);
    assert_eq!(in_allocator.limits.get("cpus"), Some(&2.0));
}
