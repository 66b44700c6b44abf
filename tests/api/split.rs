//! The split shape on this machine: auth-core, two course-service processes and a
//! grading-service process, each its own OS process of the `lectern` binary on a shared
//! PostgreSQL, behind Debian's nginx running the repository's `deploy/nginx/routes.conf`.
//!
//! Each process connects with its own database role (auth-core: a member of `lectern_auth`; course
//! and grading services: members of `lectern_service`), and only auth-core has the key-encryption
//! key. Through the gateway: sign-in, a teacher's and a student's journey, a logout that every
//! process refuses within 5 s, a key rotation mid-test with old and new tokens accepted, and the
//! course processes serving while auth-core is stopped. A service's role cannot read a key.

use crate::helpers::{Backend, Part, STUDENT_PASSWORD, TEACHER_PASSWORD, TestDb, multipart};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and its log shown) when the test ends.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Login roles of this test, members of the group roles the migrations create; dropped at the end
/// (roles belong to the whole PostgreSQL cluster, not to the test's database).
struct Roles {
    admin_url: String,
    auth: String,
    service: String,
}

impl Roles {
    fn create(admin_url: &str) -> Self {
        use diesel::{Connection, RunQueryDsl};
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let roles = Self {
            admin_url: admin_url.to_owned(),
            auth: format!("lectern_it_auth_{suffix}"),
            service: format!("lectern_it_service_{suffix}"),
        };
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        for (login, group) in [(&roles.auth, "lectern_auth"), (&roles.service, "lectern_service")] {
            diesel::sql_query(format!("CREATE ROLE {login} LOGIN IN ROLE {group}")).execute(&mut admin).unwrap();
        }
        roles
    }

    /// The test database's URL, as `role`.
    fn url(db_url: &str, role: &str) -> String {
        db_url.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1)
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            for login in [&self.auth, &self.service] {
                // The test database (and with it every session of these roles) is dropped too.
                let _ = diesel::sql_query(format!("DROP ROLE IF EXISTS {login}")).execute(&mut admin);
            }
        }
    }
}

struct Cluster {
    dir: tempfile::TempDir,
    db_url: String,
    gateway: String,
    auth_port: u16,
    /// The database URL each service process uses (its own role); the CLI uses `db_url` (the owner).
    auth_db_url: String,
    service_db_url: String,
}

impl Cluster {
    fn kek(&self) -> PathBuf {
        self.dir.path().join("kek")
    }

    fn env(&self, cmd: &mut Command, port: u16) {
        cmd.env("LECTERN_ADDR", format!("127.0.0.1:{port}"))
            .env("LECTERN_DATABASE_URL", &self.db_url)
            .env("LECTERN_PUBLIC_URL", &self.gateway)
            .env("LECTERN_AUTH_URL", format!("http://127.0.0.1:{}", self.auth_port))
            .env("LECTERN_TRUSTED_PROXIES", "127.0.0.1")
            .env("LECTERN_LOG", "warn")
            .env("LECTERN_LOG_FORMAT", "json");
    }

    /// `lectern serve SERVICE`, as that service's own database role; only auth-core gets the
    /// key-encryption key.
    fn lectern(&self, name: &str, service: &str, port: u16) -> Proc {
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lectern"));
        cmd.args(["serve", service]).stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        self.env(&mut cmd, port);
        if service == "auth" {
            cmd.env("LECTERN_DATABASE_URL", &self.auth_db_url).env("LECTERN_KEY_ENCRYPTION_KEY_FILE", self.kek());
        } else {
            cmd.env("LECTERN_DATABASE_URL", &self.service_db_url);
        }
        Proc { name: name.to_owned(), child: cmd.spawn().unwrap(), log }
    }

