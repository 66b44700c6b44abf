//! The security suite: black-box over HTTP against every service of the all-in-one server
//! (auth-core's `/api/auth/me`, course-service's `/api/courses`, grading-service's
//! `/api/grading/me/grades`, each with its own verifier). Every forged-token family of
//! docs/security.md, each case naming the rule it protects; a `jku` that must never be fetched; the
//! leeway at zero; and property tests that mutate tokens and request bodies and find no way to a
//! 5xx, a panic, or a token that verifies.

use crate::helpers::{Actor, Backend, TestApp, spawn_app, spawn_app_with};
use crate::on_both_backends;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

on_both_backends!(every_forged_token_family_is_refused_by_every_service, expiry_with_leeway_zero_is_exact);

/// One endpoint of each service that needs a bearer token.
const PROTECTED: [&str; 3] = ["/api/auth/me", "/api/courses", "/api/grading/me/grades"];

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// auth-core's current signing key, straight from the key ring's table: lets the suite sign
/// *valid signatures* over claims that break rules 5-7.
async fn real_key(app: &TestApp) -> (EncodingKey, String) {
    use lectern_common::schema::signing_keys;
    let (kid, sealed): (String, String) = app
        .db
        .run(|c| {
            signing_keys::table
                .filter(signing_keys::purpose.eq("access"))
                .order(signing_keys::created_at.desc())
                .select((signing_keys::kid, signing_keys::private_key))
                .first(c)
                .map_err(lectern_common::DbError::from)
        })
        .await
        .unwrap();
    // Sealed at rest: only the key-encryption key (which auth-core holds) opens it.
    let der = app.auth.keys.kek().open(&format!("signing-key:{kid}"), &sealed).unwrap();
    (EncodingKey::from_ed_der(&der), kid)
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let header = Header { typ: Some("at+jwt".into()), kid: Some(kid.into()), ..Header::new(Algorithm::EdDSA) };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

/// (rule of docs/security.md, what the case is, the token)
async fn forged_tokens(app: &TestApp, victim: &Actor, jku_url: &str) -> Vec<(u8, String, String)> {
    let token = &victim.access_token;
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let good = claims_of(token);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let mut teacher = good.clone();
    teacher["role"] = json!("teacher");
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    let jwk = jwks["keys"][0].clone();
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let spki = [&[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00][..], &x].concat();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&spki)
    );
    let with_header = |extra: Value| {
        let mut h = header.clone();
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        format!("{}.{}.{}", b64(&h), parts[1], parts[2])
    };
    let mut cases: Vec<(u8, String, String)> = vec![
        (1, "oversized (9 KiB)".into(), format!("{}.{}.{}", parts[0], "A".repeat(9 * 1024), parts[2])),
        (1, "two segments".into(), format!("{}.{}", parts[0], parts[1])),
        (1, "four segments".into(), format!("{token}.{}", parts[2])),
        (1, "base64 padding".into(), format!("{}=.{}.{}", parts[0], parts[1], parts[2])),
        (1, "not base64url".into(), format!("{}.{}*.{}", parts[0], parts[1], parts[2])),
        (1, "empty signature".into(), format!("{}.{}.", parts[0], parts[1])),
        (2, "typ JWT".into(), with_header(json!({"typ": "JWT"}))),
        (2, "no typ".into(), format!("{}.{}.{}", b64(&json!({"alg": "EdDSA", "kid": kid})), parts[1], parts[2])),
        (2, "crit".into(), with_header(json!({"crit": ["exp"]}))),
        (2, "embedded jwk".into(), with_header(json!({"jwk": jwk}))),
        (2, "jku to fetch".into(), with_header(json!({"jku": jku_url}))),
        (2, "x5u to fetch".into(), with_header(json!({"x5u": jku_url}))),
        (2, "x5c chain".into(), with_header(json!({"x5c": ["MIIB"]}))),
        (2, "ES256 with a zero signature".into(), {
            let h = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
            format!("{}.{}.{}", b64(&h), b64(&teacher), URL_SAFE_NO_PAD.encode([0u8; 64]))
        }),
        (3, "unknown kid".into(), with_header(json!({"kid": "nobody-knows-this-key"}))),
        (3, "kid path traversal".into(), with_header(json!({"kid": "../../../../dev/null"}))),
        (
            3,
            "kid SQL injection".into(),
            with_header(json!({"kid": "x' UNION SELECT private_pkcs8 FROM signing_keys--"})),
        ),
        (3, "no kid".into(), format!("{}.{}.{}", b64(&json!({"alg": "EdDSA", "typ": "at+jwt"})), parts[1], parts[2])),
        (4, "claims changed under the signature".into(), format!("{}.{}.{}", parts[0], b64(&teacher), parts[2])),
        (4, "signature altered".into(), {
            let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            sig[10] ^= 0x40;
            format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig))
        }),
        (4, "signed by another Ed25519 key under our kid".into(), {
            let seed: [u8; 32] = rand_seed();
            let prefix =
                [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
            sign(&EncodingKey::from_ed_der(&[&prefix[..], &seed].concat()), &kid, &teacher)
        }),
    ];
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        cases.push((2, format!("alg {alg}, no signature"), format!("{}.{}.", b64(&h), b64(&teacher))));
        cases.push((2, format!("alg {alg}, old signature"), format!("{}.{}.{}", b64(&h), b64(&teacher), parts[2])));
    }
    for (form, secret) in [
        ("x as text", jwk["x"].as_str().unwrap().as_bytes().to_vec()),
        ("raw key bytes", x.clone()),
        ("JWK JSON", jwk.to_string().into_bytes()),
        ("SPKI DER", spki.clone()),
        ("PEM", pem.into_bytes()),
    ] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let h = Header { typ: Some("at+jwt".into()), kid: Some(kid.clone()), ..Header::new(alg) };
            let forged = jsonwebtoken::encode(&h, &teacher, &EncodingKey::from_secret(&secret).unwrap()).unwrap();
            cases.push((2, format!("{alg:?} keyed with the public key ({form})"), forged));
        }
    }
    // Real signatures over claims that break rules 5 and 6.
    let (key, real_kid) = real_key(app).await;
    let now = good["iat"].as_i64().unwrap();
    let signed = |change: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        change(&mut c);
        sign(&key, &real_kid, &c)
    };
    cases.push((5, "wrong issuer".into(), signed(&|c| c["iss"] = json!("evil"))));
    cases.push((5, "wrong audience".into(), signed(&|c| c["aud"] = json!(["lectern-admin"]))));
    cases.push((5, "expired beyond the leeway".into(), signed(&|c| c["exp"] = json!(now - 31))));
    cases.push((5, "not yet valid beyond the leeway".into(), signed(&|c| c["nbf"] = json!(now + 31))));
    cases.push((5, "exp as a string".into(), signed(&|c| c["exp"] = json!((now + 900).to_string()))));
    // A longer-lived token than the services are configured for could outlive its session's revocation.
    cases.push((5, "lifetime longer than configured".into(), signed(&|c| c["exp"] = json!(now + 901))));
    cases.push((5, "issued long ago, valid for a day".into(), {
        signed(&|c| {
            c["iat"] = json!(now - 3600);
            c["exp"] = json!(now + 86_400);
        })
    }));
    for claim in ["exp", "iat", "sub", "sid", "jti", "role", "iss", "aud", "nbf"] {
        cases.push((5, format!("no {claim}"), signed(&|c| drop(c.as_object_mut().unwrap().remove(claim)))));
    }
    cases.push((6, "role admin".into(), signed(&|c| c["role"] = json!("admin"))));
    cases.push((6, "role Teacher".into(), signed(&|c| c["role"] = json!("Teacher"))));
    cases
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).enumerate() {
        seed[i] = *b;
    }
    seed
}

