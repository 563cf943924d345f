//! Unit tests for ranges, sets and the rest of `Resources` (continued from `tests`).

use super::*;

/// Proves ranges compare by the numbers they hold (ResourcesTest.RangesEquals).
#[test]
fn resources_test_ranges_equals() {
    assert_eq!(one("ports", "[20-40]", "*"), one("ports", "[20-30, 31-39, 40-40]", "*"));
}

/// Proves ranges containment (ResourcesTest.RangesSubset).
#[test]
fn resources_test_ranges_subset() {
    let r1 = one("ports", "[2-2, 4-5]", "*");
    let r2 = one("ports", "[1-10]", "*");
    let r3 = one("ports", "[2-3]", "*");
    let r4 = one("ports", "[1-2, 4-6]", "*");
    let r5 = one("ports", "[1-4, 5-5]", "*");
    assert!(r2.contains(&r1));
    assert!(!r1.contains(&r2));
    assert!(!r3.contains(&r1));
    assert!(!r1.contains(&r3));
    assert!(r2.contains(&r3));
    assert!(!r3.contains(&r2));
    assert!(r4.contains(&r1));
    assert!(r2.contains(&r4));
    assert!(r5.contains(&r1));
    assert!(!r1.contains(&r5));
}

/// Proves ranges addition coalesces overlapping input (ResourcesTest.RangesAddition).
#[test]
fn resources_test_ranges_addition() {
    let sum = one("ports", "[20000-40000]", "*") + one("ports", "[30000-50000, 10000-20000]", "*");
    assert_eq!(pairs(&sum.ranges("ports").unwrap()), vec![(10000, 50000)]);
}

/// Proves ranges addition with nested overlaps (ResourcesTest.RangesAddition2).
#[test]
fn resources_test_ranges_addition2() {
    let sum = one("ports", "[1-10, 5-30, 50-60]", "*") + one("ports", "[1-65, 70-80]", "*");
    assert_eq!(pairs(&sum.ranges("ports").unwrap()), vec![(1, 65), (70, 80)]);
}

/// Proves adjacent ranges merge across additions (ResourcesTest.RangesAddition3).
#[test]
fn resources_test_ranges_addition3() {
    let r1 = one("ports", "[1-2]", "*") + one("ports", "[3-4]", "*");
    assert_eq!(pairs(&r1.ranges("ports").unwrap()), vec![(1, 4)]);
    let mut r2 = one("ports", "[7-8]", "*") + one("ports", "[5-6]", "*");
    assert_eq!(pairs(&r2.ranges("ports").unwrap()), vec![(5, 8)]);
    r2 += &r1;
    assert_eq!(pairs(&r2.ranges("ports").unwrap()), vec![(1, 8)]);
    assert_eq!(r2.len(), 1);
}

/// Proves gaps get filled into two ranges (ResourcesTest.RangesAddition4).
#[test]
fn resources_test_ranges_addition4() {
    let sum = one("ports", "[1-4, 9-10, 20-22, 26-30]", "*") + one("ports", "[5-8, 23-25]", "*");
    assert_eq!(pairs(&sum.ranges("ports").unwrap()), vec![(1, 10), (20, 30)]);
}

/// Proves ranges subtraction in each shape Mesos tests (ResourcesTest.RangesSubtraction, 1 to 6).
#[test]
fn resources_test_ranges_subtraction() {
    let cases = [
        ("[20000-40000]", "[10000-20000, 30000-50000]", "[20001-29999]"),
        ("[50000-60000]", "[50000-50001]", "[50002-60000]"),
        ("[50000-60000]", "[50000-50000]", "[50001-60000]"),
        ("[1-10, 20-30, 40-50]", "[2-9, 15-45, 48-50]", "[1-1, 10-10, 46-47]"),
        ("[1-10]", "[11-20]", "[1-10]"),
    ];
    for (have, take, left) in cases {
        let diff = one("ports", have, "*") - one("ports", take, "*");
        assert_eq!(pairs(&diff.ranges("ports").unwrap()), pairs(&ranges(left)), "{have} - {take}");
    }
    // RangesSubtraction3: an offer plus in-use taken from the total.
    let total = r("ports:[50000-60000]");
    let free = &total - &(r("") + r("ports:[50000-50001]"));
    assert_eq!(pairs(&free.ranges("ports").unwrap()), vec![(50002, 60000)]);
    // RangesSubtraction4: all of it leaves nothing.
    let mut offered = Resources::new();
    offered += &total;
    offered -= &total;
    assert!(offered.is_empty());
    assert_eq!(offered.ranges("ports"), None);
}

