//! The thin runner: a task's health check and general check, driven on an executor's
//! driver. It turns the checkers' outputs into driver timers and probes, and hands the
//! executor what to report.
//!
//! Timers use the driver's [`ExecutorDriver::schedule`] with tokens marked by
//! [`is_check_token`], so an executor passes on the tokens that are not its own; probe
//! results come back through the driver's [`Notifier`] as [`ProbeDone`] notices. Both
//! run on the driver's clock, which tests pause and advance.

use std::any::Any;
use std::time::Duration;

use mesos_proto::mesos::{CheckStatusInfo, TaskInfo};

use super::core::{Checker, CheckerOutput, HealthReport, ProbeResult};
use super::probe::{ProbeContext, Prober};
use crate::executor::{ExecutorDriver, Notifier};

/// Marks the timer tokens of checks (bit 62); an executor's own tokens stay below.
const TOKEN_TAG: u64 = 1 << 62;
/// Set for a probe's timeout; clear for the timer that starts a probe.
const TOKEN_TIMEOUT: u64 = 1 << 61;
/// The checker's slot (0: health check, 1: general check) sits above the attempt.
const TOKEN_SLOT_SHIFT: u32 = 56;
const TOKEN_ATTEMPT_MASK: u64 = (1 << TOKEN_SLOT_SHIFT) - 1;

/// True for a timer token that belongs to [`TaskCheckers::on_timer`].
pub fn is_check_token(token: u64) -> bool {
    token & TOKEN_TAG != 0
}

fn token(slot: usize, timeout: bool, attempt: u64) -> u64 {
    let flag = if timeout { TOKEN_TIMEOUT } else { 0 };
    TOKEN_TAG | flag | ((slot as u64) << TOKEN_SLOT_SHIFT) | (attempt & TOKEN_ATTEMPT_MASK)
}

/// A probe ended: the notice [`TaskCheckers`] sends itself through the driver.
#[derive(Debug)]
pub struct ProbeDone {
    slot: usize,
    attempt: u64,
    result: ProbeResult,
}

/// What the executor must report about its task.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckEvent {
    /// A health check result to send (`healthy`, reason
    /// `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`); kill the task if it says so.
    Health(HealthReport),
    /// A new check status to send (`check_status`, reason
    /// `REASON_TASK_CHECK_STATUS_UPDATED`).
    CheckStatus(CheckStatusInfo),
}

/// One task's checks.
pub struct TaskCheckers {
    /// Slot 0 the health check, slot 1 the general check, if the task has them.
    checkers: [Option<Checker>; 2],
    prober: Box<dyn Prober>,
    context: ProbeContext,
    notifier: Notifier,
}

impl std::fmt::Debug for TaskCheckers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCheckers").field("checkers", &self.checkers).finish_non_exhaustive()
    }
}

impl TaskCheckers {
    /// The checks of `task` (its `health_check` and `check`), made at its launch. An
    /// invalid check is logged and not run (Mesos: launcher/executor.cpp logs "Failed
    /// to create health checker" and goes on; the master validates checks at launch).
    pub fn new(
        task: &TaskInfo,
        context: ProbeContext,
        prober: Box<dyn Prober>,
        driver: &ExecutorDriver,
    ) -> TaskCheckers {
        let health = task.health_check.as_ref().and_then(|check| {
            Checker::health(check, driver.now())
                .inspect_err(|error| tracing::error!(%error, "cannot create the health checker"))
                .ok()
        });
        let general = task.check.as_ref().and_then(|check| {
            Checker::general(check)
                .inspect_err(|error| tracing::error!(%error, "cannot create the checker"))
                .ok()
        });
        TaskCheckers { checkers: [health, general], prober, context, notifier: driver.notifier() }
    }

    /// True when the task has no check to run.
    pub fn is_empty(&self) -> bool {
        self.checkers.iter().all(Option::is_none)
    }

