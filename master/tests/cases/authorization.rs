//! Authorization with `--acls` (the local authorizer) at each entry point the master
//! checks: SUBSCRIBE (v0 and v1), LAUNCH, TEARDOWN, the read-only endpoints and v1
//! queries. Ports of Mesos's `MasterAuthorizationTest` scenarios where they apply. The
//! HTTP principal is put in the request's extensions, as HTTP authentication does.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use mesos_proto::mesos::{self, scheduler, task_status};
use mesos_security::{Authorizer, Principal};
use serde_json::{Value, json};

use super::support::{AgentMsg, Cluster, SchedMsg, framework_info, task};

fn cluster_with_acls(acls: Value) -> Cluster {
    let authorizer = Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    Cluster::start(move |options| options.authorizer = Some(Arc::new(authorizer)))
}

fn with_principal(info: mesos::FrameworkInfo, principal: &str) -> mesos::FrameworkInfo {
    mesos::FrameworkInfo { principal: Some(principal.into()), ..info }
}

async fn request(
    cluster: &Cluster,
    method: Method,
    path: &str,
    principal: Option<&str>,
    body: impl Into<Bytes>,
) -> Response {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    if let Some(principal) = principal {
        request.extensions_mut().insert(Principal(principal.into()));
    }
    cluster.node.handle_http(request).await
}

async fn get_json(cluster: &Cluster, path: &str, principal: Option<&str>) -> Value {
    let response = request(cluster, Method::GET, path, principal, "").await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    serde_json::from_slice(&response.into_body().into_bytes().await).unwrap()
}

fn subscribe_call(info: mesos::FrameworkInfo) -> scheduler::Call {
    scheduler::Call {
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        subscribe: Some(scheduler::call::Subscribe { framework_info: info, ..Default::default() }),
        ..Default::default()
    }
}

/// `MasterAuthorizationTest.UnauthorizedRole` (v0): a libprocess scheduler whose
/// principal may not use its role gets a `FrameworkErrorMessage` saying so and nothing
/// is registered; an allowed principal registers, and `/master/state` shows it.
#[actix_rt::test]
async fn subscribe_denied_by_register_frameworks() {
    let cluster = cluster_with_acls(json!({"register_frameworks": [
        {"principals": {"values": ["good"]}, "roles": {"values": ["*"]}},
        {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}
    ]}));
    let mut denied = cluster.scheduler();
    denied.call(subscribe_call(with_principal(framework_info("bad-fw"), "bad")));
    cluster.settle().await;
    let errors: Vec<String> = denied
        .drain()
        .into_iter()
        .map(|m| match m {
            SchedMsg::Error(e) => e.message,
            other => panic!("expected only FrameworkErrorMessage, got {other:?}"),
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("Not authorized to register framework"), "{}", errors[0]);
    assert!(errors[0].contains("with roles { * }"), "{}", errors[0]);
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 0);

    let mut allowed = cluster.scheduler();
    allowed.subscribe(&cluster, with_principal(framework_info("good-fw"), "good")).await;
    let state = get_json(&cluster, "/master/state", None).await;
    assert_eq!(state["frameworks"].as_array().unwrap().len(), 1);
    assert_eq!(state["frameworks"][0]["principal"], "good");
    // A framework without a principal is unauthenticated (ANY): only the last rule
    // matches it, and that rule allows no role.
    let mut anonymous = cluster.scheduler();
    anonymous.call(subscribe_call(framework_info("anonymous")));
    cluster.settle().await;
    assert!(matches!(anonymous.drain().as_slice(), [SchedMsg::Error(_)]));
}

/// The v1 scheduler API answers a denied SUBSCRIBE as Mesos does: `200`, one ERROR
/// event carrying the reason, then the stream ends; nothing is registered.
#[actix_rt::test]
async fn http_subscribe_denied_gets_error_event() {
    let cluster = cluster_with_acls(json!({"permissive": false}));
    let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info":
        {"user": "test", "name": "v1", "principal": "someone"}}});
    let response =
        request(&cluster, Method::POST, "/api/v1/scheduler", None, body.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().into_bytes().await;
    let text = String::from_utf8_lossy(&bytes);
    let (_length, record) = text.split_once('\n').expect("one RecordIO record");
    let event: Value = serde_json::from_str(record).unwrap();
    assert_eq!(event["type"], "ERROR");
    let message = event["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Not authorized to register framework"), "{message}");
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 0);
}

