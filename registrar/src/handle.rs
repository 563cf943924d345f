//! The master's handle to its raft registrar: the configuration, starting the
//! [`RegistrarProcess`] (on the caller's thread for the simulated tests, on a thread of
//! its own for a real master), and the [`Registrar`] trait answered by messages to it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Node, Pid, ProcessRef};
use tokio::sync::{oneshot, watch};

use crate::driver::RaftStatus;
use crate::members::Group;
use crate::messages::REGISTRAR_ID;
use crate::process::RegistrarProcess;
use crate::sled_backend::SledBackend;
use crate::storage::LogBackend;
use crate::{
    Completion, Leadership, Registrar, RegistrarError, RegistryOperation, StateFuture, StatusFuture,
};

/// Raft ids of the masters of a new group: the sorted, deduplicated list numbered 1..=n.
/// Every master given the same `--masters` derives the same ids. (A replaced member has a
/// later generation of its slot's id; see [`members`](crate::members).)
pub fn raft_peers(masters: &[SocketAddr]) -> Vec<(u64, SocketAddr)> {
    Group::new(masters).map(|group| group.slots().collect()).unwrap_or_default()
}

/// How to run a raft registrar.
#[derive(Debug, Clone)]
pub struct RaftRegistrarConfig {
    /// Every member's address (`--masters`), this master's included.
    pub masters: Vec<SocketAddr>,
    /// The raft tick period.
    pub tick: Duration,
    /// Base election timeout in ticks (timeouts are drawn from `[e, 2e)`).
    pub election_ticks: usize,
    /// Heartbeat period in ticks.
    pub heartbeat_ticks: usize,
    /// Snapshot and compact after this many applied entries.
    pub snapshot_interval: u64,
    /// Most submits in flight.
    pub max_pending: usize,
    /// Seed of the election jitter; `None` derives it from the raft id.
    pub seed: Option<u64>,
}

/// The raft tick everything defaults to: `mesos-master --raft_tick`, a master built
/// without flags, and a registrar built with [`RaftRegistrarConfig::new`].
pub const DEFAULT_TICK: Duration = Duration::from_millis(50);

impl RaftRegistrarConfig {
    /// Defaults: 50 ms ticks ([`DEFAULT_TICK`]), elections after 5-9 ticks without a
    /// leader (250-450 ms), heartbeats every tick.
    pub fn new(masters: Vec<SocketAddr>) -> RaftRegistrarConfig {
        RaftRegistrarConfig {
            masters,
            tick: DEFAULT_TICK,
            election_ticks: 5,
            heartbeat_ticks: 1,
            snapshot_interval: 1000,
            max_pending: 10_000,
            seed: None,
        }
    }

    /// Parses `--masters=ip:port,ip:port,...`; an absent or empty list is a group of one
    /// (`this`).
    pub fn parse_masters(
        list: Option<&str>,
        this: SocketAddr,
    ) -> Result<Vec<SocketAddr>, RegistrarError> {
        let Some(list) = list.filter(|l| !l.trim().is_empty()) else { return Ok(vec![this]) };
        mesos_proto::masters::parse_master_addresses(list)
            .map_err(|e| RegistrarError::Config { reason: e.to_string() })
    }
}

/// The master's handle to its raft registrar process.
#[derive(Clone)]
pub struct RaftRegistrar {
    process: ProcessRef<RegistrarProcess>,
    leadership: watch::Receiver<Leadership>,
    group: Group,
    /// The registrar's own thread, if it has one ([`RaftRegistrar::open`]); stopped with
    /// the last handle.
    _thread: Option<Arc<OwnThread>>,
}

/// An actix arbiter (a thread with its own event loop), stopped when dropped.
struct OwnThread(actix_rt::Arbiter);

impl Drop for OwnThread {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl RaftRegistrar {
    /// Starts the registrar on `node`, on the caller's actix arbiter (as the simulated
    /// tests want: one thread, one paused clock), with the log in `backend`.
    /// `node.address()` must be one of `config.masters`. A blank log first finds out
    /// whether the group is new (see [`process`](crate::process)).
    pub fn start(
        node: &Node,
        config: RaftRegistrarConfig,
        backend: Box<dyn LogBackend>,
    ) -> Result<RaftRegistrar, RegistrarError> {
        RaftRegistrar::start_on(node, config, backend, None)
    }

    fn start_on(
        node: &Node,
        config: RaftRegistrarConfig,
        backend: Box<dyn LogBackend>,
        thread: Option<OwnThread>,
    ) -> Result<RaftRegistrar, RegistrarError> {
        let (process, leadership) = RegistrarProcess::new(node, config, backend)?;
        let group = process.group().clone();
        let process = match &thread {
            Some(thread) => node.spawn_on(&thread.0.handle(), REGISTRAR_ID, move || process),
            None => node.spawn(REGISTRAR_ID, process),
        };
        let process = process.map_err(|e| RegistrarError::Config { reason: e.to_string() })?;
        Ok(RaftRegistrar { process, leadership, group, _thread: thread.map(Arc::new) })
    }

    /// Starts the registrar with its log in sled under `<work_dir>/raft`, on a thread of
    /// its own, its messages on the node's priority lane: raft's ticks, heartbeats and
    /// messages never wait behind the master's work or its clients (a leader busy for a
    /// second with thousands of re-registrations, or rendering `/master/state`, must not
    /// miss its heartbeats and be deposed for it).
    pub fn open(
        node: &Node,
        config: RaftRegistrarConfig,
        work_dir: &Path,
    ) -> Result<RaftRegistrar, RegistrarError> {
        let backend = SledBackend::open(work_dir)?;
        // Its messages also travel apart from the node's other traffic (libprocess's
        // priority lane): a thread of its own would not help a heartbeat stuck behind a
        // 30 MB `/master/state` on the node's I/O thread.
        node.give_priority_lane(REGISTRAR_ID);
        RaftRegistrar::start_on(
            node,
            config,
            Box::new(backend),
            Some(OwnThread(actix_rt::Arbiter::new())),
        )
    }

    /// The registrar's pid.
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// The raft status (for `/master/raft`).
    pub async fn status(&self) -> Result<RaftStatus, RegistrarError> {
        self.process.dispatch(|p, _| p.status()).await.map_err(|_| RegistrarError::Stopped)
    }
}

impl Registrar for RaftRegistrar {
    fn submit(&self, operation: RegistryOperation) -> Completion {
        let (tx, rx) = oneshot::channel();
        let told = self.process.tell(move |p, ctx| p.on_submit(operation, tx, ctx));
        Box::pin(async move {
            if told.is_err() {
                return Err(RegistrarError::Stopped);
            }
            rx.await.unwrap_or(Err(RegistrarError::Stopped))
        })
    }

    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    fn state(&self) -> StateFuture {
        let future = self.process.dispatch(|p, _| p.driver().map(|d| d.state().clone()));
        Box::pin(async move {
            future
                .await
                .map_err(|_| RegistrarError::Stopped)?
                .ok_or(RegistrarError::NotLeader { leader: None })
        })
    }

    fn raft_status(&self) -> Option<StatusFuture> {
        let future = self.process.dispatch(|p, _| p.status());
        Some(Box::pin(async move { future.await.map_err(|_| RegistrarError::Stopped) }))
    }

    fn address_of(&self, raft_id: u64) -> Option<SocketAddr> {
        self.group.address_of(raft_id)
    }
}
