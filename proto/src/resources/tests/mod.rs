//! Unit tests for `Resources`, most ported from Mesos's
//! src/tests/resources_tests.cpp under the same names.

use super::resource::{dynamic_reservation, static_reservation};
use super::*;
use crate::mesos::resource::disk_info::{Persistence, Source, source};
use crate::mesos::resource::{DiskInfo, RevocableInfo, SharedInfo};
use crate::mesos::value::Scalar;
use crate::mesos::{Label, Labels, Volume, volume};

/// `Resources::parse(text)`, which must succeed.
fn r(text: &str) -> Resources {
    Resources::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// One resource from parts, as Mesos's `Resources::parse(name, value, role)`.
fn one(name: &str, value: &str, role: &str) -> Resources {
    Resources::from_protos([parse_resource(name, value, role).unwrap()]).unwrap()
}

/// Mesos's test helper `createReservedResource`.
fn reserved(name: &str, value: &str, reservation: Option<ReservationInfo>) -> Resources {
    let mut proto = parse_resource(name, value, "*").unwrap();
    proto.reservations.extend(reservation);
    Resources::from_protos([proto]).unwrap()
}

fn labels(pairs: &[(&str, Option<&str>)]) -> Labels {
    Labels {
        labels: pairs
            .iter()
            .map(|(k, v)| Label { key: k.to_string(), value: v.map(str::to_string) })
            .collect(),
    }
}

fn pairs(ranges: &Ranges) -> Vec<(u64, u64)> {
    ranges.range.iter().map(|r| (r.begin, r.end)).collect()
}

fn ranges(text: &str) -> Ranges {
    values::parse_value(text).unwrap().ranges.unwrap()
}

/// A persistent volume of `mb` megabytes reserved to `role`.
fn volume(mb: f64, role: &str, id: &str, shared: bool) -> crate::mesos::Resource {
    crate::mesos::Resource {
        name: "disk".into(),
        r#type: Type::Scalar as i32,
        scalar: Some(Scalar { value: mb }),
        reservations: vec![dynamic_reservation(role, Some("principal"), None)],
        disk: Some(Box::new(DiskInfo {
            persistence: Some(Persistence { id: id.into(), principal: None }),
            volume: Some(Volume {
                mode: volume::Mode::Rw as i32,
                container_path: "path".into(),
                ..Default::default()
            }),
            source: None,
        })),
        shared: shared.then_some(SharedInfo {}),
        ..Default::default()
    }
}

/// Proves each value kind parses, and the text form equals the sum of its parts (ResourcesTest.Parsing).
#[test]
fn resources_test_parsing() {
    let cpus = parse_resource("cpus", "45.55", "*").unwrap();
    assert_eq!(cpus.r#type, Type::Scalar as i32);
    assert_eq!(cpus.scalar.as_ref().unwrap().value, 45.55);

    let ports = parse_resource("ports", "[10000-20000, 30000-50000]", "*").unwrap();
    assert_eq!(ports.r#type, Type::Ranges as i32);
    assert_eq!(ports.ranges.as_ref().unwrap().range.len(), 2);

    let disks = parse_resource("disks", "{sda1}", "*").unwrap();
    assert_eq!(disks.r#type, Type::Set as i32);
    assert_eq!(disks.set.as_ref().unwrap().item, vec!["sda1"]);

    let r1 = r("cpus:45.55;ports:[10000-20000, 30000-50000];disks:{sda1}");
    let r2 = Resources::from_protos([cpus, ports, disks]).unwrap();
    assert_eq!(r1, r2);
    assert_eq!(r1.len(), 3);
}

/// Proves `name(role):value` makes a static reservation, and the default role applies to the rest (ResourcesTest.ParsingWithRoles).
#[test]
fn resources_test_parsing_with_roles() {
    let parse1 = r("cpus(role1):2;mem(role1):3");
    let expected = Resources::from_protos([
        crate::mesos::Resource {
            name: "cpus".into(),
            r#type: Type::Scalar as i32,
            scalar: Some(Scalar { value: 2.0 }),
            reservations: vec![static_reservation("role1")],
            ..Default::default()
        },
        crate::mesos::Resource {
            name: "mem".into(),
            r#type: Type::Scalar as i32,
            scalar: Some(Scalar { value: 3.0 }),
            reservations: vec![static_reservation("role1")],
            ..Default::default()
        },
    ])
    .unwrap();
    assert_eq!(parse1, expected);

    let parse2 = r("cpus(role1):2.5;ports(role2):[0-100]");
    assert_eq!(parse2, one("cpus", "2.5", "role1") + one("ports", "[0-100]", "role2"));

    let parse3 =
        Resources::parse_with_default_role("cpus:2.5;ports(role2):[0-100]", "role1").unwrap();
    assert_eq!(parse2, parse3);
    assert_eq!(r(" cpus ( role1 ) : 2 "), one("cpus", "2", "role1"));
}

/// Proves malformed --resources text is an error naming what and where (ResourcesTest.ParseError).
#[test]
fn resources_test_parse_error() {
    for bad in [
        "cpus(role1)",
        "cpus(role1:1",
        "cpus)(role1:1",
        "foo(role1):1;foo(role2):[0-1]",
        "cpus:1:2",
        ":1",
        "cpus:",
        "cpus:abc",
        "cpus:-1",
        "cpus:nan",
        "cpus():1",
        "cpus(/a):1",
        "cpus(r)x:1",
        "ports:[1-2",
        "ports:[5-1]",
        "ports:[1-2, 2-3]x",
        "disks:{a,a}",
        "cpus:1e300",
    ] {
        assert!(Resources::parse(bad).is_err(), "{bad:?} should be rejected");
    }

    let error = Resources::parse("cpus:4;mem:lots;disk:1").unwrap_err();
    match &error {
        ResourceError::Parse { offset, token, problem, .. } => {
            assert_eq!(*offset, 11);
            assert_eq!(token, "mem:lots");
            assert!(matches!(problem, ParseProblem::WrongType { found: "TEXT", .. }));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("byte 11") && message.contains("mem:lots"), "{message}");

    match Resources::parse("cpus:1;ports:[1-2, 3-x]") {
        Err(ResourceError::Parse { offset, problem, .. }) => {
            assert_eq!(offset, 21);
            assert_eq!(problem, ParseProblem::BadInteger { text: "x".into() });
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        Resources::parse("foo(role1):1;foo(role2):[0-1]"),
        Err(ResourceError::MixedTypes { .. })
    ));
}

/// Proves the JSON array form parses, including ranges, sets and reservations (ResourcesTest.ParsingFromJSON, .ParsingFromJSONWithRoles).
#[test]
fn resources_test_parsing_from_json() {
    let json = r#"[
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 45.55}},
        {"name": "ports", "type": "RANGES",
         "ranges": {"range": [{"begin": 10000, "end": 20000}, {"begin": 30000, "end": 50000}]}},
        {"name": "pandas", "type": "SET", "set": {"item": ["lun_lun", "yang_yang"]}}
    ]"#;
    assert_eq!(r(json), r("cpus:45.55;ports:[10000-20000,30000-50000];pandas:{lun_lun,yang_yang}"));

    let json = r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 45.55},
                    "reservations": [{"type": "STATIC", "role": "role1"}]},
                   {"name": "cpus", "type": "SCALAR", "scalar": {"value": 54.44}, "role": "role2"}]"#;
    let parsed = r(json);
    assert_eq!(parsed, r("cpus(role1):45.55;cpus(role2):54.44"));
    assert_eq!(parsed.cpus(), Some(99.99));

    let with_default = Resources::parse_with_default_role(
        r#"[{"name": "mem", "type": "SCALAR", "scalar": {"value": 1}}]"#,
        "role3",
    )
    .unwrap();
    assert_eq!(with_default, r("mem(role3):1"));
}

