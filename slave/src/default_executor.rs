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
//!    in `MESOS_EXECUTOR_SANDBOX`). Its command starts through the [`TaskRunner`]
//!    (in `mesos-default-executor`: a nested container of the executor's container,
//!    [`crate::nested_runner`]); `TASK_STARTING` then `TASK_RUNNING` are sent for it.
//! 2. A task's process exits: `TASK_FINISHED` (exit 0), `TASK_FAILED` (other exits) or
//!    `TASK_KILLED` (after a kill). A task that fails or is killed takes its whole
//!    group with it: every other task of the group is killed (Mesos's default policy,
//!    `DefaultExecutor::waited`, "shutting down the task group").
//! 3. `kill_task` (KILL): SIGTERM to the task (its container), SIGKILL after the grace
//!    period (the kill's policy, else the task's, else the executor's shutdown grace
//!    period); its exit then kills the group as in 2.
//! 4. When every task is terminal the driver stops: the executor exits once the agent
//!    has acknowledged the last update (Mesos: the default executor shuts itself down
//!    when no containers are left).
//! 5. `shutdown` (SHUTDOWN): every task is killed, with a grace period a little shorter
//!    than the driver's (as the command executor does).
//! 6. Checks: once a task runs, its `health_check` and `check` run as under the command
//!    executor (`mesos_framework::checks`, one [`TaskCheckers`] per task, told apart by
//!    their owner number), except that the runner may carry out the probes: under
//!    `mesos-default-executor` a COMMAND check runs as a `check-<uuid>` container
//!    nested in the task's, as in Mesos ([`crate::nested_checks`]). A report goes out as a copy of the task's last update with
//!    `healthy` (reason `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`) or `check_status`
//!    (`REASON_TASK_CHECK_STATUS_UPDATED`); every update of a checked task carries a
//!    check status, empty until the first result. At `consecutive_failures` health
//!    failures the task is killed, so (by 2) its group too; from then on every terminal
//!    update says `healthy=false` (Mesos: `DefaultExecutor::taskHealthUpdated` sets the
//!    executor-wide `unhealthy`, MESOS-8543). A task being killed or ended reports no
//!    more checks.
//!
//! As Mesos's, `mesos-default-executor` launches each task as a nested container
//! through the agent's operator API (LAUNCH_NESTED_CONTAINER, WAIT_NESTED_CONTAINER,
//! KILL_NESTED_CONTAINER: [`crate::nested_runner`]), so its tasks survive an agent
//! restart with it; the in-process tests give it a runner of their own. See
//! docs/agent.md, "Task groups and the default executor".

use std::any::Any;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

use mesos_framework::checks::{
    CHECK_OWNERS, CheckEvent, OsProber, ProbeContext, ProbeDone, Prober, TaskCheckers,
    check_token_owner, empty_check_status,
};
use mesos_framework::executor::{Executor, ExecutorDriver};
use mesos_proto::mesos::{
    KillPolicy, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus, environment, task_status,
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
    /// The runner's id of its process or container, while it runs.
    pid: Option<u32>,
    /// A kill was asked for: its exit is `TASK_KILLED`.
    killed: bool,
    /// Its terminal update went out.
    terminal: bool,
    /// Its number among this executor's tasks: the owner of its checks' timers.
    number: u32,
    /// Its health check and general check, while it runs and is not being killed.
    checks: Option<TaskCheckers>,
    /// Its last update: check and health updates are copies of it (Mesos:
    /// `Container::lastTaskStatus`).
    last_status: Option<TaskStatus>,
}

/// Makes the prober of each task's checks.
pub type ProberFactory = Box<dyn Fn() -> Box<dyn Prober>>;

/// The default executor.
pub struct DefaultExecutor {
    runner: Box<dyn TaskRunner>,
    probers: ProberFactory,
    tasks: BTreeMap<String, Child>,
    next_group: u64,
    /// The next task's number (see `Child::number`).
    next_number: u32,
    /// Shutting down: no new task starts.
    shutting_down: bool,
    /// A task was killed for failing its health check: every terminal update from
    /// now on says `healthy=false` (Mesos: `DefaultExecutor::unhealthy`).
    unhealthy: bool,
}

fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    let nanos = policy?.grace_period.as_ref()?.nanoseconds;
    // A negative grace period means none.
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

/// The timer token of a kill's escalation: SIGKILL for every killed task still running.
const ESCALATE_KILL: u64 = 1;

impl DefaultExecutor {
    /// A default executor starting its tasks with `runner` and probing their checks on
    /// this machine.
    pub fn new(runner: Box<dyn TaskRunner>) -> DefaultExecutor {
        DefaultExecutor::with_probers(runner, Box::new(|| Box::new(OsProber)))
    }

    /// A default executor starting its tasks with `runner` and probing each task's
    /// checks with a prober from `probers`.
    pub fn with_probers(runner: Box<dyn TaskRunner>, probers: ProberFactory) -> DefaultExecutor {
        DefaultExecutor {
            runner,
            probers,
            tasks: BTreeMap::new(),
            next_group: 0,
            next_number: 0,
            shutting_down: false,
            unhealthy: false,
        }
    }

    /// Sends a new update of `task_id` in `state`, with the empty check status when
    /// the task has a check (Mesos: default_executor.cpp `createTaskStatus`).
    fn send(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &TaskId,
        state: TaskState,
        message: String,
    ) {
        let child = self.tasks.get(&task_id.value);
        let check = child.and_then(|c| c.task.check.as_ref());
        let status = TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            message: (!message.is_empty()).then_some(message),
            check_status: check.map(|check| empty_check_status(check.r#type())),
            ..TaskStatus::default()
        };
        self.forward(driver, status);
    }

    /// Sends `status` and remembers it as its task's last.
    fn forward(&mut self, driver: &mut ExecutorDriver, status: TaskStatus) {
        let task_id = status.task_id.value.clone();
        let state = status.state();
        if let Err(error) = driver.send_status_update(status.clone()) {
            tracing::warn!(%error, %task_id, ?state, "cannot send an update");
        }
        if let Some(child) = self.tasks.get_mut(&task_id) {
            child.last_status = Some(status);
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
        child.checks = None;
        let group = child.group;
        let task_id = child.task.task_id.clone();
        let check = child.task.check.as_ref().map(|check| empty_check_status(check.r#type()));
        let status = TaskStatus {
            task_id,
            state: state as i32,
            message: Some(message),
            check_status: check,
            // Mesos: default_executor.cpp `waited`, "a task has been unhealthy".
            healthy: self.unhealthy.then_some(false),
            ..TaskStatus::default()
        };
        self.forward(driver, status);
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

    /// SIGTERM to the task now, SIGKILL after `grace`.
    fn kill(&mut self, driver: &mut ExecutorDriver, task_id: &str, grace: Duration) {
        let Some(child) = self.tasks.get_mut(task_id) else { return };
        if child.terminal || child.killed {
            return;
        }
        child.killed = true;
        // Mesos: `DefaultExecutor::kill` stops the checks; no report after the kill.
        child.checks = None;
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

/// The checks of each task (step 6).
impl DefaultExecutor {
    /// Starts the task's health check and general check, if it has any.
    fn start_checks(&mut self, driver: &mut ExecutorDriver, task_id: &str) {
        let Some(child) = self.tasks.get_mut(task_id) else { return };
        let sandbox = task_sandbox(&driver.env().sandbox, task_id);
        let context = ProbeContext::for_task(&child.task, &sandbox);
        // Under `mesos-default-executor` the runner runs COMMAND probes as containers
        // nested in the task's (Mesos: `checks::runtime::Nested`).
        let runner_prober = child.pid.and_then(|pid| self.runner.check_prober(pid));
        let prober = runner_prober.unwrap_or_else(|| (self.probers)());
        let checks =
            TaskCheckers::new(&child.task, context, prober, driver).with_owner(child.number);
        if !checks.is_empty() {
            child.checks.insert(checks).start(driver);
        }
    }

    /// The running task whose checks `owner` numbers.
    fn checked_task(&mut self, owner: u32) -> Option<&mut Child> {
        self.tasks.values_mut().find(|c| c.number == owner && c.checks.is_some())
    }

    fn on_check_timer(&mut self, driver: &mut ExecutorDriver, owner: u32, token: u64) {
        let Some(child) = self.checked_task(owner) else { return };
        let task_id = child.task.task_id.value.clone();
        let events = child.checks.as_mut().and_then(|c| c.on_timer(driver, token));
        for event in events.unwrap_or_default() {
            self.on_check_event(driver, &task_id, event);
        }
    }

    fn on_probe_done(&mut self, driver: &mut ExecutorDriver, done: ProbeDone) {
        // A probe of a task that ended or is being killed: nobody needs its result.
        let Some(child) = self.checked_task(done.owner()) else { return };
        let task_id = child.task.task_id.value.clone();
        let events = child.checks.as_mut().map(|c| c.on_probe_done(driver, done));
        for event in events.unwrap_or_default() {
            self.on_check_event(driver, &task_id, event);
        }
    }

    /// A check of `task_id` reported: send it as a copy of the task's last update; kill
    /// the task (and so its group) after too many failed health checks. Mesos:
    /// default_executor.cpp `taskCheckUpdated`, `taskHealthUpdated`.
    fn on_check_event(&mut self, driver: &mut ExecutorDriver, task_id: &str, event: CheckEvent) {
        let Some(child) = self.tasks.get(task_id) else { return };
        if child.checks.is_none() || child.terminal || child.killed {
            return;
        }
        let Some(mut status) = child.last_status.clone() else { return };
        let grace =
            grace_of(child.task.kill_policy.as_ref()).unwrap_or(driver.env().shutdown_grace_period);
        match event {
            CheckEvent::Health(report) => {
                tracing::info!(task_id, healthy = report.healthy, "task health changed");
                status.reason = Some(task_status::Reason::TaskHealthCheckStatusUpdated as i32);
                status.healthy = Some(report.healthy);
                self.forward(driver, status);
                if report.kill_task {
                    tracing::warn!(
                        task_id,
                        failures = report.consecutive_failures,
                        "killing the task: its health check failed too many times"
                    );
                    self.unhealthy = true;
                    self.kill(driver, task_id, grace);
                }
            }
            CheckEvent::CheckStatus(check_status) => {
                status.reason = Some(task_status::Reason::TaskCheckStatusUpdated as i32);
                status.check_status = Some(check_status);
                self.forward(driver, status);
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
            let child = Child {
                task: task.clone(),
                group: id,
                pid: None,
                killed: false,
                terminal: false,
                number: self.next_number,
                checks: None,
                last_status: None,
            };
            // Numbers wrap where check tokens do, so a task's number is its checks' owner.
            self.next_number = (self.next_number + 1) % CHECK_OWNERS;
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
            self.send(driver, &task.task_id, TaskState::TaskStarting, String::new());
            match self.start(driver, &task) {
                Ok(pid) => {
                    if let Some(child) = self.tasks.get_mut(&task_id) {
                        child.pid = Some(pid);
                    }
                    self.start_checks(driver, &task_id);
                    self.send(driver, &task.task_id, TaskState::TaskRunning, String::new());
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

    fn timer(&mut self, driver: &mut ExecutorDriver, token: u64) {
        if let Some(owner) = check_token_owner(token) {
            return self.on_check_timer(driver, owner, token);
        }
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
        let notice = match notice.downcast::<TaskExited>() {
            Ok(exited) => return self.on_task_exited(driver, *exited),
            Err(notice) => notice,
        };
        match notice.downcast::<ProbeDone>() {
            Ok(done) => self.on_probe_done(driver, *done),
            Err(_) => tracing::warn!("ignoring an unknown notice"),
        }
    }
}
