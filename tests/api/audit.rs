//! The audit trail (docs/security.md, audit): every change to a course's staff, enrollments,
//! materials, assignments, grades, releases and extensions leaves an entry, newest first, with who
//! and what; the entry is written in the change's own transaction (when it cannot be written,
//! the change is not made either); and the database refuses to change or delete an entry.

use crate::helpers::{Backend, Browser, Cast, TEACHER_PASSWORD, TestApp};
use crate::on_both_backends;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lectern_common::schema::{audit_log, grades, materials};
use serde_json::{Value, json};

on_both_backends!(
    every_change_leaves_an_entry_newest_first,
    an_entry_that_cannot_be_written_takes_its_change_with_it,
    the_database_refuses_to_change_or_delete_entries,
);

async fn trail(app: &TestApp, course: &str, token: &str, query: &str) -> Value {
    let resp = app.get(&format!("/api/courses/{course}/audit{query}"), Some(token)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn every_change_leaves_an_entry_newest_first(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, course) = (&cast.app, cast.course_id().to_owned());
    let t = Some(cast.teacher.access_token.as_str());
    let m = app.add_material(&cast.teacher, &cast.course, "Notes", "text").await;
    let mid = m["id"].as_str().unwrap();
    app.patch_json(
        &format!("/api/materials/{mid}"),
        Some(&cast.co_teacher.access_token),
        &json!({"title": "Better notes"}),
    )
    .await;
    app.delete(&format!("/api/materials/{mid}"), t).await;
    let a: Value = app
        .post_json(
            &format!("/api/grading/courses/{course}/assignments"),
            t,
            &json!({"title": "Essay", "due_at": "2026-12-01T17:00:00Z", "max_points": 10, "late_policy": {"percent_per_day": 10, "max_percent": 50}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let a = a["id"].as_str().unwrap();
    let ext = format!("/api/grading/assignments/{a}/extensions/{}", cast.enrolled.id);
    app.put_json(&ext, t, &json!({"due_at": "2026-12-03T17:00:00Z"})).await;
    app.delete(&ext, t).await;
    let s: Value = app
        .post_json(
            &format!("/api/grading/assignments/{a}/submissions"),
            Some(&cast.enrolled.access_token),
            &json!({"body": "essay"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let s = s["id"].as_str().unwrap();
    for score in [6, 7] {
        let resp = app
            .put_json(
                &format!("/api/grading/submissions/{s}/grade"),
                Some(&cast.grader.access_token),
                &json!({"score": score}),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    app.post_json(&format!("/api/grading/assignments/{a}/release"), t, &json!({})).await;
    app.post_json(&format!("/api/grading/assignments/{a}/release"), t, &json!({})).await;
    app.delete(&format!("/api/courses/{course}/enrollments/{}", cast.enrolled.id), Some(&cast.enrolled.access_token))
        .await;
    app.patch_json(&format!("/api/courses/{course}"), t, &json!({"title": "Rust, Gently"})).await;
    // Refused and failed requests leave nothing.
    app.patch_json(&format!("/api/courses/{course}"), Some(&cast.grader.access_token), &json!({"title": "No"})).await;
    app.post_json(
        &format!("/api/courses/{course}/staff"),
        t,
        &json!({"email": "nobody@example.org", "role": "grader"}),
    )
    .await;

    let all = trail(app, &course, &cast.co_teacher.access_token, "?per_page=100").await;
    let seen: Vec<(String, String, String)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"]["display_name"].as_str().unwrap().to_owned(),
                e["object"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("course.updated", "Ada", "course"),
        ("enrollment.removed", "Grace", "user"),
        ("grades.released", "Ada", "assignment"),
        ("grade.recorded", "Emmy", "submission"),
        ("grade.recorded", "Emmy", "submission"),
        ("extension.removed", "Ada", "assignment"),
        ("extension.set", "Ada", "assignment"),
        ("assignment.created", "Ada", "assignment"),
        ("material.deleted", "Ada", "material"),
        ("material.updated", "Charles", "material"),
        ("material.created", "Ada", "material"),
        ("staff.added", "Ada", "user"),
        ("staff.added", "Ada", "user"),
        ("enrollment.added", "Grace", "user"),
        ("course.created", "Ada", "course"),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(seen, expected);
    assert_eq!(all["total"], 15);
    let items = all["items"].as_array().unwrap();
    // What changed, with the values before.
    assert_eq!(items[0]["details"]["title"], "Rust, Gently");
    assert_eq!(items[0]["details"]["previous_title"], "Rust for Beginners");
    assert_eq!(items[3]["details"]["score"], 7);
    assert_eq!(items[3]["details"]["previous_score"], 6);
    assert_eq!(items[3]["object"]["id"], s);
    assert_eq!(items[6]["details"]["due_at"], "2026-12-03T17:00:00Z");
    assert_eq!(items[6]["details"]["student_id"], cast.enrolled.id.as_str());
    assert_eq!(
        items[7]["details"]["late_policy"],
        json!({"percent_per_day": 10, "max_percent": 50, "close_after_days": null})
    );
    assert_eq!(items[11]["details"]["role"], "grader");
    assert_eq!(items[11]["object"]["id"], cast.grader.id.as_str());
    assert!(items.iter().all(|e| e["at"].as_str().unwrap().ends_with('Z')));
    // Paginated, newest first.
    let page2 = trail(app, &course, &cast.teacher.access_token, "?page=2&per_page=5").await;
    assert_eq!(page2["items"][0]["action"], "extension.removed");
    assert_eq!((page2["total"].as_i64(), page2["page"].as_i64()), (Some(15), Some(2)));
    // The page shows the same, to a teacher of the course.
    let mut browser = Browser::new(app);
    browser.sign_in("charles@example.org", TEACHER_PASSWORD).await;
    let (html, _) = browser.page(&format!("/courses/{course}/audit")).await;
    assert!(html.contains("grade.recorded") && html.contains("Emmy") && html.contains("15 in all"));
    let mut grader = Browser::new(app);
    grader.sign_in("emmy@example.org", TEACHER_PASSWORD).await;
    assert_eq!(grader.get(&format!("/courses/{course}/audit")).await.status(), 403);
}

/// A trigger this test creates (and drops) makes every insert into `audit_log` fail, as a crash
/// between a change and its entry would: the product carries no fault hook.
async fn break_audit_inserts(app: &TestApp, broken: bool) {
    app.db
        .run(move |conn| {
            let sql = match (&*conn, broken) {
                (lectern_common::DbConnection::Sqlite(_), true) => {
                    "CREATE TRIGGER break_audit BEFORE INSERT ON audit_log \
                     BEGIN SELECT RAISE(ABORT, 'audit insert refused by the test'); END;"
                }
                (lectern_common::DbConnection::Postgresql(_), true) => {
                    "CREATE FUNCTION break_audit() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'audit insert refused by the test'; END $$; \
                     CREATE TRIGGER break_audit BEFORE INSERT ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION break_audit();"
                }
                (lectern_common::DbConnection::Sqlite(_), false) => "DROP TRIGGER break_audit;",
                (lectern_common::DbConnection::Postgresql(_), false) => {
                    "DROP TRIGGER break_audit ON audit_log; DROP FUNCTION break_audit();"
                }
            };
            conn.batch_execute(sql).map_err(lectern_common::DbError::Query)
        })
        .await
        .unwrap();
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    app.db
        .run(|conn| -> Result<_, lectern_common::DbError> {
            Ok((
                materials::table.count().get_result(conn)?,
                grades::table.count().get_result(conn)?,
                audit_log::table.count().get_result(conn)?,
            ))
        })
        .await
        .unwrap()
}

async fn an_entry_that_cannot_be_written_takes_its_change_with_it(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, course) = (&cast.app, cast.course_id().to_owned());
    let t = Some(cast.teacher.access_token.as_str());
    let a: Value = app
        .post_json(
            &format!("/api/grading/courses/{course}/assignments"),
            t,
            &json!({"title": "Essay", "due_at": "2026-12-01T17:00:00Z", "max_points": 10}),
        )
        .await
        .json()
        .await
        .unwrap();
    let a = a["id"].as_str().unwrap();
    let s: Value = app
        .post_json(
            &format!("/api/grading/assignments/{a}/submissions"),
            Some(&cast.enrolled.access_token),
            &json!({"body": "essay"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let s = s["id"].as_str().unwrap();
    let before = counts(app).await;
    let staff_before: Value = app.get(&format!("/api/courses/{course}/staff"), t).await.json().await.unwrap();

    break_audit_inserts(app, true).await;
    let attempts = [
        app.post_json(&format!("/api/courses/{course}/materials"), t, &json!({"title": "Notes", "body_markdown": "x"}))
            .await,
        app.put_json(
            &format!("/api/grading/submissions/{s}/grade"),
            Some(&cast.grader.access_token),
            &json!({"score": 5}),
        )
        .await,
        app.delete(&format!("/api/courses/{course}/staff/{}", cast.grader.id), t).await,
        app.post_json(&format!("/api/grading/assignments/{a}/release"), t, &json!({})).await,
    ];
    for resp in attempts {
        assert_eq!(resp.status(), 500, "the failure is the server's");
        TestApp::problem(resp).await;
    }
    assert_eq!(counts(app).await, before, "no material, no grade, no entry");
    let staff_after: Value = app.get(&format!("/api/courses/{course}/staff"), t).await.json().await.unwrap();
    assert_eq!(staff_after, staff_before, "the grader is still on the staff");
    let detail: Value = app.get(&format!("/api/grading/assignments/{a}"), t).await.json().await.unwrap();
    assert_eq!(detail["grades_released"], false);

    break_audit_inserts(app, false).await;
    let resp = app
        .put_json(&format!("/api/grading/submissions/{s}/grade"), Some(&cast.grader.access_token), &json!({"score": 5}))
        .await;
    assert_eq!(resp.status(), 200);
    let after = counts(app).await;
    assert_eq!((after.1, after.2), (before.1 + 1, before.2 + 1));
}

async fn the_database_refuses_to_change_or_delete_entries(backend: Backend) {
    let cast = Cast::new(backend).await;
    let before = counts(&cast.app).await.2;
    assert!(before >= 3);
    let outcome = cast
        .app
        .db
        .run(|conn| {
            let update = diesel::update(audit_log::table).set(audit_log::action.eq("nothing.happened")).execute(conn);
            let delete = diesel::delete(audit_log::table).execute(conn);
            let raw = conn.batch_execute("DELETE FROM audit_log");
            Ok::<_, lectern_common::DbError>((update.is_err(), delete.is_err(), raw.is_err()))
        })
        .await
        .unwrap();
    assert_eq!(outcome, (true, true, true));
    assert_eq!(counts(&cast.app).await.2, before);
    let t = trail(&cast.app, cast.course_id(), &cast.teacher.access_token, "").await;
    assert!(t["items"].as_array().unwrap().iter().all(|e| e["action"] != "nothing.happened"));
}
