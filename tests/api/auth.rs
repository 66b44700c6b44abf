//! auth-core's JSON API: sign-up, sign-in, throttling, refresh rotation, reuse detection, the
//! grace window, session limits, logout and sessions (docs/api.md Auth, docs/security.md).

use crate::helpers::{Backend, STUDENT_PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    sign_up_creates_a_student,
    sign_up_refuses_bad_input_with_the_field_named,
    malformed_requests_get_problem_documents,
    sign_in_returns_a_token_pair,
    unknown_email_and_wrong_password_look_the_same,
    repeated_failures_are_throttled_with_retry_after,
    passwords_are_stored_as_argon2id,
    refresh_rotates_and_spends_the_old_token,
    reusing_a_spent_refresh_token_revokes_the_session,
    two_tabs_refreshing_at_once_both_stay_signed_in,
    grace_zero_turns_the_grace_off,
    grace_ends_once_the_successor_is_used,
    sessions_end_at_the_idle_limit,
    sessions_end_at_the_absolute_limit,
    logout_revokes_the_session_at_once,
    sessions_are_listed_and_can_be_ended,
    another_users_session_is_not_found,
    teachers_made_by_the_cli_carry_the_teacher_role,
    me_answers_from_a_copy_at_most_a_minute_old,
);

async fn sign_up_creates_a_student(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.signup("  Ada@Example.org ", STUDENT_PASSWORD, "Ada").await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["email"], "ada@example.org");
    assert_eq!(body["display_name"], "Ada");
    assert_eq!(body["role"], "student", "sign-up never makes a teacher");
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());

    let again = app.signup("ADA@example.org", STUDENT_PASSWORD, "Ada again").await;
    assert_eq!(again.status(), 409);
    assert_eq!(TestApp::problem(again).await["status"], 409);
}

async fn sign_up_refuses_bad_input_with_the_field_named(backend: Backend) {
    let app = spawn_app(backend).await;
    for (email, password, name, field) in [
        ("not-an-email", STUDENT_PASSWORD, "Ada", "email"),
        ("ada@example.org", "short", "Ada", "password"),
        ("ada@example.org", "password1234", "Ada", "password"),
        ("ada@example.org", &"long enough words ".repeat(8), "Ada", "password"),
        ("ada@example.org", STUDENT_PASSWORD, "   ", "display_name"),
    ] {
        let resp = app.signup(email, password, name).await;
        assert_eq!(resp.status(), 422, "{field}");
        let problem = TestApp::problem(resp).await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    // Nothing was created along the way.
    assert_eq!(app.token("ada@example.org", STUDENT_PASSWORD).await.status(), 401);
}

async fn malformed_requests_get_problem_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    let raw = |body: &'static str, content_type: &'static str| {
        app.api.post(app.url("/api/auth/signup")).header("content-type", content_type).body(body).send()
    };
    let resp = raw("{not json", "application/json").await.unwrap();
    assert_eq!(resp.status(), 400);
    TestApp::problem(resp).await;
    let resp = raw(r#"{"email":"a@b.org"}"#, "application/json").await.unwrap();
    assert_eq!(resp.status(), 422, "missing fields");
    TestApp::problem(resp).await;
    let resp = raw(r#"{"email":1,"password":2,"display_name":3}"#, "application/json").await.unwrap();
    assert_eq!(resp.status(), 422, "wrong types");
    let resp = raw("email=a", "text/plain").await.unwrap();
    assert_eq!(resp.status(), 415);
    TestApp::problem(resp).await;
    let big = json!({"email": "a@b.org", "password": "x".repeat(70 * 1024), "display_name": "A"});
    let resp = app.post_json("/api/auth/signup", None, &big).await;
    assert_eq!(resp.status(), 413);
    TestApp::problem(resp).await;
    let resp = app.get("/api/auth/nope", None).await;
    assert_eq!(resp.status(), 404);
    TestApp::problem(resp).await;
}

async fn sign_in_returns_a_token_pair(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let resp = app.token("grace@example.org", STUDENT_PASSWORD).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 14 * 24 * 3600);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh.len(), 43, "256 bits in base64url");
    let me: Value = app.get("/api/auth/me", body["access_token"].as_str()).await.json().await.unwrap();
    assert_eq!(me["email"], "grace@example.org");
    assert_eq!(me["role"], "student");
}

async fn unknown_email_and_wrong_password_look_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let wrong = app.token("grace@example.org", "wrong password entirely").await;
    let unknown = app.token("nobody@example.org", "wrong password entirely").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.headers().get("www-authenticate"), unknown.headers().get("www-authenticate"));
    assert_eq!(TestApp::problem(wrong).await, TestApp::problem(unknown).await);
}

