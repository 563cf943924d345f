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
//! 1. `launch_task`: the task's command runs as `sh -c <command>` in the sandbox (in its
//!    own process group inside the executor's session, so a kill reaches everything it
//!    started, and so does the agent's kill of the container); `TASK_RUNNING` is sent.
//! 2. The command exits (a waiter thread reports it through the driver's
//!    [`Notifier`](mesos_framework::executor::Notifier)): `TASK_FINISHED` (exit 0),
//!    `TASK_FAILED` (other exits) or `TASK_KILLED` (after a kill), with the exit status
//!    in the message. Then the driver is stopped: the executor exits once the agent has
//!    acknowledged that update (or, the agent being away with checkpointing, once the
//!    restarted agent has it; the driver's `stop`).
//! 3. `kill_task`: SIGTERM to the task's process group, SIGKILL after the grace period
//!    (the kill's `kill_policy`, else the task's, else
//!    `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`). The agent only escalates on the executor if
//!    it does not exit.
//! 4. `shutdown` (`ShutdownExecutorMessage`, or the agent gone for good): the task is
//!    killed with a grace period [`SHUTDOWN_MARGIN`] shorter than the agent's, so its
//!    SIGKILL and `TASK_KILLED` come before the driver gives up at the full grace period
//!    (Mesos: exec.cpp `ShutdownProcess`) and before the agent destroys the container.
//! 5. Framework messages reach it like any executor; a command has no use for them.
//!
//! The task's process is started through a [`TaskRunner`] (the OS in `mesos-executor`,
//! an in-memory fake in the agent's simulated-network tests).

use std::any::Any;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use mesos_framework::executor::{Executor, ExecutorDriver};
use mesos_proto::mesos::{KillPolicy, TaskId, TaskInfo, TaskState, TaskStatus};

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
    /// The one task, once launched.
    task: Option<TaskInfo>,
    /// The running task's process group, while it runs.
    child: Option<u32>,
    /// A kill was asked for: the task's exit is `TASK_KILLED`.
    killing: bool,
    /// The terminal update went out; the driver is stopping.
    finished: bool,
}

fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    let nanos = policy?.grace_period.as_ref()?.nanoseconds;
    // A negative grace period means none.
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

impl CommandExecutor {
    /// A command executor running its task with `runner`.
    pub fn new(runner: Box<dyn TaskRunner>) -> CommandExecutor {
        CommandExecutor { runner, task: None, child: None, killing: false, finished: false }
    }

    /// Sends the task's `state`; a terminal one stops the driver, which ends once the
    /// agent has the update.
    fn send_update(&mut self, driver: &mut ExecutorDriver, state: TaskState, message: String) {
        let Some(task) = &self.task else { return };
        let status = TaskStatus {
            task_id: task.task_id.clone(),
            state: state as i32,
            message: Some(message),
            ..TaskStatus::default()
        };
        if let Err(error) = driver.send_status_update(status) {
            tracing::warn!(%error, ?state, "cannot send the task's update");
        }
        if state.is_terminal() {
            self.finished = true;
            driver.stop();
        }
    }

    /// The task's process exited.
    fn on_task_exited(&mut self, driver: &mut ExecutorDriver, status: Option<i32>) {
        self.child = None;
        let described = status.map(describe_status).unwrap_or_else(|| "exited".into());
        let success = status.map(std::process::ExitStatus::from_raw).is_some_and(|s| s.success());
        let (state, message) = if self.killing {
            (TaskState::TaskKilled, format!("Command {described} (killed)"))
        } else if success {
            (TaskState::TaskFinished, format!("Command {described}"))
        } else {
            (TaskState::TaskFailed, format!("Command {described}"))
        };
        self.send_update(driver, state, message);
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
        if !self.killing {
            self.killing = true;
            tracing::info!(task_pid = pid, ?grace, "sending SIGTERM to the task's process group");
            self.runner.signal(pid, Signal::Term);
        }
        driver.schedule(grace, ESCALATE_KILL);
    }
}

impl Executor for CommandExecutor {
    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: TaskInfo) {
        if self.task.is_some() {
            tracing::warn!(task_id = %task.task_id.value, "a command executor runs one task; ignoring another");
            return;
        }
        let command = task.command.clone().unwrap_or_default();
        self.task = Some(task);
        let notifier = driver.notifier();
        let on_exit: OnExit = Box::new(move |status| {
            // The driver may have ended already; then nobody needs the exit.
            let _ = notifier.notify(TaskExited(status));
        });
        match self.runner.start(&command, &driver.env().sandbox, on_exit) {
            Ok(pid) => {
                self.child = Some(pid);
                let status = TaskStatus {
                    task_id: self.task.as_ref().map(|t| t.task_id.clone()).unwrap_or_default(),
                    state: TaskState::TaskRunning as i32,
                    ..TaskStatus::default()
                };
                if let Err(error) = driver.send_status_update(status) {
                    tracing::warn!(%error, "cannot send TASK_RUNNING");
                }
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
        let task_policy = self.task.as_ref().and_then(|t| t.kill_policy.as_ref());
        let grace = grace_of(kill_policy)
            .or_else(|| grace_of(task_policy))
            .unwrap_or(driver.env().shutdown_grace_period);
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

    fn timer(&mut self, _driver: &mut ExecutorDriver, token: u64) {
        if token != ESCALATE_KILL {
            return;
        }
        if let Some(pid) = self.child {
            tracing::warn!(task_pid = pid, "task did not exit within its grace period; SIGKILL");
            self.runner.signal(pid, Signal::Kill);
        }
    }

    fn notified(&mut self, driver: &mut ExecutorDriver, notice: Box<dyn Any + Send>) {
        match notice.downcast::<TaskExited>() {
            Ok(exited) => self.on_task_exited(driver, exited.0),
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
