//! The key ring: signing keys kept in the database, each named by its RFC 7638 thumbprint, their
//! private halves sealed with the key-encryption key ([`crate::seal`]).
//!
//! Each key has a *slot*, a purpose and an algorithm, and each slot signs with its own key:
//! access tokens (EdDSA), and OpenID Connect ID tokens in RS256 (what every provider must offer)
//! and EdDSA (for clients registered for it). Keys of every slot are published in one JWKS; an ID
//! token is still never an access token (its `typ`, `iss` and `aud` differ, and the verifiers of
//! this process are given only access keys).
//!
//! A key is published in the JWKS from the moment it exists and signs from its `activates_at`.
//! `lectern keys rotate` creates the *next* key, which starts signing [`ACTIVATION_DELAY`] later:
//! longer than any verifier keeps a fetched JWKS (at most 5 minutes), so every process of the
//! split shape knows the key before a token carries it, and a rotation never needs auth-core to
//! be reachable at that moment. `lectern keys activate KID` starts it earlier (with a warning).
//! Every key whose tokens may still be live stays in the JWKS until `lectern keys retire`.
//!
//! Rotation, activation and retirement work the same in every slot; `rotate` rotates them all.
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
/// OpenID Connect ID tokens.
pub const PURPOSE_ID_TOKEN: &str = "id_token";

/// The media type of ID tokens (OpenID Connect Core §2 leaves it to the JWS default, `JWT`).
pub const ID_TOKEN_TYPE: &str = "JWT";

/// RSA modulus size of RS256 ID-token keys (RFC 7518 §3.3 asks for at least 2048 bits).
pub const RSA_BITS: usize = 2048;

/// The algorithms an ID token may be signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdTokenAlg {
    Rs256,
    EdDsa,
}

impl IdTokenAlg {
    pub const ALL: [IdTokenAlg; 2] = [IdTokenAlg::Rs256, IdTokenAlg::EdDsa];

    /// The JOSE name: `RS256` or `EdDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// A purpose and an algorithm: each slot has its own current key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    pub purpose: &'static str,
    pub alg: &'static str,
}

/// Access tokens.
pub const ACCESS_SLOT: Slot = Slot { purpose: PURPOSE_ACCESS, alg: "EdDSA" };

/// Every slot, in the order a fresh installation creates them.
pub const SLOTS: [Slot; 3] =
    [ACCESS_SLOT, Slot { purpose: PURPOSE_ID_TOKEN, alg: "RS256" }, Slot { purpose: PURPOSE_ID_TOKEN, alg: "EdDSA" }];

fn id_token_slot(alg: IdTokenAlg) -> Slot {
    Slot { purpose: PURPOSE_ID_TOKEN, alg: alg.as_str() }
}

/// How long a token of each purpose may live after it was signed, leeway included: a key that
/// stopped signing may be retired only after that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub access: time::Duration,
    pub id_token: time::Duration,
}

impl Lifetimes {
    fn of(&self, purpose: &str) -> time::Duration {
        if purpose == PURPOSE_ID_TOKEN { self.id_token } else { self.access }
    }
}

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

    fn is_in(&self, slot: Slot) -> bool {
        self.purpose == slot.purpose && self.alg == slot.alg
    }
}

fn label(kid: &str) -> String {
    format!("signing-key:{kid}")
}

pub struct SigningKey {
    pub kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
}

