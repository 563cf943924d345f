//! Registering with the master, answering pings, losing the master.

use libprocess::{Context, Pid};
use mesos_proto::ids::{FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage, UpdateFrameworkMessage,
};
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, TaskState, slave_info, task_status};

use super::Agent;
use crate::protobuf::UpdateDetails;
use crate::registration::AgentState;

/// The Mesos version this agent speaks.
pub const MESOS_VERSION: &str = "1.11.0";

fn capabilities() -> Vec<slave_info::Capability> {
    use slave_info::capability::Type;
    [Type::MultiRole, Type::HierarchicalRole, Type::ReservationRefinement]
        .into_iter()
        .map(|t| slave_info::Capability { r#type: Some(t as i32) })
        .collect()
}

impl Agent {
    /// Recovery is over (or the master was lost): register again, with backoff.
    // Mesos: Slave::detected.
    pub(super) fn become_disconnected(&mut self, ctx: &mut Context<'_, Self>) {
        self.updates.pause();
        if let Some(timer) = self.ping_timer.take() {
            ctx.cancel_timer(timer);
        }
        let delay = self.registration.become_disconnected(&mut self.rng);
        let epoch = self.registration.epoch();
        ctx.delay(delay, move |agent, ctx| agent.do_reliable_registration(epoch, ctx));
    }

    /// Sends one (re-)registration and schedules the next.
    // Mesos: Slave::doReliableRegistration.
    fn do_reliable_registration(&mut self, epoch: u64, ctx: &mut Context<'_, Self>) {
        if epoch != self.registration.epoch() {
            return;
        }
        let Some(attempt) = self.registration.next_attempt(&mut self.rng) else { return };
        ctx.link(&attempt.master);
        if self.info.id.is_none() {
            tracing::info!(master = %attempt.master, "registering with master");
            let message = RegisterSlaveMessage {
                slave: self.info.clone(),
                version: Some(MESOS_VERSION.into()),
                agent_capabilities: capabilities(),
                ..RegisterSlaveMessage::default()
            };
            ctx.send(&attempt.master, message);
        } else {
            tracing::info!(master = %attempt.master, "re-registering with master");
            ctx.send(&attempt.master, self.reregister_message());
        }
        ctx.delay(attempt.retry_after, move |agent, ctx| {
            agent.do_reliable_registration(epoch, ctx)
        });
    }

    /// Everything the master must learn about us when we come back.
    fn reregister_message(&self) -> ReregisterSlaveMessage {
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
            ..ReregisterSlaveMessage::default()
        }
    }

    /// The master accepted a new agent and gave it an id.
    // Mesos: Slave::registered.
    pub(super) fn on_slave_registered(
        &mut self,
        from: Pid,
        message: SlaveRegisteredMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring registration from a process that is not a configured master");
            return;
        }
        match self.registration.state() {
            AgentState::Disconnected => {
                if self.info.id.is_none() {
                    self.info.id = Some(message.slave_id.clone());
                    if let Some(checkpointer) = self.checkpointer()
                        && let Err(error) = checkpointer.agent_info(&self.info)
                    {
                        tracing::error!(%error, "cannot checkpoint the agent info");
                    }
                } else if self.info.id.as_ref() != Some(&message.slave_id) {
                    tracing::error!(got = %message.slave_id.value, "registered with a different agent id; ignoring");
                    return;
                }
                tracing::info!(agent_id = %message.slave_id.value, master = %from, "registered with master");
                let timeout = message.connection.and_then(|c| c.total_ping_timeout_seconds);
                self.become_running(from, timeout, ctx);
            }
            state => {
                tracing::warn!(state = state.name(), "ignoring registration: not disconnected")
            }
        }
    }

    /// The master accepted us back.
    // Mesos: Slave::reregistered.
    pub(super) fn on_slave_reregistered(
        &mut self,
        from: Pid,
        message: SlaveReregisteredMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
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
        self.become_running(from, timeout, ctx);
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
                        ctx,
                    );
                }
            }
        }
    }

    fn become_running(
        &mut self,
        master: Pid,
        ping_timeout_secs: Option<f64>,
        ctx: &mut Context<'_, Self>,
    ) {
        let timeout = crate::registration::announced_ping_timeout(ping_timeout_secs);
        self.registration.become_running(master, timeout);
        self.arm_ping_timer(ctx);
        for forward in self.updates.resume(ctx.now()) {
            self.forward(forward, ctx);
        }
    }

    fn arm_ping_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(timer) = self.ping_timer.take() {
            ctx.cancel_timer(timer);
        }
        let epoch = self.registration.epoch();
        let timeout = self.registration.ping_timeout();
        self.ping_timer =
            Some(ctx.delay(timeout, move |agent, ctx| agent.on_ping_timeout(epoch, ctx)));
    }

    /// The master checks we are alive.
    // Mesos: Slave::ping.
    pub(super) fn on_ping_slave(
        &mut self,
        from: Pid,
        message: PingSlaveMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring ping from a process that is not our master");
            return;
        }
        ctx.send(&from, PongSlaveMessage {});
        match self.registration.state() {
            AgentState::Running if !message.connected => {
                tracing::info!("master considers us disconnected; re-registering");
                self.become_disconnected(ctx);
            }
            AgentState::Running => self.arm_ping_timer(ctx),
            _ => {}
        }
    }

    fn on_ping_timeout(&mut self, epoch: u64, ctx: &mut Context<'_, Self>) {
        if epoch == self.registration.epoch() && self.registration.state() == AgentState::Running {
            tracing::warn!(timeout = ?self.registration.ping_timeout(), "no ping from the master; re-registering");
            self.ping_timer = None;
            self.become_disconnected(ctx);
        }
    }

    /// A configured master says another one leads: register there (at once, if we are
    /// registering or registered with a deposed master).
    pub(super) fn on_new_master_detected(
        &mut self,
        from: Pid,
        message: mesos_proto::extensions::NewMasterDetectedMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.masters().contains(&from) {
            tracing::warn!(%from, "ignoring a leader announcement from a process that is not one of our masters");
            return;
        }
        let Ok(leader) = message.pid.parse::<Pid>() else {
            tracing::warn!(%from, pid = %message.pid, "ignoring a leader announcement with a malformed pid");
            return;
        };
        if self.registration.on_leader_detected(&leader) {
            tracing::info!(%leader, "the leading master is elsewhere; registering with it");
            self.become_disconnected(ctx);
        }
    }

    /// A linked process went away: if it is our master, register again.
    pub(super) fn on_link_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if self.registration.state() == AgentState::Running
            && self.registration.master() == Some(&pid)
        {
            tracing::warn!(master = %pid, "lost the connection to the master; re-registering");
            self.become_disconnected(ctx);
        } else {
            tracing::debug!(%pid, "linked process exited");
        }
    }

    /// The master tells us to shut down (e.g. we were removed).
    // Mesos: Slave::shutdown.
    pub(super) fn on_shutdown(
        &mut self,
        from: Pid,
        message: ShutdownMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.registration.is_master(&from) {
            tracing::warn!(%from, "ignoring shutdown from a process that is not our master");
            return;
        }
        tracing::warn!(
            reason = message.message.as_deref().unwrap_or(""),
            "master asked the agent to shut down"
        );
        self.shutdown_agent(ctx);
    }

    /// A framework's scheduler moved (failover): send to its new pid.
    pub(super) fn on_update_framework(&mut self, from: Pid, message: UpdateFrameworkMessage) {
        if !self.registration.is_master(&from) {
            return;
        }
        let framework_id = FrameworkId::from(&message.framework_id);
        let checkpointer = self.checkpointer();
        if let Some(framework) = self.frameworks.get_mut(&framework_id) {
            framework.pid = message.pid.clone();
            if let Some(info) = message.framework_info {
                framework.info = info;
            }
            if framework.checkpoint()
                && let Some(checkpointer) = checkpointer
                && let Err(error) = checkpointer.framework(
                    &framework.info,
                    framework_id.as_str(),
                    framework.pid.as_deref(),
                )
            {
                tracing::error!(%error, "cannot checkpoint the framework");
            }
        }
    }
}
