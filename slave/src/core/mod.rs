//! The agent's pure core: frameworks, executors, tasks, status updates and recovery
//! decisions, with no I/O.
//!
//! Like the master's core (and raft-rs's `RawNode`), the core is driven by calls that
//! each take one input (a decoded message with its sender, a container exit, a timer,
//! the result of a launch) and the current time, and it answers by queueing
//! [`Output`]s: messages to send, executors to launch, containers to signal,
//! checkpoints to write, timers to set. The actor around it ([`crate::agent::Agent`])
//! performs them: it writes the files, calls the containerizer, sets the timers and
//! sends. The same core therefore runs under the real network, the simulated one, and
//! in plain unit tests that read the outputs like a transcript (`tests.rs`).
//!
//! Mesos: src/slave/slave.cpp, split here by responsibility:
//! - `authentication`: CRAM-MD5 with the master before registering (`--credential`);
//! - `registration`: the agent's lifecycle, the masters and the registration backoff;
//! - `masters`: registering with the master, pings, losing the master, shutdown;
//! - `tasks`: running and killing tasks, launching executors, executor registration;
//! - `task_groups`: running task groups (`RunTaskGroupMessage`) under the default executor;
//! - `executors`: executor exits, shutdowns and kills, framework shutdown;
//! - `delivery`: status updates from executors to the master and acknowledgements;
//! - `recovery`: taking back checkpointed work after a restart;
//! - `resources`: checkpointed resources (reservations, persistent volumes) and the
//!   volumes' folders.
//! - `draining`: the master's DrainSlaveMessage (kill every task within a grace period).
//! - `operations`: operation feedback (`ApplyOperationMessage`, reliable
//!   `UpdateOperationStatusMessage`, acknowledgements, reconciliation).
//! - `limits`: resizing a custom executor's container as tasks join and leave it.
//! - `gc`: which folders of finished executors and frameworks to garbage collect.

pub mod authentication;
mod delivery;
mod draining;
mod executors;
mod gc;
mod limits;
mod masters;
mod operations;
mod recovery;
pub mod registration;
mod resources;
mod task_groups;
mod tasks;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal;
use mesos_proto::mesos::internal::StatusUpdateRecord;
use mesos_proto::mesos::{Attribute, ExecutorInfo, FrameworkInfo, Resource, SlaveInfo, Task};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::containerizer::{LaunchRequest, Signal, Termination};
use crate::paths::Paths;
use crate::state::Framework;
use crate::status_update::StatusUpdateManager;

pub use masters::MESOS_VERSION;
pub use operations::{MAX_PENDING_OPERATIONS, PendingOperation};
pub use recovery::containers_to_probe;
pub use registration::{AgentState, Registration};
pub use task_groups::{DEFAULT_EXECUTOR_BINARY, default_executor_info};
pub use tasks::command_executor_info;

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
    /// `--http_heartbeat_interval`: heartbeats on container sessions' output streams
    /// (the actor's `container_io` sends them).
    pub http_heartbeat_interval: Duration,
    /// Where `mesos-executor` is.
    pub launcher_dir: PathBuf,
    /// The flags as given, for `/flags`.
    pub flags: BTreeMap<String, String>,
    /// Seed of the agent's randomness (backoff jitter, uuids, container ids).
    pub seed: u64,
    /// The HTTP authenticators of the realms switched on (`--authenticate_http_*`);
    /// the actor puts them in front of the node's routes, the core never reads them.
    pub http_authenticator: mesos_security::HttpAuthenticator,
    /// The local authorizer (`--acls`); `None` authorizes everything.
    pub authorizer: Option<std::sync::Arc<mesos_security::Authorizer>>,
    /// `--credential`: authenticate with the master (CRAM-MD5) before registering.
    pub credential: Option<mesos_security::Credential>,
    /// `--jwt_secret_key`: every executor gets a token signed with it in
    /// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN` (checked on `/api/v1/executor` with
    /// `--authenticate_http_executors`).
    pub executor_token_key: Option<mesos_security::jwt::JwtKey>,
    /// `--http_command_executor`: command executors use the v1 executor HTTP API
    /// (`MESOS_HTTP_COMMAND_EXECUTOR=1`).
    pub http_command_executor: bool,
    /// The fetcher's flags (`--fetcher_cache_*`, ...); the actor's fetcher reads them.
    pub fetcher: crate::fetcher::FetcherConfig,
    /// The agent's log file (`--log_dir`), served at `/slave/log`; `None` without one.
    pub log_file: Option<PathBuf>,
    /// `--switch_user`: run executors as their command's user, else their
    /// framework's, when the agent runs as root (Mesos's default: true).
    pub switch_user: bool,
    /// The garbage collector's flags (`--gc_delay`, `--disk_watch_interval`,
    /// `--gc_disk_headroom`); the actor's collector reads them.
    pub gc: crate::gc::GcConfig,
}

