//! Operation feedback: offer operations a framework gave an id (`Offer.Operation.id`)
//! are tracked until the framework has acknowledged how they ended.
//!
//! 1. ACCEPT with RESERVE ... SHRINK_VOLUME carrying an id, to an agent with the
//!    RESOURCE_PROVIDER and AGENT_OPERATION_FEEDBACK capabilities: validated and
//!    applied speculatively as any other (`operations.rs`), then recorded as an
//!    `Operation` (OPERATION_PENDING) with a fresh uuid and sent to the agent in
//!    `ApplyOperationMessage` (instead of the whole `CheckpointResourcesMessage`).
//! 2. The agent applies and checkpoints it and answers `UpdateOperationStatusMessage`
//!    (OPERATION_FINISHED or FAILED), resending until acknowledged. The master records
//!    the status and forwards it to the framework (UPDATE_OPERATION_STATUS for v1).
//!    A status saying the agent did not apply it (FAILED, DROPPED, ERROR) undoes the
//!    master's speculative application (`operations.rs` `undo_failed_operation`), so
//!    the master's books follow the agent's.
//! 3. ACKNOWLEDGE_OPERATION_STATUS goes to the agent as
//!    `AcknowledgeOperationStatusMessage`; a terminal status acknowledged ends the
//!    operation here too. A framework that was removed never acknowledges: the master
//!    acknowledges for it.
//! 4. RECONCILE_OPERATIONS answers each operation from what the master knows: its
//!    latest status, or RECOVERING / UNKNOWN / UNREACHABLE / GONE_BY_OPERATOR by the
//!    state of its agent. No operation listed: every operation of the framework.
//! 5. An agent removed (unreachable, gone, unregistered) takes its operations with it;
//!    frameworks hear OPERATION_UNREACHABLE or OPERATION_GONE_BY_OPERATOR once.
//! 6. After a failover the new leader learns the unacknowledged operations from each
//!    agent's `UpdateSlaveMessage`, sent after every (re-)registration; operations the
//!    master knows but the agent does not report are asked about with
//!    `ReconcileOperationsMessage` (the agent answers OPERATION_DROPPED).
//! 7. A draining agent is DRAINED only once none of its operations is tracked any
//!    more (`draining.rs` `check_drained`, called again as operations end).
//!
//! Deviation: Mesos gives feedback only to HTTP (v1) frameworks; the SDK's schedulers
//! speak the v0 wire protocol, so libprocess frameworks get it too.
//!
//! Mesos: master.cpp `Master::_accept` (the `id` checks), `_apply`, `addOperation`,
//! `updateOperationStatus`, `updateOperation`, `acknowledgeOperationStatus`,
//! `reconcileOperations`, `sendBulkOperationFeedback`, `__removeSlave`, `updateSlave`.

use std::collections::HashMap;

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, FrameworkId};
use mesos_proto::mesos::internal::{
    self, AcknowledgeOperationStatusMessage, ApplyOperationMessage, ReconcileOperationsMessage,
    UpdateOperationStatusMessage, UpdateSlaveMessage, reconcile_operations_message,
};
use mesos_proto::mesos::scheduler::call;
use mesos_proto::mesos::{self, Operation, OperationState, OperationStatus, Uuid, offer};

use super::{MasterCore, MasterError, Outgoing};

/// Most operations the master tracks at once. At the bound a new operation with an id
/// is answered OPERATION_ERROR (it is not applied); operations leave when their
/// terminal status is acknowledged or their agent is removed.
pub const MAX_OPERATIONS: usize = 100_000;

/// The operations being tracked, by uuid, with each framework's ids.
#[derive(Debug, Default, Clone)]
pub struct OperationBook {
    by_uuid: HashMap<Vec<u8>, Operation>,
    by_framework: HashMap<(FrameworkId, String), Vec<u8>>,
    next: u64,
}

impl OperationBook {
    /// Every tracked operation.
    pub fn iter(&self) -> impl Iterator<Item = &Operation> {
        self.by_uuid.values()
    }

    fn insert(&mut self, operation: Operation) {
        if let (Some(framework_id), Some(id)) = (&operation.framework_id, &operation.info.id) {
            let key = (FrameworkId::from(framework_id), id.value.clone());
            self.by_framework.insert(key, operation.uuid.value.clone());
        }
        self.by_uuid.insert(operation.uuid.value.clone(), operation);
    }

