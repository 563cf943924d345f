//! Task groups under the real `mesos-agent` and the real `mesos-default-executor` (a v1
//! HTTP executor on the SDK), with a fake master in the test process sending
//! `RunTaskGroupMessage` as the master does for LAUNCH_GROUP.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use libprocess::Node;
use mesos_proto::mesos::internal::KillTaskMessage;
use mesos_proto::mesos::{TaskGroupInfo, TaskId, TaskState};
use mesos_proto::resources::Resources;

use super::processes::{
    Processes, RegisteredAgent, agent_listener, make_fifo, read_fifo, registered_agent, start_agent,
};
use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, default_executor, framework, group_task,
    next_event, next_update, run_group,
};

/// Runs a two-task group (`t1`, `t2`) to TASK_RUNNING, checks the per-task sandboxes,
/// kills `t1` and expects both tasks killed and the executor gone.
async fn run_group_and_kill_one(name: &str, flags: &[&str]) {
    let dir = TempDir::new(name);
    let work_dir = dir.0.join("work");
    let key_file = dir.0.join("jwt.key");
    std::fs::write(&key_file, "a key only the agent reads").unwrap();
    let key_flag = format!("--jwt_secret_key={}", key_file.display());
    let credentials = dir.0.join("credentials.json");
    let credentials_json = r#"{"credentials": [{"principal": "ops", "secret": "s"}]}"#;
    std::fs::write(&credentials, credentials_json).unwrap();
    let credentials_flag = format!("--http_credentials={}", credentials.display());
    let mut flags: Vec<&str> = flags.to_vec();
    if flags.contains(&"--authenticate_http_executors") {
        flags.push(key_flag.as_str());
    }
    if flags.contains(&"--authenticate_http_readwrite") {
        flags.push(credentials_flag.as_str());
    }
    let mut processes = Processes::default();
    let listener = agent_listener();
    let RegisteredAgent { node, master, mut events, agent } =
        registered_agent(&mut processes, &listener, &work_dir, &flags).await;

    let executor = default_executor(framework(true).id);
    // Each task writes a file in its sandbox, then tells the test (through its fifo)
    // its pid (for the cleanup guard: tasks lead their own process groups), working
    // directory and MESOS_SANDBOX, then sleeps until killed.
    for id in ["t1", "t2"] {
        make_fifo(&dir.0.join(format!("{id}.fifo")));
    }
    let task = |id: &str| {
        let fifo = dir.0.join(format!("{id}.fifo"));
        let command = format!(
            "echo {id} > out; echo \"$$ $PWD $MESOS_SANDBOX\" > {}; exec sleep 1000",
            fifo.display()
        );
        group_task(id, &command, &executor)
    };
    let run = run_group(&executor, vec![task("t1"), task("t2")]);
    node.send(master.pid(), &agent, run);

    let mut states: BTreeMap<String, Vec<TaskState>> = BTreeMap::new();
    let running = |states: &BTreeMap<String, Vec<TaskState>>| {
        ["t1", "t2"]
            .iter()
            .all(|t| states.get(*t).is_some_and(|s| s.contains(&TaskState::TaskRunning)))
    };
    while !running(&states) {
        let update = next_update(&mut events).await;
        let state = update.status.state();
        assert!(!state.is_terminal(), "{:?}: {:?}", update.status.task_id, update.status.message);
        states.entry(update.status.task_id.value.clone()).or_default().push(state);
    }
    for task in ["t1", "t2"] {
        assert_eq!(states[task], [TaskState::TaskStarting, TaskState::TaskRunning], "{task}");
    }
    if let Some(executor) =
        super::processes::executor_pid(&work_dir, AGENT_ID, "FW-0001", "default")
    {
        processes.groups.push(executor);
    }
    // Per-task sandboxes: `tasks/<task_id>` under the executor's sandbox, which is
    // the task's working directory and MESOS_SANDBOX.
    for id in ["t1", "t2"] {
        let line = read_fifo(dir.0.join(format!("{id}.fifo"))).await;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [pid, pwd, sandbox] = fields[..] else { panic!("{line:?}") };
        processes.groups.push(pid.parse().expect("a pid"));
        assert!(pwd.ends_with(&format!("/tasks/{id}")), "{pwd}");
        assert_eq!(pwd, sandbox, "MESOS_SANDBOX is the task's own sandbox");
        let out = Path::new(pwd).join("out");
        assert_eq!(std::fs::read_to_string(out).unwrap().trim(), id);
        let executor_sandbox = Path::new(pwd).parent().and_then(Path::parent).unwrap();
        assert!(executor_sandbox.join("stderr").exists(), "tasks/ is in the executor's sandbox");
    }

    // Killing one task kills the group (Mesos's default policy).
    let kill = KillTaskMessage {
        framework_id: framework(true).id.unwrap(),
        task_id: TaskId { value: "t1".into() },
        kill_policy: None,
    };
    node.send(master.pid(), &agent, kill);
    let mut terminal: BTreeMap<String, TaskState> = BTreeMap::new();
    while terminal.len() < 2 {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            terminal.insert(update.status.task_id.value.clone(), update.status.state());
        }
    }
    assert_eq!(terminal["t1"], TaskState::TaskKilled);
    assert_eq!(terminal["t2"], TaskState::TaskKilled, "the rest of the group is killed");
    // Every task terminal and acknowledged: the executor exits.
    loop {
        if let MasterEvent::ExitedExecutor(m) = next_event(&mut events).await {
            assert_eq!(m.executor_id.value, "default");
            break;
        }
    }
    node.shutdown().await;
}

