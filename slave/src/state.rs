//! The agent's bookkeeping of frameworks, executors and tasks (a pure core).
//!
//! Mesos: src/slave/slave.hpp (`Framework`, `Executor`). A task moves through the
//! executor's maps:
//!
//! ```text
//!  queued (executor not registered yet) --send RunTask--> launched
//!  launched --terminal update received--> terminated (its updates not all acked)
//!  terminated --terminal update acknowledged--> completed (bounded history)
//! ```
//!
//! An executor is removed (moved to the framework's completed executors) once it has
//! terminated and none of its tasks has unacknowledged updates; a framework is removed
//! once it has no executors and no pending tasks.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use libprocess::Pid;
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::{
    ExecutorInfo, FrameworkInfo, Task, TaskInfo, TaskState, TaskStatus, task_status,
};

/// Completed tasks remembered per executor (Mesos: `MAX_COMPLETED_TASKS_PER_EXECUTOR`);
/// the oldest is forgotten at the bound.
pub const MAX_COMPLETED_TASKS_PER_EXECUTOR: usize = 200;
/// Completed executors remembered per framework (Mesos:
/// `--max_completed_executors_per_framework`); the oldest is forgotten at the bound.
pub const MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK: usize = 150;
/// Completed frameworks remembered (Mesos: `MAX_COMPLETED_FRAMEWORKS`).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// The lifecycle of an executor on this agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorState {
    /// Launched (or recovered), waiting for it to (re-)register.
    Registering,
    /// Registered: tasks are sent to it directly.
    Running,
    /// Being shut down or killed.
    Terminating,
    /// Its process has exited; kept until its tasks' updates are acknowledged.
    Terminated,
}

impl ExecutorState {
    /// Mesos's name for the state (`/state` shows it).
    pub fn name(self) -> &'static str {
        match self {
            ExecutorState::Registering => "REGISTERING",
            ExecutorState::Running => "RUNNING",
            ExecutorState::Terminating => "TERMINATING",
            ExecutorState::Terminated => "TERMINATED",
        }
    }
}

/// How the agent ended an executor, for the updates of its unfinished tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTermination {
    /// The state to give its unfinished tasks.
    pub state: TaskState,
    /// Why.
    pub reason: task_status::Reason,
    /// A human-readable explanation.
    pub message: String,
}

/// An executor of a framework, and its tasks.
#[derive(Debug, Clone)]
pub struct Executor {
    /// What the framework (or the agent, for command tasks) asked for.
    pub info: ExecutorInfo,
    /// The container (one run of the executor).
    pub container_id: ContainerId,
    /// The sandbox.
    pub directory: PathBuf,
    /// Where it is in its lifecycle.
    pub state: ExecutorState,
    /// Its libprocess pid, once registered.
    pub pid: Option<Pid>,
    /// Its OS process id, when known.
    pub os_pid: Option<u32>,
    /// Whether its framework checkpoints.
    pub checkpoint: bool,
    /// True for the command executor the agent generated for a command task.
    pub command_executor: bool,
    /// Tasks waiting for the executor to register.
    pub queued_tasks: BTreeMap<TaskId, TaskInfo>,
    /// Task groups among the queued tasks: each goes to the executor as one
    /// LAUNCH_GROUP (a task killed while queued simply drops out of its group).
    pub queued_groups: Vec<Vec<TaskId>>,
    /// Tasks sent to the executor and not terminal.
    pub launched_tasks: BTreeMap<TaskId, Task>,
    /// Tasks in a terminal state whose updates are not all acknowledged.
    pub terminated_tasks: BTreeMap<TaskId, Task>,
    /// Finished tasks, newest last (bounded).
    pub completed_tasks: VecDeque<Task>,
    /// Set when the agent kills the executor for a reason of its own.
    pub pending_termination: Option<PendingTermination>,
}

