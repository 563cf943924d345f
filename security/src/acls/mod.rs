//! The local authorizer: Mesos's `--acls` and the rules that decide with them.
//!
//! An operator gives a master or an agent `--acls`, Mesos's `ACLs` message as JSON
//! (inline, `file:///path` or `/path`). For each action (register a framework, run a
//! task, tear a framework down, view a task, ...) it lists rules, each pairing a subject
//! entity (`principals`) with an object entity (roles, users, framework principals,
//! endpoint paths). An entity is SOME (a list of values), ANY or NONE.
//!
//! [`Authorizer::authorize`] is a pure function of the ACLs, the subject and the action
//! with its object, exactly as Mesos's local authorizer decides:
//!
//! 1. The subject is `SOME [principal]`, or `ANY` when the caller is unauthenticated
//!    (no principal). The object is `SOME [value]`.
//! 2. The action's rules are tried in order. A rule *matches* when its subject and its
//!    object both match the request ([`matches()`]); the first that matches decides, and
//!    it allows the request only when both its entities *allow* the request's
//!    ([`allows`]). So a rule naming `NONE` matches everyone and allows no one, and an
//!    unauthenticated caller (ANY) matches only rules whose principals are ANY or NONE.
//! 3. No rule matches: `permissive` decides (default `true`).
//!
//! Role objects (register_frameworks, reserve_resources, create_volumes, resize_volumes,
//! update_quotas, update_weights, view_roles, get_quotas) understand role hierarchies: a value ending
//! in `/%` (`eng/%`) covers every role nested under `eng/` but not `eng` itself. A
//! framework registering with several roles must be allowed each of them.
//!
//! Mesos: src/authorizer/local/authorizer.cpp (`matches`, `allows`,
//! `LocalAuthorizerObjectApprover`, `LocalHierarchicalRoleApprover`,
//! `LocalAuthorizer::validate`).

use std::path::Path;

use mesos_proto::mesos::{AcLs, acl};

use crate::{Principal, SecurityError};

#[cfg(test)]
mod tests;

/// The endpoints whose GET Mesos protects with the `get_endpoints` ACL; a
/// `get_endpoints` rule naming any other path is refused at start.
/// Mesos: src/common/authorization.cpp `AUTHORIZABLE_ENDPOINTS`.
pub const AUTHORIZABLE_ENDPOINTS: &[&str] = &[
    "/containers",
    "/containerizer/debug",
    "/files/debug",
    "/logging/toggle",
    "/metrics/snapshot",
    "/monitor/statistics",
];

