//! `batch` on a simulated cluster, its executors running in-process.

use std::time::Duration;

use mesos_examples::batch::{Batch, PiExecutor, throw};
use mesos_framework::executor::spawn_executor;
use mesos_framework::scheduler::{DriverStatus, SchedulerConfig, framework_info, spawn_scheduler};
use mesos_framework::tasks::parse_resources;
use mesos_framework::testing::{AgentConfig, Cluster};
use rand::SeedableRng;

/// Four Monte-Carlo tasks on two agents (one executor each): the scheduler gathers
/// every result and its estimate is exactly the one computed here with the same seeds
/// (and near pi).
#[actix_rt::test]
async fn batch_estimates_pi_from_every_task() {
    let cluster = Cluster::start();
    let launcher = || {
        |node: &libprocess::Node, env| {
            spawn_executor(node, env, PiExecutor::default(), 3).map(|h| h.pid().clone())
        }
    };
    let a = cluster.agent(AgentConfig::new("cpus:0.5;mem:160").launcher(launcher()));
    let b = cluster.agent(AgentConfig::new("cpus:0.5;mem:160").launcher(launcher()));
    let samples = 50_000;
    let batch = Batch::new(4, samples, parse_resources("cpus:0.2;mem:64").unwrap(), "pi-executor");
    let node = cluster.host();
    let mut handle = spawn_scheduler(
        &node,
        SchedulerConfig::new(framework_info("batch"), vec![cluster.master_pid()]),
        batch,
    )
    .unwrap();
    cluster.advance(Duration::from_secs(1)).await;
    let (batch, status) = handle.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    assert_eq!(batch.results.len(), 4);
    let inside: u64 =
        (1..=4).map(|seed| throw(&mut rand::rngs::StdRng::seed_from_u64(seed), samples)).sum();
    let expected = 4.0 * inside as f64 / (4 * samples) as f64;
    assert_eq!(batch.pi, Some(expected));
    assert!((expected - std::f64::consts::PI).abs() < 0.05);
    assert_eq!(
        a.task_states().await.len(),
        2,
        "two tasks per agent: 0.5 cpus = executor 0.1 + 2 x 0.2"
    );
    assert_eq!(b.task_states().await.len(), 2);
}
