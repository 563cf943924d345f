//! The executor driver against a scripted fake agent on a simulated network: Mesos's
//! executor protocol message by message (exec.cpp), agent restarts, shutdowns.

use std::sync::Arc;
use std::time::Duration;

use libprocess::{Clock, Context, Hooks, Node, Pid, Process, ProcessRef, SimNetwork};
use mesos_framework::executor::{
    Executor, ExecutorDriver, ExecutorEnv, ExecutorHandle, MAX_STATUS_UPDATE_RETRIES, Notifier,
    STATUS_UPDATE_RETRY_INTERVAL, spawn_executor,
};
use mesos_framework::scheduler::DriverStatus;
use mesos_proto::mesos::{self, TaskState, internal};
use tokio::sync::mpsc;

libprocess::protocol! {
    /// What the scripted agent receives from an executor.
    #[derive(Debug, Clone)]
    enum FromExecutor {
        Register(internal::RegisterExecutorMessage),
        Reregister(internal::ReregisterExecutorMessage),
        Update(internal::StatusUpdateMessage),
        Message(internal::ExecutorToFrameworkMessage),
    }
}

/// Records what executors send.
struct ScriptedAgent {
    tx: mpsc::UnboundedSender<(Pid, FromExecutor)>,
}

impl Process for ScriptedAgent {
    type Message = FromExecutor;
    fn on_message(&mut self, from: Pid, message: FromExecutor, _ctx: &mut Context<'_, Self>) {
        let _ = self.tx.send((from, message));
    }
}

/// Answers each task with TASK_RUNNING; a kill with TASK_KILLED; echoes framework
/// messages back; records its callbacks.
#[derive(Default)]
struct Echoing {
    calls: Vec<String>,
    /// Stop the driver on shutdown (a well-behaved executor).
    stop_on_shutdown: bool,
    /// Taken when registered, for the test to play work finishing off the driver.
    notifier: Option<Notifier>,
}

/// What a test sends through the [`Notifier`]: the task's work ended; report
/// TASK_FINISHED and stop the driver (as the command executor does).
struct Finished(mesos::TaskId);

fn status(task_id: &mesos::TaskId, state: TaskState) -> mesos::TaskStatus {
    mesos::TaskStatus { task_id: task_id.clone(), state: state as i32, ..Default::default() }
}

impl Executor for Echoing {
    fn registered(
        &mut self,
        driver: &mut ExecutorDriver,
        _e: &mesos::ExecutorInfo,
        _f: &mesos::FrameworkInfo,
        _a: &mesos::SlaveInfo,
    ) {
        self.calls.push("registered".into());
        self.notifier = Some(driver.notifier());
    }
    fn notified(&mut self, driver: &mut ExecutorDriver, notice: Box<dyn std::any::Any + Send>) {
        let Ok(finished) = notice.downcast::<Finished>() else { panic!("unexpected notice") };
        self.calls.push(format!("finished {}", finished.0.value));
        driver.send_status_update(status(&finished.0, TaskState::TaskFinished)).unwrap();
        driver.stop();
    }
    fn reregistered(&mut self, _d: &mut ExecutorDriver, _a: &mesos::SlaveInfo) {
        self.calls.push("reregistered".into());
    }
    fn disconnected(&mut self, _d: &mut ExecutorDriver) {
        self.calls.push("disconnected".into());
    }
    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: mesos::TaskInfo) {
        self.calls.push(format!("launch {}", task.task_id.value));
        driver.send_status_update(status(&task.task_id, TaskState::TaskRunning)).unwrap();
    }
    fn kill_task(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &mesos::TaskId,
        kill_policy: Option<&mesos::KillPolicy>,
    ) {
        let grace = kill_policy.and_then(|p| p.grace_period.as_ref()).map(|d| d.nanoseconds);
        self.calls.push(match grace {
            Some(nanos) => format!("kill {} grace {nanos}ns", task_id.value),
            None => format!("kill {}", task_id.value),
        });
        driver.send_status_update(status(task_id, TaskState::TaskKilled)).unwrap();
    }
    fn framework_message(&mut self, driver: &mut ExecutorDriver, data: &[u8]) {
        self.calls.push(format!("message {}", String::from_utf8_lossy(data)));
        driver.send_framework_message(data.to_vec()).unwrap();
    }
    fn shutdown(&mut self, driver: &mut ExecutorDriver) {
        self.calls.push("shutdown".into());
        if self.stop_on_shutdown {
            driver.stop();
        }
    }
}

