//! Operation feedback: offer operations the master sends with `ApplyOperationMessage`
//! (a framework gave them an id and wants to hear how they end), applied to the
//! checkpointed resources and answered reliably.
//!
//! 1. `ApplyOperationMessage` from our master: the operation's conversions are applied
//!    to the checkpointed resources (volume folders made or removed, the new set
//!    checkpointed, as for `CheckpointResourcesMessage`). The outcome is one terminal
//!    status, OPERATION_FINISHED (with the converted resources) or OPERATION_FAILED
//!    (with the reason), carrying a fresh status uuid.
//! 2. The operation, with that status, is checkpointed (`meta/resources/operations.info`)
//!    and sent to the master in `UpdateOperationStatusMessage`. It is resent after
//!    10 s, 20 s, ... up to 10 min while unacknowledged (and at once after every
//!    (re-)registration), like task status updates.
//! 3. `AcknowledgeOperationStatusMessage` (the framework's ack, forwarded by the
//!    master) naming that status uuid ends the retries: the operation is forgotten and
//!    the checkpoint rewritten.
//! 4. After every (re-)registration the agent reports the operations it still holds in
//!    `UpdateSlaveMessage.operations`, so a new leading master learns them (and can
//!    route their acknowledgements); the master answers operations it knows but we do
//!    not with `ReconcileOperationsMessage`, which we answer with OPERATION_DROPPED (the
//!    `ApplyOperationMessage` never arrived).
//!
//! Operations without an id stay on the master's speculative path
//! (`CheckpointResourcesMessage`, see `resources.rs`).
//!
//! Mesos: slave.cpp `Slave::applyOperation`, `updateOperation`, `checkpointResourceState`,
//! `operationStatusAcknowledgement`, `reconcileOperations`, the
//! `operationStatusUpdateManager` (status_update_manager_process.hpp).

use std::time::Duration;

use libprocess::Pid;
use mesos_proto::mesos::internal::{
    AcknowledgeOperationStatusMessage, ApplyOperationMessage, ReconcileOperationsMessage,
    UpdateOperationStatusMessage, UpdateSlaveMessage, update_slave_message,
};
use mesos_proto::mesos::{Operation, OperationState, OperationStatus, Uuid, offer};
use mesos_proto::resources::Resources;
use mesos_proto::resources::conversions::conversions;

use super::{AgentCore, CheckpointWrite, Outgoing, Output, Timer};
use crate::status_update::{RETRY_INTERVAL_MAX, RETRY_INTERVAL_MIN};
use crate::updates::random_uuid;

/// Most operations the agent holds awaiting an acknowledgement. At the bound a new
/// operation is answered OPERATION_DROPPED without being applied (the master then
/// forgets it; the framework reconciles). Only a framework that never acknowledges
/// gets here.
pub const MAX_PENDING_OPERATIONS: usize = 10_000;

/// An applied operation whose terminal status the master has not acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOperation {
    /// The operation, its `latest_status` the status being delivered.
    pub operation: Operation,
    /// The next resend interval.
    pub retry: Duration,
    /// The latest arming of its resend timer (older ones are ignored, so a resend at
    /// re-registration does not start a second chain of resends).
    pub timer_seq: u64,
}

