//! The platform's authorization endpoint: the tool sends the browser back here after a launch's
//! login initiation, with an OpenID Connect authentication request (LTI Security Framework 1.0
//! §5.1.1.2, implicit flow, `id_token` by form post). [`decide`] checks it and answers, in one
//! database call:
//!
//! 1. `client_id` names a registered tool and `redirect_uri` is one of its registered URIs,
//!    exactly. Otherwise an error page: nothing is ever sent to an address the tool did not
//!    register.
//! 2. The request itself: each parameter at most once, `response_type=id_token`,
//!    `response_mode=form_post`, `scope` with `openid`, `prompt=none`, a `nonce`, a `login_hint`
//!    and an `lti_message_hint`. Faults go back to the tool (form post of `error`).
//! 3. Who is signed in (the access cookie): nobody is `login_required` (`prompt=none` forbids
//!    asking); an expired cookie is refreshed first; a cross-site POST that came without the
//!    cookie is asked again as a GET.
//! 4. `login_hint` is the signed-in person's (else `login_required`), `lti_message_hint` is valid
//!    for that person, this tool and recently (else `invalid_request`), and the person is still
//!    staff or an enrolled student of the link's course (else `access_denied`).
//! 5. The `nonce` has not been seen from this tool before (kept for [`NONCE_TTL`]).
//!
//! Then an RS256 ID token (the platform's ID-token key, with its `kid`) carrying the LTI claims
//! is posted to the redirect URI with `state`.

use crate::claims::{self, Launch};
use crate::endpoints::{AUTHORIZE_PATH, Endpoints};
use crate::error::LtiError;
use crate::hints;
use crate::tools::{self, ToolRow};
use auth_core::keys::{IdTokenAlg, KeyRing};
use auth_core::oidc::token_hash;
use course_service::service::tool_links::{self, Launchable};
use diesel::prelude::*;
use lectern_common::AuthUser;
use lectern_common::csrf::CsrfKey;
use lectern_common::db::{DbConnection, to_db_time};
use lectern_common::extract::urlencode;
use lectern_common::schema::{lti_nonces, users};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// The longest authorization request accepted (query string or form body).
pub const MAX_REQUEST_BYTES: usize = 4096;
/// The longest `state`, `nonce` or hint accepted.
pub const MAX_VALUE_CHARS: usize = 1024;
/// Lifetime of a launch's ID token: the tool checks it once, on arrival.
pub const ID_TOKEN_TTL: time::Duration = time::Duration::minutes(5);
/// How long a nonce is remembered: far past the ID token it went into.
pub const NONCE_TTL: time::Duration = time::Duration::hours(1);
/// Set by Lectern on a request it resumes after refreshing the session cookie, so a failed
/// refresh does not loop.
pub const REFRESHED_PARAM: &str = "lectern_refreshed";

/// The browser's session, as its access cookie says.
#[derive(Clone, Debug)]
pub enum Caller {
    SignedIn(AuthUser),
    /// A token that verified in every way but has expired: refresh it first.
    Expired,
    /// No token, or one that does not verify.
    Anonymous,
}

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The request cannot be answered to any tool: an error page (400).
    ErrorPage(String),
    /// A form posted by the browser to the tool's registered redirect URI.
    FormPost { action: String, fields: Vec<(String, String)> },
    /// Refresh the session cookie, then come back to `next`.
    Refresh { next: String },
    /// Ask again with a GET to `next` (a cross-site POST arrives without the Lax session cookie).
    Resume { next: String },
}

/// Everything [`decide`] needs besides the database.
pub struct Inputs {
    pub params: Vec<(String, String)>,
    /// Size of the query or form as sent.
    pub encoded_len: usize,
    pub caller: Caller,
    pub cookieless_post: bool,
    pub now: OffsetDateTime,
    pub endpoints: Endpoints,
    /// auth-core's own key: the hints were made with it.
    pub key: CsrfKey,
    pub keys: Arc<KeyRing>,
}

/// The one value of `name` (an empty one counts as absent); `Err` when given more than once.
fn get<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
    let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match (values.next(), values.next()) {
        (first, None) => Ok(first.filter(|v| !v.is_empty())),
        (_, Some(_)) => Err(()),
    }
}

fn first_duplicate(params: &[(String, String)]) -> Option<&str> {
    params.iter().enumerate().find(|(i, (k, _))| params[..*i].iter().any(|(j, _)| j == k)).map(|(_, (k, _))| k.as_str())
}

/// The same request as a GET of this endpoint, plus `extra`.
pub fn resume_url(params: &[(String, String)], extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != REFRESHED_PARAM)
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    pairs.extend(extra.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))));
    format!("{AUTHORIZE_PATH}?{}", pairs.join("&"))
}

/// The checked request (step 2).
struct Request<'a> {
    nonce: &'a str,
    login_hint: &'a str,
    message_hint: &'a str,
    refreshed: bool,
}

/// An OpenID Connect error for the tool.
struct Refusal {
    error: &'static str,
    description: String,
}

fn refusal(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal { error, description: description.into() }
}

