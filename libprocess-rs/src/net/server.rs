//! The inbound side: accept connections within bounds and serve each: libprocess
//! messages on their own path (`front`), everything else with hyper.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::decoder;
use super::duplex::Replies;
use super::front::{self, Duplex};
use super::guarded::{ConnState, GuardedIo};
use super::lane::{LaneIds, is_lane_connection};
use super::placement::{Go, Placement};
use super::tls::{self, Accepted};
use crate::http::{self as lhttp, ClientAddr, Response, StreamedBody};
use crate::mailbox::Home;
use crate::message::Connection;
use crate::metrics::Counter;
use crate::node::{Node, NodeConfig, NodeInner};
use crate::request_body;
use crate::tls::Tls;

/// Connection counts, global and per client IP.
struct Admission {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Releases a connection's admission when the connection ends.
struct Admitted {
    admission: Arc<Mutex<Admission>>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut admission = self.admission.lock();
        admission.total -= 1;
        if let Some(n) = admission.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                admission.per_ip.remove(&self.ip);
            }
        }
    }
}

fn admit(admission: &Arc<Mutex<Admission>>, ip: IpAddr, config: &NodeConfig) -> Option<Admitted> {
    let mut guard = admission.lock();
    let from_ip = guard.per_ip.get(&ip).copied().unwrap_or(0);
    if guard.total >= config.max_connections || from_ip >= config.max_connections_per_ip {
        return None;
    }
    guard.total += 1;
    *guard.per_ip.entry(ip).or_insert(0) += 1;
    Some(Admitted { admission: admission.clone(), ip })
}

/// What the accept loop serves with.
pub(super) struct Accepting {
    pub(super) node: Weak<NodeInner>,
    pub(super) config: NodeConfig,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) rejected: Counter,
    /// The node's TLS setting; `None` serves plain.
    pub(super) tls: Option<Tls>,
    /// Which runtime serves which connection.
    pub(super) routing: Routing,
}

/// Where accepted connections are served: the accept loop runs on the lane's runtime and
/// keeps the lane's connections there; every other goes to the I/O runtime.
pub(super) struct Routing {
    /// The node's I/O runtime.
    pub(super) io: tokio::runtime::Handle,
    /// The arbiter that started the node, where its processes usually run. A plain
    /// message connection to a process there moves there from `io` (`placement`).
    pub(super) home: Option<Home>,
    /// `io_threads = 0` (`io` is `home`'s runtime): every connection is spawned into
    /// `home`'s task set from the start, where its processes run, and not as a task of
    /// the runtime under it. A message read there wakes its process within the task set
    /// being polled (a push to its queue); from a task of the runtime it woke the whole
    /// task set, which made the scheduler poll the sockets once more (a non-blocking
    /// `epoll_wait`) before the process ran.
    pub(super) single_threaded: bool,
    /// The processes of the lane.
    pub(super) lane_ids: LaneIds,
}

pub(super) async fn accept_loop(listener: TcpListener, accepting: Accepting) {
    let Accepting { node, config, mut stop, rejected, tls, routing } = accepting;
    let admission = Arc::new(Mutex::new(Admission { total: 0, per_ip: HashMap::new() }));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, client) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Typically EMFILE: back off briefly rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(admitted) = admit(&admission, client.ip(), &config) else {
            rejected.inc();
            tracing::warn!(%client, "connection limit reached: closing new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut serving = Serving {
            node: node.clone(),
            config: config.clone(),
            stop: stop.clone(),
            tls: tls.clone(),
            _admitted: Some(admitted),
            io: routing.io.clone(),
            home: None,
            offers: false,
            _adopted: None,
        };
        let (io, home, lane_ids) =
            (routing.io.clone(), routing.home.clone(), routing.lane_ids.clone());
        let single_threaded = routing.single_threaded;
        tokio::spawn(async move {
            let deadline = serving.config.header_read_timeout;
            // TLS hides the request line: such connections all go to the I/O runtime.
            if serving.tls.is_none() && is_lane_connection(&stream, &lane_ids, deadline).await {
                return serving.serve(stream, client).await;
            }
            // A plain connection's first message may offer it for messages back (`duplex`).
            serving.offers = true;
            // On the I/O runtime, a plain message connection may move to its process's
            // arbiter (`placement`); a single-threaded node's is there already.
            if !single_threaded {
                serving.home = home.clone();
            }
            // Handed over untouched (nothing was read, only peeked).
            let stream = match stream.into_std() {
                Ok(stream) => stream,
                Err(error) => {
                    return tracing::debug!(%client, %error, "cannot hand the connection over");
                }
            };
            let served = async move {
                match tokio::net::TcpStream::from_std(stream) {
                    Ok(stream) => serving.serve(stream, client).await,
                    Err(error) => tracing::debug!(%client, %error, "cannot serve"),
                }
            };
            match home.filter(|_| single_threaded) {
                // `false`: the arbiter has stopped, and the connection is dropped with it.
                Some(home) => {
                    if !home.arbiter.spawn(served) {
                        tracing::debug!(%client, "arbiter stopped: connection not served");
                    }
                }
                None => drop(io.spawn(served)),
            }
        });
    }
}

