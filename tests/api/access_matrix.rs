//! docs/security.md's access table, one case per cell, for the course rows. Each row is an action
//! tried by the seven columns (teacher of the course, co-teacher, grader of the course, other
//! teacher, enrolled student, other student, anonymous) with the status the table demands. Every
//! case starts from the same cast.

use crate::helpers::{Backend, Cast, row};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    see_a_published_course_in_the_catalog,
    see_an_unpublished_course,
    create_a_course,
    edit_a_course,
    add_materials,
    edit_materials,
    enroll_with_the_code,
    read_materials,
    see_the_enrollment_code,
    list_enrolled_students,
    enroll_by_email,
    end_an_enrollment,
    list_staff,
    add_staff,
    remove_staff,
    read_the_audit_trail,
);

async fn see_a_published_course_in_the_catalog(backend: Backend) {
    let cast = Cast::new(backend).await;
    let id = cast.course_id().to_owned();
    for (who, token) in cast.columns() {
        let resp = cast.app.get("/api/courses", token).await;
        if token.is_none() {
            assert_eq!(resp.status(), 401, "{who}");
            continue;
        }
        assert_eq!(resp.status(), 200, "{who}");
        let page: Value = resp.json().await.unwrap();
        assert!(page["items"].as_array().unwrap().iter().any(|c| c["id"] == id.as_str()), "{who} sees it");
        assert_eq!(cast.app.get(&format!("/api/courses/{id}"), token).await.status(), 200, "{who} opens it");
    }
}

async fn see_an_unpublished_course(backend: Backend) {
    let cast = Cast::new(backend).await;
    let draft = cast.app.create_course(&cast.teacher, "Draft", false).await;
    // Even a student who enrolled while it was published loses sight of it.
    let draft_id = draft["id"].as_str().unwrap().to_owned();
    cast.app
        .patch_json(&format!("/api/courses/{draft_id}"), Some(&cast.teacher.access_token), &json!({"published": true}))
        .await;
    cast.app.enroll(&cast.enrolled, &draft).await;
    cast.app
        .patch_json(&format!("/api/courses/{draft_id}"), Some(&cast.teacher.access_token), &json!({"published": false}))
        .await;
    cast.staff_on(&draft).await;
    row(&cast, "see an unpublished course", [200, 200, 200, 404, 404, 404, 401], async |c, t| {
        c.app.get(&format!("/api/courses/{draft_id}"), t).await
    })
    .await;
    for (who, token) in cast.columns().into_iter().skip(3).take(3) {
        let page: Value = cast.app.get("/api/courses", token).await.json().await.unwrap();
        assert!(
            page["items"].as_array().unwrap().iter().all(|c| c["id"] != draft_id.as_str()),
            "{who} must not find the draft"
        );
    }
}

async fn create_a_course(backend: Backend) {
    let cast = Cast::new(backend).await;
    row(&cast, "create a course", [201, 201, 201, 201, 403, 403, 401], async |c, t| {
        c.app.post_json("/api/courses", t, &json!({"title": "New", "summary": "", "published": false})).await
    })
    .await;
}

async fn edit_a_course(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}", cast.course_id());
    row(&cast, "edit a course", [200, 200, 403, 403, 403, 403, 401], async |c, t| {
        c.app.patch_json(&path, t, &json!({"summary": "Edited"})).await
    })
    .await;
}

async fn add_materials(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/materials", cast.course_id());
    row(&cast, "add materials", [201, 201, 403, 403, 403, 403, 401], async |c, t| {
        c.app.post_json(&path, t, &json!({"title": "Notes", "body_markdown": "text", "position": 1})).await
    })
    .await;
}

async fn edit_materials(backend: Backend) {
    let cast = Cast::new(backend).await;
    let material = cast.app.add_material(&cast.teacher, &cast.course, "Notes", "text").await;
    let path = format!("/api/materials/{}", material["id"].as_str().unwrap());
    row(&cast, "edit materials", [200, 200, 403, 403, 403, 403, 401], async |c, t| {
        c.app.patch_json(&path, t, &json!({"title": "Better notes"})).await
    })
    .await;
    // Deleting: everyone else first, so a teacher's 204 comes last (the co-teacher's, then the
    // creator finds it gone).
    for ((who, token), want) in cast.columns().into_iter().skip(2).zip([403, 403, 403, 403, 401]) {
        assert_eq!(cast.app.delete(&path, token).await.status().as_u16(), want, "delete materials: {who}");
    }
    assert_eq!(cast.app.delete(&path, Some(&cast.co_teacher.access_token)).await.status(), 204);
    assert_eq!(cast.app.delete(&path, Some(&cast.teacher.access_token)).await.status(), 404);
    assert_eq!(cast.app.get(&path, Some(&cast.teacher.access_token)).await.status(), 404);
}

async fn enroll_with_the_code(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/enrollments", cast.course_id());
    let code = cast.course["enrollment_code"].clone();
    row(&cast, "enroll with the code", [403, 403, 403, 403, 200, 201, 401], async |c, t| {
        c.app.post_json(&path, t, &json!({"enrollment_code": code})).await
    })
    .await;
}