struct Rig {
    sim: SimNetwork,
    clock: Clock,
    hooks: Arc<Hooks>,
    agent_node: Node,
    agent: ProcessRef<ScriptedAgent>,
    rx: mpsc::UnboundedReceiver<(Pid, FromExecutor)>,
    executor: ExecutorHandle<Echoing>,
}

const AGENT: &str = "10.0.1.1:5051";

fn node(sim: &SimNetwork, clock: &Clock, hooks: &Arc<Hooks>, address: &str) -> Node {
    Node::builder(address.parse().unwrap())
        .simulated(sim)
        .clock(clock.clone())
        .hooks(hooks.clone())
        .start()
        .unwrap()
}

fn env(checkpoint: bool) -> ExecutorEnv {
    ExecutorEnv {
        agent: format!("slave(1)@{AGENT}").parse().unwrap(),
        agent_id: mesos::SlaveId { value: "agent-S0".into() },
        framework_id: mesos::FrameworkId { value: "fw-0000".into() },
        executor_id: mesos::ExecutorId { value: "exec".into() },
        directory: "/sandbox".into(),
        sandbox: "/sandbox".into(),
        checkpoint,
        recovery_timeout: Duration::from_secs(60),
        shutdown_grace_period: Duration::from_secs(5),
        authentication_token: None,
    }
}

impl Rig {
    fn start(checkpoint: bool, executor: Echoing) -> Rig {
        let (sim, clock, hooks) = (SimNetwork::new(), Clock::paused(), Arc::new(Hooks::default()));
        let agent_node = node(&sim, &clock, &hooks, AGENT);
        let (tx, rx) = mpsc::unbounded_channel();
        let agent = agent_node.spawn("slave(1)", ScriptedAgent { tx }).unwrap();
        let executor_node = node(&sim, &clock, &hooks, "10.0.3.1:40000");
        let executor = spawn_executor(&executor_node, env(checkpoint), executor, 7).unwrap();
        Rig { sim, clock, hooks, agent_node, agent, rx, executor }
    }

    async fn settle(&self) {
        self.clock.settle().await;
    }

    fn drain(&mut self) -> Vec<FromExecutor> {
        let mut all = Vec::new();
        while let Ok((_, m)) = self.rx.try_recv() {
            all.push(m);
        }
        all
    }

    fn send<T: libprocess::ProtoMessage>(&self, message: T) {
        self.agent_node.send(self.agent.pid(), self.executor.pid(), message);
    }

    /// Registers the executor and runs task `t1`; returns the TASK_RUNNING update.
    async fn register_and_run(&mut self) -> internal::StatusUpdate {
        self.settle().await;
        let registered = internal::ExecutorRegisteredMessage {
            executor_info: mesos::ExecutorInfo {
                executor_id: env(false).executor_id,
                ..Default::default()
            },
            framework_id: env(false).framework_id,
            slave_id: env(false).agent_id,
            ..Default::default()
        };
        self.send(registered);
        let task =
            mesos::TaskInfo { task_id: mesos::TaskId { value: "t1".into() }, ..Default::default() };
        self.send(internal::RunTaskMessage { task, ..Default::default() });
        self.settle().await;
        let messages = self.drain();
        assert!(
            matches!(&messages[0], FromExecutor::Register(r) if r.executor_id.value == "exec" && r.framework_id.value == "fw-0000")
        );
        match &messages[1] {
            FromExecutor::Update(u) => u.update.clone(),
            other => panic!("expected an update, got {other:?}"),
        }
    }

    fn ack(&self, update: &internal::StatusUpdate) {
        self.send(internal::StatusUpdateAcknowledgementMessage {
            slave_id: env(false).agent_id,
            framework_id: env(false).framework_id,
            task_id: update.status.task_id.clone(),
            uuid: update.uuid.clone().unwrap_or_default(),
        });
    }

    async fn calls(&self) -> Vec<String> {
        self.executor.inspect(|e, _| e.calls.clone()).await.unwrap()
    }

    async fn notifier(&self) -> Notifier {
        self.executor.inspect(|e, _| e.notifier.clone().expect("registered")).await.unwrap()
    }

    /// Kills the agent's node and starts a new agent at the same address.
    async fn restart_agent(&mut self) {
        self.agent_node.shutdown().await;
        self.settle().await;
        let agent_node = node(&self.sim, &self.clock, &self.hooks, AGENT);
        let (tx, rx) = mpsc::unbounded_channel();
        self.agent = agent_node.spawn("slave(1)", ScriptedAgent { tx }).unwrap();
        self.agent_node = agent_node;
        self.rx = rx;
    }
}

