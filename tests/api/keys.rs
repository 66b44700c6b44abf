//! The key ring: the JWKS publishes every live key and no private material; rotation changes the
//! signing key without breaking old tokens; a key is retired only once no live token can carry it.

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_backends;
use auth_core::keys::{self, RetireError};
use serde_json::Value;

on_both_backends!(
    jwks_lists_public_keys_only,
    rotation_keeps_old_tokens_working,
    retiring_waits_for_the_last_live_token,
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

async fn jwks_lists_public_keys_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let set = jwks(&app).await;
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"].as_str().unwrap(), kid_of(&grace.access_token));
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(key.get(private).is_none(), "private member {private} published");
    }
    // The kid is the RFC 7638 thumbprint of the key.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    assert_eq!(token_claims::jwk_thumbprint(&jwk).unwrap(), key["kid"].as_str().unwrap());
}

async fn rotate(app: &TestApp) -> String {
    let (auth, now) = (app.auth.clone(), token_claims::Clock::now(&app.clock));
    app.db
        .run(move |conn| {
            let kid = lectern_common::db::write_tx(conn, |c| keys::generate(c, now))
                .map_err(|e| lectern_common::DbError::Task(e.to_string()))?;
            // What the once-a-second reload does in a running server.
            auth.keys.reload(conn).map_err(|e| lectern_common::DbError::Task(e.to_string()))?;
            Ok::<_, lectern_common::DbError>(kid)
        })
        .await
        .unwrap()
}

async fn rotation_keeps_old_tokens_working(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.student("Grace").await;
    let old_kid = kid_of(&before.access_token);
    let new_kid = rotate(&app).await;
    assert_ne!(old_kid, new_kid);
    let after = app.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await;
    assert_eq!(kid_of(&after.access_token), new_kid, "new tokens carry the new kid");
    assert_eq!(app.get("/api/auth/me", Some(&after.access_token)).await.status(), 200);
    assert_eq!(app.get("/api/auth/me", Some(&before.access_token)).await.status(), 200, "old tokens keep working");
    let kids: Vec<String> =
        jwks(&app).await["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect();
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{kids:?}");
}

async fn retiring_waits_for_the_last_live_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let old = app.student("Grace").await;
    let old_kid = kid_of(&old.access_token);
    let new_kid = rotate(&app).await;
    let lifetime = time::Duration::seconds(900 + 30);
    let try_retire = |kid: String, at: time::OffsetDateTime| {
        let db = app.db.clone();
        async move {
            db.run(move |conn| {
                keys::retire(conn, &kid, at, lifetime).map_err(|e| lectern_common::DbError::Task(e.to_string()))
            })
            .await
            .unwrap()
        }
    };
    let created = keys::list(&mut app.db.get().unwrap(), lifetime).unwrap();
    let rotated_at = created.last().unwrap().created_at;
    assert_eq!(try_retire(new_kid.clone(), rotated_at + lifetime * 2).await, Err(RetireError::Current(new_kid)));
    assert!(matches!(
        try_retire(old_kid.clone(), rotated_at + lifetime - time::Duration::seconds(1)).await,
        Err(RetireError::StillLive { .. })
    ));
    assert_eq!(try_retire("no-such-kid".into(), rotated_at).await, Err(RetireError::NotFound("no-such-kid".into())));
    assert_eq!(try_retire(old_kid.clone(), rotated_at + lifetime).await, Ok(()));
    let kids: Vec<Value> = jwks_after_reload(&app).await;
    assert_eq!(kids.len(), 1);
    assert!(kids.iter().all(|k| k["kid"] != old_kid.as_str()));
}

async fn jwks_after_reload(app: &TestApp) -> Vec<Value> {
    let auth = app.auth.clone();
    app.db
        .run(move |conn| auth.keys.reload(conn).map_err(|e| lectern_common::DbError::Task(e.to_string())))
        .await
        .unwrap();
    jwks(app).await["keys"].as_array().unwrap().clone()
}
