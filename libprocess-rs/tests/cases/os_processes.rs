//! Two OS processes exchanging messages over loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use libprocess::testing::Ping;
use libprocess::{Node, NodeConfig, Pid};

use super::support::{Seen, http_call, loopback, next, probe, tcp_node};

/// Kills and reaps the child when the test ends, however it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `libprocess-echo` with `io_threads` I/O threads (0: single-threaded).
fn start_echo(io_threads: usize) -> (ChildGuard, Pid) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_libprocess-echo"))
        .arg("--port=0")
        .arg(format!("--io_threads={io_threads}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start libprocess-echo");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read pid");
    let pid: Pid = line.trim().parse().expect("child prints its pid");
    (ChildGuard(child), pid)
}

/// A process in this OS process and one in a child OS process exchange 100 messages
/// over loopback; when the child is killed, the linked process gets `exited`.
#[actix_rt::test]
async fn ping_pong_across_os_processes() {
    let (mut child, echo) = start_echo(1);
    let node = tcp_node();
    let (me, mut rx) = probe(&node, "client");
    let target = echo.clone();
    me.dispatch(move |_, ctx| ctx.link(&target)).await.unwrap();
    for seq in 0..100 {
        node.send(me.pid(), &echo, Ping { seq, ..Default::default() });
    }
    for seq in 0..100 {
        assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.clone(), seq });
    }
    child.0.kill().unwrap();
    let _ = child.0.wait();
    assert_eq!(next(&mut rx).await, Seen::Exited(echo));
    node.shutdown().await;
}

/// Single-threaded nodes (`io_threads = 0`: sockets served on the arbiter that runs the
/// processes) on both sides: 1,000 messages arrive in order, one at a time and all at
/// once, HTTP is served on the same thread, and a killed peer still means `exited`.
#[actix_rt::test]
async fn single_threaded_nodes_across_os_processes() {
    let (mut child, echo) = start_echo(0);
    let config = NodeConfig { io_threads: 0, ..NodeConfig::default() };
    let node = Node::builder(loopback()).config(config).start().expect("start node");
    let (me, mut rx) = probe(&node, "client");
    let target = echo.clone();
    me.dispatch(move |_, ctx| ctx.link(&target)).await.unwrap();
    for seq in 0..100 {
        node.send(me.pid(), &echo, Ping { seq, ..Default::default() });
        assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.clone(), seq });
    }
    for seq in 100..1_000 {
        node.send(me.pid(), &echo, Ping { seq, ..Default::default() });
    }
    for seq in 100..1_000 {
        assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.clone(), seq });
    }
    let (status, _, body) = http_call(node.address(), "GET", "/version", &[], Vec::new()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    child.0.kill().unwrap();
    let _ = child.0.wait();
    assert_eq!(next(&mut rx).await, Seen::Exited(echo));
    node.shutdown().await;
}

/// A single-threaded node needs a runtime to serve on: started outside one, it says so
/// instead of panicking.
#[test]
fn single_threaded_node_outside_a_runtime_is_an_error() {
    let config = NodeConfig { io_threads: 0, ..NodeConfig::default() };
    let error = Node::builder(loopback()).config(config).start().expect_err("no runtime here");
    assert!(error.to_string().contains("io_threads = 0"), "{error}");
}