impl AgentConfig {
    /// A configuration with Mesos's defaults for everything but the essentials.
    pub fn new(masters: Vec<Pid>, work_dir: impl Into<PathBuf>) -> AgentConfig {
        let work_dir = work_dir.into();
        AgentConfig {
            masters,
            fetcher: crate::fetcher::FetcherConfig::new(&work_dir),
            work_dir,
            hostname: "localhost".into(),
            resources: Vec::new(),
            attributes: Vec::new(),
            recover: RecoverMode::Reconnect,
            executor_shutdown_grace_period: Duration::from_secs(5),
            executor_registration_timeout: Duration::from_secs(60),
            executor_reregistration_timeout: Duration::from_secs(2),
            recovery_timeout: Duration::from_secs(15 * 60),
            registration_backoff_factor: Duration::from_secs(1),
            http_heartbeat_interval: Duration::from_secs(30),
            launcher_dir: PathBuf::from("."),
            flags: BTreeMap::new(),
            seed: 0,
            http_authenticator: mesos_security::HttpAuthenticator::default(),
            authorizer: None,
            credential: None,
            executor_token_key: None,
            http_command_executor: false,
            log_file: None,
            gc: crate::gc::GcConfig::default(),
            switch_user: true,
        }
    }
}

/// The prefix of the synthetic pids of HTTP executors (see `agent::executor_api`).
pub const HTTP_EXECUTOR_PID_PREFIX: &str = "http-executor-";

/// True if `pid` is the synthetic pid of an HTTP executor (also one checkpointed by an
/// earlier agent run, whose stream is gone).
pub fn is_http_executor(pid: &Pid) -> bool {
    pid.id().starts_with(HTTP_EXECUTOR_PID_PREFIX) && pid.address().port() == 0
}

/// A message the agent sends: to its master, or to an executor.
// Outputs live only until the actor drains them after each input; boxing the large
// registration messages would buy nothing.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum Outgoing {
    // To the master.
    RegisterSlave(internal::RegisterSlaveMessage),
    ReregisterSlave(internal::ReregisterSlaveMessage),
    PongSlave(internal::PongSlaveMessage),
    StatusUpdate(internal::StatusUpdateMessage),
    ExitedExecutor(internal::ExitedExecutorMessage),
    ExecutorToFramework(internal::ExecutorToFrameworkMessage),
    UpdateOperationStatus(internal::UpdateOperationStatusMessage),
    UpdateSlave(internal::UpdateSlaveMessage),
    Authenticate(internal::AuthenticateMessage),
    AuthenticationStart(internal::AuthenticationStartMessage),
    AuthenticationStep(internal::AuthenticationStepMessage),
    // To an executor.
    ExecutorRegistered(internal::ExecutorRegisteredMessage),
    ExecutorReregistered(internal::ExecutorReregisteredMessage),
    ReconnectExecutor(internal::ReconnectExecutorMessage),
    RunTask(internal::RunTaskMessage),
    RunTaskGroup(internal::RunTaskGroupMessage),
    KillTask(internal::KillTaskMessage),
    StatusUpdateAcknowledgement(internal::StatusUpdateAcknowledgementMessage),
    FrameworkToExecutor(internal::FrameworkToExecutorMessage),
    ShutdownExecutor(internal::ShutdownExecutorMessage),
}

/// One executor run, naming its checkpoint folder: framework, executor, container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The executor.
    pub executor_id: ExecutorId,
    /// The container (the run).
    pub container_id: ContainerId,
}

impl Run {
    /// The three ids as the checkpointer takes them.
    pub fn ids(&self) -> (&str, &str, &str) {
        (self.framework_id.as_str(), self.executor_id.as_str(), self.container_id.value())
    }
}

