//! Streamed request bodies (`Context::route_streamed`): chunks reach the route as they
//! arrive, within the route's bounds; other routes still get whole bodies.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use libprocess::http::{
    self as lhttp, BodyError, Request, RequestBody, Responder, StreamedBody, StreamedRequest,
};
use libprocess::testing::Ping;
use libprocess::{Context, Node, NodeConfig, Pid, Process};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::support::{http_call, loopback, within};

libprocess::protocol! {
    enum FeedMessage { Ping(Ping) }
}

/// What the streamed route saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The head arrived (the handler ran).
    Head,
    Chunk(Bytes),
    End,
    Failed(BodyError),
}

/// A process whose `/feed` streams `text/stream` bodies (reporting each chunk), and
/// reads any other body at the same path whole.
struct Feed {
    seen: mpsc::UnboundedSender<Seen>,
    spec: StreamedBody,
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers.get("content-type").is_some_and(|v| v == "text/stream")
}

impl Process for Feed {
    type Message = FeedMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.route_streamed(
            "/feed",
            self.spec.clone(),
            |feed: &mut Feed, request: StreamedRequest, responder: Responder, ctx| {
                let seen = feed.seen.clone();
                let _ = seen.send(Seen::Head);
                let mut body: RequestBody = request.into_body();
                let read = async move {
                    let mut bytes = 0;
                    while let Some(chunk) = body.next_chunk().await {
                        match chunk {
                            Ok(chunk) => {
                                bytes += chunk.len();
                                let _ = seen.send(Seen::Chunk(chunk));
                            }
                            Err(error) => {
                                let _ = seen.send(Seen::Failed(error.clone()));
                                return Err(error);
                            }
                        }
                    }
                    let _ = seen.send(Seen::End);
                    Ok(bytes)
                };
                ctx.spawn(read, move |_: &mut Feed, read, _| {
                    responder.respond(match read {
                        Ok(bytes) => lhttp::text(StatusCode::OK, format!("streamed {bytes}")),
                        Err(error) => lhttp::text(StatusCode::BAD_REQUEST, error.to_string()),
                    });
                });
            },
        );
        ctx.route("/feed", |_: &mut Feed, request: Request, responder: Responder, _ctx| {
            let text = format!("whole {}", String::from_utf8_lossy(request.body()));
            responder.respond(lhttp::text(StatusCode::OK, text));
        });
    }

    fn on_message(&mut self, _from: Pid, _message: FeedMessage, _ctx: &mut Context<'_, Self>) {}
}

fn spec(max_bytes: Option<u64>, idle_timeout: Duration) -> StreamedBody {
    StreamedBody { wants: wants_stream, max_bytes, idle_timeout, capacity: 4 }
}

