//! How the default executor runs its tasks: each as a nested container of the
//! executor's own container, through the agent's v1 operator API, as Mesos's default
//! executor does.
//!
//! Mesos: src/launcher/default_executor.cpp (`_launchGroup` sends one
//! LAUNCH_NESTED_CONTAINER per task with a fresh ContainerID whose parent is the
//! executor's; `wait` holds one WAIT_NESTED_CONTAINER per task; `kill` sends
//! KILL_NESTED_CONTAINER; after an agent restart the executor reconnects and waits
//! again).
//!
//! 1. `start`: the task's container id is a fresh UUID under the executor's container
//!    (the last component of `MESOS_DIRECTORY`, `runs/<container id>`). The task's
//!    sandbox `tasks/<task_id>` becomes a link to the container's sandbox
//!    `containers/<id>` (Mesos's default executor makes the same link), and
//!    LAUNCH_NESTED_CONTAINER is sent and answered before `start` returns, so that
//!    `TASK_RUNNING` follows a launched container and a refused launch fails the task.
//! 2. A waiter thread holds WAIT_NESTED_CONTAINER until the container ends and hands its
//!    `exit_status` to the executor. When the connection breaks (the agent restarted)
//!    it connects again every [`RECONNECT_INTERVAL`] and waits again: the restarted
//!    agent took the container back from its checkpoint, or learnt how it ended. `404`
//!    (the agent does not know the container) ends the task without a status. The
//!    thread lives at most as long as the executor's process, which ends when the agent
//!    does not come back within the recovery timeout.
//! 3. `signal`: KILL_NESTED_CONTAINER with SIGTERM or SIGKILL, from a thread of its own
//!    (the executor's actor does not wait for the answer).
//! 4. `check_prober`: the task's COMMAND checks run as sessions nested in its container
//!    ([`crate::nested_checks`]).
//!
//! Every call is a protobuf `agent::Call` POSTed to `/<agent>/api/v1` with the
//! executor's token (`Authorization: Bearer`, when the agent gave one), over TLS when
//! the executor's node speaks it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use libprocess::tls::Tls;
use mesos_framework::executor::ExecutorEnv;
use mesos_proto::http_api::{PROTOBUF, evolve};
use mesos_proto::mesos::CommandInfo;
use mesos_proto::mesos::v1::{self, agent};
use prost::Message;
use rand::RngCore;

use crate::containerizer::Signal;
use crate::executor::{OnExit, TaskRunner};
use crate::nested_checks::NestedCheckProber;

/// Time between two attempts to reach an agent that is away (restarting).
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);

/// Longest a LAUNCH or KILL may take; WAIT has no bound (it lasts as long as the task).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the agent's operator API is, and how to talk to it.
#[derive(Clone)]
pub(crate) struct AgentApi {
    address: SocketAddr,
    path: String,
    authorization: Option<String>,
    tls: Option<Tls>,
}

impl AgentApi {
    /// POSTs `call`; the answer's status and body.
    pub(crate) async fn post(&self, call: &agent::Call) -> Result<(u16, Bytes), String> {
        self.post_accepting(call, &[(http::header::ACCEPT.as_str(), PROTOBUF)]).await
    }

