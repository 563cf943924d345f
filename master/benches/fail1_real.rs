//! FAIL-1 on real processes (issue 18, section 4): three `mesos-master` processes started
//! as users start them, emulated agents carrying the Mesos benchmark load, a `kill -9` of
//! the leader. A `--release` bench binary printing a Markdown table.
//!
//! ```text
//! cargo bench -p mesos-master --bench fail1_real -- [--agents 1000,10000] [--runs 3]
//!     [--frameworks 5] [--tasks 2] [--window 1000] [--idle-s 0]
//! ```
//!
//! 1. Three `mesos-master --registry=raft --masters=a,b,c --work_dir=<temp>` on 127.0.0.1,
//!    each on a port the OS assigned (this process binds the sockets and hands each
//!    master its own with `--listen_fd`), logs in the temporary folder.
//! 2. The emulated agents of `mesos-emulate` run on their own thread of this process (as
//!    the `mesos-emulate` binary runs them), on one libprocess node. Each starts by
//!    re-registering with the first master with `--frameworks` x `--tasks` running tasks,
//!    `--window` agents at a time; followers name the leader, and the agents go there.
//!    Set-up is over when every agent is re-registered with one master and its
//!    `/metrics/snapshot` counts every agent active and every task running.
//! 3. The leader's RSS (`/proc/<pid>/status` VmRSS) is read; then it gets SIGKILL. Timed
//!    from the kill until every agent reported `SlaveReregisteredMessage` from another
//!    master (the agents' report stream); that master's metrics must then count every
//!    agent and task again.
//! 4. The new leader's RSS is read once every agent is back, and again after `--idle-s`
//!    seconds with nothing happening but pings (what mimalloc gives back at idle,
//!    docs/libprocess.md "The allocator"), with the minor page faults it took from the
//!    kill until every agent was back (pages the kernel zeroed and mapped: a count the
//!    machine's load does not change).
//!
//! Every master process is killed and the temporary folder removed at the end of a run.

mod real;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libprocess::{Node, Pid};
use mesos_emulate::{AgentsConfig, Event, EventKind, Report, load, spawn_agents};
use mesos_proto::resources::Resources;
use real::{Masters, holds, list, load_average, median, minor_faults, on_thread, rss_kib};
use tokio::sync::mpsc;

/// The command line's settings besides the agent counts and runs.
#[derive(Clone, Copy)]
struct Options {
    frameworks: usize,
    tasks: usize,
    window: usize,
    /// Seconds to wait after the failover before reading the new leader's RSS at idle
    /// (0: not read).
    idle_s: u64,
}

/// What one run measured.
struct Figures {
    setup_s: f64,
    back_s: f64,
    /// The leader's RSS before the kill, in KiB.
    rss_kib: u64,
    /// The new leader's RSS once every agent was back and after `idle_s` more seconds
    /// (0 when not read), in KiB.
    new_rss_kib: (u64, u64),
    /// The new leader's minor page faults from the kill until every agent was back.
    faults: u64,
}

/// Reads events until every agent's last (re-)registration is with one master, `since`
/// or later; returns that master. Panics after `limit`.
async fn settle(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    with: &mut HashMap<usize, Pid>,
    agents: usize,
    since: Instant,
    limit: Duration,
) -> Pid {
    // How many agents each master has, kept as events come: counting them afresh per
    // event cost this thread (sharing the two cores with the masters) over a second of
    // CPU per failover at 10,000 agents.
    let mut per_master: HashMap<Pid, usize> = HashMap::new();
    for pid in with.values() {
        *per_master.entry(pid.clone()).or_default() += 1;
    }
    let forget = |per_master: &mut HashMap<Pid, usize>, pid: &Pid| {
        if let Some(n) = per_master.get_mut(pid) {
            *n -= 1;
            if *n == 0 {
                per_master.remove(pid);
            }
        }
    };
    loop {
        if with.len() == agents && per_master.len() == 1 {
            return with.values().next().expect("agents").clone();
        }
        let left = limit.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(event)) => match event.kind {
                EventKind::Registered | EventKind::Reregistered => {
                    *per_master.entry(event.master.clone()).or_default() += 1;
                    if let Some(old) = with.insert(event.agent, event.master) {
                        forget(&mut per_master, &old);
                    }
                }
                EventKind::Disconnected => {
                    if let Some(old) = with.remove(&event.agent) {
                        forget(&mut per_master, &old);
                    }
                }
                EventKind::TaskRunning | EventKind::TaskFinished => {}
            },
            _ => {
                panic!("only {}/{agents} agents settled on one master within {limit:?}", with.len())
            }
        }
    }
}

