//! The container calls of the agent operator API: LAUNCH/WAIT/KILL/REMOVE of nested
//! containers (and their `*_CONTAINER` twins, which also start standalone containers),
//! LAUNCH_NESTED_CONTAINER_SESSION, ATTACH_CONTAINER_INPUT and ATTACH_CONTAINER_OUTPUT.
//!
//! Mesos: src/slave/http.cpp (`launchNestedContainer`, `launchContainer`,
//! `_launchContainer`, `waitContainer`, `killContainer`, `removeContainer`,
//! `launchNestedContainerSession`, `attachContainerInput`, `attachContainerOutput`).
//!
//! 1. The call is validated (ids, a parent exactly where the call needs one) and
//!    authorized: the nested-container ACLs on the user of the executor at the root of
//!    the container id, the standalone ones on ANY (`--acls`, permissive by default).
//! 2. LAUNCH: the parent must run (an executor's container, or a container of ours);
//!    the container joins the [`ContainerBook`] and its process starts (`200`; `202`
//!    if it already runs; `400` when the parent is unknown or the start fails).
//! 3. The process is waited for on the runtime; its exit answers every WAIT (`200`
//!    with `exit_status`, the raw wait status), now or later, until REMOVE.
//! 4. KILL signals its process group (`404` if unknown or exited); REMOVE forgets an
//!    exited container and deletes its own sandbox (`400` while it runs).
//! 5. A session's answer is its output, streamed until the process's streams close;
//!    the session dies with its client's connection.
//! 6. When an executor's container ends, everything nested in it is killed.
//!
//! Statuses: `404` for unknown containers, `400` for invalid calls and unknown parents,
//! `403` refused by the ACLs, `409` for a second input connection, `503` when the book
//! is full.

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]
// Mesos 1.11 marks the *_NESTED_CONTAINER calls deprecated (the *_CONTAINER calls
// supersede them) but serves them, as we must: the default executor and `mesos task
// exec` of older releases speak them.
#![allow(deprecated)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use http::StatusCode;
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Responder, Response};
use mesos_proto::http_api::{Encoding, bad_request, evolve};
use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::FrameworkInfo;
use mesos_proto::mesos::v1::agent::{Call, call, response};
use mesos_proto::mesos::v1::{self, CommandInfo, ContainerInfo};
use mesos_security::{Action, NestedContainerCall, StandaloneContainerCall};
use nix::sys::signal::Signal;

use super::Agent;
use super::container_io::{InputState, Session};
use super::container_recovery::Launch;
use super::visibility::{Viewer, executor_user};
use crate::containers::checkpoint;
use crate::containers::io::{self as cio, MediaTypes};
use crate::containers::process::{self, IoMode};
use crate::containers::{
    ContainerBook, ContainerClass, ContainerError, ContainerState, Exit, LaunchError,
    validate_container_id,
};
use crate::state::ExecutorState;

/// WAIT calls waiting on one container; more are refused with `503`.
pub const MAX_WAITERS_PER_CONTAINER: usize = 64;

/// A WAIT call waiting for an exit.
struct Waiter {
    responder: Responder,
    encoding: Encoding,
    /// WAIT_NESTED_CONTAINER (answered as such) rather than WAIT_CONTAINER.
    nested: bool,
}

/// The operator API's containers, with what is attached to them.
#[derive(Default)]
pub(super) struct Containers {
    pub(super) book: ContainerBook,
    waiters: HashMap<ContainerId, Vec<Waiter>>,
    pub(super) sessions: HashMap<ContainerId, Session>,
    /// The sessions' heartbeat timer is set (it stops when no session is left).
    pub(super) heartbeating: bool,
}

/// The calls this module serves.
pub(super) fn is_container_call(kind: call::Type) -> bool {
    use call::Type as T;
    matches!(
        kind,
        T::LaunchNestedContainer
            | T::WaitNestedContainer
            | T::KillNestedContainer
            | T::RemoveNestedContainer
            | T::LaunchNestedContainerSession
            | T::AttachContainerInput
            | T::AttachContainerOutput
            | T::LaunchContainer
            | T::WaitContainer
            | T::KillContainer
            | T::RemoveContainer
    )
}

