//! The registrar actor: carries raft messages between masters as libprocess messages,
//! ticks the driver on the libprocess clock, and answers the master's submits.
//!
//! Raft messages are raft-rs's `eraftpb::Message`, encoded with protobuf 2.28 (raft-rs's
//! own codec) and wrapped in our prost [`RaftMessage`]. protobuf 2.28 can crash on
//! crafted input (RUSTSEC-2024-0437), so a `RaftMessage` is decoded only if it comes from
//! the registrar of a configured peer master (`registrar@<one of --masters>`) and its
//! raft ids match that peer; everything else is counted (`registrar/raft_messages_refused`)
//! and logged. The libprocess sender pid is what the peer claims (`Libprocess-From`), so
//! this keeps stray and misdirected traffic out; against an attacker who can reach the
//! masters' port the masters' network must be private, as for Mesos.
//!
//! # Starting with a blank log
//!
//! A master whose raft log is blank is either new (the whole group is new) or lost its
//! disk (the group has a log and counts on what this master once promised). It cannot
//! tell which alone, so before running raft it asks every other master
//! ([`ProbeRegistrar`]):
//!
//! 1. If **every** other master answers that it has never stored an entry or taken part
//!    in an election, the group is new: this master starts as a founder (raft id = its
//!    slot). Like Mesos's replicated log, which initializes itself only when every replica
//!    is empty, a new group therefore needs all its masters up once.
//! 2. If **any** master answers that it has a log, this master lost its disk. It asks the
//!    leader to replace its old incarnation ([`JoinGroup`] with a random nonce, repeated
//!    every tick); the leader commits a membership change that adds the next generation
//!    of the slot and removes the old one, and answers with the new raft id
//!    ([`GroupJoined`]). Only then does this master store its id and start raft, with an
//!    empty log that the leader fills (entries, or the snapshot taken at the change).

use std::collections::{BTreeMap, BTreeSet};

use libprocess::{Context, Counter, DecodeError, Node, Pid, Process};
use protobuf::Message as _;
use raft::eraftpb::MessageType;
use tokio::sync::{oneshot, watch};

use crate::driver::{DriverConfig, DriverOutput, DriverRole, RaftDriver, RaftStatus};
use crate::handle::RaftRegistrarConfig;
use crate::members::{Group, slot_of};
use crate::messages::{
    GroupJoined, JoinGroup, ProbeRegistrar, REGISTRAR_ID, RaftMessage, RegistrarMessage,
    RegistrarProbed,
};
use crate::storage::{LogBackend, RaftStorage};

/// A round of Readies this slow is logged (see `storage::SLOW_WRITE`).
const SLOW_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);
use crate::{Applied, LeaderState, Leadership, RegistrarError, RegistryOperation};

type Waiter = oneshot::Sender<Result<Applied, RegistrarError>>;

struct Stats {
    refused: Counter,
    sent: Counter,
    received: Counter,
}

/// Where a registrar is in its membership of the raft group.
enum Membership {
    /// Running raft as a member.
    Member(Box<RaftDriver<Waiter>>),
    /// The log is blank: asking every peer whether the group is new. `fresh` holds the
    /// slots that answered that they are.
    Probing { storage: RaftStorage, fresh: BTreeSet<u64> },
    /// The group has a log and this master lost its own: asking for a new raft id.
    Joining { storage: RaftStorage, nonce: u64 },
    /// Raft could not be started on the log; the registrar does nothing more.
    Failed(RegistrarError),
}

/// The registrar actor around a [`RaftDriver`].
pub struct RegistrarProcess {
    membership: Membership,
    group: Group,
    /// This master's slot in `group`.
    slot: u64,
    /// The other masters' registrars by slot.
    peers: BTreeMap<u64, Pid>,
    config: RaftRegistrarConfig,
    leadership: watch::Sender<Leadership>,
    stats: Stats,
    /// A flush is queued behind the events already in the mailbox (group commit).
    flush_queued: bool,
}

