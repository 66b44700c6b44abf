//! `GET /api/courses?page=5` latency over HTTP against the real server, with 1,000 and with
//! 100,000 courses in the database (issue 3: the catalog query must stay indexed).
//!
//! SQLite by default; set `LECTERN_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test`
//! to run on PostgreSQL (a scratch database is created next to it and dropped afterwards).
//! `cargo bench --bench catalog`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use diesel::prelude::*;
use lectern::startup::{Application, ServiceSet, prepare};
use lectern_common::Config;
use lectern_common::db::{DbConnection, to_db_time};
use lectern_common::ids::{CourseId, UserId};
use lectern_common::schema::{course_staff, courses};
use std::sync::Arc;
use token_claims::{Clock, Role, SystemClock};

const PASSWORD: &str = "violet meadow studies algebra";

struct Scratch {
    url: String,
    drop_pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    fn new() -> Self {
        match std::env::var("LECTERN_BENCH_DATABASE_URL") {
            Ok(admin) if admin.starts_with("postgres") => {
                let name = format!("lectern_bench_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).unwrap();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
                Self { url: format!("{base}/{name}"), drop_pg: Some((admin, name)), _dir: None }
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Self { url, drop_pg: None, _dir: Some(dir) }
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_pg
            && let Ok(mut conn) = diesel::PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        }
    }
}

/// Inserts in batches of 1,000 rows. diesel's MultiConnection has no batch insert, so this runs
/// the same statement on the concrete connection of each backend.
fn seed_courses(conn: &mut DbConnection, teacher: UserId, count: usize) {
    let now = to_db_time(SystemClock.now());
    let indices: Vec<usize> = (0..count).collect();
    for chunk in indices.chunks(1000) {
        let ids: Vec<CourseId> = chunk.iter().map(|_| CourseId::new()).collect();
        let rows: Vec<_> = chunk
            .iter()
            .zip(&ids)
            .map(|(i, id)| {
                (
                    courses::id.eq(*id),
                    courses::title.eq(format!("Course {i:06}")),
                    courses::summary.eq("A course seeded for the benchmark."),
                    courses::published.eq(i % 10 != 0),
                    courses::enrollment_code.eq(format!("B{i:011}")),
                    courses::created_by.eq(teacher),
                    courses::created_at.eq(now),
                    courses::updated_at.eq(now),
                )
            })
            .collect();
        let teachers: Vec<_> = ids
            .iter()
            .map(|id| {
                (
                    course_staff::course_id.eq(*id),
                    course_staff::user_id.eq(teacher),
                    course_staff::role.eq("teacher"),
                    course_staff::added_at.eq(now),
                )
            })
            .collect();
        match conn {
            DbConnection::Sqlite(c) => {
                diesel::insert_into(courses::table).values(rows).execute(c).unwrap();
                diesel::insert_into(course_staff::table).values(teachers).execute(c).unwrap();
            }
            DbConnection::Postgresql(c) => {
                diesel::insert_into(courses::table).values(rows).execute(c).unwrap();
                diesel::insert_into(course_staff::table).values(teachers).execute(c).unwrap();
            }
        }
    }
}

fn catalog(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("GET /api/courses?page=5");
    group.sample_size(50);
    for count in [1_000usize, 100_000] {
        let scratch = Scratch::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let config = Config {
            database_url: scratch.url.clone(),
            public_url: address.clone(),
            log_filter: "error".into(),
            ..Config::default()
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (token, handle) = runtime.block_on(async {
            let parts = prepare(&config, Arc::clone(&clock), ServiceSet::All).await.unwrap();
            let auth = parts.auth.clone().unwrap();
            let mut conn = parts.db.get().unwrap();
            let teacher =
                auth.create_user_now(&mut conn, "t@bench.test", "Teacher", Role::Teacher, PASSWORD).unwrap().unwrap();
            auth.create_user_now(&mut conn, "s@bench.test", "Student", Role::Student, PASSWORD).unwrap();
            seed_courses(&mut conn, teacher.id, count);
            drop(conn);
            let app = Application::from_parts(config.clone(), clock, ServiceSet::All, parts, listener).unwrap();
            let handle = app.handle();
            tokio::spawn(app.run_until_stopped());
            let resp: serde_json::Value = reqwest::Client::new()
                .post(format!("{address}/api/auth/token"))
                .json(&serde_json::json!({"email": "s@bench.test", "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (resp["access_token"].as_str().unwrap().to_owned(), handle)
        });
        let client = reqwest::Client::new();
        let url = format!("{address}/api/courses?page=5");
        group.bench_with_input(BenchmarkId::from_parameter(count), &count, |b, _| {
            b.to_async(&runtime).iter(|| async {
                let resp = client.get(&url).bearer_auth(&token).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.bytes().await.unwrap()
            })
        });
        runtime.block_on(handle.stop(true));
    }
    group.finish();
}

criterion_group!(benches, catalog);
criterion_main!(benches);
