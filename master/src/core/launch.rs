//! Launching tasks: ACCEPT with its offer validation, and each LAUNCH operation's tasks
//! (role injection, authorization, validation, bookkeeping, `RunTaskMessage`).
//!
//! Mesos: master.cpp `Master::accept` / `Master::_accept`, validation.cpp
//! `offer::validate`.

use libprocess::Time;
use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use mesos_proto::mesos::{self, internal, offer, scheduler, task_status};
use mesos_proto::resources::Resources;

use super::operations::{launch_group_tasks, launch_tasks};
use super::state::AgentState;
use super::validation::validate_task;
use super::{AllocatorCall, MasterCore, MasterError, Outgoing};

impl MasterCore {
    /// ACCEPT: validate the offers, then launch each task that validates; the rest of
    /// the offered resources go back to the allocator with the call's filters.
    pub(crate) fn on_accept(
        &mut self,
        framework_id: &FrameworkId,
        accept: scheduler::call::Accept,
        now: Time,
    ) -> Result<(), MasterError> {
        let refuse =
            accept.filters.as_ref().map(|f| f.refuse_seconds.unwrap_or(5.0)).unwrap_or(5.0);
        let traced = !accept.operations.is_empty() && self.timeline_follows(framework_id);
        if traced {
            tracing::debug!(target: crate::TIMELINE, %framework_id, "ACCEPT received");
        }
        let offer_ids: Vec<OfferId> = accept.offer_ids.iter().map(OfferId::from).collect();
        let agent_id = match self.validate_offers(framework_id, &offer_ids) {
            Ok(agent_id) => agent_id,
            Err(error) => {
                self.drop_accept(framework_id, &offer_ids, accept.operations, &error, now);
                return Err(MasterError::InvalidCall { reason: error });
            }
        };
        let mut available = Resources::new();
        for offer_id in &offer_ids {
            if let Some(entry) = self.take_offer(offer_id) {
                available += &entry.resources;
            }
        }
        self.stats.offers_accepted += offer_ids.len() as u64;
        let available =
            self.apply_operations(framework_id, &agent_id, accept.operations, available, now);
        if traced {
            tracing::debug!(target: crate::TIMELINE, %framework_id, %agent_id, "ACCEPT applied: RunTaskMessage sent");
        }
        if !available.is_empty() {
            self.allocator(AllocatorCall::Recover {
                framework_id: framework_id.clone(),
                agent_id,
                resources: available,
                refuse_seconds: Some(refuse),
            });
        }
        Ok(())
    }

