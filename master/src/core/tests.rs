//! Transcript tests of the master core: a message in, the expected outputs out, with no
//! actors, network or clock.

use std::time::Duration;

use libprocess::{Pid, Time};
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;

use super::{AllocatorCall, MasterConfig, MasterCore, Outgoing, Output, Timer};

pub(super) fn core() -> MasterCore {
    MasterCore::new(config(), Time::from_epoch(Duration::from_secs(1000)))
}

/// The configuration of [`core`]'s master.
pub(super) fn config() -> MasterConfig {
    MasterConfig::with_defaults("master@10.0.0.1:5050".parse().unwrap(), "m1", "m1.example")
}

pub(super) fn now() -> Time {
    Time::from_epoch(Duration::from_secs(1001))
}

fn agent_pid() -> Pid {
    "slave(1)@10.0.1.1:5051".parse().unwrap()
}

/// The outputs without operator-API events (tested by the operator API tests), with
/// every registry change committed (its continuation's outputs follow it).
pub(super) fn drain(core: &mut MasterCore) -> Vec<Output> {
    let mut all = Vec::new();
    let mut pending = core.drain_outputs();
    while !pending.is_empty() {
        for output in pending {
            match output {
                Output::Event(_) => {}
                Output::Registry { after, .. } => core.on_registry_result(after, Ok(()), now()),
                other => all.push(other),
            }
        }
        pending = core.drain_outputs();
    }
    all
}

pub(super) fn register_agent(core: &mut MasterCore) {
    register_agent_with(core, "cpus:4;mem:1024");
}

/// The agent of [`register_agent`] with the given resources.
pub(super) fn register_agent_with(core: &mut MasterCore, resources: &str) {
    let slave = mesos::SlaveInfo {
        hostname: "a1".into(),
        resources: Resources::parse(resources).unwrap().to_protos(),
        ..Default::default()
    };
    core.on_register_agent(
        &agent_pid(),
        internal::RegisterSlaveMessage { slave, ..Default::default() },
        now(),
    )
    .unwrap();
}

