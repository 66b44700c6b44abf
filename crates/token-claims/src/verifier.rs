//! The one access-token [`Verifier`]: docs/security.md's seven rules, in order.
//!
//! Rules 1-4 (structure, header, key, signature) live in [`crate::jws`]; this module adds the
//! claims (rule 5), the role (rule 6) and revocation (rule 7), and owns the key set with its
//! rate-limited refresh for unknown `kid`s. Claims are read only after the signature verified,
//! and `jsonwebtoken::decode` is never used: it reads the system clock and is laxer than the
//! profile (see docs/security.md, "Notes on the jsonwebtoken crate").

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::CryptoProvider;
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::claims::{Audience, Role, TOKEN_TYPE, VerifiedClaims};
use crate::clock::Clock;
use crate::error::{ConfigError, VerifyError};
use crate::jws::{jose_name, verify_compact};
use crate::keys::{KeySet, KeySource};
use crate::revocation::RevocationCheck;

/// Rule 5: the largest clock-skew leeway a verifier may be configured with.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// Rule 5: the leeway [`VerifierConfig::new`] starts with.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// Rule 5: the access-token lifetime [`VerifierConfig::new`] starts with (15 minutes).
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 900;
/// Rule 3: an unknown `kid` refreshes the key set at most this often.
pub const KEY_REFRESH_INTERVAL: Duration = Duration::seconds(30);