/// True when the request streams (a RecordIO body, or a RecordIO answer wanted and
/// neither JSON nor protobuf acceptable): its negotiation is [`cio::negotiate`].
pub(super) fn is_streaming(request: &Request) -> bool {
    let streamed_body = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == cio::RECORDIO);
    streamed_body || cio::negotiate(request.headers()).is_ok_and(|m| m.streamed_accept)
}

pub(super) fn status(code: u16, message: impl Into<String>) -> Response {
    lhttp::text(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST), message.into())
}

pub(super) fn forbidden() -> Response {
    lhttp::status(StatusCode::FORBIDDEN)
}

/// What a launch asks for, whichever call carried it.
struct LaunchArgs {
    id: ContainerId,
    command: Option<CommandInfo>,
    container: Option<ContainerInfo>,
    class: ContainerClass,
}

/// The container id a call names, and whether it needs a parent (`None`: the
/// `*_CONTAINER` calls, which take either).
fn target(kind: call::Type, call: &Call) -> Option<(&'static str, &v1::ContainerId, Option<bool>)> {
    use call::Type as T;
    Some(match kind {
        T::LaunchNestedContainer => (
            "launch_nested_container.container_id",
            &call.launch_nested_container.as_ref()?.container_id,
            Some(true),
        ),
        T::WaitNestedContainer => (
            "wait_nested_container.container_id",
            &call.wait_nested_container.as_ref()?.container_id,
            Some(true),
        ),
        T::KillNestedContainer => (
            "kill_nested_container.container_id",
            &call.kill_nested_container.as_ref()?.container_id,
            Some(true),
        ),
        T::RemoveNestedContainer => (
            "remove_nested_container.container_id",
            &call.remove_nested_container.as_ref()?.container_id,
            Some(true),
        ),
        T::LaunchNestedContainerSession => (
            "launch_nested_container_session.container_id",
            &call.launch_nested_container_session.as_ref()?.container_id,
            Some(true),
        ),
        T::AttachContainerOutput => (
            "attach_container_output.container_id",
            &call.attach_container_output.as_ref()?.container_id,
            None,
        ),
        T::LaunchContainer => {
            ("launch_container.container_id", &call.launch_container.as_ref()?.container_id, None)
        }
        T::WaitContainer => {
            ("wait_container.container_id", &call.wait_container.as_ref()?.container_id, None)
        }
        T::KillContainer => {
            ("kill_container.container_id", &call.kill_container.as_ref()?.container_id, None)
        }
        T::RemoveContainer => {
            ("remove_container.container_id", &call.remove_container.as_ref()?.container_id, None)
        }
        _ => return None,
    })
}

impl Agent {
    /// A request asking for a RecordIO answer: ATTACH_CONTAINER_OUTPUT or
    /// LAUNCH_NESTED_CONTAINER_SESSION. (A RecordIO body, ATTACH_CONTAINER_INPUT, goes
    /// to the streamed route: `container_io`.)
    /// Mesos: slave/http.cpp `Http::api` and `_api` (which calls may stream).
    pub(super) fn on_streaming_request(
        &mut self,
        request: Request,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        let media = match cio::negotiate(request.headers()) {
            Ok(media) => media,
            Err((code, message)) => {
                responder.respond(status(code, message));
                return;
            }
        };
        let call = match cio::decode_call(media.content, request.body()) {
            Ok(call) => call,
            Err(e) => {
                responder
                    .respond(bad_request(format!("Failed to parse body into Call protobuf: {e}")));
                return;
            }
        };
        let kind = call.r#type.and_then(|t| call::Type::try_from(t).ok()).unwrap_or_default();
        if !matches!(
            kind,
            call::Type::AttachContainerOutput | call::Type::LaunchNestedContainerSession
        ) {
            let message =
                format!("Streaming response is not supported for {} call", kind.as_str_name());
            responder.respond(status(406, message));
            return;
        }
        self.on_container_call(call, kind, media, &request, responder, ctx);
    }

