//! `spawn_app()`: the real application on a random port with a fresh database (a SQLite file in
//! a temporary directory, or a new PostgreSQL database dropped afterwards), a manual clock that
//! tests move instead of sleeping, and typed helpers for the actors of the spec.

use diesel::{Connection, RunQueryDsl};
use lectern::startup::{Application, Parts, ServiceSet, prepare};
use lectern_common::Config;
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;
use token_claims::{Clock, ManualClock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn name(backend: Backend)` once per database backend, as the tests
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::helpers::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::helpers::Backend::Postgres).await }
        }
    )*};
}

/// Where PostgreSQL tests create their databases.
fn postgres_admin_url() -> String {
    std::env::var("LECTERN_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that disappears with the test, and auth-core's key-encryption key file beside it.
pub enum TestDb {
    Sqlite { dir: tempfile::TempDir, url: String },
    Postgres { dir: tempfile::TempDir, admin_url: String, name: String, url: String },
    Shared { url: String, kek: std::path::PathBuf },
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("lectern.db").display());
                Self::Sqlite { dir, url }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("lectern_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .expect("PostgreSQL must be running (see README: testing)");
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create test database");
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                Self::Postgres { dir, admin_url, name, url }
            }
        }
    }

    /// The same database again, for a second process; only the first owner drops it.
    pub fn reuse(app: &TestApp) -> Self {
        Self::Shared { url: app._db.url().to_owned(), kek: app._db.kek_path() }
    }

    /// A database on a server the test runs itself; the key-encryption key goes in `dir`.
    pub fn external(url: &str, dir: &std::path::Path) -> Self {
        Self::Shared { url: url.to_owned(), kek: dir.join("kek") }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } | Self::Shared { url, .. } => url,
        }
    }

    /// `LECTERN_KEY_ENCRYPTION_KEY_FILE` of every auth-core on this database (created by the first).
    pub fn kek_path(&self) -> std::path::PathBuf {
        match self {
            Self::Sqlite { dir, .. } | Self::Postgres { dir, .. } => dir.path().join("kek"),
            Self::Shared { kek, .. } => kek.clone(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name, .. } = self
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub clock: ManualClock,
    pub config: Config,
    pub db: lectern_common::Db,
    pub auth: Arc<auth_core::AuthState>,
    pub revoked: token_claims::RevokedSessions,
    /// A client that follows no redirects and keeps no cookies, so tests see every reply.
    pub api: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    _db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; nothing to wait for.
        drop(self.handle.stop(false));
    }
}

/// The instant every test starts at (a fixed date keeps failures reproducible).
pub fn start_time() -> OffsetDateTime {
    time::macros::datetime!(2026-11-28 09:00:00 UTC)
}

pub fn base_config(db_url: &str) -> Config {
    Config { database_url: db_url.to_owned(), workers: Some(1), log_filter: "warn".into(), ..Config::default() }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend);
    spawn_on(db, tweak).await
}

/// Starts an app on an existing database (a second process of the split shape shares it).
pub async fn spawn_on(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        lectern_common::telemetry::init("info", lectern_common::config::LogFormat::Text);
    }
    let started = launch(&db, ServiceSet::All, tweak).await;
    let auth = started.parts.auth.expect("auth state");
    let api = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp {
        address: started.address,
        clock: started.clock,
        config: started.config,
        db: started.parts.db,
        auth,
        revoked: started.parts.revoked,
        api,
        handle: started.handle,
        _db: db,
    }
}

/// A running server and what start-up built for it.
struct Launched {
    address: String,
    config: Config,
    clock: ManualClock,
    /// Start-up's handles (the database, auth-core's state, the revoked set), for tests to reach in.
    parts: Parts,
    handle: actix_web::dev::ServerHandle,
}

/// Starts the services `which` on `db`, on a random port, with a manual clock.
async fn launch(db: &TestDb, which: ServiceSet, tweak: impl FnOnce(&mut Config)) -> Launched {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let mut config = base_config(db.url());
    config.public_url = address.clone();
    config.key_encryption_key_file = Some(db.kek_path());
    tweak(&mut config);
    let clock = ManualClock::new(start_time());
    let dyn_clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let parts: Parts = prepare(&config, Arc::clone(&dyn_clock), which).await.expect("prepare");
    let app = Application::from_parts(config.clone(), dyn_clock, which, parts.clone(), listener).expect("build app");
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    Launched { address, config, clock, parts, handle }
}

/// One service on its own, as a process of the split shape runs it (here inside the test
/// process): its own clock, and for courses and grading, keys only from `LECTERN_AUTH_URL`.
pub struct ServiceApp {
    pub address: String,
    pub clock: ManualClock,
    handle: actix_web::dev::ServerHandle,
    _db: TestDb,
}

impl ServiceApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Stops the server and waits until it no longer answers.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

impl Drop for ServiceApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

pub async fn spawn_service(db: TestDb, which: ServiceSet, tweak: impl FnOnce(&mut Config)) -> ServiceApp {
    let started = launch(&db, which, tweak).await;
    ServiceApp { address: started.address, clock: started.clock, handle: started.handle, _db: db }
}

/// Someone signed in through the API.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub const STUDENT_PASSWORD: &str = "violet meadow studies algebra";
pub const TEACHER_PASSWORD: &str = "granite harbor grades essays";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.api.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.api.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn signup(&self, email: &str, password: &str, name: &str) -> reqwest::Response {
        self.post_json("/api/auth/signup", None, &json!({"email": email, "password": password, "display_name": name}))
            .await
    }

    pub async fn token(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/api/auth/token", None, &json!({"email": email, "password": password})).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/auth/refresh", None, &json!({"refresh_token": refresh_token})).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Actor {
        let resp = self.token(email, password).await;
        assert_eq!(resp.status(), 200, "sign-in of {email}");
        let body: Value = resp.json().await.expect("json");
        let me: Value = self.get("/api/auth/me", body["access_token"].as_str()).await.json().await.expect("me");
        Actor {
            id: me["id"].as_str().expect("id").to_owned(),
            access_token: body["access_token"].as_str().expect("access_token").to_owned(),
            refresh_token: body["refresh_token"].as_str().expect("refresh_token").to_owned(),
        }
    }

    /// A student who signed up and signed in.
    pub async fn student(&self, name: &str) -> Actor {
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        assert_eq!(self.signup(&email, STUDENT_PASSWORD, name).await.status(), 201);
        self.sign_in(&email, STUDENT_PASSWORD).await
    }

    /// A teacher made as `lectern users add` makes one, signed in.
    pub async fn teacher(&self, name: &str) -> Actor {
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        let (auth, db_name, db_email) = (Arc::clone(&self.auth), name.to_owned(), email.clone());
        self.db
            .run(move |conn| {
                auth.create_user_now(conn, &db_email, &db_name, token_claims::Role::Teacher, TEACHER_PASSWORD)
                    .map_err(|e| lectern_common::DbError::Task(e.to_string()))
            })
            .await
            .expect("create teacher")
            .expect("new email");
        self.sign_in(&email, TEACHER_PASSWORD).await
    }

    /// The problem document of a reply, checking its content type.
    pub async fn problem(resp: reqwest::Response) -> Value {
        assert_eq!(
            resp.headers().get("content-type").map(|v| v.to_str().unwrap_or_default()),
            Some("application/problem+json")
        );
        resp.json().await.expect("problem json")
    }

    /// Moves the clock of this app.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(time::Duration::seconds(secs));
    }
}

/// Splits a `Set-Cookie` header into its name and attribute list, lower-cased.
pub fn set_cookies(resp: &reqwest::Response) -> Vec<(String, String, String)> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|raw| {
            let (pair, attrs) = raw.split_once(';').unwrap_or((raw, ""));
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.trim().to_owned(), value.trim().to_owned(), attrs.to_lowercase())
        })
        .collect()
}

/// A browser, as far as Lectern's pages care: it keeps cookies by path, sends `Origin` on
/// posts, and follows no redirects on its own (tests look at each one).
pub struct Browser<'a> {
    pub app: &'a TestApp,
    /// name -> (value, path)
    pub cookies: std::collections::BTreeMap<String, (String, String)>,
    pub origin: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookies: Default::default(), origin: app.config.public_url.clone() }
    }

    fn cookie_header(&self, path: &str) -> String {
        self.cookies
            .iter()
            .filter(|(_, (_, p))| path.starts_with(p.as_str()))
            .map(|(n, (v, _))| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for (name, value, attrs) in set_cookies(resp) {
            let path = attrs
                .split(';')
                .find_map(|a| a.trim().strip_prefix("path=").map(str::to_owned))
                .unwrap_or_else(|| "/".into());
            if attrs.contains("max-age=0") || value.is_empty() {
                self.cookies.remove(&name);
            } else {
                self.cookies.insert(name, (value, path));
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let resp =
            self.app.api.get(self.app.url(path)).header("cookie", self.cookie_header(path)).send().await.expect("get");
        self.keep(&resp);
        resp
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded_body(fields);
        let resp = self
            .app
            .api
            .post(self.app.url(path))
            .header("cookie", self.cookie_header(path))
            .header("origin", &self.origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("post");
        self.keep(&resp);
        resp
    }

    /// GET a page and return its HTML and the CSRF token of its forms.
    pub async fn page(&mut self, path: &str) -> (String, String) {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        let html = resp.text().await.expect("html");
        let token = csrf_token(&html);
        (html, token)
    }

    /// Signs in through the form.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let (_, token) = self.page("/auth/sign-in").await;
        let resp = self
            .post_form(
                "/auth/sign-in",
                &[("csrf_token", &token), ("email", email), ("password", password), ("next", "/auth/token")],
            )
            .await;
        assert_eq!(resp.status(), 303, "sign-in form");
    }
}

pub fn serde_urlencoded_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", lectern_common::extract::urlencode(k), lectern_common::extract::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The CSRF token of the first form on the page other than the navigation's sign-out button.
pub fn csrf_token(html: &str) -> String {
    form_tokens(html).find(|(action, _)| action != "/auth/sign-out").map(|(_, t)| t).unwrap_or_default()
}

/// The token of the sign-out button every signed-in page carries.
pub fn sign_out_token(html: &str) -> String {
    form_tokens(html).find(|(action, _)| action == "/auth/sign-out").map(|(_, t)| t).unwrap_or_default()
}

/// (action, csrf token) of each form on the page.
fn form_tokens(html: &str) -> impl Iterator<Item = (String, String)> + '_ {
    html.split("<form").skip(1).filter_map(|form| {
        let action = form.split("action=\"").nth(1)?.split('"').next()?.to_owned();
        let token = form.split("name=\"csrf_token\" value=\"").nth(1)?.split('"').next()?.to_owned();
        Some((action, token))
    })
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Course helpers: the API calls most tests start with.
impl TestApp {
    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.api.patch(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.api.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// A course created by `teacher`; returns its JSON (with `id` and `enrollment_code`).
    pub async fn create_course(&self, teacher: &Actor, title: &str, published: bool) -> Value {
        let resp = self
            .post_json(
                "/api/courses",
                Some(&teacher.access_token),
                &json!({"title": title, "summary": "About it", "published": published}),
            )
            .await;
        assert_eq!(resp.status(), 201, "create course {title}");
        resp.json().await.expect("course json")
    }

    /// Enrolls `student` with the course's code.
    pub async fn enroll(&self, student: &Actor, course: &Value) {
        let id = course["id"].as_str().expect("course id");
        let resp = self
            .post_json(
                &format!("/api/courses/{id}/enrollments"),
                Some(&student.access_token),
                &json!({"enrollment_code": course["enrollment_code"]}),
            )
            .await;
        assert_eq!(resp.status(), 201, "enroll");
    }

    /// A material in `course`, by its teacher.
    pub async fn add_material(&self, teacher: &Actor, course: &Value, title: &str, body: &str) -> Value {
        let id = course["id"].as_str().expect("course id");
        let resp = self
            .post_json(
                &format!("/api/courses/{id}/materials"),
                Some(&teacher.access_token),
                &json!({"title": title, "body_markdown": body}),
            )
            .await;
        assert_eq!(resp.status(), 201, "add material");
        resp.json().await.expect("material json")
    }
}

/// The cast of docs/security.md's access table around one published course: its creator, a
/// co-teacher and a grader (teacher accounts its creator added to the staff), a teacher and a
/// student with no relationship to it, a student enrolled in it, and nobody.
pub struct Cast {
    pub app: TestApp,
    pub teacher: Actor,
    pub co_teacher: Actor,
    pub grader: Actor,
    pub other_teacher: Actor,
    pub enrolled: Actor,
    pub other_student: Actor,
    pub course: Value,
}

/// How many columns the access table has.
pub const COLUMNS: usize = 7;

impl Cast {
    pub async fn new(backend: Backend) -> Self {
        let app = spawn_app(backend).await;
        let teacher = app.teacher("Ada").await;
        let co_teacher = app.teacher("Charles").await;
        let grader = app.teacher("Emmy").await;
        let other_teacher = app.teacher("Alan").await;
        let enrolled = app.student("Grace").await;
        let other_student = app.student("Edsger").await;
        let course = app.create_course(&teacher, "Rust for Beginners", true).await;
        app.enroll(&enrolled, &course).await;
        let cast = Self { app, teacher, co_teacher, grader, other_teacher, enrolled, other_student, course };
        cast.staff_on(&cast.course).await;
        cast
    }

    pub fn course_id(&self) -> &str {
        self.course["id"].as_str().expect("course id")
    }

    /// Makes the cast's co-teacher and grader staff of `course` too (a course its teacher made).
    pub async fn staff_on(&self, course: &Value) {
        let path = format!("/api/courses/{}/staff", course["id"].as_str().expect("course id"));
        for (email, role) in [("charles@example.org", "teacher"), ("emmy@example.org", "grader")] {
            let resp = self
                .app
                .post_json(&path, Some(&self.teacher.access_token), &json!({"email": email, "role": role}))
                .await;
            assert_eq!(resp.status(), 201, "add {email} as {role}");
        }
    }

    /// The columns of the table, in order, with their tokens (`None`: anonymous).
    pub fn columns(&self) -> [(&'static str, Option<&str>); COLUMNS] {
        [
            ("teacher of the course", Some(self.teacher.access_token.as_str())),
            ("co-teacher", Some(self.co_teacher.access_token.as_str())),
            ("grader of the course", Some(self.grader.access_token.as_str())),
            ("other teacher", Some(self.other_teacher.access_token.as_str())),
            ("enrolled student", Some(self.enrolled.access_token.as_str())),
            ("other student", Some(self.other_student.access_token.as_str())),
            ("anonymous", None),
        ]
    }
}

/// Asserts one row of docs/security.md's access table: `expected[i]` is the status for column `i` of
/// the cast (teacher, co-teacher, grader, other teacher, enrolled student, other student,
/// anonymous), and every refusal is a problem document.
pub async fn row(
    cast: &Cast,
    action: &str,
    expected: [u16; COLUMNS],
    mut attempt: impl AsyncFnMut(&Cast, Option<&str>) -> reqwest::Response,
) {
    for ((who, token), want) in cast.columns().into_iter().zip(expected) {
        let resp = attempt(cast, token).await;
        assert_eq!(resp.status().as_u16(), want, "{action}: {who}");
        if want >= 400 {
            assert_eq!(resp.headers()["content-type"], "application/problem+json", "{action}: {who}");
        }
    }
}

/// GETs `url` until `done` holds for (status, JSON body), for at most 10 s: for a process to
/// reach a state over its own network calls (start-up, a failed fetch), never to wait out time the
/// tests could move instead.
pub async fn poll_json(url: &str, mut done: impl FnMut(&(u16, Value)) -> bool) -> (u16, Value) {
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let resp = client.get(url).send().await.expect("request");
        let seen = (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null));
        if done(&seen) || std::time::Instant::now() > deadline {
            assert!(done(&seen), "{url} never reached the state: last {seen:?}");
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(name: &str, value: &str) -> Self {
        Self { name: name.to_owned(), filename: None, content_type: None, data: value.as_bytes().to_vec() }
    }

    pub fn file(filename: &str, content_type: &str, data: impl Into<Vec<u8>>) -> Self {
        Self {
            name: "files".to_owned(),
            filename: Some(filename.to_owned()),
            content_type: Some(content_type.to_owned()),
            data: data.into(),
        }
    }
}

/// A `multipart/form-data` body as browsers send it (file names raw UTF-8, quotes escaped as
/// `%22`), and its `Content-Type` with the boundary.
pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = format!("lectern-test-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = &p.filename {
            disposition.push_str(&format!("; filename=\"{}\"", f.replace('"', "%22")));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = &p.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// Posts a multipart body, with a bearer token and an `Idempotency-Key` when given.
    pub async fn post_multipart(
        &self,
        path: &str,
        token: Option<&str>,
        parts: &[Part],
        key: Option<&str>,
    ) -> reqwest::Response {
        let (content_type, body) = multipart(parts);
        let mut req = self.api.post(self.url(path)).header("content-type", content_type).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("request")
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.api.put(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }
}

impl TestApp {
    /// A fresh access token for `actor` through its refresh token (after the clock moved past
    /// the access token's life), as a client would get one.
    pub async fn renew(&self, actor: &mut Actor) {
        let resp = self.refresh(&actor.refresh_token).await;
        assert_eq!(resp.status(), 200, "refresh");
        let body: Value = resp.json().await.expect("json");
        actor.access_token = body["access_token"].as_str().expect("access_token").to_owned();
        actor.refresh_token = body["refresh_token"].as_str().expect("refresh_token").to_owned();
    }
}

impl Cast {
    /// Moves the clock and gives everyone of the cast a fresh access token.
    pub async fn advance(&mut self, secs: i64) {
        self.app.advance(secs);
        for actor in [
            &mut self.teacher,
            &mut self.co_teacher,
            &mut self.grader,
            &mut self.other_teacher,
            &mut self.enrolled,
            &mut self.other_student,
        ] {
            self.app.renew(actor).await;
        }
    }
}
