//! Mesos's `AuthorizationTest` scenarios (src/tests/authorization_tests.cpp), ported by
//! name, with the ACLs written as the `--acls` JSON an operator would give.

use super::*;

fn authorizer(json: &str) -> Authorizer {
    Authorizer::from_flag(json).expect("test ACLs are valid")
}

fn p(name: &str) -> Principal {
    Principal(name.to_string())
}

fn run(a: &Authorizer, who: &str, user: &str) -> bool {
    a.authorize(Some(&p(who)), Action::RunTask { user })
}

fn register(a: &Authorizer, who: &str, roles: &[&str]) -> bool {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    a.authorize(Some(&p(who)), Action::RegisterFramework { roles: &roles })
}

/// AuthorizationTest.AnyPrincipalRunAsUser: ANY principal may run as `guest`; other
/// users fall through to permissive.
#[test]
fn any_principal_run_as_user() {
    let a =
        authorizer(r#"{"run_tasks":[{"principals":{"type":"ANY"},"users":{"values":["guest"]}}]}"#);
    assert!(run(&a, "foo", "guest"));
    assert!(run(&a, "foo", "root"));
}

/// AuthorizationTest.NoPrincipalRunAsUser: a NONE principals rule matches everyone and
/// allows no one.
#[test]
fn no_principal_run_as_user() {
    let a =
        authorizer(r#"{"run_tasks":[{"principals":{"type":"NONE"},"users":{"values":["root"]}}]}"#);
    assert!(!run(&a, "foo", "root"));
    assert!(run(&a, "foo", "guest"), "no rule matches: permissive");
}

/// AuthorizationTest.PrincipalRunAsAnyUser and AnyPrincipalRunAsAnyUser.
#[test]
fn principal_run_as_any_user() {
    let a =
        authorizer(r#"{"run_tasks":[{"principals":{"values":["foo"]},"users":{"type":"ANY"}}]}"#);
    assert!(run(&a, "foo", "user1"));
    assert!(run(&a, "foo", "user2"));
    let a = authorizer(r#"{"run_tasks":[{"principals":{"type":"ANY"},"users":{"type":"ANY"}}]}"#);
    assert!(run(&a, "foo", "user1"));
    assert!(run(&a, "bar", "user2"));
}

/// AuthorizationTest.OnlySomePrincipalsRunAsSomeUsers: rules are tried in order.
#[test]
fn only_some_principals_run_as_some_users() {
    let a = authorizer(
        r#"{"run_tasks":[
            {"principals":{"values":["foo","bar"]},"users":{"values":["user1","user2"]}},
            {"principals":{"type":"NONE"},"users":{"values":["user1","user2"]}}]}"#,
    );
    for who in ["foo", "bar"] {
        for user in ["user1", "user2"] {
            assert!(run(&a, who, user), "{who} as {user}");
        }
    }
    assert!(!run(&a, "baz", "user1"));
    assert!(!run(&a, "baz", "user2"));
}

/// AuthorizationTest.SomePrincipalOnlySomeUser.
#[test]
fn some_principal_only_some_user() {
    let a = authorizer(
        r#"{"run_tasks":[
            {"principals":{"values":["foo"]},"users":{"values":["user1"]}},
            {"principals":{"values":["foo"]},"users":{"type":"NONE"}}]}"#,
    );
    assert!(run(&a, "foo", "user1"));
    assert!(!run(&a, "foo", "user2"));
    assert!(run(&a, "bar", "user1"));
    assert!(run(&a, "bar", "user2"));
}

/// AuthorizationTest.PrincipalRunAsSomeUserRestrictive: `permissive: false` denies what
/// no rule matches.
#[test]
fn principal_run_as_some_user_restrictive() {
    let a = authorizer(
        r#"{"permissive":false,
            "run_tasks":[{"principals":{"values":["foo"]},"users":{"values":["user1"]}}]}"#,
    );
    assert!(run(&a, "foo", "user1"));
    assert!(!run(&a, "foo", "user2"));
    assert!(!run(&a, "bar", "user2"));
}

