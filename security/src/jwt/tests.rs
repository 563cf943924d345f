use super::*;

const NOW: i64 = 1_700_000_000;

fn key() -> JwtKey {
    JwtKey::new(b"a secret key".to_vec()).unwrap()
}

fn claims() -> Claims {
    Claims::executor("fw-1", "exec-1", "container-1")
}

/// A token the key signs verifies with the same key and gives back its claims; its
/// header is HS256 and its parts are unpadded base64url.
#[test]
fn sign_then_verify() {
    let token = key().sign(&claims());
    assert_eq!(token.split('.').count(), 3);
    assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    assert_eq!(std::str::from_utf8(&header).unwrap(), r#"{"alg":"HS256","typ":"JWT"}"#);
    let verified = key().verify(&token, NOW).unwrap();
    assert_eq!(verified, claims());
    assert_eq!(verified.get("fid"), Some("fw-1"));
    assert_eq!(verified.get("eid"), Some("exec-1"));
    assert_eq!(verified.get("cid"), Some("container-1"));
}

/// The signature matches RFC 7515's HS256 construction: checked against an HMAC
/// computed independently over the same signing input.
#[test]
fn signature_is_hmac_sha256_of_the_first_two_parts() {
    let token = key().sign(&claims());
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut mac = HmacSha256::new_from_slice(b"a secret key").unwrap();
    mac.update(signed.as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()), signature);
}