    /// POSTs `call` with these `Accept`-like headers (a session wants RecordIO); the
    /// answer's status and whole body.
    pub(crate) async fn post_accepting(
        &self,
        call: &agent::Call,
        accept: &[(&str, &str)],
    ) -> Result<(u16, Bytes), String> {
        let stream = libprocess::tls::connect(self.address, self.tls.as_ref(), CALL_TIMEOUT)
            .await
            .map_err(|e| format!("cannot connect to the agent at {}: {e}", self.address))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with the agent failed: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut request = http::Request::post(&self.path)
            .header(http::header::HOST, self.address.to_string())
            .header(http::header::CONTENT_TYPE, PROTOBUF);
        for (name, value) in accept {
            request = request.header(*name, *value);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::new(Bytes::from(call.encode_to_vec())))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response =
            sender.send_request(request).await.map_err(|e| format!("the call failed: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?
            .to_bytes();
        Ok((status, body))
    }

    /// [`AgentApi::post`] within [`CALL_TIMEOUT`], on a runtime of its own in the
    /// calling thread (the executor's actor thread waits for a LAUNCH's answer).
    pub(crate) fn post_blocking(&self, call: &agent::Call) -> Result<(u16, Bytes), String> {
        let api = self.clone();
        let call = call.clone();
        let thread = std::thread::Builder::new().name("agent-call".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            runtime.block_on(async {
                tokio::time::timeout(CALL_TIMEOUT, api.post(&call))
                    .await
                    .unwrap_or_else(|_| Err("the agent did not answer in time".into()))
            })
        });
        let thread = thread.map_err(|e| format!("cannot start a thread: {e}"))?;
        thread.join().unwrap_or_else(|_| Err("the call's thread panicked".into()))
    }
}

#[allow(deprecated)]
fn launch_call(id: &v1::ContainerId, command: &CommandInfo) -> agent::Call {
    agent::Call {
        r#type: Some(agent::call::Type::LaunchNestedContainer as i32),
        launch_nested_container: Some(agent::call::LaunchNestedContainer {
            container_id: id.clone(),
            command: Some(evolve(command)),
            container: None,
        }),
        ..Default::default()
    }
}

#[allow(deprecated)]
pub(crate) fn wait_call(id: &v1::ContainerId) -> agent::Call {
    agent::Call {
        r#type: Some(agent::call::Type::WaitNestedContainer as i32),
        wait_nested_container: Some(agent::call::WaitNestedContainer { container_id: id.clone() }),
        ..Default::default()
    }
}

#[allow(deprecated)]
pub(crate) fn kill_call(id: &v1::ContainerId, signal: i32) -> agent::Call {
    agent::Call {
        r#type: Some(agent::call::Type::KillNestedContainer as i32),
        kill_nested_container: Some(agent::call::KillNestedContainer {
            container_id: id.clone(),
            signal: Some(signal),
        }),
        ..Default::default()
    }
}

/// Waits for the container `id` to end, across agent restarts (step 2); its raw wait
/// status, `None` when the agent cannot tell.
#[allow(deprecated)]
async fn wait_for_exit(api: &AgentApi, id: &v1::ContainerId) -> Option<i32> {
    let call = wait_call(id);
    loop {
        match api.post(&call).await {
            Ok((200, body)) => {
                let response = agent::Response::decode(body).ok()?;
                let wait = response.wait_nested_container?;
                return wait.exit_status;
            }
            Ok((404, _)) => {
                tracing::warn!(container = %id.value, "the agent does not know the task's container");
                return None;
            }
            Ok((status, body)) => {
                let body = String::from_utf8_lossy(&body).into_owned();
                tracing::info!(container = %id.value, status, %body, "WAIT refused; waiting again");
            }
            Err(error) => {
                tracing::info!(container = %id.value, %error, "lost the agent; waiting again");
            }
        }
        tokio::time::sleep(RECONNECT_INTERVAL).await;
    }
}

/// A fresh container id value (Mesos: a UUID).
pub(crate) fn new_container_value() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Makes `task_sandbox` (`tasks/<task_id>`, which the executor created empty) a link to
/// the container's sandbox `containers/<value>` beside it (step 1).
fn link_task_sandbox(task_sandbox: &Path, value: &str) -> Result<(), String> {
    let target = PathBuf::from("../containers").join(value);
    // Only an empty folder goes; anything else stays and the link fails.
    let _ = std::fs::remove_dir(task_sandbox);
    std::os::unix::fs::symlink(&target, task_sandbox)
        .map_err(|e| format!("cannot link {} to {}: {e}", task_sandbox.display(), target.display()))
}

/// The default executor's tasks as nested containers.
pub struct NestedContainerRunner {
    api: AgentApi,
    /// The executor's own container: every task's parent.
    parent: v1::ContainerId,
    /// The tasks' containers by the number `start` returned.
    containers: HashMap<u32, v1::ContainerId>,
    next: u32,
}

impl NestedContainerRunner {
    /// A runner for the executor described by `env`, speaking TLS with `tls` (its node's).
    pub fn new(env: &ExecutorEnv, tls: Option<Tls>) -> NestedContainerRunner {
        let parent = env.directory.file_name().map(|n| n.to_string_lossy().into_owned());
        NestedContainerRunner {
            api: AgentApi {
                address: env.agent.address(),
                path: format!("/{}/api/v1", env.agent.id()),
                authorization: env.authorization(),
                tls,
            },
            parent: v1::ContainerId { value: parent.unwrap_or_default(), parent: None },
            containers: HashMap::new(),
            next: 1,
        }
    }
}

impl TaskRunner for NestedContainerRunner {
    fn start(
        &mut self,
        command: &CommandInfo,
        sandbox: &Path,
        on_exit: OnExit,
    ) -> Result<u32, String> {
        let value = new_container_value();
        let id =
            v1::ContainerId { value: value.clone(), parent: Some(Box::new(self.parent.clone())) };
        link_task_sandbox(sandbox, &value)?;
        let mut command = command.clone();
        // Shells report the task's sandbox (the link) as their working directory.
        let variables = &mut command.environment.get_or_insert_with(Default::default).variables;
        variables.push(mesos_proto::mesos::environment::Variable {
            name: "PWD".into(),
            value: Some(sandbox.to_string_lossy().into_owned()),
            ..Default::default()
        });
        match self.api.post_blocking(&launch_call(&id, &command))? {
            (200, _) => {}
            (status, body) => {
                let body = String::from_utf8_lossy(&body);
                return Err(format!("Failed to launch the task's container ({status}): {body}"));
            }
        }
        tracing::info!(container = %value, sandbox = %sandbox.display(), "launched a task's nested container");
        let (api, waited) = (self.api.clone(), id.clone());
        std::thread::Builder::new()
            .name("task-waiter".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                let status = match runtime {
                    Ok(runtime) => runtime.block_on(wait_for_exit(&api, &waited)),
                    Err(error) => {
                        tracing::error!(%error, "cannot start a runtime to wait for the task");
                        None
                    }
                };
                on_exit(status);
            })
            .map_err(|e| format!("Cannot watch the task's container: {e}"))?;
        let number = self.next;
        self.next = self.next.wrapping_add(1);
        self.containers.insert(number, id);
        Ok(number)
    }

