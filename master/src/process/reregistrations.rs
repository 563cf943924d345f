//! Re-registrations recognised before they are decoded, so that a copy an agent sent
//! again is neither decoded nor re-admitted.
//!
//! During a failover every agent re-registers with the new leader, and re-sends its
//! `ReregisterSlaveMessage` after 1 s, 2 s, 4 s, ... while the first copy still waits in
//! the leader's queue (Mesos: slave.cpp `Slave::doReliableRegistration`). At 40,000
//! agents the leader handled five copies per agent, each decoded in full (3.3 KB with
//! ten tasks) and taken through the known-agent path. Here the master's inbound enum
//! keeps a re-registration from the network as its bytes ([`MasterInbound`]); the actor
//! remembers, per pid, a digest of the last one it took through the full path
//! ([`Reregistrations`]) and forgets it as soon as anything happens between the master
//! and that pid (a message from it, a message to it other than a ping or the
//! re-registration's own replies, a broken link, a change of leadership). A copy with
//! the same digest from the same pid is then answered from the agent's record
//! (`MasterCore::answer_repeated_reregistration`, which also checks that the agent is
//! still active at that pid); anything else, a changed message or a new pid, is
//! decoded and goes the full path (Mesos: master.cpp `Master::reregisterSlave`).

use std::any::Any;
use std::collections::HashMap;
use std::hash::Hasher;

use bytes::Bytes;
use libprocess::{Body, Context, DecodeError, Inbound, MessageName, Pid};
use mesos_proto::mesos::internal;

use super::decoding::Held;
use super::{MasterMessage, MasterProcess};
use crate::core::Outgoing;

/// What the master's actor receives: a re-registration from the network still in its
/// wire form, or any other message decoded.
// As large as `MasterMessage`, which the actor received before: boxing `Decoded` would
// add an allocation to every message for the sake of the small variant.
#[allow(clippy::large_enum_variant)]
pub enum MasterInbound {
    /// A `ReregisterSlaveMessage` as received (decoded only if it is not a copy).
    EncodedReregistration(Bytes),
    /// Every other message, and re-registrations sent locally (already typed).
    Decoded(MasterMessage),
}

impl Inbound for MasterInbound {
    fn decode(name: &MessageName, body: Body) -> Result<Self, DecodeError> {
        match body {
            Body::Encoded(bytes) if name.is::<internal::ReregisterSlaveMessage>() => {
                Ok(MasterInbound::EncodedReregistration(bytes))
            }
            body => MasterMessage::decode(name, body).map(MasterInbound::Decoded),
        }
    }

    fn from_local(value: &mut dyn Any) -> Option<Self> {
        MasterMessage::from_local(value).map(MasterInbound::Decoded)
    }

    fn names() -> Vec<String> {
        MasterMessage::names()
    }
}

/// The length and a 64-bit foldhash of a message's bytes. A copy of the same message has
/// the same digest; two different messages of one agent have the same one with a
/// chance of about 2^-64 (and only a pid that passed the sender checks can make its own
/// messages collide, which misleads no one but itself). foldhash, not SipHash: every
/// re-registration and every copy of one is hashed whole (3.3 KB for the FAIL-1 load,
/// 160,000 of them in a 40k-agent failover), and SipHash costs about a cycle per byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest {
    len: usize,
    hash: u64,
}

impl Digest {
    /// The digest of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Digest {
        use std::hash::BuildHasher;
        let mut hasher = foldhash::fast::FixedState::with_seed(0).build_hasher();
        hasher.write(bytes);
        Digest { len: bytes.len(), hash: hasher.finish() }
    }
}

/// Per agent pid, the digest of the last re-registration taken through the full path,
/// while nothing else has happened between the master and that pid.
#[derive(Debug, Default)]
pub(crate) struct Reregistrations {
    last: HashMap<Pid, Digest>,
}

impl Reregistrations {
    /// Whether `digest` from `from` is a copy of the last re-registration taken from it.
    pub(crate) fn is_copy(&self, from: &Pid, digest: Digest) -> bool {
        self.last.get(from) == Some(&digest)
    }

