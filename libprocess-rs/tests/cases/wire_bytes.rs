//! Byte compatibility with Apache libprocess: requests built by hand, as a C++ libprocess
//! peer writes them, and the exact bytes our sender writes.

use bytes::Bytes;
use libprocess::testing::Ping;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::support::{Seen, next, probe, tcp_node, within};

/// Reads from `stream` until `count` HTTP response heads have arrived; returns their
/// status codes.
async fn read_statuses(stream: &mut TcpStream, count: usize) -> Vec<u16> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buffer).to_string();
        let statuses: Vec<u16> = text
            .split("HTTP/1.1 ")
            .skip(1)
            .filter_map(|s| s.get(..3).and_then(|code| code.parse().ok()))
            .collect();
        if statuses.len() >= count && text.matches("\r\n\r\n").count() >= count {
            return statuses;
        }
        let n = within(stream.read(&mut chunk)).await.expect("read");
        assert!(n > 0, "connection closed early; got {text:?}");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn libprocess_request(from: &str, to_id: &str, name: &str, body: &[u8]) -> Vec<u8> {
    // Exactly the layout of libprocess's MessageEncoder (encoder.hpp).
    let mut out = format!(
        "POST /{to_id}/{name} HTTP/1.1\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: \r\n"
    )
    .into_bytes();
    if body.is_empty() {
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(
            format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len()).as_bytes(),
        );
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    }
    out
}

/// Two pipelined messages written exactly as a C++ libprocess peer writes them are both
/// delivered and both answered `202 Accepted` on the same connection.
#[actix_rt::test]
async fn accepts_messages_written_by_a_libprocess_peer() {
    let node = tcp_node();
    let (target, mut rx) = probe(&node, "slave(1)");
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let from = "scheduler-1@127.0.0.1:9";
    let one = Ping { seq: 41, payload: Bytes::from_static(b"x") }.encode_to_vec();
    let two = Ping { seq: 42, payload: Bytes::new() }.encode_to_vec();
    let mut bytes = libprocess_request(from, "slave%281%29", "libprocess.testing.Ping", &one);
    bytes.extend(libprocess_request(from, "slave(1)", "libprocess.testing.Ping", &two));
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(read_statuses(&mut stream, 2).await, vec![202, 202]);
    let from_pid: libprocess::Pid = from.parse().unwrap();
    assert_eq!(next(&mut rx).await, Seen::Ping { from: from_pid.clone(), seq: 41 });
    assert_eq!(next(&mut rx).await, Seen::Ping { from: from_pid, seq: 42 });
    drop(target);
    node.shutdown().await;
}

