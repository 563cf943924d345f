//! Offer operations other than LAUNCH, and the rule that no operation is ever dropped
//! silently: whatever the master does not perform is answered.
//!
//! * A task the master will not launch gets a status update (TASK_ERROR, or
//!   TASK_LOST/TASK_DROPPED when the offers were invalid).
//! * Any other operation that carries an id (`Offer.Operation.id`, the framework asked
//!   for feedback) and is refused gets an `UpdateOperationStatusMessage` with
//!   OPERATION_ERROR and the reason. One without an id is logged and counted
//!   (`operations_error`): Mesos offers such a framework no channel to hear about it.
//!   An operation with an id that is applied is then tracked (`operations_feedback`).
//!
//! Mesos: master.cpp `Master::drop(Framework*, const Offer::Operation&, ...)`,
//! `Master::_accept`.

use libprocess::Time;
use mesos_proto::ids::{AgentId, FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, offer, task_status};
use mesos_proto::resources::Resources;
use mesos_proto::resources::conversions::{Conversion, conversions};

use super::operation_validation::{Requester, validate_operation};
use super::{AllocatorCall, MasterCore, MasterError, Outgoing};

impl MasterCore {
    /// RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME or SHRINK_VOLUME in an ACCEPT:
    /// validated, applied to the accepted resources (`available`, allocated to `role`),
    /// to the agent's total (which the agent is sent to checkpoint) and to what the
    /// allocator has the framework hold. Returns what is left of `available`; an
    /// operation that fails changes nothing and is answered (see [`Self::drop_operation`]).
    ///
    /// Mesos: master.cpp `Master::_accept` (the RESERVE ... SHRINK_VOLUME cases) and
    /// `Master::_apply` for agents without resource providers.
    pub(crate) fn apply_offer_operation(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        mut operation: offer::Operation,
        role: &str,
        available: Resources,
    ) -> Resources {
        // Feedback (an id) needs an agent that answers operations reliably
        // (`operations_feedback.rs`); otherwise the master cannot promise a status.
        if operation.id.is_some()
            && let Some(message) = self.feedback_refusal(framework_id, agent_id, &operation)
        {
            self.drop_operation(framework_id, &operation, &message);
            return available;
        }
        inject_allocation_role(&mut operation, role);
        let (Some(framework), Some(agent)) =
            (self.frameworks.get(framework_id), self.agents.get(agent_id))
        else {
            return available;
        };
        let requester = Requester {
            principal: framework.info.principal.as_deref(),
            framework: Some((&framework.info, &framework.roles)),
        };
        let principal = super::authorization::framework_principal(&framework.info);
        let checked = validate_operation(&operation, &requester, agent)
            .and_then(|()| self.authorize_operation(principal.as_ref(), &operation))
            .and_then(|()| conversions(&operation))
            .and_then(|steps| available.apply(&steps).map(|rest| (steps, rest)));
        let (steps, remaining) = match checked {
            Ok(checked) => checked,
            Err(message) => {
                self.drop_operation(framework_id, &operation, &message);
                return available;
            }
        };
        if operation.r#type() == offer::operation::Type::Destroy {
            self.rescind_offers_holding(agent_id, &steps);
        }
        let (consumed, converted) = unallocated_sums(&steps);
        if operation.id.is_some() {
            // The agent applies this one itself and answers (Mesos `_apply` with
            // RESOURCE_PROVIDER); the master's books change speculatively all the same.
            if self.update_agent_total(agent_id, &consumed, &converted) {
                self.send_apply_operation(framework_id, agent_id, operation.clone());
            }
        } else {
            self.convert_agent_total(agent_id, &consumed, &converted);
        }
        self.allocator(AllocatorCall::UpdateAllocation {
            framework_id: framework_id.clone(),
            agent_id: agent_id.clone(),
            role: role.to_string(),
            consumed,
            converted,
        });
        self.stats.operations_finished += 1;
        tracing::info!(%framework_id, %agent_id, operation = ?operation.r#type(), "applied offer operation");
        remaining
    }

