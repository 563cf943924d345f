//! Validation of tasks in ACCEPT. Mesos: master/validation.cpp `task::validate`.

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
    let task_resources = Resources::from_protos(task.resources.clone())
        .map_err(|e| format!("Task uses invalid resources: {e}"))?;
    let mut needed = task_resources;
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
