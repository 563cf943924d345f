//! Real processes on loopback: the `mesos-master` and `mesos-agent` binaries, then
//! `mesos-execute`, `hello` and `batch` (with its `pi-executor` started by the agent)
//! as users run them.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one framework run may take before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(120);

/// How long a polled condition (a leader, registered agents, running tasks) may take.
const POLL_DEADLINE: Duration = Duration::from_secs(30);

/// Kills every process it holds when dropped (also when the test fails).
#[derive(Default)]
struct Processes(Vec<Child>);

impl Processes {
    /// Holds `child` (to be killed at the end); returns its OS pid.
    fn hold(&mut self, child: Child) -> u32 {
        let pid = child.id();
        self.0.push(child);
        pid
    }

    /// kill -9 of the held process `pid`, and waits for it to be gone.
    fn kill(&mut self, pid: u32) {
        let index = self.0.iter().position(|c| c.id() == pid).expect("a process this test started");
        let mut child = self.0.remove(index);
        child.kill().expect("kill -9");
        child.wait().expect("reap the killed process");
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hello"))
        .parent()
        .expect("binaries live in a directory")
        .to_path_buf()
}

/// The binaries of the other crates are not built by `cargo test -p mesos-examples`:
/// build them (a no-op when up to date) in the same target directory, so the test never
/// runs stale ones.
fn ensure_binaries() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(build_binaries);
}

fn build_binaries() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "mesos-master",
            "-p",
            "mesos-agent",
            "-p",
            "mesos-framework",
            "--bins",
        ])
        .current_dir(root)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the cluster binaries failed");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `mesos-master --port=0` and returns its `ip:port` from its first line.
fn start_master(dir: &Path, processes: &mut Processes) -> String {
    let mut child = Command::new(dir.join("mesos-master"))
        .args(["--ip=127.0.0.1", "--port=0", "--allocation_interval=100ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mesos-master");
    let stdout = child.stdout.take().expect("piped stdout");
    processes.0.push(child);
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines.next().expect("mesos-master printed its address").expect("read stdout");
        if let Some(rest) = line.strip_prefix("mesos-master: master@") {
            break rest.split_whitespace().next().expect("ip:port").to_string();
        }
    };
    // Keep draining so the master never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    address
}

fn start_agent(dir: &Path, master: &str, work_dir: &Path, processes: &mut Processes) -> u32 {
    start_agent_at(dir, master, work_dir, free_port(), processes)
}

/// Starts `mesos-agent` on `port` (a restarted agent keeps its port: it is part of its
/// `SlaveInfo`); returns its OS pid.
fn start_agent_at(
    dir: &Path,
    master: &str,
    work_dir: &Path,
    port: u16,
    processes: &mut Processes,
) -> u32 {
    let child = Command::new(dir.join("mesos-agent"))
        .arg(format!("--master={master}"))
        .arg(format!("--port={port}"))
        .arg(format!("--work_dir={}", work_dir.display()))
        .arg("--resources=cpus:2;mem:1024;disk:1024")
        .arg("--registration_backoff_factor=10ms")
        .arg(format!("--launcher_dir={}", dir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mesos-agent");
    processes.hold(child)
}

/// Runs a framework binary to its end (killed after DEADLINE); returns its exit code
/// and stdout.
fn run(program: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        status
    });
    if rx.recv_timeout(DEADLINE).is_err() {
        // Past the deadline: kill it (by the pid we started) so the test fails, not hangs.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let status = waiter.join().expect("waiter thread").expect("wait for the framework");
    (status.code(), reader.join().expect("reader thread"))
}

/// One cluster of real processes; `mesos-execute --command='echo hi'` exits 0 after
/// TASK_FINISHED, `hello` runs its tasks to completion and exits 0, and `batch` gets
/// its pi from `pi-executor`s the agent started.
#[test]
fn frameworks_run_on_a_real_cluster() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let master = start_master(&dir, &mut processes);
    start_agent(&dir, &master, &temp.path().join("agent"), &mut processes);
    let master_flag = format!("--master={master}");

    let (code, out) =
        run(&dir.join("mesos-execute"), &[&master_flag, "--name=hi", "--command=echo hi"]);
    assert_eq!(code, Some(0), "mesos-execute output:\n{out}");
    assert!(out.contains("Received status update TASK_FINISHED for task 'hi'"), "{out}");

    let (code, out) = run(&dir.join("hello"), &[&master_flag, "--tasks=2"]);
    assert_eq!(code, Some(0), "hello output:\n{out}");
    assert!(out.contains("2 of 2 tasks finished"), "{out}");

    let (code, out) = run(&dir.join("batch"), &[&master_flag, "--tasks=2", "--samples=200000"]);
    assert_eq!(code, Some(0), "batch output:\n{out}");
    assert!(out.contains("pi is about 3.1"), "{out}");

    let (code, out) =
        run(&dir.join("mesos-execute"), &[&master_flag, "--name=bad", "--command=exit 1"]);
    assert_eq!(code, Some(1), "a failing task fails mesos-execute:\n{out}");
}

