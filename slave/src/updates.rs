//! Building status updates, task records and uuids (Mesos:
//! src/common/protobuf_utils.cpp).

use libprocess::Time;
use mesos_proto::mesos::internal::StatusUpdate;
use mesos_proto::mesos::{
    ExecutorId, FrameworkId, SlaveId, Task, TaskId, TaskInfo, TaskState, TaskStatus, task_status,
};
use rand::RngCore;

/// A random version-4 uuid as 16 bytes (status update uuids), from a seedable rng.
pub fn random_uuid(rng: &mut impl RngCore) -> Vec<u8> {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes.to_vec()
}

/// Formats 16 uuid bytes as `xxxxxxxx-xxxx-...`; other lengths as hex.
pub fn uuid_string(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if bytes.len() != 16 {
        return hex;
    }
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// What a status update says besides its task and state.
#[derive(Debug, Clone, Default)]
pub struct UpdateDetails {
    /// Who noticed the change.
    pub source: Option<task_status::Source>,
    /// Why it happened.
    pub reason: Option<task_status::Reason>,
    /// A human-readable explanation.
    pub message: Option<String>,
    /// The executor of the task.
    pub executor_id: Option<ExecutorId>,
}

/// A status update for `task_id` (Mesos: `protobuf::createStatusUpdate`).
pub fn status_update(
    framework_id: &FrameworkId,
    agent_id: Option<&SlaveId>,
    task_id: &TaskId,
    state: TaskState,
    details: UpdateDetails,
    uuid: Vec<u8>,
    now: Time,
) -> StatusUpdate {
    let status = TaskStatus {
        task_id: task_id.clone(),
        state: state as i32,
        message: details.message,
        source: details.source.map(|s| s as i32),
        reason: details.reason.map(|r| r as i32),
        slave_id: agent_id.cloned(),
        executor_id: details.executor_id.clone(),
        timestamp: Some(now.secs_f64()),
        uuid: Some(uuid.clone()),
        ..TaskStatus::default()
    };
    StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: details.executor_id,
        slave_id: agent_id.cloned(),
        status,
        timestamp: now.secs_f64(),
        uuid: Some(uuid),
        latest_state: None,
    }
}

/// The agent's record of a task it was asked to run (Mesos: `protobuf::createTask`).
pub fn task_from_info(info: &TaskInfo, state: TaskState, framework_id: &FrameworkId) -> Task {
    Task {
        name: info.name.clone(),
        task_id: info.task_id.clone(),
        framework_id: framework_id.clone(),
        executor_id: info.executor.as_ref().map(|e| e.executor_id.clone()),
        slave_id: info.slave_id.clone(),
        state: state as i32,
        resources: info.resources.clone(),
        labels: info.labels.clone(),
        discovery: info.discovery.clone().map(Box::new),
        container: info.container.clone().map(Box::new),
        health_check: info.health_check.clone().map(Box::new),
        kill_policy: info.kill_policy,
        user: info.command.as_ref().and_then(|c| c.user.clone()),
        ..Task::default()
    }
}

/// The name of a task state (`TASK_RUNNING`), or the number if unknown.
pub fn state_name(state: i32) -> String {
    TaskState::try_from(state)
        .map(|s| s.as_str_name().to_string())
        .unwrap_or_else(|_| state.to_string())
}
