//! HTTP authentication: Mesos's realms and the `basic` authenticator.
//!
//! Every authenticated HTTP endpoint of Mesos belongs to a *realm*; an operator turns
//! authentication on per realm (`--authenticate_http_readonly` for
//! [`MASTER_READONLY`], ...) and each realm on gets an authenticator built from the
//! `--credentials` file. A request to an endpoint of an enabled realm must carry
//! `Authorization: Basic base64(principal:secret)`; without it, or with a wrong one, the
//! answer is `401 Unauthorized` with `WWW-Authenticate: Basic realm="<realm>"`, the
//! challenge a browser or `curl --anyauth` answers. Endpoints of realms left off, and
//! those of no realm (`/health`, `/version`, `/redirect`, the web UI), stay open.
//!
//! The flow, at a master or agent:
//! 1. the node's HTTP gate ([`HttpAuthenticator::gate`]) maps the request's path to its
//!    realm with the process's route table (`realm_of`);
//! 2. no realm, or a realm left off: the request goes on, without a principal;
//! 3. otherwise [`HttpAuthenticator::authenticate`] checks the header: on success the
//!    request goes on with a [`Principal`] in its extensions, else the `401` is the answer.
//!
//! Mesos: 3rdparty/libprocess/src/authenticator.cpp `BasicAuthenticatorProcess`,
//! src/common/http.cpp `initializeHttpAuthenticators`, the `route(..., realm, ...)` calls
//! of src/master/master.cpp and src/slave/slave.cpp.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use http::{HeaderValue, StatusCode, header};
use libprocess::http::{self as lhttp, HttpGate, Request, Response};
use libprocess::{Clock, Time};

use crate::jwt::{BearerFailure, Claims, JwtAuthenticator, JwtKey};
use crate::{Action, Authorizer, Credentials, Principal};

/// The master's read-only endpoints (`/state`, `/tasks`, `/metrics/snapshot`, ...).
pub const MASTER_READONLY: &str = "mesos-master-readonly";
/// The master's endpoints that change state (`/teardown`, the v1 operator API, ...).
pub const MASTER_READWRITE: &str = "mesos-master-readwrite";
/// The v1 scheduler API (`/api/v1/scheduler`), on with `--authenticate_http_frameworks`.
pub const MASTER_SCHEDULER: &str = "mesos-master-scheduler";
/// The agent's read-only endpoints (`/state`, `/flags`, `/files/*`, ...).
pub const AGENT_READONLY: &str = "mesos-agent-readonly";
/// The agent's endpoints that change state (the v1 operator API).
pub const AGENT_READWRITE: &str = "mesos-agent-readwrite";
/// The agent's v1 executor API (`/api/v1/executor`).
pub const AGENT_EXECUTOR: &str = "mesos-agent-executor";

/// The only HTTP authenticator built in, as in Mesos (`--http_authenticators=basic`).
pub const BASIC: &str = "basic";

/// The body of a `401`, Mesos's `Unauthorized` default.
const UNAUTHORIZED_BODY: &str = "401 Unauthorized.";

/// Why a request was not authenticated. Every case gets the same `401`, as in Mesos (a
/// client learns nothing about which principals exist); the case is only logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BasicFailure {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Basic <base64 of principal:secret>`.
    Malformed,
    /// An unknown principal or a wrong secret.
    WrongCredentials,
}

/// Parses an `Authorization` header value as `Basic <base64(principal:secret)>` into the
/// principal and secret. Mesos splits the decoded text on every `:` and refuses more
/// than two parts; we split at the first one (RFC 7617), so a secret may hold a `:`.
pub fn parse_basic(value: &[u8]) -> Result<(String, String), BasicFailure> {
    let text = std::str::from_utf8(value).map_err(|_| BasicFailure::Malformed)?;
    let mut parts = text.split(' ');
    let (Some("Basic"), Some(encoded), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(BasicFailure::Malformed);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| BasicFailure::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BasicFailure::Malformed)?;
    let Some((principal, secret)) = decoded.split_once(':') else {
        return Err(BasicFailure::Malformed);
    };
    Ok((principal.to_string(), secret.to_string()))
}

/// The `Authorization` header value a client sends for `principal` and `secret`.
pub fn basic_header(principal: &str, secret: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{secret}"));
    format!("Basic {encoded}")
}

