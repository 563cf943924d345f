//! Mailboxes: how a message reaches a process of this node.
//!
//! Mesos: 3rdparty/libprocess/src/process.cpp `ProcessManager::deliver`, which finds the
//! receiver by id and enqueues the event on the process's `EventQueue`; the process's
//! worker then takes the events out in order. Here every process has a [`Queue`] of its
//! own (not actix's channel): a lock, a `VecDeque` of [`Delivery`] items, and the
//! consumer's waker. Everything a process is sent goes through it, in one order:
//! messages (local typed ones and by-name ones), exits, HTTP requests, dispatches,
//! timers and terminations.
//!
//! Why our own: actix's channel costs, per message, a box for the envelope, a node of
//! its linked queue, a compare-and-swap on its message count and a waker wake; the
//! process's actor then pops one message per waker round trip. Here a send is a lock,
//! a `push_back` and an unlock (the `VecDeque` reuses its buffer, so no allocation), and
//! the waker is touched only when the consumer is parked (it found the queue empty).
//! The consumer ([`Inbox`], run by the actor, see `ProcessActor::drain`) takes the
//! whole queue at once by swapping it with its own empty buffer, and handles that batch
//! without touching the lock again.
//!
//! The hot path is a local typed send ([`Context::send`](crate::Context::send) to a
//! process of the same node). There the message is turned into the receiver's protocol enum
//! on the sending thread ([`Inbound::from_local`]: a `TypeId` match, no box, no name
//! compare) and queued as that enum, inline in the queue's buffer. Everything else
//! (encoded bodies from the network, messages the test hooks have seen, exits, HTTP
//! requests) travels as an [`Event`] and is decoded by name in the receiver, as before.
//!
//! A process keeps a small cache from pid to mailbox ([`SendCache`]), so a process that
//! talks to the same few processes does not hash the id and lock the process table for
//! every message. A mailbox is marked dead when its process leaves the table, and a cached
//! mailbox is used only while alive, so cached and uncached sends always agree on who is
//! there.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::message::{Envelope, Inbound, ProtoMessage};
use crate::node::{Delivered, Node};
use crate::pid::Pid;
use crate::process::{Delivery, Event, Item, Process};

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

/// What kind of item [`QueueSizes`] counts it as (the index into the counters).
#[derive(Debug, Clone, Copy)]
pub(crate) enum QueueKind {
    Message = 0,
    Dispatch = 1,
    Http = 2,
}

impl<P: Process> Item<P> {
    fn kind(&self) -> QueueKind {
        match self {
            Item::Local { .. } => QueueKind::Message,
            Item::Dispatch(_) => QueueKind::Dispatch,
            Item::Event(Event::Http(_)) => QueueKind::Http,
            Item::Event(Event::Message(_) | Event::Exited(_) | Event::Terminate) => {
                QueueKind::Message
            }
        }
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

    /// The [`thread_token`] of the thread the process runs on, once it has started.
    fn home(&self) -> Option<u64>;
}

/// A number of the current thread, given at its first use (from 1): which thread a
/// process runs on (`net/placement.rs`). A thread-local read: `thread::current()` and an
/// actix arbiter handle per process cost ~170 instructions per spawn (ACT-2).
pub(crate) fn thread_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|token| *token)
}

/// An arbiter thread: where a connection that carries its processes' messages is best
/// read (docs/libprocess.md, "Where a connection is served").
#[derive(Clone)]
pub(crate) struct Home {
    /// The arbiter's [`thread_token`].
    pub(crate) thread: u64,
    /// To spawn the connection's task there.
    pub(crate) arbiter: actix_rt::ArbiterHandle,
}

impl Home {
    /// The current thread's, when it is an actix arbiter's.
    pub(crate) fn here() -> Option<Home> {
        let arbiter = actix_rt::Arbiter::try_current()?;
        Some(Home { thread: thread_token(), arbiter })
    }
}

/// What the senders and the consumer share under the lock.
struct Waiting<P: Process> {
    /// Queued, not yet taken by the consumer, oldest first.
    items: VecDeque<Delivery<P>>,
    /// Items ever queued, per [`QueueKind`] (the consumer counts those it took out in
    /// [`Queue::handled`]; the difference is what waits, the consumer's batch included).
    queued: [usize; 3],
    /// The bound: items queued and not yet handled.
    capacity: usize,
    /// Set when the process has stopped: nothing is queued any more.
    closed: bool,
    /// The consumer's waker, while it is parked (it found `items` empty). The first
    /// sender after that takes and wakes it; the others find `None` and wake nobody.
    parked: Option<Waker>,
}

