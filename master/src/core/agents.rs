//! Agents: registration, re-registration, health pings, disconnection, unreachability.
//!
//! Mesos: master.cpp `registerSlave`, `reregisterSlave`, `__reregisterSlave`,
//! `SlaveObserver` (pings), `markUnreachable`, `_markUnreachable`.

use std::collections::HashSet;

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, task_status};
use mesos_proto::resources::Resources;

use super::registry::{AfterRegistry, time_info};
use super::state::{Agent, AgentState, Framework, UnreachableAgent};
use super::{
    AllocatorCall, IdSet, MAX_UNREACHABLE_AGENTS, MasterCore, MasterError, Outgoing, Timer,
};
use mesos_registrar::RegistryOperation;
use mesos_registrar::operations::AgentAtTime;

impl MasterCore {
    /// `RegisterSlaveMessage`: admit a new agent, or answer a retry from one already
    /// registered at the same pid.
    pub fn on_register_agent(
        &mut self,
        from: &Pid,
        message: internal::RegisterSlaveMessage,
        now: Time,
    ) -> Result<(), MasterError> {
        if let Some(agent_id) = self.agents_by_pid.get(from).cloned() {
            // A retry: the agent missed our answer.
            self.send_agent_registered(&agent_id, from);
            return Ok(());
        }
        if self.pending_pids.contains(from) {
            // A retry while its admission is being replicated: the answer comes then.
            return Ok(());
        }
        agent_total(&message.slave.resources, &message.checkpointed_resources)?;
        if self.refuse_if_down(&message.slave.hostname, from) {
            return Ok(());
        }
        let agent_id = AgentId::generate(&self.id_prefix, self.next_agent);
        self.next_agent += 1;
        let mut message = message;
        message.slave.id = Some((&agent_id).into());
        self.pending_pids.insert(from.clone());
        // Mesos: master.cpp registerSlave -> registrar->apply(AdmitSlave) -> _registerSlave.
        self.registry(
            RegistryOperation::AdmitAgent(message.slave.clone()),
            AfterRegistry::AgentAdmitted { pid: from.clone(), message: Box::new(message) },
        );
        let _ = now;
        Ok(())
    }

    /// The registry has the new agent: now it exists for the master.
    pub(crate) fn on_agent_admitted(
        &mut self,
        from: &Pid,
        message: internal::RegisterSlaveMessage,
        now: Time,
    ) {
        let Some(agent_id) = message.slave.id.as_ref().map(AgentId::from) else { return };
        let total = agent_total(&message.slave.resources, &message.checkpointed_resources)
            .unwrap_or_default();
        let version = message.version.unwrap_or_default();
        let agent = Agent::new(
            agent_id.clone(),
            from.clone(),
            message.slave,
            version,
            message.agent_capabilities,
            total.clone(),
            now,
            None,
        );
        let hostname = agent.info.hostname.clone();
        self.add_agent(agent);
        self.stats.slave_registrations += 1;
        tracing::info!(%agent_id, pid = %from, %hostname, "registered agent");
        self.send_agent_registered(&agent_id, from);
        self.allocator(AllocatorCall::AddAgent {
            agent_id: agent_id.clone(),
            hostname,
            total,
            used: Vec::new(),
        });
        self.on_agent_added_maintenance(&agent_id);
    }

    fn send_agent_registered(&mut self, agent_id: &AgentId, to: &Pid) {
        let message = internal::SlaveRegisteredMessage {
            slave_id: agent_id.into(),
            connection: Some(self.connection_info()),
        };
        self.send(to, Outgoing::SlaveRegistered(message));
    }

    /// Answers a re-registration and tells the agent where its frameworks' schedulers are.
    pub(super) fn send_agent_reregistered(&mut self, agent_id: &AgentId, to: &Pid) {
        let reply = internal::SlaveReregisteredMessage {
            slave_id: agent_id.into(),
            reconciliations: Vec::new(),
            connection: Some(self.connection_info()),
        };
        self.send(to, Outgoing::SlaveReregistered(reply));
        self.send_framework_pids_to_agent(agent_id);
        // Mesos: master.cpp `__reregisterSlave`: an agent without resource providers
        // gets the master's view of its checkpointed resources, in case an operation
        // reached the master but not the agent (a broken connection).
        if let Some(agent) = self.agents.get(agent_id) {
            let message = internal::CheckpointResourcesMessage {
                resources: agent.total.checkpointed().to_protos(),
            };
            self.send(to, Outgoing::CheckpointResources(message));
        }
    }

