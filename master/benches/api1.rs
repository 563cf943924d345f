//! State-query benchmark API-1 (issue 18, section 2; after Mesos
//! `MasterStateQuery_BENCHMARK_Test.GetState` and
//! `MasterActorResponsiveness_BENCHMARK_Test.WithV0StateLoad`), as a `--release` bench
//! binary printing Markdown tables.
//!
//! ```text
//! cargo bench -p mesos-master --bench api1 -- [--agents 1000,10000] [--big] [--runs 5]
//!     [--pollers 5] [--health 200] [--render 5 [--only state] [--cold]]
//! ```
//!
//! One production master (`mesos_master::launch`, a one-member raft registrar in sled)
//! on its own TCP loopback node and thread; emulated agents (`cluster::Agent`) on another.
//! Each agent re-registers carrying the Mesos benchmark's load: 5 frameworks with 2
//! `TASK_RUNNING` tasks each, and 5 completed frameworks with 2 `TASK_FINISHED` tasks
//! each (`ReregisterSlaveMessage.completed_frameworks`). As in Mesos, the master keeps a
//! completed task only for a framework it knows (Mesos: master.cpp `Master::addSlave`,
//! "Possibly orphaned completed task"), and the completed frameworks are known to no
//! one, so neither master shows them. `--big` adds 20,000 and 40,000 agents.
//!
//! Then, over real HTTP (a fresh connection per request, `Connection: close`, the whole
//! body read): each endpoint `--runs` times, sequentially, each time after the first
//! agent re-registered (so that every request renders a new snapshot rather than reuse
//! the answer kept for an unchanged one) (median, min, max, body size,
//! and the OS process's CPU time per request: `/proc/self/stat` user + system delta over
//! the requests, which includes the master's other work and the client's reading); then
//! `/health` `--health` times alone, and again while `--pollers` clients poll
//! `/master/state` in a loop (Mesos's `WithV0StateLoad`). Last, the memory the agents'
//! re-registrations took (`/proc/self/status` VmRSS before and after), per 1k agents
//! and per 10k tasks: the master's state and the emulated agents', measured best as the
//! first agent count of a process (later ones reuse memory the allocator kept).
//!
//! With `--render N`, first each big answer is rendered `N` times in this process from
//! one snapshot of the master (no HTTP, no client), timed by the rendering thread's own
//! CPU time (`/proc/thread-self/schedstat`): the figure that other processes on a
//! loaded machine disturb least, for before/after comparisons of the renderers
//! (`--only <text>`: only the answers whose name holds `<text>`). As in the master, the
//! renderings keep each task's JSON for the next ones (`http::task_json`): the first
//! rendering ("first") writes every task, the next ones copy them; `--cold` renders
//! without that cache, every task written each time.

