//! Quota and weights over HTTP: the v1 operator calls UPDATE_QUOTA, SET_QUOTA,
//! REMOVE_QUOTA, GET_QUOTA, UPDATE_WEIGHTS, GET_WEIGHTS, and the `/quota` and
//! `/weights` endpoints.
//!
//! Updates run on the master: `MasterCore::prepare_*` validates and authorizes, the
//! registry commits, the master applies it (see `core/quota.rs`); the caller hears
//! `200 OK` only once the change is replicated. Queries read the state snapshot and show
//! only the roles the `get_quotas` / `view_roles` ACLs let the caller see.
//!
//! Mesos: master/quota_handler.cpp, master/weights_handler.cpp, master/http.cpp
//! (`quota`, `weights`, and the v1 dispatch of these calls).

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]
use std::collections::BTreeMap;
use std::sync::Arc;

use http::{Method, StatusCode};
use libprocess::http::{self as lhttp, Request, Response};
use libprocess::{Context, ProcessRef};
use mesos_proto::http_api::{bad_request, evolve};
use mesos_proto::mesos::{self, quota::QuotaConfig, v1};
use mesos_security::{Action, Authorizer, Principal};
use serde_json::Value;

use crate::core::{MasterCore, MasterError};
use crate::process::MasterProcess;
use crate::snapshot::{SnapshotCell, StateSnapshot};

/// Largest `/quota` or `/weights` request body read; a larger one is refused (`400`).
const MAX_BODY: usize = 1 << 20;

fn unavailable() -> Response {
    lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "master is shutting down")
}

/// Prepares an update on the master, commits it, and answers once it is applied:
/// `200`, `400` (invalid), `403` (ACLs), `503` (not leading, registry failure).
async fn update(
    master: &ProcessRef<MasterProcess>,
    prepare: impl FnOnce(&MasterCore) -> Result<mesos_registrar::RegistryOperation, MasterError>
    + Send
    + 'static,
) -> Response {
    let prepared = master
        .dispatch(move |m, ctx| {
            let operation = prepare(m.core())?;
            let after = MasterCore::after_quota_update(&operation);
            let (reply, done) = tokio::sync::oneshot::channel();
            m.submit_with_reply(operation, after, Some(reply), ctx);
            Ok::<_, MasterError>(done)
        })
        .await;
    let done = match prepared {
        Err(_) => return unavailable(),
        Ok(Err(MasterError::Unauthorized { message })) => return super::forbidden(&message),
        Ok(Err(MasterError::InvalidCall { reason })) => return bad_request(reason),
        Ok(Err(other)) => return bad_request(other.to_string()),
        Ok(Ok(done)) => done,
    };
    match done.await {
        Ok(Ok(())) => lhttp::status(StatusCode::OK),
        Ok(Err(error)) => lhttp::text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Failed to update the registry: {error}"),
        ),
        Err(_) => lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "Lost leadership during the update"),
    }
}

/// The legacy `QuotaRequest` (SET_QUOTA, POST `/quota`) as a 1.9+ config: guarantees
/// and limits both equal to the requested guarantee (Mesos: quota_handler.cpp `__set`).
/// The guarantee must be unreserved scalar resources, each name once.
fn legacy_config(request: &mesos::quota::QuotaRequest) -> Result<QuotaConfig, MasterError> {
    let role = request.role.clone().unwrap_or_default();
    let invalid = |reason: String| MasterError::InvalidCall { reason };
    if request.guarantee.is_empty() {
        return Err(invalid("Invalid QuotaRequest: guarantee is empty".into()));
    }
    let mut scalars = BTreeMap::new();
    for resource in &request.guarantee {
        let Some(scalar) = &resource.scalar else {
            return Err(invalid(format!(
                "Invalid QuotaRequest: '{}' is not a scalar resource",
                resource.name
            )));
        };
        if !resource.reservations.is_empty() || resource.revocable.is_some() {
            return Err(invalid(format!(
                "Invalid QuotaRequest: '{}' must be unreserved and non-revocable",
                resource.name
            )));
        }
        if scalars.insert(resource.name.clone(), *scalar).is_some() {
            return Err(invalid(format!(
                "Invalid QuotaRequest: '{}' appears more than once",
                resource.name
            )));
        }
    }
    Ok(QuotaConfig { role, guarantees: scalars.clone(), limits: scalars })
}

