//! The v1 scheduler HTTP API (ports of Mesos's `SchedulerHttpApiTest`).

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use mesos_proto::mesos::{internal, v1};
use prost::Message;
use serde_json::{Value, json};

use super::support::{AgentMsg, Cluster};

async fn post(cluster: &Cluster, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response {
    let mut request = http::Request::builder().method(Method::POST).uri("/api/v1/scheduler");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    cluster.node.handle_http(request.body(body.into()).unwrap()).await
}

fn subscribe_json(name: &str) -> String {
    json!({
        "type": "SUBSCRIBE",
        "subscribe": { "framework_info": { "user": "test", "name": name } }
    })
    .to_string()
}

/// Reads one RecordIO record from a streamed response (waits for the chunks).
async fn next_record(response: &mut Response) -> Vec<u8> {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        if let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let length: usize = std::str::from_utf8(&buffer[..newline]).unwrap().parse().unwrap();
            if buffer.len() >= newline + 1 + length {
                return buffer[newline + 1..newline + 1 + length].to_vec();
            }
        }
        let chunk = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            response.body_mut().next_chunk(),
        )
        .await
        .expect("a record in time")
        .expect("stream still open");
        buffer.extend_from_slice(&chunk);
    }
}

/// Reads a streamed response to its end (what is left of it, events included); fails
/// if it does not end in time.
async fn read_to_end(response: &mut Response) {
    loop {
        let chunk = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            response.body_mut().next_chunk(),
        )
        .await
        .expect("the stream ends in time");
        if chunk.is_none() {
            return;
        }
    }
}

async fn next_json(response: &mut Response) -> Value {
    serde_json::from_slice(&next_record(response).await).unwrap()
}

/// `SchedulerHttpApiTest.Subscribe`: SUBSCRIBE answers 200 with a `Mesos-Stream-Id`
/// and a RecordIO stream whose first event is SUBSCRIBED (framework id, heartbeat
/// interval, master info); then OFFERS arrive on the stream.
#[actix_rt::test]
async fn scheduler_http_api_test_subscribe() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let mut response =
        post(&cluster, &[("content-type", "application/json")], subscribe_json("http-fw")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("mesos-stream-id"));
    let subscribed = next_json(&mut response).await;
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    assert!(subscribed["subscribed"]["framework_id"]["value"].as_str().unwrap().ends_with("-0000"));
    assert!(subscribed["subscribed"]["master_info"]["id"].is_string());
    cluster.settle().await;
    let offers = next_json(&mut response).await;
    assert_eq!(offers["type"], "OFFERS");
    assert_eq!(offers["offers"]["offers"][0]["agent_id"]["value"], agent.id.clone().unwrap().value);
}

