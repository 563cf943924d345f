//! Health checks and checks run by the real `mesos-executor` under the real
//! `mesos-agent`, against things the test serves on loopback; a fake master in the
//! test process sees the status updates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use libprocess::Node;
use mesos_proto::mesos::internal::{KillTaskMessage, RunTaskMessage, StatusUpdate};
use mesos_proto::mesos::{
    CheckInfo, CommandInfo, HealthCheck, TaskId, TaskState, check_info, health_check, task_status,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::processes::{Processes, agent_listener, start_agent};
use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
};

/// Serves every request on a port of its own with the status code held in `status`
/// (the test flips it), until the runtime ends.
async fn serve_status(status: Arc<AtomicU16>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("bound").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let code = status.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0u8; 2048];
                let _ = stream.read(&mut request).await;
                let reply = format!(
                    "HTTP/1.1 {code} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

/// Starts a real agent for a fake master; returns the agent's pid.
async fn agent(
    node: &Node,
    dir: &TempDir,
    processes: &mut Processes,
) -> (
    libprocess::ProcessRef<super::support::FakeMaster>,
    mpsc::UnboundedReceiver<MasterEvent>,
    libprocess::Pid,
) {
    let (master, mut events) = fake_master(node, true);
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &dir.0.join("work"), &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };
    (master, events, agent)
}

fn executor_group(dir: &TempDir, task: &str) -> Option<i32> {
    super::processes::executor_pid(&dir.0.join("work"), AGENT_ID, "FW-0001", task)
}

fn reason(update: &StatusUpdate) -> Option<task_status::Reason> {
    update.status.reason.and_then(|r| task_status::Reason::try_from(r).ok())
}

