//! Starting a master on a node: the master's id is reserved, the allocator process is
//! spawned with the master's reference, then the master process with the allocator's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Node, ProcessRef};

use crate::allocator::AllocatorConfig;
use crate::allocator::process::AllocatorProcess;
use crate::core::MasterConfig;
use crate::process::MasterProcess;
use mesos_registrar::{
    InMemoryRegistrar, MeasuredRegistrar, RaftRegistrar, RaftRegistrarConfig, Registrar,
    RegistrarError,
};

/// Where the registry lives (`--registry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryMode {
    /// In this master's memory only (a throwaway single master).
    InMemory,
    /// Replicated with raft among `masters` (this one included), stored under `work_dir`.
    Raft {
        /// Every member of the HA group, as `ip:port`.
        masters: Vec<std::net::SocketAddr>,
        /// Where the raft log, snapshots and registry live.
        work_dir: PathBuf,
    },
}

/// Why a master could not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Spawning a process failed.
    #[error(transparent)]
    Process(#[from] libprocess::Error),
    /// The registrar could not start.
    #[error("registrar: {0}")]
    Registrar(#[from] RegistrarError),
}

/// What a master needs to start (from `mesos-master`'s flags, or a test).
#[derive(Clone, Debug)]
pub struct MasterOptions {
    /// Unique id of this master run (prefix of every ID it hands out).
    pub id: String,
    /// Advertised hostname.
    pub hostname: String,
    /// `--allocation_interval`.
    pub allocation_interval: Duration,
    /// `--agent_ping_timeout`.
    pub agent_ping_timeout: Duration,
    /// `--max_agent_ping_timeouts`.
    pub max_agent_ping_timeouts: u32,
    /// `--offer_timeout`.
    pub offer_timeout: Option<Duration>,
    /// Role weights (`--weights`).
    pub weights: Vec<(String, f64)>,
    /// The roles frameworks may use (`--roles`); `None` allows any role.
    pub roles: Option<Vec<String>>,
    /// `--agent_reregister_timeout`.
    pub agent_reregister_timeout: Duration,
    /// `--raft_tick` (raft registry only).
    pub raft_tick: Duration,
    /// `--raft_election_ticks` (raft registry only).
    pub raft_election_ticks: usize,
    /// Flags shown at `/master/flags` and in `/master/state`.
    pub flags: Vec<(String, String)>,
    /// Seed of the allocator's shuffle (reproducible runs).
    pub seed: u64,
    /// Where the registry lives.
    pub registry: RegistryMode,
    /// The HTTP authenticators of the realms switched on; empty: every endpoint open.
    pub http_authenticator: mesos_security::HttpAuthenticator,
    /// The local authorizer (`--acls`); `None` authorizes everything.
    pub authorizer: Option<Arc<mesos_security::Authorizer>>,
    /// v0 authentication of frameworks and agents (off by default).
    pub authentication: crate::authentication::AuthenticationConfig,
    /// The master's log file (`--log_dir`), served at `/master/log`.
    pub log_file: Option<std::path::PathBuf>,
}

impl MasterOptions {
    /// Mesos's defaults, with the given master id.
    pub fn with_id(id: impl Into<String>) -> MasterOptions {
        MasterOptions {
            id: id.into(),
            hostname: "localhost".to_string(),
            allocation_interval: Duration::from_secs(1),
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
            offer_timeout: None,
            weights: Vec::new(),
            roles: None,
            agent_reregister_timeout: Duration::from_secs(600),
            raft_tick: crate::flags::DEFAULT_RAFT_TICK,
            raft_election_ticks: 5,
            flags: Vec::new(),
            seed: 0,
            registry: RegistryMode::InMemory,
            http_authenticator: mesos_security::HttpAuthenticator::default(),
            authorizer: None,
            authentication: crate::authentication::AuthenticationConfig {
                timeout: mesos_security::cram_md5::AUTHENTICATION_V0_TIMEOUT,
                ..Default::default()
            },
            log_file: None,
        }
    }
}

/// A running master: its process and its allocator.
#[derive(Clone)]
pub struct Master {
    /// The master process (`master@...`).
    pub master: ProcessRef<MasterProcess>,
    /// The allocator process.
    pub allocator: ProcessRef<AllocatorProcess>,
}

/// Spawns the registrar, the allocator and the master (id `master`) on `node` and makes
/// the master the node's default HTTP process. Must run inside an actix `System`.
pub fn spawn_master(node: &Node, options: MasterOptions) -> Result<Master, LaunchError> {
    let registrar: Arc<dyn Registrar> = match &options.registry {
        RegistryMode::InMemory => Arc::new(InMemoryRegistrar::default()),
        RegistryMode::Raft { masters, work_dir } => {
            let config = RaftRegistrarConfig {
                tick: options.raft_tick,
                election_ticks: options.raft_election_ticks,
                ..RaftRegistrarConfig::new(masters.clone())
            };
            Arc::new(RaftRegistrar::open(node, config, work_dir)?)
        }
    };
    spawn_master_with(node, options, registrar)
}

/// [`spawn_master`] with a registrar made by the caller.
pub fn spawn_master_with(
    node: &Node,
    options: MasterOptions,
    registrar: Arc<dyn Registrar>,
) -> Result<Master, LaunchError> {
    let allocator_config = AllocatorConfig {
        allocation_interval: options.allocation_interval,
        seed: options.seed,
        ..AllocatorConfig::default()
    };
    // The master's id is reserved first so that the allocator is built with the master's
    // reference; what it sends before the master runs waits in the master's mailbox.
    let reserved = node.reserve::<MasterProcess>("master")?;
    let allocator = node.spawn(
        "allocator",
        AllocatorProcess::new(allocator_config, reserved.process_ref().clone()),
    )?;
    if !options.weights.is_empty() {
        let weights = options.weights.clone();
        let _ = allocator.tell(move |a, _| a.update_weights(&weights));
    }
    let config = MasterConfig {
        pid: reserved.pid().clone(),
        id: options.id.clone(),
        hostname: options.hostname.clone(),
        agent_ping_timeout: options.agent_ping_timeout,
        max_agent_ping_timeouts: options.max_agent_ping_timeouts,
        offer_timeout: options.offer_timeout,
        version: node.config().version.clone(),
        roles: options.roles.clone().map(|roles| roles.into_iter().collect()),
        agent_reregister_timeout: options.agent_reregister_timeout,
        authorizer: options.authorizer.clone(),
        weights: options.weights.clone(),
    };
    // Mesos's registrar/* metrics (commit latency, queued operations, registry size).
    let registrar: Arc<dyn Registrar> =
        Arc::new(MeasuredRegistrar::new(registrar, node.clock().clone(), node.metrics().clone()));
    let mut process =
        MasterProcess::new(config, registrar, allocator.clone(), options.flags, node.clock().now());
    process.set_authentication(options.authentication);
    process.set_log_file(options.log_file);
    let master = reserved.spawn(process);
    node.set_default_process("master");
    // The gate authenticates every request by its realm and, with `--acls`, checks
    // `get_endpoints` on the node's built-in `/metrics/snapshot` (Mesos: libprocess's
    // metrics process asks the master's authorization callback).
    if !options.http_authenticator.is_empty() || options.authorizer.is_some() {
        let realm_of = crate::http::authentication::realm_of;
        let gate = options.http_authenticator.gate_with(
            realm_of,
            node.clock().clone(),
            options.authorizer.clone(),
        );
        node.set_http_gate(gate);
    }
    Ok(Master { master, allocator })
}
