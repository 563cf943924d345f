//! HTTP executor authentication (`--authenticate_http_executors`, `--jwt_secret_key`)
//! on a simulated network with a paused clock: the agent gives its executor a token and
//! `/api/v1/executor` takes only that token for that executor. Ports of Mesos's
//! `ExecutorAuthorizationTest` / `SlaveTest.HTTPExecutorBadAuthentication` ideas.

use http::{StatusCode, header};
use mesos_security::http_auth::AGENT_EXECUTOR;
use mesos_security::jwt::{Claims, EXECUTOR_TOKEN_ENV, JwtKey};
use serde_json::{Value, json};

use super::executor_http::{EXECUTOR, Events, FRAMEWORK, Harness, subscribe_call, update_call};

fn key() -> JwtKey {
    JwtKey::new(b"the agent's executor key".to_vec()).expect("key")
}

/// An agent with executor authentication on and the key above.
async fn authenticating(name: &str) -> Harness {
    Harness::start_with(name, |config| {
        config.executor_token_key = Some(key());
        config.http_authenticator.enable_jwt(AGENT_EXECUTOR, key());
    })
    .await
}

async fn call_with(
    h: &Harness,
    call: &Value,
    authorization: Option<&str>,
) -> libprocess::http::Response {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    h.post("/api/v1/executor", &headers, call.to_string()).await
}

/// The executor's environment carries a token signed with `--jwt_secret_key` whose
/// claims are Mesos's: `fid`, `eid` and `cid` (the container the executor runs in).
#[actix_rt::test]
async fn executor_gets_a_token_naming_it() {
    let h = authenticating("token-env").await;
    let env = h.launches.0.lock()[0].clone();
    let token = env.get(EXECUTOR_TOKEN_ENV).expect("a token in the executor's environment");
    let claims = key().verify(token, 0).expect("the agent's key signed it");
    assert_eq!(claims.get("fid"), Some(FRAMEWORK));
    assert_eq!(claims.get("eid"), Some(EXECUTOR));
    let cid = claims.get("cid").expect("a cid claim");
    assert!(!cid.is_empty());
    assert_eq!(claims.0.len(), 3, "{claims}");
    // The sandbox path names the same container.
    assert!(env["MESOS_SANDBOX"].ends_with(&format!("/runs/{cid}")), "{}", env["MESOS_SANDBOX"]);
}

/// Without a token, SUBSCRIBE (and every other call but HEARTBEAT) gets `401` with the
/// `mesos-agent-executor` Bearer challenge; a token from another key gets `401`
/// `invalid_token`; a valid token naming another executor or container gets `403`; the
/// agent's own token subscribes and its UPDATE is accepted.
#[actix_rt::test]
async fn only_the_executors_own_token_subscribes() {
    let h = authenticating("token-check").await;
    let token = h.launches.0.lock()[0][EXECUTOR_TOKEN_ENV].clone();
    let cid = key().verify(&token, 0).unwrap().get("cid").unwrap().to_string();

    let none = call_with(&h, &subscribe_call(), None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()[header::WWW_AUTHENTICATE], "Bearer realm=\"mesos-agent-executor\"");

    let forged = JwtKey::new(b"guessed".to_vec())
        .unwrap()
        .sign(&Claims::executor(FRAMEWORK, EXECUTOR, &cid));
    let forged = call_with(&h, &subscribe_call(), Some(&format!("Bearer {forged}"))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let challenge = forged.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    let basic = mesos_security::http_auth::basic_header("ops", "secret");
    assert_eq!(
        call_with(&h, &subscribe_call(), Some(&basic)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    for (fid, eid, container) in [
        (FRAMEWORK, "another-executor", cid.as_str()),
        ("another-framework", EXECUTOR, cid.as_str()),
        (FRAMEWORK, EXECUTOR, "an-old-container"),
    ] {
        let other = key().sign(&Claims::executor(fid, eid, container));
        let response = call_with(&h, &subscribe_call(), Some(&format!("Bearer {other}"))).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{fid} {eid} {container}");
        let body = response.into_body().into_bytes().await;
        assert!(String::from_utf8_lossy(&body).contains("does not contain"), "{body:?}");
    }

    // HEARTBEAT needs the token too: the realm guards the whole endpoint.
    let heartbeat = json!({"type": "HEARTBEAT", "framework_id": {"value": FRAMEWORK},
                           "executor_id": {"value": EXECUTOR}});
    assert_eq!(call_with(&h, &heartbeat, None).await.status(), StatusCode::UNAUTHORIZED);

    let bearer = format!("Bearer {token}");
    let response = call_with(&h, &subscribe_call(), Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = Events::new(response);
    let subscribed = events.next().await;
    assert_eq!(subscribed["type"], "SUBSCRIBED", "{subscribed}");
    assert_eq!(subscribed["subscribed"]["container_id"]["value"], cid.as_str());
    assert_eq!(events.next().await["type"], "LAUNCH");

    let update = update_call("t1", "TASK_RUNNING", &[7; 16]);
    assert_eq!(call_with(&h, &update, None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(call_with(&h, &update, Some(&bearer)).await.status(), StatusCode::ACCEPTED);
}

/// Without `--authenticate_http_executors` the executor API stays open (Mesos's
/// default), and without `--jwt_secret_key` no token is handed out.
#[actix_rt::test]
async fn executor_api_is_open_without_the_flag() {
    let h = Harness::start("token-off").await;
    assert!(!h.launches.0.lock()[0].contains_key(EXECUTOR_TOKEN_ENV));
    assert_eq!(call_with(&h, &subscribe_call(), None).await.status(), StatusCode::OK);
}
