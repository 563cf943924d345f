//! Executor exits, shutdowns and kills; framework and agent shutdown.
//!
//! Mesos: slave.cpp `Slave::executorTerminated`, `shutdownExecutor`,
//! `shutdownExecutorTimeout`, `registerExecutorTimeout`, `shutdownFramework`,
//! `removeFramework`, `shutdown`.

use libprocess::{Pid, Time};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    ExitedExecutorMessage, ShutdownExecutorMessage, ShutdownFrameworkMessage,
};
use mesos_proto::mesos::{TaskState, task_status};

use super::{AgentCore, AgentState, CheckpointWrite, Outgoing, Output, Run, Timer};
use crate::containerizer::{Signal, Termination};
use crate::paths::files;
use crate::state::{ExecutorState, MAX_COMPLETED_FRAMEWORKS, PendingTermination};
use crate::updates::UpdateDetails;

impl AgentCore {
    pub(crate) fn find_container(
        &self,
        container_id: &ContainerId,
    ) -> Option<(FrameworkId, ExecutorId)> {
        self.frameworks.iter().find_map(|(fid, f)| {
            f.executor_by_container(container_id).map(|eid| (fid.clone(), eid))
        })
    }

    /// The sandbox of the executor running in `container_id`, if the agent knows it.
    pub fn sandbox_of(&self, container_id: &ContainerId) -> Option<&std::path::Path> {
        let (framework_id, executor_id) = self.find_container(container_id)?;
        let executor = self.frameworks.get(&framework_id)?.executors.get(&executor_id)?;
        Some(executor.directory.as_path())
    }

