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
//!
//! The big JSON answers are streamed ([`Renderings::stream`]): the renderer hands its
//! output on in chunks of [`super::json_out::CHUNK_BYTES`] as it writes, and each
//! request's response sends them as they come (chunked encoding) through a channel of
//! [`STREAM_CHUNKS`] chunks, so the first bytes leave while the rest is being rendered
//! and no request holds a second copy of the body.
//!
//! Concurrent requests for the same answer of the same snapshot share one rendering
//! ([`Renderings`]): Mesos answers identical read-only requests of one batch with one
//! rendering the same way (master/http.cpp `Master::Http::deferBatchedRequest` matches
//! handler, principal, content type and query parameters).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use http::StatusCode;
use libprocess::http::{self as lhttp, Response, ResponseBody};
use parking_lot::Mutex;
use tokio::sync::{OnceCell, Semaphore, mpsc, watch};

use super::json_out::JsonOut;

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
    let Some(_queued) = enqueue() else { return queue_full() };
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

/// Chunks waiting in one streamed response for its client to read them. The renderer
/// does not wait for slow clients: it appends to the answer's chunk list, which a
/// finished answer keeps anyway for later requests ([`MAX_SHARED_BYTES`]).
pub const STREAM_CHUNKS: usize = 8;

/// Takes a place in the rendering queue, or `None` when it is full.
fn enqueue() -> Option<Queued> {
    if QUEUED.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    Some(Queued)
}

fn queue_full() -> Response {
    lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "too many renderings queued")
}

/// How far the rendering of a streamed answer got.
#[derive(Clone, Copy, Default)]
struct Progress {
    /// Chunks in the list so far.
    chunks: usize,
    /// No more will come (rendered, or the rendering failed).
    done: bool,
}

/// The chunks of one streamed answer, as they are rendered; every request for the
/// answer streams them from here.
struct StreamedBody {
    chunks: Mutex<Vec<Bytes>>,
    progress: watch::Sender<Progress>,
}

impl StreamedBody {
    fn new() -> Arc<StreamedBody> {
        Arc::new(StreamedBody {
            chunks: Mutex::new(Vec::new()),
            progress: watch::Sender::new(Progress::default()),
        })
    }

    fn push(&self, chunk: Bytes) {
        let mut chunks = self.chunks.lock();
        chunks.push(chunk);
        let count = chunks.len();
        drop(chunks);
        self.progress.send_modify(|p| p.chunks = count);
    }

    fn finish(&self) {
        self.progress.send_modify(|p| p.done = true);
    }

    fn bytes(&self) -> usize {
        self.chunks.lock().iter().map(Bytes::len).sum()
    }

    /// A response sending the chunks to one client as they come; it ends with the
    /// rendering (or when the client goes away).
    fn response(self: Arc<Self>, content_type: &'static str) -> Response {
        let (tx, rx) = mpsc::channel(STREAM_CHUNKS);
        tokio::spawn(async move {
            let mut progress = self.progress.subscribe();
            let mut next = 0;
            loop {
                let now = *progress.borrow_and_update();
                while next < now.chunks {
                    let chunk = self.chunks.lock().get(next).cloned().unwrap_or_default();
                    next += 1;
                    if tx.send(chunk).await.is_err() {
                        return; // The client went away.
                    }
                }
                // `done` is set after the last chunk is counted, so nothing is left.
                if now.done || progress.changed().await.is_err() {
                    return;
                }
            }
        });
        let mut response = http::Response::new(ResponseBody::Stream(rx));
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
        response
    }
}

/// Marks a streamed answer finished even if its rendering panicked (its clients then
/// get a truncated body, and the answer is not kept).
struct FinishOnDrop(Arc<StreamedBody>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Most answers kept per snapshot generation (different endpoints, queries or callers);
/// a request beyond it renders alone, unshared.
pub const MAX_SHARED: usize = 32;
/// Most bytes of finished answers kept per generation; an answer that would pass it is
/// handed to the requests already waiting for it and then forgotten.
pub const MAX_SHARED_BYTES: usize = 256 << 20;

/// What makes two requests' answers the same, besides the snapshot they read: the route
/// (or v1 call and encoding), its query, and who asks (the `view_*` ACLs trim the
/// snapshot per principal).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RenderKey {
    /// The endpoint path, or the v1 call with its encoding.
    pub route: String,
    /// The query string (v0) or nothing (v1 queries carry no parameters that matter).
    pub params: String,
    /// The authenticated principal, if any.
    pub principal: Option<String>,
}