/// What a service accepts.
#[derive(Clone, Debug)]
pub struct VerifierConfig {
    /// The only accepted `iss`.
    pub issuer: String,
    /// This service; `aud` must contain it.
    pub audience: Audience,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`, at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// The algorithm allow-list: EdDSA and/or ES256, nothing else.
    pub algorithms: Vec<Algorithm>,
    /// The longest `exp - iat` accepted: the access-token lifetime auth-core is configured with.
    pub max_lifetime_secs: u64,
}

impl VerifierConfig {
    /// EdDSA only, with [`DEFAULT_LEEWAY_SECS`] of leeway.
    pub fn new(issuer: impl Into<String>, audience: Audience) -> Self {
        Self {
            issuer: issuer.into(),
            audience,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            algorithms: vec![Algorithm::EdDSA],
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.is_empty() {
            return Err(ConfigError::EmptyIssuer);
        }
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::LeewayTooLarge(self.leeway_secs));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if let Some(alg) = self.algorithms.iter().find(|alg| jose_name(**alg).is_none()) {
            return Err(ConfigError::AlgorithmNotAllowed(*alg));
        }
        Ok(())
    }
}

/// Verifies access tokens. Build one per service at start-up and share it as `Arc<Verifier>`.
pub struct Verifier {
    config: VerifierConfig,
    /// `config.leeway_secs`, checked and converted once.
    leeway: i64,
    /// `config.max_lifetime_secs`, likewise.
    max_lifetime: i64,
    keys: RwLock<KeyGeneration>,
    clock: Arc<dyn Clock>,
    revoked: Arc<dyn RevocationCheck>,
    source: Option<Arc<dyn KeySource>>,
    /// When an unknown `kid` last triggered a fetch (by `clock`).
    last_refresh: Mutex<Option<OffsetDateTime>>,
    /// Tokens that already passed rules 1-6, by their exact bytes.
    cache: VerifiedCache,
}

/// How many bytes of verified tokens a verifier remembers: a token of about 400 bytes and its
/// claims weigh some 700 with moka's bookkeeping, so about 6,000 tokens.
pub const VERIFIED_CACHE_BYTES: u64 = 4 << 20;

/// What moka's bookkeeping costs per cached token, on top of the token and its claims (an
/// estimate: the entry's node, its place in the access order and the frequency sketch).
const ENTRY_OVERHEAD: usize = 160;

/// What one cached token holds: its bytes, its claims and moka's bookkeeping.
pub fn verified_weight(token: &str, claims: &VerifiedClaims) -> usize {
    token.len()
        + std::mem::size_of::<Box<str>>()
        + std::mem::size_of::<VerifiedClaims>()
        + claims.name.capacity()
        + ENTRY_OVERHEAD
}

/// Tokens already verified, keyed on the exact token bytes, so a repeat request skips the
/// signature check (most of the cost). An entry never outlives its token: `exp` (plus leeway)
/// is checked on every hit by the injected clock, and rule 7 (revocation) is re-checked on every
/// hit, so a revoked session is refused at once. Any change of the key set empties the cache,
/// so a retired key stops verifying immediately, and a verification that started under the old
/// key set is not stored after the change (see [`KeyGeneration`]). Bounded by moka's
/// size-aware eviction (TinyLFU) by the bytes the entries hold, not by sweeping; an entry also
/// leaves after the longest token lifetime has passed in real time. Looked up by the token as
/// borrowed from the request, with foldhash (not SipHash): keys are hashed on every request.
struct VerifiedCache {
    entries: moka::sync::Cache<Box<str>, VerifiedClaims, foldhash::fast::RandomState>,
}

impl VerifiedCache {
    fn new(max_bytes: u64, live: std::time::Duration) -> Self {
        let entries = moka::sync::Cache::<Box<str>, VerifiedClaims, _>::builder()
            .max_capacity(max_bytes)
            .weigher(|token, claims| u32::try_from(verified_weight(token, claims)).unwrap_or(u32::MAX))
            .time_to_live(live)
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self { entries }
    }

    fn get(&self, token: &str) -> Option<VerifiedClaims> {
        self.entries.get(token)
    }

    fn insert(&self, token: &str, claims: &VerifiedClaims) {
        self.entries.insert(token.into(), claims.clone());
    }

    fn remove(&self, token: &str) {
        self.entries.invalidate(token);
    }

    fn clear(&self) {
        self.entries.invalidate_all();
    }

    fn len(&self) -> usize {
        // moka applies evictions and invalidations in batches; settle them before counting.
        self.entries.run_pending_tasks();
        usize::try_from(self.entries.entry_count()).unwrap_or(usize::MAX)
    }

    fn bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }
}

/// The key set with a counter that moves on every change. A verification reads both before it
/// starts and stores its result only while the counter is unchanged, under the same lock that
/// a change takes to replace the set and empty the cache: so a token checked against a key that
/// was retired meanwhile is never cached after the retirement.
struct KeyGeneration {
    generation: u64,
    keys: Arc<KeySet>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .field("keys", &self.keys().kids().collect::<Vec<_>>())
            .field("clock", &self.clock)
            .field("key_source", &self.source.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Checks the configuration and that jsonwebtoken has exactly one crypto backend (with none
    /// or both it would panic on first use instead).
    pub fn new(
        config: VerifierConfig,
        keys: KeySet,
        clock: Arc<dyn Clock>,
        revoked: Arc<dyn RevocationCheck>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        if CryptoProvider::try_get_default().is_none() {
            return Err(ConfigError::NoCryptoBackend);
        }
        let leeway = i64::try_from(config.leeway_secs).map_err(|_| ConfigError::LeewayTooLarge(config.leeway_secs))?;
        let max_lifetime = i64::try_from(config.max_lifetime_secs).unwrap_or(i64::MAX);
        let (config_lifetime, config_leeway) = (config.max_lifetime_secs, config.leeway_secs);
        Ok(Self {
            config,
            leeway,
            max_lifetime,
            keys: RwLock::new(KeyGeneration { generation: 0, keys: Arc::new(keys) }),
            clock,
            revoked,
            source: None,
            last_refresh: Mutex::new(None),
            // A token outlives neither its lifetime nor the leeway after it.
            cache: VerifiedCache::new(
                VERIFIED_CACHE_BYTES,
                std::time::Duration::from_secs(config_lifetime.saturating_add(config_leeway)),
            ),
        })
    }

    /// Where to fetch keys when a token names an unknown `kid`.
    pub fn with_key_source(mut self, source: Arc<dyn KeySource>) -> Self {
        self.source = Some(source);
        self
    }

    /// The configuration this verifier enforces.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Runs docs/security.md's rules 1-7 in order. An unknown `kid` is
    /// [`VerifyError::UnknownKid`]; use [`verify_refreshing`](Self::verify_refreshing) to fetch
    /// keys in that case.
    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, VerifyError> {
        if let Some(claims) = self.cache.get(token) {
            return self.recheck(token, claims);
        }
        let (generation, keys) = {
            let current = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            (current.generation, Arc::clone(&current.keys))
        };
        let payload = verify_compact(token, &self.config.algorithms, Some(TOKEN_TYPE), |kid| {
            kid.and_then(|kid| keys.get(kid)).ok_or(VerifyError::UnknownKid)
        })?;
        let claims = self.check_claims(&payload)?;
        let current = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        if current.generation == generation {
            self.cache.insert(token, &claims);
        }
        Ok(claims)
    }

    /// A cached token: still unexpired, and its session still not revoked.
    fn recheck(&self, token: &str, claims: VerifiedClaims) -> Result<VerifiedClaims, VerifyError> {
        if self.clock.now().unix_timestamp() > claims.expires_at.saturating_add(self.leeway) {
            self.cache.remove(token);
            return Err(VerifyError::Expired);
        }
        if self.revoked.is_revoked(&claims.session_id) {
            return Err(VerifyError::Revoked);
        }
        Ok(claims)
    }

    /// How many verified tokens are cached (for tests and metrics).
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// How many bytes the cached tokens weigh (see [`verified_weight`]).
    pub fn cached_bytes(&self) -> u64 {
        self.cache.bytes()
    }

    /// [`verify`](Self::verify), and when the token names an unknown `kid`: fetch the key set
    /// from the source (at most once per [`KEY_REFRESH_INTERVAL`], by the injected clock, whether
    /// the fetch succeeds or not) and verify once more.
    ///
    /// The slot is taken before the fetch starts, so concurrent callers with unknown kids do not
    /// pile onto the source; they get [`VerifyError::UnknownKid`] instead of waiting for it.
    pub async fn verify_refreshing(&self, token: &str) -> Result<VerifiedClaims, VerifyError> {
        match self.verify(token) {
            Err(VerifyError::UnknownKid) => {}
            outcome => return outcome,
        }
        let Some(source) = &self.source else {
            return Err(VerifyError::UnknownKid);
        };
        if !self.take_refresh_slot() {
            return Err(VerifyError::UnknownKid);
        }
        match source.fetch().await {
            Ok(keys) => {
                for rejection in keys.rejected() {
                    tracing::warn!(%rejection, "key from the key source skipped");
                }
                if let Err(error) = self.install(keys) {
                    tracing::warn!(%error, "key-set refresh not applied");
                }
            }
            Err(error) => tracing::warn!(%error, "key-set refresh failed"),
        }
        self.verify(token)
    }

    /// Replaces the key set (periodic refresh, key rotation).
    /// Also forgets every cached verification: a key that left the set must stop verifying now.
    pub fn set_keys(&self, keys: KeySet) {
        let mut current = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        current.generation = current.generation.wrapping_add(1);
        current.keys = Arc::new(keys);
        self.cache.clear();
    }

    /// The current key set.
    pub fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner).keys)
    }

    /// Fetches the key set from the source now, whatever the rate limit (`Ok(())` without a
    /// source). A fetched set without a single usable key is refused, keeping the current one.
    pub async fn refresh_keys(&self) -> Result<(), String> {
        let Some(source) = &self.source else {
            return Ok(());
        };
        self.install(source.fetch().await?)
    }

    fn install(&self, keys: KeySet) -> Result<(), String> {
        if keys.is_empty() {
            return Err(format!("the fetched key set has no usable key ({} rejected)", keys.rejected().len()));
        }
        self.set_keys(keys);
        Ok(())
    }

    /// Whether an unknown `kid` may trigger a fetch now; if so, the slot is taken.
    fn take_refresh_slot(&self) -> bool {
        let now = self.clock.now();
        let mut last = self.last_refresh.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|last| now - last < KEY_REFRESH_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// Rules 5-7 over the verified payload.
    fn check_claims(&self, payload: &[u8]) -> Result<VerifiedClaims, VerifyError> {
        // Every claim as a raw JSON value, so that a present claim of the wrong type is a
        // precise BadClaim rather than a parse failure. Duplicate claims fail the parse.
        #[derive(Deserialize)]
        struct RawClaims {
            iss: Option<Value>,
            aud: Option<Value>,
            exp: Option<Value>,
            nbf: Option<Value>,
            iat: Option<Value>,
            sub: Option<Value>,
            sid: Option<Value>,
            jti: Option<Value>,
            role: Option<Value>,
            name: Option<Value>,
        }

        let claims: RawClaims = serde_json::from_slice(payload).map_err(|_| VerifyError::Malformed)?;

        // Rule 5.
        match claims.iss {
            None => return Err(VerifyError::MissingClaim("iss")),
            Some(Value::String(iss)) if iss == self.config.issuer => {}
            Some(Value::String(_)) => return Err(VerifyError::WrongIssuer),
            Some(_) => return Err(VerifyError::BadClaim("iss")),
        }
        check_audience(claims.aud, self.config.audience)?;
        let exp = integer(claims.exp, "exp")?;
        let nbf = integer(claims.nbf, "nbf")?;
        let iat = integer(claims.iat, "iat")?;
        let user_id = uuid(claims.sub, "sub")?;
        let session_id = uuid(claims.sid, "sid")?;
        let token_id = uuid(claims.jti, "jti")?;
        let role = claims.role.ok_or(VerifyError::MissingClaim("role"))?;
        let name = match claims.name {
            None => String::new(),
            Some(Value::String(name)) => name,
            Some(_) => return Err(VerifyError::BadClaim("name")),
        };

        let now = self.clock.now().unix_timestamp();
        if now > exp.saturating_add(self.leeway) {
            return Err(VerifyError::Expired);
        }
        let latest_acceptable = now.saturating_add(self.leeway);
        if nbf > latest_acceptable {
            return Err(VerifyError::NotYetValid);
        }
        if iat > latest_acceptable {
            return Err(VerifyError::BadClaim("iat"));
        }
        if exp.saturating_sub(iat) > self.max_lifetime {
            return Err(VerifyError::LifetimeTooLong);
        }

        // Rule 6.
        let role: Role = match role {
            Value::String(role) => role.parse().map_err(|_| VerifyError::UnknownRole)?,
            _ => return Err(VerifyError::UnknownRole),
        };

        // Rule 7.
        if self.revoked.is_revoked(&session_id) {
            return Err(VerifyError::Revoked);
        }

        Ok(VerifiedClaims { user_id, session_id, token_id, role, name, issued_at: iat, expires_at: exp })
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3) and must contain `audience`.
fn check_audience(aud: Option<Value>, audience: Audience) -> Result<(), VerifyError> {
    let wanted = audience.as_str();
    let found = match aud {
        None => return Err(VerifyError::MissingClaim("aud")),
        Some(Value::String(aud)) => aud == wanted,
        Some(Value::Array(auds)) => {
            let mut found = false;
            for aud in auds {
                match aud {
                    Value::String(aud) => found |= aud == wanted,
                    _ => return Err(VerifyError::BadClaim("aud")),
                }
            }
            found
        }
        Some(_) => return Err(VerifyError::BadClaim("aud")),
    };
    if found { Ok(()) } else { Err(VerifyError::WrongAudience) }
}

/// A required NumericDate: a JSON integer (not a string, not a fraction) that fits in `i64`.
fn integer(value: Option<Value>, claim: &'static str) -> Result<i64, VerifyError> {
    match value {
        None => Err(VerifyError::MissingClaim(claim)),
        Some(Value::Number(number)) => number.as_i64().ok_or(VerifyError::BadClaim(claim)),
        Some(_) => Err(VerifyError::BadClaim(claim)),
    }
}

/// A required UUID string.
fn uuid(value: Option<Value>, claim: &'static str) -> Result<Uuid, VerifyError> {
    match value {
        None => Err(VerifyError::MissingClaim(claim)),
        Some(Value::String(text)) => Uuid::try_parse(&text).map_err(|_| VerifyError::BadClaim(claim)),
        Some(_) => Err(VerifyError::BadClaim(claim)),
    }
}
