//! The hierarchical allocator as a plain struct: events in, offers out.
//!
//! [`Allocator`] keeps what Mesos's `HierarchicalAllocatorProcess` keeps:
//! agents with their total, used and free resources; frameworks with their
//! roles, suppressed roles and decline filters; roles with a DRF sorter of
//! their frameworks; and one DRF sorter over the roles. The master's
//! allocator actor calls one `on_<event>` method per event and
//! [`Allocator::allocate`] on every `--allocation_interval` tick; the time
//! `now` is always passed in (the libprocess clock's time since its epoch).
//!
//! The allocation round itself is in `allocate.rs`; this file holds the
//! state and the bookkeeping events.
//!
//! Mesos: `src/master/allocator/mesos/hierarchical.{hpp,cpp}`.
//! Quota (guarantees, limits, headroom) is in `quota.rs`; maintenance and inverse
//! offers in `maintenance.rs`. Not ported yet: agent attributes and offer
//! constraints, the random sorter.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::filters::{IndexMap, IndexSet, OfferFilter, SplitMix64, refuse_timeout};
use super::resources::AllocatorResources;
use super::sorter::DrfSorter;
use super::types::{
    AgentId, AgentSpec, AllocatorConfig, AllocatorError, FrameworkId, FrameworkSpec, Quota, Used,
};
use crate::core::IdMap;
use mesos_proto::resources::{ResourceQuantities, roles};

/// Dense index of an agent in `Allocator::agents`.
pub(super) type AgentIdx = u32;
/// Dense index of a framework in `Allocator::frameworks`.
pub(super) type FwIdx = u32;
/// Dense index of a role in `Allocator::roles`.
pub(super) type RoleIdx = u32;

/// An agent as the allocator sees it.
#[derive(Debug)]
pub(super) struct Agent<R> {
    pub(super) id: AgentId,
    pub(super) spec: AgentSpec,
    /// Deactivated agents (e.g. disconnected) are not offered.
    pub(super) active: bool,
    pub(super) total: R,
    pub(super) total_quantities: ResourceQuantities,
    /// Offered or allocated, to anyone (known frameworks or not).
    pub(super) used: R,
    /// `total - used`, kept up to date.
    pub(super) available: R,
    /// Offered or allocated to each known framework, by role.
    pub(super) held: IndexMap<(FwIdx, RoleIdx), R>,
    /// Used by frameworks not added yet (reported by a re-registering
    /// agent before its frameworks re-subscribe); adopted when they are.
    pub(super) unknown_used: HashMap<FrameworkId, Vec<(String, R)>>,
    /// Decline filters of frameworks on this agent, by framework and role.
    pub(super) filters: IndexMap<(FwIdx, RoleIdx), Vec<OfferFilter<R>>>,
    /// The resources of the latest decline filter made here, which the next
    /// filter shares when it refuses the same (one bundle per agent at most).
    pub(super) last_refused: Option<Arc<R>>,
    pub(super) has_gpu: bool,
    /// The machine's scheduled unavailability and its inverse offers, if scheduled.
    pub(super) maintenance: Option<super::maintenance::Maintenance>,
}

/// A framework as the allocator sees it.
#[derive(Debug)]
pub(super) struct Framework {
    pub(super) id: FrameworkId,
    pub(super) spec: FrameworkSpec,
    /// Inactive (disconnected) frameworks are not offered.
    pub(super) active: bool,
    /// Agents where it holds resources, by role.
    pub(super) held_on: IndexMap<RoleIdx, IndexSet<AgentIdx>>,
    /// (agent, role) pairs where it has decline filters.
    pub(super) filtered: IndexSet<(AgentIdx, RoleIdx)>,
}

/// A role with at least one framework subscribed or holding resources.
#[derive(Debug)]
pub(super) struct Role {
    pub(super) name: Arc<str>,
    pub(super) frameworks: IndexSet<FwIdx>,
    /// DRF order of the role's frameworks (suppressed ones inactive).
    pub(super) sorter: DrfSorter<FwIdx>,
}

