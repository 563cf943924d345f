//! Starting the libprocess node a framework binary runs its drivers on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use libprocess::Node;

use crate::error::FrameworkError;

/// Starts a TCP node on `LIBPROCESS_IP` (default 127.0.0.1) and `LIBPROCESS_PORT`
/// (default: any free port), as Mesos's libprocess reads them. The master must be able
/// to reach this address: it sends offers and updates to it.
pub fn start_node() -> Result<Node, FrameworkError> {
    let env = |name: &'static str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let ip: IpAddr = match env("LIBPROCESS_IP") {
        Some(value) => value.parse().map_err(|e: std::net::AddrParseError| {
            FrameworkError::BadEnv { name: "LIBPROCESS_IP", value, reason: e.to_string() }
        })?,
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let port: u16 = match env("LIBPROCESS_PORT") {
        Some(value) => value.parse().map_err(|e: std::num::ParseIntError| {
            FrameworkError::BadEnv { name: "LIBPROCESS_PORT", value, reason: e.to_string() }
        })?,
        None => 0,
    };
    Ok(Node::builder(SocketAddr::new(ip, port)).start()?)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialization (tests) keeps the first subscriber.
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