/// The mailbox of a process of type `P`: many senders (any thread), one consumer (the
/// process's actor, through its [`Inbox`]).
pub(crate) struct Queue<P: Process> {
    waiting: Mutex<Waiting<P>>,
    /// Items the consumer has taken out (to handle them or drop them), per
    /// [`QueueKind`]. Written only by the consumer, with a load and a store (no
    /// read-modify-write); read by [`Queue::sizes`] and the bound.
    handled: [AtomicUsize; 3],
    /// False once the process has left the process table.
    alive: AtomicBool,
    /// The [`thread_token`] of the process's thread, set as it starts (0 until then).
    home: AtomicU64,
}

/// The items a mailbox's buffer is allocated for when the mailbox is made: what the
/// first `push_back` would grow an unallocated buffer to (`RawVec`'s first capacity: 4
/// items, 1 above 1 KB), so a process that is sent anything holds what it held before;
/// one sent nothing now holds that buffer too, but nearly every process is sent
/// something. Allocating on the first send instead went through the growth path, ~120
/// instructions more per short-lived process (ACT-2), and checking for a missing buffer
/// on every send cost ~4 per message (ACT-1).
fn first_buffer_capacity<P: Process>() -> usize {
    if size_of::<Delivery<P>>() <= 1024 { 4 } else { 1 }
}

impl<P: Process> Queue<P> {
    /// An empty, open mailbox holding at most `capacity` items.
    pub(crate) fn new(capacity: usize) -> Arc<Queue<P>> {
        Arc::new(Queue {
            waiting: Mutex::new(Waiting {
                items: VecDeque::with_capacity(first_buffer_capacity::<P>()),
                queued: [0; 3],
                capacity,
                closed: false,
                parked: None,
            }),
            handled: Default::default(),
            alive: AtomicBool::new(true),
            home: AtomicU64::new(0),
        })
    }

    /// Notes the current thread as the process's; called as it starts.
    pub(crate) fn settle_home(&self) {
        self.home.store(thread_token(), Ordering::Relaxed);
    }

    /// Sets the bound (the process names its own when it starts).
    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.waiting.lock().capacity = capacity;
    }

    /// Queues `delivery` unless the process has stopped or, without `past_bound`, the
    /// bound is reached. A refused delivery is dropped after the lock is released (its
    /// clock token may wake a `settle`).
    pub(crate) fn push(&self, delivery: Delivery<P>, past_bound: bool) -> Result<(), Refused> {
        let kind = delivery.item.kind() as usize;
        let mut waiting = self.waiting.lock();
        if waiting.closed {
            return Err(Refused::Closed);
        }
        if !past_bound && self.waiting_count(&waiting) >= waiting.capacity {
            return Err(Refused::Full);
        }
        waiting.items.push_back(delivery);
        waiting.queued[kind] += 1;
        let parked = waiting.parked.take();
        drop(waiting);
        // Outside the lock: waking may take the scheduler's own lock (another thread).
        if let Some(waker) = parked {
            waker.wake();
        }
        Ok(())
    }

    /// Items queued and not yet handled (with the lock held, so `queued` is stable).
    fn waiting_count(&self, waiting: &Waiting<P>) -> usize {
        let handled: usize = self.handled.iter().map(|n| n.load(Ordering::Relaxed)).sum();
        let queued: usize = waiting.queued.iter().sum();
        queued - handled
    }

    /// Counts one item of `kind` as taken out. Only the consumer writes these counters.
    fn count_handled(&self, kind: QueueKind) {
        let counter = &self.handled[kind as usize];
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// What waits now, per kind.
    pub(crate) fn sizes(&self) -> QueueSizes {
        let waiting = self.waiting.lock();
        let count = |kind: QueueKind| {
            let handled = self.handled[kind as usize].load(Ordering::Relaxed);
            waiting.queued[kind as usize].saturating_sub(handled)
        };
        QueueSizes {
            messages: count(QueueKind::Message),
            dispatches: count(QueueKind::Dispatch),
            http_requests: count(QueueKind::Http),
        }
    }

    /// True until the process has stopped (and its mailbox was closed).
    pub(crate) fn is_open(&self) -> bool {
        !self.waiting.lock().closed
    }
}

/// Largest protocol enum queued inline. An enum is as large as its largest message (the
/// agent's holds a `RunTaskMessage` of about 3 KB): queueing it inline would copy that
/// much for every message however small (and make every slot of the queue's buffer that
/// large), so larger protocols take the boxed path, whose box is the size of the message
/// itself.
const INLINE_MESSAGE_BYTES: usize = 256;

impl<P: Process> Mailbox for Queue<P> {
    fn send_local(&self, from: &Pid, value: &mut dyn Any, clock: &Clock) -> Option<Delivered> {
        if size_of::<P::Message>() > INLINE_MESSAGE_BYTES {
            return None;
        }
        let message = <P::Message as Inbound>::from_local(value)?;
        let item = Item::Local { from: from.clone(), message };
        Some(match self.push(Delivery { item, pending: clock.pending() }, false) {
            Ok(()) => Delivered::Queued,
            Err(Refused::Full) => Delivered::MailboxFull,
            Err(Refused::Closed) => Delivered::NoProcess,
        })
    }

