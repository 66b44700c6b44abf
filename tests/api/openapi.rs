//! `GET /api/openapi.json` (docs/api.md, conventions): each process serves the OpenAPI document of the
//! JSON APIs it mounts, merged on the all-in-one server. Every endpoint of docs/api.md's Auth, Courses
//! and Grading tables is in it, with a 2xx reply, its problem replies and the right security.

use crate::helpers::{Backend, STUDENT_PASSWORD, spawn_app};
use crate::on_both_backends;
use lectern::startup::{Application, ServiceSet};
use serde_json::Value;
use std::sync::Arc;
use token_claims::{Clock, ManualClock};

on_both_backends!(
    the_all_in_one_document_describes_every_json_endpoint,
    every_other_method_gets_405_with_the_documented_allow,
    replies_carry_the_members_their_schemas_name,
    each_split_process_serves_its_own_document,
);

/// (method, path, needs a bearer token), exactly as docs/api.md lists them.
const AUTH: &[(&str, &str, bool)] = &[
    ("post", "/api/auth/signup", false),
    ("post", "/api/auth/token", false),
    ("post", "/api/auth/refresh", false),
    ("post", "/api/auth/logout", true),
    ("get", "/api/auth/me", true),
    ("get", "/api/auth/sessions", true),
    ("delete", "/api/auth/sessions/{id}", true),
    ("get", "/.well-known/jwks.json", false),
    // OpenID Connect (docs/api.md): the token endpoint answers RFC 6749 errors, userinfo takes the
    // provider's own opaque bearer token (see `check_document`).
    ("get", "/.well-known/openid-configuration", false),
    ("post", OIDC_TOKEN, false),
    ("get", OIDC_USERINFO, false),
    ("post", OIDC_USERINFO, false),
];

/// The LTI platform, served by auth-core's process (docs/api.md, LTI 1.3): the token endpoint answers
/// RFC 6749 errors, the services take the platform's own opaque tokens (see `check_document`).
const LTI: &[(&str, &str, bool)] = &[
    ("post", LTI_TOKEN, false),
    ("get", "/api/lti/courses/{course_id}/memberships", false),
    ("get", "/api/lti/courses/{course_id}/lineitems", false),
    ("get", "/api/lti/courses/{course_id}/lineitems/{assignment_id}", false),
    ("post", "/api/lti/courses/{course_id}/lineitems/{assignment_id}/scores", false),
    ("get", "/api/lti/courses/{course_id}/lineitems/{assignment_id}/results", false),
];

const LTI_TOKEN: &str = "/api/lti/token";
const OIDC_TOKEN: &str = "/api/auth/oauth/token";
const OIDC_USERINFO: &str = "/api/auth/oauth/userinfo";

const COURSES: &[(&str, &str, bool)] = &[
    ("get", "/api/courses", true),
    ("post", "/api/courses", true),
    ("get", "/api/courses/{id}", true),
    ("patch", "/api/courses/{id}", true),
    ("post", "/api/courses/{id}/enrollments", true),
    ("delete", "/api/courses/{id}/enrollments/{student_id}", true),
    ("get", "/api/courses/{id}/enrollments", true),
    ("get", "/api/courses/{id}/materials", true),
    ("post", "/api/courses/{id}/materials", true),
    ("get", "/api/materials/{id}", true),
    ("patch", "/api/materials/{id}", true),
    ("delete", "/api/materials/{id}", true),
    ("get", "/api/courses/{id}/staff", true),
    ("post", "/api/courses/{id}/staff", true),
    ("delete", "/api/courses/{id}/staff/{user_id}", true),
    ("get", "/api/courses/{id}/audit", true),
    ("get", "/api/courses/{id}/tool-links", true),
    ("post", "/api/courses/{id}/tool-links", true),
    ("delete", "/api/courses/{id}/tool-links/{link_id}", true),
];

