//! Starting, watching and stopping the local cluster.
//!
//! 1. Make the work directory and link every role's program name to this executable.
//! 2. Start the masters (one, or an HA group told about each other with `--masters`) and
//!    wait until one of them reports a leader.
//! 3. Start the agents, pointed at every master, and wait until the leader has them all.
//! 4. Print one line per process (role, pid, OS pid, work dir) and the web UI URL.
//! 5. Until Ctrl-C: report children that exit (a user may `kill -9` any of them to watch
//!    the cluster recover). On Ctrl-C: SIGTERM every child, SIGKILL stragglers after a
//!    grace period, and kill every executor the agents started, so nothing is left.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::Parser;
use clap::error::ErrorKind;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid as OsPid;

use crate::flags::Flags;

/// How long to wait for a leader and for the agents to register.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// SIGTERM-to-SIGKILL grace period at shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often the leader and the registered agents are checked.
const LEADER_CHECK: Duration = Duration::from_millis(500);

/// The credential `--authenticate` generates: every process accepts it, and
/// `mesos-local` itself presents it when it polls the masters.
struct Auth {
    /// The credentials file (`<work dir>/credentials`).
    path: PathBuf,
    principal: String,
    secret: String,
}

impl Auth {
    /// Writes a credentials file with one fresh principal and secret, readable only by
    /// its owner (masters warn about files others can read, as Mesos does).
    fn generate(work_dir: &Path) -> anyhow::Result<Auth> {
        use std::os::unix::fs::OpenOptionsExt;
        let principal = "mesos-local".to_string();
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let path = work_dir.join("credentials");
        let json =
            serde_json::json!({ "credentials": [{ "principal": principal, "secret": secret }] });
        let _ = std::fs::remove_file(&path);
        let mut file =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(json.to_string().as_bytes())?;
        Ok(Auth { path, principal, secret })
    }

    fn master_args(&self) -> [String; 5] {
        [
            format!("--credentials={}", self.path.display()),
            "--authenticate_http_readonly=true".into(),
            "--authenticate_http_readwrite=true".into(),
            "--authenticate_http_frameworks=true".into(),
            "--http_framework_authenticators=basic".into(),
        ]
    }

    fn agent_args(&self) -> [String; 3] {
        [
            format!("--http_credentials={}", self.path.display()),
            "--authenticate_http_readonly=true".into(),
            "--authenticate_http_readwrite=true".into(),
        ]
    }

    /// The `Authorization` header value.
    fn header(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.principal, self.secret);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

/// One child process.
struct Member {
    role: &'static str,
    address: SocketAddr,
    child: Child,
    work_dir: PathBuf,
    exited: bool,
}

/// Runs `mesos-local` with `args`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let flags = match Flags::try_parse_from(args) {
        Ok(flags) => flags,
        Err(error) => {
            let help = matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            let _ = error.print();
            return if help { ExitCode::SUCCESS } else { ExitCode::from(1) };
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(error) = signal_hook::flag::register(signal, stop.clone()) {
            eprintln!("mesos-local: cannot watch signals: {error}");
            return ExitCode::from(1);
        }
    }
    let mut members = Vec::new();
    // Whatever happens in `run` (an error, even a panic), the children are stopped below:
    // mesos-local never leaves a cluster behind.
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&flags, &stop, &mut members)))
            .unwrap_or_else(|_| Err(anyhow!("mesos-local panicked; stopping the cluster")));
    let work_dir = work_dir_of(&members);
    stop_all(&mut members, work_dir.as_deref());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mesos-local: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn work_dir_of(members: &[Member]) -> Option<PathBuf> {
    members.first().and_then(|m| m.work_dir.parent().map(Path::to_path_buf))
}

