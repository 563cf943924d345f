//! The outbound side: one persistent connection per peer address, messages written back
//! to back without waiting for answers (libprocess `SocketManager`).
//!
//! Each connection is a [`Pipe`]: a bounded queue of encoded messages, a writer task that
//! drains it many messages per write (vectored: the encoded messages go out as they are,
//! not copied into a buffer first), and a reader that discards whatever the peer answers
//! (libprocess `ignore_recv_data`) and notices when the peer closes; or, when the peer is
//! a libprocess-rs node that adopts the connection, serves the peer's messages that come
//! back on it (`duplex`; `adopt` is the other end). A connection that
//! fails to open or breaks is removed, its queued messages are lost (as in libprocess;
//! Mesos protocols retry what matters), and every process linked to a process at that
//! address gets `exited`.
//!
//! A sender on an actix arbiter thread (every process) does not wake the writer task per
//! message: its messages wait in a per-thread cork until the thread has finished what it
//! is doing (`cork`), then all of them to one peer go out in one `writev`, from that same
//! thread, when the connection is idle (plain TCP, nothing queued, the writer task not
//! writing). Otherwise they join the queue behind what waits. So a message usually leaves
//! from the thread that sent it, without a hop to the I/O thread, and a process that sends
//! many in one turn still makes one system call for them.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Buf, Bytes};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};

use super::sink::WriteSocket;
use tokio::sync::Notify;

use super::duplex::{self, ReadBack, Replies};
use super::tls::{self, ClientStream};
use crate::metrics::Counter;
use crate::node::{Node, NodeConfig, NodeInner};
use crate::tls::Tls;

struct Conn {
    generation: u64,
    pipe: Arc<Pipe>,
}

pub(crate) struct Outbound {
    handle: tokio::runtime::Handle,
    /// Looked up per message sent: foldhash, not the default SipHash (~100 instructions
    /// per lookup of a `SocketAddr`); the keys are the peers this node sends to.
    conns: Mutex<HashMap<SocketAddr, Conn, foldhash::fast::RandomState>>,
    next_generation: AtomicU64,
    queue: usize,
    connect_timeout: Duration,
    /// The node's TLS setting; `None` connects plain.
    tls: Option<Tls>,
    /// Whether a broken connection tells linked processes `exited` (the lane's do not: links
    /// ride the node's ordinary connection to the same peer, which reports for it).
    reports_exits: bool,
    /// How plain connections read messages back (`duplex`); `None`: they never do (the
    /// lane's, a TLS node's).
    replies: Option<Arc<Replies>>,
}

/// Most bytes, and most messages (the kernel's `IOV_MAX`), taken from the queue for one
/// write.
const BATCH_BYTES: usize = 256 * 1024;
const BATCH_MESSAGES: usize = 1024;

impl Outbound {
    pub(crate) fn new(
        handle: tokio::runtime::Handle,
        config: &NodeConfig,
        tls: Option<Tls>,
        reports_exits: bool,
        replies: Option<Replies>,
    ) -> Outbound {
        Outbound {
            handle,
            conns: Mutex::new(HashMap::default()),
            next_generation: AtomicU64::new(1),
            queue: config.outbound_queue.max(1),
            connect_timeout: config.connect_timeout,
            tls,
            reports_exits,
            replies: replies.map(Arc::new),
        }
    }

    /// Sends encoded bytes to `peer`, opening the connection if needed: corked until the
    /// sending thread's turn ends when it is an arbiter's, else queued at once.
    pub(crate) fn send(self: &Arc<Self>, node: &Node, peer: SocketAddr, bytes: Bytes) {
        let pipe = {
            let mut conns = self.conns.lock();
            match conns.get(&peer) {
                Some(conn) => conn.pipe.clone(),
                None => {
                    let conn = self.open(node, peer);
                    conns.entry(peer).insert_entry(conn).into_mut().pipe.clone()
                }
            }
        };
        if let Err(bytes) = cork::add(&pipe, bytes) {
            pipe.push(std::iter::once(bytes));
        }
    }

