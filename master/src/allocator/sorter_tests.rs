//! Unit tests of the DRF sorter, ported from Mesos's `src/tests/sorter_tests.cpp`
//! (`DRFSorterTest.*`, `CommonSorterTest.*`) plus the DRF paper's example.
//!
//! Mesos's sorter takes `Resources` per agent; ours takes scalar quantities,
//! so `addSlave`/`removeSlave` become `add_total`/`remove_total` and the
//! per-agent `allocation(client, agent)` checks become quantity checks.

use super::DrfSorter;
use mesos_proto::resources::ResourceQuantities;

fn q(text: &str) -> ResourceQuantities {
    ResourceQuantities::parse(text).expect("test quantities parse")
}

/// A sorter whose client handles are their own paths, as in Mesos's tests.
struct Sorter(DrfSorter<&'static str>);

impl Sorter {
    fn new(total: &str) -> Self {
        let mut sorter = DrfSorter::new();
        sorter.add_total(&q(total));
        Sorter(sorter)
    }
    /// `add` followed by `activate`, the common case in Mesos's tests.
    fn add(&mut self, path: &'static str) {
        self.0.add(path, path);
        self.0.activate(&path);
    }
    fn alloc(&mut self, client: &'static str, resources: &str) {
        self.0.allocated(&client, &q(resources));
    }
    fn unalloc(&mut self, client: &'static str, resources: &str) {
        self.0.unallocated(&client, &q(resources));
    }
    fn set_total(&mut self, old: &str, new: &str) {
        self.0.remove_total(&q(old));
        self.0.add_total(&q(new));
    }
    fn sort(&mut self) -> Vec<&'static str> {
        self.0.sort().to_vec()
    }
}

/// Mesos `DRFSorterTest.DRF`: clients sort by dominant share as allocations,
/// removals and the total change; deactivated clients drop out of the sort.
#[test]
fn drf() {
    let mut s = Sorter::new("cpus:100;mem:100");
    assert!(s.sort().is_empty());

    s.add("a");
    s.alloc("a", "cpus:5;mem:5");
    s.add("b");
    s.alloc("b", "cpus:6;mem:6");
    // shares: a = .05, b = .06
    assert_eq!(s.sort(), ["a", "b"]);

    s.add("c");
    s.alloc("c", "cpus:1;mem:1");
    s.add("d");
    s.alloc("d", "cpus:3;mem:1");
    // shares: a = .05, b = .06, c = .01, d = .03
    assert_eq!(s.sort(), ["c", "d", "a", "b"]);

    s.0.remove(&"a");
    s.unalloc("b", "cpus:4;mem:4");
    // shares: b = .02, c = .01, d = .03
    assert_eq!(s.sort(), ["c", "b", "d"]);

    s.add("e");
    s.alloc("e", "cpus:1;mem:5");
    s.set_total("cpus:100;mem:100", "cpus:50;mem:100");
    // shares: b = .04, c = .02, d = .06, e = .05
    assert_eq!(s.sort(), ["c", "b", "e", "d"]);

    s.set_total("cpus:50;mem:100", "cpus:50;mem:200");
    s.add("f");
    s.alloc("f", "cpus:5;mem:1");
    s.alloc("c", "cpus:0;mem:15");
    // shares: b = .04, c = .08, d = .06, e = .025, f = .1
    assert_eq!(s.sort(), ["e", "b", "d", "c", "f"]);

    assert!(s.0.contains(&"b"));
    assert!(!s.0.contains(&"a"));
    assert_eq!(s.0.count(), 5);

    s.0.deactivate(&"d");
    assert!(s.0.contains(&"d"));
    assert_eq!(s.sort(), ["e", "b", "c", "f"]);
    assert_eq!(s.0.count(), 5);

    s.0.activate(&"d");
    assert_eq!(s.sort(), ["e", "b", "d", "c", "f"]);
}

