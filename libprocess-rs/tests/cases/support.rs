//! Shared test helpers: a probe process that reports what it receives.

use std::net::SocketAddr;
use std::time::Duration;

use libprocess::testing::{Ping, Pong};
use libprocess::{Context, DecodeError, Node, Pid, Process, ProcessRef};
use tokio::sync::mpsc;

libprocess::protocol! {
    /// What the probe accepts.
    pub enum ProbeMessage {
        Ping(Ping),
        Pong(Pong),
    }
}

/// Something the probe saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Ping { from: Pid, seq: u64 },
    Pong { from: Pid, seq: u64 },
    Exited(Pid),
    Unknown(String),
    Malformed(String),
}

/// Reports every event to a channel; answers pings with pongs.
pub struct Probe {
    pub tx: mpsc::UnboundedSender<Seen>,
}

impl Process for Probe {
    type Message = ProbeMessage;

    fn on_message(&mut self, from: Pid, message: ProbeMessage, ctx: &mut Context<'_, Self>) {
        match message {
            ProbeMessage::Ping(ping) => {
                let _ = self.tx.send(Seen::Ping { from, seq: ping.seq });
                ctx.reply(Pong { seq: ping.seq, payload: ping.payload });
            }
            ProbeMessage::Pong(pong) => {
                let _ = self.tx.send(Seen::Pong { from, seq: pong.seq });
            }
        }
    }

    fn on_exited(&mut self, pid: Pid, _ctx: &mut Context<'_, Self>) {
        let _ = self.tx.send(Seen::Exited(pid));
    }

    fn on_unknown(&mut self, _from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        let _ = self.tx.send(match error {
            DecodeError::Unknown { name } => Seen::Unknown(name),
            DecodeError::Malformed { name, .. } => Seen::Malformed(name),
        });
    }
}

/// Spawns a probe called `id` on `node`.
pub fn probe(node: &Node, id: &str) -> (ProcessRef<Probe>, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (node.spawn(id, Probe { tx }).expect("spawn probe"), rx)
}

/// The next event, failing the test if none comes (a guard against hangs, not a wait).
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("probe gone")
}

/// A TCP node on a free loopback port.
pub fn tcp_node() -> Node {
    Node::builder(loopback()).start().expect("start node")
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Fails the test if `fut` does not finish within 20 s of real time.
pub async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut).await.expect("timed out")
}

/// A real HTTP/1.1 request over TCP; returns status, headers and the whole body.
pub async fn http_call(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let stream = within(tokio::net::TcpStream::connect(address)).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    let mut request =
        http::Request::builder().method(method).uri(path).header("host", address.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(http_body_util::Full::new(bytes::Bytes::from(body))).unwrap();
    let response = within(sender.send_request(request)).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = within(response.into_body().collect()).await.expect("body").to_bytes().to_vec();
    (status, headers, body)
}