/// Proves set equality (ResourcesTest.SetEquals).
#[test]
fn resources_test_set_equals() {
    assert_eq!(one("disks", "{sda1}", "*"), one("disks", "{sda1}", "*"));
    assert_eq!(one("disks", "{a,b}", "*"), one("disks", "{b,a}", "*"));
}

/// Proves set containment (ResourcesTest.SetSubset).
#[test]
fn resources_test_set_subset() {
    let r1 = one("disks", "{sda1,sda2}", "*");
    let r2 = one("disks", "{sda1,sda3,sda4,sda2}", "*");
    assert!(r2.contains(&r1));
    assert!(!r1.contains(&r2));
}

/// Proves set addition does not duplicate items (ResourcesTest.SetAddition).
#[test]
fn resources_test_set_addition() {
    let sum = one("disks", "{sda1,sda2,sda3}", "*") + one("disks", "{sda1,sda2,sda3,sda4}", "*");
    assert_eq!(sum.set("disks").unwrap().item.len(), 4);
}

/// Proves set subtraction (ResourcesTest.SetSubtraction).
#[test]
fn resources_test_set_subtraction() {
    let diff = one("disks", "{sda1,sda2,sda3,sda4}", "*") - one("disks", "{sda2,sda3,sda4}", "*");
    assert_eq!(diff.set("disks").unwrap().item, vec!["sda1"]);
}

/// Proves empty is not equal to something (ResourcesTest.EmptyUnequal).
#[test]
fn resources_test_empty_unequal() {
    assert_ne!(r(""), r("cpus:2"));
    assert_eq!(r(""), r("{}"));
}

/// Proves reserved/unreserved filters and grouping by role (ResourcesTest.Reservations).
#[test]
fn resources_test_reservations() {
    let unreserved = r("cpus:1;mem:2;disk:4");
    let role1 = r("cpus(role1):2;mem(role1):4;disk(role1):8");
    let role2 = r("cpus(role2):4;mem(role2):8;disk(role2):6");
    let resources = &(&unreserved + &role1) + &role2;

    let by_role = resources.reservations();
    assert_eq!(by_role.len(), 2);
    assert_eq!(by_role["role1"], role1);
    assert_eq!(by_role["role2"], role2);
    assert_eq!(resources.reserved(Some("role1")), role1);
    assert_eq!(resources.reserved(Some("role2")), role2);
    assert_eq!(resources.reserved(Some("*")), Resources::new());
    assert_eq!(resources.unreserved(), unreserved);
    assert_eq!(resources.reserved(None), &role1 + &role2);
}

/// Proves a role may use reservations of itself and its ancestors only (ResourcesTest.HierarchicalReservations).
#[test]
fn resources_test_hierarchical_reservations() {
    let unreserved = r("cpus:1;mem:2;disk:4");
    let grandfather = r("cpus(a):2;mem(a):4;disk(a):8");
    let father = r("cpus(a/bx):4;mem(a/bx):8;disk(a/bx):16");
    let uncle = r("cpus(a/b):4;mem(a/b):8;disk(a/b):16");
    let child = r("cpus(a/bx/c):8;mem(a/bx/c):16;disk(a/bx/c):32");
    let family =
        [&unreserved, &grandfather, &father, &uncle, &child].into_iter().sum::<Resources>();

    assert_eq!(family.allocatable_to("*"), unreserved);
    assert_eq!(family.allocatable_to("a"), &grandfather + &unreserved);
    assert_eq!(
        family.allocatable_to("a/bx"),
        [&grandfather, &father, &unreserved].into_iter().sum()
    );
    assert_eq!(
        family.allocatable_to("a/bx/c"),
        [&grandfather, &father, &child, &unreserved].into_iter().sum()
    );
    assert_eq!(family.reserved_to_role_subtree("a/bx"), &father + &child);
}

/// Proves dropping reservations merges amounts across roles (ResourcesTest.ToUnreserved).
#[test]
fn resources_test_to_unreserved() {
    let res = one("cpus", "1", "role1") + one("cpus", "2", "role2") + one("mem", "5", "role1");
    assert_eq!(res.to_unreserved(), r("cpus:3;mem:5"));
    assert_eq!(res.to_unreserved().len(), 2);
}