/// The `basic` authenticator of one realm: checks `Authorization: Basic` against the
/// credentials. Mesos: authenticator.cpp `BasicAuthenticatorProcess::authenticate`.
#[derive(Clone, Debug)]
pub struct BasicAuthenticator {
    realm: String,
    credentials: Arc<Credentials>,
}

impl BasicAuthenticator {
    /// An authenticator for `realm` accepting `credentials`.
    pub fn new(realm: impl Into<String>, credentials: Arc<Credentials>) -> Self {
        Self { realm: realm.into(), credentials }
    }

    /// The realm this authenticator guards.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Authenticates a request from its `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal, BasicFailure> {
        let (principal, secret) = parse_basic(authorization.ok_or(BasicFailure::Missing)?)?;
        if self.credentials.verify(&principal, &secret) {
            Ok(Principal(principal))
        } else {
            Err(BasicFailure::WrongCredentials)
        }
    }

    /// The `WWW-Authenticate` challenge of this realm: `Basic realm="<realm>"`.
    pub fn challenge(&self) -> String {
        format!("Basic realm=\"{}\"", self.realm)
    }

    /// The `401` answer with this realm's challenge.
    pub fn unauthorized(&self) -> Response {
        let mut response = lhttp::text(StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY);
        // A realm name is one of this module's constants or an operator's plain text;
        // one with bytes a header cannot carry gets the challenge without a realm.
        let challenge = HeaderValue::from_str(&self.challenge())
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

/// Why authentication cannot be set up as the flags ask; the master or agent refuses to
/// start with it. Mesos: src/common/http.cpp `initializeHttpAuthenticators`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpAuthError {
    /// A realm is on but no authenticator is named.
    #[error("No HTTP authenticators specified for realm '{realm}'")]
    NoAuthenticator {
        /// The realm.
        realm: String,
    },
    /// An authenticator other than `basic` (Mesos loads others as modules; we have none).
    #[error(
        "Failed to create HTTP authenticator module '{name}': only the 'basic' authenticator is built in"
    )]
    UnknownAuthenticator {
        /// The name given.
        name: String,
    },
    /// Several authenticators for one realm (Mesos combines them; we have only one).
    #[error("Multiple HTTP authenticators for realm '{realm}' are not supported")]
    SeveralAuthenticators {
        /// The realm.
        realm: String,
    },
    /// `basic` is asked for but no credentials were given.
    #[error(
        "No credentials provided for the default 'basic' HTTP authenticator for realm '{realm}'"
    )]
    NoCredentials {
        /// The realm.
        realm: String,
    },
}

/// The authenticators of a process, one per realm that is on. Empty (the default)
/// authenticates nothing.
#[derive(Clone, Debug, Default)]
pub struct HttpAuthenticator {
    realms: BTreeMap<String, RealmAuthenticator>,
}

/// The authenticator of one realm: `basic` for people and tools, `jwt` for executors.
#[derive(Clone, Debug)]
enum RealmAuthenticator {
    Basic(BasicAuthenticator),
    Jwt(JwtAuthenticator),
    /// `--http_authenticators=basic,jwt`: a `Bearer` header is an executor's token,
    /// anything else goes to `basic` (Mesos: the combined authenticator of a realm with
    /// several authenticators; the default executor calls the agent's `/api/v1` with
    /// its token).
    BasicOrJwt(BasicAuthenticator, JwtAuthenticator),
}

fn basic_outcome(basic: &BasicAuthenticator, authorization: Option<&[u8]>) -> Outcome {
    match basic.authenticate(authorization) {
        Ok(principal) => Outcome::Authenticated(principal),
        Err(failure) => Outcome::Refused { realm: basic.realm.clone(), failure },
    }
}

fn jwt_outcome(jwt: &JwtAuthenticator, authorization: Option<&[u8]>, now: Time) -> Outcome {
    // Seconds since the epoch fit an i64 for the next 292 billion years.
    let now_secs = i64::try_from(now.since_epoch().as_secs()).unwrap_or(i64::MAX);
    match jwt.authenticate(authorization, now_secs) {
        Ok(claims) => Outcome::Claimed(claims),
        Err(failure) => Outcome::RefusedBearer { realm: jwt.realm().to_string(), failure },
    }
}

