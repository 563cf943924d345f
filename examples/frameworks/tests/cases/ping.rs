//! `ping` on a simulated cluster, its two executors running in-process.

use std::time::Duration;

use mesos_examples::ping::{Ping, PingExecutor};
use mesos_framework::executor::spawn_executor;
use mesos_framework::scheduler::{DriverStatus, SchedulerConfig, framework_info, spawn_scheduler};
use mesos_framework::tasks::parse_resources;
use mesos_framework::testing::{AgentConfig, Cluster};
use mesos_proto::mesos::TaskState;

/// Ten hits alternate between the two executors, every ball passing through the
/// scheduler; then both tasks are killed and the framework stops.
#[actix_rt::test]
async fn two_executors_rally_through_the_scheduler() {
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:1;mem:512").launcher(|node, env| {
        spawn_executor(node, env, PingExecutor::default(), 5).map(|h| h.pid().clone())
    }));
    let ping = Ping::new(10, parse_resources("cpus:0.1;mem:32").unwrap(), "ping-executor");
    let node = cluster.host();
    let mut handle = spawn_scheduler(
        &node,
        SchedulerConfig::new(framework_info("ping"), vec![cluster.master_pid()]),
        ping,
    )
    .unwrap();
    cluster.advance(Duration::from_secs(1)).await;
    let (ping, status) = handle.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    let numbers: Vec<u64> = ping.hits.iter().map(|(_, n)| *n).collect();
    assert_eq!(numbers, (1..=10).collect::<Vec<_>>());
    for (i, (who, _)) in ping.hits.iter().enumerate() {
        assert_eq!(who, if i % 2 == 0 { "ping-a" } else { "ping-b" }, "players alternate");
    }
    let states = agent.task_states().await;
    assert_eq!(states.get("ping-a"), Some(&TaskState::TaskKilled));
    assert_eq!(states.get("ping-b"), Some(&TaskState::TaskKilled));
}
