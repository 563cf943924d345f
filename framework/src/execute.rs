//! The scheduler behind `mesos-execute`: launch one command (or `--instances=N` copies)
//! and follow every task to a terminal state.
//!
//! Mesos: src/cli/execute.cpp. Each status update is reported as it arrives; when every
//! task is terminal the framework is torn down. Success means every task FINISHED.

use mesos_proto::mesos::{self, FrameworkId, MasterInfo, Offer, TaskState, TaskStatus};
use mesos_proto::resources::Resources;

use crate::scheduler::{Scheduler, SchedulerDriver, refuse_for};
use crate::tasks::{command_task, offered, state_name, take};

/// Declined offers stay away this long (the task needs nothing more from this agent).
const DECLINE_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// What to execute.
#[derive(Clone, Debug)]
pub struct ExecuteSpec {
    /// Task name (and id, with `-N` appended for several instances).
    pub name: String,
    /// The shell command.
    pub command: String,
    /// Resources of each task.
    pub resources: Resources,
    /// How many copies.
    pub instances: u32,
}

/// Receives every line `mesos-execute` reports (stdout in the binary, a vector in tests).
pub type Report = Box<dyn FnMut(&str)>;

/// The `mesos-execute` scheduler.
pub struct ExecuteScheduler {
    spec: ExecuteSpec,
    report: Report,
    launched: u32,
    /// Terminal state of each task that ended.
    ended: Vec<(String, TaskState)>,
    error: Option<String>,
}

impl ExecuteScheduler {
    /// A scheduler for `spec`, reporting through `report`.
    pub fn new(spec: ExecuteSpec, report: Report) -> ExecuteScheduler {
        ExecuteScheduler { spec, report, launched: 0, ended: Vec::new(), error: None }
    }

    /// True when every task finished (`TASK_FINISHED`) and the master raised no error.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
            && self.ended.len() == self.spec.instances as usize
            && self.ended.iter().all(|(_, state)| *state == TaskState::TaskFinished)
    }

    /// The terminal state of each task that ended.
    pub fn ended(&self) -> &[(String, TaskState)] {
        &self.ended
    }

    fn task_id(&self, n: u32) -> String {
        if self.spec.instances == 1 {
            self.spec.name.clone()
        } else {
            format!("{}-{n}", self.spec.name)
        }
    }

    fn all_launched(&self) -> bool {
        self.launched >= self.spec.instances
    }
}

impl Scheduler for ExecuteScheduler {
    fn registered(
        &mut self,
        _driver: &mut SchedulerDriver,
        framework_id: &FrameworkId,
        master: &MasterInfo,
    ) {
        let at = master.pid.clone().unwrap_or_else(|| {
            format!("{}:{}", master.hostname.clone().unwrap_or_default(), master.port)
        });
        (self.report)(&format!("Subscribed with ID {} at master {at}", framework_id.value));
    }

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let mut available = offered(&offer);
            let mut tasks = Vec::new();
            while !self.all_launched() {
                let Some(resources) = take(&mut available, &self.spec.resources) else { break };
                let id = self.task_id(self.launched);
                tasks.push(command_task(
                    &id,
                    &self.spec.name,
                    &offer,
                    &resources,
                    &self.spec.command,
                ));
                (self.report)(&format!(
                    "Submitted task '{id}' to agent '{}' with offer '{}'",
                    offer.slave_id.value, offer.id.value
                ));
                self.launched += 1;
            }
            if tasks.is_empty() {
                driver.decline(&offer.id, Some(refuse_for(DECLINE_FOR)));
            } else {
                driver.launch(&offer.id, tasks, None);
            }
        }
        if self.all_launched() {
            driver.suppress(Vec::new());
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: &TaskStatus) {
        let state = status.state();
        let mut line = format!(
            "Received status update {} for task '{}'",
            state_name(state),
            status.task_id.value
        );
        if let Some(message) = status.message.as_deref().filter(|m| !m.is_empty()) {
            line.push_str(&format!("\n  message: '{message}'"));
        }
        if let Some(source) = status.source {
            let source = mesos::task_status::Source::try_from(source)
                .map(|s| s.as_str_name())
                .unwrap_or("UNKNOWN");
            line.push_str(&format!("\n  source: {source}"));
        }
        (self.report)(&line);
        if state.is_terminal() && !self.ended.iter().any(|(id, _)| id == &status.task_id.value) {
            self.ended.push((status.task_id.value.clone(), state));
        }
        if self.all_launched() && self.ended.len() >= self.spec.instances as usize {
            driver.stop(false);
        }
    }

    fn error(&mut self, _driver: &mut SchedulerDriver, message: &str) {
        (self.report)(&format!("Error: {message}"));
        self.error = Some(message.to_string());
    }
}
