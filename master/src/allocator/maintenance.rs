//! Maintenance in the allocator: agents with a scheduled unavailability, and the inverse
//! offers that ask frameworks to give those agents back.
//!
//! An agent on a machine in the maintenance schedule carries its `unavailability`
//! ([`Allocator::on_update_unavailability`]). After every allocation round the allocator
//! picks, for each such active agent, the active frameworks that hold resources there
//! (offered or allocated) and have neither an inverse offer outstanding for it nor a
//! filter against it ([`Allocator::generate_inverse_offers`]); the master turns each pick
//! into an `InverseOffer`. The framework's answer (or the inverse offer's rescind or
//! timeout) comes back through [`Allocator::on_update_inverse_offer`], which clears the
//! outstanding mark (so the next round may ask again) and, for an answer, installs a
//! filter for `refuse_seconds`.
//!
//! The answers themselves (`InverseOfferStatus`) are kept by the master, which shows
//! them in the maintenance status; Mesos keeps them here and the master asks for them
//! (`getInverseOfferStatuses`). Either way they are forgotten when the unavailability
//! changes or the master fails over.
//!
//! Mesos: hierarchical.cpp `updateUnavailability`, `updateInverseOffer`,
//! `generateInverseOffers`, `RefusedInverseOfferFilter`, `isFiltered`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_proto::mesos::Unavailability;

use super::core::{Allocator, FwIdx};
use super::filters::refuse_timeout;
use super::resources::AllocatorResources;
use super::types::{AgentId, AllocatorError, FrameworkId};

/// An agent's scheduled maintenance, as the allocator tracks it.
#[derive(Debug, Clone)]
pub(super) struct Maintenance {
    /// When the agent's machine goes away (and for how long).
    pub(super) unavailability: Unavailability,
    /// Frameworks with an inverse offer for this agent not answered yet. Bounded by
    /// the number of frameworks.
    pub(super) outstanding: BTreeSet<FwIdx>,
    /// Frameworks that answered, until when they are not asked again (Mesos:
    /// `RefusedInverseOfferFilter`). One entry per framework: a new answer replaces
    /// the old expiry. Bounded by the number of frameworks.
    pub(super) filtered_until: BTreeMap<FwIdx, Duration>,
}

/// One inverse offer the allocator wants made: `framework_id` is asked to give back
/// agent `agent_id`, which becomes unavailable at `unavailability`.
#[derive(Debug, Clone, PartialEq)]
pub struct InverseOfferAllocation {
    /// Who is asked.
    pub framework_id: FrameworkId,
    /// Which agent.
    pub agent_id: AgentId,
    /// The agent's scheduled unavailability.
    pub unavailability: Unavailability,
}

