//! The agent operator API: `POST /api/v1` (Mesos: slave/http.cpp `Http::api`,
//! docs/operator-http-api.md, "Agent API").
//!
//! Every answer is built from the agent's own bookkeeping inside the actor (the state
//! is one machine's, small), converted to the v1 types by re-encoding (`evolve`).
//! Supported: GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS, GET_STATE,
//! GET_CONTAINERS, GET_FRAMEWORKS, GET_EXECUTORS, GET_TASKS, GET_AGENT, GET_OPERATIONS
//! (operations awaiting acknowledgement), LIST_FILES and
//! READ_FILE (the sandboxes `/files` serves, under the same `access_sandboxes` check,
//! read off the actor), GET_LOGGING_LEVEL and SET_LOGGING_LEVEL (`set_log_level`; the
//! level reverts after the call's duration, as Mesos's `/logging/toggle`), and the
//! container calls (`containers`: nested and standalone containers, sessions, attach).
//! Every other call answers `501 Not Implemented`. With `--acls`, GET_STATE, GET_FRAMEWORKS,
//! GET_EXECUTORS and GET_TASKS leave out what the caller may not see (`visibility`),
//! and GET_FLAGS answers `403` to a caller `view_flags` denies (Mesos: slave/http.cpp
//! `Http::getFlags`).

// An error answer is a whole HTTP response, built once per failed request; boxing it
// would buy nothing.
#![allow(clippy::result_large_err)]

use http::StatusCode;
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Responder, Response};
use mesos_proto::mesos::v1;
use mesos_proto::mesos::{Task, TaskState};

use v1::agent::{Call, call, response};

use super::visibility::Viewer;
use super::{Agent, containers};
use crate::containers::ContainerState;
use crate::containers::io::MediaTypes;
use crate::files::http::{FileCallAnswer, files_error};
use crate::files::{self, Files, FilesError};
use crate::state::{Executor, Framework};
use crate::updates::task_from_info;
use libprocess::logging::Logging;
use mesos_proto::http_api::{
    Encoding, bad_request, evolve, parse_body, require_post, response_encoding, v1_flags,
    v1_metrics, v1_version,
};

/// Installs the route.
pub(super) fn install(ctx: &mut Context<'_, Agent>) {
    ctx.route("/api/v1", |agent: &mut Agent, request: Request, responder: Responder, ctx| {
        agent.on_operator_request(request, responder, ctx);
    });
    // ATTACH_CONTAINER_INPUT: a RecordIO body, read as it arrives (interactive input).
    ctx.route_streamed(
        "/api/v1",
        super::container_io::input_body(),
        |agent: &mut Agent, request, responder, ctx| {
            agent.on_attach_input_request(request, responder, ctx);
        },
    );
}

fn executor(executor: &Executor) -> response::get_executors::Executor {
    response::get_executors::Executor { executor_info: evolve(&executor.info) }
}

/// `LIST_FILES` or `READ_FILE`, done off the actor (file I/O blocks).
fn file_call(files: &Files, call: &Call) -> Result<v1::agent::Response, FilesError> {
    use response::Type as R;
    let mut r = v1::agent::Response::default();
    let answer = match (&call.list_files, &call.read_file) {
        (Some(list), _) => files::http::list_files(files, &list.path)?,
        (None, Some(read)) => files::http::read_file(files, &read.path, read.offset, read.length)?,
        (None, None) => return Ok(r),
    };
    match answer {
        FileCallAnswer::List(file_infos) => {
            r.list_files = Some(response::ListFiles { file_infos });
            r.r#type = Some(R::ListFiles as i32);
        }
        FileCallAnswer::Read { size, data } => {
            r.read_file = Some(response::ReadFile { size, data });
            r.r#type = Some(R::ReadFile as i32);
        }
    }
    Ok(r)
}

