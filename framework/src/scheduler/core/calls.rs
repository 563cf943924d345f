//! What a scheduler asks of its driver (Mesos: sched.cpp `SchedulerProcess::launchTasks`,
//! `declineOffer`, `reviveOffers`, `killTask`, `acknowledgeStatusUpdate`, `stop`, `abort`
//! ...): each becomes a v1 `Call` to the master we are connected to, or a local answer
//! (TASK_LOST/TASK_DROPPED, a refusal) when there is none.

use super::*;

impl SchedulerCore {
    pub(super) fn call(
        &mut self,
        kind: scheduler::call::Type,
        fill: impl FnOnce(&mut scheduler::Call),
    ) -> bool {
        let (Some(master), Some(framework_id)) =
            (self.master().cloned(), self.framework_id().cloned())
        else {
            tracing::debug!(call = ?kind, "dropping call: not connected");
            return false;
        };
        if !self.running() {
            return false;
        }
        let mut call = scheduler::Call {
            framework_id: Some(framework_id),
            r#type: Some(kind as i32),
            ..Default::default()
        };
        fill(&mut call);
        self.outbox.push(Output::Call { to: master, call });
        true
    }

    /// ACCEPT with `operations`. While disconnected, launches fail at once with
    /// TASK_LOST (TASK_DROPPED if partition-aware), as in Mesos.
    pub fn accept(
        &mut self,
        offer_ids: Vec<OfferId>,
        operations: Vec<mesos::offer::Operation>,
        filters: Option<mesos::Filters>,
    ) {
        if !self.running() {
            return;
        }
        for offer_id in &offer_ids {
            self.offers.remove(offer_id);
        }
        if !self.is_connected() {
            self.fail_launches(&operations);
            return;
        }
        self.call(scheduler::call::Type::Accept, |call| {
            call.accept = Some(scheduler::call::Accept {
                offer_ids,
                operations,
                filters: Some(filters.unwrap_or_default()),
            });
        });
    }

