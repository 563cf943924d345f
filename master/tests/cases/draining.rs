//! Operator calls on one agent: MARK_AGENT_GONE, DEACTIVATE_AGENT, REACTIVATE_AGENT and
//! DRAIN_AGENT, on the simulated network with the paused clock. Ports of the scenarios
//! of Mesos's `MasterDrainingTest` (src/tests/master_draining_tests.cpp) and of
//! `MasterTest`/`PartitionTest` cases about marking agents gone.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use mesos_proto::mesos::{self, internal, scheduler};
use serde_json::{Value, json};

use super::support::{
    AgentMsg, Cluster, FakeAgent, FakeScheduler, SchedMsg, agent_framework_offer, framework_info,
    task,
};

async fn call(cluster: &Cluster, body: Value) -> Response {
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    cluster.node.handle_http(request).await
}

fn on_agent(kind: &str, agent: &FakeAgent) -> Value {
    let field = kind.to_lowercase();
    let id = agent.id.as_ref().map(|id| id.value.clone()).unwrap_or_default();
    json!({"type": kind, field: {"agent_id": {"value": id}}})
}

/// Registers an agent that says it can drain (Mesos `AGENT_DRAINING`).
async fn draining_agent(cluster: &Cluster, resources: &str) -> FakeAgent {
    let mut agent = cluster.agent(resources);
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        agent_capabilities: vec![mesos::slave_info::Capability {
            r#type: Some(mesos::slave_info::capability::Type::AgentDraining as i32),
        }],
        ..Default::default()
    });
    cluster.settle().await;
    agent.id = agent.drain().into_iter().find_map(|m| match m {
        AgentMsg::Registered(r) => Some(r.slave_id),
        _ => None,
    });
    assert!(agent.id.is_some(), "registered");
    agent
}

fn partition_aware(name: &str) -> mesos::FrameworkInfo {
    let mut info = framework_info(name);
    info.capabilities.push(mesos::framework_info::Capability {
        r#type: Some(mesos::framework_info::capability::Type::PartitionAware as i32),
    });
    info
}

fn acknowledge(scheduler: &FakeScheduler, agent: &FakeAgent, task_id: &str, uuid: &[u8]) {
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Acknowledge as i32),
        acknowledge: Some(scheduler::call::Acknowledge {
            slave_id: agent.id.clone().unwrap(),
            task_id: mesos::TaskId { value: task_id.into() },
            uuid: uuid.to_vec(),
        }),
        ..Default::default()
    });
}

