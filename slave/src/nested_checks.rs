//! The default executor's COMMAND checks and health checks, each run as a container
//! nested in the task's, as Mesos's default executor does.
//!
//! Mesos: src/checks/checker_process.cpp (`nestedCommandCheck`, `_nestedCommandCheck`,
//! `__nestedCommandCheck`, `___nestedCommandCheck`, `nestedCommandCheckFailure`,
//! `waitNestedContainer`), used by the default executor for its tasks' checks
//! (`checks::runtime::Nested`); HTTP and TCP checks still run from the executor.
//!
//! One probe of a COMMAND check, on a thread of its own (as [`OsProber`]'s):
//!
//! 1. The previous probe's container, if any, is removed (REMOVE_NESTED_CONTAINER).
//!    `404` means the agent forgot it already (it restarted): nothing to remove.
//!
//! Whenever the agent refuses a call or cannot be reached (it may be restarting), the
//! probe is [`ProbeResult::Skipped`]: no result, neither success nor failure, as Mesos
//! discards the check's promise ("treat this as a transient failure"). Only a timeout,
//! a death by signal and a missing exit code count as failures.
//! 2. LAUNCH_NESTED_CONTAINER_SESSION of `check-<uuid>` nested in the task's
//!    container, with the check's command. The agent runs a session (`DEBUG`)
//!    container in the task's sandbox with the task's environment under the check's
//!    own, and streams its output back until it exits; the output is logged.
//! 3. At the check's `timeout_seconds` the connection is dropped, which makes the agent
//!    kill the session (Mesos relies on that alone; the agent notices it only at its
//!    next write, so KILL_NESTED_CONTAINER follows); the probe waits for its end and
//!    reports a timeout.
//! 4. WAIT_NESTED_CONTAINER gives the exit status: an exit code is the result; a death
//!    by signal is an error (Mesos discards a SIGKILLed check: the task went away).
//!
//! HTTP and TCP probes go to [`OsProber`], as under the command executor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mesos_framework::checks::{OnProbeDone, OsProber, Probe, ProbeContext, ProbeResult, Prober};
use mesos_proto::http_api::{PROTOBUF, evolve};
use mesos_proto::mesos::CommandInfo;
use mesos_proto::mesos::v1::{self, agent};
use nix::sys::wait::WaitStatus;
use prost::Message;

use crate::containers::io::{MESSAGE_ACCEPT, RECORDIO, split_records};
use crate::nested_runner::{AgentApi, kill_call, new_container_value, wait_call};

/// The prefix of a check container's id (Mesos: `check-<uuid>`).
pub const CHECK_CONTAINER_PREFIX: &str = "check-";

/// Longest bit of a check's output that goes to the log.
const LOGGED_OUTPUT: usize = 4096;

/// Runs one task's COMMAND probes as nested containers of its container.
pub struct NestedCheckProber {
    api: AgentApi,
    /// The task's container: the parent of every check container.
    task_container: v1::ContainerId,
    /// The last check container, removed before the next starts (shared with the
    /// probe threads, which set it).
    previous: Arc<Mutex<Option<v1::ContainerId>>>,
}

impl NestedCheckProber {
    /// A prober for the task running in `task_container`, talking to the agent at `api`.
    pub(crate) fn new(api: AgentApi, task_container: v1::ContainerId) -> NestedCheckProber {
        NestedCheckProber { api, task_container, previous: Arc::new(Mutex::new(None)) }
    }
}

impl Prober for NestedCheckProber {
    fn run(
        &mut self,
        probe: &Probe,
        timeout: Option<Duration>,
        context: &ProbeContext,
        done: OnProbeDone,
    ) {
        let Probe::Command(command) = probe else {
            return OsProber.run(probe, timeout, context, done);
        };
        let probe = NestedProbe {
            api: self.api.clone(),
            parent: self.task_container.clone(),
            previous: Arc::clone(&self.previous),
            command: command.clone(),
            timeout,
        };
        let spawned = std::thread::Builder::new()
            .name("nested-check".into())
            .spawn(move || done(probe.run()));
        if let Err(error) = spawned {
            // `done` went with the closure; the checker's timeout (if any) reports it.
            tracing::warn!(%error, "cannot start a check probe");
        }
    }
}

/// One probe, carried out on its thread.
struct NestedProbe {
    api: AgentApi,
    parent: v1::ContainerId,
    previous: Arc<Mutex<Option<v1::ContainerId>>>,
    command: CommandInfo,
    timeout: Option<Duration>,
}

impl NestedProbe {
    fn run(self) -> ProbeResult {
        if let Err(reason) = self.remove_previous() {
            return ProbeResult::Skipped(reason);
        }
        let id = v1::ContainerId {
            value: format!("{CHECK_CONTAINER_PREFIX}{}", new_container_value()),
            parent: Some(Box::new(self.parent.clone())),
        };
        self.set_previous(Some(id.clone()));
        let launched = match self.launch_session(&id) {
            Ok(launched) => launched,
            Err(reason) => return ProbeResult::Skipped(reason),
        };
        if matches!(launched, Session::TimedOut) {
            self.kill(&id);
        }
        let exit = self.wait(&id);
        match launched {
            // Mesos: nestedCommandCheckFailure, a timed-out check fails once it ended.
            Session::TimedOut => ProbeResult::Error(format!(
                "Command timed out after {:?}",
                self.timeout.unwrap_or_default()
            )),
            Session::Refused(status, body) => ProbeResult::Skipped(format!(
                "The agent refused the check's container ({status}): {body}"
            )),
            Session::Output(output) => {
                tracing::info!(container = %id.value, %output, "output of a check");
                match exit {
                    Ok(Some(status)) => exit_result(status).unwrap_or_else(ProbeResult::Error),
                    Ok(None) => ProbeResult::Error("Unable to get the exit code".into()),
                    Err(reason) => ProbeResult::Skipped(reason),
                }
            }
        }
    }