/// SET_QUOTA / POST `/quota`: `409` if the role already has a quota (Mesos), else an
/// UPDATE_QUOTA of the legacy config.
async fn set_legacy(
    master: &ProcessRef<MasterProcess>,
    request: mesos::quota::QuotaRequest,
    principal: Option<Principal>,
) -> Response {
    let config = match legacy_config(&request) {
        Ok(config) => config,
        Err(error) => return bad_request(error.to_string()),
    };
    let force = request.force.unwrap_or(false);
    let role = config.role.clone();
    let exists = master.dispatch(move |m, _| m.core().quota_configs().contains_key(&role)).await;
    match exists {
        Err(_) => unavailable(),
        Ok(true) => lhttp::text(
            StatusCode::CONFLICT,
            format!("Failed to set quota: role '{}' already has quota", config.role),
        ),
        Ok(false) => {
            update(master, move |core| {
                core.prepare_quota_update(principal.as_ref(), &[config], force)
            })
            .await
        }
    }
}

/// REMOVE_QUOTA / DELETE `/quota/<role>`: `400` if the role has no quota (Mesos), else
/// an UPDATE_QUOTA with the default (empty) config.
async fn remove(
    master: &ProcessRef<MasterProcess>,
    role: String,
    principal: Option<Principal>,
) -> Response {
    let check = role.clone();
    let exists = master.dispatch(move |m, _| m.core().quota_configs().contains_key(&check)).await;
    match exists {
        Err(_) => unavailable(),
        Ok(false) => bad_request(format!(
            "Failed to validate remove quota request: Role '{role}' has no quota set"
        )),
        Ok(true) => {
            let config = QuotaConfig { role, ..Default::default() };
            update(master, move |core| {
                core.prepare_quota_update(principal.as_ref(), &[config], true)
            })
            .await
        }
    }
}

/// The v1 quota and weights updates, or `None` for any other call.
// SET_QUOTA and REMOVE_QUOTA are deprecated in Mesos, and still served.
#[allow(deprecated)]
pub(super) async fn on_v1_update(
    call: &v1::master::Call,
    master: &ProcessRef<MasterProcess>,
    principal: Option<Principal>,
) -> Option<Response> {
    use v1::master::call::Type;
    let missing = |what: &str| Some(bad_request(format!("Expecting '{what}' to be present")));
    Some(match call.r#type() {
        Type::UpdateQuota => {
            let Some(update_quota) = &call.update_quota else { return missing("update_quota") };
            let configs: Vec<QuotaConfig> = update_quota.quota_configs.iter().map(evolve).collect();
            let force = update_quota.force.unwrap_or(false);
            update(master, move |core| {
                core.prepare_quota_update(principal.as_ref(), &configs, force)
            })
            .await
        }
        Type::SetQuota => {
            let Some(set) = &call.set_quota else { return missing("set_quota") };
            set_legacy(master, evolve(&set.quota_request), principal).await
        }
        Type::RemoveQuota => {
            let Some(r) = &call.remove_quota else { return missing("remove_quota") };
            remove(master, r.role.clone(), principal).await
        }
        Type::UpdateWeights => {
            let Some(u) = &call.update_weights else { return missing("update_weights") };
            let weights: Vec<mesos::WeightInfo> = u.weight_infos.iter().map(evolve).collect();
            update(master, move |core| core.prepare_weights_update(principal.as_ref(), &weights))
                .await
        }
        _ => return None,
    })
}

fn may(authorizer: Option<&Authorizer>, principal: Option<&Principal>, action: Action<'_>) -> bool {
    authorizer.is_none_or(|a| a.authorize(principal, action))
}

/// GET_QUOTA's status: the configs (and their legacy `infos`) of the roles the
/// `get_quotas` ACLs let the caller see. Mesos: quota_handler.cpp `status`.
pub fn quota_status(
    s: &StateSnapshot,
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
) -> mesos::quota::QuotaStatus {
    let configs: Vec<QuotaConfig> = s
        .quota_configs
        .values()
        .filter(|c| may(authorizer, principal, Action::GetQuota { role: &c.role }))
        .cloned()
        .collect();
    let infos = configs
        .iter()
        .map(|c| mesos::quota::QuotaInfo {
            role: Some(c.role.clone()),
            principal: None,
            guarantee: c
                .guarantees
                .iter()
                .map(|(name, scalar)| mesos::Resource {
                    name: name.clone(),
                    r#type: mesos::value::Type::Scalar as i32,
                    scalar: Some(*scalar),
                    ..Default::default()
                })
                .collect(),
        })
        .collect();
    #[allow(deprecated)]
    mesos::quota::QuotaStatus { infos, configs }
}

/// GET_WEIGHTS: the weights of the roles the `view_roles` ACLs let the caller see.
pub fn weight_infos(
    s: &StateSnapshot,
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
) -> Vec<mesos::WeightInfo> {
    s.weights
        .iter()
        .filter(|(role, _)| may(authorizer, principal, Action::ViewRole { role }))
        .map(|(role, weight)| mesos::WeightInfo { role: Some(role.clone()), weight: *weight })
        .collect()
}

