//! Messages both ways on one connection, between two libprocess-rs nodes.
//!
//! Mesos: libprocess sends each direction on a connection of its own. process.cpp
//! `SocketManager::send` writes to the socket it keeps for the receiver's address
//! (`persists` / `temps`), opening one if there is none, and reads that socket only to
//! throw the answers away (`ignore_recv_data`); a socket it accepted (`accepted`) is read
//! for requests and never written to but for their answers. So a request and its reply
//! travel on two connections, and each connection carries data one way only: the
//! receiving kernel acknowledges it with segments of their own (one for every second
//! message, sent in the receiver's `recvfrom`, on the round trip's critical path). A
//! request and its reply on one connection take two segments, each acknowledging the
//! other; on two connections they took three.
//!
//! Here, when both ends are libprocess-rs, the connection one node opens carries the
//! other node's messages back:
//!
//! 1. A node's outbound plain connection marks the first message it writes with a
//!    `Libprocess-Duplex: 1` header: "I read messages back on this connection". Apache
//!    libprocess ignores headers it does not know, so to it this is an ordinary message.
//! 2. The accepting node looks at the mark on the first request of a plain connection
//!    only. It adopts the connection as its own to the sender's node (the address of the
//!    `Libprocess-From` pid, which must have the connection's IP) when it has no
//!    connection to that address yet (`Outbound::adopt`): its messages to that node are
//!    written to this socket from then on, and it writes no `202`s on it (the opener
//!    would take them for messages). Otherwise it answers `202`s as before, and each
//!    direction keeps its own connection (both nodes opening at once end that way).
//! 3. The opener tells the two from the first bytes it reads back: an answer (`HTTP/`)
//!    means an Apache libprocess peer, an older libprocess-rs or a declined offer, and
//!    its answers are discarded as before; a request means the peer adopted it, and the
//!    reading side is served like an accepted message connection (`server::serve_replies`:
//!    the same decoder, bounds, placement on the process's thread), minus the answers.
//!
//! What a broken connection means is unchanged: the node that reads a duplex connection
//! owns its life. When its reading ends (the peer closed it or it broke), its outbound
//! entry for the peer goes and every process linked through it gets `exited`, on both
//! nodes. A node that stops *writing* to it (a link's `Reconnect` replaces it, or the
//! node shuts down its outbound side) does not shut the socket down, since the peer may
//! still be writing to it: it stays open, read, until the peer closes it or the node
//! stops. TLS connections and the priority lane's are never duplex.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Weak;

use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

use super::server;
use crate::mailbox::Home;
use crate::node::{NodeConfig, NodeInner};

/// The header that offers a connection for messages back; on the first message only.
pub(super) const MARK: &[u8] = b"Libprocess-Duplex: 1\r\n";

/// What a node's outbound connections need to read messages back: the node's serving
/// setup. `None` in `Outbound` for the lane's connections and on a TLS node.
pub(crate) struct Replies {
    /// The node's arbiter (`server::Routing::home`).
    pub(crate) home: Option<Home>,
    /// `io_threads = 0`: the reading side is served on `home`.
    pub(crate) single_threaded: bool,
    /// The node's I/O runtime, where a reading side that moved goes back to.
    pub(crate) io: tokio::runtime::Handle,
    pub(crate) config: NodeConfig,
    /// Changes when the node stops.
    pub(crate) stop: watch::Receiver<bool>,
}

/// The reading side of an outbound connection that offered to carry messages back.
pub(super) struct ReadBack {
    /// Resolves when the reading side ends: the peer closed or broke the connection, or
    /// the node stopped.
    pub(super) ended: oneshot::Receiver<()>,
    /// Dropped with the connection's writer: a reading side that only discards answers
    /// ends with it (one that carries messages does not).
    _written: oneshot::Sender<()>,
}

/// Starts the reading side of the outbound plain connection `stream` to `peer`, on a
/// second descriptor of the socket (so that it can move to its process's thread while
/// the writer's stays registered where it is).
pub(super) fn read_back(
    stream: &std::net::TcpStream,
    peer: SocketAddr,
    replies: &Arc<Replies>,
    node: Weak<NodeInner>,
) -> std::io::Result<ReadBack> {
    let second = stream.try_clone()?;
    let (alive, ended) = oneshot::channel();
    let (written, unwritten) = oneshot::channel();
    let reading = read(second, peer, replies.clone(), node, alive, unwritten);
    match &replies.home {
        // `false`: the arbiter stopped; `reading` is dropped, and `ended` resolves.
        Some(home) if replies.single_threaded => drop(home.arbiter.spawn(reading)),
        _ => drop(replies.io.spawn(reading)),
    }
    Ok(ReadBack { ended, _written: written })
}

/// Reads an outbound connection: discards answers, or serves the peer's messages.
async fn read(
    second: std::net::TcpStream,
    peer: SocketAddr,
    replies: Arc<Replies>,
    node: Weak<NodeInner>,
    alive: oneshot::Sender<()>,
    mut unwritten: oneshot::Receiver<()>,
) {
    let Ok(stream) = TcpStream::from_std(second) else { return };
    let mut stop = replies.stop.clone();
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        peeked = stream.peek(&mut first) => peeked,
        _ = &mut unwritten => return,
        _ = stop.changed() => return,
    };
    match peeked {
        // A request: the peer adopted the connection.
        Ok(1) if first[0] != b'H' => {
            server::serve_replies(stream, peer, node, &replies, alive).await;
        }
        // Answers (`HTTP/1.1 202 ...`): libprocess's shape.
        Ok(n) if n > 0 => {
            tokio::select! {
                _ = super::outbound::discard(stream) => {}
                _ = unwritten => {}
                _ = stop.changed() => {}
            }
        }
        // Closed or broken before a byte came back.
        _ => {}
    }
}
