//! The token endpoint of the LTI services (LTI Security Framework 1.0 §4.1): the client
//! credentials grant, the tool authenticating with a JWT client assertion (RFC 7523) signed with
//! its own private key. In order:
//!
//! 1. A form body (415, 413), each parameter once; `grant_type=client_credentials`;
//!    `client_assertion_type` is the JWT bearer type.
//! 2. The assertion: at most 8 KiB, three segments; header `alg` RS256 with a `kid`; `iss` names a
//!    registered tool's client id (read before the signature, to know whose keys to use).
//! 3. The signature, with the key of that `kid` in the tool's own JWKS (`tool_keys.rs`).
//! 4. `iss` and `sub` are the client id, `aud` is this endpoint's URL, `exp` is in the future (and
//!    at most [`MAX_ASSERTION_LIFETIME`] away), `iat` is not in the future, within the leeway; a
//!    `jti` is present and never seen before (kept until the assertion expires).
//! 5. The scopes: what was asked, of what a tool may have ([`GRANTABLE_SCOPES`]); none of them is
//!    `invalid_scope`.
//!
//! The access token is opaque (256 random bits); only its SHA-256 is stored, with the tool and
//! the scopes granted. Failures are RFC 6749 §5.2 JSON errors; a failed assertion is always
//! `invalid_client` (401), whatever failed, except a replayed `jti` (`invalid_grant`).

use crate::LtiState;
use crate::claims::GRANTABLE_SCOPES;
use crate::tool_keys::KeyError;
use crate::tools::{self, ToolRow};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use auth_core::oidc::token::OAuthError;
use auth_core::oidc::{random_token, token_hash};
use diesel::prelude::*;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lectern_common::db::{DbConnection, to_db_time};
use lectern_common::schema::{lti_access_tokens, lti_assertion_jtis};
use serde::Deserialize;
use time::OffsetDateTime;

/// The client assertion type of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The largest form accepted.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// The largest assertion accepted.
const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// How far in the future an assertion may expire: its `jti` is kept until then.
pub const MAX_ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(10);
/// Lifetime of an access token of the services.
pub const ACCESS_TOKEN_TTL: time::Duration = time::Duration::hours(1);
/// The least RSA modulus accepted of a tool's key (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;

fn error(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError { status, error, description: description.into() }
}

fn invalid_request(description: impl Into<String>) -> OAuthError {
    error(400, "invalid_request", description)
}

fn invalid_client(description: impl Into<String>) -> OAuthError {
    error(401, "invalid_client", description)
}

/// The reply of a successful request.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenReply {
    /// Opaque; good at the LTI services for `expires_in` seconds.
    pub access_token: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// The form of a token request.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    /// `client_credentials`.
    pub grant_type: String,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: String,
    /// A JWT signed with the tool's private key: `iss` = `sub` = client id, `aud` = this URL,
    /// `exp`, `iat`, `jti`.
    pub client_assertion: String,
    /// Space-separated LTI service scopes.
    pub scope: String,
}

/// What the request says, each parameter once, before the assertion is checked.
struct Request {
    assertion: String,
    scope: String,
}

fn read(pairs: &[(String, String)]) -> Result<Request, OAuthError> {
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(j, _)| j == k) {
            return Err(invalid_request(format!("{k} is given more than once")));
        }
    }
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    match get("grant_type") {
        None => return Err(invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(error(
                400,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; only client_credentials"),
            ));
        }
    }
    if get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(invalid_request(format!("client_assertion_type must be {JWT_BEARER}")));
    }
    let assertion = get("client_assertion").ok_or_else(|| invalid_request("client_assertion is missing"))?;
    Ok(Request { assertion: assertion.to_owned(), scope: get("scope").unwrap_or_default().to_owned() })
}

/// The claims of an assertion this endpoint reads; the rest are ignored.
#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    #[serde(default)]
    nbf: Option<i64>,
}

/// `iss` of an assertion, read without checking anything: which tool's keys to check it with.
fn claimed_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// The tool's key may verify RS256: an RSA key, for signing, of RS256 if it says, 2048 bits or more.
fn usable_rsa_key(jwk: &Jwk) -> Result<DecodingKey, String> {
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else { return Err("the key is not an RSA key".into()) };
    if let Some(alg) = jwk.common.key_algorithm
        && alg.to_string() != "RS256"
    {
        return Err(format!("the key is for {alg}, not RS256"));
    }
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature) {
        return Err("the key is not a signing key".into());
    }
    let n = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &rsa.n)
        .map_err(|_| "the key's modulus is not base64url".to_owned())?;
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(format!("the key has {bits} bits; at least {MIN_RSA_BITS} are required"));
    }
    DecodingKey::from_jwk(jwk).map_err(|e| format!("the key cannot be used: {e}"))
}

