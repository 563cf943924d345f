//! Shared helpers: registry values and a simulated cluster of registrars.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Clock, Hooks, Node, SimNetwork};
use mesos_proto::mesos::{FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TimeInfo};
use mesos_registrar::{
    Applied, Completion, LeaderState, LogBackend, MemBackend, RaftRegistrar, RaftRegistrarConfig,
    Registrar, RegistrarError, RegistryState,
};

/// An agent's info with id `id`.
pub fn agent(id: &str) -> SlaveInfo {
    SlaveInfo {
        hostname: "localhost".into(),
        id: Some(SlaveId { value: id.into() }),
        ..Default::default()
    }
}

/// A framework's info with id `id` and a failover timeout.
pub fn framework(id: &str, failover_timeout_secs: f64) -> FrameworkInfo {
    FrameworkInfo {
        user: "root".into(),
        name: format!("framework {id}"),
        id: Some(FrameworkId { value: id.into() }),
        failover_timeout: Some(failover_timeout_secs),
        ..Default::default()
    }
}

/// A time `ns` nanoseconds after the epoch.
pub fn time(ns: i64) -> TimeInfo {
    TimeInfo { nanoseconds: ns }
}

/// One member: its node and registrar.
pub struct Member {
    pub node: Node,
    pub registrar: RaftRegistrar,
}

/// Three (or n) registrars on a simulated network sharing one paused clock.
pub struct Cluster {
    pub sim: SimNetwork,
    pub clock: Clock,
    pub hooks: Arc<Hooks>,
    pub addresses: Vec<SocketAddr>,
    pub members: Vec<Option<Member>>,
    pub snapshot_interval: u64,
}

/// The raft tick of the simulated registrars.
pub const TICK: Duration = Duration::from_millis(100);

impl Cluster {
    /// An empty cluster of `n` addresses; start members with [`Cluster::start`].
    pub fn new(n: usize) -> Cluster {
        Cluster {
            sim: SimNetwork::new(),
            clock: Clock::paused(),
            hooks: Arc::new(Hooks::default()),
            addresses: (1..=n).map(|i| format!("10.0.0.{i}:5050").parse().unwrap()).collect(),
            members: (0..n).map(|_| None).collect(),
            snapshot_interval: 1000,
        }
    }

    /// Starts member `i` on `backend`.
    pub fn start(&mut self, i: usize, backend: Box<dyn LogBackend>) {
        let node = Node::builder(self.addresses[i])
            .simulated(&self.sim)
            .clock(self.clock.clone())
            .hooks(self.hooks.clone())
            .start()
            .expect("start node");
        let mut config = RaftRegistrarConfig::new(self.addresses.clone());
        config.snapshot_interval = self.snapshot_interval;
        config.seed = Some(7 + i as u64);
        let registrar = RaftRegistrar::start(&node, config, backend).expect("start registrar");
        self.members[i] = Some(Member { node, registrar });
    }

    /// Starts every member, each on a new in-memory log; returns the logs (clone one to
    /// restart its member on the same data).
    pub fn start_all(&mut self) -> Vec<MemBackend> {
        let backends: Vec<MemBackend> =
            (0..self.members.len()).map(|_| MemBackend::new()).collect();
        for (i, backend) in backends.iter().enumerate() {
            self.start(i, Box::new(backend.clone()));
        }
        backends
    }

    /// Stops member `i` as a crash would: its node leaves the network.
    pub async fn stop(&mut self, i: usize) {
        if let Some(member) = self.members[i].take() {
            member.node.shutdown().await;
            self.clock.settle().await;
        }
    }

    /// Member `i`'s registrar.
    pub fn registrar(&self, i: usize) -> &RaftRegistrar {
        &self.members[i].as_ref().expect("member running").registrar
    }

    /// Advances the clock by one tick and lets every process handle what is queued.
    pub async fn step(&self) {
        self.clock.advance(TICK);
        self.clock.settle().await;
    }

    /// Runs `ticks` ticks.
    pub async fn run(&self, ticks: usize) {
        for _ in 0..ticks {
            self.step().await;
        }
    }

    /// Members that say they are leading (with their term).
    pub fn leaders(&self) -> Vec<(usize, u64)> {
        self.members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let l = m.as_ref()?.registrar.leadership().borrow().clone();
                (l.state == LeaderState::Leading).then_some((i, l.term))
            })
            .collect()
    }

    /// Runs until exactly one member among `among` leads; fails after 100 ticks (10 s).
    pub async fn wait_leader(&self, among: &[usize]) -> usize {
        for _ in 0..100 {
            self.step().await;
            let leaders: Vec<usize> =
                self.leaders().into_iter().map(|(i, _)| i).filter(|i| among.contains(i)).collect();
            if leaders.len() == 1 {
                return leaders[0];
            }
        }
        panic!("no single leader among {among:?}: {:?}", self.leaders());
    }

    /// Drives the clock until `completion` resolves; fails after `max_ticks`.
    pub async fn complete(
        &self,
        completion: Completion,
        max_ticks: usize,
    ) -> Result<Applied, RegistrarError> {
        let handle = actix_rt::spawn(completion);
        for _ in 0..max_ticks {
            self.clock.settle().await;
            if handle.is_finished() {
                return handle.await.expect("completion task");
            }
            self.step().await;
        }
        panic!("the submit did not complete within {max_ticks} ticks");
    }

    /// Submits on member `i` and drives the clock until it completes.
    pub async fn submit(
        &self,
        i: usize,
        op: mesos_registrar::RegistryOperation,
    ) -> Result<Applied, RegistrarError> {
        let completion = self.registrar(i).submit(op);
        self.complete(completion, 100).await
    }

    /// Member `i`'s applied registry.
    pub async fn state(&self, i: usize) -> RegistryState {
        let future = self.registrar(i).state();
        let handle = actix_rt::spawn(future);
        self.clock.settle().await;
        handle.await.expect("state task").expect("state")
    }

    /// Member `i`'s raft status.
    pub async fn status(&self, i: usize) -> mesos_registrar::RaftStatus {
        let registrar = self.registrar(i).clone();
        let handle = actix_rt::spawn(async move { registrar.status().await });
        self.clock.settle().await;
        handle.await.expect("status task").expect("status")
    }

    /// Stops every member.
    pub async fn shutdown(&mut self) {
        for i in 0..self.members.len() {
            self.stop(i).await;
        }
    }
}
