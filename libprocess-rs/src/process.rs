//! Processes: actors with a [`Pid`], a message protocol, timers, links and HTTP routes.
//!
//! Mesos: 3rdparty/libprocess/include/process/process.hpp (`ProcessBase`) and
//! protobuf.hpp (`ProtobufProcess`). A process is a plain struct implementing [`Process`];
//! the runtime wraps it in an actix actor ([`ProcessActor`]) that owns its mailbox and
//! calls exactly one method per event, so the process never needs a lock.
//!
//! Events, in the order they were queued:
//! - a protobuf message -> [`Process::on_message`] (decoded through [`Process::Message`]);
//!   an unknown or malformed one is counted, logged and given to [`Process::on_unknown`];
//! - a linked process went away -> [`Process::on_exited`];
//! - a timer or a dispatched closure -> that closure;
//! - an HTTP request for one of its routes -> that route's handler.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;
use std::task::Poll;

use actix::{Actor, ActorFuture, ActorFutureExt, AsyncContext};
use bytes::Bytes;
use tokio::sync::oneshot;

use crate::clock::{Clock, Pending, Time, TimerId};
use crate::error::Error;
use crate::http::{Request, Responder, SharedHandler, StreamedBody, StreamedRequest};
use crate::mailbox::{Inbox, Queue, QueueSizes, SendCache};
use crate::message::{Connection, DecodeError, Envelope, Inbound, Outbound, ProtoMessage};
use crate::node::{LinkMode, Node, RouteTarget};
use crate::pid::Pid;
use crate::request_body::RouteBody;

/// Default bound of a process mailbox. At the bound, messages from the network are
/// refused (`503`) and local sends are dropped and counted (`libprocess/mailbox_full`).
pub const DEFAULT_MAILBOX_CAPACITY: usize = 100_000;

/// A libprocess process: the behaviour behind a [`Pid`].
pub trait Process: Sized + Unpin + 'static {
    /// The messages this process accepts (declare with [`protocol!`](crate::protocol)).
    type Message: Inbound;

    /// Runs once, before any event: install routes, link, start timers.
    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        let _ = ctx;
    }

    /// Handles one decoded message.
    fn on_message(&mut self, from: Pid, message: Self::Message, ctx: &mut Context<'_, Self>);

    /// A linked process has terminated, or the connection to its node broke.
    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        let _ = (pid, ctx);
    }

    /// A message this process does not accept, or could not decode. The runtime has
    /// already counted (`libprocess/messages_unknown`, `libprocess/messages_malformed`)
    /// and logged it.
    fn on_unknown(&mut self, from: Pid, error: DecodeError, ctx: &mut Context<'_, Self>) {
        let _ = (from, error, ctx);
    }

    /// Runs once when the process terminates.
    fn finalize(&mut self, ctx: &mut Context<'_, Self>) {
        let _ = ctx;
    }

    /// The mailbox bound of this process.
    fn mailbox_capacity(&self) -> usize {
        DEFAULT_MAILBOX_CAPACITY
    }
}

