//! What auth-core does, independent of JSON or HTML: sign up, sign in, refresh, sign out,
//! list and end sessions. `api.rs` and `pages.rs` are thin shells over these functions.

use crate::domain::{DisplayName, Email, Password};
use crate::error::AuthError;
use crate::keys::KeyRing;
use crate::password::PasswordHasher;
use crate::store::{self, SessionRow, UserRow};
use crate::throttle::{Throttle, sign_in_keys, sign_up_keys};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use lectern_common::cache::FreshCache;
use lectern_common::db::{Db, DbConnection, to_db_time, write_tx};
use lectern_common::ids::{SessionId, UserId};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use token_claims::{AccessClaims, Audience, Clock, RevokedSessions, Role};

/// Settings auth-core takes from the configuration.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// `iss` of access tokens (`LECTERN_ISSUER`).
    pub issuer: String,
    /// `LECTERN_PUBLIC_URL`: the OpenID Connect issuer, and what absolute URLs are built on.
    pub public_url: String,
    pub access_ttl: Duration,
    pub leeway: Duration,
    pub refresh_grace: Duration,
    pub session_idle: Duration,
    pub session_absolute: Duration,
}

impl AuthSettings {
    pub fn from_config(c: &lectern_common::Config) -> Self {
        Self {
            issuer: c.issuer.clone(),
            public_url: c.public_url.clone(),
            access_ttl: c.access_ttl,
            leeway: c.leeway,
            refresh_grace: c.refresh_grace,
            session_idle: c.session_idle,
            session_absolute: c.session_absolute,
        }
    }

    /// How long after a key stops signing its access tokens may still verify.
    pub fn token_lifetime(&self) -> time::Duration {
        dur(self.access_ttl + self.leeway)
    }

    /// How long after a key stops signing the tokens of each purpose may still be checked.
    pub fn key_lifetimes(&self) -> crate::keys::Lifetimes {
        crate::keys::Lifetimes { access: self.token_lifetime(), id_token: crate::oidc::ID_TOKEN_TTL + dur(self.leeway) }
    }
}

fn dur(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// Who is asking, for throttling and the session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub address: String,
    pub user_agent: Option<String>,
}

/// A token pair, as `/api/auth/token` and `/api/auth/refresh` return it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Issued {
    /// An EdDSA-signed JWT for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use: `POST /api/auth/refresh` spends it and returns a new one.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    #[serde(skip)]
    pub session: SessionId,
}

/// The public view of an account.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = lectern_common::openapi::RoleSchema)]
    pub role: Role,
}

/// auth-core's own secrets, kept sealed in its private tables.
pub struct AuthSecrets {
    /// Derives a spent refresh token's successor.
    pub refresh_successor: [u8; 64],
    /// Signs the CSRF tokens of auth-core's forms.
    pub csrf: lectern_common::csrf::CsrfKey,
}

pub struct AuthState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub settings: AuthSettings,
    pub keys: Arc<KeyRing>,
    pub hasher: PasswordHasher,
    pub throttle: Throttle,
    pub revoked: RevokedSessions,
    /// Derives a spent refresh token's successor, so the grace window can hand the same
    /// successor to a second tab without storing any refresh token in clear.
    successor_key: Arc<[u8; 64]>,
    /// The CSRF key of auth-core's own forms (sealed in its private tables).
    pub csrf: lectern_common::csrf::CsrfKey,
    /// Accounts recently read by `/api/auth/me`: nothing in Lectern edits an account, so a
    /// short-lived copy answers repeated calls without a database round trip.
    accounts: FreshCache<UserId, Account>,
}

/// How long `/api/auth/me` may answer from its copy of an account.
const ACCOUNT_CACHE_TTL: time::Duration = time::Duration::seconds(60);
/// How many bytes of accounts the copy holds at most (an account weighs about 250 bytes with
/// moka's bookkeeping: some 8,000 accounts).
const ACCOUNT_CACHE_BYTES: u64 = 2 << 20;

/// What one account copy holds.
fn account_weight(_: &UserId, account: &Account) -> usize {
    std::mem::size_of::<UserId>()
        + std::mem::size_of::<Account>()
        + account.email.capacity()
        + account.display_name.capacity()
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState").field("settings", &self.settings).finish_non_exhaustive()
    }
}

