//! Transcript tests of the agent core: a message script in, the expected outputs out,
//! with no actors, network, files, processes or clock.

use std::collections::HashSet;
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use mesos_proto::mesos::internal::{
    KillTaskMessage, RegisterExecutorMessage, RunTaskMessage, ShutdownFrameworkMessage,
    SlaveRegisteredMessage, StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
    StatusUpdateRecord, status_update_record,
};
use mesos_proto::mesos::{
    self, CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus, task_status,
};

use super::{AgentConfig, AgentCore, AgentState, CheckpointWrite, Outgoing, Output, Timer};
use crate::containerizer::{Signal, Termination};
use crate::paths::files;
use crate::state::ExecutorState;

pub(super) fn pid(text: &str) -> Pid {
    text.parse().unwrap()
}

pub(super) fn master() -> Pid {
    pid("master@10.0.0.1:5050")
}

pub(super) fn executor_pid() -> Pid {
    pid("executor(1)@10.0.0.2:40000")
}

pub(super) fn now() -> Time {
    Time::from_epoch(Duration::from_secs(1000))
}

pub(super) fn fw() -> FrameworkId {
    FrameworkId::new("fw")
}

fn config() -> AgentConfig {
    AgentConfig {
        launcher_dir: "/opt/mesos".into(),
        seed: 7,
        ..AgentConfig::new(vec![master()], "/work")
    }
}

/// A core with its pid, not yet recovered.
pub(super) fn new_core() -> AgentCore {
    let mut core = AgentCore::new(config());
    core.set_pid(pid("slave(1)@10.0.0.2:5051"));
    core
}

fn registration_epoch(outputs: &[Output]) -> u64 {
    outputs
        .iter()
        .find_map(|o| match o {
            Output::Timer { timer: Timer::Registration { epoch }, .. } => Some(*epoch),
            _ => None,
        })
        .expect("a registration timer")
}

/// A new agent registered with the master as `S1`.
pub(super) fn running_core() -> AgentCore {
    let mut core = new_core();
    core.recover(None, &HashSet::new(), now());
    let epoch = registration_epoch(&core.drain_outputs());
    core.on_timer(Timer::Registration { epoch }, now());
    let outputs = core.drain_outputs();
    assert!(outputs.iter().any(|o| matches!(o,
        Output::Send { to, message: Outgoing::RegisterSlave(_) } if *to == master())));
    let registered = SlaveRegisteredMessage {
        slave_id: mesos::SlaveId { value: "S1".into() },
        ..Default::default()
    };
    core.on_slave_registered(&master(), registered, now());
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[0], Output::Checkpoint(CheckpointWrite::AgentInfo(_))));
    assert_eq!(core.state(), AgentState::Running);
    core
}

pub(super) fn framework_info() -> FrameworkInfo {
    FrameworkInfo {
        user: "u".into(),
        name: "f".into(),
        id: Some(fw().into()),
        checkpoint: Some(true),
        ..Default::default()
    }
}

pub(super) fn command_task(id: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId::new(id).into(),
        command: Some(CommandInfo { value: Some("sleep 100".into()), ..Default::default() }),
        ..Default::default()
    }
}

pub(super) fn run_task(task: TaskInfo) -> RunTaskMessage {
    RunTaskMessage {
        framework: framework_info(),
        task,
        pid: Some("scheduler(1)@10.0.0.3:6000".into()),
        ..Default::default()
    }
}

/// The container id of the only launch among `outputs`.
fn launched_container(outputs: &[Output]) -> ContainerId {
    let launches: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Launch(request) => Some(request.container_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(launches.len(), 1, "{outputs:?}");
    launches[0].clone()
}

/// Runs command task `t1`, launches its executor (OS pid 4242) and returns the
/// container id; the outputs are consumed.
fn launch_t1(core: &mut AgentCore) -> ContainerId {
    core.on_run_task(&master(), run_task(command_task("t1")), now());
    let container_id = launched_container(&core.drain_outputs());
    core.on_launched(&container_id, Ok(Some(4242)), now());
    core.drain_outputs();
    container_id
}

/// `launch_t1`, then the executor registers and gets `t1`.
pub(super) fn running_t1(core: &mut AgentCore) -> ContainerId {
    let container_id = launch_t1(core);
    let register = RegisterExecutorMessage {
        framework_id: fw().into(),
        executor_id: ExecutorId::new("t1").into(),
    };
    core.on_register_executor(&executor_pid(), register);
    core.drain_outputs();
    container_id
}

/// Every status update the agent wrote to a task's stream, with the outputs that
/// wait for the write.
pub(super) fn update_writes(outputs: &[Output]) -> Vec<(TaskStatus, Vec<Output>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::CheckpointUpdates {
                write: CheckpointWrite::TaskUpdates { records, .. },
                then,
            } => {
                let update = records.last()?.update.as_ref()?;
                Some((update.status.clone(), then.clone()))
            }
            _ => None,
        })
        .collect()
}

