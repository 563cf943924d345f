//! The v1 operator API (`POST /api/v1`) on the master.

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use mesos_proto::mesos::v1;
use prost::Message;
use serde_json::{Value, json};

use super::support::{Cluster, agent_framework_offer, task};

async fn call(cluster: &Cluster, body: Value) -> Response {
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    cluster.node.handle_http(request).await
}

async fn call_json(cluster: &Cluster, body: Value) -> Value {
    let response = call(cluster, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&response.into_body().into_bytes().await).unwrap()
}

/// GET_HEALTH, GET_VERSION, GET_MASTER, GET_FLAGS and GET_METRICS answer with their
/// response types.
#[actix_rt::test]
async fn simple_queries() {
    let cluster = Cluster::start(|_| {});
    assert_eq!(
        call_json(&cluster, json!({"type": "GET_HEALTH"})).await["get_health"]["healthy"],
        true
    );
    let version = call_json(&cluster, json!({"type": "GET_VERSION"})).await;
    assert_eq!(version["type"], "GET_VERSION");
    assert_eq!(version["get_version"]["version_info"]["version"], "1.11.0");
    let master = call_json(&cluster, json!({"type": "GET_MASTER"})).await;
    assert_eq!(master["get_master"]["master_info"]["id"], "c0ffee00-0000-4000-8000-000000000001");
    assert_eq!(call_json(&cluster, json!({"type": "GET_FLAGS"})).await["type"], "GET_FLAGS");
    let metrics = call_json(&cluster, json!({"type": "GET_METRICS", "get_metrics": {}})).await;
    assert!(
        metrics["get_metrics"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "master/elected")
    );
}

/// GET_STATE/GET_AGENTS/GET_FRAMEWORKS/GET_TASKS/GET_EXECUTORS/GET_ROLES reflect a
/// running cluster; protobuf is served when asked for.
#[actix_rt::test]
async fn state_queries() {
    let cluster = Cluster::start(|_| {});
    let (_agent, scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    let state = call_json(&cluster, json!({"type": "GET_STATE"})).await;
    let state = &state["get_state"];
    assert_eq!(state["get_agents"]["agents"][0]["agent_info"]["hostname"], "host-10.0.1.1");
    assert_eq!(state["get_frameworks"]["frameworks"][0]["framework_info"]["name"], "fw");
    assert_eq!(state["get_tasks"]["tasks"][0]["task_id"]["value"], "t1");
    assert_eq!(state["get_tasks"]["tasks"][0]["state"], "TASK_STAGING");
    let roles = call_json(&cluster, json!({"type": "GET_ROLES"})).await;
    assert_eq!(roles["get_roles"]["roles"][0]["name"], "*");

    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .header("accept", "application/x-protobuf")
        .body(Bytes::from(json!({"type": "GET_AGENTS"}).to_string()))
        .unwrap();
    let response = cluster.node.handle_http(request).await;
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let decoded = v1::master::Response::decode(response.into_body().into_bytes().await).unwrap();
    assert_eq!(decoded.get_agents.unwrap().agents.len(), 1);

    // GET_STATE in protobuf is written by hand and streamed: it decodes to the state.
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .header("accept", "application/x-protobuf")
        .body(Bytes::from(json!({"type": "GET_STATE"}).to_string()))
        .unwrap();
    let response = cluster.node.handle_http(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let decoded = v1::master::Response::decode(response.into_body().into_bytes().await).unwrap();
    assert_eq!(decoded.r#type(), v1::master::response::Type::GetState);
    let state = decoded.get_state.unwrap();
    assert_eq!(state.get_agents.unwrap().agents.len(), 1);
    assert_eq!(state.get_frameworks.unwrap().frameworks[0].framework_info.name, "fw");
    let tasks = state.get_tasks.unwrap().tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].task_id.value, "t1");
}

/// SUBSCRIBE streams SUBSCRIBED with the state, then TASK_ADDED and TASK_UPDATED as the
/// master sees them; TEARDOWN removes a framework (FRAMEWORK_REMOVED).
#[actix_rt::test]
async fn subscribe_streams_events() {
    let cluster = Cluster::start(|_| {});
    let (agent, scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    let mut stream = call(&cluster, json!({"type": "SUBSCRIBE"})).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut buffer = Vec::new();
    let mut events = Vec::new();
    let read = |buffer: &mut Vec<u8>, events: &mut Vec<Value>| {
        while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let length: usize = std::str::from_utf8(&buffer[..newline]).unwrap().parse().unwrap();
            if buffer.len() < newline + 1 + length {
                break;
            }
            events
                .push(serde_json::from_slice(&buffer[newline + 1..newline + 1 + length]).unwrap());
            buffer.drain(..newline + 1 + length);
        }
    };
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    agent.update(
        scheduler.id.as_ref().unwrap(),
        "t1",
        mesos_proto::mesos::TaskState::TaskRunning,
        b"u",
    );
    cluster.settle().await;
    let framework_id = scheduler.id.clone().unwrap().value;
    assert_eq!(
        call(
            &cluster,
            json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": framework_id}}})
        )
        .await
        .status(),
        StatusCode::OK
    );
    cluster.settle().await;
    while events.len() < 5 {
        let chunk = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            stream.body_mut().next_chunk(),
        )
        .await
        .unwrap()
        .unwrap();
        buffer.extend_from_slice(&chunk);
        read(&mut buffer, &mut events);
    }
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types[..4],
        ["SUBSCRIBED", "TASK_ADDED", "TASK_UPDATED", "TASK_UPDATED"],
        "{types:?}"
    );
    assert!(types.contains(&"FRAMEWORK_REMOVED"), "{types:?}");
    assert_eq!(
        events[0]["subscribed"]["get_state"]["get_agents"]["agents"].as_array().unwrap().len(),
        1
    );
    assert_eq!(events[2]["task_updated"]["state"], "TASK_RUNNING");
}

