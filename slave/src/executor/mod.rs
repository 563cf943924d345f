//! The command executor (`mesos-executor`): runs one command task for the agent.
//!
//! Mesos: src/launcher/executor.cpp and the v0 executor driver src/exec/exec.cpp.
//! It speaks the v0 executor protocol with the agent over libprocess:
//!
//! 1. `RegisterExecutorMessage` -> agent; the agent answers `ExecutorRegisteredMessage`
//!    and then `RunTaskMessage`.
//! 2. The task's command runs as `sh -c <command>` in the sandbox (in the executor's
//!    process group, so a kill of the container reaches it); `TASK_RUNNING` is sent,
//!    then `TASK_FINISHED` (exit 0), `TASK_FAILED` (other exits) or `TASK_KILLED`.
//! 3. Every update is kept until the agent acknowledges it; after the terminal update
//!    is acknowledged the executor exits.
//! 4. `KillTaskMessage`: SIGTERM to the task's process group, SIGKILL after the grace
//!    period (the message's `kill_policy`, else the task's, else
//!    `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`), then `TASK_KILLED` from the executor
//!    itself. The agent only escalates on the executor if it does not exit.
//! 5. Shutdown (`ShutdownExecutorMessage`, or the agent gone for good): the task is
//!    killed with a grace period a little shorter than the agent's, so the
//!    `TASK_KILLED` goes out before the agent destroys the container; after the full
//!    grace period the executor SIGKILLs what is left and exits (Mesos: exec.cpp
//!    `ShutdownProcess`).
//! 6. If the agent goes away and the framework checkpoints, the executor waits up to
//!    `MESOS_RECOVERY_TIMEOUT` for a `ReconnectExecutorMessage` from the restarted
//!    agent and answers `ReregisterExecutorMessage` with its unacknowledged updates
//!    and its task; otherwise (or when the timeout passes) it shuts down at once
//!    (Mesos: exec.cpp `ExecutorProcess::exited`, `recoveryTimeout`).
//!
//! The task's process is started through a [`TaskRunner`] (the OS in `mesos-executor`,
//! an in-memory fake in the agent's simulated-network tests).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Context, Pid, Process};
use mesos_proto::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, FrameworkToExecutorMessage,
    KillTaskMessage, ReconnectExecutorMessage, RegisterExecutorMessage, ReregisterExecutorMessage,
    RunTaskMessage, ShutdownExecutorMessage, StatusUpdate, StatusUpdateAcknowledgementMessage,
    StatusUpdateMessage,
};
use mesos_proto::mesos::{
    ExecutorId, FrameworkId, KillPolicy, SlaveId, TaskInfo, TaskState, task_status,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::containerizer::{Signal, describe_status};
use crate::protobuf::{UpdateDetails, random_uuid, status_update};

mod runner;

pub use runner::{OnExit, PosixTaskRunner, TaskRunner};

/// Mesos: launcher/executor.cpp leaves this much of the shutdown grace period for
/// sending `TASK_KILLED` before the agent destroys the container
/// (`MAX_REAP_INTERVAL` + 1 s).
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// What the agent told the executor through its environment.
#[derive(Debug, Clone)]
pub struct ExecutorEnv {
    /// `MESOS_SLAVE_PID`.
    pub agent: Pid,
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: String,
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: String,
    /// `MESOS_SLAVE_ID`.
    pub agent_id: String,
    /// `MESOS_SANDBOX` (or `MESOS_DIRECTORY`).
    pub sandbox: PathBuf,
    /// `MESOS_CHECKPOINT` is `1`.
    pub checkpoint: bool,
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
    pub grace_period: Duration,
    /// `MESOS_RECOVERY_TIMEOUT`.
    pub recovery_timeout: Duration,
}

impl ExecutorEnv {
    /// Reads the environment the agent set; says which variable is missing or bad.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<ExecutorEnv, String> {
        let need = |name: &str| {
            get(name)
                .ok_or_else(|| format!("{name} is not set; mesos-executor is started by the agent"))
        };
        let duration = |name: &str, default: Duration| match get(name) {
            None => Ok(default),
            Some(text) => {
                libprocess::duration::parse_duration(&text).map_err(|e| format!("{name}: {e}"))
            }
        };
        let agent_text = need("MESOS_SLAVE_PID")?;
        Ok(ExecutorEnv {
            agent: agent_text
                .parse()
                .map_err(|_| format!("MESOS_SLAVE_PID '{agent_text}' is not a libprocess pid"))?,
            framework_id: need("MESOS_FRAMEWORK_ID")?,
            executor_id: need("MESOS_EXECUTOR_ID")?,
            agent_id: get("MESOS_SLAVE_ID").unwrap_or_default(),
            sandbox: PathBuf::from(
                get("MESOS_SANDBOX")
                    .or_else(|| get("MESOS_DIRECTORY"))
                    .unwrap_or_else(|| ".".into()),
            ),
            checkpoint: get("MESOS_CHECKPOINT").as_deref() == Some("1"),
            grace_period: duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", Duration::from_secs(5))?,
            recovery_timeout: duration("MESOS_RECOVERY_TIMEOUT", Duration::from_secs(15 * 60))?,
        })
    }
}