/// What a request's realm decides about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No realm, or its authentication is off: the request goes on without a principal.
    Open,
    /// The request proved to be this principal.
    Authenticated(Principal),
    /// The request carried a valid token with these claims (an executor's JWT).
    Claimed(Claims),
    /// Refused: answer `401` with this realm's challenge.
    Refused {
        /// The realm whose challenge to send.
        realm: String,
        /// Why (logged only).
        failure: BasicFailure,
    },
    /// Refused by a `Bearer` realm: answer `401` with its challenge.
    RefusedBearer {
        /// The realm whose challenge to send.
        realm: String,
        /// Why (logged; a bad token's challenge says `invalid_token`).
        failure: BearerFailure,
    },
}

impl HttpAuthenticator {
    /// Turns authentication on for `realm` with the authenticators named in a flag
    /// (`--http_authenticators`, a comma list; only `basic` exists) and the credentials
    /// of `--credentials`.
    pub fn enable(
        &mut self,
        realm: &str,
        authenticators: &str,
        credentials: Option<&Arc<Credentials>>,
    ) -> Result<(), HttpAuthError> {
        let names: Vec<&str> =
            authenticators.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
        let realm_owned = || realm.to_string();
        match names.as_slice() {
            [] => Err(HttpAuthError::NoAuthenticator { realm: realm_owned() }),
            [BASIC] => {
                let credentials = credentials
                    .ok_or_else(|| HttpAuthError::NoCredentials { realm: realm_owned() })?;
                tracing::info!(realm, "creating the default 'basic' HTTP authenticator");
                let basic = BasicAuthenticator::new(realm, credentials.clone());
                self.realms.insert(realm.to_string(), RealmAuthenticator::Basic(basic));
                Ok(())
            }
            [name] => Err(HttpAuthError::UnknownAuthenticator { name: name.to_string() }),
            _ => Err(HttpAuthError::SeveralAuthenticators { realm: realm_owned() }),
        }
    }

    /// Whether `realm` is authenticated.
    pub fn is_enabled(&self, realm: &str) -> bool {
        self.realms.contains_key(realm)
    }

    /// Whether no realm is authenticated.
    pub fn is_empty(&self) -> bool {
        self.realms.is_empty()
    }

    /// Decides a request of `realm` (none: an open endpoint) from its `Authorization`
    /// header value.
    pub fn authenticate(&self, realm: Option<&str>, authorization: Option<&[u8]>) -> Outcome {
        self.authenticate_at(realm, authorization, Clock::new().now())
    }

    /// Turns `Bearer` authentication on for `realm`: tokens signed with `key` (Mesos's
    /// `jwt` authenticator, which the agent's `--authenticate_http_executors` puts on
    /// the executor realm).
    pub fn enable_jwt(&mut self, realm: &str, key: JwtKey) {
        tracing::info!(realm, "creating the 'jwt' HTTP authenticator");
        let jwt = JwtAuthenticator::new(realm, key);
        self.realms.insert(realm.to_string(), RealmAuthenticator::Jwt(jwt));
    }

    /// Makes the `basic` realm `realm` accept executors' tokens signed with `key` too
    /// (`jwt` named in `--http_authenticators` beside `basic`). False when `realm` is
    /// not a `basic` realm (nothing changes).
    pub fn also_accept_jwt(&mut self, realm: &str, key: JwtKey) -> bool {
        let Some(RealmAuthenticator::Basic(basic)) = self.realms.get(realm) else {
            return false;
        };
        tracing::info!(realm, "adding the 'jwt' HTTP authenticator");
        let combined =
            RealmAuthenticator::BasicOrJwt(basic.clone(), JwtAuthenticator::new(realm, key));
        self.realms.insert(realm.to_string(), combined);
        true
    }

    /// [`HttpAuthenticator::authenticate`] at time `now` (a token's `exp` is compared
    /// with it).
    pub fn authenticate_at(
        &self,
        realm: Option<&str>,
        authorization: Option<&[u8]>,
        now: Time,
    ) -> Outcome {
        match realm.and_then(|realm| self.realms.get(realm)) {
            None => Outcome::Open,
            Some(RealmAuthenticator::Basic(basic)) => basic_outcome(basic, authorization),
            Some(RealmAuthenticator::Jwt(jwt)) => jwt_outcome(jwt, authorization, now),
            Some(RealmAuthenticator::BasicOrJwt(basic, jwt)) => {
                if authorization.is_some_and(|a| a.starts_with(b"Bearer ")) {
                    jwt_outcome(jwt, authorization, now)
                } else {
                    basic_outcome(basic, authorization)
                }
            }
        }
    }

