//! Pointing clients at the leader: which agents and schedulers a master tells where the
//! leader is, and when.
//!
//! Mesos's agents and scheduler drivers learn of a new leader from ZooKeeper: they
//! watch the election and hear of its outcome the moment it is decided. Here there is
//! no ZooKeeper; a client that lost its master asks the masters in turn, and a master
//! that does not lead answers with a `NewMasterDetectedMessage` naming the leader. That
//! answer needs a leader to name. During an election (0.5-1 s) nobody has one, the
//! message is dropped, and the client waits for its next try: our agents back off
//! between masters with random waits of up to 2 s, so after a failover most of them
//! came back seconds after the leader was already acting (issue 18, FAIL-1: at 10,000
//! agents the new leader acted after 0.9 s and the last agent came back after 6 s).
//!
//! So a master that knows no leader remembers who asked ([`AwaitingLeader`]), as a
//! ZooKeeper watch would, and tells them as soon as it learns of one: a follower when
//! raft names the leader, the new leader itself when it starts acting. The agents and
//! schedulers a deposed leader had are remembered the same way. Each client is told
//! once; the set is bounded ([`MAX_AWAITING`]).

use std::collections::HashSet;

use libprocess::{Context, Pid};
use mesos_proto::extensions::NewMasterDetectedMessage;

use super::{MasterProcess, Role};

/// Clients remembered at most. More than any cluster's agents and frameworks (Mesos's
/// scale tests go to 50,000 agents), and a bound on what a flood of forged senders can
/// make a master send once a leader is known: one small message each.
pub(super) const MAX_AWAITING: usize = 100_000;

/// The clients to tell where the leader is once it is known.
#[derive(Debug, Default)]
pub(crate) struct AwaitingLeader {
    clients: HashSet<Pid>,
}

impl AwaitingLeader {
    /// Remembers `client`; false if the set is full (the client is not remembered).
    pub(crate) fn remember(&mut self, client: Pid) -> bool {
        if self.clients.len() >= MAX_AWAITING && !self.clients.contains(&client) {
            return false;
        }
        self.clients.insert(client);
        true
    }

    /// Everyone remembered, forgotten here.
    pub(crate) fn take(&mut self) -> HashSet<Pid> {
        std::mem::take(&mut self.clients)
    }

    /// How many clients wait.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }
}

/// The message naming `leader` (Mesos 0.x's name for it).
fn announcement(leader: &Pid) -> NewMasterDetectedMessage {
    NewMasterDetectedMessage { pid: leader.to_string() }
}

impl MasterProcess {
    /// Tells every client waiting for a leader that `leader` leads
    /// (`NewMasterDetectedMessage`): they (re-)register there at once instead of waiting
    /// for their next try. `leader` may be this master, acting now.
    pub(super) fn announce_leader(&mut self, leader: &Pid, ctx: &mut Context<'_, Self>) {
        let clients = self.awaiting_leader.take();
        if clients.is_empty() {
            return;
        }
        tracing::info!(%leader, clients = clients.len(), "telling the agents and schedulers that asked (or that the deposed leader had) where the leader is");
        let announce = announcement(leader);
        for client in clients {
            ctx.send(&client, announce.clone());
        }
    }

    /// A message reached a master that does not lead: it is dropped, and its sender is
    /// told where the leader is (`NewMasterDetectedMessage`), now if that is known, else
    /// as soon as it is.
    pub(super) fn on_message_not_leading(
        &mut self,
        from: &Pid,
        pong: bool,
        ctx: &mut Context<'_, Self>,
    ) {
        ctx.node().metrics().counter("master/dropped_messages").inc();
        // Pongs answer our own old pings; everything else deserves the pointer.
        if pong {
            return;
        }
        if let Role::Following { leader: Some(leader) } = &self.role {
            return ctx.send(from, announcement(leader));
        }
        if !self.awaiting_leader.remember(from.clone()) {
            ctx.node().metrics().counter("master/clients_awaiting_leader_dropped").inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: usize) -> Pid {
        format!("slave({n})@127.0.0.1:5051").parse().unwrap()
    }

    #[test]
    fn each_client_is_remembered_once_and_taken_once() {
        let mut awaiting = AwaitingLeader::default();
        assert!(awaiting.remember(pid(1)));
        assert!(awaiting.remember(pid(1)));
        assert!(awaiting.remember(pid(2)));
        assert_eq!(awaiting.len(), 2);
        assert_eq!(awaiting.take(), HashSet::from([pid(1), pid(2)]));
        assert!(awaiting.take().is_empty(), "told once");
    }

    #[test]
    fn the_set_is_bounded() {
        let mut awaiting = AwaitingLeader::default();
        for n in 0..MAX_AWAITING {
            assert!(awaiting.remember(pid(n)));
        }
        assert!(!awaiting.remember(pid(MAX_AWAITING)), "a new client past the bound");
        assert!(awaiting.remember(pid(7)), "one already remembered stays");
        assert_eq!(awaiting.len(), MAX_AWAITING);
    }
}
