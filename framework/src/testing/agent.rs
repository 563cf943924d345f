//! A fake agent: speaks the agent's side of the master and executor protocols, with
//! command tasks decided by a policy instead of run, and executors run in-process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::{
    Body, Context, DecodeError, Inbound, MessageName, Node, Pid, Process, ProcessRef,
};
use mesos_proto::inbox::AgentInbox;
use mesos_proto::mesos::{self, TaskState, internal, task_status};
use mesos_proto::resources::Resources;

use crate::executor::ExecutorEnv;

/// How often the fake agent retries registration while it has no master.
const REGISTRATION_RETRY: Duration = Duration::from_secs(1);

/// What happens to a command task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    /// TASK_RUNNING, then TASK_FINISHED at once.
    Finish,
    /// TASK_RUNNING, then TASK_FAILED at once.
    Fail,
    /// TASK_RUNNING until killed (or ended by [`FakeAgent::end_task`]).
    Run,
}

/// Decides the outcome of each command task.
pub type CommandPolicy = Box<dyn Fn(&mesos::TaskInfo) -> TaskOutcome + Send>;

/// Starts an executor in-process on the agent's node with the environment a real agent
/// would give it; returns the executor's pid (the agent links to it).
pub type ExecutorLauncher =
    Box<dyn FnMut(&Node, ExecutorEnv) -> Result<Pid, crate::FrameworkError> + Send>;

/// What a fake agent is.
pub struct AgentConfig {
    /// Its resources, in `--resources` syntax.
    pub resources: String,
    /// Masters to (re-)register with, tried in order.
    pub masters: Vec<Pid>,
    /// The outcome of command tasks.
    pub policy: CommandPolicy,
    /// How custom executors start.
    pub launcher: Option<ExecutorLauncher>,
    /// `MESOS_CHECKPOINT` for executors.
    pub checkpoint: bool,
}

impl AgentConfig {
    /// An agent with `resources` where `sleep ...` commands run until killed, commands
    /// containing `exit 1` or `false` fail, and everything else finishes.
    pub fn new(resources: &str) -> AgentConfig {
        AgentConfig {
            resources: resources.to_string(),
            masters: Vec::new(),
            policy: Box::new(default_policy),
            launcher: None,
            checkpoint: false,
        }
    }

    /// Uses `policy` for command tasks.
    pub fn policy(
        mut self,
        policy: impl Fn(&mesos::TaskInfo) -> TaskOutcome + Send + 'static,
    ) -> AgentConfig {
        self.policy = Box::new(policy);
        self
    }

    /// Starts custom executors with `launcher`.
    pub fn launcher(
        mut self,
        launcher: impl FnMut(&Node, ExecutorEnv) -> Result<Pid, crate::FrameworkError> + Send + 'static,
    ) -> AgentConfig {
        self.launcher = Some(Box::new(launcher));
        self
    }

    /// Registers with these masters (in order, after failures).
    pub fn masters(mut self, masters: Vec<Pid>) -> AgentConfig {
        self.masters = masters;
        self
    }
}

fn default_policy(task: &mesos::TaskInfo) -> TaskOutcome {
    let command = task.command.as_ref().and_then(|c| c.value.clone()).unwrap_or_default();
    if command.contains("exit 1") || command.trim() == "false" {
        TaskOutcome::Fail
    } else if command.trim_start().starts_with("sleep") {
        TaskOutcome::Run
    } else {
        TaskOutcome::Finish
    }
}

libprocess::protocol! {
    /// What an executor sends the fake agent.
    pub enum FromExecutor {
        /// Register.
        RegisterExecutor(internal::RegisterExecutorMessage),
        /// A status update.
        StatusUpdate(internal::StatusUpdateMessage),
        /// A message for the scheduler.
        ExecutorToFramework(internal::ExecutorToFrameworkMessage),
    }
}

/// What the fake agent accepts: from masters, `mesos_proto`'s shared [`AgentInbox`] (the
/// one the master's test fakes and benchmark agents use too); from executors,
/// [`FromExecutor`].
pub enum FakeAgentMessage {
    /// From a master. Both variants are boxed: `AgentInbox` is some 3 KB and
    /// `FromExecutor` some 500 bytes, and neither should size every mailbox slot.
    Master(Box<AgentInbox>),
    /// From an executor.
    Executor(Box<FromExecutor>),
}

