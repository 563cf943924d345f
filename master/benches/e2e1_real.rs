//! E2E-1 on real processes (issue 18, section 4; the Mesos paper, section 6.5): the
//! overhead of launching a new framework's task on a busy cluster. A `--release` bench
//! binary printing a Markdown table.
//!
//! ```text
//! cargo bench -p mesos-master --bench e2e1_real -- [--agents 1000,10000,50000]
//!     [--frameworks 200] [--slots 2] [--task-ms 30000] [--spread-ms 10000]
//!     [--warmup-ms 30000] [--probes 5] [--window 1000]
//!     [--raft-tick-ms 50] [--election-ticks 5] [--logs DIR]
//! ```
//!
//! `--logs DIR` keeps the masters' logs in `DIR/<agents>/`; run with
//! `RUST_LOG=warn,timeline=debug` (the masters inherit it) they hold the leader's
//! timeline of each probe (`mesos_master::TIMELINE`), to read beside the probes' own
//! (printed on stderr).
//!
//! The paper's run: up to 50,000 emulated slaves, 200 frameworks each launching one task
//! on every slave it is offered, tasks sleeping a normally spread time (mean 30 s,
//! deviation 10 s); once the cluster is in steady state a test framework runs one task,
//! and the overhead is its job's time beyond the task's own. Here:
//!
//! 1. Three `mesos-master` processes (`real::Masters`: raft, OS-assigned ports, temporary
//!    work dirs; default flags, so a 1 s allocation interval; `--raft-tick-ms` and
//!    `--election-ticks` set their elections, 250-500 ms by default).
//! 2. Emulated agents (`mesos-emulate`, room for `--slots` tasks of `cpus:1;mem:512`
//!    each) register, `--window` at a time, on their own thread of this process; their
//!    tasks finish after a normally spread time (`--task-ms`, `--spread-ms`).
//! 3. `--frameworks` emulated frameworks (on another thread) launch one task on every
//!    offer, as the paper's do. Once every agent ran a task, `--warmup-ms` more pass
//!    (tasks end and are replaced: steady state).
//! 4. Then, one at a time, `--probes` new frameworks subscribe and launch one task each,
//!    on a node and thread of their own (not behind the emulated agents' traffic); each
//!    is timed from its SUBSCRIBE to its subscription, its first offer, its first
//!    offer that holds the task, and the task's `TASK_RUNNING`. The overhead is the time
//!    spent in the masters and the allocator: to the first offer, plus from the offer
//!    that holds the task to `TASK_RUNNING` (the wait between the two, for a running
//!    task to end on a full cluster, is the wait for resources, not overhead).
//! 5. The leader's RSS is read with no agent, with every agent registered, and in steady
//!    state: per 1k agents, and per 10k tasks (the rise from agents to steady state).

// Shared with fail1_real, which uses all of it.
#[allow(dead_code)]
mod real;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Node, Pid, Time};
use mesos_emulate::{
    AgentsConfig, Detector, EventKind, Framework, FrameworkEvent, FrameworkEventKind,
    FrameworkReport, Report, load, spawn_agents,
};
use mesos_proto::resources::Resources;
use real::{Masters, list, load_average, median, on_thread, rss_kib};
use tokio::sync::{Notify, mpsc};

/// One probe: seconds from SUBSCRIBE to each step.
#[derive(Clone, Copy, Default)]
struct Probe {
    subscribed: f64,
    offered: f64,
    fitting: f64,
    /// The agent's `TASK_RUNNING` (the update's timestamp).
    started: f64,
    running: f64,
}

impl Probe {
    /// The masters' and allocator's share: to the first offer, and from the offer that
    /// holds the task to the task running.
    fn overhead(&self) -> f64 {
        self.offered + (self.running - self.fitting)
    }
}

/// The command line's settings besides the agent counts.
#[derive(Clone, Copy)]
struct Options {
    frameworks: usize,
    slots: usize,
    task_ms: u64,
    spread_ms: u64,
    warmup_ms: u64,
    probes: usize,
    window: usize,
    /// The masters' `--raft_tick` and `--raft_election_ticks`.
    raft_tick_ms: usize,
    election_ticks: usize,
}

/// What one size measured.
struct Figures {
    probes: Vec<Probe>,
    /// Tasks running when the probes started, and the agents' room for tasks.
    running: i64,
    slots: usize,
    /// The leader's RSS in KiB: with no agent, every agent registered, steady state.
    rss_kib: (u64, u64, u64),
    /// This process's RSS (the emulated agents and frameworks) in steady state.
    bench_rss_kib: u64,
    load: f64,
}

