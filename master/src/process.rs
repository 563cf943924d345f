//! The master actor: decodes messages, feeds the pure core, performs its outputs.
//!
//! Mesos: master.cpp `Master::initialize` (the `install<...>` table) and the message
//! handlers, which here are one `match` that calls the core. Legacy driver messages
//! (`RegisterFrameworkMessage`, `KillTaskMessage`, ...) are turned into the equivalent
//! `scheduler::Call`, so old and new schedulers share one code path, as in Mesos.
//!
//! # Layout
//! - this file: the actor, its role in the HA group, outputs, leadership and fencing;
//! - `dispatch`: the checks every message passes and the one `match` over them;
//! - `reregistrations`: re-registrations kept encoded until the actor knows whether
//!   they are a copy of the last one taken from their pid;
//! - `decoding`: decoding re-registrations on a worker thread under load;
//! - `pointing`: which clients are told where the leader is, and when.

use std::sync::Arc;

use libprocess::{Context, DecodeError, Pid, Process, ProcessRef};
use mesos_proto::mesos::{internal, scheduler};
use parking_lot::RwLock;
use tokio::sync::watch;

mod decoding;
mod dispatch;
mod pointing;
mod reregistrations;

pub use reregistrations::MasterInbound;
use reregistrations::Reregistrations;

use crate::allocator::process::AllocatorProcess;
use crate::authentication::{AuthOutput, Authentication, AuthenticationConfig};
use crate::core::{MasterConfig, MasterCore, Output};
use crate::leadership::{LeaderView, View};
use crate::snapshot::{SnapshotCell, StateSnapshot};
use mesos_registrar::{LeaderState, Leadership, Registrar, RegistryState};

libprocess::protocol! {
    /// Every message the master accepts.
    pub enum MasterMessage {
        /// An agent registers for the first time.
        RegisterSlave(internal::RegisterSlaveMessage),
        /// An agent registers again (reconnect, restart, master failover).
        ReregisterSlave(internal::ReregisterSlaveMessage),
        /// An agent leaves for good.
        UnregisterSlave(internal::UnregisterSlaveMessage),
        /// An agent answers a ping.
        PongSlave(internal::PongSlaveMessage),
        /// A task status update from an agent.
        StatusUpdate(internal::StatusUpdateMessage),
        /// An executor ended.
        ExitedExecutor(internal::ExitedExecutorMessage),
        /// An executor's message for its scheduler.
        ExecutorToFramework(internal::ExecutorToFrameworkMessage),
        /// An agent's status of an operation with feedback.
        UpdateOperationStatus(internal::UpdateOperationStatusMessage),
        /// An agent's update after (re-)registering: the operations it holds.
        UpdateSlave(internal::UpdateSlaveMessage),
        /// Every scheduler call of the driver since Mesos 1.0.
        SchedulerCall(scheduler::Call),
        /// Legacy: register a framework.
        RegisterFramework(internal::RegisterFrameworkMessage),
        /// Legacy: re-register a framework.
        ReregisterFramework(internal::ReregisterFrameworkMessage),
        /// Legacy: tear a framework down.
        UnregisterFramework(internal::UnregisterFrameworkMessage),
        /// The driver stopped with failover: deactivate until it comes back.
        DeactivateFramework(internal::DeactivateFrameworkMessage),
        /// Legacy: kill a task.
        KillTask(internal::KillTaskMessage),
        /// Legacy: acknowledge a status update.
        StatusUpdateAcknowledgement(internal::StatusUpdateAcknowledgementMessage),
        /// Legacy: revive offers.
        ReviveOffers(internal::ReviveOffersMessage),
        /// Legacy: reconcile tasks.
        ReconcileTasks(internal::ReconcileTasksMessage),
        /// Legacy: a framework's message for an executor.
        FrameworkToExecutor(internal::FrameworkToExecutorMessage),
        /// An authenticatee opens a v0 authentication (CRAM-MD5).
        Authenticate(internal::AuthenticateMessage),
        /// An authenticatee picked its mechanism.
        AuthenticationStart(internal::AuthenticationStartMessage),
        /// An authenticatee answers the challenge.
        AuthenticationStep(internal::AuthenticationStepMessage),
    }
}

/// Where this master stands in its HA group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Not leading: registrations are pointed at the leader, other messages dropped.
    Following {
        /// The leading master, if known.
        leader: Option<Pid>,
    },
    /// Elected leader of `term`: reading the registry before acting.
    Recovering {
        /// The raft term.
        term: u64,
    },
    /// Leading in `term`: the only state in which the master acts.
    Leading {
        /// The raft term.
        term: u64,
    },
}

