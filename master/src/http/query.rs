//! Query strings of the read-only endpoints: decoding, typed values, JSONP.
//!
//! Mesos: libprocess `http::query::decode` and the `OK(json, jsonp)` response helper.
//! Values are read the way Mesos reads them, because real clients depend on it (the
//! Mesos CLI asks for `/tasks?limit=-1`): a number is stout's `numify<int>` (decimal or
//! `0x` hex, optionally signed), and a number Mesos cannot parse falls back to the
//! endpoint's default instead of failing ([`Query::int`]); parameters an endpoint does
//! not know are ignored, as in Mesos (browsers add cache busters such as `_=123`). Two
//! things are still refused with `400`: a query whose `%` escapes are broken (Mesos's
//! decoder rejects the request too) and a `jsonp` callback that is not a JavaScript
//! name (Mesos echoes any text into the script it returns; we do not, see
//! [`Query::jsonp`]).

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

    /// An integer parameter read as Mesos reads it (stout `numify<int>`): `None` if
    /// absent or not a number Mesos would accept, so the caller applies its default as
    /// Mesos does. Mesos: master/readonly_handler.cpp `tasks` (`numify<int>(query.get("limit"))`).
    pub fn int(&self, name: &str) -> Option<i32> {
        self.get(name).and_then(numify_int)
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

/// stout's `numify<int>`: a decimal integer with an optional sign, or a hexadecimal one
/// (`0x1f`, `-0x1f`); no spaces, no fractions, nothing past `i32`'s range.
pub fn numify_int(text: &str) -> Option<i32> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let hex = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X"));
    match hex {
        // `from_str_radix` takes a sign of its own: refuse `0x-1` and `0x+1`.
        Some(hex) if hex.starts_with(['-', '+']) => None,
        Some(hex) => {
            let value = i64::from_str_radix(hex, 16).ok()?;
            i32::try_from(if negative { -value } else { value }).ok()
        }
        None if digits.starts_with(['-', '+']) => None,
        None => text.parse::<i32>().ok(),
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

    /// Numbers parse as Mesos's `numify<int>`: signed decimal and hex; anything else
    /// (words, spaces, fractions, past `i32`) is `None`, i.e. the endpoint's default.
    #[test]
    fn numbers_as_mesos_reads_them() {
        let query =
            Query::decode("limit=-1&offset=3&hex=0x1F&neg=-0x10&plus=%2B7&space=+7").unwrap();
        assert_eq!(query.int("limit"), Some(-1));
        assert_eq!(query.int("offset"), Some(3));
        assert_eq!(query.int("hex"), Some(31));
        assert_eq!(query.int("neg"), Some(-16));
        assert_eq!(query.int("plus"), Some(7));
        // A bare `+` in a query is a space, and " 7" is no number.
        assert_eq!(query.int("space"), None);
        assert_eq!(query.int("missing"), None);
        for text in ["ten", "", " 5", "1.5", "2147483648", "0x", "0x-1", "--1", "0x1.8"] {
            assert_eq!(numify_int(text), None, "{text:?}");
        }
        assert_eq!(numify_int("-2147483648"), Some(i32::MIN));
    }

    /// Only an unsafe JSONP callback is refused.
    #[test]
    fn jsonp_callbacks() {
        let query = Query::decode("jsonp=angular.callbacks._0").unwrap();
        assert_eq!(query.jsonp().unwrap(), Some("angular.callbacks._0"));
        assert_eq!(Query::decode("a=1").unwrap().jsonp().unwrap(), None);
        assert!(Query::decode("jsonp=alert(1)").unwrap().jsonp().is_err());
    }
}