#[derive(Default)]
struct Ring {
    /// The key each slot signs with now.
    signing: std::collections::BTreeMap<Slot, Arc<SigningKey>>,
    /// Every published key, as `/.well-known/jwks.json` serves it.
    jwks: JwkSet,
    /// The access keys only: what this process's access-token verifiers are given.
    access_jwks: JwkSet,
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

/// The key of `slot` that signs at `now`: the one activated last, among those already active.
fn signing_row(rows: &[KeyRow], slot: Slot, now: time::PrimitiveDateTime) -> Option<&KeyRow> {
    rows.iter().filter(|r| r.is_in(slot) && r.activates_at <= now).max_by_key(|r| (r.activates_at, r.created_at))
}

/// Which key signs in each slot at `now`.
fn signers(rows: &[KeyRow], now: time::PrimitiveDateTime) -> Vec<(Slot, &str)> {
    SLOTS.iter().filter_map(|&slot| signing_row(rows, slot, now).map(|r| (slot, r.kid.as_str()))).collect()
}

fn unexpected(kid: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Unexpected(format!("key {kid}: {e}"))
}

fn build(rows: &[KeyRow], kek: &Kek, now: time::PrimitiveDateTime) -> Result<Ring, AuthError> {
    let mut jwks = JwkSet { keys: Vec::with_capacity(rows.len()) };
    let mut access_jwks = JwkSet { keys: Vec::new() };
    for row in rows {
        let jwk: Jwk = serde_json::from_str(&row.public_jwk).map_err(|e| unexpected(&row.kid, e))?;
        if row.is_in(ACCESS_SLOT) {
            access_jwks.keys.push(jwk.clone());
        }
        jwks.keys.push(jwk);
    }
    let mut signing = std::collections::BTreeMap::new();
    for slot in SLOTS {
        let Some(row) = signing_row(rows, slot, now) else { continue };
        let der = kek.open(&row.label(), &row.private_key)?;
        let (alg, encoding) = match row.alg.as_str() {
            "EdDSA" => (Algorithm::EdDSA, EncodingKey::from_ed_der(&der)),
            "RS256" => (Algorithm::RS256, EncodingKey::from_rsa_der(&der)),
            other => return Err(unexpected(&row.kid, format!("unsupported alg {other}"))),
        };
        signing.insert(slot, Arc::new(SigningKey { kid: row.kid.clone(), alg, encoding }));
    }
    let fingerprint = rows.iter().map(|r| (r.kid.clone(), r.created_at, r.activates_at)).collect();
    Ok(Ring { signing, jwks, access_jwks, fingerprint })
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
            // The ring's map is in slot order; compare with the signers in that order too (SLOTS
            // lists them in creation order), or every reload would see a change.
            let loaded: Vec<(Slot, &str)> = ring.signing.iter().map(|(slot, k)| (*slot, k.kid.as_str())).collect();
            let mut expected = signers(&rows, now);
            expected.sort_unstable();
            same_rows && loaded == expected
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

    /// The access keys as a verifier's key set. Keys of other purposes are left out: no access
    /// verifier of this process has any use for them.
    pub fn key_set(&self) -> KeySet {
        KeySet::from_jwk_set(&self.current().access_jwks)
    }

    /// The kid that signs access tokens now.
    pub fn signing_kid(&self) -> Option<String> {
        self.current().signing.get(&ACCESS_SLOT).map(|k| k.kid.clone())
    }

    fn sign_with(&self, slot: Slot, typ: &str, claims: &impl serde::Serialize) -> Result<String, AuthError> {
        let ring = self.current();
        let key = ring
            .signing
            .get(&slot)
            .ok_or_else(|| AuthError::Unexpected(format!("no {} {} signing key", slot.purpose, slot.alg)))?;
        let mut header = Header::new(key.alg);
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| AuthError::Unexpected(e.to_string()))
    }

    /// Signs access-token claims with the current key: `{"alg":"EdDSA","typ":"at+jwt","kid":..}`.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        self.sign_with(ACCESS_SLOT, ACCESS_TOKEN_TYPE, claims)
    }

    /// Signs ID-token claims with the current ID-token key of `alg`: `{"alg":..,"typ":"JWT","kid":..}`.
    pub fn sign_id_token(&self, alg: IdTokenAlg, claims: &impl serde::Serialize) -> Result<String, AuthError> {
        self.sign_with(id_token_slot(alg), ID_TOKEN_TYPE, claims)
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

/// A fresh private key for `slot`: (PKCS#8 DER for Ed25519 or PKCS#1 DER for RSA, its public JWK
/// with `kid`, `alg` and `use`). RSA generation takes a while (see `docs/security.md`): call it
/// outside any transaction when you can ([`PreparedKey`]).
fn new_key(slot: Slot) -> Result<(Vec<u8>, Jwk), AuthError> {
    let fail = |e: &dyn std::fmt::Display| AuthError::Unexpected(format!("generating a {} key: {e}", slot.alg));
    let (der, alg, key_alg) = match slot.alg {
        "EdDSA" => {
            let seed: [u8; 32] = rand::random();
            ([&ED25519_PKCS8_PREFIX[..], &seed[..]].concat(), Algorithm::EdDSA, KeyAlgorithm::EdDSA)
        }
        "RS256" => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::PrivateKey::new(&mut rand::rng(), RSA_BITS).map_err(|e| fail(&e))?;
            let der = key.to_pkcs1_der().map_err(|e| fail(&e))?;
            (der.as_bytes().to_vec(), Algorithm::RS256, KeyAlgorithm::RS256)
        }
        other => return Err(fail(&format!("unsupported alg {other}"))),
    };
    let encoding = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
        _ => EncodingKey::from_ed_der(&der),
    };
    let mut jwk = Jwk::from_encoding_key(&encoding, alg).map_err(|e| fail(&e))?;
    let kid = match alg {
        Algorithm::RS256 => jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).map_err(|e| fail(&e))?,
        _ => jwk_thumbprint(&jwk).map_err(|e| fail(&e))?,
    };
    jwk.common.key_id = Some(kid);
    jwk.common.key_algorithm = Some(key_alg);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok((der, jwk))
}

