//! Where people start (docs/api.md, "Homes"): a teacher's grading queue across the courses they
//! are staff of, the grading page's previous and next ungraded attempts, and a student's work due
//! soon with its state and their recent released grades. Time moves with the app's clock.

use crate::helpers::{Actor, Backend, Browser, Cast, TEACHER_PASSWORD, TestApp, csrf_token, location, start_time};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    the_teachers_queue_lists_latest_ungraded_attempts_oldest_first,
    graders_and_other_teachers_see_only_their_courses_queues,
    the_grading_page_links_the_previous_and_next_ungraded,
    the_students_home_lists_work_due_soon_with_its_state,
    anonymous_visitors_are_sent_to_sign_in_from_home,
);

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// GET a page with the access cookie, expecting 200.
async fn page(app: &TestApp, who: &Actor, path: &str) -> String {
    let resp =
        app.api.get(app.url(path)).header("cookie", format!("lectern_at={}", who.access_token)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.unwrap()
}

/// An assignment due `days` days after the start, with an optional late policy; its id.
async fn assignment(app: &TestApp, teacher: &Actor, course: &str, title: &str, days: i64, policy: Value) -> String {
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{course}/assignments"),
            Some(&teacher.access_token),
            &json!({
                "title": title,
                "due_at": rfc3339(start_time() + time::Duration::days(days)),
                "max_points": 10,
                "late_policy": policy,
            }),
        )
        .await;
    assert_eq!(resp.status(), 201, "create {title}");
    resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn submit(app: &TestApp, who: &Actor, assignment: &str) -> String {
    let resp = app
        .post_json(
            &format!("/api/grading/assignments/{assignment}/submissions"),
            Some(&who.access_token),
            &json!({"body": "my work"}),
        )
        .await;
    assert_eq!(resp.status(), 201, "submit");
    resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn grade(app: &TestApp, grader: &Actor, submission: &str, score: f64) {
    let resp = app
        .put_json(
            &format!("/api/grading/submissions/{submission}/grade"),
            Some(&grader.access_token),
            &json!({"score": score, "feedback": ""}),
        )
        .await;
    assert_eq!(resp.status(), 200, "grade");
}

/// Where each submission's link first appears on the page (`None`: not listed).
fn positions(html: &str, ids: &[&str]) -> Vec<Option<usize>> {
    ids.iter().map(|id| html.find(&format!("/grading/submissions/{id}\""))).collect()
}

/// The cast's course with two assignments; Barbara and Kim enrolled beside Grace; a minute
/// between hand-ins: Grace #1 on A1, Barbara on A1, Grace #2 on A1, Kim on A1, Grace on A2.
struct Queue {
    cast: Cast,
    grace_first: String,
    barbara: String,
    grace_second: String,
    kim: String,
    grace_a2: String,
}

impl Queue {
    async fn new(backend: Backend) -> Self {
        let mut cast = Cast::new(backend).await;
        let barbara = cast.app.student("Barbara").await;
        let kim = cast.app.student("Kim").await;
        cast.app.enroll(&barbara, &cast.course).await;
        cast.app.enroll(&kim, &cast.course).await;
        let course = cast.course_id().to_owned();
        let a1 = assignment(&cast.app, &cast.teacher, &course, "Essay", 1, Value::Null).await;
        let a2 = assignment(&cast.app, &cast.teacher, &course, "Review", 3, Value::Null).await;
        let grace_first = submit(&cast.app, &cast.enrolled, &a1).await;
        cast.advance(60).await;
        let mut barbara = barbara;
        cast.app.renew(&mut barbara).await;
        let barbara_sub = submit(&cast.app, &barbara, &a1).await;
        cast.advance(60).await;
        let grace_second = submit(&cast.app, &cast.enrolled, &a1).await;
        cast.advance(60).await;
        let mut kim = kim;
        cast.app.renew(&mut kim).await;
        let kim_sub = submit(&cast.app, &kim, &a1).await;
        cast.advance(60).await;
        let grace_a2 = submit(&cast.app, &cast.enrolled, &a2).await;
        Self { cast, grace_first, barbara: barbara_sub, grace_second, kim: kim_sub, grace_a2 }
    }
}

async fn the_teachers_queue_lists_latest_ungraded_attempts_oldest_first(backend: Backend) {
    let q = Queue::new(backend).await;
    let app = &q.cast.app;
    let html = page(app, &q.cast.teacher, "/home").await;
    assert!(html.contains("Awaiting grading") && html.contains("4 attempts await a grade"), "{html}");
    let at = positions(&html, &[&q.barbara, &q.grace_second, &q.kim, &q.grace_a2, &q.grace_first]);
    let listed: Vec<usize> = at[..4].iter().map(|p| p.expect("listed")).collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "oldest first: {at:?}");
    assert_eq!(at[4], None, "only each student's latest attempt");
    // Each row names its course, assignment and student, with the submitted time in a <time>.
    assert!(html.contains("Rust for Beginners") && html.contains("Barbara") && html.contains("Review"));
    assert!(html.contains("<time datetime=\"2026-11-28T09:01:00Z\">Sat 28 Nov 2026, 09:01 UTC</time>"), "{html}");

    // A graded attempt leaves the queue; a new attempt after it comes back as the latest.
    grade(app, &q.cast.grader, &q.barbara, 7.0).await;
    let html = page(app, &q.cast.teacher, "/home").await;
    assert!(html.contains("3 attempts await a grade"), "{html}");
    assert_eq!(positions(&html, &[&q.barbara])[0], None, "graded: no longer waiting");
    grade(app, &q.cast.teacher, &q.grace_second, 8.0).await;
    grade(app, &q.cast.teacher, &q.kim, 8.0).await;
    grade(app, &q.cast.teacher, &q.grace_a2, 8.0).await;
    let html = page(app, &q.cast.teacher, "/home").await;
    assert!(html.contains("Nothing awaits a grade"), "{html}");
}

async fn graders_and_other_teachers_see_only_their_courses_queues(backend: Backend) {
    let q = Queue::new(backend).await;
    let app = &q.cast.app;
    // Alan teaches another course, where Edsger hands in work.
    let other = app.create_course(&q.cast.other_teacher, "Haskell", true).await;
    app.enroll(&q.cast.other_student, &other).await;
    let other_id = other["id"].as_str().unwrap();
    let b1 = assignment(app, &q.cast.other_teacher, other_id, "Monads", 2, Value::Null).await;
    let edsger = submit(app, &q.cast.other_student, &b1).await;
    let ours = [q.barbara.as_str(), q.grace_second.as_str(), q.kim.as_str(), q.grace_a2.as_str()];

    for (who, actor) in [("co-teacher", &q.cast.co_teacher), ("grader", &q.cast.grader)] {
        let html = page(app, actor, "/home").await;
        assert!(positions(&html, &ours).iter().all(Option::is_some), "{who} sees the course's queue");
        assert_eq!(positions(&html, &[&edsger])[0], None, "{who} does not see another teacher's course");
    }
    let html = page(app, &q.cast.other_teacher, "/home").await;
    assert!(html.contains("1 attempt awaits a grade"), "{html}");
    assert!(positions(&html, &[&edsger])[0].is_some());
    assert!(positions(&html, &ours).iter().all(Option::is_none), "another teacher's queue holds only their course");
    // The grader made staff of Alan's course sees it too.
    let resp = app
        .post_json(
            &format!("/api/courses/{other_id}/staff"),
            Some(&q.cast.other_teacher.access_token),
            &json!({"email": "emmy@example.org", "role": "grader"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let html = page(app, &q.cast.grader, "/home").await;
    assert!(html.contains("5 attempts await a grade") && positions(&html, &[&edsger])[0].is_some(), "{html}");
}

async fn the_grading_page_links_the_previous_and_next_ungraded(backend: Backend) {
    let q = Queue::new(backend).await;
    let app = &q.cast.app;
    let links = |html: &str| {
        let find = |rel: &str| {
            html.split(&format!("rel=\"{rel}\" href=\"/grading/submissions/"))
                .nth(1)
                .map(|rest| rest.split('"').next().unwrap().to_owned())
        };
        (find("prev"), find("next"))
    };
    let at = |id: &str| format!("/grading/submissions/{id}");
    // A1's queue: Barbara, Grace's second attempt, Kim (Grace's first is not her latest).
    let html = page(app, &q.cast.grader, &at(&q.barbara)).await;
    assert_eq!(links(&html), (None, Some(q.grace_second.clone())));
    let html = page(app, &q.cast.grader, &at(&q.grace_second)).await;
    assert_eq!(links(&html), (Some(q.barbara.clone()), Some(q.kim.clone())));
    // After the last one, "next" goes back to the first still waiting.
    let html = page(app, &q.cast.teacher, &at(&q.kim)).await;
    assert_eq!(links(&html), (Some(q.grace_second.clone()), Some(q.barbara.clone())));
    // Another assignment's attempts are not in this queue; a student's page has no queue.
    assert!(!html.contains(&at(&q.grace_a2)));
    let own = page(app, &q.cast.enrolled, &at(&q.grace_second)).await;
    assert_eq!(links(&own), (None, None));
    assert!(!own.contains("Next ungraded"));

    // "Save and grade the next" saves and goes on; the graded one leaves the queue.
    let mut browser = Browser::new(app);
    browser.sign_in("emmy@example.org", TEACHER_PASSWORD).await;
    let (html, _) = browser.page(&at(&q.barbara)).await;
    let token = csrf_token(&html);
    let resp = browser
        .post_form(
            &format!("{}/grade", at(&q.barbara)),
            &[("csrf_token", &token), ("score", "6"), ("feedback", ""), ("then", "next")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), format!("{}?graded=1", at(&q.grace_second)));
    let (html, _) = browser.page(&at(&q.grace_second)).await;
    assert_eq!(links(&html), (None, Some(q.kim.clone())));
    // Saving the last one waiting ends on the home.
    for id in [&q.grace_second, &q.kim] {
        let (html, _) = browser.page(&at(id)).await;
        let token = csrf_token(&html);
        let resp = browser
            .post_form(&format!("{}/grade", at(id)), &[("csrf_token", &token), ("score", "5"), ("then", "next")])
            .await;
        assert_eq!(resp.status(), 303);
        if id == &q.kim {
            assert_eq!(location(&resp), "/home?done=queue-done");
        }
    }
    let (html, _) = browser.page(&at(&q.kim)).await;
    assert_eq!(links(&html), (None, None));
    assert!(html.contains("No other attempt here awaits a grade."));
    // The plain "Save grade" stays on the attempt.
    let (html, _) = browser.page(&at(&q.kim)).await;
    let resp = browser
        .post_form(&format!("{}/grade", at(&q.kim)), &[("csrf_token", &csrf_token(&html)), ("score", "9")])
        .await;
    assert_eq!(location(&resp), format!("{}?graded=1", at(&q.kim)));
}

async fn the_students_home_lists_work_due_soon_with_its_state(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let course = cast.course_id().to_owned();
    let t = &cast.teacher;
    let soon = assignment(app, t, &course, "Soon essay", 2, Value::Null).await;
    let graded = assignment(app, t, &course, "Graded quiz", 5, Value::Null).await;
    let _far = assignment(app, t, &course, "Far project", 30, Value::Null).await;
    let _late = assignment(app, t, &course, "Late lab", -2, Value::Null).await;
    let _closed = assignment(
        app,
        t,
        &course,
        "Closed lab",
        -3,
        json!({"percent_per_day": 10, "max_percent": 50, "close_after_days": 1}),
    )
    .await;
    // Edsger's course is not Grace's.
    let other = app.create_course(&cast.other_teacher, "Haskell", true).await;
    app.enroll(&cast.other_student, &other).await;
    assignment(app, &cast.other_teacher, other["id"].as_str().unwrap(), "Monads", 2, Value::Null).await;

    let quiz = submit(app, &cast.enrolled, &graded).await;
    let essay = submit(app, &cast.enrolled, &soon).await;
    grade(app, t, &quiz, 8.0).await;

    let html = page(app, &cast.enrolled, "/home").await;
    let row = |title: &str| html.split("<tr>").find(|r| r.contains(title)).map(str::to_owned).unwrap_or_default();
    assert!(
        row("Soon essay").contains("submitted") && row("Soon essay").contains(&format!("/grading/submissions/{essay}"))
    );
    assert!(row("Soon essay").contains("(in 2 days)"), "{}", row("Soon essay"));
    assert!(row("Graded quiz").contains("submitted"), "graded but not released: shown as submitted");
    assert!(!html.contains("8 / 10"), "an unreleased grade never shows: {html}");
    assert!(html.contains("No released grades yet."));
    assert!(row("Late lab").contains("not submitted") && row("Late lab").contains("overdue"));
    assert!(row("Late lab").contains("(2 days ago)"), "{}", row("Late lab"));
    for absent in ["Far project", "Closed lab", "Monads"] {
        assert!(!html.contains(absent), "{absent} is not on Grace's home");
    }
    // Ordered by due date: the overdue lab first.
    let pos = |s: &str| html.find(s).unwrap();
    assert!(pos("Late lab") < pos("Soon essay") && pos("Soon essay") < pos("Graded quiz"));

    // Released: the state shows the grade, and it is among the recent grades.
    let resp =
        app.post_json(&format!("/api/grading/assignments/{graded}/release"), Some(&t.access_token), &json!({})).await;
    assert_eq!(resp.status(), 200);
    let html = page(app, &cast.enrolled, "/home").await;
    let quiz_row = html.split("<tr>").find(|r| r.contains("Graded quiz") && r.contains("badge")).unwrap();
    assert!(quiz_row.contains("graded") && quiz_row.contains("8 / 10"), "{quiz_row}");
    let recent = html.split_once("<h2>Recent grades</h2>").unwrap().1;
    assert!(recent.contains("Graded quiz") && recent.contains("8 / 10"), "{recent}");

    // Another student's home shows only their courses.
    let theirs = page(app, &cast.other_student, "/home").await;
    assert!(theirs.contains("Monads") && !theirs.contains("Soon essay"), "{theirs}");
}

async fn anonymous_visitors_are_sent_to_sign_in_from_home(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let resp = app.get("/home", None).await;
    assert_eq!(resp.status(), 303);
    assert!(location(&resp).starts_with("/auth/sign-in?next="), "{}", location(&resp));
    let root = app.get("/", None).await;
    assert_eq!(location(&root), "/home");
    // Signing in without a `next` lands on the home.
    let mut browser = Browser::new(app);
    let (_, token) = browser.page("/auth/sign-in").await;
    let resp = browser
        .post_form(
            "/auth/sign-in",
            &[("csrf_token", &token), ("email", "ada@example.org"), ("password", TEACHER_PASSWORD)],
        )
        .await;
    assert_eq!(location(&resp), "/home");
    let (html, _) = browser.page("/home").await;
    assert!(html.contains("<a href=\"/home\">Home</a>"), "the navigation links the home");
}