/// AuthorizationTest.AnyPrincipalOfferedRole and SomePrincipalsOfferedRole.
#[test]
fn principals_offered_role() {
    let a = authorizer(
        r#"{"register_frameworks":[{"principals":{"type":"ANY"},"roles":{"values":["*"]}}]}"#,
    );
    assert!(register(&a, "foo", &["*"]));
    let a = authorizer(
        r#"{"register_frameworks":[{"principals":{"values":["foo","bar"]},"roles":{"values":["ads"]}}]}"#,
    );
    for who in ["foo", "bar", "baz"] {
        assert!(register(&a, who, &["ads"]), "{who}");
    }
}

/// AuthorizationTest.PrincipalNotOfferedAnyRoleRestrictive.
#[test]
fn principal_not_offered_any_role_restrictive() {
    let a = authorizer(
        r#"{"permissive":false,
            "register_frameworks":[{"principals":{"values":["foo"]},"roles":{"values":["analytics"]}}]}"#,
    );
    assert!(register(&a, "foo", &["analytics"]));
    assert!(!register(&a, "bar", &["analytics"]));
    assert!(!register(&a, "bar", &["ads"]));
}

/// AuthorizationTest.RegisterFrameworkHierarchical: `king/%` covers the nested roles,
/// not `king` itself.
#[test]
fn register_framework_hierarchical() {
    let a = authorizer(
        r#"{"register_frameworks":[
            {"principals":{"values":["elizabeth-ii"]},"roles":{"values":["king/%","king"]}},
            {"principals":{"values":["charles"]},"roles":{"values":["king/%"]}},
            {"principals":{"values":["j-welby"]},"roles":{"values":["king"]}},
            {"principals":{"type":"ANY"},"roles":{"type":"NONE"}}]}"#,
    );
    let all = ["king", "king/prince", "king/prince/duke"];
    for role in all {
        assert!(register(&a, "elizabeth-ii", &[role]), "{role}");
    }
    assert!(!register(&a, "charles", &["king"]));
    assert!(register(&a, "charles", &["king/prince"]));
    assert!(register(&a, "charles", &["king/prince/duke"]));
    assert!(register(&a, "j-welby", &["king"]));
    assert!(!register(&a, "j-welby", &["king/prince"]));
    assert!(!register(&a, "j-welby", &["king/prince/duke"]));
    // A multi-role framework needs every one of its roles.
    assert!(!register(&a, "charles", &["king/prince", "king"]));
    assert!(register(&a, "elizabeth-ii", &all));
}

/// AuthorizationTest.Reserve (the role part), CreateVolume and ResizeVolume: role
/// objects, nested roles included.
#[test]
fn reserve_create_and_resize_volume() {
    for list in ["reserve_resources", "create_volumes", "resize_volumes"] {
        let a = authorizer(&format!(
            r#"{{"{list}":[
                {{"principals":{{"values":["foo"]}},"roles":{{"type":"ANY"}}}},
                {{"principals":{{"values":["bar"]}},"roles":{{"values":["awesome_role"]}}}},
                {{"principals":{{"values":["baz"]}},"roles":{{"values":["eng/%"]}}}},
                {{"principals":{{"type":"ANY"}},"roles":{{"type":"NONE"}}}}]}}"#
        ));
        let check = |who: &str, role: &str| {
            let action = match list {
                "reserve_resources" => Action::ReserveResources { role },
                "create_volumes" => Action::CreateVolume { role },
                _ => Action::ResizeVolume { role },
            };
            a.authorize(Some(&p(who)), action)
        };
        assert!(check("foo", "awesome_role"), "{list}");
        assert!(check("foo", "other"), "{list}");
        assert!(check("bar", "awesome_role"), "{list}");
        assert!(!check("bar", "other"), "{list}");
        assert!(check("baz", "eng/dev"), "{list}");
        assert!(!check("baz", "eng"), "{list}");
        assert!(!check("nobody", "awesome_role"), "{list}");
    }
}

