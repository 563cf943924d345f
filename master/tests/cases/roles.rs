//! Roles as the operator sees them (`/master/roles`, v1 `GET_ROLES`) and the ACLs on
//! roles and volumes (`view_roles`, `resize_volumes`). Ports of Mesos's `RoleTest`
//! scenarios (src/tests/role_tests.cpp) and `PersistentVolumeTest`'s resize ACL cases,
//! with fake agents and schedulers on the simulated network.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;
use mesos_security::{Authorizer, Principal};
use serde_json::{Value, json};

use super::reservations::{PRINCIPAL, ROLE, reserved, role_framework, volume};
use super::support::{Cluster, FakeAgent, FakeScheduler, task};

/// `GET path` (or a POST of `body` to it) as `principal`; the status and the JSON body.
pub(super) async fn call(
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

/// Registers `agent` announcing RESIZE_VOLUME (needed to grow or shrink volumes).
async fn register_resizable(cluster: &Cluster, agent: &mut FakeAgent) -> mesos::SlaveId {
    use mesos_proto::mesos::slave_info::{Capability, capability};
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        agent_capabilities: vec![Capability {
            r#type: Some(capability::Type::ResizeVolume as i32),
        }],
        ..Default::default()
    });
    cluster.settle().await;
    let id = agent
        .drain()
        .into_iter()
        .find_map(|m| match m {
            super::support::AgentMsg::Registered(r) => Some(r.slave_id),
            _ => None,
        })
        .expect("SlaveRegisteredMessage");
    agent.id = Some(id.clone());
    id
}

/// The (one) agent's total resources, as the master holds them.
async fn agent_total(cluster: &Cluster) -> Resources {
    cluster.inspect(|core| core.agents().next().expect("the agent").total.clone()).await
}

fn json_of(resource: &mesos::Resource) -> Value {
    mesos_proto::json::to_json(resource)
}

fn resources_json(resources: &Resources) -> Value {
    Value::Array(resources.iter().map(json_of).collect())
}

/// `PersistentVolumeTest.GoodACLGrowThenShrink` and `BadACLDropGrowAndShrink`, through
/// the operator API: the `resize_volumes` ACLs decide GROW_VOLUME and SHRINK_VOLUME by
/// the volume's role. A principal they do not allow gets `403` and the volume keeps
/// its size; the allowed principal grows it, then shrinks it.
#[actix_rt::test]
async fn resize_volume_acls_guard_grow_and_shrink() {
    let acls = json!({"resize_volumes": [
        {"principals": {"values": [PRINCIPAL]}, "roles": {"values": [ROLE]}},
        {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}},
    ]});
    let authorizer = Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    let cluster = Cluster::start(move |options| options.authorizer = Some(Arc::new(authorizer)));
    let mut agent = cluster.agent("cpus:1;mem:128;disk:1024");
    let agent_id = json!({"value": register_resizable(&cluster, &mut agent).await.value});
    let as_operator = |principal: &'static str, call_body: Value| {
        let cluster = &cluster;
        async move { call(cluster, "/api/v1", Some(principal), Some(call_body)).await.0 }
    };

    let disk = reserved("disk:512", ROLE);
    let reserve = json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": agent_id, "resources": resources_json(&disk)}});
    assert_eq!(as_operator(PRINCIPAL, reserve).await, StatusCode::ACCEPTED);
    let small = volume(&reserved("disk:256", ROLE), "vol", "data");
    let create = json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": agent_id, "volumes": [json_of(&small)]}});
    assert_eq!(as_operator(PRINCIPAL, create).await, StatusCode::ACCEPTED);

    let addition = reserved("disk:128", ROLE).to_protos().remove(0);
    let grow = json!({"type": "GROW_VOLUME", "grow_volume": {
        "agent_id": agent_id, "volume": json_of(&small), "addition": json_of(&addition)}});
    assert_eq!(as_operator("intruder", grow.clone()).await, StatusCode::FORBIDDEN);
    let shrink_small = json!({"type": "SHRINK_VOLUME", "shrink_volume": {
        "agent_id": agent_id, "volume": json_of(&small), "subtract": {"value": 128}}});
    assert_eq!(as_operator("intruder", shrink_small).await, StatusCode::FORBIDDEN);
    assert!(agent_total(&cluster).await.contains_resource(&small), "unchanged");

    assert_eq!(as_operator(PRINCIPAL, grow).await, StatusCode::ACCEPTED);
    let grown = volume(&reserved("disk:384", ROLE), "vol", "data");
    assert!(agent_total(&cluster).await.contains_resource(&grown), "grown");
    let shrink = json!({"type": "SHRINK_VOLUME", "shrink_volume": {
        "agent_id": agent_id, "volume": json_of(&grown), "subtract": {"value": 128}}});
    assert_eq!(as_operator(PRINCIPAL, shrink).await, StatusCode::ACCEPTED);
    assert!(agent_total(&cluster).await.contains_resource(&small), "shrunk back");
}