/// The proof (`HealthCheckTest.HealthStatusChange` and
/// `HealthCheckTest.ConsecutiveFailures` on real processes): a task whose HTTP health
/// check answers 200 is reported TASK_STARTING, TASK_RUNNING, then healthy; when the
/// server turns to 500 it is reported unhealthy at each failure and, at the 3rd in a
/// row (`consecutive_failures`), killed: TASK_KILLED with `healthy=false`.
#[actix_rt::test]
async fn http_health_check_healthy_then_unhealthy_then_killed() {
    let dir = TempDir::new("health-http");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let mut processes = Processes::default();
    let (master, mut events, agent) = agent(&node, &dir, &mut processes).await;
    let status = Arc::new(AtomicU16::new(200));
    let port = serve_status(status.clone()).await;

    let mut task = command_task("task-1", "exec sleep 1000");
    task.health_check = Some(HealthCheck {
        r#type: Some(health_check::Type::Http as i32),
        http: Some(health_check::HttpCheckInfo {
            port: u32::from(port),
            path: Some("/health".into()),
            ..Default::default()
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        timeout_seconds: Some(5.0),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(3),
        ..Default::default()
    });
    let run =
        RunTaskMessage { framework: framework(false), task: task.clone(), ..Default::default() };
    node.send(master.pid(), &agent, run);

    let starting = next_update(&mut events).await;
    if let Some(group) = executor_group(&dir, "task-1") {
        processes.groups.push(group);
    }
    assert_eq!(starting.status.state(), TaskState::TaskStarting);
    let running = next_update(&mut events).await;
    assert_eq!(running.status.state(), TaskState::TaskRunning);
    assert_eq!(running.status.healthy, None, "no health known yet");
    let healthy = next_update(&mut events).await;
    assert_eq!(healthy.status.state(), TaskState::TaskRunning);
    assert_eq!(healthy.status.healthy, Some(true));
    assert_eq!(reason(&healthy), Some(task_status::Reason::TaskHealthCheckStatusUpdated));

    // Healthy is reported once; from now on the server fails.
    status.store(500, Ordering::SeqCst);
    let mut unhealthy = 0;
    let killed = loop {
        let update = next_update(&mut events).await;
        match update.status.state() {
            TaskState::TaskRunning if update.status.healthy == Some(true) => {
                // A probe that was answered before the flip.
                assert_eq!(unhealthy, 0, "healthy only before the failures");
            }
            TaskState::TaskRunning => {
                assert_eq!(update.status.healthy, Some(false));
                assert_eq!(
                    reason(&update),
                    Some(task_status::Reason::TaskHealthCheckStatusUpdated)
                );
                unhealthy += 1;
            }
            _ => break update,
        }
    };
    assert_eq!(unhealthy, 3, "reported unhealthy at each of the consecutive failures");
    assert_eq!(killed.status.state(), TaskState::TaskKilled, "{:?}", killed.status);
    assert_eq!(killed.status.healthy, Some(false), "killed because unhealthy (Mesos: no reason)");
    assert_eq!(killed.status.reason, None);
    node.shutdown().await;
}

/// `CheckTest.CommandCheckStatusChange` on real processes: a general COMMAND check runs
/// in the task's sandbox with the task's environment; every update of the task carries
/// a `check_status` (empty until the first result), and a changed exit code is
/// reported with `REASON_TASK_CHECK_STATUS_UPDATED`.
#[actix_rt::test]
async fn command_check_reports_check_status_on_change() {
    let dir = TempDir::new("check-command");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let mut processes = Processes::default();
    let (master, mut events, agent) = agent(&node, &dir, &mut processes).await;

    // The task creates `ready` in its sandbox once told to through a file the test
    // writes; the check's exit code is 1 until then, then 0.
    let go = dir.0.join("go");
    let command = format!(
        "while [ ! -f {} ]; do sleep 0.05; done; touch ready; exec sleep 1000",
        go.display()
    );
    let mut task = command_task("task-1", &command);
    let env = mesos_proto::mesos::Environment {
        variables: vec![mesos_proto::mesos::environment::Variable {
            name: "READY_FILE".into(),
            value: Some("ready".into()),
            ..Default::default()
        }],
    };
    if let Some(command) = task.command.as_mut() {
        command.environment = Some(env);
    }
    task.check = Some(CheckInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_info::Command {
            command: CommandInfo {
                value: Some("test -f \"$READY_FILE\"".into()),
                ..Default::default()
            },
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.1),
        ..Default::default()
    });
    let run = RunTaskMessage { framework: framework(false), task, ..Default::default() };
    node.send(master.pid(), &agent, run);

    let starting = next_update(&mut events).await;
    if let Some(group) = executor_group(&dir, "task-1") {
        processes.groups.push(group);
    }
    let empty = mesos_framework::checks::empty_check_status(check_info::Type::Command);
    assert_eq!(starting.status.state(), TaskState::TaskStarting);
    assert_eq!(starting.status.check_status, Some(empty));
    let running = next_update(&mut events).await;
    assert_eq!(running.status.state(), TaskState::TaskRunning);
    assert_eq!(running.status.check_status, Some(empty));
    let exit_code = |update: &StatusUpdate| {
        update.status.check_status.and_then(|c| c.command).and_then(|c| c.exit_code)
    };
    let first = next_update(&mut events).await;
    assert_eq!(reason(&first), Some(task_status::Reason::TaskCheckStatusUpdated));
    assert_eq!(exit_code(&first), Some(1));

    std::fs::write(&go, "").expect("write the go file");
    let second = next_update(&mut events).await;
    assert_eq!(reason(&second), Some(task_status::Reason::TaskCheckStatusUpdated));
    assert_eq!(second.status.state(), TaskState::TaskRunning);
    assert_eq!(exit_code(&second), Some(0), "only a change is reported: {:?}", second.status);

    let kill = KillTaskMessage {
        framework_id: framework(false).id.expect("an id"),
        task_id: TaskId { value: "task-1".into() },
        kill_policy: None,
    };
    node.send(master.pid(), &agent, kill);
    let killed = loop {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            break update;
        }
    };
    assert_eq!(killed.status.state(), TaskState::TaskKilled);
    node.shutdown().await;
}
