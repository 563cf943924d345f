//! The v1 operator queries' answers (GET_STATE, GET_AGENTS, GET_FRAMEWORKS, GET_TASKS,
//! GET_EXECUTORS, GET_HEALTH, ...) built as `v1::master::Response`s from a snapshot, and
//! the v1 agent of an AGENT_ADDED event. `GET_STATE` is served by `get_state`'s hand
//! encoding instead, which these builders define: its test compares the two.
//!
//! # Layout
//! - `agent_v1`, `framework_v1`: one agent, one framework in the v1 API.
//! - `get_agents`, `get_frameworks`, `get_tasks`, `get_executors`, `get_state`.
//! - [`query`]: the answer to one query call.

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]

use http::StatusCode;
use libprocess::Time;
use libprocess::http::{self as lhttp, Response};
use mesos_proto::http_api::{bad_request, v1_flags, v1_metrics, v1_version};
use mesos_proto::mesos::v1;
use mesos_proto::resources::Resources;
use mesos_security::Principal;
use v1::master::{call, response};

use super::operator_api::evolve;
use crate::core::{Agent, AgentOperatorState, Framework};
use crate::snapshot::StateSnapshot;

fn time_info(time: Time) -> v1::TimeInfo {
    v1::TimeInfo { nanoseconds: time.since_epoch().as_nanos().min(i64::MAX as u128) as i64 }
}

fn resources(r: &Resources) -> Vec<v1::Resource> {
    r.iter().map(evolve).collect()
}

pub(super) fn agent_v1(
    agent: &Agent,
    operator: Option<&AgentOperatorState>,
    offered: &Resources,
) -> response::get_agents::Agent {
    // Mesos: protobuf_utils.cpp `createAgentResponse`.
    let operator = operator.cloned().unwrap_or_default();
    response::get_agents::Agent {
        agent_info: evolve(&agent.info),
        active: agent.state == crate::core::AgentState::Active,
        deactivated: Some(operator.deactivated),
        drain_info: operator.drain_info.as_ref().map(evolve),
        estimated_drain_start_time: operator.estimated_drain_start_time.map(time_info),
        version: agent.version.clone(),
        pid: Some(agent.pid.to_string()),
        registered_time: Some(time_info(agent.registered_time)),
        reregistered_time: agent.reregistered_time.map(time_info),
        total_resources: resources(&agent.total),
        allocated_resources: resources(&agent.used_total()),
        offered_resources: resources(offered),
        capabilities: agent.capabilities.iter().map(evolve).collect(),
        ..Default::default()
    }
}

pub(super) fn framework_v1(
    framework: &Framework,
    offers: &[v1::Offer],
) -> response::get_frameworks::Framework {
    let mut allocated = Resources::new();
    for task in framework.tasks.values() {
        if !task.state().is_terminal() {
            allocated += Resources::from_protos(task.resources.clone()).unwrap_or_default();
        }
    }
    let offered: Vec<v1::Resource> = offers.iter().flat_map(|o| o.resources.clone()).collect();
    response::get_frameworks::Framework {
        framework_info: evolve(&framework.info),
        active: framework.active(),
        connected: framework.active() && framework.pid.is_some(),
        recovered: framework.state == crate::core::FrameworkState::Recovered,
        registered_time: Some(time_info(framework.registered_time)),
        reregistered_time: framework.reregistered_time.map(time_info),
        unregistered_time: framework.unregistered_time.map(time_info),
        offers: offers.to_vec(),
        allocated_resources: resources(&allocated),
        offered_resources: offered,
        ..Default::default()
    }
}

pub(super) fn get_agents(s: &StateSnapshot) -> response::GetAgents {
    let agents = s
        .agents
        .iter()
        .map(|agent| {
            let offered: Resources = s
                .offers
                .iter()
                .filter(|o| o.agent_id == agent.id)
                .map(|o| o.resources.clone())
                .sum();
            agent_v1(agent, s.agent_operator_states.get(&agent.id), &offered)
        })
        .collect();
    response::GetAgents { agents, recovered_agents: Vec::new() }
}

pub(super) fn get_frameworks(s: &StateSnapshot) -> response::GetFrameworks {
    let offers_of = |f: &Framework| -> Vec<v1::Offer> {
        s.offers.iter().filter(|o| o.framework_id == f.id).map(|o| evolve(&o.offer)).collect()
    };
    #[allow(deprecated)]
    response::GetFrameworks {
        frameworks: s
            .frameworks
            .iter()
            .map(|f| {
                let mut framework = framework_v1(f, &offers_of(f));
                let id: mesos_proto::mesos::FrameworkId = (&f.id).into();
                framework.inverse_offers =
                    s.inverse_offers.iter().filter(|o| o.framework_id == id).map(evolve).collect();
                framework
            })
            .collect(),
        completed_frameworks: s.completed_frameworks.iter().map(|f| framework_v1(f, &[])).collect(),
        recovered_frameworks: Vec::new(),
    }
}