/// What a principal asks to do, with the object it does it to. One variant per action
/// the master or agent checks (or will check: the reservation, volume, quota, weight and
/// maintenance calls are decided here already and wait for their calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Subscribe a framework with these roles (`FrameworkInfo.roles` for a
    /// MULTI_ROLE framework, else its `role`); every role must be allowed.
    RegisterFramework {
        /// The framework's roles.
        roles: &'a [String],
    },
    /// Launch a task as this user (`TaskInfo.command.user`, else the executor's
    /// `command.user`, else `FrameworkInfo.user`).
    RunTask {
        /// The OS user the task runs as.
        user: &'a str,
    },
    /// Tear down a framework registered with this principal (empty when it has none).
    TeardownFramework {
        /// `FrameworkInfo.principal` of the framework torn down.
        framework_principal: &'a str,
    },
    /// Reserve resources for a role (waits for RESERVE, issue 15).
    ReserveResources {
        /// The role reserved for.
        role: &'a str,
    },
    /// Unreserve resources reserved by this principal (waits for UNRESERVE).
    UnreserveResources {
        /// The principal that made the reservation.
        reserver_principal: &'a str,
    },
    /// Create a persistent volume in a role (waits for CREATE).
    CreateVolume {
        /// The volume's role.
        role: &'a str,
    },
    /// Destroy a volume created by this principal (waits for DESTROY).
    DestroyVolume {
        /// The principal that created the volume.
        creator_principal: &'a str,
    },
    /// Grow or shrink a persistent volume of this role (GROW_VOLUME, SHRINK_VOLUME).
    ResizeVolume {
        /// The volume's role (the role of its reservation).
        role: &'a str,
    },
    /// Set a role's quota (waits for UPDATE_QUOTA).
    UpdateQuota {
        /// The role.
        role: &'a str,
    },
    /// See a role's quota (waits for GET_QUOTA).
    GetQuota {
        /// The role.
        role: &'a str,
    },
    /// Set a role's weight (waits for UPDATE_WEIGHTS).
    UpdateWeight {
        /// The role.
        role: &'a str,
    },
    /// See a role in `/roles` and GET_ROLES.
    ViewRole {
        /// The role.
        role: &'a str,
    },
    /// See a framework whose `FrameworkInfo.user` is this user.
    ViewFramework {
        /// The framework's user.
        user: &'a str,
    },
    /// See a task running as this user (`Task.user`, else the framework's user).
    ViewTask {
        /// The task's user.
        user: &'a str,
    },
    /// See an executor running as this user (its `command.user`, else the
    /// framework's user).
    ViewExecutor {
        /// The executor's user.
        user: &'a str,
    },
    /// Read a sandbox of an executor running as this user.
    AccessSandbox {
        /// The executor's user.
        user: &'a str,
    },
    /// GET one of [`AUTHORIZABLE_ENDPOINTS`].
    GetEndpoint {
        /// The endpoint's path (`/metrics/snapshot`).
        path: &'a str,
    },
    /// See the flags (`/flags`, GET_FLAGS).
    ViewFlags,
    /// Read the process's log.
    AccessMesosLog,
    /// Change the log level.
    SetLogLevel,
    /// Register an agent.
    RegisterAgent,
    /// Replace the maintenance schedule (waits for UPDATE_MAINTENANCE_SCHEDULE).
    UpdateMaintenanceSchedule,
    /// See the maintenance schedule.
    GetMaintenanceSchedule,
    /// Start maintenance on machines.
    StartMaintenance,
    /// Stop maintenance on machines.
    StopMaintenance,
    /// See the maintenance status.
    GetMaintenanceStatus,
    /// Drain an agent (waits for DRAIN_AGENT).
    DrainAgent,
    /// Deactivate an agent.
    DeactivateAgent,
    /// Reactivate an agent.
    ReactivateAgent,
    /// Mark an agent gone.
    MarkAgentGone,
    /// Launch a nested container (LAUNCH_NESTED_CONTAINER), or a session when
    /// `session` (LAUNCH_NESTED_CONTAINER_SESSION). Two rules must both allow it:
    /// `..._as_user` for the user the command runs as (`None`: the command names none,
    /// an ANY object) and `..._under_parent_with_user` for the user of the executor it
    /// is nested under. Mesos: authorizer.cpp `LocalNestedContainerObjectApprover`.
    LaunchNestedContainer {
        /// LAUNCH_NESTED_CONTAINER_SESSION rather than LAUNCH_NESTED_CONTAINER.
        session: bool,
        /// `CommandInfo.user` of the new container, if set.
        user: Option<&'a str>,
        /// The parent executor's user (its `command.user`, else its framework's).
        parent_user: &'a str,
    },
    /// Attach to, kill, wait for or remove a nested container. The object is the
    /// user of the executor it is nested under, or the container's id when no
    /// executor owns it (Mesos's fallback object).
    NestedContainer {
        /// Which call.
        call: NestedContainerCall,
        /// The executor's user, or the container id.
        user: &'a str,
    },
    /// Launch, kill, wait for or remove a standalone container (no parent): the
    /// rules' objects are matched against ANY, as in Mesos.
    StandaloneContainer {
        /// Which call.
        call: StandaloneContainerCall,
    },
}

/// The calls on an existing nested container that an ACL guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedContainerCall {
    /// ATTACH_CONTAINER_INPUT (`attach_containers_input`).
    AttachInput,
    /// ATTACH_CONTAINER_OUTPUT (`attach_containers_output`).
    AttachOutput,
    /// KILL_NESTED_CONTAINER (`kill_nested_containers`).
    Kill,
    /// WAIT_NESTED_CONTAINER (`wait_nested_containers`).
    Wait,
    /// REMOVE_NESTED_CONTAINER (`remove_nested_containers`).
    Remove,
}

