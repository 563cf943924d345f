//! `--switch_user` with the real `mesos-agent` and `mesos-executor` against a fake
//! master: tasks run as their framework's (or command's) user when the agent is root.
//! (Mesos: `SlaveTest.ROOT_RunTaskWithCommandInfoWithUser`, `.ROOT_LaunchTaskInfoWithContainerInfo`
//! and the "Failed to chown directory" path of `paths::createExecutorDirectory`.)

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use libprocess::Node;
use mesos_proto::mesos::internal::{RunTaskMessage, StatusUpdate};
use mesos_proto::mesos::{TaskState, task_status};

use super::processes::{Processes, agent_listener, start_agent};
use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
};

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Runs `task` (of the `nobody` framework) under a real agent started with `flags`;
/// returns its terminal update and the task's sandbox.
async fn run(
    name: &str,
    task: mesos_proto::mesos::TaskInfo,
    flags: &[&str],
) -> (StatusUpdate, PathBuf, TempDir) {
    let dir = TempDir::new(name);
    let work_dir = dir.0.join("work");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    let listener = agent_listener();
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, flags));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };
    let task_id = task.task_id.value.clone();
    let run = RunTaskMessage { framework: framework(false), task, ..Default::default() };
    node.send(master.pid(), &agent, run);
    let terminal = loop {
        let update = next_update(&mut events).await;
        if update.status.state().is_terminal() {
            break update;
        }
    };
    let sandbox = work_dir
        .join(format!("slaves/{AGENT_ID}/frameworks/FW-0001/executors/{task_id}/runs/latest"));
    (terminal, sandbox, dir)
}

fn owner(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).uid()
}

fn uid_of(name: &str) -> u32 {
    nix::unistd::User::from_name(name).expect("passwd").expect("user").uid.as_raw()
}

/// As root, a task of a framework whose user is `nobody` runs as `nobody`: `id -un`
/// says so, and the file it writes in its sandbox (which is `nobody`'s) is
/// `nobody`'s.
#[actix_rt::test]
async fn task_runs_as_the_framework_user() {
    if !is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let task = command_task("as-nobody", "id -un > whoami && touch written");
    let (update, sandbox, _dir) = run("switch-user", task, &["--switch_user"]).await;
    assert_eq!(update.status.state(), TaskState::TaskFinished, "{:?}", update.status.message);
    let nobody = uid_of("nobody");
    assert_eq!(std::fs::read_to_string(sandbox.join("whoami")).expect("whoami").trim(), "nobody");
    assert_eq!(owner(&sandbox.join("written")), nobody);
    assert_eq!(owner(&sandbox), nobody, "the sandbox is the user's");
}

/// The command's `user` wins over the framework's; with `--switch_user=false` the
/// task runs as the agent's user.
#[actix_rt::test]
async fn command_user_wins_and_switch_user_false_keeps_the_agent_user() {
    if !is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let mut task = command_task("as-root", "touch written");
    task.command.as_mut().expect("command").user = Some("root".into());
    let (update, sandbox, _dir) = run("switch-user-command", task, &["--switch_user=true"]).await;
    assert_eq!(update.status.state(), TaskState::TaskFinished, "{:?}", update.status.message);
    assert_eq!(owner(&sandbox.join("written")), 0);

    let task = command_task("not-switched", "touch written");
    let (update, sandbox, _dir) = run("switch-user-off", task, &["--switch_user=false"]).await;
    assert_eq!(update.status.state(), TaskState::TaskFinished, "{:?}", update.status.message);
    assert_eq!(owner(&sandbox.join("written")), 0, "the agent's user");
}

/// A user that does not exist loses the task as Mesos's agent does (`Slave::__run`
/// when `Framework::addExecutor` cannot chown the sandbox: `TASK_LOST` for a framework
/// that is not partition-aware, `REASON_EXECUTOR_TERMINATED`, the chown error as the
/// message), and nothing runs.
#[actix_rt::test]
async fn unknown_user_loses_the_task() {
    if !is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let mut task = command_task("ghost", "touch written");
    task.command.as_mut().expect("command").user = Some("mesos-rs-no-such-user".into());
    let (update, sandbox, _dir) = run("switch-user-ghost", task, &["--switch_user"]).await;
    let status = update.status;
    assert_eq!(status.state(), TaskState::TaskLost);
    assert_eq!(status.reason(), task_status::Reason::ExecutorTerminated);
    assert_eq!(status.source(), task_status::Source::Slave);
    assert_eq!(
        status.message.as_deref(),
        Some(
            "Failed to chown directory to 'mesos-rs-no-such-user': No such user 'mesos-rs-no-such-user'"
        )
    );
    assert!(!sandbox.join("written").exists());
}