/// Installs `/quota` and `/weights` on the master.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>, shared: &super::Shared) {
    for (path, endpoint) in [("/quota", Endpoint::Quota), ("/weights", Endpoint::Weights)] {
        let master = ctx.self_ref();
        let cell = shared.snapshot.clone();
        let view = shared.leader_view.clone();
        let authorizer = shared.authorizer.clone();
        ctx.route_shared(
            path,
            Arc::new(move |request: Request| {
                let master = master.clone();
                let cell = cell.clone();
                let view = view.clone();
                let authorizer = authorizer.clone();
                Box::pin(async move {
                    if let Some(redirect) = view.redirect(&request) {
                        return redirect;
                    }
                    let r =
                        Routed { master, cell, authorizer, principal: super::principal(&request) };
                    match endpoint {
                        Endpoint::Quota => on_quota(request, r).await,
                        Endpoint::Weights => on_weights(request, r).await,
                    }
                })
            }),
        );
    }
}

/// Which endpoint a route serves.
#[derive(Clone, Copy)]
enum Endpoint {
    Quota,
    Weights,
}

/// What an endpoint request needs.
struct Routed {
    master: ProcessRef<MasterProcess>,
    cell: Arc<SnapshotCell>,
    authorizer: Option<Arc<Authorizer>>,
    principal: Option<Principal>,
}

fn body_text(request: &Request) -> Result<&str, Response> {
    if request.body().len() > MAX_BODY {
        return Err(bad_request(format!("Request body is larger than {MAX_BODY} bytes")));
    }
    std::str::from_utf8(request.body()).map_err(|e| bad_request(format!("Invalid body: {e}")))
}

fn json_response(value: Value) -> Response {
    lhttp::response(StatusCode::OK, "application/json", bytes::Bytes::from(value.to_string()))
}

fn not_allowed(request: &Request, allowed: &str) -> Response {
    lhttp::text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Expecting one of {{ {allowed} }}, but received '{}'", request.method()),
    )
}

/// `/quota`: GET the status, POST a legacy `QuotaRequest` (JSON), DELETE
/// `/quota/<role>`. Mesos: master/http.cpp `Master::Http::quota`.
async fn on_quota(request: Request, r: Routed) -> Response {
    match *request.method() {
        Method::GET => {
            let Some(s) = r.cell.get(&r.master).await else { return unavailable() };
            let status = quota_status(&s, r.authorizer.as_deref(), r.principal.as_ref());
            json_response(mesos_proto::json::to_json(&status))
        }
        Method::POST => {
            let text = match body_text(&request) {
                Ok(text) => text,
                Err(response) => return response,
            };
            match mesos_proto::json::from_json_str::<mesos::quota::QuotaRequest>(text) {
                Ok(quota_request) => set_legacy(&r.master, quota_request, r.principal).await,
                Err(e) => bad_request(format!("Failed to parse set quota request JSON: {e}")),
            }
        }
        Method::DELETE => {
            let path = request.uri().path();
            let role = path.split_once("/quota/").map(|(_, role)| role.trim_matches('/'));
            match role {
                Some(role) if !role.is_empty() && !role.contains('/') => {
                    remove(&r.master, role.to_string(), r.principal).await
                }
                _ => bad_request(format!(
                    "Failed to parse remove quota request for path '{path}': Expecting the \
                     role as the last path component"
                )),
            }
        }
        _ => not_allowed(&request, "'GET', 'POST', 'DELETE'"),
    }
}

/// `/weights`: GET the weights (a JSON array of `WeightInfo`), PUT a JSON array of
/// `WeightInfo` to update. Mesos: master/weights_handler.cpp.
async fn on_weights(request: Request, r: Routed) -> Response {
    match *request.method() {
        Method::GET => {
            let Some(s) = r.cell.get(&r.master).await else { return unavailable() };
            let infos = weight_infos(&s, r.authorizer.as_deref(), r.principal.as_ref());
            json_response(Value::Array(infos.iter().map(mesos_proto::json::to_json).collect()))
        }
        Method::PUT => {
            let text = match body_text(&request) {
                Ok(text) => text,
                Err(response) => return response,
            };
            let parsed: Result<Vec<mesos::WeightInfo>, String> =
                serde_json::from_str::<Vec<Value>>(text).map_err(|e| e.to_string()).and_then(
                    |values| {
                        values
                            .iter()
                            .map(|v| mesos_proto::json::from_json(v).map_err(|e| e.to_string()))
                            .collect()
                    },
                );
            match parsed {
                Ok(weights) => {
                    let principal = r.principal;
                    update(&r.master, move |core| {
                        core.prepare_weights_update(principal.as_ref(), &weights)
                    })
                    .await
                }
                Err(e) => bad_request(format!("Failed to parse update weights request JSON: {e}")),
            }
        }
        _ => not_allowed(&request, "'GET', 'PUT'"),
    }
}