    /// An executor's process exited (the actor's reaper noticed): its unfinished tasks
    /// fail (or get the state the agent chose when it killed the executor), the master
    /// is told of non-command executors. While recovering, the exit waits until
    /// recovery has decided the executor's fate.
    // Mesos: Slave::executorTerminated.
    pub fn on_container_terminated(&mut self, termination: Termination, now: Time) {
        if self.registration.state() == AgentState::Recovering {
            self.deferred_terminations.push(termination);
            return;
        }
        let Some((framework_id, executor_id)) = self.find_container(&termination.container_id)
        else {
            tracing::debug!(container = %termination.container_id, "exit of an unknown container");
            return;
        };
        tracing::info!(%executor_id, %framework_id, message = %termination.message, "executor terminated");
        self.stats.executors_terminated += 1;
        let Some(framework) = self.frameworks.get_mut(&framework_id) else { return };
        let framework_terminating = framework.terminating;
        let Some(executor) = framework.executors.get_mut(&executor_id) else { return };
        if executor.state == ExecutorState::Terminated {
            return;
        }
        executor.state = ExecutorState::Terminated;
        let sentinel = executor.checkpoint.then(|| CheckpointWrite::RunFile {
            run: Run {
                framework_id: framework_id.clone(),
                executor_id: executor_id.clone(),
                container_id: executor.container_id.clone(),
            },
            name: files::SENTINEL,
            text: String::new(),
        });
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
        }
        if let Some(write) = sentinel
            && self.info.id.is_some()
        {
            self.checkpoint(write);
        }
        if !framework_terminating {
            let termination = (pending, termination.message.as_str());
            self.fail_unfinished_tasks(&framework_id, &executor_id, unfinished, termination, now);
        }
        // Mesos: the master does not track command executors, so it is not told.
        if !command_executor {
            self.report_exited_executor(&framework_id, &executor_id, termination.status);
        }
        let terminating = self.registration.state() == AgentState::Terminating;
        let Some(framework) = self.frameworks.get(&framework_id) else { return };
        let remove = framework
            .executors
            .get(&executor_id)
            .is_some_and(|e| framework.terminating || !e.has_incomplete_tasks());
        if remove || terminating {
            self.remove_executor(&framework_id, &executor_id);
        }
        self.remove_framework_if_idle(&framework_id);
        self.terminate_if_done();
    }

    /// The unfinished tasks of an exited executor get the state the agent chose when
    /// it killed the executor, or TASK_FAILED.
    fn fail_unfinished_tasks(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        unfinished: Vec<TaskId>,
        (pending, exit): (Option<PendingTermination>, &str),
        now: Time,
    ) {
        for task_id in unfinished {
            let (state, reason, message) = match &pending {
                Some(p) if p.message.is_empty() => (p.state, p.reason, exit.into()),
                Some(p) => (p.state, p.reason, format!("{}; {exit}", p.message)),
                None => {
                    (TaskState::TaskFailed, task_status::Reason::ExecutorTerminated, exit.into())
                }
            };
            let details = UpdateDetails {
                source: Some(task_status::Source::Slave),
                reason: Some(reason),
                message: Some(message),
                executor_id: Some(executor_id.clone().into()),
            };
            self.agent_status_update(framework_id, &task_id, state, details, now);
            if let Some(executor) = self.executor_mut(framework_id, executor_id) {
                executor.queued_tasks.remove(&task_id);
            }
        }
    }

    /// Tells the master (if connected) that an executor exited.
    fn report_exited_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        status: Option<i32>,
    ) {
        if let (Some(master), Some(agent_id)) =
            (self.registration.master().cloned(), self.info.id.clone())
            && self.registration.state() == AgentState::Running
        {
            let message = ExitedExecutorMessage {
                slave_id: agent_id,
                framework_id: framework_id.into(),
                executor_id: executor_id.into(),
                status: status.unwrap_or(-1),
            };
            self.send(&master, Outgoing::ExitedExecutor(message));
        }
    }

    /// Moves a framework with nothing left here to the completed history.
    // Mesos: Slave::removeFramework.
    pub(crate) fn remove_framework_if_idle(&mut self, framework_id: &FrameworkId) {
        if self.frameworks.get(framework_id).is_some_and(|f| f.is_idle())
            && let Some(framework) = self.frameworks.remove(framework_id)
        {
            tracing::info!(%framework_id, "framework has no more work on this agent");
            self.updates.cleanup_framework(framework_id);
            self.garbage_collect_framework(framework_id, framework.checkpoint());
            self.completed_frameworks.push_back(framework);
            while self.completed_frameworks.len() > MAX_COMPLETED_FRAMEWORKS {
                self.completed_frameworks.pop_front();
            }
            self.update_drain_status();
        }
    }

    /// Kills a container: SIGTERM to its process group now, SIGKILL after the grace
    /// period if it is still there.
    pub(crate) fn destroy_container(&mut self, container_id: &ContainerId) {
        self.outbox
            .push(Output::Signal { container_id: container_id.clone(), signal: Signal::Term });
        let timer = Timer::KillGrace { container_id: container_id.clone() };
        self.timer(self.config.executor_shutdown_grace_period, timer);
    }

    /// Asks an executor to shut down; kills it if it has not exited after the grace
    /// period.
    // Mesos: Slave::shutdownExecutor, shutdownExecutorTimeout.
    pub(crate) fn shutdown_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
    ) {
        let Some(executor) = self.executor_mut(framework_id, executor_id) else { return };
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
                self.send(&pid, Outgoing::ShutdownExecutor(message));
                let grace = self.config.executor_shutdown_grace_period;
                self.timer(grace, Timer::ShutdownGrace { container_id });
            }
            None => self.destroy_container(&container_id),
        }
    }

    /// A launched executor did not register in time: kill it; its tasks fail.
    // Mesos: Slave::registerExecutorTimeout.
    pub(super) fn on_executor_registration_timeout(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        container_id: &ContainerId,
        _now: Time,
    ) {
        let timeout = self.config.executor_registration_timeout;
        let Some(executor) = self.executor_mut(framework_id, executor_id) else { return };
        if &executor.container_id != container_id || executor.state != ExecutorState::Registering {
            return;
        }
        tracing::warn!(%executor_id, "executor did not register in time; killing it");
        executor.state = ExecutorState::Terminating;
        executor.pending_termination = Some(PendingTermination {
            state: TaskState::TaskFailed,
            reason: task_status::Reason::ExecutorRegistrationTimeout,
            message: format!("Executor did not register within {timeout:?}"),
        });
        self.destroy_container(container_id);
    }

    /// The master removed a framework: kill its executors without further updates.
    // Mesos: Slave::shutdownFramework.
    pub fn on_shutdown_framework(&mut self, from: &Pid, message: ShutdownFrameworkMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring ShutdownFrameworkMessage from a process that is not our master");
            return;
        }
        self.shutdown_framework(&FrameworkId::from(&message.framework_id));
    }

    fn shutdown_framework(&mut self, framework_id: &FrameworkId) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        tracing::info!(%framework_id, "shutting down framework");
        framework.terminating = true;
        let executors: Vec<ExecutorId> = framework.executors.keys().cloned().collect();
        self.updates.cleanup_framework(framework_id);
        for executor_id in executors {
            self.shutdown_executor(framework_id, &executor_id);
        }
        self.remove_framework_if_idle(framework_id);
    }

    /// The master asks us to shut one executor down.
    pub fn on_shutdown_executor(&mut self, from: &Pid, message: ShutdownExecutorMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring ShutdownExecutorMessage from a process that is not our master");
            return;
        }
        if let (Some(framework_id), Some(executor_id)) =
            (&message.framework_id, &message.executor_id)
        {
            self.shutdown_executor(&framework_id.into(), &executor_id.into());
        }
    }

    /// Shuts the whole agent down: every framework, then the process itself.
    pub(crate) fn shutdown_agent(&mut self) {
        self.registration.become_terminating();
        let frameworks: Vec<FrameworkId> = self.frameworks.keys().cloned().collect();
        for framework_id in frameworks {
            self.shutdown_framework(&framework_id);
        }
        self.terminate_if_done();
    }

    /// While terminating, ends the process once no executor is left.
    pub(crate) fn terminate_if_done(&mut self) {
        if self.registration.state() == AgentState::Terminating
            && self.frameworks.values().all(|f| f.executors.is_empty())
        {
            tracing::info!("agent terminated");
            self.outbox.push(Output::Terminate);
        }
    }

    /// An HTTP executor subscribed (Mesos: slave.cpp `Slave::subscribe`): as a
    /// registration, a re-registration while recovering, or, for a running executor
    /// whose stream broke, a new pid for the same executor. Its unacknowledged updates
    /// go through the normal update path. Returns the executor's previous stream pid,
    /// which the actor closes (Mesos closes the old connection).
    pub fn on_executor_subscribe(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        pid: &Pid,
        tasks: Vec<mesos_proto::mesos::TaskInfo>,
        updates: Vec<mesos_proto::mesos::internal::StatusUpdate>,
        now: Time,
    ) -> Option<Pid> {
        let executor = self.executor_mut(framework_id, executor_id);
        let state = executor.as_ref().map(|e| e.state);
        let old = executor.and_then(|e| e.pid.take()).filter(super::is_http_executor);
        let (fid, eid) = (framework_id.clone().into(), executor_id.clone().into());
        match (self.registration.state(), state) {
            (AgentState::Recovering, _) => {
                let message = mesos_proto::mesos::internal::ReregisterExecutorMessage {
                    executor_id: eid,
                    framework_id: fid,
                    tasks,
                    updates,
                };
                self.on_reregister_executor(pid, message, now);
                return old;
            }
            (_, Some(ExecutorState::Running)) => {
                // Re-subscription after a broken stream: the same executor, a new pid.
                tracing::info!(%executor_id, %framework_id, "HTTP executor subscribed again");
                if let Some(executor) = self.executor_mut(framework_id, executor_id) {
                    executor.pid = Some(pid.clone());
                }
                let message = mesos_proto::mesos::internal::ExecutorReregisteredMessage {
                    slave_id: self.info.id.clone().unwrap_or_default(),
                    slave_info: self.info.clone(),
                };
                self.send(pid, Outgoing::ExecutorReregistered(message));
            }
            _ => {
                let message = mesos_proto::mesos::internal::RegisterExecutorMessage {
                    executor_id: eid,
                    framework_id: fid,
                };
                self.on_register_executor(pid, message);
            }
        }
        for update in updates {
            self.status_update(update, Some(pid.clone()), now);
        }
        old
    }

    /// An HTTP executor's stream closed: it is disconnected until it subscribes again.
    pub fn on_executor_disconnected(&mut self, pid: &Pid) {
        for executor in self.frameworks.values_mut().flat_map(|f| f.executors.values_mut()) {
            if executor.pid.as_ref() == Some(pid) {
                tracing::info!(executor_id = %executor.id(), "HTTP executor disconnected");
                executor.pid = None;
            }
        }
    }
}
