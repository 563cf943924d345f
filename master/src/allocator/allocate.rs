//! One allocation round: which framework is offered what, where.
//!
//! For each agent, in a fresh random order each round:
//!
//! 1. Walk the roles in DRF order (the role sorter: lowest weighted
//!    dominant share first, sub-roles within their parent).
//! 2. Within a role, walk its frameworks in DRF order (suppressed and
//!    inactive frameworks are not in the order).
//! 3. Offer the first framework that can take them all of the agent's free
//!    resources that the role may use, unless
//!    - the framework cannot receive them (multi-role framework on an agent
//!      that is not, hierarchical role on an agent that does not know
//!      them, an agent with GPUs and a framework without `GPU_RESOURCES`),
//!    - they are less than the minimum allocatable resources, or
//!    - a decline filter of the framework covers them.
//! 4. Count the offer as allocated in both sorters at once, so the next
//!    agent sees the new shares; stop with this agent when nothing is free.
//!
//! Mesos: `hierarchical.cpp HierarchicalAllocatorProcess::__generateOffers`,
//! second stage (the first stage, for quota guarantees, is not ported).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::core::{AgentIdx, Allocator, FwIdx, RoleIdx};
use super::filters::IndexMap;
use super::resources::AllocatorResources;
use super::types::Allocation;
use mesos_proto::resources::ResourceQuantities;

impl<R: AllocatorResources> Allocator<R> {
    /// A batch allocation over every active agent (the
    /// `--allocation_interval` tick). `now` expires decline filters.
    pub fn allocate(&mut self, now: Duration) -> Vec<Allocation<R>> {
        self.candidates.clear();
        let agents: Vec<AgentIdx> = self.agents.indices().collect();
        self.allocate_agents(now, agents)
    }

    /// An event-triggered allocation over only the agents that events
    /// touched since the last round (a new agent, a revive, ...).
    pub fn allocate_candidates(&mut self, now: Duration) -> Vec<Allocation<R>> {
        let agents: Vec<AgentIdx> = self.candidates.drain().collect();
        self.allocate_agents(now, agents)
    }

    fn allocate_agents(&mut self, now: Duration, mut agents: Vec<AgentIdx>) -> Vec<Allocation<R>> {
        self.allocation_runs += 1;
        let round = self.allocation_runs;
        self.expire_filters(now, round);
        agents.retain(|&a| self.agents.at(a).active);
        // Index order first, so the shuffle alone decides and replays.
        agents.sort_unstable();
        self.rng.shuffle(&mut agents);

        let mut out = Offers::default();
        let mut role_order: Vec<RoleIdx> = Vec::new();
        let ctx = RoundContext { now, round };
        let mut framework_order: Vec<FwIdx> = Vec::new();
        for &a in &agents {
            role_order.clear();
            role_order.extend_from_slice(self.role_sorter.sort());
            for &r in &role_order {
                if self.agents.at(a).available.is_empty() {
                    break;
                }
                self.allocate_role_on_agent(ctx, a, r, &mut framework_order, &mut out);
            }
        }
        out.allocations
    }

    /// Steps 2-4 for one role on one agent.
    fn allocate_role_on_agent(
        &mut self,
        ctx: RoundContext,
        a: AgentIdx,
        r: RoleIdx,
        framework_order: &mut Vec<FwIdx>,
        out: &mut Offers<R>,
    ) {
        let role = self.roles.at_mut(r);
        let role_name: Arc<str> = role.name.clone();
        framework_order.clear();
        framework_order.extend_from_slice(role.sorter.sort());
        let hierarchical = role_name.contains('/');

        let mut available = self.agents.at(a).available.allocatable_to(&role_name);
        let mut globally_allocatable = self.allocatable(&available, None);
        for &fw in framework_order.iter() {
            if available.is_empty() {
                break;
            }
            let agent = self.agents.at(a);
            let framework = self.frameworks.at(fw);
            let capabilities = &framework.spec.capabilities;

            // Mesos: isFiltered (implicit filters) and isCapableOfReceivingAgent.
            if (capabilities.multi_role && !agent.spec.capabilities.multi_role)
                || (hierarchical && !agent.spec.capabilities.hierarchical_role)
                || (self.config.filter_gpu_resources
                    && agent.has_gpu
                    && !capabilities.gpu_resources)
            {
                continue;
            }
            let minimum = framework.spec.min_allocatable_resources.get(&*role_name);
            let allocatable = match minimum {
                None => globally_allocatable,
                Some(_) => self.allocatable(&available, minimum),
            };
            if !allocatable {
                continue;
            }
            let stripped = available.strip_incapable(capabilities);
            if let Some(stripped) = &stripped
                && !self.allocatable(stripped, minimum)
            {
                continue;
            }
            let to_offer = stripped.as_ref().unwrap_or(&available);
            let filtered = agent.filters.get(&(fw, r)).is_some_and(|filters| {
                filters
                    .iter()
                    .any(|f| f.applies(ctx.now, ctx.round) && f.refused.contains(to_offer))
            });
            if filtered {
                continue;
            }

            let to_offer = stripped.unwrap_or_else(|| available.clone());
            self.track_allocated(a, fw, &role_name, &to_offer);
            out.add(fw, a, &role_name, to_offer, self);
            available = self.agents.at(a).available.allocatable_to(&role_name);
            globally_allocatable = self.allocatable(&available, None);
        }
    }

    /// True when `resources` are worth offering: not empty, and covering
    /// one of the minimum allocatable bundles (the framework's own for the
    /// role if given, else the configured ones; none configured = any).
    // Mesos: hierarchical.cpp allocatable.
    fn allocatable(
        &self,
        resources: &R,
        framework_minimum: Option<&Vec<ResourceQuantities>>,
    ) -> bool {
        if resources.is_empty() {
            return false;
        }
        let minimum = framework_minimum.unwrap_or(&self.config.min_allocatable_resources);
        minimum.is_empty() || minimum.iter().any(|q| resources.contains_quantities(q))
    }
}

/// The time and number of the round being run.
#[derive(Clone, Copy)]
struct RoundContext {
    now: Duration,
    round: u64,
}

/// The round's output, one entry per (framework, agent).
struct Offers<R> {
    allocations: Vec<Allocation<R>>,
    index: IndexMap<(FwIdx, AgentIdx), usize>,
}

impl<R> Default for Offers<R> {
    fn default() -> Self {
        Offers { allocations: Vec::new(), index: IndexMap::default() }
    }
}

impl<R: AllocatorResources> Offers<R> {
    fn add(&mut self, fw: FwIdx, a: AgentIdx, role: &str, resources: R, allocator: &Allocator<R>) {
        let i = *self.index.entry((fw, a)).or_insert_with(|| {
            self.allocations.push(Allocation {
                framework_id: allocator.frameworks.at(fw).id.clone(),
                agent_id: allocator.agents.at(a).id.clone(),
                resources: BTreeMap::new(),
            });
            self.allocations.len() - 1
        });
        self.allocations[i].resources.entry(role.to_string()).or_default().add(&resources);
    }
}
