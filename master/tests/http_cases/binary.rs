//! The `mesos-master` binary: flags, environment, exit codes, serving, stopping.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};

use super::support::{GUARD, get};

const BINARY: &str = env!("CARGO_BIN_EXE_mesos-master");

/// Kills and reaps the child when the test ends, however it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary to completion with `args` and a clean `MESOS_*` environment.
fn run(args: &[&str]) -> Output {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("MESOS_")) {
        command.env_remove(name);
    }
    command.args(args).stdin(Stdio::null()).output().expect("run mesos-master")
}

/// Starts the binary and reads its first line: `mesos-master: master@ip:port (id ...)`.
fn start(args: &[&str], env: &[(&str, &str)]) -> (ChildGuard, SocketAddr, String) {
    let mut command = Command::new(BINARY);
    command.args(args).envs(env.iter().copied()).env("RUST_LOG", "warn");
    let mut child =
        command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start mesos-master");
    let stdout = child.stdout.take().expect("stdout");
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the first line");
    let pid = line
        .strip_prefix("mesos-master: master@")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    let address: SocketAddr = pid.parse().expect("ip:port");
    (guard, address, line)
}

/// `--help` exits 0 and lists every flag of docs/interfaces.md with its default.
#[test]
fn help_lists_every_flag() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--ip",
        "--port",
        "--work_dir",
        "--registry",
        "--masters",
        "--hostname",
        "--allocation_interval",
        "--offer_timeout",
        "--agent_ping_timeout",
        "--max_agent_ping_timeouts",
        "--agent_reregister_timeout",
        "--roles",
        "--weights",
        "--log_dir",
        "--logging_level",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    for default in [
        "[default: 127.0.0.1]",
        "[default: 5050]",
        "[default: 1secs]",
        "[default: 15secs]",
        "[default: 10mins]",
    ] {
        assert!(help.contains(default), "--help lacks {default}:\n{help}");
    }
    assert!(help.contains("MESOS_PORT"), "--help names the environment variables");
}

/// Unknown flags, bad values and impossible registry combinations are clear errors with
/// exit code 1, never a silent default.
#[test]
fn refusals_exit_with_one() {
    for (args, says) in [
        (&["--no_such_flag=1"][..], "no_such_flag"),
        (&["--allocation_interval=5parsecs"][..], "5parsecs"),
        (&["--port=70000"][..], "70000"),
        (&["--registry=raft"][..], "needs --work_dir"),
        (&["--masters=127.0.0.1:5050,127.0.0.1:5051"][..], "needs --registry=raft"),
        (&["--weights=web=heavy"][..], "heavy"),
        (&["--logging_level=LOUD"][..], "LOUD"),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// The binary reads `MESOS_PORT` (here 0: a free port, printed on the first line),
/// serves `/master/health` and `/master/flags` over TCP, and exits 0 on SIGTERM.
#[actix_rt::test]
async fn serves_reads_env_and_stops_on_sigterm() {
    let (mut child, address, line) =
        start(&["--hostname=probe.local"], &[("MESOS_PORT", "0"), ("MESOS_WEIGHTS", "a=3")]);
    assert_ne!(address.port(), 5050, "MESOS_PORT=0 picks a free port");
    assert!(line.contains("(id "), "{line}");
    assert_eq!(get(address, "/master/health").await.status, 200);
    let flags = get(address, "/master/flags").await.json();
    assert_eq!(flags["flags"]["weights"], "a=3");
    assert_eq!(flags["flags"]["hostname"], "probe.local");
    assert_eq!(flags["flags"]["port"], "0");
    let state = get(address, "/master/state").await.json();
    assert_eq!(state["hostname"], "probe.local");

    let killed =
        Command::new("kill").arg("-TERM").arg(child.0.id().to_string()).status().expect("kill");
    assert!(killed.success());
    let status = wait_with_guard(&mut child);
    assert_eq!(status.code(), Some(0), "SIGTERM stops the master cleanly");
}

/// `--log_dir`: the binary writes its glog-named log file there behind the
/// `mesos-master.INFO` symlink and serves it at `/master/log`.
#[actix_rt::test]
async fn log_dir_writes_and_serves_the_log() {
    let dir = std::env::temp_dir().join(format!("mesos-master-log-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log_dir = format!("--log_dir={}", dir.display());
    let (_child, address, _) = start(&["--port=0", &log_dir], &[]);
    let link = dir.join("mesos-master.INFO");
    let target = std::fs::read_link(&link).expect("the symlink to the current log");
    let name = target.to_string_lossy().into_owned();
    assert!(name.starts_with("mesos-master.") && name.contains(".log.INFO."), "{name}");
    let size = get(address, "/files/read?path=/master/log&offset=-1").await;
    assert_eq!(size.status, 200);
    let on_disk = std::fs::metadata(&link).expect("log file").len();
    assert!(size.json()["offset"].as_u64().expect("offset") <= on_disk);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command line wins over the environment.
#[actix_rt::test]
async fn command_line_wins_over_environment() {
    let (_child, address, _) = start(&["--port=0"], &[("MESOS_PORT", "not-a-port")]);
    assert_eq!(get(address, "/health").await.status, 200);
}

/// Waits for the child to exit, failing the test after the guard time.
fn wait_with_guard(child: &mut ChildGuard) -> std::process::ExitStatus {
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.0.id();
    let waiter = std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = tx.send(child.0.wait());
        });
        let waited = rx.recv_timeout(GUARD);
        if waited.is_err() {
            // Unblocks the waiting thread so the scope can end and the test can fail.
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
        waited
    });
    match waiter {
        Ok(Ok(status)) => status,
        other => panic!("mesos-master (pid {pid}) did not exit: {other:?}"),
    }
}
