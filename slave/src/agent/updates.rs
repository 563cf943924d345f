//! Status updates: executor -> agent (checkpoint, acknowledge) -> master (retried)
//! and the framework's acknowledgements coming back.

use libprocess::{Context, Pid};
use mesos_proto::ids::{ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::TaskState;
use mesos_proto::mesos::internal::{
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};

use super::Agent;
use crate::protobuf::{UpdateDetails, random_uuid, state_name, status_update};
use crate::registration::AgentState;
use crate::state::ExecutorState;
use crate::status_update::Forward;

impl Agent {
    /// An executor reports a task's new state.
    // Mesos: Slave::statusUpdate.
    pub(super) fn on_status_update(
        &mut self,
        from: Pid,
        message: StatusUpdateMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        let mut update = message.update;
        if update.status.uuid.is_none() {
            update.status.uuid = update.uuid.clone();
        }
        let sender = message.pid.and_then(|p| p.parse::<Pid>().ok()).unwrap_or(from);
        self.status_update(update, Some(sender), ctx);
    }

    /// Makes and handles an update of the agent's own (lost, killed, failed tasks).
    pub(super) fn agent_status_update(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        details: UpdateDetails,
        ctx: &mut Context<'_, Self>,
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
            ctx.now(),
        );
        self.status_update(update, None, ctx);
    }

    /// The common path of every update: bookkeeping, checkpoint, acknowledge the
    /// sender, forward. `sender` is the executor to acknowledge, if any.
    // Mesos: Slave::statusUpdate, _statusUpdate, __statusUpdate.
    pub(super) fn status_update(
        &mut self,
        update: StatusUpdate,
        sender: Option<Pid>,
        ctx: &mut Context<'_, Self>,
    ) {
        if self.registration.state() == AgentState::Terminating && sender.is_some() {
            tracing::warn!("ignoring status update: the agent is terminating");
            return;
        }
        let framework_id = FrameworkId::from(&update.framework_id);
        let task_id = TaskId::from(&update.status.task_id);
        tracing::info!(%task_id, %framework_id, state = %state_name(update.status.state), "status update");
        let Some(framework) = self.frameworks.get_mut(&framework_id) else {
            tracing::warn!(%framework_id, "ignoring status update for an unknown framework");
            self.metrics.invalid_status_updates.inc();
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
            run = Some((executor.id(), executor.container_id.clone()));
        }
        self.metrics.count_state(update.status.state);
        let checkpoint = framework_checkpoints && run.is_some();
        let outcome = match self.updates.update(update.clone(), checkpoint, ctx.now()) {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(%error, "status update not accepted; the executor will resend it");
                self.metrics.invalid_status_updates.inc();
                return;
            }
        };
        self.metrics.valid_status_updates.inc();
        if let (Some(checkpoint), Some((executor_id, container_id)), Some(cp)) =
            (&outcome.checkpoint, &run, self.checkpointer())
        {
            let files = (framework_id.as_str(), executor_id.as_str(), container_id.value());
            if let Err(error) = cp.task_updates(files, task_id.as_str(), &checkpoint.records) {
                // Not acknowledging lets the executor resend it after we recover.
                tracing::error!(%error, "cannot checkpoint the status update; not acknowledging it");
                return;
            }
        }
        if let Some(sender) = sender {
            let ack = StatusUpdateAcknowledgementMessage {
                slave_id: self.info.id.clone().unwrap_or_default(),
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: update.uuid.clone().unwrap_or_default(),
            };
            self.send_executor(&sender, ack, ctx);
        }
        if let Some(forward) = outcome.forward {
            self.forward(forward, ctx);
        }
    }

    /// Sends an update to the master and arms its resend check.
    // Mesos: Slave::forward.
    pub(super) fn forward(&mut self, forward: Forward, ctx: &mut Context<'_, Self>) {
        let Forward { update, retry_after } = forward;
        ctx.delay(retry_after, |agent, ctx| agent.on_status_update_timeout(ctx));
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
        let message = StatusUpdateMessage { update, pid: Some(ctx.pid().to_string()) };
        ctx.send(&master, message);
    }

    fn on_status_update_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        for forward in self.updates.on_timeout(ctx.now()) {
            // Only the resend itself; its own check is armed by `forward`.
            self.forward(forward, ctx);
        }
    }

    /// The framework acknowledged an update (through the master).
    // Mesos: Slave::statusUpdateAcknowledgement, _statusUpdateAcknowledgement.
    pub(super) fn on_status_update_acknowledgement(
        &mut self,
        from: Pid,
        message: StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring acknowledgement from a process that is not our master");
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        let task_id = TaskId::from(&message.task_id);
        let outcome =
            match self.updates.acknowledgement(&framework_id, &task_id, &message.uuid, ctx.now()) {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::warn!(%error, "ignoring acknowledgement");
                    return;
                }
            };
        let run = self.frameworks.get(&framework_id).and_then(|f| {
            let executor = f.executor_of_task(&task_id)?;
            Some((executor.id(), executor.container_id.clone()))
        });
        if let (Some(checkpoint), Some((executor_id, container_id)), Some(cp)) =
            (&outcome.checkpoint, &run, self.checkpointer())
        {
            let files = (framework_id.as_str(), executor_id.as_str(), container_id.value());
            if let Err(error) = cp.task_updates(files, task_id.as_str(), &checkpoint.records) {
                tracing::error!(%error, "cannot checkpoint the acknowledgement");
            }
        }
        if let Some(forward) = outcome.forward {
            self.forward(forward, ctx);
        }
        if outcome.terminated
            && let Some((executor_id, _)) = run
        {
            self.on_task_completed(&framework_id, &executor_id, &task_id);
        }
    }

    /// A task's terminal update was acknowledged: it is done; so may its executor
    /// and framework be.
    fn on_task_completed(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        task_id: &TaskId,
    ) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let Some(executor) = framework.executors.get_mut(executor_id) else { return };
        executor.complete_task(task_id);
        if executor.state == ExecutorState::Terminated && !executor.has_incomplete_tasks() {
            framework.remove_executor(executor_id);
        }
        self.remove_framework_if_idle(framework_id);
    }
}