/// A checkpoint file to write (under `<work_dir>/meta`, see `checkpoint.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum CheckpointWrite {
    /// `slave.info`, the boot id and `slaves/latest`.
    AgentInfo(Box<SlaveInfo>),
    /// `framework.info` and `framework.pid`.
    Framework {
        /// The framework.
        framework_id: FrameworkId,
        /// Its info.
        info: Box<FrameworkInfo>,
        /// The scheduler's pid.
        pid: Option<String>,
    },
    /// `executor.info` and `runs/latest`.
    Executor {
        /// The framework.
        framework_id: FrameworkId,
        /// The executor.
        info: Box<ExecutorInfo>,
        /// The new run.
        container_id: ContainerId,
    },
    /// A small text file of a run (`pids/forked.pid`, `pids/libprocess.pid`, the
    /// sentinel), named by `paths::files`.
    RunFile {
        /// The run.
        run: Run,
        /// The file, relative to the run's folder.
        name: &'static str,
        /// Its content.
        text: String,
    },
    /// `task.info`.
    Task {
        /// The run.
        run: Run,
        /// The task.
        task: Box<Task>,
    },
    /// `meta/resources/resources.info`: the checkpointed resources.
    Resources(Vec<Resource>),
    /// `meta/slaves/<id>/drain.config`: the drain in progress (`None` removes it).
    DrainConfig(Option<mesos_proto::mesos::DrainConfig>),
    /// `meta/resources/operations.info`: the operations awaiting acknowledgement.
    Operations(Vec<mesos_proto::mesos::Operation>),
    /// `task.updates`: the task's whole status-update stream.
    TaskUpdates {
        /// The run.
        run: Run,
        /// The task.
        task_id: TaskId,
        /// Every record so far.
        records: Vec<StatusUpdateRecord>,
    },
}

/// A timer the core wants set; it comes back through [`AgentCore::on_timer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// The next registration attempt of registration epoch `epoch`.
    Registration {
        /// The registration epoch that set it (a later one ignores it).
        epoch: u64,
    },
    /// No ping from the master since this timer was armed.
    PingTimeout {
        /// The registration epoch that set it.
        epoch: u64,
        /// Which arming (each ping re-arms; only the latest counts).
        seq: u64,
    },
    /// Time to resend unacknowledged status updates.
    StatusUpdateRetry,
    /// Time to resend an operation's unacknowledged status.
    OperationStatusRetry {
        /// The operation's uuid.
        operation_uuid: Vec<u8>,
        /// Which arming (only the latest counts).
        seq: u64,
    },
    /// A launched executor's registration deadline.
    ExecutorRegistration {
        /// Its framework.
        framework_id: FrameworkId,
        /// The executor.
        executor_id: ExecutorId,
        /// The run the deadline is for.
        container_id: ContainerId,
    },
    /// Recovered executors' re-registration deadline (ends recovery).
    ExecutorReregistration,
    /// A shut-down executor's grace period is over: destroy its container.
    ShutdownGrace {
        /// The container.
        container_id: ContainerId,
    },
    /// A container's SIGTERM grace period is over: SIGKILL it.
    KillGrace {
        /// The container.
        container_id: ContainerId,
    },
}