/// `MasterTest.MarkAgentGone` (with `PartitionTest` semantics): a partition-aware
/// framework's task becomes TASK_GONE_BY_OPERATOR, the agent is told to shut down and is
/// refused (shut down again) when it re-registers; marking it gone twice is fine; an
/// unknown agent is 404.
#[actix_rt::test]
async fn mark_agent_gone() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, partition_aware("pa")).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    scheduler.drain();
    agent.drain();

    let response = call(&cluster, on_agent("MARK_AGENT_GONE", &agent)).await;
    assert_eq!(response.status(), StatusCode::OK);
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].state(), mesos::TaskState::TaskGoneByOperator);
    assert_eq!(updates[0].reason(), mesos::task_status::Reason::SlaveRemovedByOperator);
    assert!(agent.drain().iter().any(|m| matches!(m, AgentMsg::Shutdown(_))));
    let agent_id = agent.id.clone().unwrap();
    let id = agent_id.clone();
    assert_eq!(
        cluster.inspect(move |core| (core.agents().count(), core.is_gone(&id.into()))).await,
        (0, true)
    );

    // The agent comes back: it is refused and shut down again.
    agent.send(internal::ReregisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    let back = agent.drain();
    assert!(back.iter().any(|m| matches!(m, AgentMsg::Shutdown(_))), "{back:?}");
    assert!(!back.iter().any(|m| matches!(m, AgentMsg::Reregistered(_))));

    assert_eq!(call(&cluster, on_agent("MARK_AGENT_GONE", &agent)).await.status(), StatusCode::OK);
    let unknown =
        json!({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": "nope"}}});
    assert_eq!(call(&cluster, unknown).await.status(), StatusCode::NOT_FOUND);
}

/// DEACTIVATE_AGENT: the agent's offers are rescinded and no more come, even after the
/// allocator runs again; REACTIVATE_AGENT brings them back; reactivating an active agent
/// and deactivating an unknown one are 400.
#[actix_rt::test]
async fn deactivate_and_reactivate_agent() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    assert_eq!(
        call(&cluster, on_agent("REACTIVATE_AGENT", &agent)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(call(&cluster, on_agent("DEACTIVATE_AGENT", &agent)).await.status(), StatusCode::OK);
    cluster.settle().await;
    let rescinded = scheduler.drain();
    assert!(
        rescinded.iter().any(|m| matches!(m, SchedMsg::Rescind(r) if r.offer_id == offer.id)),
        "{rescinded:?}"
    );
    cluster.advance(Duration::from_secs(10)).await;
    assert!(scheduler.offers().is_empty(), "no offers from a deactivated agent");

    assert_eq!(call(&cluster, on_agent("REACTIVATE_AGENT", &agent)).await.status(), StatusCode::OK);
    cluster.advance(Duration::from_secs(2)).await;
    assert_eq!(scheduler.offers().len(), 1, "offers again once reactivated");
    let unknown =
        json!({"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": "nope"}}});
    assert_eq!(call(&cluster, unknown).await.status(), StatusCode::BAD_REQUEST);
}

/// `MasterDrainingTest.DrainAgent`: the agent gets DrainSlaveMessage with the config and
/// no more offers; it stays DRAINING (and may not be reactivated) while it has a task;
/// once the task's terminal update is acknowledged it is DRAINED, and then reactivation
/// brings its offers back.
#[actix_rt::test]
async fn drain_agent() {
    let cluster = Cluster::start(|_| {});
    let mut agent = draining_agent(&cluster, "cpus:2;mem:1024").await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, framework_info("fw")).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    agent.drain();
    scheduler.drain();

    let mut drain = on_agent("DRAIN_AGENT", &agent);
    drain["drain_agent"]["max_grace_period"] = json!({"seconds": 10});
    let response = call(&cluster, drain).await;
    let status = response.status();
    let body = response.into_body().into_bytes().await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    cluster.settle().await;
    let received = agent.drain();
    let config = received
        .iter()
        .find_map(|m| if let AgentMsg::Drain(d) = m { Some(d.config) } else { None })
        .expect("DrainSlaveMessage");
    assert_eq!(config.max_grace_period.map(|d| d.nanoseconds), Some(10_000_000_000));
    let id = agent.id.clone().unwrap();
    let state = move |core: &mesos_master::core::MasterCore| {
        core.drain_info(&id.clone().into()).map(|d| d.state())
    };
    assert_eq!(cluster.inspect(state.clone()).await, Some(mesos::DrainState::Draining));
    assert_eq!(
        call(&cluster, on_agent("REACTIVATE_AGENT", &agent)).await.status(),
        StatusCode::BAD_REQUEST,
        "still DRAINING"
    );
    cluster.advance(Duration::from_secs(10)).await;
    assert!(scheduler.offers().is_empty(), "no offers from a draining agent");

    let framework_id = scheduler.id.clone().unwrap();
    agent.update(&framework_id, "t1", mesos::TaskState::TaskKilled, b"uuid-1");
    cluster.settle().await;
    acknowledge(&scheduler, &agent, "t1", b"uuid-1");
    cluster.settle().await;
    assert_eq!(cluster.inspect(state.clone()).await, Some(mesos::DrainState::Drained));

    assert_eq!(call(&cluster, on_agent("REACTIVATE_AGENT", &agent)).await.status(), StatusCode::OK);
    assert_eq!(cluster.inspect(state).await, None);
    cluster.advance(Duration::from_secs(2)).await;
    assert!(!scheduler.offers().is_empty(), "offers again once reactivated");
}

