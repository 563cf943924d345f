//! The agent's HTTP endpoints (Mesos: src/slave/http.cpp, src/files/files.cpp,
//! src/slave/monitor.cpp). `slave(1)` is the node's default process, so each route
//! is served both as `/slave(1)/<path>` and as `/<path>`.

use http::StatusCode;
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Responder, Response};
use mesos_proto::mesos::{FrameworkInfo, Task};
use mesos_security::http_auth::{AGENT_EXECUTOR, AGENT_READONLY, AGENT_READWRITE, realm_in};
use mesos_security::{Action, Principal};
use serde_json::{Value, json};

use super::Agent;
use super::visibility::{SandboxAccess, Viewer};
use crate::files::Files;
use crate::files::http::{files_error, param, path_param, query, serve_files};
use crate::state::{Executor, Framework};
use crate::updates::state_name;

/// Every authenticated agent route and its realm; `/health`, `/version` and
/// `/api/v1/executor` (the executor realm, on only with executor authentication) stay
/// open. Mesos: slave.cpp `Slave::initialize` `route(path, realm, ...)`; files.cpp
/// serves `/files/*` in the read-only realm; libprocess `/metrics/snapshot` too.
pub const ROUTE_REALMS: &[(&str, &str)] = &[
    ("/state", AGENT_READONLY),
    ("/state.json", AGENT_READONLY),
    ("/flags", AGENT_READONLY),
    ("/monitor/statistics", AGENT_READONLY),
    ("/containers", AGENT_READONLY),
    ("/containerizer/debug", AGENT_READONLY),
    ("/files", AGENT_READONLY),
    ("/api/v1", AGENT_READWRITE),
    // Mesos: libprocess puts its `logging` process in the read-write realm.
    ("/logging/toggle", AGENT_READWRITE),
    ("/api/v1/executor", AGENT_EXECUTOR),
];

/// The realm of a request the node routes to `process` (`None`: a node built-in) at
/// `path` inside it.
pub fn realm_of(process: Option<&str>, path: &str) -> Option<&'static str> {
    match process {
        None => matches!(path, "/metrics/snapshot" | "/metrics").then_some(AGENT_READONLY),
        Some("slave(1)") => realm_in(ROUTE_REALMS, path),
        Some(_) => None,
    }
}

/// The virtual path of the agent's log file. Mesos: slave.cpp `files->attach(log,
/// "/slave/log", authorizeLogAccess)`.
pub const LOG_PATH: &str = "/slave/log";

fn task_json(task: &Task) -> Value {
    json!({
        "id": task.task_id.value,
        "name": task.name,
        "framework_id": task.framework_id.value,
        "executor_id": task.executor_id.as_ref().map(|e| e.value.clone()).unwrap_or_default(),
        "slave_id": task.slave_id.value,
        "state": state_name(task.state),
        "resources": resources_json(&task.resources),
        "statuses": task.statuses.iter().map(|s| json!({
            "state": state_name(s.state),
            "timestamp": s.timestamp.unwrap_or(0.0),
        })).collect::<Vec<_>>(),
    })
}

fn resources_json(resources: &[mesos_proto::mesos::Resource]) -> Value {
    mesos_proto::resources::Resources::from_protos(resources.to_vec())
        .map(|r| r.to_state_json())
        .unwrap_or_else(|_| json!({}))
}

#[allow(deprecated)] // `source` is still shown by Mesos.
fn executor_json(executor: &Executor, framework: &FrameworkInfo, viewer: Viewer<'_>) -> Value {
    let task = |t: &&Task| viewer.task(t, framework);
    let tasks = executor.launched_tasks.values().chain(executor.terminated_tasks.values());
    let queued = executor.queued_tasks.values().filter(|t| viewer.task_info(t, framework));
    json!({
        "id": executor.info.executor_id.value,
        "name": executor.info.name.clone().unwrap_or_default(),
        "source": executor.info.source.clone().unwrap_or_default(),
        "container": executor.container_id.value(),
        "directory": executor.directory.to_string_lossy(),
        "state": executor.state.name(),
        "resources": resources_json(&executor.info.resources),
        "tasks": tasks.filter(task).map(task_json).collect::<Vec<_>>(),
        "queued_tasks": queued.map(|t| json!({"id": t.task_id.value, "name": t.name})).collect::<Vec<_>>(),
        "completed_tasks": executor.completed_tasks.iter().filter(task).map(task_json).collect::<Vec<_>>(),
    })
}

#[allow(deprecated)] // `role` is still shown by Mesos.
fn framework_json(framework: &Framework, viewer: Viewer<'_>) -> Value {
    let info = &framework.info;
    let shown = |e: &&Executor| viewer.executor(&e.info, info);
    let executor = |e: &Executor| executor_json(e, info, viewer);
    json!({
        "id": framework.id().as_str(),
        "name": framework.info.name,
        "user": framework.info.user,
        "role": framework.info.role.clone().unwrap_or_else(|| "*".into()),
        "checkpoint": framework.checkpoint(),
        "executors": framework.executors.values().filter(shown).map(executor).collect::<Vec<_>>(),
        "completed_executors": framework.completed_executors.iter().filter(shown).map(executor).collect::<Vec<_>>(),
    })
}

