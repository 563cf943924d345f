//! Raft log storage: an in-memory copy of the unsnapshotted log that raft-rs reads
//! ([`RaftStorage`] implements `raft::Storage`), written through to a [`LogBackend`].
//!
//! Every write goes to the backend first, as one atomic, durable batch
//! ([`LogBackend::write`] returns only once the batch survives a crash), then to the
//! in-memory copy. The log in memory is bounded by compaction: the driver snapshots the
//! registry every `snapshot_interval` applied entries and drops the entries before it.
//!
//! What is stored: the entries after the last snapshot, the hard state (term, vote,
//! commit), the conf state (the voters), and the last snapshot (its metadata and the
//! encoded [`RegistryState`](crate::RegistryState) as of its index). The applied registry
//! is persisted as that snapshot; on restart the driver restores it and raft replays the
//! committed entries after it, so the applied index on disk is the snapshot's index.

// raft's protobuf-2 types have private fields, so they cannot be built with struct
// literals: they are built from `default()` and assigned.
#![allow(clippy::field_reassign_with_default)]

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError as RaftStorageError};

use crate::RegistrarError;

/// A log write this slow is logged: with the masters' default 50 ms tick and 5-10
/// election ticks, followers campaign after 250-500 ms without a heartbeat.
const SLOW_WRITE: std::time::Duration = std::time::Duration::from_millis(100);

/// One write to the backend. A batch of them is applied atomically.
#[derive(Debug, Clone)]
pub enum LogWrite {
    /// Store (or overwrite) the entry at `entry.index`.
    PutEntry(Entry),
    /// Delete the entry at this index.
    DeleteEntry(u64),
    /// Store the hard state.
    HardState(HardState),
    /// Store the conf state.
    ConfState(ConfState),
    /// Store the snapshot.
    Snapshot(Snapshot),
    /// Store this member's raft id (`None` forgets it: the id is then its slot).
    Member(Option<u64>),
}

/// Everything a backend holds, as loaded at start.
#[derive(Debug, Clone, Default)]
pub struct Persisted {
    /// The hard state.
    pub hard_state: HardState,
    /// The conf state.
    pub conf_state: ConfState,
    /// The last snapshot (empty metadata if none).
    pub snapshot: Snapshot,
    /// Stored entries by index.
    pub entries: BTreeMap<u64, Entry>,
    /// This member's raft id, if stored (stores written before members could be
    /// replaced have none: their id is their slot).
    pub member: Option<u64>,
}

impl Persisted {
    fn apply(&mut self, batch: &[LogWrite]) {
        for write in batch {
            match write {
                LogWrite::PutEntry(entry) => {
                    self.entries.insert(entry.index, entry.clone());
                }
                LogWrite::DeleteEntry(index) => {
                    self.entries.remove(index);
                }
                LogWrite::HardState(hs) => self.hard_state = hs.clone(),
                LogWrite::ConfState(cs) => self.conf_state = cs.clone(),
                LogWrite::Snapshot(snapshot) => self.snapshot = snapshot.clone(),
                LogWrite::Member(member) => self.member = *member,
            }
        }
    }
}

/// Where the raft log lives durably. Small on purpose, so tests use memory and
/// production uses sled ([`SledBackend`](crate::SledBackend)).
pub trait LogBackend: Send + 'static {
    /// Loads everything stored.
    fn load(&mut self) -> Result<Persisted, RegistrarError>;
    /// Applies `batch` atomically; returns only once it is durable.
    fn write(&mut self, batch: &[LogWrite]) -> Result<(), RegistrarError>;
}

/// A backend in memory, shared through an `Arc` so that a test can "restart" a member
/// on the same data (clone the handle) or wipe it (make a new one).
#[derive(Clone, Default)]
pub struct MemBackend {
    data: Arc<Mutex<Persisted>>,
}

impl MemBackend {
    /// An empty backend.
    pub fn new() -> MemBackend {
        MemBackend::default()
    }
}

impl LogBackend for MemBackend {
    fn load(&mut self) -> Result<Persisted, RegistrarError> {
        Ok(self.data.lock().clone())
    }