const GRADING: &[(&str, &str, bool)] = &[
    ("get", "/api/grading/courses/{course_id}/assignments", true),
    ("post", "/api/grading/courses/{course_id}/assignments", true),
    ("get", "/api/grading/assignments/{id}", true),
    ("post", "/api/grading/assignments/{id}/release", true),
    ("post", "/api/grading/assignments/{id}/submissions", true),
    ("get", "/api/grading/assignments/{id}/submissions", true),
    ("get", "/api/grading/submissions/{id}", true),
    ("put", "/api/grading/submissions/{id}/grade", true),
    ("get", "/api/grading/submissions/{id}/grades", true),
    ("get", "/api/grading/me/grades", true),
    ("get", "/api/grading/courses/{course_id}/gradebook", true),
    ("put", "/api/grading/assignments/{id}/extensions/{student_id}", true),
    ("delete", "/api/grading/assignments/{id}/extensions/{student_id}", true),
    ("get", "/api/grading/assignments/{id}/extensions", true),
    ("get", "/api/grading/submissions/{id}/files/{file_id}", true),
    ("get", "/api/grading/assignments/{id}/submissions.zip", true),
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every (method, path) the document describes.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.push((method.to_owned(), path.clone()));
            }
        }
    }
    ops.sort();
    ops
}

fn expected(lists: &[&[(&str, &str, bool)]]) -> Vec<(String, String)> {
    let mut ops: Vec<(String, String)> =
        lists.iter().flat_map(|l| l.iter()).map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    ops.sort();
    ops
}

/// Follows a local `$ref` (`#/components/...`) to what it names.
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference} is not local"));
    doc.pointer(pointer).unwrap_or_else(|| panic!("{reference} does not resolve"))
}

/// Every `$ref` anywhere in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// What a whole process's document must hold for `lists`: exactly those operations, each with
/// a 2xx reply, problem documents for its 4xx replies, and bearer security where docs/api.md says
/// "bearer" (or a role) and nowhere else.
fn check_document(doc: &Value, lists: &[&[(&str, &str, bool)]]) {
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert_eq!(operations(doc), expected(lists), "the documented operations are exactly docs/api.md's");

    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"], &scheme["bearerFormat"]),
        (&"http".into(), &"bearer".into(), &"JWT".into())
    );
    assert!(doc.get("security").is_none(), "no global security: the public endpoints need no token");

    for (method, path, bearer) in lists.iter().flat_map(|l| l.iter()) {
        let op = &doc["paths"][path][method];
        let what = format!("{} {path}", method.to_uppercase());
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{what}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: no 2xx reply");
        for (status, reply) in responses {
            if status.starts_with('2') && *status != "204" {
                assert!(reply["content"].as_object().is_some_and(|c| !c.is_empty()), "{what} {status}: no body schema");
            }
            // The token endpoint's own answers; a method it does not answer gets the shared 405.
            if status.starts_with('4') && (*path == OIDC_TOKEN || *path == LTI_TOKEN) && status != "405" {
                let schema = &reply["content"]["application/json"]["schema"];
                assert_eq!(schema["$ref"], "#/components/schemas/OAuthError", "{what} {status}: not an RFC 6749 error");
            } else if status.starts_with('4') {
                let schema = &reply["content"]["application/problem+json"]["schema"];
                assert_eq!(schema["$ref"], "#/components/schemas/Problem", "{what} {status}: not a problem document");
            }
        }
        let security = op.get("security").cloned().unwrap_or(Value::Null);
        if *path == OIDC_USERINFO {
            assert_eq!(security, serde_json::json!([{"oidc_access_token": []}]), "{what}: the provider's own token");
            assert!(responses.contains_key("401"), "{what}: a bearer endpoint answers 401");
        } else if path.starts_with("/api/lti/courses/") {
            assert_eq!(security, serde_json::json!([{"lti_access_token": []}]), "{what}: the LTI platform's own token");
            assert!(responses.contains_key("401"), "{what}: a bearer endpoint answers 401");
        } else if *bearer {
            assert_eq!(security, serde_json::json!([{"bearer": []}]), "{what} needs a bearer token");
            assert!(responses.contains_key("401"), "{what}: a bearer endpoint answers 401");
        } else {
            assert_eq!(security, Value::Null, "{what} is public");
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["in"] == "path" {
                assert!(path.contains(&format!("{{{}}}", param["name"].as_str().unwrap())), "{what}: {param}");
                assert_eq!(param["required"], true, "{what}: {param}");
            }
        }
        let declared = op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path").count();
        assert_eq!(declared, path.matches('{').count(), "{what}: every path parameter is declared");
    }

    let mut ids: Vec<&str> = operations(doc)
        .iter()
        .map(|(m, p)| doc["paths"][p][m]["operationId"].as_str().unwrap_or_else(|| panic!("{m} {p}: no operationId")))
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are unique");

    // The shared problem schema, and typed ids as UUID strings.
    let problem = &doc["components"]["schemas"]["Problem"];
    assert_eq!(problem["required"], serde_json::json!(["type", "title", "status", "detail"]));
    assert_eq!(resolve(doc, problem["properties"]["errors"]["items"]["$ref"].as_str().unwrap())["required"], {
        serde_json::json!(["field", "message"])
    });
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if name.ends_with("Id") {
            assert_eq!(schema, &serde_json::json!({"type": "string", "format": "uuid"}), "{name}");
        }
    }
    // Nothing points at a schema the document does not have.
    let mut all = Vec::new();
    refs(doc, &mut all);
    for reference in all {
        resolve(doc, &reference);
    }
}

