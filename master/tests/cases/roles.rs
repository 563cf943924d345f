//! Roles as the operator sees them (`/master/roles`, v1 `GET_ROLES`) and the
//! `view_roles` ACL. Ports of Mesos's `RoleTest` scenarios (src/tests/role_tests.cpp),
//! with fake agents and schedulers on the simulated network.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use mesos_security::{Authorizer, Principal};
use serde_json::{Value, json};

use super::reservations::role_framework;
use super::support::{Cluster, FakeScheduler, task};

/// `GET path` (or a POST of `body` to it) as `principal`; the status and the JSON body.
async fn call(
    cluster: &Cluster,
    path: &str,
    principal: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let method = if body.is_some() { Method::POST } else { Method::GET };
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Bytes::from(text))
        .unwrap();
    if let Some(principal) = principal {
        request.extensions_mut().insert(Principal(principal.into()));
    }
    let node = cluster.node.clone();
    let handle = actix_rt::spawn(async move {
        let response = node.handle_http(request).await;
        let status = response.status();
        let bytes = response.into_body().into_bytes().await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    });
    // Calls that wait on the registry complete as the paused clock advances.
    for _ in 0..500 {
        if handle.is_finished() {
            break;
        }
        cluster.advance(Duration::from_millis(10)).await;
    }
    handle.await.expect("request task")
}