/// What one accepted connection is served with, on whichever runtime it lands.
struct Serving {
    node: Weak<NodeInner>,
    config: NodeConfig,
    stop: watch::Receiver<bool>,
    tls: Option<Tls>,
    /// Held, never read: released when the connection ends (`None`: the reading side
    /// of an outbound connection, `serve_replies`).
    _admitted: Option<Admitted>,
    /// The I/O runtime, and the node's arbiter, where a plain connection may move
    /// (`placement`); `None` on a single-threaded node (served there already), on the
    /// lane, or for a node started outside an arbiter.
    io: tokio::runtime::Handle,
    home: Option<Home>,
    /// A plain connection's first message may offer it for messages back (`duplex`):
    /// not on the lane.
    offers: bool,
    /// Held while this node writes its messages to the peer on this connection
    /// (`duplex`): dropped when the connection's reading ends, which ends the writing.
    _adopted: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Serving {
    async fn serve(self, stream: tokio::net::TcpStream, client: SocketAddr) {
        // The handshake shares the head's deadline: a silent client cannot hold its
        // admission longer than a slow plain one.
        match tls::accept(stream, self.tls.as_ref(), self.config.header_read_timeout).await {
            Ok(Accepted::Plain(stream)) => {
                let placement = match &self.home {
                    Some(home) => Placement::on_io(Some(home.clone())),
                    None => Placement::fixed(),
                };
                let mut conn = front::MessageConn::new(Connection::open(client), placement);
                if self.offers {
                    conn.duplex = Duplex::Open;
                }
                serve_plain(stream, client, conn, self).await
            }
            Ok(Accepted::Tls(stream)) => {
                serve_connection(stream, client, self.node, self.config, self.stop).await
            }
            Err(error) => tracing::debug!(%client, %error, "TLS accept failed"),
        }
    }
}

/// Serves a plain connection that may move between the I/O runtime and its process's
/// arbiter (`placement`): messages until the connection closes, moves, or turns to hyper.
/// Boxed: it spawns itself on the thread it moves to.
fn serve_plain(
    mut stream: tokio::net::TcpStream,
    client: SocketAddr,
    mut conn: front::MessageConn,
    mut serving: Serving,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let ended = tokio::select! {
            ended = conn.serve(&mut stream, &serving.node, &serving.config) => ended,
            _ = serving.stop.changed() => return,
        };
        let go = match ended {
            front::Ended::Closed => return,
            front::Ended::Move(go) => go,
            front::Ended::Offered(peer, token) => {
                if let Some(adopted) = adopt(&stream, client, peer, token, &serving) {
                    conn.duplex = Duplex::On;
                    serving._adopted = Some(adopted);
                }
                return serve_plain(stream, client, conn, serving).await;
            }
            // hyper serves from the I/O runtime, not a process's thread.
            front::Ended::Http(unserved) if conn.placement.on_arbiter() => {
                return move_to(Go::Io, stream, client, conn, serving, Some(unserved));
            }
            front::Ended::Http(unserved) => {
                return to_hyper(stream, client, unserved, conn.via(), serving).await;
            }
        };
        move_to(go, stream, client, conn, serving, None)
    })
}

