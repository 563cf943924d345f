//! The `Agent` libprocess process (`slave(1)`): a thin shell around the pure cores.
//!
//! Mesos: src/slave/slave.cpp. One inbound enum, one exhaustive match, one
//! `on_<message>` handler per message; the handlers live in submodules by
//! responsibility:
//! - `registration`: registering with the master, pings, losing the master.
//! - `tasks`: running and killing tasks, launching executors, executor registration.
//! - `updates`: status updates from executors to the master and acknowledgements.
//! - `executors`: executor exits, shutdowns and kills.
//! - `recovery`: taking back checkpointed work after a restart.
//! - `http`: `/state`, `/health`, `/flags`, `/monitor/statistics`, `/files/*`.
//! - `executor_api`: `POST /api/v1/executor`, the v1 executor API (HTTP executors
//!   share the v0 code paths through synthetic pids).
//! - `operator_api`: `POST /api/v1`, the agent operator API.
//! - `v1`: content negotiation and encodings shared by the two v1 APIs.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Context, DecodeError, Pid, Process, Time};
use mesos_proto::ids::FrameworkId;
use mesos_proto::mesos::internal::{
    ExecutorToFrameworkMessage, FrameworkToExecutorMessage, KillTaskMessage, PingSlaveMessage,
    RegisterExecutorMessage, ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
    ShutdownFrameworkMessage, ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage, UpdateFrameworkMessage,
};
use mesos_proto::mesos::{Attribute, Resource, SlaveInfo};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::checkpoint::{Checkpointer, RecoveredState};
use crate::containerizer::{Containerizer, Termination};
use crate::paths::Paths;
use crate::registration::Registration;
use crate::state::Framework;
use crate::status_update::StatusUpdateManager;

mod executor_api;
mod executors;
mod http;
mod metrics;
mod operator_api;
mod recovery;
mod registration;
mod tasks;
mod updates;
mod v1;

pub use executor_api::{EXECUTOR_HEARTBEAT_INTERVAL, is_http_executor};
pub use recovery::prepare_recovery;

/// How often the agent asks the containerizer which executors exited (Mesos:
/// `MAX_REAP_INTERVAL`).
pub const REAP_INTERVAL: Duration = Duration::from_secs(1);

/// What to do with checkpointed executors after a restart (`--recover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverMode {
    /// Reconnect to executors that are still alive.
    Reconnect,
    /// Kill every checkpointed executor and shut the agent down (Mesos's meaning).
    Cleanup,
}

/// Everything the agent is configured with (from flags in the binary, directly in tests).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The masters to register with (`master@ip:port`), tried in order.
    pub masters: Vec<Pid>,
    /// `--work_dir`.
    pub work_dir: PathBuf,
    /// The agent's advertised hostname.
    pub hostname: String,
    /// The resources offered to frameworks.
    pub resources: Vec<Resource>,
    /// The agent's attributes.
    pub attributes: Vec<Attribute>,
    /// `--recover`.
    pub recover: RecoverMode,
    /// `--executor_shutdown_grace_period`: SIGTERM to SIGKILL.
    pub executor_shutdown_grace_period: Duration,
    /// How long a launched executor has to register (Mesos: 1 min).
    pub executor_registration_timeout: Duration,
    /// How long recovered executors have to re-register (Mesos: 2 s).
    pub executor_reregistration_timeout: Duration,
    /// How long an executor waits for a restarted agent (`MESOS_RECOVERY_TIMEOUT`).
    pub recovery_timeout: Duration,
    /// `--registration_backoff_factor` (Mesos: 1 s).
    pub registration_backoff_factor: Duration,
    /// Where `mesos-executor` is.
    pub launcher_dir: PathBuf,
    /// The flags as given, for `/flags`.
    pub flags: BTreeMap<String, String>,
    /// Seed of the agent's randomness (backoff jitter, uuids, container ids).
    pub seed: u64,
}

impl AgentConfig {
    /// A configuration with Mesos's defaults for everything but the essentials.
    pub fn new(masters: Vec<Pid>, work_dir: impl Into<PathBuf>) -> AgentConfig {
        AgentConfig {
            masters,
            work_dir: work_dir.into(),
            hostname: "localhost".into(),
            resources: Vec::new(),
            attributes: Vec::new(),
            recover: RecoverMode::Reconnect,
            executor_shutdown_grace_period: Duration::from_secs(5),
            executor_registration_timeout: Duration::from_secs(60),
            executor_reregistration_timeout: Duration::from_secs(2),
            recovery_timeout: Duration::from_secs(15 * 60),
            registration_backoff_factor: Duration::from_secs(1),
            launcher_dir: PathBuf::from("."),
            flags: BTreeMap::new(),
            seed: 0,
        }
    }
}

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
        /// Master: the framework's pid or info changed.
        UpdateFramework(UpdateFrameworkMessage),
        /// Master: a framework message for an executor.
        FrameworkToExecutor(FrameworkToExecutorMessage),
        /// Executor: a framework message for the scheduler.
        ExecutorToFramework(ExecutorToFrameworkMessage),
        /// A master of the HA group: the leading master is elsewhere.
        NewMasterDetected(mesos_proto::extensions::NewMasterDetectedMessage),
    }
}

