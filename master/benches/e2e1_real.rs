//! E2E-1 on real processes (issue 18, section 4; the Mesos paper, section 6.5): how long a
//! new framework waits for its first task on a busy cluster. A `--release` bench binary
//! printing a Markdown table.
//!
//! ```text
//! cargo bench -p mesos-master --bench e2e1_real -- [--agents 1000,10000]
//!     [--frameworks 200] [--task-ms 2000] [--probes 3]
//! ```
//!
//! 1. Three `mesos-master` processes (`real::Masters`: raft, OS-assigned ports, temporary
//!    work dirs; default flags, so a 1 s allocation interval).
//! 2. Emulated agents (`mesos-emulate`, `cpus:4;mem:4096` each) register, on their own
//!    thread of this process; their tasks finish `--task-ms` after they start.
//! 3. `--frameworks` emulated frameworks (on another thread) launch as many
//!    `cpus:1;mem:512` tasks as each offer holds, so every agent is kept busy: tasks end
//!    and are replaced all the time. Set-up is over when every agent has run a task.
//! 4. Then, one at a time, `--probes` new frameworks subscribe; each is timed from its
//!    SUBSCRIBE to its first `TASK_RUNNING` update (also: to its subscription, to its
//!    first offer). The paper's figure is the overhead over the task's own start (< 1 s).

// Shared with fail1_real, which uses all of it.
#[allow(dead_code)]
mod real;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use libprocess::{Node, Time};
use mesos_emulate::{
    AgentsConfig, Detector, EventKind, Framework, FrameworkEvent, FrameworkEventKind,
    FrameworkReport, Report, load, spawn_agents,
};
use mesos_proto::resources::Resources;
use real::{Masters, list, median, on_thread};
use tokio::sync::{Notify, mpsc};

/// One probe: seconds from SUBSCRIBE to (subscribed, first offer, first task running).
type Probe = (f64, f64, f64);

/// Counts the agents that ran a task, and wakes the waiter when all did.
struct Busy {
    ran: Vec<AtomicBool>,
    count: AtomicUsize,
    registered: AtomicUsize,
    notify: Notify,
}

fn node() -> Node {
    Node::builder("127.0.0.1:0".parse().expect("an address")).start().expect("bind 127.0.0.1")
}

async fn probe(scheduler_node: &Node, masters: &Masters, number: usize) -> Probe {
    let (tx, mut rx) = mpsc::unbounded_channel::<FrameworkEvent>();
    let report: FrameworkReport = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    let pids = real::pids(masters);
    let detector = Detector::new(pids.clone(), pids[0].clone());
    let framework =
        Framework::new(number, format!("probe{number}"), detector, (1.0, 512.0), 1, report);
    let process = scheduler_node
        .spawn(format!("scheduler({})", number + 1), framework)
        .expect("spawn the probe");
    let (mut start, mut subscribed, mut offered) = (None::<Time>, 0.0, 0.0);
    let since = |t: Time, start: Option<Time>| {
        t.saturating_since(start.expect("subscribing first")).as_secs_f64()
    };
    loop {
        let event = tokio::time::timeout(Duration::from_secs(120), rx.recv())
            .await
            .expect("the probe's task ran within 120 s")
            .expect("the probe reports");
        match event.kind {
            FrameworkEventKind::Subscribing => start = Some(event.at),
            FrameworkEventKind::Subscribed => subscribed = since(event.at, start),
            FrameworkEventKind::FirstOffer => offered = since(event.at, start),
            FrameworkEventKind::TaskRunning => {
                let running = since(event.at, start);
                drop(process);
                return (subscribed, offered, running);
            }
        }
    }
}