    /// One container call with a whole body.
    pub(super) fn on_container_call(
        &mut self,
        call: Call,
        kind: call::Type,
        media: MediaTypes,
        request: &Request,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        let authorizer = self.core.config.authorizer.clone();
        let viewer = Viewer::of(authorizer.as_deref(), request);
        if kind == call::Type::AttachContainerInput {
            let message = format!(
                "Expecting 'Content-Type' to be {} for ATTACH_CONTAINER_INPUT call",
                cio::RECORDIO
            );
            responder.respond(status(415, message));
            return;
        }
        let Some((field, id, nested)) = target(kind, &call) else {
            let name = kind.as_str_name().to_ascii_lowercase();
            responder.respond(bad_request(format!(
                "Failed to validate agent::Call: Expecting '{name}' to be present"
            )));
            return;
        };
        let id = ContainerId::from(id);
        if let Err(message) = validate_container_id(field, &id, nested) {
            responder.respond(bad_request(format!("Failed to validate agent::Call: {message}")));
            return;
        }
        tracing::info!(call = kind.as_str_name(), container = %id, "processing a container call");
        use call::Type as T;
        let answer = match kind {
            T::LaunchNestedContainer | T::LaunchContainer | T::LaunchNestedContainerSession => {
                let args = launch_args(kind, call, id);
                let session = args.class == ContainerClass::Debug;
                match self.launch_container(args, viewer, ctx) {
                    Ok((id, Some(io))) if session => {
                        return self.start_session(id, io, media, responder, ctx);
                    }
                    Ok(_) => lhttp::status(StatusCode::OK),
                    Err(response) => response,
                }
            }
            T::WaitNestedContainer | T::WaitContainer => {
                match self.wait_container(&id, kind == T::WaitNestedContainer, media.accept, viewer)
                {
                    Ok(waiter) => return self.queue_or_answer_wait(id, waiter, responder),
                    Err(response) => response,
                }
            }
            T::KillNestedContainer | T::KillContainer => {
                let signal = call
                    .kill_nested_container
                    .and_then(|k| k.signal)
                    .or(call.kill_container.and_then(|k| k.signal));
                self.kill_container(&id, signal, viewer).unwrap_or_else(|r| r)
            }
            T::RemoveNestedContainer | T::RemoveContainer => {
                return self.remove_container(&id, viewer, responder, ctx);
            }
            T::AttachContainerOutput => match self.attach_output(&id, media, viewer) {
                Ok(response) | Err(response) => response,
            },
            _ => bad_request(format!("{} is not a container call", kind.as_str_name())),
        };
        responder.respond(answer);
    }

    /// The executor at the root of `id`, with its framework, if one owns it.
    pub(super) fn owner(
        &self,
        id: &ContainerId,
    ) -> Option<(&crate::state::Executor, &FrameworkInfo)> {
        let root = id.root();
        self.core.frameworks.values().find_map(|f| {
            f.executors.values().find(|e| e.container_id == *root).map(|e| (e, &f.info))
        })
    }

    /// The ACL object of a call on `id`: its executor's user, else its id (Mesos's
    /// fallback when no executor owns it).
    fn owner_user(&self, id: &ContainerId) -> String {
        match self.owner(id) {
            Some((executor, framework)) => executor_user(&executor.info, framework).to_string(),
            None => id.to_string(),
        }
    }

    /// Whether `viewer` may make the `nested` (else standalone) call on `id`.
    pub(super) fn allowed(
        &self,
        viewer: Viewer<'_>,
        id: &ContainerId,
        nested: NestedContainerCall,
        standalone: StandaloneContainerCall,
    ) -> bool {
        if id.parent().is_none() {
            return viewer.allows(Action::StandaloneContainer { call: standalone });
        }
        let user = self.owner_user(id);
        viewer.allows(Action::NestedContainer { call: nested, user: &user })
    }

    /// The sandbox and environment a container nested in `parent` inherits, if
    /// `parent` runs: an executor's container, or one of ours.
    fn parent_of(&self, parent: &ContainerId) -> Option<(PathBuf, BTreeMap<String, String>)> {
        if let Some(record) = self.containers.book.get(parent) {
            return record.is_live().then(|| (record.sandbox.clone(), record.env.clone()));
        }
        if parent.parent().is_some() {
            return None;
        }
        let (executor, framework) = self.owner(parent)?;
        if executor.state == ExecutorState::Terminated {
            return None;
        }
        let mut env = BTreeMap::new();
        let sandbox = executor.directory.to_string_lossy().into_owned();
        env.insert(
            "MESOS_FRAMEWORK_ID".to_string(),
            framework.id.as_ref().map(|i| i.value.clone()).unwrap_or_default(),
        );
        env.insert("MESOS_EXECUTOR_ID".to_string(), executor.info.executor_id.value.clone());
        env.insert("MESOS_SLAVE_ID".to_string(), self.core.agent_id().unwrap_or_default());
        env.insert("MESOS_DIRECTORY".to_string(), sandbox.clone());
        env.insert("MESOS_SANDBOX".to_string(), sandbox);
        let variables = executor.info.command.as_ref().and_then(|c| c.environment.as_ref());
        for v in variables.map(|e| e.variables.as_slice()).unwrap_or_default() {
            if let Some(value) = &v.value {
                env.insert(v.name.clone(), value.clone());
            }
        }
        Some((executor.directory.clone(), env))
    }

