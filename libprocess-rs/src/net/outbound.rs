//! The outbound side: one persistent connection per peer address, messages written back
//! to back without waiting for answers (libprocess `SocketManager`).
//!
//! Each connection is a writer loop fed by a bounded queue, plus a reader that discards
//! whatever the peer answers (libprocess `ignore_recv_data`) and notices when the peer
//! closes. A connection that fails to open or breaks is removed, its queued messages are
//! lost (as in libprocess; Mesos protocols retry what matters), and every process linked
//! to a process at that address gets `exited`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use super::tls::{self, ClientStream};
use crate::node::{Node, NodeConfig};
use crate::tls::Tls;

struct Conn {
    generation: u64,
    tx: mpsc::Sender<Bytes>,
}

pub(crate) struct Outbound {
    handle: tokio::runtime::Handle,
    conns: Mutex<HashMap<SocketAddr, Conn>>,
    next_generation: AtomicU64,
    queue: usize,
    connect_timeout: Duration,
    /// The node's TLS setting; `None` connects plain.
    tls: Option<Tls>,
    /// Whether a broken connection tells linked processes `exited` (the lane's do not: links
    /// ride the node's ordinary connection to the same peer, which reports for it).
    reports_exits: bool,
}

/// Most bytes gathered from the queue before a flush.
const BATCH_BYTES: usize = 256 * 1024;

impl Outbound {
    pub(crate) fn new(
        handle: tokio::runtime::Handle,
        config: &NodeConfig,
        tls: Option<Tls>,
        reports_exits: bool,
    ) -> Outbound {
        Outbound {
            handle,
            conns: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            queue: config.outbound_queue.max(1),
            connect_timeout: config.connect_timeout,
            tls,
            reports_exits,
        }
    }

    /// Queues encoded bytes to `peer`, opening the connection if needed.
    pub(crate) fn send(self: &Arc<Self>, node: &Node, peer: SocketAddr, bytes: Bytes) {
        let mut conns = self.conns.lock();
        let conn = match conns.get(&peer) {
            Some(conn) => conn,
            None => {
                let conn = self.open(node, peer);
                conns.entry(peer).insert_entry(conn).into_mut()
            }
        };
        match conn.tx.try_send(bytes) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                node.stats().outbound_queue_full.inc();
                tracing::warn!(%peer, "outbound queue full: message dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => node.stats().outbound_dropped.inc(),
        }
    }

    /// Makes sure a connection to `peer` exists; `reconnect` replaces an existing one.
    pub(crate) fn connect(self: &Arc<Self>, node: &Node, peer: SocketAddr, reconnect: bool) {
        let mut conns = self.conns.lock();
        if reconnect || !conns.contains_key(&peer) {
            let conn = self.open(node, peer);
            conns.insert(peer, conn);
        }
    }

    fn open(self: &Arc<Self>, node: &Node, peer: SocketAddr) -> Conn {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.queue);
        let outbound: Weak<Outbound> = Arc::downgrade(self);
        let node = node.downgrade();
        let connect_timeout = self.connect_timeout;
        let tls = self.tls.clone();
        let reports_exits = self.reports_exits;
        self.handle.spawn(async move {
            if let Err(error) = run_connection(peer, rx, connect_timeout, tls).await {
                tracing::debug!(%peer, %error, "connection to peer broke");
            }
            let current = outbound
                .upgrade()
                .is_some_and(|outbound| outbound.remove_if_current(peer, generation));
            if current
                && reports_exits
                && let Some(node) = node.upgrade()
            {
                Node::from_inner(node).connection_broken(peer);
            }
        });
        Conn { generation, tx }
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
        self.conns.lock().clear();
    }
}

/// Runs one connection until its queue closes (replaced or shut down: `Ok`) or the socket
/// fails (`Err`).
async fn run_connection(
    peer: SocketAddr,
    rx: mpsc::Receiver<Bytes>,
    connect_timeout: Duration,
    tls: Option<Tls>,
) -> std::io::Result<()> {
    match tls::connect(peer, tls.as_ref(), connect_timeout).await? {
        ClientStream::Plain(stream) => {
            let (reader, writer) = stream.into_split();
            drive_connection(reader, writer, rx).await
        }
        ClientStream::Tls(stream) => {
            let (reader, writer) = tokio::io::split(stream);
            drive_connection(reader, writer, rx).await
        }
    }
}

/// Writes queued messages to `writer` while discarding what comes back on `reader`.
async fn drive_connection<R, W>(
    mut reader: R,
    writer: W,
    mut rx: mpsc::Receiver<Bytes>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    // Discard answers concurrently, so a peer blocked on writing them never stalls us.
    let mut reader_task = tokio::spawn(async move {
        let mut sink = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut sink).await {
                Ok(0) => {
                    return std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "peer closed");
                }
                Ok(_) => {}
                Err(error) => return error,
            }
        }
    });
    let result = loop {
        tokio::select! {
            message = rx.recv() => {
                let Some(bytes) = message else { break Ok(()) };
                if let Err(error) = write_batch(&mut writer, bytes, &mut rx).await {
                    break Err(error);
                }
            }
            closed = &mut reader_task => {
                break Err(closed.unwrap_or_else(|e| std::io::Error::other(e.to_string())));
            }
        }
    };
    reader_task.abort();
    result
}

async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut BufWriter<W>,
    first: Bytes,
    rx: &mut mpsc::Receiver<Bytes>,
) -> std::io::Result<()> {
    writer.write_all(&first).await?;
    let mut batched = first.len();
    while batched < BATCH_BYTES {
        let Ok(more) = rx.try_recv() else { break };
        batched += more.len();
        writer.write_all(&more).await?;
    }
    writer.flush().await
}