// Only the emulated agents and helpers are used here: API-1 runs one master, not the
// three-master `Cluster` of HA-1 and FAIL-1.
#[allow(dead_code)]
mod cluster;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cluster::{agent_report, holds, list, on_thread, spawn_agent, tcp_node};
use libprocess::Node;
use mesos_emulate::load::framework;
use mesos_emulate::{Agent, Detector, Running};
use mesos_master::http::json_out::JsonOut;
use mesos_master::http::query::Query;
use mesos_master::http::task_json::TaskJsonCache;
use mesos_master::http::{endpoints, get_state, state_writer};
use mesos_master::launch::{Master, MasterOptions, spawn_master_with};
use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;
use mesos_registrar::{RaftRegistrar, RaftRegistrarConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Running frameworks, tasks per running framework, completed frameworks, tasks per
/// completed framework: Mesos's (5, 2, 5, 2).
const SHAPE: (usize, usize, usize, usize) = (5, 2, 5, 2);

/// What every agent reports: `SHAPE`, tasks `cpus:0.1;mem:5` with 10 labels (as Mesos's
/// `createTaskInfo`).
fn reported() -> Running {
    let (frameworks, tasks, completed, completed_tasks) = SHAPE;
    let resources = Resources::parse("cpus:0.1;mem:5").expect("resources").to_protos();
    let labels = mesos::Labels {
        labels: (0..10)
            .map(|i| mesos::Label { key: format!("key{i}"), value: Some(format!("value{i}")) })
            .collect(),
    };
    let task = move |agent: &mesos::SlaveId, k: usize, j: usize, state: mesos::TaskState| {
        let id = format!("{}-framework{k}-task{j}", agent.value);
        mesos::Task {
            name: id.clone(),
            task_id: mesos::TaskId { value: id },
            framework_id: mesos::FrameworkId { value: format!("framework{k}") },
            slave_id: agent.clone(),
            state: state as i32,
            resources: resources.clone(),
            labels: Some(labels.clone()),
            ..Default::default()
        }
    };
    Arc::new(move |agent: &mesos::SlaveId| {
        let infos = (0..frameworks).map(framework).collect();
        let running = (0..frameworks)
            .flat_map(|k| (0..tasks).map(move |j| (k, j)))
            .map(|(k, j)| task(agent, k, j, mesos::TaskState::TaskRunning))
            .collect();
        let done = (frameworks..frameworks + completed)
            .map(|k| internal::archive::Framework {
                framework_info: framework(k),
                pid: None,
                tasks: (0..completed_tasks)
                    .map(|j| task(agent, k, j, mesos::TaskState::TaskFinished))
                    .collect(),
            })
            .collect();
        (infos, running, done)
    })
}

/// One master with a one-member raft registrar, on its own node and thread.
async fn start_master(dir: &std::path::Path) -> (actix_rt::Arbiter, Node, Master) {
    let dir = dir.to_path_buf();
    let (arbiter, (node, master)) = on_thread(move || {
        let node = tcp_node();
        let config = RaftRegistrarConfig::new(vec![node.address()]);
        let registrar = RaftRegistrar::open(&node, config, &dir).expect("registrar");
        let mut options = MasterOptions::with_id("c0ffee00-0000-4000-8000-00000000a111");
        options.hostname = "127.0.0.1".into();
        let master = spawn_master_with(&node, options, Arc::new(registrar)).expect("master");
        (node, master)
    })
    .await;
    (arbiter, node, master)
}

/// Starts `agents` emulated agents, 1,000 at a time, and waits until each re-registered.
/// The agents' thread and node, the first agent, and where agents report (re-)registering.
type Filled = (actix_rt::Arbiter, Node, libprocess::ProcessRef<Agent>, Reports);
type Reports = mpsc::UnboundedReceiver<(bool, usize, Instant)>;

async fn fill(master: &Master, agents: usize) -> Filled {
    let pid = master.master.pid().clone();
    let (arbiter, node) = on_thread(tcp_node).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report = agent_report(&tx);
    let resources = Resources::parse("cpus:20;mem:10240").expect("resources").to_protos();
    let running = reported();
    let spawned: Vec<_> = (0..agents)
        .map(|i| {
            let info = mesos::SlaveInfo {
                id: Some(mesos::SlaveId { value: format!("agent{i}") }),
                hostname: format!("agent{i}"),
                port: Some(i32::from(node.address().port())),
                resources: resources.clone(),
                ..Default::default()
            };
            let detector = Detector::new(vec![pid.clone()], pid.clone());
            let agent = Agent::new(i, info, running.clone(), detector, report.clone());
            spawn_agent(&node, &arbiter.handle(), i, agent)
        })
        .collect();
    let limit = Duration::from_secs(60 + agents as u64 / 100);
    let mut registered = HashSet::new();
    for chunk in spawned.chunks(1000) {
        for agent in chunk {
            let _ = agent.tell(|a, ctx| a.start(ctx));
        }
        let want = registered.len() + chunk.len();
        while registered.len() < want {
            match tokio::time::timeout(limit, rx.recv()).await {
                Ok(Some((_, n, _))) => registered.insert(n),
                _ => panic!("only {}/{agents} agents registered in {limit:?}", registered.len()),
            };
        }
    }
    (arbiter, node, spawned[0].clone(), rx)
}

/// Changes the master's state (the first agent re-registers) so that the next query
/// renders a new snapshot instead of reusing the answer kept for the current one.
async fn nudge(first: &libprocess::ProcessRef<Agent>, rx: &mut Reports) {
    let _ = first.tell(move |a, ctx| a.reregister_now(ctx));
    while let Some((_, n, _)) = rx.recv().await {
        if n == 0 {
            break;
        }
    }
}

/// One HTTP/1.1 request on a fresh connection: (status, body bytes).
async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> (u16, usize) {
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // The head is kept to read the status; the body is only counted, through one
    // buffer, as a streaming client reads it (no 63 MB buffer growing and copying
    // itself in this process, whose CPU the table reports).
    let (mut head, mut body) = (Vec::new(), 0);
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        let n = stream.read(&mut buffer).await.expect("read");
        if n == 0 {
            break;
        }
        if body == 0 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            head.extend_from_slice(&buffer[..n]);
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                body = head.len() - (at + 4);
                head.truncate(at + 4);
            }
        } else {
            body += n;
        }
    }
    let status = std::str::from_utf8(&head)
        .ok()
        .and_then(|h| h.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body)
}

