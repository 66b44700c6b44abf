//! The key ring: Ed25519 signing keys kept in the database, each named by its RFC 7638
//! thumbprint. The newest key signs; every key whose tokens may still be live is published in
//! the JWKS. `lectern keys rotate|list|retire` work on the same rows while servers run: each
//! auth process reloads the ring every second and starts signing with a new key at once, and
//! verifiers learn the new `kid` before any token carries it (same process) or on first sight
//! (another process: an unknown `kid` triggers one JWKS refresh).

use crate::error::AuthError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lectern_common::db::{DbConnection, from_db_time, to_db_time};
use lectern_common::schema::signing_keys;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;
use token_claims::{AccessClaims, KeySet, jwk_thumbprint};

/// RFC 8410 PKCS#8 prefix of an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// The media type of Lectern access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    alg: String,
    private_pkcs8: String,
    public_jwk: String,
    created_at: time::PrimitiveDateTime,
}

pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
}

#[derive(Default)]
struct Ring {
    signing: Option<Arc<SigningKey>>,
    jwks: JwkSet,
    /// (kid, created_at) of every row, to see cheaply whether anything changed.
    fingerprint: Vec<(String, time::PrimitiveDateTime)>,
}

/// The in-memory copy of the signing keys.
#[derive(Default)]
pub struct KeyRing {
    ring: RwLock<Arc<Ring>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("kids", &self.current().fingerprint).finish()
    }
}

fn load_rows(conn: &mut DbConnection) -> QueryResult<Vec<KeyRow>> {
    signing_keys::table
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(KeyRow::as_select())
        .load(conn)
}

fn build(rows: &[KeyRow]) -> Result<Ring, AuthError> {
    let mut jwks = JwkSet { keys: Vec::with_capacity(rows.len()) };
    for row in rows {
        let jwk: Jwk = serde_json::from_str(&row.public_jwk)
            .map_err(|e| AuthError::Unexpected(format!("key {}: {e}", row.kid)))?;
        jwks.keys.push(jwk);
    }
    let signing = match rows.last() {
        Some(newest) => {
            if newest.alg != "EdDSA" {
                return Err(AuthError::Unexpected(format!("key {} has unsupported alg {}", newest.kid, newest.alg)));
            }
            let der = STANDARD
                .decode(&newest.private_pkcs8)
                .map_err(|e| AuthError::Unexpected(format!("key {}: {e}", newest.kid)))?;
            Some(Arc::new(SigningKey { kid: newest.kid.clone(), encoding: EncodingKey::from_ed_der(&der) }))
        }
        None => None,
    };
    let fingerprint = rows.iter().map(|r| (r.kid.clone(), r.created_at)).collect();
    Ok(Ring { signing, jwks, fingerprint })
}

impl KeyRing {
    fn current(&self) -> Arc<Ring> {
        self.ring.read().map(|r| Arc::clone(&r)).unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Reads the keys from the database; true when they changed since the last load.
    pub fn reload(&self, conn: &mut DbConnection) -> Result<bool, AuthError> {
        let rows = load_rows(conn)?;
        let unchanged = {
            let ring = self.current();
            ring.fingerprint.len() == rows.len()
                && ring.fingerprint.iter().zip(&rows).all(|((k, c), r)| *k == r.kid && *c == r.created_at)
        };
        if unchanged {
            return Ok(false);
        }
        let ring = Arc::new(build(&rows)?);
        match self.ring.write() {
            Ok(mut slot) => *slot = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(true)
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        self.current().jwks.clone()
    }

    /// The public keys as a verifier's key set.
    pub fn key_set(&self) -> KeySet {
        KeySet::from_jwk_set(&self.current().jwks)
    }

    pub fn signing_kid(&self) -> Option<String> {
        self.current().signing.as_ref().map(|k| k.kid.clone())
    }

    /// Signs access-token claims with the newest key: `{"alg":"EdDSA","typ":"at+jwt","kid":..}`.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let ring = self.current();
        let key = ring.signing.as_ref().ok_or_else(|| AuthError::Unexpected("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| AuthError::Unexpected(e.to_string()))
    }
}

/// Makes a fresh Ed25519 key and stores it; it becomes the signing key. Returns its kid.
pub fn generate(conn: &mut DbConnection, now: OffsetDateTime) -> Result<String, AuthError> {
    let seed: [u8; 32] = rand::random();
    let der = [&ED25519_PKCS8_PREFIX[..], &seed[..]].concat();
    let encoding = EncodingKey::from_ed_der(&der);
    let mut jwk =
        Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).map_err(|e| AuthError::Unexpected(e.to_string()))?;
    let kid = jwk_thumbprint(&jwk).map_err(|e| AuthError::Unexpected(e.to_string()))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let public = serde_json::to_string(&jwk).map_err(|e| AuthError::Unexpected(e.to_string()))?;
    // Keys created in the same microsecond would tie on created_at; make the newest strictly newest.
    let newest: Option<time::PrimitiveDateTime> =
        signing_keys::table.select(diesel::dsl::max(signing_keys::created_at)).first(conn)?;
    let mut created = to_db_time(now);
    if let Some(newest) = newest
        && created <= newest
    {
        created = newest + time::Duration::microseconds(1);
    }
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&kid),
            signing_keys::alg.eq("EdDSA"),
            signing_keys::private_pkcs8.eq(STANDARD.encode(&der)),
            signing_keys::public_jwk.eq(public),
            signing_keys::created_at.eq(created),
        ))
        .execute(conn)?;
    Ok(kid)
}