/// Proves malformed or forbidden JSON resources are errors (ResourcesTest.ParsingFromJSONError).
#[test]
fn resources_test_parsing_from_json_error() {
    let set = r#"{"name": "sad_pandas", "type": "SET", "set": {"item": ["bai_yun"]}}"#;
    for bad in [
        // An array missing a comma, an array of arrays, extra text.
        format!("[{set} {set}]"),
        format!("[[{set}]]"),
        format!("[{set}] once upon a time"),
        // Missing 'type', empty name, unknown type.
        r#"[{"name": "pandas", "set": {"item": ["a"]}}]"#.to_string(),
        r#"[{"name": "", "type": "SET", "set": {"item": ["a"]}}]"#.to_string(),
        r#"[{"name": "pandas", "type": "FLOATINGPOINT", "set": {"item": ["a"]}}]"#.to_string(),
        // Negative.
        r#"[{"name": "panda_power", "type": "SCALAR", "scalar": {"value": -1}}]"#.to_string(),
        // Same name, different types.
        r#"[{"name": "p", "type": "SCALAR", "scalar": {"value": 14}},
            {"name": "p", "type": "SET", "set": {"item": ["a"]}}]"#
            .to_string(),
        // A persistent volume, a dynamic reservation, a revocable resource.
        r#"[{"name": "disk", "type": "SCALAR", "scalar": {"value": 2048},
             "disk": {"persistence": {"id": "pv1"},
                      "volume": {"container_path": "/p", "mode": "RW"}}}]"#
            .to_string(),
        r#"[{"name": "disk", "type": "SCALAR", "scalar": {"value": 2048},
             "reservations": [{"type": "DYNAMIC", "role": "r", "principal": "p"}]}]"#
            .to_string(),
        r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
             "role": "role2", "revocable": {}}]"#
            .to_string(),
    ] {
        assert!(Resources::parse(&bad).is_err(), "{bad} should be rejected");
    }
}