/// Mesos `DRFSorterTest.WDRF`: shares are divided by the client's weight.
#[test]
fn wdrf() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.alloc("a", "cpus:5;mem:5");
    s.add("b");
    s.0.update_weight("b", 2.0);
    s.alloc("b", "cpus:6;mem:6");
    // shares: a = .05, b = .03
    assert_eq!(s.sort(), ["b", "a"]);

    s.add("c");
    s.alloc("c", "cpus:4;mem:4");
    // shares: a = .05, b = .03, c = .04
    assert_eq!(s.sort(), ["b", "c", "a"]);

    s.add("d");
    s.0.update_weight("d", 10.0);
    s.alloc("d", "cpus:10;mem:20");
    // shares: a = .05, b = .03, c = .04, d = .02
    assert_eq!(s.sort(), ["d", "b", "c", "a"]);

    s.0.remove(&"b");
    assert_eq!(s.sort(), ["d", "c", "a"]);

    s.alloc("d", "cpus:10;mem:25");
    // shares: a = .05, c = .04, d = .045
    assert_eq!(s.sort(), ["c", "d", "a"]);

    s.add("e");
    s.0.update_weight("e", 0.1);
    s.alloc("e", "cpus:1;mem:1");
    // shares: a = .05, c = .04, d = .045, e = .1
    assert_eq!(s.sort(), ["c", "d", "a", "e"]);

    s.0.remove(&"a");
    assert_eq!(s.sort(), ["c", "d", "e"]);
}

/// Mesos `DRFSorterTest.UpdateWeight`: changing a weight re-orders at once.
#[test]
fn update_weight() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.alloc("a", "cpus:5;mem:5");
    s.add("b");
    s.alloc("b", "cpus:6;mem:6");
    // shares: a = .05, b = .06
    assert_eq!(s.sort(), ["a", "b"]);
    s.0.update_weight("b", 2.0);
    // shares: a = .05, b = .03
    assert_eq!(s.sort(), ["b", "a"]);
}

/// Mesos `DRFSorterTest.AllocationCountTieBreak`: with equal shares, the
/// client that was allocated to fewer times goes first; the count survives
/// unallocation and deactivation, and counts allocations while inactive.
#[test]
fn allocation_count_tie_break() {
    let mut s = Sorter::new("cpus:100;mem:100");
    for c in ["a", "b", "c", "d", "e"] {
        s.add(c);
    }
    s.alloc("a", "cpus:3;mem:3");
    s.alloc("b", "cpus:3;mem:3");
    s.alloc("c", "cpus:1;mem:1");
    s.alloc("c", "cpus:1;mem:1");
    s.alloc("c", "cpus:1;mem:1");
    s.alloc("d", "cpus:2;mem:2");
    s.alloc("d", "cpus:1;mem:1");
    s.alloc("e", "cpus:3;mem:3");
    // Allocation count: {a,b,e} = 1, {d} = 2, {c} = 3.
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);

    s.unalloc("c", "cpus:3;mem:3");
    assert_eq!(s.sort(), ["c", "a", "b", "e", "d"]);

    s.alloc("c", "cpus:3;mem:3");
    // Allocation count: {a,b,e} = 1, {d} = 2, {c} = 4.
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);

    s.0.deactivate(&"c");
    s.0.activate(&"c");
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);

    s.unalloc("c", "cpus:3;mem:3");
    s.alloc("c", "cpus:3;mem:3");
    // Allocation count: {a,b,e} = 1, {d} = 2, {c} = 5.
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);

    s.0.deactivate(&"a");
    s.unalloc("a", "cpus:1;mem:3");
    s.alloc("a", "cpus:1;mem:3");
    // Allocation count: {b,e} = 1, {d} = 2, {c} = 5.
    assert_eq!(s.sort(), ["b", "e", "d", "c"]);

    s.0.activate(&"a");
    // Allocation count: {b,e} = 1, {a,d} = 2, {c} = 5.
    assert_eq!(s.sort(), ["b", "e", "a", "d", "c"]);
}

