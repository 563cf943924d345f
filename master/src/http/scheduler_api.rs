//! The v1 scheduler HTTP API: `POST /api/v1/scheduler`.
//!
//! Mesos: master/http.cpp `Master::Http::scheduler`, docs/scheduler-http-api.md. An HTTP
//! framework SUBSCRIBEs and keeps the response open: a chunked RecordIO stream of v1
//! `Event`s (`<length>\n<record>`), identified by the `Mesos-Stream-Id` header, which every
//! later call must repeat. Every other call answers `202 Accepted`.
//!
//! HTTP and libprocess frameworks share one code path: the master core addresses every
//! framework by a `Pid`. An HTTP subscription gets a synthetic pid (`http-<stream id>`
//! at `0.0.0.0:0`) that names its stream; the actor turns messages the core sends to it
//! into v1 events on the stream, and the stream closing into `exited`, exactly as a
//! broken libprocess connection would be. The master ends a stream itself after an
//! ERROR event and when the framework is removed (TEARDOWN: the call is answered `202
//! Accepted` and the subscription ends; Mesos: `Framework::disconnect` closes the HTTP
//! pipe in `Master::removeFramework`).

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use libprocess::http::{self as lhttp, Request, Responder, Response, StreamError, StreamWriter};
use libprocess::{Context, Pid};
use mesos_proto::ids::FrameworkId;
use mesos_proto::mesos::{self, scheduler, v1};
use mesos_security::Principal;
use tokio::sync::oneshot;

use crate::core::{MasterError, Outgoing};
use crate::process::MasterProcess;

/// Seconds between HEARTBEAT events (Mesos: `DEFAULT_HEARTBEAT_INTERVAL`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// Events buffered per subscriber; a subscriber that falls this far behind is
/// disconnected rather than buffered without limit.
pub const STREAM_CAPACITY: usize = 1024;
/// Most HTTP subscribers at once; further SUBSCRIBEs get `503`.
pub const MAX_SUBSCRIBERS: usize = 10_000;

pub use mesos_proto::http_api::Encoding;
use mesos_proto::http_api::{
    bad_request, evolve, parse_body, record, require_post, response_encoding,
};

struct Stream {
    writer: StreamWriter,
    encoding: Encoding,
    stream_id: String,
    /// The framework it carries, once the master has sent it SUBSCRIBED.
    framework_id: Option<FrameworkId>,
    /// Dropped with the stream: tells the watcher of the client's side (which holds a
    /// writer too) to let go, so that removing a stream from the map ends the response.
    _close: oneshot::Sender<()>,
}

/// The open HTTP subscriptions, by synthetic pid.
#[derive(Default)]
pub struct HttpSubscribers {
    streams: HashMap<Pid, Stream>,
}

impl HttpSubscribers {
    /// True if `pid` names an HTTP subscription.
    pub fn contains(&self, pid: &Pid) -> bool {
        self.streams.contains_key(pid)
    }

