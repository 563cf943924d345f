//! The v1 executor HTTP API and the agent operator API, on a simulated network with a
//! paused clock (ports of Mesos's `ExecutorHttpApiTest`). The test plays the HTTP
//! executor itself: the containerizer only records what it was asked to start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use libprocess::{Clock, Node, Pid, SimNetwork};
use mesos_agent::AgentError;
use mesos_agent::agent::{Agent, AgentConfig, EXECUTOR_HEARTBEAT_INTERVAL};
use mesos_agent::containerizer::{Containerizer, LaunchRequest, Signal, Termination};
use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::internal::{
    FrameworkToExecutorMessage, KillTaskMessage, RunTaskMessage, ShutdownExecutorMessage,
};
use mesos_proto::mesos::{self, CommandInfo, ExecutorInfo, ResourceStatistics, TaskState, v1};
use parking_lot::Mutex;
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
    within,
};

pub(super) const EXECUTOR: &str = "http-exec";
pub(super) const FRAMEWORK: &str = "FW-0001";

/// Records every launch (its environment); starts nothing.
#[derive(Clone, Default)]
pub(super) struct Recorder(pub(super) Arc<Mutex<Vec<BTreeMap<String, String>>>>);

impl Containerizer for Recorder {
    fn launch(&mut self, request: LaunchRequest) -> Result<Option<u32>, AgentError> {
        self.0.lock().push(request.env);
        Ok(Some(4242))
    }
    fn recover(&mut self, _container_id: &ContainerId, _os_pid: Option<u32>) -> bool {
        false
    }
    fn signal(&mut self, _container_id: &ContainerId, _signal: Signal) {}
    fn reap(&mut self) -> Vec<Termination> {
        Vec::new()
    }
    fn usage(&self, _container_id: &ContainerId) -> Option<ResourceStatistics> {
        None
    }
}

pub(super) struct Harness {
    node: Node,
    clock: Clock,
    events: UnboundedReceiver<MasterEvent>,
    master: Pid,
    agent: Pid,
    pub(super) launches: Recorder,
    _sim: SimNetwork,
    _dir: TempDir,
}

impl Harness {
    /// A registered agent (with a fake master) that was asked to run one task with a
    /// custom executor.
    pub(super) async fn start(name: &str) -> Harness {
        Harness::start_with(name, |_| {}).await
    }

    /// [`Harness::start`] with the agent's configuration changed by `configure` first.
    pub(super) async fn start_with(
        name: &str,
        configure: impl FnOnce(&mut AgentConfig),
    ) -> Harness {
        let dir = TempDir::new(&format!("exec-http-{name}"));
        let sim = SimNetwork::new();
        let clock = Clock::paused();
        let node = Node::builder("10.0.1.1:5051".parse().unwrap())
            .simulated(&sim)
            .clock(clock.clone())
            .start()
            .expect("node");
        let (master, events) = fake_master(&node, true);
        let mut config = AgentConfig::new(vec![master.pid().clone()], dir.0.join("work"));
        config.registration_backoff_factor = Duration::from_millis(10);
        configure(&mut config);
        let launches = Recorder::default();
        node.set_default_process("slave(1)");
        let agent = node
            .spawn("slave(1)", Agent::new(config, Box::new(launches.clone()), None))
            .expect("agent");
        let mut harness = Harness {
            master: master.pid().clone(),
            agent: agent.pid().clone(),
            node,
            clock,
            events,
            launches,
            _sim: sim,
            _dir: dir,
        };
        harness.advance(Duration::from_millis(100)).await;
        assert!(matches!(next_event(&mut harness.events).await, MasterEvent::Registered { .. }));
        harness.run_task("t1").await;
        harness
    }

    pub(super) async fn advance(&self, by: Duration) {
        self.clock.settle().await;
        self.clock.advance(by);
        self.clock.settle().await;
    }

