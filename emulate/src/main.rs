//! `mesos-emulate`: thousands of emulated agents in one OS process against real masters
//! (see the crate's documentation and docs/benchmarks.md, "Emulated agents").
//!
//! Prints one line per event on stdout, for people and scripts alike:
//!
//! ```text
//! listening 127.0.0.1:40123 agents=1000
//! 1733350000.123456 registered agent=17 master=master@127.0.0.1:5050
//! 1733350000.300001 started agents=1000 registered=1000
//! 1733350012.901234 disconnected agent=17 master=master@127.0.0.1:5050
//! 1733350013.402345 reregistered agent=17 master=master@127.0.0.1:5051
//! ```
//!
//! The first field is the event's time in seconds since the UNIX epoch.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use libprocess::{Node, Pid};
use mesos_emulate::scheduler::MAX_TASKS_PER_OFFER;
use mesos_emulate::{
    AgentsConfig, Detector, Event, EventKind, Framework, FrameworkReport, Report, load,
    spawn_agents,
};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

/// Events buffered between the agents and the printer; beyond it events are counted as
/// dropped (and the count printed) rather than slowing the agents down.
const REPORT_QUEUE: usize = 1 << 16;

/// Runs emulated Mesos agents against real masters: they register (or, with
/// --frameworks, re-register with that many frameworks' running tasks each, as in
/// Mesos's failover benchmark), follow leader changes as real agents do, answer pings,
/// run launched tasks at once (TASK_RUNNING, then TASK_FINISHED after
/// --task_duration_ms), optionally with emulated frameworks keeping them busy
/// (--busy_frameworks), and print one line per registration, re-registration,
/// disconnection and task on stdout.
#[derive(Parser, Debug)]
#[command(name = "mesos-emulate", version)]
struct Flags {
    /// The masters, `ip:port` or `master@ip:port`, comma-separated.
    #[arg(long = "master", required = true, value_delimiter = ',')]
    master: Vec<String>,
    /// How many agents.
    #[arg(long = "agents", default_value_t = 100)]
    agents: usize,
    /// Frameworks each agent reports running at start (0: agents register fresh).
    #[arg(long = "frameworks", default_value_t = 0)]
    frameworks: usize,
    /// Running tasks per framework on each agent (with --frameworks).
    #[arg(long = "tasks_per_framework", alias = "tasks-per-framework", default_value_t = 2)]
    tasks_per_framework: usize,
    /// Each agent's resources, as mesos-agent's --resources.
    #[arg(long = "resources", default_value = "cpus:20;mem:10240")]
    resources: String,
    /// Launched tasks finish after this many milliseconds (default: run until killed).
    #[arg(long = "task_duration_ms")]
    task_duration_ms: Option<u64>,
    /// Standard deviation of a normal spread of task durations around
    /// --task_duration_ms (the Mesos paper's scalability run: 30 s mean, 10 s deviation).
    #[arg(long = "task_duration_stddev_ms", default_value_t = 0)]
    task_duration_stddev_ms: u64,
    /// Agents starting at once: the next ones start when these are registered.
    #[arg(long = "window", default_value_t = 1000)]
    window: usize,
    /// Address of the node all agents share.
    #[arg(long = "ip", default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Port of that node (0: one the OS assigns, printed at start).
    #[arg(long = "port", default_value_t = 0)]
    port: u16,
    /// Agents' hostnames and (with --frameworks) ids: `<prefix><n>`.
    #[arg(long = "prefix", default_value = "agent")]
    prefix: String,
    /// Emulated frameworks to start once every agent is registered: each launches as
    /// many tasks (--task_cpus, --task_mem) as every offer holds, keeping the agents busy
    /// (tasks end after --task_duration_ms).
    #[arg(long = "busy_frameworks", default_value_t = 0)]
    busy_frameworks: usize,
    /// Cpus of each task the emulated frameworks launch.
    #[arg(long = "task_cpus", default_value_t = 1.0)]
    task_cpus: f64,
    /// Memory (MB) of each task the emulated frameworks launch.
    #[arg(long = "task_mem", default_value_t = 512.0)]
    task_mem: f64,
    /// Most tasks the emulated frameworks launch on one offer (the Mesos paper's
    /// frameworks: 1).
    #[arg(long = "tasks_per_offer", default_value_t = MAX_TASKS_PER_OFFER)]
    tasks_per_offer: usize,
    /// Print task events too (off by default: one line per task is a lot at scale).
    #[arg(long = "print_tasks", default_value_t = false)]
    print_tasks: bool,
}

