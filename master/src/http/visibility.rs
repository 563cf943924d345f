//! What a caller may see of the master's state: the `view_frameworks`, `view_tasks` and
//! `view_executors` ACLs applied to a [`StateSnapshot`] before any endpoint renders it.
//!
//! Mesos filters inside each writer (master/http.cpp, readonly_handler.cpp: every
//! framework, task and executor is passed through the caller's `ObjectApprovers`). Here
//! the read-only endpoints (`/state`, `/state-summary`, `/frameworks`, `/tasks`,
//! `/slaves`) and the v1 operator queries (`GET_STATE`, `GET_FRAMEWORKS`, `GET_TASKS`,
//! `GET_EXECUTORS`, `GET_AGENTS`, SUBSCRIBE's first state) render the filtered copy, so
//! no renderer can forget a check:
//!
//! 1. A framework (active or completed) is shown if `view_frameworks` allows its
//!    `FrameworkInfo.user`; a hidden framework takes its offers, tasks and executors
//!    with it, also from the agents' lists.
//! 2. A task of a shown framework is shown if `view_tasks` allows its user (`Task.user`,
//!    else the framework's user).
//! 3. An executor is shown if `view_executors` allows its `command.user`, else the
//!    framework's user.
//!
//! 4. The flags inside `/state` are left out unless `view_flags` allows the caller
//!    (`/flags` and GET_FLAGS answer `403` instead).
//!
//! Agents themselves are always shown: Mesos has no ACL for viewing agents (there is no
//! `view_agents`). `view_roles` applies to the role lists of `/roles` and `GET_ROLES`
//! (`super::roles`), not to the snapshot.

use std::sync::Arc;

use mesos_proto::mesos;
use mesos_security::{Action, Authorizer, Principal};

use crate::core::Framework;
use crate::snapshot::StateSnapshot;

/// Whether `principal` may see the flags (`/flags`, GET_FLAGS); true without ACLs.
/// Mesos: master/http.cpp `Master::Http::flags` (`VIEW_FLAGS`).
pub fn may_view_flags(authorizer: Option<&Authorizer>, principal: Option<&Principal>) -> bool {
    authorizer.is_none_or(|a| a.authorize(principal, Action::ViewFlags))
}

/// The part of `snapshot` that `principal` (`None`: unauthenticated) may see. Without
/// an authorizer, or with ACLs that cannot hide anything (no view rules, permissive),
/// the snapshot itself is returned, uncopied.
pub fn visible(
    snapshot: Arc<StateSnapshot>,
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
) -> Arc<StateSnapshot> {
    let Some(authorizer) = authorizer else { return snapshot };
    let acls = authorizer.acls();
    let can_hide = !acls.permissive()
        || !acls.view_frameworks.is_empty()
        || !acls.view_tasks.is_empty()
        || !acls.view_executors.is_empty()
        || !acls.view_flags.is_empty();
    if !can_hide {
        return snapshot;
    }
    let viewer = Viewer { authorizer, principal };
    let mut filtered = (*snapshot).clone();
    if !authorizer.authorize(principal, Action::ViewFlags) {
        // Mesos: `/state` leaves the flags out for a caller `view_flags` denies.
        filtered.flags.clear();
    }
    filtered.frameworks.retain_mut(|f| viewer.trim(Arc::make_mut(f)));
    filtered.completed_frameworks.retain_mut(|f| viewer.trim(Arc::make_mut(f)));
    let shown: std::collections::HashSet<_> =
        filtered.frameworks.iter().map(|f| f.id.clone()).collect();
    filtered.offers.retain(|o| shown.contains(&o.framework_id));
    for agent in &mut filtered.agents {
        let agent = Arc::make_mut(agent);
        agent.tasks.retain(|framework_id, tasks| {
            let Some(framework) = filtered.frameworks.iter().find(|f| &f.id == framework_id) else {
                return false;
            };
            tasks.retain(|task_id| framework.tasks.contains_key(task_id));
            true
        });
        agent.executors.retain(|framework_id, executors| {
            let Some(framework) = filtered.frameworks.iter().find(|f| &f.id == framework_id) else {
                return false;
            };
            executors.retain(|_, executor| viewer.executor(executor, &framework.info));
            true
        });
        agent.offers.retain(|offer_id| filtered.offers.iter().any(|o| &o.id == offer_id));
    }
    Arc::new(filtered)
}

struct Viewer<'a> {
    authorizer: &'a Authorizer,
    principal: Option<&'a Principal>,
}

impl Viewer<'_> {
    /// Whether the framework is shown; if so, drops the tasks and executors that are not.
    fn trim(&self, framework: &mut Framework) -> bool {
        let info = &framework.info;
        if !self.authorizer.authorize(self.principal, Action::ViewFramework { user: &info.user }) {
            return false;
        }
        let task = |task: &mesos::Task| {
            let user = task.user.as_deref().unwrap_or(&info.user);
            self.authorizer.authorize(self.principal, Action::ViewTask { user })
        };
        framework.tasks.retain(|_, t| task(t));
        framework.completed_tasks.retain(|t| task(t));
        for executors in framework.executors.values_mut() {
            executors.retain(|_, executor| self.executor(executor, info));
        }
        true
    }

    fn executor(&self, executor: &mesos::ExecutorInfo, framework: &mesos::FrameworkInfo) -> bool {
        let user = executor.command.as_ref().and_then(|c| c.user.as_deref());
        let user = user.unwrap_or(&framework.user);
        self.authorizer.authorize(self.principal, Action::ViewExecutor { user })
    }
}
