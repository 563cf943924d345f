//! Operator calls on one agent (Mesos 1.9+): `MARK_AGENT_GONE`, `DEACTIVATE_AGENT`,
//! `REACTIVATE_AGENT`, `DRAIN_AGENT`, and the draining lifecycle behind them.
//!
//! Each call is checked here, then its change is written to the replicated registry
//! ([`RegistryOperation::MarkGone`], `DeactivateAgent`, `ReactivateAgent`,
//! `DrainAgent`); the master acts and the operator gets its answer only once the change
//! is committed, as Mesos answers after `registrar->apply(...)`. The HTTP layer names
//! each waiting call with a request number; the core answers it with
//! [`Output::OperatorReply`](super::Output::OperatorReply).
//!
//! Draining, per agent:
//!
//! ```text
//!   (active) --DRAIN_AGENT--> DRAINING --no tasks, no operations--> DRAINED   (mark_gone: GONE)
//!       ^                                                    |
//!       +------------------- REACTIVATE_AGENT ---------------+
//! ```
//!
//! A deactivated or draining agent keeps running what it has but gets no offers; a
//! draining one is also told to kill its tasks (`DrainSlaveMessage`). A gone agent is
//! removed, its tasks become `TASK_GONE_BY_OPERATOR` (partition-aware frameworks) or
//! `TASK_LOST`, it is told to shut down, and it is refused whenever it comes back.
//!
//! Mesos: master/http.cpp `_markAgentGone`, `_deactivateAgent`, `_reactivateAgent`,
//! `_drainAgent`; master.cpp `markGone`, `deactivate(Slave*)`,
//! `checkAndTransitionDrainingAgent`.

use libprocess::Time;
use mesos_proto::ids::AgentId;
use mesos_proto::mesos::{self, internal, task_status};
use mesos_registrar::draining::DrainAgent;
use mesos_registrar::operations::AgentIdAtTime;
use mesos_registrar::{RegistryOperation, RegistryState};
use mesos_security::{Action, Principal};

use super::registry::{AfterRegistry, time_info};
use super::{AllocatorCall, MAX_UNREACHABLE_AGENTS, MasterCore, Outgoing, Output};

/// The number the HTTP layer gives an operator call that waits for the registry.
pub type OperatorRequest = u64;

/// How an operator call on an agent ends (Mesos's HTTP answer to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorReply {
    /// `200 OK` now.
    Ok,
    /// Answered later, with an [`Output::OperatorReply`] for this request.
    Pending,
    /// `400 Bad Request`.
    BadRequest(String),
    /// `403 Forbidden`.
    Forbidden,
    /// `404 Not Found`.
    NotFound(String),
    /// `409 Conflict`.
    Conflict(String),
    /// `503 Service Unavailable` (Mesos: retry later).
    Unavailable(String),
}

/// What waits on an operator call's registry change.
#[derive(Debug, Clone)]
pub enum AgentCallDone {
    /// The agent is gone in the registry.
    Gone,
    /// The agent is deactivated in the registry.
    Deactivated,
    /// The agent is reactivated in the registry.
    Reactivated,
    /// The agent is DRAINING in the registry, with this config.
    Draining(mesos::DrainConfig),
    /// The agent is DRAINED in the registry.
    Drained,
}

/// An agent's state as set by the operator (DEACTIVATE_AGENT, DRAIN_AGENT), shown by
/// `GET_AGENTS`, `/master/state` and `/master/slaves` (`deactivated`, `drain_info`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentOperatorState {
    /// Deactivated: no offers until REACTIVATE_AGENT (draining agents are too).
    pub deactivated: bool,
    /// The drain's state and config, while DRAINING or once DRAINED.
    pub drain_info: Option<mesos::DrainInfo>,
    /// When this master told the agent to drain (`estimated_drain_start_time`); none
    /// after a failover, as in Mesos, which keeps it outside the registry.
    pub estimated_drain_start_time: Option<Time>,
}

impl MasterCore {
    /// Whether `agent_id` is known: registered, recovered from the registry, or unreachable.
    fn knows_agent(&self, agent_id: &AgentId) -> bool {
        self.agents.contains_key(agent_id)
            || self.recovered_agents.contains_key(agent_id)
            || self.unreachable.contains_key(agent_id)
    }

    /// Whether the agent is marked gone (it may never come back).
    pub fn is_gone(&self, agent_id: &AgentId) -> bool {
        self.gone.contains_key(agent_id)
    }

    /// Whether the agent is deactivated (by DEACTIVATE_AGENT or DRAIN_AGENT).
    pub fn is_deactivated(&self, agent_id: &AgentId) -> bool {
        self.deactivated.contains(agent_id)
    }