/// A slab of `T` addressed by dense `u32` indices; freed slots are reused.
#[derive(Debug)]
pub(super) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab { slots: Vec::new(), free: Vec::new() }
    }
    pub(super) fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(value);
                i
            }
            None => {
                self.slots.push(Some(value));
                (self.slots.len() - 1) as u32
            }
        }
    }
    pub(super) fn remove(&mut self, i: u32) -> Option<T> {
        let value = self.slots.get_mut(i as usize)?.take();
        if value.is_some() {
            self.free.push(i);
        }
        value
    }
    pub(super) fn get(&self, i: u32) -> Option<&T> {
        self.slots.get(i as usize)?.as_ref()
    }
    pub(super) fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.slots.get_mut(i as usize)?.as_mut()
    }
    /// The entry at `i`, which the caller knows is live: every index held
    /// in the allocator's maps refers to a live entry (removal clears them).
    /// Messages never carry indices: the ids they carry are looked up in
    /// `framework_index` / `agent_index` / `role_index` first, and an unknown id is
    /// an `AllocatorError` (or ignored, for resources coming back), never an index.
    pub(super) fn at(&self, i: u32) -> &T {
        match self.get(i) {
            Some(value) => value,
            None => panic!("dangling allocator index {i}"),
        }
    }
    /// Mutable [`Slab::at`].
    pub(super) fn at_mut(&mut self, i: u32) -> &mut T {
        match self.get_mut(i) {
            Some(value) => value,
            None => panic!("dangling allocator index {i}"),
        }
    }
    pub(super) fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| i as u32)
    }
}

/// The hierarchical DRF allocator's state. See the module documentation.
#[derive(Debug)]
pub struct Allocator<R: AllocatorResources> {
    pub(super) config: AllocatorConfig,
    pub(super) agents: Slab<Agent<R>>,
    // Keyed by ids with the core's keyed foldhash, not SipHash: one lookup per
    // `AddAgent` and per allocation (crate::core::IdHasher says why it is safe).
    pub(super) agent_index: IdMap<AgentId, AgentIdx>,
    pub(super) frameworks: Slab<Framework>,
    pub(super) framework_index: IdMap<FrameworkId, FwIdx>,
    pub(super) roles: Slab<Role>,
    pub(super) role_index: HashMap<Arc<str>, RoleIdx>,
    /// DRF order of the roles.
    pub(super) role_sorter: DrfSorter<RoleIdx>,
    /// Sum of all agents' scalar totals.
    pub(super) total: ResourceQuantities,
    /// Filter expiry times, soonest first; entries may be stale (the
    /// filter was removed early) and are skipped then. Rebuilt when stale
    /// entries outnumber live filters, which bounds its size.
    pub(super) filter_expiry: BinaryHeap<Reverse<(Duration, AgentIdx, FwIdx, RoleIdx)>>,
    pub(super) live_filters: usize,
    /// Agents touched by events since the last round (event-triggered
    /// allocation, Mesos's `allocationCandidates`).
    pub(super) candidates: IndexSet<AgentIdx>,
    /// Agents with a maintenance schedule (`Agent::maintenance` set): the inverse
    /// offers after each round look only at these, not at every agent (a scan of
    /// 50,000 agents after each event-triggered round was 7% of a leader's CPU in
    /// E2E-1). Bounded by the agents.
    pub(super) scheduled: BTreeSet<AgentIdx>,
    pub(super) rng: SplitMix64,
    /// Number of allocation rounds run (Mesos metric `allocator/mesos/allocation_runs`).
    pub(super) allocation_runs: u64,
    /// Quota of the roles that have one (none: every role has the default,
    /// and rounds run the single DRF stage). Bounded by the master's role
    /// validation and its limit on quota configs.
    pub(super) quotas: BTreeMap<String, Quota>,
}

impl<R: AllocatorResources> Allocator<R> {
    /// An allocator with no agents and no frameworks.
    pub fn new(config: AllocatorConfig) -> Self {
        let mut role_sorter = DrfSorter::new();
        role_sorter.set_fairness_exclude(config.fairness_excluded_resource_names.iter().cloned());
        Allocator {
            rng: SplitMix64::new(config.seed),
            config,
            agents: Slab::new(),
            agent_index: IdMap::default(),
            frameworks: Slab::new(),
            framework_index: IdMap::default(),
            roles: Slab::new(),
            role_index: HashMap::new(),
            role_sorter,
            total: ResourceQuantities::new(),
            filter_expiry: BinaryHeap::new(),
            live_filters: 0,
            candidates: IndexSet::default(),
            scheduled: BTreeSet::new(),
            allocation_runs: 0,
            quotas: BTreeMap::new(),
        }
    }

