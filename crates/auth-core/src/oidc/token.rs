//! The token endpoint: an authorization code, with its client's credentials and the PKCE
//! verifier, for an ID token and an opaque access token (RFC 6749 §4.1.3, OpenID Connect Core
//! §3.1.3).
//!
//! - Clients authenticate with `client_secret_basic` or `client_secret_post` (confidential), or
//!   name themselves with `client_id` alone (`none`, public clients); one method per request.
//!   Secrets are compared as SHA-256 digests in constant time.
//! - A code is spent once. Presented again it is `invalid_grant`, and every token issued from it is
//!   revoked (RFC 6749 §4.1.2, RFC 9700 §4.5): whoever holds a second copy of the code, one of the
//!   two redemptions was not the application's.
//! - A code is bound to its client, redirect URI and PKCE challenge, and lives
//!   [`super::CODE_TTL`]; its session must still be live.
//! - Replies carry `Cache-Control: no-store` and `Pragma: no-cache`; errors are RFC 6749 §5.2 JSON.
//!
//! Not throttled per client: a secret has 256 random bits (nothing to guess) and checking one is a
//! single SHA-256, while a per-client limit would let anyone who knows a `client_id` lock the
//! application out by sending wrong secrets.

use super::store::{self, AccessTokenRow, ClientId, ClientRow, CodeRow};
use super::{ACCESS_TOKEN_TTL, ID_TOKEN_TTL, Scopes, random_token, token_hash, user_claims};
use crate::error::AuthError;
use crate::keys::{IdTokenAlg, KeyRing};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lectern_common::db::{DbConnection, to_db_time, write_tx};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// An RFC 6749 §5.2 error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into() }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    /// 401; the reply also carries `WWW-Authenticate: Basic` (HTTP requires a challenge with every
    /// 401, and Basic is how clients authenticate here).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", description)
    }
}

/// The reply of a successful exchange.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenReply {
    /// Opaque; good only at the userinfo endpoint, for [`ACCESS_TOKEN_TTL`].
    pub access_token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    pub expires_in: i64,
    /// A JWT signed with the client's algorithm (RS256 unless it registered EdDSA).
    pub id_token: String,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// How the client presented itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (client_secret_basic).
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post { client_id: String, secret: String },
    /// `client_id` alone: a public client (none).
    None { client_id: String },
}

impl ClientAuth {
    fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. } | Self::Post { client_id, .. } | Self::None { client_id } => client_id,
        }
    }
}

fn percent_decode(raw: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={raw}")).ok()?.pop().map(|(_, v)| v)
}

/// Parses `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let (scheme, value) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(format!(
            "{scheme} credentials are not client authentication; use Basic or client_secret_post"
        )));
    }
    let decoded = STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok((percent_decode(id).ok_or_else(bad)?, percent_decode(secret).ok_or_else(bad)?))
}

/// A token request's parameters, each at most once.
pub struct TokenRequest {
    pub auth: ClientAuth,
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: String,
}

impl TokenRequest {
    /// Reads a form body and the `Authorization` header, in the order RFC 6749 asks: the shape of
    /// the request, then the grant type, then the client's credentials.
    pub fn read(pairs: &[(String, String)], authorization: Option<&str>) -> Result<Self, OAuthError> {
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in pairs {
            if seen.contains(&k.as_str()) {
                return Err(OAuthError::invalid_request(format!("{k} is given more than once")));
            }
            seen.push(k);
        }
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
        match get("grant_type") {
            None => return Err(OAuthError::invalid_request("grant_type is missing")),
            Some("authorization_code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    400,
                    "unsupported_grant_type",
                    format!("grant_type {other:?} is not supported; only authorization_code"),
                ));
            }
        }
        let auth = match (authorization, get("client_secret")) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request("use one client authentication method, not two"));
            }
            (Some(header), None) => {
                let (client_id, secret) = parse_basic(header)?;
                if get("client_id").is_some_and(|id| id != client_id) {
                    return Err(OAuthError::invalid_request("client_id differs from the Basic credentials"));
                }
                ClientAuth::Basic { client_id, secret }
            }
            (None, Some(secret)) => {
                let client_id = get("client_id").ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
                ClientAuth::Post { client_id: client_id.to_owned(), secret: secret.to_owned() }
            }
            (None, None) => match get("client_id") {
                Some(client_id) => ClientAuth::None { client_id: client_id.to_owned() },
                None => return Err(OAuthError::invalid_client("no client authentication")),
            },
        };
        let required = |name: &str| {
            get(name).map(str::to_owned).ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
        };
        Ok(Self {
            auth,
            code: required("code")?,
            redirect_uri: required("redirect_uri")?,
            code_verifier: required("code_verifier")?,
        })
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn well_formed_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Checks the client's credentials against its registration.
fn authenticate(client: &ClientRow, auth: &ClientAuth) -> Result<(), OAuthError> {
    let refused = || OAuthError::invalid_client("client authentication failed");
    match (auth, &client.secret_hash) {
        (ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. }, Some(stored)) => {
            let presented = URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()));
            if bool::from(presented.as_bytes().ct_eq(stored.as_bytes())) { Ok(()) } else { Err(refused()) }
        }
        (ClientAuth::None { .. }, None) => Ok(()),
        // A confidential client must prove itself; a public one has no secret to present.
        (ClientAuth::None { .. }, Some(_)) | (_, None) => Err(refused()),
    }
}