impl Executor {
    /// A new executor run about to be launched.
    pub fn new(
        info: ExecutorInfo,
        container_id: ContainerId,
        directory: PathBuf,
        checkpoint: bool,
        command_executor: bool,
    ) -> Executor {
        Executor {
            info,
            container_id,
            directory,
            state: ExecutorState::Registering,
            pid: None,
            os_pid: None,
            checkpoint,
            command_executor,
            queued_tasks: BTreeMap::new(),
            queued_groups: Vec::new(),
            launched_tasks: BTreeMap::new(),
            terminated_tasks: BTreeMap::new(),
            completed_tasks: VecDeque::new(),
            pending_termination: None,
        }
    }

    /// The executor's id.
    pub fn id(&self) -> ExecutorId {
        ExecutorId::from(&self.info.executor_id)
    }

    /// True if any task is queued, running, or has unacknowledged updates.
    pub fn has_incomplete_tasks(&self) -> bool {
        !self.queued_tasks.is_empty()
            || !self.launched_tasks.is_empty()
            || !self.terminated_tasks.is_empty()
    }

    /// The task with this id, wherever it is (not completed ones).
    pub fn task(&self, task_id: &TaskId) -> Option<&Task> {
        self.launched_tasks.get(task_id).or_else(|| self.terminated_tasks.get(task_id))
    }

    /// Records a task sent to the executor, in state `TASK_STAGING`.
    pub fn add_launched(&mut self, task: Task) {
        let task_id = TaskId::from(&task.task_id);
        self.queued_tasks.remove(&task_id);
        self.launched_tasks.insert(task_id, task);
    }

    /// Applies a status update to the task's state; a terminal one moves the task to
    /// `terminated_tasks`. Returns false if the executor does not know the task.
    // Mesos: Executor::updateTaskState.
    pub fn update_task_state(&mut self, status: &TaskStatus) -> bool {
        let task_id = TaskId::from(&status.task_id);
        let terminal = status.state().is_terminal();
        let Some(task) = self
            .launched_tasks
            .get_mut(&task_id)
            .or_else(|| self.terminated_tasks.get_mut(&task_id))
        else {
            return false;
        };
        task.state = status.state;
        task.statuses.push(TaskStatus { data: None, ..status.clone() });
        // Bound the history kept per task (a task has few states; a broken executor
        // could send many): keep the last 100.
        if task.statuses.len() > 100 {
            task.statuses.remove(0);
        }
        if terminal && let Some(task) = self.launched_tasks.remove(&task_id) {
            self.terminated_tasks.insert(task_id, task);
        }
        true
    }

    /// Moves a terminated task to the completed history (its terminal update was
    /// acknowledged).
    // Mesos: Executor::completeTask.
    pub fn complete_task(&mut self, task_id: &TaskId) {
        if let Some(task) = self.terminated_tasks.remove(task_id) {
            self.completed_tasks.push_back(task);
            while self.completed_tasks.len() > MAX_COMPLETED_TASKS_PER_EXECUTOR {
                self.completed_tasks.pop_front();
            }
        }
    }

    /// Every task the master should know about: queued (as STAGING), launched, and
    /// terminated-but-unacknowledged ones.
    pub fn reportable_tasks(&self, framework_id: &FrameworkId) -> Vec<Task> {
        let fid = framework_id.into();
        let queued = self
            .queued_tasks
            .values()
            .map(|info| crate::updates::task_from_info(info, TaskState::TaskStaging, &fid));
        queued
            .chain(self.launched_tasks.values().cloned())
            .chain(self.terminated_tasks.values().cloned())
            .collect()
    }
}

/// A framework with work on this agent.
#[derive(Debug, Clone)]
pub struct Framework {
    /// Its info as the master sent it.
    pub info: FrameworkInfo,
    /// The scheduler's libprocess pid, if it has one.
    pub pid: Option<String>,
    /// Live executors.
    pub executors: BTreeMap<ExecutorId, Executor>,
    /// Finished executors, newest last (bounded).
    pub completed_executors: VecDeque<Executor>,
    /// Being shut down: no more updates are generated for its tasks.
    pub terminating: bool,
}

impl Framework {
    /// A framework seen for the first time.
    pub fn new(info: FrameworkInfo, pid: Option<String>) -> Framework {
        Framework {
            info,
            pid,
            executors: BTreeMap::new(),
            completed_executors: VecDeque::new(),
            terminating: false,
        }
    }