    /// LAUNCH_*: authorizes, admits and starts the container. `Ok` carries the
    /// session's streams (a `DEBUG` container) when it was started now.
    fn launch_container(
        &mut self,
        args: LaunchArgs,
        viewer: Viewer<'_>,
        ctx: &mut Context<'_, Self>,
    ) -> Result<(ContainerId, Option<process::SessionIo>), Response> {
        let LaunchArgs { id, command, container, class } = args;
        if !self.may_launch(viewer, &id, command.as_ref(), class) {
            return Err(forbidden());
        }
        let Some(command) = command else {
            return Err(bad_request("Expecting 'command' to be present"));
        };
        if container.as_ref().is_some_and(|c| c.r#type != v1::container_info::Type::Mesos as i32) {
            return Err(bad_request("The provided ContainerInfo is not supported"));
        }
        let io = io_mode(class, container.and_then(|c| c.tty_info));
        let (sandbox, env) = self.placement(&id, class, &command)?;
        match self.containers.book.admit(&id, class, sandbox.clone(), env.clone()) {
            Ok(()) => {}
            Err(LaunchError::AlreadyRunning { .. }) => {
                return Err(lhttp::status(StatusCode::ACCEPTED));
            }
            Err(LaunchError::Full) => return Err(status(503, LaunchError::Full.to_string())),
            Err(error) => return Err(bad_request(error.to_string())),
        }
        let launch = Launch { class, sandbox, env, io, command: evolve(&command) };
        let io = match self.start_container(&id, launch, ctx) {
            Ok(io) => io,
            Err(reason) => {
                tracing::warn!(container = %id, %reason, "failed to launch the container");
                self.containers.book.on_launch_failed(&id);
                return Err(bad_request(format!("Failed to launch container {id}: {reason}")));
            }
        };
        Ok((id, Some(io)))
    }

    /// The launch ACLs: standalone, or nested (on the command's user and the user of
    /// the executor at the root).
    fn may_launch(
        &self,
        viewer: Viewer<'_>,
        id: &ContainerId,
        command: Option<&CommandInfo>,
        class: ContainerClass,
    ) -> bool {
        if id.parent().is_none() {
            return viewer
                .allows(Action::StandaloneContainer { call: StandaloneContainerCall::Launch });
        }
        let user = command.and_then(|c| c.user.as_deref());
        let parent_user = self.owner_user(id);
        let session = class == ContainerClass::Debug;
        viewer.allows(Action::LaunchNestedContainer { session, user, parent_user: &parent_user })
    }

    /// Where a new container runs and with what environment: under its parent (which
    /// must run), or for a standalone one under `<work_dir>/containers`.
    fn placement(
        &self,
        id: &ContainerId,
        class: ContainerClass,
        command: &CommandInfo,
    ) -> Result<(PathBuf, BTreeMap<String, String>), Response> {
        let (sandbox, mut env) = match id.parent() {
            Some(parent) => {
                let (parent_sandbox, env) = self.parent_of(parent).ok_or_else(|| {
                    bad_request(format!("Parent container {parent} does not exist"))
                })?;
                match class {
                    ContainerClass::Debug => (parent_sandbox, env),
                    ContainerClass::Default => {
                        (parent_sandbox.join("containers").join(id.value()), env)
                    }
                }
            }
            None => {
                (self.core.config.work_dir.join("containers").join(id.value()), BTreeMap::new())
            }
        };
        env.insert("MESOS_SANDBOX".to_string(), sandbox.to_string_lossy().into_owned());
        let variables = command.environment.as_ref().map(|e| e.variables.as_slice());
        for v in variables.unwrap_or_default() {
            if let Some(value) = &v.value {
                env.insert(v.name.clone(), value.clone());
            }
        }
        Ok((sandbox, env))
    }