/// An HA group of three real masters (raft): `mesos-execute` and the agent are given the
/// whole list, find the leader through the followers' answers, and the task finishes;
/// `hello` does the same.
#[test]
fn frameworks_find_the_leader_of_a_real_ha_group() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let group = MasterGroup::start(&dir, temp.path(), &mut processes).list();
    start_agent(&dir, &group, &temp.path().join("agent"), &mut processes);
    let master_flag = format!("--master={group}");

    let (code, out) =
        run(&dir.join("mesos-execute"), &[&master_flag, "--name=ha", "--command=echo ha"]);
    assert_eq!(code, Some(0), "mesos-execute output:\n{out}");
    assert!(out.contains("Received status update TASK_FINISHED for task 'ha'"), "{out}");

    let (code, out) = run(&dir.join("hello"), &[&master_flag, "--tasks=2"]);
    assert_eq!(code, Some(0), "hello output:\n{out}");
}

/// Starts `keeper` keeping `instances` copies of `sleep 1000` and returns it with a
/// channel of its stdout lines.
fn start_keeper(
    dir: &Path,
    master: &str,
    state_file: &Path,
    instances: usize,
) -> (Child, mpsc::Receiver<String>) {
    let args = [
        format!("--master={master}"),
        format!("--instances={instances}"),
        "--command=sleep 1000".to_string(),
        format!("--state_file={}", state_file.display()),
    ];
    spawn_lines(&dir.join("keeper"), &args)
}

/// Starts a framework binary that keeps running and returns it with a channel of its
/// stdout lines.
fn spawn_lines(program: &Path, args: &[String]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading after the receiver is gone, so the process never writes into a
        // closed pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Waits for a line containing `wanted` (with the deadline as a guard); returns the
/// lines seen before it too.
fn wait_for(lines: &mpsc::Receiver<String>, wanted: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("no line with '{wanted}'; saw {seen:?}"));
        let done = line.contains(wanted);
        seen.push(line);
        if done {
            return seen;
        }
    }
}

/// Kills, when dropped, every process whose sandbox is under `root` (executors and their
/// tasks run in their own sessions and, for checkpointing frameworks, outlive their agent
/// for the recovery timeout; a test must not leave them behind).
struct SandboxReaper(PathBuf);