/// The master process (`master@ip:port`).
pub struct MasterProcess {
    core: MasterCore,
    config: MasterConfig,
    role: Role,
    registrar: Arc<dyn Registrar>,
    leader_view: Arc<LeaderView>,
    allocator: ProcessRef<AllocatorProcess>,
    snapshot: Arc<SnapshotCell>,
    flags: Arc<RwLock<Vec<(String, String)>>>,
    /// Open v1 scheduler API subscriptions.
    pub(crate) http: crate::http::scheduler_api::HttpSubscribers,
    /// Open v1 operator API subscriptions.
    pub(crate) operator: crate::http::operator_api::OperatorSubscribers,
    /// Agents and schedulers to tell where the leader is as soon as it is known: those
    /// this master had when it was deposed, and those that wrote to it while it knew no
    /// leader (`pointing`).
    awaiting_leader: pointing::AwaitingLeader,
    /// v0 authentication: sessions in progress and who authenticated as whom. Kept
    /// across leadership changes (it is about connections, not about the registry).
    authentication: Authentication,
    /// The master's log file (`--log_dir`), served at `/master/log`.
    log_file: Option<std::path::PathBuf>,
    /// The last re-registration taken from each agent pid, to recognise copies.
    reregistrations: Reregistrations,
    /// Re-registrations being decoded on the worker thread, and what waits behind them.
    decoding: decoding::Decoding,
}

impl MasterProcess {
    /// A master that keeps its registry in `registrar`, allocating with `allocator`.
    /// It acts only once the registrar says it leads. `flags` are shown at `/flags`.
    pub fn new(
        config: MasterConfig,
        registrar: Arc<dyn Registrar>,
        allocator: ProcessRef<AllocatorProcess>,
        flags: Vec<(String, String)>,
        now: libprocess::Time,
    ) -> MasterProcess {
        MasterProcess {
            core: MasterCore::new(config.clone(), now),
            leader_view: {
                let view = LeaderView::new(config.pid.address());
                view.set_hostname(&config.hostname);
                Arc::new(view)
            },
            config,
            role: Role::Following { leader: None },
            registrar,
            allocator,
            snapshot: Arc::new(SnapshotCell::default()),
            flags: Arc::new(RwLock::new(flags)),
            http: Default::default(),
            operator: Default::default(),
            awaiting_leader: Default::default(),
            authentication: Authentication::default(),
            log_file: None,
            reregistrations: Reregistrations::default(),
            decoding: Default::default(),
        }
    }

    /// Serves `log_file` at `/master/log` (before the master runs).
    pub fn set_log_file(&mut self, log_file: Option<std::path::PathBuf>) {
        self.log_file = log_file;
    }

    /// Switches on v0 authentication with these settings (before the master runs).
    pub fn set_authentication(&mut self, config: AuthenticationConfig) {
        self.authentication = Authentication::new(config);
    }

    /// Performs the outputs of the authentication bookkeeping.
    fn flush_authentication(&mut self, outputs: Vec<AuthOutput>, ctx: &mut Context<'_, Self>) {
        for output in outputs {
            match output {
                AuthOutput::Send { to, message } => ctx.send_outbound(&to, message),
                AuthOutput::Timer { client, session, after } => {
                    ctx.delay(after, move |master: &mut MasterProcess, _| {
                        master.authentication.on_timeout(&client, session)
                    });
                }
            }
        }
    }

    /// An authentication message; handled whatever the role (a follower's answer does
    /// no harm: the client then registers and is pointed at the leader).
    fn on_authentication(
        &mut self,
        from: &Pid,
        message: MasterMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        let via = ctx.via();
        let outputs = match message {
            MasterMessage::Authenticate(m) => {
                let random = rand::random::<u32>() as u64;
                let now_secs = ctx.now().since_epoch().as_secs();
                let hostname = self.config.hostname.clone();
                self.authentication.on_authenticate(from, via, &m, &hostname, random, now_secs)
            }
            MasterMessage::AuthenticationStart(m) => self.authentication.on_start(from, via, &m),
            MasterMessage::AuthenticationStep(m) => self.authentication.on_step(from, via, &m),
            _ => Vec::new(),
        };
        self.flush_authentication(outputs, ctx);
    }

