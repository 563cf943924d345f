//! A simulated cluster for the agent's protocol tests: our real master, one real
//! `Agent` process with the in-memory containerizer, our command executors as
//! in-process libprocess processes, and a scheduler, all on a simulated network
//! with a paused clock (Mesos's tests with `Clock::pause` and `TestContainerizer`).

use std::sync::Arc;
use std::time::Duration;

use libprocess::{Clock, Hooks, Node, Pid, ProcessRef, SimNetwork};
use mesos_agent::agent::{Agent, AgentConfig, prepare_recovery};
use mesos_master::launch::{Master, MasterOptions, spawn_master};
use mesos_proto::mesos::FrameworkInfo;
use mesos_proto::resources::Resources;

use super::fake::{FakeContainerizer, FakeWorld};
use super::scheduler::Scheduler;
use super::support::TempDir;

/// The agent's resources.
pub const AGENT_RESOURCES: &str = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]";
const MASTER: &str = "10.0.0.1:5050";
const AGENT: &str = "10.0.1.1:5051";
const EXECUTORS: &str = "10.0.1.1:40000";
const SCHEDULER: &str = "10.0.2.1:8080";

pub struct SimCluster {
    pub sim: SimNetwork,
    pub clock: Clock,
    pub hooks: Arc<Hooks>,
    pub master_node: Node,
    pub master: Master,
    agent_node: Option<Node>,
    pub agent: Option<ProcessRef<Agent>>,
    pub executor_node: Node,
    pub world: FakeWorld,
    pub dir: TempDir,
    /// Applied to the agent's configuration at every start.
    pub configure: fn(&mut AgentConfig),
}

impl SimCluster {
    /// The master, the executors' node and an empty work dir; no agent yet.
    pub fn start(name: &str) -> SimCluster {
        // `RUST_LOG=info cargo test ...` shows what the processes do.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let sim = SimNetwork::new();
        let clock = Clock::paused();
        let hooks = Arc::new(Hooks::default());
        let master_node = sim_node(&sim, &clock, &hooks, MASTER);
        let master = spawn_master(
            &master_node,
            MasterOptions::with_id("5a5a5a5a-0000-4000-8000-000000000001"),
        )
        .expect("master");
        let executor_node = sim_node(&sim, &clock, &hooks, EXECUTORS);
        SimCluster {
            sim,
            clock,
            hooks,
            master_node,
            master,
            agent_node: None,
            agent: None,
            executor_node,
            world: FakeWorld::default(),
            dir: TempDir::new(&format!("sim-{name}")),
            configure: |_| {},
        }
    }

    pub fn master_pid(&self) -> Pid {
        self.master.master.pid().clone()
    }

    /// The agent's pid (the same across restarts).
    pub fn agent_pid(&self) -> Pid {
        format!("slave(1)@{AGENT}").parse().expect("pid")
    }

    /// The agent's configuration (the same across restarts).
    pub fn config(&self) -> AgentConfig {
        let mut config = AgentConfig::new(vec![self.master_pid()], self.dir.0.join("work"));
        config.resources = Resources::parse(AGENT_RESOURCES).expect("resources").to_protos();
        config.registration_backoff_factor = Duration::from_millis(10);
        (self.configure)(&mut config);
        config
    }

    /// Starts the agent (recovering from the work dir if there is a checkpoint) on a
    /// fresh node, as a restarted machine process would; returns once it has
    /// initialized (its first timers are armed).
    pub async fn start_agent(&mut self) {
        let config = self.config();
        let recovered = prepare_recovery(&config).expect("checkpoint readable");
        let node = sim_node(&self.sim, &self.clock, &self.hooks, AGENT);
        node.set_default_process("slave(1)");
        let containerizer = FakeContainerizer::new(self.world.clone(), self.executor_node.clone());
        let agent = node
            .spawn("slave(1)", Agent::new(config, Box::new(containerizer), recovered))
            .expect("agent");
        self.agent = Some(agent);
        self.agent_node = Some(node);
        self.settle().await;
    }

    /// The agent process dies (its node leaves the network, so every connection to
    /// it breaks, as when `kill -9` closes its sockets). Executors keep running.
    pub async fn crash_agent(&mut self) {
        self.agent = None;
        if let Some(node) = self.agent_node.take() {
            node.shutdown().await;
        }
    }

    /// A scheduler on its own simulated node.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::on(sim_node(&self.sim, &self.clock, &self.hooks, SCHEDULER), self.master_pid())
    }

    pub async fn settle(&self) {
        self.clock.settle().await;
    }

    /// Lets `by` pass on the paused clock, 100 ms at a time, running everything that
    /// comes due on the way (timers armed by timers included).
    pub async fn advance(&self, by: Duration) {
        let step = Duration::from_millis(100);
        let mut left = by;
        while !left.is_zero() {
            let now = left.min(step);
            self.clock.advance(now);
            self.clock.settle().await;
            left -= now;
        }
    }

    /// Starts the agent and a scheduler subscribed with `info`, and waits until the
    /// agent is registered and offered.
    pub async fn agent_and_scheduler(&mut self, info: FrameworkInfo) -> Scheduler {
        self.start_agent().await;
        self.advance(Duration::from_secs(1)).await;
        let mut scheduler = self.scheduler();
        scheduler.subscribe(info).await;
        self.settle().await;
        scheduler
    }
}

fn sim_node(sim: &SimNetwork, clock: &Clock, hooks: &Arc<Hooks>, address: &str) -> Node {
    Node::builder(address.parse().expect("address"))
        .simulated(sim)
        .clock(clock.clone())
        .hooks(hooks.clone())
        .start()
        .expect("sim node")
}

/// A framework for the tests.
pub fn framework(checkpoint: bool) -> FrameworkInfo {
    FrameworkInfo {
        user: "nobody".into(),
        name: "sim".into(),
        checkpoint: Some(checkpoint),
        ..Default::default()
    }
}