    /// The re-registration `digest` from `from` went the full path and left an active
    /// agent at `from`. At `limit` entries, the pids `known` no longer holds are dropped
    /// first (entries are otherwise removed by [`Reregistrations::forget`]), so the map
    /// stays within about `limit` (the caller passes a multiple of its agents).
    pub(crate) fn taken(
        &mut self,
        from: Pid,
        digest: Digest,
        limit: usize,
        known: impl Fn(&Pid) -> bool,
    ) {
        if self.last.len() >= limit {
            self.last.retain(|pid, _| known(pid));
        }
        self.last.insert(from, digest);
    }

    /// Something happened between the master and `pid`: its next re-registration goes
    /// the full path.
    pub(crate) fn forget(&mut self, pid: &Pid) {
        if !self.last.is_empty() {
            self.last.remove(pid);
        }
    }

    /// The master sends `message` to `to`. Pings and the replies to a re-registration
    /// (which the fast path sends again, built from the current state) change nothing a
    /// re-registration would act on; anything else (a launch, a kill, an operation, a
    /// shutdown, a drain) may, so the next copy goes the full path.
    pub(crate) fn on_send(&mut self, to: &Pid, message: &Outgoing) {
        let replies = matches!(
            message,
            Outgoing::PingSlave(_)
                | Outgoing::SlaveReregistered(_)
                | Outgoing::UpdateFramework(_)
                | Outgoing::CheckpointResources(_)
        );
        if !replies {
            self.forget(to);
        }
    }

    /// Leadership changed: the core was rebuilt, nothing remembered holds.
    pub(crate) fn clear(&mut self) {
        self.last = HashMap::new();
    }

    /// How many pids are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.last.len()
    }
}

impl MasterProcess {
    /// A `ReregisterSlaveMessage` from the network, before decoding: the same checks as
    /// every message; then, while an earlier one from the same pid is still being
    /// decoded, the same bytes are dropped (Mesos: master.cpp `Master::reregisterSlave`
    /// ignores an agent whose re-registration is in progress) and other bytes wait
    /// behind it; otherwise [`MasterProcess::take_reregistration`].
    pub(super) fn on_encoded_reregistration(
        &mut self,
        from: Pid,
        bytes: Bytes,
        ctx: &mut Context<'_, Self>,
    ) {
        ctx.node().metrics().counter("master/messages_reregister_slave").inc();
        let name = MessageName::of::<internal::ReregisterSlaveMessage>;
        let Some(principal) = self.screen(&from, name, false, ctx) else { return };
        if !self.admit_agent(&from, ctx) {
            return;
        }
        let digest = Digest::of(&bytes);
        if self.decoding.in_flight(&from) == Some(digest) {
            ctx.node().metrics().counter("master/slave_reregistrations_repeated").inc();
            return;
        }
        if self.decoding.in_flight(&from).is_some() {
            let held = Held::Reregistration { bytes, digest, principal };
            return self.hold(&from, held, ctx);
        }
        self.take_reregistration(from, bytes, digest, principal, ctx);
    }

    /// A re-registration that passed the checks: a copy of the last one taken from
    /// `from` is answered from the agent's record; anything else is decoded (off this
    /// thread while the mailbox is backed up, `decoding`) and goes the full path.
    pub(super) fn take_reregistration(
        &mut self,
        from: Pid,
        bytes: Bytes,
        digest: Digest,
        principal: Option<String>,
        ctx: &mut Context<'_, Self>,
    ) {
        let now = ctx.now();
        if self.reregistrations.is_copy(&from, digest) {
            let repeated = ctx.node().metrics().counter("master/slave_reregistrations_repeated");
            // Still being admitted through the registry: the answer is on its way
            // (Mesos: master.cpp `Master::reregisterSlave` ignores an agent whose
            // re-registration is in progress).
            if self.core.pending_pids.contains(&from) {
                repeated.inc();
                return;
            }
            if self.core.answer_repeated_reregistration(&from, now) {
                repeated.inc();
                self.flush(ctx);
                self.count_processed(principal.as_deref(), ctx);
                return;
            }
        }
        self.reregistrations.forget(&from);
        let bytes = match self.decode_elsewhere(&from, bytes, digest, &principal, ctx) {
            Ok(()) => return,
            Err(bytes) => bytes,
        };
        // The hand-written decoder: prost's result at two thirds of its cost
        // (mesos_proto::decode).
        let message = mesos_proto::decode::reregister_slave_message(&bytes);
        self.on_reregistration_decoded(from, message, digest, principal, ctx);
    }