    /// The agent's draining state, if it is draining or drained.
    pub fn drain_info(&self, agent_id: &AgentId) -> Option<&mesos::DrainInfo> {
        self.draining.get(agent_id)
    }

    /// What the operator made of the agent, as the agent views show it.
    pub fn agent_operator_state(&self, agent_id: &AgentId) -> AgentOperatorState {
        AgentOperatorState {
            deactivated: self.is_deactivated(agent_id),
            drain_info: self.drain_info(agent_id).copied(),
            estimated_drain_start_time: self
                .drain_info(agent_id)
                .and_then(|_| self.drain_start_times.get(agent_id).copied()),
        }
    }

    fn operator_call(
        &mut self,
        agent_id: &AgentId,
        op: RegistryOperation,
        done: AgentCallDone,
        request: Option<OperatorRequest>,
    ) {
        let after = AfterRegistry::AgentCall { agent_id: agent_id.clone(), done, request };
        self.registry(op, after);
    }

    /// `MARK_AGENT_GONE`. Mesos: master/http.cpp `markAgentGone`, `_markAgentGone`.
    pub fn mark_agent_gone(
        &mut self,
        principal: Option<&Principal>,
        agent_id: &AgentId,
        request: OperatorRequest,
        now: Time,
    ) -> OperatorReply {
        if !self.authorized(principal, Action::MarkAgentGone) {
            return OperatorReply::Forbidden;
        }
        if self.gone.contains_key(agent_id) {
            return OperatorReply::Ok;
        }
        if self.marking_gone.contains(agent_id) {
            return OperatorReply::Unavailable(format!(
                "Agent '{agent_id}' is already being transitioned to gone"
            ));
        }
        if !self.knows_agent(agent_id) {
            return OperatorReply::NotFound(format!("Agent '{agent_id}' not found"));
        }
        self.start_marking_gone(agent_id, Some(request), now);
        OperatorReply::Pending
    }

    fn start_marking_gone(
        &mut self,
        agent_id: &AgentId,
        request: Option<OperatorRequest>,
        now: Time,
    ) {
        self.marking_gone.insert(agent_id.clone());
        let op = RegistryOperation::MarkGone(AgentIdAtTime {
            id: Some(agent_id.into()),
            time: Some(time_info(now)),
        });
        self.operator_call(agent_id, op, AgentCallDone::Gone, request);
    }

    /// `DEACTIVATE_AGENT`. Mesos: master/http.cpp `_deactivateAgent`.
    pub fn deactivate_agent(
        &mut self,
        principal: Option<&Principal>,
        agent_id: &AgentId,
        request: OperatorRequest,
    ) -> OperatorReply {
        if !self.authorized(principal, Action::DeactivateAgent) {
            return OperatorReply::Forbidden;
        }
        if !self.knows_agent(agent_id) {
            return OperatorReply::BadRequest("Unknown agent".into());
        }
        let op = RegistryOperation::DeactivateAgent(agent_id.into());
        self.operator_call(agent_id, op, AgentCallDone::Deactivated, Some(request));
        OperatorReply::Pending
    }

    /// `REACTIVATE_AGENT`. Mesos: master/http.cpp `_reactivateAgent`.
    pub fn reactivate_agent(
        &mut self,
        principal: Option<&Principal>,
        agent_id: &AgentId,
        request: OperatorRequest,
    ) -> OperatorReply {
        if !self.authorized(principal, Action::ReactivateAgent) {
            return OperatorReply::Forbidden;
        }
        if !self.deactivated.contains(agent_id) {
            return OperatorReply::BadRequest("Agent is not deactivated".into());
        }
        if self.draining.get(agent_id).is_some_and(|d| d.state() == mesos::DrainState::Draining) {
            return OperatorReply::BadRequest("Agent is still in the DRAINING state".into());
        }
        let op = RegistryOperation::ReactivateAgent(agent_id.into());
        self.operator_call(agent_id, op, AgentCallDone::Reactivated, Some(request));
        OperatorReply::Pending
    }