impl RegistrarProcess {
    /// A registrar for the master at `node.address()` (one of `config.masters`), on the
    /// log in `backend`, and the receiving end of its leadership reports. A blank log in a
    /// group of one starts a new group at once; in a larger group it first probes the
    /// peers (see the module docs).
    pub(crate) fn new(
        node: &Node,
        config: RaftRegistrarConfig,
        backend: Box<dyn LogBackend>,
    ) -> Result<(RegistrarProcess, watch::Receiver<Leadership>), RegistrarError> {
        let group = Group::new(&config.masters).ok_or_else(|| RegistrarError::Config {
            reason: "--masters must name 1 to 255 masters".into(),
        })?;
        let slot = group.slot_at(node.address()).ok_or_else(|| RegistrarError::Config {
            reason: format!("{} is not in --masters", node.address()),
        })?;
        let mut storage = RaftStorage::open(backend)?;
        if storage.is_blank() && group.len() == 1 {
            storage.bootstrap(slot, &group.founders())?;
        }
        let (leadership, receiver) =
            watch::channel(Leadership { term: 0, state: LeaderState::Following { leader: None } });
        let metrics = node.metrics();
        let mut process = RegistrarProcess {
            membership: Membership::Failed(RegistrarError::Stopped),
            group: group.clone(),
            slot,
            peers: group
                .slots()
                .filter(|(s, _)| *s != slot)
                .map(|(s, a)| (s, Pid::new(REGISTRAR_ID, a)))
                .collect(),
            config,
            leadership,
            stats: Stats {
                refused: metrics.counter("registrar/raft_messages_refused"),
                sent: metrics.counter("registrar/raft_messages_sent"),
                received: metrics.counter("registrar/raft_messages_received"),
            },
            flush_queued: false,
        };
        process.membership = if storage.is_blank() {
            Membership::Probing { storage, fresh: BTreeSet::new() }
        } else {
            let id = storage.member().unwrap_or(slot);
            if slot_of(id) != slot {
                return Err(RegistrarError::Config {
                    reason: format!(
                        "the raft log belongs to raft id {id} (slot {}) but this master is slot {slot} of --masters; was --masters changed?",
                        slot_of(id)
                    ),
                });
            }
            Membership::Member(Box::new(process.driver_on(storage, id)?))
        };
        Ok((process, receiver))
    }

    /// The masters of the group, by slot.
    pub(crate) fn group(&self) -> &Group {
        &self.group
    }

    /// The raft driver, once this master is a member of the group.
    pub fn driver(&self) -> Option<&RaftDriver<Waiter>> {
        match &self.membership {
            Membership::Member(driver) => Some(driver),
            _ => None,
        }
    }

    /// The raft status; before this master is a member, its role says why not.
    pub(crate) fn status(&self) -> RaftStatus {
        match &self.membership {
            Membership::Member(driver) => driver.status(),
            Membership::Probing { .. } => {
                RaftStatus { role: "Probing".into(), ..RaftStatus::default() }
            }
            Membership::Joining { .. } => {
                RaftStatus { role: "Joining".into(), ..RaftStatus::default() }
            }
            Membership::Failed(_) => RaftStatus { role: "Failed".into(), ..RaftStatus::default() },
        }
    }

    /// The registrar of the master that raft id `id` belongs to, if it is another master.
    fn pid_of(&self, id: u64) -> Option<&Pid> {
        self.peers.get(&slot_of(id))
    }

    /// Takes the membership out to move its storage on (a placeholder stays behind until
    /// the caller sets the next one).
    fn take_membership(&mut self) -> Membership {
        std::mem::replace(&mut self.membership, Membership::Failed(RegistrarError::Stopped))
    }

    /// The slot of `from` if it is another master's registrar; otherwise the message is
    /// counted as refused.
    fn peer_slot(&self, from: &Pid) -> Option<u64> {
        let slot = self
            .group
            .slot_at(from.address())
            .filter(|s| from.id() == REGISTRAR_ID && *s != self.slot);
        if slot.is_none() {
            self.stats.refused.inc();
            tracing::warn!(%from, "refusing a registrar message not from a configured peer");
        }
        slot
    }

