//! Running task groups: `RunTaskGroupMessage` from the master. The group's tasks run
//! under one executor, Mesos's default executor unless the framework gave its own: the
//! agent fills in the command of a DEFAULT executor (`mesos-default-executor`, found
//! next to `mesos-agent` like `mesos-executor`), launches it (or queues the group while
//! it registers, or hands the group over if it runs) and the executor gets the whole
//! group as one LAUNCH_GROUP event.
//!
//! Mesos: slave.cpp `Slave::runTaskGroup`, `Slave::run` (with a task group),
//! `Slave::launchExecutor` (the default executor's command).

use libprocess::{Pid, Time};
use mesos_proto::ids::{ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::RunTaskGroupMessage;
use mesos_proto::mesos::{
    CommandInfo, ExecutorInfo, TaskGroupInfo, TaskInfo, TaskState, executor_info, task_status,
};

use super::{AgentCore, AgentState, Outgoing};
use crate::paths::component;
use crate::state::ExecutorState;
use crate::updates::UpdateDetails;

/// The default executor's binary, next to `mesos-agent` (Mesos: `--launcher_dir`).
pub const DEFAULT_EXECUTOR_BINARY: &str = "mesos-default-executor";

/// A DEFAULT executor as the agent runs it: its command is the default executor binary
/// (the framework may not set one; the master refuses it). Mesos: the agent gives the
/// default executor `launcher_dir/mesos-default-executor`.
pub fn default_executor_info(
    mut info: ExecutorInfo,
    launcher_dir: &std::path::Path,
) -> ExecutorInfo {
    if info.r#type == Some(executor_info::Type::Default as i32) && info.command.is_none() {
        info.command = Some(CommandInfo {
            value: Some(launcher_dir.join(DEFAULT_EXECUTOR_BINARY).to_string_lossy().into_owned()),
            shell: Some(false),
            arguments: vec![DEFAULT_EXECUTOR_BINARY.into()],
            ..CommandInfo::default()
        });
    }
    info
}

impl AgentCore {
    /// The master asks us to run a task group under one executor.
    // Mesos: Slave::runTaskGroup, Slave::run.
    pub fn on_run_task_group(&mut self, from: &Pid, message: RunTaskGroupMessage, now: Time) {
        if !self.registration.is_master(from) || self.registration.state() != AgentState::Running {
            tracing::warn!(%from, state = self.registration.state().name(), "ignoring RunTaskGroupMessage");
            return;
        }
        let tasks = message.task_group.tasks;
        let Some(framework_id) = self.admit_framework(message.framework, None) else { return };
        let task_ids: Vec<TaskId> = tasks.iter().map(|t| TaskId::from(&t.task_id)).collect();
        if self.refuse_while_draining(&framework_id, &task_ids, now) {
            return;
        }
        let executor_info = default_executor_info(message.executor, &self.config.launcher_dir);
        let executor_id = ExecutorId::from(&executor_info.executor_id);
        let ids_ok = component("framework id", framework_id.as_str()).is_ok()
            && component("executor id", executor_id.as_str()).is_ok()
            && tasks.iter().all(|t| component("task id", &t.task_id.value).is_ok());
        if !ids_ok || tasks.is_empty() {
            let details = UpdateDetails {
                source: Some(task_status::Source::Slave),
                reason: Some(task_status::Reason::TaskGroupInvalid),
                message: Some("Task, executor or framework id cannot name a sandbox folder".into()),
                executor_id: None,
            };
            self.fail_group(&framework_id, &tasks, TaskState::TaskError, &details, now);
            return;
        }
        let state = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.state);
        match state {
            None => {
                let ids: Vec<TaskId> = tasks.iter().map(|t| TaskId::from(&t.task_id)).collect();
                self.launch_executor(&framework_id, executor_info, tasks, false);
                if let Some(executor) = self.executor_mut(&framework_id, &executor_id) {
                    executor.queued_groups.push(ids);
                }
            }
            Some(ExecutorState::Registering) => {
                let ids: Vec<TaskId> = tasks.iter().map(|t| TaskId::from(&t.task_id)).collect();
                for task in tasks {
                    self.queue_task(&framework_id, &executor_id, task);
                }
                if let Some(executor) = self.executor_mut(&framework_id, &executor_id) {
                    executor.queued_groups.push(ids);
                }
            }
            Some(ExecutorState::Running) => {
                self.send_group_to_executor(&framework_id, &executor_id, tasks)
            }
            Some(ExecutorState::Terminating | ExecutorState::Terminated) => {
                let details = UpdateDetails {
                    source: Some(task_status::Source::Slave),
                    reason: Some(task_status::Reason::ExecutorTerminated),
                    message: Some("Executor terminating".into()),
                    executor_id: Some((&executor_id).into()),
                };
                self.fail_group(&framework_id, &tasks, TaskState::TaskLost, &details, now);
            }
        }
    }

    /// Every task of a group that cannot run gets `state`.
    fn fail_group(
        &mut self,
        framework_id: &FrameworkId,
        tasks: &[TaskInfo],
        state: TaskState,
        details: &UpdateDetails,
        now: Time,
    ) {
        for task in tasks {
            let task_id = TaskId::from(&task.task_id);
            self.agent_status_update(framework_id, &task_id, state, details.clone(), now);
        }
    }

    /// Hands a task group to a registered executor: each task recorded as launched,
    /// then one `RunTaskGroupMessage` (LAUNCH_GROUP on an HTTP executor's stream).
    pub(super) fn send_group_to_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        tasks: Vec<TaskInfo>,
    ) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let framework_info = framework.info.clone();
        let Some(executor) = framework.executors.get(executor_id) else { return };
        let executor_info = executor.info.clone();
        let mut executor_pid = None;
        for task in &tasks {
            executor_pid = self.record_launched(framework_id, executor_id, task);
        }
        if let Some(pid) = executor_pid {
            let message = RunTaskGroupMessage {
                framework: framework_info,
                executor: executor_info,
                task_group: TaskGroupInfo { tasks },
                resource_version_uuids: Vec::new(),
                launch_executor: None,
            };
            self.send(&pid, Outgoing::RunTaskGroup(message));
        }
    }
}
