//! The v1 operator calls that change agents and machines: `MARK_AGENT_GONE`,
//! `DEACTIVATE_AGENT`, `REACTIVATE_AGENT`, `DRAIN_AGENT`, `UPDATE_MAINTENANCE_SCHEDULE`,
//! `START_MAINTENANCE`, `STOP_MAINTENANCE`, and the maintenance queries
//! `GET_MAINTENANCE_SCHEDULE`, `GET_MAINTENANCE_STATUS` (Mesos: master/http.cpp
//! `markAgentGone`, `deactivateAgent`, `reactivateAgent`, `drainAgent`,
//! `updateMaintenanceSchedule`, `startMaintenance`, `stopMaintenance`,
//! `getMaintenanceSchedule`, `getMaintenanceStatus`).
//!
//! Each runs on the master's core (`crate::core::MasterCore::mark_agent_gone`, ...),
//! which either answers at once or writes the change to the registry first; then the
//! call waits here, under a request number, until the core's
//! [`Output::OperatorReply`](crate::core::Output::OperatorReply) comes back through
//! [`PendingCalls::answer`]. A master that stops leading drops its pending calls (their
//! callers get `503` and retry against the new leader).

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]
use std::collections::HashMap;

use http::StatusCode;
use libprocess::ProcessRef;
use libprocess::http::{self as lhttp, Response};
use mesos_proto::http_api::{Encoding, bad_request, evolve};
use mesos_proto::ids::AgentId;
use mesos_proto::mesos::{self, v1};
use mesos_security::Principal;
use tokio::sync::oneshot;

use crate::core::{OperatorReply, OperatorRequest};
use crate::process::MasterProcess;
use v1::master::call;

/// Most operator calls waiting for the registry at once; more get `503`.
pub const MAX_PENDING_CALLS: usize = 1000;

/// Operator calls waiting for a registry change, by request number.
#[derive(Default)]
pub struct PendingCalls {
    next: OperatorRequest,
    waiting: HashMap<OperatorRequest, oneshot::Sender<Result<(), String>>>,
}

impl PendingCalls {
    /// Registers a waiting call; `None` when [`MAX_PENDING_CALLS`] are waiting already.
    fn insert(&mut self, reply: oneshot::Sender<Result<(), String>>) -> Option<OperatorRequest> {
        // Callers that gave up leave closed senders behind: forget them first.
        self.waiting.retain(|_, sender| !sender.is_closed());
        if self.waiting.len() >= MAX_PENDING_CALLS {
            return None;
        }
        self.next += 1;
        self.waiting.insert(self.next, reply);
        Some(self.next)
    }

    /// The core's answer to a waiting call.
    pub(crate) fn answer(&mut self, request: OperatorRequest, result: Result<(), String>) {
        if let Some(sender) = self.waiting.remove(&request) {
            // The caller may have gone; nothing to tell then.
            let _ = sender.send(result);
        }
    }
}

/// One call on the agent, decoded.
enum AgentCall {
    MarkGone(AgentId),
    Deactivate(AgentId),
    Reactivate(AgentId),
    Drain(AgentId, mesos::DrainConfig),
    UpdateSchedule(mesos::maintenance::Schedule),
    StartMaintenance(Vec<mesos::MachineId>),
    StopMaintenance(Vec<mesos::MachineId>),
}

fn decode(call: v1::master::Call) -> Result<AgentCall, Response> {
    let missing = |what: &str| bad_request(format!("Expecting '{what}' to be present"));
    Ok(match call.r#type() {
        call::Type::MarkAgentGone => {
            let c = call.mark_agent_gone.ok_or_else(|| missing("mark_agent_gone"))?;
            AgentCall::MarkGone(AgentId::from(&c.agent_id))
        }
        call::Type::DeactivateAgent => {
            let c = call.deactivate_agent.ok_or_else(|| missing("deactivate_agent"))?;
            AgentCall::Deactivate(AgentId::from(&c.agent_id))
        }
        call::Type::ReactivateAgent => {
            let c = call.reactivate_agent.ok_or_else(|| missing("reactivate_agent"))?;
            AgentCall::Reactivate(AgentId::from(&c.agent_id))
        }
        call::Type::UpdateMaintenanceSchedule => {
            let c = call
                .update_maintenance_schedule
                .ok_or_else(|| missing("update_maintenance_schedule"))?;
            AgentCall::UpdateSchedule(evolve(&c.schedule))
        }
        call::Type::StartMaintenance => {
            let c = call.start_maintenance.ok_or_else(|| missing("start_maintenance"))?;
            AgentCall::StartMaintenance(c.machines.iter().map(evolve).collect())
        }
        call::Type::StopMaintenance => {
            let c = call.stop_maintenance.ok_or_else(|| missing("stop_maintenance"))?;
            AgentCall::StopMaintenance(c.machines.iter().map(evolve).collect())
        }
        _ => {
            let c = call.drain_agent.ok_or_else(|| missing("drain_agent"))?;
            let max_grace_period = c.max_grace_period.map(|d| mesos::DurationInfo {
                nanoseconds: d.seconds.saturating_mul(1_000_000_000).saturating_add(d.nanos.into()),
            });
            let config = mesos::DrainConfig { max_grace_period, mark_gone: c.mark_gone };
            AgentCall::Drain(AgentId::from(&c.agent_id), config)
        }
    })
}

