//! Running tasks: launching executors, handing them tasks, killing tasks.

use std::collections::BTreeMap;

use libprocess::{Context, Pid};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorToFrameworkMessage, FrameworkToExecutorMessage,
    KillTaskMessage, RegisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
};
use mesos_proto::mesos::{
    CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, task_status,
};

use super::Agent;
use crate::containerizer::LaunchRequest;
use crate::paths::{component, files};
use crate::protobuf::{UpdateDetails, random_uuid, task_from_info, uuid_string};
use crate::registration::AgentState;
use crate::state::{Executor, ExecutorState, Framework};

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

impl Agent {
    /// The master asks us to run a task.
    // Mesos: Slave::runTask, Slave::run, Slave::__run.
    pub(super) fn on_run_task(
        &mut self,
        from: Pid,
        message: RunTaskMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) || self.registration.state() != AgentState::Running {
            tracing::warn!(%from, state = self.registration.state().name(), "ignoring RunTaskMessage");
            return;
        }
        let framework_info = message.framework;
        let task = message.task;
        let Some(framework_id) = framework_info.id.as_ref().map(FrameworkId::from) else {
            tracing::warn!("ignoring RunTaskMessage without a framework id");
            return;
        };
        let task_id = TaskId::from(&task.task_id);
        let command_task = task.executor.is_none();
        let executor_info = match &task.executor {
            Some(executor) => executor.clone(),
            None => command_executor_info(&framework_info, &task, &self.config.launcher_dir),
        };
        let checkpoint = framework_info.checkpoint.unwrap_or(false);
        let checkpointer = self.checkpointer();
        let framework = self
            .frameworks
            .entry(framework_id.clone())
            .or_insert_with(|| Framework::new(framework_info.clone(), message.pid.clone()));
        framework.info = framework_info;
        framework.pid = message.pid.or(framework.pid.clone());
        framework.terminating = false;
        if checkpoint
            && let Some(checkpointer) = checkpointer
            && let Err(error) = checkpointer.framework(
                &framework.info,
                framework_id.as_str(),
                framework.pid.as_deref(),
            )
        {
            tracing::error!(%error, "cannot checkpoint the framework");
        }
        let ids_ok = [
            ("framework id", framework_id.as_str()),
            ("executor id", executor_info.executor_id.value.as_str()),
            ("task id", task_id.as_str()),
        ]
        .iter()
        .all(|(kind, id)| component(kind, id).is_ok());
        if !ids_ok {
            let details = UpdateDetails {
                source: Some(task_status::Source::Slave),
                reason: Some(task_status::Reason::TaskInvalid),
                message: Some("Task, executor or framework id cannot name a sandbox folder".into()),
                executor_id: None,
            };
            self.agent_status_update(&framework_id, &task_id, TaskState::TaskError, details, ctx);
            return;
        }
        let executor_id = ExecutorId::from(&executor_info.executor_id);
        let state = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.state);
        match state {
            None => self.launch_executor(&framework_id, executor_info, task, command_task, ctx),
            Some(ExecutorState::Registering) => self.queue_task(&framework_id, &executor_id, task),
            Some(ExecutorState::Running) => {
                self.send_task_to_executor(&framework_id, &executor_id, task, ctx)
            }
            Some(ExecutorState::Terminating | ExecutorState::Terminated) => {
                let details = UpdateDetails {
                    source: Some(task_status::Source::Slave),
                    reason: Some(task_status::Reason::ExecutorTerminated),
                    message: Some("Executor terminating".into()),
                    executor_id: Some(executor_id.into()),
                };
                self.agent_status_update(
                    &framework_id,
                    &task_id,
                    TaskState::TaskLost,
                    details,
                    ctx,
                );
            }
        }
    }

    /// Starts a new executor run for `task`.
    // Mesos: Slave::launchExecutor.
    fn launch_executor(
        &mut self,
        framework_id: &FrameworkId,
        info: ExecutorInfo,
        task: TaskInfo,
        command: bool,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(agent_id) = self.agent_id() else { return };
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let checkpoint = framework.checkpoint();
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
        let run = (framework_id.as_str(), executor_id.as_str(), container_id.value());
        if let Err(error) = std::fs::create_dir_all(&sandbox) {
            tracing::error!(%error, sandbox = %sandbox.display(), "cannot create the sandbox");
        }
        let latest = sandbox.parent().map(|runs| runs.join("latest"));
        if let Some(latest) = latest
            && let Err(error) =
                crate::checkpoint::link_atomic(std::path::Path::new(container_id.value()), &latest)
        {
            tracing::warn!(%error, "cannot point runs/latest at the new sandbox");
        }
        let checkpointer = self.checkpointer().filter(|_| checkpoint);
        if let Some(cp) = &checkpointer
            && let Err(error) = cp.executor(framework_id.as_str(), &info, container_id.value())
        {
            tracing::error!(%error, "cannot checkpoint the executor");
        }
        let resources: Vec<_> =
            info.resources.iter().chain(task.resources.iter()).cloned().collect();
        let request = LaunchRequest {
            limits: crate::limits::ContainerLimits::of(&resources, command),
            container_id: container_id.clone(),
            command: info.command.clone().unwrap_or_default(),
            env: self.executor_environment(framework_id, &info, &sandbox, checkpoint, ctx),
            sandbox,
        };
        executor.queued_tasks.insert(TaskId::from(&task.task_id), task.clone());
        if let Some(cp) = &checkpointer {
            let record = task_from_info(&task, TaskState::TaskStaging, &framework_id.into());
            if let Err(error) = cp.task(run, &record) {
                tracing::error!(%error, "cannot checkpoint the task");
            }
        }
        let launched = self.containerizer.launch(request);
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        match launched {
            Ok(os_pid) => {
                executor.os_pid = os_pid;
                if let (Some(cp), Some(pid)) = (&checkpointer, os_pid)
                    && let Err(error) = cp.run_file(run, files::FORKED_PID, &pid.to_string())
                {
                    tracing::error!(%error, "cannot checkpoint the executor's pid");
                }
                framework.executors.insert(executor_id.clone(), executor);
                let (fid, eid, cid) = (framework_id.clone(), executor_id, container_id);
                let timeout = self.config.executor_registration_timeout;
                ctx.delay(timeout, move |agent, ctx| {
                    agent.on_executor_registration_timeout(&fid, &eid, &cid, ctx)
                });
            }
            Err(error) => {
                tracing::error!(%error, "executor launch failed");
                executor.pending_termination = Some(crate::state::PendingTermination {
                    state: TaskState::TaskFailed,
                    reason: task_status::Reason::ContainerLaunchFailed,
                    message: error.to_string(),
                });
                framework.executors.insert(executor_id, executor);
                let termination = crate::containerizer::Termination {
                    container_id,
                    status: None,
                    message: error.to_string(),
                };
                self.on_container_terminated(termination, ctx);
            }
        }
    }

    /// Mesos's executor environment (Mesos: slave.cpp `executorEnvironment`).
    fn executor_environment(
        &self,
        framework_id: &FrameworkId,
        info: &ExecutorInfo,
        sandbox: &std::path::Path,
        checkpoint: bool,
        ctx: &Context<'_, Self>,
    ) -> BTreeMap<String, String> {
        let address = Self::agent_address(ctx);
        let directory = sandbox.to_string_lossy().into_owned();
        let grace =
            libprocess::duration::format_duration(self.config.executor_shutdown_grace_period);
        let mut env = BTreeMap::new();
        env.insert("LIBPROCESS_IP".into(), address.ip().to_string());
        env.insert("LIBPROCESS_PORT".into(), "0".into());
        env.insert("MESOS_FRAMEWORK_ID".into(), framework_id.to_string());
        env.insert("MESOS_EXECUTOR_ID".into(), info.executor_id.value.clone());
        env.insert("MESOS_DIRECTORY".into(), directory.clone());
        env.insert("MESOS_SANDBOX".into(), directory);
        env.insert("MESOS_SLAVE_ID".into(), self.agent_id().unwrap_or_default());
        env.insert("MESOS_SLAVE_PID".into(), ctx.pid().to_string());
        env.insert("MESOS_AGENT_ENDPOINT".into(), address.to_string());
        env.insert("MESOS_CHECKPOINT".into(), if checkpoint { "1" } else { "0" }.into());
        env.insert("MESOS_HTTP_COMMAND_EXECUTOR".into(), "0".into());
        env.insert("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(), grace);
        if checkpoint {
            env.insert(
                "MESOS_RECOVERY_TIMEOUT".into(),
                libprocess::duration::format_duration(self.config.recovery_timeout),
            );
        }
        if let Ok(filter) = std::env::var("RUST_LOG") {
            env.insert("RUST_LOG".into(), filter);
        }
        // The executor talks to this agent with the agent's TLS setting (Mesos operators
        // pass it on with --executor_environment_variables; docs/ssl.md "Upgrading").
        env.extend(libprocess::TlsConfig::inherited_environment());
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

    fn queue_task(&mut self, framework_id: &FrameworkId, executor_id: &ExecutorId, task: TaskInfo) {
        let checkpointer = self.checkpointer();
        let Some(executor) =
            self.frameworks.get_mut(framework_id).and_then(|f| f.executors.get_mut(executor_id))
        else {
            return;
        };
        if executor.checkpoint
            && let Some(cp) = checkpointer
        {
            let record = task_from_info(&task, TaskState::TaskStaging, &framework_id.into());
            let run = (framework_id.as_str(), executor_id.as_str(), executor.container_id.value());
            if let Err(error) = cp.task(run, &record) {
                tracing::error!(%error, "cannot checkpoint the task");
            }
        }
        executor.queued_tasks.insert(TaskId::from(&task.task_id), task);
    }

    /// Hands a task to a registered executor.
    #[allow(deprecated)] // Mesos still sets RunTaskMessage.framework_id.
    fn send_task_to_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        task: TaskInfo,
        ctx: &mut Context<'_, Self>,
    ) {
        let checkpointer = self.checkpointer();
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let (info, pid) = (framework.info.clone(), framework.pid.clone());
        let Some(executor) = framework.executors.get_mut(executor_id) else { return };
        let record = task_from_info(&task, TaskState::TaskStaging, &framework_id.into());
        if executor.checkpoint
            && let Some(cp) = checkpointer
            && let Err(error) = cp.task(
                (framework_id.as_str(), executor_id.as_str(), executor.container_id.value()),
                &record,
            )
        {
            tracing::error!(%error, "cannot checkpoint the task");
        }
        executor.add_launched(record);
        if let Some(executor_pid) = executor.pid.clone() {
            let message = RunTaskMessage {
                framework_id: Some(framework_id.into()),
                framework: info,
                task,
                pid,
                ..RunTaskMessage::default()
            };
            self.send_executor(&executor_pid, message, ctx);
        }
    }

    /// An executor we launched has started and says hello.
    // Mesos: Slave::registerExecutor.
    pub(super) fn on_register_executor(
        &mut self,
        from: Pid,
        message: RegisterExecutorMessage,
        ctx: &mut Context<'_, Self>,
    ) {
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
            self.send_executor(&from, message, ctx);
            return;
        }
        let checkpointer = self.checkpointer();
        let (info, agent_info) = (self.info.clone(), self.info.clone());
        let Some(framework) = self.frameworks.get_mut(&framework_id) else { return };
        let framework_info = framework.info.clone();
        let Some(executor) = framework.executors.get_mut(&executor_id) else { return };
        executor.pid = Some(from.clone());
        executor.state = ExecutorState::Running;
        if executor.checkpoint
            && let Some(cp) = checkpointer
        {
            let run = (framework_id.as_str(), executor_id.as_str(), executor.container_id.value());
            if let Err(error) = cp.run_file(run, files::LIBPROCESS_PID, &from.to_string()) {
                tracing::error!(%error, "cannot checkpoint the executor's libprocess pid");
            }
        }
        if !super::executor_api::is_http_executor(&from) {
            ctx.link(&from);
        }
        let queued: Vec<TaskInfo> =
            std::mem::take(&mut executor.queued_tasks).into_values().collect();
        let registered = ExecutorRegisteredMessage {
            executor_info: executor.info.clone(),
            framework_id: framework_id.clone().into(),
            framework_info,
            slave_id: info.id.clone().unwrap_or_default(),
            slave_info: agent_info,
        };
        self.send_executor(&from, registered, ctx);
        tracing::info!(%executor_id, %framework_id, pid = %from, "executor registered");
        for task in queued {
            self.send_task_to_executor(&framework_id, &executor_id, task, ctx);
        }
    }

    /// The master asks us to kill a task.
    // Mesos: Slave::killTask.
    pub(super) fn on_kill_task(
        &mut self,
        from: Pid,
        message: KillTaskMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring KillTaskMessage from a process that is not our master");
            return;
        }
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
            let details = UpdateDetails {
                source: Some(task_status::Source::Slave),
                reason: Some(task_status::Reason::ExecutorTerminated),
                message: Some("Cannot find executor".into()),
                executor_id: None,
            };
            self.agent_status_update(&framework_id, &task_id, TaskState::TaskLost, details, ctx);
            return;
        };
        let Some(executor) = framework.executors.get_mut(&executor_id) else { return };
        match executor.state {
            ExecutorState::Registering => {
                // Mesos: Slave::kill, the task never reached the executor.
                executor.queued_tasks.remove(&task_id);
                let details = UpdateDetails {
                    source: Some(task_status::Source::Slave),
                    reason: Some(task_status::Reason::TaskKilledDuringLaunch),
                    message: Some("Killed before delivery to the executor".into()),
                    executor_id: Some(executor_id.clone().into()),
                };
                let idle = !executor.has_incomplete_tasks();
                self.agent_status_update(
                    &framework_id,
                    &task_id,
                    TaskState::TaskKilled,
                    details,
                    ctx,
                );
                if idle {
                    self.shutdown_executor(&framework_id, &executor_id, ctx);
                }
            }
            ExecutorState::Running => {
                if let Some(pid) = executor.pid.clone() {
                    self.send_executor(&pid, message, ctx);
                }
            }
            ExecutorState::Terminating | ExecutorState::Terminated => {
                tracing::warn!(%task_id, "ignoring kill: the executor is terminating");
            }
        }
    }

    /// A framework message from the scheduler, for an executor.
    pub(super) fn on_framework_to_executor(
        &mut self,
        from: Pid,
        message: FrameworkToExecutorMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
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
            Some(pid) => self.send_executor(&pid, message, ctx),
            None => {
                tracing::warn!(%executor_id, "dropping framework message: executor not registered")
            }
        }
    }

    /// A framework message from an executor, for the scheduler (sent via the master,
    /// which knows where the scheduler is).
    pub(super) fn on_executor_to_framework(
        &mut self,
        from: Pid,
        message: ExecutorToFrameworkMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if self.registration.state() != AgentState::Running {
            tracing::warn!(%from, "dropping executor message: not connected to a master");
            return;
        }
        if let Some(master) = self.registration.master().cloned() {
            ctx.send(&master, message);
        }
    }
}
