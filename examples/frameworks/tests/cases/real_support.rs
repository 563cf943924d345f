//! Real processes for the tests: starting the binaries, reading what they print, and
//! following a master's v1 operator event stream. Every wait here is on an event (a
//! line a process prints, an operator event, a process exiting), with a deadline only as
//! a guard against hangs; nothing sleeps and polls. Ports are never picked by binding,
//! releasing and binding again: a process either binds port 0 and prints the port it
//! got, or is handed a listening socket that the test binds and holds (`--listen_fd`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one framework run, or one awaited event, may take before the test gives up.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Kills every process it holds when dropped (also when the test fails), and holds the
/// listening sockets handed to them (their ports stay the test's until it ends).
#[derive(Default)]
pub struct Processes {
    children: Vec<Child>,
    listeners: Vec<TcpListener>,
}

impl Processes {
    /// Holds `child` (to be killed at the end); returns its OS pid.
    pub fn hold(&mut self, child: Child) -> u32 {
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// kill -9 of the held process `pid`, and waits for it to be gone.
    pub fn kill(&mut self, pid: u32) {
        let index =
            self.children.iter().position(|c| c.id() == pid).expect("a process this test started");
        let mut child = self.children.remove(index);
        child.kill().expect("kill -9");
        child.wait().expect("reap the killed process");
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A listening socket on a port the OS assigns, to hand to a process (`--listen_fd`).
pub fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("listen on a port the OS assigns")
}

/// The directory of the binaries under test.
pub fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hello"))
        .parent()
        .expect("binaries live in a directory")
        .to_path_buf()
}

/// The binaries of the other crates are not built by `cargo test -p mesos-examples`:
/// build them (a no-op when up to date) in the same target directory, so the test never
/// runs stale ones.
pub fn ensure_binaries() {
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

/// Starts `mesos-master --port=0` and returns its `ip:port` from its first line.
pub fn start_master(dir: &Path, processes: &mut Processes) -> String {
    let mut child = Command::new(dir.join("mesos-master"))
        .args(["--ip=127.0.0.1", "--port=0", "--allocation_interval=100ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mesos-master");
    let stdout = child.stdout.take().expect("piped stdout");
    processes.hold(child);
    let lines = forward_lines(stdout, |line| line);
    let first = wait_for(&lines, "mesos-master: master@").pop().expect("the line");
    let rest = first.split_once("master@").map(|(_, rest)| rest).unwrap_or_default();
    rest.split_whitespace().next().expect("ip:port").to_string()
}

/// Starts `mesos-agent` on a listening socket the test holds from now on; returns its
/// OS pid.
pub fn start_agent(dir: &Path, master: &str, work_dir: &Path, processes: &mut Processes) -> u32 {
    let listener = listener();
    let pid = start_agent_on(dir, master, work_dir, &listener, processes);
    processes.listeners.push(listener);
    pid
}

/// Starts `mesos-agent` on `listener` (a restarted agent is handed the same one: its port
/// is part of its `SlaveInfo`); returns its OS pid.
pub fn start_agent_on(
    dir: &Path,
    master: &str,
    work_dir: &Path,
    listener: &TcpListener,
    processes: &mut Processes,
) -> u32 {
    let mut command = Command::new(dir.join("mesos-agent"));
    let fd = libprocess::inherit::pass_listener(&mut command, listener);
    let child = command
        .arg(format!("--master={master}"))
        .arg(format!("--listen_fd={fd}"))
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
pub fn run(program: &Path, args: &[&str]) -> (Option<i32>, String) {
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

/// Starts a framework binary that keeps running and returns it with a channel of its
/// stdout lines.
pub fn spawn_lines(program: &Path, args: &[String]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    (child, forward_lines(stdout, |line| line))
}

/// Reads `output` line by line on a thread and sends each line, as `tag` makes it, to
/// the returned channel. The thread reads on after the receiver is gone, so the process
/// never writes into a closed pipe.
fn forward_lines<T: Send + 'static>(
    output: impl Read + Send + 'static,
    tag: impl Fn(String) -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    forward_lines_to(output, tx, tag);
    rx
}

fn forward_lines_to<T: Send + 'static>(
    output: impl Read + Send + 'static,
    tx: mpsc::Sender<T>,
    tag: impl Fn(String) -> T + Send + 'static,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            let _ = tx.send(tag(line));
        }
    });
}