    /// Makes sure a connection to `peer` exists; `reconnect` replaces an existing one.
    pub(crate) fn connect(self: &Arc<Self>, node: &Node, peer: SocketAddr, reconnect: bool) {
        let mut conns = self.conns.lock();
        if reconnect || !conns.contains_key(&peer) {
            let conn = self.open(node, peer);
            if let Some(old) = conns.insert(peer, conn) {
                old.pipe.close();
            }
        }
    }

    fn open(self: &Arc<Self>, node: &Node, peer: SocketAddr) -> Conn {
        let conn = self.new_conn(node);
        let ending = self.ending(node, peer, &conn);
        let connect_timeout = self.connect_timeout;
        let tls = self.tls.clone();
        let replies = self.replies.clone().map(|replies| (replies, node.downgrade()));
        let running = conn.pipe.clone();
        self.handle.spawn(async move {
            let result = run_connection(peer, &running, connect_timeout, tls, replies).await;
            ending.end(result);
        });
        conn
    }

    /// Takes the inbound plain connection `socket` from the node at `peer`, offered with
    /// `token`, as this node's connection to `peer` once `peer` vouches for the token
    /// (`duplex`): `None` when there is a connection to `peer` already, or when this
    /// node's connections never carry messages both ways. Else what this node sends to
    /// `peer` waits until `peer` answers; vouched for, it is written to `socket` until
    /// the returned sender is dropped (the connection's reading has ended) or the
    /// connection is replaced; not, to a connection of this node's own, as for a peer
    /// that offers nothing.
    pub(crate) fn adopt(
        self: &Arc<Self>,
        node: &Node,
        peer: SocketAddr,
        token: u128,
        socket: std::net::TcpStream,
    ) -> Option<tokio::sync::oneshot::Sender<()>> {
        let replies = self.replies.clone()?;
        let mut conns = self.conns.lock();
        if conns.contains_key(&peer) {
            return None;
        }
        let conn = self.new_conn(node);
        let ending = self.ending(node, peer, &conn);
        let (alive, mut ended) = tokio::sync::oneshot::channel::<()>();
        let (pipe, own, timeout) = (conn.pipe.clone(), node.address(), self.connect_timeout);
        let weak = node.downgrade();
        self.handle.spawn(async move {
            let vouched = tokio::select! {
                vouched = duplex::verify(peer, own, token, timeout) => vouched,
                _ = &mut ended => false,
            };
            let result = if vouched {
                match WriteSocket::writable_only(socket) {
                    Ok(writer) => write_until_read_ends(writer, &pipe, None, &mut ended).await,
                    Err(error) => Err(error),
                }
            } else {
                tracing::debug!(%peer, "duplex offer not vouched for: opening a connection");
                // The server keeps its own descriptor: this one shuts nothing down.
                drop(socket);
                run_connection(peer, &pipe, timeout, None, Some((replies, weak))).await
            };
            ending.end(result);
        });
        conns.insert(peer, conn);
        Some(alive)
    }

    /// The tokens of this node's offered connections; `None` when they never offer.
    pub(crate) fn duplex_tokens(&self) -> Option<Arc<duplex::Tokens>> {
        self.replies.as_ref().map(|replies| replies.tokens.clone())
    }

    fn new_conn(&self, node: &Node) -> Conn {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let stats = node.stats();
        let pipe = Arc::new(Pipe::new(
            self.queue,
            stats.outbound_queue_full.clone(),
            stats.outbound_dropped.clone(),
        ));
        Conn { generation, pipe }
    }

    /// What a connection's task does when the connection ends.
    fn ending(self: &Arc<Self>, node: &Node, peer: SocketAddr, conn: &Conn) -> Ending {
        Ending {
            outbound: Arc::downgrade(self),
            node: node.downgrade(),
            peer,
            generation: conn.generation,
            pipe: conn.pipe.clone(),
            reports_exits: self.reports_exits,
        }
    }

    fn remove_if_current(&self, peer: SocketAddr, generation: u64) -> bool {
        let mut conns = self.conns.lock();
        if conns.get(&peer).is_some_and(|conn| conn.generation == generation) {
            conns.remove(&peer);
            true
        } else {
            false
        }
    }

    /// Closes every connection without reporting `exited` (node shutdown).
    pub(crate) fn close_all(&self) {
        for (_, conn) in self.conns.lock().drain() {
            conn.pipe.close();
        }
    }
}

