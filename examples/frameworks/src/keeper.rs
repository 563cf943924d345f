//! `keeper`: a tiny Marathon. Keeps `instances` copies of a command running:
//!
//! - a task that ends is replaced (offers are revived so the replacement starts soon);
//! - the FrameworkID is written to `--state_file`, and the framework subscribes with a
//!   `failover_timeout`, so a restarted keeper takes its framework (and its running
//!   tasks) back instead of starting over;
//! - after every (re-)registration it *reconciles* before launching anything: it asks
//!   the master for the state of every task of the framework (implicit reconciliation,
//!   Mesos docs/reconciliation.md), adopts the running ones, and only then fills the gap.
//!   Without that, a restarted keeper would launch N more copies;
//! - it reconciles periodically too, to catch updates lost in a master failover.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mesos_framework::scheduler::{Scheduler, SchedulerDriver, refuse_for};
use mesos_framework::tasks::{command_task, offered, take};
use mesos_proto::mesos::{self, FrameworkId, MasterInfo, Offer, TaskState, TaskStatus};
use mesos_proto::resources::Resources;

/// How long reconciliation answers are awaited before launching again. The master
/// answers an implicit reconciliation at once; this covers a slow network.
pub const RECONCILE_WINDOW: Duration = Duration::from_secs(5);

/// How often the keeper reconciles while running.
pub const RECONCILE_PERIOD: Duration = Duration::from_secs(60);

/// Timer kinds, in the low digit of a timer token (the rest is the epoch).
const END_OF_RECONCILIATION: u64 = 1;
const PERIODIC_RECONCILIATION: u64 = 2;

/// What to keep running.
#[derive(Clone, Debug)]
pub struct KeeperConfig {
    /// How many copies.
    pub instances: usize,
    /// The shell command.
    pub command: String,
    /// What each copy needs.
    pub resources: Resources,
    /// Where the FrameworkID is kept across restarts.
    pub state_file: Option<PathBuf>,
}

/// The keeper scheduler.
pub struct Keeper {
    config: KeeperConfig,
    /// Tasks believed alive (not terminal), by id.
    tasks: BTreeMap<String, TaskState>,
    /// Tasks this keeper killed itself (their end is not a failure).
    killing: Vec<String>,
    next_serial: u64,
    reconciling: bool,
    /// Distinguishes timers of successive registrations.
    epoch: u64,
    /// Tasks replaced after they ended.
    pub restarts: usize,
}

impl Keeper {
    /// A keeper for `config`.
    pub fn new(config: KeeperConfig) -> Keeper {
        Keeper {
            config,
            tasks: BTreeMap::new(),
            killing: Vec::new(),
            next_serial: 0,
            reconciling: true,
            epoch: 0,
            restarts: 0,
        }
    }

    /// The FrameworkID saved by an earlier run, if any.
    pub fn saved_framework_id(state_file: &std::path::Path) -> Option<FrameworkId> {
        let text = std::fs::read_to_string(state_file).ok()?;
        let value = text.trim().to_string();
        (!value.is_empty()).then_some(FrameworkId { value })
    }

    /// The ids of the tasks believed alive.
    pub fn live_tasks(&self) -> Vec<String> {
        self.tasks.keys().cloned().collect()
    }

    fn begin_reconciliation(&mut self, driver: &mut SchedulerDriver) {
        self.reconciling = true;
        self.epoch += 1;
        // Explicit first (the tasks we know), then implicit (every task the master
        // knows, including ones launched by an earlier run of this keeper).
        let known: Vec<(mesos::TaskId, Option<mesos::SlaveId>)> =
            self.tasks.keys().map(|id| (mesos::TaskId { value: id.clone() }, None)).collect();
        if !known.is_empty() {
            driver.reconcile(known);
        }
        driver.reconcile(Vec::new());
        driver.schedule(RECONCILE_WINDOW, self.epoch * 10 + END_OF_RECONCILIATION);
        driver.schedule(RECONCILE_PERIOD, self.epoch * 10 + PERIODIC_RECONCILIATION);
    }

