//! JSON Web Tokens (RFC 7519) signed with HMAC-SHA256, as Mesos gives them to executors.
//!
//! With `--authenticate_http_executors` the agent signs, for every executor it launches,
//! a token whose claims name that executor: `fid` (its framework ID), `eid` (its
//! executor ID) and `cid` (its container ID). The executor finds the token in
//! `MESOS_EXECUTOR_AUTHENTICATION_TOKEN` and sends it with each call to
//! `/api/v1/executor` as `Authorization: Bearer <token>`. The agent checks the signature
//! with the same key (`--jwt_secret_key`), and the claims against the call's framework
//! and executor IDs and the executor's current container.
//!
//! A token is three base64url parts (no padding) joined by dots:
//!
//! ```text
//! base64url({"alg":"HS256","typ":"JWT"}) . base64url({"cid":"..","eid":"..","fid":".."}) . base64url(HMAC-SHA256(key, part1 "." part2))
//! ```
//!
//! Verification ([`JwtKey::verify`]) follows libprocess: exactly three parts; a header
//! with `alg` `HS256` (any other, `none` included, is refused) and no `crit`; a payload
//! that is a JSON object whose `exp`, when present, is a number not in the past; a
//! signature equal (compared in constant time) to the one the key makes. Every failure
//! is an error value; no input makes it panic.
//!
//! Mesos: 3rdparty/libprocess/src/jwt.cpp (`JWT::create`, `JWT::parse`),
//! jwt_authenticator.cpp, src/authentication/executor/jwt_secret_generator.cpp,
//! slave.cpp `Slave::generateSecret`.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderValue, StatusCode, header};
use libprocess::http::{self as lhttp, Response};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::SecurityError;

/// The environment variable an executor finds its token in (Mesos:
/// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`, set by `Slave::launchExecutor`).
pub const EXECUTOR_TOKEN_ENV: &str = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN";

/// The header every token carries: HMAC-SHA256, a JWT.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The longest token accepted: far above the three short IDs an executor token holds,
/// low enough that a hostile header costs little to reject.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused. Each is `invalid_token` to the client, as in libprocess.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three dot-separated parts, or longer than [`MAX_TOKEN_LEN`].
    #[error("Expected 3 components in token, got {parts}")]
    Shape {
        /// How many parts it had (0 for one too long to look at).
        parts: usize,
    },
    /// A part that is not base64url of a JSON object.
    #[error("Failed to decode token {part}: {reason}")]
    Decode {
        /// `header`, `payload` or `signature`.
        part: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A header whose `alg` is not `HS256`, or that has `crit`.
    #[error("Unsupported token header: {reason}")]
    Header {
        /// What was wrong.
        reason: String,
    },
    /// `exp` is not a number, or is in the past.
    #[error("Token has expired or has a bad 'exp': {reason}")]
    Expired {
        /// What was wrong.
        reason: String,
    },
    /// The signature is not the key's.
    #[error("Token signature does not match")]
    Signature,
    /// A payload with no claims (libprocess refuses those too).
    #[error("JWT claims missing")]
    NoClaims,
}

/// A token's claims: every payload field, strings as they are and other values as
/// their JSON text (libprocess's `Principal::claims`). An authenticated executor call
/// carries these in its request's extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims(pub BTreeMap<String, String>);

impl Claims {
    /// The claims Mesos puts in an executor's token.
    pub fn executor(framework_id: &str, executor_id: &str, container_id: &str) -> Claims {
        let pairs = [("fid", framework_id), ("eid", executor_id), ("cid", container_id)];
        Claims(pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// The claim `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Checks that these claims name the executor a call is about, as Mesos does before
    /// serving an authenticated executor call; the error is the `403`'s text.
    /// Mesos: slave/http.cpp `verifyExecutorClaims`.
    pub fn verify_executor(
        &self,
        framework_id: &str,
        executor_id: &str,
        container_id: &str,
    ) -> Result<(), String> {
        let claim = |name: &str, expected: &str| self.get(name) == Some(expected);
        if !claim("fid", framework_id) {
            return Err(format!(
                "Authenticated principal '{self}' does not contain an 'fid' claim with the \
                 framework ID {framework_id}, which is set in the call"
            ));
        }
        if !claim("eid", executor_id) {
            return Err(format!(
                "Authenticated principal '{self}' does not contain an 'eid' claim with the \
                 executor ID {executor_id}, which is set in the call"
            ));
        }
        if !claim("cid", container_id) {
            return Err(format!(
                "Authenticated principal '{self}' does not contain a 'cid' claim with the \
                 correct active ContainerID"
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        write!(f, "{{{}}}", parts.join(", "))
    }
}

/// The secret key tokens are signed and checked with (`--jwt_secret_key`).
#[derive(Clone)]
pub struct JwtKey {
    secret: Arc<[u8]>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "JwtKey({} bytes)", self.secret.len())
    }
}

impl JwtKey {
    /// A key of these bytes. An empty key is refused: it would let anyone sign.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<JwtKey, SecurityError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(SecurityError::InvalidKey { reason: "the key is empty".into() });
        }
        Ok(JwtKey { secret: secret.into() })
    }

    /// Reads the key file of `--jwt_secret_key` (its whole content is the key, as in
    /// Mesos), warning when others may read it.
    pub fn read(path: &str) -> Result<JwtKey, SecurityError> {
        let path = std::path::PathBuf::from(path.strip_prefix("file://").unwrap_or(path));
        crate::credentials::warn_if_open(&path, "jwt secret key file");
        let secret = std::fs::read(&path).map_err(|source| SecurityError::Read { path, source })?;
        JwtKey::new(secret)
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        // HMAC takes a key of any length (longer ones are hashed), so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(signed.as_bytes());
        mac
    }

    /// A signed token carrying `claims` (Mesos: `JWT::create(payload, secret)`).
    pub fn sign(&self, claims: &Claims) -> String {
        let payload: Map<String, Value> =
            claims.0.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        self.sign_payload(&Value::Object(payload))
    }

    /// A signed token of any JSON payload (tests use it for `exp` and odd claims).
    pub fn sign_payload(&self, payload: &Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// Checks `token` and returns its claims. `now_secs` is the time (seconds since the
    /// epoch) an `exp` claim is compared with. Mesos: `JWT::parse(token, secret)`.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Shape { parts: 0 });
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err(JwtError::Shape { parts: parts.len() });
        };
        check_header(&decode_object("header", header)?)?;
        let payload = decode_object("payload", payload)?;
        check_expiry(&payload, now_secs)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|e| JwtError::Decode { part: "signature", reason: e.to_string() })?;
        // `verify_slice` compares in constant time.
        self.mac(&format!("{header}.{}", parts[1]))
            .verify_slice(&signature)
            .map_err(|_| JwtError::Signature)?;
        if payload.is_empty() {
            return Err(JwtError::NoClaims);
        }
        let claims = payload
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        Ok(Claims(claims))
    }
}

