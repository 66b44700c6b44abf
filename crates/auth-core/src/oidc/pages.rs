//! The browser side of the provider: the authorization endpoint (GET and POST), the consent form,
//! and revoking a connected application from the sessions page.

use super::flow::{self, Caller, Decision, Inputs, Outcome};
use super::request::{MAX_REQUEST_BYTES, RawParams, Target};
use super::store::{self, ClientId};
use super::{AUTHORIZE_PATH, Scope, Scopes};
use crate::error::AuthError;
use crate::service::AuthState;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use lectern_common::PageCtx;
use lectern_common::db::{to_db_time, write_tx};
use lectern_common::extract::{AuthUser, Identity, SecureForm, urlencode};
use lectern_common::ids::UserId;
use lectern_common::page::render_with_status;
use lectern_common::problem::{PageError, Problem};
use token_claims::VerifyError;

/// What a scope lets an application learn, in the consent page's words.
pub fn scope_meaning(scope: Scope) -> &'static str {
    match scope {
        Scope::OpenId => {
            "That you have a Lectern account, by an identifier that never changes, and your role (teacher or student)."
        }
        Scope::Profile => "Your name as Lectern shows it.",
        Scope::Email => "Your email address (Lectern has not checked that it reaches you).",
    }
}

struct ScopeLine {
    name: &'static str,
    meaning: &'static str,
}

fn scope_lines(scopes: &Scopes) -> Vec<ScopeLine> {
    scopes.iter().map(|s| ScopeLine { name: s.as_str(), meaning: scope_meaning(s) }).collect()
}

#[derive(Template)]
#[template(path = "auth/consent.html")]
struct ConsentPage {
    ctx: PageCtx,
    client_name: String,
    /// Where the browser goes next: the host of the redirect URI.
    destination: String,
    scopes: Vec<ScopeLine>,
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "auth/continue.html")]
struct ContinuePage {
    target: String,
}

fn identity(req: &HttpRequest) -> Result<web::Data<Identity>, PageError> {
    req.app_data::<web::Data<Identity>>().cloned().ok_or_else(|| PageError(Problem::internal()))
}

/// Who the browser's access cookie says is signed in (the cookie only: this is a page).
async fn caller(req: &HttpRequest, id: &Identity) -> (Caller, Option<AuthUser>, bool) {
    let Some(token) = req.cookie(id.cookies.access).map(|c| c.value().to_owned()).filter(|t| !t.is_empty()) else {
        return (Caller::Anonymous, None, false);
    };
    let verified = match id.verifier.verify(&token) {
        Err(VerifyError::UnknownKid) => id.verifier.verify_refreshing(&token).await,
        other => other,
    };
    match verified {
        Ok(claims) => {
            let user = AuthUser::from(claims);
            (Caller::SignedIn { user: user.id, session: user.session }, Some(user), true)
        }
        Err(VerifyError::Expired) => (Caller::Expired, None, true),
        Err(_) => (Caller::Anonymous, None, true),
    }
}

