//! Test a framework without a machine: a real master and fake agents on a simulated
//! network, with a paused clock (feature `testing`).
//!
//! ```
//! use mesos_framework::scheduler::{Scheduler, SchedulerConfig, framework_info, spawn_scheduler};
//! use mesos_framework::testing::{AgentConfig, Cluster};
//!
//! struct Quiet;
//! impl Scheduler for Quiet {}
//!
//! actix_rt::System::new().block_on(async {
//!     let cluster = Cluster::start();
//!     let _agent = cluster.agent(AgentConfig::new("cpus:4;mem:4096"));
//!     let node = cluster.host();
//!     let config = SchedulerConfig::new(framework_info("quiet"), vec![cluster.master_pid()]);
//!     let handle = spawn_scheduler(&node, config, Quiet).unwrap();
//!     cluster.advance(std::time::Duration::from_secs(1)).await; // an allocation round
//!     assert!(handle.inspect(|_, core| core.is_connected()).await.unwrap());
//! });
//! ```
//!
//! The [`FakeAgent`] registers like an agent, answers pings, "runs" command tasks by a
//! [`CommandPolicy`] (no OS process), and starts custom executors in-process through an
//! [`ExecutorLauncher`], relaying their messages as a real agent does.
//!
//! # Layout
//! - `agent`: [`FakeAgent`] and its process.

mod agent;

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Clock, Hooks, Node, Pid, SimNetwork};
use mesos_master::launch::{Master, MasterOptions, spawn_master};

pub use agent::{
    AgentConfig, CommandPolicy, ExecutorLauncher, FakeAgent, FakeAgentProcess, TaskOutcome,
};

/// The address of the first master of a [`Cluster`].
pub const MASTER_ADDRESS: &str = "10.0.0.1:5050";

/// A simulated cluster: masters, fake agents and framework hosts share one network,
/// one paused clock and one table of test hooks.
pub struct Cluster {
    /// The network (partition, heal, isolate).
    pub sim: SimNetwork,
    /// The paused clock.
    pub clock: Clock,
    /// The hooks (expect, drop, hold messages).
    pub hooks: Arc<Hooks>,
    /// The current master's node.
    pub master_node: Node,
    /// The current master.
    pub master: Master,
    next_host: Cell<u8>,
}

impl Cluster {
    /// A master at [`MASTER_ADDRESS`] with Mesos's defaults.
    pub fn start() -> Cluster {
        Cluster::start_with(|_| {})
    }

    /// A master at [`MASTER_ADDRESS`] with options changed by `tweak`.
    pub fn start_with(tweak: impl FnOnce(&mut MasterOptions)) -> Cluster {
        let sim = SimNetwork::new();
        let clock = Clock::paused();
        let hooks = Arc::new(Hooks::default());
        let address: SocketAddr = MASTER_ADDRESS.parse().expect("a valid constant address");
        let (master_node, master) = start_master(
            &sim,
            &clock,
            &hooks,
            address,
            "c0ffee00-0000-4000-8000-000000000001",
            tweak,
        );
        Cluster { sim, clock, hooks, master_node, master, next_host: Cell::new(1) }
    }

    /// The current master's pid.
    pub fn master_pid(&self) -> Pid {
        self.master.master.pid().clone()
    }

    /// Master failover: the current master's machine dies and a new master (no memory of
    /// frameworks or agents) is elected at `address`.
    pub async fn fail_over_master(&mut self, address: &str, id: &str) {
        self.master_node.shutdown().await;
        let address: SocketAddr = address.parse().expect("a valid test address");
        let (node, master) = start_master(&self.sim, &self.clock, &self.hooks, address, id, |_| {});
        self.master_node = node;
        self.master = master;
        self.settle().await;
    }

    /// Waits until every queued event was handled.
    pub async fn settle(&self) {
        self.clock.settle().await;
    }

    /// Advances the paused clock (firing due timers) and settles.
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.clock.settle().await;
    }

    /// Advances in steps of `step` until `done` or `limit` passed; returns whether
    /// `done` became true. The steps let timers that arm other timers all fire.
    pub async fn advance_until(
        &self,
        step: Duration,
        limit: Duration,
        mut done: impl AsyncFnMut() -> bool,
    ) -> bool {
        let mut waited = Duration::ZERO;
        self.settle().await;
        loop {
            if done().await {
                return true;
            }
            if waited >= limit {
                return false;
            }
            self.advance(step).await;
            waited += step;
        }
    }

    /// A new machine on the network (for a scheduler), at `10.0.2.N:8080`.
    pub fn host(&self) -> Node {
        self.node_at(&format!("10.0.2.{}:8080", self.next()))
    }

    /// A new machine at `address`.
    pub fn node_at(&self, address: &str) -> Node {
        Node::builder(address.parse().expect("a valid test address"))
            .simulated(&self.sim)
            .clock(self.clock.clone())
            .hooks(self.hooks.clone())
            .start()
            .expect("a simulated node always starts")
    }

    fn next(&self) -> u8 {
        let n = self.next_host.get();
        self.next_host.set(n.wrapping_add(1));
        n
    }

    /// A fake agent at `10.0.1.N:5051`, registering with the current master (and the
    /// other `masters` of `config` after a failover).
    pub fn agent(&self, mut config: AgentConfig) -> FakeAgent {
        if config.masters.is_empty() {
            config.masters = vec![self.master_pid()];
        }
        let node = self.node_at(&format!("10.0.1.{}:5051", self.next()));
        FakeAgent::spawn(node, config)
    }
}

fn start_master(
    sim: &SimNetwork,
    clock: &Clock,
    hooks: &Arc<Hooks>,
    address: SocketAddr,
    id: &str,
    tweak: impl FnOnce(&mut MasterOptions),
) -> (Node, Master) {
    let node = Node::builder(address)
        .simulated(sim)
        .clock(clock.clone())
        .hooks(hooks.clone())
        .start()
        .expect("a simulated node always starts");
    let mut options = MasterOptions::with_id(id);
    tweak(&mut options);
    let master = spawn_master(&node, options).expect("a fresh node has no master yet");
    (node, master)
}