/// An authenticated v1 scheduler may not claim another principal in its FrameworkInfo
/// (Mesos: `scheduler::call::validate`): `400`, nothing registered.
#[actix_rt::test]
async fn http_subscribe_with_someone_elses_principal_is_refused() {
    let cluster = Cluster::start(|_| {});
    let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info":
        {"user": "test", "name": "v1", "principal": "mallory"}}});
    let response =
        request(&cluster, Method::POST, "/api/v1/scheduler", Some("alice"), body.to_string()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = String::from_utf8_lossy(&response.into_body().into_bytes().await).to_string();
    assert!(text.contains("Authenticated principal 'alice' does not match"), "{text}");
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 0);
}

/// `MasterAuthorizationTest.UnauthorizedTask`: a task whose user the framework's
/// principal may not run as gets TASK_ERROR with REASON_TASK_UNAUTHORIZED, the agent
/// never hears of it, and its resources go back to be offered again; a task as an
/// allowed user (here the framework's user) launches.
#[actix_rt::test]
async fn launch_denied_by_run_tasks() {
    let cluster = cluster_with_acls(json!({"run_tasks": [
        {"principals": {"values": ["fw"]}, "users": {"values": ["test"]}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}
    ]}));
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, with_principal(framework_info("fw"), "fw")).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    let mut as_root = task("as-root", &offer, "cpus:1;mem:128");
    as_root.command.as_mut().unwrap().user = Some("root".into());
    let as_framework_user = task("as-test", &offer, "cpus:1;mem:128");
    scheduler.accept(vec![offer.id.clone()], vec![as_root, as_framework_user], 0.0);
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].task_id.value, "as-root");
    assert_eq!(updates[0].state(), mesos::TaskState::TaskError);
    assert_eq!(updates[0].reason(), task_status::Reason::TaskUnauthorized);
    let message = updates[0].message.clone().unwrap_or_default();
    assert!(message.contains("under user 'root'"), "{message}");
    let launched: Vec<String> = agent
        .drain()
        .into_iter()
        .filter_map(|m| match m {
            AgentMsg::RunTask(r) => Some(r.task.task_id.value),
            _ => None,
        })
        .collect();
    assert_eq!(launched, vec!["as-test".to_string()]);
    let tasks = cluster.inspect(|core| core.frameworks().map(|f| f.tasks.len()).sum::<usize>());
    assert_eq!(tasks.await, 1);
}