/// Whether `kind` is one of the calls handled here.
pub fn handles(kind: call::Type) -> bool {
    matches!(
        kind,
        call::Type::MarkAgentGone
            | call::Type::DeactivateAgent
            | call::Type::ReactivateAgent
            | call::Type::DrainAgent
            | call::Type::UpdateMaintenanceSchedule
            | call::Type::StartMaintenance
            | call::Type::StopMaintenance
    )
}

/// Runs one call on the master and waits for its registry change, if any.
pub async fn on_agent_call(
    call: v1::master::Call,
    master: &ProcessRef<MasterProcess>,
    principal: Option<Principal>,
) -> Result<Response, Response> {
    let call = decode(call)?;
    let (sender, receiver) = oneshot::channel();
    let reply = master
        .dispatch(move |m, ctx| {
            let Some(request) = m.operator.pending.insert(sender) else {
                return OperatorReply::Unavailable("Too many operator calls in progress".into());
            };
            let now = ctx.now();
            let p = principal.as_ref();
            let core = m.core_mut();
            let reply = match call {
                AgentCall::MarkGone(id) => core.mark_agent_gone(p, &id, request, now),
                AgentCall::Deactivate(id) => core.deactivate_agent(p, &id, request),
                AgentCall::Reactivate(id) => core.reactivate_agent(p, &id, request),
                AgentCall::Drain(id, config) => core.drain_agent(p, &id, config, request),
                AgentCall::UpdateSchedule(s) => core.update_maintenance_schedule(p, s, request),
                AgentCall::StartMaintenance(ids) => core.start_maintenance(p, ids, request),
                AgentCall::StopMaintenance(ids) => core.stop_maintenance(p, ids, request),
            };
            if reply != OperatorReply::Pending {
                m.operator.pending.waiting.remove(&request);
            }
            m.flush(ctx);
            reply
        })
        .await
        .map_err(|_| super::operator_api::unavailable())?;
    let text = |status, message: String| Err(lhttp::text(status, message));
    match reply {
        OperatorReply::Ok => Ok(lhttp::status(StatusCode::OK)),
        OperatorReply::Pending => match receiver.await {
            Ok(Ok(())) => Ok(lhttp::status(StatusCode::OK)),
            Ok(Err(error)) => text(StatusCode::INTERNAL_SERVER_ERROR, error),
            Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "master lost leadership".into()),
        },
        OperatorReply::BadRequest(message) => Err(bad_request(message)),
        OperatorReply::Forbidden => Err(super::forbidden("")),
        OperatorReply::NotFound(message) => text(StatusCode::NOT_FOUND, message),
        OperatorReply::Conflict(message) => text(StatusCode::CONFLICT, message),
        OperatorReply::Unavailable(message) => text(StatusCode::SERVICE_UNAVAILABLE, message),
    }
}

/// The maintenance schedule and cluster status as `principal` may see them, read on the
/// master. When the `get_maintenance_schedules` / `get_maintenance_statuses` ACLs deny
/// it the answer is empty (Mesos filters out the machines the caller may not see).
pub async fn read_maintenance(
    master: &ProcessRef<MasterProcess>,
    principal: Option<Principal>,
) -> Result<(mesos::maintenance::Schedule, mesos::maintenance::ClusterStatus), Response> {
    use mesos_security::Action;
    master
        .dispatch(move |m, _| {
            let core = m.core();
            let p = principal.as_ref();
            let schedule = if core.authorized(p, Action::GetMaintenanceSchedule) {
                core.maintenance_schedule()
            } else {
                Default::default()
            };
            let status = if core.authorized(p, Action::GetMaintenanceStatus) {
                core.maintenance_status()
            } else {
                Default::default()
            };
            (schedule, status)
        })
        .await
        .map_err(|_| super::operator_api::unavailable())
}

/// GET_MAINTENANCE_SCHEDULE and GET_MAINTENANCE_STATUS.
pub async fn on_maintenance_query(
    kind: call::Type,
    master: &ProcessRef<MasterProcess>,
    principal: Option<Principal>,
    encoding: Encoding,
) -> Result<Response, Response> {
    use v1::master::response;
    let (schedule, status) = read_maintenance(master, principal).await?;
    let mut r = v1::master::Response::default();
    let t = if kind == call::Type::GetMaintenanceSchedule {
        r.get_maintenance_schedule =
            Some(response::GetMaintenanceSchedule { schedule: evolve(&schedule) });
        response::Type::GetMaintenanceSchedule
    } else {
        r.get_maintenance_status = Some(response::GetMaintenanceStatus { status: evolve(&status) });
        response::Type::GetMaintenanceStatus
    };
    r.r#type = Some(t as i32);
    Ok(lhttp::response(StatusCode::OK, encoding.content_type(), encoding.encode(&r)))
}
