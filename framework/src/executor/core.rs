//! The executor driver's protocol logic as a plain struct.
//!
//! Mesos: src/exec/exec.cpp `ExecutorProcess`. One difference: Mesos's v0 driver never
//! resends an update while connected (a lost one waits for a re-registration); we
//! resend unacknowledged ones a bounded number of times, which the agent's
//! status-update manager ignores as duplicates when it already has them.

use std::collections::VecDeque;
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::mesos::{self, TaskInfo, TaskStatus, internal};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{
    ExecutorEnv, MAX_STATUS_UPDATE_RETRIES, MAX_UNACKNOWLEDGED_UPDATES,
    STATUS_UPDATE_RETRY_INTERVAL,
};
use crate::error::FrameworkError;
use crate::scheduler::DriverStatus;

/// Something for the [`Executor`](super::Executor): one variant per callback.
// Short-lived values handed straight to the shell: boxing would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ExecutorEvent {
    /// `registered`.
    Registered {
        /// This executor.
        executor: mesos::ExecutorInfo,
        /// Its framework.
        framework: mesos::FrameworkInfo,
        /// Its agent.
        agent: mesos::SlaveInfo,
    },
    /// `reregistered`.
    Reregistered(mesos::SlaveInfo),
    /// `disconnected`.
    Disconnected,
    /// `launch_task`.
    LaunchTask(TaskInfo),
    /// `launch_group`.
    LaunchGroup(mesos::TaskGroupInfo),
    /// `kill_task`.
    KillTask {
        /// The task to kill.
        task_id: mesos::TaskId,
        /// The kill policy the scheduler gave with the kill, overriding the task's.
        kill_policy: Option<mesos::KillPolicy>,
    },
    /// `framework_message`.
    FrameworkMessage(Vec<u8>),
    /// `shutdown`.
    Shutdown,
    /// `timer`.
    Timer(u64),
}

/// A message the executor sends its agent.
// Short-lived values handed straight to the shell: boxing would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ToAgent {
    /// First registration.
    Register(internal::RegisterExecutorMessage),
    /// Registration with a restarted agent.
    Reregister(internal::ReregisterExecutorMessage),
    /// A status update.
    StatusUpdate(internal::StatusUpdateMessage),
    /// A message for the scheduler.
    ToFramework(internal::ExecutorToFrameworkMessage),
}

/// What the actor shell must do.
// Short-lived values handed straight to the shell: boxing would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ExecutorOutput {
    /// Send to the agent.
    Send {
        /// The agent.
        to: Pid,
        /// The message.
        message: ToAgent,
    },
    /// Link to the agent (`reconnect`: over a fresh connection).
    Link {
        /// The agent.
        pid: Pid,
        /// Replace a possibly half-open connection (Mesos MESOS-5332).
        reconnect: bool,
    },
    /// Call `on_recovery_timeout(epoch)` after `after`.
    RecoveryTimer {
        /// The delay.
        after: Duration,
        /// The connection it is about.
        epoch: u64,
    },
    /// Call `on_retry_timer` after `after`.
    RetryTimer {
        /// The delay.
        after: Duration,
    },
    /// Call `on_shutdown_timer` after `after`.
    ShutdownTimer {
        /// The delay.
        after: Duration,
    },
    /// Deliver `ExecutorEvent::Timer(token)` after `after`.
    UserTimer {
        /// The delay.
        after: Duration,
        /// The executor's token.
        token: u64,
    },
    /// Terminate the driver process.
    Terminate,
}

/// The connection to the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    /// `RegisterExecutorMessage` sent, not yet answered.
    Registering,
    /// Registered.
    Connected,
    /// The agent went away; waiting for it to reconnect (checkpointing only).
    Disconnected,
}

/// One update the agent has not acknowledged yet.
#[derive(Clone, Debug)]
struct Pending {
    uuid: Vec<u8>,
    update: internal::StatusUpdate,
    resends: u32,
}

/// The executor driver's state machine.
pub struct ExecutorCore {
    env: ExecutorEnv,
    agent: Pid,
    connection: Connection,
    /// Counts connections; a recovery timeout for an older one is stale (Mesos uses a
    /// UUID per connection).
    epoch: u64,
    /// Set once shutdown began: inbound messages are ignored (Mesos `aborted`).
    shutting_down: bool,
    status: DriverStatus,
    updates: VecDeque<Pending>,
    /// Tasks received but not yet covered by an acknowledged update.
    tasks: Vec<TaskInfo>,
    retry_armed: bool,
    /// `stop` was called with updates unacknowledged: terminate when they are (or, with
    /// the agent gone and checkpointing, when a restarted agent has taken them).
    stopping: bool,
    rng: StdRng,
    now: Time,
    events: VecDeque<ExecutorEvent>,
    outbox: Vec<ExecutorOutput>,
}

