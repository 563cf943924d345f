//! The message ring: a bounded record of the messages a node's processes sent and
//! received, so an operator (the web UI's live message flow) can watch the protocol.
//!
//! Apache Mesos has nothing like it (its nearest tool is `GLOG_v=2` logging). Every
//! message is recorded at one of the node's three message paths, and only there:
//! - **in**: [`Node::deliver`](crate::Node::deliver), every message that reaches a
//!   process of this node: from the network, from a simulated peer, or sent by a process
//!   of the same node. A local message is recorded once, as `in` (both ends are here).
//! - **in, local and typed**: [`Node::send`](crate::Node::send) to a process of this node
//!   carries the typed value, not bytes; the ring encodes it there (the only place that
//!   knows its type) and `deliver` does not record it again.
//! - **out**: a message sent to another node, just before it is queued to the network.
//!
//! # Cost
//! The ring records only while someone reads it. A read ([`MessageRing::arm`]) arms it
//! for [`ARM_WINDOW`] of libprocess-clock time after the last read; a record past that
//! window disarms it again. Disarmed, each message pays one relaxed atomic load
//! ([`MessageRing::is_armed`]) and nothing else. Armed, a message pays a clock read, a
//! copy of its body (an encode for a local typed message) and one short mutex hold.
//!
//! # Bounds
//! - [`RingConfig::entries`] (default 10,000): the most messages kept. At the bound the
//!   oldest entry is overwritten; a reader whose cursor falls behind is told how many
//!   it missed (`dropped`).
//! - [`RingConfig::body_bytes`] (default 8 MiB): the most body bytes kept. At the bound
//!   the bodies of the oldest entries are discarded (the entries stay, with their size;
//!   asking for such a body answers "gone") until the new body fits; a body larger than
//!   the whole budget is never kept.
//!
//! Besides the bodies, an entry holds two pids and a name (reference-counted), so the
//! ring's memory is about `entries * 150 bytes + body_bytes` at most.
//!
//! # Readers never hold senders up
//! A reader copies entries (reference-counted, so a pointer copy each) in chunks of
//! [`READ_CHUNK`], releasing the lock between chunks; a sender waits at most for one
//! chunk copy. Sequence numbers are contiguous, so chunked reading sees no gap.
//!
//! The HTTP endpoints that serve the ring are in [`http`].

pub mod http;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::clock::{Clock, Time};
use crate::message::{Body, Envelope, MessageName, ProtoMessage};
use crate::pid::Pid;

/// How long recording stays on after the last read.
pub const ARM_WINDOW: Duration = Duration::from_secs(300);

/// Entries a reader copies per lock hold.
pub const READ_CHUNK: usize = 64;

/// The bounds of a node's message ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    /// The most messages kept; at the bound the oldest is overwritten.
    pub entries: usize,
    /// The most body bytes kept; at the bound the oldest bodies are discarded.
    pub body_bytes: usize,
}

impl Default for RingConfig {
    fn default() -> RingConfig {
        RingConfig { entries: 10_000, body_bytes: 8 * 1024 * 1024 }
    }
}

/// Which way a recorded message went, seen from this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Delivered to a process of this node (from anywhere, this node included).
    In,
    /// Sent by a process of this node to another node.
    Out,
}

impl Direction {
    /// `"in"` or `"out"`, as the endpoint writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One recorded message (its body is kept apart, see [`MessageRing::body`]).
#[derive(Clone, Debug)]
pub struct RingEntry {
    /// Its number on this node: strictly increasing from 1, without gaps.
    pub seq: u64,
    /// When it was recorded (libprocess clock).
    pub time: Time,
    /// In or out.
    pub direction: Direction,
    /// The sender.
    pub from: Pid,
    /// The receiver.
    pub to: Pid,
    /// The protobuf full type name.
    pub name: MessageName,
    /// The body's size in bytes (encoded).
    pub size: usize,
}

/// One answer to a cursor read.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The entries after the cursor, oldest first.
    pub entries: Vec<Arc<RingEntry>>,
    /// The cursor to pass as `after` next time.
    pub next: u64,
    /// How many entries after the cursor were overwritten before this read.
    pub dropped: u64,
}

