//! A node: one libprocess instance at one address, hosting many processes.
//!
//! Mesos: 3rdparty/libprocess/src/process.cpp (`ProcessManager`, `SocketManager`). A node
//! owns the process table, the links between processes, the transport to other nodes
//! (real TCP, or a [`SimNetwork`](crate::sim::SimNetwork) inside one test), the HTTP
//! router, the metrics, the test hooks and the clock. An OS process normally runs one
//! node; a simulated cluster runs many in one OS process, each with its own address.
//!
//! # Layout
//! - this file: [`Node`] and its [`NodeBuilder`], the process table, delivery, HTTP
//!   routes;
//! - `config`: [`NodeConfig`] (bounds, I/O threads, `LIBPROCESS_IO_THREADS`) and the
//!   node's own counters;
//! - `links`: the link table (who is told `exited` when a process or a connection
//!   goes), with [`LinkMode`];
//! - `linking`: linking, unlinking and terminations, the node's side of that table;
//! - `tests`: unit tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::error::Error;
use crate::hooks::{Hooks, Verdict};
use crate::http::{HttpGate, SharedHandler, StreamedBody};
use crate::mailbox::{Inbox, Mailbox, Queue, QueueSizes};
use crate::message::{Body, Envelope, MessageName, ProtoMessage};
use crate::metrics::Metrics;
use crate::net::Tcp;
use crate::pid::Pid;
use crate::process::{
    DEFAULT_MAILBOX_CAPACITY, Event, Process, ProcessActor, ProcessRef, Reserved,
};
use crate::ring::MessageRing;
use crate::sim::SimNetwork;
use crate::tls::TlsConfig;

mod config;
mod linking;
mod links;

pub use config::NodeConfig;
pub(crate) use config::NodeStats;
pub use links::LinkMode;
use links::{Links, PidMap};

/// Where an HTTP route is served.
#[derive(Clone)]
pub(crate) enum RouteTarget {
    /// On the process, by index into its route table.
    Process(usize),
    /// On the process, body streamed, by index into its table of streamed routes.
    ProcessStreamed(usize),
    /// Outside the process.
    Shared(SharedHandler),
}

struct RouteEntry {
    path: String,
    target: RouteTarget,
    /// Set for a route that streams the bodies of the requests it wants.
    streamed: Option<StreamedBody>,
}

pub(crate) struct ProcessEntry {
    pub(crate) mailbox: Arc<dyn Mailbox>,
    routes: Vec<RouteEntry>,
    /// Set (under the link table's lock) once a link names this process, as linker or
    /// linkee. A process that never linked and was never linked to leaves the link
    /// table untouched when it terminates: it skips two lookups of its pid there
    /// (ACT-2's ephemeral processes are such).
    linked: bool,
    /// Set (under the waiters' lock) once [`Node::wait`] waits for this process: only
    /// then does its termination look for waiters to wake.
    waited: bool,
}

pub(crate) enum Transport {
    Tcp(Tcp),
    Sim(SimNetwork),
}

pub(crate) struct NodeInner {
    address: SocketAddr,
    clock: Clock,
    hooks: Arc<Hooks>,
    ring: Arc<MessageRing>,
    metrics: Metrics,
    stats: NodeStats,
    config: NodeConfig,
    processes: DashMap<Arc<str>, ProcessEntry, foldhash::fast::RandomState>,
    default_process: RwLock<Option<Arc<str>>>,
    id_counters: Mutex<HashMap<String, u64>>,
    links: Mutex<Links>,
    waiters: Mutex<PidMap<Vec<oneshot::Sender<()>>>>,
    transport: RwLock<Option<Transport>>,
    /// What every HTTP request passes before any route (an authenticator); none = open.
    http_gate: RwLock<Option<HttpGate>>,
}

/// A handle to a node. Cloning shares the node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

/// What happened to a delivered message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Queued to the process.
    Queued,
    /// Taken by a test hook (dropped or held).
    Filtered,
    /// No such process on this node.
    NoProcess,
    /// The process's mailbox is at its bound.
    MailboxFull,
}

