//! The raft driver: a plain struct around raft-rs's `RawNode` that never touches a
//! socket or a clock. Ticks, raft messages and proposals go in; [`DriverOutput`] comes
//! out: raft messages to send, completed proposals, leadership changes.
//!
//! The Ready loop follows raft-rs's documentation (raft 0.7 `lib.rs`):
//!
//! 1. a leader's Ready that has something to write hands out its `messages` first (its
//!    appends and heartbeats to followers) and stops there: the shell sends them and
//!    calls again, and the write follows. A leader may send entries before writing them
//!    itself (Raft thesis, section 10.2.1): a commit needs a majority of persisted
//!    copies, and raft-rs counts the leader's own only once this write is done
//!    (`advance`), so the leader's fsync and the followers' overlap instead of adding up.
//!    raft-rs puts a follower's or candidate's messages (answers, votes) in
//!    `persisted_messages` instead, which wait for the write;
//! 2. install the Ready's snapshot (storage, then the registry), persist its entries and
//!    hard state in one durable batch; only then hand out its `persisted_messages`;
//! 3. apply its committed entries to the registry, completing matching proposals;
//! 4. `advance`; persist the `LightReady`'s commit index, hand out its messages, apply
//!    its committed entries too (raft 0.7 marks them applied at `advance_apply`, so they
//!    would otherwise be lost); `advance_apply`.
//!
//! A proposal is identified by the (index, term) its entry got in the leader's log. When
//! an entry at that index is applied with the same term, the proposal completes; with
//! another term, the entry was overwritten and the proposal fails. When this member stops
//! leading, every pending proposal fails at once with `LeadershipLost` (fencing).
//!
//! Membership changes are used for one thing: replacing a member that lost its disk by
//! its next incarnation ([`RaftDriver::propose_replacement`], see
//! [`members`](crate::members)). The replacement is one joint-consensus change (add the
//! new id, remove the old one), which raft-rs leaves automatically once it is applied;
//! the driver applies each committed change on every member, stores the resulting
//! configuration with a snapshot, and remembers which joining incarnation (its nonce) got
//! which id.
//!
//! # Layout
//! - this file: the driver, its inputs and the Ready loop;
//! - `membership`: the configuration, the replacement proposal and applying changes.

use std::collections::{BTreeMap, HashMap};

use prost::Message as _;
use raft::eraftpb::{Entry, EntryType, Message, Snapshot};
use raft::{RawNode, StateRole};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::members::slot_of;
use crate::operations::RegistryEntry;
use crate::storage::RaftStorage;
use crate::{Applied, RegistrarError, RegistryError, RegistryOperation, RegistryState};

mod membership;

/// How the driver is set up. Defaults: ticks of `DEFAULT_TICK` (set by the shell), elections after
/// 5-9 ticks without a leader, heartbeats every tick.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// This member's raft id (see [`members`](crate::members)).
    pub id: u64,
    /// How many masters (slots) the group has; raft messages from other slots are refused.
    pub slots: u64,
    /// Base election timeout in ticks; each timeout is drawn from
    /// `[election_ticks, 2 * election_ticks)` with the seeded RNG.
    pub election_ticks: usize,
    /// Heartbeat period in ticks.
    pub heartbeat_ticks: usize,
    /// Snapshot (and compact the log) after this many applied entries.
    pub snapshot_interval: u64,
    /// Most proposals in flight; further submits fail with `TooManyPending`.
    pub max_pending: usize,
    /// Largest encoded operation; larger ones fail with `EntryTooLarge`.
    pub max_entry_bytes: usize,
    /// Seed of the election-jitter RNG (simulations replay).
    pub seed: u64,
}

impl DriverConfig {
    /// Defaults for member `id` of a group of `slots` masters.
    pub fn new(id: u64, slots: u64) -> DriverConfig {
        DriverConfig {
            id,
            slots,
            election_ticks: 5,
            heartbeat_ticks: 1,
            snapshot_interval: 1000,
            max_pending: 10_000,
            max_entry_bytes: 1024 * 1024,
            seed: id,
        }
    }
}

/// This member's role as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverRole {
    /// Not leader; `leader` is the known leader's raft id.
    Following {
        /// The leader, if known.
        leader: Option<u64>,
    },
    /// Leader, catching up on entries committed before its term.
    Elected,
    /// Leader with everything committed before its term applied.
    Leading,
    /// Storage failed; the driver does nothing more.
    Stopped,
}

