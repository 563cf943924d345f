//! Query strings of the read-only endpoints: decoding, typed values, JSONP.
//!
//! Mesos: libprocess `http::query::decode` and the `OK(json, jsonp)` response helper.
//! Unlike Mesos, a value that cannot be understood (`limit=ten`, `order=sideways`) is a
//! `400` saying which parameter is wrong, never a silent default; parameters an endpoint
//! does not know are ignored, as in Mesos (browsers add cache busters such as `_=123`).

use std::collections::HashMap;

use http::{HeaderValue, StatusCode, header};
use libprocess::http::{self as lhttp, Request, Response, percent_decode};
use serde_json::Value;

/// The decoded query parameters of a request (a later duplicate wins, as in Mesos).
#[derive(Debug, Default, Clone)]
pub struct Query {
    values: HashMap<String, String>,
}

/// Why a query could not be used: answered with `400` and this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl Query {
    /// Decodes `application/x-www-form-urlencoded` text (`a=1&b=x%20y`).
    pub fn decode(text: &str) -> Result<Query, QueryError> {
        let mut values = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key, true)
                .ok_or_else(|| QueryError(format!("malformed query parameter name '{key}'")))?;
            let value = percent_decode(value, true)
                .ok_or_else(|| QueryError(format!("malformed value of query parameter '{key}'")))?;
            values.insert(key, value);
        }
        Ok(Query { values })
    }

    /// The query of `request`'s URL.
    pub fn of(request: &Request) -> Result<Query, QueryError> {
        Query::decode(request.uri().query().unwrap_or(""))
    }

    /// A parameter's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A non-negative integer parameter (`limit`, `offset`), or `None` if absent.
    pub fn usize(&self, name: &str) -> Result<Option<usize>, QueryError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<usize>().map(Some).map_err(|_| {
                QueryError(format!("Invalid value '{text}' for query parameter '{name}': expected a non-negative integer"))
            }),
        }
    }

    /// A parameter that must be one of `allowed`, or `None` if absent.
    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<&str>, QueryError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) if allowed.contains(&value) => Ok(Some(value)),
            Some(value) => Err(QueryError(format!(
                "Invalid value '{value}' for query parameter '{name}': expected one of {}",
                allowed.join(", ")
            ))),
        }
    }

    /// The JSONP callback name, checked so that it cannot inject script.
    pub fn jsonp(&self) -> Result<Option<&str>, QueryError> {
        match self.get("jsonp") {
            None => Ok(None),
            Some(name)
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.')) =>
            {
                Ok(Some(name))
            }
            Some(name) => Err(QueryError(format!(
                "Invalid value '{name}' for query parameter 'jsonp': expected a JavaScript function name"
            ))),
        }
    }
}

/// `200` with `value` as JSON, or as `callback(value);` when `jsonp` names a callback
/// (Mesos: libprocess `http::OK(JSON, jsonp)`).
pub fn ok_json(value: &Value, jsonp: Option<&str>) -> Response {
    match jsonp {
        None => lhttp::json(StatusCode::OK, value),
        Some(callback) => {
            let mut response =
                lhttp::response(StatusCode::OK, "text/javascript", format!("{callback}({value});"));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
            response
        }
    }
}

/// `400 Bad Request` with the explanation as text, as Mesos answers.
pub fn bad_request(error: &QueryError) -> Response {
    lhttp::text(StatusCode::BAD_REQUEST, error.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Form decoding handles escapes, `+`, empty values and rejects broken escapes.
    #[test]
    fn decodes_form_text() {
        let query = Query::decode("a=1&b=x%20y+z&c&framework_id=abc-0001").unwrap();
        assert_eq!(query.get("a"), Some("1"));
        assert_eq!(query.get("b"), Some("x y z"));
        assert_eq!(query.get("c"), Some(""));
        assert_eq!(query.get("framework_id"), Some("abc-0001"));
        assert!(Query::decode("a=%zz").is_err());
    }

    /// Typed accessors reject values they cannot understand with a message naming them.
    #[test]
    fn typed_values() {
        let query = Query::decode("limit=ten&offset=3&order=up&jsonp=cb.x&bad=1").unwrap();
        assert!(query.usize("limit").unwrap_err().0.contains("'limit'"));
        assert_eq!(query.usize("offset").unwrap(), Some(3));
        assert_eq!(query.usize("missing").unwrap(), None);
        assert!(query.one_of("order", &["asc", "des"]).unwrap_err().0.contains("asc, des"));
        assert_eq!(query.jsonp().unwrap(), Some("cb.x"));
        assert!(Query::decode("jsonp=alert(1)").unwrap().jsonp().is_err());
    }
}
