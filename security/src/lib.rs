//! Security at the edges of a Mesos cluster.
//!
//! Mesos lets an operator switch on authentication (who is calling) and authorization
//! (may they do this) at every entry point: HTTP endpoints, the v1 APIs, and the
//! libprocess messages of frameworks and agents. The cores of the master and agent never
//! see a raw request: the entry point authenticates it and hands them a principal. This
//! crate holds the pure pieces every entry point shares; the master, the agent and the
//! SDK wire them in.
//!
//! # Layout
//!
//! - [`cram_md5`]: CRAM-MD5 (RFC 2195) as Mesos's v0 authentication runs it over
//!   libprocess messages: the master's [`cram_md5::Authenticator`] and the client's
//!   [`cram_md5::Authenticatee`], pure state machines.
//! - [`credentials`]: the `--credentials` file of masters and agents (Mesos's JSON
//!   format and the legacy `principal secret` lines) and the single `--credential` of an
//!   agent or a scheduler.
//! - [`http_auth`]: HTTP authentication: Mesos's realms, the `basic` authenticator
//!   (`Authorization: Basic`, the `401` challenge) and the node gate that applies it.
//! - [`jwt`]: the tokens (JWT, HMAC-SHA256) an agent gives its executors with
//!   `--authenticate_http_executors`, and the `Bearer` authenticator that checks them.
//! - [`acls`]: the local authorizer: Mesos's `--acls` and [`Authorizer::authorize`],
//!   which decides whether a principal may perform an [`Action`].
//! - [`principal`]: [`Principal`], who an entry point authenticated.
//! - [`error`]: [`SecurityError`], what goes wrong reading or checking them.
//! - `fuzzing` (hidden): the CRAM-MD5 fuzz body shared by `fuzz/` and the seed test.

pub mod acls;
pub mod cram_md5;
pub mod credentials;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod http_auth;
pub mod jwt;
pub mod principal;

pub use acls::{Action, Authorizer, NestedContainerCall, StandaloneContainerCall};
pub use credentials::{Credential, Credentials};
pub use error::SecurityError;
pub use http_auth::{HttpAuthError, HttpAuthenticator};
pub use principal::Principal;