/// The queries timed, as (name, method, path, extra headers, body).
const QUERIES: [(&str, &str, &str, &str, &str); 8] = [
    ("`/master/state`", "GET", "/master/state", "", ""),
    (
        "v1 `GET_STATE` JSON",
        "POST",
        "/api/v1",
        "Content-Type: application/json\r\nAccept: application/json\r\n",
        r#"{"type":"GET_STATE"}"#,
    ),
    (
        "v1 `GET_STATE` protobuf",
        "POST",
        "/api/v1",
        "Content-Type: application/json\r\nAccept: application/x-protobuf\r\n",
        r#"{"type":"GET_STATE"}"#,
    ),
    ("`/master/state-summary`", "GET", "/master/state-summary", "", ""),
    ("`/master/tasks`", "GET", "/master/tasks", "", ""),
    ("`/master/tasks?limit=-1`", "GET", "/master/tasks?limit=-1", "", ""),
    ("`/master/frameworks`", "GET", "/master/frameworks", "", ""),
    ("`/master/slaves`", "GET", "/master/slaves", "", ""),
];

/// The OS process's user + system CPU time so far (`/proc/self/stat`, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3 (state);
    // utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The OS process's resident memory (`/proc/self/status` VmRSS), in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn loadavg() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Percentile `p` (0-100) of `values` in ms.
fn percentile(values: &mut [f64], p: usize) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) * p / 100] * 1000.0
}

/// The first agent, the master, and the agents' reports: for [`nudge`].
type Nudged<'a> = (&'a libprocess::ProcessRef<Agent>, &'a mut Reports);

/// Times each query `runs` times, each on a changed state (so each renders); prints one
/// row each.
async fn queries(address: SocketAddr, agents: usize, runs: usize, nudged: Nudged<'_>) {
    let (first, rx) = nudged;
    for (name, method, path, extra, body) in QUERIES {
        let mut times = Vec::new();
        let mut size = 0;
        let cpu = cpu_seconds();
        for _ in 0..runs {
            nudge(first, rx).await;
            let started = Instant::now();
            let (status, bytes) = request(address, method, path, extra, body).await;
            times.push(started.elapsed().as_secs_f64());
            assert_eq!(status, 200, "{path}");
            size = bytes;
        }
        let cpu = (cpu_seconds() - cpu) / runs as f64;
        println!(
            "| {agents} | {name} | {:.3} s | {:.3} / {:.3} s | {:.1} MB | {:.3} s |",
            percentile(&mut times, 50) / 1000.0,
            times[0],
            times[times.len() - 1],
            size as f64 / 1e6,
            cpu
        );
    }
}

/// The calling thread's CPU time so far, in seconds (`/proc/thread-self/schedstat`:
/// nanoseconds on a CPU first).
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: f64 = stat.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    ns / 1e9
}

/// The answers `--render` times, by name.
type Render = fn(&mesos_master::snapshot::StateSnapshot, &mut JsonOut);
const RENDERS: [(&str, Render); 7] = [
    ("`/master/state`", |s, out| state_writer::state(out, s)),
    ("v1 `GET_STATE` JSON", get_state::write_get_state_json),
    ("v1 `GET_STATE` protobuf", get_state::write_get_state),
    ("`/master/state-summary`", |s, out| state_writer::state_summary(out, s)),
    ("`/master/tasks?limit=-1`", |s, out| {
        let query = Query::decode("limit=-1").expect("a query");
        endpoints::write_tasks(s, &query, out)
    }),
    ("`/master/frameworks`", |s, out| state_writer::frameworks_endpoint(out, s, None)),
    ("`/master/slaves`", |s, out| state_writer::slaves_endpoint(out, s, None)),
];

