//! Times people can read (docs/api.md, "Time zones"): each account's zone, set on the account
//! page; pages show times in it inside `<time datetime>` elements; forms read due dates and
//! extensions in it (a skipped local time refused, a repeated one the earlier); the API stays UTC.

use crate::helpers::{Backend, Browser, Cast, STUDENT_PASSWORD, TEACHER_PASSWORD, csrf_token, location};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    the_account_page_sets_the_time_zone,
    pages_show_times_in_the_readers_zone,
    due_dates_typed_in_a_zone_are_stored_in_utc,
);

/// Signs in through the form and sets the account's zone on the account page.
async fn set_zone(browser: &mut Browser<'_>, zone: &str) {
    let (html, _) = browser.page("/auth/sessions").await;
    let token = form_token(&html, "/auth/account/time-zone");
    let resp = browser.post_form("/auth/account/time-zone", &[("csrf_token", &token), ("time_zone", zone)]).await;
    assert_eq!(resp.status(), 303, "setting {zone}");
    assert_eq!(location(&resp), "/auth/sessions?zone=1");
}

/// The CSRF token of the form posting to `action`.
fn form_token(html: &str, action: &str) -> String {
    let form = html.split(&format!("action=\"{action}\"")).nth(1).expect("the form");
    form.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

/// The value of the hidden `time_zone` field of the form posting to `action`.
fn form_zone(html: &str, action: &str) -> String {
    let form = html.split(&format!("action=\"{action}\"")).nth(1).expect("the form");
    form.split("name=\"time_zone\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

async fn the_account_page_sets_the_time_zone(backend: Backend) {
    let cast = Cast::new(backend).await;
    let mut browser = Browser::new(&cast.app);
    browser.sign_in("ada@example.org", TEACHER_PASSWORD).await;
    let (html, _) = browser.page("/auth/sessions").await;
    assert!(html.contains("<option value=\"UTC\" selected>UTC</option>"), "UTC until chosen");
    assert!(html.contains("<option value=\"Asia/Kolkata\">"), "every IANA zone is offered");
    // The session started at the start time, shown in UTC.
    assert!(html.contains("<time datetime=\"2026-11-28T09:00:00Z\">Sat 28 Nov 2026, 09:00 UTC</time>"), "{html}");

    set_zone(&mut browser, "Europe/Paris").await;
    let (html, _) = browser.page("/auth/sessions?zone=1").await;
    assert!(html.contains("<option value=\"Europe/Paris\" selected>Europe/Paris</option>"));
    assert!(html.contains("Your time zone is saved"));
    assert!(html.contains("<time datetime=\"2026-11-28T09:00:00Z\">Sat 28 Nov 2026, 10:00 CET</time>"), "{html}");

    // An unknown zone, an empty one, a hostile one: the form again with its error, nothing saved.
    for bad in ["Mars/Olympus_Mons", "", "Europe/Paris<script>", &"A".repeat(5000)] {
        let token = form_token(&html, "/auth/account/time-zone");
        let resp = browser.post_form("/auth/account/time-zone", &[("csrf_token", &token), ("time_zone", bad)]).await;
        assert_eq!(resp.status(), 422, "{bad:?}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = resp.text().await.unwrap();
        assert!(page.contains("Choose a time zone from the list") && page.contains("aria-invalid=\"true\""), "{page}");
        assert!(page.contains("<option value=\"Europe/Paris\" selected>"), "the saved zone stays");
        assert!(!page.contains("<script>"), "nothing posted is echoed unescaped");
    }
    // Without the form's token nothing changes.
    let resp = browser.post_form("/auth/account/time-zone", &[("time_zone", "Asia/Tokyo")]).await;
    assert_eq!(resp.status(), 403);
    let (html, _) = browser.page("/auth/sessions").await;
    assert!(html.contains("<option value=\"Europe/Paris\" selected>"));
    // Names are matched without regard to case and saved as the database spells them.
    set_zone(&mut browser, "asia/kolkata").await;
    let (html, _) = browser.page("/auth/sessions").await;
    assert!(html.contains("<option value=\"Asia/Kolkata\" selected>"));
    let (token, _) = browser.page("/auth/token").await;
    assert!(token.contains("Issued at Sat 28 Nov 2026, 14:30 IST."), "your token's times too: {token}");
    // The JSON API is unchanged: UTC RFC 3339.
    let me: Value = cast.app.get("/api/auth/sessions", Some(&cast.teacher.access_token)).await.json().await.unwrap();
    assert!(me.to_string().contains("2026-11-28T09:00:00Z"), "{me}");
}

async fn pages_show_times_in_the_readers_zone(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&cast.teacher.access_token),
            &json!({"title": "Essay", "due_at": "2026-12-07T16:00:00Z", "max_points": 10}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let list = format!("/grading/courses/{}", cast.course_id());

    let mut ada = Browser::new(app);
    ada.sign_in("ada@example.org", TEACHER_PASSWORD).await;
    set_zone(&mut ada, "Europe/Paris").await;
    let (html, _) = ada.page(&list).await;
    assert!(
        html.contains(
            "<time datetime=\"2026-12-07T16:00:00Z\">Mon 7 Dec 2026, 17:00 CET</time> <small class=\"muted\">(in 9 days)</small>"
        ),
        "{html}"
    );
    // Grace has chosen none: UTC. Then India: a half-hour offset.
    let mut grace = Browser::new(app);
    grace.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let (html, _) = grace.page(&list).await;
    assert!(html.contains("<time datetime=\"2026-12-07T16:00:00Z\">Mon 7 Dec 2026, 16:00 UTC</time>"), "{html}");
    set_zone(&mut grace, "Asia/Kolkata").await;
    let (html, _) = grace.page(&list).await;
    assert!(html.contains("<time datetime=\"2026-12-07T16:00:00Z\">Mon 7 Dec 2026, 21:30 IST</time>"), "{html}");
    let (home, _) = grace.page("/home").await;
    assert!(home.contains("Mon 7 Dec 2026, 21:30 IST"), "the home too: {home}");

    // The course page's enrollment and staff times: readable, no raw RFC 3339 left.
    let (course, _) = ada.page(&format!("/courses/{}", cast.course_id())).await;
    assert!(course.contains("<time datetime=\"2026-11-28T09:00:00Z\">Sat 28 Nov 2026, 10:00 CET</time>"), "{course}");
    assert!(!course.contains("Z</td>") && !course.contains("Z</time>"), "no raw RFC 3339 on the page");
    // The audit trail too.
    let (audit, _) = ada.page(&format!("/courses/{}/audit", cast.course_id())).await;
    assert!(audit.contains("10:00 CET</time>") && !audit.contains("Z</time>"), "{audit}");
}

async fn due_dates_typed_in_a_zone_are_stored_in_utc(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let mut ada = Browser::new(app);
    ada.sign_in("ada@example.org", TEACHER_PASSWORD).await;
    set_zone(&mut ada, "Europe/Paris").await;
    let list = format!("/grading/courses/{}", cast.course_id());
    let action = format!("{list}/assignments");
    let (html, _) = ada.page(&list).await;
    assert_eq!(form_zone(&html, &action), "Europe/Paris", "the form says which zone it reads");
    assert!(html.contains("Due (Europe/Paris)"));
    let token = csrf_token(&html);
    let post = async |b: &mut Browser<'_>, due: &str, zone: &str| {
        b.post_form(
            &action,
            &[("csrf_token", &token), ("title", "Essay"), ("due_at", due), ("max_points", "10"), ("time_zone", zone)],
        )
        .await
    };
    let due_of = async |resp: reqwest::Response| {
        assert_eq!(resp.status(), 303);
        let id = location(&resp).trim_start_matches("/grading/assignments/").split('?').next().unwrap().to_owned();
        let a: Value = app
            .get(&format!("/api/grading/assignments/{id}"), Some(&cast.teacher.access_token))
            .await
            .json()
            .await
            .unwrap();
        (id, a["due_at"].as_str().unwrap().to_owned())
    };
    // Winter in Paris is UTC+1; summer UTC+2.
    let (id, due) = due_of(post(&mut ada, "2026-12-07T17:00", "Europe/Paris").await).await;
    assert_eq!(due, "2026-12-07T16:00:00Z");
    assert_eq!(due_of(post(&mut ada, "2027-07-01T17:00", "Europe/Paris").await).await.1, "2027-07-01T15:00:00Z");
    // 02:30 on 28 March 2027 does not exist in Paris (02:00 becomes 03:00): refused, named.
    let resp = post(&mut ada, "2027-03-28T02:30", "Europe/Paris").await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("2027-03-28T02:30 does not exist in Europe/Paris"), "{page}");
    // 02:30 on 31 October 2027 happens twice (03:00 becomes 02:00): the earlier, in summer time.
    assert_eq!(due_of(post(&mut ada, "2027-10-31T02:30", "Europe/Paris").await).await.1, "2027-10-31T00:30:00Z");
    // An unknown zone in the form is a 422, never a guess.
    assert_eq!(post(&mut ada, "2026-12-07T17:00", "Mars/Base").await.status(), 422);

    // An extension typed on the assignment page is read in the same zone.
    let page_path = format!("/grading/assignments/{id}");
    let (html, _) = ada.page(&page_path).await;
    let ext_action = format!("{page_path}/extensions");
    assert_eq!(form_zone(&html, &ext_action), "Europe/Paris");
    let resp = ada
        .post_form(
            &ext_action,
            &[
                ("csrf_token", &csrf_token(&html)),
                ("student_id", &cast.enrolled.id),
                ("due_at", "2026-12-10T09:00"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let ext: Value =
        app.get(&format!("/api{page_path}/extensions"), Some(&cast.teacher.access_token)).await.json().await.unwrap();
    assert!(ext.to_string().contains("2026-12-10T08:00:00Z"), "{ext}");
    // And the page shows it back in Paris time.
    let (html, _) = ada.page(&page_path).await;
    assert!(html.contains("<time datetime=\"2026-12-10T08:00:00Z\">Thu 10 Dec 2026, 09:00 CET</time>"), "{html}");
}
