//! High availability: three masters replicating their registry with raft on a simulated
//! network with a paused clock (ports of `FaultToleranceTest.MasterFailover`,
//! `.SplitBrainMasters`, `MasterTest.RecoveredSlaveReregisters`).

use std::time::Duration;

use mesos_proto::mesos::{self, internal, scheduler};

use super::support::{AgentMsg, Cluster, FakeAgent, FakeScheduler, SchedMsg, framework_info, task};

fn master_pid(cluster: &Cluster, index: usize) -> libprocess::Pid {
    cluster.masters[index].1.master.pid().clone()
}

/// Points a fake agent at the leader the way a real agent does: ask any master; a
/// follower answers with the leader's pid.
async fn register_through_follower(
    cluster: &Cluster,
    agent: &mut FakeAgent,
    leader: usize,
) -> mesos::SlaveId {
    let follower = (leader + 1) % cluster.masters.len();
    agent.master = master_pid(cluster, follower);
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    let detected = agent
        .drain()
        .into_iter()
        .find_map(|m| if let AgentMsg::NewMaster(n) = m { Some(n.pid) } else { None })
        .expect("the follower points at the leader");
    assert_eq!(detected, master_pid(cluster, leader).to_string());
    agent.master = detected.parse().unwrap();
    agent.register(cluster).await
}

async fn subscribe(
    cluster: &Cluster,
    scheduler: &mut FakeScheduler,
    leader: usize,
    info: mesos::FrameworkInfo,
) -> mesos::FrameworkId {
    scheduler.master = master_pid(cluster, leader);
    scheduler.subscribe(cluster, info).await
}

/// Followers refuse to act: a registration sent to a follower gets only the leader's
/// pid, and HTTP to a follower is redirected to the leader with the same path.
#[actix_rt::test]
async fn followers_point_at_the_leader() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    let mut agent = cluster.agent("cpus:2;mem:1024");
    register_through_follower(&cluster, &mut agent, leader).await;
    let follower = (leader + 1) % 3;
    let response =
        cluster.masters[follower].0.request(http::Method::GET, "/master/state?x=1", "").await;
    assert_eq!(response.status(), http::StatusCode::TEMPORARY_REDIRECT);
    let leader_address = cluster.masters[leader].0.address();
    assert_eq!(
        response.headers()["location"],
        format!("//{leader_address}/master/state?x=1").as_str()
    );
    let health = cluster.masters[follower].0.request(http::Method::GET, "/master/health", "").await;
    assert_eq!(health.status(), http::StatusCode::OK, "every master answers health");
    let raft = cluster.masters[follower].0.request(http::Method::GET, "/master/raft", "").await;
    let raft: serde_json::Value =
        serde_json::from_slice(&raft.into_body().into_bytes().await).unwrap();
    assert_eq!(raft["leader_address"], leader_address.to_string());
    assert_eq!(raft["members"].as_array().unwrap().len(), 3);
}