/// The calls on standalone containers that an ACL guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandaloneContainerCall {
    /// LAUNCH_CONTAINER without a parent (`launch_standalone_containers`).
    Launch,
    /// KILL_CONTAINER (`kill_standalone_containers`).
    Kill,
    /// WAIT_CONTAINER (`wait_standalone_containers`).
    Wait,
    /// REMOVE_CONTAINER (`remove_standalone_containers`).
    Remove,
}

/// An ACL entity: who or what a rule names, or who or what a request is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entity {
    /// Exactly these values.
    Some(Vec<String>),
    /// Everyone (for a request: an unauthenticated caller, or no particular object).
    Any,
    /// No one.
    None,
}

impl Entity {
    fn from_proto(entity: &acl::Entity) -> Self {
        match entity.r#type() {
            acl::entity::Type::Some => Entity::Some(entity.values.clone()),
            acl::entity::Type::Any => Entity::Any,
            acl::entity::Type::None => Entity::None,
        }
    }

    fn one(value: &str) -> Self {
        Entity::Some(vec![value.to_string()])
    }
}

/// Whether a rule's entity `acl` matches the request's entity `request`: a NONE request
/// matches only NONE, an ANY request matches ANY and NONE, and a SOME request matches
/// ANY, NONE, and a SOME rule listing all its values.
/// Mesos: authorizer.cpp `matches` (its match matrix).
pub fn matches(request: &Entity, acl: &Entity) -> bool {
    match (request, acl) {
        (Entity::None, acl) => *acl == Entity::None,
        (Entity::Any, acl) => matches!(acl, Entity::Any | Entity::None),
        (Entity::Some(_), Entity::Any | Entity::None) => true,
        (Entity::Some(wanted), Entity::Some(listed)) => subset(wanted, listed),
    }
}

/// Whether a matching rule's entity `acl` lets the request's entity through: only ANY
/// allows an ANY request, NONE allows only NONE, a SOME rule allows a subset of itself.
/// Mesos: authorizer.cpp `allows` (its allow matrix).
pub fn allows(request: &Entity, acl: &Entity) -> bool {
    match (request, acl) {
        (Entity::None, acl) => *acl == Entity::None,
        (Entity::Any, acl) => *acl == Entity::Any,
        (Entity::Some(_), Entity::Any) => true,
        (Entity::Some(_), Entity::None) => false,
        (Entity::Some(wanted), Entity::Some(listed)) => subset(wanted, listed),
    }
}

fn subset(wanted: &[String], listed: &[String]) -> bool {
    wanted.iter().all(|value| listed.contains(value))
}

/// One rule with the action's specific field names erased (Mesos's `GenericACL`).
#[derive(Clone, Debug)]
struct Rule {
    subjects: Entity,
    objects: Entity,
}

impl Rule {
    fn new(subjects: &acl::Entity, objects: &acl::Entity) -> Self {
        Rule { subjects: Entity::from_proto(subjects), objects: Entity::from_proto(objects) }
    }

    /// A role rule whose single object ends in `/%`: it covers the nested roles.
    fn recursive_prefix(&self) -> Option<&str> {
        match &self.objects {
            Entity::Some(values) if values.len() == 1 => {
                values[0].strip_suffix('%').filter(|prefix| prefix.ends_with('/'))
            }
            _ => None,
        }
    }
}

/// The local authorizer: the parsed, validated `--acls`.
#[derive(Clone, Debug, Default)]
pub struct Authorizer {
    acls: AcLs,
}

impl Authorizer {
    /// An authorizer over `acls`, refused when they break one of Mesos's rules (see
    /// [`validate`]).
    pub fn new(acls: AcLs) -> Result<Self, SecurityError> {
        validate(&acls)?;
        Ok(Authorizer { acls })
    }

    /// Parses the value of `--acls`: inline JSON, or the path of a JSON file given as
    /// `file:///path` or `/path` (Mesos's flag parsing accepts all three).
    pub fn from_flag(value: &str) -> Result<Self, SecurityError> {
        Self::new(parse_flag(value)?)
    }

    /// The ACLs this authorizer decides with.
    pub fn acls(&self) -> &AcLs {
        &self.acls
    }

