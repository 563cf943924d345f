//! The pure checker: one health check or one general check of one task, as a state
//! machine. Times and probe results go in; what to schedule, what to run and what to
//! report come out. It never touches a socket, a process or a clock.
//!
//! Mesos: src/checks/checker_process.cpp (the schedule: `delay_seconds`, then one probe
//! at a time, the next `interval_seconds` after the previous one ended, each bounded by
//! `timeout_seconds`), src/checks/health_checker.cpp (how results become health) and
//! src/checks/checker.cpp (a general check reports only when its status changes).
//!
//! Lifecycle of one checker:
//!
//! 1. [`Checker::start`] → `ScheduleCheck(delay)`.
//! 2. [`Checker::on_check_timer`] → `Run { probe, timeout }` (the shell arms the
//!    timeout and starts the probe).
//! 3. [`Checker::on_result`] or [`Checker::on_timeout`], whichever comes first for this
//!    attempt (a late one is ignored by its attempt number) → maybe a `Health` or a
//!    `CheckStatus` report, and `ScheduleCheck(interval)`: back to 2.
//! 4. [`Checker::pause`] (the task is being killed or has exited): nothing more is run
//!    or reported.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use libprocess::Time;
use mesos_proto::mesos::{
    CheckInfo, CheckStatusInfo, CommandInfo, HealthCheck, check_info, check_status_info,
    health_check, network_info,
};

use crate::FrameworkError;

/// What a probe does. Mesos: checks_types.hpp `check::Command`, `check::Http`,
/// `check::Tcp`.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Run a command in the task's sandbox; exit code 0 is success.
    Command(CommandInfo),
    /// `GET scheme://address/path`.
    Http {
        /// `http` or `https`.
        scheme: String,
        /// The task's port on loopback: `127.0.0.1`, or `::1` for `protocol: IPv6`.
        address: SocketAddr,
        /// Starts with `/`.
        path: String,
    },
    /// Open a TCP connection to `address`.
    Tcp {
        /// The task's port on loopback: `127.0.0.1`, or `::1` for `protocol: IPv6`.
        address: SocketAddr,
    },
}

impl Probe {
    /// The `CheckInfo.Type` this probe reports under.
    pub fn check_type(&self) -> check_info::Type {
        match self {
            Probe::Command(_) => check_info::Type::Command,
            Probe::Http { .. } => check_info::Type::Http,
            Probe::Tcp { .. } => check_info::Type::Tcp,
        }
    }
}

/// How one probe ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeResult {
    /// The command exited with this code.
    Command {
        /// Its exit code.
        exit_code: i32,
    },
    /// The server answered (after following redirects) with this status.
    Http {
        /// The HTTP status code.
        status_code: u32,
    },
    /// Whether the connection opened.
    Tcp {
        /// True when it did.
        succeeded: bool,
    },
    /// The probe could not be carried out (it timed out, the command died of a signal,
    /// the HTTP request got no answer). Mesos: a failed `Future` in checker_process.cpp.
    Error(String),
    /// The probe could not be attempted for a passing reason (the agent that runs a
    /// nested check refused it or could not be reached, e.g. while it restarts): no
    /// result at all, neither success nor failure, and the next probe comes at the
    /// usual interval. Mesos: a discarded promise, "treat this as a transient failure"
    /// in checker_process.cpp `nestedCommandCheck`.
    Skipped(String),
}

/// A health report for the executor to send. Mesos: `TaskHealthStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthReport {
    /// Healthy or not.
    pub healthy: bool,
    /// Failures in a row so far (0 when healthy).
    pub consecutive_failures: u32,
    /// `consecutive_failures` reached the limit: kill the task.
    pub kill_task: bool,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckerOutput {
    /// Call [`Checker::on_check_timer`] with `attempt` after `after`.
    ScheduleCheck {
        /// When.
        after: Duration,
        /// The attempt it starts.
        attempt: u64,
    },
    /// Start `probe` now and report it with [`Checker::on_result`]; unless `timeout` is
    /// `None` (Mesos: `timeout_seconds` 0 is no timeout), call [`Checker::on_timeout`]
    /// after it.
    Run {
        /// This probe's attempt number.
        attempt: u64,
        /// What to run.
        probe: Probe,
        /// How long it may take.
        timeout: Option<Duration>,
    },
    /// Send a status update with `healthy` (and kill the task if it says so).
    Health(HealthReport),
    /// Send a status update with this `check_status` (it changed).
    CheckStatus(CheckStatusInfo),
}

