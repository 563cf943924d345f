//! Executor exits, shutdowns and kills.

use libprocess::{Context, Pid};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    ExitedExecutorMessage, ShutdownExecutorMessage, ShutdownFrameworkMessage,
};
use mesos_proto::mesos::{TaskState, task_status};

use super::Agent;
use crate::containerizer::{Signal, Termination};
use crate::paths::files;
use crate::protobuf::UpdateDetails;
use crate::registration::AgentState;
use crate::state::{ExecutorState, MAX_COMPLETED_FRAMEWORKS, PendingTermination};

impl Agent {
    fn find_container(&self, container_id: &ContainerId) -> Option<(FrameworkId, ExecutorId)> {
        self.frameworks.iter().find_map(|(fid, f)| {
            f.executor_by_container(container_id).map(|eid| (fid.clone(), eid))
        })
    }

    /// An executor's process exited: fail its unfinished tasks and tell the master.
    // Mesos: Slave::executorTerminated.
    pub(super) fn on_container_terminated(
        &mut self,
        termination: Termination,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some((framework_id, executor_id)) = self.find_container(&termination.container_id)
        else {
            tracing::debug!(container = %termination.container_id, "exit of an unknown container");
            return;
        };
        tracing::info!(%executor_id, %framework_id, message = %termination.message, "executor terminated");
        self.metrics.executors_terminated.inc();
        let checkpointer = self.checkpointer();
        let Some(framework) = self.frameworks.get_mut(&framework_id) else { return };
        let framework_terminating = framework.terminating;
        let Some(executor) = framework.executors.get_mut(&executor_id) else { return };
        if executor.state == ExecutorState::Terminated {
            return;
        }
        executor.state = ExecutorState::Terminated;
        if executor.checkpoint
            && let Some(cp) = &checkpointer
        {
            let run = (framework_id.as_str(), executor_id.as_str(), executor.container_id.value());
            if let Err(error) = cp.run_file(run, files::SENTINEL, "") {
                tracing::error!(%error, "cannot checkpoint the executor's exit");
            }
        }
        let pending = executor.pending_termination.clone();
        let unfinished: Vec<TaskId> = executor
            .launched_tasks
            .iter()
            .filter(|(_, task)| !task.state().is_terminal())
            .map(|(id, _)| id.clone())
            .chain(executor.queued_tasks.keys().cloned())
            .collect();
        let command_executor = executor.command_executor;
        if framework_terminating {
            let launched = std::mem::take(&mut executor.launched_tasks);
            executor.terminated_tasks.extend(launched);
            executor.queued_tasks.clear();
        } else {
            for task_id in unfinished {
                let (state, reason, message) = match &pending {
                    Some(p) => {
                        (p.state, p.reason, format!("{}; {}", p.message, termination.message))
                    }
                    None => (
                        TaskState::TaskFailed,
                        task_status::Reason::ExecutorTerminated,
                        termination.message.clone(),
                    ),
                };
                let details = UpdateDetails {
                    source: Some(task_status::Source::Slave),
                    reason: Some(reason),
                    message: Some(message),
                    executor_id: Some(executor_id.clone().into()),
                };
                self.agent_status_update(&framework_id, &task_id, state, details, ctx);
                if let Some(executor) = self
                    .frameworks
                    .get_mut(&framework_id)
                    .and_then(|f| f.executors.get_mut(&executor_id))
                {
                    executor.queued_tasks.remove(&task_id);
                }
            }
        }
        // Mesos: the master does not track command executors, so it is not told.
        if !command_executor
            && let (Some(master), Some(agent_id)) =
                (self.registration.master().cloned(), self.info.id.clone())
            && self.registration.state() == AgentState::Running
        {
            let status = termination.status.unwrap_or(-1);
            let message = ExitedExecutorMessage {
                slave_id: agent_id,
                framework_id: framework_id.clone().into(),
                executor_id: executor_id.clone().into(),
                status,
            };
            ctx.send(&master, message);
        }
        let Some(framework) = self.frameworks.get_mut(&framework_id) else { return };
        let remove = framework
            .executors
            .get(&executor_id)
            .is_some_and(|e| framework.terminating || !e.has_incomplete_tasks());
        if remove || self.registration.state() == AgentState::Terminating {
            framework.remove_executor(&executor_id);
        }
        self.remove_framework_if_idle(&framework_id);
        self.terminate_if_done(ctx);
    }

    /// Moves a framework with nothing left here to the completed history.
    pub(super) fn remove_framework_if_idle(&mut self, framework_id: &FrameworkId) {
        if self.frameworks.get(framework_id).is_some_and(|f| f.is_idle())
            && let Some(framework) = self.frameworks.remove(framework_id)
        {
            tracing::info!(%framework_id, "framework has no more work on this agent");
            self.updates.cleanup_framework(framework_id);
            self.completed_frameworks.push_back(framework);
            while self.completed_frameworks.len() > MAX_COMPLETED_FRAMEWORKS {
                self.completed_frameworks.pop_front();
            }
        }
    }

