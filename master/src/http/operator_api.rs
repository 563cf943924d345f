//! The v1 operator API on the master: `POST /api/v1` (Mesos: master/http.cpp
//! `Master::Http::api`, docs/operator-http-api.md).
//!
//! Queries (GET_STATE, GET_AGENTS, ...) are answered outside the master actor from the
//! cached state snapshot, like `/master/state`. TEARDOWN runs on the master. SUBSCRIBE
//! keeps the response open as a RecordIO stream: SUBSCRIBED with the full state, then
//! TASK_ADDED, TASK_UPDATED, AGENT_ADDED, AGENT_REMOVED, FRAMEWORK_ADDED/UPDATED/REMOVED
//! as the master's core reports them, and a HEARTBEAT every 15 s. GET_LOGGING_LEVEL and
//! SET_LOGGING_LEVEL (and `/logging/toggle`) read and raise this master's log verbosity,
//! which reverts after the call's duration on the node's clock.

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use libprocess::http::{self as lhttp, Request, Response, StreamWriter};
use libprocess::logging::Logging;
use libprocess::{Context, ProcessRef};
use mesos_proto::ids::FrameworkId;
use mesos_proto::mesos::v1;
use mesos_proto::resources::Resources;

use super::scheduler_api::{HEARTBEAT_INTERVAL, STREAM_CAPACITY};
use super::v1_queries::{agent_v1, framework_v1, get_state, query};
use super::visibility::{may_view_flags, visible};
use crate::core::{MasterError, MasterEvent};
use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use crate::snapshot::SnapshotCell;
pub use mesos_proto::http_api::evolve;
use mesos_proto::http_api::{Encoding, bad_request, parse_body, require_post, response_encoding};
use mesos_security::Principal;

use v1::master::{call, event, response};

/// Most operator subscribers at once; further SUBSCRIBEs get `503`.
pub const MAX_OPERATOR_SUBSCRIBERS: usize = 1000;

/// Open operator SUBSCRIBE streams.
#[derive(Default)]
pub struct OperatorSubscribers {
    streams: Vec<Subscriber>,
    /// Operator calls waiting for the registry (`super::agent_calls`).
    pub(crate) pending: super::agent_calls::PendingCalls,
}

impl OperatorSubscribers {
    /// True while at least one operator SUBSCRIBE stream is open.
    pub fn any(&self) -> bool {
        !self.streams.is_empty()
    }
}

/// One operator SUBSCRIBE stream.
struct Subscriber {
    writer: StreamWriter,
    encoding: Encoding,
    /// Who subscribed (`None`: unauthenticated); with `--acls` it is sent only the
    /// events about frameworks and tasks the view ACLs let it see.
    principal: Option<Principal>,
}

/// Installs `/api/v1` and the heartbeat on the master.
pub fn install(ctx: &mut Context<'_, MasterProcess>, shared: &super::Shared) {
    let master = ctx.self_ref();
    let cell = shared.snapshot.clone();
    let view = shared.leader_view.clone();
    let authorizer = shared.authorizer.clone();
    let logging = Logging::new(ctx.clock().clone());
    let files = super::files::files_of(shared.log_file.as_deref());
    install_logging_toggle(ctx, &logging, authorizer.clone());
    ctx.route_shared(
        "/api/v1",
        Arc::new(move |request: Request| {
            let master = master.clone();
            let cell = cell.clone();
            let view = view.clone();
            let authorizer = authorizer.clone();
            let logging = logging.clone();
            let files = files.clone();
            Box::pin(async move {
                let shared = (&*view, authorizer.as_deref(), &logging, files);
                handle(request, master, cell, shared).await.unwrap_or_else(|e| e)
            })
        }),
    );
    schedule_heartbeat(ctx);
}

fn schedule_heartbeat(ctx: &mut Context<'_, MasterProcess>) {
    ctx.delay(HEARTBEAT_INTERVAL, |master: &mut MasterProcess, ctx| {
        let heartbeat =
            v1::master::Event { r#type: Some(event::Type::Heartbeat as i32), ..Default::default() };
        broadcast(master, &heartbeat, |_| true);
        schedule_heartbeat(ctx);
    });
}

fn parse(request: &Request) -> Result<(v1::master::Call, Encoding), Response> {
    require_post(request)?;
    let call = parse_body(request)?;
    Ok((call, response_encoding(request)?))
}

fn encode_response(response: &v1::master::Response, encoding: Encoding) -> Response {
    lhttp::response(StatusCode::OK, encoding.content_type(), encode(response, encoding))
}

/// A v1 message in `encoding`; JSON written from the protobuf bytes (`json_wire`, the
/// same text as `Encoding::encode`, several times cheaper for the big answers).
fn encode<M: prost_reflect::ReflectMessage>(message: &M, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Json => super::json_wire::to_json_bytes(message),
        Encoding::Protobuf => message.encode_to_vec(),
    }
}