/// Proves flatten marks everything as one role, or unreserved (old Mesos ResourcesTest.FlattenRoles).
#[test]
fn resources_test_flatten() {
    let res = r("cpus(role1):1;cpus:2;mem(role2):5");
    assert_eq!(res.flatten("*").unwrap(), r("cpus:3;mem:5"));
    assert_eq!(res.flatten("web").unwrap(), r("cpus(web):3;mem(web):5"));
    assert!(res.flatten("/bad").is_err());
}

/// Proves filtering by name (ResourcesTest.Get).
#[test]
fn resources_test_get() {
    let cpus = r("cpus(role1):2;cpus:4");
    let mem = r("mem(role1):10;mem:10");
    assert_eq!((&cpus + &mem).named("cpus"), cpus);
    assert_eq!((&cpus + &mem).named("mem"), mem);
}

/// Proves the distinct names (ResourcesTest.Names).
#[test]
fn resources_test_names() {
    let names: Vec<String> =
        r("cpus(role1):2;cpus:4;mem(role1):10;mem:10").names().into_iter().collect();
    assert_eq!(names, vec!["cpus", "mem"]);
}

/// Proves the type of each name (ResourcesTest.Types).
#[test]
fn resources_test_types() {
    let types = r("cpus(role1):2;cpus:4;ports:[1-10];ports:[11-20]").types();
    assert_eq!(types.len(), 2);
    assert_eq!(types["cpus"], Type::Scalar);
    assert_eq!(types["ports"], Type::Ranges);
}

/// Proves three-decimal values survive add and subtract exactly (ResourcesTest.PrecisionSimple).
#[test]
fn resources_test_precision_simple() {
    let cpu = r("cpus:1.001");
    assert_eq!(cpu.cpus(), Some(1.001));
    let r1 = &(&(&(&cpu + &cpu) + &cpu) - &cpu) - &cpu;
    assert_eq!(r1, cpu);
    assert_eq!(r1.cpus(), Some(1.001));
    let zero = r("cpus:0");
    assert_eq!(&cpu - &zero, cpu);
    assert_eq!(&cpu + &zero, cpu);
}

/// Proves no drift over many mixed operations (ResourcesTest.PrecisionManyOps).
#[test]
fn resources_test_precision_many_ops() {
    let start = r("cpus:1.001");
    let mut current = start.clone();
    for _ in 0..2500 {
        let next = &(&(&(&current + &current) + &current) - &current) - &current;
        assert_eq!(next.cpus(), Some(1.001));
        assert_eq!(next, current);
        assert_eq!(next, start);
        current = next;
    }
}

/// Proves no drift over a long run of additions then subtractions (ResourcesTest.PrecisionManyConsecutiveOps).
#[test]
fn resources_test_precision_many_consecutive_ops() {
    let start = r("cpus:1.001");
    let mut current = start.clone();
    for _ in 0..100_000 {
        current += &start;
    }
    for _ in 0..100_000 {
        current -= &start;
    }
    assert_eq!(current, start);
}

/// Proves digits past the third are dropped on input (ResourcesTest.PrecisionLost).
#[test]
fn resources_test_precision_lost() {
    let cpu = r("cpus:1.5011");
    assert_eq!(cpu.cpus(), Some(1.501));
    let r1 = &(&(&(&cpu + &cpu) + &cpu) - &cpu) - &cpu;
    assert_eq!(r1, cpu);
    assert_eq!(r1.cpus(), Some(1.501));
}

/// Proves halves round away from zero (ResourcesTest.PrecisionRounding).
#[test]
fn resources_test_precision_rounding() {
    let cpu = r("cpus:1.5015");
    assert_eq!(cpu.cpus(), Some(1.502));
    let r1 = &(&(&(&cpu + &cpu) + &cpu) - &cpu) - &cpu;
    assert_eq!(r1, cpu);
}

/// Proves a value too small to represent is an error (ResourcesTest.VerySmallValue).
#[test]
fn resources_test_very_small_value() {
    assert!(Resources::parse("cpus:0.00001").is_err());
}

/// Proves zero amounts are accepted and hold nothing (ResourcesTest.AbsentResources).
#[test]
fn resources_test_absent_resources() {
    assert_eq!(r("gpus:0").len(), 0);
}

