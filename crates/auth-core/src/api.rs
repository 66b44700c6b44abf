//! The JSON API of auth-core (docs/api.md, Auth).

use crate::error::AuthError;
use crate::service::{Account, AuthState, ClientInfo, Issued};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lectern_common::AuthUser;
use lectern_common::db::rfc3339;
use lectern_common::ids::SessionId;
use lectern_common::openapi::{BearerAuth, ProblemDocument};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct SignUpBody {
    #[schema(format = Email)]
    pub email: String,
    /// At least 12 characters and not easily guessed.
    #[schema(format = Password)]
    pub password: String,
    pub display_name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
struct SessionItem {
    id: SessionId,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
    user_agent: Option<String>,
    /// The session of the token that asked.
    current: bool,
}

#[derive(Serialize, ToSchema)]
struct SessionList {
    items: Vec<SessionItem>,
}

// Schema only: the reply is jsonwebtoken's `JwkSet`.
/// An RFC 7517 key set: the public halves of every key whose tokens may still be live.
#[derive(ToSchema)]
#[schema(as = Jwks)]
pub struct JwksDocument {
    pub keys: Vec<JwkDocument>,
}

/// One public key: Ed25519 (RFC 8037: `crv`, `x`) for access tokens and EdDSA ID tokens, or RSA
/// (RFC 7518 §6.3: `n`, `e`) for RS256 ID tokens.
#[derive(ToSchema)]
#[schema(as = Jwk)]
pub struct JwkDocument {
    /// `OKP` or `RSA`.
    #[schema(example = "OKP")]
    pub kty: String,
    /// OKP keys: `Ed25519`.
    #[schema(example = "Ed25519", required = false)]
    pub crv: String,
    /// OKP keys: the public key, base64url without padding.
    #[schema(required = false)]
    pub x: String,
    /// RSA keys: the modulus, base64url without padding.
    #[schema(required = false)]
    pub n: String,
    /// RSA keys: the public exponent, base64url without padding.
    #[schema(required = false, example = "AQAB")]
    pub e: String,
    /// The key's RFC 7638 thumbprint; the `kid` in the header of the tokens it signs.
    pub kid: String,
    /// `EdDSA` or `RS256`: the one algorithm this key signs with.
    #[schema(example = "EdDSA")]
    pub alg: String,
    #[schema(rename = "use", example = "sig")]
    pub key_use: String,
}

/// auth-core's part of `GET /api/openapi.json` (see `crate::openapi()`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Lectern auth-core", description = "Sign-up, tokens, refresh rotation, sessions and the JWKS."),
    paths(signup, token, refresh, logout, me, sessions, delete_session, jwks),
    components(schemas(ProblemDocument)),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Accounts, tokens and sessions"))
)]
pub struct ApiDoc;

/// The client's address for throttling (through trusted proxies only) and its user agent.
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        address: lectern_common::net::client_address_of(req),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

/// Token replies are never cached (RFC 6749 §5.1).
fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

/// Creates a student account (teachers are made with `lectern users add`).
#[utoipa::path(
    post,
    path = "/api/auth/signup",
    tag = "auth",
    request_body = SignUpBody,
    responses(
        (status = 201, description = "The new account; its role is always `student`", body = Account),
        (status = 409, description = "The email already has an account", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A bad email, a weak password or an empty name; `errors` names the field", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ups from this address; `Retry-After` says when to try again", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn signup(
    req: HttpRequest,
    state: web::Data<AuthState>,
    body: web::Json<SignUpBody>,
) -> Result<HttpResponse, AuthError> {
    let account = state.sign_up(&body.email, &body.password, &body.display_name, &client_info(&req)).await?;
    Ok(HttpResponse::Created().json(account))
}

/// Counts a sign-in attempt by outcome in `lectern_sign_ins_total`.
pub fn record_sign_in<T>(req: &HttpRequest, outcome: &Result<T, AuthError>) {
    if let Some(metrics) = req.app_data::<web::Data<lectern_common::metrics::Metrics>>() {
        metrics.sign_in(match outcome {
            Ok(_) => "success",
            Err(AuthError::Throttled(_)) => "throttled",
            Err(_) => "failure",
        });
    }
}

/// Signs in: a token pair for an email and password.
#[utoipa::path(
    post,
    path = "/api/auth/token",
    operation_id = "sign_in",
    tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, description = "A new session's token pair", body = Issued),
        (status = 401, description = "Wrong credentials (the same reply for an unknown email)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = ProblemDocument, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn token(
    state: web::Data<AuthState>,
    req: HttpRequest,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, AuthError> {
    let outcome = state.sign_in(&body.email, &body.password, &client_info(&req)).await;
    record_sign_in(&req, &outcome);
    let issued = outcome?;
    Ok(no_store(HttpResponse::Ok()).json(issued))
}

/// Spends a refresh token for a new token pair of the same session.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = Issued),
        (status = 401, description = "Unknown, expired or spent; a spent one presented again revokes its whole session", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(state: web::Data<AuthState>, body: web::Json<RefreshBody>) -> Result<HttpResponse, AuthError> {
    let issued = state.refresh(&body.refresh_token).await?;
    Ok(no_store(HttpResponse::Ok()).json(issued))
}

/// Signs out: revokes the session of the presented token.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn logout(state: web::Data<AuthState>, user: AuthUser) -> Result<HttpResponse, AuthError> {
    state.end_session(user.id, user.session, "logout").await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    operation_id = "my_account",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Account),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn me(state: web::Data<AuthState>, user: AuthUser) -> Result<HttpResponse, AuthError> {
    // A token outlives a deleted account by at most its lifetime; answer as for any stale token.
    let account = state.account(user.id).await?.ok_or(AuthError::InvalidCredentials)?;
    Ok(no_store(HttpResponse::Ok()).json(account))
}

/// The caller's live sessions.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's sessions; `current` marks the one asking", body = SessionList),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn sessions(state: web::Data<AuthState>, user: AuthUser) -> Result<HttpResponse, AuthError> {
    let items = state
        .sessions(user.id)
        .await?
        .into_iter()
        .map(|s| SessionItem {
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            user_agent: s.user_agent,
            current: s.id == user.session,
        })
        .collect();
    Ok(no_store(HttpResponse::Ok()).json(SessionList { items }))
}

/// Ends one of the caller's sessions.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    tag = "auth",
    security(("bearer" = [])),
    params(("id" = SessionId, Path, description = "A session of the caller's")),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 401, description = "No token, or one that fails verification", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No session of the caller's has this id", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn delete_session(
    state: web::Data<AuthState>,
    user: AuthUser,
    path: web::Path<SessionId>,
) -> Result<HttpResponse, AuthError> {
    state.end_session(user.id, path.into_inner(), "signed out by its user").await?;
    Ok(HttpResponse::NoContent().finish())
}

/// RFC 7517 key set of every key whose tokens may still be live; public halves only.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    responses((status = 200, description = "The public keys that verify live tokens", body = JwksDocument))
)]
pub async fn jwks(state: web::Data<AuthState>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=60")).json(state.keys.jwks())
}
