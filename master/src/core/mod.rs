//! The master's pure core: frameworks, agents, offers and tasks, with no I/O.
//!
//! Like raft-rs's `RawNode`, the core is driven by calls that each take one input (a
//! decoded message with its sender, a timer, an allocation) and the current time, and it
//! answers by queueing [`Output`]s: messages to send, links to make, calls to the
//! allocator, timers to set. The actor around it ([`crate::process`]) performs them. The
//! same core therefore runs under the real network, the simulated one, and in plain unit
//! tests that read the outputs like a transcript.
//!
//! Mesos: src/master/master.cpp, split here by responsibility:
//! - `agents`: registration, re-registration, health pings, unreachable agents;
//! - `frameworks`: subscription, failover, disconnection, teardown;
//! - `offers`: allocations into offers, decline, rescind, offer timeout;
//! - `launch`: ACCEPT with offer validation, and each task's launch (authorization,
//!   validation, bookkeeping, `RunTaskMessage`);
//! - `operations`: the offer operations other than LAUNCH; answering every operation
//!   the master does not perform;
//! - `operations_feedback`: operations with an id, tracked until acknowledged
//!   (ACKNOWLEDGE_OPERATION_STATUS, RECONCILE_OPERATIONS, GET_OPERATIONS);
//! - `launch_group`: LAUNCH_GROUP, a task group validated whole and sent to its agent
//!   as one `RunTaskGroupMessage`;
//! - `tasks`: kill, status updates, acknowledgements, reconciliation, executors;
//! - `authorization`: the `--acls` checks of SUBSCRIBE, LAUNCH and TEARDOWN;
//! - `maintenance`: the maintenance schedule, machines DOWN and UP;
//! - `inverse_offers`: inverse offers for agents scheduled for maintenance, and the
//!   frameworks' answers;
//! - `draining`: the operator calls on one agent (MARK_AGENT_GONE, DEACTIVATE_AGENT,
//!   REACTIVATE_AGENT, DRAIN_AGENT) and the draining lifecycle.
//! - `quota`: quota and weights (validation, registry, allocator);
//! - `config`: the core's settings, `MasterConfig`.

mod agents;
mod authorization;
mod config;
mod draining;
mod duplicates;
mod frameworks;
mod inverse_offers;
mod launch;
mod launch_group;
mod maintenance;
mod offers;
mod operation_validation;
mod operations;
pub mod operations_feedback;
pub mod quota;
pub mod registry;
pub mod shared;
mod state;
mod tasks;
mod validation;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, FrameworkId, OfferId};
use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;

pub use authorization::{framework_principal, run_task_user};
pub use config::MasterConfig;
pub use draining::{AgentCallDone, AgentOperatorState, OperatorReply, OperatorRequest};
pub use frameworks::framework_roles;
pub use maintenance::MaintenanceDone;
pub use offers::{AllocationDecision, group_by_framework};
pub use shared::{IdHasher, IdMap, IdSet, SharedMap};

pub use state::{Agent, AgentState, Framework, FrameworkState, OfferEntry, UnreachableAgent};

/// Most completed frameworks remembered for `/state` (Mesos `--max_completed_frameworks`).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;
/// Most completed tasks remembered per framework (Mesos `--max_completed_tasks_per_framework`).
pub const MAX_COMPLETED_TASKS_PER_FRAMEWORK: usize = 1000;
/// Most unreachable agents remembered (Mesos `--registry_max_agent_count` in spirit).
pub const MAX_UNREACHABLE_AGENTS: usize = 100_000;