struct Slot {
    entry: Arc<RingEntry>,
    body: Option<Bytes>,
}

#[derive(Default)]
struct State {
    /// Entries `first_seq .. next_seq`, oldest first.
    slots: VecDeque<Slot>,
    first_seq: u64,
    next_seq: u64,
    /// Body bytes kept now (never above the budget).
    body_bytes: usize,
    /// The oldest entry that may still have a body (bodies go oldest first).
    oldest_body: u64,
}

impl State {
    fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        let index = seq.checked_sub(self.first_seq)?;
        self.slots.get_mut(usize::try_from(index).ok()?)
    }
}

/// A node's ring of recent messages.
pub struct MessageRing {
    armed: AtomicBool,
    /// Nanoseconds since the epoch (libprocess clock) until which recording stays on.
    armed_until_ns: AtomicU64,
    clock: Clock,
    config: RingConfig,
    state: Mutex<State>,
}

impl MessageRing {
    /// A disarmed, empty ring with these bounds, timed by `clock`.
    pub fn new(config: RingConfig, clock: Clock) -> MessageRing {
        MessageRing {
            armed: AtomicBool::new(false),
            armed_until_ns: AtomicU64::new(0),
            clock,
            config,
            state: Mutex::new(State {
                first_seq: 1,
                next_seq: 1,
                oldest_body: 1,
                ..State::default()
            }),
        }
    }

    /// Its bounds.
    pub fn config(&self) -> RingConfig {
        self.config
    }

    /// True while recording: the one check on the hot path (a relaxed load; a message
    /// racing the arming may go unrecorded, which a live view does not mind).
    #[inline]
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    /// Turns recording on for [`ARM_WINDOW`] from now (every read calls this).
    pub fn arm(&self) {
        let until = self.clock.now() + ARM_WINDOW;
        self.armed_until_ns.store(nanos(until), Ordering::Relaxed);
        self.armed.store(true, Ordering::Relaxed);
    }

    /// Turns recording off now (tests; a node that wants no record).
    pub fn disarm(&self) {
        self.armed_until_ns.store(0, Ordering::Relaxed);
        self.armed.store(false, Ordering::Relaxed);
    }

    /// Records a delivered envelope if armed. Local typed bodies are skipped here, by
    /// their variant and before the atomic load, so a local send costs one load in
    /// all: the typed send recorded them already ([`MessageRing::observe_typed`]).
    #[inline]
    pub(crate) fn observe_delivery(&self, envelope: &Envelope) {
        if let Body::Encoded(bytes) = &envelope.body
            && self.is_armed()
        {
            self.record(Direction::In, &envelope.from, &envelope.to, &envelope.name, bytes);
        }
    }

    /// Records a typed message sent to a process of this node, if armed.
    #[inline]
    pub(crate) fn observe_typed<T: ProtoMessage>(&self, from: &Pid, to: &Pid, message: &T) {
        if self.is_armed() {
            self.record_typed(from, to, message);
        }
    }

    /// Records a message about to leave for another node, if armed.
    #[inline]
    pub(crate) fn observe_out(&self, from: &Pid, to: &Pid, name: &MessageName, body: &[u8]) {
        if self.is_armed() {
            self.record(Direction::Out, from, to, name, body);
        }
    }

    #[cold]
    fn record_typed<T: ProtoMessage>(&self, from: &Pid, to: &Pid, message: &T) {
        let body = message.encode_to_vec();
        self.record(Direction::In, from, to, &MessageName::of::<T>(), &body);
    }