    /// The full path for a decoded re-registration (Mesos: master.cpp
    /// `Master::reregisterSlave`), then `from`'s digest remembered if it left an active
    /// agent there.
    pub(super) fn on_reregistration_decoded(
        &mut self,
        from: Pid,
        message: Result<internal::ReregisterSlaveMessage, prost::DecodeError>,
        digest: Digest,
        principal: Option<String>,
        ctx: &mut Context<'_, Self>,
    ) {
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                ctx.node().metrics().counter("libprocess/messages_malformed").inc();
                tracing::warn!(%from, %error, "dropping a malformed ReregisterSlaveMessage");
                return;
            }
        };
        let now = ctx.now();
        let result = self.core.on_reregister_agent(&from, message, now);
        let taken = match result {
            Ok(()) => true,
            Err(error) => {
                ctx.node().metrics().counter("master/invalid_messages").inc();
                tracing::warn!(%from, %error, "refused message");
                false
            }
        };
        self.flush(ctx);
        // Only a re-registration that left an active agent at `from`, or one now
        // waiting for the registry (whose copies are dropped meanwhile), may be answered
        // again from the record; a refused one, or one from a DOWN machine's agent, is
        // not remembered.
        if taken && (self.core.agent_active_at(&from) || self.core.pending_pids.contains(&from)) {
            let limit = 2 * self.core.agents.len() + 1024;
            let core = &self.core;
            self.reregistrations.taken(from, digest, limit, |pid| core.knows_pid(pid));
        }
        self.count_processed(principal.as_deref(), ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos;
    use prost::Message as _;

    fn pid(n: u32) -> Pid {
        format!("slave({n})@10.0.1.1:5051").parse().unwrap()
    }

    fn message(tasks: usize) -> Bytes {
        let message = internal::ReregisterSlaveMessage {
            slave: mesos::SlaveInfo { hostname: "a1".into(), ..Default::default() },
            tasks: (0..tasks)
                .map(|i| mesos::Task { name: format!("t{i}"), ..Default::default() })
                .collect(),
            ..Default::default()
        };
        Bytes::from(message.encode_to_vec())
    }

    /// A copy from the same pid is recognised; a changed message or another pid is not.
    #[test]
    fn a_copy_is_recognised_and_a_change_or_new_pid_is_not() {
        let mut seen = Reregistrations::default();
        let first = Digest::of(&message(2));
        assert!(!seen.is_copy(&pid(1), first));
        seen.taken(pid(1), first, 10, |_| true);
        assert!(seen.is_copy(&pid(1), Digest::of(&message(2))));
        assert!(!seen.is_copy(&pid(1), Digest::of(&message(3))));
        assert!(!seen.is_copy(&pid(2), first));
    }

    /// Anything sent to the agent other than a ping or a re-registration's replies, or a
    /// message from it, or a change of leadership, makes the next copy go the full path.
    #[test]
    fn a_change_between_master_and_agent_forgets_the_copy() {
        let mut seen = Reregistrations::default();
        let digest = Digest::of(&message(2));
        seen.taken(pid(1), digest, 10, |_| true);
        seen.on_send(&pid(1), &Outgoing::PingSlave(Default::default()));
        seen.on_send(&pid(1), &Outgoing::SlaveReregistered(Default::default()));
        seen.on_send(&pid(2), &Outgoing::RunTask(Default::default()));
        assert!(seen.is_copy(&pid(1), digest));
        seen.on_send(&pid(1), &Outgoing::RunTask(Default::default()));
        assert!(!seen.is_copy(&pid(1), digest));
        seen.taken(pid(1), digest, 10, |_| true);
        seen.forget(&pid(1));
        assert!(!seen.is_copy(&pid(1), digest));
        seen.taken(pid(1), digest, 10, |_| true);
        seen.clear();
        assert!(!seen.is_copy(&pid(1), digest));
    }

    /// At its limit the map first drops the pids the master no longer knows.
    #[test]
    fn the_map_is_bounded_by_the_known_pids() {
        let mut seen = Reregistrations::default();
        let digest = Digest::of(&message(1));
        for n in 0..4 {
            seen.taken(pid(n), digest, 4, |_| true);
        }
        seen.taken(pid(9), digest, 4, |p| *p == pid(0));
        assert_eq!(seen.len(), 2);
        assert!(seen.is_copy(&pid(0), digest) && seen.is_copy(&pid(9), digest));
    }
}