libprocess::protocol! {
    /// A message the master sends (to agents and schedulers). Declared as a
    /// `libprocess::protocol!` enum, so the actor sends any variant with one call
    /// (`Context::send_outbound`): adding a message is one variant here.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Outgoing {
        /// An agent is registered, with its new id.
        SlaveRegistered(internal::SlaveRegisteredMessage),
        /// An agent is re-registered.
        SlaveReregistered(internal::SlaveReregisteredMessage),
        /// The agent health check; the agent answers with a pong.
        PingSlave(internal::PingSlaveMessage),
        /// Tell an agent to run a task.
        RunTask(internal::RunTaskMessage),
        /// Tell an agent to run a task group under one executor.
        RunTaskGroup(internal::RunTaskGroupMessage),
        /// Tell an agent to kill a task.
        KillTask(internal::KillTaskMessage),
        /// A task's status update, forwarded to its scheduler.
        StatusUpdate(internal::StatusUpdateMessage),
        /// A scheduler's acknowledgement, forwarded to the agent.
        StatusUpdateAcknowledgement(internal::StatusUpdateAcknowledgementMessage),
        /// Tell an agent a framework is gone.
        ShutdownFramework(internal::ShutdownFrameworkMessage),
        /// Tell an agent to stop an executor.
        ShutdownExecutor(internal::ShutdownExecutorMessage),
        /// A scheduler's message, forwarded to the executor's agent.
        FrameworkToExecutor(internal::FrameworkToExecutorMessage),
        /// An executor's message, forwarded to its scheduler.
        ExecutorToFramework(internal::ExecutorToFrameworkMessage),
        /// Tell an agent a framework's scheduler moved (or its info changed).
        UpdateFramework(internal::UpdateFrameworkMessage),
        /// A framework is registered, with its new id.
        FrameworkRegistered(internal::FrameworkRegisteredMessage),
        /// A framework is re-registered.
        FrameworkReregistered(internal::FrameworkReregisteredMessage),
        /// A framework was refused or removed.
        FrameworkError(internal::FrameworkErrorMessage),
        /// Offers for a framework.
        ResourceOffers(internal::ResourceOffersMessage),
        /// An offer is withdrawn.
        RescindResourceOffer(internal::RescindResourceOfferMessage),
        /// Tell a scheduler an agent is lost.
        LostSlave(internal::LostSlaveMessage),
        /// Tell a scheduler an executor exited.
        ExitedExecutor(internal::ExitedExecutorMessage),
        /// Tell a scheduler what became of an offer operation it gave an id
        /// (`OperationInfo.id`); v1 schedulers see it as UPDATE_OPERATION_STATUS.
        UpdateOperationStatus(internal::UpdateOperationStatusMessage),
        /// Tell an agent (without resource providers) its whole set of checkpointed
        /// resources (dynamic reservations, persistent volumes) after an operation.
        CheckpointResources(internal::CheckpointResourcesMessage),
        /// Tell an agent to apply an offer operation whose framework wants feedback.
        ApplyOperation(internal::ApplyOperationMessage),
        /// A framework's acknowledgement of an operation status, forwarded to the agent.
        AcknowledgeOperationStatus(internal::AcknowledgeOperationStatusMessage),
        /// Ask an agent about operations it did not report (it answers OPERATION_DROPPED
        /// for those it never received).
        ReconcileOperations(internal::ReconcileOperationsMessage),
        /// Tell an agent to shut down (it is marked gone).
        Shutdown(internal::ShutdownMessage),
        /// Tell an agent to drain: kill its tasks within the config's grace period.
        DrainSlave(internal::DrainSlaveMessage),
        /// Ask a framework to give back agents scheduled for maintenance.
        InverseOffers(internal::InverseOffersMessage),
        /// An inverse offer is withdrawn.
        RescindInverseOffer(internal::RescindInverseOfferMessage),
    }
}

