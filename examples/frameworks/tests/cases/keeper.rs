//! `keeper` on a simulated cluster: replacement of failed tasks, scheduler failover
//! (`FaultToleranceTest.SchedulerFailover` end to end) and master failover.

use std::path::Path;
use std::time::Duration;

use libprocess::Node;
use mesos_examples::keeper::{Keeper, KeeperConfig};
use mesos_framework::scheduler::{
    SchedulerConfig, SchedulerHandle, framework_info, spawn_scheduler,
};
use mesos_framework::tasks::parse_resources;
use mesos_framework::testing::{AgentConfig, Cluster, FakeAgent};
use mesos_proto::mesos::TaskState;

fn start_keeper(
    cluster: &Cluster,
    masters: Vec<libprocess::Pid>,
    state_file: &Path,
) -> (Node, SchedulerHandle<Keeper>) {
    let mut info = framework_info("keeper");
    info.failover_timeout = Some(3600.0);
    info.id = Keeper::saved_framework_id(state_file);
    let keeper = Keeper::new(KeeperConfig {
        instances: 2,
        command: "sleep 1000".into(),
        resources: parse_resources("cpus:0.5;mem:64").unwrap(),
        state_file: Some(state_file.to_path_buf()),
    });
    let node = cluster.host();
    let handle = spawn_scheduler(&node, SchedulerConfig::new(info, masters), keeper).unwrap();
    (node, handle)
}

async fn live_is(cluster: &Cluster, agent: &FakeAgent, count: usize) -> bool {
    cluster
        .advance_until(Duration::from_secs(1), Duration::from_secs(60), async || {
            agent.live_tasks().await.len() == count
        })
        .await
}

/// A task that fails is replaced; the keeper never runs more than N.
#[actix_rt::test]
async fn keeper_replaces_failed_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:4;mem:1024"));
    let (_node, handle) =
        start_keeper(&cluster, vec![cluster.master_pid()], &dir.path().join("id"));
    assert!(live_is(&cluster, &agent, 2).await);
    agent.end_task("keeper-0", TaskState::TaskFailed).await;
    cluster.advance(Duration::from_secs(10)).await;
    assert_eq!(agent.live_tasks().await, ["keeper-1", "keeper-2"]);
    assert_eq!(handle.inspect(|k, _| k.restarts).await.unwrap(), 1);
    cluster.advance(Duration::from_secs(120)).await;
    assert_eq!(agent.live_tasks().await.len(), 2, "never more than N");
}

/// Scheduler failover: the keeper's machine dies; the master keeps the framework for
/// its failover timeout. A new keeper started with the same state file re-subscribes
/// with the same FrameworkID, reconciles, adopts both running tasks and launches
/// nothing; no task was ever killed.
#[actix_rt::test]
async fn keeper_survives_its_own_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("id");
    let cluster = Cluster::start();
    let agent = cluster.agent(AgentConfig::new("cpus:4;mem:1024"));
    let (node, _first) = start_keeper(&cluster, vec![cluster.master_pid()], &state_file);
    assert!(live_is(&cluster, &agent, 2).await);
    let framework_id =
        Keeper::saved_framework_id(&state_file).expect("the keeper saved its FrameworkID");

    node.shutdown().await; // kill -9 of the scheduler
    cluster.advance(Duration::from_secs(30)).await;
    let master = cluster.master.master.clone();
    let id = framework_id.clone();
    let active = move || {
        let id = id.clone();
        master
            .dispatch(move |m, _| m.core().framework(&id.into()).map(|f| format!("{:?}", f.state)))
    };
    assert_eq!(
        active().await.unwrap().as_deref(),
        Some("Inactive"),
        "the master waits for a new scheduler"
    );

    let (_node, second) = start_keeper(&cluster, vec![cluster.master_pid()], &state_file);
    cluster.advance(Duration::from_secs(10)).await;
    assert_eq!(
        second.inspect(|_, core| core.framework_id().cloned()).await.unwrap(),
        Some(framework_id)
    );
    assert_eq!(active().await.unwrap().as_deref(), Some("Active"));
    assert_eq!(
        second.inspect(|k, _| k.live_tasks()).await.unwrap(),
        ["keeper-0", "keeper-1"],
        "adopted by reconciliation"
    );
    cluster.advance(Duration::from_secs(60)).await;
    assert_eq!(agent.live_tasks().await, ["keeper-0", "keeper-1"], "nothing new launched");
    assert_eq!(agent.inspect(|a| (a.kills, a.shutdowns)).await, (0, 0), "no task was ever killed");
}

/// Master failover: the leading master dies and a new one takes over; the agent and the
/// keeper find it, the keeper reconciles and its tasks keep running.
#[actix_rt::test]
async fn keeper_survives_master_failover() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start();
    let masters = vec![cluster.master_pid(), "master@10.0.0.2:5050".parse().unwrap()];
    let agent = cluster.agent(AgentConfig::new("cpus:4;mem:1024").masters(masters.clone()));
    let (_node, keeper) = start_keeper(&cluster, masters, &dir.path().join("id"));
    assert!(live_is(&cluster, &agent, 2).await);
    cluster.fail_over_master("10.0.0.2:5050", "c0ffee00-0000-4000-8000-000000000002").await;
    cluster.advance(Duration::from_secs(30)).await;
    let on_new_master =
        keeper.inspect(|_, core| core.master().map(|m| m.to_string())).await.unwrap();
    assert_eq!(on_new_master.as_deref(), Some("master@10.0.0.2:5050"));
    assert_eq!(agent.live_tasks().await, ["keeper-0", "keeper-1"]);
    assert_eq!(agent.inspect(|a| (a.kills, a.shutdowns)).await, (0, 0));
    assert_eq!(keeper.inspect(|k, _| k.live_tasks()).await.unwrap(), ["keeper-0", "keeper-1"]);
}
