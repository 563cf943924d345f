//! `mesos-execute`'s scheduler against a simulated cluster.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mesos_framework::execute::{ExecuteScheduler, ExecuteSpec};
use mesos_framework::scheduler::{DriverStatus, SchedulerConfig, framework_info, spawn_scheduler};
use mesos_framework::tasks::parse_resources;
use mesos_framework::testing::{AgentConfig, Cluster};
use mesos_proto::mesos::TaskState;

async fn execute(command: &str, instances: u32) -> (bool, Vec<(String, TaskState)>, Vec<String>) {
    let cluster = Cluster::start();
    let _agent = cluster.agent(AgentConfig::new("cpus:1;mem:256"));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let spec = ExecuteSpec {
        name: "job".into(),
        command: command.into(),
        resources: parse_resources("cpus:0.1;mem:32").unwrap(),
        instances,
    };
    let scheduler = ExecuteScheduler::new(
        spec,
        Box::new(move |line| sink.lock().unwrap().push(line.to_string())),
    );
    let node = cluster.host();
    let mut handle = spawn_scheduler(
        &node,
        SchedulerConfig::new(framework_info("execute"), vec![cluster.master_pid()]),
        scheduler,
    )
    .unwrap();
    cluster.advance(Duration::from_secs(1)).await;
    let (scheduler, status) = handle.join().await.unwrap();
    assert_eq!(status, DriverStatus::Stopped);
    let lines = lines.lock().unwrap().clone();
    (scheduler.succeeded(), scheduler.ended().to_vec(), lines)
}

/// Three instances of a command that exits 0 all finish: success, and every update
/// was printed.
#[actix_rt::test]
async fn every_instance_finishes() {
    let (ok, ended, lines) = execute("echo hi", 3).await;
    assert!(ok);
    let mut ids: Vec<String> = ended.into_iter().map(|(id, _)| id).collect();
    ids.sort();
    assert_eq!(ids, ["job-0", "job-1", "job-2"]);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("Received status update TASK_FINISHED")).count(),
        3
    );
    assert!(lines[0].starts_with("Subscribed with ID"));
}

/// A failing command makes the run fail (the binary exits 1).
#[actix_rt::test]
async fn a_failed_task_fails_the_run() {
    let (ok, ended, lines) = execute("exit 1", 1).await;
    assert!(!ok);
    assert_eq!(ended, vec![("job".to_string(), TaskState::TaskFailed)]);
    assert!(
        lines.iter().any(|l| l.starts_with("Received status update TASK_FAILED for task 'job'"))
    );
}

/// The binary's flags: unknown flags and missing required ones exit 1 with a message,
/// `--help` exits 0 and lists every flag of docs/interfaces.md, and MESOS_* variables are
/// read (a bad `MESOS_INSTANCES` is refused, not defaulted).
#[test]
fn flags_follow_the_mesos_conventions() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-execute"));
        command.args(args).env_clear();
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let unknown = run(&["--master=127.0.0.1:5050", "--name=a", "--command=true", "--bogus"], &[]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--bogus"));
    assert_eq!(
        run(&["--name=a", "--command=true"], &[]).status.code(),
        Some(1),
        "--master is required"
    );
    let help = run(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--master",
        "--name",
        "--command",
        "--resources",
        "--instances",
        "--role",
        "--checkpoint",
        "--framework_name",
    ] {
        assert!(text.contains(flag), "--help lists {flag}");
    }
    assert!(text.contains("cpus:0.1;mem:32"));
    let bad_env = run(
        &["--name=a", "--command=true"],
        &[("MESOS_MASTER", "127.0.0.1:5050"), ("MESOS_INSTANCES", "zero")],
    );
    assert_eq!(bad_env.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_env.stderr).contains("zero"));
    let bad_master = run(&["--master=nowhere", "--name=a", "--command=true"], &[]);
    assert_eq!(bad_master.status.code(), Some(1));
}
