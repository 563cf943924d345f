//! Message connections: how the inbound side serves libprocess messages without hyper.
//!
//! Mesos: process.cpp `SocketManager` reads each connection through `decoder.hpp` and
//! turns every request that names a sender into a `MessageEvent` for its process,
//! answering `202 Accepted`. Here every accepted connection starts in [`serve_messages`]:
//!
//! 1. Bytes are read into one receive buffer; [`decoder::decode`] finds the message
//!    requests at its start (head fields borrowed, body located, nothing copied).
//! 2. Each message is resolved (sender and receiver pids, name: cached per connection,
//!    since a connection carries one peer's traffic), delivered through
//!    [`Node::deliver`] with its body as a slice of the buffer, and answered `202`,
//!    `404`, `400` or `503` as the router answers it (`router.rs`).
//! 3. The answers go out together: written once [`ANSWER_DELAY`] has passed since the
//!    oldest of them, or when they fill [`ANSWER_BYTES`], or before the connection goes
//!    to hyper or closes.
//! 4. The first request that is not a plain message (an HTTP endpoint, a browser, curl,
//!    a v1 API call, a stream, a malformed or oversized message) ends this loop: the
//!    connection and the bytes read but not served go to hyper ([`Prefixed`]), which
//!    serves it from that request on as it serves every HTTP client, error answers
//!    (`413`, `400`, `431`) included.
//!
//! The bounds are the node's: a head that starts arriving must be complete within
//! `header_read_timeout` (else the connection closes, as hyper's path does), a body
//! within `body_read_timeout` (else `408`); the decoder leaves anything over
//! `max_header_bytes` or `max_body_bytes` to hyper; an idle connection waits forever.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use super::decoder::{self, BodyAt, Decoded, Limits, MessageRequest};
use super::duplex;
use super::placement::{Go, Placement};
use crate::mailbox::Mailbox;
use crate::message::{Body, Connection, Envelope, MessageName};
use crate::node::{Node, NodeConfig, NodeInner};
use crate::pid::Pid;
use crate::wire::{self, WireError};

/// Room made in the receive buffer before each read.
const READ_BYTES: usize = 64 * 1024;

/// Entries in each of a connection's head caches (senders, paths); a peer using more
/// churns them (round robin) and pays a parse per miss.
const CACHED_HEADS: usize = 8;

/// What a connection is waiting for.
#[derive(Clone, Copy)]
enum Waiting {
    /// Nothing: no request has started (idle persistent connections wait forever).
    Idle,
    /// The rest of a request head, until the deadline.
    Head(Instant),
    /// The rest of a body, until the deadline.
    Body(Instant),
}

/// How long the answers to messages from libprocess peers (`User-Agent: libprocess/...`)
/// may wait to be written together. Such a peer discards them (Mesos: process.cpp
/// `ignore_recv_data`), so a connection carrying one message at a time
/// writes its `202`s a few dozen to a write instead of one write (and, at the peer, one
/// wake-up and one read) per message. Any other sender's answers are written at once.
const ANSWER_DELAY: Duration = Duration::from_millis(1);

/// Answers written at once, without waiting for [`ANSWER_DELAY`], past this many bytes.
const ANSWER_BYTES: usize = 16 * 1024;

/// How a message loop ended.
pub(super) enum Ended {
    /// The connection closed (or broke, or timed out).
    Closed,
    /// A request that is not a plain message: the bytes read and not yet served, for
    /// hyper (after every answer before it was written).
    Http(Bytes),
    /// The connection is better served on another thread ([`Placement`]): the state in
    /// the [`MessageConn`] goes with it, and the loop resumes there.
    Move(Go),
    /// Its first request offers it for messages back to the node at this address, with
    /// this token (`duplex`): the server decides ([`MessageConn::duplex`]) and resumes
    /// the loop, which then serves that request.
    Offered(SocketAddr, u128),
}

