//! The direct writers against the `Value` renderers they replace, byte for byte, on a
//! snapshot with every optional field filled somewhere.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use mesos_proto::mesos;
use mesos_proto::resources::Resources;

use super::super::json_out::JsonOut;
use super::super::query::Query;
use super::super::{endpoints, state_json};
use super::*;
use crate::core::{Agent, AgentOperatorState, Framework, FrameworkState, OfferEntry};
use crate::http::task_json::TaskJsonCache;
use crate::snapshot::StateSnapshot;

fn at(secs: f64) -> Time {
    Time::from_epoch(Duration::from_secs_f64(secs))
}

fn resources(text: &str, role: &str) -> Vec<mesos::Resource> {
    let mut r = Resources::parse(text).expect("resources");
    r.allocate(role);
    r.to_protos()
}

fn labels(n: usize) -> Option<mesos::Labels> {
    let mut labels: Vec<mesos::Label> = (0..n)
        .map(|i| mesos::Label { key: format!("k{i}"), value: Some(format!("v\"{i}")) })
        .collect();
    labels.push(mesos::Label { key: "bare".into(), value: None });
    Some(mesos::Labels { labels })
}

fn status(state: mesos::TaskState, time: f64, full: bool) -> mesos::TaskStatus {
    let mut status =
        mesos::TaskStatus { state: state as i32, timestamp: Some(time), ..Default::default() };
    if full {
        status.source = Some(mesos::task_status::Source::Executor as i32);
        status.reason = Some(mesos::task_status::Reason::CommandExecutorFailed as i32);
        status.message = Some("it\nfailed".into());
        status.labels = labels(1);
        status.healthy = Some(true);
        status.container_status =
            Some(mesos::ContainerStatus { executor_pid: Some(42), ..Default::default() });
    }
    status
}

fn task(
    id: &str,
    framework: &str,
    agent: &str,
    state: mesos::TaskState,
    full: bool,
) -> mesos::Task {
    let mut task = mesos::Task {
        name: format!("task {id}"),
        task_id: mesos::TaskId { value: id.into() },
        framework_id: mesos::FrameworkId { value: framework.into() },
        slave_id: mesos::SlaveId { value: agent.into() },
        state: state as i32,
        resources: resources("cpus:0.1;mem:5;cpus:0.2", "web"),
        statuses: vec![status(state, 1000.25, full)],
        labels: labels(3),
        ..Default::default()
    };
    if full {
        task.resources = resources("cpus:1;mem:128;ports:[31000-31001];disk(web):10", "web");
        task.executor_id = Some(mesos::ExecutorId { value: "exec".into() });
        task.user = Some("alice".into());
        task.limits.insert("cpus".into(), mesos::value::Scalar { value: 2.5 });
        task.limits.insert("mem".into(), mesos::value::Scalar { value: 256.0 });
        task.discovery = Some(Box::new(mesos::DiscoveryInfo {
            visibility: mesos::discovery_info::Visibility::Framework as i32,
            name: Some("svc".into()),
            ..Default::default()
        }));
        task.health_check =
            Some(Box::new(mesos::HealthCheck { delay_seconds: Some(3.0), ..Default::default() }));
        task.container = Some(Box::new(mesos::ContainerInfo {
            r#type: mesos::container_info::Type::Mesos as i32,
            hostname: Some("box".into()),
            ..Default::default()
        }));
        task.statuses.push(status(mesos::TaskState::TaskRunning, 1001.5, false));
    }
    task
}

