//! The maintenance endpoints: `/maintenance/schedule` (GET, POST), `/maintenance/status`
//! (GET), `/machine/down` and `/machine/up` (POST). Each is the matching v1 operator
//! call with a JSON body in Mesos's v0 shape (a `Schedule`, a list of `MachineID`s), so
//! validation, ACLs and replication are those of `super::agent_calls`.
//!
//! Mesos: master/http.cpp `maintenanceSchedule`, `maintenanceStatus`, `machineDown`,
//! `machineUp`.

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]
use std::sync::Arc;

use http::{Method, StatusCode};
use libprocess::http::{self as lhttp, Request, Response};
use libprocess::{Context, ProcessRef};
use mesos_proto::http_api::{bad_request, evolve};
use mesos_proto::json::{from_json, from_json_str, to_json};
use mesos_proto::mesos::{self, v1};

use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use v1::master::call;

const PATHS: [&str; 4] =
    ["/maintenance/schedule", "/maintenance/status", "/machine/down", "/machine/up"];

/// Installs the four endpoints on the master.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>, shared: &super::Shared) {
    for path in PATHS {
        let master = ctx.self_ref();
        let view = shared.leader_view.clone();
        ctx.route_shared(
            path,
            Arc::new(move |request: Request| {
                let master = master.clone();
                let view = view.clone();
                Box::pin(async move {
                    handle(path, request, &master, &view).await.unwrap_or_else(|e| e)
                })
            }),
        );
    }
}

fn method_not_allowed(allowed: &str, got: &Method) -> Response {
    lhttp::text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Expecting one of {{ {allowed} }}, but received '{got}'"),
    )
}

fn body_json(request: &Request) -> Result<serde_json::Value, Response> {
    serde_json::from_slice(request.body())
        .map_err(|e| bad_request(format!("Failed to parse JSON: {e}")))
}

/// The `MachineID`s of a `/machine/down|up` body (a JSON array).
fn machines(request: &Request) -> Result<Vec<v1::MachineId>, Response> {
    let serde_json::Value::Array(items) = body_json(request)? else {
        return Err(bad_request("Expecting a JSON array of machines"));
    };
    items
        .iter()
        .map(|item| {
            from_json::<mesos::MachineId>(item)
                .map(|id| evolve(&id))
                .map_err(|e| bad_request(format!("Failed to convert JSON into MachineID: {e}")))
        })
        .collect()
}

async fn handle(
    path: &'static str,
    request: Request,
    master: &ProcessRef<MasterProcess>,
    view: &LeaderView,
) -> Result<Response, Response> {
    if let Some(redirect) = view.redirect(&request) {
        return Err(redirect);
    }
    let principal = super::principal(&request);
    let method = request.method().clone();
    let mut call = v1::master::Call::default();
    let kind = match (path, &method) {
        ("/maintenance/schedule", &Method::GET) => return get(path, master, principal).await,
        ("/maintenance/status", &Method::GET) => return get(path, master, principal).await,
        ("/maintenance/status", m) => return Err(method_not_allowed("'GET'", m)),
        ("/maintenance/schedule", &Method::POST) => {
            let text = std::str::from_utf8(request.body()).unwrap_or("");
            let schedule: mesos::maintenance::Schedule = from_json_str(text)
                .map_err(|e| bad_request(format!("Failed to convert JSON into Schedule: {e}")))?;
            call.update_maintenance_schedule =
                Some(call::UpdateMaintenanceSchedule { schedule: evolve(&schedule) });
            call::Type::UpdateMaintenanceSchedule
        }
        ("/maintenance/schedule", m) => return Err(method_not_allowed("'GET', 'POST'", m)),
        (_, m) if *m != Method::POST => return Err(method_not_allowed("'POST'", m)),
        ("/machine/down", _) => {
            call.start_maintenance = Some(call::StartMaintenance { machines: machines(&request)? });
            call::Type::StartMaintenance
        }
        _ => {
            call.stop_maintenance = Some(call::StopMaintenance { machines: machines(&request)? });
            call::Type::StopMaintenance
        }
    };
    call.r#type = Some(kind as i32);
    super::agent_calls::on_agent_call(call, master, principal).await
}

/// GET `/maintenance/schedule` or `/maintenance/status`: the v0 JSON of the schedule or
/// the cluster status.
async fn get(
    path: &str,
    master: &ProcessRef<MasterProcess>,
    principal: Option<mesos_security::Principal>,
) -> Result<Response, Response> {
    let (schedule, status) = super::agent_calls::read_maintenance(master, principal).await?;
    let json = if path == "/maintenance/schedule" { to_json(&schedule) } else { to_json(&status) };
    Ok(lhttp::response(StatusCode::OK, "application/json", json.to_string()))
}
