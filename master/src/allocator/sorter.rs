//! The hierarchical Dominant Resource Fairness (DRF) sorter.
//!
//! A sorter answers one question for the allocator: *in which order should
//! these clients be offered resources?* Clients are roles (in the role
//! sorter) or frameworks (in each role's framework sorter). DRF orders them
//! by increasing *dominant share*: for each client, the largest fraction of
//! any one resource of the cluster it holds, divided by its weight (DRF
//! paper, Ghodsi et al., NSDI 2011, section 4).
//!
//! Clients are named by `/`-separated paths (`eng/web`), which form a tree:
//! siblings compete by the share of their whole subtree, and the sort walks
//! the tree depth first, always entering the child with the lowest share.
//! A client can also be an ancestor of other clients (`eng` and `eng/web`);
//! then the node `eng` becomes internal and the client `eng` itself moves to a
//! virtual leaf `eng/.` that competes with `eng/web` as a sibling.
//!
//! ```text
//!            root               clients: "a", "b/c", "b/d", "b"
//!           /    \
//!          a      b             "b" is internal; the client "b"
//!               / | \           lives in the virtual leaf "b/."
//!              .  c  d
//! ```
//!
//! Ties are broken as Mesos does: lower share first, then fewer allocations
//! made so far (so equal clients take turns), then path order.
//!
//! # Cost
//! Shares are cached. `allocated`/`unallocated`/`update` change one path of
//! the tree and move each node on it to its new place among its siblings
//! (found by binary search: O(log n) comparisons and one `memmove` of the
//! child list) without re-sorting anything else. Only changes that move every
//! share (total resources, weights, new clients, activation) mark the tree
//! dirty; the next [`DrfSorter::sort`] then recomputes all shares once. The
//! order `sort` returns is cached; in a flat tree (a role's framework sorter)
//! a move updates it in place, otherwise it is rebuilt on the next `sort`.
//! The allocator sorts once per agent, so at 10,000 agents and 1,000
//! frameworks a rebuild or a linear move per agent would cost more than the
//! whole rest of the round.
//!
//! Mesos: `src/master/allocator/mesos/sorter/drf/sorter.{hpp,cpp}`.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::Hash;

use mesos_proto::resources::ResourceQuantities;

/// Weight of a node that has none configured (Mesos: `DEFAULT_WEIGHT`).
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// Index of a node in the sorter's arena.
type NodeId = usize;

/// The root is always the first node of the arena.
const ROOT: NodeId = 0;

/// What a node of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A client that wants resources: it takes part in the sort.
    ActiveLeaf,
    /// A client that wants nothing now (deactivated, or suppressed): it
    /// keeps its allocation but is not returned by `sort`.
    InactiveLeaf,
    /// An inner node (a role prefix); the root is always internal.
    Internal,
}

/// One node of the tree.
#[derive(Debug)]
struct Node<K> {
    /// Label of the edge from the parent; `"."` for a virtual leaf.
    name: String,
    /// Path from the root, `"a/b"`; a virtual leaf's path ends in `"/."`.
    path: String,
    /// Cached weighted dominant share; valid for active nodes when the tree
    /// is not dirty. Not used for the root.
    share: f64,
    /// The node's weight (from the sorter's weight table, keyed by `path`).
    weight: f64,
    kind: Kind,
    parent: Option<NodeId>,
    /// Invariant 1: active leaves and internal nodes first, inactive leaves
    /// last. Invariant 2: when the tree is not dirty, the first part is
    /// sorted by [`DrfSorter::compare`].
    children: Vec<NodeId>,
    /// The client this leaf stands for; `None` for internal nodes.
    client: Option<K>,
    /// How many allocations were made to this subtree; the first tie-break.
    /// Never decremented, so equal clients take turns (Mesos keeps it the
    /// same way, and also loses it on master failover).
    count: u64,
    /// Scalar quantities allocated to this subtree.
    allocated: ResourceQuantities,
}

impl<K> Node<K> {
    fn is_leaf(&self) -> bool {
        matches!(self.kind, Kind::ActiveLeaf | Kind::InactiveLeaf)
    }
}