/// A key generated ahead of the transaction that stores it (an RSA key takes far longer to make
/// than any query; generating it inside a transaction would hold a write lock meanwhile).
pub struct PreparedKey {
    slot: Slot,
    der: Vec<u8>,
    jwk: Jwk,
}

impl PreparedKey {
    pub fn new(slot: Slot) -> Result<Self, AuthError> {
        let (der, jwk) = new_key(slot)?;
        Ok(Self { slot, der, jwk })
    }

    /// A fresh key for every slot (what `rotate` stores).
    pub fn all() -> Result<Vec<Self>, AuthError> {
        SLOTS.into_iter().map(Self::new).collect()
    }

    pub fn slot(&self) -> Slot {
        self.slot
    }
}

/// Makes a fresh key for `slot`, sealed with `kek`, that signs from `activates_at`. Returns its kid.
pub fn generate(
    conn: &mut DbConnection,
    kek: &Kek,
    slot: Slot,
    now: OffsetDateTime,
    activates_at: OffsetDateTime,
) -> Result<String, AuthError> {
    store(conn, kek, PreparedKey::new(slot)?, now, activates_at)
}

/// Stores a prepared key, sealed with `kek`, that signs from `activates_at`. Returns its kid.
pub fn store(
    conn: &mut DbConnection,
    kek: &Kek,
    key: PreparedKey,
    now: OffsetDateTime,
    activates_at: OffsetDateTime,
) -> Result<String, AuthError> {
    let PreparedKey { slot, der, jwk } = key;
    let kid = jwk.common.key_id.clone().ok_or_else(|| AuthError::Unexpected("a prepared key has no kid".into()))?;
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
            signing_keys::purpose.eq(slot.purpose),
            signing_keys::alg.eq(slot.alg),
            signing_keys::private_key.eq(kek.seal(&label(&kid), &der)?),
            signing_keys::public_jwk.eq(public),
            signing_keys::created_at.eq(created),
            // Not `created`, which may be a microsecond later: the first keys of a fresh
            // installation (one per slot, made in one instant) all sign from that instant.
            signing_keys::activates_at.eq(to_db_time(activates_at)),
        ))
        .execute(conn)?;
    Ok(kid)
}

/// What `rotate` published.
#[derive(Clone, Debug)]
pub struct Rotated {
    /// The next key of each slot.
    pub keys: Vec<(Slot, String)>,
    /// When they start signing.
    pub activates_at: OffsetDateTime,
}

impl Rotated {
    /// The next access key's kid.
    pub fn access_kid(&self) -> Option<&str> {
        self.keys.iter().find(|(s, _)| *s == ACCESS_SLOT).map(|(_, k)| k.as_str())
    }
}

/// Publishes the next key of every slot; they sign from `now + ACTIVATION_DELAY`. Takes keys made
/// beforehand ([`PreparedKey::all`]), so the transaction it runs in is short.
pub fn rotate_prepared(
    conn: &mut DbConnection,
    kek: &Kek,
    prepared: Vec<PreparedKey>,
    now: OffsetDateTime,
) -> Result<Rotated, AuthError> {
    let activates_at = now + ACTIVATION_DELAY;
    let mut keys = Vec::with_capacity(prepared.len());
    for key in prepared {
        let slot = key.slot;
        keys.push((slot, store(conn, kek, key, now, activates_at)?));
    }
    Ok(Rotated { keys, activates_at })
}

/// Publishes the next key of every slot (generating them first); see [`rotate_prepared`].
pub fn rotate(conn: &mut DbConnection, kek: &Kek, now: OffsetDateTime) -> Result<Rotated, AuthError> {
    rotate_prepared(conn, kek, PreparedKey::all()?, now)
}

/// Slots without any key yet (a new installation, or one from before ID tokens).
pub fn missing_slots(conn: &mut DbConnection) -> Result<Vec<Slot>, AuthError> {
    let present: Vec<(String, String)> =
        signing_keys::table.select((signing_keys::purpose, signing_keys::alg)).distinct().load(conn)?;
    Ok(SLOTS.into_iter().filter(|s| !present.iter().any(|(p, a)| p == s.purpose && a == s.alg)).collect())
}