    fn send_event(&self, event: Event, clock: &Clock, past_bound: bool) -> Result<(), Refused> {
        self.push(Delivery { item: Item::Event(event), pending: clock.pending() }, past_bound)
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    fn mark_dead(&self) {
        self.alive.store(false, Ordering::Relaxed);
    }

    fn queue_sizes(&self) -> QueueSizes {
        self.sizes()
    }

    fn home(&self) -> Option<u64> {
        Some(self.home.load(Ordering::Relaxed)).filter(|&token| token != 0)
    }
}

/// The most memory a drained buffer of a mailbox keeps for the next burst (see
/// [`Inbox::trim_batch`]): enough for ACT-1's 1,000 small items in flight, and for a
/// few dozen items of the agent's 3 KB protocol.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;

/// The consumer side of a [`Queue`], owned by the process's actor: the batch it took
/// out and is handling. Dropping it closes the mailbox.
pub(crate) struct Inbox<P: Process> {
    queue: Arc<Queue<P>>,
    /// Taken out of the queue in one swap, oldest first; handled before the queue is
    /// looked at again, so the order is the order of queueing.
    batch: VecDeque<Delivery<P>>,
    /// Set once this inbox closed the mailbox: dropping it then takes no lock.
    closed: bool,
}

impl<P: Process> Inbox<P> {
    pub(crate) fn new(queue: Arc<Queue<P>>) -> Inbox<P> {
        Inbox { queue, batch: VecDeque::new(), closed: false }
    }

    /// The mailbox this inbox takes from.
    pub(crate) fn queue(&self) -> &Arc<Queue<P>> {
        &self.queue
    }

    /// The next item, already off the [`QueueSizes`] count; or `None` with `waker`
    /// parked, to be woken by the next sender.
    pub(crate) fn next(&mut self, waker: &Waker) -> Option<Delivery<P>> {
        if self.batch.is_empty() {
            self.trim_batch();
            let mut waiting = self.queue.waiting.lock();
            if waiting.items.is_empty() {
                if !waiting.parked.as_ref().is_some_and(|parked| parked.will_wake(waker)) {
                    waiting.parked = Some(waker.clone());
                }
                return None;
            }
            // Polled for another reason while parked: no sender needs to wake us now.
            waiting.parked = None;
            if waiting.items.len() == 1 {
                // A lone item (a quiet process: a dispatch, a timer, a termination) is
                // taken as it is: swapping would leave the queue without a buffer, and
                // the next send would allocate one.
                let delivery = waiting.items.pop_front()?;
                drop(waiting);
                self.queue.count_handled(delivery.item.kind());
                return Some(delivery);
            }
            // Both buffers keep their allocations: after warm-up, no allocation at all.
            std::mem::swap(&mut waiting.items, &mut self.batch);
        }
        let delivery = self.batch.pop_front()?;
        self.queue.count_handled(delivery.item.kind());
        Some(delivery)
    }

    /// Gives back the memory of a burst: a `VecDeque` never shrinks by itself, and the
    /// two buffers take turns as the batch, so trimming the (empty) batch bounds what a
    /// quiet process keeps to [`KEPT_BUFFER_BYTES`] per buffer. Without it a process of a
    /// large protocol (an item as large as its largest message, kilobytes) would keep
    /// the buffers of its largest burst (up to its bound, 100,000 items) for life.
    fn trim_batch(&mut self) {
        let item_bytes = size_of::<Delivery<P>>().max(1);
        let kept = KEPT_BUFFER_BYTES / item_bytes;
        if self.batch.capacity() > kept {
            self.batch.shrink_to(kept);
        }
    }

    /// Closes the mailbox (the process has stopped): senders are refused from now on,
    /// and what waited is dropped, so the clock's `settle` stops waiting for it.
    /// Closing again does nothing.
    pub(crate) fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let items = {
            let mut waiting = self.queue.waiting.lock();
            if waiting.closed {
                return;
            }
            waiting.closed = true;
            waiting.parked = None;
            // Usually nothing waits (the process stopped from its last item): the queue
            // keeps its buffer, freed with it, and nothing is drained. Draining two empty
            // deques cost ~90 instructions per process (ACT-2).
            if waiting.items.is_empty() { None } else { Some(std::mem::take(&mut waiting.items)) }
        };
        if !self.batch.is_empty() {
            for delivery in self.batch.drain(..) {
                self.queue.count_handled(delivery.item.kind());
            }
        }
        if let Some(items) = items {
            for delivery in items {
                self.queue.count_handled(delivery.item.kind());
            }
        }
    }
}

