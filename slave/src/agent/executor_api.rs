//! The v1 executor HTTP API: `POST /api/v1/executor`.
//!
//! Mesos: slave/http.cpp `Http::executor`, slave.cpp `Slave::subscribe`,
//! docs/executor-http-api.md. An HTTP executor SUBSCRIBEs and keeps the response open:
//! a chunked RecordIO stream of v1 executor `Event`s (`<length>\n<record>`). Its
//! UPDATE and MESSAGE calls are separate requests answered `202 Accepted`.
//!
//! HTTP and libprocess executors share one code path, as the master does for
//! schedulers (master/src/scheduler_api.rs): a subscription gets a synthetic pid
//! (`http-executor-<n>` at `0.0.0.0:0`) naming its stream, and the SUBSCRIBE call is
//! handled as the v0 `RegisterExecutorMessage` (or `ReregisterExecutorMessage` while
//! the agent recovers) from that pid. Everything the agent then sends to the pid goes
//! through [`Agent::send_executor`], which writes it on the stream as the matching v1
//! event; an UPDATE enters the status-update manager exactly like a v0
//! `StatusUpdateMessage` (checkpointed, forwarded, retried), and its acknowledgement
//! comes back as ACKNOWLEDGED. The stream closing is the executor disconnecting: the
//! agent forgets the pid and waits for the executor to subscribe again.
//!
//! ```text
//!  v0 message to the executor's pid      v1 event on its stream
//!  ExecutorRegisteredMessage         ->  SUBSCRIBED (executor, framework, agent, container)
//!  ExecutorReregisteredMessage       ->  SUBSCRIBED
//!  RunTaskMessage                    ->  LAUNCH
//!  RunTaskGroupMessage               ->  LAUNCH_GROUP
//!  KillTaskMessage                   ->  KILL
//!  StatusUpdateAcknowledgementMessage->  ACKNOWLEDGED
//!  FrameworkToExecutorMessage        ->  MESSAGE
//!  ShutdownExecutorMessage           ->  SHUTDOWN
//!  (every 30 min)                    ->  HEARTBEAT
//! ```

// An error answer is a whole HTTP response, built once per failed request; boxing it
// would buy nothing.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use http::StatusCode;
use libprocess::http::{self as lhttp, Request, Responder, Response, StreamError, StreamWriter};
use libprocess::{Context, Pid, ProtoMessage};
use mesos_proto::ids::{ExecutorId, FrameworkId};
use mesos_proto::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage,
    FrameworkToExecutorMessage, KillTaskMessage, RunTaskMessage, ShutdownExecutorMessage,
    StatusUpdate, StatusUpdateAcknowledgementMessage,
};
use mesos_proto::mesos::v1::executor::{Call, Event, call, event};
use mesos_proto::mesos::{self, TaskState, task_status};
use mesos_security::jwt::Claims;

use mesos_proto::http_api::{
    Encoding, bad_request, evolve, parse_body, record, require_post, response_encoding,
};

use super::Agent;
use crate::core::{AgentCore, AgentState, HTTP_EXECUTOR_PID_PREFIX, is_http_executor};
use crate::state::{Executor, ExecutorState};

/// Time between HEARTBEAT events (Mesos: `DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL`).
pub const EXECUTOR_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Events buffered per executor stream; an executor that falls this far behind is
/// disconnected (and may subscribe again) rather than buffered without limit.
pub const EXECUTOR_STREAM_CAPACITY: usize = 1024;
/// Most executor streams open at once; further SUBSCRIBEs get `503`.
pub const MAX_EXECUTOR_STREAMS: usize = 10_000;

struct Stream {
    writer: StreamWriter,
    encoding: Encoding,
}

/// The open executor streams, by synthetic pid.
#[derive(Default)]
pub(super) struct HttpExecutors {
    streams: HashMap<Pid, Stream>,
    next_id: u64,
}

impl HttpExecutors {
    /// True if `pid` names an open stream.
    pub(super) fn contains(&self, pid: &Pid) -> bool {
        self.streams.contains_key(pid)
    }

    /// The number of open streams.
    pub(super) fn len(&self) -> usize {
        self.streams.len()
    }

    fn new_pid(&mut self) -> Pid {
        self.next_id += 1;
        Pid::new(
            format!("{HTTP_EXECUTOR_PID_PREFIX}{}", self.next_id),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        )
    }
}

