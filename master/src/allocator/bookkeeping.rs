//! Bookkeeping shared by the allocator's events: which framework holds
//! what where, which roles exist, and decline filters.
//!
//! Every change to what is offered or allocated goes through
//! [`Allocator::track_allocated`] and [`Allocator::untrack_allocated`], which
//! keep four views in step: the agent's free resources, the agent's
//! per-framework holdings, the framework's index of agents, and both DRF
//! sorters. Mesos: `hierarchical.cpp` `trackAllocatedResources`,
//! `untrackAllocatedResources`, `trackFrameworkUnderRole`,
//! `tryUntrackFrameworkUnderRole`, `expire`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use super::core::{AgentIdx, Allocator, FwIdx, Role, RoleIdx};
use super::filters::{IndexSet, MAX_FILTERS_PER_KEY, OfferFilter};
use super::resources::AllocatorResources;
use super::sorter::DrfSorter;
use super::types::{AgentId, AllocatorError, FrameworkId};
use mesos_proto::resources::ResourceQuantities;

impl<R: AllocatorResources> Allocator<R> {
    pub(super) fn framework(&self, framework_id: &FrameworkId) -> Result<FwIdx, AllocatorError> {
        self.framework_index
            .get(framework_id)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownFramework { framework_id: framework_id.clone() })
    }

    pub(super) fn agent(&self, agent_id: &AgentId) -> Result<AgentIdx, AllocatorError> {
        self.agent_index
            .get(agent_id)
            .copied()
            .ok_or_else(|| AllocatorError::UnknownAgent { agent_id: agent_id.clone() })
    }

    pub(super) fn subscribed_role_indices(&self, fw: FwIdx) -> Vec<RoleIdx> {
        let framework = self.frameworks.at(fw);
        framework
            .spec
            .roles
            .iter()
            .filter_map(|role| self.role_index.get(role.as_str()).copied())
            .collect()
    }

    pub(super) fn mark_all_candidates(&mut self) {
        let all: Vec<AgentIdx> = self.agents.indices().collect();
        self.candidates.extend(all);
    }

    pub(super) fn add_to_totals(&mut self, quantities: &ResourceQuantities) {
        self.total += quantities;
        self.role_sorter.add_total(quantities);
        for r in self.roles.indices().collect::<Vec<_>>() {
            self.roles.at_mut(r).sorter.add_total(quantities);
        }
    }

    pub(super) fn remove_from_totals(&mut self, quantities: &ResourceQuantities) {
        self.total.subtract(quantities);
        self.role_sorter.remove_total(quantities);
        for r in self.roles.indices().collect::<Vec<_>>() {
            self.roles.at_mut(r).sorter.remove_total(quantities);
        }
    }

    /// Makes the framework active in role `r`'s sorter exactly when it is
    /// active, subscribed to `r` and not suppressed in it.
    pub(super) fn refresh_activation(&mut self, fw: FwIdx, r: RoleIdx) {
        let framework = self.frameworks.at(fw);
        let role = self.roles.at_mut(r);
        let wants = framework.active
            && framework.spec.roles.contains(&*role.name)
            && !framework.spec.suppressed_roles.contains(&*role.name);
        if !role.sorter.contains(&fw) {
            return;
        }
        if wants {
            role.sorter.activate(&fw);
        } else {
            role.sorter.deactivate(&fw);
        }
    }

    /// Tracks the framework under `role`, creating the role (in the role
    /// sorter, with a framework sorter) on its first framework.
    // Mesos: hierarchical.cpp trackFrameworkUnderRole.
    pub(super) fn track_framework_under_role(&mut self, fw: FwIdx, role: &str) -> RoleIdx {
        let r = match self.role_index.get(role) {
            Some(&r) => r,
            None => {
                let name: Arc<str> = Arc::from(role);
                let mut sorter = DrfSorter::new();
                sorter.set_fairness_exclude(
                    self.config.fairness_excluded_resource_names.iter().cloned(),
                );
                sorter.add_total(&self.total);
                let r = self.roles.insert(Role {
                    name: name.clone(),
                    frameworks: IndexSet::default(),
                    sorter,
                });
                self.role_index.insert(name, r);
                self.role_sorter.add(role, r);
                self.role_sorter.activate(&r);
                r
            }
        };
        // Usually the framework is there already (every agent re-registering with its
        // tasks lands here): its sorter path is only made when it is not.
        if !self.roles.at(r).frameworks.contains(&fw) {
            let framework_path = self.frameworks.at(fw).id.to_string();
            let role_state = self.roles.at_mut(r);
            role_state.frameworks.insert(fw);
            role_state.sorter.add(&framework_path, fw);
        }
        r
    }

    /// Stops tracking the framework under role `r` unless it still holds
    /// resources there; drops the role when no framework is left.
    // Mesos: hierarchical.cpp tryUntrackFrameworkUnderRole.
    pub(super) fn try_untrack_framework_under_role(&mut self, fw: FwIdx, r: RoleIdx) -> bool {
        let framework = self.frameworks.at(fw);
        if framework.held_on.get(&r).is_some_and(|agents| !agents.is_empty()) {
            return false;
        }
        let role = self.roles.at_mut(r);
        if role.frameworks.remove(&fw) {
            role.sorter.remove(&fw);
        }
        if role.frameworks.is_empty() {
            let name = role.name.clone();
            self.role_sorter.remove(&r);
            self.roles.remove(r);
            self.role_index.remove(&name);
        }
        true
    }

    /// Records that `resources` on agent `a` are offered or allocated to
    /// framework `fw` in `role`.
    // Mesos: hierarchical.cpp trackAllocatedResources + Slave::decreaseAvailable.
    pub(super) fn track_allocated(&mut self, a: AgentIdx, fw: FwIdx, role: &str, resources: &R) {
        let r = self.track_framework_under_role(fw, role);
        self.track_allocated_in(a, fw, r, resources);
    }

    /// [`Allocator::track_allocated`] for a framework already tracked under role
    /// `r` (the allocation loop's case: it walks the role's sorter), which skips
    /// looking the role up by name.
    pub(super) fn track_allocated_in(&mut self, a: AgentIdx, fw: FwIdx, r: RoleIdx, resources: &R) {
        self.track_held_in(a, fw, r, resources);
        let agent = self.agents.at_mut(a);
        agent.used.add(resources);
        agent.available.subtract(resources);
    }

    /// [`Allocator::track_allocated_in`] for an offer of all the agent's free
    /// resources, already taken out of `available` (moved into the offer, which
    /// is the usual offer: nothing is left to subtract, nothing was copied).
    pub(super) fn track_offered_whole(&mut self, a: AgentIdx, fw: FwIdx, r: RoleIdx, offered: &R) {
        debug_assert!(self.agents.at(a).available.is_empty());
        self.track_held_in(a, fw, r, offered);
        self.agents.at_mut(a).used.add(offered);
    }

    /// The sorter and `held` half of [`Allocator::track_allocated`]: who
    /// holds resources already counted in the agent's `used`.
    pub(super) fn track_held(&mut self, a: AgentIdx, fw: FwIdx, role: &str, resources: &R) {
        let r = self.track_framework_under_role(fw, role);
        self.track_held_in(a, fw, r, resources);
    }

    /// [`Allocator::track_allocated`] for resources the caller gives away (an agent's
    /// used resources when it is added): they become the holding as they are, with no
    /// copy, when the framework held nothing there in that role.
    pub(super) fn track_allocated_owned(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        role: &str,
        resources: R,
    ) {
        let r = self.track_framework_under_role(fw, role);
        let agent = self.agents.at_mut(a);
        agent.used.add(&resources);
        agent.available.subtract(&resources);
        self.count_held(a, fw, r, &resources);
        match self.agents.at_mut(a).held.entry((fw, r)) {
            Entry::Occupied(mut held) => held.get_mut().add(&resources),
            Entry::Vacant(slot) => {
                slot.insert(resources);
            }
        }
    }

    /// The sorters' and `held_on`'s half of [`Allocator::track_held_in`].
    fn count_held(&mut self, a: AgentIdx, fw: FwIdx, r: RoleIdx, resources: &R) {
        debug_assert!(self.roles.at(r).frameworks.contains(&fw));
        let quantities = resources.scalar_quantities();
        self.role_sorter.allocated(&r, &quantities);
        self.roles.at_mut(r).sorter.allocated(&fw, &quantities);
        self.frameworks.at_mut(fw).held_on.entry(r).or_default().insert(a);
    }

    /// [`Allocator::track_held`] for a framework already tracked under role `r`.
    fn track_held_in(&mut self, a: AgentIdx, fw: FwIdx, r: RoleIdx, resources: &R) {
        self.count_held(a, fw, r, resources);
        match self.agents.at_mut(a).held.entry((fw, r)) {
            Entry::Occupied(mut held) => held.get_mut().add(resources),
            // A copy, not an add into an empty bundle: the same entries, without
            // looking for one to merge each into.
            Entry::Vacant(slot) => {
                slot.insert(resources.clone());
            }
        }
    }

    /// Records that `resources` (held by `fw` in role `r` on agent `a`)
    /// are free again. Panics if they are not held: callers check first.
    // Mesos: hierarchical.cpp untrackAllocatedResources + Slave::increaseAvailable.
    pub(super) fn untrack_allocated(&mut self, a: AgentIdx, fw: FwIdx, r: RoleIdx, resources: &R) {
        // Unreachable from messages: of the three callers, `on_recover_resources` (the
        // only one with resources from the outside: a decline, a rescind, a finished
        // task) answers `AllocatorError::NotHeld` unless `held` contains them, and
        // `on_remove_agent` / `on_remove_framework` pass back exactly what `held` (or
        // `held_on`, kept in step with it by `track_held` and this function) records.
        let agent = self.agents.at_mut(a);
        let Some(held) = agent.held.get_mut(&(fw, r)) else {
            panic!("framework {fw} holds nothing in role {r} on agent {}", agent.id);
        };
        assert!(held.contains(resources), "{held:?} does not contain {resources:?}");
        // The usual return (a declined offer, the last task there ending) is all
        // the framework holds there: then the holding just goes, without taking
        // every entry (port ranges included) out of it one by one.
        let now_empty = resources.contains(held) || {
            held.subtract(resources);
            held.is_empty()
        };
        if now_empty {
            agent.held.remove(&(fw, r));
        }
        agent.used.subtract(resources);
        agent.available = agent.total.minus(&agent.used);

        let quantities = resources.scalar_quantities();
        self.roles.at_mut(r).sorter.unallocated(&fw, &quantities);
        self.role_sorter.unallocated(&r, &quantities);
        let framework = self.frameworks.at_mut(fw);
        if now_empty && let Some(agents) = framework.held_on.get_mut(&r) {
            agents.remove(&a);
            if agents.is_empty() {
                framework.held_on.remove(&r);
            }
        }
        let subscribed = framework.spec.roles.contains(&*self.roles.at(r).name);
        if !subscribed {
            self.try_untrack_framework_under_role(fw, r);
        }
    }

    /// Adds a decline filter, keeping at most `MAX_FILTERS_PER_KEY` per key.
    pub(super) fn add_filter(
        &mut self,
        a: AgentIdx,
        fw: FwIdx,
        r: RoleIdx,
        filter: OfferFilter<R>,
    ) {
        let expires_at = filter.expires_at;
        let filters = self.agents.at_mut(a).filters.entry((fw, r)).or_default();
        if filters.len() >= MAX_FILTERS_PER_KEY
            && let Some(soonest) = (0..filters.len()).min_by_key(|&i| filters[i].expires_at)
        {
            filters.swap_remove(soonest);
            self.live_filters -= 1;
        }
        filters.push(filter);
        self.live_filters += 1;
        self.frameworks.at_mut(fw).filtered.insert((a, r));
        self.filter_expiry.push(Reverse((expires_at, a, fw, r)));
        if self.filter_expiry.len() > 2 * self.live_filters + 1024 {
            self.rebuild_filter_expiry();
        }
    }

    /// The declined `resources` as a new filter on agent `a` holds them: the
    /// agent's previous filter's bundle when equal, else a new one.
    pub(super) fn shared_refused(&mut self, a: AgentIdx, resources: &R) -> Arc<R> {
        let agent = self.agents.at_mut(a);
        if let Some(previous) = &agent.last_refused
            && **previous == *resources
        {
            return previous.clone();
        }
        let refused = Arc::new(resources.clone());
        agent.last_refused = Some(refused.clone());
        refused
    }

    /// Drops every filter of `fw` on agent `a` in role `r`.
    pub(super) fn remove_filters_at(&mut self, a: AgentIdx, fw: FwIdx, r: RoleIdx) {
        if let Some(filters) = self.agents.at_mut(a).filters.remove(&(fw, r)) {
            self.live_filters -= filters.len();
        }
        self.frameworks.at_mut(fw).filtered.remove(&(a, r));
    }

    /// Drops the framework's filters in role `only` (all roles if `None`).
    pub(super) fn clear_filters(&mut self, fw: FwIdx, only: Option<RoleIdx>) {
        let keys: Vec<(AgentIdx, RoleIdx)> = self
            .frameworks
            .at(fw)
            .filtered
            .iter()
            .copied()
            .filter(|&(_, r)| only.is_none_or(|o| o == r))
            .collect();
        for (a, r) in keys {
            self.remove_filters_at(a, fw, r);
        }
    }

    /// Drops filters that expired by `now` at the start of round `round`.
    pub(super) fn expire_filters(&mut self, now: Duration, round: u64) {
        let mut not_yet = Vec::new();
        while let Some(&Reverse(entry)) = self.filter_expiry.peek() {
            let (expires_at, a, fw, r) = entry;
            if expires_at > now {
                break;
            }
            self.filter_expiry.pop();
            let Some(agent) = self.agents.get_mut(a) else { continue };
            let Some(filters) = agent.filters.get_mut(&(fw, r)) else { continue };
            let before = filters.len();
            filters.retain(|f| f.applies(now, round));
            self.live_filters -= before - filters.len();
            if filters.is_empty() {
                self.remove_filters_at(a, fw, r);
            } else if filters.iter().any(|f| f.expires_at <= now) {
                // Expired but owed to this round; look again next round.
                not_yet.push(Reverse(entry));
            }
        }
        self.filter_expiry.extend(not_yet);
    }

    pub(super) fn rebuild_filter_expiry(&mut self) {
        let mut heap = BinaryHeap::with_capacity(self.live_filters);
        for a in self.agents.indices() {
            for (&(fw, r), filters) in &self.agents.at(a).filters {
                for f in filters {
                    heap.push(Reverse((f.expires_at, a, fw, r)));
                }
            }
        }
        self.filter_expiry = heap;
    }
}
