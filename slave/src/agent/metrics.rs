//! The agent's metrics, with Mesos's `slave/*` names, served by the node at
//! `/metrics/snapshot`.

use libprocess::{Clock, Counter, Gauge, Metrics, Time};
use mesos_proto::mesos::TaskState;

use super::Agent;
use crate::registration::AgentState;
use crate::state::ExecutorState;

/// Counters and gauges of one agent.
#[derive(Default)]
pub(super) struct AgentMetrics {
    pub(super) invalid_messages: Counter,
    pub(super) valid_status_updates: Counter,
    pub(super) invalid_status_updates: Counter,
    pub(super) executors_terminated: Counter,
    tasks_finished: Counter,
    tasks_failed: Counter,
    tasks_killed: Counter,
    tasks_lost: Counter,
    registered: Gauge,
    tasks_staging: Gauge,
    tasks_running: Gauge,
    executors_registering: Gauge,
    executors_running: Gauge,
    executors_terminating: Gauge,
    frameworks_active: Gauge,
}

impl AgentMetrics {
    /// Binds every metric to the node's registry.
    pub(super) fn register(&mut self, metrics: &Metrics, clock: Clock, started: Time) {
        self.invalid_messages = metrics.counter("slave/invalid_framework_messages");
        self.valid_status_updates = metrics.counter("slave/valid_status_updates");
        self.invalid_status_updates = metrics.counter("slave/invalid_status_updates");
        self.executors_terminated = metrics.counter("slave/executors_terminated");
        self.tasks_finished = metrics.counter("slave/tasks_finished");
        self.tasks_failed = metrics.counter("slave/tasks_failed");
        self.tasks_killed = metrics.counter("slave/tasks_killed");
        self.tasks_lost = metrics.counter("slave/tasks_lost");
        self.registered = metrics.gauge("slave/registered");
        self.tasks_staging = metrics.gauge("slave/tasks_staging");
        self.tasks_running = metrics.gauge("slave/tasks_running");
        self.executors_registering = metrics.gauge("slave/executors_registering");
        self.executors_running = metrics.gauge("slave/executors_running");
        self.executors_terminating = metrics.gauge("slave/executors_terminating");
        self.frameworks_active = metrics.gauge("slave/frameworks_active");
        metrics.computed_gauge("slave/uptime_secs", move || {
            clock.now().saturating_since(started).as_secs_f64()
        });
    }

    /// Counts a task reaching `state`.
    pub(super) fn count_state(&self, state: i32) {
        match TaskState::try_from(state) {
            Ok(TaskState::TaskFinished) => self.tasks_finished.inc(),
            Ok(TaskState::TaskFailed) => self.tasks_failed.inc(),
            Ok(TaskState::TaskKilled) => self.tasks_killed.inc(),
            Ok(TaskState::TaskLost) => self.tasks_lost.inc(),
            _ => {}
        }
    }

    /// Recomputes the gauges from the agent's state (after every message).
    pub(super) fn refresh(&self, agent: &Agent) {
        let executors = || agent.frameworks.values().flat_map(|f| f.executors.values());
        let count_executors = |state| executors().filter(|e| e.state == state).count() as f64;
        let tasks = || executors().flat_map(|e| e.launched_tasks.values());
        let staging = executors().map(|e| e.queued_tasks.len()).sum::<usize>()
            + tasks().filter(|t| t.state == TaskState::TaskStaging as i32).count();
        self.registered.set(if agent.registration.state() == AgentState::Running {
            1.0
        } else {
            0.0
        });
        self.tasks_staging.set(staging as f64);
        self.tasks_running
            .set(tasks().filter(|t| t.state == TaskState::TaskRunning as i32).count() as f64);
        self.executors_registering.set(count_executors(ExecutorState::Registering));
        self.executors_running.set(count_executors(ExecutorState::Running));
        self.executors_terminating.set(count_executors(ExecutorState::Terminating));
        self.frameworks_active.set(agent.frameworks.len() as f64);
    }
}
