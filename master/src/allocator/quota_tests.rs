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

/// An allocator on full `Resources` (with reservations), and helpers for it.
mod reserved {
    use super::*;
    use mesos_proto::resources::Resources;

    fn r(text: &str) -> Resources {
        Resources::parse(text).expect("test resources parse")
    }

    fn allocator() -> Allocator<Resources> {
        Allocator::new(AllocatorConfig::default())
    }

    fn add_agent(allocator: &mut Allocator<Resources>, name: &str, total: &str) {
        allocator.on_add_agent(aid(name), AgentSpec::default(), r(total), Vec::new()).unwrap();
    }

    fn add_framework(allocator: &mut Allocator<Resources>, name: &str, role: &str) {
        let spec = FrameworkSpec { roles: [role.to_string()].into(), ..FrameworkSpec::default() };
        allocator.on_add_framework(fid(name), spec, true).unwrap();
    }

    /// What each (framework, agent) pair was offered, as quantities.
    fn offers(
        allocations: Vec<Allocation<Resources>>,
    ) -> Vec<(String, String, ResourceQuantities)> {
        let mut flat: Vec<_> = allocations
            .into_iter()
            .map(|a| {
                let all: Resources = a.resources.into_values().sum();
                let quantities = ResourceQuantities::from_scalar_resources(&all);
                (a.framework_id.into_string(), a.agent_id.into_string(), quantities)
            })
            .collect();
        flat.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        flat
    }

    /// Mesos 1.9+ quota accounting (`ReservationWithinQuota`, with the reservation
    /// unheld): a role's reservations count towards its guarantee even when nobody holds
    /// them, so no unreserved headroom is held back for a guarantee they cover, and a
    /// greedy role gets every unreserved resource. Before, the 2 unheld reserved cpus
    /// did not count and 2 unreserved cpus were kept from the greedy role.
    #[test]
    fn unheld_reservations_count_towards_the_guarantee() {
        let mut allocator = allocator();
        let guarantee = quota("cpus:2", &[]);
        allocator.on_update_quota("quota", guarantee).expect("valid quota");
        add_agent(&mut allocator, "agent1", "cpus(quota):2;mem(quota):256");
        add_agent(&mut allocator, "agent2", "cpus:2;mem:512");
        add_framework(&mut allocator, "greedy", "other");
        assert_eq!(allocator.quota_consumed("quota"), q("cpus:2;mem:256"));
        let offered = offers(allocator.allocate_candidates(Duration::ZERO));
        let expected = ("greedy".to_string(), "agent2".to_string(), q("cpus:2;mem:512"));
        assert_eq!(offered, [expected]);
    }

    /// A role's unheld reservations count towards its limit: with 2 cpus reserved and
    /// a cpu limit of 2, its framework is offered the reservation and the unreserved
    /// memory, but no unreserved cpu (reserved resources are never cut by a limit).
    /// Before, the unreserved cpus of `agent2` went to it too when it came first.
    #[test]
    fn unheld_reservations_count_towards_the_limit() {
        let mut allocator = allocator();
        allocator.on_update_quota("capped", quota("", &[("cpus", 2.0)])).expect("valid quota");
        add_agent(&mut allocator, "agent1", "cpus(capped):2;mem:64");
        add_agent(&mut allocator, "agent2", "cpus:2;mem:512");
        // Only agent2 first: its cpus would fit the limit were the reservation not
        // counted.
        allocator.on_deactivate_agent(&aid("agent1")).unwrap();
        add_framework(&mut allocator, "fw", "capped");
        let offered = offers(allocator.allocate_candidates(Duration::ZERO));
        assert_eq!(offered, [("fw".to_string(), "agent2".to_string(), q("mem:512"))]);
        allocator.on_activate_agent(&aid("agent1")).unwrap();
        let offered = offers(allocator.allocate_candidates(Duration::ZERO));
        assert_eq!(offered, [("fw".to_string(), "agent1".to_string(), q("cpus:2;mem:64"))]);
        assert_eq!(allocator.quota_consumed("capped"), q("cpus:2;mem:576"));
    }

    /// Reservations of a sub-role count towards its parent's quota, and an offer of a
    /// reservation does not count it twice.
    #[test]
    fn sub_role_reservations_count_once_for_the_parent() {
        let mut allocator = allocator();
        allocator.on_update_quota("eng", quota("cpus:1", &[("cpus", 3.0)])).expect("valid");
        add_agent(&mut allocator, "agent1", "cpus(eng/web):1;mem(eng/web):32");
        add_agent(&mut allocator, "agent2", "cpus:4;mem:512");
        add_framework(&mut allocator, "web", "eng/web");
        assert_eq!(allocator.quota_consumed("eng"), q("cpus:1;mem:32"));
        let offered = offers(allocator.allocate_candidates(Duration::ZERO));
        let cpus: f64 = offered.iter().map(|o| o.2.get("cpus")).sum();
        // 1 reserved + 2 unreserved: the limit of 3 counts the reservation once.
        assert_eq!(cpus, 3.0, "{offered:?}");
        assert_eq!(allocator.quota_consumed("eng").get("cpus"), 3.0);
    }
}
