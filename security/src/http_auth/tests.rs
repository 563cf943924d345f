use super::*;
use crate::Credential;

fn credentials() -> Arc<Credentials> {
    Arc::new(Credentials::from_list([Credential {
        principal: "ops".into(),
        secret: "s3cret:x".into(),
    }]))
}

fn header(principal: &str, secret: &str) -> Vec<u8> {
    basic_header(principal, secret).into_bytes()
}

/// `Authorization: Basic` parses as RFC 7617 writes it; anything else is malformed.
#[test]
fn parses_basic_header() {
    assert_eq!(parse_basic(b"Basic b3BzOnMzY3JldA=="), Ok(("ops".into(), "s3cret".into())));
    assert_eq!(basic_header("ops", "s3cret"), "Basic b3BzOnMzY3JldA==");
    for bad in
        [&b"Bearer b3BzOnMzY3JldA=="[..], b"Basic", b"Basic  b3Bz", b"Basic !!!", b"Basic b3Bz"]
    {
        assert_eq!(parse_basic(bad), Err(BasicFailure::Malformed), "{bad:?}");
    }
}

/// The right principal and secret authenticate; a missing header, a wrong secret or an
/// unknown principal do not, and the challenge names the realm.
#[test]
fn basic_authenticator_checks_credentials() {
    let basic = BasicAuthenticator::new(MASTER_READONLY, credentials());
    let right = header("ops", "s3cret:x");
    assert_eq!(basic.authenticate(Some(&right)), Ok(Principal("ops".into())));
    assert_eq!(basic.authenticate(None), Err(BasicFailure::Missing));
    let wrong = header("ops", "guess");
    assert_eq!(basic.authenticate(Some(&wrong)), Err(BasicFailure::WrongCredentials));
    let unknown = header("eve", "s3cret:x");
    assert_eq!(basic.authenticate(Some(&unknown)), Err(BasicFailure::WrongCredentials));
    assert_eq!(basic.challenge(), "Basic realm=\"mesos-master-readonly\"");
    let response = basic.unauthorized();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Basic realm=\"mesos-master-readonly\""
    );
}

/// Only enabled realms authenticate; a path of no realm or of a realm left off is open.
#[test]
fn realms_left_off_stay_open() {
    let mut auth = HttpAuthenticator::default();
    auth.enable(MASTER_READWRITE, "basic", Some(&credentials())).unwrap();
    assert_eq!(auth.authenticate(None, None), Outcome::Open);
    assert_eq!(auth.authenticate(Some(MASTER_READONLY), None), Outcome::Open);
    assert_eq!(
        auth.authenticate(Some(MASTER_READWRITE), None),
        Outcome::Refused { realm: MASTER_READWRITE.into(), failure: BasicFailure::Missing }
    );
    let right = header("ops", "s3cret:x");
    assert_eq!(
        auth.authenticate(Some(MASTER_READWRITE), Some(&right)),
        Outcome::Authenticated(Principal("ops".into()))
    );
}

/// Enabling a realm refuses what Mesos refuses: no authenticator, an unknown one,
/// several, or `basic` without credentials.
#[test]
fn enable_refuses_bad_configurations() {
    let mut auth = HttpAuthenticator::default();
    let creds = credentials();
    assert_eq!(
        auth.enable(MASTER_READONLY, "", Some(&creds)),
        Err(HttpAuthError::NoAuthenticator { realm: MASTER_READONLY.into() })
    );
    assert_eq!(
        auth.enable(MASTER_READONLY, "jwt", Some(&creds)),
        Err(HttpAuthError::UnknownAuthenticator { name: "jwt".into() })
    );
    assert!(matches!(
        auth.enable(MASTER_READONLY, "basic,basic", Some(&creds)),
        Err(HttpAuthError::SeveralAuthenticators { .. })
    ));
    let error = auth.enable(MASTER_READONLY, "basic", None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "No credentials provided for the default 'basic' HTTP authenticator for realm \
         'mesos-master-readonly'"
    );
    assert!(auth.is_empty());
}

