//! The task status-update manager: reliable delivery of task status updates from
//! the agent to the framework, as a pure core (time passed in, outputs returned).
//!
//! Mesos: src/slave/task_status_update_manager.cpp. There is one *stream* per task
//! (grouped by framework). An update from an executor is
//!
//! 1. checked against the stream: an update whose uuid was already received or
//!    already acknowledged is a duplicate and is ignored (but the caller still
//!    acknowledges it to the executor, so the executor stops resending it);
//! 2. appended to the stream's pending queue and, for checkpointing frameworks,
//!    returned as a [`Checkpoint`] that the caller writes to disk *before* it
//!    acknowledges the update to the executor;
//! 3. forwarded to the master if it is the only pending update. Later updates wait
//!    until the framework acknowledges the one in front of them, so a framework sees
//!    a task's updates in order, one at a time.
//!
//! An unacknowledged update is resent after 10 s, then 20 s, 40 s, ... up to 10 min
//! between resends. An acknowledgement must carry the uuid of the update at the
//! front of the queue: an acknowledgement of an update that was already acknowledged
//! (a retried update acknowledged twice) or of some other update is rejected. When a
//! terminal update is acknowledged the stream is finished and dropped.
//!
//! While the agent has no master (disconnected, recovering) the manager is *paused*:
//! nothing is forwarded; [`StatusUpdateManager::resume`] forwards every stream's
//! front update again.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::Duration;

use libprocess::Time;
use mesos_proto::ids::{FrameworkId, TaskId};
use mesos_proto::mesos::internal::{StatusUpdate, StatusUpdateRecord, status_update_record};

use crate::error::AgentError;

/// The first resend interval (Mesos: `STATUS_UPDATE_RETRY_INTERVAL_MIN`).
pub const RETRY_INTERVAL_MIN: Duration = Duration::from_secs(10);
/// The longest resend interval (Mesos: `STATUS_UPDATE_RETRY_INTERVAL_MAX`).
pub const RETRY_INTERVAL_MAX: Duration = Duration::from_secs(600);
/// Most updates one task may have pending. At the bound further updates are
/// rejected (not acknowledged to the executor, which keeps them and resends them
/// when it re-registers); a task has only a handful of states, so only a broken
/// executor gets here.
pub const MAX_PENDING_PER_STREAM: usize = 1000;

/// An update to send to the master now; resend it after `retry_after` unless
/// acknowledged (call [`StatusUpdateManager::on_timeout`] then).
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// The update, with `latest_state` set to the task's latest known state.
    pub update: StatusUpdate,
    /// When to check for a missing acknowledgement.
    pub retry_after: Duration,
}

/// The whole checkpointed stream of one task, to be written atomically to the
/// task's `task.updates` file before anything else happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// Every record of the stream so far, oldest first.
    pub records: Vec<StatusUpdateRecord>,
}

/// What the caller does after [`StatusUpdateManager::update`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateOutcome {
    /// The update was already received or acknowledged: nothing changed, but the
    /// sender should still be acknowledged.
    pub duplicate: bool,
    /// Write this before acknowledging the update to the executor.
    pub checkpoint: Option<Checkpoint>,
    /// Send this to the master.
    pub forward: Option<Forward>,
}

/// What the caller does after a valid [`StatusUpdateManager::acknowledgement`].
#[derive(Debug, Clone, PartialEq)]
pub struct AckOutcome {
    /// The update that is now acknowledged.
    pub acknowledged: StatusUpdate,
    /// Write this (the stream with the ACK record).
    pub checkpoint: Option<Checkpoint>,
    /// The next pending update, to send to the master.
    pub forward: Option<Forward>,
    /// A terminal update was acknowledged: the stream is finished and removed.
    pub terminated: bool,
}

/// The updates of one task.
#[derive(Debug, Default)]
struct Stream {
    checkpoint: bool,
    pending: VecDeque<StatusUpdate>,
    received: HashSet<Vec<u8>>,
    acknowledged: HashSet<Vec<u8>>,
    terminated: bool,
    latest_state: Option<i32>,
    /// Deadline of the resend check of the front update and its interval.
    timeout: Option<(Time, Duration)>,
    /// The checkpointed records (only for checkpointing streams).
    records: Vec<StatusUpdateRecord>,
}

impl Stream {
    fn record_update(&mut self, update: &StatusUpdate) {
        if self.checkpoint {
            self.records.push(StatusUpdateRecord {
                r#type: status_update_record::Type::Update as i32,
                update: Some(update.clone()),
                uuid: None,
            });
        }
        self.received.insert(uuid_of(update));
        self.latest_state = Some(update.status.state);
        self.pending.push_back(update.clone());
    }

