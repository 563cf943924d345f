//! Tests of the hierarchical allocator, ported from Mesos's
//! `src/tests/hierarchical_allocator_tests.cpp` (`HierarchicalAllocatorTest.*`).
//!
//! Mesos runs an allocation after each event (a new agent, a new framework,
//! a revive) and one per `--allocation_interval`; here the test calls
//! `settle` for the former (`allocate_candidates`) and `tick` for the latter
//! (`allocate` after advancing `now`). Resources are scalar quantities here;
//! the quota tests with reservations (`quota_tests::reserved`) run the allocator on
//! full `Resources`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;
use mesos_proto::resources::ResourceQuantities;

fn q(text: &str) -> ResourceQuantities {
    ResourceQuantities::parse(text).expect("test quantities parse")
}

fn fid(name: &str) -> FrameworkId {
    FrameworkId::new(name)
}

fn aid(name: &str) -> AgentId {
    AgentId::new(name)
}

/// One offer as `(framework, agent, role, resources)`, for comparisons.
type Flat = (String, String, String, ResourceQuantities);

struct Harness {
    allocator: Allocator<ResourceQuantities>,
    now: Duration,
    interval: Duration,
}

impl Harness {
    fn new() -> Self {
        let config = AllocatorConfig::default();
        let interval = config.allocation_interval;
        Harness { allocator: Allocator::new(config), now: Duration::ZERO, interval }
    }

    fn add_agent(&mut self, name: &str, total: &str) {
        self.allocator
            .on_add_agent(aid(name), AgentSpec::default(), q(total), Vec::new())
            .expect("new agent");
    }

    fn add_framework(&mut self, name: &str, roles: &[&str]) {
        let spec = FrameworkSpec {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..FrameworkSpec::default()
        };
        self.allocator.on_add_framework(fid(name), spec, true).expect("new framework");
    }

    /// The event-triggered allocation Mesos runs after each event.
    fn settle(&mut self) -> Vec<Flat> {
        flatten(self.allocator.allocate_candidates(self.now))
    }

    /// Advances the clock one allocation interval and runs a batch allocation.
    fn tick(&mut self) -> Vec<Flat> {
        self.now += self.interval;
        flatten(self.allocator.allocate(self.now))
    }

    fn decline(
        &mut self,
        framework: &str,
        agent: &str,
        role: &str,
        resources: &str,
        refuse: Option<f64>,
    ) {
        self.allocator
            .on_recover_resources(
                &fid(framework),
                &aid(agent),
                role,
                &q(resources),
                refuse,
                self.now,
            )
            .expect("resources were held");
    }
}

fn flatten(allocations: Vec<Allocation<ResourceQuantities>>) -> Vec<Flat> {
    let mut flat: Vec<Flat> = allocations
        .into_iter()
        .flat_map(|a| {
            let (f, g) = (a.framework_id.into_string(), a.agent_id.into_string());
            a.resources.into_iter().map(move |(role, r)| (f.clone(), g.clone(), role, r))
        })
        .collect();
    flat.sort_by(|x, y| (&x.0, &x.1, &x.2).cmp(&(&y.0, &y.1, &y.2)));
    flat
}

fn offer(framework: &str, agent: &str, role: &str, resources: &str) -> Flat {
    (framework.to_string(), agent.to_string(), role.to_string(), q(resources))
}

/// Mesos `HierarchicalAllocatorTest.UnreservedDRF`: each new agent goes
/// whole to the framework with the lowest share in the role with the
/// lowest share.
#[test]
fn unreserved_drf() {
    let mut h = Harness::new();
    h.add_agent("slave1", "cpus:2;mem:1024;disk:0");
    h.settle();
    h.add_framework("framework1", &["role1"]);
    assert_eq!(h.settle(), [offer("framework1", "slave1", "role1", "cpus:2;mem:1024")]);

    h.add_framework("framework2", &["role2"]);
    assert_eq!(h.settle(), []);
    assert_eq!(h.allocator.role_share("role1"), Some(1.0));
    assert_eq!(h.allocator.role_share("role2"), Some(0.0));
    // role1 share = 0.66, role2 share = 0.
    h.add_agent("slave2", "cpus:1;mem:512;disk:0");
    assert_eq!(h.settle(), [offer("framework2", "slave2", "role2", "cpus:1;mem:512")]);

    // role1 share = 0.33, role2 share = 0.16.
    h.add_agent("slave3", "cpus:3;mem:2048;disk:0");
    assert_eq!(h.settle(), [offer("framework2", "slave3", "role2", "cpus:3;mem:2048")]);

    h.add_framework("framework3", &["role1"]);
    assert_eq!(h.settle(), []);
    // role1 share = 0.2 (framework1 = 1, framework3 = 0), role2 share = 0.4.
    h.add_agent("slave4", "cpus:4;mem:4096;disk:0");
    assert_eq!(h.settle(), [offer("framework3", "slave4", "role1", "cpus:4;mem:4096")]);

    h.add_framework("framework4", &["role1"]);
    assert_eq!(h.settle(), []);
    // role1 share = 0.63, role2 share = 0.36: role2 wins even though
    // framework4 holds nothing.
    h.add_agent("slave5", "cpus:1;mem:512;disk:0");
    assert_eq!(h.settle(), [offer("framework2", "slave5", "role2", "cpus:1;mem:512")]);
}