    fn adopt(&mut self, task_id: &str, state: TaskState) {
        if let Some(serial) = task_id.strip_prefix("keeper-").and_then(|n| n.parse::<u64>().ok()) {
            self.next_serial = self.next_serial.max(serial + 1);
        }
        let previous = self.tasks.insert(task_id.to_string(), state);
        if state == TaskState::TaskRunning && previous != Some(TaskState::TaskRunning) {
            println!("task {task_id} running");
        }
    }

    fn save_framework_id(&self, framework_id: &FrameworkId) {
        let Some(path) = &self.config.state_file else { return };
        // A small synchronous write, once per registration.
        if let Err(error) = std::fs::write(path, &framework_id.value) {
            eprintln!("cannot save the framework id to {}: {error}", path.display());
        }
    }
}

impl Scheduler for Keeper {
    fn registered(
        &mut self,
        driver: &mut SchedulerDriver,
        framework_id: &FrameworkId,
        _master: &MasterInfo,
    ) {
        println!("keeper registered as {}", framework_id.value);
        self.save_framework_id(framework_id);
        self.begin_reconciliation(driver);
    }

    fn reregistered(&mut self, driver: &mut SchedulerDriver, _master: &MasterInfo) {
        println!("keeper re-registered");
        self.begin_reconciliation(driver);
    }

    fn disconnected(&mut self, _driver: &mut SchedulerDriver) {
        println!("keeper lost its master; the driver is looking for it");
    }

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let missing = self.config.instances.saturating_sub(self.tasks.len());
            if self.reconciling || missing == 0 {
                driver.decline(&offer.id, Some(refuse_for(Duration::from_secs(10))));
                continue;
            }
            let mut available = offered(&offer);
            let mut tasks = Vec::new();
            while tasks.len() < missing {
                let Some(resources) = take(&mut available, &self.config.resources) else { break };
                let id = format!("keeper-{}", self.next_serial);
                self.next_serial += 1;
                tasks.push(command_task(&id, "keeper", &offer, &resources, &self.config.command));
                self.tasks.insert(id, TaskState::TaskStaging);
            }
            if tasks.is_empty() {
                driver.decline(&offer.id, None);
            } else {
                println!("keeper launching {} task(s)", tasks.len());
                driver.launch(&offer.id, tasks, None);
            }
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: &TaskStatus) {
        let task_id = status.task_id.value.clone();
        let state = status.state();
        if !state.is_terminal() {
            self.adopt(&task_id, state);
            // More copies than wanted (reconciliation found extras): kill the newest.
            while self.tasks.len() > self.config.instances {
                let Some((extra, _)) = self.tasks.pop_last() else { break };
                self.killing.push(extra.clone());
                driver.kill(&mesos::TaskId { value: extra });
            }
            return;
        }
        let was_live = self.tasks.remove(&task_id).is_some();
        let killed_by_us = self.killing.iter().any(|t| t == &task_id);
        self.killing.retain(|t| t != &task_id);
        if was_live && !killed_by_us {
            println!("task {task_id} ended ({}); replacing it", state.as_str_name());
            self.restarts += 1;
            driver.revive(Vec::new());
        }
    }

    fn timer(&mut self, driver: &mut SchedulerDriver, token: u64) {
        let (epoch, kind) = (token / 10, token % 10);
        if epoch != self.epoch {
            return; // from before the last (re-)registration
        }
        match kind {
            END_OF_RECONCILIATION => {
                self.reconciling = false;
                println!("keeper reconciled: {} task(s) alive", self.tasks.len());
                driver.revive(Vec::new());
            }
            PERIODIC_RECONCILIATION => {
                driver.reconcile(Vec::new());
                driver.schedule(RECONCILE_PERIOD, self.epoch * 10 + PERIODIC_RECONCILIATION);
            }
            _ => {}
        }
    }

    fn error(&mut self, _driver: &mut SchedulerDriver, message: &str) {
        eprintln!("keeper: framework error: {message}");
    }
}
