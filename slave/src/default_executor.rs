//! Mesos's default executor (`mesos-default-executor`): runs task groups for the agent.
//!
//! Mesos: src/launcher/default_executor.cpp, a v1 HTTP executor. Ours is an ordinary
//! [`Executor`] on the SDK's driver over its v1 HTTP transport
//! ([`Transport::Http`](mesos_framework::executor::Transport)), the transport Mesos's
//! default executor uses; the driver subscribes, keeps every update until the agent
//! acknowledges it and re-subscribes after an agent restart. This file decides what
//! happens to the tasks:
//!
//! 1. `launch_group` (LAUNCH_GROUP): each task gets its own sandbox,
//!    `<executor sandbox>/tasks/<task_id>` (its working directory and `MESOS_SANDBOX`),
//!    inside the executor's sandbox, which all tasks of the executor share (the path is
//!    in `MESOS_EXECUTOR_SANDBOX`). Its command runs as `sh -c <command>` in a process
//!    group of its own; `TASK_STARTING` then `TASK_RUNNING` are sent for it.
//! 2. A task's process exits: `TASK_FINISHED` (exit 0), `TASK_FAILED` (other exits) or
//!    `TASK_KILLED` (after a kill). A task that fails or is killed takes its whole
//!    group with it: every other task of the group is killed (Mesos's default policy,
//!    `DefaultExecutor::waited`, "shutting down the task group").
//! 3. `kill_task` (KILL): SIGTERM to the task's process group, SIGKILL after the grace
//!    period (the kill's policy, else the task's, else the executor's shutdown grace
//!    period); its exit then kills the group as in 2.
//! 4. When every task is terminal the driver stops: the executor exits once the agent
//!    has acknowledged the last update (Mesos: the default executor shuts itself down
//!    when no containers are left).
//! 5. `shutdown` (SHUTDOWN): every task is killed, with a grace period a little shorter
//!    than the driver's (as the command executor does).
//!
//! Mesos launches each task as a nested container through the agent's operator API
//! (LAUNCH_NESTED_CONTAINER, WAIT_NESTED_CONTAINER, KILL_NESTED_CONTAINER). Ours runs
//! each task as a child process group of the executor, inside the executor's container
//! (the agent's kill of the container reaches them all), with the same observable
//! semantics: per-task statuses and sandboxes, the group killed as a unit. See
//! docs/agent.md, "Task groups and the default executor".

use std::any::Any;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

use mesos_framework::executor::{Executor, ExecutorDriver};
use mesos_proto::mesos::{
    KillPolicy, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus, environment,
};

use crate::containerizer::{Signal, describe_status};
use crate::executor::{OnExit, SHUTDOWN_MARGIN, TaskRunner};

/// Where a task's own sandbox is, under the executor's (Mesos: the `tasks/<task_id>`
/// link the default executor makes to each task's nested-container sandbox).
pub fn task_sandbox(executor_sandbox: &std::path::Path, task_id: &str) -> PathBuf {
    executor_sandbox.join("tasks").join(task_id)
}

/// The notice a task's waiter sends through the driver.
struct TaskExited {
    task_id: String,
    status: Option<i32>,
}

/// One task of a group.
struct Child {
    task: TaskInfo,
    /// The group it belongs to (killed together).
    group: u64,
    /// Its process group, while it runs.
    pid: Option<u32>,
    /// A kill was asked for: its exit is `TASK_KILLED`.
    killed: bool,
    /// Its terminal update went out.
    terminal: bool,
}

/// The default executor.
pub struct DefaultExecutor {
    runner: Box<dyn TaskRunner>,
    tasks: BTreeMap<String, Child>,
    next_group: u64,
    /// Shutting down: no new task starts.
    shutting_down: bool,
}

fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    let nanos = policy?.grace_period.as_ref()?.nanoseconds;
    // A negative grace period means none.
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

/// The timer token of a kill's escalation: SIGKILL for every killed task still running.
const ESCALATE_KILL: u64 = 1;

