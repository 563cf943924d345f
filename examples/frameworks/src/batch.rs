//! `batch`: a job split into tasks run by a custom executor — Monte-Carlo pi.
//!
//! The scheduler cuts `samples` throws of a dart into `tasks` tasks, each carrying its
//! own seed and share in `TaskInfo.data`. The executor ([`PiExecutor`]) throws the darts
//! in small chunks (one timer tick each, so the executor stays responsive to kills),
//! then reports `inside/samples` twice: as a framework message (fast, best effort) and
//! in the terminal status update's `data` (reliable). The scheduler takes whichever
//! comes first and prints 4 * inside / samples.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use mesos_framework::executor::{Executor, ExecutorDriver};
use mesos_framework::scheduler::{Scheduler, SchedulerDriver, refuse_for};
use mesos_framework::tasks::{executor_task, offered, take};
use mesos_proto::mesos::{self, Offer, TaskState, TaskStatus};
use mesos_proto::resources::Resources;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Darts thrown per executor timer tick.
pub const CHUNK: u64 = 20_000;

/// One task's share of the job, as carried in `TaskInfo.data`: `"<seed> <samples>"`.
pub fn encode_share(seed: u64, samples: u64) -> Vec<u8> {
    format!("{seed} {samples}").into_bytes()
}

fn decode_share(data: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(data).ok()?;
    let (seed, samples) = text.trim().split_once(' ')?;
    Some((seed.parse().ok()?, samples.parse().ok()?))
}

