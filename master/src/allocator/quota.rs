//! Quota: guarantees, limits, and the headroom held back for guarantees.
//!
//! A role's quota (Mesos 1.9+) has *guarantees*, resources the role gets as soon as
//! its frameworks want them, and *limits*, which its consumption never passes. The
//! allocator keeps them with two rules, each round:
//!
//! 1. **Stage 1, guarantees.** Before anyone else, each role below its guarantees is
//!    offered unreserved resources towards them (and, with them, other resources up to
//!    its limits while the headroom allows).
//! 2. **Headroom.** In stage 2 (plain DRF over every role) unreserved resources are
//!    offered only while enough stay free for every role to reach its guarantees:
//!    `available headroom - offered >= required headroom`, where the required headroom
//!    is the sum over roles of `guarantees - consumed` and the available headroom is
//!    the unreserved non-revocable resources nobody holds.
//! 3. **Limits.** In both stages unreserved resources offered to a role are cut so that
//!    `consumed + offered <= limits`.
//!
//! A role's consumption (Mesos 1.9+) covers it and its sub-roles: the unreserved
//! non-revocable resources they hold (offered or allocated), plus every resource
//! reserved to them, held or not. A reservation is the role's whether or not a
//! framework uses it, so it counts against the role's guarantees (a role with
//! reservations needs less headroom) and its limits (a role past its limit in
//! reservations is offered no more unreserved resources); reserved resources
//! themselves are never cut by limits.
//!
//! Mesos: `hierarchical.cpp HierarchicalAllocatorProcess::__generateOffers` (the two
//! stages), `updateQuota`; `hierarchical.hpp Role::quotaOfferedOrConsumed`;
//! `docs/quota.md`.

use std::collections::BTreeMap;

use super::core::{Allocator, validate_role};
use super::resources::AllocatorResources;
use super::types::{AllocatorError, Quota};
use mesos_proto::resources::{ResourceQuantities, roles};

impl<R: AllocatorResources> Allocator<R> {
    /// Sets a role's quota; the default quota (no guarantees, no limits) removes it.
    // Mesos: hierarchical.cpp updateQuota.
    pub fn on_update_quota(&mut self, role: &str, quota: Quota) -> Result<(), AllocatorError> {
        validate_role(role)?;
        if let Some((name, limit)) =
            quota.limits.iter().find(|(_, l)| !(l.is_finite() && **l >= 0.0))
        {
            return Err(AllocatorError::InvalidQuota {
                role: role.to_string(),
                name: name.clone(),
                limit: limit.to_string(),
            });
        }
        if quota.is_default() {
            self.quotas.remove(role);
        } else {
            self.quotas.insert(role.to_string(), quota);
        }
        // Headroom and limits change for every agent.
        self.mark_all_candidates();
        Ok(())
    }

    /// A role's quota (the default quota if none is set).
    pub fn quota(&self, role: &str) -> Quota {
        self.quotas.get(role).cloned().unwrap_or_default()
    }

    /// What a role and its sub-roles consume now, as quota counts it: unreserved
    /// non-revocable resources held, plus everything reserved to them.
    pub fn quota_consumed(&self, role: &str) -> ResourceQuantities {
        subtree_sum(&self.consumption_by_role(), role)
    }

    /// Each role's own consumption (without its sub-roles'): what it holds of the
    /// resources quota counts, and what is reserved to it on any agent.
    // Mesos: hierarchical.hpp Role::quotaOfferedOrConsumed.
    fn consumption_by_role(&self) -> BTreeMap<String, ResourceQuantities> {
        let mut by_role: BTreeMap<String, ResourceQuantities> = BTreeMap::new();
        for a in self.agents.indices() {
            let agent = self.agents.at(a);
            for (&(_, r), held) in &agent.held {
                let counted = held.split_quota().0.scalar_quantities();
                if !counted.is_empty() {
                    *by_role.entry(self.roles.at(r).name.to_string()).or_default() += &counted;
                }
            }
            for (role, reserved) in agent.total.reservation_quantities() {
                *by_role.entry(role).or_default() += &reserved;
            }
        }
        by_role
    }

    /// The quota bookkeeping of one round, or `None` when no role has a quota
    /// (then rounds are plain DRF, as before quota existed).
    pub(super) fn quota_round(&self) -> Option<QuotaRound> {
        if self.quotas.is_empty() {
            return None;
        }
        let by_role = self.consumption_by_role();
        let consumed =
            self.quotas.keys().map(|role| (role.clone(), subtree_sum(&by_role, role))).collect();
        let mut available = ResourceQuantities::new();
        for a in self.agents.indices() {
            available += &self.agents.at(a).available.split_quota().0.scalar_quantities();
        }
        let mut round = QuotaRound {
            quotas: self.quotas.clone(),
            consumed,
            available,
            required: Default::default(),
        };
        round.required = round.required_headroom();
        Some(round)
    }
}

/// The sum of `by_role` over `role` and its sub-roles.
fn subtree_sum(by_role: &BTreeMap<String, ResourceQuantities>, role: &str) -> ResourceQuantities {
    let mut sum = ResourceQuantities::new();
    for (name, quantities) in by_role {
        if is_in_subtree(name, role) {
            sum += quantities;
        }
    }
    sum
}

/// True if `role` is `ancestor` or one of its sub-roles (`a/b` is under `a`).
fn is_in_subtree(role: &str, ancestor: &str) -> bool {
    role.strip_prefix(ancestor).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Which stage of a round is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Only roles below their guarantees, only offers that make progress towards them.
    Guarantees,
    /// Every role, unreserved resources only beyond the required headroom.
    Rest,
}

