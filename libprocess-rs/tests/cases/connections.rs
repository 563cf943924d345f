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
