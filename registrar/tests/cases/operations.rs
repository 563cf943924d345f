//! Registry operations, ported from Mesos's `RegistrarTest` (src/tests/registrar_tests.cpp).
//! Mesos's `AWAIT_TRUE` is `Ok(_)` here and `AWAIT_FALSE` is `Err(Rejected)`.

use mesos_proto::mesos::maintenance::{Schedule, Window};
use mesos_proto::mesos::{FrameworkId, MachineId, MasterInfo, SlaveId, Unavailability, WeightInfo};
use mesos_registrar::json::{from_registry_json, to_registry_json};
use mesos_registrar::operations::{
    AgentAtTime, AgentIdAtTime, FrameworkAtTime, MachineIds, PruneAgents, Weights,
};
use mesos_registrar::{
    InMemoryRegistrar, Registrar, RegistrarError, RegistryError, RegistryOperation as Op,
    RegistryState,
};

use super::support::{agent, framework, time};

fn ok(registrar: &InMemoryRegistrar, op: Op) -> bool {
    match registrar.apply(&op) {
        Ok(applied) => applied.mutated,
        Err(error) => panic!("{} failed: {error}", op.name()),
    }
}

fn refused(registrar: &InMemoryRegistrar, op: Op) -> RegistryError {
    match registrar.apply(&op) {
        Err(RegistrarError::Rejected { error, .. }) => error,
        other => panic!("{} should be refused, got {other:?}", op.name()),
    }
}

fn unreachable(id: &str) -> Op {
    Op::MarkUnreachable(AgentAtTime { info: Some(agent(id)), time: Some(time(1)) })
}

fn gone(id: &str) -> Op {
    Op::MarkGone(AgentIdAtTime { id: Some(SlaveId { value: id.into() }), time: Some(time(2)) })
}

fn prune(unreachable: &[&str], gone: &[&str]) -> Op {
    let ids = |list: &[&str]| list.iter().map(|id| SlaveId { value: id.to_string() }).collect();
    Op::Prune(PruneAgents { unreachable: ids(unreachable), gone: ids(gone) })
}

/// RegistrarTest.Recover: recovering records the master's info, and the agent
/// operations then succeed in order (admit, unreachable, reachable, remove).
#[actix_rt::test]
async fn recover() {
    let registrar = InMemoryRegistrar::default();
    let master = MasterInfo { id: "m1".into(), ip: 1, port: 5050, ..Default::default() };
    registrar.submit(Op::Recover(master.clone())).await.expect("recover");
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    assert!(ok(&registrar, unreachable("1")));
    assert!(ok(&registrar, Op::MarkReachable(agent("1"))));
    assert!(ok(&registrar, Op::RemoveAgent(agent("1"))));
    let state = registrar.state().await.expect("state");
    assert_eq!(state.registry().master.as_ref().map(|m| &m.info), Some(&master));
    assert!(state.admitted_agents().is_empty());
}

/// RegistrarTest.Admit: admitting an agent twice fails the second time.
#[test]
fn admit() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    assert_eq!(
        refused(&registrar, Op::AdmitAgent(agent("1"))),
        RegistryError::AgentAlreadyAdmitted { agent_id: "1".into() }
    );
}

/// RegistrarTest.MarkReachable: marking an admitted agent reachable is fine (no change),
/// and so is an agent the registry does not know (it is admitted).
#[test]
fn mark_reachable() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    assert!(!ok(&registrar, Op::MarkReachable(agent("1"))));
    assert!(!ok(&registrar, Op::MarkReachable(agent("1"))));
    assert!(ok(&registrar, Op::MarkReachable(agent("2"))));
}

/// RegistrarTest.MarkUnreachable: admitted -> unreachable -> reachable -> unreachable;
/// marking an unreachable agent unreachable again fails.
#[actix_rt::test]
async fn mark_unreachable() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    assert!(ok(&registrar, unreachable("1")));
    assert!(ok(&registrar, Op::MarkReachable(agent("1"))));
    assert!(ok(&registrar, unreachable("1")));
    assert_eq!(
        refused(&registrar, unreachable("1")),
        RegistryError::AgentNotAdmitted { agent_id: "1".into() }
    );
    let state = registrar.state().await.unwrap();
    assert!(state.is_unreachable("1") && !state.is_admitted("1"));
}