    pub(super) fn fail_launches(&mut self, operations: &[mesos::offer::Operation]) {
        let partition_aware = self
            .framework
            .capabilities
            .iter()
            .any(|c| c.r#type() == mesos::framework_info::capability::Type::PartitionAware);
        let state = if partition_aware {
            mesos::TaskState::TaskDropped
        } else {
            mesos::TaskState::TaskLost
        };
        let tasks = operations
            .iter()
            .filter(|op| op.r#type() == mesos::offer::operation::Type::Launch)
            .flat_map(|op| op.launch.iter().flat_map(|l| l.task_infos.iter()));
        let mut failed = Vec::new();
        for task in tasks {
            failed.push(TaskStatus {
                task_id: task.task_id.clone(),
                state: state as i32,
                message: Some("Master disconnected".to_string()),
                source: Some(task_status::Source::Master as i32),
                reason: Some(task_status::Reason::MasterDisconnected as i32),
                timestamp: Some(self.now.secs_f64()),
                ..Default::default()
            });
        }
        self.events.extend(failed.into_iter().map(Event::Update));
    }

    /// DECLINE one offer.
    pub fn decline(&mut self, offer_id: &OfferId, filters: Option<mesos::Filters>) {
        self.offers.remove(offer_id);
        self.call(scheduler::call::Type::Decline, |call| {
            call.decline =
                Some(scheduler::call::Decline { offer_ids: vec![offer_id.clone()], filters });
        });
    }

    /// ACCEPT_INVERSE_OFFERS: the framework agrees to give the agents back.
    pub fn accept_inverse_offers(&mut self, ids: Vec<OfferId>, filters: Option<mesos::Filters>) {
        self.call(scheduler::call::Type::AcceptInverseOffers, |call| {
            call.accept_inverse_offers =
                Some(scheduler::call::AcceptInverseOffers { inverse_offer_ids: ids, filters });
        });
    }

    /// DECLINE_INVERSE_OFFERS: the framework cannot give the agents back (yet).
    pub fn decline_inverse_offers(&mut self, ids: Vec<OfferId>, filters: Option<mesos::Filters>) {
        self.call(scheduler::call::Type::DeclineInverseOffers, |call| {
            call.decline_inverse_offers =
                Some(scheduler::call::DeclineInverseOffers { inverse_offer_ids: ids, filters });
        });
    }

    /// REVIVE (all roles when `roles` is empty); remembered for re-subscription.
    pub fn revive(&mut self, roles: Vec<String>) {
        if roles.is_empty() {
            self.suppressed_roles.clear();
        } else {
            for role in &roles {
                self.suppressed_roles.remove(role);
            }
        }
        self.call(scheduler::call::Type::Revive, |call| {
            call.revive = Some(scheduler::call::Revive { roles })
        });
    }

    /// SUPPRESS (all roles when `roles` is empty); remembered for re-subscription.
    pub fn suppress(&mut self, roles: Vec<String>) {
        if roles.is_empty() {
            self.suppressed_roles.extend(super::super::roles_of(&self.framework));
        } else {
            self.suppressed_roles.extend(roles.iter().cloned());
        }
        self.call(scheduler::call::Type::Suppress, |call| {
            call.suppress = Some(scheduler::call::Suppress { roles })
        });
    }

    /// KILL a task.
    pub fn kill(&mut self, task_id: &mesos::TaskId) {
        self.call(scheduler::call::Type::Kill, |call| {
            call.kill =
                Some(scheduler::call::Kill { task_id: task_id.clone(), ..Default::default() });
        });
    }

    /// Explicit ACKNOWLEDGE of an update (only for drivers without implicit ones).
    pub fn acknowledge(&mut self, status: &TaskStatus) -> Result<(), FrameworkError> {
        if self.implicit_acknowledgements {
            return Err(FrameworkError::ImplicitAcknowledgements);
        }
        if !self.running() {
            return Err(FrameworkError::NotRunning);
        }
        self.send_acknowledge(status);
        Ok(())
    }

    pub(super) fn send_acknowledge(&mut self, status: &TaskStatus) {
        let (Some(uuid), Some(slave_id)) = (status.uuid.clone(), status.slave_id.clone()) else {
            return; // made by the master or the driver: nothing to acknowledge
        };
        let task_id = status.task_id.clone();
        self.call(scheduler::call::Type::Acknowledge, |call| {
            call.acknowledge = Some(scheduler::call::Acknowledge { slave_id, task_id, uuid });
        });
    }

    /// RECONCILE `tasks` (task id, and agent id if known); empty asks for every task the
    /// master knows (implicit reconciliation). See docs/reconciliation.md in Mesos.
    pub fn reconcile(&mut self, tasks: Vec<(mesos::TaskId, Option<mesos::SlaveId>)>) {
        self.call(scheduler::call::Type::Reconcile, |call| {
            let tasks = tasks
                .into_iter()
                .map(|(task_id, slave_id)| scheduler::call::reconcile::Task { task_id, slave_id })
                .collect();
            call.reconcile = Some(scheduler::call::Reconcile { tasks });
        });
    }

    /// ACKNOWLEDGE_OPERATION_STATUS of a status that carries a uuid (operation
    /// statuses are always acknowledged explicitly, as with Mesos's v1 library).
    pub fn acknowledge_operation_status(
        &mut self,
        status: &mesos::OperationStatus,
    ) -> Result<(), FrameworkError> {
        if !self.running() {
            return Err(FrameworkError::NotRunning);
        }
        let (Some(uuid), Some(operation_id)) = (status.uuid.clone(), status.operation_id.clone())
        else {
            return Ok(()); // not sent reliably: nothing to acknowledge
        };
        let slave_id = status.slave_id.clone();
        let resource_provider_id = status.resource_provider_id.clone();
        self.call(scheduler::call::Type::AcknowledgeOperationStatus, |call| {
            call.acknowledge_operation_status = Some(scheduler::call::AcknowledgeOperationStatus {
                slave_id,
                resource_provider_id,
                uuid: uuid.value,
                operation_id,
            });
        });
        Ok(())
    }

    /// RECONCILE_OPERATIONS of `operations` (operation id, and agent id if known);
    /// empty asks for every operation the master tracks for this framework.
    pub fn reconcile_operations(
        &mut self,
        operations: Vec<(mesos::OperationId, Option<mesos::SlaveId>)>,
    ) {
        self.call(scheduler::call::Type::ReconcileOperations, |call| {
            let operations = operations
                .into_iter()
                .map(|(operation_id, slave_id)| scheduler::call::reconcile_operations::Operation {
                    operation_id,
                    slave_id,
                    resource_provider_id: None,
                })
                .collect();
            call.reconcile_operations = Some(scheduler::call::ReconcileOperations { operations });
        });
    }

    /// MESSAGE to an executor, through the master.
    pub fn message(
        &mut self,
        agent_id: &mesos::SlaveId,
        executor_id: &mesos::ExecutorId,
        data: Vec<u8>,
    ) {
        self.call(scheduler::call::Type::Message, |call| {
            call.message = Some(scheduler::call::Message {
                slave_id: agent_id.clone(),
                executor_id: executor_id.clone(),
                data,
            });
        });
    }

    /// Sets a scheduler timer; false when [`MAX_USER_TIMERS`] are pending.
    pub fn schedule(&mut self, after: Duration, token: u64) -> bool {
        if self.user_timers >= MAX_USER_TIMERS {
            tracing::warn!(token, "too many scheduler timers pending; refusing one");
            return false;
        }
        self.user_timers += 1;
        self.outbox.push(Output::UserTimer { after, token });
        true
    }

    /// Stops the driver. Without `failover` the framework is torn down (its tasks are
    /// killed); with it the master keeps them for `failover_timeout`.
    pub fn stop(&mut self, failover: bool) {
        if !self.running() {
            self.outbox.push(Output::Terminate);
            return;
        }
        if !failover {
            self.call(scheduler::call::Type::Teardown, |_| {});
        }
        tracing::info!(failover, "scheduler driver stopping");
        self.status = DriverStatus::Stopped;
        self.connection = Connection::Done;
        self.outbox.push(Output::Terminate);
    }

    /// Aborts the driver: the master stops sending (the framework stays, as after a
    /// failover) and the driver terminates.
    pub fn abort(&mut self) {
        if self.running() {
            self.abort_with("aborted by the scheduler".to_string());
        }
    }

    pub(super) fn abort_with(&mut self, message: String) {
        if let (Some(master), Some(framework_id)) =
            (self.master().cloned(), self.framework_id().cloned())
        {
            let message = internal::DeactivateFrameworkMessage { framework_id };
            self.outbox.push(Output::Deactivate { to: master, message });
        }
        self.status = DriverStatus::Aborted { message };
        self.connection = Connection::Done;
        self.outbox.push(Output::Terminate);
    }
}
