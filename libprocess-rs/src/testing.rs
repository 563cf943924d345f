//! Small messages and processes for examples, tests and benchmarks.
//!
//! `Ping`/`Pong` are real protobuf messages (package `libprocess.testing`), so they travel
//! exactly like Mesos's messages: by full name, encoded on the wire.

use bytes::Bytes;

use crate::pid::Pid;
use crate::process::{Context, Process};

/// A request carrying a sequence number and an optional payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ping {
    /// Sequence number, echoed back in the [`Pong`].
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    /// Opaque payload, echoed back.
    #[prost(bytes = "bytes", tag = "2")]
    pub payload: Bytes,
}

impl prost::Name for Ping {
    const NAME: &'static str = "Ping";
    const PACKAGE: &'static str = "libprocess.testing";
    fn full_name() -> String {
        "libprocess.testing.Ping".into()
    }
}

/// The answer to a [`Ping`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Pong {
    /// The ping's sequence number.
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    /// The ping's payload.
    #[prost(bytes = "bytes", tag = "2")]
    pub payload: Bytes,
}

impl prost::Name for Pong {
    const NAME: &'static str = "Pong";
    const PACKAGE: &'static str = "libprocess.testing";
    fn full_name() -> String {
        "libprocess.testing.Pong".into()
    }
}

crate::protocol! {
    /// What an [`Echo`] process accepts.
    pub enum EchoMessage {
        /// Answered with a `Pong` to the sender.
        Ping(Ping),
    }
}

/// Answers every `Ping` with a `Pong` carrying the same sequence number and payload.
#[derive(Default)]
pub struct Echo {
    /// Pings answered so far.
    pub answered: u64,
}

impl Process for Echo {
    type Message = EchoMessage;

    fn on_message(&mut self, from: Pid, message: EchoMessage, ctx: &mut Context<'_, Self>) {
        match message {
            EchoMessage::Ping(ping) => {
                self.answered += 1;
                ctx.send(&from, Pong { seq: ping.seq, payload: ping.payload });
            }
        }
    }
}
