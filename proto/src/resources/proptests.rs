//! Property tests for `Resources` and value arithmetic: the invariants hold
//! after any sequence of operations, arithmetic laws hold, printing reads
//! back, and no input makes the parser or validation panic.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::resource::{self as one, dynamic_reservation, static_reservation};
use super::values::{self, format_scalar, ranges_add, ranges_contains, ranges_from, ranges_sub};
use super::*;
use crate::mesos::resource::disk_info::Persistence;
use crate::mesos::resource::{DiskInfo, RevocableInfo};
use crate::mesos::value::{Range, Scalar};

/// Which ports and set items a generated `Resources` draws from, so that two
/// generated values can be made disjoint in their ranges and sets.
#[derive(Clone, Copy, Debug)]
struct Universe {
    ports: (u64, u64),
    items: &'static [&'static str],
}

const LOW: Universe = Universe { ports: (0, 1000), items: &["a", "b", "c", "d"] };
const HIGH: Universe = Universe { ports: (2000, 3000), items: &["w", "x", "y", "z"] };
const ANY: Universe = Universe { ports: (0, 3000), items: &["a", "b", "c", "w", "x"] };

fn scalar_text() -> impl Strategy<Value = String> {
    (0u64..5_000_000).prop_map(|milli| format_scalar(milli as f64 / 1000.0))
}

fn ranges_text(universe: Universe) -> impl Strategy<Value = String> {
    let (lo, hi) = universe.ports;
    proptest::collection::vec((lo..hi, 0u64..40), 0..4).prop_map(|pairs| {
        let items: Vec<String> = pairs.iter().map(|(b, len)| format!("{b}-{}", b + len)).collect();
        format!("[{}]", items.join(", "))
    })
}

fn set_text(universe: Universe) -> impl Strategy<Value = String> {
    proptest::sample::subsequence(universe.items, 0..=universe.items.len())
        .prop_map(|items| format!("{{{}}}", items.join(",")))
}

fn role() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("*"), Just("r1"), Just("r2"), Just("a/b")]
}

/// `name(role):value` for one of a few names, each always of one type.
fn resource_text(universe: Universe) -> impl Strategy<Value = String> {
    let value = prop_oneof![
        scalar_text().prop_map(|v| ("cpus", v)),
        scalar_text().prop_map(|v| ("mem", v)),
        scalar_text().prop_map(|v| ("gpus", v)),
        ranges_text(universe).prop_map(|v| ("ports", v)),
        set_text(universe).prop_map(|v| ("disks", v)),
    ];
    (value, role()).prop_map(|((name, value), role)| {
        if role == "*" { format!("{name}:{value}") } else { format!("{name}({role}):{value}") }
    })
}

fn resources_text(universe: Universe) -> impl Strategy<Value = String> {
    proptest::collection::vec(resource_text(universe), 0..7).prop_map(|parts| parts.join(";"))
}

fn resources(universe: Universe) -> impl Strategy<Value = Resources> {
    resources_text(universe).prop_map(|text| {
        Resources::parse(&text).unwrap_or_else(|e| panic!("generated text {text:?}: {e}"))
    })
}

/// Resources with metadata the text syntax cannot express: allocations,
/// dynamic and refined reservations, revocability, persistent volumes.
fn rich_resources() -> impl Strategy<Value = Resources> {
    (resources(ANY), proptest::collection::vec(0u8..6, 0..4), proptest::option::of(role()))
        .prop_map(|(base, decorations, allocation)| {
            let mut result = base.clone();
            for (i, decoration) in decorations.into_iter().enumerate() {
                let Some(mut proto) = base.iter().nth(i).cloned() else { break };
                match decoration {
                    0 => proto.revocable = Some(RevocableInfo {}),
                    1 => proto.reservations = vec![dynamic_reservation("r1", Some("p"), None)],
                    2 => {
                        proto.reservations =
                            vec![static_reservation("a"), dynamic_reservation("a/b", None, None)]
                    }
                    3 if proto.r#type == Type::Scalar as i32 => {
                        proto.name = "disk".into();
                        proto.disk = Some(Box::new(DiskInfo {
                            persistence: Some(Persistence { id: format!("v{i}"), principal: None }),
                            ..Default::default()
                        }));
                        proto.reservations = vec![dynamic_reservation("r2", None, None)];
                    }
                    _ => proto.reservations.clear(),
                }
                // Decorations are valid by construction.
                result.push(proto).unwrap();
            }
            if let Some(role) = allocation {
                result.allocate(role);
            }
            result
        })
}