fn run(flags: &Flags, stop: &AtomicBool, members: &mut Vec<Member>) -> anyhow::Result<()> {
    if flags.num_masters == 0 {
        bail!("--num_masters must be at least 1");
    }
    let work_dir = match &flags.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir()
            .join(format!("mesos-local-{}", &uuid::Uuid::new_v4().to_string()[..8])),
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let work_dir = work_dir.canonicalize()?;
    let bin = link_programs(&work_dir)?;
    let auth = if flags.authenticate { Some(Auth::generate(&work_dir)?) } else { None };
    let authorization = auth.as_ref().map(Auth::header);
    let authorization = authorization.as_deref();

    let masters: Vec<SocketAddr> =
        (0..flags.num_masters).map(|i| SocketAddr::new(flags.ip, flags.port + i)).collect();
    let master_list = masters.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(",");
    for (i, address) in masters.iter().enumerate() {
        let dir = work_dir.join(format!("master-{}", i + 1));
        std::fs::create_dir_all(&dir)?;
        let mut args = vec![format!("--ip={}", address.ip()), format!("--port={}", address.port())];
        if masters.len() == 1 {
            args.push("--registry=in_memory".into());
        } else {
            args.extend([
                format!("--work_dir={}", dir.display()),
                "--registry=raft".into(),
                format!("--masters={master_list}"),
            ]);
        }
        if let Some(auth) = &auth {
            args.extend(auth.master_args());
        }
        members.push(start(&bin.join("mesos-master"), "master", *address, &args, dir)?);
    }
    let leader = wait_for(stop, "a leading master", || leader_of(&masters, authorization))?;

    for j in 0..flags.num_agents {
        let address = SocketAddr::new(flags.ip, flags.port + 11 + j);
        let dir = work_dir.join(format!("agent-{}", j + 1));
        std::fs::create_dir_all(&dir)?;
        let mut args = vec![
            format!("--master={master_list}"),
            format!("--ip={}", address.ip()),
            format!("--port={}", address.port()),
            format!("--work_dir={}", dir.display()),
            format!("--launcher_dir={}", bin.display()),
        ];
        if let Some(resources) = &flags.resources {
            args.push(format!("--resources={resources}"));
        }
        if let Some(auth) = &auth {
            args.extend(auth.agent_args());
        }
        members.push(start(&bin.join("mesos-agent"), "agent", address, &args, dir)?);
    }
    let expected = usize::from(flags.num_agents);
    wait_for(stop, "the agents to register", || {
        leader_of(&masters, authorization)
            .and_then(|leader| state(leader, authorization).ok())
            .filter(|s| active_agents(s) >= expected)
            .map(|_| ())
    })?;
    print_summary(members, leader, &work_dir, auth.as_ref());
    watch(stop, members, &masters, leader, expected, authorization)
}

/// Links `mesos-master`, `mesos-agent`, `mesos-executor` and `mesos-registry` to this
/// executable.
fn link_programs(work_dir: &Path) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this executable")?;
    let bin = work_dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    for name in ["mesos-master", "mesos-agent", "mesos-executor", "mesos-registry"] {
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&me, &link)
            .with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(bin)
}

/// Starts one member with its output in `<dir>/<role>.log`.
fn start(
    program: &Path,
    role: &'static str,
    address: SocketAddr,
    args: &[String],
    dir: PathBuf,
) -> anyhow::Result<Member> {
    let log = File::create(dir.join(format!("{role}.log")))?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    Ok(Member { role, address, child, work_dir: dir, exited: false })
}

