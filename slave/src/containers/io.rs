//! What flows over a container session: RecordIO streams of `ProcessIO`, and the media
//! types that say how each record is encoded.
//!
//! Mesos: docs/operator-http-api.md ("ATTACH_CONTAINER_INPUT", "ATTACH_CONTAINER_OUTPUT",
//! "LAUNCH_NESTED_CONTAINER_SESSION"), docs/recordio.md, src/slave/http.cpp `Http::api`
//! (content negotiation with `Message-Content-Type` and `Message-Accept`).
//!
//! A streamed body is `application/recordio`: records `<decimal length>\n<bytes>`, each
//! a message encoded as the `Message-Content-Type` (requests) or `Message-Accept`
//! (responses) says, JSON or protobuf. Output is `ProcessIO` `DATA` records (`STDOUT`,
//! `STDERR`); input is agent `Call`s: first `ATTACH_CONTAINER_INPUT` of type
//! `CONTAINER_ID`, then ones of type `PROCESS_IO` carrying `DATA` (`STDIN`; empty data
//! is end of file) or `CONTROL` (`TTY_INFO` window sizes, `HEARTBEAT`s).

use bytes::Bytes;
use http::HeaderMap;
use mesos_proto::http_api::{Encoding, JSON, PROTOBUF};
use mesos_proto::mesos::v1::agent::{Call, ProcessIo, call, process_io};

/// `application/recordio`.
pub const RECORDIO: &str = "application/recordio";
/// The header naming the encoding of a streamed request's records.
pub const MESSAGE_CONTENT_TYPE: &str = "Message-Content-Type";
/// The header naming the encoding wanted for a streamed response's records.
pub const MESSAGE_ACCEPT: &str = "Message-Accept";

/// The media types of a request to the agent API (Mesos: `RequestMediaTypes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaTypes {
    /// The request body: a whole message, or (Some) a RecordIO stream of messages in
    /// this encoding.
    pub content: Encoding,
    /// True when the body is RecordIO (`content` is then `Message-Content-Type`).
    pub streamed_content: bool,
    /// The answer: a whole message, or records in this encoding.
    pub accept: Encoding,
    /// True when the client asked for `application/recordio` (`accept` is then its
    /// `Message-Accept`).
    pub streamed_accept: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The media types of one value (`application/json; charset=utf-8` is JSON).
fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or("").trim()
}

/// Which of the types `wanted` an `Accept`-like header allows, in that order of
/// preference; a missing header allows the first.
fn accepts<'a>(value: Option<&str>, wanted: &[&'a str]) -> Option<&'a str> {
    let Some(value) = value else { return wanted.first().copied() };
    let types: Vec<&str> = value.split(',').map(media_type).collect();
    wanted
        .iter()
        .copied()
        .find(|w| types.iter().any(|t| t == w || *t == "*/*" || *t == "application/*"))
}

fn encoding_of(media_type: &str) -> Option<Encoding> {
    match media_type {
        JSON => Some(Encoding::Json),
        PROTOBUF => Some(Encoding::Protobuf),
        _ => None,
    }
}

/// Mesos's content negotiation of the agent API: `Err((status, message))` with
/// Mesos's status codes (`400` no Content-Type or no Message-Content-Type on a stream,
/// `415` an unknown type, `406` nothing acceptable).
pub fn negotiate(headers: &HeaderMap) -> Result<MediaTypes, (u16, String)> {
    let content_type = header(headers, "Content-Type")
        .ok_or((400, "Expecting 'Content-Type' to be present".to_string()))?;
    let message_content_type = header(headers, MESSAGE_CONTENT_TYPE);
    let (content, streamed_content) = match media_type(content_type) {
        RECORDIO => {
            let inner = message_content_type.ok_or((
                400,
                format!("Expecting '{MESSAGE_CONTENT_TYPE}' to be set for streaming requests"),
            ))?;
            let encoding = encoding_of(media_type(inner)).ok_or((
                415,
                format!("Expecting '{MESSAGE_CONTENT_TYPE}' of {JSON} or {PROTOBUF}"),
            ))?;
            (encoding, true)
        }
        other => {
            let encoding = encoding_of(other).ok_or((
                415,
                format!("Expecting 'Content-Type' of {JSON} or {PROTOBUF} or {RECORDIO}"),
            ))?;
            if message_content_type.is_some() {
                return Err((
                    415,
                    format!(
                        "Expecting '{MESSAGE_CONTENT_TYPE}' to be not set for non-streaming requests"
                    ),
                ));
            }
            (encoding, false)
        }
    };
    let accept = accepts(header(headers, "Accept"), &[JSON, PROTOBUF, RECORDIO])
        .ok_or((406, format!("Expecting 'Accept' to allow {JSON} or {PROTOBUF} or {RECORDIO}")))?;
    let message_accept = header(headers, MESSAGE_ACCEPT);
    let (accept, streamed_accept) = if accept == RECORDIO {
        let inner = accepts(message_accept, &[JSON, PROTOBUF])
            .ok_or((406, format!("Expecting '{MESSAGE_ACCEPT}' to allow {JSON} or {PROTOBUF}")))?;
        (encoding_of(inner).unwrap_or(Encoding::Json), true)
    } else {
        if message_accept.is_some() {
            return Err((
                406,
                format!("Expecting '{MESSAGE_ACCEPT}' to be not set for non-streaming responses"),
            ));
        }
        (encoding_of(accept).unwrap_or(Encoding::Json), false)
    };
    Ok(MediaTypes { content, streamed_content, accept, streamed_accept })
}

