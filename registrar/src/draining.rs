//! Registry operations for draining and deactivating agents (Mesos 1.9+).
//!
//! Mesos: src/master/registry_operations.cpp `DrainAgent`, `MarkAgentDrained`,
//! `DeactivateAgent`, `ReactivateAgent`. Each finds the agent among the admitted ones,
//! then among the unreachable ones (both carry `drain_info` and `deactivated`), and
//! changes nothing (`Ok(false)`) when the agent is in neither: Mesos's `perform`
//! returns "no mutation" then, and the master has checked the agent exists before.

use mesos_proto::mesos::{DrainConfig, DrainInfo, DrainState, SlaveId};

use crate::RegistryError;
use crate::state::RegistryState;

/// An agent to drain and how (Mesos `DrainAgent`'s arguments).
#[derive(Clone, PartialEq, prost::Message)]
pub struct DrainAgent {
    /// The agent.
    #[prost(message, optional, tag = "1")]
    pub id: Option<SlaveId>,
    /// The grace period and whether to mark it gone once drained.
    #[prost(message, optional, tag = "2")]
    pub config: Option<DrainConfig>,
}

/// The two fields every registry agent entry has for draining.
struct DrainFields<'a> {
    drain_info: &'a mut Option<DrainInfo>,
    deactivated: &'a mut Option<bool>,
}

/// The admitted or unreachable entry of `id`, if any.
fn fields<'a>(state: &'a mut RegistryState, id: &str) -> Option<DrainFields<'a>> {
    if let Some(&position) = state.admitted.get(id) {
        let slave = state.slaves_mut().get_mut(position)?;
        return Some(DrainFields {
            drain_info: &mut slave.drain_info,
            deactivated: &mut slave.deactivated,
        });
    }
    let position = *state.unreachable.get(id)?;
    let slave = state.unreachable_mut().get_mut(position)?;
    Some(DrainFields { drain_info: &mut slave.drain_info, deactivated: &mut slave.deactivated })
}

fn id_of(id: &Option<SlaveId>) -> Result<&str, RegistryError> {
    id.as_ref()
        .map(|id| id.value.as_str())
        .ok_or(RegistryError::Invalid { reason: "agent id is missing".into() })
}

// Mesos: DrainAgent::perform. The agent is DRAINING with the config, and deactivated.
pub(crate) fn drain_agent(
    state: &mut RegistryState,
    op: &DrainAgent,
) -> Result<bool, RegistryError> {
    let id = id_of(&op.id)?.to_string();
    let Some(entry) = fields(state, &id) else { return Ok(false) };
    *entry.drain_info = Some(DrainInfo {
        state: DrainState::Draining as i32,
        config: op.config.unwrap_or_default(),
    });
    *entry.deactivated = Some(true);
    Ok(true)
}

// Mesos: MarkAgentDrained::perform. Only a DRAINING agent becomes DRAINED.
pub(crate) fn mark_agent_drained(
    state: &mut RegistryState,
    id: &SlaveId,
) -> Result<bool, RegistryError> {
    let Some(entry) = fields(state, &id.value) else { return Ok(false) };
    match entry.drain_info {
        Some(info) if info.state == DrainState::Draining as i32 => {
            info.state = DrainState::Drained as i32;
            Ok(true)
        }
        _ => Err(RegistryError::Invalid { reason: format!("agent {} is not DRAINING", id.value) }),
    }
}

// Mesos: DeactivateAgent::perform.
pub(crate) fn deactivate_agent(state: &mut RegistryState, id: &SlaveId) -> bool {
    let Some(entry) = fields(state, &id.value) else { return false };
    *entry.deactivated = Some(true);
    true
}

// Mesos: ReactivateAgent::perform. Reactivation also ends any draining.
pub(crate) fn reactivate_agent(state: &mut RegistryState, id: &SlaveId) -> bool {
    let Some(entry) = fields(state, &id.value) else { return false };
    *entry.deactivated = Some(false);
    *entry.drain_info = None;
    true
}
