//! The Mesos agent ("slave" on the wire): runs executors and their tasks on one
//! machine, delivers task status updates reliably to the framework, checkpoints
//! what it needs under `--work_dir`, and survives its own restarts without losing
//! a running task.
//!
//! The protocol logic lives in a pure core, [`core::AgentCore`]: messages, container
//! exits and timers go in, outputs come out (messages to send, executors to launch,
//! containers to signal, checkpoints to write, timers to set). The
//! [`agent::Agent`] libprocess process around it only performs them.
//!
//! See `docs/agent.md` for the lifecycle, the status-update flow and recovery.
//!
//! # Layout
//! - [`core`]: the pure `AgentCore`: registration, tasks, executors, status-update
//!   delivery and recovery decisions, with its transcript tests.
//! - [`status_update`]: the task status-update manager (pure core).
//! - [`state`]: bookkeeping of frameworks, executors and tasks (pure core).
//! - [`updates`]: building status updates, task records and uuids.
//! - [`agent`]: the `Agent` process: decodes messages, performs the core's outputs,
//!   the HTTP endpoints and the v1 executor and operator APIs.
//! - [`paths`]: where everything lives under `--work_dir`.
//! - [`checkpoint`]: atomic checkpoint files and reading them back for recovery.
//! - [`containerizer`]: the posix containerizer: executors as OS processes.
//! - [`containers`]: nested and standalone containers of the operator API (the book
//!   of them, their processes, the RecordIO of `ProcessIO` their sessions speak).
//! - [`fetcher`]: the fetcher (Mesos's `mesos-fetcher`): an executor's URIs into its
//!   sandbox before it starts, with the agent's fetcher cache.
//! - [`limits`]: resource limits (cgroups v2 where available, else rlimits).
//! - [`gc`]: sandbox garbage collection, the pure part (which paths are due, when).
//! - [`users`]: running executors as their user (`--switch_user`).
//! - [`files`]: `/files/*`: browsing and reading sandboxes, confined to them.
//! - [`executor`]: the command executor that `mesos-executor` runs: an `Executor` on
//!   the SDK's executor driver (`mesos_framework::executor`), like every other executor.
//! - [`default_executor`]: Mesos's default executor (`mesos-default-executor`): task
//!   groups on the SDK's v1 HTTP executor transport, per-task sandboxes, the group
//!   killed as a unit.
//! - [`nested_runner`]: how the default executor runs each task: a nested container
//!   through the agent's operator API (LAUNCH/WAIT/KILL_NESTED_CONTAINER).
//! - [`nested_checks`]: the default executor's COMMAND checks and health checks, each
//!   run as a `check-<uuid>` session nested in the task's container.
//! - [`flags`]: the `mesos-agent` flags and Mesos duration syntax.
//! - [`error`]: the crate's error type, [`AgentError`].
//! - [`cli`]: the `mesos-agent`, `mesos-executor` and `mesos-default-executor` programs
//!   as functions.

pub mod agent;
pub mod checkpoint;
pub mod cli;
pub mod containerizer;
pub mod containers;
pub mod core;
pub mod default_executor;
pub mod error;
pub mod executor;
pub mod fetcher;
pub mod files;
pub mod flags;
pub mod gc;
pub mod limits;
pub mod nested_checks;
pub mod nested_runner;
pub mod paths;
pub mod state;
pub mod status_update;
pub mod updates;
pub mod users;

pub use error::AgentError;