/// A message the agent sends to executors, and the v1 event that carries it to an
/// HTTP executor (Mesos: `evolve` of each message in src/internal/evolve.cpp).
pub(super) trait ToExecutor: ProtoMessage + Sized {
    /// The event for the executor `executor` (None: nothing to send over HTTP).
    fn event(self, agent: &AgentCore, executor: Option<&Executor>) -> Option<Event>;
}

fn typed(kind: event::Type) -> Event {
    Event { r#type: Some(kind as i32), ..Event::default() }
}

fn subscribed(agent: &AgentCore, executor: Option<&Executor>) -> Option<Event> {
    let executor = executor?;
    let framework_id = executor.info.framework_id.as_ref().map(FrameworkId::from);
    let framework = framework_id.and_then(|id| agent.frameworks.get(&id))?;
    let mut e = typed(event::Type::Subscribed);
    e.subscribed = Some(event::Subscribed {
        executor_info: evolve(&executor.info),
        framework_info: evolve(&framework.info),
        agent_info: evolve(&agent.info),
        container_id: Some(mesos_proto::mesos::v1::ContainerId {
            value: executor.container_id.value().to_string(),
            parent: None,
        }),
    });
    Some(e)
}

impl ToExecutor for ExecutorRegisteredMessage {
    fn event(self, agent: &AgentCore, executor: Option<&Executor>) -> Option<Event> {
        subscribed(agent, executor)
    }
}

impl ToExecutor for ExecutorReregisteredMessage {
    fn event(self, agent: &AgentCore, executor: Option<&Executor>) -> Option<Event> {
        subscribed(agent, executor)
    }
}

impl ToExecutor for RunTaskMessage {
    fn event(self, _agent: &AgentCore, _executor: Option<&Executor>) -> Option<Event> {
        let mut e = typed(event::Type::Launch);
        e.launch = Some(event::Launch { task: evolve(&self.task) });
        Some(e)
    }
}

impl ToExecutor for mesos_proto::mesos::internal::RunTaskGroupMessage {
    fn event(self, _agent: &AgentCore, _executor: Option<&Executor>) -> Option<Event> {
        let mut e = typed(event::Type::LaunchGroup);
        e.launch_group = Some(event::LaunchGroup { task_group: evolve(&self.task_group) });
        Some(e)
    }
}

impl ToExecutor for KillTaskMessage {
    fn event(self, _agent: &AgentCore, _executor: Option<&Executor>) -> Option<Event> {
        let mut e = typed(event::Type::Kill);
        e.kill = Some(event::Kill {
            task_id: evolve(&self.task_id),
            kill_policy: self.kill_policy.as_ref().map(evolve),
        });
        Some(e)
    }
}

impl ToExecutor for StatusUpdateAcknowledgementMessage {
    fn event(self, _agent: &AgentCore, _executor: Option<&Executor>) -> Option<Event> {
        let mut e = typed(event::Type::Acknowledged);
        e.acknowledged =
            Some(event::Acknowledged { task_id: evolve(&self.task_id), uuid: self.uuid });
        Some(e)
    }
}

impl ToExecutor for FrameworkToExecutorMessage {
    fn event(self, _agent: &AgentCore, _executor: Option<&Executor>) -> Option<Event> {
        let mut e = typed(event::Type::Message);
        e.message = Some(event::Message { data: self.data });
        Some(e)
    }
}

impl ToExecutor for ShutdownExecutorMessage {
    fn event(self, _agent: &AgentCore, _executor: Option<&Executor>) -> Option<Event> {
        Some(typed(event::Type::Shutdown))
    }
}

/// Installs the route and the heartbeat timer.
pub(super) fn install(ctx: &mut Context<'_, Agent>) {
    ctx.route(
        "/api/v1/executor",
        |agent: &mut Agent, request: Request, responder: Responder, ctx| {
            let response = match agent.on_executor_call(request, ctx) {
                Ok(response) | Err(response) => response,
            };
            responder.respond(response);
        },
    );
    schedule_heartbeat(ctx);
}

fn schedule_heartbeat(ctx: &mut Context<'_, Agent>) {
    ctx.delay(EXECUTOR_HEARTBEAT_INTERVAL, |agent: &mut Agent, ctx| {
        let pids: Vec<Pid> = agent.http_executors.streams.keys().cloned().collect();
        for pid in pids {
            agent.write_executor_event(&pid, &typed(event::Type::Heartbeat), ctx);
        }
        schedule_heartbeat(ctx);
    });
}

impl Agent {
    /// Sends `message` to an executor: as a libprocess message, or as a v1 event if
    /// `to` is an HTTP executor's stream. To a closed stream it is dropped, as a
    /// message to a dead libprocess executor is.
    pub(super) fn send_executor<M: ToExecutor>(
        &mut self,
        to: &Pid,
        message: M,
        ctx: &mut Context<'_, Self>,
    ) {
        if !is_http_executor(to) {
            ctx.send(to, message);
            return;
        }
        if !self.http_executors.contains(to) {
            tracing::debug!(executor = %to, "dropping a message for a closed executor stream");
            return;
        }
        let executor = self.core.executor_by_pid(to);
        if let Some(event) = message.event(&self.core, executor) {
            self.write_executor_event(to, &event, ctx);
        }
    }

    fn write_executor_event(&mut self, to: &Pid, event: &Event, ctx: &mut Context<'_, Self>) {
        let Some(stream) = self.http_executors.streams.get(to) else { return };
        match stream.writer.try_send(record(stream.encoding.encode(event))) {
            Ok(()) => {}
            Err(StreamError::Full) | Err(StreamError::Closed) => {
                tracing::warn!(executor = %to, "executor stream closed or not keeping up: disconnecting it");
                let pid = to.clone();
                ctx.defer(move |agent: &mut Agent, _ctx| agent.on_executor_stream_closed(&pid));
            }
        }
    }

    /// The executor's stream ended: it is disconnected until it subscribes again.
    fn on_executor_stream_closed(&mut self, pid: &Pid) {
        if self.http_executors.streams.remove(pid).is_some() {
            self.core.on_executor_disconnected(pid);
        }
    }

    // Mesos: slave/http.cpp `Http::executor`.
    fn on_executor_call(
        &mut self,
        request: Request,
        ctx: &mut Context<'_, Self>,
    ) -> Result<Response, Response> {
        require_post(&request)?;
        let call: Call = parse_body(&request)?;
        let kind = validate(&call)
            .map_err(|e| bad_request(format!("Failed to validate Executor::Call: {e}")))?;
        let encoding = match kind {
            call::Type::Subscribe => response_encoding(&request)?,
            call::Type::Heartbeat => return Ok(lhttp::status(StatusCode::ACCEPTED)),
            _ if self.core.registration.state() == AgentState::Recovering => {
                return Err(lhttp::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Agent has not finished recovery",
                ));
            }
            _ => Encoding::Json,
        };
        let framework_id = FrameworkId::from(&evolve::<_, mesos::FrameworkId>(&call.framework_id));
        let executor_id = ExecutorId::from(&evolve::<_, mesos::ExecutorId>(&call.executor_id));
        let framework = self
            .core
            .frameworks
            .get(&framework_id)
            .ok_or_else(|| bad_request("Framework cannot be found"))?;
        let executor = framework
            .executors
            .get(&executor_id)
            .ok_or_else(|| bad_request("Executor cannot be found"))?;
        // With `--authenticate_http_executors` the gate put the token's claims here;
        // they must name this executor and its current container (Mesos: slave/http.cpp
        // `verifyExecutorClaims`, before any call is served).
        if let Some(claims) = request.extensions().get::<Claims>() {
            claims
                .verify_executor(
                    framework_id.as_str(),
                    executor_id.as_str(),
                    executor.container_id.value(),
                )
                .map_err(|reason| lhttp::text(StatusCode::FORBIDDEN, reason))?;
        }
        if executor.state == ExecutorState::Registering && kind != call::Type::Subscribe {
            return Err(lhttp::text(StatusCode::FORBIDDEN, "Executor is not subscribed"));
        }
        let executor_pid = executor.pid.clone();
        match kind {
            call::Type::Subscribe => self.on_executor_subscribe(
                framework_id,
                executor_id,
                call.subscribe.unwrap_or_default(),
                encoding,
                ctx,
            ),
            call::Type::Update => {
                let status = call.update.map(|u| u.status).unwrap_or_default();
                let update = self.executor_update(&framework_id, &executor_id, &status, ctx);
                self.core.status_update(update, executor_pid, ctx.now());
                self.flush(ctx);
                Ok(lhttp::status(StatusCode::ACCEPTED))
            }
            call::Type::Message => {
                let message = ExecutorToFrameworkMessage {
                    slave_id: self.core.info.id.clone().unwrap_or_default(),
                    framework_id: framework_id.into(),
                    executor_id: executor_id.into(),
                    data: call.message.map(|m| m.data).unwrap_or_default(),
                };
                let from = executor_pid.unwrap_or_else(|| ctx.pid().clone());
                self.core.on_executor_to_framework(&from, message);
                self.flush(ctx);
                Ok(lhttp::status(StatusCode::ACCEPTED))
            }
            call::Type::Heartbeat | call::Type::Unknown => Ok(lhttp::status(StatusCode::ACCEPTED)),
        }
    }

    /// A v1 status from an executor as the v0 update the agent handles (Mesos:
    /// `protobuf::createStatusUpdate`).
    fn executor_update(
        &self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        status: &mesos_proto::mesos::v1::TaskStatus,
        ctx: &Context<'_, Self>,
    ) -> StatusUpdate {
        let mut status: mesos::TaskStatus = evolve(status);
        status.executor_id.get_or_insert_with(|| executor_id.into());
        status.slave_id = self.core.info.id.clone();
        let timestamp = status.timestamp.unwrap_or_else(|| ctx.now().secs_f64());
        StatusUpdate {
            framework_id: framework_id.into(),
            executor_id: status.executor_id.clone(),
            slave_id: self.core.info.id.clone(),
            uuid: status.uuid.clone(),
            timestamp,
            latest_state: None,
            status,
        }
    }

    // Mesos: Slave::subscribe.
    fn on_executor_subscribe(
        &mut self,
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        subscribe: call::Subscribe,
        encoding: Encoding,
        ctx: &mut Context<'_, Self>,
    ) -> Result<Response, Response> {
        if self.http_executors.len() >= MAX_EXECUTOR_STREAMS {
            return Err(lhttp::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many executor subscriptions",
            ));
        }
        let (response, writer) =
            lhttp::stream(StatusCode::OK, encoding.content_type(), EXECUTOR_STREAM_CAPACITY);
        let pid = self.http_executors.new_pid();
        self.http_executors
            .streams
            .insert(pid.clone(), Stream { writer: writer.clone(), encoding });
        let watched = pid.clone();
        ctx.spawn(async move { writer.closed().await }, move |agent: &mut Agent, (), _ctx| {
            agent.on_executor_stream_closed(&watched)
        });
        let updates: Vec<StatusUpdate> = subscribe
            .unacknowledged_updates
            .iter()
            .map(|u| self.executor_update(&framework_id, &executor_id, &u.status, ctx))
            .collect();
        let tasks = subscribe.unacknowledged_tasks.iter().map(evolve).collect();
        let old = self.core.on_executor_subscribe(
            &framework_id,
            &executor_id,
            &pid,
            tasks,
            updates,
            ctx.now(),
        );
        // A previous stream of this executor is replaced (Mesos closes it).
        if let Some(old) = old {
            self.http_executors.streams.remove(&old);
        }
        self.flush(ctx);
        Ok(response)
    }
}