enum Exchange {
    Issued(Box<TokenReply>),
    Refused(OAuthError),
}

/// Settings the exchange needs.
pub struct Context<'a> {
    pub keys: &'a KeyRing,
    /// The OpenID Connect issuer.
    pub issuer: &'a str,
    pub now: OffsetDateTime,
}

/// Exchanges a code, all in one transaction: the client, the code and its bindings, spending it,
/// the access token and the signed ID token. A reuse commits the revocation it causes.
pub fn exchange(
    conn: &mut DbConnection,
    request: &TokenRequest,
    cx: &Context<'_>,
) -> Result<Result<TokenReply, OAuthError>, AuthError> {
    let now = to_db_time(cx.now);
    let Ok(client_id) = ClientId::from_str(request.auth.client_id()) else {
        return Ok(Err(OAuthError::invalid_client("client authentication failed")));
    };
    let outcome = write_tx(conn, |conn| -> Result<Exchange, AuthError> {
        store::sweep(conn, now)?;
        let Some(client) = store::find_client(conn, client_id)? else {
            return Ok(Exchange::Refused(OAuthError::invalid_client("client authentication failed")));
        };
        if let Err(refusal) = authenticate(&client, &request.auth) {
            return Ok(Exchange::Refused(refusal));
        }
        if !super::well_formed_token(&request.code) {
            return Ok(Exchange::Refused(OAuthError::invalid_grant("unknown, expired or used code")));
        }
        let code_hash = token_hash(&request.code);
        let Some(code) = store::find_code(conn, &code_hash)? else {
            return Ok(Exchange::Refused(OAuthError::invalid_grant("unknown, expired or used code")));
        };
        if code.client_id != client.id {
            return Ok(Exchange::Refused(OAuthError::invalid_grant("the code was issued to another client")));
        }
        if code.spent_at.is_some() {
            let revoked = store::revoke_tokens_of_code(conn, &code_hash, now)?;
            tracing::warn!(client = %client.id, revoked, "authorization code reused; its tokens are revoked");
            return Ok(Exchange::Refused(OAuthError::invalid_grant(
                "the code was already used; what it issued is revoked",
            )));
        }
        if code.expires_at <= now {
            return Ok(Exchange::Refused(OAuthError::invalid_grant("the code has expired")));
        }
        if code.redirect_uri != request.redirect_uri {
            return Ok(Exchange::Refused(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            )));
        }
        if !well_formed_verifier(&request.code_verifier) {
            return Ok(Exchange::Refused(OAuthError::invalid_request(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            )));
        }
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(request.code_verifier.as_bytes()));
        if !bool::from(challenge.as_bytes().ct_eq(code.code_challenge.as_bytes())) {
            return Ok(Exchange::Refused(OAuthError::invalid_grant("code_verifier does not match the code_challenge")));
        }
        match store::session_of(conn, code.session_id, code.user_id)? {
            Some((_, None)) => {}
            _ => return Ok(Exchange::Refused(OAuthError::invalid_grant("the person signed out since"))),
        }
        let Some(user) = crate::store::find_user(conn, code.user_id)? else {
            return Ok(Exchange::Refused(OAuthError::invalid_grant("the account no longer exists")));
        };
        if !store::spend_code(conn, &code_hash, now)? {
            // Spent by a concurrent request between our read and our update: a reuse all the same.
            store::revoke_tokens_of_code(conn, &code_hash, now)?;
            return Ok(Exchange::Refused(OAuthError::invalid_grant(
                "the code was already used; what it issued is revoked",
            )));
        }
        let reply = issue(conn, &client, &code, &user, cx)?;
        Ok(Exchange::Issued(Box::new(reply)))
    })?;
    Ok(match outcome {
        Exchange::Issued(reply) => Ok(*reply),
        Exchange::Refused(refusal) => Err(refusal),
    })
}

