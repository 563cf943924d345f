//! The scheduler driver's protocol logic as a plain struct: messages, exits and timer
//! ticks go in; calls to send, links, timers and scheduler events come out.
//!
//! Mesos: src/sched/sched.cpp `SchedulerProcess`. The checks follow it: messages from
//! anyone but the master we subscribed to are dropped, offers and updates are dropped
//! while disconnected, and launches while disconnected come back as TASK_LOST (or
//! TASK_DROPPED for partition-aware frameworks) made by the driver itself.

mod calls;

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::mesos::{
    self, FrameworkId, OfferId, TaskStatus, internal, scheduler, task_status,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{DriverStatus, REGISTRATION_RETRY_INTERVAL_MAX, SchedulerConfig};
pub use auth::{AUTHENTICATION_TIMEOUT, AuthenticateeMessage, AuthenticatorMessage};

mod auth;
use crate::error::FrameworkError;
use crate::masters::{MasterDetector, Refusal};

/// Timers a scheduler may have pending at once ([`SchedulerCore::schedule`]); past this,
/// new ones are refused and logged.
pub const MAX_USER_TIMERS: usize = 1024;

/// Offers remembered as outstanding. The master bounds what it offers; past this (a
/// master gone mad) the driver forgets the set rather than grow without end, which
/// only costs a warning on a later accept.
pub const MAX_OUTSTANDING_OFFERS: usize = 100_000;

/// Something for the [`Scheduler`](super::Scheduler): one variant per callback.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `registered`.
    Registered {
        /// The framework's id.
        framework_id: FrameworkId,
        /// The master that accepted it.
        master: mesos::MasterInfo,
    },
    /// `reregistered`.
    Reregistered {
        /// The master that accepted it.
        master: mesos::MasterInfo,
    },
    /// `disconnected`.
    Disconnected,
    /// `resource_offers`.
    Offers(Vec<mesos::Offer>),
    /// `offer_rescinded`.
    Rescinded(OfferId),
    /// `inverse_offers`.
    InverseOffers(Vec<mesos::InverseOffer>),
    /// `inverse_offer_rescinded`.
    InverseOfferRescinded(OfferId),
    /// `status_update`.
    Update(TaskStatus),
    /// `operation_status`.
    OperationStatus(mesos::OperationStatus),
    /// `framework_message`.
    Message {
        /// The sending executor's agent.
        agent_id: mesos::SlaveId,
        /// The sending executor.
        executor_id: mesos::ExecutorId,
        /// The payload.
        data: Vec<u8>,
    },
    /// `agent_lost`.
    AgentLost(mesos::SlaveId),
    /// `executor_lost`.
    ExecutorLost {
        /// The executor.
        executor_id: mesos::ExecutorId,
        /// Its agent.
        agent_id: mesos::SlaveId,
        /// Its wait status.
        status: i32,
    },
    /// `timer`.
    Timer(u64),
    /// `error`.
    Error(String),
}

/// What the actor shell must do.
// Short-lived values handed straight to the shell: boxing would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Send a call to a master.
    Call {
        /// The master.
        to: Pid,
        /// The call.
        call: scheduler::Call,
    },
    /// Send an authentication message (to the master or its authenticator).
    Authentication {
        /// The master (or its authenticator session).
        to: Pid,
        /// The message.
        message: AuthenticateeMessage,
    },
    /// Tell the master to stop sending us anything (the driver aborted).
    Deactivate {
        /// The master.
        to: Pid,
        /// The message.
        message: internal::DeactivateFrameworkMessage,
    },
    /// Link to a master, to learn when its connection breaks.
    Link(Pid),
    /// Call [`SchedulerCore::on_retry_timer`] with `epoch` after `after`.
    RetryTimer {
        /// The delay.
        after: Duration,
        /// Identifies this subscription attempt; stale ones are ignored.
        epoch: u64,
    },
    /// Deliver `Event::Timer(token)` after `after`.
    UserTimer {
        /// The delay.
        after: Duration,
        /// The scheduler's token.
        token: u64,
    },
    /// Terminate the driver process (after the events queued so far).
    Terminate,
}