impl DefaultExecutor {
    /// A default executor starting its tasks with `runner`.
    pub fn new(runner: Box<dyn TaskRunner>) -> DefaultExecutor {
        DefaultExecutor { runner, tasks: BTreeMap::new(), next_group: 0, shutting_down: false }
    }

    fn send(driver: &mut ExecutorDriver, task_id: &TaskId, state: TaskState, message: String) {
        let status = TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            message: Some(message),
            ..TaskStatus::default()
        };
        if let Err(error) = driver.send_status_update(status) {
            tracing::warn!(%error, task_id = %task_id.value, ?state, "cannot send an update");
        }
    }

    /// Starts one task of group `group`; `Err` carries why it could not start.
    fn start(&mut self, driver: &mut ExecutorDriver, task: &TaskInfo) -> Result<u32, String> {
        let executor_sandbox = driver.env().sandbox.clone();
        let sandbox = task_sandbox(&executor_sandbox, &task.task_id.value);
        std::fs::create_dir_all(&sandbox)
            .map_err(|e| format!("Cannot create the task's sandbox {}: {e}", sandbox.display()))?;
        let mut command = task.command.clone().ok_or("Task has no command")?;
        let variables = &mut command.environment.get_or_insert_with(Default::default).variables;
        for (name, value) in [
            ("MESOS_SANDBOX", sandbox.to_string_lossy().into_owned()),
            ("MESOS_EXECUTOR_SANDBOX", executor_sandbox.to_string_lossy().into_owned()),
            ("MESOS_TASK_ID", task.task_id.value.clone()),
        ] {
            variables.push(environment::Variable {
                name: name.into(),
                value: Some(value),
                ..Default::default()
            });
        }
        let notifier = driver.notifier();
        let task_id = task.task_id.value.clone();
        let on_exit: OnExit = Box::new(move |status| {
            // The driver may have ended already; then nobody needs the exit.
            let _ = notifier.notify(TaskExited { task_id, status });
        });
        self.runner.start(&command, &sandbox, on_exit)
    }

    /// A task's process exited: its terminal update, then the group policy.
    fn on_task_exited(&mut self, driver: &mut ExecutorDriver, exited: TaskExited) {
        let Some(child) = self.tasks.get_mut(&exited.task_id) else { return };
        child.pid = None;
        let described = exited.status.map(describe_status).unwrap_or_else(|| "exited".into());
        let success =
            exited.status.map(std::process::ExitStatus::from_raw).is_some_and(|s| s.success());
        let (state, message) = if child.killed {
            (TaskState::TaskKilled, format!("Command {described} (killed)"))
        } else if success {
            (TaskState::TaskFinished, format!("Command {described}"))
        } else {
            (TaskState::TaskFailed, format!("Command {described}"))
        };
        self.finish(driver, &exited.task_id, state, message);
    }

    /// Sends a task's terminal update; a failed or killed task kills its group; the
    /// driver stops once every task is terminal.
    fn finish(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &str,
        state: TaskState,
        message: String,
    ) {
        let Some(child) = self.tasks.get_mut(task_id) else { return };
        if child.terminal {
            return;
        }
        child.terminal = true;
        let group = child.group;
        Self::send(driver, &child.task.task_id.clone(), state, message);
        if matches!(state, TaskState::TaskFailed | TaskState::TaskKilled) {
            let grace = driver.env().shutdown_grace_period.saturating_sub(SHUTDOWN_MARGIN);
            self.kill_group(driver, group, grace);
        }
        if self.tasks.values().all(|c| c.terminal) {
            tracing::info!("every task is terminal; stopping");
            driver.stop();
        }
    }

    /// Kills every task of `group` still running. Mesos: `DefaultExecutor::shutdown`
    /// of a task group.
    fn kill_group(&mut self, driver: &mut ExecutorDriver, group: u64, grace: Duration) {
        let ids: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, c)| c.group == group && !c.terminal && !c.killed)
            .map(|(id, _)| id.clone())
            .collect();
        if !ids.is_empty() {
            tracing::info!(tasks = ?ids, "a task of the group failed or was killed: killing the group");
        }
        for id in ids {
            self.kill(driver, &id, grace);
        }
    }

    /// SIGTERM to the task's process group now, SIGKILL after `grace`.
    fn kill(&mut self, driver: &mut ExecutorDriver, task_id: &str, grace: Duration) {
        let Some(child) = self.tasks.get_mut(task_id) else { return };
        if child.terminal || child.killed {
            return;
        }
        child.killed = true;
        match child.pid {
            Some(pid) => {
                self.runner.signal(pid, Signal::Term);
                driver.schedule(grace, ESCALATE_KILL);
            }
            None => {
                let message = "Killed before it started".to_string();
                self.finish(driver, task_id, TaskState::TaskKilled, message);
            }
        }
    }
}

