//! Lectern as an LTI 1.3 platform (docs/lti.md, docs/security.md "LTI"): every rule of the launch,
//! the token endpoint and the services, each with a refusal, on both backends. The tool here is
//! the test itself, speaking the protocol by hand with keys it makes; `lti_browser.rs` runs a real
//! tool built on pylti1p3 in Chromium.

use crate::helpers::{
    Actor, Backend, Browser, Cast, STUDENT_PASSWORD, TEACHER_PASSWORD, TestApp, location, start_time,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lti_platform::claims;
use lti_platform::endpoints::Endpoints;
use lti_platform::tools::{NewTool, Registered};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use token_claims::Clock;

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An RSA key of a tool: what it signs with, and its public JWK.
pub struct ToolKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn make_key(kid: &str) -> ToolKey {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::PrivateKey::new(&mut rand::rng(), 2048).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    let mut jwk =
        serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = kid.into();
    jwk["alg"] = "RS256".into();
    jwk["use"] = "sig".into();
    ToolKey { kid: kid.to_owned(), encoding, jwk }
}

/// The tool's key and a key nobody published: made once for the whole test binary (RSA keys
/// take a moment to make).
fn keys() -> &'static (ToolKey, ToolKey) {
    static KEYS: OnceLock<(ToolKey, ToolKey)> = OnceLock::new();
    KEYS.get_or_init(|| (make_key("tool-key-1"), make_key("rogue-key")))
}