type RouteHandler<P> = Rc<dyn Fn(&mut P, Request, Responder, &mut Context<'_, P>)>;
type StreamedHandler<P> = Rc<dyn Fn(&mut P, StreamedRequest, Responder, &mut Context<'_, P>)>;
type DispatchFn<P> = Box<dyn for<'a> FnOnce(&mut P, &mut Context<'a, P>) + Send>;

/// Runtime state of a process, beside the process itself.
pub(crate) struct Core<P: Process> {
    node: Node,
    pid: Pid,
    /// This process's mailbox (for handing out references and queueing to itself).
    queue: Arc<Queue<P>>,
    routes: Vec<RouteHandler<P>>,
    /// The routes that take their bodies streamed.
    streamed_routes: Vec<StreamedHandler<P>>,
    /// Mailboxes this process sent to recently (`Context::send` takes `&self`).
    sends: RefCell<SendCache>,
}

/// The actix actor that runs a [`Process`].
pub struct ProcessActor<P: Process> {
    process: P,
    core: Core<P>,
    /// The consumer side of the mailbox (see `ProcessActor::drain`).
    inbox: Inbox<P>,
}

/// What the runtime queues to a process of any type (see [`Item`] for the typed path).
pub(crate) enum Event {
    /// A message by name, decoded in the receiver (from the network, or seen by hooks).
    /// Boxed, as `Http`: every queued item is as large as the largest one, and a small
    /// item is what keeps the local path (`Item::Local`) cheap to move and allocate.
    Message(Box<Envelope>),
    Exited(Pid),
    /// Boxed: a request is large and rare.
    Http(Box<HttpEvent>),
    Terminate,
}

/// An HTTP request for a process route; `route` is `None` when the route table was
/// consulted before the process had installed its routes (it is looked up again by
/// `path`, as libprocess routes requests inside the process).
pub(crate) struct HttpEvent {
    pub(crate) route: Option<RouteTarget>,
    pub(crate) path: String,
    pub(crate) request: http::Request<RouteBody>,
    pub(crate) responder: Responder,
}

/// What a process's mailbox holds.
pub(crate) enum Item<P: Process> {
    /// A local message already in the process's own protocol enum (the hot path: no
    /// name, no box, nothing to decode).
    Local { from: Pid, message: P::Message },
    /// A closure to run on the process (libprocess `dispatch`): timers, `defer`,
    /// `ProcessRef::dispatch`/`tell`.
    Dispatch(DispatchFn<P>),
    /// Anything else.
    Event(Event),
}

/// One queued item; `pending` keeps a paused clock's `settle` waiting until the item is
/// handled or dropped.
pub(crate) struct Delivery<P: Process> {
    pub(crate) item: Item<P>,
    pub(crate) pending: Pending,
}

/// Items handled per poll of a process before it lets the other tasks of its thread
/// run (it wakes itself and carries on at its next turn).
const DRAIN_BUDGET: usize = 1024;

/// The future, run in the process's actix context for as long as the process runs, that
/// takes items out of its mailbox and handles them ([`ProcessActor::drain`]).
struct Drain;

impl<P: Process> ActorFuture<ProcessActor<P>> for Drain {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        actor: &mut ProcessActor<P>,
        actx: &mut actix::Context<ProcessActor<P>>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        // What the turn sends leaves when it ends (`net::outbound::cork`).
        crate::net::cork_turn(|| actor.drain(actx, task.waker()));
        // Never done: the context drops it when the process stops.
        Poll::Pending
    }
}

impl<P: Process> ProcessActor<P> {
    pub(crate) fn new(process: P, node: Node, pid: Pid, inbox: Inbox<P>) -> ProcessActor<P> {
        let sends = RefCell::new(SendCache::default());
        let queue = inbox.queue().clone();
        let routes = Vec::new();
        ProcessActor {
            process,
            core: Core { node, pid, queue, routes, streamed_routes: Vec::new(), sends },
            inbox,
        }
    }

    /// Starts the actor on this thread. Its mailbox is ours, not actix's (see
    /// [`crate::mailbox`]): it exists, with its bound, before the actor, so nothing the
    /// network delivers before the first poll is refused at a smaller bound.
    ///
    /// The context's future is spawned directly (not `Context::run`, which makes an
    /// actix address): nobody sends through actix, and creating and dropping an unused
    /// address cost ~700 instructions per spawn (ACT-2). The actor stays alive for as
    /// long as its `Drain` runs, that is until it stops.
    ///
    /// The context future is boxed before it is spawned: it is ~520 bytes for a process
    /// with no state of its own (the actor, actix's context with its inline vectors),
    /// and tokio moves a task's future by value about nine times between spawn and
    /// completion (into the task cell; `set_stage` copies the whole stage when the
    /// output replaces it). A box
    /// makes each of those moves a pointer's: ~430 fewer instructions per ACT-2 cycle,
    /// the extra allocation included.
    pub(crate) fn start_here(self) {
        self.core.queue.settle_home();
        actix_rt::spawn(Box::pin(actix::Context::new().into_future(self)));
    }

    /// [`ProcessActor::start_here`] on `arbiter`, with the actor built there by `make`.
    /// Until `make` has run (and the process can name its own bound) the mailbox holds
    /// [`DEFAULT_MAILBOX_CAPACITY`] items, as a reserved process's does.
    pub(crate) fn start_in_arbiter(
        arbiter: &actix_rt::ArbiterHandle,
        make: impl FnOnce() -> ProcessActor<P> + Send + 'static,
    ) {
        arbiter.spawn_fn(move || make().start_here());
    }

