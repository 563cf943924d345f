//! Fuzz bodies for the inbound request path (not a public API).
//!
//! The fuzz targets in `libprocess-rs/fuzz/` and the seed-corpus test in
//! `tests/cases/fuzz_seeds.rs` call these same functions, so CI runs every fuzz body over
//! hand-written inputs and `cargo fuzz` over generated ones. Each function panics only when
//! the code under test breaks an invariant (or panics itself).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::node::Node;
use crate::pid::Pid;
use crate::sim::SimNetwork;
use crate::testing::Echo;
use crate::wire;

/// The address of the fuzzed node (on a simulated network: no sockets are opened).
pub const NODE_ADDRESS: &str = "10.0.0.1:5050";

/// Feeds `input` as the bytes of one client connection to `node`'s real HTTP server path
/// (hyper over an in-memory duplex stream, then the node's router), closes the client's
/// write side, and returns every byte the server wrote back.
///
/// Must run inside an actix `System` (processes answer their routes).
pub async fn serve_bytes(node: &Node, input: &[u8]) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let peer: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let serve =
        crate::net::serve_connection(server, peer, node.downgrade(), node.config().clone(), stop);
    let (mut read_half, mut write_half) = tokio::io::split(client);
    let write = async move {
        // The server may close early (a head it refuses); the rest is then unwritten.
        let _ = write_half.write_all(input).await;
        let _ = write_half.shutdown().await;
    };
    let read = async move {
        let mut answer = Vec::new();
        let _ = read_half.read_to_end(&mut answer).await;
        answer
    };
    let ((), (), answer) = tokio::join!(serve, write, read);
    answer
}

struct Harness {
    system: actix_rt::SystemRunner,
    node: Node,
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fn harness_node(system: &actix_rt::SystemRunner) -> Node {
    system.block_on(async {
        let address: SocketAddr = NODE_ADDRESS.parse().expect("constant address");
        let node = Node::builder(address)
            .simulated(&SimNetwork::new())
            .start()
            .expect("simulated node starts");
        node.spawn("echo", Echo::default()).expect("fresh node has no echo yet");
        node.set_default_process("echo");
        node
    })
}

/// Fuzz body of the inbound request path: serves `data` as one connection to a node
/// running an `echo` process (also the default process) and checks the answer.
///
/// Invariants: no panic; the connection finishes within 10 s of real time once the
/// client has closed its side; whatever comes back starts as an HTTP/1.x response;
/// the node still answers a well-formed message afterwards.
pub fn inbound_request(data: &[u8]) {
    HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let harness = slot.get_or_insert_with(|| {
            let system = actix_rt::System::new();
            let node = harness_node(&system);
            Harness { system, node }
        });
        let node = harness.node.clone();
        let answer = harness.system.block_on(async move {
            match tokio::time::timeout(Duration::from_secs(10), serve_bytes(&node, data)).await {
                Ok(answer) => answer,
                Err(_) => panic!("the server did not finish a closed connection within 10 s"),
            }
        });
        if !answer.is_empty() {
            // HTTP/1.0 requests get HTTP/1.0 answers.
            assert!(
                answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
                "not an HTTP/1.x response: {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
        let node = harness.node.clone();
        let probe = b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: fuzz@10.0.0.9:1\r\nHost: x\r\n\r\n";
        let answer = harness.system.block_on(async move { serve_bytes(&node, probe).await });
        assert!(answer.starts_with(b"HTTP/1.1 202"), "node stopped accepting messages: {:?}", String::from_utf8_lossy(&answer));
    });
}

/// Fuzz body of pid parsing: never panics, and whatever parses prints back to text that
/// parses to the same pid.
pub fn pid(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(pid) = Pid::from_str(text) {
        let printed = pid.to_string();
        match Pid::from_str(&printed) {
            Ok(again) => assert_eq!(again, pid, "{text:?} printed as {printed:?}"),
            Err(error) => {
                panic!("{text:?} parsed, but its printed form {printed:?} does not: {error}")
            }
        }
    }
}

/// Fuzz body of `wire::parse_message_head`: `data` is split at NUL bytes into a request
/// path, a `Libprocess-From` value and a `User-Agent` value (values that are not valid
/// header values are left out). Never panics; an accepted head names a process and a
/// message, and its sender prints back to a parseable pid.
pub fn message_head(data: &[u8]) {
    let mut parts = data.split(|b| *b == 0);
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let mut headers = HeaderMap::new();
    for name in ["libprocess-from", "user-agent"] {
        if let Some(value) = parts.next()
            && let Ok(value) = HeaderValue::from_bytes(value)
        {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let is_message = wire::is_message(&http::Method::POST, &headers);
    if let Ok(head) = wire::parse_message_head(&path, &headers) {
        assert!(is_message, "a parseable head must be recognised as a message");
        assert!(!head.to_id.is_empty() && !head.name.is_empty());
        let printed = head.from.to_string();
        assert_eq!(
            Pid::from_str(&printed).ok(),
            Some(head.from),
            "sender {printed:?} does not round-trip"
        );
    }
}