/// A finished answer, cheap to clone (the body is shared).
#[derive(Clone)]
struct Rendered {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Rendered {
    /// A whole `200` body can be shared; anything else (a refusal, a stream) is not.
    fn of(response: Response) -> Result<Rendered, Box<Response>> {
        if response.status() != StatusCode::OK {
            return Err(Box::new(response));
        }
        let (parts, body) = response.into_parts();
        match body {
            ResponseBody::Full(bytes) => Ok(Rendered {
                status: parts.status,
                headers: parts.headers,
                body: bytes.unwrap_or_default(),
            }),
            stream => Err(Box::new(Response::from_parts(parts, stream))),
        }
    }

    fn response(&self) -> Response {
        let mut response = http::Response::new(ResponseBody::Full(Some(self.body.clone())));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// One kept answer: whole ([`Renderings::answer`]) or streamed ([`Renderings::stream`]).
#[derive(Clone)]
enum Slot {
    Whole(Arc<OnceCell<Rendered>>),
    Streamed(Arc<StreamedBody>),
}

/// The answers of one snapshot generation, in flight or finished.
#[derive(Default)]
struct Generation {
    generation: u64,
    answers: HashMap<RenderKey, Slot>,
    bytes: usize,
}

/// Renderings shared between concurrent requests for the same answer of the same snapshot.
///
/// Five clients polling `/master/state` of a 10,000-agent master each asked for tens of
/// megabytes of JSON rendered from the same snapshot; the first request of a (generation,
/// [`RenderKey`]) now renders and every other one waits for that rendering and gets the
/// same bytes, also after it finished, until the master's state changes. Only the newest
/// generation is kept: a request of a newer one drops the older answers (their waiters
/// keep what they hold), a request of an older one renders alone. If the request rendering
/// goes away (its client disconnected) or fails, the next waiter renders instead.
#[derive(Default)]
pub struct Renderings {
    current: Mutex<Generation>,
    rendered: AtomicU64,
    shared: AtomicU64,
}

impl Renderings {
    /// The answer to `key` for snapshot `generation`: rendered by `render` (off the I/O
    /// thread, [`off_io`]) unless another request renders or rendered it already.
    pub async fn answer(
        &self,
        generation: u64,
        key: RenderKey,
        render: impl FnOnce() -> Response + Send + 'static,
    ) -> Response {
        let Some(cell) = self.cell(generation, &key) else {
            self.rendered.fetch_add(1, Ordering::Relaxed);
            return off_io(render).await;
        };
        let mut refused = None;
        let mut ran = false;
        let answer = cell
            .get_or_try_init(|| async {
                ran = true;
                self.rendered.fetch_add(1, Ordering::Relaxed);
                Rendered::of(off_io(render).await).map_err(|r| refused = Some(r))
            })
            .await;
        match (answer, refused) {
            (Ok(rendered), _) => {
                if ran {
                    self.account(generation, &key, rendered.body.len());
                } else {
                    self.shared.fetch_add(1, Ordering::Relaxed);
                }
                rendered.response()
            }
            (Err(()), Some(response)) => *response,
            // `get_or_try_init` fails only with the error our closure returned.
            (Err(()), None) => lhttp::text(StatusCode::INTERNAL_SERVER_ERROR, "no answer"),
        }
    }

    /// Renderings run so far (shared or not): a test hook.
    pub fn rendered(&self) -> u64 {
        self.rendered.load(Ordering::Relaxed)
    }

    /// Answers served from another request's rendering so far: a test hook.
    pub fn shared(&self) -> u64 {
        self.shared.load(Ordering::Relaxed)
    }

    /// The shared slot of `key` in `generation`; `None` to render alone (an older
    /// generation, or [`MAX_SHARED`] answers kept already).
    fn cell(&self, generation: u64, key: &RenderKey) -> Option<Arc<OnceCell<Rendered>>> {
        let new = || Slot::Whole(Arc::new(OnceCell::new()));
        match self.slot(generation, key, new)? {
            (Slot::Whole(cell), _) => Some(cell),
            // The same key is never both (a route answers one way).
            (Slot::Streamed(_), _) => None,
        }
    }

    /// The kept slot of `key` in `generation` and whether it was just made by `new`;
    /// `None` to render alone (an older generation, or [`MAX_SHARED`] answers kept).
    fn slot(
        &self,
        generation: u64,
        key: &RenderKey,
        new: impl FnOnce() -> Slot,
    ) -> Option<(Slot, bool)> {
        let mut current = self.current.lock();
        if generation > current.generation {
            *current = Generation { generation, ..Default::default() };
        }
        if generation < current.generation {
            return None;
        }
        if let Some(slot) = current.answers.get(key) {
            return Some((slot.clone(), false));
        }
        if current.answers.len() >= MAX_SHARED {
            return None;
        }
        let slot = new();
        current.answers.insert(key.clone(), slot.clone());
        Some((slot, true))
    }

    /// Forgets `key`'s answer in `generation` (its rendering failed, or was refused).
    fn forget(&self, generation: u64, key: &RenderKey) {
        let mut current = self.current.lock();
        if current.generation == generation {
            current.answers.remove(key);
        }
    }

    /// The `200` answer `render` writes for `key` in snapshot `generation`, streamed as
    /// it is written (on a rendering thread, [`off_io`]'s pool and queue), unless another
    /// request renders or rendered it already: then the same chunks, from the first.
    /// `503` at once when the rendering queue is full (also for a request that would
    /// have shared: the master is overloaded either way).
    pub async fn stream(
        self: &Arc<Self>,
        generation: u64,
        key: RenderKey,
        content_type: &'static str,
        render: impl FnOnce(&mut JsonOut) + Send + 'static,
    ) -> Response {
        // The place in the queue is taken before the answer is kept: a kept answer
        // always has a rendering coming, so a request sharing it never waits in vain.
        let Some(queued) = enqueue() else { return queue_full() };
        let kept = self.slot(generation, &key, || Slot::Streamed(StreamedBody::new()));
        let (body, start) = match kept {
            Some((Slot::Streamed(body), start)) => (body, start),
            // Rendered alone: nobody shares it.
            Some((Slot::Whole(_), _)) | None => (StreamedBody::new(), true),
        };
        if !start {
            drop(queued);
            self.shared.fetch_add(1, Ordering::Relaxed);
            return body.response(content_type);
        }
        self.rendered.fetch_add(1, Ordering::Relaxed);
        let (renderings, rendering) = (self.clone(), body.clone());
        tokio::spawn(async move {
            let _queued = queued;
            // The semaphore is never closed; if it were, the answer just ends empty.
            let Ok(permit) = RENDERING.acquire().await else {
                rendering.finish();
                return renderings.forget(generation, &key);
            };
            let finish = FinishOnDrop(rendering.clone());
            let written = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let sink = finish.0.clone();
                let mut out = JsonOut::streaming(Box::new(move |chunk| {
                    sink.push(chunk);
                    true
                }));
                render(&mut out);
                out.finish();
                drop(finish);
            })
            .await;
            match written {
                Ok(()) => renderings.account(generation, &key, rendering.bytes()),
                Err(_) => {
                    tracing::warn!(route = %key.route, "rendering the answer failed");
                    renderings.forget(generation, &key);
                }
            }
        });
        body.response(content_type)
    }