    /// Handles what waits in the mailbox, in order, up to [`DRAIN_BUDGET`] items; parks
    /// on `waker` when the mailbox is empty. Stops early when the context stops or waits
    /// (`terminate`): the context polls its futures again when it is done waiting, and
    /// drops what remains when it stops, as actix's mailbox does.
    fn drain(&mut self, actx: &mut actix::Context<Self>, waker: &std::task::Waker) {
        for _ in 0..DRAIN_BUDGET {
            if actx.waiting() {
                return;
            }
            let Some(delivery) = self.inbox.next(waker) else { return };
            self.on_delivery(delivery, actx);
        }
        waker.wake_by_ref();
    }

    fn on_delivery(&mut self, delivery: Delivery<P>, actx: &mut actix::Context<Self>) {
        let Delivery { item, pending } = delivery;
        match item {
            Item::Local { from, message } => {
                self.run(actx, Some(from.clone()), |p, ctx| p.on_message(from, message, ctx))
            }
            Item::Dispatch(f) => self.run(actx, None, f),
            Item::Event(Event::Message(envelope)) => self.on_delivered_message(*envelope, actx),
            Item::Event(Event::Exited(pid)) => self.run(actx, None, |p, ctx| p.on_exited(pid, ctx)),
            Item::Event(Event::Http(http)) => self.on_http(*http, actx),
            Item::Event(Event::Terminate) => actix::ActorContext::stop(actx),
        }
        // After the handler: a paused clock's `settle` also waits for what it queued.
        drop(pending);
    }

    fn run<R>(
        &mut self,
        actx: &mut actix::Context<Self>,
        from: Option<Pid>,
        f: impl FnOnce(&mut P, &mut Context<'_, P>) -> R,
    ) -> R {
        let mut ctx = Context { core: &mut self.core, actix: actx, from, via: None };
        f(&mut self.process, &mut ctx)
    }

    fn on_delivered_message(&mut self, envelope: Envelope, actx: &mut actix::Context<Self>) {
        let Envelope { from, to: _, name, body, via } = envelope;
        match P::Message::decode(&name, body) {
            Ok(message) => self.run(actx, Some(from.clone()), |p, ctx| {
                ctx.via = via;
                p.on_message(from, message, ctx)
            }),
            Err(error) => {
                let node = &self.core.node;
                match &error {
                    DecodeError::Unknown { .. } => node.stats().messages_unknown.inc(),
                    DecodeError::Malformed { .. } => node.stats().messages_malformed.inc(),
                }
                tracing::warn!(to = %self.core.pid, %from, %error, "dropping message");
                self.run(actx, Some(from.clone()), |p, ctx| p.on_unknown(from, error, ctx));
            }
        }
    }
}

impl<P: Process> ProcessActor<P> {
    fn on_http(&mut self, http: HttpEvent, actx: &mut actix::Context<Self>) {
        let HttpEvent { route, path, request, responder } = http;
        let target = route.or_else(|| {
            let found = self.core.node.find_route(self.core.pid.id(), &path, request.headers());
            found.map(|(target, _)| target)
        });
        let Some(target) = target else {
            let message = format!("no route {path} on process {}", self.core.pid.id());
            responder.respond(crate::http::text(http::StatusCode::NOT_FOUND, message));
            return;
        };
        if let RouteTarget::ProcessStreamed(index) = target {
            match self.core.streamed_routes.get(index).cloned() {
                Some(handler) => {
                    let request = request.map(RouteBody::into_stream);
                    self.run(actx, None, |p, ctx| handler(p, request, responder, ctx))
                }
                None => drop(responder),
            }
            return;
        }
        let (parts, body) = request.into_parts();
        let RouteBody::Whole(body) = body else {
            // The server streams a body only to a route that wants it streamed; this
            // one was replaced by a whole-body route meanwhile.
            let message = "the route changed while the request was read; try again";
            responder.respond(crate::http::text(http::StatusCode::SERVICE_UNAVAILABLE, message));
            return;
        };
        let request = http::Request::from_parts(parts, body);
        match target {
            RouteTarget::Process(index) => match self.core.routes.get(index).cloned() {
                Some(handler) => self.run(actx, None, |p, ctx| handler(p, request, responder, ctx)),
                None => drop(responder),
            },
            RouteTarget::Shared(handler) => {
                let future = handler(request);
                actix::AsyncContext::spawn(
                    actx,
                    actix::fut::wrap_future::<_, Self>(async move {
                        responder.respond(future.await);
                    }),
                );
            }
            RouteTarget::ProcessStreamed(_) => {}
        }
    }
}

impl<P: Process> Actor for ProcessActor<P> {
    type Context = actix::Context<Self>;