/// What the agents' reports count, and who waits on it.
struct Busy {
    ran: Vec<AtomicBool>,
    count: AtomicUsize,
    registered: AtomicUsize,
    /// Re-registrations: a leader changed during the run.
    reregistered: AtomicUsize,
    running: AtomicI64,
    leader: Mutex<Option<Pid>>,
    notify: Notify,
}

/// The OS pid of the master that (re-)registered an agent last.
fn leader_pid(busy: &Busy, masters: &Masters) -> u32 {
    let leader = busy.leader.lock().ok().and_then(|l| l.clone()).expect("a leader answered");
    masters.children[masters.index_of(&leader)].id()
}

fn node() -> Node {
    Node::builder("127.0.0.1:0".parse().expect("an address")).start().expect("bind 127.0.0.1")
}

/// One probe framework, spawned on `thread` of `probe_node` (their own: see `e2e1`).
async fn probe(
    probe_node: &Node,
    thread: &actix_rt::Arbiter,
    masters: &Masters,
    number: usize,
) -> Probe {
    let (tx, mut rx) = mpsc::unbounded_channel::<FrameworkEvent>();
    let report: FrameworkReport = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    let pids = real::pids(masters);
    let detector = Detector::new(pids.clone(), pids[0].clone());
    let framework =
        Framework::new(number, format!("probe{number}"), detector, (1.0, 512.0), 1, report)
            .with_task_limit(1);
    probe_node
        .spawn_on(&thread.handle(), format!("scheduler({})", number + 1), move || framework)
        .expect("spawn");
    let (mut start, mut probe) = (None::<Time>, Probe::default());
    let since = |t: Time, start: Option<Time>| {
        t.saturating_since(start.expect("subscribing first")).as_secs_f64()
    };
    loop {
        let event = tokio::time::timeout(Duration::from_secs(300), rx.recv())
            .await
            .expect("the probe's task ran within 300 s")
            .expect("the probe reports");
        match event.kind {
            FrameworkEventKind::Subscribing => start = Some(event.at),
            FrameworkEventKind::Subscribed => probe.subscribed = since(event.at, start),
            FrameworkEventKind::FirstOffer => probe.offered = since(event.at, start),
            FrameworkEventKind::FittingOffer => probe.fitting = since(event.at, start),
            FrameworkEventKind::TaskStarted => probe.started = since(event.at, start),
            FrameworkEventKind::TaskRunning => {
                probe.running = since(event.at, start);
                // The probe's timeline, to read beside the leader's (`--logs`).
                eprintln!(
                    "e2e1_real: probe {number}: SUBSCRIBE at {:.6}; subscribed +{:.3}, first offer \
                     +{:.3}, ACCEPT +{:.3}, agent's TASK_RUNNING +{:.3}, TASK_RUNNING +{:.3} s",
                    start.map_or(0.0, Time::secs_f64),
                    probe.subscribed,
                    probe.offered,
                    probe.fitting,
                    probe.started,
                    probe.running
                );
                return probe;
            }
        }
    }
}

/// The agents' report: registrations (and who answered), tasks running and ended.
fn agent_report(busy: &Arc<Busy>, agents: usize) -> Report {
    let busy = busy.clone();
    Arc::new(move |e| match e.kind {
        EventKind::Registered | EventKind::Reregistered => {
            if let Ok(mut leader) = busy.leader.lock() {
                *leader = Some(e.master.clone());
            }
            if e.kind == EventKind::Registered {
                busy.registered.fetch_add(1, Ordering::Relaxed);
            } else {
                busy.reregistered.fetch_add(1, Ordering::Relaxed);
            }
        }
        EventKind::TaskRunning => {
            busy.running.fetch_add(1, Ordering::Relaxed);
            if !busy.ran[e.agent].swap(true, Ordering::Relaxed)
                && busy.count.fetch_add(1, Ordering::Relaxed) + 1 == agents
            {
                busy.notify.notify_one();
            }
        }
        EventKind::TaskFinished => {
            busy.running.fetch_sub(1, Ordering::Relaxed);
        }
        EventKind::Disconnected => {}
    })
}

