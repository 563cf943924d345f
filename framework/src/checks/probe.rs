//! Carrying out one probe: the seam between the checkers and the operating system.
//!
//! [`OsProber`] runs each probe on a thread of its own and reports through the callback
//! it was given (the executor forwards it to the driver through its `Notifier`). Each
//! probe bounds itself by the check's timeout too, so a probe the checker has given up
//! on (its timeout fired on the driver first) still ends: the command's process group
//! is killed, the HTTP request and the TCP connect time out. A checker runs one probe
//! at a time, so at most two threads per check exist (the one given up on and the
//! next).
//!
//! Mesos: checker_process.cpp runs the command with the executor's environment in the
//! task's sandbox (`commandCheck`), the HTTP check with `curl -s -S -L -k` against
//! `scheme://127.0.0.1:port/path` (`[::1]` for IPv6; `httpCheck`), and the TCP check with
//! `mesos-tcp-connect` (`tcpCheck`).

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::core::{Probe, ProbeResult};

/// Where a task's command probes run: its sandbox and its environment.
#[derive(Debug, Clone, Default)]
pub struct ProbeContext {
    /// The task's sandbox: the command's working directory.
    pub sandbox: PathBuf,
    /// The task's environment (`CommandInfo.environment`), under the check's own.
    pub env: Vec<(String, String)>,
}

/// Called once with how the probe ended, from any thread.
pub type OnProbeDone = Box<dyn FnOnce(ProbeResult) + Send>;

/// Carries out probes.
pub trait Prober: Send + 'static {
    /// Starts `probe` (bounded by `timeout`, if any) and calls `done` when it ends.
    fn run(
        &mut self,
        probe: &Probe,
        timeout: Option<Duration>,
        context: &ProbeContext,
        done: OnProbeDone,
    );
}

/// The real prober: processes, HTTP requests and connections on this machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsProber;

impl Prober for OsProber {
    fn run(
        &mut self,
        probe: &Probe,
        timeout: Option<Duration>,
        context: &ProbeContext,
        done: OnProbeDone,
    ) {
        let probe = probe.clone();
        let context = context.clone();
        let spawned = std::thread::Builder::new().name("check-probe".into()).spawn(move || {
            let result = match &probe {
                Probe::Command(command) => command_probe(command, timeout, &context),
                Probe::Http { scheme, address, path } => {
                    http_probe(scheme, *address, path, timeout)
                }
                Probe::Tcp { address } => tcp_probe(*address, timeout),
            };
            done(result);
        });
        if let Err(error) = spawned {
            // `done` went with the closure; the checker's timeout (if any) reports it.
            tracing::warn!(%error, "cannot start a check probe");
        }
    }
}

fn command_probe(
    command: &mesos_proto::mesos::CommandInfo,
    timeout: Option<Duration>,
    context: &ProbeContext,
) -> ProbeResult {
    let value = command.value.clone().unwrap_or_default();
    let mut process = if command.shell.unwrap_or(true) {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c").arg(&value);
        sh
    } else {
        // Mesos: `arguments` holds argv[0] first.
        let mut exec = Command::new(&value);
        exec.args(command.arguments.iter().skip(1));
        exec
    };
    process
        .current_dir(&context.sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .envs(context.env.iter().map(|(k, v)| (k, v)))
        .process_group(0);
    let variables =
        command.environment.as_ref().map(|e| e.variables.as_slice()).unwrap_or_default();
    for variable in variables {
        if let Some(value) = &variable.value {
            process.env(&variable.name, value);
        }
    }
    let mut child = match process.spawn() {
        Ok(child) => child,
        Err(error) => return ProbeResult::Error(format!("Cannot run the check command: {error}")),
    };
    let pid = child.id();
    let (tx, rx) = mpsc::sync_channel(1);
    let waiter = std::thread::Builder::new().name("check-waiter".into()).spawn(move || {
        // Waiting reaps the child, so no zombie is left.
        let _ = tx.send(child.wait());
    });
    if let Err(error) = waiter {
        return ProbeResult::Error(format!("Cannot watch the check command: {error}"));
    }
    let status = match timeout {
        Some(timeout) => rx.recv_timeout(timeout).map_err(|e| e.to_string()),
        None => rx.recv().map_err(|e| e.to_string()),
    };
    match status {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(exit_code), _) => ProbeResult::Command { exit_code },
            (None, Some(signal)) => {
                ProbeResult::Error(format!("Command terminated with signal {signal}"))
            }
            (None, None) => ProbeResult::Error("Command ended without a status".into()),
        },
        Ok(Err(error)) => ProbeResult::Error(format!("Cannot wait for the check command: {error}")),
        Err(_) => {
            if let Ok(raw) = i32::try_from(pid) {
                // ESRCH: it ended meanwhile, which is what we want.
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(raw),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            ProbeResult::Error(format!("Command timed out after {:?}", timeout.unwrap_or_default()))
        }
    }
}

/// Mesos runs `curl -L -k`: redirects are followed, certificates are not checked (the
/// task's own, on loopback), any answer is a status code; no answer is an error.
fn http_probe(
    scheme: &str,
    address: SocketAddr,
    path: &str,
    timeout: Option<Duration>,
) -> ProbeResult {
    // An IPv6 address prints in brackets, as a URL wants it.
    let url = format!("{scheme}://{address}{path}");
    let tls = ureq::tls::TlsConfig::builder().disable_verification(true).build();
    let config = ureq::Agent::config_builder()
        .timeout_global(timeout)
        .http_status_as_error(false)
        // The task is on this machine: never through a proxy from the environment.
        .proxy(None)
        .tls_config(tls)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    match agent.get(&url).call() {
        Ok(response) => ProbeResult::Http { status_code: u32::from(response.status().as_u16()) },
        Err(error) => ProbeResult::Error(format!("GET {url} failed: {error}")),
    }
}

/// Mesos: `mesos-tcp-connect` exits 0 when it connects; a refused connection is a
/// result (not connected), a connection that hangs past the timeout an error.
fn tcp_probe(address: SocketAddr, timeout: Option<Duration>) -> ProbeResult {
    let connected = match timeout {
        Some(timeout) => TcpStream::connect_timeout(&address, timeout),
        None => TcpStream::connect(address),
    };
    match connected {
        Ok(_) => ProbeResult::Tcp { succeeded: true },
        Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
            ProbeResult::Error(format!("TCP connection to {address} timed out"))
        }
        Err(_) => ProbeResult::Tcp { succeeded: false },
    }
}