    fn started(&mut self, actx: &mut actix::Context<Self>) {
        let capacity = self.process.mailbox_capacity();
        if capacity != DEFAULT_MAILBOX_CAPACITY {
            self.core.queue.set_capacity(capacity);
        }
        self.run(actx, None, |p, ctx| p.initialize(ctx));
        // After `initialize`: what waited in the mailbox (a reserved process's) comes
        // after it.
        actx.spawn(Drain);
    }

    fn stopped(&mut self, actx: &mut actix::Context<Self>) {
        self.run(actx, None, |p, ctx| p.finalize(ctx));
        self.core.node.process_terminated(&self.core.pid);
        // What is still queued is dropped, as actix drops the messages of a stopped actor.
        self.inbox.close();
    }
}

/// Queues a dispatch, bypassing the mailbox bound (dispatches come from the process's own
/// timers and from local callers, not from the network). Returns false if the process is gone.
fn queue_dispatch<P: Process>(queue: &Queue<P>, clock: &Clock, f: DispatchFn<P>) -> bool {
    queue.push(Delivery { item: Item::Dispatch(f), pending: clock.pending() }, true).is_ok()
}

/// What a process handler can do: send, link, set timers, spawn futures, install routes.
pub struct Context<'a, P: Process> {
    core: &'a mut Core<P>,
    actix: &'a mut actix::Context<ProcessActor<P>>,
    from: Option<Pid>,
    /// The connection the message being handled arrived on (see [`Context::via`]).
    via: Option<Connection>,
}

