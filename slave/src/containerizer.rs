//! Containerizers: how executors become running OS processes.
//!
//! The agent talks to a [`Containerizer`]; the real one is [`PosixContainerizer`]
//! (Mesos: src/slave/containerizer/mesos/launcher.cpp `PosixLauncher`): each
//! executor is an OS process in a new session and process group (so it outlives an
//! agent restart and can be signalled as a group), started in its sandbox with
//! stdout and stderr in files there and only the environment the agent gives it.
//!
//! Exits are noticed by polling ([`Containerizer::reap`]), which the agent calls on
//! its clock every second (Mesos's reaper does the same for processes it did not
//! fork). Kills are SIGTERM to every process of the executor's session (the
//! executor's own group and the groups of its tasks), then SIGKILL after the grace
//! period (Mesos: `os::killtree` with sessions and groups); the agent times the
//! grace period on its clock.
//!
//! Resource limits are applied by a [`Limiter`] (cgroups v2 where available,
//! otherwise `RLIMIT_DATA`); see `limits.rs`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::{CommandInfo, ResourceStatistics};
use nix::sys::signal::{self, Signal as NixSignal};
use nix::unistd::Pid as OsPid;

use crate::error::AgentError;
use crate::limits::{ChildLimits, ContainerLimits, Limiter};

/// The `PATH` an executor gets when its environment has none (Mesos's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to start.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// The container (executor run) id.
    pub container_id: ContainerId,
    /// The executor's command.
    pub command: CommandInfo,
    /// The whole environment of the executor.
    pub env: BTreeMap<String, String>,
    /// The sandbox; the working directory, holding `stdout` and `stderr`.
    pub sandbox: PathBuf,
    /// The container's resource limits.
    pub limits: ContainerLimits,
    /// The executor is the agent's own (the command or the default executor). Under
    /// rlimits its memory limit goes to the processes it starts (the command executor
    /// reads it from [`crate::limits::TASK_RLIMIT_DATA_ENV`], nested containers get it
    /// from [`Containerizer::join_limits`]), not to the executor itself: `RLIMIT_DATA`
    /// counts address space, and the executor's runtime (thread stacks, the allocator's
    /// segments) reserves more of it under load than the 32 MB allowance it is given.
    pub own_executor: bool,
    /// The user to run as (`--switch_user` under root; the actor looks it up), else
    /// the agent's.
    pub run_as: Option<crate::users::RunAs>,
}

/// A container whose executor process has exited.
#[derive(Debug, Clone, PartialEq)]
pub struct Termination {
    /// The container.
    pub container_id: ContainerId,
    /// The raw wait status, when known (unknown for processes the agent did not fork).
    pub status: Option<i32>,
    /// What happened, for status update messages.
    pub message: String,
}

/// A signal the agent sends to a container's process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: please stop.
    Term,
    /// SIGKILL: stop now.
    Kill,
}

/// Starts, watches and stops executors.
pub trait Containerizer: 'static {
    /// Starts an executor; returns its OS pid if it has one.
    fn launch(&mut self, request: LaunchRequest) -> Result<Option<u32>, AgentError>;
    /// Takes back a container after an agent restart; true if its process still
    /// runs (it is then watched), false if it is gone.
    fn recover(&mut self, container_id: &ContainerId, os_pid: Option<u32>) -> bool;
    /// Signals every process of the container.
    fn signal(&mut self, container_id: &ContainerId, signal: Signal);
    /// The containers whose executor has exited since the last call (each once).
    fn reap(&mut self) -> Vec<Termination>;
    /// Resource usage of the container, if it can be measured.
    fn usage(&self, container_id: &ContainerId) -> Option<ResourceStatistics>;
    /// Sets a running container's limits (tasks joined or left its executor). The
    /// default does nothing (containerizers that limit nothing).
    fn update(&mut self, container_id: &ContainerId, limits: ContainerLimits) {
        let _ = (container_id, limits);
    }
    /// What a process started inside the executor's container `root` (a nested
    /// container) applies to itself before exec to join that container's limits. The
    /// default: nothing.
    fn join_limits(&self, root: &ContainerId) -> ChildLimits {
        let _ = root;
        ChildLimits::default()
    }
}