/// Starts the busy frameworks on a thread of their own, launching one task per offer.
async fn start_frameworks(pids: &[Pid], frameworks: usize) -> (actix_rt::Arbiter, Node) {
    let (scheduler_thread, scheduler_node) = on_thread(node).await;
    let ignore: FrameworkReport = Arc::new(|_| {});
    for i in 0..frameworks {
        let detector = Detector::new(pids.to_vec(), pids[0].clone());
        let framework =
            Framework::new(i, format!("busy{i}"), detector, (1.0, 512.0), 1, ignore.clone());
        scheduler_node
            .spawn_on(&scheduler_thread.handle(), format!("scheduler({})", i + 1), move || {
                framework
            })
            .expect("spawn a framework");
    }
    (scheduler_thread, scheduler_node)
}

async fn e2e1(root: &Path, agents: usize, options: Options, logs: Option<&Path>) -> Figures {
    let dir = tempfile::tempdir_in(root).expect("a temporary folder");
    let flags = [
        format!("--raft_tick={}ms", options.raft_tick_ms),
        format!("--raft_election_ticks={}", options.election_ticks),
    ];
    let masters = Masters::start_with(dir.path(), &flags);
    let pids = real::pids(&masters);
    tokio::time::sleep(Duration::from_secs(2)).await; // The masters start and elect.
    let idle_kib = masters.children.iter().map(|c| rss_kib(c.id())).min().unwrap_or(0);
    let busy = Arc::new(Busy {
        ran: (0..agents).map(|_| AtomicBool::new(false)).collect(),
        count: AtomicUsize::new(0),
        registered: AtomicUsize::new(0),
        reregistered: AtomicUsize::new(0),
        running: AtomicI64::new(0),
        leader: Mutex::new(None),
        notify: Notify::new(),
    });
    let report = agent_report(&busy, agents);
    let slots = options.slots.max(1);
    let resources = format!("cpus:{slots};mem:{}", slots * 512);
    let config = AgentsConfig {
        masters: pids.clone(),
        agents,
        resources: Resources::parse(&resources).expect("resources").to_protos(),
        running: load::nothing(),
        reregister: false,
        task_duration: Some(Duration::from_millis(options.task_ms)),
        prefix: "agent".into(),
    };
    let (agent_thread, agent_node) = on_thread(node).await;
    let spawned =
        spawn_agents(&agent_node, &agent_thread.handle(), &config, &report).expect("spawn agents");
    let spread = Duration::from_millis(options.spread_ms);
    let limit = Duration::from_secs(120 + agents as u64 / 50);
    let started = std::time::Instant::now();
    // A window of agents at a time, as `mesos-emulate --window` starts them: 50,000
    // registrations at once cost the leader its leadership (see docs/benchmarks.md).
    for (i, chunk) in spawned.chunks(options.window.max(1)).enumerate() {
        for agent in chunk {
            let _ = agent.tell(move |a, ctx| {
                a.set_task_spread(spread);
                a.start(ctx);
            });
        }
        let want = (i * options.window.max(1) + chunk.len()).min(agents);
        while busy.registered.load(Ordering::Relaxed) < want {
            assert!(started.elapsed() < limit, "every agent registered within {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let registration_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await; // The registry's writes settle.
    let agents_kib = rss_kib(leader_pid(&busy, &masters));
    eprintln!("e2e1_real: {agents} agents registered in {registration_s:.1} s");

    let (scheduler_thread, scheduler_node) = start_frameworks(&pids, options.frameworks).await;
    let progress = {
        let busy = busy.clone();
        actix_rt::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                eprintln!(
                    "e2e1_real: {} agents ran a task, {} tasks running, {} re-registrations, \
                     load {:.1}",
                    busy.count.load(Ordering::Relaxed),
                    busy.running.load(Ordering::Relaxed),
                    busy.reregistered.load(Ordering::Relaxed),
                    load_average()
                );
            }
        })
    };
    tokio::time::timeout(limit, busy.notify.notified()).await.expect("every agent ran a task");
    progress.abort();
    eprintln!(
        "e2e1_real: every agent ran a task; {} ms of warm-up; leader pid {}",
        options.warmup_ms,
        leader_pid(&busy, &masters)
    );
    tokio::time::sleep(Duration::from_millis(options.warmup_ms)).await;
    let running = busy.running.load(Ordering::Relaxed);
    let steady_kib = rss_kib(leader_pid(&busy, &masters));
    let bench_rss_kib = rss_kib(std::process::id());
    let load = load_average();
    eprintln!(
        "e2e1_real: steady: {running} tasks running, {} re-registrations so far",
        busy.reregistered.load(Ordering::Relaxed)
    );

    // The probes get a node and a thread of their own, as the paper's test framework had
    // its own machine: on the agents' node, every message to a probe waited behind the
    // 50,000 agents' traffic on that node's thread, which is the bench's, not the masters'.
    let (probe_thread, probe_node) = on_thread(node).await;
    let mut probes = Vec::new();
    for p in 0..options.probes {
        probes.push(probe(&probe_node, &probe_thread, &masters, options.frameworks + p).await);
        tokio::time::sleep(Duration::from_secs(1)).await; // Probes one by one.
    }
    probe_node.shutdown().await;
    probe_thread.stop();
    scheduler_node.shutdown().await;
    agent_node.shutdown().await;
    scheduler_thread.stop();
    agent_thread.stop();
    drop(masters);
    if let Some(logs) = logs {
        // The masters' logs, kept (with `RUST_LOG=warn,timeline=debug` they hold the
        // leader's timeline of each probe).
        let to = logs.join(agents.to_string());
        std::fs::create_dir_all(&to).expect("create the --logs folder");
        for i in 0..3 {
            let name = format!("master-{i}.log");
            std::fs::copy(dir.path().join(&name), to.join(&name)).expect("copy a master's log");
        }
    }
    Figures {
        probes,
        running,
        slots: agents * slots,
        rss_kib: (idle_kib, agents_kib, steady_kib),
        bench_rss_kib,
        load,
    }
}