    /// Counts a finished answer against [`MAX_SHARED_BYTES`]; forgets it past the bound.
    fn account(&self, generation: u64, key: &RenderKey, bytes: usize) {
        let mut current = self.current.lock();
        if current.generation != generation {
            return;
        }
        if current.bytes + bytes > MAX_SHARED_BYTES {
            current.answers.remove(key);
        } else {
            current.bytes += bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn key(principal: Option<&str>) -> RenderKey {
        RenderKey {
            route: "/state".into(),
            params: String::new(),
            principal: principal.map(str::to_string),
        }
    }

    /// A rendering that counts itself and answers `body`.
    fn counted(count: &Arc<AtomicUsize>, body: &'static str) -> impl FnOnce() -> Response + use<> {
        let count = count.clone();
        move || {
            count.fetch_add(1, Ordering::SeqCst);
            lhttp::text(StatusCode::OK, body)
        }
    }

    async fn body(response: Response) -> Bytes {
        response.into_body().into_bytes().await
    }

    /// Two concurrent requests for the same answer of one snapshot share one rendering
    /// (the second waits for the first's); a later request of the same snapshot gets the
    /// finished answer; a newer snapshot renders again.
    #[tokio::test]
    async fn concurrent_requests_of_one_snapshot_share_one_rendering() {
        let renderings = Arc::new(Renderings::default());
        let count = Arc::new(AtomicUsize::new(0));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let first = tokio::spawn({
            let (renderings, count) = (renderings.clone(), count.clone());
            async move {
                let render = move || {
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = started.send(());
                    let _ = gate.recv();
                    lhttp::text(StatusCode::OK, "generation 1")
                };
                body(renderings.answer(1, key(None), render).await).await
            }
        });
        running.await.expect("the first rendering runs");
        let second = tokio::spawn({
            let (renderings, count) = (renderings.clone(), count.clone());
            async move { body(renderings.answer(1, key(None), counted(&count, "other")).await).await }
        });
        // Let the second request reach the rendering in flight before it finishes.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release.send(()).expect("the rendering waits");
        assert_eq!(first.await.expect("first"), "generation 1");
        assert_eq!(second.await.expect("second"), "generation 1");
        assert_eq!(
            (count.load(Ordering::SeqCst), renderings.rendered(), renderings.shared()),
            (1, 1, 1)
        );

        // Finished, the answer still serves its snapshot.
        let third = renderings.answer(1, key(None), counted(&count, "other")).await;
        assert_eq!(body(third).await, "generation 1");
        assert_eq!(count.load(Ordering::SeqCst), 1);

        // The state changed: a new rendering, then shared again.
        let newer = renderings.answer(2, key(None), counted(&count, "generation 2")).await;
        assert_eq!(body(newer).await, "generation 2");
        let again = renderings.answer(2, key(None), counted(&count, "other")).await;
        assert_eq!(body(again).await, "generation 2");
        assert_eq!((count.load(Ordering::SeqCst), renderings.shared()), (2, 3));
    }

    /// Another caller (another ACL view) or an older snapshot gets its own rendering, and
    /// a refusal is not kept for the next request.
    #[tokio::test]
    async fn other_views_older_snapshots_and_refusals_render_alone() {
        let renderings = Renderings::default();
        let count = Arc::new(AtomicUsize::new(0));
        let mine = renderings.answer(2, key(Some("alice")), counted(&count, "alice")).await;
        assert_eq!(body(mine).await, "alice");
        let theirs = renderings.answer(2, key(Some("bob")), counted(&count, "bob")).await;
        assert_eq!(body(theirs).await, "bob");
        let older = renderings.answer(1, key(Some("alice")), counted(&count, "old")).await;
        assert_eq!(body(older).await, "old");
        assert_eq!(count.load(Ordering::SeqCst), 3);

        let refuse = || lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "busy");
        let refused = renderings.answer(2, key(None), refuse).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let retried = renderings.answer(2, key(None), counted(&count, "ok")).await;
        assert_eq!(body(retried).await, "ok");
        assert_eq!((count.load(Ordering::SeqCst), renderings.shared()), (4, 0));
    }

    /// A streamed answer reaches its client in several chunks that add up to what the
    /// renderer wrote; a second request for it shares the rendering and gets the same.
    #[tokio::test]
    async fn streamed_answers_come_in_chunks_and_are_shared() {
        let renderings = Arc::new(Renderings::default());
        let render = |out: &mut JsonOut| {
            out.begin_array();
            for i in 0..200_000 {
                out.value(&i);
                out.boundary();
            }
            out.end_array();
        };
        let first = renderings.stream(1, key(None), "application/json", render).await;
        let second = renderings.stream(1, key(None), "application/json", render).await;
        assert_eq!(first.headers()[http::header::CONTENT_TYPE], "application/json");
        let mut stream = first.into_body();
        let (mut chunks, mut all) = (0, Vec::new());
        while let Some(chunk) = stream.next_chunk().await {
            chunks += 1;
            all.extend_from_slice(&chunk);
        }
        let expected = serde_json::to_vec(&(0..200_000).collect::<Vec<i32>>()).expect("JSON");
        assert!(chunks > 1, "{chunks} chunks");
        assert_eq!(all, expected);
        assert_eq!(body(second).await, expected);
        assert_eq!((renderings.rendered(), renderings.shared()), (1, 1));
    }
}
