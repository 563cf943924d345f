//! Registering with the master, answering pings, losing the master, shutting down.
//!
//! Mesos: slave.cpp `Slave::detected`, `doReliableRegistration`, `registered`,
//! `reregistered`, `ping`, `pingTimeout`, `shutdown`, `updateFramework`.

use libprocess::{Pid, Time};
use mesos_proto::extensions::NewMasterDetectedMessage;
use mesos_proto::ids::{FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage, UpdateFrameworkMessage,
};
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, TaskState, slave_info, task_status};

use super::{AgentCore, AgentState, CheckpointWrite, Outgoing, Output, Timer};
use crate::updates::UpdateDetails;

/// The Mesos version this agent speaks.
pub const MESOS_VERSION: &str = "1.11.0";

fn capabilities() -> Vec<slave_info::Capability> {
    use slave_info::capability::Type;
    // RESOURCE_PROVIDER + AGENT_OPERATION_FEEDBACK: operations with an id come as
    // `ApplyOperationMessage` and are answered reliably (core/operations.rs); no
    // resource provider runs here, as on a Mesos agent without any.
    // RESIZE_VOLUME: growing or shrinking a volume changes only its size in the
    // checkpointed resources; the folder stays (no disk quota is enforced here).
    [
        Type::MultiRole,
        Type::HierarchicalRole,
        Type::ReservationRefinement,
        Type::ResizeVolume,
        Type::AgentDraining,
        Type::ResourceProvider,
        Type::AgentOperationFeedback,
    ]
    .into_iter()
    .map(|t| slave_info::Capability { r#type: Some(t as i32) })
    .collect()
}

impl AgentCore {
    /// Recovery is over (or the master was lost): register again, with backoff.
    // Mesos: Slave::detected.
    pub(crate) fn become_disconnected(&mut self) {
        self.updates.pause();
        // Mesos authenticates again with every newly detected master.
        self.authenticated_with = None;
        self.authenticating = None;
        let delay = self.registration.become_disconnected(&mut self.rng);
        let epoch = self.registration.epoch();
        self.timer(delay, Timer::Registration { epoch });
    }

    /// Sends one (re-)registration and schedules the next.
    // Mesos: Slave::doReliableRegistration.
    pub(super) fn on_registration_timer(&mut self, epoch: u64) {
        if epoch != self.registration.epoch() {
            return;
        }
        let Some(attempt) = self.registration.next_attempt(&mut self.rng) else { return };
        self.outbox.push(Output::Link(attempt.master.clone()));
        if self.authenticate_first(&attempt.master) {
            self.authentication_retry(attempt.retry_after, epoch);
            return;
        }
        self.send_registration(&attempt.master);
        self.timer(attempt.retry_after, Timer::Registration { epoch });
    }

    /// Sends a registration (or re-registration, once the agent has an id) to `master`.
    pub(super) fn send_registration(&mut self, master: &Pid) {
        let message = if self.info.id.is_none() {
            tracing::info!(%master, "registering with master");
            Outgoing::RegisterSlave(RegisterSlaveMessage {
                slave: self.info.clone(),
                version: Some(MESOS_VERSION.into()),
                agent_capabilities: capabilities(),
                checkpointed_resources: self.checkpointed.to_protos(),
                ..RegisterSlaveMessage::default()
            })
        } else {
            tracing::info!(%master, "re-registering with master");
            Outgoing::ReregisterSlave(self.reregister_message())
        };
        self.send(master, message);
    }

    /// Everything the master must learn about us when we come back.
    pub(crate) fn reregister_message(&self) -> ReregisterSlaveMessage {
        let mut tasks = Vec::new();
        let mut executor_infos: Vec<ExecutorInfo> = Vec::new();
        let mut frameworks: Vec<FrameworkInfo> = Vec::new();
        for (framework_id, framework) in &self.frameworks {
            frameworks.push(framework.info.clone());
            for executor in framework.executors.values() {
                tasks.extend(executor.reportable_tasks(framework_id));
                if !executor.command_executor {
                    executor_infos.push(executor.info.clone());
                }
            }
        }
        ReregisterSlaveMessage {
            slave: self.info.clone(),
            executor_infos,
            tasks,
            frameworks,
            version: Some(MESOS_VERSION.into()),
            agent_capabilities: capabilities(),
            checkpointed_resources: self.checkpointed.to_protos(),
            ..ReregisterSlaveMessage::default()
        }
    }

    /// The master accepted a new agent and gave it an id.
    // Mesos: Slave::registered.
    pub fn on_slave_registered(&mut self, from: &Pid, message: SlaveRegisteredMessage, now: Time) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring registration from a process that is not a configured master");
            return;
        }
        let state = self.registration.state();
        if state != AgentState::Disconnected {
            tracing::warn!(state = state.name(), "ignoring registration: not disconnected");
            return;
        }
        if self.info.id.is_none() {
            self.info.id = Some(message.slave_id.clone());
            self.checkpoint(CheckpointWrite::AgentInfo(Box::new(self.info.clone())));
        } else if self.info.id.as_ref() != Some(&message.slave_id) {
            tracing::error!(got = %message.slave_id.value, "registered with a different agent id; ignoring");
            return;
        }
        tracing::info!(agent_id = %message.slave_id.value, master = %from, "registered with master");
        let timeout = message.connection.and_then(|c| c.total_ping_timeout_seconds);
        self.become_running(from, timeout, now);
    }

    /// The master accepted us back.
    // Mesos: Slave::reregistered.
    pub fn on_slave_reregistered(
        &mut self,
        from: &Pid,
        message: SlaveReregisteredMessage,
        now: Time,
    ) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring re-registration from a process that is not a configured master");
            return;
        }
        if self.info.id.as_ref() != Some(&message.slave_id) {
            tracing::error!(got = %message.slave_id.value, "re-registered with a different agent id; ignoring");
            return;
        }
        if self.registration.state() != AgentState::Disconnected {
            tracing::warn!(
                state = self.registration.state().name(),
                "ignoring re-registration: not disconnected"
            );
            return;
        }
        tracing::info!(master = %from, "re-registered with master");
        let timeout = message.connection.and_then(|c| c.total_ping_timeout_seconds);
        self.become_running(from, timeout, now);
        // Tasks the master thinks we run but we do not know: tell it they are lost.
        for reconcile in message.reconciliations {
            let framework_id = FrameworkId::from(&reconcile.framework_id);
            for status in reconcile.statuses {
                let task_id = TaskId::from(&status.task_id);
                let known = self
                    .frameworks
                    .get(&framework_id)
                    .is_some_and(|f| f.executor_of_task(&task_id).is_some());
                if !known && !self.updates.has_stream(&framework_id, &task_id) {
                    let details = UpdateDetails {
                        source: Some(task_status::Source::Slave),
                        reason: Some(task_status::Reason::Reconciliation),
                        message: Some("Reconciliation: task unknown to the agent".into()),
                        executor_id: None,
                    };
                    self.agent_status_update(
                        &framework_id,
                        &task_id,
                        TaskState::TaskLost,
                        details,
                        now,
                    );
                }
            }
        }
    }

    fn become_running(&mut self, master: &Pid, ping_timeout_secs: Option<f64>, now: Time) {
        // Validated: a value from the network never panics (huge, negative or NaN).
        let timeout = super::registration::announced_ping_timeout(ping_timeout_secs);
        self.registration.become_running(master.clone(), timeout);
        self.arm_ping_timer();
        for forward in self.updates.resume(now) {
            self.forward(forward);
        }
        self.report_operations();
    }

    fn arm_ping_timer(&mut self) {
        self.ping_seq += 1;
        let (epoch, seq) = (self.registration.epoch(), self.ping_seq);
        self.timer(self.registration.ping_timeout(), Timer::PingTimeout { epoch, seq });
    }

    /// The master checks we are alive.
    // Mesos: Slave::ping.
    pub fn on_ping_slave(&mut self, from: &Pid, message: PingSlaveMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring ping from a process that is not our master");
            return;
        }
        self.send(from, Outgoing::PongSlave(PongSlaveMessage {}));
        match self.registration.state() {
            AgentState::Running if !message.connected => {
                tracing::info!("master considers us disconnected; re-registering");
                self.become_disconnected();
            }
            AgentState::Running => self.arm_ping_timer(),
            _ => {}
        }
    }

    // Mesos: Slave::pingTimeout.
    pub(super) fn on_ping_timeout(&mut self, epoch: u64, seq: u64, _now: Time) {
        if epoch == self.registration.epoch()
            && seq == self.ping_seq
            && self.registration.state() == AgentState::Running
        {
            tracing::warn!(timeout = ?self.registration.ping_timeout(), "no ping from the master; re-registering");
            self.become_disconnected();
        }
    }

    /// A configured master says which one leads: register there (at once, if we are
    /// registering, registered with a deposed master, or registered with a master that
    /// announces a new term of its own).
    pub fn on_new_master_detected(&mut self, from: &Pid, message: NewMasterDetectedMessage) {
        if !self.registration.masters().contains(from) {
            tracing::warn!(%from, "ignoring a leader announcement from a process that is not one of our masters");
            return;
        }
        let Ok(leader) = message.pid.parse::<Pid>() else {
            tracing::warn!(%from, pid = %message.pid, "ignoring a leader announcement with a malformed pid");
            return;
        };
        if self.registration.on_leader_detected(&leader, *from == leader) {
            tracing::info!(%leader, "the leading master is elsewhere; registering with it");
            self.become_disconnected();
        }
    }

    /// A linked process went away: if it is our master, register again.
    pub fn on_link_exited(&mut self, pid: &Pid) {
        if self.registration.state() == AgentState::Running
            && self.registration.master() == Some(pid)
        {
            tracing::warn!(master = %pid, "lost the connection to the master; re-registering");
            self.become_disconnected();
        } else {
            tracing::debug!(%pid, "linked process exited");
        }
    }

    /// The master tells us to shut down (e.g. we were removed).
    // Mesos: Slave::shutdown.
    pub fn on_shutdown(&mut self, from: &Pid, message: ShutdownMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring shutdown from a process that is not our master");
            return;
        }
        tracing::warn!(
            reason = message.message.as_deref().unwrap_or(""),
            "master asked the agent to shut down"
        );
        self.shutdown_agent();
    }

    /// A framework's scheduler moved (failover): send to its new pid.
    // Mesos: Slave::updateFramework.
    pub fn on_update_framework(&mut self, from: &Pid, message: UpdateFrameworkMessage) {
        if !self.registration.is_master(from) {
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        let Some(framework) = self.frameworks.get_mut(&framework_id) else { return };
        framework.pid = message.pid.clone();
        if let Some(info) = message.framework_info {
            framework.info = info;
        }
        if framework.checkpoint() {
            let write = CheckpointWrite::Framework {
                framework_id,
                info: Box::new(framework.info.clone()),
                pid: framework.pid.clone(),
            };
            self.checkpoint(write);
        }
    }
}
