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

use crate::http::{
    self as lhttp, Request, Responder, Response, percent_decode, split_first_segment,
};
use crate::message::{Body, Connection, Envelope, MessageName};
use crate::node::{Delivered, Node, RouteTarget};
use crate::pid::Pid;
use crate::process::{Event, HttpEvent};
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
    pub async fn handle_http(&self, mut request: Request) -> Response {
        if wire::is_message(request.method(), request.headers()) {
            return self.on_message_request(request);
        }
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
        let (first, rest) = split_first_segment(&path);
        let Some(first) = percent_decode(first, false) else {
            self.stats().bad_requests.inc();
            return lhttp::text(StatusCode::BAD_REQUEST, "malformed percent-encoding in path");
        };
        let (id, path): (std::sync::Arc<str>, String) = if self.has_process(&first) {
            (first.into(), rest.to_string())
        } else if let Some(default) = self.default_process() {
            (default, path)
        } else {
            return lhttp::text(StatusCode::NOT_FOUND, format!("nothing is served at {path}"));
        };
        // The gate sees the request as routed (process and path inside it), so no
        // spelling of a path (`/state`, `/master/state`, percent-encoded ids) slips past.
        if let Some(refusal) = self.gate_refusal(Some(&id), &path, &mut request) {
            return refusal;
        }
        self.serve_route(&id, path, request).await
    }

    /// Runs the node's HTTP gate, if any, on a request for `path` of process `id`
    /// (`None`: a built-in); `Some` is the answer that replaces the route's.
    fn gate_refusal(
        &self,
        id: Option<&str>,
        path: &str,
        request: &mut Request,
    ) -> Option<Response> {
        let gate = self.http_gate()?;
        gate(id, path, request).err().map(|refusal| *refusal)
    }

    /// Serves `path` of process `id`. A route found in the table is served directly (a
    /// shared one without the process); otherwise the process itself looks the path up
    /// once it has run `initialize`, so a request never races route installation.
    async fn serve_route(&self, id: &str, path: String, request: Request) -> Response {
        let target = self.find_route(id, &path);
        match target {
            Some(RouteTarget::Shared(handler)) => handler(request).await,
            target => {
                let route = match target {
                    Some(RouteTarget::Process(index)) => Some(index),
                    _ => None,
                };
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
                    Err(_) => lhttp::text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the process dropped the request",
                    ),
                }
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