impl Agent {
    pub(super) fn install_routes(&mut self, ctx: &mut Context<'_, Self>) {
        let config = &self.core.config;
        if !config.http_authenticator.is_empty() || config.authorizer.is_some() {
            // Every request is authenticated by its route's realm before any route runs;
            // with `--acls`, `/metrics/snapshot` is checked against `get_endpoints` too.
            let clock = ctx.node().clock().clone();
            let gate = config.http_authenticator.clone().gate_with(
                realm_of,
                clock,
                config.authorizer.clone(),
            );
            ctx.node().set_http_gate(gate);
        }
        for path in ["/state", "/state.json"] {
            ctx.route(path, |agent, request, responder: Responder, ctx| {
                let viewer = Viewer::of(agent.core.config.authorizer.as_deref(), &request);
                responder.respond(lhttp::json(StatusCode::OK, &agent.state_json(ctx, viewer)));
            });
        }
        ctx.route("/health", |_agent, _request, responder: Responder, _ctx| {
            responder.respond(lhttp::status(StatusCode::OK));
        });
        ctx.route("/flags", |agent, request, responder: Responder, _ctx| {
            // Mesos: slave/http.cpp `Http::flags` (VIEW_FLAGS): 403 when denied.
            if !agent.authorized(&request, Action::ViewFlags) {
                responder.respond(lhttp::status(StatusCode::FORBIDDEN));
                return;
            }
            responder
                .respond(lhttp::json(StatusCode::OK, &json!({ "flags": agent.core.config.flags })));
        });
        ctx.route("/monitor/statistics", |agent, request, responder: Responder, _ctx| {
            // Mesos: one of the AUTHORIZABLE_ENDPOINTS (get_endpoints).
            let action = Action::GetEndpoint { path: "/monitor/statistics" };
            if !agent.authorized(&request, action) {
                responder.respond(lhttp::status(StatusCode::FORBIDDEN));
                return;
            }
            responder.respond(lhttp::json(StatusCode::OK, &agent.statistics_json()));
        });
        for endpoint in ["browse", "read", "download"] {
            ctx.route(&format!("/files/{endpoint}"), move |agent, request, responder, ctx| {
                agent.on_files(endpoint, request, responder, ctx);
            });
        }
        ctx.route("/logging/toggle", |agent, request, responder: Responder, ctx| {
            responder.respond(agent.on_logging_toggle(&request, ctx));
        });
        // The node's message ring (issue 16): `/slave(1)/messages`, `/messages/body`.
        ctx.route_shared("/messages", mesos_proto::http_api::messages_handler(ctx.node()));
    }

    /// `/files/{endpoint}`, served by [`Agent::serve_sandbox_path`].
    fn on_files(
        &mut self,
        endpoint: &'static str,
        request: Request,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        let path = path_param(&request);
        let serve = move |files: &Files, request: &Request| serve_files(files, endpoint, request);
        self.serve_sandbox_path(request, path, serve, responder, ctx);
    }

    /// Serves a request for `path` below the sandboxes or at the agent's log
    /// (`/slave/log`, with `--log_dir`) for `/files/*` and the operator API's
    /// `LIST_FILES` and `READ_FILE`: the caller's access is decided here (the log by
    /// `access_mesos_logs`, a sandbox by `access_sandboxes` from the agent's state),
    /// the path is resolved and `serve` runs off the actor and off the node's I/O
    /// threads (file I/O blocks: a slow disk, a huge file). Mesos: files.cpp with the
    /// authorization callback of each attached path (slave.cpp `authorizeLogAccess`,
    /// `authorizeSandboxAccess`).
    pub(super) fn serve_sandbox_path(
        &mut self,
        request: Request,
        path: String,
        serve: impl FnOnce(&Files, &Request) -> Response + Send + 'static,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        let mut files = Files::new(self.core.paths.sandboxes_root());
        if let Some(log) = &self.core.config.log_file {
            files = files.attach(LOG_PATH, log);
        }
        let frameworks = self.core.frameworks.values().chain(self.core.completed_frameworks.iter());
        let access = SandboxAccess::of(self.core.config.authorizer.as_ref(), &request, frameworks);
        let log_access = self.authorized(&request, Action::AccessMesosLog);
        let checked = move || {
            if files.attachment_of(&path).is_some() {
                if !log_access {
                    return lhttp::status(StatusCode::FORBIDDEN);
                }
            } else if let Some(access) = &access {
                match files.sandbox_of(&path) {
                    Err(error) => return files_error(error),
                    Ok(sandbox) => {
                        let sandbox = sandbox.as_ref().map(|(f, e)| (f.as_str(), e.as_str()));
                        if !access.allows(sandbox) {
                            return lhttp::status(StatusCode::FORBIDDEN);
                        }
                    }
                }
            }
            serve(&files, &request)
        };
        let blocking = async move {
            tokio::task::spawn_blocking(checked).await.unwrap_or_else(|error| {
                lhttp::text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
            })
        };
        ctx.spawn(blocking, move |_agent, response, _ctx| {
            responder.respond(response);
        });
    }

