//! docs/security.md's verification order, end to end over HTTP: what a service answers for each kind
//! of bad token (the crate's own tests pin every rule in detail; these prove the services use it).

use crate::helpers::{Backend, TestApp, TestDb, spawn_app, spawn_on};
use crate::on_both_backends;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use token_claims::{AccessClaims, Role};

on_both_backends!(
    a_token_expires_after_its_lifetime_plus_leeway,
    forged_tokens_are_refused_with_invalid_token,
    a_token_signed_by_our_key_with_wrong_claims_is_refused,
    tokens_in_the_query_string_are_refused,
    a_refresh_token_is_not_an_access_token,
    revocation_reaches_another_process,
);

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// Claims as auth-core would issue them for `actor_id`, at the app's clock.
fn claims_for(app: &TestApp, user: &str, sid: &str) -> AccessClaims {
    let now = app.clock_now();
    AccessClaims {
        iss: "lectern".into(),
        sub: user.parse().unwrap(),
        aud: vec!["lectern-courses".into(), "lectern-grading".into()],
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: uuid::Uuid::new_v4(),
        sid: sid.parse().unwrap(),
        role: Role::Student,
        name: "Grace".into(),
    }
}

trait ClockNow {
    fn clock_now(&self) -> i64;
}
impl ClockNow for TestApp {
    fn clock_now(&self) -> i64 {
        use token_claims::Clock;
        self.clock.now().unix_timestamp()
    }
}

async fn current_sid(app: &TestApp, token: &str) -> String {
    let list: Value = app.get("/api/auth/sessions", Some(token)).await.json().await.unwrap();
    list["items"][0]["id"].as_str().unwrap().to_owned()
}

async fn assert_invalid_token(app: &TestApp, token: &str, what: &str) {
    let resp = app.get("/api/auth/me", Some(token)).await;
    assert_eq!(resp.status(), 401, "{what}");
    assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="lectern", error="invalid_token""#, "{what}");
    let problem = TestApp::problem(resp).await;
    assert_eq!(problem["detail"], "invalid_token", "{what}: the reply says nothing more");
}

async fn a_token_expires_after_its_lifetime_plus_leeway(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    app.advance(900 + 30);
    assert_eq!(app.get("/api/auth/me", Some(&grace.access_token)).await.status(), 200, "inside the 30 s leeway");
    app.advance(1);
    assert_invalid_token(&app, &grace.access_token, "expired").await;
}

async fn forged_tokens_are_refused_with_invalid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let parts: Vec<&str> = grace.access_token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = json!("teacher");

    // alg none, in every spelling, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = json!({"alg": alg, "typ": "at+jwt", "kid": header["kid"]});
        assert_invalid_token(&app, &format!("{}.{}.", b64(&h), b64(&claims)), alg).await;
        assert_invalid_token(&app, &format!("{}.{}.{}", b64(&h), b64(&claims), parts[2]), alg).await;
    }
    // A changed claim under the original signature.
    assert_invalid_token(&app, &format!("{}.{}.{}", parts[0], b64(&claims), parts[2]), "altered claims").await;
    // Stripped and altered signatures.
    assert_invalid_token(&app, &format!("{}.{}.", parts[0], parts[1]), "stripped signature").await;
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    assert_invalid_token(
        &app,
        &format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig)),
        "altered signature",
    )
    .await;
    // HMAC keyed with the public key (the classic algorithm confusion).
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    for secret in [x.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(&x).unwrap(), jwks["keys"][0].to_string().into_bytes()]
    {
        let h = jsonwebtoken::Header {
            typ: Some("at+jwt".into()),
            kid: header["kid"].as_str().map(String::from),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        };
        let forged =
            jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(&secret).unwrap()).unwrap();
        assert_invalid_token(&app, &forged, "HS256 with the public key").await;
    }
    // An embedded key, and a key URL that must never be fetched.
    for extra in [
        json!({"jwk": jwks["keys"][0]}),
        json!({"jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"x5u": "http://127.0.0.1:9/x"}),
        json!({"crit": ["exp"]}),
    ] {
        let mut h = header.clone();
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        assert_invalid_token(&app, &format!("{}.{}.{}", b64(&h), parts[1], parts[2]), &extra.to_string()).await;
    }
    // kid injection and a wrong typ.
    for h in [
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "../../etc/passwd"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "' OR '1'='1"}),
        json!({"alg": "EdDSA", "typ": "JWT", "kid": header["kid"]}),
        json!({"alg": "EdDSA", "kid": header["kid"]}),
    ] {
        assert_invalid_token(&app, &format!("{}.{}.{}", b64(&h), parts[1], parts[2]), &h.to_string()).await;
    }
    // Padding, extra segments, oversize.
    assert_invalid_token(&app, &format!("{}=.{}.{}", parts[0], parts[1], parts[2]), "padding").await;
    assert_invalid_token(&app, &format!("{}.{}", grace.access_token, parts[2]), "four segments").await;
    assert_invalid_token(&app, &format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]), "oversized").await;
    // And the genuine token still works.
    assert_eq!(app.get("/api/auth/me", Some(&grace.access_token)).await.status(), 200);
}

