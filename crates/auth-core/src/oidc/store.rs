//! Queries on OpenID Connect clients, codes, access tokens and consents. Every function returns the
//! database's answer honestly (`QueryResult`); meaning is added by the caller.

use diesel::prelude::*;
use lectern_common::db::DbConnection;
use lectern_common::ids::{SessionId, UserId};
use lectern_common::schema::{
    oidc_access_tokens, oidc_clients, oidc_codes, oidc_consents, oidc_redirect_uris, sessions,
};
use time::PrimitiveDateTime;

lectern_common::typed_id!(
    /// A registered application: its `client_id`, and the `aud` of the ID tokens it receives.
    ClientId
);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = oidc_clients)]
pub struct ClientRow {
    pub id: ClientId,
    pub name: String,
    /// SHA-256 of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    pub id_token_alg: String,
    pub created_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = oidc_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scope: String,
    pub auth_time: PrimitiveDateTime,
    pub issued_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub spent_at: Option<PrimitiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = oidc_access_tokens)]
pub struct AccessTokenRow {
    pub token_hash: String,
    pub code_hash: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub scope: String,
    pub issued_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub revoked_at: Option<PrimitiveDateTime>,
}

pub fn find_client(conn: &mut DbConnection, id: ClientId) -> QueryResult<Option<ClientRow>> {
    oidc_clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()
}

/// The client, if `uri` is one of its registered redirect URIs (compared as exact strings).
pub fn find_client_with_redirect(
    conn: &mut DbConnection,
    id: ClientId,
    uri: &str,
) -> QueryResult<Option<(ClientRow, bool)>> {
    let Some(client) = find_client(conn, id)? else { return Ok(None) };
    let registered = oidc_redirect_uris::table.find((id, uri)).count().get_result::<i64>(conn)? == 1;
    Ok(Some((client, registered)))
}

pub fn redirect_uris(conn: &mut DbConnection, id: ClientId) -> QueryResult<Vec<String>> {
    oidc_redirect_uris::table
        .filter(oidc_redirect_uris::client_id.eq(id))
        .order(oidc_redirect_uris::uri.asc())
        .select(oidc_redirect_uris::uri)
        .load(conn)
}

pub fn all_clients(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    oidc_clients::table
        .order((oidc_clients::created_at.asc(), oidc_clients::id.asc()))
        .select(ClientRow::as_select())
        .load(conn)
}

