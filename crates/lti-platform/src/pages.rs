//! The browser's side of a launch: `GET /lti/launch/{link_id}` (third-party-initiated login to the
//! tool) and the authorization endpoint `/lti/authorize` (GET and POST), whose answer is a form
//! the browser posts to the tool.

use crate::LtiState;
use crate::authorize::{self, Caller, Inputs, MAX_REQUEST_BYTES, Outcome};
use crate::hints;
use crate::tools;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use course_service::service::tool_links;
use lectern_common::AuthUser;
use lectern_common::extract::{Identity, PageUser, urlencode};
use lectern_common::ids::ToolLinkId;
use lectern_common::page::render_with_status;
use lectern_common::problem::{PageError, Problem};
use std::sync::Arc;
use token_claims::VerifyError;

#[derive(Template)]
#[template(path = "lti/form_post.html")]
struct FormPostPage {
    tool_name: String,
    action: String,
    destination: String,
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "auth/continue.html")]
struct ContinuePage {
    target: String,
}

fn no_store(mut resp: HttpResponse) -> HttpResponse {
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `GET /lti/launch/{link_id}`: staff and enrolled students of the link's course only (others:
/// 403, or 404 for a course they may not see). Sends the browser to the tool's login initiation
/// URL with the platform's issuer, the two hints, the target link URI, the client id and the
/// deployment id (LTI Core 1.3 §4.1).
pub async fn launch(
    state: web::Data<LtiState>,
    user: PageUser,
    path: web::Path<ToolLinkId>,
) -> Result<HttpResponse, PageError> {
    let user = user.into_inner();
    let link = path.into_inner();
    let who = user.clone();
    let found = state
        .auth
        .db
        .run(move |conn| {
            let launch = tool_links::launchable(conn, link, &who)?;
            let tool = tools::find(conn, launch.link.tool_id)?.ok_or(crate::LtiError::NotFound)?;
            Ok::<_, crate::LtiError>(tool)
        })
        .await
        .map_err(|e| PageError(lectern_common::problem::IntoProblem::problem(&e)))?;
    let key = &state.auth.csrf;
    let now = state.auth.clock.now();
    let query = [
        ("iss", state.endpoints.issuer().to_owned()),
        ("login_hint", hints::login_hint(key, user.id)),
        ("target_link_uri", found.target_link_uri.clone()),
        ("lti_message_hint", hints::message_hint(key, link, user.id, found.id, now)),
        ("client_id", found.client_id.clone()),
        ("lti_deployment_id", found.deployment_id.clone()),
    ];
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    let separator = if found.login_url.contains('?') { '&' } else { '?' };
    Ok(redirect(&format!("{}{separator}{}", found.login_url, query.join("&"))))
}

fn identity(req: &HttpRequest) -> Result<web::Data<Identity>, PageError> {
    req.app_data::<web::Data<Identity>>().cloned().ok_or_else(|| PageError(Problem::internal()))
}

/// Who the browser's access cookie says is signed in (the cookie only: this is a page), and
/// whether the request carried the cookie at all.
async fn caller(req: &HttpRequest, id: &Identity) -> (Caller, bool) {
    let Some(token) = req.cookie(id.cookies.access).map(|c| c.value().to_owned()).filter(|t| !t.is_empty()) else {
        return (Caller::Anonymous, false);
    };
    let verified = match id.verifier.verify(&token) {
        Err(VerifyError::UnknownKid) => id.verifier.verify_refreshing(&token).await,
        other => other,
    };
    match verified {
        Ok(claims) => (Caller::SignedIn(AuthUser::from(claims)), true),
        Err(VerifyError::Expired) => (Caller::Expired, true),
        Err(_) => (Caller::Anonymous, true),
    }
}

/// The `form-action` source a form posting to `action` needs: its origin.
fn form_action_source(action: &str) -> Option<String> {
    let url = url::Url::parse(action).ok()?;
    Some(url.origin().ascii_serialization())
}

fn respond(outcome: Outcome, tool_name: String) -> Result<HttpResponse, PageError> {
    match outcome {
        Outcome::ErrorPage(why) => Err(PageError(Problem::new(StatusCode::BAD_REQUEST, why))),
        Outcome::Resume { next } => Ok(redirect(&next)),
        Outcome::Refresh { next } => {
            // A page of our own, so the refresh is a navigation from this site and carries the
            // SameSite=Strict refresh cookie, which the tool's redirect here did not.
            let page = ContinuePage { target: format!("/auth/refresh?next={}", urlencode(&next)) };
            Ok(no_store(render_with_status(&page, StatusCode::OK)?))
        }
        Outcome::FormPost { action, fields } => {
            let destination = url::Url::parse(&action)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| action.clone());
            let source = form_action_source(&action);
            let page = FormPostPage { tool_name, action, destination, fields };
            let mut resp = no_store(render_with_status(&page, StatusCode::OK)?);
            // The ID token goes to the tool, nowhere else: the form may post to its origin only.
            if let Some(source) = source {
                let csp = lectern_common::middleware::CONTENT_SECURITY_POLICY
                    .replace("form-action 'self'", &format!("form-action {source}"));
                if let Ok(value) = header::HeaderValue::from_str(&csp) {
                    resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
                }
            }
            Ok(resp)
        }
    }
}

