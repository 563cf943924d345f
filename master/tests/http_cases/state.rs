//! `/master/state` and `/master/state-summary`, and reads while the master is busy.

use mesos_proto::mesos::TaskState;
use serde_json::json;

use super::support::{GUARD, MASTER_ID, Scene, get};

/// `/master/state` has Mesos's top-level fields, the agent with its resources,
/// attributes and offered resources, and the framework with its full offer.
#[actix_rt::test]
async fn state_shows_agent_framework_and_offer() {
    let scene = Scene::start().await;
    let state = get(scene.master.address, "/master/state").await;
    assert_eq!(state.status, 200);
    assert_eq!(state.header("content-type"), Some("application/json"));
    let state = state.json();
    let pid = scene.master.pid.to_string();
    assert_eq!(state["id"], MASTER_ID);
    assert_eq!(state["pid"], pid);
    assert_eq!(state["leader"], pid);
    assert_eq!(state["leader_info"]["pid"], pid);
    assert_eq!(state["leader_info"]["port"], scene.master.address.port());
    assert_eq!(state["hostname"], "localhost");
    assert_eq!(state["version"], "1.11.0");
    assert!(state["start_time"].as_f64().unwrap() > 0.0);
    assert!(state["elected_time"].as_f64().unwrap() >= state["start_time"].as_f64().unwrap());
    assert_eq!(state["activated_slaves"].as_f64(), Some(1.0));
    assert_eq!(state["deactivated_slaves"].as_f64(), Some(0.0));
    assert_eq!(state["unreachable_slaves"].as_f64(), Some(0.0));
    assert_eq!(state["flags"]["weights"], "web=2.5");
    for empty in
        ["completed_frameworks", "orphan_tasks", "unregistered_frameworks", "recovered_slaves"]
    {
        assert_eq!(state[empty], json!([]), "{empty}");
    }

    let slave = &state["slaves"][0];
    assert_eq!(slave["id"], scene.agent_id.value);
    assert_eq!(slave["pid"], scene.agent.pid.to_string());
    assert_eq!(slave["hostname"], "agent-host");
    assert_eq!(slave["port"], 5051);
    assert_eq!(slave["active"], true);
    assert_eq!(slave["version"], "1.11.0");
    assert_eq!(slave["attributes"], json!({ "rack": "a", "zone": "eu-1" }));
    assert_eq!(slave["resources"]["cpus"].as_f64(), Some(4.0));
    assert_eq!(slave["resources"]["ports"], "[31000-31009]");
    assert_eq!(slave["unreserved_resources"]["mem"].as_f64(), Some(1024.0));
    assert_eq!(slave["reserved_resources"], json!({}));
    assert_eq!(slave["offered_resources"]["cpus"].as_f64(), Some(4.0));
    assert_eq!(slave["used_resources"]["cpus"].as_f64(), Some(0.0));
    assert!(slave["registered_time"].as_f64().unwrap() > 0.0);
    assert!(slave.get("used_resources_full").is_none(), "/state has no *_full fields, as in Mesos");

    let framework = &state["frameworks"][0];
    assert_eq!(framework["id"], scene.framework_id.value);
    assert_eq!(framework["name"], "web-app");
    assert_eq!(framework["user"], "tester");
    assert_eq!(framework["pid"], scene.scheduler.pid.to_string());
    assert_eq!(framework["roles"], json!(["web"]));
    assert_eq!(framework["capabilities"], json!(["MULTI_ROLE"]));
    assert_eq!(framework["active"], true);
    assert_eq!(framework["connected"], true);
    assert_eq!(framework["failover_timeout"].as_f64(), Some(60.0));
    assert_eq!(framework["offered_resources"]["mem"].as_f64(), Some(1024.0));
    assert_eq!(framework["resources"]["mem"].as_f64(), Some(1024.0));
    let offer = &framework["offers"][0];
    assert_eq!(offer["id"], scene.offer.id.value);
    assert_eq!(offer["framework_id"], scene.framework_id.value);
    assert_eq!(offer["slave_id"], scene.agent_id.value);
    assert_eq!(offer["allocation_info"], json!({ "role": "web" }));
    assert_eq!(offer["resources"]["disk"].as_f64(), Some(2048.0));
    assert_eq!(framework["tasks"], json!([]));
}