/// `median (min-max)` of `values`, in seconds.
fn spread(values: Vec<f64>) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    format!("{:.3} ({min:.3}-{max:.3})", median(values))
}

fn print_row(agents: usize, f: &Figures) {
    let column = |pick: fn(&Probe) -> f64| spread(f.probes.iter().map(pick).collect());
    let mib = |kib: u64| kib as f64 / 1024.0;
    let (idle, with_agents, steady) = f.rss_kib;
    let per_1k_agents = mib(with_agents.saturating_sub(idle)) * 1000.0 / agents as f64;
    let per_10k_tasks =
        mib(steady.saturating_sub(with_agents)) * 10_000.0 / f.running.max(1) as f64;
    println!(
        "| {agents} | {} ({:.0}%) | {} | {} | {} | {} | **{}** | {} | {:.0} / {:.0} / {:.0} MiB | \
         {per_1k_agents:.1} MiB | {per_10k_tasks:.1} MiB | {:.0} MiB | {:.1} |",
        f.running,
        f.running as f64 * 100.0 / f.slots.max(1) as f64,
        column(|p| p.subscribed),
        column(|p| p.offered),
        column(|p| p.fitting),
        column(|p| p.running),
        column(Probe::overhead),
        column(|p| p.running - p.fitting),
        mib(idle),
        mib(with_agents),
        mib(steady),
        mib(f.bench_rss_kib),
        f.load,
    );
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agent_counts = list(&args, "--agents", &[1000, 10000, 50000]);
    let one = |name: &str, default: usize| list(&args, name, &[default])[0];
    let options = Options {
        frameworks: one("--frameworks", 200),
        slots: one("--slots", 2),
        task_ms: one("--task-ms", 30_000) as u64,
        spread_ms: one("--spread-ms", 10_000) as u64,
        warmup_ms: one("--warmup-ms", 30_000) as u64,
        probes: one("--probes", 5).max(1),
        window: one("--window", 1000),
        raft_tick_ms: one("--raft-tick-ms", 50),
        election_ticks: one("--election-ticks", 5),
    };
    let root = tempfile::tempdir().expect("a temporary folder");
    // `--logs DIR`: keep the masters' logs in DIR/<agents>/.
    let logs = args
        .iter()
        .position(|a| a == "--logs")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    println!(
        "E2E-1 on real processes: 3 mesos-master (raft, tick {} ms, election {} ticks) on \
         127.0.0.1; agents with room for {} tasks of cpus:1;mem:512; {} frameworks launching one task per \
         offer; tasks of {} ms mean, {} ms deviation; {} ms of warm-up; {} probes of one \
         task each, median (min-max) in seconds\n",
        options.raft_tick_ms,
        options.election_ticks,
        options.slots,
        options.frameworks,
        options.task_ms,
        options.spread_ms,
        options.warmup_ms,
        options.probes
    );
    println!(
        "| agents | tasks running (of room) | SUBSCRIBE -> subscribed | -> first offer | -> offer \
         holding the task | -> TASK_RUNNING | overhead | offer -> TASK_RUNNING | leader RSS: \
         idle / agents / steady | per 1k agents | per 10k tasks | bench process RSS | load |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    actix_rt::System::new().block_on(async move {
        for &agents in &agent_counts {
            let figures = e2e1(root.path(), agents, options, logs.as_deref()).await;
            print_row(agents, &figures);
        }
    });
}