async fn fetch(address: &str) -> Value {
    let resp = reqwest::get(format!("{address}/api/openapi.json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.unwrap()
}

async fn the_all_in_one_document_describes_every_json_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch(&app.address).await;
    assert_eq!(doc["info"]["title"], "Lectern");
    check_document(&doc, &[AUTH, LTI, COURSES, GRADING]);
    let ids = ["SessionId", "UserId", "CourseId", "MaterialId", "AssignmentId", "SubmissionId", "GradeId"];
    for id in ids {
        assert!(doc["components"]["schemas"].get(id).is_some(), "{id} is documented");
    }
    assert_eq!(doc["components"]["schemas"]["Role"]["enum"], serde_json::json!(["teacher", "student"]));
    // Submissions take JSON or multipart (files); downloads are documented as bytes.
    let submit = &doc["paths"]["/api/grading/assignments/{id}/submissions"]["post"]["requestBody"]["content"];
    assert!(submit.get("application/json").is_some() && submit.get("multipart/form-data").is_some(), "{submit}");
    let zip = &doc["paths"]["/api/grading/assignments/{id}/submissions.zip"]["get"]["responses"]["200"]["content"];
    assert!(zip.get("application/zip").is_some(), "{zip}");
    assert_eq!(doc["components"]["schemas"]["StaffRole"]["enum"], serde_json::json!(["teacher", "grader"]));
    // Served without a token, the same bytes every time.
    let again = app.get("/api/openapi.json", Some("not.a.token")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), doc);
}

/// The router and the document agree: on every documented path, each method the document does not
/// list answers 405 with `Allow` naming exactly the documented ones; every operation documents the
/// answers the shared plumbing gives (405, 503, and for bodies 400, 413, 415).
async fn every_other_method_gets_405_with_the_documented_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch(&app.address).await;
    let id = "0193a0c2-7a4e-7000-8000-000000000001";
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let documented: Vec<String> = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .map(str::to_uppercase)
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            let statuses = operation["responses"].as_object().unwrap();
            let mut wanted = vec!["405", "503"];
            if operation.get("requestBody").is_some() {
                wanted.extend(["400", "413", "415"]);
            }
            for status in wanted {
                assert!(statuses.contains_key(status), "{method} {path} does not document {status}");
            }
        }
        let concrete =
            path.split('/').map(|seg| if seg.starts_with('{') { id } else { seg }).collect::<Vec<_>>().join("/");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.iter().any(|m| m == method) {
                continue;
            }
            let resp = app
                .api
                .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 405, "{method} {concrete}");
            assert_eq!(resp.headers()["allow"], documented.join(", ").as_str(), "{method} {concrete}");
            assert_eq!(resp.headers()["content-type"], "application/problem+json", "{method} {concrete}");
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} method/path pairs checked");
    assert_eq!(app.get("/api/nothing-here", None).await.status(), 404, "an unknown path is still 404");
}