/// Proves containment of quantities ignores roles and counts range and set elements (ResourcesTest.ContainsResourceQuantities).
#[test]
fn resources_test_contains_resource_quantities() {
    let q = |text: &str| ResourceQuantities::parse(text).unwrap();
    assert!(Resources::new().contains_quantities(&q("")));
    assert!(!Resources::new().contains_quantities(&q("cpus:1")));
    assert!(r("cpus:1").contains_quantities(&q("")));
    assert!(r("cpus:2").contains_quantities(&q("cpus:1")));
    assert!(r("cpus:1").contains_quantities(&q("cpus:1")));
    assert!(!r("cpus:0.5").contains_quantities(&q("cpus:1")));
    assert!(r("ports:[1-3]").contains_quantities(&q("ports:2")));
    assert!(r("ports:[1-2]").contains_quantities(&q("ports:2")));
    assert!(!r("ports:[1-1]").contains_quantities(&q("ports:2")));
    assert!(r("features:{a,b,c}").contains_quantities(&q("features:2")));
    assert!(!r("features:{a}").contains_quantities(&q("features:2")));
    let wanted = q("cpus:3;ports:3;features:3");
    assert!(r("cpus:3;ports:[1-3];features:{a,b,c};mem:10").contains_quantities(&wanted));
    assert!(!r("cpus:1;ports:[1-3];features:{a,b,c}").contains_quantities(&wanted));
    assert!(!r("cpus:3;ports:[1-3]").contains_quantities(&wanted));
    assert!(!r("cpus(role1):2").contains_quantities(&q("cpus:3")));
    assert!(r("cpus(role1):2;cpus:1").contains_quantities(&q("cpus:3")));

    let mut ports =
        reserved("ports", "[1-10]", Some(dynamic_reservation("role", Some("principal"), None)));
    assert!(!ports.contains_quantities(&q("ports:12")));
    ports += r("ports:[20-25]");
    assert!(ports.contains_quantities(&q("ports:12")));

    let mut disk = Resources::from_protos([volume(64.0, "role1", "id1", true)]).unwrap();
    assert!(!disk.contains_quantities(&q("disk:128")));
    disk += r("disk:64");
    assert!(disk.contains_quantities(&q("disk:128")));
}

/// Proves static and dynamic reservations, with and without labels, are valid (ReservedResourcesTest.Validation).
#[test]
fn reserved_resources_test_validation() {
    reserved("cpus", "8", None);
    reserved("cpus", "8", Some(static_reservation("role")));
    reserved("cpus", "8", Some(dynamic_reservation("role", Some("principal2"), None)));
    reserved(
        "cpus",
        "8",
        Some(dynamic_reservation(
            "role",
            Some("principal2"),
            Some(labels(&[("foo", Some("bar"))])),
        )),
    );
}

/// Proves every distinct reservation makes a distinct resource (ReservedResourcesTest.Equals).
#[test]
fn reserved_resources_test_equals() {
    let labels1 = labels(&[("foo", Some("bar"))]);
    let labels2 = labels(&[("foo", Some("baz"))]);
    let unique = [
        reserved("cpus", "8", None),
        reserved("cpus", "8", Some(static_reservation("role1"))),
        reserved("cpus", "8", Some(static_reservation("role2"))),
        reserved("cpus", "8", Some(dynamic_reservation("role1", Some("principal1"), None))),
        reserved("cpus", "8", Some(dynamic_reservation("role1", Some("principal2"), None))),
        reserved("cpus", "8", Some(dynamic_reservation("role2", Some("principal1"), None))),
        reserved("cpus", "8", Some(dynamic_reservation("role2", Some("principal2"), None))),
        reserved(
            "cpus",
            "8",
            Some(dynamic_reservation("role1", Some("principal2"), Some(labels1))),
        ),
        reserved(
            "cpus",
            "8",
            Some(dynamic_reservation("role1", Some("principal2"), Some(labels2))),
        ),
    ];
    for (i, left) in unique.iter().enumerate() {
        for (j, right) in unique.iter().enumerate() {
            assert_eq!(i == j, left == right, "{left} vs {right}");
        }
    }
}

