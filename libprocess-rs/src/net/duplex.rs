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
//!    `Libprocess-Duplex: <token>` header (32 hex digits, random, one per connection):
//!    "I read messages back on this connection, and I will vouch for this token".
//!    Apache libprocess ignores headers it does not know, so to it this is an ordinary
//!    message.
//! 2. The accepting node looks at the mark on the first request of a plain connection
//!    only, and takes the offer only when it has no connection to the sender's node yet
//!    (the address of the `Libprocess-From` pid, which must have the connection's IP).
//!    Otherwise it answers `202`s as before, and each direction keeps its own connection
//!    (both nodes opening at once end that way).
//! 3. **It asks before it adopts** (`Outbound::adopt`, [`verify`]). A pid is only a
//!    claim: any process on the peer's host could connect first, claim the peer's pid
//!    and receive what this node sends to the peer. So the node opens a short connection
//!    of its own to the claimed address, where only the real peer listens, and asks
//!    whether it issued the token for a connection to this node (a message to
//!    `__duplex__`, [`CHECK_ID`], answered `202` or `404`, [`Tokens::vouches`]). Until
//!    the answer, what the node sends to the peer waits in the connection's queue (at
//!    most `NodeConfig::connect_timeout`); answered `202`, it is written to the offered
//!    connection; otherwise the node opens its own connection to the peer, as for an
//!    Apache libprocess peer, and the offered connection stays one-way. Either way the
//!    offered connection is answered nothing from then on (its opener discards answers).
//! 4. The opener tells the two from the first bytes it reads back: an answer (`HTTP/`)
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

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

use super::server;
use crate::mailbox::Home;
use crate::message::MessageName;
use crate::node::{NodeConfig, NodeInner};

/// The header line that offers a connection for messages back, on its first message
/// only, with the connection's token.
pub(super) fn mark(token: u128) -> Bytes {
    Bytes::from(format!("Libprocess-Duplex: {token:032x}\r\n"))
}

/// A `Libprocess-Duplex` value's token: exactly 32 hex digits.
pub(super) fn parse_token(value: &[u8]) -> Option<u128> {
    if value.len() != 32 || !value.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u128::from_str_radix(std::str::from_utf8(value).ok()?, 16).ok()
}

/// The id a node asks at when it checks a token, and the message's name. The node
/// answers such a message itself, before any process of that id could take it (and
/// answer `202` for a token it never saw).
pub(crate) const CHECK_ID: &str = "__duplex__";
const CHECK_NAME: &str = "libprocess.DuplexCheck";

/// The tokens of a node's outbound connections that offered themselves, with the peer
/// each was offered to: what the node vouches for when a peer asks.
#[derive(Default)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<u128, SocketAddr>>,
}

impl Tokens {
    /// A fresh token for a connection to `peer`, withdrawn when the guard is dropped
    /// (the connection ended).
    pub(super) fn issue(self: &Arc<Self>, peer: SocketAddr) -> Issued {
        let mut issued = self.issued.lock();
        let token = loop {
            let token: u128 = rand::random();
            if !issued.contains_key(&token) {
                break token;
            }
        };
        issued.insert(token, peer);
        Issued { tokens: self.clone(), token }
    }

    /// Whether this node offered a connection with `token` to the node at `asker`, asked
    /// from `client`, the asking connection's IP (an asker cannot vouch for another).
    pub(crate) fn vouches(&self, token: u128, asker: SocketAddr, client: IpAddr) -> bool {
        asker.ip() == client && self.issued.lock().get(&token) == Some(&asker)
    }
}

/// A token in use; withdrawn on drop.
pub(super) struct Issued {
    tokens: Arc<Tokens>,
    pub(super) token: u128,
}

impl Drop for Issued {
    fn drop(&mut self) {
        self.tokens.issued.lock().remove(&self.token);
    }
}