    async fn run_task(&self, task_id: &str) {
        let mut task = command_task(task_id, "ignored");
        task.command = None;
        task.executor = Some(ExecutorInfo {
            executor_id: mesos::ExecutorId { value: EXECUTOR.into() },
            framework_id: Some(mesos::FrameworkId { value: FRAMEWORK.into() }),
            command: Some(CommandInfo {
                value: Some("./my-http-executor".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let message = RunTaskMessage {
            framework: framework(false),
            task,
            pid: Some("scheduler@10.0.2.1:8080".into()),
            ..Default::default()
        };
        self.send_from_master(message).await;
    }

    pub(super) async fn send_from_master<M: libprocess::ProtoMessage>(&self, message: M) {
        self.node.send(&self.master, &self.agent, message);
        self.clock.settle().await;
    }

    /// A GET of `path` with `headers`, answered by the agent's node.
    pub(super) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = http::Request::builder().method(Method::GET).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.node.handle_http(request.body(Bytes::new()).unwrap()).await;
        self.clock.settle().await;
        response
    }

    pub(super) async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        let mut request = http::Request::builder().method(Method::POST).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.node.handle_http(request.body(body.into()).unwrap()).await;
        self.clock.settle().await;
        response
    }

    async fn call(&self, call: Value) -> Response {
        self.post("/api/v1/executor", &[("content-type", "application/json")], call.to_string())
            .await
    }
}

pub(super) fn subscribe_call() -> Value {
    json!({
        "type": "SUBSCRIBE",
        "framework_id": {"value": FRAMEWORK},
        "executor_id": {"value": EXECUTOR},
        "subscribe": {"unacknowledged_tasks": [], "unacknowledged_updates": []}
    })
}

pub(super) fn update_call(task_id: &str, state: &str, uuid: &[u8; 16]) -> Value {
    use base64_like::encode;
    json!({
        "type": "UPDATE",
        "framework_id": {"value": FRAMEWORK},
        "executor_id": {"value": EXECUTOR},
        "update": {"status": {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_EXECUTOR",
                              "message": "from the test", "uuid": encode(uuid)}}
    })
}

/// Standard base64 (Mesos's JSON for `bytes`), enough for the tests.
mod base64_like {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// Reads one RecordIO record from a streamed response (waits for the chunks).
async fn next_record(response: &mut Response, buffer: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let length: usize = std::str::from_utf8(&buffer[..newline]).unwrap().parse().unwrap();
            if buffer.len() > newline + length {
                let record = buffer[newline + 1..newline + 1 + length].to_vec();
                buffer.drain(..newline + 1 + length);
                return record;
            }
        }
        let chunk = within("an event on the executor stream", response.body_mut().next_chunk())
            .await
            .expect("stream still open");
        buffer.extend_from_slice(&chunk);
    }
}

/// An open event stream and what was read of it but not yet parsed.
pub(super) struct Events(pub(super) Response, Vec<u8>);

impl Events {
    /// The stream of a response to SUBSCRIBE.
    pub(super) fn new(response: Response) -> Events {
        Events(response, Vec::new())
    }

    pub(super) async fn next(&mut self) -> Value {
        serde_json::from_slice(&next_record(&mut self.0, &mut self.1).await).expect("json event")
    }
}

async fn subscribe(h: &Harness) -> Events {
    let response = h.call(subscribe_call()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    Events(response, Vec::new())
}

/// `ExecutorHttpApiTest.Subscribe`: the executor is started with Mesos's environment;
/// SUBSCRIBE answers 200 with a stream whose first event is SUBSCRIBED (executor,
/// framework and agent info, container id), then LAUNCH of the queued task. UPDATE
/// reaches the master like a v0 update and is ACKNOWLEDGED on the stream; MESSAGE
/// reaches the master; KILL, framework messages and SHUTDOWN arrive as events.
#[actix_rt::test]
async fn executor_http_api_test_subscribe() {
    let mut h = Harness::start("subscribe").await;
    let env = h.launches.0.lock()[0].clone();
    for name in [
        "MESOS_FRAMEWORK_ID",
        "MESOS_EXECUTOR_ID",
        "MESOS_AGENT_ENDPOINT",
        "MESOS_SANDBOX",
        "MESOS_DIRECTORY",
        "MESOS_CHECKPOINT",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
    ] {
        assert!(env.contains_key(name), "{name} missing from {env:?}");
    }
    assert_eq!(env["MESOS_AGENT_ENDPOINT"], "10.0.1.1:5051");
    assert_eq!(env["MESOS_EXECUTOR_ID"], EXECUTOR);

    let mut events = subscribe(&h).await;
    let subscribed = events.next().await;
    assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
    assert_eq!(subscribed["subscribed"]["executor_info"]["executor_id"]["value"], EXECUTOR);
    assert_eq!(subscribed["subscribed"]["framework_info"]["id"]["value"], FRAMEWORK);
    assert_eq!(subscribed["subscribed"]["agent_info"]["id"]["value"], AGENT_ID);
    assert!(subscribed["subscribed"]["container_id"]["value"].is_string());
    let launch = events.next().await;
    assert_eq!(launch["type"], "LAUNCH");
    assert_eq!(launch["launch"]["task"]["task_id"]["value"], "t1");

    let uuid = [7u8; 16];
    assert_eq!(
        h.call(update_call("t1", "TASK_RUNNING", &uuid)).await.status(),
        StatusCode::ACCEPTED
    );
    let update = next_update(&mut h.events).await;
    assert_eq!(update.status.state(), TaskState::TaskRunning);
    assert_eq!(update.status.message.as_deref(), Some("from the test"));
    assert_eq!(update.uuid.as_deref(), Some(&uuid[..]));
    let acked = events.next().await;
    assert_eq!(acked["type"], "ACKNOWLEDGED");
    assert_eq!(acked["acknowledged"]["task_id"]["value"], "t1");
    assert_eq!(acked["acknowledged"]["uuid"], base64_like::encode(&uuid));

    let message = json!({"type": "MESSAGE", "framework_id": {"value": FRAMEWORK}, "executor_id": {"value": EXECUTOR},
                         "message": {"data": base64_like::encode(b"hi")}});
    assert_eq!(h.call(message).await.status(), StatusCode::ACCEPTED);
    loop {
        if let MasterEvent::FromExecutor(data) = next_event(&mut h.events).await {
            assert_eq!(data, b"hi");
            break;
        }
    }

    let framework_id = mesos::FrameworkId { value: FRAMEWORK.into() };
    let executor_id = mesos::ExecutorId { value: EXECUTOR.into() };
    let task_id = mesos::TaskId { value: "t1".into() };
    h.send_from_master(KillTaskMessage {
        framework_id: framework_id.clone(),
        task_id,
        kill_policy: None,
    })
    .await;
    let kill = events.next().await;
    assert_eq!(kill["type"], "KILL");
    assert_eq!(kill["kill"]["task_id"]["value"], "t1");
    let data = b"to the executor".to_vec();
    let message = FrameworkToExecutorMessage {
        slave_id: mesos::SlaveId { value: AGENT_ID.into() },
        framework_id: framework_id.clone(),
        executor_id: executor_id.clone(),
        data,
    };
    h.send_from_master(message).await;
    let message = events.next().await;
    assert_eq!(message["type"], "MESSAGE");
    assert_eq!(message["message"]["data"], base64_like::encode(b"to the executor"));
    h.send_from_master(ShutdownExecutorMessage {
        executor_id: Some(executor_id),
        framework_id: Some(framework_id),
    })
    .await;
    assert_eq!(events.next().await["type"], "SHUTDOWN");
    h.node.shutdown().await;
}

/// `ExecutorHttpApiTest.HeartbeatEvents`: a subscribed executor gets a HEARTBEAT every
/// 30 minutes.
#[actix_rt::test]
async fn executor_http_api_test_heartbeat_events() {
    let h = Harness::start("heartbeat").await;
    let mut events = subscribe(&h).await;
    assert_eq!(events.next().await["type"], "SUBSCRIBED");
    assert_eq!(events.next().await["type"], "LAUNCH");
    h.advance(EXECUTOR_HEARTBEAT_INTERVAL).await;
    assert_eq!(events.next().await["type"], "HEARTBEAT");
    h.advance(EXECUTOR_HEARTBEAT_INTERVAL).await;
    assert_eq!(events.next().await["type"], "HEARTBEAT");
    h.node.shutdown().await;
}

/// `ExecutorHttpApiTest.NoContentType` (400), and the other refusals of Mesos's
/// `ExecutorHttpApiTest`: `GetRequest` (405), `UnsupportedContentMediaType` (415),
/// `NotAcceptable` (406), `MessageFromUnknownFramework` (400), a call before SUBSCRIBE
/// (403), `StatusUpdateCallFailedValidation` (400: no uuid, TASK_STAGING).
#[actix_rt::test]
async fn executor_http_api_test_no_content_type_and_other_refusals() {
    let h = Harness::start("refusals").await;
    let body = subscribe_call().to_string();
    assert_eq!(
        h.post("/api/v1/executor", &[], body.clone()).await.status(),
        StatusCode::BAD_REQUEST
    );
    let get = h.node.request(Method::GET, "/api/v1/executor", Vec::new()).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let status =
        h.post("/api/v1/executor", &[("content-type", "text/plain")], body.clone()).await.status();
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let headers = [("content-type", "application/json"), ("accept", "foo/bar")];
    assert_eq!(
        h.post("/api/v1/executor", &headers, body.clone()).await.status(),
        StatusCode::NOT_ACCEPTABLE
    );
    let mut unknown = subscribe_call();
    unknown["framework_id"]["value"] = json!("nope");
    assert_eq!(h.call(unknown).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        h.call(update_call("t1", "TASK_RUNNING", &[1; 16])).await.status(),
        StatusCode::FORBIDDEN
    );

    let _events = subscribe(&h).await;
    let mut no_uuid = update_call("t1", "TASK_RUNNING", &[1; 16]);
    no_uuid["update"]["status"].as_object_mut().unwrap().remove("uuid");
    assert_eq!(h.call(no_uuid).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        h.call(update_call("t1", "TASK_STAGING", &[2; 16])).await.status(),
        StatusCode::BAD_REQUEST
    );
    h.node.shutdown().await;
}

/// A protobuf executor (`Content-Type` and `Accept` protobuf) gets protobuf records;
/// when its stream closes it is disconnected, and it can subscribe again (getting
/// SUBSCRIBED, and later tasks on the new stream).
#[actix_rt::test]
async fn protobuf_subscribe_and_resubscribe_after_disconnection() {
    let h = Harness::start("protobuf").await;
    let call = v1::executor::Call {
        r#type: Some(v1::executor::call::Type::Subscribe as i32),
        framework_id: v1::FrameworkId { value: FRAMEWORK.into() },
        executor_id: v1::ExecutorId { value: EXECUTOR.into() },
        subscribe: Some(Default::default()),
        ..Default::default()
    };
    let headers =
        [("content-type", "application/x-protobuf"), ("accept", "application/x-protobuf")];
    let mut response = h.post("/api/v1/executor", &headers, call.encode_to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let mut buffer = Vec::new();
    let event =
        v1::executor::Event::decode(Bytes::from(next_record(&mut response, &mut buffer).await))
            .unwrap();
    assert_eq!(event.r#type(), v1::executor::event::Type::Subscribed);
    drop(response);
    h.clock.settle().await;

    let mut events = subscribe(&h).await;
    assert_eq!(events.next().await["type"], "SUBSCRIBED");
    h.run_task("t2").await;
    let launch = events.next().await;
    assert_eq!(launch["type"], "LAUNCH");
    assert_eq!(launch["launch"]["task"]["task_id"]["value"], "t2");
    h.node.shutdown().await;
}

async fn operator(h: &Harness, call: &str) -> (StatusCode, Value) {
    let response = h
        .post("/api/v1", &[("content-type", "application/json")], json!({"type": call}).to_string())
        .await;
    let status = response.status();
    let body = response.into_body().into_bytes().await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The agent operator API: health, flags, version, metrics, state, containers,
/// frameworks, executors, tasks in JSON and protobuf; 501 for what we lack.
#[actix_rt::test]
async fn agent_operator_api() {
    let h = Harness::start("operator").await;
    assert_eq!(
        operator(&h, "GET_HEALTH").await.1,
        json!({"type": "GET_HEALTH", "get_health": {"healthy": true}})
    );
    let (_, version) = operator(&h, "GET_VERSION").await;
    assert_eq!(version["get_version"]["version_info"]["version"], "1.11.0");
    assert_eq!(operator(&h, "GET_FLAGS").await.1["type"], "GET_FLAGS");
    let (_, metrics) = operator(&h, "GET_METRICS").await;
    let metrics = metrics["get_metrics"]["metrics"].as_array().unwrap().clone();
    assert!(
        metrics.iter().any(|m| m["name"] == "slave/registered" && m["value"] == 1.0),
        "{metrics:?}"
    );
    let (_, state) = operator(&h, "GET_STATE").await;
    let state = &state["get_state"];
    assert_eq!(state["get_tasks"]["queued_tasks"][0]["task_id"]["value"], "t1");
    assert_eq!(
        state["get_executors"]["executors"][0]["executor_info"]["executor_id"]["value"],
        EXECUTOR
    );
    assert_eq!(
        state["get_frameworks"]["frameworks"][0]["framework_info"]["id"]["value"],
        FRAMEWORK
    );
    let (_, containers) = operator(&h, "GET_CONTAINERS").await;
    let container = &containers["get_containers"]["containers"][0];
    assert_eq!(container["executor_id"]["value"], EXECUTOR);
    assert_eq!(container["container_status"]["executor_pid"], 4242);
    assert_eq!(operator(&h, "GET_EXECUTORS").await.1["type"], "GET_EXECUTORS");
    assert_eq!(operator(&h, "GET_FRAMEWORKS").await.1["type"], "GET_FRAMEWORKS");
    assert_eq!(
        operator(&h, "GET_TASKS").await.1["get_tasks"]["queued_tasks"][0]["task_id"]["value"],
        "t1"
    );
    assert_eq!(operator(&h, "GET_LOGGING_LEVEL").await.1["get_logging_level"]["level"], 0);
    assert_eq!(operator(&h, "PRUNE_IMAGES").await.0, StatusCode::NOT_IMPLEMENTED);

    let call = v1::agent::Call {
        r#type: Some(v1::agent::call::Type::GetHealth as i32),
        ..Default::default()
    };
    let headers =
        [("content-type", "application/x-protobuf"), ("accept", "application/x-protobuf")];
    let response = h.post("/api/v1", &headers, call.encode_to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = v1::agent::Response::decode(response.into_body().into_bytes().await).unwrap();
    assert_eq!(answer.get_health.map(|h| h.healthy), Some(true));
    assert_eq!(h.post("/api/v1", &[], "{}").await.status(), StatusCode::BAD_REQUEST);
    h.node.shutdown().await;
}