fn sent_to_master(outputs: &[Output]) -> Vec<&Outgoing> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message } if *to == master() => Some(message),
            _ => None,
        })
        .collect()
}

/// RunTaskMessage for a command task -> the framework, executor and task are
/// checkpointed and the generated command executor is launched in its sandbox with
/// Mesos's environment; once launched, its OS pid is checkpointed and its
/// registration deadline set. Nothing is sent to the executor yet.
#[test]
fn run_task_launches_the_command_executor() {
    let mut core = running_core();
    core.on_run_task(&master(), run_task(command_task("t1")), now());
    let outputs = core.drain_outputs();
    assert_eq!(outputs.len(), 5, "{outputs:?}");
    assert!(matches!(&outputs[0], Output::Checkpoint(CheckpointWrite::Framework { .. })));
    // Mesos: Slave::run unschedules a returning framework's and executor's folders.
    assert!(matches!(&outputs[4], Output::Unschedule(paths) if paths.len() == 4));
    assert!(matches!(&outputs[1],
        Output::Checkpoint(CheckpointWrite::Executor { info, .. }) if info.executor_id.value == "t1"));
    assert!(matches!(&outputs[2],
        Output::Checkpoint(CheckpointWrite::Task { task, .. })
            if task.state == TaskState::TaskStaging as i32));
    let Output::Launch(request) = &outputs[3] else { panic!("{outputs:?}") };
    assert_eq!(request.command.value.as_deref(), Some("/opt/mesos/mesos-executor"));
    assert_eq!(request.env["MESOS_FRAMEWORK_ID"], "fw");
    assert_eq!(request.env["MESOS_EXECUTOR_ID"], "t1");
    assert_eq!(request.env["MESOS_SLAVE_ID"], "S1");
    assert_eq!(request.env["MESOS_CHECKPOINT"], "1");
    assert_eq!(request.env["MESOS_SLAVE_PID"], "slave(1)@10.0.0.2:5051");
    let sandbox =
        format!("/work/slaves/S1/frameworks/fw/executors/t1/runs/{}", request.container_id.value());
    assert_eq!(request.sandbox, std::path::PathBuf::from(sandbox));
    let executor = &core.frameworks()[&fw()].executors[&ExecutorId::new("t1")];
    assert_eq!(executor.state, ExecutorState::Registering);
    assert!(executor.queued_tasks.contains_key(&TaskId::new("t1")));

    let container_id = request.container_id.clone();
    core.on_launched(&container_id, Ok(Some(4242)), now());
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[0],
        Output::Checkpoint(CheckpointWrite::RunFile { name, text, .. })
            if *name == files::FORKED_PID && text == "4242"));
    assert!(matches!(&outputs[1],
        Output::Timer { after, timer: Timer::ExecutorRegistration { .. } }
            if *after == Duration::from_secs(60)));
    assert_eq!(outputs.len(), 2);
}

