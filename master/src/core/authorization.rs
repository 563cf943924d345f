//! Authorization at the master's entry points: the `--acls` checks of SUBSCRIBE,
//! LAUNCH, TEARDOWN and the operations on reservations and volumes, and who a
//! framework acts as.
//!
//! The decision itself is `mesos_security::Authorizer` (Mesos's local authorizer); this
//! module builds each request (subject, action, object) the way Mesos's master does and
//! turns a denial into Mesos's answer. The read-only views are filtered at the HTTP
//! layer (`crate::http::visibility`).
//!
//! Mesos: master.cpp `checkSubscribeAuthorization`, `accept` (the LAUNCH case),
//! master/http.cpp `_teardown`, master/authorization.cpp (the request objects).

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, FrameworkId, TaskId};
use mesos_proto::mesos::{self, internal, task_status};
use mesos_security::{Action, Principal};

use super::frameworks::framework_roles;
use super::{MasterCore, MasterError, Outgoing};

/// The principal a framework acts as, `FrameworkInfo.principal` (`None`: it gave none
/// and is treated as unauthenticated). Authentication, where it is on, makes sure the
/// field is the principal that authenticated. Mesos: master.cpp, every
/// `framework->info.has_principal() ? ... : None()`.
pub fn framework_principal(info: &mesos::FrameworkInfo) -> Option<Principal> {
    info.principal.clone().map(Principal)
}

/// The OS user a task runs as: its command's `user`, else its executor's, else the
/// framework's. The `run_tasks` ACLs are checked against it and `Task.user` records it.
/// Mesos: authorizer.cpp (RUN_TASK object), protobuf_utils.cpp `createTask`.
pub fn run_task_user(task: &mesos::TaskInfo, framework: &mesos::FrameworkInfo) -> String {
    let command_user = |command: Option<&mesos::CommandInfo>| command.and_then(|c| c.user.clone());
    command_user(task.command.as_ref())
        .or_else(|| command_user(task.executor.as_ref().and_then(|e| e.command.as_ref())))
        .unwrap_or_else(|| framework.user.clone())
}

impl MasterCore {
    /// Whether the ACLs let `principal` (`None`: unauthenticated) perform `action`;
    /// always true without `--acls`.
    pub fn authorized(&self, principal: Option<&Principal>, action: Action<'_>) -> bool {
        self.config.authorizer.as_ref().is_none_or(|a| a.authorize(principal, action))
    }

    /// The `register_frameworks` ACLs must let the framework's principal use every one
    /// of its roles; if not, the scheduler gets a `FrameworkErrorMessage` (an ERROR
    /// event on a v1 stream, which then closes) saying so, and nothing is registered.
    /// Mesos: master.cpp `checkSubscribeAuthorization`, `_subscribe`.
    pub(super) fn authorize_subscribe(
        &mut self,
        from: &Pid,
        info: &mesos::FrameworkInfo,
    ) -> Result<(), MasterError> {
        let roles: Vec<String> = framework_roles(info).into_iter().collect();
        let principal = framework_principal(info);
        if self.authorized(principal.as_ref(), Action::RegisterFramework { roles: &roles }) {
            return Ok(());
        }
        let id = info.id.as_ref().map(|id| id.value.as_str()).unwrap_or("");
        let message = format!(
            "Not authorized to register framework {id} with roles {{ {} }}",
            roles.join(", ")
        );
        tracing::info!(framework = %info.name, %from, %message, "refusing subscription");
        let error = internal::FrameworkErrorMessage { message: message.clone() };
        self.send(from, Outgoing::FrameworkError(error));
        Err(MasterError::Unauthorized { message })
    }

    /// The `run_tasks` ACLs must let the framework's principal run `task` as its user;
    /// if not, the task gets TASK_ERROR (`REASON_TASK_UNAUTHORIZED`) and is not
    /// launched. Mesos: master.cpp `accept`, the LAUNCH case.
    pub(super) fn authorize_launch(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        task: &mesos::TaskInfo,
        now: Time,
    ) -> bool {
        let Some(framework) = self.frameworks.get(framework_id) else { return false };
        let user = run_task_user(task, &framework.info);
        let principal = framework_principal(&framework.info);
        if self.authorized(principal.as_ref(), Action::RunTask { user: &user }) {
            return true;
        }
        let task_id = TaskId::from(&task.task_id);
        let message = format!(
            "Not authorized to launch task {task_id} of framework {framework_id} under user '{user}'"
        );
        tracing::info!(%framework_id, %task_id, %user, "task not authorized");
        self.stats.tasks_error += 1;
        let status = self.master_status(
            &task_id,
            mesos::TaskState::TaskError,
            task_status::Reason::TaskUnauthorized,
            &message,
            Some(agent_id),
            now,
        );
        self.forward_update(framework_id, agent_id, status, None, now);
        false
    }

