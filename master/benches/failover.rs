//! Failover benchmark HA-1 (see BENCHMARKS.md, after the Mesos paper, section 6.6), as a
//! `--release` bench binary printing a Markdown table.
//!
//! ```text
//! cargo bench -p mesos-master --bench failover -- [--agents 200,1000] [--frameworks 5] [--runs 3]
//! ```
//!
//! Three masters (raft registrars with their logs in sled, fsynced) on libprocess nodes
//! that talk TCP on 127.0.0.1, in one OS process (`cluster/mod.rs`). Emulated agents
//! (`mesos_emulate::Agent`, without tasks here) and schedulers are small processes on two more
//! TCP nodes speaking the real protocol; a scheduler subscribes with a failover timeout
//! and re-subscribes with its FrameworkID (`force`), finding the leader again the same
//! way as the agents (`cluster::Detector`).
//!
//! Each run kills the leading master's node (its sockets close, as with `kill -9`) and
//! measures, from the kill, the time until a surviving master is leading (registry read,
//! acting), and until every agent and every framework has been re-registered by it.

mod cluster;

use std::time::{Duration, Instant};

use cluster::{Cluster, Report, agent_report, list, median, spawn_agent, tcp_node, wait_back};
use libprocess::{Context, Pid, Process};
use mesos_emulate::{Agent, Detector, RETRY, load};
use mesos_proto::extensions::NewMasterDetectedMessage;
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

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
        self.detector.attached(from.clone());
        ctx.link(&from);
        let _ = self.report.send((false, self.number, Instant::now()));
    }

    fn on_retry_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if self.detector.detached {
            let next = self.detector.retry();
            self.subscribe(ctx);
            ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
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
                if let Ok(pid) = m.pid.parse::<Pid>()
                    && self.detector.named(pid)
                {
                    self.subscribe(ctx);
                }
            }
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.detector.current && !self.detector.detached {
            self.detector.lost();
            self.subscribe(ctx);
            ctx.delay(RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}

/// One failover with `agents` agents and `frameworks` frameworks: (s to a leading
/// master, s until every agent is back, s until every framework is back).
async fn failover(
    root: &std::path::Path,
    agents: usize,
    frameworks: usize,
    run: usize,
) -> (f64, f64, f64) {
    let mut cluster = Cluster::start(root, &agents.to_string(), run, false, 5).await;
    let (pids, leader) = (cluster.pids.clone(), cluster.leader);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let (agent_node, scheduler_node) = (tcp_node(), tcp_node());
    let resources = Resources::parse("cpus:4;mem:8192").expect("resources").to_protos();
    let here = actix_rt::Arbiter::current();
    let nothing = load::nothing();
    let report = agent_report(&tx);
    for i in 0..agents {
        let info = mesos::SlaveInfo {
            hostname: format!("agent-{i}.invalid"),
            port: Some(i32::from(agent_node.address().port())),
            resources: resources.clone(),
            ..Default::default()
        };
        let detector = Detector::new(pids.clone(), pids[leader].clone());
        let agent = Agent::new(i, info, nothing.clone(), detector, report.clone());
        let _ = spawn_agent(&agent_node, &here, i, agent).tell(|a, ctx| a.start(ctx));
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
        scheduler_node.spawn(format!("scheduler({})", i + 1), scheduler).expect("spawn scheduler");
    }
    let limit = Duration::from_secs(60);
    wait_back(&mut rx, started, agents, frameworks, limit).await;
    // Let the registry and pings settle before the kill.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (killed, led) = cluster.kill_leader().await;
    let (last_agent, last_framework) = wait_back(&mut rx, killed, agents, frameworks, limit).await;
    let figures =
        (led, (last_agent - killed).as_secs_f64(), (last_framework - killed).as_secs_f64());
    agent_node.shutdown().await;
    scheduler_node.shutdown().await;
    cluster.shutdown().await;
    figures
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

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
            let each: Vec<String> =
                results.iter().map(|(l, a, _)| format!("{l:.2}/{a:.2}")).collect();
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
