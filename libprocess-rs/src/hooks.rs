//! Test hooks: wait for, drop or hold chosen messages as they are delivered.
//!
//! The equivalents of Mesos's `FUTURE_PROTOBUF`, `DROP_PROTOBUF` and `DROP_PROTOBUFS`
//! (src/tests/mesos.hpp, built on libprocess's `process::filter`). Every message that
//! reaches a node's mailbox passes through the node's [`Hooks`] first; with no rule
//! installed that costs one atomic load. Nodes of a simulated cluster share one `Hooks`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};

use crate::message::{Envelope, MessageName, ProtoMessage};
use crate::node::Node;
use crate::pid::Pid;

/// Which messages a rule applies to (besides their type).
#[derive(Clone, Debug, Default)]
pub struct Match {
    from: Option<Pid>,
    to: Option<Pid>,
    from_address: Option<SocketAddr>,
    to_address: Option<SocketAddr>,
}

impl Match {
    /// Any sender, any receiver.
    pub fn any() -> Match {
        Match::default()
    }

    /// Only messages from `pid`.
    pub fn from(mut self, pid: &Pid) -> Match {
        self.from = Some(pid.clone());
        self
    }

    /// Only messages to `pid`.
    pub fn to(mut self, pid: &Pid) -> Match {
        self.to = Some(pid.clone());
        self
    }

    /// Only messages from processes at `address`.
    pub fn from_address(mut self, address: SocketAddr) -> Match {
        self.from_address = Some(address);
        self
    }

    /// Only messages to processes at `address`.
    pub fn to_address(mut self, address: SocketAddr) -> Match {
        self.to_address = Some(address);
        self
    }

    fn accepts(&self, envelope: &Envelope) -> bool {
        self.from.as_ref().is_none_or(|p| *p == envelope.from)
            && self.to.as_ref().is_none_or(|p| *p == envelope.to)
            && self.from_address.is_none_or(|a| a == envelope.from.address())
            && self.to_address.is_none_or(|a| a == envelope.to.address())
    }
}

/// A message seen by a hook.
#[derive(Debug, Clone)]
pub struct Observed<T> {
    /// Its sender.
    pub from: Pid,
    /// Its receiver.
    pub to: Pid,
    /// The message itself.
    pub message: T,
}

enum Action {
    /// Complete a future with the first match; deliver it as usual.
    Observe(Box<dyn FnMut(&Envelope) -> bool + Send>),
    /// Drop the first match and complete a future with it.
    DropOnce(Box<dyn FnMut(&Envelope) -> bool + Send>),
    /// Drop every match while the rule exists.
    DropAll(Arc<AtomicU64>),
    /// Keep every match until released.
    Hold(Arc<HoldQueue>),
}

struct Rule {
    id: u64,
    name: MessageName,
    matcher: Match,
    action: Action,
}

#[derive(Default)]
struct HoldQueue {
    held: Mutex<Vec<(Node, Envelope)>>,
    changed: Notify,
}

/// The hook table of one node (or one simulated cluster).
#[derive(Default)]
pub struct Hooks {
    active: AtomicBool,
    rules: Mutex<Vec<Rule>>,
    next_id: AtomicU64,
}

/// What the runtime does with a message after the hooks have seen it.
pub(crate) enum Verdict {
    Deliver(Envelope),
    Consumed,
}

