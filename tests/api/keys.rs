//! The key ring: the JWKS publishes every live key and no private material; rotation publishes
//! the next key before it signs, so a verifier elsewhere knows it without asking auth-core at that
//! moment; old tokens keep working; a key is retired only once no live token can carry it; private
//! keys are sealed at rest.

use crate::helpers::{Backend, TestApp, TestDb, spawn_app, spawn_service};
use crate::on_both_backends;
use auth_core::keys::{self, ActivateError, RetireError};
use lectern::startup::ServiceSet;
use serde_json::Value;

on_both_backends!(
    jwks_lists_public_keys_only,
    rotation_publishes_the_next_key_before_it_signs,
    a_rotation_needs_no_auth_core_when_the_key_activates,
    activate_starts_the_next_key_early,
    retiring_waits_for_the_last_live_token,
    private_keys_are_sealed_in_the_database,
    a_reload_with_nothing_new_changes_nothing,
);

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    header["kid"].as_str().unwrap().to_owned()
}

async fn jwks(app: &TestApp) -> Value {
    let resp = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// A fresh installation publishes one key of each kind: the access key (EdDSA) first, then the
/// ID-token keys (RS256, which OpenID Connect requires, and EdDSA), each with its own kid.
async fn jwks_lists_public_keys_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let set = jwks(&app).await;
    let keys = set["keys"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> =
        keys.iter().map(|k| (k["kty"].as_str().unwrap(), k["alg"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("OKP", "EdDSA"), ("RSA", "RS256"), ("OKP", "EdDSA")]);
    let access = &keys[0];
    assert_eq!(access["crv"], "Ed25519");
    assert_eq!(access["kid"].as_str().unwrap(), kid_of(&grace.access_token));
    for key in keys {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "private member {private} published");
        }
        // The kid is the RFC 7638 thumbprint of the key.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
        let thumbprint = match key["kty"].as_str() {
            Some("RSA") => jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap(),
            _ => token_claims::jwk_thumbprint(&jwk).unwrap(),
        };
        assert_eq!(thumbprint, key["kid"].as_str().unwrap());
    }
    use base64::Engine;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(keys[1]["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len() * 8, 2048, "a 2048-bit RSA modulus");
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.dedup();
    assert_eq!(kids.len(), 3, "each key has its own kid");
}

/// `lectern keys rotate`, then what the once-a-second reload does in a running server; the
/// next access key's kid.
async fn rotate(app: &TestApp) -> String {
    rotate_all(app).await.access_kid().unwrap().to_owned()
}

/// `lectern keys rotate`: the next key of every kind.
pub async fn rotate_all(app: &TestApp) -> keys::Rotated {
    let (auth, now) = (app.auth.clone(), token_claims::Clock::now(&app.clock));
    app.db
        .run(move |conn| {
            let rotated = lectern_common::db::write_tx(conn, |c| keys::rotate(c, auth.keys.kek(), now))
                .map_err(|e| lectern_common::DbError::Task(e.to_string()))?;
            auth.keys.reload(conn, now).map_err(|e| lectern_common::DbError::Task(e.to_string()))?;
            Ok::<_, lectern_common::DbError>(rotated)
        })
        .await
        .unwrap()
}

/// What the once-a-second reload does in a running server, now: whether the ring changed.
async fn reload(app: &TestApp) -> bool {
    let (auth, now) = (app.auth.clone(), token_claims::Clock::now(&app.clock));
    app.db
        .run(move |conn| auth.keys.reload(conn, now).map_err(|e| lectern_common::DbError::Task(e.to_string())))
        .await
        .unwrap()
}

/// Moves the app's clock and lets its key ring see the new time.
pub async fn advance_and_reload(app: &TestApp, secs: i64) {
    app.advance(secs);
    let (auth, now) = (app.auth.clone(), token_claims::Clock::now(&app.clock));
    app.db
        .run(move |conn| auth.keys.reload(conn, now).map_err(|e| lectern_common::DbError::Task(e.to_string())))
        .await
        .unwrap();
}

/// The once-a-second reload rebuilds the ring (unsealing every private key) and hands the
/// verifiers a new key set, which empties their verified-token caches, only when a key was
/// added, activated or retired: never on a tick where nothing happened.
async fn a_reload_with_nothing_new_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(!reload(&app).await, "every slot's key loaded at start, nothing new since");
    assert!(!reload(&app).await, "nor on the next tick");
    rotate_all(&app).await;
    advance_and_reload(&app, DELAY).await;
    assert!(!reload(&app).await, "the activated keys are loaded; nothing new since");
    app.advance(1);
    assert!(!reload(&app).await, "time passing alone changes nothing");
}

fn kids(set: &Value) -> Vec<String> {
    set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

const DELAY: i64 = keys::ACTIVATION_DELAY.whole_seconds();

async fn rotation_publishes_the_next_key_before_it_signs(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.student("Grace").await;
    let old_kid = kid_of(&before.access_token);
    let new_kid = rotate(&app).await;
    assert_ne!(old_kid, new_kid);
    assert!(kids(&jwks(&app).await).contains(&new_kid), "the next key is published at once");
    let meanwhile = app.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await;
    assert_eq!(kid_of(&meanwhile.access_token), old_kid, "the current key still signs");
    advance_and_reload(&app, DELAY - 1).await;
    let almost = app.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await;
    assert_eq!(kid_of(&almost.access_token), old_kid, "one second before the activation");
    advance_and_reload(&app, 1).await;
    let after = app.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await;
    assert_eq!(kid_of(&after.access_token), new_kid, "new tokens carry the new kid");
    assert_eq!(app.get("/api/auth/me", Some(&after.access_token)).await.status(), 200);
    assert_eq!(app.get("/api/auth/me", Some(&almost.access_token)).await.status(), 200, "old tokens keep working");
    let published = kids(&jwks(&app).await);
    assert!(published.contains(&old_kid) && published.contains(&new_kid), "{published:?}");
    // The delay outlasts the longest a verifier keeps a fetched key set.
    assert!(std::time::Duration::from_secs(DELAY as u64) >= 2 * lectern_common::jwks::MAX_AGE_CAP);
}

async fn a_rotation_needs_no_auth_core_when_the_key_activates(backend: Backend) {
    let app = spawn_app(backend).await;
    let teacher = app.teacher("Ada").await;
    rotate(&app).await;
    // An auth-core replica that a grading process fetches its keys from, after the rotation.
    let auth = spawn_service(TestDb::reuse(&app), ServiceSet::Auth, |_| {}).await;
    let grading =
        spawn_service(TestDb::reuse(&app), ServiceSet::Grading, |c| c.auth_url = Some(auth.address.clone())).await;
    let probe = |token: String| {
        let url = grading.url("/api/grading/me/grades");
        let client = app.api.clone();
        async move { client.get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(probe(teacher.access_token.clone()).await, 403, "grading verifies (a teacher has no grades)");
    // auth-core becomes unreachable for the grading process; the next key activates meanwhile.
    auth.stop().await;
    advance_and_reload(&app, DELAY).await;
    grading.clock.advance(time::Duration::seconds(DELAY));
    let fresh = app.sign_in("ada@example.org", crate::helpers::TEACHER_PASSWORD).await;
    assert_ne!(kid_of(&fresh.access_token), kid_of(&teacher.access_token), "signed by the new key");
    assert_eq!(probe(fresh.access_token).await, 403, "verified with the key published before it signed");
}

async fn activate_starts_the_next_key_early(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let next = rotate(&app).await;
    let now = token_claims::Clock::now(&app.clock);
    let (first, again) = {
        let mut conn = app.db.get().unwrap();
        (keys::activate(&mut conn, &next, now).unwrap(), keys::activate(&mut conn, &next, now).unwrap())
    };
    assert!(first.unwrap().early(now), "activated before its time: the CLI warns");
    assert_eq!(again, Err(ActivateError::AlreadyActive(next.clone())));
    advance_and_reload(&app, 0).await;
    let token = app.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await.access_token;
    assert_eq!(kid_of(&token), next);
    let missing = keys::activate(&mut app.db.get().unwrap(), "nope", now).unwrap();
    assert_eq!(missing, Err(ActivateError::NotFound("nope".into())));
}

async fn private_keys_are_sealed_in_the_database(backend: Backend) {
    use diesel::prelude::*;
    use lectern_common::schema::{secrets, signing_keys};
    let app = spawn_app(backend).await;
    rotate(&app).await;
    let (stored, secret_values): (Vec<(String, String, String)>, Vec<String>) = app
        .db
        .run(|c| {
            let keys = signing_keys::table
                .select((signing_keys::kid, signing_keys::alg, signing_keys::private_key))
                .load(c)?;
            let secrets = secrets::table.select(secrets::secret).load(c)?;
            Ok::<_, lectern_common::DbError>((keys, secrets))
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 6, "three kinds of key, each with its next key");
    for (kid, alg, private) in &stored {
        assert!(auth_core::seal::is_sealed(private), "{kid} stored in clear");
        use base64::Engine;
        assert!(base64::engine::general_purpose::STANDARD.decode(private).is_err(), "not a bare PKCS#8");
        let der = app.auth.keys.kek().open(&format!("signing-key:{kid}"), private).unwrap();
        match alg.as_str() {
            "EdDSA" => assert_eq!(der.len(), 48, "an Ed25519 PKCS#8 key, under the key-encryption key"),
            "RS256" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                let key = rsa::PrivateKey::from_pkcs1_der(&der).expect("an RSA PKCS#1 key");
                assert_eq!(rsa::traits::PublicKeyParts::n_bits_precision(&key), 2048);
            }
            other => panic!("{kid}: unexpected alg {other}"),
        }
        let (_, other) = auth_core::seal::Kek::generate();
        assert!(other.open(&format!("signing-key:{kid}"), private).is_err(), "no other key opens it");
    }
    assert!(
        secret_values.len() >= 2 && secret_values.iter().all(|v| auth_core::seal::is_sealed(v)),
        "{secret_values:?}"
    );
}

async fn retiring_waits_for_the_last_live_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let old = app.student("Grace").await;
    let old_kid = kid_of(&old.access_token);
    let new_kid = rotate(&app).await;
    let lifetime = time::Duration::seconds(900 + 30);
    let lifetimes = keys::Lifetimes { access: lifetime, id_token: time::Duration::seconds(600 + 30) };
    let try_retire = |kid: String, at: time::OffsetDateTime| {
        let db = app.db.clone();
        async move {
            db.run(move |conn| {
                keys::retire(conn, &kid, at, lifetimes).map_err(|e| lectern_common::DbError::Task(e.to_string()))
            })
            .await
            .unwrap()
        }
    };
    let now = token_claims::Clock::now(&app.clock);
    let active_at = now + keys::ACTIVATION_DELAY;
    assert!(matches!(try_retire(old_kid.clone(), now).await, Err(RetireError::Current(_))), "still signing");
    assert_eq!(try_retire(new_kid.clone(), active_at + lifetime * 2).await, Err(RetireError::Current(new_kid)));
    assert!(matches!(
        try_retire(old_kid.clone(), active_at + lifetime - time::Duration::seconds(1)).await,
        Err(RetireError::StillLive { .. })
    ));
    assert_eq!(try_retire("no-such-kid".into(), now).await, Err(RetireError::NotFound("no-such-kid".into())));
    assert_eq!(try_retire(old_kid.clone(), active_at + lifetime).await, Ok(()));
    app.advance(keys::ACTIVATION_DELAY.whole_seconds());
    let kids: Vec<Value> = jwks_after_reload(&app).await;
    assert_eq!(kids.len(), 5, "the new keys, and the ID-token keys not yet retired");
    assert!(kids.iter().all(|k| k["kid"] != old_kid.as_str()));
    // A next key that never signed can be withdrawn at once.
    let withdrawn = rotate(&app).await;
    assert_eq!(try_retire(withdrawn, token_claims::Clock::now(&app.clock)).await, Ok(()));
}

async fn jwks_after_reload(app: &TestApp) -> Vec<Value> {
    let auth = app.auth.clone();
    app.db
        .run(move |conn| {
            let now = auth.clock.now();
            auth.keys.reload(conn, now).map_err(|e| lectern_common::DbError::Task(e.to_string()))
        })
        .await
        .unwrap();
    jwks(app).await["keys"].as_array().unwrap().clone()
}