/// Proves the named getters sum over roles (ResourcesTest.Resources).
#[test]
fn resources_test_resources() {
    let res = r("cpus:45.55;mem:1024;ports:[10000-20000, 30000-50000];disk:512");
    assert_eq!(res.cpus(), Some(45.55));
    assert_eq!(res.mem_mb(), Some(1024.0));
    assert_eq!(res.disk_mb(), Some(512.0));
    assert_eq!(values::format_ranges(&res.ports().unwrap()), "[10000-20000, 30000-50000]");

    let res = r("cpus:45.55;disk:512");
    assert_eq!(res.mem_mb(), None);
    assert_eq!(res.ports(), None);
    assert_eq!(res.gpus(), None);
}

/// Proves printing uses the --resources syntax and order of insertion (ResourcesTest.Printing).
#[test]
fn resources_test_printing() {
    let res = r("cpus:45.55;ports:[10000-20000, 30000-50000];disks:{sda1}");
    assert_eq!(res.to_string(), "cpus:45.55; ports:[10000-20000, 30000-50000]; disks:{sda1}");
    assert_eq!(r("cpus(role1):2").to_string(), "cpus(role1):2");
    assert_eq!(Resources::new().to_string(), "{}");
}

/// Proves metadata the flag cannot express prints the way Mesos logs it (ResourcesTest.PrintingExtendedAttributes).
#[test]
fn resources_test_printing_extended_attributes() {
    let mut disk = parse_resource("disk", "1", "*").unwrap();
    let show = |r: &crate::mesos::Resource| resource::display(r).to_string();
    assert_eq!(show(&disk), "disk:1");

    disk.reservations.push(static_reservation("alice"));
    assert_eq!(show(&disk), "disk(alice):1");

    disk.allocation_info = Some(AllocationInfo { role: Some("role".into()) });
    assert_eq!(show(&disk), "disk(allocated: role)(reservations: [(STATIC,alice)]):1");
    disk.allocation_info = None;

    disk.revocable = Some(RevocableInfo {});
    assert_eq!(show(&disk), "disk(reservations: [(STATIC,alice)]){REV}:1");
    disk.revocable = None;

    disk.disk = Some(Box::new(DiskInfo {
        persistence: Some(Persistence { id: "hadoop".into(), principal: None }),
        volume: Some(Volume {
            container_path: "/data".into(),
            mode: volume::Mode::Rw as i32,
            ..Default::default()
        }),
        source: None,
    }));
    assert_eq!(show(&disk), "disk(reservations: [(STATIC,alice)])[hadoop:/data]:1");

    if let Some(v) = disk.disk.as_mut().and_then(|d| d.volume.as_mut()) {
        v.host_path = Some("/hdfs".into());
    }
    if let Some(d) = disk.disk.as_mut() {
        d.source = Some(Source {
            r#type: source::Type::Mount as i32,
            mount: Some(source::Mount { root: Some("/mnt1".into()) }),
            ..Default::default()
        });
    }
    assert_eq!(
        show(&disk),
        "disk(reservations: [(STATIC,alice)])[MOUNT:/mnt1,hadoop:/hdfs:/data:rw]:1"
    );
    if let Some(d) = disk.disk.as_mut() {
        d.source = None;
    }

    disk.reservations.push(dynamic_reservation(
        "alice/refined",
        Some("hdfs-p"),
        Some(labels(&[("foo", Some("bar")), ("foo", None)])),
    ));
    assert_eq!(
        show(&disk),
        "disk(reservations: [(STATIC,alice),(DYNAMIC,alice/refined,hdfs-p,{foo: bar, foo})])\
         [hadoop:/hdfs:/data:rw]:1"
    );
}

