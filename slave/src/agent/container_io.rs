//! The I/O of container sessions (Mesos's I/O switchboard, in the agent): a session's
//! output pumped to every attached client as RecordIO of `ProcessIO`, its input written
//! from ATTACH_CONTAINER_INPUT, its terminal resized; and the calls that drive them
//! (the session's start, its heartbeats, ATTACH_CONTAINER_OUTPUT and _INPUT).
//!
//! Mesos: src/slave/containerizer/mesos/io/switchboard.cpp (`IOSwitchboardServerProcess`:
//! output goes to every attached client until the process's streams close, then each
//! response ends; one input connection at a time, "Multiple input connections are not
//! allowed"; `TTY_INFO` sets the window size), src/slave/http.cpp
//! `launchNestedContainerSession` (the container is destroyed when its client goes).
//!
//! Input is interactive: ATTACH_CONTAINER_INPUT's body is streamed (libprocess
//! `route_streamed`), so each record reaches the process as it arrives:
//! 1. the head arrives: content negotiation; the body is not read yet;
//! 2. the first record names the container: validated, authorized, the session found,
//!    its input free (else `409`: one input connection at a time);
//! 3. each later record: `DATA` is written to stdin (or the terminal) at once, an empty
//!    one closes stdin (a terminal gets nothing: its client sends EOT itself, as
//!    Mesos), `TTY_INFO` resizes the terminal, `HEARTBEAT` changes nothing;
//! 4. the answer: `200` when the body ends or the session's process ends, `400` for a
//!    bad record, `500` when stdin cannot be written. The input is free again after
//!    (unless closed).
//!
//! Bounds: each client's stream buffers [`CLIENT_BUFFER`] records; a client that reads
//! slower makes the pump wait (and so the process, once its pipe is full), as Mesos's
//! switchboard does. At most [`MAX_CLIENTS`] output clients per session. An input
//! stream is read [`INPUT_BUFFER`] chunks ahead of the process (then the client waits),
//! its records are at most `MAX_INPUT_RECORD_BYTES`, and it ends after
//! [`INPUT_IDLE_TIMEOUT`] without a byte (Mesos's CLI sends a heartbeat every 30 s).

// An error answer is a whole HTTP response, built once per failed request.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use libprocess::http::{
    self as lhttp, RequestBody, Response, ResponseBody, StreamedBody, StreamedRequest,
};
use mesos_proto::http_api::Encoding;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::containers::io::{
    self as cio, Input, MESSAGE_CONTENT_TYPE, MediaTypes, RECORDIO, RecordDecoder, Stream,
};
use crate::containers::process::{self, SessionIo, set_window_size};
use libprocess::Context;
use libprocess::http::Responder;
use mesos_proto::ids::ContainerId;
use mesos_security::{NestedContainerCall, Principal, StandaloneContainerCall};
use nix::sys::signal::Signal;

use super::Agent;
use super::containers::{forbidden, status};
use super::visibility::Viewer;
use crate::containers::validate_container_id;
use mesos_proto::http_api::bad_request;

/// Records buffered per output client.
pub const CLIENT_BUFFER: usize = 16;
/// Output clients per session (the launching one and ATTACH_CONTAINER_OUTPUTs).
pub const MAX_CLIENTS: usize = 16;
/// Bytes read from a stream at a time (one `ProcessIO` record each at most).
const CHUNK: usize = 16 * 1024;
/// Chunks of an ATTACH_CONTAINER_INPUT body read ahead of the process.
pub const INPUT_BUFFER: usize = 16;
/// How long an input connection may stay silent (ten of Mesos's CLI heartbeats).
pub const INPUT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

type Reader = Box<dyn AsyncRead + Unpin + Send>;
type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// One attached output client.
struct Client {
    tx: mpsc::Sender<Bytes>,
    encoding: Encoding,
}

/// The clients of a session's output; `None` once the output ended.
type Clients = Arc<Mutex<Option<Vec<Client>>>>;

