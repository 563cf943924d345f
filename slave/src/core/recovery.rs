//! Taking back checkpointed work after an agent restart: which executors, tasks and
//! update streams survive, who is asked to reconnect, who is killed.
//!
//! Mesos: slave.cpp `Slave::recover`, `recoverFramework`, `reregisterExecutor`,
//! `reregisterExecutorTimeout`. The checkpoint is read by the actor
//! (`agent::prepare_recovery`), which also asks the containerizer which of the
//! executor processes [`containers_to_probe`] names still run.
//!
//! 1. Frameworks, executors (latest run), tasks and update streams are rebuilt; a
//!    terminal task whose update was acknowledged is completed; an executor known to
//!    have exited with nothing unacknowledged is dropped.
//! 2. With `--recover=reconnect`, every live executor that had registered (over
//!    libprocess) gets `ReconnectExecutorMessage`; it answers
//!    `ReregisterExecutorMessage` with its unacknowledged updates. After
//!    `executor_reregistration_timeout`, executors that did not answer are killed and
//!    their tasks become `TASK_LOST` (`TASK_GONE` for partition-aware frameworks);
//!    executors that died while the agent was down are handled the same way.
//! 3. The agent then registers again and resends every unacknowledged update.
//!
//! With `--recover=cleanup` every checkpointed executor is killed and the agent stops
//! once they are gone.

use std::collections::HashSet;

use libprocess::{Pid, Time};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    ExecutorReregisteredMessage, ReconnectExecutorMessage, ReregisterExecutorMessage,
    ShutdownExecutorMessage, StatusUpdateRecord, status_update_record,
};
use mesos_proto::mesos::{Task, TaskState, framework_info, task_status};

use super::{AgentCore, AgentState, CheckpointWrite, Outgoing, Output, RecoverMode, Run, Timer};
use crate::checkpoint::{RecoveredExecutor, RecoveredState};
use crate::containerizer::Termination;
use crate::paths::files;
use crate::state::{Executor, ExecutorState, Framework, PendingTermination};
use crate::updates::task_from_info;

/// The executor processes whose liveness recovery needs (those not known to have
/// exited, when the machine has not rebooted), with their OS pids: the actor asks the
/// containerizer about each and passes the live ones to [`AgentCore::recover`].
pub fn containers_to_probe(state: &RecoveredState) -> Vec<(ContainerId, Option<u32>)> {
    if state.rebooted {
        return Vec::new();
    }
    state
        .frameworks
        .iter()
        .flat_map(|f| f.executors.iter())
        .filter(|e| !e.completed)
        .map(|e| (ContainerId::new(e.container_id.clone()), e.forked_pid))
        .collect()
}

