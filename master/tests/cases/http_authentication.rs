//! HTTP authentication at the master's entry (`--authenticate_http_readonly`,
//! `--authenticate_http_readwrite`, `--authenticate_http_frameworks`): Mesos's realms,
//! the `401` challenge, a follower that authenticates before it redirects, and the
//! v1 SUBSCRIBE principal check (ports of Mesos's `MasterTest` authentication cases
//! and `HttpAuthenticationTest`).

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use libprocess::Node;
use libprocess::http::Response;
use mesos_master::launch::MasterOptions;
use mesos_security::http_auth::{self, MASTER_READONLY, MASTER_READWRITE, MASTER_SCHEDULER};
use mesos_security::{Credential, Credentials, HttpAuthenticator};
use serde_json::json;

use super::support::Cluster;

/// Every realm on, with one principal `ops` / `s3cret`.
fn authenticate_everything(options: &mut MasterOptions) {
    let credentials = Arc::new(Credentials::from_list([Credential {
        principal: "ops".into(),
        secret: "s3cret".into(),
    }]));
    let mut authenticator = HttpAuthenticator::default();
    for realm in [MASTER_READONLY, MASTER_READWRITE, MASTER_SCHEDULER] {
        authenticator.enable(realm, "basic", Some(&credentials)).unwrap();
    }
    options.http_authenticator = authenticator;
}

async fn request(
    node: &Node,
    method: Method,
    path: &str,
    credentials: Option<(&str, &str)>,
    body: &str,
) -> Response {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some((principal, secret)) = credentials {
        request = request.header(header::AUTHORIZATION, http_auth::basic_header(principal, secret));
    }
    node.handle_http(request.body(Bytes::from(body.to_string())).unwrap()).await
}

fn challenge(response: &Response) -> Option<&str> {
    response.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok())
}

/// A read-only (`/master/state`, `/metrics/snapshot`) and a read-write (`/api/v1`)
/// endpoint answer 401 with their realm's challenge without or with wrong credentials,
/// and 200 with the right ones; `/health` and `/version` stay open.
#[actix_rt::test]
async fn unauthenticated_wrong_and_right_credentials() {
    let cluster = Cluster::start(authenticate_everything);
    let node = &cluster.node;
    let health = json!({ "type": "GET_HEALTH" }).to_string();
    for (method, path, body, realm) in [
        (Method::GET, "/master/state", "", MASTER_READONLY),
        (Method::GET, "/state", "", MASTER_READONLY),
        (Method::GET, "/metrics/snapshot", "", MASTER_READONLY),
        (Method::POST, "/api/v1", health.as_str(), MASTER_READWRITE),
    ] {
        let none = request(node, method.clone(), path, None, body).await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(challenge(&none), Some(format!("Basic realm=\"{realm}\"").as_str()));
        let wrong = request(node, method.clone(), path, Some(("ops", "guess")), body).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{path}");
        let unknown = request(node, method.clone(), path, Some(("eve", "s3cret")), body).await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED, "{path}");
        let right = request(node, method.clone(), path, Some(("ops", "s3cret")), body).await;
        assert_eq!(right.status(), StatusCode::OK, "{path}");
    }
    for open in ["/master/health", "/health", "/version"] {
        assert_eq!(request(node, Method::GET, open, None, "").await.status(), StatusCode::OK);
    }
}

/// A follower answers an unauthenticated request with 401, not with a 307 to the
/// leader; an authenticated one is redirected.
#[actix_rt::test]
async fn follower_authenticates_before_redirecting() {
    let cluster = Cluster::start_ha(3, authenticate_everything);
    let leader = cluster.elect().await;
    let follower = &cluster.masters[(leader + 1) % 3].0;
    let none = request(follower, Method::GET, "/master/state", None, "").await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().get(header::LOCATION).is_none());
    let scheduler = request(follower, Method::POST, "/api/v1/scheduler", None, "{}").await;
    assert_eq!(scheduler.status(), StatusCode::UNAUTHORIZED);
    let right = request(follower, Method::GET, "/master/state", Some(("ops", "s3cret")), "").await;
    assert_eq!(right.status(), StatusCode::TEMPORARY_REDIRECT);
}

/// `/api/v1/scheduler` is in the scheduler realm; a SUBSCRIBE whose
/// `FrameworkInfo.principal` is not the authenticated principal is a 400 naming both,
/// one without a principal takes the authenticated one.
#[actix_rt::test]
async fn subscribe_principal_must_match() {
    let cluster = Cluster::start(authenticate_everything);
    let node = &cluster.node;
    let subscribe = |principal: Option<&str>| {
        let mut info = json!({ "user": "test", "name": "auth" });
        if let Some(principal) = principal {
            info["principal"] = json!(principal);
        }
        json!({ "type": "SUBSCRIBE", "subscribe": { "framework_info": info } }).to_string()
    };
    let path = "/api/v1/scheduler";
    let none = request(node, Method::POST, path, None, &subscribe(Some("ops"))).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&none), Some("Basic realm=\"mesos-master-scheduler\""));
    let right = Some(("ops", "s3cret"));
    let other = request(node, Method::POST, path, right, &subscribe(Some("other"))).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    let text = String::from_utf8(other.into_body().into_bytes().await.to_vec()).unwrap();
    assert!(
        text.contains("Authenticated principal 'ops' does not match principal 'other'"),
        "{text}"
    );
    let unset = request(node, Method::POST, path, right, &subscribe(None)).await;
    assert_eq!(unset.status(), StatusCode::OK);
    drop(unset);
    let state = request(node, Method::GET, "/master/state", right, "").await;
    let state: serde_json::Value =
        serde_json::from_slice(&state.into_body().into_bytes().await).unwrap();
    assert_eq!(state["frameworks"][0]["principal"], "ops", "{state}");
}