/// RegistrarTest.MarkGone and .MarkUnreachableGone: admitted or unreachable agents can
/// be marked gone; gone twice fails, and a gone agent cannot become unreachable (or
/// reachable) again.
#[test]
fn mark_gone() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    assert!(ok(&registrar, gone("1")));
    assert!(ok(&registrar, Op::AdmitAgent(agent("2"))));
    assert!(ok(&registrar, unreachable("2")));
    assert!(ok(&registrar, gone("2")));
    assert_eq!(
        refused(&registrar, gone("2")),
        RegistryError::AgentAlreadyGone { agent_id: "2".into() }
    );
    assert_eq!(
        refused(&registrar, unreachable("2")),
        RegistryError::AgentNotAdmitted { agent_id: "2".into() }
    );
    assert_eq!(
        refused(&registrar, Op::MarkReachable(agent("2"))),
        RegistryError::AgentGone { agent_id: "2".into() }
    );
    assert_eq!(
        refused(&registrar, gone("3")),
        RegistryError::UnknownAgent { agent_id: "3".into() }
    );
}

/// RegistrarTest.Prune: unreachable and gone agents are forgotten by Prune, after which
/// the same ids can be admitted and go through the cycle again.
#[test]
fn prune_forgets_unreachable_and_gone() {
    let registrar = InMemoryRegistrar::default();
    for _round in 0..2 {
        for id in ["1", "2", "3"] {
            assert!(ok(&registrar, Op::AdmitAgent(agent(id))));
        }
        assert!(ok(&registrar, unreachable("1")));
        assert!(ok(&registrar, unreachable("2")));
        assert!(ok(&registrar, gone("3")));
        assert!(ok(&registrar, prune(&["1"], &[])));
        assert!(ok(&registrar, prune(&["2"], &[])));
        assert!(ok(&registrar, prune(&[], &["3"])));
        // Pruning ids that are not there changes nothing (Mesos: a concurrent operation).
        assert!(!ok(&registrar, prune(&["1"], &["3"])));
    }
}

/// RegistrarTest.Remove: removing an admitted agent succeeds once; it can be admitted
/// again afterwards.
#[test]
fn remove() {
    let registrar = InMemoryRegistrar::default();
    for id in ["1", "2", "3"] {
        assert!(ok(&registrar, Op::AdmitAgent(agent(id))));
    }
    assert!(ok(&registrar, Op::RemoveAgent(agent("1"))));
    refused(&registrar, Op::RemoveAgent(agent("1")));
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    for id in ["2", "3"] {
        assert!(ok(&registrar, Op::RemoveAgent(agent(id))));
        refused(&registrar, Op::RemoveAgent(agent(id)));
    }
}

fn weight(role: &str, weight: f64) -> WeightInfo {
    WeightInfo { role: Some(role.into()), weight }
}

/// RegistrarTest.UpdateWeights: weights are added per role, updated in place when they
/// change, and an update to the same value or an empty update changes nothing.
#[actix_rt::test]
async fn update_weights() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::UpdateWeights(Weights { weights: vec![weight("role1", 2.0)] })));
    assert!(ok(
        &registrar,
        Op::UpdateWeights(Weights { weights: vec![weight("role1", 4.0), weight("role2", 1.0)] })
    ));
    assert!(!ok(&registrar, Op::UpdateWeights(Weights { weights: vec![weight("role2", 1.0)] })));
    assert!(!ok(&registrar, Op::UpdateWeights(Weights { weights: vec![] })));
    let state = registrar.state().await.unwrap();
    let weights: Vec<(Option<&str>, f64)> =
        state.registry().weights.iter().map(|w| (w.info.role.as_deref(), w.info.weight)).collect();
    assert_eq!(weights, vec![(Some("role1"), 4.0), (Some("role2"), 1.0)]);
}

fn machine(hostname: &str) -> MachineId {
    MachineId { hostname: Some(hostname.into()), ip: None }
}

fn schedule(windows: &[&[&str]]) -> Schedule {
    Schedule {
        windows: windows
            .iter()
            .map(|hosts| Window {
                machine_ids: hosts.iter().map(|h| machine(h)).collect(),
                unavailability: Unavailability { start: time(10), duration: None },
            })
            .collect(),
    }
}