    fn write(&mut self, batch: &[LogWrite]) -> Result<(), RegistrarError> {
        self.data.lock().apply(batch);
        Ok(())
    }
}

/// The raft log raft-rs reads, kept in memory and written through to a backend.
pub struct RaftStorage {
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: Snapshot,
    /// Entries `snapshot.index + 1 ..= last`, contiguous.
    entries: Vec<Entry>,
    member: Option<u64>,
    backend: Box<dyn LogBackend>,
}

impl RaftStorage {
    /// Opens the log in `backend` as it is. A blank log ([`RaftStorage::is_blank`]) must be
    /// given a membership before raft runs on it: [`RaftStorage::bootstrap`] or
    /// [`RaftStorage::join`].
    pub fn open(mut backend: Box<dyn LogBackend>) -> Result<RaftStorage, RegistrarError> {
        let persisted = backend.load()?;
        let snapshot_index = persisted.snapshot.get_metadata().index;
        let entries: Vec<Entry> =
            persisted.entries.into_values().filter(|e| e.index > snapshot_index).collect();
        let contiguous =
            entries.iter().enumerate().all(|(i, e)| e.index == snapshot_index + 1 + i as u64);
        if !contiguous {
            return Err(RegistrarError::Storage { reason: "the stored raft log has a gap".into() });
        }
        Ok(RaftStorage {
            hard_state: persisted.hard_state,
            conf_state: persisted.conf_state,
            snapshot: persisted.snapshot,
            entries,
            member: persisted.member,
            backend,
        })
    }

    /// True if nothing was ever stored: the member is new, or its disk was wiped. Which of
    /// the two cannot be told from here; the registrar asks the other members.
    pub fn is_blank(&self) -> bool {
        self.member.is_none()
            && self.hard_state == HardState::default()
            && self.conf_state == ConfState::default()
            && self.snapshot.get_metadata().index == 0
            && self.entries.is_empty()
    }

    /// This member's raft id as stored, if any.
    pub fn member(&self) -> Option<u64> {
        self.member
    }

    /// Makes a blank log member `id` of a new group whose members are `voters` (every
    /// member of a new group starts from this same state). A log that is not blank is
    /// left as it is.
    pub fn bootstrap(&mut self, id: u64, voters: &[u64]) -> Result<(), RegistrarError> {
        if !self.is_blank() {
            return Ok(());
        }
        let mut cs = ConfState::default();
        cs.voters = voters.to_vec();
        self.backend.write(&[LogWrite::ConfState(cs.clone()), LogWrite::Member(Some(id))])?;
        self.conf_state = cs;
        self.member = Some(id);
        Ok(())
    }

    /// Makes a blank log member `id` of an existing group, which added `id` to its
    /// configuration: the log stays empty until the leader sends its entries or a
    /// snapshot (with the group's configuration in it).
    pub fn join(&mut self, id: u64) -> Result<(), RegistrarError> {
        if !self.is_blank() {
            return Err(RegistrarError::Storage {
                reason: "only a blank raft log can join a group".into(),
            });
        }
        self.backend.write(&[LogWrite::Member(Some(id))])?;
        self.member = Some(id);
        Ok(())
    }

    /// The stored configuration (voters, learners, joint state).
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// The last snapshot.
    pub fn last_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The stored hard state.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// Entries kept in memory (after the last snapshot).
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    fn first(&self) -> u64 {
        self.snapshot.get_metadata().index + 1
    }

    fn last(&self) -> u64 {
        self.entries.last().map_or(self.snapshot.get_metadata().index, |e| e.index)
    }