/// `FaultToleranceTest.MasterFailover`: the leader dies; another master is elected,
/// recovers the agent and the framework from the registry, the agent re-registers with
/// its running task and the scheduler re-subscribes with its FrameworkID; nothing is
/// lost, and the new leader's IDs never collide with the old one's.
#[actix_rt::test]
async fn fault_tolerance_test_master_failover() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    let mut agent = cluster.agent("cpus:2;mem:1024");
    let agent_id = register_through_follower(&cluster, &mut agent, leader).await;
    let mut scheduler = cluster.scheduler();
    let mut info = framework_info("fw");
    info.failover_timeout = Some(3600.0);
    let framework_id = subscribe(&cluster, &mut scheduler, leader, info.clone()).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    agent.update(&framework_id, "t1", mesos::TaskState::TaskRunning, b"u1");
    cluster.settle().await;
    assert_eq!(scheduler.updates().len(), 1);

    // The leader's machine dies.
    let new_leader = cluster.fail_over(leader).await;
    let new_master = &cluster.masters[new_leader].1.master;
    let (recovered_agent, recovered_framework) = new_master
        .dispatch({
            let framework_id = framework_id.clone();
            move |m, _| {
                let framework = m.core().framework(&framework_id.into()).map(|f| f.state);
                (m.core().recovered_agent_pids().len() + m.core().agents().count(), framework)
            }
        })
        .await
        .unwrap();
    assert_eq!(
        recovered_agent, 0,
        "the fake agent's hostname is not an IP, so it is not announced to"
    );
    assert_eq!(recovered_framework, Some(mesos_master::core::FrameworkState::Recovered));

    // The agent and the scheduler find the new leader and come back.
    agent.master = new_master.pid().clone();
    let running = mesos::Task {
        name: "t1".into(),
        task_id: mesos::TaskId { value: "t1".into() },
        framework_id: framework_id.clone(),
        slave_id: agent_id.clone(),
        state: mesos::TaskState::TaskRunning as i32,
        resources: mesos_proto::resources::Resources::parse("cpus:1;mem:128").unwrap().to_protos(),
        ..Default::default()
    };
    let mut registered_info = info.clone();
    registered_info.id = Some(framework_id.clone());
    agent.send(internal::ReregisterSlaveMessage {
        slave: agent.info(),
        tasks: vec![running],
        frameworks: vec![registered_info.clone()],
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(
        agent
            .drain()
            .iter()
            .any(|m| matches!(m, AgentMsg::Reregistered(r) if r.slave_id == agent_id))
    );
    scheduler.resubscribe(new_master.pid().clone(), &framework_id, registered_info);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let messages = scheduler.drain();
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, SchedMsg::Reregistered(r) if r.framework_id == framework_id)),
        "{messages:?}"
    );
    let (agents, tasks, active) = new_master
        .dispatch({
            let framework_id = framework_id.clone();
            move |m, _| {
                let framework = m.core().framework(&framework_id.into()).unwrap();
                (m.core().agents().count(), framework.tasks.len(), framework.active())
            }
        })
        .await
        .unwrap();
    assert_eq!(
        (agents, tasks, active),
        (1, 1, true),
        "the agent, its task and the framework are back"
    );
    let new_offer_ids: Vec<String> = messages
        .iter()
        .filter_map(|m| {
            if let SchedMsg::Offers(o) = m {
                Some(o.offers.iter().map(|o| o.id.value.clone()).collect::<Vec<_>>())
            } else {
                None
            }
        })
        .flatten()
        .collect();
    assert!(!new_offer_ids.is_empty(), "the new leader offers the agent's free resources");
    assert!(
        new_offer_ids.iter().all(|id| *id != offer.id.value),
        "IDs are never reused across leaders"
    );
}

/// `FaultToleranceTest.SplitBrainMasters`: the leader is cut off from the other two; it
/// loses leadership (check quorum) and stops acting at once, while the majority elects a
/// new leader. The deposed master never registers anyone again.
#[actix_rt::test]
async fn fault_tolerance_test_split_brain_masters() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    cut_off_from_masters(&cluster, leader, true).await;
    let old_role =
        cluster.masters[leader].1.master.dispatch(|m, _| m.role().clone()).await.unwrap();
    assert!(matches!(old_role, mesos_master::process::Role::Following { .. }), "{old_role:?}");
    let others_leading = futures_leading(&cluster, leader).await;
    assert_eq!(others_leading, 1, "exactly one leader in the majority");

    // A scheduler that can still reach the deposed master gets no registration from it.
    let mut scheduler = cluster.scheduler();
    scheduler.master = master_pid(&cluster, leader);
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        subscribe: Some(scheduler::call::Subscribe {
            framework_info: framework_info("fw"),
            ..Default::default()
        }),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(
        scheduler
            .drain()
            .iter()
            .all(|m| !matches!(m, SchedMsg::Registered(_) | SchedMsg::Offers(_)))
    );
    let frameworks = cluster.masters[leader]
        .1
        .master
        .dispatch(|m, _| m.core().frameworks().count())
        .await
        .unwrap();
    assert_eq!(frameworks, 0);
}