/// The issue's proof: a two-task group runs under the default executor, every task
/// reports TASK_STARTING and TASK_RUNNING, each has its sandbox `tasks/<task_id>`;
/// killing one task kills the group, and the executor exits when all are terminal.
/// Mesos: default_executor_tests.cpp `KillTask` ("killing a task kills the group").
#[actix_rt::test]
async fn task_group_runs_under_the_default_executor() {
    run_group_and_kill_one("group", &[]).await;
}

/// The same with `--authenticate_http_executors`: the default executor subscribes and
/// sends its updates with its `MESOS_EXECUTOR_AUTHENTICATION_TOKEN` as a Bearer token.
#[actix_rt::test]
async fn task_group_runs_with_executor_authentication_on() {
    run_group_and_kill_one("group-jwt", &["--authenticate_http_executors"]).await;
}

/// With the operator API authenticated too (`--authenticate_http_readwrite`), the
/// default executor's LAUNCH/WAIT/KILL_NESTED_CONTAINER calls pass with its token
/// because `jwt` is named beside `basic` (`--http_authenticators=basic,jwt`, as Mesos
/// needs for its default executor).
#[actix_rt::test]
async fn task_group_runs_with_operator_api_authentication_on() {
    let flags = [
        "--authenticate_http_executors",
        "--authenticate_http_readwrite",
        "--http_authenticators=basic,jwt",
    ];
    run_group_and_kill_one("group-rw", &flags).await;
}