/// An empty-bodied message (no Transfer-Encoding) is delivered; a legacy peer that only
/// sends `User-Agent: libprocess/...` is understood; unknown processes get `404` and bad
/// senders `400`, and none of it disturbs the connection.
#[actix_rt::test]
async fn answers_404_and_400_like_libprocess() {
    let node = tcp_node();
    let (_target, mut rx) = probe(&node, "master");
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let mut bytes = libprocess_request("a@127.0.0.1:1", "master", "libprocess.testing.Ping", b"");
    bytes.extend(libprocess_request("a@127.0.0.1:1", "nobody", "libprocess.testing.Ping", b""));
    bytes.extend(b"POST /master/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: not-a-pid\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    bytes.extend(b"POST /master/libprocess.testing.Ping HTTP/1.1\r\nUser-Agent: libprocess/legacy@127.0.0.1:2\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(read_statuses(&mut stream, 4).await, vec![202, 404, 400, 202]);
    assert!(matches!(next(&mut rx).await, Seen::Ping { seq: 0, .. }));
    assert_eq!(
        next(&mut rx).await,
        Seen::Ping { from: "legacy@127.0.0.1:2".parse().unwrap(), seq: 0 }
    );
    node.shutdown().await;
}

/// What we put on the wire is byte for byte what libprocess's MessageEncoder writes, on
/// one persistent connection, and we never wait for the answers; but for one header on a
/// connection's first message, `Libprocess-Duplex: <token>` (an offer to read messages
/// back on it, which Apache libprocess ignores like any header it does not know:
/// `net::duplex`).
#[actix_rt::test]
async fn sends_exactly_libprocess_bytes() {
    const TOKEN: &str = "................................";
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_address = peer.local_addr().unwrap();
    let node = tcp_node();
    let from = node.pid("scheduler(1)");
    let to: libprocess::Pid = format!("master@{peer_address}").parse().unwrap();
    let ping = Ping { seq: 5, payload: Bytes::from_static(b"hello") };
    let body = ping.encode_to_vec();
    node.send(&from, &to, ping.clone());
    node.send(&from, &to, Ping::default());

    let (mut socket, _) = within(peer.accept()).await.unwrap();
    let mut expected = format!(
        "POST /master/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-Duplex: {TOKEN}\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: {peer_address}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    expected.extend_from_slice(&body);
    expected.extend_from_slice(b"\r\n0\r\n\r\n");
    expected.extend(
        format!(
            "POST /master/libprocess.testing.Ping HTTP/1.1\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: {peer_address}\r\n\r\n"
        )
        .into_bytes(),
    );
    let mut received = vec![0u8; expected.len()];
    within(socket.read_exact(&mut received)).await.unwrap();
    // The token is random: 32 hex digits, compared as such.
    let at = "POST /master/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-Duplex: ".len();
    let token = &mut received[at..at + TOKEN.len()];
    assert!(token.iter().all(u8::is_ascii_hexdigit), "{:?}", String::from_utf8_lossy(token));
    token.copy_from_slice(TOKEN.as_bytes());
    assert_eq!(String::from_utf8_lossy(&received), String::from_utf8_lossy(&expected));
    node.shutdown().await;
}

/// One connection switches between the message path and hyper: two messages, an HTTP
/// request, a message again, pipelined in one write, are answered in order (`202`, `202`,
/// `200`, `202`) and all three messages are delivered; a body sent as several chunks and
/// one split across writes arrive whole.
#[actix_rt::test]
async fn messages_and_http_share_a_connection() {
    let node = tcp_node();
    let (_target, mut rx) = probe(&node, "echo");
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let from = "a@127.0.0.1:9";
    let ping = |seq: u64| Ping { seq, payload: Bytes::from_static(b"abc") }.encode_to_vec();
    let mut bytes = libprocess_request(from, "echo", "libprocess.testing.Ping", &ping(1));
    // Two chunks: the decoder joins them.
    let two = ping(2);
    bytes.extend(format!("POST /echo/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: {from}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n").as_bytes());
    bytes.extend(&two[..2]);
    bytes.extend(format!("\r\n{:x}\r\n", two.len() - 2).as_bytes());
    bytes.extend(&two[2..]);
    bytes.extend(b"\r\n0\r\n\r\n");
    bytes.extend(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
    bytes.extend(libprocess_request(from, "echo", "libprocess.testing.Ping", &ping(3)));
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(read_statuses(&mut stream, 4).await, vec![202, 202, 200, 202]);
    for seq in 1..=3 {
        assert_eq!(next(&mut rx).await, Seen::Ping { from: from.parse().unwrap(), seq });
    }
    // A message split in the middle of its head and of its body, on a fresh connection.
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let bytes = libprocess_request(from, "echo", "libprocess.testing.Ping", &ping(4));
    let (head, rest) = bytes.split_at(30);
    let (body, end) = rest.split_at(rest.len() - 8);
    for part in [head, body, end] {
        stream.write_all(part).await.unwrap();
        stream.flush().await.unwrap();
        tokio::task::yield_now().await;
    }
    assert_eq!(read_statuses(&mut stream, 1).await, vec![202]);
    assert_eq!(next(&mut rx).await, Seen::Ping { from: from.parse().unwrap(), seq: 4 });
    node.shutdown().await;
}

/// A process that sends many messages to another node in one turn (more than one write
/// takes) has them all delivered, in order: the per-thread cork and the writer's batches
/// keep the order of one sender's messages.
#[actix_rt::test]
async fn a_burst_from_one_turn_arrives_in_order() {
    let (a, b) = (tcp_node(), tcp_node());
    let (target, mut rx) = probe(&b, "target");
    let (sender, _sender_rx) = probe(&a, "sender");
    let to = target.pid().clone();
    let payload = Bytes::from(vec![7u8; 1000]);
    sender
        .dispatch(move |_, ctx| {
            for seq in 0..3000 {
                ctx.send(&to, Ping { seq, payload: payload.clone() });
            }
        })
        .await
        .unwrap();
    let from = sender.pid().clone();
    for seq in 0..3000 {
        assert_eq!(next(&mut rx).await, Seen::Ping { from: from.clone(), seq });
    }
    a.shutdown().await;
    b.shutdown().await;
}
