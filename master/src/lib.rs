//! The Mesos master: frameworks, agents, offers, the DRF allocator, tasks.
//!
//! Protocol logic lives in pure cores that take inputs and return outputs (the master
//! core, the allocator); actors around them only do I/O. Three masters form an HA group
//! replicated with raft: the registry and its raft driver are the `mesos-registrar` crate
//! (`mesos_registrar`), which the master uses through its `Registrar` trait (see
//! docs/ha.md).
//!
//! # Layout
//!
//! - [`allocator`]: the allocator: its pure core (the hierarchical DRF sorter and the
//!   hierarchical allocator, on `mesos_proto`'s quantities and ids) and its actor
//!   ([`allocator::process`]).
//! - [`authentication`]: v0 authentication of frameworks and agents (CRAM-MD5): who
//!   authenticated as whom, and whether a registration may proceed.
//! - [`cli`]: the `mesos-master` program.
//! - [`core`]: the master's pure core: agents, frameworks, offers, tasks.
//! - [`process`]: the master actor around the core (its dispatch, re-registrations
//!   recognised before decoding, decoding on a worker under load).
//! - [`snapshot`]: state copies for the read-only endpoints.
//! - [`launch`]: starting the registrar, allocator and master on a node.
//! - [`leadership`]: whether this master leads, shared with the HTTP layer.
//! - [`http`]: everything the master serves over HTTP: the read-only endpoints, the v1
//!   scheduler and operator APIs, `/teardown`, `/raft`, the web UI, and the `master/*`
//!   metrics.
//! - [`flags`]: `mesos-master`'s command-line flags.

/// The `tracing` target of the debug timeline of a new framework's first task:
/// SUBSCRIBE received, registry write committed, the allocator's round, offers sent,
/// ACCEPT received, `RunTaskMessage` sent, the agent's `TASK_RUNNING` forwarded (E2E-1
/// in docs/benchmarks.md). `RUST_LOG=warn,timeline=debug` logs it; only frameworks that
/// launched at most one task are followed, so a busy master logs a few lines per new
/// framework.
pub const TIMELINE: &str = "timeline";

pub mod allocator;
pub mod authentication;
pub mod cli;
pub mod core;
pub mod flags;
pub mod http;
pub mod launch;
pub mod leadership;
pub mod process;
pub mod snapshot;