impl Inbound for FakeAgentMessage {
    fn decode(name: &MessageName, body: Body) -> Result<FakeAgentMessage, DecodeError> {
        // The two tables are disjoint (a master never sends what an executor does), so
        // the name alone says which one decodes the body.
        let from_executor = name.is::<internal::RegisterExecutorMessage>()
            || name.is::<internal::StatusUpdateMessage>()
            || name.is::<internal::ExecutorToFrameworkMessage>();
        if from_executor {
            FromExecutor::decode(name, body).map(|m| FakeAgentMessage::Executor(Box::new(m)))
        } else {
            AgentInbox::decode(name, body).map(|m| FakeAgentMessage::Master(Box::new(m)))
        }
    }

    fn names() -> Vec<String> {
        let mut names = AgentInbox::names();
        names.extend(FromExecutor::names());
        names
    }
}

/// One task the agent knows.
struct TaskEntry {
    framework_id: mesos::FrameworkId,
    info: mesos::TaskInfo,
    state: TaskState,
}

/// One custom executor.
struct ExecutorEntry {
    framework_id: mesos::FrameworkId,
    info: mesos::ExecutorInfo,
    /// The executor's driver, once it registered.
    pid: Option<Pid>,
    /// The pid the launcher returned (linked for exits).
    launched: Pid,
    /// Tasks waiting for the executor to register.
    queued: Vec<mesos::TaskInfo>,
}

/// The fake agent's process (`slave(1)`).
pub struct FakeAgentProcess {
    config: AgentConfig,
    master_index: usize,
    agent_id: Option<mesos::SlaveId>,
    connected: bool,
    retry_armed: bool,
    frameworks: HashMap<String, mesos::FrameworkInfo>,
    tasks: HashMap<String, TaskEntry>,
    executors: HashMap<String, ExecutorEntry>,
    next_uuid: u64,
    /// Acknowledgements received from the master (through the framework).
    pub acks: usize,
    /// Kill requests received.
    pub kills: usize,
    /// Framework shutdowns received.
    pub shutdowns: usize,
}

/// A handle to a running fake agent.
pub struct FakeAgent {
    /// The agent's machine.
    pub node: Node,
    /// The agent's process.
    pub process: ProcessRef<FakeAgentProcess>,
}

impl FakeAgent {
    pub(crate) fn spawn(node: Node, config: AgentConfig) -> FakeAgent {
        let process = FakeAgentProcess {
            config,
            master_index: 0,
            agent_id: None,
            connected: false,
            retry_armed: false,
            frameworks: HashMap::new(),
            tasks: HashMap::new(),
            executors: HashMap::new(),
            next_uuid: 0,
            acks: 0,
            kills: 0,
            shutdowns: 0,
        };
        let process = node.spawn("slave(1)", process).expect("a fresh node has no agent yet");
        FakeAgent { node, process }
    }

    /// The agent's pid.
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// Reads the agent's state.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&FakeAgentProcess) -> R + Send + 'static,
    ) -> R {
        self.process
            .dispatch(move |agent, _| f(agent))
            .await
            .expect("the fake agent runs as long as its test")
    }

    /// Every task and its latest state.
    pub async fn task_states(&self) -> HashMap<String, TaskState> {
        self.inspect(|agent| agent.tasks.iter().map(|(id, t)| (id.clone(), t.state)).collect())
            .await
    }

    /// The ids of tasks that are not terminal, sorted.
    pub async fn live_tasks(&self) -> Vec<String> {
        let mut live: Vec<String> = self
            .task_states()
            .await
            .into_iter()
            .filter(|(_, state)| !state.is_terminal())
            .map(|(id, _)| id)
            .collect();
        live.sort();
        live
    }

    /// Ends a running command task with `state` (a crash, an exit).
    pub async fn end_task(&self, task_id: &str, state: TaskState) {
        let task_id = task_id.to_string();
        self.process
            .dispatch(move |agent, ctx| agent.set_state(&task_id, state, "ended by the test", ctx))
            .await
            .expect("the fake agent runs as long as its test");
    }
}

impl FakeAgentProcess {
    fn master(&self) -> Pid {
        self.config.masters[self.master_index % self.config.masters.len()].clone()
    }

    fn info(&self) -> mesos::SlaveInfo {
        mesos::SlaveInfo {
            hostname: self.hostname(),
            port: Some(5051),
            resources: Resources::parse(&self.config.resources)
                .map(|r| r.to_protos())
                .unwrap_or_default(),
            id: self.agent_id.clone(),
            ..Default::default()
        }
    }

    fn hostname(&self) -> String {
        format!("agent-{}", self.config.resources.len())
    }

