//! The deployment files: docker-compose.yml must be a compose file whose every long-running
//! service has a healthcheck on `/readyz` (or its own probe) and starts only after what it
//! needs is healthy. This machine has no Docker engine, so the file is checked by parsing it;
//! `split.rs` runs the same nginx routes with real processes.

use serde_norway::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml")).unwrap();
    let mut value: Value = serde_norway::from_str(&text).unwrap();
    value.apply_merge().unwrap();
    value
}

fn services(compose: &Value) -> Vec<(String, Value)> {
    compose["services"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            v.apply_merge().unwrap();
            (k.as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[test]
fn every_long_running_service_has_a_healthcheck() {
    let compose = compose();
    let services = services(&compose);
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    for expected in ["postgres", "auth", "courses-1", "courses-2", "grading", "nginx"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    for (name, service) in &services {
        if service["restart"].as_str() == Some("no") {
            continue; // one-shot jobs (migrate) run to completion instead
        }
        let test = &service["healthcheck"]["test"];
        assert!(
            test.is_sequence() && service["healthcheck"]["disable"].as_bool() != Some(true),
            "{name} has no healthcheck"
        );
        let command = serde_norway::to_string(test).unwrap();
        if name.starts_with("courses") || name == "auth" || name == "grading" {
            assert!(command.contains("/readyz"), "{name} must check /readyz: {command}");
            assert_eq!(
                service["environment"]["LECTERN_DATABASE_URL"].as_str().map(|u| u.starts_with("postgres://")),
                Some(true),
                "{name}"
            );
        }
    }
}

#[test]
fn services_start_in_order_of_health() {
    let compose = compose();
    for (name, service) in services(&compose) {
        let Some(deps) = service["depends_on"].as_mapping() else { continue };
        for (dep, cond) in deps {
            let condition = cond["condition"].as_str().unwrap_or_default();
            assert!(
                condition == "service_healthy" || condition == "service_completed_successfully",
                "{name} depends on {dep:?} without a health condition"
            );
        }
    }
    let courses: Vec<String> = services(&compose)
        .into_iter()
        .filter(|(_, s)| s["command"][1].as_str() == Some("courses"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(courses.len(), 2, "courses runs with two replicas");
}

#[test]
fn the_gateway_routes_every_prefix_of_the_api() {
    let routes = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/routes.conf")).unwrap();
    for (prefix, upstream) in [
        ("/auth/", "lectern_auth"),
        ("/api/auth/", "lectern_auth"),
        ("/.well-known/", "lectern_auth"),
        ("/courses/", "lectern_courses"),
        ("/api/courses/", "lectern_courses"),
        ("/api/materials/", "lectern_courses"),
        ("/grading/", "lectern_grading"),
        ("/api/grading/", "lectern_grading"),
    ] {
        assert!(routes.contains(&format!("location {prefix} {{ proxy_pass http://{upstream}; }}")), "{prefix}");
    }
    assert!(routes.contains("X-Forwarded-For"));
    assert!(routes.contains("client_max_body_size 512k"));
}

#[test]
fn each_service_connects_as_its_own_role_and_only_auth_has_the_key_encryption_key() {
    let compose = compose();
    let init = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/postgres/init-roles.sql")).unwrap();
    let postgres = &compose["services"]["postgres"];
    let mounts: Vec<&str> = postgres["volumes"].as_sequence().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(mounts.iter().any(|m| m.starts_with("./deploy/postgres/init-roles.sql:/docker-entrypoint-initdb.d/")));
    let user_of = |url: &str| url.split("://").nth(1).unwrap().split(':').next().unwrap().to_owned();
    for (name, service) in services(&compose) {
        let Some(command) = service["command"].as_sequence() else { continue };
        let env = &service["environment"];
        let url = env["LECTERN_DATABASE_URL"].as_str().unwrap();
        let kek = env.get("LECTERN_KEY_ENCRYPTION_KEY_FILE");
        match command.iter().map(|c| c.as_str().unwrap()).collect::<Vec<_>>().as_slice() {
            ["serve", "auth"] => {
                assert_eq!(user_of(url), "auth", "{name}");
                assert!(init.contains("CREATE ROLE auth LOGIN PASSWORD 'auth' IN ROLE lectern_auth;"));
                let kek = kek.and_then(|k| k.as_str()).expect("auth has the key-encryption key");
                let volumes: Vec<&str> =
                    service["volumes"].as_sequence().unwrap().iter().filter_map(|v| v.as_str()).collect();
                assert!(volumes.iter().any(|v| v.starts_with("kek:") && kek.starts_with(&v[4..])), "{volumes:?}");
            }
            ["serve", which @ ("courses" | "grading")] => {
                assert_eq!(user_of(url), *which, "{name}");
                assert!(
                    init.contains(&format!("CREATE ROLE {which} LOGIN PASSWORD '{which}' IN ROLE lectern_service;"))
                );
                assert!(kek.is_none(), "{name} must not have the key-encryption key");
                assert!(service.get("volumes").is_none(), "{name} mounts nothing of auth-core's");
            }
            ["migrate"] => assert_eq!(user_of(url), "lectern", "the owner migrates"),
            other => panic!("unexpected service {name}: {other:?}"),
        }
    }
}
