//! grading-service through HTTP: assignments, submissions (attempts, Idempotency-Key, late, the
//! 512 KiB body limit), grading with its history, release, "my grades", the gradebook (JSON and
//! CSV), the pages with their CSRF protection, docs/security.md's access table for the grading rows,
//! and a failure injected between a grade and its history row.

use crate::helpers::{
    Actor, Backend, Browser, Cast, Part, STUDENT_PASSWORD, TEACHER_PASSWORD, TestApp, location, row, start_time,
};
use crate::on_both_backends;
use diesel::prelude::*;
use lectern_common::schema::{grade_history, grades, submissions};
use serde_json::{Value, json};

on_both_backends!(
    the_journey_through_the_api,
    attempts_are_limited_with_409,
    late_follows_the_due_date_in_utc,
    scores_are_checked_with_422,
    idempotency_keys_are_per_user_and_bound_to_the_request,
    concurrent_requests_make_one_attempt_per_key_and_distinct_numbers,
    fifty_attempts_at_once_are_numbered_without_gaps_or_overflow,
    attempts_stored_without_a_count_are_counted,
    access_submit,
    access_read_a_submission,
    access_grade_a_submission,
    access_gradebook,
    access_list_assignments,
    access_create_assignments,
    access_the_other_grading_endpoints,
    access_extensions,
    access_download_a_file,
    access_download_all_submissions,
    a_failure_between_grade_and_history_leaves_both_tables_unchanged,
    gradebook_json_is_ordered_and_shows_latest_scores,
    gradebook_csv_is_quoted_and_formula_safe,
    gradebook_page_draws_the_distribution_as_svg,
    the_journey_in_a_browser,
    page_forms_need_their_csrf_token,
    malformed_ids_and_bodies_get_4xx_problems,
    the_demo_seed_adds_assignments_once,
    attempts_and_history_cannot_be_rewritten,
);

// ---- helpers -------------------------------------------------------------------------------

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

async fn put_json(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app.api.put(app.url(path)).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// An assignment due a week after the start of the test, with these limits.
async fn new_assignment(app: &TestApp, teacher: &Actor, course: &Value, title: &str, max_attempts: Value) -> Value {
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", course["id"].as_str().unwrap()),
            Some(&teacher.access_token),
            &json!({
                "title": title,
                "instructions": "Write about ownership.",
                "due_at": rfc3339(start_time() + time::Duration::days(7)),
                "max_points": 10,
                "max_attempts": max_attempts,
            }),
        )
        .await;
    assert_eq!(resp.status(), 201, "create assignment {title}");
    resp.json().await.unwrap()
}

async fn submit(app: &TestApp, student: &Actor, assignment: &str, body: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .api
        .post(app.url(&format!("/api/grading/assignments/{assignment}/submissions")))
        .bearer_auth(&student.access_token)
        .json(&json!({ "body": body }));
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

async fn submitted(app: &TestApp, student: &Actor, assignment: &str, body: &str) -> Value {
    let resp = submit(app, student, assignment, body, None).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn grade(app: &TestApp, teacher: &Actor, submission: &str, score: Value, feedback: &str) -> reqwest::Response {
    put_json(
        app,
        &format!("/api/grading/submissions/{submission}/grade"),
        Some(&teacher.access_token),
        &json!({"score": score, "feedback": feedback}),
    )
    .await
}

async fn json_of(app: &TestApp, path: &str, actor: &Actor) -> Value {
    let resp = app.get(path, Some(&actor.access_token)).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.unwrap()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// A browser signed in through the sign-in form.
async fn browser_for<'a>(app: &'a TestApp, name: &str, teacher: bool) -> Browser<'a> {
    let mut b = Browser::new(app);
    let email = format!("{}@example.org", name.to_lowercase());
    b.sign_in(&email, if teacher { TEACHER_PASSWORD } else { STUDENT_PASSWORD }).await;
    b
}

/// Everything in the grades and grade_history tables.
type Tables = (Vec<(String, i32, String, i32)>, Vec<(String, i32, Option<i32>, i32, String)>);

async fn grade_tables(app: &TestApp) -> Tables {
    app.db
        .run(|conn| -> Result<Tables, lectern_common::DbError> {
            let g = grades::table
                .order(grades::submission_id)
                .select((grades::submission_id, grades::score_hundredths, grades::feedback, grades::revision))
                .load(conn)?;
            let h = grade_history::table
                .order((grade_history::submission_id, grade_history::revision))
                .select((
                    grade_history::submission_id,
                    grade_history::revision,
                    grade_history::old_score_hundredths,
                    grade_history::new_score_hundredths,
                    grade_history::feedback,
                ))
                .load(conn)?;
            Ok((g, h))
        })
        .await
        .unwrap()
}

async fn attempts_in_db(app: &TestApp) -> i64 {
    app.db
        .run(|conn| submissions::table.count().get_result::<i64>(conn).map_err(lectern_common::DbError::Query))
        .await
        .unwrap()
}

// ---- the journey ---------------------------------------------------------------------------

async fn the_journey_through_the_api(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, teacher, grace) = (&cast.app, &cast.teacher, &cast.enrolled);
    let assignment = new_assignment(app, teacher, &cast.course, "Ownership essay", json!(3)).await;
    let a = id(&assignment);
    assert_eq!(assignment["course_id"], cast.course_id());
    assert_eq!(assignment["max_points"], 10);
    assert_eq!(assignment["max_attempts"], 3);
    assert_eq!(assignment["grades_released"], false);
    assert_eq!(assignment["instructions"], "Write about ownership.");

    // The student submits twice; the retry of the first request makes no third attempt.
    let first = submit(app, grace, &a, "My first essay.", Some("key-1")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["assignment_id"], a.as_str());
    assert_eq!(first["late"], false);
    assert_eq!(first["submitted_at"], "2026-11-28T09:00:00Z");
    assert_eq!(first["body_sha256"], grading_service::domain::sha256_hex(b"My first essay."));
    assert_eq!(first["body_sha256"].as_str().unwrap().len(), 64);
    let second = submit(app, grace, &a, "My second essay.", Some("key-2")).await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["attempt"], 2);
    let retry = submit(app, grace, &a, "My first essay.", Some("key-1")).await;
    assert_eq!(retry.status(), 201, "the first reply, with its status");
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry, first, "the same reply");
    let own = json_of(app, &format!("/api/grading/assignments/{a}/submissions"), grace).await;
    assert_eq!(own["total"], 2, "no third attempt");
    assert_eq!(own["items"][0]["attempt"], 2, "newest first");
    assert!(own["items"].as_array().unwrap().iter().all(|s| s["grade"].is_null()));

    // The teacher sees every student's latest attempt, grades it and regrades it.
    let list = json_of(app, &format!("/api/grading/assignments/{a}/submissions"), teacher).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], second["id"]);
    assert_eq!(list["items"][0]["student"]["display_name"], "Grace");
    assert!(list["items"][0]["grade"].is_null());
    let s = id(&second);
    let graded = grade(app, teacher, &s, json!(7.5), "Clear, but short.").await;
    assert_eq!(graded.status(), 200);
    let graded: Value = graded.json().await.unwrap();
    assert_eq!(graded["score"], 7.5);
    assert_eq!(graded["feedback"], "Clear, but short.");
    assert_eq!(graded["graded_by"]["id"], teacher.id.as_str());
    assert_eq!(graded["graded_at"], "2026-11-28T09:00:00Z");
    app.advance(60);
    let regraded = grade(app, teacher, &s, json!(8.25), "Secret feedback: better on a second read.").await;
    assert_eq!(regraded.status(), 200);
    let history = json_of(app, &format!("/api/grading/submissions/{s}/grades"), teacher).await;
    assert_eq!(history["total"], 2);
    let items = history["items"].as_array().unwrap();
    assert_eq!((items[0]["score"].clone(), items[0]["previous_score"].clone()), (json!(8.25), json!(7.5)));
    assert_eq!((items[1]["score"].clone(), items[1]["previous_score"].clone()), (json!(7.5), Value::Null));
    assert_eq!(items[0]["graded_at"], "2026-11-28T09:01:00Z", "newest first");
    assert_eq!(items[0]["graded_by"]["display_name"], "Ada");
    let teacher_view = json_of(app, &format!("/api/grading/submissions/{s}"), teacher).await;
    assert_eq!(teacher_view["grade"]["score"], 8.25, "teachers see grades before release");
    assert_eq!(teacher_view["body"], "My second essay.");

    // Before release the student sees no grade: not in any API reply, not on any page.
    let replies = [
        json_of(app, &format!("/api/grading/submissions/{s}"), grace).await,
        json_of(app, &format!("/api/grading/assignments/{a}/submissions"), grace).await,
        json_of(app, "/api/grading/me/grades", grace).await,
        json_of(app, &format!("/api/grading/assignments/{a}"), grace).await,
        json_of(app, &format!("/api/grading/courses/{}/assignments", cast.course_id()), grace).await,
    ];
    assert!(replies[0]["grade"].is_null());
    assert_eq!(replies[0]["student"]["id"], grace.id.as_str());
    assert!(replies[1]["items"].as_array().unwrap().iter().all(|s| s["grade"].is_null()));
    assert_eq!(replies[2]["total"], 0);
    for reply in &replies {
        let text = reply.to_string();
        assert!(!text.contains("8.25") && !text.contains("Secret feedback"), "{text}");
    }
    assert_eq!(app.get(&format!("/api/grading/submissions/{s}/grades"), Some(&grace.access_token)).await.status(), 403);
    let mut browser = browser_for(app, "Grace", false).await;
    for page in [
        format!("/grading/assignments/{a}"),
        format!("/grading/assignments/{a}/submissions"),
        format!("/grading/submissions/{s}"),
        "/grading/me/grades".to_owned(),
        format!("/grading/courses/{}", cast.course_id()),
    ] {
        let (html, _) = browser.page(&page).await;
        assert!(!html.contains("8.25") && !html.contains("Secret feedback"), "{page} shows the grade");
    }

    // Release; now the student sees the grade and feedback everywhere.
    let released =
        app.post_json(&format!("/api/grading/assignments/{a}/release"), Some(&teacher.access_token), &json!({})).await;
    assert_eq!(released.status(), 200);
    assert_eq!(released.json::<Value>().await.unwrap()["grades_released"], true);
    let mine = json_of(app, &format!("/api/grading/submissions/{s}"), grace).await;
    assert_eq!(mine["grade"]["score"], 8.25);
    assert_eq!(mine["grade"]["feedback"], "Secret feedback: better on a second read.");
    let own = json_of(app, &format!("/api/grading/assignments/{a}/submissions"), grace).await;
    assert_eq!(own["items"][0]["grade"]["score"], 8.25);
    let my_grades = json_of(app, "/api/grading/me/grades", grace).await;
    assert_eq!(my_grades["total"], 1);
    let g = &my_grades["items"][0];
    assert_eq!(g["course"], json!({"id": cast.course_id(), "title": "Rust for Beginners"}));
    assert_eq!(g["assignment"], json!({"id": a, "title": "Ownership essay", "max_points": 10}));
    assert_eq!(g["submission_id"], s.as_str());
    assert_eq!(g["score"], 8.25);
    assert_eq!(g["graded_at"], "2026-11-28T09:01:00Z");
    let (html, _) = browser.page(&format!("/grading/submissions/{s}")).await;
    assert!(html.contains("8.25") && html.contains("Secret feedback"));
    let (html, _) = browser.page("/grading/me/grades").await;
    assert!(html.contains("8.25") && html.contains("Ownership essay"));
    // Teachers have no grades of their own.
    assert_eq!(app.get("/api/grading/me/grades", Some(&teacher.access_token)).await.status(), 403);
}