/// Builds a [`Node`].
pub struct NodeBuilder {
    address: SocketAddr,
    clock: Option<Clock>,
    hooks: Option<Arc<Hooks>>,
    config: NodeConfig,
    sim: Option<SimNetwork>,
    listener: Option<std::net::TcpListener>,
    tls: Option<TlsConfig>,
}

impl NodeBuilder {
    /// Uses `clock` (share one clock between the nodes of a simulated cluster).
    pub fn clock(mut self, clock: Clock) -> NodeBuilder {
        self.clock = Some(clock);
        self
    }

    /// Uses `hooks` (share one hook table between the nodes of a simulated cluster).
    pub fn hooks(mut self, hooks: Arc<Hooks>) -> NodeBuilder {
        self.hooks = Some(hooks);
        self
    }

    /// Uses these bounds and settings.
    pub fn config(mut self, config: NodeConfig) -> NodeBuilder {
        self.config = config;
        self
    }

    /// Uses this TLS setting instead of reading `LIBPROCESS_SSL_*` from the environment.
    pub fn tls(mut self, tls: TlsConfig) -> NodeBuilder {
        self.tls = Some(tls);
        self
    }

    /// Joins a simulated network at the builder's address instead of listening on TCP.
    pub fn simulated(mut self, sim: &SimNetwork) -> NodeBuilder {
        self.sim = Some(sim.clone());
        self
    }

    /// Serves on `listener`, bound already, instead of binding the builder's address:
    /// the node's address is the listener's. A process started with a listening socket
    /// of its parent (see [`crate::inherit`]) keeps the port its parent chose, and a test
    /// that binds the port itself never races another test for it.
    pub fn listener(mut self, listener: std::net::TcpListener) -> NodeBuilder {
        self.listener = Some(listener);
        self
    }

    /// Starts the node: binds its TCP listener (port 0 picks a free port) or serves on
    /// the one it was given, and starts its network runtime; or joins the simulated
    /// network. A TCP node reads its TLS setting from `LIBPROCESS_SSL_*` (unless
    /// [`NodeBuilder::tls`] gave one), as every libprocess does at initialisation: every
    /// binary honours it without a flag of its own.
    pub fn start(mut self) -> Result<Node, Error> {
        let (address, tcp) = match (&self.sim, self.listener.take()) {
            (Some(_), _) => (self.address, None),
            (None, listener) => {
                let tls = match &self.tls {
                    Some(tls) => tls.clone(),
                    None => TlsConfig::from_env()?,
                };
                let tls = tls.load()?;
                let (tcp, address) = match listener {
                    Some(listener) => Tcp::serve_listener(listener, &self.config, tls)?,
                    None => Tcp::bind(self.address, &self.config, tls)?,
                };
                (address, Some(tcp))
            }
        };
        let metrics = Metrics::default();
        let clock = self.clock.unwrap_or_default();
        let inner = Arc::new(NodeInner {
            address,
            ring: Arc::new(MessageRing::new(self.config.message_ring, clock.clone())),
            clock,
            hooks: self.hooks.unwrap_or_default(),
            stats: NodeStats::new(&metrics),
            metrics,
            config: self.config,
            processes: DashMap::with_hasher(foldhash::fast::RandomState::default()),
            default_process: RwLock::new(None),
            id_counters: Mutex::new(HashMap::new()),
            links: Mutex::new(Links::default()),
            waiters: Mutex::new(PidMap::default()),
            transport: RwLock::new(None),
            http_gate: RwLock::new(None),
        });
        let node = Node { inner };
        let transport = match (tcp, self.sim) {
            (Some(tcp), _) => {
                tcp.serve(&node);
                Transport::Tcp(tcp)
            }
            (None, Some(sim)) => {
                sim.join(&node);
                Transport::Sim(sim)
            }
            (None, None) => unreachable!("a node is either simulated or bound to TCP"),
        };
        *node.inner.transport.write() = Some(transport);
        Ok(node)
    }
}

