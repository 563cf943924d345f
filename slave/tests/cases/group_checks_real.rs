//! The default executor's COMMAND health checks under the real `mesos-agent` and
//! `mesos-default-executor`: each probe is a `check-<uuid>` session container nested in
//! the task's container, as in Mesos (checker_process.cpp `nestedCommandCheck`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use mesos_proto::mesos::{CommandInfo, HealthCheck, TaskState, health_check, task_status};
use mesos_proto::resources::Resources;
use serde_json::{Value, json};

use super::processes::{
    Processes, RegisteredAgent, agent_listener, make_fifo, read_fifo, registered_agent,
};
use super::support::{
    AGENT_ID, TempDir, command_task, default_executor, framework, group_task, next_update,
    run_group,
};

/// Writes a line into `fifo`, whose reader (a check) is waiting for it.
async fn release(fifo: std::path::PathBuf) {
    tokio::task::spawn_blocking(move || std::fs::write(fifo, "go\n").expect("write fifo"))
        .await
        .expect("writer");
}

/// The running nested containers the agent lists (GET_CONTAINERS, `show_nested`):
/// each id's value with its parent's.
async fn nested_containers(agent: SocketAddr) -> Vec<(String, String)> {
    let call = json!({"type": "GET_CONTAINERS", "get_containers": {"show_nested": true}});
    let (status, body) = super::containers_real::call(agent, call).await;
    assert_eq!(status, 200, "{body}");
    let containers = body["get_containers"]["containers"].as_array().cloned().unwrap_or_default();
    let value = |v: &Value| v.as_str().unwrap_or_default().to_string();
    containers
        .iter()
        .filter(|c| c["container_id"]["parent"].is_object())
        .map(|c| (value(&c["container_id"]["value"]), value(&c["container_id"]["parent"]["value"])))
        .collect()
}