async fn repeated_failures_are_throttled_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    for _ in 0..5 {
        assert_eq!(app.token("grace@example.org", "not the password!").await.status(), 401);
    }
    // The right password is refused too while the account is throttled.
    let resp = app.token("grace@example.org", STUDENT_PASSWORD).await;
    assert_eq!(resp.status(), 429);
    let retry: i64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    TestApp::problem(resp).await;
    app.advance(retry);
    assert_eq!(app.token("grace@example.org", STUDENT_PASSWORD).await.status(), 200);
}

async fn passwords_are_stored_as_argon2id(backend: Backend) {
    use diesel::prelude::*;
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let hash: String = app
        .db
        .run(|conn| {
            use lectern_common::schema::{password_hashes, users};
            users::table
                .inner_join(password_hashes::table)
                .filter(users::email.eq("grace@example.org"))
                .select(password_hashes::hash)
                .first(conn)
                .map_err(lectern_common::DbError::from)
        })
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(STUDENT_PASSWORD));
}

async fn refresh_rotates_and_spends_the_old_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    app.advance(60);
    let resp = app.refresh(&grace.refresh_token).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let next = body["refresh_token"].as_str().unwrap();
    assert_ne!(next, grace.refresh_token);
    assert_ne!(body["access_token"].as_str().unwrap(), grace.access_token);
    assert_eq!(app.get("/api/auth/me", body["access_token"].as_str()).await.status(), 200);
    // The successor works in turn.
    app.advance(60);
    assert_eq!(app.refresh(next).await.status(), 200);
    // Garbage is simply refused.
    assert_eq!(app.refresh("not-a-refresh-token").await.status(), 401);
    assert_eq!(app.refresh(&"A".repeat(43)).await.status(), 401);
}

async fn reusing_a_spent_refresh_token_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let first: Value = app.refresh(&grace.refresh_token).await.json().await.unwrap();
    app.advance(11); // past the 10 s grace window
    let reuse = app.refresh(&grace.refresh_token).await;
    assert_eq!(reuse.status(), 401);
    TestApp::problem(reuse).await;
    // The whole session is gone: its newest refresh token and every access token of it.
    assert_eq!(app.refresh(first["refresh_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(app.get("/api/auth/me", first["access_token"].as_str()).await.status(), 401);
    assert_eq!(app.get("/api/auth/me", Some(&grace.access_token)).await.status(), 401);
    // Signing in again opens a fresh session.
    let again = app.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    assert_eq!(app.get("/api/auth/me", Some(&again.access_token)).await.status(), 200);
}

async fn two_tabs_refreshing_at_once_both_stay_signed_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let (a, b) = tokio::join!(app.refresh(&grace.refresh_token), app.refresh(&grace.refresh_token));
    assert_eq!((a.status(), b.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["refresh_token"], b["refresh_token"], "both tabs get the same successor: no second branch");
    assert_eq!(app.get("/api/auth/me", a["access_token"].as_str()).await.status(), 200);
    assert_eq!(app.get("/api/auth/me", b["access_token"].as_str()).await.status(), 200);
    // A third presentation still inside the grace window, before the successor is used: fine.
    app.advance(9);
    let c: Value = app.refresh(&grace.refresh_token).await.json().await.unwrap();
    assert_eq!(c["refresh_token"], a["refresh_token"]);
    assert_eq!(app.refresh(a["refresh_token"].as_str().unwrap()).await.status(), 200);
}

async fn grace_zero_turns_the_grace_off(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.refresh_grace = std::time::Duration::ZERO).await;
    let grace = app.student("Grace").await;
    let first: Value = app.refresh(&grace.refresh_token).await.json().await.unwrap();
    assert_eq!(app.refresh(&grace.refresh_token).await.status(), 401);
    assert_eq!(
        app.get("/api/auth/me", first["access_token"].as_str()).await.status(),
        401,
        "reuse revoked the session"
    );
}

async fn grace_ends_once_the_successor_is_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let first: Value = app.refresh(&grace.refresh_token).await.json().await.unwrap();
    let second: Value = app.refresh(first["refresh_token"].as_str().unwrap()).await.json().await.unwrap();
    // Still inside 10 s, but the successor has been used: this is a replay, not a second tab.
    assert_eq!(app.refresh(&grace.refresh_token).await.status(), 401);
    assert_eq!(app.get("/api/auth/me", second["access_token"].as_str()).await.status(), 401);
}