/// The end of a connection: its pipe refuses messages from then on, and when it was still
/// the current connection to its peer, it goes, and every process linked to a process
/// at that address gets `exited`.
struct Ending {
    outbound: Weak<Outbound>,
    node: Weak<NodeInner>,
    peer: SocketAddr,
    generation: u64,
    pipe: Arc<Pipe>,
    reports_exits: bool,
}

impl Ending {
    fn end(self, result: io::Result<()>) {
        let peer = self.peer;
        if let Err(error) = result {
            tracing::debug!(%peer, %error, "connection to peer broke");
        }
        self.pipe.fail();
        let current = self
            .outbound
            .upgrade()
            .is_some_and(|outbound| outbound.remove_if_current(peer, self.generation));
        if current
            && self.reports_exits
            && let Some(node) = self.node.upgrade()
        {
            Node::from_inner(node).connection_broken(peer);
        }
    }
}

/// One connection's queue, shared by its senders and its writer task.
struct Pipe {
    state: Mutex<PipeState>,
    /// Wakes the writer task: something was queued, or the pipe closed.
    wake: Notify,
    /// The bound of the queue (`NodeConfig::outbound_queue`).
    capacity: usize,
    /// `libprocess/outbound_queue_full`: messages dropped at the bound.
    full: Counter,
    /// `libprocess/outbound_dropped`: messages sent to a closed connection.
    dropped: Counter,
}

struct PipeState {
    queue: VecDeque<Bytes>,
    /// The writer task owns the socket's write side (connecting, or writing a batch):
    /// senders queue behind it.
    busy: bool,
    /// The plain socket's write side once connected: a sender finding the pipe idle
    /// writes to it.
    socket: Option<Arc<WriteSocket>>,
    /// The connection is gone or replaced: further messages are dropped.
    closed: bool,
    /// The first message written, by whichever writer, carries `duplex::mark` with this
    /// token.
    mark: Option<u128>,
}

impl Pipe {
    fn new(capacity: usize, full: Counter, dropped: Counter) -> Pipe {
        let state = PipeState {
            queue: VecDeque::new(),
            busy: true,
            socket: None,
            closed: false,
            mark: None,
        };
        Pipe { state: Mutex::new(state), wake: Notify::new(), capacity, full, dropped }
    }

    /// Queues `messages` behind what waits, within the bound, and wakes the writer.
    fn push(&self, messages: impl IntoIterator<Item = Bytes>) {
        let mut state = self.state.lock();
        self.enqueue(&mut state, messages);
    }

    fn enqueue(&self, state: &mut PipeState, messages: impl IntoIterator<Item = Bytes>) {
        if state.closed {
            self.dropped.add(messages.into_iter().count() as u64);
            return;
        }
        for bytes in messages {
            if state.queue.len() >= self.capacity {
                self.full.inc();
                tracing::warn!("outbound queue full: message dropped");
            } else {
                state.queue.push_back(bytes);
            }
        }
        if !state.busy {
            self.wake.notify_one();
        }
    }

    /// Writes `messages` now, from this thread, if the connection is idle; what the socket
    /// does not take at once (or everything, when not idle) is queued.
    fn write_or_push(&self, messages: Vec<Bytes>) {
        let mut state = self.state.lock();
        let idle = !state.busy && !state.closed && state.queue.is_empty();
        let mut batch = Batch { messages: messages.into(), bytes: 0 };
        if idle
            && state.socket.is_some()
            && let Some(token) = state.mark.take()
        {
            batch.mark_duplex(token);
        }
        if let (true, Some(socket)) = (idle, state.socket.as_ref()) {
            // Under the lock: no other sender and no writer can write in between. An error
            // leaves the rest queued; the writer task meets it too and closes the pipe.
            let _ = batch.write_now(socket);
            if batch.messages.is_empty() {
                return;
            }
        }
        self.enqueue(&mut state, batch.messages);
    }