/// The proof for the default executor (Mesos: `HealthCheckTest.
/// DefaultExecutorCommandHealthCheck`, `DefaultExecutorTest.CommitSuicideOnKillTask`'s
/// group policy): `t1`'s COMMAND health check runs as a `check-` container nested in
/// `t1`'s container (the agent lists it while it runs; its sandbox is the task's), is
/// reported healthy, then, once it fails, unhealthy until `consecutive_failures`, when
/// `t1` is killed with its group (`t2`).
#[actix_rt::test]
async fn group_command_health_check_runs_nested_and_kills_the_group() {
    let dir = TempDir::new("group-nested-check");
    let work_dir = dir.0.join("work");
    let mut processes = Processes::default();
    let listener = agent_listener();
    let address = listener.local_addr().expect("address");
    let RegisteredAgent { node, master, mut events, agent } =
        registered_agent(&mut processes, &listener, &work_dir, &[]).await;

    let executor = default_executor(framework(true).id);
    let pid_fifo = |id: &str| dir.0.join(format!("{id}.fifo"));
    let (seen, gate) = (dir.0.join("seen.fifo"), dir.0.join("gate.fifo"));
    for fifo in [&pid_fifo("t1"), &pid_fifo("t2"), &seen, &gate] {
        make_fifo(fifo);
    }
    let healthy = dir.0.join("healthy");
    std::fs::write(&healthy, "").unwrap();
    let task = |id: &str| {
        let command = format!("echo $$ > {}; exec sleep 1000", pid_fifo(id).display());
        group_task(id, &command, &executor)
    };
    // The first probe says where it runs and waits at the gate, so that the test sees
    // its container; every probe passes while `healthy` exists.
    let once = dir.0.join("once");
    let check = format!(
        "if [ ! -e {once} ]; then touch {once}; echo \"$MESOS_SANDBOX $(pwd -P)\" > {seen}; \
         cat {gate} > /dev/null; fi; test -e {healthy}",
        once = once.display(),
        seen = seen.display(),
        gate = gate.display(),
        healthy = healthy.display(),
    );
    let mut t1 = task("t1");
    t1.health_check = Some(HealthCheck {
        r#type: Some(health_check::Type::Command as i32),
        command: Some(CommandInfo { value: Some(check), ..Default::default() }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        timeout_seconds: Some(30.0),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(2),
        ..Default::default()
    });
    let run = run_group(&executor, vec![t1, task("t2")]);
    node.send(master.pid(), &agent, run);

    // Both tasks' pids (for the cleanup guard), then the first probe's whereabouts.
    for id in ["t1", "t2"] {
        processes.groups.push(read_fifo(pid_fifo(id)).await.trim().parse().expect("a pid"));
    }
    if let Some(executor) =
        super::processes::executor_pid(&work_dir, AGENT_ID, "FW-0001", "default")
    {
        processes.groups.push(executor);
    }
    let line = read_fifo(seen).await;
    let [sandbox, pwd] = line.split_whitespace().collect::<Vec<_>>()[..] else { panic!("{line}") };
    // The check's sandbox is the task's container's: `containers/<task container>` of
    // the executor's sandbox (the one `tasks/t1` links to), not the executor's view.
    assert!(sandbox.contains("/containers/"), "{sandbox}");
    assert_eq!(std::fs::canonicalize(sandbox).unwrap().to_string_lossy(), pwd);
    let task_container = std::path::Path::new(sandbox).file_name().unwrap().to_string_lossy();
    let tasks_t1 =
        std::path::Path::new(sandbox).parent().unwrap().parent().unwrap().join("tasks/t1");
    assert_eq!(std::fs::canonicalize(tasks_t1).unwrap().to_string_lossy(), pwd);
    // While it waits at the gate the agent runs it: `check-<uuid>` under t1's container.
    let nested = nested_containers(address).await;
    let checks: Vec<_> = nested.iter().filter(|(id, _)| id.starts_with("check-")).collect();
    assert_eq!(checks.len(), 1, "{nested:?}");
    assert_eq!(checks[0].1, task_container, "nested in the task's container");
    release(gate).await;

    let mut states: BTreeMap<String, Vec<TaskState>> = BTreeMap::new();
    let mut health = Vec::new();
    let mut terminal: BTreeMap<String, (TaskState, Option<bool>)> = BTreeMap::new();
    while terminal.len() < 2 {
        let update = next_update(&mut events).await;
        let (id, state) = (update.status.task_id.value.clone(), update.status.state());
        if state.is_terminal() {
            terminal.insert(id, (state, update.status.healthy));
            continue;
        }
        states.entry(id.clone()).or_default().push(state);
        let reason = update.status.reason.and_then(|r| task_status::Reason::try_from(r).ok());
        if reason == Some(task_status::Reason::TaskHealthCheckStatusUpdated) {
            assert_eq!(id, "t1");
            let now = update.status.healthy.expect("a health update says");
            if now && health.is_empty() {
                // Healthy once: from now on the check fails.
                std::fs::remove_file(&healthy).unwrap();
            }
            health.push(now);
        }
    }
    assert_eq!(health, [true, false, false], "healthy, then unhealthy at each failure");
    assert_eq!(states["t1"][..2], [TaskState::TaskStarting, TaskState::TaskRunning]);
    assert_eq!(terminal["t1"], (TaskState::TaskKilled, Some(false)), "killed as unhealthy");
    assert_eq!(terminal["t2"].0, TaskState::TaskKilled, "the rest of the group is killed");
    node.shutdown().await;
}

/// Whether `pid` is gone (a zombie nobody waited for yet counts as ended).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// A COMMAND check that outlives its `timeout_seconds` is a failure, and its container
/// is gone before the next probe starts (Mesos: `nestedCommandCheckFailure` ends the
/// session, the next `nestedCommandCheck` removes it first); at `consecutive_failures`
/// the task is killed.
#[actix_rt::test]
async fn group_command_check_timeout_kills_its_container() {
    let dir = TempDir::new("group-check-timeout");
    let work_dir = dir.0.join("work");
    let mut processes = Processes::default();
    let listener = agent_listener();
    let RegisteredAgent { node, master, mut events, agent } =
        registered_agent(&mut processes, &listener, &work_dir, &[]).await;
    let executor = default_executor(framework(true).id);
    let (task_fifo, check_fifo) = (dir.0.join("task.fifo"), dir.0.join("check.fifo"));
    make_fifo(&task_fifo);
    make_fifo(&check_fifo);
    let mut task =
        command_task("t1", &format!("echo $$ > {}; exec sleep 1000", task_fifo.display()));
    task.executor = Some(executor.clone());
    task.resources = Resources::parse("cpus:0.1;mem:32").unwrap().to_protos();
    task.health_check = Some(HealthCheck {
        r#type: Some(health_check::Type::Command as i32),
        command: Some(CommandInfo {
            value: Some(format!("echo $$ > {}; exec sleep 1000", check_fifo.display())),
            ..Default::default()
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        timeout_seconds: Some(0.5),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(2),
        ..Default::default()
    });
    let run = run_group(&executor, vec![task]);
    node.send(master.pid(), &agent, run);
    processes.groups.push(read_fifo(task_fifo).await.trim().parse().expect("a pid"));
    if let Some(executor) =
        super::processes::executor_pid(&work_dir, AGENT_ID, "FW-0001", "default")
    {
        processes.groups.push(executor);
    }
    let first: i32 = read_fifo(check_fifo.clone()).await.trim().parse().expect("a pid");
    let second: i32 = read_fifo(check_fifo).await.trim().parse().expect("a pid");
    // The second probe runs (it ends with the task's container, as nested containers do).
    assert!(second != first);
    assert!(ended(first), "the timed-out check's container was ended before the next");

    let mut unhealthy = 0;
    let killed = loop {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            break update;
        }
        if update.status.healthy == Some(false) {
            unhealthy += 1;
        }
    };
    assert_eq!(unhealthy, 2, "unhealthy at each timeout");
    assert_eq!(killed.status.state(), TaskState::TaskKilled, "{:?}", killed.status);
    assert_eq!(killed.status.healthy, Some(false));
    node.shutdown().await;
}
