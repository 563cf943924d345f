//! `/frameworks`, `/slaves`, `/tasks`, `/roles`, `/flags`, `/health`, `/redirect`,
//! `/teardown`, JSONP and refused queries.

use mesos_proto::mesos::TaskState;
use serde_json::json;

use super::support::{AgentInbox, Scene, TcpMaster, get, http};

/// `?framework_id=` and `?slave_id=` select one framework or agent, an unknown id
/// selects none; `/slaves` adds the `*_full` resource arrays as Mesos does.
#[actix_rt::test]
async fn frameworks_and_slaves_filters() {
    let scene = Scene::start().await;
    let address = scene.master.address;
    let all = get(address, "/master/frameworks").await.json();
    assert_eq!(all["frameworks"][0]["id"], scene.framework_id.value);
    assert_eq!(all["frameworks"][0]["offers"][0]["id"], scene.offer.id.value);
    assert_eq!(all["completed_frameworks"], json!([]));
    assert_eq!(all["unregistered_frameworks"], json!([]));
    let one =
        get(address, &format!("/master/frameworks?framework_id={}", scene.framework_id.value))
            .await
            .json();
    assert_eq!(one["frameworks"].as_array().map(Vec::len), Some(1));
    let none = get(address, "/master/frameworks?framework_id=nope").await.json();
    assert_eq!(none["frameworks"], json!([]));

    let slaves = get(address, "/master/slaves").await.json();
    let slave = &slaves["slaves"][0];
    assert_eq!(slave["id"], scene.agent_id.value);
    assert_eq!(slaves["recovered_slaves"], json!([]));
    let unreserved = slave["unreserved_resources_full"].as_array().expect("full list");
    let cpus = unreserved.iter().find(|r| r["name"] == "cpus").expect("cpus");
    assert_eq!(cpus["scalar"]["value"].as_f64(), Some(4.0));
    assert_eq!(cpus["type"], "SCALAR");
    assert_eq!(slave["offered_resources_full"].as_array().map(Vec::len), Some(unreserved.len()));
    assert_eq!(slave["used_resources_full"], json!([]));
    assert_eq!(slave["reserved_resources_full"], json!({}));
    let one =
        get(address, &format!("/master/slaves?slave_id={}", scene.agent_id.value)).await.json();
    assert_eq!(one["slaves"].as_array().map(Vec::len), Some(1));
    assert_eq!(get(address, "/master/slaves?slave_id=nope").await.json()["slaves"], json!([]));
}

/// `/tasks` sorts by the first status's timestamp (newest first, `order=asc` oldest
/// first), pages with `limit`/`offset`, filters by `task_id` and `framework_id`, reads
/// its numbers as Mesos does (`limit=-1`, the Mesos CLI's, is every task; a negative
/// `offset` is past the end; a value that is no number is the default; `order=desc`
/// is descending), and refuses only broken escapes and an unsafe `jsonp` with a 400
/// naming the parameter.
#[actix_rt::test]
async fn tasks_order_paging_and_filters() {
    let mut scene = Scene::start().await;
    let address = scene.master.address;
    scene.launch(&[("a", "cpus:1;mem:64"), ("b", "cpus:1;mem:64"), ("c", "cpus:1;mem:64")]).await;
    scene.report("b", TaskState::TaskRunning, 30.0).await;
    scene.report("a", TaskState::TaskRunning, 10.0).await;
    scene.report("c", TaskState::TaskRunning, 20.0).await;
    let ids = |value: serde_json::Value| -> Vec<String> {
        value["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(ids(get(address, "/master/tasks").await.json()), ["b", "c", "a"]);
    assert_eq!(ids(get(address, "/master/tasks?order=asc").await.json()), ["a", "c", "b"]);
    assert_eq!(ids(get(address, "/master/tasks?order=asc&limit=1&offset=1").await.json()), ["c"]);
    assert_eq!(ids(get(address, "/master/tasks?offset=5").await.json()), Vec::<String>::new());
    assert_eq!(ids(get(address, "/master/tasks?task_id=c").await.json()), ["c"]);
    let by_framework = format!("/master/tasks?framework_id={}", scene.framework_id.value);
    assert_eq!(ids(get(address, &by_framework).await.json()).len(), 3);
    assert_eq!(ids(get(address, "/master/tasks?framework_id=other").await.json()).len(), 0);

    // Mesos's parsing (readonly_handler.cpp `tasks`, stout `numify<int>`).
    for (query, expected) in [
        ("limit=-1", vec!["b", "c", "a"]),
        ("limit=-1&order=asc&offset=1", vec!["c", "b"]),
        ("limit=0x2", vec!["b", "c"]),
        ("limit=ten", vec!["b", "c", "a"]),
        ("limit=2147483648", vec!["b", "c", "a"]),
        ("offset=-1", vec![]),
        ("offset=x&limit=1", vec!["b"]),
        ("order=desc", vec!["b", "c", "a"]),
        ("order=sideways", vec!["b", "c", "a"]),
        ("order=asc&limit=1", vec!["a"]),
    ] {
        let path = format!("/master/tasks?{query}");
        assert_eq!(ids(get(address, &path).await.json()), expected, "{path}");
    }

    for (path, parameter) in [
        ("/master/state?jsonp=alert(1)", "'jsonp'"),
        ("/master/tasks?framework_id=%zz", "framework_id"),
    ] {
        let refused = get(address, path).await;
        assert_eq!(refused.status, 400, "{path}");
        assert!(refused.body.contains(parameter), "{path}: {}", refused.body);
    }
}

/// `/roles` lists the framework's role with its weight (from `--weights`), offered and
/// allocated quantities and its frameworks; `/flags` shows the flags.
#[actix_rt::test]
async fn roles_and_flags() {
    let mut scene = Scene::start().await;
    let address = scene.master.address;
    let roles = get(address, "/master/roles").await.json();
    let web = roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["name"] == "web")
        .expect("role web")
        .clone();
    assert_eq!(web["weight"].as_f64(), Some(2.5));
    assert_eq!(web["frameworks"], json!([scene.framework_id.value]));
    assert_eq!(web["offered"]["cpus"].as_f64(), Some(4.0));
    assert_eq!(web["allocated"], json!({}));
    assert_eq!(web["quota"]["role"], "web");

    scene.launch(&[("t", "cpus:1;mem:100")]).await;
    let roles = get(address, "/roles").await.json();
    let web = roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["name"] == "web")
        .expect("role web")
        .clone();
    assert_eq!(web["allocated"]["cpus"].as_f64(), Some(1.0));
    assert_eq!(web["allocated"]["mem"].as_f64(), Some(100.0));

    let flags = get(address, "/master/flags").await.json();
    assert_eq!(flags, json!({ "flags": { "port": "0", "weights": "web=2.5" } }));
}