    /// Whether `subject` may see `resource` under `view_roles`: its (legacy) role, every
    /// role of its reservation stack and its allocation role must all be visible.
    /// Mesos: common/http.hpp `ObjectApprovers::approved<VIEW_ROLE>(const Resource&)`.
    #[allow(deprecated)] // Reads the old-format `role` field, as Mesos does for recovered agents.
    pub fn may_view_resource(
        &self,
        subject: Option<&Principal>,
        resource: &mesos_proto::mesos::Resource,
    ) -> bool {
        let view = |role: &str| self.authorize(subject, Action::ViewRole { role });
        let legacy = resource.role.as_deref().filter(|r| *r != "*");
        let reservations = resource.reservations.iter().filter_map(|r| r.role.as_deref());
        let allocation = resource.allocation_info.as_ref().and_then(|a| a.role.as_deref());
        legacy.into_iter().chain(reservations).chain(allocation).all(view)
    }

    /// Whether `subject` may see an operation (GET_OPERATIONS): it may see every
    /// resource the operation consumes. An operation whose consumed resources cannot be
    /// determined is hidden.
    /// Mesos: master/http.cpp `Master::Http::getOperations`, slave/http.cpp
    /// `Http::getOperations`.
    pub fn may_view_operation(
        &self,
        subject: Option<&Principal>,
        operation: &mesos_proto::mesos::Operation,
    ) -> bool {
        let Ok(steps) = mesos_proto::resources::conversions::conversions(&operation.info) else {
            return false;
        };
        steps
            .iter()
            .flat_map(|step| step.consumed.iter())
            .all(|resource| self.may_view_resource(subject, resource))
    }

