//! The write side of an outbound plain connection, as its writers use it: a vectored
//! write that never waits (from a sender's thread, or the writer task), and a wait for
//! room in the socket.

use std::io::{self, IoSlice, Write};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::tcp::OwnedWriteHalf;

/// The write side of a plain connection.
pub(super) enum WriteSocket {
    /// The write half of a connection that carries messages one way (its answers are
    /// read and discarded by the other half); dropping it shuts the sending side down.
    Half(OwnedWriteHalf),
    /// A descriptor of a connection that carries messages both ways (`duplex`),
    /// registered for writability only. The socket's other descriptor is read on the
    /// thread its messages go to; registered for reading too, this one woke the
    /// writer's runtime (another thread) for every message that arrived. Dropping it
    /// closes this descriptor only: the reading side owns the socket's life.
    WritableOnly(AsyncFd<std::net::TcpStream>),
}

impl WriteSocket {
    /// A connected, non-blocking socket registered for writability only, with the
    /// current runtime.
    #[allow(unsafe_code)]
    pub(super) fn writable_only(socket: std::net::TcpStream) -> io::Result<WriteSocket> {
        // SAFETY: the `TcpStream` owns its descriptor, which stays open and refers to the
        // same socket until the `AsyncFd` that owns the stream is dropped.
        let registered = unsafe { AsyncFd::register_with_interest(socket, Interest::WRITABLE) };
        registered.map(WriteSocket::WritableOnly).map_err(io::Error::from)
    }

    /// Writes what the socket takes now (`WouldBlock` when nothing).
    pub(super) fn try_write_vectored(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteSocket::Half(half) => half.try_write_vectored(slices),
            WriteSocket::WritableOnly(fd) => fd.get_ref().write_vectored(slices),
        }
    }

    /// Waits until the socket has room, then writes with `write` (given the socket's
    /// vectored write): `Some(written)`, or `None` when the room was gone again (the
    /// readiness is then cleared, and the caller tries again).
    pub(super) async fn write_when_writable(
        &self,
        write: impl FnOnce(&dyn Fn(&[IoSlice<'_>]) -> io::Result<usize>) -> io::Result<usize>,
    ) -> io::Result<Option<usize>> {
        let written = match self {
            WriteSocket::Half(half) => {
                half.writable().await?;
                write(&|slices| half.try_write_vectored(slices))
            }
            WriteSocket::WritableOnly(fd) => {
                let mut ready = fd.writable().await?;
                match ready.try_io(|fd| write(&|slices| fd.get_ref().write_vectored(slices))) {
                    Ok(written) => written,
                    Err(_would_block) => return Ok(None),
                }
            }
        };
        match written {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => Ok(Some(n)),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(error) => Err(error),
        }
    }
}
