//! Dynamic reservations and persistent volumes through ACCEPT: ports of Mesos's
//! `ReservationTest` and `PersistentVolumeTest` scenarios (src/tests/reservation_tests.cpp,
//! persistent_volume_tests.cpp) with fake agents and schedulers.

use std::time::Duration;

use mesos_proto::mesos::resource::{DiskInfo, disk_info};
use mesos_proto::mesos::{self, internal, offer};
use mesos_proto::resources::{Resources, resource};

use super::support::{AgentMsg, Cluster, FakeAgent, FakeScheduler, framework_info, task};

pub(super) const ROLE: &str = "role1";
pub(super) const PRINCIPAL: &str = "test-principal";

pub(super) fn role_framework(name: &str, role: &str) -> mesos::FrameworkInfo {
    let mut info = framework_info(name);
    info.roles = vec![role.into()];
    info.principal = Some(PRINCIPAL.into());
    info.capabilities = vec![mesos::framework_info::Capability {
        r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
    }];
    info
}

/// `text` reserved dynamically to `role` by the test principal.
pub(super) fn reserved(text: &str, role: &str) -> Resources {
    let reservation = resource::dynamic_reservation(role, Some(PRINCIPAL), None);
    Resources::parse(text).unwrap().push_reservation(&reservation).unwrap()
}

pub(super) fn reserve(resources: &Resources) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::Reserve as i32),
        reserve: Some(offer::operation::Reserve {
            resources: resources.to_protos(),
            source: Vec::new(),
        }),
        ..Default::default()
    }
}

pub(super) fn unreserve(resources: &Resources) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::Unreserve as i32),
        unreserve: Some(offer::operation::Unreserve { resources: resources.to_protos() }),
        ..Default::default()
    }
}

/// A persistent volume `id` at `path` made of the (reserved) `disk`.
pub(super) fn volume(disk: &Resources, id: &str, path: &str) -> mesos::Resource {
    let mut volume = disk.to_protos().remove(0);
    volume.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: id.into(),
            principal: Some(PRINCIPAL.into()),
        }),
        volume: Some(mesos::Volume {
            container_path: path.into(),
            mode: mesos::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        ..Default::default()
    }));
    volume
}

pub(super) fn create(volumes: Vec<mesos::Resource>) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::Create as i32),
        create: Some(offer::operation::Create { volumes }),
        ..Default::default()
    }
}

pub(super) fn destroy(volumes: Vec<mesos::Resource>) -> offer::Operation {
    offer::Operation {
        r#type: Some(offer::operation::Type::Destroy as i32),
        destroy: Some(offer::operation::Destroy { volumes }),
        ..Default::default()
    }
}

/// The offer's resources without allocation, as the agent's books hold them.
pub(super) fn unallocated(offer: &mesos::Offer) -> Resources {
    let mut resources = Resources::from_protos(offer.resources.clone()).unwrap();
    resources.unallocate();
    resources
}

/// The last `CheckpointResourcesMessage` the agent got, if any.
pub(super) fn checkpointed(agent: &mut FakeAgent) -> Option<Resources> {
    agent.drain().into_iter().rev().find_map(|m| match m {
        AgentMsg::CheckpointResources(c) => Some(Resources::from_protos(c.resources).unwrap()),
        _ => None,
    })
}

/// One agent, one framework in `ROLE`; returns the first offer.
pub(super) async fn setup(
    cluster: &Cluster,
    resources: &str,
) -> (FakeAgent, FakeScheduler, mesos::Offer) {
    let mut agent = cluster.agent(resources);
    agent.register(cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(cluster, role_framework("fw", ROLE)).await;
    cluster.settle().await;
    let mut offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    (agent, scheduler, offers.remove(0))
}

/// The next offer after the 5 s default filter of an ACCEPT has passed.
pub(super) async fn next_offer(cluster: &Cluster, scheduler: &mut FakeScheduler) -> mesos::Offer {
    cluster.advance(Duration::from_secs(6)).await;
    let mut offers = scheduler.offers();
    assert_eq!(offers.len(), 1, "one offer");
    offers.remove(0)
}

/// `ReservationTest.ReserveThenUnreserve`: a framework reserves everything it is
/// offered for its role; the agent is told to checkpoint the reservation; the
/// resources come back reserved; UNRESERVE returns them to the unreserved pool and
/// the agent's checkpoint empties.
#[actix_rt::test]
async fn reservation_test_reserve_then_unreserve() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster, "cpus:1;mem:512").await;
    let dynamic = reserved("cpus:1;mem:512", ROLE);
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve(&dynamic)]);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(dynamic.clone()));
    let offer = next_offer(&cluster, &mut scheduler).await;
    assert_eq!(unallocated(&offer), dynamic, "offered back reserved");

    scheduler.accept_operations(vec![offer.id.clone()], vec![unreserve(&dynamic)]);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(Resources::new()));
    let offer = next_offer(&cluster, &mut scheduler).await;
    assert_eq!(unallocated(&offer), Resources::parse("cpus:1;mem:512").unwrap());
    let stats = cluster.inspect(|m| m.stats().operations_finished).await;
    assert_eq!(stats, 2);
}