    /// ACCEPT with invalid offers: rescind the framework's offers among them, drop
    /// every task of the call and refuse every other operation.
    ///
    /// Mesos: master.cpp `Master::accept`: tasks are dropped (TASK_LOST for frameworks
    /// that are not partition-aware), other operations get OPERATION_ERROR.
    fn drop_accept(
        &mut self,
        framework_id: &FrameworkId,
        offer_ids: &[OfferId],
        operations: Vec<offer::Operation>,
        error: &str,
        now: Time,
    ) {
        for offer_id in offer_ids {
            if self.offers.get(offer_id).is_some_and(|o| &o.framework_id == framework_id) {
                self.rescind_offer(offer_id, None);
            }
        }
        let partition_aware =
            self.frameworks.get(framework_id).is_some_and(|f| f.partition_aware());
        let state = if partition_aware {
            mesos::TaskState::TaskDropped
        } else {
            mesos::TaskState::TaskLost
        };
        for operation in operations {
            let tasks = match operation.r#type() {
                offer::operation::Type::Launch => launch_tasks(&operation),
                offer::operation::Type::LaunchGroup => launch_group_tasks(&operation),
                _ => {
                    let message = format!("Operation attempted with invalid offers: {error}");
                    self.drop_operation(framework_id, &operation, &message);
                    continue;
                }
            };
            for task in tasks {
                self.stats.tasks_dropped += 1;
                let status = self.master_status(
                    &TaskId::from(&task.task_id),
                    state,
                    task_status::Reason::InvalidOffers,
                    &format!("Task launched with invalid offers: {error}"),
                    None,
                    now,
                );
                self.forward_update(
                    framework_id,
                    &AgentId::from(&task.slave_id),
                    status,
                    None,
                    now,
                );
            }
        }
    }

    /// Runs the ACCEPT's operations in order against `available` and returns what is
    /// left over. Every operation is either performed or answered (see
    /// [`super::operations`]).
    fn apply_operations(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        operations: Vec<offer::Operation>,
        mut available: Resources,
        now: Time,
    ) -> Resources {
        use offer::operation::Type;
        // Every offer of an ACCEPT is for one role (see `validate_offers`); the least
        // name, as `allocations()` would give first, read without grouping copies.
        let role: String = available
            .iter()
            .filter_map(|r| r.allocation_info.as_ref()?.role.as_deref())
            .min()
            .unwrap_or_default()
            .to_string();
        let role = role.as_str();
        let mut launched: Vec<TaskId> = Vec::new();
        for operation in operations {
            match operation.r#type() {
                Type::Launch if operation.id.is_some() => self.error_tasks(
                    framework_id,
                    agent_id,
                    &launch_tasks(&operation),
                    task_status::Reason::TaskInvalid,
                    "The `id` field cannot be set on LAUNCH operations",
                    now,
                ),
                Type::Launch => {
                    // The call is ours: its tasks are moved out, not copied.
                    let tasks = operation.launch.map(|l| l.task_infos).unwrap_or_default();
                    for task in tasks {
                        if let Some((task_id, used)) = self.launch_task(
                            framework_id,
                            agent_id,
                            task,
                            &available,
                            &launched,
                            now,
                        ) {
                            launched.push(task_id);
                            available -= &used;
                        }
                    }
                }
                Type::LaunchGroup if operation.id.is_some() => self.error_tasks(
                    framework_id,
                    agent_id,
                    &launch_group_tasks(&operation),
                    task_status::Reason::TaskGroupInvalid,
                    "The `id` field cannot be set on LAUNCH_GROUP operations",
                    now,
                ),
                Type::LaunchGroup => {
                    let Some(group) = operation.launch_group else { continue };
                    if let Some((ids, used)) =
                        self.launch_group(framework_id, agent_id, group, &available, &launched, now)
                    {
                        launched.extend(ids);
                        available -= &used;
                    }
                }
                Type::Reserve
                | Type::Unreserve
                | Type::Create
                | Type::Destroy
                | Type::GrowVolume
                | Type::ShrinkVolume => {
                    available = self.apply_offer_operation(
                        framework_id,
                        agent_id,
                        operation,
                        role,
                        available,
                    );
                }
                Type::CreateDisk | Type::DestroyDisk => self.drop_operation(
                    framework_id,
                    &operation,
                    "CREATE_DISK and DESTROY_DISK need a resource provider; no agent has one",
                ),
                Type::Unknown => self.drop_operation(framework_id, &operation, "Unknown operation"),
            }
        }
        available
    }

    /// All offers exist, are this framework's, and are of one registered agent.
    fn validate_offers(
        &self,
        framework_id: &FrameworkId,
        offer_ids: &[OfferId],
    ) -> Result<AgentId, String> {
        if offer_ids.is_empty() {
            return Err("No offers specified".into());
        }
        let mut agent: Option<AgentId> = None;
        let mut allocation_role: Option<String> = None;
        for offer_id in offer_ids {
            let Some(entry) = self.offers.get(offer_id) else {
                return Err(format!("Offer {offer_id} is no longer valid"));
            };
            if &entry.framework_id != framework_id {
                return Err(format!(
                    "Offer {offer_id} has invalid framework {}",
                    entry.framework_id
                ));
            }
            match &agent {
                Some(a) if *a != entry.agent_id => {
                    return Err("Aggregated offers must belong to one single agent".into());
                }
                _ => agent = Some(entry.agent_id.clone()),
            }
            // Mesos: validation.cpp `offer::validateAllocationRole`.
            let role = entry.offer.allocation_info.as_ref().and_then(|a| a.role.as_ref());
            match &allocation_role {
                Some(r) if Some(r) != role => {
                    return Err("Aggregated offers must be allocated to the same role".into());
                }
                _ => allocation_role = role.cloned(),
            }
            if offer_ids.iter().filter(|o| *o == offer_id).count() > 1 {
                return Err(format!("Duplicate offer {offer_id} in offer list"));
            }
        }
        let agent_id = agent.ok_or("No offers specified")?;
        match self.agents.get(&agent_id) {
            Some(a) if a.state == AgentState::Active => Ok(agent_id),
            _ => Err(format!("Agent {agent_id} is not available")),
        }
    }

    /// Validates and launches one task; returns its id and the resources it used, or
    /// sends TASK_ERROR and returns `None`. Steps: inject the allocation role, authorize,
    /// validate, record the task (and a new executor), send `RunTaskMessage`.
    fn launch_task(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        mut task: mesos::TaskInfo,
        available: &Resources,
        launched: &[TaskId],
        now: Time,
    ) -> Option<(TaskId, Resources)> {
        let framework = self.frameworks.get(framework_id)?;
        inject_allocation_role(&framework.roles, &mut task);
        let task_id = TaskId::from(&task.task_id);
        if !self.authorize_launch(framework_id, agent_id, &task, now) {
            return None;
        }
        let executor_id = task.executor.as_ref().map(|e| ExecutorId::from(&e.executor_id));
        let known_executor = executor_id
            .as_ref()
            .and_then(|id| self.executor_on(framework_id, agent_id, id))
            .cloned();
        let needed = self.validate_launch(
            framework_id,
            agent_id,
            &task,
            known_executor.as_ref(),
            launched,
            available,
            now,
        )?;
        let framework = self.frameworks.get(framework_id)?;
        let framework_info = framework.info.clone();
        let framework_pid = framework.pid.as_ref().map(|p| p.to_string());
        let launch_executor = known_executor.is_none() && task.executor.is_some();
        if let Some(mut executor) = task.executor.clone().filter(|_| launch_executor) {
            executor.framework_id = Some(framework_id.into());
            self.add_executor(agent_id, executor);
        }
        let to = self.add_launched_task(framework_id, agent_id, &task, &framework_info)?;
        let message = internal::RunTaskMessage {
            #[allow(deprecated)]
            framework_id: Some(framework_id.into()),
            framework: framework_info,
            task,
            resource_version_uuids: Vec::new(),
            pid: framework_pid,
            launch_executor: Some(launch_executor || known_executor.is_none()),
        };
        self.send(&to, Outgoing::RunTask(message));
        tracing::info!(%framework_id, %task_id, %agent_id, "launching task");
        Some((task_id, needed))
    }

    /// Launch step: the task's validation; on failure the framework gets TASK_ERROR
    /// (reason TASK_INVALID) and the task goes no further.
    #[allow(clippy::too_many_arguments)]
    fn validate_launch(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        task: &mesos::TaskInfo,
        known_executor: Option<&mesos::ExecutorInfo>,
        launched: &[TaskId],
        available: &Resources,
        now: Time,
    ) -> Option<Resources> {
        let framework = self.frameworks.get(framework_id)?;
        match validate_task(task, framework, agent_id, known_executor, launched, available) {
            Ok(needed) => Some(needed),
            Err(message) => {
                let task_id = TaskId::from(&task.task_id);
                tracing::info!(%framework_id, %task_id, %message, "task invalid");
                self.stats.tasks_error += 1;
                let status = self.master_status(
                    &task_id,
                    mesos::TaskState::TaskError,
                    task_status::Reason::TaskInvalid,
                    &message,
                    Some(agent_id),
                    now,
                );
                self.forward_update(framework_id, agent_id, status, None, now);
                None
            }
        }
    }

    /// Launch step: record the task as STAGING under its framework and agent and charge
    /// its resources to the agent; returns the agent's pid (`None` if the agent is gone).
    pub(super) fn add_launched_task(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        task: &mesos::TaskInfo,
        framework_info: &mesos::FrameworkInfo,
    ) -> Option<libprocess::Pid> {
        let task_id = TaskId::from(&task.task_id);
        let record = mesos::Task {
            name: task.name.clone(),
            task_id: task.task_id.clone(),
            framework_id: framework_id.into(),
            executor_id: task.executor.as_ref().map(|e| e.executor_id.clone()),
            slave_id: agent_id.into(),
            state: mesos::TaskState::TaskStaging as i32,
            resources: task.resources.clone(),
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            labels: task.labels.clone(),
            discovery: task.discovery.clone().map(Box::new),
            container: task.container.clone().map(Box::new),
            health_check: task.health_check.clone().map(Box::new),
            kill_policy: task.kill_policy,
            user: Some(super::authorization::run_task_user(task, framework_info)),
            limits: task.limits.clone(),
        };
        // Validated already (`validate_task`); summed where they lie, not copied first.
        let mut task_resources = Resources::new();
        if let Err(error) = task_resources.add_protos(&task.resources) {
            tracing::warn!(%task_id, %error, "a launched task's resources did not parse");
        }
        self.task_added(&record);
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.tasks.insert(task_id.clone(), record);
        }
        let agent = self.agents.get_mut(agent_id)?;
        agent.tasks.entry(framework_id.clone()).or_default().insert(task_id);
        *agent.used.entry(framework_id.clone()).or_default() += &task_resources;
        Some(agent.pid.clone())
    }
}

/// Launch step: Mesos injects the allocation role into the task's (and its executor's)
/// resources for frameworks that are not MULTI_ROLE, i.e. have exactly one role.
pub(super) fn inject_allocation_role(
    roles: &std::collections::BTreeSet<String>,
    task: &mut mesos::TaskInfo,
) {
    if roles.len() != 1 {
        return;
    }
    let role = roles.iter().next().cloned().unwrap_or_default();
    let inject = |resources: &mut Vec<mesos::Resource>| {
        for r in resources.iter_mut().filter(|r| r.allocation_info.is_none()) {
            r.allocation_info = Some(mesos::resource::AllocationInfo { role: Some(role.clone()) });
        }
    };
    inject(&mut task.resources);
    if let Some(executor) = task.executor.as_mut() {
        inject(&mut executor.resources);
    }
}
