//! `ping`: two executors play ping-pong through the scheduler, to show the message
//! paths: executor -> agent -> master -> scheduler (`ExecutorToFrameworkMessage`) and
//! scheduler -> master -> agent -> executor (MESSAGE / `FrameworkToExecutorMessage`).
//!
//! 1. The scheduler launches task `ping-a` on executor `ping-a` and `ping-b` on `ping-b`.
//! 2. When both run, it serves `ball 0` to `ping-a`.
//! 3. An executor that receives `ball k` hits back `ball k+1` to the scheduler, which
//!    passes it to the other executor.
//! 4. After `rounds` hits the scheduler kills both tasks and stops when they ended.

use std::collections::HashMap;
use std::time::Duration;

use mesos_framework::executor::{Executor, ExecutorDriver};
use mesos_framework::scheduler::{Scheduler, SchedulerDriver, refuse_for};
use mesos_framework::tasks::{executor_task, offered, take};
use mesos_proto::mesos::{self, Offer, TaskState, TaskStatus};
use mesos_proto::resources::Resources;

const PLAYERS: [&str; 2] = ["ping-a", "ping-b"];

fn ball(data: &[u8]) -> Option<u64> {
    std::str::from_utf8(data).ok()?.strip_prefix("ball ")?.trim().parse().ok()
}

/// The ping scheduler.
pub struct Ping {
    rounds: u64,
    resources: Resources,
    executor_command: String,
    /// Players launched, and where: player -> agent.
    placed: HashMap<String, mesos::SlaveId>,
    running: Vec<String>,
    ended: usize,
    served: bool,
    /// Every hit seen: (who hit, ball number).
    pub hits: Vec<(String, u64)>,
}

impl Ping {
    /// A game of `rounds` hits between two executors started with `executor_command`.
    pub fn new(rounds: u64, resources: Resources, executor_command: &str) -> Ping {
        Ping {
            rounds,
            resources,
            executor_command: executor_command.to_string(),
            placed: HashMap::new(),
            running: Vec::new(),
            ended: 0,
            served: false,
            hits: Vec::new(),
        }
    }

    fn executor(&self, player: &str) -> mesos::ExecutorInfo {
        let mut info =
            mesos_framework::tasks::executor_info(player, player, &self.executor_command);
        info.resources =
            Resources::parse("cpus:0.1;mem:32").map(|r| r.to_protos()).unwrap_or_default();
        info
    }

    fn send(&self, driver: &mut SchedulerDriver, player: &str, number: u64) {
        if let Some(agent) = self.placed.get(player) {
            let executor = mesos::ExecutorId { value: player.to_string() };
            driver.send_message(agent, &executor, format!("ball {number}").into_bytes());
        }
    }
}

impl Scheduler for Ping {
    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let mut available = offered(&offer);
            let mut tasks = Vec::new();
            let unplaced: Vec<&str> =
                PLAYERS.iter().copied().filter(|p| !self.placed.contains_key(*p)).collect();
            for player in unplaced {
                let executor = self.executor(player);
                let executor_resources =
                    Resources::from_protos(executor.resources.clone()).unwrap_or_default();
                let mut want = self.resources.clone();
                want += &executor_resources;
                let Some(mut resources) = take(&mut available, &want) else { break };
                let mut executor_share = executor_resources.clone();
                if let Some(role) = resources.allocations().keys().next().cloned() {
                    executor_share.allocate(&role);
                }
                resources = resources.checked_sub(&executor_share).unwrap_or(resources);
                tasks.push(executor_task(player, player, &offer, &resources, executor, Vec::new()));
                self.placed.insert(player.to_string(), offer.slave_id.clone());
            }
            if tasks.is_empty() {
                driver.decline(&offer.id, Some(refuse_for(Duration::from_secs(60))));
            } else {
                driver.launch(&offer.id, tasks, None);
            }
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: &TaskStatus) {
        let player = status.task_id.value.clone();
        if status.state() == TaskState::TaskRunning && !self.running.contains(&player) {
            self.running.push(player);
            if self.running.len() == PLAYERS.len() && !self.served {
                self.served = true;
                println!("both players ready; serving");
                self.send(driver, PLAYERS[0], 0);
            }
        } else if status.state().is_terminal() {
            self.ended += 1;
            if self.ended == PLAYERS.len() {
                driver.stop(false);
            }
        }
    }

    fn framework_message(
        &mut self,
        driver: &mut SchedulerDriver,
        executor: &mesos::ExecutorId,
        _agent: &mesos::SlaveId,
        data: &[u8],
    ) {
        let Some(number) = ball(data) else { return };
        let from = executor.value.clone();
        println!("{from} hit ball {number}");
        self.hits.push((from.clone(), number));
        if number >= self.rounds {
            for player in PLAYERS {
                driver.kill(&mesos::TaskId { value: player.to_string() });
            }
            return;
        }
        let other = if from == PLAYERS[0] { PLAYERS[1] } else { PLAYERS[0] };
        self.send(driver, other, number);
    }
}

/// The ping executor: hits every ball back, one number higher.
#[derive(Default)]
pub struct PingExecutor {
    task: Option<mesos::TaskId>,
}

impl Executor for PingExecutor {
    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: mesos::TaskInfo) {
        let running = TaskStatus {
            task_id: task.task_id.clone(),
            state: TaskState::TaskRunning as i32,
            ..Default::default()
        };
        let _ = driver.send_status_update(running);
        self.task = Some(task.task_id);
    }

    fn framework_message(&mut self, driver: &mut ExecutorDriver, data: &[u8]) {
        if let Some(number) = ball(data) {
            let _ = driver.send_framework_message(format!("ball {}", number + 1).into_bytes());
        }
    }

    fn kill_task(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &mesos::TaskId,
        _kill_policy: Option<&mesos::KillPolicy>,
    ) {
        let killed = TaskStatus {
            task_id: task_id.clone(),
            state: TaskState::TaskKilled as i32,
            ..Default::default()
        };
        let _ = driver.send_status_update(killed);
        // One task per executor: the game is over for this player.
        driver.stop();
    }
}