impl Executor for DefaultExecutor {
    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: TaskInfo) {
        // Mesos's default executor takes only task groups; a lone task is a group of one.
        self.launch_group(driver, TaskGroupInfo { tasks: vec![task] });
    }

    fn launch_group(&mut self, driver: &mut ExecutorDriver, group: TaskGroupInfo) {
        let id = self.next_group;
        self.next_group += 1;
        let ids: Vec<&str> = group.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
        tracing::info!(tasks = ?ids, "launching a task group");
        for task in &group.tasks {
            let child =
                Child { task: task.clone(), group: id, pid: None, killed: false, terminal: false };
            self.tasks.insert(task.task_id.value.clone(), child);
        }
        for task in group.tasks {
            let task_id = task.task_id.value.clone();
            if self.shutting_down || self.tasks.get(&task_id).is_some_and(|c| c.killed) {
                self.finish(
                    driver,
                    &task_id,
                    TaskState::TaskKilled,
                    "Killed before it started".into(),
                );
                continue;
            }
            Self::send(driver, &task.task_id, TaskState::TaskStarting, String::new());
            match self.start(driver, &task) {
                Ok(pid) => {
                    if let Some(child) = self.tasks.get_mut(&task_id) {
                        child.pid = Some(pid);
                    }
                    Self::send(driver, &task.task_id, TaskState::TaskRunning, String::new());
                }
                Err(error) => self.finish(driver, &task_id, TaskState::TaskFailed, error),
            }
        }
    }

    fn kill_task(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &TaskId,
        kill_policy: Option<&KillPolicy>,
    ) {
        let Some(child) = self.tasks.get(&task_id.value) else {
            tracing::warn!(task_id = %task_id.value, "ignoring kill of an unknown task");
            return;
        };
        tracing::info!(task_id = %task_id.value, "asked to kill the task");
        let grace = grace_of(kill_policy)
            .or_else(|| grace_of(child.task.kill_policy.as_ref()))
            .unwrap_or(driver.env().shutdown_grace_period);
        self.kill(driver, &task_id.value, grace);
    }

    fn shutdown(&mut self, driver: &mut ExecutorDriver) {
        tracing::info!("shutting down");
        self.shutting_down = true;
        let grace = driver.env().shutdown_grace_period.saturating_sub(SHUTDOWN_MARGIN);
        let ids: Vec<String> = self.tasks.keys().cloned().collect();
        for id in ids {
            self.kill(driver, &id, grace);
        }
        if self.tasks.values().all(|c| c.terminal) {
            driver.stop();
        }
    }

    fn timer(&mut self, _driver: &mut ExecutorDriver, token: u64) {
        if token != ESCALATE_KILL {
            return;
        }
        for child in self.tasks.values().filter(|c| c.killed && !c.terminal) {
            if let Some(pid) = child.pid {
                tracing::warn!(task_id = %child.task.task_id.value, "task did not exit within its grace period; SIGKILL");
                self.runner.signal(pid, Signal::Kill);
            }
        }
    }

    fn notified(&mut self, driver: &mut ExecutorDriver, notice: Box<dyn Any + Send>) {
        match notice.downcast::<TaskExited>() {
            Ok(exited) => self.on_task_exited(driver, *exited),
            Err(_) => tracing::warn!("ignoring an unknown notice"),
        }
    }
}