/// SET_LOGGING_LEVEL raises the level GET_LOGGING_LEVEL reports until `duration` has
/// passed on the master's clock; `/logging/toggle` does the same. Mesos: master/http.cpp
/// `setLoggingLevel`, libprocess logging.cpp `Logging::set_level`.
#[actix_rt::test]
async fn logging_level_is_set_and_reverts() {
    let cluster = Cluster::start(|_| {});
    async fn level(cluster: &Cluster) -> u64 {
        let answer = call_json(cluster, json!({"type": "GET_LOGGING_LEVEL"})).await;
        answer["get_logging_level"]["level"].as_u64().unwrap()
    }
    assert_eq!(level(&cluster).await, 0);
    let set = json!({"type": "SET_LOGGING_LEVEL",
        "set_logging_level": {"level": 1, "duration": {"nanoseconds": 30_000_000_000u64}}});
    assert_eq!(call(&cluster, set).await.status(), StatusCode::OK);
    assert_eq!(level(&cluster).await, 1);
    cluster.advance(std::time::Duration::from_secs(29)).await;
    assert_eq!(level(&cluster).await, 1);
    cluster.advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(level(&cluster).await, 0);
    let toggle = cluster.node.request(Method::GET, "/logging/toggle?level=2&duration=5secs", "");
    assert_eq!(toggle.await.status(), StatusCode::OK);
    assert_eq!(level(&cluster).await, 2);
    cluster.advance(std::time::Duration::from_secs(5)).await;
    assert_eq!(level(&cluster).await, 0);
}

/// Bad requests: GET, no content type, malformed bodies, unsupported calls.
#[actix_rt::test]
async fn bad_operator_requests() {
    let cluster = Cluster::start(|_| {});
    assert_eq!(
        cluster.node.request(Method::GET, "/api/v1", "").await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let no_type = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .body(Bytes::from("{}"))
        .unwrap();
    assert_eq!(cluster.node.handle_http(no_type).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(call(&cluster, json!({"type": "NOPE"})).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        call(&cluster, json!({"type": "GET_OPERATIONS"})).await.status(),
        StatusCode::OK,
        "operation feedback is served (see operation_feedback.rs)"
    );
    let teardown = call(
        &cluster,
        json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": "nope"}}}),
    )
    .await;
    assert_eq!(teardown.status(), StatusCode::BAD_REQUEST);
}

/// `GET /` serves the web UI page (which loads its script from the binary); other
/// unknown paths stay 404s.
#[actix_rt::test]
async fn web_ui() {
    let cluster = Cluster::start(|_| {});
    let page = cluster.node.request(Method::GET, "/", "").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let body = String::from_utf8(page.into_body().into_bytes().await.to_vec()).unwrap();
    assert!(body.contains("/master/webui/app.js"));
    assert_eq!(
        cluster.node.request(Method::GET, "/master/nothing-here", "").await.status(),
        StatusCode::NOT_FOUND
    );
}