    /// Whether `subject` (`None`: unauthenticated) may perform `action` on its object.
    /// Mesos: `LocalAuthorizer::authorized`.
    pub fn authorize(&self, subject: Option<&Principal>, action: Action<'_>) -> bool {
        let subject = match subject {
            Some(principal) => Entity::one(principal.as_str()),
            None => Entity::Any,
        };
        let acls = &self.acls;
        let permissive = acls.permissive();
        macro_rules! rules {
            ($list:ident, $object:ident) => {
                acls.$list.iter().map(|r| Rule::new(&r.principals, &r.$object)).collect::<Vec<_>>()
            };
        }
        let flat = |rules: Vec<Rule>, object: &str| {
            approved(&rules, &subject, &Entity::one(object), permissive)
        };
        let role = |rules: Vec<Rule>, role: &str| {
            approved_hierarchical(&split_roles(rules), &subject, role, permissive)
        };
        let any = |rules: Vec<Rule>| approved(&rules, &subject, &Entity::Any, permissive);
        match action {
            Action::RegisterFramework { roles } => {
                let rules = split_roles(rules!(register_frameworks, roles));
                // Mesos: an empty role list is decided by `permissive`; a framework
                // always has at least `*` in practice.
                if roles.is_empty() {
                    return permissive;
                }
                roles.iter().all(|r| approved_hierarchical(&rules, &subject, r, permissive))
            }
            Action::RunTask { user } => flat(rules!(run_tasks, users), user),
            Action::TeardownFramework { framework_principal } => {
                flat(rules!(teardown_frameworks, framework_principals), framework_principal)
            }
            Action::ReserveResources { role: r } => role(rules!(reserve_resources, roles), r),
            Action::UnreserveResources { reserver_principal } => {
                flat(rules!(unreserve_resources, reserver_principals), reserver_principal)
            }
            Action::CreateVolume { role: r } => role(rules!(create_volumes, roles), r),
            Action::DestroyVolume { creator_principal } => {
                flat(rules!(destroy_volumes, creator_principals), creator_principal)
            }
            Action::ResizeVolume { role: r } => role(rules!(resize_volumes, roles), r),
            Action::UpdateQuota { role: r } => role(rules!(update_quotas, roles), r),
            Action::GetQuota { role: r } => role(rules!(get_quotas, roles), r),
            Action::UpdateWeight { role: r } => role(rules!(update_weights, roles), r),
            Action::ViewRole { role: r } => role(rules!(view_roles, roles), r),
            Action::ViewFramework { user } => flat(rules!(view_frameworks, users), user),
            Action::ViewTask { user } => flat(rules!(view_tasks, users), user),
            Action::ViewExecutor { user } => flat(rules!(view_executors, users), user),
            Action::AccessSandbox { user } => flat(rules!(access_sandboxes, users), user),
            Action::GetEndpoint { path } => flat(rules!(get_endpoints, paths), path),
            // These rules' objects can only be ANY or NONE (see `validate`), and the
            // request's object is ANY. Mesos: the `aclObject.set_type(ANY)` cases.
            Action::ViewFlags => any(rules!(view_flags, flags)),
            Action::AccessMesosLog => any(rules!(access_mesos_logs, logs)),
            Action::SetLogLevel => any(rules!(set_log_level, level)),
            Action::RegisterAgent => any(rules!(register_agents, agents)),
            Action::UpdateMaintenanceSchedule => {
                any(rules!(update_maintenance_schedules, machines))
            }
            Action::GetMaintenanceSchedule => any(rules!(get_maintenance_schedules, machines)),
            Action::StartMaintenance => any(rules!(start_maintenances, machines)),
            Action::StopMaintenance => any(rules!(stop_maintenances, machines)),
            Action::GetMaintenanceStatus => any(rules!(get_maintenance_statuses, machines)),
            Action::DrainAgent => any(rules!(drain_agents, agents)),
            Action::DeactivateAgent => any(rules!(deactivate_agents, agents)),
            Action::ReactivateAgent => any(rules!(reactivate_agents, agents)),
            Action::MarkAgentGone => any(rules!(mark_agents_gone, agents)),
            Action::LaunchNestedContainer { session, user, parent_user } => {
                let (as_user, under_parent) = if session {
                    (
                        rules!(launch_nested_container_sessions_as_user, users),
                        rules!(launch_nested_container_sessions_under_parent_with_user, users),
                    )
                } else {
                    (
                        rules!(launch_nested_containers_as_user, users),
                        rules!(launch_nested_containers_under_parent_with_user, users),
                    )
                };
                let child = user.map_or(Entity::Any, Entity::one);
                flat(under_parent, parent_user) && approved(&as_user, &subject, &child, permissive)
            }
            Action::NestedContainer { call, user } => {
                use NestedContainerCall as C;
                let rules = match call {
                    C::AttachInput => rules!(attach_containers_input, users),
                    C::AttachOutput => rules!(attach_containers_output, users),
                    C::Kill => rules!(kill_nested_containers, users),
                    C::Wait => rules!(wait_nested_containers, users),
                    C::Remove => rules!(remove_nested_containers, users),
                };
                flat(rules, user)
            }
            Action::StandaloneContainer { call } => {
                use StandaloneContainerCall as C;
                any(match call {
                    C::Launch => rules!(launch_standalone_containers, users),
                    C::Kill => rules!(kill_standalone_containers, users),
                    C::Wait => rules!(wait_standalone_containers, users),
                    C::Remove => rules!(remove_standalone_containers, users),
                })
            }
        }
    }
}

/// The first rule whose subject and object match decides; none: `permissive`.
/// Mesos: `LocalAuthorizerObjectApprover::approved`.
fn approved(rules: &[Rule], subject: &Entity, object: &Entity, permissive: bool) -> bool {
    for rule in rules {
        if matches(subject, &rule.subjects) && matches(object, &rule.objects) {
            return allows(subject, &rule.subjects) && allows(object, &rule.objects);
        }
    }
    permissive
}

/// As [`approved`] for one role, where a recursive rule (`eng/%`) matches every role
/// nested under its prefix. Mesos: `LocalHierarchicalRoleApprover::approved`.
fn approved_hierarchical(rules: &[Rule], subject: &Entity, role: &str, permissive: bool) -> bool {
    let object = Entity::one(role);
    for rule in rules {
        match rule.recursive_prefix() {
            None => {
                if matches(subject, &rule.subjects) && matches(&object, &rule.objects) {
                    return allows(subject, &rule.subjects) && allows(&object, &rule.objects);
                }
            }
            // The nesting check stands in for the object match: a SOME object is then
            // matched and allowed as if the rule said ANY.
            Some(prefix) if role.starts_with(prefix) => {
                if matches(subject, &rule.subjects) {
                    return allows(subject, &rule.subjects);
                }
            }
            Some(_) => {}
        }
    }
    permissive
}

