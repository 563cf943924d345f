//! `--acls` on real processes: refused principals and guarded teardown, with and without
//! HTTP authentication.

use super::*;

/// `POST /master/teardown` of `framework_id` on the master at `port` (no credentials:
/// the caller is unauthenticated); returns the status code.
fn teardown(port: u16, framework_id: &str) -> u16 {
    teardown_as(port, framework_id, None)
}

/// `POST /master/teardown` with HTTP Basic `credential` (principal, secret), if any.
fn teardown_as(port: u16, framework_id: &str, credential: Option<(&str, &str)>) -> u16 {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build();
    let mut request = ureq::Agent::new_with_config(config)
        .post(&format!("http://127.0.0.1:{port}/master/teardown"))
        .content_type("application/x-www-form-urlencoded");
    if let Some((principal, secret)) = credential {
        let pair = format!("{principal}:{secret}");
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        request = request.header("Authorization", &format!("Basic {encoded}"));
    }
    request
        .send(format!("frameworkId={framework_id}"))
        .expect("POST /master/teardown")
        .status()
        .as_u16()
}

/// The id of the framework registered with `principal`, from `/master/state`.
fn framework_with_principal(state: &serde_json::Value, principal: &str) -> Option<String> {
    state["frameworks"].as_array()?.iter().find(|f| f["principal"] == principal)?["id"]
        .as_str()
        .map(str::to_string)
}

/// `--acls` on real processes (given to the master and agent of `mesos-local` through
/// `MESOS_ACLS`), with an unmodified pymesos scheduler that sets
/// `FrameworkInfo.principal`: a principal the `register_frameworks` ACLs deny is refused
/// with Mesos's reason; an unauthenticated teardown of a framework whose principal the
/// `teardown_frameworks` ACLs protect gets `403` and the framework keeps running, while
/// one the ACLs let anyone tear down is removed. (Teardown by authenticated principals:
/// `ha_cluster_with_http_authentication_enforces_acls`.)
#[test]
fn acls_refuse_a_principal_and_guard_teardown() {
    let acls = serde_json::json!({
        "register_frameworks": [
            {"principals": {"values": ["banned"]}, "roles": {"type": "NONE"}}],
        "teardown_frameworks": [
            {"principals": {"type": "ANY"}, "framework_principals": {"values": ["open"]}},
            {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]
    })
    .to_string();
    let (_local, ports) = start_local_with(1, 1, &[("MESOS_ACLS".to_string(), acls.clone())], &[]);
    let base = ports[0];
    let master = format!("127.0.0.1:{base}");

    let (status, output) =
        pymesos_with(&["--principal", "banned", "--wait", "30"], &master, "echo hi", 1);
    assert_eq!(status, Some(3), "refused with an ERROR event:\n{output}");
    assert!(output.contains("error Not authorized to register framework"), "{output}");
    assert!(framework_with_principal(&master_state(base), "banned").is_none());

    let locked = pymesos_background(&["--principal", "locked"], &master, "sleep 1000");
    locked.wait_for("TASK_RUNNING");
    let open = pymesos_background(&["--principal", "open"], &master, "sleep 1000");
    open.wait_for("TASK_RUNNING");
    let state = master_state(base);
    let locked_id = framework_with_principal(&state, "locked").expect("locked is registered");
    let open_id = framework_with_principal(&state, "open").expect("open is registered");

    assert_eq!(teardown(base, &locked_id), 403);
    let state = master_state(base);
    assert_eq!(framework_with_principal(&state, "locked").as_deref(), Some(locked_id.as_str()));
    // The master answers once the framework is removed.
    assert_eq!(teardown(base, &open_id), 200);
    let state = master_state(base);
    assert!(framework_with_principal(&state, "open").is_none(), "torn down");
    assert!(framework_with_principal(&state, "locked").is_some(), "untouched");
    drop(open.child);
    drop(locked.child);
}

/// Issue 13's ACL proof on a whole HA cluster (three masters with raft, an agent), with
/// `--acls`, `--credentials` and HTTP authentication of the read-write realm and the
/// scheduler API: an unmodified pymesos scheduler authenticated as a principal that
/// `register_frameworks` denies is refused; a `POST /master/teardown` without
/// credentials gets `401`, by an authenticated principal that `teardown_frameworks`
/// denies `403` (the framework keeps running), and by the one it allows `200` (the
/// framework is gone).
#[test]
fn ha_cluster_with_http_authentication_enforces_acls() {
    let acls = serde_json::json!({
        "register_frameworks": [
            {"principals": {"values": ["banned"]}, "roles": {"type": "NONE"}}],
        "teardown_frameworks": [
            {"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}},
            {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]
    })
    .to_string();
    let credentials =
        std::env::temp_dir().join(format!("mesos-acl-credentials-{}.json", std::process::id()));
    let pairs = [
        ("ops", "ops-secret"),
        ("analytics", "an-secret"),
        ("banned", "b-secret"),
        ("locked", "l-secret"),
    ];
    let list: Vec<_> =
        pairs.iter().map(|(p, s)| serde_json::json!({"principal": p, "secret": s})).collect();
    std::fs::write(&credentials, serde_json::json!({ "credentials": list }).to_string()).unwrap();
    let path = credentials.display().to_string();
    // The children read these (mesos-local's own polling stays on the open read-only realm).
    let env: Vec<(String, String)> = [
        ("MESOS_ACLS", acls.as_str()),
        ("MESOS_CREDENTIALS", path.as_str()),
        ("MESOS_HTTP_CREDENTIALS", path.as_str()),
        ("MESOS_AUTHENTICATE_HTTP_READWRITE", "true"),
        ("MESOS_AUTHENTICATE_HTTP_FRAMEWORKS", "true"),
        ("MESOS_HTTP_FRAMEWORK_AUTHENTICATORS", "basic"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (local, _ports) = start_local_with(3, 1, &env, &[]);
    let (leader, _, _) = leader_line(&local.lines);
    let master = format!("127.0.0.1:{leader}");

    let banned = ["--principal", "banned", "--secret", "b-secret", "--wait", "30"];
    let (status, output) = pymesos_with(&banned, &master, "echo hi", 1);
    assert_eq!(status, Some(3), "refused with an ERROR event:\n{output}");
    assert!(output.contains("error Not authorized to register framework"), "{output}");
    assert!(framework_with_principal(&master_state(leader), "banned").is_none());

    let locked = pymesos_background(
        &["--principal", "locked", "--secret", "l-secret"],
        &master,
        "sleep 1000",
    );
    locked.wait_for("TASK_RUNNING");
    let id = framework_with_principal(&master_state(leader), "locked").expect("registered");

    assert_eq!(teardown_as(leader, &id, None), 401);
    assert_eq!(teardown_as(leader, &id, Some(("analytics", "an-secret"))), 403);
    let state = master_state(leader);
    assert_eq!(framework_with_principal(&state, "locked").as_deref(), Some(id.as_str()));
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING", "{state}");
    assert_eq!(teardown_as(leader, &id, Some(("ops", "ops-secret"))), 200);
    assert!(framework_with_principal(&master_state(leader), "locked").is_none(), "torn down");
    drop(locked.child);
    drop(local);
    let _ = std::fs::remove_file(&credentials);
}