/// RegisterSlaveMessage -> the agent admitted to the registry first; once that commits,
/// SlaveRegisteredMessage (with the ping budget), a link, the first ping timer and the
/// allocator told, in that order. A retry while the admission is pending does nothing.
#[test]
fn register_agent_transcript() {
    let mut core = core();
    register_agent(&mut core);
    let first = core.drain_outputs();
    assert_eq!(first.len(), 1);
    let Output::Registry { operation: mesos_registrar::RegistryOperation::AdmitAgent(info), after } =
        &first[0]
    else {
        panic!("unexpected {first:?}")
    };
    assert_eq!(info.id.as_ref().unwrap().value, "m1-S0");
    register_agent(&mut core);
    assert!(core.drain_outputs().is_empty(), "a retry while pending is ignored");
    assert_eq!(core.agents().count(), 0, "nothing before the registry commits");
    core.on_registry_result(after.clone(), Ok(()), now());
    let outputs = drain(&mut core);
    assert_eq!(outputs.len(), 4, "{outputs:?}");
    assert!(matches!(&outputs[0], Output::Link(pid) if *pid == agent_pid()));
    assert!(
        matches!(&outputs[1], Output::Timer { after, timer: Timer::AgentPing { .. } } if *after == Duration::from_secs(15))
    );
    match outputs[2].sent() {
        Some((to, Outgoing::SlaveRegistered(m))) => {
            assert_eq!(*to, agent_pid());
            assert_eq!(m.slave_id.value, "m1-S0");
            assert_eq!(m.connection.as_ref().unwrap().total_ping_timeout_seconds, Some(75.0));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        matches!(&outputs[3], Output::Allocator(AllocatorCall::AddAgent { hostname, .. }) if hostname == "a1")
    );
}

/// A ping timer with no pong in between counts a miss; after the last allowed miss the
/// agent is recorded unreachable in the registry and then removed (and the allocator
/// told) instead of pinged again.
#[test]
fn ping_misses_transcript() {
    let mut core = MasterCore { ..core() };
    core.config.max_agent_ping_timeouts = 2;
    register_agent(&mut core);
    drain(&mut core);
    let agent_id = core.agents().next().unwrap().id.clone();
    let epoch = core.agents().next().unwrap().ping_epoch;
    let timer = Timer::AgentPing { agent_id: agent_id.clone(), epoch };
    core.on_timer(timer.clone(), now());
    let first = drain(&mut core);
    assert!(first.iter().any(|o| matches!(o.sent(), Some((_, Outgoing::PingSlave(_))))));
    core.on_timer(timer.clone(), now());
    assert!(
        drain(&mut core).iter().any(|o| matches!(o.sent(), Some((_, Outgoing::PingSlave(_))))),
        "one miss"
    );
    core.on_timer(timer, now());
    let last = drain(&mut core);
    assert!(
        last.iter().any(|o| matches!(o, Output::Allocator(AllocatorCall::RemoveAgent { .. }))),
        "{last:?}"
    );
    assert_eq!(core.unreachable_agents().count(), 1);
    // A stale timer of the removed agent does nothing.
    core.on_timer(Timer::AgentPing { agent_id, epoch }, now());
    assert!(core.drain_outputs().is_empty());
}

/// Liveness alone leaves the state endpoints' snapshot current: after a pong, or a ping
/// period that only pings (answered or missed), only pings are pending; the period that
/// gives the agent up asks the registry, so the master marks the snapshot stale then.
#[test]
fn only_pings_pending_after_liveness() {
    let mut core = MasterCore { ..core() };
    core.config.max_agent_ping_timeouts = 2;
    register_agent(&mut core);
    drain(&mut core);
    let agent = core.agents().next().unwrap();
    let timer = Timer::AgentPing { agent_id: agent.id.clone(), epoch: agent.ping_epoch };
    core.on_pong(&agent_pid());
    assert!(core.only_pings_pending());
    core.on_timer(timer.clone(), now());
    assert!(core.only_pings_pending(), "answered: pinged again");
    drain(&mut core);
    core.on_timer(timer.clone(), now());
    assert!(core.only_pings_pending(), "one miss: pinged again");
    drain(&mut core);
    core.on_timer(timer, now());
    assert!(!core.only_pings_pending(), "given up: the registry is asked");
}

/// SUBSCRIBE without an id -> a new framework id, FrameworkRegisteredMessage carrying the
/// MasterInfo, a link, and AddFramework to the allocator; a retry from the same pid gets
/// the same id.
#[test]
fn subscribe_transcript() {
    let mut core = core();
    let scheduler: Pid = "scheduler(1)@10.0.2.1:8080".parse().unwrap();
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
    core.on_scheduler_call(&scheduler, call.clone(), now()).unwrap();
    let registry = core.drain_outputs();
    assert!(matches!(
        &registry[..],
        [Output::Registry {
            operation: mesos_registrar::RegistryOperation::RegisterFramework(_),
            ..
        }]
    ));
    let Output::Registry { after, .. } = registry[0].clone() else { unreachable!() };
    core.on_registry_result(after, Ok(()), now());
    let outputs = drain(&mut core);
    assert!(matches!(&outputs[0], Output::Link(pid) if *pid == scheduler));
    assert!(matches!(
        &outputs[1],
        Output::Allocator(AllocatorCall::AddFramework { active: true, .. })
    ));
    let registered_id = match outputs[2].sent() {
        Some((_, Outgoing::FrameworkRegistered(m))) => {
            assert_eq!(m.master_info.hostname.as_deref(), Some("m1.example"));
            m.framework_id.value.clone()
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(registered_id, "m1-0000");
    core.on_scheduler_call(&scheduler, call, now()).unwrap();
    let retry = drain(&mut core);
    assert_eq!(retry.len(), 1);
    assert!(
        matches!(retry[0].sent(), Some((_, Outgoing::FrameworkRegistered(m))) if m.framework_id.value == "m1-0000")
    );
}

fn subscribe_call(info_id: Option<&str>, call_id: Option<&str>) -> scheduler::Call {
    scheduler::Call {
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        framework_id: call_id.map(|id| mesos::FrameworkId { value: id.into() }),
        subscribe: Some(scheduler::call::Subscribe {
            framework_info: mesos::FrameworkInfo {
                user: "u".into(),
                name: "n".into(),
                id: info_id.map(|id| mesos::FrameworkId { value: id.into() }),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A (re-)SUBSCRIBE whose framework id is no valid id (Mesos: validation.cpp
/// `validateFrameworkId`) is refused before anything changes. Such ids used to be taken
/// at their word and reach the allocator, whose role sorter asserts on an empty path or
/// an empty component (`""` from the call, `a//b` from the info).
#[test]
fn subscribe_with_invalid_framework_id_is_refused() {
    let mut core = core();
    let scheduler: Pid = "scheduler(1)@10.0.2.1:8080".parse().unwrap();
    let bad = [
        (Some("a//b"), None),
        (Some("a/b"), None),
        (Some(".."), None),
        (None, Some("")),
        (None, Some("x/")),
        (Some(""), Some("")),
    ];
    for (info_id, call_id) in bad {
        let result = core.on_scheduler_call(&scheduler, subscribe_call(info_id, call_id), now());
        assert!(
            matches!(result, Err(super::MasterError::InvalidCall { .. })),
            "{info_id:?}/{call_id:?}: {result:?}"
        );
        assert!(drain(&mut core).is_empty(), "{info_id:?}/{call_id:?} changed something");
    }
    // A valid id of a framework this master does not know is still taken at its word.
    core.on_scheduler_call(&scheduler, subscribe_call(Some("fw-1"), None), now()).unwrap();
    assert!(drain(&mut core).iter().any(|o| matches!(
        o,
        Output::Allocator(AllocatorCall::AddFramework { framework_id, .. })
            if framework_id.as_str() == "fw-1"
    )));
}

fn reregister(frameworks: &[&str]) -> internal::ReregisterSlaveMessage {
    let slave = mesos::SlaveInfo {
        hostname: "a1".into(),
        id: Some(mesos::SlaveId { value: "agent-1".into() }),
        resources: Resources::parse("cpus:4;mem:1024").unwrap().to_protos(),
        ..Default::default()
    };
    let frameworks = frameworks
        .iter()
        .map(|id| mesos::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            id: Some(mesos::FrameworkId { value: (*id).into() }),
            ..Default::default()
        })
        .collect();
    internal::ReregisterSlaveMessage { slave, frameworks, ..Default::default() }
}

/// A re-registering agent that reports a framework without an id, with an invalid id or
/// role, or one id twice is refused before anything changes (Mesos: validation.cpp
/// `master::message::reregisterSlave`): its frameworks become recovered frameworks in
/// the allocator, whose sorter asserts valid paths.
#[test]
fn reregistration_with_invalid_frameworks_is_refused() {
    let mut core = core();
    for frameworks in [&["a//b"][..], &[""], &["/"], &["f1", "f1"], &["f1", "."]] {
        let result = core.on_reregister_agent(&agent_pid(), reregister(frameworks), now());
        assert!(
            matches!(result, Err(super::MasterError::InvalidCall { .. })),
            "{frameworks:?}: {result:?}"
        );
        assert!(drain(&mut core).is_empty(), "{frameworks:?} changed something");
    }
    let mut bad_role = reregister(&["f1"]);
    #[allow(deprecated)]
    {
        bad_role.frameworks[0].role = Some("a//b".into());
    }
    assert!(core.on_reregister_agent(&agent_pid(), bad_role, now()).is_err());
    assert!(drain(&mut core).is_empty());
    core.on_reregister_agent(&agent_pid(), reregister(&["f1", "f2"]), now()).unwrap();
    assert!(drain(&mut core).iter().any(|o| matches!(
        o,
        Output::Allocator(AllocatorCall::AddFramework { framework_id, .. })
            if framework_id.as_str() == "f2"
    )));
}
