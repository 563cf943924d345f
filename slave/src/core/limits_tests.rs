//! Transcript tests of resizing a custom executor's container.

use mesos_proto::ids::{ExecutorId, TaskId};
use mesos_proto::mesos::internal::{RegisterExecutorMessage, StatusUpdate, StatusUpdateMessage};
use mesos_proto::mesos::{self, CommandInfo, ExecutorInfo, TaskInfo, TaskState, TaskStatus};
use mesos_proto::resources::Resources;

use super::Output;
use super::tests::{executor_pid, fw, master, now, run_task, running_core};
use crate::limits::ContainerLimits;

fn task(id: &str, resources: &str) -> TaskInfo {
    let executor = ExecutorInfo {
        executor_id: ExecutorId::new("E").into(),
        framework_id: Some(fw().into()),
        command: Some(CommandInfo { value: Some("./executor".into()), ..Default::default() }),
        resources: Resources::parse("cpus:0.1;mem:32").unwrap().to_protos(),
        ..Default::default()
    };
    TaskInfo {
        name: id.into(),
        task_id: TaskId::new(id).into(),
        executor: Some(executor),
        resources: Resources::parse(resources).unwrap().to_protos(),
        ..Default::default()
    }
}

fn resized(outputs: &[Output]) -> Vec<ContainerLimits> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::UpdateLimits { limits, .. } => Some(*limits),
            _ => None,
        })
        .collect()
}

fn limits(cpus: f64, mem_mb: u64) -> ContainerLimits {
    ContainerLimits { cpus: Some(cpus), mem_bytes: Some(mem_mb << 20) }
}

/// Mesos `containerizer->update` with `Executor::allocatedResources`: a custom
/// executor launched for `t1` is sized for itself and `t1`; when `t2` joins it grows
/// by `t2`, when `t2` ends it shrinks back; unchanged holdings resize nothing.
#[test]
fn custom_executor_is_resized_as_tasks_join_and_leave() {
    let mut core = running_core();
    core.on_run_task(&master(), run_task(task("t1", "cpus:1;mem:128")), now());
    let outputs = core.drain_outputs();
    let Some(Output::Launch(request)) = outputs.iter().find(|o| matches!(o, Output::Launch(_)))
    else {
        panic!("{outputs:?}")
    };
    assert_eq!(request.limits, limits(1.1, 160));
    assert!(resized(&outputs).is_empty());
    let register = RegisterExecutorMessage {
        executor_id: ExecutorId::new("E").into(),
        framework_id: fw().into(),
    };
    core.on_register_executor(&executor_pid(), register);
    assert!(resized(&core.drain_outputs()).is_empty(), "t1 was already counted");

    core.on_run_task(&master(), run_task(task("t2", "cpus:0.5;mem:64")), now());
    let grown = resized(&core.drain_outputs());
    assert_eq!(grown.len(), 1);
    assert!((grown[0].cpus.unwrap() - 1.6).abs() < 1e-9);
    assert_eq!(grown[0].mem_bytes, Some(224 << 20));

    let uuid = vec![2; 16];
    let update = StatusUpdate {
        framework_id: fw().into(),
        executor_id: Some(ExecutorId::new("E").into()),
        slave_id: Some(mesos::SlaveId { value: "S1".into() }),
        status: TaskStatus {
            task_id: TaskId::new("t2").into(),
            state: TaskState::TaskFinished as i32,
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp: 1000.0,
        uuid: Some(uuid),
        latest_state: None,
    };
    let message = StatusUpdateMessage { update, pid: Some(executor_pid().to_string()) };
    core.on_status_update(&executor_pid(), message, now());
    let shrunk = resized(&core.drain_outputs());
    assert_eq!(shrunk.len(), 1);
    assert!((shrunk[0].cpus.unwrap() - 1.1).abs() < 1e-9);
    assert_eq!(shrunk[0].mem_bytes, Some(160 << 20));
}