/// Checks an assertion from `tool` (steps 3 and 4), against `key` and the clock.
fn verify(
    assertion: &str,
    tool: &ToolRow,
    key: &DecodingKey,
    audience: &str,
    now: OffsetDateTime,
    leeway: i64,
) -> Result<AssertionClaims, OAuthError> {
    let mut validation = Validation::new(Algorithm::RS256);
    // Times are checked below against the injected clock, not jsonwebtoken's system clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_audience(&[audience]);
    validation.set_issuer(&[tool.client_id.as_str()]);
    validation.sub = Some(tool.client_id.clone());
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud", "jti"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, key, &validation)
        .map_err(|e| invalid_client(format!("the client assertion failed verification ({e})")))?
        .claims;
    debug_assert!(claims.iss == tool.client_id && claims.sub == tool.client_id);
    let now = now.unix_timestamp();
    if claims.exp + leeway <= now {
        return Err(invalid_client("the client assertion has expired"));
    }
    if claims.exp > now + MAX_ASSERTION_LIFETIME.whole_seconds() + leeway {
        return Err(invalid_client("the client assertion expires too far in the future (at most 10 minutes)"));
    }
    if claims.iat > now + leeway || claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(invalid_client("the client assertion is not valid yet"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid_client("the client assertion's jti must be 1 to 256 characters"));
    }
    Ok(claims)
}

/// The scopes granted: what was asked of [`GRANTABLE_SCOPES`], in their order.
pub fn grant(requested: &str) -> Option<String> {
    let asked: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    let granted: Vec<&str> = GRANTABLE_SCOPES.iter().copied().filter(|s| asked.contains(s)).collect();
    (!granted.is_empty()).then(|| granted.join(" "))
}

/// Spends the `jti` and stores a new token, in one transaction; `None` when the `jti` was used.
fn issue(
    conn: &mut DbConnection,
    tool: &ToolRow,
    claims: &AssertionClaims,
    scope: &str,
    now: OffsetDateTime,
    leeway: i64,
) -> Result<Option<String>, crate::LtiError> {
    let at = to_db_time(now);
    lectern_common::db::write_tx(conn, |conn| {
        diesel::delete(lti_assertion_jtis::table.filter(lti_assertion_jtis::expires_at.lt(at))).execute(conn)?;
        diesel::delete(lti_access_tokens::table.filter(lti_access_tokens::expires_at.lt(at))).execute(conn)?;
        let kept_until = OffsetDateTime::from_unix_timestamp(claims.exp + leeway).unwrap_or(now);
        // In a savepoint: a second request with the same jti fails its insert on the primary
        // key (however close together they come), and only that insert is undone.
        let spent = conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::insert_into(lti_assertion_jtis::table)
                .values((
                    lti_assertion_jtis::tool_id.eq(tool.id),
                    lti_assertion_jtis::jti_hash.eq(token_hash(&claims.jti)),
                    lti_assertion_jtis::expires_at.eq(to_db_time(kept_until)),
                ))
                .execute(conn)
        });
        match spent {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
        let token = random_token();
        diesel::insert_into(lti_access_tokens::table)
            .values((
                lti_access_tokens::token_hash.eq(token_hash(&token)),
                lti_access_tokens::tool_id.eq(tool.id),
                lti_access_tokens::scope.eq(scope),
                lti_access_tokens::issued_at.eq(at),
                lti_access_tokens::expires_at.eq(to_db_time(now + ACCESS_TOKEN_TTL)),
            ))
            .execute(conn)?;
        Ok(Some(token))
    })
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Exchanges a tool's client assertion for an access token of the LTI services.
#[utoipa::path(
    post,
    path = "/api/lti/token",
    operation_id = "lti_token",
    tag = "lti",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token; never cached", body = TokenReply),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`, `invalid_scope`, or `invalid_grant` (a client assertion used before)", body = auth_core::oidc::api::OAuthErrorDocument),
        (status = 401, description = "`invalid_client`: the client assertion failed (unknown tool, key not in its JWKS, signature, iss/sub, aud, exp, iat)", body = auth_core::oidc::api::OAuthErrorDocument),
        (status = 413, description = "`invalid_request`: the body is larger than 16 KiB", body = auth_core::oidc::api::OAuthErrorDocument),
        (status = 415, description = "`invalid_request`: the body is not `application/x-www-form-urlencoded`", body = auth_core::oidc::api::OAuthErrorDocument),
    )
)]
pub async fn token(req: HttpRequest, state: web::Data<LtiState>, payload: web::Payload) -> HttpResponse {
    match exchange(&req, &state, payload).await {
        Ok(reply) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(reply),
        Err(Ok(e)) => auth_core::oidc::api::oauth_error_response(&e),
        Err(Err(e)) => actix_web::ResponseError::error_response(&e),
    }
}

