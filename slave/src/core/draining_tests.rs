//! Transcript tests of draining in the agent core (`DrainSlaveMessage`).

use mesos_proto::mesos;

use super::tests::{executor_pid, master, now, pid, running_core, running_t1};
use super::{Outgoing, Output};

/// `MasterDrainingTest` on the agent side (Mesos `Slave::drain`): DrainSlaveMessage from
/// the master kills every running task with the drain's grace period; from anyone else
/// it is ignored.
#[test]
fn drain_kills_every_task_within_the_grace_period() {
    use mesos_proto::mesos::internal::DrainSlaveMessage;
    let mut core = running_core();
    running_t1(&mut core);
    let five = mesos::DurationInfo { nanoseconds: 5_000_000_000 };
    let drain = DrainSlaveMessage {
        config: mesos::DrainConfig { max_grace_period: Some(five), mark_gone: None },
    };
    core.on_drain(&pid("stranger(1)@10.9.9.9:1"), drain, now());
    assert!(core.drain_outputs().is_empty(), "only the master may drain");
    core.on_drain(&master(), drain, now());
    let outputs = core.drain_outputs();
    let kills: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::KillTask(k) } if *to == executor_pid() => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(kills.len(), 1, "{outputs:?}");
    assert_eq!(kills[0].task_id.value, "t1");
    assert_eq!(kills[0].kill_policy.and_then(|p| p.grace_period), Some(five));
}
