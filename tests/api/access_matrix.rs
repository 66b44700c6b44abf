//! docs/security.md's access table, one case per cell, for the course rows. Each row is an action
//! tried by the five columns (teacher of the course, other teacher, enrolled student, other
//! student, anonymous) with the status the table demands. Every case starts from the same cast.

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
    row(&cast, "see an unpublished course", [200, 404, 404, 404, 401], async |c, t| {
        c.app.get(&format!("/api/courses/{draft_id}"), t).await
    })
    .await;
    for (who, token) in cast.columns().into_iter().skip(1).take(3) {
        let page: Value = cast.app.get("/api/courses", token).await.json().await.unwrap();
        assert!(
            page["items"].as_array().unwrap().iter().all(|c| c["id"] != draft_id.as_str()),
            "{who} must not find the draft"
        );
    }
}

async fn create_a_course(backend: Backend) {
    let cast = Cast::new(backend).await;
    row(&cast, "create a course", [201, 201, 403, 403, 401], async |c, t| {
        c.app.post_json("/api/courses", t, &json!({"title": "New", "summary": "", "published": false})).await
    })
    .await;
}

async fn edit_a_course(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}", cast.course_id());
    row(&cast, "edit a course", [200, 403, 403, 403, 401], async |c, t| {
        c.app.patch_json(&path, t, &json!({"summary": "Edited"})).await
    })
    .await;
}

async fn add_materials(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/materials", cast.course_id());
    row(&cast, "add materials", [201, 403, 403, 403, 401], async |c, t| {
        c.app.post_json(&path, t, &json!({"title": "Notes", "body_markdown": "text", "position": 1})).await
    })
    .await;
}

async fn edit_materials(backend: Backend) {
    let cast = Cast::new(backend).await;
    let material = cast.app.add_material(&cast.teacher, &cast.course, "Notes", "text").await;
    let path = format!("/api/materials/{}", material["id"].as_str().unwrap());
    row(&cast, "edit materials", [200, 403, 403, 403, 401], async |c, t| {
        c.app.patch_json(&path, t, &json!({"title": "Better notes"})).await
    })
    .await;
    // Deleting: everyone else first, so the teacher's 204 comes last.
    for ((who, token), want) in cast.columns().into_iter().skip(1).zip([403, 403, 403, 401]) {
        assert_eq!(cast.app.delete(&path, token).await.status().as_u16(), want, "delete materials: {who}");
    }
    assert_eq!(cast.app.delete(&path, Some(&cast.teacher.access_token)).await.status(), 204);
    assert_eq!(cast.app.get(&path, Some(&cast.teacher.access_token)).await.status(), 404);
}

async fn enroll_with_the_code(backend: Backend) {
    let cast = Cast::new(backend).await;
    let path = format!("/api/courses/{}/enrollments", cast.course_id());
    let code = cast.course["enrollment_code"].clone();
    row(&cast, "enroll with the code", [403, 403, 200, 201, 401], async |c, t| {
        c.app.post_json(&path, t, &json!({"enrollment_code": code})).await
    })
    .await;
}

async fn read_materials(backend: Backend) {
    let cast = Cast::new(backend).await;
    let material = cast.app.add_material(&cast.teacher, &cast.course, "Notes", "text").await;
    let list = format!("/api/courses/{}/materials", cast.course_id());
    let one = format!("/api/materials/{}", material["id"].as_str().unwrap());
    row(&cast, "read materials (list)", [200, 403, 200, 403, 401], async |c, t| c.app.get(&list, t).await).await;
    row(&cast, "read materials (one)", [200, 403, 200, 403, 401], async |c, t| c.app.get(&one, t).await).await;
}
