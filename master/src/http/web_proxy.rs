//! `GET /master/proxy/<ip:port>/<path>`: the web UI's one way to read another member
//! of the cluster, so the page works from whichever master the user opened.
//!
//! A browser refuses a page's `fetch` of another origin unless that origin answers with
//! CORS headers, and a follower's read endpoints redirect to the leader (another
//! origin). Mesos's AngularJS UI works around both with JSONP; this page instead asks
//! the master that served it, which forwards the `GET` server-side and hands back the
//! answer unchanged. Only read-only paths are forwarded ([`ALLOWED`]), and only to
//! members of the cluster: the masters of the raft group, and the agents this master
//! knows. A follower knows no agents, so it forwards a request for an agent to the
//! leader's proxy (one hop: a forwarded request carries [`HOP`] and is not forwarded
//! again).
//!
//! The proxy connects as the master's own links do (`libprocess::tls::connect` with the
//! node's setting): over TLS when the cluster runs with `LIBPROCESS_SSL_ENABLED`, where a
//! plain request would get no answer.
//!
//! Bounds: one request at a time per browser fetch, [`TIMEOUT`] for the whole exchange,
//! answers over [`MAX_BODY`] bytes are refused with `502` (a `/files/read` page is 16
//! KiB, `/state` of a large cluster a few MiB).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderValue};
use http_body_util::{BodyExt, Empty, Limited};
use libprocess::http::{self as lhttp, Request, Response, ResponseBody};
use libprocess::{Context, ProcessRef};

use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use crate::snapshot::SnapshotCell;
use mesos_registrar::Registrar;

/// The paths (after `<ip:port>`) the proxy forwards: the read-only JSON the page shows.
/// A path matches an entry exactly or extends it with `/...` (no `..` and no `%` escape
/// other than the parentheses of `slave(1)` is ever allowed).
const ALLOWED: [&str; 13] = [
    "/master/state",
    "/master/state-summary",
    "/master/roles",
    "/master/raft",
    "/master/flags",
    "/master/messages",
    "/metrics/snapshot",
    "/slave(1)/state",
    "/slave(1)/flags",
    "/slave(1)/messages",
    "/files/browse",
    "/files/read",
    "/health",
];

/// Set on a request a follower forwards to the leader's proxy.
const HOP: &str = "x-mesos-rs-proxied";

/// The longest one proxied exchange may take (connect, request, whole answer).
const TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer forwarded.
const MAX_BODY: usize = 16 << 20;

/// What the proxy needs to check a target.
#[derive(Clone)]
struct Proxy {
    master: ProcessRef<MasterProcess>,
    cell: Arc<SnapshotCell>,
    view: Arc<LeaderView>,
    registrar: Arc<dyn Registrar>,
    this: SocketAddr,
    /// The node's TLS setting, for connections to the other members.
    tls: Option<libprocess::tls::Tls>,
}

/// Installs `/proxy` on the master.
pub(super) fn install(
    ctx: &mut Context<'_, MasterProcess>,
    cell: &Arc<SnapshotCell>,
    view: &Arc<LeaderView>,
    registrar: &Arc<dyn Registrar>,
) {
    let proxy = Proxy {
        master: ctx.self_ref(),
        cell: cell.clone(),
        view: view.clone(),
        registrar: registrar.clone(),
        this: ctx.pid().address(),
        tls: ctx.node().tls(),
    };
    ctx.route_shared(
        "/proxy",
        Arc::new(move |request: Request| {
            let proxy = proxy.clone();
            Box::pin(async move { proxy.serve(request).await })
        }),
    );
}

/// Splits `/proxy/<ip:port>/<rest>` (the master's own prefix already removed, or not).
fn parse(path: &str) -> Option<(SocketAddr, String)> {
    let after = path.strip_prefix("/master/proxy/").or_else(|| path.strip_prefix("/proxy/"))?;
    let (target, rest) = after.split_once('/')?;
    let target: SocketAddr = target.parse().ok()?;
    // Browsers may escape the agent's process id (`slave%281%29`).
    let rest = format!("/{}", rest.replace("%28", "(").replace("%29", ")"));
    // No other escapes: a `%2e%2e` or `%2f` could hide a path the list does not allow.
    let allowed = !rest.contains("..")
        && !rest.contains('%')
        && ALLOWED.iter().any(|p| rest == *p || rest.starts_with(&format!("{p}/")));
    allowed.then_some((target, rest))
}

