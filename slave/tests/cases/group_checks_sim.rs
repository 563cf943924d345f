//! Health checks under the default executor on the simulated network with a paused
//! clock: a LAUNCH_GROUP through our real master and agent runs our real
//! `DefaultExecutor` (in process, its tasks and probes in the fake world), so every
//! timing is exact. Mesos: default_executor.cpp `taskHealthUpdated`;
//! `HealthCheckTest.DefaultExecutorCommandHealthCheck`-style scenario with an HTTP check.

use std::time::Duration;

use mesos_framework::checks::ProbeResult;
use mesos_proto::mesos::{self, HealthCheck, TaskState, health_check, offer, scheduler};
use mesos_proto::resources::Resources;

use super::scheduler::{Scheduler, command_task};
use super::sim_cluster::{SimCluster, framework};

const TASK: &str = "cpus:0.5;mem:64";

/// Accepts `offer` with one LAUNCH_GROUP of `tasks` on a DEFAULT executor.
fn launch_group(scheduler: &mut Scheduler, offer: &mesos::Offer, mut tasks: Vec<mesos::TaskInfo>) {
    let executor = mesos::ExecutorInfo {
        r#type: Some(mesos::executor_info::Type::Default as i32),
        executor_id: mesos::ExecutorId { value: "default".into() },
        framework_id: scheduler.framework_id.clone(),
        resources: Resources::parse("cpus:0.1;mem:32;disk:32").unwrap().to_protos(),
        ..Default::default()
    };
    for task in &mut tasks {
        task.executor = Some(executor.clone());
    }
    scheduler.offers.remove(&offer.id.value);
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Accept as i32),
        accept: Some(scheduler::call::Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![offer::Operation {
                r#type: Some(offer::operation::Type::LaunchGroup as i32),
                launch_group: Some(offer::operation::LaunchGroup {
                    executor,
                    task_group: mesos::TaskGroupInfo { tasks },
                }),
                ..Default::default()
            }],
            filters: None,
        }),
        ..Default::default()
    });
}

/// Updates received so far, as (task, state, healthy), after letting the cluster settle.
async fn seen(
    cluster: &SimCluster,
    scheduler: &mut Scheduler,
) -> Vec<(String, TaskState, Option<bool>)> {
    cluster.settle().await;
    scheduler.drain();
    std::mem::take(&mut scheduler.updates)
        .into_iter()
        .map(|s| (s.task_id.value.clone(), s.state(), s.healthy))
        .collect()
}

fn update(
    task: &str,
    state: TaskState,
    healthy: Option<bool>,
) -> (String, TaskState, Option<bool>) {
    (task.to_string(), state, healthy)
}

/// A two-task group whose `t2` has an HTTP health check (`consecutive_failures` 2):
/// the check answers 200, so `t2` is reported healthy; then 500, so unhealthy; at the
/// second failure in a row `t2` is killed, and with it the whole group: both
/// TASK_KILLED updates say `healthy=false`, and no probe runs after the kill.
#[actix_rt::test]
async fn default_executor_kills_the_group_of_an_unhealthy_task() {
    let mut cluster = SimCluster::start("group-health");
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    cluster.world.answer_probes(Some(ProbeResult::Http { status_code: 200 }));
    let offer = scheduler.offer().await;
    let t1 = command_task("t1", &offer, TASK, "sleep 1001");
    // The second task carries the check, so its checks' owner number is not the
    // default 0: timers and probe results find it by number.
    let mut t2 = command_task("t2", &offer, TASK, "sleep 1002");
    t2.health_check = Some(HealthCheck {
        r#type: Some(health_check::Type::Http as i32),
        http: Some(health_check::HttpCheckInfo {
            port: 8080,
            path: Some("/health".into()),
            ..Default::default()
        }),
        delay_seconds: Some(1.0),
        interval_seconds: Some(1.0),
        timeout_seconds: Some(0.0),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(2),
        ..Default::default()
    });
    launch_group(&mut scheduler, &offer, vec![t1, t2]);
    scheduler.wait_update("t1", TaskState::TaskRunning).await;
    scheduler.wait_update("t2", TaskState::TaskRunning).await;
    let _ = seen(&cluster, &mut scheduler).await;
    assert_eq!(cluster.world.probes(), 0, "the first probe waits delay_seconds");

    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(
        seen(&cluster, &mut scheduler).await,
        [update("t2", TaskState::TaskRunning, Some(true))],
        "healthy at the first success"
    );

    cluster.world.answer_probes(Some(ProbeResult::Http { status_code: 500 }));
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(
        seen(&cluster, &mut scheduler).await,
        [update("t2", TaskState::TaskRunning, Some(false))],
        "unhealthy at the first failure"
    );

    cluster.advance(Duration::from_secs(1)).await;
    let mut updates = seen(&cluster, &mut scheduler).await;
    updates.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        updates,
        [
            update("t1", TaskState::TaskKilled, Some(false)),
            update("t2", TaskState::TaskRunning, Some(false)),
            update("t2", TaskState::TaskKilled, Some(false)),
        ],
        "the second failure kills t2, and the group with it"
    );
    for task in ["sleep 1001", "sleep 1002"] {
        let pid = cluster.world.task(task).expect("task");
        assert!(!cluster.world.task_running(pid), "{task} still runs");
    }
    let probes = cluster.world.probes();
    cluster.advance(Duration::from_secs(5)).await;
    assert_eq!(cluster.world.probes(), probes, "no probe after the kill");
}
