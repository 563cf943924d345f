//! The agent's HTTP endpoints, served in-process by its node.

use std::net::SocketAddr;

use http::Method;
use libprocess::Node;
use mesos_agent::agent::{Agent, AgentConfig};
use mesos_agent::containerizer::PosixContainerizer;
use serde_json::Value;

use super::support::{MasterEvent, TempDir, fake_master, next_event};

async fn get(node: &Node, path: &str) -> (u16, Vec<u8>) {
    let response = node.request(Method::GET, path, Vec::new()).await;
    let status = response.status().as_u16();
    (status, response.into_body().into_bytes().await.to_vec())
}

/// `/state` (also as `/slave(1)/state`), `/health`, `/flags` and `/metrics/snapshot`
/// answer; `/files` refuses paths outside the sandboxes, including `..` escapes.
#[actix_rt::test]
async fn endpoints_answer_and_files_stay_in_sandboxes() {
    let dir = TempDir::new("http");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut config = AgentConfig::new(vec![master.pid().clone()], dir.0.join("work"));
    config.registration_backoff_factor = std::time::Duration::from_millis(1);
    node.set_default_process("slave(1)");
    node.spawn("slave(1)", Agent::new(config, Box::new(PosixContainerizer::new()), None))
        .expect("agent");
    assert!(matches!(next_event(&mut events).await, MasterEvent::Registered { .. }));

    let (status, body) = get(&node, "/state").await;
    assert_eq!(status, 200);
    let state: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(state["id"], super::support::AGENT_ID);
    assert_eq!(get(&node, "/slave(1)/state").await.0, 200);
    assert_eq!(get(&node, "/slave(1)/health").await.0, 200);
    assert_eq!(get(&node, "/flags").await.0, 200);
    let (_, metrics) = get(&node, "/metrics/snapshot").await;
    let metrics: Value = serde_json::from_slice(&metrics).expect("json");
    assert_eq!(metrics["slave/registered"], 1.0);

    std::fs::create_dir_all(dir.0.join("work/slaves/x")).unwrap();
    let escape = format!("/files/read?path={}/work/slaves/x/../../../&offset=0", dir.0.display());
    assert_eq!(get(&node, &escape).await.0, 403, "out of the root");
    let escape = format!("/files/read?path={}/work/slaves/x/../../meta&offset=0", dir.0.display());
    assert_eq!(get(&node, &escape).await.0, 403);
    assert_eq!(get(&node, "/files/read?path=/etc/passwd&offset=0").await.0, 403);
    assert_eq!(get(&node, "/files/download?path=%2Fetc%2Fshadow").await.0, 403);
    assert_eq!(get(&node, "/files/browse?path=/").await.0, 403);
    assert_eq!(get(&node, "/files/read?path=/etc/passwd&offset=x").await.0, 400);
    node.shutdown().await;
}

/// With `--acls`, `/flags` (`view_flags`) and `/monitor/statistics` (`get_endpoints`)
/// answer `403` to a principal the ACLs deny and to an unauthenticated caller, and
/// `200` to an allowed principal (put in the request as HTTP authentication does).
#[actix_rt::test]
async fn acls_guard_flags_and_statistics() {
    let dir = TempDir::new("http-acls");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut config = AgentConfig::new(vec![master.pid().clone()], dir.0.join("work"));
    config.registration_backoff_factor = std::time::Duration::from_millis(1);
    let acls = r#"{
        "view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
                       {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}],
        "get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"values": ["/monitor/statistics"]}},
                          {"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}]}"#;
    config.authorizer =
        Some(std::sync::Arc::new(mesos_security::Authorizer::from_flag(acls).expect("acls")));
    node.set_default_process("slave(1)");
    node.spawn("slave(1)", Agent::new(config, Box::new(PosixContainerizer::new()), None))
        .expect("agent");
    assert!(matches!(next_event(&mut events).await, MasterEvent::Registered { .. }));
    let status = |path: &'static str, principal: Option<&'static str>| {
        let node = node.clone();
        async move {
            let mut request = http::Request::builder()
                .method(Method::GET)
                .uri(path)
                .body(bytes::Bytes::new())
                .unwrap();
            if let Some(p) = principal {
                request.extensions_mut().insert(mesos_security::Principal(p.into()));
            }
            node.handle_http(request).await.status().as_u16()
        }
    };
    for path in ["/flags", "/monitor/statistics"] {
        assert_eq!(status(path, None).await, 403, "{path} unauthenticated");
        assert_eq!(status(path, Some("eve")).await, 403, "{path} as eve");
        assert_eq!(status(path, Some("ops")).await, 200, "{path} as ops");
    }
    node.shutdown().await;
}

/// The agent's log (`--log_dir`, here a file the test writes behind an
/// `mesos-agent.INFO` symlink) is served at `/slave/log` by `/files/read` and the
/// v1 `READ_FILE`; the `access_mesos_logs` ACL lets `ops` read it and answers `403` to
/// `dev` (denied) and to the unauthenticated (Mesos: slave.cpp `files->attach(log,
/// "/slave/log", authorizeLogAccess)`).
#[actix_rt::test]
async fn slave_log_is_served_and_guarded_by_access_mesos_logs() {
    let dir = TempDir::new("http-log");
    let log = dir.0.join("mesos-agent.host.user.log.INFO.20260101-000000.1");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(&log, "agent log line\n").unwrap();
    std::os::unix::fs::symlink(&log, dir.0.join("mesos-agent.INFO")).unwrap();
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut config = AgentConfig::new(vec![master.pid().clone()], dir.0.join("work"));
    config.registration_backoff_factor = std::time::Duration::from_millis(1);
    config.log_file = Some(dir.0.join("mesos-agent.INFO"));
    let acls = r#"{"permissive": false, "access_mesos_logs": [
        {"principals": {"values": ["ops"]}, "logs": {"type": "ANY"}},
        {"principals": {"values": ["dev"]}, "logs": {"type": "NONE"}}]}"#;
    config.authorizer =
        Some(std::sync::Arc::new(mesos_security::Authorizer::from_flag(acls).expect("acls")));
    node.set_default_process("slave(1)");
    node.spawn("slave(1)", Agent::new(config, Box::new(PosixContainerizer::new()), None))
        .expect("agent");
    assert!(matches!(next_event(&mut events).await, MasterEvent::Registered { .. }));
    let send = |method: Method, path: &'static str, body: &'static str, principal| {
        let node = node.clone();
        async move {
            let mut request = http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(bytes::Bytes::from(body))
                .unwrap();
            if let Some(p) = principal {
                request.extensions_mut().insert(mesos_security::Principal(String::from(p)));
            }
            let response = node.handle_http(request).await;
            let status = response.status().as_u16();
            (status, response.into_body().into_bytes().await.to_vec())
        }
    };
    let read = "/files/read?path=/slave/log&offset=0";
    let (status, body) = send(Method::GET, read, "", Some("ops")).await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(page["data"], "agent log line\n");
    assert_eq!(send(Method::GET, read, "", Some("dev")).await.0, 403);
    assert_eq!(send(Method::GET, read, "", None).await.0, 403);
    let call = r#"{"type": "READ_FILE", "read_file": {"path": "/slave/log", "offset": 6}}"#;
    let (status, body) = send(Method::POST, "/api/v1", call, Some("ops")).await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(answer["read_file"]["size"], 15);
    assert_eq!(send(Method::POST, "/api/v1", call, Some("dev")).await.0, 403);
    node.shutdown().await;
}
