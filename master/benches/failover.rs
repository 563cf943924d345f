//! Failover benchmark HA-1 (see BENCHMARKS.md, after the Mesos paper, section 6.6), as a
//! `--release` bench binary printing a Markdown table.
//!
//! ```text
//! cargo bench -p mesos-master --bench failover -- [--agents 200,1000] [--frameworks 5] [--runs 3]
//! ```
//!
//! Three masters (raft registrars with their logs in sled, fsynced) on libprocess nodes
//! that talk TCP on 127.0.0.1, in one OS process. Emulated agents and schedulers are
//! small processes on two more TCP nodes speaking the real protocol:
//!
//! 1. An agent registers (`RegisterSlaveMessage`), links to the master that answered,
//!    answers pings, and re-registers (`ReregisterSlaveMessage`) with the master named
//!    by a `NewMasterDetectedMessage`, or, when the link to its master breaks, with each
//!    master of its `--masters` list in turn every 250 ms (a follower answers with the
//!    leader's pid once it knows it; Mesos agents back off from 1 s instead).
//! 2. A scheduler subscribes with a failover timeout, and re-subscribes with its
//!    FrameworkID (`force`) the same way.
//!
//! Each run kills the leading master's node (its sockets close, as with `kill -9`) and
//! measures, from the kill, the time until a surviving master is leading (registry read,
//! acting), and until every agent and every framework has been re-registered by it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libprocess::{Context, Node, Pid, Process};
use mesos_master::launch::{Master, MasterOptions, spawn_master_with};
use mesos_master::process::Role;
use mesos_master::registrar::{RaftRegistrar, RaftRegistrarConfig};
use mesos_proto::extensions::NewMasterDetectedMessage;
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

/// How often a detached agent or scheduler tries the next master of its list.
const RETRY: Duration = Duration::from_millis(250);

libprocess::protocol! {
    /// What an emulated agent receives from a master.
    #[derive(Debug, Clone)]
    pub enum AgentMsg {
        /// The leader registered this agent.
        Registered(internal::SlaveRegisteredMessage),
        /// The leader re-registered this agent.
        Reregistered(internal::SlaveReregisteredMessage),
        /// The leader's health check; answered with a pong.
        Ping(internal::PingSlaveMessage),
        /// A master names the leader.
        NewMaster(NewMasterDetectedMessage),
    }
}

libprocess::protocol! {
    /// What an emulated scheduler receives from a master.
    #[derive(Debug, Clone)]
    pub enum SchedMsg {
        /// The leader registered this framework.
        Registered(internal::FrameworkRegisteredMessage),
        /// The leader re-registered this framework.
        Reregistered(internal::FrameworkReregisteredMessage),
        /// A master names the leader.
        NewMaster(NewMasterDetectedMessage),
    }
}

/// Who was (re-)registered: an agent (`true`) or a framework (`false`), its number, and when.
type Report = mpsc::UnboundedSender<(bool, usize, Instant)>;

/// Which master a client talks to, and how it finds another.
struct Detector {
    masters: Vec<Pid>,
    current: Pid,
    /// True between losing the master and being (re-)registered.
    detached: bool,
    next: usize,
}

impl Detector {
    fn new(masters: Vec<Pid>, leader: Pid) -> Detector {
        Detector {
            masters,
            current: leader,
            detached: false,
            next: 0,
        }
    }

    /// The next master to try after the current one was lost.
    fn rotate(&mut self) -> Pid {
        self.next = (self.next + 1) % self.masters.len();
        self.current = self.masters[self.next].clone();
        self.current.clone()
    }
}

/// An emulated agent.
struct Agent {
    number: usize,
    info: mesos::SlaveInfo,
    detector: Detector,
    report: Report,
}