    /// `DRAIN_AGENT`. Mesos: master/http.cpp `drainAgent`, `_drainAgent`.
    pub fn drain_agent(
        &mut self,
        principal: Option<&Principal>,
        agent_id: &AgentId,
        config: mesos::DrainConfig,
        request: OperatorRequest,
    ) -> OperatorReply {
        if let Some(agent) = self.agents.get(agent_id) {
            // Mesos: a best-effort check that maintenance and draining do not mix.
            let machine = Self::machine_of(&agent.info.hostname, &agent.pid);
            if self.machines.contains_key(&machine) {
                return OperatorReply::BadRequest(format!(
                    "Agent {agent_id} is part of a maintenance schedule"
                ));
            }
            let capable = agent
                .capabilities
                .iter()
                .any(|c| c.r#type() == mesos::slave_info::capability::Type::AgentDraining);
            if !capable {
                return OperatorReply::BadRequest(format!(
                    "Agent {agent_id} is not capable of draining"
                ));
            }
        }
        if !self.authorized(principal, Action::DrainAgent)
            || (config.mark_gone() && !self.authorized(principal, Action::MarkAgentGone))
        {
            return OperatorReply::Forbidden;
        }
        if !self.knows_agent(agent_id) {
            return OperatorReply::BadRequest("Unknown agent".into());
        }
        if self.marking_gone.contains(agent_id) {
            return OperatorReply::Conflict("Agent is currently being marked gone".into());
        }
        let op = RegistryOperation::DrainAgent(DrainAgent {
            id: Some(agent_id.into()),
            config: Some(config),
        });
        self.operator_call(agent_id, op, AgentCallDone::Draining(config), Some(request));
        OperatorReply::Pending
    }

    /// An operator call's registry change is committed (or failed): act, then answer.
    pub(crate) fn on_agent_call_done(
        &mut self,
        agent_id: &AgentId,
        done: AgentCallDone,
        request: Option<OperatorRequest>,
        result: Result<(), String>,
        now: Time,
    ) {
        if let Err(error) = &result {
            // Mesos CHECK-fails here; a refused change leaves the master as it was.
            tracing::warn!(%agent_id, ?done, %error, "operator call on an agent failed");
            match done {
                AgentCallDone::Gone => drop(self.marking_gone.remove(agent_id)),
                AgentCallDone::Drained => drop(self.draining_pending.remove(agent_id)),
                _ => {}
            }
        } else {
            match done {
                AgentCallDone::Gone => self.on_agent_marked_gone(agent_id, now),
                AgentCallDone::Deactivated => {
                    self.deactivated.insert(agent_id.clone());
                    self.deactivate_registered_agent(agent_id);
                }
                AgentCallDone::Reactivated => self.on_agent_reactivated(agent_id),
                AgentCallDone::Draining(config) => self.on_agent_draining(agent_id, config, now),
                AgentCallDone::Drained => {
                    self.draining_pending.remove(agent_id);
                    if let Some(info) = self.draining.get_mut(agent_id) {
                        info.set_state(mesos::DrainState::Drained);
                        tracing::info!(%agent_id, "agent is DRAINED");
                    }
                }
            }
        }
        if let Some(request) = request {
            self.outbox.push(Output::OperatorReply { request, result });
        }
    }

    /// The registry has the agent as gone. Mesos: master.cpp `markGone`.
    fn on_agent_marked_gone(&mut self, agent_id: &AgentId, now: Time) {
        self.marking_gone.remove(agent_id);
        if self.gone.len() >= MAX_UNREACHABLE_AGENTS
            && let Some(oldest) =
                self.gone.iter().min_by_key(|(_, time)| **time).map(|(id, _)| id.clone())
        {
            self.gone.remove(&oldest);
        }
        self.gone.insert(agent_id.clone(), now);
        self.draining.remove(agent_id);
        self.drain_start_times.remove(agent_id);
        self.deactivated.remove(agent_id);
        self.recovered_agents.remove(agent_id);
        self.unreachable.remove(agent_id);
        let message = "Agent has been marked gone";
        if let Some(pid) = self.agents.get(agent_id).map(|a| a.pid.clone()) {
            let shutdown = internal::ShutdownMessage { message: Some(message.into()) };
            self.send(&pid, Outgoing::Shutdown(shutdown));
            let reason = task_status::Reason::SlaveRemovedByOperator;
            self.remove_agent(agent_id, message, reason, now, false);
        }
        tracing::info!(%agent_id, "agent marked gone");
    }

    /// Stops offering a registered agent's resources and rescinds its offers.
    /// Mesos: master.cpp `deactivate(Slave*)`.
    fn deactivate_registered_agent(&mut self, agent_id: &AgentId) {
        let Some(agent) = self.agents.get(agent_id) else { return };
        tracing::info!(%agent_id, "deactivating agent");
        let offers: Vec<_> = agent.offers.iter().cloned().collect();
        self.allocator(AllocatorCall::DeactivateAgent { agent_id: agent_id.clone() });
        for offer_id in offers {
            self.rescind_offer(&offer_id, None);
        }
        self.rescind_inverse_offers_of_agent(agent_id);
    }

    fn on_agent_reactivated(&mut self, agent_id: &AgentId) {
        self.draining.remove(agent_id);
        self.drain_start_times.remove(agent_id);
        self.deactivated.remove(agent_id);
        let Some(agent) = self.agents.get(agent_id) else { return };
        if agent.state == super::AgentState::Active {
            tracing::info!(%agent_id, "reactivating agent");
            self.allocator(AllocatorCall::ActivateAgent { agent_id: agent_id.clone() });
        } else {
            tracing::info!(%agent_id, "disconnected agent will be reactivated when it re-registers");
        }
    }

    /// The registry has the agent DRAINING: deactivate it and tell it to kill its tasks.
    /// Mesos: master/http.cpp `_drainAgent`.
    fn on_agent_draining(&mut self, agent_id: &AgentId, config: mesos::DrainConfig, now: Time) {
        let mut info = mesos::DrainInfo { state: 0, config };
        info.set_state(mesos::DrainState::Draining);
        self.draining.insert(agent_id.clone(), info);
        self.deactivated.insert(agent_id.clone());
        let Some(pid) = self.agents.get(agent_id).map(|a| a.pid.clone()) else { return };
        tracing::info!(%agent_id, "agent is DRAINING");
        self.deactivate_registered_agent(agent_id);
        self.send(&pid, Outgoing::DrainSlave(internal::DrainSlaveMessage { config }));
        // Mesos: master/http.cpp `_drainAgent` sets `estimatedDrainStartTime` here.
        self.drain_start_times.insert(agent_id.clone(), now);
        self.check_drained(agent_id, now);
    }

    /// A DRAINING agent with no tasks and no operations left (every operation's
    /// terminal status acknowledged) becomes DRAINED, or gone if its config says so.
    /// Called whenever an agent loses a task or an operation, or re-registers.
    /// Mesos: master.cpp `checkAndTransitionDrainingAgent`.
    pub(crate) fn check_drained(&mut self, agent_id: &AgentId, now: Time) {
        let Some(info) = self.draining.get(agent_id) else { return };
        if info.state() != mesos::DrainState::Draining
            || self.agents.get(agent_id).is_none_or(|a| !a.tasks.is_empty())
            || self.operations.any_of_agent(agent_id)
            || self.marking_gone.contains(agent_id)
            || self.draining_pending.contains(agent_id)
        {
            return;
        }
        if info.config.mark_gone() {
            tracing::info!(%agent_id, "DRAINED agent is marked gone");
            self.start_marking_gone(agent_id, None, now);
        } else {
            self.draining_pending.insert(agent_id.clone());
            let op = RegistryOperation::MarkAgentDrained(agent_id.into());
            self.operator_call(agent_id, op, AgentCallDone::Drained, None);
        }
    }

    /// An agent (re-)added to the allocator stays deactivated if it was; a DRAINING one
    /// is told to drain again (Mesos: master.cpp `___reregisterSlave`).
    pub(crate) fn on_agent_added_draining(&mut self, agent_id: &AgentId, now: Time) {
        if !self.deactivated.contains(agent_id) {
            return;
        }
        self.allocator(AllocatorCall::DeactivateAgent { agent_id: agent_id.clone() });
        let Some(info) = self.draining.get(agent_id).copied() else { return };
        if info.state() == mesos::DrainState::Draining
            && let Some(pid) = self.agents.get(agent_id).map(|a| a.pid.clone())
        {
            let message = internal::DrainSlaveMessage { config: info.config };
            self.send(&pid, Outgoing::DrainSlave(message));
            self.check_drained(agent_id, now);
        }
    }

    /// Gone, deactivated and draining agents from the registry (Mesos: master.cpp
    /// `_recover`).
    pub(crate) fn recover_draining(&mut self, registry: &RegistryState, now: Time) {
        for slave in registry.gone_agents() {
            self.gone.insert(AgentId::from(&slave.id), now);
        }
        let admitted = registry
            .admitted_agents()
            .iter()
            .filter_map(|s| Some((s.info.id.as_ref()?, &s.drain_info, s.deactivated)));
        let unreachable =
            registry.unreachable_agents().iter().map(|s| (&s.id, &s.drain_info, s.deactivated));
        for (id, drain_info, deactivated) in admitted.chain(unreachable) {
            let agent_id = AgentId::from(id);
            if deactivated == Some(true) {
                self.deactivated.insert(agent_id.clone());
            }
            if let Some(info) = drain_info {
                self.draining.insert(agent_id, *info);
            }
        }
    }
}
