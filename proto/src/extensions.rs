//! Messages of mesos-rs that Apache Mesos 1.11 does not have, kept apart from the
//! `.proto` files (which match Mesos 1.11 exactly).
//!
//! Each is an ordinary protobuf message on the wire, named in package `mesos.internal`.

/// Sent by a master that is not leading to whoever tried to register with it (an agent's
/// `RegisterSlaveMessage`/`ReregisterSlaveMessage`, a scheduler's SUBSCRIBE), and by a
/// newly elected leader to the agents in its registry: "the leading master is `pid`".
/// The receiver registers with that master instead. There is no reply.
///
/// Mesos 0.x had a message of this name (field 2, `pid`) from its ZooKeeper detector;
/// with raft replacing ZooKeeper the masters themselves tell clients where the leader is.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct NewMasterDetectedMessage {
    /// The leading master's pid, `master@ip:port`.
    #[prost(string, tag = "2")]
    pub pid: String,
}

impl prost::Name for NewMasterDetectedMessage {
    const NAME: &'static str = "NewMasterDetectedMessage";
    const PACKAGE: &'static str = "mesos.internal";
    fn full_name() -> String {
        "mesos.internal.NewMasterDetectedMessage".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::{Message, Name};

    /// The message has Mesos 0.x's wire shape and its full name.
    #[test]
    fn wire_shape() {
        let message = NewMasterDetectedMessage { pid: "master@127.0.0.1:5050".into() };
        let bytes = message.encode_to_vec();
        assert_eq!(bytes[0], 0x12, "field 2, length-delimited");
        assert_eq!(NewMasterDetectedMessage::decode(bytes.as_slice()).unwrap(), message);
        assert_eq!(
            NewMasterDetectedMessage::full_name(),
            "mesos.internal.NewMasterDetectedMessage"
        );
    }
}
