//! Draining: the master's `DrainSlaveMessage` (an operator's DRAIN_AGENT) kills every
//! task on the agent, each within the drain's `max_grace_period`.
//!
//! The master stops offering a draining agent, so no new task arrives; once the last
//! task's terminal update is acknowledged the master calls the agent DRAINED (or marks
//! it gone). Mesos: slave.cpp `Slave::drain`. Not done here yet: the drain config is not
//! checkpointed (after an agent restart the master sends it again when the agent
//! re-registers, as Mesos's master does), and tasks that arrive anyway are not refused.

use libprocess::{Pid, Time};
use mesos_proto::mesos::internal::{DrainSlaveMessage, KillTaskMessage};
use mesos_proto::mesos::{self, KillPolicy};

use super::AgentCore;

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
        let max = message.config.max_grace_period;
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
            self.on_kill_task(from, kill, now);
        }
    }
}