/// Creates the first key of every slot that has none (signing at once), and seals any private
/// key still stored in clear by an older version. Keys are generated before the transaction
/// (an RSA key takes a moment); a slot that another process filled meanwhile keeps its key.
pub fn ensure_signing_key(conn: &mut DbConnection, kek: &Kek, now: OffsetDateTime) -> Result<(), AuthError> {
    let prepared: Vec<PreparedKey> =
        missing_slots(conn)?.into_iter().map(PreparedKey::new).collect::<Result<_, _>>()?;
    lectern_common::db::write_tx(conn, |conn| {
        for row in load_rows(conn)?.into_iter().filter(|r| !seal::is_sealed(&r.private_key)) {
            let der = STANDARD.decode(&row.private_key).map_err(|e| unexpected(&row.kid, e))?;
            diesel::update(signing_keys::table.find(&row.kid))
                .set(signing_keys::private_key.eq(kek.seal(&row.label(), &der)?))
                .execute(conn)?;
            tracing::info!(kid = %row.kid, "sealed a private key stored in clear");
        }
        let still_missing = missing_slots(conn)?;
        for key in prepared.into_iter().filter(|k| still_missing.contains(&k.slot)) {
            let slot = key.slot;
            let kid = store(conn, kek, key, now, now)?;
            tracing::info!(kid = %kid, purpose = slot.purpose, alg = slot.alg, "created the first signing key of its kind");
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
    /// `access` or `id_token`.
    pub purpose: String,
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

/// Every key, oldest first. A key stopped signing when the next one of its slot activated; the
/// tokens it signed live at most their purpose's lifetime (TTL plus leeway) after that.
pub fn list(conn: &mut DbConnection, lifetimes: Lifetimes, now: OffsetDateTime) -> Result<Vec<KeyInfo>, AuthError> {
    let rows = load_rows(conn)?;
    let at = to_db_time(now);
    let current = signers(&rows, at);
    let mut infos = Vec::with_capacity(rows.len());
    for row in &rows {
        let status = if row.activates_at > at {
            KeyStatus::Next { activates_at: from_db_time(row.activates_at) }
        } else if current.iter().any(|(_, kid)| *kid == row.kid) {
            KeyStatus::Current
        } else {
            // The first key of the same slot that activated after this one ended its signing.
            let ended = rows
                .iter()
                .filter(|r| r.purpose == row.purpose && r.alg == row.alg)
                .filter(|r| r.activates_at <= at && (r.activates_at, r.created_at) > (row.activates_at, row.created_at))
                .map(|r| r.activates_at)
                .min()
                .unwrap_or(at);
            KeyStatus::Previous { live_until: from_db_time(ended) + lifetimes.of(&row.purpose) }
        };
        infos.push(KeyInfo {
            kid: row.kid.clone(),
            purpose: row.purpose.clone(),
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
    lifetimes: Lifetimes,
) -> Result<Result<(), RetireError>, AuthError> {
    lectern_common::db::write_tx(conn, |conn| {
        let keys = list(conn, lifetimes, now)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::jwk::AlgorithmParameters;
    use sha2::Digest;

    #[test]
    fn each_slot_makes_a_published_key_of_its_own_algorithm() {
        for slot in SLOTS {
            let key = PreparedKey::new(slot).unwrap();
            let jwk = &key.jwk;
            assert_eq!(jwk.common.public_key_use, Some(PublicKeyUse::Signature));
            assert_eq!(jwk.common.key_algorithm.map(|a| a.to_string()).as_deref(), Some(slot.alg));
            let kid = jwk.common.key_id.clone().unwrap();
            let (encoding, alg) = match slot.alg {
                "RS256" => {
                    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else { unreachable!("{slot:?}") };
                    assert_eq!(URL_SAFE_NO_PAD.decode(&rsa.n).unwrap().len() * 8, RSA_BITS);
                    assert_eq!(rsa.e, "AQAB");
                    // RFC 7638 thumbprint of an RSA key: the required members e, kty, n in order.
                    let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, rsa.e, rsa.n);
                    assert_eq!(kid, URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes())));
                    (EncodingKey::from_rsa_der(&key.der), Algorithm::RS256)
                }
                _ => {
                    assert_eq!(kid, jwk_thumbprint(jwk).unwrap());
                    (EncodingKey::from_ed_der(&key.der), Algorithm::EdDSA)
                }
            };
            let serialized = serde_json::to_value(jwk).unwrap();
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(serialized.get(private).is_none(), "{slot:?} publishes {private}");
            }
            // What the private half signs, the published half verifies.
            let mut header = Header::new(alg);
            header.kid = Some(kid);
            let token = jsonwebtoken::encode(&header, &serde_json::json!({"sub": "x"}), &encoding).unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            let decoding = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).is_ok(), "{slot:?}");
        }
    }

    #[test]
    fn id_token_algorithms_have_their_jose_names() {
        assert_eq!(IdTokenAlg::parse("RS256"), Some(IdTokenAlg::Rs256));
        assert_eq!(IdTokenAlg::parse("EdDSA"), Some(IdTokenAlg::EdDsa));
        for other in ["rs256", "HS256", "ES256", "none", ""] {
            assert_eq!(IdTokenAlg::parse(other), None, "{other}");
        }
    }
}