async fn sessions_end_at_the_idle_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    app.advance(14 * 24 * 3600 - 60);
    let body: Value = app.refresh(&grace.refresh_token).await.json().await.unwrap();
    app.advance(14 * 24 * 3600);
    assert_eq!(app.refresh(body["refresh_token"].as_str().unwrap()).await.status(), 401);
}

async fn sessions_end_at_the_absolute_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let mut refresh = grace.refresh_token.clone();
    // Used every 13 days, the session is never idle, yet it ends at 30 days.
    for _ in 0..2 {
        app.advance(13 * 24 * 3600);
        let body: Value = app.refresh(&refresh).await.json().await.unwrap();
        refresh = body["refresh_token"].as_str().unwrap().to_owned();
    }
    app.advance(4 * 24 * 3600 + 1);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
}

async fn logout_revokes_the_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let other = app.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let resp = app.api.post(app.url("/api/auth/logout")).bearer_auth(&grace.access_token).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let after = app.get("/api/auth/me", Some(&grace.access_token)).await;
    assert_eq!(after.status(), 401);
    assert_eq!(after.headers()["www-authenticate"], r#"Bearer realm="lectern", error="invalid_token""#);
    assert_eq!(app.refresh(&grace.refresh_token).await.status(), 401);
    assert_eq!(app.get("/api/auth/me", Some(&other.access_token)).await.status(), 200, "other sessions live on");
    let anon = app.api.post(app.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert_eq!(anon.headers()["www-authenticate"], r#"Bearer realm="lectern""#);
}

async fn sessions_are_listed_and_can_be_ended(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.student("Grace").await;
    let phone = app.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let list: Value = app.get("/api/auth/sessions", Some(&laptop.access_token)).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    for key in ["id", "created_at", "last_used_at", "user_agent", "current"] {
        assert!(items[0].get(key).is_some(), "{key}");
    }
    let phone_sid = items.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let resp = app
        .api
        .delete(app.url(&format!("/api/auth/sessions/{phone_sid}")))
        .bearer_auth(&laptop.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(app.get("/api/auth/me", Some(&phone.access_token)).await.status(), 401);
    assert_eq!(app.refresh(&phone.refresh_token).await.status(), 401);
    let list: Value = app.get("/api/auth/sessions", Some(&laptop.access_token)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let bad = app
        .api
        .delete(app.url("/api/auth/sessions/not-a-uuid"))
        .bearer_auth(&laptop.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
    TestApp::problem(bad).await;
}

async fn another_users_session_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let mallory = app.student("Mallory").await;
    let list: Value = app.get("/api/auth/sessions", Some(&grace.access_token)).await.json().await.unwrap();
    let sid = list["items"][0]["id"].as_str().unwrap().to_owned();
    let resp = app
        .api
        .delete(app.url(&format!("/api/auth/sessions/{sid}")))
        .bearer_auth(&mallory.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(app.get("/api/auth/me", Some(&grace.access_token)).await.status(), 200);
}

async fn teachers_made_by_the_cli_carry_the_teacher_role(backend: Backend) {
    use base64::Engine;
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    let me: Value = app.get("/api/auth/me", Some(&ada.access_token)).await.json().await.unwrap();
    assert_eq!(me["role"], "teacher");
    let claims = ada.access_token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["role"], "teacher");
    assert_eq!(claims["name"], "Ada");
    assert_eq!(claims["aud"], json!(["lectern-courses", "lectern-grading"]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    for claim in ["iss", "sub", "nbf", "jti", "sid"] {
        assert!(claims.get(claim).is_some(), "{claim}");
    }
    assert_eq!(app.token("ada@example.org", crate::helpers::TEACHER_PASSWORD).await.status(), 200);
}

async fn me_answers_from_a_copy_at_most_a_minute_old(backend: Backend) {
    use diesel::prelude::*;
    use lectern_common::schema::users;
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let me: Value = app.get("/api/auth/me", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Grace");
    // Lectern never edits an account, but an operator might, straight in the database.
    app.db
        .run(|c| {
            diesel::update(users::table.filter(users::email.eq("grace@example.org")))
                .set(users::display_name.eq("Grace H."))
                .execute(c)
                .map_err(lectern_common::DbError::from)
        })
        .await
        .unwrap();
    let me: Value = app.get("/api/auth/me", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Grace", "served from the copy");
    app.advance(61);
    let me: Value = app.get("/api/auth/me", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Grace H.", "the copy lives at most a minute");
}
