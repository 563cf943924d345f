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

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use libprocess::{Context, Counter, DecodeError, Node, Pid, Process, ProcessRef};
use protobuf::Message as _;
use raft::eraftpb::MessageType;
use tokio::sync::{oneshot, watch};

use super::driver::{DriverConfig, DriverOutput, DriverRole, RaftDriver, RaftStatus};
use super::sled_backend::SledBackend;
use super::storage::{LogBackend, RaftStorage};
use super::{Applied, Completion, LeaderState, Leadership, Registrar, RegistrarError, RegistryOperation, StateFuture};

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

libprocess::protocol! {
    /// What the registrar accepts.
    pub enum RegistrarMessage {
        /// A raft message from a peer registrar.
        Raft(RaftMessage),
    }
}

/// Raft ids of the masters: the sorted, deduplicated list numbered 1..=n. Every master
/// given the same `--masters` derives the same ids.
pub fn raft_peers(masters: &[SocketAddr]) -> Vec<(u64, SocketAddr)> {
    let mut sorted = masters.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.into_iter().enumerate().map(|(i, address)| (i as u64 + 1, address)).collect()
}

/// How to run a raft registrar.
#[derive(Debug, Clone)]
pub struct RaftRegistrarConfig {
    /// Every member's address (`--masters`), this master's included.
    pub masters: Vec<SocketAddr>,
    /// The raft tick period.
    pub tick: Duration,
    /// Base election timeout in ticks (timeouts are drawn from `[e, 2e)`).
    pub election_ticks: usize,
    /// Heartbeat period in ticks.
    pub heartbeat_ticks: usize,
    /// Snapshot and compact after this many applied entries.
    pub snapshot_interval: u64,
    /// Most submits in flight.
    pub max_pending: usize,
    /// Seed of the election jitter; `None` derives it from the raft id.
    pub seed: Option<u64>,
}

impl RaftRegistrarConfig {
    /// Defaults: 100 ms ticks, elections after 500-900 ms, heartbeats every 100 ms.
    pub fn new(masters: Vec<SocketAddr>) -> RaftRegistrarConfig {
        RaftRegistrarConfig {
            masters,
            tick: Duration::from_millis(100),
            election_ticks: 5,
            heartbeat_ticks: 1,
            snapshot_interval: 1000,
            max_pending: 10_000,
            seed: None,
        }
    }

    /// Parses `--masters=ip:port,ip:port,...`; an absent or empty list is a group of one
    /// (`this`).
    pub fn parse_masters(list: Option<&str>, this: SocketAddr) -> Result<Vec<SocketAddr>, RegistrarError> {
        let Some(list) = list.filter(|l| !l.trim().is_empty()) else { return Ok(vec![this]) };
        list.split(',')
            .map(|item| {
                item.trim().parse().map_err(|_| RegistrarError::Config { reason: format!("bad master address '{item}'") })
            })
            .collect()
    }
}

type Waiter = oneshot::Sender<Result<Applied, RegistrarError>>;

struct Stats {
    refused: Counter,
    sent: Counter,
    received: Counter,
}

/// The registrar actor around a [`RaftDriver`].
pub struct RegistrarProcess {
    driver: RaftDriver<Waiter>,
    peers: BTreeMap<u64, Pid>,
    by_address: HashMap<SocketAddr, u64>,
    tick: Duration,
    leadership: watch::Sender<Leadership>,
    stats: Stats,
    /// A flush is queued behind the events already in the mailbox (group commit).
    flush_queued: bool,
}

impl RegistrarProcess {
    /// The applied registry.
    pub fn driver(&self) -> &RaftDriver<oneshot::Sender<Result<Applied, RegistrarError>>> {
        &self.driver
    }

