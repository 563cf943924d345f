//! Starting a container's process: a session of its own, in its sandbox, with its
//! output in files (a `DEFAULT` container), in pipes (a session) or on a pseudo
//! terminal (a session with `tty_info`).
//!
//! Mesos: src/slave/containerizer/mesos/launch.cpp (the process, `setsid`, the
//! controlling terminal), src/slave/containerizer/mesos/io/switchboard.cpp (a session's
//! stdin/stdout/stderr, or one pty for all three with `TTYInfo`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use mesos_proto::mesos::CommandInfo;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid as OsPid;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

use super::launcher::Invocation;
use crate::containerizer::DEFAULT_PATH;
use crate::limits::ChildLimits;

/// Where a container's standard streams go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoMode {
    /// stdin from `/dev/null`, stdout and stderr appended to `stdout`/`stderr` in the
    /// sandbox (a `DEFAULT` container, as Mesos's default logger).
    Files,
    /// Three pipes the agent reads and writes (a session without a TTY).
    Pipes,
    /// One pseudo terminal of this size (rows, columns) for all three.
    Tty(u16, u16),
}

/// What to start.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The command (`sh -c value` unless `shell` is false).
    pub command: CommandInfo,
    /// The working directory.
    pub sandbox: PathBuf,
    /// The whole environment.
    pub env: BTreeMap<String, String>,
    /// Where the standard streams go.
    pub io: IoMode,
    /// Start it through `mesos-containerizer launch` (the launcher's path and the
    /// container's runtime folder), which records its exit status there (see
    /// `launcher`); `None`: start the command itself.
    pub launcher: Option<(PathBuf, PathBuf)>,
    /// What the process applies to itself before exec (a nested container joins its
    /// executor's cgroup).
    pub limits: ChildLimits,
}

/// The agent's ends of a session's streams.
pub enum SessionIo {
    /// None (`IoMode::Files`).
    None,
    /// The three pipes.
    Pipes {
        /// The process's standard input.
        stdin: ChildStdin,
        /// Its standard output.
        stdout: ChildStdout,
        /// Its standard error.
        stderr: ChildStderr,
    },
    /// The terminal's master side (read: the output; write: the input).
    Tty {
        /// The master.
        master: File,
    },
}

/// A started process.
pub struct Started {
    /// The child, to wait for.
    pub child: Child,
    /// Its OS pid, which is also its session and process group.
    pub pid: u32,
    /// The agent's ends of its streams.
    pub io: SessionIo,
}

/// Makes the child lead a session of its own (and, with a terminal on its stdin, make
/// that terminal its controlling one), so that a kill of its group reaches everything
/// it starts and a TTY behaves as one (job control, `^C`).
#[allow(unsafe_code)]
fn new_session(command: &mut Command, controlling_tty: bool, limits: ChildLimits) {
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe system calls (setsid(2), ioctl(2) on fd 0, and
    // `apply_in_child`'s open(2)/write(2)/setrlimit(2) on data prepared before the
    // fork), allocating nothing and touching no state shared with the parent.
    unsafe {
        command.pre_exec(move || {
            limits.apply_in_child()?;
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if controlling_tty && nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn base_command(spec: &Spec) -> Result<Command, String> {
    let invocation = Invocation::of(&spec.command)?;
    let mut command = match &spec.launcher {
        Some((launcher, runtime_dir)) => invocation.under_launcher(launcher, runtime_dir),
        None => invocation.direct(),
    };
    command.current_dir(&spec.sandbox).env_clear().envs(&spec.env);
    if !spec.env.contains_key("PATH") {
        command.env("PATH", DEFAULT_PATH);
    }
    Ok(command)
}

/// Starts `spec`'s process. Must run inside the agent's runtime (the child is waited
/// for by it).
pub fn spawn(spec: &Spec) -> Result<Started, String> {
    let mut command = base_command(spec)?;
    let mut master = None;
    match spec.io {
        IoMode::Files => {
            let append = |name: &str| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(spec.sandbox.join(name))
                    .map_err(|e| format!("cannot create {name}: {e}"))
            };
            command.stdin(Stdio::null()).stdout(append("stdout")?).stderr(append("stderr")?);
        }
        IoMode::Pipes => {
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        IoMode::Tty(rows, columns) => {
            let size =
                nix::pty::Winsize { ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0 };
            let pty =
                nix::pty::openpty(&size, None).map_err(|e| format!("cannot open a pty: {e}"))?;
            let slave = File::from(pty.slave);
            let clone = || slave.try_clone().map_err(|e| format!("cannot share the pty: {e}"));
            command.stdin(clone()?).stdout(clone()?).stderr(slave);
            master = Some(File::from(pty.master));
        }
    }
    new_session(&mut command, master.is_some(), spec.limits.clone());
    let mut child = tokio::process::Command::from(command)
        .spawn()
        .map_err(|e| format!("cannot start the command: {e}"))?;
    let pid = child.id().ok_or("the process ended before it could be watched")?;
    let io = match (master, child.stdin.take(), child.stdout.take(), child.stderr.take()) {
        (Some(master), ..) => SessionIo::Tty { master },
        (None, Some(stdin), Some(stdout), Some(stderr)) => {
            SessionIo::Pipes { stdin, stdout, stderr }
        }
        _ => SessionIo::None,
    };
    Ok(Started { child, pid, io })
}

/// Sends `signal` to the process group `pid` leads (and so to everything it started
/// that stayed in its group). An already gone group is not an error.
pub fn signal_group(pid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    // ESRCH: the group is gone, which is what a kill wants.
    let _ = signal::killpg(OsPid::from_raw(raw), signal);
}

/// Sets a terminal's window size (Mesos: switchboard.cpp, `TTY_INFO` control messages
/// become `TIOCSWINSZ`).
#[allow(unsafe_code)]
pub fn set_window_size(master: &File, rows: u16, columns: u16) -> std::io::Result<()> {
    let size = nix::libc::winsize { ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one `winsize` through the pointer, which points at a
    // live local of that type; the descriptor is owned by `master` for the call.
    let result = unsafe { nix::libc::ioctl(master.as_raw_fd(), nix::libc::TIOCSWINSZ as _, &size) };
    if result == -1 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}
