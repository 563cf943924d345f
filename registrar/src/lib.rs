//! The registrar: the masters' replicated registry, on embedded raft (raft-rs) and sled.
//!
//! Mesos keeps its registry in a Paxos replicated log and elects its leader through
//! ZooKeeper. Here one raft group of masters does both: the raft leader is the leading
//! master, and every registry change is a raft entry that the master acts on only once a
//! quorum has it on disk and it has been applied (see docs/ha.md).
//!
//! This crate knows nothing of the master beyond the registry's operations (Mesos:
//! `src/master/registrar.cpp`, `registry_operations.cpp`); it is where raft-rs, sled and
//! raft-rs's protobuf-2 types live, so no other crate depends on them. Its binary,
//! `mesos-registry`, backs up and restores a stopped master's registry (`mesos-local`
//! runs it too, through [`cli::main`]).
//!
//! The master uses the [`Registrar`] trait:
//!
//! 1. [`Registrar::submit`] an operation ([`RegistryOperation`]); the returned
//!    [`Completion`] resolves once the operation is committed and applied
//!    (`Ok(Applied)`), refused by the state machine (`Err(Rejected)`), or can no longer
//!    be known to commit on this master (`Err(NotLeader | LeadershipLost | ...)`).
//! 2. Watch [`Registrar::leadership`]: act only while it says
//!    [`LeaderState::Leading`], and treat any change of term as losing leadership.
//! 3. Read the applied registry with [`Registrar::state`].
//!
//! # Layout
//!
//! - [`state`]: [`RegistryState`], what is replicated, and its encoding.
//! - [`operations`]: [`RegistryOperation`] and how each applies (Mesos semantics).
//! - [`draining`]: the draining and deactivation operations (Mesos 1.9+).
//! - [`memory`]: [`InMemoryRegistrar`] (`--registry=in_memory`).
//! - [`storage`]: the raft log storage ([`RaftStorage`]) over a small [`LogBackend`]
//!   trait, with an in-memory backend for tests.
//! - [`sled_backend`]: the durable backend under `<work_dir>/raft`.
//! - [`members`]: masters by slot and raft ids by incarnation ([`Group`]).
//! - [`driver`]: [`RaftDriver`], the pure raft driver (ticks and messages in, outputs out).
//! - [`messages`]: what registrars send each other ([`RaftMessage`], the blank member's
//!   probe and join) and the actor's inbound enum.
//! - [`process`]: the [`RegistrarProcess`] actor around the driver: raft messages over
//!   libprocess, ticks on the libprocess clock, a blank member's probe and rejoin.
//! - [`handle`]: [`RaftRegistrarConfig`] and the [`RaftRegistrar`] handle the master
//!   holds (on a thread of its own for a real master).
//! - [`error`]: [`RegistryError`] (the state machine refused) and [`RegistrarError`]
//!   (an operation did not, or may not, take effect).
//! - [`metrics`]: [`MeasuredRegistrar`], Mesos's `registrar/*` metrics (commit latency
//!   percentiles, queued operations, registry size) around any registrar.
//! - [`logger`]: raft-rs's slog output bridged to tracing.
//! - [`json`]: the registry as JSON (`mesos-registry dump|restore`).
//! - [`cli`]: the `mesos-registry` program.

pub mod cli;
pub mod draining;
pub mod driver;
pub mod error;
pub mod handle;
pub mod json;
pub mod logger;
pub mod members;
pub mod memory;
pub mod messages;
pub mod metrics;
pub mod operations;
pub mod process;
pub mod sled_backend;
pub mod state;
pub mod storage;

use std::future::Future;
use std::pin::Pin;

use libprocess::Pid;

pub use driver::{DriverConfig, DriverOutput, RaftDriver, RaftStatus};
pub use error::{RegistrarError, RegistryError};
pub use handle::{DEFAULT_TICK, RaftRegistrar, RaftRegistrarConfig, raft_peers};
pub use members::Group;
pub use memory::InMemoryRegistrar;
pub use messages::RaftMessage;
pub use metrics::MeasuredRegistrar;
pub use operations::{RegistryEntry, RegistryOperation};
pub use process::RegistrarProcess;
pub use sled_backend::SledBackend;
pub use state::{IdCounters, RegisteredFramework, RegistryState};
pub use storage::{LogBackend, MemBackend, RaftStorage};

/// A committed and applied operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The raft index of its entry.
    pub index: u64,
    /// The raft term of its entry.
    pub term: u64,
    /// True if the registry changed (Mesos: the operation "mutated").
    pub mutated: bool,
    /// The registry's encoded size once this operation applied
    /// ([`RegistryState::registry_size_bytes`]).
    pub registry_size_bytes: u64,
}

/// What this registrar's master may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderState {
    /// Not started yet, or stopped.
    Stopped,
    /// Following `leader` (if known); the master must not act.
    Following {
        /// The leading registrar, if known.
        leader: Option<Pid>,
    },
    /// Elected, but the registry is not yet caught up with everything committed before
    /// this term; the master must not act yet.
    Elected,
    /// Leading, with every entry committed before this term applied: the master acts.
    Leading,
}

/// Leadership as the master sees it: a term and a state. A change of `term` while
/// `Leading` means leadership was lost and regained: the master must fence and recover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leadership {
    /// The raft term.
    pub term: u64,
    /// What this master may do in that term.
    pub state: LeaderState,
}

impl Leadership {
    /// True when the master may act.
    pub fn is_leading(&self) -> bool {
        self.state == LeaderState::Leading
    }
}

/// The result of a submitted operation.
pub type Completion = Pin<Box<dyn Future<Output = Result<Applied, RegistrarError>> + Send>>;

/// A registry copy requested from a registrar.
pub type StateFuture = Pin<Box<dyn Future<Output = Result<RegistryState, RegistrarError>> + Send>>;

/// The raft status, when there is raft (for `/master/raft`).
pub type StatusFuture = Pin<Box<dyn Future<Output = Result<RaftStatus, RegistrarError>> + Send>>;

/// The registry service the master uses: in memory, or replicated over raft.
pub trait Registrar: Send + Sync {
    /// Proposes `operation`; the completion fires once it is committed and applied, or
    /// fails (see [`RegistrarError`]).
    fn submit(&self, operation: RegistryOperation) -> Completion;

    /// Leadership changes, latest value first (a bounded, one-value channel).
    fn leadership(&self) -> tokio::sync::watch::Receiver<Leadership>;

    /// A copy of the applied registry.
    fn state(&self) -> StateFuture;

    /// The raft status, or `None` for a registrar without raft.
    fn raft_status(&self) -> Option<StatusFuture> {
        None
    }

    /// The address of the master with raft id `raft_id` (`None` without raft).
    fn address_of(&self, _raft_id: u64) -> Option<std::net::SocketAddr> {
        None
    }
}
