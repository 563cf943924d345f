//! The priority lane: a network path of its own for the processes that must never wait
//! behind the node's other traffic (a master's raft registrar: a heartbeat held up for
//! one election timeout costs the master its leadership).
//!
//! libprocess has one event loop for every socket; a client that makes it busy (a large
//! HTTP answer to render, thousands of messages to parse) delays every message behind it.
//! The lane is a second runtime, on a thread of its own, which carries:
//!
//! 1. **Outbound**: messages sent *by* a lane process, on connections of their own (one
//!    per peer address, apart from the node's ordinary connection to that peer).
//! 2. **Inbound**: the accept loop, and every connection whose first request is a message
//!    *to* a lane process (`POST /<lane id>/...`; the peer's lane opened it, so all its
//!    requests are). The first bytes are peeked, not read: any other connection is handed
//!    over, untouched, to the node's I/O runtime.
//!
//! So a lane message is written, read, parsed and queued to its process by a thread that
//! does nothing else. Under TLS the first bytes are encrypted: every TLS connection is
//! handed to the I/O runtime, and only the outbound half of the lane stays separate.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::net::TcpStream;

use super::outbound::Outbound;
use crate::error::Error;
use crate::node::NodeConfig;
use crate::tls::Tls;

/// The ids of the lane's processes, shared by the sending and accepting sides.
pub(crate) type LaneIds = Arc<RwLock<Vec<Arc<str>>>>;

/// The lane's runtime and its outbound connections.
pub(crate) struct Lane {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    pub(super) handle: tokio::runtime::Handle,
    pub(super) outbound: Arc<Outbound>,
    pub(super) ids: LaneIds,
}

impl Lane {
    pub(super) fn start(config: &NodeConfig, tls: Option<Tls>) -> Result<Lane, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("libprocess-lane")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let handle = runtime.handle().clone();
        Ok(Lane {
            outbound: Arc::new(Outbound::new(handle.clone(), config, tls, false, None)),
            handle,
            runtime: Mutex::new(Some(runtime)),
            ids: Arc::new(RwLock::new(Vec::new())),
        })
    }

    /// Whether messages from process `id` take the lane.
    pub(super) fn carries(&self, id: &str) -> bool {
        self.ids.read().iter().any(|lane| &**lane == id)
    }

    pub(super) fn shutdown(&self) {
        self.outbound.close_all();
        if let Some(runtime) = self.runtime.lock().take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.lock().take() {
            runtime.shutdown_background();
        }
    }
}

/// Most bytes peeked to classify a connection: a request line's method and first path
/// segment (process ids are short).
const PEEK_BYTES: usize = 128;

/// Whether a connection whose first bytes are `first` belongs to the lane: `Some(true)`
/// for `POST /<lane id>/`, `Some(false)` for anything else, `None` while too few bytes
/// arrived to tell.
pub(crate) fn classify(first: &[u8], ids: &[Arc<str>]) -> Option<bool> {
    let mut undecided = false;
    for id in ids {
        let wanted = [b"POST /".as_slice(), id.as_bytes(), b"/"].concat();
        let n = first.len().min(wanted.len());
        if first[..n] == wanted[..n] {
            if n == wanted.len() {
                return Some(true);
            }
            undecided = true;
        }
    }
    (!undecided || first.len() >= PEEK_BYTES).then_some(false)
}

/// Peeks again this many times, 1 ms, 2 ms, 4 ms, ... apart (63 ms in all), at a request
/// line that arrived cut short, before handing the connection to the I/O runtime. A lane
/// peer writes each message in one piece, so its first request line comes whole; only an
/// odd or hostile client trickles, and it must not make the lane thread spin.
const PEEK_RETRIES: u32 = 6;

/// Peeks at a new plain connection until its first bytes say whether it belongs to the
/// lane (see [`classify`]). A connection that sends nothing within `deadline`, or too
/// little to tell within [`PEEK_RETRIES`], is not the lane's (the I/O runtime's head
/// deadline then deals with it).
pub(crate) async fn is_lane_connection(
    stream: &TcpStream,
    ids: &LaneIds,
    deadline: Duration,
) -> bool {
    let classified = async {
        let mut first = [0u8; PEEK_BYTES];
        for retry in 0..=PEEK_RETRIES {
            if retry > 0 {
                // peek returns at once while any byte is unread, hence the pause.
                tokio::time::sleep(Duration::from_millis(1 << (retry - 1))).await;
            }
            let n = stream.peek(&mut first).await.ok()?;
            if n == 0 {
                return Some(false);
            }
            if let Some(lane) = classify(&first[..n], &ids.read()) {
                return Some(lane);
            }
        }
        Some(false)
    };
    matches!(tokio::time::timeout(deadline, classified).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection is the lane's only when its first request is a message to a lane
    /// process; a prefix of one waits for more bytes.
    #[test]
    fn classifies_by_the_first_request_line() {
        let ids: Vec<Arc<str>> = vec!["registrar".into()];
        let full = b"POST /registrar/mesos.internal.RaftMessage HTTP/1.1\r\n";
        assert_eq!(classify(full, &ids), Some(true));
        assert_eq!(classify(b"POST /regis", &ids), None);
        assert_eq!(classify(b"PO", &ids), None);
        assert_eq!(classify(b"GET /master/state HTTP/1.1\r\n", &ids), Some(false));
        assert_eq!(classify(b"POST /master/mesos.internal.X HTTP/1.1", &ids), Some(false));
        assert_eq!(classify(b"POST /registrarx/", &ids), Some(false));
        assert_eq!(classify(full, &[]), Some(false));
    }
}