    /// Runs a CLI verb to completion, with `input` on standard input.
    fn cli(&self, args: &[&str], input: &str) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lectern"));
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        self.env(&mut cmd, 0);
        cmd.env("LECTERN_KEY_ENCRYPTION_KEY_FILE", self.kek());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "lectern {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn nginx(&self, gateway_port: u16, auth: u16, courses: &[u16], grading: u16) -> Proc {
        let dir = self.dir.path().join("nginx");
        std::fs::create_dir_all(&dir).unwrap();
        // Workers may run as `nobody`: let them write their temporary files.
        let _ = Command::new("chmod").arg("777").arg(&dir).status();
        let routes = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx/routes.conf");
        let servers =
            |ports: &[u16]| ports.iter().map(|p| format!("server 127.0.0.1:{p};")).collect::<Vec<_>>().join(" ");
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\nevents {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             upstream lectern_auth {{ {} keepalive 8; }}\n upstream lectern_courses {{ {} keepalive 8; }}\n upstream lectern_grading {{ {} keepalive 8; }}\n\
             server {{ listen 127.0.0.1:{gateway_port}; include {}; }}\n}}\n",
            servers(&[auth]),
            servers(courses),
            servers(&[grading]),
            routes.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = dir.join("stderr.log");
        let file = std::fs::File::create(&log).unwrap();
        let binary = if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-g")
            .arg("daemon off;")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("nginx must be installed (`cargo xtask test` installs it)");
        Proc { name: "nginx".into(), child, log }
    }
}

/// Waits (bounded) for a process to answer: start-up, not a stand-in for expiry.
async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within {limit:?}");
}

