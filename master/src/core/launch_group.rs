//! LAUNCH_GROUP: a task group run together under one executor (Mesos's pods). Every
//! task of the group is authorized and validated together; if any fails, each task of
//! the group gets TASK_ERROR and none is launched (a group runs whole or not at all).
//! Otherwise the tasks are recorded like LAUNCH's and the agent gets one
//! `RunTaskGroupMessage`.
//!
//! Mesos: master.cpp `Master::_accept`, the LAUNCH_GROUP case; validation.cpp
//! `task::group::validate`.

use libprocess::Time;
use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, offer, task_status};
use mesos_proto::resources::Resources;

use super::authorization::{framework_principal, run_task_user};
use super::launch::inject_allocation_role;
use super::validation::validate_task_group;
use super::{MasterCore, Outgoing};
use mesos_security::Action;

impl MasterCore {
    /// One LAUNCH_GROUP operation: returns the ids of its tasks and the resources the
    /// group used, or `None` when every task got TASK_ERROR.
    pub(super) fn launch_group(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        operation: offer::operation::LaunchGroup,
        available: &Resources,
        launched: &[TaskId],
        now: Time,
    ) -> Option<(Vec<TaskId>, Resources)> {
        let framework = self.frameworks.get(framework_id)?;
        let roles = framework.roles.clone();
        let mut executor = operation.executor;
        let mut group = operation.task_group;
        // The same injection on the group's executor and each task's copy of it keeps
        // them equal, as validation requires.
        let mut holder =
            mesos::TaskInfo { executor: Some(executor.clone()), ..mesos::TaskInfo::default() };
        inject_allocation_role(&roles, &mut holder);
        executor = holder.executor.unwrap_or(executor);
        for task in &mut group.tasks {
            inject_allocation_role(&roles, task);
        }
        let executor_id = ExecutorId::from(&executor.executor_id);
        let known = self.executor_on(framework_id, agent_id, &executor_id).cloned();
        let checked = self.authorize_group(framework_id, &group).and_then(|()| {
            let framework = self.frameworks.get(framework_id).ok_or((
                task_status::Reason::TaskGroupInvalid,
                format!("Unknown framework {framework_id}"),
            ))?;
            validate_task_group(
                &group,
                &executor,
                framework,
                agent_id,
                known.as_ref(),
                launched,
                available,
            )
            .map_err(|message| (task_status::Reason::TaskGroupInvalid, message))
        });
        let used = match checked {
            Ok(used) => used,
            Err((reason, message)) => {
                self.refuse_group(framework_id, agent_id, &group, reason, &message, now);
                return None;
            }
        };
        self.send_task_group(framework_id, agent_id, executor, group, known.is_none())
            .map(|ids| (ids, used))
    }

    /// Every task of the group must be authorized (`run_tasks`); the first refusal
    /// refuses the group. Mesos: the LAUNCH_GROUP case of `_accept`.
    fn authorize_group(
        &self,
        framework_id: &FrameworkId,
        group: &mesos::TaskGroupInfo,
    ) -> Result<(), (task_status::Reason, String)> {
        let Some(framework) = self.frameworks.get(framework_id) else { return Ok(()) };
        let principal = framework_principal(&framework.info);
        for task in &group.tasks {
            let user = run_task_user(task, &framework.info);
            if !self.authorized(principal.as_ref(), Action::RunTask { user: &user }) {
                return Err((
                    task_status::Reason::TaskGroupUnauthorized,
                    format!(
                        "Task '{}' is not authorized to launch under user '{user}'",
                        task.task_id.value
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The group is refused: TASK_ERROR with `reason` for each of its tasks.
    fn refuse_group(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        group: &mesos::TaskGroupInfo,
        reason: task_status::Reason,
        message: &str,
        now: Time,
    ) {
        tracing::info!(%framework_id, %message, "task group refused");
        for task in &group.tasks {
            self.stats.tasks_error += 1;
            let status = self.master_status(
                &TaskId::from(&task.task_id),
                mesos::TaskState::TaskError,
                reason,
                message,
                Some(agent_id),
                now,
            );
            self.forward_update(framework_id, agent_id, status, None, now);
        }
    }

    /// Records the executor (if new) and each task as STAGING, then sends the agent
    /// one `RunTaskGroupMessage`.
    fn send_task_group(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        mut executor: mesos::ExecutorInfo,
        group: mesos::TaskGroupInfo,
        launch_executor: bool,
    ) -> Option<Vec<TaskId>> {
        let framework = self.frameworks.get(framework_id)?;
        let framework_info = framework.info.clone();
        executor.framework_id = Some(framework_id.into());
        if launch_executor {
            self.add_executor(agent_id, executor.clone());
        }
        let mut to = None;
        let mut ids = Vec::new();
        for task in &group.tasks {
            to = self.add_launched_task(framework_id, agent_id, task, &framework_info);
            ids.push(TaskId::from(&task.task_id));
        }
        let message = internal::RunTaskGroupMessage {
            framework: framework_info,
            executor,
            task_group: group,
            resource_version_uuids: Vec::new(),
            launch_executor: Some(launch_executor),
        };
        let to = to?;
        self.send(&to, Outgoing::RunTaskGroup(message));
        let shown: Vec<&str> = ids.iter().map(TaskId::as_str).collect();
        tracing::info!(%framework_id, %agent_id, tasks = ?shown, launch_executor, "launching task group");
        Some(ids)
    }
}
