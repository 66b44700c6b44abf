//! Lectern as an LTI 1.3 platform, tested with a tool nobody here wrote the LTI of: `tests/lti/tool.py`,
//! a Flask application on pylti1p3, run as its own process and driven in Chromium by
//! `tests/lti/journey.mjs`. A teacher adds the tool to a course with the course page's form, a
//! student launches it from the course page (the library validates the launch itself: state,
//! nonce, the RS256 signature against Lectern's JWKS, iss, aud, deployment, version), the tool
//! posts a score through the grade service (its client assertion, the token, the line item, the
//! score), reads the roster, and the teacher sees the score in the gradebook and the audit trail,
//! the student only once it is released.
//!
//! The tool is registered as an operator would, with `lectern lti tools add --json`. It runs on
//! the wall clock (PyJWT checks `iat` and `exp` against it), so Lectern's clock follows the wall
//! clock during this test. Needs Python 3 with the packages of `tests/lti/requirements.txt` in
//! `tests/lti/.venv`, Node.js with `tests/lti/node_modules`, and `/usr/bin/chromium`, all of which
//! `cargo xtask test` installs. Without them the test fails and says so; it never skips.

use crate::browser::run_to_end;
use crate::helpers::{Backend, STUDENT_PASSWORD, TEACHER_PASSWORD, spawn_app};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(300);
const TEACHER_NAME: &str = "Ada Lovelace";
const STUDENT_NAME: &str = "Mary Somerville";
const TOOL_NAME: &str = "Quiz Tool";
const ASSIGNMENT: &str = "Quiz 1";

fn check_installed(dir: &Path, chromium: &str) {
    let install = "run `cargo xtask test` (it installs them), or by hand: `apt-get install -y chromium nodejs npm \
                   python3 python3-venv`, `npm ci --prefix tests/lti`, `npm ci --prefix tests/browser`, \
                   `python3 -m venv tests/lti/.venv` and \
                   `tests/lti/.venv/bin/pip install -r tests/lti/requirements.txt`";
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "the LTI journey needs Node.js; {install}");
    assert!(
        dir.join("node_modules/playwright-core/package.json").is_file(),
        "the LTI journey needs tests/lti/node_modules/playwright-core; {install}"
    );
    let axe = dir.join("../browser/node_modules/@axe-core/playwright/package.json");
    assert!(axe.is_file(), "the LTI journey checks pages with tests/browser's axe-core; {install}");
    let python = dir.join(".venv/bin/python");
    let imports = Command::new(&python).args(["-c", "import pylti1p3, flask"]).output();
    assert!(
        imports.is_ok_and(|o| o.status.success()),
        "the LTI tool needs pylti1p3 and Flask in tests/lti/.venv; {install}"
    );
    assert!(Path::new(chromium).is_file(), "the LTI journey needs Chromium at {chromium}; {install}");
}

/// The tool's process, stopped when the test ends however it ends.
struct ToolProcess(Child);

impl Drop for ToolProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Keeps Lectern's clock on the wall clock while the real tool talks to it.
struct WallClock(Arc<AtomicBool>);

impl WallClock {
    fn follow(clock: token_claims::ManualClock) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                clock.set(time::OffsetDateTime::now_utc());
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self(stop)
    }
}

impl Drop for WallClock {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pylti1p3_tool_launches_scores_and_reads_the_roster_in_chromium() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = repo.join("tests/lti");
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    check_installed(&dir, &chromium);

