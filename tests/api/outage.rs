//! A database that goes away costs 503s with `Retry-After`, never a 500 and never an
//! acknowledged write; pooled connections cost no round trip per request, and one that broke
//! leaves the pool. Each test runs its own PostgreSQL server (see `own_postgres`), so killing it
//! touches nobody else's tests.

use crate::helpers::{TestApp, TestDb, spawn_on};
use crate::load::{Classroom, SubmissionLoad, count, first_success_after, verify_stored};
use crate::own_postgres::PgServer;
use std::time::{Duration, Instant};

/// One request made while the database is down, and what came back.
#[derive(Debug)]
pub struct Probe {
    pub what: String,
    pub status: u16,
    pub retry_after: bool,
    pub content_type: String,
}

/// Every kind of request (API and pages of each service, readiness) made at once, while the
/// database is unreachable.
pub async fn probe_all(app: &TestApp, class: &Classroom) -> Vec<Probe> {
    let student = &class.students[0];
    let course = class.course["id"].as_str().unwrap();
    let a = &class.assignment;
    let bearer = |path: String| (path, Some(student.access_token.clone()), None::<String>);
    let page = |path: String| (path, None, Some(format!("lectern_at={}", student.access_token)));
    let gets = [
        bearer("/api/auth/sessions".into()),
        bearer(format!("/api/courses/{course}")),
        bearer(format!("/api/courses/{course}/materials")),
        bearer(format!("/api/grading/assignments/{a}/submissions")),
        page("/auth/sessions".into()),
        page(format!("/courses/{course}")),
        page(format!("/grading/assignments/{a}")),
        ("/readyz".to_owned(), None, None),
    ];
    let mut tasks = Vec::new();
    for (path, token, cookie) in gets {
        let (client, url) = (app.api.clone(), app.url(&path));
        tasks.push(tokio::spawn(async move {
            let mut req = client.get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            (format!("GET {path}"), req.send().await.unwrap())
        }));
    }
    let (client, url) = (app.api.clone(), app.url("/api/auth/token"));
    tasks.push(tokio::spawn(async move {
        let body = serde_json::json!({"email": "student.0@example.org", "password": crate::helpers::STUDENT_PASSWORD});
        ("POST /api/auth/token".to_owned(), client.post(url).json(&body).send().await.unwrap())
    }));
    let mut probes = Vec::new();
    for task in tasks {
        let (what, resp) = task.await.unwrap();
        probes.push(Probe {
            what,
            status: resp.status().as_u16(),
            retry_after: resp.headers().contains_key("retry-after"),
            content_type: resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        });
    }
    probes
}

