//! Taking back checkpointed work after an agent restart.
//!
//! Mesos: src/slave/slave.cpp `Slave::recover`, `recoverFramework`,
//! `reregisterExecutor`, `reregisterExecutorTimeout`.
//!
//! 1. Before the process starts, [`prepare_recovery`] reads the checkpoint; an
//!    unreadable file stops the agent with an error naming it.
//! 2. The agent rebuilds its frameworks, executors, tasks and update streams, and
//!    asks the containerizer which executor processes still run.
//! 3. With `--recover=reconnect`, every live executor that had registered gets a
//!    `ReconnectExecutorMessage`; it answers `ReregisterExecutorMessage` with its
//!    unacknowledged updates. After `executor_reregistration_timeout`, executors
//!    that did not answer are killed and their tasks become `TASK_LOST` (reason
//!    `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`); executors that died while the agent
//!    was down are handled the same way.
//! 4. The agent then registers again (re-registration with all its tasks) and
//!    resends every unacknowledged update.
//!
//! With `--recover=cleanup` every checkpointed executor is killed and the agent
//! exits once they are gone.

use libprocess::{Context, Pid};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    ExecutorReregisteredMessage, ReconnectExecutorMessage, ReregisterExecutorMessage,
    ShutdownExecutorMessage, StatusUpdateRecord, status_update_record,
};
use mesos_proto::mesos::{Task, TaskState, framework_info, task_status};

use super::{Agent, AgentConfig, RecoverMode};
use crate::checkpoint::{RecoveredExecutor, RecoveredState, read_state};
use crate::error::AgentError;
use crate::paths::Paths;
use crate::protobuf::task_from_info;
use crate::registration::AgentState;
use crate::state::{Executor, ExecutorState, Framework, PendingTermination};

/// Reads the checkpoint under `--work_dir` and checks it belongs to an agent with
/// the same resources and attributes. `Ok(None)`: nothing to recover.
pub fn prepare_recovery(config: &AgentConfig) -> Result<Option<RecoveredState>, AgentError> {
    let paths = Paths::new(&config.work_dir);
    let Some(state) = read_state(&paths)? else { return Ok(None) };
    let agent_id = state.info.id.as_ref().map(|id| id.value.clone()).unwrap_or_default();
    let incompatible = |reason: String| AgentError::IncompatibleAgentInfo {
        path: paths.agent_info_file(&agent_id),
        reason,
        latest: paths.latest_agent_link(),
    };
    let same_resources =
        mesos_proto::resources::Resources::from_protos(state.info.resources.clone()).ok()
            == mesos_proto::resources::Resources::from_protos(config.resources.clone()).ok();
    if !same_resources {
        return Err(incompatible("the resources differ from --resources".into()));
    }
    if state.info.attributes != config.attributes {
        return Err(incompatible("the attributes differ from --attributes".into()));
    }
    Ok(Some(state))
}