/// Whether a connection carries messages both ways (`duplex`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Duplex {
    /// Messages one way, answered: a `Libprocess-Duplex` mark is not looked at (TLS, the
    /// lane, an offer declined or come too late).
    Never,
    /// Messages one way so far: the mark on the first request is an offer.
    Open,
    /// Messages both ways: nothing is answered, and a request that is not a message
    /// closes the connection (hyper's answers would mix with this node's messages).
    On,
}

/// A message connection's state between reads: what a move to another thread carries.
pub(super) struct MessageConn {
    buffer: BytesMut,
    /// Answers not yet written.
    answers: Vec<u8>,
    /// When the answers not yet written are due (`ANSWER_DELAY` after the oldest).
    answers_due: Option<Instant>,
    heads: Heads,
    /// The last message head parsed: the next, when it is the same, is not parsed again.
    last_head: decoder::LastHead,
    waiting: Waiting,
    /// The deadline of the next read (see [`MessageConn::read`]): one timer for the
    /// connection's life, moved only when its deadline changes, where a `timeout_at` per
    /// read put a timer into the runtime's wheel and took it out again for every message.
    /// Created on the runtime that polls it (dropped when the connection moves).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// `202 Accepted` as [`write_answer`] writes it, with the date it was written for:
    /// the answer to nearly every message, copied whole (rendering it field by field
    /// cost ~450 instructions per message).
    accepted: (Vec<u8>, [u8; 29]),
    via: Connection,
    pub(super) placement: Placement,
    pub(super) duplex: Duplex,
}

/// Serves libprocess messages on `stream` until it closes (`None`) or a request that is
/// not a plain message arrives: then the bytes read and not yet served are returned, and
/// hyper serves the connection from there (after every answer before it is written).
/// The connection stays on the thread it is on (see [`MessageConn`] for one that moves).
pub(super) async fn serve_messages<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    node: &Weak<NodeInner>,
    config: &NodeConfig,
    via: Connection,
) -> Option<Bytes> {
    let mut conn = MessageConn::new(via, Placement::fixed());
    match conn.serve(stream, node, config).await {
        Ended::Http(unserved) => Some(unserved),
        Ended::Closed | Ended::Move(_) | Ended::Offered(..) => None,
    }
}

impl MessageConn {
    pub(super) fn new(via: Connection, placement: Placement) -> MessageConn {
        MessageConn {
            buffer: BytesMut::with_capacity(READ_BYTES),
            answers: Vec::new(),
            answers_due: None,
            heads: Heads::default(),
            last_head: decoder::LastHead::default(),
            waiting: Waiting::Idle,
            timer: None,
            accepted: (Vec::new(), [0; 29]),
            via,
            placement,
            duplex: Duplex::Never,
        }
    }

    /// The identity its messages carry.
    pub(super) fn via(&self) -> Connection {
        self.via
    }