async fn attempts_are_limited_with_409(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, grace) = (&cast.app, &cast.enrolled);
    let a = id(&new_assignment(app, &cast.teacher, &cast.course, "One shot", json!(1)).await);
    assert_eq!(submit(app, grace, &a, "only attempt", Some("k1")).await.status(), 201);
    let again = submit(app, grace, &a, "second try", None).await;
    assert_eq!(again.status(), 409);
    let problem = TestApp::problem(again).await;
    assert_eq!(problem["status"], 409);
    assert_eq!(submit(app, grace, &a, "second try", Some("k2")).await.status(), 409);
    // A retry of the request that made the attempt still gets its first reply.
    assert_eq!(submit(app, grace, &a, "only attempt", Some("k1")).await.status(), 201);
    assert_eq!(attempts_in_db(app).await, 1);
    // Unlimited attempts: null.
    let unlimited = id(&new_assignment(app, &cast.teacher, &cast.course, "Practice", Value::Null).await);
    for n in 1..=5 {
        assert_eq!(submitted(app, grace, &unlimited, &format!("try {n}")).await["attempt"], n);
    }
}

async fn late_follows_the_due_date_in_utc(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, grace) = (&cast.app, &cast.enrolled);
    // Due ten minutes after the start (09:00Z), written with another offset: 10:10+01:00 is 09:10 UTC.
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&cast.teacher.access_token),
            &json!({"title": "Quiz", "due_at": "2026-11-28T10:10:00+01:00", "max_points": 5, "max_attempts": null}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let assignment: Value = resp.json().await.unwrap();
    assert_eq!(assignment["due_at"], "2026-11-28T09:10:00Z");
    assert_eq!(assignment["instructions"], "");
    let a = id(&assignment);
    assert_eq!(submitted(app, grace, &a, "early").await["late"], false);
    app.advance(600);
    let on_time = submitted(app, grace, &a, "exactly at the due time").await;
    assert_eq!(
        (on_time["late"].clone(), on_time["submitted_at"].clone()),
        (json!(false), json!("2026-11-28T09:10:00Z"))
    );
    app.advance(1);
    let late = submitted(app, grace, &a, "one second late").await;
    assert_eq!(late["late"], true);
    let detail = json_of(app, &format!("/api/grading/submissions/{}", id(&late)), &cast.teacher).await;
    assert_eq!(detail["late"], true);
    assert_eq!(detail["attempt"], 3);
}