    // ----- frameworks -----

    /// A framework subscribed (or re-subscribed after a master failover).
    /// Resources its tasks use that agents already reported are adopted.
    // Mesos: hierarchical.cpp addFramework.
    pub fn on_add_framework(
        &mut self,
        framework_id: FrameworkId,
        spec: FrameworkSpec,
        active: bool,
    ) -> Result<(), AllocatorError> {
        if self.framework_index.contains_key(&framework_id) {
            return Err(AllocatorError::FrameworkExists { framework_id });
        }
        // The id becomes the framework's path in each role's sorter, which asserts valid
        // paths. The master validates ids first (`validate_framework_id_and_roles`);
        // this keeps a bad one that slipped past from panicking the allocator.
        if let Err(e) = framework_id.validate() {
            return Err(AllocatorError::InvalidFrameworkId { framework_id, reason: e.to_string() });
        }
        for role in spec.roles.iter().chain(&spec.suppressed_roles) {
            validate_role(role)?;
        }
        let fw = self.frameworks.insert(Framework {
            id: framework_id.clone(),
            spec,
            active,
            held_on: IndexMap::default(),
            filtered: IndexSet::default(),
        });
        self.framework_index.insert(framework_id.clone(), fw);
        let roles: Vec<String> = self.frameworks.at(fw).spec.roles.iter().cloned().collect();
        for role in &roles {
            let r = self.track_framework_under_role(fw, role);
            self.refresh_activation(fw, r);
        }
        self.adopt_unknown_used(fw);
        if active {
            self.mark_all_candidates();
        }
        Ok(())
    }

    /// Moves resources agents reported for this framework before it was
    /// added into normal tracking.
    fn adopt_unknown_used(&mut self, fw: FwIdx) {
        let framework_id = self.frameworks.at(fw).id.clone();
        let agents: Vec<AgentIdx> = self
            .agents
            .indices()
            .filter(|&a| self.agents.at(a).unknown_used.contains_key(&framework_id))
            .collect();
        for a in agents {
            let pending =
                self.agents.at_mut(a).unknown_used.remove(&framework_id).unwrap_or_default();
            for (role, resources) in pending {
                // Already counted in the agent's `used`; only attribute it.
                self.track_held(a, fw, &role, &resources);
            }
        }
    }

    /// A framework was removed: all it holds becomes free again.
    // Mesos: hierarchical.cpp removeFramework.
    pub fn on_remove_framework(
        &mut self,
        framework_id: &FrameworkId,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        let holdings: Vec<(RoleIdx, AgentIdx)> = self
            .frameworks
            .at(fw)
            .held_on
            .iter()
            .flat_map(|(&r, agents)| agents.iter().map(move |&a| (r, a)))
            .collect();
        for (r, a) in holdings {
            let held = self.agents.at(a).held.get(&(fw, r)).cloned().unwrap_or_default();
            self.untrack_allocated(a, fw, r, &held);
        }
        self.clear_filters(fw, None);
        self.clear_inverse_offer_state(fw, true);
        let tracked: Vec<RoleIdx> =
            self.roles.indices().filter(|&r| self.roles.at(r).frameworks.contains(&fw)).collect();
        for r in tracked {
            let untracked = self.try_untrack_framework_under_role(fw, r);
            // Cannot fail: the loop above released every (role, agent) in `held_on`,
            // and `untrack_allocated` empties `held_on` as it goes, so nothing is held.
            assert!(untracked, "framework {framework_id} still holds resources after release");
        }
        self.frameworks.remove(fw);
        self.framework_index.remove(framework_id);
        Ok(())
    }

    /// A framework (re)connected: it is offered again in its unsuppressed roles.
    // Mesos: hierarchical.cpp activateFramework.
    pub fn on_activate_framework(
        &mut self,
        framework_id: &FrameworkId,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        self.frameworks.at_mut(fw).active = true;
        for r in self.subscribed_role_indices(fw) {
            self.refresh_activation(fw, r);
        }
        self.mark_all_candidates();
        Ok(())
    }

