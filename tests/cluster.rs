//! Whole clusters as real OS processes on loopback, started by `mesos-local`, driven by
//! an unmodified third-party Mesos client (pymesos, installed by `scripts/test-setup.sh`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
#[path = "cluster/acls.rs"]
mod acls;
#[path = "cluster/authentication.rs"]
mod authentication;
#[path = "cluster/ha.rs"]
mod ha;
#[path = "cluster/leadership.rs"]
mod leadership;
#[path = "cluster/member_logs.rs"]
mod member_logs;
#[path = "cluster/volumes.rs"]
mod volumes;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;

/// The web UI in headless chromium.
mod webui;

/// Generous guard against hangs (not a wait: every wait below is on an event).
const GUARD: Duration = Duration::from_secs(120);

/// A running `mesos-local`, stopped (SIGINT, then SIGKILL) when dropped.
struct Local {
    /// Its share of the machine (see [`MACHINE`]); released when the cluster is.
    _share: Share,
    child: Child,
    work_dir: PathBuf,
    lines: Vec<String>,
    /// Lines printed after the summary.
    later: mpsc::Receiver<String>,
}

impl Local {
    /// Waits for a later line satisfying `wanted` (with the guard).
    fn wait_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            let line =
                self.later.recv_timeout(GUARD).expect("mesos-local printed the line in time");
            if wanted(&line) {
                return line;
            }
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = kill(OsPid::from_raw(self.child.id() as i32), Signal::SIGINT);
        if wait_exit(&mut self.child).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            member_logs::print(&self.work_dir);
        }
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// Waits (on a thread, with the guard) for the child to exit.
fn wait_exit(child: &mut Child) -> Option<ExitStatus> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY-free: waitpid through nix.
        let result = nix::sys::wait::waitpid(OsPid::from_raw(pid as i32), None);
        if let Ok(nix::sys::wait::WaitStatus::Exited(_, code)) = result {
            status = code;
        }
        let _ = tx.send(status);
    });
    let code = rx.recv_timeout(GUARD).ok()?;
    // The child was reaped by waitpid above; record its status for the caller.
    Some(std::os::unix::process::ExitStatusExt::from_raw(code << 8))
}

/// Starts `mesos-local --port=0` (every process on a port the OS assigns, read back from
/// the summary) and waits until it prints its summary. Returns it with the masters' ports.
fn start_local(masters: u16, agents: u16) -> (Local, Vec<u16>) {
    start_local_with(masters, agents, &[], &[])
}

/// Cluster tests run in parallel, but the ones that time leadership under load
/// (`tests/cluster/leadership.rs`) run alone: on a 2-core CI machine a dozen other
/// clusters starve every process of CPU, which, unlike the client load those tests
/// make, can cost any leader its term. Every [`Local`] holds this lock shared; those
/// tests hold it alone ([`start_local_alone`]).
static MACHINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// A [`Local`]'s hold on [`MACHINE`].
enum Share {
    Shared(#[allow(dead_code)] std::sync::RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] std::sync::RwLockWriteGuard<'static, ()>),
}

/// [`start_local`] once no other cluster of this test binary runs, and none starts
/// until it is dropped.
fn start_local_alone(masters: u16, agents: u16) -> (Local, Vec<u16>) {
    let alone = MACHINE.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    spawn_local(masters, agents, &[], &[], Share::Alone(alone))
}

/// [`start_local`] with `env` added to `mesos-local`'s environment (its children inherit
/// it) and more `mesos-local` flags in `args` (`--authenticate`).
fn start_local_with(
    masters: u16,
    agents: u16,
    env: &[(String, String)],
    args: &[&str],
) -> (Local, Vec<u16>) {
    let shared = MACHINE.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    spawn_local(masters, agents, env, args, Share::Shared(shared))
}

fn spawn_local(
    masters: u16,
    agents: u16,
    env: &[(String, String)],
    args: &[&str],
    share: Share,
) -> (Local, Vec<u16>) {
    static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work_dir =
        std::env::temp_dir().join(format!("mesos-local-test-{}-{n}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-local"))
        .arg(format!("--num_masters={masters}"))
        .arg(format!("--num_agents={agents}"))
        .arg("--port=0")
        .arg(format!("--work_dir={}", work_dir.display()))
        .arg("--resources=cpus:2;mem:1024")
        .envs(env.iter().cloned())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mesos-local");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, later) = read_until(stdout, "Ctrl-C stops everything.");
    let ports = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("master "))
        .map(|l| master_line(l).0)
        .collect();
    (Local { _share: share, child, work_dir, lines, later }, ports)
}

