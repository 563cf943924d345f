//! `GET /`: a small web UI, one page that reads `/master/state`.

use std::sync::Arc;

use http::StatusCode;
use libprocess::Context;
use libprocess::http as lhttp;

use crate::process::MasterProcess;

/// The page, built into the binary.
const PAGE: &str = include_str!("webui/index.html");

/// Installs `/`, which is also the fallback for every path of the master no other route
/// claims: only the page itself is served (`/`, `/master`, `/master/`, `.../index.html`),
/// anything else is `404`.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>) {
    ctx.route_shared(
        "/",
        Arc::new(|request| {
            let path = request.uri().path().to_string();
            Box::pin(async move {
                if path == "/"
                    || path == "/master"
                    || path == "/master/"
                    || path.ends_with("/index.html")
                {
                    lhttp::response(StatusCode::OK, "text/html; charset=utf-8", PAGE)
                } else {
                    lhttp::text(StatusCode::NOT_FOUND, format!("nothing is served at {path}"))
                }
            })
        }),
    );
}
