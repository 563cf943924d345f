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
/// Set for the general check's timers; clear for the health check's.
const TOKEN_GENERAL: u64 = 1 << 60;
/// The owner (the task's number in an executor running many, see
/// [`TaskCheckers::with_owner`]) sits in bits 40 to 59, above the attempt.
const TOKEN_OWNER_SHIFT: u32 = 40;
const TOKEN_OWNER_MASK: u64 = CHECK_OWNERS as u64 - 1;
const TOKEN_ATTEMPT_MASK: u64 = (1 << TOKEN_OWNER_SHIFT) - 1;

/// How many owners tokens tell apart (see [`TaskCheckers::with_owner`]): owners are
/// taken modulo this.
pub const CHECK_OWNERS: u32 = 1 << 20;

/// True for a timer token that belongs to [`TaskCheckers::on_timer`].
pub fn is_check_token(token: u64) -> bool {
    token & TOKEN_TAG != 0
}

/// The owner of a check's timer token (see [`TaskCheckers::with_owner`]); `None` for a
/// token that is not a check's.
pub fn check_token_owner(token: u64) -> Option<u32> {
    // The mask keeps 20 bits, so the value fits in a u32.
    is_check_token(token).then_some(((token >> TOKEN_OWNER_SHIFT) & TOKEN_OWNER_MASK) as u32)
}

fn token(owner: u32, slot: usize, timeout: bool, attempt: u64) -> u64 {
    let timeout = if timeout { TOKEN_TIMEOUT } else { 0 };
    let general = if slot == 1 { TOKEN_GENERAL } else { 0 };
    let owner = (u64::from(owner) & TOKEN_OWNER_MASK) << TOKEN_OWNER_SHIFT;
    TOKEN_TAG | timeout | general | owner | (attempt & TOKEN_ATTEMPT_MASK)
}

/// A probe ended: the notice [`TaskCheckers`] sends itself through the driver.
#[derive(Debug)]
pub struct ProbeDone {
    owner: u32,
    slot: usize,
    attempt: u64,
    result: ProbeResult,
}

impl ProbeDone {
    /// The owner of the checks that ran the probe (see [`TaskCheckers::with_owner`]).
    pub fn owner(&self) -> u32 {
        self.owner
    }
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
    /// Tells these checks' timers and probe results from other tasks' (0 by default).
    owner: u32,
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
        TaskCheckers {
            checkers: [health, general],
            owner: 0,
            prober,
            context,
            notifier: driver.notifier(),
        }
    }

    /// The same checks, owned by `owner`: an executor running the checks of many tasks
    /// on one driver numbers them, and routes a timer by [`check_token_owner`] and a
    /// [`ProbeDone`] by [`ProbeDone::owner`]. Only the low 20 bits count: owners a
    /// million apart share timers, which an executor avoids by numbering its live tasks
    /// (a million tasks in one executor's life would be needed to collide).
    pub fn with_owner(mut self, owner: u32) -> TaskCheckers {
        self.owner = owner & TOKEN_OWNER_MASK as u32;
        self
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

    /// A timer fired: `None` if `token` is not one of these checks', else what to report.
    pub fn on_timer(&mut self, driver: &mut ExecutorDriver, token: u64) -> Option<Vec<CheckEvent>> {
        if check_token_owner(token) != Some(self.owner) {
            return None;
        }
        let slot = usize::from(token & TOKEN_GENERAL != 0);
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

    /// A notice arrived: `Err` gives it back if it is not a [`ProbeDone`] of these checks.
    pub fn on_notice(
        &mut self,
        driver: &mut ExecutorDriver,
        notice: Box<dyn Any + Send>,
    ) -> Result<Vec<CheckEvent>, Box<dyn Any + Send>> {
        let done = notice.downcast::<ProbeDone>()?;
        if done.owner != self.owner {
            return Err(done);
        }
        Ok(self.on_probe_done(driver, *done))
    }

    /// A probe of these checks ended (its [`ProbeDone::owner`] is theirs): what to report.
    pub fn on_probe_done(
        &mut self,
        driver: &mut ExecutorDriver,
        done: ProbeDone,
    ) -> Vec<CheckEvent> {
        let now = driver.now();
        let Some(checker) = self.checkers.get_mut(done.slot).and_then(Option::as_mut) else {
            return Vec::new();
        };
        let outputs = checker.on_result(now, done.attempt, done.result);
        self.perform(driver, done.slot, outputs)
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
                    driver.schedule(after, token(self.owner, slot, false, attempt));
                }
                CheckerOutput::Run { attempt, probe, timeout } => {
                    if let Some(timeout) = timeout {
                        driver.schedule(timeout, token(self.owner, slot, true, attempt));
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
        let owner = self.owner;
        let done = Box::new(move |result| {
            // The driver may have ended; then nobody needs the result.
            let _ = notifier.notify(ProbeDone { owner, slot, attempt, result });
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