/// Asserts what every service owes its clients while the database is away.
pub fn assert_outage_answers(probes: &[Probe]) {
    for p in probes {
        assert_ne!(p.status, 500, "{} answered 500 while the database was down", p.what);
        assert!(p.status < 500 || p.status == 503, "{}: {}", p.what, p.status);
        if p.status == 503 {
            assert!(p.retry_after, "{}: 503 without Retry-After", p.what);
            let page = !p.what.contains("/api/") && !p.what.contains("/readyz");
            let expected = if page {
                "text/html"
            } else if p.what.contains("/readyz") {
                "application/json"
            } else {
                "application/problem+json"
            };
            assert!(p.content_type.starts_with(expected), "{}: {} is not {expected}", p.what, p.content_type);
        }
    }
    // These cannot be answered from memory: they must have met the outage.
    for must in ["POST /api/auth/token", "GET /readyz", "GET /api/auth/sessions", "GET /auth/sessions"] {
        let p = probes.iter().find(|p| p.what == must).unwrap();
        assert_eq!(p.status, 503, "{must}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_postgres_costs_503s_with_retry_after_never_a_500_or_a_submission() {
    let server = PgServer::start();
    let url = server.create_database("lectern");
    let kek = tempfile::tempdir().unwrap();
    let app = spawn_on(TestDb::external(&url, kek.path()), |c| c.workers = Some(2)).await;
    let class = Classroom::new(&app, 6).await;
    let load = SubmissionLoad::start(&app, &class.assignment, &class.students);
    load.until("30 acknowledged submissions", Duration::from_secs(60), |r| count(r).acknowledged >= 30).await;

    let crash = Instant::now();
    server.kill();
    let students = class.students.len();
    let every_student_met_it = load.until("a 503 for every student after the crash", Duration::from_secs(30), |r| {
        (0..students).all(|s| r.iter().any(|x| x.student == s && x.sent >= crash && x.status == 503))
    });
    let (probes, ()) = tokio::join!(probe_all(&app, &class), every_student_met_it);
    let restart = Instant::now();
    server.start_again();
    let back = Instant::now();
    load.until("3 acknowledgements per student after the restart", Duration::from_secs(60), |r| {
        (0..students).all(|s| {
            r.iter().filter(|x| x.student == s && x.sent >= back && matches!(x.status, 200 | 201)).count() >= 3
        })
    })
    .await;
    let (acks, replies) = load.finish().await;

    let seen = count(&replies);
    let stored = verify_stored(&url, &class.assignment, &acks);
    let first = first_success_after(&replies, back);
    println!(
        "outage: down {:.1} s; acknowledged {} submissions ({} rows stored), lost {}, duplicated {}; \
         503s {} (without Retry-After {}), 500s {}, no reply {}, other {:?}; first success {:?} after the \
         restart returned; probes {:?}",
        restart.duration_since(crash).as_secs_f64(),
        acks.len(),
        stored.rows,
        stored.lost,
        stored.duplicated,
        seen.unavailable,
        seen.unavailable_without_retry_after,
        seen.server_errors,
        seen.no_reply,
        seen.other,
        first,
        probes.iter().map(|p| (p.what.as_str(), p.status)).collect::<Vec<_>>(),
    );
    assert_outage_answers(&probes);
    assert_eq!(seen.server_errors, 0, "no 500 during the outage");
    assert!(seen.unavailable > 0, "the outage was met");
    assert_eq!(seen.unavailable_without_retry_after, 0, "every 503 carries Retry-After");
    assert_eq!(seen.unavailable_not_problem_json, 0, "every 503 is a problem document");
    assert_eq!((seen.no_reply, seen.other.len()), (0, 0), "{seen:?}");
    assert_eq!(stored.lost, 0, "acknowledged submissions lost");
    assert_eq!(stored.duplicated, 0, "submissions stored twice");
    assert_eq!(stored.rows, acks.len());
}

/// Checkout costs no `SELECT 1` while all is well (the server logs every statement); after the
/// server drops every connection, one request at most meets a dead connection (503), and the
/// pool replaces the others at checkout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connections_cost_no_ping_and_broken_ones_leave_the_pool() {
    use diesel::{Connection, RunQueryDsl};
    let server = PgServer::start_with(&["log_statement=all"]);
    let url = server.create_database("lectern");
    let kek = tempfile::tempdir().unwrap();
    let app = spawn_on(TestDb::external(&url, kek.path()), |_| {}).await;
    let grace = app.student("Grace").await;
    let pings = || server.log().matches("statement: SELECT 1\n").count();
    let before = pings();
    for _ in 0..40 {
        assert_eq!(app.get("/api/auth/sessions", Some(&grace.access_token)).await.status(), 200);
    }
    assert_eq!(pings(), before, "a checkout pinged the database");

    // The server ends every backend of Lectern's database (as a restart or failover would).
    let mut admin = diesel::PgConnection::establish(&server.url("postgres")).unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'lectern' AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let resp = app.get("/api/auth/sessions", Some(&grace.access_token)).await;
        if resp.status() == 503 {
            assert!(resp.headers().contains_key("retry-after"));
        }
        statuses.push(resp.status().as_u16());
    }
    let failures = statuses.iter().filter(|s| **s != 200).count();
    assert!(failures <= 1 && statuses.iter().all(|s| matches!(s, 200 | 503)), "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 200), "a dead connection came back from the pool: {statuses:?}");
    let pinged = pings() - before;
    assert!(pinged <= 10, "after a loss, each older connection is pinged once at checkout: {pinged}");
}