    /// Persists a Ready: new entries (overwriting any conflicting suffix) and the hard
    /// state, in one durable batch.
    pub fn persist(
        &mut self,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> Result<(), RegistrarError> {
        let mut batch = Vec::new();
        if let Some(first) = entries.first() {
            if first.index < self.first() || first.index > self.last() + 1 {
                return Err(RegistrarError::Storage {
                    reason: format!(
                        "append at {} outside [{}, {}]",
                        first.index,
                        self.first(),
                        self.last() + 1
                    ),
                });
            }
            let new_last = first.index + entries.len() as u64 - 1;
            for index in (new_last + 1)..=self.last() {
                batch.push(LogWrite::DeleteEntry(index));
            }
            batch.extend(entries.iter().cloned().map(LogWrite::PutEntry));
        }
        if let Some(hs) = hard_state {
            batch.push(LogWrite::HardState(hs.clone()));
        }
        if batch.is_empty() {
            return Ok(());
        }
        // Wall-clock time for a diagnostic only (etcd's "slow fdatasync"): a write that
        // blocks the raft thread past an election timeout can cost the leader its term.
        let started = std::time::Instant::now();
        self.backend.write(&batch)?;
        let took = started.elapsed();
        if took >= SLOW_WRITE {
            tracing::warn!(
                took_ms = took.as_millis() as u64,
                writes = batch.len(),
                "slow raft log write (fsync): the raft thread waited on the disk"
            );
        }
        if let Some(first) = entries.first() {
            let keep = (first.index - self.first()) as usize;
            self.entries.truncate(keep);
            self.entries.extend_from_slice(entries);
        }
        if let Some(hs) = hard_state {
            self.hard_state = hs.clone();
        }
        Ok(())
    }

    /// Records a new commit index (from a `LightReady`).
    pub fn set_commit(&mut self, commit: u64) -> Result<(), RegistrarError> {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.persist(&[], Some(&hs))
    }

    /// Installs a snapshot received from the leader: the log is replaced by it.
    pub fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), RegistrarError> {
        let meta = snapshot.get_metadata();
        if meta.index <= self.snapshot.get_metadata().index {
            return Ok(()); // Older than what we have: nothing to do.
        }
        let mut hs = self.hard_state.clone();
        hs.term = hs.term.max(meta.term);
        hs.commit = meta.index;
        let mut batch: Vec<LogWrite> =
            self.entries.iter().map(|e| LogWrite::DeleteEntry(e.index)).collect();
        batch.push(LogWrite::Snapshot(snapshot.clone()));
        batch.push(LogWrite::ConfState(meta.get_conf_state().clone()));
        batch.push(LogWrite::HardState(hs.clone()));
        self.backend.write(&batch)?;
        self.entries.clear();
        self.conf_state = meta.get_conf_state().clone();
        self.snapshot = snapshot.clone();
        self.hard_state = hs;
        Ok(())
    }

    /// Stores a snapshot of the applied registry at `index` (which must be applied) and
    /// drops the entries up to it (log compaction).
    pub fn compact(&mut self, index: u64, data: Vec<u8>) -> Result<(), RegistrarError> {
        self.compact_with(index, data, None)
    }

    /// Records the configuration that applying the membership change at `index` produced,
    /// together with a snapshot at `index`, in one batch. The snapshot is what makes the
    /// change reach a member that joins now: the leader catches it up from the snapshot
    /// (raft refuses a snapshot whose configuration does not name the receiver), and a
    /// restart replays only the entries after it, never the change a second time.
    pub fn apply_conf_state(
        &mut self,
        index: u64,
        data: Vec<u8>,
        conf_state: ConfState,
    ) -> Result<(), RegistrarError> {
        self.compact_with(index, data, Some(conf_state))
    }

    fn compact_with(
        &mut self,
        index: u64,
        data: Vec<u8>,
        conf_state: Option<ConfState>,
    ) -> Result<(), RegistrarError> {
        if index <= self.snapshot.get_metadata().index {
            if let Some(cs) = conf_state {
                self.backend.write(&[LogWrite::ConfState(cs.clone())])?;
                self.conf_state = cs;
            }
            return Ok(());
        }
        let changed = conf_state.is_some();
        let conf_state = conf_state.unwrap_or_else(|| self.conf_state.clone());
        let term = raft::Storage::term(self, index)
            .map_err(|e| RegistrarError::Storage { reason: e.to_string() })?;
        let mut snapshot = Snapshot::default();
        snapshot.data = data.into();
        let meta = snapshot.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.set_conf_state(conf_state.clone());
        let mut batch: Vec<LogWrite> = self
            .entries
            .iter()
            .take_while(|e| e.index <= index)
            .map(|e| LogWrite::DeleteEntry(e.index))
            .collect();
        batch.push(LogWrite::Snapshot(snapshot.clone()));
        if changed {
            batch.push(LogWrite::ConfState(conf_state.clone()));
        }
        self.backend.write(&batch)?;
        let drop = (index - self.first() + 1) as usize;
        self.entries.drain(..drop.min(self.entries.len()));
        self.snapshot = snapshot;
        self.conf_state = conf_state;
        Ok(())
    }
}