/// Stores the access token and signs the ID token (inside the exchange's transaction: a signing
/// failure leaves the code unspent).
fn issue(
    conn: &mut DbConnection,
    client: &ClientRow,
    code: &CodeRow,
    user: &crate::store::UserRow,
    cx: &Context<'_>,
) -> Result<TokenReply, AuthError> {
    let access_token = random_token();
    store::insert_access_token(
        conn,
        &AccessTokenRow {
            token_hash: token_hash(&access_token),
            code_hash: code.code_hash.clone(),
            client_id: client.id,
            user_id: user.id,
            session_id: code.session_id,
            scope: code.scope.clone(),
            issued_at: to_db_time(cx.now),
            expires_at: to_db_time(cx.now + ACCESS_TOKEN_TTL),
            revoked_at: None,
        },
    )?;
    let scopes = Scopes::parse(&code.scope);
    let iat = cx.now.unix_timestamp();
    let mut claims = user_claims(user, &scopes, cx.issuer);
    claims.insert("iss".into(), cx.issuer.into());
    claims.insert("aud".into(), client.id.to_string().into());
    claims.insert("iat".into(), iat.into());
    claims.insert("exp".into(), (cx.now + ID_TOKEN_TTL).unix_timestamp().into());
    claims.insert("auth_time".into(), code.auth_time.assume_utc().unix_timestamp().into());
    if let Some(nonce) = &code.nonce {
        claims.insert("nonce".into(), nonce.clone().into());
    }
    let alg = IdTokenAlg::parse(&client.id_token_alg).ok_or_else(|| {
        AuthError::Unexpected(format!("client {} has id_token_alg {:?}", client.id, client.id_token_alg))
    })?;
    let id_token = cx.keys.sign_id_token(alg, &claims)?;
    Ok(TokenReply {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL.whole_seconds(),
        id_token,
        scope: code.scope.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(raw).unwrap_or_default()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%3Aclient:s%2Bcret"));
        assert_eq!(parse_basic(&header), Ok(("my:client".into(), "s+cret".into())));
        assert_eq!(parse_basic("Bearer eyJ.a.b").map_err(|e| e.error), Err("invalid_client"));
        assert_eq!(parse_basic("Basic !!!").map_err(|e| e.error), Err("invalid_client"));
    }

    #[test]
    fn requests_are_read_in_order() {
        let read =
            |raw: &str, auth: Option<&str>| TokenRequest::read(&pairs(raw), auth).map(|_| ()).map_err(|e| e.error);
        let full = "grant_type=authorization_code&code=c&redirect_uri=r&code_verifier=v&client_id=x";
        assert_eq!(read(full, None), Ok(()));
        assert_eq!(read("code=c", None), Err("invalid_request"));
        assert_eq!(read("grant_type=refresh_token&refresh_token=x", None), Err("unsupported_grant_type"));
        assert_eq!(read(&format!("{full}&code=d"), None), Err("invalid_request"));
        assert_eq!(
            read("grant_type=authorization_code&code=c&redirect_uri=r&code_verifier=v", None),
            Err("invalid_client")
        );
        let basic = format!("Basic {}", STANDARD.encode("x:s"));
        assert_eq!(read(&format!("{full}&client_secret=s"), Some(&basic)), Err("invalid_request"), "two methods");
        assert_eq!(read("grant_type=authorization_code&client_id=x&code=c", None), Err("invalid_request"));
    }

    #[test]
    fn verifiers_have_the_rfc_7636_shape() {
        assert!(well_formed_verifier(&"a".repeat(43)));
        assert!(well_formed_verifier(&"A-._~".repeat(20)));
        assert!(!well_formed_verifier(&"a".repeat(42)));
        assert!(!well_formed_verifier(&"a".repeat(129)));
        assert!(!well_formed_verifier(&format!("{}+", "a".repeat(43))));
    }
}