/// A second task for an executor still registering is queued (checkpointed, nothing
/// launched); RegisterExecutorMessage -> its pid is checkpointed, it is linked and
/// told it is registered, then every queued task is checkpointed as launched and
/// sent to it.
#[test]
fn executor_registration_sends_queued_tasks() {
    let mut core = running_core();
    let framework = framework_info();
    let executor = ExecutorInfo {
        executor_id: ExecutorId::new("e").into(),
        framework_id: framework.id.clone(),
        command: Some(CommandInfo { value: Some("./my-executor".into()), ..Default::default() }),
        ..Default::default()
    };
    let task =
        |id: &str| TaskInfo { executor: Some(executor.clone()), command: None, ..command_task(id) };
    core.on_run_task(&master(), run_task(task("t1")), now());
    launched_container(&core.drain_outputs());
    core.on_run_task(&master(), run_task(task("t2")), now());
    let outputs = core.drain_outputs();
    assert!(outputs.iter().all(|o| !matches!(o, Output::Launch(_) | Output::Send { .. })));
    assert!(outputs.iter().any(|o| matches!(o, Output::Checkpoint(CheckpointWrite::Task { .. }))));

    let register = RegisterExecutorMessage {
        framework_id: fw().into(),
        executor_id: ExecutorId::new("e").into(),
    };
    core.on_register_executor(&executor_pid(), register);
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[0],
        Output::Checkpoint(CheckpointWrite::RunFile { name, text, .. })
            if *name == files::LIBPROCESS_PID && *text == executor_pid().to_string()));
    assert!(matches!(&outputs[1], Output::Link(p) if *p == executor_pid()));
    assert!(matches!(&outputs[2],
        Output::Send { to, message: Outgoing::ExecutorRegistered(m) }
            if *to == executor_pid() && m.slave_id.value == "S1"));
    let sent: Vec<&str> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::RunTask(m) } if *to == executor_pid() => {
                Some(m.task.task_id.value.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(sent, ["t1", "t2"]);
    let executor = &core.frameworks()[&fw()].executors[&ExecutorId::new("e")];
    assert_eq!(executor.state, ExecutorState::Running);
    assert!(executor.queued_tasks.is_empty());
    assert_eq!(executor.launched_tasks.len(), 2);

    // A second registration of the same executor is refused.
    let again = RegisterExecutorMessage {
        framework_id: fw().into(),
        executor_id: ExecutorId::new("e").into(),
    };
    core.on_register_executor(&executor_pid(), again);
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[..], [Output::Send { message: Outgoing::ShutdownExecutor(_), .. }]));
}

pub(super) fn executor_update(task: &str, state: TaskState, uuid: u8) -> StatusUpdateMessage {
    let uuid = vec![uuid; 16];
    let update = StatusUpdate {
        framework_id: fw().into(),
        executor_id: Some(ExecutorId::new(task).into()),
        slave_id: Some(mesos::SlaveId { value: "S1".into() }),
        status: TaskStatus {
            task_id: TaskId::new(task).into(),
            state: state as i32,
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp: 1000.0,
        uuid: Some(uuid),
        latest_state: None,
    };
    StatusUpdateMessage { update, pid: Some(executor_pid().to_string()) }
}

/// StatusUpdateMessage from the executor -> the task's stream is written first, and
/// only once it is on disk is the executor acknowledged and the update forwarded to
/// the master (with the agent's pid) and its resend armed. A second update waits
/// for the first's acknowledgement; the acknowledgement is checkpointed and lets the
/// second go. A duplicate is acknowledged again but not forwarded.
#[test]
fn status_update_is_checkpointed_then_acknowledged_and_forwarded() {
    let mut core = running_core();
    running_t1(&mut core);
    core.on_status_update(&executor_pid(), executor_update("t1", TaskState::TaskRunning, 1), now());
    let outputs = core.drain_outputs();
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    let Output::CheckpointUpdates {
        write: CheckpointWrite::TaskUpdates { task_id, records, .. },
        then,
    } = &outputs[0]
    else {
        panic!("{outputs:?}")
    };
    assert_eq!(*task_id, TaskId::new("t1"));
    assert_eq!(records.len(), 1);
    assert!(matches!(&then[0],
        Output::Send { to, message: Outgoing::StatusUpdateAcknowledgement(ack) }
            if *to == executor_pid() && ack.uuid == vec![1; 16]));
    assert!(matches!(&then[1],
        Output::Timer { after, timer: Timer::StatusUpdateRetry } if *after == Duration::from_secs(10)));
    assert!(matches!(&then[2],
        Output::Send { to, message: Outgoing::StatusUpdate(m) }
            if *to == master() && m.pid.as_deref() == Some("slave(1)@10.0.0.2:5051")
                && m.update.status.state == TaskState::TaskRunning as i32));
    let task = &core.frameworks()[&fw()].executors[&ExecutorId::new("t1")].launched_tasks
        [&TaskId::new("t1")];
    assert_eq!(task.state, TaskState::TaskRunning as i32);

    core.on_status_update(
        &executor_pid(),
        executor_update("t1", TaskState::TaskFinished, 2),
        now(),
    );
    let outputs = core.drain_outputs();
    let writes = update_writes(&outputs);
    assert_eq!(writes.len(), 1);
    assert!(sent_to_master(&writes[0].1).is_empty(), "waits for the first acknowledgement");

    core.on_status_update(&executor_pid(), executor_update("t1", TaskState::TaskRunning, 1), now());
    let outputs = core.drain_outputs();
    assert!(update_writes(&outputs).is_empty(), "a duplicate is not written");
    assert!(
        matches!(
            &outputs[..],
            [Output::Send { message: Outgoing::StatusUpdateAcknowledgement(_), .. }]
        ),
        "{outputs:?}"
    );

    let ack = StatusUpdateAcknowledgementMessage {
        slave_id: mesos::SlaveId { value: "S1".into() },
        framework_id: fw().into(),
        task_id: TaskId::new("t1").into(),
        uuid: vec![1; 16],
    };
    core.on_status_update_acknowledgement(&master(), ack, now());
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[0],
        Output::Checkpoint(CheckpointWrite::TaskUpdates { records, .. }) if records.len() == 3));
    let forwarded = sent_to_master(&outputs);
    assert!(matches!(forwarded[..],
        [Outgoing::StatusUpdate(m)] if m.update.status.state == TaskState::TaskFinished as i32));
}