    fn record_ack(&mut self, uuid: &[u8]) -> Option<StatusUpdate> {
        if self.checkpoint {
            self.records.push(StatusUpdateRecord {
                r#type: status_update_record::Type::Ack as i32,
                update: None,
                uuid: Some(uuid.to_vec()),
            });
        }
        self.acknowledged.insert(uuid.to_vec());
        let acked = self.pending.pop_front()?;
        if !self.terminated {
            self.terminated = acked.status.state().is_terminal();
        }
        Some(acked)
    }

    /// The front update, stamped with the task's latest state, with its deadline set.
    fn forward_front(&mut self, now: Time, interval: Duration) -> Option<Forward> {
        let mut update = self.pending.front()?.clone();
        update.latest_state = self.latest_state;
        self.timeout = Some((now + interval, interval));
        Some(Forward { update, retry_after: interval })
    }
}

fn uuid_of(update: &StatusUpdate) -> Vec<u8> {
    update.uuid.clone().unwrap_or_default()
}

/// The status-update manager of one agent.
#[derive(Debug)]
pub struct StatusUpdateManager {
    streams: BTreeMap<FrameworkId, BTreeMap<TaskId, Stream>>,
    paused: bool,
}

impl Default for StatusUpdateManager {
    fn default() -> Self {
        StatusUpdateManager::new()
    }
}

impl StatusUpdateManager {
    /// A manager with no streams, paused until the agent has a master.
    pub fn new() -> StatusUpdateManager {
        StatusUpdateManager { streams: BTreeMap::new(), paused: true }
    }

    /// True while nothing is forwarded.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Handles an update from an executor (or made by the agent itself).
    /// `checkpoint` says whether its framework checkpoints.
    // Mesos: TaskStatusUpdateManagerProcess::_update, TaskStatusUpdateStream::update.
    pub fn update(
        &mut self,
        update: StatusUpdate,
        checkpoint: bool,
        now: Time,
    ) -> Result<UpdateOutcome, AgentError> {
        let task_id = TaskId::from(&update.status.task_id);
        let framework_id = FrameworkId::from(&update.framework_id);
        let reject =
            |reason: String| AgentError::StatusUpdate { task_id: task_id.to_string(), reason };
        let Some(uuid) = update.uuid.clone().filter(|u| !u.is_empty()) else {
            return Err(reject("the update has no uuid".into()));
        };
        let paused = self.paused;
        let stream = self
            .streams
            .entry(framework_id.clone())
            .or_default()
            .entry(task_id.clone())
            .or_insert_with(|| Stream { checkpoint, ..Stream::default() });
        if stream.checkpoint != checkpoint {
            return Err(reject(format!(
                "mismatched checkpoint value (stream checkpoint={}, update checkpoint={checkpoint})",
                stream.checkpoint
            )));
        }
        if stream.acknowledged.contains(&uuid) {
            tracing::warn!(%task_id, "ignoring status update that was already acknowledged by the framework");
            return Ok(UpdateOutcome { duplicate: true, ..UpdateOutcome::default() });
        }
        if stream.received.contains(&uuid) {
            tracing::warn!(%task_id, "ignoring duplicate status update");
            return Ok(UpdateOutcome { duplicate: true, ..UpdateOutcome::default() });
        }
        if stream.pending.len() >= MAX_PENDING_PER_STREAM {
            return Err(reject(format!("{MAX_PENDING_PER_STREAM} updates already pending")));
        }
        stream.record_update(&update);
        let checkpoint = checkpoint.then(|| Checkpoint {
            framework_id: framework_id.clone(),
            task_id: task_id.clone(),
            records: stream.records.clone(),
        });
        let forward = if !paused && stream.pending.len() == 1 {
            stream.forward_front(now, RETRY_INTERVAL_MIN)
        } else {
            None
        };
        Ok(UpdateOutcome { duplicate: false, checkpoint, forward })
    }