/// What the driver produced since the last call to [`RaftDriver::take_output`].
#[derive(Debug)]
pub struct DriverOutput<W> {
    /// Raft messages to send: what a follower promises in them is in its storage
    /// already; a leader's appends may go before its own write of them (see the module
    /// docs, step 1).
    pub messages: Vec<Message>,
    /// Finished proposals and their outcome.
    pub completed: Vec<(W, Result<Applied, RegistrarError>)>,
    /// The latest (term, role), if it changed.
    pub leadership: Option<(u64, DriverRole)>,
}

impl<W> Default for DriverOutput<W> {
    fn default() -> Self {
        DriverOutput { messages: Vec::new(), completed: Vec::new(), leadership: None }
    }
}

/// A snapshot of the driver for `/master/raft`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaftStatus {
    /// This member's raft id.
    pub id: u64,
    /// The current term.
    pub term: u64,
    /// `Follower`, `Candidate`, `PreCandidate` or `Leader`.
    pub role: String,
    /// The leader's raft id (0 if unknown).
    pub leader: u64,
    /// The commit index.
    pub commit: u64,
    /// The applied index.
    pub applied: u64,
    /// The index of the last snapshot.
    pub snapshot_index: u64,
    /// Per member (leader only): (id, matched index, next index).
    pub progress: Vec<(u64, u64, u64)>,
    /// The members' raft ids as this member's configuration has them (in a joint
    /// configuration, the old and the new members).
    pub members: Vec<u64>,
}

struct Pending<W> {
    term: u64,
    waiter: W,
}

/// The raft driver. `W` is whatever the shell uses to answer a proposal.
pub struct RaftDriver<W> {
    node: RawNode<RaftStorage>,
    state: RegistryState,
    applied: u64,
    pending: BTreeMap<u64, Pending<W>>,
    config: DriverConfig,
    rng: StdRng,
    /// (term, role) seen after the last input, to re-draw the election timeout.
    last_role: (u64, StateRole),
    /// (term, index of the term's first entry) once this member became leader.
    leader_start: Option<(u64, u64)>,
    reported: Option<(u64, DriverRole)>,
    failed: Option<RegistrarError>,
    /// Joined incarnations, as applied: slot -> (the joiner's nonce, its raft id).
    joined: HashMap<u64, (u64, u64)>,
    /// The registry's size as of the applied index, while no applied entry could have
    /// changed it (see [`RegistryOperation::touches_registry`]).
    registry_size: Option<u64>,
    /// A leader's Ready whose messages were handed out before its write (step 1 of the
    /// module docs); the next [`RaftDriver::take_output`] writes it before anything else.
    unwritten: Option<raft::Ready>,
    out: DriverOutput<W>,
}

impl<W> RaftDriver<W> {
    /// A driver over `storage`, restoring the registry from its last snapshot.
    pub fn new(
        config: DriverConfig,
        storage: RaftStorage,
    ) -> Result<RaftDriver<W>, RegistrarError> {
        let snapshot = storage.last_snapshot();
        let state = RegistryState::decode(&snapshot.data)
            .map_err(|e| RegistrarError::Storage { reason: e.to_string() })?;
        let applied = snapshot.get_metadata().index;
        let raft_config = raft::Config {
            id: config.id,
            election_tick: config.election_ticks,
            heartbeat_tick: config.heartbeat_ticks,
            applied,
            check_quorum: true,
            pre_vote: true,
            max_size_per_msg: config.max_entry_bytes as u64,
            max_inflight_msgs: 256,
            // raft-rs draws from its thread RNG in this range at every reset; the driver
            // overwrites each draw with one from its seeded RNG (`redraw_election_timeout`).
            min_election_tick: config.election_ticks,
            max_election_tick: 2 * config.election_ticks,
            ..raft::Config::default()
        };
        let logger = crate::logger::raft_logger(config.id);
        let node = RawNode::new(&raft_config, storage, &logger)
            .map_err(|e| RegistrarError::Raft { reason: e.to_string() })?;
        let rng = StdRng::seed_from_u64(config.seed);
        let last_role = (node.raft.term, node.raft.state);
        let mut driver = RaftDriver {
            node,
            state,
            applied,
            pending: BTreeMap::new(),
            config,
            rng,
            last_role,
            leader_start: None,
            reported: None,
            failed: None,
            joined: HashMap::new(),
            registry_size: None,
            unwritten: None,
            out: DriverOutput::default(),
        };
        driver.redraw_election_timeout();
        Ok(driver)
    }