/// What the allocator is told (Mesos: the `Allocator` interface the master calls).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum AllocatorCall {
    AddAgent {
        agent_id: AgentId,
        hostname: String,
        total: Resources,
        used: Vec<(FrameworkId, String, Resources)>,
    },
    RemoveAgent {
        agent_id: AgentId,
    },
    ActivateAgent {
        agent_id: AgentId,
    },
    DeactivateAgent {
        agent_id: AgentId,
    },
    AddFramework {
        framework_id: FrameworkId,
        info: Box<mesos::FrameworkInfo>,
        suppressed_roles: Vec<String>,
        active: bool,
    },
    UpdateFramework {
        framework_id: FrameworkId,
        info: Box<mesos::FrameworkInfo>,
        suppressed_roles: Vec<String>,
    },
    RemoveFramework {
        framework_id: FrameworkId,
    },
    ActivateFramework {
        framework_id: FrameworkId,
    },
    DeactivateFramework {
        framework_id: FrameworkId,
    },
    /// Resources coming back (declined, rescinded, unused, task ended), with the
    /// decline filter's `refuse_seconds` if any.
    Recover {
        framework_id: FrameworkId,
        agent_id: AgentId,
        resources: Resources,
        refuse_seconds: Option<f64>,
    },
    /// A framework converted offered resources (RESERVE, CREATE, ... in an ACCEPT):
    /// `consumed` it held in `role` became `converted` (both unallocated).
    UpdateAllocation {
        framework_id: FrameworkId,
        agent_id: AgentId,
        role: String,
        consumed: Resources,
        converted: Resources,
    },
    /// The operator converted free resources of an agent (`RESERVE_RESOURCES`, ...).
    UpdateAvailable {
        agent_id: AgentId,
        consumed: Resources,
        converted: Resources,
    },
    Suppress {
        framework_id: FrameworkId,
        roles: Vec<String>,
    },
    Revive {
        framework_id: FrameworkId,
        roles: Vec<String>,
    },
    /// Role weights changed (or a new term loads them).
    UpdateWeights {
        weights: Vec<(String, f64)>,
    },
    /// A role's quota changed (the default quota removes it).
    UpdateQuota {
        role: String,
        quota: crate::allocator::Quota,
    },
    /// The agent's machine was (re)scheduled for maintenance, or left the schedule.
    UpdateUnavailability {
        agent_id: AgentId,
        unavailability: Option<mesos::Unavailability>,
    },
    /// An inverse offer ended: answered (with the answer's `refuse_seconds`), or
    /// rescinded or timed out (`None`).
    UpdateInverseOffer {
        agent_id: AgentId,
        framework_id: FrameworkId,
        refuse_seconds: Option<f64>,
    },
}

/// A timer the core wants set; it comes back through [`MasterCore::on_timer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Timer {
    /// Time to ping an agent (and count the previous ping as missed if no pong came).
    AgentPing { agent_id: AgentId, epoch: u64 },
    /// A disconnected framework's failover timeout.
    FrameworkFailover { framework_id: FrameworkId, epoch: u64 },
    /// An offer held too long.
    OfferTimeout { offer_id: OfferId },
    /// After a failover: agents that have not re-registered yet are unreachable.
    AgentReregisterTimeout,
    /// An inverse offer held too long (`--offer_timeout`).
    InverseOfferTimeout { inverse_offer_id: OfferId },
}

/// A change of state the operator API streams to its subscribers (Mesos:
/// `master::Event`: TASK_ADDED, TASK_UPDATED, AGENT_ADDED, ...).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum MasterEvent {
    TaskAdded(Box<mesos::Task>),
    TaskUpdated {
        framework_id: FrameworkId,
        status: Box<mesos::TaskStatus>,
        state: mesos::TaskState,
    },
    AgentAdded(AgentId),
    AgentRemoved(AgentId),
    FrameworkAdded(FrameworkId),
    FrameworkUpdated(FrameworkId),
    FrameworkRemoved(Box<mesos::FrameworkInfo>),
}