    /// Appends one entry (whether armed or not: callers check), overwriting the oldest
    /// at the entry bound and discarding the oldest bodies at the byte bound.
    #[cold]
    pub fn record(
        &self,
        direction: Direction,
        from: &Pid,
        to: &Pid,
        name: &MessageName,
        body: &[u8],
    ) {
        let now = self.clock.now();
        if nanos(now) > self.armed_until_ns.load(Ordering::Relaxed) {
            self.armed.store(false, Ordering::Relaxed);
            // A read may have re-armed between the two loads: keep its window.
            if nanos(now) <= self.armed_until_ns.load(Ordering::Relaxed) {
                self.armed.store(true, Ordering::Relaxed);
            } else {
                return;
            }
        }
        // Copied, so a kept body never pins a larger network buffer it was sliced from.
        let kept = (body.len() <= self.config.body_bytes).then(|| Bytes::copy_from_slice(body));
        let mut state = self.state.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        let entry = Arc::new(RingEntry {
            seq,
            time: now,
            direction,
            from: from.clone(),
            to: to.clone(),
            name: name.clone(),
            size: body.len(),
        });
        if state.slots.len() >= self.config.entries.max(1) {
            if let Some(old) = state.slots.pop_front() {
                state.body_bytes -= old.body.map_or(0, |b| b.len());
            }
            state.first_seq += 1;
            state.oldest_body = state.oldest_body.max(state.first_seq);
        }
        if let Some(bytes) = &kept {
            while state.body_bytes + bytes.len() > self.config.body_bytes {
                let oldest = state.oldest_body;
                // The loop ends: each turn discards a body or moves past an entry, and
                // the new body alone fits the budget.
                let freed =
                    state.slot_mut(oldest).and_then(|s| s.body.take()).map_or(0, |b| b.len());
                state.body_bytes -= freed;
                state.oldest_body += 1;
            }
            state.body_bytes += bytes.len();
        }
        state.slots.push_back(Slot { entry, body: kept });
    }

    /// The entries after `after` (all kept ones if `None`), at most `limit`, oldest
    /// first. Does not arm the ring: callers that serve readers call [`MessageRing::arm`].
    pub fn read(&self, after: Option<u64>, limit: usize) -> Page {
        let (first, next_seq) = {
            let state = self.state.lock();
            (state.first_seq, state.next_seq)
        };
        let wanted = after.map_or(first, |a| a.saturating_add(1));
        // A cursor from the future (the node restarted) resumes at the newest entry.
        let wanted = wanted.min(next_seq);
        let mut start = wanted.max(first);
        let dropped = start - wanted;
        let mut entries = Vec::with_capacity(limit.min(READ_CHUNK * 4));
        while entries.len() < limit {
            let state = self.state.lock();
            if start < state.first_seq {
                // Overwritten between two chunks: the reader's page stops here and its
                // next read counts them as dropped.
                break;
            }
            // `start <= next_seq` (clamped above; `next_seq` only grows), so the index
            // is at most the length and `range` cannot panic.
            let from_index = (start - state.first_seq) as usize;
            let take = (limit - entries.len()).min(READ_CHUNK);
            let before = entries.len();
            entries.extend(state.slots.range(from_index..).take(take).map(|s| s.entry.clone()));
            drop(state);
            let got = entries.len() - before;
            start += got as u64;
            if got < take {
                break;
            }
        }
        Page { next: start - 1, dropped, entries }
    }

    /// Entry `seq` and its body, while both are kept.
    pub fn body(&self, seq: u64) -> Option<(Arc<RingEntry>, Bytes)> {
        let mut state = self.state.lock();
        let slot = state.slot_mut(seq)?;
        Some((slot.entry.clone(), slot.body.clone()?))
    }

    /// Body bytes kept now (never above [`RingConfig::body_bytes`]).
    pub fn body_bytes(&self) -> usize {
        self.state.lock().body_bytes
    }

    /// Entries kept now (never above [`RingConfig::entries`]).
    pub fn len(&self) -> usize {
        self.state.lock().slots.len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn nanos(time: Time) -> u64 {
    u64::try_from(time.since_epoch().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
