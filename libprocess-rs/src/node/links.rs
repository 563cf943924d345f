//! The link table of a node: who is linked to whom, with no I/O.
//!
//! Mesos: 3rdparty/libprocess/src/process.cpp `SocketManager::link`, `unlink`,
//! `exited`. A link asks to be told (`exited`) when the linkee terminates or the
//! connection to its node breaks. The node ([`super::Node`]) takes the table's lock,
//! changes it with the methods below, and then posts the `exited` events they return.

use std::collections::{HashMap, HashSet};

/// Maps and sets keyed by pids, hashed with foldhash instead of SipHash: every spawn,
/// link and termination hashes pids here, and SipHash made up a good part of their cost.
/// The keys are this node's processes and the peers they chose to link to, not keys a
/// remote client picks; foldhash's per-map random seed still varies the layout.
pub(crate) type PidMap<V> = HashMap<Pid, V, foldhash::fast::RandomState>;
/// See [`PidMap`].
pub(crate) type PidSet = HashSet<Pid, foldhash::fast::RandomState>;
use std::net::SocketAddr;

use crate::pid::Pid;

/// How to link to a remote process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkMode {
    /// Reuse the existing connection to the peer, if any.
    Normal,
    /// Open a new connection, replacing the existing one without reporting `exited`
    /// for the links moved onto it.
    Reconnect,
}

/// Every link made on or to the node's processes, indexed both ways.
#[derive(Default)]
pub(super) struct Links {
    /// linkee (local) -> its linkers.
    pub(super) local: PidMap<PidSet>,
    /// peer address -> linkee -> its (local) linkers.
    pub(super) remote: HashMap<SocketAddr, PidMap<PidSet>>,
    /// linker -> its linkees (local or remote): the reverse of the two maps above, so a
    /// terminating process leaves every link it made in time proportional to its own links,
    /// not to every link on the node (libprocess MESOS-2182).
    pub(super) linkees: PidMap<PidSet>,
    /// Set once a linker of this node's address that was no process here made a link
    /// (see `Node::mark_linker`): from then on every termination looks its pid up here,
    /// whatever its process's flags say.
    pub(super) unregistered_linkers: bool,
}

impl Links {
    /// Records that `linker` links to `linkee`, a process of this node.
    pub(super) fn add_local(&mut self, linker: &Pid, linkee: &Pid) {
        self.local.entry(linkee.clone()).or_default().insert(linker.clone());
        self.linkees.entry(linker.clone()).or_default().insert(linkee.clone());
    }

    /// Records that `linker` links to `linkee`, a process of another node.
    pub(super) fn add_remote(&mut self, linker: &Pid, linkee: &Pid) {
        self.remote
            .entry(linkee.address())
            .or_default()
            .entry(linkee.clone())
            .or_default()
            .insert(linker.clone());
        self.linkees.entry(linker.clone()).or_default().insert(linkee.clone());
    }

    /// Removes the link from `linker` to `linkee`, wherever `linkee` is.
    pub(super) fn remove(&mut self, linker: &Pid, linkee: &Pid) {
        if let Some(linkers) = self.local.get_mut(linkee) {
            linkers.remove(linker);
        }
        if let Some(linkees) = self.remote.get_mut(&linkee.address())
            && let Some(linkers) = linkees.get_mut(linkee)
        {
            linkers.remove(linker);
        }
        self.forget_reverse(linker, linkee);
    }

    /// The connection to `peer` broke: removes every link to a process there and returns
    /// them (linkee -> its linkers), each linker to be told `exited`.
    pub(super) fn remove_peer(&mut self, peer: SocketAddr) -> PidMap<PidSet> {
        let linkees = self.remote.remove(&peer).unwrap_or_default();
        for (linkee, linkers) in &linkees {
            for linker in linkers {
                self.forget_reverse(linker, linkee);
            }
        }
        linkees
    }

    /// Process `pid` of the node at `local` terminated: removes the links to it and the
    /// links it made, and returns its linkers, each to be told `exited`.
    pub(super) fn remove_process(&mut self, pid: &Pid, local: SocketAddr) -> PidSet {
        // Processes linked to this one: returned to be told.
        let linkers = self.local.remove(pid).unwrap_or_default();
        for linker in &linkers {
            self.forget_reverse(linker, pid);
        }
        // Links this process made: removed, visiting only its own linkees.
        for linkee in self.linkees.remove(pid).unwrap_or_default() {
            if linkee.address() == local {
                if let Some(set) = self.local.get_mut(&linkee) {
                    set.remove(pid);
                }
            } else if let Some(linkees) = self.remote.get_mut(&linkee.address())
                && let Some(set) = linkees.get_mut(&linkee)
            {
                set.remove(pid);
            }
        }
        linkers
    }

    /// Forgets that `linker` links to `linkee`, in the reverse index only.
    fn forget_reverse(&mut self, linker: &Pid, linkee: &Pid) {
        if let Some(set) = self.linkees.get_mut(linker) {
            set.remove(linkee);
            if set.is_empty() {
                self.linkees.remove(linker);
            }
        }
    }
}