pub fn insert_client(conn: &mut DbConnection, client: &ClientRow, uris: &[String]) -> QueryResult<()> {
    diesel::insert_into(oidc_clients::table)
        .values((
            oidc_clients::id.eq(client.id),
            oidc_clients::name.eq(&client.name),
            oidc_clients::secret_hash.eq(&client.secret_hash),
            oidc_clients::id_token_alg.eq(&client.id_token_alg),
            oidc_clients::created_at.eq(client.created_at),
        ))
        .execute(conn)?;
    for uri in uris {
        diesel::insert_into(oidc_redirect_uris::table)
            .values((oidc_redirect_uris::client_id.eq(client.id), oidc_redirect_uris::uri.eq(uri)))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a client with everything of it (cascades: redirect URIs, codes, tokens, consents).
pub fn delete_client(conn: &mut DbConnection, id: ClientId) -> QueryResult<bool> {
    // Spelled out rather than left to the cascade alone: SQLite enforces it only with foreign keys on.
    diesel::delete(oidc_access_tokens::table.filter(oidc_access_tokens::client_id.eq(id))).execute(conn)?;
    diesel::delete(oidc_codes::table.filter(oidc_codes::client_id.eq(id))).execute(conn)?;
    diesel::delete(oidc_consents::table.filter(oidc_consents::client_id.eq(id))).execute(conn)?;
    diesel::delete(oidc_redirect_uris::table.filter(oidc_redirect_uris::client_id.eq(id))).execute(conn)?;
    diesel::delete(oidc_clients::table.find(id)).execute(conn).map(|n| n == 1)
}

/// The scopes the person allowed this application, if any.
pub fn consent(conn: &mut DbConnection, user: UserId, client: ClientId) -> QueryResult<Option<String>> {
    oidc_consents::table.find((user, client)).select(oidc_consents::scope).first(conn).optional()
}

/// Records the scopes allowed (replacing an earlier, narrower consent).
pub fn save_consent(
    conn: &mut DbConnection,
    user: UserId,
    client: ClientId,
    scope: &str,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    // No upsert through the MultiConnection: delete and insert, inside the caller's transaction.
    diesel::delete(oidc_consents::table.find((user, client))).execute(conn)?;
    diesel::insert_into(oidc_consents::table)
        .values((
            oidc_consents::user_id.eq(user),
            oidc_consents::client_id.eq(client),
            oidc_consents::scope.eq(scope),
            oidc_consents::granted_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// One connected application of a person: (client, name, scopes, when allowed).
pub fn consents_of(
    conn: &mut DbConnection,
    user: UserId,
) -> QueryResult<Vec<(ClientId, String, String, PrimitiveDateTime)>> {
    oidc_consents::table
        .inner_join(oidc_clients::table)
        .filter(oidc_consents::user_id.eq(user))
        .order((oidc_clients::name.asc(), oidc_clients::id.asc()))
        .select((oidc_clients::id, oidc_clients::name, oidc_consents::scope, oidc_consents::granted_at))
        .load(conn)
}

/// Withdraws a consent and everything issued under it: unspent codes are spent, live tokens
/// revoked. False when there was no consent.
pub fn revoke_consent(
    conn: &mut DbConnection,
    user: UserId,
    client: ClientId,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let removed = diesel::delete(oidc_consents::table.find((user, client))).execute(conn)? == 1;
    diesel::update(
        oidc_codes::table
            .filter(oidc_codes::user_id.eq(user))
            .filter(oidc_codes::client_id.eq(client))
            .filter(oidc_codes::spent_at.is_null()),
    )
    .set(oidc_codes::spent_at.eq(now))
    .execute(conn)?;
    diesel::update(
        oidc_access_tokens::table
            .filter(oidc_access_tokens::user_id.eq(user))
            .filter(oidc_access_tokens::client_id.eq(client))
            .filter(oidc_access_tokens::revoked_at.is_null()),
    )
    .set(oidc_access_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(removed)
}

/// When a session began, and whether it was revoked; `None` if it is not this user's.
pub fn session_of(
    conn: &mut DbConnection,
    session: SessionId,
    user: UserId,
) -> QueryResult<Option<(PrimitiveDateTime, Option<PrimitiveDateTime>)>> {
    sessions::table
        .find(session)
        .filter(sessions::user_id.eq(user))
        .select((sessions::created_at, sessions::revoked_at))
        .first(conn)
        .optional()
}

pub fn insert_code(conn: &mut DbConnection, code: &CodeRow) -> QueryResult<()> {
    diesel::insert_into(oidc_codes::table).values(code).execute(conn).map(drop)
}

pub fn find_code(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<CodeRow>> {
    oidc_codes::table.find(hash).select(CodeRow::as_select()).first(conn).optional()
}

/// Marks the code spent unless someone did first; true when this call spent it.
pub fn spend_code(conn: &mut DbConnection, hash: &str, now: PrimitiveDateTime) -> QueryResult<bool> {
    diesel::update(oidc_codes::table.find(hash).filter(oidc_codes::spent_at.is_null()))
        .set(oidc_codes::spent_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}

/// Revokes every access token issued from a code; how many were live.
pub fn revoke_tokens_of_code(conn: &mut DbConnection, code_hash: &str, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::update(
        oidc_access_tokens::table
            .filter(oidc_access_tokens::code_hash.eq(code_hash))
            .filter(oidc_access_tokens::revoked_at.is_null()),
    )
    .set(oidc_access_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn insert_access_token(conn: &mut DbConnection, token: &AccessTokenRow) -> QueryResult<()> {
    diesel::insert_into(oidc_access_tokens::table).values(token).execute(conn).map(drop)
}

/// An access token with whether its session was revoked.
pub fn find_access_token(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<(AccessTokenRow, Option<PrimitiveDateTime>)>> {
    oidc_access_tokens::table
        .inner_join(sessions::table)
        .filter(oidc_access_tokens::token_hash.eq(hash))
        .select((AccessTokenRow::as_select(), sessions::revoked_at))
        .first(conn)
        .optional()
}

/// Drops codes and tokens nobody can use any more: tokens past their expiry, and codes whose
/// tokens have all expired too (a spent code is kept that long, so its reuse can still revoke).
pub fn sweep(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<()> {
    diesel::delete(oidc_access_tokens::table.filter(oidc_access_tokens::expires_at.lt(now))).execute(conn)?;
    let codes_before = now - super::ACCESS_TOKEN_TTL - super::CODE_TTL;
    diesel::delete(oidc_codes::table.filter(oidc_codes::expires_at.lt(codes_before))).execute(conn)?;
    Ok(())
}
