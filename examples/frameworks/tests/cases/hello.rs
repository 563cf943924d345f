//! `hello` on a simulated cluster.

use std::time::Duration;

use mesos_examples::hello::Hello;
use mesos_framework::scheduler::{DriverStatus, SchedulerConfig, framework_info, spawn_scheduler};
use mesos_framework::tasks::parse_resources;
use mesos_framework::testing::{AgentConfig, Cluster};

/// Five tasks on two agents with room for three each: all launched across both agents,
/// all finish, and the framework tears itself down.
#[actix_rt::test]
async fn hello_runs_every_task_and_stops() {
    let cluster = Cluster::start();
    let a = cluster.agent(AgentConfig::new("cpus:0.3;mem:96"));
    let b = cluster.agent(AgentConfig::new("cpus:0.3;mem:96"));
    let hello = Hello::new(5, "echo hello", parse_resources("cpus:0.1;mem:32").unwrap());
    let node = cluster.host();
    let mut handle = spawn_scheduler(
        &node,
        SchedulerConfig::new(framework_info("hello"), vec![cluster.master_pid()]),
        hello,
    )
    .unwrap();
    cluster.advance(Duration::from_secs(1)).await;
    let (hello, status) = handle.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    assert!(hello.succeeded());
    assert_eq!((hello.launched, hello.finished, hello.failed), (5, 5, 0));
    let ran = a.task_states().await.len() + b.task_states().await.len();
    assert_eq!(ran, 5);
}

/// A failing command is reported as such: hello stops but does not succeed.
#[actix_rt::test]
async fn hello_reports_failures() {
    let cluster = Cluster::start();
    let _agent = cluster.agent(AgentConfig::new("cpus:1;mem:256"));
    let hello = Hello::new(2, "exit 1", parse_resources("cpus:0.1;mem:32").unwrap());
    let node = cluster.host();
    let mut handle = spawn_scheduler(
        &node,
        SchedulerConfig::new(framework_info("hello"), vec![cluster.master_pid()]),
        hello,
    )
    .unwrap();
    cluster.advance(Duration::from_secs(1)).await;
    let (hello, _) = handle.join().await.unwrap();
    assert!(!hello.succeeded());
    assert_eq!(hello.failed, 2);
}
