use std::time::Duration;

use libprocess::Time;
use mesos_proto::ids::{FrameworkId, TaskId};
use mesos_proto::mesos::TaskState;
use mesos_proto::mesos::internal::StatusUpdate;

use super::*;
use crate::updates::{UpdateDetails, status_update};

fn t0() -> Time {
    Time::from_epoch(Duration::from_secs(1_000_000))
}

fn update(task: &str, state: TaskState, uuid: u8) -> StatusUpdate {
    status_update(
        &FrameworkId::new("fw").into(),
        None,
        &TaskId::new(task).into(),
        state,
        UpdateDetails::default(),
        vec![uuid; 16],
        t0(),
    )
}

fn ids(task: &str) -> (FrameworkId, TaskId) {
    (FrameworkId::new("fw"), TaskId::new(task))
}

fn running_manager() -> StatusUpdateManager {
    let mut manager = StatusUpdateManager::new();
    assert!(manager.resume(t0()).is_empty());
    manager
}

/// Port of `TaskStatusUpdateManagerTest.RetryStatusUpdate`: an unacknowledged update is
/// resent after 10 s, then 20 s, 40 s, ... capped at 10 min; an acknowledgement stops it.
#[test]
fn retry_status_update() {
    let mut manager = running_manager();
    let outcome = manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    let first = outcome.forward.expect("first update is forwarded at once");
    assert_eq!(first.retry_after, RETRY_INTERVAL_MIN);
    assert!(outcome.checkpoint.is_some(), "checkpointing framework: the update is checkpointed");

    // Nothing is resent before the deadline.
    assert!(manager.on_timeout(t0() + Duration::from_secs(9)).is_empty());
    let mut now = t0() + Duration::from_secs(10);
    let mut expected = Duration::from_secs(20);
    for _ in 0..8 {
        let resent = manager.on_timeout(now);
        assert_eq!(resent.len(), 1, "resent at {now:?}");
        assert_eq!(resent[0].update.uuid, first.update.uuid);
        assert_eq!(resent[0].retry_after, expected);
        now = now + resent[0].retry_after;
        expected = (expected * 2).min(RETRY_INTERVAL_MAX);
    }
    assert_eq!(expected, RETRY_INTERVAL_MAX, "the interval reached its cap");

    let (fw, task) = ids("t");
    let ack = manager.acknowledgement(&fw, &task, &[1; 16], now).unwrap();
    assert!(!ack.terminated);
    assert!(
        manager.on_timeout(now + RETRY_INTERVAL_MAX * 2).is_empty(),
        "acknowledged: no more resends"
    );
}

/// Port of `TaskStatusUpdateManagerTest.DuplicateUpdateBeforeAck`: an update received
/// twice before its acknowledgement is handled once; the duplicate is reported so the
/// executor is acknowledged again, but nothing is forwarded or checkpointed for it.
#[test]
fn duplicate_update_before_ack() {
    let mut manager = running_manager();
    let first = manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    assert!(first.forward.is_some());
    let duplicate = manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    assert_eq!(duplicate, UpdateOutcome { duplicate: true, checkpoint: None, forward: None });
    let (fw, task) = ids("t");
    assert_eq!(manager.pending(&fw, &task).len(), 1);

    // The retry still happens for the one pending update, and the ack clears it.
    let resent = manager.on_timeout(t0() + RETRY_INTERVAL_MIN);
    assert_eq!(resent.len(), 1);
    manager.update(update("t", TaskState::TaskFinished, 2), true, t0()).unwrap();
    let ack = manager.acknowledgement(&fw, &task, &[1; 16], t0()).unwrap();
    let next = ack.forward.expect("TASK_FINISHED goes out after the TASK_RUNNING ack");
    assert_eq!(next.update.status.state, TaskState::TaskFinished as i32);
    let ack = manager.acknowledgement(&fw, &task, &[2; 16], t0()).unwrap();
    assert!(ack.terminated);
    assert!(!manager.has_stream(&fw, &task), "terminal ack ends the stream");
}

