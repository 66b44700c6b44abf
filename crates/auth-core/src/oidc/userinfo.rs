//! The userinfo endpoint's lookup: an opaque access token from the token endpoint, and only such a
//! token (a Lectern access token is a JWT, which has no row here), for the claims its scopes allow.

use super::store;
use super::{Scopes, token_hash, user_claims, well_formed_token};
use crate::error::AuthError;
use lectern_common::db::{DbConnection, to_db_time};
use time::OffsetDateTime;

/// The claims for a live token; `None` for a token that is unknown, expired or revoked, or whose
/// session was signed out.
pub fn claims(
    conn: &mut DbConnection,
    token: &str,
    issuer: &str,
    now: OffsetDateTime,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, AuthError> {
    if !well_formed_token(token) {
        return Ok(None);
    }
    let Some((row, session_revoked)) = store::find_access_token(conn, &token_hash(token))? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() || session_revoked.is_some() || row.expires_at <= to_db_time(now) {
        return Ok(None);
    }
    let Some(user) = crate::store::find_user(conn, row.user_id)? else {
        return Ok(None);
    };
    Ok(Some(user_claims(&user, &Scopes::parse(&row.scope), issuer)))
}
