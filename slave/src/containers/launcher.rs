//! The launcher step between the agent and a `DEFAULT` container's command:
//! `mesos-containerizer launch`, which records how the command ended in a file, so that
//! an agent restarted while the container ran (or ended) still learns its exit.
//!
//! Mesos: src/slave/containerizer/mesos/launch.cpp. With a status file to write, Mesos's
//! `mesos-containerizer launch` forks the command, waits for it (reaping everything
//! else), writes the raw wait status and exits; the containerizer reads the file when the
//! launcher's pid ends (`containerizer::paths::getContainerStatus`).
//!
//! 1. The agent starts `mesos-containerizer launch --runtime_dir=<dir> [--arg0=<name>]
//!    -- <program> <args>...` in the container's sandbox, environment and output files,
//!    leading a session of its own (see `process`).
//! 2. The launcher takes an exclusive `flock` on `<dir>/lock` and keeps it until it exits:
//!    a restarted agent waits for the container by waiting for that lock (the kernel
//!    drops it when the launcher's last descriptor closes), which needs neither the
//!    launcher to be its child nor trust in a pid that may have been reused.
//! 3. It starts the command in its own process group (so a kill of the group reaches
//!    both), ignoring catchable signals itself (a no-op handler, which `exec` resets for
//!    the command), waits for it and writes its raw wait status to `<dir>/status`
//!    (temp file and rename). A SIGKILL of the group ends the launcher too, unrecorded:
//!    the agent then takes the launcher's own status, which is the same SIGKILL.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use mesos_proto::mesos::CommandInfo;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The launcher's program, in `--launcher_dir` beside `mesos-agent` (Mesos's name).
pub const LAUNCHER_BINARY: &str = "mesos-containerizer";

/// The file holding the launcher's lock, under the container's runtime folder.
pub const LOCK_FILE: &str = "lock";

/// The file the launcher writes the command's raw wait status to (Mesos: `status`).
pub const STATUS_FILE: &str = "status";

/// What a launcher runs: the program, its `argv[0]` and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The program (`/bin/sh` for a shell command).
    pub program: String,
    /// Its `argv[0]`, when it differs from the program.
    pub arg0: Option<String>,
    /// The arguments after `argv[0]`.
    pub args: Vec<String>,
}

impl Invocation {
    /// How `command` runs: `sh -c <value>` unless `shell` is false, then `value` with
    /// `arguments` (whose first is its `argv[0]`), as Mesos's launch does.
    pub fn of(command: &CommandInfo) -> Result<Invocation, String> {
        let value = command.value.clone().unwrap_or_default();
        if value.is_empty() {
            return Err("the command has no value".into());
        }
        if command.shell.unwrap_or(true) {
            return Ok(Invocation {
                program: "/bin/sh".into(),
                arg0: None,
                args: vec!["-c".into(), value],
            });
        }
        let mut args = command.arguments.iter().cloned();
        let arg0 = args.next();
        Ok(Invocation { program: value, arg0, args: args.collect() })
    }

    /// The command starting this invocation under the launcher `launcher`, recording
    /// into `runtime_dir`.
    pub fn under_launcher(&self, launcher: &Path, runtime_dir: &Path) -> Command {
        let mut command = Command::new(launcher);
        command.arg("launch").arg(format!("--runtime_dir={}", runtime_dir.display()));
        if let Some(arg0) = &self.arg0 {
            command.arg(format!("--arg0={arg0}"));
        }
        command.arg("--").arg(&self.program).args(&self.args);
        command
    }

    /// The command starting this invocation directly.
    pub fn direct(&self) -> Command {
        let mut command = Command::new(&self.program);
        if let Some(arg0) = &self.arg0 {
            command.arg0(arg0);
        }
        command.args(&self.args);
        command
    }
}

/// The parsed `launch` arguments.
#[derive(Debug, PartialEq, Eq)]
struct LaunchArgs {
    runtime_dir: PathBuf,
    invocation: Invocation,
}

fn parse(args: &[String]) -> Result<LaunchArgs, String> {
    let mut rest = args.iter();
    if rest.next().map(String::as_str) != Some("launch") {
        return Err("usage: mesos-containerizer launch --runtime_dir=DIR [--arg0=NAME] -- PROGRAM [ARGS...]".into());
    }
    let (mut runtime_dir, mut arg0) = (None, None);
    for arg in rest.by_ref() {
        if arg == "--" {
            break;
        } else if let Some(dir) = arg.strip_prefix("--runtime_dir=") {
            runtime_dir = Some(PathBuf::from(dir));
        } else if let Some(name) = arg.strip_prefix("--arg0=") {
            arg0 = Some(name.to_string());
        } else {
            return Err(format!("unknown argument {arg:?}"));
        }
    }
    let runtime_dir = runtime_dir.ok_or("--runtime_dir is required")?;
    let program = rest.next().ok_or("no program after --")?.clone();
    let invocation = Invocation { program, arg0, args: rest.cloned().collect() };
    Ok(LaunchArgs { runtime_dir, invocation })
}

/// Does nothing: the launcher outlives the catchable signals its group receives, so
/// that it can record how the command (which gets them too) ended.
extern "C" fn ignore_signal(_: nix::libc::c_int) {}