    /// Handles the framework's acknowledgement of update `uuid` of a task.
    // Mesos: TaskStatusUpdateManagerProcess::acknowledgement.
    pub fn acknowledgement(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        uuid: &[u8],
        now: Time,
    ) -> Result<AckOutcome, AgentError> {
        let reject = |reason: &str| AgentError::Acknowledgement {
            framework_id: framework_id.to_string(),
            task_id: task_id.to_string(),
            reason: reason.to_string(),
        };
        let paused = self.paused;
        let Some(stream) = self.streams.get_mut(framework_id).and_then(|s| s.get_mut(task_id))
        else {
            return Err(reject("no status update stream for this task"));
        };
        if stream.acknowledged.contains(uuid) {
            return Err(reject("duplicate acknowledgement"));
        }
        let Some(front) = stream.pending.front() else {
            return Err(reject("no update is pending"));
        };
        if front.uuid.as_deref() != Some(uuid) {
            return Err(reject("unexpected acknowledgement: it is not for the pending update"));
        }
        let acknowledged = stream.record_ack(uuid).ok_or_else(|| reject("no update is pending"))?;
        stream.timeout = None;
        let checkpoint = stream.checkpoint.then(|| Checkpoint {
            framework_id: framework_id.clone(),
            task_id: task_id.clone(),
            records: stream.records.clone(),
        });
        let terminated = stream.terminated;
        let forward = if terminated {
            if !stream.pending.is_empty() {
                tracing::warn!(%task_id, "acknowledged a terminal update but updates are still pending");
            }
            self.remove_stream(framework_id, task_id);
            None
        } else if paused {
            None
        } else {
            stream.forward_front(now, RETRY_INTERVAL_MIN)
        };
        Ok(AckOutcome { acknowledged, checkpoint, forward, terminated })
    }

    /// Resends every front update whose acknowledgement is overdue, doubling its
    /// interval up to [`RETRY_INTERVAL_MAX`].
    // Mesos: TaskStatusUpdateManagerProcess::timeout.
    pub fn on_timeout(&mut self, now: Time) -> Vec<Forward> {
        if self.paused {
            return Vec::new();
        }
        let mut resend = Vec::new();
        for stream in self.streams.values_mut().flat_map(|s| s.values_mut()) {
            if let Some((deadline, interval)) = stream.timeout
                && deadline <= now
                && let Some(forward) =
                    stream.forward_front(now, (interval * 2).min(RETRY_INTERVAL_MAX))
            {
                tracing::warn!(task_id = %forward.update.status.task_id.value, "resending status update");
                resend.push(forward);
            }
        }
        resend
    }

    /// Stops forwarding (the agent lost its master).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Forwards again: returns the front update of every stream.
    // Mesos: TaskStatusUpdateManagerProcess::resume.
    pub fn resume(&mut self, now: Time) -> Vec<Forward> {
        self.paused = false;
        self.streams
            .values_mut()
            .flat_map(|s| s.values_mut())
            .filter_map(|stream| stream.forward_front(now, RETRY_INTERVAL_MIN))
            .collect()
    }

    /// Rebuilds a task's stream from its checkpointed records (recovery). A stream
    /// whose terminal update was acknowledged is not rebuilt.
    // Mesos: TaskStatusUpdateStream::replay.
    pub fn replay(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        records: &[StatusUpdateRecord],
    ) {
        let mut stream = Stream { checkpoint: true, ..Stream::default() };
        for record in records {
            match (
                status_update_record::Type::try_from(record.r#type),
                &record.update,
                &record.uuid,
            ) {
                (Ok(status_update_record::Type::Update), Some(update), _) => {
                    stream.record_update(update)
                }
                (Ok(status_update_record::Type::Ack), _, Some(uuid)) => {
                    if stream.pending.front().and_then(|u| u.uuid.as_deref())
                        == Some(uuid.as_slice())
                    {
                        stream.record_ack(uuid);
                    } else {
                        tracing::warn!(%task_id, "checkpointed acknowledgement matches no pending update; skipped");
                    }
                }
                _ => {
                    tracing::warn!(%task_id, "checkpointed status update record without its payload; skipped")
                }
            }
        }
        if stream.terminated && stream.pending.is_empty() {
            return;
        }
        self.streams.entry(framework_id.clone()).or_default().insert(task_id.clone(), stream);
    }

    /// Drops every stream of a framework (the framework was shut down).
    pub fn cleanup_framework(&mut self, framework_id: &FrameworkId) {
        self.streams.remove(framework_id);
    }

    /// The pending updates of a task, oldest first.
    pub fn pending(&self, framework_id: &FrameworkId, task_id: &TaskId) -> Vec<StatusUpdate> {
        self.streams
            .get(framework_id)
            .and_then(|s| s.get(task_id))
            .map(|s| s.pending.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// True if the task has a stream (updates not yet all acknowledged).
    pub fn has_stream(&self, framework_id: &FrameworkId, task_id: &TaskId) -> bool {
        self.streams.get(framework_id).is_some_and(|s| s.contains_key(task_id))
    }

    /// How many streams exist.
    pub fn stream_count(&self) -> usize {
        self.streams.values().map(BTreeMap::len).sum()
    }

    fn remove_stream(&mut self, framework_id: &FrameworkId, task_id: &TaskId) {
        if let Some(streams) = self.streams.get_mut(framework_id) {
            streams.remove(task_id);
            if streams.is_empty() {
                self.streams.remove(framework_id);
            }
        }
    }
}

#[cfg(test)]
#[path = "status_update_tests.rs"]
mod tests;
