//! A hand-written catalog service: what Lectern's `GET /api/courses` is measured against in
//! `bench/baseline.sh` (issue 17 item 4). actix-web, a deadpool-postgres pool and one prepared
//! statement per request, written the way one would write this endpoint by hand, and nothing else:
//! no cache, no middleware, no logging of requests.
//!
//! - `GET /api/courses?page=N&per_page=M`: Lectern's paging rules (`Pagination` in
//!   crates/lectern-common/src/pagination.rs: page 1..=1,000,000, default 1; per_page 1..=100,
//!   default 20; 422 otherwise) and Lectern's reply, field for field and in the same order:
//!   `{"items":[{"id","title","summary","published","teachers":[{"id","display_name"}],"enrolled"}],
//!   "page","per_page","total"}`. The catalog as a student sees it: published courses only.
//! - `GET /readyz`: 200 once the database answers.
//!
//! **The bearer token is not verified.** A request without `Authorization: Bearer <token>` is
//! answered 401, but the token's signature, expiry and session are not checked: the caller's id
//! (`sub`, for the `enrolled` flags) is read from the token's payload as it stands. Lectern verifies
//! every token, from a cache of verified tokens, so this leaves out only a cache look-up per
//! request; a real service that verified each signature would spend more than this one does.
//!
//! The statement is Lectern's (`catalog_sql` in crates/course-service/src/store.rs, for
//! `CatalogScope::Published` without a search), character for character, plus one join and one
//! column: `enrolled`. Lectern reads a student's enrollments in a second query and keeps them for
//! 2 s; a service without a cache answers the flag in the same statement: a left join on
//! `enrollments`' primary key (course, student). A join, not an `EXISTS (...)` column: with the
//! subquery PostgreSQL 15 prices the prepared statement's generic plan far above its custom plans
//! and so plans it again at every execution, which a join does not make it do.
//!
//! Configuration (environment): `BASELINE_ADDR` (default 127.0.0.1:8090), `BASELINE_DATABASE_URL`
//! (default postgres://postgres@127.0.0.1:5432/test), `BASELINE_POOL_SIZE` (default 10, Lectern's
//! PostgreSQL pool size: `Db::connect_with_reads` in crates/lectern-common/src/db.rs) and
//! `BASELINE_WORKERS` (default: the available cores, as Lectern's `LECTERN_WORKERS`).

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio_postgres::NoTls;

/// Lectern's catalog statement for a student without search, with `?` numbered as PostgreSQL
/// wants them, and the `enrolled` flag added (see the crate's documentation).
const CATALOG_SQL: &str = concat!(
    "WITH page AS (",
    "SELECT c.id, c.title, c.summary, c.published FROM courses c WHERE c.published = TRUE ",
    "ORDER BY c.title, c.id LIMIT $1 OFFSET $2), ",
    "total AS (SELECT COALESCE((SELECT published_courses FROM catalog_stats WHERE id = 1), 0) AS n) ",
    "SELECT total.n AS total, page.id AS id, page.title AS title, page.summary AS summary, ",
    "page.published AS published, u.id AS teacher_id, u.display_name AS teacher_name, ",
    "e.course_id IS NOT NULL AS enrolled ",
    "FROM total ",
    "LEFT JOIN page ON 1 = 1 ",
    "LEFT JOIN enrollments e ON e.course_id = page.id AND e.student_id = $3 ",
    "LEFT JOIN course_staff s ON s.course_id = page.id AND s.role = 'teacher' ",
    "LEFT JOIN users u ON u.id = s.user_id ",
    "ORDER BY page.title, page.id, u.display_name, u.id",
);

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000_000;
/// Lectern's PostgreSQL pool size.
const DEFAULT_POOL_SIZE: usize = 10;
/// How long a request waits for a connection (Lectern's `POOL_TIMEOUT`).
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
struct CatalogQuery {
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

#[derive(Serialize)]
struct PersonRef {
    id: String,
    display_name: String,
}

#[derive(Serialize)]
struct CourseItem {
    id: String,
    title: String,
    summary: String,
    published: bool,
    teachers: Vec<PersonRef>,
    enrolled: bool,
}

#[derive(Serialize)]
struct Paginated {
    items: Vec<CourseItem>,
    page: u32,
    per_page: u32,
    total: i64,
}

/// An RFC 9457 problem document, as Lectern answers errors (fewer fields).
fn problem(status: StatusCode, detail: &str) -> HttpResponse {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or_default(),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut reply = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        reply.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    reply.content_type("application/problem+json").body(body.to_string())
}

/// The caller's id: `sub` from the bearer token's payload, **not verified** (see above).
fn caller(req: &HttpRequest) -> Option<String> {
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
    }
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(token.trim().split('.').nth(1)?).ok()?;
    serde_json::from_slice::<Claims>(&payload).ok().map(|c| c.sub)
}

