//! Quota tests, ported from Mesos's `hierarchical_allocator_tests.cpp`
//! (`HierarchicalAllocatorTest.Quota*`) as scenarios on scalar quantities.

use super::*;

fn quota(guarantees: &str, limits: &[(&str, f64)]) -> Quota {
    Quota {
        guarantees: q(guarantees),
        limits: limits.iter().map(|(n, l)| (n.to_string(), *l)).collect(),
    }
}

/// Sum of what `role` was offered in `offers`.
fn offered(offers: &[Flat], role: &str) -> ResourceQuantities {
    offers.iter().filter(|o| o.2 == role).map(|o| &o.3).sum()
}

/// Mesos `QuotaAbsentFramework` and `QuotaProvidesGuarantee`: a role with a
/// guarantee and no framework yet has its guarantee held back from a greedy
/// role; when its framework arrives it gets exactly that, first.
#[test]
fn guarantee_is_held_back_from_a_greedy_role() {
    let mut h = Harness::new();
    h.allocator.on_update_quota("quota", quota("cpus:2;mem:1024", &[])).expect("valid quota");
    h.add_framework("greedy", &["no-quota"]);
    h.add_agent("agent1", "cpus:2;mem:1024");
    h.add_agent("agent2", "cpus:2;mem:1024");
    let first = h.settle();
    assert_eq!(offered(&first, "no-quota"), q("cpus:2;mem:1024"), "{first:?}");
    // Nothing more for the greedy role, round after round.
    assert_eq!(h.tick(), []);
    assert_eq!(h.tick(), []);

    h.add_framework("quota-fw", &["quota"]);
    let second = h.settle();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(offered(&second, "quota"), q("cpus:2;mem:1024"));
    assert_eq!(h.allocator.quota_consumed("quota"), q("cpus:2;mem:1024"));
}

/// A guaranteed role is offered before a role with a lower share: stage 1 runs
/// before DRF (Mesos `QuotaProvidesGuarantee`).
#[test]
fn guarantee_comes_before_drf_order() {
    let mut h = Harness::new();
    h.add_framework("greedy", &["a-greedy"]);
    h.add_framework("quota-fw", &["quota"]);
    h.add_agent("agent1", "cpus:1;mem:512");
    h.settle();
    // `quota` now holds nothing (or less than a-greedy): give it a guarantee
    // larger than anything free, then add agents one at a time.
    h.allocator.on_update_quota("quota", quota("cpus:3;mem:1536", &[])).expect("valid quota");
    for agent in ["agent2", "agent3", "agent4"] {
        h.add_agent(agent, "cpus:1;mem:512");
        let offers = h.settle();
        assert_eq!(offered(&offers, "a-greedy"), q(""), "{agent}: {offers:?}");
    }
    assert!(h.allocator.quota_consumed("quota").contains(&q("cpus:3;mem:1536")));
}

/// Mesos `QuotaLimits`-style: a role's consumption never passes its limit;
/// an agent larger than what is left is chopped, and unlimited names pass.
#[test]
fn limit_is_never_exceeded() {
    let mut h = Harness::new();
    h.allocator.on_update_quota("capped", quota("", &[("cpus", 3.0)])).expect("valid quota");
    h.add_framework("fw", &["capped"]);
    h.add_agent("agent1", "cpus:2;mem:1024");
    h.add_agent("agent2", "cpus:2;mem:1024");
    let offers = h.settle();
    assert_eq!(offered(&offers, "capped"), q("cpus:3;mem:2048"), "{offers:?}");
    for _ in 0..3 {
        assert_eq!(h.tick(), []);
    }
    // Giving back one cpu lets exactly one cpu be offered again.
    let held_on_agent1 = h.allocator.held(&fid("fw"), &aid("agent1"), "capped").cloned();
    let back = if held_on_agent1.as_ref().is_some_and(|r| r.get("cpus") >= 1.0) {
        "agent1"
    } else {
        "agent2"
    };
    h.decline("fw", back, "capped", "cpus:1", None);
    let again = h.tick();
    assert_eq!(offered(&again, "capped"), q("cpus:1"), "{again:?}");
    assert!(h.allocator.quota_consumed("capped").get("cpus") <= 3.0);
}

/// A limit of zero keeps the role from every unreserved cpu; other roles
/// still get them.
#[test]
fn zero_limit_offers_nothing_of_that_resource() {
    let mut h = Harness::new();
    h.allocator.on_update_quota("none", quota("", &[("cpus", 0.0)])).expect("valid quota");
    h.add_framework("fw", &["none"]);
    h.add_agent("agent1", "cpus:2;mem:1024");
    assert_eq!(h.settle(), [offer("fw", "agent1", "none", "mem:1024")]);
}

/// Removing a quota (the default quota) releases the held-back headroom.
#[test]
fn removing_quota_releases_headroom() {
    let mut h = Harness::new();
    h.allocator.on_update_quota("quota", quota("cpus:2;mem:1024", &[])).expect("valid quota");
    h.add_framework("greedy", &["other"]);
    h.add_agent("agent1", "cpus:2;mem:1024");
    assert_eq!(h.settle(), []);
    h.allocator.on_update_quota("quota", Quota::default()).expect("default quota");
    assert_eq!(h.allocator.quota("quota"), Quota::default());
    assert_eq!(h.settle(), [offer("greedy", "agent1", "other", "cpus:2;mem:1024")]);
}

/// A negative or non-finite limit is refused and changes nothing.
#[test]
fn invalid_limit_is_refused() {
    let mut h = Harness::new();
    let error = h.allocator.on_update_quota("r", quota("", &[("cpus", -1.0)]));
    assert!(matches!(error, Err(AllocatorError::InvalidQuota { .. })), "{error:?}");
    assert_eq!(h.allocator.quota("r"), Quota::default());
}

/// A parent role's limit caps what its sub-roles are offered together.
#[test]
fn parent_limit_caps_sub_roles() {
    let mut h = Harness::new();
    h.allocator.on_update_quota("eng", quota("", &[("cpus", 1.0)])).expect("valid quota");
    h.add_framework("web", &["eng/web"]);
    h.add_framework("db", &["eng/db"]);
    h.add_agent("agent1", "cpus:2;mem:1024");
    h.add_agent("agent2", "cpus:2;mem:1024");
    let offers = h.settle();
    let cpus = offered(&offers, "eng/web").get("cpus") + offered(&offers, "eng/db").get("cpus");
    assert_eq!(cpus, 1.0, "{offers:?}");
    assert_eq!(h.allocator.quota_consumed("eng").get("cpus"), 1.0);
}
