//! Who is who in the raft group: masters by slot, raft ids by incarnation.
//!
//! Every master given the same `--masters` list sorts it the same way, so each master has
//! a *slot*: its place in the sorted list, `1..=n`. A raft id names one *incarnation* of
//! the master in a slot:
//!
//! ```text
//! raft id = generation << 8 | slot        (slot 1..=255, generation 0, 1, 2, ...)
//! ```
//!
//! The masters of a new group are generation 0, so their raft ids are just their slots
//! (1, 2, 3). A master whose disk was wiped has lost what it promised the others (its
//! vote, the entries it acknowledged), so raft does not let it back under its old id: it
//! rejoins as the next generation of its slot (3 becomes 259, then 515, ...) through a
//! membership change that replaces the old incarnation with the new one (see
//! [`process`](crate::process) and docs/ha.md, "Replacing a member"). The address of any
//! raft id is the address of its slot, whatever its generation.

use std::net::SocketAddr;

/// Bits of a raft id that hold the slot.
const SLOT_BITS: u32 = 8;

/// The most masters a group may have.
pub const MAX_SLOTS: usize = (1 << SLOT_BITS) - 1;

/// The slot of raft id `id` (its master's place in the sorted `--masters` list).
pub fn slot_of(id: u64) -> u64 {
    id & ((1 << SLOT_BITS) - 1)
}

/// How many times the master of `id`'s slot has been replaced before this incarnation.
pub fn generation_of(id: u64) -> u64 {
    id >> SLOT_BITS
}

/// The raft id of incarnation `generation` of the master in `slot`.
pub fn member_id(slot: u64, generation: u64) -> u64 {
    generation << SLOT_BITS | slot
}

/// The masters of a group, by slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Sorted and deduplicated; slot `s` is `masters[s - 1]`.
    masters: Vec<SocketAddr>,
}

impl Group {
    /// The group of `masters` (any order, duplicates ignored). At most [`MAX_SLOTS`].
    pub fn new(masters: &[SocketAddr]) -> Option<Group> {
        let mut masters = masters.to_vec();
        masters.sort();
        masters.dedup();
        (!masters.is_empty() && masters.len() <= MAX_SLOTS).then_some(Group { masters })
    }

    /// How many masters (slots) the group has.
    pub fn len(&self) -> usize {
        self.masters.len()
    }

    /// Never true: a group has at least one master.
    pub fn is_empty(&self) -> bool {
        self.masters.is_empty()
    }

    /// Every slot with its master's address.
    pub fn slots(&self) -> impl Iterator<Item = (u64, SocketAddr)> + '_ {
        self.masters.iter().enumerate().map(|(i, a)| (i as u64 + 1, *a))
    }

    /// The raft ids of a new group: generation 0 of every slot.
    pub fn founders(&self) -> Vec<u64> {
        self.slots().map(|(slot, _)| member_id(slot, 0)).collect()
    }

    /// The slot of the master at `address`.
    pub fn slot_at(&self, address: SocketAddr) -> Option<u64> {
        self.masters.iter().position(|a| *a == address).map(|i| i as u64 + 1)
    }

    /// The address of the master that raft id `id` belongs to.
    pub fn address_of(&self, id: u64) -> Option<SocketAddr> {
        let slot = slot_of(id) as usize;
        (slot >= 1).then(|| self.masters.get(slot - 1).copied()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_slot_and_generation() {
        assert_eq!(member_id(3, 0), 3);
        assert_eq!(member_id(3, 1), 259);
        assert_eq!((slot_of(515), generation_of(515)), (3, 2));
        let group =
            Group::new(&["10.0.0.2:5050".parse().unwrap(), "10.0.0.1:5050".parse().unwrap()])
                .unwrap();
        assert_eq!(group.founders(), vec![1, 2]);
        assert_eq!(group.address_of(258), Some("10.0.0.2:5050".parse().unwrap()));
        assert_eq!(group.address_of(3), None);
        assert_eq!(group.address_of(256), None, "slot 0 is no master");
        assert_eq!(group.slot_at("10.0.0.1:5050".parse().unwrap()), Some(1));
    }
}
