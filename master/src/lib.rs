//! The Mesos master: frameworks, agents, offers, the DRF allocator, tasks.
//!
//! Protocol logic lives in pure cores that take inputs and return outputs (the master
//! core, the allocator, the raft driver of the registrar); actors around them only do
//! I/O. Three masters form an HA group replicated with raft (see docs/ha.md).
//!
//! # Layout
//!
//! - [`allocator`]: the allocator's pure core: the hierarchical DRF sorter and the
//!   hierarchical allocator (on `mesos_proto`'s quantities and ids).
//! - [`allocator_process`]: the allocator actor around that core.
//! - [`cli`]: the `mesos-master` program.
//! - [`core`]: the master's pure core: agents, frameworks, offers, tasks.
//! - [`process`]: the master actor around the core.
//! - [`scheduler_api`]: the v1 scheduler HTTP API (`/api/v1/scheduler`).
//! - [`operator_api`]: the v1 operator HTTP API (`/api/v1`).
//! - [`snapshot`]: state copies for the read-only endpoints.
//! - [`launch`]: starting the registrar, allocator and master on a node.
//! - [`leadership`]: whether this master leads, shared with the HTTP layer.
//! - [`http`]: the HTTP endpoints.
//! - [`metrics`]: `master/*` metrics.
//! - [`registrar`]: the replicated registry (raft-rs + sled) and the in-memory one.
//! - [`flags`]: `mesos-master`'s command-line flags.

pub mod allocator;
pub mod allocator_process;
pub mod cli;
pub mod core;
pub mod flags;
pub mod http;
pub mod launch;
pub mod leadership;
pub mod metrics;
pub mod operator_api;
pub mod process;
pub mod registrar;
pub mod scheduler_api;
pub mod snapshot;