/// Proves same-reservation amounts add up: static, dynamic, dynamic with equal labels (ReservedResourcesTest.AdditionStaticallyReserved and the two AdditionDynamicallyReserved tests).
#[test]
fn reserved_resources_test_addition_same_reservation() {
    for reservation in [
        static_reservation("role"),
        dynamic_reservation("role", Some("principal"), None),
        dynamic_reservation("role", Some("principal"), Some(labels(&[("foo", Some("bar"))]))),
    ] {
        let left = reserved("cpus", "8", Some(reservation.clone()));
        let right = reserved("cpus", "4", Some(reservation.clone()));
        let expected = reserved("cpus", "12", Some(reservation));
        assert_eq!(&left + &right, expected);
        assert_eq!((&left + &right).len(), 1);
    }
}

/// Proves different labels keep reservations apart (ReservedResourcesTest.AdditionDynamicallyReservedWithDistinctLabels).
#[test]
fn reserved_resources_test_addition_dynamically_reserved_with_distinct_labels() {
    let r1 = reserved(
        "cpus",
        "6",
        Some(dynamic_reservation("role", Some("principal"), Some(labels(&[("foo", Some("bar"))])))),
    );
    let r2 = reserved(
        "cpus",
        "6",
        Some(dynamic_reservation("role", Some("principal"), Some(labels(&[("foo", Some("baz"))])))),
    );
    let sum = &r1 + &r2;
    assert_eq!(sum.len(), 2);
    assert_ne!(sum, &r1 + &r1);
    assert_ne!(sum, &r2 + &r2);
}

/// Proves subtraction only takes from the matching reservation (ReservedResourcesTest.Subtraction).
#[test]
fn reserved_resources_test_subtraction() {
    let reservation1 =
        dynamic_reservation("role", Some("principal"), Some(labels(&[("foo", Some("bar"))])));
    let r1 = reserved("cpus", "8", Some(static_reservation("role")));
    let r2 = reserved("cpus", "8", Some(reservation1.clone()));
    assert!((&r1 - &r1).is_empty());
    assert!((&r2 - &r2).is_empty());
    assert_eq!(&r1 - &r2, r1);
    assert_eq!(&r2 - &r1, r2);

    let total = &r1 + &r2;
    let expected = reserved("cpus", "6", Some(static_reservation("role")))
        + reserved("cpus", "4", Some(reservation1.clone()));
    let r5 = reserved("cpus", "2", Some(static_reservation("role")));
    let r6 = reserved("cpus", "4", Some(reservation1));
    assert_eq!(&(&total - &r5) - &r6, expected);
}

/// Proves containment across reservations (ReservedResourcesTest.Contains).
#[test]
fn reserved_resources_test_contains() {
    let r1 = reserved("cpus", "8", Some(static_reservation("role")));
    let r2 = reserved("cpus", "12", Some(dynamic_reservation("role", Some("principal"), None)));
    assert!(r1.contains(&r1));
    assert!(r2.contains(&r2));
    assert!(!r1.contains(&r2));
    assert!(!r2.contains(&r1));
    assert!(!r1.contains(&(&r1 + &r2)));
    assert!(!r2.contains(&(&r1 + &r2)));
    assert!((&r1 + &r2).contains(&r1));
    assert!((&r1 + &r2).contains(&r2));
    assert!((&r1 + &r2).contains(&(&r1 + &r2)));
}

/// Proves allocation distinguishes otherwise equal resources (AllocatedResourcesTest.Equality, .Contains, .Addition, .Subtraction).
#[test]
fn allocated_resources_test_arithmetic() {
    let mut cpus1 = one("cpus", "1", "*");
    let mut cpus2 = one("cpus", "1", "*");
    cpus1.allocate("role1");
    cpus2.allocate("role2");
    assert_eq!(cpus1, cpus1);
    assert_ne!(cpus1, cpus2);
    assert!((&cpus1 + &cpus2).contains(&cpus1));
    assert!((&cpus1 + &cpus2).contains(&cpus2));
    assert_eq!((&cpus1 + &cpus2).len(), 2);
    assert_eq!((&cpus1 + &cpus2).cpus(), Some(2.0));
    assert!((&cpus1 - &cpus1).is_empty());
    assert_eq!(&cpus1 - &cpus2, cpus1);
    let mut both = &cpus1 + &cpus2;
    both.unallocate();
    assert_eq!(both, r("cpus:2"));
    assert_eq!(both.len(), 1);
}