/// Describes a wait status like Mesos's `WSTRINGIFY`.
pub fn describe_status(status: i32) -> String {
    let status = std::process::ExitStatus::from_raw(status);
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => {
            let name = NixSignal::try_from(sig)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| sig.to_string());
            format!("terminated with signal {name}")
        }
        _ => "exited".to_string(),
    }
}

struct Watched {
    pid: u32,
    child: Option<Child>,
    /// The `RLIMIT_DATA` the container's other processes get (an own executor under
    /// rlimits; see [`LaunchRequest::own_executor`]).
    task_data_bytes: Option<u64>,
}

/// The posix containerizer: executors are plain OS processes.
pub struct PosixContainerizer {
    containers: HashMap<ContainerId, Watched>,
    limiter: Limiter,
}

impl Default for PosixContainerizer {
    fn default() -> Self {
        PosixContainerizer::new()
    }
}

impl PosixContainerizer {
    /// A containerizer watching nothing yet, limiting nothing.
    pub fn new() -> PosixContainerizer {
        PosixContainerizer::with_limiter(Limiter::None)
    }

    /// A containerizer that limits containers with `limiter`.
    pub fn with_limiter(limiter: Limiter) -> PosixContainerizer {
        PosixContainerizer { containers: HashMap::new(), limiter }
    }
}

/// The identity the child takes before exec (`--switch_user`).
struct ChildUser {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
    groups: Vec<nix::unistd::Gid>,
}

impl ChildUser {
    fn of(user: &crate::users::RunAs) -> ChildUser {
        ChildUser {
            uid: nix::unistd::Uid::from_raw(user.uid),
            gid: nix::unistd::Gid::from_raw(user.gid),
            groups: user.groups.iter().map(|g| nix::unistd::Gid::from_raw(*g)).collect(),
        }
    }
}

/// Makes the child call `setsid(2)` before exec, so the executor leads its own
/// session and process group: it survives the agent and its terminal, and a kill
/// reaches every process it started. Then it applies its resource limits (joining
/// its cgroup needs the agent's identity) and, last, becomes its user (Mesos:
/// `os::su`: the user's groups, gid, then uid).
#[allow(unsafe_code)]
fn new_session(command: &mut Command, limits: ChildLimits, user: Option<ChildUser>) {
    // SAFETY: the closure runs in the forked child before exec and only makes
    // system calls (setsid(2); open(2)/write(2) on a path prepared beforehand;
    // setrlimit(2); setgroups(2)/setgid(2)/setuid(2) with values prepared
    // beforehand), which are async-signal-safe, allocate nothing and touch no
    // state shared with the parent.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            limits.apply_in_child()?;
            if let Some(user) = &user {
                nix::unistd::setgroups(&user.groups)?;
                nix::unistd::setgid(user.gid)?;
                nix::unistd::setuid(user.uid)?;
            }
            Ok(())
        });
    }
}

fn build_command(request: &LaunchRequest, limits: ChildLimits) -> Result<Command, String> {
    let value = request.command.value.clone().unwrap_or_default();
    if value.is_empty() {
        return Err("the command has no value".into());
    }
    let mut command = if request.command.shell.unwrap_or(true) {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&value);
        c
    } else {
        let mut c = Command::new(&value);
        let mut args = request.command.arguments.iter();
        if let Some(arg0) = args.next() {
            c.arg0(arg0);
        }
        c.args(args);
        c
    };
    // Appended to: the fetcher's log comes first (Mesos: the executor's output follows
    // `mesos-fetcher`'s in the same files).
    let append = |name: &str| {
        fs::OpenOptions::new().create(true).append(true).open(request.sandbox.join(name))
    };
    let stdout = append("stdout").map_err(|e| format!("cannot create stdout: {e}"))?;
    let stderr = append("stderr").map_err(|e| format!("cannot create stderr: {e}"))?;
    if let Some(user) = &request.run_as {
        // The sandbox is the user's (Mesos chowns it whole); so are its output files.
        for file in [&stdout, &stderr] {
            std::os::unix::fs::fchown(file, Some(user.uid), Some(user.gid)).map_err(|e| {
                format!("cannot chown the sandbox's output to '{}': {e}", user.name)
            })?;
        }
    }
    command
        .current_dir(&request.sandbox)
        .env_clear()
        .envs(&request.env)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    if !request.env.contains_key("PATH") {
        command.env("PATH", DEFAULT_PATH);
    }
    new_session(&mut command, limits, request.run_as.as_ref().map(ChildUser::of));
    Ok(command)
}