/// A hierarchical, weighted DRF sorter over clients of type `K`.
///
/// `K` is the caller's handle for a client (a role or framework index, or
/// simply the path string in tests); each client also has a path that
/// places it in the tree and breaks ties. The number of clients is bounded
/// by the caller (the master bounds frameworks and roles); the sorter keeps
/// one node per path component.
#[derive(Debug)]
pub struct DrfSorter<K> {
    /// Arena of nodes; freed slots are listed in `free` and reused.
    nodes: Vec<Node<K>>,
    free: Vec<NodeId>,
    /// Leaf node of every client.
    clients: HashMap<K, NodeId>,
    /// Configured weights by path; may name paths not in the tree (yet).
    weights: HashMap<String, f64>,
    /// Resource names left out of share computation.
    fairness_exclude: BTreeSet<String>,
    /// Total resources the shares are fractions of.
    total: ResourceQuantities,
    /// When true, cached shares and sibling order are stale.
    dirty: bool,
    /// Cached result of `sort`; valid unless `order_stale`.
    order: Vec<K>,
    order_stale: bool,
    /// Number of internal nodes other than the root. Zero means the tree is
    /// flat (a role's framework sorter always is: framework ids have no `/`),
    /// and then `order` is the root's active children, index for index.
    internal_nodes: usize,
}

impl<K: Clone + Eq + Hash + Debug> Default for DrfSorter<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + Debug> DrfSorter<K> {
    /// An empty sorter with no resources and no clients.
    pub fn new() -> Self {
        let root = Node {
            name: String::new(),
            path: String::new(),
            share: 0.0,
            weight: DEFAULT_WEIGHT,
            kind: Kind::Internal,
            parent: None,
            children: Vec::new(),
            client: None,
            count: 0,
            allocated: ResourceQuantities::new(),
        };
        DrfSorter {
            nodes: vec![root],
            free: Vec::new(),
            clients: HashMap::new(),
            weights: HashMap::new(),
            fairness_exclude: BTreeSet::new(),
            total: ResourceQuantities::new(),
            dirty: false,
            order: Vec::new(),
            order_stale: false,
            internal_nodes: 0,
        }
    }

    /// Leaves the named resources out of share computation
    /// (Mesos: `--fair_sharing_excluded_resource_names`).
    pub fn set_fairness_exclude(&mut self, names: impl IntoIterator<Item = String>) {
        self.fairness_exclude = names.into_iter().collect();
        self.mark_dirty();
    }

    /// Adds `client` at `path` (`"a/b/c"`), initially inactive.
    ///
    /// Panics if `client` is already present or `path` is empty or has an
    /// empty component: the allocator validates roles and IDs first.
    // Mesos: sorter.cpp DRFSorter::add.
    pub fn add(&mut self, path: &str, client: K) {
        // Unreachable from messages: the allocator adds a client only where its index
        // maps say it is new (`track_framework_under_role`), and paths are role names
        // and framework ids that `Allocator::on_add_framework`, `on_update_framework`,
        // `on_add_agent` and `on_update_weights` validate first (`InvalidRole`,
        // `InvalidFrameworkId`), as the master does before them
        // (`core::frameworks::validate_framework_id_and_roles`).
        assert!(!self.clients.contains_key(&client), "client {client:?} already in sorter");
        assert!(
            !path.is_empty() && path.split('/').all(|t| !t.is_empty() && t != "."),
            "invalid sorter path {path:?}"
        );
        let tokens: Vec<&str> = path.split('/').collect();
        let mut next = 0;
        let mut current = ROOT;

        // Phase 1: walk down existing nodes (like `mkdir -p`).
        loop {
            if next == tokens.len() {
                // (a) The path names an existing internal node: the client
                // becomes a virtual leaf "." under it.
                let virt = self.new_node(".", Kind::InactiveLeaf, current, Some(client.clone()));
                self.add_child(current, virt);
                current = virt;
                break;
            }
            if self.nodes[current].is_leaf() {
                // (b) A leaf is a prefix of the new path: it becomes internal
                // and its client moves to a virtual leaf below it.
                self.make_internal(current);
                break;
            }
            let found = self.nodes[current]
                .children
                .iter()
                .copied()
                .find(|&c| self.nodes[c].name == tokens[next]);
            match found {
                Some(child) => {
                    current = child;
                    next += 1;
                }
                // (c) Nothing further exists.
                None => break,
            }
        }

        // Phase 2: create the rest of the path; the last node is the client.
        while next < tokens.len() {
            let last = next + 1 == tokens.len();
            let (kind, leaf_client) = if last {
                (Kind::InactiveLeaf, Some(client.clone()))
            } else {
                (Kind::Internal, None)
            };
            let child = self.new_node(tokens[next], kind, current, leaf_client);
            self.add_child(current, child);
            current = child;
            next += 1;
        }

        debug_assert!(self.nodes[current].children.is_empty());
        debug_assert_eq!(self.nodes[current].kind, Kind::InactiveLeaf);
        self.clients.insert(client, current);
        self.mark_dirty();
    }