/// Something the actor must do for the core.
// `Send` boxes its message: `Outgoing` is as large as its largest variant (7 KB, an
// `ApplyOperationMessage`; a `RunTaskMessage` is 3 KB), and by value every output of
// every kind was that large. A re-admitted agent with 10 tasks makes about 16 outputs:
// the outbox grew to 115 KB per message and each output was copied whole into it and
// out of it. One allocation per message sent costs far less (FAIL-1, docs/benchmarks.md).
// The largest variant is now `Registry` (400 bytes, its operation by value): one per
// registry write, far rarer than sends.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Output {
    /// Send a message.
    Send {
        /// The receiver.
        to: Pid,
        /// The message.
        message: Box<Outgoing>,
    },
    /// Link to a process (to learn when it disconnects).
    Link(Pid),
    /// Call the allocator.
    Allocator(AllocatorCall),
    /// Set a timer.
    Timer {
        /// When, from now.
        after: Duration,
        /// Which.
        timer: Timer,
    },
    /// Tell operator API subscribers.
    Event(MasterEvent),
    /// Commit a change to the replicated registry, then continue with
    /// [`MasterCore::on_registry_result`].
    Registry {
        /// The change.
        operation: mesos_registrar::RegistryOperation,
        /// How to continue once it is committed.
        after: registry::AfterRegistry,
    },
    /// Answer an operator call that waited for the registry (see
    /// [`OperatorReply::Pending`]): `Ok` is `200 OK`.
    OperatorReply {
        /// The HTTP layer's number for the call.
        request: OperatorRequest,
        /// Whether the registry took the change.
        result: Result<(), String>,
    },
}

impl Output {
    /// The receiver and the message, if this output sends one.
    pub fn sent(&self) -> Option<(&Pid, &Outgoing)> {
        match self {
            Output::Send { to, message } => Some((to, message)),
            _ => None,
        }
    }
}

/// Counters behind `/metrics/snapshot` (`master/*`).
#[derive(Debug, Default, Clone)]
#[allow(missing_docs)]
pub struct Stats {
    pub valid_status_updates: u64,
    pub invalid_status_updates: u64,
    pub valid_framework_to_executor_messages: u64,
    pub invalid_framework_to_executor_messages: u64,
    pub dropped_messages: u64,
    pub slave_registrations: u64,
    pub slave_reregistrations: u64,
    pub slave_removals: u64,
    pub slave_unreachable_scheduled: u64,
    pub tasks_error: u64,
    pub tasks_dropped: u64,
    pub tasks_lost: u64,
    pub tasks_finished: u64,
    pub tasks_failed: u64,
    pub tasks_killed: u64,
    pub tasks_gone: u64,
    pub tasks_unreachable: u64,
    pub offers_declined: u64,
    pub offers_rescinded: u64,
    pub offers_accepted: u64,
    pub frameworks_removed: u64,
    /// Offer operations (other than LAUNCH) applied.
    pub operations_finished: u64,
    /// Offer operations refused (invalid, unauthorized or unsupported).
    pub operations_error: u64,
}

/// Why a message was refused. Refusals change nothing and are counted and logged; the
/// sender gets an error message where Mesos sends one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)]
pub enum MasterError {
    #[error("unknown framework {framework_id}")]
    UnknownFramework { framework_id: String },
    #[error("framework {framework_id} is not owned by {from}")]
    NotFrameworkOwner { framework_id: String, from: String },
    #[error("unknown agent {agent_id}")]
    UnknownAgent { agent_id: String },
    #[error("agent {agent_id} is not at {from}")]
    NotAgentOwner { agent_id: String, from: String },
    #[error("invalid call: {reason}")]
    InvalidCall { reason: String },
    #[error("framework {framework_id} has been removed")]
    FrameworkRemoved { framework_id: String },
    /// The ACLs deny it; the message is Mesos's (`Not authorized to ...`).
    #[error("{message}")]
    Unauthorized { message: String },
    /// The request is valid but the state does not allow it now (an operator's
    /// reservation of resources that are in use); HTTP `409 Conflict`.
    #[error("{reason}")]
    Conflict { reason: String },
}