pub(super) fn update_record(task: &str, state: TaskState, uuid: u8) -> StatusUpdateRecord {
    StatusUpdateRecord {
        r#type: status_update_record::Type::Update as i32,
        update: Some(executor_update(task, state, uuid).update),
        uuid: None,
    }
}

/// An executor process exits with tasks unfinished -> the exit is checkpointed (the
/// sentinel) and each unfinished task gets TASK_FAILED (REASON_EXECUTOR_TERMINATED)
/// with the exit as its message, forwarded to the master; a non-command executor is
/// also reported with ExitedExecutorMessage.
#[test]
fn executor_exit_fails_unfinished_tasks() {
    let mut core = running_core();
    let executor = ExecutorInfo {
        executor_id: ExecutorId::new("e").into(),
        framework_id: Some(fw().into()),
        command: Some(CommandInfo { value: Some("./my-executor".into()), ..Default::default() }),
        ..Default::default()
    };
    let task = TaskInfo { executor: Some(executor), command: None, ..command_task("t1") };
    core.on_run_task(&master(), run_task(task), now());
    let container_id = launched_container(&core.drain_outputs());
    core.on_launched(&container_id, Ok(Some(4242)), now());
    let register = RegisterExecutorMessage {
        framework_id: fw().into(),
        executor_id: ExecutorId::new("e").into(),
    };
    core.on_register_executor(&executor_pid(), register);
    core.drain_outputs();

    let termination = Termination {
        container_id,
        status: Some(256),
        message: "Executor exited with status 1".into(),
    };
    core.on_container_terminated(termination, now());
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[0],
        Output::Checkpoint(CheckpointWrite::RunFile { name, .. }) if *name == files::SENTINEL));
    let failed = update_writes(&outputs);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0.state, TaskState::TaskFailed as i32);
    assert_eq!(failed[0].0.reason, Some(task_status::Reason::ExecutorTerminated as i32));
    assert_eq!(failed[0].0.message.as_deref(), Some("Executor exited with status 1"));
    assert!(matches!(sent_to_master(&failed[0].1)[..], [Outgoing::StatusUpdate(_)]));
    assert!(matches!(sent_to_master(&outputs)[..],
        [Outgoing::ExitedExecutor(m)] if m.status == 256 && m.executor_id.value == "e"));
    let executor = &core.frameworks()[&fw()].executors[&ExecutorId::new("e")];
    assert_eq!(executor.state, ExecutorState::Terminated, "kept until the update is acknowledged");
}