fn latest_status(records: &[StatusUpdateRecord]) -> Option<mesos_proto::mesos::TaskStatus> {
    records
        .iter()
        .filter(|r| r.r#type == status_update_record::Type::Update as i32)
        .filter_map(|r| r.update.as_ref())
        .map(|u| u.status.clone())
        .next_back()
}

impl Agent {
    /// Starts recovery from the state given to [`Agent::new`].
    pub(super) fn start_recovery(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(state) = self.recovered.take() else {
            self.finish_recovery(ctx);
            return;
        };
        self.info.id = state.info.id.clone();
        tracing::info!(agent_id = ?self.info.id.as_ref().map(|i| &i.value), frameworks = state.frameworks.len(), "recovering");
        let mut reconnect = Vec::new();
        for framework in state.frameworks {
            let Some(framework_id) = framework.info.id.as_ref().map(FrameworkId::from) else {
                continue;
            };
            let mut recovered = Framework::new(framework.info, framework.pid);
            for executor in framework.executors {
                if let Some((exec, pid)) =
                    self.recover_executor(&framework_id, executor, state.rebooted)
                {
                    if let Some(pid) = pid {
                        reconnect.push(pid);
                    }
                    recovered.executors.insert(exec.id(), exec);
                }
            }
            if !recovered.executors.is_empty() {
                self.frameworks.insert(framework_id, recovered);
            }
        }
        if self.config.recover == RecoverMode::Cleanup {
            self.cleanup_recovered(ctx);
            return;
        }
        let message =
            ReconnectExecutorMessage { slave_id: self.info.id.clone().unwrap_or_default() };
        for pid in &reconnect {
            tracing::info!(executor = %pid, "asking executor to reconnect");
            ctx.link_reconnect(pid);
            ctx.send(pid, message.clone());
        }
        if self.frameworks.is_empty() {
            self.finish_recovery(ctx);
        } else {
            let timeout = self.config.executor_reregistration_timeout;
            ctx.delay(timeout, |agent, ctx| agent.on_reregister_executor_timeout(ctx));
        }
    }

    /// Rebuilds one executor and its tasks; returns its libprocess pid if it should
    /// be asked to reconnect.
    #[allow(deprecated)] // `source` marks command executors, as in Mesos.
    fn recover_executor(
        &mut self,
        framework_id: &FrameworkId,
        recovered: RecoveredExecutor,
        rebooted: bool,
    ) -> Option<(Executor, Option<Pid>)> {
        let agent_id = self.agent_id()?;
        let executor_id = ExecutorId::from(&recovered.info.executor_id);
        let container_id = ContainerId::new(recovered.container_id.clone());
        let sandbox = self.paths.sandbox_dir(
            &agent_id,
            framework_id.as_str(),
            executor_id.as_str(),
            &recovered.container_id,
        );
        let command = recovered.info.source.as_deref() == Some(executor_id.as_str())
            && recovered.info.name.as_deref().is_some_and(|n| n.starts_with("Command Executor"));
        let mut executor =
            Executor::new(recovered.info, container_id.clone(), sandbox, true, command);
        executor.os_pid = recovered.forked_pid;
        for task in recovered.tasks {
            self.recover_task(framework_id, &mut executor, task.task, &task.records);
        }
        if recovered.completed && !executor.has_incomplete_tasks() {
            return None;
        }
        let alive = !rebooted
            && !recovered.completed
            && self.containerizer.recover(&container_id, recovered.forked_pid);
        if !alive {
            // Gone while we were down: it is treated as one that did not re-register.
            self.deferred_terminations.push(crate::containerizer::Termination {
                container_id,
                status: None,
                message: "Executor exited while the agent was down".into(),
            });
        }
        // An HTTP executor's pid named a stream of the previous run: it is not asked
        // to reconnect but subscribes again by itself (Mesos: the HTTP marker file).
        let pid = recovered
            .libprocess_pid
            .filter(|pid| alive && !super::executor_api::is_http_executor(pid));
        executor.pid = pid.clone();
        Some((executor, pid))
    }

    fn recover_task(
        &mut self,
        framework_id: &FrameworkId,
        executor: &mut Executor,
        mut task: Task,
        records: &[StatusUpdateRecord],
    ) {
        let task_id = TaskId::from(&task.task_id);
        self.updates.replay(framework_id, &task_id, records);
        if let Some(status) = latest_status(records) {
            task.state = status.state;
            task.statuses.push(status);
        }
        let unacked = self.updates.has_stream(framework_id, &task_id);
        if task.state().is_terminal() {
            if unacked {
                executor.terminated_tasks.insert(task_id, task);
            } else {
                executor.completed_tasks.push_back(task);
            }
        } else {
            executor.launched_tasks.insert(task_id, task);
        }
    }

    /// A recovered executor answers our reconnect request.
    // Mesos: Slave::reregisterExecutor.
    pub(super) fn on_reregister_executor(
        &mut self,
        from: Pid,
        message: ReregisterExecutorMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        let framework_id = FrameworkId::from(&message.framework_id);
        let executor_id = ExecutorId::from(&message.executor_id);
        let state = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.state);
        if self.registration.state() != AgentState::Recovering
            || state != Some(ExecutorState::Registering)
        {
            tracing::warn!(%from, %executor_id, "unexpected executor re-registration: shutting it down");
            let shutdown = ShutdownExecutorMessage {
                executor_id: Some(message.executor_id),
                framework_id: Some(message.framework_id),
            };
            self.send_executor(&from, shutdown, ctx);
            return;
        }
        let checkpointer = self.checkpointer();
        let Some(executor) =
            self.frameworks.get_mut(&framework_id).and_then(|f| f.executors.get_mut(&executor_id))
        else {
            return;
        };
        executor.pid = Some(from.clone());
        executor.state = ExecutorState::Running;
        if let Some(cp) = checkpointer {
            let run = (framework_id.as_str(), executor_id.as_str(), executor.container_id.value());
            if let Err(error) =
                cp.run_file(run, crate::paths::files::LIBPROCESS_PID, &from.to_string())
            {
                tracing::error!(%error, "cannot checkpoint the executor's libprocess pid");
            }
        }
        // Tasks the executor has that we never checkpointed (we died in between).
        for task in &message.tasks {
            let task_id = TaskId::from(&task.task_id);
            if executor.task(&task_id).is_none()
                && !executor.completed_tasks.iter().any(|t| t.task_id == task.task_id)
            {
                executor.add_launched(task_from_info(
                    task,
                    TaskState::TaskStaging,
                    &framework_id.clone().into(),
                ));
            }
        }
        if !super::executor_api::is_http_executor(&from) {
            ctx.link(&from);
        }
        let reregistered = ExecutorReregisteredMessage {
            slave_id: self.info.id.clone().unwrap_or_default(),
            slave_info: self.info.clone(),
        };
        self.send_executor(&from, reregistered, ctx);
        tracing::info!(%executor_id, pid = %from, "executor re-registered");
        // Updates it sent that we may not have received; duplicates are recognised.
        for update in message.updates {
            self.status_update(update, Some(from.clone()), ctx);
        }
    }

    /// Executors that did not re-register in time are killed; then recovery ends.
    // Mesos: Slave::reregisterExecutorTimeout.
    fn on_reregister_executor_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        let timeout = self.config.executor_reregistration_timeout;
        let mut destroy = Vec::new();
        for framework in self.frameworks.values_mut() {
            let partition_aware =
                framework.info.capabilities.iter().any(|c| {
                    c.r#type == Some(framework_info::capability::Type::PartitionAware as i32)
                });
            for executor in framework.executors.values_mut() {
                if executor.state == ExecutorState::Registering {
                    tracing::info!(executor_id = %executor.id(), "executor did not re-register; killing it");
                    executor.state = ExecutorState::Terminating;
                    executor.pending_termination = Some(PendingTermination {
                        state: if partition_aware {
                            TaskState::TaskGone
                        } else {
                            TaskState::TaskLost
                        },
                        reason: task_status::Reason::ExecutorReregistrationTimeout,
                        message: format!(
                            "Executor did not reregister within {}",
                            libprocess::duration::format_duration(timeout)
                        ),
                    });
                    destroy.push(executor.container_id.clone());
                }
            }
        }
        for container_id in destroy {
            self.destroy_container(&container_id, ctx);
        }
        self.finish_recovery(ctx);
    }

    /// Recovery is over: handle exits seen meanwhile, then register.
    fn finish_recovery(&mut self, ctx: &mut Context<'_, Self>) {
        tracing::info!("recovery finished");
        self.become_disconnected(ctx);
        for termination in std::mem::take(&mut self.deferred_terminations) {
            self.on_container_terminated(termination, ctx);
        }
    }

    /// `--recover=cleanup`: kill every recovered executor, then exit.
    fn cleanup_recovered(&mut self, ctx: &mut Context<'_, Self>) {
        tracing::warn!("--recover=cleanup: killing every checkpointed executor");
        self.registration.become_terminating();
        let containers: Vec<ContainerId> = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .map(|e| e.container_id.clone())
            .collect();
        for container_id in containers {
            self.destroy_container(&container_id, ctx);
        }
        for termination in std::mem::take(&mut self.deferred_terminations) {
            self.on_container_terminated(termination, ctx);
        }
        self.terminate_if_done(ctx);
    }
}