/// Asks the node listening at `peer` whether it offered this node (at `own`) a
/// connection with `token`: a connection of this node's own, one request, its answer's
/// status line. `true` only for `202`; no answer within `timeout` is a no.
pub(super) async fn verify(
    peer: SocketAddr,
    own: SocketAddr,
    token: u128,
    timeout: Duration,
) -> bool {
    let asked = async {
        let mut stream = TcpStream::connect(peer).await?;
        let _ = stream.set_nodelay(true);
        // Not a `libprocess/` user agent: the peer answers at once, not with a batch.
        let request = format!(
            "POST /{CHECK_ID}/{CHECK_NAME} HTTP/1.1\r\nUser-Agent: libprocess-rs-duplex-check\r\n\
             Libprocess-From: {CHECK_ID}@{own}\r\nConnection: Keep-Alive\r\nHost: {peer}\r\n\
             Content-Length: 32\r\n\r\n{token:032x}"
        );
        stream.write_all(request.as_bytes()).await?;
        // `HTTP/1.1 202`: all that is needed of the answer.
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).await?;
        Ok::<bool, std::io::Error>(&status[9..] == b"202")
    };
    matches!(tokio::time::timeout(timeout, asked).await, Ok(Ok(true)))
}

/// Whether a check's body is a token this node vouches for, asked by the node at `asker`
/// over a connection from `client`.
pub(crate) fn answer_check(
    tokens: &Tokens,
    name: &MessageName,
    body: &[u8],
    asker: SocketAddr,
    client: IpAddr,
) -> bool {
    *name == MessageName::owned(CHECK_NAME)
        && parse_token(body).is_some_and(|token| tokens.vouches(token, asker, client))
}

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
    /// The tokens of this node's offered connections.
    pub(crate) tokens: Arc<Tokens>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_exactly_32_hex_digits() {
        assert_eq!(
            parse_token(b"0123456789abcdef0123456789ABCDEF"),
            Some(0x0123456789abcdef0123456789abcdef)
        );
        assert_eq!(parse_token(b"1"), None, "an older node's offer");
        assert_eq!(parse_token(b"0123456789abcdef0123456789abcde"), None);
        assert_eq!(parse_token(b"0123456789abcdef0123456789abcdef0"), None);
        assert_eq!(parse_token(b"+123456789abcdef0123456789abcdef"), None);
        assert_eq!(parse_token(b"0123456789abcdef0123456789abcdeg"), None);
        let token = 0xfeed_u128 << 64 | 7;
        let mark = mark(token);
        let value =
            mark.strip_prefix(b"Libprocess-Duplex: ").unwrap().strip_suffix(b"\r\n").unwrap();
        assert_eq!(parse_token(value), Some(token));
    }

    /// A node vouches for a token only to the node it offered the connection to, asked
    /// from that node's IP, and only while the connection lives.
    #[test]
    fn a_token_is_vouched_for_to_its_peer_only_while_it_is_issued() {
        let tokens = Arc::new(Tokens::default());
        let peer: SocketAddr = "10.0.0.2:5050".parse().unwrap();
        let issued = tokens.issue(peer);
        let other = tokens.issue("10.0.0.3:5050".parse().unwrap());
        assert_ne!(issued.token, other.token);
        assert!(tokens.vouches(issued.token, peer, peer.ip()));
        assert!(
            !tokens.vouches(issued.token, peer, "10.0.0.9".parse().unwrap()),
            "asked from another IP"
        );
        assert!(
            !tokens.vouches(issued.token, "10.0.0.2:5051".parse().unwrap(), peer.ip()),
            "another node"
        );
        assert!(!tokens.vouches(other.token, peer, peer.ip()), "a token offered to another node");
        assert!(!tokens.vouches(issued.token ^ 1, peer, peer.ip()));
        let check = MessageName::owned(CHECK_NAME);
        let body = format!("{:032x}", issued.token);
        assert!(answer_check(&tokens, &check, body.as_bytes(), peer, peer.ip()));
        assert!(!answer_check(
            &tokens,
            &MessageName::owned("x.Y"),
            body.as_bytes(),
            peer,
            peer.ip()
        ));
        assert!(!answer_check(&tokens, &check, b"not a token", peer, peer.ip()));
        let token = issued.token;
        drop(issued);
        assert!(!tokens.vouches(token, peer, peer.ip()), "withdrawn with its connection");
        assert!(tokens.vouches(
            other.token,
            "10.0.0.3:5050".parse().unwrap(),
            "10.0.0.3".parse().unwrap()
        ));
    }
}
