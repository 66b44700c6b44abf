//! Rule 7 without a database query per request: every service keeps the revoked-session set in
//! memory ([`RevokedSessions`]) and refreshes it from the shared database once a second, so a
//! logout, a refresh-token reuse or a deleted session anywhere reaches every process within
//! about a second (docs/security.md allows 5 s). The process that revokes a session also adds it to
//! its own set at once.
//!
//! Only sessions revoked within the last access-token lifetime (plus leeway) matter: any older
//! access token has expired anyway.

use crate::db::{Db, DbConnection, DbError, to_db_time};
use crate::ids::SessionId;
use crate::schema::{server_secrets, sessions};
use diesel::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use token_claims::{Clock, RevokedSessions};

/// How often each process reads the revoked sessions.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Sessions revoked at or after `since`.
pub fn revoked_since(conn: &mut DbConnection, since: time::PrimitiveDateTime) -> QueryResult<Vec<SessionId>> {
    sessions::table
        .filter(sessions::revoked_at.ge(since))
        .select(sessions::id)
        .load::<String>(conn)
        .map(|ids| ids.iter().filter_map(|id| id.parse().ok()).collect())
}

/// Keeps one process's revoked-session set in step with the database.
#[derive(Clone)]
pub struct RevocationSync {
    pub db: Db,
    pub set: RevokedSessions,
    pub clock: Arc<dyn Clock>,
    /// Access-token lifetime plus leeway: how far back a revocation still matters.
    pub window: Duration,
}

impl RevocationSync {
    /// One pass. `prune` replaces the set (dropping entries whose tokens have all expired);
    /// otherwise it only adds, so it can never undo a revocation made in this process meanwhile.
    pub async fn run_once(&self, prune: bool) -> Result<usize, DbError> {
        let window = time::Duration::try_from(self.window).unwrap_or(time::Duration::HOUR);
        let since = to_db_time(self.clock.now() - window - time::Duration::seconds(5));
        let ids = self.db.run(move |conn| revoked_since(conn, since).map_err(DbError::from)).await?;
        let count = ids.len();
        let uuids = ids.into_iter().map(|id| id.0);
        if prune {
            self.set.replace_all(uuids)
        } else {
            self.set.extend(uuids)
        }
        Ok(count)
    }

    /// Runs forever (until the runtime stops), logging failures without stopping: with the
    /// database down, the last known set stays in force.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SYNC_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut passes: u64 = 0;
            loop {
                ticker.tick().await;
                passes += 1;
                if let Err(e) = self.run_once(passes.is_multiple_of(60)).await {
                    tracing::warn!(error = %e, "revoked-session refresh failed; keeping the last known set");
                }
            }
        })
    }
}

/// A 64-byte server secret shared by every process through the database (CSRF tokens, the
/// refresh-token successor MAC), created on first use. Concurrent first starts agree: the
/// losing insert fails on the primary key and both read the winner's value.
pub fn load_or_create_secret(
    conn: &mut DbConnection,
    name: &str,
    now: time::OffsetDateTime,
) -> Result<[u8; 64], DbError> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let existing: Option<String> =
        server_secrets::table.find(name).select(server_secrets::secret).first(conn).optional()?;
    let encoded = match existing {
        Some(s) => s,
        None => {
            let fresh: [u8; 64] = rand::random();
            let encoded = STANDARD.encode(fresh);
            let inserted = diesel::insert_into(server_secrets::table)
                .values((
                    server_secrets::name.eq(name),
                    server_secrets::secret.eq(&encoded),
                    server_secrets::created_at.eq(to_db_time(now)),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => encoded,
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                    server_secrets::table.find(name).select(server_secrets::secret).first(conn)?
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let bytes =
        STANDARD.decode(encoded).map_err(|e| DbError::Migration(format!("server secret {name} is corrupt: {e}")))?;
    bytes.try_into().map_err(|_| DbError::Migration(format!("server secret {name} has the wrong length")))
}