/// Offers the node the inbound plain connection `stream` from `client`, whose first
/// message came from a process of the node at `peer` with `token`, to carry its messages
/// to `peer` once `peer` vouches for the token (`duplex`). Only a peer on the
/// connection's own IP.
fn adopt(
    stream: &tokio::net::TcpStream,
    client: SocketAddr,
    peer: SocketAddr,
    token: u128,
    serving: &Serving,
) -> Option<tokio::sync::oneshot::Sender<()>> {
    if peer.ip() != client.ip() || peer.port() == 0 {
        return None;
    }
    let node = serving.node.upgrade().map(Node::from_inner)?;
    let socket = std::os::fd::AsFd::as_fd(stream).try_clone_to_owned().ok()?;
    node.adopt_connection(peer, token, socket.into())
}

/// Serves the reading side of an outbound plain connection to `peer` that the peer
/// adopted (`duplex`): the peer's messages, as on an accepted connection (placement
/// included), but never answered. `alive` is dropped when it ends.
pub(super) async fn serve_replies(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    node: Weak<NodeInner>,
    replies: &Replies,
    alive: tokio::sync::oneshot::Sender<()>,
) {
    let home = replies.home.clone().filter(|_| !replies.single_threaded);
    let placement = match &home {
        Some(home) => Placement::on_io(Some(home.clone())),
        None => Placement::fixed(),
    };
    let mut conn = front::MessageConn::new(Connection::open(peer), placement);
    conn.duplex = Duplex::On;
    let serving = Serving {
        node,
        config: replies.config.clone(),
        stop: replies.stop.clone(),
        tls: None,
        _admitted: None,
        io: replies.io.clone(),
        home,
        offers: false,
        _adopted: Some(alive),
    };
    serve_plain(stream, peer, conn, serving).await
}

/// Moves a connection (and its state) to the thread `go` names and serves it there; with
/// `unserved`, hyper serves it there from those bytes on. A connection that cannot move
/// (the arbiter stopped) closes, as it would with its node's thread gone.
fn move_to(
    go: Go,
    stream: tokio::net::TcpStream,
    client: SocketAddr,
    mut conn: front::MessageConn,
    serving: Serving,
    unserved: Option<Bytes>,
) {
    // Off this runtime's poller; the next one registers it (and sees what is readable).
    let stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(error) => return tracing::debug!(%client, %error, "cannot move the connection"),
    };
    let arbiter = match &go {
        Go::Home(arbiter) => Some(arbiter.clone()),
        Go::Io => None,
    };
    let io = serving.io.clone();
    let served = async move {
        conn.placement.moved(&go);
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(error) => return tracing::debug!(%client, %error, "cannot serve"),
        };
        match unserved {
            None => serve_plain(stream, client, conn, serving).await,
            Some(unserved) => to_hyper(stream, client, unserved, conn.via(), serving).await,
        }
    };
    match arbiter {
        Some(arbiter) => {
            if !arbiter.spawn(served) {
                tracing::debug!(%client, "arbiter stopped: connection closed");
            }
        }
        None => drop(io.spawn(served)),
    }
}

/// Serves a connection with hyper from the request that starts `unserved` on.
async fn to_hyper(
    stream: tokio::net::TcpStream,
    client: SocketAddr,
    unserved: Bytes,
    via: Connection,
    serving: Serving,
) {
    let stream = front::Prefixed::new(unserved, stream);
    let Serving { node, config, mut stop, .. } = serving;
    tokio::select! {
        () = serve_http(stream, client, via, node, config) => {}
        _ = stop.changed() => {}
    }
}

/// Serves one connection until it closes or the node stops: libprocess messages on the
/// message path (`front`), and from the first request that is not one, HTTP/1.1 by hyper.
pub(crate) async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut stream: S,
    client: SocketAddr,
    node: Weak<NodeInner>,
    config: NodeConfig,
    mut stop: watch::Receiver<bool>,
) {
    // Every message read from this connection carries its identity (see `Connection`).
    let connection = Connection::open(client);
    let served = async move {
        if let Some(unserved) = front::serve_messages(&mut stream, &node, &config, connection).await
        {
            let stream = front::Prefixed::new(unserved, stream);
            serve_http(stream, client, connection, node, config).await;
        }
    };
    tokio::select! {
        () = served => {}
        _ = stop.changed() => {}
    }
}

