//! Which connection a message arrived on: the identity a receiver can check the claimed
//! `Libprocess-From` against (the master binds an authenticated pid to it).

use std::sync::Arc;

use bytes::Bytes;
use libprocess::testing::Ping;
use libprocess::{Clock, Connection, Context, Hooks, Node, Pid, Process, SimNetwork};
use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::support::{tcp_node, within};

libprocess::protocol! {
    /// What the connection probe accepts.
    enum ViaMessage {
        Ping(Ping),
    }
}

/// Reports the sender, sequence number and connection of every ping.
struct ViaProbe {
    tx: mpsc::UnboundedSender<(Pid, u64, Option<Connection>)>,
}

impl Process for ViaProbe {
    type Message = ViaMessage;

    fn on_message(&mut self, from: Pid, message: ViaMessage, ctx: &mut Context<'_, Self>) {
        let ViaMessage::Ping(ping) = message;
        let _ = self.tx.send((from, ping.seq, ctx.via()));
    }
}

type Seen = mpsc::UnboundedReceiver<(Pid, u64, Option<Connection>)>;

fn via_probe(node: &Node, id: &str) -> (Pid, Seen) {
    let (tx, rx) = mpsc::unbounded_channel();
    let probe = node.spawn(id, ViaProbe { tx }).expect("spawn probe");
    (probe.pid().clone(), rx)
}

async fn next(rx: &mut Seen) -> (Pid, u64, Option<Connection>) {
    within(rx.recv()).await.expect("probe gone")
}

/// A hand-written libprocess request claiming `from`, as any TCP client can write it.
fn forged(from: &Pid, to_id: &str, seq: u64) -> Vec<u8> {
    let body = Ping { seq, payload: Bytes::new() }.encode_to_vec();
    let mut out = format!(
        "POST /{to_id}/libprocess.testing.Ping HTTP/1.1\r\nLibprocess-From: {from}\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Messages from one peer node share its one connection; a second client writing the
/// same `Libprocess-From` arrives on another connection; a local message has none.
#[actix_rt::test]
async fn messages_carry_the_connection_they_arrived_on() {
    let server = tcp_node();
    let client = tcp_node();
    let (target, mut rx) = via_probe(&server, "master");
    let sender: Pid = Pid::new("scheduler(1)", client.address());
    for seq in 1..=2 {
        client.send(&sender, &target, Ping { seq, payload: Bytes::new() });
    }
    let (from, _, first) = next(&mut rx).await;
    assert_eq!(from, sender);
    let first = first.expect("a message from another node has a connection");
    assert!(first.peer.ip().is_loopback());
    assert_eq!(next(&mut rx).await, (sender.clone(), 2, Some(first)));

    // A forger claims the same pid on its own connection.
    let mut stream = within(TcpStream::connect(server.address())).await.unwrap();
    stream.write_all(&forged(&sender, "master", 3)).await.unwrap();
    let (from, seq, forger) = next(&mut rx).await;
    assert_eq!((from, seq), (sender.clone(), 3));
    let forger = forger.expect("a connection");
    assert_ne!(forger.id, first.id, "the forger must not share the real peer's connection");

    // The real peer still talks on its own connection; a local sender has none.
    client.send(&sender, &target, Ping { seq: 4, payload: Bytes::new() });
    assert_eq!(next(&mut rx).await, (sender.clone(), 4, Some(first)));
    let local = Pid::new("local", server.address());
    server.send(&local, &target, Ping { seq: 5, payload: Bytes::new() });
    assert_eq!(next(&mut rx).await, (local, 5, None));
    client.shutdown().await;
    server.shutdown().await;
}

/// On a simulated network, each pair of nodes has a connection that lasts until the
/// network between them is cut; after healing, messages come on a new one.
#[actix_rt::test]
async fn simulated_connections_are_replaced_after_a_partition() {
    let sim = SimNetwork::new();
    let clock = Clock::paused();
    let hooks = Arc::new(Hooks::default());
    let node = |address: &str| {
        Node::builder(address.parse().unwrap())
            .simulated(&sim)
            .clock(clock.clone())
            .hooks(hooks.clone())
            .start()
            .unwrap()
    };
    let (m1, a1) = (node("10.0.0.1:5050"), node("10.0.0.2:5051"));
    let (target, mut rx) = via_probe(&m1, "master");
    let agent = Pid::new("slave(1)", a1.address());
    a1.send(&agent, &target, Ping { seq: 1, payload: Bytes::new() });
    let (_, _, before) = next(&mut rx).await;
    let before = before.expect("a connection");
    assert_eq!(before.peer, a1.address());
    a1.send(&agent, &target, Ping { seq: 2, payload: Bytes::new() });
    assert_eq!(next(&mut rx).await.2, Some(before));

    sim.partition(m1.address(), a1.address());
    sim.heal(m1.address(), a1.address());
    a1.send(&agent, &target, Ping { seq: 3, payload: Bytes::new() });
    let (_, _, after) = next(&mut rx).await;
    assert_ne!(after.expect("a connection").id, before.id);
    m1.shutdown().await;
    a1.shutdown().await;
}

/// Reads from `stream` until what arrived holds `count` answers; returns their status
/// codes, in order.
async fn answers(stream: &mut TcpStream, count: usize) -> Vec<String> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).to_string();
        let codes: Vec<String> =
            text.split("HTTP/1.1 ").skip(1).map(|answer| answer[..3].to_string()).collect();
        if codes.len() >= count {
            return codes;
        }
        let n = within(stream.read(&mut buffer)).await.expect("read answers");
        assert!(n > 0, "connection closed after {codes:?}");
        seen.extend_from_slice(&buffer[..n]);
    }
}