/// One `POST /api/v1` call: redirect to the leader unless it is about this master, then
/// TEARDOWN, SUBSCRIBE, a quota or weights update, or a query.
// The legacy SET_QUOTA / REMOVE_QUOTA are deprecated in Mesos, and still served.
#[allow(deprecated)]
async fn handle(
    request: Request,
    master: ProcessRef<MasterProcess>,
    cell: Arc<SnapshotCell>,
    (view, authorizer, logging, files): (
        &LeaderView,
        Option<&mesos_security::Authorizer>,
        &Logging,
        mesos_files::Files,
    ),
) -> Result<Response, Response> {
    let (call, encoding) = parse(&request)?;
    let principal = super::principal(&request);
    let kind = call.r#type();
    // Any master answers about itself; everything else is the leader's (Mesos redirects).
    let local = matches!(
        kind,
        call::Type::GetHealth
            | call::Type::GetVersion
            | call::Type::GetFlags
            | call::Type::GetMetrics
            | call::Type::GetLoggingLevel
            | call::Type::SetLoggingLevel
            | call::Type::ListFiles
            | call::Type::ReadFile
    );
    if !local && let Some(redirect) = view.redirect(&request) {
        return Err(redirect);
    }
    if let Some(operation) = super::operations::v1_operation(&call) {
        return super::operations::on_v1_operation(operation, &master, principal).await;
    }
    match kind {
        call::Type::Teardown => on_teardown(call.teardown, &master, principal).await,
        call::Type::Subscribe => on_subscribe(&master, encoding, principal, authorizer).await,
        call::Type::GetMaintenanceSchedule | call::Type::GetMaintenanceStatus => {
            super::agent_calls::on_maintenance_query(kind, &master, principal, encoding).await
        }
        kind if super::agent_calls::handles(kind) => {
            super::agent_calls::on_agent_call(call, &master, principal).await
        }
        call::Type::UpdateQuota
        | call::Type::SetQuota
        | call::Type::RemoveQuota
        | call::Type::UpdateWeights => {
            match super::quota::on_v1_update(&call, &master, principal).await {
                Some(response) if response.status().is_success() => Ok(response),
                Some(response) => Err(response),
                None => Err(bad_request("not a quota or weights call")),
            }
        }
        call::Type::GetFlags if !may_view_flags(authorizer, principal.as_ref()) => {
            Err(super::forbidden(""))
        }
        call::Type::GetLoggingLevel | call::Type::SetLoggingLevel => {
            on_logging_call(&call, logging, authorizer, principal.as_ref(), encoding)
        }
        call::Type::ListFiles | call::Type::ReadFile => {
            let principal = principal.as_ref();
            let response =
                super::files::on_file_call(call, files, authorizer, principal, encoding).await;
            if response.status().is_success() { Ok(response) } else { Err(response) }
        }
        _ => on_query(kind, &master, &cell, authorizer, principal.as_ref(), encoding).await,
    }
}

/// `GET_LOGGING_LEVEL` and `SET_LOGGING_LEVEL` (authorized by `set_log_level`); the
/// level reverts after `duration` on the node's clock. Mesos: master/http.cpp
/// `Master::Http::getLoggingLevel`, `setLoggingLevel`.
fn on_logging_call(
    call: &v1::master::Call,
    logging: &Logging,
    authorizer: Option<&mesos_security::Authorizer>,
    principal: Option<&Principal>,
    encoding: Encoding,
) -> Result<Response, Response> {
    if call.r#type() == call::Type::GetLoggingLevel {
        let answer = v1::master::Response {
            r#type: Some(response::Type::GetLoggingLevel as i32),
            get_logging_level: Some(response::GetLoggingLevel { level: logging.level() }),
            ..Default::default()
        };
        return Ok(encode_response(&answer, encoding));
    }
    let Some(set) = &call.set_logging_level else {
        return Err(bad_request("Expecting 'set_logging_level' to be present"));
    };
    if !authorizer.is_none_or(|a| a.authorize(principal, mesos_security::Action::SetLogLevel)) {
        return Err(super::forbidden(""));
    }
    let Ok(nanos) = u64::try_from(set.duration.nanoseconds) else {
        return Err(bad_request("'duration' must not be negative"));
    };
    logging.set_level(set.level, std::time::Duration::from_nanos(nanos));
    Ok(lhttp::status(StatusCode::OK))
}

