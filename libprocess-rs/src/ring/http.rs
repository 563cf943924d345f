//! The ring's two HTTP endpoints, one handler for every node that serves them (the
//! master at `/master/messages`, the agent at `/slave(1)/messages`):
//!
//! - `GET .../messages?after=<seq>&limit=<n>`: the entries after the cursor, oldest
//!   first, as `{"node", "next", "dropped", "messages": [{"seq", "time", "direction",
//!   "from", "to", "name", "size"}]}`. `limit` defaults to [`DEFAULT_LIMIT`] and is
//!   capped at [`MAX_LIMIT`]. Every such read arms the ring ([`MessageRing::arm`]).
//! - `GET .../messages/body?seq=<seq>`: `{"seq", "name", "from", "to", "direction",
//!   "body"}` with the body decoded to JSON by the caller's [`BodyDecoder`] (libprocess
//!   knows no message types); `"body": null, "undecodable": true` when the decoder does
//!   not know the name; `404` once the body is no longer kept.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{MessageRing, Page};
use crate::http::{self as lhttp, Request, Response, SharedHandler};

/// Entries per read when the client names no `limit`.
pub const DEFAULT_LIMIT: usize = 500;

/// The most entries one read returns, whatever `limit` asks (bounds the response).
pub const MAX_LIMIT: usize = 5000;

/// Decodes a body of the named message type to JSON; `None` when the name is unknown
/// or the bytes do not decode.
pub type BodyDecoder = Arc<dyn Fn(&str, &[u8]) -> Option<Value> + Send + Sync>;

/// The handler to install (with `route_shared`) at `/messages` of a process: it
/// answers `/messages` and `/messages/body`. It runs outside the process, so reading
/// the ring never delays the process's messages.
pub fn handler(ring: Arc<MessageRing>, node: String, decode: BodyDecoder) -> SharedHandler {
    Arc::new(move |request: Request| {
        let response = serve(&ring, &node, &decode, &request);
        Box::pin(async move { response })
    })
}

fn serve(ring: &MessageRing, node: &str, decode: &BodyDecoder, request: &Request) -> Response {
    if request.method() != Method::GET {
        return lhttp::text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served here");
    }
    let query = request.uri().query().unwrap_or("");
    let path = request.uri().path().trim_end_matches('/');
    let answer = if path.ends_with("/messages/body") {
        number(query, "seq").and_then(|seq| {
            let seq = seq.ok_or_else(|| "missing 'seq'".to_string())?;
            Ok(body(ring, decode, seq))
        })
    } else if path.ends_with("/messages") {
        list(ring, node, query)
    } else {
        return lhttp::text(StatusCode::NOT_FOUND, format!("nothing is served at {path}"));
    };
    answer.unwrap_or_else(|error| lhttp::text(StatusCode::BAD_REQUEST, error))
}

fn list(ring: &MessageRing, node: &str, query: &str) -> Result<Response, String> {
    let after = number(query, "after")?;
    let limit = number(query, "limit")?
        .map_or(DEFAULT_LIMIT, |l| usize::try_from(l).unwrap_or(MAX_LIMIT))
        .min(MAX_LIMIT);
    ring.arm();
    let page = ring.read(after, limit);
    Ok(lhttp::json(StatusCode::OK, &page_json(node, &page)))
}

/// The JSON of one page, as the endpoint answers it.
pub fn page_json(node: &str, page: &Page) -> Value {
    let messages: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "time": e.time.secs_f64(),
                "direction": e.direction.as_str(),
                "from": e.from.to_string(),
                "to": e.to.to_string(),
                "name": e.name.to_string(),
                "size": e.size,
            })
        })
        .collect();
    json!({ "node": node, "next": page.next, "dropped": page.dropped, "messages": messages })
}

fn body(ring: &MessageRing, decode: &BodyDecoder, seq: u64) -> Response {
    let Some((entry, bytes)) = ring.body(seq) else {
        return lhttp::text(StatusCode::NOT_FOUND, format!("message {seq} is no longer kept"));
    };
    let name = entry.name.to_string();
    let mut answer = json!({
        "seq": entry.seq,
        "name": name,
        "from": entry.from.to_string(),
        "to": entry.to.to_string(),
        "direction": entry.direction.as_str(),
    });
    match decode(&name, &bytes) {
        Some(decoded) => answer["body"] = decoded,
        None => {
            answer["body"] = Value::Null;
            answer["undecodable"] = Value::Bool(true);
        }
    }
    lhttp::json(StatusCode::OK, &answer)
}

/// The value of `key` in a query string as a number (an error text if it is not one).
fn number(query: &str, key: &str) -> Result<Option<u64>, String> {
    let Some(value) = query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    }) else {
        return Ok(None);
    };
    value.parse().map(Some).map_err(|_| format!("'{key}' must be a number, not '{value}'"))
}