    /// Whether a registration may reach the core: an unauthenticated framework is
    /// refused with a `FrameworkErrorMessage` and an unauthenticated agent ignored when
    /// authentication is required; an authenticated framework's principal is checked
    /// (and filled in). Every other message passes.
    fn admit(
        &mut self,
        from: &Pid,
        message: &mut MasterMessage,
        ctx: &mut Context<'_, Self>,
    ) -> bool {
        let info = match message {
            MasterMessage::RegisterSlave(_) | MasterMessage::ReregisterSlave(_) => {
                return self.admit_agent(from, ctx);
            }
            MasterMessage::RegisterFramework(m) => Some(&mut m.framework),
            MasterMessage::ReregisterFramework(m) => Some(&mut m.framework),
            MasterMessage::SchedulerCall(call) => match call.subscribe.as_mut() {
                Some(subscribe) => Some(&mut subscribe.framework_info),
                None => return true,
            },
            _ => return true,
        };
        match self.authentication.admit_framework(from, ctx.via(), info) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%from, %error, "refusing framework subscription");
                ctx.send(from, internal::FrameworkErrorMessage { message: error });
                false
            }
        }
    }

    /// Whether an agent's (re-)registration may reach the core: not when authentication
    /// is required and the agent has not authenticated (it is ignored).
    fn admit_agent(&mut self, from: &Pid, ctx: &mut Context<'_, Self>) -> bool {
        if self.authentication.admit_agent(from, ctx.via()) {
            return true;
        }
        ctx.node().metrics().counter("master/dropped_messages").inc();
        tracing::warn!(%from, "refusing registration of agent: it is not authenticated");
        false
    }

    /// The core (tests and the HTTP layer read it through dispatch).
    pub fn core(&self) -> &MasterCore {
        &self.core
    }

    /// Where this master stands.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The shared leadership view (HTTP redirects).
    pub fn leader_view(&self) -> &Arc<LeaderView> {
        &self.leader_view
    }

    /// The registrar.
    pub fn registrar(&self) -> &Arc<dyn Registrar> {
        &self.registrar
    }

    /// Mutable core (tests).
    pub fn core_mut(&mut self) -> &mut MasterCore {
        &mut self.core
    }

    /// A consistent copy of the state for the HTTP endpoints.
    pub fn take_snapshot(&self) -> StateSnapshot {
        StateSnapshot::of(&self.core, self.flags.read().clone())
    }

    /// The allocator's decisions: offers to make (Mesos: master.cpp `Master::offer`).
    /// One framework at a time, each framework's offers sent before the next one's are
    /// made (see [`crate::core::group_by_framework`]).
    pub(crate) fn on_allocations(
        &mut self,
        decisions: Vec<crate::core::AllocationDecision>,
        ctx: &mut Context<'_, Self>,
    ) {
        for group in crate::core::group_by_framework(decisions) {
            self.core.on_allocations(group);
            self.flush(ctx);
        }
    }

    /// The allocator's inverse offers to make (Mesos: master.cpp `Master::inverseOffer`).
    pub(crate) fn on_inverse_offers(
        &mut self,
        decisions: Vec<crate::allocator::InverseOfferAllocation>,
        ctx: &mut Context<'_, Self>,
    ) {
        self.core.on_inverse_offers(decisions);
        self.flush(ctx);
    }

    /// Performs everything the core asked for.
    pub(crate) fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        self.snapshot.invalidate();
        self.perform(ctx);
    }

    /// [`Self::flush`] after liveness bookkeeping (a pong, a ping period): the state
    /// snapshot stays current unless the core did more than ping. At 10,000 agents pings
    /// and pongs come about 1,300 times a second; each made the next `/state` take a
    /// fresh copy and kept concurrent requests from sharing a rendering.
    fn flush_liveness(&mut self, ctx: &mut Context<'_, Self>) {
        if self.core.only_pings_pending() { self.perform(ctx) } else { self.flush(ctx) }
    }

    fn perform(&mut self, ctx: &mut Context<'_, Self>) {
        for output in self.core.drain_outputs() {
            match output {
                Output::Send { to, message } => {
                    self.reregistrations.on_send(&to, &message);
                    if !crate::http::scheduler_api::deliver(self, &to, &message, ctx) {
                        ctx.send_outbound(&to, *message);
                    }
                }
                // HTTP subscribers are watched through their stream instead.
                Output::Link(pid) if self.http.contains(&pid) => {}
                Output::Link(pid) => ctx.link(&pid),
                Output::Allocator(call) => {
                    if self
                        .allocator
                        .tell(move |allocator, actx| allocator.on_call(call, actx))
                        .is_err()
                    {
                        tracing::error!("allocator is gone");
                    }
                }
                Output::Event(event) => {
                    if let crate::core::MasterEvent::FrameworkRemoved(info) = &event
                        && let Some(id) = &info.id
                    {
                        let id = mesos_proto::ids::FrameworkId::from(id);
                        crate::http::scheduler_api::on_framework_removed(self, &id);
                    }
                    crate::http::metrics::on_framework_event(
                        ctx.node().metrics(),
                        &self.core,
                        &event,
                    );
                    crate::http::operator_api::publish(self, event, ctx)
                }
                Output::Registry { operation, after } => self.submit(operation, after, ctx),
                Output::OperatorReply { request, result } => {
                    self.operator.pending.answer(request, result)
                }
                Output::Timer { after, timer } => {
                    let role = self.role.clone();
                    ctx.delay(after, move |master: &mut MasterProcess, ctx| {
                        if master.role != role {
                            return; // set by a term this master no longer leads
                        }
                        let now = ctx.now();
                        let ping = matches!(timer, crate::core::Timer::AgentPing { .. });
                        master.core.on_timer(timer, now);
                        if ping { master.flush_liveness(ctx) } else { master.flush(ctx) }
                    });
                }
            }
        }
    }

    /// Submits a registry change; the flow continues once it is committed, unless this
    /// master stopped leading that term in the meantime.
    fn submit(
        &mut self,
        operation: mesos_registrar::RegistryOperation,
        after: crate::core::registry::AfterRegistry,
        ctx: &mut Context<'_, Self>,
    ) {
        self.submit_with_reply(operation, after, None, ctx);
    }

    /// An operator's registry change (quota, weights): submitted like any other, and
    /// `reply` hears the outcome once the master has applied it (an error if it failed
    /// or this master stopped leading meanwhile; a dropped `reply` means the same).
    pub(crate) fn submit_with_reply(
        &mut self,
        operation: mesos_registrar::RegistryOperation,
        after: crate::core::registry::AfterRegistry,
        reply: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
        ctx: &mut Context<'_, Self>,
    ) {
        let Role::Leading { term } = self.role else { return };
        let completion = self.registrar.submit(operation);
        ctx.spawn(completion, move |master: &mut MasterProcess, result, ctx| {
            if master.role != (Role::Leading { term }) {
                return;
            }
            let now = ctx.now();
            let result = result.map(|_| ()).map_err(|e| e.to_string());
            master.core.on_registry_result(after, result.clone(), now);
            master.flush(ctx);
            if let Some(reply) = reply {
                // The caller may have gone (its HTTP connection closed): nothing to tell.
                let _ = reply.send(result);
            }
        });
    }

    /// Follows the registrar's leadership reports for as long as the master runs.
    fn watch_leadership(ctx: &mut Context<'_, Self>, mut leadership: watch::Receiver<Leadership>) {
        ctx.spawn(
            async move {
                let changed = leadership.changed().await;
                (leadership, changed)
            },
            |master: &mut MasterProcess, (leadership, changed), ctx| {
                if changed.is_err() {
                    return; // The registrar is gone: the node is shutting down.
                }
                let current = leadership.borrow().clone();
                master.on_leadership(current, ctx);
                MasterProcess::watch_leadership(ctx, leadership);
            },
        );
    }

    fn master_pid_at(&self, registrar_pid: &Pid) -> Pid {
        Pid::new("master", registrar_pid.address())
    }

    /// Leadership changed. Leading in a new term: fence whatever was before, read the
    /// registry, then act. Anything else: stop acting at once (fencing).
    fn on_leadership(&mut self, leadership: Leadership, ctx: &mut Context<'_, Self>) {
        match leadership.state {
            LeaderState::Leading => {
                let term = leadership.term;
                if self.role == (Role::Leading { term }) || self.role == (Role::Recovering { term })
                {
                    return;
                }
                self.fence(ctx);
                self.role = Role::Recovering { term };
                tracing::info!(term, "elected leading master: recovering the registry");
                let mut state = self.registrar.state();
                // The in-memory registrar answers at once: act before any message arrives.
                let mut poll = std::task::Context::from_waker(std::task::Waker::noop());
                match state.as_mut().poll(&mut poll) {
                    std::task::Poll::Ready(result) => self.on_registry_read(term, result, ctx),
                    std::task::Poll::Pending => {
                        ctx.spawn(state, move |master: &mut MasterProcess, result, ctx| {
                            master.on_registry_read(term, result, ctx)
                        });
                    }
                }
            }
            LeaderState::Following { leader } => {
                self.fence(ctx);
                let leader = leader.map(|pid| self.master_pid_at(&pid));
                self.leader_view.set(View::Following { leader: leader.as_ref().map(Pid::address) });
                if let Some(leader) = &leader {
                    self.announce_leader(leader, ctx);
                }
                self.role = Role::Following { leader };
            }
            LeaderState::Elected | LeaderState::Stopped => {
                self.fence(ctx);
                self.leader_view.set(View::Following { leader: None });
                self.role = Role::Following { leader: None };
            }
        }
    }

    fn on_registry_read(
        &mut self,
        term: u64,
        result: Result<RegistryState, mesos_registrar::RegistrarError>,
        ctx: &mut Context<'_, Self>,
    ) {
        if self.role != (Role::Recovering { term }) {
            return;
        }
        let state = match result {
            Ok(state) => state,
            Err(error) => {
                tracing::error!(%error, term, "cannot read the registry; not acting as leader");
                self.role = Role::Following { leader: None };
                return;
            }
        };
        self.core = MasterCore::recover(self.config.clone(), &state, ctx.now());
        self.core.set_operator_subscribers(self.operator.any());
        self.role = Role::Leading { term };
        self.leader_view.set(View::Leading);
        ctx.node().metrics().gauge("master/elected").set(1.0);
        // Tell agents from the registry where the leader is, so they re-register at once
        // rather than when their own detection notices, and everyone who asked while no
        // leader was known (`pointing`): each once.
        for agent in self.core.recovered_agent_pids() {
            self.awaiting_leader.remember(agent);
        }
        let me = ctx.pid().clone();
        self.announce_leader(&me, ctx);
        tracing::info!(term, "leading master: acting");
        self.flush(ctx);
    }

    /// Stops acting at once: drops all state (the next leader rebuilds it from the
    /// registry and from re-registrations), empties the allocator, closes every HTTP
    /// subscription. A deposed leader therefore never offers or launches again.
    fn fence(&mut self, ctx: &mut Context<'_, Self>) {
        if matches!(self.role, Role::Following { .. }) {
            return;
        }
        tracing::warn!(role = ?self.role, "no longer leading: fencing");
        // Mesos's master exits when it loses leadership, which breaks its agents' and
        // schedulers' connections; this one stays up as a follower, so it tells them.
        let clients = self.core.agents_by_pid.keys().chain(self.core.frameworks_by_pid.keys());
        for client in clients {
            self.awaiting_leader.remember(client.clone());
        }
        self.core = MasterCore::new(self.config.clone(), ctx.now());
        self.reregistrations.clear();
        self.decoding.clear();
        self.http = Default::default();
        self.operator = Default::default();
        self.leader_view.set(View::Following { leader: None });
        ctx.node().metrics().gauge("master/elected").set(0.0);
        if self.allocator.tell(|allocator, _| allocator.reset()).is_err() {
            tracing::error!("allocator is gone");
        }
        self.snapshot.invalidate();
    }
}

