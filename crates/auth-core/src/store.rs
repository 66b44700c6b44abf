//! Queries on users, sessions and refresh tokens. Every function returns the database's answer
//! honestly (`QueryResult`); meaning is added by the caller.

use diesel::prelude::*;
use lectern_common::db::DbConnection;
use lectern_common::ids::{SessionId, UserId};
use lectern_common::role_column::RoleColumn;
use lectern_common::schema::{password_hashes, refresh_tokens, secrets, sessions, users};
use time::PrimitiveDateTime;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: RoleColumn,
    pub created_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: PrimitiveDateTime,
    pub user_agent: Option<String>,
    pub revoked_at: Option<PrimitiveDateTime>,
    pub revoked_reason: Option<String>,
}

/// A user and their password hash (kept apart from `users`, which every service reads).
pub fn find_credentials(conn: &mut DbConnection, email: &str) -> QueryResult<Option<(UserRow, String)>> {
    users::table
        .inner_join(password_hashes::table)
        .filter(users::email.eq(email))
        .select((UserRow::as_select(), password_hashes::hash))
        .first(conn)
        .optional()
}

/// Sets an account's time zone (an IANA name the caller has checked).
pub fn set_time_zone(conn: &mut DbConnection, id: UserId, zone: &str) -> QueryResult<bool> {
    diesel::update(users::table.find(id)).set(users::time_zone.eq(zone)).execute(conn).map(|n| n > 0)
}

pub fn find_user(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).optional()
}

/// Inserts a user with their password hash, both or neither; `Ok(false)` when the email is taken.
/// A savepoint when called inside a transaction (the seed), so a taken email does not spoil it.
pub fn insert_user(conn: &mut DbConnection, user: &UserRow, password_hash: &str) -> QueryResult<bool> {
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user.id),
                users::email.eq(&user.email),
                users::display_name.eq(&user.display_name),
                users::role.eq(user.role),
                users::created_at.eq(user.created_at),
            ))
            .execute(conn)?;
        diesel::insert_into(password_hashes::table)
            .values((password_hashes::user_id.eq(user.id), password_hashes::hash.eq(password_hash)))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A 64-byte secret of auth-core's own, sealed with the key-encryption key, created on first use.
/// Concurrent first starts agree: the losing insert fails on the primary key and both read the
/// winner's value. A value left in clear by an older version is sealed on the way.
pub fn sealed_secret(
    conn: &mut DbConnection,
    kek: &crate::seal::Kek,
    name: &str,
    now: PrimitiveDateTime,
) -> Result<[u8; 64], crate::AuthError> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let label = format!("secret:{name}");
    let read = |conn: &mut DbConnection| secrets::table.find(name).select(secrets::secret).first::<String>(conn);
    let stored = match read(conn).optional()? {
        Some(stored) => stored,
        None => {
            let fresh: [u8; 64] = rand::random();
            let sealed = kek.seal(&label, &fresh)?;
            let inserted = diesel::insert_into(secrets::table)
                .values((secrets::name.eq(name), secrets::secret.eq(&sealed), secrets::created_at.eq(now)))
                .execute(conn);
            match inserted {
                Ok(_) => sealed,
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                    read(conn)?
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let bytes = if crate::seal::is_sealed(&stored) {
        kek.open(&label, &stored)?
    } else {
        let plain = STANDARD.decode(&stored).map_err(|e| crate::AuthError::Unexpected(format!("{label}: {e}")))?;
        diesel::update(secrets::table.find(name)).set(secrets::secret.eq(kek.seal(&label, &plain)?)).execute(conn)?;
        plain
    };
    bytes.try_into().map_err(|_| crate::AuthError::Unexpected(format!("{label} has the wrong length")))
}

pub fn insert_session(
    conn: &mut DbConnection,
    id: SessionId,
    user: UserId,
    now: PrimitiveDateTime,
    user_agent: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::user_id.eq(user),
            sessions::created_at.eq(now),
            sessions::last_used_at.eq(now),
            sessions::user_agent.eq(user_agent),
        ))
        .execute(conn)
        .map(drop)
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    hash: &str,
    session: SessionId,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::issued_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// A refresh token with its session and the session's user.
pub struct RefreshLookup {
    pub spent_at: Option<PrimitiveDateTime>,
    pub session: SessionRow,
    pub user: UserRow,
}

pub fn find_refresh_token(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<RefreshLookup>> {
    refresh_tokens::table
        .inner_join(sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((refresh_tokens::spent_at, SessionRow::as_select(), UserRow::as_select()))
        .first::<(Option<PrimitiveDateTime>, SessionRow, UserRow)>(conn)
        .optional()
        .map(|found| found.map(|(spent_at, session, user)| RefreshLookup { spent_at, session, user }))
}

/// Marks the token spent if nobody did first; true when this call spent it.
pub fn spend_refresh_token(conn: &mut DbConnection, hash: &str, now: PrimitiveDateTime) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table.filter(refresh_tokens::token_hash.eq(hash)).filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// `Some(spent_at)` of a token, `None` when it does not exist.
pub fn refresh_token_spent_at(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<Option<PrimitiveDateTime>>> {
    refresh_tokens::table.find(hash).select(refresh_tokens::spent_at).first(conn).optional()
}

pub fn touch_session(conn: &mut DbConnection, id: SessionId, now: PrimitiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id)).set(sessions::last_used_at.eq(now)).execute(conn).map(drop)
}

/// Revokes a session unless it already is; true when this call revoked it.
pub fn revoke_session(
    conn: &mut DbConnection,
    id: SessionId,
    now: PrimitiveDateTime,
    reason: &str,
) -> QueryResult<bool> {
    diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)
        .map(|n| n == 1)
}

/// The user's sessions that are neither revoked nor past the idle or absolute limit.
pub fn live_sessions(
    conn: &mut DbConnection,
    user: UserId,
    idle_cutoff: PrimitiveDateTime,
    absolute_cutoff: PrimitiveDateTime,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::last_used_at.gt(idle_cutoff))
        .filter(sessions::created_at.gt(absolute_cutoff))
        .order((sessions::last_used_at.desc(), sessions::id.asc()))
        .select(SessionRow::as_select())
        .load(conn)
}

/// One of the user's sessions (a session of anyone else is `None`).
pub fn find_session_for(conn: &mut DbConnection, id: SessionId, user: UserId) -> QueryResult<Option<SessionRow>> {
    sessions::table.find(id).filter(sessions::user_id.eq(user)).select(SessionRow::as_select()).first(conn).optional()
}