/// AuthorizationTest.Unreserve and DestroyVolume: objects are the principal that
/// reserved (created).
#[test]
fn unreserve_and_destroy_volume() {
    let a = authorizer(
        r#"{"unreserve_resources":[
            {"principals":{"values":["foo"]},"reserver_principals":{"values":["foo"]}},
            {"principals":{"values":["bar"]},"reserver_principals":{"type":"NONE"}},
            {"principals":{"values":["ops"]},"reserver_principals":{"type":"ANY"}},
            {"principals":{"type":"ANY"},"reserver_principals":{"type":"NONE"}}],
            "destroy_volumes":[
            {"principals":{"values":["foo"]},"creator_principals":{"values":["foo"]}},
            {"principals":{"type":"ANY"},"creator_principals":{"type":"NONE"}}]}"#,
    );
    let unreserve = |who: &str, by: &str| {
        a.authorize(Some(&p(who)), Action::UnreserveResources { reserver_principal: by })
    };
    assert!(unreserve("foo", "foo"));
    assert!(!unreserve("bar", "foo"));
    assert!(!unreserve("bar", "bar"));
    assert!(unreserve("ops", "foo"));
    assert!(!unreserve("zelda", "foo"));
    let destroy = |who: &str, by: &str| {
        a.authorize(Some(&p(who)), Action::DestroyVolume { creator_principal: by })
    };
    assert!(destroy("foo", "foo"));
    assert!(!destroy("foo", "bar"));
    assert!(!destroy("bar", "bar"));
}

/// AuthorizationTest.UpdateQuota, UpdateWeight and GetQuota: role objects with
/// hierarchies.
#[test]
fn update_quota_and_weight() {
    let a = authorizer(
        r#"{"update_quotas":[
            {"principals":{"values":["foo"]},"roles":{"values":["prod","dev/%"]}},
            {"principals":{"type":"ANY"},"roles":{"type":"NONE"}}],
            "update_weights":[
            {"principals":{"values":["ops"]},"roles":{"type":"ANY"}},
            {"principals":{"type":"ANY"},"roles":{"type":"NONE"}}]}"#,
    );
    let quota = |who: &str, role: &str| a.authorize(Some(&p(who)), Action::UpdateQuota { role });
    assert!(quota("foo", "prod"));
    assert!(quota("foo", "dev/a"));
    assert!(!quota("foo", "dev"));
    assert!(!quota("bar", "prod"));
    let weight = |who: &str, role: &str| a.authorize(Some(&p(who)), Action::UpdateWeight { role });
    assert!(weight("ops", "anything"));
    assert!(!weight("foo", "prod"));
    // No get_quotas rules: permissive.
    assert!(a.authorize(Some(&p("bar")), Action::GetQuota { role: "prod" }));
}

/// AuthorizationTest.ViewFramework (the same rules shape serves ViewTask and
/// ViewExecutor, whose objects are also users).
#[test]
fn view_framework_task_executor() {
    for list in ["view_frameworks", "view_tasks", "view_executors"] {
        let a = authorizer(&format!(
            r#"{{"{list}":[
                {{"principals":{{"values":["foo"]}},"users":{{"type":"NONE"}}}},
                {{"principals":{{"values":["bar"]}},"users":{{"values":["bar"]}}}},
                {{"principals":{{"values":["ops"]}},"users":{{"type":"ANY"}}}},
                {{"principals":{{"type":"ANY"}},"users":{{"type":"NONE"}}}}]}}"#
        ));
        let view = |who: Option<&str>, user: &str| {
            let action = match list {
                "view_frameworks" => Action::ViewFramework { user },
                "view_tasks" => Action::ViewTask { user },
                _ => Action::ViewExecutor { user },
            };
            a.authorize(who.map(p).as_ref(), action)
        };
        assert!(!view(Some("foo"), "user"), "{list}");
        assert!(!view(Some("bar"), "user"), "{list}");
        assert!(view(Some("ops"), "user"), "{list}");
        assert!(view(Some("bar"), "bar"), "{list}");
        // Unauthenticated (ANY) matches only the last rule: denied.
        assert!(!view(None, "bar"), "{list}");
    }
}

