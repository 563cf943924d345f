//! The operator's calls on reservations and persistent volumes: the v1 operator API's
//! `RESERVE_RESOURCES`, `UNRESERVE_RESOURCES`, `CREATE_VOLUMES`, `DESTROY_VOLUMES`,
//! `GROW_VOLUME`, `SHRINK_VOLUME`, and the v0 endpoints `POST /reserve`, `/unreserve`,
//! `/create-volumes`, `/destroy-volumes`. Each becomes one offer operation that the
//! core applies to the agent's free resources ([`crate::core::MasterCore::on_operator_operation`]).
//!
//! Answers, as in Mesos: `202 Accepted` once applied (the agent is told to
//! checkpoint), `400` for an invalid request or unknown agent, `403` when the ACLs
//! (`reserve_resources`, `unreserve_resources`, `create_volumes`, `destroy_volumes`)
//! deny it, `409 Conflict` when the resources are in use.
//!
//! Mesos: master/http.cpp `reserve`, `unreserve`, `createVolumes`, `destroyVolumes`,
//! `growVolume`, `shrinkVolume` (and their `_` continuations).

use http::{HeaderValue, Method, StatusCode, header};
use libprocess::http::{self as lhttp, Request, Responder, Response};
use libprocess::{Context, ProcessRef};
use mesos_proto::http_api::evolve;
use mesos_proto::ids::AgentId;
use mesos_proto::mesos::{self, offer, v1};
use mesos_security::Principal;

use super::query::Query;
use crate::core::MasterError;
use crate::process::MasterProcess;

fn resources(v1: &[v1::Resource]) -> Vec<mesos::Resource> {
    v1.iter().map(evolve).collect()
}

fn operation(kind: offer::operation::Type) -> offer::Operation {
    offer::Operation { r#type: Some(kind as i32), ..Default::default() }
}

/// The agent and offer operation of a v1 operator call, or `None` if the call is not
/// one of the six.
pub(super) fn v1_operation(
    call: &v1::master::Call,
) -> Option<Result<(AgentId, offer::Operation), String>> {
    use offer::operation::Type;
    use v1::master::call::Type as Call;
    let missing = |field: &str| Err(format!("Expecting '{field}' to be present"));
    let result = match call.r#type() {
        Call::ReserveResources => match &call.reserve_resources {
            Some(c) => {
                let mut op = operation(Type::Reserve);
                op.reserve = Some(offer::operation::Reserve {
                    source: resources(&c.source),
                    resources: resources(&c.resources),
                });
                Ok((AgentId::from(&c.agent_id), op))
            }
            None => missing("reserve_resources"),
        },
        Call::UnreserveResources => match &call.unreserve_resources {
            Some(c) => {
                let mut op = operation(Type::Unreserve);
                op.unreserve =
                    Some(offer::operation::Unreserve { resources: resources(&c.resources) });
                Ok((AgentId::from(&c.agent_id), op))
            }
            None => missing("unreserve_resources"),
        },
        Call::CreateVolumes => match &call.create_volumes {
            Some(c) => {
                let mut op = operation(Type::Create);
                op.create = Some(offer::operation::Create { volumes: resources(&c.volumes) });
                Ok((AgentId::from(&c.agent_id), op))
            }
            None => missing("create_volumes"),
        },
        Call::DestroyVolumes => match &call.destroy_volumes {
            Some(c) => {
                let mut op = operation(Type::Destroy);
                op.destroy = Some(offer::operation::Destroy { volumes: resources(&c.volumes) });
                Ok((AgentId::from(&c.agent_id), op))
            }
            None => missing("destroy_volumes"),
        },
        Call::GrowVolume => match &call.grow_volume {
            Some(c) => match &c.agent_id {
                Some(agent_id) => {
                    let mut op = operation(Type::GrowVolume);
                    op.grow_volume = Some(offer::operation::GrowVolume {
                        volume: evolve(&c.volume),
                        addition: evolve(&c.addition),
                    });
                    Ok((AgentId::from(agent_id), op))
                }
                None => missing("grow_volume.agent_id"),
            },
            None => missing("grow_volume"),
        },
        Call::ShrinkVolume => match &call.shrink_volume {
            Some(c) => match &c.agent_id {
                Some(agent_id) => {
                    let mut op = operation(Type::ShrinkVolume);
                    op.shrink_volume = Some(offer::operation::ShrinkVolume {
                        volume: evolve(&c.volume),
                        subtract: evolve(&c.subtract),
                    });
                    Ok((AgentId::from(agent_id), op))
                }
                None => missing("shrink_volume.agent_id"),
            },
            None => missing("shrink_volume"),
        },
        _ => return None,
    };
    Some(result)
}

/// Mesos's answer to an operator operation's outcome.
fn answer(result: Result<(), MasterError>) -> Response {
    match result {
        Ok(()) => lhttp::status(StatusCode::ACCEPTED),
        Err(MasterError::Unauthorized { message }) => super::forbidden(&message),
        Err(MasterError::Conflict { reason }) => lhttp::text(StatusCode::CONFLICT, reason),
        Err(MasterError::InvalidCall { reason }) => lhttp::text(StatusCode::BAD_REQUEST, reason),
        Err(other) => lhttp::text(StatusCode::BAD_REQUEST, other.to_string()),
    }
}