/// A protobuf subscriber (Accept: application/x-protobuf) gets protobuf records.
#[actix_rt::test]
async fn subscribe_with_protobuf() {
    let cluster = Cluster::start(|_| {});
    let call = v1::scheduler::Call {
        r#type: Some(v1::scheduler::call::Type::Subscribe as i32),
        subscribe: Some(v1::scheduler::call::Subscribe {
            framework_info: v1::FrameworkInfo {
                user: "u".into(),
                name: "pb".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let headers =
        [("content-type", "application/x-protobuf"), ("accept", "application/x-protobuf")];
    let mut response = post(&cluster, &headers, call.encode_to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let event =
        v1::scheduler::Event::decode(Bytes::from(next_record(&mut response).await)).unwrap();
    assert_eq!(event.r#type(), v1::scheduler::event::Type::Subscribed);
}

/// `SchedulerHttpApiTest.SubscribeWithStreamId`: a SUBSCRIBE carrying a stream id is a 400.
#[actix_rt::test]
async fn scheduler_http_api_test_subscribe_with_stream_id() {
    let cluster = Cluster::start(|_| {});
    let response = post(
        &cluster,
        &[("content-type", "application/json"), ("mesos-stream-id", "abc")],
        subscribe_json("x"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// `SchedulerHttpApiTest.TeardownWrongStreamId`: a call with another stream's id is a
/// 400 and the framework stays; with the right id TEARDOWN answers 202, removes it and
/// ends its subscription stream (Mesos: `Framework::disconnect` closes the pipe).
#[actix_rt::test]
async fn scheduler_http_api_test_teardown_wrong_stream_id() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let mut response =
        post(&cluster, &[("content-type", "application/json")], subscribe_json("fw")).await;
    let stream_id = response.headers()["mesos-stream-id"].to_str().unwrap().to_string();
    let subscribed = next_json(&mut response).await;
    let framework_id =
        subscribed["subscribed"]["framework_id"]["value"].as_str().unwrap().to_string();
    let teardown =
        json!({ "framework_id": { "value": framework_id }, "type": "TEARDOWN" }).to_string();
    let wrong = post(
        &cluster,
        &[("content-type", "application/json"), ("mesos-stream-id", "not-it")],
        teardown.clone(),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let missing = post(&cluster, &[("content-type", "application/json")], teardown.clone()).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(cluster.inspect(|c| c.frameworks().count()).await, 1);
    let right = post(
        &cluster,
        &[("content-type", "application/json"), ("mesos-stream-id", &stream_id)],
        teardown,
    )
    .await;
    assert_eq!(right.status(), StatusCode::ACCEPTED);
    cluster.settle().await;
    assert_eq!(cluster.inspect(|c| c.frameworks().count()).await, 0);
    read_to_end(&mut response).await;
}

/// `SchedulerHttpApiTest.NoContentType`, `.NotAcceptable`, `.GetRequest` and malformed
/// bodies: 400, 406, 405, 415 and 400 with explanations; nothing changes.
#[actix_rt::test]
async fn scheduler_http_api_test_bad_requests() {
    let cluster = Cluster::start(|_| {});
    assert_eq!(post(&cluster, &[], subscribe_json("x")).await.status(), StatusCode::BAD_REQUEST);
    let not_acceptable = post(
        &cluster,
        &[("content-type", "application/json"), ("accept", "foo/bar")],
        subscribe_json("x"),
    )
    .await;
    assert_eq!(not_acceptable.status(), StatusCode::NOT_ACCEPTABLE);
    let get = cluster.node.request(Method::GET, "/api/v1/scheduler", "").await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let unsupported = post(&cluster, &[("content-type", "text/plain")], "hi").await;
    assert_eq!(unsupported.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let malformed = post(&cluster, &[("content-type", "application/json")], "{not json").await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let no_type = post(&cluster, &[("content-type", "application/json")], "{}").await;
    assert_eq!(no_type.status(), StatusCode::BAD_REQUEST);
    let garbage =
        post(&cluster, &[("content-type", "application/x-protobuf")], vec![0xff, 0xff, 0xff]).await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(cluster.inspect(|c| c.frameworks().count()).await, 0);
}

/// An HTTP framework launches through ACCEPT, receives UPDATE with the uuid, and its
/// ACKNOWLEDGE reaches the agent: the same paths as libprocess frameworks.
#[actix_rt::test]
async fn http_framework_launches_and_acknowledges() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    let agent_id = agent.register(&cluster).await;
    let mut response =
        post(&cluster, &[("content-type", "application/json")], subscribe_json("fw")).await;
    let stream_id = response.headers()["mesos-stream-id"].to_str().unwrap().to_string();
    let headers = [("content-type", "application/json"), ("mesos-stream-id", stream_id.as_str())];
    let framework_id = next_json(&mut response).await["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.settle().await;
    let offers = next_json(&mut response).await;
    let offer = &offers["offers"]["offers"][0];
    let accept = json!({
        "framework_id": { "value": framework_id },
        "type": "ACCEPT",
        "accept": {
            "offer_ids": [offer["id"]],
            "operations": [{ "type": "LAUNCH", "launch": { "task_infos": [{
                "name": "t", "task_id": { "value": "t1" }, "agent_id": offer["agent_id"],
                "resources": [
                    { "name": "cpus", "type": "SCALAR", "scalar": { "value": 1 } },
                    { "name": "mem", "type": "SCALAR", "scalar": { "value": 128 } }
                ],
                "command": { "value": "true" }
            }] } }]
        }
    });
    assert_eq!(post(&cluster, &headers, accept.to_string()).await.status(), StatusCode::ACCEPTED);
    cluster.settle().await;
    assert!(
        agent
            .drain()
            .iter()
            .any(|m| matches!(m, AgentMsg::RunTask(r) if r.task.task_id.value == "t1"))
    );
    let fw = mesos_proto::mesos::FrameworkId { value: framework_id.clone() };
    agent.update(&fw, "t1", mesos_proto::mesos::TaskState::TaskRunning, b"0123456789abcdef");
    cluster.settle().await;
    let update = next_json(&mut response).await;
    assert_eq!(update["type"], "UPDATE");
    assert_eq!(update["update"]["status"]["state"], "TASK_RUNNING");
    let uuid = update["update"]["status"]["uuid"].clone();
    let ack = json!({
        "framework_id": { "value": framework_id },
        "type": "ACKNOWLEDGE",
        "acknowledge": { "agent_id": { "value": agent_id.value }, "task_id": { "value": "t1" }, "uuid": uuid }
    });
    assert_eq!(post(&cluster, &headers, ack.to_string()).await.status(), StatusCode::ACCEPTED);
    cluster.settle().await;
    let acks: Vec<internal::StatusUpdateAcknowledgementMessage> = agent
        .drain()
        .into_iter()
        .filter_map(|m| if let AgentMsg::Ack(a) = m { Some(a) } else { None })
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].uuid, b"0123456789abcdef");
}

/// Dropping the stream is a disconnection: the framework goes inactive (and would be
/// removed after its failover timeout), exactly like a broken libprocess link.
#[actix_rt::test]
async fn closing_the_stream_disconnects_the_framework() {
    let cluster = Cluster::start(|_| {});
    let mut response =
        post(&cluster, &[("content-type", "application/json")], subscribe_json("fw")).await;
    next_json(&mut response).await;
    drop(response);
    cluster.settle().await;
    let active = cluster.inspect(|c| c.frameworks().map(|f| f.active()).collect::<Vec<_>>()).await;
    assert_eq!(active, vec![false]);
}

/// HEARTBEAT events arrive every 15 s of (paused) clock time.
#[actix_rt::test]
async fn heartbeats() {
    let cluster = Cluster::start(|_| {});
    let mut response =
        post(&cluster, &[("content-type", "application/json")], subscribe_json("fw")).await;
    next_json(&mut response).await;
    cluster.advance(std::time::Duration::from_secs(15)).await;
    assert_eq!(next_json(&mut response).await["type"], "HEARTBEAT");
}