async fn get_json(cluster: &Cluster, path: &str) -> Value {
    let request = http::Request::builder().uri(path).body(Bytes::new()).unwrap();
    let response = cluster.node.handle_http(request).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    serde_json::from_slice(&response.into_body().into_bytes().await).unwrap()
}

/// `MasterDrainingTest.DrainAgent`'s checks of the views: GET_AGENTS, `/master/state`
/// and `/master/slaves` show a draining agent `deactivated` with its `drain_info`
/// (state DRAINING and the config) and when its drain started
/// (`estimated_drain_start_time`, `estimated_drain_start_time_seconds`); a merely
/// deactivated agent has neither.
#[actix_rt::test]
async fn views_show_deactivated_and_drain_info() {
    let cluster = Cluster::start(|_| {});
    let agent = draining_agent(&cluster, "cpus:2;mem:1024").await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, framework_info("fw")).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    let mut other = cluster.agent("cpus:1;mem:128");
    other.register(&cluster).await;
    let agents = call_json(&cluster, json!({"type": "GET_AGENTS"})).await;
    let listed = &agents["get_agents"]["agents"];
    assert_eq!(listed[0]["deactivated"], false);
    assert!(listed[0]["drain_info"].is_null());

    let mut drain = on_agent("DRAIN_AGENT", &agent);
    drain["drain_agent"]["max_grace_period"] = json!({"seconds": 10});
    assert_eq!(call(&cluster, drain).await.status(), StatusCode::OK);
    assert_eq!(call(&cluster, on_agent("DEACTIVATE_AGENT", &other)).await.status(), StatusCode::OK);
    cluster.settle().await;

    let id = agent.id.clone().unwrap().value;
    let agents = call_json(&cluster, json!({"type": "GET_AGENTS"})).await;
    let by_id = |list: &Value, field: &str| -> Value {
        let list = list.as_array().expect("a list of agents");
        list.iter().find(|a| a[field] == json!(id)).cloned().expect("the drained agent")
    };
    let v1_agents = agents["get_agents"]["agents"].as_array().unwrap().clone();
    let drained = v1_agents.iter().find(|a| a["agent_info"]["id"]["value"] == json!(id)).unwrap();
    assert_eq!(drained["deactivated"], true);
    assert_eq!(drained["drain_info"]["state"], "DRAINING");
    assert_eq!(
        drained["drain_info"]["config"]["max_grace_period"]["nanoseconds"],
        10_000_000_000_i64
    );
    // Mesos's `MasterDrainingTest`s check `estimated_drain_start_time` > 0.
    let start = drained["estimated_drain_start_time"]["nanoseconds"].as_i64().unwrap_or(0);
    assert!(start > 0, "{drained}");
    let plain = v1_agents.iter().find(|a| a["agent_info"]["id"]["value"] != json!(id)).unwrap();
    assert_eq!(plain["deactivated"], true);
    assert!(plain["drain_info"].is_null());
    assert!(plain["estimated_drain_start_time"].is_null());

    for (path, list) in [("/master/state", "slaves"), ("/master/slaves", "slaves")] {
        let body = get_json(&cluster, path).await;
        let slave = by_id(&body[list], "id");
        assert_eq!(slave["deactivated"], true, "{path}");
        assert_eq!(slave["drain_info"]["state"], "DRAINING", "{path}");
        assert_eq!(
            slave["drain_info"]["config"]["max_grace_period"]["nanoseconds"], 10_000_000_000_i64,
            "{path}"
        );
        let seconds = slave["estimated_drain_start_time_seconds"].as_f64().unwrap_or(0.0);
        assert!((seconds * 1e9 - start as f64).abs() < 1e3, "{path}: {seconds} vs {start}");
    }
}

