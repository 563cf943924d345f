//! The `Agent` libprocess process (`slave(1)`): a thin shell around [`AgentCore`].
//!
//! Mesos: src/slave/slave.cpp. One inbound enum, one exhaustive match; each arm hands
//! the decoded message to the core, then `Agent::flush` performs what the core asked
//! for: sending messages (to HTTP executors as v1 events), linking, launching and
//! signalling containers, writing checkpoints, setting timers. The actor also polls
//! the containerizer for exited executors (Mesos's reaper) and reads the checkpoint
//! before the core recovers. The rest lives in submodules:
//! - `perform`: performing the core's outputs (I/O).
//! - `fetch`: fetching an executor's URIs off the actor before starting it.
//! - `gc`: sandbox garbage collection (timers, the disk watch, removal off the actor).
//! - `recovery`: reading the checkpoint before the process starts.
//! - `http`: `/state`, `/health`, `/flags`, `/monitor/statistics`, `/files/*`,
//!   `/logging/toggle`.
//! - `executor_api`: `POST /api/v1/executor`, the v1 executor API (HTTP executors
//!   share the v0 code paths through synthetic pids).
//! - `operator_api`: `POST /api/v1`, the agent operator API.
//! - `containers`, `container_io`, `container_recovery`: its container calls (nested,
//!   standalone, sessions and their attached input and output) and taking its
//!   containers back after a restart.
//! - `metrics`: `slave/*` metrics.
//! - `visibility`: what the ACLs let a caller see (`/state`, the operator API's
//!   queries) and read (`/files/*`).

use std::time::Duration;

use libprocess::{Context, DecodeError, Pid, Process, Time};
use mesos_proto::mesos::internal::{
    ExecutorToFrameworkMessage, FrameworkToExecutorMessage, KillTaskMessage, PingSlaveMessage,
    RegisterExecutorMessage, ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
    ShutdownFrameworkMessage, ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage, UpdateFrameworkMessage,
};

use crate::checkpoint::RecoveredState;
use crate::containerizer::{Containerizer, Termination};
use crate::core::AgentCore;
use crate::core::authentication::AuthenticatorMessage;

mod container_io;
mod container_recovery;
mod containers;
mod executor_api;
mod fetch;
mod gc;
mod http;
mod metrics;
mod operator_api;
mod perform;
mod recovery;
mod visibility;

pub use crate::core::{AgentConfig, RecoverMode, command_executor_info, is_http_executor};
pub use executor_api::EXECUTOR_HEARTBEAT_INTERVAL;
pub use gc::{GcProgress, TRASH_DIR};
pub use recovery::prepare_recovery;

/// How often the agent asks the containerizer which executors exited (Mesos:
/// `MAX_REAP_INTERVAL`).
pub const REAP_INTERVAL: Duration = Duration::from_secs(1);

libprocess::protocol! {
    /// Every message the agent accepts.
    pub enum AgentMessage {
        /// Master: registration accepted.
        SlaveRegistered(SlaveRegisteredMessage),
        /// Master: re-registration accepted.
        SlaveReregistered(SlaveReregisteredMessage),
        /// Master: are you there? Answered with a pong.
        PingSlave(PingSlaveMessage),
        /// Master: run a task.
        RunTask(RunTaskMessage),
        /// Master: run a task group under one executor.
        RunTaskGroup(mesos_proto::mesos::internal::RunTaskGroupMessage),
        /// Master: kill a task.
        KillTask(KillTaskMessage),
        /// Executor: a task's status changed.
        StatusUpdate(StatusUpdateMessage),
        /// Master: the framework acknowledged an update.
        StatusUpdateAcknowledgement(StatusUpdateAcknowledgementMessage),
        /// Executor: I have started.
        RegisterExecutor(RegisterExecutorMessage),
        /// Executor: I am still here after your restart.
        ReregisterExecutor(ReregisterExecutorMessage),
        /// Master: the framework is gone; kill its executors.
        ShutdownFramework(ShutdownFrameworkMessage),
        /// Master: shut this executor down.
        ShutdownExecutor(ShutdownExecutorMessage),
        /// Master: shut the agent down.
        Shutdown(ShutdownMessage),
        /// Master: drain (an operator's DRAIN_AGENT): kill every task.
        DrainSlave(mesos_proto::mesos::internal::DrainSlaveMessage),
        /// Master: the framework's pid or info changed.
        UpdateFramework(UpdateFrameworkMessage),
        /// Master: a framework message for an executor.
        FrameworkToExecutor(FrameworkToExecutorMessage),
        /// Master: our reservations and persistent volumes, to checkpoint.
        CheckpointResources(mesos_proto::mesos::internal::CheckpointResourcesMessage),
        /// Executor: a framework message for the scheduler.
        ExecutorToFramework(ExecutorToFrameworkMessage),
        /// Master: apply an offer operation whose framework wants feedback.
        ApplyOperation(mesos_proto::mesos::internal::ApplyOperationMessage),
        /// Master: the framework acknowledged an operation status.
        AcknowledgeOperationStatus(mesos_proto::mesos::internal::AcknowledgeOperationStatusMessage),
        /// Master: operations it knows that we did not report.
        ReconcileOperations(mesos_proto::mesos::internal::ReconcileOperationsMessage),
        /// A master of the HA group: the leading master is elsewhere.
        NewMasterDetected(mesos_proto::extensions::NewMasterDetectedMessage),
        /// Master's authenticator: the mechanisms on offer.
        AuthenticationMechanisms(mesos_proto::mesos::internal::AuthenticationMechanismsMessage),
        /// Master's authenticator: the challenge.
        AuthenticationStep(mesos_proto::mesos::internal::AuthenticationStepMessage),
        /// Master's authenticator: authenticated.
        AuthenticationCompleted(mesos_proto::mesos::internal::AuthenticationCompletedMessage),
        /// Master's authenticator: refused.
        AuthenticationFailed(mesos_proto::mesos::internal::AuthenticationFailedMessage),
        /// Master's authenticator: the exchange broke.
        AuthenticationError(mesos_proto::mesos::internal::AuthenticationErrorMessage),
    }
}

