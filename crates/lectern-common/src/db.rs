//! The one database kit: a diesel `MultiConnection` over SQLite and PostgreSQL, chosen by the URL
//! scheme, an r2d2 pool, the embedded migrations of each backend, and a way to run blocking
//! diesel work off the async workers.
//!
//! Where SQL must differ by backend (upserts, `BEGIN IMMEDIATE`), the branch lives here or in
//! the one store function that needs it, never in handlers.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::time::Duration;
use tracing::Instrument;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to either backend. SQLite stays last: diesel's derived `establish` tries the
/// variants in order (we pick the variant from the URL ourselves anyway, see [`Backend`]).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("blocking task failed: {0}")]
    Task(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }
}

/// `sqlite://lectern.db` → `lectern.db`; `sqlite://:memory:` → `:memory:`.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

/// Opens one connection of the backend the URL names, with the SQLite settings Lectern relies on.
pub fn establish(url: &str) -> Result<DbConnection, DbError> {
    match Backend::from_url(url)? {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| DbError::Unavailable(e.to_string()))?;
            // auth-core's private tables live in the schema `auth`; a role without USAGE on it (the
            // course and grading services') does not see them at all. `public` stays first, so
            // anything created without a schema lands there.
            conn.batch_execute("SET search_path TO public, auth").map_err(|e| DbError::Unavailable(e.to_string()))?;
            Ok(DbConnection::Postgresql(conn))
        }
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(sqlite_path(url))
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            // foreign_keys: SQLite does not enforce them unless asked. busy_timeout: writers from
            // another process (the CLI) wait instead of failing. WAL: readers never block the writer.
            conn.batch_execute(
                "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            )
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// A new SQLite database file is created readable by its owner only (mode 0600): it holds
/// password hashes and sessions. SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private_sqlite_file(path: &str) -> Result<(), DbError> {
    if path == ":memory:" || path.is_empty() || std::path::Path::new(path).exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(DbError::Unavailable(format!("creating {path}: {e}"))),
    }
}

/// An r2d2 manager that picks the backend from the URL (diesel's own manager would try the
/// variants in turn and lose the real connection error).
#[derive(Debug)]
pub struct Manager {
    url: String,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::Query)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The pool plus the backend it talks to. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Db {
    /// Connects once first (so a wrong URL or a down server is reported with its real cause,
    /// not as a pool timeout), then builds the pool.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            create_private_sqlite_file(sqlite_path(url))?;
        }
        drop(establish(url)?);
        let size = match backend {
            // SQLite has one writer at a time; a few readers are plenty.
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(Manager { url: url.to_owned() })
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many connections the pool holds: more threads than this in `run` would only wait.
    pub fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// A pooled connection, for synchronous callers (CLI, start-up).
    pub fn get(&self) -> Result<PooledConnection, DbError> {
        self.pool.get().map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Applies pending migrations of this backend; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.get()?;
        run_migrations(&mut conn)
    }

    /// Runs blocking diesel work on the blocking pool, inside the caller's tracing span. Do all of
    /// one request's queries in one call: each hand-off costs about as much as a simple query.
    pub async fn run<T, E>(&self, work: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(|e| E::from(DbError::Unavailable(e.to_string())))?;
            work(&mut conn)
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// `SELECT 1`, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::Query)).await
    }
}

pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        // Several processes of the split shape may start at once: a session-level advisory lock
        // makes them take turns, so each migration runs exactly once.
        // A service running as a role that may not change the schema starts fine once the owner
        // has migrated: nothing pending, nothing to run (diesel's harness would first try to create
        // its bookkeeping table, which such a role may not).
        DbConnection::Postgresql(c) => {
            if all_applied(c)? {
                return Ok(0);
            }
            c.batch_execute("SELECT pg_advisory_lock(7251142)").map_err(DbError::Query)?;
            let applied = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
            c.batch_execute("SELECT pg_advisory_unlock(7251142)").map_err(DbError::Query)?;
            applied
        }
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// Whether every embedded PostgreSQL migration is recorded as applied.
fn all_applied(conn: &mut diesel::PgConnection) -> Result<bool, DbError> {
    use diesel::migration::MigrationSource;
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let exists: Vec<Applied> = diesel::sql_query(
        "SELECT 'x' AS version FROM pg_tables WHERE schemaname = 'public' AND tablename = '__diesel_schema_migrations'",
    )
    .load(conn)?;
    if exists.is_empty() {
        return Ok(false);
    }
    let applied: Vec<Applied> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn)?;
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(embedded.iter().all(|m| applied.iter().any(|a| a.version == m.name().version().to_string())))
}

/// A read-write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so two writers queue on
/// the busy timeout instead of one failing when it upgrades its read lock (the deferred default).
/// On PostgreSQL it is an ordinary transaction. Any `Err` rolls everything back.
pub fn write_tx<T, E>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let outcome = work(conn);
    let finish = match (&outcome, conn) {
        (Ok(_), DbConnection::Sqlite(c)) => AnsiTransactionManager::commit_transaction(c),
        (Ok(_), DbConnection::Postgresql(c)) => AnsiTransactionManager::commit_transaction(c),
        (Err(_), DbConnection::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(c),
        (Err(_), DbConnection::Postgresql(c)) => AnsiTransactionManager::rollback_transaction(c),
    };
    match (outcome, finish) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
    }
}

/// The UTC wall time diesel stores in a `Timestamp` column.
pub fn to_db_time(t: time::OffsetDateTime) -> time::PrimitiveDateTime {
    let utc = t.to_offset(time::UtcOffset::UTC);
    time::PrimitiveDateTime::new(utc.date(), utc.time())
}

/// A `Timestamp` column read back as a UTC instant.
pub fn from_db_time(t: time::PrimitiveDateTime) -> time::OffsetDateTime {
    t.assume_utc()
}

/// RFC 3339 in UTC, as docs/api.md wants times.
pub fn rfc3339(t: time::PrimitiveDateTime) -> String {
    from_db_time(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        assert!(matches!(Backend::from_url("mysql://u@h/db"), Err(DbError::UnsupportedUrl)));
        assert_eq!(sqlite_path("sqlite://data/x.db"), "data/x.db");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        Db::connect(&format!("sqlite://{}", path.display())).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn write_tx_rolls_back_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut conn = establish(&url).unwrap();
        conn.batch_execute("CREATE TABLE t (x INTEGER NOT NULL)").unwrap();
        let r: Result<(), diesel::result::Error> = write_tx(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(r.is_err());
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result(&mut conn).unwrap();
        assert_eq!(n.n, 0);
        write_tx(&mut conn, |c| c.batch_execute("INSERT INTO t VALUES (1)")).unwrap();
        let n: N = diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result(&mut conn).unwrap();
        assert_eq!(n.n, 1);
    }
}