async fn every_forged_token_family_is_refused_by_every_service(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    // A listener standing in for an attacker's key server: nothing may ever connect to it.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let jku = format!("http://{}/jwks.json", trap.local_addr().unwrap());
    let cases = forged_tokens(&app, &grace, &jku).await;
    assert!(cases.len() >= 60, "{} cases", cases.len());
    for path in PROTECTED {
        assert_eq!(app.get(path, Some(&grace.access_token)).await.status(), 200, "baseline on {path}");
        for (rule, what, token) in &cases {
            let resp = app.get(path, Some(token)).await;
            assert_eq!(resp.status(), 401, "rule {rule}: {what} on {path}");
            assert_eq!(
                resp.headers()["www-authenticate"],
                r#"Bearer realm="lectern", error="invalid_token""#,
                "rule {rule}: {what} on {path}"
            );
        }
    }
    assert!(trap.accept().is_err(), "rule 2: a jku/x5u URL was fetched");
    // Rule 7: a logged-out session's token, on every service.
    let resp = app.api.post(app.url("/api/auth/logout")).bearer_auth(&grace.access_token).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    for path in PROTECTED {
        assert_eq!(app.get(path, Some(&grace.access_token)).await.status(), 401, "rule 7: revoked session on {path}");
    }
    // Tokens in the query string, and refresh tokens as bearer tokens, everywhere.
    let fresh = app.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await;
    for path in PROTECTED {
        let in_query = app.get(&format!("{path}?access_token={}", fresh.access_token), None).await;
        assert_eq!(in_query.status(), 401, "token in the query string on {path}");
        assert_eq!(app.get(path, Some(&fresh.refresh_token)).await.status(), 401, "refresh token as bearer on {path}");
    }
}

async fn expiry_with_leeway_zero_is_exact(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.leeway = std::time::Duration::ZERO).await;
    let grace = app.student("Grace").await;
    app.advance(900);
    for path in PROTECTED {
        assert_eq!(app.get(path, Some(&grace.access_token)).await.status(), 200, "at exp on {path}");
    }
    app.advance(1);
    for path in PROTECTED {
        assert_eq!(
            app.get(path, Some(&grace.access_token)).await.status(),
            401,
            "rule 5: one second past exp on {path}"
        );
    }
}