fn account_of(user: &UserRow) -> Result<Account, AuthError> {
    Ok(Account {
        id: user.id,
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        role: user.role.into(),
    })
}

/// SHA-256 of a refresh token: all the database ever holds of it.
pub fn refresh_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A refresh token is 256 random bits in base64url: exactly 43 characters.
fn well_formed_refresh_token(token: &str) -> bool {
    token.len() == 43 && URL_SAFE_NO_PAD.decode(token).is_ok_and(|b| b.len() == 32)
}

enum RefreshOutcome {
    Issued { session: Box<SessionRow>, user: Box<UserRow>, refresh_token: String },
    Rejected { revoked: Option<SessionId> },
}

impl AuthState {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
        keys: Arc<KeyRing>,
        hasher: PasswordHasher,
        revoked: RevokedSessions,
        secrets: AuthSecrets,
    ) -> Self {
        let throttle = Throttle::new(Arc::clone(&clock));
        Self {
            db,
            clock,
            settings,
            keys,
            hasher,
            throttle,
            revoked,
            successor_key: Arc::new(secrets.refresh_successor),
            csrf: secrets.csrf,
            accounts: FreshCache::new(ACCOUNT_CACHE_BYTES, ACCOUNT_CACHE_TTL, account_weight),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn successor_of(&self, token: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*self.successor_key).into());
        mac.update(b"refresh-successor\0");
        mac.update(token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Seconds left to a session before the idle or the absolute limit ends it.
    fn refresh_expires_in(&self, session: &SessionRow, now: OffsetDateTime) -> u64 {
        let idle_end = now + dur(self.settings.session_idle);
        let absolute_end = session.created_at.assume_utc() + dur(self.settings.session_absolute);
        let end = idle_end.min(absolute_end);
        u64::try_from((end - now).whole_seconds()).unwrap_or(0)
    }

    fn session_over(&self, session: &SessionRow, now: OffsetDateTime) -> bool {
        session.last_used_at.assume_utc() + dur(self.settings.session_idle) <= now
            || session.created_at.assume_utc() + dur(self.settings.session_absolute) <= now
    }

    fn access_token(&self, user: &UserRow, session: SessionId, now: OffsetDateTime) -> Result<String, AuthError> {
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: user.id.0,
            aud: Audience::ALL.iter().map(|a| a.as_str().to_owned()).collect(),
            iat,
            nbf: iat,
            exp: iat + i64::try_from(self.settings.access_ttl.as_secs()).unwrap_or(900),
            jti: uuid::Uuid::new_v4(),
            sid: session.0,
            role: user.role.into(),
            name: user.display_name.clone(),
        };
        self.keys.sign(&claims)
    }

    fn issued(
        &self,
        user: &UserRow,
        session: &SessionRow,
        refresh_token: String,
        now: OffsetDateTime,
    ) -> Result<Issued, AuthError> {
        Ok(Issued {
            access_token: self.access_token(user, session.id, now)?,
            token_type: "Bearer",
            expires_in: self.settings.access_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: self.refresh_expires_in(session, now),
            session: session.id,
        })
    }

    /// Creates a student account (teachers come from `lectern users add` or the seed).
    ///
    /// Every attempt from an address counts against its sign-up limit before any work is done:
    /// the strength check and the hash are bounded, and so is how fast anyone can learn from
    /// 409s which emails have accounts.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        client: &ClientInfo,
    ) -> Result<Account, AuthError> {
        self.throttle.reserve(&sign_up_keys(&client.address)).map_err(AuthError::Throttled)?.keep();
        let email = Email::parse(email)?;
        let name = DisplayName::parse(display_name)?;
        let context = vec![email.as_str().to_owned(), name.as_str().to_owned()];
        let hash = self.hasher.parse_and_hash(password.to_owned(), context).await?;
        let user = UserRow {
            id: UserId::new(),
            email: email.as_str().to_owned(),
            display_name: name.as_str().to_owned(),
            role: Role::Student.into(),
            created_at: to_db_time(self.now()),
        };
        let stored = user.clone();
        let inserted =
            self.db.run(move |conn| store::insert_user(conn, &stored, &hash).map_err(AuthError::from)).await?;
        if !inserted {
            return Err(AuthError::EmailTaken);
        }
        account_of(&user)
    }

    /// Checks the password (same reply and time for an unknown email), then opens a session.
    pub async fn sign_in(&self, email: &str, password: &str, client: &ClientInfo) -> Result<Issued, AuthError> {
        let account_key = email.trim().to_lowercase();
        // Reserved before the password is checked, so attempts in flight count too.
        let attempt =
            self.throttle.reserve(&sign_in_keys(&account_key, &client.address)).map_err(AuthError::Throttled)?;
        // Over-long input cannot be a valid password; cap it before hashing to bound the work.
        let candidate: String = password.chars().take(crate::domain::MAX_PASSWORD_CHARS + 1).collect();
        let lookup = account_key.clone();
        let found = self.db.run(move |conn| store::find_credentials(conn, &lookup).map_err(AuthError::from)).await?;
        let (user, stored_hash) = found.unzip();
        let ok = self.hasher.verify(candidate, stored_hash).await?;
        let user = match user {
            Some(user) if ok => user,
            _ => {
                attempt.keep();
                return Err(AuthError::InvalidCredentials);
            }
        };
        attempt.succeeded();
        self.open_session(user, client.user_agent.clone()).await
    }

    async fn open_session(&self, user: UserRow, user_agent: Option<String>) -> Result<Issued, AuthError> {
        let now = self.now();
        let refresh_token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let hash = refresh_token_hash(&refresh_token);
        let session_id = SessionId::new();
        let at = to_db_time(now);
        let agent = user_agent.map(|a| a.chars().take(200).collect::<String>());
        let session = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    store::insert_session(conn, session_id, user.id, at, agent.as_deref())?;
                    store::insert_refresh_token(conn, &hash, session_id, at)?;
                    Ok::<_, AuthError>(SessionRow {
                        id: session_id,
                        user_id: user.id,
                        created_at: at,
                        last_used_at: at,
                        user_agent: agent,
                        revoked_at: None,
                        revoked_reason: None,
                    })
                })
                .map(|s| (s, user))
            })
            .await?;
        self.issued(&session.1, &session.0, refresh_token, now)
    }

    /// Spends a refresh token for a new pair (docs/security.md, refresh tokens). A spent token
    /// presented again revokes its session, except within the grace window while its successor
    /// is unused: then it gets a new access token and *the same* successor.
    pub async fn refresh(&self, presented: &str) -> Result<Issued, AuthError> {
        if !well_formed_refresh_token(presented) {
            return Err(AuthError::InvalidRefreshToken);
        }
        let now = self.now();
        let hash = refresh_token_hash(presented);
        let successor = self.successor_of(presented);
        let successor_hash = refresh_token_hash(&successor);
        let grace = dur(self.settings.refresh_grace);
        let idle = dur(self.settings.session_idle);
        let absolute = dur(self.settings.session_absolute);
        let at = to_db_time(now);
        let outcome = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| -> Result<RefreshOutcome, AuthError> {
                    let Some(found) = store::find_refresh_token(conn, &hash)? else {
                        return Ok(RefreshOutcome::Rejected { revoked: None });
                    };
                    let session = found.session;
                    if session.revoked_at.is_some() {
                        return Ok(RefreshOutcome::Rejected { revoked: None });
                    }
                    let expired = session.last_used_at.assume_utc() + idle <= now
                        || session.created_at.assume_utc() + absolute <= now;
                    if expired {
                        store::revoke_session(conn, session.id, at, "expired")?;
                        return Ok(RefreshOutcome::Rejected { revoked: Some(session.id) });
                    }
                    let spent_at = match found.spent_at {
                        None if store::spend_refresh_token(conn, &hash, at)? => {
                            store::insert_refresh_token(conn, &successor_hash, session.id, at)?;
                            store::touch_session(conn, session.id, at)?;
                            return Ok(RefreshOutcome::Issued {
                                session: Box::new(session),
                                user: Box::new(found.user),
                                refresh_token: successor,
                            });
                        }
                        // Another request spent it between our read and our update.
                        None => store::refresh_token_spent_at(conn, &hash)?.flatten().unwrap_or(at),
                        Some(spent_at) => spent_at,
                    };
                    let within_grace = grace > time::Duration::ZERO && spent_at.assume_utc() + grace >= now;
                    let successor_unused = matches!(store::refresh_token_spent_at(conn, &successor_hash)?, Some(None));
                    if within_grace && successor_unused {
                        return Ok(RefreshOutcome::Issued {
                            session: Box::new(session),
                            user: Box::new(found.user),
                            refresh_token: successor,
                        });
                    }
                    store::revoke_session(conn, session.id, at, "refresh token reuse")?;
                    tracing::warn!(session.id = %session.id, "refresh token reused; session revoked");
                    Ok(RefreshOutcome::Rejected { revoked: Some(session.id) })
                })
            })
            .await?;
        match outcome {
            RefreshOutcome::Issued { session, user, refresh_token } => self.issued(&user, &session, refresh_token, now),
            RefreshOutcome::Rejected { revoked } => {
                if let Some(id) = revoked {
                    self.revoked.insert(id.0);
                }
                Err(AuthError::InvalidRefreshToken)
            }
        }
    }

    /// Revokes one of the user's sessions; `NotFound` when it is not theirs.
    pub async fn end_session(&self, user: UserId, session: SessionId, reason: &'static str) -> Result<(), AuthError> {
        let at = to_db_time(self.now());
        self.db
            .run(move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    if store::find_session_for(conn, session, user)?.is_none() {
                        return Err(AuthError::NotFound);
                    }
                    store::revoke_session(conn, session, at, reason)?;
                    Ok(())
                })
            })
            .await?;
        // This process stops accepting the session's tokens now; the others within a second.
        self.revoked.insert(session.0);
        Ok(())
    }

    /// The account of a signed-in user (served from a copy at most a minute old).
    pub async fn account(&self, user: UserId) -> Result<Option<Account>, AuthError> {
        let now = self.now();
        if let Some(account) = self.accounts.get(&user, now) {
            return Ok(Some(account));
        }
        let ticket = self.accounts.ticket();
        let row = self.db.run(move |conn| store::find_user(conn, user).map_err(AuthError::from)).await?;
        let account = row.as_ref().map(account_of).transpose()?;
        if let Some(account) = &account {
            let _ = self.accounts.insert(ticket, user, account.clone(), now);
        }
        Ok(account)
    }

    /// (idle, absolute): sessions last used or begun before these are over.
    pub fn session_cutoffs(&self) -> (time::PrimitiveDateTime, time::PrimitiveDateTime) {
        let now = self.now();
        (to_db_time(now - dur(self.settings.session_idle)), to_db_time(now - dur(self.settings.session_absolute)))
    }

    /// The user's live sessions, most recently used first.
    /// Sets the account's time zone: pages show times in it and read forms' times in it.
    pub async fn set_time_zone(&self, user: UserId, zone: lectern_common::timefmt::Zone) -> Result<(), AuthError> {
        self.db
            .run_write(user, move |conn| {
                store::set_time_zone(conn, user, zone.name()).map(drop).map_err(AuthError::from)
            })
            .await
    }

    pub async fn sessions(&self, user: UserId) -> Result<Vec<SessionRow>, AuthError> {
        let (idle_cutoff, absolute_cutoff) = self.session_cutoffs();
        self.db
            .run(move |conn| store::live_sessions(conn, user, idle_cutoff, absolute_cutoff).map_err(AuthError::from))
            .await
    }

    /// Creates an account directly (CLI, seed), with any role; `Ok(None)` when the email is taken.
    pub fn create_user_now(
        &self,
        conn: &mut DbConnection,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<Option<Account>, AuthError> {
        let email = Email::parse(email)?;
        let name = DisplayName::parse(name)?;
        let password = Password::parse(password, &[email.as_str(), name.as_str()])?;
        let user = UserRow {
            id: UserId::new(),
            email: email.as_str().to_owned(),
            display_name: name.as_str().to_owned(),
            role: role.into(),
            created_at: to_db_time(self.now()),
        };
        let hash = self.hasher.hash_now(password.expose())?;
        if store::insert_user(conn, &user, &hash)? { account_of(&user).map(Some) } else { Ok(None) }
    }

    /// Whether a session is over by the idle or absolute limit (used by the session list).
    pub fn is_session_over(&self, session: &SessionRow) -> bool {
        self.session_over(session, self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_have_one_shape() {
        let t = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        assert!(well_formed_refresh_token(&t));
        assert!(!well_formed_refresh_token(&t[1..]));
        assert!(!well_formed_refresh_token(&format!("{t}=")));
        assert!(!well_formed_refresh_token(""));
        assert_eq!(refresh_token_hash(&t).len(), 43);
        assert_ne!(refresh_token_hash(&t), t);
    }
}