/// Checks every invariant the module docs promise.
#[allow(deprecated)] // Checks the old-format `role` field is unset.
fn check_invariants(resources: &Resources) -> Result<(), TestCaseError> {
    for (i, entry) in resources.entries.iter().enumerate() {
        let r = &entry.resource;
        prop_assert!(validate(r).is_ok(), "invalid entry {}", one::display(r));
        prop_assert!(!entry.is_empty(), "empty entry {}", one::display(r));
        prop_assert!(r.role.is_none() && r.reservation.is_none(), "old format");
        if let Some(scalar) = &r.scalar {
            prop_assert!(
                scalar.value >= 0.001,
                "scalar {} below the smallest amount",
                scalar.value
            );
            prop_assert_eq!(scalar.value, values::normalize_scalar(scalar.value));
        }
        if let Some(ranges) = &r.ranges {
            let mut canonical = ranges.clone();
            values::coalesce(&mut canonical);
            prop_assert_eq!(&canonical, ranges, "ranges not coalesced");
        }
        for other in &resources.entries[i + 1..] {
            prop_assert!(
                !one::addable(&other.resource, r),
                "{} and {} should have been merged",
                one::display(r),
                one::display(&other.resource)
            );
        }
    }
    Ok(())
}

/// The set of numbers held, for ranges over a small universe.
fn members(ranges: &Ranges) -> BTreeSet<u64> {
    ranges.range.iter().flat_map(|r| r.begin..=r.end).collect()
}

fn raw_ranges() -> impl Strategy<Value = Ranges> {
    proptest::collection::vec((0u64..200, 0u64..200), 0..6).prop_map(|pairs| Ranges {
        range: pairs.into_iter().map(|(a, b)| Range { begin: a.min(b), end: a.max(b) }).collect(),
    })
}