/// `MasterAuthorizationTest.AuthorizedToTeardownFramework` and
/// `UnauthorizedToTeardownFramework`, through `/master/teardown` and the operator
/// API's TEARDOWN: a denied principal gets `403` and the framework stays; an allowed
/// one removes it.
#[actix_rt::test]
async fn teardown_checked_against_teardown_frameworks() {
    let cluster = cluster_with_acls(json!({"teardown_frameworks": [
        {"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}
    ]}));
    let mut scheduler = cluster.scheduler();
    let id = scheduler.subscribe(&cluster, with_principal(framework_info("fw"), "fw")).await;
    let form = format!("frameworkId={}", id.value);
    for principal in [Some("eve"), None] {
        let response =
            request(&cluster, Method::POST, "/master/teardown", principal, form.clone()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{principal:?}");
    }
    let v1 = json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": id.value}}});
    let response = request(&cluster, Method::POST, "/api/v1", Some("eve"), v1.to_string()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    cluster.settle().await;
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 1, "nothing changed");
    assert!(scheduler.drain().is_empty(), "the scheduler heard nothing");

    let response = request(&cluster, Method::POST, "/master/teardown", Some("ops"), form).await;
    assert_eq!(response.status(), StatusCode::OK);
    cluster.settle().await;
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 0);
}

/// `MasterAuthorizationTest.FilterStateEndpoint`-style: `/master/state`, `/frameworks`,
/// `/tasks`, `/state-summary` and v1 GET_STATE show a caller only the frameworks and
/// tasks the view ACLs allow; `/flags` and GET_FLAGS are `403` for a caller
/// `view_flags` denies.
#[actix_rt::test]
async fn views_are_filtered_by_view_acls() {
    let cluster = cluster_with_acls(json!({
        "view_frameworks": [
            {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
            {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
            {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
        "view_tasks": [
            {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
            {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
            {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
        "view_flags": [
            {"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
            {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]
    }));
    let mut agent = cluster.agent("cpus:4;mem:4096");
    agent.register(&cluster).await;
    let mut schedulers = Vec::new();
    for user in ["alice", "bob"] {
        let mut scheduler = cluster.scheduler();
        let info = mesos::FrameworkInfo { user: user.into(), ..framework_info(user) };
        scheduler.subscribe(&cluster, info).await;
        // The next allocation offers the new framework what the previous one left.
        cluster.advance(std::time::Duration::from_secs(1)).await;
        let offer = scheduler.offers().remove(0);
        let id = format!("{user}-task");
        scheduler.accept(vec![offer.id.clone()], vec![task(&id, &offer, "cpus:1;mem:64")], 0.0);
        cluster.settle().await;
        schedulers.push(scheduler);
    }
    let names = |state: &Value, key: &str| -> Vec<String> {
        let mut names: Vec<String> = state[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let state = get_json(&cluster, "/master/state", Some("ops")).await;
    assert_eq!(names(&state, "frameworks"), ["alice", "bob"]);
    assert!(state["flags"].is_object());
    let state = get_json(&cluster, "/master/state", Some("alice")).await;
    assert_eq!(names(&state, "frameworks"), ["alice"]);
    assert!(state.get("flags").is_none_or(|f| f.as_object().is_none_or(|o| o.is_empty())));
    let state = get_json(&cluster, "/master/state", None).await;
    assert_eq!(names(&state, "frameworks"), Vec::<String>::new());
    let frameworks = get_json(&cluster, "/master/frameworks", Some("alice")).await;
    assert_eq!(names(&frameworks, "frameworks"), ["alice"]);
    let summary = get_json(&cluster, "/master/state-summary", Some("alice")).await;
    assert_eq!(names(&summary, "frameworks"), ["alice"]);
    let task_ids = |tasks: Value| -> Vec<String> {
        let mut ids: Vec<String> = tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let all = task_ids(get_json(&cluster, "/master/tasks", Some("ops")).await);
    assert_eq!(all, ["alice-task", "bob-task"]);
    assert_eq!(task_ids(get_json(&cluster, "/master/tasks", Some("alice")).await), ["alice-task"]);
    assert!(task_ids(get_json(&cluster, "/master/tasks", None).await).is_empty());
    let v1 =
        request(&cluster, Method::POST, "/api/v1", Some("alice"), r#"{"type":"GET_STATE"}"#).await;
    let v1: Value = serde_json::from_slice(&v1.into_body().into_bytes().await).unwrap();
    let v1_frameworks = v1["get_state"]["get_frameworks"]["frameworks"].as_array().unwrap();
    assert_eq!(v1_frameworks.len(), 1);
    assert_eq!(v1_frameworks[0]["framework_info"]["user"], "alice");

    let flags = request(&cluster, Method::GET, "/master/flags", Some("alice"), "").await;
    assert_eq!(flags.status(), StatusCode::FORBIDDEN);
    let flags = request(&cluster, Method::GET, "/master/flags", Some("ops"), "").await;
    assert_eq!(flags.status(), StatusCode::OK);
    let v1_flags =
        request(&cluster, Method::POST, "/api/v1", Some("alice"), r#"{"type":"GET_FLAGS"}"#).await;
    assert_eq!(v1_flags.status(), StatusCode::FORBIDDEN);
}

/// Mesos's per-principal framework metrics: a framework with a principal counts its
/// libprocess messages under `frameworks/<principal>/messages_received` and
/// `.../messages_processed`; the pair goes away with the principal's last framework.
#[actix_rt::test]
async fn per_principal_message_metrics() {
    let cluster = Cluster::start(|_| {});
    let mut scheduler = cluster.scheduler();
    let id = scheduler.subscribe(&cluster, with_principal(framework_info("fw"), "fw-p")).await;
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Revive as i32),
        ..Default::default()
    });
    cluster.settle().await;
    let metrics = get_json(&cluster, "/metrics/snapshot", None).await;
    assert_eq!(metrics["frameworks/fw-p/messages_received"], 1.0);
    assert_eq!(metrics["frameworks/fw-p/messages_processed"], 1.0);
    scheduler.call(scheduler::Call {
        framework_id: Some(id),
        r#type: Some(scheduler::call::Type::Teardown as i32),
        ..Default::default()
    });
    cluster.settle().await;
    let metrics = get_json(&cluster, "/metrics/snapshot", None).await;
    assert!(metrics.get("frameworks/fw-p/messages_received").is_none(), "{metrics}");
}

/// A framework may not re-subscribe under another principal (it would escape the ACLs
/// naming its principal): Mesos's `validateUpdate` refusal, the framework unchanged.
#[actix_rt::test]
async fn resubscribing_with_another_principal_is_refused() {
    let cluster = Cluster::start(|_| {});
    let mut scheduler = cluster.scheduler();
    let id = scheduler.subscribe(&cluster, with_principal(framework_info("fw"), "first")).await;
    let info = mesos::FrameworkInfo {
        id: Some(id.clone()),
        ..with_principal(framework_info("fw"), "second")
    };
    scheduler.call(subscribe_call(info));
    cluster.settle().await;
    match scheduler.drain().as_slice() {
        [SchedMsg::Error(e)] => {
            assert_eq!(e.message, "Changing framework's principal is not allowed.")
        }
        other => panic!("expected one FrameworkErrorMessage, got {other:?}"),
    }
    let principal = cluster
        .inspect(move |core| {
            core.framework(&mesos_proto::ids::FrameworkId::from(&id))
                .and_then(|f| f.info.principal.clone())
        })
        .await;
    assert_eq!(principal.as_deref(), Some("first"));
}

/// The operator API's SUBSCRIBE stream sends a subscriber only the events the view ACLs
/// let it see (Mesos: `Master::Subscribers::send`): alice, who may see only alice's
/// frameworks, gets FRAMEWORK_ADDED for alice's framework and never for bob's, which
/// registered first.
#[actix_rt::test]
async fn operator_events_are_filtered_by_view_acls() {
    let cluster = cluster_with_acls(json!({"view_frameworks": [
        {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}
    ]}));
    let mut stream =
        request(&cluster, Method::POST, "/api/v1", Some("alice"), r#"{"type":"SUBSCRIBE"}"#).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut schedulers = Vec::new();
    for user in ["bob", "alice"] {
        let mut scheduler = cluster.scheduler();
        let info = mesos::FrameworkInfo { user: user.into(), ..framework_info(user) };
        scheduler.subscribe(&cluster, info).await;
        schedulers.push(scheduler);
    }
    let mut buffer: Vec<u8> = Vec::new();
    let mut events: Vec<Value> = Vec::new();
    while events.len() < 2 {
        let chunk = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            stream.body_mut().next_chunk(),
        )
        .await
        .expect("an event in time")
        .expect("stream open");
        buffer.extend_from_slice(&chunk);
        while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let length: usize = std::str::from_utf8(&buffer[..newline]).unwrap().parse().unwrap();
            if buffer.len() < newline + 1 + length {
                break;
            }
            events
                .push(serde_json::from_slice(&buffer[newline + 1..newline + 1 + length]).unwrap());
            buffer.drain(..newline + 1 + length);
        }
    }
    assert_eq!(events[0]["type"], "SUBSCRIBED");
    assert_eq!(events[1]["type"], "FRAMEWORK_ADDED", "{}", events[1]);
    assert_eq!(events[1]["framework_added"]["framework"]["framework_info"]["user"], "alice");
}

/// `get_endpoints` guards the node's built-in `/metrics/snapshot` (and `/metrics`), as
/// Mesos's libprocess asks the master's authorizer (`GET_ENDPOINT_WITH_PATH`): the
/// allowed principal gets the metrics, anyone else `403`; other paths are unaffected.
#[actix_rt::test]
async fn metrics_snapshot_is_guarded_by_get_endpoints() {
    let cluster = cluster_with_acls(json!({
        "get_endpoints": [
            {"principals": {"values": ["ops"]}, "paths": {"values": ["/metrics/snapshot"]}},
            {"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}]
    }));
    for path in ["/metrics/snapshot", "/metrics"] {
        let ops = request(&cluster, Method::GET, path, Some("ops"), "").await;
        assert_eq!(ops.status(), StatusCode::OK, "{path} as ops");
        for principal in [Some("eve"), None] {
            let denied = request(&cluster, Method::GET, path, principal, "").await;
            assert_eq!(denied.status(), StatusCode::FORBIDDEN, "{path} as {principal:?}");
        }
    }
    let health = request(&cluster, Method::GET, "/master/health", None, "").await;
    assert_eq!(health.status(), StatusCode::OK);
}