    /// The node gate that applies these authenticators. `realm_of` maps the process a
    /// request is routed to (`None`: a node built-in such as `/metrics/snapshot`) and
    /// the path inside it (`/state`) to the realm. An authenticated request goes on with
    /// its [`Principal`] in the request's extensions; a refused one is answered `401`
    /// with the realm's challenge.
    pub fn gate(self, realm_of: fn(Option<&str>, &str) -> Option<&'static str>) -> HttpGate {
        self.gate_with(realm_of, Clock::new(), None)
    }

    /// The node gate of [`HttpAuthenticator::gate`], reading the time for tokens' `exp`
    /// from `clock` (the node's), and then, with an `authorizer`, checking the
    /// `get_endpoints` ACL on the node's built-in `/metrics/snapshot` (and its
    /// Prometheus twin `/metrics`): `403` when denied. Mesos authorizes
    /// `/metrics/snapshot` in libprocess through the authorization callbacks the master
    /// and agent install (common/authorization.cpp `createAuthorizationCallbacks`,
    /// `GET_ENDPOINT_WITH_PATH`).
    pub fn gate_with(
        self,
        realm_of: fn(Option<&str>, &str) -> Option<&'static str>,
        clock: Clock,
        authorizer: Option<Arc<Authorizer>>,
    ) -> HttpGate {
        Arc::new(move |process: Option<&str>, path: &str, request: &mut Request| {
            self.admit(realm_of(process, path), path, request, clock.now())?;
            let metrics = process.is_none() && matches!(path, "/metrics/snapshot" | "/metrics");
            if let Some(authorizer) = authorizer.as_deref().filter(|_| metrics) {
                let principal = request.extensions().get::<Principal>();
                let action = Action::GetEndpoint { path: "/metrics/snapshot" };
                if !authorizer.authorize(principal, action) {
                    return Err(Box::new(lhttp::status(StatusCode::FORBIDDEN)));
                }
            }
            Ok(())
        })
    }

    /// Authenticates `request` (of `realm`) at `now`: adds its principal or claims to
    /// its extensions, or answers it with the realm's `401`.
    fn admit(
        &self,
        realm: Option<&str>,
        path: &str,
        request: &mut Request,
        now: Time,
    ) -> Result<(), Box<Response>> {
        let header = request.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        match self.authenticate_at(realm, header, now) {
            Outcome::Open => Ok(()),
            Outcome::Authenticated(principal) => {
                request.extensions_mut().insert(principal);
                Ok(())
            }
            Outcome::Claimed(claims) => {
                request.extensions_mut().insert(claims);
                Ok(())
            }
            Outcome::Refused { realm, failure } => {
                tracing::debug!(%realm, ?failure, path, "HTTP request not authenticated");
                let response = match self.realms.get(&realm) {
                    Some(
                        RealmAuthenticator::Basic(basic) | RealmAuthenticator::BasicOrJwt(basic, _),
                    ) => basic.unauthorized(),
                    // `realm` came from `self.realms` as a basic realm.
                    _ => lhttp::status(StatusCode::UNAUTHORIZED),
                };
                Err(Box::new(response))
            }
            Outcome::RefusedBearer { realm, failure } => {
                tracing::debug!(%realm, ?failure, path, "HTTP request not authenticated");
                let response = match self.realms.get(&realm) {
                    Some(RealmAuthenticator::Jwt(jwt) | RealmAuthenticator::BasicOrJwt(_, jwt)) => {
                        jwt.unauthorized(&failure)
                    }
                    // `realm` came from `self.realms` as a Bearer realm.
                    _ => lhttp::status(StatusCode::UNAUTHORIZED),
                };
                Err(Box::new(response))
            }
        }
    }
}

/// The realm of `path` (inside its process) in a route table of `(route, realm)`: the
/// longest route that matches `path` segment by segment (`/api/v1` matches `/api/v1/x`,
/// not `/api/v10`), the way the node routes it. `None`: an open path; paths the table does not list are open (they
/// are `404`s or open routes such as `/health`).
pub fn realm_in(table: &[(&str, &'static str)], path: &str) -> Option<&'static str> {
    table
        .iter()
        .filter(|(route, _)| lhttp::route_matches(route, path))
        .max_by_key(|(route, _)| route.len())
        .map(|(_, realm)| *realm)
}

#[cfg(test)]
mod tests;
