//! Offer operations other than LAUNCH, and the rule that no operation is ever dropped
//! silently: whatever the master does not perform is answered.
//!
//! * A task the master will not launch gets a status update (TASK_ERROR, or
//!   TASK_LOST/TASK_DROPPED when the offers were invalid).
//! * Any other operation that carries an id (`Offer.Operation.id`, the framework asked
//!   for feedback) gets an `UpdateOperationStatusMessage` with OPERATION_ERROR and the
//!   reason. One without an id is logged and counted (`operations_error`): Mesos
//!   offers such a framework no channel to hear about it.
//!
//! Mesos: master.cpp `Master::drop(Framework*, const Offer::Operation&, ...)`,
//! `Master::_accept`.

use libprocess::Time;
use mesos_proto::ids::{AgentId, FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, offer, task_status};

use super::{MasterCore, Outgoing};

impl MasterCore {
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

    /// LAUNCH_GROUP: task groups need Mesos's default executor, which this agent does
    /// not run yet; every task of the group gets TASK_ERROR (REASON_TASK_GROUP_INVALID)
    /// instead of silence, and the resources go back with the rest of the offer.
    pub(crate) fn refuse_launch_group(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        operation: &offer::Operation,
        now: Time,
    ) {
        let tasks = launch_group_tasks(operation);
        let message = if operation.id.is_some() {
            "The `id` field cannot be set on LAUNCH_GROUP operations"
        } else {
            "LAUNCH_GROUP is not supported yet: task groups need the default executor"
        };
        self.error_tasks(
            framework_id,
            agent_id,
            &tasks,
            task_status::Reason::TaskGroupInvalid,
            message,
            now,
        );
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
