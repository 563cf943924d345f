//! HTTP routes: per-process routes, longest prefix, the default process, shared
//! (off-process) routes, streaming, and the built-ins.

use std::sync::Arc;

use http::{Method, StatusCode};
use libprocess::http::{self as lhttp, Request, Responder, StreamWriter};
use libprocess::testing::Ping;
use libprocess::{Context, Pid, Process};

use super::support::{http_call, tcp_node};

libprocess::protocol! {
    enum WebMessage { Ping(Ping) }
}

/// Counts pings; serves its count, echoes paths, streams chunks.
#[derive(Default)]
struct Web {
    pings: u64,
    stream: Option<StreamWriter>,
}

impl Process for Web {
    type Message = WebMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.route("/state", |web: &mut Web, _req: Request, responder: Responder, _ctx| {
            responder
                .respond(lhttp::json(StatusCode::OK, &serde_json::json!({ "pings": web.pings })));
        });
        ctx.route("/api/v1", |_: &mut Web, req: Request, responder: Responder, _ctx| {
            responder.respond(lhttp::text(StatusCode::OK, format!("v1 {}", req.uri().path())));
        });
        ctx.route("/api/v1/scheduler", |_: &mut Web, req: Request, responder: Responder, _ctx| {
            let body = String::from_utf8_lossy(req.body()).to_string();
            responder.respond(lhttp::text(StatusCode::OK, format!("scheduler {body}")));
        });
        ctx.route("/stream", |web: &mut Web, _req: Request, responder: Responder, _ctx| {
            let (response, writer) = lhttp::stream(StatusCode::OK, "application/recordio", 16);
            for chunk in ["one,", "two,", "three"] {
                writer.try_send(chunk).unwrap();
            }
            web.stream = Some(writer);
            responder.respond(response);
        });
        ctx.route("/end-stream", |web: &mut Web, _req: Request, responder: Responder, _ctx| {
            web.stream = None;
            responder.respond(lhttp::status(StatusCode::OK));
        });
        ctx.route(
            "/later",
            |_: &mut Web, _req: Request, responder: Responder, ctx: &mut Context<'_, Web>| {
                // Answer after handling the events already queued.
                ctx.defer(move |web: &mut Web, _| {
                    responder.respond(lhttp::text(StatusCode::OK, format!("later {}", web.pings)));
                });
            },
        );
        ctx.route("/dropped", |_: &mut Web, _req: Request, responder: Responder, _ctx| {
            drop(responder)
        });
        ctx.route_shared(
            "/snapshot",
            Arc::new(|_req| Box::pin(async { lhttp::text(StatusCode::OK, "from a snapshot") })),
        );
    }

    fn on_message(&mut self, _from: Pid, _message: WebMessage, _ctx: &mut Context<'_, Self>) {
        self.pings += 1;
    }
}

async fn body_text(response: lhttp::Response) -> (StatusCode, String) {
    let status = response.status();
    let bytes = response.into_body().into_bytes().await;
    (status, String::from_utf8_lossy(&bytes).to_string())
}

