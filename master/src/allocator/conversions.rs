//! Offer operations in the allocator: resources that change form (a reservation
//! made or removed, a volume created or destroyed) without changing hands.
//!
//! * [`Allocator::on_update_allocation`]: a framework converted resources it was
//!   offered (RESERVE in an ACCEPT): what it holds and the agent's total both change.
//! * [`Allocator::on_update_available`]: the operator converted unallocated resources
//!   (`RESERVE_RESOURCES`): only the agent's total and free resources change. The
//!   master checked they were free in its books; if an allocation of them is on its
//!   way to the master, the total changes all the same (the master's view wins) and
//!   the master hands that allocation back, since it no longer fits the agent.
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

    /// Unallocated `consumed` on the agent became `converted`. Reports `NotAvailable`
    /// (after applying the change) if `consumed` was not all free here: an allocation
    /// of it is in flight, and comes back from the master.
    pub fn on_update_available(
        &mut self,
        agent_id: &AgentId,
        consumed: &R,
        converted: &R,
    ) -> Result<(), AllocatorError> {
        let a = self.agent(agent_id)?;
        let was_free = self.agents.at(a).available.contains(consumed);
        self.convert_total(a, consumed, converted);
        self.candidates.insert(a);
        if was_free {
            Ok(())
        } else {
            Err(AllocatorError::NotAvailable {
                agent_id: agent_id.clone(),
                resources: format!("{consumed:?}"),
            })
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mesos_proto::resources::{Resources, resource};

    use super::super::{AgentSpec, Allocator, AllocatorConfig, FrameworkSpec};
    use super::{AgentId, FrameworkId};

    fn reserved(text: &str, role: &str) -> Resources {
        let reservation = resource::dynamic_reservation(role, None, None);
        Resources::parse(text).unwrap().push_reservation(&reservation).unwrap()
    }

    fn framework(allocator: &mut Allocator<Resources>, name: &str, role: &str) {
        let spec = FrameworkSpec { roles: [role.to_string()].into(), ..FrameworkSpec::default() };
        allocator.on_add_framework(FrameworkId::new(name), spec, true).unwrap();
    }

    /// A framework's RESERVE changes what it holds and the agent's total; once
    /// recovered, the reservation is offered only to its role, the rest to others.
    /// The operator's reservation of free resources does the same without a holder.
    #[test]
    fn reservations_change_the_total_and_go_only_to_their_role() {
        let mut allocator: Allocator<Resources> = Allocator::new(AllocatorConfig::default());
        let agent = AgentId::new("a1");
        let total = Resources::parse("cpus:2;mem:512").unwrap();
        allocator.on_add_agent(agent.clone(), AgentSpec::default(), total, Vec::new()).unwrap();
        framework(&mut allocator, "f1", "role1");
        let first = allocator.allocate_candidates(Duration::ZERO);
        assert_eq!(first.len(), 1);
        let consumed = Resources::parse("cpus:1").unwrap();
        let converted = reserved("cpus:1", "role1");
        let f1 = FrameworkId::new("f1");
        allocator.on_update_allocation(&f1, &agent, "role1", &consumed, &converted).unwrap();
        let held = allocator.held(&f1, &agent, "role1").unwrap().clone();
        assert!(held.contains(&converted));
        allocator
            .on_recover_resources(&f1, &agent, "role1", &held, Some(3600.0), Duration::ZERO)
            .unwrap();
        framework(&mut allocator, "f2", "role2");
        let second = allocator.allocate_candidates(Duration::ZERO);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].framework_id, FrameworkId::new("f2"));
        assert_eq!(second[0].resources["role2"], Resources::parse("cpus:1;mem:512").unwrap());

        // The operator reserves the mem f2 holds (an allocation in flight to the
        // master): reported, applied anyway; once the master hands the allocation
        // back, the agent is all new form.
        let mem = Resources::parse("mem:512").unwrap();
        let reserved_mem = reserved("mem:512", "role2");
        assert!(allocator.on_update_available(&agent, &mem, &reserved_mem).is_err());
        let f2 = FrameworkId::new("f2");
        let stale = second[0].resources["role2"].clone();
        allocator.on_recover_resources(&f2, &agent, "role2", &stale, None, Duration::ZERO).unwrap();
        let all = Resources::parse("cpus:1").unwrap() + converted + reserved_mem;
        assert_eq!(allocator.available(&agent).unwrap(), &all);
    }
}