/// `ReservationTest.ReserveAndLaunchThenUnreserve`: RESERVE and LAUNCH in one ACCEPT:
/// the task runs on the reserved resources.
#[actix_rt::test]
async fn reservation_test_reserve_and_launch() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = setup(&cluster, "cpus:1;mem:512").await;
    let dynamic = reserved("cpus:1;mem:512", ROLE);
    let mut run = task("t1", &offer, "cpus:1;mem:512");
    run.resources = dynamic.to_protos();
    let launch = offer::Operation {
        r#type: Some(offer::operation::Type::Launch as i32),
        launch: Some(offer::operation::Launch { task_infos: vec![run] }),
        ..Default::default()
    };
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve(&dynamic), launch]);
    cluster.settle().await;
    let messages = agent.drain();
    let run = messages.iter().find_map(|m| match m {
        AgentMsg::RunTask(r) => Some(r.task.clone()),
        _ => None,
    });
    let run = run.expect("the task is launched on the reserved resources");
    let mut used = Resources::from_protos(run.resources).unwrap();
    used.unallocate();
    assert_eq!(used, dynamic);
}

/// Reserved resources are offered only to their role: a framework of another role is
/// not offered them (Mesos: `HierarchicalAllocatorTest.ReservedDRF` in spirit).
#[actix_rt::test]
async fn reserved_resources_are_offered_only_to_their_role() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = setup(&cluster, "cpus:2;mem:512").await;
    let dynamic = reserved("cpus:1;mem:256", ROLE);
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve(&dynamic)]);
    cluster.settle().await;
    // The first framework declines for a long time: everything is free for others.
    cluster.advance(Duration::from_secs(6)).await;
    let offers = scheduler.offers();
    scheduler.decline(offers.iter().map(|o| o.id.clone()).collect(), 3600.0);
    let mut other = cluster.scheduler();
    other.subscribe(&cluster, role_framework("other", "role2")).await;
    cluster.advance(Duration::from_secs(1)).await;
    let offers = other.offers();
    assert_eq!(offers.len(), 1);
    assert_eq!(unallocated(&offers[0]), Resources::parse("cpus:1;mem:256").unwrap());
}

/// `ReservationTest.DropReserveWithInvalidRole` and principal checks: a RESERVE for a
/// role the framework does not have, or signed by another principal, changes nothing
/// (with an id it would be answered; see `operations.rs`).
#[actix_rt::test]
async fn reservation_test_invalid_reservations_change_nothing() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster, "cpus:1;mem:512").await;
    let wrong_role = reserved("cpus:1", "role2");
    let reservation = resource::dynamic_reservation(ROLE, Some("someone-else"), None);
    let wrong_principal =
        Resources::parse("mem:512").unwrap().push_reservation(&reservation).unwrap();
    scheduler.accept_operations(
        vec![offer.id.clone()],
        vec![reserve(&wrong_role), reserve(&wrong_principal)],
    );
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), None);
    let offer = next_offer(&cluster, &mut scheduler).await;
    assert_eq!(unallocated(&offer), Resources::parse("cpus:1;mem:512").unwrap());
    assert_eq!(cluster.inspect(|m| m.stats().operations_error).await, 2);
}

/// `PersistentVolumeTest.CreateAndDestroyPersistentVolumes`: reserve disk, create a
/// volume on it, see it offered back with its `DiskInfo`, launch a task on it (the
/// volume cannot be destroyed while in use), then destroy it once the task is gone.
#[actix_rt::test]
async fn persistent_volume_test_create_and_destroy() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster, "cpus:1;mem:512;disk:1024").await;
    let disk = reserved("disk:1024", ROLE);
    let volume = volume(&disk, "id1", "path1");
    scheduler.accept_operations(
        vec![offer.id.clone()],
        vec![reserve(&disk), create(vec![volume.clone()])],
    );
    cluster.settle().await;
    let expected = Resources::from_protos([volume.clone()]).unwrap();
    assert_eq!(checkpointed(&mut agent), Some(expected.clone()));
    let offer = next_offer(&cluster, &mut scheduler).await;
    let offered = unallocated(&offer);
    assert!(offered.persistent_volumes().contains(&expected), "{offered}");

    // A task on the volume; the volume is in use until it ends.
    let mut run = task("t1", &offer, "cpus:1;mem:128");
    run.resources.extend(expected.to_protos());
    let launch = offer::Operation {
        r#type: Some(offer::operation::Type::Launch as i32),
        launch: Some(offer::operation::Launch { task_infos: vec![run] }),
        ..Default::default()
    };
    scheduler.accept_operations(vec![offer.id.clone()], vec![launch]);
    cluster.settle().await;
    let framework_id = scheduler.id.clone().unwrap();
    agent.update(&framework_id, "t1", mesos::TaskState::TaskFinished, b"u1");
    cluster.settle().await;
    let offer = next_offer(&cluster, &mut scheduler).await;
    assert!(unallocated(&offer).persistent_volumes().contains(&expected), "offered back");

    scheduler.accept_operations(vec![offer.id.clone()], vec![destroy(vec![volume])]);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(disk.clone()), "the volume is gone");
    let offer = next_offer(&cluster, &mut scheduler).await;
    assert!(unallocated(&offer).persistent_volumes().is_empty());
    assert!(unallocated(&offer).contains(&disk));
}