/// The connection to the master.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Connection {
    /// Not started.
    Idle,
    /// Sending SUBSCRIBE to the detector's candidate, with backoff.
    Subscribing,
    /// Subscribed with `master`.
    Connected {
        /// The leading master.
        master: Pid,
    },
    /// Stopped or aborted: nothing more is sent or delivered.
    Done,
}

/// The driver's state machine.
pub struct SchedulerCore {
    framework: mesos::FrameworkInfo,
    implicit_acknowledgements: bool,
    backoff_factor: Duration,
    detector: MasterDetector,
    connection: Connection,
    status: DriverStatus,
    /// The framework had an id at start: the first SUBSCRIBE forces a failover.
    failover: bool,
    /// `registered` was delivered once; later subscriptions are `reregistered`.
    registered_once: bool,
    retry_epoch: u64,
    /// A leader announcement triggered an immediate SUBSCRIBE in this backoff period.
    hinted: bool,
    next_backoff: Duration,
    rng: StdRng,
    offers: HashSet<OfferId>,
    suppressed_roles: BTreeSet<String>,
    user_timers: usize,
    now: Time,
    events: VecDeque<Event>,
    outbox: Vec<Output>,
    /// Authenticate before subscribing (CRAM-MD5), with this.
    credential: Option<mesos_security::Credential>,
    /// The driver's own pid, known once its process runs ([`SchedulerCore::set_pid`]).
    self_pid: Option<Pid>,
    /// An authentication in progress.
    authenticating: Option<auth::Authenticating>,
    /// The master authenticated with on the current connection.
    authenticated_with: Option<Pid>,
}

impl SchedulerCore {
    /// A driver core for `config` (which must name at least one master).
    pub fn new(config: SchedulerConfig) -> Result<SchedulerCore, FrameworkError> {
        let failover = config.framework.id.as_ref().is_some_and(|id| !id.value.is_empty());
        Ok(SchedulerCore {
            detector: MasterDetector::new(config.masters)?,
            framework: config.framework,
            implicit_acknowledgements: config.implicit_acknowledgements,
            backoff_factor: config.registration_backoff_factor,
            connection: Connection::Idle,
            status: DriverStatus::Running,
            failover,
            registered_once: false,
            retry_epoch: 0,
            hinted: false,
            next_backoff: config.registration_backoff_factor,
            rng: StdRng::seed_from_u64(config.seed),
            offers: HashSet::new(),
            suppressed_roles: config.suppressed_roles.into_iter().collect(),
            user_timers: 0,
            now: Time::from_epoch(Duration::ZERO),
            events: VecDeque::new(),
            outbox: Vec::new(),
            credential: config.credential,
            self_pid: None,
            authenticating: None,
            authenticated_with: None,
        })
    }

    /// The driver's own pid (the one it authenticates as).
    pub fn set_pid(&mut self, pid: Pid) {
        self.self_pid = Some(pid);
    }

    /// Sets the time used for updates the driver makes itself.
    pub fn set_now(&mut self, now: Time) {
        self.now = now;
    }

