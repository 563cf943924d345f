//! Inverse offers: the master asks frameworks to give back agents whose machines are
//! scheduled for maintenance, and records their answers.
//!
//! 1. The allocator picks (framework, agent) pairs after each round
//!    (`allocator/maintenance.rs`); [`MasterCore::on_inverse_offers`] makes each one an
//!    `InverseOffer` (id from the offer counter, so offer and inverse offer ids never
//!    collide; the agent's URL; the machine's unavailability; no resources: the whole
//!    agent) and sends the framework one `InverseOffersMessage` (v1: `INVERSE_OFFERS`).
//! 2. The framework answers ACCEPT_INVERSE_OFFERS or DECLINE_INVERSE_OFFERS: the answer
//!    (with its time) is the framework's `InverseOfferStatus` for that agent, shown in
//!    the maintenance status, and the allocator is told, with the answer's filter
//!    (`refuse_seconds`, default 5), after which it may ask again.
//! 3. Or the inverse offer is withdrawn (`RescindInverseOfferMessage`, v1
//!    `RESCIND_INVERSE_OFFER`): the unavailability changed, the agent disconnected, was
//!    deactivated or removed, the framework disconnected, failed over or was removed,
//!    or `--offer_timeout` passed.
//!
//! Answers are kept here, per agent and framework, until the agent's unavailability
//! changes or the agent goes away; a master failover forgets them (as in Mesos).
//!
//! Mesos: master.cpp `inverseOffer`, `acceptInverseOffers`, `declineInverseOffers`,
//! `removeInverseOffer`, `inverseOfferTimeout`, `updateUnavailability`; master/http.cpp
//! `_getMaintenanceStatus`.

use libprocess::Time;
use mesos_proto::ids::{AgentId, FrameworkId, OfferId};
use mesos_proto::mesos::allocator::{InverseOfferStatus, inverse_offer_status};
use mesos_proto::mesos::{self, internal, scheduler};

use super::maintenance::MachineKey;
use super::registry::time_info;
use super::state::{AgentState, Framework};
use super::{AllocatorCall, MasterCore, MasterError, Outgoing, Timer};
use crate::allocator::InverseOfferAllocation;

/// Mesos's `Filters.refuse_seconds` default, used when an answer carries no filter.
const DEFAULT_REFUSE_SECONDS: f64 = 5.0;

/// Outstanding inverse offers and the answers frameworks gave.
#[derive(Debug, Default)]
pub(crate) struct InverseOffers {
    /// By id. Bounded: the allocator makes at most one per (framework, scheduled agent).
    pub(crate) outstanding: std::collections::HashMap<OfferId, mesos::InverseOffer>,
    /// The last answer of each framework, by agent. Bounded like `outstanding`.
    pub(crate) statuses: std::collections::HashMap<
        AgentId,
        std::collections::BTreeMap<FrameworkId, InverseOfferStatus>,
    >,
}

impl MasterCore {
    /// The allocator's picks: make the inverse offers that still make sense and send
    /// each framework its own. Mesos: master.cpp `Master::inverseOffer`.
    pub fn on_inverse_offers(&mut self, picks: Vec<InverseOfferAllocation>) {
        let mut by_framework: std::collections::BTreeMap<
            FrameworkId,
            internal::InverseOffersMessage,
        > = Default::default();
        for pick in picks {
            let Some(offer) = self.make_inverse_offer(&pick) else {
                // The allocator marked it outstanding: unmark it, or it never asks again.
                self.allocator(AllocatorCall::UpdateInverseOffer {
                    agent_id: pick.agent_id,
                    framework_id: pick.framework_id,
                    refuse_seconds: None,
                });
                continue;
            };
            let id = OfferId::from(&offer.id);
            if let Some(timeout) = self.config.offer_timeout {
                self.timer(timeout, Timer::InverseOfferTimeout { inverse_offer_id: id.clone() });
            }
            let agent_pid = self.agents.get(&pick.agent_id).map(|a| a.pid.to_string());
            let message = by_framework.entry(pick.framework_id).or_default();
            message.inverse_offers.push(offer.clone());
            message.pids.push(agent_pid.unwrap_or_default());
            self.inverse_offers.outstanding.insert(id, offer);
        }
        for (framework_id, message) in by_framework {
            let pid = self.frameworks.get(&framework_id).and_then(Framework::active_pid);
            if let Some(pid) = pid {
                tracing::info!(%framework_id, count = message.inverse_offers.len(), "sending inverse offers");
                self.send(&pid, Outgoing::InverseOffers(message));
            }
        }
    }

