//! Ports of Mesos's `SlaveRecoveryTest` scenarios on the simulated network with a
//! paused clock: our master, our agent, our command executor (task "processes" in
//! memory), agent crashes as node deaths.

use std::time::Duration;

use libprocess::Match;
use mesos_agent::checkpoint::read_state;
use mesos_agent::paths::Paths;
use mesos_agent::updates::task_from_info;
use mesos_proto::mesos::internal::{
    RegisterExecutorMessage, ReregisterExecutorMessage, RunTaskMessage, ShutdownExecutorMessage,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage, UpdateFrameworkMessage,
    status_update_record,
};
use mesos_proto::mesos::{TaskInfo, TaskState, task_status};

use super::scheduler::{Scheduler, command_task};
use super::sim_cluster::{SimCluster, framework};
use super::support::within;

const TASK: &str = "cpus:1;mem:128";

async fn launch(scheduler: &mut Scheduler, id: &str) -> TaskInfo {
    let offer = scheduler.offer().await;
    let task = command_task(id, &offer, TASK, "sleep 1000");
    scheduler.launch(&offer, task.clone());
    task
}

/// `SlaveRecoveryTest.RecoverSlaveState`: after a task runs and its update is
/// acknowledged, the checkpoint holds the agent id, the framework and its pid, the
/// executor with its latest run and libprocess pid, the task as launched, and the
/// update with its acknowledgement.
#[actix_rt::test]
async fn slave_recovery_test_recover_slave_state() {
    let mut cluster = SimCluster::start("recover-state");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let agent_pid = cluster.agent_pid();
    let registered = cluster.hooks.expect::<RegisterExecutorMessage>(Match::any().to(&agent_pid));
    let forwarded =
        cluster.hooks.expect::<StatusUpdateMessage>(Match::any().to(&cluster.master_pid()));
    let acked =
        cluster.hooks.expect::<StatusUpdateAcknowledgementMessage>(Match::any().to(&agent_pid));
    let run = cluster.hooks.expect::<RunTaskMessage>(Match::any().to(&agent_pid));
    let task = launch(&mut scheduler, "t1").await;
    let launched = within("run", run).await.message.task;
    let executor_pid = within("registered", registered).await.from;
    let update = within("forwarded", forwarded).await.message.update;
    assert_eq!(update.status.state(), TaskState::TaskStarting, "the command executor's first");
    let ack = within("acked", acked).await.message;
    cluster.settle().await; // the agent has checkpointed the acknowledgement

    let state = read_state(&Paths::new(cluster.dir.0.join("work")))
        .expect("readable")
        .expect("a checkpoint");
    let agent_id = task.slave_id.clone();
    assert_eq!(state.info.id.as_ref(), Some(&agent_id));
    assert_eq!(state.frameworks.len(), 1);
    let recovered = &state.frameworks[0];
    let framework_id = scheduler.framework_id.clone().expect("subscribed");
    assert_eq!(recovered.info.id.as_ref(), Some(&framework_id));
    assert_eq!(recovered.pid.as_deref(), Some(scheduler.pid().to_string().as_str()));
    let executor = &recovered.executors[0];
    assert_eq!(executor.info.executor_id.value, "t1");
    assert_eq!(executor.libprocess_pid.as_ref(), Some(&executor_pid));
    assert!(!executor.completed);
    let recovered_task = &executor.tasks[0];
    assert_eq!(
        recovered_task.task,
        task_from_info(&launched, TaskState::TaskStaging, &framework_id)
    );
    let records = &recovered_task.records;
    assert_eq!(records[0].update.as_ref().and_then(|u| u.uuid.clone()), update.uuid);
    let acks: Vec<_> =
        records.iter().filter(|r| r.r#type == status_update_record::Type::Ack as i32).collect();
    assert_eq!(acks.len(), 2, "TASK_STARTING's and TASK_RUNNING's");
    assert_eq!(acks[0].uuid.as_deref(), Some(ack.uuid.as_slice()));
}

/// `SlaveRecoveryTest.ReconnectExecutor`: the executor's updates are lost with the
/// agent; the restarted agent asks the executor to reconnect, the executor
/// re-registers with its unacknowledged updates, and the scheduler receives them.
#[actix_rt::test]
async fn slave_recovery_test_reconnect_executor() {
    let mut cluster = SimCluster::start("reconnect");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let to_agent = || Match::any().to(&cluster.agent_pid());
    let dropped_starting = cluster.hooks.drop_next::<StatusUpdateMessage>(to_agent());
    let dropped_running = cluster.hooks.drop_next::<StatusUpdateMessage>(to_agent());
    launch(&mut scheduler, "t1").await;
    assert_eq!(
        within("dropped", dropped_starting).await.message.update.status.state(),
        TaskState::TaskStarting
    );
    assert_eq!(
        within("dropped", dropped_running).await.message.update.status.state(),
        TaskState::TaskRunning
    );

    cluster.crash_agent().await;
    let reregister =
        cluster.hooks.expect::<ReregisterExecutorMessage>(Match::any().to(&cluster.agent_pid()));
    cluster.start_agent().await;
    let reregister = within("reregister", reregister).await.message;
    assert_eq!(reregister.updates.len(), 2, "the executor resends its unacknowledged updates");
    assert_eq!(reregister.updates[0].status.task_id.value, "t1");
    assert_eq!(reregister.updates[0].status.state(), TaskState::TaskStarting);
    assert_eq!(reregister.updates[1].status.state(), TaskState::TaskRunning);

    // Recovery ends after the re-registration timeout; the agent re-registers and
    // forwards the recovered update.
    cluster.advance(Duration::from_secs(3)).await;
    let status = scheduler.wait_update("t1", TaskState::TaskRunning).await;
    assert_eq!(status.source(), task_status::Source::Executor);
    assert!(
        cluster.world.task_running(cluster.world.task("sleep 1000").expect("task")),
        "the task kept running"
    );
}

/// A command task that finishes while its checkpointing agent is down: the executor
/// keeps its TASK_FINISHED (the driver's `stop` waits for the agent to recover), hands
/// it over on the re-registration, and exits once the restarted agent acknowledges it;
/// the scheduler gets TASK_FINISHED, not TASK_LOST. (Mesos: exec.cpp keeps unacknowledged
/// updates for `reconnect`; launcher/executor.cpp waits for the terminal update's
/// acknowledgement before exiting.)
#[actix_rt::test]
async fn command_task_finishing_while_the_agent_is_down_reaches_the_scheduler() {
    let mut cluster = SimCluster::start("finish-while-down");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let acked = cluster
        .hooks
        .expect::<StatusUpdateAcknowledgementMessage>(Match::any().to(&cluster.agent_pid()));
    launch(&mut scheduler, "t1").await;
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    within("acked", acked).await;
    cluster.settle().await;
    let (container, _, _) = cluster.world.executors().remove(0);

    cluster.crash_agent().await;
    cluster.settle().await;
    cluster.world.exit(cluster.world.task("sleep 1000").expect("task"), 0);
    cluster.advance(Duration::from_secs(10)).await; // past the shutdown grace period
    assert!(cluster.world.executor(&container).is_some(), "waiting for the agent to recover");

    let reregister =
        cluster.hooks.expect::<ReregisterExecutorMessage>(Match::any().to(&cluster.agent_pid()));
    cluster.start_agent().await;
    let reregister = within("reregister", reregister).await.message;
    let [finished] = reregister.updates.as_slice() else { panic!("got {reregister:?}") };
    assert_eq!(finished.status.state(), TaskState::TaskFinished);
    cluster.advance(Duration::from_secs(3)).await;
    let status = scheduler.wait_update("t1", TaskState::TaskFinished).await;
    assert_eq!(status.message.as_deref(), Some("Command exited with status 0"));
    cluster.settle().await;
    assert_eq!(cluster.world.executor(&container), None, "the executor exited");
}

/// `SlaveRecoveryTest.RecoverTerminatedExecutor`: the executor is shut down while
/// the agent is down; the restarted agent finds it gone and, after the
/// re-registration timeout, reports its task `TASK_LOST` with
/// `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`.
#[actix_rt::test]
async fn slave_recovery_test_recover_terminated_executor() {
    let mut cluster = SimCluster::start("terminated");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let acked = cluster
        .hooks
        .expect::<StatusUpdateAcknowledgementMessage>(Match::any().to(&cluster.agent_pid()));
    launch(&mut scheduler, "t1").await;
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    within("acked", acked).await;
    cluster.settle().await;
    let (container, executor, _) = cluster.world.executors().remove(0);

    cluster.crash_agent().await;
    cluster.executor_node.send(&cluster.agent_pid(), &executor, ShutdownExecutorMessage::default());
    cluster.advance(Duration::from_secs(5)).await;
    assert_eq!(cluster.world.executor(&container), None, "the executor shut down");

    cluster.start_agent().await;
    cluster.advance(Duration::from_secs(3)).await;
    let lost = scheduler.wait_update("t1", TaskState::TaskLost).await;
    assert_eq!(lost.source(), task_status::Source::Slave);
    assert_eq!(lost.reason(), task_status::Reason::ExecutorReregistrationTimeout);
}

/// `SlaveRecoveryTest.NonCheckpointingFramework`: nothing of a framework without
/// checkpointing reaches the disk, not even after `UpdateFrameworkMessage`; and
/// (Mesos: exec.cpp `exited`) its executor kills the task and exits as soon as the
/// agent goes away.
#[actix_rt::test]
async fn slave_recovery_test_non_checkpointing_framework() {
    let mut cluster = SimCluster::start("non-checkpointing");
    let mut scheduler = cluster.agent_and_scheduler(framework(false)).await;
    let task = launch(&mut scheduler, "t1").await;
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    let framework_id = scheduler.framework_id.clone().expect("subscribed");
    let update = UpdateFrameworkMessage {
        framework_id: framework_id.clone(),
        pid: Some(String::new()),
        framework_info: Some(mesos_proto::mesos::FrameworkInfo {
            id: Some(framework_id.clone()),
            ..framework(false)
        }),
    };
    cluster.master_node.send(&cluster.master_pid(), &cluster.agent_pid(), update);
    cluster.settle().await;
    let meta = Paths::new(cluster.dir.0.join("work"))
        .framework_meta_dir(&task.slave_id.value, &framework_id.value);
    assert!(!meta.exists(), "{} must not exist", meta.display());

    let task_pid = cluster.world.task("sleep 1000").expect("task");
    let (container, _, _) = cluster.world.executors().remove(0);
    cluster.crash_agent().await;
    cluster.settle().await;
    assert_eq!(cluster.world.signals(task_pid), [mesos_agent::containerizer::Signal::Term]);
    assert!(!cluster.world.task_running(task_pid));
    assert_eq!(cluster.world.executor(&container), None, "the executor exited at once");
}
