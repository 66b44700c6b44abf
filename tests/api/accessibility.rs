//! The structure of the pages that accessibility depends on (issue 17), checked in the HTML the
//! server sends, on both backends: every page starts with a skip link to `<main id="main">`,
//! every data table has a caption and header cells that say what they head (`scope`), the
//! gradebook names its students as row headers, and each score chart has a data table with the
//! chart's numbers. The browser journeys (`browser.rs`) check the rendered pages with axe-core
//! and drive them by keyboard; these checks are the fast, server-side half.

use crate::helpers::{Actor, Backend, Browser, Cast, Part, STUDENT_PASSWORD, TEACHER_PASSWORD, TestApp};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    every_page_starts_with_a_skip_link_and_its_tables_have_captions_and_scopes,
    the_gradebook_names_rows_and_columns,
    each_chart_has_a_data_table_with_its_numbers,
);

const SKIP_LINK: &str = r##"<a class="skip-link" href="#main">Skip to main content</a>"##;

/// The skip link is the first thing in `<body>`, its target is the one `<main>`, and every table
/// has a `<caption>` first and no header cell without a `scope`.
fn check_structure(path: &str, html: &str) {
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"), "{path}: the page's language");
    let body = html.split_once("<body>").map(|(_, b)| b.trim_start()).unwrap_or_default();
    assert!(body.starts_with(SKIP_LINK), "{path}: the first element of the body is the skip link: {}", &body[..80]);
    assert_eq!(html.matches("<main").count(), 1, "{path}: one main");
    assert!(
        html.contains(r#"<main id="main" tabindex="-1">"#),
        "{path}: main is the skip link's target and takes focus"
    );
    // A table wider than a phone scrolls sideways in its wrapper, which the keyboard can reach.
    assert_eq!(
        html.matches(r#"<div class="table-wrap">"#).count(),
        0,
        "{path}: every table wrapper is focusable and named"
    );
    assert_eq!(
        html.matches(r#"<div class="table-wrap" tabindex="0" role="region" aria-label=""#).count(),
        html.matches("<table").count() - html.matches(r#"<table class="distribution-table">"#).count(),
        "{path}: one focusable, named wrapper per table (a chart's two-column table needs none)"
    );
    for (i, table) in html.split("<table").skip(1).enumerate() {
        let table = table.split("</table>").next().unwrap_or_default();
        let first_child = table.split_once('>').map(|(_, rest)| rest.trim_start()).unwrap_or_default();
        assert!(
            first_child.starts_with("<caption"),
            "{path}: table {} has a caption first: {}",
            i + 1,
            &first_child[..60]
        );
        let headers = table.matches("<th>").count() + table.matches("<th ").count();
        let scoped = table.matches(r#"<th scope="col">"#).count() + table.matches(r#"<th scope="row">"#).count();
        assert!(headers > 0, "{path}: table {} has header cells", i + 1);
        assert_eq!(scoped, headers, "{path}: every header cell of table {} has scope=col or scope=row", i + 1);
    }
}

async fn signed_in<'a>(app: &'a TestApp, email: &str, password: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    browser.sign_in(email, password).await;
    browser
}

async fn get_ok(browser: &mut Browser<'_>, path: &str) -> String {
    let resp = browser.get(path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.unwrap()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// An assignment of the cast's course, due in a week, out of 10.
async fn assignment(cast: &Cast, title: &str) -> String {
    let due = (crate::helpers::start_time() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let resp = cast
        .app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&cast.teacher.access_token),
            &json!({"title": title, "instructions": "Show your working.", "due_at": due, "max_points": 10}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    id(&resp.json().await.unwrap())
}

/// `student` hands in text and a file; returns the submission's id.
async fn hand_in(app: &TestApp, student: &Actor, assignment: &str, text: &str) -> String {
    let resp = app
        .post_multipart(
            &format!("/api/grading/assignments/{assignment}/submissions"),
            Some(&student.access_token),
            &[Part::text("body", text), Part::file("working.txt", "text/plain", "x = 1.5214")],
            None,
        )
        .await;
    assert_eq!(resp.status(), 201);
    id(&resp.json().await.unwrap())
}

async fn grade(cast: &Cast, submission: &str, score: f64) {
    let resp = cast
        .app
        .put_json(
            &format!("/api/grading/submissions/{submission}/grade"),
            Some(&cast.teacher.access_token),
            &json!({"score": score, "feedback": "Clear."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

async fn every_page_starts_with_a_skip_link_and_its_tables_have_captions_and_scopes(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let course = cast.course_id().to_owned();
    let material = id(&app.add_material(&cast.teacher, &cast.course, "Notes", "Some *notes*.").await);
    let a = assignment(&cast, "Bisection").await;
    let s = hand_in(app, &cast.enrolled, &a, "My answer.").await;
    grade(&cast, &s, 7.5).await;
    grade(&cast, &s, 8.0).await;
    let resp = app
        .post_json(&format!("/api/grading/assignments/{a}/release"), Some(&cast.teacher.access_token), &json!({}))
        .await;
    assert_eq!(resp.status(), 200);
    let extension = format!("/api/grading/assignments/{a}/extensions/{}", cast.enrolled.id);
    let resp =
        app.put_json(&extension, Some(&cast.teacher.access_token), &json!({"due_at": "2026-12-24T17:00:00Z"})).await;
    assert_eq!(resp.status(), 200, "an extension");

    let mut anonymous = Browser::new(app);
    for path in ["/auth/sign-in", "/auth/sign-up"] {
        check_structure(path, &get_ok(&mut anonymous, path).await);
    }
    let resp = anonymous.get("/nowhere").await;
    assert!(resp.status().is_client_error());
    check_structure("an error page", &resp.text().await.unwrap());

    let mut student = signed_in(app, "grace@example.org", STUDENT_PASSWORD).await;
    for path in [
        "/courses".to_owned(),
        format!("/courses/{course}"),
        format!("/courses/{course}/materials/{material}"),
        format!("/grading/courses/{course}"),
        format!("/grading/assignments/{a}"),
        format!("/grading/submissions/{s}"),
        "/grading/me/grades".to_owned(),
        "/auth/token".to_owned(),
        "/auth/sessions".to_owned(),
        "/home".to_owned(),
    ] {
        check_structure(&path, &get_ok(&mut student, &path).await);
    }

    let mut teacher = signed_in(app, "ada@example.org", TEACHER_PASSWORD).await;
    for path in [
        "/home".to_owned(),
        "/courses/new".to_owned(),
        format!("/courses/{course}"),
        format!("/courses/{course}/audit"),
        format!("/grading/courses/{course}"),
        format!("/grading/assignments/{a}"),
        format!("/grading/assignments/{a}/submissions"),
        format!("/grading/submissions/{s}"),
        format!("/grading/courses/{course}/gradebook"),
    ] {
        let html = get_ok(&mut teacher, &path).await;
        check_structure(&path, &html);
        // The pages with the most tables show them: the checks above ran on real tables.
        if path.ends_with(&format!("/submissions/{s}")) {
            assert!(html.contains("Files handed in") && html.contains("Grade history"), "{path}: files and history");
        }
        if path == format!("/courses/{course}") {
            assert!(html.contains("Staff of ") && html.contains("Students enrolled in "), "{path}: staff and students");
        }
        if path == format!("/grading/assignments/{a}") {
            assert!(html.contains("Students with an extension"), "{path}: the extensions table");
        }
    }
}

async fn the_gradebook_names_rows_and_columns(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let barbara = app.student("Barbara").await;
    app.enroll(&barbara, &cast.course).await;
    let a = assignment(&cast, "Bisection").await;
    let b = assignment(&cast, "Newton").await;
    let s = hand_in(app, &cast.enrolled, &a, "answer").await;
    grade(&cast, &s, 6.0).await;
    hand_in(app, &barbara, &b, "answer").await;

    let mut teacher = signed_in(app, "ada@example.org", TEACHER_PASSWORD).await;
    let html = get_ok(&mut teacher, &format!("/grading/courses/{}/gradebook", cast.course_id())).await;
    let table = html.split(r#"<table class="gradebook">"#).nth(1).unwrap().split("</table>").next().unwrap();
    assert!(
        table.trim_start().starts_with(
            "<caption>Scores of Rust for Beginners: one row per student, one column per assignment</caption>"
        ),
        "the gradebook's caption: {}",
        &table[..120]
    );
    let head = table.split("</thead>").next().unwrap();
    assert_eq!(head.matches(r#"<th scope="col">"#).count(), 3, "Student and one column per assignment");
    assert!(head.contains(r#"<th scope="col">Student</th>"#));
    for title in ["Bisection", "Newton"] {
        assert!(head.contains(&format!(">{title}</a>")), "a column for {title}");
    }
    let body = table.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    for name in ["Barbara", "Grace"] {
        assert!(body.contains(&format!(r#"<th scope="row">{name}</th>"#)), "{name} heads her row");
    }
    assert_eq!(body.matches("<tr>").count(), 2, "one row per enrolled student");
    let foot = table.split("<tfoot>").nth(1).unwrap();
    assert!(foot.contains(r#"<th scope="row">Average</th>"#) && foot.contains(r#"<th scope="row">Median</th>"#));
}

/// The rows of the chart data table of `title`: (range, students).
fn chart_rows(html: &str, title: &str) -> Vec<(String, u32)> {
    let caption = format!("<caption>Score distribution of {title}</caption>");
    let table = html.split(&caption).nth(1).unwrap_or_else(|| panic!("a data table for {title}"));
    let body = table.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    body.split(r#"<tr><th scope="row">"#)
        .skip(1)
        .map(|row| {
            let (range, rest) = row.split_once("</th><td>").unwrap();
            let count = rest.split_once("</td>").unwrap().0;
            (range.to_owned(), count.parse().unwrap())
        })
        .collect()
}

async fn each_chart_has_a_data_table_with_its_numbers(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let a = assignment(&cast, "Bisection").await;
    assignment(&cast, "Newton").await;
    let mut students = Vec::new();
    for name in ["Barbara", "Hedy", "Katherine"] {
        let s = app.student(name).await;
        app.enroll(&s, &cast.course).await;
        students.push(s);
    }
    // Bisection: 4, 9.5 and 10 (10 is in the last bar, which includes the maximum), 0.
    for (student, score) in [&cast.enrolled].into_iter().chain(&students).zip([4.0, 9.5, 10.0, 0.0]) {
        let s = hand_in(app, student, &a, "answer").await;
        grade(&cast, &s, score).await;
    }

    let mut teacher = signed_in(app, "ada@example.org", TEACHER_PASSWORD).await;
    let html = get_ok(&mut teacher, &format!("/grading/courses/{}/gradebook", cast.course_id())).await;
    let bisection = chart_rows(&html, "Bisection");
    let ranges: Vec<&str> = bisection.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(ranges.len(), 10, "ten bars, ten rows");
    assert_eq!((ranges[0], ranges[4], ranges[9]), ("0% to under 10%", "40% to under 50%", "90% to 100%"));
    let counts: Vec<u32> = bisection.iter().map(|(_, c)| *c).collect();
    assert_eq!(counts, [1, 0, 0, 0, 1, 0, 0, 0, 0, 2], "the same numbers as the bars");
    // The bars say the same in their titles.
    assert!(html.contains("2 students scored in [90%, 100%] of the maximum"));
    assert!(html.contains("1 student scored in [40%, 50%) of the maximum"));
    // Nothing graded in Newton: a table of zeros.
    assert!(chart_rows(&html, "Newton").iter().all(|(_, c)| *c == 0));
    // The chart itself is an image with a name that points to the table.
    assert_eq!(html.matches(r#"role="img" aria-label="Bar chart: score distribution of "#).count(), 2, "both charts");
    assert_eq!(html.matches(r#"<details class="chart-data">"#).count(), 2, "a data table per chart");
}