    /// Case (b) of `add`: turns leaf `node` into an internal node whose
    /// client moves to a new virtual leaf that inherits its allocation.
    fn make_internal(&mut self, node: NodeId) {
        let old_kind = self.nodes[node].kind;
        let parent = self.parent_of(node);
        self.remove_child(parent, node);
        self.nodes[node].kind = Kind::Internal;
        self.internal_nodes += 1;
        self.add_child(parent, node);

        let client = self.nodes[node].client.take();
        let virt = self.new_node(".", old_kind, node, client.clone());
        self.nodes[virt].count = self.nodes[node].count;
        self.nodes[virt].allocated = self.nodes[node].allocated.clone();
        self.add_child(node, virt);
        if let Some(client) = client {
            self.clients.insert(client, virt);
        }
    }

    /// Removes `client` and its allocation; prunes nodes left without
    /// clients and collapses a lone virtual leaf back into its parent.
    /// Panics if `client` is unknown.
    // Mesos: sorter.cpp DRFSorter::remove.
    pub fn remove(&mut self, client: &K) {
        let mut current = self.leaf(client);
        self.clients.remove(client);
        let leaf_allocation = self.nodes[current].allocated.clone();

        while current != ROOT {
            let parent = self.parent_of(current);
            self.nodes[parent].allocated.subtract(&leaf_allocation);

            if self.nodes[current].children.is_empty() {
                self.remove_child(parent, current);
                self.free_node(current);
            } else if self.nodes[current].children.len() == 1 {
                let only = self.nodes[current].children[0];
                if self.nodes[only].name == "." {
                    // Collapse: `current` becomes the client's leaf again.
                    let kind = self.nodes[only].kind;
                    let only_client = self.nodes[only].client.take();
                    self.remove_child(current, only);
                    self.free_node(only);
                    self.remove_child(parent, current);
                    self.nodes[current].kind = kind;
                    self.internal_nodes -= 1;
                    self.add_child(parent, current);
                    if let Some(c) = only_client.clone() {
                        self.clients.insert(c, current);
                    }
                    self.nodes[current].client = only_client;
                }
            }
            current = parent;
        }
        self.mark_dirty();
    }

    /// Makes `client` take part in `sort`. Panics if unknown.
    pub fn activate(&mut self, client: &K) {
        let node = self.leaf(client);
        if self.nodes[node].kind == Kind::InactiveLeaf {
            let parent = self.parent_of(node);
            self.remove_child(parent, node);
            self.nodes[node].kind = Kind::ActiveLeaf;
            self.add_child(parent, node);
            // Its share may be stale; recompute everything on the next sort.
            self.mark_dirty();
        }
    }

    /// Takes `client` out of `sort`, keeping its allocation. Panics if unknown.
    pub fn deactivate(&mut self, client: &K) {
        let node = self.leaf(client);
        if self.nodes[node].kind == Kind::ActiveLeaf {
            let parent = self.parent_of(node);
            self.remove_child(parent, node);
            self.nodes[node].kind = Kind::InactiveLeaf;
            // Moving a node to the inactive tail keeps the rest sorted.
            self.add_child(parent, node);
            self.order_stale = true;
        }
    }

