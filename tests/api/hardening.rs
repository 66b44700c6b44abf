//! What an outside review and a black-box attack found, each pinned by a test that fails without
//! its fix: throttling under concurrency, redirects through `next`, cross-site sign-out, sign-up
//! automation.

use crate::helpers::{Backend, Browser, STUDENT_PASSWORD, TestApp, spawn_app};
use crate::on_both_backends;
use futures_util::future::join_all;
use serde_json::json;

on_both_backends!(
    parallel_guesses_at_one_account_get_five_password_checks,
    parallel_guesses_from_sixty_addresses_get_five_password_checks,
    parallel_guesses_at_fifty_accounts_from_one_address_get_twenty_checks,
    sign_ups_are_throttled_per_address,
);

/// A client whose connections come from `127.0.0.N` (Linux routes all of 127/8 to loopback).
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, n]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts wrong passwords in parallel, one per (client, email); returns the statuses.
async fn guesses(app: &TestApp, attempts: Vec<(reqwest::Client, String)>) -> Vec<u16> {
    let url = app.url("/api/auth/token");
    let sent = attempts.into_iter().map(|(client, email)| {
        let url = url.clone();
        async move {
            let resp = client
                .post(url)
                .json(&json!({"email": email, "password": "not the password at all"}))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }
    });
    join_all(sent).await
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn parallel_guesses_at_one_account_get_five_password_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Ada").await;
    let client = client_from(1);
    let statuses = guesses(&app, (0..60).map(|_| (client.clone(), "ada@example.org".to_owned())).collect()).await;
    assert_eq!(count(&statuses, 401), 5, "passwords checked: {statuses:?}");
    assert_eq!(count(&statuses, 429), 55, "{statuses:?}");
    assert_eq!(app.token("ada@example.org", STUDENT_PASSWORD).await.status(), 429, "the right password waits too");
}

async fn parallel_guesses_from_sixty_addresses_get_five_password_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Ada").await;
    let attempts = (0..60u8).map(|i| (client_from(10 + i), "ada@example.org".to_owned())).collect();
    let statuses = guesses(&app, attempts).await;
    assert_eq!(count(&statuses, 401), 5, "passwords checked: {statuses:?}");
    assert_eq!(count(&statuses, 429), 55, "{statuses:?}");
}

async fn parallel_guesses_at_fifty_accounts_from_one_address_get_twenty_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client_from(2);
    let attempts = (0..50).map(|i| (client.clone(), format!("user{i}@example.org"))).collect();
    let statuses = guesses(&app, attempts).await;
    assert_eq!(count(&statuses, 401), 20, "passwords checked: {statuses:?}");
    assert_eq!(count(&statuses, 429), 30, "{statuses:?}");
    let other = client_from(3);
    let resp = other.post(app.url("/api/auth/token")).json(&json!({"email": "x@example.org", "password": "y"}));
    assert_eq!(resp.send().await.unwrap().status(), 401, "another address is not held back");
}