/// The whole path: a scheduler's ACCEPT with LAUNCH_GROUP reaches our real master (in
/// the test process), which validates the group and sends `RunTaskGroupMessage` to the
/// real agent, which starts the real default executor; both tasks report RUNNING to the
/// scheduler, and the scheduler's KILL of one ends both as TASK_KILLED.
#[actix_rt::test]
async fn launch_group_from_a_scheduler_through_the_master() {
    use mesos_master::launch::{MasterOptions, spawn_master};
    use mesos_proto::mesos::{FrameworkInfo, offer, scheduler};

    use super::scheduler::{Scheduler, command_task as offered_task};

    let dir = TempDir::new("group-master");
    let work_dir = dir.0.join("work");
    let node =
        Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("master node");
    let mut options = MasterOptions::with_id("0f0f0f0f-0000-4000-8000-000000000002");
    options.allocation_interval = std::time::Duration::from_millis(50);
    let master = spawn_master(&node, options).expect("master");
    let master_pid = master.master.pid().clone();
    let mut scheduler = Scheduler::start(master_pid.clone());
    let info = FrameworkInfo {
        user: "nobody".into(),
        name: "group-it".into(),
        checkpoint: Some(true),
        ..Default::default()
    };
    let framework_id = scheduler.subscribe(info).await;
    let mut processes = Processes::default();
    processes.agents.push(start_agent(&master_pid, &agent_listener(), &work_dir, &[]));

    let offer = scheduler.offer().await;
    let executor = default_executor(Some(framework_id.clone()));
    let tasks: Vec<_> = ["g1", "g2"]
        .iter()
        .map(|id| {
            let mut task = offered_task(id, &offer, "cpus:0.1;mem:32", "exec sleep 1000");
            task.executor = Some(executor.clone());
            task
        })
        .collect();
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Accept as i32),
        accept: Some(scheduler::call::Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![mesos_proto::mesos::offer::Operation {
                r#type: Some(offer::operation::Type::LaunchGroup as i32),
                launch_group: Some(offer::operation::LaunchGroup {
                    executor,
                    task_group: TaskGroupInfo { tasks },
                }),
                ..Default::default()
            }],
            filters: None,
        }),
        ..Default::default()
    });
    scheduler.wait_update("g1", TaskState::TaskRunning).await;
    scheduler.wait_update("g2", TaskState::TaskRunning).await;
    if let Some(executor) = super::processes::executor_pid(
        &work_dir,
        &offer.slave_id.value,
        &framework_id.value,
        "default",
    ) {
        processes.groups.push(executor);
    }
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Kill as i32),
        kill: Some(scheduler::call::Kill {
            task_id: TaskId { value: "g1".into() },
            ..Default::default()
        }),
        ..Default::default()
    });
    scheduler.wait_update("g1", TaskState::TaskKilled).await;
    scheduler.wait_update("g2", TaskState::TaskKilled).await;
    scheduler.shutdown().await;
    node.shutdown().await;
}

/// The default executor outlives `kill -9` of its agent: its event stream breaks, it
/// subscribes again (with its unacknowledged updates and tasks) once the restarted
/// agent listens, and a KILL sent afterwards still reaches it and kills the group.
/// Mesos: the v1 executor library's reconnection (`MesosProcess::disconnected`).
#[actix_rt::test]
async fn default_executor_resubscribes_after_agent_restart() {
    let dir = TempDir::new("group-restart");
    let work_dir = dir.0.join("work");
    let mut processes = Processes::default();
    let listener = agent_listener();
    let RegisteredAgent { node, master, mut events, agent } =
        registered_agent(&mut processes, &listener, &work_dir, &[]).await;
    let executor = default_executor(framework(true).id);
    let task = |id: &str| {
        let fifo = dir.0.join(format!("{id}.fifo"));
        make_fifo(&fifo);
        let mut task = command_task(id, &format!("echo $$ > {}; exec sleep 1000", fifo.display()));
        task.executor = Some(executor.clone());
        task.resources = Resources::parse("cpus:0.1;mem:32").unwrap().to_protos();
        task
    };
    let run = run_group(&executor, vec![task("r1"), task("r2")]);
    node.send(master.pid(), &agent, run);
    for id in ["r1", "r2"] {
        let pid = read_fifo(dir.0.join(format!("{id}.fifo"))).await;
        processes.groups.push(pid.trim().parse().expect("a pid"));
    }
    let mut running = 0;
    while running < 2 {
        if next_update(&mut events).await.status.state() == TaskState::TaskRunning {
            running += 1;
        }
    }
    if let Some(executor) =
        super::processes::executor_pid(&work_dir, AGENT_ID, "FW-0001", "default")
    {
        processes.groups.push(executor);
    }

    processes.kill_agent(0);
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &[]));
    let agent = loop {
        if let MasterEvent::Reregistered { from, message } = next_event(&mut events).await {
            let mut tasks: Vec<&str> =
                message.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
            tasks.sort();
            assert_eq!(tasks, ["r1", "r2"], "the group survived the restart");
            break from;
        }
    };
    let kill = KillTaskMessage {
        framework_id: framework(true).id.unwrap(),
        task_id: TaskId { value: "r2".into() },
        kill_policy: None,
    };
    node.send(master.pid(), &agent, kill);
    let mut terminal: BTreeMap<String, TaskState> = BTreeMap::new();
    while terminal.len() < 2 {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            terminal.insert(update.status.task_id.value.clone(), update.status.state());
        }
    }
    assert_eq!(terminal["r1"], TaskState::TaskKilled, "{terminal:?}");
    assert_eq!(terminal["r2"], TaskState::TaskKilled, "{terminal:?}");
    node.shutdown().await;
}

