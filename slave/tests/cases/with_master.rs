//! The real `mesos-agent` binary with our real master (in the test process, on a TCP
//! node on loopback) and a small v0 scheduler: offers, launches, status updates and
//! acknowledgements across the whole path, and an agent restart in the middle.

use std::net::SocketAddr;
use std::path::Path;

use libprocess::{Match, Node};
use mesos_master::launch::{MasterOptions, spawn_master};
use mesos_proto::ids::{AgentId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::ReregisterSlaveMessage;
use mesos_proto::mesos::{FrameworkInfo, TaskState};

use super::processes::{
    Processes, agent_listener, alive, make_fifo, read_fifo, start_agent, write_fifo,
};
use super::scheduler::{Scheduler, command_task};
use super::support::TempDir;

const TASK_RESOURCES: &str = "cpus:0.1;mem:32";

fn sandbox(
    work_dir: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> std::path::PathBuf {
    work_dir.join(format!(
        "slaves/{agent_id}/frameworks/{framework_id}/executors/{executor_id}/runs/latest"
    ))
}

/// The real-process proof, with our master: the agent registers, an offer
/// arrives, `echo hello` runs and its TASK_FINISHED reaches the scheduler; then a
/// task blocked on a fifo survives `kill -9` of the agent (same OS pid), the master
/// sees the restarted agent re-register with that task, and the task's
/// TASK_FINISHED reaches the scheduler exactly once.
#[actix_rt::test]
async fn agent_runs_tasks_for_our_master_and_survives_restart() {
    let dir = TempDir::new("with-master");
    let work_dir = dir.0.join("work");
    let node =
        Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("master node");
    let mut options = MasterOptions::with_id("0f0f0f0f-0000-4000-8000-000000000001");
    options.allocation_interval = std::time::Duration::from_millis(50);
    let master = spawn_master(&node, options).expect("master");
    let master_pid = master.master.pid().clone();

    let mut scheduler = Scheduler::start(master_pid.clone());
    let info = FrameworkInfo {
        user: "nobody".into(),
        name: "agent-it".into(),
        checkpoint: Some(true),
        ..Default::default()
    };
    let framework_id = scheduler.subscribe(info).await;
    let mut processes = Processes::default();
    let listener = agent_listener();
    let port = listener.local_addr().expect("bound").port();
    processes.agents.push(start_agent(&master_pid, &listener, &work_dir, &[]));

    // 1. echo hello: RUNNING, FINISHED, output in the sandbox; the container's
    //    memory (the task's 32 MB + the command executor's 32 MB) is its data limit.
    let offer = scheduler.offer().await;
    let agent_id = offer.slave_id.value.clone();
    scheduler.launch(&offer, command_task("t1", &offer, TASK_RESOURCES, "echo hello; ulimit -d"));
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    let finished = scheduler.wait_update("t1", TaskState::TaskFinished).await;
    assert_eq!(finished.slave_id.as_ref().map(|id| id.value.as_str()), Some(agent_id.as_str()));
    let stdout = std::fs::read_to_string(
        sandbox(&work_dir, &agent_id, &framework_id.value, "t1").join("stdout"),
    )
    .expect("stdout");
    assert!(stdout.contains("hello"), "the task's output is in the sandbox: {stdout:?}");
    if !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert!(
            stdout.contains(&(64 * 1024).to_string()),
            "RLIMIT_DATA of 64 MB in KB: {stdout:?}"
        );
    }

    // 2. A task that waits on a fifo; the agent is killed while it runs.
    let (pid_fifo, go_fifo) = (dir.0.join("pid.fifo"), dir.0.join("go.fifo"));
    make_fifo(&pid_fifo);
    make_fifo(&go_fifo);
    let command =
        format!("echo $$ > {}; read x < {}; echo done", pid_fifo.display(), go_fifo.display());
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task("t2", &offer, TASK_RESOURCES, &command));
    let task_pid: i32 = read_fifo(pid_fifo).await.trim().parse().expect("task pid");
    processes.groups.push(task_pid);
    scheduler.wait_update("t2", TaskState::TaskRunning).await;
    let executor = super::processes::executor_pid(&work_dir, &agent_id, &framework_id.value, "t2")
        .expect("executor pid");
    processes.groups.push(executor);

    processes.kill_agent(0);
    assert!(alive(task_pid) && alive(executor), "the executor and its task outlive the agent");
    let reregistered = node.hooks().expect::<ReregisterSlaveMessage>(Match::any().to(&master_pid));
    processes.agents.push(start_agent(&master_pid, &listener, &work_dir, &[]));
    let reregistered = tokio::time::timeout(std::time::Duration::from_secs(60), reregistered)
        .await
        .expect("re-registration");
    let reported: Vec<&str> =
        reregistered.message.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
    assert_eq!(reported, ["t2"], "the agent re-registers with its running task");
    let (fid, aid) = (
        FrameworkId::from(&framework_id),
        AgentId::from(mesos_proto::mesos::SlaveId { value: agent_id.clone() }),
    );
    let on_master = master
        .master
        .dispatch(move |m, _| {
            let core = m.core();
            let agent_tasks =
                core.agent(&aid).and_then(|a| a.tasks.get(&fid).cloned()).unwrap_or_default();
            let port = core.agent(&aid).and_then(|a| a.info.port);
            let state = core
                .framework(&fid)
                .and_then(|f| f.tasks.get(&TaskId::from("t2".to_string())).map(|t| t.state()));
            (agent_tasks.contains(&TaskId::from("t2".to_string())), state, port)
        })
        .await
        .expect("master");
    let expected = (true, Some(TaskState::TaskRunning), Some(i32::from(port)));
    assert_eq!(
        on_master, expected,
        "the master knows the task (and the port) of the re-registered agent"
    );
    assert!(alive(task_pid), "the same OS process after the restart");

    // 3. Let it finish: TASK_FINISHED once.
    write_fifo(go_fifo).await;
    scheduler.wait_update("t2", TaskState::TaskFinished).await;
    // A third task flushes the path: the master sends its RunTaskMessage after the
    // acknowledgement of t2 on the same connection, and the agent forwards t3's
    // updates after anything it resent for t2, so a duplicate would be seen by now.
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task("t3", &offer, TASK_RESOURCES, "true"));
    scheduler.wait_update("t3", TaskState::TaskFinished).await;
    scheduler.drain();
    for task in ["t1", "t2", "t3"] {
        assert_eq!(
            scheduler.count(task, TaskState::TaskFinished),
            1,
            "{task}: TASK_FINISHED exactly once"
        );
    }
    assert!(!alive(task_pid), "the task is gone");
    scheduler.shutdown().await;
    node.shutdown().await;
}