fn process_gone(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return true };
    match signal::kill(OsPid::from_raw(raw), None) {
        Err(nix::errno::Errno::ESRCH) => true,
        // A zombie still accepts signal 0; it has exited all the same.
        _ => fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(false),
    }
}

/// The processes of session `sid` (from `/proc/<pid>/stat`, field 6).
pub fn session_members(sid: u32) -> Vec<u32> {
    let entries = fs::read_dir("/proc").into_iter().flatten().flatten();
    entries
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // Fields after the parenthesised command name: state(3) ppid(4) pgrp(5) session(6).
            let session = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(3)?.parse::<u32>().ok());
            session == Some(sid)
        })
        .collect()
}

/// Signals the executor's process group and every other process of its session
/// (tasks run in groups of their own).
fn signal_session(sid: u32, sig: NixSignal) {
    let Ok(raw) = i32::try_from(sid) else { return };
    // ESRCH: the group is already gone, which is what we wanted.
    let _ = signal::killpg(OsPid::from_raw(raw), sig);
    for pid in session_members(sid) {
        if let Ok(raw) = i32::try_from(pid) {
            let _ = signal::kill(OsPid::from_raw(raw), sig);
        }
    }
}

impl Containerizer for PosixContainerizer {
    fn launch(&mut self, request: LaunchRequest) -> Result<Option<u32>, AgentError> {
        let fail = |reason: String| AgentError::Launch {
            executor_id: request.container_id.to_string(),
            reason,
        };
        let mut limits =
            self.limiter.prepare(&request.container_id, request.limits).map_err(fail)?;
        if !limits.is_empty() {
            tracing::info!(container = %request.container_id, limiter = self.limiter.name(), limits = ?request.limits, own_executor = request.own_executor, "limiting the container");
        }
        let task_data_bytes = if request.own_executor { limits.take_data_limit() } else { None };
        let mut command = build_command(&request, limits).map_err(fail)?;
        if let Some(bytes) = task_data_bytes {
            command.env(crate::limits::TASK_RLIMIT_DATA_ENV, bytes.to_string());
        }
        let child = command.spawn().map_err(|e| fail(format!("cannot start the executor: {e}")))?;
        let pid = child.id();
        let user = request.run_as.as_ref().map(|u| u.name.as_str());
        tracing::info!(container = %request.container_id, pid, ?user, "launched executor");
        let watched = Watched { pid, child: Some(child), task_data_bytes };
        self.containers.insert(request.container_id, watched);
        Ok(Some(pid))
    }

    fn recover(&mut self, container_id: &ContainerId, os_pid: Option<u32>) -> bool {
        let Some(pid) = os_pid else { return false };
        if process_gone(pid) {
            return false;
        }
        // An own executor under rlimits still carries its tasks' limit in its environment.
        let task_data_bytes = crate::limits::task_data_limit_of(pid);
        self.containers.insert(container_id.clone(), Watched { pid, child: None, task_data_bytes });
        true
    }

    fn signal(&mut self, container_id: &ContainerId, signal: Signal) {
        if let Some(watched) = self.containers.get(container_id) {
            let sig = match signal {
                Signal::Term => NixSignal::SIGTERM,
                Signal::Kill => NixSignal::SIGKILL,
            };
            tracing::info!(container = %container_id, pid = watched.pid, ?sig, "signalling the executor's session");
            signal_session(watched.pid, sig);
        }
    }