/// An unauthenticated caller is ANY: it skips rules naming principals and is allowed
/// only by a rule whose principals are ANY (Mesos: createSubject / the match matrix).
#[test]
fn unauthenticated_subject_matches_only_any_and_none() {
    let a = authorizer(
        r#"{"teardown_frameworks":[
            {"principals":{"values":["ops"]},"framework_principals":{"type":"ANY"}},
            {"principals":{"type":"ANY"},"framework_principals":{"values":["open"]}}]}"#,
    );
    let teardown = |who: Option<&str>, fw: &str| {
        a.authorize(who.map(p).as_ref(), Action::TeardownFramework { framework_principal: fw })
    };
    assert!(teardown(Some("ops"), "web"));
    assert!(teardown(None, "open"));
    assert!(teardown(None, "web"), "no rule matches: permissive");
    let strict = authorizer(
        r#"{"teardown_frameworks":[{"principals":{"type":"NONE"},"framework_principals":{"type":"ANY"}}]}"#,
    );
    assert!(!strict.authorize(None, Action::TeardownFramework { framework_principal: "x" }));
}

/// AuthorizationTest.ViewFlags, UpdateMaintenanceSchedule and DrainAgent: objects are
/// only ANY/NONE; a SOME object is refused at start.
#[test]
fn update_maintenance_schedule_and_drain_agent() {
    let a = authorizer(
        r#"{"update_maintenance_schedules":[
            {"principals":{"values":["foo"]},"machines":{"type":"ANY"}},
            {"principals":{"type":"ANY"},"machines":{"type":"NONE"}}],
            "drain_agents":[
            {"principals":{"values":["foo"]},"agents":{"type":"ANY"}},
            {"principals":{"type":"ANY"},"agents":{"type":"NONE"}}],
            "view_flags":[
            {"principals":{"values":["foo"]},"flags":{"type":"ANY"}},
            {"principals":{"type":"ANY"},"flags":{"type":"NONE"}}]}"#,
    );
    for action in [Action::UpdateMaintenanceSchedule, Action::DrainAgent, Action::ViewFlags] {
        assert!(a.authorize(Some(&p("foo")), action), "{action:?}");
        assert!(!a.authorize(Some(&p("bar")), action), "{action:?}");
    }
    for bad in [
        r#"{"update_maintenance_schedules":[{"principals":{"values":["foo"]},"machines":{"values":["yoda"]}}]}"#,
        r#"{"drain_agents":[{"principals":{"values":["foo"]},"agents":{"values":["a1"]}}]}"#,
        r#"{"view_flags":[{"principals":{"values":["foo"]},"flags":{"values":["x"]}}]}"#,
    ] {
        let err = Authorizer::from_flag(bad).unwrap_err().to_string();
        assert!(err.contains("must be either NONE or ANY"), "{err}");
    }
}

