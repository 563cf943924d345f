//! HA-1 on real processes (issue 18, section 3), as a `--release` bench binary printing
//! Markdown for docs/benchmarks.md.
//!
//! ```text
//! cargo bench -p mesos-local --bench ha1 -- [--runs 5] [--env NAME=VALUE ...]
//! ```
//!
//! `--env` adds to `mesos-local`'s environment, which its masters and agents inherit and
//! read their flags from (`MESOS_RAFT_TICK=50ms`, `MESOS_REGISTRATION_BACKOFF_FACTOR=...`):
//! the election-timing experiments of docs/ha.md.
//!
//! Each run starts `mesos-local --num_masters=3 --num_agents=2 --port=0` (three real
//! `mesos-master` and two real `mesos-agent` processes on loopback, ports from the OS,
//! the binary cargo built for this bench, as the cluster tests use it) and the unmodified
//! pymesos scheduler of the cluster tests (`target/client-venv`,
//! `tests/clients/pymesos_scheduler.py`) pointed at the leader, with 4 tasks that sleep.
//! Once pymesos has printed TASK_RUNNING for all four, the leading master is killed with
//! SIGKILL and the bench reads the survivors' logs (`<work dir>/master-<n>/master.log`)
//! for what they did after the kill, each line with its own timestamp (the wall clock of
//! the same machine, as the kill's):
//!
//! - (a) `leading master: acting`: a survivor won the raft election and read the registry;
//!   `elected leading master` (the raft election alone) is reported beside it;
//! - (b) the new leader re-admitted both agents (`re-admitted agent` / `agent
//!   re-registered`), which carry their tasks in their re-registration; the run then
//!   checks on the new leader's `/master/state` that both agents and all four tasks are
//!   there, `TASK_RUNNING`;
//! - (c) the framework re-subscribed on the new leader (`framework re-subscribed`), if it
//!   does within [`FRAMEWORK_WAIT`] of (b). pymesos given one `host:port` follows a
//!   leader only through a `307` from a live master: after a kill -9 it retries the dead
//!   address with backoff forever (it follows leaders across failures only with
//!   ZooKeeper), so with it (c) stays empty; the column is there for clients that do.
//!
//! The timings come from the log lines' timestamps, so how often the bench reads the
//! logs (every few milliseconds) does not enter the figures.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;

/// Longest wait for any one step (start-up, tasks running, everything back).
const GUARD: Duration = Duration::from_secs(120);
/// How long after the agents are back the bench waits for the framework.
const FRAMEWORK_WAIT: Duration = Duration::from_secs(5);
/// Tasks pymesos runs.
const TASKS: usize = 4;

/// One master of the summary: port, OS pid, work dir.
struct MasterLine {
    port: u16,
    pid: i32,
    dir: PathBuf,
    leader: bool,
}

/// A run's figures, in seconds from the kill.
struct Figures {
    elected: f64,
    acting: f64,
    agents_back: f64,
    framework_back: Option<f64>,
}

/// A child killed and reaped when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `mesos-local`: stopped with SIGINT (which stops every process and executor
/// it started) and its work dir removed when dropped.
struct Local {
    child: Child,
    work_dir: PathBuf,
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = kill(OsPid::from_raw(self.child.id() as i32), Signal::SIGINT);
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5usize);
    let env: Vec<(String, String)> = args
        .windows(2)
        .filter(|pair| pair[0] == "--env")
        .filter_map(|pair| pair[1].split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    eprintln!("HA-1 on real processes, {runs} runs, environment {env:?}");
    let mut all = Vec::new();
    for run in 0..runs {
        match one_run(run, &env) {
            Ok(figures) => {
                eprintln!(
                    "run {run}: elected {:.3} s, acting {:.3} s, agents and tasks back {:.3} s, framework {}",
                    figures.elected,
                    figures.acting,
                    figures.agents_back,
                    figures.framework_back.map_or("-".into(), |s| format!("{s:.3} s"))
                );
                all.push(figures);
            }
            Err(e) => eprintln!("run {run} failed: {e}"),
        }
    }
    report(&all);
}

