//! The key ring: Ed25519 signing keys kept in the database, each named by its RFC 7638
//! thumbprint, their private halves sealed with the key-encryption key ([`crate::seal`]).
//!
//! A key is published in the JWKS from the moment it exists and signs from its `activates_at`.
//! `lectern keys rotate` creates the *next* key, which starts signing [`ACTIVATION_DELAY`] later:
//! longer than any verifier keeps a fetched JWKS (at most 5 minutes), so every process of the
//! split shape knows the key before a token carries it, and a rotation never needs auth-core to
//! be reachable at that moment. `lectern keys activate KID` starts it earlier (with a warning).
//! Every key whose tokens may still be live stays in the JWKS until `lectern keys retire`.
//!
//! Each auth process reloads the ring every second, so a key activates on time without a restart.

use crate::error::AuthError;
use crate::seal::{self, Kek};
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

/// What a key signs.
pub const PURPOSE_ACCESS: &str = "access";

/// How long a rotated-in key is published before it signs: twice the longest a verifier caches a
/// JWKS (`lectern_common::jwks`, 5 minutes).
pub const ACTIVATION_DELAY: time::Duration = time::Duration::minutes(10);

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    purpose: String,
    alg: String,
    private_key: String,
    public_jwk: String,
    created_at: time::PrimitiveDateTime,
    activates_at: time::PrimitiveDateTime,
}

impl KeyRow {
    fn label(&self) -> String {
        label(&self.kid)
    }
}

fn label(kid: &str) -> String {
    format!("signing-key:{kid}")
}

pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
}

#[derive(Default)]
struct Ring {
    signing: Option<Arc<SigningKey>>,
    jwks: JwkSet,
    /// (kid, created_at, activates_at) of every row, to see cheaply whether anything changed.
    fingerprint: Vec<(String, time::PrimitiveDateTime, time::PrimitiveDateTime)>,
}

/// The in-memory copy of the signing keys.
pub struct KeyRing {
    kek: Kek,
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

/// The access key that signs at `now`: the one activated last, among those already active.
fn signing_row(rows: &[KeyRow], now: time::PrimitiveDateTime) -> Option<&KeyRow> {
    rows.iter()
        .filter(|r| r.purpose == PURPOSE_ACCESS && r.activates_at <= now)
        .max_by_key(|r| (r.activates_at, r.created_at))
}

fn unexpected(kid: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Unexpected(format!("key {kid}: {e}"))
}

fn build(rows: &[KeyRow], kek: &Kek, now: time::PrimitiveDateTime) -> Result<Ring, AuthError> {
    let mut jwks = JwkSet { keys: Vec::with_capacity(rows.len()) };
    for row in rows {
        let jwk: Jwk = serde_json::from_str(&row.public_jwk).map_err(|e| unexpected(&row.kid, e))?;
        jwks.keys.push(jwk);
    }
    let signing = match signing_row(rows, now) {
        Some(row) => {
            if row.alg != "EdDSA" {
                return Err(unexpected(&row.kid, format!("unsupported alg {}", row.alg)));
            }
            let der = kek.open(&row.label(), &row.private_key)?;
            Some(Arc::new(SigningKey { kid: row.kid.clone(), encoding: EncodingKey::from_ed_der(&der) }))
        }
        None => None,
    };
    let fingerprint = rows.iter().map(|r| (r.kid.clone(), r.created_at, r.activates_at)).collect();
    Ok(Ring { signing, jwks, fingerprint })
}

impl KeyRing {
    pub fn new(kek: Kek) -> Self {
        Self { kek, ring: RwLock::default() }
    }

    /// The key-encryption key this ring opens private keys with (the CLI and tests seal new keys).
    pub fn kek(&self) -> &Kek {
        &self.kek
    }