/// The master's state and logic.
pub struct MasterCore {
    pub(crate) config: MasterConfig,
    pub(crate) info: mesos::MasterInfo,
    /// The prefix of agent and framework ids: the cluster id from the registry (this
    /// master's own id until the registry has one). Offer ids carry this master's id.
    pub(crate) id_prefix: String,
    pub(crate) next_framework: u64,
    pub(crate) next_agent: u64,
    pub(crate) next_offer: u64,
    pub(crate) agents: SharedMap<AgentId, Agent>,
    pub(crate) agents_by_pid: HashMap<Pid, AgentId>,
    pub(crate) unreachable: IdMap<AgentId, UnreachableAgent>,
    pub(crate) frameworks: SharedMap<FrameworkId, Framework>,
    pub(crate) frameworks_by_pid: HashMap<Pid, FrameworkId>,
    pub(crate) completed_frameworks: VecDeque<std::sync::Arc<Framework>>,
    pub(crate) offers: HashMap<OfferId, OfferEntry>,
    /// Senders whose registration is being written to the registry (retries are ignored).
    pub(crate) pending_pids: std::collections::HashSet<Pid>,
    /// Agents in the registry that have not re-registered since this master took over.
    pub(crate) recovered_agents: IdMap<AgentId, mesos::SlaveInfo>,
    /// Frameworks the registry says were removed (they may not come back).
    pub(crate) completed_framework_ids: std::collections::HashSet<FrameworkId>,
    /// Agents marked gone, with when (bounded like `unreachable`). Mesos `slaves.gone`.
    pub(crate) gone: IdMap<AgentId, Time>,
    /// Agents being marked gone in the registry. Mesos `slaves.markingGone`.
    pub(crate) marking_gone: std::collections::HashSet<AgentId>,
    /// Deactivated agents (no offers). Mesos `slaves.deactivated`.
    pub(crate) deactivated: std::collections::HashSet<AgentId>,
    /// Draining and drained agents. Mesos `slaves.draining`.
    pub(crate) draining: HashMap<AgentId, mesos::DrainInfo>,
    /// When this master told each draining agent to drain (Mesos
    /// `Slave::estimatedDrainStartTime`; not in the registry, so a new leader has none).
    /// At most one per known agent: removed on reactivation or when the agent is gone.
    pub(crate) drain_start_times: HashMap<AgentId, Time>,
    /// DRAINING agents whose DRAINED state is being written to the registry.
    pub(crate) draining_pending: std::collections::HashSet<AgentId>,
    /// The maintenance schedule (Mesos keeps one).
    pub(crate) schedule: Option<mesos::maintenance::Schedule>,
    /// Scheduled machines with their mode, by `(hostname, ip)`. Mesos `machines`.
    pub(crate) machines: std::collections::BTreeMap<maintenance::MachineKey, mesos::MachineInfo>,
    /// Outstanding inverse offers and the frameworks' answers.
    pub(crate) inverse_offers: inverse_offers::InverseOffers,
    pub(crate) outbox: Vec<Output>,
    pub(crate) stats: Stats,
    pub(crate) epoch: u64,
    pub(crate) start_time: Time,
    pub(crate) elected_time: Time,
    /// Role weights in force (`--weights`, then the registry's).
    pub(crate) weights: std::collections::BTreeMap<String, f64>,
    /// Quota configs in force, by role (from the registry).
    pub(crate) quota_configs: std::collections::BTreeMap<String, mesos::quota::QuotaConfig>,
    /// Operations with an id, until their terminal status is acknowledged.
    pub(crate) operations: operations_feedback::OperationBook,
    /// Whether anyone streams the operator API's events ([`Self::set_operator_subscribers`]):
    /// without subscribers no `TaskAdded` event is made, each a copy of a whole task (a
    /// quarter of the work of re-admitting an agent with 10 tasks after a failover), and
    /// no `TaskUpdated`, a copy of each status update.
    pub(crate) task_events: bool,
}