    /// A framework disconnected: no offers, and its decline filters go.
    /// It keeps what it holds.
    // Mesos: hierarchical.cpp deactivateFramework.
    pub fn on_deactivate_framework(
        &mut self,
        framework_id: &FrameworkId,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        self.frameworks.at_mut(fw).active = false;
        for r in self.subscribed_role_indices(fw) {
            self.refresh_activation(fw, r);
        }
        self.clear_filters(fw, None);
        self.clear_inverse_offer_state(fw, false);
        Ok(())
    }

    /// A framework changed its roles, suppressed roles or capabilities.
    // Mesos: hierarchical.cpp updateFramework.
    pub fn on_update_framework(
        &mut self,
        framework_id: &FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        for role in spec.roles.iter().chain(&spec.suppressed_roles) {
            validate_role(role)?;
        }
        let old = std::mem::replace(&mut self.frameworks.at_mut(fw).spec, spec);
        let new_roles = self.frameworks.at(fw).spec.roles.clone();
        for role in new_roles.difference(&old.roles) {
            let r = self.track_framework_under_role(fw, role);
            self.refresh_activation(fw, r);
        }
        for role in old.roles.difference(&new_roles) {
            let Some(&r) = self.role_index.get(role.as_str()) else { continue };
            self.clear_filters(fw, Some(r));
            self.refresh_activation(fw, r);
            self.try_untrack_framework_under_role(fw, r);
        }
        // Roles that stopped being suppressed lose their filters, as on revive.
        let new_suppressed = self.frameworks.at(fw).spec.suppressed_roles.clone();
        for role in old.suppressed_roles.difference(&new_suppressed) {
            if let Some(&r) = self.role_index.get(role.as_str()) {
                self.clear_filters(fw, Some(r));
            }
        }
        for r in self.subscribed_role_indices(fw) {
            self.refresh_activation(fw, r);
        }
        self.mark_all_candidates();
        Ok(())
    }

    /// The framework wants no offers in `roles` (all its roles if empty)
    /// until it revives.
    // Mesos: hierarchical.cpp suppressOffers / suppressRoles.
    pub fn on_suppress_offers(
        &mut self,
        framework_id: &FrameworkId,
        roles: &BTreeSet<String>,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        let roles = self.resolve_roles(fw, roles)?;
        for (role, r) in roles {
            self.frameworks.at_mut(fw).spec.suppressed_roles.insert(role);
            self.refresh_activation(fw, r);
        }
        Ok(())
    }

    /// The framework wants offers again in `roles` (all its roles if
    /// empty): they are unsuppressed and their decline filters removed.
    // Mesos: hierarchical.cpp reviveOffers / reviveRoles.
    pub fn on_revive_offers(
        &mut self,
        framework_id: &FrameworkId,
        roles: &BTreeSet<String>,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        let roles = self.resolve_roles(fw, roles)?;
        for (role, r) in roles {
            self.clear_filters(fw, Some(r));
            self.frameworks.at_mut(fw).spec.suppressed_roles.remove(&role);
            self.refresh_activation(fw, r);
        }
        self.clear_inverse_offer_state(fw, false);
        self.mark_all_candidates();
        Ok(())
    }

    /// The roles named (or all subscribed roles when none are), each with
    /// its index; an error if one is not subscribed.
    fn resolve_roles(
        &self,
        fw: FwIdx,
        roles: &BTreeSet<String>,
    ) -> Result<Vec<(String, RoleIdx)>, AllocatorError> {
        let framework = self.frameworks.at(fw);
        let names = if roles.is_empty() { &framework.spec.roles } else { roles };
        names
            .iter()
            .map(|role| match self.role_index.get(role.as_str()) {
                Some(&r) if framework.spec.roles.contains(role) => Ok((role.clone(), r)),
                _ => Err(AllocatorError::NotSubscribed {
                    framework_id: framework.id.clone(),
                    role: role.clone(),
                }),
            })
            .collect()
    }

    // ----- agents -----