    /// One inverse offer, unless the framework is no longer active, the agent no longer
    /// active, or its machine no longer scheduled (all can change while the pick was on
    /// its way from the allocator).
    fn make_inverse_offer(&mut self, pick: &InverseOfferAllocation) -> Option<mesos::InverseOffer> {
        let framework_active = self.frameworks.get(&pick.framework_id).is_some_and(|f| f.active());
        let agent = self.agents.get(&pick.agent_id)?;
        let agent_active =
            agent.state == AgentState::Active && !self.deactivated.contains(&pick.agent_id);
        let unavailability = self.unavailability_of(&agent.info.hostname, &agent.pid);
        if !framework_active || !agent_active || unavailability.is_none() {
            tracing::info!(framework_id = %pick.framework_id, agent_id = %pick.agent_id, framework_active, agent_active, "dropping an inverse offer that no longer applies");
            return None;
        }
        let address = agent.pid.address();
        let url = mesos::Url {
            scheme: "http".into(),
            address: mesos::Address {
                hostname: Some(agent.info.hostname.clone()),
                ip: Some(address.ip().to_string()),
                port: i32::from(address.port()),
            },
            path: Some(format!("/{}", agent.pid.id())),
            query: Vec::new(),
            fragment: None,
        };
        let id = OfferId::generate(&self.config.id, self.next_offer);
        self.next_offer += 1;
        Some(mesos::InverseOffer {
            id: (&id).into(),
            url: Some(url),
            framework_id: (&pick.framework_id).into(),
            slave_id: Some((&pick.agent_id).into()),
            unavailability: pick.unavailability,
            resources: Vec::new(),
        })
    }

    /// ACCEPT_INVERSE_OFFERS. Invalid ids (unknown, or another framework's) are logged
    /// and skipped, as Mesos does; the framework hears nothing back either way.
    /// Mesos: master.cpp `acceptInverseOffers`.
    pub(crate) fn on_accept_inverse_offers(
        &mut self,
        framework_id: &FrameworkId,
        accept: scheduler::call::AcceptInverseOffers,
        now: Time,
    ) -> Result<(), MasterError> {
        if accept.inverse_offer_ids.is_empty() {
            tracing::warn!(%framework_id, "ACCEPT_INVERSE_OFFERS call used invalid offers: no inverse offers specified");
            return Ok(());
        }
        let refuse = accept.filters.and_then(|f| f.refuse_seconds);
        let status = inverse_offer_status::Status::Accept;
        self.answer_inverse_offers(framework_id, &accept.inverse_offer_ids, status, refuse, now);
        Ok(())
    }

    /// DECLINE_INVERSE_OFFERS. Mesos: master.cpp `declineInverseOffers`.
    pub(crate) fn on_decline_inverse_offers(
        &mut self,
        framework_id: &FrameworkId,
        decline: scheduler::call::DeclineInverseOffers,
        now: Time,
    ) -> Result<(), MasterError> {
        let refuse = decline.filters.and_then(|f| f.refuse_seconds);
        let status = inverse_offer_status::Status::Decline;
        self.answer_inverse_offers(framework_id, &decline.inverse_offer_ids, status, refuse, now);
        Ok(())
    }

    fn answer_inverse_offers(
        &mut self,
        framework_id: &FrameworkId,
        ids: &[mesos::OfferId],
        answer: inverse_offer_status::Status,
        refuse_seconds: Option<f64>,
        now: Time,
    ) {
        for id in ids {
            let id = OfferId::from(id);
            let owned = self
                .inverse_offers
                .outstanding
                .get(&id)
                .is_some_and(|o| FrameworkId::from(&o.framework_id) == *framework_id);
            if !owned {
                tracing::warn!(%framework_id, inverse_offer_id = %id, ?answer, "ignoring an answer to an inverse offer that is not valid");
                continue;
            }
            let Some(offer) = self.remove_inverse_offer(&id, false) else { continue };
            let Some(agent_id) = offer.slave_id.as_ref().map(AgentId::from) else { continue };
            let mut status = InverseOfferStatus {
                status: 0,
                framework_id: framework_id.into(),
                timestamp: time_info(now),
            };
            status.set_status(answer);
            tracing::info!(%framework_id, %agent_id, ?answer, "inverse offer answered");
            self.inverse_offers
                .statuses
                .entry(agent_id.clone())
                .or_default()
                .insert(framework_id.clone(), status);
            self.allocator(AllocatorCall::UpdateInverseOffer {
                agent_id,
                framework_id: framework_id.clone(),
                refuse_seconds: Some(refuse_seconds.unwrap_or(DEFAULT_REFUSE_SECONDS)),
            });
        }
    }

    /// Forgets an inverse offer; with `rescind`, tells its framework (if connected).
    /// Mesos: master.cpp `removeInverseOffer`.
    fn remove_inverse_offer(&mut self, id: &OfferId, rescind: bool) -> Option<mesos::InverseOffer> {
        let offer = self.inverse_offers.outstanding.remove(id)?;
        if rescind {
            let framework_id = FrameworkId::from(&offer.framework_id);
            if let Some(pid) = self.frameworks.get(&framework_id).and_then(Framework::active_pid) {
                let message = internal::RescindInverseOfferMessage { inverse_offer_id: id.into() };
                self.send(&pid, Outgoing::RescindInverseOffer(message));
            }
        }
        Some(offer)
    }

