//! Offer operations in the allocator: resources that change form (a reservation
//! made or removed, a volume created or destroyed) without changing hands.
//!
//! * [`Allocator::on_update_allocation`]: a framework converted resources it was
//!   offered (RESERVE in an ACCEPT): what it holds and the agent's total both change.
//! * [`Allocator::on_update_available`]: the operator converted unallocated resources
//!   (`RESERVE_RESOURCES`): only the agent's total and free resources change; if they
//!   are not free now, the call fails and nothing changes.
//!
//! Mesos: hierarchical.cpp `updateAllocation`, `updateAvailable`.

use super::core::Allocator;
use super::resources::AllocatorResources;
use super::types::{AgentId, AllocatorError, FrameworkId};

impl<R: AllocatorResources> Allocator<R> {
    /// `consumed` (held by the framework in `role` on the agent) became `converted`.
    pub fn on_update_allocation(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        consumed: &R,
        converted: &R,
    ) -> Result<(), AllocatorError> {
        let fw = self.framework(framework_id)?;
        let a = self.agent(agent_id)?;
        let r = self.role_index.get(role).copied();
        let held = r.and_then(|r| self.agents.at(a).held.get(&(fw, r)));
        let (Some(r), true) = (r, held.is_some_and(|h| h.contains(consumed))) else {
            return Err(AllocatorError::NotHeld {
                framework_id: framework_id.clone(),
                agent_id: agent_id.clone(),
                role: role.to_string(),
                resources: format!("{consumed:?}"),
            });
        };
        // Hand the old form back, change the agent's total, then take the new form:
        // the sorters see the same quantities leave and (for every operation but a
        // shrink that frees disk) come back.
        self.untrack_allocated(a, fw, r, consumed);
        self.convert_total(a, consumed, converted);
        self.track_allocated(a, fw, role, converted);
        Ok(())
    }

    /// Unallocated `consumed` on the agent became `converted`; refused if `consumed`
    /// is not all free.
    pub fn on_update_available(
        &mut self,
        agent_id: &AgentId,
        consumed: &R,
        converted: &R,
    ) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        if !self.agents.at(a).available.contains(consumed) {
            return Err(AllocatorError::NotAvailable {
                agent_id: agent_id.clone(),
                resources: format!("{consumed:?}"),
            });
        }
        self.convert_total(a, consumed, converted);
        self.candidates.insert(a);
        Ok(())
    }

    fn convert_total(&mut self, a: super::core::AgentIdx, consumed: &R, converted: &R) {
        let old = self.agents.at(a).total_quantities.clone();
        let mut total = self.agents.at(a).total.minus(consumed);
        total.add(converted);
        let new = total.scalar_quantities();
        self.remove_from_totals(&old);
        self.add_to_totals(&new);
        let agent = self.agents.at_mut(a);
        agent.available = total.minus(&agent.used);
        agent.total = total;
        agent.total_quantities = new;
    }
}
