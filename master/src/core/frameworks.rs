//! Frameworks: subscription (new, re-subscription, scheduler failover), disconnection
//! and failover timeout, deactivation, teardown.
//!
//! Mesos: master.cpp `subscribe`, `_subscribe`, `failoverFramework`, `exited`,
//! `deactivate`, `removeFramework`, `teardown`.

use std::collections::BTreeSet;
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::ids::{FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, scheduler, task_status};
use mesos_proto::resources::roles;

use super::registry::AfterRegistry;
use super::state::{Framework, FrameworkState};
use super::{
    AllocatorCall, MAX_COMPLETED_FRAMEWORKS, MasterCore, MasterError, Outgoing, Output, Timer,
};
use mesos_registrar::RegistryOperation;
use mesos_registrar::operations::FrameworkAtTime;
use mesos_security::Principal;

/// The roles a framework is subscribed to: `roles` with MULTI_ROLE, else `role`
/// (default `*`). Mesos: protobuf_utils.cpp `framework::getRoles`.
pub fn framework_roles(info: &mesos::FrameworkInfo) -> BTreeSet<String> {
    let multi_role = info
        .capabilities
        .iter()
        .any(|c| c.r#type() == mesos::framework_info::capability::Type::MultiRole);
    if multi_role {
        info.roles.iter().cloned().collect()
    } else {
        #[allow(deprecated)]
        let role = info.role.clone().unwrap_or_else(|| "*".to_string());
        BTreeSet::from([role])
    }
}

impl MasterCore {
    /// `mesos.scheduler.Call` from a libprocess scheduler (the v0 driver since Mesos 1.0).
    pub fn on_scheduler_call(
        &mut self,
        from: &Pid,
        call: scheduler::Call,
        now: Time,
    ) -> Result<(), MasterError> {
        use scheduler::call::Type;
        if call.r#type() == Type::Subscribe {
            let Some(subscribe) = call.subscribe else {
                return Err(MasterError::InvalidCall {
                    reason: "SUBSCRIBE without 'subscribe'".into(),
                });
            };
            return self.on_subscribe(
                from,
                subscribe,
                call.framework_id.map(FrameworkId::from),
                now,
            );
        }
        let framework_id = call.framework_id.as_ref().map(FrameworkId::from).ok_or_else(|| {
            MasterError::InvalidCall { reason: "call without 'framework_id'".into() }
        })?;
        self.check_framework_owner(&framework_id, from)?;
        match call.r#type() {
            Type::Teardown => {
                self.remove_framework(&framework_id, now);
                Ok(())
            }
            Type::Accept => self.on_accept(&framework_id, required(call.accept, "accept")?, now),
            Type::Decline => self.on_decline(&framework_id, required(call.decline, "decline")?),
            Type::Revive => {
                let roles = call.revive.map(|r| r.roles).unwrap_or_default();
                self.on_revive(&framework_id, roles)
            }
            Type::Suppress => {
                let roles = call.suppress.map(|s| s.roles).unwrap_or_default();
                self.on_suppress(&framework_id, roles)
            }
            Type::Kill => self.on_kill(&framework_id, required(call.kill, "kill")?, now),
            Type::Shutdown => {
                self.on_shutdown_executor(&framework_id, required(call.shutdown, "shutdown")?)
            }
            Type::Acknowledge => {
                self.on_acknowledge(&framework_id, required(call.acknowledge, "acknowledge")?, now)
            }
            Type::Reconcile => {
                self.on_reconcile(&framework_id, required(call.reconcile, "reconcile")?, now)
            }
            Type::Message => {
                self.on_framework_message(&framework_id, required(call.message, "message")?)
            }
            Type::Request => Ok(()),
            Type::AcceptInverseOffers => {
                let accept = required(call.accept_inverse_offers, "accept_inverse_offers")?;
                self.on_accept_inverse_offers(&framework_id, accept, now)
            }
            Type::DeclineInverseOffers => {
                let decline = required(call.decline_inverse_offers, "decline_inverse_offers")?;
                self.on_decline_inverse_offers(&framework_id, decline, now)
            }
            Type::UpdateFramework => {
                let update = required(call.update_framework, "update_framework")?;
                self.on_update_framework(
                    &framework_id,
                    update.framework_info,
                    update.suppressed_roles,
                )
            }
            Type::AcknowledgeOperationStatus => self.on_acknowledge_operation_status(
                &framework_id,
                required(call.acknowledge_operation_status, "acknowledge_operation_status")?,
                now,
            ),
            Type::ReconcileOperations => self.on_reconcile_operations(
                &framework_id,
                required(call.reconcile_operations, "reconcile_operations")?,
            ),
            // Returned from at the top of this function, before the framework id check.
            Type::Subscribe => unreachable!("handled above"),
            Type::Unknown => Err(MasterError::InvalidCall { reason: "unknown call type".into() }),
        }
    }

    pub(crate) fn check_framework_owner(
        &self,
        framework_id: &FrameworkId,
        from: &Pid,
    ) -> Result<(), MasterError> {
        match self.frameworks.get(framework_id) {
            None => Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() }),
            Some(framework) if framework.pid.as_ref() != Some(from) => {
                Err(MasterError::NotFrameworkOwner {
                    framework_id: framework_id.to_string(),
                    from: from.to_string(),
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// SUBSCRIBE: register a new framework, or re-subscribe a known one (a reconnect,
    /// a scheduler failover, or its first contact with a newly elected master).
    pub fn on_subscribe(
        &mut self,
        from: &Pid,
        subscribe: scheduler::call::Subscribe,
        call_framework_id: Option<FrameworkId>,
        now: Time,
    ) -> Result<(), MasterError> {
        let mut info = subscribe.framework_info;
        validate_framework_info(&info)?;
        self.check_roles_allowed(&info)?;
        self.authorize_subscribe(from, &info)?;
        let info_id = info.id.as_ref().map(FrameworkId::from).filter(|id| !id.as_str().is_empty());
        if call_framework_id.is_some() && info_id.is_some() && call_framework_id != info_id {
            return Err(MasterError::InvalidCall {
                reason: "'framework_id' differs from 'framework_info.id'".into(),
            });
        }
        let suppressed: BTreeSet<String> = subscribe.suppressed_roles.into_iter().collect();
        let Some(framework_id) = info_id.or(call_framework_id) else {
            // A new framework. Mesos: master.cpp `_subscribe` (new framework path).
            if let Some(existing) = self.frameworks_by_pid.get(from).cloned() {
                // A retry of a registration we already answered.
                self.send_registered(&existing, from, false);
                return Ok(());
            }
            if self.pending_pids.contains(from) {
                // A retry while the registration is being replicated.
                return Ok(());
            }
            let framework_id = FrameworkId::generate(&self.id_prefix, self.next_framework);
            self.next_framework += 1;
            info.id = Some((&framework_id).into());
            tracing::debug!(target: crate::TIMELINE, %framework_id, "SUBSCRIBE received: registry write submitted");
            self.register_framework_in_registry(from, info, suppressed, false, now);
            return Ok(());
        };
        // The call's id is checked here (the one in `framework_info` was, above): an
        // empty or `/`-holding id taken at its word would reach the allocator's sorter.
        framework_id.validate().map_err(|e| MasterError::InvalidCall {
            reason: format!("invalid framework id: {e}"),
        })?;
        if self.completed_framework_ids.contains(&framework_id)
            || self.completed_frameworks.iter().any(|f| f.id == framework_id)
        {
            let error =
                internal::FrameworkErrorMessage { message: "Framework has been removed".into() };
            self.send(from, Outgoing::FrameworkError(error));
            return Err(MasterError::FrameworkRemoved { framework_id: framework_id.to_string() });
        }
        info.id = Some((&framework_id).into());
        if let Some(known) = self.frameworks.get(&framework_id)
            && known.info.principal != info.principal
        {
            // Re-subscribing under another principal would escape the ACLs that protect
            // the framework (teardown_frameworks names its principal).
            // Mesos: master/validation.cpp `framework::validateUpdate`.
            tracing::warn!(%framework_id, old = ?known.info.principal, new = ?info.principal, "framework tried to change its principal");
            let reason = "Changing framework's principal is not allowed.".to_string();
            let error = internal::FrameworkErrorMessage { message: reason.clone() };
            self.send(from, Outgoing::FrameworkError(error));
            return Err(MasterError::InvalidCall { reason });
        }
        if self.frameworks.contains_key(&framework_id) {
            self.resubscribe(
                &framework_id,
                info,
                from,
                suppressed,
                subscribe.force.unwrap_or(false),
                now,
            );
        } else if !self.pending_pids.contains(from) {
            // Unknown to this master and its registry: take the scheduler at its word.
            self.register_framework_in_registry(from, info, suppressed, true, now);
        }
        Ok(())
    }

    fn register_framework_in_registry(
        &mut self,
        from: &Pid,
        info: mesos::FrameworkInfo,
        suppressed: BTreeSet<String>,
        reregistered: bool,
        now: Time,
    ) {
        self.pending_pids.insert(from.clone());
        let operation = RegistryOperation::RegisterFramework(FrameworkAtTime {
            info: Some(info.clone()),
            time: Some(super::registry::time_info(now)),
        });
        let after = AfterRegistry::FrameworkRegistered {
            pid: from.clone(),
            info: Box::new(info),
            suppressed,
            reregistered,
        };
        self.registry(operation, after);
    }

    /// The registry has the framework: now it exists for the master.
    pub(crate) fn on_framework_registered(
        &mut self,
        from: &Pid,
        info: mesos::FrameworkInfo,
        suppressed: BTreeSet<String>,
        reregistered: bool,
        now: Time,
    ) {
        let Some(framework_id) = info.id.as_ref().map(FrameworkId::from) else { return };
        if self.frameworks.contains_key(&framework_id) {
            return;
        }
        tracing::debug!(target: crate::TIMELINE, %framework_id, "registry write committed: SUBSCRIBED sent, framework added to the allocator");
        self.add_framework(framework_id.clone(), info, from.clone(), suppressed, now);
        self.send_registered(&framework_id, from, reregistered);
    }

    fn add_framework(
        &mut self,
        id: FrameworkId,
        info: mesos::FrameworkInfo,
        pid: Pid,
        suppressed: BTreeSet<String>,
        now: Time,
    ) {
        tracing::info!(framework_id = %id, name = %info.name, %pid, "framework subscribed");
        let framework = Framework::new(
            id.clone(),
            info.clone(),
            Some(pid.clone()),
            FrameworkState::Active,
            suppressed.clone(),
            now,
        );
        self.frameworks.insert(id.clone(), framework);
        self.frameworks_by_pid.insert(pid.clone(), id.clone());
        self.event(super::MasterEvent::FrameworkAdded(id.clone()));
        self.outbox.push(Output::Link(pid));
        self.allocator(AllocatorCall::AddFramework {
            framework_id: id,
            info: Box::new(info),
            suppressed_roles: suppressed.into_iter().collect(),
            active: true,
        });
    }

    fn resubscribe(
        &mut self,
        framework_id: &FrameworkId,
        info: mesos::FrameworkInfo,
        from: &Pid,
        suppressed: BTreeSet<String>,
        force: bool,
        now: Time,
    ) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let old_pid = framework.pid.clone();
        let was_active = framework.state == FrameworkState::Active;
        if let Some(old) = &old_pid
            && old != from
        {
            if !force && was_active {
                // Mesos refuses a second scheduler unless it forces a failover.
                let error = internal::FrameworkErrorMessage {
                    message:
                        "Framework failed over without 'force'; another scheduler is connected"
                            .into(),
                };
                self.send(from, Outgoing::FrameworkError(error));
                return;
            }
            let error = internal::FrameworkErrorMessage { message: "Framework failed over".into() };
            self.send(old, Outgoing::FrameworkError(error));
            self.frameworks_by_pid.remove(old);
        }
        // Present: the `let else` at the top returned if not, and nothing since removes
        // frameworks (only `frameworks_by_pid` and the outbox changed).
        let framework = self.frameworks.get_mut(framework_id).expect("checked above");
        framework.info = info.clone();
        framework.roles = framework_roles(&info);
        framework.suppressed_roles = suppressed.clone();
        framework.pid = Some(from.clone());
        framework.reregistered_time = Some(now);
        framework.unregistered_time = None;
        framework.failover_epoch += 1; // cancels a pending failover timeout
        framework.state = FrameworkState::Active;
        self.frameworks_by_pid.insert(from.clone(), framework_id.clone());
        self.outbox.push(Output::Link(from.clone()));
        // Offers made to the previous scheduler are void. (Indexing: present, above.)
        let offers: Vec<_> = self.frameworks[framework_id].offers.iter().cloned().collect();
        for offer_id in offers {
            self.rescind_offer(&offer_id, None);
        }
        self.remove_inverse_offers_of_framework(framework_id, true);
        self.allocator(AllocatorCall::UpdateFramework {
            framework_id: framework_id.clone(),
            info: Box::new(info),
            suppressed_roles: suppressed.into_iter().collect(),
        });
        if !was_active {
            self.allocator(AllocatorCall::ActivateFramework { framework_id: framework_id.clone() });
        }
        self.send_registered(framework_id, from, true);
        self.event(super::MasterEvent::FrameworkUpdated(framework_id.clone()));
        self.tell_agents_framework_pid(framework_id);
        tracing::info!(%framework_id, pid = %from, "framework re-subscribed");
    }

    fn send_registered(&mut self, framework_id: &FrameworkId, to: &Pid, reregistered: bool) {
        let master_info = self.info.clone();
        let message = if reregistered {
            Outgoing::FrameworkReregistered(internal::FrameworkReregisteredMessage {
                framework_id: framework_id.into(),
                master_info,
            })
        } else {
            Outgoing::FrameworkRegistered(internal::FrameworkRegisteredMessage {
                framework_id: framework_id.into(),
                master_info,
            })
        };
        self.send(to, message);
    }

    fn tell_agents_framework_pid(&mut self, framework_id: &FrameworkId) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let message = internal::UpdateFrameworkMessage {
            framework_id: framework_id.into(),
            pid: framework.pid.as_ref().map(Pid::to_string),
            framework_info: Some(framework.info.clone()),
        };
        for pid in self.agents_running(framework_id) {
            self.send(&pid, Outgoing::UpdateFramework(message.clone()));
        }
    }

    /// Pids of the agents where `framework_id` has tasks or executors.
    fn agents_running(&self, framework_id: &FrameworkId) -> Vec<Pid> {
        self.agents
            .values()
            .filter(|a| {
                a.tasks.contains_key(framework_id) || a.executors.contains_key(framework_id)
            })
            .map(|a| a.pid.clone())
            .collect()
    }

    /// UPDATE_FRAMEWORK: new roles, capabilities or suppressed roles for a subscribed
    /// framework.
    fn on_update_framework(
        &mut self,
        framework_id: &FrameworkId,
        info: mesos::FrameworkInfo,
        suppressed: Vec<String>,
    ) -> Result<(), MasterError> {
        validate_framework_info(&info)?;
        self.check_roles_allowed(&info)?;
        if info.id.as_ref().map(FrameworkId::from).as_ref() != Some(framework_id) {
            return Err(MasterError::InvalidCall {
                reason: "'framework_info.id' must be the framework's id".into(),
            });
        }
        let Some(framework) = self.frameworks.get_mut(framework_id) else {
            return Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() });
        };
        if framework.info.principal != info.principal {
            // Mesos: master/validation.cpp `framework::validateUpdate`.
            return Err(MasterError::InvalidCall {
                reason: "Changing framework's principal is not allowed.".into(),
            });
        }
        framework.roles = framework_roles(&info);
        framework.info = info.clone();
        framework.suppressed_roles = suppressed.iter().cloned().collect();
        self.event(super::MasterEvent::FrameworkUpdated(framework_id.clone()));
        self.allocator(AllocatorCall::UpdateFramework {
            framework_id: framework_id.clone(),
            info: Box::new(info),
            suppressed_roles: suppressed,
        });
        Ok(())
    }

    /// With `--roles`, frameworks may only use the listed roles (Mesos: the deprecated
    /// role whitelist).
    fn check_roles_allowed(&self, info: &mesos::FrameworkInfo) -> Result<(), MasterError> {
        let Some(allowed) = &self.config.roles else { return Ok(()) };
        match framework_roles(info).into_iter().find(|role| !allowed.contains(role)) {
            Some(role) => Err(MasterError::InvalidCall {
                reason: format!("role '{role}' is not present in the master's --roles"),
            }),
            None => Ok(()),
        }
    }

    /// `DeactivateFrameworkMessage`: the scheduler stopped with `failover = true`.
    pub fn on_deactivate_framework(
        &mut self,
        from: &Pid,
        framework_id: &FrameworkId,
        now: Time,
    ) -> Result<(), MasterError> {
        self.check_framework_owner(framework_id, from)?;
        self.deactivate_framework(framework_id, now);
        Ok(())
    }

    /// The scheduler's connection broke: deactivate it and start its failover timeout.
    pub(crate) fn on_framework_disconnected(&mut self, framework_id: &FrameworkId, now: Time) {
        tracing::info!(%framework_id, "framework disconnected");
        self.deactivate_framework(framework_id, now);
    }

    fn deactivate_framework(&mut self, framework_id: &FrameworkId, now: Time) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        if framework.state != FrameworkState::Active {
            return;
        }
        framework.state = FrameworkState::Inactive;
        framework.unregistered_time = Some(now);
        framework.failover_epoch += 1;
        let epoch = framework.failover_epoch;
        let timeout =
            Duration::try_from_secs_f64(framework.info.failover_timeout.unwrap_or(0.0).max(0.0))
                .unwrap_or(Duration::MAX);
        if let Some(pid) = framework.pid.clone() {
            self.frameworks_by_pid.remove(&pid);
        }
        self.allocator(AllocatorCall::DeactivateFramework { framework_id: framework_id.clone() });
        self.event(super::MasterEvent::FrameworkUpdated(framework_id.clone()));
        // Present: looked up at the top; the allocator call and event only queue outputs.
        let offers: Vec<_> = self.frameworks[framework_id].offers.iter().cloned().collect();
        for offer_id in offers {
            self.rescind_offer(&offer_id, None);
        }
        self.remove_inverse_offers_of_framework(framework_id, true);
        self.timer(timeout, Timer::FrameworkFailover { framework_id: framework_id.clone(), epoch });
    }

    pub(crate) fn on_framework_failover_timeout(
        &mut self,
        framework_id: &FrameworkId,
        epoch: u64,
        now: Time,
    ) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        if framework.failover_epoch != epoch || framework.state == FrameworkState::Active {
            return;
        }
        tracing::info!(%framework_id, "framework failover timeout: removing it");
        self.remove_framework(framework_id, now);
    }

    /// Creates an inactive framework from an agent's report (master failover), to be
    /// claimed when its scheduler re-subscribes.
    pub(crate) fn recover_framework(&mut self, info: &mesos::FrameworkInfo, now: Time) {
        let Some(id) = info.id.as_ref().map(FrameworkId::from) else { return };
        if self.frameworks.contains_key(&id)
            || self.completed_framework_ids.contains(&id)
            || self.completed_frameworks.iter().any(|f| f.id == id)
        {
            return;
        }
        let framework = Framework::new(
            id.clone(),
            info.clone(),
            None,
            FrameworkState::Recovered,
            BTreeSet::new(),
            now,
        );
        self.frameworks.insert(id.clone(), framework);
        self.event(super::MasterEvent::FrameworkAdded(id.clone()));
        self.allocator(AllocatorCall::AddFramework {
            framework_id: id,
            info: Box::new(info.clone()),
            suppressed_roles: Vec::new(),
            active: false,
        });
    }

    /// `POST /master/teardown` and TEARDOWN by `principal` (`None`: unauthenticated):
    /// remove a framework and kill its tasks, if the `teardown_frameworks` ACLs let
    /// `principal` tear down frameworks of the framework's principal; refused, nothing
    /// changes. Mesos: master/http.cpp `Master::Http::_teardown`.
    pub fn teardown(
        &mut self,
        principal: Option<&Principal>,
        framework_id: &FrameworkId,
        now: Time,
    ) -> Result<(), MasterError> {
        self.authorize_teardown(principal, framework_id)?;
        self.remove_framework(framework_id, now);
        Ok(())
    }

    /// Removes a framework: rescind its offers, shut it down on every agent, mark its
    /// tasks killed, keep it among the completed frameworks. Mesos: `removeFramework`.
    pub(crate) fn remove_framework(&mut self, framework_id: &FrameworkId, now: Time) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let offers: Vec<_> = framework.offers.iter().cloned().collect();
        for offer_id in offers {
            self.rescind_offer(&offer_id, None);
        }
        self.remove_inverse_offers_of_framework(framework_id, false);
        let shutdown = internal::ShutdownFrameworkMessage { framework_id: framework_id.into() };
        for pid in self.agents_running(framework_id) {
            self.send(&pid, Outgoing::ShutdownFramework(shutdown.clone()));
        }
        // Present: looked up at the top; rescinding offers and sending shutdowns do not
        // remove frameworks.
        let task_ids: Vec<TaskId> = self.frameworks[framework_id].tasks.keys().cloned().collect();
        for task_id in task_ids {
            let state = self.frameworks[framework_id].tasks[&task_id].state();
            if !state.is_terminal() {
                self.update_task_state(
                    framework_id,
                    &task_id,
                    mesos::TaskState::TaskKilled,
                    now,
                    Some(task_status::Reason::FrameworkRemoved),
                    "Framework removed",
                );
            }
            self.remove_task(framework_id, &task_id);
        }
        // Only the agents that hold something of it: the others stay shared with snapshots.
        let holds = |agent: &super::state::Agent| {
            agent.executors.contains_key(framework_id)
                || agent.tasks.contains_key(framework_id)
                || agent.used.contains_key(framework_id)
        };
        for agent in self.agents.values_mut_where(holds) {
            agent.executors.remove(framework_id);
            agent.tasks.remove(framework_id);
            agent.used.remove(framework_id);
        }
        let Some(mut framework) = self.frameworks.remove(framework_id) else { return };
        self.registry(
            RegistryOperation::RemoveFramework(framework_id.into()),
            AfterRegistry::Nothing,
        );
        self.completed_framework_ids.insert(framework_id.clone());
        if let Some(pid) = &framework.pid
            && self.frameworks_by_pid.get(pid) == Some(framework_id)
        {
            self.frameworks_by_pid.remove(pid);
        }
        framework.state = FrameworkState::Inactive;
        framework.unregistered_time = Some(now);
        framework.executors.clear();
        self.allocator(AllocatorCall::RemoveFramework { framework_id: framework_id.clone() });
        self.event(super::MasterEvent::FrameworkRemoved(Box::new(framework.info.clone())));
        self.stats.frameworks_removed += 1;
        self.completed_frameworks.push_back(std::sync::Arc::new(framework));
        while self.completed_frameworks.len() > MAX_COMPLETED_FRAMEWORKS {
            self.completed_frameworks.pop_front();
        }
        tracing::info!(%framework_id, "framework removed");
    }
}