/// A route table maps paths to realms by the longest segment-wise match.
#[test]
fn realm_table_matches_longest_route() {
    let table = [
        ("/state", MASTER_READONLY),
        ("/api/v1", MASTER_READWRITE),
        ("/api/v1/scheduler", MASTER_SCHEDULER),
    ];
    assert_eq!(realm_in(&table, "/state"), Some(MASTER_READONLY));
    assert_eq!(realm_in(&table, "/state/"), Some(MASTER_READONLY));
    assert_eq!(realm_in(&table, "/api/v1"), Some(MASTER_READWRITE));
    assert_eq!(realm_in(&table, "/api/v1/scheduler"), Some(MASTER_SCHEDULER));
    assert_eq!(realm_in(&table, "/api/v10"), None);
    assert_eq!(realm_in(&table, "/health"), None);
}

/// The gate refuses with the challenge, or lets the request through with its principal
/// in the extensions.
#[test]
fn gate_inserts_principal_or_answers_401() {
    let mut auth = HttpAuthenticator::default();
    auth.enable(MASTER_READONLY, "basic", Some(&credentials())).unwrap();
    let gate = auth.gate(|_, path| realm_in(&[("/state", MASTER_READONLY)], path));
    let mut request = Request::new(bytes_body());
    let refusal = gate(Some("master"), "/state", &mut request).unwrap_err();
    assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
    assert!(gate(Some("master"), "/health", &mut request).is_ok());
    request.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&basic_header("ops", "s3cret:x")).unwrap(),
    );
    assert!(gate(Some("master"), "/state", &mut request).is_ok());
    assert_eq!(request.extensions().get::<Principal>(), Some(&Principal("ops".into())));
}

fn bytes_body() -> bytes::Bytes {
    bytes::Bytes::new()
}

/// A `jwt` realm takes `Bearer` tokens of its key (claims in the extensions, `exp`
/// read from the gate's clock) and answers anything else with a `Bearer` challenge.
#[test]
fn gate_checks_bearer_tokens_in_a_jwt_realm() {
    use crate::jwt::{Claims, JwtKey};
    let key = JwtKey::new(b"k".to_vec()).unwrap();
    let mut auth = HttpAuthenticator::default();
    auth.enable_jwt(AGENT_EXECUTOR, key.clone());
    let clock = Clock::paused();
    let realm_of =
        |_: Option<&str>, path: &str| realm_in(&[("/api/v1/executor", AGENT_EXECUTOR)], path);
    let gate = auth.gate_with(realm_of, clock.clone(), None);
    let with = |value: &str| {
        let mut request = Request::new(bytes_body());
        request.headers_mut().insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        request
    };
    let mut request = Request::new(bytes_body());
    let refusal = gate(Some("slave(1)"), "/api/v1/executor", &mut request).unwrap_err();
    assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refusal.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"mesos-agent-executor\""
    );
    let claims = Claims::executor("f", "e", "c");
    let mut request = with(&format!("Bearer {}", key.sign(&claims)));
    assert!(gate(Some("slave(1)"), "/api/v1/executor", &mut request).is_ok());
    assert_eq!(request.extensions().get::<Claims>(), Some(&claims));
    assert!(request.extensions().get::<Principal>().is_none());
    // Expired by the gate's clock, not by the wall clock.
    let exp = clock.now().since_epoch().as_secs() + 10;
    let token = key.sign_payload(&serde_json::json!({"fid": "f", "exp": exp}));
    assert!(
        gate(Some("slave(1)"), "/api/v1/executor", &mut with(&format!("Bearer {token}"))).is_ok()
    );
    clock.advance(std::time::Duration::from_secs(11));
    let refusal = gate(Some("slave(1)"), "/api/v1/executor", &mut with(&format!("Bearer {token}")))
        .unwrap_err();
    assert!(
        refusal.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().contains("invalid_token")
    );
    // Basic credentials do not open a Bearer realm.
    let basic = basic_header("ops", "s3cret:x");
    assert!(gate(Some("slave(1)"), "/api/v1/executor", &mut with(&basic)).is_err());
}

