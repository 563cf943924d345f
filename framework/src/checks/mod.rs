//! Task checks: health checks (`TaskInfo.health_check`) and general checks
//! (`TaskInfo.check`) of type COMMAND, HTTP and TCP, as Mesos's executors run them.
//!
//! Mesos: src/checks/ (`CheckerProcess`, `HealthChecker`, `Checker`) and
//! docs/health-checks.md. Both kinds probe the task on a schedule: the first probe
//! `delay_seconds` after the task's launch, each next one `interval_seconds` after the
//! previous ended, each bounded by `timeout_seconds` (0: unbounded). Then:
//!
//! - a **health check** reports `healthy=true` on its first success and on the first
//!   success after failures, and `healthy=false` on every failure. Failures before the
//!   first success do not count while within `grace_period_seconds` of the launch. At
//!   `consecutive_failures` failures in a row the task is to be killed. HTTP answers
//!   200 to 399 are healthy; COMMAND exit 0; TCP a connection.
//! - a **general check** reports the raw result (`CheckStatusInfo`: exit code, HTTP
//!   status, connected or not), only when it differs from the last one reported; a probe
//!   that could not be carried out reports the empty status of its type.
//!
//! What the executor does with the reports (status updates with Mesos's reasons, the
//! kill) is the executor's: `mesos-executor`'s command executor and the default executor
//! (`mesos-default-executor`, which numbers its tasks' checks with
//! [`TaskCheckers::with_owner`]) in `mesos-agent`.
//!
//! # Layout
//! - `core`: [`Checker`], the pure state machine of one check.
//! - `probe`: [`Prober`] and [`OsProber`], carrying out one probe.
//! - `task`: [`TaskCheckers`], a task's checks on an executor's driver.

mod core;
mod probe;
mod task;

#[cfg(test)]
mod tests;

pub use self::core::{
    Checker, CheckerOutput, HealthReport, Probe, ProbeResult, empty_check_status,
};
pub use probe::{OnProbeDone, OsProber, ProbeContext, Prober};
pub use task::{
    CHECK_OWNERS, CheckEvent, ProbeDone, TaskCheckers, check_token_owner, is_check_token,
};
