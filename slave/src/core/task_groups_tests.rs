//! Transcript tests of task groups in the agent core (`RunTaskGroupMessage`).

use mesos_proto::ids::ExecutorId;
use mesos_proto::mesos::internal::RegisterExecutorMessage;
use mesos_proto::mesos::{self, ExecutorInfo, TaskInfo};

use super::tests::{command_task, executor_pid, framework_info, fw, master, now, running_core};
use super::{Outgoing, Output};

/// RunTaskGroupMessage with a DEFAULT executor: the agent launches
/// `launcher_dir/mesos-default-executor`, queues both tasks, and on registration hands
/// them over as one RunTaskGroupMessage (LAUNCH_GROUP over HTTP). A second group for
/// the running executor goes straight to it. Mesos: slave.cpp `Slave::runTaskGroup`.
#[test]
fn run_task_group_launches_the_default_executor() {
    let mut core = running_core();
    let framework = framework_info();
    let executor = ExecutorInfo {
        r#type: Some(mesos::executor_info::Type::Default as i32),
        executor_id: ExecutorId::new("default").into(),
        framework_id: framework.id.clone(),
        ..Default::default()
    };
    let task = |id: &str| TaskInfo { executor: Some(executor.clone()), ..command_task(id) };
    let group = |ids: &[&str]| mesos_proto::mesos::internal::RunTaskGroupMessage {
        framework: framework.clone(),
        executor: executor.clone(),
        task_group: mesos::TaskGroupInfo { tasks: ids.iter().map(|id| task(id)).collect() },
        resource_version_uuids: Vec::new(),
        launch_executor: Some(true),
    };
    core.on_run_task_group(&master(), group(&["t1", "t2"]), now());
    let outputs = core.drain_outputs();
    let launch = outputs
        .iter()
        .find_map(|o| match o {
            Output::Launch(request) => Some(request),
            _ => None,
        })
        .expect("a launch");
    assert_eq!(
        launch.command.value.as_deref(),
        Some("/opt/mesos/mesos-default-executor"),
        "the agent fills in the default executor's command"
    );
    let register = RegisterExecutorMessage {
        framework_id: fw().into(),
        executor_id: ExecutorId::new("default").into(),
    };
    core.on_register_executor(&executor_pid(), register);
    let groups: Vec<Vec<String>> = core
        .drain_outputs()
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::RunTaskGroup(m) } if *to == executor_pid() => {
                Some(m.task_group.tasks.iter().map(|t| t.task_id.value.clone()).collect())
            }
            Output::Send { message: Outgoing::RunTask(m), .. } => {
                panic!("task {} sent on its own", m.task.task_id.value)
            }
            _ => None,
        })
        .collect();
    assert_eq!(groups, [vec!["t1".to_string(), "t2".to_string()]]);
    core.on_run_task_group(&master(), group(&["t3"]), now());
    let outputs = core.drain_outputs();
    assert!(outputs.iter().any(|o| matches!(o,
        Output::Send { message: Outgoing::RunTaskGroup(m), .. } if m.task_group.tasks.len() == 1)));
    let executor = &core.frameworks()[&fw()].executors[&ExecutorId::new("default")];
    assert_eq!(executor.launched_tasks.len(), 3);
}

/// A task group on a CUSTOM executor that registers over libprocess (a v0 driver, not
/// a v1 HTTP executor), as Mesos's agent treats it (slave.cpp `Slave::run` and
/// `Slave::registerExecutor`: no check of how the executor connects): the agent
/// launches the framework's own command, queues the group, and on registration sends
/// the whole group as one message to the executor's pid, the tasks launched and left
/// STAGING (no update of the agent's own); a kill goes to the executor. An executor
/// built on our SDK handles the message; one that does not know it (Mesos's C++ v0
/// driver drops Mesos's `LAUNCH_GROUP` event alike) leaves the tasks STAGING until
/// they are killed, as with Mesos.
#[test]
fn task_group_on_a_custom_pid_executor() {
    let mut core = running_core();
    let framework = framework_info();
    let executor = ExecutorInfo {
        r#type: Some(mesos::executor_info::Type::Custom as i32),
        executor_id: ExecutorId::new("custom").into(),
        framework_id: framework.id.clone(),
        command: Some(mesos::CommandInfo {
            value: Some("./my-executor".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let task = |id: &str| TaskInfo { executor: Some(executor.clone()), ..command_task(id) };
    let group = mesos_proto::mesos::internal::RunTaskGroupMessage {
        framework: framework.clone(),
        executor: executor.clone(),
        task_group: mesos::TaskGroupInfo { tasks: vec![task("t1"), task("t2")] },
        resource_version_uuids: Vec::new(),
        launch_executor: Some(true),
    };
    core.on_run_task_group(&master(), group, now());
    let outputs = core.drain_outputs();
    let launch = outputs.iter().find_map(|o| match o {
        Output::Launch(request) => Some(request),
        _ => None,
    });
    let launch = launch.expect("the custom executor is launched");
    assert_eq!(launch.command.value.as_deref(), Some("./my-executor"), "its own command");
    let register = RegisterExecutorMessage {
        framework_id: fw().into(),
        executor_id: ExecutorId::new("custom").into(),
    };
    core.on_register_executor(&executor_pid(), register);
    let outputs = core.drain_outputs();
    let sent: Vec<usize> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Outgoing::RunTaskGroup(m) } if *to == executor_pid() => {
                Some(m.task_group.tasks.len())
            }
            _ => None,
        })
        .collect();
    assert_eq!(sent, [2], "one message with the whole group: {outputs:?}");
    assert!(super::tests::update_writes(&outputs).is_empty(), "no update of the agent's own");
    let executor = &core.frameworks()[&fw()].executors[&ExecutorId::new("custom")];
    assert_eq!(executor.launched_tasks.len(), 2);

    let kill = mesos_proto::mesos::internal::KillTaskMessage {
        framework_id: fw().into(),
        task_id: mesos::TaskId { value: "t1".into() },
        ..Default::default()
    };
    core.on_kill_task(&master(), kill, now());
    let outputs = core.drain_outputs();
    assert!(
        outputs.iter().any(|o| matches!(o,
            Output::Send { to, message: Outgoing::KillTask(m) }
                if *to == executor_pid() && m.task_id.value == "t1")),
        "the kill goes to the executor: {outputs:?}"
    );
}