/// `form-action` source for where a form's redirects end: the redirect URI's origin (or scheme).
/// Browsers apply `form-action` to every redirect after a form is sent, so a form whose answer is
/// a redirect to the application (consent, or a sign-in resuming an authorization) must allow it.
fn form_action_source(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

fn with_form_action(mut resp: HttpResponse, source: Option<&str>) -> HttpResponse {
    if let Some(source) = source {
        let csp = lectern_common::middleware::CONTENT_SECURITY_POLICY
            .replace("form-action 'self'", &format!("form-action 'self' {source}"));
        if let Ok(value) = header::HeaderValue::from_str(&csp) {
            resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    resp
}

/// The `form-action` source the sign-in page needs when `next` resumes an authorization request
/// whose redirect URI is registered (checked, so a crafted `next` widens nothing).
pub async fn sign_in_form_action(state: &AuthState, next: &str) -> Result<Option<String>, AuthError> {
    let Some(query) = next.strip_prefix(AUTHORIZE_PATH).and_then(|rest| rest.strip_prefix('?')) else {
        return Ok(None);
    };
    let Some(target) = RawParams::parse(query).and_then(|p| Target::read(&p).ok()) else { return Ok(None) };
    let uri = target.redirect_uri.clone();
    let registered = state
        .db
        .run(move |conn| store::find_client_with_redirect(conn, target.client_id, &uri).map_err(AuthError::from))
        .await?;
    Ok(match registered {
        Some((_, true)) => form_action_source(&target.redirect_uri),
        _ => None,
    })
}

/// Applies a sign-in page's `form-action` (see [`sign_in_form_action`]) to its response.
pub fn sign_in_page(resp: HttpResponse, source: Option<String>) -> HttpResponse {
    with_form_action(resp, source.as_deref())
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn respond(req: &HttpRequest, outcome: Outcome, user: Option<AuthUser>) -> Result<HttpResponse, PageError> {
    match outcome {
        Outcome::ErrorPage(why) => Err(PageError(Problem::new(StatusCode::BAD_REQUEST, why))),
        Outcome::ToClient(url) => Ok(redirect(&url)),
        Outcome::SignIn { next } => Ok(redirect(&format!("/auth/sign-in?next={}", urlencode(&next)))),
        Outcome::Resume { next } => Ok(redirect(&next)),
        Outcome::Refresh { next } => {
            // A page of our own, so the refresh is a navigation from this site and carries the
            // SameSite=Strict refresh cookie, which the application's redirect here did not.
            let page = ContinuePage { target: format!("/auth/refresh?next={}", urlencode(&next)) };
            render_with_status(&page, StatusCode::OK)
        }
        Outcome::Consent(view) => {
            let user = user.ok_or_else(|| PageError(Problem::internal()))?;
            let destination = url::Url::parse(&view.redirect_uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| view.redirect_uri.clone());
            let fields =
                view.params.pairs().iter().filter(|(k, _)| k != "csrf_token" && k != "decision").cloned().collect();
            let page = ConsentPage {
                ctx: lectern_common::extract::Page(user).ctx(req),
                client_name: view.client_name,
                destination,
                scopes: scope_lines(&view.scopes),
                fields,
            };
            Ok(with_form_action(
                render_with_status(&page, StatusCode::OK)?,
                form_action_source(&view.redirect_uri).as_deref(),
            ))
        }
    }
}

async fn authorize(
    req: HttpRequest,
    state: web::Data<AuthState>,
    params: RawParams,
    encoded_len: usize,
    post: bool,
) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let (caller, user, has_cookie) = caller(&req, &id).await;
    let inputs = Inputs {
        params,
        encoded_len,
        caller,
        decision: None,
        // A POST from the application's page is cross-site: the browser withholds the Lax session
        // cookie, but sends it when the same request arrives as a top-level GET.
        cookieless_post: post && !has_cookie,
        now: state.clock.now(),
        issuer: state.settings.public_url.clone(),
        key: state.csrf.clone(),
    };
    let outcome = state.db.run(move |conn| flow::decide(conn, inputs)).await?;
    respond(&req, outcome, user)
}

fn malformed() -> PageError {
    PageError(Problem::new(StatusCode::BAD_REQUEST, "This sign-in request is not well-formed."))
}

/// `GET /auth/oauth/authorize`.
pub async fn authorize_get(req: HttpRequest, state: web::Data<AuthState>) -> Result<HttpResponse, PageError> {
    let query = req.query_string().to_owned();
    let params = RawParams::parse(&query).ok_or_else(malformed)?;
    authorize(req, state, params, query.len(), false).await
}

/// `POST /auth/oauth/authorize` (a form; OpenID Connect Core §3.1.2.1).
pub async fn authorize_post(
    req: HttpRequest,
    state: web::Data<AuthState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(PageError(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "A sign-in request is sent as a form.",
        )));
    }
    let body = match payload.to_bytes_limited(MAX_REQUEST_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(malformed()),
        Err(_) => {
            return Err(PageError(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "This sign-in request is too long.")));
        }
    };
    let text = std::str::from_utf8(&body).map_err(|_| malformed())?;
    let params = RawParams::parse(text).ok_or_else(malformed)?;
    authorize(req, state, params, body.len(), true).await
}