/// The driver registers with the agent named by MESOS_SLAVE_PID, runs the task it is
/// given, and sends its update as Mesos does: a fresh uuid in both the update and the
/// status, the agent id, the executor id, a timestamp, and its own pid.
#[actix_rt::test]
async fn registers_runs_and_sends_updates_like_mesos() {
    let mut rig = Rig::start(false, Echoing::default());
    let update = rig.register_and_run().await;
    assert_eq!(update.status.state(), TaskState::TaskRunning);
    let uuid = update.uuid.clone().unwrap();
    assert_eq!(uuid.len(), 16);
    assert_eq!(update.status.uuid.as_ref(), Some(&uuid));
    assert_eq!(update.status.slave_id.as_ref().map(|s| s.value.as_str()), Some("agent-S0"));
    assert_eq!(update.executor_id.as_ref().map(|e| e.value.as_str()), Some("exec"));
    assert_eq!(update.framework_id.value, "fw-0000");
    assert_eq!(rig.calls().await, ["registered", "launch t1"]);

    rig.send(internal::FrameworkToExecutorMessage { data: b"ping".to_vec(), ..Default::default() });
    rig.send(internal::KillTaskMessage {
        task_id: update.status.task_id.clone(),
        ..Default::default()
    });
    rig.settle().await;
    let messages = rig.drain();
    assert!(
        matches!(&messages[0], FromExecutor::Message(m) if m.data == b"ping" && m.executor_id.value == "exec")
    );
    assert!(
        matches!(&messages[1], FromExecutor::Update(u) if u.update.status.state() == TaskState::TaskKilled && u.update.uuid.as_ref() != Some(&uuid))
    );
}

/// An update the agent does not acknowledge is resent every retry interval with the
/// same uuid, at most MAX_STATUS_UPDATE_RETRIES times; an acknowledged one never.
#[actix_rt::test]
async fn unacknowledged_updates_are_resent_a_bounded_number_of_times() {
    let mut rig = Rig::start(false, Echoing::default());
    let update = rig.register_and_run().await;
    let mut resent = 0;
    for _ in 0..MAX_STATUS_UPDATE_RETRIES + 3 {
        rig.clock.advance(STATUS_UPDATE_RETRY_INTERVAL);
        rig.settle().await;
        for message in rig.drain() {
            let FromExecutor::Update(u) = message else { panic!("unexpected {message:?}") };
            assert_eq!(u.update.uuid, update.uuid);
            resent += 1;
        }
    }
    assert_eq!(resent, MAX_STATUS_UPDATE_RETRIES);

    let mut rig = Rig::start(false, Echoing::default());
    let update = rig.register_and_run().await;
    rig.ack(&update);
    rig.settle().await;
    assert_eq!(rig.executor.inspect(|_, core| core.unacknowledged_updates()).await.unwrap(), 0);
    rig.clock.advance(STATUS_UPDATE_RETRY_INTERVAL * 3);
    rig.settle().await;
    assert!(rig.drain().is_empty());
}

/// `SlaveRecoveryTest.ReconnectExecutor` (its executor side): with checkpointing, the
/// agent's death only disconnects the executor; the restarted agent's
/// ReconnectExecutorMessage gets a ReregisterExecutorMessage carrying the
/// unacknowledged update and task, and ExecutorReregistered resumes it.
#[actix_rt::test]
async fn checkpointing_executor_reconnects_to_a_restarted_agent() {
    let mut rig = Rig::start(true, Echoing::default());
    let update = rig.register_and_run().await;
    rig.restart_agent().await;
    assert_eq!(rig.calls().await.last().map(String::as_str), Some("disconnected"));
    rig.send(internal::ReconnectExecutorMessage { slave_id: env(true).agent_id });
    rig.settle().await;
    let messages = rig.drain();
    let [FromExecutor::Reregister(reregister)] = messages.as_slice() else {
        panic!("got {messages:?}")
    };
    assert_eq!(reregister.updates.len(), 1);
    assert_eq!(reregister.updates[0].uuid, update.uuid);
    assert_eq!(reregister.tasks.len(), 1);
    rig.send(internal::ExecutorReregisteredMessage {
        slave_id: env(true).agent_id,
        slave_info: Default::default(),
    });
    rig.settle().await;
    assert_eq!(rig.calls().await.last().map(String::as_str), Some("reregistered"));
    rig.clock.advance(Duration::from_secs(120));
    rig.settle().await;
    assert!(
        !rig.calls().await.contains(&"shutdown".to_string()),
        "the recovery timeout is void once reconnected"
    );
}