    /// Starts every check (the first probe after its `delay_seconds`).
    pub fn start(&mut self, driver: &mut ExecutorDriver) {
        for slot in 0..self.checkers.len() {
            let outputs = self.checkers[slot].as_mut().map(Checker::start).unwrap_or_default();
            let events = self.perform(driver, slot, outputs);
            debug_assert!(events.is_empty(), "starting reports nothing");
        }
    }

    /// Stops every check for good (the task is being killed or has ended).
    pub fn pause(&mut self) {
        self.checkers.iter_mut().flatten().for_each(Checker::pause);
    }

    /// A timer fired: `None` if `token` is not a check's, else what to report.
    pub fn on_timer(&mut self, driver: &mut ExecutorDriver, token: u64) -> Option<Vec<CheckEvent>> {
        if !is_check_token(token) {
            return None;
        }
        let slot = ((token & !(TOKEN_TAG | TOKEN_TIMEOUT)) >> TOKEN_SLOT_SHIFT) as usize;
        let attempt = token & TOKEN_ATTEMPT_MASK;
        let now = driver.now();
        let Some(checker) = self.checkers.get_mut(slot).and_then(Option::as_mut) else {
            return Some(Vec::new());
        };
        let outputs = if token & TOKEN_TIMEOUT != 0 {
            checker.on_timeout(now, attempt)
        } else {
            checker.on_check_timer(attempt)
        };
        Some(self.perform(driver, slot, outputs))
    }

    /// A notice arrived: `Err` gives it back if it is not a [`ProbeDone`].
    pub fn on_notice(
        &mut self,
        driver: &mut ExecutorDriver,
        notice: Box<dyn Any + Send>,
    ) -> Result<Vec<CheckEvent>, Box<dyn Any + Send>> {
        let done = notice.downcast::<ProbeDone>()?;
        let now = driver.now();
        let Some(checker) = self.checkers.get_mut(done.slot).and_then(Option::as_mut) else {
            return Ok(Vec::new());
        };
        let outputs = checker.on_result(now, done.attempt, done.result);
        Ok(self.perform(driver, done.slot, outputs))
    }

    fn perform(
        &mut self,
        driver: &mut ExecutorDriver,
        slot: usize,
        outputs: Vec<CheckerOutput>,
    ) -> Vec<CheckEvent> {
        let mut events = Vec::new();
        for output in outputs {
            match output {
                CheckerOutput::ScheduleCheck { after, attempt } => {
                    driver.schedule(after, token(slot, false, attempt));
                }
                CheckerOutput::Run { attempt, probe, timeout } => {
                    if let Some(timeout) = timeout {
                        driver.schedule(timeout, token(slot, true, attempt));
                    }
                    self.run_probe(slot, attempt, &probe, timeout);
                }
                CheckerOutput::Health(report) => events.push(CheckEvent::Health(report)),
                CheckerOutput::CheckStatus(status) => events.push(CheckEvent::CheckStatus(status)),
            }
        }
        events
    }

    fn run_probe(
        &mut self,
        slot: usize,
        attempt: u64,
        probe: &super::core::Probe,
        timeout: Option<Duration>,
    ) {
        let notifier = self.notifier.clone();
        let done = Box::new(move |result| {
            // The driver may have ended; then nobody needs the result.
            let _ = notifier.notify(ProbeDone { slot, attempt, result });
        });
        self.prober.run(probe, timeout, &self.context, done);
    }
}

impl ProbeContext {
    /// The context of `task`'s command probes: `sandbox`, and the task command's
    /// environment variables.
    pub fn for_task(task: &TaskInfo, sandbox: &std::path::Path) -> ProbeContext {
        let env = task
            .command
            .as_ref()
            .and_then(|c| c.environment.as_ref())
            .map(|e| {
                e.variables
                    .iter()
                    .filter_map(|v| Some((v.name.clone(), v.value.clone()?)))
                    .collect()
            })
            .unwrap_or_default();
        ProbeContext { sandbox: sandbox.to_path_buf(), env }
    }
}
