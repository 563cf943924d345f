//! The HTTP router of a node: libprocess messages, process routes and built-ins.
//!
//! One entry point, [`Node::handle_http`], serves requests from the TCP server and from
//! in-process callers (simulated clusters) alike:
//! 1. a libprocess message (`POST` with `Libprocess-From`) is delivered: `202`, `404`,
//!    `400`, or `503` when the mailbox is full;
//! 2. built-ins: `/__processes__`, `/metrics/snapshot`, `/metrics` (Prometheus),
//!    `/version`;
//! 3. `/<id>/<path>` goes to process `id`'s longest matching route;
//! 4. anything else goes to the default process with the whole path (`/state`).
//!
//! Before a built-in or a route answers, the node's HTTP gate, if one is set
//! ([`Node::set_http_gate`]: the authenticator), sees the request with the process and
//! path it was routed to, and may answer instead.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use std::sync::Arc;

use crate::http::{
    self as lhttp, BodyError, Request, Responder, Response, StreamedBody, StreamedRequest,
    percent_decode, split_first_segment,
};
use crate::message::{Body, Connection, Envelope, MessageName};
use crate::node::{Delivered, Node, RouteTarget};
use crate::pid::Pid;
use crate::process::{Event, HttpEvent};
use crate::request_body::RouteBody;
use crate::wire;

/// The endpoints every node answers itself.
enum Builtin {
    /// `/__processes__`: the processes running here.
    Processes,
    /// `/metrics/snapshot`: every metric.
    Metrics,
    /// `/metrics`: every metric in the Prometheus text format.
    Prometheus,
    /// `/version`.
    Version,
}

impl Builtin {
    fn of(path: &str) -> Option<Builtin> {
        match path {
            "/__processes__" => Some(Builtin::Processes),
            "/metrics/snapshot" => Some(Builtin::Metrics),
            "/metrics" => Some(Builtin::Prometheus),
            "/version" => Some(Builtin::Version),
            _ => None,
        }
    }
}

/// Why a path reaches no process.
enum Unrouted {
    /// Its first segment has a broken `%XX` escape.
    BadEscape,
    /// No process of that name, and no default process.
    Nowhere,
}

/// The answer to a request whose body broke a bound or broke off.
pub(crate) fn body_error_answer(error: &BodyError) -> Response {
    let status = match error {
        BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        BodyError::IdleTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
        BodyError::Broken { .. } => StatusCode::BAD_REQUEST,
    };
    lhttp::text(status, error.to_string())
}

/// The answer to a message from the network, by what became of it: status and text (the
/// router's, and the message connections' in `net/front.rs`, which write it themselves).
pub(crate) fn delivery_answer(delivered: Delivered) -> (StatusCode, &'static str) {
    match delivered {
        Delivered::Queued | Delivered::Filtered => (StatusCode::ACCEPTED, ""),
        Delivered::NoProcess => (StatusCode::NOT_FOUND, ""),
        Delivered::MailboxFull => (StatusCode::SERVICE_UNAVAILABLE, "mailbox full"),
    }
}

impl Node {
    /// Answers one HTTP request (the body already read).
    pub async fn handle_http(&self, request: Request) -> Response {
        if wire::is_message(request.method(), request.headers()) {
            return self.on_message_request(request);
        }
        self.route_request(request.map(RouteBody::Whole)).await
    }

    /// Answers one HTTP request whose body is still arriving: a route that streams
    /// bodies reads it as it comes, any other gets it read whole (within
    /// `max_body_bytes`). The TCP server calls this for the routes that stream; an
    /// in-process caller may too. Never a libprocess message.
    pub async fn handle_http_streamed(&self, request: StreamedRequest) -> Response {
        self.route_request(request.map(RouteBody::Streamed)).await
    }

    /// For the server, from the head alone: the bounds of the body when its route
    /// streams it (`None`: read it whole first).
    pub(crate) fn streamed_body(&self, head: &http::request::Parts) -> Option<StreamedBody> {
        if wire::is_message(&head.method, &head.headers) || Builtin::of(head.uri.path()).is_some() {
            return None;
        }
        let (id, path) = self.resolve(head.uri.path()).ok()?;
        self.find_route(&id, &path, &head.headers)?.1
    }

    async fn route_request(&self, mut request: http::Request<RouteBody>) -> Response {
        let path = request.uri().path().to_string();
        if let Some(builtin) = Builtin::of(&path) {
            if let Some(refusal) = self.gate_refusal(None, &path, &mut request) {
                return refusal;
            }
            return match builtin {
                Builtin::Processes => self.processes_json(),
                Builtin::Metrics => lhttp::json(StatusCode::OK, &self.metrics().snapshot_json()),
                Builtin::Prometheus => lhttp::response(
                    StatusCode::OK,
                    crate::prometheus::CONTENT_TYPE,
                    crate::prometheus::render(self.metrics()),
                ),
                Builtin::Version => self.version_json(),
            };
        }
        let (id, path) = match self.resolve(&path) {
            Ok(routed) => routed,
            Err(Unrouted::BadEscape) => {
                self.stats().bad_requests.inc();
                return lhttp::text(StatusCode::BAD_REQUEST, "malformed percent-encoding in path");
            }
            Err(Unrouted::Nowhere) => {
                return lhttp::text(StatusCode::NOT_FOUND, format!("nothing is served at {path}"));
            }
        };
        // The gate sees the request as routed (process and path inside it), so no
        // spelling of a path (`/state`, `/master/state`, percent-encoded ids) slips past.
        if let Some(refusal) = self.gate_refusal(Some(&id), &path, &mut request) {
            return refusal;
        }
        self.serve_route(&id, path, request).await
    }

