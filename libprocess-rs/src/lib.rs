//! libprocess-rs: the actor runtime and message bus every Mesos service runs on.
//!
//! A reimplementation of Apache Mesos's libprocess on actix. A *process* is an actor with
//! a [`Pid`] (`id@ip:port`); processes exchange protobuf messages by their full type name
//! (`mesos.internal.RegisterSlaveMessage`), locally without encoding, or across the network
//! with libprocess's own wire protocol (HTTP/1.1 `POST /<id>/<name>`), byte-compatible with
//! Apache Mesos. On top of that: links and `exited` notifications, timers on a clock that
//! tests pause and advance, per-process HTTP routes, metrics (also in Prometheus's
//! format), test hooks that wait for, drop or hold chosen messages, a ring of recent
//! messages for operators to watch, and a simulated network for whole clusters in one
//! test.
//!
//! ```no_run
//! use libprocess::{Context, Node, Pid, Process};
//! # #[derive(Clone, PartialEq, prost::Message)] pub struct Ping {}
//! # impl prost::Name for Ping { const NAME: &'static str = "Ping"; const PACKAGE: &'static str = "demo";
//! #   fn full_name() -> String { "demo.Ping".into() } }
//!
//! libprocess::protocol! {
//!     /// What the echo process accepts.
//!     pub enum EchoMessage {
//!         /// A ping, answered with a ping.
//!         Ping(Ping),
//!     }
//! }
//!
//! struct Echo;
//!
//! impl Process for Echo {
//!     type Message = EchoMessage;
//!     fn on_message(&mut self, from: Pid, message: EchoMessage, ctx: &mut Context<'_, Self>) {
//!         match message {
//!             EchoMessage::Ping(ping) => ctx.send(&from, ping),
//!         }
//!     }
//! }
//!
//! actix_rt::System::new().block_on(async {
//!     let node = Node::builder("127.0.0.1:0".parse().unwrap()).start().unwrap();
//!     let echo = node.spawn("echo", Echo).unwrap();
//!     println!("echo listening as {}", echo.pid());
//! });
//! ```
//!
//! # Layout
//! - [`pid`]: `Pid`, parsing and printing `id@ip:port`.
//! - [`message`]: envelopes, message names, bodies, the [`protocol!`] macro.
//! - [`process`]: the [`Process`] trait, its [`Context`], [`ProcessRef`] handles.
//! - `mailbox`: how a message reaches a local process: the process's own queue (not
//!   actix's channel) and the actor's side of it; the per-sender mailbox cache; what
//!   waits in a mailbox ([`QueueSizes`]).
//! - [`node`]: a libprocess instance: process table, links, sending, spawning.
//! - [`clock`]: the pausable clock and timers.
//! - [`duration`]: Mesos's duration syntax (`500ms`, `10mins`).
//! - [`logging`]: the log verbosity and its temporary toggle (`/logging/toggle`), and the
//!   binaries' logging setup.
//! - [`log_file`]: the binaries' glog-style log files (`--log_dir`), rotated and bounded.
//! - [`http`]: requests, responses, streaming, route handlers.
//! - `request_body` (re-exported by [`http`]): streamed request bodies and their bounds.
//! - `router`: how a node answers HTTP: messages, routes, built-ins.
//! - [`wire`]: the libprocess wire format.
//! - `net`: TCP listener and persistent outbound connections, TLS on both, and the
//!   priority lane ([`Node::give_priority_lane`]); inbound messages are read by their own
//!   decoder (`net/front.rs`, `net/decoder.rs`), every other request by hyper.
//! - [`inherit`]: handing a listening socket to a child process (`--listen_fd`).
//! - [`tls`]: the TLS setting (`LIBPROCESS_SSL_*`), parsed and loaded once per node;
//!   `tls::connect` for HTTP clients that talk to other nodes with it.
//! - [`sim`]: the simulated network.
//! - [`hooks`]: test hooks (`expect`, `drop_next`, `drop_all`, `hold`).
//! - [`ring`]: the message ring (recent messages for the web UI) and its endpoints.
//! - [`metrics`]: counters and gauges for `/metrics/snapshot`.
//! - [`prometheus`]: the same metrics in the Prometheus text format, at `/metrics`.
//! - [`error`]: the error type.
//! - `test_pki` (feature `test-pki`): a throwaway CA for TLS tests.
//! - [`testing`]: `Ping`/`Pong` messages and an `Echo` process for tests and benchmarks.
//! - `fuzzing` (hidden): the fuzz bodies shared by `fuzz/` and the seed-corpus test.
//! - [`Allocator`]: the global allocator every binary and bench of the workspace installs.

mod allocator;
pub mod clock;
pub mod duration;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hooks;
pub mod http;
pub mod inherit;
pub mod log_file;
pub mod logging;
mod mailbox;
pub mod message;
pub mod metrics;
mod net;
pub mod node;
pub mod pid;
pub mod process;
pub mod prometheus;
mod request_body;
pub mod ring;
mod router;
pub mod sim;
#[cfg(feature = "test-pki")]
pub mod test_pki;
pub mod testing;
pub mod tls;
pub mod wire;

pub use clock::{Clock, Time, TimerId};
pub use error::Error;
pub use hooks::{Hooks, Match, Observed};
pub use mailbox::QueueSizes;
pub use message::{
    Body, Connection, DecodeError, Envelope, Inbound, MessageName, Outbound, ProtoMessage,
    decode_body,
};
pub use metrics::{Counter, Gauge, Metrics};
pub use node::{Delivered, LinkMode, Node, NodeBuilder, NodeConfig};
pub use pid::Pid;
pub use process::{Context, Process, ProcessActor, ProcessRef, Reserved};
pub use ring::{MessageRing, RingConfig};
pub use sim::SimNetwork;
pub use tls::TlsConfig;

pub use allocator::Allocator;

/// Re-exported so users spawn on the same actix runtime.
pub use actix_rt;
/// Re-exported so [`protocol!`] works in crates that do not name prost themselves.
pub use prost;