impl Agent {
    fn register(&self, ctx: &mut Context<'_, Self>) {
        let to = self.detector.current.clone();
        if self.info.id.is_none() {
            ctx.send(
                &to,
                internal::RegisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some("1.11.0".into()),
                    ..Default::default()
                },
            );
        } else {
            ctx.send(
                &to,
                internal::ReregisterSlaveMessage {
                    slave: self.info.clone(),
                    version: Some("1.11.0".into()),
                    ..Default::default()
                },
            );
        }
    }

    fn on_registered(&mut self, from: Pid, id: mesos::SlaveId, ctx: &mut Context<'_, Self>) {
        self.info.id = Some(id);
        if self.detector.detached || from != self.detector.current {
            self.detector.detached = false;
            self.detector.current = from.clone();
        }
        ctx.link(&from);
        let _ = self.report.send((true, self.number, Instant::now()));
    }

    fn on_retry_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if self.detector.detached {
            self.detector.rotate();
            self.register(ctx);
            ctx.delay(RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

impl Process for Agent {
    type Message = AgentMsg;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.register(ctx);
    }

    fn on_message(&mut self, from: Pid, message: AgentMsg, ctx: &mut Context<'_, Self>) {
        match message {
            AgentMsg::Registered(m) => self.on_registered(from, m.slave_id, ctx),
            AgentMsg::Reregistered(m) => self.on_registered(from, m.slave_id, ctx),
            AgentMsg::Ping(_) => ctx.send(&from, internal::PongSlaveMessage {}),
            AgentMsg::NewMaster(m) => {
                if let Ok(pid) = m.pid.parse::<Pid>() {
                    self.detector.current = pid;
                    self.register(ctx);
                }
            }
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.detector.current && !self.detector.detached {
            self.detector.detached = true;
            self.detector.rotate();
            self.register(ctx);
            ctx.delay(RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

/// An emulated scheduler (a framework with a failover timeout).
struct Scheduler {
    number: usize,
    info: mesos::FrameworkInfo,
    detector: Detector,
    report: Report,
}

impl Scheduler {
    fn subscribe(&self, ctx: &mut Context<'_, Self>) {
        let call = scheduler::Call {
            framework_id: self.info.id.clone(),
            r#type: Some(scheduler::call::Type::Subscribe as i32),
            subscribe: Some(scheduler::call::Subscribe {
                framework_info: self.info.clone(),
                force: Some(self.info.id.is_some()),
                ..Default::default()
            }),
            ..Default::default()
        };
        ctx.send(&self.detector.current.clone(), call);
    }

    fn on_registered(&mut self, from: Pid, id: mesos::FrameworkId, ctx: &mut Context<'_, Self>) {
        self.info.id = Some(id);
        self.detector.detached = false;
        self.detector.current = from.clone();
        ctx.link(&from);
        let _ = self.report.send((false, self.number, Instant::now()));
    }

    fn on_retry_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if self.detector.detached {
            self.detector.rotate();
            self.subscribe(ctx);
            ctx.delay(RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

impl Process for Scheduler {
    type Message = SchedMsg;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.subscribe(ctx);
    }

    fn on_message(&mut self, from: Pid, message: SchedMsg, ctx: &mut Context<'_, Self>) {
        match message {
            SchedMsg::Registered(m) => self.on_registered(from, m.framework_id, ctx),
            SchedMsg::Reregistered(m) => self.on_registered(from, m.framework_id, ctx),
            SchedMsg::NewMaster(m) => {
                if let Ok(pid) = m.pid.parse::<Pid>() {
                    self.detector.current = pid;
                    self.subscribe(ctx);
                }
            }
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.detector.current && !self.detector.detached {
            self.detector.detached = true;
            self.detector.rotate();
            self.subscribe(ctx);
            ctx.delay(RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

fn tcp_node() -> Node {
    Node::builder("127.0.0.1:0".parse().expect("an address"))
        .start()
        .expect("bind 127.0.0.1")
}

async fn leading(master: &Master) -> bool {
    master
        .master
        .dispatch(|m, _| matches!(m.role(), Role::Leading { .. }))
        .await
        .unwrap_or(false)
}

/// Polls until one of `masters` (skipping `dead`) leads; returns its index.
async fn wait_leader(masters: &[(Node, Master)], dead: Option<usize>) -> usize {
    for _ in 0..10_000 {
        for (i, (_, master)) in masters.iter().enumerate() {
            if Some(i) != dead && leading(master).await {
                return i;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("no leading master within 20 s");
}

/// Waits until each of `agents` agents and `frameworks` frameworks was (re-)registered
/// at or after `since` (repeats count once); returns when the last agent and the last
/// framework came (or panics after 60 s).
async fn wait_back(
    rx: &mut mpsc::UnboundedReceiver<(bool, usize, Instant)>,
    since: Instant,
    agents: usize,
    frameworks: usize,
) -> (Instant, Instant) {
    let (mut back_agents, mut back_frameworks) = (HashSet::new(), HashSet::new());
    let (mut last_agent, mut last_framework) = (since, since);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
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
                "only {}/{agents} agents and {}/{frameworks} frameworks came back within 60 s",
                back_agents.len(),
                back_frameworks.len()
            ),
        }
    }
    (last_agent, last_framework)
}

/// One failover with `agents` agents and `frameworks` frameworks: (s to a leading
/// master, s until every agent is back, s until every framework is back).
async fn failover(
    root: &std::path::Path,
    agents: usize,
    frameworks: usize,
    run: usize,
) -> (f64, f64, f64) {
    let nodes: Vec<Node> = (0..3).map(|_| tcp_node()).collect();
    let addresses: Vec<_> = nodes.iter().map(Node::address).collect();
    let masters: Vec<(Node, Master)> = nodes
        .into_iter()
        .enumerate()
        .map(|(i, node)| {
            let dir = root.join(format!("{agents}-{run}-{i}"));
            let registrar =
                RaftRegistrar::open(&node, RaftRegistrarConfig::new(addresses.clone()), &dir)
                    .expect("registrar");
            let mut options =
                MasterOptions::with_id(format!("c0ffee00-0000-4000-8000-0000000{run:02}{i:03}"));
            options.hostname = "127.0.0.1".into();
            let master = spawn_master_with(&node, options, Arc::new(registrar)).expect("master");
            (node, master)
        })
        .collect();
    let leader = wait_leader(&masters, None).await;
    let pids: Vec<Pid> = masters
        .iter()
        .map(|(_, m)| m.master.pid().clone())
        .collect();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let (agent_node, scheduler_node) = (tcp_node(), tcp_node());
    let resources = Resources::parse("cpus:4;mem:8192")
        .expect("resources")
        .to_protos();
    for i in 0..agents {
        let info = mesos::SlaveInfo {
            hostname: format!("agent-{i}.invalid"),
            port: Some(i32::from(agent_node.address().port())),
            resources: resources.clone(),
            ..Default::default()
        };
        let agent = Agent {
            number: i,
            info,
            detector: Detector::new(pids.clone(), pids[leader].clone()),
            report: tx.clone(),
        };
        agent_node
            .spawn(format!("slave({})", i + 1), agent)
            .expect("spawn agent");
    }
    for i in 0..frameworks {
        let info = mesos::FrameworkInfo {
            user: "bench".into(),
            name: format!("fw{i}"),
            failover_timeout: Some(3600.0),
            ..Default::default()
        };
        let scheduler = Scheduler {
            number: i,
            info,
            detector: Detector::new(pids.clone(), pids[leader].clone()),
            report: tx.clone(),
        };
        scheduler_node
            .spawn(format!("scheduler({})", i + 1), scheduler)
            .expect("spawn scheduler");
    }
    wait_back(&mut rx, started, agents, frameworks).await;
    // Let the registry and pings settle before the kill.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let killed = Instant::now();
    masters[leader].0.shutdown().await;
    let new_leader = wait_leader(&masters, Some(leader)).await;
    let led = killed.elapsed().as_secs_f64();
    let (last_agent, last_framework) = wait_back(&mut rx, killed, agents, frameworks).await;
    assert_ne!(new_leader, leader);
    let figures = (
        led,
        (last_agent - killed).as_secs_f64(),
        (last_framework - killed).as_secs_f64(),
    );
    agent_node.shutdown().await;
    scheduler_node.shutdown().await;
    for (i, (node, _)) in masters.iter().enumerate() {
        if i != leader {
            node.shutdown().await;
        }
    }
    figures
}

fn list(args: &[String], name: &str, default: &[usize]) -> Vec<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agent_counts = list(&args, "--agents", &[200, 1000, 4000]);
    let frameworks = list(&args, "--frameworks", &[5])[0];
    let runs = list(&args, "--runs", &[3])[0].max(1);
    let root = tempfile::tempdir().expect("a temporary folder");
    println!("HA-1: 3 masters on 127.0.0.1 TCP, raft + sled; median of {runs} runs\n");
    println!(
        "| agents | frameworks | to a leading master | all agents back | all frameworks back | runs (leader / agents s) |"
    );
    println!("|---|---|---|---|---|---|");
    actix_rt::System::new().block_on(async move {
        for &agents in &agent_counts {
            let mut results = Vec::new();
            for run in 0..runs {
                results.push(failover(root.path(), agents, frameworks, run).await);
            }
            let each: Vec<String> = results
                .iter()
                .map(|(l, a, _)| format!("{l:.2}/{a:.2}"))
                .collect();
            println!(
                "| {agents} | {frameworks} | {:.2} s | {:.2} s | {:.2} s | {} |",
                median(results.iter().map(|r| r.0).collect()),
                median(results.iter().map(|r| r.1).collect()),
                median(results.iter().map(|r| r.2).collect()),
                each.join(", ")
            );
        }
    });
}