impl ExecutorCore {
    /// A driver core for `env`; `seed` seeds the update uuids.
    pub fn new(env: ExecutorEnv, seed: u64) -> ExecutorCore {
        ExecutorCore {
            agent: env.agent.clone(),
            env,
            connection: Connection::Registering,
            epoch: 0,
            shutting_down: false,
            status: DriverStatus::Running,
            updates: VecDeque::new(),
            tasks: Vec::new(),
            retry_armed: false,
            stopping: false,
            rng: StdRng::seed_from_u64(seed),
            now: Time::from_epoch(Duration::ZERO),
            events: VecDeque::new(),
            outbox: Vec::new(),
        }
    }

    /// Sets the time stamped on updates.
    pub fn set_now(&mut self, now: Time) {
        self.now = now;
    }

    /// The time given by the last [`ExecutorCore::set_now`].
    pub fn now(&self) -> Time {
        self.now
    }

    /// The environment the driver runs with.
    pub fn env(&self) -> &ExecutorEnv {
        &self.env
    }

    /// True while registered with the agent.
    pub fn is_connected(&self) -> bool {
        self.connection == Connection::Connected
    }

    /// Running, stopped or aborted.
    pub fn status(&self) -> &DriverStatus {
        &self.status
    }

    /// Updates not yet acknowledged by the agent.
    pub fn unacknowledged_updates(&self) -> usize {
        self.updates.len()
    }

    /// The next event for the executor.
    pub fn next_event(&mut self) -> Option<ExecutorEvent> {
        self.events.pop_front()
    }

    /// Everything the shell must do now.
    pub fn drain_outputs(&mut self) -> Vec<ExecutorOutput> {
        std::mem::take(&mut self.outbox)
    }

    fn send(&mut self, message: ToAgent) {
        self.outbox.push(ExecutorOutput::Send { to: self.agent.clone(), message });
    }

    fn accepting(&self, what: &str) -> bool {
        let ok = self.status == DriverStatus::Running && !self.shutting_down;
        if !ok {
            tracing::debug!(what, "ignoring message: the executor driver is shutting down");
        }
        ok
    }

    /// Links to the agent and registers. Mesos: `ExecutorProcess::initialize`.
    pub fn start(&mut self) {
        self.outbox.push(ExecutorOutput::Link { pid: self.agent.clone(), reconnect: false });
        let message = internal::RegisterExecutorMessage {
            framework_id: self.env.framework_id.clone(),
            executor_id: self.env.executor_id.clone(),
        };
        self.send(ToAgent::Register(message));
    }

    /// `ExecutorRegisteredMessage`.
    pub fn on_registered(&mut self, message: internal::ExecutorRegisteredMessage) {
        if !self.accepting("registered") {
            return;
        }
        tracing::info!(agent_id = %message.slave_id.value, "executor registered");
        self.become_connected();
        self.events.push_back(ExecutorEvent::Registered {
            executor: message.executor_info,
            framework: message.framework_info,
            agent: message.slave_info,
        });
    }

    /// `ExecutorReregisteredMessage`.
    pub fn on_reregistered(&mut self, message: internal::ExecutorReregisteredMessage) {
        if self.stopping {
            // Stopped while the agent was away: the restarted agent now has our updates
            // (they rode on the re-registration) and acknowledges them; bound the wait.
            tracing::info!(agent_id = %message.slave_id.value, "executor re-registered to deliver its last updates");
            self.become_connected();
            self.outbox
                .push(ExecutorOutput::ShutdownTimer { after: self.env.shutdown_grace_period });
            return;
        }
        if !self.accepting("reregistered") {
            return;
        }
        tracing::info!(agent_id = %message.slave_id.value, "executor re-registered");
        self.become_connected();
        self.events.push_back(ExecutorEvent::Reregistered(message.slave_info));
    }

    fn become_connected(&mut self) {
        self.connection = Connection::Connected;
        self.epoch += 1;
        self.arm_retry();
    }

