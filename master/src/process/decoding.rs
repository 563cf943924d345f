//! Re-registrations decoded on a worker thread while the master's mailbox is backed up.
//!
//! After a failover the new leader receives every agent's `ReregisterSlaveMessage`
//! (3.3 KB with ten tasks) at once; decoding one costs about as much as re-admitting it.
//! When the mailbox holds [`OFFLOAD_BACKLOG`] messages or more, the actor hands the bytes
//! to a worker thread (`master-decode`) and goes on with its queue; the decoded message
//! comes back to the actor as a dispatch at the end of its mailbox
//! ([`libprocess::ProcessRef::tell`]: a future spawned on the actor would run only once
//! the mailbox is empty) and takes the full path there. Decoding and re-admission of
//! different agents then overlap on two cores. With a short queue (the usual case, and
//! the tests') decoding stays inline: nothing to gain.
//!
//! Order per sender is kept: while a pid's re-registration is being decoded, whatever
//! else arrives from it (messages, already checked; its broken link) waits in
//! [`Decoding`] and runs right after, in arrival order. A copy of the bytes in flight is
//! dropped, as Mesos ignores an agent whose re-registration is in progress (master.cpp
//! `Master::reregisterSlave`). Bounds: [`WORKER_QUEUE`] decodes in flight (past it the
//! actor decodes inline) and [`MAX_HELD`] waiting items per pid (past it they are
//! dropped and counted in `master/dropped_messages`).

use std::collections::HashMap;
use std::sync::mpsc;

use bytes::Bytes;
use libprocess::{Context, Pid};
use mesos_proto::mesos::internal;

use super::reregistrations::Digest;
use super::{MasterMessage, MasterProcess, Role};

/// Messages waiting in the mailbox from which decoding moves to the worker.
const OFFLOAD_BACKLOG: usize = 64;

/// Decodes queued to the worker at most; past it the actor decodes inline.
const WORKER_QUEUE: usize = 4096;

/// Items held per pid behind its re-registration in flight; past it they are dropped.
const MAX_HELD: usize = 256;

type Decoded = Result<internal::ReregisterSlaveMessage, prost::DecodeError>;

/// What arrived from a pid while its re-registration was being decoded.
pub(crate) enum Held {
    /// A decoded message that passed the checks, with its sender's principal (boxed:
    /// rare, and a message is 1.4 KB).
    Message(Box<MasterMessage>, Option<String>),
    /// Another re-registration (different bytes), checked.
    Reregistration { bytes: Bytes, digest: Digest, principal: Option<String> },
    /// The link to the pid broke.
    Exited,
}

/// What the worker is given: bytes to decode and where the result goes.
type Job = (Bytes, Box<dyn FnOnce(Decoded) + Send>);

/// The worker thread's queue.
struct Worker {
    jobs: mpsc::SyncSender<Job>,
}

impl Worker {
    /// Starts the worker; it ends when the master (the sender) is dropped.
    fn start() -> Option<Worker> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(WORKER_QUEUE);
        let spawned = std::thread::Builder::new().name("master-decode".into()).spawn(move || {
            for (bytes, deliver) in queue {
                deliver(mesos_proto::decode::reregister_slave_message(&bytes));
            }
        });
        match spawned {
            Ok(_) => Some(Worker { jobs }),
            Err(error) => {
                tracing::warn!(%error, "cannot start the decode worker; decoding inline");
                None
            }
        }
    }
}

/// The re-registrations in flight on the worker, per pid, with what waits behind each.
#[derive(Default)]
pub(crate) struct Decoding {
    worker: Option<Worker>,
    /// The worker could not be started: do not try again.
    failed: bool,
    in_flight: HashMap<Pid, (Digest, Vec<Held>)>,
}

impl Decoding {
    /// The digest of `pid`'s re-registration being decoded, if one is.
    pub(crate) fn in_flight(&self, pid: &Pid) -> Option<Digest> {
        if self.in_flight.is_empty() {
            return None;
        }
        self.in_flight.get(pid).map(|(digest, _)| *digest)
    }

