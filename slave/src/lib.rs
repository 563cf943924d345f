//! The Mesos agent ("slave" on the wire): runs executors and their tasks on one
//! machine, delivers task status updates reliably to the framework, checkpoints
//! what it needs under `--work_dir`, and survives its own restarts without losing
//! a running task.
//!
//! The protocol logic lives in plain structs that take inputs (a decoded message,
//! the current time) and return what to do; the [`agent::Agent`] libprocess
//! process around them only performs I/O: sending messages, writing checkpoints,
//! starting and signalling OS processes.
//!
//! See `docs/agent.md` for the lifecycle, the status-update flow and recovery.
//!
//! # Layout
//! - [`registration`]: `AgentState` and registration with backoff (pure core).
//! - [`status_update`]: the task status-update manager (pure core).
//! - [`state`]: bookkeeping of frameworks, executors and tasks (pure core).
//! - [`paths`]: where everything lives under `--work_dir`.
//! - [`checkpoint`]: atomic checkpoint files and reading them back for recovery.
//! - [`containerizer`]: the posix containerizer: executors as OS processes.
//! - [`limits`]: resource limits (cgroups v2 where available, else rlimits).
//! - [`agent`]: the `Agent` process: messages, executors, updates, recovery, HTTP.
//! - [`files`]: `/files/*`: browsing and reading sandboxes, confined to them.
//! - [`executor`]: the command executor that `mesos-executor` runs: an `Executor` on
//!   the SDK's executor driver (`mesos_framework::executor`), like every other executor.
//! - [`flags`]: the `mesos-agent` flags and Mesos duration syntax.
//! - [`protobuf`]: building status updates and tasks.
//! - [`error`]: the crate's error type, [`AgentError`].
//! - [`cli`]: the `mesos-agent` and `mesos-executor` programs as functions.

pub mod agent;
pub mod checkpoint;
pub mod cli;
pub mod containerizer;
pub mod error;
pub mod executor;
pub mod files;
pub mod flags;
pub mod limits;
pub mod paths;
pub mod protobuf;
pub mod registration;
pub mod state;
pub mod status_update;

pub use error::AgentError;