/// Waits for a line containing `wanted` (with the deadline as a guard); returns the
/// lines seen before it too.
pub fn wait_for(lines: &mpsc::Receiver<String>, wanted: &str) -> Vec<String> {
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
pub struct SandboxReaper(pub PathBuf);

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

/// `GET http://<address><path>` without following redirects: the status and the JSON
/// body; Err when the master cannot be reached or does not answer JSON. A one-off query
/// (what a member says about itself), never a way to wait.
pub fn get_json(address: &str, path: &str) -> Result<(u16, Value), String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
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

/// What a master's operator events say about the cluster, folded event by event.
#[derive(Clone, Debug, Default)]
pub struct Mirror {
    /// Agents: ID -> (pid, active).
    pub agents: BTreeMap<String, (String, bool)>,
    /// Frameworks: ID -> (active, recovered).
    pub frameworks: BTreeMap<String, (bool, bool)>,
    /// Tasks that are not terminal: (framework ID, task ID) -> (state, agent ID).
    pub tasks: BTreeMap<(String, String), (String, String)>,
    /// Tasks seen reaching a terminal state, or listed as completed.
    pub completed: BTreeSet<(String, String)>,
    /// Executors of the tasks: (framework ID, executor ID) -> task ID.
    pub executors: BTreeMap<(String, String), String>,
    /// Outstanding offers when the stream started: offer ID -> framework ID.
    pub offers: BTreeMap<String, String>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "TASK_FINISHED"
            | "TASK_FAILED"
            | "TASK_KILLED"
            | "TASK_LOST"
            | "TASK_ERROR"
            | "TASK_DROPPED"
            | "TASK_GONE"
            | "TASK_GONE_BY_OPERATOR"
    )
}

impl Mirror {
    /// The active agents: ID -> pid.
    pub fn active_agents(&self) -> BTreeMap<String, String> {
        let active = self.agents.iter().filter(|(_, (_, active))| *active);
        active.map(|(id, (pid, _))| (id.clone(), pid.clone())).collect()
    }

    /// The agent task `task_id` of `framework_id` runs on, if it is TASK_RUNNING.
    pub fn running_on(&self, framework_id: &str, task_id: &str) -> Result<String, String> {
        let key = (framework_id.to_string(), task_id.to_string());
        match self.tasks.get(&key) {
            Some((state, agent)) if state == "TASK_RUNNING" => Ok(agent.clone()),
            Some((state, _)) => Err(format!("task {task_id} of {framework_id} is {state}")),
            None => Err(format!("no task {task_id} of {framework_id}")),
        }
    }

    /// The tasks of `framework_id` that are not terminal.
    pub fn tasks_of(&self, framework_id: &str) -> Vec<String> {
        let of = self.tasks.keys().filter(|(f, _)| f == framework_id);
        of.map(|(_, t)| t.clone()).collect()
    }

