//! The master's HTTP endpoints (Mesos: src/master/http.cpp, readonly_handler.cpp).
//!
//! Read-only endpoints are shared routes: they run outside the master actor and render
//! a [`StateSnapshot`] taken from the [`SnapshotCell`], so a client polling `/state`
//! costs the master at most one state copy per change and never delays offers. The
//! endpoints that change state (`/teardown`) run on the master.
//!
//! | path (under `/master`, or bare) | answer |
//! |---|---|
//! | `/state`, `/state.json` | [`state_json`] |
//! | `/state-summary` | agents and frameworks with task counts |
//! | `/frameworks?framework_id=` | frameworks with their tasks and offers |
//! | `/slaves?slave_id=` | agents, with `*_full` resources |
//! | `/tasks?limit=&offset=&order=&framework_id=&task_id=` | tasks, newest first |
//! | `/roles` | roles, weights, allocated/offered/reserved |
//! | `/flags` | the master's flags |
//! | `/health` | `200` while the process is up |
//! | `/redirect` | `307` to the leading master |
//! | `POST /teardown` with `frameworkId=` | removes a framework |
//!
//! Every read endpoint takes Mesos's `jsonp=<callback>`; a query value it cannot
//! understand is a `400` naming the parameter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode, header};
use libprocess::http::{self as lhttp, Request, Responder, Response};
use libprocess::{Context, ProcessRef};
use mesos_proto::ids::FrameworkId;
use serde_json::{Value, json};

use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use crate::snapshot::{SnapshotCell, StateSnapshot};

pub mod endpoints;
pub mod query;
mod state_json;

pub use query::{Query, QueryError};
pub use state_json::{
    OfferedIndex, agent_json, executor_json, framework_json, master_info_json, offer_json,
    state_json, task_json,
};

/// A read-only endpoint: renders a snapshot and a query, or refuses the query.
type Render = fn(&StateSnapshot, &Query) -> Result<Value, QueryError>;

/// The read-only JSON endpoints and their renderers.
const READ_ONLY: [(&str, Render); 9] = [
    ("/state", |s, _| Ok(state_json(s))),
    ("/state.json", |s, _| Ok(state_json(s))),
    ("/state-summary", endpoints::state_summary),
    ("/frameworks", endpoints::frameworks),
    ("/slaves", endpoints::slaves),
    ("/tasks", endpoints::tasks),
    ("/tasks.json", endpoints::tasks),
    ("/roles", endpoints::roles),
    ("/flags", endpoints::flags),
];

/// Installs every endpoint on the master process, and the snapshot-backed metrics
/// ([`crate::metrics::install_snapshot_gauges`]).
pub fn install(
    ctx: &mut Context<'_, MasterProcess>,
    cell: Arc<SnapshotCell>,
    view: Arc<LeaderView>,
) {
    let master = ctx.self_ref();
    for (path, render) in READ_ONLY {
        let (cell, master, view) = (cell.clone(), master.clone(), view.clone());
        // Every master answers its flags; the rest need the leader (Mesos redirects).
        let needs_leader = path != "/flags";
        ctx.route_shared(
            path,
            Arc::new(move |request: Request| {
                let (cell, master, view) = (cell.clone(), master.clone(), view.clone());
                Box::pin(async move {
                    if needs_leader && let Some(redirect) = view.redirect(&request) {
                        return redirect;
                    }
                    read_only(&cell, &master, &request, render).await
                }) as Pin<Box<dyn Future<Output = Response> + Send>>
            }),
        );
    }
    ctx.route_shared(
        "/health",
        Arc::new(|_request: Request| Box::pin(async { lhttp::status(StatusCode::OK) })),
    );
    {
        let view = view.clone();
        ctx.route_shared(
            "/redirect",
            Arc::new(move |request: Request| {
                let view = view.clone();
                Box::pin(async move { redirect(&view, &request) })
            }),
        );
    }
    ctx.route("/teardown", on_teardown);
    crate::metrics::install_snapshot_gauges(ctx, cell);
}

fn shutting_down() -> Response {
    lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "master is shutting down")
}

/// Answers a read-only endpoint from the current snapshot.
async fn read_only(
    cell: &SnapshotCell,
    master: &ProcessRef<MasterProcess>,
    request: &Request,
    render: Render,
) -> Response {
    let query = match Query::of(request) {
        Ok(query) => query,
        Err(error) => return query::bad_request(&error),
    };
    let jsonp = match query.jsonp() {
        Ok(jsonp) => jsonp,
        Err(error) => return query::bad_request(&error),
    };
    let Some(snapshot) = cell.get(master).await else { return shutting_down() };
    match render(&snapshot, &query) {
        Ok(value) => query::ok_json(&value, jsonp),
        Err(error) => query::bad_request(&error),
    }
}

/// The pid of the leading master, as `/state` shows it (`master@ip:port`).
///
/// Standalone, a master always leads; the HA issue makes this the raft leader's pid.
pub fn leader_pid(s: &StateSnapshot) -> Option<String> {
    s.info.pid.clone()
}

/// `/master/redirect`: `307` to the leading master's base URL (`//<ip>:<port>`, so the
/// client keeps its scheme); `/redirect/<more>` is `404` (a redirect loop guard, as in
/// Mesos); `503` while no leader is known. Mesos: master/http.cpp `Master::Http::redirect`.
fn redirect(view: &LeaderView, request: &Request) -> Response {
    let path = request.uri().path();
    if path != "/redirect" && path != "/master/redirect" {
        return lhttp::status(StatusCode::NOT_FOUND);
    }
    match view.leader_location() {
        Some(location) => crate::leadership::temporary_redirect(&location),
        None => lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"),
    }
}

/// `POST /master/teardown` with `frameworkId=<id>` in the form body (or, leniently, the
/// query). Mesos: master/http.cpp `Master::Http::teardown`: `405` for other methods,
/// `400` without an id or for an unknown framework, `200` once the framework is removed.
fn on_teardown(
    master: &mut MasterProcess,
    request: Request,
    responder: Responder,
    ctx: &mut Context<'_, MasterProcess>,
) {
    if request.method() != Method::POST {
        let mut response = lhttp::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting one of {{ 'POST' }}, but received '{}'", request.method()),
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        responder.respond(response);
        return;
    }
    let body = match std::str::from_utf8(request.body())
        .map_err(|e| e.to_string())
        .and_then(|text| Query::decode(text).map_err(|e| e.0))
    {
        Ok(body) => body,
        Err(error) => {
            responder.respond(lhttp::text(
                StatusCode::BAD_REQUEST,
                format!("Unable to decode query string: {error}"),
            ));
            return;
        }
    };
    let url = Query::of(&request).unwrap_or_default();
    let framework_id = body
        .get("frameworkId")
        .or_else(|| url.get("frameworkId"))
        .map(|id| FrameworkId::from(id.trim()));
    let Some(framework_id) = framework_id else {
        responder.respond(lhttp::text(
            StatusCode::BAD_REQUEST,
            "Missing 'frameworkId' query parameter in the request body",
        ));
        return;
    };
    let now = ctx.now();
    let response = match master.core_mut().teardown(&framework_id, now) {
        Ok(()) => lhttp::status(StatusCode::OK),
        Err(error) => lhttp::text(
            StatusCode::BAD_REQUEST,
            format!("No framework found with specified ID: {error}"),
        ),
    };
    master.flush(ctx);
    responder.respond(response);
}

/// JSON helper for the endpoints: `{"error": ...}`.
pub fn error_json(message: &str) -> Value {
    json!({ "error": message })
}