/// `MasterDrainingTest.DrainAgentMarkGone`: an idle agent drained with `mark_gone` is
/// marked gone at once and shut down; an agent that cannot drain is refused (400).
#[actix_rt::test]
async fn drain_agent_mark_gone() {
    let cluster = Cluster::start(|_| {});
    let mut agent = draining_agent(&cluster, "cpus:2;mem:1024").await;
    let mut drain = on_agent("DRAIN_AGENT", &agent);
    drain["drain_agent"]["mark_gone"] = json!(true);
    assert_eq!(call(&cluster, drain).await.status(), StatusCode::OK);
    cluster.settle().await;
    let received = agent.drain();
    assert!(received.iter().any(|m| matches!(m, AgentMsg::Shutdown(_))), "{received:?}");
    let id = agent.id.clone().unwrap();
    assert!(cluster.inspect(move |core| core.is_gone(&id.into())).await);

    let mut plain = cluster.agent("cpus:1;mem:128");
    plain.register(&cluster).await;
    assert_eq!(
        call(&cluster, on_agent("DRAIN_AGENT", &plain)).await.status(),
        StatusCode::BAD_REQUEST,
        "not capable of draining"
    );
}

fn machine(agent: &FakeAgent) -> Value {
    let ip = agent.pid().address().ip().to_string();
    json!({"hostname": format!("host-{ip}"), "ip": ip})
}

fn schedule(machines: Vec<Value>) -> Value {
    let windows: Vec<Value> = machines
        .into_iter()
        .map(|m| json!({"machine_ids": [m], "unavailability": {"start": {"nanoseconds": 1}}}))
        .collect();
    json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
           "update_maintenance_schedule": {"schedule": {"windows": windows}}})
}

async fn call_json(cluster: &Cluster, body: Value) -> Value {
    let response = call(cluster, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&response.into_body().into_bytes().await).unwrap()
}

/// `MasterMaintenanceTest.UpdateSchedule`, `.BringDownMachines`, `.BringUpMachines`:
/// a scheduled machine is DRAINING; invalid schedules and transitions are 400; START
/// brings it DOWN (its agent shut down and removed, and refused when it comes back),
/// and a DOWN machine cannot leave the schedule; STOP brings it UP (out of the schedule)
/// and its agent registers again.
#[actix_rt::test]
async fn maintenance_schedule_down_and_up() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let m = machine(&agent);
    let empty_window = json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
        "update_maintenance_schedule": {"schedule": {"windows": [{"machine_ids": [],
            "unavailability": {"start": {"nanoseconds": 1}}}]}}});
    assert_eq!(call(&cluster, empty_window).await.status(), StatusCode::BAD_REQUEST);
    let twice = schedule(vec![m.clone(), m.clone()]);
    assert_eq!(call(&cluster, twice).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(call(&cluster, schedule(vec![m.clone()])).await.status(), StatusCode::OK);

    let got = call_json(&cluster, json!({"type": "GET_MAINTENANCE_SCHEDULE"})).await;
    assert_eq!(got["get_maintenance_schedule"]["schedule"]["windows"][0]["machine_ids"][0], m);
    let status = call_json(&cluster, json!({"type": "GET_MAINTENANCE_STATUS"})).await;
    assert_eq!(status["get_maintenance_status"]["status"]["draining_machines"][0]["id"], m);

    let up = json!({"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": [m.clone()]}});
    assert_eq!(call(&cluster, up.clone()).await.status(), StatusCode::BAD_REQUEST, "not DOWN");
    let down = json!({"type": "START_MAINTENANCE", "start_maintenance": {"machines": [m.clone()]}});
    agent.drain();
    assert_eq!(call(&cluster, down).await.status(), StatusCode::OK);
    cluster.settle().await;
    assert!(agent.drain().iter().any(|m| matches!(m, AgentMsg::Shutdown(_))));
    assert_eq!(cluster.inspect(|core| core.agents().count()).await, 0);
    let status = call_json(&cluster, json!({"type": "GET_MAINTENANCE_STATUS"})).await;
    assert_eq!(status["get_maintenance_status"]["status"]["down_machines"][0], m);
    assert_eq!(
        call(&cluster, schedule(vec![])).await.status(),
        StatusCode::BAD_REQUEST,
        "a DOWN machine cannot leave the schedule"
    );

    // The agent comes back while its machine is DOWN: refused.
    agent.id = None;
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    let back = agent.drain();
    assert!(back.iter().any(|m| matches!(m, AgentMsg::Shutdown(_))), "{back:?}");
    assert!(!back.iter().any(|m| matches!(m, AgentMsg::Registered(_))));

    assert_eq!(call(&cluster, up).await.status(), StatusCode::OK);
    let got = call_json(&cluster, json!({"type": "GET_MAINTENANCE_SCHEDULE"})).await;
    assert!(got["get_maintenance_schedule"]["schedule"]["windows"].is_null(), "{got}");
    agent.register(&cluster).await;
    assert_eq!(cluster.inspect(|core| core.agents().count()).await, 1);
}