/// The state of a session's standard input.
pub(super) enum InputState {
    /// Nobody writes: the next ATTACH_CONTAINER_INPUT may.
    Idle(Writer),
    /// An ATTACH_CONTAINER_INPUT is writing; replacing this state (the session ended)
    /// drops the sender, which ends that input's connection.
    Busy {
        /// Held for its drop only.
        _feeding: oneshot::Sender<()>,
    },
    /// End of file was sent (or the process ended).
    Closed,
}

/// The agent's side of one session.
pub(super) struct Session {
    clients: Clients,
    /// Its standard input.
    pub(super) input: InputState,
    /// The terminal's master, for window sizes (TTY sessions).
    pub(super) tty: Option<std::fs::File>,
}

/// How a session's output pump ended.
pub(super) enum PumpEnd {
    /// The process's streams closed (it and everything it started are gone).
    Ended,
    /// The client that launched the session went away: the session must die.
    ClientGone,
}

/// A streamed answer carrying records: `application/recordio` with the records'
/// encoding in `Message-Content-Type` when the client asked for a stream, else labelled
/// with the records' encoding (Mesos frames the records either way).
pub(super) fn stream_response(media: MediaTypes) -> (Response, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    let mut response = http::Response::new(ResponseBody::Stream(rx));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    let records = HeaderValue::from_static(media.accept.content_type());
    if media.streamed_accept {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(RECORDIO));
        headers.insert(MESSAGE_CONTENT_TYPE, records);
    } else {
        headers.insert(header::CONTENT_TYPE, records);
    }
    (response, tx)
}

impl Session {
    /// A session over `io` whose output goes first to `first` (the launching client).
    /// Returns the session and the pump to run (its end says why it ended).
    pub(super) fn start(
        io: SessionIo,
        first: mpsc::Sender<Bytes>,
        encoding: Encoding,
    ) -> std::io::Result<(Session, impl Future<Output = PumpEnd> + 'static)> {
        let (stdout, stderr, input, tty): (Reader, Option<Reader>, Writer, _) = match io {
            SessionIo::Pipes { stdin, stdout, stderr } => {
                (Box::new(stdout), Some(Box::new(stderr)), Box::new(stdin), None)
            }
            SessionIo::Tty { master } => {
                let reader = tokio::fs::File::from_std(master.try_clone()?);
                let writer = tokio::fs::File::from_std(master.try_clone()?);
                (Box::new(reader), None, Box::new(writer), Some(master))
            }
            SessionIo::None => {
                return Err(std::io::Error::other("the container has no session streams"));
            }
        };
        let watched = first.clone();
        let clients: Clients = Arc::new(Mutex::new(Some(vec![Client { tx: first, encoding }])));
        let pump = pump(stdout, stderr, clients.clone(), watched);
        Ok((Session { clients, input: InputState::Idle(input), tty }, pump))
    }

    /// Sends a heartbeat (announcing `interval`) to every client; a full buffer skips it (the client is busy
    /// reading output anyway), a gone client is dropped.
    pub(super) fn heartbeat(&self, interval: std::time::Duration) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = clients.as_mut() {
            for client in list.iter() {
                let beat = cio::heartbeat_record(client.encoding, interval);
                let _ = client.tx.try_send(beat);
            }
            list.retain(|c| !c.tx.is_closed());
        }
    }

    /// Attaches another output client; false if the output has ended or the session
    /// has [`MAX_CLIENTS`].
    pub(super) fn attach(&self, tx: mpsc::Sender<Bytes>, encoding: Encoding) -> bool {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        match clients.as_mut() {
            Some(list) if list.len() < MAX_CLIENTS => {
                list.push(Client { tx, encoding });
                true
            }
            _ => false,
        }
    }
}

/// Sends one chunk to every client still there (waiting for slow ones).
async fn broadcast(clients: &Clients, stream: Stream, data: &[u8]) {
    let targets: Vec<(mpsc::Sender<Bytes>, Encoding)> = {
        let guard = clients.lock().unwrap_or_else(PoisonError::into_inner);
        guard.iter().flatten().map(|c| (c.tx.clone(), c.encoding)).collect()
    };
    for (tx, encoding) in targets {
        // A client that has gone is dropped from the list below.
        let _ = tx.send(cio::output_record(encoding, stream, data)).await;
    }
    let mut guard = clients.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(list) = guard.as_mut() {
        list.retain(|c| !c.tx.is_closed());
    }
}