impl Proxy {
    async fn serve(&self, request: Request) -> Response {
        if request.method() != http::Method::GET {
            return lhttp::text(StatusCode::METHOD_NOT_ALLOWED, "the proxy only reads (GET)");
        }
        let Some((target, path)) = parse(request.uri().path()) else {
            return lhttp::text(
                StatusCode::NOT_FOUND,
                "usage: /master/proxy/<ip:port>/<read-only path of a master or agent>",
            );
        };
        let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        let auth = request.headers().get(header::AUTHORIZATION).cloned();
        if self.is_master(target).await || self.is_agent(target).await {
            let path = format!("{path}{query}");
            return forward(target, self.tls.as_ref(), &path, auth, false).await;
        }
        // A follower knows no agents: the leader's proxy decides (one hop only).
        let leader = self.view.leader().filter(|l| *l != self.this);
        match leader {
            Some(leader) if !request.headers().contains_key(HOP) => {
                let hop = format!("/master/proxy/{target}{path}{query}");
                forward(leader, self.tls.as_ref(), &hop, auth, true).await
            }
            _ => lhttp::text(
                StatusCode::FORBIDDEN,
                format!("{target} is not a master or agent of this cluster"),
            ),
        }
    }

    /// True if `target` is this master or a member of its raft group.
    async fn is_master(&self, target: SocketAddr) -> bool {
        if target == self.this {
            return true;
        }
        let Some(status) = self.registrar.raft_status() else { return false };
        match status.await {
            Ok(status) => {
                status.members.iter().any(|id| self.registrar.address_of(*id) == Some(target))
            }
            Err(_) => false,
        }
    }

    /// True if `target` is an agent this master knows (only the leader knows any).
    async fn is_agent(&self, target: SocketAddr) -> bool {
        if !self.view.is_leading() {
            return false;
        }
        match self.cell.get(&self.master).await {
            Some(snapshot) => snapshot.agents.iter().any(|a| a.pid.address() == target),
            None => false,
        }
    }
}

/// One `GET` to `target`, its answer handed back (status, content type, body); `502`
/// when the target cannot be reached or answers too much, `504` after [`TIMEOUT`].
async fn forward(
    target: SocketAddr,
    tls: Option<&libprocess::tls::Tls>,
    path_and_query: &str,
    auth: Option<HeaderValue>,
    hop: bool,
) -> Response {
    let exchange = exchange(target, tls, path_and_query, auth, hop);
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => lhttp::text(StatusCode::BAD_GATEWAY, format!("{target}: {error}")),
        Err(_) => lhttp::text(StatusCode::GATEWAY_TIMEOUT, format!("{target} did not answer")),
    }
}

async fn exchange(
    target: SocketAddr,
    tls: Option<&libprocess::tls::Tls>,
    path_and_query: &str,
    auth: Option<HeaderValue>,
    hop: bool,
) -> Result<Response, String> {
    let stream = libprocess::tls::connect(target, tls, TIMEOUT).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut builder = http::Request::get(path_and_query).header(header::HOST, target.to_string());
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    if hop {
        builder = builder.header(HOP, "1");
    }
    let request = builder.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let answer = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = answer.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("answer unreadable or over {MAX_BODY} bytes: {e}"))?
        .to_bytes();
    let mut response = http::Response::new(ResponseBody::Full(Some(body)));
    *response.status_mut() = parts.status;
    // A redirect's target is another origin the page cannot follow: pass it on as is
    // (the page reads `/master/raft` to find the leader instead).
    for name in [header::CONTENT_TYPE, header::LOCATION] {
        if let Some(value) = parts.headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The proxy forwards only read-only paths of cluster members, never `..`.
    #[test]
    fn parse_allows_only_read_only_paths() {
        let (target, path) = parse("/proxy/127.0.0.1:5061/files/read").unwrap();
        assert_eq!(target, "127.0.0.1:5061".parse().unwrap());
        assert_eq!(path, "/files/read");
        let (_, path) = parse("/master/proxy/127.0.0.1:5061/slave%281%29/messages/body").unwrap();
        assert_eq!(path, "/slave(1)/messages/body");
        assert!(parse("/proxy/127.0.0.1:5050/master/state").is_some());
        assert!(parse("/proxy/127.0.0.1:5050/master/teardown").is_none());
        assert!(parse("/proxy/127.0.0.1:5050/api/v1").is_none());
        assert!(parse("/proxy/127.0.0.1:5050/files/read/../../x").is_none());
        assert!(parse("/proxy/127.0.0.1:5050/master/state%2f%2e%2e%2fteardown").is_none());
        assert!(parse("/proxy/example.com/master/state").is_none());
        assert!(parse("/proxy/127.0.0.1:5050/master/statex").is_none());
    }
}