fn master_pid(text: &str) -> anyhow::Result<Pid> {
    let text = if text.contains('@') { text.to_string() } else { format!("master@{text}") };
    text.parse().with_context(|| format!("--master: not a master address: {text}"))
}

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    if let Ok(filter) = std::env::var("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let masters = flags.master.iter().map(|m| master_pid(m)).collect::<Result<Vec<_>, _>>()?;
    let resources = Resources::parse(&flags.resources)
        .map_err(|e| anyhow::anyhow!("--resources: {e}"))?
        .to_protos();
    if flags.agents == 0 {
        bail!("--agents must be at least 1");
    }
    let config = AgentsConfig {
        masters,
        agents: flags.agents,
        resources,
        running: if flags.frameworks > 0 {
            load::running(flags.frameworks, flags.tasks_per_framework)
        } else {
            load::nothing()
        },
        reregister: flags.frameworks > 0,
        task_duration: flags.task_duration_ms.map(Duration::from_millis),
        prefix: flags.prefix.clone(),
    };
    actix_rt::System::new().block_on(run(flags, config))
}

async fn run(flags: Flags, config: AgentsConfig) -> anyhow::Result<()> {
    let node = Node::builder(SocketAddr::new(flags.ip, flags.port))
        .start()
        .with_context(|| format!("cannot listen on {}:{}", flags.ip, flags.port))?;
    let (tx, mut rx) = mpsc::channel::<Event>(REPORT_QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let report: Report = {
        let dropped = dropped.clone();
        Arc::new(move |event| {
            if tx.try_send(event).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let agents = spawn_agents(&node, &actix_rt::Arbiter::current(), &config, &report)?;
    println!("listening {} agents={}", node.address(), agents.len());
    let mut attached = HashSet::new();
    let window = flags.window.max(1);
    let spread = Duration::from_millis(flags.task_duration_stddev_ms);
    for chunk in agents.chunks(window) {
        for agent in chunk {
            let _ = agent.tell(move |a, ctx| {
                a.set_task_spread(spread);
                a.start(ctx);
            });
        }
        let want = (attached.len() + chunk.len()).min(agents.len());
        while attached.len() < want {
            let Some(event) = rx.recv().await else { break };
            if matches!(event.kind, EventKind::Registered | EventKind::Reregistered) {
                attached.insert(event.agent);
            }
            print_event(&event, flags.print_tasks);
        }
    }
    println!(
        "{:.6} started agents={} registered={}",
        node.clock().now().secs_f64(),
        agents.len(),
        attached.len()
    );
    let ignore: FrameworkReport = Arc::new(|_| {});
    for i in 0..flags.busy_frameworks {
        let detector = Detector::new(config.masters.clone(), config.masters[0].clone());
        let name = format!("{}-framework{i}", flags.prefix);
        let shape = (flags.task_cpus, flags.task_mem);
        let framework =
            Framework::new(i, name, detector, shape, flags.tasks_per_offer, ignore.clone());
        node.spawn(format!("scheduler({})", i + 1), framework)?;
    }
    if flags.busy_frameworks > 0 {
        println!("{:.6} frameworks={}", node.clock().now().secs_f64(), flags.busy_frameworks);
    }
    let mut seen_dropped = 0;
    while let Some(event) = rx.recv().await {
        print_event(&event, flags.print_tasks);
        let now_dropped = dropped.load(Ordering::Relaxed);
        if now_dropped != seen_dropped {
            seen_dropped = now_dropped;
            println!("{:.6} dropped events={now_dropped}", event.at.secs_f64());
        }
    }
    Ok(())
}

fn print_event(event: &Event, tasks: bool) {
    let kind = match event.kind {
        EventKind::Registered => "registered",
        EventKind::Reregistered => "reregistered",
        EventKind::Disconnected => "disconnected",
        EventKind::TaskRunning if tasks => "task_running",
        EventKind::TaskFinished if tasks => "task_finished",
        EventKind::TaskRunning | EventKind::TaskFinished => return,
    };
    println!("{:.6} {kind} agent={} master={}", event.at.secs_f64(), event.agent, event.master);
}