impl Process for MasterProcess {
    type Message = MasterInbound;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        let shared = crate::http::Shared {
            snapshot: self.snapshot.clone(),
            leader_view: self.leader_view.clone(),
            registrar: self.registrar.clone(),
            authorizer: self.core.config().authorizer.clone(),
            log_file: self.log_file.clone(),
        };
        crate::http::install(ctx, &shared);
        let leadership = self.registrar.leadership();
        let current = leadership.borrow().clone();
        self.on_leadership(current, ctx);
        MasterProcess::watch_leadership(ctx, leadership);
        tracing::info!(pid = %ctx.pid(), id = %self.core.info().id, "master started");
    }

    fn on_message(&mut self, from: Pid, message: MasterInbound, ctx: &mut Context<'_, Self>) {
        match message {
            MasterInbound::Decoded(message) => self.on_decoded(from, message, ctx),
            MasterInbound::EncodedReregistration(bytes) => {
                self.on_encoded_reregistration(from, bytes, ctx)
            }
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        self.reregistrations.forget(&pid);
        // A broken link ends the authentication of a peer the core does not know; a
        // disconnected framework or agent keeps its binding, so nobody else speaks for
        // it. Whoever reconnects under that pid authenticates again (our agents and
        // drivers do before every (re-)registration, as Mesos's do).
        let core = &self.core;
        self.authentication.on_link_broken(&pid, |pid| core.knows_pid(pid));
        if !matches!(self.role, Role::Leading { .. }) {
            return;
        }
        if self.decoding.in_flight(&pid).is_some() {
            return self.hold(&pid, decoding::Held::Exited, ctx);
        }
        self.process_exited(&pid, ctx);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        tracing::debug!(%from, %error, "master ignores message");
    }
}
