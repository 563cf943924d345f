//! The command executor (`mesos-executor`): runs one command task for the agent.
//!
//! Mesos: src/launcher/executor.cpp, an ordinary executor on Mesos's executor library.
//! Ours is likewise an ordinary [`Executor`] on the SDK's executor driver
//! (`mesos_framework::executor`), the same driver every other executor runs on. The
//! driver speaks the protocol with the agent: it reads the `MESOS_*` environment,
//! registers, re-registers with a restarted agent (`MESOS_CHECKPOINT`,
//! `MESOS_RECOVERY_TIMEOUT`), keeps every status update until the agent acknowledges it,
//! and bounds a shutdown by `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`. This file only decides
//! what happens to the task:
//!
//! 1. `launch_task`: `TASK_STARTING` is sent; the task's command runs as
//!    `sh -c <command>` in the sandbox (in its own process group inside the executor's
//!    session, so a kill reaches everything it started, and so does the agent's kill of
//!    the container); `TASK_RUNNING` is sent, and the task's health check and general
//!    check start (`mesos_framework::checks`).
//! 2. Checks report: a health result is sent as a copy of the last update with
//!    `healthy` and reason `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`; a changed check
//!    status as a copy with `check_status` and `REASON_TASK_CHECK_STATUS_UPDATED`. At
//!    `consecutive_failures` health failures in a row the task is killed (step 4); its
//!    `TASK_KILLED` then carries `healthy=false` (and, as in Mesos, no reason).
//! 3. The command exits (a waiter thread reports it through the driver's
//!    [`Notifier`](mesos_framework::executor::Notifier)): `TASK_FINISHED` (exit 0),
//!    `TASK_FAILED` (other exits; with `REASON_CONTAINER_LIMITATION_MEMORY` when the
//!    kernel's OOM killer ended it, see `limits`) or `TASK_KILLED` (after a kill), with
//!    the exit status in the message. Then the driver is stopped: the executor exits once
//!    the agent has acknowledged that update (or, the agent being away with
//!    checkpointing, once the restarted agent has it; the driver's `stop`).
//! 4. `kill_task`: the checks stop; `TASK_KILLING` is sent if the framework has the
//!    `TASK_KILLING_STATE` capability; SIGTERM to the task's process group, SIGKILL
//!    after the grace period (the kill's `kill_policy`, else the task's, else
//!    `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`). The agent only escalates on the executor
//!    if it does not exit.
//! 5. `shutdown` (`ShutdownExecutorMessage`, or the agent gone for good): the task is
//!    killed with a grace period [`SHUTDOWN_MARGIN`] shorter than the agent's, so its
//!    SIGKILL and `TASK_KILLED` come before the driver gives up at the full grace period
//!    (Mesos: exec.cpp `ShutdownProcess`) and before the agent destroys the container.
//! 6. Framework messages reach it like any executor; a command has no use for them.
//!
//! The task's process is started through a [`TaskRunner`] and its checks probed through
//! a [`Prober`] (the OS in `mesos-executor`, in-memory fakes in the agent's
//! simulated-network tests).

use std::any::Any;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use mesos_framework::checks::{
    CheckEvent, OsProber, ProbeContext, Prober, TaskCheckers, empty_check_status,
};
use mesos_framework::executor::{Executor, ExecutorDriver};
use mesos_proto::mesos::{
    ExecutorInfo, FrameworkInfo, KillPolicy, SlaveInfo, TaskId, TaskInfo, TaskResourceLimitation,
    TaskState, TaskStatus, framework_info, task_status,
};

use crate::containerizer::{Signal, describe_status};

mod runner;

pub use runner::{OnExit, PosixTaskRunner, TaskRunner};

/// Mesos: launcher/executor.cpp leaves this much of the shutdown grace period for
/// sending `TASK_KILLED` before the agent destroys the container
/// (`MAX_REAP_INTERVAL` + 1 s).
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// The timer token of a kill's escalation: SIGKILL if the task still runs.
const ESCALATE_KILL: u64 = 1;

/// The notice the task's waiter sends through the driver: the command exited, with its
/// raw wait status if known.
struct TaskExited(Option<i32>);

