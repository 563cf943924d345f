//! The v1 HTTP executor transport: the same driver core and [`Executor`](super::Executor)
//! callbacks as the libprocess transport, over the agent's `/api/v1/executor`.
//!
//! Mesos: src/executor/executor.cpp (the v1 executor library),
//! include/mesos/v1/executor/executor.proto, docs/executor-http-api.md.
//!
//! The core speaks v0 messages; this module translates at the edge, the reverse of what
//! the agent does for HTTP executors (slave/src/agent/executor_api.rs):
//!
//! ```text
//!  core output                         v1 call
//!  RegisterExecutorMessage         ->  SUBSCRIBE (a POST whose response stays open)
//!  ReregisterExecutorMessage       ->  SUBSCRIBE with unacknowledged updates and tasks
//!  StatusUpdateMessage             ->  UPDATE   (a POST, 202 Accepted)
//!  ExecutorToFrameworkMessage      ->  MESSAGE  (a POST, 202 Accepted)
//!
//!  v1 event on the stream              core input
//!  SUBSCRIBED                      ->  on_registered (on_reregistered after a resubscribe)
//!  LAUNCH / LAUNCH_GROUP           ->  on_run_task / on_run_task_group
//!  KILL, ACKNOWLEDGED, MESSAGE     ->  on_kill_task, on_acknowledgement, on_framework_message
//!  SHUTDOWN                        ->  on_shutdown
//!  ERROR                           ->  abort
//!  HEARTBEAT                       ->  (nothing)
//!  stream ends                     ->  on_exited (the agent's connection broke)
//! ```
//!
//! No agent tells a v1 executor to reconnect: after the stream breaks, a checkpointing
//! executor subscribes again every [`RESUBSCRIBE_INTERVAL`] (the core's recovery
//! timeout bounds the wait), carrying its unacknowledged updates and tasks, as Mesos's
//! library does. With `MESOS_EXECUTOR_AUTHENTICATION_TOKEN` set every request carries
//! `Authorization: Bearer <token>`.
//!
//! TLS: every request goes over [`libprocess::tls::connect`] with the setting of the
//! executor's own node (`LIBPROCESS_SSL_*`, which the executor inherits from its agent),
//! so it speaks TLS exactly when the agent does, with the same CAs, server
//! verification, client certificate (for `LIBPROCESS_SSL_REQUIRE_CERT`) and downgrade
//! as the node's libprocess links. Mesos: executor.cpp `MesosProcess` uses the
//! `https` scheme whenever libprocess's SSL is enabled.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use libprocess::tls::Tls;
use mesos_proto::http_api::{PROTOBUF, evolve};
use mesos_proto::mesos::v1::executor::{Call, Event, call, event};
use mesos_proto::mesos::{self, internal};
use prost::Message;

use super::ExecutorEnv;
use super::core::ToAgent;

/// Time between two SUBSCRIBE attempts while the agent is away.
pub const RESUBSCRIBE_INTERVAL: Duration = Duration::from_secs(1);

/// Largest event accepted on the stream; a bigger record ends the stream as broken.
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;

/// Longest a connection to the agent may take (TCP and TLS handshake); the failed
/// attempt is then retried like any other (see `process`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to reach the agent's executor API.
#[derive(Clone)]
pub struct HttpEndpoint {
    address: SocketAddr,
    path: String,
    authorization: Option<String>,
    /// The executor node's TLS setting; `None` speaks plain HTTP.
    tls: Option<Tls>,
}

impl std::fmt::Debug for HttpEndpoint {
    // Not the token: it is a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("address", &self.address)
            .field("path", &self.path)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl HttpEndpoint {
    /// `http(s)://<agent address>/<agent id>/api/v1/executor`, from the environment,
    /// over TLS when `tls` is given (the executor's node's, [`libprocess::Node::tls`]).
    pub fn from_env(env: &ExecutorEnv, tls: Option<Tls>) -> HttpEndpoint {
        HttpEndpoint {
            address: env.agent.address(),
            path: format!("/{}/api/v1/executor", env.agent.id()),
            authorization: env.authorization(),
            tls,
        }
    }

    /// True when requests go over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// POSTs `call`; the response (its body not read yet) or why there is none.
    async fn post(&self, call: &Call) -> Result<http::Response<hyper::body::Incoming>, String> {
        let stream = libprocess::tls::connect(self.address, self.tls.as_ref(), CONNECT_TIMEOUT)
            .await
            .map_err(|e| format!("cannot connect to the agent at {}: {e}", self.address))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with the agent failed: {e}"))?;
        // The connection is driven until the response body is read to its end.
        actix_rt::spawn(async move {
            let _ = connection.await;
        });
        let mut request = http::Request::post(&self.path)
            .header(http::header::HOST, self.address.to_string())
            .header(http::header::CONTENT_TYPE, PROTOBUF)
            .header(http::header::ACCEPT, PROTOBUF);
        if let Some(authorization) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::new(Bytes::from(call.encode_to_vec())))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        sender.send_request(request).await.map_err(|e| format!("request failed: {e}"))
    }