/// One RecordIO record: `<decimal length>\n<bytes>`.
pub fn record(body: &[u8]) -> Bytes {
    let mut out = format!("{}\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// Splits a whole RecordIO body into its records. A length that is not a number, or
/// runs past the end of the body, is an error (Mesos's `recordio::Decoder`).
pub fn split_records(mut body: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut records = Vec::new();
    while !body.is_empty() {
        let newline = body
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("a RecordIO record length without its newline")?;
        // A length has at most 20 digits (u64); longer is garbage, not a size.
        let digits = std::str::from_utf8(&body[..newline])
            .ok()
            .filter(|d| !d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or("a RecordIO record length that is not a number")?;
        let length: usize = digits.parse().map_err(|_| "a RecordIO record length too large")?;
        let rest = &body[newline + 1..];
        if rest.len() < length {
            return Err(format!("a RecordIO record of {length} bytes truncated"));
        }
        records.push(&rest[..length]);
        body = &rest[length..];
    }
    Ok(records)
}

/// Decodes one agent `Call` in `encoding`.
pub fn decode_call(encoding: Encoding, bytes: &[u8]) -> Result<Call, String> {
    match encoding {
        Encoding::Json => {
            let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
            mesos_proto::json::from_json_str(text).map_err(|e| e.to_string())
        }
        Encoding::Protobuf => {
            prost::Message::decode(bytes).map_err(|e: prost::DecodeError| e.to_string())
        }
    }
}

/// Which stream a chunk of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (and everything a TTY shows).
    Stdout,
    /// Standard error.
    Stderr,
}

/// One output chunk as a `ProcessIO` `DATA` record in `encoding`.
pub fn output_record(encoding: Encoding, stream: Stream, data: &[u8]) -> Bytes {
    let kind = match stream {
        Stream::Stdout => process_io::data::Type::Stdout,
        Stream::Stderr => process_io::data::Type::Stderr,
    };
    let message = ProcessIo {
        r#type: Some(process_io::Type::Data as i32),
        data: Some(process_io::Data { r#type: Some(kind as i32), data: Some(data.to_vec()) }),
        control: None,
    };
    record(&encoding.encode(&message))
}

/// A `ProcessIO` `CONTROL` `HEARTBEAT` record in `encoding`, announcing `interval`.
pub fn heartbeat_record(encoding: Encoding, interval: std::time::Duration) -> Bytes {
    use process_io::control;
    let nanoseconds = i64::try_from(interval.as_nanos()).unwrap_or(i64::MAX);
    let message = ProcessIo {
        r#type: Some(process_io::Type::Control as i32),
        data: None,
        control: Some(process_io::Control {
            r#type: Some(control::Type::Heartbeat as i32),
            tty_info: None,
            heartbeat: Some(control::Heartbeat {
                interval: Some(mesos_proto::mesos::v1::DurationInfo { nanoseconds }),
            }),
        }),
    };
    record(&encoding.encode(&message))
}

/// What one input record asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes for the process's standard input.
    Stdin(Vec<u8>),
    /// End of the standard input (a `STDIN` record with empty data).
    Eof,
    /// A new terminal size (rows, columns).
    WindowSize(u16, u16),
    /// A heartbeat, or anything else that changes nothing.
    Nothing,
}

/// The parsed body of an ATTACH_CONTAINER_INPUT: the container, then its input.
#[derive(Clone, Debug)]
pub struct AttachInput {
    /// The container attached to.
    pub container_id: mesos_proto::ids::ContainerId,
    /// The input, in order.
    pub inputs: Vec<Input>,
}

/// Parses a whole ATTACH_CONTAINER_INPUT body (Mesos: validation.cpp, the first
/// message must be `CONTAINER_ID`, the others `PROCESS_IO` carrying `STDIN` data or a
/// control message). The agent reads a streamed body record by record with
/// [`RecordDecoder`], [`first_input_call`] and [`next_input_call`]; this is the same
/// over a body already whole.
pub fn parse_attach_input(encoding: Encoding, body: &[u8]) -> Result<AttachInput, String> {
    let mut records = split_records(body)?.into_iter();
    let first = records.next().ok_or("Received EOF while reading request body")?;
    let container_id = first_input_call(encoding, first)?;
    let inputs = records.map(|r| next_input_call(encoding, r)).collect::<Result<_, _>>()?;
    Ok(AttachInput { container_id, inputs })
}

/// The first record of an ATTACH_CONTAINER_INPUT body: the call naming the container
/// (Mesos: http.cpp `Http::api` reads it before anything else).
pub fn first_input_call(
    encoding: Encoding,
    record: &[u8],
) -> Result<mesos_proto::ids::ContainerId, String> {
    let first = decode_call(encoding, record)?;
    let attach = first
        .attach_container_input
        .filter(|_| first.r#type == Some(call::Type::AttachContainerInput as i32))
        .ok_or("Expecting the first message to be an ATTACH_CONTAINER_INPUT call")?;
    let container_id = attach
        .container_id
        .filter(|_| attach.r#type == Some(call::attach_container_input::Type::ContainerId as i32))
        .ok_or("Expecting the first message to be of type CONTAINER_ID")?;
    Ok(container_id.into())
}

/// A later record of an ATTACH_CONTAINER_INPUT body: what it asks of the session.
pub fn next_input_call(encoding: Encoding, record: &[u8]) -> Result<Input, String> {
    let io = decode_call(encoding, record)?
        .attach_container_input
        .filter(|a| a.r#type == Some(call::attach_container_input::Type::ProcessIo as i32))
        .and_then(|a| a.process_io)
        .ok_or("Expecting every later message to be of type PROCESS_IO")?;
    input_of(io)
}

/// The largest input record taken (a keystroke or a pasted block is far smaller);
/// a larger one ends the input with `400`.
pub const MAX_INPUT_RECORD_BYTES: usize = 1024 * 1024;

/// Cuts RecordIO records out of a body that arrives in pieces of any size (Mesos:
/// `recordio::Decoder`): [`feed`](Self::feed) what arrived, then take whole records.
#[derive(Default)]
pub struct RecordDecoder {
    buffer: Vec<u8>,
}

impl RecordDecoder {
    /// Appends bytes that arrived.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// True when no partial record is buffered.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The next whole record, `Ok(None)` until more bytes arrive; an error for a
    /// length that is not a number or is over [`MAX_INPUT_RECORD_BYTES`].
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, String> {
        let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') else {
            // A length has at most 20 digits (u64); more without a newline is garbage.
            if self.buffer.len() > 20 {
                return Err("a RecordIO record length that is not a number".into());
            }
            return Ok(None);
        };
        let digits = std::str::from_utf8(&self.buffer[..newline])
            .ok()
            .filter(|d| !d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or("a RecordIO record length that is not a number")?;
        let length: usize = digits.parse().map_err(|_| "a RecordIO record length too large")?;
        if length > MAX_INPUT_RECORD_BYTES {
            return Err(format!(
                "a RecordIO record of {length} bytes (at most {MAX_INPUT_RECORD_BYTES})"
            ));
        }
        if self.buffer.len() - (newline + 1) < length {
            return Ok(None);
        }
        let record = self.buffer[newline + 1..newline + 1 + length].to_vec();
        self.buffer.drain(..newline + 1 + length);
        Ok(Some(record))
    }
}

fn input_of(io: ProcessIo) -> Result<Input, String> {
    use process_io::control::Type as C;
    if let Some(data) = io.data {
        if data.r#type != Some(process_io::data::Type::Stdin as i32) {
            return Err("Expecting 'process_io.data.type' to be STDIN".into());
        }
        let bytes = data.data.unwrap_or_default();
        return Ok(if bytes.is_empty() { Input::Eof } else { Input::Stdin(bytes) });
    }
    let Some(control) = io.control else {
        return Err("Expecting 'process_io.data' or 'process_io.control' to be present".into());
    };
    if control.r#type == Some(C::TtyInfo as i32) {
        let size = control.tty_info.and_then(|t| t.window_size);
        let Some(size) = size else { return Ok(Input::Nothing) };
        let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        return Ok(Input::WindowSize(clamp(size.rows), clamp(size.columns)));
    }
    Ok(Input::Nothing)
}

#[cfg(test)]
#[path = "io_tests.rs"]
mod tests;