async fn read_materials(backend: Backend) {
    let cast = Cast::new(backend).await;
    let material = cast.app.add_material(&cast.teacher, &cast.course, "Notes", "text").await;
    let list = format!("/api/courses/{}/materials", cast.course_id());
    let one = format!("/api/materials/{}", material["id"].as_str().unwrap());
    row(&cast, "read materials (list)", [200, 200, 200, 403, 200, 403, 401], async |c, t| c.app.get(&list, t).await)
        .await;
    row(&cast, "read materials (one)", [200, 200, 200, 403, 200, 403, 401], async |c, t| c.app.get(&one, t).await)
        .await;
}

async fn see_the_enrollment_code(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}", cast.course_id());
    let sees = [Some(true), Some(true), Some(false), Some(false), Some(false), Some(false), None];
    for ((who, token), want) in cast.columns().into_iter().zip(sees) {
        let resp = cast.app.get(&path, token).await;
        match want {
            None => assert_eq!(resp.status(), 401, "{who}"),
            Some(sees) => {
                assert_eq!(resp.status(), 200, "{who}");
                let course: Value = resp.json().await.unwrap();
                assert_eq!(course.get("enrollment_code").is_some(), sees, "see the enrollment code: {who}");
            }
        }
    }
}

async fn list_enrolled_students(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/enrollments", cast.course_id());
    row(&cast, "list enrolled students", [200, 200, 403, 403, 403, 403, 401], async |c, t| c.app.get(&path, t).await)
        .await;
}

async fn enroll_by_email(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/enrollments", cast.course_id());
    let unenroll = format!("{path}/{}", cast.other_student.id);
    // Each column tries to enroll Edsger, who is not enrolled before any attempt. A student
    // sending `student_email` is managing enrollments: 403, like the other management rows.
    row(&cast, "enroll by email", [201, 201, 403, 403, 403, 403, 401], async |c, t| {
        c.app.delete(&unenroll, Some(&c.teacher.access_token)).await;
        c.app.post_json(&path, t, &json!({"student_email": "edsger@example.org"})).await
    })
    .await;
}

async fn end_an_enrollment(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/enrollments/{}", cast.course_id(), cast.enrolled.id);
    let code = cast.course["enrollment_code"].clone();
    let enroll = format!("/api/courses/{}/enrollments", cast.course_id());
    // Grace is enrolled before each attempt; she may end her own enrollment, Edsger may not.
    row(&cast, "end an enrollment", [204, 204, 403, 403, 204, 403, 401], async |c, t| {
        let again = c.app.post_json(&enroll, Some(&c.enrolled.access_token), &json!({"enrollment_code": code})).await;
        assert!(again.status() == 200 || again.status() == 201);
        c.app.delete(&path, t).await
    })
    .await;
}

async fn list_staff(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/staff", cast.course_id());
    row(&cast, "list staff", [200, 200, 200, 403, 403, 403, 401], async |c, t| c.app.get(&path, t).await).await;
    let draft = cast.app.create_course(&cast.teacher, "Draft", false).await;
    cast.staff_on(&draft).await;
    let draft_path = format!("/api/courses/{}/staff", draft["id"].as_str().unwrap());
    row(&cast, "list a draft's staff", [200, 200, 200, 404, 403, 403, 401], async |c, t| {
        c.app.get(&draft_path, t).await
    })
    .await;
}

async fn add_staff(backend: Backend) {
    let cast = Cast::new(backend).await;
    let hedy = cast.app.teacher("Hedy").await;
    let path = format!("/api/courses/{}/staff", cast.course_id());
    let remove = format!("{path}/{}", hedy.id);
    // Hedy is not on the staff before any attempt.
    row(&cast, "manage staff (add)", [201, 201, 403, 403, 403, 403, 401], async |c, t| {
        c.app.delete(&remove, Some(&c.teacher.access_token)).await;
        c.app.post_json(&path, t, &json!({"email": "hedy@example.org", "role": "grader"})).await
    })
    .await;
}

async fn remove_staff(backend: Backend) {
    let cast = Cast::new(backend).await;
    let hedy = cast.app.teacher("Hedy").await;
    let path = format!("/api/courses/{}/staff", cast.course_id());
    let remove = format!("{path}/{}", hedy.id);
    // Hedy is on the staff before each attempt.
    row(&cast, "manage staff (remove)", [204, 204, 403, 403, 403, 403, 401], async |c, t| {
        let added = c
            .app
            .post_json(&path, Some(&c.teacher.access_token), &json!({"email": "hedy@example.org", "role": "grader"}))
            .await;
        assert!(added.status() == 200 || added.status() == 201);
        c.app.delete(&remove, t).await
    })
    .await;
}

async fn read_the_audit_trail(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/audit", cast.course_id());
    row(&cast, "read the audit trail", [200, 200, 403, 403, 403, 403, 401], async |c, t| c.app.get(&path, t).await)
        .await;
    let draft = cast.app.create_course(&cast.teacher, "Draft", false).await;
    cast.staff_on(&draft).await;
    let draft_path = format!("/api/courses/{}/audit", draft["id"].as_str().unwrap());
    row(&cast, "read a draft's audit trail", [200, 200, 403, 404, 404, 404, 401], async |c, t| {
        c.app.get(&draft_path, t).await
    })
    .await;
}