/// RegistrarTest.UpdateMaintenanceSchedule / StartMaintenance / StopMaintenance: new
/// machines start DRAINING, removed ones are forgotten, started ones go DOWN, stopped
/// ones leave the schedule (and empty windows and schedules go with them).
#[actix_rt::test]
async fn maintenance_schedule() {
    use mesos_proto::mesos::machine_info::Mode;
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::UpdateSchedule(schedule(&[&["a"], &["b"]]))));
    assert!(ok(&registrar, Op::UpdateSchedule(schedule(&[&["a"], &["b", "c"]]))));
    assert!(ok(&registrar, Op::StartMaintenance(MachineIds { machines: vec![machine("c")] })));
    let state = registrar.state().await.unwrap();
    let modes: Vec<(String, i32)> = state
        .registry()
        .machines
        .as_ref()
        .unwrap()
        .machines
        .iter()
        .map(|m| (m.info.id.hostname.clone().unwrap(), m.info.mode.unwrap()))
        .collect();
    assert_eq!(
        modes,
        vec![
            ("a".into(), Mode::Draining as i32),
            ("b".into(), Mode::Draining as i32),
            ("c".into(), Mode::Down as i32)
        ]
    );
    assert!(ok(
        &registrar,
        Op::StopMaintenance(MachineIds { machines: vec![machine("a"), machine("c")] })
    ));
    let state = registrar.state().await.unwrap();
    assert_eq!(state.registry().schedules, vec![schedule(&[&["b"]])]);
    assert_eq!(state.registry().machines.as_ref().unwrap().machines.len(), 1);
    assert!(ok(&registrar, Op::StopMaintenance(MachineIds { machines: vec![machine("b")] })));
    let state = registrar.state().await.unwrap();
    assert!(state.registry().schedules.is_empty());
}

/// Frameworks (our addition): registered once, updated with their disconnection time,
/// removed into the completed list, and a completed id can never register again.
#[actix_rt::test]
async fn frameworks_register_update_remove() {
    let registrar = InMemoryRegistrar::default();
    let register = |id: &str| {
        Op::RegisterFramework(FrameworkAtTime {
            info: Some(framework(id, 60.0)),
            time: Some(time(1)),
        })
    };
    assert!(ok(&registrar, register("f1")));
    assert_eq!(
        refused(&registrar, register("f1")),
        RegistryError::FrameworkAlreadyRegistered { framework_id: "f1".into() }
    );
    let disconnect = Op::UpdateFramework(FrameworkAtTime {
        info: Some(framework("f1", 60.0)),
        time: Some(time(5_000_000_000)),
    });
    assert!(ok(&registrar, disconnect.clone()));
    assert!(!ok(&registrar, disconnect));
    let state = registrar.state().await.unwrap();
    assert_eq!(state.frameworks()["f1"].failover_deadline_ns(), Some(65_000_000_000));
    assert!(ok(&registrar, Op::RemoveFramework(FrameworkId { value: "f1".into() })));
    refused(&registrar, Op::RemoveFramework(FrameworkId { value: "f1".into() }));
    assert_eq!(
        refused(&registrar, register("f1")),
        RegistryError::FrameworkCompleted { framework_id: "f1".into() }
    );
}

/// The operations `touches_registry` calls harmless leave the Mesos registry message as
/// it was (the raft driver then keeps its size instead of walking it again), the
/// others report that they may change it.
#[test]
fn framework_operations_leave_the_registry_message_alone() {
    let mut state = RegistryState::default();
    Op::AdmitAgent(agent("a1")).apply(&mut state).expect("admit");
    let before = state.registry().clone();
    let framework_ops = [
        Op::InitializeCluster("c1".into()),
        Op::RegisterFramework(FrameworkAtTime {
            info: Some(framework("f1", 60.0)),
            time: Some(time(1)),
        }),
        Op::UpdateFramework(FrameworkAtTime {
            info: Some(framework("f1", 60.0)),
            time: Some(time(2)),
        }),
        Op::RemoveFramework(FrameworkId { value: "f1".into() }),
    ];
    for op in framework_ops {
        assert!(!op.touches_registry(), "{}", op.name());
        op.apply(&mut state).expect("applies");
        assert_eq!(state.registry(), &before, "{} changed the registry", op.name());
    }
    assert!(Op::AdmitAgent(agent("a2")).touches_registry());
}

/// The cluster id is set once; admitting an agent or registering a framework whose id
/// was generated under it raises the counter past it (never lowers it); other ids leave
/// the counters alone.
#[actix_rt::test]
async fn ids_never_go_back() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::AdmitAgent(agent("c1-S7"))), "no cluster id yet: nothing counted");
    assert!(ok(&registrar, Op::InitializeCluster("c1".into())));
    assert!(!ok(&registrar, Op::InitializeCluster("c1".into())));
    refused(&registrar, Op::InitializeCluster("c2".into()));
    assert!(ok(&registrar, Op::AdmitAgent(agent("c1-S99"))));
    assert!(ok(&registrar, Op::AdmitAgent(agent("c1-S5"))));
    assert!(ok(&registrar, Op::AdmitAgent(agent("other-S500"))));
    let register = |id: &str| {
        Op::RegisterFramework(FrameworkAtTime {
            info: Some(framework(id, 60.0)),
            time: Some(time(1)),
        })
    };
    assert!(ok(&registrar, register("c1-0012")));
    assert!(ok(&registrar, register("c1-0003")));
    let ids = registrar.state().await.unwrap().ids().clone();
    assert_eq!((ids.cluster_id.as_str(), ids.next_agent, ids.next_framework), ("c1", 100, 13));
}