    /// Folds one operator event (Mesos: docs/operator-http-api.md, "Events").
    pub fn apply(&mut self, event: &Value) {
        match event["type"].as_str().unwrap_or_default() {
            "SUBSCRIBED" => {
                let state = &event["subscribed"]["get_state"];
                for agent in list(&state["get_agents"]["agents"]) {
                    self.add_agent(agent);
                }
                for framework in list(&state["get_frameworks"]["frameworks"]) {
                    self.add_framework(framework);
                    let id = text(&framework["framework_info"]["id"]["value"]);
                    for offer in list(&framework["offers"]) {
                        self.offers.insert(text(&offer["id"]["value"]), id.clone());
                    }
                }
                for task in list(&state["get_tasks"]["tasks"]) {
                    self.add_task(task);
                }
                for task in list(&state["get_tasks"]["completed_tasks"]) {
                    let key =
                        (text(&task["framework_id"]["value"]), text(&task["task_id"]["value"]));
                    self.completed.insert(key);
                }
            }
            "AGENT_ADDED" => self.add_agent(&event["agent_added"]["agent"]),
            "AGENT_REMOVED" => {
                self.agents.remove(&text(&event["agent_removed"]["agent_id"]["value"]));
            }
            "FRAMEWORK_ADDED" => self.add_framework(&event["framework_added"]["framework"]),
            "FRAMEWORK_UPDATED" => self.add_framework(&event["framework_updated"]["framework"]),
            "FRAMEWORK_REMOVED" => {
                let id = text(&event["framework_removed"]["framework_info"]["id"]["value"]);
                self.frameworks.remove(&id);
            }
            "TASK_ADDED" => self.add_task(&event["task_added"]["task"]),
            "TASK_UPDATED" => {
                let update = &event["task_updated"];
                let key = (
                    text(&update["framework_id"]["value"]),
                    text(&update["status"]["task_id"]["value"]),
                );
                let state = text(&update["state"]);
                let agent = text(&update["status"]["agent_id"]["value"]);
                self.set_task(key, state, agent);
            }
            _ => {} // HEARTBEAT, and events no test follows.
        }
    }

    fn add_agent(&mut self, agent: &Value) {
        let id = text(&agent["agent_info"]["id"]["value"]);
        self.agents.insert(id, (text(&agent["pid"]), agent["active"] == true));
    }

    fn add_framework(&mut self, framework: &Value) {
        let id = text(&framework["framework_info"]["id"]["value"]);
        let flags = (framework["active"] == true, framework["recovered"] == true);
        self.frameworks.insert(id, flags);
    }

    fn add_task(&mut self, task: &Value) {
        let framework = text(&task["framework_id"]["value"]);
        let id = text(&task["task_id"]["value"]);
        if let Some(executor) = task["executor_id"]["value"].as_str().filter(|e| !e.is_empty()) {
            self.executors.insert((framework.clone(), executor.to_string()), id.clone());
        }
        let state = text(&task["state"]);
        self.set_task((framework, id), state, text(&task["agent_id"]["value"]));
    }

    fn set_task(&mut self, key: (String, String), state: String, agent: String) {
        if is_terminal(&state) {
            self.tasks.remove(&key);
            self.completed.insert(key);
        } else {
            let agent = if agent.is_empty() {
                self.tasks.get(&key).map(|(_, a)| a.clone()).unwrap_or_default()
            } else {
                agent
            };
            self.tasks.insert(key, (state, agent));
        }
    }
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A master's v1 operator event stream (`POST /api/v1` `{"type": "SUBSCRIBE"}`: RecordIO
/// records of JSON events, SUBSCRIBED with the whole state first), read on a thread and
/// folded into a [`Mirror`].
pub struct EventStream {
    /// The events; `None` once the stream ended (the master died or stopped leading).
    events: mpsc::Receiver<Option<Value>>,
    /// The cluster as the events so far describe it.
    pub state: Mirror,
}

impl EventStream {
    /// Subscribes to the master at `address`; Err if it does not answer with a stream
    /// (a follower redirects; a dead one does not answer).
    pub fn subscribe(address: &str) -> Result<EventStream, String> {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .max_redirects(0)
            .http_status_as_error(false)
            .build();
        let url = format!("http://{address}/api/v1");
        let response = ureq::Agent::new_with_config(config)
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(r#"{"type": "SUBSCRIBE"}"#)
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status() != 200 {
            return Err(format!("{url} answered {}", response.status()));
        }
        let body = response.into_body().into_reader();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || read_records(body, tx));
        let mut stream = EventStream { events, state: Mirror::default() };
        match stream.events.recv_timeout(DEADLINE) {
            Ok(Some(event)) if event["type"] == "SUBSCRIBED" => stream.state.apply(&event),
            other => return Err(format!("{url}: no SUBSCRIBED first: {other:?}")),
        }
        Ok(stream)
    }