/// Something the actor must do for the core.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // drained after each input, like `Outgoing`
pub enum Output {
    /// Send a message (to an executor's stream if `to` is an HTTP executor).
    Send {
        /// The receiver.
        to: Pid,
        /// The message.
        message: Outgoing,
    },
    /// Link to a process (a master, or an executor; not HTTP executors).
    Link(Pid),
    /// Link over a fresh connection (executors asked to reconnect after a restart).
    LinkReconnect(Pid),
    /// Create the sandbox, point `runs/latest` at it, and start the executor; then
    /// report with [`AgentCore::on_launched`].
    Launch(Box<LaunchRequest>),
    /// Signal every process of a container.
    Signal {
        /// The container.
        container_id: ContainerId,
        /// The signal.
        signal: Signal,
    },
    /// Write a checkpoint file (failures are logged: the agent carries on, as Mesos
    /// does for everything but the status-update stream).
    Checkpoint(CheckpointWrite),
    /// Write a task's status-update stream, and only if that succeeds perform `then`
    /// (acknowledging the update to the executor, forwarding it): an update that is
    /// not on disk is not acknowledged, so the executor resends it after we recover.
    CheckpointUpdates {
        /// The `TaskUpdates` write.
        write: CheckpointWrite,
        /// What follows a successful write.
        then: Vec<Output>,
    },
    /// Create the folders of new persistent volumes and delete those of destroyed
    /// ones (before the new set is checkpointed).
    SyncVolumes {
        /// Folders to create.
        create: Vec<PathBuf>,
        /// Folders to delete with their content.
        remove: Vec<PathBuf>,
    },
    /// Make persistent volumes visible in a sandbox: `sandbox/<container path>` is a
    /// symlink to the volume's folder (after the sandbox exists).
    LinkVolumes {
        /// The sandbox.
        sandbox: PathBuf,
        /// (path relative to the sandbox, volume folder).
        links: Vec<(PathBuf, PathBuf)>,
    },
    /// Set a running container's limits to what its executor now holds: tasks joined
    /// or left a custom executor (Mesos: `containerizer->update` in `Slave::__run`
    /// and `Slave::statusUpdate`).
    UpdateLimits {
        /// The container.
        container_id: ContainerId,
        /// Its new limits.
        limits: crate::limits::ContainerLimits,
    },
    /// Schedule the folders of finished work (sandboxes, checkpointed meta folders)
    /// for removal `--gc_delay` from now (Mesos: slave.cpp `Slave::garbageCollect`).
    GarbageCollect(Vec<PathBuf>),
    /// Take folders off the removal schedule: their framework or executor is back
    /// (Mesos: `gc->unschedule` in `Slave::run`).
    Unschedule(Vec<PathBuf>),
    /// Set a timer.
    Timer {
        /// When, from now.
        after: Duration,
        /// Which.
        timer: Timer,
    },
    /// Stop the agent process (it was shut down and no executor is left).
    Terminate,
}

/// Counters behind `/metrics/snapshot` (`slave/*`).
#[derive(Debug, Default, Clone)]
#[allow(missing_docs)]
pub struct Stats {
    pub valid_status_updates: u64,
    pub invalid_status_updates: u64,
    pub executors_terminated: u64,
    pub tasks_finished: u64,
    pub tasks_failed: u64,
    pub tasks_killed: u64,
    pub tasks_lost: u64,
}

/// The agent's state and logic.
pub struct AgentCore {
    pub(crate) config: AgentConfig,
    pub(crate) info: SlaveInfo,
    pub(crate) registration: Registration,
    pub(crate) frameworks: BTreeMap<FrameworkId, Framework>,
    pub(crate) completed_frameworks: VecDeque<Framework>,
    pub(crate) updates: StatusUpdateManager,
    pub(crate) paths: Paths,
    pub(crate) rng: StdRng,
    /// The agent's own pid (`slave(1)@ip:port`), once its process started.
    pub(crate) pid: Option<Pid>,
    /// Exits noticed while recovering, handled once recovery decides each
    /// executor's fate (Mesos handles them after the re-registration timeout).
    pub(crate) deferred_terminations: Vec<Termination>,
    /// The latest arming of the ping timer (older ones are ignored).
    pub(crate) ping_seq: u64,
    pub(crate) outbox: Vec<Output>,
    pub(crate) stats: Stats,
    /// An authentication with a master in progress.
    pub(crate) authenticating: Option<authentication::Authenticating>,
    /// The master authenticated with since the master was last lost.
    pub(crate) authenticated_with: Option<Pid>,
    /// Dynamic reservations and persistent volumes, as the master last sent them
    /// (checkpointed; reported in every (re-)registration).
    pub(crate) checkpointed: mesos_proto::resources::Resources,
    /// The drain in progress, if any (checkpointed until the agent is empty).
    /// Mesos: `Slave::drainConfig`.
    pub(crate) drain_config: Option<mesos_proto::mesos::DrainConfig>,
    /// When the drain in progress started here (Mesos `Slave::estimatedDrainStartTime`,
    /// not checkpointed: a drain replayed after a restart starts again).
    pub(crate) drain_start_time: Option<Time>,
    /// Applied operations awaiting acknowledgement, by operation uuid (checkpointed;
    /// at most [`MAX_PENDING_OPERATIONS`]).
    pub(crate) operations: BTreeMap<Vec<u8>, PendingOperation>,
    /// Each live container's limits as last set (at launch or by `UpdateLimits`);
    /// an entry goes with its executor.
    pub(crate) limits: BTreeMap<ContainerId, crate::limits::ContainerLimits>,
}