    let app = spawn_app(Backend::Sqlite).await;
    let _wall = WallClock::follow(app.clock.clone());
    let teacher = app.teacher(TEACHER_NAME).await;
    let student = app.student(STUDENT_NAME).await;
    let course = app.create_course(&teacher, "Astronomy", true).await;
    app.enroll(&student, &course).await;
    let course_id = course["id"].as_str().unwrap().to_owned();
    let due = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{course_id}/assignments"),
            Some(&teacher.access_token),
            &json!({"title": ASSIGNMENT, "instructions": "Take the quiz in the Quiz Tool.", "max_points": 10,
                    "max_attempts": null, "due_at": due.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(resp.status(), 201);

    // The operator registers the tool; the tool is configured with what that printed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tool_url = format!("http://localhost:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_lectern"))
        .args(["lti", "tools", "add", "--name", TOOL_NAME, "--json"])
        .args(["--login-url", &format!("{tool_url}/login")])
        .args(["--redirect-uri", &format!("{tool_url}/launch")])
        .args(["--jwks-url", &format!("{tool_url}/jwks")])
        .args(["--target-link-uri", &format!("{tool_url}/launch")])
        .env("LECTERN_DATABASE_URL", &app.config.database_url)
        .env("LECTERN_PUBLIC_URL", &app.config.public_url)
        .env("LECTERN_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let registered: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = |k: &str| registered[k].as_str().unwrap().to_owned();
    let artifacts = repo.join("artifacts/screenshots");
    std::fs::create_dir_all(&artifacts).expect("create artifacts/screenshots");
    let log_path = repo.join("artifacts/lti-tool.log");
    let tool = ToolProcess(
        Command::new(dir.join(".venv/bin/python"))
            .arg("tool.py")
            .current_dir(&dir)
            .env("TOOL_PORT", port.to_string())
            .env("LTI_ISSUER", text("issuer"))
            .env("LTI_CLIENT_ID", text("client_id"))
            .env("LTI_DEPLOYMENT_ID", text("deployment_id"))
            .env("LTI_AUTH_URL", text("authorization_endpoint"))
            .env("LTI_TOKEN_URL", text("token_endpoint"))
            .env("LTI_JWKS_URL", text("jwks_uri"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Flask logs every request on stderr: kept beside the screenshots, not in the test output.
            .stderr(std::fs::File::create(&log_path).expect("create the tool's log"))
            .spawn()
            .expect("start tests/lti/tool.py"),
    );
    // The tool's start-up: it answers its JWKS once it listens (a process reaching a state, not time passing).
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if client.get(format!("{tool_url}/jwks")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the tool did not start listening on {tool_url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut node = Command::new("node");
    node.arg("journey.mjs")
        .current_dir(&dir)
        .env("LECTERN_URL", &app.address)
        .env("TOOL_URL", &tool_url)
        .env("COURSE_ID", &course_id)
        .env("TOOL_NAME", TOOL_NAME)
        .env("ASSIGNMENT_TITLE", ASSIGNMENT)
        .env("CHROMIUM_PATH", &chromium)
        .env("ARTIFACTS_DIR", &artifacts)
        .env("TEACHER_EMAIL", "ada.lovelace@example.org")
        .env("TEACHER_PASSWORD", TEACHER_PASSWORD)
        .env("TEACHER_NAME", TEACHER_NAME)
        .env("STUDENT_EMAIL", "mary.somerville@example.org")
        .env("STUDENT_PASSWORD", STUDENT_PASSWORD)
        .env("STUDENT_NAME", STUDENT_NAME);
    let started = Instant::now();
    let (status, output) =
        tokio::task::spawn_blocking(move || run_to_end(node, TIMEOUT)).await.expect("join the node runner");
    drop(tool);
    println!("{output}");
    println!("LTI journey: node ran {:.1} s", started.elapsed().as_secs_f64());
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "the LTI journey failed ({s}); screenshots in {}, the tool's log in {}:\n{output}",
            artifacts.display(),
            log_path.display()
        ),
        None => panic!("the LTI journey did not finish within {TIMEOUT:?}:\n{output}"),
    }
    assert_eq!(output.lines().filter(|l| l.starts_with("ok ")).count(), 5, "every journey ran:\n{output}");

    // What the journey did is in the database as the API tells it.
    let book: Value = app
        .get(&format!("/api/grading/courses/{course_id}/gradebook"), Some(&teacher.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(book.to_string().contains("8"), "the gradebook holds the tool's score: {book}");
}