    fn connection_info(&self) -> internal::MasterSlaveConnection {
        let total = self.config.agent_ping_timeout * self.config.max_agent_ping_timeouts;
        internal::MasterSlaveConnection { total_ping_timeout_seconds: Some(total.as_secs_f64()) }
    }

    fn add_agent(&mut self, mut agent: Agent) {
        agent.ping_epoch = self.next_epoch();
        self.outbox.push(super::Output::Link(agent.pid.clone()));
        self.timer(
            self.config.agent_ping_timeout,
            Timer::AgentPing { agent_id: agent.id.clone(), epoch: agent.ping_epoch },
        );
        self.agents_by_pid.insert(agent.pid.clone(), agent.id.clone());
        self.event(super::MasterEvent::AgentAdded(agent.id.clone()));
        self.agents.insert(agent.id.clone(), agent);
    }

    /// `ReregisterSlaveMessage`: an agent we know (reconnecting), one we marked
    /// unreachable (coming back), or one we never saw (we failed over).
    pub fn on_reregister_agent(
        &mut self,
        from: &Pid,
        message: internal::ReregisterSlaveMessage,
        now: Time,
    ) -> Result<(), MasterError> {
        let Some(id) = message.slave.id.clone() else {
            return Err(MasterError::InvalidCall {
                reason: "re-registering agent has no id".into(),
            });
        };
        let agent_id = AgentId::from(id);
        if self.gone.contains_key(&agent_id) {
            // Mesos: master.cpp reregisterSlave refuses a gone agent and shuts it down.
            tracing::warn!(%agent_id, pid = %from, "refusing re-registration of a gone agent");
            let message = "Agent has been marked gone".to_string();
            let shutdown = internal::ShutdownMessage { message: Some(message) };
            self.send(from, Outgoing::Shutdown(shutdown));
            return Ok(());
        }
        if self.refuse_if_down(&message.slave.hostname, from) {
            return Ok(());
        }
        // Malformed resources are refused before anything changes.
        let total = agent_total(&message.slave.resources, &message.checkpointed_resources)?;
        validate_reported_frameworks(&message.frameworks)
            .map_err(|reason| MasterError::InvalidCall { reason })?;
        self.stats.slave_reregistrations += 1;
        if self.agents.contains_key(&agent_id) {
            self.reregister_known_agent(&agent_id, from, message, now);
        } else {
            if self.pending_pids.contains(from) {
                return Ok(());
            }
            // Mesos: master.cpp reregisterSlave -> registrar (MarkSlaveReachable) ->
            // __reregisterSlave. An agent recovered from the registry needs no change.
            let operation = if self.recovered_agents.contains_key(&agent_id) {
                None
            } else if self.unreachable.contains_key(&agent_id) {
                Some(RegistryOperation::MarkReachable(message.slave.clone()))
            } else {
                Some(RegistryOperation::AdmitAgent(message.slave.clone()))
            };
            let after = AfterRegistry::AgentReadmitted {
                pid: from.clone(),
                message: Box::new(message),
                total,
            };
            match operation {
                Some(operation) => {
                    self.pending_pids.insert(from.clone());
                    self.registry(operation, after);
                }
                None => self.on_registry_done(after, now),
            }
            return Ok(());
        }
        self.send_agent_reregistered(&agent_id, from);
        Ok(())
    }

    /// The registry has (again) a re-registering agent the master did not have: re-admit
    /// it with its tasks and answer.
    pub(crate) fn on_agent_readmitted(
        &mut self,
        from: &Pid,
        message: internal::ReregisterSlaveMessage,
        total: Resources,
        now: Time,
    ) {
        let Some(agent_id) = message.slave.id.as_ref().map(AgentId::from) else { return };
        self.recovered_agents.remove(&agent_id);
        let came_back = self.unreachable.remove(&agent_id).is_some();
        self.readmit_agent(agent_id.clone(), from, message, total, now, came_back);
        self.send_agent_reregistered(&agent_id, from);
    }

