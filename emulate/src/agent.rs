//! One emulated agent: a libprocess process named `slave(N)` that speaks the agent's
//! side of the real master protocol with no containerizer behind it.
//!
//! 1. It registers (`RegisterSlaveMessage`), or, built with an id, re-registers
//!    (`ReregisterSlaveMessage` with the frameworks and tasks it runs), again with
//!    backoff while unanswered ([`Detector`]).
//! 2. Registered, it links to the master that answered and answers its pings.
//! 3. `RunTaskMessage`: the task runs at once (`TASK_RUNNING`); with a task duration it
//!    finishes after it (`TASK_FINISHED`; durations may spread normally around it). `KillTaskMessage`: `TASK_KILLED`. A task
//!    whose terminal update the master acknowledged is forgotten.
//! 4. When the link breaks, or a master names another leader, it re-registers with its
//!    tasks, as our real agents do (Mesos: slave.cpp `Slave::detected`,
//!    `Slave::doReliableRegistration`).
//!
//! Not emulated: executors, task groups, operations, update retries (an unacknowledged
//! update is re-sent only inside the next re-registration, as the task's state).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use libprocess::{Context, Pid, Process, Time};
use mesos_proto::inbox::AgentInbox;
use mesos_proto::mesos::{self, TaskState, internal};
use prost::Message as _;

use crate::Detector;

/// The most tasks one emulated agent holds; a launch beyond it is answered
/// `TASK_DROPPED` (the master only launches what the agent's resources hold, so this is
/// reached only with tiny task resources).
pub const MAX_TASKS: usize = 10_000;

/// The wire name of `ReregisterSlaveMessage` (a unit test checks it against prost's).
const REREGISTER_SLAVE: &str = "mesos.internal.ReregisterSlaveMessage";

/// The Mesos version emulated agents announce.
const VERSION: &str = "1.11.0";

/// What an agent reports running besides the tasks it was given, made from its id at
/// each re-registration (so that 40,000 agents do not each keep them in memory): the
/// benchmark load of [`crate::load::running`]. The frameworks and their running tasks,
/// and completed frameworks with their finished tasks (Mesos's
/// `ReregisterSlaveMessage.completed_frameworks`).
pub type Running = Arc<
    dyn Fn(
            &mesos::SlaveId,
        )
            -> (Vec<mesos::FrameworkInfo>, Vec<mesos::Task>, Vec<internal::archive::Framework>)
        + Send
        + Sync,
>;

/// What happened to an emulated agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `SlaveRegisteredMessage`: the master admitted the agent under a new id.
    Registered,
    /// `SlaveReregisteredMessage`: the master took the agent (and its tasks) back.
    Reregistered,
    /// The link to the master it was registered with broke.
    Disconnected,
    /// A task of a `RunTaskMessage` runs (`TASK_RUNNING` sent).
    TaskRunning,
    /// A task finished (`TASK_FINISHED` sent).
    TaskFinished,
}

/// One report line: agent `agent` saw `kind` from `master` at `at` (the node's clock).
#[derive(Debug, Clone)]
pub struct Event {
    /// The agent's number (0-based; its process is `slave(agent + 1)`).
    pub agent: usize,
    /// What happened.
    pub kind: EventKind,
    /// The master concerned.
    pub master: Pid,
    /// When, on the libprocess clock.
    pub at: Time,
}

/// Where agents report their events; called on the agent's thread, so it must not block.
pub type Report = Arc<dyn Fn(Event) + Send + Sync>;

/// An emulated agent; spawn it on a node, then [`Agent::start`] it.
pub struct Agent {
    number: usize,
    info: mesos::SlaveInfo,
    running: Running,
    detector: Detector,
    report: Report,
    /// How long launched tasks run before `TASK_FINISHED` (`None`: until killed): the
    /// mean, and the standard deviation of a normal spread around it.
    task_duration: Option<Duration>,
    task_spread: Duration,
    /// The random source of the spread: splitmix64, seeded by the agent's number so runs
    /// replay.
    rng: u64,
    /// Tasks launched here, by task id, with their frameworks.
    tasks: HashMap<String, mesos::Task>,
    frameworks: HashMap<String, mesos::FrameworkInfo>,
    /// Status updates sent (makes each update's uuid unique).
    updates: u64,
    /// The master shut this agent down: it stays silent.
    shut_down: bool,
    /// The re-registration last sent, encoded: re-sent as it is (to any master, after
    /// a failover too) until what it reports changes, so a retry costs no building or
    /// encoding (157k instructions for the FAIL-1 load), and a master sees the same
    /// bytes it may recognise as a copy. Kept while registered (3.3 KB per agent for the
    /// FAIL-1 load: 132 MB at 40,000 agents), as Mesos's benchmark keeps each agent's
    /// message built; a launch, a task's end or a framework's shutdown drops it.
    reregistration: Option<Bytes>,
}