    /// The ACLs of an operation on reservations or volumes: `reserve_resources` and
    /// `create_volumes` by the role of each reservation (volume), `unreserve_resources`
    /// and `destroy_volumes` by the principal that reserved (created) each one (`""`
    /// when none), `resize_volumes` by the role of the volume grown or shrunk.
    ///
    /// Mesos: master.cpp `authorizeReserveResources`, `authorizeUnreserveResources`,
    /// `authorizeCreateVolume`, `authorizeDestroyVolume`; master/authorization.cpp
    /// `ActionObject::growVolume`, `shrinkVolume` (`RESIZE_VOLUME`).
    pub(super) fn authorize_operation(
        &self,
        principal: Option<&Principal>,
        operation: &mesos::offer::Operation,
    ) -> Result<(), String> {
        use mesos::offer::operation::Type;
        use mesos_proto::resources::resource::reservation_role;
        let denied = |what: &str| Err(format!("Not authorized to {what}"));
        match operation.r#type() {
            Type::Reserve if operation.reserve.as_ref().is_some_and(|r| !r.source.is_empty()) => {
                return self.authorize_reservation_update(principal, operation);
            }
            Type::Reserve => {
                for r in operation.reserve.iter().flat_map(|o| o.resources.iter()) {
                    let role = reservation_role(r).unwrap_or("*");
                    if !self.authorized(principal, Action::ReserveResources { role }) {
                        return denied(&format!("reserve resources for role '{role}'"));
                    }
                }
            }
            Type::Unreserve => {
                for r in operation.unreserve.iter().flat_map(|o| o.resources.iter()) {
                    let by = r.reservations.last().and_then(|r| r.principal.as_deref());
                    let action =
                        Action::UnreserveResources { reserver_principal: by.unwrap_or("") };
                    if !self.authorized(principal, action) {
                        return denied("unreserve resources");
                    }
                }
            }
            Type::Create => {
                for r in operation.create.iter().flat_map(|o| o.volumes.iter()) {
                    let role = reservation_role(r).unwrap_or("*");
                    if !self.authorized(principal, Action::CreateVolume { role }) {
                        return denied(&format!("create persistent volumes for role '{role}'"));
                    }
                }
            }
            Type::Destroy => {
                for r in operation.destroy.iter().flat_map(|o| o.volumes.iter()) {
                    let by = r
                        .disk
                        .as_ref()
                        .and_then(|d| d.persistence.as_ref())
                        .and_then(|p| p.principal.as_deref());
                    let action = Action::DestroyVolume { creator_principal: by.unwrap_or("") };
                    if !self.authorized(principal, action) {
                        return denied("destroy persistent volumes");
                    }
                }
            }
            Type::GrowVolume | Type::ShrinkVolume => {
                let volume = match operation.r#type() {
                    Type::GrowVolume => operation.grow_volume.as_ref().map(|g| &g.volume),
                    _ => operation.shrink_volume.as_ref().map(|s| &s.volume),
                };
                // Validation (run first) refused an operation without its volume.
                if let Some(volume) = volume {
                    let role = reservation_role(volume).unwrap_or("*");
                    if !self.authorized(principal, Action::ResizeVolume { role }) {
                        return denied(&format!("resize persistent volumes for role '{role}'"));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A reservation update (RESERVE with `source`): `unreserve_resources` for each
    /// reservation popped from `source` down to the stack it shares with the target,
    /// then `reserve_resources` for each role pushed from there up to the target.
    /// Validation made every resource of each side carry the same stack.
    /// Mesos: authorization.cpp `ActionObject::reserve` (with `source`).
    fn authorize_reservation_update(
        &self,
        principal: Option<&Principal>,
        operation: &mesos::offer::Operation,
    ) -> Result<(), String> {
        let Some(reserve) = operation.reserve.as_ref() else { return Ok(()) };
        let empty = Vec::new();
        let from = reserve.source.first().map_or(&empty, |r| &r.reservations);
        let to = reserve.resources.first().map_or(&empty, |r| &r.reservations);
        let shared = from.iter().zip(to.iter()).take_while(|(a, b)| a == b).count();
        for popped in from[shared..].iter().rev() {
            let by = popped.principal.as_deref().unwrap_or("");
            if !self.authorized(principal, Action::UnreserveResources { reserver_principal: by }) {
                return Err("Not authorized to unreserve resources".into());
            }
        }
        for pushed in &to[shared..] {
            let role = pushed.role.as_deref().unwrap_or("*");
            if !self.authorized(principal, Action::ReserveResources { role }) {
                return Err(format!("Not authorized to reserve resources for role '{role}'"));
            }
        }
        Ok(())
    }

    /// The `teardown_frameworks` ACLs must let `principal` tear down frameworks of this
    /// framework's principal (`""` when it has none, as in Mesos). Mesos: master/http.cpp
    /// `Master::Http::_teardown` (403 when denied).
    pub(super) fn authorize_teardown(
        &self,
        principal: Option<&Principal>,
        framework_id: &FrameworkId,
    ) -> Result<(), MasterError> {
        let Some(framework) = self.frameworks.get(framework_id) else {
            return Err(MasterError::UnknownFramework { framework_id: framework_id.to_string() });
        };
        let framework_principal = framework.info.principal.clone().unwrap_or_default();
        let action = Action::TeardownFramework { framework_principal: &framework_principal };
        if self.authorized(principal, action) {
            Ok(())
        } else {
            Err(MasterError::Unauthorized {
                message: format!("Not authorized to teardown framework {framework_id}"),
            })
        }
    }
}