fn check(params: &[(String, String)], encoded_len: usize) -> Result<Request<'_>, Refusal> {
    if encoded_len > MAX_REQUEST_BYTES {
        return Err(refusal("invalid_request", format!("the request is longer than {MAX_REQUEST_BYTES} bytes")));
    }
    if let Some(name) = first_duplicate(params) {
        return Err(refusal("invalid_request", format!("{name} is given more than once")));
    }
    let value = |name: &str| get(params, name).ok().flatten();
    match value("response_type") {
        Some("id_token") => {}
        None => return Err(refusal("invalid_request", "response_type is missing")),
        Some(other) => {
            return Err(refusal(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; an LTI launch asks for \"id_token\""),
            ));
        }
    }
    if value("response_mode") != Some("form_post") {
        return Err(refusal("invalid_request", "response_mode must be form_post"));
    }
    if !value("scope").unwrap_or_default().split(' ').any(|s| s == "openid") {
        return Err(refusal("invalid_scope", "the scope must include openid"));
    }
    if value("prompt") != Some("none") {
        return Err(refusal("invalid_request", "prompt must be none"));
    }
    let long = |name: &str| value(name).is_some_and(|v| v.chars().count() > MAX_VALUE_CHARS);
    for name in ["state", "nonce", "login_hint", "lti_message_hint"] {
        if long(name) {
            return Err(refusal("invalid_request", format!("{name} is longer than {MAX_VALUE_CHARS} characters")));
        }
    }
    let required =
        |name: &'static str| value(name).ok_or_else(|| refusal("invalid_request", format!("{name} is missing")));
    Ok(Request {
        nonce: required("nonce")?,
        login_hint: required("login_hint")?,
        message_hint: required("lti_message_hint")?,
        refreshed: value(REFRESHED_PARAM).is_some(),
    })
}