/// Runs the `DRF` scenario with every client renamed by `rename`; used by
/// the shallow and deep hierarchy ports, where nesting in disjoint branches
/// must not change the order.
fn drf_scenario_with(rename: impl Fn(&str) -> &'static str) {
    let [a, b, c, d, e, f] = ["a", "b", "c", "d", "e", "f"].map(&rename);
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add(a);
    s.alloc(a, "cpus:5;mem:5");
    s.add(b);
    s.alloc(b, "cpus:6;mem:6");
    assert_eq!(s.sort(), [a, b]);
    s.add(c);
    s.alloc(c, "cpus:1;mem:1");
    s.add(d);
    s.alloc(d, "cpus:3;mem:1");
    assert_eq!(s.sort(), [c, d, a, b]);
    s.0.remove(&a);
    s.unalloc(b, "cpus:4;mem:4");
    assert_eq!(s.sort(), [c, b, d]);
    s.add(e);
    s.alloc(e, "cpus:1;mem:5");
    s.set_total("cpus:100;mem:100", "cpus:50;mem:100");
    assert_eq!(s.sort(), [c, b, e, d]);
    s.set_total("cpus:50;mem:100", "cpus:50;mem:200");
    s.add(f);
    s.alloc(f, "cpus:5;mem:1");
    s.alloc(c, "cpus:0;mem:15");
    assert_eq!(s.sort(), [e, b, d, c, f]);
    assert!(s.0.contains(&b));
    assert!(!s.0.contains(&a));
    assert_eq!(s.0.count(), 5);
    s.0.deactivate(&d);
    assert_eq!(s.sort(), [e, b, c, f]);
    s.0.activate(&d);
    assert_eq!(s.sort(), [e, b, d, c, f]);
}

/// Mesos `DRFSorterTest.ShallowHierarchy`: `x/x` clients in disjoint
/// branches order exactly as flat clients do.
#[test]
fn shallow_hierarchy() {
    drf_scenario_with(|n| match n {
        "a" => "a/a",
        "b" => "b/b",
        "c" => "c/c",
        "d" => "d/d",
        "e" => "e/e",
        _ => "f/f",
    });
}

/// Mesos `DRFSorterTest.DeepHierarchy`: clients at different depths in
/// disjoint branches order exactly as flat clients do.
#[test]
fn deep_hierarchy() {
    drf_scenario_with(|n| match n {
        "a" => "a/a/a/a/a",
        "b" => "b/b/b/b",
        "c" => "c/c/c",
        "d" => "d/d",
        "e" => "e/e/e/e/e/e",
        _ => "f/f",
    });
}

/// Mesos `DRFSorterTest.HierarchicalAllocation`: subtrees compete by their
/// aggregate share, then clients within the winning subtree.
#[test]
fn hierarchical_allocation() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.add("b/c");
    s.add("b/d");
    assert_eq!(s.0.count(), 3);
    assert!(s.0.contains(&"a"));
    assert!(!s.0.contains(&"b"));
    assert!(s.0.contains(&"b/c"));
    assert!(s.0.contains(&"b/d"));
    // Shares: a = 0, b/c = 0, b/d = 0.
    assert_eq!(s.sort(), ["a", "b/c", "b/d"]);

    s.alloc("a", "cpus:6;mem:6");
    // Shares: a = 0.06, b/c = 0, b/d = 0.
    assert_eq!(s.sort(), ["b/c", "b/d", "a"]);

    s.alloc("b/c", "cpus:4;mem:4");
    s.alloc("b/d", "cpus:3;mem:3");
    // Shares: a = 0.06, b/d = 0.03, b/c = 0.04.
    assert_eq!(s.sort(), ["a", "b/d", "b/c"]);
    assert_eq!(s.0.allocation(&"a"), &q("cpus:6;mem:6"));
    assert_eq!(s.0.allocation(&"b/c"), &q("cpus:4;mem:4"));
    assert_eq!(s.0.allocation(&"b/d"), &q("cpus:3;mem:3"));
    assert_eq!(s.0.total_allocation(), &q("cpus:13;mem:13"));

    s.alloc("a", "cpus:2;mem:2");
    // Shares: b/d = 0.03, b/c = 0.04, a = 0.08.
    assert_eq!(s.sort(), ["b/d", "b/c", "a"]);

    s.add("b/e/f");
    assert!(!s.0.contains(&"b/e"));
    assert!(s.0.contains(&"b/e/f"));
    // Shares: b/e/f = 0, b/d = 0.03, b/c = 0.04, a = 0.08.
    assert_eq!(s.sort(), ["b/e/f", "b/d", "b/c", "a"]);

    s.alloc("b/e/f", "cpus:3.5;mem:3.5");
    // Shares: a = 0.08, b/d = 0.03, b/e/f = 0.035, b/c = 0.04.
    assert_eq!(s.sort(), ["a", "b/d", "b/e/f", "b/c"]);

    s.0.remove(&"b/e/f");
    assert!(!s.0.contains(&"b/e/f"));
    assert_eq!(s.0.count(), 3);
    // Shares: b/d = 0.03, b/c = 0.04, a = 0.08.
    assert_eq!(s.sort(), ["b/d", "b/c", "a"]);

    s.0.update(&"b/c", &q("cpus:4;mem:4"), &q("cpus:1;mem:1"));
    // Shares: b/c = 0.01, b/d = 0.03, a = 0.08.
    assert_eq!(s.sort(), ["b/c", "b/d", "a"]);

    s.add("b/e/f");
    s.alloc("b/e/f", "cpus:3.5;mem:3.5");
    // Shares: b/c = 0.01, b/d = 0.03, b/e/f = 0.035, a = 0.08.
    assert_eq!(s.sort(), ["b/c", "b/d", "b/e/f", "a"]);
    assert_eq!(s.0.count(), 4);
}