    /// The process that serves `path`, and the path inside it: the first segment names
    /// the process, else the default process gets the whole path.
    fn resolve(&self, path: &str) -> Result<(Arc<str>, String), Unrouted> {
        let (first, rest) = split_first_segment(path);
        let first = percent_decode(first, false).ok_or(Unrouted::BadEscape)?;
        if self.has_process(&first) {
            Ok((first.into(), rest.to_string()))
        } else if let Some(default) = self.default_process() {
            Ok((default, path.to_string()))
        } else {
            Err(Unrouted::Nowhere)
        }
    }

    /// Runs the node's HTTP gate, if any, on a request for `path` of process `id`
    /// (`None`: a built-in); `Some` is the answer that replaces the route's. The gate
    /// sees the head (and a whole body); a streamed body is not read before it passes.
    fn gate_refusal(
        &self,
        id: Option<&str>,
        path: &str,
        request: &mut http::Request<RouteBody>,
    ) -> Option<Response> {
        let gate = self.http_gate()?;
        let mut seen = http::Request::new(Bytes::new());
        *seen.method_mut() = request.method().clone();
        *seen.uri_mut() = request.uri().clone();
        *seen.version_mut() = request.version();
        std::mem::swap(seen.headers_mut(), request.headers_mut());
        std::mem::swap(seen.extensions_mut(), request.extensions_mut());
        if let RouteBody::Whole(body) = request.body_mut() {
            std::mem::swap(seen.body_mut(), body);
        }
        let verdict = gate(id, path, &mut seen);
        std::mem::swap(seen.headers_mut(), request.headers_mut());
        std::mem::swap(seen.extensions_mut(), request.extensions_mut());
        if let RouteBody::Whole(body) = request.body_mut() {
            std::mem::swap(seen.body_mut(), body);
        }
        verdict.err().map(|refusal| *refusal)
    }

    /// Serves `path` of process `id`. A route found in the table is served directly (a
    /// shared one without the process); otherwise the process itself looks the path up
    /// once it has run `initialize`, so a request never races route installation.
    async fn serve_route(
        &self,
        id: &str,
        path: String,
        request: http::Request<RouteBody>,
    ) -> Response {
        let route = self.find_route(id, &path, request.headers()).map(|(target, _)| target);
        if let Some(RouteTarget::Shared(handler)) = route {
            let (parts, body) = request.into_parts();
            let body = match body {
                RouteBody::Whole(bytes) => bytes,
                RouteBody::Streamed(stream) => {
                    match stream.collect(self.config().max_body_bytes as u64).await {
                        Ok(bytes) => bytes,
                        Err(error) => return body_error_answer(&error),
                    }
                }
            };
            return handler(http::Request::from_parts(parts, body)).await;
        }
        let (responder, answer) = Responder::new();
        let http = HttpEvent { route, path, request, responder };
        if !self.post_http(id, Event::Http(Box::new(http))) {
            return lhttp::text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("process {id} is busy or gone"),
            );
        }
        match answer.await {
            Ok(response) => response,
            Err(_) => {
                lhttp::text(StatusCode::INTERNAL_SERVER_ERROR, "the process dropped the request")
            }
        }
    }

    fn on_message_request(&self, request: Request) -> Response {
        let head = match wire::parse_message_head(request.uri().path(), request.headers()) {
            Ok(head) => head,
            Err(error) => {
                self.stats().bad_requests.inc();
                return lhttp::text(StatusCode::BAD_REQUEST, error.to_string());
            }
        };
        // The TCP server tags each request with its connection; an in-process request
        // has none.
        let via = request.extensions().get::<Connection>().copied();
        let envelope = Envelope {
            from: head.from,
            to: Pid::new(head.to_id, self.address()),
            name: MessageName::owned(&head.name),
            body: Body::Encoded(request.into_body()),
            via,
        };
        match delivery_answer(self.deliver(envelope)) {
            (status, "") => lhttp::status(status),
            (status, text) => lhttp::text(status, text),
        }
    }

    fn processes_json(&self) -> Response {
        let processes: Vec<_> =
            self.process_ids().into_iter().map(|id| json!({ "id": id })).collect();
        lhttp::json(StatusCode::OK, &serde_json::Value::Array(processes))
    }

    fn version_json(&self) -> Response {
        let version = &self.config().version;
        lhttp::json(
            StatusCode::OK,
            &json!({
                "version": version,
                "git_tag": version,
                "build_date": "",
                "build_time": 0,
                "build_user": "",
                "mesos_rs_version": env!("CARGO_PKG_VERSION"),
            }),
        )
    }

    /// Sends an HTTP request to this node in-process (no TCP), as a client would.
    pub async fn request(
        &self,
        method: ::http::Method,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Response {
        let request = ::http::Request::builder().method(method).uri(path).body(body.into());
        match request {
            Ok(request) => self.handle_http(request).await,
            Err(error) => lhttp::text(StatusCode::BAD_REQUEST, error.to_string()),
        }
    }
}
