//! course-service through its API and pages: the catalog, enrollments, materials, input rules.

use crate::helpers::{
    Backend, Browser, Cast, STUDENT_PASSWORD, TEACHER_PASSWORD, TestApp, TestDb, location, spawn_app, spawn_on,
};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    a_teacher_builds_a_course_and_a_student_reads_it,
    the_catalog_searches_and_pages_in_a_stable_order,
    course_input_rules_name_the_field,
    material_input_rules_and_large_bodies,
    markdown_is_sanitised,
    teachers_manage_enrollments,
    leaving_keeps_nothing_behind_but_is_allowed,
    materials_keep_their_order,
    malformed_ids_are_not_found,
    the_course_journey_in_pages,
    the_catalog_copy_is_fresh_here_and_within_two_seconds_elsewhere,
    pages_and_the_api_share_one_input_rule_and_one_role_rule,
    a_caller_who_may_not_act_learns_nothing_from_a_422,
    each_catalog_entry_lists_its_teachers_as_the_course_does,
);

async fn a_teacher_builds_a_course_and_a_student_reads_it(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    assert_eq!(cast.course["teachers"][0]["display_name"], "Ada");
    assert_eq!(cast.course["enrollment_code"].as_str().unwrap().len(), 12);
    let material = app.add_material(&cast.teacher, &cast.course, "Ownership", "Every value has **one** owner.").await;
    let page: Value =
        app.get("/api/courses?q=rust", Some(&cast.other_student.access_token)).await.json().await.unwrap();
    let found = &page["items"][0];
    assert_eq!(found["title"], "Rust for Beginners");
    assert_eq!(found["enrolled"], false);
    assert!(found.get("enrollment_code").is_none(), "the catalog never shows the code");
    let mine: Value = app.get("/api/courses", Some(&cast.enrolled.access_token)).await.json().await.unwrap();
    assert_eq!(mine["items"][0]["enrolled"], true);
    // The course as a student sees it: no code.
    let seen: Value = app
        .get(&format!("/api/courses/{}", cast.course_id()), Some(&cast.enrolled.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(seen.get("enrollment_code").is_none());
    assert_eq!(seen["enrolled"], true);
    let read: Value = app
        .get(&format!("/api/materials/{}", material["id"].as_str().unwrap()), Some(&cast.enrolled.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["course_id"], cast.course_id());
    assert_eq!(read["body_html"], "<p>Every value has <strong>one</strong> owner.</p>\n");
    assert_eq!(read["position"], 1);
    // The student who has not enrolled can see the course but not its materials.
    let denied =
        app.get(&format!("/api/courses/{}/materials", cast.course_id()), Some(&cast.other_student.access_token)).await;
    assert_eq!(denied.status(), 403);
    // A wrong code is refused and enrolls nobody.
    let wrong = app
        .post_json(
            &format!("/api/courses/{}/enrollments", cast.course_id()),
            Some(&cast.other_student.access_token),
            &json!({"enrollment_code": "0000-0000-0000"}),
        )
        .await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(
        app.get(&format!("/api/courses/{}/materials", cast.course_id()), Some(&cast.other_student.access_token))
            .await
            .status(),
        403
    );
    // The code typed in lower case with spaces works.
    let typed = cast.course["enrollment_code"].as_str().unwrap().to_lowercase();
    let ok = app
        .post_json(
            &format!("/api/courses/{}/enrollments", cast.course_id()),
            Some(&cast.other_student.access_token),
            &json!({"enrollment_code": format!(" {typed} ")}),
        )
        .await;
    assert_eq!(ok.status(), 201);
}

async fn the_catalog_searches_and_pages_in_a_stable_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    let grace = app.student("Grace").await;
    for i in (0..25).rev() {
        app.create_course(&ada, &format!("Course {i:02}"), true).await;
    }
    app.create_course(&ada, "Discount 100% off_", true).await;
    app.create_course(&ada, "Hidden draft", false).await;
    let mut seen = Vec::new();
    for page in 1..=3 {
        let body: Value = app
            .get(&format!("/api/courses?page={page}&per_page=10"), Some(&grace.access_token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["total"], 26);
        assert_eq!(body["page"], page);
        assert_eq!(body["per_page"], 10);
        seen.extend(body["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "title order");
    assert_eq!(seen.len(), 26, "no duplicates, nothing missing");
    let teacher_view: Value = app.get("/api/courses?per_page=100", Some(&ada.access_token)).await.json().await.unwrap();
    assert_eq!(teacher_view["total"], 27, "a teacher also sees their drafts");
    // Unpublishing and publishing move the totals, for students and teachers alike.
    let first = teacher_view["items"][0]["id"].as_str().unwrap().to_owned();
    app.patch_json(&format!("/api/courses/{first}"), Some(&ada.access_token), &json!({"published": false})).await;
    let students: Value = app.get("/api/courses", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(students["total"], 25);
    let teacher_view: Value = app.get("/api/courses", Some(&ada.access_token)).await.json().await.unwrap();
    assert_eq!(teacher_view["total"], 27, "the unpublished course is now one of the teacher's drafts");
    app.patch_json(
        &format!("/api/courses/{first}"),
        Some(&ada.access_token),
        &json!({"published": true, "title": "Renamed"}),
    )
    .await;
    let students: Value = app.get("/api/courses", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(students["total"], 26);
    let found: Value = app.get("/api/courses?q=COURSE%201", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(found["total"], 10, "case-insensitive substring");
    let literal: Value = app.get("/api/courses?q=100%25%20off_", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(literal["total"], 1, "% and _ are literal");
    let wildcard: Value = app.get("/api/courses?q=%25", Some(&grace.access_token)).await.json().await.unwrap();
    assert_eq!(wildcard["total"], 1);
    for bad in ["per_page=101", "page=0", "page=x"] {
        let resp = app.get(&format!("/api/courses?{bad}"), Some(&grace.access_token)).await;
        assert_eq!(resp.status(), 422, "{bad}");
        TestApp::problem(resp).await;
    }
}

async fn course_input_rules_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.teacher("Ada").await;
    for (body, field) in [
        (json!({"title": "", "summary": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "ok", "summary": "x".repeat(2001)}), "summary"),
    ] {
        let resp = app.post_json("/api/courses", Some(&ada.access_token), &body).await;
        assert_eq!(resp.status(), 422, "{field}");
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], field);
    }
    let resp = app.post_json("/api/courses", Some(&ada.access_token), &json!({"title": 5})).await;
    assert_eq!(resp.status(), 422);
    let page: Value = app.get("/api/courses", Some(&ada.access_token)).await.json().await.unwrap();
    assert_eq!(page["total"], 0, "nothing half-written");
    let course = app.create_course(&ada, &"é".repeat(200), false).await;
    let resp = app
        .patch_json(
            &format!("/api/courses/{}", course["id"].as_str().unwrap()),
            Some(&ada.access_token),
            &json!({"title": ""}),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let again: Value = app
        .get(&format!("/api/courses/{}", course["id"].as_str().unwrap()), Some(&ada.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["title"], "é".repeat(200));
}

async fn material_input_rules_and_large_bodies(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let path = format!("/api/courses/{}/materials", cast.course_id());
    let token = Some(cast.teacher.access_token.as_str());
    // 50,000 two-byte characters: 100 KB, above the usual 64 KiB limit but within 512 KiB.
    let resp = app.post_json(&path, token, &json!({"title": "Long", "body_markdown": "é".repeat(50_000)})).await;
    assert_eq!(resp.status(), 201);
    for (body, field) in [
        (json!({"title": "Too long", "body_markdown": "a".repeat(50_001)}), "body_markdown"),
        (json!({"title": "", "body_markdown": "x"}), "title"),
        (json!({"title": "x", "body_markdown": "x", "position": -1}), "position"),
    ] {
        let resp = app.post_json(&path, token, &body).await;
        assert_eq!(resp.status(), 422, "{field}");
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], field);
    }
    let huge = app.post_json(&path, token, &json!({"title": "Huge", "body_markdown": "a".repeat(600 * 1024)})).await;
    assert_eq!(huge.status(), 413);
    let list: Value = app.get(&path, token).await.json().await.unwrap();
    assert_eq!(list["total"], 1, "only the valid material exists");
    // The usual 64 KiB limit still holds elsewhere.
    let big_course =
        app.post_json("/api/courses", token, &json!({"title": "x", "summary": "a".repeat(70 * 1024)})).await;
    assert_eq!(big_course.status(), 413);
}

async fn markdown_is_sanitised(backend: Backend) {
    let cast = Cast::new(backend).await;
    let body = "Hi <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) <a href=\"https://example.org\" onclick=\"alert(1)\">ok</a>";
    let material = cast.app.add_material(&cast.teacher, &cast.course, "Evil", body).await;
    let html = material["body_html"].as_str().unwrap().to_lowercase();
    for bad in ["<script", "onerror", "javascript:", "onclick"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(html.contains("href=\"https://example.org\""));
    assert_eq!(material["body_markdown"], body, "the source is kept as written");
}

async fn teachers_manage_enrollments(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let path = format!("/api/courses/{}/enrollments", cast.course_id());
    let token = Some(cast.teacher.access_token.as_str());
    let add = async |email: &str| app.post_json(&path, token, &json!({"student_email": email})).await;
    assert_eq!(add("edsger@example.org").await.status(), 201);
    assert_eq!(add("EDSGER@example.org").await.status(), 200, "again: already enrolled");
    let unknown = add("nobody@example.org").await;
    assert_eq!(unknown.status(), 422);
    assert_eq!(TestApp::problem(unknown).await["errors"][0]["field"], "student_email");
    assert_eq!(add("alan@example.org").await.status(), 422, "a teacher is not a student");
    let other = app
        .post_json(&path, Some(&cast.other_teacher.access_token), &json!({"student_email": "edsger@example.org"}))
        .await;
    assert_eq!(other.status(), 403);
    let list: Value = app.get(&path, token).await.json().await.unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["student"]["display_name"], "Edsger");
    assert!(list["items"][0]["enrolled_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        app.get(&path, Some(&cast.enrolled.access_token)).await.status(),
        403,
        "students do not list classmates"
    );
    // A student cannot remove a classmate; the teacher can.
    let grace_id = &cast.enrolled.id;
    let edsger_id = &cast.other_student.id;
    assert_eq!(app.delete(&format!("{path}/{grace_id}"), Some(&cast.other_student.access_token)).await.status(), 403);
    assert_eq!(app.delete(&format!("{path}/{edsger_id}"), token).await.status(), 204);
    assert_eq!(app.delete(&format!("{path}/{edsger_id}"), token).await.status(), 404, "no longer enrolled");
}

async fn leaving_keeps_nothing_behind_but_is_allowed(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let path = format!("/api/courses/{}/enrollments/{}", cast.course_id(), cast.enrolled.id);
    assert_eq!(app.delete(&path, Some(&cast.enrolled.access_token)).await.status(), 204);
    assert_eq!(
        app.get(&format!("/api/courses/{}/materials", cast.course_id()), Some(&cast.enrolled.access_token))
            .await
            .status(),
        403
    );
    // Enrolling again with the code works.
    app.enroll(&cast.enrolled, &cast.course).await;
}

async fn materials_keep_their_order(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let token = Some(cast.teacher.access_token.as_str());
    let path = format!("/api/courses/{}/materials", cast.course_id());
    for (title, position) in [("third", 30), ("first", 10), ("second", 20)] {
        assert_eq!(
            app.post_json(&path, token, &json!({"title": title, "body_markdown": "", "position": position}))
                .await
                .status(),
            201
        );
    }
    let appended = app.add_material(&cast.teacher, &cast.course, "fourth", "").await;
    assert_eq!(appended["position"], 31);
    let list: Value = app.get(&path, Some(&cast.enrolled.access_token)).await.json().await.unwrap();
    let titles: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["first", "second", "third", "fourth"]);
    let id = appended["id"].as_str().unwrap();
    let moved: Value = app
        .patch_json(&format!("/api/materials/{id}"), token, &json!({"position": 0, "body_markdown": "# Now first"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["body_html"], "<h1>Now first</h1>\n");
    let list: Value = app.get(&path, token).await.json().await.unwrap();
    assert_eq!(list["items"][0]["title"], "fourth");
}

async fn malformed_ids_are_not_found(backend: Backend) {
    let cast = Cast::new(backend).await;
    let token = Some(cast.teacher.access_token.as_str());
    for path in [
        "/api/courses/not-a-uuid",
        "/api/courses/1/materials",
        "/api/materials/%27%20OR%201=1",
        "/api/courses/00000000-0000-0000-0000-000000000000",
    ] {
        let resp = cast.app.get(path, token).await;
        assert_eq!(resp.status(), 404, "{path}");
        TestApp::problem(resp).await;
    }
    let resp = cast.app.get("/courses/not-a-uuid", token).await;
    assert_eq!(resp.status(), 404);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

async fn the_course_journey_in_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    app.teacher("Ada").await;
    app.student("Grace").await;
    app.student("Edsger").await;

    let mut ada = Browser::new(&app);
    ada.sign_in("ada@example.org", TEACHER_PASSWORD).await;
    let (_, token) = ada.page("/courses/new").await;
    let resp = ada
        .post_form(
            "/courses",
            &[("csrf_token", &token), ("title", "Rust for Beginners"), ("summary", "From zero"), ("published", "true")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let course_path = location(&resp).split('?').next().unwrap().to_owned();
    let (html, token) = ada.page(&course_path).await;
    assert!(html.contains("Enrollment code"));
    let code = html.split("<code class=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let resp = ada
        .post_form(
            &format!("{course_path}/materials"),
            &[("csrf_token", &token), ("title", "Ownership"), ("body_markdown", "**One** owner."), ("position", "")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let material_path = location(&resp).split('?').next().unwrap().to_owned();
    // Without its CSRF token the form changes nothing.
    let resp = ada.post_form(&format!("{course_path}/materials"), &[("title", "Sneaky"), ("body_markdown", "x")]).await;
    assert_eq!(resp.status(), 403);

    let mut grace = Browser::new(&app);
    grace.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let (catalog, _) = grace.page("/courses?q=rust").await;
    assert!(catalog.contains("Rust for Beginners"));
    let (html, token) = grace.page(&course_path).await;
    assert!(html.contains("Enroll"), "the enroll form");
    assert!(!html.contains(&code), "students never see the code");
    let resp =
        grace.post_form(&format!("{course_path}/enroll"), &[("csrf_token", &token), ("enrollment_code", &code)]).await;
    assert_eq!(resp.status(), 303);
    let (html, _) = grace.page(&location(&resp)).await;
    assert!(html.contains("You are enrolled"));
    assert!(html.contains("Ownership"));
    let (material, _) = grace.page(&material_path).await;
    assert!(material.contains("<strong>One</strong> owner."));

    let mut edsger = Browser::new(&app);
    edsger.sign_in("edsger@example.org", STUDENT_PASSWORD).await;
    let refused = edsger.get(&material_path).await;
    assert_eq!(refused.status(), 403, "not enrolled: no materials");
    let html = refused.text().await.unwrap();
    assert!(html.contains("403"), "a friendly error page");
    assert!(
        !html.contains("href=\"/auth/sign-in\""),
        "the error page must not suggest signing in to someone signed in"
    );
    let (html, token) = edsger.page(&course_path).await;
    assert!(!html.contains("Ownership"));
    let resp = edsger
        .post_form(&format!("{course_path}/enroll"), &[("csrf_token", &token), ("enrollment_code", "WRONGWRONG12")])
        .await;
    assert_eq!(resp.status(), 403);
}

/// Each process keeps its catalog reads for two seconds: its own writes show at once, another
/// process's after at most two seconds (by the injected clock).
async fn the_catalog_copy_is_fresh_here_and_within_two_seconds_elsewhere(backend: Backend) {
    let here = spawn_app(backend).await;
    let elsewhere = spawn_on(TestDb::reuse(&here), |_| {}).await;
    let ada = here.teacher("Ada").await;
    let grace = here.student("Grace").await;
    let total = async |app: &TestApp| {
        let page: Value = app.get("/api/courses", Some(&grace.access_token)).await.json().await.unwrap();
        (page["total"].as_i64().unwrap(), page["items"][0]["enrolled"].as_bool())
    };
    assert_eq!(total(&elsewhere).await, (0, None));
    let course = here.create_course(&ada, "Fresh", true).await;
    assert_eq!(total(&here).await, (1, Some(false)), "this process's own write shows at once");
    assert_eq!(total(&elsewhere).await, (0, None), "the other process still serves its copy");
    elsewhere.advance(2);
    assert_eq!(total(&elsewhere).await, (1, Some(false)));
    here.enroll(&grace, &course).await;
    assert_eq!(total(&here).await, (1, Some(true)), "enrolling shows at once here");
    elsewhere.advance(2);
    assert_eq!(total(&elsewhere).await, (1, Some(true)));
}

/// One input convention and one role rule for both shells: the same 422 naming the same field,
/// and the same 403 with the same words, whether the API or a page is asked.
async fn pages_and_the_api_share_one_input_rule_and_one_role_rule(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let long = "a".repeat(201);
    let resp = app.get(&format!("/api/courses?q={long}"), Some(&cast.enrolled.access_token)).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "q");
    let mut grace = Browser::new(app);
    grace.sign_in("grace@example.org", STUDENT_PASSWORD).await;
    let resp = grace.get(&format!("/courses?q={long}")).await;
    assert_eq!(resp.status(), 422, "the page no longer cuts the search silently");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "an error page");
    assert!(resp.text().await.unwrap().contains("q: must be at most 200 characters"));
    grace.page(&format!("/courses?q={}", "é".repeat(200))).await;

    // A student is refused a teacher's page, and a teacher a student's, as the API refuses them.
    let api = app.post_json("/api/courses", Some(&cast.enrolled.access_token), &json!({"title": "Mine"})).await;
    assert_eq!(api.status(), 403);
    let words = TestApp::problem(api).await["detail"].as_str().unwrap().to_owned();
    let page = grace.get("/courses/new").await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains(&words), "the page says what the API says: {words}");
    let (_, token) = grace.page("/courses").await;
    let form = grace.post_form("/courses", &[("csrf_token", &token), ("title", "Mine")]).await;
    assert_eq!(form.status(), 403);
    let gradebook = grace.get(&format!("/grading/courses/{}/gradebook", cast.course_id())).await;
    assert_eq!(gradebook.status(), 403);
    let mut ada = Browser::new(app);
    ada.sign_in("ada@example.org", TEACHER_PASSWORD).await;
    let api = app.get("/api/grading/me/grades", Some(&cast.teacher.access_token)).await;
    let words = TestApp::problem(api).await["detail"].as_str().unwrap().to_owned();
    let page = ada.get("/grading/me/grades").await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains(&words), "{words}");
    let mine: Value = app.get("/api/courses", Some(&cast.teacher.access_token)).await.json().await.unwrap();
    assert_eq!(mine["total"], 1, "nothing was created");
}

/// Input errors surface only after the access check, on course-service as on grading-service: a
/// caller who may not change a course or add to it is refused before their input is judged.
async fn a_caller_who_may_not_act_learns_nothing_from_a_422(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let course = format!("/api/courses/{}", cast.course_id());
    let materials = format!("{course}/materials");
    let bad_course = json!({"title": ""});
    let bad_material = json!({"title": "", "body_markdown": "x"});
    for ((who, token), want) in cast.columns().into_iter().zip([422, 422, 403, 403, 403, 403, 401]) {
        assert_eq!(app.patch_json(&course, token, &bad_course).await.status().as_u16(), want, "edit: {who}");
        assert_eq!(app.post_json(&materials, token, &bad_material).await.status().as_u16(), want, "add: {who}");
    }
    let draft = app.create_course(&cast.teacher, "Draft", false).await;
    let draft = format!("/api/courses/{}", draft["id"].as_str().unwrap());
    let resp = app.patch_json(&draft, Some(&cast.other_teacher.access_token), &bad_course).await;
    assert_eq!(resp.status(), 404, "an unseen course stays unseen, whatever the body");
}

/// The catalog reads a page, its total and every course's teachers in one statement: each entry
/// lists the same teachers in the same order (by name) as the course itself, graders never, and a
/// page past the end still carries the total.
async fn each_catalog_entry_lists_its_teachers_as_the_course_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let zoe = app.teacher("Zoe").await;
    app.teacher("Ada").await;
    app.teacher("Mary").await;
    app.teacher("Emmy").await;
    let grace = app.student("Grace").await;
    let mut ids = Vec::new();
    for (i, title) in ["Algebra", "Botany", "Chemistry", "Drafting", "Economics"].into_iter().enumerate() {
        let course = app.create_course(&zoe, title, i != 3).await;
        ids.push(course["id"].as_str().unwrap().to_owned());
    }
    // Algebra: Zoe, then co-teachers Mary and Ada, and Emmy as a grader; Chemistry: Zoe and Ada;
    // the draft Drafting: Zoe and Mary.
    let staff = [
        (0, "mary", "teacher"),
        (0, "ada", "teacher"),
        (0, "emmy", "grader"),
        (2, "ada", "teacher"),
        (3, "mary", "teacher"),
    ];
    for (course, who, role) in staff {
        let path = format!("/api/courses/{}/staff", ids[course]);
        let body = json!({"email": format!("{who}@example.org"), "role": role});
        assert_eq!(app.post_json(&path, Some(&zoe.access_token), &body).await.status(), 201);
    }
    let names = |entry: &Value| -> Vec<String> {
        entry["teachers"].as_array().unwrap().iter().map(|t| t["display_name"].as_str().unwrap().to_owned()).collect()
    };
    let catalog = |path: String, token: String| {
        let app = &app;
        async move { app.get(&path, Some(&token)).await.json::<Value>().await.unwrap() }
    };

    let page = catalog("/api/courses?per_page=100".into(), grace.access_token.clone()).await;
    assert_eq!(page["total"], 4, "the draft is not counted for a student");
    let items = page["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Algebra", "Botany", "Chemistry", "Economics"]);
    let listed: Vec<Vec<String>> = items.iter().map(names).collect();
    assert_eq!(listed, [vec!["Ada", "Mary", "Zoe"], vec!["Zoe"], vec!["Ada", "Zoe"], vec!["Zoe"]]);
    for entry in items {
        let course =
            catalog(format!("/api/courses/{}", entry["id"].as_str().unwrap()), grace.access_token.clone()).await;
        assert_eq!(course["teachers"], entry["teachers"], "the same teachers, ids and order, as the course shows");
        assert_eq!((&course["title"], &course["summary"]), (&entry["title"], &entry["summary"]));
    }

    // A teacher's own draft is in their catalog, in title order, with its teachers and the total.
    let mary = app.sign_in("mary@example.org", crate::helpers::TEACHER_PASSWORD).await;
    let page = catalog("/api/courses?per_page=2&page=2".into(), mary.access_token.clone()).await;
    assert_eq!(page["total"], 5, "four published courses and Mary's draft");
    let titles: Vec<&str> = page["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Chemistry", "Drafting"]);
    assert_eq!(names(&page["items"][1]), ["Mary", "Zoe"]);
    assert_eq!(page["items"][1]["published"], false);

    // A search counts its matches; a page past the end is empty but still has the total.
    let found = catalog("/api/courses?q=RY".into(), grace.access_token.clone()).await;
    assert_eq!(found["total"], 1);
    assert_eq!(names(&found["items"][0]), ["Ada", "Zoe"], "Chemistry");
    let past = catalog("/api/courses?page=9&per_page=2".into(), grace.access_token.clone()).await;
    assert_eq!(past["total"], 4);
    assert_eq!(past["items"].as_array().unwrap().len(), 0);
    let past = catalog("/api/courses?page=9&q=a".into(), mary.access_token.clone()).await;
    assert_eq!(past["total"], 3, "Algebra, Botany and the draft Drafting");
    assert_eq!(past["items"].as_array().unwrap().len(), 0);
}