    /// True when `client` is in the sorter and active.
    pub fn is_active(&self, client: &K) -> bool {
        self.clients.get(client).is_some_and(|&n| self.nodes[n].kind == Kind::ActiveLeaf)
    }

    /// Sets the weight of `path` (a client or an inner role). The path
    /// need not exist yet; the weight applies when it appears.
    // Mesos: sorter.cpp DRFSorter::updateWeight.
    pub fn update_weight(&mut self, path: &str, weight: f64) {
        // Unreachable from messages: the only caller, `Allocator::on_update_weights`,
        // answers `InvalidWeight` for a weight that is not positive and finite.
        assert!(weight > 0.0 && weight.is_finite(), "invalid weight {weight} for {path}");
        self.weights.insert(path.to_string(), weight);
        if let Some(node) = self.find_path(path) {
            self.nodes[node].weight = weight;
        }
        self.mark_dirty();
    }

    /// Records that `resources` were allocated (or offered) to `client`.
    /// Panics if `client` is unknown.
    // Mesos: sorter.cpp DRFSorter::allocated.
    pub fn allocated(&mut self, client: &K, resources: &ResourceQuantities) {
        let leaf = self.leaf(client);
        let mut current = Some(leaf);
        while let Some(node) = current {
            let at = self.detach(node);
            self.nodes[node].allocated += resources;
            self.nodes[node].count += 1;
            self.reattach(node, at);
            current = self.nodes[node].parent;
        }
    }

    /// Records that `resources` held by `client` were returned.
    /// Panics if `client` is unknown or does not hold them.
    // Mesos: sorter.cpp DRFSorter::unallocated. Mesos marks the whole tree
    // dirty here; we move the affected nodes instead, as `allocated` does.
    pub fn unallocated(&mut self, client: &K, resources: &ResourceQuantities) {
        let leaf = self.leaf(client);
        let mut current = Some(leaf);
        while let Some(node) = current {
            let at = self.detach(node);
            self.nodes[node].allocated.subtract(resources);
            self.reattach(node, at);
            current = self.nodes[node].parent;
        }
    }

    /// Replaces `old` by `new` in `client`'s allocation (an operation such
    /// as RESERVE changed what it holds) without counting an allocation.
    // Mesos: sorter.cpp DRFSorter::update.
    pub fn update(&mut self, client: &K, old: &ResourceQuantities, new: &ResourceQuantities) {
        let leaf = self.leaf(client);
        let mut current = Some(leaf);
        while let Some(node) = current {
            let at = self.detach(node);
            self.nodes[node].allocated.subtract(old);
            self.nodes[node].allocated += new;
            self.reattach(node, at);
            current = self.nodes[node].parent;
        }
    }

    /// Scalar quantities allocated to `client`. Panics if unknown.
    pub fn allocation(&self, client: &K) -> &ResourceQuantities {
        &self.nodes[self.leaf(client)].allocated
    }

    /// Scalar quantities allocated to all clients together.
    pub fn total_allocation(&self) -> &ResourceQuantities {
        &self.nodes[ROOT].allocated
    }

    /// Adds an agent's resources to the total the shares are taken of.
    pub fn add_total(&mut self, quantities: &ResourceQuantities) {
        self.total += quantities;
        self.mark_dirty();
    }

    /// Removes an agent's resources from the total. Panics when the total
    /// does not hold them (the caller added them before).
    pub fn remove_total(&mut self, quantities: &ResourceQuantities) {
        self.total.subtract(quantities);
        self.mark_dirty();
    }

    /// The total the shares are taken of.
    pub fn total(&self) -> &ResourceQuantities {
        &self.total
    }

    /// The current weighted dominant share of `client`. Panics if unknown.
    pub fn share(&self, client: &K) -> f64 {
        self.calculate_share(self.leaf(client))
    }

    /// True when `client` is in the sorter (active or not).
    pub fn contains(&self, client: &K) -> bool {
        self.clients.contains_key(client)
    }

    /// Number of clients, active or not.
    pub fn count(&self) -> usize {
        self.clients.len()
    }