/// Quota state carried through one allocation round.
#[derive(Debug)]
pub(super) struct QuotaRound {
    quotas: BTreeMap<String, Quota>,
    /// Consumption of each role that has a quota (its subtree's holdings of unreserved
    /// resources, and its reservations).
    consumed: BTreeMap<String, ResourceQuantities>,
    /// Unreserved non-revocable resources nobody holds.
    available: ResourceQuantities,
    /// What must stay unallocated for unmet guarantees; kept up to date by `offered`.
    required: ResourceQuantities,
}

impl QuotaRound {
    /// Guarantees of `role` not yet consumed (empty when it has none or they are met).
    pub(super) fn unsatisfied(&self, role: &str) -> ResourceQuantities {
        match (self.quotas.get(role), self.consumed.get(role)) {
            (Some(quota), Some(consumed)) => &quota.guarantees - consumed,
            _ => ResourceQuantities::new(),
        }
    }

    /// Sum over the outermost roles with a quota of what their guarantees still lack:
    /// what must stay unallocated for them. A sub-role's guarantee lies within its
    /// ancestor's, so only the outermost counts.
    fn required_headroom(&self) -> ResourceQuantities {
        let mut required = ResourceQuantities::new();
        for role in self.quotas.keys() {
            if self.outermost_quota_role(role) == Some(role.as_str()) {
                required += &self.unsatisfied(role);
            }
        }
        required
    }

    /// `role` itself or its ancestors that have a quota, innermost first.
    fn quota_roles_over<'a>(&self, role: &'a str) -> Vec<&'a str> {
        std::iter::once(role)
            .chain(roles::ancestors(role))
            .filter(|r| self.quotas.contains_key(*r))
            .collect()
    }

    /// The outermost of `role` and its ancestors that has a quota.
    fn outermost_quota_role<'a>(&self, role: &'a str) -> Option<&'a str> {
        self.quota_roles_over(role).pop()
    }

    /// What of `offer` the role may be offered in this stage, or `None` when the
    /// stage offers it nothing here (stage 1 only offers progress towards guarantees).
    // Mesos: hierarchical.cpp __generateOffers, both stages.
    pub(super) fn shape<R: AllocatorResources>(
        &self,
        stage: Stage,
        role: &str,
        offer: &R,
    ) -> Option<R> {
        let (quota_resources, mut to_offer) = offer.split_quota();
        let (guarantees_offering, mut additional) = match stage {
            Stage::Guarantees => {
                let caps = caps_of(&self.unsatisfied(role));
                let guaranteed = quota_resources.shrink(&caps, false);
                if guaranteed.is_empty() {
                    return None;
                }
                let additional = quota_resources.minus(&guaranteed);
                (guaranteed, additional)
            }
            Stage::Rest => (R::default(), quota_resources),
        };
        if let Some(limits) = self.limit_headroom(role, &guarantees_offering.scalar_quantities()) {
            additional = additional.shrink(&limits, true);
        }
        if !self.required.is_empty() && !additional.is_empty() {
            // Surplus = (available - guaranteed) - (required - guaranteed).
            let surplus = &self.available - &self.required;
            additional = additional.shrink(&caps_of(&surplus), false);
        }
        to_offer.add(&guarantees_offering);
        to_offer.add(&additional);
        Some(to_offer)
    }

    /// How much more of each limited resource `role` (and each ancestor with limits)
    /// may take after `extra`: `limits - consumed - extra`, or `None` if no limit applies.
    fn limit_headroom(
        &self,
        role: &str,
        extra: &ResourceQuantities,
    ) -> Option<BTreeMap<String, f64>> {
        let mut caps: Option<BTreeMap<String, f64>> = None;
        for quota_role in self.quota_roles_over(role) {
            let quota = &self.quotas[quota_role];
            if quota.limits.is_empty() {
                continue;
            }
            let consumed = self.consumed.get(quota_role).cloned().unwrap_or_default();
            let caps = caps.get_or_insert_with(BTreeMap::new);
            for (name, limit) in &quota.limits {
                let left = (limit - consumed.get(name) - extra.get(name)).max(0.0);
                let cap = caps.entry(name.clone()).or_insert(left);
                *cap = cap.min(left);
            }
        }
        caps
    }

    /// Books an offer made to `role`: its quota part counts against the role's (and
    /// its ancestors') quota and leaves the available headroom. Its reserved part was
    /// counted already: reservations are consumed whether offered or not.
    pub(super) fn offered<R: AllocatorResources>(&mut self, role: &str, offer: &R) {
        let counted = offer.split_quota().0.scalar_quantities();
        let outermost = self.outermost_quota_role(role);
        let before = outermost.map(|q| self.unsatisfied(q));
        for quota_role in self.quota_roles_over(role) {
            if let Some(consumed) = self.consumed.get_mut(quota_role) {
                *consumed += &counted;
            }
        }
        if let (Some(q), Some(before)) = (outermost, before) {
            // The part of the outermost role's unmet guarantee this offer met.
            let met = &before - &self.unsatisfied(q);
            self.required -= &met;
        }
        self.available -= &counted;
    }
}

/// Quantities as a cap map.
fn caps_of(quantities: &ResourceQuantities) -> BTreeMap<String, f64> {
    quantities.iter().map(|(name, amount)| (name.to_string(), amount)).collect()
}
