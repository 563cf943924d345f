//! Where a message connection is served: on the I/O runtime, or on the arbiter thread of
//! the process its messages go to.
//!
//! Mesos: libprocess reads every socket on its event loop thread and hands each message
//! to a worker thread through the run queue. So did we: the I/O thread read, parsed and
//! queued a message, then woke the process's arbiter thread (an `eventfd` write, and on
//! an idle machine a sleeping thread's wake-up: tens of microseconds), which ran the
//! handler. At one message in flight that hop is most of a round trip's cost.
//!
//! A message connection carries one peer's messages, nearly always to one process (a
//! scheduler's to the master, the master's to an agent). So a plain-TCP message
//! connection on the I/O runtime moves, after its first message, to the arbiter of the
//! process that message went to (`server::serve_plain`): from then on the socket's
//! readiness, the read, the parse and the queueing happen on the process's own thread,
//! and the process runs next in the same turn, as on a single-threaded node. What it
//! does not change: the bytes on the wire, the order of messages, every bound and
//! deadline (the same loop serves the connection, its state moves with it).
//!
//! The price is the single-threaded node's, for that connection only: while the process
//! runs a long handler its connection is not read (its messages wait in the socket
//! instead of the mailbox, and its `202`s, which libprocess peers discard, go out late).
//! So a connection moves back to the I/O runtime for good when it carries a message to a
//! process on another thread (one connection feeding processes on many arbiters, as an
//! emulated cluster's does), and before it is handed to hyper (HTTP handlers that run
//! outside processes stay off the processes' threads). TLS connections never move.

use std::thread::ThreadId;

use crate::node::Node;
use crate::pid::Pid;

/// Where a connection should go next.
pub(super) enum Go {
    /// To the arbiter of the process its messages go to.
    Home(actix_rt::ArbiterHandle),
    /// Back to the I/O runtime, for good.
    Io,
}

/// Where a connection is served, and whether it should move.
pub(super) struct Placement {
    /// The arbiter thread serving it; `None` on the I/O runtime.
    on: Option<ThreadId>,
    /// False once the connection stays where it is.
    movable: bool,
    /// The receiver of the last message checked: the next one to the same process (nearly
    /// all of them) is not looked up again.
    last_to: Option<Pid>,
    /// Set when the connection should move, taken by the loop before its next read.
    pub(super) go: Option<Go>,
}

impl Placement {
    /// A connection that stays where it is (TLS, a single-threaded node's, the fuzzer's).
    pub(super) fn fixed() -> Placement {
        Placement { on: None, movable: false, last_to: None, go: None }
    }

    /// A connection on the I/O runtime that may move to its process's arbiter.
    pub(super) fn on_io() -> Placement {
        Placement { on: None, movable: true, last_to: None, go: None }
    }

    /// Notes that the connection now runs on the current thread (`home`) or back on the
    /// I/O runtime (for good).
    pub(super) fn moved(&mut self, go: &Go) {
        match go {
            Go::Home(_) => self.on = Some(std::thread::current().id()),
            Go::Io => {
                self.on = None;
                self.movable = false;
            }
        }
        self.last_to = None;
    }

    /// Whether the connection runs on an arbiter (hyper must not serve it there).
    pub(super) fn on_arbiter(&self) -> bool {
        self.on.is_some()
    }

    /// Checks a message's receiver `to` against where the connection runs.
    pub(super) fn check(&mut self, node: &Node, to: &Pid) {
        if !self.movable || self.go.is_some() || self.last_to.as_ref() == Some(to) {
            return;
        }
        self.last_to = Some(to.clone());
        let home = node.home_of(to.id());
        match (self.on, home) {
            (None, Some(home)) => self.go = Some(Go::Home(home.arbiter)),
            // Not started yet, or gone: look again at the next message.
            (_, None) => self.last_to = None,
            (Some(here), Some(home)) if home.thread == here => {}
            (Some(_), Some(_)) => self.go = Some(Go::Io),
        }
    }
}