/// `/logging/toggle?level=L&duration=D` on the master (Mesos: libprocess logging.cpp
/// `Logging::toggle`, authorized by `set_log_level`).
fn install_logging_toggle(
    ctx: &mut Context<'_, MasterProcess>,
    logging: &Logging,
    authorizer: Option<Arc<mesos_security::Authorizer>>,
) {
    let logging = logging.clone();
    ctx.route_shared(
        "/logging/toggle",
        Arc::new(move |request: Request| {
            let principal = super::principal(&request);
            let allowed = authorizer.as_deref().is_none_or(|a| {
                a.authorize(principal.as_ref(), mesos_security::Action::SetLogLevel)
            });
            let params: Vec<(String, String)> =
                request.uri().query().map(query_pairs).unwrap_or_default();
            let param =
                |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            let response = if !allowed {
                super::forbidden("")
            } else {
                match logging.toggle(param("level"), param("duration")) {
                    Ok(Some(level)) => lhttp::text(StatusCode::OK, format!("{level}\n")),
                    Ok(None) => lhttp::status(StatusCode::OK),
                    Err(error) => lhttp::text(StatusCode::BAD_REQUEST, format!("{error}.\n")),
                }
            };
            Box::pin(async move { response })
        }),
    );
}

/// `a=1&b=2` as pairs (the toggle's values need no unescaping: digits and units).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let pair = |p: &str| {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        (name.to_string(), value.to_string())
    };
    query.split('&').filter(|p| !p.is_empty()).map(pair).collect()
}

/// The answer when the master actor is gone (it is shutting down).
pub(super) fn unavailable() -> Response {
    lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "master is shutting down")
}

/// TEARDOWN: runs on the master; `403` when the teardown_frameworks ACLs deny it.
async fn on_teardown(
    teardown: Option<call::Teardown>,
    master: &ProcessRef<MasterProcess>,
    principal: Option<Principal>,
) -> Result<Response, Response> {
    let framework_id = teardown
        .map(|t| FrameworkId::from(&t.framework_id))
        .ok_or_else(|| bad_request("Expecting 'teardown' to be present"))?;
    let result = master
        .dispatch(move |m, ctx| {
            let now = ctx.now();
            let result = m.core_mut().teardown(principal.as_ref(), &framework_id, now);
            m.flush(ctx);
            result
        })
        .await
        .map_err(|_| unavailable())?;
    match result {
        Ok(()) => Ok(lhttp::status(StatusCode::OK)),
        // Mesos: the teardown_frameworks ACLs deny it: 403, nothing changes.
        Err(MasterError::Unauthorized { message }) => Err(super::forbidden(&message)),
        Err(e) => Err(bad_request(e.to_string())),
    }
}

/// SUBSCRIBE: SUBSCRIBED with the (visible) state, then the event stream.
async fn on_subscribe(
    master: &ProcessRef<MasterProcess>,
    encoding: Encoding,
    principal: Option<Principal>,
    authorizer: Option<&mesos_security::Authorizer>,
) -> Result<Response, Response> {
    // The state in SUBSCRIBED and the start of the stream are one step of the master, so
    // no event falls between them (a copy taken in an earlier step would miss what
    // happened in between, and a subscriber that follows the cluster from its events
    // would never see it). Mesos: master/http.cpp `Master::Http::subscribe` builds the
    // state and adds the subscriber in one continuation on the master.
    let authorizer = authorizer.cloned();
    master
        .dispatch(move |m, _| {
            let snapshot = std::sync::Arc::new(m.take_snapshot());
            let snapshot = visible(snapshot, authorizer.as_ref(), principal.as_ref());
            let subscribed = v1::master::Event {
                r#type: Some(event::Type::Subscribed as i32),
                subscribed: Some(event::Subscribed {
                    get_state: Some(get_state(&snapshot)),
                    heartbeat_interval_seconds: Some(HEARTBEAT_INTERVAL.as_secs_f64()),
                }),
                ..Default::default()
            };
            subscribe(m, &subscribed, encoding, principal)
        })
        .await
        .map_err(|_| unavailable())?
}