    /// Withdraws the inverse offers matching `which`: rescinded (`rescind`), and the
    /// allocator told unless the agent has left it (`tell_allocator`).
    fn withdraw_inverse_offers(
        &mut self,
        which: impl Fn(&mesos::InverseOffer) -> bool,
        rescind: bool,
        tell_allocator: bool,
    ) {
        let ids: Vec<OfferId> = self
            .inverse_offers
            .outstanding
            .iter()
            .filter(|(_, offer)| which(offer))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some(offer) = self.remove_inverse_offer(&id, rescind) else { continue };
            if tell_allocator && let Some(agent_id) = offer.slave_id.as_ref() {
                self.allocator(AllocatorCall::UpdateInverseOffer {
                    agent_id: agent_id.into(),
                    framework_id: (&offer.framework_id).into(),
                    refuse_seconds: None,
                });
            }
        }
    }

    /// The agent disconnected or was deactivated: its inverse offers are rescinded.
    /// Mesos: master.cpp `deactivate(Slave*)`.
    pub(crate) fn rescind_inverse_offers_of_agent(&mut self, agent_id: &AgentId) {
        let id: mesos::SlaveId = agent_id.into();
        self.withdraw_inverse_offers(|o| o.slave_id.as_ref() == Some(&id), true, true);
    }

    /// The agent was removed: its inverse offers are rescinded and its answers
    /// forgotten; the allocator has forgotten it already. Mesos: master.cpp
    /// `removeSlave`, `__removeSlave`.
    pub(crate) fn remove_inverse_offers_of_agent(&mut self, agent_id: &AgentId) {
        let id: mesos::SlaveId = agent_id.into();
        self.withdraw_inverse_offers(|o| o.slave_id.as_ref() == Some(&id), true, false);
        self.inverse_offers.statuses.remove(agent_id);
    }

    /// The framework disconnected, failed over (`rescind`) or was removed: its inverse
    /// offers go. Mesos: master.cpp `deactivate(Framework*)`, `failoverFramework`,
    /// `removeFramework`.
    pub(crate) fn remove_inverse_offers_of_framework(
        &mut self,
        framework_id: &FrameworkId,
        rescind: bool,
    ) {
        let id: mesos::FrameworkId = framework_id.into();
        self.withdraw_inverse_offers(|o| o.framework_id == id, rescind, true);
    }

    /// `--offer_timeout` passed on an inverse offer: rescind it (the allocator may ask
    /// again). Mesos: master.cpp `inverseOfferTimeout`.
    pub(crate) fn on_inverse_offer_timeout(&mut self, inverse_offer_id: &OfferId) {
        let id: mesos::OfferId = inverse_offer_id.into();
        self.withdraw_inverse_offers(|o| o.id == id, true, true);
    }

    /// The machine's unavailability changed (`None`: it left the schedule). For each of
    /// its agents: offers and inverse offers are rescinded so frameworks learn the new
    /// window at once, answers are forgotten, and the allocator takes the new
    /// unavailability. Mesos: master.cpp `Master::updateUnavailability`.
    pub(crate) fn update_unavailability(
        &mut self,
        machine: &MachineKey,
        unavailability: Option<mesos::Unavailability>,
    ) {
        let agents: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| Self::machine_of(&a.info.hostname, &a.pid) == *machine)
            .map(|a| a.id.clone())
            .collect();
        for agent_id in agents {
            tracing::info!(%agent_id, ?unavailability, "updating the agent's unavailability");
            let offers: Vec<OfferId> = self
                .agents
                .get(&agent_id)
                .map(|a| a.offers.iter().cloned().collect())
                .unwrap_or_default();
            for offer_id in offers {
                self.rescind_offer(&offer_id, None);
            }
            self.rescind_inverse_offers_of_agent(&agent_id);
            self.inverse_offers.statuses.remove(&agent_id);
            self.allocator(AllocatorCall::UpdateUnavailability { agent_id, unavailability });
        }
    }

    /// A (re-)registered agent on a scheduled machine: the allocator learns its
    /// unavailability (Mesos passes it to `addSlave`).
    pub(crate) fn on_agent_added_maintenance(&mut self, agent_id: &AgentId) {
        let Some(agent) = self.agents.get(agent_id) else { return };
        if let Some(unavailability) = self.unavailability_of(&agent.info.hostname, &agent.pid) {
            let agent_id = agent_id.clone();
            self.allocator(AllocatorCall::UpdateUnavailability {
                agent_id,
                unavailability: Some(unavailability),
            });
        }
    }

    /// The answers of the frameworks on the agents of a machine (maintenance status).
    pub(crate) fn inverse_offer_statuses(&self, machine: &MachineKey) -> Vec<InverseOfferStatus> {
        let mut out = Vec::new();
        for agent in self.agents.values() {
            if Self::machine_of(&agent.info.hostname, &agent.pid) != *machine {
                continue;
            }
            if let Some(statuses) = self.inverse_offers.statuses.get(&agent.id) {
                out.extend(statuses.values().cloned());
            }
        }
        out
    }

    /// Outstanding inverse offers (`/master/state`, tests).
    pub fn inverse_offers(&self) -> impl Iterator<Item = &mesos::InverseOffer> {
        self.inverse_offers.outstanding.values()
    }
}