/// Another key's token, or a token with any part changed, is refused.
#[test]
fn tampered_or_foreign_tokens_are_refused() {
    let token = key().sign(&claims());
    let other = JwtKey::new(b"another key".to_vec()).unwrap().sign(&claims());
    assert_eq!(key().verify(&other, NOW), Err(JwtError::Signature));
    // Swap in a payload naming another executor, keeping the original signature.
    let forged_payload =
        URL_SAFE_NO_PAD.encode(r#"{"cid":"container-1","eid":"other","fid":"fw-1"}"#);
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(key().verify(&forged, NOW), Err(JwtError::Signature));
    // A flipped signature character.
    let mut bytes = token.clone().into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    assert!(key().verify(&flipped, NOW).is_err());
    // `alg: none` with no signature, the classic downgrade.
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    assert!(matches!(key().verify(&none, NOW), Err(JwtError::Header { .. })));
}

/// `exp` in the past is refused, in the future accepted, and not a number refused.
#[test]
fn expiry_is_checked_against_now() {
    let token = |exp: Value| {
        key().sign_payload(&serde_json::json!({"fid": "fw-1", "eid": "e", "cid": "c", "exp": exp}))
    };
    assert!(matches!(
        key().verify(&token(Value::from(NOW - 1)), NOW),
        Err(JwtError::Expired { .. })
    ));
    let fresh = key().verify(&token(Value::from(NOW + 60)), NOW).unwrap();
    assert_eq!(fresh.get("exp"), Some(&*(NOW + 60).to_string()));
    assert!(matches!(
        key().verify(&token(Value::from("soon")), NOW),
        Err(JwtError::Expired { .. })
    ));
}

/// Malformed tokens of every kind are errors, never panics.
#[test]
fn malformed_tokens_are_errors() {
    let good = key().sign(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let cases = [
        String::new(),
        ".".into(),
        "..".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("!!.{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}", b64("[1,2]"), parts[1], parts[2]),
        format!("{}.{}.{}", b64("not json"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(r#"{"alg":5}"#), parts[1], parts[2]),
        format!("{}.{}.{}", b64(r#"{"typ":"JWT"}"#), parts[1], parts[2]),
        format!("{}.{}.{}", b64(r#"{"alg":"HS256","crit":["x"]}"#), parts[1], parts[2]),
        format!("{}.{}.{}", b64(r#"{"alg":"HS256","typ":1}"#), parts[1], parts[2]),
        format!("{}.{}.{}", b64(r#"{"alg":"RS256"}"#), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], b64("\"str\""), parts[2]),
        format!("{}.{}.%%%", parts[0], parts[1]),
        format!("{}.{}.", parts[0], parts[1]),
        "é.é.é".into(),
        "a".repeat(MAX_TOKEN_LEN + 1),
    ];
    for case in cases {
        assert!(key().verify(&case, NOW).is_err(), "{case:?} verified");
    }
    // Signed, but empty.
    let empty = key().sign_payload(&serde_json::json!({}));
    assert_eq!(key().verify(&empty, NOW), Err(JwtError::NoClaims));
}

/// Non-string claims come back as their JSON text, as libprocess's principal holds them.
#[test]
fn non_string_claims_are_stringified() {
    let token = key().sign_payload(&serde_json::json!({"n": 3, "b": true, "s": "x"}));
    let claims = key().verify(&token, NOW).unwrap();
    assert_eq!(claims.get("n"), Some("3"));
    assert_eq!(claims.get("b"), Some("true"));
    assert_eq!(claims.get("s"), Some("x"));
}

/// The claims must name the call's framework and executor and the executor's current
/// container; each mismatch is refused with Mesos's message.
#[test]
fn executor_claims_must_match_the_call() {
    let c = claims();
    assert_eq!(c.verify_executor("fw-1", "exec-1", "container-1"), Ok(()));
    assert!(c.verify_executor("fw-2", "exec-1", "container-1").unwrap_err().contains("'fid'"));
    assert!(c.verify_executor("fw-1", "exec-2", "container-1").unwrap_err().contains("'eid'"));
    assert!(c.verify_executor("fw-1", "exec-1", "container-2").unwrap_err().contains("'cid'"));
    assert!(Claims::default().verify_executor("fw-1", "exec-1", "container-1").is_err());
}

/// `Bearer <token>` authenticates; a missing, non-Bearer or bad header is refused with
/// the realm's Bearer challenge (`invalid_token` for a bad token).
#[test]
fn bearer_authenticator() {
    let auth = JwtAuthenticator::new("mesos-agent-executor", key());
    let token = key().sign(&claims());
    let header = format!("Bearer {token}");
    assert_eq!(auth.authenticate(Some(header.as_bytes()), NOW), Ok(claims()));
    assert_eq!(auth.authenticate(None, NOW), Err(BearerFailure::Missing));
    let basic = format!("Basic {token}");
    assert_eq!(auth.authenticate(Some(basic.as_bytes()), NOW), Err(BearerFailure::Malformed));
    assert_eq!(auth.authenticate(Some(b"Bearer"), NOW), Err(BearerFailure::Malformed));
    assert_eq!(auth.authenticate(Some(b"Bearer a b"), NOW), Err(BearerFailure::Malformed));
    assert_eq!(auth.authenticate(Some(&[0xff, 0xfe]), NOW), Err(BearerFailure::Malformed));
    assert!(matches!(
        auth.authenticate(Some(b"Bearer x.y.z"), NOW),
        Err(BearerFailure::Invalid(_))
    ));
    let missing = auth.unauthorized(&BearerFailure::Missing);
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"mesos-agent-executor\""
    );
    let invalid = auth.unauthorized(&BearerFailure::Invalid(JwtError::Signature));
    assert_eq!(
        invalid.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"mesos-agent-executor\", error=\"invalid_token\""
    );
}

/// The key file is read whole; an empty key or a missing file is refused.
#[test]
fn key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwt");
    std::fs::write(&path, "s3cret").unwrap();
    let key = JwtKey::read(path.to_str().unwrap()).unwrap();
    let token = key.sign(&claims());
    assert!(JwtKey::new(b"s3cret".to_vec()).unwrap().verify(&token, NOW).is_ok());
    assert!(JwtKey::read(&format!("file://{}", path.display())).is_ok());
    assert!(format!("{key:?}").contains("6 bytes") && !format!("{key:?}").contains("s3cret"));
    std::fs::write(&path, "").unwrap();
    assert!(JwtKey::read(path.to_str().unwrap()).is_err());
    assert!(JwtKey::read(dir.path().join("none").to_str().unwrap()).is_err());
}