/// KillTaskMessage for a task whose executor has not registered -> TASK_KILLED
/// (REASON_TASK_KILLED_DURING_LAUNCH) from the agent, and the executor, now idle, is
/// killed: SIGTERM now, SIGKILL after the grace period. A kill of an unknown task
/// answers TASK_LOST.
#[test]
fn kill_task_before_the_executor_registers() {
    let mut core = running_core();
    let container_id = launch_t1(&mut core);
    let kill = KillTaskMessage {
        framework_id: fw().into(),
        task_id: TaskId::new("t1").into(),
        kill_policy: None,
    };
    core.on_kill_task(&master(), kill, now());
    let outputs = core.drain_outputs();
    let killed = update_writes(&outputs);
    assert_eq!(killed.len(), 1, "{outputs:?}");
    assert_eq!(killed[0].0.state, TaskState::TaskKilled as i32);
    assert_eq!(killed[0].0.reason, Some(task_status::Reason::TaskKilledDuringLaunch as i32));
    assert!(outputs.iter().any(|o| matches!(o,
        Output::Signal { container_id: c, signal: Signal::Term } if *c == container_id)));
    assert!(outputs.iter().any(|o| matches!(o,
        Output::Timer { after, timer: Timer::KillGrace { .. } } if *after == Duration::from_secs(5))));
    let executor = &core.frameworks()[&fw()].executors[&ExecutorId::new("t1")];
    assert_eq!(executor.state, ExecutorState::Terminating);

    core.on_timer(Timer::KillGrace { container_id: container_id.clone() }, now());
    assert!(matches!(&core.drain_outputs()[..], [Output::Signal { signal: Signal::Kill, .. }]));

    let unknown = KillTaskMessage {
        framework_id: fw().into(),
        task_id: TaskId::new("nope").into(),
        kill_policy: None,
    };
    core.on_kill_task(&master(), unknown, now());
    let lost = update_writes(&core.drain_outputs());
    assert!(lost.is_empty(), "an unknown task has no run to checkpoint under");
    assert_eq!(core.stats().tasks_lost, 1);
}

/// ShutdownFrameworkMessage -> each executor is told to shut down and killed after
/// the grace period; when it exits no update is generated for its tasks and the
/// framework moves to the completed ones.
#[test]
fn framework_shutdown_kills_executors_without_updates() {
    let mut core = running_core();
    let container_id = running_t1(&mut core);
    core.on_shutdown_framework(&master(), ShutdownFrameworkMessage { framework_id: fw().into() });
    let outputs = core.drain_outputs();
    assert!(
        matches!(&outputs[..], [
        Output::Send { to, message: Outgoing::ShutdownExecutor(_) },
        Output::Timer { timer: Timer::ShutdownGrace { .. }, .. },
    ] if *to == executor_pid()),
        "{outputs:?}"
    );

    core.on_timer(Timer::ShutdownGrace { container_id: container_id.clone() }, now());
    assert!(matches!(
        &core.drain_outputs()[..],
        [
            Output::Signal { signal: Signal::Term, .. },
            Output::Timer { timer: Timer::KillGrace { .. }, .. },
        ]
    ));

    let termination = Termination { container_id, status: Some(9), message: "killed".into() };
    core.on_container_terminated(termination, now());
    let outputs = core.drain_outputs();
    assert!(update_writes(&outputs).is_empty(), "{outputs:?}");
    assert!(sent_to_master(&outputs).is_empty(), "a command executor is not reported");
    assert!(core.frameworks().is_empty());
    assert_eq!(core.completed_frameworks().len(), 1);
}

/// Messages from a process that is not the master change nothing.
#[test]
fn messages_from_strangers_are_ignored() {
    let mut core = running_core();
    let stranger = pid("master@10.9.9.9:5050");
    core.on_run_task(&stranger, run_task(command_task("t1")), now());
    core.on_shutdown_framework(&stranger, ShutdownFrameworkMessage { framework_id: fw().into() });
    assert!(core.drain_outputs().is_empty());
    assert!(core.frameworks().is_empty());
}