async fn fail1_real(root: &Path, agents: usize, options: Options) -> Figures {
    let dir = tempfile::tempdir_in(root).expect("a temporary folder");
    let mut masters = Masters::start(dir.path());
    let pids = real::pids(&masters);
    let limit = Duration::from_secs(120 + agents as u64 / 50);
    let expected = (agents as u64, (agents * options.frameworks * options.tasks) as u64);

    let (arbiter, node) = on_thread(|| {
        Node::builder("127.0.0.1:0".parse().expect("an address")).start().expect("bind")
    })
    .await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report: Report = Arc::new(move |event| {
        let _ = tx.send(event);
    });
    let config = AgentsConfig {
        masters: pids.clone(),
        agents,
        resources: Resources::parse("cpus:20;mem:10240").expect("resources").to_protos(),
        running: load::running(options.frameworks, options.tasks),
        reregister: true,
        task_duration: None,
        prefix: "agent".into(),
    };
    let spawned = spawn_agents(&node, &arbiter.handle(), &config, &report).expect("spawn agents");

    let started = Instant::now();
    let mut with = HashMap::new();
    for chunk in spawned.chunks(options.window.max(1)) {
        for agent in chunk {
            let _ = agent.tell(|a, ctx| a.start(ctx));
        }
        let want = with.len() + chunk.len();
        while with.len() < want {
            match tokio::time::timeout(limit, rx.recv()).await {
                Ok(Some(e)) if matches!(e.kind, EventKind::Reregistered) => {
                    with.insert(e.agent, e.master);
                }
                Ok(Some(_)) => {}
                _ => panic!("only {}/{agents} agents re-registered within {limit:?}", with.len()),
            }
        }
    }
    let leader = settle(&mut rx, &mut with, agents, started, limit).await;
    let leader_index = masters.index_of(&leader);
    // The metrics lag the re-registrations by the registry writes: poll them.
    let mut polls = 0;
    while holds(masters.addresses[leader_index]) != Some(expected) {
        polls += 1;
        assert!(started.elapsed() < limit, "the leader never held {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let setup_s = started.elapsed().as_secs_f64();
    let rss_kib = rss_kib(masters.children[leader_index].id());
    if polls > 0 {
        eprintln!("{agents} agents: leader metrics caught up after {polls} polls");
    }

    // The line on stderr lets a profiler attach for the failover alone (`perf record -a`).
    eprintln!("fail1_real: {agents} agents set up; killing the leader in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let faults_before: Vec<u64> = masters.children.iter().map(|c| minor_faults(c.id())).collect();
    let killed = Instant::now();
    masters.kill(leader_index);
    with.clear();
    let new_leader = settle(&mut rx, &mut with, agents, killed, limit).await;
    let back_s = killed.elapsed().as_secs_f64();
    assert_ne!(new_leader, leader, "the agents went back to a killed master");
    let new_index = masters.index_of(&new_leader);
    let new_pid = masters.children[new_index].id();
    let faults = minor_faults(new_pid).saturating_sub(faults_before[new_index]);
    let rss_back = real::rss_kib(new_pid);
    while holds(masters.addresses[new_index]) != Some(expected) {
        assert!(killed.elapsed() < limit, "the new leader never held {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_idle = if options.idle_s > 0 {
        tokio::time::sleep(Duration::from_secs(options.idle_s)).await;
        real::rss_kib(new_pid)
    } else {
        0
    };

    node.shutdown().await;
    arbiter.stop();
    masters.kill_all();
    Figures { setup_s, back_s, rss_kib, new_rss_kib: (rss_back, rss_idle), faults }
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agent_counts = list(&args, "--agents", &[1000, 10000]);
    let runs = list(&args, "--runs", &[3])[0].max(1);
    let options = Options {
        frameworks: list(&args, "--frameworks", &[5])[0],
        tasks: list(&args, "--tasks", &[2])[0],
        window: list(&args, "--window", &[1000])[0],
        idle_s: list(&args, "--idle-s", &[0])[0] as u64,
    };
    let root = tempfile::tempdir().expect("a temporary folder");
    println!(
        "FAIL-1 on real processes: 3 mesos-master (raft, default elections) on 127.0.0.1, \
         emulated agents on one node in this process; {} frameworks x {} running tasks per \
         agent; kill -9 of the leader; median of {runs} runs; load average {:.1} at the start\n",
        options.frameworks,
        options.tasks,
        load_average()
    );
    println!(
        "| agents | running tasks | set-up s | all agents back after kill -9 | leader RSS \
         | RSS per 1k agents | RSS per 10k tasks | runs (back s) | new leader: minor faults in \
         the failover, RSS back / idle (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    actix_rt::System::new().block_on(async move {
        for &agents in &agent_counts {
            let mut results = Vec::new();
            for _ in 0..runs {
                results.push(fail1_real(root.path(), agents, options).await);
            }
            let tasks = agents * options.frameworks * options.tasks;
            let rss_mib = median(results.iter().map(|r| r.rss_kib as f64 / 1024.0).collect());
            let each: Vec<String> = results.iter().map(|r| format!("{:.2}", r.back_s)).collect();
            let new_leader: Vec<String> = results
                .iter()
                .map(|r| {
                    let (back, idle) = r.new_rss_kib;
                    let idle = if idle > 0 { (idle / 1024).to_string() } else { "-".into() };
                    format!("{}, {}/{idle}", r.faults, back / 1024)
                })
                .collect();
            println!(
                "| {agents} | {tasks} | {:.1} | {:.2} s | {rss_mib:.0} MiB | {:.1} MiB | {} | {} | {} |",
                median(results.iter().map(|r| r.setup_s).collect()),
                median(results.iter().map(|r| r.back_s).collect()),
                rss_mib * 1000.0 / agents as f64,
                if tasks > 0 {
                    format!("{:.1} MiB", rss_mib * 10_000.0 / tasks as f64)
                } else {
                    "-".into()
                },
                each.join(", "),
                new_leader.join("; ")
            );
        }
    });
}