fn required<T>(field: Option<T>, name: &str) -> Result<T, MasterError> {
    field.ok_or_else(|| MasterError::InvalidCall { reason: format!("missing '{name}'") })
}

/// The framework's id (when set) and roles by Mesos's rules, for SUBSCRIBE and for the
/// frameworks an agent reports when it re-registers. The id names the framework's leaf
/// in the allocator's role sorters (and its folders on agents), whose paths must not
/// be empty nor hold a `/`, `.` or `..`: the sorter asserts that, so a bad id must stop
/// here, before the allocator sees it.
///
/// Mesos: master/validation.cpp `framework::internal::validateFrameworkId`,
/// `validateRoles`.
pub(crate) fn validate_framework_id_and_roles(info: &mesos::FrameworkInfo) -> Result<(), String> {
    // Read in place, with no copy of the id or the roles: every re-registering agent
    // has each of its frameworks checked here (issue 18, FAIL-1).
    if let Some(id) = info.id.as_ref().filter(|id| !id.value.is_empty()) {
        mesos_proto::ids::validate_id("framework id", &id.value).map_err(|e| e.to_string())?;
    }
    let multi_role = info
        .capabilities
        .iter()
        .any(|c| c.r#type() == mesos::framework_info::capability::Type::MultiRole);
    if multi_role {
        for role in &info.roles {
            roles::validate(role)?;
        }
    } else {
        #[allow(deprecated)]
        let role = info.role.as_deref().unwrap_or("*");
        roles::validate(role)?;
    }
    Ok(())
}

/// Mesos: master/validation.cpp `framework::validate`.
fn validate_framework_info(info: &mesos::FrameworkInfo) -> Result<(), MasterError> {
    let invalid = |reason: String| Err(MasterError::InvalidCall { reason });
    if info.name.is_empty() {
        return invalid("'framework_info.name' must not be empty".into());
    }
    let multi_role = info
        .capabilities
        .iter()
        .any(|c| c.r#type() == mesos::framework_info::capability::Type::MultiRole);
    #[allow(deprecated)]
    if multi_role && info.role.is_some() {
        return invalid("'role' must not be set for MULTI_ROLE frameworks; use 'roles'".into());
    }
    if !multi_role && !info.roles.is_empty() {
        return invalid("'roles' requires the MULTI_ROLE capability".into());
    }
    if let Err(reason) = validate_framework_id_and_roles(info) {
        return invalid(reason);
    }
    if let Some(timeout) = info.failover_timeout
        && !(timeout.is_finite() && timeout >= 0.0)
    {
        return invalid(format!("invalid failover_timeout {timeout}"));
    }
    Ok(())
}