async fn exchange(
    req: &HttpRequest,
    state: &LtiState,
    payload: web::Payload,
) -> Result<TokenReply, Result<OAuthError, crate::LtiError>> {
    if !is_form(req) {
        return Err(Ok(error(415, "invalid_request", "the body must be application/x-www-form-urlencoded")));
    }
    let body = match payload.to_bytes_limited(MAX_FORM_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(Ok(invalid_request("the body could not be read"))),
        Err(_) => {
            return Err(Ok(error(StatusCode::PAYLOAD_TOO_LARGE.as_u16(), "invalid_request", "the body is too large")));
        }
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| Ok(invalid_request("the body is not a well-formed form")))?;
    let request = read(&pairs).map_err(Ok)?;
    let assertion = request.assertion.as_str();
    if assertion.len() > MAX_ASSERTION_BYTES || assertion.split('.').count() != 3 {
        return Err(Ok(invalid_client("the client assertion is not a JWS in compact form")));
    }
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| Ok(invalid_client("the client assertion's header cannot be read")))?;
    if header.alg != Algorithm::RS256 {
        return Err(Ok(invalid_client(format!("the client assertion is signed with {:?}; only RS256", header.alg))));
    }
    let kid = header.kid.ok_or_else(|| Ok(invalid_client("the client assertion's header has no kid")))?;
    let issuer = claimed_issuer(assertion).ok_or_else(|| Ok(invalid_client("the client assertion has no iss")))?;
    let lookup = issuer.clone();
    let tool = state
        .auth
        .db
        .run(move |conn| tools::find_by_client_id(conn, &lookup).map_err(crate::LtiError::from))
        .await
        .map_err(Err)?
        .ok_or_else(|| Ok(invalid_client("no tool is registered with this client id")))?;
    let jwk = match state.tool_keys.key(&tool, &kid).await {
        Ok(jwk) => jwk,
        Err(KeyError::UnknownKid) => {
            return Err(Ok(invalid_client("the client assertion's kid names no key in the tool's JWKS")));
        }
        Err(KeyError::Fetch(why)) => {
            tracing::warn!(tool = %tool.id, error = %why, "fetching a tool's JWKS failed");
            return Err(Ok(invalid_client("the tool's JWKS could not be fetched")));
        }
    };
    let key = usable_rsa_key(&jwk).map_err(|why| Ok(invalid_client(format!("the tool's key {kid}: {why}"))))?;
    let now = state.auth.clock.now();
    let leeway = i64::try_from(state.auth.settings.leeway.as_secs()).unwrap_or(60);
    let claims = verify(assertion, &tool, &key, &state.endpoints.token(), now, leeway).map_err(Ok)?;
    let scope = grant(&request.scope)
        .ok_or_else(|| Ok(error(400, "invalid_scope", format!("ask for some of: {}", GRANTABLE_SCOPES.join(" ")))))?;
    let granted = scope.clone();
    let issued =
        state.auth.db.run(move |conn| issue(conn, &tool, &claims, &granted, now, leeway)).await.map_err(Err)?;
    let Some(access_token) = issued else {
        return Err(Ok(error(400, "invalid_grant", "this client assertion was used before (its jti is spent)")));
    };
    Ok(TokenReply { access_token, token_type: "Bearer", expires_in: ACCESS_TOKEN_TTL.whole_seconds(), scope })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{SCOPE_LINEITEM, SCOPE_MEMBERSHIPS, SCOPE_SCORE};

    #[test]
    fn scopes_granted_are_those_asked_that_a_tool_may_have() {
        assert_eq!(
            grant(&format!("{SCOPE_SCORE} {SCOPE_MEMBERSHIPS}")).as_deref(),
            Some(&*format!("{SCOPE_SCORE} {SCOPE_MEMBERSHIPS}"))
        );
        assert_eq!(grant(&format!("{SCOPE_LINEITEM} {SCOPE_SCORE} openid")).as_deref(), Some(SCOPE_SCORE));
        assert_eq!(grant(SCOPE_LINEITEM), None, "line items are Lectern's assignments: read-only for tools");
        assert_eq!(grant(""), None);
    }

    #[test]
    fn the_request_is_a_client_credentials_grant_with_a_jwt_assertion() {
        let pairs = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            let mut p = vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
                ("client_assertion".to_owned(), "a.b.c".to_owned()),
                ("scope".to_owned(), SCOPE_SCORE.to_owned()),
            ];
            for (k, v) in extra {
                p.retain(|(n, _)| n != k);
                p.push(((*k).to_owned(), (*v).to_owned()));
            }
            p
        };
        assert!(read(&pairs(&[])).is_ok());
        assert_eq!(
            read(&pairs(&[("grant_type", "authorization_code")])).err().map(|e| e.error),
            Some("unsupported_grant_type")
        );
        assert_eq!(read(&pairs(&[("client_assertion_type", "x")])).err().map(|e| e.error), Some("invalid_request"));
        assert_eq!(read(&pairs(&[("client_assertion", "")])).err().map(|e| e.error), Some("invalid_request"));
        let mut twice = pairs(&[]);
        twice.push(("scope".into(), "again".into()));
        assert_eq!(read(&twice).err().map(|e| e.error), Some("invalid_request"));
    }
}