    fn current(&self) -> Arc<Ring> {
        self.ring.read().map(|r| Arc::clone(&r)).unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Reads the keys from the database; true when the published set or the signing key changed
    /// (a key rotated in, retired, or reaching its activation time).
    pub fn reload(&self, conn: &mut DbConnection, now: OffsetDateTime) -> Result<bool, AuthError> {
        let rows = load_rows(conn)?;
        let now = to_db_time(now);
        let unchanged = {
            let ring = self.current();
            let same_rows = ring.fingerprint.len() == rows.len()
                && ring
                    .fingerprint
                    .iter()
                    .zip(&rows)
                    .all(|((k, c, a), r)| *k == r.kid && *c == r.created_at && *a == r.activates_at);
            let same_signer =
                ring.signing.as_ref().map(|s| s.kid.as_str()) == signing_row(&rows, now).map(|r| r.kid.as_str());
            same_rows && same_signer
        };
        if unchanged {
            return Ok(false);
        }
        let ring = Arc::new(build(&rows, &self.kek, now)?);
        match self.ring.write() {
            Ok(mut slot) => *slot = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(true)
    }

    /// The public keys, as served at `/.well-known/jwks.json`: the next key too, before it signs.
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

    /// Signs access-token claims with the current key: `{"alg":"EdDSA","typ":"at+jwt","kid":..}`.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let ring = self.current();
        let key = ring.signing.as_ref().ok_or_else(|| AuthError::Unexpected("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| AuthError::Unexpected(e.to_string()))
    }
}

/// Every published key as a verifier's key set, read without opening any private key.
pub fn public_key_set(conn: &mut DbConnection) -> Result<KeySet, AuthError> {
    let mut jwks = JwkSet { keys: Vec::new() };
    for row in load_rows(conn)? {
        jwks.keys.push(serde_json::from_str(&row.public_jwk).map_err(|e| unexpected(&row.kid, e))?);
    }
    Ok(KeySet::from_jwk_set(&jwks))
}

/// Makes a fresh Ed25519 key, sealed with `kek`, that signs from `activates_at`. Returns its kid.
pub fn generate(
    conn: &mut DbConnection,
    kek: &Kek,
    now: OffsetDateTime,
    activates_at: OffsetDateTime,
) -> Result<String, AuthError> {
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
            signing_keys::purpose.eq(PURPOSE_ACCESS),
            signing_keys::alg.eq("EdDSA"),
            signing_keys::private_key.eq(kek.seal(&label(&kid), &der)?),
            signing_keys::public_jwk.eq(public),
            signing_keys::created_at.eq(created),
            signing_keys::activates_at.eq(to_db_time(activates_at).max(created)),
        ))
        .execute(conn)?;
    Ok(kid)
}

/// Publishes the next key; it signs from `now + ACTIVATION_DELAY`. Returns its kid and that time.
pub fn rotate(conn: &mut DbConnection, kek: &Kek, now: OffsetDateTime) -> Result<(String, OffsetDateTime), AuthError> {
    let activates_at = now + ACTIVATION_DELAY;
    Ok((generate(conn, kek, now, activates_at)?, activates_at))
}

/// Creates the first key of a new installation (signing at once), and seals any private key
/// still stored in clear by an older version.
pub fn ensure_signing_key(conn: &mut DbConnection, kek: &Kek, now: OffsetDateTime) -> Result<(), AuthError> {
    lectern_common::db::write_tx(conn, |conn| {
        for row in load_rows(conn)?.into_iter().filter(|r| !seal::is_sealed(&r.private_key)) {
            let der = STANDARD.decode(&row.private_key).map_err(|e| unexpected(&row.kid, e))?;
            diesel::update(signing_keys::table.find(&row.kid))
                .set(signing_keys::private_key.eq(kek.seal(&row.label(), &der)?))
                .execute(conn)?;
            tracing::info!(kid = %row.kid, "sealed a private key stored in clear");
        }
        let count: i64 = signing_keys::table.count().get_result(conn)?;
        if count == 0 {
            let kid = generate(conn, kek, now, now)?;
            tracing::info!(kid = %kid, "created the first signing key");
        }
        Ok(())
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Published, signs from `activates_at`.
    Next { activates_at: OffsetDateTime },
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
        match self.status {
            KeyStatus::Previous { live_until } => live_until <= now,
            KeyStatus::Next { .. } => true,
            KeyStatus::Current => false,
        }
    }
}

/// Every key, oldest first. A key stopped signing when the next one activated; the tokens it
/// signed live at most `token_lifetime` (access TTL plus leeway) after that.
pub fn list(
    conn: &mut DbConnection,
    token_lifetime: time::Duration,
    now: OffsetDateTime,
) -> Result<Vec<KeyInfo>, AuthError> {
    let rows = load_rows(conn)?;
    let at = to_db_time(now);
    let current = signing_row(&rows, at).map(|r| r.kid.clone());
    let mut infos = Vec::with_capacity(rows.len());
    for row in &rows {
        let status = if row.activates_at > at {
            KeyStatus::Next { activates_at: from_db_time(row.activates_at) }
        } else if current.as_deref() == Some(row.kid.as_str()) {
            KeyStatus::Current
        } else {
            // The first key that activated after this one ended its signing.
            let ended = rows
                .iter()
                .filter(|r| r.activates_at <= at && (r.activates_at, r.created_at) > (row.activates_at, row.created_at))
                .map(|r| r.activates_at)
                .min()
                .unwrap_or(at);
            KeyStatus::Previous { live_until: from_db_time(ended) + token_lifetime }
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

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Removes a key (and its private half) once no live token can carry it. A next key that never
/// signed may be removed at once: that cancels a rotation.
pub fn retire(
    conn: &mut DbConnection,
    kid: &str,
    now: OffsetDateTime,
    token_lifetime: time::Duration,
) -> Result<Result<(), RetireError>, AuthError> {
    lectern_common::db::write_tx(conn, |conn| {
        let keys = list(conn, token_lifetime, now)?;
        let Some(info) = keys.iter().find(|k| k.kid == kid) else {
            return Ok(Err(RetireError::NotFound(kid.to_owned())));
        };
        match info.status {
            KeyStatus::Current => return Ok(Err(RetireError::Current(kid.to_owned()))),
            KeyStatus::Previous { live_until } if live_until > now => {
                return Ok(Err(RetireError::StillLive { kid: kid.to_owned(), until: rfc3339(live_until) }));
            }
            KeyStatus::Previous { .. } | KeyStatus::Next { .. } => {}
        }
        diesel::delete(signing_keys::table.find(kid)).execute(conn)?;
        Ok(Ok(()))
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ActivateError {
    #[error("no key has kid {0}")]
    NotFound(String),
    #[error("{0} already signs or has signed; rotate to publish a new key")]
    AlreadyActive(String),
}

/// What `activate` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Activated {
    /// When the key would have started signing on its own.
    pub scheduled: OffsetDateTime,
}

impl Activated {
    /// Activating before the scheduled time: a verifier of another process that fetched the JWKS
    /// before the rotation may not know the key yet, and refuses its tokens until it refetches
    /// (it does so on the first unknown `kid`, when auth-core is reachable).
    pub fn early(&self, now: OffsetDateTime) -> bool {
        now < self.scheduled
    }
}

/// Makes a next key sign from `now` instead of its scheduled time.
pub fn activate(
    conn: &mut DbConnection,
    kid: &str,
    now: OffsetDateTime,
) -> Result<Result<Activated, ActivateError>, AuthError> {
    lectern_common::db::write_tx(conn, |conn| {
        let Some(row) = signing_keys::table.find(kid).select(KeyRow::as_select()).first(conn).optional()? else {
            return Ok(Err(ActivateError::NotFound(kid.to_owned())));
        };
        let at = to_db_time(now);
        if row.activates_at <= at {
            return Ok(Err(ActivateError::AlreadyActive(kid.to_owned())));
        }
        diesel::update(signing_keys::table.find(kid)).set(signing_keys::activates_at.eq(at)).execute(conn)?;
        Ok(Ok(Activated { scheduled: from_db_time(row.activates_at) }))
    })
}
