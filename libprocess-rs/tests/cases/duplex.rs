//! Messages both ways on one connection between libprocess-rs nodes (`net::duplex`), and
//! libprocess's two-connection shape with every peer that does not offer it.

use bytes::Bytes;
use libprocess::testing::{Echo, Ping};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::support::{Seen, next, probe, tcp_node, within};

/// A message request as libprocess writes it, with `extra` header lines after the
/// request line.
fn request(from: &str, to_id: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST /{to_id}/libprocess.testing.Ping HTTP/1.1\r\n{extra}User-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: \r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n0\r\n\r\n");
    out
}

/// A token as a libprocess-rs node offers its connection with.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Answers, as the node listening at the claimed address, the one check the node that
/// was offered a connection makes there (`net::duplex`): `status` (`202`: offered, vouched
/// for). Returns the check's request.
async fn answer_check(listener: &TcpListener, status: &str) -> String {
    let (mut check, _) = within(listener.accept()).await.unwrap();
    let text = read_until(&mut check, TOKEN).await;
    check
        .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    text
}

/// Reads from `stream` until `needle` has arrived; returns all that was read.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buffer).to_string();
        if text.contains(needle) {
            return text;
        }
        let n = within(stream.read(&mut chunk)).await.expect("read");
        assert!(n > 0, "connection closed early; got {text:?}");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// A peer that offers its connection (`Libprocess-Duplex` on its first message) and
/// vouches for it when asked at its own address gets the reply on that same connection,
/// as a message request, and no `202`s there.
#[actix_rt::test]
async fn replies_ride_the_connection_the_peer_opened() {
    let node = tcp_node();
    let echo = node.spawn("echo", Echo::default()).unwrap();
    // The peer's advertised address: the node asks there, once, and opens nothing else.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let from = format!("peer@{}", listener.local_addr().unwrap());
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let ping = Ping { seq: 7, payload: Bytes::from_static(b"x") }.encode_to_vec();
    let offer = format!("Libprocess-Duplex: {TOKEN}\r\n");
    let mut bytes = request(&from, echo.pid().id(), &offer, &ping);
    bytes.extend(request(&from, echo.pid().id(), "", &ping));
    stream.write_all(&bytes).await.unwrap();
    let check = answer_check(&listener, "202 Accepted").await;
    assert!(check.starts_with("POST /__duplex__/libprocess.DuplexCheck HTTP/1.1\r\n"), "{check:?}");
    assert!(
        check.contains(&format!("Libprocess-From: __duplex__@{}\r\n", node.address())),
        "{check:?}"
    );
    assert!(check.ends_with(&format!("\r\n\r\n{TOKEN}")), "{check:?}");

    let pong = "POST /peer/libprocess.testing.Pong HTTP/1.1\r\n";
    let mut text = read_until(&mut stream, pong).await;
    while text.matches(pong).count() < 2 || !text.ends_with("0\r\n\r\n") {
        text.push_str(&read_until(&mut stream, "0\r\n\r\n").await);
    }
    assert!(text.starts_with(pong), "{text:?}");
    assert!(text.contains(&format!("Libprocess-From: {}\r\n", echo.pid())), "{text:?}");
    assert!(!text.contains("HTTP/1.1 202"), "no answers on a shared connection: {text:?}");
    drop(listener);
    node.shutdown().await;
}

/// An Apache libprocess peer never offers its connection: it is answered `202` there,
/// and the reply comes on a connection the node opens to the peer's address.
#[actix_rt::test]
async fn a_peer_without_the_offer_gets_replies_on_a_connection_of_its_own() {
    let node = tcp_node();
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let from = format!("peer@{}", listener.local_addr().unwrap());
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let ping = Ping { seq: 7, payload: Bytes::from_static(b"x") }.encode_to_vec();
    stream.write_all(&request(&from, echo.pid().id(), "", &ping)).await.unwrap();

    let (mut replies, _) = within(listener.accept()).await.unwrap();
    let text = read_until(&mut replies, "0\r\n\r\n").await;
    assert!(text.starts_with("POST /peer/libprocess.testing.Pong HTTP/1.1\r\n"), "{text:?}");
    // A connection of the node's own: it offers it for messages back, as every one, with
    // a token of 32 hex digits.
    let token = text.split("\r\nLibprocess-Duplex: ").nth(1).expect("an offer");
    assert!(token.find("\r\n") == Some(32), "{text:?}");
    assert!(token[..32].bytes().all(|b| b.is_ascii_hexdigit()), "{text:?}");
    let answers = read_until(&mut stream, "\r\n\r\n").await;
    assert!(answers.starts_with("HTTP/1.1 202 Accepted\r\n"), "{answers:?}");
    node.shutdown().await;
}

