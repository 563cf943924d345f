//! What every v1 HTTP API (the master's `/api/v1/scheduler` and `/api/v1`, the agent's
//! `/api/v1/executor` and `/api/v1`) shares: content negotiation with Mesos's status
//! codes, v0/v1 re-encoding, RecordIO framing.
//!
//! Mesos: src/common/http.cpp (`APPLICATION_JSON`, `APPLICATION_PROTOBUF`,
//! `Request::acceptsMediaType`), src/internal/evolve.cpp.

// An error answer is a whole HTTP response, built once per failed request; boxing it
// would buy nothing.
#![allow(clippy::result_large_err)]

use bytes::Bytes;
use http::{StatusCode, header};
use libprocess::http::{self as lhttp, Request, Response};
use prost::Message;

/// The message ring's endpoints (`/messages`, `/messages/body`; see
/// [`libprocess::ring::http`]) with bodies decoded by Mesos's JSON mapping: the one
/// handler the master installs at `/master/messages` and the agent at
/// `/slave(1)/messages`.
pub fn messages_handler(node: &libprocess::Node) -> lhttp::SharedHandler {
    libprocess::ring::http::handler(
        node.message_ring().clone(),
        node.address().to_string(),
        std::sync::Arc::new(crate::json::bytes_to_json),
    )
}

/// `application/json`.
pub const JSON: &str = "application/json";
/// `application/x-protobuf`.
pub const PROTOBUF: &str = "application/x-protobuf";

/// How a client wants its answers encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json`.
    Json,
    /// `application/x-protobuf`.
    Protobuf,
}

impl Encoding {
    /// The `Content-Type` of answers in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => JSON,
            Encoding::Protobuf => PROTOBUF,
        }
    }

    /// `message` in this encoding.
    pub fn encode<M: prost_reflect::ReflectMessage>(self, message: &M) -> Vec<u8> {
        match self {
            Encoding::Json => crate::json::to_json_string(message).into_bytes(),
            Encoding::Protobuf => message.encode_to_vec(),
        }
    }
}

/// A `400 Bad Request` with `message`.
pub fn bad_request(message: impl Into<String>) -> Response {
    lhttp::text(StatusCode::BAD_REQUEST, message)
}

/// `405` unless the request is a `POST`.
pub fn require_post(request: &Request) -> Result<(), Response> {
    if request.method() == http::Method::POST {
        return Ok(());
    }
    let mut response = lhttp::text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Expecting a 'POST' request, received '{}'", request.method()),
    );
    response.headers_mut().insert(header::ALLOW, http::HeaderValue::from_static("POST"));
    Err(response)
}

/// Which of JSON and protobuf the `Accept` header allows (JSON preferred, and JSON
/// when there is no header, as Mesos); `406` if neither.
pub fn response_encoding(request: &Request) -> Result<Encoding, Response> {
    let Some(accept) = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Encoding::Json);
    };
    let types: Vec<&str> =
        accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
    let accepts =
        |wanted: &str| types.iter().any(|t| *t == wanted || *t == "*/*" || *t == "application/*");
    if accepts(JSON) {
        Ok(Encoding::Json)
    } else if accepts(PROTOBUF) {
        Ok(Encoding::Protobuf)
    } else {
        Err(lhttp::text(
            StatusCode::NOT_ACCEPTABLE,
            format!("Expecting 'Accept' to allow '{PROTOBUF}' or '{JSON}'"),
        ))
    }
}

/// Parses the body by its `Content-Type`: `400` without one or for a malformed body,
/// `415` for a type other than JSON and protobuf.
pub fn parse_body<M>(request: &Request) -> Result<M, Response>
where
    M: prost_reflect::ReflectMessage + Default,
{
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .ok_or_else(|| bad_request("Expecting 'Content-Type' to be present"))?
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    match content_type.as_str() {
        JSON => {
            let text = std::str::from_utf8(request.body())
                .map_err(|e| bad_request(format!("Request body is not UTF-8: {e}")))?;
            crate::json::from_json_str(text)
                .map_err(|e| bad_request(format!("Failed to parse body into Call protobuf: {e}")))
        }
        PROTOBUF => M::decode(request.body().clone())
            .map_err(|e| bad_request(format!("Failed to parse body into Call protobuf: {e}"))),
        other => Err(lhttp::text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Expecting 'Content-Type' of {JSON} or {PROTOBUF}, got '{other}'"),
        )),
    }
}

/// Re-encodes a message as its twin of another package (Mesos's `evolve`/`devolve`:
/// v0 and v1 types are identical on the wire).
pub fn evolve<A: Message, B: Message + Default>(from: &A) -> B {
    B::decode(Bytes::from(from.encode_to_vec())).unwrap_or_default()
}

/// One RecordIO record: `<decimal length>\n<bytes>`.
pub fn record(body: Vec<u8>) -> Bytes {
    let mut out = format!("{}\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    Bytes::from(out)
}

/// The v1 `Flag`s of a process's flags, the GET_FLAGS answer of master and agent alike
/// (Mesos: master/http.cpp and slave/http.cpp `getFlags`).
pub fn v1_flags<'a>(
    flags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<crate::mesos::v1::Flag> {
    flags
        .into_iter()
        .map(|(name, value)| crate::mesos::v1::Flag {
            name: name.to_string(),
            value: Some(value.to_string()),
        })
        .collect()
}

/// The v1 `Metric`s of a metrics snapshot, the GET_METRICS answer of master and agent.
pub fn v1_metrics(
    snapshot: impl IntoIterator<Item = (String, f64)>,
) -> Vec<crate::mesos::v1::Metric> {
    snapshot
        .into_iter()
        .map(|(name, value)| crate::mesos::v1::Metric { name, value: Some(value) })
        .collect()
}

/// The v1 `VersionInfo` naming `version`, the GET_VERSION answer of master and agent.
pub fn v1_version(version: String) -> crate::mesos::v1::VersionInfo {
    crate::mesos::v1::VersionInfo { version, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record is its length in decimal, a newline, then the bytes.
    #[test]
    fn record_is_length_newline_bytes() {
        assert_eq!(&record(b"hello".to_vec())[..], b"5\nhello");
        assert_eq!(&record(Vec::new())[..], b"0\n");
    }

    /// `Accept` negotiation: none = JSON, JSON preferred, protobuf alone, neither = 406.
    #[test]
    fn accept_negotiation() {
        let with = |accept: Option<&str>| {
            let mut builder = http::Request::builder().method("POST").uri("/api/v1");
            if let Some(accept) = accept {
                builder = builder.header("accept", accept);
            }
            response_encoding(&builder.body(Bytes::new()).unwrap()).map_err(|r| r.status())
        };
        assert_eq!(with(None), Ok(Encoding::Json));
        assert_eq!(with(Some("application/x-protobuf, application/json")), Ok(Encoding::Json));
        assert_eq!(with(Some("application/x-protobuf")), Ok(Encoding::Protobuf));
        assert_eq!(with(Some("*/*")), Ok(Encoding::Json));
        assert_eq!(with(Some("text/html")), Err(StatusCode::NOT_ACCEPTABLE));
    }
}