/// Reads lines until one equals `last` (on a thread, with the guard); later lines keep
/// coming through the returned receiver.
fn read_until(stdout: ChildStdout, last: &'static str) -> (Vec<String>, mpsc::Receiver<String>) {
    read_lines_until(stdout, move |line| line == last)
}

/// Reads lines until one satisfies `last` (on a thread, with the guard); later lines keep
/// coming through the returned receiver.
fn read_lines_until(
    output: impl std::io::Read + Send + 'static,
    last: impl Fn(&str) -> bool + Send + 'static,
) -> (Vec<String>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let (later_tx, later_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(output).lines().map_while(Result::ok);
        for line in reader.by_ref() {
            let done = last(&line);
            lines.push(line);
            if done {
                break;
            }
        }
        let _ = tx.send(lines);
        // Keep reading so the process's later output never meets a closed pipe.
        for line in reader {
            let _ = later_tx.send(line);
        }
    });
    (rx.recv_timeout(GUARD).expect("the process printed the line in time"), later_rx)
}

/// Runs the pymesos scheduler against `master` (waits for it to exit, with the guard).
fn pymesos(master: &str, command: &str, instances: u32) -> (Option<i32>, String) {
    pymesos_with(&[], master, command, instances)
}

/// Runs the pymesos scheduler with extra leading arguments (`--executor SCRIPT`).
fn pymesos_with(
    options: &[&str],
    master: &str,
    command: &str,
    instances: u32,
) -> (Option<i32>, String) {
    let (status, stdout, _stderr) = pymesos_output(options, master, command, instances);
    (status, stdout)
}

/// Runs the pymesos scheduler (waits for it to exit, with the guard); returns its exit
/// code, its stdout (our script's lines) and its stderr (pymesos's own log).
fn pymesos_output(
    options: &[&str],
    master: &str,
    command: &str,
    instances: u32,
) -> (Option<i32>, String, String) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/client-venv/bin/python");
    assert!(python.exists(), "pymesos is installed by scripts/test-setup.sh (run scripts/test.sh)");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/clients/pymesos_scheduler.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(options)
        .arg(master)
        .arg(command)
        .arg(instances.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the pymesos scheduler");
    let read_all = |pipe: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
            }
            let _ = tx.send(all);
        });
        rx
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr")));
    let output = stdout.recv_timeout(GUARD).unwrap_or_default();
    let status = match child.try_wait() {
        Ok(Some(status)) => status.code(),
        _ => {
            let _ = child.kill();
            child.wait().ok().and_then(|s| s.code())
        }
    };
    (status, output, stderr.recv_timeout(GUARD).unwrap_or_default())
}

/// The master `mesos-local` marked as leader in its summary: (port, OS pid, work dir).
fn leader_line(lines: &[String]) -> (u16, i32, PathBuf) {
    master_line(lines.iter().find(|l| l.contains("(leader)")).expect("a leader line"))
}

/// Processes whose environment names a sandbox under `work_dir` (executors and tasks).
fn processes_under(work_dir: &Path) -> Vec<i32> {
    // With the separator: `...-test-<pid>-1` must not match `...-test-<pid>-10`, another
    // test's cluster running in parallel.
    let marker = format!("MESOS_DIRECTORY={}/", work_dir.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v.starts_with(marker.as_bytes())))
                .unwrap_or(false)
        })
        .collect()
}

