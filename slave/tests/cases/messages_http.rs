//! The agent's `/slave(1)/messages` (its node's message ring) and `/metrics`
//! (Prometheus text), served in-process by its node.

use std::net::SocketAddr;

use http::Method;
use libprocess::{Match, Node};
use mesos_agent::agent::{Agent, AgentConfig};
use mesos_agent::containerizer::PosixContainerizer;
use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};
use serde_json::{Value, json};

use super::support::{MasterEvent, TempDir, fake_master, next_event};

async fn get(node: &Node, path: &str) -> (u16, String) {
    let response = node.request(Method::GET, path, Vec::new()).await;
    let status = response.status().as_u16();
    let body = response.into_body().into_bytes().await;
    (status, String::from_utf8_lossy(&body).to_string())
}

async fn agent_node(dir: &TempDir) -> (Node, libprocess::ProcessRef<super::support::FakeMaster>) {
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut config = AgentConfig::new(vec![master.pid().clone()], dir.0.join("work"));
    config.registration_backoff_factor = std::time::Duration::from_millis(1);
    node.set_default_process("slave(1)");
    node.spawn("slave(1)", Agent::new(config, Box::new(PosixContainerizer::new()), None))
        .expect("agent");
    assert!(matches!(next_event(&mut events).await, MasterEvent::Registered { .. }));
    (node, master)
}

/// The first read arms the ring (the registration before it left no trace); a master's
/// ping and the agent's pong after it are listed, and the ping's body reads back as
/// Mesos JSON.
#[actix_rt::test]
async fn messages_endpoint_lists_and_decodes() {
    let dir = TempDir::new("messages");
    let (node, master) = agent_node(&dir).await;
    let (status, first) = get(&node, "/slave(1)/messages").await;
    assert_eq!(status, 200);
    let first: Value = serde_json::from_str(&first).expect("json");
    assert_eq!(first["messages"], json!([]), "nothing recorded before the first read");
    assert_eq!(first["node"], node.address().to_string());

    let agent = node.pid("slave(1)");
    let pong = node.hooks().expect::<PongSlaveMessage>(Match::any().from(&agent));
    node.send(master.pid(), &agent, PingSlaveMessage { connected: true });
    pong.await;
    let (_, page) =
        get(&node, &format!("/slave(1)/messages?after={}&limit=10", first["next"])).await;
    let page: Value = serde_json::from_str(&page).expect("json");
    let names: Vec<_> =
        page["messages"].as_array().expect("a list").iter().map(|m| m["name"].clone()).collect();
    assert_eq!(
        names,
        vec![json!("mesos.internal.PingSlaveMessage"), json!("mesos.internal.PongSlaveMessage")]
    );
    let ping = &page["messages"][0];
    assert_eq!(ping["direction"], "in", "a local message is recorded once, as delivered");
    assert_eq!(ping["to"], agent.to_string());
    let (status, body) = get(&node, &format!("/slave(1)/messages/body?seq={}", ping["seq"])).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["body"], json!({ "connected": true }));
    node.shutdown().await;
}

/// `/metrics` parses with the reference Prometheus parser and types the agent's
/// metrics as Mesos does (slave/metrics.hpp: `tasks_finished` counts, `registered` is
/// a gauge).
#[actix_rt::test]
async fn prometheus_metrics_parse() {
    let dir = TempDir::new("prometheus");
    let (node, _master) = agent_node(&dir).await;
    let (status, text) = get(&node, "/metrics").await;
    assert_eq!(status, 200);
    let families = super::support::parse_prometheus(&text);
    assert_eq!(families["mesos_slave_registered"]["type"], "gauge");
    let registered = families["mesos_slave_registered"]["samples"][0][1].as_str();
    assert_eq!(registered.and_then(|v| v.parse::<f64>().ok()), Some(1.0));
    assert_eq!(families["mesos_slave_tasks_finished"]["type"], "counter");
    assert_eq!(families["mesos_slave_tasks_running"]["type"], "gauge");
    assert_eq!(families["mesos_slave_uptime_secs"]["type"], "gauge");
    assert_eq!(
        families["mesos_libprocess_mailbox_full"]["help"],
        "Mesos metric libprocess/mailbox_full"
    );
    node.shutdown().await;
}