    /// An operator's RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES,
    /// DESTROY_VOLUMES, GROW_VOLUME or SHRINK_VOLUME (v1 operator API, or the v0
    /// `/reserve`, `/unreserve`, `/create-volumes`, `/destroy-volumes`): validated
    /// (no allocation; the principal, if any, must sign reservations and volumes),
    /// authorized, and applied to the agent's free resources, withdrawing offers of
    /// the agent until they suffice. `Conflict` if they never do (in use by tasks).
    ///
    /// Mesos: master/http.cpp `Master::Http::_reserve` ... and master.cpp
    /// `Master::_operation` (rescind offers, then `allocator->updateAvailable`).
    pub fn on_operator_operation(
        &mut self,
        principal: Option<&mesos_security::Principal>,
        agent_id: &AgentId,
        operation: offer::Operation,
    ) -> Result<(), MasterError> {
        let invalid = |reason: String| MasterError::InvalidCall { reason };
        let agent = self
            .agents
            .get(agent_id)
            .ok_or_else(|| invalid(format!("No agent found with specified ID {agent_id}")))?;
        let requester = Requester { principal: principal.map(|p| p.as_str()), framework: None };
        validate_operation(&operation, &requester, agent).map_err(invalid)?;
        self.authorize_operation(principal, &operation)
            .map_err(|message| MasterError::Unauthorized { message })?;
        let steps = conversions(&operation).map_err(invalid)?;
        let (consumed, converted) = unallocated_sums(&steps);
        self.free_for_operator(agent_id, &consumed)?;
        self.convert_agent_total(agent_id, &consumed, &converted);
        self.allocator(AllocatorCall::UpdateAvailable {
            agent_id: agent_id.clone(),
            consumed,
            converted,
        });
        self.stats.operations_finished += 1;
        tracing::info!(%agent_id, operation = ?operation.r#type(), "applied operator operation");
        Ok(())
    }

    /// Makes `needed` free on the agent (not offered, not used), rescinding the
    /// agent's offers one by one as Mesos does; `Conflict` if that is not enough.
    fn free_for_operator(
        &mut self,
        agent_id: &AgentId,
        needed: &Resources,
    ) -> Result<(), MasterError> {
        let free = |core: &MasterCore| -> Resources {
            let Some(agent) = core.agents.get(agent_id) else { return Resources::new() };
            let mut taken: Resources = agent.used_total();
            for offer_id in &agent.offers {
                if let Some(entry) = core.offers.get(offer_id) {
                    taken += &entry.resources;
                }
            }
            taken.unallocate();
            &agent.total - &taken
        };
        let offers: Vec<_> = self
            .agents
            .get(agent_id)
            .map(|a| a.offers.iter().cloned().collect())
            .unwrap_or_default();
        for offer_id in offers {
            if free(self).contains(needed) {
                return Ok(());
            }
            self.rescind_offer(&offer_id, None);
        }
        if free(self).contains(needed) {
            return Ok(());
        }
        Err(MasterError::Conflict {
            reason: format!("Insufficient resources on agent {agent_id}: {needed} are not free"),
        })
    }

    /// DESTROY: other offers that hold the volumes (shared volumes) are withdrawn.
    /// Mesos: master.cpp `_accept`, DESTROY.
    fn rescind_offers_holding(&mut self, agent_id: &AgentId, steps: &[Conversion]) {
        let Some(agent) = self.agents.get(agent_id) else { return };
        let holding: Vec<_> = agent
            .offers
            .iter()
            .filter(|offer_id| {
                self.offers.get(*offer_id).is_some_and(|entry| {
                    let mut offered = entry.resources.clone();
                    offered.unallocate();
                    steps.iter().any(|step| {
                        let mut volume = step.consumed.clone();
                        volume.unallocate();
                        volume.iter().any(|v| offered.contains_resource(v))
                    })
                })
            })
            .cloned()
            .collect();
        for offer_id in holding {
            self.rescind_offer(&offer_id, None);
        }
    }

    /// Applies a conversion to the agent's total and sends the agent its new
    /// checkpointed resources. `consumed` is part of the total: it was offered, or
    /// free for an operator's call.
    ///
    /// Mesos: master.cpp `Slave::apply` and the `CheckpointResourcesMessage` of
    /// `Master::_apply`.
    pub(crate) fn convert_agent_total(
        &mut self,
        agent_id: &AgentId,
        consumed: &Resources,
        converted: &Resources,
    ) {
        if !self.update_agent_total(agent_id, consumed, converted) {
            return;
        }
        let Some(agent) = self.agents.get(agent_id) else { return };
        let message = internal::CheckpointResourcesMessage {
            resources: agent.total.checkpointed().to_protos(),
        };
        let pid = agent.pid.clone();
        self.send(&pid, Outgoing::CheckpointResources(message));
    }

    /// Applies a conversion to the agent's total only; false if it cannot be applied.
    pub(crate) fn update_agent_total(
        &mut self,
        agent_id: &AgentId,
        consumed: &Resources,
        converted: &Resources,
    ) -> bool {
        let Some(agent) = self.agents.get_mut(agent_id) else { return false };
        if !agent.total.contains(consumed) {
            // Cannot happen: offered or free resources are part of the total.
            tracing::error!(%agent_id, total = %agent.total, %consumed, "conversion of resources the agent does not have");
            return false;
        }
        agent.total = &agent.total - consumed + converted;
        true
    }

    /// An operation the master applied speculatively that the agent reports it did not
    /// apply (OPERATION_FAILED, DROPPED, ERROR): the agent's resources are as before
    /// the operation (its apply is all or nothing), so the master's books follow it.
    /// The converted resources are freed (offers holding them rescinded), the agent's
    /// total takes back the consumed ones, and the allocator converts them back, so the
    /// next offers show what the agent really has. If the converted resources are in
    /// use (a task launched on them in the same ACCEPT, which the agent then fails as
    /// it has no such resources), the books stay as they are and the agent's next
    /// re-registration, which carries its checkpointed resources, corrects them.
    ///
    /// Mesos: a speculative operation on agent default resources cannot fail there
    /// (slave.cpp `Slave::applyOperation` CHECKs it; the agent aborts and re-registers
    /// with its checkpointed resources, which `Master::reregisterSlave` adopts). Ours
    /// can fail (e.g. a volume beyond the agent's disk), so the master undoes it at
    /// once, with the same outcome as Mesos's `Master::updateSlave` adopting the
    /// agent's total and calling the allocator's `updateSlave`.
    pub(crate) fn undo_failed_operation(&mut self, agent_id: &AgentId, info: &offer::Operation) {
        let Ok(steps) = conversions(info) else { return };
        let (consumed, converted) = unallocated_sums(&steps);
        if let Err(error) = self.free_for_operator(agent_id, &converted) {
            tracing::warn!(%agent_id, %error, "cannot undo a failed operation now; the agent's re-registration will");
            return;
        }
        if !self.update_agent_total(agent_id, &converted, &consumed) {
            return;
        }
        tracing::info!(%agent_id, operation = ?info.r#type(), "undid a failed operation");
        self.allocator(AllocatorCall::UpdateAvailable {
            agent_id: agent_id.clone(),
            consumed: converted,
            converted: consumed,
        });
    }

    /// Refuses an operation that is not a launch: logged, counted, and answered with
    /// OPERATION_ERROR if the framework gave it an id.
    ///
    /// Mesos: master.cpp `Master::drop` — despite the name the state is
    /// OPERATION_ERROR, since this happens during validation.
    pub(crate) fn drop_operation(
        &mut self,
        framework_id: &FrameworkId,
        operation: &offer::Operation,
        message: &str,
    ) {
        tracing::warn!(%framework_id, operation = ?operation.r#type(), %message, "dropping offer operation");
        self.stats.operations_error += 1;
        let Some(operation_id) = operation.id.clone() else { return };
        let Some(pid) = self.frameworks.get(framework_id).and_then(|f| f.active_pid()) else {
            return;
        };
        let status = mesos::OperationStatus {
            operation_id: Some(operation_id),
            state: mesos::OperationState::OperationError as i32,
            message: Some(message.to_string()),
            ..Default::default()
        };
        let update = internal::UpdateOperationStatusMessage {
            framework_id: Some(framework_id.into()),
            status,
            ..Default::default()
        };
        self.send(&pid, Outgoing::UpdateOperationStatus(update));
    }

    /// Answers each task the master will not launch with TASK_ERROR and `reason`.
    ///
    /// Mesos: master.cpp `Master::_accept`'s `sendStatusUpdates`.
    pub(crate) fn error_tasks(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        tasks: &[mesos::TaskInfo],
        reason: task_status::Reason,
        message: &str,
        now: Time,
    ) {
        for task in tasks {
            let task_id = TaskId::from(&task.task_id);
            tracing::info!(%framework_id, %task_id, %message, "task refused");
            self.stats.tasks_error += 1;
            let status = self.master_status(
                &task_id,
                mesos::TaskState::TaskError,
                reason,
                message,
                Some(agent_id),
                now,
            );
            self.forward_update(framework_id, agent_id, status, None, now);
        }
    }
}

/// What `steps` consume and produce in all, without allocation (the agent's and the
/// allocator's books are unallocated).
pub(crate) fn unallocated_sums(steps: &[Conversion]) -> (Resources, Resources) {
    let mut consumed: Resources = steps.iter().map(|s| &s.consumed).sum();
    let mut converted: Resources = steps.iter().map(|s| &s.converted).sum();
    consumed.unallocate();
    converted.unallocate();
    (consumed, converted)
}

/// Mesos: `protobuf::injectAllocationInfo`: resources of an operation in an ACCEPT
/// that name no allocation role are taken to be the offers' role's.
fn inject_allocation_role(operation: &mut offer::Operation, role: &str) {
    let inject = |resource: &mut mesos::Resource| {
        if resource.allocation_info.is_none() {
            resource.allocation_info =
                Some(mesos::resource::AllocationInfo { role: Some(role.to_string()) });
        }
    };
    if let Some(reserve) = operation.reserve.as_mut() {
        reserve.resources.iter_mut().chain(reserve.source.iter_mut()).for_each(inject);
    }
    if let Some(unreserve) = operation.unreserve.as_mut() {
        unreserve.resources.iter_mut().for_each(inject);
    }
    if let Some(create) = operation.create.as_mut() {
        create.volumes.iter_mut().for_each(inject);
    }
    if let Some(destroy) = operation.destroy.as_mut() {
        destroy.volumes.iter_mut().for_each(inject);
    }
    if let Some(grow) = operation.grow_volume.as_mut() {
        inject(&mut grow.volume);
        inject(&mut grow.addition);
    }
    if let Some(shrink) = operation.shrink_volume.as_mut() {
        inject(&mut shrink.volume);
    }
}

/// The tasks of a LAUNCH operation.
pub(crate) fn launch_tasks(operation: &offer::Operation) -> Vec<mesos::TaskInfo> {
    operation.launch.as_ref().map(|l| l.task_infos.clone()).unwrap_or_default()
}

/// The tasks of a LAUNCH_GROUP operation.
pub(crate) fn launch_group_tasks(operation: &offer::Operation) -> Vec<mesos::TaskInfo> {
    operation.launch_group.as_ref().map(|g| g.task_group.tasks.clone()).unwrap_or_default()
}