    /// A known agent re-registers (e.g. after its connection broke or it restarted).
    fn reregister_known_agent(
        &mut self,
        agent_id: &AgentId,
        from: &Pid,
        message: internal::ReregisterSlaveMessage,
        now: Time,
    ) {
        let Some(agent) = self.agents.get_mut(agent_id) else { return };
        let old_pid = std::mem::replace(&mut agent.pid, from.clone());
        agent.reregistered_time = Some(now);
        agent.version = message.version.clone().unwrap_or_default();
        agent.pings_missed = 0;
        agent.pong_received = true;
        let was_disconnected = agent.state == AgentState::Disconnected;
        agent.state = AgentState::Active;
        self.agents_by_pid.remove(&old_pid);
        self.agents_by_pid.insert(from.clone(), agent_id.clone());
        self.outbox.push(super::Output::Link(from.clone()));
        // A deactivated agent stays so (Mesos: master.cpp `___reregisterSlave`).
        if was_disconnected && !self.deactivated.contains(agent_id) {
            self.allocator(AllocatorCall::ActivateAgent { agent_id: agent_id.clone() });
        }
        // Tasks we think run there but the agent does not report are lost.
        // Mesos: master.cpp reconcileKnownSlave.
        let reported: HashSet<TaskId> =
            message.tasks.iter().map(|t| TaskId::from(&t.task_id)).collect();
        // Present: looked up at the top of this function; nothing since removes agents.
        let known: Vec<(FrameworkId, TaskId)> = self.agents[agent_id]
            .tasks
            .iter()
            .flat_map(|(fw, tasks)| tasks.iter().map(move |t| (fw.clone(), t.clone())))
            .collect();
        for (framework_id, task_id) in known {
            let pending_terminal = self
                .frameworks
                .get(&framework_id)
                .and_then(|f| f.tasks.get(&task_id))
                .is_some_and(|t| t.state().is_terminal());
            if !reported.contains(&task_id) && !pending_terminal {
                self.transition_task_by_master(
                    &framework_id,
                    &task_id,
                    mesos::TaskState::TaskLost,
                    task_status::Reason::Reconciliation,
                    "Task is unknown to the agent",
                    now,
                );
            }
        }
        self.on_agent_added_draining(agent_id, now);
        tracing::info!(%agent_id, pid = %from, "agent re-registered");
    }

    /// Re-admits an agent the master does not have registered: back from unreachable,
    /// or unknown after a master failover. Its tasks and executors come back with it.
    fn readmit_agent(
        &mut self,
        agent_id: AgentId,
        from: &Pid,
        message: internal::ReregisterSlaveMessage,
        total: Resources,
        now: Time,
        came_back: bool,
    ) {
        // The message is taken apart: its parts move into the master's state.
        let mut info = message.slave;
        info.id = Some((&agent_id).into());
        let version = message.version.unwrap_or_default();
        let capabilities = message.agent_capabilities;
        let mut agent = Agent::new(
            agent_id.clone(),
            from.clone(),
            info,
            version,
            capabilities,
            total.clone(),
            now,
            Some(now),
        );
        let hostname = agent.info.hostname.clone();
        // Sized for the frameworks it reports (most run tasks there): no rehash as
        // their tasks come.
        agent.tasks.reserve(message.frameworks.len());
        agent.used.reserve(message.frameworks.len());
        self.add_agent(agent);
        for framework in &message.frameworks {
            self.recover_framework(framework, now);
        }
        for executor in message.executor_infos {
            self.add_executor(&agent_id, executor);
        }
        let why = if came_back {
            "Unreachable agent re-reregistered"
        } else {
            "Unknown agent reregistered"
        };
        for task in message.tasks {
            let framework_id = task.framework_id.value.as_str();
            if self.completed_frameworks.iter().any(|f| f.id.as_str() == framework_id) {
                continue;
            }
            self.add_recovered_task(&agent_id, task, why, now);
        }
        // Present: `add_agent` inserted it above.
        let used: Vec<(FrameworkId, String, Resources)> = self.agents[&agent_id]
            .used
            .iter()
            .flat_map(|(fw, resources)| {
                let by_role = resources.allocations_unallocated().into_iter();
                by_role.map(move |(role, plain)| (fw.clone(), role, plain))
            })
            .collect();
        tracing::info!(%agent_id, pid = %from, came_back, "re-admitted agent");
        self.allocator(AllocatorCall::AddAgent {
            agent_id: agent_id.clone(),
            hostname,
            total,
            used,
        });
        self.on_agent_added_maintenance(&agent_id);
        self.on_agent_added_draining(&agent_id, now);
    }