/// Mesos `DRFSorterTest.HierarchicalIterationOrder`: the sort is a
/// pre-order walk entering the lowest-share subtree first.
#[test]
fn hierarchical_iteration_order() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a/b");
    s.add("c");
    s.add("d");
    s.add("d/e");
    assert_eq!(s.sort(), ["a/b", "c", "d", "d/e"]);
    s.alloc("c", "cpus:8;mem:8");
    assert_eq!(s.sort(), ["a/b", "d", "d/e", "c"]);
    s.alloc("d", "cpus:3;mem:3");
    s.alloc("d/e", "cpus:2;mem:2");
    assert_eq!(s.sort(), ["a/b", "d/e", "d", "c"]);
    s.alloc("a/b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["d/e", "d", "a/b", "c"]);
}

/// Mesos `DRFSorterTest.AddChildToLeaf`: a leaf that gains a child becomes
/// an inner node; the old client competes with its child at weight 1, and
/// its own weight applies against its siblings.
#[test]
fn add_child_to_leaf() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.alloc("a", "cpus:10;mem:10");
    s.add("b");
    s.alloc("b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["b", "a"]);

    s.add("a/c");
    s.alloc("a/c", "cpus:5;mem:5");
    assert_eq!(s.sort(), ["b", "a/c", "a"]);

    s.0.remove(&"a");
    assert!(!s.0.contains(&"a"));
    assert_eq!(s.sort(), ["a/c", "b"]);

    s.add("a");
    s.alloc("a", "cpus:10;mem:10");
    assert!(s.0.contains(&"a"));
    assert_eq!(s.sort(), ["b", "a/c", "a"]);

    s.0.update_weight("a/c", 0.2);
    assert_eq!(s.sort(), ["b", "a", "a/c"]);
    s.0.update_weight("a", 3.0);
    assert_eq!(s.sort(), ["a", "a/c", "b"]);
    s.0.update_weight("a/c", 1.0);
    assert_eq!(s.sort(), ["a/c", "a", "b"]);
}

/// Mesos `DRFSorterTest.AddChildToInternal`: a client added at an existing
/// inner path becomes a virtual leaf competing with the inner node's children.
#[test]
fn add_child_to_internal() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("x/a");
    s.alloc("x/a", "cpus:10;mem:10");
    s.add("x/b");
    s.alloc("x/b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["x/b", "x/a"]);
    s.add("x");
    s.alloc("x", "cpus:7;mem:7");
    assert_eq!(s.sort(), ["x/b", "x", "x/a"]);
    s.add("z");
    s.alloc("z", "cpus:20;mem:20");
    assert_eq!(s.sort(), ["z", "x/b", "x", "x/a"]);
    s.0.remove(&"x");
    assert_eq!(s.sort(), ["x/b", "x/a", "z"]);
}

