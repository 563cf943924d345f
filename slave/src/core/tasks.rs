//! Running tasks: choosing (or launching) the executor, handing it tasks, killing tasks,
//! executor registration, and framework messages.
//!
//! Mesos: slave.cpp `Slave::runTask`, `run`, `__run`, `launchExecutor`,
//! `registerExecutor`, `killTask`, `schedulerMessage`, `executorMessage`.

use std::collections::BTreeMap;

use libprocess::{Pid, Time};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorToFrameworkMessage, FrameworkToExecutorMessage,
    KillTaskMessage, RegisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
};
use mesos_proto::mesos::{
    CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, executor_info, framework_info,
    task_status,
};

use super::{AgentCore, AgentState, CheckpointWrite, Outgoing, Output, Run, Timer};
use crate::containerizer::{LaunchRequest, Termination};
use crate::paths::{component, files};
use crate::state::{Executor, ExecutorState, Framework, PendingTermination};
use crate::updates::{UpdateDetails, random_uuid, task_from_info, uuid_string};

/// The executor Mesos generates for a command task (Mesos: `Slave::getExecutorInfo`).
#[allow(deprecated)] // Mesos still sets ExecutorInfo.source for command executors.
pub fn command_executor_info(
    framework: &FrameworkInfo,
    task: &TaskInfo,
    launcher_dir: &std::path::Path,
) -> ExecutorInfo {
    let command = task.command.clone().unwrap_or_default();
    let value = command.value.clone().unwrap_or_default();
    let shown = if value.len() > 15 {
        format!("{}...", &value[..value.floor_char_boundary(12)])
    } else {
        value
    };
    ExecutorInfo {
        executor_id: mesos_proto::mesos::ExecutorId { value: task.task_id.value.clone() },
        framework_id: framework.id.clone(),
        name: Some(format!(
            "Command Executor (Task: {}) (Command: sh -c '{shown}')",
            task.task_id.value
        )),
        source: Some(task.task_id.value.clone()),
        command: Some(CommandInfo {
            value: Some(launcher_dir.join("mesos-executor").to_string_lossy().into_owned()),
            shell: Some(false),
            arguments: vec!["mesos-executor".into()],
            environment: command.environment,
            uris: command.uris,
            user: command.user,
        }),
        labels: task.labels.clone(),
        discovery: task.discovery.clone(),
        container: task.container.clone(),
        ..ExecutorInfo::default()
    }
}

fn slave_details(
    reason: task_status::Reason,
    message: &str,
    executor_id: Option<&ExecutorId>,
) -> UpdateDetails {
    UpdateDetails {
        source: Some(task_status::Source::Slave),
        reason: Some(reason),
        message: Some(message.into()),
        executor_id: executor_id.map(Into::into),
    }
}

