//! auth-core's pages as a browser uses them: cookies and CSRF as docs/security.md says, the
//! transparent refresh, "your token", sessions, and the security headers on every page.

use crate::helpers::{
    Backend, Browser, STUDENT_PASSWORD, location, set_cookies, sign_out_token, spawn_app, spawn_app_with,
};
use crate::on_both_backends;

on_both_backends!(
    signing_in_sets_the_cookies_security_md_describes,
    cookies_are_secure_behind_https,
    forms_without_their_token_or_from_elsewhere_change_nothing,
    anonymous_visitors_are_sent_to_sign_in,
    an_expired_access_cookie_is_refreshed_transparently,
    your_token_page_explains_the_token,
    sign_up_page_creates_an_account_and_signs_in,
    sessions_page_lists_and_ends_sessions,
    sign_out_revokes_and_clears_cookies,
    pages_carry_the_security_headers,
    probes_and_the_root_redirect,
);

async fn signing_in_sets_the_cookies_security_md_describes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    let (html, token) = browser.page("/auth/sign-in?next=/auth/sessions").await;
    assert!(html.contains("value=\"/auth/sessions\""), "next is kept");
    assert!(!token.is_empty());
    let resp = browser
        .post_form(
            "/auth/sign-in",
            &[
                ("csrf_token", &token),
                ("email", "grace@example.org"),
                ("password", STUDENT_PASSWORD),
                ("next", "/auth/sessions"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/sessions");
    let cookies = set_cookies(&resp);
    let at = cookies.iter().find(|c| c.0 == "lectern_at").expect("access cookie");
    assert!(
        at.2.contains("httponly")
            && at.2.contains("samesite=lax")
            && at.2.contains("path=/")
            && !at.2.contains("secure"),
        "{}",
        at.2
    );
    let rt = cookies.iter().find(|c| c.0 == "lectern_rt").expect("refresh cookie");
    assert!(rt.2.contains("httponly") && rt.2.contains("samesite=strict") && rt.2.contains("path=/auth"), "{}", rt.2);
    // An open redirect through `next` is not possible.
    let (_, token) = browser.page("/auth/sign-in").await;
    let resp = browser
        .post_form(
            "/auth/sign-in",
            &[
                ("csrf_token", &token),
                ("email", "grace@example.org"),
                ("password", STUDENT_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&resp), "/home");
}

async fn cookies_are_secure_behind_https(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.public_url = "https://lectern.example".into()).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    let (_, token) = browser.page("/auth/sign-in").await;
    let resp = browser
        .post_form(
            "/auth/sign-in",
            &[("csrf_token", &token), ("email", "grace@example.org"), ("password", STUDENT_PASSWORD)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    for (name, _, attrs) in set_cookies(&resp) {
        assert!(attrs.contains("secure"), "{name}: {attrs}");
    }
}

async fn forms_without_their_token_or_from_elsewhere_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    let (_, pre_token) = browser.page("/auth/sign-in").await;
    // Sign-in without the token, with a wrong one, and from another origin: no session.
    for (token, origin) in
        [("", app.address.as_str()), ("forged", app.address.as_str()), (pre_token.as_str(), "http://evil.example")]
    {
        browser.origin = origin.to_owned();
        let resp = browser
            .post_form(
                "/auth/sign-in",
                &[("csrf_token", token), ("email", "grace@example.org"), ("password", STUDENT_PASSWORD)],
            )
            .await;
        assert_eq!(resp.status(), 403, "token {token:?} origin {origin}");
        assert!(set_cookies(&resp).iter().all(|c| c.0 != "lectern_at"));
    }
    browser.origin = app.address.clone();
    browser.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let (html, _) = browser.page("/auth/sessions").await;
    let token = sign_out_token(&html);
    // Sign-out without the session's token, or from elsewhere, leaves the session signed in.
    let resp = browser.post_form("/auth/sign-out", &[("csrf_token", &pre_token)]).await;
    assert_eq!(resp.status(), 403);
    browser.origin = "http://evil.example".into();
    let resp = browser.post_form("/auth/sign-out", &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), 403);
    browser.origin = app.address.clone();
    assert_eq!(browser.get("/auth/token").await.status(), 200, "still signed in");
}

async fn anonymous_visitors_are_sent_to_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut browser = Browser::new(&app);
    let resp = browser.get("/auth/token").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/sign-in?next=%2Fauth%2Ftoken");
    let resp = browser.get("/auth/sessions?x=1").await;
    assert_eq!(location(&resp), "/auth/sign-in?next=%2Fauth%2Fsessions%3Fx%3D1");
}

async fn an_expired_access_cookie_is_refreshed_transparently(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let first_at = browser.cookies["lectern_at"].0.clone();
    app.advance(931);
    let resp = browser.get("/auth/token").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/refresh?next=%2Fauth%2Ftoken");
    let resp = browser.get("/auth/refresh?next=%2Fauth%2Ftoken").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/token");
    assert_ne!(browser.cookies["lectern_at"].0, first_at, "a fresh access cookie");
    assert_eq!(browser.get("/auth/token").await.status(), 200);
    // A posted form whose cookie expired is kept: 307 to the refresh, 307 back.
    app.advance(931);
    let (_, token) = (String::new(), String::new());
    let resp = browser.post_form("/auth/sign-out", &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), 307);
    assert_eq!(location(&resp), "/auth/refresh?next=%2Fauth%2Fsign-out");
    // Without a refresh cookie the refresh ends at the sign-in page.
    browser.cookies.remove("lectern_rt");
    let resp = browser.get("/auth/refresh?next=%2Fauth%2Ftoken").await;
    assert_eq!(location(&resp), "/auth/sign-in?next=%2Fauth%2Ftoken");
}