/// Splits each role rule's `x/%` values into rules of their own, right where the rule
/// was, keeping its plain roles together after them. Rules stay in order, so first-match
/// semantics are unchanged. Mesos: `createHierarchicalRoleACLs`.
fn split_roles(rules: Vec<Rule>) -> Vec<Rule> {
    let mut out = Vec::with_capacity(rules.len());
    for rule in rules {
        let Entity::Some(values) = &rule.objects else {
            out.push(rule);
            continue;
        };
        let (recursive, plain): (Vec<&String>, Vec<&String>) =
            values.iter().partition(|v| v.ends_with("/%"));
        for value in recursive {
            out.push(Rule { subjects: rule.subjects.clone(), objects: Entity::one(value) });
        }
        if !plain.is_empty() {
            out.push(Rule {
                subjects: rule.subjects.clone(),
                objects: Entity::Some(plain.into_iter().cloned().collect()),
            });
        }
    }
    out
}

/// Reads `--acls`: inline JSON, `file:///path`, or `/path`.
pub fn parse_flag(value: &str) -> Result<AcLs, SecurityError> {
    let text = match value.strip_prefix("file://") {
        Some(path) => read(Path::new(path))?,
        None if value.starts_with('/') => read(Path::new(value))?,
        None => value.to_string(),
    };
    mesos_proto::json::from_json_str::<AcLs>(&text)
        .map_err(|e| SecurityError::InvalidAcls { reason: e.to_string() })
}

fn read(path: &Path) -> Result<String, SecurityError> {
    std::fs::read_to_string(path)
        .map_err(|source| SecurityError::Read { path: path.to_path_buf(), source })
}

/// Refuses ACLs Mesos refuses: `get_endpoints` naming a path outside
/// [`AUTHORIZABLE_ENDPOINTS`], and a SOME object on the actions whose objects are
/// only ANY or NONE (flags, logs, log level, agents, machines).
/// Mesos: `LocalAuthorizer::validate`.
pub fn validate(acls: &AcLs) -> Result<(), SecurityError> {
    let invalid = |reason: String| Err(SecurityError::InvalidAcls { reason });
    for rule in &acls.get_endpoints {
        if rule.paths.r#type() != acl::entity::Type::Some {
            continue;
        }
        for path in &rule.paths.values {
            if !AUTHORIZABLE_ENDPOINTS.contains(&path.as_str()) {
                return invalid(format!("Path: '{path}' is not an authorizable path"));
            }
        }
    }
    let some = |e: &acl::Entity| e.r#type() == acl::entity::Type::Some;
    let checks: [(&str, bool); 13] = [
        ("AccessMesosLog", acls.access_mesos_logs.iter().any(|r| some(&r.logs))),
        ("ViewFlags", acls.view_flags.iter().any(|r| some(&r.flags))),
        ("SetLogLevel", acls.set_log_level.iter().any(|r| some(&r.level))),
        ("RegisterAgent", acls.register_agents.iter().any(|r| some(&r.agents))),
        (
            "UpdateMaintenanceSchedule",
            acls.update_maintenance_schedules.iter().any(|r| some(&r.machines)),
        ),
        (
            "GetMaintenanceSchedule",
            acls.get_maintenance_schedules.iter().any(|r| some(&r.machines)),
        ),
        ("StartMaintenance", acls.start_maintenances.iter().any(|r| some(&r.machines))),
        ("StopMaintenance", acls.stop_maintenances.iter().any(|r| some(&r.machines))),
        ("GetMaintenanceStatus", acls.get_maintenance_statuses.iter().any(|r| some(&r.machines))),
        ("DrainAgent", acls.drain_agents.iter().any(|r| some(&r.agents))),
        ("DeactivateAgent", acls.deactivate_agents.iter().any(|r| some(&r.agents))),
        ("ReactivateAgent", acls.reactivate_agents.iter().any(|r| some(&r.agents))),
        ("MarkAgentGone", acls.mark_agents_gone.iter().any(|r| some(&r.agents))),
    ];
    for (name, bad) in checks {
        if bad {
            return invalid(format!("ACL.{name} type must be either NONE or ANY"));
        }
    }
    Ok(())
}