impl AgentCore {
    /// `ApplyOperationMessage`: apply, checkpoint, answer reliably.
    pub fn on_apply_operation(&mut self, from: &Pid, message: ApplyOperationMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring ApplyOperationMessage from a process that is not our master");
            return;
        }
        let uuid = message.operation_uuid.value.clone();
        if self.operations.contains_key(&uuid) {
            // A duplicate (the master never resends, but a reconnect could replay).
            tracing::info!("ignoring an operation that was already applied");
            return;
        }
        let info = message.operation_info;
        let (state, text, converted) = if self.operations.len() >= MAX_PENDING_OPERATIONS {
            (OperationState::OperationDropped, "Too many unacknowledged operations".into(), vec![])
        } else {
            match self.apply_conversions(&info) {
                Ok(converted) => (OperationState::OperationFinished, String::new(), converted),
                Err(reason) => (OperationState::OperationFailed, reason, vec![]),
            }
        };
        tracing::info!(operation_id = ?info.id.as_ref().map(|i| &i.value), ?state, "applied operation");
        let status = OperationStatus {
            operation_id: info.id.clone(),
            state: state as i32,
            message: (!text.is_empty()).then_some(text),
            converted_resources: converted,
            uuid: Some(Uuid { value: random_uuid(&mut self.rng) }),
            slave_id: self.info.id.clone(),
            resource_provider_id: None,
        };
        let operation = Operation {
            framework_id: message.framework_id,
            slave_id: self.info.id.clone(),
            info,
            latest_status: status.clone(),
            statuses: vec![status],
            uuid: Uuid { value: uuid.clone() },
        };
        if state == OperationState::OperationDropped {
            // Not kept: the update goes once, unreliably (no uuid to acknowledge).
            let mut update = self.operation_update(&operation);
            update.status.uuid = None;
            update.latest_status = None;
            self.send_to_master(Outgoing::UpdateOperationStatus(update));
            return;
        }
        self.operations.insert(
            uuid.clone(),
            PendingOperation { operation, retry: RETRY_INTERVAL_MIN, timer_seq: 0 },
        );
        self.checkpoint_operations();
        self.send_operation_update(&uuid);
    }

    /// Applies `info`'s conversions to the checkpointed resources; the converted
    /// resources, or why not.
    fn apply_conversions(
        &mut self,
        info: &offer::Operation,
    ) -> Result<Vec<mesos_proto::mesos::Resource>, String> {
        let steps = conversions(info)?;
        let mut steps = steps;
        for step in &mut steps {
            step.consumed.unallocate();
            step.converted.unallocate();
        }
        // The master applies operations to the agent's whole total; ours keeps only
        // the checkpointed part, so apply to the total and keep what is checkpointed.
        let total = Resources::from_protos(self.info.resources.clone())
            .map_err(|e| e.to_string())?
            .with_checkpointed(&self.checkpointed)?;
        let new_total = total.apply(&steps)?;
        let new = new_total.checkpointed();
        self.fits_static_resources(&new)?;
        self.replace_checkpointed(new);
        let converted: Resources = steps.iter().map(|s| &s.converted).sum();
        Ok(converted.to_protos())
    }

    /// `AcknowledgeOperationStatusMessage`: the framework has the status; forget the
    /// operation if it is the status we are delivering.
    pub fn on_acknowledge_operation_status(
        &mut self,
        from: &Pid,
        message: AcknowledgeOperationStatusMessage,
    ) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring an operation acknowledgement from a process that is not our master");
            return;
        }
        let uuid = &message.operation_uuid.value;
        let Some(pending) = self.operations.get(uuid) else {
            tracing::warn!("ignoring an acknowledgement of an unknown operation");
            return;
        };
        if pending.operation.latest_status.uuid.as_ref() != Some(&message.status_uuid) {
            tracing::warn!("ignoring an acknowledgement of an operation status we did not send");
            return;
        }
        tracing::info!("operation status acknowledged");
        self.operations.remove(uuid);
        self.checkpoint_operations();
        // Mesos: `Slave::removeOperation` ends in `updateDrainStatus`.
        self.update_drain_status();
    }

    /// `ReconcileOperationsMessage`: the master knows operations we did not report;
    /// those we do not know never arrived: OPERATION_DROPPED (sent once).
    pub fn on_reconcile_operations(&mut self, from: &Pid, message: ReconcileOperationsMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring ReconcileOperationsMessage from a process that is not our master");
            return;
        }
        for operation in message.operations {
            let Some(uuid) = operation.operation_uuid else { continue };
            if self.operations.contains_key(&uuid.value) {
                continue;
            }
            let update = UpdateOperationStatusMessage {
                framework_id: message.framework_id.clone(),
                slave_id: self.info.id.clone(),
                status: OperationStatus {
                    operation_id: operation.operation_id,
                    state: OperationState::OperationDropped as i32,
                    message: Some("Reconciliation: operation unknown to the agent".into()),
                    slave_id: self.info.id.clone(),
                    ..Default::default()
                },
                latest_status: None,
                operation_uuid: Some(uuid),
            };
            self.send_to_master(Outgoing::UpdateOperationStatus(update));
        }
    }

    /// A resend timer: resend if still unacknowledged, and back off.
    pub(super) fn on_operation_status_retry(&mut self, uuid: &[u8], seq: u64) {
        let Some(pending) = self.operations.get_mut(uuid) else { return };
        if pending.timer_seq != seq {
            return;
        }
        pending.retry = (pending.retry * 2).min(RETRY_INTERVAL_MAX);
        self.send_operation_update(uuid);
    }

    /// After a (re-)registration: report our operations, then resend their statuses.
    // Mesos: slave.cpp `Slave::reregistered` sends `UpdateSlaveMessage` and resumes
    // the operation status update manager.
    pub(super) fn report_operations(&mut self) {
        let Some(slave_id) = self.info.id.clone() else { return };
        let operations = self.operations.values().map(|p| p.operation.clone()).collect();
        let update = UpdateSlaveMessage {
            slave_id,
            update_oversubscribed_resources: Some(false),
            operations: Some(update_slave_message::Operations { operations }),
            ..Default::default()
        };
        self.send_to_master(Outgoing::UpdateSlave(update));
        let uuids: Vec<Vec<u8>> = self.operations.keys().cloned().collect();
        for uuid in uuids {
            if let Some(pending) = self.operations.get_mut(&uuid) {
                pending.retry = RETRY_INTERVAL_MIN;
            }
            self.send_operation_update(&uuid);
        }
    }

    /// Takes back the checkpointed operations after a restart.
    pub(crate) fn recover_operations(&mut self, operations: Vec<Operation>) {
        for operation in operations.into_iter().take(MAX_PENDING_OPERATIONS) {
            let uuid = operation.uuid.value.clone();
            let pending = PendingOperation { operation, retry: RETRY_INTERVAL_MIN, timer_seq: 0 };
            self.operations.insert(uuid, pending);
        }
    }

    /// The operations awaiting acknowledgement (the agent's GET_OPERATIONS).
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values().map(|p| &p.operation)
    }

    /// Sends an operation's status to the master (if we have one; the next
    /// registration resends it otherwise) and arms its resend timer.
    fn send_operation_update(&mut self, uuid: &[u8]) {
        let Some(pending) = self.operations.get(uuid) else { return };
        let update = self.operation_update(&pending.operation);
        if !self.send_to_master(Outgoing::UpdateOperationStatus(update)) {
            return;
        }
        let Some(pending) = self.operations.get_mut(uuid) else { return };
        pending.timer_seq += 1;
        let (retry, seq) = (pending.retry, pending.timer_seq);
        self.timer(retry, Timer::OperationStatusRetry { operation_uuid: uuid.to_vec(), seq });
    }

    fn operation_update(&self, operation: &Operation) -> UpdateOperationStatusMessage {
        UpdateOperationStatusMessage {
            framework_id: operation.framework_id.clone(),
            slave_id: operation.slave_id.clone(),
            status: operation.latest_status.clone(),
            latest_status: Some(operation.latest_status.clone()),
            operation_uuid: Some(operation.uuid.clone()),
        }
    }

    /// Sends to the master we are registered with; false if there is none now.
    fn send_to_master(&mut self, message: Outgoing) -> bool {
        let master = match self.registration.state() {
            super::AgentState::Running => self.registration.master().cloned(),
            _ => None,
        };
        let Some(master) = master else { return false };
        self.send(&master, message);
        true
    }

    fn checkpoint_operations(&mut self) {
        let operations = self.operations.values().map(|p| p.operation.clone()).collect();
        self.outbox.push(Output::Checkpoint(CheckpointWrite::Operations(operations)));
    }
}

#[cfg(test)]
#[path = "operations_tests.rs"]
mod tests;