    /// Its id.
    pub fn id(&self) -> FrameworkId {
        self.info.id.as_ref().map(FrameworkId::from).unwrap_or_else(|| FrameworkId::new(""))
    }

    /// Whether it asked for checkpointing.
    pub fn checkpoint(&self) -> bool {
        self.info.checkpoint.unwrap_or(false)
    }

    /// The executor running (or queued to run) the task.
    pub fn executor_of_task(&self, task_id: &TaskId) -> Option<&Executor> {
        self.executors
            .values()
            .find(|e| e.queued_tasks.contains_key(task_id) || e.task(task_id).is_some())
    }

    /// The id of the executor running (or queued to run) the task.
    pub fn executor_id_of_task(&self, task_id: &TaskId) -> Option<ExecutorId> {
        self.executor_of_task(task_id).map(Executor::id)
    }

    /// The executor with this container.
    pub fn executor_by_container(&self, container_id: &ContainerId) -> Option<ExecutorId> {
        self.executors.values().find(|e| &e.container_id == container_id).map(Executor::id)
    }

    /// Moves an executor to the completed history.
    // Mesos: Slave::removeExecutor.
    pub fn remove_executor(&mut self, executor_id: &ExecutorId) -> Option<Executor> {
        let executor = self.executors.remove(executor_id)?;
        self.completed_executors.push_back(executor.clone());
        while self.completed_executors.len() > MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK {
            self.completed_executors.pop_front();
        }
        Some(executor)
    }

    /// True when nothing of it is left running.
    pub fn is_idle(&self) -> bool {
        self.executors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::task_from_info;

    fn executor() -> Executor {
        let info =
            ExecutorInfo { executor_id: ExecutorId::new("e").into(), ..ExecutorInfo::default() };
        Executor::new(info, ContainerId::new("c"), PathBuf::from("/tmp/x"), true, false)
    }

    fn task_info(id: &str) -> TaskInfo {
        TaskInfo { name: id.into(), task_id: TaskId::new(id).into(), ..TaskInfo::default() }
    }

    fn status(id: &str, state: TaskState) -> TaskStatus {
        TaskStatus { task_id: TaskId::new(id).into(), state: state as i32, ..TaskStatus::default() }
    }

    /// A task moves queued -> launched -> terminated -> completed, and the executor has
    /// incomplete tasks until the last step.
    #[test]
    fn task_lifecycle_through_executor_maps() {
        let fw = FrameworkId::new("fw");
        let mut e = executor();
        e.queued_tasks.insert(TaskId::new("t"), task_info("t"));
        assert!(e.has_incomplete_tasks());
        assert_eq!(e.reportable_tasks(&fw)[0].state, TaskState::TaskStaging as i32);
        e.add_launched(task_from_info(&task_info("t"), TaskState::TaskStaging, &fw.clone().into()));
        assert!(e.queued_tasks.is_empty());
        assert!(e.update_task_state(&status("t", TaskState::TaskRunning)));
        assert_eq!(e.launched_tasks[&TaskId::new("t")].state, TaskState::TaskRunning as i32);
        assert!(e.update_task_state(&status("t", TaskState::TaskFinished)));
        assert!(e.launched_tasks.is_empty());
        assert!(e.has_incomplete_tasks(), "terminal but unacknowledged");
        e.complete_task(&TaskId::new("t"));
        assert!(!e.has_incomplete_tasks());
        assert_eq!(e.completed_tasks.len(), 1);
        assert!(!e.update_task_state(&status("unknown", TaskState::TaskRunning)));
    }

    /// Completed executors are bounded per framework.
    #[test]
    fn completed_executors_are_bounded() {
        let mut fw = Framework::new(FrameworkInfo::default(), None);
        for i in 0..(MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK + 5) {
            let mut e = executor();
            e.info.executor_id = ExecutorId::new(format!("e{i}")).into();
            fw.executors.insert(e.id(), e);
            fw.remove_executor(&ExecutorId::new(format!("e{i}")));
        }
        assert_eq!(fw.completed_executors.len(), MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK);
        assert!(fw.is_idle());
    }
}