impl<P: Process> Context<'_, P> {
    /// This process's pid.
    pub fn pid(&self) -> &Pid {
        &self.core.pid
    }

    /// The node this process runs on.
    pub fn node(&self) -> &Node {
        &self.core.node
    }

    /// The node's clock.
    pub fn clock(&self) -> &Clock {
        self.core.node.clock()
    }

    /// The current time on the node's clock.
    pub fn now(&self) -> Time {
        self.core.node.clock().now()
    }

    /// A handle to this process, for dispatching to it from elsewhere.
    pub fn self_ref(&self) -> ProcessRef<P> {
        ProcessRef {
            pid: self.core.pid.clone(),
            queue: self.core.queue.clone(),
            clock: self.clock().clone(),
        }
    }

    /// Sends a protobuf message (fire and forget, as in libprocess).
    pub fn send<T: ProtoMessage>(&self, to: &Pid, message: T) {
        self.core.node.send_from_process(&self.core.sends, &self.core.pid, to, message);
    }

    /// Sends one message of a [`protocol!`](crate::protocol) enum (any variant), as
    /// [`Context::send`] sends a single protobuf message.
    pub fn send_outbound<M: Outbound>(&self, to: &Pid, message: M) {
        message.send(&self.core.node, &self.core.pid, to);
    }

    /// Sends raw bytes under a message name.
    pub fn send_raw(&self, to: &Pid, name: &str, body: Bytes) {
        self.core.node.send_raw(&self.core.pid, to, name, body);
    }

    /// Replies to the sender of the message being handled (no-op outside `on_message`).
    pub fn reply<T: ProtoMessage>(&self, message: T) {
        if let Some(from) = &self.from {
            self.core.node.send_from_process(&self.core.sends, &self.core.pid, from, message);
        }
    }

    /// The sender of the message being handled.
    pub fn sender(&self) -> Option<&Pid> {
        self.from.as_ref()
    }

    /// The inbound connection the message being handled arrived on: `None` for a
    /// message from a process of this node, and outside `on_message`. The sender's pid
    /// is only claimed; this is what tells two peers claiming the same pid apart.
    pub fn via(&self) -> Option<Connection> {
        self.via
    }

    /// Links to `pid`: [`Process::on_exited`] fires when it terminates (local) or when the
    /// connection to its node breaks (remote).
    pub fn link(&self, pid: &Pid) {
        self.core.node.link(&self.core.pid, pid, LinkMode::Normal);
    }

    /// Links to `pid` over a fresh connection, replacing any existing one without
    /// reporting it as exited (libprocess `RemoteConnection::RECONNECT`).
    pub fn link_reconnect(&self, pid: &Pid) {
        self.core.node.link(&self.core.pid, pid, LinkMode::Reconnect);
    }

    /// Removes a link.
    pub fn unlink(&self, pid: &Pid) {
        self.core.node.unlink(&self.core.pid, pid);
    }

    /// Runs `f` on this process after `after` on the node's clock (libprocess `delay`).
    pub fn delay(
        &self,
        after: Duration,
        f: impl for<'a> FnOnce(&mut P, &mut Context<'a, P>) + Send + 'static,
    ) -> TimerId {
        let queue = self.core.queue.clone();
        let clock = self.clock().clone();
        self.clock().schedule(after, move || {
            queue_dispatch(&queue, &clock, Box::new(f));
        })
    }

    /// Cancels a timer set with [`Context::delay`].
    pub fn cancel_timer(&self, timer: TimerId) -> bool {
        self.clock().cancel(timer)
    }

    /// Queues `f` to run on this process after the events already queued.
    pub fn defer(&self, f: impl for<'a> FnOnce(&mut P, &mut Context<'a, P>) + Send + 'static) {
        queue_dispatch(&self.core.queue, self.clock(), Box::new(f));
    }

    /// What waits in this process's mailbox now (Mesos: `event_queue_*`).
    pub fn queue_sizes(&self) -> QueueSizes {
        self.core.queue.sizes()
    }

    /// Runs `future` and then `then` on this process with its output (libprocess
    /// `.then(defer(self(), ...))`). Dropped if the process terminates first.
    pub fn spawn<R: 'static>(
        &mut self,
        future: impl Future<Output = R> + 'static,
        then: impl for<'a> FnOnce(&mut P, R, &mut Context<'a, P>) + 'static,
    ) {
        let task = actix::fut::wrap_future::<_, ProcessActor<P>>(future)
            .map(move |output, actor, actx| actor.run(actx, None, |p, ctx| then(p, output, ctx)));
        self.actix.spawn(task);
    }

    /// Installs an HTTP route handled on this process, serialized with its messages.
    /// `path` is relative to the process (`/state` serves `/<id>/state`).
    pub fn route(
        &mut self,
        path: &str,
        handler: impl Fn(&mut P, Request, Responder, &mut Context<'_, P>) + 'static,
    ) {
        let index = self.core.routes.len();
        self.core.routes.push(Rc::new(handler));
        self.core.node.add_route(self.core.pid.id_arc(), path, RouteTarget::Process(index), None);
    }

    /// Installs an HTTP route handled on this process that takes the bodies of the
    /// requests `spec` wants as a stream ([`StreamedRequest`]), within `spec`'s bounds;
    /// the handler runs when the head has arrived (and passed the node's HTTP gate).
    /// Other requests for `path` go to the whole-body route at the same path, if any.
    /// Mesos: libprocess `RouteOptions::requestStreaming`.
    pub fn route_streamed(
        &mut self,
        path: &str,
        spec: StreamedBody,
        handler: impl Fn(&mut P, StreamedRequest, Responder, &mut Context<'_, P>) + 'static,
    ) {
        let index = self.core.streamed_routes.len();
        self.core.streamed_routes.push(Rc::new(handler));
        let target = RouteTarget::ProcessStreamed(index);
        self.core.node.add_route(self.core.pid.id_arc(), path, target, Some(spec));
    }

    /// Installs an HTTP route answered outside the process (from shared state such as a
    /// snapshot), so clients of this route never delay the process.
    pub fn route_shared(&mut self, path: &str, handler: SharedHandler) {
        self.core.node.add_route(self.core.pid.id_arc(), path, RouteTarget::Shared(handler), None);
    }

    /// Terminates this process after the current event.
    pub fn terminate(&mut self) {
        actix::ActorContext::stop(self.actix);
    }
}

/// A typed handle to a running process, usable from any thread.
pub struct ProcessRef<P: Process> {
    pid: Pid,
    queue: Arc<Queue<P>>,
    clock: Clock,
}

impl<P: Process> Clone for ProcessRef<P> {
    fn clone(&self) -> Self {
        ProcessRef { pid: self.pid.clone(), queue: self.queue.clone(), clock: self.clock.clone() }
    }
}

impl<P: Process> ProcessRef<P> {
    pub(crate) fn new(pid: Pid, queue: Arc<Queue<P>>, clock: Clock) -> ProcessRef<P> {
        ProcessRef { pid, queue, clock }
    }

    /// What waits in the process's mailbox now: messages, dispatches and HTTP requests
    /// (Mesos: the `event_queue_*` metrics). A read of three counters, from any thread.
    pub fn queue_sizes(&self) -> QueueSizes {
        self.queue.sizes()
    }

    /// The process's pid.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// Runs `f` on the process and returns its result (libprocess `dispatch` with a
    /// `Future` result). Fails if the process has terminated.
    pub fn dispatch<R, F>(&self, f: F) -> impl Future<Output = Result<R, Error>> + use<P, R, F>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&mut P, &mut Context<'a, P>) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let queued = queue_dispatch(
            &self.queue,
            &self.clock,
            Box::new(move |p: &mut P, ctx: &mut Context<'_, P>| {
                // The caller may have stopped waiting; nothing to do then.
                let _ = tx.send(f(p, ctx));
            }),
        );
        let pid = self.pid.clone();
        async move {
            if !queued {
                return Err(Error::ProcessGone { pid });
            }
            rx.await.map_err(|_| Error::ProcessGone { pid })
        }
    }

    /// Runs `f` on the process without waiting for it.
    pub fn tell(
        &self,
        f: impl for<'a> FnOnce(&mut P, &mut Context<'a, P>) + Send + 'static,
    ) -> Result<(), Error> {
        if queue_dispatch(&self.queue, &self.clock, Box::new(f)) {
            Ok(())
        } else {
            Err(Error::ProcessGone { pid: self.pid.clone() })
        }
    }

    /// True while the process runs.
    pub fn is_alive(&self) -> bool {
        self.queue.is_open()
    }
}

