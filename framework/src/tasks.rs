//! Helpers to build tasks out of offers.

use mesos_proto::mesos::{self, Offer, TaskInfo, TaskState};
use mesos_proto::resources::{ResourceError, Resources};

/// The resources of an offer.
pub fn offered(offer: &Offer) -> Resources {
    // The master only offers valid resources; an invalid one is skipped, not fatal.
    let mut resources = Resources::new();
    for resource in &offer.resources {
        if let Err(error) = resources.push(resource.clone()) {
            tracing::warn!(%error, "skipping an offered resource");
        }
    }
    resources
}

/// Parses Mesos's `--resources` syntax (`cpus:0.1;mem:32`).
pub fn parse_resources(text: &str) -> Result<Resources, ResourceError> {
    Resources::parse(text)
}

/// Takes `wanted` out of `available` if it fits, with the allocation of the offered
/// resources (so it works for any role); `None` if it does not fit.
pub fn take(available: &mut Resources, wanted: &Resources) -> Option<Resources> {
    let mut allocated = wanted.clone();
    if let Some(role) = available.allocations().keys().next() {
        allocated.allocate(role);
    }
    if !available.contains(&allocated) {
        return None;
    }
    *available = available.checked_sub(&allocated).ok()?;
    Some(allocated)
}

/// A command task (run by the agent's command executor) on `offer`'s agent.
pub fn command_task(
    task_id: &str,
    name: &str,
    offer: &Offer,
    resources: &Resources,
    command: &str,
) -> TaskInfo {
    TaskInfo {
        name: name.to_string(),
        task_id: mesos::TaskId { value: task_id.to_string() },
        slave_id: offer.slave_id.clone(),
        resources: resources.to_protos(),
        command: Some(mesos::CommandInfo {
            value: Some(command.to_string()),
            shell: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A task run by a custom executor `executor` on `offer`'s agent; `data` is handed to
/// the executor's `launch_task`.
pub fn executor_task(
    task_id: &str,
    name: &str,
    offer: &Offer,
    resources: &Resources,
    executor: mesos::ExecutorInfo,
    data: Vec<u8>,
) -> TaskInfo {
    TaskInfo {
        name: name.to_string(),
        task_id: mesos::TaskId { value: task_id.to_string() },
        slave_id: offer.slave_id.clone(),
        resources: resources.to_protos(),
        executor: Some(executor),
        data: Some(data),
        ..Default::default()
    }
}

/// An executor started with the shell command `command` (run in its sandbox).
pub fn executor_info(executor_id: &str, name: &str, command: &str) -> mesos::ExecutorInfo {
    mesos::ExecutorInfo {
        executor_id: mesos::ExecutorId { value: executor_id.to_string() },
        name: Some(name.to_string()),
        command: Some(mesos::CommandInfo {
            value: Some(command.to_string()),
            shell: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Mesos's name of a state (`TASK_RUNNING`).
pub fn state_name(state: TaskState) -> &'static str {
    state.as_str_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `take` carves resources out of an offer (keeping its allocation role) only when
    /// they fit, and leaves the rest.
    #[test]
    fn take_fits_and_subtracts() {
        let mut available = Resources::parse("cpus:1;mem:128").unwrap();
        available.allocate("*");
        let wanted = Resources::parse("cpus:0.4;mem:64").unwrap();
        assert!(take(&mut available, &wanted).is_some());
        assert!(take(&mut available, &wanted).is_some());
        assert!(take(&mut available, &wanted).is_none(), "0.2 cpus and 0 mem left");
        assert_eq!(available.cpus().map(|c| (c * 10.0).round()), Some(2.0));
    }
}
