//! How the command executor runs its task's command: the seam between the executor
//! (which decides what to start and when to signal it) and the operating system.
//!
//! [`PosixTaskRunner`] runs `sh -c <command>` in the sandbox as the leader of a new
//! process group inside the executor's session, so a kill reaches every process the
//! task started (Mesos: launcher/executor.cpp launches the task in its own session
//! and kills it with `os::killtree`), while the agent, which signals the executor's
//! whole session, still reaches the task too. Tests use an in-memory runner.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use mesos_proto::mesos::CommandInfo;
use nix::sys::signal::{self, Signal as NixSignal};

use crate::containerizer::Signal;
use crate::limits::{ChildLimits, TASK_RLIMIT_DATA_ENV};

/// Called once when the task's process exits, with its raw wait status if known (from
/// the waiter's thread: the command executor forwards it through the driver's `Notifier`).
pub type OnExit = Box<dyn FnOnce(Option<i32>) + Send>;

/// Starts the task's command and signals it.
pub trait TaskRunner: Send + 'static {
    /// Starts `command` in `sandbox`; returns an id for [`TaskRunner::signal`] (the OS
    /// pid of the process group leader). `on_exit` is called once when it ends.
    fn start(
        &mut self,
        command: &CommandInfo,
        sandbox: &Path,
        on_exit: OnExit,
    ) -> Result<u32, String>;
    /// Signals every process of the task.
    fn signal(&mut self, task: u32, signal: Signal);
    /// How many processes the kernel's OOM killer has killed in the task's container so
    /// far, where the machine tells (`None`: it does not; see `limits`).
    fn oom_kills(&self) -> Option<u64> {
        None
    }
    /// The prober of the checks of task `task` when this runner carries them out
    /// itself (the default executor's COMMAND checks run as nested containers of the
    /// task's: [`crate::nested_checks`]); `None` leaves them to the executor's prober.
    fn check_prober(&self, _task: u32) -> Option<Box<dyn mesos_framework::checks::Prober>> {
        None
    }
}

/// The real runner: an OS process group per task.
#[derive(Debug, Default)]
pub struct PosixTaskRunner {
    /// The `RLIMIT_DATA` each task gets (the container's memory, under the agent's
    /// rlimits limiter: see `limits.rs`).
    data_limit: Option<u64>,
}

impl PosixTaskRunner {
    /// A runner giving each task the data limit the agent put in the executor's
    /// environment ([`TASK_RLIMIT_DATA_ENV`]), if any.
    pub fn from_env() -> PosixTaskRunner {
        let data_limit = std::env::var(TASK_RLIMIT_DATA_ENV).ok().and_then(|v| v.parse().ok());
        PosixTaskRunner { data_limit }
    }
}

/// Makes the task's child apply `limits` before exec.
#[allow(unsafe_code)]
fn limit_child(command: &mut Command, limits: ChildLimits) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setrlimit(2) with a value prepared beforehand: async-signal-safe, no allocation,
    // no state shared with the parent.
    unsafe {
        command.pre_exec(move || limits.apply_in_child());
    }
}

impl TaskRunner for PosixTaskRunner {
    fn start(
        &mut self,
        command: &CommandInfo,
        sandbox: &Path,
        on_exit: OnExit,
    ) -> Result<u32, String> {
        let mut process = Command::new("/bin/sh");
        process
            .arg("-c")
            .arg(command.value.clone().unwrap_or_default())
            .current_dir(sandbox)
            .stdin(Stdio::null());
        // Its own group (pgid = its pid), in the executor's session.
        process.process_group(0);
        // The executor's token is its own, not the task's (Mesos: executor.cpp erases it
        // from the environment so no other process of the container sees it).
        process.env_remove(mesos_security::jwt::EXECUTOR_TOKEN_ENV);
        process.env_remove(TASK_RLIMIT_DATA_ENV);
        if let Some(bytes) = self.data_limit {
            limit_child(&mut process, ChildLimits::default().with_data_limit(Some(bytes)));
        }
        let variables =
            command.environment.as_ref().map(|e| e.variables.as_slice()).unwrap_or_default();
        for variable in variables {
            if let Some(value) = &variable.value {
                process.env(&variable.name, value);
            }
        }
        let mut child =
            process.spawn().map_err(|error| format!("Cannot start the command: {error}"))?;
        let pid = child.id();
        std::thread::Builder::new()
            .name("task-waiter".into())
            .spawn(move || {
                // Waiting reaps the child, so no zombie is left behind.
                let status = child.wait().map(|s| s.into_raw()).ok();
                on_exit(status);
            })
            .map_err(|error| format!("Cannot watch the command: {error}"))?;
        Ok(pid)
    }

    fn signal(&mut self, task: u32, signal: Signal) {
        let sig = match signal {
            Signal::Term => NixSignal::SIGTERM,
            Signal::Kill => NixSignal::SIGKILL,
        };
        if let Ok(raw) = i32::try_from(task) {
            // ESRCH: the group is already gone, which is what we wanted.
            let _ = signal::killpg(nix::unistd::Pid::from_raw(raw), sig);
        }
    }

    /// The executor joined its container's cgroup before exec, and the task is in it too.
    fn oom_kills(&self) -> Option<u64> {
        crate::limits::oom_kills_of_own_cgroup(Path::new("/sys/fs/cgroup"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The task gets the data limit the agent gave the executor, which itself has none.
    #[test]
    fn the_task_gets_the_data_limit() {
        let sandbox = std::env::temp_dir().join(format!("runner-limit-{}", std::process::id()));
        std::fs::create_dir_all(&sandbox).unwrap();
        let mut runner = PosixTaskRunner { data_limit: Some(80 << 20) };
        let command = CommandInfo {
            value: Some(format!("ulimit -d > out; echo ${TASK_RLIMIT_DATA_ENV} >> out")),
            ..CommandInfo::default()
        };
        let (sender, exited) = std::sync::mpsc::channel();
        let on_exit: OnExit = Box::new(move |status| {
            let _ = sender.send(status);
        });
        runner.start(&command, &sandbox, on_exit).unwrap();
        let status = exited.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        assert_eq!(status, Some(0));
        let out = std::fs::read_to_string(sandbox.join("out")).unwrap();
        assert_eq!(out, format!("{}\n\n", 80 * 1024), "KB, and the variable is not passed on");
        let _ = std::fs::remove_dir_all(&sandbox);
    }
}
