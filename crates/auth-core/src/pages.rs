//! auth-core's pages: sign-in, sign-up, sign-out, the transparent refresh, sessions, and
//! "your token". Cookies and CSRF as docs/security.md says (see `lectern_common::extract`).

use crate::api::client_info;
use crate::error::AuthError;
use crate::service::{AuthState, Issued};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lectern_common::extract::{AnonForm, CookieNames, Identity, SecureForm, SignOutForm, urlencode};
use lectern_common::ids::SessionId;
use lectern_common::page::render_with_status;
use lectern_common::problem::{IntoProblem, PageError, Problem};
use lectern_common::{PageCtx, PageUser};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    pub email: String,
    pub password: String,
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignUpForm {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
struct SignInPage {
    ctx: PageCtx,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/sign_up.html")]
struct SignUpPage {
    ctx: PageCtx,
    next: String,
    email: String,
    display_name: String,
    error: Option<String>,
}

struct SessionView {
    id: String,
    created_at: time::PrimitiveDateTime,
    last_used_at: time::PrimitiveDateTime,
    user_agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "auth/sessions.html")]
struct SessionsPage {
    ctx: PageCtx,
    sessions: Vec<SessionView>,
    connections: Vec<crate::oidc::pages::ConnectionView>,
    /// The account's time zone, and every zone it may choose.
    zone: String,
    zones: &'static [String],
    /// The time zone form's error, when it came back refused.
    zone_error: Option<String>,
}

struct ClaimView {
    name: &'static str,
    value: String,
    meaning: String,
}

#[derive(Template)]
#[template(path = "auth/token.html")]
struct TokenPage {
    ctx: PageCtx,
    header_json: String,
    claims_json: String,
    claims: Vec<ClaimView>,
    segments: [usize; 3],
}

fn identity(req: &HttpRequest) -> Result<web::Data<Identity>, PageError> {
    req.app_data::<web::Data<Identity>>().cloned().ok_or_else(|| PageError(Problem::internal()))
}

/// The pre-session cookie the sign-in and sign-up forms are bound to, made when missing.
fn pre_session(req: &HttpRequest, id: &Identity) -> (PageCtx, Option<Cookie<'static>>) {
    let existing = req.cookie(id.cookies.pre_session).map(|c| c.value().to_owned()).filter(|v| v.len() == 43);
    let (value, fresh) = match existing {
        Some(v) => (v, None),
        None => {
            let v = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
            let cookie = Cookie::build(id.cookies.pre_session, v.clone())
                .path("/auth")
                .http_only(true)
                .secure(id.cookies.secure)
                .same_site(SameSite::Strict)
                .finish();
            (v, Some(cookie))
        }
    };
    (PageCtx::anonymous_with_csrf(id.csrf.pre_session_token(&value)), fresh)
}

fn with_cookie(mut resp: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(c) = cookie {
        // Adding a cookie to a response we just built cannot fail.
        let _ = resp.add_cookie(&c);
    }
    resp
}

/// `lectern_at` (SameSite=Lax, Path=/) and `lectern_rt` (SameSite=Strict, Path=/auth), both
/// HttpOnly, Secure over https. The access cookie lives as long as the session can be
/// refreshed, so an expired access token still reaches the server and is refreshed rather
/// than treated as "signed out".
fn session_cookies(issued: &Issued, names: CookieNames) -> [Cookie<'static>; 2] {
    let max_age = CookieDuration::seconds(i64::try_from(issued.refresh_expires_in).unwrap_or(0));
    [
        Cookie::build(names.access, issued.access_token.clone())
            .path("/")
            .http_only(true)
            .secure(names.secure)
            .same_site(SameSite::Lax)
            .max_age(max_age)
            .finish(),
        Cookie::build(names.refresh, issued.refresh_token.clone())
            .path("/auth")
            .http_only(true)
            .secure(names.secure)
            .same_site(SameSite::Strict)
            .max_age(max_age)
            .finish(),
    ]
}

/// A form page that answers a throttled attempt says when to try again, as the API does.
fn with_retry_after(mut resp: HttpResponse, problem: &Problem) -> HttpResponse {
    if let Some(v) = problem.retry_after.and_then(|secs| header::HeaderValue::from_str(&secs.to_string()).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn redirect(status: StatusCode, to: &str) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::LOCATION, to.to_owned())).insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

fn signed_in_redirect(issued: &Issued, names: CookieNames, to: &str) -> HttpResponse {
    let mut b = redirect(StatusCode::SEE_OTHER, to);
    for c in session_cookies(issued, names) {
        b.cookie(c);
    }
    b.finish()
}

fn signed_out_redirect(names: CookieNames, to: &str) -> HttpResponse {
    redirect(StatusCode::SEE_OTHER, to)
        .cookie(names.removal(names.access, "/"))
        .cookie(names.removal(names.refresh, "/auth"))
        .finish()
}

pub async fn sign_in_form(
    req: HttpRequest,
    state: web::Data<AuthState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let (ctx, cookie) = pre_session(&req, &id);
    let next = id.safe_next(query.next.as_deref());
    // Signing in to resume an application's request ends in a redirect to it.
    let form_action = crate::oidc::pages::sign_in_form_action(&state, &next).await?;
    let page = SignInPage { ctx, next, email: String::new(), error: None };
    Ok(crate::oidc::pages::sign_in_page(with_cookie(render_with_status(&page, StatusCode::OK)?, cookie), form_action))
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AuthState>,
    form: AnonForm<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let form = form.0;
    let next = id.safe_next(form.next.as_deref());
    let outcome = state.sign_in(&form.email, &form.password, &client_info(&req)).await;
    crate::api::record_sign_in(&req, &outcome);
    match outcome {
        Ok(issued) => Ok(signed_in_redirect(&issued, id.cookies, &next)),
        Err(e @ (AuthError::InvalidCredentials | AuthError::Throttled(_))) => {
            let (ctx, cookie) = pre_session(&req, &id);
            let problem = e.problem();
            let form_action = crate::oidc::pages::sign_in_form_action(&state, &next).await?;
            let page = SignInPage { ctx, next, email: form.email, error: Some(e.to_string()) };
            let resp = with_retry_after(with_cookie(render_with_status(&page, problem.status)?, cookie), &problem);
            Ok(crate::oidc::pages::sign_in_page(resp, form_action))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_up_form(req: HttpRequest, query: web::Query<NextQuery>) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let (ctx, cookie) = pre_session(&req, &id);
    let page = SignUpPage {
        ctx,
        next: id.safe_next(query.next.as_deref()),
        email: String::new(),
        display_name: String::new(),
        error: None,
    };
    Ok(with_cookie(render_with_status(&page, StatusCode::OK)?, cookie))
}

pub async fn sign_up(
    req: HttpRequest,
    state: web::Data<AuthState>,
    form: AnonForm<SignUpForm>,
) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let form = form.0;
    let next = id.safe_next(form.next.as_deref());
    let created = state.sign_up(&form.email, &form.password, &form.display_name, &client_info(&req)).await;
    match created {
        Ok(_) => {
            let issued = state.sign_in(&form.email, &form.password, &client_info(&req)).await?;
            Ok(signed_in_redirect(&issued, id.cookies, &next))
        }
        Err(e @ (AuthError::Invalid { .. } | AuthError::EmailTaken | AuthError::Throttled(_))) => {
            let (ctx, cookie) = pre_session(&req, &id);
            let problem = e.problem();
            let page = SignUpPage {
                ctx,
                next,
                email: form.email,
                display_name: form.display_name,
                error: Some(e.to_string()),
            };
            Ok(with_retry_after(with_cookie(render_with_status(&page, problem.status)?, cookie), &problem))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AuthState>,
    form: SignOutForm,
) -> Result<HttpResponse, PageError> {
    let user = form.user;
    state.end_session(user.id, user.session, "logout").await?;
    Ok(signed_out_redirect(identity(&req)?.cookies, "/auth/sign-in"))
}

/// The transparent refresh: pages whose access cookie expired are sent here (303 for a GET,
/// 307 for a posted form, which the browser re-posts to the page after the refresh).
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AuthState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let next = id.safe_next(query.next.as_deref());
    let status = if req.method() == actix_web::http::Method::GET {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::TEMPORARY_REDIRECT
    };
    // An application's authorization request decides for itself what a failed refresh means
    // (`prompt=none` answers the application instead of showing the sign-in page).
    let sign_in = if next.starts_with(&format!("{}?", crate::oidc::AUTHORIZE_PATH)) {
        next.clone()
    } else {
        format!("/auth/sign-in?next={}", urlencode(&next))
    };
    // Without the refresh cookie (a navigation from another site does not carry the SameSite=Strict
    // cookie) nothing is known about the session, so nothing is deleted: only a request that
    // carried the refresh cookie may clear it.
    let Some(presented) = req.cookie(id.cookies.refresh).map(|c| c.value().to_owned()) else {
        return Ok(redirect(StatusCode::SEE_OTHER, &sign_in).finish());
    };
    match state.refresh(&presented).await {
        Ok(issued) => {
            let mut b = redirect(status, &next);
            for c in session_cookies(&issued, id.cookies) {
                b.cookie(c);
            }
            Ok(b.finish())
        }
        Err(AuthError::InvalidRefreshToken) => Ok(signed_out_redirect(id.cookies, &sign_in)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct SessionsQuery {
    pub ended: Option<u8>,
    pub revoked: Option<u8>,
    pub zone: Option<u8>,
}

pub async fn sessions(
    req: HttpRequest,
    state: web::Data<AuthState>,
    user: PageUser,
    query: web::Query<SessionsQuery>,
) -> Result<HttpResponse, PageError> {
    let flash = match (query.ended, query.revoked, query.zone) {
        (Some(_), _, _) => Some("That session is signed out.".to_owned()),
        (None, Some(_), _) => Some("The application is disconnected: it must ask you again to sign you in.".to_owned()),
        (None, None, Some(_)) => Some("Your time zone is saved: times are shown in it.".to_owned()),
        (None, None, None) => None,
    };
    account_page(&req, &state, &user, flash, None).await
}

/// The account page (sessions, connected applications, time zone), with the time zone form's
/// error when it came back refused (then with status 422).
async fn account_page(
    req: &HttpRequest,
    state: &AuthState,
    user: &PageUser,
    flash: Option<String>,
    zone_error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let (rows, connections, zone) = crate::oidc::pages::account_overview(state, user.id).await?;
    let sessions = rows
        .into_iter()
        .map(|s| SessionView {
            id: s.id.to_string(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            user_agent: s.user_agent.unwrap_or_else(|| "unknown device".into()),
            current: s.id == user.session,
        })
        .collect();
    let status = if zone_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = SessionsPage {
        ctx: user.ctx(req).with_flash(flash).with_times(zone.clone(), state.now()),
        sessions,
        connections,
        zone: zone.name().to_owned(),
        zones: lectern_common::timefmt::Zone::all_names(),
        zone_error,
    };
    render_with_status(&page, status)
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    pub time_zone: String,
}

/// Sets the account's time zone from the account page's form. A zone the tz database does not
/// know gives the page again with the error (422), never a failure.
pub async fn set_time_zone(
    req: HttpRequest,
    state: web::Data<AuthState>,
    form: SecureForm<TimeZoneForm>,
) -> Result<HttpResponse, PageError> {
    let SecureForm { user, form } = form;
    match lectern_common::timefmt::Zone::parse(&form.time_zone) {
        Some(zone) => {
            state.set_time_zone(user.id, zone).await?;
            Ok(redirect(StatusCode::SEE_OTHER, "/auth/sessions?zone=1").finish())
        }
        None => {
            let error = "Choose a time zone from the list (such as Europe/Paris or America/New_York).".to_owned();
            account_page(&req, &state, &user, None, Some(error)).await
        }
    }
}

pub async fn end_session(
    req: HttpRequest,
    state: web::Data<AuthState>,
    path: web::Path<SessionId>,
    form: SecureForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let user = form.user;
    let session = path.into_inner();
    state.end_session(user.id, session, "signed out by its user").await?;
    if session == user.session {
        return Ok(signed_out_redirect(identity(&req)?.cookies, "/auth/sign-in"));
    }
    Ok(redirect(StatusCode::SEE_OTHER, "/auth/sessions?ended=1").finish())
}

fn pretty_segment(segment: &str) -> String {
    URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

/// A claim's time (seconds since the epoch) as the reader reads it, in their zone.
fn when(fmt: &lectern_common::timefmt::TimeFmt, secs: Option<i64>) -> String {
    secs.and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .map(|t| fmt.text(lectern_common::db::to_db_time(t)))
        .unwrap_or_default()
}

/// "Your token": the caller's own access token, decoded and explained.
pub async fn token(req: HttpRequest, state: web::Data<AuthState>, user: PageUser) -> Result<HttpResponse, PageError> {
    let id = user.id;
    let zone = state.db.run(move |conn| lectern_common::timefmt::zone_of(conn, id).map_err(AuthError::from)).await?;
    let ctx = user.ctx(&req).with_times(zone, state.now());
    let raw = identity(&req)
        .ok()
        .and_then(|id| req.cookie(id.cookies.access))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let parts: Vec<&str> = raw.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(PageError(Problem::not_found()));
    };
    let claims: serde_json::Value =
        URL_SAFE_NO_PAD.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let text = |k: &str| match &claims[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let rows = vec![
        ClaimView {
            name: "iss",
            value: text("iss"),
            meaning: "Issuer: who signed the token. Services accept only this issuer.".into(),
        },
        ClaimView { name: "sub", value: text("sub"), meaning: "Subject: your user id.".into() },
        ClaimView {
            name: "aud",
            value: text("aud"),
            meaning: "Audience: the services this token is meant for.".into(),
        },
        ClaimView {
            name: "iat",
            value: text("iat"),
            meaning: format!("Issued at {}.", when(&ctx.tz, claims["iat"].as_i64())),
        },
        ClaimView {
            name: "nbf",
            value: text("nbf"),
            meaning: format!("Not valid before {}.", when(&ctx.tz, claims["nbf"].as_i64())),
        },
        ClaimView {
            name: "exp",
            value: text("exp"),
            meaning: format!(
                "Expires at {}; your browser then gets a fresh one with its refresh token.",
                when(&ctx.tz, claims["exp"].as_i64())
            ),
        },
        ClaimView { name: "jti", value: text("jti"), meaning: "A unique id for this one token.".into() },
        ClaimView {
            name: "sid",
            value: text("sid"),
            meaning:
                "Your sign-in session. Signing out revokes it, and every token of it stops working within seconds."
                    .into(),
        },
        ClaimView {
            name: "role",
            value: text("role"),
            meaning: "Your role: it decides which kinds of action you may take.".into(),
        },
        ClaimView { name: "name", value: text("name"), meaning: "Your display name.".into() },
    ];
    let page = TokenPage {
        ctx,
        header_json: pretty_segment(h),
        claims_json: pretty_segment(p),
        claims: rows,
        segments: [h.len(), p.len(), s.len()],
    };
    render_with_status(&page, StatusCode::OK)
}
