//! Starting, watching and stopping the local cluster.
//!
//! 1. Make the work directory and link every role's program name to this executable.
//!    Bind every member's listening socket (`--port=0`: on ports the OS assigns), so
//!    each master knows where the others listen before any starts, and hand each child
//!    its socket (`--listen_fd`): no port is ever released and bound again.
//! 2. Start the masters (one, or an HA group told about each other with `--masters`) and
//!    wait until one of them reports a leader.
//! 3. Start the agents, pointed at every master, and wait until the leader has them all.
//! 4. Print one line per process (role, pid, OS pid, work dir) and the web UI URL.
//! 5. Until Ctrl-C: report children that exit (a user may `kill -9` any of them to watch
//!    the cluster recover). An agent that exits is started again after
//!    [`AGENT_RESTART_DELAY`] (unless `--restart_agents=false`), on the same socket and
//!    work dir, as a service manager restarts a Mesos agent: it recovers its checkpoint,
//!    reconnects to its executors and re-registers, and its tasks keep running. A
//!    master that exits stays down (the HA group carries on; a user may restart it by
//!    hand). On Ctrl-C: SIGTERM every child, SIGKILL stragglers after a grace period,
//!    and kill every executor the agents started, so nothing is left.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener};
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
use crate::http::MasterHttp;

/// How long to wait for a leader and for the agents to register.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// SIGTERM-to-SIGKILL grace period at shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often the leader and the registered agents are checked.
const LEADER_CHECK: Duration = Duration::from_millis(500);
/// How long after an agent exits it is started again.
pub const AGENT_RESTART_DELAY: Duration = Duration::from_secs(1);
/// Most restarts of one agent: one that keeps dying (a broken work dir) is left down
/// after this many, rather than restarted forever.
pub const MAX_AGENT_RESTARTS: u32 = 20;

/// The credential `--authenticate` generates: every process accepts it, the agents
/// authenticate with it (CRAM-MD5), and `mesos-local` itself presents it when it polls
/// the masters.
struct Auth {
    /// The credentials file (`<work dir>/credentials`): who the masters and agents accept.
    path: PathBuf,
    /// The agents' own credential (`<work dir>/credential`, Mesos's `--credential`).
    credential: PathBuf,
    /// The key agents sign their executors' tokens with (`<work dir>/jwt_secret_key`).
    jwt_key: PathBuf,
    principal: String,
    secret: String,
}

impl Auth {
    /// Writes a credentials file with one fresh principal and secret, and the agents'
    /// credential with the same pair, each readable only by its owner (masters and
    /// agents warn about files others can read, as Mesos does).
    fn generate(work_dir: &Path) -> anyhow::Result<Auth> {
        let principal = "mesos-local".to_string();
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let pair = serde_json::json!({ "principal": principal, "secret": secret });
        let path = work_dir.join("credentials");
        write_private(&path, &serde_json::json!({ "credentials": [pair.clone()] }))?;
        let credential = work_dir.join("credential");
        write_private(&credential, &pair)?;
        let jwt_key = work_dir.join("jwt_secret_key");
        write_private_bytes(&jwt_key, uuid::Uuid::new_v4().simple().to_string().as_bytes())?;
        Ok(Auth { path, credential, jwt_key, principal, secret })
    }

    /// Every realm of HTTP authentication, and CRAM-MD5 required of v0 frameworks and
    /// of agents.
    fn master_args(&self) -> [String; 7] {
        [
            format!("--credentials={}", self.path.display()),
            "--authenticate_http_readonly=true".into(),
            "--authenticate_http_readwrite=true".into(),
            "--authenticate_http_frameworks=true".into(),
            "--http_framework_authenticators=basic".into(),
            "--authenticate_frameworks=true".into(),
            "--authenticate_agents=true".into(),
        ]
    }

    /// HTTP authentication of the agent's endpoints, its own credential to
    /// authenticate with the masters, and executors that must present the token the
    /// agent signs for each of them: the command executor speaks the v1 HTTP API so
    /// that it has one (over libprocess messages it would need none). The operator API
    /// takes executors' tokens too (`jwt` beside `basic`): the default executor
    /// launches its tasks' nested containers there.
    fn agent_args(&self) -> [String; 8] {
        [
            format!("--http_credentials={}", self.path.display()),
            "--authenticate_http_readonly=true".into(),
            "--authenticate_http_readwrite=true".into(),
            "--http_authenticators=basic,jwt".into(),
            format!("--credential={}", self.credential.display()),
            "--authenticate_http_executors=true".into(),
            format!("--jwt_secret_key={}", self.jwt_key.display()),
            "--http_command_executor=true".into(),
        ]
    }