/// `POST /auth/oauth/consent`: the consent page's Approve or Deny, with the request it answers.
pub async fn consent(
    req: HttpRequest,
    state: web::Data<AuthState>,
    form: SecureForm<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let user = form.user.0.clone();
    let mut decision = None;
    let mut rest = Vec::new();
    for (k, v) in form.form {
        match k.as_str() {
            "csrf_token" => {}
            "decision" => {
                let answer = match v.as_str() {
                    "approve" => Decision::Approve,
                    "deny" => Decision::Deny,
                    _ => return Err(malformed()),
                };
                if decision.replace(answer).is_some() {
                    return Err(malformed());
                }
            }
            _ => rest.push((k, v)),
        }
    }
    let decision = decision.ok_or_else(malformed)?;
    let params = RawParams::from_pairs(rest);
    let encoded_len = params.resume_url(&[]).len().saturating_sub(AUTHORIZE_PATH.len() + 1);
    let inputs = Inputs {
        params,
        encoded_len,
        caller: Caller::SignedIn { user: user.id, session: user.session },
        decision: Some(decision),
        cookieless_post: false,
        now: state.clock.now(),
        issuer: state.settings.public_url.clone(),
        key: state.csrf.clone(),
    };
    let outcome = state.db.run(move |conn| flow::decide(conn, inputs)).await?;
    respond(&req, outcome, Some(user))
}

#[derive(serde::Deserialize)]
pub struct NoFields {}

/// `POST /auth/oauth/connections/{client_id}/revoke`: forgets the consent and revokes what the
/// application holds (its unspent codes and live access tokens).
pub async fn revoke_connection(
    state: web::Data<AuthState>,
    path: web::Path<ClientId>,
    form: SecureForm<NoFields>,
) -> Result<HttpResponse, PageError> {
    let (user, client) = (form.user.id, path.into_inner());
    let now = to_db_time(state.clock.now());
    let removed = state
        .db
        .run(move |conn| write_tx(conn, |conn| store::revoke_consent(conn, user, client, now).map_err(AuthError::from)))
        .await?;
    if !removed {
        return Err(PageError(Problem::not_found()));
    }
    Ok(redirect("/auth/sessions?revoked=1"))
}

/// One connected application, as the sessions page lists it.
pub struct ConnectionView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub granted_at: String,
}

/// What the account page shows: its sessions, its connected applications and its time zone.
pub type AccountOverview = (Vec<crate::store::SessionRow>, Vec<ConnectionView>, lectern_common::timefmt::Zone);

/// The account page's two lists and the account's time zone, in one database call.
pub async fn account_overview(state: &AuthState, user: UserId) -> Result<AccountOverview, AuthError> {
    let (idle_cutoff, absolute_cutoff) = state.session_cutoffs();
    state
        .db
        .run(move |conn| {
            let sessions = crate::store::live_sessions(conn, user, idle_cutoff, absolute_cutoff)?;
            let connections = store::consents_of(conn, user)?
                .into_iter()
                .map(|(id, name, scope, at)| ConnectionView {
                    client_id: id.to_string(),
                    name,
                    scopes: Scopes::parse(&scope).iter().map(Scope::as_str).collect(),
                    granted_at: lectern_common::db::rfc3339(at),
                })
                .collect();
            let zone = lectern_common::timefmt::zone_of(conn, user)?;
            Ok::<_, AuthError>((sessions, connections, zone))
        })
        .await
}