async fn authorize(
    req: HttpRequest,
    state: web::Data<LtiState>,
    params: Vec<(String, String)>,
    encoded_len: usize,
    post: bool,
) -> Result<HttpResponse, PageError> {
    let id = identity(&req)?;
    let (caller, has_cookie) = caller(&req, &id).await;
    let client_id = params.iter().find(|(k, _)| k == "client_id").map(|(_, v)| v.clone()).unwrap_or_default();
    let inputs = Inputs {
        params,
        encoded_len,
        caller,
        // A POST from the tool's page is cross-site: the browser withholds the Lax session
        // cookie, but sends it when the same request arrives as a top-level GET.
        cookieless_post: post && !has_cookie,
        now: state.auth.clock.now(),
        endpoints: state.endpoints.clone(),
        key: state.auth.csrf.clone(),
        keys: Arc::clone(&state.auth.keys),
    };
    let (outcome, name) = state
        .auth
        .db
        .run(move |conn| {
            let name = tools::find_by_client_id(conn, &client_id)?.map(|t| t.name).unwrap_or_default();
            Ok::<_, crate::LtiError>((authorize::decide(conn, inputs)?, name))
        })
        .await
        .map_err(|e| PageError(lectern_common::problem::IntoProblem::problem(&e)))?;
    respond(outcome, name)
}

fn malformed() -> PageError {
    PageError(Problem::new(StatusCode::BAD_REQUEST, "This launch request is not well-formed."))
}

fn parse(encoded: &str) -> Result<Vec<(String, String)>, PageError> {
    serde_urlencoded::from_str(encoded).map_err(|_| malformed())
}

/// `GET /lti/authorize`.
pub async fn authorize_get(req: HttpRequest, state: web::Data<LtiState>) -> Result<HttpResponse, PageError> {
    let query = req.query_string().to_owned();
    if query.len() > MAX_REQUEST_BYTES {
        return Err(PageError(Problem::new(StatusCode::URI_TOO_LONG, "This launch request is too long.")));
    }
    let params = parse(&query)?;
    authorize(req, state, params, query.len(), false).await
}

/// `POST /lti/authorize` (a form).
pub async fn authorize_post(
    req: HttpRequest,
    state: web::Data<LtiState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(PageError(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "A launch request is sent as a form.")));
    }
    let body = match payload.to_bytes_limited(MAX_REQUEST_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(malformed()),
        Err(_) => {
            return Err(PageError(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "This launch request is too long.")));
        }
    };
    let text = std::str::from_utf8(&body).map_err(|_| malformed())?;
    let params = parse(text)?;
    authorize(req, state, params, body.len(), true).await
}
