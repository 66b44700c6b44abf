//! The JSON endpoints of the OpenID Provider: discovery, token and userinfo.

use super::token::{Context, OAuthError, TokenReply, TokenRequest};
use super::{AUTHORIZE_PATH, JWKS_PATH, Scope, TOKEN_PATH, USERINFO_PATH, role_claim};
use crate::service::AuthState;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use lectern_common::problem::{Challenge, Problem};

/// Token and userinfo bodies are small forms; past this they are refused (413).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Discovery {
    /// `LECTERN_PUBLIC_URL`: the `iss` of ID tokens.
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub claims_supported: Vec<String>,
    pub prompt_values_supported: Vec<&'static str>,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub claims_parameter_supported: bool,
    /// RFC 9207: every authorization response names the issuer in `iss`.
    pub authorization_response_iss_parameter_supported: bool,
}

impl Discovery {
    pub fn new(issuer: &str) -> Self {
        let at = |path: &str| format!("{issuer}{path}");
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: at(AUTHORIZE_PATH),
            token_endpoint: at(TOKEN_PATH),
            userinfo_endpoint: at(USERINFO_PATH),
            jwks_uri: at(JWKS_PATH),
            scopes_supported: Scope::ALL.iter().map(|s| s.as_str()).collect(),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            grant_types_supported: vec!["authorization_code"],
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: crate::keys::IdTokenAlg::ALL.iter().map(|a| a.as_str()).collect(),
            token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "none"],
            code_challenge_methods_supported: vec!["S256"],
            claims_supported: [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "name",
                "email",
                "email_verified",
            ]
            .into_iter()
            .map(str::to_owned)
            .chain([role_claim(issuer)])
            .collect(),
            prompt_values_supported: vec!["none", "login", "consent", "select_account"],
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            claims_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
        }
    }
}

// Schema only: what `OAuthError` renders.
/// An OAuth 2.0 error (RFC 6749 §5.2), the token endpoint's error format.
#[derive(utoipa::ToSchema)]
#[schema(as = OAuthError)]
pub struct OAuthErrorDocument {
    /// `invalid_request`, `invalid_client`, `invalid_grant` or `unsupported_grant_type`.
    #[schema(example = "invalid_grant")]
    pub error: String,
    /// What went wrong, for the application's developers.
    pub error_description: String,
}

// Schema only: the form the token endpoint reads.
/// A token request (RFC 6749 §4.1.3, with RFC 7636's `code_verifier`).
#[derive(utoipa::ToSchema)]
pub struct TokenForm {
    #[schema(example = "authorization_code")]
    pub grant_type: String,
    pub code: String,
    /// Exactly the `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// The PKCE verifier whose S256 challenge the authorization request carried.
    pub code_verifier: String,
    /// Required without `Authorization: Basic`.
    #[schema(required = false)]
    pub client_id: String,
    /// `client_secret_post`; or send `Authorization: Basic`.
    #[schema(required = false)]
    pub client_secret: String,
}

// Schema only: the claims userinfo answers.
/// The claims an application may learn, by the scopes the person allowed.
#[derive(utoipa::ToSchema)]
pub struct UserInfo {
    /// The person's Lectern user id.
    pub sub: String,
    /// With scope `profile`: the display name.
    #[schema(required = false)]
    pub name: String,
    /// With scope `email`.
    #[schema(required = false)]
    pub email: String,
    /// With scope `email`: always false, as Lectern never checks that an address reaches its owner.
    #[schema(required = false)]
    pub email_verified: bool,
}

/// The OAuth error as a reply: JSON, never cached, and for 401 the Basic challenge.
pub fn oauth_error_response(e: &OAuthError) -> HttpResponse {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="lectern""#));
    }
    builder.json(serde_json::json!({"error": e.error, "error_description": e.description}))
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// A form body's pairs; `Err` says why not (too large: 413, unreadable: 400).
async fn form_pairs(payload: web::Payload) -> Result<Vec<(String, String)>, (StatusCode, &'static str)> {
    let body = match payload.to_bytes_limited(MAX_FORM_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err((StatusCode::BAD_REQUEST, "the body could not be read")),
        Err(_) => return Err((StatusCode::PAYLOAD_TOO_LARGE, "the body is too large")),
    };
    serde_urlencoded::from_bytes(&body).map_err(|_| (StatusCode::BAD_REQUEST, "the body is not a well-formed form"))
}

/// The provider's metadata (OpenID Connect Discovery 1.0).
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "openid_configuration",
    tag = "openid",
    responses((status = 200, description = "Where the endpoints are and what the provider supports", body = Discovery))
)]
pub async fn discovery(state: web::Data<AuthState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(Discovery::new(&state.settings.public_url))
}