/// Each process's pid, state (`/proc/<pid>/stat`), command line and sandbox, so a
/// failure names what was left behind.
fn describe(pids: &[i32]) -> String {
    let read = |pid: i32, what: &str| {
        let bytes = std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).replace('\0', " ")
    };
    pids.iter()
        .map(|pid| {
            let sandbox = read(*pid, "environ")
                .split(' ')
                .find(|v| v.starts_with("MESOS_DIRECTORY="))
                .map(str::to_string)
                .unwrap_or_default();
            format!("[{pid}: {} | {} | {sandbox}]", read(*pid, "stat"), read(*pid, "cmdline"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A single-master cluster from `mesos-local`: an unmodified pymesos scheduler (v1 HTTP
/// API) runs three command tasks to TASK_FINISHED; Ctrl-C then stops every process,
/// executors included.
#[test]
fn local_cluster_runs_a_third_party_scheduler_and_stops_clean() {
    let (mut local, ports) = start_local(1, 2);
    assert!(
        local.lines.iter().filter(|l| l.trim_start().starts_with("agent")).count() == 2,
        "{:?}",
        local.lines
    );
    let (status, output) = pymesos(&format!("127.0.0.1:{}", ports[0]), "echo hello", 3);
    assert_eq!(status, Some(0), "pymesos output:\n{output}");
    assert_eq!(output.matches("TASK_FINISHED").count(), 3, "{output}");

    kill(OsPid::from_raw(local.child.id() as i32), Signal::SIGINT).unwrap();
    let exit = wait_exit(&mut local.child).expect("mesos-local exits on Ctrl-C");
    assert!(exit.success(), "{exit:?}");
    let left = processes_under(&local.work_dir);
    assert!(left.is_empty(), "no executor or task outlives mesos-local: {}", describe(&left));
}

/// `mesos-local --authenticate` turns everything on: every master and agent endpoint
/// needs the generated credential, the agents authenticate with it (CRAM-MD5: they
/// registered, or the summary would not be printed) and v0 frameworks must too. An
/// unmodified pymesos scheduler given it (`principal`/`secret`) runs a task; one
/// without it is refused (`401` on SUBSCRIBE) and never gets an offer; the master's
/// state needs it too. The printed `try` line runs the `hello` example as it stands;
/// `hello` without the credential is refused.
#[test]
fn authenticated_cluster_admits_only_a_scheduler_with_credentials() {
    let hello = example("hello");
    let (mut local, ports) = start_local_with(1, 1, &[], &["--authenticate"]);
    let line = local
        .lines
        .iter()
        .find(|l| l.contains("authentication on (HTTP, frameworks, agents, executors)"))
        .unwrap_or_else(|| panic!("the credential is printed: {:?}", local.lines));
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str| words[words.iter().position(|w| *w == key).expect(key) + 1];
    let (principal, secret) = (after("principal").to_string(), after("secret").to_string());
    let master = format!("127.0.0.1:{}", ports[0]);

    let options = ["--principal", principal.as_str(), "--secret", secret.as_str()];
    let (status, output) = pymesos_with(&options, &master, "echo authenticated", 1);
    assert_eq!(status, Some(0), "pymesos output:\n{output}");
    assert_eq!(output.matches("TASK_FINISHED").count(), 1, "{output}");

    // Without credentials pymesos's SUBSCRIBE is refused; it gives up after --wait.
    let (status, output) = pymesos_with(&["--wait", "5"], &master, "echo refused", 1);
    assert_ne!(status, Some(0), "pymesos output:\n{output}");
    assert!(!output.contains("TASK_"), "{output}");

    let config = ureq::Agent::config_builder().http_status_as_error(false).build();
    let http = ureq::Agent::new_with_config(config);
    let url = format!("http://{master}/master/state");
    let refused = http.get(&url).call().expect("an answer");
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers().get("www-authenticate").expect("a challenge");
    assert_eq!(challenge, "Basic realm=\"mesos-master-readonly\"");
    let pair = format!("{principal}:{secret}");
    let authorization = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
    let mut served =
        http.get(&url).header("Authorization", &authorization).call().expect("an answer");
    assert_eq!(served.status(), 200);
    let state: serde_json::Value =
        serde_json::from_str(&served.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(state["flags"]["authenticate_frameworks"], "true", "{}", state["flags"]);
    assert_eq!(state["flags"]["authenticate_agents"], "true");
    // The agent makes its executors authenticate, and the command executor that ran
    // pymesos's task above spoke the v1 HTTP API, so it presented its token.
    let agent_pid = state["slaves"][0]["pid"].as_str().expect("an agent pid");
    let (id, address) = agent_pid.split_once('@').expect("id@address");
    let url = format!("http://{address}/{id}/flags");
    let mut flags = http.get(&url).header("Authorization", &authorization).call().unwrap();
    assert_eq!(flags.status(), 200);
    let flags: serde_json::Value =
        serde_json::from_str(&flags.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(flags["flags"]["authenticate_http_executors"], "true", "{flags}");
    assert_eq!(flags["flags"]["http_command_executor"], "true", "{flags}");
    // mesos-local's agents wait at most 200 ms before re-registering with a new leader.
    assert_eq!(flags["flags"]["registration_backoff_factor"], "200ms", "{flags}");

    // The printed line runs `hello` (a v0 driver) with the credential, as it stands.
    let try_line = local
        .lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix("try "))
        .unwrap_or_else(|| panic!("a try line is printed: {:?}", local.lines));
    let words: Vec<String> = try_line.split_whitespace().map(str::to_string).collect();
    assert_eq!(Path::new(&words[0]), hello.as_path());
    let (code, out) = run_example(&words, &["--tasks=1"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 of 1 tasks finished"), "{out}");
    // Without the credential the master refuses the driver.
    let bare: Vec<String> = words
        .iter()
        .filter(|w| !w.starts_with("--principal") && !w.starts_with("--secret"))
        .cloned()
        .collect();
    let (code, out) = run_example(&bare, &["--tasks=1"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("is not authenticated"), "{out}");

    kill(OsPid::from_raw(local.child.id() as i32), Signal::SIGINT).unwrap();
    let exit = wait_exit(&mut local.child).expect("mesos-local exits on Ctrl-C");
    assert!(exit.success(), "{exit:?}");
}

/// pymesos's `driver.stop()` sends a v1 TEARDOWN on its call connection while its
/// subscription stream is still open: the master answers `202 Accepted` and then closes
/// the stream, so pymesos logs no "Failed to Teardown" (a connection reset on that call
/// would be logged so), and the framework is torn down (completed, not merely
/// disconnected: its failover timeout is 100 s). Run twice, the second time after the
/// call connection has been idle while the task runs.
#[test]
fn pymesos_stop_tears_the_framework_down_cleanly() {
    let (_local, ports) = start_local(1, 1);
    let master = format!("127.0.0.1:{}", ports[0]);
    for command in ["echo teardown", "sleep 3"] {
        let (status, stdout, stderr) = pymesos_output(&[], &master, command, 1);
        assert_eq!(status, Some(0), "pymesos stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(!stderr.contains("Failed to Teardown"), "pymesos stderr:\n{stderr}");
        assert!(!stderr.contains("Connection reset"), "pymesos stderr:\n{stderr}");
    }
    let state = master_state(ports[0]);
    assert_eq!(state["frameworks"], serde_json::json!([]), "no framework left registered");
    let completed = state["completed_frameworks"].as_array().expect("completed_frameworks");
    assert_eq!(completed.len(), 2, "both torn down: {completed:?}");
    assert!(completed.iter().all(|f| f["name"] == "pymesos-hello" && f["active"] == false));
}

/// Runs the maintained Mesos CLI (avmesos-cli from PyPI, unmodified, installed by
/// `scripts/test-setup.sh`) with `args` against the master on `port`, configured as its
/// users do: a TOML file naming the master, found through `MESOS_CLI_CONFIG`.
fn mesos_cli(work_dir: &Path, port: u16, args: &[&str]) -> (Option<i32>, String) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/client-venv/bin/python");
    let config = work_dir.join("mesos-cli.toml");
    std::fs::write(&config, format!("[master]\naddress = \"127.0.0.1:{port}\"\n"))
        .expect("write the CLI config");
    let output = Command::new(python)
        .args(["-m", "avmesos.cli.mesos-cli"])
        .args(args)
        .env("MESOS_CLI_CONFIG", &config)
        .stdin(Stdio::null())
        .output()
        .expect("run the Mesos CLI");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// The Mesos CLI (avmesos-cli 1.0.0) as a new user runs it: `mesos task list` (which asks
/// for `/tasks?order=asc&limit=-1`, a negative limit being Mesos's "no limit") shows the
/// running task of an unmodified pymesos scheduler, `task list --all` also the finished
/// one, `agent list` the agent and `framework list` the framework.
#[test]
fn mesos_cli_lists_tasks_agents_and_frameworks() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/client-venv/bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import avmesos.cli.plugins.task.main"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(installed, "avmesos-cli is installed by scripts/test-setup.sh (run scripts/test.sh)");
    let (local, ports) = start_local(1, 1);
    let master = format!("127.0.0.1:{}", ports[0]);
    let (status, output) = pymesos(&master, "echo finished-before", 1);
    assert_eq!(status, Some(0), "{output}");
    let finished = output.split_whitespace().find(|w| w.starts_with("pymesos-")).expect("task id");
    let scheduler = pymesos_background(&[], &master, "sleep 600");
    let running = scheduler.wait_for("TASK_RUNNING");
    let running = running.split_whitespace().nth(1).expect("task id").to_string();

    let (code, tasks) = mesos_cli(&local.work_dir, ports[0], &["task", "list"]);
    assert_eq!(code, Some(0), "{tasks}");
    assert!(tasks.contains(&running) && tasks.contains("TASK_RUNNING"), "{tasks}");
    assert!(!tasks.contains(finished), "only running tasks without --all: {tasks}");
    let (code, all) = mesos_cli(&local.work_dir, ports[0], &["task", "list", "--all"]);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains(&running) && all.contains(finished) && all.contains("TASK_FINISHED"));

    let state = master_state(ports[0]);
    let (code, agents) = mesos_cli(&local.work_dir, ports[0], &["agent", "list"]);
    assert_eq!(code, Some(0), "{agents}");
    let agent_id = state["slaves"][0]["id"].as_str().expect("agent id");
    assert!(agents.contains(agent_id), "{agents}");
    let (code, frameworks) = mesos_cli(&local.work_dir, ports[0], &["framework", "list"]);
    assert_eq!(code, Some(0), "{frameworks}");
    let framework_id = state["frameworks"][0]["id"].as_str().expect("framework id");
    assert!(frameworks.contains(framework_id) && frameworks.contains("pymesos-hello"));
    drop(scheduler);
}

/// An unmodified pymesos *executor* (v1 executor HTTP API) launched by our agent: the
/// pymesos scheduler gives each task an `ExecutorInfo` running
/// `tests/clients/pymesos_executor.py`, which SUBSCRIBEs to the agent, gets LAUNCH,
/// and sends TASK_RUNNING then TASK_FINISHED with its own message, which reaches the
/// scheduler through the agent's status-update manager and the master. Ctrl-C then
/// stops everything, the executor included.
#[test]
fn local_cluster_runs_a_third_party_executor() {
    let (mut local, ports) = start_local(1, 1);
    let executor =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/clients/pymesos_executor.py");
    let executor = executor.to_str().expect("utf-8 path");
    let (status, output) = pymesos_with(
        &["--executor", executor],
        &format!("127.0.0.1:{}", ports[0]),
        "via-executor",
        1,
    );
    assert_eq!(status, Some(0), "pymesos output:\n{output}");
    assert!(output.contains("TASK_RUNNING running"), "{output}");
    assert!(output.contains("TASK_FINISHED finished by the pymesos executor"), "{output}");

    kill(OsPid::from_raw(local.child.id() as i32), Signal::SIGINT).unwrap();
    let exit = wait_exit(&mut local.child).expect("mesos-local exits on Ctrl-C");
    assert!(exit.success(), "{exit:?}");
    let left = processes_under(&local.work_dir);
    assert!(left.is_empty(), "no executor outlives mesos-local: {}", describe(&left));
}

/// A master of `mesos-local`'s line in its summary: (port, OS pid, work dir).
fn master_line(line: &str) -> (u16, i32, PathBuf) {
    let port = line
        .split(':')
        .nth(1)
        .and_then(|p| p.split_whitespace().next())
        .and_then(|p| p.parse().ok());
    let pid = line
        .split("os pid")
        .nth(1)
        .and_then(|p| p.split_whitespace().next())
        .and_then(|p| p.parse().ok());
    let dir =
        line.split("os pid").nth(1).and_then(|p| p.split_whitespace().nth(1)).map(PathBuf::from);
    (port.expect("port"), pid.expect("os pid"), dir.expect("work dir"))
}

/// `GET /master/raft` of the master on `port`.
fn raft_status(port: u16) -> serde_json::Value {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .max_redirects(0)
        .build();
    let body = ureq::Agent::new_with_config(config)
        .get(&format!("http://127.0.0.1:{port}/master/raft"))
        .call()
        .expect("GET /master/raft")
        .body_mut()
        .read_to_string()
        .expect("body");
    serde_json::from_str(&body).expect("JSON")
}

/// A child process killed (and reaped) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `mesos-execute`, built beside `mesos-local` (another package's binary: built here, a
/// no-op when up to date, so the test never runs a stale one).
fn mesos_execute() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "mesos-framework", "--bin", "mesos-execute"])
        .current_dir(root)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building mesos-execute failed");
    Path::new(env!("CARGO_BIN_EXE_mesos-local")).with_file_name("mesos-execute")
}

/// Builds the example framework `name` (it lands beside `mesos-local`, where
/// `mesos-local` looks for it to print its `try` line).
fn example(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "mesos-examples", "--bin", name])
        .current_dir(root)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building {name} failed");
    Path::new(env!("CARGO_BIN_EXE_mesos-local")).with_file_name(name)
}

/// Runs an example's command line `words` plus `extra` to its end (with the guard):
/// exit code and everything it printed.
fn run_example(words: &[String], extra: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let (stdout, stderr) =
        (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let err = std::thread::spawn(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n")
    });
    let (lines, _) = read_lines_until(stdout, |l| l.contains("tasks finished"));
    let code = wait_exit(&mut child).and_then(|s| s.code());
    (code, format!("{}\n{}", lines.join("\n"), err.join().unwrap_or_default()))
}

/// Runs `mesos-execute` (with the guard): exit code and output.
fn execute(program: &Path, env: &[(String, String)], args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mesos-execute");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, _) =
        read_lines_until(stdout, |l| l.contains("TASK_FINISHED") || l.contains("TASK_FAILED"));
    let code = wait_exit(&mut child).and_then(|s| s.code());
    (code, lines.join("\n"))
}

/// The pymesos scheduler started in the background; killed when dropped. Its output
/// lines arrive on `lines`.
struct Background {
    child: KillOnDrop,
    lines: mpsc::Receiver<String>,
}

impl Background {
    /// Waits (with the guard) for an output line containing `wanted`.
    fn wait_for(&self, wanted: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(GUARD).expect("pymesos printed the line in time");
            if line.contains(wanted) {
                return line;
            }
        }
    }
}

/// Starts the pymesos scheduler with `options` against `master` in the background.
fn pymesos_background(options: &[&str], master: &str, command: &str) -> Background {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/client-venv/bin/python");
    assert!(python.exists(), "pymesos is installed by scripts/test-setup.sh (run scripts/test.sh)");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/clients/pymesos_scheduler.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(options)
        .args([master, command, "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pymesos scheduler");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Background { child: KillOnDrop(child), lines }
}

/// `GET /master/state` of the master on `port`.
fn master_state(port: u16) -> serde_json::Value {
    let config = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build();
    let body = ureq::Agent::new_with_config(config)
        .get(&format!("http://127.0.0.1:{port}/master/state"))
        .call()
        .expect("GET /master/state")
        .body_mut()
        .read_to_string()
        .expect("body");
    serde_json::from_str(&body).expect("JSON")
}