    fn add_recovered_task(
        &mut self,
        agent_id: &AgentId,
        mut task: mesos::Task,
        why: &str,
        now: Time,
    ) {
        // Each task of a re-registering agent is moved, not copied, into the master's
        // state: only its id is copied (for the framework's and the agent's maps), and
        // its resources are summed where they lie (issue 18, FAIL-1: a new leader
        // re-admits every task of every agent at once).
        let task_id = TaskId::from(&task.task_id);
        let task_events = self.task_events;
        let Some(framework) = self.frameworks.get_mut(task.framework_id.value.as_str()) else {
            return;
        };
        if !framework.completed_tasks.is_empty() {
            framework.completed_tasks.retain(|t| t.task_id != task.task_id);
        }
        let framework_id = &framework.id;
        let role = framework.roles.iter().next().map_or("*", String::as_str);
        for resource in &mut task.resources {
            if resource.allocation_info.is_none() {
                resource.allocation_info =
                    Some(mesos::resource::AllocationInfo { role: Some(role.to_string()) });
            }
        }
        let state = task.state();
        if let Some(agent) = self.agents.get_mut(agent_id) {
            match agent.tasks.get_mut(framework_id) {
                Some(tasks) => {
                    tasks.insert(task_id.clone());
                }
                None => {
                    let mut tasks = IdSet::default();
                    tasks.insert(task_id.clone());
                    agent.tasks.insert(framework_id.clone(), tasks);
                }
            }
            // Invalid resources count for nothing, as before (the task is kept).
            if !state.is_terminal() {
                if let Some(used) = agent.used.get_mut(framework_id) {
                    let _ = used.add_protos(&task.resources);
                } else {
                    let mut used = Resources::new();
                    let _ = used.add_protos(&task.resources);
                    agent.used.insert(framework_id.clone(), used);
                }
            }
        }
        if task_events {
            self.outbox
                .push(super::Output::Event(super::MasterEvent::TaskAdded(Box::new(task.clone()))));
        }
        let active = framework.active();
        framework.tasks.insert(task_id.clone(), task);
        // Only a connected scheduler is told (a recovered framework has none yet): the
        // status is not even made for the others.
        if !active {
            return;
        }
        let framework_id = framework.id.clone();
        let status = self.master_status(
            &task_id,
            state,
            task_status::Reason::SlaveReregistered,
            why,
            Some(agent_id),
            now,
        );
        self.forward_update(&framework_id, agent_id, status, None, now);
    }

    pub(crate) fn add_executor(&mut self, agent_id: &AgentId, executor: mesos::ExecutorInfo) {
        let Some(framework_id) = executor.framework_id.as_ref().map(FrameworkId::from) else {
            return;
        };
        let executor_id = ExecutorId::from(&executor.executor_id);
        let resources = Resources::from_protos(executor.resources.clone()).unwrap_or_default();
        if let Some(agent) = self.agents.get_mut(agent_id) {
            let fresh = agent
                .executors
                .entry(framework_id.clone())
                .or_default()
                .insert(executor_id.clone(), executor.clone())
                .is_none();
            if fresh {
                *agent.used.entry(framework_id.clone()).or_default() += &resources;
            }
        }
        if let Some(framework) = self.frameworks.get_mut(&framework_id) {
            framework.executors.entry(agent_id.clone()).or_default().insert(executor_id, executor);
        }
    }

    /// Tells an agent where each of its frameworks' schedulers is.
    fn send_framework_pids_to_agent(&mut self, agent_id: &AgentId) {
        let Some(agent) = self.agents.get(agent_id) else { return };
        let to = agent.pid.clone();
        let updates: Vec<internal::UpdateFrameworkMessage> = agent
            .tasks
            .keys()
            .chain(agent.executors.keys())
            .collect::<HashSet<_>>()
            .into_iter()
            .filter_map(|fw| self.frameworks.get(fw))
            .filter_map(|f| {
                f.pid.as_ref().map(|pid| internal::UpdateFrameworkMessage {
                    framework_id: (&f.id).into(),
                    pid: Some(pid.to_string()),
                    framework_info: Some(f.info.clone()),
                })
            })
            .collect();
        for update in updates {
            self.send(&to, Outgoing::UpdateFramework(update));
        }
    }

    /// `UnregisterSlaveMessage`: the agent is shutting down for good.
    pub fn on_unregister_agent(
        &mut self,
        from: &Pid,
        message: internal::UnregisterSlaveMessage,
        now: Time,
    ) -> Result<(), MasterError> {
        let agent_id = AgentId::from(&message.slave_id);
        self.check_agent_owner(&agent_id, from)?;
        // Present: `check_agent_owner` answered `UnknownAgent` otherwise.
        let info = self.agents[&agent_id].info.clone();
        self.registry(RegistryOperation::RemoveAgent(info), AfterRegistry::Nothing);
        self.remove_agent(
            &agent_id,
            "Agent unregistered",
            task_status::Reason::SlaveRemoved,
            now,
            false,
        );
        Ok(())
    }