    fn set_previous(&self, id: Option<v1::ContainerId>) {
        // A poisoned lock only means a probe thread panicked; the id is still usable.
        *self.previous.lock().unwrap_or_else(|e| e.into_inner()) = id;
    }

    /// Step 1.
    fn remove_previous(&self) -> Result<(), String> {
        let previous = self.previous.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(previous) = previous else { return Ok(()) };
        match self.api.post_blocking(&remove_call(&previous))? {
            (200 | 404, _) => {
                self.set_previous(None);
                Ok(())
            }
            (status, body) => Err(format!(
                "Cannot remove the previous check container {} ({status}): {}",
                previous.value,
                String::from_utf8_lossy(&body)
            )),
        }
    }

    /// Steps 2 and 3: the session, on a runtime of its own, dropped (with the
    /// connection, so the agent kills the session) when the check times out.
    fn launch_session(&self, id: &v1::ContainerId) -> Result<Session, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let call = session_call(id, &self.command);
        let headers = [(http::header::ACCEPT.as_str(), RECORDIO), (MESSAGE_ACCEPT, PROTOBUF)];
        let answer = runtime.block_on(async {
            let session = self.api.post_accepting(&call, &headers);
            match self.timeout {
                Some(timeout) => tokio::time::timeout(timeout, session).await.ok(),
                None => Some(session.await),
            }
        });
        // Every task of the runtime goes, the connection too.
        drop(runtime);
        Ok(match answer {
            None => Session::TimedOut,
            Some(answer) => match answer? {
                (200, body) => Session::Output(output_of(&body)),
                (status, body) => {
                    Session::Refused(status, String::from_utf8_lossy(&body).into_owned())
                }
            },
        })
    }

    /// Step 3: the agent notices a dropped session at its next write (output or
    /// heartbeat), which may be a while; a SIGKILL ends the check container now.
    fn kill(&self, id: &v1::ContainerId) {
        match self.api.post_blocking(&kill_call(id, nix::libc::SIGKILL)) {
            // 404: it ended already.
            Ok((200 | 404, _)) => {}
            Ok((status, _)) => tracing::warn!(container = %id.value, status, "KILL refused"),
            Err(error) => tracing::warn!(container = %id.value, %error, "KILL failed"),
        }
    }

    /// Step 4: the check container's raw wait status, once it has ended.
    fn wait(&self, id: &v1::ContainerId) -> Result<Option<i32>, String> {
        match self.api.post_blocking(&wait_call(id))? {
            (200, body) => {
                let response = agent::Response::decode(body)
                    .map_err(|e| format!("Cannot decode the WAIT answer: {e}"))?;
                #[allow(deprecated)]
                let wait = response.wait_nested_container;
                Ok(wait.and_then(|w| w.exit_status))
            }
            (status, body) => Err(format!(
                "Cannot wait for the check container ({status}): {}",
                String::from_utf8_lossy(&body)
            )),
        }
    }
}

/// How a session ended.
enum Session {
    /// It ran to its end; its output.
    Output(String),
    /// The agent refused it.
    Refused(u16, String),
    /// The check's timeout came first.
    TimedOut,
}

/// An exit code is a result; a signal is an error (Mesos: `processCommandCheckResult`
/// wants `WIFEXITED`).
fn exit_result(raw: i32) -> Result<ProbeResult, String> {
    match WaitStatus::from_raw(nix::unistd::Pid::from_raw(0), raw) {
        Ok(WaitStatus::Exited(_, exit_code)) => Ok(ProbeResult::Command { exit_code }),
        Ok(WaitStatus::Signaled(_, signal, _)) => {
            Err(format!("Command terminated with signal {signal}"))
        }
        _ => Err(format!("Command ended with status {raw}")),
    }
}

/// The check's stdout and stderr from the session's `ProcessIO` records (bounded, for
/// the log).
fn output_of(body: &[u8]) -> String {
    let mut output = Vec::new();
    for record in split_records(body).unwrap_or_default() {
        // A record that does not decode (a heartbeat of another shape) carries no output.
        let Ok(io) = agent::ProcessIo::decode(record) else { continue };
        if let Some(data) = io.data.and_then(|d| d.data) {
            let room = LOGGED_OUTPUT.saturating_sub(output.len());
            output.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    String::from_utf8_lossy(&output).into_owned()
}

#[allow(deprecated)]
fn session_call(id: &v1::ContainerId, command: &CommandInfo) -> agent::Call {
    agent::Call {
        r#type: Some(agent::call::Type::LaunchNestedContainerSession as i32),
        launch_nested_container_session: Some(agent::call::LaunchNestedContainerSession {
            container_id: id.clone(),
            command: Some(evolve(command)),
            container: None,
        }),
        ..Default::default()
    }
}

#[allow(deprecated)]
fn remove_call(id: &v1::ContainerId) -> agent::Call {
    agent::Call {
        r#type: Some(agent::call::Type::RemoveNestedContainer as i32),
        remove_nested_container: Some(agent::call::RemoveNestedContainer {
            container_id: id.clone(),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_results_and_signals_errors() {
        assert_eq!(exit_result(3 << 8), Ok(ProbeResult::Command { exit_code: 3 }));
        assert_eq!(exit_result(0), Ok(ProbeResult::Command { exit_code: 0 }));
        assert!(exit_result(9).is_err(), "SIGKILL");
    }
}