    /// Takes the next batch for the writer task, or marks it idle and returns `None`;
    /// `Err` once the pipe is closed and drained.
    fn take_batch(&self) -> Result<Option<Batch>, ()> {
        let mut state = self.state.lock();
        if state.queue.is_empty() {
            if state.closed {
                return Err(());
            }
            state.busy = false;
            return Ok(None);
        }
        state.busy = true;
        let mut batch = Batch { messages: VecDeque::new(), bytes: 0 };
        while let Some(bytes) = state.queue.pop_front() {
            batch.bytes += bytes.len();
            batch.messages.push_back(bytes);
            if batch.bytes >= BATCH_BYTES || batch.messages.len() >= BATCH_MESSAGES {
                break;
            }
        }
        if let Some(token) = state.mark.take() {
            batch.mark_duplex(token);
        }
        Ok(Some(batch))
    }

    /// The socket is connected plain: idle senders may write to it from now on; with
    /// `mark`, the first message written carries `duplex::mark` with that token.
    fn connected(&self, socket: Arc<WriteSocket>, mark: Option<u128>) {
        let mut state = self.state.lock();
        state.socket = Some(socket);
        state.mark = mark;
    }

    /// Refuses everything sent from now on; the writer task writes what already waits
    /// (as a replaced connection always did), then ends. Direct writes stop at once.
    fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.socket = None;
        drop(state);
        self.wake.notify_one();
    }

    /// The connection is gone: what waits is dropped with it.
    fn fail(&self) {
        self.close();
        self.state.lock().queue.clear();
    }
}

/// Messages to write, the first perhaps partly written already.
struct Batch {
    messages: VecDeque<Bytes>,
    /// Their length (for the batch bound; not kept up to date while writing).
    bytes: usize,
}

impl Batch {
    /// One vectored write of the messages (at most [`BATCH_MESSAGES`]): their slices on
    /// the stack when they are few (a turn's messages to one peer usually are), so that
    /// a write allocates nothing.
    fn try_write(
        &self,
        write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        const ON_STACK: usize = 16;
        if self.messages.len() <= ON_STACK {
            let mut slices = [IoSlice::new(&[]); ON_STACK];
            for (slice, message) in slices.iter_mut().zip(&self.messages) {
                *slice = IoSlice::new(message);
            }
            return write(&slices[..self.messages.len()]);
        }
        let slices: Vec<IoSlice<'_>> =
            self.messages.iter().take(BATCH_MESSAGES).map(|m| IoSlice::new(m)).collect();
        write(&slices)
    }

    /// Adds `duplex::mark` with `token` to the head of the first message, after its
    /// request line.
    fn mark_duplex(&mut self, token: u128) {
        let Some(first) = self.messages.pop_front() else { return };
        let Some(line) = first.windows(2).position(|pair| pair == b"\r\n") else {
            return self.messages.push_front(first);
        };
        let (line, rest) = (first.slice(..line + 2), first.slice(line + 2..));
        self.messages.push_front(rest);
        self.messages.push_front(duplex::mark(token));
        self.messages.push_front(line);
    }