/// Proves an empty collection is empty (ResourcesTest.InitializedIsEmpty).
#[test]
fn resources_test_initialized_is_empty() {
    assert!(Resources::new().is_empty());
    assert!(Resources::default().is_empty());
}

/// Proves nameless resources are refused and zero ones hold nothing (ResourcesTest.BadResourcesNotAllocatable).
#[test]
fn resources_test_bad_resources_not_allocatable() {
    let mut cpus = crate::mesos::Resource {
        r#type: Type::Scalar as i32,
        scalar: Some(Scalar { value: 1.0 }),
        ..Default::default()
    };
    let mut res = Resources::new();
    assert!(res.push(cpus.clone()).is_err());
    assert!(res.is_empty());

    cpus.name = "cpus".into();
    cpus.scalar = Some(Scalar { value: 0.0 });
    res.push(cpus).unwrap();
    assert!(res.is_empty());
}

/// Proves validation rejects each way a protobuf can be malformed.
#[test]
fn resources_test_validation() {
    let base = parse_resource("cpus", "1", "*").unwrap();
    let mut cases = Vec::new();

    let mut negative = base.clone();
    negative.scalar = Some(Scalar { value: -1.0 });
    cases.push(negative);
    let mut tiny = base.clone();
    tiny.scalar = Some(Scalar { value: 0.0001 });
    cases.push(tiny);
    let mut nan = base.clone();
    nan.scalar = Some(Scalar { value: f64::NAN });
    cases.push(nan);
    let mut both = base.clone();
    both.ranges = Some(ranges("[1-2]"));
    cases.push(both);
    let mut missing = base.clone();
    missing.scalar = None;
    cases.push(missing);
    let mut unknown = base.clone();
    unknown.r#type = 42;
    cases.push(unknown);
    let mut text = base.clone();
    text.r#type = Type::Text as i32;
    cases.push(text);

    let mut overlapping = parse_resource("ports", "[1-2]", "*").unwrap();
    overlapping.ranges = Some(Ranges {
        range: vec![
            crate::mesos::value::Range { begin: 1, end: 5 },
            crate::mesos::value::Range { begin: 3, end: 7 },
        ],
    });
    cases.push(overlapping);
    let mut inverted = parse_resource("ports", "[1-2]", "*").unwrap();
    inverted.ranges = Some(Ranges { range: vec![crate::mesos::value::Range { begin: 5, end: 1 }] });
    cases.push(inverted);
    let mut duplicate = parse_resource("disks", "{a}", "*").unwrap();
    duplicate.set = Some(Set { item: vec!["a".into(), "a".into()] });
    cases.push(duplicate);

    // DiskResourcesTest.Validation: disk info on cpus.
    let mut disk_on_cpus = base.clone();
    disk_on_cpus.disk = Some(Box::new(DiskInfo::default()));
    cases.push(disk_on_cpus);
    // Shared, but not a persistent volume.
    let mut shared_cpus = base.clone();
    shared_cpus.shared = Some(SharedInfo {});
    cases.push(shared_cpus);
    // A refined reservation that is STATIC, or not for a sub-role.
    let mut static_refined = base.clone();
    static_refined.reservations = vec![static_reservation("a"), static_reservation("a/b")];
    cases.push(static_refined);
    let mut not_sub_role = base.clone();
    not_sub_role.reservations = vec![static_reservation("a"), dynamic_reservation("b", None, None)];
    cases.push(not_sub_role);
    let mut star = base.clone();
    star.reservations = vec![static_reservation("*")];
    cases.push(star);

    for case in cases {
        assert!(validate(&case).is_err(), "{} should be invalid", resource::display(&case));
        assert!(Resources::from_protos([case]).is_err());
    }
}

