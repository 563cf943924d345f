//! Two OS processes exchanging messages over loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use libprocess::Pid;
use libprocess::testing::Ping;

use super::support::{Seen, next, probe, tcp_node};

/// Kills and reaps the child when the test ends, however it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_echo() -> (ChildGuard, Pid) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_libprocess-echo"))
        .arg("--port=0")
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
    let (mut child, echo) = start_echo();
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
