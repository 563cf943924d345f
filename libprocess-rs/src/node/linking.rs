//! Links and terminations: the node's side of the link table (`links`).
//!
//! Mesos: 3rdparty/libprocess/src/process.cpp `ProcessManager::link`, `cleanup`,
//! `SocketManager::exited`. The node changes the table under its lock and posts the
//! `exited` events after releasing it.
//!
//! A process table entry carries two flags, `linked` and `waited`, set under the lock
//! of the link table and of the waiters when a link or a waiter names the process. A
//! termination looks the pid up only where a flag says something may be there: a
//! process nobody linked with or waited for (most short-lived ones) skips three hash
//! lookups (ACT-2: 5,061 -> 4,543 instructions per spawn, dispatch and terminate).

use std::net::SocketAddr;

use super::{Links, Node, Transport};
use crate::node::LinkMode;
use crate::pid::Pid;
use crate::process::Event;

impl Node {
    /// Links `linker` (on this node) to `linkee`.
    pub fn link(&self, linker: &Pid, linkee: &Pid, mode: LinkMode) {
        if linkee.address() == self.inner.address {
            let alive = {
                let mut links = self.inner.links.lock();
                let alive = self.mark_linked(linkee);
                if alive {
                    self.mark_linker(&mut links, linker);
                    links.add_local(linker, linkee);
                }
                alive
            };
            if !alive {
                self.post_event(linker, Event::Exited(linkee.clone()));
            }
            return;
        }
        {
            let mut links = self.inner.links.lock();
            self.mark_linker(&mut links, linker);
            links.add_remote(linker, linkee);
        }
        match &*self.inner.transport.read() {
            Some(Transport::Tcp(tcp)) => tcp.connect(self, linkee.address(), mode),
            Some(Transport::Sim(sim)) => sim.connect(self, linkee.address()),
            None => {}
        }
    }

    /// Sets [`ProcessEntry::linked`] of local process `pid`, with the link table's lock
    /// held; false if there is no such process.
    fn mark_linked(&self, pid: &Pid) -> bool {
        match self.inner.processes.get_mut(pid.id()) {
            Some(mut entry) => {
                entry.linked = true;
                true
            }
            None => false,
        }
    }

    /// Notes that `linker` makes a link (the link table's lock held). A linker of this
    /// node that is no process here (a pid made up by a test, or a process gone or not
    /// yet spawned) is left in the table by a termination that trusts the flags, so the
    /// table stops trusting them: its process of the same id, should one come, must
    /// leave these links as it always did. Another node's pid is never a terminating
    /// process's, so no termination ever removes its links: nothing to note.
    fn mark_linker(&self, links: &mut Links, linker: &Pid) {
        if linker.address() == self.inner.address && !self.mark_linked(linker) {
            links.unregistered_linkers = true;
        }
    }

    /// Removes the link from `linker` to `linkee`.
    pub fn unlink(&self, linker: &Pid, linkee: &Pid) {
        self.inner.links.lock().remove(linker, linkee);
    }

    /// The connection to `peer` broke (or could not be made): every process linked to a
    /// process there gets `exited`, as in libprocess.
    pub(crate) fn connection_broken(&self, peer: SocketAddr) {
        let linkees = self.inner.links.lock().remove_peer(peer);
        for (linkee, linkers) in linkees {
            for linker in linkers {
                self.post_event(&linker, Event::Exited(linkee.clone()));
            }
        }
    }

    /// Called by a process's actor when it has stopped.
    pub(crate) fn process_terminated(&self, pid: &Pid) {
        // What the flags of its entry say it needs looked up; without an entry, all.
        let (linked, waited) = match self.inner.processes.remove(pid.id()) {
            Some((_, entry)) => {
                // Senders that cached this mailbox look the id up again from now on.
                entry.mailbox.mark_dead();
                (entry.linked, entry.waited)
            }
            None => (true, true),
        };
        let linkers = {
            let mut links = self.inner.links.lock();
            (linked || links.unregistered_linkers)
                .then(|| links.remove_process(pid, self.inner.address))
        };
        if let Some(linkers) = linkers {
            for linker in linkers {
                self.post_event(&linker, Event::Exited(pid.clone()));
            }
        }
        if waited {
            // Taken out first: the waiters are woken with the lock released.
            let waiters = self.inner.waiters.lock().remove(pid);
            for waiter in waiters.unwrap_or_default() {
                let _ = waiter.send(());
            }
        }
    }
}
