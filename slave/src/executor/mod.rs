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
//! 4. `KillTaskMessage`/`ShutdownExecutorMessage`: SIGTERM to the task, SIGKILL after
//!    the grace period.
//! 5. If the agent goes away and the framework checkpoints, the executor waits up to
//!    `MESOS_RECOVERY_TIMEOUT` for a `ReconnectExecutorMessage` from the restarted
//!    agent and answers `ReregisterExecutorMessage` with its unacknowledged updates
//!    and its task; otherwise it kills the task and exits.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use libprocess::{Context, Pid, Process};
use mesos_proto::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, FrameworkToExecutorMessage, KillTaskMessage,
    ReconnectExecutorMessage, RegisterExecutorMessage, ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_proto::mesos::{ExecutorId, FrameworkId, SlaveId, TaskInfo, TaskState, task_status};
use nix::sys::signal::{self, Signal};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::containerizer::describe_status;
use crate::protobuf::{UpdateDetails, random_uuid, status_update};
use crate::status_update::is_terminal;

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
        let need = |name: &str| get(name).ok_or_else(|| format!("{name} is not set; mesos-executor is started by the agent"));
        let duration = |name: &str, default: Duration| match get(name) {
            None => Ok(default),
            Some(text) => libprocess::duration::parse_duration(&text).map_err(|e| format!("{name}: {e}")),
        };
        let agent_text = need("MESOS_SLAVE_PID")?;
        Ok(ExecutorEnv {
            agent: agent_text.parse().map_err(|_| format!("MESOS_SLAVE_PID '{agent_text}' is not a libprocess pid"))?,
            framework_id: need("MESOS_FRAMEWORK_ID")?,
            executor_id: need("MESOS_EXECUTOR_ID")?,
            agent_id: get("MESOS_SLAVE_ID").unwrap_or_default(),
            sandbox: PathBuf::from(get("MESOS_SANDBOX").or_else(|| get("MESOS_DIRECTORY")).unwrap_or_else(|| ".".into())),
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
    task: Option<TaskInfo>,
    child: Option<u32>,
    killing: bool,
    terminal_uuid: Option<Vec<u8>>,
    /// Unacknowledged updates by uuid; a task has a handful, bounded by its states.
    unacked: BTreeMap<Vec<u8>, StatusUpdate>,
    /// Bumped whenever the agent (re)connects, so stale recovery timers do nothing.
    connection: u64,
    rng: StdRng,
}

impl CommandExecutor {
    /// An executor for the agent described by `env`.
    pub fn new(env: ExecutorEnv) -> CommandExecutor {
        let seed = std::process::id() as u64;
        CommandExecutor {
            agent: env.agent.clone(),
            env,
            task: None,
            child: None,
            killing: false,
            terminal_uuid: None,
            unacked: BTreeMap::new(),
            connection: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn send_update(&mut self, state: TaskState, message: Option<String>, ctx: &mut Context<'_, Self>) {
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
        let update = status_update(&framework_id, Some(&agent_id), &task.task_id, state, details, uuid.clone(), ctx.now());
        if is_terminal(state as i32) {
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
        let command = message.task.command.clone().unwrap_or_default();
        self.task = Some(message.task);
        let mut process = Command::new("/bin/sh");
        process.arg("-c").arg(command.value.clone().unwrap_or_default()).current_dir(&self.env.sandbox).stdin(Stdio::null());
        for variable in command.environment.map(|e| e.variables).unwrap_or_default() {
            if let Some(value) = variable.value {
                process.env(variable.name, value);
            }
        }
        let mut child = match process.spawn() {
            Ok(child) => child,
            Err(error) => {
                self.send_update(TaskState::TaskFailed, Some(format!("Cannot start the command: {error}")), ctx);
                return;
            }
        };
        self.child = Some(child.id());
        self.send_update(TaskState::TaskRunning, None, ctx);
        let me = ctx.self_ref();
        let spawned = std::thread::Builder::new().name("task-waiter".into()).spawn(move || {
            let status = child.wait().map(|s| s.into_raw()).ok();
            // Queued at once; the future only reports whether the executor still runs.
            drop(me.dispatch(move |executor, ctx| executor.on_task_exited(status, ctx)));
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot watch the task");
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
    }

    fn kill_task(&mut self, ctx: &mut Context<'_, Self>) {
        self.killing = true;
        let Some(pid) = self.child else {
            if self.task.is_some() && self.terminal_uuid.is_none() {
                self.send_update(TaskState::TaskKilled, Some("Killed before it started".into()), ctx);
            } else if self.task.is_none() {
                ctx.terminate();
            }
            return;
        };
        signal_pid(pid, Signal::SIGTERM);
        ctx.delay(self.env.grace_period, move |executor, _ctx| {
            if executor.child == Some(pid) {
                signal_pid(pid, Signal::SIGKILL);
            }
        });
    }

    fn on_acknowledgement(&mut self, message: StatusUpdateAcknowledgementMessage, ctx: &mut Context<'_, Self>) {
        self.unacked.remove(&message.uuid);
        if self.terminal_uuid.as_deref() == Some(message.uuid.as_slice()) {
            tracing::info!("terminal update acknowledged; executor exiting");
            ctx.terminate();
        }
    }

    fn on_reconnect(&mut self, from: Pid, ctx: &mut Context<'_, Self>) {
        tracing::info!(agent = %from, "agent restarted; re-registering");
        self.agent = from.clone();
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
}

fn signal_pid(pid: u32, sig: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        // ESRCH: already gone.
        let _ = signal::kill(nix::unistd::Pid::from_raw(raw), sig);
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
            ExecutorMessage::Registered(_) => tracing::info!(agent = %from, "registered with the agent"),
            ExecutorMessage::Reregistered(_) => tracing::info!(agent = %from, "re-registered with the agent"),
            ExecutorMessage::Reconnect(_) => self.on_reconnect(from, ctx),
            ExecutorMessage::RunTask(m) => self.on_run_task(m, ctx),
            ExecutorMessage::KillTask(_) => self.kill_task(ctx),
            ExecutorMessage::Acknowledgement(m) => self.on_acknowledgement(m, ctx),
            ExecutorMessage::Shutdown(_) => self.kill_task(ctx),
            ExecutorMessage::FrameworkMessage(_) => tracing::debug!("ignoring a framework message"),
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid != self.agent {
            return;
        }
        if !self.env.checkpoint {
            tracing::warn!("agent exited and the framework does not checkpoint; shutting down");
            self.kill_task(ctx);
            // No agent will acknowledge the TASK_KILLED: leave once the kill is done.
            ctx.delay(self.env.grace_period * 2, |_executor, ctx| ctx.terminate());
            return;
        }
        tracing::warn!(timeout = ?self.env.recovery_timeout, "agent exited; waiting for it to come back");
        let connection = self.connection;
        ctx.delay(self.env.recovery_timeout, move |executor, ctx| {
            if executor.connection == connection {
                tracing::warn!("agent did not come back in time; shutting down");
                executor.kill_task(ctx);
                ctx.terminate();
            }
        });
    }
}
