//! An in-memory containerizer for simulated-network tests (Mesos: `TestContainerizer`).
//!
//! Launching a container spawns our real [`CommandExecutor`] (or, for a task group's
//! `mesos-default-executor`, our real [`DefaultExecutor`]) on the SDK's executor driver, on the executors' simulated node, with the environment the agent computed; its
//! task runs through a [`FakeRunner`], so no OS process is started and everything
//! happens on the paused clock. The [`FakeWorld`] is the "machine": it outlives agent
//! restarts, so a restarted agent's new containerizer finds the executors still there.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use libprocess::{Node, Pid, ProcessRef};
use mesos_agent::AgentError;
use mesos_agent::containerizer::{Containerizer, LaunchRequest, Signal, Termination};
use mesos_agent::default_executor::DefaultExecutor;
use mesos_agent::executor::{CommandExecutor, OnExit, TaskRunner};
use mesos_framework::checks::{OnProbeDone, Probe, ProbeContext, ProbeResult, Prober};
use mesos_framework::executor::{ExecutorEnv, ExecutorProcess, spawn_executor};
use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::{CommandInfo, ResourceStatistics};
use parking_lot::Mutex;

/// A task "process" of the fake world.
pub struct FakeTask {
    /// The container it runs in.
    pub container: ContainerId,
    /// Its command.
    pub command: String,
    /// Signals it received, in order.
    pub signals: Vec<Signal>,
    on_exit: Option<OnExit>,
}

/// The executor's libprocess process, whichever executor it runs.
pub enum FakeProcess {
    Command(ProcessRef<ExecutorProcess<CommandExecutor>>),
    Default(ProcessRef<ExecutorProcess<DefaultExecutor>>),
}

impl FakeProcess {
    pub fn is_alive(&self) -> bool {
        match self {
            FakeProcess::Command(p) => p.is_alive(),
            FakeProcess::Default(p) => p.is_alive(),
        }
    }

    pub fn pid(&self) -> &Pid {
        match self {
            FakeProcess::Command(p) => p.pid(),
            FakeProcess::Default(p) => p.pid(),
        }
    }
}

/// An executor "process" of the fake world.
pub struct FakeExecutor {
    pub process: FakeProcess,
    pub os_pid: u32,
    /// How it ended, if a signal ended it (a raw wait status).
    killed_by: Option<i32>,
}

#[derive(Default)]
struct World {
    executors: BTreeMap<ContainerId, FakeExecutor>,
    tasks: BTreeMap<u32, FakeTask>,
    next_pid: u32,
    /// Tasks ignore SIGTERM (only SIGKILL ends them).
    ignore_term: bool,
    /// What every check probe answers at once; `None`: probes hang.
    probe_answer: Option<ProbeResult>,
    /// Probes started so far.
    probes: usize,
    /// The kernel's OOM kills so far (one count for the whole world).
    oom_kills: u64,
}

impl World {
    fn pid(&mut self) -> u32 {
        self.next_pid += 1;
        100_000 + self.next_pid
    }
}

/// The simulated machine: executors and tasks, shared by every containerizer.
#[derive(Clone, Default)]
pub struct FakeWorld(Arc<Mutex<World>>);

impl FakeWorld {
    /// Makes tasks ignore SIGTERM from now on.
    pub fn ignore_term(&self, ignore: bool) {
        self.0.lock().ignore_term = ignore;
    }

    /// Every check probe from now on answers `answer` at once (`None`: hangs).
    pub fn answer_probes(&self, answer: Option<ProbeResult>) {
        self.0.lock().probe_answer = answer;
    }

    /// Check probes started so far.
    pub fn probes(&self) -> usize {
        self.0.lock().probes
    }

    /// The kernel's OOM killer kills the task `pid` (SIGKILL, and the count rises).
    pub fn oom_kill(&self, pid: u32) {
        self.0.lock().oom_kills += 1;
        self.exit(pid, 9);
    }

    /// The running task whose command contains `text`: its fake pid.
    pub fn task(&self, text: &str) -> Option<u32> {
        self.0.lock().tasks.iter().find(|(_, t)| t.command.contains(text)).map(|(pid, _)| *pid)
    }

    /// Signals the task `pid` received so far.
    pub fn signals(&self, pid: u32) -> Vec<Signal> {
        self.0.lock().tasks.get(&pid).map(|t| t.signals.clone()).unwrap_or_default()
    }

    /// The task `pid` exits by itself with the raw wait status `status` (0: success).
    pub fn exit(&self, pid: u32, status: i32) {
        let on_exit = self.0.lock().tasks.get_mut(&pid).and_then(|t| t.on_exit.take());
        if let Some(on_exit) = on_exit {
            on_exit(Some(status));
        }
    }

    /// True while the task `pid` runs.
    pub fn task_running(&self, pid: u32) -> bool {
        self.0.lock().tasks.get(&pid).is_some_and(|t| t.on_exit.is_some())
    }

    /// The executor of `container`: its libprocess pid, if it still runs.
    pub fn executor(&self, container: &ContainerId) -> Option<Pid> {
        self.0
            .lock()
            .executors
            .get(container)
            .filter(|e| e.process.is_alive())
            .map(|e| e.process.pid().clone())
    }

    /// Every executor process ever launched and whether it still runs.
    pub fn executors(&self) -> Vec<(ContainerId, Pid, bool)> {
        let world = self.0.lock();
        world
            .executors
            .iter()
            .map(|(c, e)| (c.clone(), e.process.pid().clone(), e.process.is_alive()))
            .collect()
    }
}

/// Runs a command executor's task inside the fake world.
pub struct FakeRunner {
    world: FakeWorld,
    container: ContainerId,
}