/// The agent.
pub struct Agent {
    core: AgentCore,
    containerizer: Box<dyn Containerizer>,
    recovered: Option<RecoveredState>,
    /// The latest ping timer, cancelled when the next ping re-arms it (the core ignores
    /// stale ones anyway; this keeps the clock's queue short).
    ping_timer: Option<libprocess::TimerId>,
    started: Option<Time>,
    metrics: metrics::AgentMetrics,
    /// The open streams of HTTP executors.
    http_executors: executor_api::HttpExecutors,
    /// The fetcher and its cache, shared with the fetches running off the actor.
    fetcher: std::sync::Arc<crate::fetcher::Fetcher>,
    /// The containers whose URIs are being fetched, with their cancel flags.
    fetching: std::collections::HashMap<
        mesos_proto::ids::ContainerId,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    >,
    /// The log verbosity (`/logging/toggle`, `SET_LOGGING_LEVEL`), made on first use
    /// with the node's clock.
    logging: Option<libprocess::logging::Logging>,
    /// The operator API's nested and standalone containers.
    containers: containers::Containers,
    /// The sandbox garbage collector.
    gc: gc::SandboxGc,
}

impl Agent {
    /// An agent that will take back `recovered` (see [`prepare_recovery`]) and run
    /// executors with `containerizer`.
    pub fn new(
        config: AgentConfig,
        containerizer: Box<dyn Containerizer>,
        recovered: Option<RecoveredState>,
    ) -> Agent {
        let fetcher = std::sync::Arc::new(crate::fetcher::Fetcher::new(config.fetcher.clone()));
        Agent {
            gc: gc::SandboxGc::new(config.gc, &config.work_dir),
            fetcher,
            fetching: std::collections::HashMap::new(),
            core: AgentCore::new(config),
            containerizer,
            recovered,
            ping_timer: None,
            started: None,
            metrics: metrics::AgentMetrics::default(),
            http_executors: executor_api::HttpExecutors::default(),
            logging: None,
            containers: containers::Containers::default(),
        }
    }

    /// The core (tests and the HTTP layer read it through dispatch).
    pub fn core(&self) -> &AgentCore {
        &self.core
    }

    /// An executor that died of a signal or failed: the end of its sandbox's `stderr`
    /// goes to the agent's log, so the cause survives the sandbox's garbage collection.
    fn log_abnormal_exit(&self, termination: &Termination) {
        // Unknown (not forked by this agent) or a clean exit: nothing to explain.
        if termination.status.is_none_or(|raw| raw == 0) {
            return;
        }
        let Some(sandbox) = self.core.sandbox_of(&termination.container_id) else { return };
        let tail = stderr_tail(&sandbox.join("stderr"), STDERR_TAIL);
        tracing::warn!(
            container = %termination.container_id,
            message = %termination.message,
            "executor exited abnormally; the end of its stderr:\n{tail}"
        );
    }