async fn catalog(pool: web::Data<Pool>, req: HttpRequest, query: web::Query<CatalogQuery>) -> HttpResponse {
    let Some(student) = caller(&req) else {
        return problem(StatusCode::UNAUTHORIZED, "a bearer token is required");
    };
    let query = query.into_inner();
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || page > MAX_PAGE {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "page: must be between 1 and 1000000");
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "per_page: must be between 1 and 100");
    }
    if query.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        return problem(StatusCode::NOT_IMPLEMENTED, "q: the baseline serves the catalog without search");
    }
    let (limit, offset) = (i64::from(per_page), i64::from(page - 1) * i64::from(per_page));

    let client = match pool.get().await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("baseline: no database connection: {e}");
            return problem(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable");
        }
    };
    let rows = match client.prepare_cached(CATALOG_SQL).await {
        Ok(statement) => client.query(&statement, &[&limit, &offset, &student]).await,
        Err(e) => Err(e),
    };
    drop(client);
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("baseline: the catalog query failed: {e}");
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "the catalog query failed");
        }
    };

    // One line per course and teacher (a course without teachers once; none past the end).
    let total: i64 = rows.first().map_or(0, |row| row.get("total"));
    let mut items: Vec<CourseItem> = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(id) = row.get::<_, Option<&str>>("id") else { continue };
        if items.last().is_none_or(|c| c.id != id) {
            items.push(CourseItem {
                id: id.to_owned(),
                title: row.get::<_, Option<String>>("title").unwrap_or_default(),
                summary: row.get::<_, Option<String>>("summary").unwrap_or_default(),
                published: row.get::<_, Option<bool>>("published").unwrap_or_default(),
                teachers: Vec::new(),
                enrolled: row.get("enrolled"),
            });
        }
        let teacher = (row.get::<_, Option<String>>("teacher_id"), row.get::<_, Option<String>>("teacher_name"));
        if let (Some(course), (Some(id), Some(display_name))) = (items.last_mut(), teacher) {
            course.teachers.push(PersonRef { id, display_name });
        }
    }
    HttpResponse::Ok().json(Paginated { items, page, per_page, total })
}

async fn ready(pool: web::Data<Pool>) -> HttpResponse {
    match pool.get().await {
        Ok(client) => match client.simple_query("SELECT 1").await {
            Ok(_) => HttpResponse::Ok().content_type("text/plain").body("ready\n"),
            Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        },
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> std::io::Result<T> {
    match std::env::var(name) {
        Ok(value) => value.parse().map_err(|_| std::io::Error::other(format!("{name}: cannot parse {value:?}"))),
        Err(_) => Ok(default),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr: String = setting("BASELINE_ADDR", "127.0.0.1:8090".to_owned())?;
    let url: String = setting("BASELINE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test".to_owned())?;
    let pool_size = setting("BASELINE_POOL_SIZE", DEFAULT_POOL_SIZE)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = setting("BASELINE_WORKERS", cores)?;

    let pg: tokio_postgres::Config =
        url.parse().map_err(|e| std::io::Error::other(format!("BASELINE_DATABASE_URL: {e}")))?;
    // `Fast` recycling: a connection coming back to the pool is reused without a round trip.
    let manager = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager)
        .max_size(pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| std::io::Error::other(format!("the pool: {e}")))?;
    // Connect once now, so a wrong URL or a down server stops the start with its real cause.
    pool.get()
        .await
        .map_err(|e| std::io::Error::other(format!("connecting to {url}: {e}")))?
        .simple_query("SELECT 1")
        .await
        .map_err(|e| std::io::Error::other(format!("connecting to {url}: {e}")))?;

    let pool = web::Data::new(pool);
    eprintln!("baseline: listening on {addr} ({workers} workers, pool of {pool_size})");
    HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .route("/api/courses", web::get().to(catalog))
            .route("/readyz", web::get().to(ready))
    })
    .workers(workers)
    .bind(&addr)?
    .run()
    .await
}
