//! Validation of tasks in ACCEPT (LAUNCH and LAUNCH_GROUP), their checks included.
//! Mesos: master/validation.cpp `task::validate`, `task::group::validate`.

use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos;
use mesos_proto::resources::Resources;

use super::state::Framework;

/// Checks one task against its framework, the agent it targets and the resources still
/// available from the accepted offers. Returns the resources it consumes (the task's, plus
/// a new executor's) or a message for the TASK_ERROR update.
pub(crate) fn validate_task(
    task: &mesos::TaskInfo,
    framework: &Framework,
    agent_id: &AgentId,
    known_executor: Option<&mesos::ExecutorInfo>,
    launched_in_this_accept: &[TaskId],
    available: &Resources,
) -> Result<Resources, String> {
    let task_id = TaskId::from(&task.task_id);
    task_id.validate().map_err(|e| format!("Task ID is invalid: {e}"))?;
    if framework.tasks.contains_key(&task_id) || launched_in_this_accept.contains(&task_id) {
        return Err(format!("Task has duplicate ID: {task_id}"));
    }
    if AgentId::from(&task.slave_id) != *agent_id {
        return Err(format!(
            "Task uses invalid agent {}; the offers are for agent {agent_id}",
            task.slave_id.value
        ));
    }
    validate_checks(task)?;
    match (&task.executor, &task.command) {
        (Some(_), Some(_)) => {
            return Err(
                "Task should have at most one of CommandInfo or ExecutorInfo present".into()
            );
        }
        (None, None) => {
            return Err(
                "Task should have at least one of CommandInfo or ExecutorInfo present".into()
            );
        }
        _ => {}
    }
    if task.resources.is_empty() {
        return Err("Task uses no resources".into());
    }
    let mut needed = Resources::new();
    needed.add_protos(&task.resources).map_err(|e| format!("Task uses invalid resources: {e}"))?;
    if let Some(executor) = &task.executor {
        let executor_id = ExecutorId::from(&executor.executor_id);
        executor_id.validate().map_err(|e| format!("Executor ID is invalid: {e}"))?;
        if let Some(framework_id) = &executor.framework_id
            && FrameworkId::from(framework_id) != framework.id
        {
            return Err("ExecutorInfo has an invalid FrameworkID".into());
        }
        match known_executor {
            Some(known) => {
                let mut given = executor.clone();
                given.framework_id = known.framework_id.clone();
                if given.command != known.command || given.resources != known.resources {
                    return Err(format!(
                        "ExecutorInfo is not compatible with existing ExecutorInfo of executor {executor_id}"
                    ));
                }
            }
            None => {
                needed += Resources::from_protos(executor.resources.clone())
                    .map_err(|e| format!("Executor uses invalid resources: {e}"))?;
            }
        }
    }
    if !available.contains(&needed) {
        return Err(format!("Task uses more resources {needed} than available {available}"));
    }
    Ok(needed)
}

/// A task's general check and health check, in Mesos's order (validation.cpp
/// `task::internal::validateCheck`, then `validateHealthCheck`): an invalid one gives
/// the task TASK_ERROR, so no executor is asked to run a check it cannot.
fn validate_checks(task: &mesos::TaskInfo) -> Result<(), String> {
    if let Some(check) = &task.check {
        mesos_proto::checks::validate_check_info(check)
            .map_err(|e| format!("Task uses invalid check: {e}"))?;
    }
    if let Some(check) = &task.health_check {
        mesos_proto::checks::validate_health_check(check)
            .map_err(|e| format!("Task uses invalid health check: {e}"))?;
    }
    Ok(())
}

/// Mesos: validation.cpp `MIN_CPUS` (an executor of a task group needs at least this).
pub(crate) const MIN_EXECUTOR_CPUS: f64 = 0.01;
/// Mesos: validation.cpp `MIN_MEM`, in MB.
pub(crate) const MIN_EXECUTOR_MEM_MB: f64 = 32.0;

