//! The read-only endpoints (`/state`, `/frameworks`, `/tasks`, ...), `/health` and
//! `/redirect`: shared routes that run outside the master actor.
//!
//! Mesos: master/readonly_handler.cpp and master/http.cpp. A read-only endpoint renders
//! a [`StateSnapshot`] taken from the [`SnapshotCell`], so a client polling `/state`
//! costs the master at most one state copy per change and never delays offers. With
//! `--acls`, each caller sees the snapshot through [`visibility`] (the `view_*` ACLs),
//! `/flags` is `403` for a caller `view_flags` denies, and `/roles` lists only the roles
//! `view_roles` lets the caller see.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::StatusCode;
use libprocess::http::{self as lhttp, Request, Response};
use libprocess::{Context, ProcessRef};

use super::endpoints;
use super::json_out::JsonOut;
use super::query::{self, Query, QueryError};
use super::render;
use super::roles;
use super::state_writer;
use super::visibility;
use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use crate::snapshot::{SnapshotCell, StateSnapshot};
use mesos_security::{Authorizer, Principal};

/// A big read-only answer: writes the JSON of a snapshot and a query, streamed.
type Write = fn(&StateSnapshot, &Query, &mut JsonOut);
/// A small read-only answer: a snapshot and a query as a `Value`, or the query refused.
type Print = fn(&StateSnapshot, &Query) -> Result<serde_json::Value, QueryError>;

/// How a read-only endpoint renders: by its table entry, or `/roles` under ACLs (only
/// the roles `view_roles` lets the caller see; Mesos: readonly_handler.cpp `roles`).
#[derive(Clone, Copy)]
enum Renderer {
    Write(Write),
    Print(Print),
    Roles,
}

/// The read-only JSON endpoints and their renderers. The big ones write straight to
/// bytes ([`state_writer`]) and stream; the small ones print a `Value`.
const READ_ONLY: [(&str, Renderer); 9] = [
    ("/state", Renderer::Write(|s, _, out| state_writer::state(out, s))),
    ("/state.json", Renderer::Write(|s, _, out| state_writer::state(out, s))),
    ("/state-summary", Renderer::Write(endpoints::write_state_summary)),
    ("/frameworks", Renderer::Write(endpoints::write_frameworks)),
    ("/slaves", Renderer::Write(endpoints::write_slaves)),
    ("/tasks", Renderer::Write(endpoints::write_tasks)),
    ("/tasks.json", Renderer::Write(endpoints::write_tasks)),
    ("/roles", Renderer::Print(roles::roles)),
    ("/flags", Renderer::Print(endpoints::flags)),
];

/// Installs the read-only endpoints, `/health` and `/redirect` on the master process.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>, shared: &super::Shared) {
    let (cell, view) = (&shared.snapshot, &shared.leader_view);
    let master = ctx.self_ref();
    for (path, render) in READ_ONLY {
        let (cell, master, view) = (cell.clone(), master.clone(), view.clone());
        let authorizer = shared.authorizer.clone();
        // Every master answers its flags; the rest need the leader (Mesos redirects).
        let needs_leader = path != "/flags";
        ctx.route_shared(
            path,
            Arc::new(move |request: Request| {
                let (cell, master, view) = (cell.clone(), master.clone(), view.clone());
                let authorizer = authorizer.clone();
                Box::pin(async move {
                    if needs_leader && let Some(redirect) = view.redirect(&request) {
                        return redirect;
                    }
                    let principal = super::principal(&request);
                    if path == "/flags"
                        && !visibility::may_view_flags(authorizer.as_deref(), principal.as_ref())
                    {
                        return super::forbidden("");
                    }
                    let render = if path == "/roles" && authorizer.is_some() {
                        Renderer::Roles
                    } else {
                        render
                    };
                    read_only(&cell, &master, &request, (authorizer, principal), render).await
                }) as Pin<Box<dyn Future<Output = Response> + Send>>
            }),
        );
    }
    ctx.route_shared(
        "/health",
        Arc::new(|_request: Request| Box::pin(async { lhttp::status(StatusCode::OK) })),
    );
    let view = view.clone();
    ctx.route_shared(
        "/redirect",
        Arc::new(move |request: Request| {
            let view = view.clone();
            Box::pin(async move { redirect(&view, &request) })
        }),
    );
}

fn shutting_down() -> Response {
    lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "master is shutting down")
}

/// Answers a read-only endpoint from the current snapshot, rendered off the I/O thread
/// once for every request asking the same of the same snapshot ([`render::Renderings`]).
async fn read_only(
    cell: &SnapshotCell,
    master: &ProcessRef<MasterProcess>,
    request: &Request,
    (authorizer, principal): (Option<Arc<Authorizer>>, Option<Principal>),
    render: Renderer,
) -> Response {
    let query = match Query::of(request) {
        Ok(query) => query,
        Err(error) => return query::bad_request(&error),
    };
    if let Err(error) = query.jsonp() {
        return query::bad_request(&error);
    }
    let Some((generation, snapshot)) = cell.get_at(master).await else {
        return shutting_down();
    };
    let key = render::RenderKey {
        route: request.uri().path().to_string(),
        params: request.uri().query().unwrap_or_default().to_string(),
        principal: principal.as_ref().map(|p| p.0.clone()),
    };
    let jsonp = match query.jsonp() {
        Ok(jsonp) => jsonp.map(str::to_string),
        Err(error) => return query::bad_request(&error),
    };
    if let Renderer::Write(write) = render {
        let content_type = if jsonp.is_some() { "text/javascript" } else { "application/json" };
        return cell
            .renderings()
            .stream(generation, key, content_type, move |out| {
                // The caller sees only what the view_* ACLs let it see.
                let snapshot =
                    visibility::visible(snapshot, authorizer.as_deref(), principal.as_ref());
                if let Some(callback) = &jsonp {
                    out.raw(format!("{callback}(").as_bytes());
                }
                write(&snapshot, &query, out);
                if jsonp.is_some() {
                    out.raw(b");");
                }
            })
            .await;
    }
    cell.renderings()
        .answer(generation, key, move || {
            let snapshot = visibility::visible(snapshot, authorizer.as_deref(), principal.as_ref());
            let rendered = match render {
                Renderer::Print(print) => print(&snapshot, &query),
                Renderer::Write(_) | Renderer::Roles => Ok(roles::roles_json(&snapshot, |role| {
                    roles::may_view_role(authorizer.as_deref(), principal.as_ref(), role)
                })),
            };
            match rendered {
                Ok(value) => query::ok_json(&value, jsonp.as_deref()),
                Err(error) => query::bad_request(&error),
            }
        })
        .await
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
