//! Registry benchmark REG-1 (see BENCHMARKS.md), as a `--release` bench binary printing
//! Markdown tables.
//!
//! ```text
//! cargo bench -p mesos-registrar --bench registrar -- [--agents 2000] [--replicas 1,3]
//!     [--puts 2000] [--put-clients 1,256,1000]
//! ```
//!
//! The default run (2,000 agents) takes a few seconds; the REG-1 figures in
//! docs/benchmarks.md use `--agents 10000` (under a minute with the registrar's group
//! commit, see docs/benchmarks.md).
//!
//! Everything is real: raft registrars ([`RaftRegistrar`]) on libprocess nodes that
//! talk TCP on 127.0.0.1 (one OS process, one actix thread for the processes, each
//! node with its own network runtime), their logs in sled under temporary folders with
//! every batch fsynced (see `sled_backend.rs`), and the default raft settings (100 ms
//! ticks, snapshot every 1000 entries).
//!
//! 1. Mesos `Registrar_BENCHMARK_Test.Performance`: N agents
//!    (`cpus(*):1.0;mem(*):512;disk(*):2048`, attributes `foo:bar;baz:quux`) are admitted,
//!    marked unreachable in shuffled order, marked reachable in shuffled order, the group is
//!    stopped and recovered from disk (time to the registry being readable, and to a
//!    leader), and the agents are removed in shuffled order. Mesos submits every operation
//!    at once and its registrar batches them; here 1000 clients each keep one operation in
//!    flight, and raft batches what arrives together into one fsynced write.
//! 2. etcd-style puts: one operation per put, an 8-byte key and a 256-byte value (an
//!    agent admitted with that id and a 256-byte hostname), with 1 client and with many,
//!    each client waiting for its put before sending the next.
//!
//! Each operation's latency runs from its submit to its completion (committed on a
//! quorum, fsynced, applied on the leader).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use libprocess::Node;
use mesos_proto::mesos::{Attribute, Resource, SlaveId, SlaveInfo, TimeInfo, value};
use mesos_registrar::operations::AgentAtTime;
use mesos_registrar::{RaftRegistrar, RaftRegistrarConfig, Registrar, RegistryOperation as Op};
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// One raft group: its nodes and registrars, and the folders holding their logs.
struct Group {
    nodes: Vec<Node>,
    registrars: Vec<RaftRegistrar>,
    dirs: Vec<PathBuf>,
}

