//! Shared helpers: a fake master speaking the master side of the agent protocol,
//! temporary folders, and a guard that kills every OS process a test started.

use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Context, DecodeError, Pid, Process, ProcessRef};
use mesos_proto::mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, PongSlaveMessage, RegisterSlaveMessage,
    ReregisterSlaveMessage, RunTaskGroupMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos_proto::mesos::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, TaskGroupInfo,
    TaskId, TaskInfo, executor_info,
};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

libprocess::protocol! {
    /// What the fake master accepts.
    pub enum FakeMasterMessage {
        Register(RegisterSlaveMessage),
        Reregister(ReregisterSlaveMessage),
        Update(StatusUpdateMessage),
        Exited(ExitedExecutorMessage),
        Pong(PongSlaveMessage),
        FromExecutor(ExecutorToFrameworkMessage),
        /// Sent after every (re-)registration: the agent's operations (none here).
        AgentUpdate(mesos_proto::mesos::internal::UpdateSlaveMessage),
        OperationStatus(mesos_proto::mesos::internal::UpdateOperationStatusMessage),
    }
}

/// Something the fake master saw (every field is shown when a test fails).
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub enum MasterEvent {
    Registered {
        from: Pid,
    },
    Reregistered {
        from: Pid,
        message: ReregisterSlaveMessage,
    },
    Update {
        from: Pid,
        update: StatusUpdate,
    },
    ExitedExecutor(ExitedExecutorMessage),
    Pong,
    /// A framework message from an executor, with its data.
    FromExecutor(Vec<u8>),
    /// An operation status.
    OperationStatus(mesos_proto::mesos::internal::UpdateOperationStatusMessage),
}

/// The master side of the protocol: registers agents as `AGENT-S1`, acknowledges
/// every status update at once (as a framework that acks would), reports all.
pub struct FakeMaster {
    pub tx: mpsc::UnboundedSender<MasterEvent>,
    pub auto_ack: bool,
}

pub const AGENT_ID: &str = "AGENT-S1";

impl Process for FakeMaster {
    type Message = FakeMasterMessage;

    fn on_message(&mut self, from: Pid, message: FakeMasterMessage, ctx: &mut Context<'_, Self>) {
        let agent_id = SlaveId { value: AGENT_ID.into() };
        let event = match message {
            FakeMasterMessage::Register(_) => {
                ctx.send(&from, SlaveRegisteredMessage { slave_id: agent_id, connection: None });
                MasterEvent::Registered { from }
            }
            FakeMasterMessage::Reregister(message) => {
                ctx.send(
                    &from,
                    SlaveReregisteredMessage { slave_id: agent_id, ..Default::default() },
                );
                MasterEvent::Reregistered { from, message }
            }
            FakeMasterMessage::Update(message) => {
                let update = message.update;
                if self.auto_ack {
                    let ack = StatusUpdateAcknowledgementMessage {
                        slave_id: agent_id,
                        framework_id: update.framework_id.clone(),
                        task_id: update.status.task_id.clone(),
                        uuid: update.uuid.clone().unwrap_or_default(),
                    };
                    ctx.send(&from, ack);
                }
                MasterEvent::Update { from, update }
            }
            FakeMasterMessage::Exited(message) => MasterEvent::ExitedExecutor(message),
            FakeMasterMessage::Pong(_) => MasterEvent::Pong,
            FakeMasterMessage::FromExecutor(message) => MasterEvent::FromExecutor(message.data),
            // Mesos's agents send it after every (re-)registration; nothing to report.
            FakeMasterMessage::AgentUpdate(_) => return,
            FakeMasterMessage::OperationStatus(message) => MasterEvent::OperationStatus(message),
        };
        let _ = self.tx.send(event);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        panic!("fake master got an unexpected message from {from}: {error}");
    }
}

/// Spawns a fake master as `master` on `node`.
pub fn fake_master(
    node: &libprocess::Node,
    auto_ack: bool,
) -> (ProcessRef<FakeMaster>, mpsc::UnboundedReceiver<MasterEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (node.spawn("master", FakeMaster { tx, auto_ack }).expect("spawn fake master"), rx)
}

/// The next event, failing the test if none comes within 60 s (a guard against
/// hangs, not a wait).
pub async fn next_event(rx: &mut mpsc::UnboundedReceiver<MasterEvent>) -> MasterEvent {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("timed out waiting for the agent")
        .expect("fake master gone")
}

/// The next status update the master receives, skipping other events.
pub async fn next_update(rx: &mut mpsc::UnboundedReceiver<MasterEvent>) -> StatusUpdate {
    loop {
        if let MasterEvent::Update { update, .. } = next_event(rx).await {
            return update;
        }
    }
}

/// A checkpointing (or not) framework.
/// The `DEFAULT` executor (Mesos's default executor, no command of its own) of a task
/// group of the framework `framework_id`, with resources of its own.
pub fn default_executor(framework_id: Option<FrameworkId>) -> ExecutorInfo {
    ExecutorInfo {
        r#type: Some(executor_info::Type::Default as i32),
        executor_id: ExecutorId { value: "default".into() },
        framework_id,
        resources: Resources::parse("cpus:0.1;mem:32;disk:32").unwrap().to_protos(),
        ..Default::default()
    }
}

pub fn framework(checkpoint: bool) -> FrameworkInfo {
    FrameworkInfo {
        user: "nobody".into(),
        name: "test-framework".into(),
        id: Some(FrameworkId { value: "FW-0001".into() }),
        checkpoint: Some(checkpoint),
        ..FrameworkInfo::default()
    }
}

/// A command task of a group run by `executor` (0.1 cpus, 32 MB).
pub fn group_task(id: &str, command: &str, executor: &ExecutorInfo) -> TaskInfo {
    let mut task = command_task(id, command);
    task.executor = Some(executor.clone());
    task.resources = Resources::parse("cpus:0.1;mem:32").unwrap().to_protos();
    task
}

/// The master's order to run `tasks` as one group under `executor`, launching it, for
/// the checkpointing [`framework`].
pub fn run_group(executor: &ExecutorInfo, tasks: Vec<TaskInfo>) -> RunTaskGroupMessage {
    RunTaskGroupMessage {
        framework: framework(true),
        executor: executor.clone(),
        task_group: TaskGroupInfo { tasks },
        resource_version_uuids: Vec::new(),
        launch_executor: Some(true),
    }
}

/// A command task.
pub fn command_task(id: &str, command: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        slave_id: SlaveId { value: AGENT_ID.into() },
        command: Some(CommandInfo {
            value: Some(command.into()),
            shell: Some(true),
            ..CommandInfo::default()
        }),
        ..TaskInfo::default()
    }
}

/// A fresh folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("mesos-agent-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test failed; its files (agent logs, sandboxes) are kept in {}",
                self.0.display()
            );
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Awaits `future`, failing the test with `what` if it takes more than 60 s (a
/// guard against hangs, not a wait: simulated time does not pass meanwhile).
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(60), future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Parses Prometheus text with the reference Python client's parser (in the venv of
/// scripts/test-setup.sh); the families as JSON (`tests/clients/prometheus_parse.py`).
pub fn parse_prometheus(text: &str) -> serde_json::Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/client-venv/bin/python");
    assert!(python.exists(), "prometheus-client is installed by scripts/test-setup.sh");
    let mut child = Command::new(python)
        .arg(root.join("tests/clients/prometheus_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the parser");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write the text");
    let output = child.wait_with_output().expect("the parser ends");
    assert!(
        output.status.success(),
        "not Prometheus text: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the parser prints JSON")
}
