//! Draining on the agent, on the simulated network with a paused clock: our master,
//! our agent, our command executor. Ports of `MasterDrainingTest.DrainAgent` (the
//! agent's half) with an agent restart in the middle, as `SlaveTest`'s restart
//! scenarios do.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::Match;
use mesos_agent::checkpoint::read_state;
use mesos_agent::paths::Paths;
use mesos_proto::mesos::internal::{DrainSlaveMessage, KillTaskMessage, SlaveReregisteredMessage};
use mesos_proto::mesos::{TaskState, task_status};
use serde_json::json;

use super::scheduler::command_task;
use super::sim_cluster::{SimCluster, framework};
use super::support::within;

/// DRAIN_AGENT reaches the agent, which checkpoints `drain.config`; the agent dies
/// before its kill reaches the executor. The restarted agent reads the drain back and,
/// once recovery ends, kills the task by itself (the master's resent drain is dropped):
/// the scheduler gets TASK_KILLED with REASON_SLAVE_DRAINING, and the task's process is
/// gone.
#[actix_rt::test]
async fn drain_survives_an_agent_restart() {
    let mut cluster = SimCluster::start("drain-restart");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let offer = scheduler.offer().await;
    let agent_id = offer.slave_id.value.clone();
    scheduler.launch(&offer, command_task("t1", &offer, "cpus:1;mem:128", "sleep 1000"));
    scheduler.wait_update("t1", TaskState::TaskRunning).await;

    // The drain's kill is lost with the agent.
    let lost_kill =
        cluster.hooks.drop_next::<KillTaskMessage>(Match::any().from(&cluster.agent_pid()));
    let body = json!({"type": "DRAIN_AGENT", "drain_agent": {
        "agent_id": {"value": agent_id}, "max_grace_period": {"seconds": 5}}});
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let response = cluster.master_node.handle_http(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    within("the kill", lost_kill).await;
    cluster.settle().await;
    let work = Paths::new(cluster.dir.0.join("work"));
    let config = read_state(&work).expect("readable").expect("a checkpoint").drain_config;
    let grace = config.and_then(|c| c.max_grace_period).map(|d| d.nanoseconds);
    assert_eq!(grace, Some(5_000_000_000), "drain.config is checkpointed");

    cluster.crash_agent().await;
    // The master resends the drain when a DRAINING agent re-registers; drop that, so
    // only the agent's own checkpoint can make it drain.
    let resent =
        cluster.hooks.drop_next::<DrainSlaveMessage>(Match::any().to(&cluster.agent_pid()));
    let reregistered =
        cluster.hooks.expect::<SlaveReregisteredMessage>(Match::any().to(&cluster.agent_pid()));
    cluster.start_agent().await;
    cluster.advance(Duration::from_secs(3)).await;
    within("re-registered", reregistered).await;
    within("the master's resend, dropped", resent).await;
    let killed = scheduler.wait_update("t1", TaskState::TaskKilled).await;
    assert_eq!(killed.reason(), task_status::Reason::SlaveDraining);
    let task = cluster.world.task("sleep 1000").expect("the task");
    assert!(!cluster.world.task_running(task), "the task's process was killed");
}
