//! Status updates: executor -> agent (checkpoint, acknowledge) -> master (retried),
//! and the framework's acknowledgements coming back.
//!
//! Mesos: slave.cpp `Slave::statusUpdate`, `_statusUpdate`, `__statusUpdate`,
//! `forward`, `statusUpdateAcknowledgement`, `_statusUpdateAcknowledgement`. The
//! stream bookkeeping itself is [`crate::status_update::StatusUpdateManager`].

use libprocess::{Pid, Time};
use mesos_proto::ids::{ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::TaskState;
use mesos_proto::mesos::internal::{
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};

use super::{AgentCore, AgentState, CheckpointWrite, Outgoing, Output, Run, Timer};
use crate::state::ExecutorState;
use crate::status_update::Forward;
use crate::updates::{UpdateDetails, random_uuid, state_name, status_update};

impl AgentCore {
    /// An executor reports a task's new state.
    // Mesos: Slave::statusUpdate.
    pub fn on_status_update(&mut self, from: &Pid, message: StatusUpdateMessage, now: Time) {
        let mut update = message.update;
        if update.status.uuid.is_none() {
            update.status.uuid = update.uuid.clone();
        }
        let sender = message.pid.and_then(|p| p.parse::<Pid>().ok()).unwrap_or(from.clone());
        self.status_update(update, Some(sender), now);
    }

    /// Makes and handles an update of the agent's own (lost, killed, failed tasks).
    pub(crate) fn agent_status_update(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        details: UpdateDetails,
        now: Time,
    ) {
        let uuid = random_uuid(&mut self.rng);
        let agent_id = self.info.id.clone();
        let update = status_update(
            &framework_id.into(),
            agent_id.as_ref(),
            &task_id.into(),
            state,
            details,
            uuid,
            now,
        );
        self.status_update(update, None, now);
    }

    fn count_state(&mut self, state: i32) {
        match TaskState::try_from(state) {
            Ok(TaskState::TaskFinished) => self.stats.tasks_finished += 1,
            Ok(TaskState::TaskFailed) => self.stats.tasks_failed += 1,
            Ok(TaskState::TaskKilled) => self.stats.tasks_killed += 1,
            Ok(TaskState::TaskLost) => self.stats.tasks_lost += 1,
            _ => {}
        }
    }

    /// The common path of every update: bookkeeping, checkpoint, acknowledge the
    /// sender, forward. `sender` is the executor to acknowledge, if any.
    // Mesos: Slave::statusUpdate, _statusUpdate, __statusUpdate.
    pub(crate) fn status_update(
        &mut self,
        mut update: StatusUpdate,
        sender: Option<Pid>,
        now: Time,
    ) {
        if self.registration.state() == AgentState::Terminating && sender.is_some() {
            tracing::warn!("ignoring status update: the agent is terminating");
            return;
        }
        self.mark_draining(&mut update);
        let framework_id = FrameworkId::from(&update.framework_id);
        let task_id = TaskId::from(&update.status.task_id);
        tracing::info!(%task_id, %framework_id, state = %state_name(update.status.state), "status update");
        let Some(framework) = self.frameworks.get_mut(&framework_id) else {
            tracing::warn!(%framework_id, "ignoring status update for an unknown framework");
            self.stats.invalid_status_updates += 1;
            return;
        };
        let framework_checkpoints = framework.checkpoint();
        let executor_id = update
            .executor_id
            .as_ref()
            .map(ExecutorId::from)
            .filter(|id| framework.executors.contains_key(id))
            .or_else(|| framework.executor_id_of_task(&task_id));
        let mut run = None;
        if let Some(executor) = executor_id.as_ref().and_then(|id| framework.executors.get_mut(id))
        {
            executor.update_task_state(&update.status);
            // Mesos: Slave::_statusUpdate adds the container's status; its ContainerID
            // is what `mesos task exec` nests its session under.
            if update.status.container_status.is_none() {
                update.status.container_status = Some(mesos_proto::mesos::ContainerStatus {
                    container_id: Some((&executor.container_id).into()),
                    executor_pid: executor.os_pid,
                    ..Default::default()
                });
            }
            run = Some(Run {
                framework_id: framework_id.clone(),
                executor_id: executor.id(),
                container_id: executor.container_id.clone(),
            });
        }
        self.count_state(update.status.state);
        if let (Some(run), true) = (&run, update.status.state().is_terminal()) {
            self.refresh_limits(&framework_id, &run.executor_id);
        }
        let checkpoint = framework_checkpoints && run.is_some();
        let outcome = match self.updates.update(update.clone(), checkpoint, now) {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(%error, "status update not accepted; the executor will resend it");
                self.stats.invalid_status_updates += 1;
                return;
            }
        };
        self.stats.valid_status_updates += 1;
        let mark = self.outbox.len();
        if let Some(sender) = sender {
            let ack = StatusUpdateAcknowledgementMessage {
                slave_id: self.info.id.clone().unwrap_or_default(),
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: update.uuid.clone().unwrap_or_default(),
            };
            self.send(&sender, Outgoing::StatusUpdateAcknowledgement(ack));
        }
        if let Some(forward) = outcome.forward {
            self.forward(forward);
        }
        if let (Some(checkpoint), Some(run), true) =
            (outcome.checkpoint, run, self.info.id.is_some())
        {
            // The acknowledgement and the forward wait for the write.
            let then = self.outbox.split_off(mark);
            let write = CheckpointWrite::TaskUpdates { run, task_id, records: checkpoint.records };
            self.outbox.push(Output::CheckpointUpdates { write, then });
        }
    }

    /// Sends an update to the master and arms its resend check.
    // Mesos: Slave::forward.
    pub(crate) fn forward(&mut self, forward: Forward) {
        let Forward { update, retry_after } = forward;
        self.timer(retry_after, Timer::StatusUpdateRetry);
        if self.registration.state() != AgentState::Running {
            return;
        }
        let Some(master) = self.registration.master().cloned() else { return };
        let framework_id = FrameworkId::from(&update.framework_id);
        let task_id = TaskId::from(&update.status.task_id);
        if let Some(framework) = self.frameworks.get_mut(&framework_id)
            && let Some(executor_id) = framework.executor_id_of_task(&task_id)
            && let Some(task) = framework.executors.get_mut(&executor_id).and_then(|e| {
                e.launched_tasks.get_mut(&task_id).or_else(|| e.terminated_tasks.get_mut(&task_id))
            })
        {
            task.status_update_state = Some(update.status.state);
            task.status_update_uuid = update.uuid.clone();
        }
        let pid = self.pid.as_ref().map(ToString::to_string);
        self.send(&master, Outgoing::StatusUpdate(StatusUpdateMessage { update, pid }));
    }

    pub(super) fn on_status_update_timeout(&mut self, now: Time) {
        for forward in self.updates.on_timeout(now) {
            // Only the resend itself; its own check is armed by `forward`.
            self.forward(forward);
        }
    }

    /// The framework acknowledged an update (through the master): the next update of
    /// the task goes out; a terminal one completes the task.
    // Mesos: Slave::statusUpdateAcknowledgement, _statusUpdateAcknowledgement.
    pub fn on_status_update_acknowledgement(
        &mut self,
        from: &Pid,
        message: StatusUpdateAcknowledgementMessage,
        now: Time,
    ) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring acknowledgement from a process that is not our master");
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        let task_id = TaskId::from(&message.task_id);
        let outcome =
            match self.updates.acknowledgement(&framework_id, &task_id, &message.uuid, now) {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::warn!(%error, "ignoring acknowledgement");
                    return;
                }
            };
        let run = self.frameworks.get(&framework_id).and_then(|f| {
            let executor = f.executor_of_task(&task_id)?;
            Some(Run {
                framework_id: framework_id.clone(),
                executor_id: executor.id(),
                container_id: executor.container_id.clone(),
            })
        });
        if let (Some(checkpoint), Some(run), true) =
            (outcome.checkpoint, &run, self.info.id.is_some())
        {
            let write = CheckpointWrite::TaskUpdates {
                run: run.clone(),
                task_id: task_id.clone(),
                records: checkpoint.records,
            };
            self.checkpoint(write);
        }
        if let Some(forward) = outcome.forward {
            self.forward(forward);
        }
        if outcome.terminated
            && let Some(run) = run
        {
            self.on_task_completed(&framework_id, &run.executor_id, &task_id);
        }
    }

    /// A task's terminal update was acknowledged: it is done; so may its executor
    /// and framework be.
    // Mesos: Slave::completeTask, removeExecutor, removeFramework.
    fn on_task_completed(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        task_id: &TaskId,
    ) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let Some(executor) = framework.executors.get_mut(executor_id) else { return };
        executor.complete_task(task_id);
        let done = executor.state == ExecutorState::Terminated && !executor.has_incomplete_tasks();
        if done {
            self.remove_executor(framework_id, executor_id);
        }
        self.remove_framework_if_idle(framework_id);
    }
}