impl AgentCore {
    /// The master asks us to run a task: the executor it names (or a generated command
    /// executor) is launched, or given the task, or the task is queued for it.
    // Mesos: Slave::runTask, Slave::run, Slave::__run.
    pub fn on_run_task(&mut self, from: &Pid, message: RunTaskMessage, now: Time) {
        if !self.registration.is_master(from) || self.registration.state() != AgentState::Running {
            tracing::warn!(%from, state = self.registration.state().name(), "ignoring RunTaskMessage");
            return;
        }
        let task = message.task;
        let Some(framework_id) = self.admit_framework(message.framework, message.pid) else {
            return;
        };
        let task_id = TaskId::from(&task.task_id);
        if self.refuse_while_draining(&framework_id, std::slice::from_ref(&task_id), now) {
            return;
        }
        let command_task = task.executor.is_none();
        let executor_info = match &task.executor {
            Some(executor) => executor.clone(),
            None => {
                let framework_info = &self.frameworks[&framework_id].info;
                command_executor_info(framework_info, &task, &self.config.launcher_dir)
            }
        };
        let ids_ok = [
            ("framework id", framework_id.as_str()),
            ("executor id", executor_info.executor_id.value.as_str()),
            ("task id", task_id.as_str()),
        ]
        .iter()
        .all(|(kind, id)| component(kind, id).is_ok());
        if !ids_ok {
            let details = slave_details(
                task_status::Reason::TaskInvalid,
                "Task, executor or framework id cannot name a sandbox folder",
                None,
            );
            self.agent_status_update(&framework_id, &task_id, TaskState::TaskError, details, now);
            return;
        }
        let links = match self.volume_links(&task) {
            Ok(links) => links,
            Err(message) => {
                let details = slave_details(task_status::Reason::TaskInvalid, &message, None);
                self.agent_status_update(
                    &framework_id,
                    &task_id,
                    TaskState::TaskError,
                    details,
                    now,
                );
                return;
            }
        };
        let executor_id = ExecutorId::from(&executor_info.executor_id);
        let state = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.state);
        match state {
            None => self.launch_executor(&framework_id, executor_info, vec![task], command_task),
            Some(ExecutorState::Registering) => self.queue_task(&framework_id, &executor_id, task),
            Some(ExecutorState::Running) => {
                self.send_task_to_executor(&framework_id, &executor_id, task)
            }
            Some(ExecutorState::Terminating | ExecutorState::Terminated) => {
                let details = slave_details(
                    task_status::Reason::ExecutorTerminated,
                    "Executor terminating",
                    Some(&executor_id),
                );
                self.agent_status_update(
                    &framework_id,
                    &task_id,
                    TaskState::TaskLost,
                    details,
                    now,
                );
                return;
            }
        }
        // After the launch output (which creates a new executor's sandbox), before
        // the executor can run the task.
        let sandbox = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.directory.clone());
        if let Some(sandbox) = sandbox.filter(|_| !links.is_empty()) {
            self.outbox.push(Output::LinkVolumes { sandbox, links });
        }
    }

    /// The framework of a task (or task group) from the master: added or updated (and
    /// checkpointed); `None` if its info carries no id.
    pub(super) fn admit_framework(
        &mut self,
        framework_info: FrameworkInfo,
        pid: Option<String>,
    ) -> Option<FrameworkId> {
        let Some(framework_id) = framework_info.id.as_ref().map(FrameworkId::from) else {
            tracing::warn!("ignoring a task without a framework id");
            return None;
        };
        let framework = self
            .frameworks
            .entry(framework_id.clone())
            .or_insert_with(|| Framework::new(framework_info.clone(), pid.clone()));
        framework.info = framework_info;
        framework.pid = pid.or(framework.pid.clone());
        framework.terminating = false;
        if framework.checkpoint() && self.info.id.is_some() {
            let write = CheckpointWrite::Framework {
                framework_id: framework_id.clone(),
                info: Box::new(framework.info.clone()),
                pid: framework.pid.clone(),
            };
            self.checkpoint(write);
        }
        Some(framework_id)
    }

    /// Starts a new executor run for `tasks` (one task, or a task group): the executor
    /// is recorded (registering, with the tasks queued), checkpointed, and handed to the
    /// actor to launch.
    // Mesos: Slave::launchExecutor.
    pub(super) fn launch_executor(
        &mut self,
        framework_id: &FrameworkId,
        info: ExecutorInfo,
        tasks: Vec<TaskInfo>,
        command: bool,
    ) {
        let Some(agent_id) = self.agent_id() else { return };
        let Some(checkpoint) = self.frameworks.get(framework_id).map(Framework::checkpoint) else {
            return;
        };
        let executor_id = ExecutorId::from(&info.executor_id);
        let container_id = ContainerId::new(uuid_string(&random_uuid(&mut self.rng)));
        let sandbox = self.paths.sandbox_dir(
            &agent_id,
            framework_id.as_str(),
            executor_id.as_str(),
            container_id.value(),
        );
        let mut executor =
            Executor::new(info.clone(), container_id.clone(), sandbox.clone(), checkpoint, command);
        let run = Run {
            framework_id: framework_id.clone(),
            executor_id: executor_id.clone(),
            container_id: container_id.clone(),
        };
        if checkpoint {
            self.checkpoint(CheckpointWrite::Executor {
                framework_id: framework_id.clone(),
                info: Box::new(info.clone()),
                container_id: container_id.clone(),
            });
        }
        let resources: Vec<_> = info
            .resources
            .iter()
            .chain(tasks.iter().flat_map(|t| t.resources.iter()))
            .cloned()
            .collect();
        let mut launch_command = info.command.clone().unwrap_or_default();
        // The user the executor runs as: its command's, else the framework's (Mesos:
        // slave.cpp `Slave::launchExecutor`); the fetcher's cache key includes it.
        if launch_command.user.is_none() {
            launch_command.user = self
                .frameworks
                .get(framework_id)
                .map(|f| f.info.user.clone())
                .filter(|user| !user.is_empty());
        }
        let limits = crate::limits::ContainerLimits::of(&resources, command);
        self.limits.insert(container_id.clone(), limits);
        let default_executor = info.r#type == Some(executor_info::Type::Default as i32);
        let request = LaunchRequest {
            limits,
            own_executor: command || default_executor,
            container_id: container_id.clone(),
            command: launch_command,
            env: self.executor_environment(
                framework_id,
                &info,
                &container_id,
                &sandbox,
                checkpoint,
            ),
            sandbox,
            run_as: None,
        };
        for task in tasks {
            if checkpoint {
                let record = task_from_info(&task, TaskState::TaskStaging, &framework_id.into());
                let run = run.clone();
                self.checkpoint(CheckpointWrite::Task { run, task: Box::new(record) });
            }
            executor.queued_tasks.insert(TaskId::from(&task.task_id), task);
        }
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.executors.insert(executor_id.clone(), executor);
        }
        self.outbox.push(Output::Launch(Box::new(request)));
        self.unschedule(framework_id, &executor_id);
    }

    /// True while the executor of `container_id` still waits for its container to
    /// start (the actor asks after a fetch: an executor shut down meanwhile is not
    /// started).
    pub fn awaits_launch(&self, container_id: &ContainerId) -> bool {
        self.find_container(container_id)
            .and_then(|(framework_id, executor_id)| {
                self.frameworks.get(&framework_id)?.executors.get(&executor_id).map(|e| e.state)
            })
            .is_some_and(|state| state == ExecutorState::Registering)
    }

    /// The executor's sandbox could not be given to its user (`--switch_user` as root,
    /// and the user does not exist): Mesos's `Framework::addExecutor` fails there
    /// (`paths::createExecutorDirectory` cannot chown), before any container, and
    /// `Slave::__run` drops the tasks: `TASK_DROPPED` (`TASK_LOST` for a framework
    /// that is not partition-aware) with `REASON_EXECUTOR_TERMINATED` and the error as
    /// the message, and the master hears that the executor exited.
    pub fn on_executor_not_added(&mut self, container_id: &ContainerId, error: String, now: Time) {
        let Some((framework_id, executor_id)) = self.find_container(container_id) else { return };
        let partition_aware = self.frameworks.get(&framework_id).is_some_and(|f| {
            f.info
                .capabilities
                .iter()
                .any(|c| c.r#type == Some(framework_info::capability::Type::PartitionAware as i32))
        });
        let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
        let Some(executor) = self.executor_mut(&framework_id, &executor_id) else { return };
        tracing::error!(%error, %executor_id, "cannot set the executor up for its user");
        // No message of its own: the task's message is the error alone, as Mesos's.
        executor.pending_termination = Some(PendingTermination {
            state,
            reason: task_status::Reason::ExecutorTerminated,
            message: String::new(),
        });
        let termination =
            Termination { container_id: container_id.clone(), status: None, message: error };
        self.on_container_terminated(termination, now);
    }

    /// The actor launched (or failed to launch) a container asked for with
    /// [`Output::Launch`]: `Ok` carries the executor's OS pid, if it has one.
    pub fn on_launched(
        &mut self,
        container_id: &ContainerId,
        result: Result<Option<u32>, String>,
        now: Time,
    ) {
        let Some((framework_id, executor_id)) = self.find_container(container_id) else { return };
        let timeout = self.config.executor_registration_timeout;
        let Some(executor) = self.executor_mut(&framework_id, &executor_id) else { return };
        match result {
            Ok(os_pid) => {
                executor.os_pid = os_pid;
                if let (true, Some(pid)) = (executor.checkpoint, os_pid) {
                    let run = Run {
                        framework_id: framework_id.clone(),
                        executor_id: executor_id.clone(),
                        container_id: container_id.clone(),
                    };
                    let text = pid.to_string();
                    self.checkpoint(CheckpointWrite::RunFile {
                        run,
                        name: files::FORKED_PID,
                        text,
                    });
                }
                let timer = Timer::ExecutorRegistration {
                    framework_id,
                    executor_id,
                    container_id: container_id.clone(),
                };
                self.timer(timeout, timer);
            }
            Err(error) => {
                tracing::error!(%error, "executor launch failed");
                // The task's message reads "Failed to launch container; <error>"
                // (Mesos: "Failed to launch container: <error>").
                executor.pending_termination = Some(PendingTermination {
                    state: TaskState::TaskFailed,
                    reason: task_status::Reason::ContainerLaunchFailed,
                    message: "Failed to launch container".into(),
                });
                let termination = Termination {
                    container_id: container_id.clone(),
                    status: None,
                    message: error,
                };
                self.on_container_terminated(termination, now);
            }
        }
    }

    /// Mesos's executor environment (Mesos: slave.cpp `executorEnvironment`). The actor
    /// adds the agent's own `RUST_LOG`, if any. With `--jwt_secret_key`, the executor's
    /// token for the executor API (Mesos: `Slave::generateSecret`, claims `fid`, `eid`,
    /// `cid`) is in `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`.
    fn executor_environment(
        &self,
        framework_id: &FrameworkId,
        info: &ExecutorInfo,
        container_id: &ContainerId,
        sandbox: &std::path::Path,
        checkpoint: bool,
    ) -> BTreeMap<String, String> {
        let directory = sandbox.to_string_lossy().into_owned();
        let grace =
            libprocess::duration::format_duration(self.config.executor_shutdown_grace_period);
        let mut env = BTreeMap::new();
        if let Some(pid) = &self.pid {
            let address = pid.address();
            env.insert("LIBPROCESS_IP".into(), address.ip().to_string());
            env.insert("MESOS_SLAVE_PID".into(), pid.to_string());
            env.insert("MESOS_AGENT_ENDPOINT".into(), address.to_string());
        }
        env.insert("LIBPROCESS_PORT".into(), "0".into());
        env.insert("MESOS_FRAMEWORK_ID".into(), framework_id.to_string());
        env.insert("MESOS_EXECUTOR_ID".into(), info.executor_id.value.clone());
        env.insert("MESOS_DIRECTORY".into(), directory.clone());
        env.insert("MESOS_SANDBOX".into(), directory);
        env.insert("MESOS_SLAVE_ID".into(), self.agent_id().unwrap_or_default());
        env.insert("MESOS_CHECKPOINT".into(), if checkpoint { "1" } else { "0" }.into());
        // Mesos sets it for every executor; only the command executor reads it.
        let http_command_executor = if self.config.http_command_executor { "1" } else { "0" };
        env.insert("MESOS_HTTP_COMMAND_EXECUTOR".into(), http_command_executor.into());
        env.insert("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(), grace);
        if let Some(key) = &self.config.executor_token_key {
            let claims = mesos_security::jwt::Claims::executor(
                framework_id.as_str(),
                &info.executor_id.value,
                container_id.value(),
            );
            env.insert(mesos_security::jwt::EXECUTOR_TOKEN_ENV.into(), key.sign(&claims));
        }
        if checkpoint {
            env.insert(
                "MESOS_RECOVERY_TIMEOUT".into(),
                libprocess::duration::format_duration(self.config.recovery_timeout),
            );
        }
        let variables = info
            .command
            .as_ref()
            .and_then(|c| c.environment.as_ref())
            .map(|e| e.variables.as_slice());
        for variable in variables.unwrap_or_default() {
            if let Some(value) = &variable.value {
                env.insert(variable.name.clone(), value.clone());
            }
        }
        env
    }

    pub(super) fn queue_task(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        task: TaskInfo,
    ) {
        let Some(executor) = self.executor_mut(framework_id, executor_id) else { return };
        let write = executor.checkpoint.then(|| CheckpointWrite::Task {
            run: Run {
                framework_id: framework_id.clone(),
                executor_id: executor_id.clone(),
                container_id: executor.container_id.clone(),
            },
            task: Box::new(task_from_info(&task, TaskState::TaskStaging, &framework_id.into())),
        });
        executor.queued_tasks.insert(TaskId::from(&task.task_id), task);
        if let Some(write) = write {
            self.checkpoint(write);
        }
        self.refresh_limits(framework_id, executor_id);
    }

    /// Records a task handed to the executor (STAGING, checkpointed); returns the
    /// executor's pid, if it has one.
    pub(super) fn record_launched(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        task: &TaskInfo,
    ) -> Option<Pid> {
        let executor = self.executor_mut(framework_id, executor_id)?;
        let record = task_from_info(task, TaskState::TaskStaging, &framework_id.into());
        let write = executor.checkpoint.then(|| CheckpointWrite::Task {
            run: Run {
                framework_id: framework_id.clone(),
                executor_id: executor_id.clone(),
                container_id: executor.container_id.clone(),
            },
            task: Box::new(record.clone()),
        });
        executor.add_launched(record);
        let executor_pid = executor.pid.clone();
        if let Some(write) = write {
            self.checkpoint(write);
        }
        self.refresh_limits(framework_id, executor_id);
        executor_pid
    }

    /// Hands a task to a registered executor.
    #[allow(deprecated)] // Mesos still sets RunTaskMessage.framework_id.
    fn send_task_to_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        task: TaskInfo,
    ) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let (info, pid) = (framework.info.clone(), framework.pid.clone());
        if let Some(executor_pid) = self.record_launched(framework_id, executor_id, &task) {
            let message = RunTaskMessage {
                framework_id: Some(framework_id.into()),
                framework: info,
                task,
                pid,
                ..RunTaskMessage::default()
            };
            self.send(&executor_pid, Outgoing::RunTask(message));
        }
    }

    /// An executor we launched has started and says hello: it gets its queued tasks.
    // Mesos: Slave::registerExecutor.
    pub fn on_register_executor(&mut self, from: &Pid, message: RegisterExecutorMessage) {
        let framework_id = FrameworkId::from(&message.framework_id);
        let executor_id = ExecutorId::from(&message.executor_id);
        let state = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.state);
        let agent_state = self.registration.state();
        if matches!(agent_state, AgentState::Recovering | AgentState::Terminating)
            || state != Some(ExecutorState::Registering)
        {
            tracing::warn!(%from, %executor_id, agent = agent_state.name(), "unexpected executor registration: shutting it down");
            let message = ShutdownExecutorMessage {
                executor_id: Some(executor_id.into()),
                framework_id: Some(framework_id.into()),
            };
            self.send(from, Outgoing::ShutdownExecutor(message));
            return;
        }
        let agent_info = self.info.clone();
        let Some(framework) = self.frameworks.get_mut(&framework_id) else { return };
        let framework_info = framework.info.clone();
        let Some(executor) = framework.executors.get_mut(&executor_id) else { return };
        executor.pid = Some(from.clone());
        executor.state = ExecutorState::Running;
        let write = executor.checkpoint.then(|| CheckpointWrite::RunFile {
            run: Run {
                framework_id: framework_id.clone(),
                executor_id: executor_id.clone(),
                container_id: executor.container_id.clone(),
            },
            name: files::LIBPROCESS_PID,
            text: from.to_string(),
        });
        let groups = std::mem::take(&mut executor.queued_groups);
        let mut queued = std::mem::take(&mut executor.queued_tasks);
        let groups: Vec<Vec<TaskInfo>> = groups
            .into_iter()
            .map(|ids| ids.iter().filter_map(|id| queued.remove(id)).collect::<Vec<_>>())
            .filter(|group| !group.is_empty())
            .collect();
        let queued: Vec<TaskInfo> = queued.into_values().collect();
        let registered = ExecutorRegisteredMessage {
            executor_info: executor.info.clone(),
            framework_id: framework_id.clone().into(),
            framework_info,
            slave_id: agent_info.id.clone().unwrap_or_default(),
            slave_info: agent_info,
        };
        if let Some(write) = write {
            self.checkpoint(write);
        }
        self.outbox.push(Output::Link(from.clone()));
        self.send(from, Outgoing::ExecutorRegistered(registered));
        tracing::info!(%executor_id, %framework_id, pid = %from, "executor registered");
        for group in groups {
            self.send_group_to_executor(&framework_id, &executor_id, group);
        }
        for task in queued {
            self.send_task_to_executor(&framework_id, &executor_id, task);
        }
    }

    /// The master asks us to kill a task.
    // Mesos: Slave::killTask.
    pub fn on_kill_task(&mut self, from: &Pid, message: KillTaskMessage, now: Time) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring KillTaskMessage from a process that is not our master");
            return;
        }
        self.kill_task(message, now);
    }

    /// Kills a task (the master's KillTaskMessage, or a drain).
    pub(crate) fn kill_task(&mut self, message: KillTaskMessage, now: Time) {
        if matches!(self.registration.state(), AgentState::Recovering | AgentState::Terminating) {
            tracing::warn!(state = self.registration.state().name(), "cannot kill a task now");
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        let task_id = TaskId::from(&message.task_id);
        let Some(framework) = self.frameworks.get_mut(&framework_id) else {
            tracing::warn!(%framework_id, %task_id, "ignoring kill: no such framework");
            return;
        };
        let Some(executor_id) = framework.executor_id_of_task(&task_id) else {
            let details = slave_details(
                task_status::Reason::ExecutorTerminated,
                "Cannot find executor",
                None,
            );
            self.agent_status_update(&framework_id, &task_id, TaskState::TaskLost, details, now);
            return;
        };
        let Some(executor) = framework.executors.get_mut(&executor_id) else { return };
        match executor.state {
            ExecutorState::Registering => {
                // Mesos: Slave::killTask, the task never reached the executor.
                executor.queued_tasks.remove(&task_id);
                let details = slave_details(
                    task_status::Reason::TaskKilledDuringLaunch,
                    "Killed before delivery to the executor",
                    Some(&executor_id),
                );
                let idle = !executor.has_incomplete_tasks();
                self.agent_status_update(
                    &framework_id,
                    &task_id,
                    TaskState::TaskKilled,
                    details,
                    now,
                );
                if idle {
                    self.shutdown_executor(&framework_id, &executor_id);
                }
            }
            ExecutorState::Running => {
                if let Some(pid) = executor.pid.clone() {
                    self.send(&pid, Outgoing::KillTask(message));
                }
            }
            ExecutorState::Terminating | ExecutorState::Terminated => {
                tracing::warn!(%task_id, "ignoring kill: the executor is terminating");
            }
        }
    }

    /// A framework message from the scheduler, for an executor.
    // Mesos: Slave::schedulerMessage.
    pub fn on_framework_to_executor(&mut self, from: &Pid, message: FrameworkToExecutorMessage) {
        if !self.registration.is_master(from) {
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        let executor_id = ExecutorId::from(&message.executor_id);
        let pid = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .and_then(|e| e.pid.clone());
        match pid {
            Some(pid) => self.send(&pid, Outgoing::FrameworkToExecutor(message)),
            None => {
                tracing::warn!(%executor_id, "dropping framework message: executor not registered")
            }
        }
    }

    /// A framework message from an executor, for the scheduler (sent via the master,
    /// which knows where the scheduler is).
    // Mesos: Slave::executorMessage.
    pub fn on_executor_to_framework(&mut self, from: &Pid, message: ExecutorToFrameworkMessage) {
        if self.registration.state() != AgentState::Running {
            tracing::warn!(%from, "dropping executor message: not connected to a master");
            return;
        }
        if let Some(master) = self.registration.master().cloned() {
            self.send(&master, Outgoing::ExecutorToFramework(message));
        }
    }
}