/// Port of `TaskStatusUpdateManagerTest.IgnoreDuplicateStatusUpdateAck`: a second ack
/// for an update already acknowledged (e.g. the ack of its retry) is rejected while the
/// manager waits for the ack of the next update, which stays pending and is retried.
#[test]
fn ignore_duplicate_status_update_ack() {
    let mut manager = running_manager();
    let (fw, task) = ids("t");
    manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    manager.acknowledgement(&fw, &task, &[1; 16], t0()).unwrap();
    manager.update(update("t", TaskState::TaskFinished, 2), true, t0()).unwrap();

    let duplicate = manager.acknowledgement(&fw, &task, &[1; 16], t0());
    assert!(
        matches!(duplicate, Err(AgentError::Acknowledgement { reason, .. }) if reason.contains("duplicate"))
    );
    let pending = manager.pending(&fw, &task);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status.state, TaskState::TaskFinished as i32);
    assert_eq!(
        manager.on_timeout(t0() + RETRY_INTERVAL_MIN).len(),
        1,
        "TASK_FINISHED is still retried"
    );

    // Port of `.IgnoreUnexpectedStatusUpdateAck` too: a random uuid is rejected.
    let unexpected = manager.acknowledgement(&fw, &task, &[9; 16], t0());
    assert!(
        matches!(unexpected, Err(AgentError::Acknowledgement { reason, .. }) if reason.contains("unexpected"))
    );
    // And an ack for a task without a stream.
    let (_, other) = ids("other");
    assert!(manager.acknowledgement(&fw, &other, &[1; 16], t0()).is_err());
}

/// Port of `TaskStatusUpdateManagerTest.LatestTaskState`: while TASK_RUNNING is still
/// unacknowledged and TASK_FINISHED is queued behind it, the resent TASK_RUNNING carries
/// `latest_state = TASK_FINISHED`.
#[test]
fn latest_task_state() {
    let mut manager = running_manager();
    let first = manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    assert_eq!(first.forward.unwrap().update.latest_state, Some(TaskState::TaskRunning as i32));
    let second = manager.update(update("t", TaskState::TaskFinished, 2), true, t0()).unwrap();
    assert!(second.forward.is_none(), "only the front update is in flight");
    let resent = manager.on_timeout(t0() + RETRY_INTERVAL_MIN);
    assert_eq!(resent[0].update.status.state, TaskState::TaskRunning as i32);
    assert_eq!(resent[0].update.latest_state, Some(TaskState::TaskFinished as i32));
}

/// Port of `TaskStatusUpdateManagerTest.DuplicateTerminalUpdateAfterAck`: after the
/// terminal ack the stream is gone, so a later update for the task starts a new stream
/// and is forwarded.
#[test]
fn duplicate_terminal_update_after_ack() {
    let mut manager = running_manager();
    let (fw, task) = ids("t");
    manager.update(update("t", TaskState::TaskFinished, 1), false, t0()).unwrap();
    assert!(manager.acknowledgement(&fw, &task, &[1; 16], t0()).unwrap().terminated);
    let again = manager.update(update("t", TaskState::TaskKilled, 2), false, t0()).unwrap();
    assert!(!again.duplicate);
    assert!(again.forward.is_some());
}

/// While paused nothing is forwarded; resume forwards every stream's front update.
#[test]
fn paused_manager_forwards_on_resume() {
    let mut manager = StatusUpdateManager::new();
    let outcome = manager.update(update("a", TaskState::TaskRunning, 1), false, t0()).unwrap();
    assert!(outcome.forward.is_none());
    manager.update(update("b", TaskState::TaskRunning, 2), false, t0()).unwrap();
    assert!(manager.on_timeout(t0() + RETRY_INTERVAL_MAX).is_empty());
    let forwarded = manager.resume(t0());
    assert_eq!(forwarded.len(), 2);
}

/// A stream replayed from its checkpoint has the same pending updates, and a stream
/// whose terminal update was acknowledged is not rebuilt.
#[test]
fn replay_rebuilds_pending_updates() {
    let mut manager = running_manager();
    let (fw, task) = ids("t");
    manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    manager.acknowledgement(&fw, &task, &[1; 16], t0()).unwrap();
    let records = manager
        .update(update("t", TaskState::TaskFinished, 2), true, t0())
        .unwrap()
        .checkpoint
        .unwrap()
        .records;

    let mut recovered = StatusUpdateManager::new();
    recovered.replay(&fw, &task, &records);
    let pending = recovered.pending(&fw, &task);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].uuid, Some(vec![2; 16]));
    // The already-acknowledged update is recognized as a duplicate after recovery.
    assert!(
        recovered.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap().duplicate
    );

    let done =
        manager.acknowledgement(&fw, &task, &[2; 16], t0()).unwrap().checkpoint.unwrap().records;
    let mut recovered = StatusUpdateManager::new();
    recovered.replay(&fw, &task, &done);
    assert!(!recovered.has_stream(&fw, &task));
}

/// Updates without a uuid, and checkpoint mismatches, are rejected.
#[test]
fn rejects_bad_updates() {
    let mut manager = running_manager();
    let mut no_uuid = update("t", TaskState::TaskRunning, 1);
    no_uuid.uuid = None;
    assert!(manager.update(no_uuid, true, t0()).is_err());
    manager.update(update("t", TaskState::TaskRunning, 1), true, t0()).unwrap();
    assert!(manager.update(update("t", TaskState::TaskFinished, 2), false, t0()).is_err());
}
