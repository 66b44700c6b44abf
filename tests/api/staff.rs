//! Course staff (docs/api.md, "Course staff"): co-teachers and graders are teacher accounts a
//! teacher of the course adds by email; graders see and grade but change nothing else; the last
//! teacher cannot be removed or demoted, also when two teachers remove each other at once.

use crate::helpers::{Backend, Cast, TestApp, spawn_app};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    teachers_add_co_teachers_and_graders_by_email,
    graders_grade_but_change_nothing_else,
    the_last_teacher_cannot_be_removed_or_demoted,
    two_teachers_removing_each_other_at_once_leave_one_teacher,
);

async fn staff_of(app: &TestApp, course: &str, token: &str) -> Vec<(String, String)> {
    let list: Value = app.get(&format!("/api/courses/{course}/staff"), Some(token)).await.json().await.unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user"]["display_name"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect()
}

async fn teachers_add_co_teachers_and_graders_by_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    app.teacher("Charles").await;
    app.teacher("Emmy").await;
    app.student("Grace").await;
    let course = app.create_course(&ada, "Analytical Engines", false).await;
    let id = course["id"].as_str().unwrap().to_owned();
    let path = format!("/api/courses/{id}/staff");
    let add = |email: &'static str, role: &'static str| {
        let (app, path, token) = (&app, path.clone(), ada.access_token.clone());
        async move { app.post_json(&path, Some(&token), &json!({"email": email, "role": role})).await }
    };

    let first = add("charles@example.org", "teacher").await;
    assert_eq!(first.status(), 201);
    let member: Value = first.json().await.unwrap();
    assert_eq!(
        (member["role"].as_str(), member["user"]["email"].as_str()),
        (Some("teacher"), Some("charles@example.org"))
    );
    assert!(member["added_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(add("  EMMY@example.org ", "grader").await.status(), 201, "emails are matched as typed, any case");
    assert_eq!(add("emmy@example.org", "grader").await.status(), 200, "already a grader");
    assert_eq!(
        staff_of(&app, &id, &ada.access_token).await,
        [("Ada".into(), "teacher".into()), ("Charles".into(), "teacher".into()), ("Emmy".into(), "grader".into())]
    );

    // Only teacher accounts can be staff; the email and role are checked with the field named.
    for (body, field) in [
        (json!({"email": "grace@example.org", "role": "grader"}), "email"),
        (json!({"email": "nobody@example.org", "role": "grader"}), "email"),
        (json!({"email": "emmy@example.org", "role": "owner"}), "role"),
        (json!({"role": "grader"}), "email"),
    ] {
        let resp = app.post_json(&path, Some(&ada.access_token), &body).await;
        assert_eq!(resp.status(), 422, "{body}");
        let problem = TestApp::problem(resp).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }

    // The course lists its teachers, not its graders; the co-teacher sees the code, the grader does not.
    let charles = app.sign_in("charles@example.org", crate::helpers::TEACHER_PASSWORD).await;
    let emmy = app.sign_in("emmy@example.org", crate::helpers::TEACHER_PASSWORD).await;
    for who in [&ada, &charles, &emmy] {
        let seen: Value = app.get(&format!("/api/courses/{id}"), Some(&who.access_token)).await.json().await.unwrap();
        let teachers: Vec<&str> =
            seen["teachers"].as_array().unwrap().iter().map(|t| t["display_name"].as_str().unwrap()).collect();
        assert_eq!(teachers, ["Ada", "Charles"]);
        assert_eq!(seen.get("enrollment_code").is_some(), who.id != emmy.id);
    }
    // Staff find the draft in their catalog.
    for who in [&charles, &emmy] {
        let catalog: Value = app.get("/api/courses", Some(&who.access_token)).await.json().await.unwrap();
        assert!(catalog["items"].as_array().unwrap().iter().any(|c| c["id"] == id.as_str()), "a staff member's draft");
    }

    // A changed role is an update: the grader becomes a co-teacher, and gains a teacher's rights.
    assert_eq!(add("emmy@example.org", "teacher").await.status(), 200);
    let resp = app.patch_json(&format!("/api/courses/{id}"), Some(&emmy.access_token), &json!({"summary": "x"})).await;
    assert_eq!(resp.status(), 200, "a co-teacher edits the course");
    // And a co-teacher manages the staff too.
    let resp = app
        .post_json(&path, Some(&charles.access_token), &json!({"email": "emmy@example.org", "role": "grader"}))
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app.patch_json(&format!("/api/courses/{id}"), Some(&emmy.access_token), &json!({"summary": "y"})).await;
    assert_eq!(resp.status(), 403, "a grader again");
}

async fn graders_grade_but_change_nothing_else(backend: Backend) {
    let cast = Cast::new(backend).await;
    let (app, emmy) = (&cast.app, &cast.grader);
    let course = cast.course_id();
    let a: Value = app
        .post_json(
            &format!("/api/grading/courses/{course}/assignments"),
            Some(&cast.teacher.access_token),
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
            &json!({"body": "Grace's essay"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let s = s["id"].as_str().unwrap();
    // Grades, with the grader named.
    let resp = app
        .put_json(
            &format!("/api/grading/submissions/{s}/grade"),
            Some(&emmy.access_token),
            &json!({"score": 8, "feedback": "ok"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let grade: Value = resp.json().await.unwrap();
    assert_eq!(grade["graded_by"]["display_name"], "Emmy");
    // Sees everyone's latest attempt and the gradebook.
    let list: Value = app
        .get(&format!("/api/grading/assignments/{a}/submissions"), Some(&emmy.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["grade"]["score"], 8);
    let book = app.get(&format!("/api/grading/courses/{course}/gradebook"), Some(&emmy.access_token)).await;
    assert_eq!(book.status(), 200);
    // Nothing else: no release, no enrolling, no staff, no materials, no code.
    let release =
        app.post_json(&format!("/api/grading/assignments/{a}/release"), Some(&emmy.access_token), &json!({})).await;
    assert_eq!(release.status(), 403);
    let enroll = app
        .post_json(
            &format!("/api/courses/{course}/enrollments"),
            Some(&emmy.access_token),
            &json!({"student_email": "edsger@example.org"}),
        )
        .await;
    assert_eq!(enroll.status(), 403);
    let leave = app.delete(&format!("/api/courses/{course}/staff/{}", emmy.id), Some(&emmy.access_token)).await;
    assert_eq!(leave.status(), 403, "a grader cannot even remove themselves: a teacher does");
    // The grader's page: grading tools, no teaching tools.
    let mut browser = crate::helpers::Browser::new(app);
    browser.sign_in("emmy@example.org", crate::helpers::TEACHER_PASSWORD).await;
    let (html, _) = browser.page(&format!("/courses/{course}")).await;
    assert!(html.contains("You grade this course"));
    assert!(!html.contains(&format!("action=\"/courses/{course}/edit\"")), "no edit form");
    assert!(!html.contains(cast.course["enrollment_code"].as_str().unwrap()), "no enrollment code");
    let (html, _) = browser.page(&format!("/grading/assignments/{a}")).await;
    assert!(html.contains("See and grade the submissions"));
    assert!(!html.contains("Release grades"));
}

async fn the_last_teacher_cannot_be_removed_or_demoted(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    let charles = app.teacher("Charles").await;
    let course = app.create_course(&ada, "Engines", true).await;
    let id = course["id"].as_str().unwrap();
    let path = format!("/api/courses/{id}/staff");
    let me = format!("{path}/{}", ada.id);
    for resp in [
        app.delete(&me, Some(&ada.access_token)).await,
        app.post_json(&path, Some(&ada.access_token), &json!({"email": "ada@example.org", "role": "grader"})).await,
    ] {
        assert_eq!(resp.status(), 409);
        let problem = TestApp::problem(resp).await;
        assert!(problem["detail"].as_str().unwrap().contains("at least one teacher"), "{problem}");
    }
    // With a second teacher, the creator may leave; then the co-teacher is the last one.
    let resp = app
        .post_json(&path, Some(&ada.access_token), &json!({"email": "charles@example.org", "role": "teacher"}))
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(app.delete(&me, Some(&ada.access_token)).await.status(), 204);
    assert_eq!(
        app.patch_json(&format!("/api/courses/{id}"), Some(&ada.access_token), &json!({"summary": "x"})).await.status(),
        403
    );
    let last = format!("{path}/{}", charles.id);
    assert_eq!(app.delete(&last, Some(&charles.access_token)).await.status(), 409);
    assert_eq!(staff_of(&app, id, &charles.access_token).await, [("Charles".into(), "teacher".into())]);
    // Removing someone who is not on the staff: 404.
    assert_eq!(app.delete(&me, Some(&charles.access_token)).await.status(), 404);
}

/// Two teachers, each removing the other, at the same moment, many times over: every time one
/// of them wins and the other is refused (409: the last teacher; or 403: no longer a teacher
/// when its turn came). Never does the course end without a teacher.
async fn two_teachers_removing_each_other_at_once_leave_one_teacher(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    let charles = app.teacher("Charles").await;
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..12 {
        let course = app.create_course(&ada, &format!("Round {round}"), true).await;
        let id = course["id"].as_str().unwrap().to_owned();
        let path = format!("/api/courses/{id}/staff");
        let resp = app
            .post_json(&path, Some(&ada.access_token), &json!({"email": "charles@example.org", "role": "teacher"}))
            .await;
        assert_eq!(resp.status(), 201);
        let (remove_charles, remove_ada) = (format!("{path}/{}", charles.id), format!("{path}/{}", ada.id));
        let (a, c) = tokio::join!(
            app.delete(&remove_charles, Some(&ada.access_token)),
            app.delete(&remove_ada, Some(&charles.access_token)),
        );
        let mut statuses = [a.status().as_u16(), c.status().as_u16()];
        statuses.sort_unstable();
        assert!(matches!(statuses, [204, 403] | [204, 409]), "round {round}: {statuses:?}");
        *outcomes.entry(statuses).or_insert(0) += 1;
        // Exactly one teacher is left, and it is the one whose request won.
        let left = app
            .db
            .run(move |conn| {
                use diesel::prelude::*;
                use lectern_common::schema::course_staff;
                course_staff::table
                    .filter(course_staff::course_id.eq(id))
                    .filter(course_staff::role.eq("teacher"))
                    .select(course_staff::user_id)
                    .load::<String>(conn)
                    .map_err(lectern_common::DbError::Query)
            })
            .await
            .unwrap();
        assert_eq!(left.len(), 1, "round {round}: {left:?}");
        let winner = if a.status() == 204 { &ada.id } else { &charles.id };
        assert_eq!(&left[0], winner, "round {round}");
    }
    println!("teachers removing each other at once, 12 rounds: {outcomes:?}");
}
