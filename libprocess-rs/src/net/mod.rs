//! Real networking: the TCP listener serving HTTP and messages, and the persistent
//! outbound connections to peers.
//!
//! Both run on the node's own tokio runtime (the "I/O threads"), separate from the actix
//! arbiters that run processes, as libprocess separates its event loop from its worker
//! threads; but a plain message connection moves to the arbiter of the process its
//! messages go to (`placement`), and the sender's thread writes what it sends
//! (`outbound`'s cork), so a message usually crosses no thread. Between two libprocess-rs
//! nodes one connection carries messages both ways (`duplex`). The accept loop and the
//! traffic of the processes given the priority lane run on a second runtime of one
//! thread (`lane`).
//!
//! # Layout
//!
//! - `server`: the accept loop, admission, and serving each connection (messages, then
//!   hyper); `front` the message loop, `decoder` the message decoder, `guarded` the
//!   head deadline under hyper.
//! - `placement`: which thread serves a message connection.
//! - `outbound`: the connection per peer, its queue and writers; `outbound/cork` the
//!   per-thread cork; `sink` the write side of a plain socket.
//! - `duplex`: messages both ways on one connection between libprocess-rs nodes.
//! - `lane`: the priority lane; `tls`: TLS in and out.

/// `AsyncWrite` for a stream wrapper that only watches or rewrites what is *read*: every
/// write, flush and shutdown goes straight to its `inner` stream, vectored writes
/// included (hyper and the message path write with `writev`).
macro_rules! write_through {
    ($wrapper:ident) => {
        impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for $wrapper<S> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }
        }
    };
}

pub(crate) mod decoder;
pub(crate) mod duplex;
mod front;
mod guarded;
mod lane;
mod outbound;
mod placement;
mod server;
mod sink;
pub(crate) mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::error::Error;
use crate::mailbox::Home;
use crate::message::MessageName;
use crate::node::{LinkMode, Node, NodeConfig};
use crate::pid::Pid;
use crate::tls::Tls;

pub(crate) use outbound::Outbound;
pub(crate) use outbound::cork::turn as cork_turn;
pub(crate) use server::serve_connection;

/// The TCP transport of a node.
pub(crate) struct Tcp {
    /// The I/O runtime, when the node owns one (`io_threads > 0`).
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    listener: Mutex<Option<std::net::TcpListener>>,
    tls: Option<Tls>,
    outbound: Arc<Outbound>,
    stop: watch::Sender<bool>,
    /// Boxed: it holds a runtime and an outbound table of its own.
    lane: Box<lane::Lane>,
    /// The arbiter that started the node, if any (see `server::Routing`).
    home: Option<Home>,
    /// `io_threads = 0`: no I/O runtime, every connection is served on `home`.
    single_threaded: bool,
}

impl Tcp {
    /// Binds the listener and starts the I/O runtime. Returns the bound address. With
    /// `tls`, every connection in and out speaks TLS (or plain, where downgrade allows).
    pub(crate) fn bind(
        address: SocketAddr,
        config: &NodeConfig,
        tls: Option<Tls>,
    ) -> Result<(Tcp, SocketAddr), Error> {
        let listener = std::net::TcpListener::bind(address)
            .map_err(|source| Error::Bind { address, source })?;
        Tcp::serve_listener(listener, config, tls)
    }

    /// Starts the I/O runtime for a listener bound already (inherited from the parent
    /// process, or bound by a test that keeps its port). Returns its address.
    pub(crate) fn serve_listener(
        listener: std::net::TcpListener,
        config: &NodeConfig,
        tls: Option<Tls>,
    ) -> Result<(Tcp, SocketAddr), Error> {
        let bound = listener.local_addr().map_err(|source| Error::Listener { source })?;
        listener.set_nonblocking(true).map_err(|source| Error::Listener { source })?;
        let (runtime, handle) = io_runtime(config.io_threads)?;
        let home = Home::here();
        let (stop, _) = watch::channel(false);
        // Plain connections between two libprocess-rs nodes carry messages both ways.
        let replies = tls.is_none().then(|| duplex::Replies {
            home: home.clone(),
            single_threaded: config.io_threads == 0,
            io: handle.clone(),
            config: config.clone(),
            stop: stop.subscribe(),
            tokens: Default::default(),
        });
        let tcp = Tcp {
            runtime: Mutex::new(runtime),
            outbound: Arc::new(Outbound::new(handle.clone(), config, tls.clone(), true, replies)),
            handle,
            listener: Mutex::new(Some(listener)),
            lane: Box::new(lane::Lane::start(config, tls.clone())?),
            tls,
            stop,
            home,
            single_threaded: config.io_threads == 0,
        };
        Ok((tcp, bound))
    }