    fn remove(&mut self, uuid: &[u8]) -> Option<Operation> {
        let operation = self.by_uuid.remove(uuid)?;
        if let (Some(framework_id), Some(id)) = (&operation.framework_id, &operation.info.id) {
            self.by_framework.remove(&(FrameworkId::from(framework_id), id.value.clone()));
        }
        Some(operation)
    }

    fn of_framework(&self, framework_id: &FrameworkId, id: &str) -> Option<&Operation> {
        let uuid = self.by_framework.get(&(framework_id.clone(), id.to_string()))?;
        self.by_uuid.get(uuid)
    }

    /// Whether any operation on the agent is tracked (a draining agent waits for none).
    pub(crate) fn any_of_agent(&self, agent_id: &AgentId) -> bool {
        let slave_id: mesos::SlaveId = agent_id.into();
        self.by_uuid.values().any(|o| o.slave_id.as_ref() == Some(&slave_id))
    }

    fn of_agent(&self, agent_id: &AgentId) -> Vec<Vec<u8>> {
        let slave_id: mesos::SlaveId = agent_id.into();
        self.by_uuid
            .values()
            .filter(|o| o.slave_id.as_ref() == Some(&slave_id))
            .map(|o| o.uuid.value.clone())
            .collect()
    }

    /// A fresh operation uuid: 16 bytes, the master's id hashed and a counter, so no
    /// two masters' uuids collide and runs replay (no randomness needed).
    fn next_uuid(&mut self, master_id: &str) -> Vec<u8> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        master_id.hash(&mut hasher);
        self.next += 1;
        let mut bytes = hasher.finish().to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.next.to_be_bytes());
        bytes
    }
}

fn is_terminal(state: OperationState) -> bool {
    use OperationState::*;
    matches!(
        state,
        OperationFinished
            | OperationFailed
            | OperationError
            | OperationDropped
            | OperationGoneByOperator
    )
}

/// The status to show for an operation: the latest one received, or the pending one.
fn latest(operation: &Operation) -> OperationStatus {
    let mut status =
        operation.statuses.last().cloned().unwrap_or_else(|| operation.latest_status.clone());
    // Mesos: such an answer is not sent reliably, so it carries no uuid.
    status.uuid = None;
    status
}

