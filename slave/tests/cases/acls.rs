//! The agent's ACLs beyond `/flags`: `view_frameworks`, `view_executors` and
//! `view_tasks` on `/state` and the operator API's queries, `access_sandboxes` on
//! `/files/*` and the operator API's `LIST_FILES`/`READ_FILE`, `set_log_level` on
//! `SET_LOGGING_LEVEL` and `/logging/toggle`, `view_flags` on `/state` and GET_FLAGS, and `get_endpoints` on
//! `/metrics/snapshot`, and the nested and standalone container ACLs on the container
//! calls. Callers prove who they are with HTTP Basic, as an operator's
//! tools would; the simulated network and paused clock come from the executor harness.

use std::sync::Arc;

use http::StatusCode;
use mesos_proto::mesos::internal::RunTaskMessage;
use mesos_proto::mesos::{self, CommandInfo, ExecutorInfo, FrameworkInfo};
use mesos_security::http_auth::{AGENT_READONLY, AGENT_READWRITE, basic_header};
use mesos_security::{Authorizer, Credential, Credentials};
use serde_json::{Value, json};

use super::executor_http::{FRAMEWORK, Harness};
use super::support::command_task;

const ACLS: &str = r#"{
    "view_frameworks": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
    "view_executors": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "NONE"}, "users": {"values": ["root"]}}],
    "view_tasks": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "NONE"}, "users": {"values": ["secret"]}}],
    "access_sandboxes": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"values": ["eve"]}, "users": {"values": ["nobody"]}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
    "view_flags": [
        {"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}],
    "get_endpoints": [
        {"principals": {"values": ["ops"]}, "paths": {"values": ["/metrics/snapshot"]}},
        {"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}],
    "set_log_level": [
        {"principals": {"values": ["ops"]}, "level": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "level": {"type": "NONE"}}],
    "launch_nested_containers_under_parent_with_user": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "NONE"}, "users": {"values": ["root"]}}],
    "kill_nested_containers": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "NONE"}, "users": {"values": ["root"]}}],
    "launch_standalone_containers": [
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]
}"#;