/// Mesos `DRFSorterTest.AddChildToInactiveLeaf`: the inactive client stays
/// out of the sort after its node turns internal.
#[test]
fn add_child_to_inactive_leaf() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.alloc("a", "cpus:10;mem:10");
    s.add("b");
    s.alloc("b", "cpus:6;mem:6");
    s.0.deactivate(&"a");
    assert_eq!(s.sort(), ["b"]);
    s.add("a/c");
    s.alloc("a/c", "cpus:5;mem:5");
    assert_eq!(s.sort(), ["b", "a/c"]);
}

/// Mesos `CommonSorterTest.RemoveLeafCollapseParent`: removing the only
/// child collapses the virtual leaf back into its parent.
#[test]
fn remove_leaf_collapse_parent() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.alloc("a", "cpus:10;mem:10");
    s.add("b");
    s.alloc("b", "cpus:6;mem:6");
    s.add("a/c");
    s.alloc("a/c", "cpus:5;mem:5");
    let mut clients = s.sort();
    clients.sort();
    assert_eq!(clients, ["a", "a/c", "b"]);
    s.0.remove(&"a/c");
    let mut clients = s.sort();
    clients.sort();
    assert_eq!(clients, ["a", "b"]);
    assert_eq!(s.0.allocation(&"a"), &q("cpus:10;mem:10"));
}

/// Mesos `CommonSorterTest.RemoveLeafCollapseParentInactive`: the collapsed
/// node keeps the inactive state of its virtual leaf.
#[test]
fn remove_leaf_collapse_parent_inactive() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a");
    s.alloc("a", "cpus:10;mem:10");
    s.add("b");
    s.alloc("b", "cpus:6;mem:6");
    s.add("a/c");
    s.alloc("a/c", "cpus:5;mem:5");
    s.0.deactivate(&"a");
    let mut clients = s.sort();
    clients.sort();
    assert_eq!(clients, ["a/c", "b"]);
    s.0.remove(&"a/c");
    assert_eq!(s.sort(), ["b"]);
    assert!(!s.0.is_active(&"a"));
}

/// Mesos `DRFSorterTest.ChangeWeightOnSubtree`: a weight on an inner role
/// scales the share of its whole subtree.
#[test]
fn change_weight_on_subtree() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.0.update_weight("b", 3.0);
    s.0.update_weight("a", 2.0);
    s.add("a/x");
    s.add("b/y");
    assert_eq!(s.sort(), ["a/x", "b/y"]);
    s.alloc("a/x", "cpus:10;mem:10");
    s.alloc("b/y", "cpus:10;mem:10");
    assert_eq!(s.sort(), ["b/y", "a/x"]);
    s.add("b/z");
    s.alloc("b/z", "cpus:5;mem:5");
    assert_eq!(s.sort(), ["b/z", "b/y", "a/x"]);
    s.add("b");
    s.alloc("b", "cpus:4;mem:4");
    assert_eq!(s.sort(), ["a/x", "b", "b/z", "b/y"]);
    s.add("a/zz");
    s.alloc("a/zz", "cpus:2;mem:2");
    assert_eq!(s.sort(), ["a/zz", "a/x", "b", "b/z", "b/y"]);
}

/// Weights set on an inner role after it exists (and after a sort cached
/// its weight) still apply; Mesos only reaches client nodes here.
#[test]
fn weight_on_existing_internal_node_applies() {
    let mut s = Sorter::new("cpus:100;mem:100");
    s.add("a/x");
    s.add("b/y");
    s.alloc("a/x", "cpus:10;mem:10");
    s.alloc("b/y", "cpus:20;mem:20");
    assert_eq!(s.sort(), ["a/x", "b/y"]);
    s.0.update_weight("b", 4.0);
    // b = 0.2 / 4 = 0.05 < a = 0.1.
    assert_eq!(s.sort(), ["b/y", "a/x"]);
}

