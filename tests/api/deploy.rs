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
        ("/lti/", "lectern_auth"),
        ("/api/lti/", "lectern_auth"),
        ("/courses/", "lectern_courses"),
        ("/api/courses/", "lectern_courses"),
        ("/api/materials/", "lectern_courses"),
        ("/grading/", "lectern_grading"),
        ("/api/grading/", "lectern_grading"),
    ] {
        assert!(routes.contains(&format!("location {prefix} {{ proxy_pass http://{upstream}; }}")), "{prefix}");
    }
    assert!(routes.contains("X-Forwarded-For"));
    // 512 KiB everywhere but the submission endpoints, which take 25 MiB of files: in exactly one
    // location, which matches the API's and the page's submission paths and nothing else.
    assert_eq!(routes.matches("client_max_body_size").count(), 2);
    assert!(routes.starts_with("#") && routes.contains("\nclient_max_body_size 512k;\n"));
    let file_location = "location ~ ^/(api/)?grading/assignments/[^/]+/submissions$ {\n    client_max_body_size 26m;";
    assert!(routes.contains(file_location), "the file submissions' location");
    let pattern = regex_lite(r"^/(api/)?grading/assignments/[^/]+/submissions$");
    for (path, matches) in [
        ("/api/grading/assignments/0193a0c2-7a4e-7000-8000-000000000001/submissions", true),
        ("/grading/assignments/0193a0c2-7a4e-7000-8000-000000000001/submissions", true),
        ("/api/grading/assignments/x/submissions.zip", false),
        ("/api/grading/assignments/x/release", false),
        ("/api/courses/x/materials", false),
        ("/api/grading/assignments/x/y/submissions", false),
    ] {
        assert_eq!(pattern(path), matches, "{path}");
    }
}

/// The one regular expression of routes.conf, as nginx reads it: `^/(api/)?grading/assignments/[^/]+/submissions$`.
fn regex_lite(expected: &str) -> impl Fn(&str) -> bool {
    assert_eq!(expected, r"^/(api/)?grading/assignments/[^/]+/submissions$");
    |path: &str| {
        let rest =
            path.strip_prefix("/api/grading/assignments/").or_else(|| path.strip_prefix("/grading/assignments/"));
        rest.and_then(|r| r.strip_suffix("/submissions")).is_some_and(|id| !id.is_empty() && !id.contains('/'))
    }
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
        if service["profiles"].as_sequence().is_some_and(|p| p.iter().any(|p| p.as_str() == Some("ha"))) {
            continue; // the formation of deploy/ha, checked below
        }
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

/// The `ha` profile: the formation of deploy/ha/ and Lectern on its multi-host URL.
#[test]
fn the_ha_profile_runs_a_formation_and_lectern_on_its_multi_host_url() {
    let compose = compose();
    let ha: Vec<(String, Value)> = services(&compose)
        .into_iter()
        .filter(|(_, s)| s["profiles"].as_sequence().is_some_and(|p| p.iter().any(|p| p.as_str() == Some("ha"))))
        .collect();
    let names: Vec<&str> = ha.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["pg-monitor", "pg-node1", "pg-node2", "lectern-ha"]);
    let get = |name: &str| ha.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/ha/");
    let dockerfile = std::fs::read_to_string(format!("{dir}Dockerfile")).unwrap();
    for (name, script) in [("pg-monitor", "monitor.sh"), ("pg-node1", "node.sh"), ("pg-node2", "node.sh")] {
        assert_eq!(get(name)["command"][0].as_str(), Some(format!("/opt/lectern-ha/{script}").as_str()));
        assert!(std::path::Path::new(&format!("{dir}{script}")).exists() && dockerfile.contains(script), "{script}");
    }
    assert_eq!(get("pg-node1")["depends_on"]["pg-monitor"]["condition"].as_str(), Some("service_healthy"));
    // The standby starts once the first node runs, so which one is primary is decided.
    assert_eq!(get("pg-node2")["depends_on"]["pg-node1"]["condition"].as_str(), Some("service_healthy"));
    assert_eq!(get("pg-node2")["environment"]["NODE_NAME"].as_str(), Some("node2"));
    let lectern = get("lectern-ha");
    let url = lectern["environment"]["LECTERN_DATABASE_URL"].as_str().unwrap();
    assert!(url.starts_with("postgres://") && url.contains("@pg-node1:5432,pg-node2:5432/"), "{url}");
    assert!(url.contains("target_session_attrs=read-write") && url.contains("connect_timeout="), "{url}");
    assert!(serde_norway::to_string(&lectern["healthcheck"]["test"]).unwrap().contains("/readyz"));
}

/// deploy/ha/ha.env's defaults: an isolated primary stops itself before the monitor lets the
/// standby take writes (one writable primary at a time), and the worst case from the primary's
/// death to a writable standby fits the 10 s that docs/operations.md promises.
#[test]
fn the_failover_settings_keep_one_primary_and_fit_ten_seconds() {
    let env = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/ha/ha.env")).unwrap();
    let setting = |name: &str| -> u64 {
        let prefix = format!(": \"${{{name}:=");
        let line = env.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{name} missing"));
        line[prefix.len()..].split('}').next().unwrap().parse().unwrap()
    };
    let (period, timeout, retries, delay) = (
        setting("HEALTH_CHECK_PERIOD_MS"),
        setting("HEALTH_CHECK_TIMEOUT_MS"),
        setting("HEALTH_CHECK_MAX_RETRIES"),
        setting("HEALTH_CHECK_RETRY_DELAY_MS"),
    );
    let (unhealthy, demote) = (setting("UNHEALTHY_TIMEOUT_MS"), setting("PRIMARY_DEMOTE_TIMEOUT_MS"));
    let partition_ms = setting("NETWORK_PARTITION_TIMEOUT_S") * 1000;
    // The keeper checks once a second and needs about a second more to stop PostgreSQL.
    assert!(partition_ms + 2000 <= unhealthy + demote, "an isolated primary could overlap the new one");
    // A health check that fails (period, then every retry timing out), or the keeper's silence,
    // whichever is later; then about 2 s of promotion (measured), then the demote timeout.
    let detection = (period + timeout + retries * (delay + timeout)).max(unhealthy);
    let worst = detection + 2000 + demote + 1000;
    assert!(worst <= 10_000, "worst case {worst} ms");
}

#[test]
fn the_systemd_units_run_the_scripts_as_postgres() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/ha/systemd/");
    for (unit, script) in
        [("lectern-pg-monitor.service", "/deploy/ha/monitor.sh"), ("lectern-pg-node@.service", "/deploy/ha/node.sh")]
    {
        let text = std::fs::read_to_string(format!("{dir}{unit}")).unwrap();
        assert!(text.contains(&format!("ExecStart=/opt/lectern{script}")) && text.contains("User=postgres"), "{unit}");
    }
    let lectern = std::fs::read_to_string(format!("{dir}lectern@.service")).unwrap();
    assert!(lectern.contains("ExecStart=/usr/local/bin/lectern serve %i"));
}