/// Serves HTTP/1.1 with hyper on a connection (whose first bytes may have been read by
/// the message path already: `Prefixed` gives them back).
async fn serve_http<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    client: SocketAddr,
    connection: Connection,
    node: Weak<NodeInner>,
    config: NodeConfig,
) {
    let state = Arc::new(ConnState::default());
    let io = TokioIo::new(GuardedIo::new(stream, state.clone(), config.header_read_timeout));
    // hyper's read buffer bounds the head it parses; heads between the configured bound and
    // twice it are parsed and answered `431` below, larger ones make hyper close the
    // connection.
    let max_buf_size = (2 * config.max_header_bytes).max(8192);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let node = node.clone();
        let state = state.clone();
        let config = config.clone();
        async move {
            state.begin();
            let response = serve_request(request, connection, node, &config).await;
            state.end();
            Ok::<Response, Infallible>(response)
        }
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        // hyper's own header timeout (30 s by default once a timer is set) also runs while
        // a keep-alive connection waits for its next request: it cut every libprocess
        // connection that stayed quiet for 30 s (a scheduler and its master, an executor
        // and its agent: `exited` on both sides). GuardedIo enforces the head deadline.
        .header_read_timeout(None)
        .max_buf_size(max_buf_size)
        .max_headers(decoder::MAX_HEADERS)
        // No pipeline_flush: hyper then holds answers while unread bytes sit in its read
        // buffer, and a request whose body fails to decode (an invalid chunk size) leaves
        // such bytes forever, so its `400` was never sent; it also lifts hyper's cap on
        // the write buffer (a slow reader of a large answer would hold all of it).
        .pipeline_flush(false)
        .keep_alive(true)
        // A client that shuts down its write side after its requests still gets the
        // answers (and the fuzz harness relies on it to end a connection).
        .half_close(true)
        .serve_connection(io, service);
    if let Err(error) = served.await {
        tracing::debug!(%client, %error, "connection ended");
    }
}

async fn serve_request(
    request: hyper::Request<Incoming>,
    connection: Connection,
    node: Weak<NodeInner>,
    config: &NodeConfig,
) -> Response {
    let Some(node) = node.upgrade().map(Node::from_inner) else {
        return lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "node is shutting down");
    };
    if request.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum::<usize>()
        > config.max_header_bytes
    {
        node.stats().bad_requests.inc();
        return lhttp::text(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers too large",
        );
    }
    let (parts, body) = request.into_parts();
    if let Some(spec) = node.streamed_body(&parts) {
        return serve_streamed(parts, body, &spec, connection, &node).await;
    }
    // A declared length over the bound is refused before any of the body is read: waiting
    // for a body that will be refused anyway would hold the connection until the body
    // timeout.
    if http_body::Body::size_hint(&body).lower() > config.max_body_bytes as u64 {
        node.stats().bad_requests.inc();
        return too_large(config);
    }
    let limited = Limited::new(body, config.max_body_bytes);
    let body: Bytes = match tokio::time::timeout(config.body_read_timeout, limited.collect()).await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) => {
            node.stats().bad_requests.inc();
            return if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                too_large(config)
            } else {
                lhttp::text(StatusCode::BAD_REQUEST, format!("cannot read request body: {error}"))
            };
        }
        Err(_) => {
            node.stats().bad_requests.inc();
            return lhttp::text(StatusCode::REQUEST_TIMEOUT, "request body not received in time");
        }
    };
    let mut request = http::Request::from_parts(parts, body);
    request.extensions_mut().insert(ClientAddr(connection.peer));
    request.extensions_mut().insert(connection);
    node.handle_http(request).await
}

/// A request for a route that streams its body: the route gets it as it arrives, within
/// the route's bounds (`request_body`), instead of the node's whole-body ones.
async fn serve_streamed(
    parts: http::request::Parts,
    body: Incoming,
    spec: &StreamedBody,
    connection: Connection,
    node: &Node,
) -> Response {
    // As for whole bodies: a declared length over the bound is refused at once.
    if let Some(limit) = spec.max_bytes
        && http_body::Body::size_hint(&body).lower() > limit
    {
        node.stats().bad_requests.inc();
        return lhttp::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {limit} bytes"),
        );
    }
    let mut request = http::Request::from_parts(parts, request_body::pump(body, spec));
    request.extensions_mut().insert(ClientAddr(connection.peer));
    request.extensions_mut().insert(connection);
    node.handle_http_streamed(request).await
}

fn too_large(config: &NodeConfig) -> Response {
    lhttp::text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body exceeds {} bytes", config.max_body_bytes),
    )
}