/// A message connection on the I/O runtime moves to the thread of the process its
/// messages go to (`net/placement.rs`), back when it carries a message to a process on
/// another thread, and back before hyper serves an HTTP request on it: every message
/// arrives in order, on the one connection, and every request is answered in order.
#[actix_rt::test]
async fn connections_follow_their_process_and_come_back() {
    let server = tcp_node();
    let (_master, mut here) = via_probe(&server, "master");
    let arbiter = actix_rt::Arbiter::new();
    let (tx, mut there) = mpsc::unbounded_channel();
    let other = server.spawn_on(&arbiter.handle(), "other", move || ViaProbe { tx }).unwrap();
    let sender: Pid = "scheduler(1)@127.0.0.1:9".parse().unwrap();

    // To "master" (moves to this thread), "other" (back to the I/O runtime), "master".
    let mut stream = within(TcpStream::connect(server.address())).await.unwrap();
    stream.write_all(&forged(&sender, "master", 1)).await.unwrap();
    let (_, seq, first) = next(&mut here).await;
    assert_eq!(seq, 1);
    stream.write_all(&forged(&sender, "other", 2)).await.unwrap();
    let (_, seq, via) = next(&mut there).await;
    assert_eq!((seq, via), (2, first));
    stream.write_all(&forged(&sender, "master", 3)).await.unwrap();
    assert_eq!(next(&mut here).await, (sender.clone(), 3, first));
    assert_eq!(answers(&mut stream, 3).await, ["202", "202", "202"]);

    // A message (moves to this thread), then HTTP on the same connection (served by hyper
    // from the I/O runtime), then another message through hyper's path.
    let mut stream = within(TcpStream::connect(server.address())).await.unwrap();
    stream.write_all(&forged(&sender, "master", 4)).await.unwrap();
    let (_, seq, second) = next(&mut here).await;
    assert_eq!(seq, 4);
    assert_ne!(second, first);
    stream.write_all(b"GET /nobody/state HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    stream.write_all(&forged(&sender, "master", 5)).await.unwrap();
    assert_eq!(next(&mut here).await, (sender.clone(), 5, second));
    assert_eq!(answers(&mut stream, 3).await, ["202", "404", "202"]);
    drop(other);
    arbiter.stop();
    server.shutdown().await;
}