    /// The number of open subscriptions.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

/// The synthetic pid of a stream.
fn stream_pid(stream_id: &str) -> Pid {
    Pid::new(format!("http-{stream_id}"), SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
}

/// Installs the route and the heartbeat timer.
pub fn install(ctx: &mut Context<'_, MasterProcess>) {
    ctx.route("/api/v1/scheduler", on_request);
    schedule_heartbeat(ctx);
}

fn schedule_heartbeat(ctx: &mut Context<'_, MasterProcess>) {
    ctx.delay(HEARTBEAT_INTERVAL, |master: &mut MasterProcess, ctx| {
        let pids: Vec<Pid> = master.http.streams.keys().cloned().collect();
        for pid in pids {
            let event = mesos::scheduler::Event { r#type: Some(8), ..Default::default() };
            write_event(master, &pid, event, ctx);
        }
        schedule_heartbeat(ctx);
    });
}

fn on_request(
    master: &mut MasterProcess,
    request: Request,
    responder: Responder,
    ctx: &mut Context<'_, MasterProcess>,
) {
    let response = match handle(master, request, ctx) {
        Ok(response) | Err(response) => response,
    };
    responder.respond(response);
}

fn handle(
    master: &mut MasterProcess,
    request: Request,
    ctx: &mut Context<'_, MasterProcess>,
) -> Result<Response, Response> {
    if let Some(redirect) = master.leader_view().redirect(&request) {
        return Err(redirect);
    }
    require_post(&request)?;
    // v1 and v0 calls are the same on the wire (Mesos's `devolve`).
    let v1_call: v1::scheduler::Call = parse_body(&request)?;
    let mut call: scheduler::Call = evolve(&v1_call);
    let Some(kind) = call
        .r#type
        .and_then(|t| scheduler::call::Type::try_from(t).ok())
        .filter(|t| *t != scheduler::call::Type::Unknown)
    else {
        return Err(bad_request(
            "Failed to validate scheduler::Call: Expecting 'type' to be present",
        ));
    };
    let encoding = response_encoding(&request)?;
    // Put there by the node's authenticator when `--authenticate_http_frameworks` is on.
    let principal = request.extensions().get::<Principal>().cloned();
    match kind {
        scheduler::call::Type::Subscribe if request.headers().contains_key("mesos-stream-id") => {
            Err(bad_request("Subscribe calls should not include the 'Mesos-Stream-Id' header"))
        }
        scheduler::call::Type::Subscribe => {
            let info = call.subscribe.as_mut().map(|s| &mut s.framework_info);
            if let Some(info) = info {
                check_subscriber_principal(principal.as_ref(), info).map_err(bad_request)?;
            }
            subscribe(master, call, encoding, ctx)
        }
        _ => {
            let framework_id = call
                .framework_id
                .as_ref()
                .map(FrameworkId::from)
                .ok_or_else(|| bad_request("Failed to validate scheduler::Call: Expecting 'framework_id' to be present"))?;
            let stream_id =
                request.headers().get("mesos-stream-id").and_then(|v| v.to_str().ok()).ok_or_else(
                    || {
                        bad_request(
                            "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
                        )
                    },
                )?;
            let framework = master.core().framework(&framework_id);
            if let (Some(principal), Some(framework)) = (&principal, framework)
                && framework.info.principal.as_deref() != Some(principal.as_str())
            {
                // Mesos: master/http.cpp `Master::Http::scheduler`.
                return Err(bad_request(format!(
                    "Authenticated principal '{principal}' does not match principal '{}' set in `FrameworkInfo`",
                    framework.info.principal.as_deref().unwrap_or_default()
                )));
            }
            let pid = framework
                .and_then(|f| f.pid.clone())
                .filter(|pid| master.http.contains(pid))
                .ok_or_else(|| lhttp::text(StatusCode::FORBIDDEN, "Framework is not subscribed"))?;
            if master.http.streams.get(&pid).map(|s| s.stream_id.as_str()) != Some(stream_id) {
                return Err(bad_request(format!(
                    "The stream ID '{stream_id}' included in this request didn't match the stream ID currently associated with framework ID {framework_id}"
                )));
            }
            call.framework_id = Some((&framework_id).into());
            let now = ctx.now();
            let result = master.core_mut().on_scheduler_call(&pid, call, now);
            master.flush(ctx);
            result
                .map(|()| lhttp::status(StatusCode::ACCEPTED))
                .map_err(|e| bad_request(e.to_string()))
        }
    }
}

/// A SUBSCRIBE of an authenticated framework: its `FrameworkInfo.principal`, if set,
/// must be the authenticated principal; if unset it becomes it (Mesos logs a warning
/// and does the same). Mesos: master/validation.cpp `scheduler::call::validate`,
/// master/http.cpp `Master::Http::scheduler`.
pub fn check_subscriber_principal(
    principal: Option<&Principal>,
    info: &mut mesos::FrameworkInfo,
) -> Result<(), String> {
    let Some(principal) = principal else { return Ok(()) };
    match info.principal.as_deref() {
        Some(claimed) if claimed != principal.as_str() => Err(format!(
            "Failed to validate scheduler::Call: Authenticated principal '{principal}' does not match principal '{claimed}' set in `FrameworkInfo`"
        )),
        Some(_) => Ok(()),
        None => {
            tracing::warn!(%principal, "setting 'principal' in FrameworkInfo to the authenticated principal, which the framework did not set");
            info.principal = Some(principal.to_string());
            Ok(())
        }
    }
}

fn subscribe(
    master: &mut MasterProcess,
    mut call: scheduler::Call,
    encoding: Encoding,
    ctx: &mut Context<'_, MasterProcess>,
) -> Result<Response, Response> {
    if master.http.len() >= MAX_SUBSCRIBERS {
        return Err(lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "Too many subscribers"));
    }
    let Some(subscribe) = call.subscribe.as_mut() else {
        return Err(bad_request(
            "Failed to validate scheduler::Call: Expecting 'subscribe' to be present",
        ));
    };
    // HTTP schedulers always take over an existing subscription (Mesos ignores `force`).
    subscribe.force = Some(true);
    let (mut response, writer) =
        lhttp::stream(StatusCode::OK, encoding.content_type(), STREAM_CAPACITY);
    let stream_id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&stream_id) {
        response.headers_mut().insert("mesos-stream-id", value);
    }
    let pid = stream_pid(&stream_id);
    let (close, closing) = oneshot::channel::<()>();
    let stream =
        Stream { writer: writer.clone(), encoding, stream_id, framework_id: None, _close: close };
    master.http.streams.insert(pid.clone(), stream);
    let now = ctx.now();
    let result = master.core_mut().on_scheduler_call(&pid, call, now);
    master.flush(ctx);
    match result {
        Ok(()) => {}
        // Mesos: an unauthorized SUBSCRIBE is `200` whose stream carries one ERROR event
        // with the reason and then ends (`deliver` wrote the event and dropped the stream).
        Err(MasterError::Unauthorized { .. }) => return Ok(response),
        Err(error) => {
            master.http.streams.remove(&pid);
            return Err(bad_request(error.to_string()));
        }
    }
    let watched = pid.clone();
    // Ends when the client goes, or when the master drops the stream (its `_close`:
    // fencing, teardown, a subscriber too slow); either way this copy of the writer goes
    // with it, so the response ends once the map's is gone (Mesos: the connection closes
    // when the master lets it go; a deposed leader's subscribers must see it end).
    let watch = async move {
        tokio::select! {
            () = writer.closed() => {}
            _ = closing => {}
        }
    };
    ctx.spawn(watch, move |master: &mut MasterProcess, (), ctx| {
        on_stream_closed(master, &watched, ctx);
    });
    Ok(response)
}

/// The subscriber went away (or was cut off): to the core it is a broken connection.
fn on_stream_closed(master: &mut MasterProcess, pid: &Pid, ctx: &mut Context<'_, MasterProcess>) {
    if master.http.streams.remove(pid).is_some() {
        let now = ctx.now();
        master.core_mut().on_exited(pid, now);
        master.flush(ctx);
    }
}

/// The framework `framework_id` was removed (torn down): its subscription stream, if it
/// has one, ends (Mesos: `Master::removeFramework` -> `Framework::disconnect`). The core
/// has forgotten the framework already, so the stream's end is not reported as `exited`.
pub(crate) fn on_framework_removed(master: &mut MasterProcess, framework_id: &FrameworkId) {
    let streams = &mut master.http.streams;
    let pid = streams
        .iter()
        .find(|(_, stream)| stream.framework_id.as_ref() == Some(framework_id))
        .map(|(pid, _)| pid.clone());
    if let Some(pid) = pid {
        streams.remove(&pid);
    }
}

/// Sends what the core addressed to an HTTP subscriber as a v1 event. Returns false if
/// `to` is not an HTTP subscriber.
pub(crate) fn deliver(
    master: &mut MasterProcess,
    to: &Pid,
    message: &Outgoing,
    ctx: &mut Context<'_, MasterProcess>,
) -> bool {
    if !master.http.contains(to) {
        return false;
    }
    let Some(event) = to_event(message) else { return true };
    // SUBSCRIBED names the stream's framework (for `on_framework_removed`).
    let subscribed = match message {
        Outgoing::FrameworkRegistered(m) => Some(&m.framework_id),
        Outgoing::FrameworkReregistered(m) => Some(&m.framework_id),
        _ => None,
    };
    if let Some(framework_id) = subscribed
        && let Some(stream) = master.http.streams.get_mut(to)
    {
        stream.framework_id = Some(FrameworkId::from(framework_id));
    }
    let is_error = matches!(message, Outgoing::FrameworkError(_));
    write_event(master, to, event, ctx);
    if is_error {
        // Mesos closes the stream after an ERROR event.
        master.http.streams.remove(to);
    }
    true
}

fn write_event(
    master: &mut MasterProcess,
    to: &Pid,
    event: mesos::scheduler::Event,
    ctx: &mut Context<'_, MasterProcess>,
) {
    let Some(stream) = master.http.streams.get(to) else { return };
    let record = encode_event(&event, stream.encoding);
    match stream.writer.try_send(record) {
        Ok(()) => {}
        Err(StreamError::Full) | Err(StreamError::Closed) => {
            tracing::warn!(subscriber = %to, "scheduler stream closed or not keeping up: disconnecting it");
            let pid = to.clone();
            ctx.defer(move |master: &mut MasterProcess, ctx| on_stream_closed(master, &pid, ctx));
        }
    }
}

/// One RecordIO record: `<decimal length>\n<bytes>`.
pub fn encode_event(event: &mesos::scheduler::Event, encoding: Encoding) -> Bytes {
    let v1_event: v1::scheduler::Event = evolve(event);
    record(encoding.encode(&v1_event))
}

/// The v1 event for a message the core sends to a framework (Mesos: `evolve`).
fn to_event(message: &Outgoing) -> Option<mesos::scheduler::Event> {
    use mesos::scheduler::event::{self, Type};
    let mut e = mesos::scheduler::Event::default();
    let kind = match message {
        Outgoing::FrameworkRegistered(m) => {
            e.subscribed = Some(subscribed(&m.framework_id, &m.master_info));
            Type::Subscribed
        }
        Outgoing::FrameworkReregistered(m) => {
            e.subscribed = Some(subscribed(&m.framework_id, &m.master_info));
            Type::Subscribed
        }
        Outgoing::ResourceOffers(m) => {
            e.offers = Some(event::Offers { offers: m.offers.clone() });
            Type::Offers
        }
        Outgoing::RescindResourceOffer(m) => {
            e.rescind = Some(event::Rescind { offer_id: m.offer_id.clone() });
            Type::Rescind
        }
        Outgoing::InverseOffers(m) => {
            e.inverse_offers =
                Some(event::InverseOffers { inverse_offers: m.inverse_offers.clone() });
            Type::InverseOffers
        }
        Outgoing::RescindInverseOffer(m) => {
            let inverse_offer_id = m.inverse_offer_id.clone();
            e.rescind_inverse_offer = Some(event::RescindInverseOffer { inverse_offer_id });
            Type::RescindInverseOffer
        }
        Outgoing::UpdateOperationStatus(m) => {
            e.update_operation_status =
                Some(event::UpdateOperationStatus { status: m.status.clone() });
            Type::UpdateOperationStatus
        }
        Outgoing::StatusUpdate(m) => {
            let mut status = m.update.status.clone();
            status.uuid = m.update.uuid.clone();
            e.update = Some(event::Update { status });
            Type::Update
        }
        Outgoing::ExecutorToFramework(m) => {
            e.message = Some(event::Message {
                slave_id: m.slave_id.clone(),
                executor_id: m.executor_id.clone(),
                data: m.data.clone(),
            });
            Type::Message
        }
        Outgoing::LostSlave(m) => {
            e.failure = Some(event::Failure {
                slave_id: Some(m.slave_id.clone()),
                executor_id: None,
                status: None,
            });
            Type::Failure
        }
        Outgoing::ExitedExecutor(m) => {
            e.failure = Some(event::Failure {
                slave_id: Some(m.slave_id.clone()),
                executor_id: Some(m.executor_id.clone()),
                status: Some(m.status),
            });
            Type::Failure
        }
        Outgoing::FrameworkError(m) => {
            e.error = Some(event::Error { message: m.message.clone() });
            Type::Error
        }
        _ => return None,
    };
    e.r#type = Some(kind as i32);
    Some(e)
}

fn subscribed(
    framework_id: &mesos::FrameworkId,
    master_info: &mesos::MasterInfo,
) -> mesos::scheduler::event::Subscribed {
    mesos::scheduler::event::Subscribed {
        framework_id: framework_id.clone(),
        heartbeat_interval_seconds: Some(HEARTBEAT_INTERVAL.as_secs_f64()),
        master_info: Some(master_info.clone()),
    }
}
