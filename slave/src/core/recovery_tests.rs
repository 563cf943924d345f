//! Transcript tests of the agent core's recovery: checkpointed executors and tasks in,
//! reconnections, re-registration deadlines and lost tasks out.

use std::collections::HashSet;

use mesos_proto::ids::{ContainerId, ExecutorId, TaskId};
use mesos_proto::mesos::internal::{
    ReregisterExecutorMessage, StatusUpdateRecord, status_update_record,
};
use mesos_proto::mesos::{self, SlaveInfo, Task, TaskState, task_status};

use super::tests::{
    command_task, executor_update, framework_info, fw, new_core, now, pid, update_record,
    update_writes,
};
use super::{AgentState, Outgoing, Output, Timer, command_executor_info};
use crate::checkpoint::{RecoveredExecutor, RecoveredFramework, RecoveredState, RecoveredTask};
use crate::containerizer::Signal;
use crate::state::ExecutorState;

fn ack_record(uuid: u8) -> StatusUpdateRecord {
    StatusUpdateRecord {
        r#type: status_update_record::Type::Ack as i32,
        update: None,
        uuid: Some(vec![uuid; 16]),
    }
}

#[allow(deprecated)] // `source` marks command executors.
pub(super) fn recovered_executor(
    id: &str,
    state: TaskState,
    records: Vec<StatusUpdateRecord>,
) -> RecoveredExecutor {
    let info = command_executor_info(&framework_info(), &command_task(id), "/opt/mesos".as_ref());
    let task = Task {
        name: id.into(),
        task_id: TaskId::new(id).into(),
        framework_id: fw().into(),
        state: state as i32,
        ..Default::default()
    };
    RecoveredExecutor {
        info,
        container_id: format!("c-{id}"),
        forked_pid: Some(100),
        libprocess_pid: Some(pid(&format!("executor(1)@10.0.0.2:{}", 40000 + id.len()))),
        completed: false,
        tasks: vec![RecoveredTask { task, records }],
    }
}

/// Recovery (Mesos: SlaveRecoveryTest.RecoverSlaveState, .ReconnectExecutor,
/// .RecoverTerminatedExecutor in spirit): an executor that exited with its terminal
/// update acknowledged is dropped; a live registered one is asked to reconnect and,
/// once it re-registers, kept; one that died while the agent was down has its
/// unfinished task made TASK_LOST (REASON_EXECUTOR_REREGISTRATION_TIMEOUT) when the
/// re-registration deadline passes, after which the agent registers again.
#[test]
fn recovery_keeps_live_executors_and_loses_dead_ones() {
    let mut core = new_core();
    let mut done = recovered_executor(
        "done",
        TaskState::TaskStaging,
        vec![update_record("done", TaskState::TaskFinished, 1), ack_record(1)],
    );
    done.completed = true;
    let live = recovered_executor(
        "live",
        TaskState::TaskStaging,
        vec![update_record("live", TaskState::TaskRunning, 2)],
    );
    let dead = recovered_executor("dead", TaskState::TaskStaging, vec![]);
    let live_pid = live.libprocess_pid.clone().unwrap();
    let state = RecoveredState {
        info: SlaveInfo { id: Some(mesos::SlaveId { value: "S1".into() }), ..Default::default() },
        rebooted: false,
        frameworks: vec![RecoveredFramework {
            info: framework_info(),
            pid: None,
            executors: vec![done, live, dead],
        }],
        resources: Vec::new(),
        drain_config: None,
        operations: Vec::new(),
    };
    let probes = super::containers_to_probe(&state);
    assert_eq!(probes.len(), 2, "the completed executor is not probed");
    let alive: HashSet<ContainerId> = [ContainerId::new("c-live")].into();
    core.recover(Some(state), &alive, now());
    let outputs = core.drain_outputs();
    assert!(
        matches!(&outputs[..], [
        Output::LinkReconnect(p1),
        Output::Send { to, message: Outgoing::ReconnectExecutor(_) },
        Output::Timer { timer: Timer::ExecutorReregistration, .. },
    ] if *p1 == live_pid && *to == live_pid),
        "{outputs:?}"
    );
    let executors = &core.frameworks()[&fw()].executors;
    assert_eq!(executors.len(), 2, "the completed executor is dropped");
    assert_eq!(core.state(), AgentState::Recovering);

    let reregister = ReregisterExecutorMessage {
        executor_id: ExecutorId::new("live").into(),
        framework_id: fw().into(),
        tasks: vec![],
        updates: vec![executor_update("live", TaskState::TaskRunning, 2).update],
    };
    core.on_reregister_executor(&live_pid, reregister, now());
    let outputs = core.drain_outputs();
    assert!(outputs.iter().any(|o| matches!(o,
        Output::Send { to, message: Outgoing::ExecutorReregistered(_) } if *to == live_pid)));
    assert!(update_writes(&outputs).is_empty(), "the resent update is a duplicate");

    core.on_timer(Timer::ExecutorReregistration, now());
    let outputs = core.drain_outputs();
    let signalled: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Signal { container_id, signal: Signal::Term } => Some(container_id.value()),
            _ => None,
        })
        .collect();
    assert_eq!(signalled, ["c-dead"]);
    let lost = update_writes(&outputs);
    assert_eq!(lost.len(), 1, "{outputs:?}");
    assert_eq!(lost[0].0.task_id.value, "dead");
    assert_eq!(lost[0].0.state, TaskState::TaskLost as i32);
    assert_eq!(lost[0].0.reason, Some(task_status::Reason::ExecutorReregistrationTimeout as i32));
    assert_eq!(core.state(), AgentState::Disconnected);
    let live = &core.frameworks()[&fw()].executors[&ExecutorId::new("live")];
    assert_eq!(live.state, ExecutorState::Running);
}