    fn reap(&mut self) -> Vec<Termination> {
        let mut exited = Vec::new();
        for (container_id, watched) in &mut self.containers {
            let termination = match &mut watched.child {
                Some(child) => match child.try_wait() {
                    Ok(Some(status)) => {
                        let raw = status.into_raw();
                        Some(Termination {
                            container_id: container_id.clone(),
                            status: Some(raw),
                            message: format!("Executor {}", describe_status(raw)),
                        })
                    }
                    Ok(None) => None,
                    Err(e) => Some(Termination {
                        container_id: container_id.clone(),
                        status: None,
                        message: format!("Cannot wait for the executor: {e}"),
                    }),
                },
                None => process_gone(watched.pid).then(|| Termination {
                    container_id: container_id.clone(),
                    status: None,
                    message: "Executor exited while not watched by this agent".into(),
                }),
            };
            if let Some(termination) = termination {
                // Whatever the executor left behind in its group goes with it.
                signal_session(watched.pid, NixSignal::SIGKILL);
                exited.push(termination);
            }
        }
        for termination in &exited {
            self.containers.remove(&termination.container_id);
            self.limiter.cleanup(&termination.container_id);
        }
        exited
    }

    fn update(&mut self, container_id: &ContainerId, limits: ContainerLimits) {
        if !self.containers.contains_key(container_id) {
            return;
        }
        if let Err(error) = self.limiter.update(container_id, limits) {
            tracing::warn!(container = %container_id, %error, "cannot resize the container");
        }
    }

    fn join_limits(&self, root: &ContainerId) -> ChildLimits {
        let Some(watched) = self.containers.get(root) else { return ChildLimits::default() };
        self.limiter.join(root).with_data_limit(watched.task_data_bytes)
    }

    fn usage(&self, container_id: &ContainerId) -> Option<ResourceStatistics> {
        let watched = self.containers.get(container_id)?;
        Some(crate::containerizer::usage::session_usage(watched.pid))
    }
}

/// Reading resource usage of a process group from `/proc`.
pub mod usage {
    use mesos_proto::mesos::ResourceStatistics;

    /// Sums CPU times, resident memory, processes and threads of every process in
    /// the session `sid` (the executor and its tasks).
    pub fn session_usage(sid: u32) -> ResourceStatistics {
        let ticks =
            nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100)
                as f64;
        let page =
            nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().unwrap_or(4096)
                as u64;
        let (mut user, mut system, mut rss_pages, mut processes, mut threads) =
            (0u64, 0u64, 0u64, 0u32, 0u32);
        let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
        for entry in entries {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // Fields after the parenthesised command name: state(3) ppid(4) pgrp(5) ...
            let Some((_, rest)) = stat.rsplit_once(')') else { continue };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let field =
                |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
            if field(6) != u64::from(sid) {
                continue;
            }
            user += field(14);
            system += field(15);
            threads += field(20) as u32;
            rss_pages += field(24);
            processes += 1;
        }
        ResourceStatistics {
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            processes: Some(processes),
            threads: Some(threads),
            cpus_user_time_secs: Some(user as f64 / ticks),
            cpus_system_time_secs: Some(system as f64 / ticks),
            mem_rss_bytes: Some(rss_pages * page),
            mem_total_bytes: Some(rss_pages * page),
            ..ResourceStatistics::default()
        }
    }
}

#[cfg(test)]
#[path = "containerizer_tests.rs"]
mod tests;

#[cfg(test)]
impl PosixContainerizer {
    /// Blocks until the container's child exits, then reaps it (tests only).
    fn wait_child(&mut self, container_id: &ContainerId) -> Termination {
        if let Some(Watched { child: Some(child), .. }) = self.containers.get_mut(container_id) {
            let _ = child.wait();
        }
        let mut exited = self.reap();
        assert_eq!(exited.len(), 1, "exactly the waited container exited");
        exited.remove(0)
    }
}