/// An offer from a pid whose IP is not the connection's is declined: the node would
/// otherwise send another node's messages to whoever claims its address.
#[actix_rt::test]
async fn an_offer_from_another_ip_is_declined() {
    let node = tcp_node();
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let ping = Ping { seq: 1, ..Default::default() }.encode_to_vec();
    let mark = format!("Libprocess-Duplex: {TOKEN}\r\n");
    let offer = request("peer@10.255.255.1:9", echo.pid().id(), &mark, &ping);
    stream.write_all(&offer).await.unwrap();
    let answers = read_until(&mut stream, "\r\n\r\n").await;
    assert!(answers.starts_with("HTTP/1.1 202 Accepted\r\n"), "{answers:?}");
    node.shutdown().await;
}

/// An offer the claimed peer does not vouch for is not adopted: whoever connected first
/// claiming the peer's pid does not receive the node's messages to the peer; they go on
/// a connection the node opens to the peer's address, and the offered one is answered
/// nothing.
#[actix_rt::test]
async fn an_offer_the_peer_does_not_vouch_for_gets_nothing_back() {
    let node = tcp_node();
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let from = format!("peer@{}", listener.local_addr().unwrap());
    let mut forged = TcpStream::connect(node.address()).await.unwrap();
    let ping = Ping { seq: 7, payload: Bytes::from_static(b"x") }.encode_to_vec();
    let offer = format!("Libprocess-Duplex: {TOKEN}\r\n");
    forged.write_all(&request(&from, echo.pid().id(), &offer, &ping)).await.unwrap();
    answer_check(&listener, "404 Not Found").await;
    let (mut own, _) = within(listener.accept()).await.unwrap();
    let text = read_until(&mut own, "0\r\n\r\n").await;
    assert!(text.starts_with("POST /peer/libprocess.testing.Pong HTTP/1.1\r\n"), "{text:?}");
    // Nothing came back on the forged connection: not the reply, not a `202` (the
    // node's next message to the peer also goes on its own connection).
    forged.write_all(&request(&from, echo.pid().id(), "", &ping)).await.unwrap();
    read_until(&mut own, "libprocess.testing.Pong").await;
    drop(forged);
    node.shutdown().await;
}

/// The attack the check closes, between real nodes: a client on the peer's IP claims a
/// process of a live node `there` and offers its connection to `here`; `there` never
/// issued the token, so the reply to the claimed process reaches the real one.
#[actix_rt::test]
async fn a_forged_offer_does_not_divert_a_live_nodes_messages() {
    let here = tcp_node();
    let there = tcp_node();
    let echo = here.spawn("echo", Echo::default()).unwrap();
    let (victim, mut seen) = probe(&there, "victim");
    let mut forged = TcpStream::connect(here.address()).await.unwrap();
    let ping = Ping { seq: 3, ..Default::default() }.encode_to_vec();
    let offer = format!("Libprocess-Duplex: {TOKEN}\r\n");
    forged
        .write_all(&request(&victim.pid().to_string(), echo.pid().id(), &offer, &ping))
        .await
        .unwrap();
    assert_eq!(next(&mut seen).await, Seen::Pong { from: echo.pid().clone(), seq: 3 });
    here.shutdown().await;
    there.shutdown().await;
}

/// Established TCP connections to `address` (IPv4, from `/proc/net/tcp`): its listener's
/// accepted connections, as the kernel sees them.
fn established_to(address: std::net::SocketAddr) -> usize {
    let std::net::SocketAddr::V4(v4) = address else { panic!("an IPv4 address") };
    // `/proc/net/tcp` writes an address as the IP's bytes in host order, then the port.
    let wanted = format!("{:08X}:{:04X}", u32::from_ne_bytes(v4.ip().octets()), v4.port());
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(2) == Some(&wanted.as_str()) && fields.get(3) == Some(&"01")
        })
        .count()
}

/// Between two live nodes the check passes and one connection carries both ways: the
/// node that replies opens none to the node that asked (its check's connection is closed
/// once answered).
#[actix_rt::test]
async fn two_nodes_share_one_connection() {
    let here = tcp_node();
    let there = tcp_node();
    let (asker, mut asked) = probe(&here, "asker");
    let (watcher, mut watched) = probe(&there, "watcher");
    for seq in 1..4 {
        here.send(asker.pid(), watcher.pid(), Ping { seq, ..Default::default() });
        assert_eq!(next(&mut watched).await, Seen::Ping { from: asker.pid().clone(), seq });
        assert_eq!(next(&mut asked).await, Seen::Pong { from: watcher.pid().clone(), seq });
    }
    assert_eq!(established_to(there.address()), 1, "here's connection to there");
    assert_eq!(established_to(here.address()), 0, "there opened no connection to here");
    here.shutdown().await;
    there.shutdown().await;
}