/// The agent.
pub struct Agent {
    config: AgentConfig,
    info: SlaveInfo,
    registration: Registration,
    frameworks: BTreeMap<FrameworkId, Framework>,
    completed_frameworks: VecDeque<Framework>,
    updates: StatusUpdateManager,
    containerizer: Box<dyn Containerizer>,
    paths: Paths,
    rng: StdRng,
    recovered: Option<RecoveredState>,
    /// Exits noticed while recovering, handled once recovery decides each
    /// executor's fate (Mesos handles them after the re-registration timeout).
    deferred_terminations: Vec<Termination>,
    ping_timer: Option<libprocess::TimerId>,
    started: Option<Time>,
    metrics: metrics::AgentMetrics,
    /// The open streams of HTTP executors.
    http_executors: executor_api::HttpExecutors,
}

impl Agent {
    /// An agent that will take back `recovered` (see [`prepare_recovery`]) and run
    /// executors with `containerizer`.
    pub fn new(
        config: AgentConfig,
        containerizer: Box<dyn Containerizer>,
        recovered: Option<RecoveredState>,
    ) -> Agent {
        let info = SlaveInfo {
            hostname: config.hostname.clone(),
            resources: config.resources.clone(),
            attributes: config.attributes.clone(),
            checkpoint: Some(true),
            ..SlaveInfo::default()
        };
        Agent {
            registration: Registration::new(
                config.masters.clone(),
                config.registration_backoff_factor,
            ),
            paths: Paths::new(&config.work_dir),
            rng: StdRng::seed_from_u64(config.seed),
            info,
            config,
            frameworks: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            updates: StatusUpdateManager::new(),
            containerizer,
            recovered,
            deferred_terminations: Vec::new(),
            ping_timer: None,
            started: None,
            metrics: metrics::AgentMetrics::default(),
            http_executors: executor_api::HttpExecutors::default(),
        }
    }

    /// The agent's id, once registered or recovered.
    fn agent_id(&self) -> Option<String> {
        self.info.id.as_ref().map(|id| id.value.clone())
    }

    /// The checkpointer, once the agent has an id.
    fn checkpointer(&self) -> Option<Checkpointer> {
        self.agent_id().map(|id| Checkpointer::new(self.paths.clone(), id))
    }

    fn agent_address(ctx: &Context<'_, Self>) -> SocketAddr {
        ctx.pid().address()
    }

    fn on_reap_tick(&mut self, ctx: &mut Context<'_, Self>) {
        for termination in self.containerizer.reap() {
            if self.registration.state() == crate::registration::AgentState::Recovering {
                self.deferred_terminations.push(termination);
            } else {
                self.on_container_terminated(termination, ctx);
            }
        }
        ctx.delay(REAP_INTERVAL, |agent, ctx| agent.on_reap_tick(ctx));
    }
}

impl Process for Agent {
    type Message = AgentMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.started = Some(ctx.now());
        // Mesos: slave.cpp `initialize` sets `info.port` to the agent's own port.
        self.info.port = Some(i32::from(ctx.pid().address().port()));
        self.install_routes(ctx);
        executor_api::install(ctx);
        operator_api::install(ctx);
        self.metrics.register(ctx.node().metrics(), ctx.clock().clone(), ctx.now());
        ctx.delay(REAP_INTERVAL, |agent, ctx| agent.on_reap_tick(ctx));
        self.start_recovery(ctx);
    }

    fn on_message(&mut self, from: Pid, message: AgentMessage, ctx: &mut Context<'_, Self>) {
        match message {
            AgentMessage::SlaveRegistered(m) => self.on_slave_registered(from, m, ctx),
            AgentMessage::NewMasterDetected(m) => self.on_new_master_detected(from, m, ctx),
            AgentMessage::SlaveReregistered(m) => self.on_slave_reregistered(from, m, ctx),
            AgentMessage::PingSlave(m) => self.on_ping_slave(from, m, ctx),
            AgentMessage::RunTask(m) => self.on_run_task(from, m, ctx),
            AgentMessage::KillTask(m) => self.on_kill_task(from, m, ctx),
            AgentMessage::StatusUpdate(m) => self.on_status_update(from, m, ctx),
            AgentMessage::StatusUpdateAcknowledgement(m) => {
                self.on_status_update_acknowledgement(from, m, ctx)
            }
            AgentMessage::RegisterExecutor(m) => self.on_register_executor(from, m, ctx),
            AgentMessage::ReregisterExecutor(m) => self.on_reregister_executor(from, m, ctx),
            AgentMessage::ShutdownFramework(m) => self.on_shutdown_framework(from, m, ctx),
            AgentMessage::ShutdownExecutor(m) => self.on_shutdown_executor(from, m, ctx),
            AgentMessage::Shutdown(m) => self.on_shutdown(from, m, ctx),
            AgentMessage::UpdateFramework(m) => self.on_update_framework(from, m),
            AgentMessage::FrameworkToExecutor(m) => self.on_framework_to_executor(from, m, ctx),
            AgentMessage::ExecutorToFramework(m) => self.on_executor_to_framework(from, m, ctx),
        }
        self.metrics.refresh(self);
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        self.on_link_exited(pid, ctx);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        self.metrics.invalid_messages.inc();
        tracing::warn!(%from, %error, "agent dropped a message it does not accept");
    }
}