    /// Serves messages on `stream` until it closes, a request is hyper's, or the
    /// connection should move (what [`Ended`] says).
    pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        node: &Weak<NodeInner>,
        config: &NodeConfig,
    ) -> Ended {
        let limits = Limits {
            max_header_bytes: config.max_header_bytes,
            max_body_bytes: config.max_body_bytes,
        };
        loop {
            let mut prompt = false;
            let served = serve_buffered(self, node, &limits, &mut prompt);
            if self.duplex == Duplex::On {
                self.answers.clear();
            } else if !self.answers.is_empty() {
                // Before hyper answers anything on this connection, every answer before it;
                // and at once to a sender that is not a libprocess peer (it may wait for it).
                if prompt || matches!(served, Served::Other) || self.answers.len() >= ANSWER_BYTES {
                    if write_answers(stream, &mut self.answers).await.is_err() {
                        return Ended::Closed;
                    }
                    self.answers_due = None;
                } else if self.answers_due.is_none() {
                    self.answers_due = Some(Instant::now() + ANSWER_DELAY);
                }
            }
            self.waiting = match served {
                Served::All => Waiting::Idle,
                Served::UpTo { head_done, served_some } => match (self.waiting, head_done) {
                    // The same request as before, still in the same part: its deadline holds.
                    (Waiting::Head(deadline), false) | (Waiting::Body(deadline), true)
                        if !served_some =>
                    {
                        Waiting::from_deadline(deadline, head_done)
                    }
                    (_, false) => Waiting::Head(Instant::now() + config.header_read_timeout),
                    (_, true) => Waiting::Body(Instant::now() + config.body_read_timeout),
                },
                Served::Other if self.duplex == Duplex::On => {
                    tracing::debug!(via = %self.via, "not a message on a duplex connection: closed");
                    return Ended::Closed;
                }
                Served::Other => {
                    return Ended::Http(std::mem::take(&mut self.buffer).freeze());
                }
                Served::Offered(peer, token) => return Ended::Offered(peer, token),
            };
            if let Some(go) = self.placement.go.take() {
                // The timer belongs to this runtime's wheel.
                self.timer = None;
                return Ended::Move(go);
            }
            if !self.read(stream, node).await {
                return Ended::Closed;
            }
        }
    }

    /// Reads more into the buffer, within the deadlines; writes the answers when they
    /// are due. False when the connection is done.
    async fn read<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        node: &Weak<NodeInner>,
    ) -> bool {
        if self.buffer.capacity() - self.buffer.len() < READ_BYTES / 4 {
            self.buffer.reserve(READ_BYTES);
        }
        let deadline = match (self.waiting.deadline(), self.answers_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let read = match deadline {
            None => Ok(stream.read_buf(&mut self.buffer).await),
            Some(deadline) => {
                let MessageConn { buffer, timer, .. } = self;
                let timer =
                    timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                tokio::select! {
                    biased;
                    read = stream.read_buf(buffer) => Ok(read),
                    () = timer.as_mut() => Err(()),
                }
            }
        };
        match read {
            Ok(Ok(read)) if read > 0 => true,
            // End of stream or a broken connection: what is answered goes out if it can.
            Ok(_) => {
                let _ = write_answers(stream, &mut self.answers).await;
                false
            }
            Err(_elapsed) if self.answers_due.is_some_and(|due| due <= Instant::now()) => {
                self.answers_due = None;
                write_answers(stream, &mut self.answers).await.is_ok()
            }
            Err(_elapsed) => {
                if let (Waiting::Body(_), false) = (self.waiting, self.duplex == Duplex::On) {
                    // As the hyper path answers a body that does not arrive in time.
                    if let Some(node) = node.upgrade().map(Node::from_inner) {
                        node.stats().bad_requests.inc();
                    }
                    let text = "request body not received in time";
                    write_answer(
                        &mut self.answers,
                        StatusCode::REQUEST_TIMEOUT,
                        text,
                        &http_date(),
                    );
                }
                let _ = write_answers(stream, &mut self.answers).await;
                false
            }
        }
    }
}

/// Writes the answers that wait, if any, and empties them.
async fn write_answers<S: AsyncWrite + Unpin>(
    stream: &mut S,
    answers: &mut Vec<u8>,
) -> io::Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    stream.write_all(answers).await?;
    stream.flush().await?;
    answers.clear();
    Ok(())
}

impl Waiting {
    /// When the connection stops waiting, if ever.
    fn deadline(self) -> Option<Instant> {
        match self {
            Waiting::Idle => None,
            Waiting::Head(deadline) | Waiting::Body(deadline) => Some(deadline),
        }
    }

    fn from_deadline(deadline: Instant, head_done: bool) -> Waiting {
        if head_done { Waiting::Body(deadline) } else { Waiting::Head(deadline) }
    }
}

/// How far [`serve_buffered`] got.
enum Served {
    /// Every buffered byte was a whole message, now served.
    All,
    /// The buffer ends in part of a message request (`served_some`: after whole ones,
    /// so the part is of a new request, whose deadlines start now).
    UpTo { head_done: bool, served_some: bool },
    /// The buffer starts with a request that is hyper's.
    Other,
    /// The buffer starts with the connection's first request, which offers it for
    /// messages back to the node at this address, with this token; not served yet.
    Offered(SocketAddr, u128),
}