/// Mesos `HierarchicalAllocatorTest.OfferFilter`: a decline with a filter
/// of two allocation intervals suppresses the next batch allocation and
/// expires before the one after.
#[test]
fn offer_filter() {
    let mut h = Harness::new();
    h.add_framework("framework", &["role"]);
    h.add_agent("agent", "cpus:1;mem:512;disk:0");
    assert_eq!(h.settle(), [offer("framework", "agent", "role", "cpus:1;mem:512")]);

    let refuse = (h.interval * 2).as_secs_f64();
    h.decline("framework", "agent", "role", "cpus:1;mem:512", Some(refuse));
    assert_eq!(h.allocator.filter_count(&fid("framework")), 1);

    assert_eq!(h.tick(), []);
    assert_eq!(h.tick(), [offer("framework", "agent", "role", "cpus:1;mem:512")]);
    assert_eq!(h.allocator.filter_count(&fid("framework")), 0);
}

/// Mesos `HierarchicalAllocatorTest.SmallOfferFilterTimeout`: a filter
/// shorter than the allocation interval still applies to the next batch
/// allocation (MESOS-4302), and the other framework gets the agent.
#[test]
fn small_offer_filter_timeout() {
    let mut h = Harness::new();
    h.interval = Duration::from_secs(60);
    h.allocator = Allocator::new(AllocatorConfig {
        allocation_interval: h.interval,
        ..AllocatorConfig::default()
    });
    h.add_framework("framework1", &["role"]);
    h.add_framework("framework2", &["role"]);
    let used = vec![Used {
        framework_id: fid("framework1"),
        role: "role".into(),
        resources: q("cpus:1;mem:512"),
    }];
    h.allocator
        .on_add_agent(aid("agent1"), AgentSpec::default(), q("cpus:1;mem:512"), used)
        .expect("new agent");
    assert_eq!(h.settle(), []);
    h.add_agent("agent2", "cpus:1;mem:512");
    assert_eq!(h.settle(), [offer("framework2", "agent2", "role", "cpus:1;mem:512")]);

    h.decline("framework2", "agent2", "role", "cpus:1;mem:512", Some(1.0));
    // Now framework1 = 1 and framework2 = 0, but framework2 filtered agent2.
    assert_eq!(h.tick(), [offer("framework1", "agent2", "role", "cpus:1;mem:512")]);
}

/// Mesos `HierarchicalAllocatorTest.CoarseGrained`: with two equal agents
/// and two frameworks in different roles, each framework gets one whole agent.
#[test]
fn coarse_grained() {
    let mut h = Harness::new();
    h.add_agent("slave1", "cpus:2;mem:1024;disk:0");
    h.add_agent("slave2", "cpus:2;mem:1024;disk:0");
    h.settle();
    h.add_framework("framework1", &["role1"]);
    assert_eq!(
        h.settle(),
        [
            offer("framework1", "slave1", "role1", "cpus:2;mem:1024"),
            offer("framework1", "slave2", "role1", "cpus:2;mem:1024"),
        ]
    );
    h.decline("framework1", "slave1", "role1", "cpus:2;mem:1024", None);
    h.decline("framework1", "slave2", "role1", "cpus:2;mem:1024", None);

    h.add_framework("framework2", &["role2"]);
    let offers = h.settle();
    assert_eq!(offers.len(), 2);
    let frameworks: BTreeSet<&str> = offers.iter().map(|o| o.0.as_str()).collect();
    let agents: BTreeSet<&str> = offers.iter().map(|o| o.1.as_str()).collect();
    assert_eq!(frameworks, BTreeSet::from(["framework1", "framework2"]));
    assert_eq!(agents, BTreeSet::from(["slave1", "slave2"]));
    assert!(offers.iter().all(|o| o.3 == q("cpus:2;mem:1024")));
}