/// A leader cut off from the other masters (but not from its agent and scheduler) is
/// deposed; once the partition heals and it learns who leads, it tells the agent and the
/// scheduler it had (`NewMasterDetectedMessage`), so they move to the new leader at once
/// rather than stay attached to a master that dropped them. (Mesos's master exits on
/// losing leadership, which breaks their connections instead.)
#[actix_rt::test]
async fn deposed_leader_points_its_agents_and_schedulers_at_the_new_leader() {
    let cluster = Cluster::start_ha(3, |_| {});
    let running = running_task(&cluster).await;
    let (old, mut agent, mut scheduler) = (running.leader, running.agent, running.scheduler);
    cut_off_from_masters(&cluster, old, true).await;
    agent.drain();
    scheduler.drain();
    cut_off_from_masters(&cluster, old, false).await;
    let mut leaders = Vec::new();
    for i in 0..3 {
        if matches!(
            cluster.masters[i].1.master.dispatch(|m, _| m.role().clone()).await.unwrap(),
            mesos_master::process::Role::Leading { .. }
        ) {
            leaders.push(i);
        }
    }
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    assert_ne!(leaders[0], old, "the majority's leader kept leading");
    let leader_pid = master_pid(&cluster, leaders[0]).to_string();
    let told = |messages: Vec<SchedMsg>| {
        messages.into_iter().any(|m| matches!(m, SchedMsg::NewMaster(n) if n.pid == leader_pid))
    };
    assert!(told(scheduler.drain()), "the scheduler was pointed at the new leader");
    let agent_told = agent
        .drain()
        .into_iter()
        .any(|m| matches!(m, AgentMsg::NewMaster(n) if n.pid == leader_pid));
    assert!(agent_told, "the agent was pointed at the new leader");
}

/// A client that writes to a master while no leader is known (an election that cannot
/// finish yet) gets no answer then, and is told where the leader is as soon as that
/// master learns it, without writing again: as a ZooKeeper watch tells Mesos's agents.
/// Before, it heard nothing until its own next try (FAIL-1: seconds after a failover).
#[actix_rt::test]
async fn a_client_that_asked_during_an_election_is_told_the_leader_once_known() {
    let cluster = Cluster::start_ha(3, |_| {});
    let old = cluster.elect().await;
    let (a, b) = ((old + 1) % 3, (old + 2) % 3);
    let (address_a, address_b) = (cluster.masters[a].0.address(), cluster.masters[b].0.address());
    // The survivors cannot reach each other, so no election can finish; the leader dies.
    cluster.sim.partition(address_a, address_b);
    cluster.masters[old].0.shutdown().await;
    let role = |i: usize| cluster.masters[i].1.master.dispatch(|m, _| m.role().clone());
    let leaderless = mesos_master::process::Role::Following { leader: None };
    for _ in 0..100 {
        cluster.advance(Duration::from_millis(100)).await;
        if role(a).await.unwrap() == leaderless && role(b).await.unwrap() == leaderless {
            break;
        }
    }
    assert_eq!(role(a).await.unwrap(), leaderless, "master {a} knows no leader");
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.master = master_pid(&cluster, a);
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(agent.drain().is_empty(), "no leader to name yet");

    cluster.sim.heal(address_a, address_b);
    let new = cluster.fail_over(old).await;
    cluster.settle().await;
    let leader_pid = master_pid(&cluster, new).to_string();
    let told: Vec<String> = agent
        .drain()
        .into_iter()
        .filter_map(|m| if let AgentMsg::NewMaster(n) = m { Some(n.pid) } else { None })
        .collect();
    assert_eq!(told, vec![leader_pid], "told once, by master {a}, where the leader is");
}

/// Partitions master `index` from the other masters (`cut`) or heals that partition,
/// then lets 5 s of clock time pass (elections, step-downs). Agents and schedulers still
/// reach every master.
async fn cut_off_from_masters(cluster: &Cluster, index: usize, cut: bool) {
    let isolated = cluster.masters[index].0.address();
    for (_, (node, _)) in cluster.masters.iter().enumerate().filter(|(i, _)| *i != index) {
        if cut {
            cluster.sim.partition(isolated, node.address());
        } else {
            cluster.sim.heal(isolated, node.address());
        }
    }
    for _ in 0..50 {
        cluster.advance(Duration::from_millis(100)).await;
    }
}

async fn futures_leading(cluster: &Cluster, except: usize) -> usize {
    let mut leading = 0;
    for (i, (_, master)) in cluster.masters.iter().enumerate() {
        if i == except {
            continue;
        }
        if master
            .master
            .dispatch(|m, _| matches!(m.role(), mesos_master::process::Role::Leading { .. }))
            .await
            .unwrap()
        {
            leading += 1;
        }
    }
    leading
}

/// A cluster with one agent running one task of one framework (failover timeout 1 h),
/// the task's resources `cpus:1;mem:128` of the agent's `cpus:2;mem:1024`.
struct Running {
    agent: FakeAgent,
    scheduler: FakeScheduler,
    agent_id: mesos::SlaveId,
    framework_id: mesos::FrameworkId,
    info: mesos::FrameworkInfo,
    leader: usize,
}