    /// The active clients in DRF order: the subtree with the lowest share
    /// first, recursively. Cheap when nothing changed since the last call.
    // Mesos: sorter.cpp DRFSorter::sort.
    pub fn sort(&mut self) -> &[K] {
        if self.dirty {
            self.sort_tree(ROOT);
            self.dirty = false;
            self.order_stale = true;
        }
        if self.order_stale {
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            self.list_active(ROOT, &mut order);
            self.order = order;
            self.order_stale = false;
        }
        &self.order
    }

    // ----- internals -----

    fn mark_dirty(&mut self) {
        self.dirty = true;
        self.order_stale = true;
    }

    fn leaf(&self, client: &K) -> NodeId {
        // The allocator only names clients it added: it allocates to a framework after
        // `track_framework_under_role`, and removes it from a role's sorter only once it
        // holds nothing there (`try_untrack_framework_under_role`).
        match self.clients.get(client) {
            Some(&node) => node,
            None => panic!("unknown sorter client {client:?}"),
        }
    }

    fn parent_of(&self, node: NodeId) -> NodeId {
        match self.nodes[node].parent {
            Some(parent) => parent,
            None => panic!("the root has no parent"),
        }
    }

    fn new_node(&mut self, name: &str, kind: Kind, parent: NodeId, client: Option<K>) -> NodeId {
        let path = if parent == ROOT {
            name.to_string()
        } else {
            format!("{}/{}", self.nodes[parent].path, name)
        };
        let weight = self.weights.get(&path).copied().unwrap_or(DEFAULT_WEIGHT);
        if kind == Kind::Internal {
            self.internal_nodes += 1;
        }
        let node = Node {
            name: name.to_string(),
            path,
            share: 0.0,
            weight,
            kind,
            parent: Some(parent),
            children: Vec::new(),
            client,
            count: 0,
            allocated: ResourceQuantities::new(),
        };
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn free_node(&mut self, node: NodeId) {
        if self.nodes[node].kind == Kind::Internal {
            self.internal_nodes -= 1;
        }
        let slot = &mut self.nodes[node];
        slot.children = Vec::new();
        slot.client = None;
        slot.parent = None;
        slot.allocated = ResourceQuantities::new();
        self.free.push(node);
    }

    /// Inserts `child` keeping invariant 1 (inactive leaves last); the
    /// caller keeps invariant 2, usually by marking the tree dirty.
    fn add_child(&mut self, parent: NodeId, child: NodeId) {
        debug_assert!(!self.nodes[parent].children.contains(&child));
        if self.nodes[child].kind == Kind::InactiveLeaf {
            self.nodes[parent].children.push(child);
        } else {
            self.nodes[parent].children.insert(0, child);
        }
        self.order_stale = true;
    }

    fn remove_child(&mut self, parent: NodeId, child: NodeId) {
        let children = &mut self.nodes[parent].children;
        match children.iter().position(|&c| c == child) {
            Some(i) => {
                children.remove(i);
            }
            None => panic!("node {child} is not a child of {parent}"),
        }
        self.order_stale = true;
    }

    /// Finds the node at `path` (client or internal), if present.
    fn find_path(&self, path: &str) -> Option<NodeId> {
        let mut current = ROOT;
        for token in path.split('/') {
            current = self.nodes[current]
                .children
                .iter()
                .copied()
                .find(|&c| self.nodes[c].name == token)?;
        }
        Some(current)
    }

    /// Takes `node` out of its parent's sorted children before its allocation
    /// changes, and returns where it was, for [`DrfSorter::reattach`]. `None`
    /// (nothing taken out) while the tree is dirty (the next sort redoes
    /// everything), and for the root and inactive leaves (never sorted).
    ///
    /// The active children are sorted by [`DrfSorter::compare`] on the cached
    /// shares and counts, which `node` still has here, so a binary search finds
    /// it: O(log n) comparisons where a scan over 1,000 frameworks was O(n).
    fn detach(&mut self, node: NodeId) -> Option<usize> {
        if self.dirty || node == ROOT || self.nodes[node].kind == Kind::InactiveLeaf {
            return None;
        }
        let parent = self.parent_of(node);
        let siblings = &self.nodes[parent].children;
        let found = siblings.partition_point(|&c| self.is_before(c, node));
        let pos = if siblings.get(found) == Some(&node) {
            found
        } else {
            // The cached order was broken (it never is unless a bug changed a share
            // without moving the node): resort everything on the next `sort`.
            debug_assert!(false, "node {node} not where its cached share sorts it");
            self.mark_dirty();
            return None;
        };
        self.nodes[parent].children.remove(pos);
        Some(pos)
    }

    /// Puts `node`, taken out by [`DrfSorter::detach`] from position `at`, back
    /// at its place for its new share. The flat order `sort` returns is moved the
    /// same way when the tree is flat (every client a child of the root, as in a
    /// role's framework sorter), instead of being rebuilt on the next `sort`.
    // Mesos: sorter.cpp DRFSorter::allocated, the shifting loop.
    fn reattach(&mut self, node: NodeId, at: Option<usize>) {
        let Some(old) = at else { return };
        self.nodes[node].share = self.calculate_share(node);
        let parent = self.parent_of(node);
        let siblings = &self.nodes[parent].children;
        let new = siblings.partition_point(|&c| self.is_before(c, node));
        self.nodes[parent].children.insert(new, node);
        if old == new {
            return;
        }
        if parent == ROOT && self.internal_nodes == 0 && !self.order_stale {
            // Flat tree: the order is the root's active children, index for index.
            let client = self.order.remove(old);
            self.order.insert(new, client);
        } else {
            self.order_stale = true;
        }
    }

    /// True when sibling `c` sorts before `node`: an active sibling lower in DRF
    /// order. Inactive leaves (the tail of a child list) never do.
    fn is_before(&self, c: NodeId, node: NodeId) -> bool {
        self.nodes[c].kind != Kind::InactiveLeaf && self.compare(c, node) == Ordering::Less
    }

    /// DRF order between two siblings: share, then allocation count, then
    /// path. Mesos: sorter.hpp DRFSorter::Node::compareDRF.
    fn compare(&self, left: NodeId, right: NodeId) -> Ordering {
        let (l, r) = (&self.nodes[left], &self.nodes[right]);
        l.share.total_cmp(&r.share).then(l.count.cmp(&r.count)).then_with(|| l.path.cmp(&r.path))
    }

    /// Weighted dominant share of `node`'s subtree.
    // Mesos: sorter.cpp DRFSorter::calculateShare.
    fn calculate_share(&self, node: NodeId) -> f64 {
        let node = &self.nodes[node];
        let mut share = 0.0f64;
        for (name, total) in self.total.iter_fixed() {
            if total <= 0 || self.fairness_exclude.contains(name) {
                continue;
            }
            let allocated = node.allocated.get_fixed(name);
            share = share.max(allocated as f64 / total as f64);
        }
        share / node.weight
    }

    /// Recomputes shares and re-sorts the active part of every child list.
    fn sort_tree(&mut self, node: NodeId) {
        let mut children = std::mem::take(&mut self.nodes[node].children);
        let active = children
            .iter()
            .position(|&c| self.nodes[c].kind == Kind::InactiveLeaf)
            .unwrap_or(children.len());
        for &child in &children[..active] {
            self.nodes[child].share = self.calculate_share(child);
        }
        children[..active].sort_by(|&a, &b| self.compare(a, b));
        for &child in &children[..active] {
            if self.nodes[child].kind == Kind::Internal {
                self.sort_tree(child);
            }
        }
        self.nodes[node].children = children;
    }

    /// Pre-order walk listing active leaves; children are already sorted.
    fn list_active(&self, node: NodeId, out: &mut Vec<K>) {
        for &child in &self.nodes[node].children {
            let child_node = &self.nodes[child];
            match child_node.kind {
                Kind::ActiveLeaf => {
                    if let Some(client) = &child_node.client {
                        out.push(client.clone());
                    }
                }
                Kind::InactiveLeaf => return,
                Kind::Internal => self.list_active(child, out),
            }
        }
    }
}

#[cfg(test)]
#[path = "sorter_tests.rs"]
mod tests;
