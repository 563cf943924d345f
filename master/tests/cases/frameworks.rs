//! Framework failover and teardown (ports of `FaultToleranceTest`, `TeardownTest`).

use std::time::Duration;

use http::{Method, StatusCode};
use mesos_proto::mesos;

use super::support::{AgentMsg, Cluster, SchedMsg, agent_framework_offer, framework_info, task};

/// `FaultToleranceTest.SchedulerFailover`: a second scheduler subscribing with the same
/// FrameworkID (force) takes over; the first is told it failed over; tasks keep running.
#[actix_rt::test]
async fn fault_tolerance_test_scheduler_failover() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut first, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    first.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    let framework_id = first.id.clone().unwrap();

    let mut second = cluster.scheduler();
    let mut info = framework_info("fw");
    info.id = Some(framework_id.clone());
    info.failover_timeout = Some(3600.0);
    second.call(mesos_proto::mesos::scheduler::Call {
        framework_id: Some(framework_id.clone()),
        r#type: Some(mesos_proto::mesos::scheduler::call::Type::Subscribe as i32),
        subscribe: Some(mesos_proto::mesos::scheduler::call::Subscribe {
            framework_info: info,
            force: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(
        first
            .drain()
            .iter()
            .any(|m| matches!(m, SchedMsg::Error(e) if e.message == "Framework failed over"))
    );
    assert!(
        second
            .drain()
            .iter()
            .any(|m| matches!(m, SchedMsg::Reregistered(r) if r.framework_id == framework_id))
    );
    let agent_messages = agent.drain();
    assert!(agent_messages.iter().any(|m| matches!(m, AgentMsg::UpdateFramework(u) if u.pid.as_deref() == Some(second.pid().to_string().as_str()))));
    assert!(
        !agent_messages
            .iter()
            .any(|m| matches!(m, AgentMsg::ShutdownFramework(_) | AgentMsg::KillTask(_)))
    );
    let tasks = cluster
        .inspect(move |core| core.framework(&framework_id.into()).unwrap().tasks.len())
        .await;
    assert_eq!(tasks, 1);
}

/// `FaultToleranceTest.SchedulerReregisterAfterFailoverTimeout`: a disconnected framework
/// is removed when its failover timeout expires (its tasks are shut down), and a later
/// re-subscription is refused with "Framework has been removed".
#[actix_rt::test]
async fn fault_tolerance_test_scheduler_reregister_after_failover_timeout() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    let mut scheduler = cluster.scheduler();
    let mut info = framework_info("fw");
    info.failover_timeout = Some(60.0);
    let framework_id = scheduler.subscribe(&cluster, info.clone()).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;

    // The scheduler's machine goes away: the master sees its connection break.
    cluster.sim.partition(cluster.node.address(), scheduler.node.address());
    cluster.settle().await;
    cluster.advance(Duration::from_secs(59)).await;
    assert!(
        cluster
            .inspect({
                let id = framework_id.clone();
                move |c| c.framework(&id.into()).is_some()
            })
            .await
    );
    cluster.advance(Duration::from_secs(2)).await;
    assert!(
        cluster
            .inspect({
                let id = framework_id.clone();
                move |c| c.framework(&id.into()).is_none()
            })
            .await
    );
    assert!(agent.drain().iter().any(|m| matches!(m, AgentMsg::ShutdownFramework(_))));

    cluster.sim.heal(cluster.node.address(), scheduler.node.address());
    scheduler.drain();
    info.id = Some(framework_id.clone());
    scheduler.call(mesos_proto::mesos::scheduler::Call {
        framework_id: Some(framework_id),
        r#type: Some(mesos_proto::mesos::scheduler::call::Type::Subscribe as i32),
        subscribe: Some(mesos_proto::mesos::scheduler::call::Subscribe {
            framework_info: info,
            ..Default::default()
        }),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(
        scheduler
            .drain()
            .iter()
            .any(|m| matches!(m, SchedMsg::Error(e) if e.message == "Framework has been removed"))
    );
}

/// `TeardownTest.Success`: `POST /master/teardown frameworkId=...` removes the framework,
/// shuts it down on its agents and marks its tasks killed.
#[actix_rt::test]
async fn teardown_test_success() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = agent_framework_offer(&cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    let framework_id = scheduler.id.clone().unwrap();
    let response = cluster
        .node
        .request(Method::POST, "/master/teardown", format!("frameworkId={}", framework_id.value))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    cluster.settle().await;
    assert!(
        agent
            .drain()
            .iter()
            .any(|m| matches!(m, AgentMsg::ShutdownFramework(s) if s.framework_id == framework_id))
    );
    let completed: Vec<mesos::TaskState> = cluster
        .inspect(|core| {
            core.completed_frameworks()
                .flat_map(|f| f.completed_tasks.iter().map(|t| t.state()))
                .collect()
        })
        .await;
    assert_eq!(completed, vec![mesos::TaskState::TaskKilled]);
}

/// With `--roles`, a framework asking for a role outside the list is refused.
#[actix_rt::test]
async fn roles_whitelist_is_enforced() {
    let cluster = Cluster::start(|o| o.roles = Some(vec!["prod".to_string()]));
    let scheduler = cluster.scheduler();
    let mut info = framework_info("fw");
    #[allow(deprecated)]
    {
        info.role = Some("dev".into());
    }
    scheduler.call(mesos_proto::mesos::scheduler::Call {
        r#type: Some(mesos_proto::mesos::scheduler::call::Type::Subscribe as i32),
        subscribe: Some(mesos_proto::mesos::scheduler::call::Subscribe {
            framework_info: info.clone(),
            ..Default::default()
        }),
        ..Default::default()
    });
    cluster.settle().await;
    assert_eq!(cluster.inspect(|c| c.frameworks().count()).await, 0);
    let mut allowed = cluster.scheduler();
    #[allow(deprecated)]
    {
        info.role = Some("prod".into());
    }
    allowed.subscribe(&cluster, info).await;
    assert_eq!(cluster.inspect(|c| c.frameworks().count()).await, 1);
}