/// Mesos `HierarchicalAllocatorTest.SuppressAndReviveOffers`: a redundant
/// revive changes nothing; a suppressed framework is not offered even
/// after its resources come back; reviving offers them again.
#[test]
fn suppress_and_revive_offers() {
    let mut h = Harness::new();
    h.add_agent("agent", "cpus:2;mem:1024;disk:0");
    h.add_framework("framework", &["role1"]);
    assert_eq!(h.settle(), [offer("framework", "agent", "role1", "cpus:2;mem:1024")]);

    h.allocator.on_revive_offers(&fid("framework"), &BTreeSet::new()).expect("known framework");
    assert_eq!(h.settle(), []);

    h.decline("framework", "agent", "role1", "cpus:2;mem:1024", None);
    h.allocator.on_suppress_offers(&fid("framework"), &BTreeSet::new()).expect("known framework");
    assert!(h.allocator.is_suppressed(&fid("framework"), "role1"));
    assert_eq!(h.tick(), []);

    h.allocator.on_revive_offers(&fid("framework"), &BTreeSet::new()).expect("known framework");
    assert!(!h.allocator.is_suppressed(&fid("framework"), "role1"));
    assert_eq!(h.settle(), [offer("framework", "agent", "role1", "cpus:2;mem:1024")]);
}

/// Mesos `HierarchicalAllocatorTest.RecoverResources` (allocator side,
/// without reservations): each part returned is offered again on the next
/// batch allocation, and never more than is free.
#[test]
fn recover_resources() {
    let mut h = Harness::new();
    h.add_agent("slave", "cpus:2;mem:400;disk:0");
    h.add_framework("framework", &["role1"]);
    assert_eq!(h.settle(), [offer("framework", "slave", "role1", "cpus:2;mem:400")]);

    h.decline("framework", "slave", "role1", "cpus:1;mem:200", None);
    assert_eq!(h.allocator.available(&aid("slave")), Some(&q("cpus:1;mem:200")));
    assert_eq!(h.tick(), [offer("framework", "slave", "role1", "cpus:1;mem:200")]);
    assert_eq!(h.allocator.available(&aid("slave")), Some(&q("")));

    h.decline("framework", "slave", "role1", "cpus:1;mem:200", None);
    assert_eq!(h.tick(), [offer("framework", "slave", "role1", "cpus:1;mem:200")]);
    assert_eq!(
        h.allocator.held(&fid("framework"), &aid("slave"), "role1"),
        Some(&q("cpus:2;mem:400"))
    );
}

/// Returning resources the framework does not hold there is refused and
/// changes nothing; unknown frameworks and agents are ignored (a race
/// with their removal, as in Mesos).
#[test]
fn recover_resources_not_held_is_rejected() {
    let mut h = Harness::new();
    h.add_agent("slave", "cpus:2;mem:400");
    h.add_framework("framework", &["role1"]);
    h.settle();
    let err = h
        .allocator
        .on_recover_resources(&fid("framework"), &aid("slave"), "role1", &q("cpus:3"), None, h.now)
        .expect_err("more than held");
    assert!(matches!(err, AllocatorError::NotHeld { .. }));
    let err = h
        .allocator
        .on_recover_resources(&fid("framework"), &aid("slave"), "other", &q("cpus:1"), None, h.now)
        .expect_err("wrong role");
    assert!(matches!(err, AllocatorError::NotHeld { .. }));
    assert_eq!(h.allocator.available(&aid("slave")), Some(&q("")));
    h.allocator
        .on_recover_resources(&fid("gone"), &aid("slave"), "role1", &q("cpus:1"), None, h.now)
        .expect("unknown framework is a benign race");
}

/// Mesos `HierarchicalAllocatorTest.UpdateWeight` (shape): at equal
/// allocations, a new agent goes to the role with the higher weight; with
/// equal weights the path tie-break would pick the other role.
#[test]
fn weights_favour_heavier_role() {
    let third_agent_goes_to = |weight_b: Option<f64>| {
        let mut h = Harness::new();
        h.add_framework("fa", &["a"]);
        h.add_framework("fb", &["b"]);
        h.add_agent("s1", "cpus:1;mem:100");
        h.add_agent("s2", "cpus:1;mem:100");
        assert_eq!(h.settle().len(), 2);
        if let Some(w) = weight_b {
            h.allocator.on_update_weights(&[("b".to_string(), w)]).expect("valid weight");
        }
        h.add_agent("s3", "cpus:1;mem:100");
        let offers = h.settle();
        assert_eq!(offers.len(), 1);
        offers[0].0.clone()
    };
    assert_eq!(third_agent_goes_to(None), "fa");
    assert_eq!(third_agent_goes_to(Some(3.0)), "fb");

    let mut h = Harness::new();
    assert!(matches!(
        h.allocator.on_update_weights(&[("b".to_string(), 0.0)]),
        Err(AllocatorError::InvalidWeight { .. })
    ));
}

