//! Killing tasks and retrying status updates, on the simulated network with a paused
//! clock (ports of `SlaveTest` / `SlaveRecoveryTest` kill scenarios and of
//! `TaskStatusUpdateManagerTest.RetryStatusUpdate` with the whole agent).

use std::time::Duration;

use libprocess::Match;
use mesos_agent::containerizer::Signal;
use mesos_proto::mesos::internal::{RegisterExecutorMessage, StatusUpdateAcknowledgementMessage};
use mesos_proto::mesos::{
    self, CommandInfo, DurationInfo, ExecutorInfo, KillPolicy, TaskState, scheduler, task_status,
};

use super::scheduler::{SchedMsg, Scheduler, command_task};
use super::sim_cluster::{SimCluster, framework};
use super::support::within;

const TASK: &str = "cpus:1;mem:128";

fn kill(task_id: &str, grace: Option<Duration>) -> scheduler::Call {
    let kill_policy = grace.map(|g| KillPolicy {
        grace_period: Some(DurationInfo { nanoseconds: g.as_nanos() as i64 }),
    });
    scheduler::Call {
        r#type: Some(scheduler::call::Type::Kill as i32),
        kill: Some(scheduler::call::Kill {
            task_id: mesos::TaskId { value: task_id.into() },
            slave_id: None,
            kill_policy,
        }),
        ..Default::default()
    }
}

async fn launch_command(scheduler: &mut Scheduler, id: &str) {
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task(id, &offer, TASK, "sleep 1000"));
    scheduler.wait_update(id, TaskState::TaskRunning).await;
}

/// `SlaveRecoveryTest.KillTask`: a task that kept running through an agent restart
/// is killed through the restarted agent: the executor SIGTERMs it and reports
/// `TASK_KILLED`.
#[actix_rt::test]
async fn slave_recovery_test_kill_task() {
    let mut cluster = SimCluster::start("kill-after-restart");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    launch_command(&mut scheduler, "t1").await;
    cluster.settle().await;
    cluster.crash_agent().await;
    cluster.start_agent().await;
    cluster.advance(Duration::from_secs(3)).await; // re-registration timeout, then re-registered

    scheduler.call(kill("t1", None));
    let killed = scheduler.wait_update("t1", TaskState::TaskKilled).await;
    assert_eq!(killed.source(), task_status::Source::Executor);
    let task = cluster.world.task("sleep 1000").expect("task");
    assert_eq!(cluster.world.signals(task), [Signal::Term]);
    assert!(!cluster.world.task_running(task));
}

/// `SlaveTest.KillQueuedTaskDuringExecutorRegistration`: a task killed while its
/// executor has not registered yet is `TASK_KILLED` with
/// `REASON_TASK_KILLED_DURING_LAUNCH`; the executor, registering late, is shut down
/// and the scheduler learns the executor is lost.
#[actix_rt::test]
async fn slave_test_kill_queued_task_during_executor_registration() {
    let mut cluster = SimCluster::start("kill-queued");
    let mut scheduler = cluster.agent_and_scheduler(framework(false)).await;
    let register =
        cluster.hooks.drop_next::<RegisterExecutorMessage>(Match::any().to(&cluster.agent_pid()));
    let offer = scheduler.offer().await;
    let mut task = command_task("1", &offer, TASK, "unused");
    task.command = None;
    task.executor = Some(ExecutorInfo {
        executor_id: mesos::ExecutorId { value: "default".into() },
        command: Some(CommandInfo { value: Some("exit 1".into()), ..Default::default() }),
        ..Default::default()
    });
    scheduler.launch(&offer, task);
    let register = within("RegisterExecutorMessage", register).await;

    scheduler.call(kill("1", None));
    let killed = scheduler.wait_update("1", TaskState::TaskKilled).await;
    assert_eq!(killed.reason(), task_status::Reason::TaskKilledDuringLaunch);

    // The executor registers after all (its message was only delayed).
    cluster.executor_node.send(&register.from, &register.to, register.message);
    cluster.advance(Duration::from_secs(5)).await;
    let lost = loop {
        if let SchedMsg::ExitedExecutor(m) = scheduler.step().await {
            break m;
        }
    };
    assert_eq!(lost.executor_id.value, "default");
    assert!(cluster.world.executors().iter().all(|(_, _, alive)| !alive), "no executor left");
}