/// Proves allocations group by allocation role (AllocatedResourcesTest.Allocations).
#[test]
fn allocated_resources_test_allocations() {
    let mut star = one("cpus", "1", "*") + one("mem", "1024", "*");
    star.allocate("*");
    let mut role1 = one("cpus", "2", "*") + one("mem", "2048", "*");
    role1.allocate("role1");
    let mut role2 = one("cpus", "3", "role2") + one("mem", "3096", "role2");
    role2.allocate("role2");
    let all = [&star, &role1, &role2].into_iter().sum::<Resources>();
    let allocations = all.allocations();
    assert_eq!(allocations.len(), 3);
    assert_eq!(allocations["*"], star);
    assert_eq!(allocations["role1"], role1);
    assert_eq!(allocations["role2"], role2);
    assert_eq!(all.allocated_to_role_subtree("role1"), role1);
}

/// Proves RESERVE and UNRESERVE as push and pop of the reservation stack (ResourcesOperationTest.ReserveResources, .UnreserveResources, .FlattenResources).
#[test]
fn resources_operation_test_reserve_and_unreserve() {
    let unreserved = r("cpus:1;mem:512");
    let reservation = dynamic_reservation("role", Some("principal"), None);
    let reserved_cpus = r("cpus:1").push_reservation(&reservation).unwrap();
    let after = &(&unreserved - &r("cpus:1")) + &reserved_cpus;
    assert_eq!(after, r("mem:512") + reserved_cpus.clone());
    assert_eq!(reserved_cpus.pop_reservation().unwrap(), r("cpus:1"));
    assert!(r("cpus:1").pop_reservation().is_err());

    let refined = reserved_cpus
        .push_reservation(&dynamic_reservation("role/child", Some("p"), None))
        .unwrap();
    assert_eq!(refined.reserved(Some("role/child")), refined);
    assert!(refined.iter().all(resource::has_refined_reservations));
    // A refinement must be to a sub-role.
    assert!(reserved_cpus.push_reservation(&dynamic_reservation("other", None, None)).is_err());
}

/// Proves checked subtraction reports what is missing instead of clamping.
#[test]
fn checked_sub_reports_shortfall() {
    let have = r("cpus:2;mem:1024");
    assert_eq!(have.checked_sub(&r("cpus:1")).unwrap(), r("cpus:1;mem:1024"));
    let error = have.checked_sub(&r("cpus:3")).unwrap_err();
    assert!(matches!(error, ResourceError::NotContained { .. }));
    // Plain subtraction drops what would go negative: never negative.
    assert_eq!(&have - &r("cpus:3"), r("mem:1024"));
}

/// Proves persistent volumes are never merged and are subtracted whole (DiskResourcesTest.Addition, .Subtraction).
#[test]
fn disk_resources_test_persistent_volumes() {
    let v1 = Resources::from_protos([volume(10.0, "role", "v1", false)]).unwrap();
    let v2 = Resources::from_protos([volume(10.0, "role", "v2", false)]).unwrap();
    let both = &v1 + &v2;
    assert_eq!(both.len(), 2);
    assert_eq!(both.disk_mb(), Some(20.0));
    assert_eq!(&both - &v1, v2);
    assert_eq!(both.persistent_volumes(), both);
    // Part of a volume cannot be taken.
    let half = Resources::from_protos([volume(5.0, "role", "v1", false)]).unwrap();
    assert_eq!(&both - &half, both);
    assert!(!half.contains(&v1));
}

/// Proves shared volumes are counted by copies (SharedResourcesTest.ScalarAdditionShared, .ScalarSubtractionShared).
#[test]
fn shared_resources_test_counting() {
    let shared = volume(64.0, "role", "pv", true);
    let one_copy = Resources::from_protos([shared.clone()]).unwrap();
    let two = &one_copy + &one_copy;
    assert_eq!(two.len(), 1);
    assert_eq!(two.count(&shared), 2);
    assert!(two.contains(&one_copy));
    assert!(!one_copy.contains(&two));
    assert_ne!(two, one_copy);
    assert_eq!(&two - &one_copy, one_copy);
    assert!((&one_copy - &two).is_empty());
    assert_eq!(two.shared(), two);
    assert!(two.non_shared().is_empty());
    assert!(two.to_string().ends_with("<SHARED>:64<2>"), "{two}");
}

