//! Mailboxes: how a message reaches a process of this node.
//!
//! Mesos: 3rdparty/libprocess/src/process.cpp `ProcessManager::deliver`, which finds the
//! receiver by id and enqueues the event. Here a process's actix address sits behind the
//! type-erased [`Mailbox`], so the node's process table and the senders can hold processes
//! of every type.
//!
//! The hot path is a local typed send ([`Context::send`](crate::Context::send) to a
//! process of the same node). There the message is turned into the receiver's protocol enum
//! on the sending thread ([`Inbound::from_local`]: a `TypeId` match, no box, no name
//! compare) and queued as that enum: one allocation per message (actix's envelope), as for
//! a bare actix send. Everything else (encoded bodies from the network, messages the test
//! hooks have seen, exits, HTTP requests) travels as an [`Event`] and is decoded by name in
//! the receiver, as before.
//!
//! A process keeps a small cache from pid to mailbox ([`SendCache`]), so a process that
//! talks to the same few processes does not hash the id and lock the process table for
//! every message. A mailbox is marked dead when its process leaves the table, and a cached
//! mailbox is used only while alive, so cached and uncached sends always agree on who is
//! there.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix::Addr;
use actix::prelude::SendError;

use crate::clock::Clock;
use crate::message::{Envelope, Inbound, ProtoMessage};
use crate::node::{Delivered, Node};
use crate::pid::Pid;
use crate::process::{Delivery, Event, Item, Process, ProcessActor};

/// How many items of each kind wait in a process's mailbox (Mesos: the `event_queue_*`
/// metrics, `ProcessBase::EventQueue` counted by event type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSizes {
    /// Messages (local or from the network) and exit notifications.
    pub messages: usize,
    /// Dispatches: timers, deferred continuations, `ProcessRef::dispatch`/`tell`.
    pub dispatches: usize,
    /// HTTP requests for routes handled on the process.
    pub http_requests: usize,
}

/// What kind of item a [`Queued`] token counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum QueueKind {
    Message,
    Dispatch,
    Http,
}

/// The live counts behind [`QueueSizes`], shared by a process's mailbox, its
/// references and its own context. Each queued item holds a [`Queued`] token that
/// counts it up when queued and down when handled or dropped, so the counts stay
/// right whatever happens to the item (refused at a full mailbox, thrown away with a
/// stopped process). Per item: a relaxed increment and decrement of its counter, and the
/// token's reference to the counts (an `Arc` clone and drop): cheap enough to keep on
/// always, so `/metrics/snapshot` can read them at any time.
#[derive(Debug, Default)]
pub(crate) struct QueueDepth {
    messages: AtomicUsize,
    dispatches: AtomicUsize,
    http_requests: AtomicUsize,
}

impl QueueDepth {
    fn counter(&self, kind: QueueKind) -> &AtomicUsize {
        match kind {
            QueueKind::Message => &self.messages,
            QueueKind::Dispatch => &self.dispatches,
            QueueKind::Http => &self.http_requests,
        }
    }

    /// Counts one item of `kind` until the returned token is dropped.
    pub(crate) fn queued(self: &Arc<Self>, kind: QueueKind) -> Queued {
        self.counter(kind).fetch_add(1, Ordering::Relaxed);
        Queued { depth: self.clone(), kind }
    }

    /// The current counts (each read on its own: a consistent cut is not needed for a
    /// gauge).
    pub(crate) fn sizes(&self) -> QueueSizes {
        QueueSizes {
            messages: self.messages.load(Ordering::Relaxed),
            dispatches: self.dispatches.load(Ordering::Relaxed),
            http_requests: self.http_requests.load(Ordering::Relaxed),
        }
    }
}

/// One item counted in a [`QueueDepth`] until dropped.
pub(crate) struct Queued {
    depth: Arc<QueueDepth>,
    kind: QueueKind,
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.depth.counter(self.kind).fetch_sub(1, Ordering::Relaxed);
    }
}

/// The kind an event counts as.
fn kind_of(event: &Event) -> QueueKind {
    match event {
        Event::Http(_) => QueueKind::Http,
        Event::Message(_) | Event::Exited(_) | Event::Terminate => QueueKind::Message,
    }
}

/// Why an event was not queued.
pub(crate) enum Refused {
    /// The mailbox is at its bound.
    Full,
    /// The process has stopped.
    Closed,
}