impl TaskRunner for FakeRunner {
    fn start(
        &mut self,
        command: &CommandInfo,
        _sandbox: &Path,
        on_exit: OnExit,
    ) -> Result<u32, String> {
        let mut world = self.world.0.lock();
        let pid = world.pid();
        let task = FakeTask {
            container: self.container.clone(),
            command: command.value.clone().unwrap_or_default(),
            signals: Vec::new(),
            on_exit: Some(on_exit),
        };
        world.tasks.insert(pid, task);
        Ok(pid)
    }

    fn signal(&mut self, task: u32, signal: Signal) {
        let on_exit = {
            let mut world = self.world.0.lock();
            let ignore_term = world.ignore_term;
            let Some(entry) = world.tasks.get_mut(&task) else { return };
            entry.signals.push(signal);
            let dies = signal == Signal::Kill || !ignore_term;
            if dies { entry.on_exit.take() } else { None }
        };
        if let Some(on_exit) = on_exit {
            on_exit(Some(if signal == Signal::Kill { 9 } else { 15 }));
        }
    }

    fn oom_kills(&self) -> Option<u64> {
        Some(self.oom_count())
    }
}

impl FakeRunner {
    fn oom_count(&self) -> u64 {
        self.world.0.lock().oom_kills
    }
}

/// Runs an executor's check probes inside the fake world.
#[derive(Clone)]
pub struct FakeProber {
    world: FakeWorld,
}

impl Prober for FakeProber {
    fn run(
        &mut self,
        _probe: &Probe,
        _timeout: Option<std::time::Duration>,
        _context: &ProbeContext,
        done: OnProbeDone,
    ) {
        let answer = {
            let mut world = self.world.0.lock();
            world.probes += 1;
            world.probe_answer.clone()
        };
        if let Some(answer) = answer {
            done(answer);
        }
    }
}

/// The containerizer one agent incarnation uses.
pub struct FakeContainerizer {
    world: FakeWorld,
    node: Node,
    watched: Vec<ContainerId>,
}

impl FakeContainerizer {
    /// Executors run on `node`.
    pub fn new(world: FakeWorld, node: Node) -> FakeContainerizer {
        FakeContainerizer { world, node, watched: Vec::new() }
    }
}

impl Containerizer for FakeContainerizer {
    fn launch(&mut self, request: LaunchRequest) -> Result<Option<u32>, AgentError> {
        let launch_error = |reason: String| AgentError::Launch {
            executor_id: request.container_id.to_string(),
            reason,
        };
        let env = ExecutorEnv::from_lookup(|name| request.env.get(name).cloned())
            .map_err(|e| launch_error(e.to_string()))?;
        let runner =
            FakeRunner { world: self.world.clone(), container: request.container_id.clone() };
        let os_pid = self.world.0.lock().pid();
        let prober = FakeProber { world: self.world.clone() };
        let default =
            request.command.value.as_deref().is_some_and(|c| c.ends_with("mesos-default-executor"));
        // Only the process is kept: the handle would keep the executor (and through its
        // runner this world) alive after the driver ends.
        let process = if default {
            let probers = Box::new(move || Box::new(prober.clone()) as Box<dyn Prober>);
            let executor = DefaultExecutor::with_probers(Box::new(runner), probers);
            let handle = spawn_executor(&self.node, env, executor, u64::from(os_pid))
                .map_err(|e| launch_error(e.to_string()))?;
            FakeProcess::Default(handle.process().clone())
        } else {
            let executor = CommandExecutor::with_prober(Box::new(runner), Box::new(prober));
            let handle = spawn_executor(&self.node, env, executor, u64::from(os_pid))
                .map_err(|e| launch_error(e.to_string()))?;
            FakeProcess::Command(handle.process().clone())
        };
        let mut world = self.world.0.lock();
        world.executors.insert(
            request.container_id.clone(),
            FakeExecutor { process, os_pid, killed_by: None },
        );
        self.watched.push(request.container_id);
        Ok(Some(os_pid))
    }

    fn recover(&mut self, container_id: &ContainerId, os_pid: Option<u32>) -> bool {
        let alive = self
            .world
            .0
            .lock()
            .executors
            .get(container_id)
            .is_some_and(|e| Some(e.os_pid) == os_pid && e.process.is_alive());
        if alive {
            self.watched.push(container_id.clone());
        }
        alive
    }

    /// A signal to the container's session ends the executor and its tasks (our
    /// executor has no SIGTERM handler, like `mesos-executor`).
    fn signal(&mut self, container_id: &ContainerId, signal: Signal) {
        if !self.watched.contains(container_id) {
            return;
        }
        let mut world = self.world.0.lock();
        let raw = if signal == Signal::Kill { 9 } else { 15 };
        if let Some(executor) = world.executors.get_mut(container_id)
            && executor.process.is_alive()
        {
            executor.killed_by = Some(raw);
            self.node.terminate(executor.process.pid());
        }
        for task in world.tasks.values_mut().filter(|t| &t.container == container_id) {
            task.signals.push(signal);
            task.on_exit = None;
        }
    }

    fn reap(&mut self) -> Vec<Termination> {
        let world = self.world.0.lock();
        let mut exited = Vec::new();
        self.watched.retain(|container_id| {
            let Some(executor) = world.executors.get(container_id) else { return false };
            if executor.process.is_alive() {
                return true;
            }
            let status = executor.killed_by.unwrap_or(0);
            let message =
                format!("Executor {}", mesos_agent::containerizer::describe_status(status));
            exited.push(Termination {
                container_id: container_id.clone(),
                status: Some(status),
                message,
            });
            false
        });
        exited
    }

    fn usage(&self, _container_id: &ContainerId) -> Option<ResourceStatistics> {
        None
    }
}