/// The queries (GET_STATE, GET_AGENTS, ...): answered from the cached snapshot, outside
/// the master actor; GET_METRICS also reads the node's metrics.
async fn on_query(
    kind: call::Type,
    master: &ProcessRef<MasterProcess>,
    cell: &SnapshotCell,
    authorizer: Option<&mesos_security::Authorizer>,
    principal: Option<&Principal>,
    encoding: Encoding,
) -> Result<Response, Response> {
    let (generation, snapshot) = cell.get_at(master).await.ok_or_else(unavailable)?;
    let metrics = if kind == call::Type::GetMetrics {
        master
            .dispatch(|_, ctx| ctx.node().metrics().snapshot())
            .await
            .map_err(|_| unavailable())?
    } else {
        Default::default()
    };
    let (authorizer, principal) = (authorizer.cloned(), principal.cloned());
    let key = super::render::RenderKey {
        route: format!("/api/v1 {kind:?} {encoding:?}"),
        params: String::new(),
        principal: principal.as_ref().map(|p| p.0.clone()),
    };
    if kind == call::Type::GetState {
        // Written straight from the snapshot and streamed, like `/master/state`.
        let content_type = encoding.content_type();
        let answer = cell.renderings().stream(generation, key, content_type, move |out| {
            let snapshot = visible(snapshot, authorizer.as_ref(), principal.as_ref());
            match encoding {
                Encoding::Protobuf => super::get_state::write_get_state(&snapshot, out),
                Encoding::Json => super::get_state::write_get_state_json(&snapshot, out),
            }
        });
        return Ok(answer.await);
    }
    // Rendered off the I/O thread, once for concurrent equal queries: GET_STATE is as big
    // as `/master/state`. GET_METRICS reads more than the snapshot: never shared.
    let render = move || {
        // GET_STATE, GET_FRAMEWORKS, GET_TASKS, GET_EXECUTORS, GET_AGENTS show only what
        // the view_* ACLs let the caller see.
        let snapshot = visible(snapshot, authorizer.as_ref(), principal.as_ref());
        match query(kind, &snapshot, metrics, authorizer.as_ref(), principal.as_ref()) {
            Ok(response) => encode_response(&response, encoding),
            Err(refusal) => refusal,
        }
    };
    let answer = if kind == call::Type::GetMetrics {
        super::render::off_io(render).await
    } else {
        cell.renderings().answer(generation, key, render).await
    };
    Ok(answer)
}

fn subscribe(
    master: &mut MasterProcess,
    subscribed: &v1::master::Event,
    encoding: Encoding,
    principal: Option<Principal>,
) -> Result<Response, Response> {
    if master.operator.streams.len() >= MAX_OPERATOR_SUBSCRIBERS {
        return Err(lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "Too many subscribers"));
    }
    let (response, writer) =
        lhttp::stream(StatusCode::OK, encoding.content_type(), STREAM_CAPACITY);
    if writer.try_send(record(subscribed, encoding)).is_err() {
        return Err(lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "subscriber gone"));
    }
    master.operator.streams.push(Subscriber { writer, encoding, principal });
    master.core_mut().set_operator_subscribers(true);
    Ok(response)
}

fn record(event: &v1::master::Event, encoding: Encoding) -> Bytes {
    mesos_proto::http_api::record(encode(event, encoding))
}

/// Sends an event to every operator subscriber `seen` lets see it; a subscriber that is
/// gone or does not keep up is dropped.
fn broadcast(
    master: &mut MasterProcess,
    event: &v1::master::Event,
    seen: impl Fn(Option<&Principal>) -> bool,
) {
    if master.operator.streams.is_empty() {
        return;
    }
    let mut json = None;
    let mut protobuf = None;
    master.operator.streams.retain(|Subscriber { writer, encoding, principal }| {
        if !seen(principal.as_ref()) {
            return true;
        }
        let bytes = match encoding {
            Encoding::Json => json.get_or_insert_with(|| record(event, Encoding::Json)).clone(),
            Encoding::Protobuf => {
                protobuf.get_or_insert_with(|| record(event, Encoding::Protobuf)).clone()
            }
        };
        writer.try_send(bytes).is_ok()
    });
    let any = !master.operator.streams.is_empty();
    master.core_mut().set_operator_subscribers(any);
}