/// Proves old-format resources are upgraded on entry and can be downgraded (ResourceFormatTest.PreReservationRefinement, .PostReservationRefinement).
#[test]
#[allow(deprecated)] // Builds old-format resources through `role`.
fn resource_format_test_upgrade_and_downgrade() {
    let mut old_static = parse_resource("cpus", "1", "*").unwrap();
    old_static.role = Some("role1".into());
    let mut old_dynamic = parse_resource("cpus", "1", "*").unwrap();
    old_dynamic.role = Some("role2".into());
    old_dynamic.reservation =
        Some(ReservationInfo { principal: Some("p".into()), ..Default::default() });
    let mut old_unreserved = parse_resource("mem", "1", "*").unwrap();
    old_unreserved.role = Some("*".into());

    let res = Resources::from_protos([old_static, old_dynamic, old_unreserved]).unwrap();
    assert!(res.iter().all(|r| r.role.is_none() && r.reservation.is_none()));
    assert_eq!(res.reserved(Some("role1")), r("cpus(role1):1"));
    assert_eq!(
        res.reserved(Some("role2")),
        reserved("cpus", "1", Some(dynamic_reservation("role2", Some("p"), None)))
    );

    for proto in res.iter() {
        let mut down = proto.clone();
        resource::downgrade(&mut down).unwrap();
        assert!(down.reservations.is_empty());
        let mut up = down.clone();
        validate(&up).unwrap();
        upgrade(&mut up);
        assert!(resource::resource_eq(&up, proto));
    }

    // An old `role` that disagrees with `reservations` is invalid.
    let mut inconsistent = parse_resource("cpus", "1", "role1").unwrap();
    inconsistent.role = Some("role2".into());
    assert!(validate(&inconsistent).is_err());
    // `*` cannot be dynamically reserved in the old format.
    let mut star = parse_resource("cpus", "1", "*").unwrap();
    star.role = Some("*".into());
    star.reservation = Some(ReservationInfo::default());
    assert!(validate(&star).is_err());
}

/// Proves revocable resources neither merge with nor satisfy non-revocable ones (RevocableResourceTest.Addition, .Contains, .Filter).
#[test]
fn revocable_resource_test() {
    let mut revocable = parse_resource("cpus", "1", "*").unwrap();
    revocable.revocable = Some(RevocableInfo {});
    let revocable = Resources::from_protos([revocable]).unwrap();
    let plain = r("cpus:1");
    let both = &revocable + &plain;
    assert_eq!(both.len(), 2);
    assert!(!revocable.contains(&plain));
    assert_eq!(both.revocable(), revocable);
    assert_eq!(both.non_revocable(), plain);
    assert_eq!(&both - &plain, revocable);
}

/// Proves the /state summary sums roles, prints ranges and sets, and splits off revocable (Mesos: http.cpp model(Resources)).
#[test]
fn resources_state_json() {
    let mut revocable = parse_resource("cpus", "0.5", "*").unwrap();
    revocable.revocable = Some(RevocableInfo {});
    let res = r("cpus:1;cpus(r1):2;mem:1024;ports:[31000-31009, 31010-32000];disks:{a,b}")
        + Resources::from_protos([revocable]).unwrap();
    assert_eq!(
        res.to_state_json(),
        serde_json::json!({
            "cpus": 3.0, "gpus": 0.0, "mem": 1024.0, "disk": 0.0,
            "ports": "[31000-32000]", "disks": "{a, b}", "cpus_revocable": 0.5
        })
    );
    assert_eq!(
        Resources::new().to_state_json(),
        serde_json::json!({"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0})
    );
}

/// Proves a conversion takes what it consumes or fails without change (ResourceConversion::apply).
#[test]
fn resources_convert() {
    let total = r("cpus:4;mem:1024");
    let reserved_cpus =
        r("cpus:1").push_reservation(&dynamic_reservation("r", Some("p"), None)).unwrap();
    let after = total.convert(&r("cpus:1"), &reserved_cpus).unwrap();
    assert_eq!(after, r("cpus:3;mem:1024") + reserved_cpus.clone());
    assert_eq!(after.cpus(), Some(4.0));
    assert!(matches!(
        total.convert(&r("cpus:5"), &reserved_cpus),
        Err(ResourceError::NotContained { .. })
    ));
}
