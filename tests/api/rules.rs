//! Rules of docs/security.md that no journey pins on its own: cookie-authenticated API calls from
//! other origins, what the database keeps of refresh tokens, bounded and equal sign-in work, the
//! throttled pages, cookie and header attributes, and the split shape's key-set health.

use crate::helpers::{Backend, Browser, STUDENT_PASSWORD, TestDb, csrf_token, set_cookies, spawn_app, spawn_service};
use crate::on_both_backends;
use lectern::startup::ServiceSet;
use serde_json::{Value, json};

on_both_backends!(
    cookie_authenticated_unsafe_api_calls_must_come_from_this_origin,
    only_a_hash_of_each_refresh_token_is_stored,
);

async fn cookie_authenticated_unsafe_api_calls_must_come_from_this_origin(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    let cookie = format!("lectern_at={}", ada.access_token);
    let create = |origin: Option<&'static str>, title: &'static str| {
        let mut req = app
            .api
            .post(app.url("/api/courses"))
            .header("cookie", cookie.clone())
            .json(&json!({"title": title, "summary": "", "published": false}));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };
    let refused = create(Some("http://evil.example"), "Forged").await.unwrap();
    assert_eq!(refused.status(), 403);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["detail"], "cross-site request refused");
    let own_origin: &'static str = Box::leak(app.address.clone().into_boxed_str());
    assert_eq!(create(Some(own_origin), "Own").await.unwrap().status(), 201, "from our own pages");
    // Neither Origin nor Referer (old clients, some proxies): the cookie alone is accepted.
    assert_eq!(create(None, "Bare").await.unwrap().status(), 201);
    // The bearer header is not something a browser sends on its own: no origin check.
    let resp = app
        .api
        .post(app.url("/api/courses"))
        .bearer_auth(&ada.access_token)
        .header("origin", "http://evil.example")
        .json(&json!({"title": "Bearer", "summary": "", "published": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let titles: Vec<String> =
        app.get("/api/courses", Some(&ada.access_token)).await.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap().to_owned())
            .collect();
    assert!(!titles.contains(&"Forged".to_owned()), "{titles:?}");
}

async fn only_a_hash_of_each_refresh_token_is_stored(backend: Backend) {
    use diesel::prelude::*;
    use lectern_common::schema::refresh_tokens;
    let app = spawn_app(backend).await;
    let grace = app.student("Grace").await;
    let refreshed: Value = app.refresh(&grace.refresh_token).await.json().await.unwrap();
    let current = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let stored: Vec<String> = app
        .db
        .run(|c| {
            refresh_tokens::table.select(refresh_tokens::token_hash).load(c).map_err(lectern_common::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "the spent token and its successor");
    for token in [&grace.refresh_token, &current] {
        assert!(!stored.contains(token), "a refresh token in clear");
        assert!(stored.contains(&auth_core::service::refresh_token_hash(token)), "its SHA-256 is kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_work_is_bounded_and_the_same_for_unknown_emails() {
    let app = spawn_app(Backend::Sqlite).await;
    app.student("Grace").await;
    let hasher = &app.auth.hasher;
    let before = hasher.verifications();
    assert_eq!(app.token("grace@example.org", "wrong password entirely").await.status(), 401);
    assert_eq!(hasher.verifications(), before + 1, "a known account costs one verification");
    assert_eq!(app.token("nobody@example.org", "wrong password entirely").await.status(), 401);
    assert_eq!(hasher.verifications(), before + 2, "an unknown email costs one verification too");
    // A megabyte-sized password is cut before hashing: the right password plus anything is refused,
    // and the work is one verification of at most 129 characters.
    let huge = format!("{STUDENT_PASSWORD}{}", "x".repeat(60_000));
    assert_eq!(app.token("grace@example.org", &huge).await.status(), 401);
    assert_eq!(hasher.verifications(), before + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_and_sign_up_pages_say_when_to_try_again() {
    let app = spawn_app(Backend::Sqlite).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    let mut last = None;
    for _ in 0..6 {
        let (html, _) = browser.page("/auth/sign-in").await;
        let token = csrf_token(&html);
        let resp = browser
            .post_form(
                "/auth/sign-in",
                &[("csrf_token", &token), ("email", "grace@example.org"), ("password", "wrong")],
            )
            .await;
        last = Some((resp.status().as_u16(), resp.headers().get("retry-after").cloned()));
    }
    let (status, retry) = last.take().unwrap();
    assert_eq!(status, 429);
    assert!(retry.is_some_and(|r| r.to_str().unwrap().parse::<u64>().unwrap() > 0), "Retry-After on the page");
    for i in 0..21 {
        let (html, _) = browser.page("/auth/sign-up").await;
        let token = csrf_token(&html);
        let email = format!("new{i}@example.org");
        let resp = browser
            .post_form(
                "/auth/sign-up",
                &[("csrf_token", &token), ("email", &email), ("password", "short"), ("display_name", "N")],
            )
            .await;
        last = Some((resp.status().as_u16(), resp.headers().get("retry-after").cloned()));
    }
    let (status, retry) = last.take().unwrap();
    assert_eq!(status, 429, "the 21st sign-up from one address in an hour");
    assert!(retry.is_some(), "Retry-After on the sign-up page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_lifetimes_and_page_headers_are_as_documented() {
    let app = spawn_app(Backend::Sqlite).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    let resp = browser.get("/auth/sign-in").await;
    let pre = set_cookies(&resp).into_iter().find(|c| c.0 == "lectern_pre").expect("pre-session cookie");
    assert!(pre.2.contains("httponly") && pre.2.contains("samesite=strict") && pre.2.contains("path=/auth"), "{pre:?}");
    assert!(!pre.2.contains("max-age") && !pre.2.contains("secure"), "a browser-session cookie over http: {pre:?}");
    let html = resp.text().await.unwrap();
    let resp = browser
        .post_form(
            "/auth/sign-in",
            &[("csrf_token", &csrf_token(&html)), ("email", "grace@example.org"), ("password", STUDENT_PASSWORD)],
        )
        .await;
    let cookies = set_cookies(&resp);
    for name in ["lectern_at", "lectern_rt"] {
        let cookie = cookies.iter().find(|c| c.0 == name).unwrap();
        // As long as the session can be refreshed: the idle limit, 14 days, on a fresh session.
        assert!(cookie.2.contains("max-age=1209600"), "{name}: {}", cookie.2);
    }
    for path in ["/courses", "/auth/sessions", "/grading/me/grades", "/nowhere"] {
        let resp = browser.get(path).await;
        let headers = resp.headers();
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["permissions-policy"], "camera=(), microphone=(), geolocation=()", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}: pages carry names, grades and form tokens");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_service_is_ready_only_with_keys_and_says_when_they_are_stale() {
    let app = spawn_app(Backend::Sqlite).await;
    // No auth-core where it looks: never had keys, so not ready.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let keyless =
        spawn_service(TestDb::reuse(&app), ServiceSet::Grading, |c| c.auth_url = Some(format!("http://{dead}"))).await;
    let ready = crate::helpers::poll_json(&keyless.url("/readyz"), |(status, body)| {
        *status == 503 && body["jwks"]["status"] == "unavailable"
    })
    .await;
    assert_eq!(ready.1["status"], "unavailable");
    // With auth-core there: ready; once it is gone and a fetch fails, still ready, but stale.
    let auth = spawn_service(TestDb::reuse(&app), ServiceSet::Auth, |_| {}).await;
    let grading =
        spawn_service(TestDb::reuse(&app), ServiceSet::Grading, |c| c.auth_url = Some(auth.address.clone())).await;
    crate::helpers::poll_json(&grading.url("/readyz"), |(status, body)| *status == 200 && body["jwks"] == "ok").await;
    auth.stop().await;
    // A token with a kid nobody knows makes the grading process try auth-core at once.
    let unknown_kid = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6Im5vYm9keSJ9.e30.AAAA";
    let refused = app.api.get(grading.url("/api/grading/me/grades")).bearer_auth(unknown_kid).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let (status, body) =
        crate::helpers::poll_json(&grading.url("/readyz"), |(_, body)| body["jwks"]["status"] == "stale").await;
    assert_eq!(status, 200, "serving with the cached keys: {body}");
    assert!(body["jwks"]["warning"].as_str().unwrap().contains("cached keys"));
}