/// The tool's JWKS endpoint: serves whatever keys the test puts there and counts its fetches.
pub struct JwksServer {
    pub url: String,
    keys: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl JwksServer {
    pub async fn start(keys: Value) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&keys), Arc::clone(&hits));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/jwks", listener.local_addr().unwrap().port());
        let server = actix_web::HttpServer::new(move || {
            let (served, counted) = (Arc::clone(&served), Arc::clone(&counted));
            actix_web::App::new().route(
                "/jwks",
                actix_web::web::get().to(move || {
                    let (served, counted) = (Arc::clone(&served), Arc::clone(&counted));
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let body = served.lock().unwrap().to_string();
                        actix_web::HttpResponse::Ok().content_type("application/json").body(body)
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { url, keys, hits, handle }
    }

    pub fn set(&self, keys: Value) {
        *self.keys.lock().unwrap() = keys;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

const TOOL_ORIGIN: &str = "https://quiz.example.org";

fn new_tool(name: &str, jwks_url: &str) -> NewTool {
    NewTool {
        name: name.to_owned(),
        login_url: format!("{TOOL_ORIGIN}/lti/login"),
        redirect_uris: vec![format!("{TOOL_ORIGIN}/lti/launch")],
        jwks_url: jwks_url.to_owned(),
        target_link_uri: format!("{TOOL_ORIGIN}/lti/launch"),
    }
}

/// Registers a tool as `lectern lti tools add` does.
pub async fn register(app: &TestApp, tool: NewTool) -> Registered {
    let (endpoints, now) = (Endpoints::new(&app.config.public_url), app.clock.now());
    app.db.run(move |conn| lti_platform::tools::register(conn, &tool, &endpoints, now)).await.unwrap()
}

/// A course with a teacher, an enrolled student and outsiders, one registered tool (keys served
/// by the test), an assignment and a link of the tool tied to it.
pub struct Setting {
    pub cast: Cast,
    pub tool: Registered,
    pub jwks: JwksServer,
    pub assignment: String,
    pub link: String,
}

impl Setting {
    pub async fn new(backend: Backend) -> Self {
        let cast = Cast::new(backend).await;
        let jwks = JwksServer::start(json!({"keys": [keys().0.jwk]})).await;
        let tool = register(&cast.app, new_tool("Quiz Tool", &jwks.url)).await;
        let assignment = new_assignment(&cast.app, &cast.teacher, cast.course_id(), "Quiz 1").await;
        let link =
            add_link(&cast.app, &cast.teacher, cast.course_id(), &tool.id, "Weekly quiz", Some(&assignment)).await;
        Self { cast, tool, jwks, assignment, link }
    }

    pub fn app(&self) -> &TestApp {
        &self.cast.app
    }
}

pub async fn new_assignment(app: &TestApp, teacher: &Actor, course: &str, title: &str) -> String {
    let resp = app
        .post_json(
            &format!("/api/grading/courses/{course}/assignments"),
            Some(&teacher.access_token),
            &json!({"title": title, "instructions": "Answer the quiz.", "max_points": 10, "max_attempts": null,
                    "due_at": lectern_common::db::rfc3339(lectern_common::db::to_db_time(start_time() + time::Duration::days(7)))}),
        )
        .await;
    assert_eq!(resp.status(), 201, "create assignment");
    resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

pub async fn add_link(
    app: &TestApp,
    teacher: &Actor,
    course: &str,
    tool: &lectern_common::ids::ToolId,
    title: &str,
    assignment: Option<&str>,
) -> String {
    let resp = app
        .post_json(
            &format!("/api/courses/{course}/tool-links"),
            Some(&teacher.access_token),
            &json!({"tool_id": tool, "title": title, "assignment_id": assignment}),
        )
        .await;
    assert_eq!(resp.status(), 201, "add tool link");
    resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn email_of(name: &str) -> String {
    format!("{}@example.org", name.to_lowercase())
}

async fn browser_of<'a>(app: &'a TestApp, name: &str, password: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    browser.sign_in(&email_of(name), password).await;
    browser
}

/// Starts a launch: the redirect to the tool's login initiation URL, as (path, query pairs).
async fn start_launch(browser: &mut Browser<'_>, link: &str) -> HashMap<String, String> {
    let resp = browser.get(&format!("/lti/launch/{link}")).await;
    assert_eq!(resp.status(), 303, "launch {link}");
    let to = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(to.as_str().split('?').next(), Some(&*format!("{TOOL_ORIGIN}/lti/login")));
    to.query_pairs().into_owned().collect()
}

/// The tool's authentication request after a login initiation, as pylti1p3 makes it.
fn auth_request(login: &HashMap<String, String>, nonce: &str, state: &str) -> Vec<(String, String)> {
    [
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", &login["client_id"]),
        ("redirect_uri", &format!("{TOOL_ORIGIN}/lti/launch")),
        ("state", state),
        ("nonce", nonce),
        ("login_hint", &login["login_hint"]),
        ("lti_message_hint", &login["lti_message_hint"]),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn with(params: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = params.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(v) = value {
        out.push((name.to_owned(), v.to_owned()));
    }
    out
}

fn query_of(params: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    crate::helpers::serde_urlencoded_body(&pairs)
}

/// GET /lti/authorize with `params`.
async fn authorize(browser: &mut Browser<'_>, params: &[(String, String)]) -> reqwest::Response {
    browser.get(&format!("/lti/authorize?{}", query_of(params))).await
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The form a page posts to the tool: its action and its hidden fields.
fn form_post(html: &str) -> (String, HashMap<String, String>) {
    let form = html.split("<form").nth(1).expect("a form");
    assert!(form.contains("data-autosubmit"), "the form submits itself");
    let action = unescape(form.split("action=\"").nth(1).unwrap().split('"').next().unwrap());
    let fields = form
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|f| {
            let name = f.split('"').next().unwrap().to_owned();
            let value = f.split("value=\"").nth(1).unwrap().split('"').next().unwrap();
            (name, unescape(value))
        })
        .collect();
    (action, fields)
}

/// Asserts the reply is the auto-posted form to the tool carrying `error` (and the state).
async fn assert_refused(resp: reqwest::Response, error: &str, state: &str) -> String {
    assert_eq!(resp.status(), 200, "an answer to the tool");
    let html = resp.text().await.unwrap();
    let (action, fields) = form_post(&html);
    assert_eq!(action, format!("{TOOL_ORIGIN}/lti/launch"));
    assert_eq!(fields.get("error").map(String::as_str), Some(error), "{fields:?}");
    assert_eq!(fields.get("state").map(String::as_str), Some(state));
    assert!(!fields.contains_key("id_token"));
    fields["error_description"].clone()
}

/// Verifies an ID token against the platform's JWKS as a tool would; answers its claims.
async fn verify_id_token(app: &TestApp, token: &str, client_id: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.expect("a kid");
    let jwks: jsonwebtoken::jwk::JwkSet = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    let jwk = jwks.find(&kid).expect("the kid is in the platform's JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[app.config.public_url.as_str()]);
    // The app's clock is the test's, not this machine's: exp and iat are checked below.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).unwrap().claims
}

/// A client assertion of `client_id` signed with `key`, with these claims changed.
fn assertion(app: &TestApp, key: &ToolKey, client_id: &str, changes: Value) -> String {
    let now = app.clock.now().unix_timestamp();
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": format!("{}/api/lti/token", app.config.public_url),
        "iat": now - 5, "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string(),
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

async fn token_request(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.api
        .post(app.url("/api/lti/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::helpers::serde_urlencoded_body(fields))
        .send()
        .await
        .unwrap()
}

async fn token_for(app: &TestApp, assertion: &str, scope: &str) -> reqwest::Response {
    token_request(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

/// A token of the services with `scope`.
pub async fn service_token(app: &TestApp, tool: &Registered, scope: &str) -> String {
    let resp = token_for(app, &assertion(app, &keys().0, &tool.client_id, json!({})), scope).await;
    assert_eq!(resp.status(), 200, "token");
    resp.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

async fn oauth_error(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn service_get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.api.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

// ---------------------------------------------------------------------------------------------

async fn tools_are_registered_by_the_operator_and_placed_by_teachers(backend: Backend) {
    let cast = Cast::new(backend).await;
    let app = &cast.app;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(args)
            .env("LECTERN_DATABASE_URL", &app.config.database_url)
            .env("LECTERN_PUBLIC_URL", &app.config.public_url)
            .env("LECTERN_LOG", "error")
            .output()
            .unwrap()
    };
    let out = cli(&[
        "lti",
        "tools",
        "add",
        "--name",
        "Quiz Tool",
        "--login-url",
        "https://quiz.example.org/lti/login",
        "--redirect-uri",
        "https://quiz.example.org/lti/launch",
        "--redirect-uri",
        "https://quiz.example.org/lti/deep",
        "--jwks-url",
        "https://quiz.example.org/jwks",
        "--target-link-uri",
        "https://quiz.example.org/lti/launch",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = printed.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["authorization_endpoint", "client_id", "deployment_id", "id", "issuer", "jwks_uri", "token_endpoint"],
        "exactly the documented fields"
    );
    let public = &app.config.public_url;
    assert_eq!(printed["issuer"], *public);
    assert_eq!(printed["authorization_endpoint"], format!("{public}/lti/authorize"));
    assert_eq!(printed["token_endpoint"], format!("{public}/api/lti/token"));
    assert_eq!(printed["jwks_uri"], format!("{public}/.well-known/jwks.json"));
    for id in ["id", "client_id", "deployment_id"] {
        assert!(uuid::Uuid::parse_str(printed[id].as_str().unwrap()).is_ok(), "{id}");
    }
    assert_ne!(printed["client_id"], printed["deployment_id"]);
    let human = cli(&["lti", "tools", "list"]);
    let listing = String::from_utf8_lossy(&human.stdout);
    assert!(listing.contains("Quiz Tool") && listing.contains("https://quiz.example.org/lti/deep"), "{listing}");

    // Unsafe URLs are refused, naming the field.
    for (flag, bad) in [
        ("--login-url", "http://quiz.example.org/login"),
        ("--jwks-url", "javascript:alert(1)"),
        ("--redirect-uri", "https://quiz.example.org/launch#x"),
        ("--target-link-uri", "/relative"),
    ] {
        let mut args = vec![
            "lti",
            "tools",
            "add",
            "--name",
            "Bad",
            "--login-url",
            "https://t.example/l",
            "--redirect-uri",
            "https://t.example/r",
            "--jwks-url",
            "https://t.example/j",
            "--target-link-uri",
            "https://t.example/t",
        ];
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = bad;
        let out = cli(&args);
        assert!(!out.status.success(), "{flag} {bad} was accepted");
    }

    // Teachers place it in their course; members see it; nobody else does.
    let course = cast.course_id();
    let path = format!("/api/courses/{course}/tool-links");
    let tool_id = printed["id"].as_str().unwrap();
    let body = json!({"tool_id": tool_id, "title": "Weekly quiz", "assignment_id": null});
    for (who, token, status) in [
        ("other teacher", Some(&cast.other_teacher.access_token), 403),
        ("enrolled student", Some(&cast.enrolled.access_token), 403),
        ("other student", Some(&cast.other_student.access_token), 403),
        ("anonymous", None, 401),
    ] {
        assert_eq!(app.post_json(&path, token.map(String::as_str), &body).await.status(), status, "POST by {who}");
    }
    let grader = app.post_json(&path, Some(&cast.grader.access_token), &body).await;
    assert_eq!(grader.status(), 403, "POST by the grader: only teachers of the course place tools");
    let resp = app.post_json(&path, Some(&cast.teacher.access_token), &body).await;
    assert_eq!(resp.status(), 201);
    let link: Value = resp.json().await.unwrap();
    assert_eq!(link["tool"], json!({"id": tool_id, "name": "Quiz Tool"}));
    assert_eq!(link["assignment_id"], Value::Null);
    for (who, token, status) in [
        ("teacher", Some(&cast.teacher.access_token), 200),
        ("co-teacher", Some(&cast.co_teacher.access_token), 200),
        ("grader", Some(&cast.grader.access_token), 200),
        ("other teacher", Some(&cast.other_teacher.access_token), 403),
        ("enrolled student", Some(&cast.enrolled.access_token), 200),
        ("other student", Some(&cast.other_student.access_token), 403),
        ("anonymous", None, 401),
    ] {
        let resp = app.get(&path, token.map(String::as_str)).await;
        assert_eq!(resp.status(), status, "GET by {who}");
        if status == 200 {
            let page: Value = resp.json().await.unwrap();
            assert_eq!(page["total"], 1);
            assert_eq!(page["items"][0]["title"], "Weekly quiz");
        }
    }

    // Bodies that break a rule: 422 naming the field.
    let other_course = app.create_course(&cast.other_teacher, "Elsewhere", true).await;
    let foreign_assignment =
        new_assignment(app, &cast.other_teacher, other_course["id"].as_str().unwrap(), "Not yours").await;
    for (bad, field) in [
        (json!({"tool_id": uuid::Uuid::new_v4(), "title": "x"}), "tool_id"),
        (json!({"tool_id": "not-a-uuid", "title": "x"}), "tool_id"),
        (json!({"tool_id": tool_id, "title": "  "}), "title"),
        (json!({"tool_id": tool_id, "title": "x", "assignment_id": foreign_assignment}), "assignment_id"),
    ] {
        let resp = app.post_json(&path, Some(&cast.teacher.access_token), &bad).await;
        assert_eq!(resp.status(), 422, "{bad}");
        let problem = TestApp::problem(resp).await;
        assert_eq!(problem["errors"][0]["field"], field, "{bad}");
    }
    // A student's 403 comes before any 422 about the body.
    let resp = app.post_json(&path, Some(&cast.enrolled.access_token), &json!({"tool_id": "x", "title": ""})).await;
    assert_eq!(resp.status(), 403);

    // Removing: teachers of the course only; a link of another course is not found.
    let link_id = link["id"].as_str().unwrap();
    let one = format!("{path}/{link_id}");
    assert_eq!(app.delete(&one, Some(&cast.enrolled.access_token)).await.status(), 403);
    assert_eq!(app.delete(&one, Some(&cast.grader.access_token)).await.status(), 403);
    assert_eq!(app.delete(&one, Some(&cast.other_teacher.access_token)).await.status(), 403);
    let elsewhere = format!("/api/courses/{}/tool-links/{link_id}", other_course["id"].as_str().unwrap());
    assert_eq!(app.delete(&elsewhere, Some(&cast.other_teacher.access_token)).await.status(), 404);
    assert_eq!(app.delete(&one, Some(&cast.teacher.access_token)).await.status(), 204);
    assert_eq!(app.delete(&one, Some(&cast.teacher.access_token)).await.status(), 404);

    // Removing the tool removes its links everywhere.
    add_link(app, &cast.teacher, course, &tool_id.parse().unwrap(), "Again", None).await;
    let out = cli(&["lti", "tools", "remove", tool_id]);
    assert!(out.status.success());
    let page: Value = app.get(&path, Some(&cast.teacher.access_token)).await.json().await.unwrap();
    assert_eq!(page["total"], 0);
    assert!(!cli(&["lti", "tools", "remove", tool_id]).status.success(), "twice");
}

async fn a_launch_posts_an_rs256_id_token_with_the_lti_claims(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let mut student = browser_of(app, "Grace", STUDENT_PASSWORD).await;
    let login = start_launch(&mut student, &s.link).await;
    // Third-party-initiated login (LTI Core 1.3 §4.1): every parameter the tool needs.
    assert_eq!(login["iss"], app.config.public_url);
    assert_eq!(login["client_id"], s.tool.client_id);
    assert_eq!(login["lti_deployment_id"], s.tool.deployment_id);
    assert_eq!(login["target_link_uri"], format!("{TOOL_ORIGIN}/lti/launch"));
    assert!(!login["login_hint"].contains(&s.cast.enrolled.id), "the login hint is opaque");

    let started = std::time::Instant::now();
    let resp = authorize(&mut student, &auth_request(&login, "nonce-1", "state-1")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains(&format!("form-action {TOOL_ORIGIN}")), "{csp}");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains(r#"<script src="/assets/autosubmit.js""#));
    assert!(html.contains(r#"<button type="submit">"#), "works without JavaScript");
    println!("authorization request answered in {:?}", started.elapsed());
    let (action, fields) = form_post(&html);
    assert_eq!(action, format!("{TOOL_ORIGIN}/lti/launch"));
    assert_eq!(fields["state"], "state-1");
    let claims = verify_id_token(app, &fields["id_token"], &s.tool.client_id).await;

    let course = s.cast.course_id();
    let public = &app.config.public_url;
    assert_eq!(claims["sub"], s.cast.enrolled.id);
    assert_eq!(claims["azp"], s.tool.client_id);
    assert_eq!(claims["nonce"], "nonce-1");
    assert_eq!(claims["iat"], app.clock.now().unix_timestamp());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert_eq!(claims["name"], "Grace");
    assert_eq!(claims["email"], "grace@example.org");
    assert_eq!(claims[claims::MESSAGE_TYPE], "LtiResourceLinkRequest");
    assert_eq!(claims[claims::VERSION], "1.3.0");
    assert_eq!(claims[claims::DEPLOYMENT_ID], s.tool.deployment_id);
    assert_eq!(claims[claims::TARGET_LINK_URI], format!("{TOOL_ORIGIN}/lti/launch"));
    assert_eq!(claims[claims::RESOURCE_LINK], json!({"id": s.link, "title": "Weekly quiz"}));
    assert_eq!(claims[claims::ROLES], json!([claims::ROLE_LEARNER, claims::INSTITUTION_STUDENT]));
    assert_eq!(claims[claims::CONTEXT]["id"], course);
    assert_eq!(claims[claims::CONTEXT]["title"], "Rust for Beginners");
    assert_eq!(claims[claims::CONTEXT]["type"], json!([claims::COURSE_OFFERING]));
    let ags = &claims[claims::AGS_ENDPOINT];
    assert_eq!(ags["lineitems"], format!("{public}/api/lti/courses/{course}/lineitems"));
    assert_eq!(ags["lineitem"], format!("{public}/api/lti/courses/{course}/lineitems/{}", s.assignment));
    assert_eq!(ags["scope"], json!(claims::AGS_SCOPES));
    assert_eq!(
        claims[claims::NRPS],
        json!({"context_memberships_url": format!("{public}/api/lti/courses/{course}/memberships"), "service_versions": ["2.0"]})
    );

    // A teacher of the course launches as Instructor; a link without an assignment has no line item.
    let plain = add_link(app, &s.cast.teacher, course, &s.tool.id, "Practice", None).await;
    let mut teacher = browser_of(app, "Ada", TEACHER_PASSWORD).await;
    let login = start_launch(&mut teacher, &plain).await;
    let html = authorize(&mut teacher, &auth_request(&login, "nonce-2", "s")).await.text().await.unwrap();
    let claims = verify_id_token(app, &form_post(&html).1["id_token"], &s.tool.client_id).await;
    assert_eq!(claims[claims::ROLES], json!([claims::ROLE_INSTRUCTOR, claims::INSTITUTION_INSTRUCTOR]));
    assert_eq!(claims["sub"], s.cast.teacher.id);
    assert!(claims[claims::AGS_ENDPOINT].get("lineitem").is_none());
    // A grader launches as TeachingAssistant, without the principal Instructor role.
    let mut grader = browser_of(app, "Emmy", TEACHER_PASSWORD).await;
    let login = start_launch(&mut grader, &plain).await;
    let html = authorize(&mut grader, &auth_request(&login, "nonce-g", "s")).await.text().await.unwrap();
    let claims = verify_id_token(app, &form_post(&html).1["id_token"], &s.tool.client_id).await;
    assert_eq!(claims[claims::ROLES], json!([claims::ROLE_TEACHING_ASSISTANT, claims::INSTITUTION_INSTRUCTOR]));

    // The same request as a form POST (OpenID Connect allows both) with the cookie: the same answer.
    let login = start_launch(&mut student, &s.link).await;
    let resp = student
        .post_form(
            "/lti/authorize",
            &auth_request(&login, "nonce-3", "s3").iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(form_post(&resp.text().await.unwrap()).1.contains_key("id_token"));
}

async fn a_launch_is_for_members_of_the_course_only(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    // Staff and enrolled students start it; a student or teacher outside the course gets 403.
    let mut outsider = browser_of(app, "Edsger", STUDENT_PASSWORD).await;
    let resp = outsider.get(&format!("/lti/launch/{}", s.link)).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let mut other_teacher = browser_of(app, "Alan", TEACHER_PASSWORD).await;
    assert_eq!(other_teacher.get(&format!("/lti/launch/{}", s.link)).await.status(), 403);
    // A link of an unpublished course is not found for those who may not see the course.
    let draft = app.create_course(&s.cast.teacher, "Draft", false).await;
    let hidden = add_link(app, &s.cast.teacher, draft["id"].as_str().unwrap(), &s.tool.id, "Hidden", None).await;
    assert_eq!(outsider.get(&format!("/lti/launch/{hidden}")).await.status(), 404);
    assert_eq!(outsider.get(&format!("/lti/launch/{}", uuid::Uuid::new_v4())).await.status(), 404);
    assert_eq!(outsider.get("/lti/launch/not-an-id").await.status(), 404);
    // Nobody signed in: to the sign-in page, coming back to the launch.
    let mut anonymous = Browser::new(app);
    let resp = anonymous.get(&format!("/lti/launch/{}", s.link)).await;
    assert_eq!(resp.status(), 303);
    assert!(location(&resp).starts_with("/auth/sign-in?next=%2Flti%2Flaunch%2F"), "{}", location(&resp));

    // A student who leaves the course between the launch and the authorization request is refused.
    let mut student = browser_of(app, "Grace", STUDENT_PASSWORD).await;
    let login = start_launch(&mut student, &s.link).await;
    let leave = format!("/api/courses/{}/enrollments/{}", s.cast.course_id(), s.cast.enrolled.id);
    assert_eq!(app.delete(&leave, Some(&s.cast.enrolled.access_token)).await.status(), 204);
    let resp = authorize(&mut student, &auth_request(&login, "n", "st")).await;
    assert_refused(resp, "access_denied", "st").await;
}

async fn the_authorization_request_is_checked_rule_by_rule(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let mut student = browser_of(app, "Grace", STUDENT_PASSWORD).await;
    let login = start_launch(&mut student, &s.link).await;
    let good = auth_request(&login, "nonce-a", "st");

    // Nothing is ever sent to an address the tool did not register, nor for an unknown tool.
    for (name, value) in [
        ("redirect_uri", "https://quiz.example.org/elsewhere"),
        ("redirect_uri", "https://evil.example/lti/launch"),
        ("client_id", "00000000-0000-0000-0000-000000000000"),
    ] {
        let resp = authorize(&mut student, &with(&good, name, Some(value))).await;
        assert_eq!(resp.status(), 400, "{name}={value}");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("data-autosubmit") && !html.contains("evil.example"), "{name}={value}");
    }
    assert_eq!(authorize(&mut student, &with(&good, "redirect_uri", None)).await.status(), 400);

    // Faults of the request itself go back to the tool, with its state.
    for (name, value, error) in [
        ("response_type", Some("code"), "unsupported_response_type"),
        ("response_mode", Some("query"), "invalid_request"),
        ("scope", Some("profile"), "invalid_scope"),
        ("prompt", Some("login"), "invalid_request"),
        ("nonce", None, "invalid_request"),
        ("lti_message_hint", None, "invalid_request"),
        ("login_hint", None, "invalid_request"),
    ] {
        assert_refused(authorize(&mut student, &with(&good, name, value)).await, error, "st").await;
    }

    // login_hint of another person: the signed-in person is not the one the launch was for.
    let mut teacher = browser_of(app, "Ada", TEACHER_PASSWORD).await;
    let why = assert_refused(authorize(&mut teacher, &good).await, "login_required", "st").await;
    assert!(why.contains("not the one"), "{why}");
    // Nobody signed in: prompt=none allows no sign-in page.
    let mut anonymous = Browser::new(app);
    assert_refused(authorize(&mut anonymous, &good).await, "login_required", "st").await;

    // lti_message_hint: forged, of another tool (another deployment), or too old.
    let forged = format!("{}.{}.AAAA", s.link, app.clock.now().unix_timestamp() * 1000);
    let resp = authorize(&mut student, &with(&good, "lti_message_hint", Some(&forged))).await;
    assert_refused(resp, "invalid_request", "st").await;
    let other = register(app, new_tool("Other Tool", &s.jwks.url)).await;
    let other_client = with(&good, "client_id", Some(&other.client_id));
    let why = assert_refused(authorize(&mut student, &other_client).await, "invalid_request", "st").await;
    assert!(why.contains("lti_message_hint"), "{why}");

    // The good request works once; its nonce replayed is refused, even in a new launch.
    let resp = authorize(&mut student, &good).await;
    assert!(form_post(&resp.text().await.unwrap()).1.contains_key("id_token"));
    let replay = assert_refused(authorize(&mut student, &good).await, "invalid_request", "st").await;
    assert!(replay.contains("nonce"), "{replay}");
    let again = start_launch(&mut student, &s.link).await;
    assert_refused(authorize(&mut student, &auth_request(&again, "nonce-a", "st")).await, "invalid_request", "st")
        .await;
    // Another tool may use the same nonce: nonces are per tool.
    let login_b =
        start_launch(&mut student, &add_link(app, &s.cast.teacher, s.cast.course_id(), &other.id, "B", None).await)
            .await;
    let resp =
        authorize(&mut student, &with(&auth_request(&login_b, "nonce-a", "st"), "client_id", Some(&other.client_id)))
            .await;
    assert!(form_post(&resp.text().await.unwrap()).1.contains_key("id_token"));

    // A launch's hint is good for ten minutes.
    let late = start_launch(&mut student, &s.link).await;
    app.advance(11 * 60);
    let mut student = browser_of(app, "Grace", STUDENT_PASSWORD).await;
    let resp = authorize(&mut student, &auth_request(&late, "nonce-late", "st")).await;
    assert_refused(resp, "invalid_request", "st").await;

    // Oversized or malformed requests: 4xx pages, never a 500.
    let long = with(&good, "state", Some(&"s".repeat(5000)));
    assert!(authorize(&mut student, &long).await.status().is_client_error());
    let resp = student.get("/lti/authorize?%zz=1").await;
    assert_eq!(resp.status(), 400);
    let resp = app
        .api
        .post(app.url("/lti/authorize"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

async fn a_nonce_is_spent_once_even_at_once(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let mut student = browser_of(app, "Grace", STUDENT_PASSWORD).await;
    let login = start_launch(&mut student, &s.link).await;
    let url = app.url(&format!("/lti/authorize?{}", query_of(&auth_request(&login, "raced", "st"))));
    let cookie = format!("lectern_at={}", student.cookies["lectern_at"].0);
    let replies = futures_util::future::join_all((0..50).map(|_| {
        let (client, url, cookie) = (app.api.clone(), url.clone(), cookie.clone());
        async move { client.get(url).header("cookie", cookie).send().await.unwrap().text().await.unwrap() }
    }))
    .await;
    let tokens = replies.iter().filter(|html| form_post(html).1.contains_key("id_token")).count();
    assert_eq!(tokens, 1, "one ID token for one nonce");
    assert!(replies.iter().all(|html| html.contains("data-autosubmit")), "every other is an error for the tool");
}

async fn client_assertions_are_checked_rule_by_rule(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let (tool_key, rogue) = keys();
    let client = s.tool.client_id.as_str();
    let scope = claims::SCOPE_MEMBERSHIPS;

    // A good assertion: an opaque token, bound to the scopes granted.
    let good = assertion(app, tool_key, client, json!({}));
    let resp = token_for(app, &good, &format!("{scope} {} unknown-scope", claims::SCOPE_LINEITEM)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let reply: Value = resp.json().await.unwrap();
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["expires_in"], 3600);
    assert_eq!(reply["scope"], scope, "only what a tool may have");
    assert_eq!(reply["access_token"].as_str().unwrap().len(), 43);

    // The same assertion again: its jti is spent.
    let (status, error, _) = oauth_error(token_for(app, &good, scope).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));

    let expect = async |assertion: String, status: u16, error: &str, what: &str| {
        let (got, err, why) = oauth_error(token_for(app, &assertion, scope).await).await;
        assert_eq!((got, err.as_str()), (status, error), "{what}: {why}");
        why
    };
    let now = app.clock.now().unix_timestamp();
    expect(
        assertion(app, tool_key, client, json!({"aud": "https://elsewhere.example/token"})),
        401,
        "invalid_client",
        "wrong aud",
    )
    .await;
    expect(assertion(app, tool_key, client, json!({"aud": null})), 401, "invalid_client", "no aud").await;
    expect(
        assertion(app, tool_key, client, json!({"iat": now - 600, "exp": now - 120})),
        401,
        "invalid_client",
        "expired",
    )
    .await;
    expect(assertion(app, tool_key, client, json!({"exp": now + 3600})), 401, "invalid_client", "too long").await;
    expect(
        assertion(app, tool_key, client, json!({"iat": now + 600, "exp": now + 660})),
        401,
        "invalid_client",
        "from the future",
    )
    .await;
    expect(assertion(app, tool_key, client, json!({"jti": null})), 401, "invalid_client", "no jti").await;
    expect(assertion(app, tool_key, client, json!({"sub": "someone-else"})), 401, "invalid_client", "sub").await;
    expect(
        assertion(app, tool_key, "00000000-0000-0000-0000-000000000000", json!({})),
        401,
        "invalid_client",
        "unknown client",
    )
    .await;
    // Signed by a key the tool never published, under its own kid or under the tool's kid.
    let why = expect(assertion(app, rogue, client, json!({})), 401, "invalid_client", "rogue kid").await;
    assert!(why.contains("kid"), "{why}");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(tool_key.kid.clone());
    let claims_of = json!({"iss": client, "sub": client, "aud": format!("{}/api/lti/token", app.config.public_url),
                           "iat": now, "exp": now + 60, "jti": "forged"});
    let forged = jsonwebtoken::encode(&header, &claims_of, &rogue.encoding).unwrap();
    expect(forged, 401, "invalid_client", "signature").await;
    // Symmetric algorithms are never accepted (a shared secret would be the public key's bytes).
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(tool_key.kid.clone());
    let hs_token = jsonwebtoken::encode(&hs, &claims_of, &EncodingKey::from_secret(b"secret").unwrap()).unwrap();
    expect(hs_token, 401, "invalid_client", "HS256").await;
    expect("a.b".to_owned(), 401, "invalid_client", "not a JWS").await;

    // The request's own shape.
    let good = assertion(app, tool_key, client, json!({}));
    for (fields, status, error) in [
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
                ("scope", scope),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "basic"),
                ("client_assertion", good.as_str()),
                ("scope", scope),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("scope", scope),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
                ("scope", claims::SCOPE_LINEITEM),
            ],
            400,
            "invalid_scope",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", good.as_str()),
                ("scope", scope),
            ],
            400,
            "invalid_request",
        ),
    ] {
        let (got, err, why) = oauth_error(token_request(app, &fields).await).await;
        assert_eq!((got, err.as_str()), (status, error), "{fields:?}: {why}");
    }
    let resp = app
        .api
        .post(app.url("/api/lti/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let huge = "a".repeat(20_000);
    let (status, _, _) = oauth_error(token_request(app, &[("scope", &huge)]).await).await;
    assert_eq!(status, 413);

    // The tool's JWKS is fetched once and kept; an unknown kid refetches it at most every 30 s,
    // so a tool that rotates its key is recognised without waiting out the cache.
    let fetched = s.jwks.hits();
    for _ in 0..3 {
        assert_eq!(token_for(app, &assertion(app, tool_key, client, json!({})), scope).await.status(), 200);
    }
    assert_eq!(s.jwks.hits(), fetched, "served from the cache");
    s.jwks.set(json!({"keys": [tool_key.jwk, rogue.jwk]}));
    app.advance(31);
    assert_eq!(
        token_for(app, &assertion(app, rogue, client, json!({})), scope).await.status(),
        200,
        "a rotated-in key"
    );
    assert_eq!(s.jwks.hits(), fetched + 1);
    for _ in 0..3 {
        let unknown = ToolKey { kid: "never-published".into(), encoding: rogue.encoding.clone(), jwk: Value::Null };
        let (status, _, _) =
            oauth_error(token_for(app, &assertion(app, &unknown, client, json!({})), scope).await).await;
        assert_eq!(status, 401);
    }
    assert_eq!(s.jwks.hits(), fetched + 1, "made-up kids do not refetch within 30 s");
    // A key the tool withdrew stops working once the cache is refreshed.
    s.jwks.set(json!({"keys": [tool_key.jwk]}));
    app.advance(301);
    assert_eq!(token_for(app, &assertion(app, rogue, client, json!({})), scope).await.status(), 401);
}

async fn a_client_assertion_is_spent_once_even_at_once(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let one = assertion(app, &keys().0, &s.tool.client_id, json!({}));
    let statuses = futures_util::future::join_all(
        (0..50).map(|_| async { token_for(app, &one, claims::SCOPE_SCORE).await.status().as_u16() }),
    )
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
}

async fn the_roster_service_checks_token_scope_and_context(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let course = s.cast.course_id();
    let path = format!("/api/lti/courses/{course}/memberships");
    let token = service_token(app, &s.tool, claims::SCOPE_MEMBERSHIPS).await;

    let resp = service_get(app, &path, &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.ims.lti-nrps.v2.membershipcontainer+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], format!("{}{path}", app.config.public_url));
    assert_eq!(body["context"]["id"], course);
    let members = body["members"].as_array().unwrap();
    let by_id = |id: &str| members.iter().find(|m| m["user_id"] == id).cloned().unwrap_or(Value::Null);
    assert_eq!(members.len(), 4, "the teachers, the grader and the enrolled student: {members:?}");
    assert_eq!(by_id(&s.cast.teacher.id)["roles"], json!([claims::ROLE_INSTRUCTOR]));
    assert_eq!(by_id(&s.cast.co_teacher.id)["roles"], json!([claims::ROLE_INSTRUCTOR]));
    assert_eq!(by_id(&s.cast.grader.id)["roles"], json!([claims::ROLE_TEACHING_ASSISTANT]));
    let grace = by_id(&s.cast.enrolled.id);
    assert_eq!(grace["roles"], json!([claims::ROLE_LEARNER]));
    assert_eq!(
        (grace["name"].as_str(), grace["email"].as_str(), grace["status"].as_str()),
        (Some("Grace"), Some("grace@example.org"), Some("Active"))
    );
    assert_eq!(by_id(&s.cast.other_student.id), Value::Null, "no outsider");

    // Filters and pages.
    let learners: Value = service_get(app, &format!("{path}?role=Learner"), &token).await.json().await.unwrap();
    assert_eq!(learners["members"].as_array().unwrap().len(), 1);
    let resp = service_get(app, &format!("{path}?limit=1"), &token).await;
    let next = resp.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(next, format!("<{}{path}?limit=1&page=2>; rel=\"next\"", app.config.public_url));
    let last = service_get(app, &format!("{path}?limit=1&page=4"), &token).await;
    assert!(last.headers().get("link").is_none());
    assert_eq!(service_get(app, &format!("{path}?rlid={}", s.link), &token).await.status(), 200);
    assert_eq!(service_get(app, &format!("{path}?rlid={}", uuid::Uuid::new_v4()), &token).await.status(), 404);
    assert_eq!(service_get(app, &format!("{path}?limit=0"), &token).await.status(), 400);

    // Without the scope: 403 naming it.
    let score_only = service_token(app, &s.tool, claims::SCOPE_SCORE).await;
    let resp = service_get(app, &path, &score_only).await;
    assert_eq!(resp.status(), 403);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope") && challenge.contains(claims::SCOPE_MEMBERSHIPS), "{challenge}");
    // No token, a made-up one, a Lectern access token: 401.
    assert_eq!(app.get(&path, None).await.status(), 401);
    assert_eq!(service_get(app, &path, &"A".repeat(43)).await.status(), 401);
    assert_eq!(service_get(app, &path, &s.cast.teacher.access_token).await.status(), 401);
    // Another course, where this tool has no link (or none at all): 404, as for no course.
    let elsewhere = app.create_course(&s.cast.other_teacher, "Elsewhere", true).await;
    let other_path = format!("/api/lti/courses/{}/memberships", elsewhere["id"].as_str().unwrap());
    assert_eq!(service_get(app, &other_path, &token).await.status(), 404);
    let other_tool = register(app, new_tool("Other Tool", &s.jwks.url)).await;
    add_link(app, &s.cast.other_teacher, elsewhere["id"].as_str().unwrap(), &other_tool.id, "Theirs", None).await;
    assert_eq!(service_get(app, &other_path, &token).await.status(), 404, "another tool's course");
    assert_eq!(
        service_get(app, &format!("/api/lti/courses/{}/memberships", uuid::Uuid::new_v4()), &token).await.status(),
        404
    );
    // A token lives an hour.
    app.advance(3601);
    assert_eq!(service_get(app, &path, &token).await.status(), 401);
}

async fn score_post(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.api
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/vnd.ims.lis.v1.score+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn score_body(user: &str, given: f64, at: time::OffsetDateTime) -> Value {
    json!({"userId": user, "scoreGiven": given, "scoreMaximum": 10, "comment": "From the quiz",
           "timestamp": at.format(&time::format_description::well_known::Rfc3339).unwrap(),
           "activityProgress": "Completed", "gradingProgress": "FullyGraded"})
}

async fn json_at(app: &TestApp, path: &str, actor: &Actor) -> Value {
    let resp = app.get(path, Some(&actor.access_token)).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.unwrap()
}

async fn line_items_are_the_assignments_of_the_tools_links(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let course = s.cast.course_id();
    let public = &app.config.public_url;
    let token = service_token(app, &s.tool, claims::SCOPE_LINEITEM_READONLY).await;
    let items_path = format!("/api/lti/courses/{course}/lineitems");
    let resp = service_get(app, &items_path, &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.ims.lis.v2.lineitemcontainer+json");
    let items: Value = resp.json().await.unwrap();
    let item_url = format!("{public}{items_path}/{}", s.assignment);
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["id"], item_url);
    assert_eq!(items[0]["label"], "Quiz 1");
    assert_eq!(items[0]["scoreMaximum"], 10);
    assert_eq!(items[0]["resourceLinkId"], s.link);
    assert_eq!(items[0]["resourceId"], s.assignment);
    assert_eq!(items[0]["gradesReleased"], false);
    let resp = service_get(app, &format!("{items_path}/{}", s.assignment), &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.ims.lis.v2.lineitem+json");
    assert_eq!(resp.json::<Value>().await.unwrap(), items[0]);
    let filtered: Value = service_get(app, &format!("{items_path}?resource_link_id={}", uuid::Uuid::new_v4()), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered, json!([]));

    // Foreign line items: an assignment of the course no link of this tool names; another tool's;
    // one of another course, under this course's path or its own.
    let untied = new_assignment(app, &s.cast.teacher, course, "Essay").await;
    assert_eq!(service_get(app, &format!("{items_path}/{untied}"), &token).await.status(), 404);
    let other = register(app, new_tool("Other Tool", &s.jwks.url)).await;
    let theirs = new_assignment(app, &s.cast.teacher, course, "Their quiz").await;
    add_link(app, &s.cast.teacher, course, &other.id, "Theirs", Some(&theirs)).await;
    assert_eq!(service_get(app, &format!("{items_path}/{theirs}"), &token).await.status(), 404);
    let elsewhere = app.create_course(&s.cast.other_teacher, "Elsewhere", true).await;
    let elsewhere_id = elsewhere["id"].as_str().unwrap();
    let foreign = new_assignment(app, &s.cast.other_teacher, elsewhere_id, "Foreign").await;
    add_link(app, &s.cast.other_teacher, elsewhere_id, &s.tool.id, "Same tool there", Some(&foreign)).await;
    assert_eq!(
        service_get(app, &format!("{items_path}/{foreign}"), &token).await.status(),
        404,
        "another course's, under this course"
    );
    let listed: Value = service_get(app, &items_path, &token).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "never another tool's or another course's: {listed}");
    // Scores to a foreign line item are refused the same way, and change nothing.
    let scorer = service_token(app, &s.tool, claims::SCOPE_SCORE).await;
    let body = score_body(&s.cast.enrolled.id, 5.0, app.clock.now());
    for id in [&untied, &theirs, &foreign] {
        assert_eq!(score_post(app, &format!("{items_path}/{id}/scores"), &scorer, &body).await.status(), 404);
    }
    let book = json_at(app, &format!("/api/grading/courses/{course}/gradebook"), &s.cast.teacher).await;
    assert!(
        book["rows"].as_array().unwrap().iter().all(|r| r["scores"].as_array().unwrap().iter().all(Value::is_null)),
        "{book}"
    );
    // No lineitem.readonly: 403; tools cannot create or delete line items.
    assert_eq!(service_get(app, &items_path, &scorer).await.status(), 403);
    let create = app
        .api
        .post(app.url(&items_path))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.ims.lis.v2.lineitem+json")
        .body(r#"{"label":"New","scoreMaximum":5}"#)
        .send()
        .await
        .unwrap();
    assert!(create.status() == 404 || create.status() == 405, "{}", create.status());
    let delete =
        app.api.delete(app.url(&format!("{items_path}/{}", s.assignment))).bearer_auth(&token).send().await.unwrap();
    assert!(delete.status() == 404 || delete.status() == 405, "{}", delete.status());
}

async fn a_tools_score_is_a_grade_with_its_audit_entry_and_the_release_rule(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let course = s.cast.course_id();
    let scores = format!("/api/lti/courses/{course}/lineitems/{}/scores", s.assignment);
    let token =
        service_token(app, &s.tool, &format!("{} {}", claims::SCOPE_SCORE, claims::SCOPE_RESULT_READONLY)).await;
    let grace = &s.cast.enrolled;
    let t0 = app.clock.now();

    let resp = score_post(app, &scores, &token, &score_body(&grace.id, 8.0, t0)).await;
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());

    // The teacher sees it: the gradebook, the submission made for the student, the grade's history.
    let book = json_at(app, &format!("/api/grading/courses/{course}/gradebook"), &s.cast.teacher).await;
    let row =
        book["rows"].as_array().unwrap().iter().find(|r| r["student"]["id"] == grace.id.as_str()).unwrap().clone();
    assert_eq!(row["scores"][0], 8, "{book}");
    let subs = json_at(app, &format!("/api/grading/assignments/{}/submissions", s.assignment), &s.cast.teacher).await;
    let sub = &subs["items"][0];
    assert_eq!(sub["attempt"], 1);
    assert_eq!(sub["grade"]["score"], 8);
    assert_eq!(sub["grade"]["feedback"], "From the quiz");
    assert_eq!(sub["grade"]["graded_by"]["id"], s.cast.teacher.id, "in the name of the teacher who placed the link");
    let detail =
        json_at(app, &format!("/api/grading/submissions/{}", sub["id"].as_str().unwrap()), &s.cast.teacher).await;
    assert!(detail["body"].as_str().unwrap().contains("Quiz Tool"), "{detail}");
    // The audit trail names the tool.
    let audit = json_at(app, &format!("/api/courses/{course}/audit"), &s.cast.teacher).await;
    let entry = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "grade.recorded").unwrap().clone();
    assert_eq!(entry["actor"], json!({"id": s.tool.id, "display_name": "Quiz Tool"}));
    assert_eq!(entry["object"]["id"], sub["id"]);
    assert_eq!(entry["details"]["score"], 8);

    // The student sees nothing before release.
    let mine = json_at(app, &format!("/api/grading/assignments/{}/submissions", s.assignment), grace).await;
    assert_eq!(mine["items"][0]["grade"], Value::Null);
    let my_grades = json_at(app, "/api/grading/me/grades", grace).await;
    assert_eq!(my_grades["total"], 0);

    // Results read back what the gradebook holds.
    let results_path = format!("/api/lti/courses/{course}/lineitems/{}/results", s.assignment);
    let resp = service_get(app, &results_path, &token).await;
    assert_eq!(resp.headers()["content-type"], "application/vnd.ims.lis.v2.resultcontainer+json");
    let results: Value = resp.json().await.unwrap();
    assert_eq!(results.as_array().unwrap().len(), 1);
    assert_eq!(results[0]["userId"], grace.id);
    assert_eq!(results[0]["resultScore"], 8);
    assert_eq!(results[0]["resultMaximum"], 10);
    assert_eq!(results[0]["comment"], "From the quiz");
    assert!(results[0]["scoreOf"].as_str().unwrap().ends_with(&format!("/lineitems/{}", s.assignment)));
    let none: Value = service_get(app, &format!("{results_path}?user_id={}", s.cast.other_student.id), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));

    // A later score regrades (the history keeps both); an older one is refused; progress alone changes nothing.
    let later = t0 + time::Duration::seconds(30);
    assert_eq!(score_post(app, &scores, &token, &score_body(&grace.id, 9.5, later)).await.status(), 204);
    let resp = score_post(app, &scores, &token, &score_body(&grace.id, 2.0, t0)).await;
    assert_eq!(resp.status(), 409);
    let mut progress = score_body(&grace.id, 0.0, later + time::Duration::seconds(1));
    progress["gradingProgress"] = json!("Pending");
    progress.as_object_mut().unwrap().remove("scoreGiven");
    assert_eq!(score_post(app, &scores, &token, &progress).await.status(), 204);
    let history =
        json_at(app, &format!("/api/grading/submissions/{}/grades", sub["id"].as_str().unwrap()), &s.cast.teacher)
            .await;
    let given: Vec<Value> = history["items"].as_array().unwrap().iter().map(|h| h["score"].clone()).collect();
    assert_eq!(given, [json!(9.5), json!(8)], "newest first");

    // Refusals, each naming its field, and none changes the grade.
    let later = later + time::Duration::seconds(2);
    let mut bad = vec![
        (score_body(&s.cast.other_student.id, 5.0, later), "userId"),
        (score_body(&s.cast.teacher.id, 5.0, later), "userId"),
        (score_body(&uuid::Uuid::new_v4().to_string(), 5.0, later), "userId"),
        (score_body(&grace.id, 11.0, later), "scoreGiven"),
    ];
    let mut no_stamp = score_body(&grace.id, 5.0, later);
    no_stamp.as_object_mut().unwrap().remove("timestamp");
    bad.push((no_stamp, "timestamp"));
    for (body, field) in bad {
        let resp = score_post(app, &scores, &token, &body).await;
        assert_eq!(resp.status(), 422, "{body}");
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], field, "{body}");
    }
    let wrong_type = app
        .api
        .post(app.url(&scores))
        .bearer_auth(&token)
        .json(&score_body(&grace.id, 5.0, later))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    let huge = app
        .api
        .post(app.url(&scores))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.ims.lis.v1.score+json")
        .body(format!(r#"{{"comment":"{}"}}"#, "x".repeat(70_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let malformed = app
        .api
        .post(app.url(&scores))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.ims.lis.v1.score+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 422);
    // Without the score scope: 403, before anything about the body.
    let reader = service_token(app, &s.tool, claims::SCOPE_RESULT_READONLY).await;
    let resp = score_post(app, &scores, &reader, &json!({})).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    assert_eq!(score_post(app, &scores, "not-a-token", &score_body(&grace.id, 5.0, later)).await.status(), 401);
    let book = json_at(app, &format!("/api/grading/courses/{course}/gradebook"), &s.cast.teacher).await;
    let row =
        book["rows"].as_array().unwrap().iter().find(|r| r["student"]["id"] == grace.id.as_str()).unwrap().clone();
    assert_eq!(row["scores"][0], 9.5, "refusals changed nothing");

    // Released: the student sees the tool's grade.
    let release = app
        .post_json(
            &format!("/api/grading/assignments/{}/release", s.assignment),
            Some(&s.cast.teacher.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(release.status(), 200);
    let my_grades = json_at(app, "/api/grading/me/grades", grace).await;
    assert_eq!(my_grades["items"][0]["score"], 9.5);
    assert_eq!(my_grades["items"][0]["assignment"]["title"], "Quiz 1");
}

async fn scores_sent_at_once_make_one_attempt(backend: Backend) {
    let s = Setting::new(backend).await;
    let app = s.app();
    let scores = format!("/api/lti/courses/{}/lineitems/{}/scores", s.cast.course_id(), s.assignment);
    let token = service_token(app, &s.tool, claims::SCOPE_SCORE).await;
    let t0 = app.clock.now();
    let statuses = futures_util::future::join_all((0..20).map(|i| {
        let body = score_body(&s.cast.enrolled.id, f64::from(i % 10), t0 + time::Duration::seconds(i64::from(i)));
        let (scores, token) = (scores.clone(), token.clone());
        async move { score_post(app, &scores, &token, &body).await.status().as_u16() }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == 204 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&204));
    let subs = json_at(app, &format!("/api/grading/assignments/{}/submissions", s.assignment), &s.cast.teacher).await;
    assert_eq!(subs["total"], 1, "one student, one attempt made for them: {subs}");
    assert_eq!(subs["items"][0]["attempt"], 1);
    let history = json_at(
        app,
        &format!("/api/grading/submissions/{}/grades", subs["items"][0]["id"].as_str().unwrap()),
        &s.cast.teacher,
    )
    .await;
    assert_eq!(
        history["total"].as_u64(),
        Some(statuses.iter().filter(|s| **s == 204).count() as u64),
        "a grade per score taken"
    );
    // The attempt made for the student is counted like their own: their next one is the second.
    let path = format!("/api/grading/assignments/{}/submissions", s.assignment);
    let resp = app.post_json(&path, Some(&s.cast.enrolled.access_token), &serde_json::json!({"body": "mine"})).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["attempt"], 2);
}

crate::on_both_backends!(
    tools_are_registered_by_the_operator_and_placed_by_teachers,
    a_launch_posts_an_rs256_id_token_with_the_lti_claims,
    a_launch_is_for_members_of_the_course_only,
    the_authorization_request_is_checked_rule_by_rule,
    a_nonce_is_spent_once_even_at_once,
    client_assertions_are_checked_rule_by_rule,
    a_client_assertion_is_spent_once_even_at_once,
    the_roster_service_checks_token_scope_and_context,
    line_items_are_the_assignments_of_the_tools_links,
    a_tools_score_is_a_grade_with_its_audit_entry_and_the_release_rule,
    scores_sent_at_once_make_one_attempt,
);
