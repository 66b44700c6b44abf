//! The one database kit: a diesel `MultiConnection` over SQLite and PostgreSQL, chosen by the URL
//! scheme, an r2d2 pool, the embedded migrations of each backend, and a way to run blocking
//! diesel work off the async workers.
//!
//! Where SQL must differ by backend (upserts, `BEGIN IMMEDIATE`), the branch lives here or in
//! the one store function that needs it, never in handlers.

use crate::ids::UserId;
use diesel::connection::InstrumentationEvent;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
    /// The database cannot serve right now: unreachable, restarting, failing over, locked, or this
    /// connection broke. Answered 503 with `Retry-After`; a retry may well succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A query failed for a reason a retry will not fix (a constraint, a bug). Answered 500.
    #[error("database query failed: {0}")]
    Query(diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("blocking task failed: {0}")]
    Task(String),
}

/// Every diesel error goes through here, so each service's error enum classifies it the same way.
impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        if is_transient(&e) { Self::Unavailable(e.to_string()) } else { Self::Query(e) }
    }
}

/// Messages of server-side conditions that diesel reports as `DatabaseErrorKind::Unknown` (it
/// does not expose the SQLSTATE) and that say "not now" rather than "never": a shutdown or
/// crash of the server, a deadlock, a cancelled statement; SQLite's lock and storage failures.
/// PostgreSQL sends them in `lc_messages`, so a server configured for another language falls
/// back to the error kinds alone (and these cases to 500): keep `lc_messages` at `C` or English.
const TRANSIENT_MESSAGES: &[&str] = &[
    // PostgreSQL 57P01..57P05, 57014, 40P01, 53xxx.
    "terminating connection due to",
    "the database system is",
    "canceling statement due to",
    "deadlock detected",
    "could not serialize access",
    "server closed the connection",
    "no connection to the server",
    "too many connections",
    "could not extend file",
    "out of shared memory",
    // SQLite SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY, SQLITE_CANTOPEN.
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "attempt to write a readonly database",
    "unable to open database file",
];

/// Whether the error means the database (or this connection to it) cannot serve at the moment,
/// as opposed to a query that is wrong or a constraint that holds.
pub fn is_transient(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(kind, info) => match kind {
            // The connection is gone, or it landed on a server that is now a read-only standby
            // (after a failover), or the transaction lost a race it may win next time.
            Kind::ClosedConnection
            | Kind::UnableToSendCommand
            | Kind::ReadOnlyTransaction
            | Kind::SerializationFailure => true,
            Kind::Unknown => {
                let message = info.message().to_ascii_lowercase();
                TRANSIENT_MESSAGES.iter().any(|m| message.contains(m))
            }
            _ => false,
        },
        // The transaction manager gives up on a connection that failed under it.
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// Whether this error leaves the connection unfit for the next request: it is closed, or it
/// talks to a server that has become read-only (a demoted primary).
fn breaks_connection(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand | Kind::ReadOnlyTransaction, _) => true,
        Error::DatabaseError(Kind::Unknown, info) => {
            let message = info.message().to_ascii_lowercase();
            message.contains("terminating connection due to") || message.contains("server closed the connection")
        }
        _ => false,
    }
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

/// A pooled connection and what the pool needs to know about it. Derefs to [`DbConnection`].
pub struct PoolConnection {
    conn: DbConnection,
    /// Set by the connection's instrumentation when a query saw the connection break.
    broken: Arc<AtomicBool>,
    /// The pool's loss epoch when this connection last proved itself alive (see [`Manager`]).
    checked: u64,
}

impl std::ops::Deref for PoolConnection {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// An r2d2 manager that picks the backend from the URL (diesel's own manager would try the
/// variants in turn and lose the real connection error).
///
/// Checking a connection out costs no round trip. Each connection watches its own queries (a
/// diesel instrumentation): one that sees its connection break marks it, and the pool drops it
/// when it comes back. The same event bumps the pool's *loss epoch*; a connection older than
/// the epoch may be dead too (the server restarted, or failed over, under all of them), so
/// its next checkout asks `SELECT 1` once. A healthy pool therefore never pings, and after an
/// outage each stale connection is found at checkout instead of failing a request.
#[derive(Debug)]
pub struct Manager {
    url: String,
    loss_epoch: Arc<AtomicU64>,
    /// SQL run once on each new connection.
    session_setup: Option<&'static str>,
}

impl Manager {
    pub fn new(url: &str) -> Self {
        Self { url: url.to_owned(), loss_epoch: Arc::new(AtomicU64::new(0)), session_setup: None }
    }
}

impl ManageConnection for Manager {
    type Connection = PoolConnection;
    type Error = DbError;

