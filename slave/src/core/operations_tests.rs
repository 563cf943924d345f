//! Transcript tests of operation feedback on the agent: apply, reliable status,
//! acknowledgement, re-registration report, reconciliation, recovery.

use std::time::Duration;

use mesos_proto::mesos::internal::{
    AcknowledgeOperationStatusMessage, ApplyOperationMessage, ReconcileOperationsMessage,
    ResourceVersionUuid, UpdateOperationStatusMessage, reconcile_operations_message,
};
use mesos_proto::mesos::{self, OperationState, Uuid, offer};
use mesos_proto::resources::{Resources, resource};

use super::super::tests::{fw, master, now, running_core};
use super::super::{AgentCore, CheckpointWrite, Outgoing, Output, Timer};

fn core_with_cpus() -> AgentCore {
    let mut core = running_core();
    core.info.resources = Resources::parse("cpus:2;mem:128").unwrap().to_protos();
    core
}

fn reserved(text: &str) -> Vec<mesos::Resource> {
    let reservation = resource::dynamic_reservation("role1", None, None);
    Resources::parse(text).unwrap().push_reservation(&reservation).unwrap().to_protos()
}

fn apply(kind: offer::operation::Type, id: &str, uuid: &[u8]) -> ApplyOperationMessage {
    let mut info = offer::Operation {
        r#type: Some(kind as i32),
        id: Some(mesos::OperationId { value: id.into() }),
        ..Default::default()
    };
    match kind {
        offer::operation::Type::Reserve => {
            info.reserve =
                Some(offer::operation::Reserve { resources: reserved("cpus:1"), source: vec![] })
        }
        _ => info.unreserve = Some(offer::operation::Unreserve { resources: reserved("cpus:1") }),
    }
    ApplyOperationMessage {
        framework_id: Some(fw().into()),
        operation_info: info,
        operation_uuid: Uuid { value: uuid.to_vec() },
        resource_version_uuid: ResourceVersionUuid::default(),
    }
}

/// The status updates sent to the master in `outputs`.
fn updates(outputs: &[Output]) -> Vec<UpdateOperationStatusMessage> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::UpdateOperationStatus(m) } if *to == master() => {
                Some(m.clone())
            }
            _ => None,
        })
        .collect()
}

fn retry_timers(outputs: &[Output]) -> Vec<Duration> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Timer { after, timer: Timer::OperationStatusRetry { .. } } => Some(*after),
            _ => None,
        })
        .collect()
}

/// A RESERVE with feedback: the reservation is checkpointed, then the operation, then
/// OPERATION_FINISHED goes to the master with a status uuid and is resent with backoff
/// until the acknowledgement naming that uuid arrives (a wrong uuid changes nothing).
/// Mesos: OperationReconciliationTest / slave_tests `AgentOperationFeedback`-style flow.
#[test]
fn applied_operation_is_reported_until_acknowledged() {
    let mut core = core_with_cpus();
    core.on_apply_operation(&master(), apply(offer::operation::Type::Reserve, "op1", b"U1"));
    let outputs = core.drain_outputs();
    let resources = outputs
        .iter()
        .position(|o| matches!(o, Output::Checkpoint(CheckpointWrite::Resources(_))))
        .expect("resources checkpointed");
    let operations = outputs
        .iter()
        .position(
            |o| matches!(o, Output::Checkpoint(CheckpointWrite::Operations(ops)) if ops.len() == 1),
        )
        .expect("operation checkpointed");
    assert!(resources < operations, "{outputs:?}");
    let sent = updates(&outputs);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status.state(), OperationState::OperationFinished);
    assert_eq!(sent[0].status.operation_id.as_ref().unwrap().value, "op1");
    assert_eq!(sent[0].operation_uuid.as_ref().unwrap().value, b"U1");
    assert!(!sent[0].status.converted_resources.is_empty());
    let status_uuid = sent[0].status.uuid.clone().expect("sent reliably");
    assert_eq!(retry_timers(&outputs), vec![Duration::from_secs(10)]);
    assert_eq!(core.checkpointed_resources().to_protos(), reserved("cpus:1"));

    let retry = |seq| Timer::OperationStatusRetry { operation_uuid: b"U1".to_vec(), seq };
    core.on_timer(retry(1), now());
    let outputs = core.drain_outputs();
    assert_eq!(updates(&outputs).len(), 1, "resent");
    assert_eq!(retry_timers(&outputs), vec![Duration::from_secs(20)]);
    core.on_timer(retry(1), now());
    assert!(core.drain_outputs().is_empty(), "a stale timer starts no second chain");

    let ack = |uuid: &[u8]| AcknowledgeOperationStatusMessage {
        status_uuid: Uuid { value: uuid.to_vec() },
        operation_uuid: Uuid { value: b"U1".to_vec() },
        resource_provider_id: None,
    };
    core.on_acknowledge_operation_status(&master(), ack(b"not-it"));
    assert!(core.drain_outputs().is_empty());
    assert_eq!(core.operations().count(), 1);
    core.on_acknowledge_operation_status(&master(), ack(&status_uuid.value));
    let outputs = core.drain_outputs();
    assert!(
        matches!(&outputs[..], [Output::Checkpoint(CheckpointWrite::Operations(ops))] if ops.is_empty())
    );
    core.on_timer(retry(2), now());
    assert!(core.drain_outputs().is_empty(), "no resend after the acknowledgement");
}

