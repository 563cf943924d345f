//! HTTP as processes see it: requests with a fully read body (or, for the routes that
//! ask, a streamed one: [`StreamedRequest`]), responses with a whole or streamed body,
//! and the route handlers processes install.
//!
//! Mesos: 3rdparty/libprocess/include/process/http.hpp. As in libprocess, the first path
//! segment of a URL names a process (`/master/state`), the rest is matched against that
//! process's routes by longest prefix, and a node's default process also answers paths
//! whose first segment names no process (`/state`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body::Frame;
use tokio::sync::{mpsc, oneshot};

pub use crate::request_body::{BodyError, BodySender, RequestBody, StreamedBody, StreamedRequest};

/// An HTTP request whose body has been read (within the node's size bound).
pub type Request = http::Request<Bytes>;

/// An HTTP response.
pub type Response = http::Response<ResponseBody>;

/// The client address of a request, found in its extensions when it came over TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// A handler that runs outside any process (e.g. answering from a snapshot), so slow
/// requests never delay the process's messages.
pub type SharedHandler =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

/// Checks an HTTP request before a node serves it ([`Node::set_http_gate`]), given the
/// process it is routed to (`None` for the node's built-ins: `/metrics/snapshot`,
/// `/version`, `/__processes__`) and the path inside that process (`/state`). `Err` is
/// the answer instead of the route's (a `401`); `Ok` lets it through, possibly with
/// extensions added (the authenticated principal).
///
/// [`Node::set_http_gate`]: crate::Node::set_http_gate
pub type HttpGate =
    Arc<dyn Fn(Option<&str>, &str, &mut Request) -> Result<(), Box<Response>> + Send + Sync>;

/// A response body: whole, or a stream of chunks sent with chunked encoding.
pub enum ResponseBody {
    /// The whole body.
    Full(Option<Bytes>),
    /// Chunks as they are produced; the response ends when the writer is dropped.
    Stream(mpsc::Receiver<Bytes>),
}

impl ResponseBody {
    /// Reads a whole body (tests and in-process callers). A stream is read to its end.
    pub async fn into_bytes(self) -> Bytes {
        match self {
            ResponseBody::Full(bytes) => bytes.unwrap_or_default(),
            ResponseBody::Stream(mut rx) => {
                let mut all = Vec::new();
                while let Some(chunk) = rx.recv().await {
                    all.extend_from_slice(&chunk);
                }
                Bytes::from(all)
            }
        }
    }

    /// The next chunk of a streamed body (`None` at its end, or for a whole body once
    /// its bytes were taken).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        match self {
            ResponseBody::Full(bytes) => bytes.take(),
            ResponseBody::Stream(rx) => rx.recv().await,
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream(rx) => {
                rx.poll_recv(cx).map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ResponseBody::Full(Some(bytes)) => http_body::SizeHint::with_exact(bytes.len() as u64),
            ResponseBody::Full(None) => http_body::SizeHint::with_exact(0),
            ResponseBody::Stream(_) => http_body::SizeHint::default(),
        }
    }
}

/// A response with a whole body and a content type.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response {
    let body: Bytes = body.into();
    let mut response = http::Response::new(ResponseBody::Full(Some(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    response(status, "application/json", value.to_string())
}

/// A plain-text response (errors carry their explanation this way, as in Mesos).
pub fn text(status: StatusCode, body: impl Into<String>) -> Response {
    response(status, "text/plain; charset=utf-8", body.into())
}

/// An empty response with a status (e.g. `202 Accepted`).
pub fn status(status: StatusCode) -> Response {
    let mut response = http::Response::new(ResponseBody::Full(None));
    *response.status_mut() = status;
    response
}

/// Why a chunk could not be written to a streamed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The client reads slower than chunks are produced and the buffer is at its bound.
    /// The usual answer is to drop the writer, which ends the response.
    #[error("the client is not keeping up: stream buffer full")]
    Full,
    /// The client has gone.
    #[error("the client has gone")]
    Closed,
}

/// The producing end of a streamed response. Dropping it ends the response.
#[derive(Clone)]
pub struct StreamWriter {
    tx: mpsc::Sender<Bytes>,
}

impl StreamWriter {
    /// Queues a chunk without waiting. At the bound it fails with
    /// [`StreamError::Full`] rather than buffering without limit.
    pub fn try_send(&self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        self.tx.try_send(chunk.into()).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StreamError::Full,
            mpsc::error::TrySendError::Closed(_) => StreamError::Closed,
        })
    }

    /// True once the client has gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Completes when the client has gone (the response body was dropped).
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// A streamed response (chunked transfer encoding) buffering at most `capacity` chunks.
pub fn stream(
    status: StatusCode,
    content_type: &'static str,
    capacity: usize,
) -> (Response, StreamWriter) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let mut response = http::Response::new(ResponseBody::Stream(rx));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (response, StreamWriter { tx })
}

/// The way a process answers a request routed to it: now, or later (after other
/// messages, e.g. once a registry write commits). Dropping it unanswered sends `500`.
pub struct Responder {
    tx: oneshot::Sender<Response>,
}

impl Responder {
    pub(crate) fn new() -> (Responder, oneshot::Receiver<Response>) {
        let (tx, rx) = oneshot::channel();
        (Responder { tx }, rx)
    }

    /// Sends the response. Returns false if the client has already gone.
    pub fn respond(self, response: Response) -> bool {
        self.tx.send(response).is_ok()
    }
}

/// Splits `/a/b/c` into (`a`, `/b/c`); `/a` gives (`a`, `/`).
pub(crate) fn split_first_segment(path: &str) -> (&str, &str) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.find('/') {
        Some(index) => (&trimmed[..index], &trimmed[index..]),
        None => (trimmed, "/"),
    }
}

/// True if `route` is a segment-wise prefix of `path` (`/api/v1` matches `/api/v1/x` but
/// not `/api/v10`).
pub fn route_matches(route: &str, path: &str) -> bool {
    if route == "/" {
        return true;
    }
    let route = route.trim_end_matches('/');
    path == route || (path.starts_with(route) && path.as_bytes().get(route.len()) == Some(&b'/'))
}

/// Decodes `%XX` escapes: process ids in paths (`slave(1)` may arrive as `slave%281%29`)
/// and, with `plus_is_space`, form-encoded query strings, where `+` is a space (in a path
/// `+` is itself). `None` for a broken escape or bytes that are not UTF-8. The one
/// decoder of the workspace: libprocess's paths and the master's query strings use it.
pub fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    if !(text.contains('%') || (plus_is_space && text.contains('+'))) {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths split into the process segment and the rest, and routes match by segment.
    #[test]
    fn routing_helpers() {
        assert_eq!(split_first_segment("/master/state"), ("master", "/state"));
        assert_eq!(split_first_segment("/master"), ("master", "/"));
        assert_eq!(split_first_segment("/"), ("", "/"));
        assert!(route_matches("/api/v1", "/api/v1/scheduler"));
        assert!(route_matches("/api/v1", "/api/v1"));
        assert!(!route_matches("/api/v1", "/api/v10"));
        assert!(route_matches("/", "/anything"));
        assert_eq!(percent_decode("slave%281%29", false).as_deref(), Some("slave(1)"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(percent_decode("bad%2", false), None);
        assert_eq!(percent_decode("bad%zz", true), None);
    }
}