fn executor(id: &str, framework: &str) -> mesos::ExecutorInfo {
    mesos::ExecutorInfo {
        executor_id: mesos::ExecutorId { value: id.into() },
        framework_id: Some(mesos::FrameworkId { value: framework.into() }),
        name: Some(format!("executor {id}")),
        command: Some(mesos::CommandInfo {
            value: Some("run it".into()),
            shell: Some(true),
            arguments: vec!["a".into(), "b".into()],
            uris: vec![mesos::command_info::Uri {
                value: "http://x/y.tgz".into(),
                executable: Some(true),
                ..Default::default()
            }],
            environment: Some(mesos::Environment {
                variables: vec![mesos::environment::Variable {
                    name: "A".into(),
                    value: Some("1".into()),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        resources: resources("cpus:0.5;mem:32", "web"),
        labels: labels(1),
        r#type: Some(mesos::executor_info::Type::Custom as i32),
        ..Default::default()
    }
}

fn agent(n: usize) -> Agent {
    let id = AgentId::from(format!("S{n}"));
    let info = mesos::SlaveInfo {
        hostname: format!("host{n}"),
        port: Some(5051 + n as i32),
        id: Some((&id).into()),
        attributes: mesos_proto::attributes::Attributes::parse("rack:a;zone:eu-1;weight:2.5")
            .expect("attributes")
            .to_protos(),
        domain: (n == 0).then(|| mesos::DomainInfo {
            fault_domain: Some(mesos::domain_info::FaultDomain {
                region: mesos::domain_info::fault_domain::RegionInfo { name: "r".into() },
                zone: mesos::domain_info::fault_domain::ZoneInfo { name: "z".into() },
            }),
        }),
        ..Default::default()
    };
    let total = Resources::parse("cpus:4;mem:1024;disk:100;ports:[31000-31009];cpus(web):2")
        .expect("resources");
    let pid: Pid = format!("slave(1)@127.0.0.1:{}", 5051 + n).parse().expect("pid");
    let mut agent = Agent::new(
        id,
        pid,
        info,
        "1.11.0".into(),
        vec![mesos::slave_info::Capability {
            r#type: Some(mesos::slave_info::capability::Type::MultiRole as i32),
        }],
        total,
        at(10.5),
        (n == 1).then(|| at(20.0)),
    );
    let framework = FrameworkId::from("F0");
    let mut used = Resources::parse("cpus:1;mem:128").expect("resources");
    used.allocate("web");
    agent.used.insert(framework, used);
    agent
}

fn framework(id: &str, state: FrameworkState, multi_role: bool) -> Framework {
    let mut info = mesos::FrameworkInfo {
        user: "tester".into(),
        name: format!("framework {id}"),
        id: Some(mesos::FrameworkId { value: id.into() }),
        failover_timeout: Some(60.0),
        checkpoint: Some(true),
        hostname: Some("sched-host".into()),
        principal: Some("p".into()),
        webui_url: Some("http://ui".into()),
        labels: labels(2),
        ..Default::default()
    };
    if multi_role {
        info.roles = vec!["web".into(), "db".into()];
        info.capabilities = vec![mesos::framework_info::Capability {
            r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
        }];
    }
    let pid: Option<Pid> = (state == FrameworkState::Active)
        .then(|| "scheduler(1)@127.0.0.1:9000".parse().expect("pid"));
    let mut f = Framework::new(id.into(), info, pid, state, BTreeSet::new(), at(5.0));
    f.reregistered_time = multi_role.then(|| at(6.0));
    f.unregistered_time = (state != FrameworkState::Active).then(|| at(7.0));
    f
}

/// Two agents, three frameworks (one completed, one recovered), tasks live,
/// unreachable and completed, executors, offers, a draining agent.
/// A snapshot with every optional field filled somewhere (also `get_state`'s test).
pub(in crate::http) fn populated() -> StateSnapshot {
    let agents: Vec<Arc<Agent>> = (0..2).map(|n| Arc::new(agent(n))).collect();
    let mut f0 = framework("F0", FrameworkState::Active, true);
    for (i, state) in
        [mesos::TaskState::TaskRunning, mesos::TaskState::TaskStaging].into_iter().enumerate()
    {
        let t = task(&format!("t{i}"), "F0", "S0", state, i == 0);
        f0.tasks.insert(TaskId::from(format!("t{i}")), t);
    }
    let lost = task("t9", "F0", "S1", mesos::TaskState::TaskUnreachable, false);
    f0.tasks.insert(TaskId::from("t9"), lost);
    f0.completed_tasks.push_back(Arc::new(task(
        "t5",
        "F0",
        "S1",
        mesos::TaskState::TaskFinished,
        true,
    )));
    let mut on_agent = HashMap::new();
    on_agent.insert(ExecutorId::from("exec"), executor("exec", "F0"));
    on_agent.insert(ExecutorId::from("another"), executor("another", "F0"));
    f0.executors.insert(AgentId::from("S0"), on_agent);
    let f1 = framework("F1", FrameworkState::Recovered, false);
    let mut done = framework("F2", FrameworkState::Inactive, false);
    done.completed_tasks.push_back(Arc::new(task(
        "t7",
        "F2",
        "S0",
        mesos::TaskState::TaskKilled,
        false,
    )));
    let offer = |n: usize, agent: &str| {
        let resources = Resources::from_protos(resources("cpus:2;mem:512", "web")).expect("ok");
        OfferEntry {
            offer: mesos::Offer {
                id: mesos::OfferId { value: format!("O{n}") },
                framework_id: mesos::FrameworkId { value: "F0".into() },
                slave_id: mesos::SlaveId { value: agent.into() },
                hostname: "h".into(),
                resources: resources.to_protos(),
                allocation_info: Some(mesos::resource::AllocationInfo { role: Some("web".into()) }),
                ..Default::default()
            },
            id: OfferId::from(format!("O{n}")),
            framework_id: FrameworkId::from("F0"),
            agent_id: AgentId::from(agent),
            resources,
        }
    };
    let mut operator_states = HashMap::new();
    operator_states.insert(
        AgentId::from("S1"),
        AgentOperatorState {
            deactivated: true,
            drain_info: Some(mesos::DrainInfo {
                state: mesos::DrainState::Draining as i32,
                config: mesos::DrainConfig { mark_gone: Some(true), ..Default::default() },
            }),
            estimated_drain_start_time: Some(at(30.0)),
        },
    );
    StateSnapshot {
        info: mesos::MasterInfo {
            id: "master-1".into(),
            ip: 0,
            port: 5050,
            pid: Some("master@127.0.0.1:5050".into()),
            hostname: Some("localhost".into()),
            version: Some("1.11.0".into()),
            ..Default::default()
        },
        start_time: at(1.0),
        elected_time: at(2.5),
        agents,
        agent_operator_states: operator_states,
        unreachable: Vec::new(),
        frameworks: vec![Arc::new(f0), Arc::new(f1)],
        completed_frameworks: vec![Arc::new(done)],
        offers: vec![offer(1, "S0"), offer(2, "S1")],
        inverse_offers: Vec::new(),
        stats: Default::default(),
        flags: vec![("port".into(), "5050".into()), ("weights".into(), "web=2.5".into())],
        weights: Default::default(),
        quota_configs: Default::default(),
        operations: Vec::new(),
        task_json: None,
    }
}

fn written(write: impl FnOnce(&mut JsonOut)) -> String {
    let mut out = JsonOut::new();
    write(&mut out);
    String::from_utf8(out.into_bytes()).expect("UTF-8")
}

/// `/state`, `/state-summary`, `/frameworks`, `/slaves` and `/tasks` written directly are
/// the very bytes the `Value` renderers printed.
#[test]
fn direct_writers_print_what_the_value_renderers_printed() {
    let s = populated();
    let none = Query::decode("").expect("query");
    let whole = written(|out| state(out, &s));
    assert_eq!(whole, state_json::state_json(&s).to_string());
    assert_eq!(
        written(|out| state_summary(out, &s)),
        endpoints::state_summary(&s, &none).expect("summary").to_string()
    );
    for query in ["", "framework_id=F0", "framework_id=F2", "framework_id=nope"] {
        let query = Query::decode(query).expect("query");
        let mut out = JsonOut::new();
        endpoints::write_frameworks(&s, &query, &mut out);
        let expected = endpoints::frameworks(&s, &query).expect("frameworks").to_string();
        assert_eq!(String::from_utf8(out.into_bytes()).expect("UTF-8"), expected);
    }
    for query in ["", "slave_id=S1"] {
        let query = Query::decode(query).expect("query");
        let mut out = JsonOut::new();
        endpoints::write_slaves(&s, &query, &mut out);
        let expected = endpoints::slaves(&s, &query).expect("slaves").to_string();
        assert_eq!(String::from_utf8(out.into_bytes()).expect("UTF-8"), expected);
    }
    for query in ["", "limit=-1&order=asc", "framework_id=F0&limit=1&offset=1"] {
        let query = Query::decode(query).expect("query");
        let mut out = JsonOut::new();
        endpoints::write_tasks(&s, &query, &mut out);
        let expected = endpoints::tasks(&s, &query).expect("tasks").to_string();
        assert_eq!(String::from_utf8(out.into_bytes()).expect("UTF-8"), expected);
    }
}
/// A framework's tasks are listed by id in byte order: ids that share their first 16
/// bytes, ids that are a prefix of another (with and without a trailing NUL), non-ASCII.
#[test]
fn tasks_are_listed_by_id_in_byte_order() {
    let ids = [
        "agent1234-framework0-task10",
        "agent1234-framework0-task1",
        "agent1234-framework0-task2",
        "agent1234-framewo",
        "agent1234-framew",
        "agent1234-framew\0",
        "a",
        "",
        "b\0",
        "b",
        "é",
        "z",
    ];
    let tasks: Vec<Arc<mesos::Task>> = ids
        .iter()
        .map(|id| Arc::new(task(id, "F0", "S0", mesos::TaskState::TaskRunning, false)))
        .collect();
    let (live, unreachable) = live_and_unreachable(checked(&tasks, None));
    assert!(unreachable.is_empty());
    let listed: Vec<&str> = live.iter().map(|t| t.task.task_id.value.as_str()).collect();
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    assert_eq!(listed, sorted);
}

/// With the tasks' JSON kept between renderings, `/state` and `/frameworks` are the
/// bytes of the `Value` renderers on the first rendering (every task written and kept),
/// on the next (every task copied), and after the core changed a task, whether a
/// snapshot shared it (copied on write) or not (moved, as the cache holds a `Weak`).
#[test]
fn kept_task_json_renders_the_same_bytes() {
    let cache = Arc::new(TaskJsonCache::default());
    let mut s = populated();
    s.task_json = Some(cache.clone());
    let none = Query::decode("").expect("query");
    let frameworks = |s: &StateSnapshot| {
        let mut out = JsonOut::new();
        endpoints::write_frameworks(s, &none, &mut out);
        String::from_utf8(out.into_bytes()).expect("UTF-8")
    };
    let expected = state_json::state_json(&s).to_string();
    assert_eq!(written(|out| state(out, &s)), expected);
    assert_eq!(cache.size().0, 5, "the tasks and completed tasks of both frameworks");
    assert_eq!(written(|out| state(out, &s)), expected);
    let expected = endpoints::frameworks(&s, &none).expect("frameworks").to_string();
    assert_eq!(frameworks(&s), expected);

    for shared in [true, false] {
        let mut changed = s.clone();
        if !shared {
            // No snapshot but `changed` holds the framework and its tasks now.
            drop(s);
        }
        let framework = Arc::make_mut(&mut changed.frameworks[0]);
        let task = framework.tasks.get_mut(&TaskId::from("t0")).expect("task t0");
        task.state = mesos::TaskState::TaskKilling as i32;
        task.name = format!("renamed, shared {shared}");
        let expected = state_json::state_json(&changed).to_string();
        assert!(expected.contains(&format!("renamed, shared {shared}")));
        assert_eq!(written(|out| state(out, &changed)), expected, "shared {shared}");
        let expected = endpoints::frameworks(&changed, &none).expect("frameworks").to_string();
        assert_eq!(frameworks(&changed), expected, "shared {shared}");
        s = changed;
    }
}
