//! What the master knows: agents, frameworks, offers. Tasks live in their framework;
//! agents keep an index of them.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::shared::{IdMap, IdSet, SharedMap};

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use mesos_proto::mesos;
use mesos_proto::resources::Resources;

/// An agent's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Registered and connected: its resources are offered.
    Active,
    /// Its connection broke; it keeps its tasks, gets no offers, and is pinged until it
    /// comes back or is marked unreachable.
    Disconnected,
}

/// A registered agent.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Its libprocess pid (`slave(1)@ip:port`).
    pub pid: Pid,
    /// What it said about itself, with `id` filled in.
    pub info: mesos::SlaveInfo,
    /// The Mesos version it runs.
    pub version: String,
    /// Its capabilities.
    pub capabilities: Vec<mesos::slave_info::Capability>,
    /// Its total resources.
    pub total: Resources,
    /// Connection state.
    pub state: AgentState,
    /// When it registered with this master.
    pub registered_time: Time,
    /// When it last re-registered.
    pub reregistered_time: Option<Time>,
    /// Tasks on it, by framework (the tasks themselves are in the framework).
    pub tasks: IdMap<FrameworkId, IdSet<TaskId>>,
    /// Executors on it, by framework.
    pub executors: HashMap<FrameworkId, HashMap<ExecutorId, mesos::ExecutorInfo>>,
    /// Outstanding offers of its resources.
    pub offers: HashSet<OfferId>,
    /// Resources used by tasks and executors, by framework (allocation-tagged).
    pub used: IdMap<FrameworkId, Resources>,
    /// Pings sent without a pong since the last pong.
    pub pings_missed: u32,
    /// Whether a pong came since the last ping.
    pub pong_received: bool,
    /// Identifies the current ping timer chain.
    pub ping_epoch: u64,
}

impl Agent {
    /// A newly (re-)admitted agent, active, with nothing on it yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: AgentId,
        pid: Pid,
        info: mesos::SlaveInfo,
        version: String,
        capabilities: Vec<mesos::slave_info::Capability>,
        total: Resources,
        registered_time: Time,
        reregistered_time: Option<Time>,
    ) -> Agent {
        Agent {
            id,
            pid,
            info,
            version,
            capabilities,
            total,
            state: AgentState::Active,
            registered_time,
            reregistered_time,
            tasks: IdMap::default(),
            executors: HashMap::new(),
            offers: HashSet::new(),
            used: IdMap::default(),
            pings_missed: 0,
            pong_received: true,
            ping_epoch: 0,
        }
    }

    /// Resources in use (tasks and executors) plus offered.
    pub fn used_total(&self) -> Resources {
        self.used.values().sum()
    }
}

/// An agent that stopped answering pings.
#[derive(Debug, Clone)]
pub struct UnreachableAgent {
    /// What it said about itself.
    pub info: mesos::SlaveInfo,
    /// When it was marked unreachable.
    pub time: Time,
}

/// A framework's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameworkState {
    /// Connected: gets offers and events.
    Active,
    /// Disconnected (or deactivated): no offers; removed when its failover timeout expires.
    Inactive,
    /// Known only from re-registering agents' reports (after a master failover); waits for
    /// the scheduler to re-subscribe.
    Recovered,
}

/// A registered framework.
#[derive(Debug, Clone)]
pub struct Framework {
    /// Its id.
    pub id: FrameworkId,
    /// What it said about itself, with `id` filled in.
    pub info: mesos::FrameworkInfo,
    /// Where its scheduler is (`None` while recovered and not yet re-subscribed).
    pub pid: Option<Pid>,
    /// Connection state.
    pub state: FrameworkState,
    /// The roles it is subscribed to.
    pub roles: BTreeSet<String>,
    /// Roles it asked not to get offers for.
    pub suppressed_roles: BTreeSet<String>,
    /// Its tasks that are not yet completed (including terminal ones not yet acknowledged).
    pub tasks: SharedMap<TaskId, mesos::Task>,
    /// Its completed tasks, most recent last (bounded), shared with snapshots.
    pub completed_tasks: VecDeque<Arc<mesos::Task>>,
    /// Its outstanding offers.
    pub offers: HashSet<OfferId>,
    /// Its executors, by agent.
    pub executors: HashMap<AgentId, HashMap<ExecutorId, mesos::ExecutorInfo>>,
    /// When it registered.
    pub registered_time: Time,
    /// When it last re-registered.
    pub reregistered_time: Option<Time>,
    /// When it disconnected or was removed.
    pub unregistered_time: Option<Time>,
    /// Identifies the current failover timer.
    pub failover_epoch: u64,
}

impl Framework {
    /// A framework just added in `state`, with no tasks, offers or executors.
    pub fn new(
        id: FrameworkId,
        info: mesos::FrameworkInfo,
        pid: Option<Pid>,
        state: FrameworkState,
        suppressed_roles: BTreeSet<String>,
        now: Time,
    ) -> Framework {
        Framework {
            roles: super::frameworks::framework_roles(&info),
            id,
            info,
            pid,
            state,
            suppressed_roles,
            tasks: SharedMap::new(),
            completed_tasks: VecDeque::new(),
            offers: HashSet::new(),
            executors: HashMap::new(),
            registered_time: now,
            reregistered_time: None,
            unregistered_time: None,
            failover_epoch: 0,
        }
    }

    /// True if the framework has the given capability.
    pub fn has_capability(&self, capability: mesos::framework_info::capability::Type) -> bool {
        self.info.capabilities.iter().any(|c| c.r#type() == capability)
    }

    /// True if it asked for TASK_UNREACHABLE/TASK_GONE/TASK_UNKNOWN rather than TASK_LOST.
    pub fn partition_aware(&self) -> bool {
        self.has_capability(mesos::framework_info::capability::Type::PartitionAware)
    }

    /// True until it launched more than one task: a new framework's first task is what
    /// the debug timeline follows (target `timeline`, see [`crate::TIMELINE`]).
    pub fn on_first_task(&self) -> bool {
        self.completed_tasks.is_empty() && self.tasks.len() <= 1
    }

    /// True when connected.
    pub fn active(&self) -> bool {
        self.state == FrameworkState::Active
    }

    /// Where to send it messages: its pid, only while it is connected.
    pub fn active_pid(&self) -> Option<Pid> {
        if self.active() { self.pid.clone() } else { None }
    }
}

/// An outstanding offer.
#[derive(Debug, Clone)]
pub struct OfferEntry {
    /// The offer as sent.
    pub offer: mesos::Offer,
    /// Its id.
    pub id: OfferId,
    /// To whom.
    pub framework_id: FrameworkId,
    /// Of which agent.
    pub agent_id: AgentId,
    /// The offered resources (allocation-tagged with the role).
    pub resources: Resources,
}