async fn e2e1(
    root: &Path,
    agents: usize,
    frameworks: usize,
    task_ms: u64,
    probes: usize,
) -> Vec<Probe> {
    let dir = tempfile::tempdir_in(root).expect("a temporary folder");
    let masters = Masters::start(dir.path());
    let pids = real::pids(&masters);
    let busy = Arc::new(Busy {
        ran: (0..agents).map(|_| AtomicBool::new(false)).collect(),
        count: AtomicUsize::new(0),
        registered: AtomicUsize::new(0),
        notify: Notify::new(),
    });
    let report: Report = {
        let busy = busy.clone();
        Arc::new(move |e| match e.kind {
            EventKind::Registered
                if busy.registered.fetch_add(1, Ordering::Relaxed) + 1 == agents =>
            {
                busy.notify.notify_one();
            }
            EventKind::TaskRunning
                if !busy.ran[e.agent].swap(true, Ordering::Relaxed)
                    && busy.count.fetch_add(1, Ordering::Relaxed) + 1 == agents =>
            {
                busy.notify.notify_one();
            }
            _ => {}
        })
    };
    let config = AgentsConfig {
        masters: pids.clone(),
        agents,
        resources: Resources::parse("cpus:4;mem:4096").expect("resources").to_protos(),
        running: load::nothing(),
        reregister: false,
        task_duration: Some(Duration::from_millis(task_ms)),
        prefix: "agent".into(),
    };
    let (agent_thread, agent_node) = on_thread(node).await;
    let spawned =
        spawn_agents(&agent_node, &agent_thread.handle(), &config, &report).expect("spawn agents");
    for chunk in spawned.chunks(1000) {
        for agent in chunk {
            let _ = agent.tell(|a, ctx| a.start(ctx));
        }
    }
    let limit = Duration::from_secs(120 + agents as u64 / 50);
    tokio::time::timeout(limit, busy.notify.notified()).await.expect("every agent registered");

    let (scheduler_thread, scheduler_node) = on_thread(node).await;
    let ignore: FrameworkReport = Arc::new(|_| {});
    for i in 0..frameworks {
        let detector = Detector::new(pids.clone(), pids[0].clone());
        let framework =
            Framework::new(i, format!("busy{i}"), detector, (1.0, 512.0), 64, ignore.clone());
        scheduler_node
            .spawn_on(&scheduler_thread.handle(), format!("scheduler({})", i + 1), move || {
                framework
            })
            .expect("spawn a framework");
    }
    tokio::time::timeout(limit, busy.notify.notified()).await.expect("every agent ran a task");

    let mut results = Vec::new();
    for p in 0..probes {
        results.push(probe(&agent_node, &masters, frameworks + p).await);
    }
    scheduler_node.shutdown().await;
    agent_node.shutdown().await;
    scheduler_thread.stop();
    agent_thread.stop();
    drop(masters);
    results
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agent_counts = list(&args, "--agents", &[1000, 10000]);
    let frameworks = list(&args, "--frameworks", &[200])[0];
    let task_ms = list(&args, "--task-ms", &[2000])[0] as u64;
    let probes = list(&args, "--probes", &[3])[0].max(1);
    let root = tempfile::tempdir().expect("a temporary folder");
    println!(
        "E2E-1 on real processes: 3 mesos-master (raft, default flags) on 127.0.0.1; agents \
         cpus:4;mem:4096, {frameworks} frameworks launching cpus:1;mem:512 tasks of {task_ms} \
         ms on every offer; a new framework's first task, median of {probes} probes\n"
    );
    println!(
        "| agents | frameworks | SUBSCRIBE -> subscribed | -> first offer | -> TASK_RUNNING | probes (s) |"
    );
    println!("|---|---|---|---|---|---|");
    actix_rt::System::new().block_on(async move {
        for &agents in &agent_counts {
            let results = e2e1(root.path(), agents, frameworks, task_ms, probes).await;
            let each: Vec<String> = results.iter().map(|r| format!("{:.3}", r.2)).collect();
            println!(
                "| {agents} | {frameworks} | {:.3} s | {:.3} s | {:.3} s | {} |",
                median(results.iter().map(|r| r.0).collect()),
                median(results.iter().map(|r| r.1).collect()),
                median(results.iter().map(|r| r.2).collect()),
                each.join(", ")
            );
        }
    });
}