impl Agent {
    fn on_operator_request(
        &mut self,
        request: Request,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        if request.method() == http::Method::POST && containers::is_streaming(&request) {
            return self.on_streaming_request(request, responder, ctx);
        }
        let parsed = require_post(&request)
            .and_then(|()| parse_body::<Call>(&request))
            .and_then(|call| Ok((call, response_encoding(&request)?)));
        let (call, encoding) = match parsed {
            Ok(parsed) => parsed,
            Err(response) => {
                responder.respond(response);
                return;
            }
        };
        let kind =
            call.r#type.and_then(|t| call::Type::try_from(t).ok()).unwrap_or(call::Type::Unknown);
        if matches!(kind, call::Type::ListFiles | call::Type::ReadFile) {
            return self.on_file_call(call, kind, encoding, request, responder, ctx);
        }
        if containers::is_container_call(kind) {
            let media = MediaTypes {
                content: encoding,
                streamed_content: false,
                accept: encoding,
                streamed_accept: false,
            };
            return self.on_container_call(call, kind, media, &request, responder, ctx);
        }
        // A clone of the `Arc`, so that the viewer does not borrow the agent.
        let authorizer = self.core.config.authorizer.clone();
        let viewer = Viewer::of(authorizer.as_deref(), &request);
        let response = match self.operator_query(kind, &call, viewer, ctx) {
            Ok(answer) => {
                lhttp::response(StatusCode::OK, encoding.content_type(), encoding.encode(&answer))
            }
            Err(response) => response,
        };
        responder.respond(response);
    }

    /// `LIST_FILES` and `READ_FILE`: the same files, and the same `access_sandboxes`
    /// check, as `/files/browse` and `/files/read`. Mesos: slave/http.cpp
    /// `Http::listFiles`, `Http::readFile` (both through files.cpp).
    fn on_file_call(
        &mut self,
        call: Call,
        kind: call::Type,
        encoding: Encoding,
        request: Request,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        let path = match (&call.list_files, &call.read_file) {
            (Some(list), _) if kind == call::Type::ListFiles => list.path.clone(),
            (_, Some(read)) if kind == call::Type::ReadFile => read.path.clone(),
            _ => {
                let field = if kind == call::Type::ListFiles { "list_files" } else { "read_file" };
                let message = format!("Failed to validate agent::Call: Expecting '{field}'");
                responder.respond(bad_request(message));
                return;
            }
        };
        let serve = move |files: &Files, _: &Request| match file_call(files, &call) {
            Ok(answer) => {
                lhttp::response(StatusCode::OK, encoding.content_type(), encoding.encode(&answer))
            }
            Err(error) => files_error(error),
        };
        self.serve_sandbox_path(request, path, serve, responder, ctx);
    }

    /// `GET_LOGGING_LEVEL` and `SET_LOGGING_LEVEL` (Mesos: slave/http.cpp
    /// `Http::getLoggingLevel`, `Http::setLoggingLevel`, the latter authorized by
    /// `set_log_level`); the level reverts after `duration` on the node's clock.
    fn logging_call(
        &mut self,
        kind: call::Type,
        call: &Call,
        viewer: Viewer<'_>,
        ctx: &Context<'_, Self>,
        r: &mut v1::agent::Response,
    ) -> Result<response::Type, Response> {
        let logging = self.logging.get_or_insert_with(|| Logging::new(ctx.clock().clone()));
        if kind == call::Type::GetLoggingLevel {
            r.get_logging_level = Some(response::GetLoggingLevel { level: logging.level() });
            return Ok(response::Type::GetLoggingLevel);
        }
        let Some(set) = &call.set_logging_level else {
            return Err(bad_request(
                "Failed to validate agent::Call: Expecting 'set_logging_level' to be present",
            ));
        };
        if !viewer.set_log_level() {
            return Err(lhttp::status(StatusCode::FORBIDDEN));
        }
        let nanos = set.duration.nanoseconds;
        let Ok(nanos) = u64::try_from(nanos) else {
            return Err(bad_request(format!("negative duration {nanos}ns")));
        };
        logging.set_level(set.level, std::time::Duration::from_nanos(nanos));
        Ok(response::Type::Unknown)
    }

