//! `POST /master/teardown`: removes a framework. Unlike the read-only endpoints it runs
//! on the master actor, because it changes state.

use http::{HeaderValue, Method, StatusCode, header};
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Responder};
use mesos_proto::ids::FrameworkId;

use super::query::Query;
use crate::core::MasterError;
use crate::process::MasterProcess;

/// Installs `/teardown` on the master process.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>) {
    ctx.route("/teardown", on_teardown);
}

/// `POST /master/teardown` with `frameworkId=<id>` in the form body (or, leniently, the
/// query). Mesos: master/http.cpp `Master::Http::teardown`: `405` for other methods,
/// `400` without an id or for an unknown framework, `403` when the `teardown_frameworks`
/// ACLs deny the caller (nothing changes), `200` once the framework is removed.
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
    let principal = super::principal(&request);
    let response = match master.core_mut().teardown(principal.as_ref(), &framework_id, now) {
        Ok(()) => lhttp::status(StatusCode::OK),
        Err(MasterError::Unauthorized { message }) => super::forbidden(&message),
        Err(error) => lhttp::text(
            StatusCode::BAD_REQUEST,
            format!("No framework found with specified ID: {error}"),
        ),
    };
    master.flush(ctx);
    responder.respond(response);
}