/// With an authorizer, the gate checks `get_endpoints` on the built-in
/// `/metrics/snapshot` and `/metrics` (403), and leaves other paths alone.
#[test]
fn gate_authorizes_metrics_with_get_endpoints() {
    let authorizer = Authorizer::from_flag(
        r#"{"get_endpoints": [
            {"principals": {"values": ["ops"]}, "paths": {"values": ["/metrics/snapshot"]}},
            {"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}]}"#,
    )
    .unwrap();
    let mut auth = HttpAuthenticator::default();
    auth.enable(MASTER_READONLY, "basic", Some(&credentials())).unwrap();
    let realm_of = |process: Option<&str>, path: &str| match process {
        None => matches!(path, "/metrics/snapshot" | "/metrics").then_some(MASTER_READONLY),
        Some(_) => None,
    };
    let gate = auth.gate_with(realm_of, Clock::paused(), Some(Arc::new(authorizer)));
    let mut ops = Request::new(bytes_body());
    ops.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&basic_header("ops", "s3cret:x")).unwrap(),
    );
    assert!(gate(None, "/metrics/snapshot", &mut ops).is_ok());
    assert!(gate(None, "/metrics", &mut ops).is_ok());
    // Unauthenticated callers of open paths are not asked about; of /metrics, 401 first.
    let mut anonymous = Request::new(bytes_body());
    assert!(gate(Some("master"), "/health", &mut anonymous).is_ok());
    assert_eq!(
        gate(None, "/metrics/snapshot", &mut anonymous).unwrap_err().status(),
        StatusCode::UNAUTHORIZED
    );
    // Without authentication, the caller is ANY and the last rule denies it.
    let open = HttpAuthenticator::default();
    let denying = Authorizer::from_flag(
        r#"{"get_endpoints": [{"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}]}"#,
    )
    .unwrap();
    let gate = open.gate_with(realm_of, Clock::paused(), Some(Arc::new(denying)));
    let mut anonymous = Request::new(bytes_body());
    for path in ["/metrics/snapshot", "/metrics"] {
        assert_eq!(gate(None, path, &mut anonymous).unwrap_err().status(), StatusCode::FORBIDDEN);
    }
    assert!(gate(Some("master"), "/metrics/snapshot", &mut anonymous).is_ok());
    assert!(gate(None, "/version", &mut anonymous).is_ok());
}

/// `basic,jwt`: a realm that takes Basic credentials also takes an executor's token
/// (the default executor on the agent's `/api/v1`); a bad token is refused with the
/// Bearer challenge, a bad password with the Basic one. Only a basic realm combines.
#[test]
fn a_basic_realm_also_accepts_executor_tokens() {
    use crate::jwt::{Claims, JwtKey};
    let key = JwtKey::new(b"k".to_vec()).unwrap();
    let mut auth = HttpAuthenticator::default();
    auth.enable(AGENT_READWRITE, "basic", Some(&credentials())).unwrap();
    assert!(auth.also_accept_jwt(AGENT_READWRITE, key.clone()));
    assert!(!auth.also_accept_jwt(AGENT_READONLY, key.clone()), "not a basic realm");
    let now = Clock::paused().now();
    let claims = Claims::executor("f", "e", "c");
    let bearer = format!("Bearer {}", key.sign(&claims)).into_bytes();
    assert_eq!(
        auth.authenticate_at(Some(AGENT_READWRITE), Some(&bearer), now),
        Outcome::Claimed(claims)
    );
    let basic = header("ops", "s3cret:x");
    assert!(matches!(
        auth.authenticate_at(Some(AGENT_READWRITE), Some(&basic), now),
        Outcome::Authenticated(_)
    ));
    let forged = format!(
        "Bearer {}",
        JwtKey::new(b"x".to_vec()).unwrap().sign(&Claims::executor("f", "e", "c"))
    );
    assert!(matches!(
        auth.authenticate_at(Some(AGENT_READWRITE), Some(forged.as_bytes()), now),
        Outcome::RefusedBearer { .. }
    ));
    assert!(matches!(
        auth.authenticate_at(Some(AGENT_READWRITE), Some(&header("ops", "wrong")), now),
        Outcome::Refused { .. }
    ));
}
