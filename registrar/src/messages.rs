//! The messages registrars exchange, and the registrar's inbound enum.
//!
//! Every message travels as an ordinary libprocess message between the registrar
//! processes of the masters (`registrar@<master ip:port>`); each is a prost message named
//! `mesos.internal.<Name>`. Only [`RaftMessage`] carries raft-rs's own (protobuf-2)
//! encoding; the others make a blank member a member (see [`process`](crate::process),
//! "Starting with a blank log").

/// The libprocess id of the registrar process on every master.
pub const REGISTRAR_ID: &str = "registrar";

/// One raft message between registrars.
///
/// Sent by a master's registrar to a peer's registrar (`registrar@ip:port`), whenever
/// raft-rs produces a message; no reply at this level (raft's own responses travel the
/// same way). Lost or refused messages are recovered by raft's retries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RaftMessage {
    /// The `raft::eraftpb::Message`, protobuf-2 encoded.
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    /// The sender's raft id.
    #[prost(uint64, tag = "2")]
    pub from: u64,
    /// The receiver's raft id.
    #[prost(uint64, tag = "3")]
    pub to: u64,
}

impl prost::Name for RaftMessage {
    const NAME: &'static str = "RaftMessage";
    const PACKAGE: &'static str = "mesos.internal";
    fn full_name() -> String {
        "mesos.internal.RaftMessage".into()
    }
}

macro_rules! registrar_message {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident: $ty:ty = $tag:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, prost::Message)]
        pub struct $name {
            $($(#[$field_doc])* #[prost(uint64, tag = $tag)] pub $field: $ty,)*
        }

        impl prost::Name for $name {
            const NAME: &'static str = stringify!($name);
            const PACKAGE: &'static str = "mesos.internal";
            fn full_name() -> String {
                concat!("mesos.internal.", stringify!($name)).into()
            }
        }
    };
}

registrar_message! {
    /// Sent by a registrar whose log is blank to every peer registrar, every tick until
    /// each has answered with [`RegistrarProbed`].
    ProbeRegistrar {}
}

registrar_message! {
    /// The answer to [`ProbeRegistrar`].
    RegistrarProbed {
        /// 1 if this member never stored an entry nor took part in an election (a new
        /// group), else 0.
        fresh: u64 = "1",
    }
}

registrar_message! {
    /// Sent by a registrar whose log is blank, in a group that has a log, to every peer
    /// every tick: replace my old incarnation. The slot is the sender's address.
    JoinGroup {
        /// Random, drawn once per blank start: names this incarnation.
        nonce: u64 = "1",
    }
}

registrar_message! {
    /// The leader's answer to [`JoinGroup`] once the replacement is applied.
    GroupJoined {
        /// The nonce of the request.
        nonce: u64 = "1",
        /// The joiner's new raft id.
        member: u64 = "2",
    }
}

libprocess::protocol! {
    /// What the registrar accepts.
    pub enum RegistrarMessage {
        /// A raft message from a peer registrar.
        Raft(RaftMessage),
        /// A blank member asks whether we have a log.
        Probe(ProbeRegistrar),
        /// A peer's answer to our probe.
        Probed(RegistrarProbed),
        /// A member that lost its disk asks to rejoin.
        Join(JoinGroup),
        /// The leader gave us our new raft id.
        Joined(GroupJoined),
    }
}