/// Any `Resource` protobuf at all, mostly invalid.
fn arbitrary_proto() -> impl Strategy<Value = crate::mesos::Resource> {
    let name = prop_oneof![Just(""), Just("cpus"), Just("ports"), Just("disk"), Just("disks")];
    let reservation = (
        proptest::option::of(-1i32..4),
        proptest::option::of(prop_oneof![Just(""), Just("*"), Just("a"), Just("a/b"), Just("/x")]),
    )
        .prop_map(|(kind, role)| ReservationInfo {
            r#type: kind,
            role: role.map(str::to_string),
            ..Default::default()
        });
    (
        name,
        -1i32..5,
        proptest::option::of(any::<f64>()),
        proptest::option::of(proptest::collection::vec((any::<u64>(), any::<u64>()), 0..3)),
        proptest::option::of(proptest::collection::vec("[ab]", 0..3)),
        proptest::collection::vec(reservation, 0..3),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(
            |(name, kind, scalar, ranges, set, reservations, (revocable, shared, disk))| {
                crate::mesos::Resource {
                    name: name.to_string(),
                    r#type: kind,
                    scalar: scalar.map(|value| Scalar { value }),
                    ranges: ranges.map(|pairs| Ranges {
                        range: pairs.into_iter().map(|(begin, end)| Range { begin, end }).collect(),
                    }),
                    set: set.map(|item| Set { item }),
                    reservations,
                    revocable: revocable.then_some(RevocableInfo {}),
                    shared: shared.then_some(crate::mesos::resource::SharedInfo {}),
                    disk: disk.then(|| {
                        Box::new(DiskInfo {
                            persistence: Some(Persistence { id: "v".into(), principal: None }),
                            ..Default::default()
                        })
                    }),
                    ..Default::default()
                }
            },
        )
}

proptest! {
    /// Proves sums and differences keep every invariant, so a Resources is never negative or empty-valued.
    #[test]
    fn never_negative(a in rich_resources(), b in rich_resources()) {
        check_invariants(&a)?;
        check_invariants(&b)?;
        check_invariants(&(&a + &b))?;
        check_invariants(&(&a - &b))?;
        check_invariants(&(&b - &a))?;
        check_invariants(&a.to_unreserved())?;
    }

    /// Proves adding then subtracting the same resources is the identity (ranges and sets disjoint, as the law needs).
    #[test]
    fn add_then_subtract_is_identity(a in resources(LOW), b in resources(HIGH)) {
        prop_assert_eq!(&(&a + &b) - &b, a.clone());
        prop_assert_eq!(&(&a + &b) - &a, b.clone());
        prop_assert_eq!((&a + &b).checked_sub(&b).ok(), Some(a.clone()));
    }

    /// Proves scalar-only amounts always come back exactly, whatever overlaps.
    #[test]
    fn scalar_add_then_subtract_is_identity(a in resources(ANY), b in resources(ANY)) {
        let (a, b) = (a.scalars(), b.scalars());
        prop_assert_eq!(&(&a + &b) - &b, a);
    }

    /// Proves a sum contains each part, and a difference is contained in what it came from.
    #[test]
    fn contains_after_add(a in rich_resources(), b in rich_resources()) {
        let sum = &a + &b;
        prop_assert!(sum.contains(&a));
        prop_assert!(sum.contains(&b));
        prop_assert!(sum.contains(&sum));
        prop_assert!(a.contains(&(&a - &b)));
        prop_assert!(sum.contains_quantities(&ResourceQuantities::from_resources(&a)));
    }

    /// Proves addition is commutative and associative, and equality is by content.
    #[test]
    fn addition_laws(a in rich_resources(), b in rich_resources(), c in rich_resources()) {
        prop_assert_eq!(&a + &b, &b + &a);
        prop_assert_eq!(&(&a + &b) + &c, &a + &(&b + &c));
        prop_assert_eq!(&a + &Resources::new(), a.clone());
        prop_assert!((&a - &a).is_empty());
    }

    /// Proves quantities agree with the resources they were taken from.
    #[test]
    fn quantities_follow_resources(a in resources(LOW), b in resources(HIGH)) {
        let qa = ResourceQuantities::from_resources(&a);
        let qb = ResourceQuantities::from_resources(&b);
        prop_assert_eq!(ResourceQuantities::from_resources(&(&a + &b)), &qa + &qb);
        prop_assert!(a.contains_quantities(&qa));
        prop_assert_eq!(ResourceQuantities::parse(&qa.to_string()).unwrap(), qa.clone());
        prop_assert_eq!(&(&qa + &qb) - &qb, qa);
    }

    /// Proves range union, difference and containment are the set operations, with canonical output.
    #[test]
    fn ranges_merge_and_coalesce_canonically(a in raw_ranges(), b in raw_ranges()) {
        let sum = ranges_add(&a, &b);
        let diff = ranges_sub(&a, &b);
        for result in [&sum, &diff] {
            // Sorted, and separated by at least one missing number.
            for pair in result.range.windows(2) {
                prop_assert!(pair[0].end + 1 < pair[1].begin, "not canonical: {:?}", result);
            }
            prop_assert!(result.range.iter().all(|r| r.begin <= r.end));
        }
        let (ma, mb) = (members(&a), members(&b));
        prop_assert_eq!(members(&sum), ma.union(&mb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(members(&diff), ma.difference(&mb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(ranges_contains(&a, &b), mb.is_subset(&ma));
        let pairs: Vec<(u64, u64)> = a.range.iter().map(|r| (r.begin, r.end)).collect();
        prop_assert_eq!(ranges_from(pairs), ranges_add(&a, &Ranges::default()));
    }

    /// Proves fixed-point scalar arithmetic is exact at three decimals.
    #[test]
    fn scalar_arithmetic_is_exact(x in 0i64..1_000_000_000, y in 0i64..1_000_000_000) {
        let (a, b) = (values::from_fixed(x), values::from_fixed(y));
        prop_assert_eq!(values::scalar_sub(values::scalar_add(a, b), b), a);
        prop_assert_eq!(values::to_fixed(values::scalar_add(a, b)), x + y);
        prop_assert_eq!(format_scalar(a).parse::<f64>().unwrap(), a);
    }

    /// Proves parse(display(x)) == x, and printing is stable, for everything the flag can say.
    #[test]
    fn parse_display_round_trip(text in resources_text(ANY)) {
        let parsed = Resources::parse(&text).unwrap();
        let printed = parsed.to_string();
        let again = Resources::parse(&printed).unwrap();
        prop_assert_eq!(&again, &parsed);
        prop_assert_eq!(again.to_string(), printed);
    }

    /// Proves arbitrary text is an error or resources, never a panic.
    #[test]
    fn malformed_text_never_panics(text in "\\PC{0,60}") {
        if let Ok(parsed) = Resources::parse(&text) {
            check_invariants(&parsed)?;
        }
        let _ = ResourceQuantities::parse(&text);
        let _ = values::parse_value(&text);
    }

    /// Proves a valid string with one character changed is an error or valid resources, never a panic.
    #[test]
    fn mutated_text_never_panics(
        text in resources_text(ANY),
        at in any::<prop::sample::Index>(),
        c in prop_oneof![Just(':'), Just(';'), Just('('), Just(')'), Just('['), Just(']'), Just('-'), Just(','), Just('{'), Just('}'), Just(' '), Just('x'), Just('9')],
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        let at = at.index(chars.len() + 1);
        chars.insert(at, c);
        let mutated: String = chars.into_iter().collect();
        if let Ok(parsed) = Resources::parse(&mutated) {
            check_invariants(&parsed)?;
        }
    }

    /// Proves `add_protos` adds what `+=` of `from_protos` adds, protobufs in the current
    /// or the old reservation format, valid or not (then nothing is added).
    #[test]
    fn add_protos_adds_what_from_protos_adds(
        held in rich_resources(),
        added in rich_resources(),
        arbitrary in proptest::collection::vec(arbitrary_proto(), 0..2),
        old_format in any::<bool>(),
    ) {
        let mut protos = added.to_protos();
        if old_format {
            for proto in &mut protos {
                let _ = one::downgrade(proto);
            }
        }
        protos.extend(arbitrary);
        let mut borrowed = held.clone();
        let result = borrowed.add_protos(&protos);
        match Resources::from_protos(protos) {
            Ok(owned) => {
                prop_assert!(result.is_ok());
                prop_assert_eq!(&borrowed, &(&held + &owned));
                check_invariants(&borrowed)?;
            }
            Err(_) => {
                prop_assert!(result.is_err());
                prop_assert_eq!(&borrowed, &held);
            }
        }
    }

    /// Proves `allocations_unallocated` is `allocations` with each group unallocated.
    #[test]
    fn allocations_unallocated_is_allocations_unallocated(a in rich_resources()) {
        let expected: Vec<(String, Resources)> = a
            .allocations()
            .into_iter()
            .map(|(role, mut resources)| {
                resources.unallocate();
                (role, resources)
            })
            .collect();
        let got: Vec<(String, Resources)> = a.allocations_unallocated().into_iter().collect();
        prop_assert_eq!(got, expected);
    }

    /// Proves arbitrary protobufs are validated without panics, and only valid ones get in.
    #[test]
    fn arbitrary_protos_never_panic(protos in proptest::collection::vec(arbitrary_proto(), 0..4), other in rich_resources()) {
        for proto in &protos {
            let _ = one::display(proto).to_string();
        }
        if let Ok(accepted) = Resources::from_protos(protos) {
            check_invariants(&accepted)?;
            check_invariants(&(&accepted + &other))?;
            check_invariants(&(&other - &accepted))?;
        }
    }
}
