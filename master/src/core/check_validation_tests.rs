//! Tasks with invalid checks through the master core: LAUNCH gives the task TASK_ERROR
//! with REASON_TASK_INVALID, LAUNCH_GROUP every task of the group TASK_ERROR with
//! REASON_TASK_GROUP_INVALID, each with Mesos's message, and nothing reaches the agent.
//! Mesos: master_validation_tests.cpp `TaskValidationTest.TaskInvalidHealthCheck`
//! style cases, on common/validation.cpp `validateHealthCheck` and `validateCheckInfo`.

use mesos_proto::mesos::{self, check_info, health_check, offer, scheduler, task_status};

use super::launch_group_tests::{accept_group, errors, executor, offered, task};
use super::tests::{drain, now};
use super::{MasterCore, Outgoing, Output};

fn launch(
    core: &mut MasterCore,
    framework_id: &mesos_proto::ids::FrameworkId,
    offer_id: mesos::OfferId,
    task: mesos::TaskInfo,
) -> Vec<Output> {
    let accept = scheduler::call::Accept {
        offer_ids: vec![offer_id],
        operations: vec![offer::Operation {
            r#type: Some(offer::operation::Type::Launch as i32),
            launch: Some(offer::operation::Launch { task_infos: vec![task] }),
            ..Default::default()
        }],
        filters: None,
    };
    core.on_accept(framework_id, accept, now()).unwrap();
    drain(core)
}

fn reasons(outputs: &[Output]) -> Vec<i32> {
    outputs
        .iter()
        .filter_map(|o| match o.sent() {
            Some((_, Outgoing::StatusUpdate(m))) => m.update.status.reason,
            _ => None,
        })
        .collect()
}

fn launched(outputs: &[Output]) -> bool {
    outputs
        .iter()
        .any(|o| matches!(o.sent(), Some((_, Outgoing::RunTask(_) | Outgoing::RunTaskGroup(_)))))
}

fn http_health(port: u32) -> mesos::HealthCheck {
    mesos::HealthCheck {
        r#type: Some(health_check::Type::Http as i32),
        http: Some(health_check::HttpCheckInfo { port, ..Default::default() }),
        ..Default::default()
    }
}

type Break = fn(&mut mesos::TaskInfo);

/// The broken checks, each with the message its TASK_ERROR must carry.
fn cases() -> Vec<(&'static str, Break)> {
    vec![
        ("Task uses invalid health check: HealthCheck must specify 'type'", |t| {
            t.health_check = Some(mesos::HealthCheck::default())
        }),
        (
            "Task uses invalid health check: Expecting 'command' to be set for COMMAND health check",
            |t| {
                t.health_check = Some(mesos::HealthCheck {
                    r#type: Some(health_check::Type::Command as i32),
                    ..Default::default()
                })
            },
        ),
        ("Task uses invalid health check: Expecting 'http' to be set for HTTP health check", |t| {
            t.health_check = Some(mesos::HealthCheck { http: None, ..http_health(80) })
        }),
        ("Task uses invalid health check: Expecting 'delay_seconds' to be non-negative", |t| {
            t.health_check =
                Some(mesos::HealthCheck { delay_seconds: Some(-1.0), ..http_health(80) })
        }),
        ("Task uses invalid health check: Port 65536 is out of range", |t| {
            t.health_check = Some(http_health(65536))
        }),
        ("Task uses invalid check: Expecting 'tcp' to be set for TCP check", |t| {
            t.check = Some(mesos::CheckInfo {
                r#type: Some(check_info::Type::Tcp as i32),
                ..Default::default()
            })
        }),
        ("Task uses invalid check: The path 'x' of HTTP check must start with '/'", |t| {
            t.check = Some(mesos::CheckInfo {
                r#type: Some(check_info::Type::Http as i32),
                http: Some(check_info::Http { port: 80, path: Some("x".into()) }),
                ..Default::default()
            })
        }),
    ]
}

/// LAUNCH of a command task with each broken check: TASK_ERROR, REASON_TASK_INVALID,
/// Mesos's message, no RunTaskMessage; a valid health check launches.
#[test]
fn launch_with_invalid_check_is_task_error() {
    for (expected, break_task) in cases() {
        let (mut core, framework_id, agent_id, offer_id) = offered();
        let mut task = task("t1", &agent_id, &executor(&framework_id));
        task.executor = None;
        break_task(&mut task);
        let outputs = launch(&mut core, &framework_id, offer_id, task);
        assert!(!launched(&outputs), "{expected}: {outputs:?}");
        let errors = errors(&outputs);
        assert_eq!(errors.len(), 1, "{expected}: {outputs:?}");
        assert_eq!(errors[0].1, mesos::TaskState::TaskError as i32);
        assert!(errors[0].2.starts_with(expected), "{expected}: {}", errors[0].2);
        assert_eq!(reasons(&outputs), vec![task_status::Reason::TaskInvalid as i32]);
    }
    let (mut core, framework_id, agent_id, offer_id) = offered();
    let mut task = task("t1", &agent_id, &executor(&framework_id));
    task.executor = None;
    task.health_check = Some(http_health(8080));
    let outputs = launch(&mut core, &framework_id, offer_id, task);
    assert!(launched(&outputs), "{outputs:?}");
    assert!(errors(&outputs).is_empty(), "{outputs:?}");
}

/// LAUNCH_GROUP where one task has a broken check: every task of the group gets
/// TASK_ERROR with REASON_TASK_GROUP_INVALID (Mesos: master.cpp `_accept`, an invalid
/// group) naming the task, and no RunTaskGroupMessage goes out.
#[test]
fn launch_group_with_invalid_check_errors_every_task() {
    for (expected, break_task) in cases() {
        let (mut core, framework_id, agent_id, offer_id) = offered();
        let executor = executor(&framework_id);
        let mut tasks = vec![task("t1", &agent_id, &executor), task("t2", &agent_id, &executor)];
        break_task(&mut tasks[1]);
        let outputs = accept_group(&mut core, &framework_id, offer_id, executor, tasks);
        assert!(!launched(&outputs), "{expected}: {outputs:?}");
        let errors = errors(&outputs);
        assert_eq!(errors.len(), 2, "{expected}: {outputs:?}");
        for (_, state, message) in errors {
            assert_eq!(state, mesos::TaskState::TaskError as i32);
            assert!(message.starts_with("Task 't2' is invalid: "), "{message}");
            assert!(message.contains(expected), "{expected}: {message}");
        }
        let reasons = reasons(&outputs);
        assert!(reasons.iter().all(|r| *r == task_status::Reason::TaskGroupInvalid as i32));
    }
}