    /// `ReconnectExecutorMessage` from a restarted agent: re-register with everything
    /// it may have missed. Mesos: `ExecutorProcess::reconnect`.
    /// A driver stopped while the agent was away (`stopping`) re-registers too: its
    /// unacknowledged updates, a task's terminal one among them, ride on it.
    pub fn on_reconnect(&mut self, from: &Pid, message: internal::ReconnectExecutorMessage) {
        if !self.stopping && !self.accepting("reconnect") {
            return;
        }
        tracing::info!(agent = %from, agent_id = %message.slave_id.value, "agent asks the executor to reconnect");
        self.agent = from.clone();
        self.outbox.push(ExecutorOutput::Link { pid: from.clone(), reconnect: true });
        let message = internal::ReregisterExecutorMessage {
            executor_id: self.env.executor_id.clone(),
            framework_id: self.env.framework_id.clone(),
            tasks: self.tasks.clone(),
            updates: self.updates.iter().map(|p| p.update.clone()).collect(),
        };
        self.send(ToAgent::Reregister(message));
    }

    /// `RunTaskMessage`. Ignored while disconnected, as in Mesos (the agent resends
    /// unacknowledged tasks' fate through re-registration).
    pub fn on_run_task(&mut self, message: internal::RunTaskMessage) {
        if !self.accepting("run task") {
            return;
        }
        if !self.is_connected() {
            tracing::warn!(task_id = %message.task.task_id.value, "ignoring task: not registered");
            return;
        }
        if self.tasks.iter().any(|t| t.task_id == message.task.task_id) {
            tracing::warn!(task_id = %message.task.task_id.value, "ignoring duplicate task");
            return;
        }
        self.tasks.push(message.task.clone());
        self.events.push_back(ExecutorEvent::LaunchTask(message.task));
    }

    /// `RunTaskGroupMessage` (LAUNCH_GROUP on the v1 transport): the group's tasks are
    /// kept like single tasks until their updates are acknowledged.
    pub fn on_run_task_group(&mut self, message: internal::RunTaskGroupMessage) {
        if !self.accepting("run task group") {
            return;
        }
        if !self.is_connected() {
            tracing::warn!("ignoring task group: not registered");
            return;
        }
        let mut group = message.task_group;
        group.tasks.retain(|task| !self.tasks.iter().any(|t| t.task_id == task.task_id));
        if group.tasks.is_empty() {
            tracing::warn!("ignoring duplicate task group");
            return;
        }
        self.tasks.extend(group.tasks.iter().cloned());
        self.events.push_back(ExecutorEvent::LaunchGroup(group));
    }

    /// Disconnected from a checkpointing agent, waiting for it to come back (the v1
    /// transport then subscribes again on its own: no agent tells it to).
    pub fn is_awaiting_recovery(&self) -> bool {
        self.awaiting_recovery()
    }

    /// True until the first registration is answered.
    pub fn is_registering(&self) -> bool {
        self.connection == Connection::Registering
    }

    /// `KillTaskMessage` (delivered even while disconnected: the executor may still
    /// want to act on it), with the scheduler's kill policy if it gave one.
    pub fn on_kill_task(&mut self, message: internal::KillTaskMessage) {
        if self.accepting("kill task") {
            self.events.push_back(ExecutorEvent::KillTask {
                task_id: message.task_id,
                kill_policy: message.kill_policy,
            });
        }
    }

    /// `StatusUpdateAcknowledgementMessage`: the agent has the update.
    pub fn on_acknowledgement(&mut self, message: internal::StatusUpdateAcknowledgementMessage) {
        if !self.is_connected() || matches!(self.status, DriverStatus::Aborted { .. }) {
            return;
        }
        let before = self.updates.len();
        self.updates.retain(|p| p.uuid != message.uuid);
        if self.updates.len() == before {
            tracing::warn!(task_id = %message.task_id.value, "ignoring unknown status update acknowledgement");
            return;
        }
        self.tasks.retain(|t| t.task_id != message.task_id);
        if self.stopping && self.updates.is_empty() {
            self.outbox.push(ExecutorOutput::Terminate);
        }
    }

    /// `FrameworkToExecutorMessage`.
    pub fn on_framework_message(&mut self, message: internal::FrameworkToExecutorMessage) {
        if self.accepting("framework message") && self.is_connected() {
            self.events.push_back(ExecutorEvent::FrameworkMessage(message.data));
        }
    }

    /// `ShutdownExecutorMessage`.
    pub fn on_shutdown(&mut self) {
        if self.accepting("shutdown") {
            tracing::info!("executor asked to shut down");
            self.begin_shutdown();
        }
    }