/// Health check or general check, with what each remembers.
#[derive(Debug, Clone)]
enum Mode {
    /// Mesos: health_checker.cpp `HealthChecker`.
    Health {
        /// Kill the task at this many failures in a row.
        max_failures: u32,
        /// Failures before the first success within this long of the start don't count.
        grace_period: Duration,
        /// When the checker was made (the task's launch).
        started: Time,
        /// No success yet.
        initializing: bool,
        /// Failures in a row.
        failures: u32,
    },
    /// Mesos: checker.cpp `Checker`.
    General {
        /// The last status reported; a new one is reported only if it differs.
        previous: Option<CheckStatusInfo>,
    },
}

/// Where the checker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Made, not started.
    Idle,
    /// Waiting for the timer of this attempt.
    Waiting(u64),
    /// This attempt's probe runs.
    Running(u64),
    /// Stopped for good.
    Paused,
}

/// One check of one task.
#[derive(Debug, Clone)]
pub struct Checker {
    probe: Probe,
    delay: Duration,
    interval: Duration,
    timeout: Option<Duration>,
    mode: Mode,
    phase: Phase,
    next_attempt: u64,
}

fn seconds(name: &str, value: f64) -> Result<Duration, FrameworkError> {
    Duration::try_from_secs_f64(value).map_err(|_| FrameworkError::InvalidCheck {
        reason: format!("Expecting '{name}' to be non-negative, got {value}"),
    })
}

fn invalid(reason: impl Into<String>) -> FrameworkError {
    FrameworkError::InvalidCheck { reason: reason.into() }
}

/// The task's `port` on loopback (Mesos: checker_process.cpp `DEFAULT_DOMAIN`, or
/// `::1` for IPv6).
fn loopback(value: u32, protocol: Option<i32>) -> Result<SocketAddr, FrameworkError> {
    let port =
        u16::try_from(value).map_err(|_| invalid(format!("Port {value} is out of range")))?;
    let ipv6 = protocol == Some(network_info::Protocol::IPv6 as i32);
    let ip = if ipv6 { Ipv6Addr::LOCALHOST.into() } else { Ipv4Addr::LOCALHOST.into() };
    Ok(SocketAddr::new(ip, port))
}

/// The path of a validated HTTP check: `/` when unset.
fn path_or_root(path: Option<&str>) -> String {
    path.unwrap_or("/").to_string()
}

/// A field the validation already found set.
fn missing(field: &str) -> FrameworkError {
    invalid(format!("Expecting '{field}' to be set"))
}

/// Mesos: common/validation.cpp `validateHealthCheck` (shared with the master, which
/// refuses such a task), then health_checker.cpp `toCheckInfo`.
fn health_probe(check: &HealthCheck) -> Result<Probe, FrameworkError> {
    mesos_proto::checks::validate_health_check(check).map_err(invalid)?;
    match check.r#type() {
        health_check::Type::Command => {
            Ok(Probe::Command(check.command.clone().ok_or_else(|| missing("command"))?))
        }
        health_check::Type::Http => {
            let http = check.http.as_ref().ok_or_else(|| missing("http"))?;
            Ok(Probe::Http {
                scheme: http.scheme.clone().unwrap_or_else(|| "http".into()),
                address: loopback(http.port, http.protocol)?,
                path: path_or_root(http.path.as_deref()),
            })
        }
        health_check::Type::Tcp => {
            let tcp = check.tcp.as_ref().ok_or_else(|| missing("tcp"))?;
            Ok(Probe::Tcp { address: loopback(tcp.port, tcp.protocol)? })
        }
        health_check::Type::Unknown => Err(invalid("'UNKNOWN' is not a valid health check type")),
    }
}

/// Mesos: common/validation.cpp `validateCheckInfo`.
fn general_probe(check: &CheckInfo) -> Result<Probe, FrameworkError> {
    mesos_proto::checks::validate_check_info(check).map_err(invalid)?;
    match check.r#type() {
        check_info::Type::Command => {
            let command = check.command.as_ref().ok_or_else(|| missing("command"))?;
            Ok(Probe::Command(command.command.clone()))
        }
        check_info::Type::Http => {
            let http = check.http.as_ref().ok_or_else(|| missing("http"))?;
            Ok(Probe::Http {
                scheme: "http".into(),
                address: loopback(http.port, None)?,
                path: path_or_root(http.path.as_deref()),
            })
        }
        check_info::Type::Tcp => {
            let tcp = check.tcp.as_ref().ok_or_else(|| missing("tcp"))?;
            Ok(Probe::Tcp { address: loopback(tcp.port, None)? })
        }
        check_info::Type::Unknown => Err(invalid("'UNKNOWN' is not a valid check type")),
    }
}

