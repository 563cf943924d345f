//! The real `mesos-agent` and `mesos-executor` binaries on loopback, with a fake
//! master in the test process.

use std::net::SocketAddr;
use std::path::Path;

use libprocess::Node;
use mesos_proto::mesos::internal::{KillTaskMessage, RunTaskMessage};
use mesos_proto::mesos::{TaskId, TaskState};

use super::processes::{
    Processes, agent_listener, alive, make_fifo, read_fifo, start_agent, write_fifo,
};

use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
};

fn executor_pid(work_dir: &Path) -> Option<i32> {
    super::processes::executor_pid(work_dir, AGENT_ID, "FW-0001", "task-1")
}

/// The issue's proof: a task running a shell command under the real agent survives
/// `kill -9` of the agent. After the restart the agent recovers, the executor
/// reconnects, the task keeps its OS pid, and its `TASK_FINISHED` reaches the master
/// exactly once.
#[actix_rt::test]
async fn task_survives_agent_kill_and_finishes_once() {
    let dir = TempDir::new("survive");
    let work_dir = dir.0.join("work");
    let (pid_fifo, go_fifo) = (dir.0.join("pid.fifo"), dir.0.join("go.fifo"));
    make_fifo(&pid_fifo);
    make_fifo(&go_fifo);
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    let listener = agent_listener();
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    let command =
        format!("echo $$ > {}; read x < {}; echo finished", pid_fifo.display(), go_fifo.display());
    let run = RunTaskMessage {
        framework: framework(true),
        task: command_task("task-1", &command),
        ..Default::default()
    };
    node.send(master.pid(), &agent, run);
    let task_pid: i32 = read_fifo(pid_fifo.clone()).await.trim().parse().expect("task pid");
    processes.groups.push(task_pid);
    let starting = next_update(&mut events).await;
    assert_eq!(starting.status.state, TaskState::TaskStarting as i32, "Mesos 1.x sends it first");
    let running = next_update(&mut events).await;
    assert_eq!(running.status.state, TaskState::TaskRunning as i32);
    if let Some(executor) = executor_pid(&work_dir) {
        processes.groups.push(executor);
    }

    // kill -9 the agent mid-task, then start it again with the same flags.
    processes.kill_agent(0);
    assert!(alive(task_pid), "the task outlives its agent");
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &[]));
    let reregistered = loop {
        if let MasterEvent::Reregistered { message, .. } = next_event(&mut events).await {
            break message;
        }
    };
    assert!(
        reregistered.tasks.iter().any(|t| t.task_id.value == "task-1"),
        "re-registration carries the task"
    );
    assert!(alive(task_pid), "same OS pid after the restart");

    write_fifo(go_fifo).await;
    let mut finished = 0;
    loop {
        let update = next_update(&mut events).await;
        if update.status.state == TaskState::TaskFinished as i32 {
            finished += 1;
            break;
        }
        assert!(
            [TaskState::TaskStarting as i32, TaskState::TaskRunning as i32]
                .contains(&update.status.state),
            "only STARTING and RUNNING may be resent"
        );
    }
    assert_eq!(finished, 1);
    // The stream on disk holds exactly one TASK_FINISHED.
    let updates_file = work_dir.join(format!(
        "meta/slaves/{AGENT_ID}/frameworks/FW-0001/executors/task-1/runs/latest/tasks/task-1/task.updates"
    ));
    // Checkpointed before it was forwarded, so it is on disk now.
    let bytes = std::fs::read(&updates_file).expect("task.updates");
    let stream: Vec<mesos_proto::mesos::internal::StatusUpdateRecord> =
        mesos_agent::checkpoint::decode_records(&updates_file, &bytes).expect("valid stream");
    let finished_records = stream
        .iter()
        .filter(|r| {
            r.update.as_ref().is_some_and(|u| u.status.state == TaskState::TaskFinished as i32)
        })
        .count();
    assert_eq!(finished_records, 1, "TASK_FINISHED delivered exactly once");
    while let Ok(event) = events.try_recv() {
        if let MasterEvent::Update { update, .. } = event {
            assert_ne!(
                update.status.state,
                TaskState::TaskFinished as i32,
                "no second TASK_FINISHED"
            );
        }
    }
    node.shutdown().await;
}

/// A task whose command does not exist fails with the shell's exit status, and a
/// kill of a running task ends it as TASK_KILLED (`SlaveTest.KillTask` on real
/// processes).
#[actix_rt::test]
async fn missing_command_fails_and_kill_task_kills() {
    let dir = TempDir::new("missing");
    let work_dir = dir.0.join("work");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &work_dir, &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    let run = RunTaskMessage {
        framework: framework(false),
        task: command_task("task-1", "/no/such/command --flag"),
        ..Default::default()
    };
    node.send(master.pid(), &agent, run);
    if let Some(executor) = executor_pid(&work_dir) {
        processes.groups.push(executor);
    }
    let mut states = Vec::new();
    let failed = loop {
        let update = next_update(&mut events).await;
        states.push(update.status.state);
        if update.status.state().is_terminal() {
            break update;
        }
    };
    assert_eq!(failed.status.state, TaskState::TaskFailed as i32, "states seen: {states:?}");
    assert_eq!(failed.status.message.as_deref(), Some("Command exited with status 127"));

    let run = RunTaskMessage {
        framework: framework(false),
        task: command_task("task-2", "exec sleep 1000"),
        ..Default::default()
    };
    node.send(master.pid(), &agent, run);
    assert_eq!(next_update(&mut events).await.status.state, TaskState::TaskStarting as i32);
    assert_eq!(next_update(&mut events).await.status.state, TaskState::TaskRunning as i32);
    let kill_message = KillTaskMessage {
        framework_id: framework(false).id.unwrap(),
        task_id: TaskId { value: "task-2".into() },
        kill_policy: None,
    };
    node.send(master.pid(), &agent, kill_message);
    let killed = next_update(&mut events).await;
    assert_eq!(killed.status.state, TaskState::TaskKilled as i32);
    node.shutdown().await;
}