/// Exchanges an authorization code for an ID token and an access token (for userinfo).
#[utoipa::path(
    post,
    path = "/api/auth/oauth/token",
    operation_id = "oidc_token",
    tag = "openid",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens; never cached", body = TokenReply),
        (status = 400, description = "`invalid_request`, `invalid_grant` (unknown, expired, used or mismatched code) or `unsupported_grant_type`", body = OAuthErrorDocument),
        (status = 401, description = "`invalid_client`: the client's credentials failed; `WWW-Authenticate: Basic`", body = OAuthErrorDocument),
        (status = 413, description = "`invalid_request`: the body is larger than 16 KiB", body = OAuthErrorDocument),
        (status = 415, description = "`invalid_request`: the body is not `application/x-www-form-urlencoded`", body = OAuthErrorDocument),
    )
)]
pub async fn token(req: HttpRequest, state: web::Data<AuthState>, payload: web::Payload) -> HttpResponse {
    let refuse = |e: OAuthError| oauth_error_response(&e);
    if !is_form(&req) {
        let mut e = OAuthError::invalid_request("the body must be application/x-www-form-urlencoded");
        e.status = 415;
        return refuse(e);
    }
    let pairs = match form_pairs(payload).await {
        Ok(pairs) => pairs,
        Err((status, why)) => {
            let mut e = OAuthError::invalid_request(why);
            e.status = status.as_u16();
            return refuse(e);
        }
    };
    let authorization = match req.headers().get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => Some(v.to_owned()),
        Some(Err(_)) => return refuse(OAuthError::invalid_client("malformed Authorization header")),
    };
    let request = match TokenRequest::read(&pairs, authorization.as_deref()) {
        Ok(request) => request,
        Err(e) => return refuse(e),
    };
    let keys = std::sync::Arc::clone(&state.keys);
    let issuer = state.settings.public_url.clone();
    let now = state.clock.now();
    let outcome = state
        .db
        .run(move |conn| super::token::exchange(conn, &request, &Context { keys: &keys, issuer: &issuer, now }))
        .await;
    match outcome {
        Ok(Ok(reply)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(reply),
        Ok(Err(e)) => refuse(e),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// A 400 for a request that carries its token wrongly (RFC 6750 §3.1 `invalid_request`).
fn bad_bearer_request(detail: &str) -> HttpResponse {
    let mut resp = Problem::new(StatusCode::BAD_REQUEST, detail).to_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(r#"Bearer realm="lectern", error="invalid_request""#),
    );
    resp
}

/// The token of a userinfo request: from `Authorization: Bearer`, or (POST) an `access_token` form
/// field; never from the query string, which ends up in logs.
async fn userinfo_token(req: &HttpRequest, payload: web::Payload) -> Result<Option<String>, HttpResponse> {
    let in_query = req.query_string().split('&').any(|p| p.split('=').next() == Some("access_token"));
    if in_query {
        return Err(bad_bearer_request("send the access token in the Authorization header, not in the URL"));
    }
    let header_token = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().unwrap_or_default();
            match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                    Some(token.trim().to_owned())
                }
                _ => return Err(Problem::unauthorized(Challenge::InvalidToken).to_response()),
            }
        }
    };
    let body_token = if req.method() == actix_web::http::Method::POST && is_form(req) {
        let pairs = form_pairs(payload).await.map_err(|(status, why)| Problem::new(status, why).to_response())?;
        let mut tokens = pairs.into_iter().filter(|(k, _)| k == "access_token").map(|(_, v)| v);
        match (tokens.next(), tokens.next()) {
            (token, None) => token,
            (Some(_), Some(_)) | (None, Some(_)) => {
                return Err(bad_bearer_request("access_token is given more than once"));
            }
        }
    } else {
        None
    };
    match (header_token, body_token) {
        (Some(_), Some(_)) => Err(bad_bearer_request("send the access token one way, not two")),
        (token, None) | (None, token) => Ok(token),
    }
}

/// The claims about the person that the access token's scopes allow.
#[utoipa::path(
    get,
    path = "/api/auth/oauth/userinfo",
    operation_id = "oidc_userinfo",
    tag = "openid",
    security(("oidc_access_token" = [])),
    responses(
        (status = 200, description = "The claims", body = UserInfo),
        (status = 400, description = "The token was sent in the URL, or two ways at once", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No token, or one that is not a live OpenID Connect access token (a Lectern access token is not one)", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn userinfo_get(req: HttpRequest, state: web::Data<AuthState>, payload: web::Payload) -> HttpResponse {
    userinfo(req, state, payload).await
}

/// The same as `GET`; the token may also come as an `access_token` form field (RFC 6750 §2.2).
#[utoipa::path(
    post,
    path = "/api/auth/oauth/userinfo",
    operation_id = "oidc_userinfo_post",
    tag = "openid",
    security(("oidc_access_token" = [])),
    responses(
        (status = 200, description = "The claims", body = UserInfo),
        (status = 400, description = "The token was sent in the URL, or two ways at once", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No token, or one that is not a live OpenID Connect access token (a Lectern access token is not one)", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 16 KiB", body = lectern_common::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn userinfo_post(req: HttpRequest, state: web::Data<AuthState>, payload: web::Payload) -> HttpResponse {
    userinfo(req, state, payload).await
}

async fn userinfo(req: HttpRequest, state: web::Data<AuthState>, payload: web::Payload) -> HttpResponse {
    let token = match userinfo_token(&req, payload).await {
        Ok(Some(token)) => token,
        Ok(None) => return Problem::unauthorized(Challenge::Bearer).to_response(),
        Err(resp) => return resp,
    };
    let issuer = state.settings.public_url.clone();
    let now = state.clock.now();
    match state.db.run(move |conn| super::userinfo::claims(conn, &token, &issuer, now)).await {
        Ok(Some(claims)) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(claims),
        Ok(None) => Problem::unauthorized(Challenge::InvalidToken).to_response(),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// The opaque-token bearer scheme of the userinfo endpoint, beside Lectern's JWT bearer scheme.
pub struct OidcBearer;

impl utoipa::Modify for OidcBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "The opaque access_token of `POST /api/auth/oauth/token`. A Lectern access token (a JWT) is refused.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("oidc_access_token", SecurityScheme::Http(scheme));
    }
}

/// The provider's part of auth-core's OpenAPI document (see `crate::openapi()`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(discovery, token, userinfo_get, userinfo_post),
    components(schemas(OAuthErrorDocument, lectern_common::openapi::ProblemDocument)),
    modifiers(&OidcBearer),
    tags((name = "openid", description = "Sign in with Lectern: the OpenID Connect provider (docs/oidc.md)"))
)]
pub struct OidcDoc;
