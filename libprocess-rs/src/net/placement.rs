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
//! connection on the I/O runtime moves (`server::serve_plain`), after its first message,
//! to the arbiter of the process that message went to, when that is the node's own
//! arbiter (the one that started it: a binary's `main` thread, where its processes run,
//! and which lives as long as the node, so that a connection never dies with an arbiter
//! its node outlives). From then on the socket's readiness, the read, the parse and the
//! queueing happen on the process's own thread, and the process runs next in the same
//! turn, as on a single-threaded node. What it does not change: the bytes on the wire,
//! the order of messages, every bound and deadline (the same loop serves the connection,
//! its state moves with it).
//!
//! The price is the single-threaded node's, for that connection only: while the process
//! runs a long handler its connection is not read (its messages wait in the socket
//! instead of the mailbox, and its `202`s, which libprocess peers discard, go out late).
//! A connection stays on (or moves back to) the I/O runtime for good when it carries a
//! message to a process on another arbiter (`Node::spawn_on`), and moves back before it
//! is handed to hyper (HTTP handlers that run outside processes stay off the processes'
//! threads). TLS and lane connections never move.

use crate::mailbox::{Home, thread_token};
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
    /// The arbiter thread serving it (`thread_token`); `None` on the I/O runtime.
    on: Option<u64>,
    /// False once the connection stays where it is.
    movable: bool,
    /// The node's arbiter: the one thread a connection moves to.
    home: Option<Home>,
    /// The receiver of the last message checked: the next one to the same process (nearly
    /// all of them) is not looked up again.
    last_to: Option<Pid>,
    /// Set when the connection should move, taken by the loop before its next read.
    pub(super) go: Option<Go>,
}

impl Placement {
    /// A connection that stays where it is (TLS, a single-threaded node's, the fuzzer's).
    pub(super) fn fixed() -> Placement {
        Placement { on: None, movable: false, home: None, last_to: None, go: None }
    }

    /// A connection on the I/O runtime that may move to the node's arbiter `home`.
    pub(super) fn on_io(home: Option<Home>) -> Placement {
        Placement { on: None, movable: home.is_some(), home, last_to: None, go: None }
    }

    /// Notes that the connection now runs on the current thread (`home`) or back on the
    /// I/O runtime (for good).
    pub(super) fn moved(&mut self, go: &Go) {
        match go {
            Go::Home(_) => self.on = Some(thread_token()),
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
        let Some(thread) = node.home_of(to.id()) else {
            // Not started yet, or gone: look again at the next message.
            self.last_to = None;
            return;
        };
        match (self.on, &self.home) {
            (None, Some(home)) if thread == home.thread => {
                self.go = Some(Go::Home(home.arbiter.clone()));
            }
            (Some(here), _) if thread == here => {}
            // A process on another arbiter: the connection stays on (or goes back to)
            // the I/O runtime, for good.
            (None, _) => self.movable = false,
            (Some(_), _) => {
                self.go = Some(Go::Io);
                self.movable = false;
            }
        }
    }
}