/// With checkpointing, an agent that does not come back within MESOS_RECOVERY_TIMEOUT
/// makes the executor shut down; a well-behaved executor stops its driver then.
#[actix_rt::test]
async fn recovery_timeout_shuts_the_executor_down() {
    let mut rig = Rig::start(true, Echoing { stop_on_shutdown: true, ..Default::default() });
    rig.register_and_run().await;
    rig.agent_node.shutdown().await;
    rig.settle().await;
    rig.clock.advance(Duration::from_secs(59));
    rig.settle().await;
    assert!(!rig.calls().await.contains(&"shutdown".to_string()));
    rig.clock.advance(Duration::from_secs(1));
    rig.settle().await;
    let (executor, status) = rig.executor.join().await.unwrap();
    assert_eq!(executor.calls.last().map(String::as_str), Some("shutdown"));
    assert_eq!(status, DriverStatus::Stopped);
}

/// Without checkpointing, the agent's death shuts the executor down at once.
#[actix_rt::test]
async fn without_checkpointing_agent_exit_shuts_down() {
    let mut rig = Rig::start(false, Echoing { stop_on_shutdown: true, ..Default::default() });
    rig.register_and_run().await;
    rig.agent_node.shutdown().await;
    rig.settle().await;
    let (executor, _) = rig.executor.join().await.unwrap();
    assert_eq!(executor.calls, ["registered", "launch t1", "shutdown"]);
}

/// ShutdownExecutorMessage calls `shutdown`; an executor that does not stop its driver
/// is aborted after the shutdown grace period, and not before.
#[actix_rt::test]
async fn shutdown_grace_period_bounds_a_stuck_executor() {
    let mut rig = Rig::start(false, Echoing::default());
    let update = rig.register_and_run().await;
    rig.ack(&update);
    rig.send(internal::ShutdownExecutorMessage::default());
    rig.settle().await;
    rig.clock.advance(Duration::from_secs(4));
    rig.settle().await;
    assert_eq!(rig.calls().await.last().map(String::as_str), Some("shutdown"));
    rig.clock.advance(Duration::from_secs(1));
    rig.settle().await;
    let (_, status) = rig.executor.join().await.unwrap();
    assert_eq!(status, DriverStatus::Aborted { message: "shutdown grace period elapsed".into() });
}

/// `stop` right after a terminal update waits for the agent's acknowledgement, so
/// the update is not lost with the executor's process.
#[actix_rt::test]
async fn stop_waits_for_the_last_acknowledgement() {
    struct FinishAndStop;
    impl Executor for FinishAndStop {
        fn launch_task(&mut self, driver: &mut ExecutorDriver, task: mesos::TaskInfo) {
            driver.send_status_update(status(&task.task_id, TaskState::TaskFinished)).unwrap();
            driver.stop();
        }
        fn kill_task(
            &mut self,
            _driver: &mut ExecutorDriver,
            _task_id: &mesos::TaskId,
            _kill_policy: Option<&mesos::KillPolicy>,
        ) {
        }
    }
    let (sim, clock, hooks) = (SimNetwork::new(), Clock::paused(), Arc::new(Hooks::default()));
    let agent_node = node(&sim, &clock, &hooks, AGENT);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let agent = agent_node.spawn("slave(1)", ScriptedAgent { tx }).unwrap();
    let executor_node = node(&sim, &clock, &hooks, "10.0.3.1:40000");
    let executor = spawn_executor(&executor_node, env(false), FinishAndStop, 1).unwrap();
    clock.settle().await;
    agent_node.send(agent.pid(), executor.pid(), internal::ExecutorRegisteredMessage::default());
    let task =
        mesos::TaskInfo { task_id: mesos::TaskId { value: "t1".into() }, ..Default::default() };
    agent_node.send(
        agent.pid(),
        executor.pid(),
        internal::RunTaskMessage { task, ..Default::default() },
    );
    clock.settle().await;
    let _register = rx.try_recv().unwrap();
    let Ok((_, FromExecutor::Update(update))) = rx.try_recv() else { panic!("no update") };
    assert!(
        executor_node.has_process(executor.pid().id()),
        "still waiting for the acknowledgement"
    );
    let ack = internal::StatusUpdateAcknowledgementMessage {
        task_id: update.update.status.task_id.clone(),
        uuid: update.update.uuid.clone().unwrap(),
        ..Default::default()
    };
    agent_node.send(agent.pid(), executor.pid(), ack);
    clock.settle().await;
    let (_, status) = executor.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
}