    /// The process of a container ended: its group goes too, its WAITs are answered,
    /// and if its root is gone it is forgotten.
    pub(super) fn on_container_exited(
        &mut self,
        id: &ContainerId,
        exit: Exit,
        _ctx: &mut Context<'_, Self>,
    ) {
        let pid = self.containers.book.kill_target(id).ok();
        if !self.containers.book.on_exited(id, exit.clone()) {
            return;
        }
        tracing::info!(container = %id, status = ?exit.status, "a container exited");
        if let Some(pid) = pid {
            // Whatever it left behind in its group goes with it (Mesos destroys the
            // container's cgroup; a session's output then ends).
            process::signal_group(pid, Signal::SIGKILL);
        }
        if let Some(session) = self.containers.sessions.get_mut(id) {
            session.input = InputState::Closed;
        }
        for waiter in self.containers.waiters.remove(id).unwrap_or_default() {
            waiter.responder.respond(wait_answer(&exit, waiter.encoding, waiter.nested));
        }
        if id.parent().is_none() {
            // A standalone container ended: so do the ones nested in it. It stays
            // for WAIT until REMOVE.
            self.on_root_container_terminated(id);
        } else if !self.root_alive(id.root()) {
            // Its executor is gone: nobody can wait for or remove it any more.
            self.on_root_container_terminated(id.root());
        }
    }

    /// Whether the root container `root` still runs (an executor's, or standalone).
    pub(super) fn root_alive(&self, root: &ContainerId) -> bool {
        match self.containers.book.get(root) {
            Some(record) => record.is_live(),
            None => self.owner(root).is_some_and(|(e, _)| e.state != ExecutorState::Terminated),
        }
    }

    /// An executor's container ended: every container nested in it is killed
    /// (deepest first), and those already exited are forgotten. Mesos: a container's
    /// destruction destroys its nested containers first.
    pub(super) fn on_root_container_terminated(&mut self, root: &ContainerId) {
        for (id, pid) in self.containers.book.running_under(root) {
            tracing::info!(container = %id, "killing a nested container: its executor ended");
            process::signal_group(pid, Signal::SIGKILL);
        }
        for (id, _) in self.containers.book.forget_exited_under(root) {
            self.containers.sessions.remove(&id);
            checkpoint::remove(&self.runtime_dir(&id));
        }
        if self.containers.book.get(root).is_none()
            && self.containers.book.running_under(root).is_empty()
        {
            // An executor's container, with nothing left nested in it.
            checkpoint::remove(&self.runtime_dir(root));
        }
    }

    /// WAIT_*: authorized, the container known; the waiter is then answered now or at
    /// the exit.
    fn wait_container(
        &self,
        id: &ContainerId,
        nested: bool,
        encoding: Encoding,
        viewer: Viewer<'_>,
    ) -> Result<(bool, Encoding), Response> {
        if !self.allowed(viewer, id, NestedContainerCall::Wait, StandaloneContainerCall::Wait) {
            return Err(forbidden());
        }
        if self.containers.book.get(id).is_none() {
            return Err(status(404, format!("Container {id} cannot be found")));
        }
        Ok((nested, encoding))
    }

    fn queue_or_answer_wait(
        &mut self,
        id: ContainerId,
        (nested, encoding): (bool, Encoding),
        responder: Responder,
    ) {
        if let Some(ContainerState::Exited(exit)) = self.containers.book.get(&id).map(|r| &r.state)
        {
            responder.respond(wait_answer(exit, encoding, nested));
            return;
        }
        let waiters = self.containers.waiters.entry(id).or_default();
        if waiters.len() >= MAX_WAITERS_PER_CONTAINER {
            responder.respond(status(503, "Too many WAIT calls on this container"));
            return;
        }
        waiters.push(Waiter { responder, encoding, nested });
    }