/// A launch that fails -> the task fails at once with REASON_CONTAINER_LAUNCH_FAILED
/// and the containerizer's error, and no registration deadline is set.
#[test]
fn failed_launch_fails_the_task() {
    let mut core = running_core();
    core.on_run_task(&master(), run_task(command_task("t1")), now());
    let container_id = launched_container(&core.drain_outputs());
    core.on_launched(&container_id, Err("no such file".into()), now());
    let outputs = core.drain_outputs();
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::Timer { timer: Timer::ExecutorRegistration { .. }, .. }))
    );
    let failed = update_writes(&outputs);
    assert_eq!(failed.len(), 1, "{outputs:?}");
    assert_eq!(failed[0].0.state, TaskState::TaskFailed as i32);
    assert_eq!(failed[0].0.reason, Some(task_status::Reason::ContainerLaunchFailed as i32));
    assert!(failed[0].0.message.as_deref().is_some_and(|m| m.contains("no such file")));
}

/// An executor whose user does not exist (Mesos: `Framework::addExecutor` fails to
/// chown the sandbox) -> its task is lost (the framework is not partition-aware) with
/// REASON_EXECUTOR_TERMINATED and exactly the error, as Mesos's `sendTaskDroppedUpdate`.
#[test]
fn executor_without_its_user_loses_the_task() {
    let mut core = running_core();
    core.on_run_task(&master(), run_task(command_task("t1")), now());
    let container_id = launched_container(&core.drain_outputs());
    let error = "Failed to chown directory to 'ghost': No such user 'ghost'";
    core.on_executor_not_added(&container_id, error.into(), now());
    let outputs = core.drain_outputs();
    let lost = update_writes(&outputs);
    assert_eq!(lost.len(), 1, "{outputs:?}");
    assert_eq!(lost[0].0.state, TaskState::TaskLost as i32);
    assert_eq!(lost[0].0.reason, Some(task_status::Reason::ExecutorTerminated as i32));
    assert_eq!(lost[0].0.message.as_deref(), Some(error));
}

/// Each ping re-arms the ping timeout; only the latest arming counts, so an earlier
/// timer firing after a later ping changes nothing, while the latest one makes the
/// agent re-register (Mesos: SlaveTest.PingTimeoutNoPings in spirit).
#[test]
fn ping_timeout_counts_only_the_latest_ping() {
    let mut core = running_core();
    let ping = || mesos_proto::mesos::internal::PingSlaveMessage { connected: true };
    let ping_timer = |outputs: &[Output]| {
        outputs
            .iter()
            .find_map(|o| match o {
                Output::Timer { after, timer: t @ Timer::PingTimeout { .. } } => {
                    Some((*after, t.clone()))
                }
                _ => None,
            })
            .expect("a ping timer")
    };
    core.on_ping_slave(&master(), ping());
    let (after, first) = ping_timer(&core.drain_outputs());
    assert_eq!(after, Duration::from_secs(75));
    core.on_ping_slave(&master(), ping());
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[0], Output::Send { message: Outgoing::PongSlave(_), .. }));
    let (_, latest) = ping_timer(&outputs);
    core.on_timer(first, now());
    assert!(core.drain_outputs().is_empty());
    assert_eq!(core.state(), AgentState::Running);
    core.on_timer(latest, now());
    assert_eq!(core.state(), AgentState::Disconnected);
    registration_epoch(&core.drain_outputs());
}

/// A task killed while its executor's URIs are fetched: TASK_KILLED at once, the core
/// no longer awaits the launch (so the actor does not start the executor after the
/// fetch), and the failed launch the actor then reports sends no second update and
/// removes the executor.
#[test]
fn kill_during_fetch_then_no_launch() {
    let mut core = running_core();
    core.on_run_task(&master(), run_task(command_task("t1")), now());
    let container_id = launched_container(&core.drain_outputs());
    assert!(core.awaits_launch(&container_id), "fetching: the launch is awaited");
    let kill = KillTaskMessage {
        framework_id: fw().into(),
        task_id: TaskId::new("t1").into(),
        kill_policy: None,
    };
    core.on_kill_task(&master(), kill, now());
    let killed = update_writes(&core.drain_outputs());
    assert_eq!(killed[0].0.state, TaskState::TaskKilled as i32);
    assert!(!core.awaits_launch(&container_id), "shut down while fetching");
    core.on_launched(&container_id, Err("the fetch was cancelled".into()), now());
    assert!(update_writes(&core.drain_outputs()).is_empty(), "no second update");
    assert!(core.frameworks().get(&fw()).is_none_or(|f| f.executors.is_empty()));
}