impl Node {
    /// A builder for a node at `address` (`127.0.0.1:0` for any free port).
    pub fn builder(address: SocketAddr) -> NodeBuilder {
        NodeBuilder {
            address,
            clock: None,
            hooks: None,
            config: NodeConfig::default(),
            sim: None,
            listener: None,
            tls: None,
        }
    }

    pub(crate) fn from_inner(inner: Arc<NodeInner>) -> Node {
        Node { inner }
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<NodeInner> {
        Arc::downgrade(&self.inner)
    }

    /// The address every pid on this node carries.
    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// The node's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The node's test hooks.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.inner.hooks
    }

    /// The node's ring of recent messages (see [`crate::ring`]).
    pub fn message_ring(&self) -> &Arc<MessageRing> {
        &self.inner.ring
    }

    /// The node's metrics (served at `/metrics/snapshot`).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The node's bounds and settings.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    pub(crate) fn stats(&self) -> &NodeStats {
        &self.inner.stats
    }

    /// A pid for `id` on this node.
    pub fn pid(&self, id: &str) -> Pid {
        Pid::new(id, self.inner.address)
    }

    /// A fresh id `prefix(N)`, N counting from 1 per prefix on this node (libprocess
    /// `ID::generate`): `slave(1)`, `scheduler(3)`; an empty prefix gives `(N)`.
    pub fn generate_id(&self, prefix: &str) -> String {
        let mut counters = self.inner.id_counters.lock();
        let n = counters.entry(prefix.to_string()).or_insert(0);
        *n += 1;
        format!("{prefix}({n})")
    }

    /// Spawns `process` as `id` on the current actix arbiter.
    ///
    /// Must be called inside an actix `System` (e.g. `#[actix_rt::test]`,
    /// `actix_rt::System::new().block_on`).
    pub fn spawn<P: Process>(
        &self,
        id: impl Into<String>,
        process: P,
    ) -> Result<ProcessRef<P>, Error> {
        let capacity = process.mailbox_capacity();
        let (process_ref, inbox) = self.register(id.into(), capacity)?;
        let pid = process_ref.pid().clone();
        ProcessActor::new(process, self.clone(), pid, inbox).start_here();
        Ok(process_ref)
    }

    /// Takes `id` for a process to be spawned later with [`Reserved::spawn`], and gives
    /// its [`ProcessRef`] now: what is sent to it waits in its mailbox until it starts.
    /// For processes that need each other's reference at construction.
    pub fn reserve<P: Process>(&self, id: impl Into<String>) -> Result<Reserved<P>, Error> {
        let id = id.into();
        // The process's own bound is set when it starts (`started`); until then, the
        // default one.
        Reserved::new(self.clone(), || self.register(id, DEFAULT_MAILBOX_CAPACITY))
    }

    /// Spawns the process built by `make` on `arbiter` (another thread).
    pub fn spawn_on<P: Process>(
        &self,
        arbiter: &actix_rt::ArbiterHandle,
        id: impl Into<String>,
        make: impl FnOnce() -> P + Send + 'static,
    ) -> Result<ProcessRef<P>, Error> {
        let (process_ref, inbox) = self.register(id.into(), DEFAULT_MAILBOX_CAPACITY)?;
        let (node, pid) = (self.clone(), process_ref.pid().clone());
        ProcessActor::start_in_arbiter(arbiter, move || {
            ProcessActor::new(make(), node, pid, inbox)
        });
        Ok(process_ref)
    }

    /// Enters a new mailbox holding at most `capacity` items in the process table under
    /// `id`; returns the reference to it and its consumer side, for the process's actor.
    fn register<P: Process>(
        &self,
        id: String,
        capacity: usize,
    ) -> Result<(ProcessRef<P>, Inbox<P>), Error> {
        let id: Arc<str> = Arc::from(id);
        let pid = Pid::new(id.clone(), self.inner.address);
        match self.inner.processes.entry(id) {
            Entry::Occupied(entry) => {
                Err(Error::DuplicateProcessId { id: entry.key().to_string() })
            }
            Entry::Vacant(entry) => {
                let queue = Queue::<P>::new(capacity);
                entry.insert(ProcessEntry {
                    mailbox: queue.clone(),
                    routes: Vec::new(),
                    linked: false,
                    waited: false,
                });
                let inbox = Inbox::new(queue.clone());
                Ok((ProcessRef::new(pid, queue, self.inner.clock.clone()), inbox))
            }
        }
    }

    /// What waits in the mailbox of the process `id` (Mesos: `event_queue_*`), or `None`
    /// if there is no such process.
    pub fn queue_sizes(&self, id: &str) -> Option<QueueSizes> {
        self.mailbox_of(id).map(|mailbox| mailbox.queue_sizes())
    }

    /// The ids of every running process.
    pub fn process_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> =
            self.inner.processes.iter().map(|e| e.key().to_string()).collect();
        ids.sort();
        ids
    }

    /// Makes `id` the process that answers paths whose first segment names no process
    /// (the master answers `/state`, the agent `slave(1)` answers `/state`).
    pub fn set_default_process(&self, id: &str) {
        *self.inner.default_process.write() = Some(Arc::from(id));
    }

    /// Puts `gate` in front of every HTTP request this node answers (built-ins and
    /// routes alike; libprocess messages do not pass it). The master and agent install
    /// their authenticator here, so a request is authenticated before any route (a
    /// follower's redirect included) sees it. Mesos: libprocess process.cpp
    /// `ProcessBase::_visit`, which authenticates a route's realm before its handler.
    pub fn set_http_gate(&self, gate: HttpGate) {
        *self.inner.http_gate.write() = Some(gate);
    }

    pub(crate) fn http_gate(&self) -> Option<HttpGate> {
        self.inner.http_gate.read().clone()
    }

    pub(crate) fn default_process(&self) -> Option<Arc<str>> {
        self.inner.default_process.read().clone()
    }

    /// Sends a protobuf message from `from` to `to`: moved as a value when `to` is on this
    /// node, encoded and sent over the network otherwise.
    pub fn send<T: ProtoMessage>(&self, from: &Pid, to: &Pid, message: T) {
        if to.address() != self.inner.address {
            self.send_remote_typed(from, to, &message);
            return;
        }
        // Message ring: the one place a local message's type is known.
        self.inner.ring.observe_typed(from, to, &message);
        if self.inner.hooks.is_active() {
            self.deliver(Envelope::local(from.clone(), to.clone(), message));
        } else {
            match self.inner.processes.get(to.id()) {
                Some(entry) => self.deliver_typed(&*entry.mailbox, from, to, message),
                None => self.no_process(to),
            };
        }
    }

    /// The node's TLS setting as loaded at start (`LIBPROCESS_SSL_*`, or
    /// [`NodeBuilder::tls`]); `None` when TLS is off or the node is simulated. An HTTP
    /// client of this process that talks to another node connects with it through
    /// [`crate::tls::connect`], so it speaks TLS exactly when the node's links do.
    pub fn tls(&self) -> Option<crate::tls::Tls> {
        match &*self.inner.transport.read() {
            Some(Transport::Tcp(tcp)) => tcp.tls().cloned(),
            _ => None,
        }
    }

    /// Gives local process `id` the node's priority lane (a runtime thread and connections
    /// of its own): the messages it sends, and connections whose first request is a
    /// message to it, never wait behind the node's other traffic. For a master's raft
    /// registrar, whose heartbeats must not wait behind HTTP clients. A simulated node has
    /// no sockets to separate: nothing changes there.
    pub fn give_priority_lane(&self, id: &str) {
        if let Some(Transport::Tcp(tcp)) = &*self.inner.transport.read() {
            tcp.add_to_lane(id);
        }
    }

    /// Sends raw bytes under a message name (for names without a protobuf type).
    pub fn send_raw(&self, from: &Pid, to: &Pid, name: &str, body: Bytes) {
        let name = MessageName::owned(name);
        if to.address() == self.inner.address {
            self.deliver(Envelope {
                from: from.clone(),
                to: to.clone(),
                name,
                body: Body::Encoded(body),
                via: None,
            });
        } else {
            self.send_remote(from, to, name, body);
        }
    }

    /// [`Node::send_remote`] for a typed message: over TCP, with no message ring
    /// recording, its protobuf is encoded straight into the request (no body of its own).
    fn send_remote_typed<T: ProtoMessage>(&self, from: &Pid, to: &Pid, message: &T) {
        if !self.inner.ring.is_armed()
            && let Some(Transport::Tcp(tcp)) = &*self.inner.transport.read()
        {
            tcp.send_typed(self, from, to, &MessageName::of::<T>(), message);
            return;
        }
        let body = Bytes::from(message.encode_to_vec());
        self.send_remote(from, to, MessageName::of::<T>(), body);
    }

    fn send_remote(&self, from: &Pid, to: &Pid, name: MessageName, body: Bytes) {
        self.inner.ring.observe_out(from, to, &name, &body);
        match &*self.inner.transport.read() {
            Some(Transport::Tcp(tcp)) => tcp.send(self, from, to, &name, &body),
            Some(Transport::Sim(sim)) => sim.route(
                self.inner.address,
                Envelope {
                    from: from.clone(),
                    to: to.clone(),
                    name,
                    body: Body::Encoded(body),
                    // Set by the simulated network as it routes.
                    via: None,
                },
            ),
            None => self.inner.stats.outbound_dropped.inc(),
        }
    }

    /// Delivers a message to a process of this node, through the test hooks.
    pub fn deliver(&self, envelope: Envelope) -> Delivered {
        self.inner.ring.observe_delivery(&envelope);
        let envelope = if self.inner.hooks.is_active() {
            match self.inner.hooks.filter(self, envelope) {
                Verdict::Deliver(envelope) => envelope,
                Verdict::Consumed => return Delivered::Filtered,
            }
        } else {
            envelope
        };
        self.deliver_unfiltered(envelope)
    }

    /// Delivers a message without consulting the hooks (releasing held messages).
    pub(crate) fn deliver_unfiltered(&self, envelope: Envelope) -> Delivered {
        let Some(entry) = self.inner.processes.get(envelope.to.id()) else {
            return self.no_process(&envelope.to);
        };
        let sent =
            entry.mailbox.send_event(Event::Message(Box::new(envelope)), &self.inner.clock, false);
        let delivered = Node::delivered(sent);
        if delivered == Delivered::MailboxFull {
            self.mailbox_full(entry.key());
        }
        delivered
    }

    /// The thread (`mailbox::thread_token`) local process `id` runs on, once started.
    pub(crate) fn home_of(&self, id: &str) -> Option<u64> {
        self.inner.processes.get(id).and_then(|entry| entry.mailbox.home())
    }

    /// The mailbox of local process `id`.
    pub(crate) fn mailbox_of(&self, id: &str) -> Option<Arc<dyn Mailbox>> {
        self.inner.processes.get(id).map(|entry| entry.mailbox.clone())
    }

    /// Queues a non-message event to a local process, past the mailbox bound.
    pub(crate) fn post_event(&self, to: &Pid, event: Event) -> bool {
        let Some(entry) = self.inner.processes.get(to.id()) else { return false };
        entry.mailbox.send_event(event, &self.inner.clock, true).is_ok()
    }

    /// Queues an HTTP request to a process route; returns false if the mailbox is full
    /// or the process gone.
    pub(crate) fn post_http(&self, to: &str, event: Event) -> bool {
        let Some(entry) = self.inner.processes.get(to) else { return false };
        entry.mailbox.send_event(event, &self.inner.clock, false).is_ok()
    }

    /// Asks `pid` (on this node) to terminate; its `finalize` runs, linked processes get
    /// `exited`, and [`Node::wait`] returns.
    pub fn terminate(&self, pid: &Pid) -> bool {
        self.post_event(pid, Event::Terminate)
    }

    /// Waits until `pid` (on this node) has terminated.
    pub async fn wait(&self, pid: &Pid) {
        let rx = {
            let mut waiters = self.inner.waiters.lock();
            match self.inner.processes.get_mut(pid.id()) {
                // Before the waiter is in the list, but under its lock: a termination
                // that sees the flag takes the lock after us, and finds the waiter.
                Some(mut entry) => entry.waited = true,
                None => return,
            }
            let (tx, rx) = oneshot::channel();
            waiters.entry(pid.clone()).or_default().push(tx);
            rx
        };
        // An error means the waiter list was dropped with the node: terminated too.
        let _ = rx.await;
    }

    /// Offers the inbound plain connection `socket` from the node at `peer`, with the
    /// peer's `token`, to carry this node's messages to `peer` once the peer vouches for
    /// the token (`net::duplex`): the sender that keeps it in use, or `None` when
    /// declined.
    pub(crate) fn adopt_connection(
        &self,
        peer: SocketAddr,
        token: u128,
        socket: std::net::TcpStream,
    ) -> Option<tokio::sync::oneshot::Sender<()>> {
        match &*self.inner.transport.read() {
            Some(Transport::Tcp(tcp)) => tcp.adopt(self, peer, token, socket),
            _ => None,
        }
    }

    /// The tokens this node vouches for when a peer checks an offered connection
    /// (`net::duplex`); `None` when its connections never offer.
    pub(crate) fn duplex_tokens(&self) -> Option<Arc<crate::net::duplex::Tokens>> {
        match &*self.inner.transport.read() {
            Some(Transport::Tcp(tcp)) => tcp.duplex_tokens(),
            _ => None,
        }
    }

    /// Installs a route of process `id`; it replaces the one of the same kind (whole or
    /// streamed body) at the same path.
    pub(crate) fn add_route(
        &self,
        id: &Arc<str>,
        path: &str,
        target: RouteTarget,
        streamed: Option<StreamedBody>,
    ) {
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        if let Some(mut entry) = self.inner.processes.get_mut(id) {
            let kind = streamed.is_some();
            entry.routes.retain(|route| route.path != path || route.streamed.is_some() != kind);
            entry.routes.push(RouteEntry { path, target, streamed });
        }
    }

    /// The route of process `id` that serves `path` (longest matching prefix), with its
    /// body bounds when it streams this request's body. At the same path a streamed
    /// route that wants the request (by its `headers`) wins over a whole-body one.
    pub(crate) fn find_route(
        &self,
        id: &str,
        path: &str,
        headers: &http::HeaderMap,
    ) -> Option<(RouteTarget, Option<StreamedBody>)> {
        let entry = self.inner.processes.get(id)?;
        entry
            .routes
            .iter()
            .filter(|route| crate::http::route_matches(&route.path, path))
            .filter(|route| route.streamed.as_ref().is_none_or(|spec| (spec.wants)(headers)))
            .max_by_key(|route| (route.path.len(), route.streamed.is_some()))
            .map(|route| (route.target.clone(), route.streamed.clone()))
    }

    /// True if a process called `id` runs here.
    pub fn has_process(&self, id: &str) -> bool {
        self.inner.processes.contains_key(id)
    }

    /// Stops the node: terminates every process, closes every connection and stops
    /// listening (a simulated node leaves its network, as if its machine died).
    pub async fn shutdown(&self) {
        let pids: Vec<Pid> = self.inner.processes.iter().map(|e| self.pid(e.key())).collect();
        for pid in &pids {
            self.terminate(pid);
        }
        for pid in &pids {
            self.wait(pid).await;
        }
        let transport = self.inner.transport.write().take();
        match transport {
            Some(Transport::Tcp(tcp)) => tcp.shutdown(),
            Some(Transport::Sim(sim)) => sim.leave(self.inner.address),
            None => {}
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.inner.address)
    }
}

#[cfg(test)]
mod tests;