impl Group {
    /// Starts `dirs.len()` members on loopback TCP with their logs in `dirs`. A member
    /// stopped just before may still hold its sled lock for a moment: retry for 5 s.
    async fn start(dirs: &[PathBuf]) -> Group {
        let nodes: Vec<Node> = dirs
            .iter()
            .map(|_| {
                Node::builder("127.0.0.1:0".parse().expect("an address"))
                    .start()
                    .expect("bind 127.0.0.1")
            })
            .collect();
        let masters: Vec<_> = nodes.iter().map(Node::address).collect();
        let mut registrars = Vec::new();
        for (node, dir) in nodes.iter().zip(dirs) {
            let mut config = RaftRegistrarConfig::new(masters.clone());
            config.max_pending = 100_000;
            let mut attempts = 0;
            let registrar = loop {
                match RaftRegistrar::open(node, config.clone(), dir) {
                    Ok(registrar) => break registrar,
                    Err(error) if attempts < 500 => {
                        attempts += 1;
                        if attempts == 1 {
                            eprintln!("reopening {}: {error}; retrying", dir.display());
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(error) => panic!("open the registrar: {error}"),
                }
            };
            registrars.push(registrar);
        }
        Group { nodes, registrars, dirs: dirs.to_vec() }
    }

    /// Waits for a member to lead; returns its registrar.
    async fn leader(&self) -> RaftRegistrar {
        for _ in 0..2000 {
            if let Some(r) = self.registrars.iter().find(|r| r.leadership().borrow().is_leading()) {
                return r.clone();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("no leader within 4 s");
    }

    async fn stop(self) {
        drop(self.registrars);
        for node in &self.nodes {
            node.shutdown().await;
        }
    }
}

/// What a phase measured.
struct Figures {
    ops: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn row(&self, label: &str) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let at = |q: f64| {
            sorted
                .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
                .copied()
        };
        let ms = |d: Option<Duration>| {
            d.map_or("-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3))
        };
        let errors =
            if self.errors > 0 { format!(" ({} errors)", self.errors) } else { String::new() };
        format!(
            "| {label} | {}{errors} | {:.2} s | {:.0} | {} | {} |",
            self.ops,
            self.elapsed.as_secs_f64(),
            self.ops as f64 / self.elapsed.as_secs_f64(),
            ms(at(0.5)),
            ms(at(0.99)),
        )
    }
}

/// Submits `ops` to `registrar` from `clients` clients, each with one operation in
/// flight, until all are done.
async fn drive(registrar: &RaftRegistrar, ops: Vec<Op>, clients: usize) -> Figures {
    let count = ops.len();
    let queue = Rc::new(RefCell::new(VecDeque::from(ops)));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients.min(count))
        .map(|_| {
            let (queue, registrar) = (queue.clone(), registrar.clone());
            actix_rt::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0);
                loop {
                    let Some(op) = queue.borrow_mut().pop_front() else {
                        break;
                    };
                    let sent = Instant::now();
                    match registrar.submit(op).await {
                        Ok(_) => latencies.push(sent.elapsed()),
                        Err(error) => {
                            errors += 1;
                            if errors == 1 {
                                eprintln!("submit failed: {error}");
                            }
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut figures = Figures {
        ops: count,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(count),
    };
    for handle in handles {
        let (latencies, errors) = handle.await.expect("client task");
        figures.latencies.extend(latencies);
        figures.errors += errors;
    }
    figures.elapsed = start.elapsed();
    figures
}

fn scalar(name: &str, value: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value }),
        ..Default::default()
    }
}

fn text(name: &str, value: &str) -> Attribute {
    Attribute {
        name: name.into(),
        r#type: value::Type::Text as i32,
        text: Some(value::Text { value: value.into() }),
        ..Default::default()
    }
}

/// Mesos's benchmark agent: `cpus(*):1.0;mem(*):512;disk(*):2048`, `foo:bar;baz:quux`.
fn agent(i: usize) -> SlaveInfo {
    SlaveInfo {
        hostname: format!("agent-{i}.example.com"),
        id: Some(SlaveId { value: format!("S{i}") }),
        resources: vec![scalar("cpus", 1.0), scalar("mem", 512.0), scalar("disk", 2048.0)],
        attributes: vec![text("foo", "bar"), text("baz", "quux")],
        ..Default::default()
    }
}

fn fresh_dirs(root: &Path, name: &str, replicas: usize) -> Vec<PathBuf> {
    (0..replicas).map(|i| root.join(format!("{name}-{i}"))).collect()
}

/// Mesos `Registrar_BENCHMARK_Test.Performance` with `agents` agents on `replicas`.
async fn performance(root: &Path, replicas: usize, agents: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(agents as u64);
    let infos: Vec<SlaveInfo> = (0..agents).map(agent).collect();
    let shuffled = |rng: &mut rand::rngs::StdRng| {
        let mut order: Vec<usize> = (0..agents).collect();
        order.shuffle(rng);
        order
    };
    let group =
        Group::start(&fresh_dirs(root, &format!("perf-{replicas}-{agents}"), replicas)).await;
    let leader = group.leader().await;
    let label = |phase: &str| format!("{replicas} | {agents} | {phase}");
    let mut rows = Rows;
    let admits = infos.iter().cloned().map(Op::AdmitAgent).collect();
    rows.push(drive(&leader, admits, 1000).await.row(&label("admit")));
    let at = TimeInfo { nanoseconds: 1 };
    let unreachable = shuffled(&mut rng)
        .into_iter()
        .map(|i| Op::MarkUnreachable(AgentAtTime { info: Some(infos[i].clone()), time: Some(at) }))
        .collect();
    rows.push(drive(&leader, unreachable, 1000).await.row(&label("mark unreachable (shuffled)")));
    let reachable =
        shuffled(&mut rng).into_iter().map(|i| Op::MarkReachable(infos[i].clone())).collect();
    rows.push(drive(&leader, reachable, 1000).await.row(&label("mark reachable (shuffled)")));

    // Recover: stop the whole group, reopen every member from sled.
    let dirs = group.dirs.clone();
    drop(leader);
    group.stop().await;
    let start = Instant::now();
    let group = Group::start(&dirs).await;
    let mut readable = None;
    while readable.is_none() {
        let state = group.registrars[0].state().await.expect("state");
        if state.admitted_agents().len() == agents {
            readable = Some(start.elapsed());
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let leader = group.leader().await;
    let led = start.elapsed();
    let readable = readable.expect("set above");
    rows.push(format!(
        "| {} | 1 | {:.3} s to a readable registry; {:.3} s to a leader | - | - | - |",
        label("recover (restart the group from sled)"),
        readable.as_secs_f64(),
        led.as_secs_f64()
    ));
    let removes =
        shuffled(&mut rng).into_iter().map(|i| Op::RemoveAgent(infos[i].clone())).collect();
    rows.push(drive(&leader, removes, 1000).await.row(&label("remove (shuffled)")));
    drop(leader);
    group.stop().await;
}

/// Prints each table row as soon as it is measured.
struct Rows;

impl Rows {
    fn push(&mut self, row: String) {
        println!("{row}");
    }
}

/// etcd-style puts: `puts` one-operation writes of an 8-byte key and 256-byte value.
async fn puts(root: &Path, replicas: usize, clients: usize, puts: usize) -> String {
    let group =
        Group::start(&fresh_dirs(root, &format!("puts-{replicas}-{clients}"), replicas)).await;
    let leader = group.leader().await;
    let ops = (0..puts)
        .map(|i| {
            Op::AdmitAgent(SlaveInfo {
                hostname: format!("{i:0>256}"),
                id: Some(SlaveId { value: format!("{i:08}") }),
                ..Default::default()
            })
        })
        .collect();
    let row = drive(&leader, ops, clients).await.row(&format!("{replicas} | {clients}"));
    drop(leader);
    group.stop().await;
    row
}

fn list(args: &[String], name: &str, default: &[usize]) -> Vec<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agents = list(&args, "--agents", &[2_000]);
    let replicas = list(&args, "--replicas", &[1, 3]);
    let put_count = list(&args, "--puts", &[2000])[0];
    let put_clients = list(&args, "--put-clients", &[1, 256, 1000]);
    let root = tempfile::tempdir().expect("a temporary folder");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!(
        "REG-1 on {} cores ({cpu}), logs in {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        root.path().display()
    );
    actix_rt::System::new().block_on(async move {
        println!("\n| replicas | agents | phase | operations | time | ops/s | p50 | p99 |");
        println!("|---|---|---|---|---|---|---|---|");
        for &r in &replicas {
            for &n in &agents {
                performance(root.path(), r, n).await;
            }
        }
        println!("\n| replicas | clients | puts | time | puts/s | p50 | p99 |");
        println!("|---|---|---|---|---|---|---|");
        for &r in &replicas {
            for &c in &put_clients {
                let count = if c == 1 { put_count / 4 } else { put_count };
                println!("{}", puts(root.path(), r, c, count).await);
            }
        }
    });
}
