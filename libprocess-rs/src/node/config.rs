//! A node's settings ([`NodeConfig`]) and the counters it keeps about itself
//! ([`NodeStats`]).

use std::time::Duration;

use crate::metrics::{Counter, Metrics};
use crate::ring::RingConfig;

/// Bounds and settings of a node. Every bound says what happens when it is hit.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Largest request body accepted; larger requests get `413`.
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers); larger ones close the connection.
    pub max_header_bytes: usize,
    /// Most inbound connections at once; further ones are closed at accept.
    pub max_connections: usize,
    /// Most inbound connections from one IP address; further ones are closed at accept.
    pub max_connections_per_ip: usize,
    /// A request head that starts arriving must be complete within this time, or the
    /// connection is closed (slowloris). Idle persistent connections are not affected:
    /// libprocess peers keep their connections open for as long as they run.
    pub header_read_timeout: Duration,
    /// A request body must arrive within this time after its head, or `408`.
    pub body_read_timeout: Duration,
    /// Time allowed to open a connection to a peer; on failure, linked processes get
    /// `exited` and queued messages are dropped, as in libprocess.
    pub connect_timeout: Duration,
    /// Messages queued per peer connection; when full, further messages to that peer
    /// are dropped and counted (`libprocess/outbound_queue_full`).
    pub outbound_queue: usize,
    /// Threads of the network runtime (the "I/O threads" that read and write sockets).
    ///
    /// `0`: no threads of its own; sockets are served on the runtime of the thread that
    /// starts the node, which must be an actix arbiter (inside `System::block_on`, or a
    /// process's thread). Processes spawned on that same arbiter then get their messages
    /// from the network without a hop to another thread: the read, the handler, the
    /// answer and the next read all happen on one thread, as in a single-threaded server
    /// (Mesos: one libprocess worker thread with its event loop). The price: while a
    /// handler on that thread runs, no socket of the node is served, so pick it for nodes
    /// whose handlers are short (an echo server, a benchmark client, a small agent or
    /// executor), not for one that blocks its thread. Default: 1, or the value of the
    /// environment variable `LIBPROCESS_IO_THREADS` (so every binary, `mesos-agent` and
    /// `mesos-master` included, can be run single-threaded with `LIBPROCESS_IO_THREADS=0`
    /// and no flag of its own, as libprocess reads `LIBPROCESS_NUM_WORKER_THREADS`).
    pub io_threads: usize,
    /// The version `/version` reports (Mesos's API version, so v1 clients enable v1).
    pub version: String,
    /// Bounds of the message ring (entries, body bytes; see [`crate::ring`]).
    pub message_ring: RingConfig,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            max_body_bytes: 32 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_connections: 8192,
            max_connections_per_ip: 4096,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            outbound_queue: 100_000,
            io_threads: io_threads_from_env(),
            version: "1.11.0".to_string(),
            message_ring: RingConfig::default(),
        }
    }
}

/// `LIBPROCESS_IO_THREADS` if set to a number, else 1 (a value that is not a number is
/// logged as a warning and ignored).
fn io_threads_from_env() -> usize {
    match std::env::var("LIBPROCESS_IO_THREADS") {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(%value, "LIBPROCESS_IO_THREADS is not a number: using 1");
            1
        }),
        Err(_) => 1,
    }
}

/// The counters the runtime keeps about itself (also in `/metrics/snapshot`).
pub(crate) struct NodeStats {
    pub(crate) messages_unknown: Counter,
    pub(crate) messages_malformed: Counter,
    pub(crate) messages_no_process: Counter,
    pub(crate) mailbox_full: Counter,
    pub(crate) outbound_queue_full: Counter,
    pub(crate) outbound_dropped: Counter,
    pub(crate) connections_rejected: Counter,
    pub(crate) bad_requests: Counter,
}

impl NodeStats {
    pub(super) fn new(metrics: &Metrics) -> NodeStats {
        NodeStats {
            messages_unknown: metrics.counter("libprocess/messages_unknown"),
            messages_malformed: metrics.counter("libprocess/messages_malformed"),
            messages_no_process: metrics.counter("libprocess/messages_no_process"),
            mailbox_full: metrics.counter("libprocess/mailbox_full"),
            outbound_queue_full: metrics.counter("libprocess/outbound_queue_full"),
            outbound_dropped: metrics.counter("libprocess/outbound_dropped"),
            connections_rejected: metrics.counter("libprocess/connections_rejected"),
            bad_requests: metrics.counter("libprocess/bad_requests"),
        }
    }
}