/// Turns a core event into an operator event and broadcasts it.
pub(crate) fn publish(
    master: &mut MasterProcess,
    event: MasterEvent,
    _ctx: &mut Context<'_, MasterProcess>,
) {
    if master.operator.streams.is_empty() {
        return;
    }
    let core = master.core();
    let authorizer = core.config().authorizer.clone();
    // Who may see the event (Mesos: master.cpp `Subscribers::send`, which checks
    // VIEW_FRAMEWORK and VIEW_TASK per subscriber): `None` is everyone.
    let guard = event_guard(core, &event);
    let mut e = v1::master::Event::default();
    let kind = match event {
        MasterEvent::TaskAdded(task) => {
            e.task_added = Some(event::TaskAdded { task: evolve(task.as_ref()) });
            event::Type::TaskAdded
        }
        MasterEvent::TaskUpdated { framework_id, status, state } => {
            e.task_updated = Some(event::TaskUpdated {
                framework_id: (&framework_id).into(),
                status: evolve(status.as_ref()),
                state: state as i32,
            });
            event::Type::TaskUpdated
        }
        MasterEvent::AgentAdded(agent_id) => {
            let Some(agent) = core.agent(&agent_id) else { return };
            let operator = core.agent_operator_state(&agent_id);
            let agent = agent_v1(agent, Some(&operator), &Resources::new());
            e.agent_added = Some(event::AgentAdded { agent });
            event::Type::AgentAdded
        }
        MasterEvent::AgentRemoved(agent_id) => {
            e.agent_removed = Some(event::AgentRemoved { agent_id: (&agent_id).into() });
            event::Type::AgentRemoved
        }
        MasterEvent::FrameworkAdded(id) | MasterEvent::FrameworkUpdated(id) => {
            let Some(framework) = core.framework(&id) else { return };
            let framework = framework_v1(framework, &[]);
            if core.framework(&id).is_some_and(|f| f.reregistered_time.is_some() || !f.active()) {
                e.framework_updated = Some(event::FrameworkUpdated { framework });
                event::Type::FrameworkUpdated
            } else {
                e.framework_added = Some(event::FrameworkAdded { framework });
                event::Type::FrameworkAdded
            }
        }
        MasterEvent::FrameworkRemoved(info) => {
            e.framework_removed =
                Some(event::FrameworkRemoved { framework_info: evolve(info.as_ref()) });
            event::Type::FrameworkRemoved
        }
    };
    e.r#type = Some(kind as i32);
    broadcast(master, &e, |principal| match (&authorizer, &guard) {
        (Some(authorizer), Some(guard)) => guard.seen_by(authorizer, principal),
        _ => true,
    });
}

/// The view ACLs an operator event is subject to.
enum EventGuard {
    /// About a framework run by `framework_user`.
    Framework { framework_user: String },
    /// About a task run as `task_user` of a framework run by `framework_user`.
    Task { framework_user: String, task_user: String },
}

impl EventGuard {
    fn seen_by(&self, authorizer: &mesos_security::Authorizer, who: Option<&Principal>) -> bool {
        use mesos_security::Action;
        let (framework_user, task_user) = match self {
            EventGuard::Framework { framework_user } => (framework_user, None),
            EventGuard::Task { framework_user, task_user } => (framework_user, Some(task_user)),
        };
        authorizer.authorize(who, Action::ViewFramework { user: framework_user })
            && task_user.is_none_or(|user| authorizer.authorize(who, Action::ViewTask { user }))
    }
}

/// What `event` reveals, for the view ACLs; `None` for agent events (always shown).
fn event_guard(core: &crate::core::MasterCore, event: &MasterEvent) -> Option<EventGuard> {
    let framework_user =
        |id: &FrameworkId| core.framework(id).map(|f| f.info.user.clone()).unwrap_or_default();
    match event {
        MasterEvent::TaskAdded(task) => {
            let framework_user = framework_user(&FrameworkId::from(&task.framework_id));
            let task_user = task.user.clone().unwrap_or_else(|| framework_user.clone());
            Some(EventGuard::Task { framework_user, task_user })
        }
        MasterEvent::TaskUpdated { framework_id, status, .. } => {
            let framework_user = framework_user(framework_id);
            let task_user = core
                .framework(framework_id)
                .and_then(|f| f.tasks.get(&mesos_proto::ids::TaskId::from(&status.task_id)))
                .and_then(|t| t.user.clone())
                .unwrap_or_else(|| framework_user.clone());
            Some(EventGuard::Task { framework_user, task_user })
        }
        MasterEvent::FrameworkAdded(id) | MasterEvent::FrameworkUpdated(id) => {
            Some(EventGuard::Framework { framework_user: framework_user(id) })
        }
        MasterEvent::FrameworkRemoved(info) => {
            Some(EventGuard::Framework { framework_user: info.user.clone() })
        }
        MasterEvent::AgentAdded(_) | MasterEvent::AgentRemoved(_) => None,
    }
}