impl AgentCore {
    /// A recovering agent with no work, configured by `config`.
    pub fn new(config: AgentConfig) -> AgentCore {
        let info = SlaveInfo {
            hostname: config.hostname.clone(),
            resources: config.resources.clone(),
            attributes: config.attributes.clone(),
            checkpoint: Some(true),
            ..SlaveInfo::default()
        };
        AgentCore {
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
            drain_config: None,
            drain_start_time: None,
            updates: StatusUpdateManager::new(),
            pid: None,
            deferred_terminations: Vec::new(),
            ping_seq: 0,
            outbox: Vec::new(),
            stats: Stats::default(),
            authenticating: None,
            authenticated_with: None,
            checkpointed: Default::default(),
            operations: BTreeMap::new(),
            limits: BTreeMap::new(),
        }
    }

    /// The agent's process started as `pid` (Mesos: slave.cpp `initialize` sets
    /// `info.port` to the agent's own port).
    pub fn set_pid(&mut self, pid: Pid) {
        self.info.port = Some(i32::from(pid.address().port()));
        self.pid = Some(pid);
    }

    /// Takes the outputs queued so far.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outbox)
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The agent's `SlaveInfo` (with its id once registered or recovered).
    pub fn info(&self) -> &SlaveInfo {
        &self.info
    }

    /// Where the agent is in its lifecycle.
    pub fn state(&self) -> AgentState {
        self.registration.state()
    }

    /// The registration state (masters, the accepting master).
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Frameworks with work on this agent.
    pub fn frameworks(&self) -> &BTreeMap<FrameworkId, Framework> {
        &self.frameworks
    }

    /// Frameworks with nothing left here, newest last (bounded).
    pub fn completed_frameworks(&self) -> &VecDeque<Framework> {
        &self.completed_frameworks
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The agent's id, once registered or recovered.
    pub fn agent_id(&self) -> Option<String> {
        self.info.id.as_ref().map(|id| id.value.clone())
    }

    /// A timer fired.
    pub fn on_timer(&mut self, timer: Timer, now: Time) {
        match timer {
            Timer::Registration { epoch } => self.on_registration_timer(epoch),
            Timer::PingTimeout { epoch, seq } => self.on_ping_timeout(epoch, seq, now),
            Timer::StatusUpdateRetry => self.on_status_update_timeout(now),
            Timer::OperationStatusRetry { operation_uuid, seq } => {
                self.on_operation_status_retry(&operation_uuid, seq)
            }
            Timer::ExecutorRegistration { framework_id, executor_id, container_id } => self
                .on_executor_registration_timeout(&framework_id, &executor_id, &container_id, now),
            Timer::ExecutorReregistration => self.on_reregister_executor_timeout(now),
            Timer::ShutdownGrace { container_id } => self.destroy_container(&container_id),
            Timer::KillGrace { container_id } => {
                self.outbox.push(Output::Signal { container_id, signal: Signal::Kill })
            }
        }
    }

    pub(crate) fn send(&mut self, to: &Pid, message: Outgoing) {
        self.outbox.push(Output::Send { to: to.clone(), message });
    }

    pub(crate) fn timer(&mut self, after: Duration, timer: Timer) {
        self.outbox.push(Output::Timer { after, timer });
    }

    pub(crate) fn checkpoint(&mut self, write: CheckpointWrite) {
        self.outbox.push(Output::Checkpoint(write));
    }

    /// The executor of `framework_id` with id `executor_id`, if live.
    pub(crate) fn executor_mut(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
    ) -> Option<&mut crate::state::Executor> {
        self.frameworks.get_mut(framework_id).and_then(|f| f.executors.get_mut(executor_id))
    }

    /// The executor registered as `pid` (to turn messages into HTTP events).
    pub fn executor_by_pid(&self, pid: &Pid) -> Option<&crate::state::Executor> {
        self.frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .find(|e| e.pid.as_ref() == Some(pid))
    }
}

#[cfg(test)]
mod draining_tests;
#[cfg(test)]
mod gc_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod task_groups_tests;
#[cfg(test)]
mod tests;