/// The command executor.
pub struct CommandExecutor {
    runner: Box<dyn TaskRunner>,
    /// Carries out the task's checks; taken when the task launches.
    prober: Option<Box<dyn Prober>>,
    /// The one task, once launched.
    task: Option<TaskInfo>,
    /// The running task's process group, while it runs.
    child: Option<u32>,
    /// The task's health check and general check, once it runs.
    checks: Option<TaskCheckers>,
    /// The last update sent: check and health updates are copies of it (Mesos:
    /// `lastTaskStatus`).
    last_status: Option<TaskStatus>,
    /// The OOM kill count of the container when the task started.
    oom_kills_at_launch: Option<u64>,
    /// A kill was asked for: the task's exit is `TASK_KILLED`.
    killing: bool,
    /// The kill came from failed health checks: `TASK_KILLED` says `healthy=false`.
    killed_by_health_check: bool,
    /// The terminal update went out; the driver is stopping.
    finished: bool,
    /// The framework understands `TASK_KILLING` (capability `TASK_KILLING_STATE`).
    framework_knows_killing: bool,
}

fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    let nanos = policy?.grace_period.as_ref()?.nanoseconds;
    // A negative grace period means none.
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

impl CommandExecutor {
    /// A command executor running its task with `runner` and its checks on this
    /// machine.
    pub fn new(runner: Box<dyn TaskRunner>) -> CommandExecutor {
        CommandExecutor::with_prober(runner, Box::new(OsProber))
    }

    /// A command executor running its task with `runner` and its checks with `prober`.
    pub fn with_prober(runner: Box<dyn TaskRunner>, prober: Box<dyn Prober>) -> CommandExecutor {
        CommandExecutor {
            runner,
            prober: Some(prober),
            task: None,
            child: None,
            checks: None,
            last_status: None,
            oom_kills_at_launch: None,
            killing: false,
            killed_by_health_check: false,
            finished: false,
            framework_knows_killing: false,
        }
    }