/// A v1 operator call on reservations or volumes, run on the master.
pub(super) async fn on_v1_operation(
    request: Result<(AgentId, offer::Operation), String>,
    master: &ProcessRef<MasterProcess>,
    principal: Option<Principal>,
) -> Result<Response, Response> {
    let (agent_id, operation) =
        request.map_err(|reason| lhttp::text(StatusCode::BAD_REQUEST, reason))?;
    let result = master
        .dispatch(move |m, ctx| {
            let result =
                m.core_mut().on_operator_operation(principal.as_ref(), &agent_id, operation);
            m.flush(ctx);
            result
        })
        .await
        .map_err(|_| lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "master is shutting down"))?;
    let response = answer(result);
    if response.status() == StatusCode::ACCEPTED { Ok(response) } else { Err(response) }
}

/// Installs the v0 endpoints on the master process.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>) {
    ctx.route("/reserve", |m, r, responder, ctx| on_v0(m, r, responder, ctx, V0::Reserve));
    ctx.route("/unreserve", |m, r, responder, ctx| on_v0(m, r, responder, ctx, V0::Unreserve));
    ctx.route("/create-volumes", |m, r, responder, ctx| on_v0(m, r, responder, ctx, V0::Create));
    ctx.route("/destroy-volumes", |m, r, responder, ctx| on_v0(m, r, responder, ctx, V0::Destroy));
}

/// The four v0 endpoints.
#[derive(Clone, Copy)]
enum V0 {
    Reserve,
    Unreserve,
    Create,
    Destroy,
}

/// `POST` with a form body: `slaveId=<id>` and `resources=<JSON array>` (`volumes=`
/// for the volume endpoints), as Mesos's v0 endpoints take them.
fn on_v0(
    master: &mut MasterProcess,
    request: Request,
    responder: Responder,
    ctx: &mut Context<'_, MasterProcess>,
    which: V0,
) {
    if let Some(redirect) = master.leader_view().redirect(&request) {
        responder.respond(redirect);
        return;
    }
    let response = match v0_operation(&request, which) {
        Ok((agent_id, operation)) => {
            let principal = super::principal(&request);
            let result =
                master.core_mut().on_operator_operation(principal.as_ref(), &agent_id, operation);
            master.flush(ctx);
            answer(result)
        }
        Err(response) => *response,
    };
    responder.respond(response);
}

/// The agent and operation of a v0 request, or the answer refusing it (boxed: a
/// response is large and this is the cold path).
fn v0_operation(
    request: &Request,
    which: V0,
) -> Result<(AgentId, offer::Operation), Box<Response>> {
    use offer::operation::Type;
    let bad = |message: String| Box::new(lhttp::text(StatusCode::BAD_REQUEST, message));
    if request.method() != Method::POST {
        let mut response = lhttp::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting one of {{ 'POST' }}, but received '{}'", request.method()),
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(Box::new(response));
    }
    let body = std::str::from_utf8(request.body())
        .map_err(|e| e.to_string())
        .and_then(|text| Query::decode(text).map_err(|e| e.0))
        .map_err(|e| bad(format!("Unable to decode query string: {e}")))?;
    let agent_id = body
        .get("slaveId")
        .map(|id| AgentId::from(id.trim()))
        .ok_or_else(|| bad("Missing 'slaveId' query parameter in the request body".into()))?;
    let field = match which {
        V0::Reserve | V0::Unreserve => "resources",
        V0::Create | V0::Destroy => "volumes",
    };
    let text = body
        .get(field)
        .ok_or_else(|| bad(format!("Missing '{field}' query parameter in the request body")))?;
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| bad(format!("Error in parsing '{field}' query parameter: {e}")))?;
    let items = json.as_array().cloned().unwrap_or_else(|| vec![json]);
    let mut list = Vec::with_capacity(items.len());
    for item in &items {
        let resource: mesos::Resource = mesos_proto::json::from_json(item)
            .map_err(|e| bad(format!("Error in parsing '{field}' query parameter: {e}")))?;
        list.push(resource);
    }
    // `/reserve` takes an optional `source` (a reservation update, Mesos 1.11).
    let mut source = Vec::new();
    if let (V0::Reserve, Some(text)) = (&which, body.get("source")) {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("Error in parsing 'source' query parameter: {e}")))?;
        for item in json.as_array().cloned().unwrap_or_else(|| vec![json]) {
            let resource: mesos::Resource = mesos_proto::json::from_json(&item)
                .map_err(|e| bad(format!("Error in parsing 'source' query parameter: {e}")))?;
            source.push(resource);
        }
    }
    let op = match which {
        V0::Reserve => offer::Operation {
            reserve: Some(offer::operation::Reserve { source, resources: list }),
            ..operation(Type::Reserve)
        },
        V0::Unreserve => offer::Operation {
            unreserve: Some(offer::operation::Unreserve { resources: list }),
            ..operation(Type::Unreserve)
        },
        V0::Create => offer::Operation {
            create: Some(offer::operation::Create { volumes: list }),
            ..operation(Type::Create)
        },
        V0::Destroy => offer::Operation {
            destroy: Some(offer::operation::Destroy { volumes: list }),
            ..operation(Type::Destroy)
        },
    };
    Ok((agent_id, op))
}