/// A result, as sent back: `"<task id> <inside> <samples>"`.
fn decode_result(data: &[u8]) -> Option<(String, u64, u64)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.split_whitespace();
    Some((parts.next()?.to_string(), parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Throws `samples` darts at the unit square with `seed`; returns how many land inside
/// the quarter circle. The same computation the executor does, chunk by chunk.
pub fn throw(rng: &mut StdRng, samples: u64) -> u64 {
    (0..samples)
        .filter(|_| {
            let (x, y): (f64, f64) = (rng.random(), rng.random());
            x * x + y * y <= 1.0
        })
        .count() as u64
}

/// The batch job's scheduler.
pub struct Batch {
    tasks: u64,
    samples_per_task: u64,
    resources: Resources,
    executor: mesos::ExecutorInfo,
    executor_resources: Resources,
    launched: u64,
    /// Agents where our executor already runs (its resources are taken once).
    executors_on: HashSet<String>,
    /// Results by task id: (inside, samples).
    pub results: BTreeMap<String, (u64, u64)>,
    /// Tasks that ended without finishing.
    pub failed: u64,
    /// The estimate, once every result is in.
    pub pi: Option<f64>,
}

impl Batch {
    /// A job of `tasks` tasks of `samples_per_task` darts, run by executors started with
    /// `executor_command`.
    pub fn new(
        tasks: u64,
        samples_per_task: u64,
        resources: Resources,
        executor_command: &str,
    ) -> Batch {
        let executor_resources = Resources::parse("cpus:0.1;mem:32").expect("a valid constant");
        let mut executor = mesos_framework::tasks::executor_info(
            "pi-executor",
            "Monte-Carlo pi",
            executor_command,
        );
        executor.resources = executor_resources.to_protos();
        Batch {
            tasks,
            samples_per_task,
            resources,
            executor,
            executor_resources,
            launched: 0,
            executors_on: HashSet::new(),
            results: BTreeMap::new(),
            failed: 0,
            pi: None,
        }
    }

    fn record(&mut self, driver: &mut SchedulerDriver, task_id: String, inside: u64, samples: u64) {
        self.results.entry(task_id).or_insert((inside, samples));
        if self.results.len() as u64 == self.tasks && self.pi.is_none() {
            let (inside, samples) =
                self.results.values().fold((0, 0), |(i, s), (a, b)| (i + a, s + b));
            let pi = 4.0 * inside as f64 / samples as f64;
            println!("pi is about {pi:.6} ({inside} of {samples} darts inside)");
            self.pi = Some(pi);
            driver.stop(false);
        }
    }
}

impl Scheduler for Batch {
    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let mut available = offered(&offer);
            let mut tasks = Vec::new();
            let agent = offer.slave_id.value.clone();
            if !self.executors_on.contains(&agent) && self.launched < self.tasks {
                if take(&mut available, &self.executor_resources).is_none() {
                    driver.decline(&offer.id, None);
                    continue;
                }
                self.executors_on.insert(agent.clone());
            }
            while self.launched < self.tasks {
                let Some(resources) = take(&mut available, &self.resources) else { break };
                let id = format!("pi-{}", self.launched);
                let share = encode_share(self.launched + 1, self.samples_per_task);
                tasks.push(executor_task(
                    &id,
                    &id,
                    &offer,
                    &resources,
                    self.executor.clone(),
                    share,
                ));
                self.launched += 1;
            }
            if tasks.is_empty() {
                driver.decline(&offer.id, Some(refuse_for(Duration::from_secs(60))));
            } else {
                driver.launch(&offer.id, tasks, None);
            }
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: &TaskStatus) {
        let state = status.state();
        if state == TaskState::TaskFinished {
            if let Some((task_id, inside, samples)) = status.data.as_deref().and_then(decode_result)
            {
                self.record(driver, task_id, inside, samples);
            }
        } else if state.is_terminal() {
            eprintln!(
                "task {} ended {}: the job cannot complete",
                status.task_id.value,
                state.as_str_name()
            );
            self.failed += 1;
            driver.stop(false);
        }
    }

    fn framework_message(
        &mut self,
        driver: &mut SchedulerDriver,
        _executor: &mesos::ExecutorId,
        _agent: &mesos::SlaveId,
        data: &[u8],
    ) {
        if let Some((task_id, inside, samples)) = decode_result(data) {
            self.record(driver, task_id, inside, samples);
        }
    }
}

/// One task in progress on the executor.
struct Throwing {
    task_id: mesos::TaskId,
    rng: StdRng,
    remaining: u64,
    samples: u64,
    inside: u64,
}

/// The batch job's executor.
#[derive(Default)]
pub struct PiExecutor {
    jobs: HashMap<u64, Throwing>,
    next_token: u64,
}

fn status(task_id: &mesos::TaskId, state: TaskState, data: Option<Vec<u8>>) -> TaskStatus {
    TaskStatus { task_id: task_id.clone(), state: state as i32, data, ..Default::default() }
}

impl Executor for PiExecutor {
    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: mesos::TaskInfo) {
        let Some((seed, samples)) = task.data.as_deref().and_then(decode_share) else {
            let mut failed = status(&task.task_id, TaskState::TaskFailed, None);
            failed.message = Some("task data is not '<seed> <samples>'".into());
            let _ = driver.send_status_update(failed);
            return;
        };
        self.next_token += 1;
        let job = Throwing {
            task_id: task.task_id.clone(),
            rng: StdRng::seed_from_u64(seed),
            remaining: samples,
            samples,
            inside: 0,
        };
        self.jobs.insert(self.next_token, job);
        let _ = driver.send_status_update(status(&task.task_id, TaskState::TaskRunning, None));
        driver.schedule(Duration::ZERO, self.next_token);
    }

    fn timer(&mut self, driver: &mut ExecutorDriver, token: u64) {
        let Some(job) = self.jobs.get_mut(&token) else { return }; // killed meanwhile
        let chunk = job.remaining.min(CHUNK);
        job.inside += throw(&mut job.rng, chunk);
        job.remaining -= chunk;
        if job.remaining > 0 {
            driver.schedule(Duration::ZERO, token);
            return;
        }
        let Some(job) = self.jobs.remove(&token) else { return };
        let result = format!("{} {} {}", job.task_id.value, job.inside, job.samples).into_bytes();
        let _ = driver.send_framework_message(result.clone());
        let _ =
            driver.send_status_update(status(&job.task_id, TaskState::TaskFinished, Some(result)));
    }

    fn kill_task(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &mesos::TaskId,
        _kill_policy: Option<&mesos::KillPolicy>,
    ) {
        self.jobs.retain(|_, job| &job.task_id != task_id);
        let _ = driver.send_status_update(status(task_id, TaskState::TaskKilled, None));
    }
}