/// Multi-role: a framework in two roles is offered in the role that is
/// further below its fair share, and declines apply per role.
#[test]
fn multi_role_framework_filters_per_role() {
    let mut h = Harness::new();
    let spec = FrameworkSpec {
        roles: BTreeSet::from(["r1".to_string(), "r2".to_string()]),
        capabilities: FrameworkCapabilities { multi_role: true, ..Default::default() },
        ..FrameworkSpec::default()
    };
    h.allocator.on_add_framework(fid("multi"), spec, true).expect("new framework");
    h.add_agent("s", "cpus:1;mem:100");
    let offers = h.settle();
    assert_eq!(offers.len(), 1);
    let role = offers[0].2.clone();
    h.decline("multi", "s", &role, "cpus:1;mem:100", Some(100.0));
    let other = if role == "r1" { "r2" } else { "r1" };
    assert_eq!(h.tick(), [offer("multi", "s", other, "cpus:1;mem:100")]);

    // A non-multi-role agent is never offered to a multi-role framework.
    let agent = AgentSpec {
        capabilities: AgentCapabilities { multi_role: false, hierarchical_role: true },
        ..AgentSpec::default()
    };
    h.allocator
        .on_add_agent(aid("old"), agent, q("cpus:1;mem:100"), Vec::new())
        .expect("new agent");
    assert_eq!(h.settle(), []);
}

/// Offers never exceed free resources: used resources reported by an agent
/// are not offered, and resources of frameworks not yet added are adopted
/// (and freed) once they subscribe.
#[test]
fn used_resources_are_never_offered() {
    let mut h = Harness::new();
    h.add_framework("f1", &["r"]);
    let used = vec![
        Used { framework_id: fid("f1"), role: "r".into(), resources: q("cpus:1;mem:100") },
        Used { framework_id: fid("later"), role: "r".into(), resources: q("cpus:2;mem:200") },
    ];
    h.allocator
        .on_add_agent(aid("s"), AgentSpec::default(), q("cpus:4;mem:400"), used)
        .expect("new agent");
    assert_eq!(h.settle(), [offer("f1", "s", "r", "cpus:1;mem:100")]);

    h.add_framework("later", &["r"]);
    assert_eq!(h.allocator.held(&fid("later"), &aid("s"), "r"), Some(&q("cpus:2;mem:200")));
    h.allocator.on_remove_framework(&fid("later")).expect("known framework");
    assert_eq!(h.allocator.available(&aid("s")), Some(&q("cpus:2;mem:200")));
    assert_eq!(h.tick(), [offer("f1", "s", "r", "cpus:2;mem:200")]);
}

/// Deactivated frameworks and agents get nothing; deactivating a framework
/// drops its filters, and reactivation offers again.
#[test]
fn deactivation_stops_offers_and_clears_filters() {
    let mut h = Harness::new();
    h.add_framework("f", &["r"]);
    h.add_agent("s", "cpus:1;mem:100");
    h.settle();
    h.decline("f", "s", "r", "cpus:1;mem:100", Some(1000.0));
    h.allocator.on_deactivate_framework(&fid("f")).expect("known framework");
    assert_eq!(h.allocator.filter_count(&fid("f")), 0);
    assert_eq!(h.tick(), []);
    h.allocator.on_deactivate_agent(&aid("s")).expect("known agent");
    h.allocator.on_activate_framework(&fid("f")).expect("known framework");
    assert_eq!(h.tick(), []);
    h.allocator.on_activate_agent(&aid("s")).expect("known agent");
    assert_eq!(h.settle(), [offer("f", "s", "r", "cpus:1;mem:100")]);
}

/// Removing an agent forgets what was held there and its filters; the
/// cluster total shrinks.
#[test]
fn remove_agent_releases_everything() {
    let mut h = Harness::new();
    h.add_framework("f", &["r"]);
    h.add_agent("s1", "cpus:1;mem:100");
    h.add_agent("s2", "cpus:2;mem:100");
    h.settle();
    h.decline("f", "s2", "r", "cpus:2;mem:100", Some(1000.0));
    h.allocator.on_remove_agent(&aid("s2")).expect("known agent");
    assert_eq!(h.allocator.filter_count(&fid("f")), 0);
    assert_eq!(h.allocator.total(), &q("cpus:1;mem:100"));
    h.allocator.on_remove_agent(&aid("s1")).expect("known agent");
    assert!(h.allocator.total().is_empty());
    assert!(matches!(
        h.allocator.on_remove_agent(&aid("s1")),
        Err(AllocatorError::UnknownAgent { .. })
    ));
    h.allocator.on_remove_framework(&fid("f")).expect("known framework");
}