async fn a_token_signed_by_our_key_with_wrong_claims_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let sid = current_sid(&app, &grace.access_token).await;
    let good = claims_for(&app, &grace.id, &sid);
    let signed = app.auth.keys.sign(&good).unwrap();
    assert_eq!(app.get("/api/auth/me", Some(&signed)).await.status(), 200, "the baseline verifies");

    let mut wrong_iss = good.clone();
    wrong_iss.iss = "someone-else".into();
    let mut wrong_aud = good.clone();
    wrong_aud.aud = vec!["lectern-grading".into()];
    let mut not_yet = good.clone();
    not_yet.nbf = good.iat + 31;
    let mut expired = good.clone();
    expired.exp = good.iat - 31;
    let mut other_session = good.clone();
    other_session.sid = uuid::Uuid::new_v4();
    for (claims, what) in
        [(wrong_iss, "issuer"), (wrong_aud, "audience"), (not_yet, "nbf beyond leeway"), (expired, "exp beyond leeway")]
    {
        assert_invalid_token(&app, &app.auth.keys.sign(&claims).unwrap(), what).await;
    }
    // An unknown session is not revoked, so it verifies: the session check is about revocation.
    assert_eq!(app.get("/api/auth/me", Some(&app.auth.keys.sign(&other_session).unwrap())).await.status(), 200);
}

async fn tokens_in_the_query_string_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let resp = app.get(&format!("/api/auth/me?access_token={}", grace.access_token), None).await;
    assert_eq!(resp.status(), 401);
    let resp = app.get(&format!("/api/auth/me?access_token={}", grace.access_token), Some(&grace.access_token)).await;
    assert_eq!(resp.status(), 401, "even next to a good header");
}

async fn a_refresh_token_is_not_an_access_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    assert_invalid_token(&app, &grace.refresh_token, "refresh token as bearer").await;
    let resp = app.get("/api/auth/me", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="lectern""#, "no token: no error code");
    let resp = app
        .api
        .get(app.url("/api/auth/me"))
        .header("authorization", format!("Basic {}", grace.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "only the Bearer scheme");
    // Bytes outside ASCII in the header: not UTF-8 at all, or UTF-8 that is no base64url.
    for raw in [&b"Bearer \xff\xfe.\x80.\x81"[..], "Bearer é.ü.ß".as_bytes(), b"Bearer a\tb.c.d"] {
        let resp = app
            .api
            .get(app.url("/api/auth/me"))
            .header("authorization", reqwest::header::HeaderValue::from_bytes(raw).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{raw:?}");
        assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="lectern", error="invalid_token""#, "{raw:?}");
    }
}

/// Two processes on one database: a logout on one reaches the other through its revoked-session
/// set, which it refreshes from the database (here one refresh pass, run directly).
async fn revocation_reaches_another_process(backend: Backend) {
    let first = spawn_app(backend).await;
    let second = spawn_on(TestDb::reuse(&first), |_| {}).await;
    let grace = first.student("Grace").await;
    assert_eq!(second.get("/api/auth/me", Some(&grace.access_token)).await.status(), 200);
    let resp = first.api.post(first.url("/api/auth/logout")).bearer_auth(&grace.access_token).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let sync = lectern_common::revocation::RevocationSync {
        db: second.db.clone(),
        set: second.revoked.clone(),
        clock: std::sync::Arc::new(second.clock.clone()),
        window: std::time::Duration::from_secs(930),
    };
    assert!(sync.run_once(false).await.unwrap() >= 1);
    assert_eq!(second.get("/api/auth/me", Some(&grace.access_token)).await.status(), 401);
}