    /// The framework's id, once known.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        self.framework.id.as_ref().filter(|id| !id.value.is_empty())
    }

    /// The framework as it is subscribed (with its id once registered).
    pub fn framework(&self) -> &mesos::FrameworkInfo {
        &self.framework
    }

    /// The master this driver is subscribed with.
    pub fn master(&self) -> Option<&Pid> {
        match &self.connection {
            Connection::Connected { master } => Some(master),
            _ => None,
        }
    }

    /// True while subscribed.
    pub fn is_connected(&self) -> bool {
        self.master().is_some()
    }

    /// Running, stopped or aborted.
    pub fn status(&self) -> &DriverStatus {
        &self.status
    }

    /// Offers received and neither accepted, declined nor rescinded.
    pub fn outstanding_offers(&self) -> usize {
        self.offers.len()
    }

    /// The next event for the scheduler.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Everything the shell must do now.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outbox)
    }

    fn running(&self) -> bool {
        self.status == DriverStatus::Running
    }

    // ---- Subscription -------------------------------------------------------------

    /// Starts subscribing. Mesos: `SchedulerProcess::detected` then
    /// `doReliableRegistration`.
    pub fn start(&mut self) {
        if self.connection != Connection::Idle {
            return;
        }
        self.become_subscribing();
    }

    fn become_subscribing(&mut self) {
        tracing::info!(candidate = %self.detector.candidate(), "scheduler driver subscribing");
        self.connection = Connection::Subscribing;
        self.next_backoff = self.backoff_factor;
        self.send_subscribe();
    }

    /// Sends SUBSCRIBE to the candidate and arms the next retry. Mesos:
    /// `doReliableRegistration` (random delay in `[0, backoff]`, backoff doubling up to
    /// `REGISTRATION_RETRY_INTERVAL_MAX` and to a tenth of the failover timeout).
    fn send_subscribe(&mut self) {
        let to = self.detector.candidate().clone();
        if self.authenticate_first(&to) {
            return;
        }
        let mut subscribe = scheduler::call::Subscribe {
            framework_info: self.framework.clone(),
            suppressed_roles: self.suppressed_roles.iter().cloned().collect(),
            ..Default::default()
        };
        let framework_id = self.framework_id().cloned();
        if framework_id.is_some() {
            subscribe.force = Some(self.failover);
        }
        let call = scheduler::Call {
            framework_id,
            r#type: Some(scheduler::call::Type::Subscribe as i32),
            subscribe: Some(subscribe),
            ..Default::default()
        };
        self.outbox.push(Output::Link(to.clone()));
        self.outbox.push(Output::Call { to, call });
        self.detector.on_attempt();

        let mut max = self.next_backoff.min(REGISTRATION_RETRY_INTERVAL_MAX);
        if let Some(timeout) =
            self.framework.failover_timeout.and_then(|t| Duration::try_from_secs_f64(t).ok())
            && !timeout.is_zero()
        {
            max = max.min(timeout / 10);
        }
        let after = max.mul_f64(self.rng.random::<f64>());
        self.next_backoff = max * 2;
        self.retry_epoch += 1;
        self.outbox.push(Output::RetryTimer { after, epoch: self.retry_epoch });
    }

    /// The retry timer fired: if still unanswered, send SUBSCRIBE again.
    pub fn on_retry_timer(&mut self, epoch: u64) {
        if epoch == self.retry_epoch && self.connection == Connection::Subscribing {
            self.hinted = false;
            self.send_subscribe();
        }
    }

    /// `FrameworkRegisteredMessage` or `FrameworkReregisteredMessage` from `from`.
    /// Mesos: `SchedulerProcess::registered` / `reregistered` (the Event API's rule for
    /// which callback: `registered` on this driver's first subscription, even a failover).
    pub fn on_subscribed(
        &mut self,
        from: &Pid,
        framework_id: FrameworkId,
        master: mesos::MasterInfo,
    ) {
        if !self.running() || self.connection != Connection::Subscribing {
            tracing::debug!(%from, "ignoring registration: not subscribing");
            return;
        }
        // Any of our masters that registers us leads (only a leading master registers a
        // framework), even if we moved on to another candidate since we asked it: its
        // answer can arrive after the SUBSCRIBE that exhausted its attempts. Ignoring it
        // would leave the master with a framework whose registration and offers this
        // driver dropped.
        if !self.detector.is_known(from) {
            tracing::warn!(%from, candidate = %self.detector.candidate(), "ignoring registration from a process that is no master of ours");
            return;
        }
        if let Some(known) = self.framework_id()
            && known != &framework_id
        {
            tracing::warn!(%from, "ignoring registration for another framework id");
            return;
        }
        tracing::info!(framework_id = %framework_id.value, master = %from, "scheduler subscribed");
        self.framework.id = Some(framework_id.clone());
        self.connection = Connection::Connected { master: from.clone() };
        self.detector.on_subscribed(from);
        self.retry_epoch += 1; // cancels the pending retry
        self.failover = false;
        if self.registered_once {
            self.events.push_back(Event::Reregistered { master });
        } else {
            self.registered_once = true;
            self.events.push_back(Event::Registered { framework_id, master });
        }
    }

    /// A linked process went away: the master (reconnect) or a candidate (try another).
    pub fn on_exited(&mut self, pid: &Pid) {
        match &self.connection {
            Connection::Connected { master } if master == pid => {
                tracing::warn!(master = %pid, "master disconnected; re-subscribing");
                self.become_disconnected(pid, None);
            }
            Connection::Subscribing => self.detector.on_unreachable(pid),
            _ => {}
        }
    }

    fn become_disconnected(&mut self, master: &Pid, leader: Option<&Pid>) {
        self.offers.clear();
        // The master forgets an authentication when the connection breaks.
        self.authenticated_with = None;
        self.events.push_back(Event::Disconnected);
        self.detector.on_unreachable(master);
        if let Some(leader) = leader {
            self.detector.on_leader_hint(leader);
        }
        self.become_subscribing();
    }

    /// `NewMasterDetectedMessage`: a master says who leads. A follower answers our
    /// SUBSCRIBE with it (subscribe there at once, at most once per backoff period so
    /// two confused masters cannot bounce us in a tight loop); if we are connected to
    /// another master, that one no longer leads: reconnect to the leader; if our own
    /// master names itself, it starts a new term that forgot us: subscribe again.
    pub fn on_new_master(&mut self, from: &Pid, leader: &str) {
        if !self.running() {
            return;
        }
        let Ok(leader) = leader.parse::<Pid>() else {
            tracing::warn!(%from, leader, "ignoring a leader announcement with a malformed pid");
            return;
        };
        if !self.detector.is_known(from) && self.master() != Some(from) {
            tracing::warn!(%from, "ignoring a leader announcement from a process that is no master of ours");
            return;
        }
        match self.connection.clone() {
            // Our master naming itself starts a new term of its own: it lost its
            // leadership (forgetting us) and won it back. Mesos's master would have
            // exited instead, breaking our connection.
            Connection::Connected { master } if master != leader || *from == leader => {
                tracing::info!(old = %master, %leader, "our master no longer leads (or leads anew); re-subscribing with the leader");
                self.become_disconnected(&master, Some(&leader));
            }
            Connection::Subscribing => self.redirect_subscription(from, &leader),
            _ => {}
        }
    }

    /// While subscribing: the next SUBSCRIBE goes to `leader`, at once unless a hint
    /// already caused an immediate one in this backoff period.
    fn redirect_subscription(&mut self, from: &Pid, leader: &Pid) {
        let moved = self.detector.on_leader_hint(leader);
        if moved && !self.hinted {
            tracing::info!(%from, %leader, "redirected to the leading master");
            self.hinted = true;
            self.send_subscribe();
        }
    }

    /// `FrameworkErrorMessage`: a follower's refusal, or a real error that aborts the
    /// driver. Mesos: `SchedulerProcess::error` (abort, then `Scheduler::error`).
    pub fn on_error(&mut self, from: &Pid, message: String) {
        if !self.running() {
            return;
        }
        let from_master = match &self.connection {
            Connection::Connected { master } => master == from,
            Connection::Subscribing => self.detector.is_candidate(from),
            _ => false,
        };
        if !from_master {
            tracing::warn!(%from, %message, "ignoring error from a process that is not our master");
            return;
        }
        let connected = self.is_connected();
        match self.detector.on_refused(from, &message) {
            Refusal::NotLeader { leader } => {
                tracing::info!(%from, ?leader, "master is not the leader; trying another");
                if connected {
                    self.become_disconnected(from, None);
                }
            }
            Refusal::Fatal => {
                tracing::error!(%from, %message, "framework error; aborting the driver");
                self.abort_with(message.clone());
                self.events.push_back(Event::Error(message));
            }
        }
    }

    // ---- Messages from the master ---------------------------------------------------

    fn is_from_master(&self, from: &Pid, what: &str) -> bool {
        let ok = self.running() && self.master() == Some(from);
        if !ok {
            tracing::debug!(%from, what, "dropping message: not from our master or not connected");
        }
        ok
    }

    /// `ResourceOffersMessage`.
    pub fn on_offers(&mut self, from: &Pid, message: internal::ResourceOffersMessage) {
        if !self.is_from_master(from, "offers") || message.offers.is_empty() {
            return;
        }
        if self.offers.len() + message.offers.len() > MAX_OUTSTANDING_OFFERS {
            tracing::warn!(
                held = self.offers.len(),
                "too many outstanding offers; forgetting them"
            );
            self.offers.clear();
        }
        self.offers.extend(message.offers.iter().map(|o| o.id.clone()));
        self.events.push_back(Event::Offers(message.offers));
    }

    /// `RescindResourceOfferMessage`.
    pub fn on_rescind(&mut self, from: &Pid, message: internal::RescindResourceOfferMessage) {
        if self.is_from_master(from, "rescind") {
            self.offers.remove(&message.offer_id);
            self.events.push_back(Event::Rescinded(message.offer_id));
        }
    }

    /// `InverseOffersMessage`: agents to give back for maintenance.
    pub fn on_inverse_offers(&mut self, from: &Pid, message: internal::InverseOffersMessage) {
        if self.is_from_master(from, "inverse offers") && !message.inverse_offers.is_empty() {
            self.events.push_back(Event::InverseOffers(message.inverse_offers));
        }
    }

    /// `RescindInverseOfferMessage`.
    pub fn on_rescind_inverse_offer(
        &mut self,
        from: &Pid,
        message: internal::RescindInverseOfferMessage,
    ) {
        if self.is_from_master(from, "inverse offer rescind") {
            self.events.push_back(Event::InverseOfferRescinded(message.inverse_offer_id));
        }
    }

    /// `StatusUpdateMessage`. The status carries the update's uuid only when the update
    /// needs acknowledging. Mesos: `SchedulerProcess::statusUpdate`.
    pub fn on_status_update(&mut self, from: &Pid, message: internal::StatusUpdateMessage) {
        if !self.is_from_master(from, "status update") {
            return;
        }
        let update = message.update;
        let mut status = update.status;
        status.uuid = update.uuid.filter(|uuid| !uuid.is_empty());
        if status.slave_id.is_none() {
            status.slave_id = update.slave_id;
        }
        self.events.push_back(Event::Update(status));
    }

    /// `UpdateOperationStatusMessage`: what became of an operation this framework gave an
    /// id (or a reconciliation answer). A status with a uuid must be acknowledged with
    /// [`SchedulerCore::acknowledge_operation_status`].
    pub fn on_operation_status(
        &mut self,
        from: &Pid,
        message: internal::UpdateOperationStatusMessage,
    ) {
        if self.is_from_master(from, "operation status") {
            let mut status = message.status;
            if status.slave_id.is_none() {
                status.slave_id = message.slave_id;
            }
            self.events.push_back(Event::OperationStatus(status));
        }
    }

    /// Called after `status_update` returned: the implicit acknowledgement.
    pub fn after_status_update(&mut self, status: &TaskStatus) {
        if self.implicit_acknowledgements {
            self.send_acknowledge(status);
        }
    }

    /// `LostSlaveMessage`.
    pub fn on_lost_agent(&mut self, from: &Pid, message: internal::LostSlaveMessage) {
        if self.is_from_master(from, "lost agent") {
            self.events.push_back(Event::AgentLost(message.slave_id));
        }
    }

    /// `ExitedExecutorMessage`.
    pub fn on_exited_executor(&mut self, from: &Pid, message: internal::ExitedExecutorMessage) {
        if self.is_from_master(from, "exited executor") {
            let internal::ExitedExecutorMessage { slave_id, executor_id, status, .. } = message;
            self.events.push_back(Event::ExecutorLost { executor_id, agent_id: slave_id, status });
        }
    }

    /// `ExecutorToFrameworkMessage` (from the master or straight from an agent).
    pub fn on_executor_message(&mut self, message: internal::ExecutorToFrameworkMessage) {
        if self.running() {
            let internal::ExecutorToFrameworkMessage { slave_id, executor_id, data, .. } = message;
            self.events.push_back(Event::Message { agent_id: slave_id, executor_id, data });
        }
    }

    /// A timer set with [`SchedulerCore::schedule`] fired.
    pub fn on_user_timer(&mut self, token: u64) {
        self.user_timers = self.user_timers.saturating_sub(1);
        if self.running() {
            self.events.push_back(Event::Timer(token));
        }
    }
}
