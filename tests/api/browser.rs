//! The browser journeys (issue 6) in real Chromium: this test starts Lectern on SQLite with a
//! teacher, serves a test-only control server that moves the app's clock (so an access cookie
//! expires without sleeping), and runs `tests/browser/journeys.mjs`, a Playwright script driving
//! Debian's Chromium through the pages as a student and a teacher, one of them by keyboard only.
//! axe-core checks every page they show at both sizes (`tests/browser/a11y.mjs`): a WCAG 2.0, 2.1
//! or 2.2 A or AA violation fails the journey. Screenshots of every main page land in
//! `artifacts/screenshots/`.
//!
//! Needs Node.js, `/usr/bin/chromium` and the packages of `tests/browser`, which `cargo xtask test`
//! installs. Without them the test fails and says so; it never skips.

use crate::helpers::{Backend, STUDENT_PASSWORD, TEACHER_PASSWORD, spawn_app};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use token_claims::{Clock, ManualClock};

/// The journeys, with axe-core checking each page at two sizes, take two to four minutes on a
/// busy machine; past this the browser is stuck.
const JOURNEYS_TIMEOUT: Duration = Duration::from_secs(600);

const TEACHER_NAME: &str = "Ada Lovelace";
const TEACHER_EMAIL: &str = "ada.lovelace@example.org";
const CO_TEACHER_NAME: &str = "Charles Babbage";
const CO_TEACHER_EMAIL: &str = "charles.babbage@example.org";
const GRADER_NAME: &str = "Emmy Noether";
const GRADER_EMAIL: &str = "emmy.noether@example.org";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_in_chromium() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script_dir = repo.join("tests/browser");
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    check_installed(&script_dir, &chromium);

    let app = spawn_app(Backend::Sqlite).await;
    app.teacher(TEACHER_NAME).await;
    app.teacher(CO_TEACHER_NAME).await;
    app.teacher(GRADER_NAME).await;
    let control = ControlServer::start(app.clock.clone());
    let artifacts = repo.join("artifacts/screenshots");
    std::fs::create_dir_all(&artifacts).expect("create artifacts/screenshots");

    let mut node = Command::new("node");
    node.arg("journeys.mjs")
        .current_dir(&script_dir)
        .env("LECTERN_URL", &app.address)
        .env("CONTROL_URL", &control.url)
        .env("ARTIFACTS_DIR", &artifacts)
        .env("CHROMIUM_PATH", &chromium)
        .env("TEACHER_EMAIL", TEACHER_EMAIL)
        .env("TEACHER_NAME", TEACHER_NAME)
        .env("CO_TEACHER_EMAIL", CO_TEACHER_EMAIL)
        .env("CO_TEACHER_NAME", CO_TEACHER_NAME)
        .env("GRADER_EMAIL", GRADER_EMAIL)
        .env("GRADER_NAME", GRADER_NAME)
        .env("TEACHER_PASSWORD", TEACHER_PASSWORD)
        .env("STUDENT_PASSWORD", STUDENT_PASSWORD);
    // The app keeps serving on the runtime's threads while this one waits for node.
    let started = Instant::now();
    let (status, output) =
        tokio::task::spawn_blocking(move || run_to_end(node, JOURNEYS_TIMEOUT)).await.expect("join the node runner");
    println!("{output}");
    println!("browser journeys: node ran {:.1} s", started.elapsed().as_secs_f64());
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the browser journeys failed ({s}); screenshots in {}:\n{output}", artifacts.display()),
        None => panic!("the browser journeys did not finish within {JOURNEYS_TIMEOUT:?} and were stopped:\n{output}"),
    }
}

/// Fails with the install step when something the journeys need is missing.
fn check_installed(script_dir: &Path, chromium: &str) {
    let install = "run `cargo xtask test` (it installs them), or by hand: \
                   `apt-get install -y chromium nodejs npm` and `npm ci --prefix tests/browser`";
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "the browser tests need Node.js (`node` on PATH); {install}");
    for package in ["playwright-core", "@axe-core/playwright", "axe-core"] {
        assert!(
            script_dir.join("node_modules").join(package).join("package.json").is_file(),
            "the browser tests need tests/browser/node_modules/{package}; {install}"
        );
    }
    assert!(Path::new(chromium).is_file(), "the browser tests need Chromium at {chromium}; {install}");
}

/// Runs `cmd` with its output captured; `None` for the status when it was stopped at `timeout`.
pub(crate) fn run_to_end(mut cmd: Command, timeout: Duration) -> (Option<ExitStatus>, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node tests/browser/journeys.mjs");
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("stdout")));
    let err = read_all(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for node") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    (status, if err.is_empty() { out } else { format!("{out}\n--- stderr ---\n{err}") })
}

/// A test-only HTTP server on 127.0.0.1 that moves the app's `ManualClock`:
/// `POST /clock/advance?secs=N` answers the new time; `GET /clock` the current one, each as
/// `{"now": "...", "unix": SECONDS}`. It lives in the test binary only, never in the product.
pub(crate) struct ControlServer {
    pub(crate) url: String,
    stop: Arc<AtomicBool>,
}

impl ControlServer {
    pub(crate) fn start(clock: ManualClock) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the control server");
        let url = format!("http://{}", listener.local_addr().expect("control address"));
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &clock);
                }
            }
        });
        Self { url, stop }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve(stream: TcpStream, clock: &ManualClock) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Headers up to the blank line; the requests carry no body.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let secs = query.split('&').find_map(|kv| kv.strip_prefix("secs=")).and_then(|v| v.parse::<i64>().ok());
    let (status, body) = match (method, path, secs) {
        ("POST", "/clock/advance", Some(secs)) if (1..=86_400 * 30).contains(&secs) => {
            clock.advance(time::Duration::seconds(secs));
            ("200 OK", format!("{{\"now\":\"{}\",\"unix\":{}}}", clock.now(), clock.now().unix_timestamp()))
        }
        ("POST", "/clock/advance", _) => ("400 Bad Request", "{\"error\":\"secs must be 1 to 2592000\"}".to_owned()),
        ("GET", "/clock", _) => {
            ("200 OK", format!("{{\"now\":\"{}\",\"unix\":{}}}", clock.now(), clock.now().unix_timestamp()))
        }
        _ => ("404 Not Found", "{\"error\":\"not found\"}".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
