//! Membership: the configuration of the raft group and its one kind of change,
//! replacing a member that lost its disk by its next incarnation (the module docs of
//! [`super`] and [`members`](crate::members) say how).

use raft::eraftpb::{
    ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, Entry, EntryType,
};

use super::{DriverRole, RaftDriver};
use crate::RegistrarError;
use crate::members::{generation_of, member_id, slot_of};

impl<W> RaftDriver<W> {
    /// Every raft id in this member's configuration (voters, outgoing voters, learners).
    pub fn members(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.configured_ids().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The raft ids of the stored configuration, unsorted, possibly repeated.
    fn configured_ids(&self) -> impl Iterator<Item = u64> + '_ {
        let cs = self.node.store().conf_state();
        cs.voters.iter().chain(&cs.voters_outgoing).chain(&cs.learners).copied()
    }

    /// True while the configuration is joint (a replacement is under way).
    fn is_joint(&self) -> bool {
        !self.node.store().conf_state().voters_outgoing.is_empty()
    }

    /// True if `id` is an earlier incarnation of a member the configuration has a later
    /// one of (it lost its disk and was replaced). Checked for every raft message.
    pub(super) fn is_superseded(&self, id: u64) -> bool {
        self.configured_ids()
            .any(|m| slot_of(m) == slot_of(id) && generation_of(m) > generation_of(id))
    }

    /// Proposes to replace the member in `slot` by its next incarnation, for a master that
    /// lost its disk and asks to rejoin with `nonce` (random, one per blank start).
    /// Returns the new incarnation's raft id once the change is applied and the joint
    /// configuration left (ask again until then: `Ok(None)`); the proposal itself is made once, and not while another
    /// membership change is under way.
    pub fn propose_replacement(
        &mut self,
        slot: u64,
        nonce: u64,
    ) -> Result<Option<u64>, RegistrarError> {
        let joint = self.is_joint();
        if let Some((_, id)) =
            self.joined.get(&slot).filter(|(joined_nonce, _)| *joined_nonce == nonce)
        {
            // Done once the joint configuration is left: the old incarnation is gone.
            return Ok((!joint).then_some(*id));
        }
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.current_role() != DriverRole::Leading {
            return Err(RegistrarError::NotLeader { leader: None });
        }
        if joint || self.node.raft.pending_conf_index > self.applied {
            return Ok(None); // One membership change at a time.
        }
        let old: Vec<u64> = self.members().into_iter().filter(|m| slot_of(*m) == slot).collect();
        let generation = old.iter().map(|m| generation_of(*m) + 1).max().unwrap_or(0);
        let new = member_id(slot, generation);
        let mut changes = vec![change(ConfChangeType::AddNode, new)];
        changes.extend(old.iter().map(|m| change(ConfChangeType::RemoveNode, *m)));
        let mut cc = ConfChangeV2::default();
        cc.set_transition(ConfChangeTransition::Auto);
        cc.set_changes(changes.into());
        self.node
            .propose_conf_change(nonce.to_be_bytes().to_vec(), cc)
            .map_err(|e| RegistrarError::Raft { reason: e.to_string() })?;
        tracing::info!(
            raft_id = self.config.id,
            slot,
            ?old,
            new,
            "proposed to replace a member that lost its disk"
        );
        Ok(None)
    }

    /// Applies a committed membership change (the same on every member) and stores the
    /// configuration it produced with a snapshot at its index. A change raft-rs refuses
    /// (it cannot happen with the changes this driver proposes) is logged and skipped, as
    /// it is on every member.
    pub(super) fn apply_conf_change(&mut self, entry: &Entry) -> Result<(), RegistrarError> {
        use protobuf::Message as _;
        // This driver proposes only `ConfChangeV2`; a v1 change is applied all the same.
        let (cc, applied) = if entry.get_entry_type() == EntryType::EntryConfChangeV2 {
            match ConfChangeV2::parse_from_bytes(&entry.data) {
                Ok(cc) => {
                    let applied = self.node.apply_conf_change(&cc);
                    (cc, applied.map_err(|e| e.to_string()))
                }
                Err(e) => (ConfChangeV2::default(), Err(e.to_string())),
            }
        } else {
            let applied = raft::eraftpb::ConfChange::parse_from_bytes(&entry.data)
                .map_err(|e| e.to_string())
                .and_then(|cc| self.node.apply_conf_change(&cc).map_err(|e| e.to_string()));
            (ConfChangeV2::default(), applied)
        };
        let conf_state = match applied {
            Ok(conf_state) => conf_state,
            Err(reason) => {
                tracing::error!(raft_id = self.config.id, index = entry.index, %reason, "skipping a membership change raft refused");
                return Ok(());
            }
        };
        if let (Ok(nonce), Some(added)) = (
            <[u8; 8]>::try_from(&entry.context[..]),
            cc.changes.iter().find(|c| c.get_change_type() == ConfChangeType::AddNode),
        ) {
            self.joined.insert(slot_of(added.node_id), (u64::from_be_bytes(nonce), added.node_id));
        }
        tracing::info!(raft_id = self.config.id, index = entry.index, voters = ?conf_state.voters, outgoing = ?conf_state.voters_outgoing, "membership changed");
        let data = self.state.encode();
        self.node.mut_store().apply_conf_state(entry.index, data, conf_state)
    }

    /// A leader left in a joint configuration (its predecessor entered it and lost
    /// leadership before leaving it; raft-rs leaves automatically only on the leader that
    /// applied the change) proposes to leave it.
    pub(super) fn maybe_leave_joint(&mut self) {
        if self.is_joint()
            && self.current_role() == DriverRole::Leading
            && self.node.raft.pending_conf_index <= self.applied
            && let Err(error) = self.node.propose_conf_change(Vec::new(), ConfChangeV2::default())
        {
            tracing::warn!(raft_id = self.config.id, %error, "cannot propose to leave the joint configuration");
        }
    }
}

fn change(change_type: ConfChangeType, node_id: u64) -> ConfChangeSingle {
    let mut single = ConfChangeSingle::default();
    single.set_change_type(change_type);
    single.node_id = node_id;
    single
}