impl<R: AllocatorResources> Allocator<R> {
    /// The agent's machine was scheduled (`Some`), rescheduled, or left the schedule
    /// (`None`). Outstanding marks and filters start afresh: frameworks should
    /// reassess a changed schedule (Mesos drops the inverse offer filters here too).
    // Mesos: hierarchical.cpp updateUnavailability.
    pub fn on_update_unavailability(
        &mut self,
        agent_id: &AgentId,
        unavailability: Option<Unavailability>,
    ) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        let maintenance = unavailability.map(|unavailability| Maintenance {
            unavailability,
            outstanding: BTreeSet::new(),
            filtered_until: BTreeMap::new(),
        });
        if maintenance.is_some() {
            self.scheduled.insert(a);
        } else {
            self.scheduled.remove(&a);
        }
        self.agents.at_mut(a).maintenance = maintenance;
        self.candidates.insert(a);
        Ok(())
    }

    /// An inverse offer ended: the framework answered it (`refuse_seconds` is then the
    /// answer's filter, Mesos's default 5 if it gave none), or it was rescinded or timed
    /// out (`None`). Either way the framework may be asked again; after an answer, not
    /// before `now + refuse_seconds`. Unknown agents and frameworks, and agents no
    /// longer scheduled, are ignored: the inverse offer was overtaken by their removal
    /// or by a new schedule.
    // Mesos: hierarchical.cpp updateInverseOffer.
    pub fn on_update_inverse_offer(
        &mut self,
        agent_id: &AgentId,
        framework_id: &FrameworkId,
        refuse_seconds: Option<f64>,
        now: Duration,
    ) -> Result<(), AllocatorError> {
        let (Some(&a), Some(&fw)) =
            (self.agent_index.get(agent_id), self.framework_index.get(framework_id))
        else {
            return Ok(());
        };
        let Some(maintenance) = self.agents.at_mut(a).maintenance.as_mut() else {
            return Ok(());
        };
        maintenance.outstanding.remove(&fw);
        // Mesos's inverse offer filters take `refuse_seconds` as given (default 5 if
        // negative or not a number, at most 365 days, none for 0): unlike decline
        // filters they are not stretched to the allocation interval.
        if let Some(timeout) = refuse_seconds.and_then(|s| refuse_timeout(s, Duration::ZERO)) {
            maintenance.filtered_until.insert(fw, now + timeout);
        }
        Ok(())
    }

    /// The inverse offers to make now: for every active scheduled agent, each active
    /// framework holding resources there that has no inverse offer outstanding for it
    /// and no live filter. Each one picked is marked outstanding until
    /// [`Allocator::on_update_inverse_offer`]. Inverse offers carry no resources: they
    /// ask for the whole agent.
    // Mesos: hierarchical.cpp generateInverseOffers (run after each allocation).
    pub fn generate_inverse_offers(&mut self, now: Duration) -> Vec<InverseOfferAllocation> {
        let mut out = Vec::new();
        let scheduled: Vec<u32> =
            self.scheduled.iter().copied().filter(|&a| self.agents.at(a).active).collect();
        for a in scheduled {
            let holders: BTreeSet<FwIdx> =
                self.agents.at(a).held.keys().map(|&(fw, _)| fw).collect();
            let holders: Vec<FwIdx> =
                holders.into_iter().filter(|&fw| self.frameworks.at(fw).active).collect();
            let agent = self.agents.at_mut(a);
            let agent_id = agent.id.clone();
            let Some(maintenance) = agent.maintenance.as_mut() else { continue };
            maintenance.filtered_until.retain(|_, until| *until > now);
            for fw in holders {
                if maintenance.outstanding.contains(&fw)
                    || maintenance.filtered_until.contains_key(&fw)
                {
                    continue;
                }
                maintenance.outstanding.insert(fw);
                out.push(InverseOfferAllocation {
                    framework_id: self.frameworks.at(fw).id.clone(),
                    agent_id: agent_id.clone(),
                    unavailability: maintenance.unavailability,
                });
            }
        }
        out
    }

    /// Drops a framework's inverse offer filters (it was deactivated or revived, as
    /// Mesos clears `inverseOfferFilters` then) and, when it is being `removed`, its
    /// outstanding marks too (its index may be reused).
    pub(super) fn clear_inverse_offer_state(&mut self, fw: FwIdx, removed: bool) {
        let agents: Vec<u32> = self.agents.indices().collect();
        for a in agents {
            if let Some(maintenance) = self.agents.at_mut(a).maintenance.as_mut() {
                maintenance.filtered_until.remove(&fw);
                if removed {
                    maintenance.outstanding.remove(&fw);
                }
            }
        }
    }

    /// The frameworks with an inverse offer outstanding for an agent (tests).
    pub fn inverse_offers_outstanding(&self, agent_id: &AgentId) -> Vec<FrameworkId> {
        let Some(&a) = self.agent_index.get(agent_id) else { return Vec::new() };
        let Some(maintenance) = &self.agents.at(a).maintenance else { return Vec::new() };
        maintenance.outstanding.iter().map(|&fw| self.frameworks.at(fw).id.clone()).collect()
    }
}