async fn status(client: &reqwest::Client, url: &str, token: Option<&str>) -> u16 {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

async fn sign_in(client: &reqwest::Client, gateway: &str, email: &str, password: &str) -> String {
    let resp = client
        .post(format!("{gateway}/api/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "sign-in through the gateway");
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_shape_behind_nginx() {
    let db = TestDb::new(Backend::Postgres);
    let (auth_port, c1, c2, grading_port, gateway_port) =
        (free_port(), free_port(), free_port(), free_port(), free_port());
    let gateway = format!("http://127.0.0.1:{gateway_port}");
    let cluster = Cluster {
        dir: tempfile::tempdir().unwrap(),
        db_url: db.url().to_owned(),
        gateway: gateway.clone(),
        auth_port,
        auth_db_url: String::new(),
        service_db_url: String::new(),
    };
    // The owner migrates (a one-shot job in docker-compose.yml); the services run as their roles.
    cluster.cli(&["migrate"], "");
    let admin_url = std::env::var("LECTERN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let roles = Roles::create(&admin_url);
    let cluster = Cluster {
        auth_db_url: Roles::url(db.url(), &roles.auth),
        service_db_url: Roles::url(db.url(), &roles.service),
        ..cluster
    };
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let mut auth = cluster.lectern("auth", "auth", auth_port);
    wait_until("auth ready", Duration::from_secs(60), async || {
        status(&client, &format!("http://127.0.0.1:{auth_port}/readyz"), None).await == 200
    })
    .await;
    let courses = [cluster.lectern("courses-1", "courses", c1), cluster.lectern("courses-2", "courses", c2)];
    let _grading = cluster.lectern("grading", "grading", grading_port);
    let _nginx = cluster.nginx(gateway_port, auth_port, &[c1, c2], grading_port);
    for port in [c1, c2, grading_port] {
        wait_until("service ready", Duration::from_secs(60), async || {
            status(&client, &format!("http://127.0.0.1:{port}/readyz"), None).await == 200
        })
        .await;
    }
    wait_until("gateway up", Duration::from_secs(10), async || {
        status(&client, &format!("{gateway}/auth/sign-in"), None).await == 200
    })
    .await;

    // Each service answers only its own prefixes; the gateway exposes nothing else.
    assert_eq!(status(&client, &format!("http://127.0.0.1:{c1}/api/auth/me"), None).await, 404);
    assert_eq!(status(&client, &format!("{gateway}/metrics"), None).await, 404);
    assert_eq!(status(&client, &format!("{gateway}/"), None).await, 303);

    // People: a teacher from the CLI, a student who signs up through the gateway.
    cluster.cli(
        &["users", "add", "--email", "ada@example.org", "--name", "Ada", "--role", "teacher"],
        &format!("{TEACHER_PASSWORD}\n"),
    );
    let signup = client
        .post(format!("{gateway}/api/auth/signup"))
        .json(&json!({"email": "grace@example.org", "password": STUDENT_PASSWORD, "display_name": "Grace"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);
    let teacher = sign_in(&client, &gateway, "ada@example.org", TEACHER_PASSWORD).await;
    let student = sign_in(&client, &gateway, "grace@example.org", STUDENT_PASSWORD).await;

    // The teacher's journey: a course, a material, an assignment.
    let course: Value = client
        .post(format!("{gateway}/api/courses"))
        .bearer_auth(&teacher)
        .json(&json!({"title": "Distributed Rust", "summary": "Split shape", "published": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let course_id = course["id"].as_str().unwrap().to_owned();
    let material: Value = client
        .post(format!("{gateway}/api/courses/{course_id}/materials"))
        .bearer_auth(&teacher)
        .json(&json!({"title": "Tokens", "body_markdown": "Verified **everywhere**."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = client
        .post(format!("{gateway}/api/grading/courses/{course_id}/assignments"))
        .bearer_auth(&teacher)
        .json(&json!({"title": "Essay", "instructions": "Why JWTs?", "due_at": "2099-01-01T00:00:00Z", "max_points": 10, "max_attempts": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let assignment: Value = resp.json().await.unwrap();
    let assignment_id = assignment["id"].as_str().unwrap().to_owned();

    // The student's journey: enroll, read, submit; then the grade, once released.
    let resp = client
        .post(format!("{gateway}/api/courses/{course_id}/enrollments"))
        .bearer_auth(&student)
        .json(&json!({"enrollment_code": course["enrollment_code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    for _ in 0..4 {
        // Several reads, so both course replicas serve some.
        let read = client
            .get(format!("{gateway}/api/materials/{}", material["id"].as_str().unwrap()))
            .bearer_auth(&student)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
    }
    let submitted: Value = client
        .post(format!("{gateway}/api/grading/assignments/{assignment_id}/submissions"))
        .bearer_auth(&student)
        .json(&json!({"body": "Because nobody has to be asked."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let submission_id = submitted["id"].as_str().unwrap().to_owned();
    // Files through the gateway: its submissions location takes 25 MiB of them (far above the
    // 512 KiB elsewhere), streamed to grading-service, whose role stores them and audits nothing
    // it may not; the bytes come back the same.
    let pdf = vec![9u8; 3 * 1024 * 1024];
    let (content_type, body) = multipart(&[Part::file("thesis.pdf", "application/pdf", pdf.clone())]);
    let resp = client
        .post(format!("{gateway}/api/grading/assignments/{assignment_id}/submissions"))
        .bearer_auth(&student)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "3 MiB of files through the gateway");
    let with_file: Value = resp.json().await.unwrap();
    let download = client
        .get(format!(
            "{gateway}/api/grading/submissions/{}/files/{}",
            with_file["id"].as_str().unwrap(),
            with_file["files"][0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&teacher)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().len(), pdf.len());
    let (content_type, body) =
        multipart(&[Part::file("huge.bin", "application/octet-stream", vec![0u8; 27 * 1024 * 1024])]);
    let resp = client
        .post(format!("{gateway}/api/grading/assignments/{assignment_id}/submissions"))
        .bearer_auth(&student)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413, "above the gateway's limit");
    }
    let resp = client
        .post(format!("{gateway}/api/courses/{course_id}/materials"))
        .bearer_auth(&teacher)
        .json(&json!({"title": "Too long", "body_markdown": "x".repeat(600 * 1024)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413, "elsewhere the gateway keeps 512 KiB");
    let graded = client
        .put(format!("{gateway}/api/grading/submissions/{submission_id}/grade"))
        .bearer_auth(&teacher)
        .json(&json!({"score": 9.5, "feedback": "Clear."}))
        .send()
        .await
        .unwrap();
    assert_eq!(graded.status(), 200);
    let released = client
        .post(format!("{gateway}/api/grading/assignments/{assignment_id}/release"))
        .bearer_auth(&teacher)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    let grades: Value = client
        .get(format!("{gateway}/api/grading/me/grades"))
        .bearer_auth(&student)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grades["items"][0]["score"], 9.5);
    // The pages come through the gateway too.
    let page = client
        .get(format!("{gateway}/courses"))
        .header("cookie", format!("lectern_at={student}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Where people start: course-service sends `/` to `/home`, which grading-service serves: the
    // teacher's queue holds the student's latest attempt, the student's home the released grade.
    let root = client.get(format!("{gateway}/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/home");
    let home = |token: String| {
        let client = client.clone();
        let url = format!("{gateway}/home");
        async move {
            let resp = client.get(url).header("cookie", format!("lectern_at={token}")).send().await.unwrap();
            assert_eq!(resp.status(), 200, "the home through the gateway");
            resp.text().await.unwrap()
        }
    };
    let queue = home(teacher.clone()).await;
    let latest = with_file["id"].as_str().unwrap();
    assert!(queue.contains(&format!("/grading/submissions/{latest}")), "the queue lists the latest attempt: {queue}");
    let mine = home(student.clone()).await;
    assert!(mine.contains("Recent grades") && mine.contains("9.5 / 10"), "the released grade: {mine}");
    // Both course replicas served requests (their own metrics say so).
    for port in [c1, c2] {
        let metrics =
            client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("/api/materials/{id}"), "replica {port} served no material read");
    }

    // Sign in with Lectern through the gateway: discovery names the public URL, its endpoints are routed to
    // auth-core by their prefixes, and a client registered with the CLI is known there.
    let discovery: Value =
        client.get(format!("{gateway}/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], gateway.as_str());
    assert_eq!(discovery["token_endpoint"], format!("{gateway}/api/auth/oauth/token"));
    let added: Value = serde_json::from_str(&cluster.cli(
        &["oidc", "clients", "add", "--name", "Forum", "--redirect-uri", "https://forum.example/cb", "--json"],
        "",
    ))
    .unwrap();
    let token_reply = client
        .post(format!("{gateway}/api/auth/oauth/token"))
        .basic_auth(added["client_id"].as_str().unwrap(), added["client_secret"].as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fforum.example%2Fcb&code_verifier=x")
        .send()
        .await
        .unwrap();
    assert_eq!(token_reply.status(), 400, "the client authenticated; the made-up code did not");
    assert_eq!(token_reply.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // LTI through the gateway: a tool registered with the CLI is placed in the course by course-service
    // (as its own role: it reads the registrations, writes the link and its audit entry); the launch and
    // the token endpoint are routed to auth-core, which finds the tool as its own role.
    let tool: Value = serde_json::from_str(&cluster.cli(
        &[
            "lti",
            "tools",
            "add",
            "--name",
            "Quiz",
            "--login-url",
            "https://quiz.example/login",
            "--redirect-uri",
            "https://quiz.example/launch",
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
            "--target-link-uri",
            "https://quiz.example/launch",
            "--json",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(tool["token_endpoint"], format!("{gateway}/api/lti/token"));
    let link = client
        .post(format!("{gateway}/api/courses/{course_id}/tool-links"))
        .bearer_auth(&teacher)
        .json(&json!({"tool_id": tool["id"], "title": "Quiz", "assignment_id": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 201);
    let link: Value = link.json().await.unwrap();
    let launch = client
        .get(format!("{gateway}/lti/launch/{}", link["id"].as_str().unwrap()))
        .header("cookie", format!("lectern_at={teacher}"))
        .send()
        .await
        .unwrap();
    assert_eq!(launch.status(), 303);
    let to = launch.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("https://quiz.example/login?iss="), "{to}");
    let b64 = |v: Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
    let assertion =
        format!("{}.{}.c2ln", b64(json!({"alg": "RS256", "kid": "k"})), b64(json!({"iss": tool["client_id"]})));
    let lti_token = client
        .post(format!("{gateway}/api/lti/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}&scope=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(lti_token.status(), 401);
    let refusal: Value = lti_token.json().await.unwrap();
    assert_eq!(refusal["error"], "invalid_client");
    assert!(refusal["error_description"].as_str().unwrap().contains("JWKS"), "the tool was found: {refusal}");

    // Key rotation while everything runs: new tokens carry the new kid, old tokens still work.
    let old_kid = kid(&teacher);
    let out = cluster.cli(&["keys", "rotate"], "");
    let next_kid = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("access"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned();
    assert!(out.starts_with("published the next keys") && !next_kid.is_empty(), "{out}");
    assert!(out.contains("id_token  RS256") && out.contains("id_token  EdDSA"), "every kind rotates: {out}");
    assert_eq!(kid(&sign_in(&client, &gateway, "ada@example.org", TEACHER_PASSWORD).await), old_kid, "not yet");
    let out = cluster.cli(&["keys", "activate", &next_kid], "");
    assert!(out.contains("signs new tokens now") && out.contains("warning"), "early activation warns: {out}");
    let mut rotated = String::new();
    wait_until("auth signs with the new key", Duration::from_secs(10), async || {
        rotated = sign_in(&client, &gateway, "ada@example.org", TEACHER_PASSWORD).await;
        kid(&rotated) != old_kid
    })
    .await;
    for token in [&teacher, &rotated] {
        for port in [c1, c2] {
            assert_eq!(
                status(&client, &format!("http://127.0.0.1:{port}/api/courses/{course_id}"), Some(token)).await,
                200,
                "replica {port}"
            );
        }
        assert_eq!(
            status(
                &client,
                &format!("http://127.0.0.1:{grading_port}/api/grading/assignments/{assignment_id}"),
                Some(token)
            )
            .await,
            200
        );
    }

    // Logout reaches every process within 5 s, without any of them asking auth-core.
    let resp = client.post(format!("{gateway}/api/auth/logout")).bearer_auth(&student).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let targets = [
        format!("http://127.0.0.1:{c1}/api/courses"),
        format!("http://127.0.0.1:{c2}/api/courses"),
        format!("http://127.0.0.1:{grading_port}/api/grading/me/grades"),
    ];
    let took = wait_until("logout seen everywhere", Duration::from_secs(5), async || {
        let mut all = true;
        for url in &targets {
            all &= status(&client, url, Some(&student)).await == 401;
        }
        all
    })
    .await;
    eprintln!("logout reached all three processes in {took:?}");

    // What a service's role can read: never a key, a secret or a password hash.
    {
        use diesel::{Connection, RunQueryDsl};
        let mut as_service = diesel::PgConnection::establish(&cluster.service_db_url).unwrap();
        for table in [
            "auth.signing_keys",
            "auth.secrets",
            "auth.password_hashes",
            "auth.refresh_tokens",
            "auth.oidc_clients",
            "auth.oidc_redirect_uris",
            "auth.oidc_codes",
            "auth.oidc_access_tokens",
            "auth.oidc_consents",
        ] {
            let refused = diesel::sql_query(format!("SELECT * FROM {table}")).execute(&mut as_service).unwrap_err();
            assert!(refused.to_string().contains("permission denied"), "{table}: {refused}");
        }
        for table in ["signing_keys", "secrets", "password_hashes"] {
            let unseen = diesel::sql_query(format!("SELECT * FROM {table}")).execute(&mut as_service).unwrap_err();
            assert!(unseen.to_string().contains("does not exist"), "{table}: {unseen}");
        }
        assert!(diesel::sql_query("SELECT id FROM users").execute(&mut as_service).unwrap() >= 2, "names are shared");
        let mut as_auth = diesel::PgConnection::establish(&cluster.auth_db_url).unwrap();
        assert_eq!(diesel::sql_query("SELECT kid FROM auth.signing_keys").execute(&mut as_auth).unwrap(), 6);
        // The OpenID Connect tables (a later migration) went to auth-core's role too.
        for table in ["oidc_clients", "oidc_redirect_uris", "oidc_codes", "oidc_access_tokens", "oidc_consents"] {
            diesel::sql_query(format!("SELECT * FROM auth.{table}")).execute(&mut as_auth).unwrap();
            diesel::sql_query(format!("DELETE FROM auth.{table} WHERE false")).execute(&mut as_auth).unwrap();
        }
    }

    // auth-core goes away: the course processes keep serving with their cached keys.
    auth.stop();
    assert_eq!(status(&client, &format!("{gateway}/api/courses"), Some(&rotated)).await, 200);
    for c in &courses {
        assert!(c.child.id() > 0);
    }
    for port in [c1, c2] {
        assert_eq!(status(&client, &format!("http://127.0.0.1:{port}/api/courses"), Some(&teacher)).await, 200);
        assert_eq!(status(&client, &format!("http://127.0.0.1:{port}/readyz"), None).await, 200);
    }
    assert_eq!(
        status(&client, &format!("{gateway}/api/auth/me"), Some(&teacher)).await,
        502,
        "the gateway has no auth-core to ask"
    );
}