    /// The applied registry.
    pub fn state(&self) -> &RegistryState {
        &self.state
    }

    /// The applied index.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// This member's raft id.
    pub fn id(&self) -> u64 {
        self.config.id
    }

    /// The storage (for inspection).
    pub fn storage(&self) -> &RaftStorage {
        self.node.store()
    }

    /// Proposals in flight.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The status for `/master/raft`.
    pub fn status(&self) -> RaftStatus {
        let status = self.node.status();
        let mut progress: Vec<(u64, u64, u64)> = status
            .progress
            .map(|p| p.iter().map(|(id, pr)| (*id, pr.matched, pr.next_idx)).collect())
            .unwrap_or_default();
        progress.sort_unstable();
        RaftStatus {
            id: self.config.id,
            term: self.node.raft.term,
            role: format!("{:?}", self.node.raft.state),
            leader: self.node.raft.leader_id,
            commit: self.node.raft.raft_log.committed,
            applied: self.applied,
            snapshot_index: self.node.store().last_snapshot().get_metadata().index,
            progress,
            members: self.members(),
        }
    }

    /// One tick of the election and heartbeat clock.
    pub fn tick(&mut self) {
        if self.failed.is_none() {
            self.node.tick();
            self.after_input();
        }
    }

    /// A raft message from a peer. Messages not addressed to us are refused.
    pub fn step(&mut self, message: Message) -> Result<(), RegistrarError> {
        if self.failed.is_some() {
            return Ok(());
        }
        let slot = slot_of(message.from);
        if message.to != self.config.id
            || slot == 0
            || slot > self.config.slots
            || self.is_superseded(message.from)
        {
            return Err(RegistrarError::Raft {
                reason: format!("message {} -> {} is not for us", message.from, message.to),
            });
        }
        let result =
            self.node.step(message).map_err(|e| RegistrarError::Raft { reason: e.to_string() });
        self.after_input();
        result
    }

    /// Proposes `operation`; on refusal the waiter comes back with the reason.
    pub fn propose(
        &mut self,
        operation: RegistryOperation,
        waiter: W,
    ) -> Result<(), (W, RegistrarError)> {
        if let Some(error) = &self.failed {
            return Err((waiter, error.clone()));
        }
        if self.node.raft.state != StateRole::Leader {
            // The shell, which knows the peers' pids, fills in the leader.
            return Err((waiter, RegistrarError::NotLeader { leader: None }));
        }
        if self.pending.len() >= self.config.max_pending {
            return Err((
                waiter,
                RegistrarError::TooManyPending { limit: self.config.max_pending },
            ));
        }
        let data = RegistryEntry { operation: Some(operation) }.encode_to_vec();
        if data.len() > self.config.max_entry_bytes {
            return Err((
                waiter,
                RegistrarError::EntryTooLarge {
                    bytes: data.len(),
                    limit: self.config.max_entry_bytes,
                },
            ));
        }
        if let Err(error) = self.node.propose(Vec::new(), data) {
            return Err((waiter, RegistrarError::Raft { reason: error.to_string() }));
        }
        let index = self.node.raft.raft_log.last_index();
        self.pending.insert(index, Pending { term: self.node.raft.term, waiter });
        Ok(())
    }

    /// Tells raft that a snapshot message went out to `to`. Sends are fire and forget:
    /// if it is lost, the follower's next rejection makes the leader send it again.
    pub fn report_snapshot_sent(&mut self, to: u64) {
        self.node.report_snapshot(to, raft::SnapshotStatus::Finish);
    }

    /// True if this member never stored an entry nor got past a pre-vote: the group it
    /// belongs to has not started yet.
    pub fn is_fresh(&self) -> bool {
        self.node.raft.term == 0 && self.node.raft.raft_log.last_index() == 0
    }

    /// The known leader's raft id.
    pub fn leader(&self) -> Option<u64> {
        Some(self.node.raft.leader_id).filter(|id| *id != 0)
    }