async fn scores_are_checked_with_422(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, teacher) = (&cast.app, &cast.teacher);
    let a = id(&new_assignment(app, teacher, &cast.course, "Essay", Value::Null).await);
    let s = id(&submitted(app, &cast.enrolled, &a, "text").await);
    for bad in [json!(10.01), json!(11), json!(-1), json!(-0.01), json!(7.125), json!("abc"), json!("7"), Value::Null] {
        let resp = grade(app, teacher, &s, bad.clone(), "").await;
        assert_eq!(resp.status(), 422, "{bad}");
        let problem = TestApp::problem(resp).await;
        assert_eq!(problem["errors"][0]["field"], "score", "{bad}");
    }
    // A body without a score at all, and feedback that is too long.
    let resp =
        put_json(app, &format!("/api/grading/submissions/{s}/grade"), Some(&teacher.access_token), &json!({})).await;
    assert_eq!(resp.status(), 422);
    let resp = grade(app, teacher, &s, json!(5), &"f".repeat(10_001)).await;
    assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "feedback");
    assert_eq!(grade_tables(app).await, (vec![], vec![]), "nothing written");
    for (good, stored) in [(json!(10), 1000), (json!(0), 0), (json!(9.99), 999), (json!(0.5), 50)] {
        let resp = grade(app, teacher, &s, good.clone(), "").await;
        assert_eq!(resp.status(), 200, "{good}");
        assert_eq!(resp.json::<Value>().await.unwrap()["score"], good);
        assert_eq!(grade_tables(app).await.0[0].1, stored, "stored exactly");
    }
    assert_eq!(grade_tables(app).await.1.len(), 4, "one history row per grade");
}

async fn idempotency_keys_are_per_user_and_bound_to_the_request(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let barbara = app.student("Barbara").await;
    app.enroll(&barbara, &cast.course).await;
    let a = id(&new_assignment(app, &cast.teacher, &cast.course, "Essay", Value::Null).await);
    let b = id(&new_assignment(app, &cast.teacher, &cast.course, "Other", Value::Null).await);
    let first: Value = submit(app, &cast.enrolled, &a, "same text", Some("shared")).await.json().await.unwrap();
    // Another student may use the same key: keys are per user.
    let other = submit(app, &barbara, &a, "same text", Some("shared")).await;
    assert_eq!(other.status(), 201);
    assert_ne!(other.json::<Value>().await.unwrap()["id"], first["id"]);
    // The same key with another body, or for another assignment: refused, nothing made.
    for (assignment, body) in [(&a, "different text"), (&b, "same text")] {
        let resp = submit(app, &cast.enrolled, assignment, body, Some("shared")).await;
        assert_eq!(resp.status(), 422);
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "Idempotency-Key");
    }
    assert_eq!(attempts_in_db(app).await, 2);
    // Unusable keys are refused.
    let resp = submit(app, &cast.enrolled, &a, "same text", Some(&"k".repeat(256))).await;
    assert_eq!(resp.status(), 422);
    // Kept at least 24 hours; after that the key may serve a new request. (Signing in again:
    // access tokens live 15 minutes.)
    app.advance(24 * 3600);
    let grace = app.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let replay: Value = submit(app, &grace, &a, "same text", Some("shared")).await.json().await.unwrap();
    assert_eq!(replay["id"], first["id"], "still kept after exactly 24 h");
    app.advance(1);
    let fresh = submit(app, &grace, &a, "different text", Some("shared")).await;
    assert_eq!(fresh.status(), 201);
    assert_eq!(fresh.json::<Value>().await.unwrap()["attempt"], 2);
}

async fn concurrent_requests_make_one_attempt_per_key_and_distinct_numbers(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, grace) = (&cast.app, &cast.enrolled);
    let a = id(&new_assignment(app, &cast.teacher, &cast.course, "Race", Value::Null).await);
    // Four copies of one request, sent at once (a double click, a retrying client).
    let same = tokio::join!(
        submit(app, grace, &a, "once", Some("k")),
        submit(app, grace, &a, "once", Some("k")),
        submit(app, grace, &a, "once", Some("k")),
        submit(app, grace, &a, "once", Some("k")),
    );
    let mut ids = Vec::new();
    for resp in [same.0, same.1, same.2, same.3] {
        assert_eq!(resp.status(), 201);
        ids.push(id(&resp.json::<Value>().await.unwrap()));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one attempt for one key");
    // Four different requests at once: four attempts, numbered 2 to 5.
    let many = tokio::join!(
        submit(app, grace, &a, "a", None),
        submit(app, grace, &a, "b", None),
        submit(app, grace, &a, "c", None),
        submit(app, grace, &a, "d", None),
    );
    let mut attempts = Vec::new();
    for resp in [many.0, many.1, many.2, many.3] {
        assert_eq!(resp.status(), 201);
        attempts.push(resp.json::<Value>().await.unwrap()["attempt"].as_i64().unwrap());
    }
    attempts.sort_unstable();
    assert_eq!(attempts, [2, 3, 4, 5]);
    // Two graders at once: both grades land, in a history without gaps.
    let s = &ids[0];
    let (g1, g2) =
        tokio::join!(grade(app, &cast.teacher, s, json!(3), "one"), grade(app, &cast.teacher, s, json!(4), "two"));
    assert_eq!((g1.status(), g2.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
    let (current, history) = grade_tables(app).await;
    assert_eq!(history.iter().map(|h| h.1).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(history[1].2, Some(history[0].3), "the second grade saw the first");
    assert_eq!(current[0].1, history[1].3, "the current grade is the last one written");
}

/// Fifty submissions by one student at once: numbered 1 to 50 with none twice; against a limit
/// of three, three are taken and 47 refused with 409, and the count stays at three; fifty copies
/// of one keyed request make one attempt.
async fn fifty_attempts_at_once_are_numbered_without_gaps_or_overflow(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, grace) = (&cast.app, &cast.enrolled);
    let at_once = |assignment: String, key: Option<&'static str>| {
        futures_util::future::join_all((0..50).map(move |i| {
            let assignment = assignment.clone();
            async move {
                // Copies of one keyed request are the same request; the others differ.
                let body = if key.is_some() { "once".to_owned() } else { format!("attempt {i}") };
                let resp = submit(app, grace, &assignment, &body, key).await;
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            }
        }))
    };
    let open = id(&new_assignment(app, &cast.teacher, &cast.course, "Open", Value::Null).await);
    let replies = at_once(open.clone(), None).await;
    let statuses = |replies: &[(u16, Value)]| replies.iter().map(|(status, _)| *status).collect::<Vec<_>>();
    assert!(replies.iter().all(|(status, _)| *status == 201), "{:?}", statuses(&replies));
    let mut attempts: Vec<i64> = replies.iter().map(|(_, body)| body["attempt"].as_i64().unwrap()).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, (1..=50).collect::<Vec<_>>());

    let limited = id(&new_assignment(app, &cast.teacher, &cast.course, "Three tries", json!(3)).await);
    let replies = at_once(limited.clone(), None).await;
    let mut taken: Vec<i64> = replies
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body["attempt"].as_i64().unwrap())
        .collect();
    taken.sort_unstable();
    assert_eq!(taken, [1, 2, 3]);
    assert_eq!(replies.iter().filter(|(status, _)| *status == 409).count(), 47, "{:?}", statuses(&replies));
    assert_eq!(attempts_in_db(app).await, 53);
    let resp = submit(app, grace, &limited, "a fourth", None).await;
    assert_eq!(resp.status(), 409, "the refused ones did not leave the count behind");

    let keyed = id(&new_assignment(app, &cast.teacher, &cast.course, "Keyed", Value::Null).await);
    let replies = at_once(keyed, Some("one-key")).await;
    assert!(replies.iter().all(|(status, _)| *status == 201), "{:?}", statuses(&replies));
    let mut ids: Vec<String> = replies.iter().map(|(_, body)| id(body)).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one attempt for one key");
    assert_eq!(attempts_in_db(app).await, 54);
    let after = submitted(app, grace, &open, "one more").await;
    assert_eq!(after["attempt"], 51);
}