/// The names in GET_ROLES's answer to `principal`.
async fn get_roles(cluster: &Cluster, principal: Option<&str>) -> Vec<Value> {
    let (status, body) =
        call(cluster, "/api/v1", principal, Some(json!({"type": "GET_ROLES"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["get_roles"]["roles"].as_array().cloned().unwrap_or_default()
}

/// Launches one task on all of `offer` (the framework's single offer).
async fn launch_all(cluster: &Cluster, scheduler: &mut FakeScheduler, resources: &str) {
    cluster.settle().await;
    let mut offers = scheduler.offers();
    assert_eq!(offers.len(), 1, "one offer");
    let offer = offers.remove(0);
    let id = format!("task-{}", offer.slave_id.value);
    scheduler.accept(vec![offer.id.clone()], vec![task(&id, &offer, resources)], 0.0);
    cluster.settle().await;
}

/// `RoleTest.RolesEndpointContainsConsumedQuota`: a role's consumed quota is what its
/// tasks use plus the reservations nobody uses (an offered reservation is not in use);
/// offered unreserved resources are not consumed. Agent 1's reservation is used by a
/// task, agent 2's unreserved resources too, agent 3's reservation and unreserved
/// resources are offered. `/roles` shows Mesos's figures (ports counted by number);
/// GET_ROLES the role with allocated plus offered `cpus` and `mem`.
#[actix_rt::test]
async fn role_test_roles_endpoint_contains_consumed_quota() {
    let cluster = Cluster::start(|_| {});
    let mut agent1 = cluster.agent("cpus(role):1;mem(role):10");
    agent1.register(&cluster).await;
    let mut scheduler = cluster.scheduler();
    let framework_id = scheduler.subscribe(&cluster, role_framework("fw", "role")).await;
    launch_all(&cluster, &mut scheduler, "cpus(role):1;mem(role):10").await;

    let mut agent2 = cluster.agent("cpus:10;mem:100");
    agent2.register(&cluster).await;
    launch_all(&cluster, &mut scheduler, "cpus:10;mem:100").await;

    let mut agent3 = cluster.agent(
        "cpus(role):100;mem(role):1000;ports(role):[100-199];cpus:1000;mem:10000;ports:[1000-1999]",
    );
    agent3.register(&cluster).await;
    cluster.settle().await;
    assert_eq!(scheduler.offers().len(), 1, "agent 3 is offered");

    let (status, roles) = call(&cluster, "/roles", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let expected = json!({"roles": [{
        "name": "role",
        "weight": 1.0,
        "frameworks": [framework_id.value],
        "resources": {"cpus": 1111.0, "mem": 11110.0, "ports": 1100.0},
        "allocated": {"cpus": 11.0, "mem": 110.0},
        "offered": {"cpus": 1100.0, "mem": 11000.0, "ports": 1100.0},
        "reserved": {"cpus": 101.0, "mem": 1010.0, "ports": 100.0},
        "quota": {
            "role": "role",
            "guarantee": {},
            "limit": {},
            "consumed": {"cpus": 111.0, "mem": 1110.0, "ports": 100.0},
        },
    }]});
    assert_eq!(roles, expected);

    let listed = get_roles(&cluster, None).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "role");
    assert_eq!(listed[0]["weight"], 1.0);
    assert_eq!(listed[0]["frameworks"], json!([{"value": framework_id.value}]));
    let resources: Vec<(String, f64)> = listed[0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["scalar"]["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(resources, [("cpus".to_string(), 1111.0), ("mem".to_string(), 11110.0)]);
}

/// `RoleTest.EndpointImplicitRolesQuotas` and `...Ancestors` with `view_roles`: roles
/// known only through a weight, a quota or a reservation (and their ancestors) are
/// listed with their weight and quota; a caller sees only the roles `view_roles`
/// allows it, in `/roles` and GET_ROLES alike.
#[actix_rt::test]
async fn roles_are_known_from_weights_quotas_reservations_and_filtered_by_view_roles() {
    let acls = json!({"view_roles": [
        {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
        {"principals": {"values": ["dev"]}, "roles": {"values": ["eng/%"]}},
        {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}},
    ]});
    let authorizer = Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    let cluster = Cluster::start(move |options| {
        options.authorizer = Some(Arc::new(authorizer));
        options.weights = vec![("web".into(), 2.5)];
    });
    let mut agent = cluster.agent("cpus:2;mem:1024;cpus(eng/db):1");
    agent.register(&cluster).await;
    let quota = json!({"type": "UPDATE_QUOTA", "update_quota": {"force": true, "quota_configs": [
        {"role": "eng", "guarantees": {"cpus": {"value": 1}}, "limits": {"cpus": {"value": 2}}}
    ]}});
    let (status, body) = call(&cluster, "/api/v1", Some("ops"), Some(quota)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let names = |roles: &Value| -> Vec<String> {
        roles["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = call(&cluster, "/roles", Some("ops"), None).await;
    assert_eq!(names(&all), ["eng", "eng/db", "web"]);
    let eng = &all["roles"][0];
    assert_eq!(eng["quota"]["guarantee"], json!({"cpus": 1.0}));
    assert_eq!(eng["quota"]["limit"], json!({"cpus": 2.0}));
    // eng/db's unused reservation counts against eng's quota.
    assert_eq!(eng["quota"]["consumed"], json!({"cpus": 1.0}));
    assert_eq!(eng["reserved"], json!({"cpus": 1.0}));
    assert_eq!(all["roles"][2]["weight"], 2.5);

    let (_, dev) = call(&cluster, "/roles", Some("dev"), None).await;
    assert_eq!(names(&dev), ["eng/db"]);
    let (_, nobody) = call(&cluster, "/roles", None, None).await;
    assert_eq!(names(&nobody), Vec::<String>::new());

    let listed: Vec<Value> = get_roles(&cluster, Some("ops")).await;
    let weights: Vec<(String, f64)> = listed
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["weight"].as_f64().unwrap()))
        .collect();
    let expected = [("eng".to_string(), 1.0), ("eng/db".to_string(), 1.0), ("web".into(), 2.5)];
    assert_eq!(weights, expected);
    let dev: Vec<Value> = get_roles(&cluster, Some("dev")).await;
    assert_eq!(dev.len(), 1);
    assert_eq!(dev[0]["name"], "eng/db");
    assert!(get_roles(&cluster, None).await.is_empty());
}