/// The first segment picks the process, the longest route prefix wins, unprefixed paths go
/// to the default process, shared routes answer without the process, and unknown paths
/// are 404s.
#[actix_rt::test]
async fn routing_follows_libprocess() {
    let node = tcp_node();
    let web = node.spawn("web", Web::default()).unwrap();
    node.send(&node.pid("t"), web.pid(), Ping::default());
    let get = |path: &'static str| {
        let node = node.clone();
        async move { body_text(node.request(Method::GET, path, "").await).await }
    };
    assert_eq!(get("/web/state").await, (StatusCode::OK, r#"{"pings":1}"#.to_string()));
    assert_eq!(
        get("/web/api/v1/operator").await,
        (StatusCode::OK, "v1 /web/api/v1/operator".into())
    );
    let posted = node.request(Method::POST, "/web/api/v1/scheduler", "hi").await;
    assert_eq!(body_text(posted).await, (StatusCode::OK, "scheduler hi".into()));
    assert_eq!(get("/web/snapshot").await, (StatusCode::OK, "from a snapshot".into()));
    assert_eq!(get("/web/later").await, (StatusCode::OK, "later 1".into()));
    assert_eq!(get("/web/dropped").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(get("/web/nothing").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get("/state").await.0, StatusCode::NOT_FOUND, "no default process yet");
    node.set_default_process("web");
    assert_eq!(get("/state").await, (StatusCode::OK, r#"{"pings":1}"#.to_string()));
    assert_eq!(get("/api/v1/scheduler").await.0, StatusCode::OK);
    node.shutdown().await;
}

/// Built-ins: `/__processes__`, `/metrics/snapshot` (flat JSON), `/version` (>= 1.0.0).
#[actix_rt::test]
async fn builtins_over_tcp() {
    let node = tcp_node();
    let _web = node.spawn("web", Web::default()).unwrap();
    node.metrics().counter("master/tasks_running").add(2);
    let (status, _, body) = http_call(node.address(), "GET", "/__processes__", &[], vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!([{ "id": "web" }])
    );
    let (status, _, body) =
        http_call(node.address(), "GET", "/metrics/snapshot", &[], vec![]).await;
    assert_eq!(status, 200);
    let metrics: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(metrics["master/tasks_running"], 2.0);
    assert!(metrics.get("libprocess/messages_unknown").is_some());
    let (status, _, body) = http_call(node.address(), "GET", "/version", &[], vec![]).await;
    assert_eq!(status, 200);
    let version: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let major: u32 =
        version["version"].as_str().unwrap().split('.').next().unwrap().parse().unwrap();
    assert!(major >= 1);
    node.shutdown().await;
}

/// A streamed response arrives chunk by chunk over TCP (chunked encoding) and ends when
/// the process drops its writer.
#[actix_rt::test]
async fn streaming_response_over_tcp() {
    use http_body_util::BodyExt;
    let node = tcp_node();
    let web = node.spawn("web", Web::default()).unwrap();
    let stream = tokio::net::TcpStream::connect(node.address()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::get("/web/stream")
        .header("host", "x")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let mut body = response.into_body();
    let mut seen = String::new();
    while seen != "one,two,three" {
        let frame = super::support::within(body.frame()).await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&frame.into_data().unwrap()));
    }
    // The stream stays open until the process ends it.
    web.dispatch(|web, _| web.stream = None).await.unwrap();
    assert!(super::support::within(body.frame()).await.is_none());
    node.shutdown().await;
}

/// The node's HTTP gate sees every request with the process and path it is routed to
/// (`/web/state`, a percent-encoded `/%77eb/state` and the default process's `/state`,
/// `None` for built-ins) before any route or built-in, and may answer instead or pass
/// extensions to the route; libprocess messages do not pass it.
#[actix_rt::test]
async fn http_gate_runs_before_routes_and_builtins() {
    let node = tcp_node();
    let _web = node.spawn("web", Web::default()).unwrap();
    node.set_default_process("web");
    node.set_http_gate(Arc::new(|process: Option<&str>, path: &str, request: &mut Request| {
        let seen = format!("{process:?} {path}");
        if request.headers().contains_key("x-let-me-in") {
            request.extensions_mut().insert(seen);
            return Ok(());
        }
        Err(Box::new(lhttp::text(StatusCode::UNAUTHORIZED, seen)))
    }));
    let get = |path: &'static str| {
        let node = node.clone();
        async move { body_text(node.request(Method::GET, path, "").await).await }
    };
    for (path, seen) in [
        ("/web/state", r#"Some("web") /state"#),
        ("/state", r#"Some("web") /state"#),
        ("/%77eb/state", r#"Some("web") /state"#),
        ("/metrics/snapshot", "None /metrics/snapshot"),
        ("/version", "None /version"),
    ] {
        assert_eq!(get(path).await, (StatusCode::UNAUTHORIZED, seen.to_string()), "{path}");
    }
    let request = http::Request::builder()
        .uri("/web/state")
        .header("x-let-me-in", "1")
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(node.handle_http(request).await.status(), StatusCode::OK);
    // A libprocess message arriving over HTTP is delivered whatever the gate says.
    let message = http::Request::builder()
        .method(Method::POST)
        .uri("/web/libprocess.testing.Ping")
        .header("Libprocess-From", "t@127.0.0.1:1")
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(node.handle_http(message).await.status(), StatusCode::ACCEPTED);
    node.clock().settle().await;
    let request =
        http::Request::builder().uri("/state").header("x-let-me-in", "1").body(bytes::Bytes::new());
    let (_, body) = body_text(node.handle_http(request.unwrap()).await).await;
    assert_eq!(body, r#"{"pings":1}"#);
    node.shutdown().await;
}
