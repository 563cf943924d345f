//! Offers: turning the allocator's decisions into offers, decline, rescind, revive,
//! suppress and the offer timeout.
//!
//! Mesos: master.cpp `offer`, `decline`, `rescindOffer`, `removeOffer`, `revive`,
//! `suppress`, `offerTimeout`.

use std::collections::{BTreeMap, HashMap};

use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, OfferId};
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;

use super::state::{AgentState, Framework, OfferEntry};
use super::{AllocatorCall, MasterCore, MasterError, Outgoing, Timer};

/// One allocation decided by the allocator: resources (unallocated, by role) of one
/// agent for one framework.
#[derive(Debug, Clone)]
pub struct AllocationDecision {
    /// The framework offered to.
    pub framework_id: FrameworkId,
    /// The agent whose resources these are.
    pub agent_id: AgentId,
    /// Resources by the role they are allocated to.
    pub resources: BTreeMap<String, Resources>,
}

/// A round's decisions grouped by framework, the groups in the order of each
/// framework's first decision (the allocator's DRF order puts the framework with the
/// lowest share, a new one above all, first on every agent it walks), each group in the
/// round's order. The master makes and sends one group's offers before making the
/// next's, so a new framework's offers do not wait behind the thousands a round can
/// hold for the others (E2E-1 in docs/benchmarks.md).
pub fn group_by_framework(decisions: Vec<AllocationDecision>) -> Vec<Vec<AllocationDecision>> {
    let mut index: HashMap<FrameworkId, usize> = HashMap::new();
    let mut groups: Vec<Vec<AllocationDecision>> = Vec::new();
    for decision in decisions {
        let next = groups.len();
        let at = *index.entry(decision.framework_id.clone()).or_insert(next);
        if at == next {
            groups.push(Vec::new());
        }
        groups[at].push(decision);
    }
    groups
}

impl From<crate::allocator::Allocation<Resources>> for AllocationDecision {
    fn from(allocation: crate::allocator::Allocation<Resources>) -> AllocationDecision {
        let crate::allocator::Allocation { framework_id, agent_id, resources } = allocation;
        AllocationDecision { framework_id, agent_id, resources }
    }
}

impl MasterCore {
    /// Allocations from the allocator: make offers, or hand back what can no longer be
    /// offered (the framework or agent went away while the decision was in flight).
    pub fn on_allocations(&mut self, allocations: Vec<AllocationDecision>) {
        let mut by_framework: HashMap<FrameworkId, Vec<OfferId>> = HashMap::new();
        for allocation in allocations {
            let usable = self.frameworks.get(&allocation.framework_id).is_some_and(|f| f.active())
                && self
                    .agents
                    .get(&allocation.agent_id)
                    .is_some_and(|a| a.state == AgentState::Active)
                && self.fits_agent(&allocation);
            for (role, resources) in allocation.resources {
                let mut tagged = resources;
                tagged.allocate(&role);
                if !usable {
                    self.allocator(AllocatorCall::Recover {
                        framework_id: allocation.framework_id.clone(),
                        agent_id: allocation.agent_id.clone(),
                        resources: tagged,
                        refuse_seconds: None,
                    });
                    continue;
                }
                let offer_id =
                    self.make_offer(&allocation.framework_id, &allocation.agent_id, &role, tagged);
                by_framework.entry(allocation.framework_id.clone()).or_default().push(offer_id);
            }
        }
        for (framework_id, offer_ids) in by_framework {
            self.send_offers(&framework_id, &offer_ids);
        }
    }

    /// The allocated resources still exist on the agent in this form. They do not only
    /// when an operator's reservation or volume changed them while the allocation was
    /// on its way from the allocator; it then goes back, and the allocator, which
    /// already has the new form, does not make it again (Mesos avoids the race by
    /// waiting for the allocator in `Master::_operation`).
    fn fits_agent(&self, allocation: &AllocationDecision) -> bool {
        let Some(agent) = self.agents.get(&allocation.agent_id) else { return false };
        // One role (the usual case): its resources are checked as they are, not summed
        // into a copy first.
        let fits = match allocation.resources.len() {
            1 => allocation.resources.values().all(|wanted| agent.total.contains(wanted)),
            _ => agent.total.contains(&allocation.resources.values().sum()),
        };
        if !fits {
            let wanted: Resources = allocation.resources.values().sum();
            tracing::info!(agent_id = %allocation.agent_id, %wanted, total = %agent.total, "allocation no longer fits the agent: handing it back");
        }
        fits
    }