    /// The node's loaded TLS setting, if TLS is on.
    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Starts accepting connections for `node`, on the lane's runtime (see `lane`).
    pub(crate) fn serve(&self, node: &Node) {
        if let Some(listener) = self.listener.lock().take() {
            let weak = node.downgrade();
            let config = node.config().clone();
            let stop = self.stop.subscribe();
            let rejected = node.stats().connections_rejected.clone();
            let tls = self.tls.clone();
            let routing = server::Routing {
                io: self.handle.clone(),
                home: self.home.clone(),
                single_threaded: self.single_threaded,
                lane_ids: self.lane.ids.clone(),
            };
            self.lane.handle.spawn(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        let accepting =
                            server::Accepting { node: weak, config, stop, rejected, tls, routing };
                        server::accept_loop(listener, accepting).await
                    }
                    Err(error) => tracing::error!(%error, "cannot serve: listener unusable"),
                }
            });
        }
    }

    /// Sends an encoded message to `to`'s node over the persistent connection (the lane's
    /// own, when `from` is a lane process).
    pub(crate) fn send(&self, node: &Node, from: &Pid, to: &Pid, name: &MessageName, body: &[u8]) {
        self.send_encoded(node, from, to, crate::wire::encode_named(from, to, name, body));
    }

    /// [`Tcp::send`] for a typed message, encoded straight into its request.
    pub(crate) fn send_typed<T: prost::Message>(
        &self,
        node: &Node,
        from: &Pid,
        to: &Pid,
        name: &MessageName,
        message: &T,
    ) {
        self.send_encoded(node, from, to, crate::wire::encode_typed(from, to, name, message));
    }

    fn send_encoded(&self, node: &Node, from: &Pid, to: &Pid, bytes: bytes::Bytes) {
        let outbound =
            if self.lane.carries(from.id()) { &self.lane.outbound } else { &self.outbound };
        outbound.send(node, to.address(), bytes);
    }

    /// Gives process `id` the priority lane: its messages out, and connections whose first
    /// request is a message to it, are carried by the lane's own thread and connections.
    pub(crate) fn add_to_lane(&self, id: &str) {
        let mut ids = self.lane.ids.write();
        if !ids.iter().any(|lane| &**lane == id) {
            ids.push(id.into());
        }
    }

    /// Takes an inbound plain connection from the node at `peer`, offered with `token`, as
    /// the node's connection to it once `peer` vouches for the token (`duplex`); `None`
    /// when the node has one already or never does this.
    pub(crate) fn adopt(
        &self,
        node: &Node,
        peer: SocketAddr,
        token: u128,
        socket: std::net::TcpStream,
    ) -> Option<tokio::sync::oneshot::Sender<()>> {
        self.outbound.adopt(node, peer, token, socket)
    }

    /// The tokens of the node's offered connections (`duplex`); `None` on a node whose
    /// connections never carry messages both ways (TLS).
    pub(crate) fn duplex_tokens(&self) -> Option<Arc<duplex::Tokens>> {
        self.outbound.duplex_tokens()
    }

    /// Makes sure a connection to `peer` exists (for links).
    pub(crate) fn connect(&self, node: &Node, peer: SocketAddr, mode: LinkMode) {
        self.outbound.connect(node, peer, mode == LinkMode::Reconnect);
    }

    /// Stops listening, closes every connection and stops the I/O runtime.
    pub(crate) fn shutdown(&self) {
        let _ = self.stop.send(true);
        self.outbound.close_all();
        self.lane.shutdown();
        if let Some(runtime) = self.runtime.lock().take() {
            runtime.shutdown_background();
        }
    }
}

/// The runtime that serves the node's sockets: `io_threads` threads of its own, or with
/// `io_threads = 0` none: the runtime of the thread that starts the node (an actix
/// arbiter, so its processes and its sockets share one thread and an inbound message
/// reaches its process without waking another thread). `None` for the runtime when it is
/// not the node's to own.
fn io_runtime(
    io_threads: usize,
) -> Result<(Option<tokio::runtime::Runtime>, tokio::runtime::Handle), Error> {
    if io_threads == 0 {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Runtime(std::io::Error::other(
                "io_threads = 0 serves sockets on the starting thread's runtime: start the \
                 node inside an actix System or arbiter",
            ))
        })?;
        return Ok((None, handle));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(io_threads)
        .thread_name("libprocess-io")
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let handle = runtime.handle().clone();
    Ok((Some(runtime), handle))
}

impl Drop for Tcp {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.lock().take() {
            runtime.shutdown_background();
        }
    }
}