/// Checks a LAUNCH_GROUP: every task (ids unique across the framework, this ACCEPT and
/// the group; the offers' agent; resources; `executor` set and equal to the group's),
/// then the group's executor (a known type; DEFAULT without a command, CUSTOM with one;
/// at least the minimal cpus and mem, and some disk), then the total against what is
/// still available. Returns the resources the group consumes (its tasks', plus the
/// executor's when it is new) or the message for every task's TASK_ERROR.
///
/// Mesos: validation.cpp `task::group::validate`, `group::internal::validateTask`,
/// `group::internal::validateExecutor`, `executor::internal::validateType`.
pub(crate) fn validate_task_group(
    group: &mesos::TaskGroupInfo,
    executor: &mesos::ExecutorInfo,
    framework: &Framework,
    agent_id: &AgentId,
    known_executor: Option<&mesos::ExecutorInfo>,
    launched_in_this_accept: &[TaskId],
    available: &Resources,
) -> Result<Resources, String> {
    if group.tasks.is_empty() {
        return Err("Task group is empty".into());
    }
    let mut total = Resources::new();
    let mut seen: Vec<TaskId> = Vec::new();
    for task in &group.tasks {
        let task_id = TaskId::from(&task.task_id);
        let invalid = |e: String| format!("Task '{task_id}' is invalid: {e}");
        task_id.validate().map_err(|e| invalid(format!("Task ID is invalid: {e}")))?;
        if framework.tasks.contains_key(&task_id)
            || launched_in_this_accept.contains(&task_id)
            || seen.contains(&task_id)
        {
            return Err(invalid(format!("Task has duplicate ID: {task_id}")));
        }
        seen.push(task_id.clone());
        if AgentId::from(&task.slave_id) != *agent_id {
            return Err(invalid(format!(
                "Task uses invalid agent {}; the offers are for agent {agent_id}",
                task.slave_id.value
            )));
        }
        validate_checks(task).map_err(invalid)?;
        if task.resources.is_empty() {
            return Err(invalid("Task uses no resources".into()));
        }
        total += Resources::from_protos(task.resources.clone())
            .map_err(|e| invalid(format!("Task uses invalid resources: {e}")))?;
        match &task.executor {
            None => return Err(invalid("'TaskInfo.executor' must be set".into())),
            Some(e) if e != executor => {
                return Err(format!(
                    "The `ExecutorInfo` of task '{task_id}' is different from executor '{}'",
                    executor.executor_id.value
                ));
            }
            Some(_) => {}
        }
    }
    let executor_resources = validate_group_executor(executor, framework)?;
    if known_executor.is_none() {
        total += executor_resources;
    }
    if !available.contains(&total) {
        return Err(format!(
            "Total resources {total} required by task group and its executor are more than available {available}"
        ));
    }
    Ok(total)
}

/// The group's executor on its own; returns its resources.
fn validate_group_executor(
    executor: &mesos::ExecutorInfo,
    framework: &Framework,
) -> Result<Resources, String> {
    use mesos::executor_info::Type;
    let executor_id = ExecutorId::from(&executor.executor_id);
    executor_id.validate().map_err(|e| format!("Executor ID is invalid: {e}"))?;
    if let Some(framework_id) = &executor.framework_id
        && FrameworkId::from(framework_id) != framework.id
    {
        return Err("ExecutorInfo has an invalid FrameworkID".into());
    }
    match executor.r#type.map(Type::try_from) {
        None => return Err("'ExecutorInfo.type' must be set".into()),
        Some(Ok(Type::Default)) if executor.command.is_some() => {
            return Err("'ExecutorInfo.command' must not be set for 'DEFAULT' executor".into());
        }
        Some(Ok(Type::Custom)) if executor.command.is_none() => {
            return Err("'ExecutorInfo.command' must be set for 'CUSTOM' executor".into());
        }
        Some(Ok(Type::Default | Type::Custom)) => {}
        Some(Ok(Type::Unknown) | Err(_)) => return Err("Unknown executor type".into()),
    }
    let resources = Resources::from_protos(executor.resources.clone())
        .map_err(|e| format!("Executor uses invalid resources: {e}"))?;
    let cpus = resources.scalar("cpus");
    if cpus.is_none_or(|c| c < MIN_EXECUTOR_CPUS) {
        return Err(format!(
            "Executor '{executor_id}' uses less CPUs ({}) than the minimum required ({MIN_EXECUTOR_CPUS})",
            cpus.map_or("None".to_string(), |c| c.to_string())
        ));
    }
    let mem = resources.scalar("mem");
    if mem.is_none_or(|m| m < MIN_EXECUTOR_MEM_MB) {
        return Err(format!(
            "Executor '{executor_id}' uses less memory ({}) than the minimum required ({MIN_EXECUTOR_MEM_MB}MB)",
            mem.map_or("None".to_string(), |m| format!("{m}MB"))
        ));
    }
    if resources.scalar("disk").is_none() {
        return Err(format!("Executor '{executor_id}' uses no disk"));
    }
    Ok(resources)
}
