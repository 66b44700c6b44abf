//! Deadlines (docs/api.md): per-student extensions, the late policy's penalty in started days,
//! the cut-off's 409, and final scores in grades, the gradebook, its CSV and "my grades", hidden
//! from students until release. Time moves with the app's clock, never by sleeping.

use crate::helpers::{Actor, Backend, Cast, TestApp, start_time};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    extensions_move_a_students_due_date,
    the_late_policy_takes_its_penalty_and_closes,
    late_policies_and_extensions_are_checked_with_422,
);

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// Due one day after the start; the policy as given.
async fn assignment(cast: &Cast, policy: Value) -> String {
    let resp = cast
        .app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&cast.teacher.access_token),
            &json!({
                "title": "Essay",
                "due_at": rfc3339(start_time() + time::Duration::days(1)),
                "max_points": 10,
                "late_policy": policy,
            }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let a: Value = resp.json().await.unwrap();
    a["id"].as_str().unwrap().to_owned()
}

async fn submit(app: &TestApp, who: &Actor, a: &str, body: &str) -> reqwest::Response {
    app.post_json(&format!("/api/grading/assignments/{a}/submissions"), Some(&who.access_token), &json!({"body": body}))
        .await
}

async fn grade(cast: &Cast, submission: &str, score: f64) -> Value {
    let resp = cast
        .app
        .put_json(
            &format!("/api/grading/submissions/{submission}/grade"),
            Some(&cast.grader.access_token),
            &json!({"score": score, "feedback": ""}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn extensions_move_a_students_due_date(backend: Backend) {
    let mut cast = Cast::new(backend).await;
    let mut barbara = cast.app.student("Barbara").await;
    cast.app.enroll(&barbara, &cast.course).await;
    let a = assignment(&cast, json!({"percent_per_day": 10, "max_percent": 50, "close_after_days": 2})).await;
    let ext = format!("/api/grading/assignments/{a}/extensions/{}", cast.enrolled.id);
    let due = rfc3339(start_time() + time::Duration::days(4));
    let resp = cast.app.put_json(&ext, Some(&cast.teacher.access_token), &json!({"due_at": due})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"student_id": cast.enrolled.id, "due_at": due}));

    // Grace sees her own due date, Barbara and the staff the assignment's.
    let mine: Value = cast
        .app
        .get(&format!("/api/grading/assignments/{a}"), Some(&cast.enrolled.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((mine["due_at"].as_str(), mine["extended"].as_bool()), (Some(due.as_str()), Some(true)));
    assert_eq!(mine["closes_at"], rfc3339(start_time() + time::Duration::days(6)));
    let list: Value = cast
        .app
        .get(&format!("/api/grading/courses/{}/assignments", cast.course_id()), Some(&cast.enrolled.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["due_at"], due.as_str());
    let assignment_due = rfc3339(start_time() + time::Duration::days(1));
    for who in [&barbara, &cast.teacher] {
        let seen: Value =
            cast.app.get(&format!("/api/grading/assignments/{a}"), Some(&who.access_token)).await.json().await.unwrap();
        assert_eq!((seen["due_at"].as_str(), seen["extended"].as_bool()), (Some(assignment_due.as_str()), Some(false)));
    }
    let listed: Value = cast
        .app
        .get(&format!("/api/grading/assignments/{a}/extensions"), Some(&cast.grader.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["student"]["display_name"], "Grace");

    // Three days on: Barbara is past the cut-off, Grace is not even late.
    cast.advance(3 * 86_400 + 1).await;
    cast.app.renew(&mut barbara).await;
    let resp = submit(&cast.app, &barbara, &a, "late").await;
    assert_eq!(resp.status(), 409);
    assert!(TestApp::problem(resp).await["detail"].as_str().unwrap().contains("closed"));
    let resp = submit(&cast.app, &cast.enrolled, &a, "on time, thanks to the extension").await;
    assert_eq!(resp.status(), 201);
    let receipt: Value = resp.json().await.unwrap();
    assert_eq!(receipt["late"], false);
    let graded = grade(&cast, receipt["id"].as_str().unwrap(), 8.0).await;
    assert_eq!((graded["penalty_percent"].as_f64(), graded["final_score"].as_f64()), (Some(0.0), Some(8.0)));

    // Taking the extension back makes the same attempt three days late: 30 % off, at once.
    assert_eq!(cast.app.delete(&ext, Some(&cast.teacher.access_token)).await.status(), 204);
    assert_eq!(
        cast.app.delete(&ext, Some(&cast.teacher.access_token)).await.status(),
        204,
        "removing twice is harmless"
    );
    let s: Value = cast
        .app
        .get(&format!("/api/grading/submissions/{}", receipt["id"].as_str().unwrap()), Some(&cast.teacher.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((s["late"].as_bool(), s["due_at"].as_str()), (Some(true), Some(assignment_due.as_str())));
    assert_eq!((s["grade"]["penalty_percent"].as_f64(), s["grade"]["final_score"].as_f64()), (Some(30.0), Some(5.6)));
    // And Grace is now past the cut-off too.
    assert_eq!(submit(&cast.app, &cast.enrolled, &a, "again").await.status(), 409);
}

async fn the_late_policy_takes_its_penalty_and_closes(backend: Backend) {
    let mut cast = Cast::new(backend).await;
    let (mut barbara, mut linus) = (cast.app.student("Barbara").await, cast.app.student("Linus").await);
    cast.app.enroll(&barbara, &cast.course).await;
    cast.app.enroll(&linus, &cast.course).await;
    let a = assignment(&cast, json!({"percent_per_day": 12.5, "max_percent": 30, "close_after_days": 3})).await;

    // On time, 1 s late (a started day), a day and 1 s late (two), two days and 1 s (three: capped at 30 %).
    let on_time = submit(&cast.app, &cast.enrolled, &a, "early").await.json::<Value>().await.unwrap();
    cast.advance(86_400 + 1).await;
    cast.app.renew(&mut barbara).await;
    cast.app.renew(&mut linus).await;
    let one_day = submit(&cast.app, &barbara, &a, "a second late").await.json::<Value>().await.unwrap();
    cast.advance(86_400).await;
    cast.app.renew(&mut barbara).await;
    cast.app.renew(&mut linus).await;
    let two_days = submit(&cast.app, &linus, &a, "a day and a second late").await.json::<Value>().await.unwrap();
    cast.advance(86_400).await;
    cast.app.renew(&mut barbara).await;
    cast.app.renew(&mut linus).await;
    let capped = submit(&cast.app, &barbara, &a, "two days and a second late").await.json::<Value>().await.unwrap();
    assert_eq!(
        [&on_time, &one_day, &two_days, &capped].map(|r| r["late"].as_bool().unwrap()),
        [false, true, true, true]
    );

    let expect = [(&on_time, 0.0, 8.0), (&one_day, 12.5, 7.0), (&two_days, 25.0, 6.0), (&capped, 30.0, 5.6)];
    for (receipt, penalty, final_score) in expect {
        let g = grade(&cast, receipt["id"].as_str().unwrap(), 8.0).await;
        assert_eq!(g["score"], 8, "the score is kept as given");
        assert_eq!(
            (g["penalty_percent"].as_f64(), g["final_score"].as_f64()),
            (Some(penalty), Some(final_score)),
            "{receipt}"
        );
    }
    // Rounding: 7.25 less 12.5 % is 6.34375, shown as 6.34.
    let g = grade(&cast, one_day["id"].as_str().unwrap(), 7.25).await;
    assert_eq!(g["final_score"].as_f64(), Some(6.34));

    // Three days after the due date it still takes work; a second later it is closed.
    cast.advance(86_400 - 1).await;
    cast.app.renew(&mut barbara).await;
    cast.app.renew(&mut linus).await;
    assert_eq!(submit(&cast.app, &linus, &a, "just in").await.status(), 201);
    cast.advance(1).await;
    cast.app.renew(&mut barbara).await;
    cast.app.renew(&mut linus).await;
    let resp = submit(&cast.app, &linus, &a, "too late").await;
    assert_eq!(resp.status(), 409);
    let problem = TestApp::problem(resp).await;
    assert!(problem["detail"].as_str().unwrap().contains("this assignment is closed"), "{problem}");

    // Before release the students see no grade, no penalty, no final score.
    let own: Value = cast
        .app
        .get(&format!("/api/grading/assignments/{a}/submissions"), Some(&barbara.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(own["items"].as_array().unwrap().iter().all(|s| s["grade"].is_null()));
    let mine: Value = cast.app.get("/api/grading/me/grades", Some(&barbara.access_token)).await.json().await.unwrap();
    assert_eq!(mine["total"], 0);
    let detail: Value = cast
        .app
        .get(&format!("/api/grading/submissions/{}", capped["id"].as_str().unwrap()), Some(&barbara.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(detail["grade"].is_null() && detail.get("penalty_percent").is_none());

    // The gradebook (JSON and CSV) uses each latest attempt's final score.
    let book: Value = cast
        .app
        .get(&format!("/api/grading/courses/{}/gradebook", cast.course_id()), Some(&cast.teacher.access_token))
        .await
        .json()
        .await
        .unwrap();
    let by_name: std::collections::HashMap<&str, &Value> = book["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["student"]["display_name"].as_str().unwrap(), &r["scores"][0]))
        .collect();
    assert_eq!(by_name["Grace"].as_f64(), Some(8.0));
    assert_eq!(by_name["Barbara"].as_f64(), Some(5.6), "Barbara's latest attempt is the capped one");
    assert!(by_name["Linus"].is_null(), "Linus's latest attempt is not graded");
    let csv = cast
        .app
        .get(
            &format!("/api/grading/courses/{}/gradebook?format=csv", cast.course_id()),
            Some(&cast.teacher.access_token),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().any(|l| l.starts_with("Barbara,") && l.ends_with(",5.6")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("Grace,") && l.ends_with(",8")), "{csv}");

    // After release: "my grades" shows score, penalty and final score.
    assert_eq!(
        cast.app
            .post_json(&format!("/api/grading/assignments/{a}/release"), Some(&cast.teacher.access_token), &json!({}))
            .await
            .status(),
        200
    );
    let mine: Value = cast.app.get("/api/grading/me/grades", Some(&barbara.access_token)).await.json().await.unwrap();
    let finals: Vec<(f64, f64, f64)> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (g["score"].as_f64().unwrap(), g["penalty_percent"].as_f64().unwrap(), g["final_score"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(finals, [(8.0, 30.0, 5.6), (7.25, 12.5, 6.34)], "newest attempt first");
}

async fn late_policies_and_extensions_are_checked_with_422(backend: Backend) {
    let mut cast = Cast::new(backend).await;
    let path = format!("/api/grading/courses/{}/assignments", cast.course_id());
    for (policy, field) in [
        (json!({"percent_per_day": 150, "max_percent": 50}), "late_policy.percent_per_day"),
        (json!({"percent_per_day": 10.001, "max_percent": 50}), "late_policy.percent_per_day"),
        (json!({"percent_per_day": 10}), "late_policy.max_percent"),
        (json!({"percent_per_day": 10, "max_percent": 50, "close_after_days": 0.5}), "late_policy.close_after_days"),
        (json!({"percent_per_day": 10, "max_percent": 50, "close_after_days": -1}), "late_policy.close_after_days"),
        (json!("ten percent"), "late_policy"),
    ] {
        let body = json!({"title": "Essay", "due_at": "2026-12-01T17:00:00Z", "max_points": 10, "late_policy": policy});
        let resp = cast.app.post_json(&path, Some(&cast.teacher.access_token), &body).await;
        assert_eq!(resp.status(), 422, "{policy}");
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], field, "{policy}");
    }
    let a = assignment(&cast, Value::Null).await;
    let detail: Value = cast
        .app
        .get(&format!("/api/grading/assignments/{a}"), Some(&cast.teacher.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(detail["late_policy"].is_null() && detail["closes_at"].is_null());
    // An extension needs an RFC 3339 time and an enrolled student.
    let other = format!("/api/grading/assignments/{a}/extensions/{}", cast.other_student.id);
    let resp =
        cast.app.put_json(&other, Some(&cast.teacher.access_token), &json!({"due_at": "2026-12-24T12:00:00Z"})).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "student_id");
    let grace = format!("/api/grading/assignments/{a}/extensions/{}", cast.enrolled.id);
    let resp = cast.app.put_json(&grace, Some(&cast.teacher.access_token), &json!({"due_at": "next week"})).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "due_at");
    // Without a policy, late work is only flagged.
    cast.advance(10 * 86_400).await;
    let late = submit(&cast.app, &cast.enrolled, &a, "ten days late").await;
    assert_eq!(late.status(), 201);
    let late: Value = late.json().await.unwrap();
    assert_eq!(late["late"], true);
    let g = grade(&cast, late["id"].as_str().unwrap(), 9.0).await;
    assert_eq!((g["penalty_percent"].as_f64(), g["final_score"].as_f64()), (Some(0.0), Some(9.0)));
}
