//! Fuzz bodies for the inbound request path, its message decoder and the TLS front (not
//! a public API).
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

/// Feeds `input` as the bytes of one client connection to `node`'s real server path (the
/// message path, then hyper, over an in-memory duplex stream, then the node's router),
/// closes the client's write side, and returns every byte the server wrote back.
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

/// Fuzz body of the message decoder (`net/decoder.rs`, the message connections' own
/// parser; the `inbound_request` body drives it inside the real server path): `data` as a
/// receive buffer. Never panics; a message it finds lies within the buffer, its body
/// within the message; and no proper prefix of that message is anything but incomplete
/// (a message is never taken before all of it has arrived, nor handed to hyper half read).
pub fn message_decoder(data: &[u8]) {
    use crate::net::decoder::{BodyAt, Decoded, Limits, decode, gather_chunks};
    let limits = Limits { max_header_bytes: 4096, max_body_bytes: 4096 };
    let Decoded::Message(request) = decode(data, &limits) else { return };
    assert!(request.len <= data.len(), "a message longer than the buffer");
    match request.body {
        BodyAt::Slice(range) => assert!(range.start <= range.end && range.end <= request.len),
        BodyAt::Chunks { start, total } => {
            assert!(start <= request.len && total <= limits.max_body_bytes);
            assert_eq!(gather_chunks(&data[..request.len], start, total).len(), total);
        }
    }
    assert!(crate::wire::is_message_parts(request.from, request.user_agent));
    // Quadratic: only for inputs of the size the fuzzer mostly makes.
    if request.len <= 2048 {
        for cut in 0..request.len {
            let verdict = decode(&data[..cut], &limits);
            assert!(
                matches!(verdict, Decoded::Incomplete { .. }),
                "a prefix of {cut} bytes of a {}-byte message: {verdict:?}",
                request.len
            );
        }
    }
}

/// The TLS front's harness: a simulated node with an `echo` process and a server TLS
/// setting from a throwaway CA (feature `test-pki`), with and without downgrade.
#[cfg(feature = "test-pki")]
struct TlsHarness {
    system: actix_rt::SystemRunner,
    node: Node,
    strict: crate::tls::Tls,
    downgrade: crate::tls::Tls,
}

#[cfg(feature = "test-pki")]
thread_local! {
    static TLS_HARNESS: RefCell<Option<TlsHarness>> = const { RefCell::new(None) };
}

#[cfg(feature = "test-pki")]
fn tls_harness() -> TlsHarness {
    let system = actix_rt::System::new();
    let node = harness_node(&system);
    let dir = std::env::temp_dir().join(format!("libprocess-fuzz-pki-{}", std::process::id()));
    let pki = crate::test_pki::TestPki::new(&dir, "fuzz CA").expect("make the fuzz CA");
    let identity = pki.issue("node", &["10.0.0.1".parse().expect("an IP")]).expect("issue");
    let config = pki.config(&identity);
    let load = |config: crate::TlsConfig| {
        config.load().expect("test PKI loads").expect("TLS is on in the test PKI")
    };
    let downgrade = load(crate::TlsConfig { support_downgrade: true, ..config.clone() });
    // The files are read: the CA's directory goes when `pki` is dropped here.
    TlsHarness { system, node, strict: load(config), downgrade }
}

/// Feeds `input` as one client connection to the TLS front: the downgrade decision on its
/// first bytes (with `tls`'s downgrade), then the handshake, then HTTP over TLS if the
/// handshake completes; or the plain server path when downgraded. Returns every byte the
/// server wrote back.
#[cfg(feature = "test-pki")]
pub async fn serve_tls_bytes(node: &Node, tls: &crate::tls::Tls, input: &[u8]) -> Vec<u8> {
    if tls.support_downgrade && !crate::tls::looks_like_tls(&input[..input.len().min(6)]) {
        return serve_bytes(node, input).await;
    }
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let peer: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 40_001));
    let (weak, config) = (node.downgrade(), node.config().clone());
    let serve = async move {
        let deadline = Duration::from_secs(2);
        if let Ok(stream) = crate::net::tls::handshake(server, tls, deadline).await {
            crate::net::serve_connection(stream, peer, weak, config, stop).await;
        }
    };
    let (mut read_half, mut write_half) = tokio::io::split(client);
    let write = async move {
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

/// Fuzz body of the TLS front (feature `test-pki`): `data` as one connection, to a node
/// without downgrade and to one with it.
///
/// Invariants: no panic; the connection finishes within 10 s of real time once the
/// client has closed its side; without downgrade (or when the bytes open a ClientHello)
/// nothing but TLS records comes back (a client that completed no handshake never gets
/// HTTP); when downgraded, the answer is HTTP/1.x.
#[cfg(feature = "test-pki")]
pub fn tls_front(data: &[u8]) {
    TLS_HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let harness = slot.get_or_insert_with(tls_harness);
        let downgraded = !crate::tls::looks_like_tls(&data[..data.len().min(6)]);
        let modes = [(harness.strict.clone(), false), (harness.downgrade.clone(), downgraded)];
        for (tls, plain) in modes {
            let node = harness.node.clone();
            let answer = harness.system.block_on(async move {
                let served = serve_tls_bytes(&node, &tls, data);
                match tokio::time::timeout(Duration::from_secs(10), served).await {
                    Ok(answer) => answer,
                    Err(_) => panic!("the TLS front did not finish a closed connection in 10 s"),
                }
            });
            let Some(first) = answer.first() else { continue };
            if plain {
                assert!(
                    answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
                    "downgraded, but not an HTTP/1.x response: {:?}",
                    String::from_utf8_lossy(&answer)
                );
            } else {
                // TLS records start with their content type: alert (21) or handshake (22).
                assert!(
                    matches!(first, 0x15 | 0x16),
                    "not a TLS record from the TLS front: {:?}",
                    &answer[..answer.len().min(64)]
                );
            }
        }
    });
}