/// Prints the Markdown row (medians, then every run).
fn report(all: &[Figures]) {
    if all.is_empty() {
        println!("no run succeeded");
        return;
    }
    let median = |f: &dyn Fn(&Figures) -> f64| {
        let mut v: Vec<f64> = all.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let spread = |f: &dyn Fn(&Figures) -> f64| {
        let v: Vec<f64> = all.iter().map(f).collect();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("{min:.2}-{max:.2}")
    };
    let frameworks = all.iter().filter(|f| f.framework_back.is_some()).count();
    println!(
        "| runs | raft election | to a leading master (acting) | every agent and task back | framework back | runs (acting / back s) |"
    );
    println!("|---|---|---|---|---|---|");
    let runs: Vec<String> =
        all.iter().map(|f| format!("{:.2}/{:.2}", f.acting, f.agents_back)).collect();
    println!(
        "| {} | {:.2} s ({}) | {:.2} s ({}) | {:.2} s ({}) | {} of {} runs | {} |",
        all.len(),
        median(&|f| f.elected),
        spread(&|f| f.elected),
        median(&|f| f.acting),
        spread(&|f| f.acting),
        median(&|f| f.agents_back),
        spread(&|f| f.agents_back),
        frameworks,
        all.len(),
        runs.join(", ")
    );
}

fn one_run(run: usize, env: &[(String, String)]) -> Result<Figures, String> {
    let work_dir = std::env::temp_dir().join(format!("mesos-ha1-{}-{run}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-local"))
        .args(["--num_masters=3", "--num_agents=2", "--port=0", "--resources=cpus:2;mem:1024"])
        .arg(format!("--work_dir={}", work_dir.display()))
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start mesos-local: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let local = Local { child, work_dir };
    let summary = lines_until(stdout, |l| l == "Ctrl-C stops everything.")?;
    let masters: Vec<MasterLine> = summary
        .iter()
        .filter(|l| l.trim_start().starts_with("master "))
        .filter_map(|l| master_line(l))
        .collect();
    let leader = masters.iter().find(|m| m.leader).ok_or("no leader in the summary")?;

    let framework = start_pymesos(leader.port)?;
    wait_running(&framework.1, TASKS)?;

    // Where each survivor's log ends now: only what it writes after the kill counts.
    let survivors: Vec<(PathBuf, u64)> = masters
        .iter()
        .filter(|m| !m.leader)
        .map(|m| {
            let log = m.dir.join("master.log");
            let end = std::fs::metadata(&log).map(|md| md.len()).unwrap_or(0);
            (log, end)
        })
        .collect();
    let killed_at = SystemTime::now();
    kill(OsPid::from_raw(leader.pid), Signal::SIGKILL).map_err(|e| format!("kill: {e}"))?;
    let figures = watch_survivors(&survivors, killed_at, &masters)?;
    drop(framework.0);
    drop(local);
    Ok(figures)
}

/// Tails the survivors' logs until one acts as leader and has both agents back, then
/// waits up to [`FRAMEWORK_WAIT`] for the framework; checks the new leader's state.
fn watch_survivors(
    survivors: &[(PathBuf, u64)],
    killed_at: SystemTime,
    masters: &[MasterLine],
) -> Result<Figures, String> {
    let since = |at: SystemTime| at.duration_since(killed_at).unwrap_or_default().as_secs_f64();
    let mut tails: Vec<Tail> =
        survivors.iter().map(|(path, offset)| Tail::new(path, *offset)).collect();
    let started = Instant::now();
    let mut agents_back_at: Option<(usize, SystemTime)> = None;
    loop {
        for tail in &mut tails {
            tail.read();
        }
        if agents_back_at.is_none() {
            agents_back_at = tails
                .iter()
                .enumerate()
                .filter(|(_, t)| t.acting.is_some() && t.agents.len() >= 2)
                .map(|(i, t)| (i, t.agents[1]))
                .next();
        }
        if let Some((i, back)) = agents_back_at {
            let tail = &tails[i];
            let waited = SystemTime::now().duration_since(back).unwrap_or_default();
            if tail.framework.is_some() || waited > FRAMEWORK_WAIT {
                let port = masters
                    .iter()
                    .find(|m| m.dir.join("master.log") == tail.path)
                    .map(|m| m.port)
                    .ok_or("the new leader is not in the summary")?;
                check_state(port)?;
                return Ok(Figures {
                    elected: since(tail.elected.unwrap_or(back)),
                    acting: since(tail.acting.unwrap_or(back)),
                    agents_back: since(back),
                    framework_back: tail.framework.map(since),
                });
            }
        }
        if started.elapsed() > GUARD {
            return Err("no survivor led with both agents back in time".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What one survivor's log said after the kill.
struct Tail {
    path: PathBuf,
    offset: u64,
    partial: String,
    elected: Option<SystemTime>,
    acting: Option<SystemTime>,
    agents: Vec<SystemTime>,
    framework: Option<SystemTime>,
}

impl Tail {
    fn new(path: &Path, offset: u64) -> Tail {
        Tail {
            path: path.to_path_buf(),
            offset,
            partial: String::new(),
            elected: None,
            acting: None,
            agents: Vec::new(),
            framework: None,
        }
    }

    /// Reads what was appended since the last call and notes the lines of interest.
    fn read(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else { return };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut bytes = Vec::new();
        let Ok(n) = file.read_to_end(&mut bytes) else { return };
        self.offset += n as u64;
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.note(&strip_ansi(&line));
        }
    }

    fn note(&mut self, line: &str) {
        let Some(at) = line.split_whitespace().next().and_then(parse_rfc3339) else { return };
        if line.contains("elected leading master") {
            self.elected.get_or_insert(at);
        } else if line.contains("leading master: acting") {
            self.acting.get_or_insert(at);
        } else if line.contains("re-admitted agent") || line.contains("agent re-registered") {
            self.agents.push(at);
        } else if line.contains("framework re-subscribed") {
            self.framework.get_or_insert(at);
        }
    }
}

/// Removes ANSI colour sequences (`ESC [ ... m`), which the masters' stderr log carries.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses `YYYY-MM-DDTHH:MM:SS.ffffffZ` (tracing's UTC timestamps).
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let nanos: u32 = format!("{frac:0<9}")[..9].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// The new leader holds both agents and all four tasks, running.
fn check_state(port: u16) -> Result<(), String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .max_redirects(0)
        .build();
    let body = ureq::Agent::new_with_config(config)
        .get(&format!("http://127.0.0.1:{port}/master/state"))
        .call()
        .map_err(|e| format!("state: {e}"))?
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("state: {e}"))?;
    let state: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let agents = state["slaves"].as_array().map_or(0, |a| a.len());
    let running = state["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["tasks"].as_array().into_iter().flatten())
        .filter(|t| t["state"] == "TASK_RUNNING")
        .count();
    if agents == 2 && running == TASKS {
        Ok(())
    } else {
        Err(format!("the new leader has {agents} agents and {running} running tasks"))
    }
}

/// Starts pymesos against the leader with [`TASKS`] sleeping tasks; its output lines
/// arrive on the receiver.
fn start_pymesos(leader: u16) -> Result<(KillOnDrop, mpsc::Receiver<String>), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/client-venv/bin/python");
    if !python.exists() {
        return Err("pymesos is installed by scripts/test-setup.sh (run scripts/test.sh)".into());
    }
    let mut child = Command::new(python)
        .arg(root.join("tests/clients/pymesos_scheduler.py"))
        .args(["--wait", "600", &format!("127.0.0.1:{leader}"), "sleep 600", &TASKS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start pymesos: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Ok((KillOnDrop(child), rx))
}

/// Waits for `n` tasks' TASK_RUNNING lines from pymesos.
fn wait_running(lines: &mpsc::Receiver<String>, n: usize) -> Result<(), String> {
    let mut running = std::collections::HashSet::new();
    while running.len() < n {
        let line = lines.recv_timeout(GUARD).map_err(|_| "tasks not running in time")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() >= 3 && words[0] == "update" && words[2] == "TASK_RUNNING" {
            running.insert(words[1].to_string());
        }
    }
    Ok(())
}

/// Reads lines until one satisfies `last`; later lines are read and dropped.
fn lines_until(
    output: impl Read + Send + 'static,
    last: impl Fn(&str) -> bool + Send + 'static,
) -> Result<Vec<String>, String> {
    let (tx, rx) = mpsc::channel();
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
        for _ in reader {}
    });
    rx.recv_timeout(GUARD).map_err(|_| "mesos-local did not start in time".into())
}

/// A master line of the summary: `master  master@127.0.0.1:PORT  os pid PID  DIR [(leader)]`.
fn master_line(line: &str) -> Option<MasterLine> {
    let port = line.split(':').nth(1)?.split_whitespace().next()?.parse().ok()?;
    let mut after = line.split("os pid").nth(1)?.split_whitespace();
    let pid = after.next()?.parse().ok()?;
    let dir = PathBuf::from(after.next()?);
    Some(MasterLine { port, pid, dir, leader: line.contains("(leader)") })
}