impl Drop for SandboxReaper {
    fn drop(&mut self) {
        let marker = format!("MESOS_DIRECTORY={}", self.0.display());
        let Ok(entries) = std::fs::read_dir("/proc") else { return };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
            if environ.split(|b| *b == 0).any(|v| v.starts_with(marker.as_bytes())) {
                let _ = Command::new("kill").args(["-9", "--", &format!("-{pid}")]).status();
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// Real processes: `ping`'s two executors (started by the real agent) exchange messages
/// through the scheduler; `keeper` keeps 2 tasks, is killed with kill -9, and a new
/// `keeper` with the same state file takes the framework over (same FrameworkID),
/// reconciles both tasks as alive and launches nothing.
#[test]
fn ping_and_keeper_on_a_real_cluster() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let master = start_master(&dir, &mut processes);
    start_agent(&dir, &master, &temp.path().join("agent"), &mut processes);
    let master_flag = format!("--master={master}");

    let (code, out) = run(&dir.join("ping"), &[&master_flag, "--rounds=6"]);
    assert_eq!(code, Some(0), "ping output:\n{out}");
    assert!(out.contains("hit ball 6"), "{out}");

    let state_file = temp.path().join("keeper.id");
    let (mut first, lines) = start_keeper(&dir, &master, &state_file, 2);
    let registered = wait_for(&lines, "keeper registered as");
    let framework_id = registered.last().unwrap().rsplit(' ').next().unwrap().to_string();
    wait_for(&lines, "keeper launching");
    wait_for(&lines, "running");
    wait_for(&lines, "running");
    first.kill().expect("kill -9 the keeper");
    let _ = first.wait();

    let (mut second, lines) = start_keeper(&dir, &master, &state_file, 2);
    let takeover = wait_for(&lines, "keeper reconciled");
    let _ = second.kill();
    let _ = second.wait();
    assert!(
        takeover.iter().any(|l| l == &format!("taking over framework {framework_id}")),
        "{takeover:?}"
    );
    assert!(takeover.last().unwrap().contains("2 task(s) alive"), "{takeover:?}");
    assert!(
        !takeover.iter().any(|l| l.contains("launching") || l.contains("replacing")),
        "{takeover:?}"
    );
    let same_id = format!("keeper registered as {framework_id}");
    assert!(
        takeover.iter().any(|l| *l == same_id || l.contains("keeper re-registered")),
        "the master kept the FrameworkID: {takeover:?}"
    );
}

/// Polls `check` every 50 ms until it gives a value; fails the test after POLL_DEADLINE
/// with the last reason `check` gave for not being there yet.
fn poll<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + POLL_DEADLINE;
    loop {
        match check() {
            Ok(value) => return value,
            Err(reason) if Instant::now() > deadline => {
                panic!("timed out waiting for {what}: {reason}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// `GET http://<address><path>` without following redirects: the status and the JSON
/// body; Err when the master cannot be reached or does not answer JSON.
fn get_json(address: &str, path: &str) -> Result<(u16, Value), String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build();
    let url = format!("http://{address}{path}");
    let mut response =
        ureq::Agent::new_with_config(config).get(&url).call().map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().map_err(|e| format!("{url}: {e}"))?;
    let json = serde_json::from_str(&body)
        .map_err(|e| format!("{url} answered {status} {body:?}: {e}"))?;
    Ok((status, json))
}

/// An HA group of three real masters (raft) on loopback, each with its own work dir.
struct MasterGroup {
    dir: PathBuf,
    ports: Vec<u16>,
    work_dirs: Vec<PathBuf>,
    /// The OS pid of each running member.
    running: Vec<Option<u32>>,
}

impl MasterGroup {
    /// A group on three free ports with work dirs `<root>/master<n>`; nothing started.
    fn new(dir: &Path, root: &Path) -> MasterGroup {
        let mut ports = Vec::new();
        while ports.len() < 3 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let work_dirs = (0..3).map(|n| root.join(format!("master{n}"))).collect();
        MasterGroup { dir: dir.to_path_buf(), ports, work_dirs, running: vec![None; 3] }
    }

    /// A new group with every member started.
    fn start(dir: &Path, root: &Path, processes: &mut Processes) -> MasterGroup {
        let mut group = MasterGroup::new(dir, root);
        group.start_all(processes);
        group
    }

    fn start_all(&mut self, processes: &mut Processes) {
        (0..3).for_each(|n| self.start_member(n, processes));
    }

    fn address(&self, n: usize) -> String {
        format!("127.0.0.1:{}", self.ports[n])
    }

    /// `ip:port,...` of every member (the `--masters` and `--master` flags).
    fn list(&self) -> String {
        (0..3).map(|n| self.address(n)).collect::<Vec<_>>().join(",")
    }

    /// Starts member `n` (again) with its work dir and flags.
    fn start_member(&mut self, n: usize, processes: &mut Processes) {
        assert!(self.running[n].is_none(), "master {n} runs already");
        let child = Command::new(self.dir.join("mesos-master"))
            .arg("--ip=127.0.0.1")
            .arg(format!("--port={}", self.ports[n]))
            .arg(format!("--masters={}", self.list()))
            .arg(format!("--work_dir={}", self.work_dirs[n].display()))
            .arg("--allocation_interval=100ms")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mesos-master");
        self.running[n] = Some(processes.hold(child));
    }

    /// kill -9 of member `n`.
    fn kill_member(&mut self, n: usize, processes: &mut Processes) {
        processes.kill(self.running[n].take().expect("a running master"));
    }

    fn kill_all(&mut self, processes: &mut Processes) {
        for n in 0..3 {
            if self.running[n].is_some() {
                self.kill_member(n, processes);
            }
        }
    }

    /// The running member that serves `/master/state` as the leader, with that state.
    fn leader(&self) -> Result<(usize, Value), String> {
        let mut answers = Vec::new();
        for n in (0..3).filter(|n| self.running[*n].is_some()) {
            match get_json(&self.address(n), "/master/state") {
                Ok((200, state)) if state["leader"] == format!("master@{}", self.address(n)) => {
                    return Ok((n, state));
                }
                Ok((status, _)) => answers.push(format!("{}: {status}", self.address(n))),
                Err(error) => answers.push(error),
            }
        }
        Err(format!("no member leads: {answers:?}"))
    }

    /// Waits until member `n` follows the current leader and has applied everything the
    /// leader had committed when asked (so the group can lose another member).
    fn wait_caught_up(&self, n: usize) {
        poll(&format!("master {n} to catch up"), || {
            let (leader, _) = self.leader()?;
            let (_, leading) = get_json(&self.address(leader), "/master/raft")?;
            let (_, member) = get_json(&self.address(n), "/master/raft")?;
            let caught_up = member["leader"] == leading["id"]
                && member["applied"].as_u64() >= leading["commit"].as_u64();
            if caught_up { Ok(()) } else { Err(format!("leader {leading}, member {member}")) }
        })
    }
}

/// Runs `mesos-registry` with `args` and `input` on its stdin.
fn mesos_registry(dir: &Path, args: &[String], input: &[u8]) -> Output {
    let mut child = Command::new(dir.join("mesos-registry"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mesos-registry");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input)
        .expect("write mesos-registry's stdin");
    child.wait_with_output().expect("wait for mesos-registry")
}

/// `mesos-registry dump` of a stopped member's work dir, as JSON.
fn dump(dir: &Path, work_dir: &Path) -> Value {
    let out =
        mesos_registry(dir, &["dump".into(), format!("--work_dir={}", work_dir.display())], b"");
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("dump prints JSON")
}

/// `mesos-registry restore` of `input` into `work_dir`, for the group `masters`.
fn restore(dir: &Path, work_dir: &Path, masters: &str, input: &[u8]) -> Output {
    let args = [
        "restore".to_string(),
        format!("--work_dir={}", work_dir.display()),
        format!("--masters={masters}"),
    ];
    mesos_registry(dir, &args, input)
}

/// The agent IDs and the framework IDs a registry dump holds.
fn registry_ids(dump: &Value) -> (Vec<String>, Vec<String>) {
    let strings = |list: &Value, pointer: &str| -> Vec<String> {
        let mut ids: Vec<String> = list
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.pointer(pointer)?.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    (
        strings(&dump["registry"]["slaves"]["slaves"], "/info/id/value"),
        strings(&dump["frameworks"], "/info/id/value"),
    )
}

/// The framework `id` in a `/master/state`.
fn framework<'a>(state: &'a Value, id: &str) -> Option<&'a Value> {
    state["frameworks"].as_array()?.iter().find(|f| f["id"] == id)
}

/// The active agents of a `/master/state`: ID -> pid.
fn active_agents(state: &Value) -> BTreeMap<String, String> {
    let agents = state["slaves"].as_array().into_iter().flatten().filter(|a| a["active"] == true);
    agents
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_string(),
                a["pid"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A task of `framework` that is TASK_RUNNING: its agent ID.
fn running_on(framework: &Value, task_id: &str) -> Result<String, String> {
    let mut tasks = framework["tasks"].as_array().into_iter().flatten();
    let task = tasks.find(|t| t["id"] == task_id).ok_or_else(|| format!("no task {task_id}"))?;
    if task["state"] != "TASK_RUNNING" {
        return Err(format!("task {task_id} is {}", task["state"]));
    }
    Ok(task["slave_id"].as_str().unwrap_or_default().to_string())
}

/// `mesos-registry restore` as an operator uses it. A group of three real masters with an
/// agent and a `keeper` framework (one checkpointed `sleep` task) is stopped and one
/// member's registry is dumped. Malformed input is refused with a clear error and leaves
/// both a populated and an empty work dir untouched. The dump is then restored into the
/// empty work dirs of a NEW group (other ports, other dirs): each restored member dumps
/// exactly the old registry; once started, every member runs from the restored snapshot
/// and the new leader serves the old framework (recovered) before anyone reconnects; the
/// old agent restarted against the new group re-registers with its agent ID and task; the
/// keeper takes its framework back with its task still running and launches nothing; and
/// after the new group ran, a member's dump still holds the old agent and framework.
#[test]
fn registry_restore_moves_a_cluster_to_a_new_master_group() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let mut old = MasterGroup::start(&dir, &temp.path().join("old"), &mut processes);
    let (agent_dir, agent_port) = (temp.path().join("agent"), free_port());
    let agent = start_agent_at(&dir, &old.list(), &agent_dir, agent_port, &mut processes);
    let state_file = temp.path().join("keeper.id");
    let (keeper, lines) = start_keeper(&dir, &old.list(), &state_file, 1);
    let keeper = processes.hold(keeper);
    let registered = wait_for(&lines, "keeper registered as");
    let framework_id = registered.last().unwrap().rsplit(' ').next().unwrap().to_string();
    wait_for(&lines, "running");
    let (agent_id, task_id) = poll("the keeper's task on the old group's leader", || {
        let (_, state) = old.leader()?;
        let agents = active_agents(&state);
        let keeper = framework(&state, &framework_id).ok_or("no keeper framework")?;
        let task = keeper["tasks"][0]["id"].as_str().ok_or("no keeper task")?.to_string();
        let on = running_on(keeper, &task)?;
        if agents.len() == 1 && agents.contains_key(&on) {
            Ok((on, task))
        } else {
            Err(format!("agents {agents:?}"))
        }
    });

    // The whole old cluster stops (the task keeps running: it is checkpointed).
    processes.kill(keeper);
    processes.kill(agent);
    old.kill_all(&mut processes);
    let backup = dump(&dir, &old.work_dirs[0]);
    assert_eq!(
        registry_ids(&backup),
        (vec![agent_id.clone()], vec![framework_id.clone()]),
        "{backup:#}"
    );
    let backup_text = serde_json::to_vec_pretty(&backup).unwrap();

    // Malformed input: a clear error, and no work dir changes.
    let mut new = MasterGroup::new(&dir, &temp.path().join("new"));
    std::fs::create_dir_all(&new.work_dirs[0]).unwrap();
    for (target, masters) in [(&old.work_dirs[0], old.list()), (&new.work_dirs[0], new.list())] {
        let out = restore(&dir, target, &masters, b"{\"registry\": {\"slaves\": ");
        let error = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "malformed JSON restored into {}: {error}",
            target.display()
        );
        assert!(error.contains("parse the registry JSON"), "{error}");
    }
    assert_eq!(
        dump(&dir, &old.work_dirs[0]),
        backup,
        "a refused restore left the registry as it was"
    );
    assert_eq!(
        std::fs::read_dir(&new.work_dirs[0]).unwrap().count(),
        0,
        "a refused restore wrote nothing"
    );

    // The backup restored into the new group's empty work dirs.
    for work_dir in &new.work_dirs {
        let out = restore(&dir, work_dir, &new.list(), &backup_text);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "restore into {}: {said}", work_dir.display());
        assert!(said.contains("restored 1 agents, 1 frameworks"), "{said}");
        let mut restored = dump(&dir, work_dir);
        let mut original = backup.clone();
        restored.as_object_mut().unwrap().remove("raft");
        original.as_object_mut().unwrap().remove("raft");
        assert_eq!(restored, original, "the restored registry is the backup");
    }
    new.start_all(&mut processes);
    // Before any agent or framework talks to it, the new leader has the old framework
    // from the restored registry, and every member started from the restored snapshot.
    poll("the new leader to serve the restored framework", || {
        let (_, state) = new.leader()?;
        let restored = framework(&state, &framework_id)
            .ok_or_else(|| format!("no framework in {}", state["frameworks"]))?;
        if restored["recovered"] == true { Ok(()) } else { Err(format!("{restored}")) }
    });
    for n in 0..3 {
        new.wait_caught_up(n);
        let (_, raft) = get_json(&new.address(n), "/master/raft").expect("/master/raft");
        assert_eq!(raft["snapshot_index"], 1, "member {n} runs from the restored snapshot: {raft}");
    }

    // The old agent, pointed at the new group, re-registers as itself with its task.
    start_agent_at(&dir, &new.list(), &agent_dir, agent_port, &mut processes);
    poll("the old agent on the new leader", || {
        let (_, state) = new.leader()?;
        let agents = active_agents(&state);
        if agents.keys().eq([&agent_id]) { Ok(()) } else { Err(format!("agents {agents:?}")) }
    });
    // The keeper takes its framework back from the new group: its task is alive.
    let (keeper, lines) = start_keeper(&dir, &new.list(), &state_file, 1);
    processes.hold(keeper);
    let takeover = wait_for(&lines, "keeper reconciled");
    assert!(
        takeover.iter().any(|l| l == &format!("taking over framework {framework_id}")),
        "{takeover:?}"
    );
    assert!(takeover.last().unwrap().contains("1 task(s) alive"), "{takeover:?}");
    assert!(
        !takeover.iter().any(|l| l.contains("launching") || l.contains("replacing")),
        "{takeover:?}"
    );
    poll("the keeper's old task on the new leader", || {
        let (_, state) = new.leader()?;
        let keeper = framework(&state, &framework_id).ok_or("no keeper framework")?;
        if keeper["recovered"] != false || keeper["active"] != true {
            return Err(format!("keeper not back: {keeper}"));
        }
        let on = running_on(keeper, &task_id)?;
        if on == agent_id { Ok(()) } else { Err(format!("task {task_id} moved to {on}")) }
    });

    // What the new group keeps in its own registry.
    new.kill_all(&mut processes);
    assert_eq!(registry_ids(&dump(&dir, &new.work_dirs[1])), (vec![agent_id], vec![framework_id]));
}

/// Every ID a test saw, with what it named: seeing an ID again is fine only for the same
/// thing (an agent, a framework, a master run, an offer, a task on its agent).
#[derive(Default)]
struct IdLedger(HashMap<String, String>);

impl IdLedger {
    fn record(&mut self, id: &str, what: &str) {
        assert!(!id.is_empty(), "an empty ID for {what}");
        if let Some(earlier) = self.0.insert(id.to_string(), what.to_string()) {
            assert_eq!(earlier, what, "ID {id} named two things");
        }
    }
}

/// A `mesos-execute` of one long-running task, left running.
struct NewTask {
    framework_id: String,
    task_id: String,
    agent_id: String,
}

/// Starts `mesos-execute` with a `sleep` task named `name` and waits until it runs;
/// records its framework, offer and task in `ids`.
fn launch_new_task(
    dir: &Path,
    master: &str,
    name: &str,
    processes: &mut Processes,
    ids: &mut IdLedger,
) -> NewTask {
    let args = [
        format!("--master={master}"),
        format!("--name={name}"),
        "--command=sleep 1000".into(),
        "--checkpoint".into(),
    ];
    let (child, lines) = spawn_lines(&dir.join("mesos-execute"), &args);
    processes.hold(child);
    let seen = wait_for(&lines, &format!("Received status update TASK_RUNNING for task '{name}'"));
    let after = |prefix: &str| -> Vec<String> {
        let line = seen
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no '{prefix}' in {seen:?}"));
        line.split(['\'', ' ']).filter(|w| !w.is_empty()).map(String::from).collect()
    };
    let framework_id = after("Subscribed with ID ")[0].clone();
    // "<agent> with offer <offer>"
    let submitted = after(&format!("Submitted task '{name}' to agent "));
    let (agent_id, offer_id) = (submitted[0].clone(), submitted[3].clone());
    ids.record(&framework_id, &format!("framework {name}"));
    ids.record(&offer_id, &format!("offer taken by {name}"));
    ids.record(&format!("{framework_id}/{name}"), &format!("task on {agent_id}"));
    NewTask { framework_id, task_id: name.to_string(), agent_id }
}

/// The scenario with real processes: three `mesos-master`, two `mesos-agent`, a
/// `keeper` framework keeping two `sleep` tasks. The leading master is killed with kill -9
/// three times in a row; each time, once a new leader acts, the killed master is restarted
/// with its work dir and flags and catches up, so the group stays at three. On the first
/// leader and after every failover: both agents are registered with the leader under the
/// same IDs, the keeper under its FrameworkID, every task (the keeper's and those of the
/// earlier rounds) is still TASK_RUNNING on the same agent with nothing completed, and a
/// NEW task (its own `mesos-execute` framework) gets running. Across the four leaders no
/// ID ever names two things: master runs, agents, frameworks, offers, tasks, executors.
/// The keeper never launched or replaced anything after its first launch.
#[test]
fn real_ha_group_survives_repeated_kill_9_of_the_leader() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let mut group = MasterGroup::start(&dir, temp.path(), &mut processes);
    for n in 0..2 {
        start_agent(&dir, &group.list(), &temp.path().join(format!("agent{n}")), &mut processes);
    }
    let (keeper, keeper_lines) =
        start_keeper(&dir, &group.list(), &temp.path().join("keeper.id"), 2);
    processes.hold(keeper);
    let registered = wait_for(&keeper_lines, "keeper registered as");
    let keeper_id = registered.last().unwrap().rsplit(' ').next().unwrap().to_string();

    let mut ids = IdLedger::default();
    ids.record(&keeper_id, "framework keeper");
    // (framework, task) -> agent: every task that must keep running.
    let mut tasks: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut agents: BTreeMap<String, String> = BTreeMap::new();
    let mut leader = None;
    for round in 0..=3 {
        if round > 0 {
            let old = leader.expect("a leader");
            group.kill_member(old, &mut processes);
            let (new, _) = poll("a new leader", || group.leader());
            assert_ne!(new, old);
            group.start_member(old, &mut processes);
            group.wait_caught_up(old);
        }
        let state = poll(&format!("the cluster on leader {round}"), || {
            let (n, state) = group.leader()?;
            leader = Some(n);
            let active = active_agents(&state);
            if active.len() != 2 || (!agents.is_empty() && active != agents) {
                return Err(format!("agents {active:?}, expected {agents:?}"));
            }
            let keeper = framework(&state, &keeper_id).ok_or("no keeper")?;
            if keeper["active"] != true || keeper["recovered"] != false {
                return Err(format!("keeper not re-registered: {keeper}"));
            }
            if round == 0 && tasks.is_empty() {
                for task in keeper["tasks"].as_array().into_iter().flatten() {
                    let id = task["id"].as_str().unwrap_or_default().to_string();
                    tasks.insert((keeper_id.clone(), id.clone()), running_on(keeper, &id)?);
                }
                if tasks.len() != 2 {
                    tasks.clear();
                    return Err(format!("keeper tasks {}", keeper["tasks"]));
                }
            }
            for ((framework_id, task_id), agent) in &tasks {
                let framework = framework(&state, framework_id)
                    .ok_or_else(|| format!("no framework {framework_id}"))?;
                let on = running_on(framework, task_id)?;
                assert_eq!(&on, agent, "task {task_id} of {framework_id} moved");
                if framework["completed_tasks"].as_array().is_none_or(|c| !c.is_empty()) {
                    return Err(format!("completed tasks: {}", framework["completed_tasks"]));
                }
            }
            agents = active;
            Ok(state)
        });
        ids.record(state["id"].as_str().unwrap_or_default(), &format!("leader of round {round}"));
        for (id, pid) in &agents {
            ids.record(id, &format!("agent {pid}"));
        }
        for framework in state["frameworks"].as_array().into_iter().flatten() {
            let framework_id = framework["id"].as_str().unwrap_or_default();
            for task in framework["tasks"].as_array().into_iter().flatten() {
                let task_id = task["id"].as_str().unwrap_or_default();
                ids.record(
                    &format!("{framework_id}/{task_id}"),
                    &format!("task on {}", task["slave_id"].as_str().unwrap_or_default()),
                );
                if let Some(executor) = task["executor_id"].as_str().filter(|e| !e.is_empty()) {
                    ids.record(
                        &format!("{framework_id}/executor {executor}"),
                        &format!("executor of {task_id}"),
                    );
                }
            }
            for offer in framework["offers"].as_array().into_iter().flatten() {
                ids.record(
                    offer["id"].as_str().unwrap_or_default(),
                    &format!("offer to {framework_id}"),
                );
            }
        }
        let new =
            launch_new_task(&dir, &group.list(), &format!("new-{round}"), &mut processes, &mut ids);
        assert!(agents.contains_key(&new.agent_id), "{} runs on a registered agent", new.task_id);
        tasks.insert((new.framework_id, new.task_id), new.agent_id);
    }
    let keeper_said: Vec<String> = keeper_lines.try_iter().chain(registered).collect();
    assert!(
        !keeper_said.iter().any(|l| l.contains("replacing") || l.contains("ended")),
        "{keeper_said:?}"
    );
    assert!(
        keeper_said.iter().filter(|l| l.contains("keeper launching")).count() == 1,
        "{keeper_said:?}"
    );
}