    /// Leadership changed: results still to come are ignored, held items dropped.
    pub(crate) fn clear(&mut self) {
        self.in_flight = HashMap::new();
    }

    /// Queues `bytes` on the worker (started at the first use), or gives them back when
    /// [`WORKER_QUEUE`] of them are in flight or it cannot run.
    fn send(
        &mut self,
        bytes: Bytes,
        deliver: Box<dyn FnOnce(Decoded) + Send>,
    ) -> Result<(), Bytes> {
        if self.in_flight.len() >= WORKER_QUEUE {
            return Err(bytes);
        }
        if self.worker.is_none() && !self.failed {
            self.worker = Worker::start();
            self.failed = self.worker.is_none();
        }
        let Some(worker) = &self.worker else { return Err(bytes) };
        match worker.jobs.try_send((bytes, deliver)) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full((bytes, _)))
            | Err(mpsc::TrySendError::Disconnected((bytes, _))) => Err(bytes),
        }
    }
}

impl MasterProcess {
    /// Hands `bytes` to the worker when the mailbox is backed up (the result continues
    /// in [`MasterProcess::on_decoded_elsewhere`]); gives them back to decode inline
    /// otherwise.
    pub(super) fn decode_elsewhere(
        &mut self,
        from: &Pid,
        bytes: Bytes,
        digest: Digest,
        principal: &Option<String>,
        ctx: &mut Context<'_, Self>,
    ) -> Result<(), Bytes> {
        let Role::Leading { term } = self.role else { return Err(bytes) };
        if ctx.queue_sizes().messages < OFFLOAD_BACKLOG {
            return Err(bytes);
        }
        let me = ctx.self_ref();
        let (pid, principal) = (from.clone(), principal.clone());
        let deliver = Box::new(move |decoded: Decoded| {
            // The master may have stopped: then nobody waits for it.
            let _ = me.tell(move |master: &mut MasterProcess, ctx| {
                master.on_decoded_elsewhere(term, pid, digest, principal, decoded, ctx)
            });
        });
        self.decoding.send(bytes, deliver)?;
        self.decoding.in_flight.insert(from.clone(), (digest, Vec::new()));
        ctx.node().metrics().counter("master/slave_reregistrations_decoded_elsewhere").inc();
        Ok(())
    }

    /// The worker decoded `from`'s re-registration: the full path, then what waited.
    fn on_decoded_elsewhere(
        &mut self,
        term: u64,
        from: Pid,
        digest: Digest,
        principal: Option<String>,
        decoded: Decoded,
        ctx: &mut Context<'_, Self>,
    ) {
        if self.role != (Role::Leading { term }) {
            return; // fenced meanwhile: `clear` dropped what waited
        }
        let Some((_, held)) = self.decoding.in_flight.remove(&from) else { return };
        self.on_reregistration_decoded(from.clone(), decoded, digest, principal, ctx);
        for item in held {
            if self.decoding.in_flight(&from).is_some() {
                self.hold(&from, item, ctx);
                continue;
            }
            match item {
                Held::Message(message, principal) => {
                    self.process_decoded(from.clone(), *message, principal, ctx)
                }
                Held::Reregistration { bytes, digest, principal } => {
                    self.take_reregistration(from.clone(), bytes, digest, principal, ctx)
                }
                Held::Exited => self.process_exited(&from, ctx),
            }
        }
    }

    /// Keeps `item` until `from`'s re-registration in flight has been handled.
    pub(super) fn hold(&mut self, from: &Pid, item: Held, ctx: &mut Context<'_, Self>) {
        let Some((_, held)) = self.decoding.in_flight.get_mut(from) else { return };
        if held.len() >= MAX_HELD {
            ctx.node().metrics().counter("master/dropped_messages").inc();
            tracing::warn!(%from, "dropping a message behind a re-registration being decoded");
            return;
        }
        held.push(item);
    }
}