    /// `/logging/toggle?level=L&duration=D` (and with neither, the current level).
    /// Mesos: libprocess logging.cpp `Logging::toggle`, authorized by `set_log_level`.
    fn on_logging_toggle(&mut self, request: &Request, ctx: &Context<'_, Self>) -> Response {
        if !self.authorized(request, Action::SetLogLevel) {
            return lhttp::status(StatusCode::FORBIDDEN);
        }
        let params = query(request);
        let logging = self
            .logging
            .get_or_insert_with(|| libprocess::logging::Logging::new(ctx.clock().clone()));
        match logging.toggle(param(&params, "level"), param(&params, "duration")) {
            Ok(Some(level)) => lhttp::text(StatusCode::OK, format!("{level}\n")),
            Ok(None) => lhttp::status(StatusCode::OK),
            Err(error) => lhttp::text(StatusCode::BAD_REQUEST, format!("{error}.\n")),
        }
    }

    /// Whether the `--acls` let the request's principal (from HTTP authentication,
    /// absent when it is off) perform `action`; true without ACLs.
    fn authorized(&self, request: &Request, action: Action<'_>) -> bool {
        let principal = request.extensions().get::<Principal>();
        self.core.config.authorizer.as_ref().is_none_or(|a| a.authorize(principal, action))
    }

    /// `/state` as `viewer` may see it (Mesos: slave/http.cpp `Http::state`).
    fn state_json(&self, ctx: &Context<'_, Self>, viewer: Viewer<'_>) -> Value {
        let attributes =
            mesos_proto::attributes::Attributes::from_protos(self.core.info.attributes.clone())
                .map(|a| a.to_state_json())
                .unwrap_or_else(|_| json!({}));
        let shown = |f: &&Framework| viewer.framework(&f.info);
        let framework = |f: &Framework| framework_json(f, viewer);
        let mut state = json!({
            "version": crate::core::MESOS_VERSION,
            "id": self.core.agent_id().unwrap_or_default(),
            "pid": ctx.pid().to_string(),
            "hostname": self.core.info.hostname,
            "state": self.core.registration.state().name(),
            "start_time": self.started.map(|t| t.secs_f64()).unwrap_or(0.0),
            "master_hostname": self.core.registration.master().map(|m| m.address().ip().to_string()),
            // Mesos shows the total: the static resources with the checkpointed
            // reservations and volumes applied.
            "resources": resources_json(&self.total_resources()),
            "attributes": attributes,
            "frameworks": self.core.frameworks.values().filter(shown).map(framework).collect::<Vec<_>>(),
            "completed_frameworks": self.core.completed_frameworks.iter().filter(shown).map(framework).collect::<Vec<_>>(),
        });
        // Mesos: slave/http.cpp `state` shows the drain in progress.
        if let Some(config) = self.core.drain_config() {
            state["drain_config"] = mesos_proto::json::to_json(config);
            if let Some(start) = self.core.drain_start_time() {
                // Mesos writes whole seconds here.
                state["estimated_drain_start_time_seconds"] = json!(start.since_epoch().as_secs());
            }
        }
        // Mesos leaves the flags out for a caller `view_flags` denies.
        if viewer.flags() {
            state["flags"] = json!(self.core.config.flags);
        }
        state
    }

    /// The agent's total: `--resources` with the checkpointed resources applied (the
    /// static resources alone if they somehow do not fit).
    fn total_resources(&self) -> Vec<mesos_proto::mesos::Resource> {
        let total =
            mesos_proto::resources::Resources::from_protos(self.core.info.resources.clone())
                .ok()
                .and_then(|r| r.with_checkpointed(self.core.checkpointed_resources()).ok());
        match total {
            Some(total) => total.to_protos(),
            None => self.core.info.resources.clone(),
        }
    }

    #[allow(deprecated)] // `source` is still shown by Mesos.
    fn statistics_json(&self) -> Value {
        let mut out = Vec::new();
        for (framework_id, framework) in &self.core.frameworks {
            for executor in framework.executors.values() {
                let Some(stats) = self.containerizer.usage(&executor.container_id) else {
                    continue;
                };
                out.push(json!({
                    "executor_id": executor.info.executor_id.value,
                    "executor_name": executor.info.name.clone().unwrap_or_default(),
                    "framework_id": framework_id.as_str(),
                    "source": executor.info.source.clone().unwrap_or_default(),
                    "statistics": mesos_proto::json::to_json(&stats),
                }));
            }
        }
        Value::Array(out)
    }
}