/// Mesos `CommonSorterTest.UpdateAllocation`: `update` swaps the held
/// quantities without counting an allocation, including down to nothing.
#[test]
fn update_allocation() {
    let mut s = Sorter::new("cpus:10;mem:10;disk:10");
    s.add("a");
    s.add("b");
    s.alloc("a", "cpus:10;mem:10;disk:10");
    s.0.update(&"a", &q("cpus:10;mem:10;disk:10"), &q("cpus:10;mem:10;disk:10"));
    assert_eq!(s.0.allocation(&"a"), &q("cpus:10;mem:10;disk:10"));
    assert_eq!(s.0.total_allocation(), &q("cpus:10;mem:10;disk:10"));

    s.add("c");
    s.alloc("c", "cpus:10;mem:10;disk:10");
    s.0.update(&"c", &q("cpus:10;mem:10;disk:10"), &q(""));
    assert!(s.0.allocation(&"c").is_empty());
}

/// Mesos `CommonSorterTest.AllocationForInactiveClient`: inactive clients
/// still hold and report their allocation.
#[test]
fn allocation_for_inactive_client() {
    let mut s = Sorter::new("cpus:10;mem:10");
    s.0.add("a", "a");
    s.add("b");
    s.alloc("a", "cpus:2;mem:2");
    s.alloc("b", "cpus:3;mem:3");
    assert_eq!(s.0.allocation(&"a"), &q("cpus:2;mem:2"));
    assert_eq!(s.0.allocation(&"b"), &q("cpus:3;mem:3"));
    assert_eq!(s.0.total_allocation(), &q("cpus:5;mem:5"));
    assert_eq!(s.sort(), ["b"]);
}

/// Mesos `DRFSorterTest.UpdateTotal`: a new total changes which resource
/// is dominant and so the order.
#[test]
fn update_total() {
    let mut s = Sorter::new("cpus:10;mem:100");
    s.add("a");
    s.add("b");
    s.alloc("a", "cpus:2;mem:1");
    s.alloc("b", "cpus:1;mem:2");
    assert_eq!(s.sort(), ["b", "a"]);
    s.set_total("cpus:10;mem:100", "cpus:100;mem:10");
    assert_eq!(s.sort(), ["a", "b"]);
}

/// Mesos `DRFSorterTest.MultipleSlavesUpdateTotal`: totals of several
/// agents add up, and replacing one agent's total re-orders.
#[test]
fn multiple_agents_update_total() {
    let mut s = Sorter::new("cpus:5;mem:50");
    s.0.add_total(&q("cpus:5;mem:50"));
    s.add("a");
    s.add("b");
    s.alloc("a", "cpus:2;mem:1");
    s.alloc("b", "cpus:1;mem:3");
    assert_eq!(s.sort(), ["b", "a"]);
    s.set_total("cpus:5;mem:50", "cpus:95;mem:50");
    assert_eq!(s.sort(), ["a", "b"]);
}

/// Mesos `DRFSorterTest.RemoveResources`: shrinking the total and a
/// client's allocation together re-orders.
#[test]
fn remove_resources() {
    let mut s = Sorter::new("cpus:10");
    s.add("a");
    s.add("b");
    s.alloc("a", "cpus:6");
    s.alloc("b", "cpus:4");
    assert_eq!(s.sort(), ["b", "a"]);
    s.set_total("cpus:10", "cpus:5");
    s.0.update(&"a", &q("cpus:6"), &q("cpus:1"));
    assert_eq!(s.sort(), ["a", "b"]);
}

/// Excluded resource names do not count toward the dominant share
/// (Mesos `--fair_sharing_excluded_resource_names`).
#[test]
fn fairness_excluded_resources_are_ignored() {
    let mut s = Sorter::new("cpus:10;gpus:1");
    s.add("a");
    s.add("b");
    s.alloc("a", "cpus:1;gpus:1");
    s.alloc("b", "cpus:2");
    assert_eq!(s.sort(), ["b", "a"]);
    s.0.set_fairness_exclude(["gpus".to_string()]);
    assert_eq!(s.sort(), ["a", "b"]);
}

/// Unallocating more than a client holds is a bookkeeping bug and panics.
#[test]
#[should_panic(expected = "does not contain")]
fn unallocating_more_than_held_panics() {
    let mut s = Sorter::new("cpus:10");
    s.add("a");
    s.alloc("a", "cpus:1");
    s.unalloc("a", "cpus:2");
}

#[path = "sorter_order_tests.rs"]
mod order;
