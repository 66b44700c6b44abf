//! Sign in with Lectern, tested with a relying party nobody here wrote: `tests/oidc`, a small
//! application on openid-client (panva's OpenID Foundation-certified library), driven in Chromium
//! through Lectern's sign-in and consent pages. The library validates everything itself (the ID
//! token's signature against the JWKS, iss, aud, nonce, the PKCE exchange, the response's iss), for
//! an RS256 confidential client and an EdDSA public client, then reads userinfo; then a remembered
//! consent, a second browser whose sign-in form ends at the application, an expired session
//! cookie renewed on the way, and a consent revoked on the sessions page and refused.
//!
//! Clients are registered as an operator would, with `lectern oidc clients add --json`. Needs
//! Node.js, `/usr/bin/chromium` and the packages of `tests/oidc`, which `cargo xtask test`
//! installs. Without them the test fails and says so; it never skips.

use crate::browser::{ControlServer, run_to_end};
use crate::helpers::{Backend, STUDENT_PASSWORD, spawn_app};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(300);
const STUDENT_NAME: &str = "Mary Somerville";
const STUDENT_EMAIL: &str = "mary.somerville@example.org";

fn check_installed(dir: &Path, chromium: &str) {
    let install = "run `cargo xtask test` (it installs them), or by hand: \
                   `apt-get install -y chromium nodejs npm`, `npm ci --prefix tests/oidc` and `npm ci --prefix tests/browser`";
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "the OpenID Connect journey needs Node.js; {install}");
    for package in ["openid-client", "playwright-core"] {
        assert!(
            dir.join("node_modules").join(package).join("package.json").is_file(),
            "the OpenID Connect journey needs tests/oidc/node_modules/{package}; {install}"
        );
    }
    let axe = dir.join("../browser/node_modules/@axe-core/playwright/package.json");
    assert!(axe.is_file(), "the OpenID Connect journey checks pages with tests/browser's axe-core; {install}");
    assert!(Path::new(chromium).is_file(), "the OpenID Connect journey needs Chromium at {chromium}; {install}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_signs_in_with_lectern_in_chromium() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = repo.join("tests/oidc");
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    check_installed(&dir, &chromium);

    let app = spawn_app(Backend::Sqlite).await;
    app.student(STUDENT_NAME).await;
    let rp_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let add = |name: &str, key: &str, extra: &[&str]| {
        let redirect = format!("http://localhost:{rp_port}/callback/{key}");
        let out = Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(["oidc", "clients", "add", "--name", name, "--redirect-uri", &redirect, "--json"])
            .args(extra)
            .env("LECTERN_DATABASE_URL", &app.config.database_url)
            .env("LECTERN_LOG", "error")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let forum = add("School Forum", "forum", &[]);
    let review = add("Code Review", "review", &["--public", "--id-token-alg", "EdDSA"]);
    let clients = json!({
        "forum": {"client_id": forum["client_id"], "client_secret": forum["client_secret"], "id_token_alg": "RS256"},
        "review": {"client_id": review["client_id"], "client_secret": review["client_secret"], "id_token_alg": "EdDSA"},
    });
    let control = ControlServer::start(app.clock.clone());
    let artifacts = repo.join("artifacts/screenshots");

    let mut node = Command::new("node");
    node.arg("journey.mjs")
        .current_dir(&dir)
        .env("LECTERN_URL", &app.address)
        .env("CONTROL_URL", &control.url)
        .env("RP_PORT", rp_port.to_string())
        .env("CLIENTS", clients.to_string())
        .env("CHROMIUM_PATH", &chromium)
        .env("ARTIFACTS_DIR", &artifacts)
        .env("STUDENT_EMAIL", STUDENT_EMAIL)
        .env("STUDENT_NAME", STUDENT_NAME)
        .env("STUDENT_PASSWORD", STUDENT_PASSWORD);
    let started = Instant::now();
    let (status, output) =
        tokio::task::spawn_blocking(move || run_to_end(node, TIMEOUT)).await.expect("join the node runner");
    println!("{output}");
    println!("OpenID Connect journey: node ran {:.1} s", started.elapsed().as_secs_f64());
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the OpenID Connect journey failed ({s}); screenshots in {}:\n{output}", artifacts.display()),
        None => panic!("the OpenID Connect journey did not finish within {TIMEOUT:?}:\n{output}"),
    }
    let passed = output.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(passed, 6, "every journey ran:\n{output}");
}