/// The empty status of a check of `probe`'s type: what Mesos reports before the first
/// result and after a probe that could not be carried out (checker.cpp
/// `createEmptyCheckStatusInfo`).
pub fn empty_check_status(check_type: check_info::Type) -> CheckStatusInfo {
    let mut status = CheckStatusInfo { r#type: Some(check_type as i32), ..Default::default() };
    match check_type {
        check_info::Type::Command => status.command = Some(Default::default()),
        check_info::Type::Http => status.http = Some(Default::default()),
        check_info::Type::Tcp => status.tcp = Some(Default::default()),
        check_info::Type::Unknown => {}
    }
    status
}

/// A probe's result as a `CheckStatusInfo`; `None` for an error.
fn check_status_of(result: &ProbeResult) -> Option<CheckStatusInfo> {
    let mut status = CheckStatusInfo::default();
    match result {
        ProbeResult::Command { exit_code } => {
            status.r#type = Some(check_info::Type::Command as i32);
            status.command = Some(check_status_info::Command { exit_code: Some(*exit_code) });
        }
        ProbeResult::Http { status_code } => {
            status.r#type = Some(check_info::Type::Http as i32);
            status.http = Some(check_status_info::Http { status_code: Some(*status_code) });
        }
        ProbeResult::Tcp { succeeded } => {
            status.r#type = Some(check_info::Type::Tcp as i32);
            status.tcp = Some(check_status_info::Tcp { succeeded: Some(*succeeded) });
        }
        ProbeResult::Error(_) | ProbeResult::Skipped(_) => return None,
    }
    Some(status)
}

/// Why a result is a health failure, if it is one. Mesos: health_checker.cpp
/// `interpretCheckStatusInfo` (HTTP: 200 to 399 is healthy).
fn health_failure(result: &ProbeResult) -> Option<String> {
    match result {
        ProbeResult::Command { exit_code: 0 } => None,
        ProbeResult::Command { exit_code } => {
            Some(format!("Command exited with status {exit_code}"))
        }
        ProbeResult::Http { status_code: 200..=399 } => None,
        ProbeResult::Http { status_code } => {
            Some(format!("Unexpected HTTP response code: {status_code}"))
        }
        ProbeResult::Tcp { succeeded: true } => None,
        ProbeResult::Tcp { succeeded: false } => Some("TCP connection failed".into()),
        ProbeResult::Error(error) | ProbeResult::Skipped(error) => Some(error.clone()),
    }
}

impl Checker {
    /// The checker of a task's `HealthCheck`, made at the task's launch (`now`); an
    /// invalid check is refused with Mesos's reason.
    pub fn health(check: &HealthCheck, now: Time) -> Result<Checker, FrameworkError> {
        let probe = health_probe(check)?;
        let mode = Mode::Health {
            max_failures: check.consecutive_failures(),
            grace_period: seconds("grace_period_seconds", check.grace_period_seconds())?,
            started: now,
            initializing: true,
            failures: 0,
        };
        Checker::new(
            probe,
            mode,
            [check.delay_seconds(), check.interval_seconds(), check.timeout_seconds()],
        )
    }

    /// The checker of a task's general `CheckInfo`.
    pub fn general(check: &CheckInfo) -> Result<Checker, FrameworkError> {
        let probe = general_probe(check)?;
        let mode = Mode::General { previous: None };
        Checker::new(
            probe,
            mode,
            [check.delay_seconds(), check.interval_seconds(), check.timeout_seconds()],
        )
    }

    fn new(
        probe: Probe,
        mode: Mode,
        [delay, interval, timeout]: [f64; 3],
    ) -> Result<Checker, FrameworkError> {
        let timeout = seconds("timeout_seconds", timeout)?;
        Ok(Checker {
            probe,
            delay: seconds("delay_seconds", delay)?,
            interval: seconds("interval_seconds", interval)?,
            // Mesos: checker_process.cpp, a zero timeout is an infinite one.
            timeout: (!timeout.is_zero()).then_some(timeout),
            mode,
            phase: Phase::Idle,
            next_attempt: 1,
        })
    }

    /// True for a health check (its reports are [`CheckerOutput::Health`]).
    pub fn is_health_check(&self) -> bool {
        matches!(self.mode, Mode::Health { .. })
    }

    /// What this checker probes.
    pub fn probe(&self) -> &Probe {
        &self.probe
    }

    /// Starts checking: the first probe after `delay_seconds`.
    pub fn start(&mut self) -> Vec<CheckerOutput> {
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        vec![self.schedule(self.delay)]
    }

    /// Stops for good: later timers and results are ignored. Mesos: the command
    /// executor pauses its checkers when it kills the task or the task exits.
    pub fn pause(&mut self) {
        self.phase = Phase::Paused;
    }

    fn schedule(&mut self, after: Duration) -> CheckerOutput {
        let attempt = self.next_attempt;
        self.next_attempt += 1;
        self.phase = Phase::Waiting(attempt);
        CheckerOutput::ScheduleCheck { after, attempt }
    }

    /// The timer of `attempt` fired: run the probe.
    pub fn on_check_timer(&mut self, attempt: u64) -> Vec<CheckerOutput> {
        if self.phase != Phase::Waiting(attempt) {
            return Vec::new();
        }
        self.phase = Phase::Running(attempt);
        vec![CheckerOutput::Run { attempt, probe: self.probe.clone(), timeout: self.timeout }]
    }

    /// `attempt` took longer than `timeout_seconds`: a failure, as Mesos counts it
    /// (checker_process.cpp: "timed out after").
    pub fn on_timeout(&mut self, now: Time, attempt: u64) -> Vec<CheckerOutput> {
        let timeout = self.timeout.unwrap_or_default();
        let message = format!("{} timed out after {timeout:?}", self.name());
        self.on_result(now, attempt, ProbeResult::Error(message))
    }

    /// The probe of `attempt` ended with `result` at `now`.
    pub fn on_result(
        &mut self,
        now: Time,
        attempt: u64,
        result: ProbeResult,
    ) -> Vec<CheckerOutput> {
        if self.phase != Phase::Running(attempt) {
            // Late (after its timeout) or after a pause.
            return Vec::new();
        }
        if let ProbeResult::Skipped(reason) = &result {
            tracing::warn!(%reason, "{} skipped: no result this time", self.name());
            return vec![self.schedule(self.interval)];
        }
        let mut outputs = if self.is_health_check() {
            self.on_health_result(now, &result)
        } else {
            self.on_general_result(&result)
        };
        outputs.push(self.schedule(self.interval));
        outputs
    }

    // Mesos: checker.cpp Checker::processCheckResult.
    fn on_general_result(&mut self, result: &ProbeResult) -> Vec<CheckerOutput> {
        let check_type = self.probe.check_type();
        let Mode::General { previous } = &mut self.mode else { return Vec::new() };
        if let ProbeResult::Error(error) = result {
            tracing::warn!(%error, "check failed");
        }
        let status = check_status_of(result).unwrap_or_else(|| empty_check_status(check_type));
        if previous.as_ref() == Some(&status) {
            return Vec::new();
        }
        *previous = Some(status);
        vec![CheckerOutput::CheckStatus(status)]
    }

    // Mesos: health_checker.cpp HealthChecker::failure and ::success.
    fn on_health_result(&mut self, now: Time, result: &ProbeResult) -> Vec<CheckerOutput> {
        let Mode::Health { max_failures, grace_period, started, initializing, failures } =
            &mut self.mode
        else {
            return Vec::new();
        };
        match health_failure(result) {
            None => {
                // Report the first success, and the first after failures.
                let report = *initializing || *failures > 0;
                *initializing = false;
                *failures = 0;
                if !report {
                    return Vec::new();
                }
                let healthy =
                    HealthReport { healthy: true, consecutive_failures: 0, kill_task: false };
                vec![CheckerOutput::Health(healthy)]
            }
            Some(reason) => {
                let in_grace = *initializing
                    && !grace_period.is_zero()
                    && now.saturating_since(*started) <= *grace_period;
                if in_grace {
                    tracing::info!(%reason, "ignoring a health check failure: still in the grace period");
                    return Vec::new();
                }
                *failures += 1;
                tracing::warn!(%reason, failures = *failures, "health check failed");
                let report = HealthReport {
                    healthy: false,
                    consecutive_failures: *failures,
                    kill_task: *failures >= *max_failures,
                };
                vec![CheckerOutput::Health(report)]
            }
        }
    }

    fn name(&self) -> String {
        let kind = if self.is_health_check() { "health check" } else { "check" };
        let probe = match self.probe {
            Probe::Command(_) => "COMMAND",
            Probe::Http { .. } => "HTTP",
            Probe::Tcp { .. } => "TCP",
        };
        format!("{probe} {kind}")
    }
}