libprocess::protocol! {
    /// Every message the command executor accepts (from the agent).
    pub enum ExecutorMessage {
        /// Registration accepted.
        Registered(ExecutorRegisteredMessage),
        /// Re-registration after an agent restart accepted.
        Reregistered(ExecutorReregisteredMessage),
        /// The restarted agent asks us to re-register.
        Reconnect(ReconnectExecutorMessage),
        /// Run the task.
        RunTask(RunTaskMessage),
        /// Kill the task.
        KillTask(KillTaskMessage),
        /// The agent has our update.
        Acknowledgement(StatusUpdateAcknowledgementMessage),
        /// Stop.
        Shutdown(ShutdownExecutorMessage),
        /// A framework message (a command executor has no use for it).
        FrameworkMessage(FrameworkToExecutorMessage),
    }
}

/// The command executor process.
pub struct CommandExecutor {
    env: ExecutorEnv,
    agent: Pid,
    runner: Box<dyn TaskRunner>,
    task: Option<TaskInfo>,
    /// The running task's process group, while it runs.
    child: Option<u32>,
    /// A kill was asked for: the task's exit is `TASK_KILLED`.
    killing: bool,
    /// Shutting down: exit once the terminal update is acknowledged (or the grace
    /// period is over).
    shutting_down: bool,
    /// The link to the agent is up.
    connected: bool,
    terminal_uuid: Option<Vec<u8>>,
    /// Unacknowledged updates by uuid; a task has a handful, bounded by its states.
    unacked: BTreeMap<Vec<u8>, StatusUpdate>,
    /// Bumped whenever the agent (re)connects, so stale recovery timers do nothing.
    connection: u64,
    rng: StdRng,
}