/// A refused operation changes nothing at all (here: gone without a time).
#[actix_rt::test]
async fn refused_operations_change_nothing() {
    let registrar = InMemoryRegistrar::default();
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    let before = registrar.state().await.unwrap();
    refused(
        &registrar,
        Op::MarkGone(AgentIdAtTime { id: Some(SlaveId { value: "1".into() }), time: None }),
    );
    refused(&registrar, Op::MarkUnreachable(AgentAtTime { info: Some(agent("1")), time: None }));
    assert_eq!(registrar.state().await.unwrap(), before);
}

/// The binary encoding round-trips a full registry exactly, and the JSON backup format
/// reaches a fixed point with the same agents, frameworks and ids.
#[actix_rt::test]
async fn encoding_and_json_round_trip() {
    let registrar = InMemoryRegistrar::default();
    ok(&registrar, Op::InitializeCluster("c".into()));
    for id in ["1", "2", "3", "4", "c-S6"] {
        ok(&registrar, Op::AdmitAgent(agent(id)));
    }
    ok(&registrar, unreachable("2"));
    ok(&registrar, gone("3"));
    ok(&registrar, Op::UpdateWeights(Weights { weights: vec![weight("r", 2.5)] }));
    ok(
        &registrar,
        Op::RegisterFramework(FrameworkAtTime {
            info: Some(framework("f1", 10.0)),
            time: Some(time(7)),
        }),
    );
    ok(
        &registrar,
        Op::RegisterFramework(FrameworkAtTime {
            info: Some(framework("f2", 10.0)),
            time: Some(time(7)),
        }),
    );
    ok(&registrar, Op::RemoveFramework(FrameworkId { value: "f2".into() }));
    let state = registrar.state().await.unwrap();
    assert_eq!(RegistryState::decode(&state.encode()).unwrap(), state);
    let json = to_registry_json(&state);
    let text = serde_json::to_string(&json).unwrap();
    let parsed = from_registry_json(&serde_json::from_str(&text).unwrap()).unwrap();
    // Mesos's JSON writes fields that have explicit defaults, so compare as JSON.
    assert_eq!(to_registry_json(&parsed), json);
    assert!(parsed.is_admitted("4") && parsed.is_unreachable("2") && parsed.is_gone("3"));
    assert_eq!(parsed.ids(), state.ids());
    assert_eq!(json["registry"]["slaves"]["slaves"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["ids"]["next_agent"], 7);
}

/// RegistrarTest.DrainAgent / DeactivateAgent (Mesos 1.9): draining records the config
/// and deactivates; both survive a partition; MARK_AGENT_DRAINED needs DRAINING;
/// reactivation ends draining; unknown agents change nothing.
#[actix_rt::test]
async fn drain_deactivate_reactivate() {
    use mesos_proto::mesos::{DrainConfig, DrainState};
    use mesos_registrar::draining::DrainAgent;
    let registrar = InMemoryRegistrar::default();
    let id = |v: &str| SlaveId { value: v.into() };
    assert!(ok(&registrar, Op::AdmitAgent(agent("1"))));
    assert!(!ok(&registrar, Op::DeactivateAgent(id("2"))));
    refused(&registrar, Op::MarkAgentDrained(id("1")));
    let config = DrainConfig { max_grace_period: None, mark_gone: Some(true) };
    let drain = Op::DrainAgent(DrainAgent { id: Some(id("1")), config: Some(config) });
    assert!(ok(&registrar, drain));
    assert!(ok(&registrar, unreachable("1")));
    let state = registrar.state().await.expect("state");
    let entry = &state.unreachable_agents()[0];
    assert_eq!(entry.deactivated, Some(true));
    assert_eq!(entry.drain_info.as_ref().map(|d| d.config), Some(config));
    assert!(ok(&registrar, Op::MarkReachable(agent("1"))));
    assert!(ok(&registrar, Op::MarkAgentDrained(id("1"))));
    let state = registrar.state().await.expect("state");
    let entry = &state.admitted_agents()[0];
    assert_eq!(entry.drain_info.as_ref().map(|d| d.state), Some(DrainState::Drained as i32));
    assert!(ok(&registrar, Op::ReactivateAgent(id("1"))));
    let state = registrar.state().await.expect("state");
    let entry = &state.admitted_agents()[0];
    assert_eq!((entry.deactivated, entry.drain_info.is_none()), (Some(false), true));
}