/// Installs [`ignore_signal`] for the signals a kill sends. A handler rather than
/// `SIG_IGN`, because `exec` resets handlers but keeps ignored signals ignored: the
/// command must get the default dispositions.
#[allow(unsafe_code)]
fn outlive_signals() {
    let action =
        SigAction::new(SigHandler::Handler(ignore_signal), SaFlags::SA_RESTART, SigSet::empty());
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        // SAFETY: the handler is async-signal-safe (it does nothing) and the process is
        // single-threaded here; no other handler is replaced.
        if let Err(error) = unsafe { sigaction(signal, &action) } {
            eprintln!("mesos-containerizer: cannot handle {signal}: {error}");
        }
    }
}

/// Writes `status` to `<runtime_dir>/status` atomically.
pub fn write_status(runtime_dir: &Path, status: i32) -> std::io::Result<()> {
    let temp = runtime_dir.join(".status.tmp");
    let mut file = File::create(&temp)?;
    file.write_all(status.to_string().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, runtime_dir.join(STATUS_FILE))
}

/// The raw wait status the launcher recorded in `runtime_dir`, if it did.
pub fn read_status(runtime_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(runtime_dir.join(STATUS_FILE)).ok()?.trim().parse().ok()
}

/// True while a launcher holds the lock of `runtime_dir` (its container runs).
pub fn is_running(runtime_dir: &Path) -> bool {
    let Ok(file) = File::open(runtime_dir.join(LOCK_FILE)) else { return false };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_) => false,
        Err((_, errno)) => errno == nix::errno::Errno::EWOULDBLOCK,
    }
}

/// Blocks until no launcher holds the lock of `runtime_dir` (its container ended).
/// Runs on a blocking thread.
pub fn wait_unlocked(runtime_dir: &Path) {
    let Ok(file) = File::open(runtime_dir.join(LOCK_FILE)) else { return };
    // An error other than the wait itself (EINTR is retried by flock's callers below)
    // means the lock cannot be waited for: treat the container as ended.
    let mut file = file;
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(_) => return,
            Err((back, nix::errno::Errno::EINTR)) => file = back,
            Err(_) => return,
        }
    }
}

/// `mesos-containerizer` with these arguments (the first is the program name).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<String> =
        args.into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let LaunchArgs { runtime_dir, invocation } = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("mesos-containerizer: {message}");
            return ExitCode::from(1);
        }
    };
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(runtime_dir.join(LOCK_FILE))
        .map_err(|e| e.to_string())
        .and_then(|file| {
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| errno.to_string())
        });
    // Held (not read) until the process exits: the kernel then drops the lock.
    let _lock = match lock {
        Ok(lock) => lock,
        Err(error) => {
            eprintln!("mesos-containerizer: cannot lock {}: {error}", runtime_dir.display());
            return ExitCode::from(1);
        }
    };
    outlive_signals();
    let status = match invocation.direct().spawn() {
        // `wait` retries on EINTR; the child's raw status is what WAIT reports.
        Ok(mut child) => match child.wait() {
            Ok(status) => status.into_raw(),
            Err(error) => {
                eprintln!("mesos-containerizer: cannot wait for the command: {error}");
                return ExitCode::from(1);
            }
        },
        Err(error) => {
            eprintln!("mesos-containerizer: cannot start {}: {error}", invocation.program);
            // As a shell reports a command it cannot run: exit code 127.
            127 << 8
        }
    };
    if let Err(error) = write_status(&runtime_dir, status) {
        eprintln!("mesos-containerizer: cannot record the exit status: {error}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    /// The agent's invocation round-trips through the launcher's parser.
    #[test]
    fn launch_arguments_round_trip() {
        let invocation = Invocation {
            program: "/bin/echo".into(),
            arg0: Some("echo".into()),
            args: strings(&["a", "--", "b"]),
        };
        let command = invocation.under_launcher(Path::new("/l"), Path::new("/run/c"));
        let args: Vec<String> =
            command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let parsed = parse(&args).unwrap();
        assert_eq!(parsed, LaunchArgs { runtime_dir: "/run/c".into(), invocation });
        assert!(parse(&strings(&["launch", "--", "x"])).is_err(), "--runtime_dir is required");
        assert!(parse(&strings(&["run"])).is_err());
    }

    /// A shell command runs as `sh -c`; a non-shell one as its value with its arguments.
    #[test]
    fn invocation_follows_the_shell_flag() {
        let shell = CommandInfo { value: Some("echo hi".into()), ..Default::default() };
        assert_eq!(Invocation::of(&shell).unwrap().args, strings(&["-c", "echo hi"]));
        let plain = CommandInfo {
            value: Some("/bin/echo".into()),
            shell: Some(false),
            arguments: strings(&["echo", "hi"]),
            ..Default::default()
        };
        let plain = Invocation::of(&plain).unwrap();
        assert_eq!((plain.arg0.as_deref(), plain.args), (Some("echo"), strings(&["hi"])));
        assert!(Invocation::of(&CommandInfo::default()).is_err());
    }

    /// The status file round-trips, and a lock nobody holds means the container ended.
    #[test]
    fn status_and_lock_files() {
        let dir = std::env::temp_dir().join(format!("launcher-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read_status(&dir), None);
        write_status(&dir, 768).unwrap();
        assert_eq!(read_status(&dir), Some(768));
        assert!(!is_running(&dir), "no lock file: not running");
        std::fs::write(dir.join(LOCK_FILE), "").unwrap();
        let held = Flock::lock(File::open(dir.join(LOCK_FILE)).unwrap(), FlockArg::LockExclusive)
            .map_err(|_| ())
            .unwrap();
        assert!(is_running(&dir), "the lock is held");
        drop(held);
        assert!(!is_running(&dir));
        wait_unlocked(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