/// Mesos: common/validation.cpp `validateExecutorCall`.
fn validate(call: &Call) -> Result<call::Type, String> {
    let kind =
        call.r#type.and_then(|t| call::Type::try_from(t).ok()).unwrap_or(call::Type::Unknown);
    if kind == call::Type::Unknown {
        return Err("Expecting 'type' to be present".into());
    }
    if call.executor_id.value.is_empty() || call.framework_id.value.is_empty() {
        return Err("Expecting 'executor_id' and 'framework_id' to be present".into());
    }
    match kind {
        call::Type::Subscribe if call.subscribe.is_none() => {
            Err("Expecting 'subscribe' to be present".into())
        }
        call::Type::Message if call.message.is_none() => {
            Err("Expecting 'message' to be present".into())
        }
        call::Type::Update => {
            let Some(update) = &call.update else {
                return Err("Expecting 'update' to be present".into());
            };
            let status = &update.status;
            match &status.uuid {
                None => return Err("Expecting 'uuid' to be present".into()),
                Some(uuid) if uuid.len() != 16 => {
                    return Err("Invalid 'uuid': expecting 16 bytes".into());
                }
                Some(_) => {}
            }
            if let Some(id) = &status.executor_id
                && id.value != call.executor_id.value
            {
                return Err(format!(
                    "ExecutorID in Call: {} does not match ExecutorID in TaskStatus: {}",
                    call.executor_id.value, id.value
                ));
            }
            if status.source != Some(task_status::Source::Executor as i32) {
                return Err(
                    "Received Call from executor with invalid source, expecting 'SOURCE_EXECUTOR'"
                        .into(),
                );
            }
            if status.state == TaskState::TaskStaging as i32 {
                return Err("Received TASK_STAGING from executor which is not allowed".into());
            }
            Ok(kind)
        }
        _ => Ok(kind),
    }
}
