//! A simulated network: many nodes in one OS process, with partitions.
//!
//! A whole cluster (three masters, agents, schedulers) can run inside one test: each node
//! has its own address but no socket. Messages between nodes are encoded exactly as on a
//! real network and delivered in order per pair of nodes. The test can cut the network
//! between two addresses ([`SimNetwork::partition`]), which drops messages both ways and
//! breaks the "connections" between them, so linked processes get `exited` as they would
//! when a TCP connection fails. A node that shuts down leaves the network, and processes
//! linked to processes there get `exited` too (a machine that died).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::message::{Connection, Envelope};
use crate::node::{Node, NodeInner};

#[derive(Default)]
struct State {
    nodes: HashMap<SocketAddr, Weak<NodeInner>>,
    /// Unordered pairs of addresses that cannot reach each other.
    cut: HashSet<(SocketAddr, SocketAddr)>,
    /// Addresses cut off from everyone.
    isolated: HashSet<SocketAddr>,
    dropped: u64,
    /// The "connection" each ordered pair of nodes (sender, receiver) talks on: opened
    /// by the first message, replaced after the pair is cut, as a TCP connection would
    /// be, so a receiver sees the same [`Connection`] as long as a real one would last.
    connections: HashMap<(SocketAddr, SocketAddr), Connection>,
}

impl State {
    /// Forgets every connection to or from `address`.
    fn close_connections(&mut self, address: SocketAddr) {
        self.connections.retain(|(from, to), _| *from != address && *to != address);
    }
}

/// The shared network of a simulated cluster. Cloning shares it.
#[derive(Clone, Default)]
pub struct SimNetwork {
    state: Arc<Mutex<State>>,
}

fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

impl SimNetwork {
    /// An empty network.
    pub fn new() -> SimNetwork {
        SimNetwork::default()
    }

    pub(crate) fn join(&self, node: &Node) {
        self.state.lock().nodes.insert(node.address(), node.downgrade());
    }

    pub(crate) fn leave(&self, address: SocketAddr) {
        let others = {
            let mut state = self.state.lock();
            state.nodes.remove(&address);
            state.close_connections(address);
            live_nodes(&state)
        };
        for node in others {
            node.connection_broken(address);
        }
    }

    fn reachable(state: &State, a: SocketAddr, b: SocketAddr) -> bool {
        !state.isolated.contains(&a)
            && !state.isolated.contains(&b)
            && !state.cut.contains(&pair(a, b))
    }

    /// Delivers an encoded message from the node at `from` to the node of `envelope.to`,
    /// unless the network between them is cut or that node does not exist.
    pub(crate) fn route(&self, from: SocketAddr, mut envelope: Envelope) {
        let target = {
            let mut state = self.state.lock();
            let to = envelope.to.address();
            let target = Self::reachable(&state, from, to)
                .then(|| state.nodes.get(&to).and_then(Weak::upgrade))
                .flatten();
            if target.is_none() {
                state.dropped += 1;
            } else {
                let connection =
                    *state.connections.entry((from, to)).or_insert_with(|| Connection::open(from));
                envelope.via = Some(connection);
            }
            target
        };
        if let Some(target) = target {
            Node::from_inner(target).deliver(envelope);
        }
    }

    /// A node links to a process at `peer`: if `peer` cannot be reached, the connection
    /// "fails" at once.
    pub(crate) fn connect(&self, node: &Node, peer: SocketAddr) {
        let reachable = {
            let state = self.state.lock();
            Self::reachable(&state, node.address(), peer)
                && state.nodes.get(&peer).is_some_and(|w| w.strong_count() > 0)
        };
        if !reachable {
            node.connection_broken(peer);
        }
    }

    /// Cuts the network between `a` and `b` (both directions).
    pub fn partition(&self, a: SocketAddr, b: SocketAddr) {
        let (node_a, node_b) = {
            let mut state = self.state.lock();
            state.cut.insert(pair(a, b));
            state.connections.remove(&(a, b));
            state.connections.remove(&(b, a));
            (upgrade(&state, a), upgrade(&state, b))
        };
        if let Some(node) = node_a {
            node.connection_broken(b);
        }
        if let Some(node) = node_b {
            node.connection_broken(a);
        }
    }

    /// Restores the network between `a` and `b`.
    pub fn heal(&self, a: SocketAddr, b: SocketAddr) {
        self.state.lock().cut.remove(&pair(a, b));
    }

    /// Cuts `address` off from every other node.
    pub fn isolate(&self, address: SocketAddr) {
        let (this, others) = {
            let mut state = self.state.lock();
            state.isolated.insert(address);
            state.close_connections(address);
            let others: Vec<Node> =
                live_nodes(&state).into_iter().filter(|n| n.address() != address).collect();
            (upgrade(&state, address), others)
        };
        for node in &others {
            node.connection_broken(address);
            if let Some(this) = &this {
                this.connection_broken(node.address());
            }
        }
    }

    /// Reconnects an isolated address.
    pub fn rejoin(&self, address: SocketAddr) {
        self.state.lock().isolated.remove(&address);
    }

    /// Messages lost to partitions or missing nodes so far.
    pub fn dropped(&self) -> u64 {
        self.state.lock().dropped
    }
}

fn upgrade(state: &State, address: SocketAddr) -> Option<Node> {
    state.nodes.get(&address).and_then(Weak::upgrade).map(Node::from_inner)
}

fn live_nodes(state: &State) -> Vec<Node> {
    state.nodes.values().filter_map(Weak::upgrade).map(Node::from_inner).collect()
}
