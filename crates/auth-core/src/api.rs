//! The JSON API of auth-core (API.md, Auth).

use crate::error::AuthError;
use crate::service::{AuthState, ClientInfo};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lectern_common::AuthUser;
use lectern_common::db::rfc3339;
use lectern_common::ids::SessionId;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct SignUpBody {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(Deserialize)]
pub struct TokenBody {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Serialize)]
struct SessionItem {
    id: SessionId,
    created_at: String,
    last_used_at: String,
    user_agent: Option<String>,
    current: bool,
}

#[derive(Serialize)]
struct SessionList {
    items: Vec<SessionItem>,
}

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

pub async fn signup(state: web::Data<AuthState>, body: web::Json<SignUpBody>) -> Result<HttpResponse, AuthError> {
    let account = state.sign_up(&body.email, &body.password, &body.display_name).await?;
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

pub async fn refresh(state: web::Data<AuthState>, body: web::Json<RefreshBody>) -> Result<HttpResponse, AuthError> {
    let issued = state.refresh(&body.refresh_token).await?;
    Ok(no_store(HttpResponse::Ok()).json(issued))
}

pub async fn logout(state: web::Data<AuthState>, user: AuthUser) -> Result<HttpResponse, AuthError> {
    state.end_session(user.id, user.session, "logout").await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn me(state: web::Data<AuthState>, user: AuthUser) -> Result<HttpResponse, AuthError> {
    // A token outlives a deleted account by at most its lifetime; answer as for any stale token.
    let account = state.account(user.id).await?.ok_or(AuthError::InvalidCredentials)?;
    Ok(no_store(HttpResponse::Ok()).json(account))
}

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

pub async fn delete_session(
    state: web::Data<AuthState>,
    user: AuthUser,
    path: web::Path<SessionId>,
) -> Result<HttpResponse, AuthError> {
    state.end_session(user.id, path.into_inner(), "signed out by its user").await?;
    Ok(HttpResponse::NoContent().finish())
}

/// RFC 7517 key set of every key whose tokens may still be live; public halves only.
pub async fn jwks(state: web::Data<AuthState>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=60")).json(state.keys.jwks())
}
