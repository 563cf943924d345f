//! The per-thread cork: messages an arbiter thread sent during its current turn, by
//! pipe, written when the turn ends.
//!
//! A process's turn (its batch of mailbox items, `process.rs` `Drain`) ends in [`turn`],
//! which writes what the thread corked then and there. Anything else sent from an
//! arbiter (a future, a dispatch outside a process's turn) is written by a task of the
//! arbiter's own (the flusher), woken by the first such message and run once the arbiter
//! has finished what it is running now: a wake of a task of the same thread, where
//! handing a closure to the arbiter (`spawn_fn`: a box, a channel send, the arbiter's
//! runner polled) cost ~600 instructions per turn; writing at the end of the process's
//! turn spares the wake and the poll too (~250 instructions per turn). The flusher lives
//! as long as the arbiter's task set; one is started on a thread's first message sent
//! outside a turn, and again after an arbiter or system ends (its task set drops the
//! flusher, which gives up its place).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::*;

struct Cork {
    /// The messages of this turn, by pipe (the Vec's buffer is kept between turns).
    pipes: Vec<(Arc<Pipe>, Vec<Bytes>)>,
    /// Wakes this thread's flusher, once it has run; with the system it runs in and
    /// its generation (a flusher of an older system, or an older flusher, is not it).
    flusher: Option<(Waker, usize)>,
    /// The generation of the flusher started last on this thread.
    generation: u64,
    /// A flush is due (the flusher woken or started): the turn's next messages only
    /// join it.
    due: bool,
}

thread_local! {
    static CORK: RefCell<Cork> = const {
        RefCell::new(Cork { pipes: Vec::new(), flusher: None, generation: 0, due: false })
    };
    /// A process's turn runs on this thread: what it sends is written when the turn
    /// ends ([`turn`]), without waking the flusher.
    static IN_TURN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a process's turn (its batch of mailbox items) and writes what it corked when
/// it ends, with whatever this thread corked before: one `writev` per peer, from
/// this thread, as the flusher does, without waking a task for it.
pub(crate) fn turn<R>(handle: impl FnOnce() -> R) -> R {
    let outer = IN_TURN.with(|in_turn| in_turn.replace(true));
    // Ends the turn even when a handler panics (the thread goes on serving others).
    let _end = TurnEnd { outer };
    handle()
}

/// Ends the outermost turn: writes what it corked.
struct TurnEnd {
    outer: bool,
}

impl Drop for TurnEnd {
    fn drop(&mut self) {
        if !self.outer {
            let _ = IN_TURN.try_with(|in_turn| in_turn.set(false));
            flush_here();
        }
    }
}

/// Writes what this thread corked.
fn flush_here() {
    let pipes = CORK.try_with(|cell| {
        let mut cork = cell.try_borrow_mut().ok()?;
        if cork.pipes.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut cork.pipes))
    });
    let Some(mut corked) = pipes.ok().flatten() else { return };
    for (pipe, messages) in corked.drain(..) {
        pipe.write_or_push(messages);
    }
    let _ = CORK.try_with(|cell| {
        if let Ok(mut cork) = cell.try_borrow_mut()
            && cork.pipes.is_empty()
        {
            cork.pipes = corked;
        }
    });
}

/// Corks `bytes` for `pipe` on this thread; `Err` gives them back when this thread is
/// not an arbiter's (an I/O thread, a plain thread), which then queues them at once.
pub(super) fn add(pipe: &Arc<Pipe>, bytes: Bytes) -> Result<(), Bytes> {
    let in_turn = IN_TURN.with(std::cell::Cell::get);
    CORK.with(|cell| {
        let mut cork = cell.borrow_mut();
        if !cork.due && !in_turn {
            let Some(system) = actix_rt::System::try_current() else { return Err(bytes) };
            match &cork.flusher {
                Some((flusher, id)) if *id == system.id() => flusher.wake_by_ref(),
                _ => {
                    // This thread's first message, or the first since its system changed.
                    let Some(arbiter) = actix_rt::Arbiter::try_current() else {
                        return Err(bytes);
                    };
                    let generation = cork.generation + 1;
                    if !arbiter.spawn(Flusher { generation, system: system.id() }) {
                        return Err(bytes);
                    }
                    cork.generation = generation;
                    cork.flusher = None;
                }
            }
            cork.due = true;
        }
        match cork.pipes.iter_mut().find(|(corked, _)| Arc::ptr_eq(corked, pipe)) {
            Some((_, messages)) => messages.push(bytes),
            None => cork.pipes.push((pipe.clone(), vec![bytes])),
        }
        Ok(())
    })
}

/// The task that writes what the thread corked, each time it is woken.
struct Flusher {
    generation: u64,
    system: usize,
}

impl Future for Flusher {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut pipes = CORK.with(|cell| {
            let mut cork = cell.borrow_mut();
            if cork.generation != self.generation {
                // Replaced (its system ended while it waited): the newer one flushes.
                return None;
            }
            if cork.flusher.is_none() {
                cork.flusher = Some((cx.waker().clone(), self.system));
            }
            cork.due = false;
            Some(std::mem::take(&mut cork.pipes))
        });
        let Some(corked) = pipes.as_mut() else { return Poll::Ready(()) };
        for (pipe, messages) in corked.drain(..) {
            pipe.write_or_push(messages);
        }
        // The emptied Vec back, for the next turn (unless that began meanwhile).
        CORK.with(|cell| {
            let mut cork = cell.borrow_mut();
            if cork.pipes.is_empty()
                && let Some(corked) = pipes
            {
                cork.pipes = corked;
            }
        });
        Poll::Pending
    }
}

impl Drop for Flusher {
    /// Its arbiter's task set is going: the next message starts another flusher, and
    /// what waits is queued for the connections' writers.
    fn drop(&mut self) {
        let corked = CORK.try_with(|cell| {
            let mut cork = cell.try_borrow_mut().ok()?;
            if cork.generation != self.generation {
                return None;
            }
            cork.flusher = None;
            cork.due = false;
            Some(std::mem::take(&mut cork.pipes))
        });
        for (pipe, messages) in corked.ok().flatten().unwrap_or_default() {
            pipe.push(messages);
        }
    }
}