/// With `--authenticate_http_executors` and `--jwt_secret_key`, the real agent still
/// runs a command task to its end through the real `mesos-executor`. The executor
/// process holds a token signed with the key that names it (`fid`, `eid`, `cid`); the
/// task's own process does not see it (Mesos's executor erases it).
#[actix_rt::test]
async fn task_runs_with_executor_authentication_on() {
    let dir = TempDir::new("jwt");
    let work_dir = dir.0.join("work");
    let key_file = dir.0.join("jwt.key");
    std::fs::write(&key_file, "a key only the agent reads").unwrap();
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    let key_flag = format!("--jwt_secret_key={}", key_file.display());
    let flags = ["--authenticate_http_executors", key_flag.as_str()];
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &work_dir, &flags));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    // Runs only while the token is absent from the task's environment.
    let command = r#"[ -z "$MESOS_EXECUTOR_AUTHENTICATION_TOKEN" ] && exec sleep 1000"#;
    let run = RunTaskMessage {
        framework: framework(true),
        task: command_task("task-1", command),
        ..Default::default()
    };
    node.send(master.pid(), &agent, run);
    let starting = next_update(&mut events).await;
    assert_eq!(starting.status.state, TaskState::TaskStarting as i32);
    let running = next_update(&mut events).await;
    assert_eq!(running.status.state, TaskState::TaskRunning as i32);
    let executor = executor_pid(&work_dir).expect("the executor's checkpointed pid");
    processes.groups.push(executor);
    let environ = std::fs::read(format!("/proc/{executor}/environ")).expect("executor environ");
    let token = environ
        .split(|b| *b == 0)
        .find_map(|v| v.strip_prefix(b"MESOS_EXECUTOR_AUTHENTICATION_TOKEN="))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .expect("the executor has a token");
    let key = mesos_security::jwt::JwtKey::new(b"a key only the agent reads".to_vec()).unwrap();
    let claims = key.verify(&token, 0).expect("signed with --jwt_secret_key");
    assert_eq!(claims.get("fid"), Some("FW-0001"));
    assert_eq!(claims.get("eid"), Some("task-1"), "the command executor is named after its task");
    assert!(claims.get("cid").is_some_and(|cid| !cid.is_empty()));

    let kill_message = KillTaskMessage {
        framework_id: framework(true).id.unwrap(),
        task_id: TaskId { value: "task-1".into() },
        kill_policy: None,
    };
    node.send(master.pid(), &agent, kill_message);
    let killed = next_update(&mut events).await;
    // KILLED, not FAILED or FINISHED: the task was still in its `sleep`, so the test
    // in front of it saw no token.
    assert_eq!(killed.status.state, TaskState::TaskKilled as i32, "{:?}", killed.status.message);
    node.shutdown().await;
}

/// `--http_command_executor` with `--authenticate_http_executors`: the real agent
/// starts the real `mesos-executor` with `MESOS_HTTP_COMMAND_EXECUTOR=1`, so it talks
/// to the agent over the v1 executor HTTP API (its log says so) and authenticates with
/// its token; its command task runs to `TASK_FINISHED` (Mesos's
/// `CommandExecutorTest` on the HTTP library, with executor authentication on).
#[actix_rt::test]
async fn http_command_executor_runs_a_task_with_its_token() {
    let dir = TempDir::new("http-command");
    let work_dir = dir.0.join("work");
    let key_file = dir.0.join("jwt.key");
    std::fs::write(&key_file, "a key only the agent reads").unwrap();
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    let key_flag = format!("--jwt_secret_key={}", key_file.display());
    let flags = ["--authenticate_http_executors", key_flag.as_str(), "--http_command_executor"];
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &work_dir, &flags));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    let run = RunTaskMessage {
        framework: framework(true),
        task: command_task("task-1", "echo over-http"),
        ..Default::default()
    };
    node.send(master.pid(), &agent, run);
    let mut states = Vec::new();
    let last = loop {
        let update = next_update(&mut events).await;
        states.push(update.status.state);
        if update.status.state().is_terminal() {
            break update;
        }
    };
    if let Some(executor) = executor_pid(&work_dir) {
        processes.groups.push(executor);
    }
    assert_eq!(last.status.state, TaskState::TaskFinished as i32, "states seen: {states:?}");
    assert_eq!(states[0], TaskState::TaskStarting as i32);

    let sandbox =
        work_dir.join(format!("slaves/{AGENT_ID}/frameworks/FW-0001/executors/task-1/runs/latest"));
    let stderr = std::fs::read_to_string(sandbox.join("stderr")).expect("the executor's stderr");
    assert!(stderr.contains("command executor on the v1 executor HTTP API"), "{stderr}");
    let stdout = std::fs::read_to_string(sandbox.join("stdout")).expect("the task's stdout");
    assert!(stdout.contains("over-http"), "{stdout}");
    node.shutdown().await;
}