fn decode_object(part: &'static str, text: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| JwtError::Decode { part, reason: e.to_string() })?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(JwtError::Decode { part, reason: "not a JSON object".into() }),
        Err(e) => Err(JwtError::Decode { part, reason: e.to_string() }),
    }
}

fn check_header(header: &Map<String, Value>) -> Result<(), JwtError> {
    if let Some(typ) = header.get("typ")
        && !typ.is_string()
    {
        return Err(JwtError::Header { reason: "'typ' is not a string".into() });
    }
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) => {
            return Err(JwtError::Header { reason: format!("'alg' {alg}, expected HS256") });
        }
        Some(_) => return Err(JwtError::Header { reason: "'alg' is not a string".into() }),
        None => return Err(JwtError::Header { reason: "no 'alg'".into() }),
    }
    if header.contains_key("crit") {
        return Err(JwtError::Header { reason: "'crit' is unsupported".into() });
    }
    Ok(())
}

fn check_expiry(payload: &Map<String, Value>, now_secs: i64) -> Result<(), JwtError> {
    let Some(exp) = payload.get("exp") else { return Ok(()) };
    // libprocess reads the number as an integer; a float is truncated the same way.
    let exp = exp
        .as_i64()
        .or_else(|| exp.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
        .ok_or_else(|| JwtError::Expired { reason: "'exp' is not a number".into() })?;
    if exp < now_secs {
        return Err(JwtError::Expired { reason: format!("exp({exp}) < now({now_secs})") });
    }
    Ok(())
}

/// The `Bearer` authenticator of one realm (Mesos: libprocess `JWTAuthenticator`):
/// checks `Authorization: Bearer <token>` with the key.
#[derive(Clone, Debug)]
pub struct JwtAuthenticator {
    realm: String,
    key: JwtKey,
}

/// Why a request was not authenticated by a [`JwtAuthenticator`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BearerFailure {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <token>`.
    Malformed,
    /// A token that does not verify.
    Invalid(JwtError),
}

impl JwtAuthenticator {
    /// An authenticator for `realm` checking tokens with `key`.
    pub fn new(realm: impl Into<String>, key: JwtKey) -> Self {
        Self { realm: realm.into(), key }
    }

    /// The realm this authenticator guards.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Authenticates a request from its `Authorization` header value at `now_secs`.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        now_secs: i64,
    ) -> Result<Claims, BearerFailure> {
        let value = authorization.ok_or(BearerFailure::Missing)?;
        let text = std::str::from_utf8(value).map_err(|_| BearerFailure::Malformed)?;
        let mut parts = text.split(' ');
        let (Some("Bearer"), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(BearerFailure::Malformed);
        };
        self.key.verify(token, now_secs).map_err(BearerFailure::Invalid)
    }

    /// The `401` answer with this realm's `Bearer` challenge; a failed token adds
    /// `error="invalid_token"` (RFC 6750), as libprocess does.
    pub fn unauthorized(&self, failure: &BearerFailure) -> Response {
        let challenge = match failure {
            BearerFailure::Missing => format!("Bearer realm=\"{}\"", self.realm),
            _ => format!("Bearer realm=\"{}\", error=\"invalid_token\"", self.realm),
        };
        let mut response = lhttp::text(StatusCode::UNAUTHORIZED, "401 Unauthorized.");
        let challenge = HeaderValue::from_str(&challenge)
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

#[cfg(test)]
mod tests;
