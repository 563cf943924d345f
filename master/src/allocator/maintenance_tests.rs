//! Tests of the allocator's maintenance: which frameworks get inverse offers, the
//! outstanding marks, and the inverse offer filters (Mesos:
//! `HierarchicalAllocatorTest` has no inverse offer cases; these follow
//! hierarchical.cpp `generateInverseOffers`, `updateInverseOffer`, `updateUnavailability`).

use std::time::Duration;

use super::*;
use mesos_proto::mesos::{TimeInfo, Unavailability};
use mesos_proto::resources::ResourceQuantities;

fn window(start_secs: i64) -> Unavailability {
    Unavailability { start: TimeInfo { nanoseconds: start_secs * 1_000_000_000 }, duration: None }
}

/// Agent `a` (scheduled) and `b` (not), framework `f` holding both, `g` holding nothing.
fn allocator() -> Allocator<ResourceQuantities> {
    let mut allocator = Allocator::new(AllocatorConfig::default());
    for agent in ["a", "b"] {
        let total = ResourceQuantities::parse("cpus:1;mem:512").unwrap();
        allocator
            .on_add_agent(AgentId::new(agent), AgentSpec::default(), total, Vec::new())
            .unwrap();
    }
    let spec = |role: &str| FrameworkSpec {
        roles: [role.to_string()].into_iter().collect(),
        ..FrameworkSpec::default()
    };
    allocator.on_add_framework(FrameworkId::new("f"), spec("r"), true).unwrap();
    assert_eq!(allocator.allocate(Duration::from_secs(1)).len(), 2, "f holds both agents");
    allocator.on_add_framework(FrameworkId::new("g"), spec("s"), true).unwrap();
    allocator.on_update_unavailability(&AgentId::new("a"), Some(window(60))).unwrap();
    allocator
}

fn picks(allocator: &mut Allocator<ResourceQuantities>, secs: u64) -> Vec<(String, String)> {
    allocator
        .generate_inverse_offers(Duration::from_secs(secs))
        .into_iter()
        .map(|p| (p.framework_id.to_string(), p.agent_id.to_string()))
        .collect()
}

/// Only a framework holding resources on a scheduled agent is asked, once until it
/// answers or the inverse offer ends; an answer with a filter keeps it from being asked
/// until the filter expires; without one, it is asked at the next round.
#[test]
fn inverse_offers_go_to_holders_once_until_answered() {
    let mut allocator = allocator();
    assert_eq!(picks(&mut allocator, 2), vec![("f".into(), "a".into())]);
    assert!(picks(&mut allocator, 3).is_empty(), "outstanding: not asked twice");
    assert_eq!(
        allocator.inverse_offers_outstanding(&AgentId::new("a")),
        vec![FrameworkId::new("f")]
    );

    let (a, f) = (AgentId::new("a"), FrameworkId::new("f"));
    allocator.on_update_inverse_offer(&a, &f, Some(10.0), Duration::from_secs(3)).unwrap();
    assert!(picks(&mut allocator, 12).is_empty(), "filtered until 13 s");
    assert_eq!(picks(&mut allocator, 13).len(), 1, "the filter expired");

    allocator.on_update_inverse_offer(&a, &f, None, Duration::from_secs(14)).unwrap();
    assert_eq!(picks(&mut allocator, 14).len(), 1, "rescinded: asked again at once");
}

/// A new unavailability drops outstanding marks and filters; none stops inverse offers;
/// a deactivated framework or agent is not asked; REVIVE clears the framework's filters.
#[test]
fn unavailability_deactivation_and_revive() {
    let mut allocator = allocator();
    let (a, f) = (AgentId::new("a"), FrameworkId::new("f"));
    picks(&mut allocator, 2);
    allocator.on_update_unavailability(&a, Some(window(120))).unwrap();
    let fresh = allocator.generate_inverse_offers(Duration::from_secs(2));
    assert_eq!(fresh.len(), 1, "a new window: asked again");
    assert_eq!(fresh[0].unavailability, window(120));

    allocator.on_update_inverse_offer(&a, &f, Some(1000.0), Duration::from_secs(2)).unwrap();
    assert!(picks(&mut allocator, 3).is_empty());
    allocator.on_revive_offers(&f, &Default::default()).unwrap();
    assert_eq!(picks(&mut allocator, 3).len(), 1, "REVIVE clears inverse offer filters");

    allocator.on_update_inverse_offer(&a, &f, None, Duration::from_secs(3)).unwrap();
    allocator.on_deactivate_framework(&f).unwrap();
    assert!(picks(&mut allocator, 4).is_empty(), "inactive framework");
    allocator.on_activate_framework(&f).unwrap();
    allocator.on_deactivate_agent(&a).unwrap();
    assert!(picks(&mut allocator, 4).is_empty(), "inactive agent");
    allocator.on_activate_agent(&a).unwrap();
    allocator.on_update_unavailability(&a, None).unwrap();
    assert!(picks(&mut allocator, 5).is_empty(), "no longer scheduled");
}