    fn make_offer(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        resources: Resources,
    ) -> OfferId {
        let offer_id = OfferId::generate(&self.config.id, self.next_offer);
        self.next_offer += 1;
        // Present: the only caller, `on_allocations`, makes offers only on agents it
        // found active (an allocation for a removed agent goes back to the allocator).
        let agent = &self.agents[agent_id];
        let executor_ids: Vec<mesos::ExecutorId> = agent
            .executors
            .get(framework_id)
            .map(|executors| executors.keys().map(mesos::ExecutorId::from).collect())
            .unwrap_or_default();
        let offer = mesos::Offer {
            id: (&offer_id).into(),
            framework_id: framework_id.into(),
            slave_id: agent_id.into(),
            hostname: agent.info.hostname.clone(),
            url: None,
            domain: agent.info.domain.clone(),
            resources: resources.to_protos(),
            attributes: agent.info.attributes.clone(),
            executor_ids,
            // Mesos: master.cpp `Master::offer` sets the machine's scheduled
            // unavailability, so frameworks can plan around maintenance.
            unavailability: self.unavailability_of(&agent.info.hostname, &agent.pid),
            allocation_info: Some(mesos::resource::AllocationInfo { role: Some(role.to_string()) }),
        };
        let entry = OfferEntry {
            offer,
            id: offer_id.clone(),
            framework_id: framework_id.clone(),
            agent_id: agent_id.clone(),
            resources,
        };
        self.offers.insert(offer_id.clone(), entry);
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.offers.insert(offer_id.clone());
        }
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.offers.insert(offer_id.clone());
        }
        if let Some(timeout) = self.config.offer_timeout {
            self.timer(timeout, Timer::OfferTimeout { offer_id: offer_id.clone() });
        }
        offer_id
    }

    fn send_offers(&mut self, framework_id: &FrameworkId, offer_ids: &[OfferId]) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let Some(pid) = framework.pid.clone() else { return };
        if framework.on_first_task() {
            tracing::debug!(target: crate::TIMELINE, %framework_id, offers = offer_ids.len(), "offers sent");
        }
        let mut message = internal::ResourceOffersMessage::default();
        for offer_id in offer_ids {
            if let Some(entry) = self.offers.get(offer_id) {
                message.offers.push(entry.offer.clone());
                let agent_pid =
                    self.agents.get(&entry.agent_id).map(|a| a.pid.to_string()).unwrap_or_default();
                message.pids.push(agent_pid);
            }
        }
        self.send(&pid, Outgoing::ResourceOffers(message));
    }

    /// Removes an offer from the books and returns it.
    pub(crate) fn take_offer(&mut self, offer_id: &OfferId) -> Option<OfferEntry> {
        let entry = self.offers.remove(offer_id)?;
        if let Some(agent) = self.agents.get_mut(&entry.agent_id) {
            agent.offers.remove(offer_id);
        }
        if let Some(framework) = self.frameworks.get_mut(&entry.framework_id) {
            framework.offers.remove(offer_id);
        }
        Some(entry)
    }

    /// Withdraws an offer: the framework is told (if connected) and the resources go back
    /// to the allocator.
    pub(crate) fn rescind_offer(&mut self, offer_id: &OfferId, refuse_seconds: Option<f64>) {
        let Some(entry) = self.take_offer(offer_id) else { return };
        self.stats.offers_rescinded += 1;
        let framework_pid =
            self.frameworks.get(&entry.framework_id).and_then(Framework::active_pid);
        if let Some(pid) = framework_pid {
            let message = internal::RescindResourceOfferMessage { offer_id: offer_id.into() };
            self.send(&pid, Outgoing::RescindResourceOffer(message));
        }
        self.allocator(AllocatorCall::Recover {
            framework_id: entry.framework_id,
            agent_id: entry.agent_id,
            resources: entry.resources,
            refuse_seconds,
        });
    }

    pub(crate) fn on_offer_timeout(&mut self, offer_id: &OfferId) {
        if self.offers.contains_key(offer_id) {
            tracing::info!(%offer_id, "offer timed out: rescinding");
            self.rescind_offer(offer_id, None);
        }
    }

    /// DECLINE: the offers' resources go back, filtered for `refuse_seconds` (default 5).
    /// Offers that are not (or no longer) this framework's are ignored, as in Mesos.
    pub(crate) fn on_decline(
        &mut self,
        framework_id: &FrameworkId,
        decline: scheduler::call::Decline,
    ) -> Result<(), MasterError> {
        let refuse = decline.filters.map(|f| f.refuse_seconds.unwrap_or(5.0)).unwrap_or(5.0);
        for id in &decline.offer_ids {
            let offer_id = OfferId::from(id);
            if self.offers.get(&offer_id).is_none_or(|o| &o.framework_id != framework_id) {
                tracing::info!(%framework_id, %offer_id, "ignoring decline of an offer that is not valid");
                continue;
            }
            if let Some(entry) = self.take_offer(&offer_id) {
                self.stats.offers_declined += 1;
                self.allocator(AllocatorCall::Recover {
                    framework_id: framework_id.clone(),
                    agent_id: entry.agent_id,
                    resources: entry.resources,
                    refuse_seconds: Some(refuse),
                });
            }
        }
        Ok(())
    }

    /// REVIVE: drop decline filters and unsuppress the roles (all roles if none given).
    pub(crate) fn on_revive(
        &mut self,
        framework_id: &FrameworkId,
        roles: Vec<String>,
    ) -> Result<(), MasterError> {
        self.check_roles_subscribed(framework_id, &roles)?;
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            if roles.is_empty() {
                framework.suppressed_roles.clear();
            } else {
                for role in &roles {
                    framework.suppressed_roles.remove(role);
                }
            }
        }
        self.allocator(AllocatorCall::Revive { framework_id: framework_id.clone(), roles });
        Ok(())
    }

    /// SUPPRESS: stop offers for the roles (all roles if none given) until REVIVE.
    pub(crate) fn on_suppress(
        &mut self,
        framework_id: &FrameworkId,
        roles: Vec<String>,
    ) -> Result<(), MasterError> {
        self.check_roles_subscribed(framework_id, &roles)?;
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            let target: Vec<String> = if roles.is_empty() {
                framework.roles.iter().cloned().collect()
            } else {
                roles.clone()
            };
            framework.suppressed_roles.extend(target);
        }
        self.allocator(AllocatorCall::Suppress { framework_id: framework_id.clone(), roles });
        Ok(())
    }

    fn check_roles_subscribed(
        &self,
        framework_id: &FrameworkId,
        roles: &[String],
    ) -> Result<(), MasterError> {
        let framework = self.frameworks.get(framework_id).ok_or_else(|| {
            MasterError::UnknownFramework { framework_id: framework_id.to_string() }
        })?;
        match roles.iter().find(|role| !framework.roles.contains(*role)) {
            Some(role) => Err(MasterError::InvalidCall {
                reason: format!("framework is not subscribed to role '{role}'"),
            }),
            None => Ok(()),
        }
    }

    /// Executors of `framework_id` on `agent_id`.
    pub(crate) fn executor_on(
        &self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        executor_id: &ExecutorId,
    ) -> Option<&mesos::ExecutorInfo> {
        self.agents.get(agent_id)?.executors.get(framework_id)?.get(executor_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(framework: &str, agent: &str) -> AllocationDecision {
        AllocationDecision {
            framework_id: FrameworkId::new(framework),
            agent_id: AgentId::new(agent),
            resources: BTreeMap::new(),
        }
    }

    /// A round's decisions come out grouped by framework, the groups in the order of
    /// each framework's first decision and each group in the round's order.
    #[test]
    fn decisions_are_grouped_by_framework_in_order_of_first_appearance() {
        let round = vec![
            decision("new", "a1"),
            decision("busy", "a2"),
            decision("new", "a3"),
            decision("other", "a4"),
            decision("busy", "a5"),
        ];
        let groups: Vec<Vec<(String, String)>> = group_by_framework(round)
            .into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|d| (d.framework_id.to_string(), d.agent_id.to_string()))
                    .collect()
            })
            .collect();
        let pair = |f: &str, a: &str| (f.to_string(), a.to_string());
        assert_eq!(
            groups,
            vec![
                vec![pair("new", "a1"), pair("new", "a3")],
                vec![pair("busy", "a2"), pair("busy", "a5")],
                vec![pair("other", "a4")],
            ]
        );
    }
}
