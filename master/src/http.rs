//! The master's HTTP endpoints (Mesos: src/master/http.cpp).
//!
//! Read-only endpoints are shared routes answered from a [`StateSnapshot`] outside the
//! master actor; endpoints that change state (`/teardown`) run on the master.

use std::sync::Arc;

use http::{Method, StatusCode};
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Responder, Response};
use mesos_proto::ids::FrameworkId;
use serde_json::json;

use crate::process::MasterProcess;
use crate::snapshot::{SnapshotCell, StateSnapshot};

mod state_json;

pub use state_json::{framework_json, state_json};

/// Installs every endpoint on the master process.
pub fn install(ctx: &mut Context<'_, MasterProcess>, cell: Arc<SnapshotCell>) {
    let master = ctx.self_ref();
    let read_only: [(&str, fn(&StateSnapshot, &Request) -> Response); 3] = [
        ("/state", |s, _| lhttp::json(StatusCode::OK, &state_json(s))),
        ("/state.json", |s, _| lhttp::json(StatusCode::OK, &state_json(s))),
        ("/health", |_, _| lhttp::status(StatusCode::OK)),
    ];
    for (path, render) in read_only {
        let cell = cell.clone();
        let master = master.clone();
        ctx.route_shared(
            path,
            Arc::new(move |request: Request| {
                let cell = cell.clone();
                let master = master.clone();
                Box::pin(async move {
                    match cell.get(&master).await {
                        Some(snapshot) => render(&snapshot, &request),
                        None => lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "master is shutting down"),
                    }
                })
            }),
        );
    }
    ctx.route("/teardown", on_teardown);
}

/// `POST /master/teardown` with `frameworkId=<id>` (form body or query).
fn on_teardown(master: &mut MasterProcess, request: Request, responder: Responder, ctx: &mut Context<'_, MasterProcess>) {
    if request.method() != Method::POST {
        responder.respond(lhttp::text(StatusCode::METHOD_NOT_ALLOWED, "Expecting 'POST'"));
        return;
    }
    let body = String::from_utf8_lossy(request.body()).to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let framework_id = [body.as_str(), query.as_str()]
        .iter()
        .flat_map(|text| text.split('&'))
        .find_map(|pair| pair.strip_prefix("frameworkId="))
        .map(|id| FrameworkId::from(id.trim()));
    let Some(framework_id) = framework_id else {
        responder.respond(lhttp::text(StatusCode::BAD_REQUEST, "Missing 'frameworkId' query parameter in the request body"));
        return;
    };
    let now = ctx.now();
    let response = match master.core_mut().teardown(&framework_id, now) {
        Ok(()) => lhttp::status(StatusCode::OK),
        Err(error) => lhttp::text(StatusCode::BAD_REQUEST, error.to_string()),
    };
    master.flush(ctx);
    responder.respond(response);
}

/// JSON helper for the endpoints: `{"error": ...}`.
pub fn error_json(message: &str) -> serde_json::Value {
    json!({ "error": message })
}
