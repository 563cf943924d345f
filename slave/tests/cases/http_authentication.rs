//! HTTP authentication at the agent's entry (`--authenticate_http_readonly`,
//! `--authenticate_http_readwrite`): Mesos's agent realms and the `401` challenge.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use libprocess::Node;
use libprocess::http::Response;
use mesos_agent::agent::{Agent, AgentConfig};
use mesos_agent::containerizer::PosixContainerizer;
use mesos_security::http_auth::{self, AGENT_READONLY, AGENT_READWRITE};
use mesos_security::{Credential, Credentials, HttpAuthenticator};

use super::support::{MasterEvent, TempDir, fake_master, next_event};

async fn request(
    node: &Node,
    method: Method,
    path: &str,
    credentials: Option<(&str, &str)>,
    body: &str,
) -> Response {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some((principal, secret)) = credentials {
        request = request.header(header::AUTHORIZATION, http_auth::basic_header(principal, secret));
    }
    node.handle_http(request.body(Bytes::from(body.to_string())).unwrap()).await
}

/// Read-only (`/state` under every spelling, `/files/*`, `/metrics/snapshot`) and
/// read-write (`/api/v1`) endpoints answer 401 with their realm's challenge without or
/// with wrong credentials, and serve the right ones; `/health` and `/version` stay open.
#[actix_rt::test]
async fn unauthenticated_wrong_and_right_credentials() {
    let dir = TempDir::new("http-auth");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut config = AgentConfig::new(vec![master.pid().clone()], dir.0.join("work"));
    config.registration_backoff_factor = std::time::Duration::from_millis(1);
    let credentials = Arc::new(Credentials::from_list([Credential {
        principal: "yoda".into(),
        secret: "usetheforce".into(),
    }]));
    let mut authenticator = HttpAuthenticator::default();
    for realm in [AGENT_READONLY, AGENT_READWRITE] {
        authenticator.enable(realm, "basic", Some(&credentials)).unwrap();
    }
    config.http_authenticator = authenticator;
    node.set_default_process("slave(1)");
    node.spawn("slave(1)", Agent::new(config, Box::new(PosixContainerizer::new()), None))
        .expect("agent");
    assert!(matches!(next_event(&mut events).await, MasterEvent::Registered { .. }));

    std::fs::create_dir_all(dir.0.join("work/slaves")).unwrap();
    let health = r#"{"type": "GET_HEALTH"}"#;
    let right = Some(("yoda", "usetheforce"));
    for (method, path, body, realm, served) in [
        (Method::GET, "/state", "", AGENT_READONLY, StatusCode::OK),
        (Method::GET, "/slave(1)/state", "", AGENT_READONLY, StatusCode::OK),
        (Method::GET, "/slave%281%29/state", "", AGENT_READONLY, StatusCode::OK),
        (Method::GET, "/flags", "", AGENT_READONLY, StatusCode::OK),
        (Method::GET, "/metrics/snapshot", "", AGENT_READONLY, StatusCode::OK),
        (
            Method::GET,
            "/files/read?path=/etc/passwd&offset=0",
            "",
            AGENT_READONLY,
            StatusCode::FORBIDDEN,
        ),
        (Method::POST, "/api/v1", health, AGENT_READWRITE, StatusCode::OK),
    ] {
        let none = request(&node, method.clone(), path, None, body).await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            none.headers()[header::WWW_AUTHENTICATE],
            format!("Basic realm=\"{realm}\"").as_str()
        );
        let wrong = request(&node, method.clone(), path, Some(("yoda", "x")), body).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{path}");
        let ok = request(&node, method.clone(), path, right, body).await;
        assert_eq!(ok.status(), served, "{path}");
    }
    for open in ["/health", "/slave(1)/health", "/version"] {
        let response = request(&node, Method::GET, open, None, "").await;
        assert_eq!(response.status(), StatusCode::OK, "{open}");
    }
    node.shutdown().await;
}

/// The flags: `--http_credentials` (or `--credentials`) with the realms asked for; a
/// realm on without credentials is refused at start.
#[test]
fn flags_refuse_authentication_without_credentials() {
    use clap::Parser;
    let dir = TempDir::new("http-auth-flags");
    let path = dir.0.join("credentials");
    std::fs::write(&path, r#"{"credentials": [{"principal": "yoda", "secret": "usetheforce"}]}"#)
        .unwrap();
    let parse = |args: &[&str]| {
        mesos_agent::flags::Flags::try_parse_from(
            ["mesos-agent", "--master=127.0.0.1:5050", "--work_dir=/tmp/x"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .unwrap()
    };
    let error = parse(&["--authenticate_http_readonly"]).http_authenticator().unwrap_err();
    assert!(error.to_string().contains("No credentials provided"), "{error}");
    for flag in ["--http_credentials", "--credentials"] {
        let credentials = format!("{flag}={}", path.display());
        let authenticator =
            parse(&[&credentials, "--authenticate_http_readwrite"]).http_authenticator().unwrap();
        assert!(authenticator.is_enabled(AGENT_READWRITE));
        assert!(!authenticator.is_enabled(AGENT_READONLY));
    }
}