/// Proves equality for scalars, and that roles distinguish them (ResourcesTest.ScalarEquals).
#[test]
fn resources_test_scalar_equals() {
    let r1 = one("cpus", "3", "*") + one("mem", "3072", "*");
    let r2 = one("cpus", "3", "*") + one("mem", "3072", "*");
    assert!(!r1.is_empty());
    assert_eq!(r1, r2);
    assert_ne!(one("cpus", "3", "role1"), one("cpus", "3", "role2"));
}

/// Proves scalar containment (ResourcesTest.ScalarSubset).
#[test]
fn resources_test_scalar_subset() {
    let r1 = one("cpus", "1", "*") + one("mem", "3072", "*");
    let r2 = one("cpus", "1", "*") + one("mem", "4096", "*");
    assert!(r2.contains(&r1));
    assert!(!r1.contains(&r2));
}

/// Proves scalar containment respects roles (ResourcesTest.ScalarSubset2).
#[test]
fn resources_test_scalar_subset2() {
    let r1 = one("cpus", "1", "role1");
    let r2 = one("cpus", "1", "role2");
    assert!(!r2.contains(&r1));
    assert!(!r1.contains(&r2));
    let r3 = one("cpus", "3", "role1");
    assert!(!r1.contains(&r3));
    assert!(!r2.contains(&r3));
    assert!(!r3.contains(&r2));
    assert!(r3.contains(&r1));
}

/// Proves scalar addition merges same-named resources (ResourcesTest.ScalarAddition).
#[test]
fn resources_test_scalar_addition() {
    let r1 = one("cpus", "1", "*") + one("mem", "5", "*");
    let r2 = one("cpus", "2", "*") + one("mem", "10", "*");
    let sum = &r1 + &r2;
    assert_eq!(sum.len(), 2);
    assert_eq!(sum.scalar("cpus"), Some(3.0));
    assert_eq!(sum.scalar("mem"), Some(15.0));
    let mut in_place = r1.clone();
    in_place += &r2;
    assert_eq!(in_place, sum);
    assert_eq!(r1.clone() + r2.clone(), sum);
}

/// Proves scalar addition keeps roles apart (ResourcesTest.ScalarAddition2).
#[test]
fn resources_test_scalar_addition2() {
    let r1 = one("cpus", "1", "role1") + one("cpus", "3", "role2");
    let r2 = one("cpus", "5", "role1");
    let sum = &r1 + &r2;
    assert_eq!(sum.len(), 2);
    assert_eq!(sum.cpus(), Some(9.0));
    assert_eq!(sum, r("cpus(role1):6;cpus(role2):3"));
}

/// Proves scalar subtraction, down to nothing (ResourcesTest.ScalarSubtraction).
#[test]
fn resources_test_scalar_subtraction() {
    let r1 = one("cpus", "50", "*") + one("mem", "4096", "*");
    let r2 = one("cpus", "0.5", "*") + one("mem", "1024", "*");
    let diff = &r1 - &r2;
    assert_eq!(diff.scalar("cpus"), Some(49.5));
    assert_eq!(diff.scalar("mem"), Some(3072.0));
    let mut in_place = r1.clone();
    in_place -= &r2;
    assert_eq!(in_place, diff);
    in_place = r1.clone();
    in_place -= &r1;
    assert!(in_place.is_empty());
}

/// Proves scalar subtraction only touches the matching role (ResourcesTest.ScalarSubtraction2).
#[test]
fn resources_test_scalar_subtraction2() {
    let r1 = one("cpus", "5", "role1") + one("cpus", "3", "role2");
    let diff = &r1 - &one("cpus", "1", "role1");
    assert_eq!(diff.len(), 2);
    assert_eq!(diff.cpus(), Some(7.0));
    assert_eq!(diff, r("cpus(role1):4;cpus(role2):3"));
}

mod ranges;