async fn running_task(cluster: &Cluster) -> Running {
    let leader = cluster.elect().await;
    let mut agent = cluster.agent("cpus:2;mem:1024");
    let agent_id = register_through_follower(cluster, &mut agent, leader).await;
    let mut scheduler = cluster.scheduler();
    let mut info = framework_info("fw");
    info.failover_timeout = Some(3600.0);
    let framework_id = subscribe(cluster, &mut scheduler, leader, info.clone()).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 5.0);
    cluster.settle().await;
    agent.update(&framework_id, "t1", mesos::TaskState::TaskRunning, b"u1");
    cluster.settle().await;
    scheduler.drain();
    info.id = Some(framework_id.clone());
    Running { agent, scheduler, agent_id, framework_id, info, leader }
}

fn reregister(running: &Running, to: &libprocess::Pid) {
    let task = mesos::Task {
        name: "t1".into(),
        task_id: mesos::TaskId { value: "t1".into() },
        framework_id: running.framework_id.clone(),
        slave_id: running.agent_id.clone(),
        state: mesos::TaskState::TaskRunning as i32,
        resources: mesos_proto::resources::Resources::parse("cpus:1;mem:128").unwrap().to_protos(),
        ..Default::default()
    };
    let message = internal::ReregisterSlaveMessage {
        slave: running.agent.info(),
        tasks: vec![task],
        frameworks: vec![running.info.clone()],
        version: Some("1.11.0".into()),
        ..Default::default()
    };
    running.agent.node.send(running.agent.pid(), to, message);
}

