//! What a caller may see and read on the agent: the `view_frameworks`,
//! `view_executors`, `view_tasks`, `view_flags` and `access_sandboxes` ACLs.
//!
//! Mesos filters inside each writer of slave/http.cpp (`Http::state`, `getFrameworks`,
//! `getExecutors`, `getTasks`: every framework, executor and task passes the caller's
//! `ObjectApprovers`) and guards each sandbox that files.cpp serves with
//! `authorizeSandboxAccess` (slave.cpp). Here one [`Viewer`] per request answers the
//! same questions for `/state`, `/state.json` and the operator API's `GET_STATE`,
//! `GET_FRAMEWORKS`, `GET_EXECUTORS` and `GET_TASKS`, the same way the master's
//! `visibility.rs` does:
//!
//! 1. A framework is shown if `view_frameworks` allows its `FrameworkInfo.user`; a
//!    hidden framework takes its executors and tasks with it.
//! 2. An executor is shown if `view_executors` allows its `command.user`, else the
//!    framework's user; a hidden executor takes its tasks with it.
//! 3. A task is shown if `view_tasks` allows its user (`Task.user`, or for a queued
//!    `TaskInfo` its `command.user`), else the framework's.
//! 4. `/state` leaves the flags out unless `view_flags` allows the caller.
//! 5. A `/files/*` path inside an executor's sandbox is served if `access_sandboxes`
//!    allows that executor's user (as in 2). A path inside no known executor's sandbox
//!    (the folders above them, a sandbox the agent has forgotten) is refused whenever
//!    the ACLs could refuse any sandbox (non-permissive, or `access_sandboxes` rules).
//!
//! Without `--acls` every check passes and nothing is copied.

use std::collections::HashMap;
use std::sync::Arc;

use libprocess::http::Request;
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, Task, TaskInfo};
use mesos_security::{Action, Authorizer, Principal};

use crate::state::Framework;

/// The OS user an executor runs as: its `command.user`, else its framework's.
pub(super) fn executor_user<'a>(info: &'a ExecutorInfo, framework: &'a FrameworkInfo) -> &'a str {
    info.command.as_ref().and_then(|c| c.user.as_deref()).unwrap_or(&framework.user)
}

/// The caller of one request, with the ACLs that decide for it.
#[derive(Clone, Copy)]
pub(super) struct Viewer<'a> {
    authorizer: Option<&'a Authorizer>,
    principal: Option<&'a Principal>,
}

impl<'a> Viewer<'a> {
    /// The caller of `request` (its principal from HTTP authentication, if any).
    pub(super) fn of(authorizer: Option<&'a Authorizer>, request: &'a Request) -> Viewer<'a> {
        Viewer { authorizer, principal: request.extensions().get::<Principal>() }
    }

    /// The caller `principal` (a streamed request's, kept from its head).
    pub(super) fn of_principal(
        authorizer: Option<&'a Authorizer>,
        principal: Option<&'a Principal>,
    ) -> Viewer<'a> {
        Viewer { authorizer, principal }
    }

    /// Whether the ACLs let the caller do `action`.
    pub(super) fn allows(&self, action: Action<'_>) -> bool {
        self.authorizer.is_none_or(|a| a.authorize(self.principal, action))
    }

    /// Whether the caller may see `operation` (`view_roles` on what it consumes).
    pub(super) fn operation(&self, operation: &mesos_proto::mesos::Operation) -> bool {
        self.authorizer.is_none_or(|a| a.may_view_operation(self.principal, operation))
    }

    /// Whether the caller may see the flags.
    pub(super) fn flags(&self) -> bool {
        self.allows(Action::ViewFlags)
    }

    /// Whether the caller may change the logging level (`SET_LOGGING_LEVEL`).
    pub(super) fn set_log_level(&self) -> bool {
        self.allows(Action::SetLogLevel)
    }

    /// Whether the caller may see this framework (and so anything of it).
    pub(super) fn framework(&self, framework: &FrameworkInfo) -> bool {
        self.allows(Action::ViewFramework { user: &framework.user })
    }

    /// Whether the caller may see this executor of a framework it may see.
    pub(super) fn executor(&self, info: &ExecutorInfo, framework: &FrameworkInfo) -> bool {
        self.allows(Action::ViewExecutor { user: executor_user(info, framework) })
    }

    /// Whether the caller may see this task.
    pub(super) fn task(&self, task: &Task, framework: &FrameworkInfo) -> bool {
        let user = task.user.as_deref().unwrap_or(&framework.user);
        self.allows(Action::ViewTask { user })
    }

    /// Whether the caller may see this queued task.
    pub(super) fn task_info(&self, task: &TaskInfo, framework: &FrameworkInfo) -> bool {
        let user = task.command.as_ref().and_then(|c| c.user.as_deref());
        self.allows(Action::ViewTask { user: user.unwrap_or(&framework.user) })
    }
}

/// Who owns each sandbox, for `/files/*`: the executor's user by (framework ID,
/// executor ID), taken from the agent's state when the request arrives and checked
/// after the path is resolved (off the actor).
pub(super) struct SandboxAccess {
    authorizer: Arc<Authorizer>,
    principal: Option<Principal>,
    owners: HashMap<(String, String), String>,
}

impl SandboxAccess {
    /// The check for `request`, or `None` when nothing can be refused (no ACLs, or ACLs
    /// that are permissive with no `access_sandboxes` rule).
    pub(super) fn of<'f>(
        authorizer: Option<&Arc<Authorizer>>,
        request: &Request,
        frameworks: impl Iterator<Item = &'f Framework>,
    ) -> Option<SandboxAccess> {
        let authorizer = authorizer?;
        let acls = authorizer.acls();
        if acls.permissive() && acls.access_sandboxes.is_empty() {
            return None;
        }
        let mut owners = HashMap::new();
        for framework in frameworks {
            let executors =
                framework.executors.values().chain(framework.completed_executors.iter());
            for executor in executors {
                let key = (framework.id().to_string(), executor.info.executor_id.value.clone());
                owners.insert(key, executor_user(&executor.info, &framework.info).to_string());
            }
        }
        Some(SandboxAccess {
            authorizer: authorizer.clone(),
            principal: request.extensions().get::<Principal>().cloned(),
            owners,
        })
    }

    /// Whether the caller may read inside the sandbox of this executor (`None`: a path
    /// in no executor's sandbox).
    pub(super) fn allows(&self, sandbox: Option<(&str, &str)>) -> bool {
        let Some((framework_id, executor_id)) = sandbox else { return false };
        let key = (framework_id.to_string(), executor_id.to_string());
        let Some(user) = self.owners.get(&key) else { return false };
        self.authorizer.authorize(self.principal.as_ref(), Action::AccessSandbox { user })
    }
}
