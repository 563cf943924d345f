//! Sandbox garbage collection on the simulated network with a paused clock (after
//! Mesos's `GarbageCollectorIntegrationTest.ExitedExecutor`, `.DiskUsage` and
//! `SlaveRecoveryTest.GCExecutor`): our master, our agent with the in-memory
//! containerizer, real folders under the test's work dir.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mesos_agent::agent::{AgentConfig, GcProgress, TRASH_DIR};
use mesos_proto::mesos::TaskState;

use super::scheduler::{Scheduler, command_task};
use super::sim_cluster::{SimCluster, framework};
use super::support::within;

const TASK: &str = "cpus:1;mem:128";
const DELAY: Duration = Duration::from_secs(600);

/// `--gc_delay` of 10 min on an empty disk with no headroom: removal exactly at the delay.
fn empty_disk(config: &mut AgentConfig) {
    config.gc.delay = DELAY;
    config.gc.disk_headroom = 0.0;
    config.gc.disk_usage = |_| Ok(0.0);
}

/// The same on a 95% full disk: the first disk check removes every finished sandbox.
fn full_disk(config: &mut AgentConfig) {
    empty_disk(config);
    config.gc.disk_headroom = 0.1;
    config.gc.disk_usage = |_| Ok(0.95);
}

/// The folders of one executor: its sandbox root and its meta folder.
struct Folders {
    sandbox: PathBuf,
    meta: PathBuf,
}

impl Folders {
    fn exist(&self) -> bool {
        self.sandbox.exists() && self.meta.exists()
    }

    fn gone(&self) -> bool {
        !self.sandbox.exists() && !self.meta.exists()
    }
}

/// Runs `t1` and `t2` (checkpointing framework), lets `t1` finish and its executor
/// exit; returns the scheduler and the folders of `t1` (finished) and `t2` (running).
async fn one_finished_one_running(cluster: &mut SimCluster) -> (Scheduler, Folders, Folders) {
    let mut scheduler = cluster.agent_and_scheduler(framework(true)).await;
    let mut agent_id = String::new();
    for (id, command) in [("t1", "sleep 1001"), ("t2", "sleep 1002")] {
        let offer = scheduler.offer().await;
        agent_id = offer.slave_id.value.clone();
        scheduler.launch(&offer, command_task(id, &offer, TASK, command));
        scheduler.wait_update(id, TaskState::TaskRunning).await;
        steps(cluster, 2).await; // the allocator's next round offers the rest
    }
    cluster.world.exit(cluster.world.task("sleep 1001").expect("t1"), 0);
    scheduler.wait_update("t1", TaskState::TaskFinished).await;
    steps(cluster, 3).await; // the executor exits once acknowledged, and is reaped
    let framework_id = scheduler.framework_id.clone().expect("subscribed").value;
    let work = cluster.dir.0.join("work");
    let folders = |executor: &str| {
        let relative = Path::new(&agent_id).join("frameworks").join(&framework_id);
        let relative = relative.join("executors").join(executor);
        Folders {
            sandbox: work.join("slaves").join(&relative),
            meta: work.join("meta").join("slaves").join(&relative),
        }
    };
    let (finished, running) = (folders("t1"), folders("t2"));
    assert!(finished.exist() && running.exist());
    (scheduler, finished, running)
}

/// Lets `secs` seconds pass on the paused clock, a second at a time.
async fn steps(cluster: &SimCluster, secs: u64) {
    for _ in 0..secs {
        cluster.clock.advance(Duration::from_secs(1));
        cluster.settle().await;
    }
}

async fn progress(cluster: &SimCluster) -> tokio::sync::watch::Receiver<GcProgress> {
    let agent = cluster.agent.as_ref().expect("agent");
    agent.dispatch(|agent, _| agent.gc_progress()).await.expect("agent")
}

async fn scheduled(cluster: &SimCluster, path: &Path) -> bool {
    let agent = cluster.agent.as_ref().expect("agent");
    let path = path.to_path_buf();
    agent.dispatch(move |agent, _| agent.gc_is_scheduled(&path)).await.expect("agent")
}

/// `GarbageCollectorIntegrationTest.ExitedExecutor`: a finished executor's sandbox
/// and checkpointed meta folder stay for `--gc_delay`, then go; the running
/// executor's, in the same framework, stay.
#[actix_rt::test]
async fn finished_sandbox_is_removed_after_gc_delay_and_running_one_kept() {
    let mut cluster = SimCluster::start("gc-delay");
    cluster.configure = empty_disk;
    let (_scheduler, finished, running) = one_finished_one_running(&mut cluster).await;
    assert!(scheduled(&cluster, &finished.sandbox).await);
    assert!(scheduled(&cluster, &finished.meta).await);
    assert!(!scheduled(&cluster, &running.sandbox).await);
    let mut progress = progress(&cluster).await;

    steps(&cluster, DELAY.as_secs() - 30).await;
    assert!(finished.exist(), "not before --gc_delay");
    steps(&cluster, 60).await;
    assert!(finished.gone(), "the sandbox and its meta folder went at --gc_delay");
    assert!(running.exist(), "the running executor's folders stay");
    within("deletion", progress.wait_for(|p| p.removals >= 2)).await.expect("agent");
    let trash = cluster.dir.0.join("work").join(TRASH_DIR);
    assert_eq!(std::fs::read_dir(trash).expect("trash").count(), 0, "deleted, not only moved");
}

/// `GarbageCollectorIntegrationTest.DiskUsage`: on a disk fuller than
/// `1 - gc_disk_headroom`, the next disk check removes a finished sandbox at once;
/// the running one stays.
#[actix_rt::test]
async fn full_disk_prunes_finished_sandboxes_at_the_next_check() {
    let mut cluster = SimCluster::start("gc-disk");
    cluster.configure = full_disk;
    let (_scheduler, finished, running) = one_finished_one_running(&mut cluster).await;
    let mut progress = progress(&cluster).await;
    steps(&cluster, 61).await; // past --disk_watch_interval (1 min)
    within("deletion", progress.wait_for(|p| p.removals >= 2)).await.expect("agent");
    assert!(finished.gone(), "pruned long before --gc_delay");
    assert!(running.exist());
}

/// `SlaveRecoveryTest.GCExecutor`: after an agent restart the finished executor's
/// folders, found on disk, are scheduled again by their modification time and
/// removed at `--gc_delay` from the end of the executor.
#[actix_rt::test]
async fn finished_sandbox_is_rescheduled_after_a_restart() {
    let mut cluster = SimCluster::start("gc-restart");
    cluster.configure = empty_disk;
    let (_scheduler, finished, running) = one_finished_one_running(&mut cluster).await;
    steps(&cluster, 60).await;
    cluster.crash_agent().await;
    cluster.start_agent().await;
    let mut progress = progress(&cluster).await;
    within("rescan", progress.wait_for(|p| p.recovered)).await.expect("agent");
    assert!(scheduled(&cluster, &finished.sandbox).await);
    assert!(scheduled(&cluster, &finished.meta).await);
    assert!(!scheduled(&cluster, &running.sandbox).await);

    steps(&cluster, DELAY.as_secs() - 90).await;
    assert!(finished.exist(), "the delay counts from the executor's end");
    steps(&cluster, 60).await;
    assert!(finished.gone());
    assert!(running.exist());
}