    /// The answer to one query call.
    fn operator_query(
        &mut self,
        kind: call::Type,
        call: &Call,
        viewer: Viewer<'_>,
        ctx: &Context<'_, Self>,
    ) -> Result<v1::agent::Response, Response> {
        use response::Type as R;
        let mut r = v1::agent::Response::default();
        let t = match kind {
            call::Type::GetHealth => {
                r.get_health = Some(response::GetHealth { healthy: true });
                R::GetHealth
            }
            call::Type::GetFlags => {
                if !viewer.flags() {
                    return Err(lhttp::status(StatusCode::FORBIDDEN));
                }
                let flags = self.core.config.flags.iter();
                let flags = v1_flags(flags.map(|(name, value)| (name.as_str(), value.as_str())));
                r.get_flags = Some(response::GetFlags { flags });
                R::GetFlags
            }
            call::Type::GetVersion => {
                let version_info = v1_version(crate::core::MESOS_VERSION.to_string());
                r.get_version = Some(response::GetVersion { version_info });
                R::GetVersion
            }
            call::Type::GetMetrics => {
                let metrics = v1_metrics(ctx.node().metrics().snapshot());
                r.get_metrics = Some(response::GetMetrics { metrics });
                R::GetMetrics
            }
            call::Type::GetState => {
                r.get_state = Some(self.get_state(viewer));
                R::GetState
            }
            call::Type::GetContainers => {
                let options = call.get_containers.as_ref();
                let nested = options.and_then(|o| o.show_nested).unwrap_or(false);
                let standalone = options.and_then(|o| o.show_standalone).unwrap_or(false);
                r.get_containers = Some(self.get_containers(nested, standalone));
                R::GetContainers
            }
            call::Type::GetFrameworks => {
                r.get_frameworks = Some(self.get_frameworks(viewer));
                R::GetFrameworks
            }
            call::Type::GetExecutors => {
                r.get_executors = Some(self.get_executors(viewer));
                R::GetExecutors
            }
            call::Type::GetTasks => {
                r.get_tasks = Some(self.get_tasks(viewer));
                R::GetTasks
            }
            call::Type::GetOperations => {
                // The applied operations awaiting acknowledgement (core/operations.rs):
                // the agent forgets an operation once its terminal status is acknowledged.
                // Only those `view_roles` lets the caller see (Mesos: slave/http.cpp
                // `Http::getOperations`).
                let operations =
                    self.core.operations().filter(|o| viewer.operation(o)).map(evolve).collect();
                r.get_operations = Some(response::GetOperations { operations });
                R::GetOperations
            }
            call::Type::GetAgent => {
                r.get_agent = Some(self.get_agent());
                R::GetAgent
            }
            call::Type::GetLoggingLevel | call::Type::SetLoggingLevel => {
                match self.logging_call(kind, call, viewer, ctx, &mut r)? {
                    // Mesos answers a SET_LOGGING_LEVEL with an empty `200 OK`.
                    response::Type::Unknown => return Err(lhttp::status(StatusCode::OK)),
                    t => t,
                }
            }
            call::Type::Unknown => {
                return Err(bad_request(
                    "Failed to validate agent::Call: Expecting 'type' to be present",
                ));
            }
            other => {
                return Err(lhttp::text(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("{} is not supported by this agent", other.as_str_name()),
                ));
            }
        };
        r.r#type = Some(t as i32);
        Ok(r)
    }

    fn get_state(&self, viewer: Viewer<'_>) -> response::GetState {
        response::GetState {
            get_tasks: Some(self.get_tasks(viewer)),
            get_executors: Some(self.get_executors(viewer)),
            get_frameworks: Some(self.get_frameworks(viewer)),
        }
    }

