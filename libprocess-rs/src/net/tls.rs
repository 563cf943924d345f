//! TLS on the node's sockets: the accepting side (handshake, or downgrade to plain after
//! peeking at the first bytes) and the connecting side (TLS, or plain when downgrade
//! allows it and the handshake fails).
//!
//! Every inbound and outbound connection of a node goes through here, so one setting
//! (`crate::tls`) covers libprocess messages and HTTP alike. [`connect`] is public (as
//! `libprocess::tls::connect`) for the HTTP clients that talk to nodes (an executor on
//! the v1 executor API, a master's web UI proxy): they connect exactly as links do.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use crate::tls::{Tls, looks_like_tls};

/// What an accepted connection turned out to be.
pub(crate) enum Accepted {
    /// TLS is off, or on with downgrade and the client spoke plain first.
    Plain(TcpStream),
    /// The TLS handshake completed.
    Tls(Box<server::TlsStream<TcpStream>>),
}

/// Finishes accepting `stream`: the handshake (within `deadline`, so a client that
/// connects and stays silent or trickles its hello cannot hold a connection slot), or, with
/// downgrade, plain when the first bytes are not a ClientHello.
pub(crate) async fn accept(
    stream: TcpStream,
    tls: Option<&Tls>,
    deadline: Duration,
) -> io::Result<Accepted> {
    let Some(tls) = tls else { return Ok(Accepted::Plain(stream)) };
    let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out");
    if tls.support_downgrade {
        let mut first = [0u8; 6];
        let peeked = tokio::time::timeout(deadline, stream.peek(&mut first))
            .await
            .map_err(|_| timed_out())??;
        if !looks_like_tls(&first[..peeked]) {
            return Ok(Accepted::Plain(stream));
        }
    }
    Ok(Accepted::Tls(Box::new(handshake(stream, tls, deadline).await?)))
}

/// The server side of the TLS handshake on any stream, within `deadline` (also what the
/// TLS fuzz target drives, over an in-memory stream).
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    tls: &Tls,
    deadline: Duration,
) -> io::Result<server::TlsStream<S>> {
    let acceptor = TlsAcceptor::from(tls.server.clone());
    tokio::time::timeout(deadline, acceptor.accept(stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
}

/// An established outbound connection: a byte stream either way.
pub enum ClientStream {
    /// TLS is off, or the TLS handshake failed and downgrade allowed plain.
    Plain(TcpStream),
    /// TLS, with the peer verified as the setting asks.
    Tls(Box<client::TlsStream<TcpStream>>),
}

/// Opens a connection to `peer` within `timeout`, speaking TLS when `tls` is given (a
/// node's setting, [`crate::Node::tls`]): the handshake presents the node's certificate,
/// verifies the peer against its IP address (pids carry addresses, not host names) when
/// the setting verifies servers, and falls back to plain only with downgrade.
pub async fn connect(
    peer: SocketAddr,
    tls: Option<&Tls>,
    timeout: Duration,
) -> io::Result<ClientStream> {
    let tcp = tcp_connect(peer, timeout).await?;
    let Some(tls) = tls else { return Ok(ClientStream::Plain(tcp)) };
    let connector = TlsConnector::from(tls.client.clone());
    let name = ServerName::IpAddress(peer.ip().into());
    let handshake = tokio::time::timeout(timeout, connector.connect(name, tcp)).await;
    match handshake {
        Ok(Ok(stream)) => Ok(ClientStream::Tls(Box::new(stream))),
        // Mesos: process.cpp SocketManager::link_connect (with support_downgrade, a
        // failed TLS connect is retried on a plain socket).
        Ok(Err(error)) if tls.support_downgrade => {
            tracing::info!(%peer, %error, "TLS connect failed: downgrading to plain");
            Ok(ClientStream::Plain(tcp_connect(peer, timeout).await?))
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")),
    }
}

async fn tcp_connect(peer: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(peer))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

// Both variants are `Unpin` (a `TcpStream`, a box), so each poll pins the inner stream
// in place.
impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            ClientStream::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            ClientStream::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            ClientStream::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            ClientStream::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