    /// Runs the Ready loop and returns everything produced since the last call. When a
    /// leader's messages may leave before its log write ([`RaftDriver::has_unwritten`]),
    /// the output stops at them: send them, then call again for the rest.
    pub fn take_output(&mut self) -> DriverOutput<W> {
        self.maybe_leave_joint();
        // Each round handles one Ready; new Readies only appear through the previous
        // round's own progress, so a handful of rounds drains it. Bounded all the same.
        for _ in 0..16 {
            if self.failed.is_some() {
                break;
            }
            let ready = match self.unwritten.take() {
                Some(ready) => ready,
                None if self.node.has_ready() => {
                    let mut ready = self.node.ready();
                    // Empty unless this member leads (raft-rs's `is_persisted_msg`).
                    let early = ready.take_messages();
                    let writes = !ready.entries().is_empty()
                        || ready.hs().is_some()
                        || !ready.snapshot().is_empty();
                    let stop = !early.is_empty() && writes;
                    self.out.messages.extend(early);
                    if stop {
                        self.unwritten = Some(ready);
                        break;
                    }
                    ready
                }
                None => break,
            };
            if let Err(error) = self.handle_ready(ready) {
                self.fail(error);
            }
        }
        self.check_leadership();
        std::mem::take(&mut self.out)
    }

    /// True when the last output stopped at a leader's messages sent ahead of its log
    /// write: the next [`RaftDriver::take_output`] does the write.
    pub fn has_unwritten(&self) -> bool {
        self.unwritten.is_some()
    }

    fn after_input(&mut self) {
        let now = (self.node.raft.term, self.node.raft.state);
        if now != self.last_role {
            self.last_role = now;
            self.redraw_election_timeout();
            if now.1 == StateRole::Leader {
                // become_leader appended this term's empty entry: the last one now.
                self.leader_start = Some((now.0, self.node.raft.raft_log.last_index()));
            }
        }
    }

    fn redraw_election_timeout(&mut self) {
        let base = self.config.election_ticks;
        let timeout = self.rng.random_range(base..2 * base);
        self.node.raft.set_randomized_election_timeout(timeout);
    }