/// Attempts written by something that does not keep the count (the seeders, data from before
/// the count existed) are counted from what is stored.
async fn attempts_stored_without_a_count_are_counted(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, grace) = (&cast.app, &cast.enrolled);
    let a = id(&new_assignment(app, &cast.teacher, &cast.course, "Imported", Value::Null).await);
    let (assignment, student) = (a.clone(), grace.id.clone());
    app.db
        .run(move |conn| -> Result<(), lectern_common::DbError> {
            for attempt in 1..=2 {
                diesel::insert_into(submissions::table)
                    .values((
                        submissions::id.eq(uuid::Uuid::new_v4().to_string()),
                        submissions::assignment_id.eq(&assignment),
                        submissions::student_id.eq(&student),
                        submissions::attempt.eq(attempt),
                        submissions::body.eq("imported"),
                        submissions::body_sha256.eq("0".repeat(64)),
                        submissions::submitted_at.eq(lectern_common::db::to_db_time(time::OffsetDateTime::now_utc())),
                        submissions::late.eq(false),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(submitted(app, grace, &a, "third").await["attempt"], 3);
    assert_eq!(submitted(app, grace, &a, "fourth").await["attempt"], 4);
}

/// "My grades" is planned once per connection on PostgreSQL, not on every request. With the
/// benchmark's data a constant bound as a parameter (`grades_released = $2`) kept the statement on
/// custom plans, re-planned each time (0.75 ms against 0.1 ms to run); the test's few rows do not
/// show that cost difference, so it checks the cause too: the statement's parameters are the
/// student and the page, nothing constant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_grades_is_planned_once_per_connection_on_postgres() {
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName, Debug)]
    struct Plans {
        #[diesel(sql_type = BigInt)]
        generic_plans: i64,
        #[diesel(sql_type = BigInt)]
        custom_plans: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        parameters: String,
    }
    let cast = Cast::new(Backend::Postgres).await;
    let app = &cast.app;
    // Requests one after another mostly reuse the pool's most recently returned connection (r2d2
    // keeps idle connections last in, first out), and so does the check after them.
    let mut seen = Vec::new();
    for _ in 0..3 {
        for _ in 0..20 {
            assert_eq!(app.get("/api/grading/me/grades", Some(&cast.enrolled.access_token)).await.status(), 200);
        }
        let plans: Vec<Plans> = app
            .db
            .run(|conn| {
                diesel::sql_query(
                    "SELECT generic_plans, custom_plans, parameter_types::text AS parameters FROM pg_prepared_statements \
                     WHERE statement LIKE '%grades_released%' AND statement LIKE '%extensions%'",
                )
                .load(conn)
                .map_err(lectern_common::DbError::Query)
            })
            .await
            .unwrap();
        // PostgreSQL tries five custom plans before it may settle on the generic one, so only a
        // connection that ran the statement more than five times tells. Requests may spread over
        // more than one connection (seen: one that had run it 8 times, 5 custom and 3 generic).
        if let Some(p) = plans.iter().find(|p| p.generic_plans + p.custom_plans > 5) {
            assert_eq!(p.parameters, "{text,bigint,bigint}", "the student, the page size and offset");
            assert!(p.generic_plans >= 1 && p.custom_plans <= 5, "{plans:?}");
            return;
        }
        seen.push(plans);
    }
    panic!("the check never got a connection that had run the statement: {seen:?}");
}

// ---- docs/security.md's access table: the grading rows ------------------------------------------

/// The cast, an assignment of its course, and one submission by the enrolled student.
async fn graded_setup(backend: Backend) -> (Cast, String, String) {
    let cast = Cast::new(backend).await;
    let a = id(&new_assignment(&cast.app, &cast.teacher, &cast.course, "Essay", Value::Null).await);
    let s = id(&submitted(&cast.app, &cast.enrolled, &a, "Grace's essay").await);
    (cast, a, s)
}

async fn access_submit(backend: Backend) {
    let (cast, a, _) = graded_setup(backend).await;
    let path = format!("/api/grading/assignments/{a}/submissions");
    row(&cast, "submit to an assignment", [403, 403, 403, 403, 201, 403, 401], async |c, t| {
        c.app.post_json(&path, t, &json!({"body": "work"})).await
    })
    .await;
}

async fn access_read_a_submission(backend: Backend) {
    let (cast, a, s) = graded_setup(backend).await;
    let path = format!("/api/grading/submissions/{s}");
    row(&cast, "read a submission", [200, 200, 200, 404, 200, 404, 401], async |c, t| c.app.get(&path, t).await).await;
    // "Own only": an enrolled student asking for a classmate's submission gets 404.
    let barbara = cast.app.student("Barbara").await;
    cast.app.enroll(&barbara, &cast.course).await;
    let hers = id(&submitted(&cast.app, &barbara, &a, "Barbara's essay").await);
    let resp = cast.app.get(&format!("/api/grading/submissions/{hers}"), Some(&cast.enrolled.access_token)).await;
    assert_eq!(resp.status(), 404, "a classmate's submission");
    // The same 404 as for a submission that does not exist.
    let missing = cast
        .app
        .get(&format!("/api/grading/submissions/{}", uuid::Uuid::new_v4()), Some(&cast.enrolled.access_token))
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(TestApp::problem(resp).await, TestApp::problem(missing).await);
    // The pages follow the same rule.
    let mut browser = browser_for(&cast.app, "Grace", false).await;
    assert_eq!(browser.get(&format!("/grading/submissions/{hers}")).await.status(), 404);
    assert_eq!(browser.get(&format!("/grading/submissions/{s}")).await.status(), 200);
}

async fn access_grade_a_submission(backend: Backend) {
    let (cast, _, s) = graded_setup(backend).await;
    let path = format!("/api/grading/submissions/{s}/grade");
    row(&cast, "grade a submission", [200, 200, 200, 404, 403, 403, 401], async |c, t| {
        let mut req = c.app.api.put(c.app.url(&path)).json(&json!({"score": 5, "feedback": "ok"}));
        if let Some(t) = t {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    })
    .await;
    assert_eq!(grade_tables(&cast.app).await.1.len(), 3, "only the staff's grades were written");
}

async fn access_gradebook(backend: Backend) {
    let (cast, _, _) = graded_setup(backend).await;
    let path = format!("/api/grading/courses/{}/gradebook", cast.course_id());
    row(&cast, "gradebook", [200, 200, 200, 403, 403, 403, 401], async |c, t| c.app.get(&path, t).await).await;
    let csv = format!("{path}?format=csv");
    row(&cast, "gradebook (CSV)", [200, 200, 200, 403, 403, 403, 401], async |c, t| c.app.get(&csv, t).await).await;
}

async fn access_list_assignments(backend: Backend) {
    let (cast, a, _) = graded_setup(backend).await;
    let path = format!("/api/grading/courses/{}/assignments", cast.course_id());
    row(&cast, "list assignments", [200, 200, 200, 403, 200, 403, 401], async |c, t| c.app.get(&path, t).await).await;
    let one = format!("/api/grading/assignments/{a}");
    row(&cast, "read an assignment", [200, 200, 200, 403, 200, 403, 401], async |c, t| c.app.get(&one, t).await).await;
    // An unpublished course's assignments do not exist for anyone but its teachers.
    let draft = cast.app.create_course(&cast.teacher, "Draft", false).await;
    cast.staff_on(&draft).await;
    let hidden = id(&new_assignment(&cast.app, &cast.teacher, &draft, "Hidden", Value::Null).await);
    let list = format!("/api/grading/courses/{}/assignments", id(&draft));
    row(&cast, "list a draft's assignments", [200, 200, 200, 404, 404, 404, 401], async |c, t| {
        c.app.get(&list, t).await
    })
    .await;
    let one = format!("/api/grading/assignments/{hidden}");
    row(&cast, "read a draft's assignment", [200, 200, 200, 404, 404, 404, 401], async |c, t| c.app.get(&one, t).await)
        .await;
}

async fn access_create_assignments(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/grading/courses/{}/assignments", cast.course_id());
    let body = json!({"title": "New", "due_at": "2026-12-01T17:00:00Z", "max_points": 10, "max_attempts": null});
    row(&cast, "create assignments", [201, 201, 403, 403, 403, 403, 401], async |c, t| {
        c.app.post_json(&path, t, &body).await
    })
    .await;
    // Refused callers learn nothing from a 422 either: access is checked before the body.
    let bad = json!({"title": "", "due_at": "soon", "max_points": 0});
    let resp = cast.app.post_json(&path, Some(&cast.other_teacher.access_token), &bad).await;
    assert_eq!(resp.status(), 403);
}

async fn access_the_other_grading_endpoints(backend: Backend) {
    let (cast, a, s) = graded_setup(backend).await;
    let list = format!("/api/grading/assignments/{a}/submissions");
    row(&cast, "list submissions", [200, 200, 200, 403, 200, 403, 401], async |c, t| c.app.get(&list, t).await).await;
    let history = format!("/api/grading/submissions/{s}/grades");
    row(&cast, "grade history", [200, 200, 200, 404, 403, 403, 401], async |c, t| c.app.get(&history, t).await).await;
    row(&cast, "my grades", [403, 403, 403, 403, 200, 200, 401], async |c, t| {
        c.app.get("/api/grading/me/grades", t).await
    })
    .await;
    let release = format!("/api/grading/assignments/{a}/release");
    row(&cast, "release grades", [200, 200, 403, 403, 403, 403, 401], async |c, t| {
        c.app.post_json(&release, t, &json!({})).await
    })
    .await;
}

async fn access_extensions(backend: Backend) {
    let (cast, a, _) = graded_setup(backend).await;
    let one = format!("/api/grading/assignments/{a}/extensions/{}", cast.enrolled.id);
    let body = json!({"due_at": "2026-12-24T12:00:00Z"});
    row(&cast, "manage extensions (set)", [200, 200, 403, 403, 403, 403, 401], async |c, t| {
        c.app.put_json(&one, t, &body).await
    })
    .await;
    let list = format!("/api/grading/assignments/{a}/extensions");
    row(&cast, "list extensions", [200, 200, 200, 403, 403, 403, 401], async |c, t| c.app.get(&list, t).await).await;
    // Grace has an extension before each attempt.
    row(&cast, "manage extensions (remove)", [204, 204, 403, 403, 403, 403, 401], async |c, t| {
        assert_eq!(c.app.put_json(&one, Some(&c.teacher.access_token), &body).await.status(), 200);
        c.app.delete(&one, t).await
    })
    .await;
    // Refused callers learn nothing from a 422: access first, then the date.
    let resp = cast.app.put_json(&one, Some(&cast.grader.access_token), &json!({"due_at": "soon"})).await;
    assert_eq!(resp.status(), 403);
}

async fn access_download_a_file(backend: Backend) {
    let (cast, a, _) = graded_setup(backend).await;
    let resp = cast
        .app
        .post_multipart(
            &format!("/api/grading/assignments/{a}/submissions"),
            Some(&cast.enrolled.access_token),
            &[Part::file("essay.txt", "text/plain", b"Grace's file".to_vec())],
            None,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let receipt: Value = resp.json().await.unwrap();
    let path =
        format!("/api/grading/submissions/{}/files/{}", id(&receipt), receipt["files"][0]["id"].as_str().unwrap());
    row(&cast, "download a submission's files", [200, 200, 200, 404, 200, 404, 401], async |c, t| {
        c.app.get(&path, t).await
    })
    .await;
    // "Own only": a classmate gets the same 404 as for a file that does not exist.
    let barbara = cast.app.student("Barbara").await;
    cast.app.enroll(&barbara, &cast.course).await;
    let classmate = cast.app.get(&path, Some(&barbara.access_token)).await;
    let missing = cast
        .app
        .get(
            &format!("/api/grading/submissions/{}/files/{}", id(&receipt), uuid::Uuid::new_v4()),
            Some(&cast.enrolled.access_token),
        )
        .await;
    assert_eq!(
        (classmate.status(), missing.status()),
        (reqwest::StatusCode::NOT_FOUND, reqwest::StatusCode::NOT_FOUND)
    );
    assert_eq!(TestApp::problem(classmate).await, TestApp::problem(missing).await);
}

async fn access_download_all_submissions(backend: Backend) {
    let (cast, a, _) = graded_setup(backend).await;
    let path = format!("/api/grading/assignments/{a}/submissions.zip");
    row(&cast, "download all submissions", [200, 200, 200, 403, 403, 403, 401], async |c, t| c.app.get(&path, t).await)
        .await;
    let draft = cast.app.create_course(&cast.teacher, "Draft", false).await;
    let hidden = id(&new_assignment(&cast.app, &cast.teacher, &draft, "Hidden", Value::Null).await);
    let resp = cast
        .app
        .get(&format!("/api/grading/assignments/{hidden}/submissions.zip"), Some(&cast.other_teacher.access_token))
        .await;
    assert_eq!(resp.status(), 404, "a draft's zip does not exist for another teacher");
}

// ---- a failure half-way ----------------------------------------------------------------------

/// Makes every insert into `grade_history` fail, as a crash between the grade and its history
/// row would, with a trigger this test creates (and drops): the product carries no fault hook.
async fn break_history_inserts(app: &TestApp, broken: bool) {
    use diesel::connection::SimpleConnection;
    app.db
        .run(move |conn| {
            let sql = match (&*conn, broken) {
                (lectern_common::DbConnection::Sqlite(_), true) => {
                    "CREATE TRIGGER break_history BEFORE INSERT ON grade_history \
                     BEGIN SELECT RAISE(ABORT, 'history insert refused by the test'); END;"
                }
                (lectern_common::DbConnection::Postgresql(_), true) => {
                    "CREATE FUNCTION break_history() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'history insert refused by the test'; END $$; \
                     CREATE TRIGGER break_history BEFORE INSERT ON grade_history \
                     FOR EACH ROW EXECUTE FUNCTION break_history();"
                }
                (lectern_common::DbConnection::Sqlite(_), false) => "DROP TRIGGER break_history;",
                (lectern_common::DbConnection::Postgresql(_), false) => {
                    "DROP TRIGGER break_history ON grade_history; DROP FUNCTION break_history();"
                }
            };
            conn.batch_execute(sql).map_err(lectern_common::DbError::Query)
        })
        .await
        .unwrap();
}

async fn a_failure_between_grade_and_history_leaves_both_tables_unchanged(backend: Backend) {
    let (cast, a, s) = graded_setup(backend).await;
    let app = &cast.app;
    let second = id(&submitted(app, &cast.enrolled, &a, "second attempt").await);
    assert_eq!(grade(app, &cast.teacher, &s, json!(6), "first grade").await.status(), 200);
    let before = grade_tables(app).await;
    assert_eq!((before.0.len(), before.1.len()), (1, 1));

    // The history insert fails after the grade row is written in the same transaction.
    break_history_inserts(app, true).await;
    // A regrade (the grade row is updated, then the work dies) and a first grade (inserted, then dies).
    for target in [&s, &second] {
        let resp = grade(app, &cast.teacher, target, json!(9), "lost").await;
        assert_eq!(resp.status(), 500, "the failure is the server's");
        TestApp::problem(resp).await;
        assert_eq!(grade_tables(app).await, before, "both tables as they were");
    }
    // The API still answers the old grade, and once the history accepts rows again the next grade goes through.
    let view = json_of(app, &format!("/api/grading/submissions/{s}"), &cast.teacher).await;
    assert_eq!(view["grade"]["score"], 6);
    assert_eq!(view["grade"]["feedback"], "first grade");
    break_history_inserts(app, false).await;
    assert_eq!(grade(app, &cast.teacher, &s, json!(9), "kept").await.status(), 200);
    let after = grade_tables(app).await;
    assert_eq!(after.0[0].1, 900);
    assert_eq!(after.1.len(), 2);
    assert_eq!(after.1[1], (s.clone(), 2, Some(600), 900, "kept".to_owned()));
}

// ---- the gradebook ---------------------------------------------------------------------------

async fn gradebook_json_is_ordered_and_shows_latest_scores(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, teacher) = (&cast.app, &cast.teacher);
    let barbara = app.student("Barbara").await;
    app.enroll(&barbara, &cast.course).await;
    // Created in reverse order of their due dates: the gradebook orders them by due date.
    let later = app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&teacher.access_token),
            &json!({"title": "Project", "due_at": "2026-12-20T17:00:00Z", "max_points": 20, "max_attempts": null}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let sooner = new_assignment(app, teacher, &cast.course, "Essay", Value::Null).await;
    let (p, e) = (id(&later), id(&sooner));
    // Grace: graded on her first essay attempt, then submitted again (latest attempt ungraded).
    let g1 = id(&submitted(app, &cast.enrolled, &e, "draft").await);
    assert_eq!(grade(app, teacher, &g1, json!(5), "").await.status(), 200);
    submitted(app, &cast.enrolled, &e, "final").await;
    let gp = id(&submitted(app, &cast.enrolled, &p, "project").await);
    assert_eq!(grade(app, teacher, &gp, json!(17.5), "").await.status(), 200);
    // Barbara: graded essay, no project; nothing released.
    let b1 = id(&submitted(app, &barbara, &e, "essay").await);
    assert_eq!(grade(app, teacher, &b1, json!(9.25), "").await.status(), 200);

    let book = json_of(app, &format!("/api/grading/courses/{}/gradebook", cast.course_id()), teacher).await;
    let titles: Vec<&str> =
        book["assignments"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Essay", "Project"]);
    assert_eq!(book["assignments"][1]["max_points"], 20);
    let rows = book["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3 - 1, "enrolled students only");
    assert_eq!(rows[0]["student"], json!({"id": barbara.id, "display_name": "Barbara"}));
    assert_eq!(rows[0]["scores"], json!([9.25, null]));
    assert_eq!(rows[1]["student"]["display_name"], "Grace");
    assert_eq!(rows[1]["scores"], json!([null, 17.5]), "the latest attempt counts");
    // The same request asks for CSV by its Accept header.
    let resp = app
        .api
        .get(app.url(&format!("/api/grading/courses/{}/gradebook", cast.course_id())))
        .bearer_auth(&teacher.access_token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let csv = resp.text().await.unwrap();
    assert_eq!(
        csv,
        format!(
            "Student,Student ID,Essay (max 10),Project (max 20)\r\nBarbara,{},9.25,\r\nGrace,{},,17.5\r\n",
            barbara.id, cast.enrolled.id
        )
    );
    // An empty course has an empty gradebook.
    let empty = app.create_course(teacher, "Empty", true).await;
    let book = json_of(app, &format!("/api/grading/courses/{}/gradebook", id(&empty)), teacher).await;
    assert_eq!((book["assignments"].clone(), book["rows"].clone()), (json!([]), json!([])));
}

async fn gradebook_csv_is_quoted_and_formula_safe(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, teacher) = (&cast.app, &cast.teacher);
    let nasty_names =
        ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1 Plus", "-2 Minus", "@SUM(A1)", "Lovelace, \"Ada\""];
    let mut students = Vec::new();
    for (i, name) in nasty_names.iter().enumerate() {
        let email = format!("csv{i}@example.org");
        assert_eq!(app.signup(&email, STUDENT_PASSWORD, name).await.status(), 201);
        let s = app.sign_in(&email, STUDENT_PASSWORD).await;
        app.enroll(&s, &cast.course).await;
        students.push(s);
    }
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&teacher.access_token),
            &json!({"title": "=cmd, \"quoted\"", "due_at": "2026-12-01T17:00:00Z", "max_points": 10, "max_attempts": null}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .get(&format!("/api/grading/courses/{}/gradebook?format=csv", cast.course_id()), Some(&teacher.access_token))
        .await;
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("Student,Student ID,\"'=cmd, \"\"quoted\"\" (max 10)\"\r\n"), "{csv}");
    for line in [
        format!("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",{},\r\n", students[0].id),
        format!("'+1 Plus,{},\r\n", students[1].id),
        format!("'-2 Minus,{},\r\n", students[2].id),
        format!("'@SUM(A1),{},\r\n", students[3].id),
        format!("\"Lovelace, \"\"Ada\"\"\",{},\r\n", students[4].id),
    ] {
        assert!(csv.contains(&line), "{line:?} in {csv:?}");
    }
    // No line starts with a formula character, and every record has the header's three fields.
    assert_eq!(csv.matches("\r\n").count(), 1 + 1 + nasty_names.len(), "Grace and the five");
    assert!(csv.split("\r\n").all(|l| !l.starts_with(['=', '+', '-', '@'])));
    // `?format=` other than csv or json is a 422.
    let resp = app
        .get(&format!("/api/grading/courses/{}/gradebook?format=xml", cast.course_id()), Some(&teacher.access_token))
        .await;
    assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "format");
}

async fn gradebook_page_draws_the_distribution_as_svg(backend: Backend) {
    let (cast, a, s) = graded_setup(backend).await;
    let app = &cast.app;
    let barbara = app.student("Barbara").await;
    app.enroll(&barbara, &cast.course).await;
    let b = id(&submitted(app, &barbara, &a, "essay").await);
    assert_eq!(grade(app, &cast.teacher, &s, json!(4), "").await.status(), 200);
    assert_eq!(grade(app, &cast.teacher, &b, json!(9.5), "").await.status(), 200);
    let mut browser = browser_for(app, "Ada", true).await;
    let resp = browser.get(&format!("/grading/courses/{}/gradebook", cast.course_id())).await;
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(!csp.contains("unsafe-inline"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("<rect"), "an inline SVG chart");
    assert!(html.contains("1 student scored in [40%, 50%)"), "a bar for 4 / 10");
    assert!(html.contains("1 student scored in [90%, 100%]"), "a bar for 9.5 / 10");
    assert!(html.contains("6.75"), "average (and median) of 4 and 9.5");
    assert!(!html.contains("style=") && !html.contains("<script"), "the CSP allows neither");
    assert!(html.contains("Barbara") && html.contains("Grace"));
    let csv_link = format!("/grading/courses/{}/gradebook?format=csv", cast.course_id());
    assert!(html.contains(&csv_link));
    let resp = browser.get(&csv_link).await;
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.text().await.unwrap().contains(",9.5\r\n"));
    // Students do not get the gradebook page.
    let mut student = browser_for(app, "Grace", false).await;
    let resp = student.get(&format!("/grading/courses/{}/gradebook", cast.course_id())).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

// ---- pages -----------------------------------------------------------------------------------

fn form_value(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

async fn the_journey_in_a_browser(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let course = cast.course_id().to_owned();
    let mut ada = browser_for(app, "Ada", true).await;
    let mut grace = browser_for(app, "Grace", false).await;

    // The teacher creates an assignment with the form.
    let (html, token) = ada.page(&format!("/grading/courses/{course}")).await;
    assert!(html.contains("New assignment"));
    let resp = ada
        .post_form(
            &format!("/grading/courses/{course}/assignments"),
            &[
                ("csrf_token", &token),
                ("title", "Borrowing essay"),
                ("instructions", "Explain & < > in your own words."),
                ("due_at", "2026-12-01T17:00"),
                ("max_points", "10"),
                ("max_attempts", "3"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let assignment_page = location(&resp).split('?').next().unwrap().to_owned();
    let a = assignment_page.rsplit('/').next().unwrap().to_owned();
    let detail = json_of(app, &format!("/api/grading/assignments/{a}"), &cast.teacher).await;
    assert_eq!(detail["due_at"], "2026-12-01T17:00:00Z", "the form's time is UTC");
    assert_eq!(detail["max_attempts"], 3);

    // The student sees it, submits twice; the resent first form makes no third attempt.
    let (html, _) = grace.page(&format!("/grading/courses/{course}")).await;
    assert!(html.contains("Borrowing essay") && !html.contains("New assignment"));
    let (html, token) = grace.page(&assignment_page).await;
    assert!(
        html.contains("Explain &amp; &lt; &gt; in your own words.") || html.contains("Explain &#38; &#60; &#62;"),
        "escaped: {html}"
    );
    let key = form_value(&html, "idempotency_key");
    assert!(!key.is_empty());
    let path = format!("/grading/assignments/{a}/submissions");
    let first =
        grace.post_form(&path, &[("csrf_token", &token), ("idempotency_key", &key), ("body", "First try.")]).await;
    assert_eq!(first.status(), 303);
    let receipt = location(&first);
    assert!(receipt.starts_with("/grading/submissions/"), "{receipt}");
    let resent =
        grace.post_form(&path, &[("csrf_token", &token), ("idempotency_key", &key), ("body", "First try.")]).await;
    assert_eq!(location(&resent), receipt, "the same receipt");
    let (html, token) = grace.page(&assignment_page).await;
    let key2 = form_value(&html, "idempotency_key");
    assert_ne!(key2, key, "a fresh key for each form");
    let second =
        grace.post_form(&path, &[("csrf_token", &token), ("idempotency_key", &key2), ("body", "Second try.")]).await;
    assert_eq!(second.status(), 303);
    let own = json_of(app, &format!("/api/grading/assignments/{a}/submissions"), &cast.enrolled).await;
    assert_eq!(own["total"], 2);
    // The receipt page shows the SHA-256 of what was submitted.
    let (html, _) = grace.page(&location(&second)).await;
    assert!(html.contains("Received: attempt 2."));
    assert!(html.contains(own["items"][0]["body_sha256"].as_str().unwrap()));
    assert!(html.contains("Second try."));
    let (html, _) = grace.page(&assignment_page).await;
    assert!(html.contains("Attempts left: 1."));
    assert!(html.contains(own["items"][1]["receipt_sha256"].as_str().unwrap()), "both receipts listed");

    // The teacher grades and regrades the latest attempt with the form, and sees the history.
    let (html, _) = ada.page(&path).await;
    let s = location(&second).split('?').next().unwrap().rsplit('/').next().unwrap().to_owned();
    assert!(html.contains(&format!("/grading/submissions/{s}")), "the latest attempt is listed");
    let (_, token) = ada.page(&format!("/grading/submissions/{s}")).await;
    let grade_path = format!("/grading/submissions/{s}/grade");
    let resp =
        ada.post_form(&grade_path, &[("csrf_token", &token), ("score", "6.5"), ("feedback", "Needs examples.")]).await;
    assert_eq!(resp.status(), 303);
    let resp = ada
        .post_form(&grade_path, &[("csrf_token", &token), ("score", "9.75"), ("feedback", "Hidden until release.")])
        .await;
    assert_eq!(resp.status(), 303);
    let (html, _) = ada.page(&format!("/grading/submissions/{s}")).await;
    let (newest, older) = (html.find("Hidden until release.").unwrap(), html.rfind("Needs examples.").unwrap());
    assert!(newest < older, "history newest first");
    assert!(html.contains("value=\"9.75\""), "the form starts from the current grade");
    // A score out of range is an error page, and changes nothing.
    let resp = ada.post_form(&grade_path, &[("csrf_token", &token), ("score", "10.5"), ("feedback", "")]).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("score"));

    // Before release: nothing of the grade on the student's pages.
    for page in [format!("/grading/submissions/{s}"), assignment_page.clone(), "/grading/me/grades".into()] {
        let (html, _) = grace.page(&page).await;
        assert!(!html.contains("9.75") && !html.contains("Hidden until release."), "{page}");
    }
    // Release with the form; then the student sees it.
    let (_, token) = ada.page(&assignment_page).await;
    let resp = ada.post_form(&format!("/grading/assignments/{a}/release"), &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), 303);
    let (html, _) = grace.page("/grading/me/grades").await;
    assert!(html.contains("9.75") && html.contains("Hidden until release."));
    let (html, _) = grace.page(&format!("/grading/submissions/{s}")).await;
    assert!(html.contains("9.75"));
    assert!(html.contains("href=\"/grading/me/grades\""), "the nav links to my grades");
}

async fn page_forms_need_their_csrf_token(backend: Backend) {
    let (cast, a, s) = graded_setup(backend).await;
    let app = &cast.app;
    let mut grace = browser_for(app, "Grace", false).await;
    let mut ada = browser_for(app, "Ada", true).await;
    let (_, grace_token) = grace.page(&format!("/grading/assignments/{a}")).await;
    let (_, ada_token) = ada.page(&format!("/grading/submissions/{s}")).await;
    let before = (attempts_in_db(app).await, grade_tables(app).await);
    let submit_path = format!("/grading/assignments/{a}/submissions");
    for token in ["", "forged", ada_token.as_str()] {
        let resp = grace.post_form(&submit_path, &[("csrf_token", token), ("body", "sneaky")]).await;
        assert_eq!(resp.status(), 403, "submit with {token:?}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "an error page");
    }
    let grade_path = format!("/grading/submissions/{s}/grade");
    let create_path = format!("/grading/courses/{}/assignments", cast.course_id());
    let release_path = format!("/grading/assignments/{a}/release");
    for token in ["", grace_token.as_str()] {
        let resp = ada.post_form(&grade_path, &[("csrf_token", token), ("score", "1")]).await;
        assert_eq!(resp.status(), 403);
        let resp = ada
            .post_form(
                &create_path,
                &[("csrf_token", token), ("title", "x"), ("due_at", "2026-12-01T17:00"), ("max_points", "1")],
            )
            .await;
        assert_eq!(resp.status(), 403);
        assert_eq!(ada.post_form(&release_path, &[("csrf_token", token)]).await.status(), 403);
    }
    // With the right token but from another site: refused too.
    ada.origin = "http://evil.example".into();
    assert_eq!(ada.post_form(&grade_path, &[("csrf_token", &ada_token), ("score", "1")]).await.status(), 403);
    assert_eq!((attempts_in_db(app).await, grade_tables(app).await), before, "nothing changed");
    let assignment = json_of(app, &format!("/api/grading/assignments/{a}"), &cast.teacher).await;
    assert_eq!(assignment["grades_released"], false);
    // A student posting the grading form with a valid token is refused by role.
    let resp = grace.post_form(&grade_path, &[("csrf_token", &grace_token), ("score", "10")]).await;
    assert_eq!(resp.status(), 403);
    // Anonymous visitors are sent to sign in.
    let mut anon = Browser::new(app);
    let resp = anon.get("/grading/me/grades").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/auth/sign-in?next=%2Fgrading%2Fme%2Fgrades");
    // And the token on a page is the one the extractor checks.
    let (html, _) = grace.page("/grading/me/grades").await;
    assert_eq!(crate::helpers::sign_out_token(&html), grace_token, "the one form there: the sign-out button");
}

async fn malformed_ids_and_bodies_get_4xx_problems(backend: Backend) {
    let (cast, a, s) = graded_setup(backend).await;
    let app = &cast.app;
    let t = Some(cast.teacher.access_token.as_str());
    for path in [
        "/api/grading/assignments/not-a-uuid".to_owned(),
        "/api/grading/submissions/123".to_owned(),
        "/api/grading/courses/x/assignments".to_owned(),
        "/api/grading/courses/x/gradebook".to_owned(),
        format!("/api/grading/assignments/{}", uuid::Uuid::new_v4()),
        format!("/api/grading/submissions/{}/grades", uuid::Uuid::new_v4()),
        "/api/grading/nothing-here".to_owned(),
    ] {
        let resp = app.get(&path, t).await;
        assert_eq!(resp.status(), 404, "{path}");
        TestApp::problem(resp).await;
    }
    let mut ada = browser_for(app, "Ada", true).await;
    let resp = ada.get("/grading/assignments/not-a-uuid").await;
    assert_eq!(resp.status(), 404);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));

    let submit_path = app.url(&format!("/api/grading/assignments/{a}/submissions"));
    let grace = &cast.enrolled.access_token;
    let raw = |body: String, content_type: &'static str| {
        app.api.post(&submit_path).bearer_auth(grace).header("content-type", content_type).body(body).send()
    };
    for (body, content_type, status) in [
        ("{\"body\": ".to_owned(), "application/json", 400),
        ("{\"body\": \"x\"}".to_owned(), "text/plain", 415),
        ("{\"body\": 5}".to_owned(), "application/json", 422),
        ("{}".to_owned(), "application/json", 422),
        (json!({"body": "   "}).to_string(), "application/json", 422),
        (json!({"body": "a".repeat(100_001)}).to_string(), "application/json", 422),
        (json!({"body": "nul \u{0} byte"}).to_string(), "application/json", 422),
        (json!({"body": "a".repeat(600 * 1024)}).to_string(), "application/json", 413),
    ] {
        let resp = raw(body, content_type).await.unwrap();
        assert_eq!(resp.status(), status, "{content_type} {status}");
        TestApp::problem(resp).await;
    }
    // 100,000 characters of two bytes each: far above 64 KiB, inside 512 KiB.
    let long = "é".repeat(100_000);
    let resp = raw(json!({"body": long}).to_string(), "application/json").await.unwrap();
    assert_eq!(resp.status(), 201);
    let receipt: Value = resp.json().await.unwrap();
    let stored = json_of(app, &format!("/api/grading/submissions/{}", id(&receipt)), &cast.teacher).await;
    assert_eq!(stored["body"].as_str().unwrap().chars().count(), 100_000);
    // Elsewhere the standard 64 KiB limit holds.
    let resp = put_json(
        app,
        &format!("/api/grading/submissions/{s}/grade"),
        t,
        &json!({"score": 1, "feedback": "f".repeat(70 * 1024)}),
    )
    .await;
    assert_eq!(resp.status(), 413);

    let create = format!("/api/grading/courses/{}/assignments", cast.course_id());
    for (body, field) in [
        (json!({"title": "", "due_at": "2026-12-01T17:00:00Z", "max_points": 10}), "title"),
        (json!({"title": "T", "due_at": "next week", "max_points": 10}), "due_at"),
        (json!({"title": "T", "due_at": "2026-12-01T17:00:00", "max_points": 10}), "due_at"),
        (json!({"title": "T", "due_at": "2026-12-01T17:00:00Z", "max_points": 0}), "max_points"),
        (json!({"title": "T", "due_at": "2026-12-01T17:00:00Z", "max_points": "10"}), "max_points"),
        (json!({"title": "T", "due_at": "2026-12-01T17:00:00Z", "max_points": 10.001}), "max_points"),
        (json!({"title": "T", "due_at": "2026-12-01T17:00:00Z", "max_points": 10, "max_attempts": 0}), "max_attempts"),
        (
            json!({"title": "T", "due_at": "2026-12-01T17:00:00Z", "max_points": 10, "max_attempts": 1.5}),
            "max_attempts",
        ),
    ] {
        let resp = app.post_json(&create, t, &body).await;
        assert_eq!(resp.status(), 422, "{body}");
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], field, "{body}");
    }
    let resp = app.get(&format!("/api/grading/assignments/{a}/submissions?per_page=1000"), t).await;
    assert_eq!(resp.status(), 422);
    let resp = app.get(&format!("/api/grading/assignments/{a}/submissions?page=x"), t).await;
    assert_eq!(resp.status(), 422);
    TestApp::problem(resp).await;
}

async fn the_demo_seed_adds_assignments_once(backend: Backend) {
    let cast = Cast::new(backend).await;
    let now = lectern_common::db::to_db_time(start_time());
    let seed = move |conn: &mut lectern_common::DbConnection| {
        grading_service::seed::demo(conn, now).map_err(|e| lectern_common::DbError::Task(e.to_string()))
    };
    assert_eq!(cast.app.db.run(seed).await.unwrap(), 2);
    assert_eq!(cast.app.db.run(seed).await.unwrap(), 0, "a second run adds nothing");
    let list =
        json_of(&cast.app, &format!("/api/grading/courses/{}/assignments", cast.course_id()), &cast.enrolled).await;
    let titles: Vec<&str> = list["items"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Reading reflection", "Project proposal"]);
    assert_eq!(list["items"][0]["due_at"], "2026-12-05T17:00:00Z");
    // The seeded assignments work like any other.
    let a = id(&list["items"][0]);
    assert_eq!(submitted(&cast.app, &cast.enrolled, &a, "reflection").await["attempt"], 1);
}

async fn attempts_and_history_cannot_be_rewritten(backend: Backend) {
    let (cast, _, s) = graded_setup(backend).await;
    assert_eq!(grade(&cast.app, &cast.teacher, &s, json!(5), "").await.status(), 200);
    // Even a bug that tried would be stopped by the database: both tables refuse UPDATE.
    let outcome = cast
        .app
        .db
        .run(|conn| {
            let body = diesel::update(submissions::table).set(submissions::body.eq("rewritten")).execute(conn);
            let history =
                diesel::update(grade_history::table).set(grade_history::new_score_hundredths.eq(1000)).execute(conn);
            Ok::<_, lectern_common::DbError>((body.is_err(), history.is_err()))
        })
        .await
        .unwrap();
    assert_eq!(outcome, (true, true));
    let view = json_of(&cast.app, &format!("/api/grading/submissions/{s}"), &cast.teacher).await;
    assert_eq!(view["body"], "Grace's essay");
}
