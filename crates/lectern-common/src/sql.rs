//! Hand-written SQL that diesel keeps prepared.
//!
//! A few statements say more in SQL than in diesel's DSL (the catalog page in one statement, an
//! upsert that numbers an attempt). `diesel::sql_query` runs such text, but marks every statement
//! unsafe to cache, because it cannot know that the text was not assembled from input; PostgreSQL
//! then parses and plans it on every call. [`Statement`] is for text made only of constants:
//! its values travel as bind parameters, never in the text, so diesel may keep one prepared
//! statement per distinct text (its cache key is the text and the parameters' types).
//!
//! Placeholders are written `?`; each backend numbers them its own way (`$1`, `$2`, ... on
//! PostgreSQL), so one text serves both. The text must contain no other `?`.

use crate::db::DbConnection;
use diesel::backend::Backend;
use diesel::deserialize::QueryableByName;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};
use std::borrow::Cow;

/// A value bound to one `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// SQL text of constants with `?` placeholders, and the values for them in order. Load rows
/// with `QueryableByName` types, like `sql_query`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a statement runs only when loaded or executed"]
pub struct Statement {
    sql: Cow<'static, str>,
    binds: Vec<Bind>,
}

impl Statement {
    pub fn new(sql: impl Into<Cow<'static, str>>, binds: Vec<Bind>) -> Self {
        Statement { sql: sql.into(), binds }
    }

    /// The rows, on whichever backend `conn` is: each backend's own connection runs the
    /// statement, so each keeps it in its own statement cache.
    pub fn rows<T>(self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
    {
        match conn {
            DbConnection::Postgresql(pg) => self.load(pg),
            DbConnection::Sqlite(lite) => self.load(lite),
        }
    }
}

impl<DB> QueryFragment<DB> for Statement
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        let mut binds = self.binds.iter();
        for part in parts {
            match binds.next() {
                Some(Bind::Text(text)) => out.push_bind_param::<Text, _>(text)?,
                Some(Bind::Int(n)) => out.push_bind_param::<BigInt, _>(n)?,
                None => return Err(mismatch()),
            }
            out.push_sql(part);
        }
        match binds.next() {
            Some(_) => Err(mismatch()),
            None => Ok(()),
        }
    }
}

fn mismatch() -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError("a statement's placeholders and values differ in number".into())
}

// No static id: diesel keys its statement cache on the text and the parameters' types.
impl QueryId for Statement {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}

impl<Conn> diesel::RunQueryDsl<Conn> for Statement {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::{InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Line {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    const TABLE: &str = "CREATE TEMPORARY TABLE t (name TEXT NOT NULL, n BIGINT NOT NULL); \
                         INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3)";

    fn sqlite() -> SqliteConnection {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(TABLE).unwrap();
        conn
    }

    const QUERY: &str = "SELECT name, n FROM t WHERE n >= ? AND name <> ? ORDER BY n";

    fn query() -> Statement {
        Statement::new(QUERY, vec![Bind::Int(2), Bind::Text("c".into())])
    }

    /// Counts the statements diesel puts in the connection's cache from now on.
    fn count_cached<C: Connection>(conn: &mut C) -> Arc<AtomicUsize> {
        let cached = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&cached);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        cached
    }

    /// Runs `query()` three times; how many times diesel put a statement in its cache.
    fn prepared_while_loading_three_times<C: Connection + diesel::connection::LoadConnection>(conn: &mut C) -> usize
    where
        C::Backend: 'static,
        Statement: QueryFragment<C::Backend>,
        Line: QueryableByName<C::Backend>,
    {
        let cached = count_cached(conn);
        for _ in 0..3 {
            let lines: Vec<Line> = query().load(conn).unwrap();
            assert_eq!(lines, [Line { name: "b".into(), n: 2 }]);
        }
        cached.load(Ordering::Relaxed)
    }

    #[test]
    fn values_bind_in_order_and_sqlite_keeps_the_text_prepared() {
        let mut conn = sqlite();
        assert_eq!(prepared_while_loading_three_times(&mut conn), 1, "prepared once, then taken from the cache");
        // `sql_query` with the same text is prepared on every call: what this type is for.
        let cached = count_cached(&mut conn);
        for _ in 0..3 {
            diesel::sql_query(QUERY).bind::<BigInt, _>(2).bind::<Text, _>("c").load::<Line>(&mut conn).unwrap();
        }
        assert_eq!(cached.load(Ordering::Relaxed), 0);
    }

    /// PostgreSQL plans a prepared statement once per session: the server's own list of the
    /// session's prepared statements holds the text, with `$n` placeholders.
    #[test]
    fn postgresql_keeps_the_text_prepared() {
        let url = std::env::var("LECTERN_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = PgConnection::establish(&url).expect("PostgreSQL at LECTERN_TEST_DATABASE_URL");
        conn.batch_execute(TABLE).unwrap();
        assert_eq!(prepared_while_loading_three_times(&mut conn), 1);
        #[derive(QueryableByName)]
        struct Prepared {
            #[diesel(sql_type = Text)]
            statement: String,
        }
        let listed: Vec<Prepared> =
            diesel::sql_query("SELECT statement FROM pg_prepared_statements").load(&mut conn).unwrap();
        let texts: Vec<&str> = listed.iter().map(|p| p.statement.as_str()).collect();
        assert!(texts.contains(&"SELECT name, n FROM t WHERE n >= $1 AND name <> $2 ORDER BY n"), "{texts:?}");
    }

    #[test]
    fn a_value_is_never_text() {
        let mut conn = sqlite();
        let hostile = Statement::new("SELECT name, n FROM t WHERE name = ?", vec![Bind::Text("a' OR '1'='1".into())]);
        assert!(hostile.load::<Line>(&mut conn).unwrap().is_empty());
    }

    #[test]
    fn placeholders_and_values_must_match() {
        let mut conn = sqlite();
        let short = Statement::new("SELECT name, n FROM t WHERE n = ? OR n = ?", vec![Bind::Int(1)]);
        assert!(matches!(short.load::<Line>(&mut conn), Err(diesel::result::Error::QueryBuilderError(_))));
        let long = Statement::new("SELECT name, n FROM t WHERE n = ?", vec![Bind::Int(1), Bind::Int(2)]);
        assert!(matches!(long.load::<Line>(&mut conn), Err(diesel::result::Error::QueryBuilderError(_))));
    }
}
