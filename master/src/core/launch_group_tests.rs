//! LAUNCH_GROUP through the master core: a valid group becomes one
//! `RunTaskGroupMessage`; an invalid one gives every task TASK_ERROR
//! (`REASON_TASK_GROUP_INVALID`) and launches nothing. Mesos:
//! master_validation_tests.cpp `TaskGroupValidationTest`.

use std::collections::BTreeMap;

use mesos_proto::ids::{AgentId, FrameworkId};
use mesos_proto::mesos::{self, internal, offer, scheduler, task_status};
use mesos_proto::resources::Resources;

use super::tests::{core, drain, now, register_agent_with};
use super::{AllocationDecision, MasterCore, Outgoing, Output};

/// A subscribed framework and an offer of the whole agent: (framework, agent, offer).
pub(super) fn offered() -> (MasterCore, FrameworkId, AgentId, mesos::OfferId) {
    let mut core = core();
    register_agent_with(&mut core, "cpus:4;mem:1024;disk:1024");
    drain(&mut core);
    let scheduler: libprocess::Pid = "scheduler(1)@10.0.2.1:8080".parse().unwrap();
    let call = scheduler::Call {
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        subscribe: Some(scheduler::call::Subscribe {
            framework_info: mesos::FrameworkInfo {
                user: "u".into(),
                name: "n".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    core.on_scheduler_call(&scheduler, call, now()).unwrap();
    drain(&mut core);
    let framework_id = core.frameworks().next().unwrap().id.clone();
    let agent_id = core.agents().next().unwrap().id.clone();
    let resources = Resources::parse("cpus:4;mem:1024;disk:1024").unwrap();
    core.on_allocations(vec![AllocationDecision {
        framework_id: framework_id.clone(),
        agent_id: agent_id.clone(),
        resources: BTreeMap::from([("*".to_string(), resources)]),
    }]);
    let offer_id = drain(&mut core)
        .into_iter()
        .find_map(|o| match o.sent() {
            Some((_, Outgoing::ResourceOffers(m))) => Some(m.offers[0].id.clone()),
            _ => None,
        })
        .expect("an offer");
    (core, framework_id, agent_id, offer_id)
}

pub(super) fn executor(framework_id: &FrameworkId) -> mesos::ExecutorInfo {
    mesos::ExecutorInfo {
        r#type: Some(mesos::executor_info::Type::Default as i32),
        executor_id: mesos::ExecutorId { value: "default".into() },
        framework_id: Some(framework_id.into()),
        resources: Resources::parse("cpus:0.1;mem:32;disk:32").unwrap().to_protos(),
        ..Default::default()
    }
}

pub(super) fn task(
    id: &str,
    agent_id: &AgentId,
    executor: &mesos::ExecutorInfo,
) -> mesos::TaskInfo {
    mesos::TaskInfo {
        name: id.into(),
        task_id: mesos::TaskId { value: id.into() },
        slave_id: agent_id.into(),
        resources: Resources::parse("cpus:0.5;mem:64").unwrap().to_protos(),
        executor: Some(executor.clone()),
        command: Some(mesos::CommandInfo { value: Some("sleep 10".into()), ..Default::default() }),
        ..Default::default()
    }
}

pub(super) fn accept_group(
    core: &mut MasterCore,
    framework_id: &FrameworkId,
    offer_id: mesos::OfferId,
    executor: mesos::ExecutorInfo,
    tasks: Vec<mesos::TaskInfo>,
) -> Vec<Output> {
    let accept = scheduler::call::Accept {
        offer_ids: vec![offer_id],
        operations: vec![mesos::offer::Operation {
            r#type: Some(offer::operation::Type::LaunchGroup as i32),
            launch_group: Some(offer::operation::LaunchGroup {
                executor,
                task_group: mesos::TaskGroupInfo { tasks },
            }),
            ..Default::default()
        }],
        filters: None,
    };
    core.on_accept(framework_id, accept, now()).unwrap();
    drain(core)
}

pub(super) fn errors(outputs: &[Output]) -> Vec<(String, i32, String)> {
    outputs
        .iter()
        .filter_map(|o| match o.sent() {
            Some((_, Outgoing::StatusUpdate(m))) => {
                let s = &m.update.status;
                Some((s.task_id.value.clone(), s.state, s.message.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// A valid two-task group: one RunTaskGroupMessage to the agent with both tasks, the
/// executor to launch, and both tasks recorded as STAGING.
#[test]
fn launch_group_sends_run_task_group() {
    let (mut core, framework_id, agent_id, offer_id) = offered();
    let executor = executor(&framework_id);
    let tasks = vec![task("t1", &agent_id, &executor), task("t2", &agent_id, &executor)];
    let outputs = accept_group(&mut core, &framework_id, offer_id, executor, tasks);
    let groups: Vec<&internal::RunTaskGroupMessage> = outputs
        .iter()
        .filter_map(|o| match o.sent() {
            Some((_, Outgoing::RunTaskGroup(m))) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(groups.len(), 1, "{outputs:?}");
    assert_eq!(groups[0].task_group.tasks.len(), 2);
    assert_eq!(groups[0].launch_executor, Some(true));
    assert!(errors(&outputs).is_empty(), "{outputs:?}");
    let framework = core.frameworks().next().unwrap();
    assert_eq!(framework.tasks.len(), 2);
}

/// Each invalid case refuses the whole group: every task gets TASK_ERROR with
/// REASON_TASK_GROUP_INVALID, and nothing goes to the agent.
#[test]
fn invalid_groups_error_every_task() {
    type Break = fn(&mut mesos::ExecutorInfo, &mut Vec<mesos::TaskInfo>);
    let cases: Vec<(&str, Break)> = vec![
        ("'ExecutorInfo.type' must be set", |e, tasks| {
            e.r#type = None;
            for t in tasks {
                t.executor = Some(e.clone());
            }
        }),
        ("must not be set for 'DEFAULT' executor", |e, tasks| {
            e.command = Some(mesos::CommandInfo::default());
            for t in tasks {
                t.executor = Some(e.clone());
            }
        }),
        ("'TaskInfo.executor' must be set", |_, tasks| tasks[1].executor = None),
        ("duplicate ID", |_, tasks| tasks[1].task_id.value = "t1".into()),
        ("is different from executor", |_, tasks| {
            tasks[1].executor.as_mut().unwrap().name = Some("other".into())
        }),
        ("uses less memory", |e, tasks| {
            e.resources = Resources::parse("cpus:0.1;mem:8;disk:32").unwrap().to_protos();
            for t in tasks {
                t.executor = Some(e.clone());
            }
        }),
        ("more than available", |_, tasks| {
            tasks[0].resources = Resources::parse("cpus:64;mem:64").unwrap().to_protos()
        }),
        ("Task group is empty", |_, tasks| tasks.clear()),
    ];
    for (expected, break_group) in cases {
        let (mut core, framework_id, agent_id, offer_id) = offered();
        let mut executor = executor(&framework_id);
        let mut tasks = vec![task("t1", &agent_id, &executor), task("t2", &agent_id, &executor)];
        break_group(&mut executor, &mut tasks);
        let count = tasks.len();
        let outputs = accept_group(&mut core, &framework_id, offer_id, executor, tasks);
        assert!(
            !outputs.iter().any(|o| matches!(o.sent(), Some((_, Outgoing::RunTaskGroup(_))))),
            "{expected}: {outputs:?}"
        );
        let errors = errors(&outputs);
        assert_eq!(errors.len(), count, "{expected}: {outputs:?}");
        for (_, state, message) in errors {
            assert_eq!(state, mesos::TaskState::TaskError as i32);
            assert!(message.contains(expected), "{expected}: {message}");
        }
        let reasons: Vec<_> = outputs
            .iter()
            .filter_map(|o| match o.sent() {
                Some((_, Outgoing::StatusUpdate(m))) => m.update.status.reason,
                _ => None,
            })
            .collect();
        assert!(reasons.iter().all(|r| *r == task_status::Reason::TaskGroupInvalid as i32));
    }
}

/// A task group may run on a CUSTOM executor, as in Mesos (validation.cpp
/// `group::internal::validateExecutor` asks only for a known type, and
/// `executor::internal::validateType` a command for CUSTOM): the master cannot know
/// whether that executor speaks the v1 HTTP API, so it sends the group like any
/// other. A CUSTOM executor without a command is refused.
#[test]
fn task_group_on_a_custom_executor() {
    let (mut core, framework_id, agent_id, offer_id) = offered();
    let custom = mesos::ExecutorInfo {
        r#type: Some(mesos::executor_info::Type::Custom as i32),
        executor_id: mesos::ExecutorId { value: "custom".into() },
        command: Some(mesos::CommandInfo {
            value: Some("./my-executor".into()),
            ..Default::default()
        }),
        ..executor(&framework_id)
    };
    let tasks = vec![task("t1", &agent_id, &custom), task("t2", &agent_id, &custom)];
    let outputs = accept_group(&mut core, &framework_id, offer_id, custom.clone(), tasks);
    assert!(errors(&outputs).is_empty(), "{outputs:?}");
    let sent = outputs.iter().find_map(|o| match o.sent() {
        Some((_, Outgoing::RunTaskGroup(m))) => Some(m),
        _ => None,
    });
    let sent = sent.expect("the group goes to the agent");
    assert_eq!(sent.executor.r#type, Some(mesos::executor_info::Type::Custom as i32));
    assert_eq!(sent.task_group.tasks.len(), 2);

    let (mut core, framework_id, agent_id, offer_id) = offered();
    let no_command = mesos::ExecutorInfo { command: None, ..custom };
    let no_command =
        mesos::ExecutorInfo { framework_id: Some((&framework_id).into()), ..no_command };
    let tasks = vec![task("t1", &agent_id, &no_command)];
    let outputs = accept_group(&mut core, &framework_id, offer_id, no_command, tasks);
    let errors = errors(&outputs);
    assert_eq!(errors.len(), 1, "{outputs:?}");
    assert!(
        errors[0].2.contains("'ExecutorInfo.command' must be set for 'CUSTOM' executor"),
        "{errors:?}"
    );
}