    fn begin_shutdown(&mut self) {
        self.shutting_down = true;
        self.events.push_back(ExecutorEvent::Shutdown);
        self.outbox.push(ExecutorOutput::ShutdownTimer { after: self.env.shutdown_grace_period });
    }

    /// The agent's connection broke. Mesos: `ExecutorProcess::exited`.
    pub fn on_exited(&mut self, pid: &Pid) {
        if pid != &self.agent {
            return;
        }
        if self.stopping {
            self.on_exited_while_stopping();
            return;
        }
        if !self.accepting("exited") {
            return;
        }
        if self.env.checkpoint && self.is_connected() {
            tracing::info!(timeout = ?self.env.recovery_timeout, "agent exited; waiting for it to recover");
            self.connection = Connection::Disconnected;
            self.events.push_back(ExecutorEvent::Disconnected);
            self.outbox.push(ExecutorOutput::RecoveryTimer {
                after: self.env.recovery_timeout,
                epoch: self.epoch,
            });
            return;
        }
        tracing::info!("agent exited; shutting down");
        self.connection = Connection::Disconnected;
        self.begin_shutdown();
    }

    /// The agent's connection broke after `stop`, with updates unacknowledged. With
    /// checkpointing a restarted agent takes them through the re-registration, so wait
    /// for it as a running driver would (bounded by the recovery timeout); without,
    /// nobody will ever acknowledge them.
    fn on_exited_while_stopping(&mut self) {
        let was_connected = self.is_connected();
        self.connection = Connection::Disconnected;
        if self.env.checkpoint && !self.shutting_down && was_connected {
            tracing::info!(
                unacknowledged = self.updates.len(),
                timeout = ?self.env.recovery_timeout,
                "agent exited while the driver stops; waiting for it to recover"
            );
            self.outbox.push(ExecutorOutput::RecoveryTimer {
                after: self.env.recovery_timeout,
                epoch: self.epoch,
            });
        } else {
            tracing::warn!(
                unacknowledged = self.updates.len(),
                "agent exited while the driver stops; stopping without its acknowledgements"
            );
            self.outbox.push(ExecutorOutput::Terminate);
        }
    }

    /// Disconnected from a checkpointing agent that may yet come back, and not asked
    /// to shut down: a pending recovery timer bounds the wait.
    fn awaiting_recovery(&self) -> bool {
        self.connection == Connection::Disconnected && self.env.checkpoint && !self.shutting_down
    }

    /// The recovery timeout for connection `epoch` expired.
    pub fn on_recovery_timeout(&mut self, epoch: u64) {
        if self.is_connected() || epoch != self.epoch {
            return;
        }
        if self.stopping {
            tracing::warn!(
                unacknowledged = self.updates.len(),
                "recovery timeout exceeded; stopping without the agent's acknowledgements"
            );
            self.outbox.push(ExecutorOutput::Terminate);
        } else if self.accepting("recovery timeout") {
            tracing::info!("recovery timeout exceeded; shutting down");
            self.begin_shutdown();
        }
    }

    /// Resends unacknowledged updates (bounded) and re-arms while any are left.
    pub fn on_retry_timer(&mut self) {
        self.retry_armed = false;
        if matches!(self.status, DriverStatus::Aborted { .. }) || !self.is_connected() {
            return;
        }
        let agent = self.agent.clone();
        let mut resend = Vec::new();
        for pending in self.updates.iter_mut().filter(|p| p.resends < MAX_STATUS_UPDATE_RETRIES) {
            pending.resends += 1;
            resend.push(pending.update.clone());
        }
        for update in resend {
            let message = internal::StatusUpdateMessage { update, pid: None };
            self.outbox.push(ExecutorOutput::Send {
                to: agent.clone(),
                message: ToAgent::StatusUpdate(message),
            });
        }
        self.arm_retry();
    }

    fn arm_retry(&mut self) {
        if !self.retry_armed && self.updates.iter().any(|p| p.resends < MAX_STATUS_UPDATE_RETRIES) {
            self.retry_armed = true;
            self.outbox.push(ExecutorOutput::RetryTimer { after: STATUS_UPDATE_RETRY_INTERVAL });
        }
    }