    /// Registers (or re-registers, with every task, once it has an id).
    fn register(&mut self, ctx: &mut Context<'_, Self>) {
        if self.connected {
            return;
        }
        let master = self.master();
        ctx.link(&master);
        if self.agent_id.is_none() {
            let message = internal::RegisterSlaveMessage {
                slave: self.info(),
                version: Some("1.11.0".into()),
                ..Default::default()
            };
            ctx.send(&master, message);
        } else {
            let tasks = self.tasks.values().map(|t| self.task_record(t)).collect();
            let message = internal::ReregisterSlaveMessage {
                slave: self.info(),
                tasks,
                executor_infos: self.executors.values().map(|e| e.info.clone()).collect(),
                frameworks: self.frameworks.values().cloned().collect(),
                version: Some("1.11.0".into()),
                ..Default::default()
            };
            ctx.send(&master, message);
        }
        self.arm_register(ctx);
    }

    /// One retry chain at a time, however many connections fail meanwhile.
    fn arm_register(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.retry_armed {
            self.retry_armed = true;
            ctx.delay(REGISTRATION_RETRY, |agent: &mut Self, ctx| {
                agent.retry_armed = false;
                agent.register(ctx);
            });
        }
    }

    fn task_record(&self, entry: &TaskEntry) -> mesos::Task {
        mesos::Task {
            name: entry.info.name.clone(),
            task_id: entry.info.task_id.clone(),
            framework_id: entry.framework_id.clone(),
            executor_id: entry.info.executor.as_ref().map(|e| e.executor_id.clone()),
            slave_id: self.agent_id.clone().unwrap_or_default(),
            state: entry.state as i32,
            resources: entry.info.resources.clone(),
            ..Default::default()
        }
    }

    /// Records a state change of a task and sends the update to the master.
    fn set_state(
        &mut self,
        task_id: &str,
        state: TaskState,
        message: &str,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(entry) = self.tasks.get_mut(task_id) else { return };
        if entry.state.is_terminal() {
            return;
        }
        entry.state = state;
        let framework_id = entry.framework_id.clone();
        self.next_uuid += 1;
        let uuid = format!("{:016}", self.next_uuid).into_bytes();
        let status = mesos::TaskStatus {
            task_id: mesos::TaskId { value: task_id.to_string() },
            state: state as i32,
            message: Some(message.to_string()),
            source: Some(task_status::Source::Executor as i32),
            slave_id: self.agent_id.clone(),
            uuid: Some(uuid.clone()),
            timestamp: Some(ctx.now().secs_f64()),
            ..Default::default()
        };
        let update = internal::StatusUpdate {
            framework_id,
            executor_id: None,
            slave_id: self.agent_id.clone(),
            status,
            timestamp: ctx.now().secs_f64(),
            uuid: Some(uuid),
            latest_state: None,
        };
        self.forward(update, ctx);
    }

    fn forward(&mut self, update: internal::StatusUpdate, ctx: &mut Context<'_, Self>) {
        let message = internal::StatusUpdateMessage { update, pid: Some(ctx.pid().to_string()) };
        ctx.send(&self.master(), message);
    }

    fn on_run_task(&mut self, message: internal::RunTaskMessage, ctx: &mut Context<'_, Self>) {
        let framework_id = message.framework.id.clone().unwrap_or_default();
        self.frameworks.insert(framework_id.value.clone(), message.framework.clone());
        let task = message.task;
        let task_id = task.task_id.value.clone();
        let entry = TaskEntry {
            framework_id: framework_id.clone(),
            info: task.clone(),
            state: TaskState::TaskStaging,
        };
        self.tasks.insert(task_id.clone(), entry);
        match task.executor.clone() {
            None => {
                let outcome = (self.config.policy)(&task);
                self.set_state(&task_id, TaskState::TaskRunning, "command started", ctx);
                match outcome {
                    TaskOutcome::Finish => self.set_state(
                        &task_id,
                        TaskState::TaskFinished,
                        "command exited with 0",
                        ctx,
                    ),
                    TaskOutcome::Fail => self.set_state(
                        &task_id,
                        TaskState::TaskFailed,
                        "command exited with 1",
                        ctx,
                    ),
                    TaskOutcome::Run => {}
                }
            }
            Some(executor) => self.run_on_executor(framework_id, executor, task, ctx),
        }
    }

