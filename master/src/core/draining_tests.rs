//! Recovery of operator state from the registry: gone, deactivated and draining agents
//! and the maintenance schedule come back on a new leader (Mesos: master.cpp `_recover`).

use std::time::Duration;

use libprocess::Time;
use mesos_proto::ids::AgentId;
use mesos_proto::mesos::maintenance::{Schedule, Window};
use mesos_proto::mesos::{self, MachineId, SlaveId, SlaveInfo, TimeInfo, Unavailability};
use mesos_registrar::draining::DrainAgent;
use mesos_registrar::operations::{AgentIdAtTime, MachineIds};
use mesos_registrar::{RegistryOperation as Op, RegistryState};

use super::MasterCore;

fn agent(id: &str) -> SlaveInfo {
    SlaveInfo {
        hostname: format!("h{id}"),
        id: Some(SlaveId { value: id.into() }),
        ..Default::default()
    }
}

/// A new leader recovers gone, deactivated and DRAINING agents and the DOWN machine:
/// the gone agent stays gone, the others keep their state, the machine stays DOWN.
#[test]
fn recovery_keeps_gone_draining_and_down() {
    let mut state = RegistryState::new();
    let machine = MachineId { hostname: Some("hx".into()), ip: Some("10.0.1.9".into()) };
    let schedule = Schedule {
        windows: vec![Window {
            machine_ids: vec![machine.clone()],
            unavailability: Unavailability { start: TimeInfo { nanoseconds: 1 }, duration: None },
        }],
    };
    let config = mesos::DrainConfig { max_grace_period: None, mark_gone: Some(false) };
    let ops = [
        Op::AdmitAgent(agent("a")),
        Op::AdmitAgent(agent("b")),
        Op::AdmitAgent(agent("c")),
        Op::MarkGone(AgentIdAtTime {
            id: Some(SlaveId { value: "a".into() }),
            time: Some(TimeInfo { nanoseconds: 5 }),
        }),
        Op::DeactivateAgent(SlaveId { value: "b".into() }),
        Op::DrainAgent(DrainAgent {
            id: Some(SlaveId { value: "c".into() }),
            config: Some(config),
        }),
        Op::UpdateSchedule(schedule),
        Op::StartMaintenance(MachineIds { machines: vec![machine.clone()] }),
    ];
    for op in ops {
        op.apply(&mut state).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
    }
    let config = super::tests::config();
    let core = MasterCore::recover(config, &state, Time::from_epoch(Duration::from_secs(9)));
    assert!(core.is_gone(&AgentId::from("a")));
    assert!(core.is_deactivated(&AgentId::from("b")));
    assert!(core.is_deactivated(&AgentId::from("c")));
    let drain = core.drain_info(&AgentId::from("c")).map(|d| d.state());
    assert_eq!(drain, Some(mesos::DrainState::Draining));
    assert_eq!(core.maintenance_status().down_machines, vec![machine]);
    assert_eq!(core.maintenance_schedule().windows.len(), 1);
}
