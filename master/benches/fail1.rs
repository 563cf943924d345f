//! Failover benchmark FAIL-1 (see BENCHMARKS.md, after Mesos
//! `MasterFailover_BENCHMARK_Test.AgentReregistrationDelay`), as a `--release` bench
//! binary printing a Markdown table.
//!
//! ```text
//! cargo bench -p mesos-master --bench fail1 -- [--agents 1000,5000] [--runs 3]
//!     [--frameworks 5] [--tasks 2] [--window 1000] [--election-ticks 5] [--one-thread]
//!     [--idle-s 0]
//! ```
//!
//! The three raft masters of HA-1 (`cluster/mod.rs`: TCP on 127.0.0.1, one OS process,
//! sled logs fsynced), but each master's node and the agents' node run on their own
//! thread (actix arbiter), as separate processes would; `--one-thread` puts all on one,
//! as HA-1 does. Each emulated agent reports, as in the Mesos benchmark, 5
//! frameworks (`framework0`..`framework4`, the same on every agent) with 2 running tasks
//! each (`cpus:0.1;mem:5`, 10 labels, no executor) on `cpus:20;mem:10240`.
//!
//! 1. Set-up: every agent re-registers (`ReregisterSlaveMessage` with its frameworks and
//!    tasks) with the leader, which has never seen it: the leader admits it through the
//!    replicated registry and adds its frameworks and tasks (what the Mesos benchmark
//!    times, with one master). The agents start `--window` (1000) at a time; `--window 0`
//!    starts all at once, which can cost the leader its raft leadership (see
//!    docs/benchmarks.md). The first leader must then hold every agent and task.
//! 2. The leader's node is killed (its sockets close, as with `kill -9`). The agents see
//!    the broken link, look for the new leader (`cluster::Detector`) and re-register with
//!    it with all their tasks. Timed from the kill until every agent has its
//!    `SlaveReregisteredMessage` from the new leader, which must then hold every agent
//!    and every task as running.
//! 3. Memory: this process's RSS (all three masters and the agents) before the kill, once
//!    every agent is back, and after `--idle-s` seconds more with nothing happening but
//!    pings (how much mimalloc gives back at idle, docs/libprocess.md "The allocator");
//!    and the minor page faults the process took from the kill until every agent was
//!    back (each a page the kernel zeroed and mapped: a count the machine's load does
//!    not change, unlike the wall clock).

mod cluster;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cluster::{
    Cluster, agent_report, holds, list, median, minor_faults, on_thread, rss_kib, spawn_agent,
    tcp_node, thread_cpu, thread_id, wait_back_timeline,
};
use mesos_emulate::{Agent, Detector, load::running};
use mesos_proto::mesos;
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

/// The command line's settings besides the agent counts and runs.
#[derive(Clone, Copy)]
struct Options {
    frameworks: usize,
    tasks: usize,
    /// Masters and agents on their own threads.
    threads: bool,
    /// Agents starting at once in the set-up (0: all).
    window: usize,
    election_ticks: usize,
    /// Seconds to wait after the failover before reading the RSS at idle (0: not read).
    idle_s: u64,
}

/// What one run measured.
struct Figures {
    /// Seconds until every agent re-registered with the first leader, `window` at a time.
    setup_s: f64,
    /// Seconds from the kill to a new leader.
    leader_s: f64,
    /// Seconds from the kill until every agent is back with the new leader.
    back_s: f64,
    /// Minor page faults of this process from the kill until every agent was back.
    faults: u64,
    /// This process's RSS in KiB: before the kill, once every agent was back, after
    /// `idle_s` more seconds (0 when not read).
    rss_kib: (u64, u64, u64),
}