/// Creates the first key of a new installation.
pub fn ensure_signing_key(conn: &mut DbConnection, now: OffsetDateTime) -> Result<(), AuthError> {
    lectern_common::db::write_tx(conn, |conn| {
        let count: i64 = signing_keys::table.count().get_result(conn)?;
        if count == 0 {
            let kid = generate(conn, now)?;
            tracing::info!(kid = %kid, "created the first signing key");
        }
        Ok(())
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens.
    Current,
    /// No longer signs; tokens it signed may live until `live_until`.
    Previous { live_until: OffsetDateTime },
}

#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub created_at: OffsetDateTime,
    pub status: KeyStatus,
}

impl KeyInfo {
    pub fn retirable_at(&self, now: OffsetDateTime) -> bool {
        matches!(self.status, KeyStatus::Previous { live_until } if live_until <= now)
    }
}

/// Every key, oldest first. A key stopped signing when the next one was created; the tokens it
/// signed live at most `token_lifetime` (access TTL plus leeway) after that.
pub fn list(conn: &mut DbConnection, token_lifetime: time::Duration) -> Result<Vec<KeyInfo>, AuthError> {
    let rows = load_rows(conn)?;
    let mut infos = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let status = match rows.get(i + 1) {
            Some(next) => KeyStatus::Previous { live_until: from_db_time(next.created_at) + token_lifetime },
            None => KeyStatus::Current,
        };
        infos.push(KeyInfo {
            kid: row.kid.clone(),
            alg: row.alg.clone(),
            created_at: from_db_time(row.created_at),
            status,
        });
    }
    Ok(infos)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RetireError {
    #[error("no key has kid {0}")]
    NotFound(String),
    #[error("{0} is the current signing key; rotate first")]
    Current(String),
    #[error("tokens signed by {kid} may be live until {until}; retire it after that")]
    StillLive { kid: String, until: String },
}

/// Removes a key (and its private half) once no live token can carry it.
pub fn retire(
    conn: &mut DbConnection,
    kid: &str,
    now: OffsetDateTime,
    token_lifetime: time::Duration,
) -> Result<Result<(), RetireError>, AuthError> {
    lectern_common::db::write_tx(conn, |conn| {
        let keys = list(conn, token_lifetime)?;
        let Some(info) = keys.iter().find(|k| k.kid == kid) else {
            return Ok(Err(RetireError::NotFound(kid.to_owned())));
        };
        match info.status {
            KeyStatus::Current => return Ok(Err(RetireError::Current(kid.to_owned()))),
            KeyStatus::Previous { live_until } if live_until > now => {
                let until = live_until.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                return Ok(Err(RetireError::StillLive { kid: kid.to_owned(), until }));
            }
            KeyStatus::Previous { .. } => {}
        }
        diesel::delete(signing_keys::table.find(kid)).execute(conn)?;
        Ok(Ok(()))
    })
}
