//! Operability: Prometheus metrics, readiness details, and the CLI verbs an operator uses.

use crate::helpers::{Backend, STUDENT_PASSWORD, TestDb, spawn_app, spawn_on};
use crate::on_both_backends;
use serde_json::Value;
use std::process::Command;

on_both_backends!(metrics_count_requests_rejections_and_sign_ins, cli_inspects_tokens_and_lists_keys);

async fn metrics_count_requests_rejections_and_sign_ins(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    assert_eq!(app.token("grace@example.org", "wrong password here").await.status(), 401);
    assert_eq!(app.get("/api/auth/me", Some("not.a.token")).await.status(), 401);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    for expected in [
        r#"lectern_sign_ins_total{outcome="success"} 1"#,
        r#"lectern_sign_ins_total{outcome="failure"} 1"#,
        r#"lectern_token_rejections_total{reason="malformed"} 1"#,
        r#"endpoint="/api/auth/me""#,
        "lectern_http_requests_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(expected), "{expected} missing from\n{metrics}");
    }
    assert!(!metrics.contains("not.a.token"), "paths and tokens never become labels");
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["jwks"], "local key ring");
}

async fn cli_inspects_tokens_and_lists_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let lectern = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(args)
            .env("LECTERN_DATABASE_URL", &app.config.database_url)
            .env("LECTERN_KEY_ENCRYPTION_KEY_FILE", app.config.key_encryption_key_file.as_ref().unwrap())
            .env("LECTERN_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = lectern(&["token", "inspect", &grace.access_token]);
    assert!(ok, "{out}");
    assert!(out.contains("\"typ\": \"at+jwt\"") && out.contains("\"role\": \"student\""), "{out}");
    // The test clock is fixed in the past, so the real clock of the CLI finds the token expired.
    assert!(out.contains("NOT valid here: expired"), "{out}");
    let (ok, out) = lectern(&["keys", "list"]);
    assert!(ok && out.contains("current (signs new tokens)"), "{out}");
    let (ok, out) = lectern(&["keys", "rotate"]);
    assert!(ok && out.starts_with("published the next keys"), "{out}");
    let new_kid = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("access"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .unwrap()
        .to_owned();
    let (ok, out) = lectern(&["keys", "list"]);
    assert!(ok && out.contains("current (signs new tokens)") && out.contains("next (published; signs from"), "{out}");
    let (ok, out) = lectern(&["keys", "activate", &new_kid]);
    assert!(ok && out.contains("warning:") && out.contains("signs new tokens now"), "{out}");
    let (ok, out) = lectern(&["keys", "list"]);
    assert!(ok && out.contains("previous (tokens live until"), "{out}");
    let old_kid = out.lines().find(|l| l.contains(" access ")).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(out.lines().filter(|l| l.contains(" id_token ")).count() == 4, "ID-token keys are listed too: {out}");
    // Tokens of the old key may still be live for 15 minutes and 30 seconds: not yet.
    let (ok, out) = lectern(&["keys", "retire", &old_kid]);
    assert!(!ok && out.contains("may be live until"), "{out}");
    let (ok, out) = lectern(&["keys", "retire", "no-such-kid"]);
    assert!(!ok && out.contains("no key has kid"), "{out}");
    // A second process on the same database sees the rotation too.
    let second = spawn_on(TestDb::reuse(&app), |_| {}).await;
    let jwks: Value = second.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 6, "old and new keys of every kind stay published");
    assert_eq!(second.token("grace@example.org", STUDENT_PASSWORD).await.status(), 200);
}