    fn handle_ready(&mut self, mut ready: raft::Ready) -> Result<(), RegistrarError> {
        if !ready.snapshot().is_empty() {
            let snapshot = ready.snapshot().clone();
            self.node.mut_store().apply_snapshot(&snapshot)?;
            self.install_snapshot(&snapshot)?;
        }
        self.node.mut_store().persist(ready.entries(), ready.hs())?;
        self.out.messages.extend(ready.take_messages());
        self.out.messages.extend(ready.take_persisted_messages());
        self.apply_entries(ready.take_committed_entries())?;
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.node.mut_store().set_commit(commit)?;
        }
        self.out.messages.extend(light.take_messages());
        self.apply_entries(light.take_committed_entries())?;
        self.node.advance_apply();
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), RegistrarError> {
        self.state = RegistryState::decode(&snapshot.data)
            .map_err(|e| RegistrarError::Storage { reason: e.to_string() })?;
        self.registry_size = None;
        let index = snapshot.get_metadata().index;
        self.applied = self.applied.max(index);
        let stale: Vec<u64> = self.pending.range(..=index).map(|(i, _)| *i).collect();
        for i in stale {
            if let Some(p) = self.pending.remove(&i) {
                self.out
                    .completed
                    .push((p.waiter, Err(RegistrarError::LeadershipLost { term: p.term })));
            }
        }
        tracing::info!(raft_id = self.config.id, index, "installed a registry snapshot");
        Ok(())
    }

    fn apply_entries(&mut self, entries: Vec<Entry>) -> Result<(), RegistrarError> {
        let completed_before = self.out.completed.len();
        for entry in entries {
            if entry.index <= self.applied {
                continue;
            }
            self.applied = entry.index;
            if matches!(
                entry.get_entry_type(),
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2
            ) {
                self.apply_conf_change(&entry)?;
                if let Some(p) = self.pending.remove(&entry.index) {
                    // Our proposal at this index was overwritten by a later leader's change.
                    self.out
                        .completed
                        .push((p.waiter, Err(RegistrarError::LeadershipLost { term: p.term })));
                }
                continue;
            }
            let outcome = self.apply_entry(&entry);
            if let Some(p) = self.pending.remove(&entry.index) {
                let result = if p.term == entry.term {
                    outcome
                        .map(|mutated| Applied {
                            index: entry.index,
                            term: entry.term,
                            mutated,
                            // Filled in once for the whole batch, below.
                            registry_size_bytes: 0,
                        })
                        .map_err(|error| RegistrarError::Rejected { index: entry.index, error })
                } else {
                    Err(RegistrarError::LeadershipLost { term: p.term })
                };
                self.out.completed.push((p.waiter, result));
            }
        }
        // The registry's size once per batch, not once per entry: `encoded_len` walks the
        // whole registry, and a burst of n entries (600 agents re-registering at once)
        // would cost n walks on the raft thread, long enough to miss heartbeats. Every
        // operation of a batch reports the size after the batch. Not even once when no
        // entry since the last walk could change it (a framework subscribing: 10 ms at
        // 50,000 agents before its SUBSCRIBE could be answered).
        if self.out.completed.len() > completed_before {
            let state = &self.state;
            let size = *self.registry_size.get_or_insert_with(|| state.registry_size_bytes());
            for (_, result) in &mut self.out.completed[completed_before..] {
                if let Ok(applied) = result {
                    applied.registry_size_bytes = size;
                }
            }
        }
        self.maybe_compact()
    }

    /// Applies one committed entry; the outcome is the same on every member.
    fn apply_entry(&mut self, entry: &Entry) -> Result<bool, RegistryError> {
        if entry.data.is_empty() {
            return Ok(false); // A new leader's empty entry.
        }
        let decoded = RegistryEntry::decode(&entry.data[..]).map_err(|e| {
            RegistryError::Invalid { reason: format!("undecodable entry {}: {e}", entry.index) }
        })?;
        if decoded.operation.as_ref().is_none_or(RegistryOperation::touches_registry) {
            self.registry_size = None;
        }
        match decoded.operation {
            Some(operation) => operation.apply(&mut self.state),
            None => Err(RegistryError::Invalid {
                reason: format!("entry {} has no operation", entry.index),
            }),
        }
    }

    fn maybe_compact(&mut self) -> Result<(), RegistrarError> {
        let snapshot_index = self.node.store().last_snapshot().get_metadata().index;
        if self.applied.saturating_sub(snapshot_index) >= self.config.snapshot_interval {
            let data = self.state.encode();
            self.node.mut_store().compact(self.applied, data)?;
            tracing::debug!(
                raft_id = self.config.id,
                index = self.applied,
                "compacted the raft log"
            );
        }
        Ok(())
    }

    fn current_role(&self) -> DriverRole {
        if self.failed.is_some() {
            return DriverRole::Stopped;
        }
        let raft = &self.node.raft;
        if raft.state != StateRole::Leader {
            return DriverRole::Following { leader: Some(raft.leader_id).filter(|id| *id != 0) };
        }
        match self.leader_start {
            Some((term, start)) if term == raft.term && self.applied >= start => {
                DriverRole::Leading
            }
            _ => DriverRole::Elected,
        }
    }

    fn check_leadership(&mut self) {
        let now = (self.node.raft.term, self.current_role());
        if self.reported == Some(now) {
            return;
        }
        if let Some((term, DriverRole::Elected | DriverRole::Leading)) = self.reported {
            let still_leading =
                now.0 == term && matches!(now.1, DriverRole::Elected | DriverRole::Leading);
            if !still_leading {
                self.fail_pending(|p| RegistrarError::LeadershipLost { term: p });
                tracing::warn!(raft_id = self.config.id, term, "lost leadership");
            }
        }
        tracing::info!(raft_id = self.config.id, term = now.0, role = ?now.1, "registrar leadership");
        self.reported = Some(now);
        self.out.leadership = Some(now);
    }

    fn fail_pending(&mut self, error: impl Fn(u64) -> RegistrarError) {
        for (_, p) in std::mem::take(&mut self.pending) {
            self.out.completed.push((p.waiter, Err(error(p.term))));
        }
    }

    fn fail(&mut self, error: RegistrarError) {
        tracing::error!(raft_id = self.config.id, %error, "registrar storage failed; stopping");
        self.fail_pending(|_| error.clone());
        self.failed = Some(error);
    }
}