/// Renders each answer `runs` times from one snapshot, in this thread, as the master
/// does (streamed in chunks; an answer's chunks are kept until the next rendering, as
/// the master keeps the current snapshot's answers; with a cache of each task's JSON
/// unless `cold`, so the first rendering writes and keeps every task and the next ones
/// copy them); prints one row each, then what the cache holds.
async fn renderings(master: &Master, agents: usize, runs: usize, only: &str, cold: bool) {
    let mut snapshot = master.master.dispatch(|m, _| m.take_snapshot()).await.expect("a snapshot");
    let cache = Arc::new(TaskJsonCache::default());
    if !cold {
        snapshot.task_json = Some(cache.clone());
    }
    let rss_before = rss_mib();
    println!("\n| agents | rendering | CPU per rendering | first | min / max | body |");
    println!("|---|---|---|---|---|---|");
    for (name, render) in RENDERS.into_iter().filter(|(name, _)| name.contains(only)) {
        let (mut times, mut size) = (Vec::new(), 0);
        for _ in 0..runs {
            let kept = Arc::new(parking_lot::Mutex::new(Vec::new()));
            let sink = kept.clone();
            let cpu = thread_cpu_seconds();
            let mut out = JsonOut::streaming(Box::new(move |chunk| {
                sink.lock().push(chunk);
                true
            }));
            render(&snapshot, &mut out);
            out.finish();
            times.push(thread_cpu_seconds() - cpu);
            size = kept.lock().iter().map(|c: &bytes::Bytes| c.len()).sum::<usize>();
        }
        let mut sorted = times.clone();
        println!(
            "| {agents} | {name} | {:.3} s | {:.3} s | {:.3} / {:.3} s | {:.1} MB |",
            percentile(&mut sorted, 50) / 1000.0,
            times[0],
            sorted[0],
            sorted[sorted.len() - 1],
            size as f64 / 1e6
        );
    }
    let (tasks, bytes) = cache.size();
    println!(
        "\nTasks' JSON kept: {tasks} tasks, {:.1} MiB; bench RSS {rss_before:.0} MiB before \
         the renderings, {:.0} MiB after",
        bytes as f64 / (1 << 20) as f64,
        rss_mib()
    );
}

/// `/health` `count` times, sequentially: the latencies in seconds. On an OS thread and
/// runtime of its own: this client's runtime is one thread, which the `/state` pollers
/// keep busy reading their answers (hundreds of MB a second), and a `/health` request
/// sharing it would time that wait, not the master's answer.
async fn health(address: SocketAddr, count: usize) -> Vec<f64> {
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the /health client")
            .block_on(health_here(address, count))
    })
    .await
    .expect("the /health client")
}

/// [`health`] on the calling runtime.
async fn health_here(address: SocketAddr, count: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let (status, _) = request(address, "GET", "/health", "", "").await;
        assert_eq!(status, 200);
        times.push(started.elapsed().as_secs_f64());
    }
    times
}

/// `/health` alone, then while `pollers` clients poll `/master/state`; prints one row.
async fn responsiveness(address: SocketAddr, agents: usize, pollers: usize, count: usize) {
    let mut alone = health(address, count).await;
    let stop = Arc::new(AtomicBool::new(false));
    let cpu = cpu_seconds();
    let started = Instant::now();
    let tasks: Vec<_> = (0..pollers)
        .map(|_| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    let (status, _) = request(address, "GET", "/master/state", "", "").await;
                    assert_eq!(status, 200);
                    times.push(at.elapsed().as_secs_f64());
                }
                times
            })
        })
        .collect();
    // Let every poller have its first request in flight.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut loaded = health(address, count).await;
    stop.store(true, Ordering::Relaxed);
    let mut states = Vec::new();
    for task in tasks {
        states.extend(task.await.expect("a poller"));
    }
    let (elapsed, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "| {agents} | {pollers} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {} in {elapsed:.1} s | {:.3} s | {:.3} s |",
        percentile(&mut alone, 50),
        percentile(&mut alone, 90),
        percentile(&mut loaded, 50),
        percentile(&mut loaded, 90),
        states.len(),
        percentile(&mut states, 50) / 1000.0,
        cpu / states.len().max(1) as f64,
    );
}