    /// Folds events until `check` accepts the mirror (checked first as it is); None if
    /// the stream ends first. Fails the test after DEADLINE with `check`'s last reason.
    pub fn wait<T>(
        &mut self,
        what: &str,
        mut check: impl FnMut(&Mirror) -> Result<T, String>,
    ) -> Option<T> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let reason = match check(&self.state) {
                Ok(value) => return Some(value),
                Err(reason) => reason,
            };
            match self.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Some(event)) => self.state.apply(&event),
                Ok(None) | Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}: {reason}"),
            }
        }
    }

    /// Waits until the stream ends: the master died or stopped leading.
    pub fn wait_end(&mut self) {
        let ended =
            self.wait("the end of the event stream", |_| Err::<(), _>("still open".to_string()));
        assert!(ended.is_none());
    }
}

/// Reads RecordIO records (`<length>\n<bytes>`) of JSON events until the stream ends.
fn read_records(body: impl Read, tx: mpsc::Sender<Option<Value>>) {
    let mut reader = BufReader::new(body);
    loop {
        let mut length = String::new();
        let event = match reader.read_line(&mut length) {
            Ok(n) if n > 0 => length.trim().parse::<usize>().ok().and_then(|length| {
                let mut record = vec![0; length];
                reader.read_exact(&mut record).ok()?;
                serde_json::from_slice::<Value>(&record).ok()
            }),
            _ => None,
        };
        let end = event.is_none();
        if tx.send(event).is_err() || end {
            return;
        }
    }
}

/// What a master of a group said about itself on its output.
#[derive(Clone, Debug, Default)]
struct Said {
    /// Its ID, from its first line (`mesos-master: master@ip:port (id ...)`).
    id: String,
    /// It said it acts as the leading master, and has not said it stopped since.
    acting: bool,
    /// Its registrar said it follows a known leader.
    following: bool,
}

/// An HA group of three real masters (raft) on loopback, each with its own work dir and
/// a listening socket the test holds for the whole test: a restarted member gets its
/// port back, and nothing else can take it meanwhile.
pub struct MasterGroup {
    dir: PathBuf,
    listeners: Vec<TcpListener>,
    /// Each member's work dir.
    pub work_dirs: Vec<PathBuf>,
    /// The OS pid of each running member.
    running: Vec<Option<u32>>,
    /// Every line the members print: (member, line).
    lines: mpsc::Receiver<(usize, String)>,
    tx: mpsc::Sender<(usize, String)>,
    said: Vec<Said>,
    /// The member whose operator events the group follows, and its stream.
    stream: Option<(usize, EventStream)>,
}

impl MasterGroup {
    /// A group on three ports the OS assigns with work dirs `<root>/master<n>`; nothing
    /// started.
    pub fn new(dir: &Path, root: &Path) -> MasterGroup {
        let work_dirs = (0..3).map(|n| root.join(format!("master{n}"))).collect();
        let (tx, lines) = mpsc::channel();
        MasterGroup {
            dir: dir.to_path_buf(),
            listeners: (0..3).map(|_| listener()).collect(),
            work_dirs,
            running: vec![None; 3],
            lines,
            tx,
            said: vec![Said::default(); 3],
            stream: None,
        }
    }

    /// A new group with every member started.
    pub fn start(dir: &Path, root: &Path, processes: &mut Processes) -> MasterGroup {
        let mut group = MasterGroup::new(dir, root);
        group.start_all(processes);
        group
    }

    /// Starts every member.
    pub fn start_all(&mut self, processes: &mut Processes) {
        (0..3).for_each(|n| self.start_member(n, processes));
    }

    /// `ip:port` of member `n`.
    pub fn address(&self, n: usize) -> String {
        self.listeners[n].local_addr().expect("a bound listener").to_string()
    }

    /// `ip:port,...` of every member (the `--masters` and `--master` flags).
    pub fn list(&self) -> String {
        (0..3).map(|n| self.address(n)).collect::<Vec<_>>().join(",")
    }