    /// An agent registered (or re-registered, reporting what its tasks and
    /// executors use).
    // Mesos: hierarchical.cpp addSlave.
    pub fn on_add_agent(
        &mut self,
        agent_id: AgentId,
        spec: AgentSpec,
        total: R,
        used: Vec<Used<R>>,
    ) -> Result<(), AllocatorError> {
        if self.agent_index.contains_key(&agent_id) {
            return Err(AllocatorError::AgentExists { agent_id });
        }
        for u in &used {
            validate_role(&u.role)?;
        }
        let total_quantities = total.scalar_quantities();
        let a = self.agents.insert(Agent {
            id: agent_id.clone(),
            spec,
            active: true,
            has_gpu: total_quantities.get_fixed("gpus") > 0,
            available: total.clone(),
            total,
            total_quantities,
            used: R::default(),
            held: IndexMap::default(),
            unknown_used: HashMap::new(),
            filters: IndexMap::default(),
            last_refused: None,
            maintenance: None,
        });
        self.agent_index.insert(agent_id, a);
        self.add_to_totals(&self.agents.at(a).total_quantities.clone());
        for u in used {
            match self.framework_index.get(&u.framework_id) {
                Some(&fw) => self.track_allocated_owned(a, fw, &u.role, u.resources),
                None => {
                    let agent = self.agents.at_mut(a);
                    agent.used.add(&u.resources);
                    agent.available = agent.total.minus(&agent.used);
                    agent
                        .unknown_used
                        .entry(u.framework_id)
                        .or_default()
                        .push((u.role, u.resources));
                }
            }
        }
        self.candidates.insert(a);
        Ok(())
    }

