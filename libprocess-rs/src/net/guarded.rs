//! A connection wrapper that closes connections whose request head trickles in.
//!
//! hyper's own header timeout also runs while a keep-alive connection is idle, which
//! would cut the persistent connections libprocess peers rely on (a broken connection
//! means `exited` for every link over it). This wrapper starts its clock only when bytes
//! arrive while no request is being served, and stops it when hyper hands a request head
//! to the service.
//!
//! Generic over the stream so the same server path runs over TCP and, for the fuzz
//! target, over an in-memory duplex stream.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Sleep;

/// What the service tells the wrapper about request progress.
#[derive(Default)]
pub(crate) struct ConnState {
    in_service: AtomicUsize,
    head_seen: AtomicBool,
}

impl ConnState {
    /// A request head was parsed: the service is handling it.
    pub(crate) fn begin(&self) {
        self.head_seen.store(true, Ordering::Release);
        self.in_service.fetch_add(1, Ordering::AcqRel);
    }

    /// The service has produced its response.
    pub(crate) fn end(&self) {
        self.in_service.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(crate) struct GuardedIo<T> {
    inner: T,
    state: Arc<ConnState>,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> GuardedIo<T> {
    pub(crate) fn new(inner: T, state: Arc<ConnState>, timeout: Duration) -> GuardedIo<T> {
        GuardedIo { inner, state, timeout, deadline: None }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.state.head_seen.swap(false, Ordering::AcqRel) {
            this.deadline = None;
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let idle = this.state.in_service.load(Ordering::Acquire) == 0;
                if buf.filled().len() > before && idle && this.deadline.is_none() {
                    this.deadline = Some(Box::pin(tokio::time::sleep(this.timeout)));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let idle = this.state.in_service.load(Ordering::Acquire) == 0;
                if let Some(deadline) = this.deadline.as_mut()
                    && idle
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not received within the header read timeout",
                    )));
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

write_through!(GuardedIo);
