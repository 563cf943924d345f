//! Reservations and persistent volumes survive a master failover with a real raft
//! group on the simulated network: the new leader learns them from the agent's
//! re-registration (`checkpointed_resources`); the registry holds none of them, as in
//! Mesos.

use std::time::Duration;

use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;

use super::reservations::{
    ROLE, checkpointed, create, reserve, reserved, role_framework, unallocated, volume,
};
use super::support::{AgentMsg, Cluster, SchedMsg};

/// `ReservationTest.MasterFailover`-style, with a volume: a framework reserves disk and
/// creates a volume through the leader; the leader dies; once another master leads,
/// the agent re-registers reporting what it checkpointed and the framework
/// re-subscribes; the new leader offers the reservation and the volume with its
/// `DiskInfo`, to the framework's role only.
#[actix_rt::test]
async fn reservation_and_volume_survive_master_failover() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    let leader_pid = cluster.masters[leader].1.master.pid().clone();
    let mut agent = cluster.agent("cpus:1;mem:512;disk:1024");
    agent.master = leader_pid.clone();
    let agent_id = agent.register(&cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.master = leader_pid;
    let mut info = role_framework("fw", ROLE);
    info.failover_timeout = Some(3600.0);
    let framework_id = scheduler.subscribe(&cluster, info.clone()).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    let disk = reserved("disk:1024", ROLE);
    let vol = volume(&disk, "db", "data");
    scheduler
        .accept_operations(vec![offer.id.clone()], vec![reserve(&disk), create(vec![vol.clone()])]);
    cluster.settle().await;
    let kept = checkpointed(&mut agent).expect("the agent was told to checkpoint");
    assert_eq!(kept, Resources::from_protos([vol.clone()]).unwrap());

    // The leader's machine dies; wait for another master to lead.
    let new_leader = cluster.fail_over(leader).await;
    let new_master = cluster.masters[new_leader].1.master.clone();

    // The agent comes back with what it checkpointed, the framework re-subscribes.
    agent.master = new_master.pid().clone();
    let mut registered_info = info.clone();
    registered_info.id = Some(framework_id.clone());
    agent.send(internal::ReregisterSlaveMessage {
        slave: agent.info(),
        checkpointed_resources: kept.to_protos(),
        frameworks: vec![registered_info.clone()],
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    let messages = agent.drain();
    assert!(
        messages.iter().any(|m| matches!(m, AgentMsg::Reregistered(r) if r.slave_id == agent_id))
    );
    let echoed = messages.iter().find_map(|m| match m {
        AgentMsg::CheckpointResources(c) => {
            Some(Resources::from_protos(c.resources.clone()).unwrap())
        }
        _ => None,
    });
    assert_eq!(echoed, Some(kept.clone()), "the new leader sends its view back: the same");
    scheduler.resubscribe(new_master.pid().clone(), &framework_id, registered_info);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let offers: Vec<mesos::Offer> = scheduler
        .drain()
        .into_iter()
        .flat_map(|m| if let SchedMsg::Offers(o) = m { o.offers } else { Vec::new() })
        .collect();
    assert_eq!(offers.len(), 1, "the new leader offers the agent");
    let offered = unallocated(&offers[0]);
    assert!(offered.persistent_volumes().contains(&kept), "{offered}");
    assert_eq!(offered.reserved(Some(ROLE)), kept);
}