    /// Sends a call answered `202 Accepted` (UPDATE, MESSAGE).
    pub async fn send(&self, call: Call) -> Result<(), String> {
        let response = self.post(&call).await?;
        let status = response.status();
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        if status == http::StatusCode::ACCEPTED {
            Ok(())
        } else {
            Err(format!("agent answered {status}: {}", String::from_utf8_lossy(&body)))
        }
    }

    /// SUBSCRIBEs and hands each event of the stream to `deliver` until the stream ends
    /// (or `deliver` returns false); returns why it ended.
    pub async fn subscribe(&self, call: Call, deliver: impl Fn(Event) -> bool) -> String {
        let response = match self.post(&call).await {
            Ok(response) => response,
            Err(error) => return error,
        };
        let status = response.status();
        if status != http::StatusCode::OK {
            let body = response.into_body().collect().await.map(|b| b.to_bytes());
            let body = body.unwrap_or_default();
            return format!("agent answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let mut body = response.into_body();
        let mut records = RecordReader::default();
        loop {
            let frame = match body.frame().await {
                None => return "the agent closed the stream".into(),
                Some(Err(error)) => return format!("the stream broke: {error}"),
                Some(Ok(frame)) => frame,
            };
            let Ok(data) = frame.into_data() else { continue };
            records.push(&data);
            loop {
                match records.next() {
                    Ok(None) => break,
                    Ok(Some(record)) => match Event::decode(record) {
                        Ok(event) => {
                            if !deliver(event) {
                                return "the driver is gone".into();
                            }
                        }
                        Err(error) => return format!("undecodable event: {error}"),
                    },
                    Err(error) => return error,
                }
            }
        }
    }
}

/// RecordIO framing: `<decimal length>\n<bytes>`, records split anywhere across chunks.
#[derive(Default)]
struct RecordReader {
    buffer: BytesMut,
}

impl RecordReader {
    fn push(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The next whole record, if one has arrived.
    fn next(&mut self) -> Result<Option<Bytes>, String> {
        let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') else {
            if self.buffer.len() > 20 {
                return Err("RecordIO: no length header".into());
            }
            return Ok(None);
        };
        let length: usize = std::str::from_utf8(&self.buffer[..newline])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or("RecordIO: bad length header")?;
        if length > MAX_EVENT_BYTES {
            return Err(format!("RecordIO: a record of {length} bytes is too large"));
        }
        if self.buffer.len() < newline + 1 + length {
            return Ok(None);
        }
        self.buffer.advance(newline + 1);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }
}

fn typed(env: &ExecutorEnv, kind: call::Type) -> Call {
    Call {
        executor_id: evolve(&env.executor_id),
        framework_id: evolve(&env.framework_id),
        r#type: Some(kind as i32),
        ..Call::default()
    }
}

/// What an output of the core is on this transport.
pub enum HttpOutput {
    /// Open a (new) event stream with this SUBSCRIBE; `resubscribe` if it replaces one.
    Subscribe {
        /// The call.
        call: Call,
        /// True for a re-registration.
        resubscribe: bool,
    },
    /// Send this call (UPDATE, MESSAGE).
    Send(Call),
}

/// The v1 call for a message of the core.
pub fn to_call(env: &ExecutorEnv, message: ToAgent) -> HttpOutput {
    match message {
        ToAgent::Register(_) => {
            let mut call = typed(env, call::Type::Subscribe);
            call.subscribe = Some(call::Subscribe::default());
            HttpOutput::Subscribe { call, resubscribe: false }
        }
        ToAgent::Reregister(m) => {
            let mut call = typed(env, call::Type::Subscribe);
            call.subscribe = Some(call::Subscribe {
                unacknowledged_tasks: m.tasks.iter().map(evolve).collect(),
                unacknowledged_updates: m
                    .updates
                    .iter()
                    .map(|u| call::Update { status: evolve(&u.status) })
                    .collect(),
            });
            HttpOutput::Subscribe { call, resubscribe: true }
        }
        ToAgent::StatusUpdate(m) => {
            let mut call = typed(env, call::Type::Update);
            call.update = Some(call::Update { status: evolve(&m.update.status) });
            HttpOutput::Send(call)
        }
        ToAgent::ToFramework(m) => {
            let mut call = typed(env, call::Type::Message);
            call.message = Some(call::Message { data: m.data });
            HttpOutput::Send(call)
        }
    }
}

/// A v1 event as the v0 message the core takes (`None`: nothing for the core).
// Short-lived values handed straight to the core: boxing would cost more than it saves.
#[allow(clippy::large_enum_variant)]
pub enum Inbound {
    /// SUBSCRIBED.
    Subscribed(internal::ExecutorRegisteredMessage),
    /// LAUNCH.
    Launch(internal::RunTaskMessage),
    /// LAUNCH_GROUP.
    LaunchGroup(internal::RunTaskGroupMessage),
    /// KILL.
    Kill(internal::KillTaskMessage),
    /// ACKNOWLEDGED.
    Acknowledged(internal::StatusUpdateAcknowledgementMessage),
    /// MESSAGE.
    Message(internal::FrameworkToExecutorMessage),
    /// SHUTDOWN.
    Shutdown,
    /// ERROR, with its message.
    Error(String),
}

/// Translates `event`; `framework` is the framework from SUBSCRIBED (LAUNCH carries
/// none).
#[allow(deprecated)] // RunTaskMessage.framework_id, as Mesos still sets it.
pub fn from_event(
    env: &ExecutorEnv,
    framework: &mesos::FrameworkInfo,
    event: Event,
) -> Option<Inbound> {
    let kind = event.r#type.and_then(|t| event::Type::try_from(t).ok())?;
    let framework_id = env.framework_id.clone();
    let inbound = match kind {
        event::Type::Subscribed => {
            let s = event.subscribed?;
            let slave_info: mesos::SlaveInfo = evolve(&s.agent_info);
            Inbound::Subscribed(internal::ExecutorRegisteredMessage {
                executor_info: evolve(&s.executor_info),
                framework_id,
                framework_info: evolve(&s.framework_info),
                slave_id: slave_info.id.clone().unwrap_or_else(|| env.agent_id.clone()),
                slave_info,
            })
        }
        event::Type::Launch => Inbound::Launch(internal::RunTaskMessage {
            framework_id: Some(framework_id),
            framework: framework.clone(),
            task: evolve(&event.launch?.task),
            ..internal::RunTaskMessage::default()
        }),
        event::Type::LaunchGroup => Inbound::LaunchGroup(internal::RunTaskGroupMessage {
            framework: framework.clone(),
            task_group: evolve(&event.launch_group?.task_group),
            ..internal::RunTaskGroupMessage::default()
        }),
        event::Type::Kill => {
            let kill = event.kill?;
            Inbound::Kill(internal::KillTaskMessage {
                framework_id,
                task_id: evolve(&kill.task_id),
                kill_policy: kill.kill_policy.as_ref().map(evolve),
            })
        }
        event::Type::Acknowledged => {
            let ack = event.acknowledged?;
            Inbound::Acknowledged(internal::StatusUpdateAcknowledgementMessage {
                slave_id: env.agent_id.clone(),
                framework_id,
                task_id: evolve(&ack.task_id),
                uuid: ack.uuid,
            })
        }
        event::Type::Message => Inbound::Message(internal::FrameworkToExecutorMessage {
            slave_id: env.agent_id.clone(),
            framework_id,
            executor_id: env.executor_id.clone(),
            data: event.message?.data,
        }),
        event::Type::Shutdown => Inbound::Shutdown,
        event::Type::Error => Inbound::Error(event.error.map(|e| e.message).unwrap_or_default()),
        event::Type::Heartbeat | event::Type::Unknown => return None,
    };
    Some(inbound)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RecordIO records split across chunks at any byte come out whole and in order.
    #[test]
    fn record_reader_reassembles_split_records() {
        let mut wire = Vec::new();
        for body in [&b"hello"[..], b"", b"world!"] {
            wire.extend_from_slice(format!("{}\n", body.len()).as_bytes());
            wire.extend_from_slice(body);
        }
        for split in 0..wire.len() {
            let mut reader = RecordReader::default();
            let mut out = Vec::new();
            for chunk in [&wire[..split], &wire[split..]] {
                reader.push(chunk);
                while let Some(record) = reader.next().unwrap() {
                    out.push(record.to_vec());
                }
            }
            assert_eq!(out, [b"hello".to_vec(), b"".to_vec(), b"world!".to_vec()]);
        }
        let mut bad = RecordReader::default();
        bad.push(b"x\n");
        assert!(bad.next().is_err());
    }
}
