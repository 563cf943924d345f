//! Real-process test of the scale tool's agents (`mesos-emulate`): a real `mesos-master`
//! process, started as users start it (raft registry in a temporary `--work_dir`, a
//! group of one), and 50 emulated agents in this process. Waits on the agents' report
//! events, never on the wall clock (the timeouts only bound a failure).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Node, Pid};
use mesos_emulate::{AgentsConfig, Event, EventKind, Report, load, spawn_agents};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

const AGENTS: usize = 50;

/// Starts `mesos-master` on `listener` (inherited), its registry under `dir`.
fn start_master(listener: &TcpListener, dir: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mesos-master"));
    let fd = libprocess::inherit::pass_listener(&mut command, listener);
    command
        .arg(format!("--listen_fd={fd}"))
        .arg(format!("--work_dir={}", dir.display()))
        .arg("--registry=raft")
        .arg("--logging_level=WARNING")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start mesos-master")
}

/// Waits until every agent reported `kind`; panics after a minute.
async fn wait_all(rx: &mut mpsc::UnboundedReceiver<Event>, kind: EventKind) {
    let mut seen = std::collections::HashSet::new();
    while seen.len() < AGENTS {
        let event = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {}/{AGENTS} agents {kind:?}", seen.len()))
            .expect("the agents report");
        if event.kind == kind {
            seen.insert(event.agent);
        }
    }
}

/// 50 emulated agents register with a real master; after a kill -9 and a restart of that
/// master (same socket, same registry) every one re-registers with it.
#[actix_rt::test]
async fn emulated_agents_register_and_reregister_after_a_master_restart() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let mut master = start_master(&listener, dir.path());
    let pid: Pid = format!("master@{address}").parse().unwrap();

    let node = Node::builder("127.0.0.1:0".parse().unwrap()).start().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report: Report = Arc::new(move |event| {
        let _ = tx.send(event);
    });
    let config = AgentsConfig {
        masters: vec![pid],
        agents: AGENTS,
        resources: Resources::parse("cpus:4;mem:4096").unwrap().to_protos(),
        running: load::nothing(),
        reregister: false,
        task_duration: None,
        prefix: "agent".into(),
    };
    let agents = spawn_agents(&node, &actix_rt::Arbiter::current(), &config, &report).unwrap();
    for agent in &agents {
        agent.tell(|a, ctx| a.start(ctx)).unwrap();
    }
    wait_all(&mut rx, EventKind::Registered).await;

    master.kill().unwrap();
    master.wait().unwrap();
    wait_all(&mut rx, EventKind::Disconnected).await;
    let mut master = start_master(&listener, dir.path());
    wait_all(&mut rx, EventKind::Reregistered).await;

    master.kill().unwrap();
    master.wait().unwrap();
    node.shutdown().await;
}