/// Reads one stream: `Some(n)` bytes, `None` at its end (a pty's master reads `EIO`
/// once the terminal's last user closed it: that is its end too).
async fn read_some(reader: &mut Reader, buf: &mut [u8]) -> Option<usize> {
    match reader.read(buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// Pumps stdout (and stderr) to the clients until both end, or until the launching
/// client (`watched`) goes away. The clients' streams end with it.
async fn pump(
    mut stdout: Reader,
    mut stderr: Option<Reader>,
    clients: Clients,
    watched: mpsc::Sender<Bytes>,
) -> PumpEnd {
    let (mut out_buf, mut err_buf) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut out_open = true;
    let end = loop {
        if !out_open && stderr.is_none() {
            break PumpEnd::Ended;
        }
        tokio::select! {
            read = read_some(&mut stdout, &mut out_buf), if out_open => match read {
                Some(n) => broadcast(&clients, Stream::Stdout, &out_buf[..n]).await,
                None => out_open = false,
            },
            read = async {
                match stderr.as_mut() {
                    Some(reader) => read_some(reader, &mut err_buf).await,
                    None => std::future::pending().await,
                }
            }, if stderr.is_some() => match read {
                Some(n) => broadcast(&clients, Stream::Stderr, &err_buf[..n]).await,
                None => stderr = None,
            },
            () = watched.closed() => break PumpEnd::ClientGone,
        }
    };
    // Dropping every sender ends every client's response.
    clients.lock().unwrap_or_else(PoisonError::into_inner).take();
    end
}

/// The bounds of ATTACH_CONTAINER_INPUT's streamed body: the requests of `/api/v1`
/// with a RecordIO body (Mesos's agent streams exactly those).
pub(super) fn input_body() -> StreamedBody {
    StreamedBody {
        wants: has_recordio_body,
        max_bytes: None,
        idle_timeout: INPUT_IDLE_TIMEOUT,
        capacity: INPUT_BUFFER,
    }
}

fn has_recordio_body(headers: &http::HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    content_type.is_some_and(|v| v.split(';').next().unwrap_or("").trim() == RECORDIO)
}

/// The records of a streamed input body, as they arrive.
pub(super) struct InputRecords {
    body: RequestBody,
    decoder: RecordDecoder,
    encoding: Encoding,
}

impl InputRecords {
    /// The next whole record; `None` at the body's end.
    async fn next(&mut self) -> Option<Result<Vec<u8>, String>> {
        loop {
            match self.decoder.next_record() {
                Ok(Some(record)) => return Some(Ok(record)),
                Ok(None) => {}
                Err(message) => return Some(Err(message)),
            }
            match self.body.next_chunk().await {
                Some(Ok(chunk)) => self.decoder.feed(&chunk),
                Some(Err(error)) => return Some(Err(format!("Cannot read the input: {error}"))),
                None if self.decoder.is_empty() => return None,
                None => {
                    return Some(Err("a RecordIO record cut off by the end of the body".into()));
                }
            }
        }
    }
}

/// Feeds the records after the first to the process until the body ends, a record is
/// bad, or the session ends (`ended`). Returns the answer and the writer, unless end
/// of file or a failed write closed it. Mesos: switchboard.cpp `attachContainerInput`.
async fn feed_input(
    mut records: InputRecords,
    mut writer: Option<Writer>,
    tty: Option<std::fs::File>,
    mut ended: oneshot::Receiver<()>,
) -> (Response, Option<Writer>) {
    let ok = || lhttp::status(StatusCode::OK);
    loop {
        let record = tokio::select! {
            record = records.next() => record,
            _ = &mut ended => return (ok(), writer),
        };
        let input = match record.map(|r| r.and_then(|r| cio::next_input_call(records.encoding, &r)))
        {
            None => return (ok(), writer),
            Some(Ok(input)) => input,
            Some(Err(message)) => return (bad_request(message), writer),
        };
        match input {
            Input::Stdin(bytes) => {
                let written = match writer.as_mut() {
                    Some(w) => match w.write_all(&bytes).await {
                        Ok(()) => w.flush().await,
                        Err(error) => Err(error),
                    },
                    None => Err(std::io::Error::other("stdin is closed")),
                };
                if let Err(error) = written {
                    let message = format!("Failed writing to stdin: {error}");
                    return (status(500, message), None);
                }
            }
            // End of file closes a pipe; a terminal has none of its own (its line
            // discipline reads the client's EOT, ^D), so Mesos writes nothing to it.
            Input::Eof if tty.is_none() => {
                if let Some(mut w) = writer.take() {
                    let _ = w.shutdown().await;
                }
            }
            Input::Eof | Input::Nothing => {}
            Input::WindowSize(rows, columns) => {
                if let Some(master) = &tty
                    && let Err(error) = set_window_size(master, rows, columns)
                {
                    let message = format!("Unable to set the window size: {error}");
                    return (bad_request(message), writer);
                }
            }
        }
    }
}

/// The answer when the output cannot be attached.
pub(super) fn not_attachable(container: &str) -> Response {
    lhttp::text(
        StatusCode::NOT_FOUND,
        format!("Container {container} has no session output to attach to (ended, or full)"),
    )
}

impl Agent {
    /// A session started: its answer is its output, streamed; its end (or its
    /// client's) comes back to the actor. Mesos: http.cpp `launchNestedContainerSession`.
    pub(super) fn start_session(
        &mut self,
        id: ContainerId,
        io: process::SessionIo,
        media: MediaTypes,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        let (response, tx) = stream_response(media);
        let (session, pump) = match Session::start(io, tx, media.accept) {
            Ok(started) => started,
            Err(error) => {
                if let Ok(pid) = self.containers.book.kill_target(&id) {
                    process::signal_group(pid, Signal::SIGKILL);
                }
                responder.respond(status(500, format!("Cannot attach to container {id}: {error}")));
                return;
            }
        };
        self.containers.sessions.insert(id.clone(), session);
        if !self.containers.heartbeating {
            self.containers.heartbeating = true;
            let interval = self.core.config.http_heartbeat_interval;
            ctx.delay(interval, |agent: &mut Agent, ctx| agent.on_session_heartbeat_timeout(ctx));
        }
        let pumped = id.clone();
        ctx.spawn(pump, move |agent: &mut Agent, end, _ctx| {
            agent.on_session_output_ended(&pumped, end)
        });
        if !responder.respond(response) {
            tracing::info!(container = %id, "the session's client left before its answer");
        }
    }

    /// Heartbeats to every session's clients (Mesos: the switchboard's heartbeat
    /// loop, every `--http_heartbeat_interval`); again after the interval while any
    /// session is left. Besides keeping proxies from closing an idle stream, a write is
    /// how a connection the client closed is noticed (the server reads a closed client
    /// as a half-close), and so how a session whose client left is killed even when its
    /// process prints nothing.
    fn on_session_heartbeat_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        let interval = self.core.config.http_heartbeat_interval;
        for session in self.containers.sessions.values() {
            session.heartbeat(interval);
        }
        if self.containers.sessions.is_empty() {
            self.containers.heartbeating = false;
            return;
        }
        ctx.delay(interval, |agent: &mut Agent, ctx| agent.on_session_heartbeat_timeout(ctx));
    }

    /// A session's output ended; if its client left first, the session is killed
    /// (Mesos destroys the container when the connection closes).
    fn on_session_output_ended(&mut self, id: &ContainerId, end: PumpEnd) {
        if let PumpEnd::ClientGone = end
            && let Ok(pid) = self.containers.book.kill_target(id)
        {
            tracing::info!(container = %id, "the session's client went away: killing the session");
            process::signal_group(pid, Signal::SIGKILL);
        }
    }

    /// ATTACH_CONTAINER_OUTPUT: another client of a session's output. Mesos:
    /// http.cpp `attachContainerOutput` (`404` for an unknown container).
    pub(super) fn attach_output(
        &mut self,
        id: &ContainerId,
        media: MediaTypes,
        viewer: Viewer<'_>,
    ) -> Result<Response, Response> {
        if self.containers.book.get(id).is_none() && self.owner(id).is_none() {
            return Err(status(404, format!("Container {id} cannot be found")));
        }
        if !self.allowed(
            viewer,
            id,
            NestedContainerCall::AttachOutput,
            StandaloneContainerCall::Wait,
        ) {
            return Err(forbidden());
        }
        let Some(session) = self.containers.sessions.get(id) else {
            return Err(not_attachable(&id.to_string()));
        };
        let (response, tx) = stream_response(media);
        if !session.attach(tx, media.accept) {
            return Err(not_attachable(&id.to_string()));
        }
        Ok(response)
    }

    /// ATTACH_CONTAINER_INPUT's head arrived (step 1): its body is read up to the
    /// first record off the actor. Mesos: http.cpp `Http::api` (a streaming request's
    /// first record is read before the call is dispatched).
    pub(super) fn on_attach_input_request(
        &mut self,
        request: StreamedRequest,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        if request.method() != http::Method::POST {
            let message = format!("Expecting 'POST', received '{}'", request.method());
            responder.respond(status(405, message));
            return;
        }
        let media = match cio::negotiate(request.headers()) {
            Ok(media) => media,
            Err((code, message)) => {
                responder.respond(status(code, message));
                return;
            }
        };
        let principal = request.extensions().get::<Principal>().cloned();
        let mut records = InputRecords {
            body: request.into_body(),
            decoder: RecordDecoder::default(),
            encoding: media.content,
        };
        let first = async move {
            let first = records.next().await;
            (first, records)
        };
        ctx.spawn(first, move |agent: &mut Agent, (first, records), ctx| {
            let encoding = records.encoding;
            let first = first
                .unwrap_or_else(|| Err("Received EOF while reading request body".into()))
                .and_then(|record| cio::first_input_call(encoding, &record));
            match first {
                Ok(id) => agent.on_attach_input_opened(id, records, principal, responder, ctx),
                Err(message) => {
                    responder.respond(bad_request(message));
                }
            }
        });
    }

    /// The first record named the container (step 2): the input is taken and fed from
    /// the rest of the body; `409` when another connection feeds it.
    fn on_attach_input_opened(
        &mut self,
        id: ContainerId,
        records: InputRecords,
        principal: Option<Principal>,
        responder: Responder,
        ctx: &mut Context<'_, Self>,
    ) {
        if let Err(message) =
            validate_container_id("attach_container_input.container_id", &id, None)
        {
            responder.respond(bad_request(format!("Failed to validate agent::Call: {message}")));
            return;
        }
        if self.containers.book.get(&id).is_none() {
            responder.respond(status(404, format!("Container {id} cannot be found")));
            return;
        }
        let authorizer = self.core.config.authorizer.clone();
        let viewer = Viewer::of_principal(authorizer.as_deref(), principal.as_ref());
        if !self.allowed(
            viewer,
            &id,
            NestedContainerCall::AttachInput,
            StandaloneContainerCall::Wait,
        ) {
            responder.respond(forbidden());
            return;
        }
        let Some(session) = self.containers.sessions.get_mut(&id) else {
            responder.respond(not_attachable(&id.to_string()));
            return;
        };
        let (busy, ended) = oneshot::channel();
        let writer =
            match std::mem::replace(&mut session.input, InputState::Busy { _feeding: busy }) {
                InputState::Idle(writer) => writer,
                busy @ InputState::Busy { .. } => {
                    session.input = busy;
                    responder.respond(status(409, "Multiple input connections are not allowed"));
                    return;
                }
                InputState::Closed => {
                    session.input = InputState::Closed;
                    responder
                        .respond(bad_request(format!("The input of container {id} is closed")));
                    return;
                }
            };
        let tty = session.tty.as_ref().and_then(|t| t.try_clone().ok());
        let feed = feed_input(records, Some(writer), tty, ended);
        ctx.spawn(feed, move |agent: &mut Agent, (response, writer), _ctx| {
            if let Some(session) = agent.containers.sessions.get_mut(&id)
                && matches!(session.input, InputState::Busy { .. })
            {
                session.input = writer.map_or(InputState::Closed, InputState::Idle);
            }
            responder.respond(response);
        });
    }
}