async fn fail1(root: &std::path::Path, agents: usize, run: usize, options: Options) -> Figures {
    let Options { frameworks, tasks, threads, window, election_ticks, idle_s } = options;
    let window = if window == 0 { agents } else { window };
    let tag = format!("fail1-{agents}");
    let mut cluster = Cluster::start(root, &tag, run, threads, election_ticks).await;
    let (pids, leader) = (cluster.pids.clone(), cluster.leader);
    let limit = Duration::from_secs(60 + agents as u64 / 100);
    let expected = (agents, agents * frameworks * tasks);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (agent_thread, agent_node) = if threads {
        let (arbiter, node) = on_thread(tcp_node).await;
        (Some(arbiter), node)
    } else {
        (None, tcp_node())
    };
    let here = agent_thread.as_ref().map_or_else(actix_rt::Arbiter::current, |a| a.handle());
    let resources = Resources::parse("cpus:20;mem:10240").expect("resources").to_protos();
    let running = running(frameworks, tasks);
    let report = agent_report(&tx);
    let spawned: Vec<_> = (0..agents)
        .map(|i| {
            let info = mesos::SlaveInfo {
                id: Some(mesos::SlaveId { value: format!("agent{i}") }),
                hostname: format!("agent{i}"),
                port: Some(i32::from(agent_node.address().port())),
                resources: resources.clone(),
                ..Default::default()
            };
            let detector = Detector::new(pids.clone(), pids[leader].clone());
            let agent = Agent::new(i, info, running.clone(), detector, report.clone());
            spawn_agent(&agent_node, &here, i, agent)
        })
        .collect();
    // Let every agent start before the clock does.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let mut registered = HashSet::new();
    for chunk in spawned.chunks(window) {
        for agent in chunk {
            let _ = agent.tell(|a, ctx| a.start(ctx));
        }
        let want = registered.len() + chunk.len();
        while registered.len() < want {
            match tokio::time::timeout(limit, rx.recv()).await {
                Ok(Some((_, n, _))) => registered.insert(n),
                _ => {
                    panic!("only {}/{agents} agents registered within {limit:?}", registered.len())
                }
            };
        }
    }
    // Under this burst the leader may lose its raft leadership (its thread is too busy to
    // send heartbeats): the agents it answered stay with it, as nothing tells them. Tell
    // them who leads now, as Mesos's ZooKeeper detector would, until the leader holds all.
    let mut leadership_changes = 0;
    loop {
        let now_leading = cluster.wait_leader().await;
        if now_leading == cluster.leader && holds(&cluster.masters[now_leading].1).await == expected
        {
            break;
        }
        if now_leading != cluster.leader {
            leadership_changes += 1;
            cluster.leader = now_leading;
        }
        assert!(started.elapsed() < limit, "set-up did not settle within {limit:?}");
        let pid = cluster.pids[now_leading].clone();
        for agent in &spawned {
            let pid = pid.clone();
            let _ = agent.tell(move |a, ctx| a.detected(pid, ctx));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let first = Instant::now();
    if leadership_changes > 0 {
        eprintln!("{agents} agents, run {run}: the leader changed during set-up; agents told");
    }
    // Let the registry and pings settle before the kill. The line on stderr lets a
    // profiler attach for the failover alone (`perf record -p`; docs/benchmarks.md).
    eprintln!("fail1: {agents} agents set up, run {run}; killing the leader in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let agents_tid = match &agent_thread {
        Some(arbiter) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            arbiter.spawn(async move {
                let _ = tx.send(thread_id());
            });
            rx.await.unwrap_or(0)
        }
        None => thread_id(),
    };
    let (rss_before, faults_before, cpu_before) = (rss_kib(), minor_faults(), thread_cpu());
    let (killed, led) = cluster.kill_leader().await;
    let mut timeline = Vec::with_capacity(agents);
    let (back, _) = wait_back_timeline(&mut rx, killed, agents, 0, limit, &mut timeline).await;
    let (rss_back, faults) = (rss_kib(), minor_faults().saturating_sub(faults_before));
    let cpu_after = thread_cpu();
    print_timeline(agents, run, killed, led, &timeline);
    print_thread_cpu(&cluster, agents_tid, &cpu_before, &cpu_after, (back - killed).as_secs_f64());
    assert_eq!(
        holds(&cluster.masters[cluster.leader].1).await,
        expected,
        "(agents, tasks) on the new leader"
    );
    // What the new leader handled for it: re-registrations (the first of each agent and
    // its re-sends, copies answered without decoding) and messages it dropped before it
    // acted (the agents' tries while the election ran).
    let (node, master) = &cluster.masters[cluster.leader];
    let reregistrations = master
        .master
        .dispatch(|m, _| m.core().stats().slave_reregistrations)
        .await
        .expect("the master answers");
    let dropped = node.metrics().counter("master/dropped_messages").get();
    let copies = node.metrics().counter("master/slave_reregistrations_repeated").get();
    let elsewhere = node.metrics().counter("master/slave_reregistrations_decoded_elsewhere").get();
    eprintln!(
        "fail1: {agents} agents, run {run}: the new leader handled {reregistrations} \
         re-registrations ({:.2} per agent; {copies} copies answered or dropped undecoded, \
         {elsewhere} decoded on its worker) and dropped {dropped} messages before acting \
         (undecoded)",
        reregistrations as f64 / agents as f64
    );
    let rss_idle = if idle_s > 0 {
        tokio::time::sleep(Duration::from_secs(idle_s)).await;
        rss_kib()
    } else {
        0
    };
    let figures = Figures {
        setup_s: (first - started).as_secs_f64(),
        leader_s: led,
        back_s: (back - killed).as_secs_f64(),
        faults,
        rss_kib: (rss_before, rss_back, rss_idle),
    };
    agent_node.shutdown().await;
    if let Some(arbiter) = agent_thread {
        arbiter.stop();
    }
    cluster.shutdown().await;
    figures
}

/// On stderr: how many agents were back at each quarter second after the kill, and
/// when the new leader acted, to tell a leader that works through its queue at a steady
/// rate from agents that wait for their retry timers.
fn print_timeline(agents: usize, run: usize, killed: Instant, led: f64, timeline: &[Instant]) {
    let mut line = format!(
        "fail1: {agents} agents, run {run}: agents back by each 0.25 s after the kill \
         (a leader after {led:.2} s):"
    );
    let (mut bucket, mut count) = (1, 0);
    for at in timeline {
        let since = at.saturating_duration_since(killed).as_secs_f64();
        while since > bucket as f64 * 0.25 {
            line.push_str(&format!(" {count}"));
            bucket += 1;
        }
        count += 1;
    }
    line.push_str(&format!(" {count}"));
    eprintln!("{line}");
}

/// On stderr: the CPU each thread of this process used from the kill until every agent
/// was back (threads under 10 ms left out), the masters' and the agents' threads named.
fn print_thread_cpu(
    cluster: &Cluster,
    agents_tid: u32,
    before: &[(u32, String, u64)],
    after: &[(u32, String, u64)],
    wall_s: f64,
) {
    // `/proc`'s CPU times count USER_HZ ticks, 100 a second on every Linux architecture.
    let ticks = 100.0;
    let mut used: Vec<(f64, String)> = after
        .iter()
        .filter_map(|(tid, name, cpu)| {
            let start = before.iter().find(|(t, ..)| t == tid).map_or(0, |(_, _, c)| *c);
            let seconds = cpu.saturating_sub(start) as f64 / ticks;
            let role = if *tid == agents_tid {
                "agents".to_string()
            } else if let Some(i) = cluster.tids.iter().position(|t| t == tid) {
                let what = if i == cluster.leader { "new leader" } else { "master" };
                format!("{what} {i}")
            } else {
                name.clone()
            };
            (seconds >= 0.01).then(|| (seconds, format!("{role} ({tid})")))
        })
        .collect();
    used.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = used.iter().map(|(s, _)| s).sum();
    let each: Vec<String> = used.iter().map(|(s, who)| format!("{who} {s:.2}")).collect();
    eprintln!(
        "fail1: CPU from the kill until every agent was back: {total:.2} s in {wall_s:.2} s \
         ({:.2} cores): {}",
        total / wall_s,
        each.join(", ")
    );
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agent_counts = list(&args, "--agents", &[1000, 5000]);
    let frameworks = list(&args, "--frameworks", &[5])[0];
    let tasks = list(&args, "--tasks", &[2])[0];
    let runs = list(&args, "--runs", &[3])[0].max(1);
    let threads = !args.iter().any(|a| a == "--one-thread");
    let window = list(&args, "--window", &[1000])[0];
    let election_ticks = list(&args, "--election-ticks", &[5])[0].max(1);
    let idle_s = list(&args, "--idle-s", &[0])[0] as u64;
    let options = Options { frameworks, tasks, threads, window, election_ticks, idle_s };
    let root = tempfile::tempdir().expect("a temporary folder");
    let tick_ms = mesos_master::flags::DEFAULT_RAFT_TICK.as_millis();
    println!(
        "FAIL-1: 3 masters on 127.0.0.1 TCP, raft + sled (elections after {}-{} ms), {}; \
         {frameworks} frameworks x {tasks} running tasks per agent; median of {runs} runs\n",
        election_ticks as u128 * tick_ms,
        (2 * election_ticks as u128 - 1) * tick_ms,
        if threads {
            "each master and the agents on their own thread"
        } else {
            "all on one thread"
        }
    );
    println!(
        "| agents | running tasks | to a leading master | all agents back after the kill \
         | agents/s from the kill | agents/s once a leader acts | runs (set-up / leader / back s) \
         | minor faults in the failover | process RSS before the kill / back / idle (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    actix_rt::System::new().block_on(async move {
        for &agents in &agent_counts {
            let mut results = Vec::new();
            for run in 0..runs {
                results.push(fail1(root.path(), agents, run, options).await);
            }
            let each: Vec<String> = results
                .iter()
                .map(|r| format!("{:.2}/{:.2}/{:.2}", r.setup_s, r.leader_s, r.back_s))
                .collect();
            let faults: Vec<String> = results.iter().map(|r| r.faults.to_string()).collect();
            let mib = |kib: u64| kib / 1024;
            let rss: Vec<String> = results
                .iter()
                .map(|r| {
                    let (before, back, idle) = r.rss_kib;
                    let idle = if idle > 0 { mib(idle).to_string() } else { "-".into() };
                    format!("{}/{}/{idle}", mib(before), mib(back))
                })
                .collect();
            let back = median(results.iter().map(|r| r.back_s).collect());
            let after_leader = median(results.iter().map(|r| r.back_s - r.leader_s).collect());
            println!(
                "| {agents} | {} | {:.2} s | {back:.2} s | {:.0} | {:.0} | {} | {} | {} |",
                agents * frameworks * tasks,
                median(results.iter().map(|r| r.leader_s).collect()),
                agents as f64 / back,
                agents as f64 / after_leader,
                each.join(", "),
                faults.join(", "),
                rss.join(", ")
            );
        }
    });
}