async fn sign_ups_are_throttled_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client_from(4);
    let url = app.url("/api/auth/signup");
    // Half of them ask for an email that is taken: the 409s count like everything else.
    app.student("Taken").await;
    let sent = (0..25).map(|i| {
        let (client, url) = (client.clone(), url.clone());
        let email = if i % 2 == 0 { format!("new{i}@example.org") } else { "taken@example.org".to_owned() };
        async move {
            let resp = client
                .post(url)
                .json(&json!({"email": email, "password": STUDENT_PASSWORD, "display_name": "N"}))
                .send()
                .await
                .unwrap();
            let retry_after = resp.headers().get("retry-after").is_some();
            (resp.status().as_u16(), retry_after)
        }
    });
    let replies = join_all(sent).await;
    let statuses: Vec<u16> = replies.iter().map(|(s, _)| *s).collect();
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");
    assert_eq!(count(&statuses, 201) + count(&statuses, 409), 20, "{statuses:?}");
    assert!(replies.iter().filter(|(s, _)| *s == 429).all(|(_, retry)| *retry), "429 says when to come back");
    let other = client_from(5);
    let resp = other
        .post(&url)
        .json(&json!({"email": "elsewhere@example.org", "password": STUDENT_PASSWORD, "display_name": "E"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "another address may still sign up");
    app.advance(3600);
    let resp = client
        .post(&url)
        .json(&json!({"email": "later@example.org", "password": STUDENT_PASSWORD, "display_name": "L"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "the window passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_with_whitespace_or_control_characters_stays_on_this_site() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut browser = Browser::new(&app);
    app.student("Ada").await;
    browser.sign_in("ada@example.org", STUDENT_PASSWORD).await;
    for evil in ["/%09/other.host/", "/%0a/other.host/", "/%20/other.host/", "/%5c/other.host/", "//other.host/"] {
        let resp = browser.get(&format!("/auth/refresh?next={evil}")).await;
        assert_eq!(resp.status(), 303, "{evil}");
        assert_eq!(resp.headers()["location"], "/home", "{evil}");
        let (html, _) = browser.page(&format!("/auth/sign-in?next={evil}")).await;
        assert!(html.contains(r#"name="next" value="/home""#), "{evil}: the form keeps only a safe next");
    }
    let resp = browser.get("/auth/refresh?next=/courses%3Fq%3Dx").await;
    assert_eq!(resp.headers()["location"], "/courses?q=x", "a real path is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_navigation_without_the_refresh_cookie_deletes_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut browser = Browser::new(&app);
    app.student("Ada").await;
    browser.sign_in("ada@example.org", STUDENT_PASSWORD).await;
    let access = browser.cookies["lectern_at"].0.clone();
    // What another site's link delivers: the Lax access cookie, never the Strict refresh cookie.
    let resp = app
        .api
        .get(app.url("/auth/refresh?next=/courses"))
        .header("cookie", format!("lectern_at={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(resp.headers()["location"].to_str().unwrap().starts_with("/auth/sign-in"));
    assert!(resp.headers().get("set-cookie").is_none(), "no cookie is deleted: {:?}", resp.headers());
    assert_eq!(app.get("/api/auth/me", Some(&access)).await.status(), 200, "still signed in");
    // A refresh cookie that is not valid (spent, forged) is cleared, with the access cookie.
    let resp = app
        .api
        .get(app.url("/auth/refresh?next=/courses"))
        .header("cookie", format!("lectern_at={access}; lectern_rt=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    let cleared: Vec<String> = crate::helpers::set_cookies(&resp)
        .into_iter()
        .filter(|(_, v, a)| v.is_empty() && a.contains("max-age=0"))
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(cleared, ["lectern_at", "lectern_rt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_carry_host_and_secure_prefixes_and_hsts_is_sent() {
    let app =
        crate::helpers::spawn_app_with(Backend::Sqlite, |c| c.public_url = "https://lectern.example".into()).await;
    app.student("Ada").await;
    let mut browser = Browser::new(&app);
    let resp = browser.get("/auth/sign-in").await;
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let pre = crate::helpers::set_cookies(&resp);
    assert_eq!(pre[0].0, "__Secure-lectern_pre");
    assert!(pre[0].2.contains("secure") && pre[0].2.contains("path=/auth"), "{pre:?}");
    let html = resp.text().await.unwrap();
    let token = crate::helpers::csrf_token(&html);
    let resp = browser
        .post_form(
            "/auth/sign-in",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.org"),
                ("password", STUDENT_PASSWORD),
                ("next", "/courses"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let cookies = crate::helpers::set_cookies(&resp);
    let access = cookies.iter().find(|c| c.0 == "__Host-lectern_at").expect("__Host- access cookie");
    assert!(access.2.contains("secure") && access.2.contains("path=/") && !access.2.contains("domain"), "{access:?}");
    let refresh = cookies.iter().find(|c| c.0 == "__Secure-lectern_rt").expect("__Secure- refresh cookie");
    assert!(refresh.2.contains("secure") && refresh.2.contains("path=/auth"), "{refresh:?}");
    let page = browser.get("/courses").await;
    assert_eq!(page.status(), 200, "signed in through the prefixed cookie");
    assert_eq!(page.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    // The unprefixed name means nothing over https: a cookie planted by a sibling host or over http.
    let planted =
        app.api.get(app.url("/courses")).header("cookie", format!("lectern_at={}", access.1)).send().await.unwrap();
    assert_eq!(planted.status(), 303, "an unprefixed access cookie is not read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_there_is_no_hsts() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.get("/auth/sign-in", None).await;
    assert!(resp.headers().get("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_forms_take_auth_tokens_and_the_sign_out_button_works_from_every_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let grace = app.student("Grace").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    // A course page's own form token (the services' key) does not end a session: auth-core's forms
    // are signed with a key only auth-core holds.
    let (course_page, _) = browser.page("/courses").await;
    let search_or_other = crate::helpers::sign_out_token(&course_page);
    assert!(!search_or_other.is_empty());
    let list: serde_json::Value = app.get("/api/auth/sessions", Some(&grace.access_token)).await.json().await.unwrap();
    let other_sid = list["items"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = browser.post_form(&format!("/auth/sessions/{other_sid}/end"), &[("csrf_token", &search_or_other)]).await;
    assert_eq!(resp.status(), 403, "a services-key token on an auth form");
    assert_eq!(app.get("/api/auth/me", Some(&grace.access_token)).await.status(), 200);
    let (sessions_page, auth_token) = browser.page("/auth/sessions").await;
    assert_ne!(auth_token, crate::helpers::sign_out_token(&sessions_page), "two keys, two tokens");
    // The sign-out button a course page rendered signs out.
    let resp = browser.post_form("/auth/sign-out", &[("csrf_token", &search_or_other)]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(crate::helpers::location(&resp), "/auth/sign-in");
    assert!(!browser.cookies.contains_key("lectern_at"));
}