/// `/health` is 200; `/redirect` is a 307 to `//<hostname>:<port>` of the leader (this
/// master), and `/redirect/<more>` is 404 (Mesos's redirect-loop guard).
#[actix_rt::test]
async fn health_and_redirect() {
    let master = TcpMaster::start(|options| options.hostname = "master.example".into());
    for path in ["/master/health", "/health"] {
        let health = get(master.address, path).await;
        assert_eq!(health.status, 200, "{path}");
        assert_eq!(health.body, "");
    }
    for path in ["/master/redirect", "/redirect"] {
        let redirect = get(master.address, path).await;
        assert_eq!(redirect.status, 307, "{path}");
        assert_eq!(
            redirect.header("location"),
            Some(format!("//master.example:{}", master.address.port()).as_str())
        );
    }
    assert_eq!(get(master.address, "/master/redirect/state").await.status, 404);
}

/// `/teardown` (Mesos `TeardownTest.Success` and its error cases): GET is 405, a POST
/// without `frameworkId` or with an unknown one is 400, a POST with the framework's id
/// is 200 and the framework moves to `completed_frameworks`.
#[actix_rt::test]
async fn teardown() {
    let mut scene = Scene::start().await;
    let address = scene.master.address;
    let get_it = get(address, "/master/teardown").await;
    assert_eq!(get_it.status, 405);
    assert_eq!(get_it.header("allow"), Some("POST"));
    let missing = http(address, "POST", "/master/teardown", "").await;
    assert_eq!(missing.status, 400);
    assert!(missing.body.contains("frameworkId"), "{}", missing.body);
    let unknown = http(address, "POST", "/master/teardown", "frameworkId=no-such-framework").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("no-such-framework"), "{}", unknown.body);
    assert_eq!(
        get(address, "/master/state").await.json()["frameworks"].as_array().map(Vec::len),
        Some(1)
    );

    scene.launch(&[("doomed", "cpus:1;mem:32")]).await;
    let body = format!("frameworkId={}", scene.framework_id.value);
    assert_eq!(http(address, "POST", "/master/teardown", &body).await.status, 200);
    scene.agent.next(|m| matches!(m, AgentInbox::ShutdownFramework(_)).then_some(())).await;
    let state = get(address, "/master/state").await.json();
    assert_eq!(state["frameworks"], json!([]));
    let completed = &state["completed_frameworks"][0];
    assert_eq!(completed["id"], scene.framework_id.value);
    assert_eq!(completed["active"], false);
    assert_eq!(completed["completed_tasks"][0]["id"], "doomed");
    assert_eq!(completed["completed_tasks"][0]["state"], "TASK_KILLED");
    let again = http(address, "POST", "/master/teardown", &body).await;
    assert_eq!(again.status, 400, "a removed framework cannot be torn down twice");
}

/// `?jsonp=callback` wraps the JSON as `callback(...);` with a JavaScript content type.
#[actix_rt::test]
async fn jsonp() {
    let master = TcpMaster::start(|_| {});
    let wrapped = get(master.address, "/master/flags?jsonp=show").await;
    assert_eq!(wrapped.status, 200);
    assert_eq!(wrapped.header("content-type"), Some("text/javascript"));
    let inner =
        wrapped.body.strip_prefix("show(").and_then(|b| b.strip_suffix(");")).expect("wrapped");
    let value: serde_json::Value = serde_json::from_str(inner).expect("JSON inside");
    assert_eq!(value["flags"]["port"], "0");
}
