//! Tasks after launch (launching is in `launch`): kill, status updates,
//! acknowledgements, reconciliation, executors and framework messages.
//!
//! Mesos: master.cpp `kill`, `statusUpdate`, `updateTask`,
//! `forward`, `acknowledge`, `reconcile`, `exitedExecutor`, `frameworkMessage`.

use libprocess::Time;
use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, scheduler, task_status};
use mesos_proto::resources::Resources;

use super::state::{AgentState, Framework};
use super::{AllocatorCall, MAX_COMPLETED_TASKS_PER_FRAMEWORK, MasterCore, MasterError, Outgoing};

/// Most statuses kept per task (the latest ones).
const MAX_STATUSES_PER_TASK: usize = 16;

impl MasterCore {
    /// KILL: ask the agent to kill a known task; for an unknown one answer at once with
    /// TASK_LOST (TASK_UNKNOWN for partition-aware frameworks), as Mesos does.
    pub(crate) fn on_kill(
        &mut self,
        framework_id: &FrameworkId,
        kill: scheduler::call::Kill,
        now: Time,
    ) -> Result<(), MasterError> {
        let task_id = TaskId::from(&kill.task_id);
        let Some(framework) = self.frameworks.get(framework_id) else {
            return Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() });
        };
        let Some(task) = framework.tasks.get(&task_id) else {
            let state = if framework.partition_aware() {
                mesos::TaskState::TaskUnknown
            } else {
                mesos::TaskState::TaskLost
            };
            let agent_id = kill.slave_id.as_ref().map(AgentId::from);
            let status = self.master_status(
                &task_id,
                state,
                task_status::Reason::Reconciliation,
                "Attempted to kill an unknown task",
                agent_id.as_ref(),
                now,
            );
            self.send_status_to_framework(framework_id, status, agent_id.as_ref(), now);
            return Ok(());
        };
        let agent_id = AgentId::from(&task.slave_id);
        let kill_policy = kill.kill_policy.or(task.kill_policy);
        let Some(agent) = self.agents.get(&agent_id) else { return Ok(()) };
        let message = internal::KillTaskMessage {
            framework_id: framework_id.into(),
            task_id: kill.task_id,
            kill_policy,
        };
        let to = agent.pid.clone();
        self.send(&to, Outgoing::KillTask(message));
        Ok(())
    }

    /// `StatusUpdateMessage` from an agent: record the task's new state, give back the
    /// resources of a terminal task, and forward the update to the framework (as it came,
    /// with the agent's own timestamps).
    pub fn on_status_update(
        &mut self,
        from: &libprocess::Pid,
        message: internal::StatusUpdateMessage,
    ) -> Result<(), MasterError> {
        let update = message.update;
        let Some(agent_id) = update.slave_id.as_ref().map(AgentId::from) else {
            self.stats.invalid_status_updates += 1;
            return Err(MasterError::InvalidCall {
                reason: "status update without agent id".into(),
            });
        };
        if let Err(error) = self.check_agent_owner(&agent_id, from) {
            self.stats.invalid_status_updates += 1;
            return Err(error);
        }
        let framework_id = FrameworkId::from(&update.framework_id);
        if !self.frameworks.contains_key(&framework_id) {
            self.stats.invalid_status_updates += 1;
            return Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() });
        }
        let task_id = TaskId::from(&update.status.task_id);
        let latest = update
            .latest_state
            .map(|s| mesos::TaskState::try_from(s).unwrap_or(mesos::TaskState::TaskLost));
        self.record_status(&framework_id, &task_id, &update.status, latest, update.uuid.clone());
        self.stats.valid_status_updates += 1;
        // The agent's own update goes on as it came (Mesos: master.cpp `Master::forward`),
        // with the agent's pid so that old drivers can acknowledge it directly.
        let agent_pid = self.agents.get(&agent_id).map(|a| a.pid.to_string());
        if self.timeline_follows(&framework_id) {
            tracing::debug!(target: crate::TIMELINE, %framework_id, %agent_id, state = ?update.status.state(), "status update received: forwarded");
        }
        self.deliver_update(&framework_id, update, agent_pid);
        Ok(())
    }

    /// Updates the master's copy of a task from a status, releasing its resources when it
    /// becomes terminal.
    fn record_status(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        status: &mesos::TaskStatus,
        latest: Option<mesos::TaskState>,
        uuid: Option<Vec<u8>>,
    ) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let Some(task) = framework.tasks.get_mut(task_id) else { return };
        let was_terminal = task.state().is_terminal();
        let new_state = latest.unwrap_or(status.state());
        if !was_terminal {
            task.state = new_state as i32;
        }
        task.status_update_state = Some(status.state);
        task.status_update_uuid = uuid;
        let mut stored = status.clone();
        stored.data = None;
        task.statuses.push(stored);
        if task.statuses.len() > MAX_STATUSES_PER_TASK {
            task.statuses.remove(0);
        }
        let current = task.state();
        // Only the operator API's subscribers read it: without them, no copy of the status
        // (as for `TaskAdded`, see `MasterCore::task_added`).
        if self.task_events {
            self.event(super::MasterEvent::TaskUpdated {
                framework_id: framework_id.clone(),
                status: Box::new(status.clone()),
                state: current,
            });
        }
        let Some(task) = self.frameworks.get(framework_id).and_then(|f| f.tasks.get(task_id))
        else {
            return;
        };
        if !was_terminal && new_state.is_terminal() {
            let agent_id = AgentId::from(&task.slave_id);
            // Validated at launch; resources that do not parse (a task rebuilt from an
            // agent's report) give back nothing: `add_protos` adds nothing then.
            let mut resources = Resources::new();
            if let Err(error) = resources.add_protos(&task.resources) {
                tracing::debug!(%task_id, %error, "a finished task's resources did not parse");
            }
            self.count_terminal(new_state);
            self.release_task_resources(framework_id, &agent_id, &resources);
        }
    }

    fn count_terminal(&mut self, state: mesos::TaskState) {
        use mesos::TaskState::*;
        match state {
            TaskFinished => self.stats.tasks_finished += 1,
            TaskFailed => self.stats.tasks_failed += 1,
            TaskKilled => self.stats.tasks_killed += 1,
            TaskLost => self.stats.tasks_lost += 1,
            TaskError => self.stats.tasks_error += 1,
            TaskDropped => self.stats.tasks_dropped += 1,
            TaskGone | TaskGoneByOperator => self.stats.tasks_gone += 1,
            _ => {}
        }
    }

    fn release_task_resources(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        resources: &Resources,
    ) {
        if let Some(agent) = self.agents.get_mut(agent_id)
            && let Some(used) = agent.used.get_mut(framework_id)
        {
            if used.contains(resources) {
                *used -= resources;
            }
            self.allocator(AllocatorCall::Recover {
                framework_id: framework_id.clone(),
                agent_id: agent_id.clone(),
                resources: resources.clone(),
                refuse_seconds: None,
            });
        }
    }

    /// The master itself moves a task to `state` (agent removed, framework removed, ...)
    /// and tells the framework.
    pub(crate) fn transition_task_by_master(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: mesos::TaskState,
        reason: task_status::Reason,
        message: &str,
        now: Time,
    ) {
        self.update_task_state(framework_id, task_id, state, now, Some(reason), message);
    }

    pub(crate) fn update_task_state(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: mesos::TaskState,
        now: Time,
        reason: Option<task_status::Reason>,
        message: &str,
    ) {
        let Some(agent_id) = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(task_id))
            .map(|t| AgentId::from(&t.slave_id))
        else {
            return;
        };
        let reason = reason.unwrap_or(task_status::Reason::Reconciliation);
        let status = self.master_status(task_id, state, reason, message, Some(&agent_id), now);
        self.record_status(framework_id, task_id, &status, None, None);
        self.send_status_to_framework(framework_id, status, Some(&agent_id), now);
    }

    /// A status made by the master (source MASTER).
    pub(crate) fn master_status(
        &self,
        task_id: &TaskId,
        state: mesos::TaskState,
        reason: task_status::Reason,
        message: &str,
        agent_id: Option<&AgentId>,
        now: Time,
    ) -> mesos::TaskStatus {
        mesos::TaskStatus {
            task_id: task_id.into(),
            state: state as i32,
            message: Some(message.to_string()),
            source: Some(task_status::Source::Master as i32),
            reason: Some(reason as i32),
            slave_id: agent_id.map(Into::into),
            timestamp: Some(now.secs_f64()),
            ..Default::default()
        }
    }

    /// Sends a status to the framework without a uuid (no acknowledgement expected).
    fn send_status_to_framework(
        &mut self,
        framework_id: &FrameworkId,
        status: mesos::TaskStatus,
        agent_id: Option<&AgentId>,
        now: Time,
    ) {
        let update = internal::StatusUpdate {
            framework_id: framework_id.into(),
            executor_id: None,
            slave_id: agent_id.map(Into::into),
            timestamp: status.timestamp.unwrap_or(now.secs_f64()),
            status,
            uuid: None,
            latest_state: None,
        };
        self.deliver_update(framework_id, update, None);
    }

    /// Forwards an update to the framework (with the agent's pid, so old drivers can ack
    /// it directly). `update` is the agent's original; `None` builds one from `status`.
    pub(crate) fn forward_update(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        status: mesos::TaskStatus,
        update: Option<internal::StatusUpdate>,
        now: Time,
    ) {
        let Some(update) = update else {
            self.send_status_to_framework(framework_id, status, Some(agent_id), now);
            return;
        };
        let agent_pid = self.agents.get(agent_id).map(|a| a.pid.to_string());
        self.deliver_update(framework_id, update, agent_pid);
    }

    fn deliver_update(
        &mut self,
        framework_id: &FrameworkId,
        update: internal::StatusUpdate,
        pid: Option<String>,
    ) {
        let Some(framework) = self.frameworks.get(framework_id).filter(|f| f.active()) else {
            return;
        };
        let Some(to) = framework.pid.clone() else { return };
        self.send(&to, Outgoing::StatusUpdate(internal::StatusUpdateMessage { update, pid }));
    }

    /// Moves a task to the framework's completed tasks and out of its agent.
    pub(crate) fn remove_task(&mut self, framework_id: &FrameworkId, task_id: &TaskId) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let Some(task) = framework.tasks.remove(task_id) else { return };
        let agent_id = AgentId::from(&task.slave_id);
        if !task.state().is_terminal() {
            let resources = Resources::from_protos(task.resources.clone()).unwrap_or_default();
            if let Some(agent) = self.agents.get_mut(&agent_id)
                && let Some(used) = agent.used.get_mut(framework_id)
                && used.contains(&resources)
            {
                *used -= &resources;
            }
        }
        // Present: the `let else` at the top returned if not; only agents changed since.
        let framework = self.frameworks.get_mut(framework_id).expect("present above");
        framework.completed_tasks.push_back(std::sync::Arc::new(task));
        while framework.completed_tasks.len() > MAX_COMPLETED_TASKS_PER_FRAMEWORK {
            framework.completed_tasks.pop_front();
        }
        if let Some(agent) = self.agents.get_mut(&agent_id)
            && let Some(tasks) = agent.tasks.get_mut(framework_id)
        {
            tasks.remove(task_id);
            if tasks.is_empty() {
                agent.tasks.remove(framework_id);
            }
        }
    }

    /// ACKNOWLEDGE: forward to the agent; a terminal task whose last update is acknowledged
    /// is done.
    pub(crate) fn on_acknowledge(
        &mut self,
        framework_id: &FrameworkId,
        ack: scheduler::call::Acknowledge,
        now: Time,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&ack.slave_id);
        let task_id = TaskId::from(&ack.task_id);
        let Some(agent) = self.agents.get(&agent_id) else {
            return Err(MasterError::UnknownAgent { agent_id: agent_id.to_string() });
        };
        let to = agent.pid.clone();
        let done =
            self.frameworks.get(framework_id).and_then(|f| f.tasks.get(&task_id)).is_some_and(
                |t| {
                    t.status_update_uuid.as_deref() == Some(ack.uuid.as_slice())
                        && t.status_update_state
                            .and_then(|s| mesos::TaskState::try_from(s).ok())
                            .is_some_and(mesos::TaskState::is_terminal)
                },
            );
        if done {
            self.remove_task(framework_id, &task_id);
            self.check_drained(&agent_id, now);
        }
        let message = internal::StatusUpdateAcknowledgementMessage {
            slave_id: ack.slave_id,
            framework_id: framework_id.into(),
            task_id: ack.task_id,
            uuid: ack.uuid,
        };
        self.send(&to, Outgoing::StatusUpdateAcknowledgement(message));
        Ok(())
    }

    /// RECONCILE: implicit (no tasks: every task's latest state) or explicit (the six
    /// cases of Mesos's `Master::reconcile`).
    pub(crate) fn on_reconcile(
        &mut self,
        framework_id: &FrameworkId,
        reconcile: scheduler::call::Reconcile,
        now: Time,
    ) -> Result<(), MasterError> {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() });
        };
        let statuses = if reconcile.tasks.is_empty() {
            self.reconcile_implicit(framework, now)
        } else {
            reconcile.tasks.iter().map(|query| self.reconcile_task(framework, query, now)).collect()
        };
        for status in statuses {
            let agent_id = status.slave_id.as_ref().map(AgentId::from);
            self.send_status_to_framework(framework_id, status, agent_id.as_ref(), now);
        }
        Ok(())
    }

    /// Implicit reconciliation: the latest state of every task the master knows.
    fn reconcile_implicit(&self, framework: &Framework, now: Time) -> Vec<mesos::TaskStatus> {
        let mut statuses = Vec::new();
        for task in framework.tasks.values() {
            let mut status = self.master_status(
                &TaskId::from(&task.task_id),
                latest_task_state(task),
                task_status::Reason::Reconciliation,
                "Reconciliation: Latest task state",
                Some(&AgentId::from(&task.slave_id)),
                now,
            );
            status.executor_id = task.executor_id.clone();
            statuses.push(status);
        }
        statuses
    }

    /// Explicit reconciliation of one task: its latest state if known; otherwise what the
    /// master can say from the agent it names (known, unreachable, or unknown).
    fn reconcile_task(
        &self,
        framework: &Framework,
        query: &scheduler::call::reconcile::Task,
        now: Time,
    ) -> mesos::TaskStatus {
        let partition_aware = framework.partition_aware();
        let lost_unless_aware =
            |state| if partition_aware { state } else { mesos::TaskState::TaskLost };
        let task_id = TaskId::from(&query.task_id);
        let agent_id = query.slave_id.as_ref().map(AgentId::from);
        let (state, message, agent) = match framework.tasks.get(&task_id) {
            Some(task) => (
                latest_task_state(task),
                "Reconciliation: Latest task state",
                Some(AgentId::from(&task.slave_id)),
            ),
            None => match &agent_id {
                Some(a) if self.agents.contains_key(a) => (
                    lost_unless_aware(mesos::TaskState::TaskGone),
                    "Reconciliation: Task is unknown to the agent",
                    agent_id.clone(),
                ),
                Some(a) if self.unreachable.contains_key(a) => (
                    lost_unless_aware(mesos::TaskState::TaskUnreachable),
                    "Reconciliation: Task is unreachable",
                    agent_id.clone(),
                ),
                _ => (
                    lost_unless_aware(mesos::TaskState::TaskUnknown),
                    "Reconciliation: Task is unknown",
                    agent_id.clone(),
                ),
            },
        };
        let reason = task_status::Reason::Reconciliation;
        self.master_status(&task_id, state, reason, message, agent.as_ref(), now)
    }

    /// MESSAGE: framework to executor, through the agent.
    pub(crate) fn on_framework_message(
        &mut self,
        framework_id: &FrameworkId,
        message: scheduler::call::Message,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&message.slave_id);
        let Some(agent) = self.agents.get(&agent_id).filter(|a| a.state == AgentState::Active)
        else {
            self.stats.invalid_framework_to_executor_messages += 1;
            return Err(MasterError::UnknownAgent { agent_id: agent_id.to_string() });
        };
        let to = agent.pid.clone();
        self.stats.valid_framework_to_executor_messages += 1;
        let forward = internal::FrameworkToExecutorMessage {
            slave_id: message.slave_id,
            framework_id: framework_id.into(),
            executor_id: message.executor_id,
            data: message.data,
        };
        self.send(&to, Outgoing::FrameworkToExecutor(forward));
        Ok(())
    }

    /// SHUTDOWN: ask an agent to shut an executor down.
    pub(crate) fn on_shutdown_executor(
        &mut self,
        framework_id: &FrameworkId,
        shutdown: scheduler::call::Shutdown,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&shutdown.slave_id);
        let Some(agent) = self.agents.get(&agent_id) else {
            return Err(MasterError::UnknownAgent { agent_id: agent_id.to_string() });
        };
        let to = agent.pid.clone();
        let message = internal::ShutdownExecutorMessage {
            executor_id: Some(shutdown.executor_id),
            framework_id: Some(framework_id.into()),
        };
        self.send(&to, Outgoing::ShutdownExecutor(message));
        Ok(())
    }

    /// `ExitedExecutorMessage` from an agent: the executor's resources come back and the
    /// framework is told.
    pub fn on_exited_executor(
        &mut self,
        from: &libprocess::Pid,
        message: internal::ExitedExecutorMessage,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&message.slave_id);
        self.check_agent_owner(&agent_id, from)?;
        let framework_id = FrameworkId::from(&message.framework_id);
        let executor_id = ExecutorId::from(&message.executor_id);
        let removed = self
            .agents
            .get_mut(&agent_id)
            .and_then(|a| a.executors.get_mut(&framework_id))
            .and_then(|executors| executors.remove(&executor_id));
        if let Some(framework) = self.frameworks.get_mut(&framework_id)
            && let Some(executors) = framework.executors.get_mut(&agent_id)
        {
            executors.remove(&executor_id);
        }
        if let Some(executor) = removed {
            let mut resources = Resources::from_protos(executor.resources).unwrap_or_default();
            if let Some(role) = self
                .frameworks
                .get(&framework_id)
                .filter(|f| f.roles.len() == 1)
                .and_then(|f| f.roles.iter().next().cloned())
            {
                let mut plain = resources.clone();
                plain.unallocate();
                if plain == resources {
                    resources.allocate(&role);
                }
            }
            self.release_task_resources(&framework_id, &agent_id, &resources);
        }
        if let Some(pid) = self.frameworks.get(&framework_id).and_then(Framework::active_pid) {
            self.send(&pid, Outgoing::ExitedExecutor(message));
        }
        Ok(())
    }

    /// `ExecutorToFrameworkMessage` from an agent: forward to the scheduler.
    pub fn on_executor_to_framework(
        &mut self,
        from: &libprocess::Pid,
        message: internal::ExecutorToFrameworkMessage,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&message.slave_id);
        self.check_agent_owner(&agent_id, from)?;
        let framework_id = FrameworkId::from(&message.framework_id);
        match self.frameworks.get(&framework_id).and_then(Framework::active_pid) {
            Some(pid) => {
                self.send(&pid, Outgoing::ExecutorToFramework(message));
                Ok(())
            }
            None => {
                self.stats.dropped_messages += 1;
                Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() })
            }
        }
    }
}

/// The state of the task's latest status update (what reconciliation reports), or its
/// current state when no update has been recorded yet.
fn latest_task_state(task: &mesos::Task) -> mesos::TaskState {
    task.status_update_state
        .and_then(|s| mesos::TaskState::try_from(s).ok())
        .unwrap_or(task.state())
}