    fn connect(&self) -> Result<PoolConnection, DbError> {
        let checked = self.loss_epoch.load(Ordering::Acquire);
        let mut conn = establish(&self.url)?;
        if let Some(sql) = self.session_setup {
            conn.batch_execute(sql).map_err(DbError::from)?;
        }
        let broken = Arc::new(AtomicBool::new(false));
        let (flag, epoch) = (Arc::clone(&broken), Arc::clone(&self.loss_epoch));
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event
                && breaks_connection(e)
            {
                flag.store(true, Ordering::Release);
                epoch.fetch_add(1, Ordering::AcqRel);
            }
        });
        Ok(PoolConnection { conn, broken, checked })
    }

    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), DbError> {
        if conn.broken.load(Ordering::Acquire) {
            return Err(DbError::Unavailable("connection broken".into()));
        }
        let epoch = self.loss_epoch.load(Ordering::Acquire);
        if conn.checked == epoch {
            return Ok(());
        }
        conn.conn.batch_execute("SELECT 1").map_err(DbError::from)?;
        conn.checked = epoch;
        Ok(())
    }

    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        // diesel's own test: a transaction left open or a transaction manager in error, which
        // for PostgreSQL includes libpq reporting the connection's status as bad.
        std::thread::panicking() || conn.broken.load(Ordering::Acquire) || R2D2Connection::is_broken(&mut conn.conn)
    }
}

/// See `connection_timeout` in [`Db::connect`].
pub const POOL_TIMEOUT: Duration = Duration::from_secs(2);

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The pool plus the backend it talks to, and the standbys' pool when there is one. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    reads: Option<Arc<Reads>>,
}

/// Reads from standbys (`LECTERN_DATABASE_READ_URL`), and who must not be served by them yet.
struct Reads {
    pool: Pool,
    /// Users who wrote through this process lately, and until when their reads stay on the primary.
    pinned: Mutex<HashMap<UserId, Instant>>,
}

/// How long a user's reads stay on the primary after a write through this process: covers a
/// standby that is not synchronous (or is catching up) and replays a moment behind.
pub const READ_YOUR_WRITES_WINDOW: Duration = Duration::from_secs(5);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .field("standby_reads", &self.reads.is_some())
            .finish_non_exhaustive()
    }
}

fn pool_builder(size: u32) -> r2d2::Builder<Manager> {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        // How long a request waits for a connection before it is answered 503: short, so that
        // during an outage the client's retry (after `Retry-After`) waits, not a worker. r2d2
        // also retries a failed connect with a backoff capped at half of this: 1 s, which
        // bounds how late the pool notices that a new primary accepts writes.
        .connection_timeout(POOL_TIMEOUT)
        // Checkout asks the manager, which pings only connections older than the last
        // loss (see `Manager`): no round trip per request.
        .test_on_check_out(true)
}