    /// The `Authorization` header value.
    fn header(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.principal, self.secret);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

/// The program `name` in the directory of this executable, if it is there.
fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(name)).filter(|path| path.is_file())
}

/// Writes `json` to a new file at `path` that only its owner can read.
fn write_private(path: &Path, json: &serde_json::Value) -> anyhow::Result<()> {
    write_private_bytes(path, json.to_string().as_bytes())
}

/// Writes `bytes` to a new file at `path` that only its owner can read.
fn write_private_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    Ok(())
}

/// One child process.
struct Member {
    role: &'static str,
    address: SocketAddr,
    child: Child,
    work_dir: PathBuf,
    /// When it exited, if it has.
    exited: Option<Instant>,
    /// How to start it again (agents, unless `--restart_agents=false`).
    restart: Option<Restart>,
}

/// What restarting a member takes: its program and arguments, and its listening socket,
/// kept open here so the port stays reserved while the member is down.
struct Restart {
    program: PathBuf,
    args: Vec<String>,
    listener: TcpListener,
    restarts: u32,
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
    // The children inherit LIBPROCESS_SSL_*: mesos-local asks them over the same setting.
    let tls = libprocess::TlsConfig::from_env().context("LIBPROCESS_SSL_*")?;
    let mut http = MasterHttp::new(&tls)?;
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
    if let Some(auth) = &auth {
        http.authorize(auth.header());
    }

    let master_listeners = bind_all(flags.ip, flags.port, 0, flags.num_masters)?;
    let agent_listeners = bind_all(flags.ip, flags.port, 11, flags.num_agents)?;
    let masters: Vec<SocketAddr> = master_listeners.iter().map(|(a, _)| *a).collect();
    let master_list = masters.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(",");
    for (i, (address, listener)) in master_listeners.into_iter().enumerate() {
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
        members.push(start(&bin.join("mesos-master"), "master", &listener, &args, dir)?);
    }
    let leader = wait_for(stop, "a leading master", || leader_of(&http, &masters))?;

    for (j, (address, listener)) in agent_listeners.into_iter().enumerate() {
        let dir = work_dir.join(format!("agent-{}", j + 1));
        std::fs::create_dir_all(&dir)?;
        let mut args = vec![
            format!("--master={master_list}"),
            format!("--ip={}", address.ip()),
            format!("--port={}", address.port()),
            format!("--work_dir={}", dir.display()),
            format!("--launcher_dir={}", bin.display()),
            format!("--registration_backoff_factor={}", flags.registration_backoff_factor),
        ];
        if let Some(resources) = &flags.resources {
            args.push(format!("--resources={resources}"));
        }
        if let Some(auth) = &auth {
            args.extend(auth.agent_args());
        }
        let program = bin.join("mesos-agent");
        let mut member = start(&program, "agent", &listener, &args, dir)?;
        if flags.restart_agents {
            member.restart = Some(Restart { program, args, listener, restarts: 0 });
        }
        members.push(member);
    }
    let expected = usize::from(flags.num_agents);
    wait_for(stop, "the agents to register", || {
        leader_of(&http, &masters)
            .and_then(|leader| http.state(leader).ok())
            .filter(|s| active_agents(s) >= expected)
            .map(|_| ())
    })?;
    let summary = Summary { work_dir: &work_dir, scheme: http.scheme(), masters: &master_list };
    print_summary(members, leader, &summary, auth.as_ref());
    watch(stop, members, (&http, &masters), leader, expected)
}

/// Links `mesos-master`, `mesos-agent`, `mesos-executor`, `mesos-default-executor` (the
/// agents start it for task groups), `mesos-containerizer` (their containers' launcher) and `mesos-registry` to this executable.
fn link_programs(work_dir: &Path) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this executable")?;
    let bin = work_dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let names = [
        "mesos-master",
        "mesos-agent",
        "mesos-executor",
        "mesos-default-executor",
        "mesos-containerizer",
        "mesos-registry",
    ];
    for name in names {
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&me, &link)
            .with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(bin)
}

/// Binds `count` listeners on `ip`: on `port + offset`, `port + offset + 1`, ..., or,
/// with `port` 0, on ports the OS assigns. Returns each with its address.
fn bind_all(
    ip: IpAddr,
    port: u16,
    offset: u16,
    count: u16,
) -> anyhow::Result<Vec<(SocketAddr, TcpListener)>> {
    (0..count)
        .map(|i| {
            let wanted = match port {
                0 => 0,
                _ => port
                    .checked_add(offset + i)
                    .with_context(|| format!("--port={port} leaves no room for every process"))?,
            };
            let wanted = SocketAddr::new(ip, wanted);
            let listener =
                TcpListener::bind(wanted).with_context(|| format!("cannot listen on {wanted}"))?;
            Ok((listener.local_addr()?, listener))
        })
        .collect()
}