    fn on_reap_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        for termination in self.containerizer.reap() {
            self.log_abnormal_exit(&termination);
            self.on_root_container_terminated(&termination.container_id);
            self.core.on_container_terminated(termination, now);
        }
        self.flush(ctx);
        ctx.delay(REAP_INTERVAL, |agent, ctx| agent.on_reap_tick(ctx));
    }
}

impl Process for Agent {
    type Message = AgentMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.started = Some(ctx.now());
        self.core.set_pid(ctx.pid().clone());
        self.install_routes(ctx);
        executor_api::install(ctx);
        operator_api::install(ctx);
        let (metrics, clock) = (ctx.node().metrics(), ctx.clock().clone());
        self.metrics.register(metrics, clock, ctx.now(), &self.fetcher);
        ctx.delay(REAP_INTERVAL, |agent, ctx| agent.on_reap_tick(ctx));
        self.start_gc(ctx);
        self.start_recovery(ctx);
    }

    fn on_message(&mut self, from: Pid, message: AgentMessage, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let core = &mut self.core;
        match message {
            AgentMessage::SlaveRegistered(m) => core.on_slave_registered(&from, m, now),
            AgentMessage::NewMasterDetected(m) => core.on_new_master_detected(&from, m),
            AgentMessage::SlaveReregistered(m) => core.on_slave_reregistered(&from, m, now),
            AgentMessage::PingSlave(m) => core.on_ping_slave(&from, m),
            AgentMessage::RunTask(m) => core.on_run_task(&from, m, now),
            AgentMessage::RunTaskGroup(m) => core.on_run_task_group(&from, m, now),
            AgentMessage::KillTask(m) => core.on_kill_task(&from, m, now),
            AgentMessage::StatusUpdate(m) => core.on_status_update(&from, m, now),
            AgentMessage::StatusUpdateAcknowledgement(m) => {
                core.on_status_update_acknowledgement(&from, m, now)
            }
            AgentMessage::RegisterExecutor(m) => core.on_register_executor(&from, m),
            AgentMessage::ReregisterExecutor(m) => core.on_reregister_executor(&from, m, now),
            AgentMessage::ShutdownFramework(m) => core.on_shutdown_framework(&from, m),
            AgentMessage::ShutdownExecutor(m) => core.on_shutdown_executor(&from, m),
            AgentMessage::Shutdown(m) => core.on_shutdown(&from, m),
            AgentMessage::DrainSlave(m) => core.on_drain(&from, m, now),
            AgentMessage::UpdateFramework(m) => core.on_update_framework(&from, m),
            AgentMessage::FrameworkToExecutor(m) => core.on_framework_to_executor(&from, m),
            AgentMessage::CheckpointResources(m) => core.on_checkpoint_resources(&from, m),
            AgentMessage::ApplyOperation(m) => core.on_apply_operation(&from, m),
            AgentMessage::AcknowledgeOperationStatus(m) => {
                core.on_acknowledge_operation_status(&from, m)
            }
            AgentMessage::ReconcileOperations(m) => core.on_reconcile_operations(&from, m),
            AgentMessage::ExecutorToFramework(m) => core.on_executor_to_framework(&from, m),
            AgentMessage::AuthenticationMechanisms(m) => {
                core.on_authentication(&from, AuthenticatorMessage::Mechanisms(m))
            }
            AgentMessage::AuthenticationStep(m) => {
                core.on_authentication(&from, AuthenticatorMessage::Step(m))
            }
            AgentMessage::AuthenticationCompleted(_) => {
                core.on_authentication(&from, AuthenticatorMessage::Completed)
            }
            AgentMessage::AuthenticationFailed(_) => {
                core.on_authentication(&from, AuthenticatorMessage::Failed)
            }
            AgentMessage::AuthenticationError(m) => {
                core.on_authentication(&from, AuthenticatorMessage::Error(m))
            }
        }
        self.flush(ctx);
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        self.core.on_link_exited(&pid);
        self.flush(ctx);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        self.metrics.invalid_messages.inc();
        tracing::warn!(%from, %error, "agent dropped a message it does not accept");
    }
}

/// How much of a failed executor's `stderr` the agent logs.
const STDERR_TAIL: u64 = 4096;

/// The last `limit` bytes of the file at `path` (lossy UTF-8), or why it could not be read.
fn stderr_tail(path: &std::path::Path, limit: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(limit)))?;
        let mut bytes = Vec::new();
        file.take(limit).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|error| format!("({}: {error})", path.display()))
}
