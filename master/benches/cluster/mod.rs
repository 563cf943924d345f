//! What the failover benchmarks (`failover.rs`, HA-1; `fail1.rs`, FAIL-1) share: three
//! raft masters on TCP loopback nodes in one OS process, emulated agents speaking the
//! real protocol, how clients find the leader again, and the small CLI helpers.
//!
//! An emulated agent registers (`RegisterSlaveMessage`), or, when it was built with an id,
//! re-registers (`ReregisterSlaveMessage`, with its frameworks and tasks), again after 1 s,
//! 2 s, ... while unanswered, links to the master that answered and answers pings. When the link breaks it re-registers with
//! each master of its list in turn every 250 ms until one names the leader
//! (`NewMasterDetectedMessage`: a follower answers so once it knows the leader, and a new
//! leader tells the agents of its registry); from then on it re-sends to that leader only
//! after 1 s, 2 s, 4 s, ... (Mesos agents back off from 1 s as well).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_rt::{Arbiter, ArbiterHandle};
use libprocess::{Context, Node, Pid, Process, ProcessRef};
use mesos_master::launch::{Master, MasterOptions, spawn_master_with};
use mesos_master::process::Role;
use mesos_proto::mesos::{self, internal};
use mesos_registrar::{RaftRegistrar, RaftRegistrarConfig};
use tokio::sync::mpsc;

/// How often a detached client tries the next master of its list.
pub const RETRY: Duration = Duration::from_millis(250);
/// The first re-send to a named leader that has not answered; doubles up to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// What an emulated agent receives from a master.
pub use mesos_proto::inbox::AgentInbox as AgentMsg;

/// Who was (re-)registered: an agent (`true`) or a framework (`false`), its number, and when.
pub type Report = mpsc::UnboundedSender<(bool, usize, Instant)>;

/// Which master a client talks to, and how it finds another.
pub struct Detector {
    masters: Vec<Pid>,
    /// The master the client talks to.
    pub current: Pid,
    /// True between losing the master and being (re-)registered.
    pub detached: bool,
    /// While detached: a master named `current` as the leader; wait for it with backoff.
    named: bool,
    /// The master lost last (a follower may still name it until it learns of a new one).
    lost: Option<Pid>,
    backoff: Duration,
    next: usize,
}

impl Detector {
    /// Talks to `leader`, one of `masters`.
    pub fn new(masters: Vec<Pid>, leader: Pid) -> Detector {
        Detector {
            masters,
            current: leader,
            detached: false,
            named: false,
            lost: None,
            backoff: BACKOFF,
            next: 0,
        }
    }

    /// The current master is lost: go to the next one.
    pub fn lost(&mut self) {
        self.detached = true;
        self.named = false;
        self.lost = Some(self.current.clone());
        self.next = (self.next + 1) % self.masters.len();
        self.current = self.masters[self.next].clone();
    }

    /// A master names `leader`: true if the client should (re-)register with it now
    /// (not when it is already waiting for that leader's answer, nor when it is the
    /// master just lost).
    pub fn named(&mut self, leader: Pid) -> bool {
        if (self.named && leader == self.current) || self.lost.as_ref() == Some(&leader) {
            return false;
        }
        self.current = leader;
        if self.detached {
            self.named = true;
            self.backoff = BACKOFF;
        }
        true
    }

    /// The retry timer fired while detached: when to fire next, after the client tried
    /// `current` again (a named leader) or moved to the next master.
    pub fn retry(&mut self) -> Duration {
        if self.named {
            let wait = self.backoff;
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            wait
        } else {
            self.next = (self.next + 1) % self.masters.len();
            self.current = self.masters[self.next].clone();
            RETRY
        }
    }

    /// (Re-)registered by `from`.
    pub fn attached(&mut self, from: Pid) {
        self.detached = false;
        self.named = false;
        self.lost = None;
        self.current = from;
    }
}

/// What an agent reports when it re-registers: its frameworks, their tasks, and its
/// completed frameworks with their finished tasks.
pub type Reported =
    (Vec<mesos::FrameworkInfo>, Vec<mesos::Task>, Vec<internal::archive::Framework>);

/// What an agent reports when it re-registers, made from its id at each send (so that
/// 40,000 agents do not each keep their tasks in memory).
pub type Running = Arc<dyn Fn(&mesos::SlaveId) -> Reported + Send + Sync>;

/// An emulated agent; [`Agent::register`] starts it.
pub struct Agent {
    number: usize,
    info: mesos::SlaveInfo,
    running: Running,
    detector: Detector,
    report: Report,
}

