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
//! When some role has a quota, the round runs twice over the agents: first
//! only for roles below their guarantees, then for everyone, each offer cut
//! to the role's limits and to the headroom held back for guarantees (see
//! `quota.rs`). Without quotas only the second stage runs, uncut.
//!
//! Mesos: `hierarchical.cpp HierarchicalAllocatorProcess::__generateOffers`.
//!
//! # Cost
//! A round visits every agent and, per agent, walks the frameworks of each role until
//! one takes the offer, so what is done per agent and per framework visited decides
//! the round's cost (ALLOC-1 in `docs/benchmarks.md`: 10,000 agents x 1,000
//! frameworks in about 60 ms on `Resources` with port ranges). Per agent: the sorters'
//! orders are cached (`sorter.rs`), the role's part of the free resources is copied only
//! when something is reserved to another role, and an offer of all the free resources
//! moves them out of the agent. Per framework visited: capability checks, and decline
//! filters, whose refused bundles are shared between the filters of one agent
//! (`Allocator::shared_refused`) so a bundle is checked against the agent once.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use super::core::{AgentIdx, Allocator, FwIdx, RoleIdx};
use super::filters::IndexMap;
use super::quota::{QuotaRound, Stage};
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
        let ctx = RoundContext { now, round };
        let mut quota = self.quota_round();
        if quota.is_some() {
            self.run_stage(ctx, Stage::Guarantees, &agents, &mut quota, &mut out);
            // Mesos shuffles again, so the first stage's bias to the front of
            // the list does not carry over.
            self.rng.shuffle(&mut agents);
        }
        self.run_stage(ctx, Stage::Rest, &agents, &mut quota, &mut out);
        out.allocations
    }

    /// One pass over the agents: step 1 for each, then steps 2-4 per role.
    /// In the guarantees stage only roles below their guarantees take part.
    fn run_stage(
        &mut self,
        ctx: RoundContext,
        stage: Stage,
        agents: &[AgentIdx],
        quota: &mut Option<QuotaRound>,
        out: &mut Offers<R>,
    ) {
        let mut role_order: Vec<RoleIdx> = Vec::new();
        let mut framework_order: Vec<FwIdx> = Vec::new();
        for &a in agents {
            role_order.clear();
            role_order.extend_from_slice(self.role_sorter.sort());
            for &r in &role_order {
                if self.agents.at(a).available.is_empty() {
                    break;
                }
                if stage == Stage::Guarantees
                    && quota
                        .as_ref()
                        .is_none_or(|q| q.unsatisfied(&self.roles.at(r).name).is_empty())
                {
                    continue;
                }
                let role = RoleContext { stage, r };
                self.allocate_role_on_agent(ctx, role, a, &mut framework_order, quota, out);
            }
        }
    }

    /// Steps 2-4 for one role on one agent.
    fn allocate_role_on_agent(
        &mut self,
        ctx: RoundContext,
        role: RoleContext,
        a: AgentIdx,
        framework_order: &mut Vec<FwIdx>,
        quota: &mut Option<QuotaRound>,
        out: &mut Offers<R>,
    ) {
        let r = role.r;
        let role_name: Arc<str> = self.roles.at(r).name.clone();
        framework_order.clear();
        framework_order.extend_from_slice(self.roles.at_mut(r).sorter.sort());

        // What the role may use of the agent's free resources; `None` when that is
        // all of them (nothing reserved to another role), so nothing is copied.
        let mut restricted = self.agents.at(a).available.allocatable_to(&role_name);
        let mut globally_allocatable =
            self.allocatable(restricted.as_ref().unwrap_or(&self.agents.at(a).available), None);
        // The last filter bundle checked against the uncut free resources, and the
        // answer; reset when they change.
        let mut memo: FilterMemo<R> = None;
        for &fw in framework_order.iter() {
            let available = restricted.as_ref().unwrap_or(&self.agents.at(a).available);
            if available.is_empty() {
                break;
            }
            if !self.can_receive(a, fw, &role_name) {
                continue;
            }
            let capabilities = &self.frameworks.at(fw).spec.capabilities;
            let minimum = self.frameworks.at(fw).spec.min_allocatable_resources.get(&*role_name);
            let allocatable = match minimum {
                None => globally_allocatable,
                Some(_) => self.allocatable(available, minimum),
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
            // Cut to the role's quota limits and the headroom (quota.rs).
            let shaped = match quota.as_ref() {
                None => None,
                Some(q) => {
                    match q.shape(role.stage, &role_name, stripped.as_ref().unwrap_or(available)) {
                        Some(shaped) if self.allocatable(&shaped, minimum) => Some(shaped),
                        _ => continue,
                    }
                }
            };
            let uncut = shaped.is_none() && stripped.is_none();
            let to_offer = shaped.as_ref().or(stripped.as_ref()).unwrap_or(available);
            let filtered = self.agents.at(a).filters.get(&(fw, r)).is_some_and(|filters| {
                filters.iter().any(|f| {
                    f.applies(ctx.now, ctx.round)
                        && covers(&f.refused, to_offer, uncut.then_some(&mut memo))
                })
            });
            if filtered {
                continue;
            }

            // The offer owns its resources: a cut made above, else the role's part
            // (moved, it is recomputed below), else all the agent has free (moved out
            // of the agent: nothing to copy, nothing left to subtract).
            let cut = shaped.or(stripped);
            let whole = cut.is_none() && restricted.is_none();
            let to_offer = match (cut, restricted.take()) {
                (Some(cut), _) => cut,
                (None, Some(part)) => part,
                (None, None) => std::mem::take(&mut self.agents.at_mut(a).available),
            };
            if let Some(q) = quota.as_mut() {
                q.offered(&role_name, &to_offer);
            }
            if whole {
                self.track_offered_whole(a, fw, r, &to_offer);
            } else {
                self.track_allocated_in(a, fw, r, &to_offer);
            }
            out.add(fw, a, &role_name, to_offer, self);
            memo = None;
            restricted = self.agents.at(a).available.allocatable_to(&role_name);
            globally_allocatable =
                self.allocatable(restricted.as_ref().unwrap_or(&self.agents.at(a).available), None);
            if role.stage == Stage::Guarantees
                && quota.as_ref().is_none_or(|q| q.unsatisfied(&role_name).is_empty())
            {
                break;
            }
        }
    }

    /// False when the framework cannot be offered this agent's resources in
    /// this role at all: a multi-role framework on an agent that is not, a
    /// hierarchical role on an agent that does not know them, or GPUs to a
    /// framework without `GPU_RESOURCES`.
    // Mesos: isFiltered (implicit filters) and isCapableOfReceivingAgent.
    fn can_receive(&self, a: AgentIdx, fw: FwIdx, role: &str) -> bool {
        let agent = self.agents.at(a);
        let capabilities = &self.frameworks.at(fw).spec.capabilities;
        !((capabilities.multi_role && !agent.spec.capabilities.multi_role)
            || (role.contains('/') && !agent.spec.capabilities.hierarchical_role)
            || (self.config.filter_gpu_resources && agent.has_gpu && !capabilities.gpu_resources))
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

/// A filter bundle already checked against an agent's uncut free resources in
/// this step of a round, and whether it covered them.
type FilterMemo<R> = Option<(Arc<R>, bool)>;

/// True when the declined `refused` covers `offer`. With a memo (`offer` is the
/// agent's uncut free resources, the same for every framework of the step), a
/// bundle shared by several filters (`Allocator::shared_refused`) is checked
/// once: at 1,000 frameworks that each declined the agent, one `contains` per
/// agent instead of 1,000.
fn covers<R: AllocatorResources>(
    refused: &Arc<R>,
    offer: &R,
    memo: Option<&mut FilterMemo<R>>,
) -> bool {
    let Some(memo) = memo else { return refused.contains(offer) };
    if let Some((checked, answer)) = memo.as_ref()
        && Arc::ptr_eq(checked, refused)
    {
        return *answer;
    }
    let answer = refused.contains(offer);
    *memo = Some((refused.clone(), answer));
    answer
}

/// The time and number of the round being run.
#[derive(Clone, Copy)]
struct RoundContext {
    now: Duration,
    round: u64,
}

/// The stage being run and the role being offered.
#[derive(Clone, Copy)]
struct RoleContext {
    stage: Stage,
    r: RoleIdx,
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
        match self.allocations[i].resources.entry(role.to_string()) {
            Entry::Vacant(vacant) => {
                vacant.insert(resources);
            }
            Entry::Occupied(mut held) => held.get_mut().add(&resources),
        }
    }
}
