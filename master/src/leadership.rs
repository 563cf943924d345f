//! What every part of a master needs to know about leadership, shared outside the actor:
//! whether this master leads, and where the leader is.
//!
//! Mesos: a master that is not elected answers `307 Temporary Redirect` to the leader for
//! every endpoint that needs one (master/http.cpp `Master::Http::redirect`), and `503`
//! while no leader is known. Health, metrics, version, flags and raft status are
//! answered by every master.

use std::net::SocketAddr;

use http::{HeaderValue, StatusCode, header};
use libprocess::http::{self as lhttp, Request, Response};
use parking_lot::RwLock;

/// This master's view of leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// This master leads and acts.
    Leading,
    /// Another master leads (or none is known yet).
    Following {
        /// The leading master's address, if known.
        leader: Option<SocketAddr>,
    },
}

/// The shared view, updated by the master actor.
#[derive(Debug)]
pub struct LeaderView {
    this: SocketAddr,
    hostname: RwLock<Option<String>>,
    view: RwLock<View>,
}

impl LeaderView {
    /// A master at `this`, following nobody yet.
    pub fn new(this: SocketAddr) -> LeaderView {
        LeaderView {
            this,
            hostname: RwLock::new(None),
            view: RwLock::new(View::Following { leader: None }),
        }
    }

    /// The hostname this master advertises (used in its own redirects, as Mesos does).
    pub fn set_hostname(&self, hostname: &str) {
        *self.hostname.write() = Some(hostname.to_string());
    }

    /// Where the leader answers HTTP: `//<host>:<port>` (this master's hostname when it
    /// leads, the leader's address otherwise). `None` while no leader is known.
    pub fn leader_location(&self) -> Option<String> {
        match self.get() {
            View::Leading => {
                let host =
                    self.hostname.read().clone().unwrap_or_else(|| self.this.ip().to_string());
                Some(format!("//{host}:{}", self.this.port()))
            }
            View::Following { leader } => leader.map(|l| format!("//{l}")),
        }
    }

    /// Sets the view.
    pub fn set(&self, view: View) {
        *self.view.write() = view;
    }

    /// The current view.
    pub fn get(&self) -> View {
        *self.view.read()
    }

    /// True while this master leads.
    pub fn is_leading(&self) -> bool {
        self.get() == View::Leading
    }

    /// The leading master's address, if known (this master's own when leading).
    pub fn leader(&self) -> Option<SocketAddr> {
        match self.get() {
            View::Leading => Some(self.this),
            View::Following { leader } => leader,
        }
    }

    /// `None` when this master leads; otherwise the answer for a request that needs the
    /// leader: `307` to the same path and query at the leader, or `503`.
    pub fn redirect(&self, request: &Request) -> Option<Response> {
        match self.get() {
            View::Leading => None,
            View::Following { leader: None } => {
                Some(lhttp::text(StatusCode::SERVICE_UNAVAILABLE, "No leading master is elected"))
            }
            View::Following { leader: Some(leader) } => {
                let path_and_query =
                    request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
                Some(temporary_redirect(&format!("//{leader}{path_and_query}")))
            }
        }
    }
}

/// A `307 Temporary Redirect` to `location`.
pub fn temporary_redirect(location: &str) -> Response {
    let mut response = lhttp::status(StatusCode::TEMPORARY_REDIRECT);
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => lhttp::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("leader location '{location}' is not a valid header"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Followers redirect to the leader with the same path and query, or answer 503.
    #[test]
    fn redirects() {
        let view = LeaderView::new("10.0.0.1:5050".parse().unwrap());
        let request =
            http::Request::get("/api/v1/scheduler?x=1").body(bytes::Bytes::new()).unwrap();
        assert_eq!(view.redirect(&request).unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
        view.set(View::Following { leader: Some("10.0.0.2:5050".parse().unwrap()) });
        let response = view.redirect(&request).unwrap();
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(response.headers()["location"], "//10.0.0.2:5050/api/v1/scheduler?x=1");
        view.set(View::Leading);
        assert!(view.redirect(&request).is_none());
        assert_eq!(view.leader(), Some("10.0.0.1:5050".parse().unwrap()));
    }
}