    /// Starts member `n` (again) with its work dir, flags and listening socket. Its
    /// output (the log at info level) is how the test learns who leads.
    pub fn start_member(&mut self, n: usize, processes: &mut Processes) {
        assert!(self.running[n].is_none(), "master {n} runs already");
        let mut command = Command::new(self.dir.join("mesos-master"));
        let fd = libprocess::inherit::pass_listener(&mut command, &self.listeners[n]);
        let mut child = command
            .arg(format!("--listen_fd={fd}"))
            .arg(format!("--masters={}", self.list()))
            .arg(format!("--work_dir={}", self.work_dirs[n].display()))
            .arg("--allocation_interval=100ms")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mesos-master");
        self.said[n] = Said::default();
        forward_lines_to(child.stdout.take().expect("stdout"), self.tx.clone(), move |l| (n, l));
        forward_lines_to(child.stderr.take().expect("stderr"), self.tx.clone(), move |l| (n, l));
        self.running[n] = Some(processes.hold(child));
    }

    /// kill -9 of member `n`.
    pub fn kill_member(&mut self, n: usize, processes: &mut Processes) {
        processes.kill(self.running[n].take().expect("a running master"));
        self.fold_lines();
        self.said[n] = Said::default();
        if let Some((_, mut stream)) = self.stream.take_if(|(m, _)| *m == n) {
            // Its event stream breaks with it.
            stream.wait_end();
        }
    }

    /// kill -9 of every running member.
    pub fn kill_all(&mut self, processes: &mut Processes) {
        for n in 0..3 {
            if self.running[n].is_some() {
                self.kill_member(n, processes);
            }
        }
    }

    /// The ID member `n` printed when it last started.
    pub fn id(&mut self, n: usize) -> String {
        while self.said[n].id.is_empty() {
            self.next_line();
        }
        self.said[n].id.clone()
    }

    fn note(&mut self, n: usize, line: &str) {
        let said = &mut self.said[n];
        if let Some(rest) = line.strip_prefix("mesos-master: master@") {
            let id = rest.split("(id ").nth(1).map(|id| id.trim_end_matches(')'));
            said.id = id.unwrap_or_default().to_string();
        } else if line.contains("leading master: acting") {
            said.acting = true;
        } else if line.contains("no longer leading: fencing") {
            said.acting = false;
        } else if line.contains("registrar leadership") {
            said.following = line.contains("Following { leader: Some(");
        }
    }

    fn fold_lines(&mut self) {
        while let Ok((n, line)) = self.lines.try_recv() {
            self.note(n, &line);
        }
    }

    fn next_line(&mut self) {
        let (n, line) = self.lines.recv_timeout(DEADLINE).expect("the masters said something");
        self.note(n, &line);
    }

    /// The member that leads now, with its operator event stream open: the one that said
    /// last that it acts as leader and accepts the subscription (one that said so and was
    /// deposed since redirects it). Waits for the masters' lines, never polls.
    pub fn leader(&mut self) -> usize {
        self.fold_lines();
        if let Some((n, _)) = &self.stream {
            return *n;
        }
        loop {
            for n in (0..3).filter(|n| self.running[*n].is_some() && self.said[*n].acting) {
                if let Ok(stream) = EventStream::subscribe(&self.address(n)) {
                    self.stream = Some((n, stream));
                    return n;
                }
            }
            self.next_line();
        }
    }

    /// Follows the leader's events until `check` accepts the cluster as they describe it;
    /// returns the leader and what `check` gave. A leader that dies or is deposed meanwhile
    /// ends its stream: the next leader's stream starts with the whole state again.
    pub fn wait<T>(
        &mut self,
        what: &str,
        mut check: impl FnMut(&Mirror) -> Result<T, String>,
    ) -> (usize, T) {
        loop {
            let leader = self.leader();
            let Some((_, stream)) = self.stream.as_mut() else { continue };
            if let Some(value) = stream.wait(what, &mut check) {
                return (leader, value);
            }
            self.stream = None;
            self.said[leader].acting = false;
        }
    }

    /// Waits until member `n` says that it follows a known leader (after a restart: it
    /// is back in the group and the leader replicates to it).
    pub fn wait_following(&mut self, n: usize) {
        self.fold_lines();
        while !self.said[n].following {
            self.next_line();
        }
    }
}