/// `PersistentVolumeTest.DuplicatePersistenceID` and volumes from unreserved disk: both
/// are refused, and nothing is checkpointed.
#[actix_rt::test]
async fn persistent_volume_test_invalid_volumes_are_refused() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, _scheduler, offer) = setup(&cluster, "cpus:1;mem:512;disk:1024").await;
    let disk = reserved("disk:512", ROLE);
    let unreserved = volume(&Resources::parse("disk:256").unwrap(), "id0", "path0");
    let first = volume(&disk, "id1", "path1");
    let mut twin = first.clone();
    if let Some(d) = twin.disk.as_mut()
        && let Some(v) = d.volume.as_mut()
    {
        v.container_path = "path2".into();
    }
    let scheduler = _scheduler;
    scheduler.accept_operations(
        vec![offer.id.clone()],
        vec![create(vec![unreserved]), create(vec![first, twin])],
    );
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), None);
    assert_eq!(cluster.inspect(|m| m.stats().operations_error).await, 2);
}

/// `ReservationTest.MasterFailover` in spirit: a master that never saw the reservation
/// (it failed over) learns it from the agent's re-registration
/// (`checkpointed_resources`) and offers the resources reserved.
#[actix_rt::test]
async fn reservations_come_back_with_reregistration() {
    let cluster = Cluster::start(|_| {});
    let reserved_cpus = reserved("cpus:1", ROLE);
    let agent = cluster.agent("cpus:2;mem:512");
    let info = mesos::SlaveInfo {
        id: Some(mesos::SlaveId { value: "recovered-S1".into() }),
        ..agent.info()
    };
    agent.send(internal::ReregisterSlaveMessage {
        slave: info,
        checkpointed_resources: reserved_cpus.to_protos(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(&cluster, role_framework("fw", ROLE)).await;
    cluster.settle().await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    let offered = unallocated(&offers[0]);
    assert!(offered.contains(&reserved_cpus), "{offered}");
    assert_eq!(offered.reserved(None), reserved_cpus);
}

/// `ReservationTest` with refinement (`RefinedReservations` in Mesos's reservation
/// tests): resources reserved to `eng` are offered to a framework of `eng/web`, which
/// refines the reservation for its own role (a second `reservations` entry); the
/// refined reservation is offered back to `eng/web`, and UNRESERVE pops only the
/// refinement. The agent announces HIERARCHICAL_ROLE and RESERVATION_REFINEMENT.
#[actix_rt::test]
async fn reservation_test_refined_reservation() {
    use mesos_proto::mesos::slave_info::{Capability, capability};
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:1;mem:256");
    let capabilities =
        [capability::Type::HierarchicalRole, capability::Type::ReservationRefinement]
            .into_iter()
            .map(|t| Capability { r#type: Some(t as i32) })
            .collect();
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        agent_capabilities: capabilities,
        ..Default::default()
    });
    cluster.settle().await;
    agent.drain();

    // `eng` reserves everything.
    let mut eng = cluster.scheduler();
    eng.subscribe(&cluster, role_framework("eng", "eng")).await;
    cluster.settle().await;
    let offer = eng.offers().remove(0);
    let for_eng = reserved("cpus:1;mem:256", "eng");
    eng.accept_operations(vec![offer.id.clone()], vec![reserve(&for_eng)]);
    cluster.settle().await;
    // `eng` stops taking offers: suppress.
    eng.call(mesos_proto::mesos::scheduler::Call {
        r#type: Some(mesos_proto::mesos::scheduler::call::Type::Suppress as i32),
        ..Default::default()
    });
    cluster.settle().await;

    let mut web = cluster.scheduler();
    web.subscribe(&cluster, role_framework("web", "eng/web")).await;
    cluster.advance(Duration::from_secs(6)).await;
    let offers = web.offers();
    assert_eq!(offers.len(), 1, "reserved to eng, offered to its subrole");
    assert_eq!(unallocated(&offers[0]), for_eng);
    let refinement = resource::dynamic_reservation("eng/web", Some(PRINCIPAL), None);
    let refined = for_eng.push_reservation(&refinement).unwrap();
    web.accept_operations(vec![offers[0].id.clone()], vec![reserve(&refined)]);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(refined.clone()));
    let offer = next_offer(&cluster, &mut web).await;
    assert_eq!(unallocated(&offer), refined);
    assert!(unallocated(&offer).iter().all(|r| r.reservations.len() == 2));

    web.accept_operations(vec![offer.id.clone()], vec![unreserve(&refined)]);
    cluster.settle().await;
    assert_eq!(checkpointed(&mut agent), Some(for_eng), "back to eng's reservation");
}
