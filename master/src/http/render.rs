//! Rendering big answers off the node's I/O thread, on a bounded pool.
//!
//! `/master/state` at 10,000 agents is tens of megabytes of JSON and seconds of CPU.
//! Rendered where the request is served, it held the node's I/O thread, and with it every
//! socket of the master, for as long (issue 18: four clients polling `/state` deposed the
//! leader). Read-only endpoints and v1 queries therefore render their snapshot here: on
//! tokio's blocking threads, at most [`RENDER_THREADS`] at a time, so renderings cannot
//! take every core from the master's actor and the raft registrar either. Mesos renders
//! `/state` on a libprocess worker for the same reason (master/readonly_handler.cpp,
//! `Master::ReadOnlyHandler`, which runs off the master actor since 1.7).

use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use libprocess::http::{self as lhttp, Response};
use tokio::sync::Semaphore;

/// Renderings running at once (in the whole OS process: a simulated cluster's masters
/// share them). Two: a machine of two cores keeps one for everything else.
pub const RENDER_THREADS: usize = 2;
/// Renderings waiting for a thread; further requests are answered `503` at once (a
/// client can retry; an unbounded queue would hold every waiting request's snapshot).
pub const MAX_QUEUED: usize = 256;

static RENDERING: Semaphore = Semaphore::const_new(RENDER_THREADS);
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// Leaves the queue when dropped (rendered, refused, or the client went away).
struct Queued;

impl Drop for Queued {
    fn drop(&mut self) {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `render` on a rendering thread and returns its answer; `503` when too many
/// renderings wait already, `500` if the rendering panicked.
pub async fn off_io(render: impl FnOnce() -> Response + Send + 'static) -> Response {
    if QUEUED.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
        return lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "too many renderings queued");
    }
    let _queued = Queued;
    // The semaphore is never closed, so acquiring fails only on a closed one: not here.
    let Ok(permit) = RENDERING.acquire().await else {
        return lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "rendering stopped");
    };
    let rendered = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        render()
    })
    .await;
    rendered.unwrap_or_else(|_| {
        lhttp::text(StatusCode::INTERNAL_SERVER_ERROR, "rendering the answer failed")
    })
}