    /// An agent was removed (gone or unreachable): what frameworks held
    /// there is forgotten and its filters dropped.
    // Mesos: hierarchical.cpp removeSlave.
    pub fn on_remove_agent(&mut self, agent_id: &AgentId) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        let held: Vec<((FwIdx, RoleIdx), R)> =
            self.agents.at(a).held.iter().map(|(k, v)| (*k, v.clone())).collect();
        for ((fw, r), resources) in held {
            self.untrack_allocated(a, fw, r, &resources);
        }
        let filter_keys: Vec<(FwIdx, RoleIdx)> =
            self.agents.at(a).filters.keys().copied().collect();
        for (fw, r) in filter_keys {
            self.remove_filters_at(a, fw, r);
        }
        let quantities = self.agents.at(a).total_quantities.clone();
        self.remove_from_totals(&quantities);
        self.candidates.remove(&a);
        self.scheduled.remove(&a);
        self.agents.remove(a);
        self.agent_index.remove(agent_id);
        Ok(())
    }

    /// An agent's total resources or capabilities changed.
    // Mesos: hierarchical.cpp updateSlave / updateSlaveTotal.
    pub fn on_update_agent(
        &mut self,
        agent_id: &AgentId,
        spec: Option<AgentSpec>,
        total: Option<R>,
    ) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        if let Some(spec) = spec {
            self.agents.at_mut(a).spec = spec;
        }
        if let Some(total) = total
            && total != self.agents.at(a).total
        {
            let old = self.agents.at(a).total_quantities.clone();
            let new = total.scalar_quantities();
            self.remove_from_totals(&old);
            self.add_to_totals(&new);
            let agent = self.agents.at_mut(a);
            agent.has_gpu = new.get_fixed("gpus") > 0;
            agent.available = total.minus(&agent.used);
            agent.total = total;
            agent.total_quantities = new;
        }
        self.candidates.insert(a);
        Ok(())
    }

    /// The agent is offered again (it reconnected).
    // Mesos: hierarchical.cpp activateSlave.
    pub fn on_activate_agent(&mut self, agent_id: &AgentId) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        self.agents.at_mut(a).active = true;
        self.candidates.insert(a);
        Ok(())
    }

    /// The agent is not offered until reactivated (it disconnected).
    // Mesos: hierarchical.cpp deactivateSlave.
    pub fn on_deactivate_agent(&mut self, agent_id: &AgentId) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        self.agents.at_mut(a).active = false;
        Ok(())
    }

    // ----- resources coming back -----

    /// Resources offered or allocated to a framework came back: an offer
    /// was declined or rescinded, or a task or executor ended. With
    /// `refuse_seconds` (from the decline's `Filters`), the framework is
    /// not offered these resources or fewer on this agent in this role
    /// until `now + refuse_seconds`.
    ///
    /// An unknown framework or agent is not an error: it was removed while
    /// the resources were on their way back, and removal already freed them.
    // Mesos: hierarchical.cpp recoverResources.
    pub fn on_recover_resources(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        resources: &R,
        refuse_seconds: Option<f64>,
        now: Duration,
    ) -> Result<(), AllocatorError> {
        if resources.is_empty() {
            return Ok(());
        }
        let (Some(&fw), Some(&a)) =
            (self.framework_index.get(framework_id), self.agent_index.get(agent_id))
        else {
            return Ok(());
        };
        let r = self.role_index.get(role).copied();
        let held = r.and_then(|r| self.agents.at(a).held.get(&(fw, r)));
        let (Some(r), true) = (r, held.is_some_and(|h| h.contains(resources))) else {
            return Err(AllocatorError::NotHeld {
                framework_id: framework_id.clone(),
                agent_id: agent_id.clone(),
                role: role.to_string(),
                resources: format!("{resources:?}"),
            });
        };
        self.untrack_allocated(a, fw, r, resources);

        let timeout =
            refuse_seconds.and_then(|s| refuse_timeout(s, self.config.allocation_interval));
        if let Some(timeout) = timeout {
            // The role may have been dropped just now (the framework left
            // it and this was the last thing it held there).
            if self.roles.get(r).is_some() {
                let filter = OfferFilter {
                    refused: self.shared_refused(a, resources),
                    expires_at: now + timeout,
                    applies_through_round: self.allocation_runs + 1,
                };
                self.add_filter(a, fw, r, filter);
            }
        }
        Ok(())
    }

    // ----- weights -----

    /// Sets role weights (`--weights`, or the operator API).
    // Mesos: hierarchical.cpp updateWeights.
    pub fn on_update_weights(&mut self, weights: &[(String, f64)]) -> Result<(), AllocatorError> {
        for (role, weight) in weights {
            validate_role(role)?;
            if !(weight.is_finite() && *weight > 0.0) {
                return Err(AllocatorError::InvalidWeight {
                    role: role.clone(),
                    weight: weight.to_string(),
                });
            }
        }
        for (role, weight) in weights {
            self.role_sorter.update_weight(role, *weight);
        }
        Ok(())
    }

    // ----- queries -----

    /// Free resources on an agent (total minus offered or allocated).
    pub fn available(&self, agent_id: &AgentId) -> Option<&R> {
        Some(&self.agents.at(*self.agent_index.get(agent_id)?).available)
    }

    /// What a framework holds (offered or allocated) on an agent in a role.
    pub fn held(&self, framework_id: &FrameworkId, agent_id: &AgentId, role: &str) -> Option<&R> {
        let fw = *self.framework_index.get(framework_id)?;
        let a = *self.agent_index.get(agent_id)?;
        let r = *self.role_index.get(role)?;
        self.agents.at(a).held.get(&(fw, r))
    }

    /// A role's weighted dominant share, if the role has frameworks
    /// (Mesos metric `allocator/mesos/roles/<role>/shares/dominant`).
    pub fn role_share(&self, role: &str) -> Option<f64> {
        let r = *self.role_index.get(role)?;
        Some(self.role_sorter.share(&r))
    }

    /// Number of live decline filters of a framework.
    pub fn filter_count(&self, framework_id: &FrameworkId) -> usize {
        let Some(&fw) = self.framework_index.get(framework_id) else { return 0 };
        self.frameworks
            .at(fw)
            .filtered
            .iter()
            .map(|&(a, r)| self.agents.at(a).filters.get(&(fw, r)).map_or(0, Vec::len))
            .sum()
    }

    /// True if the framework is suppressed in `role`.
    pub fn is_suppressed(&self, framework_id: &FrameworkId, role: &str) -> bool {
        self.framework_index
            .get(framework_id)
            .is_some_and(|&fw| self.frameworks.at(fw).spec.suppressed_roles.contains(role))
    }

    /// Sum of all agents' scalar resources.
    pub fn total(&self) -> &ResourceQuantities {
        &self.total
    }

    /// Number of allocation rounds run so far.
    pub fn allocation_runs(&self) -> u64 {
        self.allocation_runs
    }

    /// True if events since the last round call for an event-triggered
    /// allocation ([`Allocator::allocate_candidates`]).
    pub fn has_candidates(&self) -> bool {
        !self.candidates.is_empty()
    }
}

/// Mesos's role rules, as an allocator error. The master has validated the
/// role already; a bad name reaching here would corrupt the sorter's role tree.
pub(super) fn validate_role(role: &str) -> Result<(), AllocatorError> {
    roles::validate(role)
        .map_err(|reason| AllocatorError::InvalidRole { role: role.to_string(), reason })
}
