//! Draining: the master's `DrainSlaveMessage` (an operator's DRAIN_AGENT) kills every
//! task on the agent, each within the drain's `max_grace_period`.
//!
//! 1. The drain config is checkpointed (`meta/slaves/<id>/drain.config`) before any
//!    task is killed, unless the agent has no work at all (then draining is already
//!    complete and nothing is written, as in Mesos).
//! 2. While draining, new tasks and task groups are refused: each task gets
//!    `TASK_DROPPED` with reason `REASON_SLAVE_DRAINING`.
//! 3. When the last framework has left (every task ended and its updates were
//!    acknowledged), the checkpoint is removed and the agent accepts tasks again.
//! 4. An agent restarted while draining reads the checkpoint back and drains again once
//!    recovery ends (the master also resends the drain when the agent re-registers).
//!
//! Mesos: slave.cpp `Slave::drain`, `Slave::__run` (the draining check),
//! `Slave::updateDrainStatus`, `Slave::reregisterExecutorTimeout` (the replay).

use libprocess::{Pid, Time};
use mesos_proto::ids::{FrameworkId, TaskId};
use mesos_proto::mesos::framework_info::capability::Type as Capability;
use mesos_proto::mesos::internal::{DrainSlaveMessage, KillTaskMessage, StatusUpdate};
use mesos_proto::mesos::{self, KillPolicy, TaskState, task_status};

use super::{AgentCore, CheckpointWrite};
use crate::updates::UpdateDetails;

/// The kill policy of a drained task: the shorter of its own grace period and the
/// drain's maximum (Mesos: `Slave::drain`).
fn drain_policy(own: Option<&KillPolicy>, max: Option<&mesos::DurationInfo>) -> Option<KillPolicy> {
    let own = own.and_then(|p| p.grace_period);
    let grace_period = match (own, max.copied()) {
        (Some(own), Some(max)) if own.nanoseconds <= max.nanoseconds => Some(own),
        (_, Some(max)) => Some(max),
        (own, None) => own,
    };
    Some(KillPolicy { grace_period })
}

impl AgentCore {
    /// `DrainSlaveMessage`: kill every task, queued or launched, within the drain's
    /// grace period. Mesos: slave.cpp `Slave::drain`.
    pub fn on_drain(&mut self, from: &Pid, message: DrainSlaveMessage, now: Time) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring DrainSlaveMessage from a process that is not our master");
            return;
        }
        self.drain(message.config, now);
    }

    /// Starts (or restarts) a drain with `config`.
    fn drain(&mut self, config: mesos::DrainConfig, now: Time) {
        if self.frameworks.is_empty() && self.operations.is_empty() {
            tracing::info!(
                ?config,
                "asked to drain with no work here: draining is already complete"
            );
            return;
        }
        self.checkpoint(CheckpointWrite::DrainConfig(Some(config)));
        self.drain_config = Some(config);
        self.drain_start_time = Some(now);
        let max = config.max_grace_period;
        let mut kills = Vec::new();
        for (framework_id, framework) in &self.frameworks {
            for executor in framework.executors.values() {
                let queued = executor.queued_tasks.values().map(|t| {
                    (t.task_id.clone(), drain_policy(t.kill_policy.as_ref(), max.as_ref()))
                });
                let launched =
                    executor.launched_tasks.values().filter(|t| !t.state().is_terminal()).map(
                        |t| (t.task_id.clone(), drain_policy(t.kill_policy.as_ref(), max.as_ref())),
                    );
                for (task_id, kill_policy) in queued.chain(launched) {
                    kills.push(KillTaskMessage {
                        framework_id: framework_id.into(),
                        task_id,
                        kill_policy,
                    });
                }
            }
        }
        tracing::info!(tasks = kills.len(), ?max, "draining: killing every task");
        for kill in kills {
            self.kill_task(kill, now);
        }
    }

    /// Once recovery ends, a drain checkpointed before the restart goes on.
    pub(crate) fn replay_drain(&mut self, now: Time) {
        if let Some(config) = self.drain_config {
            tracing::info!(?config, "replaying the drain in progress before the restart");
            self.drain(config, now);
            self.update_drain_status();
        }
    }

    /// While draining, refuses the tasks of a RunTask(Group)Message: each is
    /// `TASK_DROPPED` (`REASON_SLAVE_DRAINING`). Returns true if it refused them.
    pub(crate) fn refuse_while_draining(
        &mut self,
        framework_id: &FrameworkId,
        task_ids: &[TaskId],
        now: Time,
    ) -> bool {
        if self.drain_config.is_none() {
            return false;
        }
        tracing::warn!(%framework_id, tasks = task_ids.len(), "refusing tasks: the agent is draining");
        for task_id in task_ids {
            let details = UpdateDetails {
                source: Some(task_status::Source::Slave),
                reason: Some(task_status::Reason::SlaveDraining),
                message: Some("Task was received while agent was already draining".into()),
                executor_id: None,
            };
            self.agent_status_update(framework_id, task_id, TaskState::TaskDropped, details, now);
        }
        self.remove_framework_if_idle(framework_id);
        true
    }

    /// The drain is over once no framework has work here and no operation awaits its
    /// acknowledgement: forget it (and its checkpoint). Called when a framework or an
    /// operation leaves. Mesos: slave.cpp `Slave::updateDrainStatus`.
    pub(crate) fn update_drain_status(&mut self) {
        if self.drain_config.is_none() || !self.frameworks.is_empty() || !self.operations.is_empty()
        {
            return;
        }
        tracing::info!("agent finished draining");
        self.drain_config = None;
        self.drain_start_time = None;
        self.checkpoint(CheckpointWrite::DrainConfig(None));
    }

    /// While draining, a task being killed or killed says why: reason
    /// `REASON_SLAVE_DRAINING`, and `TASK_GONE_BY_OPERATOR` instead of `TASK_KILLED`
    /// when the drain marks the agent gone and the framework is partition-aware.
    /// Mesos: slave.cpp `Slave::statusUpdate`.
    pub(crate) fn mark_draining(&self, update: &mut StatusUpdate) {
        let Some(config) = self.drain_config else { return };
        let state = update.status.state();
        if !matches!(state, TaskState::TaskKilling | TaskState::TaskKilled) {
            return;
        }
        update.status.set_reason(task_status::Reason::SlaveDraining);
        let partition_aware =
            self.frameworks.get(&FrameworkId::from(&update.framework_id)).is_some_and(|f| {
                f.info.capabilities.iter().any(|c| c.r#type() == Capability::PartitionAware)
            });
        if config.mark_gone == Some(true) && partition_aware {
            update.status.set_state(TaskState::TaskGoneByOperator);
        }
    }

    /// The drain in progress, if any.
    pub fn drain_config(&self) -> Option<&mesos::DrainConfig> {
        self.drain_config.as_ref()
    }

    /// When the drain in progress started (`estimated_drain_start_time`).
    pub fn drain_start_time(&self) -> Option<Time> {
        self.drain_config.and(self.drain_start_time)
    }
}
