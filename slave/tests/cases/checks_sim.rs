//! The command executor's health checks and OOM reason on the simulated network with a
//! paused clock: the fake world answers (or hangs) the check probes and plays the
//! kernel's OOM killer, so every timing is exact.

use std::time::Duration;

use mesos_framework::checks::ProbeResult;
use mesos_proto::mesos::{self, HealthCheck, TaskState, health_check, task_status};

use super::scheduler::{Scheduler, command_task};
use super::sim_cluster::{SimCluster, framework};

const TASK: &str = "cpus:1;mem:128";

/// Updates of `task_id` received so far (after letting the cluster settle).
async fn updates(cluster: &SimCluster, scheduler: &mut Scheduler) -> Vec<mesos::TaskStatus> {
    cluster.settle().await;
    scheduler.drain();
    std::mem::take(&mut scheduler.updates)
}

fn health(update: &mesos::TaskStatus) -> (TaskState, Option<bool>) {
    (update.state(), update.healthy)
}

/// `HealthCheckTest.ConsecutiveFailures` with probes that hang: each probe is given
/// up at `timeout_seconds` on the executor's clock and counts as a failure; the next
/// starts `interval_seconds` later; at the 2nd failure in a row the task is killed
/// and its TASK_KILLED says `healthy=false`.
#[actix_rt::test]
async fn hanging_health_probes_time_out_and_kill_the_task() {
    let mut cluster = SimCluster::start("health-timeout");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    cluster.world.answer_probes(Some(ProbeResult::Tcp { succeeded: true }));
    let offer = scheduler.offer().await;
    let mut task = command_task("t1", &offer, TASK, "sleep 1000");
    task.health_check = Some(HealthCheck {
        r#type: Some(health_check::Type::Tcp as i32),
        tcp: Some(health_check::TcpCheckInfo { port: 8080, ..Default::default() }),
        delay_seconds: Some(1.0),
        interval_seconds: Some(1.0),
        timeout_seconds: Some(2.0),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(2),
        ..Default::default()
    });
    scheduler.launch(&offer, task);
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    let launched: Vec<_> =
        updates(&cluster, &mut scheduler).await.iter().map(|s| s.state()).collect();
    assert_eq!(launched, [TaskState::TaskStarting, TaskState::TaskRunning]);
    assert_eq!(cluster.world.probes(), 0, "the first probe waits delay_seconds");

    cluster.advance(Duration::from_secs(1)).await;
    let seen = updates(&cluster, &mut scheduler).await;
    assert_eq!(seen.iter().map(health).collect::<Vec<_>>(), [(TaskState::TaskRunning, Some(true))]);
    assert_eq!(seen[0].reason(), task_status::Reason::TaskHealthCheckStatusUpdated);

    // From now on probes hang. The next starts at 2 s and times out at 4 s.
    cluster.world.answer_probes(None);
    cluster.advance(Duration::from_millis(2900)).await;
    assert_eq!(cluster.world.probes(), 2);
    assert!(updates(&cluster, &mut scheduler).await.is_empty(), "not timed out yet");
    cluster.advance(Duration::from_millis(100)).await;
    let seen = updates(&cluster, &mut scheduler).await;
    assert_eq!(
        seen.iter().map(health).collect::<Vec<_>>(),
        [(TaskState::TaskRunning, Some(false))]
    );

    // The third probe starts at 5 s and times out at 7 s: the 2nd failure kills.
    cluster.advance(Duration::from_secs(3)).await;
    let killed = scheduler.wait_update("t1", TaskState::TaskKilled).await;
    assert_eq!(killed.healthy, Some(false));
    let seen: Vec<_> = scheduler.updates.iter().map(health).collect();
    assert_eq!(
        seen,
        [(TaskState::TaskRunning, Some(false)), (TaskState::TaskKilled, Some(false))],
        "unhealthy, then killed"
    );
    // No probe after the kill.
    let probes = cluster.world.probes();
    cluster.advance(Duration::from_secs(10)).await;
    assert_eq!(cluster.world.probes(), probes);
}

/// A task the kernel's OOM killer ends (its container's `oom_kill` count rose and it
/// died of SIGKILL nobody sent) fails with `REASON_CONTAINER_LIMITATION_MEMORY` and the
/// task's memory as the limitation, as Mesos's memory isolator reports it; a task
/// SIGKILLed otherwise just fails.
#[actix_rt::test]
async fn oom_killed_task_fails_with_memory_limitation() {
    let mut cluster = SimCluster::start("oom");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task("t1", &offer, TASK, "sleep 1000"));
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    let task = cluster.world.task("sleep 1000").expect("task");
    cluster.world.oom_kill(task);
    let failed = scheduler.wait_update("t1", TaskState::TaskFailed).await;
    assert_eq!(failed.reason(), task_status::Reason::ContainerLimitationMemory);
    let limited: Vec<_> = failed
        .limitation
        .iter()
        .flat_map(|l| l.resources.iter())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(limited, ["mem"]);
    assert!(failed.message().starts_with("Memory limit exceeded"), "{:?}", failed.message);

    cluster.advance(Duration::from_secs(1)).await; // the next allocation
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task("t2", &offer, TASK, "sleep 2000"));
    scheduler.wait_update("t2", TaskState::TaskRunning).await;
    let task = cluster.world.task("sleep 2000").expect("task");
    cluster.world.exit(task, 9);
    let failed = scheduler.wait_update("t2", TaskState::TaskFailed).await;
    assert_eq!(failed.reason, None, "SIGKILL without an OOM kill: {failed:?}");
}

/// The command executor's `TASK_KILLING`
/// (Mesos: launcher/executor.cpp `kill`): a framework with the `TASK_KILLING_STATE`
/// capability hears `TASK_KILLING` when the kill starts, then `TASK_KILLED`; one
/// without it (every other test here) hears only `TASK_KILLED`.
#[actix_rt::test]
async fn task_killing_for_frameworks_with_the_capability() {
    let mut cluster = SimCluster::start("killing");
    let mut info = framework(true);
    info.capabilities.push(mesos::framework_info::Capability {
        r#type: Some(mesos::framework_info::capability::Type::TaskKillingState as i32),
    });
    let mut scheduler = cluster.agent_and_scheduler(info).await;
    let offer = scheduler.offer().await;
    scheduler.launch(&offer, command_task("t1", &offer, TASK, "sleep 1000"));
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    let _ = updates(&cluster, &mut scheduler).await;
    scheduler.call(mesos::scheduler::Call {
        r#type: Some(mesos::scheduler::call::Type::Kill as i32),
        kill: Some(mesos::scheduler::call::Kill {
            task_id: mesos::TaskId { value: "t1".into() },
            slave_id: None,
            kill_policy: None,
        }),
        ..Default::default()
    });
    scheduler.wait_update("t1", TaskState::TaskKilled).await;
    let states: Vec<_> = scheduler.updates.iter().map(|s| s.state()).collect();
    assert_eq!(states, [TaskState::TaskKilling, TaskState::TaskKilled]);
}