/// The scheduler's kill policy in a KillTaskMessage reaches `kill_task` (the command
/// executor's grace period comes from it; Mesos: v1 executor `Event::Kill`).
#[actix_rt::test]
async fn kill_task_gets_the_kill_policy() {
    let mut rig = Rig::start(false, Echoing::default());
    let update = rig.register_and_run().await;
    let kill_policy = mesos::KillPolicy {
        grace_period: Some(mesos::DurationInfo { nanoseconds: 3_000_000_000 }),
    };
    rig.send(internal::KillTaskMessage {
        task_id: update.status.task_id.clone(),
        kill_policy: Some(kill_policy),
        ..Default::default()
    });
    rig.send(internal::KillTaskMessage {
        task_id: update.status.task_id.clone(),
        ..Default::default()
    });
    rig.settle().await;
    assert_eq!(rig.calls().await[2..], ["kill t1 grace 3000000000ns", "kill t1"]);
}

/// A notice sent from another thread reaches `notified` on the driver, which can act
/// on it as in any callback; once the driver has ended, `notify` says so.
#[actix_rt::test]
async fn notifier_delivers_work_done_off_the_driver() {
    let mut rig = Rig::start(false, Echoing::default());
    let update = rig.register_and_run().await;
    rig.ack(&update);
    rig.settle().await;
    let notifier = rig.notifier().await;
    let task_id = update.status.task_id.clone();
    let from_thread = notifier.clone();
    let sent = std::thread::spawn(move || from_thread.notify(Finished(task_id))).join().unwrap();
    assert!(sent);
    rig.settle().await;
    assert_eq!(rig.calls().await, ["registered", "launch t1", "finished t1"]);
    let messages = rig.drain();
    let [FromExecutor::Update(finished)] = messages.as_slice() else { panic!("got {messages:?}") };
    assert_eq!(finished.update.status.state(), TaskState::TaskFinished);
    rig.ack(&finished.update);
    rig.settle().await;
    let (_, status) = rig.executor.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    assert!(!notifier.notify(Finished(update.status.task_id)), "the driver is gone");
}

/// A checkpointing executor whose task ends while its agent is away keeps the
/// terminal update past `stop`: the restarted agent gets it on the re-registration,
/// acknowledges it, and only then does the driver end (the old command executor's
/// behaviour, now the driver's for every executor).
#[actix_rt::test]
async fn stop_while_the_agent_is_away_waits_for_the_restarted_agent() {
    let mut rig = Rig::start(true, Echoing::default());
    let update = rig.register_and_run().await;
    rig.ack(&update);
    rig.settle().await;
    let notifier = rig.notifier().await;
    rig.restart_agent().await;
    assert!(notifier.notify(Finished(update.status.task_id.clone())));
    rig.settle().await;
    rig.clock.advance(Duration::from_secs(10)); // past the shutdown grace period
    rig.settle().await;
    assert!(rig.executor.process().is_alive(), "waiting for the agent to recover");

    rig.send(internal::ReconnectExecutorMessage { slave_id: env(true).agent_id });
    rig.settle().await;
    let messages = rig.drain();
    let [FromExecutor::Reregister(reregister)] = messages.as_slice() else {
        panic!("got {messages:?}")
    };
    let [finished] = reregister.updates.as_slice() else { panic!("got {reregister:?}") };
    assert_eq!(finished.status.state(), TaskState::TaskFinished);
    rig.send(internal::ExecutorReregisteredMessage {
        slave_id: env(true).agent_id,
        slave_info: Default::default(),
    });
    rig.settle().await;
    assert!(rig.executor.process().is_alive(), "waiting for the acknowledgement");
    rig.ack(finished);
    rig.settle().await;
    let (executor, status) = rig.executor.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    assert!(!executor.calls.contains(&"reregistered".to_string()), "a stopped driver");
}

/// ... and if the agent never comes back, the driver ends at the recovery timeout.
#[actix_rt::test]
async fn stop_while_the_agent_is_away_ends_at_the_recovery_timeout() {
    let mut rig = Rig::start(true, Echoing::default());
    let update = rig.register_and_run().await;
    rig.ack(&update);
    rig.settle().await;
    let notifier = rig.notifier().await;
    rig.agent_node.shutdown().await;
    rig.settle().await;
    assert!(notifier.notify(Finished(update.status.task_id.clone())));
    rig.settle().await;
    rig.clock.advance(Duration::from_secs(59));
    rig.settle().await;
    assert!(rig.executor.process().is_alive());
    rig.clock.advance(Duration::from_secs(1));
    rig.settle().await;
    let (_, status) = rig.executor.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
}