async fn your_token_page_explains_the_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let (html, _) = browser.page("/auth/token").await;
    for expected in [
        "&#34;at+jwt&#34;",
        "&#34;EdDSA&#34;",
        "Grace",
        "lectern-courses",
        "Anyone holding it can read it",
        "Nobody can change it unnoticed",
        "<code>sid</code>",
    ] {
        assert!(html.contains(expected), "{expected}");
    }
}

async fn sign_up_page_creates_an_account_and_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut browser = Browser::new(&app);
    let (_, token) = browser.page("/auth/sign-up").await;
    let resp = browser
        .post_form(
            "/auth/sign-up",
            &[("csrf_token", &token), ("email", "x@example.org"), ("password", "password1234"), ("display_name", "X")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("password"));
    let resp = browser
        .post_form(
            "/auth/sign-up",
            &[
                ("csrf_token", &token),
                ("email", "eve@example.org"),
                ("password", STUDENT_PASSWORD),
                ("display_name", "<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (html, _) = browser.page("/auth/token").await;
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "names are escaped");
    assert!(!html.contains("<script>alert(1)</script>"));
}

async fn sessions_page_lists_and_ends_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = app.student("Grace").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let (html, token) = browser.page("/auth/sessions").await;
    assert!(html.contains("this browser"));
    let list: serde_json::Value = app.get("/api/auth/sessions", Some(&phone.access_token)).await.json().await.unwrap();
    let phone_sid = list["items"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(html.contains(&phone_sid));
    let resp = browser.post_form(&format!("/auth/sessions/{phone_sid}/end"), &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/sessions?ended=1");
    assert_eq!(app.get("/api/auth/me", Some(&phone.access_token)).await.status(), 401);
    assert_eq!(browser.get("/auth/sessions?ended=1").await.status(), 200);
}

async fn sign_out_revokes_and_clears_cookies(backend: Backend) {
    let app = spawn_app(backend).await;
    app.student("Grace").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let access = browser.cookies["lectern_at"].0.clone();
    let (html, _) = browser.page("/auth/token").await;
    let resp = browser.post_form("/auth/sign-out", &[("csrf_token", &sign_out_token(&html))]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/sign-in");
    assert!(!browser.cookies.contains_key("lectern_at") && !browser.cookies.contains_key("lectern_rt"));
    assert_eq!(app.get("/api/auth/me", Some(&access)).await.status(), 401, "the session's token is dead");
}

async fn pages_carry_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut browser = Browser::new(&app);
    for path in ["/auth/sign-in", "/auth/sign-up", "/auth/token", "/api/auth/me", "/nowhere"] {
        let resp = browser.get(path).await;
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert!(h.contains_key("x-request-id"));
    }
    let css = browser.get("/assets/lectern.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}

async fn probes_and_the_root_redirect(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    let root = app.get("/", None).await;
    assert_eq!(root.status(), 303);
    assert_eq!(location(&root), "/home");
}
