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

fn drain_message(seconds: i64) -> mesos::internal::DrainSlaveMessage {
    let grace = mesos::DurationInfo { nanoseconds: seconds * 1_000_000_000 };
    mesos::internal::DrainSlaveMessage {
        config: mesos::DrainConfig { max_grace_period: Some(grace), mark_gone: Some(false) },
    }
}

/// `MasterDrainingTest` on the agent (Mesos `Slave::drain`, `Slave::__run`): the drain
/// config is checkpointed before anything is killed, and a task arriving while the
/// agent drains is TASK_DROPPED with REASON_SLAVE_DRAINING, never launched.
#[test]
fn drain_is_checkpointed_and_new_tasks_are_dropped() {
    use super::CheckpointWrite;
    use super::tests::{command_task, run_task};
    let mut core = running_core();
    running_t1(&mut core);
    core.on_drain(&master(), drain_message(5), now());
    let outputs = core.drain_outputs();
    assert!(
        matches!(&outputs[0], Output::Checkpoint(CheckpointWrite::DrainConfig(Some(c)))
            if c.max_grace_period.map(|d| d.nanoseconds) == Some(5_000_000_000)),
        "{outputs:?}"
    );
    assert!(core.drain_config().is_some());

    core.on_run_task(&master(), run_task(command_task("t2")), now());
    let outputs = core.drain_outputs();
    assert!(!outputs.iter().any(|o| matches!(o, Output::Launch(_))), "{outputs:?}");
    let dropped: Vec<&mesos::TaskStatus> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::StatusUpdate(u) } if *to == master() => {
                Some(&u.update.status)
            }
            _ => None,
        })
        .collect();
    assert_eq!(dropped.len(), 1, "{outputs:?}");
    assert_eq!(dropped[0].task_id.value, "t2");
    assert_eq!(dropped[0].state(), mesos::TaskState::TaskDropped);
    assert_eq!(dropped[0].reason(), mesos::task_status::Reason::SlaveDraining);
}

/// A drain with no work on the agent is already complete: nothing is checkpointed and
/// tasks are accepted (Mesos `Slave::drain`'s early return).
#[test]
fn drain_of_an_empty_agent_is_complete_at_once() {
    let mut core = running_core();
    core.on_drain(&master(), drain_message(5), now());
    assert!(core.drain_outputs().is_empty());
    assert!(core.drain_config().is_none());
}

/// `SlaveTest`/`MasterDrainingTest` restart scenarios: an agent restarted while
/// draining reads `drain.config` back, and once its executors re-registered (recovery
/// over) it drains again, killing the recovered task with the drain's grace period;
/// tasks stay refused. With no work left after recovery, the drain is over and its
/// checkpoint removed.
#[test]
fn drain_survives_an_agent_restart() {
    use super::CheckpointWrite;
    use super::recovery_tests::recovered_executor;
    use super::tests::{executor_update, fw, new_core};
    use crate::checkpoint::{RecoveredFramework, RecoveredState};
    use mesos_proto::ids::ExecutorId;
    use mesos_proto::mesos::TaskState;
    use std::collections::HashSet;

    let live = recovered_executor(
        "live",
        TaskState::TaskStaging,
        vec![super::tests::update_record("live", TaskState::TaskRunning, 2)],
    );
    let live_pid = live.libprocess_pid.clone().unwrap();
    let config = drain_message(7).config;
    let state = |executors| RecoveredState {
        info: mesos::SlaveInfo {
            id: Some(mesos::SlaveId { value: "S1".into() }),
            ..Default::default()
        },
        rebooted: false,
        frameworks: vec![RecoveredFramework {
            info: super::tests::framework_info(),
            pid: None,
            executors,
        }],
        resources: Vec::new(),
        drain_config: Some(config),
        operations: Vec::new(),
    };
    let mut core = new_core();
    let alive: HashSet<_> = [mesos_proto::ids::ContainerId::new("c-live")].into();
    core.recover(Some(state(vec![live])), &alive, now());
    core.drain_outputs();
    let reregister = mesos::internal::ReregisterExecutorMessage {
        executor_id: ExecutorId::new("live").into(),
        framework_id: fw().into(),
        tasks: vec![],
        updates: vec![executor_update("live", TaskState::TaskRunning, 2).update],
    };
    core.on_reregister_executor(&live_pid, reregister, now());
    core.drain_outputs();
    core.on_timer(super::Timer::ExecutorReregistration, now());
    let outputs = core.drain_outputs();
    let kills: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::KillTask(k) } if *to == live_pid => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(kills.len(), 1, "{outputs:?}");
    assert_eq!(kills[0].kill_policy.and_then(|p| p.grace_period), config.max_grace_period);
    assert_eq!(core.drain_config(), Some(&config));

    // Nothing left to drain after the restart: the drain is over.
    let mut empty = new_core();
    empty.recover(Some(state(Vec::new())), &HashSet::new(), now());
    let outputs = empty.drain_outputs();
    assert!(
        outputs.iter().any(|o| matches!(o, Output::Checkpoint(CheckpointWrite::DrainConfig(None)))),
        "{outputs:?}"
    );
    assert!(empty.drain_config().is_none());
}

/// While draining, an executor's TASK_KILLED carries REASON_SLAVE_DRAINING (Mesos
/// `Slave::statusUpdate`), so the framework learns why its task went.
#[test]
fn killed_while_draining_says_why() {
    use super::tests::{executor_update, update_writes};
    use mesos_proto::mesos::TaskState;
    let mut core = running_core();
    running_t1(&mut core);
    core.on_drain(&master(), drain_message(5), now());
    core.drain_outputs();
    core.on_status_update(&executor_pid(), executor_update("t1", TaskState::TaskKilled, 3), now());
    let written = update_writes(&core.drain_outputs());
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].0.state(), TaskState::TaskKilled);
    assert_eq!(written[0].0.reason(), mesos::task_status::Reason::SlaveDraining);
}