    pub(crate) fn check_agent_owner(
        &self,
        agent_id: &AgentId,
        from: &Pid,
    ) -> Result<(), MasterError> {
        match self.agents.get(agent_id) {
            None => Err(MasterError::UnknownAgent { agent_id: agent_id.to_string() }),
            Some(agent) if agent.pid != *from => Err(MasterError::NotAgentOwner {
                agent_id: agent_id.to_string(),
                from: from.to_string(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// `PongSlaveMessage`: the agent is alive.
    pub fn on_pong(&mut self, from: &Pid) {
        if let Some(agent_id) = self.agents_by_pid.get(from)
            && let Some(agent) = self.agents.get_mut(agent_id)
        {
            agent.pong_received = true;
            agent.pings_missed = 0;
        }
    }

    /// Ping period over: count a missed pong, mark the agent unreachable after too many,
    /// else ping again. Mesos: master.cpp `SlaveObserver::ping/timeout`.
    pub(crate) fn on_agent_ping_timeout(&mut self, agent_id: &AgentId, epoch: u64, now: Time) {
        let Some(agent) = self.agents.get_mut(agent_id) else { return };
        if agent.ping_epoch != epoch {
            return;
        }
        if !agent.pong_received {
            agent.pings_missed += 1;
        }
        if agent.pings_missed >= self.config.max_agent_ping_timeouts {
            tracing::warn!(%agent_id, missed = agent.pings_missed, "agent missed too many pings: unreachable");
            self.stats.slave_unreachable_scheduled += 1;
            self.mark_unreachable(agent_id, now);
            return;
        }
        agent.pong_received = false;
        let to = agent.pid.clone();
        let connected = agent.state == AgentState::Active;
        self.send(&to, Outgoing::PingSlave(internal::PingSlaveMessage { connected }));
        self.timer(
            self.config.agent_ping_timeout,
            Timer::AgentPing { agent_id: agent_id.clone(), epoch },
        );
    }

    /// The agent's connection broke: stop offering its resources and rescind its offers;
    /// keep its tasks and keep pinging (it may come back). Mesos: master.cpp `disconnect`.
    pub(crate) fn on_agent_disconnected(&mut self, agent_id: &AgentId) {
        let Some(agent) = self.agents.get_mut(agent_id) else { return };
        if agent.state == AgentState::Disconnected {
            return;
        }
        agent.state = AgentState::Disconnected;
        tracing::info!(%agent_id, "agent disconnected");
        self.allocator(AllocatorCall::DeactivateAgent { agent_id: agent_id.clone() });
        // Present: looked up at the top; the allocator call only queues an output.
        let offers: Vec<_> = self.agents[agent_id].offers.iter().cloned().collect();
        for offer_id in offers {
            self.rescind_offer(&offer_id, None);
        }
        self.rescind_inverse_offers_of_agent(agent_id);
    }

    /// Marks an agent unreachable: its tasks become TASK_UNREACHABLE (partition-aware
    /// frameworks) or TASK_LOST, its offers are rescinded, frameworks are told.
    pub(crate) fn mark_unreachable(&mut self, agent_id: &AgentId, now: Time) {
        let Some(agent) = self.agents.get_mut(agent_id) else { return };
        // Stop its ping chain; the registry decides what happens next.
        agent.ping_epoch = u64::MAX;
        let info = agent.info.clone();
        let operation = RegistryOperation::MarkUnreachable(AgentAtTime {
            info: Some(info),
            time: Some(time_info(now)),
        });
        self.registry(operation, AfterRegistry::AgentUnreachable { agent_id: agent_id.clone() });
    }

    /// The registry has the agent as unreachable: remove it and tell the frameworks.
    /// Mesos: master.cpp `_markUnreachable`.
    pub(crate) fn on_agent_marked_unreachable(&mut self, agent_id: &AgentId, now: Time) {
        let Some(agent) = self.agents.get(agent_id) else { return };
        let info = agent.info.clone();
        self.remove_agent(
            agent_id,
            "Agent is unreachable",
            task_status::Reason::SlaveRemoved,
            now,
            true,
        );
        if self.unreachable.len() >= MAX_UNREACHABLE_AGENTS
            && let Some(oldest) =
                self.unreachable.iter().min_by_key(|(_, u)| u.time).map(|(id, _)| id.clone())
        {
            self.unreachable.remove(&oldest);
        }
        self.unreachable.insert(agent_id.clone(), UnreachableAgent { info, time: now });
    }

    /// Removes an agent and everything on it. With `unreachable`, partition-aware
    /// frameworks see TASK_UNREACHABLE, others TASK_LOST (Mesos `_markUnreachable`);
    /// otherwise TASK_GONE/TASK_LOST (Mesos `removeSlave`).
    pub(crate) fn remove_agent(
        &mut self,
        agent_id: &AgentId,
        message: &str,
        reason: task_status::Reason,
        now: Time,
        unreachable: bool,
    ) {
        let offers: Vec<_> = self
            .agents
            .get(agent_id)
            .map(|a| a.offers.iter().cloned().collect())
            .unwrap_or_default();
        for offer_id in offers {
            self.rescind_offer(&offer_id, None);
        }
        self.remove_agent_operations(agent_id, unreachable);
        let Some(agent) = self.agents.remove(agent_id) else { return };
        self.agents_by_pid.remove(&agent.pid);
        self.event(super::MasterEvent::AgentRemoved(agent_id.clone()));
        self.stats.slave_removals += 1;
        self.allocator(AllocatorCall::RemoveAgent { agent_id: agent_id.clone() });
        self.remove_inverse_offers_of_agent(agent_id);
        let reason = if unreachable { task_status::Reason::SlaveRemoved } else { reason };
        for (framework_id, tasks) in &agent.tasks {
            let partition_aware =
                self.frameworks.get(framework_id).is_some_and(|f| f.partition_aware());
            for task_id in tasks {
                let by_operator = reason == task_status::Reason::SlaveRemovedByOperator;
                let state = match (unreachable, partition_aware) {
                    (false, true) if by_operator => mesos::TaskState::TaskGoneByOperator,
                    (true, true) => mesos::TaskState::TaskUnreachable,
                    (false, true) => mesos::TaskState::TaskGone,
                    (_, false) => mesos::TaskState::TaskLost,
                };
                self.transition_task_by_master(framework_id, task_id, state, reason, message, now);
                self.remove_task(framework_id, task_id);
            }
        }
        for framework_id in agent.executors.keys() {
            if let Some(framework) = self.frameworks.get_mut(framework_id) {
                framework.executors.remove(agent_id);
            }
        }
        let lost = internal::LostSlaveMessage { slave_id: agent_id.into() };
        let pids: Vec<Pid> = self.frameworks.values().filter_map(Framework::active_pid).collect();
        for pid in pids {
            self.send(&pid, Outgoing::LostSlave(lost.clone()));
        }
        tracing::info!(%agent_id, unreachable, "removed agent: {message}");
    }
}

/// The frameworks a re-registering agent reports: each with a valid id and valid roles,
/// no id twice. They become recovered frameworks and reach the allocator, whose sorters
/// assert valid paths, so a bad one refuses the whole re-registration before anything
/// changes (the agent retries; Mesos's master drops the message the same way).
///
/// Mesos: master/validation.cpp `master::message::reregisterSlave`.
fn validate_reported_frameworks(frameworks: &[mesos::FrameworkInfo]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for framework in frameworks {
        let Some(id) = framework.id.as_ref().filter(|id| !id.value.is_empty()) else {
            return Err("reported framework has no id".into());
        };
        super::frameworks::validate_framework_id_and_roles(framework)
            .map_err(|reason| format!("reported framework '{}': {reason}", id.value))?;
        if !seen.insert(id.value.as_str()) {
            return Err(format!("Framework has a duplicate FrameworkID: '{}'", id.value));
        }
    }
    Ok(())
}

/// An agent's total: its static resources with the checkpointed ones (dynamic
/// reservations, persistent volumes) it reported applied; refused if they do not fit.
/// Mesos: master.cpp `Slave::Slave` with `applyCheckpointedResources`.
fn agent_total(
    resources: &[mesos::Resource],
    checkpointed: &[mesos::Resource],
) -> Result<Resources, MasterError> {
    let invalid =
        |e: String| MasterError::InvalidCall { reason: format!("invalid agent resources: {e}") };
    let resources =
        Resources::from_protos(resources.iter().cloned()).map_err(|e| invalid(e.to_string()))?;
    // Most agents checkpoint nothing: then the total is the static resources, uncopied.
    if checkpointed.is_empty() {
        return Ok(resources);
    }
    let checkpointed =
        Resources::from_protos(checkpointed.iter().cloned()).map_err(|e| invalid(e.to_string()))?;
    resources.with_checkpointed(&checkpointed).map_err(invalid)
}
