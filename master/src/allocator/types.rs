//! The allocator's vocabulary: IDs, capabilities, configuration, inputs,
//! outputs and errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use mesos_proto::resources::ResourceQuantities;

// The ids are `mesos_proto`'s, the same the master core uses: the allocator
// names frameworks and agents exactly as the rest of the master does.
pub use mesos_proto::ids::{AgentId, FrameworkId};

/// The framework capabilities the allocator looks at
/// (Mesos: `FrameworkInfo.Capability`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FrameworkCapabilities {
    /// `MULTI_ROLE`: the framework may subscribe to several roles; it is
    /// only offered resources of agents that are multi-role capable.
    pub multi_role: bool,
    /// `GPU_RESOURCES`: may be offered agents that have GPUs.
    pub gpu_resources: bool,
    /// `REVOCABLE_RESOURCES`: may be offered revocable resources.
    pub revocable_resources: bool,
    /// `SHARED_RESOURCES`: may be offered shared persistent volumes.
    pub shared_resources: bool,
    /// `RESERVATION_REFINEMENT`: understands refined reservations.
    pub reservation_refinement: bool,
}

/// The agent capabilities the allocator looks at
/// (Mesos: `SlaveInfo.Capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgentCapabilities {
    /// `MULTI_ROLE`: resources can be allocated to several roles.
    pub multi_role: bool,
    /// `HIERARCHICAL_ROLE`: understands roles like `a/b`.
    pub hierarchical_role: bool,
}

impl Default for AgentCapabilities {
    /// Every agent of this project is multi-role and hierarchical-role capable.
    fn default() -> Self {
        AgentCapabilities { multi_role: true, hierarchical_role: true }
    }
}

/// Allocator settings fixed at start (Mesos: `allocator::Options`).
#[derive(Debug, Clone)]
pub struct AllocatorConfig {
    /// `--allocation_interval`: decline filters last at least this long, so
    /// a filter never expires before the next batch allocation (MESOS-4302).
    pub allocation_interval: Duration,
    /// `--min_allocatable_resources`: an offer must cover at least one of
    /// these; empty means anything non-empty may be offered.
    /// Mesos's default is `cpus:0.01` or `mem:32`.
    pub min_allocatable_resources: Vec<ResourceQuantities>,
    /// `--fair_sharing_excluded_resource_names`.
    pub fairness_excluded_resource_names: BTreeSet<String>,
    /// `--filter_gpu_resources`: only GPU-capable frameworks are offered
    /// agents that have GPUs.
    pub filter_gpu_resources: bool,
    /// Seed of the agent shuffle done each round, so runs replay.
    pub seed: u64,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            allocation_interval: Duration::from_secs(1),
            // Mesos: master/constants.hpp MIN_CPUS, MIN_MEM.
            min_allocatable_resources: vec![
                ResourceQuantities::single("cpus", 0.01),
                ResourceQuantities::single("mem", 32.0),
            ],
            fairness_excluded_resource_names: BTreeSet::new(),
            filter_gpu_resources: true,
            seed: 0,
        }
    }
}

/// A role's quota (Mesos 1.9+: `Quota` of `master/quota.hpp`).
///
/// The allocator sets aside enough unreserved resources (headroom) for every
/// role to reach its guarantees, and never lets a role's consumption of
/// unreserved resources pass its limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quota {
    /// Resources the role is guaranteed (empty: none).
    pub guarantees: ResourceQuantities,
    /// Largest amount of each named resource the role may consume; a name
    /// not listed is unlimited (a limit of zero is a real limit).
    pub limits: BTreeMap<String, f64>,
}

impl Quota {
    /// True for the default quota: no guarantees and no limits.
    pub fn is_default(&self) -> bool {
        self.guarantees.is_empty() && self.limits.is_empty()
    }
}