fn latest_status(records: &[StatusUpdateRecord]) -> Option<mesos_proto::mesos::TaskStatus> {
    records
        .iter()
        .filter(|r| r.r#type == status_update_record::Type::Update as i32)
        .filter_map(|r| r.update.as_ref())
        .map(|u| u.status.clone())
        .next_back()
}

impl AgentCore {
    /// Starts recovery from the checkpoint (`None`: a new agent). `alive` holds the
    /// containers whose executor process still runs.
    pub fn recover(
        &mut self,
        state: Option<RecoveredState>,
        alive: &HashSet<ContainerId>,
        now: Time,
    ) {
        let Some(state) = state else {
            self.finish_recovery(now);
            return;
        };
        self.info.id = state.info.id.clone();
        self.recover_checkpointed_resources(state.resources);
        self.drain_config = state.drain_config;
        self.recover_operations(state.operations);
        tracing::info!(agent_id = ?self.info.id.as_ref().map(|i| &i.value), frameworks = state.frameworks.len(), "recovering");
        let mut reconnect = Vec::new();
        for framework in state.frameworks {
            let Some(framework_id) = framework.info.id.as_ref().map(FrameworkId::from) else {
                continue;
            };
            let mut recovered = Framework::new(framework.info, framework.pid);
            for executor in framework.executors {
                if let Some((exec, pid)) = self.recover_executor(&framework_id, executor, alive) {
                    reconnect.extend(pid);
                    recovered.executors.insert(exec.id(), exec);
                }
            }
            if !recovered.executors.is_empty() {
                self.frameworks.insert(framework_id, recovered);
            }
        }
        if self.config.recover == RecoverMode::Cleanup {
            self.cleanup_recovered(now);
            return;
        }
        let message =
            ReconnectExecutorMessage { slave_id: self.info.id.clone().unwrap_or_default() };
        for pid in &reconnect {
            tracing::info!(executor = %pid, "asking executor to reconnect");
            self.outbox.push(Output::LinkReconnect(pid.clone()));
            self.send(pid, Outgoing::ReconnectExecutor(message.clone()));
        }
        if self.frameworks.is_empty() {
            self.finish_recovery(now);
        } else {
            let timeout = self.config.executor_reregistration_timeout;
            self.timer(timeout, Timer::ExecutorReregistration);
        }
    }

    /// Rebuilds one executor and its tasks; returns its libprocess pid if it should
    /// be asked to reconnect. `None`: it exited and nothing of it is pending.
    #[allow(deprecated)] // `source` marks command executors, as in Mesos.
    fn recover_executor(
        &mut self,
        framework_id: &FrameworkId,
        recovered: RecoveredExecutor,
        alive: &HashSet<ContainerId>,
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
        let alive = !recovered.completed && alive.contains(&container_id);
        if !alive {
            // Gone while we were down: it is treated as one that did not re-register.
            self.deferred_terminations.push(Termination {
                container_id,
                status: None,
                message: "Executor exited while the agent was down".into(),
            });
        }
        // An HTTP executor's pid named a stream of the previous run: it is not asked
        // to reconnect but subscribes again by itself (Mesos: the HTTP marker file).
        let pid = recovered.libprocess_pid.filter(|pid| alive && !super::is_http_executor(pid));
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
    pub fn on_reregister_executor(
        &mut self,
        from: &Pid,
        message: ReregisterExecutorMessage,
        now: Time,
    ) {
        let framework_id = FrameworkId::from(&message.framework_id);
        let executor_id = ExecutorId::from(&message.executor_id);
        let recovering = self.registration.state() == AgentState::Recovering;
        let Some(executor) = self
            .executor_mut(&framework_id, &executor_id)
            .filter(|e| recovering && e.state == ExecutorState::Registering)
        else {
            tracing::warn!(%from, %executor_id, "unexpected executor re-registration: shutting it down");
            let shutdown = ShutdownExecutorMessage {
                executor_id: Some(message.executor_id),
                framework_id: Some(message.framework_id),
            };
            self.send(from, Outgoing::ShutdownExecutor(shutdown));
            return;
        };
        executor.pid = Some(from.clone());
        executor.state = ExecutorState::Running;
        let run = Run {
            framework_id: framework_id.clone(),
            executor_id: executor_id.clone(),
            container_id: executor.container_id.clone(),
        };
        // Tasks the executor has that we never checkpointed (we died in between).
        for task in &message.tasks {
            let task_id = TaskId::from(&task.task_id);
            if executor.task(&task_id).is_none()
                && !executor.completed_tasks.iter().any(|t| t.task_id == task.task_id)
            {
                let fid = framework_id.clone().into();
                executor.add_launched(task_from_info(task, TaskState::TaskStaging, &fid));
            }
        }
        if self.info.id.is_some() {
            let text = from.to_string();
            self.checkpoint(CheckpointWrite::RunFile { run, name: files::LIBPROCESS_PID, text });
        }
        self.outbox.push(Output::Link(from.clone()));
        let reregistered = ExecutorReregisteredMessage {
            slave_id: self.info.id.clone().unwrap_or_default(),
            slave_info: self.info.clone(),
        };
        self.send(from, Outgoing::ExecutorReregistered(reregistered));
        tracing::info!(%executor_id, pid = %from, "executor re-registered");
        // Updates it sent that we may not have received; duplicates are recognised.
        for update in message.updates {
            self.status_update(update, Some(from.clone()), now);
        }
    }

    /// Executors that did not re-register in time are killed; then recovery ends.
    // Mesos: Slave::reregisterExecutorTimeout.
    pub(super) fn on_reregister_executor_timeout(&mut self, now: Time) {
        let timeout = self.config.executor_reregistration_timeout;
        let mut destroy = Vec::new();
        for framework in self.frameworks.values_mut() {
            let partition_aware =
                framework.info.capabilities.iter().any(|c| {
                    c.r#type == Some(framework_info::capability::Type::PartitionAware as i32)
                });
            let state = if partition_aware { TaskState::TaskGone } else { TaskState::TaskLost };
            for executor in framework.executors.values_mut() {
                if executor.state == ExecutorState::Registering {
                    tracing::info!(executor_id = %executor.id(), "executor did not re-register; killing it");
                    executor.state = ExecutorState::Terminating;
                    executor.pending_termination = Some(PendingTermination {
                        state,
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
            self.destroy_container(&container_id);
        }
        self.finish_recovery(now);
    }

    /// Recovery is over: register, then handle exits seen meanwhile.
    fn finish_recovery(&mut self, now: Time) {
        tracing::info!("recovery finished");
        self.become_disconnected();
        for termination in std::mem::take(&mut self.deferred_terminations) {
            self.on_container_terminated(termination, now);
        }
        self.replay_drain(now);
    }

    /// `--recover=cleanup`: kill every recovered executor, then stop.
    fn cleanup_recovered(&mut self, now: Time) {
        tracing::warn!("--recover=cleanup: killing every checkpointed executor");
        self.registration.become_terminating();
        let containers: Vec<ContainerId> = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .map(|e| e.container_id.clone())
            .collect();
        for container_id in containers {
            self.destroy_container(&container_id);
        }
        for termination in std::mem::take(&mut self.deferred_terminations) {
            self.on_container_terminated(termination, now);
        }
        self.terminate_if_done();
    }
}
