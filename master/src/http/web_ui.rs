//! `GET /`: the web UI, one page and its script and style sheet, built into the binary
//! (no CDN, no build step). The page reads everything through this master's
//! `/master/proxy` (`web_proxy`), so it works from a follower too.
//!
//! The page's own code is in `webui/`: `index.html` (the layout), `app.css`, `app.js`
//! (polling, the tables, the task sandbox) and `flow.js` (the message-flow sequence
//! diagram); `docs/tour.md` walks through it.

use std::sync::Arc;

use http::StatusCode;
use libprocess::Context;
use libprocess::http as lhttp;

use crate::process::MasterProcess;

/// The page and its assets: (path suffix, content type, text).
const ASSETS: [(&str, &str, &str); 3] = [
    ("/webui/app.js", "text/javascript; charset=utf-8", include_str!("webui/app.js")),
    ("/webui/flow.js", "text/javascript; charset=utf-8", include_str!("webui/flow.js")),
    ("/webui/app.css", "text/css; charset=utf-8", include_str!("webui/app.css")),
];

/// The page itself.
const PAGE: &str = include_str!("webui/index.html");

/// Installs `/`, which is also the fallback for every path of the master no other route
/// claims: only the page (`/`, `/master`, `/master/`, `.../index.html`) and its assets
/// (`.../webui/<asset>`) are served, anything else is `404`.
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
                    return lhttp::response(StatusCode::OK, "text/html; charset=utf-8", PAGE);
                }
                match ASSETS.iter().find(|(suffix, _, _)| path.ends_with(suffix)) {
                    Some((_, content_type, text)) => {
                        lhttp::response(StatusCode::OK, content_type, *text)
                    }
                    None => {
                        lhttp::text(StatusCode::NOT_FOUND, format!("nothing is served at {path}"))
                    }
                }
            })
        }),
    );
}