/// Polls `check` until it gives a value, Ctrl-C, or the startup timeout.
fn wait_for<T>(
    stop: &AtomicBool,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if stop.load(Ordering::SeqCst) {
            bail!("interrupted while waiting for {what}");
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}; see the logs under the work directory");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `/master/state` of `master`, presenting `authorization` (an `Authorization` header
/// value) when authentication is on.
fn state(master: SocketAddr, authorization: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let url = format!("http://{master}/master/state");
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .max_redirects(0)
        .build();
    let mut request = ureq::Agent::new_with_config(agent).get(&url);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let body = request.call()?.body_mut().read_to_string()?;
    serde_json::from_str(&body).map_err(|e| anyhow!("bad JSON from {url}: {e}"))
}

fn active_agents(state: &serde_json::Value) -> usize {
    state["slaves"]
        .as_array()
        .map(|agents| agents.iter().filter(|a| a["active"] == true).count())
        .unwrap_or(0)
}

/// The address of the master that the masters agree leads.
fn leader_of(masters: &[SocketAddr], authorization: Option<&str>) -> Option<SocketAddr> {
    masters.iter().find_map(|m| {
        let state = state(*m, authorization).ok()?;
        let leader = state["leader"].as_str()?;
        let address = leader.split_once('@')?.1.parse().ok()?;
        masters.contains(&address).then_some(address)
    })
}

fn print_summary(members: &[Member], leader: SocketAddr, work_dir: &Path, auth: Option<&Auth>) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "mesos-local: cluster up (work dir {})", work_dir.display());
    for member in members {
        let id =
            if member.role == "master" { "master".to_string() } else { "slave(1)".to_string() };
        let leading =
            if member.role == "master" && member.address == leader { "  (leader)" } else { "" };
        let _ = writeln!(
            out,
            "  {:<6}  {id}@{}  os pid {:<7}  {}{leading}",
            member.role,
            member.address,
            member.child.id(),
            member.work_dir.display()
        );
    }
    let _ = writeln!(out, "  web UI  http://{leader}/");
    if let Some(auth) = auth {
        let _ = writeln!(
            out,
            "  HTTP authentication on: principal {} secret {} (credentials {})",
            auth.principal,
            auth.secret,
            auth.path.display()
        );
    }
    let _ = writeln!(out, "Ctrl-C stops everything.");
    let _ = out.flush();
}

/// Reports children that exit, leadership changes and the number of registered agents
/// until Ctrl-C.
fn watch(
    stop: &AtomicBool,
    members: &mut [Member],
    masters: &[SocketAddr],
    leader: SocketAddr,
    agents: usize,
    authorization: Option<&str>,
) -> anyhow::Result<()> {
    let mut leader = Some(leader);
    let mut registered = agents;
    let mut next_check = Instant::now() + LEADER_CHECK;
    while !stop.load(Ordering::SeqCst) {
        if Instant::now() >= next_check {
            next_check = Instant::now() + LEADER_CHECK;
            let now_leader = leader_of(masters, authorization);
            if now_leader != leader {
                leader = now_leader;
                let line = match leader {
                    Some(address) => format!("mesos-local: leading master is now master@{address}"),
                    None => "mesos-local: no leading master".to_string(),
                };
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            if let Some(count) =
                leader.and_then(|l| state(l, authorization).ok()).map(|s| active_agents(&s))
                && count != registered
            {
                registered = count;
                let _ = writeln!(std::io::stdout(), "mesos-local: {count} agents registered");
            }
        }
        for member in members.iter_mut().filter(|m| !m.exited) {
            if let Ok(Some(status)) = member.child.try_wait() {
                member.exited = true;
                // Output may be gone (a closed pipe); that is no reason to stop.
                let _ = writeln!(
                    std::io::stdout(),
                    "mesos-local: {} at {} (os pid {}) exited: {status}",
                    member.role,
                    member.address,
                    member.child.id()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = writeln!(std::io::stdout(), "mesos-local: stopping");
    Ok(())
}

/// SIGTERM everyone, SIGKILL stragglers, then kill every executor started under `work_dir`.
fn stop_all(members: &mut [Member], work_dir: Option<&Path>) {
    for member in members.iter().filter(|m| !m.exited) {
        let _ = kill(OsPid::from_raw(member.child.id() as i32), Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    for member in members.iter_mut() {
        loop {
            match member.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = member.child.kill();
                    let _ = member.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    if let Some(work_dir) = work_dir {
        kill_executors(work_dir);
    }
}

/// Executors live in their own sessions (so they survive agent restarts); find them by
/// the sandbox the agent gave them and kill their process groups.
fn kill_executors(work_dir: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    let marker = format!("MESOS_DIRECTORY={}", work_dir.display());
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let ours = environ.split(|b| *b == 0).any(|var| var.starts_with(marker.as_bytes()));
        if ours {
            let _ = killpg(OsPid::from_raw(pid), Signal::SIGKILL);
            let _ = kill(OsPid::from_raw(pid), Signal::SIGKILL);
        }
    }
}