    fn on_tick_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        self.driver.tick();
        self.flush(ctx);
        ctx.delay(self.tick, |p, ctx| p.on_tick_timeout(ctx));
    }

    fn on_raft(&mut self, from: Pid, message: RaftMessage, ctx: &mut Context<'_, Self>) {
        let expected = self.by_address.get(&from.address()).copied();
        let me = self.driver.id();
        if from.id() != REGISTRAR_ID || expected != Some(message.from) || message.to != me {
            self.stats.refused.inc();
            tracing::warn!(%from, raft_from = message.from, raft_to = message.to, "refusing a raft message not from a configured peer");
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
        if let Err(error) = self.driver.step(decoded) {
            tracing::debug!(%from, %error, "raft refused a message");
        }
        self.flush_soon(ctx);
    }

    fn on_submit(&mut self, operation: RegistryOperation, waiter: Waiter, ctx: &mut Context<'_, Self>) {
        if let Err((waiter, error)) = self.driver.propose(operation, waiter) {
            let error = match error {
                RegistrarError::NotLeader { .. } => RegistrarError::NotLeader { leader: self.leader_pid() },
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
        self.driver.leader().and_then(|id| self.peers.get(&id).cloned())
    }

    /// Runs the driver's Ready loop and performs its outputs: send, answer, report
    /// leadership. Reporting a sent snapshot can make more work, hence the (bounded) loop.
    fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        for _ in 0..4 {
            let output = self.driver.take_output();
            if output.messages.is_empty() && output.completed.is_empty() && output.leadership.is_none() {
                return;
            }
            self.perform(output, ctx);
        }
    }

    fn perform(&mut self, output: DriverOutput<Waiter>, ctx: &mut Context<'_, Self>) {
        let me = self.driver.id();
        for message in output.messages {
            let Some(pid) = self.peers.get(&message.to) else { continue };
            let to = message.to;
            let is_snapshot = message.get_msg_type() == MessageType::MsgSnapshot;
            match message.write_to_bytes() {
                Ok(data) => {
                    ctx.send(pid, RaftMessage { data, from: me, to });
                    self.stats.sent.inc();
                }
                Err(error) => tracing::error!(%error, "cannot encode a raft message"),
            }
            if is_snapshot {
                self.driver.report_snapshot_sent(to);
            }
        }
        for (waiter, result) in output.completed {
            // The submitter may have stopped waiting.
            let _ = waiter.send(result);
        }
        if let Some((term, role)) = output.leadership {
            let state = match role {
                DriverRole::Following { leader } => {
                    LeaderState::Following { leader: leader.and_then(|id| self.peers.get(&id).cloned()) }
                }
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
        ctx.delay(self.tick, |p, ctx| p.on_tick_timeout(ctx));
    }

    fn on_message(&mut self, from: Pid, message: RegistrarMessage, ctx: &mut Context<'_, Self>) {
        match message {
            RegistrarMessage::Raft(message) => self.on_raft(from, message, ctx),
        }
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        self.stats.refused.inc();
        tracing::warn!(%from, %error, "registrar: unknown or malformed message");
    }

    fn finalize(&mut self, _ctx: &mut Context<'_, Self>) {
        self.leadership.send_replace(Leadership { term: self.driver.status().term, state: LeaderState::Stopped });
    }
}

/// The master's handle to its raft registrar process.
#[derive(Clone)]
pub struct RaftRegistrar {
    process: ProcessRef<RegistrarProcess>,
    leadership: watch::Receiver<Leadership>,
    members: Vec<(u64, SocketAddr)>,
}

impl RaftRegistrar {
    /// Starts the registrar on `node` with the log in `backend`. `node.address()` must be
    /// one of `config.masters`.
    pub fn start(node: &Node, config: RaftRegistrarConfig, backend: Box<dyn LogBackend>) -> Result<RaftRegistrar, RegistrarError> {
        let peers = raft_peers(&config.masters);
        let id = peers.iter().find(|(_, a)| *a == node.address()).map(|(id, _)| *id).ok_or_else(|| {
            RegistrarError::Config { reason: format!("{} is not in --masters", node.address()) }
        })?;
        let voters: Vec<u64> = peers.iter().map(|(id, _)| *id).collect();
        let storage = RaftStorage::open(backend, &voters)?;
        let mut driver_config = DriverConfig::new(id, voters);
        driver_config.election_ticks = config.election_ticks;
        driver_config.heartbeat_ticks = config.heartbeat_ticks;
        driver_config.snapshot_interval = config.snapshot_interval;
        driver_config.max_pending = config.max_pending;
        driver_config.seed = config.seed.unwrap_or(id);
        let driver = RaftDriver::new(driver_config, storage)?;
        let (leadership, receiver) = watch::channel(Leadership { term: 0, state: LeaderState::Following { leader: None } });
        let metrics = node.metrics();
        let process = RegistrarProcess {
            driver,
            peers: peers.iter().filter(|(p, _)| *p != id).map(|(p, a)| (*p, Pid::new(REGISTRAR_ID, *a))).collect(),
            by_address: peers.iter().filter(|(p, _)| *p != id).map(|(p, a)| (*a, *p)).collect(),
            tick: config.tick,
            leadership,
            stats: Stats {
                refused: metrics.counter("registrar/raft_messages_refused"),
                sent: metrics.counter("registrar/raft_messages_sent"),
                received: metrics.counter("registrar/raft_messages_received"),
            },
            flush_queued: false,
        };
        let process = node.spawn(REGISTRAR_ID, process).map_err(|e| RegistrarError::Config { reason: e.to_string() })?;
        Ok(RaftRegistrar { process, leadership: receiver, members: peers })
    }

    /// Starts the registrar with its log in sled under `<work_dir>/raft`.
    pub fn open(node: &Node, config: RaftRegistrarConfig, work_dir: &Path) -> Result<RaftRegistrar, RegistrarError> {
        let backend = SledBackend::open(work_dir)?;
        RaftRegistrar::start(node, config, Box::new(backend))
    }

    /// The registrar's pid.
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// The raft status (for `/master/raft`).
    pub async fn status(&self) -> Result<RaftStatus, RegistrarError> {
        self.process.dispatch(|p, _| p.driver.status()).await.map_err(|_| RegistrarError::Stopped)
    }

}

impl Registrar for RaftRegistrar {
    fn submit(&self, operation: RegistryOperation) -> Completion {
        let (tx, rx) = oneshot::channel();
        let told = self.process.tell(move |p, ctx| p.on_submit(operation, tx, ctx));
        Box::pin(async move {
            if told.is_err() {
                return Err(RegistrarError::Stopped);
            }
            rx.await.unwrap_or(Err(RegistrarError::Stopped))
        })
    }

    fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    fn state(&self) -> StateFuture {
        let future = self.process.dispatch(|p, _| p.driver.state().clone());
        Box::pin(async move { future.await.map_err(|_| RegistrarError::Stopped) })
    }

    fn raft_status(&self) -> Option<super::StatusFuture> {
        let future = self.process.dispatch(|p, _| p.driver.status());
        Some(Box::pin(async move { future.await.map_err(|_| RegistrarError::Stopped) }))
    }

    fn members(&self) -> Vec<(u64, SocketAddr)> {
        self.members.clone()
    }
}