impl Agent {
    /// Agent `number`; with an id in `info` it starts by re-registering. Re-registrations
    /// carry the frameworks and tasks that `running` makes plus those launched here.
    pub fn new(
        number: usize,
        info: mesos::SlaveInfo,
        running: Running,
        detector: Detector,
        report: Report,
    ) -> Agent {
        Agent {
            number,
            info,
            running,
            detector,
            report,
            task_duration: None,
            task_spread: Duration::ZERO,
            rng: number as u64,
            tasks: HashMap::new(),
            frameworks: HashMap::new(),
            updates: 0,
            shut_down: false,
            reregistration: None,
        }
    }

    /// Launched tasks finish after `duration` (default: they run until killed).
    pub fn with_task_duration(mut self, duration: Option<Duration>) -> Agent {
        self.task_duration = duration;
        self
    }

    /// Task durations spread normally around the mean of [`Agent::with_task_duration`]
    /// with standard deviation `spread` (the Mesos paper's scalability run, section 6.5:
    /// tasks of 30 s mean, 10 s deviation), never shorter than a tenth of the mean.
    pub fn set_task_spread(&mut self, spread: Duration) {
        self.task_spread = spread;
    }

    /// The next task's duration: the mean, or a draw around it (see [`Agent::set_task_spread`]).
    fn next_task_duration(&mut self) -> Option<Duration> {
        let mean = self.task_duration?;
        if self.task_spread.is_zero() {
            return Some(mean);
        }
        let z = standard_normal(&mut self.rng);
        let secs = mean.as_secs_f64() + z * self.task_spread.as_secs_f64();
        Some(Duration::from_secs_f64(secs.max(mean.as_secs_f64() / 10.0)))
    }

    /// Registers with the master it was given, and again with backoff while unanswered
    /// (the leader may change meanwhile: a follower then names the new one).
    pub fn start(&mut self, ctx: &mut Context<'_, Self>) {
        self.detector.starting();
        self.register(ctx);
        let next = self.detector.retry();
        ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
    }

    /// `leader` leads (a master or the caller says so): re-register with it unless
    /// already waiting for its answer.
    pub fn detected(&mut self, leader: Pid, ctx: &mut Context<'_, Self>) {
        self.follow(None, leader, ctx);
    }

    /// `from` (a master, or the caller when `None`) says `leader` leads: (re-)register
    /// there unless already waiting for it or registered with it in its current term.
    fn follow(&mut self, from: Option<&Pid>, leader: Pid, ctx: &mut Context<'_, Self>) {
        // Attached, no retry timer runs: start one for the new leader.
        let attached = !self.detector.detached;
        if !self.shut_down && self.detector.announced(from, leader) {
            self.register(ctx);
            if attached {
                let next = self.detector.retry();
                ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
            }
        }
    }

    /// Sends its (re-)registration to the current master again now, attached or not:
    /// `detected` ignores the master it is registered with. The API-1 bench uses it to
    /// change the master's state by one agent before each query.
    pub fn reregister_now(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.shut_down {
            self.register(ctx);
        }
    }

    /// Sends a (re-)registration to the current master.
    fn register(&mut self, ctx: &mut Context<'_, Self>) {
        let to = self.detector.current.clone();
        let Some(id) = &self.info.id else {
            let message = internal::RegisterSlaveMessage {
                slave: self.info.clone(),
                version: Some(VERSION.into()),
                ..Default::default()
            };
            return ctx.send(&to, message);
        };
        if self.reregistration.is_none() {
            let (mut frameworks, mut tasks, completed_frameworks) = (self.running)(id);
            frameworks.extend(self.frameworks.values().cloned());
            tasks.extend(self.tasks.values().cloned());
            let message = internal::ReregisterSlaveMessage {
                slave: self.info.clone(),
                version: Some(VERSION.into()),
                frameworks,
                tasks,
                completed_frameworks,
                ..Default::default()
            };
            self.reregistration = Some(Bytes::from(message.encode_to_vec()));
        }
        if let Some(bytes) = &self.reregistration {
            ctx.send_raw(&to, REREGISTER_SLAVE, bytes.clone());
        }
    }