/// What the allocator needs to know about a framework
/// (from `FrameworkInfo` and the subscribe call).
#[derive(Debug, Clone, Default)]
pub struct FrameworkSpec {
    /// Roles the framework subscribes to (one, or several if `MULTI_ROLE`).
    pub roles: BTreeSet<String>,
    /// Roles for which it wants no offers now (`suppressed_roles`).
    pub suppressed_roles: BTreeSet<String>,
    /// Its capabilities.
    pub capabilities: FrameworkCapabilities,
    /// Per-role override of the minimum allocatable resources
    /// (`FrameworkInfo.offer_filters[role].min_allocatable_resources`).
    pub min_allocatable_resources: HashMap<String, Vec<ResourceQuantities>>,
}

/// What the allocator needs to know about an agent.
#[derive(Debug, Clone, Default)]
pub struct AgentSpec {
    /// The agent's hostname, for logs.
    pub hostname: String,
    /// Its capabilities.
    pub capabilities: AgentCapabilities,
}

/// Resources used on an agent by one framework in one role: tasks and
/// executors it reports when (re-)registering, or held offers.
#[derive(Debug, Clone)]
pub struct Used<R> {
    /// The framework holding them.
    pub framework_id: FrameworkId,
    /// The role they are allocated to.
    pub role: String,
    /// The resources.
    pub resources: R,
}

/// One output of an allocation round: resources of one agent offered to
/// one framework, grouped by the role they are allocated to. The master
/// turns each into one offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation<R> {
    /// Who is offered the resources.
    pub framework_id: FrameworkId,
    /// Where the resources are.
    pub agent_id: AgentId,
    /// The resources, by role.
    pub resources: BTreeMap<String, R>,
}

/// Why an allocator input was refused. State is unchanged in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocatorError {
    /// No framework with this ID is known.
    #[error("unknown framework {framework_id}")]
    UnknownFramework {
        /// The ID given.
        framework_id: FrameworkId,
    },
    /// No agent with this ID is known.
    #[error("unknown agent {agent_id}")]
    UnknownAgent {
        /// The ID given.
        agent_id: AgentId,
    },
    /// A framework with this ID was already added.
    #[error("framework {framework_id} already added")]
    FrameworkExists {
        /// The ID given.
        framework_id: FrameworkId,
    },
    /// An agent with this ID was already added.
    #[error("agent {agent_id} already added")]
    AgentExists {
        /// The ID given.
        agent_id: AgentId,
    },
    /// A framework id breaks Mesos's id rules (empty, `.`, `..`, a `/`, a control
    /// character): it would be an invalid path in the role sorters.
    #[error("invalid framework id '{framework_id}': {reason}")]
    InvalidFrameworkId {
        /// The id given.
        framework_id: FrameworkId,
        /// What is wrong with it.
        reason: String,
    },
    /// A role name breaks Mesos's rules (`mesos_proto::resources::roles::validate`).
    #[error("invalid role '{role}': {reason}")]
    InvalidRole {
        /// The role given.
        role: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A role is not one the framework subscribes to.
    #[error("framework {framework_id} is not subscribed to role '{role}'")]
    NotSubscribed {
        /// The framework.
        framework_id: FrameworkId,
        /// The role.
        role: String,
    },
    /// Resources being returned are not held by that framework there.
    #[error(
        "framework {framework_id} does not hold {resources} in role '{role}' on agent {agent_id}"
    )]
    NotHeld {
        /// The framework.
        framework_id: FrameworkId,
        /// The agent.
        agent_id: AgentId,
        /// The role.
        role: String,
        /// The resources, printed.
        resources: String,
    },
    /// Resources to convert are not free on the agent (offered or in use).
    #[error("{resources} are not available on agent {agent_id}")]
    NotAvailable {
        /// The agent.
        agent_id: AgentId,
        /// The resources, printed.
        resources: String,
    },
    /// A quota limit is not a finite number >= 0.
    #[error("invalid quota limit {limit} of '{name}' for role '{role}'")]
    InvalidQuota {
        /// The role.
        role: String,
        /// The resource name.
        name: String,
        /// The limit given, printed.
        limit: String,
    },
    /// A weight is not a positive finite number.
    #[error("invalid weight {weight} for role '{role}'")]
    InvalidWeight {
        /// The role.
        role: String,
        /// The weight given, printed.
        weight: String,
    },
}
