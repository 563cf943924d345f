//! [`SchedulerDriver`]: what a scheduler's callbacks act through.
//!
//! Mesos: include/mesos/scheduler.hpp `SchedulerDriver`. Calls made while the driver
//! is disconnected are dropped (the master will offer again, and reconciliation tells
//! what happened to tasks), except launches, which fail at once with TASK_LOST.

use std::time::Duration;

use libprocess::Pid;
use mesos_proto::mesos::{self, FrameworkId, OfferId, TaskInfo, TaskStatus};

use super::DriverStatus;
use super::core::SchedulerCore;
use crate::error::FrameworkError;

/// The handle a [`Scheduler`](super::Scheduler) callback acts through.
pub struct SchedulerDriver<'a> {
    core: &'a mut SchedulerCore,
}

impl<'a> SchedulerDriver<'a> {
    pub(crate) fn new(core: &'a mut SchedulerCore) -> SchedulerDriver<'a> {
        SchedulerDriver { core }
    }

    /// The framework's id, once registered.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        self.core.framework_id()
    }

    /// The master the driver is subscribed with, if connected.
    pub fn master(&self) -> Option<&Pid> {
        self.core.master()
    }

    /// True while subscribed with a master.
    pub fn is_connected(&self) -> bool {
        self.core.is_connected()
    }

    /// Running, stopped or aborted.
    pub fn status(&self) -> &DriverStatus {
        self.core.status()
    }

    /// Launches `tasks` on the resources of one offer. What the tasks leave unused goes
    /// back to the allocator, filtered for `filters`. (To launch on several offers of one
    /// agent at once, use [`SchedulerDriver::accept`] with a LAUNCH operation.)
    pub fn launch(
        &mut self,
        offer_id: &OfferId,
        tasks: Vec<TaskInfo>,
        filters: Option<mesos::Filters>,
    ) {
        use mesos::offer::operation;
        let operation = mesos::offer::Operation {
            r#type: Some(operation::Type::Launch as i32),
            launch: Some(operation::Launch { task_infos: tasks }),
            ..Default::default()
        };
        self.core.accept(vec![offer_id.clone()], vec![operation], filters);
    }

    /// Accepts offers with any offer operations (LAUNCH, RESERVE, CREATE, ...).
    pub fn accept(
        &mut self,
        offer_ids: &[OfferId],
        operations: Vec<mesos::offer::Operation>,
        filters: Option<mesos::Filters>,
    ) {
        self.core.accept(offer_ids.to_vec(), operations, filters);
    }

    /// Declines an offer; `filters` keeps its resources away from this framework for
    /// `refuse_seconds` (Mesos's default: 5 s).
    pub fn decline(&mut self, offer_id: &OfferId, filters: Option<mesos::Filters>) {
        self.core.decline(offer_id, filters);
    }

    /// Answers inverse offers: the framework will give the agents back by their
    /// unavailability. `filters` keeps the master from asking again about those agents
    /// for `refuse_seconds` (Mesos's default: 5 s). Mesos: `ACCEPT_INVERSE_OFFERS`.
    pub fn accept_inverse_offers(&mut self, ids: &[OfferId], filters: Option<mesos::Filters>) {
        self.core.accept_inverse_offers(ids.to_vec(), filters);
    }

    /// Answers inverse offers: the framework cannot give the agents back.
    /// Mesos: `DECLINE_INVERSE_OFFERS`.
    pub fn decline_inverse_offers(&mut self, ids: &[OfferId], filters: Option<mesos::Filters>) {
        self.core.decline_inverse_offers(ids.to_vec(), filters);
    }

    /// Removes every decline filter and resumes offers (for `roles`, or all).
    pub fn revive(&mut self, roles: Vec<String>) {
        self.core.revive(roles);
    }

    /// Stops offers (for `roles`, or all) until [`SchedulerDriver::revive`].
    pub fn suppress(&mut self, roles: Vec<String>) {
        self.core.suppress(roles);
    }

    /// Asks the master to kill a task; a TASK_KILLED (or TASK_LOST) update follows.
    pub fn kill(&mut self, task_id: &mesos::TaskId) {
        self.core.kill(task_id);
    }

    /// Acknowledges a status update (drivers built without implicit acknowledgements).
    /// Until acknowledged, the agent keeps resending it.
    pub fn acknowledge(&mut self, status: &TaskStatus) -> Result<(), FrameworkError> {
        self.core.acknowledge(status)
    }

    /// Asks for the latest state of `tasks`; empty asks for every task the master
    /// knows of this framework (implicit reconciliation). Answers come as updates.
    pub fn reconcile(&mut self, tasks: Vec<(mesos::TaskId, Option<mesos::SlaveId>)>) {
        self.core.reconcile(tasks);
    }

    /// Acknowledges an operation status that carries a uuid (until then the agent
    /// keeps resending it); others need none.
    pub fn acknowledge_operation_status(
        &mut self,
        status: &mesos::OperationStatus,
    ) -> Result<(), FrameworkError> {
        self.core.acknowledge_operation_status(status)
    }

    /// Asks for the latest state of `operations` (empty: every operation the master
    /// tracks for this framework). Answers come as `operation_status` callbacks.
    pub fn reconcile_operations(
        &mut self,
        operations: Vec<(mesos::OperationId, Option<mesos::SlaveId>)>,
    ) {
        self.core.reconcile_operations(operations);
    }

    /// Sends `data` to an executor (through the master; best effort, no delivery
    /// guarantee, as in Mesos).
    pub fn send_message(
        &mut self,
        agent_id: &mesos::SlaveId,
        executor_id: &mesos::ExecutorId,
        data: Vec<u8>,
    ) {
        self.core.message(agent_id, executor_id, data);
    }

    /// Calls [`Scheduler::timer`](super::Scheduler::timer) with `token` after `after`
    /// on the driver's clock. Returns false if too many timers are pending.
    pub fn schedule(&mut self, after: Duration, token: u64) -> bool {
        self.core.schedule(after, token)
    }

    /// Stops the driver. `failover = false` tears the framework down (its tasks are
    /// killed); `true` leaves it for a new scheduler to take over within
    /// `failover_timeout`.
    pub fn stop(&mut self, failover: bool) {
        self.core.stop(failover);
    }

    /// Aborts: stops delivering events; the framework stays registered, inactive.
    pub fn abort(&mut self) {
        self.core.abort();
    }
}