/// The command executor's kill (Mesos: launcher/executor.cpp `kill`): SIGTERM to
/// the task, SIGKILL only after the kill policy's grace period, then `TASK_KILLED`
/// from the executor itself; the agent never has to signal the container, and the
/// executor exits once its update is acknowledged.
#[actix_rt::test]
async fn command_executor_kill_escalates_after_grace_period() {
    let mut cluster = SimCluster::start("kill-grace");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    cluster.world.ignore_term(true);
    launch_command(&mut scheduler, "t1").await;
    let task = cluster.world.task("sleep 1000").expect("task");

    scheduler.call(kill("t1", Some(Duration::from_secs(7))));
    cluster.settle().await;
    assert_eq!(cluster.world.signals(task), [Signal::Term]);
    cluster.advance(Duration::from_millis(6900)).await;
    assert!(cluster.world.task_running(task), "SIGTERM is ignored; still inside the grace period");
    assert_eq!(cluster.world.signals(task), [Signal::Term]);
    cluster.advance(Duration::from_millis(200)).await;
    assert_eq!(cluster.world.signals(task), [Signal::Term, Signal::Kill]);
    let killed = scheduler.wait_update("t1", TaskState::TaskKilled).await;
    assert_eq!(killed.source(), task_status::Source::Executor);

    cluster.advance(Duration::from_secs(2)).await; // the agent reaps the exited executor
    assert!(cluster.world.executors().iter().all(|(_, _, alive)| !alive), "the executor exited");
    scheduler.drain();
    let terminal = scheduler.updates.iter().filter(|s| s.state().is_terminal()).count();
    assert_eq!(terminal, 1, "one terminal update: {:?}", scheduler.updates);
}

/// `TaskStatusUpdateManagerTest.RetryStatusUpdate` with the whole agent: while
/// acknowledgements are lost the agent resends the update (the command executor's
/// first, TASK_STARTING) after 10 s, 20 s, 40 s, 80 s (doubling), and once an
/// acknowledgement gets through it stops.
#[actix_rt::test]
async fn agent_retries_status_updates_until_acknowledged() {
    let mut cluster = SimCluster::start("retry");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let drop_acks = cluster
        .hooks
        .drop_all::<StatusUpdateAcknowledgementMessage>(Match::any().to(&cluster.agent_pid()));
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task("t1", &offer, TASK, "sleep 1000"));
    scheduler.wait_update("t1", TaskState::TaskStarting).await;
    let start = cluster.clock.now();
    let mut arrivals = vec![Duration::ZERO];
    let mut drop_acks = Some(drop_acks);
    while cluster.clock.now().saturating_since(start) < Duration::from_secs(600) {
        cluster.advance(Duration::from_millis(100)).await;
        for message in scheduler.drain() {
            if let SchedMsg::Update(m) = message {
                // TASK_RUNNING follows once TASK_STARTING is acknowledged.
                if m.update.status.state() == TaskState::TaskStarting {
                    arrivals.push(cluster.clock.now().saturating_since(start));
                } else {
                    assert_eq!(m.update.status.state(), TaskState::TaskRunning);
                }
            }
        }
        if arrivals.len() == 4 {
            // The acknowledgement of the next resend gets through.
            drop(drop_acks.take());
        }
    }
    let seconds: Vec<u64> = arrivals.iter().map(|d| (d.as_millis() as u64 + 50) / 1000).collect();
    assert_eq!(seconds, [0, 10, 30, 70, 150], "resent with doubling backoff, then acknowledged");
}