impl Db {
    /// Connects once first (so a wrong URL or a down server is reported with its real cause,
    /// not as a pool timeout), then builds the pool.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        Self::connect_with_reads(url, None)
    }

    /// As [`Db::connect`], plus a pool on `read_url` (PostgreSQL standbys) for [`Db::run_read`].
    /// Standbys that are down do not stop the start: their reads go to the primary meanwhile.
    ///
    /// With standbys in use, every session on the primary commits with `synchronous_commit =
    /// remote_apply`: a commit returns once the synchronous standby has *replayed* it, so the
    /// next read there sees it, whichever process serves that read. (Without a synchronous
    /// standby the setting waits for nothing.)
    pub fn connect_with_reads(url: &str, read_url: Option<&str>) -> Result<Self, DbError> {
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
        let reads = match read_url {
            None => None,
            Some(read_url) => {
                if backend != Backend::Postgres || Backend::from_url(read_url)? != Backend::Postgres {
                    return Err(DbError::UnsupportedUrl);
                }
                let pool = pool_builder(size).min_idle(Some(0)).build_unchecked(Manager::new(read_url));
                Some(Arc::new(Reads { pool, pinned: Mutex::new(HashMap::new()) }))
            }
        };
        let mut manager = Manager::new(url);
        if reads.is_some() {
            manager.session_setup = Some("SET synchronous_commit TO remote_apply");
        }
        let pool = pool_builder(size).build(manager).map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Self { pool, backend, reads })
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

    /// Runs blocking diesel work on the primary, on the blocking pool, inside the caller's
    /// tracing span. Do all of one request's queries in one call: each hand-off costs about as
    /// much as a simple query.
    pub async fn run<T, E>(&self, work: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        Self::run_on(self.pool.clone(), None, work).await
    }

    /// Work that only reads, and may read a standby's copy (a moment behind the primary): the
    /// catalog, course pages, materials. It runs on the standbys when `LECTERN_DATABASE_READ_URL`
    /// is set, except for a `reader` who wrote through this process within
    /// [`READ_YOUR_WRITES_WINDOW`], and on the primary when no standby gives a connection.
    /// Access decisions, revocations and whatever a write depends on use [`Db::run`].
    pub async fn run_read<T, E>(
        &self,
        reader: Option<UserId>,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &self.reads {
            Some(reads) if !reader.is_some_and(|user| reads.is_pinned(user)) => {
                Self::run_on(reads.pool.clone(), Some(self.pool.clone()), work).await
            }
            _ => self.run(work).await,
        }
    }

    /// Work that writes on behalf of `writer`: runs on the primary, and when it succeeds the
    /// writer's reads stay on the primary for [`READ_YOUR_WRITES_WINDOW`].
    pub async fn run_write<T, E>(
        &self,
        writer: UserId,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let outcome = self.run(work).await;
        if outcome.is_ok() {
            self.wrote(writer);
        }
        outcome
    }

    /// Records that `user` wrote (for callers that write through [`Db::run`]).
    pub fn wrote(&self, user: UserId) {
        if let Some(reads) = &self.reads {
            reads.pin(user);
        }
    }

    /// An access decision on the primary, then the reading it allows, on a standby when
    /// `LECTERN_DATABASE_READ_URL` is set (two hand-offs), or in the same hand-off otherwise. What
    /// `decide` returns (a capability) is all `read` may rely on.
    pub async fn decide_then_read<C, T, E>(
        &self,
        reader: UserId,
        decide: impl FnOnce(&mut DbConnection) -> Result<C, E> + Send + 'static,
        read: impl FnOnce(&mut DbConnection, C) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        C: Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if self.reads.is_none() {
            return self.run(move |conn| decide(conn).and_then(|decided| read(conn, decided))).await;
        }
        let decided = self.run(decide).await?;
        self.run_read(Some(reader), move |conn| read(conn, decided)).await
    }

    /// Whether reads may go to standbys.
    pub fn has_standby_reads(&self) -> bool {
        self.reads.is_some()
    }

    async fn run_on<T, E>(
        pool: Pool,
        fallback: Option<Pool>,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let got = match (pool.get(), fallback) {
                (Ok(conn), _) => Ok(conn),
                (Err(e), Some(primary)) => {
                    tracing::warn!(error = %e, "no standby connection; reading from the primary");
                    primary.get()
                }
                (Err(e), None) => Err(e),
            };
            let mut conn = got.map_err(|e| E::from(DbError::Unavailable(e.to_string())))?;
            work(&mut conn)
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// `SELECT 1`, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from)).await
    }
}

impl Reads {
    fn is_pinned(&self, user: UserId) -> bool {
        let now = Instant::now();
        self.pinned.lock().map(|p| p.get(&user).is_some_and(|until| *until > now)).unwrap_or(true)
    }

    fn pin(&self, user: UserId) {
        let now = Instant::now();
        if let Ok(mut pinned) = self.pinned.lock() {
            // Forget expired pins now and then, so the map stays as small as the recent writers.
            if pinned.len() > 1024 {
                pinned.retain(|_, until| *until > now);
            }
            pinned.insert(user, now + READ_YOUR_WRITES_WINDOW);
        }
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
            c.batch_execute("SELECT pg_advisory_lock(7251142)").map_err(DbError::from)?;
            let applied = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
            c.batch_execute("SELECT pg_advisory_unlock(7251142)").map_err(DbError::from)?;
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