/// A framework leaving a role keeps what it holds there until returned;
/// then the role disappears. Updating roles re-subscribes cleanly.
#[test]
fn update_framework_roles() {
    let mut h = Harness::new();
    h.add_framework("f", &["old"]);
    h.add_agent("s", "cpus:1;mem:100");
    assert_eq!(h.settle(), [offer("f", "s", "old", "cpus:1;mem:100")]);
    let spec =
        FrameworkSpec { roles: BTreeSet::from(["new".to_string()]), ..FrameworkSpec::default() };
    h.allocator.on_update_framework(&fid("f"), spec).expect("known framework");
    assert_eq!(h.allocator.held(&fid("f"), &aid("s"), "old"), Some(&q("cpus:1;mem:100")));
    h.decline("f", "s", "old", "cpus:1;mem:100", Some(1000.0));
    assert_eq!(h.allocator.held(&fid("f"), &aid("s"), "old"), None);
    assert_eq!(h.tick(), [offer("f", "s", "new", "cpus:1;mem:100")]);
    assert!(matches!(
        h.allocator.on_suppress_offers(&fid("f"), &BTreeSet::from(["old".to_string()])),
        Err(AllocatorError::NotSubscribed { .. })
    ));
}

/// Bad input is refused with a clear error and leaves state unchanged.
#[test]
fn bad_input_is_rejected() {
    let mut h = Harness::new();
    h.add_framework("f", &["r"]);
    assert!(matches!(
        h.allocator.on_add_framework(fid("f"), FrameworkSpec::default(), true),
        Err(AllocatorError::FrameworkExists { .. })
    ));
    let bad =
        FrameworkSpec { roles: BTreeSet::from(["a//b".to_string()]), ..FrameworkSpec::default() };
    assert!(matches!(
        h.allocator.on_add_framework(fid("g"), bad, true),
        Err(AllocatorError::InvalidRole { .. })
    ));
    // Framework ids that are no sorter path (an empty one panicked the sorter before
    // the allocator checked ids) are refused, and nothing is left behind.
    for id in ["", "a//b", "a/b", "/", ".", "..", "a\nb"] {
        assert!(
            matches!(
                h.allocator.on_add_framework(fid(id), FrameworkSpec::default(), true),
                Err(AllocatorError::InvalidFrameworkId { .. })
            ),
            "{id:?} accepted"
        );
        assert!(h.allocator.on_activate_framework(&fid(id)).is_err());
    }
    assert!(matches!(
        h.allocator.on_activate_framework(&fid("nope")),
        Err(AllocatorError::UnknownFramework { .. })
    ));
    h.add_agent("s", "cpus:1");
    assert!(matches!(
        h.allocator.on_add_agent(aid("s"), AgentSpec::default(), q("cpus:1"), Vec::new()),
        Err(AllocatorError::AgentExists { .. })
    ));
    assert_eq!(h.allocator.total(), &q("cpus:1"));
}

/// Offers below the minimum allocatable resources are not made: an agent
/// with only 16 MB of memory free and no CPU is not offered.
#[test]
fn min_allocatable_resources() {
    let mut h = Harness::new();
    h.add_framework("f", &["r"]);
    h.add_agent("tiny", "mem:16");
    assert_eq!(h.settle(), []);
    h.add_agent("ok", "mem:32");
    assert_eq!(h.settle(), [offer("f", "ok", "r", "mem:32")]);
}

/// The allocation outcome replays exactly from the seed.
#[test]
fn rounds_replay_from_seed() {
    let run = || {
        let mut h = Harness::new();
        for f in 0..5 {
            h.add_framework(&format!("f{f}"), &["r"]);
        }
        for a in 0..20 {
            h.add_agent(&format!("a{a:02}"), "cpus:1;mem:100");
        }
        h.settle()
    };
    let first = run();
    assert_eq!(first.len(), 20);
    assert_eq!(first, run());
    let per_framework: BTreeMap<String, usize> = first.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(o.0.clone()).or_default() += 1;
        m
    });
    assert!(per_framework.values().all(|&n| n == 4), "DRF spreads evenly: {per_framework:?}");
}

#[path = "quota_tests.rs"]
mod quota_tests;