    /// Drops the first `n` written bytes.
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(first) = self.messages.front_mut() else { return };
            if n < first.len() {
                first.advance(n);
                return;
            }
            n -= first.len();
            self.messages.pop_front();
        }
    }

    /// Writes as much as the socket takes without waiting.
    fn write_now(&mut self, socket: &WriteSocket) -> io::Result<()> {
        while !self.messages.is_empty() {
            match self.try_write(|slices| socket.try_write_vectored(slices)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.advance(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Writes all of it, waiting for the socket as needed.
    async fn write_all(&mut self, socket: &WriteSocket) -> io::Result<()> {
        loop {
            self.write_now(socket)?;
            if self.messages.is_empty() {
                return Ok(());
            }
            // Written under the readiness guard, so that a write that would block clears
            // the readiness it saw (and the next wait waits).
            if let Some(n) = socket.write_when_writable(|write| self.try_write(write)).await? {
                self.advance(n);
            }
        }
    }
}

/// Runs one connection until its pipe closes (replaced or shut down: `Ok`) or the socket
/// fails (`Err`). With `replies`, a plain connection offers to carry the peer's messages
/// back (`duplex`).
async fn run_connection(
    peer: SocketAddr,
    pipe: &Pipe,
    connect_timeout: Duration,
    tls: Option<Tls>,
    replies: Option<(Arc<Replies>, Weak<NodeInner>)>,
) -> io::Result<()> {
    match tls::connect(peer, tls.as_ref(), connect_timeout).await? {
        ClientStream::Plain(stream) if replies.is_some() => {
            let Some((replies, node)) = replies else { return Ok(()) };
            let stream = stream.into_std()?;
            let back = duplex::read_back(&stream, peer, &replies, node)?;
            // Withdrawn when the connection ends.
            let issued = replies.tokens.issue(peer);
            run_duplex(WriteSocket::writable_only(stream)?, pipe, back, issued.token).await
        }
        ClientStream::Plain(stream) => {
            // Split so that the reader is an `AsyncRead`: a short read of answers then
            // marks the socket drained, without a second read that finds nothing.
            let (reader, writer) = stream.into_split();
            let writer = Arc::new(WriteSocket::Half(writer));
            let mut reader_task = tokio::spawn(discard(reader));
            pipe.connected(writer.clone(), None);
            let result = tokio::select! {
                result = drive_plain(&writer, pipe) => result,
                closed = &mut reader_task => Err(joined(closed)),
            };
            reader_task.abort();
            result
        }
        ClientStream::Tls(stream) => {
            let (reader, writer) = tokio::io::split(stream);
            let mut reader_task = tokio::spawn(discard(reader));
            let result = tokio::select! {
                result = drive_stream(writer, pipe) => result,
                closed = &mut reader_task => Err(joined(closed)),
            };
            reader_task.abort();
            result
        }
    }
}

/// Writes an outbound plain connection whose reading side is `back` (`duplex`), its
/// first message marked with `token`, until the pipe closes or the reading side ends.
async fn run_duplex(
    writer: WriteSocket,
    pipe: &Pipe,
    mut back: ReadBack,
    token: u128,
) -> io::Result<()> {
    // The reading side has a descriptor of its own; this one only writes, and dropping
    // it shuts nothing down: when the peer writes its messages here, the socket stays
    // open for them until the reading side ends; else that ends with `back`.
    write_until_read_ends(writer, pipe, Some(token), &mut back.ended).await
}

fn joined(closed: Result<io::Error, tokio::task::JoinError>) -> io::Error {
    closed.unwrap_or_else(|e| io::Error::other(e.to_string()))
}

/// Writes the pipe's batches to `writer`, the write side of a connection read
/// elsewhere (`duplex`: an outbound connection read back, or an adopted one), its first
/// message marked with `mark`, until the pipe closes or the reading side ends (`ended`).
async fn write_until_read_ends(
    writer: WriteSocket,
    pipe: &Pipe,
    mark: Option<u128>,
    ended: &mut tokio::sync::oneshot::Receiver<()>,
) -> io::Result<()> {
    let writer = Arc::new(writer);
    pipe.connected(writer.clone(), mark);
    tokio::select! {
        result = drive_plain(&writer, pipe) => result,
        _ = ended => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed")),
    }
}

/// Writes the pipe's batches to a plain socket until the pipe closes.
async fn drive_plain(socket: &WriteSocket, pipe: &Pipe) -> io::Result<()> {
    loop {
        match pipe.take_batch() {
            Err(()) => return Ok(()),
            Ok(Some(mut batch)) => batch.write_all(socket).await?,
            Ok(None) => pipe.wake.notified().await,
        }
    }
}

/// Writes the pipe's batches to any stream (TLS) until the pipe closes.
async fn drive_stream<W: AsyncWrite + Unpin>(writer: W, pipe: &Pipe) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    loop {
        match pipe.take_batch() {
            Err(()) => return Ok(()),
            Ok(Some(batch)) => {
                for bytes in &batch.messages {
                    writer.write_all(bytes).await?;
                }
                writer.flush().await?;
            }
            Ok(None) => pipe.wake.notified().await,
        }
    }
}

/// Reads and drops the peer's answers until it closes (what that is, as an error).
pub(super) async fn discard<R: AsyncRead + Unpin>(mut reader: R) -> io::Error {
    let mut sink = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut sink).await {
            Ok(0) => return io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed"),
            Ok(_) => {}
            Err(error) => return error,
        }
    }
}

pub(super) mod cork;