fn resubscribe(running: &Running, to: &libprocess::Pid) {
    let call = scheduler::Call {
        framework_id: Some(running.framework_id.clone()),
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        subscribe: Some(scheduler::call::Subscribe {
            framework_info: running.info.clone(),
            force: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    running.scheduler.node.send(running.scheduler.pid(), to, call);
}

/// What the new leader offers after both came back: the agent's total less the running
/// task's resources, never more.
async fn offered_after_failover(
    cluster: &Cluster,
    running: &mut Running,
) -> mesos_proto::resources::Resources {
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let offers = running.scheduler.offers();
    assert_eq!(offers.len(), 1, "one offer of the agent's free resources");
    let mut offered =
        mesos_proto::resources::Resources::from_protos(offers[0].resources.clone()).unwrap();
    offered.unallocate();
    offered
}

/// `MasterAllocatorTest.FrameworkReregistersFirst`: after a failover the scheduler
/// comes back before the agent; once the agent re-registers with its running task, the
/// allocator counts the task's resources as used.
#[actix_rt::test]
async fn master_allocator_test_framework_reregisters_first() {
    let cluster = Cluster::start_ha(3, |_| {});
    let mut running = running_task(&cluster).await;
    let new_leader = cluster.fail_over(running.leader).await;
    let to = master_pid(&cluster, new_leader);
    resubscribe(&running, &to);
    cluster.settle().await;
    reregister(&running, &to);
    let offered = offered_after_failover(&cluster, &mut running).await;
    assert_eq!((offered.cpus(), offered.mem_mb()), (Some(1.0), Some(896.0)));
}

/// `MasterAllocatorTest.SlaveReregistersFirst`: the agent comes back first, then the
/// scheduler; the same accounting holds.
#[actix_rt::test]
async fn master_allocator_test_slave_reregisters_first() {
    let cluster = Cluster::start_ha(3, |_| {});
    let mut running = running_task(&cluster).await;
    let new_leader = cluster.fail_over(running.leader).await;
    let to = master_pid(&cluster, new_leader);
    reregister(&running, &to);
    cluster.settle().await;
    resubscribe(&running, &to);
    let offered = offered_after_failover(&cluster, &mut running).await;
    assert_eq!((offered.cpus(), offered.mem_mb()), (Some(1.0), Some(896.0)));
}

/// Two failovers in a row: the third master leads, and the agent, its task and the
/// framework are still all there. Every leader continues the cluster's one sequence of
/// agent and framework ids from the registry (`<cluster>-S0`, `-S1`, `-S2`; `-0000`,
/// `-0001`, `-0002`): a new leader never hands out an id again.
#[actix_rt::test]
async fn repeated_failovers_lose_nothing() {
    let cluster = Cluster::start_ha(5, |_| {});
    let mut running = running_task(&cluster).await;
    let mut leader = running.leader;
    let cluster_id =
        running.agent_id.value.strip_suffix("-S0").expect("the first agent id").to_string();
    assert_eq!(running.framework_id.value, format!("{cluster_id}-0000"));
    for round in 0..2 {
        leader = cluster.fail_over(leader).await;
        let to = master_pid(&cluster, leader);
        reregister(&running, &to);
        resubscribe(&running, &to);
        cluster.settle().await;
        let offered = offered_after_failover(&cluster, &mut running).await;
        assert_eq!((offered.cpus(), offered.mem_mb()), (Some(1.0), Some(896.0)), "round {round}");
        let framework_id = running.framework_id.clone();
        let (agents, tasks) = cluster.masters[leader]
            .1
            .master
            .dispatch(move |m, _| {
                (
                    m.core().agents().count(),
                    m.core().framework(&framework_id.into()).map(|f| f.tasks.len()),
                )
            })
            .await
            .unwrap();
        assert_eq!((agents, tasks), (1, Some(1)), "round {round}");

        let mut agent = cluster.agent("cpus:1;mem:128");
        let agent_id = register_through_follower(&cluster, &mut agent, leader).await;
        assert_eq!(agent_id.value, format!("{cluster_id}-S{}", round + 1));
        let mut scheduler = cluster.scheduler();
        let framework_id =
            subscribe(&cluster, &mut scheduler, leader, framework_info("another")).await;
        assert_eq!(framework_id.value, format!("{cluster_id}-{:04}", round + 1));
        running.scheduler.drain(); // Offers of the new agent.
    }
}

/// Full-cluster restart: all three masters stop (their registries in sled on disk), then
/// start again; the new leader knows the agent and the framework from the registry, and
/// the agent re-registering with its task brings everything back.
#[actix_rt::test]
async fn full_cluster_restart_keeps_the_registry() {
    let dirs: Vec<std::path::PathBuf> =
        (0..3).map(|_| tempfile::tempdir().unwrap().keep()).collect();
    let sim = libprocess::SimNetwork::new();
    let clock = libprocess::Clock::paused();
    let cluster = Cluster::start_ha_on(sim.clone(), clock.clone(), 3, Some(&dirs), |_| {});
    let running = running_task(&cluster).await;
    for (node, _) in &cluster.masters {
        node.shutdown().await;
    }
    let restarted = Cluster::start_ha_on(sim, clock, 3, Some(&dirs), |_| {});
    let leader = restarted.elect().await;
    let framework_id = running.framework_id.clone();
    let (recovered_framework, expected_agents) = restarted.masters[leader]
        .1
        .master
        .dispatch(move |m, _| {
            (m.core().framework(&framework_id.into()).map(|f| f.state), m.core().agents().count())
        })
        .await
        .unwrap();
    assert_eq!(recovered_framework, Some(mesos_master::core::FrameworkState::Recovered));
    assert_eq!(expected_agents, 0, "the agent has not re-registered yet");
    reregister(&running, &master_pid(&restarted, leader));
    restarted.settle().await;
    let agents = restarted.masters[leader]
        .1
        .master
        .dispatch(|m, _| m.core().agents().count())
        .await
        .unwrap();
    assert_eq!(agents, 1);
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A framework with failover timeout 0 whose scheduler is alive survives a master
/// failover: the new leader waits for it (at least `--agent_reregister_timeout`) instead
/// of removing it at once, so its re-subscription succeeds.
#[actix_rt::test]
async fn zero_failover_timeout_framework_survives_master_failover() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    let mut scheduler = cluster.scheduler();
    let mut info = framework_info("fw");
    info.failover_timeout = Some(0.0);
    let framework_id = subscribe(&cluster, &mut scheduler, leader, info.clone()).await;
    let new_leader = cluster.fail_over(leader).await;
    cluster.advance(Duration::from_secs(5)).await;
    info.id = Some(framework_id.clone());
    scheduler.resubscribe(master_pid(&cluster, new_leader), &framework_id, info);
    cluster.settle().await;
    let messages = scheduler.drain();
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, SchedMsg::Reregistered(r) if r.framework_id == framework_id)),
        "{messages:?}"
    );
    assert!(!messages.iter().any(|m| matches!(m, SchedMsg::Error(_))), "{messages:?}");
}