mod fuzz {
    //! Property tests over HTTP: a shared server, many mutated inputs.
    use super::PROTECTED;
    use crate::helpers::{Backend, spawn_app};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    }

    /// Arbitrary JSON, a few levels deep, with the field names the API uses mixed in.
    fn json_value() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec![
            "email",
            "password",
            "display_name",
            "title",
            "summary",
            "published",
            "body_markdown",
            "position",
            "enrollment_code",
            "student_email",
            "instructions",
            "due_at",
            "max_points",
            "max_attempts",
            "body",
            "score",
            "feedback",
            "refresh_token",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            Just(json!("2026-11-28T09:00:00Z")),
            Just(json!("\u{0000}\u{202e}<script>")),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((names.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    #[test]
    fn mutated_tokens_never_verify_nor_fail_the_server() {
        let rt = runtime();
        let (app, student) = rt.block_on(async {
            let app = spawn_app(Backend::Sqlite).await;
            let student = app.student("Grace").await;
            (app, student)
        });
        let token = student.access_token.clone();
        let config = ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() };
        proptest!(config, |(position in 0..token.len(), byte in any::<u8>(), cut in 0..token.len(), path in prop::sample::select(PROTECTED.to_vec()))| {
            let mut bytes = token.clone().into_bytes();
            bytes[position] = byte;
            bytes.truncate(cut.max(position + 1));
            let mutated = String::from_utf8_lossy(&bytes).into_owned();
            prop_assume!(mutated != token);
            let status = rt.block_on(async {
                let req = app.api.get(app.url(path)).header("authorization", format!("Bearer {mutated}"));
                req.send().await.map(|r| r.status().as_u16()).unwrap_or(400)
            });
            prop_assert!(status == 401 || status == 400, "{path} answered {status} to {mutated:?}");
        });
    }

    #[test]
    fn mutated_request_bodies_never_cause_a_server_error() {
        let rt = runtime();
        let (app, teacher, student, course, assignment, submission) = rt.block_on(async {
            let app = spawn_app(Backend::Sqlite).await;
            let teacher = app.teacher("Ada").await;
            let student = app.student("Grace").await;
            let course = app.create_course(&teacher, "Fuzzing", true).await;
            app.enroll(&student, &course).await;
            let course_id = course["id"].as_str().unwrap().to_owned();
            let assignment: Value = app
                .post_json(
                    &format!("/api/grading/courses/{course_id}/assignments"),
                    Some(&teacher.access_token),
                    &json!({"title": "A", "instructions": "", "due_at": "2099-01-01T00:00:00Z", "max_points": 10, "max_attempts": null}),
                )
                .await
                .json()
                .await
                .unwrap();
            let assignment_id = assignment["id"].as_str().unwrap().to_owned();
            let submission: Value = app
                .post_json(&format!("/api/grading/assignments/{assignment_id}/submissions"), Some(&student.access_token), &json!({"body": "x"}))
                .await
                .json()
                .await
                .unwrap();
            let submission_id = submission["id"].as_str().unwrap().to_owned();
            (app, teacher, student, course_id, assignment_id, submission_id)
        });
        let t = teacher.access_token.clone();
        let s = student.access_token.clone();
        let targets: Vec<(&str, String, String)> = vec![
            ("POST", "/api/auth/signup".into(), String::new()),
            ("POST", "/api/auth/token".into(), String::new()),
            ("POST", "/api/auth/refresh".into(), String::new()),
            ("POST", "/api/courses".into(), t.clone()),
            ("PATCH", format!("/api/courses/{course}"), t.clone()),
            ("POST", format!("/api/courses/{course}/materials"), t.clone()),
            ("POST", format!("/api/courses/{course}/enrollments"), s.clone()),
            ("POST", format!("/api/courses/{course}/enrollments"), t.clone()),
            ("POST", format!("/api/grading/courses/{course}/assignments"), t.clone()),
            ("POST", format!("/api/grading/assignments/{assignment}/submissions"), s.clone()),
            ("PUT", format!("/api/grading/submissions/{submission}/grade"), t.clone()),
        ];
        let config = ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() };
        proptest!(config, |(target in prop::sample::select(targets.clone()), body in json_value(), raw in prop::option::of(".{0,60}"))| {
            let (method, path, token) = target;
            let payload = raw.unwrap_or_else(|| body.to_string());
            let status = rt.block_on(async {
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let mut req = app.api.request(method, app.url(&path)).header("content-type", "application/json").body(payload.clone());
                if !token.is_empty() {
                    req = req.bearer_auth(&token);
                }
                req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
            });
            prop_assert!(status != 0 && status < 500, "{path} answered {status} to {payload}");
        });
    }
}
