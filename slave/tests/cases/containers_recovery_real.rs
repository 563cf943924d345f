//! Nested containers across a restart of the real `mesos-agent` (kill -9, started again
//! on the same work dir and port): the agent takes them back from its runtime
//! checkpoint. Mesos: `NestedMesosContainerizerTest.ROOT_CGROUPS_RecoverNested`,
//! `ROOT_CGROUPS_RecoverNestedWithoutConfig`-like scenarios (a running nested container
//! is reaped again; one that ended while the agent was down reports its status).

use serde_json::{Value, json};

use super::containers_real::{call, nested_id, running_task_with, wait};
use super::processes::{make_fifo, read_fifo, start_agent};
use super::support::{MasterEvent, next_event};

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
/// the status its launcher recorded; REMOVE deletes their checkpoints.
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
    assert!(runtime.join("containers/survivor/pid").exists(), "checkpointed");

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