    /// COMMAND checks run as `check-<uuid>` sessions nested in the task's container.
    fn check_prober(&self, task: u32) -> Option<Box<dyn mesos_framework::checks::Prober>> {
        let id = self.containers.get(&task)?.clone();
        Some(Box::new(NestedCheckProber::new(self.api.clone(), id)))
    }

    fn signal(&mut self, task: u32, signal: Signal) {
        let Some(id) = self.containers.get(&task).cloned() else { return };
        let number = match signal {
            Signal::Term => nix::libc::SIGTERM,
            Signal::Kill => nix::libc::SIGKILL,
        };
        let api = self.api.clone();
        let spawned = std::thread::Builder::new().name("task-kill".into()).spawn(move || {
            match api.post_blocking(&kill_call(&id, number)) {
                Ok((200, _)) => {}
                // 404: it ended already, which is what a kill wants.
                Ok((404, _)) => {}
                Ok((status, _)) => tracing::warn!(container = %id.value, status, "KILL refused"),
                Err(error) => tracing::warn!(container = %id.value, %error, "KILL failed"),
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start a thread to kill a task");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Container ids are UUID-shaped and valid Mesos ids (no `.`, no space).
    #[test]
    fn container_values_are_uuids() {
        let value = new_container_value();
        assert_eq!(value.len(), 36);
        assert_eq!(value.matches('-').count(), 4);
        assert_ne!(value, new_container_value());
    }
}