/// A process's mailbox, whatever the process's type.
pub(crate) trait Mailbox: Send + Sync {
    /// Queues a local typed message: `value` is an `&mut Option<T>`. Returns `None`, with
    /// `value` untouched, when `T` is not one of the receiver's message types or the
    /// receiver's protocol is too large to queue inline (the caller then sends it as an
    /// [`Event::Message`], decoded or refused by name in the receiver).
    fn send_local(&self, from: &Pid, value: &mut dyn Any, clock: &Clock) -> Option<Delivered>;

    /// Queues an event; `past_bound` queues it even when the mailbox is full (exits and
    /// terminations must not be lost to a busy process).
    fn send_event(&self, event: Event, clock: &Clock, past_bound: bool) -> Result<(), Refused>;

    /// False once the process has left the process table.
    fn is_alive(&self) -> bool;

    /// Called when the process leaves the process table.
    fn mark_dead(&self);

    /// What waits in the mailbox now.
    fn queue_sizes(&self) -> QueueSizes;
}

/// The mailbox of a process of type `P`.
pub(crate) struct MailboxOf<P: Process> {
    addr: Addr<ProcessActor<P>>,
    alive: AtomicBool,
    depth: Arc<QueueDepth>,
}

impl<P: Process> MailboxOf<P> {
    pub(crate) fn new(addr: Addr<ProcessActor<P>>, depth: Arc<QueueDepth>) -> MailboxOf<P> {
        MailboxOf { addr, alive: AtomicBool::new(true), depth }
    }
}

/// Largest protocol enum queued inline. An enum is as large as its largest message (the
/// agent's holds a `RunTaskMessage` of about 3 KB): queueing it inline would allocate and
/// copy that much for every message however small, so larger protocols take the boxed
/// path, whose box is the size of the message itself.
const INLINE_MESSAGE_BYTES: usize = 256;

impl<P: Process> Mailbox for MailboxOf<P> {
    fn send_local(&self, from: &Pid, value: &mut dyn Any, clock: &Clock) -> Option<Delivered> {
        if size_of::<P::Message>() > INLINE_MESSAGE_BYTES {
            return None;
        }
        let message = <P::Message as Inbound>::from_local(value)?;
        let item = Item::Local { from: from.clone(), message };
        let queued = self.depth.queued(QueueKind::Message);
        Some(match self.addr.try_send(Delivery { item, pending: clock.pending(), queued }) {
            Ok(()) => Delivered::Queued,
            Err(SendError::Full(_)) => Delivered::MailboxFull,
            Err(SendError::Closed(_)) => Delivered::NoProcess,
        })
    }

    fn send_event(&self, event: Event, clock: &Clock, past_bound: bool) -> Result<(), Refused> {
        let queued = self.depth.queued(kind_of(&event));
        let delivery = Delivery { item: Item::Event(event), pending: clock.pending(), queued };
        match self.addr.try_send(delivery) {
            Ok(()) => Ok(()),
            Err(SendError::Full(delivery)) if past_bound => {
                self.addr.do_send(delivery);
                Ok(())
            }
            Err(SendError::Full(_)) => Err(Refused::Full),
            Err(SendError::Closed(_)) => Err(Refused::Closed),
        }
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    fn mark_dead(&self) {
        self.alive.store(false, Ordering::Relaxed);
    }

    fn queue_sizes(&self) -> QueueSizes {
        self.depth.sizes()
    }
}

/// Entries of a [`SendCache`]: a process talks to few others at a time (a client to its
/// server, an agent to its master and executors); a miss costs one table lookup.
const CACHE_SLOTS: usize = 8;

/// Recently used mailboxes of one sending process, direct-mapped by the address of the
/// receiver's id string.
///
/// Pids of local processes are clones of the pid the node made at spawn time, so they
/// share its id string: comparing pointers identifies them without reading the id. A pid
/// parsed from text has its own string and simply misses. An entry keeps the id string
/// alive, so an address is never reused while cached.
///
/// The slots are allocated at the first cached send: a process that never sends to
/// another local process (ACT-2's ephemeral processes, most short-lived ones) allocates
/// nothing, and the process's actor stays small. A spawn moves the actor several times
/// (into actix's context future, into the tokio task); inline slots made every move
/// copy ~520 bytes more (~1,000 instructions of `memcpy` per spawn).
#[derive(Default)]
pub(crate) struct SendCache {
    slots: Option<Box<[Option<CachedMailbox>; CACHE_SLOTS]>>,
}

/// A cached receiver: its id string (identity and keep-alive) and its mailbox.
type CachedMailbox = (Arc<str>, Arc<dyn Mailbox>);

impl SendCache {
    fn slot(to: &Pid) -> usize {
        let address = Arc::as_ptr(to.id_arc()).cast::<u8>() as usize;
        ((address >> 4) ^ (address >> 10)) % CACHE_SLOTS
    }