fn get_tasks(s: &StateSnapshot) -> response::GetTasks {
    let all = || s.frameworks.iter().chain(&s.completed_frameworks);
    #[allow(deprecated)]
    response::GetTasks {
        pending_tasks: Vec::new(),
        tasks: s.frameworks.iter().flat_map(|f| f.tasks.values().map(evolve)).collect(),
        unreachable_tasks: Vec::new(),
        completed_tasks: all()
            .flat_map(|f| f.completed_tasks.iter().map(|t| evolve(&**t)))
            .collect(),
        orphan_tasks: Vec::new(),
    }
}

fn get_executors(s: &StateSnapshot) -> response::GetExecutors {
    let executors = s
        .agents
        .iter()
        .flat_map(|agent| {
            agent.executors.values().flat_map(move |by_id| {
                by_id.values().map(move |info| response::get_executors::Executor {
                    executor_info: evolve(info),
                    agent_id: (&agent.id).into(),
                })
            })
        })
        .collect();
    #[allow(deprecated)]
    response::GetExecutors { executors, orphan_executors: Vec::new() }
}

pub(super) fn get_state(s: &StateSnapshot) -> response::GetState {
    response::GetState {
        get_tasks: Some(get_tasks(s)),
        get_executors: Some(get_executors(s)),
        get_frameworks: Some(get_frameworks(s)),
        get_agents: Some(get_agents(s)),
    }
}

pub(super) fn query(
    kind: call::Type,
    s: &StateSnapshot,
    metrics: std::collections::BTreeMap<String, f64>,
    authorizer: Option<&mesos_security::Authorizer>,
    principal: Option<&Principal>,
) -> Result<v1::master::Response, Response> {
    use response::Type as R;
    let mut r = v1::master::Response::default();
    let t = match kind {
        call::Type::GetHealth => {
            r.get_health = Some(response::GetHealth { healthy: true });
            R::GetHealth
        }
        call::Type::GetFlags => {
            let flags =
                v1_flags(s.flags.iter().map(|(name, value)| (name.as_str(), value.as_str())));
            r.get_flags = Some(response::GetFlags { flags });
            R::GetFlags
        }
        call::Type::GetVersion => {
            let version_info = v1_version(s.info.version.clone().unwrap_or_default());
            r.get_version = Some(response::GetVersion { version_info });
            R::GetVersion
        }
        call::Type::GetMetrics => {
            r.get_metrics = Some(response::GetMetrics { metrics: v1_metrics(metrics) });
            R::GetMetrics
        }
        call::Type::GetState => {
            r.get_state = Some(get_state(s));
            R::GetState
        }
        call::Type::GetAgents => {
            r.get_agents = Some(get_agents(s));
            R::GetAgents
        }
        call::Type::GetFrameworks => {
            r.get_frameworks = Some(get_frameworks(s));
            R::GetFrameworks
        }
        call::Type::GetExecutors => {
            r.get_executors = Some(get_executors(s));
            R::GetExecutors
        }
        call::Type::GetTasks => {
            r.get_tasks = Some(get_tasks(s));
            R::GetTasks
        }
        call::Type::GetOperations => {
            // Operations with feedback until acknowledged (core/operations_feedback.rs),
            // those whose consumed resources `view_roles` lets the caller see.
            // Mesos: master/http.cpp `Master::Http::getOperations`.
            let operations = s
                .operations
                .iter()
                .filter(|o| authorizer.is_none_or(|a| a.may_view_operation(principal, o)))
                .map(evolve)
                .collect();
            r.get_operations = Some(response::GetOperations { operations });
            R::GetOperations
        }
        call::Type::GetRoles => {
            r.get_roles = Some(super::roles::get_roles(s, authorizer, principal));
            R::GetRoles
        }
        call::Type::GetQuota => {
            let status = super::quota::quota_status(s, authorizer, principal);
            r.get_quota = Some(response::GetQuota { status: evolve(&status) });
            R::GetQuota
        }
        call::Type::GetWeights => {
            let infos = super::quota::weight_infos(s, authorizer, principal);
            r.get_weights =
                Some(response::GetWeights { weight_infos: infos.iter().map(evolve).collect() });
            R::GetWeights
        }
        call::Type::GetMaster => {
            r.get_master = Some(response::GetMaster {
                master_info: Some(evolve(&s.info)),
                start_time: Some(s.start_time.secs_f64()),
                elected_time: Some(s.elected_time.secs_f64()),
            });
            R::GetMaster
        }
        call::Type::Unknown => return Err(bad_request("Expecting 'type' to be present")),
        other => {
            return Err(lhttp::text(
                StatusCode::NOT_IMPLEMENTED,
                format!("{} is not supported by this master", other.as_str_name()),
            ));
        }
    };
    r.r#type = Some(t as i32);
    Ok(r)
}
