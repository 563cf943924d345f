//! Which realm each master endpoint belongs to, for HTTP authentication.
//!
//! The node's gate (installed by [`crate::launch::spawn_master`] when a realm is on)
//! authenticates every request before any route sees it, so a follower refuses an
//! unauthenticated request with `401` before it would redirect it with `307`.
//! [`mesos_security::http_auth`] holds the authenticator; this module only says which
//! realm guards which path.
//!
//! Mesos: src/master/master.cpp `Master::initialize`, its `route(path, realm, ...)`
//! calls; libprocess serves `/metrics/snapshot` in the read-only realm and `/version`,
//! `/__processes__` open.

use mesos_security::http_auth::{MASTER_READONLY, MASTER_READWRITE, MASTER_SCHEDULER, realm_in};

/// Every authenticated master route and its realm. Routes not listed stay open:
/// `/health`, `/redirect`, `/` (the web UI), and any path that is a `404`.
pub const ROUTE_REALMS: &[(&str, &str)] = &[
    ("/state", MASTER_READONLY),
    ("/state.json", MASTER_READONLY),
    ("/state-summary", MASTER_READONLY),
    ("/frameworks", MASTER_READONLY),
    ("/slaves", MASTER_READONLY),
    ("/tasks", MASTER_READONLY),
    ("/tasks.json", MASTER_READONLY),
    ("/roles", MASTER_READONLY),
    ("/flags", MASTER_READONLY),
    ("/maintenance/status", MASTER_READONLY),
    // Ours, not Mesos's: the raft status reads like `/state`.
    ("/raft", MASTER_READONLY),
    ("/files", MASTER_READONLY),
    ("/api/v1", MASTER_READWRITE),
    ("/teardown", MASTER_READWRITE),
    ("/reserve", MASTER_READWRITE),
    ("/unreserve", MASTER_READWRITE),
    ("/create-volumes", MASTER_READWRITE),
    ("/destroy-volumes", MASTER_READWRITE),
    ("/quota", MASTER_READWRITE),
    ("/weights", MASTER_READWRITE),
    ("/maintenance/schedule", MASTER_READWRITE),
    ("/machine/down", MASTER_READWRITE),
    ("/machine/up", MASTER_READWRITE),
    // Mesos: libprocess puts its `logging` process in the read-write realm.
    ("/logging/toggle", MASTER_READWRITE),
    ("/api/v1/scheduler", MASTER_SCHEDULER),
];

/// The realm of a request the node routes to `process` (`None`: a node built-in) at
/// `path` inside it. Only the master's own routes and `/metrics/snapshot` have one.
pub fn realm_of(process: Option<&str>, path: &str) -> Option<&'static str> {
    match process {
        None => matches!(path, "/metrics/snapshot" | "/metrics").then_some(MASTER_READONLY),
        Some("master") => realm_in(ROUTE_REALMS, path),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Endpoints fall in Mesos's realms; `/health`, `/redirect`, `/version` and the web
    /// UI stay open.
    #[test]
    fn realms_follow_mesos() {
        let master = |path| realm_of(Some("master"), path);
        assert_eq!(master("/state"), Some(MASTER_READONLY));
        assert_eq!(master("/tasks"), Some(MASTER_READONLY));
        assert_eq!(master("/teardown"), Some(MASTER_READWRITE));
        assert_eq!(master("/api/v1"), Some(MASTER_READWRITE));
        assert_eq!(master("/api/v1/scheduler"), Some(MASTER_SCHEDULER));
        assert_eq!(realm_of(None, "/metrics/snapshot"), Some(MASTER_READONLY));
        for open in ["/health", "/redirect", "/", "/static/app.js"] {
            assert_eq!(master(open), None, "{open}");
        }
        assert_eq!(realm_of(None, "/version"), None);
        assert_eq!(realm_of(Some("scheduler(1)"), "/state"), None);
    }
}