    /// The cached mailbox of `to` (a pid of this node), if it is cached and its process
    /// still runs.
    pub(crate) fn get(&self, to: &Pid) -> Option<&Arc<dyn Mailbox>> {
        match &self.slots.as_ref()?[SendCache::slot(to)] {
            // Only pids of this node are cached and asked for, so the ids decide.
            Some((id, mailbox)) if Arc::ptr_eq(id, to.id_arc()) && mailbox.is_alive() => {
                Some(mailbox)
            }
            _ => None,
        }
    }

    /// Remembers the mailbox of `to` (a pid of this node), replacing whatever shared its
    /// slot.
    pub(crate) fn insert(&mut self, to: &Pid, mailbox: Arc<dyn Mailbox>) {
        let slots = self.slots.get_or_insert_with(Box::default);
        slots[SendCache::slot(to)] = Some((to.id_arc().clone(), mailbox));
    }
}

/// The local send path of a node (see the module overview).
impl Node {
    /// [`Node::send`] from a process, resolving a local receiver through the sender's
    /// cache of mailboxes instead of the process table.
    pub(crate) fn send_from_process<T: ProtoMessage>(
        &self,
        cache: &RefCell<SendCache>,
        from: &Pid,
        to: &Pid,
        message: T,
    ) {
        // The hot path of the runtime: two relaxed loads decide that nobody watches the
        // messages of this node (test hooks, the message ring); whatever observes local
        // messages does it on the table path, in `Node::send` and `deliver`.
        if to.address() != self.address()
            || self.hooks().is_active()
            || self.message_ring().is_armed()
        {
            return self.send(from, to, message);
        }
        // Never contended: a handler does not re-enter `send` while this borrow lives.
        // Should it ever be, the table serves the send.
        let Ok(mut cache) = cache.try_borrow_mut() else { return self.send(from, to, message) };
        if let Some(mailbox) = cache.get(to) {
            self.deliver_typed(&**mailbox, from, to, message);
            return;
        }
        let Some(mailbox) = self.mailbox_of(to.id()) else {
            self.no_process(to);
            return;
        };
        self.deliver_typed(&*mailbox, from, to, message);
        cache.insert(to, mailbox);
    }

    /// Queues a local typed message to `mailbox` as the receiver's own protocol enum, or
    /// by name when the receiver does not know the type (it is refused there).
    pub(crate) fn deliver_typed<T: ProtoMessage>(
        &self,
        mailbox: &dyn Mailbox,
        from: &Pid,
        to: &Pid,
        message: T,
    ) -> Delivered {
        let mut value = Some(message);
        let delivered = match mailbox.send_local(from, &mut value, self.clock()) {
            Some(delivered) => delivered,
            // `send_local` left the message in `value` when it refused it.
            None => match value.take() {
                Some(message) => {
                    let envelope = Envelope::local(from.clone(), to.clone(), message);
                    let sent =
                        mailbox.send_event(Event::Message(Box::new(envelope)), self.clock(), false);
                    Node::delivered(sent)
                }
                None => Delivered::NoProcess,
            },
        };
        if delivered == Delivered::MailboxFull {
            self.mailbox_full(to.id());
        }
        delivered
    }

    pub(crate) fn delivered(sent: Result<(), Refused>) -> Delivered {
        match sent {
            Ok(()) => Delivered::Queued,
            Err(Refused::Full) => Delivered::MailboxFull,
            Err(Refused::Closed) => Delivered::NoProcess,
        }
    }

    pub(crate) fn no_process(&self, to: &Pid) -> Delivered {
        self.stats().messages_no_process.inc();
        tracing::debug!(%to, "no such process");
        Delivered::NoProcess
    }

    pub(crate) fn mailbox_full(&self, id: &str) {
        self.stats().mailbox_full.inc();
        tracing::warn!(process = %id, "mailbox full: message dropped");
    }
}
