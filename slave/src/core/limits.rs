//! Resizing a custom executor's container as its tasks come and go.
//!
//! Mesos: slave.cpp `Slave::__run` (after new tasks reach an executor) and
//! `Slave::statusUpdate` (after a task's terminal update) call
//! `containerizer->update(containerId, executor->allocatedResources())`, the
//! executor's own resources plus those of its queued and launched tasks. A command
//! executor holds exactly one task, sized at launch, so only other executors change.

use mesos_proto::ids::{ExecutorId, FrameworkId};

use super::{AgentCore, Output};
use crate::limits::ContainerLimits;
use crate::state::{Executor, ExecutorState};

/// The limits an executor's container should have now: its resources plus its
/// queued and launched (not terminal) tasks'. Mesos: `Executor::allocatedResources`.
pub fn allocated_limits(executor: &Executor) -> ContainerLimits {
    let queued = executor.queued_tasks.values().flat_map(|t| t.resources.iter());
    let launched = executor.launched_tasks.values().flat_map(|t| t.resources.iter());
    let resources: Vec<_> =
        executor.info.resources.iter().chain(queued).chain(launched).cloned().collect();
    ContainerLimits::of(&resources, executor.command_executor)
}

impl AgentCore {
    /// Asks the actor to resize the executor's container if what it holds changed.
    pub(super) fn refresh_limits(&mut self, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(executor) =
            self.frameworks.get(framework_id).and_then(|f| f.executors.get(executor_id))
        else {
            return;
        };
        let live = matches!(executor.state, ExecutorState::Registering | ExecutorState::Running);
        if executor.command_executor || !live {
            return;
        }
        let limits = allocated_limits(executor);
        let container_id = executor.container_id.clone();
        if self.limits.get(&container_id) == Some(&limits) {
            return;
        }
        tracing::info!(%executor_id, container = %container_id, ?limits, "resizing the executor's container");
        self.limits.insert(container_id.clone(), limits);
        self.outbox.push(Output::UpdateLimits { container_id, limits });
    }
}