/// Between two nodes the reply rides the requester's connection, and links through it
/// still break both ways: each side's linked process gets `exited` when the other node
/// goes, whichever opened the connection.
#[actix_rt::test]
async fn exits_are_reported_through_a_shared_connection() {
    for opener_dies in [true, false] {
        let here = tcp_node();
        let there = tcp_node();
        let (asker, mut asked) = probe(&here, "asker");
        let (watcher, mut watched) = probe(&there, "watcher");
        // `here` opens the connection; `there` replies on it.
        here.send(asker.pid(), watcher.pid(), Ping { seq: 1, ..Default::default() });
        assert_eq!(next(&mut watched).await, Seen::Ping { from: asker.pid().clone(), seq: 1 });
        assert_eq!(next(&mut asked).await, Seen::Pong { from: watcher.pid().clone(), seq: 1 });
        let (a, w) = (asker.pid().clone(), watcher.pid().clone());
        asker.dispatch(move |_, ctx| ctx.link(&w)).await.unwrap();
        watcher.dispatch(move |_, ctx| ctx.link(&a)).await.unwrap();
        // Both links are in place on both sides before either node goes.
        there.send(watcher.pid(), asker.pid(), Ping { seq: 2, ..Default::default() });
        assert_eq!(next(&mut asked).await, Seen::Ping { from: watcher.pid().clone(), seq: 2 });
        assert_eq!(next(&mut watched).await, Seen::Pong { from: asker.pid().clone(), seq: 2 });
        if opener_dies {
            here.shutdown().await;
            assert_eq!(next(&mut watched).await, Seen::Exited(asker.pid().clone()));
            there.shutdown().await;
        } else {
            there.shutdown().await;
            assert_eq!(next(&mut asked).await, Seen::Exited(watcher.pid().clone()));
            here.shutdown().await;
        }
    }
}

/// A link that reconnects on the node that adopted the connection replaces it without
/// `exited` on either side; messages keep flowing both ways and a later death is still
/// reported.
#[actix_rt::test]
async fn a_reconnect_on_the_adopting_side_reports_nothing() {
    let here = tcp_node();
    let there = tcp_node();
    let (asker, mut asked) = probe(&here, "asker");
    let (watcher, mut watched) = probe(&there, "watcher");
    here.send(asker.pid(), watcher.pid(), Ping { seq: 1, ..Default::default() });
    assert_eq!(next(&mut watched).await, Seen::Ping { from: asker.pid().clone(), seq: 1 });
    assert_eq!(next(&mut asked).await, Seen::Pong { from: watcher.pid().clone(), seq: 1 });
    let (a, w) = (asker.pid().clone(), watcher.pid().clone());
    asker.dispatch(move |_, ctx| ctx.link(&w)).await.unwrap();
    let a2 = a.clone();
    watcher.dispatch(move |_, ctx| ctx.link(&a2)).await.unwrap();
    watcher.dispatch(move |_, ctx| ctx.link_reconnect(&a)).await.unwrap();
    for seq in 2..5 {
        there.send(watcher.pid(), asker.pid(), Ping { seq, ..Default::default() });
        assert_eq!(next(&mut asked).await, Seen::Ping { from: watcher.pid().clone(), seq });
        assert_eq!(next(&mut watched).await, Seen::Pong { from: asker.pid().clone(), seq });
        here.send(asker.pid(), watcher.pid(), Ping { seq, ..Default::default() });
        assert_eq!(next(&mut watched).await, Seen::Ping { from: asker.pid().clone(), seq });
        assert_eq!(next(&mut asked).await, Seen::Pong { from: watcher.pid().clone(), seq });
    }
    here.shutdown().await;
    assert_eq!(next(&mut watched).await, Seen::Exited(asker.pid().clone()));
    there.shutdown().await;
}

/// A connection remembers the mailbox its messages go to; when that process ends and
/// another takes its id, the next message over the same connection reaches the new one.
#[actix_rt::test]
async fn a_respawned_receiver_gets_the_connections_next_messages() {
    let here = tcp_node();
    let there = tcp_node();
    let (asker, _asked) = probe(&here, "asker");
    let (first, mut first_rx) = probe(&there, "receiver");
    here.send(asker.pid(), first.pid(), Ping { seq: 1, ..Default::default() });
    assert_eq!(next(&mut first_rx).await, Seen::Ping { from: asker.pid().clone(), seq: 1 });
    there.terminate(first.pid());
    there.wait(first.pid()).await;
    let (second, mut second_rx) = probe(&there, "receiver");
    here.send(asker.pid(), second.pid(), Ping { seq: 2, ..Default::default() });
    assert_eq!(next(&mut second_rx).await, Seen::Ping { from: asker.pid().clone(), seq: 2 });
    here.shutdown().await;
    there.shutdown().await;
}