    /// KILL_*: the signal (SIGKILL by default) to the container's process group.
    fn kill_container(
        &mut self,
        id: &ContainerId,
        signal: Option<i32>,
        viewer: Viewer<'_>,
    ) -> Result<Response, Response> {
        if !self.allowed(viewer, id, NestedContainerCall::Kill, StandaloneContainerCall::Kill) {
            return Err(forbidden());
        }
        let signal = match signal {
            None => Signal::SIGKILL,
            Some(number) => Signal::try_from(number)
                .map_err(|_| bad_request(format!("Invalid signal {number}")))?,
        };
        let pid = self.containers.book.kill_target(id).map_err(|e| status(404, e.to_string()))?;
        tracing::info!(container = %id, ?signal, "killing a container");
        process::signal_group(pid, signal);
        Ok(lhttp::status(StatusCode::OK))
    }

    /// REMOVE_*: forgets an exited container and deletes its own sandbox (not a
    /// session's, which is its parent's), off the actor (a sandbox may be large); the
    /// answer comes once it is gone, as Mesos's `remove` completes after its `rmdir`.
    fn remove_container(
        &mut self,
        id: &ContainerId,
        viewer: Viewer<'_>,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        if !self.allowed(viewer, id, NestedContainerCall::Remove, StandaloneContainerCall::Remove) {
            responder.respond(forbidden());
            return;
        }
        let record = match self.containers.book.remove(id) {
            Ok(record) => record,
            Err(e @ ContainerError::StillRunning { .. }) => {
                responder.respond(bad_request(e.to_string()));
                return;
            }
            Err(e) => {
                responder.respond(status(404, e.to_string()));
                return;
            }
        };
        self.containers.sessions.remove(id);
        checkpoint::remove(&self.runtime_dir(id));
        if id.parent().is_none() {
            self.on_root_container_terminated(id);
        }
        if record.class != ContainerClass::Default {
            responder.respond(lhttp::status(StatusCode::OK));
            return;
        }
        let sandbox = record.sandbox;
        let removal = tokio::task::spawn_blocking(move || {
            if let Err(error) = std::fs::remove_dir_all(&sandbox) {
                tracing::warn!(%error, sandbox = %sandbox.display(), "cannot remove a container's sandbox");
            }
        });
        ctx.spawn(removal, move |_: &mut Agent, _, _| {
            responder.respond(lhttp::status(StatusCode::OK));
        });
    }
}

/// Where a container's streams go: files for a `DEFAULT` container, pipes or a
/// terminal (24x80 unless `tty_info` sizes it) for a session.
fn io_mode(class: ContainerClass, tty: Option<v1::TtyInfo>) -> IoMode {
    match (class, tty) {
        (ContainerClass::Default, _) => IoMode::Files,
        (ContainerClass::Debug, None) => IoMode::Pipes,
        (ContainerClass::Debug, Some(tty)) => {
            let (rows, columns) = tty.window_size.map(|w| (w.rows, w.columns)).unwrap_or((24, 80));
            let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
            IoMode::Tty(clamp(rows), clamp(columns))
        }
    }
}

/// The arguments of a LAUNCH_* call (`target` has checked the field is there).
fn launch_args(kind: call::Type, call: Call, id: ContainerId) -> LaunchArgs {
    let (command, container, class) = match kind {
        call::Type::LaunchNestedContainer => {
            let l = call.launch_nested_container.unwrap_or_default();
            (l.command, l.container, ContainerClass::Default)
        }
        call::Type::LaunchNestedContainerSession => {
            let l = call.launch_nested_container_session.unwrap_or_default();
            (l.command, l.container, ContainerClass::Debug)
        }
        _ => {
            let l = call.launch_container.unwrap_or_default();
            (l.command, l.container, ContainerClass::Default)
        }
    };
    LaunchArgs { id, command, container, class }
}

/// The answer to a WAIT: Mesos's `WaitNestedContainer` / `WaitContainer`.
fn wait_answer(exit: &Exit, encoding: Encoding, nested: bool) -> Response {
    let mut r = v1::agent::Response::default();
    if nested {
        r.r#type = Some(response::Type::WaitNestedContainer as i32);
        r.wait_nested_container = Some(response::WaitNestedContainer {
            exit_status: exit.status,
            message: exit.message.clone(),
            ..Default::default()
        });
    } else {
        r.r#type = Some(response::Type::WaitContainer as i32);
        r.wait_container = Some(response::WaitContainer {
            exit_status: exit.status,
            message: exit.message.clone(),
            ..Default::default()
        });
    }
    lhttp::response(StatusCode::OK, encoding.content_type(), encoding.encode(&r))
}