/// Starts one member on `listener` with its output in `<dir>/<role>.log`. The child
/// inherits the listener. Unless the caller keeps it (a restartable agent), this
/// process's copy closes when the caller drops it, so the port of a member that exits is
/// free again (a user may restart it by hand).
fn start(
    program: &Path,
    role: &'static str,
    listener: &TcpListener,
    args: &[String],
    dir: PathBuf,
) -> anyhow::Result<Member> {
    let address = listener.local_addr()?;
    let log = File::create(dir.join(format!("{role}.log")))?;
    let child = spawn_member(program, listener, args, log)?;
    Ok(Member { role, address, child, work_dir: dir, exited: None, restart: None })
}

fn spawn_member(
    program: &Path,
    listener: &TcpListener,
    args: &[String],
    log: File,
) -> anyhow::Result<Child> {
    let mut command = Command::new(program);
    let fd = libprocess::inherit::pass_listener(&mut command, listener);
    command
        .args(args)
        .arg(format!("--listen_fd={fd}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))
}

/// Starts an exited member again if it is restartable, its delay has passed and it has
/// restarts left; its log continues in the same file. Returns true if it restarted.
fn maybe_restart(member: &mut Member) -> bool {
    let Some(exited) = member.exited else { return false };
    let Some(restart) = member.restart.as_mut() else { return false };
    if exited.elapsed() < AGENT_RESTART_DELAY || restart.restarts >= MAX_AGENT_RESTARTS {
        return false;
    }
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(member.work_dir.join(format!("{}.log", member.role)));
    let started = log
        .map_err(anyhow::Error::from)
        .and_then(|log| spawn_member(&restart.program, &restart.listener, &restart.args, log));
    restart.restarts += 1;
    match started {
        Ok(child) => {
            member.child = child;
            member.exited = None;
            true
        }
        Err(error) => {
            let _ = writeln!(
                std::io::stdout(),
                "mesos-local: cannot restart {}: {error:#}",
                member.role
            );
            // Counted as a restart: a program that cannot start is not retried forever.
            member.exited = Some(Instant::now());
            false
        }
    }
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

fn active_agents(state: &serde_json::Value) -> usize {
    state["slaves"]
        .as_array()
        .map(|agents| agents.iter().filter(|a| a["active"] == true).count())
        .unwrap_or(0)
}

/// The address of the master that the masters agree leads.
fn leader_of(http: &MasterHttp, masters: &[SocketAddr]) -> Option<SocketAddr> {
    masters.iter().find_map(|m| {
        let state = http.state(*m).ok()?;
        let leader = state["leader"].as_str()?;
        let address = leader.split_once('@')?.1.parse().ok()?;
        masters.contains(&address).then_some(address)
    })
}

/// What the summary names besides the processes.
struct Summary<'a> {
    work_dir: &'a Path,
    /// `http` or `https`.
    scheme: &'a str,
    /// Every master, as `--master` takes them.
    masters: &'a str,
}

fn print_summary(members: &[Member], leader: SocketAddr, summary: &Summary, auth: Option<&Auth>) {
    let Summary { work_dir, scheme, masters } = summary;
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
    let _ = writeln!(out, "  web UI  {scheme}://{leader}/");
    let mut credential = String::new();
    if let Some(auth) = auth {
        let (principal, secret) = (&auth.principal, &auth.secret);
        let _ = writeln!(
            out,
            "  authentication on (HTTP, frameworks, agents, executors): principal {principal} secret {secret} (credentials {})",
            auth.path.display()
        );
        credential = format!(" --principal={principal} --secret={secret}");
    }
    // The example framework, when it was built beside this binary (`cargo build`).
    if let Some(hello) = sibling("hello") {
        let _ = writeln!(out, "  try     {} --master={masters}{credential}", hello.display());
    }
    let _ = writeln!(out, "Ctrl-C stops everything.");
    let _ = out.flush();
}

/// Reports children that exit, leadership changes and the number of registered agents
/// until Ctrl-C.
fn watch(
    stop: &AtomicBool,
    members: &mut [Member],
    (http, masters): (&MasterHttp, &[SocketAddr]),
    leader: SocketAddr,
    agents: usize,
) -> anyhow::Result<()> {
    let mut leader = Some(leader);
    let mut registered = agents;
    let mut next_check = Instant::now() + LEADER_CHECK;
    while !stop.load(Ordering::SeqCst) {
        if Instant::now() >= next_check {
            next_check = Instant::now() + LEADER_CHECK;
            let now_leader = leader_of(http, masters);
            if now_leader != leader {
                leader = now_leader;
                let line = match leader {
                    Some(address) => format!("mesos-local: leading master is now master@{address}"),
                    None => "mesos-local: no leading master".to_string(),
                };
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            if let Some(count) = leader.and_then(|l| http.state(l).ok()).map(|s| active_agents(&s))
                && count != registered
            {
                registered = count;
                let _ = writeln!(std::io::stdout(), "mesos-local: {count} agents registered");
            }
        }
        for member in members.iter_mut() {
            if maybe_restart(member) {
                let _ = writeln!(
                    std::io::stdout(),
                    "mesos-local: {} at {} restarted (os pid {})",
                    member.role,
                    member.address,
                    member.child.id()
                );
            }
        }
        for member in members.iter_mut().filter(|m| m.exited.is_none()) {
            if let Ok(Some(status)) = member.child.try_wait() {
                member.exited = Some(Instant::now());
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
    for member in members.iter().filter(|m| m.exited.is_none()) {
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

/// How long `mesos-local` waits at most for killed executors to be gone.
const EXECUTOR_KILL_WAIT: Duration = Duration::from_secs(10);

/// Executors live in their own sessions (so they survive agent restarts); find them by
/// the sandbox the agent gave them, kill their process groups, and return only once none
/// is left: Ctrl-C leaves nothing behind, and whoever waits for `mesos-local` to exit
/// (a user's shell, a test) finds no executor afterwards.
///
/// One pass is not enough. `kill(2)` only queues SIGKILL: on a loaded machine the
/// process runs on (its `/proc` entry and environment intact) until it is scheduled to
/// die, and `mesos-local` used to exit within that window (`no executor outlives
/// mesos-local`, `local_cluster_runs_a_third_party_executor`, under load). And a process
/// the scan missed (forked by an executor while its group was being killed into a new
/// group, or still between `fork` and `exec` with its parent's environment) is found by
/// a later pass. So: kill what is found, look again, until a pass finds nothing (a dead
/// process leaves `/proc`, or as a zombie shows an empty environment) or the bound.
fn kill_executors(work_dir: &Path) {
    let deadline = Instant::now() + EXECUTOR_KILL_WAIT;
    loop {
        let found = executors_under(work_dir);
        if found.is_empty() {
            return;
        }
        for pid in &found {
            let _ = killpg(OsPid::from_raw(*pid), Signal::SIGKILL);
            let _ = kill(OsPid::from_raw(*pid), Signal::SIGKILL);
        }
        if Instant::now() > deadline {
            eprintln!("mesos-local: executors {found:?} still there after SIGKILL");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The OS pids of live processes whose environment names a sandbox under `work_dir`
/// (executors and their tasks).
fn executors_under(work_dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    // With the separator: `/tmp/x` must not match the sandboxes of `/tmp/x2`, another
    // cluster's (parallel tests run clusters in `...-1` and `...-10`).
    let marker = format!("MESOS_DIRECTORY={}/", work_dir.display());
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok())?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let ours = environ.split(|b| *b == 0).any(|var| var.starts_with(marker.as_bytes()));
            ours.then_some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt as _;

    use super::*;

    /// A stand-in executor: `sleep` with the environment an agent gives an executor.
    fn executor_in(sandbox: &Path) -> Child {
        Command::new("sleep")
            .arg("600")
            .env("MESOS_DIRECTORY", sandbox)
            .process_group(0)
            .spawn()
            .expect("start sleep")
    }

    /// `kill_executors` returns only once every executor of the cluster is gone (not
    /// merely sent SIGKILL), and leaves alone those of a cluster whose work dir merely
    /// starts with the same characters.
    #[test]
    fn kill_executors_waits_until_gone_and_spares_other_clusters() {
        let base = std::env::temp_dir().join(format!("mesos-local-kill-{}", std::process::id()));
        let ours = base.join("work-1");
        let other = base.join("work-10");
        let mut executors: Vec<Child> =
            (0..3).map(|i| executor_in(&ours.join(format!("agent-1/e{i}")))).collect();
        let mut bystander = executor_in(&other.join("agent-1/e"));
        kill_executors(&ours);
        assert!(executors_under(&ours).is_empty(), "{:?}", executors_under(&ours));
        assert_eq!(executors_under(&other), vec![bystander.id() as i32]);
        for executor in &mut executors {
            let status = executor.wait().expect("reaped");
            assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
        }
        let _ = bystander.kill();
        let _ = bystander.wait();
    }
}