/// After a launch and a TASK_RUNNING update, `/state` shows the task (state, statuses
/// with their source, role, resources), the executor-less framework's used resources and the agent's.
#[actix_rt::test]
async fn state_shows_running_task() {
    let mut scene = Scene::start().await;
    scene.launch(&[("t1", "cpus:1;mem:128")]).await;
    scene.report("t1", TaskState::TaskRunning, 1000.5).await;
    let state = get(scene.master.address, "/state").await.json();
    let framework = &state["frameworks"][0];
    let task = &framework["tasks"][0];
    assert_eq!(task["id"], "t1");
    assert_eq!(task["name"], "task t1");
    assert_eq!(task["framework_id"], scene.framework_id.value);
    assert_eq!(task["slave_id"], scene.agent_id.value);
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["role"], "web");
    assert_eq!(task["user"], "tester");
    assert_eq!(task["resources"]["cpus"].as_f64(), Some(1.0));
    assert_eq!(
        task["statuses"],
        json!([{ "state": "TASK_RUNNING", "timestamp": 1000.5, "source": "SOURCE_EXECUTOR" }])
    );
    assert_eq!(framework["used_resources"]["mem"].as_f64(), Some(128.0));
    assert_eq!(state["slaves"][0]["used_resources"]["cpus"].as_f64(), Some(1.0));

    let summary = get(scene.master.address, "/master/state-summary").await.json();
    assert_eq!(summary["hostname"], "localhost");
    let slave = &summary["slaves"][0];
    assert_eq!(slave["TASK_RUNNING"], 1);
    assert_eq!(slave["TASK_FINISHED"], 0);
    assert_eq!(slave["framework_ids"], json!([scene.framework_id.value]));
    let framework = &summary["frameworks"][0];
    assert_eq!(framework["TASK_RUNNING"], 1);
    assert_eq!(framework["slave_ids"], json!([scene.agent_id.value]));
    assert!(framework.get("tasks").is_none(), "the summary has no task lists");
}

/// `/master/state` is answered while the master actor is held busy: the endpoint reads
/// the cached snapshot and never waits for the master (the long-standing Mesos
/// complaint that `/state` stalls the master, reversed).
#[actix_rt::test]
async fn state_answers_while_master_is_busy() {
    let scene = Scene::start().await;
    let before = get(scene.master.address, "/master/state").await.json();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    scene
        .master
        .master
        .tell(move |_, _| {
            let _ = entered_tx.send(());
            // Holds the master's thread until the test has its answer (or gives up).
            let _ = release_rx.recv_timeout(GUARD);
        })
        .expect("master alive");
    entered_rx.recv_timeout(GUARD).expect("master is now busy");
    let during = get(scene.master.address, "/master/state").await;
    assert_eq!(during.status, 200);
    assert_eq!(during.json(), before);
    let health = get(scene.master.address, "/master/health").await;
    assert_eq!(health.status, 200);
    release_tx.send(()).expect("master still holding");
}

/// A task's status history in `/state` names who sent each update and why (source,
/// reason, message), for the web UI's status-update table.
#[test]
fn task_status_json_names_source_reason_and_message() {
    use mesos_proto::mesos::task_status::{Reason, Source};
    let status = mesos_proto::mesos::TaskStatus {
        state: TaskState::TaskFailed as i32,
        source: Some(Source::Slave as i32),
        reason: Some(Reason::ContainerLaunchFailed as i32),
        message: Some("cannot exec".into()),
        timestamp: Some(7.0),
        ..Default::default()
    };
    assert_eq!(
        mesos_master::http::state_json::task_status_json(&status),
        json!({
            "state": "TASK_FAILED", "timestamp": 7.0, "source": "SOURCE_SLAVE",
            "reason": "REASON_CONTAINER_LAUNCH_FAILED", "message": "cannot exec",
        })
    );
}