fn grace_of(policy: Option<&KillPolicy>) -> Option<Duration> {
    let nanos = policy?.grace_period.as_ref()?.nanoseconds;
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

impl CommandExecutor {
    /// An executor for the agent described by `env`, running its task with `runner`.
    pub fn new(env: ExecutorEnv, runner: Box<dyn TaskRunner>) -> CommandExecutor {
        let seed = std::process::id() as u64 ^ env.executor_id.len() as u64;
        CommandExecutor {
            agent: env.agent.clone(),
            env,
            runner,
            task: None,
            child: None,
            killing: false,
            shutting_down: false,
            connected: true,
            terminal_uuid: None,
            unacked: BTreeMap::new(),
            connection: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn send_update(
        &mut self,
        state: TaskState,
        message: Option<String>,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(task) = &self.task else { return };
        let uuid = random_uuid(&mut self.rng);
        let details = UpdateDetails {
            source: Some(task_status::Source::Executor),
            reason: None,
            message,
            executor_id: Some(ExecutorId { value: self.env.executor_id.clone() }),
        };
        let agent_id = SlaveId { value: self.env.agent_id.clone() };
        let framework_id = FrameworkId { value: self.env.framework_id.clone() };
        let update = status_update(
            &framework_id,
            Some(&agent_id),
            &task.task_id,
            state,
            details,
            uuid.clone(),
            ctx.now(),
        );
        if state.is_terminal() {
            self.terminal_uuid = Some(uuid.clone());
        }
        self.unacked.insert(uuid, update.clone());
        ctx.send(&self.agent, StatusUpdateMessage { update, pid: Some(ctx.pid().to_string()) });
    }

    fn on_run_task(&mut self, message: RunTaskMessage, ctx: &mut Context<'_, Self>) {
        if self.task.is_some() {
            tracing::warn!("a command executor runs one task; ignoring another");
            return;
        }
        if self.shutting_down {
            tracing::warn!("shutting down; ignoring the task");
            return;
        }
        let command = message.task.command.clone().unwrap_or_default();
        self.task = Some(message.task);
        let me = ctx.self_ref();
        let on_exit: OnExit = Box::new(move |status| {
            // The executor may be gone already; then nobody needs the exit.
            let _ = me.tell(move |executor, ctx| executor.on_task_exited(status, ctx));
        });
        match self.runner.start(&command, &self.env.sandbox, on_exit) {
            Ok(pid) => {
                self.child = Some(pid);
                self.send_update(TaskState::TaskRunning, None, ctx);
            }
            Err(error) => self.send_update(TaskState::TaskFailed, Some(error), ctx),
        }
    }

    fn on_task_exited(&mut self, status: Option<i32>, ctx: &mut Context<'_, Self>) {
        self.child = None;
        let described = status.map(describe_status).unwrap_or_else(|| "exited".into());
        let success = status.map(std::process::ExitStatus::from_raw).is_some_and(|s| s.success());
        let (state, message) = if self.killing {
            (TaskState::TaskKilled, format!("Command {described} (killed)"))
        } else if success {
            (TaskState::TaskFinished, format!("Command {described}"))
        } else {
            (TaskState::TaskFailed, format!("Command {described}"))
        };
        self.send_update(state, Some(message), ctx);
        if self.shutting_down && !self.connected {
            // Nobody will acknowledge it.
            ctx.terminate();
        }
    }

    /// SIGTERM to the task's group now, SIGKILL after `grace` if it still runs.
    // Mesos: launcher/executor.cpp CommandExecutor::kill.
    fn kill_task(&mut self, grace: Duration, ctx: &mut Context<'_, Self>) {
        let Some(pid) = self.child else {
            if self.task.is_some() && self.terminal_uuid.is_none() {
                self.killing = true;
                self.send_update(
                    TaskState::TaskKilled,
                    Some("Killed before it started".into()),
                    ctx,
                );
            }
            return;
        };
        if self.killing {
            return;
        }
        self.killing = true;
        tracing::info!(task_pid = pid, ?grace, "sending SIGTERM to the task's process group");
        self.runner.signal(pid, Signal::Term);
        ctx.delay(grace, move |executor, _ctx| {
            if executor.child == Some(pid) {
                tracing::warn!(
                    task_pid = pid,
                    "task did not exit within its grace period; SIGKILL"
                );
                executor.runner.signal(pid, Signal::Kill);
            }
        });
    }

    fn on_kill_task(&mut self, message: KillTaskMessage, ctx: &mut Context<'_, Self>) {
        let task_policy = self.task.as_ref().and_then(|t| t.kill_policy.as_ref());
        let grace = grace_of(message.kill_policy.as_ref())
            .or_else(|| grace_of(task_policy))
            .unwrap_or(self.env.grace_period);
        self.kill_task(grace, ctx);
    }

    /// Kills the task and exits: once its terminal update is acknowledged, or when
    /// the grace period is over, whatever is left then being SIGKILLed.
    // Mesos: exec.cpp ExecutorProcess::shutdown and ShutdownProcess.
    fn shutdown(&mut self, ctx: &mut Context<'_, Self>) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        tracing::info!(connected = self.connected, "shutting down");
        match self.child {
            // Nothing runs; leave now unless a terminal update awaits its ack.
            None if self.terminal_uuid.is_none() || !self.connected => {
                ctx.terminate();
                return;
            }
            None => {}
            Some(_) => self.kill_task(self.env.grace_period.saturating_sub(SHUTDOWN_MARGIN), ctx),
        }
        ctx.delay(self.env.grace_period, |executor, ctx| {
            if let Some(pid) = executor.child {
                executor.runner.signal(pid, Signal::Kill);
            }
            tracing::warn!("shutdown grace period over; exiting");
            ctx.terminate();
        });
    }

    fn on_acknowledgement(
        &mut self,
        message: StatusUpdateAcknowledgementMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        self.unacked.remove(&message.uuid);
        if self.terminal_uuid.as_deref() == Some(message.uuid.as_slice()) {
            tracing::info!("terminal update acknowledged; executor exiting");
            ctx.terminate();
        }
    }

    fn on_reconnect(&mut self, from: Pid, ctx: &mut Context<'_, Self>) {
        tracing::info!(agent = %from, "agent restarted; re-registering");
        self.agent = from.clone();
        self.connected = true;
        self.connection += 1;
        ctx.link_reconnect(&from);
        let message = ReregisterExecutorMessage {
            executor_id: ExecutorId { value: self.env.executor_id.clone() },
            framework_id: FrameworkId { value: self.env.framework_id.clone() },
            tasks: self.task.iter().cloned().collect(),
            updates: self.unacked.values().cloned().collect(),
        };
        ctx.send(&from, message);
    }

    /// The link to the agent broke.
    // Mesos: exec.cpp ExecutorProcess::exited.
    fn on_agent_exited(&mut self, ctx: &mut Context<'_, Self>) {
        self.connected = false;
        if !self.env.checkpoint {
            tracing::warn!("agent exited and the framework does not checkpoint; shutting down");
            self.shutdown(ctx);
            return;
        }
        tracing::warn!(timeout = ?self.env.recovery_timeout, "agent exited; waiting for it to come back");
        let connection = self.connection;
        ctx.delay(self.env.recovery_timeout, move |executor, ctx| {
            if executor.connection == connection && !executor.connected {
                tracing::warn!("agent did not come back in time; shutting down");
                executor.shutdown(ctx);
            }
        });
    }
}

impl Process for CommandExecutor {
    type Message = ExecutorMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.link(&self.agent);
        let message = RegisterExecutorMessage {
            framework_id: FrameworkId { value: self.env.framework_id.clone() },
            executor_id: ExecutorId { value: self.env.executor_id.clone() },
        };
        ctx.send(&self.agent, message);
    }

    fn on_message(&mut self, from: Pid, message: ExecutorMessage, ctx: &mut Context<'_, Self>) {
        match message {
            ExecutorMessage::Registered(_) => {
                tracing::info!(agent = %from, "registered with the agent")
            }
            ExecutorMessage::Reregistered(_) => {
                tracing::info!(agent = %from, "re-registered with the agent")
            }
            ExecutorMessage::Reconnect(_) => self.on_reconnect(from, ctx),
            ExecutorMessage::RunTask(m) => self.on_run_task(m, ctx),
            ExecutorMessage::KillTask(m) => self.on_kill_task(m, ctx),
            ExecutorMessage::Acknowledgement(m) => self.on_acknowledgement(m, ctx),
            ExecutorMessage::Shutdown(_) => self.shutdown(ctx),
            ExecutorMessage::FrameworkMessage(_) => tracing::debug!("ignoring a framework message"),
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.agent {
            self.on_agent_exited(ctx);
        }
    }
}
