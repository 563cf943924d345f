//! Emulated Mesos agents: thousands of them in one OS process, each a libprocess process
//! speaking the agent's side of the real protocol to real masters, with no executors
//! behind them. Masters see ordinary agents: they register, re-register with their tasks
//! after a leader change, answer pings, run tasks at once, and forget finished tasks once
//! the master acknowledged their last update. The `mesos-emulate` binary runs them against masters started
//! as users start them; the failover benchmarks (`master/benches`) run them in-process.
//!
//! # Layout
//! - [`detector`]: how an agent finds the leading master after losing one.
//! - [`agent`]: the emulated agent process and its report events.
//! - [`load`]: the benchmark load agents report when they start by re-registering.
//! - [`scheduler`]: an emulated framework that launches what its offers hold.
//! - [`spawn_agents`] (here): many agents on one node.

pub mod agent;
pub mod detector;
pub mod load;
pub mod scheduler;

use std::time::Duration;

use actix_rt::ArbiterHandle;
use libprocess::{Node, Pid, ProcessRef};
use mesos_proto::mesos;

pub use agent::{Agent, Event, EventKind, MAX_TASKS, Report, Running};
pub use detector::{Detector, RETRY};
pub use scheduler::{Framework, FrameworkEvent, FrameworkEventKind, FrameworkReport};

/// What a group of emulated agents looks like.
#[derive(Clone)]
pub struct AgentsConfig {
    /// The masters, the first one tried first.
    pub masters: Vec<Pid>,
    /// How many agents.
    pub agents: usize,
    /// Each agent's resources.
    pub resources: Vec<mesos::Resource>,
    /// What each agent reports running at start. With a load (see [`load::running`]),
    /// agents start by re-registering under ids of their own (`<prefix><n>`), as the
    /// Mesos failover benchmark's agents do; without one ([`load::nothing`]) they
    /// register and get their ids from the master.
    pub running: Running,
    /// True when agents start by re-registering under their own ids.
    pub reregister: bool,
    /// How long launched tasks run (`None`: until killed).
    pub task_duration: Option<Duration>,
    /// The hostnames' and ids' prefix (`agent` gives `agent0`, `agent1`, ...).
    pub prefix: String,
}

/// Spawns `config.agents` agents as `slave(1)`, `slave(2)`, ... on `node`, running on
/// `arbiter`, each reporting to `report`; none has started yet ([`Agent::start`]).
pub fn spawn_agents(
    node: &Node,
    arbiter: &ArbiterHandle,
    config: &AgentsConfig,
    report: &Report,
) -> Result<Vec<ProcessRef<Agent>>, libprocess::Error> {
    let Some(first) = config.masters.first() else {
        return Ok(Vec::new());
    };
    let port = i32::from(node.address().port());
    (0..config.agents)
        .map(|i| {
            let name = format!("{}{i}", config.prefix);
            let info = mesos::SlaveInfo {
                id: config.reregister.then(|| mesos::SlaveId { value: name.clone() }),
                hostname: name,
                port: Some(port),
                resources: config.resources.clone(),
                ..Default::default()
            };
            let detector = Detector::new(config.masters.clone(), first.clone());
            let agent = Agent::new(i, info, config.running.clone(), detector, report.clone())
                .with_task_duration(config.task_duration);
            node.spawn_on(arbiter, format!("slave({})", i + 1), move || agent)
        })
        .collect()
}