/// A process id taken, and a [`ProcessRef`] to it handed out, before the process
/// exists ([`Node::reserve`](crate::Node::reserve)): for two processes that each need
/// the other's reference when they are constructed (the master and its allocator).
///
/// Messages, HTTP requests and dispatches sent to the reference meanwhile wait in the
/// mailbox (bounded as a running process's is) and are handled once [`Reserved::spawn`]
/// has run the process's `initialize`, so none is lost to the order of start-up.
/// Dropping it unspawned frees the id and drops what waited.
pub struct Reserved<P: Process> {
    node: Node,
    process_ref: ProcessRef<P>,
    /// The consumer side of the mailbox, until the process is spawned with it.
    inbox: Option<Inbox<P>>,
}

impl<P: Process> Reserved<P> {
    /// Creates the mailbox of a process to come; `register` enters it in the node's
    /// process table under the id (and fails if the id is taken) and gives back the
    /// consumer side.
    pub(crate) fn new(
        node: Node,
        register: impl FnOnce() -> Result<(ProcessRef<P>, Inbox<P>), Error>,
    ) -> Result<Reserved<P>, Error> {
        let (process_ref, inbox) = register()?;
        Ok(Reserved { node, process_ref, inbox: Some(inbox) })
    }

    /// The reference the process will have, usable (and clonable) at once.
    pub fn process_ref(&self) -> &ProcessRef<P> {
        &self.process_ref
    }

    /// The reserved pid.
    pub fn pid(&self) -> &Pid {
        self.process_ref.pid()
    }

    /// Starts `process` under the reserved id on the current actix arbiter: its
    /// `initialize` runs, then whatever waited in the mailbox. Must be called inside an
    /// actix `System`, like [`Node::spawn`](crate::Node::spawn).
    pub fn spawn(mut self, process: P) -> ProcessRef<P> {
        if let Some(inbox) = self.inbox.take() {
            let pid = self.process_ref.pid().clone();
            ProcessActor::new(process, self.node.clone(), pid, inbox).start_here();
        }
        self.process_ref.clone()
    }
}

impl<P: Process> Drop for Reserved<P> {
    fn drop(&mut self) {
        // Never spawned: what waited is dropped (the inbox closes the mailbox), the id is
        // free again, and linked processes are told it is gone.
        if let Some(inbox) = self.inbox.take() {
            drop(inbox);
            self.node.process_terminated(self.process_ref.pid());
        }
    }
}