/// What to run at each agent count: `--runs`, `--pollers`, `--health`, `--render`.
#[derive(Clone)]
struct Plan {
    runs: usize,
    pollers: usize,
    count: usize,
    render: usize,
    only: String,
    cold: bool,
}

async fn api1(root: &std::path::Path, agents: usize, plan: Plan) {
    let (runs, render) = (plan.runs, plan.render);
    let dir = root.join(format!("api1-{agents}"));
    let (master_thread, master_node, master) = start_master(&dir).await;
    let address = master_node.address();
    // The one-member raft group elects itself; wait until the master leads.
    for _ in 0..5000 {
        let leading = master
            .master
            .dispatch(|m, _| matches!(m.role(), mesos_master::process::Role::Leading { .. }))
            .await
            .unwrap_or(false);
        if leading {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let idle_mib = rss_mib();
    let started = Instant::now();
    let (agent_thread, agent_node, first, mut rx) = fill(&master, agents).await;
    let (frameworks, tasks, _, _) = SHAPE;
    assert_eq!(holds(&master).await, (agents, agents * frameworks * tasks));
    eprintln!(
        "api1: {agents} agents re-registered in {:.1} s; load {}",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let filled_mib = rss_mib();
    if render > 0 {
        renderings(&master, agents, render, &plan.only, plan.cold).await;
    }
    if runs > 0 {
        http_queries(address, agents, &plan, (&first, &mut rx)).await;
    }
    // The memory the re-registrations took: the master's state, and the emulated
    // agents' (small: each holds its ids and builds its report when asked), in the
    // process's RSS; an upper bound on the master's. (What the process gives back when
    // the master stops is no measure: the allocator keeps much of it.)
    let grown = filled_mib - idle_mib;
    let tasks = (agents * frameworks * tasks) as f64;
    println!(
        "\nRSS: bench process {idle_mib:.0} MiB with the master idle, {filled_mib:.0} MiB once \
         the agents re-registered: {grown:.0} MiB for the master's state and the agents', \
         {:.1} MiB per 1k agents, {:.1} MiB per 10k running tasks",
        grown / (agents as f64 / 1000.0),
        grown / (tasks / 10_000.0),
    );
    master_node.shutdown().await;
    master_thread.stop();
    agent_node.shutdown().await;
    agent_thread.stop();
}

/// The HTTP queries, then `/health` under `/state` pollers.
async fn http_queries(address: SocketAddr, agents: usize, plan: &Plan, nudged: Nudged<'_>) {
    let Plan { runs, pollers, count, .. } = *plan;
    println!("\nload average before: {}\n", loadavg());
    println!("| agents | query | median | min / max | body | CPU per request |");
    println!("|---|---|---|---|---|---|");
    queries(address, agents, runs, nudged).await;
    println!(
        "\n| agents | `/state` pollers | `/health` alone p50 / p90 | `/health` under load p50 / p90 \
         | `/state` answered | `/state` p50 under load | CPU per `/state` |"
    );
    println!("|---|---|---|---|---|---|---|");
    responsiveness(address, agents, pollers, count).await;
    println!("\nload average after: {}", loadavg());
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
    let mut agent_counts = list(&args, "--agents", &[1000, 10000]);
    if args.iter().any(|a| a == "--big") {
        agent_counts.extend([20000, 40000]);
    }
    // `--runs 0` skips the HTTP queries (with `--render`: renderings only).
    let runs = list(&args, "--runs", &[5])[0];
    let pollers = list(&args, "--pollers", &[5])[0];
    let count = list(&args, "--health", &[200])[0].max(1);
    let render = list(&args, "--render", &[0])[0];
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1));
    let cold = args.iter().any(|a| a == "--cold");
    let only = only.cloned().unwrap_or_default();
    let plan = Plan { runs, pollers, count, render, only, cold };
    let root = tempfile::tempdir().expect("a temporary folder");
    let (frameworks, tasks, completed, completed_tasks) = SHAPE;
    println!(
        "API-1: 1 master (one-member raft, sled) on 127.0.0.1 TCP, its own thread; emulated \
         agents on another; per agent {frameworks} frameworks x {tasks} running tasks + \
         {completed} completed frameworks x {completed_tasks} finished tasks; {runs} runs \
         per query; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    actix_rt::System::new().block_on(async move {
        for &agents in &agent_counts {
            api1(root.path(), agents, plan.clone()).await;
        }
    });
}