/// Writes a line into `fifo`, whose reader (a task) is waiting for it.
async fn release(fifo: std::path::PathBuf) {
    tokio::task::spawn_blocking(move || std::fs::write(fifo, "go\n").expect("write fifo"))
        .await
        .expect("writer");
}

/// The default executor's tasks are nested containers the agent takes back after a
/// restart: `live` keeps running through `kill -9` of the agent and its later exit (3)
/// is reported as TASK_FAILED, which kills the rest of its group (`sleeper`); `down`
/// ends while the agent is down and its exit, recorded by its launcher, is reported as
/// TASK_FINISHED once the executor waits again. Mesos: `DefaultExecutorTest.
/// ROOT_ContainerStatusForTask`-style recovery with `SlaveRecoveryTest` semantics.
#[actix_rt::test]
async fn group_tasks_survive_an_agent_restart_as_nested_containers() {
    let dir = TempDir::new("group-nested-restart");
    let work_dir = dir.0.join("work");
    let mut processes = Processes::default();
    let listener = agent_listener();
    let RegisteredAgent { node, master, mut events, agent } =
        registered_agent(&mut processes, &listener, &work_dir, &[]).await;
    let executor = default_executor(framework(true).id);
    let fifo = |name: &str| {
        let path = dir.0.join(format!("{name}.fifo"));
        make_fifo(&path);
        path
    };
    let (started, go, down, done) = (fifo("started"), fifo("go"), fifo("down"), fifo("done"));
    let task = |id: &str, command: String| group_task(id, &command, &executor);
    let tasks = vec![
        task(
            "live",
            format!("echo $$ > {}; cat {} > /dev/null; exit 3", started.display(), go.display()),
        ),
        task("down", format!("cat {} > /dev/null; echo bye > {}", down.display(), done.display())),
        task("sleeper", "exec sleep 1000".into()),
    ];
    let run = run_group(&executor, tasks);
    node.send(master.pid(), &agent, run);
    processes.groups.push(read_fifo(started).await.trim().parse().expect("a pid"));
    let mut running = 0;
    while running < 3 {
        if next_update(&mut events).await.status.state() == TaskState::TaskRunning {
            running += 1;
        }
    }
    if let Some(executor) =
        super::processes::executor_pid(&work_dir, AGENT_ID, "FW-0001", "default")
    {
        processes.groups.push(executor);
    }
    // Each task's sandbox is a link to its nested container's.
    let sandbox = super::processes::executor_sandbox(&work_dir, AGENT_ID, "FW-0001", "default");
    let link = std::fs::read_link(sandbox.join("tasks/live")).expect("tasks/live is a link");
    assert!(link.starts_with("../containers"), "{}", link.display());

    processes.kill_agent(0);
    release(down).await;
    assert_eq!(read_fifo(done).await.trim(), "bye", "`down` ended while the agent was down");
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &[]));
    let mut terminal: BTreeMap<String, TaskState> = BTreeMap::new();
    while !terminal.contains_key("down") {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            terminal.insert(update.status.task_id.value.clone(), update.status.state());
        }
    }
    assert_eq!(terminal["down"], TaskState::TaskFinished, "{terminal:?}");
    assert!(!terminal.contains_key("live"), "`live` still runs: {terminal:?}");
    release(go).await;
    while terminal.len() < 3 {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            terminal.insert(update.status.task_id.value.clone(), update.status.state());
        }
    }
    assert_eq!(terminal["live"], TaskState::TaskFailed, "its exit after the restart");
    assert_eq!(terminal["sleeper"], TaskState::TaskKilled, "the group goes with it");
    node.shutdown().await;
}