/// The required members of `name`'s schema, following `allOf` (flattened structs).
fn required_of(doc: &Value, name: &str) -> Vec<String> {
    fn collect(doc: &Value, schema: &Value, out: &mut Vec<String>) {
        if let Some(r) = schema["$ref"].as_str() {
            return collect(doc, resolve(doc, r), out);
        }
        out.extend(schema["required"].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_owned()));
        for part in schema["allOf"].as_array().into_iter().flatten() {
            collect(doc, part, out);
        }
    }
    let mut out = Vec::new();
    collect(doc, &doc["components"]["schemas"][name], &mut out);
    out
}

fn assert_has_members(doc: &Value, name: &str, reply: &Value) {
    for member in required_of(doc, name) {
        assert!(reply.get(&member).is_some(), "{name}.{member} is required but missing from {reply}");
    }
}

/// Spot checks that the schemas describe what the server really sends.
async fn replies_carry_the_members_their_schemas_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch(&app.address).await;
    let account: Value = app.signup("ada@example.org", STUDENT_PASSWORD, "Ada").await.json().await.unwrap();
    assert_has_members(&doc, "Account", &account);
    let issued: Value = app.token("ada@example.org", STUDENT_PASSWORD).await.json().await.unwrap();
    assert_has_members(&doc, "Issued", &issued);
    let teacher = app.teacher("Turing").await;
    let course: Value = app
        .post_json(
            "/api/courses",
            Some(&teacher.access_token),
            &serde_json::json!({"title": "Logic", "published": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_has_members(&doc, "CourseView", &course);
    let path = format!("/api/grading/courses/{}/assignments", course["id"].as_str().unwrap());
    let body = serde_json::json!({"title": "Proofs", "due_at": "2026-12-24T12:00:00Z", "max_points": 10});
    let assignment: Value = app.post_json(&path, Some(&teacher.access_token), &body).await.json().await.unwrap();
    assert_has_members(&doc, "AssignmentDetail", &assignment);
    assert!(required_of(&doc, "AssignmentDetail").contains(&"due_at".to_owned()), "flattened members are required");
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    assert_has_members(&doc, "Jwks", &jwks);
    assert_has_members(&doc, "Jwk", &jwks["keys"][0]);
}

/// The split shape: one process per service, each serving only its own document.
async fn each_split_process_serves_its_own_document(backend: Backend) {
    let app = spawn_app(backend).await;
    for (which, title, lists) in [
        (ServiceSet::Auth, "Lectern auth-core", &[AUTH, LTI].concat()[..]),
        (ServiceSet::Courses, "Lectern course-service", COURSES),
        (ServiceSet::Grading, "Lectern grading-service", GRADING),
    ] {
        let mut config = app.config.clone();
        config.addr = "127.0.0.1:0".parse().unwrap();
        config.auth_url = Some(app.address.clone());
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(crate::helpers::start_time()));
        let process = Application::build(config, clock, which).await.unwrap();
        let (address, handle) = (format!("http://127.0.0.1:{}", process.port()), process.handle());
        tokio::spawn(process.run_until_stopped());
        let doc = fetch(&address).await;
        handle.stop(true).await;
        assert_eq!(doc["info"]["title"], title);
        check_document(&doc, &[lists]);
    }
}

/// Each service's own `openapi()` holds its own prefixes only (docs/api.md, the gateway's prefixes).
#[test]
fn each_service_documents_only_its_own_prefixes() {
    for (doc, prefixes, count, title) in [
        (auth_core::openapi(), &["/api/auth/", "/.well-known/"][..], AUTH.len(), "Lectern auth-core"),
        (course_service::openapi(), &["/api/courses", "/api/materials/"][..], COURSES.len(), "Lectern course-service"),
        (grading_service::openapi(), &["/api/grading/"][..], GRADING.len(), "Lectern grading-service"),
        (lti_platform::openapi(), &["/api/lti/"][..], LTI.len(), "Lectern LTI platform"),
    ] {
        assert_eq!(doc.info.title, title);
        let doc = serde_json::to_value(&doc).unwrap();
        for path in doc["paths"].as_object().unwrap().keys() {
            assert!(prefixes.iter().any(|p| path.starts_with(p)), "{title} documents {path}");
        }
        assert_eq!(operations(&doc).len(), count, "{title}");
    }
}
