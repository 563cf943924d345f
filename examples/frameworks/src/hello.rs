//! `hello`: the first framework. Runs `tasks` copies of a command, one per offer slot,
//! and stops when every one of them has ended. `docs/frameworks.md` builds it step by
//! step.

use mesos_framework::scheduler::{Scheduler, SchedulerDriver, refuse_for};
use mesos_framework::tasks::{command_task, offered, take};
use mesos_proto::mesos::{FrameworkId, MasterInfo, Offer, TaskState, TaskStatus};
use mesos_proto::resources::Resources;

/// The hello scheduler.
pub struct Hello {
    /// How many tasks to run.
    pub tasks: usize,
    /// The shell command each task runs.
    pub command: String,
    /// What each task needs.
    pub resources: Resources,
    /// Tasks launched so far.
    pub launched: usize,
    /// Tasks that finished (`TASK_FINISHED`).
    pub finished: usize,
    /// Tasks that ended any other way.
    pub failed: usize,
}

impl Hello {
    /// Runs `tasks` copies of `command`, each with `resources`.
    pub fn new(tasks: usize, command: &str, resources: Resources) -> Hello {
        Hello {
            tasks,
            command: command.to_string(),
            resources,
            launched: 0,
            finished: 0,
            failed: 0,
        }
    }

    /// True when every task finished.
    pub fn succeeded(&self) -> bool {
        self.finished == self.tasks
    }
}

impl Scheduler for Hello {
    // Step 1: the master accepted us.
    fn registered(
        &mut self,
        _driver: &mut SchedulerDriver,
        framework_id: &FrameworkId,
        _master: &MasterInfo,
    ) {
        println!("registered as framework {}", framework_id.value);
    }

    // Step 2: turn offers into tasks; decline what we do not use.
    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let mut available = offered(&offer);
            let mut tasks = Vec::new();
            while self.launched < self.tasks {
                let Some(resources) = take(&mut available, &self.resources) else { break };
                let id = format!("hello-{}", self.launched);
                tasks.push(command_task(&id, &id, &offer, &resources, &self.command));
                self.launched += 1;
            }
            if tasks.is_empty() {
                // Nothing to run: keep this agent's resources away for a minute.
                driver.decline(&offer.id, Some(refuse_for(std::time::Duration::from_secs(60))));
            } else {
                println!("launching {} task(s) on agent {}", tasks.len(), offer.slave_id.value);
                driver.launch(&offer.id, tasks, None);
            }
        }
    }

    // Step 3: follow the tasks; stop when all ended.
    fn status_update(&mut self, driver: &mut SchedulerDriver, status: &TaskStatus) {
        println!("task {} is {}", status.task_id.value, status.state().as_str_name());
        if !status.state().is_terminal() {
            return;
        }
        if status.state() == TaskState::TaskFinished {
            self.finished += 1;
        } else {
            self.failed += 1;
        }
        if self.finished + self.failed == self.tasks {
            driver.stop(false);
        }
    }

    fn error(&mut self, _driver: &mut SchedulerDriver, message: &str) {
        eprintln!("framework error: {message}");
    }
}