/// An operation the agent cannot apply (unreserving what is not reserved) changes
/// nothing and is answered OPERATION_FAILED with the reason, reliably too.
#[test]
fn failing_operation_is_reported_failed() {
    let mut core = core_with_cpus();
    core.on_apply_operation(&master(), apply(offer::operation::Type::Unreserve, "op2", b"U2"));
    let outputs = core.drain_outputs();
    assert!(
        !outputs.iter().any(|o| matches!(o, Output::Checkpoint(CheckpointWrite::Resources(_))))
    );
    let sent = updates(&outputs);
    assert_eq!(sent[0].status.state(), OperationState::OperationFailed);
    assert!(sent[0].status.message.is_some());
    assert!(sent[0].status.uuid.is_some());
    assert!(core.checkpointed_resources().is_empty());
}

/// After a re-registration the agent reports its unacknowledged operations in
/// `UpdateSlaveMessage` and resends their statuses; the master's reconciliation of an
/// operation the agent never saw is answered OPERATION_DROPPED (unreliably), a known
/// one is left alone. A restarted agent takes its operations back from the checkpoint.
#[test]
fn reregistration_reports_operations_and_reconciliation_drops_unknown() {
    let mut core = core_with_cpus();
    core.on_apply_operation(&master(), apply(offer::operation::Type::Reserve, "op1", b"U1"));
    core.drain_outputs();
    let reregistered = mesos::internal::SlaveReregisteredMessage {
        slave_id: mesos::SlaveId { value: "S1".into() },
        ..Default::default()
    };
    core.on_ping_timeout(core.registration.epoch(), core.ping_seq, now());
    core.drain_outputs();
    core.on_slave_reregistered(&master(), reregistered, now());
    let outputs = core.drain_outputs();
    let reports: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { message: Outgoing::UpdateSlave(m), .. } => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1, "{outputs:?}");
    assert_eq!(reports[0].operations.as_ref().unwrap().operations.len(), 1);
    assert_eq!(updates(&outputs).len(), 1, "the pending status is resent at once");

    let reconcile = ReconcileOperationsMessage {
        operations: ["U1", "U9"]
            .iter()
            .map(|u| reconcile_operations_message::Operation {
                operation_uuid: Some(Uuid { value: u.as_bytes().to_vec() }),
                operation_id: None,
                resource_provider_id: None,
            })
            .collect(),
        framework_id: None,
    };
    core.on_reconcile_operations(&master(), reconcile);
    let sent = updates(&core.drain_outputs());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status.state(), OperationState::OperationDropped);
    assert_eq!(sent[0].operation_uuid.as_ref().unwrap().value, b"U9");
    assert!(sent[0].status.uuid.is_none());

    let kept: Vec<_> = core.operations().cloned().collect();
    let mut restarted = core_with_cpus();
    restarted.recover_operations(kept);
    assert_eq!(restarted.operations().count(), 1);
}

/// Only our master may make us apply operations.
#[test]
fn apply_from_a_stranger_is_ignored() {
    let mut core = core_with_cpus();
    let stranger: libprocess::Pid = "master@10.9.9.9:5050".parse().unwrap();
    core.on_apply_operation(&stranger, apply(offer::operation::Type::Reserve, "op1", b"U1"));
    assert!(core.drain_outputs().is_empty());
    assert_eq!(core.operations().count(), 0);
}

/// Draining waits for operations (Mesos `Slave::drain` and `updateDrainStatus` check
/// `operations`): an agent with no tasks but an unacknowledged operation stays
/// draining; the acknowledgement ends the drain and removes its checkpoint.
#[test]
fn drain_waits_for_unacknowledged_operations() {
    use mesos_proto::mesos::internal::DrainSlaveMessage;
    let mut core = core_with_cpus();
    core.on_apply_operation(&master(), apply(offer::operation::Type::Reserve, "op1", b"U1"));
    let status_uuid = updates(&core.drain_outputs())[0].status.uuid.clone().expect("reliable");
    let drain = DrainSlaveMessage {
        config: mesos::DrainConfig { max_grace_period: None, mark_gone: Some(false) },
    };
    core.on_drain(&master(), drain, now());
    assert!(core.drain_config().is_some(), "an operation is pending: still draining");
    assert_eq!(core.drain_start_time(), Some(now()), "estimated_drain_start_time");
    core.drain_outputs();
    core.on_acknowledge_operation_status(
        &master(),
        AcknowledgeOperationStatusMessage {
            status_uuid,
            operation_uuid: Uuid { value: b"U1".to_vec() },
            resource_provider_id: None,
        },
    );
    assert!(core.drain_config().is_none(), "drained once the operation is acknowledged");
    assert_eq!(core.drain_start_time(), None);
    let outputs = core.drain_outputs();
    assert!(
        outputs.iter().any(|o| matches!(o, Output::Checkpoint(CheckpointWrite::DrainConfig(None)))),
        "{outputs:?}"
    );
}