fn feed_node(spec: StreamedBody) -> (Node, mpsc::UnboundedReceiver<Seen>) {
    let node = Node::builder(loopback())
        .config(NodeConfig { max_body_bytes: 64, ..NodeConfig::default() })
        .start()
        .expect("start node");
    let (seen, rx) = mpsc::unbounded_channel();
    node.spawn("feed", Feed { seen, spec }).unwrap();
    (node, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    within(rx.recv()).await.expect("the feed process is gone")
}

/// A chunked streamed request's head, on a new connection.
async fn open_stream(node: &Node) -> TcpStream {
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    stream
        .write_all(b"POST /feed/feed HTTP/1.1\r\nHost: x\r\nContent-Type: text/stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    stream
}

async fn send_chunk(stream: &mut TcpStream, data: &[u8]) {
    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(b"\r\n");
    stream.write_all(&chunk).await.unwrap();
}

async fn read_answer(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 1024];
    let n = within(stream.read(&mut buf)).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Each chunk reaches the route before the client sends the next (the request is
/// still open), and the answer comes after the last.
#[actix_rt::test]
async fn chunks_arrive_before_the_request_ends() {
    let (node, mut seen) = feed_node(spec(None, Duration::from_secs(60)));
    let mut stream = open_stream(&node).await;
    assert_eq!(next(&mut seen).await, Seen::Head, "the handler runs on the head alone");
    for word in ["one", "two", "three"] {
        send_chunk(&mut stream, word.as_bytes()).await;
        assert_eq!(next(&mut seen).await, Seen::Chunk(Bytes::from(word)));
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    assert_eq!(next(&mut seen).await, Seen::End);
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.ends_with("streamed 11"), "{answer:?}");
    node.shutdown().await;
}

/// Requests the streamed route does not want go to the whole-body route at the same
/// path, with the node's bounds; an in-process request to the streamed route gets its
/// body as one chunk.
#[actix_rt::test]
async fn other_requests_keep_whole_bodies() {
    let (node, mut seen) = feed_node(spec(None, Duration::from_secs(60)));
    let headers = [("content-type", "text/plain")];
    let (status, _, body) =
        http_call(node.address(), "POST", "/feed/feed", &headers, b"all of it".to_vec()).await;
    assert_eq!((status, body.as_slice()), (200, &b"whole all of it"[..]));
    let (status, _, _) =
        http_call(node.address(), "POST", "/feed/feed", &headers, vec![b'x'; 65]).await;
    assert_eq!(status, 413, "the node's whole-body bound still applies");

    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/feed/feed")
        .header("content-type", "text/stream")
        .body(Bytes::from("in process"))
        .unwrap();
    let response = node.handle_http(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(next(&mut seen).await, Seen::Head);
    assert_eq!(next(&mut seen).await, Seen::Chunk(Bytes::from("in process")));
    assert_eq!(next(&mut seen).await, Seen::End);
    node.shutdown().await;
}

/// A stream past the route's `max_bytes` is cut (the node's own, smaller, whole-body
/// bound does not apply to it); a declared length past it is refused at once.
#[actix_rt::test]
async fn oversized_stream_is_cut() {
    let (node, mut seen) = feed_node(spec(Some(100), Duration::from_secs(60)));
    let mut stream = open_stream(&node).await;
    assert_eq!(next(&mut seen).await, Seen::Head);
    send_chunk(&mut stream, &[b'a'; 80]).await;
    assert_eq!(next(&mut seen).await, Seen::Chunk(Bytes::from(vec![b'a'; 80])));
    send_chunk(&mut stream, &[b'b'; 80]).await;
    assert_eq!(next(&mut seen).await, Seen::Failed(BodyError::TooLarge { limit: 100 }));
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");

    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    stream
        .write_all(b"POST /feed/feed HTTP/1.1\r\nHost: x\r\nContent-Type: text/stream\r\nContent-Length: 1000\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    node.shutdown().await;
}

/// A client that goes silent for longer than the route's idle timeout has its stream
/// ended. (The test waits for that event, not for a time.)
#[actix_rt::test]
async fn slow_stream_is_cut() {
    let idle = Duration::from_millis(200);
    let (node, mut seen) = feed_node(spec(None, idle));
    let mut stream = open_stream(&node).await;
    assert_eq!(next(&mut seen).await, Seen::Head);
    send_chunk(&mut stream, b"hello").await;
    assert_eq!(next(&mut seen).await, Seen::Chunk(Bytes::from("hello")));
    assert_eq!(next(&mut seen).await, Seen::Failed(BodyError::IdleTimeout { after: idle }));
    node.shutdown().await;
}

/// A client that disconnects mid-body ends the stream with an error, not a clean end.
#[actix_rt::test]
async fn vanished_client_ends_the_stream() {
    let (node, mut seen) = feed_node(spec(None, Duration::from_secs(60)));
    let mut stream = open_stream(&node).await;
    assert_eq!(next(&mut seen).await, Seen::Head);
    send_chunk(&mut stream, b"partial").await;
    assert_eq!(next(&mut seen).await, Seen::Chunk(Bytes::from("partial")));
    drop(stream);
    match next(&mut seen).await {
        Seen::Failed(BodyError::Broken { .. }) => {}
        other => panic!("expected a broken body, got {other:?}"),
    }
    node.shutdown().await;
}

/// The node's HTTP gate (authentication) sees a streamed request's head and refuses it
/// before any of its body is read: the handler never runs.
#[actix_rt::test]
async fn gate_refuses_before_the_body() {
    let (node, mut seen) = feed_node(spec(None, Duration::from_secs(60)));
    node.set_http_gate(Arc::new(|_process: Option<&str>, _path: &str, _request: &mut Request| {
        Err(Box::new(lhttp::status(StatusCode::UNAUTHORIZED)))
    }));
    let mut stream = open_stream(&node).await;
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    assert!(seen.try_recv().is_err(), "the route never saw the request");
    node.shutdown().await;
}