/// An agent with the ACLs above and Basic authentication of both realms for `ops` and
/// `eve`, running: `t1` (the harness's, executor `http-exec`, user `nobody`); `t2` in
/// the same executor as user `secret`; `t3` in executor `root-exec` (user `root`);
/// and `ta` of framework `FW-A` (user `alice`). The executors never register, so the
/// tasks stay queued.
async fn agent(name: &str) -> Harness {
    let h = Harness::start_with(name, |config| {
        // The users `secret` and `alice` exist only in the ACLs: nothing switches.
        config.switch_user = false;
        config.authorizer = Some(Arc::new(Authorizer::from_flag(ACLS).expect("acls")));
        let credentials = Arc::new(Credentials::from_list(
            ["ops", "eve"]
                .map(|p| Credential { principal: p.into(), secret: format!("{p}-secret") }),
        ));
        for realm in [AGENT_READONLY, AGENT_READWRITE] {
            config.http_authenticator.enable(realm, "basic", Some(&credentials)).unwrap();
        }
    })
    .await;
    let nobody = super::support::framework(false);
    let executor = |id: &str, user: Option<&str>, framework: &str| ExecutorInfo {
        executor_id: mesos::ExecutorId { value: id.into() },
        framework_id: Some(mesos::FrameworkId { value: framework.into() }),
        command: Some(CommandInfo {
            value: Some("./executor".into()),
            user: user.map(str::to_string),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut t2 = command_task("t2", "true");
    t2.command.as_mut().unwrap().user = Some("secret".into());
    t2.executor = Some(executor(super::executor_http::EXECUTOR, None, FRAMEWORK));
    t2.command = t2.command.map(|c| CommandInfo { value: None, ..c });
    let mut t3 = command_task("t3", "true");
    t3.command = None;
    t3.executor = Some(executor("root-exec", Some("root"), FRAMEWORK));
    let alice = FrameworkInfo {
        user: "alice".into(),
        id: Some(mesos::FrameworkId { value: "FW-A".into() }),
        ..nobody.clone()
    };
    for (framework, task) in
        [(nobody.clone(), t2), (nobody, t3), (alice, command_task("ta", "true"))]
    {
        let message = RunTaskMessage {
            framework,
            task,
            pid: Some("scheduler@10.0.2.1:8080".into()),
            ..Default::default()
        };
        h.send_from_master(message).await;
    }
    h
}

fn auth(principal: &str) -> String {
    basic_header(principal, &format!("{principal}-secret"))
}

async fn json_of(response: libprocess::http::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&response.into_body().into_bytes().await).expect("json")
}

async fn state(h: &Harness, principal: &str) -> Value {
    json_of(h.get("/state", &[("authorization", &auth(principal))]).await).await
}

async fn operator(h: &Harness, principal: &str, call: &str) -> Value {
    let headers = [("authorization", auth(principal)), ("content-type", "application/json".into())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    json_of(h.post("/api/v1", &headers, json!({ "type": call }).to_string()).await).await
}

fn ids(values: &Value, pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = values
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|v| v.pointer(pointer).and_then(Value::as_str).unwrap_or("?").to_string())
        .collect();
    out.sort();
    out
}

/// `/state` and `/state.json` show `eve` only the `nobody` framework, without the
/// `root` executor or the `secret` task, and without the flags; `ops` sees everything.
#[actix_rt::test]
async fn state_is_filtered_by_the_view_acls() {
    let h = agent("acls-state").await;
    let ops = state(&h, "ops").await;
    assert_eq!(ids(&ops["frameworks"], "/id"), ["FW-0001", "FW-A"]);
    let fw = ops["frameworks"].as_array().unwrap().iter().find(|f| f["id"] == FRAMEWORK).unwrap();
    assert_eq!(ids(&fw["executors"], "/id"), ["http-exec", "root-exec"]);
    let exec = fw["executors"].as_array().unwrap().iter().find(|e| e["id"] == "http-exec").unwrap();
    assert_eq!(ids(&exec["queued_tasks"], "/id"), ["t1", "t2"]);
    assert!(ops["flags"].is_object());

    for path in ["/state", "/state.json"] {
        let eve = json_of(h.get(path, &[("authorization", &auth("eve"))]).await).await;
        assert_eq!(ids(&eve["frameworks"], "/id"), ["FW-0001"], "{path}");
        let fw = &eve["frameworks"][0];
        assert_eq!(ids(&fw["executors"], "/id"), ["http-exec"], "{path}");
        assert_eq!(ids(&fw["executors"][0]["queued_tasks"], "/id"), ["t1"], "{path}");
        assert!(eve.get("flags").is_none(), "{path}: {eve}");
    }
}

/// GET_STATE, GET_FRAMEWORKS, GET_EXECUTORS and GET_TASKS apply the same filter;
/// GET_FLAGS is `403` for `eve`.
#[actix_rt::test]
async fn operator_queries_are_filtered_by_the_view_acls() {
    let h = agent("acls-operator").await;
    let queued = |v: &Value| ids(&v["queued_tasks"], "/task_id/value");
    let ops = operator(&h, "ops", "GET_TASKS").await;
    assert_eq!(queued(&ops["get_tasks"]), ["t1", "t2", "t3", "ta"]);
    let eve = operator(&h, "eve", "GET_TASKS").await;
    assert_eq!(queued(&eve["get_tasks"]), ["t1"]);
    let eve = operator(&h, "eve", "GET_STATE").await;
    let state = &eve["get_state"];
    assert_eq!(queued(&state["get_tasks"]), ["t1"]);
    let executors = ids(&state["get_executors"]["executors"], "/executor_info/executor_id/value");
    assert_eq!(executors, ["http-exec"]);
    let frameworks = ids(&state["get_frameworks"]["frameworks"], "/framework_info/id/value");
    assert_eq!(frameworks, ["FW-0001"]);
    let eve = operator(&h, "eve", "GET_FRAMEWORKS").await;
    assert_eq!(ids(&eve["get_frameworks"]["frameworks"], "/framework_info/id/value"), ["FW-0001"]);
    let ops = operator(&h, "ops", "GET_EXECUTORS").await;
    let all = ids(&ops["get_executors"]["executors"], "/executor_info/executor_id/value");
    assert_eq!(all.len(), 3, "{all:?}");

    let headers = [("authorization", auth("eve")), ("content-type", "application/json".into())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let flags = h.post("/api/v1", &headers, json!({"type": "GET_FLAGS"}).to_string()).await;
    assert_eq!(flags.status(), StatusCode::FORBIDDEN);
    assert_eq!(operator(&h, "ops", "GET_FLAGS").await["type"], "GET_FLAGS");
}

/// `/files/*` inside a sandbox is served when `access_sandboxes` allows the
/// executor's user: `eve` reads the `nobody` sandbox, not the `root` or `alice` ones;
/// `ops` reads all three. A folder above every sandbox is refused to both.
#[actix_rt::test]
async fn files_are_guarded_by_access_sandboxes() {
    let h = agent("acls-files").await;
    let ops = state(&h, "ops").await;
    let mut directories = std::collections::BTreeMap::new();
    for framework in ops["frameworks"].as_array().unwrap() {
        for executor in framework["executors"].as_array().unwrap() {
            let dir = executor["directory"].as_str().unwrap().to_string();
            std::fs::write(std::path::Path::new(&dir).join("stdout"), "hello").unwrap();
            directories.insert(executor["id"].as_str().unwrap().to_string(), dir);
        }
    }
    let h = &h;
    let read = |principal: &'static str, dir: String| {
        let path = format!("/files/read?path={dir}/stdout&offset=0");
        async move { h.get(&path, &[("authorization", &auth(principal))]).await.status() }
    };
    assert_eq!(read("eve", directories["http-exec"].clone()).await, StatusCode::OK);
    assert_eq!(read("eve", directories["root-exec"].clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(read("eve", directories["ta"].clone()).await, StatusCode::FORBIDDEN);
    for dir in directories.values() {
        assert_eq!(read("ops", dir.clone()).await, StatusCode::OK, "{dir}");
    }
    let sandbox = std::path::PathBuf::from(&directories["http-exec"]);
    let above = sandbox.ancestors().nth(6).unwrap().display().to_string(); // <work>/slaves/<agent>
    for principal in ["eve", "ops"] {
        let path = format!("/files/browse?path={above}");
        let status = h.get(&path, &[("authorization", &auth(principal))]).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{principal} browsing {above}");
    }
    let download = format!("/files/download?path={}/stdout", directories["root-exec"]);
    assert_eq!(
        h.get(&download, &[("authorization", &auth("eve"))]).await.status(),
        StatusCode::FORBIDDEN
    );
}

/// `get_endpoints` guards `/metrics/snapshot` (and `/metrics`): `ops` gets the
/// metrics, `eve` gets `403`.
#[actix_rt::test]
async fn metrics_are_guarded_by_get_endpoints() {
    let h = agent("acls-metrics").await;
    for path in ["/metrics/snapshot", "/metrics"] {
        let ops = h.get(path, &[("authorization", &auth("ops"))]).await;
        assert_eq!(ops.status(), StatusCode::OK, "{path}");
        let eve = h.get(path, &[("authorization", &auth("eve"))]).await;
        assert_eq!(eve.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

async fn operator_call(h: &Harness, principal: &str, call: Value) -> libprocess::http::Response {
    let headers = [("authorization", auth(principal)), ("content-type", "application/json".into())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    h.post("/api/v1", &headers, call.to_string()).await
}

/// The operator API's `LIST_FILES` and `READ_FILE` read the sandboxes `/files` serves,
/// under the same `access_sandboxes` check: `eve` lists and reads the `nobody`
/// sandbox, not the `root` one; `ops` reads both; a path outside every sandbox is
/// `403`, a missing one `404`. Mesos: slave/http.cpp `listFiles`, `readFile`.
#[actix_rt::test]
async fn list_and_read_files_are_guarded_by_access_sandboxes() {
    let h = agent("acls-v1-files").await;
    let ops = state(&h, "ops").await;
    let mut directories = std::collections::BTreeMap::new();
    for framework in ops["frameworks"].as_array().unwrap() {
        for executor in framework["executors"].as_array().unwrap() {
            let dir = executor["directory"].as_str().unwrap().to_string();
            std::fs::write(std::path::Path::new(&dir).join("stdout"), "hello sandbox").unwrap();
            directories.insert(executor["id"].as_str().unwrap().to_string(), dir);
        }
    }
    let list = |dir: &str| json!({"type": "LIST_FILES", "list_files": {"path": dir}});
    let read = |dir: &str| {
        let path = format!("{dir}/stdout");
        json!({"type": "READ_FILE", "read_file": {"path": path, "offset": 6, "length": 3}})
    };
    let listed = json_of(operator_call(&h, "eve", list(&directories["http-exec"])).await).await;
    assert_eq!(listed["type"], "LIST_FILES");
    let infos = listed["list_files"]["file_infos"].as_array().unwrap();
    let stdout = infos.iter().find(|f| f["path"].as_str().unwrap().ends_with("/stdout")).unwrap();
    assert_eq!(stdout["size"], 13);
    let page = json_of(operator_call(&h, "eve", read(&directories["http-exec"])).await).await;
    assert_eq!(page["type"], "READ_FILE");
    assert_eq!(page["read_file"]["size"], 13);
    // Mesos's JSON carries `bytes` as base64: "san".
    assert_eq!(page["read_file"]["data"], "c2Fu");
    for call in [list(&directories["root-exec"]), read(&directories["root-exec"])] {
        let status = operator_call(&h, "eve", call.clone()).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{call}");
        assert_eq!(operator_call(&h, "ops", call).await.status(), StatusCode::OK);
    }
    let outside = json!({"type": "READ_FILE", "read_file": {"path": "/etc/passwd", "offset": 0}});
    assert_eq!(operator_call(&h, "ops", outside).await.status(), StatusCode::FORBIDDEN);
    let missing = format!("{}/nope", directories["http-exec"]);
    let missing = json!({"type": "READ_FILE", "read_file": {"path": missing, "offset": 0}});
    assert_eq!(operator_call(&h, "ops", missing).await.status(), StatusCode::NOT_FOUND);
    let no_field = json!({"type": "LIST_FILES"});
    assert_eq!(operator_call(&h, "ops", no_field).await.status(), StatusCode::BAD_REQUEST);
}

/// The container calls pass the nested-container ACLs on the user of the executor at
/// the root of the container id, and the standalone ones on ANY: `eve` may neither
/// launch nor kill a container nested in the `root` executor, nor launch a standalone
/// one; `ops` gets past the ACLs to the call's own answer (an unknown container, a
/// launch without a command). Mesos: slave/http.cpp `_launchContainer`,
/// `_killContainer`; authorizer.cpp `LocalNestedContainerObjectApprover`.
#[actix_rt::test]
async fn container_calls_are_guarded_by_their_acls() {
    let h = agent("acls-containers").await;
    let ops = state(&h, "ops").await;
    let executors = ops["frameworks"].as_array().unwrap().iter().flat_map(|f| {
        f["executors"].as_array().unwrap().iter().map(|e| (e["id"].clone(), e["container"].clone()))
    });
    let root = executors.into_iter().find(|(id, _)| id == "root-exec").expect("root-exec").1;
    let nested = json!({"value": "debug", "parent": {"value": root}});
    let launch = json!({"type": "LAUNCH_NESTED_CONTAINER",
        "launch_nested_container": {"container_id": nested}});
    let kill = json!({"type": "KILL_NESTED_CONTAINER",
        "kill_nested_container": {"container_id": nested}});
    let standalone = json!({"type": "LAUNCH_CONTAINER",
        "launch_container": {"container_id": {"value": "alone"}}});
    for call in [&launch, &kill, &standalone] {
        let status = operator_call(&h, "eve", call.clone()).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{call}");
    }
    let status = |call: &Value| {
        let call = call.clone();
        let h = &h;
        async move { operator_call(h, "ops", call).await.status() }
    };
    assert_eq!(status(&launch).await, StatusCode::BAD_REQUEST, "allowed, but no command");
    assert_eq!(status(&kill).await, StatusCode::NOT_FOUND, "allowed, but unknown");
    assert_eq!(status(&standalone).await, StatusCode::BAD_REQUEST, "allowed, but no command");
}

/// `SET_LOGGING_LEVEL` (allowed by `set_log_level` to `ops` only) raises the level that
/// `GET_LOGGING_LEVEL` reports, and the level reverts once `duration` has passed on
/// the agent's clock; `/logging/toggle` does the same from a query string. Mesos:
/// slave/http.cpp `setLoggingLevel`, libprocess logging.cpp `Logging::toggle`.
#[actix_rt::test]
async fn logging_level_is_set_and_reverts() {
    let h = agent("acls-logging").await;
    async fn level(h: &Harness) -> u64 {
        let get = json!({"type": "GET_LOGGING_LEVEL"});
        let answer = json_of(operator_call(h, "eve", get).await).await;
        answer["get_logging_level"]["level"].as_u64().unwrap()
    }
    assert_eq!(level(&h).await, 0);
    let set = json!({"type": "SET_LOGGING_LEVEL",
        "set_logging_level": {"level": 2, "duration": {"nanoseconds": 60_000_000_000u64}}});
    assert_eq!(operator_call(&h, "eve", set.clone()).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(level(&h).await, 0);
    assert_eq!(operator_call(&h, "ops", set).await.status(), StatusCode::OK);
    assert_eq!(level(&h).await, 2);
    h.advance(std::time::Duration::from_secs(59)).await;
    assert_eq!(level(&h).await, 2, "not yet reverted");
    h.advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(level(&h).await, 0, "reverted after the duration");

    let toggle = |principal: &str, query: &str| {
        let path = format!("/logging/toggle{query}");
        let header = auth(principal);
        let h = &h;
        async move { h.get(&path, &[("authorization", &header)]).await.status() }
    };
    assert_eq!(toggle("eve", "?level=1&duration=10secs").await, StatusCode::FORBIDDEN);
    assert_eq!(toggle("ops", "?level=1").await, StatusCode::BAD_REQUEST);
    assert_eq!(toggle("ops", "?level=1&duration=10secs").await, StatusCode::OK);
    assert_eq!(level(&h).await, 1);
    h.advance(std::time::Duration::from_secs(10)).await;
    assert_eq!(level(&h).await, 0);
}