async fn endpoint(cluster: &Cluster, method: Method, path: &str, body: Value) -> Response {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Bytes::from(if body.is_null() { String::new() } else { body.to_string() }))
        .unwrap();
    cluster.node.handle_http(request).await
}

/// The v0 maintenance endpoints (`MasterMaintenanceTest` drives Mesos through them):
/// POST `/master/maintenance/schedule`, GET `/master/maintenance/status` and
/// `/master/maintenance/schedule`, POST `/master/machine/down` and `/master/machine/up`;
/// other methods are 405.
#[actix_rt::test]
async fn maintenance_endpoints() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let m = machine(&agent);
    let schedule = json!({"windows": [{"machine_ids": [m.clone()],
        "unavailability": {"start": {"nanoseconds": 1}}}]});
    let post = endpoint(&cluster, Method::POST, "/master/maintenance/schedule", schedule).await;
    assert_eq!(post.status(), StatusCode::OK);
    let got = endpoint(&cluster, Method::GET, "/master/maintenance/schedule", Value::Null).await;
    let got: Value = serde_json::from_slice(&got.into_body().into_bytes().await).unwrap();
    assert_eq!(got["windows"][0]["machine_ids"][0], m);
    let down = endpoint(&cluster, Method::POST, "/master/machine/down", json!([m.clone()])).await;
    assert_eq!(down.status(), StatusCode::OK);
    let status = endpoint(&cluster, Method::GET, "/master/maintenance/status", Value::Null).await;
    let status: Value = serde_json::from_slice(&status.into_body().into_bytes().await).unwrap();
    assert_eq!(status["down_machines"][0], m);
    let up = endpoint(&cluster, Method::POST, "/master/machine/up", json!([m])).await;
    assert_eq!(up.status(), StatusCode::OK);
    let wrong = endpoint(&cluster, Method::GET, "/master/machine/up", Value::Null).await;
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// `MasterMaintenanceTest.PendingUnavailabilityTest` (the offer half): offers of an
/// agent on a scheduled machine carry the machine's unavailability.
#[actix_rt::test]
async fn offers_carry_unavailability() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let window = json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
        "update_maintenance_schedule": {"schedule": {"windows": [{
            "machine_ids": [machine(&agent)],
            "unavailability": {"start": {"nanoseconds": 7_000_000_000_i64},
                               "duration": {"nanoseconds": 3_600_000_000_000_i64}}}]}}});
    assert_eq!(call(&cluster, window).await.status(), StatusCode::OK);
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, framework_info("fw")).await;
    cluster.settle().await;
    let offers = scheduler.offers();
    let unavailability = offers[0].unavailability.expect("unavailability on the offer");
    assert_eq!(unavailability.start.nanoseconds, 7_000_000_000);
    assert_eq!(unavailability.duration.map(|d| d.nanoseconds), Some(3_600_000_000_000));
}