// The actor (and so its inbox) sits in actix's context future, which must be `Unpin`; a
// `VecDeque` of a protocol enum is `Unpin` only if the enum is. Nothing ever pins an
// inbox's items in place, so it may move freely whatever they are.
impl<P: Process> Unpin for Inbox<P> {}

impl<P: Process> Drop for Inbox<P> {
    fn drop(&mut self) {
        self.close();
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

    /// [`Node::deliver`] of a message from the network to `mailbox`, its receiver's, which
    /// the caller looked up earlier (a connection's cache): the process table is not
    /// consulted while that process lives. Anything that watches messages (hooks, the
    /// message ring) sees this one on the table path.
    pub(crate) fn deliver_to(&self, mailbox: &dyn Mailbox, envelope: Envelope) -> Delivered {
        if self.hooks().is_active() || self.message_ring().is_armed() || !mailbox.is_alive() {
            return self.deliver(envelope);
        }
        let to = envelope.to.id_arc().clone();
        let sent = mailbox.send_event(Event::Message(Box::new(envelope)), self.clock(), false);
        let delivered = Node::delivered(sent);
        if delivered == Delivered::MailboxFull {
            self.mailbox_full(&to);
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use crate::clock::Clock;
    use crate::node::Node;
    use crate::testing::{Echo, Ping};

    fn node(clock: Clock) -> Node {
        Node::builder("127.0.0.1:0".parse().unwrap()).clock(clock).start().unwrap()
    }

    /// A burst does not keep its memory: once drained, the buffers shrink back to about
    /// `KEPT_BUFFER_BYTES`, and the items still come out in order.
    #[test]
    fn drained_buffers_shrink_back() {
        use crate::process::{Delivery, Event, Item};
        let queue = super::Queue::<Echo>::new(1_000_000);
        let mut inbox = super::Inbox::new(queue.clone());
        let clock = Clock::new();
        let burst = 50_000;
        for seq in 0..burst {
            let pid =
                crate::pid::Pid::new(format!("p{seq}").as_str(), "127.0.0.1:1".parse().unwrap());
            let item = Item::Event(Event::Exited(pid));
            assert!(queue.push(Delivery { item, pending: clock.pending() }, false).is_ok());
        }
        let waker = std::task::Waker::noop();
        for seq in 0..burst {
            let Some(Delivery { item: Item::Event(Event::Exited(pid)), .. }) = inbox.next(waker)
            else {
                panic!("item {seq} missing or of another kind")
            };
            assert_eq!(pid.id(), format!("p{seq}"));
        }
        assert!(inbox.next(waker).is_none());
        let slot = size_of::<Delivery<Echo>>();
        assert!(inbox.batch.capacity() * slot <= 2 * super::KEPT_BUFFER_BYTES);
        assert_eq!(queue.sizes(), super::QueueSizes::default());
    }

    /// Messages and dispatches share one mailbox and one order: a dispatch queued after a
    /// message sees it handled, whatever thread queued them.
    #[actix_rt::test]
    async fn messages_and_dispatches_keep_one_order() {
        let node = node(Clock::new());
        let echo = node.spawn("echo", Echo::default()).unwrap();
        let seen = std::sync::Arc::new(StdMutex::new(Vec::new()));
        let tester = node.pid("tester");
        for seq in 1..=3 {
            node.send(&tester, echo.pid(), Ping { seq, payload: Default::default() });
            let seen = seen.clone();
            echo.tell(move |p, _| seen.lock().unwrap().push(p.answered)).unwrap();
        }
        echo.dispatch(|_, _| ()).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);
        assert_eq!(echo.queue_sizes(), super::QueueSizes::default());
        node.shutdown().await;
    }

    /// What waits behind a termination is dropped with the mailbox, not handled: the
    /// paused clock's `settle` stops waiting for it, and later sends are refused.
    #[actix_rt::test]
    async fn a_stopped_mailbox_drops_what_waited_and_refuses_more() {
        let clock = Clock::paused();
        let node = node(clock.clone());
        let echo = node.spawn("echo", Echo::default()).unwrap();
        echo.dispatch(|_, _| ()).await.unwrap();
        let ran = std::sync::Arc::new(StdMutex::new(false));
        let flag = ran.clone();
        echo.tell(|_, ctx| ctx.terminate()).unwrap();
        echo.tell(move |_, _| *flag.lock().unwrap() = true).unwrap();
        node.wait(echo.pid()).await;
        clock.settle().await;
        assert!(!*ran.lock().unwrap(), "a dispatch queued after the termination ran");
        assert!(!echo.is_alive());
        assert!(echo.tell(|_, _| ()).is_err());
        assert_eq!(echo.queue_sizes(), super::QueueSizes::default());
        node.shutdown().await;
    }
}