    fn emit(&self, kind: EventKind, master: Pid, ctx: &Context<'_, Self>) {
        (self.report)(Event { agent: self.number, kind, master, at: ctx.now() });
    }

    fn on_registered(
        &mut self,
        from: Pid,
        id: mesos::SlaveId,
        kind: EventKind,
        ctx: &mut Context<'_, Self>,
    ) {
        if self.info.id.as_ref() != Some(&id) {
            self.reregistration = None; // it names the agent
        }
        self.info.id = Some(id);
        self.detector.attached(from.clone());
        ctx.link(&from);
        self.emit(kind, from, ctx);
    }

    fn on_retry_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if self.detector.detached && !self.shut_down {
            let next = self.detector.retry();
            self.register(ctx);
            ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
        }
    }

    fn on_run_task(&mut self, m: internal::RunTaskMessage, ctx: &mut Context<'_, Self>) {
        let Some(framework_id) = m.framework.id.clone() else {
            return; // A launch without a framework id cannot be answered.
        };
        let Some(slave_id) = self.info.id.clone() else {
            return; // Not registered yet: the master cannot have meant us.
        };
        let task = mesos::Task {
            name: m.task.name.clone(),
            task_id: m.task.task_id.clone(),
            framework_id: framework_id.clone(),
            executor_id: m.task.executor.as_ref().map(|e| e.executor_id.clone()),
            slave_id,
            state: TaskState::TaskRunning as i32,
            resources: m.task.resources.clone(),
            labels: m.task.labels.clone(),
            ..Default::default()
        };
        if self.tasks.len() >= MAX_TASKS {
            return self.send_update(&task, TaskState::TaskDropped, ctx);
        }
        self.reregistration = None; // it would report this task now
        self.frameworks.insert(framework_id.value.clone(), m.framework);
        self.send_update(&task, TaskState::TaskRunning, ctx);
        let id = task.task_id.value.clone();
        self.tasks.insert(id.clone(), task);
        self.emit(EventKind::TaskRunning, self.detector.current.clone(), ctx);
        if let Some(duration) = self.next_task_duration() {
            ctx.delay(duration, move |p, ctx| p.on_task_timeout(id, ctx));
        }
    }

    /// A launched task's duration is over: it finished.
    fn on_task_timeout(&mut self, task_id: String, ctx: &mut Context<'_, Self>) {
        self.end_task(&task_id, TaskState::TaskFinished, ctx);
        if self.tasks.contains_key(&task_id) {
            self.emit(EventKind::TaskFinished, self.detector.current.clone(), ctx);
        }
    }

    /// Moves a running task to the terminal `state` and says so; it is forgotten once
    /// the master acknowledges.
    fn end_task(&mut self, task_id: &str, state: TaskState, ctx: &mut Context<'_, Self>) {
        let Some(task) = self.tasks.get_mut(task_id) else { return };
        if task.state != TaskState::TaskRunning as i32 {
            return;
        }
        task.state = state as i32;
        let task = task.clone();
        self.reregistration = None;
        self.send_update(&task, state, ctx);
    }

    fn send_update(&mut self, task: &mesos::Task, state: TaskState, ctx: &mut Context<'_, Self>) {
        self.updates += 1;
        // Unique per agent and update: the agent's number, then the update's.
        let mut uuid = (self.number as u64).to_be_bytes().to_vec();
        uuid.extend(self.updates.to_be_bytes());
        let now = ctx.now().secs_f64();
        let status = mesos::TaskStatus {
            task_id: task.task_id.clone(),
            state: state as i32,
            slave_id: Some(task.slave_id.clone()),
            executor_id: task.executor_id.clone(),
            source: Some(mesos::task_status::Source::Executor as i32),
            timestamp: Some(now),
            uuid: Some(uuid.clone()),
            ..Default::default()
        };
        let update = internal::StatusUpdate {
            framework_id: task.framework_id.clone(),
            executor_id: task.executor_id.clone(),
            slave_id: Some(task.slave_id.clone()),
            status,
            timestamp: now,
            uuid: Some(uuid),
            latest_state: None,
        };
        let message = internal::StatusUpdateMessage { update, pid: Some(ctx.pid().to_string()) };
        ctx.send(&self.detector.current.clone(), message);
    }

    fn on_ack(&mut self, m: internal::StatusUpdateAcknowledgementMessage) {
        let terminal = self
            .tasks
            .get(&m.task_id.value)
            .is_some_and(|t| t.state != TaskState::TaskRunning as i32);
        if !terminal {
            return;
        }
        let Some(task) = self.tasks.remove(&m.task_id.value) else { return };
        self.reregistration = None;
        // Forget the framework with its last task: 200 frameworks launching on every
        // agent left 200 `FrameworkInfo`s on each of 50,000 agents. The scan is bounded
        // by MAX_TASKS (an agent holds a few tasks in the benchmarks).
        let id = &task.framework_id;
        if !self.tasks.values().any(|t| t.framework_id == *id) {
            self.frameworks.remove(&id.value);
        }
    }

    fn on_shutdown_framework(&mut self, framework_id: &mesos::FrameworkId) {
        self.tasks.retain(|_, t| t.framework_id != *framework_id);
        self.frameworks.remove(&framework_id.value);
        self.reregistration = None;
    }
}