    fn run_on_executor(
        &mut self,
        framework_id: mesos::FrameworkId,
        info: mesos::ExecutorInfo,
        task: mesos::TaskInfo,
        ctx: &mut Context<'_, Self>,
    ) {
        let key = format!("{}/{}", framework_id.value, info.executor_id.value);
        if let Some(entry) = self.executors.get_mut(&key) {
            match entry.pid.clone() {
                Some(pid) => ctx.send(&pid, run_task(&framework_id, &self.frameworks, task)),
                None => entry.queued.push(task),
            }
            return;
        }
        let env = ExecutorEnv {
            agent: ctx.pid().clone(),
            agent_id: self.agent_id.clone().unwrap_or_default(),
            framework_id: framework_id.clone(),
            executor_id: info.executor_id.clone(),
            directory: PathBuf::from(format!("/sandbox/{key}")),
            sandbox: PathBuf::from(format!("/sandbox/{key}")),
            checkpoint: self.config.checkpoint,
            recovery_timeout: crate::executor::DEFAULT_RECOVERY_TIMEOUT,
            shutdown_grace_period: crate::executor::DEFAULT_SHUTDOWN_GRACE_PERIOD,
            authentication_token: None,
        };
        let task_id = task.task_id.value.clone();
        let launched = match self.config.launcher.as_mut() {
            None => Err("this fake agent has no executor launcher".to_string()),
            Some(launch) => launch(ctx.node(), env).map_err(|e| e.to_string()),
        };
        match launched {
            Ok(pid) => {
                ctx.link(&pid);
                let entry = ExecutorEntry {
                    framework_id,
                    info,
                    pid: None,
                    launched: pid,
                    queued: vec![task],
                };
                self.executors.insert(key, entry);
            }
            Err(error) => self.set_state(&task_id, TaskState::TaskFailed, &error, ctx),
        }
    }

    fn on_register_executor(
        &mut self,
        from: Pid,
        message: internal::RegisterExecutorMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        let key = format!("{}/{}", message.framework_id.value, message.executor_id.value);
        let Some(entry) = self.executors.get_mut(&key) else {
            tracing::warn!(%from, key, "unknown executor registers");
            return;
        };
        entry.pid = Some(from.clone());
        let framework =
            self.frameworks.get(&message.framework_id.value).cloned().unwrap_or_default();
        let registered = internal::ExecutorRegisteredMessage {
            executor_info: entry.info.clone(),
            framework_id: entry.framework_id.clone(),
            framework_info: framework,
            slave_id: self.agent_id.clone().unwrap_or_default(),
            slave_info: mesos::SlaveInfo::default(),
        };
        ctx.send(&from, registered);
        let queued = std::mem::take(&mut entry.queued);
        let framework_id = entry.framework_id.clone();
        for task in queued {
            ctx.send(&from, run_task(&framework_id, &self.frameworks, task));
        }
    }

    fn on_executor_update(
        &mut self,
        from: Pid,
        message: internal::StatusUpdateMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        let update = message.update;
        let ack = internal::StatusUpdateAcknowledgementMessage {
            slave_id: self.agent_id.clone().unwrap_or_default(),
            framework_id: update.framework_id.clone(),
            task_id: update.status.task_id.clone(),
            uuid: update.uuid.clone().unwrap_or_default(),
        };
        ctx.send(&from, ack);
        if let Some(entry) = self.tasks.get_mut(&update.status.task_id.value) {
            entry.state = update.status.state();
        }
        self.forward(update, ctx);
    }

    fn on_executor_exited(&mut self, pid: &Pid, ctx: &mut Context<'_, Self>) {
        let Some(key) =
            self.executors.iter().find(|(_, e)| &e.launched == pid).map(|(k, _)| k.clone())
        else {
            return;
        };
        let Some(entry) = self.executors.remove(&key) else { return };
        let orphans: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                t.info.executor.as_ref().is_some_and(|e| e.executor_id == entry.info.executor_id)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for task_id in orphans {
            self.set_state(&task_id, TaskState::TaskFailed, "executor terminated", ctx);
        }
        let exited = internal::ExitedExecutorMessage {
            slave_id: self.agent_id.clone().unwrap_or_default(),
            framework_id: entry.framework_id,
            executor_id: entry.info.executor_id,
            status: 0,
        };
        ctx.send(&self.master(), exited);
    }

    fn executor_pid(
        &self,
        framework_id: &mesos::FrameworkId,
        executor_id: &mesos::ExecutorId,
    ) -> Option<Pid> {
        self.executors
            .get(&format!("{}/{}", framework_id.value, executor_id.value))
            .and_then(|e| e.pid.clone())
    }
}