    /// The frameworks `viewer` may see, live then completed.
    fn visible_frameworks<'a>(
        &'a self,
        viewer: Viewer<'a>,
    ) -> (impl Iterator<Item = &'a Framework>, impl Iterator<Item = &'a Framework>) {
        let shown = move |f: &&Framework| viewer.framework(&f.info);
        (
            self.core.frameworks.values().filter(shown),
            self.core.completed_frameworks.iter().filter(shown),
        )
    }

    fn get_agent(&self) -> response::GetAgent {
        response::GetAgent {
            agent_info: Some(evolve(&self.core.info)),
            drain_config: self.core.drain_config().map(evolve),
            // Mesos: slave/http.cpp `getAgent`, whole seconds as nanoseconds.
            estimated_drain_start_time: self.core.drain_start_time().map(|t| {
                let secs = i64::try_from(t.since_epoch().as_secs()).unwrap_or(i64::MAX);
                v1::TimeInfo { nanoseconds: secs.saturating_mul(1_000_000_000) }
            }),
        }
    }

    fn get_frameworks(&self, viewer: Viewer<'_>) -> response::GetFrameworks {
        let framework =
            |f: &Framework| response::get_frameworks::Framework { framework_info: evolve(&f.info) };
        let (live, completed) = self.visible_frameworks(viewer);
        response::GetFrameworks {
            frameworks: live.map(framework).collect(),
            completed_frameworks: completed.map(framework).collect(),
        }
    }

    fn get_executors(&self, viewer: Viewer<'_>) -> response::GetExecutors {
        let mut out = response::GetExecutors::default();
        let (live, completed) = self.visible_frameworks(viewer);
        for f in live {
            let shown = |e: &&Executor| viewer.executor(&e.info, &f.info);
            out.executors.extend(f.executors.values().filter(shown).map(executor));
            out.completed_executors
                .extend(f.completed_executors.iter().filter(shown).map(executor));
        }
        for f in completed {
            let shown = |e: &&Executor| viewer.executor(&e.info, &f.info);
            out.completed_executors
                .extend(f.completed_executors.iter().filter(shown).map(executor));
        }
        out
    }

    /// The tasks `viewer` may see: of frameworks and executors it may see, each task
    /// allowed by `view_tasks`.
    fn get_tasks(&self, viewer: Viewer<'_>) -> response::GetTasks {
        let mut out = response::GetTasks::default();
        let (live, completed) = self.visible_frameworks(viewer);
        for f in live {
            let info = &f.info;
            let id = f.id().into();
            let task = |t: &&Task| viewer.task(t, info);
            let v1_task = |task: &Task| -> v1::Task { evolve(task) };
            for e in f.executors.values().filter(|e| viewer.executor(&e.info, info)) {
                out.queued_tasks.extend(
                    e.queued_tasks
                        .values()
                        .filter(|t| viewer.task_info(t, info))
                        .map(|t| v1_task(&task_from_info(t, TaskState::TaskStaging, &id))),
                );
                out.launched_tasks.extend(e.launched_tasks.values().filter(task).map(v1_task));
                out.terminated_tasks.extend(e.terminated_tasks.values().filter(task).map(v1_task));
                out.completed_tasks.extend(e.completed_tasks.iter().filter(task).map(v1_task));
            }
            self.completed_tasks_of(f, viewer, &mut out);
        }
        for f in completed {
            self.completed_tasks_of(f, viewer, &mut out);
        }
        out
    }

    /// The visible tasks of `framework`'s completed executors, into `out`.
    fn completed_tasks_of(
        &self,
        framework: &Framework,
        viewer: Viewer<'_>,
        out: &mut response::GetTasks,
    ) {
        let info = &framework.info;
        let executors =
            framework.completed_executors.iter().filter(|e| viewer.executor(&e.info, info));
        let tasks =
            executors.flat_map(|e| e.completed_tasks.iter()).filter(|t| viewer.task(t, info));
        out.completed_tasks.extend(tasks.map(|t| -> v1::Task { evolve(t) }));
    }

    /// GET_CONTAINERS: the executors' containers, and with `show_nested` /
    /// `show_standalone` the running nested / standalone containers of the operator API
    /// (their ids with their parents; a nested one under its root executor's framework
    /// and executor). Mesos: slave/http.cpp `Http::_containers`, which lists what the
    /// containerizer runs (an exited container is destroyed there, so not listed).
    fn get_containers(&self, show_nested: bool, show_standalone: bool) -> response::GetContainers {
        let mut containers = Vec::new();
        for (framework_id, framework) in &self.core.frameworks {
            for e in framework.executors.values() {
                let container_id =
                    v1::ContainerId { value: e.container_id.value().to_string(), parent: None };
                containers.push(response::get_containers::Container {
                    framework_id: Some(v1::FrameworkId { value: framework_id.to_string() }),
                    executor_id: Some(evolve(&e.info.executor_id)),
                    executor_name: e.info.name.clone(),
                    container_status: Some(v1::ContainerStatus {
                        container_id: Some(container_id.clone()),
                        executor_pid: e.os_pid,
                        ..Default::default()
                    }),
                    resource_statistics: self
                        .containerizer
                        .usage(&e.container_id)
                        .map(|s| evolve(&s)),
                    container_id,
                });
            }
        }
        for (id, record) in self.containers.book.iter() {
            let ContainerState::Running { pid } = record.state else { continue };
            let nested = id.parent().is_some();
            if (nested && !show_nested) || (!nested && !show_standalone) {
                continue;
            }
            let owner = self.owner(id);
            let framework_id = owner
                .and_then(|(_, f)| f.id.as_ref())
                .map(|i| v1::FrameworkId { value: i.value.clone() });
            let container_id = v1::ContainerId::from(id);
            containers.push(response::get_containers::Container {
                framework_id,
                executor_id: owner.map(|(e, _)| evolve(&e.info.executor_id)),
                executor_name: owner.and_then(|(e, _)| e.info.name.clone()),
                container_status: Some(v1::ContainerStatus {
                    container_id: Some(container_id.clone()),
                    executor_pid: Some(pid),
                    ..Default::default()
                }),
                resource_statistics: None,
                container_id,
            });
        }
        response::GetContainers { containers }
    }
}
