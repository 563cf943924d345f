//! The runtime's error type.

use std::net::SocketAddr;

use crate::pid::Pid;

/// What can go wrong when using the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A process with this id already runs on the node.
    #[error("a process with id '{id}' already exists on this node")]
    DuplicateProcessId {
        /// The id asked for.
        id: String,
    },
    /// The node could not listen on its address.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The listening socket handed to the node is unusable.
    #[error("cannot listen on the given socket: {source}")]
    Listener {
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The node's TLS setting (`LIBPROCESS_SSL_*`) cannot be used. (Not a `source`: the
    /// message already holds it, and error chains would print it twice.)
    #[error("TLS: {0}")]
    Tls(crate::tls::TlsError),
    /// The I/O runtime could not start.
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
    /// The process has terminated (or never existed).
    #[error("process {pid} is not running")]
    ProcessGone {
        /// The process.
        pid: Pid,
    },
    /// The process's mailbox is at its bound; the event was not queued.
    #[error("mailbox of {pid} is full")]
    MailboxFull {
        /// The process.
        pid: Pid,
    },
}

impl From<crate::tls::TlsError> for Error {
    fn from(error: crate::tls::TlsError) -> Error {
        Error::Tls(error)
    }
}