    /// A new update of the task in `state`, without what earlier ones carried; with
    /// the empty check status when the task has a check (Mesos: launcher/executor.cpp
    /// `createTaskStatus`: every update of a checked task carries one).
    fn fresh_status(&self, state: TaskState, message: Option<String>) -> TaskStatus {
        let task = self.task.as_ref();
        let check_status =
            task.and_then(|t| t.check.as_ref()).map(|check| empty_check_status(check.r#type()));
        TaskStatus {
            task_id: task.map(|t| t.task_id.clone()).unwrap_or_default(),
            state: state as i32,
            message,
            check_status,
            ..TaskStatus::default()
        }
    }

    /// Sends `status` and remembers it; a terminal one stops the driver, which ends
    /// once the agent has the update.
    fn forward(&mut self, driver: &mut ExecutorDriver, status: TaskStatus) {
        let state = status.state();
        if let Err(error) = driver.send_status_update(status.clone()) {
            tracing::warn!(%error, ?state, "cannot send the task's update");
        }
        self.last_status = Some(status);
        if state.is_terminal() {
            self.finished = true;
            driver.stop();
        }
    }

    /// Sends the task's `state` with `message`.
    fn send_update(&mut self, driver: &mut ExecutorDriver, state: TaskState, message: String) {
        if self.task.is_none() {
            return;
        }
        let status = self.fresh_status(state, Some(message));
        self.forward(driver, status);
    }

    /// The task's process exited.
    fn on_task_exited(&mut self, driver: &mut ExecutorDriver, status: Option<i32>) {
        self.child = None;
        if let Some(checks) = &mut self.checks {
            checks.pause();
        }
        let described = status.map(describe_status).unwrap_or_else(|| "exited".into());
        let exit = status.map(std::process::ExitStatus::from_raw);
        let (state, message) = if self.killing {
            (TaskState::TaskKilled, format!("Command {described} (killed)"))
        } else if exit.is_some_and(|s| s.success()) {
            (TaskState::TaskFinished, format!("Command {described}"))
        } else {
            (TaskState::TaskFailed, format!("Command {described}"))
        };
        let mut update = self.fresh_status(state, Some(message));
        if self.killing && self.killed_by_health_check {
            // Mesos: launcher/executor.cpp `reaped` marks it and sets no reason.
            update.healthy = Some(false);
        }
        let sigkill = exit.and_then(|s| s.signal()) == Some(nix::libc::SIGKILL);
        if !self.killing && sigkill && self.killed_by_oom() {
            self.mark_memory_limitation(&mut update, &described);
        }
        self.forward(driver, update);
    }

    /// True when the kernel's OOM killer killed in the task's container since launch.
    fn killed_by_oom(&self) -> bool {
        match (self.oom_kills_at_launch, self.runner.oom_kills()) {
            (Some(before), Some(now)) => now > before,
            _ => false,
        }
    }

    /// Mesos: the memory isolator's limitation (`REASON_CONTAINER_LIMITATION_MEMORY`,
    /// `limitation` naming the task's memory).
    fn mark_memory_limitation(&self, update: &mut TaskStatus, described: &str) {
        let memory = self
            .task
            .iter()
            .flat_map(|t| t.resources.iter())
            .filter(|r| r.name == "mem")
            .cloned()
            .collect();
        update.reason = Some(task_status::Reason::ContainerLimitationMemory as i32);
        update.limitation = Some(TaskResourceLimitation { resources: memory });
        update.message = Some(format!(
            "Memory limit exceeded: the kernel's OOM killer ended the task (Command {described})"
        ));
    }

    /// A check reported: send it as a copy of the last update (Mesos:
    /// launcher/executor.cpp `taskHealthUpdated`, `taskCheckUpdated`); kill the task
    /// after too many failed health checks. Nothing is sent once the task is being
    /// killed or has ended.
    fn on_check_event(&mut self, driver: &mut ExecutorDriver, event: CheckEvent) {
        if self.killing || self.finished || self.child.is_none() {
            return;
        }
        let Some(mut status) = self.last_status.clone() else { return };
        match event {
            CheckEvent::Health(report) => {
                tracing::info!(healthy = report.healthy, "task health changed");
                status.reason = Some(task_status::Reason::TaskHealthCheckStatusUpdated as i32);
                status.healthy = Some(report.healthy);
                self.forward(driver, status);
                if report.kill_task {
                    tracing::warn!(
                        failures = report.consecutive_failures,
                        "killing the task: its health check failed too many times"
                    );
                    self.killed_by_health_check = true;
                    let grace = self.task_grace(driver);
                    self.kill(driver, grace);
                }
            }
            CheckEvent::CheckStatus(check_status) => {
                status.reason = Some(task_status::Reason::TaskCheckStatusUpdated as i32);
                status.check_status = Some(check_status);
                self.forward(driver, status);
            }
        }
    }

    /// The task's own kill grace period, else the executor's shutdown grace period.
    fn task_grace(&self, driver: &ExecutorDriver) -> Duration {
        let task_policy = self.task.as_ref().and_then(|t| t.kill_policy.as_ref());
        grace_of(task_policy).unwrap_or(driver.env().shutdown_grace_period)
    }

    /// SIGTERM to the task's group now, SIGKILL after `grace` if it still runs. A second
    /// kill (or the shutdown after a kill) sends no second SIGTERM but may bring the
    /// SIGKILL forward: the earliest escalation wins.
    // Mesos: launcher/executor.cpp CommandExecutor::kill.
    fn kill(&mut self, driver: &mut ExecutorDriver, grace: Duration) {
        let Some(pid) = self.child else {
            if self.task.is_some() && !self.finished {
                self.killing = true;
                self.send_update(driver, TaskState::TaskKilled, "Killed before it started".into());
            }
            return;
        };
        if let Some(checks) = &mut self.checks {
            checks.pause();
        }
        if !self.killing {
            self.killing = true;
            if self.framework_knows_killing {
                // Mesos: launcher/executor.cpp `kill`, for frameworks that opted in.
                let killing = self.fresh_status(TaskState::TaskKilling, None);
                self.forward(driver, killing);
            }
            tracing::info!(task_pid = pid, ?grace, "sending SIGTERM to the task's process group");
            self.runner.signal(pid, Signal::Term);
        }
        driver.schedule(grace, ESCALATE_KILL);
    }
}

impl CommandExecutor {
    /// Starts the task's health check and general check, if it has any.
    fn start_checks(&mut self, driver: &mut ExecutorDriver) {
        let (Some(task), Some(prober)) = (&self.task, self.prober.take()) else { return };
        let context = ProbeContext::for_task(task, &driver.env().sandbox);
        let mut checks = TaskCheckers::new(task, context, prober, driver);
        if !checks.is_empty() {
            checks.start(driver);
            self.checks = Some(checks);
        }
    }
}

impl Executor for CommandExecutor {
    fn registered(
        &mut self,
        _driver: &mut ExecutorDriver,
        _executor: &ExecutorInfo,
        framework: &FrameworkInfo,
        _agent: &SlaveInfo,
    ) {
        let killing_state = framework_info::capability::Type::TaskKillingState as i32;
        self.framework_knows_killing =
            framework.capabilities.iter().any(|c| c.r#type == Some(killing_state));
    }

    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: TaskInfo) {
        if self.task.is_some() {
            tracing::warn!(task_id = %task.task_id.value, "a command executor runs one task; ignoring another");
            return;
        }
        let command = task.command.clone().unwrap_or_default();
        self.task = Some(task);
        // Mesos 1.x: launcher/executor.cpp sends TASK_STARTING before starting the task.
        let starting = self.fresh_status(TaskState::TaskStarting, None);
        self.forward(driver, starting);
        let notifier = driver.notifier();
        let on_exit: OnExit = Box::new(move |status| {
            // The driver may have ended already; then nobody needs the exit.
            let _ = notifier.notify(TaskExited(status));
        });
        self.oom_kills_at_launch = self.runner.oom_kills();
        match self.runner.start(&command, &driver.env().sandbox, on_exit) {
            Ok(pid) => {
                self.child = Some(pid);
                self.start_checks(driver);
                let running = self.fresh_status(TaskState::TaskRunning, None);
                self.forward(driver, running);
            }
            Err(error) => self.send_update(driver, TaskState::TaskFailed, error),
        }
    }

    fn kill_task(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &TaskId,
        kill_policy: Option<&KillPolicy>,
    ) {
        tracing::info!(task_id = %task_id.value, "asked to kill the task");
        let grace = grace_of(kill_policy).unwrap_or_else(|| self.task_grace(driver));
        self.kill(driver, grace);
    }

    /// Kills the task with a little less than the driver's grace period, so its
    /// `TASK_KILLED` is out before the driver gives up; with nothing running, stops.
    // Mesos: exec.cpp ExecutorProcess::shutdown and ShutdownProcess.
    fn shutdown(&mut self, driver: &mut ExecutorDriver) {
        tracing::info!(connected = driver.is_connected(), "shutting down");
        if self.child.is_some() {
            let grace = driver.env().shutdown_grace_period.saturating_sub(SHUTDOWN_MARGIN);
            self.kill(driver, grace);
        } else {
            driver.stop();
        }
    }

    fn timer(&mut self, driver: &mut ExecutorDriver, token: u64) {
        if let Some(events) = self.checks.as_mut().and_then(|c| c.on_timer(driver, token)) {
            for event in events {
                self.on_check_event(driver, event);
            }
            return;
        }
        if token != ESCALATE_KILL {
            return;
        }
        if let Some(pid) = self.child {
            tracing::warn!(task_pid = pid, "task did not exit within its grace period; SIGKILL");
            self.runner.signal(pid, Signal::Kill);
        }
    }

    fn notified(&mut self, driver: &mut ExecutorDriver, notice: Box<dyn Any + Send>) {
        let notice = match notice.downcast::<TaskExited>() {
            Ok(exited) => return self.on_task_exited(driver, exited.0),
            Err(notice) => notice,
        };
        let Some(checks) = self.checks.as_mut() else {
            return tracing::warn!("ignoring an unknown notice");
        };
        match checks.on_notice(driver, notice) {
            Ok(events) => {
                for event in events {
                    self.on_check_event(driver, event);
                }
            }
            Err(_) => tracing::warn!("ignoring an unknown notice"),
        }
    }

    fn framework_message(&mut self, _driver: &mut ExecutorDriver, data: &[u8]) {
        tracing::debug!(
            bytes = data.len(),
            "ignoring a framework message: a command has no use for it"
        );
    }
}