    /// The shutdown grace period is over: if the executor has not stopped, give up.
    pub fn on_shutdown_timer(&mut self) {
        if self.stopping && self.awaiting_recovery() {
            // The recovery timer decides: the restarted agent should get our updates.
            return;
        }
        if self.stopping {
            tracing::warn!(
                unacknowledged = self.updates.len(),
                "stopping without the agent's acknowledgements"
            );
            self.outbox.push(ExecutorOutput::Terminate);
        } else if self.status == DriverStatus::Running {
            tracing::warn!("executor did not stop within the shutdown grace period; aborting");
            self.status =
                DriverStatus::Aborted { message: "shutdown grace period elapsed".to_string() };
            self.outbox.push(ExecutorOutput::Terminate);
        }
    }

    /// A user timer fired.
    pub fn on_user_timer(&mut self, token: u64) {
        if self.status == DriverStatus::Running {
            self.events.push_back(ExecutorEvent::Timer(token));
        }
    }

    // ---- Calls from the executor ----------------------------------------------------

    /// Sends a status update with a fresh uuid and keeps it until acknowledged.
    /// Mesos: `ExecutorProcess::sendStatusUpdate`. `self_pid` is the driver's pid.
    pub fn send_status_update(
        &mut self,
        mut status: TaskStatus,
        self_pid: &Pid,
    ) -> Result<(), FrameworkError> {
        if self.status != DriverStatus::Running {
            return Err(FrameworkError::NotRunning);
        }
        if self.updates.len() >= MAX_UNACKNOWLEDGED_UPDATES {
            return Err(FrameworkError::TooManyUnacknowledged { count: self.updates.len() });
        }
        let uuid =
            uuid::Builder::from_random_bytes(self.rng.random()).into_uuid().as_bytes().to_vec();
        let timestamp = self.now.secs_f64();
        status.timestamp = Some(timestamp);
        status.uuid = Some(uuid.clone());
        status.slave_id = Some(self.env.agent_id.clone());
        if status.source.is_none() {
            status.source = Some(mesos::task_status::Source::Executor as i32);
        }
        status.executor_id = Some(self.env.executor_id.clone());
        let update = internal::StatusUpdate {
            framework_id: self.env.framework_id.clone(),
            executor_id: Some(self.env.executor_id.clone()),
            slave_id: Some(self.env.agent_id.clone()),
            status,
            timestamp,
            uuid: Some(uuid.clone()),
            latest_state: None,
        };
        self.updates.push_back(Pending { uuid, update: update.clone(), resends: 0 });
        if self.connection != Connection::Disconnected {
            self.send(ToAgent::StatusUpdate(internal::StatusUpdateMessage {
                update,
                pid: Some(self_pid.to_string()),
            }));
        }
        self.arm_retry();
        Ok(())
    }

    /// Sends `data` to the scheduler (best effort).
    pub fn send_framework_message(&mut self, data: Vec<u8>) -> Result<(), FrameworkError> {
        if self.status != DriverStatus::Running {
            return Err(FrameworkError::NotRunning);
        }
        let message = internal::ExecutorToFrameworkMessage {
            slave_id: self.env.agent_id.clone(),
            framework_id: self.env.framework_id.clone(),
            executor_id: self.env.executor_id.clone(),
            data,
        };
        self.send(ToAgent::ToFramework(message));
        Ok(())
    }

    /// Sets a user timer.
    pub fn schedule(&mut self, after: Duration, token: u64) {
        self.outbox.push(ExecutorOutput::UserTimer { after, token });
    }

    /// Stops the driver: at once if the agent has every update, else when it has
    /// acknowledged them or after the shutdown grace period, so that a terminal update
    /// sent just before `stop` is not lost with the process. While a checkpointing
    /// executor waits for its agent to recover, the updates wait for the restarted agent
    /// instead (up to the recovery timeout), as Mesos's command executor waits for the
    /// acknowledgement of its terminal update.
    pub fn stop(&mut self) {
        if self.status == DriverStatus::Running {
            self.status = DriverStatus::Stopped;
        }
        if self.updates.is_empty() {
            self.outbox.push(ExecutorOutput::Terminate);
        } else if self.stopping {
            // Already waiting for the acknowledgements.
        } else if self.is_connected() {
            self.stopping = true;
            self.outbox
                .push(ExecutorOutput::ShutdownTimer { after: self.env.shutdown_grace_period });
        } else if self.awaiting_recovery() {
            self.stopping = true;
        } else {
            self.outbox.push(ExecutorOutput::Terminate);
        }
    }

    /// Aborts the driver with `message`.
    pub fn abort(&mut self, message: &str) {
        if self.status == DriverStatus::Running {
            self.status = DriverStatus::Aborted { message: message.to_string() };
        }
        self.outbox.push(ExecutorOutput::Terminate);
    }
}