impl raft::Storage for RaftStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard_state.clone(), self.conf_state.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first() {
            return Err(raft::Error::Store(RaftStorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(raft::Error::Store(RaftStorageError::Unavailable));
        }
        let offset = self.first();
        let mut entries = self.entries[(low - offset) as usize..(high - offset) as usize].to_vec();
        raft::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let meta = self.snapshot.get_metadata();
        if idx == meta.index {
            return Ok(meta.term);
        }
        if idx < meta.index {
            return Err(raft::Error::Store(RaftStorageError::Compacted));
        }
        if idx > self.last() {
            return Err(raft::Error::Store(RaftStorageError::Unavailable));
        }
        Ok(self.entries[(idx - self.first()) as usize].term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        if self.snapshot.get_metadata().index < request_index {
            return Err(raft::Error::Store(RaftStorageError::SnapshotTemporarilyUnavailable));
        }
        Ok(self.snapshot.clone())
    }
}

impl Persisted {
    /// The committed registry as stored: the snapshot's registry with every committed
    /// entry after it applied, and the index it is at (for `mesos-registry dump`).
    pub fn committed_state(&self) -> Result<(crate::RegistryState, u64), crate::RegistryError> {
        use prost::Message as _;
        let mut state = crate::RegistryState::decode(&self.snapshot.data)?;
        let mut applied = self.snapshot.get_metadata().index;
        for entry in self.entries.range(applied + 1..=self.hard_state.commit).map(|(_, e)| e) {
            if entry.index != applied + 1 {
                break;
            }
            applied = entry.index;
            if entry.data.is_empty()
                || entry.get_entry_type() != raft::eraftpb::EntryType::EntryNormal
            {
                continue; // A new leader's empty entry, or a membership change.
            }
            let decoded = crate::RegistryEntry::decode(&entry.data[..]).map_err(|e| {
                crate::RegistryError::Invalid { reason: format!("entry {}: {e}", entry.index) }
            })?;
            if let Some(operation) = decoded.operation {
                // Refused operations changed nothing on the members either.
                let _ = operation.apply(&mut state);
            }
        }
        Ok((state, applied))
    }
}

/// Replaces everything in `backend` with a log holding only `state`, as a snapshot at
/// index 1 of term 1 with `voters` as members (`mesos-registry restore`). Restore every
/// member with the same file, with the whole group stopped.
pub fn restore(
    backend: &mut dyn LogBackend,
    state: &crate::RegistryState,
    voters: &[u64],
) -> Result<(), RegistrarError> {
    let existing = backend.load()?;
    let mut batch: Vec<LogWrite> =
        existing.entries.keys().map(|i| LogWrite::DeleteEntry(*i)).collect();
    let mut conf_state = ConfState::default();
    conf_state.voters = voters.to_vec();
    let mut snapshot = Snapshot::default();
    snapshot.data = state.encode().into();
    snapshot.mut_metadata().index = 1;
    snapshot.mut_metadata().term = 1;
    snapshot.mut_metadata().set_conf_state(conf_state.clone());
    let mut hard_state = HardState::default();
    hard_state.term = 1;
    hard_state.commit = 1;
    batch.push(LogWrite::Snapshot(snapshot));
    batch.push(LogWrite::ConfState(conf_state));
    batch.push(LogWrite::HardState(hard_state));
    // Every member is restored as a founder (generation 0, raft id = slot).
    batch.push(LogWrite::Member(None));
    backend.write(&batch)
}