    fn on_tick_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if let Membership::Member(driver) = &mut self.membership {
            driver.tick();
            self.flush(ctx);
        } else {
            self.ask_peers(ctx);
        }
        ctx.delay(self.config.tick, |p, ctx| p.on_tick_timeout(ctx));
    }

    /// While not a member: (re)sends the probe to the peers that have not answered, or
    /// the join request to every peer. Requests are idempotent; one per peer per tick.
    fn ask_peers(&mut self, ctx: &mut Context<'_, Self>) {
        match &self.membership {
            Membership::Probing { fresh, .. } => {
                for (_, pid) in self.peers.iter().filter(|(s, _)| !fresh.contains(s)) {
                    ctx.send(pid, ProbeRegistrar {});
                }
            }
            Membership::Joining { nonce, .. } => {
                for pid in self.peers.values() {
                    ctx.send(pid, JoinGroup { nonce: *nonce });
                }
            }
            Membership::Member(_) | Membership::Failed(_) => {}
        }
    }

    fn on_raft(&mut self, from: Pid, message: RaftMessage, ctx: &mut Context<'_, Self>) {
        let Some(slot) = self.peer_slot(&from) else { return };
        let Membership::Member(driver) = &mut self.membership else {
            tracing::debug!(%from, "not a member yet: ignoring a raft message");
            return;
        };
        if slot_of(message.from) == slot
            && slot_of(message.to) == self.slot
            && message.to != driver.id()
        {
            // For an earlier incarnation of this master, from a leader that has not yet
            // applied the replacement.
            tracing::debug!(%from, raft_to = message.to, "ignoring a raft message for another incarnation of this master");
            return;
        }
        if slot_of(message.from) != slot || message.to != driver.id() {
            self.stats.refused.inc();
            tracing::warn!(%from, raft_from = message.from, raft_to = message.to, "refusing a raft message with foreign raft ids");
            return;
        }
        let decoded = match raft::eraftpb::Message::parse_from_bytes(&message.data) {
            Ok(decoded) if decoded.from == message.from && decoded.to == message.to => decoded,
            Ok(_) | Err(_) => {
                self.stats.refused.inc();
                tracing::warn!(%from, "refusing a malformed raft message");
                return;
            }
        };
        self.stats.received.inc();
        if let Err(error) = driver.step(decoded) {
            tracing::debug!(%from, %error, "raft refused a message");
        }
        self.flush_soon(ctx);
    }

    fn on_probe(&mut self, from: Pid, ctx: &mut Context<'_, Self>) {
        if self.peer_slot(&from).is_none() {
            return;
        }
        let fresh = match &self.membership {
            Membership::Member(driver) => driver.is_fresh(),
            Membership::Probing { .. } => true,
            Membership::Joining { .. } | Membership::Failed(_) => false,
        };
        ctx.send(&from, RegistrarProbed { fresh: u64::from(fresh) });
    }

    fn on_probed(&mut self, from: Pid, answer: RegistrarProbed, ctx: &mut Context<'_, Self>) {
        let Some(slot) = self.peer_slot(&from) else { return };
        let Membership::Probing { fresh, .. } = &mut self.membership else { return };
        if answer.fresh == 0 {
            tracing::warn!(%from, "this master's raft log is blank but the group has a log: asking to rejoin as a new member");
            if let Membership::Probing { storage, .. } = self.take_membership() {
                self.membership = Membership::Joining { storage, nonce: rand::random() };
                self.ask_peers(ctx);
            }
            return;
        }
        fresh.insert(slot);
        if fresh.len() + 1 == self.group.len() {
            tracing::info!("every master's raft log is blank: starting a new group");
            if let Membership::Probing { mut storage, .. } = self.take_membership() {
                let started = storage
                    .bootstrap(self.slot, &self.group.founders())
                    .and_then(|()| self.driver_on(storage, self.slot));
                self.become_member(started, ctx);
            }
        }
    }

    fn on_join(&mut self, from: Pid, request: JoinGroup, ctx: &mut Context<'_, Self>) {
        let Some(slot) = self.peer_slot(&from) else { return };
        let Membership::Member(driver) = &mut self.membership else { return };
        match driver.propose_replacement(slot, request.nonce) {
            Ok(Some(member)) => ctx.send(&from, GroupJoined { nonce: request.nonce, member }),
            Ok(None) => self.flush_soon(ctx),
            Err(error) => tracing::debug!(%from, %error, "not replacing a member here"),
        }
    }

    fn on_joined(&mut self, from: Pid, answer: GroupJoined, ctx: &mut Context<'_, Self>) {
        if self.peer_slot(&from).is_none() {
            return;
        }
        let Membership::Joining { nonce, .. } = &self.membership else { return };
        if answer.nonce != *nonce || slot_of(answer.member) != self.slot {
            tracing::warn!(%from, member = answer.member, "ignoring a join answer that is not for this master");
            return;
        }
        tracing::info!(raft_id = answer.member, "rejoined the group as a new member");
        if let Membership::Joining { mut storage, .. } = self.take_membership() {
            let started =
                storage.join(answer.member).and_then(|()| self.driver_on(storage, answer.member));
            self.become_member(started, ctx);
        }
    }

    fn driver_on(
        &self,
        storage: RaftStorage,
        id: u64,
    ) -> Result<RaftDriver<Waiter>, RegistrarError> {
        let config = &self.config;
        let mut driver_config = DriverConfig::new(id, self.group.len() as u64);
        driver_config.election_ticks = config.election_ticks;
        driver_config.heartbeat_ticks = config.heartbeat_ticks;
        driver_config.snapshot_interval = config.snapshot_interval;
        driver_config.max_pending = config.max_pending;
        driver_config.seed = config.seed.unwrap_or(id);
        RaftDriver::new(driver_config, storage)
    }

    fn become_member(
        &mut self,
        started: Result<RaftDriver<Waiter>, RegistrarError>,
        ctx: &mut Context<'_, Self>,
    ) {
        match started {
            Ok(driver) => {
                self.membership = Membership::Member(Box::new(driver));
                self.flush_soon(ctx);
            }
            Err(error) => {
                tracing::error!(%error, "cannot start raft; the registrar stops");
                self.membership = Membership::Failed(error);
                self.leadership.send_replace(Leadership { term: 0, state: LeaderState::Stopped });
            }
        }
    }

    pub(crate) fn on_submit(
        &mut self,
        operation: RegistryOperation,
        waiter: Waiter,
        ctx: &mut Context<'_, Self>,
    ) {
        // The master's debug timeline of a new framework (`mesos_master::TIMELINE`).
        tracing::debug!(target: "timeline", "registrar: proposal received");
        let result = match &mut self.membership {
            Membership::Member(driver) => driver.propose(operation, waiter),
            Membership::Failed(error) => Err((waiter, error.clone())),
            Membership::Probing { .. } | Membership::Joining { .. } => {
                Err((waiter, RegistrarError::NotLeader { leader: None }))
            }
        };
        if let Err((waiter, error)) = result {
            let error = match error {
                RegistrarError::NotLeader { .. } => {
                    RegistrarError::NotLeader { leader: self.leader_pid() }
                }
                other => other,
            };
            // The submitter may have stopped waiting.
            let _ = waiter.send(Err(error));
        }
        self.flush_soon(ctx);
    }

    /// Group commit: one Ready (one write and fsync) for every submit and raft message
    /// already queued, instead of one per event. The flush runs after the events queued
    /// before it, so a burst of proposals shares a single log write.
    fn flush_soon(&mut self, ctx: &mut Context<'_, Self>) {
        if self.flush_queued {
            return;
        }
        self.flush_queued = true;
        ctx.defer(|registrar: &mut RegistrarProcess, ctx| {
            registrar.flush_queued = false;
            registrar.flush(ctx);
        });
    }

    fn leader_pid(&self) -> Option<Pid> {
        self.driver().and_then(|d| d.leader()).and_then(|id| self.pid_of(id)).cloned()
    }

    /// Runs the driver's Ready loop and performs its outputs: send, answer, report
    /// leadership. Reporting a sent snapshot can make more work, hence the (bounded) loop.
    fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        // Wall-clock time for a diagnostic only: while Readies are handled (log writes,
        // applying entries) the raft thread sends no heartbeat.
        let started = std::time::Instant::now();
        self.flush_rounds(ctx);
        let took = started.elapsed();
        if took >= std::time::Duration::from_millis(1) {
            // The master's debug timeline (`mesos_master::TIMELINE`): flushes this long
            // write the log (heartbeats alone take microseconds).
            tracing::debug!(target: "timeline", took_us = took.as_micros() as u64, "registrar: flush");
        }
        if took >= SLOW_FLUSH {
            tracing::warn!(
                took_ms = took.as_millis() as u64,
                "the raft thread was busy handling Readies (log writes, applying entries); heartbeats waited"
            );
        }
    }

    fn flush_rounds(&mut self, ctx: &mut Context<'_, Self>) {
        // A round that stopped at a leader's messages sent ahead of its log write gets
        // its write in the next round at once, outside the bound of 4 rounds (at most one
        // such stop per Ready). 16 in all, whatever happens: a write still pending then
        // is done first by the next flush (the next tick or message).
        let mut rounds = 0;
        for _ in 0..16 {
            let Membership::Member(driver) = &mut self.membership else { return };
            let output = driver.take_output();
            let unwritten = driver.has_unwritten();
            if output.messages.is_empty()
                && output.completed.is_empty()
                && output.leadership.is_none()
                && !unwritten
            {
                return;
            }
            self.perform(output, ctx);
            if !unwritten {
                rounds += 1;
                if rounds == 4 {
                    return;
                }
            }
        }
    }

    fn perform(&mut self, output: DriverOutput<Waiter>, ctx: &mut Context<'_, Self>) {
        let mut snapshots_sent = Vec::new();
        for message in output.messages {
            let Some(pid) = self.pid_of(message.to) else { continue };
            let (from, to) = (message.from, message.to);
            if message.get_msg_type() == MessageType::MsgSnapshot {
                snapshots_sent.push(to);
            }
            match message.write_to_bytes() {
                Ok(data) => {
                    ctx.send(pid, RaftMessage { data, from, to });
                    self.stats.sent.inc();
                }
                Err(error) => tracing::error!(%error, "cannot encode a raft message"),
            }
        }
        if let Membership::Member(driver) = &mut self.membership {
            for to in snapshots_sent {
                driver.report_snapshot_sent(to);
            }
        }
        if !output.completed.is_empty() {
            tracing::debug!(target: "timeline", completed = output.completed.len(), "registrar: proposals done");
        }
        for (waiter, result) in output.completed {
            // The submitter may have stopped waiting.
            let _ = waiter.send(result);
        }
        if let Some((term, role)) = output.leadership {
            let state = match role {
                DriverRole::Following { leader } => LeaderState::Following {
                    leader: leader.and_then(|id| self.pid_of(id)).cloned(),
                },
                DriverRole::Elected => LeaderState::Elected,
                DriverRole::Leading => LeaderState::Leading,
                DriverRole::Stopped => LeaderState::Stopped,
            };
            self.leadership.send_replace(Leadership { term, state });
        }
    }
}

impl Process for RegistrarProcess {
    type Message = RegistrarMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.delay(self.config.tick, |p, ctx| p.on_tick_timeout(ctx));
        if let Membership::Probing { .. } = self.membership {
            tracing::info!(
                "this master's raft log is blank: asking the other masters whether the group is new"
            );
            self.ask_peers(ctx);
        }
    }

    fn on_message(&mut self, from: Pid, message: RegistrarMessage, ctx: &mut Context<'_, Self>) {
        match message {
            RegistrarMessage::Raft(message) => self.on_raft(from, message, ctx),
            RegistrarMessage::Probe(_) => self.on_probe(from, ctx),
            RegistrarMessage::Probed(answer) => self.on_probed(from, answer, ctx),
            RegistrarMessage::Join(request) => self.on_join(from, request, ctx),
            RegistrarMessage::Joined(answer) => self.on_joined(from, answer, ctx),
        }
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        self.stats.refused.inc();
        tracing::warn!(%from, %error, "registrar: unknown or malformed message");
    }

    fn finalize(&mut self, _ctx: &mut Context<'_, Self>) {
        self.leadership
            .send_replace(Leadership { term: self.status().term, state: LeaderState::Stopped });
    }
}
