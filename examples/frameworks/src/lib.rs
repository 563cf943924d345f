//! Example frameworks built on the `mesos-framework` SDK. Each is a library module (so
//! tests run it against a simulated cluster) and a binary (to run it against a real
//! cluster: see README.md).
//!
//! # Layout
//! - [`hello`]: runs N command tasks and exits when all finished (the tutorial).
//! - [`keeper`]: keeps N instances of a command running through failures, its own
//!   restarts (failover + reconciliation) and master failovers.
//! - [`batch`]: Monte-Carlo pi split into tasks run by a custom executor; results come
//!   back as framework messages.
//! - [`ping`]: two executors play ping-pong through the scheduler.
//! - [`flags`]: command-line flags the binaries share.

pub mod batch;
pub mod flags;
pub mod hello;
pub mod keeper;
pub mod ping;