/// AuthorizationTest.ValidateEndpoints: get_endpoints may only name authorizable paths.
#[test]
fn validate_endpoints() {
    let rule = |paths: &str| {
        format!(
            r#"{{"get_endpoints":[{{"principals":{{"values":["foo"]}},"paths":{{"values":[{paths}]}}}}]}}"#
        )
    };
    assert!(Authorizer::from_flag(&rule(r#""/frameworks""#)).is_err());
    assert!(Authorizer::from_flag(&rule(r#""/frameworks","/monitor/statistics""#)).is_err());
    let a = authorizer(&rule(r#""/monitor/statistics","/metrics/snapshot""#));
    assert!(a.authorize(Some(&p("foo")), Action::GetEndpoint { path: "/metrics/snapshot" }));
}

/// `--acls` is read inline, from `file://` and from a bare absolute path; malformed
/// JSON and missing required entities are refused with the reason.
#[test]
fn flag_forms_and_errors() {
    let json = r#"{"permissive":false,"run_tasks":[{"principals":{"type":"ANY"},"users":{"values":["nobody"]}}]}"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("acls.json");
    std::fs::write(&path, json).expect("write");
    for value in
        [json.to_string(), format!("file://{}", path.display()), path.display().to_string()]
    {
        let a = Authorizer::from_flag(&value).expect("parses");
        assert!(!a.acls().permissive());
        assert!(run(&a, "x", "nobody"));
        assert!(!run(&a, "x", "root"));
    }
    let err = Authorizer::from_flag("{not json").unwrap_err().to_string();
    assert!(err.contains("invalid ACLs"), "{err}");
    let err = Authorizer::from_flag(r#"{"run_tasks":[{"principals":{"type":"ANY"}}]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("users"), "{err}");
    assert!(matches!(
        Authorizer::from_flag("file:///nonexistent/acls.json"),
        Err(SecurityError::Read { .. })
    ));
    // No ACLs at all: everything is allowed (permissive defaults to true).
    assert!(run(&authorizer("{}"), "anyone", "root"));
}

/// The complete example of docs/security.md parses and means what the text says.
#[test]
fn documented_example() {
    let doc = include_str!("../../../docs/security.md");
    let start = doc.find("```json\n").expect("a JSON example") + "```json\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    let a = authorizer(&doc[start..end]);
    assert!(register(&a, "ops", &["anything"]));
    assert!(register(&a, "analytics", &["analytics", "analytics/adhoc"]));
    assert!(!register(&a, "analytics", &["web"]));
    assert!(!register(&a, "someone", &["*"]));
    assert!(run(&a, "ops", "root"));
    assert!(run(&a, "analytics", "nobody"));
    assert!(!run(&a, "analytics", "www-data"));
    assert!(!run(&a, "someone", "root"));
    assert!(!a.authorize(None, Action::RunTask { user: "root" }));
    assert!(run(&a, "someone", "www-data"), "permissive");
    let teardown = |who: Option<&str>| {
        a.authorize(who.map(p).as_ref(), Action::TeardownFramework { framework_principal: "x" })
    };
    assert!(teardown(Some("ops")));
    assert!(!teardown(Some("someone")));
    assert!(!teardown(None));
    assert!(a.authorize(Some(&p("ops")), Action::ViewFlags));
    assert!(!a.authorize(None, Action::ViewFlags));
    assert!(
        a.authorize(None, Action::ViewFramework { user: "anyone" }),
        "everyone sees everything"
    );
}

/// AuthorizationTest.LaunchNestedContainers: the `as_user` rule for the command's user
/// and the `under_parent_with_user` rule for the parent's user must both allow.
#[test]
fn launch_nested_containers_needs_both_rules() {
    let a = authorizer(
        r#"{"permissive":false,
            "launch_nested_containers_as_user":[
              {"principals":{"values":["ops"]},"users":{"values":["guest"]}}],
            "launch_nested_containers_under_parent_with_user":[
              {"principals":{"values":["ops"]},"users":{"values":["app"]}}]}"#,
    );
    let launch = |who: &str, user: Option<&str>, parent_user: &str| {
        a.authorize(
            Some(&p(who)),
            Action::LaunchNestedContainer { session: false, user, parent_user },
        )
    };
    assert!(launch("ops", Some("guest"), "app"));
    assert!(!launch("ops", Some("root"), "app"), "the command's user is not allowed");
    assert!(!launch("ops", Some("guest"), "root"), "the parent's user is not allowed");
    assert!(!launch("dev", Some("guest"), "app"), "no rule for this principal");
    assert!(!launch("ops", None, "app"), "no user: an ANY object, which a SOME rule refuses");
    let session = a.authorize(
        Some(&p("ops")),
        Action::LaunchNestedContainer { session: true, user: Some("guest"), parent_user: "app" },
    );
    assert!(!session, "sessions have rules of their own; none match: not permissive");
}

/// AuthorizationTest.KillNestedContainer, WaitNestedContainer, AttachContainerInput,
/// ...: one rule per call, on the parent executor's user; standalone containers' rules
/// match ANY objects only.
#[test]
fn nested_and_standalone_container_calls() {
    let a = authorizer(
        r#"{"kill_nested_containers":[
              {"principals":{"values":["ops"]},"users":{"type":"NONE"}}],
            "attach_containers_output":[
              {"principals":{"type":"ANY"},"users":{"values":["app"]}}],
            "wait_standalone_containers":[
              {"principals":{"values":["ops"]},"users":{"type":"NONE"}}]}"#,
    );
    let nested = |who: &str, call: NestedContainerCall, user: &str| {
        a.authorize(Some(&p(who)), Action::NestedContainer { call, user })
    };
    assert!(!nested("ops", NestedContainerCall::Kill, "app"));
    assert!(nested("dev", NestedContainerCall::Kill, "app"), "permissive");
    assert!(nested("ops", NestedContainerCall::Wait, "app"));
    assert!(nested("ops", NestedContainerCall::AttachOutput, "app"));
    let standalone = |who: &str, call: StandaloneContainerCall| {
        a.authorize(Some(&p(who)), Action::StandaloneContainer { call })
    };
    assert!(!standalone("ops", StandaloneContainerCall::Wait));
    assert!(standalone("ops", StandaloneContainerCall::Launch));
}

/// `view_roles` on resources and operations (Mesos's VIEW_ROLE approver on a
/// `Resource`): every role of the reservation stack and the allocation role must be
/// visible; an operation is visible if all it consumes is.
#[test]
fn view_role_on_resources_and_operations() {
    use mesos_proto::mesos::{Operation, Resource, offer, resource};
    let a = authorizer(
        r#"{"view_roles":[
              {"principals":{"values":["ops"]},"roles":{"type":"ANY"}},
              {"principals":{"values":["dev"]},"roles":{"values":["eng"]}},
              {"principals":{"type":"ANY"},"roles":{"type":"NONE"}}]}"#,
    );
    let cpus = |reserved: &[&str], allocated: Option<&str>| {
        let mut r = mesos_proto::resources::Resources::parse("cpus:1").unwrap().to_protos();
        let mut r: Resource = r.remove(0);
        r.reservations = reserved
            .iter()
            .map(|role| resource::ReservationInfo {
                r#type: Some(resource::reservation_info::Type::Dynamic as i32),
                role: Some(role.to_string()),
                ..Default::default()
            })
            .collect();
        r.allocation_info =
            allocated.map(|role| resource::AllocationInfo { role: Some(role.into()) });
        r
    };
    assert!(a.may_view_resource(Some(&p("dev")), &cpus(&[], None)), "unreserved");
    assert!(a.may_view_resource(Some(&p("dev")), &cpus(&["eng"], Some("eng"))));
    assert!(!a.may_view_resource(Some(&p("dev")), &cpus(&["eng", "eng/db"], None)), "stack");
    assert!(!a.may_view_resource(Some(&p("dev")), &cpus(&[], Some("web"))), "allocation");
    assert!(a.may_view_resource(Some(&p("ops")), &cpus(&["web"], Some("web"))));
    let unreserve = |role: &str| Operation {
        info: offer::Operation {
            r#type: Some(offer::operation::Type::Unreserve as i32),
            unreserve: Some(offer::operation::Unreserve {
                resources: vec![cpus(&[role], Some(role))],
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(a.may_view_operation(Some(&p("dev")), &unreserve("eng")));
    assert!(!a.may_view_operation(Some(&p("dev")), &unreserve("web")));
    assert!(a.may_view_operation(Some(&p("ops")), &unreserve("web")));
}