impl Agent {
    /// Agent `number`; with an id in `info` it starts by re-registering. Re-registrations
    /// carry the frameworks and tasks that `running` makes.
    pub fn new(
        number: usize,
        info: mesos::SlaveInfo,
        running: Running,
        detector: Detector,
        report: Report,
    ) -> Agent {
        Agent { number, info, running, detector, report }
    }

    /// Spawns agent `number` as `slave(number + 1)` on `node`, running on `arbiter`
    /// ([`Agent::start`] comes later).
    pub fn spawn(self, node: &Node, arbiter: &ArbiterHandle) -> ProcessRef<Agent> {
        node.spawn_on(arbiter, format!("slave({})", self.number + 1), move || self)
            .expect("spawn agent")
    }

    /// Registers with the master it was given, and again with backoff while unanswered
    /// (the leader may change meanwhile: a follower then names the new one).
    pub fn start(&mut self, ctx: &mut Context<'_, Self>) {
        self.detector.detached = true;
        self.detector.named = true;
        self.register(ctx);
        let next = self.detector.retry();
        ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
    }

    /// Sends a (re-)registration to the current master.
    fn register(&self, ctx: &mut Context<'_, Self>) {
        let to = self.detector.current.clone();
        if let Some(id) = &self.info.id {
            let (frameworks, tasks, completed_frameworks) = (self.running)(id);
            ctx.send(
                &to,
                internal::ReregisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some("1.11.0".into()),
                    frameworks,
                    tasks,
                    completed_frameworks,
                    ..Default::default()
                },
            );
        } else {
            ctx.send(
                &to,
                internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some("1.11.0".into()),
                    ..Default::default()
                },
            );
        }
    }

    /// `leader` leads (a master or the benchmark says so): re-register with it unless
    /// already waiting for its answer.
    pub fn detected(&mut self, leader: Pid, ctx: &mut Context<'_, Self>) {
        if self.detector.named(leader) {
            self.register(ctx);
        }
    }

    fn on_registered(&mut self, from: Pid, id: mesos::SlaveId, ctx: &mut Context<'_, Self>) {
        self.info.id = Some(id);
        self.detector.attached(from.clone());
        ctx.link(&from);
        let _ = self.report.send((true, self.number, Instant::now()));
    }

    fn on_retry_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if self.detector.detached {
            let next = self.detector.retry();
            self.register(ctx);
            ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

impl Process for Agent {
    type Message = AgentMsg;

    fn on_message(&mut self, from: Pid, message: AgentMsg, ctx: &mut Context<'_, Self>) {
        match message {
            AgentMsg::Registered(m) => self.on_registered(from, m.slave_id, ctx),
            AgentMsg::Reregistered(m) => self.on_registered(from, m.slave_id, ctx),
            AgentMsg::Ping(_) => ctx.send(&from, internal::PongSlaveMessage {}),
            AgentMsg::NewMaster(m) => {
                if let Ok(pid) = m.pid.parse::<Pid>() {
                    self.detected(pid, ctx);
                }
            }
            // Emulated agents run no tasks: nothing else comes in these benchmarks.
            _ => {}
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.detector.current && !self.detector.detached {
            self.detector.lost();
            self.register(ctx);
            ctx.delay(RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

/// A libprocess node on an ephemeral 127.0.0.1 port.
pub fn tcp_node() -> Node {
    Node::builder("127.0.0.1:0".parse().expect("an address")).start().expect("bind 127.0.0.1")
}

async fn leading(master: &Master) -> bool {
    master.master.dispatch(|m, _| matches!(m.role(), Role::Leading { .. })).await.unwrap_or(false)
}

/// Runs `make` on a new arbiter (an OS thread with its own event loop); returns the
/// arbiter and what `make` made there.
pub async fn on_thread<T: Send + 'static>(
    make: impl FnOnce() -> T + Send + 'static,
) -> (Arbiter, T) {
    let arbiter = Arbiter::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    arbiter.spawn(async move {
        let _ = tx.send(make());
    });
    (arbiter, rx.await.expect("the arbiter runs"))
}

fn start_master(
    dir: &Path,
    node: Node,
    addresses: Vec<std::net::SocketAddr>,
    id: String,
    election_ticks: usize,
) -> (Node, Master) {
    let mut config = RaftRegistrarConfig::new(addresses);
    config.election_ticks = election_ticks;
    let registrar = RaftRegistrar::open(&node, config, dir).expect("registrar");
    let mut options = MasterOptions::with_id(id);
    options.hostname = "127.0.0.1".into();
    let master = spawn_master_with(&node, options, Arc::new(registrar)).expect("master");
    (node, master)
}

/// Three masters with raft registrars (sled, fsynced) on their own TCP nodes.
pub struct Cluster {
    /// Each master with its node.
    pub masters: Vec<(Node, Master)>,
    /// The masters' pids, in the same order.
    pub pids: Vec<Pid>,
    /// The index of the leading master.
    pub leader: usize,
    killed: Option<usize>,
    /// The masters' own threads, if they have them.
    threads: Vec<Arbiter>,
}

impl Cluster {
    /// Starts three masters with their registries under `root/<tag>-<run>-<i>` and
    /// waits for a leader. With `threads`, each master's node runs on its own thread (as
    /// separate processes would), else all share the caller's. Raft elections time out
    /// after `election_ticks` to twice that many 100 ms ticks (the default is 5).
    pub async fn start(
        root: &Path,
        tag: &str,
        run: usize,
        threads: bool,
        election_ticks: usize,
    ) -> Cluster {
        let mut nodes = Vec::new();
        let mut arbiters = Vec::new();
        for _ in 0..3 {
            if threads {
                let (arbiter, node) = on_thread(tcp_node).await;
                arbiters.push(arbiter);
                nodes.push(node);
            } else {
                nodes.push(tcp_node());
            }
        }
        let addresses: Vec<_> = nodes.iter().map(Node::address).collect();
        let mut masters = Vec::new();
        for (i, node) in nodes.into_iter().enumerate() {
            let dir = root.join(format!("{tag}-{run}-{i}"));
            let id = format!("c0ffee00-0000-4000-8000-0000000{run:02}{i:03}");
            let addresses = addresses.clone();
            masters.push(match arbiters.get(i) {
                Some(arbiter) => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    arbiter.spawn(async move {
                        let _ = tx.send(start_master(&dir, node, addresses, id, election_ticks));
                    });
                    rx.await.expect("the master's thread runs")
                }
                None => start_master(&dir, node, addresses, id, election_ticks),
            });
        }
        let pids = masters.iter().map(|(_, m)| m.master.pid().clone()).collect();
        let mut cluster = Cluster { masters, pids, leader: 0, killed: None, threads: arbiters };
        cluster.leader = cluster.wait_leader().await;
        cluster
    }

    /// Polls until a master (not the killed one) leads; returns its index.
    pub async fn wait_leader(&self) -> usize {
        for _ in 0..10_000 {
            for (i, (_, master)) in self.masters.iter().enumerate() {
                if Some(i) != self.killed && leading(master).await {
                    return i;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("no leading master within 20 s");
    }

    /// Shuts the leading master's node down (its sockets close, as with `kill -9`) and
    /// waits for another master to lead: when the kill was, and the seconds to the new
    /// leader.
    pub async fn kill_leader(&mut self) -> (Instant, f64) {
        let killed = Instant::now();
        self.masters[self.leader].0.shutdown().await;
        self.killed = Some(self.leader);
        let new_leader = self.wait_leader().await;
        assert_ne!(Some(new_leader), self.killed);
        self.leader = new_leader;
        (killed, killed.elapsed().as_secs_f64())
    }

    /// Shuts the surviving masters down (and their threads).
    pub async fn shutdown(self) {
        for (i, (node, _)) in self.masters.iter().enumerate() {
            if Some(i) != self.killed {
                node.shutdown().await;
            }
        }
        for arbiter in self.threads {
            arbiter.stop();
        }
    }
}

/// Waits until each of `agents` agents and `frameworks` frameworks was (re-)registered
/// at or after `since` (repeats count once); returns when the last agent and the last
/// framework came (or panics after `limit`).
pub async fn wait_back(
    rx: &mut mpsc::UnboundedReceiver<(bool, usize, Instant)>,
    since: Instant,
    agents: usize,
    frameworks: usize,
    limit: Duration,
) -> (Instant, Instant) {
    let (mut back_agents, mut back_frameworks) = (HashSet::new(), HashSet::new());
    let (mut last_agent, mut last_framework) = (since, since);
    let deadline = tokio::time::Instant::now() + limit;
    while back_agents.len() < agents || back_frameworks.len() < frameworks {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((_, _, at))) if at < since => {}
            Ok(Some((true, n, at))) => {
                if back_agents.insert(n) {
                    last_agent = at;
                }
            }
            Ok(Some((false, n, at))) => {
                if back_frameworks.insert(n) {
                    last_framework = at;
                }
            }
            _ => panic!(
                "only {}/{agents} agents and {}/{frameworks} frameworks came back within {limit:?}",
                back_agents.len(),
                back_frameworks.len()
            ),
        }
    }
    (last_agent, last_framework)
}

/// The comma-separated numbers after `name` in `args`, else `default`.
pub fn list(args: &[String], name: &str, default: &[usize]) -> Vec<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// The median (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