/// Serves every whole message at the start of `buffer`, appending their answers; sets
/// `prompt` when one of them is not from a libprocess peer.
fn serve_buffered(
    conn: &mut MessageConn,
    node: &Weak<NodeInner>,
    limits: &Limits,
    prompt: &mut bool,
) -> Served {
    let MessageConn { buffer, answers, heads, last_head, via, placement, accepted, duplex, .. } =
        conn;
    let via = *via;
    // One upgrade and one clock read for all that one read brought; none on a duplex
    // connection, which answers nothing (its answers are dropped unwritten).
    let node = node.upgrade().map(Node::from_inner);
    let date = if *duplex == Duplex::On { accepted.1 } else { http_date() };
    if accepted.1 != date {
        accepted.0.clear();
        write_answer(&mut accepted.0, StatusCode::ACCEPTED, "", &date);
        accepted.1 = date;
    }
    let mut served_some = false;
    loop {
        if buffer.is_empty() {
            return Served::All;
        }
        let (resolved, body, len) = match decoder::decode_after(buffer, limits, last_head) {
            Decoded::Message(request) => {
                *prompt |= !request.user_agent.is_some_and(|a| a.starts_with(b"libprocess/"));
                let resolved = node.as_ref().map(|node| heads.resolve(&request, node));
                if *duplex == Duplex::Open {
                    // Only the first request may offer the connection.
                    *duplex = Duplex::Never;
                    if let (Some(token), Some(Ok((from, ..)))) = (request.duplex, &resolved) {
                        return Served::Offered(from.address(), token);
                    }
                }
                (resolved, request.body, request.len)
            }
            Decoded::Incomplete { head_done } => return Served::UpTo { head_done, served_some },
            Decoded::Other => return Served::Other,
        };
        let request = buffer.split_to(len).freeze();
        served_some = true;
        let (status, text) = match (node.as_ref(), resolved) {
            (Some(node), Some(Ok((from, to, name, mailbox)))) => {
                placement.check(node, &to);
                let body = match body {
                    BodyAt::Slice(range) => request.slice(range),
                    BodyAt::Chunks { start, total } => {
                        Bytes::from(decoder::gather_chunks(&request, start, total))
                    }
                };
                if to.id() == duplex::CHECK_ID {
                    // A node asks whether this node offered it a connection (`duplex`).
                    let (asker, client) = (from.address(), via.peer.ip());
                    let vouched = node.duplex_tokens().is_some_and(|tokens| {
                        duplex::answer_check(&tokens, &name, &body, asker, client)
                    });
                    if vouched {
                        (StatusCode::ACCEPTED, "")
                    } else {
                        (StatusCode::NOT_FOUND, "not offered")
                    }
                } else {
                    let envelope =
                        Envelope { from, to, name, body: Body::Encoded(body), via: Some(via) };
                    let delivered = match mailbox {
                        Some(mailbox) => node.deliver_to(&*mailbox, envelope),
                        None => node.deliver(envelope),
                    };
                    crate::router::delivery_answer(delivered)
                }
            }
            (Some(node), Some(Err(error))) => {
                node.stats().bad_requests.inc();
                write_answer(answers, StatusCode::BAD_REQUEST, &error.to_string(), &date);
                continue;
            }
            _ => (StatusCode::SERVICE_UNAVAILABLE, "node is shutting down"),
        };
        if status == StatusCode::ACCEPTED && text.is_empty() {
            answers.extend_from_slice(&accepted.0);
        } else {
            write_answer(answers, status, text, &date);
        }
    }
}

/// The pids and names a connection's messages carried lately: a connection carries one
/// peer's messages, from a few processes, of a few names, so most messages parse neither
/// their sender nor their path (nor allocate for them).
#[derive(Default)]
struct Heads {
    senders: Vec<(Box<[u8]>, Pid)>,
    /// With the receiver's mailbox, once its process was found (looked up again when
    /// it is gone).
    paths: Vec<(Box<str>, Pid, MessageName, Option<CachedMailbox>)>,
    next_sender: usize,
    next_path: usize,
}

/// A receiver's mailbox, as a connection keeps it.
type CachedMailbox = Arc<dyn Mailbox>;