impl MasterCore {
    /// The tracked operations (GET_OPERATIONS).
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.iter()
    }

    /// Why an operation with an id cannot get feedback, if it cannot.
    /// Mesos: master.cpp `_accept`, the checks of operations with an `id`.
    pub(crate) fn feedback_refusal(
        &self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        operation: &offer::Operation,
    ) -> Option<String> {
        use mesos::slave_info::capability::Type;
        let has = |kind: Type| {
            self.agents
                .get(agent_id)
                .is_some_and(|a| a.capabilities.iter().any(|c| c.r#type() == kind))
        };
        if !has(Type::ResourceProvider) || !has(Type::AgentOperationFeedback) {
            return Some(format!(
                "Operation on agent default resources requested feedback, but agent {agent_id} does not have the required AGENT_OPERATION_FEEDBACK and RESOURCE_PROVIDER capabilities"
            ));
        }
        let id = operation.id.as_ref().map(|i| i.value.as_str()).unwrap_or_default();
        if self.operations.of_framework(framework_id, id).is_some() {
            return Some(format!("Operation ID '{id}' is already in use"));
        }
        if self.operations.by_uuid.len() >= MAX_OPERATIONS {
            return Some("Too many operations pending at the master".into());
        }
        None
    }

    /// Records an applied operation as OPERATION_PENDING and sends it to the agent.
    /// Mesos: master.cpp `Master::_apply` (agents with RESOURCE_PROVIDER).
    pub(crate) fn send_apply_operation(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        info: offer::Operation,
    ) {
        let Some(pid) = self.agents.get(agent_id).map(|a| a.pid.clone()) else { return };
        let uuid = Uuid { value: self.operations.next_uuid(&self.config.id) };
        let operation = Operation {
            framework_id: Some(framework_id.into()),
            slave_id: Some(agent_id.into()),
            info: info.clone(),
            latest_status: OperationStatus {
                operation_id: info.id.clone(),
                state: OperationState::OperationPending as i32,
                slave_id: Some(agent_id.into()),
                ..Default::default()
            },
            statuses: Vec::new(),
            uuid: uuid.clone(),
        };
        self.operations.insert(operation);
        let message = ApplyOperationMessage {
            framework_id: Some(framework_id.into()),
            operation_info: info,
            operation_uuid: uuid,
            resource_version_uuid: internal::ResourceVersionUuid::default(),
        };
        self.send(&pid, Outgoing::ApplyOperation(message));
    }

    /// `UpdateOperationStatusMessage` from an agent.
    /// Mesos: master.cpp `Master::updateOperationStatus`.
    pub fn on_update_operation_status(
        &mut self,
        from: &Pid,
        mut update: UpdateOperationStatusMessage,
        now: Time,
    ) -> Result<(), MasterError> {
        let agent_id = update.slave_id.as_ref().map(AgentId::from).ok_or_else(|| {
            MasterError::InvalidCall { reason: "operation status without an agent id".into() }
        })?;
        self.check_agent_owner(&agent_id, from)?;
        let Some(uuid) = update.operation_uuid.as_ref().map(|u| u.value.clone()) else {
            // An answer to a reconciliation the master forwarded: pass it on.
            self.send_to_framework(update);
            return Ok(());
        };
        let Some(operation) = self.operations.by_uuid.get_mut(&uuid) else {
            // Already over here (a resend racing an acknowledgement, or removed).
            tracing::info!(%agent_id, "status of an unknown operation");
            if update.framework_id.is_some() && update.status.uuid.is_none() {
                self.send_to_framework(update);
            }
            return Ok(());
        };
        update.framework_id = operation.framework_id.clone();
        update.status.operation_id = operation.info.id.clone();
        let status = update.latest_status.clone().unwrap_or_else(|| update.status.clone());
        // Failed just now: the master's speculative application is undone below.
        let undo = (!is_terminal(operation.latest_status.state())
            && is_terminal(status.state())
            && status.state() != OperationState::OperationFinished)
            .then(|| operation.info.clone());
        if !is_terminal(operation.latest_status.state()) {
            operation.latest_status = status.clone();
        }
        if operation.statuses.last() != Some(&update.status) {
            operation.statuses.push(update.status.clone());
        }
        let reliable = update.status.uuid.clone();
        let terminal = is_terminal(update.status.state());
        let operation_uuid = operation.uuid.clone();
        tracing::info!(%agent_id, state = ?update.status.state(), "operation status update");
        if let Some(info) = undo {
            self.undo_failed_operation(&agent_id, &info);
        }
        let framework_id = update.framework_id.as_ref().map(FrameworkId::from);
        let completed = framework_id.as_ref().is_none_or(|id| {
            self.completed_framework_ids.contains(id) && !self.frameworks.contains_key(id)
        });
        if !completed {
            self.send_to_framework(update);
            if terminal && reliable.is_none() {
                self.operations.remove(&uuid);
            }
        } else if let Some(status_uuid) = reliable {
            // Nobody will acknowledge: the master does, so the agent stops resending.
            if terminal {
                self.operations.remove(&uuid);
            }
            let ack = AcknowledgeOperationStatusMessage {
                status_uuid,
                operation_uuid,
                resource_provider_id: None,
            };
            self.send(from, Outgoing::AcknowledgeOperationStatus(ack));
        } else if terminal {
            self.operations.remove(&uuid);
        }
        // A draining agent may have been waiting for this operation.
        self.check_drained(&agent_id, now);
        Ok(())
    }

    fn send_to_framework(&mut self, update: UpdateOperationStatusMessage) {
        let pid = update
            .framework_id
            .as_ref()
            .and_then(|id| self.frameworks.get(&FrameworkId::from(id)))
            .and_then(|f| f.active_pid());
        match pid {
            Some(pid) => self.send(&pid, Outgoing::UpdateOperationStatus(update)),
            None => tracing::info!("operation status for a disconnected or unknown framework"),
        }
    }

    /// ACKNOWLEDGE_OPERATION_STATUS. Mesos: master.cpp `acknowledgeOperationStatus`.
    pub(crate) fn on_acknowledge_operation_status(
        &mut self,
        framework_id: &FrameworkId,
        ack: call::AcknowledgeOperationStatus,
        now: Time,
    ) -> Result<(), MasterError> {
        let invalid = |reason: &str| MasterError::InvalidCall { reason: reason.into() };
        let agent_id = ack.slave_id.as_ref().map(AgentId::from).ok_or_else(|| {
            invalid("Expecting 'acknowledge_operation_status.slave_id' to be present")
        })?;
        if ack.uuid.len() != 16 {
            return Err(invalid("'acknowledge_operation_status.uuid' is not a valid UUID"));
        }
        let Some(pid) = self
            .agents
            .get(&agent_id)
            .filter(|a| a.state == super::AgentState::Active)
            .map(|a| a.pid.clone())
        else {
            tracing::warn!(%framework_id, %agent_id, "operation acknowledgement for an agent that is not connected");
            return Ok(());
        };
        let id = &ack.operation_id.value;
        let Some(operation) = self.operations.of_framework(framework_id, id) else {
            tracing::warn!(%framework_id, operation_id = %id, "acknowledgement of an unknown operation");
            return Ok(());
        };
        let status_uuid = Uuid { value: ack.uuid.clone() };
        let Some(status) =
            operation.statuses.iter().find(|s| s.uuid.as_ref() == Some(&status_uuid))
        else {
            tracing::warn!(%framework_id, operation_id = %id, "acknowledgement of an unknown operation status");
            return Ok(());
        };
        let operation_uuid = operation.uuid.clone();
        if is_terminal(status.state()) {
            self.operations.remove(&operation_uuid.value);
        }
        let message = AcknowledgeOperationStatusMessage {
            status_uuid,
            operation_uuid,
            resource_provider_id: ack.resource_provider_id,
        };
        self.send(&pid, Outgoing::AcknowledgeOperationStatus(message));
        // Mesos: `acknowledgeOperationStatus` ends in `checkAndTransitionDrainingAgent`.
        self.check_drained(&agent_id, now);
        Ok(())
    }

    /// RECONCILE_OPERATIONS. Mesos: master.cpp `reconcileOperations` (its cases 1-7;
    /// case 3's forwarding concerns resource providers, which our agents do not run).
    pub(crate) fn on_reconcile_operations(
        &mut self,
        framework_id: &FrameworkId,
        reconcile: call::ReconcileOperations,
    ) -> Result<(), MasterError> {
        let Some(pid) = self.frameworks.get(framework_id).and_then(|f| f.active_pid()) else {
            return Ok(());
        };
        let mut answers: Vec<OperationStatus> = Vec::new();
        if reconcile.operations.is_empty() {
            let slave_framework: mesos::FrameworkId = framework_id.into();
            answers.extend(
                self.operations
                    .iter()
                    .filter(|o| o.framework_id.as_ref() == Some(&slave_framework))
                    .map(latest),
            );
        }
        for asked in reconcile.operations {
            answers.push(self.reconcile_one(framework_id, asked));
        }
        for status in answers {
            let update = UpdateOperationStatusMessage {
                framework_id: Some(framework_id.into()),
                slave_id: status.slave_id.clone(),
                status,
                latest_status: None,
                operation_uuid: None,
            };
            self.send(&pid, Outgoing::UpdateOperationStatus(update));
        }
        Ok(())
    }

    fn reconcile_one(
        &self,
        framework_id: &FrameworkId,
        asked: call::reconcile_operations::Operation,
    ) -> OperationStatus {
        if let Some(operation) =
            self.operations.of_framework(framework_id, &asked.operation_id.value)
        {
            return latest(operation);
        }
        let agent_id = asked.slave_id.as_ref().map(AgentId::from);
        let (state, message) = match &agent_id {
            Some(id) if self.recovered_agents.contains_key(id) => (
                OperationState::OperationRecovering,
                "Reconciliation: Agent is recovered but has not re-registered",
            ),
            Some(id) if self.agents.contains_key(id) => {
                (OperationState::OperationUnknown, "Reconciliation: Operation is unknown")
            }
            Some(id) if self.unreachable.contains_key(id) => {
                (OperationState::OperationUnreachable, "Reconciliation: Agent is unreachable")
            }
            Some(id) if self.gone.contains_key(id) => (
                OperationState::OperationGoneByOperator,
                "Reconciliation: Agent marked gone by operator",
            ),
            Some(_) => (
                OperationState::OperationUnknown,
                "Reconciliation: Both operation and agent are unknown",
            ),
            None => (
                OperationState::OperationUnknown,
                "Reconciliation: Operation is unknown and no 'agent_id' was provided",
            ),
        };
        OperationStatus {
            operation_id: Some(asked.operation_id),
            state: state as i32,
            message: Some(message.into()),
            slave_id: asked.slave_id,
            resource_provider_id: asked.resource_provider_id,
            ..Default::default()
        }
    }

    /// An agent is being removed: its operations end, and their frameworks hear it
    /// once (not reliably; reconciliation tells them again).
    /// Mesos: master.cpp `sendBulkOperationFeedback` and `__removeSlave`.
    pub(crate) fn remove_agent_operations(&mut self, agent_id: &AgentId, unreachable: bool) {
        let (state, message) = if unreachable {
            (OperationState::OperationUnreachable, "Agent was marked unreachable")
        } else {
            (OperationState::OperationGoneByOperator, "Agent has been marked gone")
        };
        for uuid in self.operations.of_agent(agent_id) {
            let Some(operation) = self.operations.remove(&uuid) else { continue };
            if operation.info.id.is_none() {
                continue;
            }
            let status = OperationStatus {
                operation_id: operation.info.id.clone(),
                state: state as i32,
                message: Some(message.into()),
                slave_id: Some(agent_id.into()),
                ..Default::default()
            };
            let update = UpdateOperationStatusMessage {
                framework_id: operation.framework_id.clone(),
                slave_id: Some(agent_id.into()),
                status,
                latest_status: None,
                operation_uuid: None,
            };
            self.send_to_framework(update);
        }
    }

    /// `UpdateSlaveMessage`: the operations the agent holds (after every
    /// (re-)registration). Unknown ones are learned (a new leader after a failover);
    /// known ones the agent does not report are asked about.
    /// Mesos: master.cpp `Master::updateSlave`, the agent-default-resources part.
    pub fn on_update_slave(
        &mut self,
        from: &Pid,
        message: UpdateSlaveMessage,
        now: Time,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&message.slave_id);
        self.check_agent_owner(&agent_id, from)?;
        let Some(reported) = message.operations else {
            // Mesos: `updateSlave` checks a draining agent even when nothing changed.
            self.check_drained(&agent_id, now);
            return Ok(());
        };
        let mut seen = std::collections::HashSet::new();
        for mut operation in reported.operations {
            seen.insert(operation.uuid.value.clone());
            operation.slave_id = Some((&agent_id).into());
            let room = self.operations.by_uuid.len() < MAX_OPERATIONS;
            match self.operations.by_uuid.get_mut(&operation.uuid.value) {
                Some(known) => {
                    if !is_terminal(known.latest_status.state()) {
                        known.latest_status = operation.latest_status.clone();
                    }
                    for status in operation.statuses {
                        if !known.statuses.contains(&status) {
                            known.statuses.push(status);
                        }
                    }
                }
                None if room => {
                    tracing::info!(%agent_id, "learned an operation from the agent");
                    self.operations.insert(operation);
                }
                None => {
                    tracing::warn!(%agent_id, "too many operations; not tracking one the agent reported")
                }
            }
        }
        let missing: Vec<reconcile_operations_message::Operation> = self
            .operations
            .of_agent(&agent_id)
            .into_iter()
            .filter(|uuid| !seen.contains(uuid))
            .filter_map(|uuid| self.operations.by_uuid.get(&uuid))
            .map(|o| reconcile_operations_message::Operation {
                operation_uuid: Some(o.uuid.clone()),
                operation_id: o.info.id.clone(),
                resource_provider_id: None,
            })
            .collect();
        if !missing.is_empty() {
            let reconcile = ReconcileOperationsMessage { operations: missing, framework_id: None };
            self.send(from, Outgoing::ReconcileOperations(reconcile));
        }
        self.check_drained(&agent_id, now);
        Ok(())
    }
}
