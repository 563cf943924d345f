//! Streamed request bodies: routes that read their body as it arrives.
//!
//! Most routes get a [`Request`](crate::http::Request) whose body was read whole (within
//! `NodeConfig::max_body_bytes` and `body_read_timeout`). A route installed with
//! [`Context::route_streamed`](crate::Context::route_streamed) instead gets a
//! [`StreamedRequest`]: the head at once, the body as a [`RequestBody`] of chunks in
//! the order they arrive, for requests that never end or whose parts matter before the
//! end (Mesos's `ATTACH_CONTAINER_INPUT`: keystrokes for a container's stdin).
//!
//! Mesos: 3rdparty/libprocess `RouteOptions::requestStreaming` (the handler gets a
//! `Request` of type `PIPE` and reads `request.reader`).
//!
//! Bounds, as for whole bodies, chosen per route ([`StreamedBody`]):
//! 1. the request head: the node's `max_header_bytes`, before anything else;
//! 2. the node's HTTP gate (authentication) runs on the head, before any of the body is
//!    read;
//! 3. `capacity` chunks wait between the connection and the handler: a handler that
//!    reads slower stops the connection being read (back-pressure to the client);
//! 4. `max_bytes` in total (`None` for long-lived streams): past it the body ends with
//!    [`BodyError::TooLarge`] (a `Content-Length` over it is answered `413` at once);
//! 5. `idle_timeout`: a client silent for longer ends the body with
//!    [`BodyError::IdleTimeout`] (the time the handler takes does not count);
//! 6. a client that disconnects, or sends a broken chunk, ends it with
//!    [`BodyError::Broken`]. A handler that drops the body stops the reading.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

/// A request whose body arrives as a stream of chunks.
pub type StreamedRequest = http::Request<RequestBody>;

/// Which requests of a route stream their body, and the bounds on it.
#[derive(Clone, Debug)]
pub struct StreamedBody {
    /// Which requests stream, by their head (the others of the route's path go to the
    /// whole-body route at the same path, if any). Mesos's agent API streams only
    /// `application/recordio` bodies.
    pub wants: fn(&HeaderMap) -> bool,
    /// The most bytes the body may have in total; `None`: no bound (a long-lived
    /// stream, bounded by `idle_timeout` and back-pressure instead).
    pub max_bytes: Option<u64>,
    /// The longest the client may stay silent between chunks.
    pub idle_timeout: Duration,
    /// Chunks read ahead of the handler.
    pub capacity: usize,
}

impl StreamedBody {
    /// Every request of the route streams, with these bounds.
    pub fn always(max_bytes: Option<u64>, idle_timeout: Duration, capacity: usize) -> Self {
        StreamedBody { wants: |_| true, max_bytes, idle_timeout, capacity }
    }
}

/// Why a streamed body ended before its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body passed the route's `max_bytes`.
    #[error("request body exceeds {limit} bytes")]
    TooLarge {
        /// The bound.
        limit: u64,
    },
    /// The client sent nothing for the route's `idle_timeout`.
    #[error("no request body received for {after:?}")]
    IdleTimeout {
        /// The bound.
        after: Duration,
    },
    /// The client disconnected before the end, or the body's framing was invalid.
    #[error("request body broken: {reason}")]
    Broken {
        /// What the HTTP layer reported.
        reason: String,
    },
}

/// The body of a [`StreamedRequest`]: chunks in order, then `None` at its end; an error
/// is the last item.
pub struct RequestBody {
    inner: Inner,
}

enum Inner {
    /// All of it, already here (an in-process request, or a whole body given to a
    /// streamed route).
    Whole(Option<Bytes>),
    /// Chunks as the connection delivers them.
    Stream(mpsc::Receiver<Result<Bytes, BodyError>>),
}

/// The producing end of a [`RequestBody`] made by [`RequestBody::channel`].
pub type BodySender = mpsc::Sender<Result<Bytes, BodyError>>;

impl RequestBody {
    /// A body that is one chunk (none when `bytes` is empty).
    pub fn whole(bytes: Bytes) -> RequestBody {
        RequestBody { inner: Inner::Whole((!bytes.is_empty()).then_some(bytes)) }
    }

    /// A body fed by hand (in-process callers and tests), `capacity` chunks ahead; the
    /// body ends when the sender is dropped.
    pub fn channel(capacity: usize) -> (BodySender, RequestBody) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, RequestBody { inner: Inner::Stream(rx) })
    }

    /// The next chunk; `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Polls for the next chunk.
    pub fn poll_chunk(
        &mut self,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        match &mut self.inner {
            Inner::Whole(bytes) => Poll::Ready(bytes.take().map(Ok)),
            Inner::Stream(rx) => rx.poll_recv(cx),
        }
    }

    /// Reads the rest of the body, at most `limit` bytes.
    pub async fn collect(mut self, limit: u64) -> Result<Bytes, BodyError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            let chunk = chunk?;
            if (all.len() + chunk.len()) as u64 > limit {
                return Err(BodyError::TooLarge { limit });
            }
            all.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(all))
    }
}

impl futures::Stream for RequestBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

/// A request's body on its way to a route: read whole, or streamed.
pub(crate) enum RouteBody {
    /// Read whole (by the server, or given by an in-process caller).
    Whole(Bytes),
    /// Arriving.
    Streamed(RequestBody),
}

impl RouteBody {
    /// The body as a stream (a whole one is a single chunk).
    pub(crate) fn into_stream(self) -> RequestBody {
        match self {
            RouteBody::Whole(bytes) => RequestBody::whole(bytes),
            RouteBody::Streamed(body) => body,
        }
    }
}

/// Reads `body` from the connection on a task of its own, within `spec`'s bounds, into
/// the [`RequestBody`] the handler reads.
pub(crate) fn pump<B>(body: B, spec: &StreamedBody) -> RequestBody
where
    B: http_body::Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    let (tx, body_out) = RequestBody::channel(spec.capacity);
    tokio::spawn(feed(body, spec.max_bytes, spec.idle_timeout, tx));
    body_out
}

/// The pump's loop: chunks to `tx` until the body ends, breaks a bound, or the handler
/// drops its end.
async fn feed<B>(mut body: B, max_bytes: Option<u64>, idle: Duration, tx: BodySender)
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display + Send,
{
    let mut total: u64 = 0;
    loop {
        // Only the wait for the client is timed; the wait for the handler (the send
        // below) is back-pressure, however long it takes.
        let frame = tokio::select! {
            frame = tokio::time::timeout(idle, body.frame()) => frame,
            () = tx.closed() => return,
        };
        let chunk = match frame {
            Ok(None) => return,
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                // Trailers carry nothing a route reads.
                Err(_trailers) => continue,
            },
            Ok(Some(Err(error))) => {
                let reason = error.to_string();
                let _ = tx.send(Err(BodyError::Broken { reason })).await;
                return;
            }
            Err(_) => {
                let _ = tx.send(Err(BodyError::IdleTimeout { after: idle })).await;
                return;
            }
        };
        total += chunk.len() as u64;
        if let Some(limit) = max_bytes.filter(|limit| total > *limit) {
            let _ = tx.send(Err(BodyError::TooLarge { limit })).await;
            return;
        }
        // An empty chunk is no news; a send error means the handler dropped the body.
        if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
            return;
        }
    }
}