/// A message's sender, receiver, name and the receiver's mailbox (when its process was
/// found), as [`Heads::resolve`] gives them.
type Resolved = (Pid, Pid, MessageName, Option<CachedMailbox>);

impl Heads {
    /// Sender, receiver (on the node at `address`) and name of a message, or why it is
    /// refused (libprocess `parse`; checked in the order `wire::parse_message_head` does).
    fn resolve(
        &mut self,
        request: &MessageRequest<'_>,
        node: &Node,
    ) -> Result<Resolved, WireError> {
        let from = match request.from {
            Some(key) => match self.senders.iter().find(|(k, _)| **k == *key) {
                Some((_, pid)) => pid.clone(),
                None => {
                    let pid = wire::parse_sender(Some(key), None)?;
                    remember(&mut self.senders, &mut self.next_sender, (key.into(), pid.clone()));
                    pid
                }
            },
            None => wire::parse_sender(None, request.user_agent)?,
        };
        if let Some((_, to, name, mailbox)) =
            self.paths.iter_mut().find(|(k, _, _, _)| **k == *request.path)
        {
            if !mailbox.as_ref().is_some_and(|mailbox| mailbox.is_alive()) {
                *mailbox = node.mailbox_of(to.id());
            }
            return Ok((from, to.clone(), name.clone(), mailbox.clone()));
        }
        let (to_id, name) = wire::parse_path(request.path)?;
        let (to, name) = (Pid::new(to_id, node.address()), MessageName::owned(name));
        let mailbox = node.mailbox_of(to.id());
        let entry = (request.path.into(), to.clone(), name.clone(), mailbox.clone());
        remember(&mut self.paths, &mut self.next_path, entry);
        Ok((from, to, name, mailbox))
    }
}

/// Adds `entry` to a cache of [`CACHED_HEADS`], replacing round robin when full.
fn remember<T>(cache: &mut Vec<T>, next: &mut usize, entry: T) {
    if cache.len() < CACHED_HEADS {
        cache.push(entry);
    } else {
        cache[*next] = entry;
        *next = (*next + 1) % CACHED_HEADS;
    }
}

/// Appends an answer as hyper writes it for the router's responses: status line,
/// `content-type` when there is a text, `content-length`, `date`.
fn write_answer(out: &mut Vec<u8>, status: StatusCode, text: &str, date: &[u8; 29]) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    if !text.is_empty() {
        out.extend_from_slice(b"\r\ncontent-type: text/plain; charset=utf-8");
    }
    out.extend_from_slice(b"\r\ncontent-length: ");
    wire::write_decimal(out, text.len() as u64);
    out.extend_from_slice(b"\r\ndate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(text.as_bytes());
}

thread_local! {
    /// The `date` value of this second (hyper caches it the same way).
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [b' '; 29])) };
}

/// The current time as an HTTP date (`Sun, 22 Nov 2026 01:32:44 GMT`, always 29 bytes).
fn http_date() -> [u8; 29] {
    let now = SystemTime::now();
    let second = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != second {
            let text = httpdate::fmt_http_date(now);
            let mut date = [b' '; 29];
            let n = text.len().min(29);
            date[..n].copy_from_slice(&text.as_bytes()[..n]);
            *cached = (second, date);
        }
        cached.1
    })
}

/// A stream whose first bytes were already read: they are read again first. What hyper
/// serves a connection the message loop handed over with.
pub(super) struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(super) fn new(prefix: Bytes, inner: S) -> Prefixed<S> {
        Prefixed { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.is_empty() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let n = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix[..n]);
        self.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

write_through!(Prefixed);

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers look like hyper's: status line, length, a 29-byte date.
    #[test]
    fn answers_like_hyper() {
        let mut out = Vec::new();
        let date = http_date();
        write_answer(&mut out, StatusCode::ACCEPTED, "", &date);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\ndate: "), "{text}");
        assert!(text.ends_with(" GMT\r\n\r\n"), "{text}");
        let mut out = Vec::new();
        write_answer(&mut out, StatusCode::BAD_REQUEST, "bad", &date);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 3\r\n"));
        assert!(text.ends_with("\r\n\r\nbad"));
    }
}