/// Remembers a nonce; false when this tool sent it before (a replay).
fn spend_nonce(conn: &mut DbConnection, tool: &ToolRow, nonce: &str, now: OffsetDateTime) -> Result<bool, LtiError> {
    let at = to_db_time(now);
    diesel::delete(lti_nonces::table.filter(lti_nonces::expires_at.lt(at))).execute(conn)?;
    let inserted = diesel::insert_into(lti_nonces::table)
        .values((
            lti_nonces::tool_id.eq(tool.id),
            lti_nonces::nonce_hash.eq(token_hash(nonce)),
            lti_nonces::expires_at.eq(to_db_time(now + NONCE_TTL)),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The ID token of a launch: the OpenID Connect claims, then the LTI claims.
fn id_token(
    conn: &mut DbConnection,
    inputs: &Inputs,
    tool: &ToolRow,
    launch: &Launchable,
    user: &AuthUser,
    nonce: &str,
) -> Result<String, LtiError> {
    let (name, email): (String, String) =
        users::table.find(user.id).select((users::display_name, users::email)).first(conn)?;
    let link = launch.link.object();
    let course = launch.link.course_id();
    let course_title: String = {
        use lectern_common::schema::courses;
        courses::table.find(course).select(courses::title).first(conn)?
    };
    let endpoints = &inputs.endpoints;
    let lti = Launch {
        deployment_id: &tool.deployment_id,
        target_link_uri: &tool.target_link_uri,
        link_id: &link.id.to_string(),
        link_title: &link.title,
        roles: claims::launch_roles(user.role, launch.relation),
        context: claims::context(&course.to_string(), &course_title),
        platform_guid: endpoints.issuer(),
        line_items: endpoints.line_items(course),
        line_item: link.assignment_id.map(|a| endpoints.line_item(course, a)),
        memberships: endpoints.memberships(course),
    };
    let now = inputs.now.unix_timestamp();
    let mut body = serde_json::Map::new();
    body.insert("iss".into(), endpoints.issuer().into());
    body.insert("aud".into(), tool.client_id.clone().into());
    body.insert("azp".into(), tool.client_id.clone().into());
    body.insert("sub".into(), user.id.to_string().into());
    body.insert("iat".into(), now.into());
    body.insert("exp".into(), (now + ID_TOKEN_TTL.whole_seconds()).into());
    body.insert("nonce".into(), nonce.into());
    // Every tool is sent the person's name and email (docs/lti.md, privacy).
    body.insert("name".into(), name.into());
    body.insert("email".into(), email.into());
    body.extend(lti.claims());
    inputs.keys.sign_id_token(IdTokenAlg::Rs256, &Value::Object(body)).map_err(|e| LtiError::Unexpected(e.to_string()))
}

/// Decides what to do with an authorization request.
pub fn decide(conn: &mut DbConnection, inputs: Inputs) -> Result<Outcome, LtiError> {
    let params = &inputs.params;
    let Ok(Some(client_id)) = get(params, "client_id") else {
        return Ok(Outcome::ErrorPage("The request names no tool (client_id is missing or repeated).".into()));
    };
    let Ok(Some(redirect_uri)) = get(params, "redirect_uri") else {
        return Ok(Outcome::ErrorPage("The request has no redirect_uri (or more than one).".into()));
    };
    let Some((tool, registered)) = tools::find_with_redirect(conn, client_id, redirect_uri)? else {
        return Ok(Outcome::ErrorPage("The tool is not registered with Lectern.".into()));
    };
    if !registered {
        return Ok(Outcome::ErrorPage(format!(
            "“{}” asked to send you to an address it has not registered with Lectern, so Lectern will not send you there.",
            tool.name
        )));
    }
    // From here every answer goes to the registered redirect URI, with the tool's state.
    let state = get(params, "state").ok().flatten().filter(|s| s.chars().count() <= MAX_VALUE_CHARS);
    let post = |mut fields: Vec<(String, String)>| {
        if let Some(state) = state {
            fields.push(("state".into(), state.to_owned()));
        }
        Outcome::FormPost { action: redirect_uri.to_owned(), fields }
    };
    let refuse = |r: Refusal| post(vec![("error".into(), r.error.into()), ("error_description".into(), r.description)]);

    let request = match check(params, inputs.encoded_len) {
        Ok(request) => request,
        Err(r) => return Ok(refuse(r)),
    };
    let user = match &inputs.caller {
        Caller::SignedIn(user) => user.clone(),
        Caller::Expired if !request.refreshed => {
            return Ok(Outcome::Refresh { next: resume_url(params, &[(REFRESHED_PARAM, "1")]) });
        }
        Caller::Expired | Caller::Anonymous if inputs.cookieless_post => {
            return Ok(Outcome::Resume { next: resume_url(params, &[]) });
        }
        Caller::Expired | Caller::Anonymous => {
            return Ok(refuse(refusal("login_required", "nobody is signed in to Lectern in this browser")));
        }
    };
    if !hints::login_hint_is_for(&inputs.key, user.id, request.login_hint) {
        return Ok(refuse(refusal(
            "login_required",
            "the person signed in to Lectern is not the one this launch was started for",
        )));
    }
    let Some(link) = hints::link_of_message_hint(&inputs.key, request.message_hint, user.id, tool.id, inputs.now)
    else {
        return Ok(refuse(refusal(
            "invalid_request",
            "lti_message_hint is not a recent launch of this tool by the signed-in person",
        )));
    };
    let launch = match tool_links::launchable(conn, link, &user) {
        Ok(launch) if launch.link.tool_id == tool.id => launch,
        Ok(_) | Err(course_service::CourseError::NotFound | course_service::CourseError::NotVisible) => {
            return Ok(refuse(refusal("access_denied", "this link no longer exists")));
        }
        Err(course_service::CourseError::Forbidden(_)) => {
            return Ok(refuse(refusal("access_denied", "the signed-in person is no longer a member of this course")));
        }
        Err(e) => return Err(e.into()),
    };
    if !spend_nonce(conn, &tool, request.nonce, inputs.now)? {
        return Ok(refuse(refusal("invalid_request", "this nonce was used before")));
    }
    let token = id_token(conn, &inputs, &tool, &launch, &user, request.nonce)?;
    Ok(post(vec![("id_token".into(), token)]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = [
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
            ("client_id", "c"),
            ("redirect_uri", "https://tool.example/launch"),
            ("state", "s"),
            ("nonce", "n"),
            ("login_hint", "h"),
            ("lti_message_hint", "m"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            p.retain(|(name, _)| name != k);
            if !v.is_empty() {
                p.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        p
    }

    fn error_of(p: &[(String, String)]) -> &'static str {
        match check(p, 100) {
            Ok(_) => "accepted",
            Err(r) => r.error,
        }
    }

    #[test]
    fn the_request_must_be_an_lti_authentication_request() {
        assert_eq!(error_of(&params(&[])), "accepted");
        assert_eq!(error_of(&params(&[("response_type", "code")])), "unsupported_response_type");
        assert_eq!(error_of(&params(&[("response_type", "")])), "invalid_request");
        assert_eq!(error_of(&params(&[("response_mode", "query")])), "invalid_request");
        assert_eq!(error_of(&params(&[("scope", "profile")])), "invalid_scope");
        assert_eq!(error_of(&params(&[("prompt", "login")])), "invalid_request");
        assert_eq!(error_of(&params(&[("prompt", "")])), "invalid_request");
        for required in ["nonce", "login_hint", "lti_message_hint"] {
            assert_eq!(error_of(&params(&[(required, "")])), "invalid_request", "{required}");
        }
        let mut twice = params(&[]);
        twice.push(("nonce".into(), "again".into()));
        assert_eq!(error_of(&twice), "invalid_request");
        assert_eq!(error_of(&params(&[("nonce", &"n".repeat(MAX_VALUE_CHARS + 1))])), "invalid_request");
        assert!(check(&params(&[]), MAX_REQUEST_BYTES + 1).is_err());
    }

    #[test]
    fn resuming_keeps_the_request_and_drops_the_marker() {
        let p = params(&[(REFRESHED_PARAM, "1")]);
        let url = resume_url(&p, &[(REFRESHED_PARAM, "1")]);
        assert!(url.starts_with("/lti/authorize?scope=openid&"), "{url}");
        assert_eq!(url.matches("lectern_refreshed=1").count(), 1);
        assert!(url.contains("redirect_uri=https%3A%2F%2Ftool.example%2Flaunch"));
    }
}