impl MasterCore {
    /// A master with no agents or frameworks, started at `now`.
    pub fn new(config: MasterConfig, now: Time) -> MasterCore {
        let info = master_info(&config);
        let weights = config.weights.iter().cloned().collect();
        MasterCore {
            id_prefix: config.id.clone(),
            config,
            info,
            next_framework: 0,
            next_agent: 0,
            next_offer: 0,
            agents: SharedMap::new(),
            agents_by_pid: HashMap::new(),
            unreachable: IdMap::default(),
            frameworks: SharedMap::new(),
            frameworks_by_pid: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            offers: HashMap::new(),
            pending_pids: Default::default(),
            recovered_agents: IdMap::default(),
            completed_framework_ids: Default::default(),
            gone: IdMap::default(),
            marking_gone: Default::default(),
            deactivated: Default::default(),
            draining: HashMap::new(),
            drain_start_times: HashMap::new(),
            draining_pending: Default::default(),
            schedule: None,
            machines: Default::default(),
            inverse_offers: Default::default(),
            outbox: Vec::new(),
            task_events: false,
            stats: Stats::default(),
            epoch: 0,
            start_time: now,
            elected_time: now,
            weights,
            quota_configs: Default::default(),
            operations: Default::default(),
        }
    }

    /// Takes the outputs queued so far.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outbox)
    }

    /// True while the outbox holds only pings and ping timers: after a pong or a ping
    /// period that did nothing else, nothing the state endpoints show has changed
    /// (`pings_missed` is not shown; marking an agent unreachable goes through the
    /// registry, an output).
    pub fn only_pings_pending(&self) -> bool {
        self.outbox.iter().all(|output| match output {
            Output::Send { message, .. } => matches!(**message, Outgoing::PingSlave(_)),
            Output::Timer { timer, .. } => matches!(timer, Timer::AgentPing { .. }),
            _ => false,
        })
    }

    /// This master's `MasterInfo`.
    pub fn info(&self) -> &mesos::MasterInfo {
        &self.info
    }

    /// The configuration.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// Registered agents.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// Agents marked unreachable.
    pub fn unreachable_agents(&self) -> impl Iterator<Item = (&AgentId, &UnreachableAgent)> {
        self.unreachable.iter()
    }

    /// Registered frameworks (connected or not).
    pub fn frameworks(&self) -> impl Iterator<Item = &Framework> {
        self.frameworks.values()
    }

    /// Frameworks that were removed, most recent last.
    pub fn completed_frameworks(&self) -> impl Iterator<Item = &Framework> {
        self.completed_frameworks.iter().map(|f| &**f)
    }

    /// Registered agents, shared (a snapshot keeps them without copying).
    pub fn shared_agents(&self) -> impl Iterator<Item = &std::sync::Arc<Agent>> {
        self.agents.shared_values()
    }

    /// Registered frameworks, shared (a snapshot keeps them without copying).
    pub fn shared_frameworks(&self) -> impl Iterator<Item = &std::sync::Arc<Framework>> {
        self.frameworks.shared_values()
    }

    /// Removed frameworks, most recent last, shared.
    pub fn shared_completed_frameworks(&self) -> impl Iterator<Item = &std::sync::Arc<Framework>> {
        self.completed_frameworks.iter()
    }

    /// Outstanding offers.
    pub fn offers(&self) -> impl Iterator<Item = &OfferEntry> {
        self.offers.values()
    }

    /// A framework by id.
    pub fn framework(&self, id: &FrameworkId) -> Option<&Framework> {
        self.frameworks.get(id)
    }

    /// Whether the debug timeline ([`crate::TIMELINE`]) follows `framework_id` now: the
    /// timeline is enabled and the framework is on its first task. The level is checked
    /// first, so the launch and status-update paths pay no framework lookup for it when
    /// the timeline is off.
    pub(crate) fn timeline_follows(&self, framework_id: &FrameworkId) -> bool {
        tracing::enabled!(target: crate::TIMELINE, tracing::Level::DEBUG)
            && self.frameworks.get(framework_id).is_some_and(Framework::on_first_task)
    }

    /// An agent by id.
    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    /// The principal of the registered framework whose scheduler is at `pid`, if it
    /// has one (for the per-principal message counters).
    pub fn principal_of(&self, pid: &Pid) -> Option<String> {
        let framework_id = self.frameworks_by_pid.get(pid)?;
        self.frameworks.get(framework_id)?.info.principal.clone()
    }

    /// True while `pid` is the pid of a framework's scheduler or of an agent the master
    /// knows (connected or not).
    pub fn knows_pid(&self, pid: &Pid) -> bool {
        self.agents_by_pid.contains_key(pid) || self.frameworks_by_pid.contains_key(pid)
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// When this master started and was elected.
    pub fn start_and_elected_time(&self) -> (Time, Time) {
        (self.start_time, self.elected_time)
    }

    pub(crate) fn send(&mut self, to: &Pid, message: Outgoing) {
        self.outbox.push(Output::Send { to: to.clone(), message: Box::new(message) });
    }

    pub(crate) fn allocator(&mut self, call: AllocatorCall) {
        self.outbox.push(Output::Allocator(call));
    }

    pub(crate) fn timer(&mut self, after: Duration, timer: Timer) {
        self.outbox.push(Output::Timer { after, timer });
    }

    pub(crate) fn event(&mut self, event: MasterEvent) {
        self.outbox.push(Output::Event(event));
    }

    /// Tells the core whether the operator API has subscribers, who are the only readers
    /// of `TaskAdded` and `TaskUpdated` events: the actor says so whenever its set of subscribers changes
    /// and whenever it replaces the core.
    pub fn set_operator_subscribers(&mut self, any: bool) {
        self.task_events = any;
    }

    /// A `TaskAdded` event for `task`, if anyone subscribed to events.
    pub(crate) fn task_added(&mut self, task: &mesos::Task) {
        if self.task_events {
            self.event(MasterEvent::TaskAdded(Box::new(task.clone())));
        }
    }

    pub(crate) fn next_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// A timer fired.
    pub fn on_timer(&mut self, timer: Timer, now: Time) {
        match timer {
            Timer::AgentPing { agent_id, epoch } => {
                self.on_agent_ping_timeout(&agent_id, epoch, now)
            }
            Timer::FrameworkFailover { framework_id, epoch } => {
                self.on_framework_failover_timeout(&framework_id, epoch, now)
            }
            Timer::OfferTimeout { offer_id } => self.on_offer_timeout(&offer_id),
            Timer::AgentReregisterTimeout => self.on_agent_reregister_timeout(now),
            Timer::InverseOfferTimeout { inverse_offer_id } => {
                self.on_inverse_offer_timeout(&inverse_offer_id)
            }
        }
    }

    /// A linked process went away: an agent or a framework disconnected.
    pub fn on_exited(&mut self, pid: &Pid, now: Time) {
        if let Some(agent_id) = self.agents_by_pid.get(pid).cloned() {
            self.on_agent_disconnected(&agent_id);
        }
        if let Some(framework_id) = self.frameworks_by_pid.get(pid).cloned() {
            self.on_framework_disconnected(&framework_id, now);
        }
    }
}

fn master_info(config: &MasterConfig) -> mesos::MasterInfo {
    let address = config.pid.address();
    let ip = match address.ip() {
        // Mesos stores the IPv4 address in network byte order in a uint32.
        std::net::IpAddr::V4(v4) => u32::from_ne_bytes(v4.octets()),
        std::net::IpAddr::V6(_) => 0,
    };
    mesos::MasterInfo {
        id: config.id.clone(),
        ip,
        port: u32::from(address.port()),
        pid: Some(config.pid.to_string()),
        hostname: Some(config.hostname.clone()),
        version: Some(config.version.clone()),
        address: Some(mesos::Address {
            hostname: Some(config.hostname.clone()),
            ip: Some(address.ip().to_string()),
            port: i32::from(address.port()),
        }),
        domain: None,
        capabilities: vec![mesos::master_info::Capability {
            r#type: Some(mesos::master_info::capability::Type::AgentUpdate as i32),
        }],
    }
}

#[cfg(test)]
mod check_validation_tests;
#[cfg(test)]
mod draining_tests;
#[cfg(test)]
mod launch_group_tests;
#[cfg(test)]
pub(crate) mod tests;
