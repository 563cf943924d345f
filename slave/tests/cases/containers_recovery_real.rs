//! Nested containers across a restart of the real `mesos-agent` (kill -9, started again
//! on the same work dir and port): the agent takes them back from its runtime
//! checkpoint. Mesos: `NestedMesosContainerizerTest.ROOT_CGROUPS_RecoverNested`,
//! `ROOT_CGROUPS_RecoverNestedWithoutConfig`-like scenarios (a running nested container
//! is reaped again; one that ended while the agent was down reports its status).

use serde_json::{Value, json};

use super::containers_real::{call, nested_id, running_task_with, wait};
use super::processes::{executor_pid, make_fifo, read_fifo, start_agent};
use super::support::{AGENT_ID, MasterEvent, next_event};

fn launch(id: &Value, command: &str) -> Value {
    json!({"type": "LAUNCH_NESTED_CONTAINER",
           "launch_nested_container": {"container_id": id, "command": {"value": command}}})
}

fn remove(id: &Value) -> Value {
    json!({"type": "REMOVE_NESTED_CONTAINER", "remove_nested_container": {"container_id": id}})
}

/// Writes a line into `fifo`, whose reader (a container) is waiting for it.
async fn release(fifo: std::path::PathBuf) {
    tokio::task::spawn_blocking(move || std::fs::write(fifo, "go\n").expect("write fifo"))
        .await
        .expect("writer");
}

/// A nested container that runs through an agent restart is waited for by the restarted
/// agent, which reports its later exit; one that ends while the agent is down reports
/// the status its launcher recorded; REMOVE deletes their checkpoints. The running one
/// is in its executor's cgroup and GET_CONTAINERS lists it with `show_nested`.
#[actix_rt::test]
async fn nested_containers_survive_an_agent_restart() {
    let mut run = running_task_with("nested-restart", true).await;
    let agent = run.agent;
    let dir = run.dir().to_path_buf();
    let (go, down, done) = (dir.join("go.fifo"), dir.join("down.fifo"), dir.join("done.fifo"));
    for fifo in [&go, &down, &done] {
        make_fifo(fifo);
    }
    let survivor = nested_id(&run.container, "survivor");
    let command = format!("cat {} > /dev/null; exit 7", go.display());
    assert_eq!(call(agent, launch(&survivor, &command)).await.0, 200);
    let ended = nested_id(&run.container, "ended");
    let command =
        format!("cat {} > /dev/null; echo bye > {}; exit 4", down.display(), done.display());
    assert_eq!(call(agent, launch(&ended, &command)).await.0, 200);
    let runtime = run.work_dir.join("meta/runtime/containers").join(&run.container);
    let pid = std::fs::read_to_string(runtime.join("containers/survivor/pid")).expect("pid");
    // It runs in its executor's cgroup (under cgroups v2; else both are the agent's).
    let executor = executor_pid(&run.work_dir, AGENT_ID, "FW-0001", "task-1").expect("executor");
    let cgroup = |pid: &str| std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim()));
    assert_eq!(cgroup(&pid).expect("its cgroup"), cgroup(&executor.to_string()).expect("cgroup"));

    run.processes.kill_agent(0);
    // While the agent is down, `ended` finishes (its launcher records exit 4).
    release(down).await;
    assert_eq!(read_fifo(done).await.trim(), "bye");
    run.processes.agents.push(start_agent(&run.master, &run.listener, &run.work_dir, &[]));
    loop {
        if let MasterEvent::Reregistered { .. } = next_event(&mut run.events).await {
            break;
        }
    }
    assert_eq!(wait(agent, ended.clone()).await, (200, Some(4 << 8)), "ended while down");
    // GET_CONTAINERS lists the running nested container with its parent when asked to.
    let listed = |body: Value| -> Vec<Value> {
        let containers = body["get_containers"]["containers"].as_array().cloned();
        containers.unwrap_or_default().into_iter().map(|c| c["container_id"].clone()).collect()
    };
    let get =
        |nested: bool| json!({"type": "GET_CONTAINERS", "get_containers": {"show_nested": nested}});
    let (status, body) = call(agent, get(true)).await;
    assert_eq!(status, 200);
    let ids = listed(body);
    assert!(ids.contains(&survivor), "{ids:?}");
    assert!(!ids.contains(&ended), "an exited container is not listed: {ids:?}");
    assert!(
        !listed(call(agent, get(false)).await.1).contains(&survivor),
        "not without show_nested"
    );
    let waiting = tokio::spawn(wait(agent, survivor.clone()));
    release(go).await;
    let waited = super::support::within("the wait", waiting).await.expect("waiter");
    assert_eq!(waited, (200, Some(7 << 8)), "the re-adopted container's exit");
    for id in [&survivor, &ended] {
        assert_eq!(call(agent, remove(id)).await.0, 200);
    }
    assert!(!runtime.join("containers/survivor").exists(), "REMOVE deletes the checkpoint");
    assert!(!runtime.join("containers/ended").exists());
    run.node.shutdown().await;
}

/// A nested container whose executor died while the agent was down is an orphan on
/// recovery: the restarted agent kills it and deletes its checkpoint. Mesos:
/// containerizer.cpp `recover` ("Cleaning up orphan container").
#[actix_rt::test]
async fn orphan_nested_containers_are_killed_on_recovery() {
    let mut run = running_task_with("nested-orphan", true).await;
    let agent = run.agent;
    let started = run.dir().join("started.fifo");
    make_fifo(&started);
    let orphan = nested_id(&run.container, "orphan");
    let command = format!("echo $$ > {}; exec sleep 1000", started.display());
    assert_eq!(call(agent, launch(&orphan, &command)).await.0, 200);
    let pid: i32 = read_fifo(started).await.trim().parse().expect("its pid");
    run.processes.groups.push(pid);
    let runtime = run.work_dir.join("meta/runtime/containers").join(&run.container);
    assert!(runtime.join("containers/orphan").exists());

    run.processes.kill_agent(0);
    // Its executor dies while the agent is down.
    let executor = executor_pid(&run.work_dir, AGENT_ID, "FW-0001", "task-1").expect("executor");
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(executor),
        nix::sys::signal::Signal::SIGKILL,
    );
    run.processes.agents.push(start_agent(&run.master, &run.listener, &run.work_dir, &[]));
    // Recovery is done before the agent re-registers.
    loop {
        if let MasterEvent::Reregistered { .. } = next_event(&mut run.events).await {
            break;
        }
    }
    assert!(!runtime.join("containers/orphan").exists(), "its checkpoint is deleted");
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = state.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
    assert!(matches!(state, None | Some("Z") | Some("X")), "killed: {state:?}");
    assert_eq!(wait(agent, orphan).await.0, 404, "forgotten");
    run.node.shutdown().await;
}