fn run_task(
    framework_id: &mesos::FrameworkId,
    frameworks: &HashMap<String, mesos::FrameworkInfo>,
    task: mesos::TaskInfo,
) -> internal::RunTaskMessage {
    #[allow(deprecated)]
    internal::RunTaskMessage {
        framework_id: Some(framework_id.clone()),
        framework: frameworks.get(&framework_id.value).cloned().unwrap_or_default(),
        task,
        ..Default::default()
    }
}

impl Process for FakeAgentProcess {
    type Message = FakeAgentMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.register(ctx);
    }

    fn on_message(&mut self, from: Pid, message: FakeAgentMessage, ctx: &mut Context<'_, Self>) {
        match message {
            FakeAgentMessage::Master(message) => self.on_master_message(from, *message, ctx),
            FakeAgentMessage::Executor(message) => match *message {
                FromExecutor::RegisterExecutor(m) => self.on_register_executor(from, m, ctx),
                FromExecutor::StatusUpdate(m) => self.on_executor_update(from, m, ctx),
                FromExecutor::ExecutorToFramework(m) => ctx.send(&self.master(), m),
            },
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.master() {
            tracing::info!(master = %pid, "fake agent lost its master; re-registering");
            self.connected = false;
            self.master_index += 1;
            self.arm_register(ctx);
        } else {
            self.on_executor_exited(&pid, ctx);
        }
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        tracing::debug!(%from, %error, "fake agent ignores message");
    }
}

impl FakeAgentProcess {
    /// One message from a master.
    fn on_master_message(&mut self, from: Pid, message: AgentInbox, ctx: &mut Context<'_, Self>) {
        match message {
            AgentInbox::Registered(m) => {
                self.agent_id = Some(m.slave_id);
                self.connected = true;
            }
            AgentInbox::Reregistered(_) => self.connected = true,
            AgentInbox::Ping(_) => ctx.send(&from, internal::PongSlaveMessage {}),
            AgentInbox::RunTask(m) => self.on_run_task(m, ctx),
            AgentInbox::KillTask(m) => {
                self.kills += 1;
                let executor =
                    self.tasks.get(&m.task_id.value).and_then(|t| t.info.executor.clone());
                match executor.and_then(|e| self.executor_pid(&m.framework_id, &e.executor_id)) {
                    Some(pid) => ctx.send(&pid, m),
                    None => self.set_state(&m.task_id.value, TaskState::TaskKilled, "killed", ctx),
                }
            }
            AgentInbox::Ack(_) => self.acks += 1,
            AgentInbox::ShutdownFramework(m) => {
                self.shutdowns += 1;
                let ids: Vec<String> = self
                    .tasks
                    .iter()
                    .filter(|(_, t)| t.framework_id == m.framework_id)
                    .map(|(id, _)| id.clone())
                    .collect();
                for task_id in ids {
                    self.set_state(&task_id, TaskState::TaskKilled, "framework shut down", ctx);
                }
                for entry in self.executors.values().filter(|e| e.framework_id == m.framework_id) {
                    if let Some(pid) = &entry.pid {
                        ctx.send(pid, internal::ShutdownExecutorMessage::default());
                    }
                }
            }
            AgentInbox::UpdateFramework(m) => {
                if let Some(info) = m.framework_info {
                    self.frameworks.insert(m.framework_id.value.clone(), info);
                }
            }
            AgentInbox::FrameworkToExecutor(m) => {
                match self.executor_pid(&m.framework_id, &m.executor_id) {
                    Some(pid) => ctx.send(&pid, m),
                    None => {
                        tracing::warn!(executor_id = %m.executor_id.value, "framework message for an unknown executor")
                    }
                }
            }
            AgentInbox::ShutdownExecutor(_)
            | AgentInbox::NewMaster(_)
            | AgentInbox::CheckpointResources(_)
            | AgentInbox::Shutdown(_)
            | AgentInbox::Drain(_)
            | AgentInbox::ApplyOperation(_)
            | AgentInbox::AckOperation(_)
            | AgentInbox::ReconcileOperations(_) => {
                // The SDK's tests need none: executors end with their framework, the fake
                // agent finds a new leader by going down its list, it keeps no
                // reservations or volumes (and does not advertise operation feedback),
                // and no test marks it gone, drains it or brings its machine down.
                tracing::debug!(%from, "fake agent ignores message");
            }
        }
    }
}
