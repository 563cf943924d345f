//! The agent's metrics, with Mesos's `slave/*` names, served by the node at
//! `/metrics/snapshot`.

use libprocess::{Clock, Counter, Gauge, Metrics, Time};
use mesos_proto::mesos::TaskState;

use crate::core::{AgentCore, AgentState, Stats};
use crate::state::ExecutorState;

/// Counters and gauges of one agent.
#[derive(Default)]
pub(super) struct AgentMetrics {
    pub(super) invalid_messages: Counter,
    valid_status_updates: Counter,
    invalid_status_updates: Counter,
    executors_terminated: Counter,
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
    /// Fetches of executors' URIs that succeeded (Mesos's
    /// `containerizer/fetcher/task_fetches_succeeded`).
    pub(super) task_fetches_succeeded: Counter,
    /// ... and that failed.
    pub(super) task_fetches_failed: Counter,
    /// The core's counters as last added to the registry's.
    synced: Stats,
}

impl AgentMetrics {
    /// Binds every metric to the node's registry.
    pub(super) fn register(
        &mut self,
        metrics: &Metrics,
        clock: Clock,
        started: Time,
        fetcher: &std::sync::Arc<crate::fetcher::Fetcher>,
    ) {
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
        // Mesos: fetcher.cpp FetcherProcess::Metrics.
        self.task_fetches_succeeded =
            metrics.counter("containerizer/fetcher/task_fetches_succeeded");
        self.task_fetches_failed = metrics.counter("containerizer/fetcher/task_fetches_failed");
        let total = fetcher.cache_size_total_bytes() as f64;
        metrics.computed_gauge("containerizer/fetcher/cache_size_total_bytes", move || total);
        let fetcher = fetcher.clone();
        metrics.computed_gauge("containerizer/fetcher/cache_size_used_bytes", move || {
            fetcher.cache_size_used_bytes() as f64
        });
    }

    /// Adds what the core counted since the last call to the registry's counters.
    fn sync_counters(&mut self, stats: &Stats) {
        let pairs = [
            (
                &self.valid_status_updates,
                stats.valid_status_updates,
                self.synced.valid_status_updates,
            ),
            (
                &self.invalid_status_updates,
                stats.invalid_status_updates,
                self.synced.invalid_status_updates,
            ),
            (
                &self.executors_terminated,
                stats.executors_terminated,
                self.synced.executors_terminated,
            ),
            (&self.tasks_finished, stats.tasks_finished, self.synced.tasks_finished),
            (&self.tasks_failed, stats.tasks_failed, self.synced.tasks_failed),
            (&self.tasks_killed, stats.tasks_killed, self.synced.tasks_killed),
            (&self.tasks_lost, stats.tasks_lost, self.synced.tasks_lost),
        ];
        for (counter, now, before) in pairs {
            counter.add(now.saturating_sub(before));
        }
        self.synced = stats.clone();
    }

    /// Recomputes the gauges from the agent's state and catches the counters up
    /// (after every input).
    pub(super) fn refresh(&mut self, agent: &AgentCore) {
        self.sync_counters(&agent.stats);
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