/// A standard normal draw (Box-Muller) from two splitmix64 steps of `state`.
fn standard_normal(state: &mut u64) -> f64 {
    let mut uniform = || {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits as a fraction in (0, 1]: never 0, so the logarithm is finite.
        ((z >> 11) + 1) as f64 / (1u64 << 53) as f64
    };
    let (u1, u2) = (uniform(), uniform());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Process for Agent {
    type Message = AgentInbox;

    fn on_message(&mut self, from: Pid, message: AgentInbox, ctx: &mut Context<'_, Self>) {
        if self.shut_down {
            return;
        }
        match message {
            AgentInbox::Registered(m) => {
                self.on_registered(from, m.slave_id, EventKind::Registered, ctx)
            }
            AgentInbox::Reregistered(m) => {
                self.on_registered(from, m.slave_id, EventKind::Reregistered, ctx)
            }
            AgentInbox::Ping(_) => ctx.send(&from, internal::PongSlaveMessage {}),
            AgentInbox::NewMaster(m) => {
                if let Ok(pid) = m.pid.parse::<Pid>() {
                    self.follow(Some(&from), pid, ctx);
                }
            }
            AgentInbox::RunTask(m) => self.on_run_task(m, ctx),
            AgentInbox::KillTask(m) => self.end_task(&m.task_id.value, TaskState::TaskKilled, ctx),
            AgentInbox::Ack(m) => self.on_ack(m),
            AgentInbox::ShutdownFramework(m) => self.on_shutdown_framework(&m.framework_id),
            // Mesos: slave.cpp `Slave::shutdown`; the master removed this agent.
            AgentInbox::Shutdown(_) => self.shut_down = true,
            // No executors, no checkpointed resources, no draining and no operation
            // feedback here (the emulated agent advertises no AGENT_OPERATION_FEEDBACK,
            // so masters send it no operations): nothing to do.
            AgentInbox::ShutdownExecutor(_)
            | AgentInbox::UpdateFramework(_)
            | AgentInbox::FrameworkToExecutor(_)
            | AgentInbox::CheckpointResources(_)
            | AgentInbox::Drain(_)
            | AgentInbox::ApplyOperation(_)
            | AgentInbox::AckOperation(_)
            | AgentInbox::ReconcileOperations(_) => {}
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.detector.current && !self.detector.detached && !self.shut_down {
            self.emit(EventKind::Disconnected, pid, ctx);
            self.detector.lost();
            self.register(ctx);
            let first = self.detector.first_rotation();
            ctx.delay(first, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name re-registrations are sent under is the message's protobuf name.
    #[test]
    fn the_reregistration_name_is_the_protobuf_name() {
        assert_eq!(
            REREGISTER_SLAVE,
            <internal::ReregisterSlaveMessage as prost::Name>::full_name()
        );
    }

    /// The spread's draws are standard normal: mean near 0, deviation near 1, and the
    /// same sequence from the same seed.
    #[test]
    fn standard_normal_draws_have_mean_zero_and_deviation_one() {
        let mut state = 7;
        let draws: Vec<f64> = (0..20_000).map(|_| super::standard_normal(&mut state)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var.sqrt() - 1.0).abs() < 0.03, "deviation {}", var.sqrt());
        let mut again = 7;
        assert_eq!(super::standard_normal(&mut again), draws[0]);
    }
}