impl Hooks {
    fn install(&self, name: MessageName, matcher: Match, action: Action) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rules = self.rules.lock();
        rules.push(Rule { id, name, matcher, action });
        self.active.store(true, Ordering::Release);
        id
    }

    fn remove(&self, id: u64) {
        let mut rules = self.rules.lock();
        rules.retain(|rule| rule.id != id);
        self.active.store(!rules.is_empty(), Ordering::Release);
    }

    /// Completes with the next `T` matching `matcher`, which is still delivered
    /// (`FUTURE_PROTOBUF`).
    pub fn expect<T: ProtoMessage + Clone>(
        &self,
        matcher: Match,
    ) -> impl Future<Output = Observed<T>> + use<T> {
        let (tx, rx) = oneshot::channel();
        self.install(MessageName::of::<T>(), matcher, Action::Observe(once_sender::<T>(tx)));
        wait_observed(rx)
    }

    /// Drops the next `T` matching `matcher` and completes with it (`DROP_PROTOBUF`).
    pub fn drop_next<T: ProtoMessage + Clone>(
        &self,
        matcher: Match,
    ) -> impl Future<Output = Observed<T>> + use<T> {
        let (tx, rx) = oneshot::channel();
        self.install(MessageName::of::<T>(), matcher, Action::DropOnce(once_sender::<T>(tx)));
        wait_observed(rx)
    }

    /// Drops every `T` matching `matcher` until the returned rule is removed
    /// (`DROP_PROTOBUFS`).
    #[must_use = "the rule is removed when the handle is dropped"]
    pub fn drop_all<T: ProtoMessage>(self: &Arc<Self>, matcher: Match) -> DropRule {
        let count = Arc::new(AtomicU64::new(0));
        let id = self.install(MessageName::of::<T>(), matcher, Action::DropAll(count.clone()));
        DropRule { hooks: self.clone(), id, count }
    }

    /// Holds every `T` matching `matcher` until released: a message delayed in the
    /// network, to reorder events in a test.
    #[must_use = "held messages are released when the handle is dropped"]
    pub fn hold<T: ProtoMessage>(self: &Arc<Self>, matcher: Match) -> Held {
        let queue = Arc::new(HoldQueue::default());
        let id = self.install(MessageName::of::<T>(), matcher, Action::Hold(queue.clone()));
        Held { hooks: self.clone(), id, queue, released: false }
    }

    /// True when any rule is installed (checked on every delivery). Relaxed is enough:
    /// whoever installs a rule and then causes a message synchronizes with its sender
    /// through whatever carried the cause, and the rules themselves sit behind a lock.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Runs the rules over one message about to be delivered by `node`.
    pub(crate) fn filter(&self, node: &Node, envelope: Envelope) -> Verdict {
        let mut rules = self.rules.lock();
        let mut finished = Vec::new();
        let mut verdict_consumed = false;
        let mut hold: Option<Arc<HoldQueue>> = None;
        for rule in rules.iter_mut() {
            if rule.name != envelope.name || !rule.matcher.accepts(&envelope) {
                continue;
            }
            match &mut rule.action {
                Action::Observe(f) => {
                    if f(&envelope) {
                        finished.push(rule.id);
                    }
                }
                Action::DropOnce(f) => {
                    if f(&envelope) {
                        finished.push(rule.id);
                        verdict_consumed = true;
                        break;
                    }
                }
                Action::DropAll(count) => {
                    count.fetch_add(1, Ordering::Relaxed);
                    verdict_consumed = true;
                    break;
                }
                Action::Hold(queue) => {
                    hold = Some(queue.clone());
                    break;
                }
            }
        }
        rules.retain(|rule| !finished.contains(&rule.id));
        self.active.store(!rules.is_empty(), Ordering::Release);
        drop(rules);
        if let Some(queue) = hold {
            queue.held.lock().push((node.clone(), envelope));
            queue.changed.notify_waiters();
            return Verdict::Consumed;
        }
        if verdict_consumed { Verdict::Consumed } else { Verdict::Deliver(envelope) }
    }
}

fn once_sender<T: ProtoMessage + Clone>(
    tx: oneshot::Sender<Observed<T>>,
) -> Box<dyn FnMut(&Envelope) -> bool + Send> {
    let mut tx = Some(tx);
    Box::new(move |envelope: &Envelope| {
        let Some(message) = envelope.peek::<T>() else { return false };
        if let Some(tx) = tx.take() {
            // The waiter may have given up; the rule is finished either way.
            let _ =
                tx.send(Observed { from: envelope.from.clone(), to: envelope.to.clone(), message });
        }
        true
    })
}

async fn wait_observed<T>(rx: oneshot::Receiver<Observed<T>>) -> Observed<T> {
    match rx.await {
        Ok(observed) => observed,
        // The sender lives in the rule, and rules are only removed after sending.
        Err(_) => panic!("hook rule removed before a matching message arrived"),
    }
}

/// An installed drop-everything rule; removed when dropped.
pub struct DropRule {
    hooks: Arc<Hooks>,
    id: u64,
    count: Arc<AtomicU64>,
}

impl DropRule {
    /// How many messages the rule has dropped so far.
    pub fn dropped(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for DropRule {
    fn drop(&mut self) {
        self.hooks.remove(self.id);
    }
}

/// Messages held by a [`Hooks::hold`] rule. Dropping it releases them.
pub struct Held {
    hooks: Arc<Hooks>,
    id: u64,
    queue: Arc<HoldQueue>,
    released: bool,
}

impl Held {
    /// How many messages are held now.
    pub fn len(&self) -> usize {
        self.queue.held.lock().len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least `n` messages are held.
    pub async fn wait_for(&self, n: usize) {
        loop {
            let changed = self.queue.changed.notified();
            if self.len() >= n {
                return;
            }
            changed.await;
        }
    }

    /// Removes the rule and delivers every held message, in arrival order.
    pub fn release(mut self) {
        self.release_all();
    }

    /// Removes the rule and discards the held messages (they are lost).
    pub fn discard(mut self) {
        self.hooks.remove(self.id);
        self.queue.held.lock().clear();
        self.released = true;
    }

    fn release_all(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        self.hooks.remove(self.id);
        let held = std::mem::take(&mut *self.queue.held.lock());
        for (node, envelope) in held {
            node.deliver_unfiltered(envelope);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release_all();
    }
}
