//! What the failover benchmarks (`failover.rs`, HA-1; `fail1.rs`, FAIL-1) share: three
//! raft masters on TCP loopback nodes in one OS process, the emulated agents of
//! `mesos-emulate` (the crate's docs say how they register, re-register and follow
//! leader changes), and the small CLI helpers.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_rt::{Arbiter, ArbiterHandle};
use libprocess::{Node, Pid, ProcessRef};
use mesos_emulate::{Agent, EventKind};
use mesos_master::core::MasterCore;
use mesos_master::launch::{Master, MasterOptions, spawn_master_with};
use mesos_master::process::Role;
use mesos_registrar::{RaftRegistrar, RaftRegistrarConfig};
use tokio::sync::mpsc;

/// Who was (re-)registered: an agent (`true`) or a framework (`false`), its number, and
/// when. Unbounded: at most one entry per client and registration.
pub type Report = mpsc::UnboundedSender<(bool, usize, Instant)>;

/// An emulated agent's report that forwards its (re-)registrations to `report`.
pub fn agent_report(report: &Report) -> mesos_emulate::Report {
    let report = report.clone();
    Arc::new(move |event| {
        if matches!(event.kind, EventKind::Registered | EventKind::Reregistered) {
            let _ = report.send((true, event.agent, Instant::now()));
        }
    })
}

/// Spawns `agent` (number `number`) as `slave(number + 1)` on `node`, running on `arbiter`.
pub fn spawn_agent(
    node: &Node,
    arbiter: &ArbiterHandle,
    number: usize,
    agent: Agent,
) -> ProcessRef<Agent> {
    node.spawn_on(arbiter, format!("slave({})", number + 1), move || agent).expect("spawn agent")
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
    // `mesos-master`'s own default tick (`RaftRegistrarConfig::new`'s), so elections
    // take what they take for users.
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
    /// The killed master's state, dropped with the cluster (see [`Cluster::kill_leader`]).
    killed_core: Option<MasterCore>,
    /// The thread id each master runs on, in the same order (read by fail1.rs).
    #[allow(dead_code)]
    pub tids: Vec<u32>,
}

impl Cluster {
    /// Starts three masters with their registries under `root/<tag>-<run>-<i>` and
    /// waits for a leader. With `threads`, each master's node runs on its own thread (as
    /// separate processes would), else all share the caller's. Raft elections time out
    /// after `election_ticks` to twice that many ticks of `mesos-master`'s default `--raft_tick`
    /// (50 ms; the default `election_ticks` is 5: 250-450 ms).
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
        let (mut masters, mut tids) = (Vec::new(), Vec::new());
        for (i, node) in nodes.into_iter().enumerate() {
            let dir = root.join(format!("{tag}-{run}-{i}"));
            let id = format!("c0ffee00-0000-4000-8000-0000000{run:02}{i:03}");
            let addresses = addresses.clone();
            let (master, tid) = match arbiters.get(i) {
                Some(arbiter) => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    arbiter.spawn(async move {
                        let master = start_master(&dir, node, addresses, id, election_ticks);
                        let _ = tx.send((master, thread_id()));
                    });
                    rx.await.expect("the master's thread runs")
                }
                None => (start_master(&dir, node, addresses, id, election_ticks), thread_id()),
            };
            masters.push(master);
            tids.push(tid);
        }
        let pids = masters.iter().map(|(_, m)| m.master.pid().clone()).collect();
        let mut cluster = Cluster {
            masters,
            pids,
            leader: 0,
            killed: None,
            threads: arbiters,
            killed_core: None,
            tids,
        };
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
        // A `kill -9` frees nothing: the OS takes the process's pages back at once. Shut
        // down in this process, the killed master would drop its state (every agent and
        // task) on its thread during the failover, over a second of CPU at 40,000 agents
        // on the two cores the survivors need. Its core is taken out instead, and dropped
        // with the cluster ([`Cluster::shutdown`]), after the measurements.
        let (_, master) = &self.masters[self.leader];
        self.killed_core = master
            .master
            .dispatch(|m, ctx| {
                let empty = MasterCore::new(m.core().config().clone(), ctx.now());
                std::mem::replace(m.core_mut(), empty)
            })
            .await
            .ok();
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
#[allow(dead_code)] // used by failover.rs, not by fail1.rs
pub async fn wait_back(
    rx: &mut mpsc::UnboundedReceiver<(bool, usize, Instant)>,
    since: Instant,
    agents: usize,
    frameworks: usize,
    limit: Duration,
) -> (Instant, Instant) {
    wait_back_timeline(rx, since, agents, frameworks, limit, &mut Vec::new()).await
}

/// [`wait_back`], also pushing onto `timeline` when each agent came back (its first
/// re-registration since `since`), in the order they came.
pub async fn wait_back_timeline(
    rx: &mut mpsc::UnboundedReceiver<(bool, usize, Instant)>,
    since: Instant,
    agents: usize,
    frameworks: usize,
    limit: Duration,
    timeline: &mut Vec<Instant>,
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
                    timeline.push(at);
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

/// This process's resident memory (`VmRSS` of `/proc/self/status`) in KiB, 0 if unreadable.
#[allow(dead_code)] // Not every bench that shares this module reads it.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The minor page faults this process has taken (`minflt`, the 10th field of
/// `/proc/self/stat`), 0 if unreadable: each is a page the kernel mapped (and zeroed,
/// for fresh anonymous memory) on first touch, so a count that does not depend on the
/// load of the machine (docs/benchmarks.md, FAIL-1).
#[allow(dead_code)] // Not every bench that shares this module reads it.
pub fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (2nd field) may hold spaces: count from after its `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(7))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Each thread of this process: (thread id, name, CPU time in clock ticks, user and
/// system), from `/proc/self/task`.
#[allow(dead_code)] // fail1.rs only
pub fn thread_cpu() -> Vec<(u32, String, u64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1.to_string();
            let mut fields = rest.split_whitespace().skip(11);
            let user: u64 = fields.next()?.parse().ok()?;
            let system: u64 = fields.next()?.parse().ok()?;
            Some((tid, name, user + system))
        })
        .collect()
}

/// The calling thread's id.
#[allow(dead_code)] // fail1.rs only
pub fn thread_id() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|path| path.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// The median (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// (agents, running tasks) the master holds.
#[allow(dead_code)] // Not every bench that shares this module counts them.
pub async fn holds(master: &Master) -> (usize, usize) {
    master
        .master
        .dispatch(|m, _| {
            let core = m.core();
            let tasks = core
                .frameworks()
                .flat_map(|f| f.tasks.values())
                .filter(|t| t.state() == mesos_proto::mesos::TaskState::TaskRunning)
                .count();
            (core.agents().count(), tasks)
        })
        .await
        .expect("the master answers")
}