    /// Kills a container: SIGTERM to its process group now, SIGKILL after the grace
    /// period if it is still there.
    pub(super) fn destroy_container(
        &mut self,
        container_id: &ContainerId,
        ctx: &mut Context<'_, Self>,
    ) {
        self.containerizer.signal(container_id, Signal::Term);
        let container_id = container_id.clone();
        ctx.delay(self.config.executor_shutdown_grace_period, move |agent, _ctx| {
            agent.containerizer.signal(&container_id, Signal::Kill);
        });
    }

    /// Asks an executor to shut down; kills it if it has not exited after the grace
    /// period.
    // Mesos: Slave::shutdownExecutor, shutdownExecutorTimeout.
    pub(super) fn shutdown_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(executor) =
            self.frameworks.get_mut(framework_id).and_then(|f| f.executors.get_mut(executor_id))
        else {
            return;
        };
        if matches!(executor.state, ExecutorState::Terminating | ExecutorState::Terminated) {
            return;
        }
        executor.state = ExecutorState::Terminating;
        let container_id = executor.container_id.clone();
        match executor.pid.clone() {
            Some(pid) => {
                let message = ShutdownExecutorMessage {
                    executor_id: Some(executor_id.into()),
                    framework_id: Some(framework_id.into()),
                };
                self.send_executor(&pid, message, ctx);
                ctx.delay(self.config.executor_shutdown_grace_period, move |agent, ctx| {
                    agent.destroy_container(&container_id, ctx);
                });
            }
            None => self.destroy_container(&container_id, ctx),
        }
    }

    /// A launched executor did not register in time: kill it; its tasks fail.
    // Mesos: Slave::registerExecutorTimeout.
    pub(super) fn on_executor_registration_timeout(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        container_id: &ContainerId,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(executor) =
            self.frameworks.get_mut(framework_id).and_then(|f| f.executors.get_mut(executor_id))
        else {
            return;
        };
        if &executor.container_id != container_id || executor.state != ExecutorState::Registering {
            return;
        }
        tracing::warn!(%executor_id, "executor did not register in time; killing it");
        executor.state = ExecutorState::Terminating;
        executor.pending_termination = Some(PendingTermination {
            state: TaskState::TaskFailed,
            reason: task_status::Reason::ExecutorRegistrationTimeout,
            message: format!(
                "Executor did not register within {:?}",
                self.config.executor_registration_timeout
            ),
        });
        self.destroy_container(container_id, ctx);
    }

    /// The master removed a framework: kill its executors without further updates.
    // Mesos: Slave::shutdownFramework.
    pub(super) fn on_shutdown_framework(
        &mut self,
        from: Pid,
        message: ShutdownFrameworkMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring ShutdownFrameworkMessage from a process that is not our master");
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        self.shutdown_framework(&framework_id, ctx);
    }

    fn shutdown_framework(&mut self, framework_id: &FrameworkId, ctx: &mut Context<'_, Self>) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        tracing::info!(%framework_id, "shutting down framework");
        framework.terminating = true;
        let executors: Vec<ExecutorId> = framework.executors.keys().cloned().collect();
        self.updates.cleanup_framework(framework_id);
        for executor_id in executors {
            self.shutdown_executor(framework_id, &executor_id, ctx);
        }
        self.remove_framework_if_idle(framework_id);
    }

    /// The master asks us to shut one executor down.
    pub(super) fn on_shutdown_executor(
        &mut self,
        from: Pid,
        message: ShutdownExecutorMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring ShutdownExecutorMessage from a process that is not our master");
            return;
        }
        if let (Some(framework_id), Some(executor_id)) =
            (&message.framework_id, &message.executor_id)
        {
            self.shutdown_executor(&framework_id.into(), &executor_id.into(), ctx);
        }
    }

    /// Shuts the whole agent down: every framework, then the process itself.
    pub(super) fn shutdown_agent(&mut self, ctx: &mut Context<'_, Self>) {
        self.registration.become_terminating();
        let frameworks: Vec<FrameworkId> = self.frameworks.keys().cloned().collect();
        for framework_id in frameworks {
            self.shutdown_framework(&framework_id, ctx);
        }
        self.terminate_if_done(ctx);
    }

    /// While terminating, ends the process once no executor is left.
    pub(super) fn terminate_if_done(&mut self, ctx: &mut Context<'_, Self>) {
        if self.registration.state() == AgentState::Terminating
            && self.frameworks.values().all(|f| f.executors.is_empty())
        {
            tracing::info!("agent terminated");
            ctx.terminate();
        }
    }
}
