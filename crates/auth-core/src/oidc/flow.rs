//! What the authorization endpoint does with a request, and what the consent form does with the
//! person's answer: one function, [`decide`], run in one database call.
//!
//! In order: the client and its redirect URI (faults: an error page, never a redirect); the rest of
//! the request (faults: redirected to the application with `error`); who is signed in, and whether
//! that sign-in is recent enough for `prompt=login` and `max_age`; then the consent, remembered
//! per person and application. Only then is a code issued: 256 random bits, kept as a SHA-256,
//! bound to the client, the redirect URI, the PKCE challenge, the nonce, the scopes, the person,
//! the session and its sign-in time, spendable once within [`super::CODE_TTL`].

use super::request::{AuthRequest, FRESH_LOGIN_PARAM, REFRESHED_PARAM, RawParams, Refusal, Target, Untrusted};
use super::store::{self, ClientId, CodeRow};
use super::{CODE_TTL, Scopes, random_token, token_hash};
use crate::error::AuthError;
use lectern_common::csrf::CsrfKey;
use lectern_common::db::{DbConnection, to_db_time, write_tx};
use lectern_common::ids::{SessionId, UserId};
use time::OffsetDateTime;

/// How long after Lectern asked for a fresh sign-in that sign-in may take.
pub const FRESH_LOGIN_WINDOW: time::Duration = time::Duration::minutes(10);

/// The browser's session, as its access cookie says.
#[derive(Clone, Copy, Debug)]
pub enum Caller {
    /// A verified access token.
    SignedIn { user: UserId, session: SessionId },
    /// A token that verified in every way but has expired: refresh it first.
    Expired,
    /// No token, or one that does not verify.
    Anonymous,
}

/// The person's answer on the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

/// What the consent page shows.
#[derive(Clone, Debug)]
pub struct ConsentView {
    pub client_id: ClientId,
    pub client_name: String,
    pub redirect_uri: String,
    pub scopes: Scopes,
    /// The request, carried through the form unchanged.
    pub params: RawParams,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    /// The request cannot be answered to anyone: an error page (400).
    ErrorPage(String),
    /// Back to the application (a code, or an error), at a registered redirect URI.
    ToClient(String),
    /// To the sign-in page, which comes back to `next`.
    SignIn { next: String },
    /// Refresh the session cookie, then come back to `next`.
    Refresh { next: String },
    /// Ask again with a GET to `next` (a cross-site POST arrives without the session cookie).
    Resume { next: String },
    /// Ask the person.
    Consent(Box<ConsentView>),
}

/// Everything [`decide`] needs besides the database.
pub struct Inputs {
    pub params: RawParams,
    /// Size of the query or form as sent.
    pub encoded_len: usize,
    pub caller: Caller,
    pub decision: Option<Decision>,
    /// A POST that carried no session cookie: ask again as a GET before treating it as signed out.
    pub cookieless_post: bool,
    pub now: OffsetDateTime,
    /// The OpenID Connect issuer (`LECTERN_PUBLIC_URL`).
    pub issuer: String,
    /// Signs the fresh-sign-in marker (auth-core's own key).
    pub key: CsrfKey,
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn fresh_binding(at: i64, client: ClientId) -> String {
    format!("{at}:{client}")
}

/// `T.MAC`: Lectern asked this client's request for a sign-in at `T` (milliseconds).
pub fn fresh_login_marker(key: &CsrfKey, client: ClientId, now: OffsetDateTime) -> String {
    let at = millis(now);
    format!("{at}.{}", key.token("oidc-fresh-login", &fresh_binding(at, client)))
}

/// The time in a genuine, recent marker for this client.
fn fresh_login_since(key: &CsrfKey, client: ClientId, marker: &str, now: OffsetDateTime) -> Option<i64> {
    let (at, mac) = marker.split_once('.')?;
    let at: i64 = at.parse().ok()?;
    let recent = at <= millis(now) + 5_000 && at >= millis(now - FRESH_LOGIN_WINDOW);
    (recent && key.verify("oidc-fresh-login", &fresh_binding(at, client), mac)).then_some(at)
}

/// Decides what to do with an authorization request (and, with `decision`, the consent form).
pub fn decide(conn: &mut DbConnection, inputs: Inputs) -> Result<Outcome, AuthError> {
    let Inputs { params, encoded_len, caller, decision, cookieless_post, now, issuer, key } = inputs;
    let target = match Target::read(&params) {
        Ok(target) => target,
        Err(Untrusted(why)) => return Ok(Outcome::ErrorPage(why)),
    };
    let Some((client, registered)) = store::find_client_with_redirect(conn, target.client_id, &target.redirect_uri)?
    else {
        return Ok(Outcome::ErrorPage("The application is not registered with Lectern.".into()));
    };
    if !registered {
        return Ok(Outcome::ErrorPage(format!(
            "“{}” asked to send you to an address it has not registered with Lectern, so Lectern will not send you there.",
            client.name
        )));
    }
    let refuse = |r: Refusal| {
        Outcome::ToClient(target.redirect(&issuer, &[("error", r.error), ("error_description", &r.description)]))
    };
    let request = match AuthRequest::check(&params, encoded_len) {
        Ok(request) => request,
        Err(refusal) => return Ok(refuse(refusal)),
    };
    let wants_fresh = request.prompt.login || request.max_age.is_some();
    let sign_in = || {
        let extra = wants_fresh.then(|| fresh_login_marker(&key, client.id, now));
        let extra: Vec<(&str, &str)> = extra.iter().map(|m| (FRESH_LOGIN_PARAM, m.as_str())).collect();
        Outcome::SignIn { next: params.resume_url(&extra) }
    };
    let signed_out = |request: &AuthRequest| {
        if cookieless_post {
            Outcome::Resume { next: params.resume_url(&[]) }
        } else if request.prompt.none {
            refuse(Refusal::new("login_required", "nobody is signed in to Lectern in this browser"))
        } else {
            sign_in()
        }
    };

    let (user, session) = match caller {
        Caller::SignedIn { user, session } => (user, session),
        Caller::Expired if !request.refreshed => {
            return Ok(Outcome::Refresh { next: params.resume_url(&[(REFRESHED_PARAM, "1")]) });
        }
        Caller::Expired | Caller::Anonymous => return Ok(signed_out(&request)),
    };
    let auth_time = match store::session_of(conn, session, user)? {
        Some((created_at, None)) => created_at,
        _ => return Ok(signed_out(&request)),
    };
    let signed_in_at = auth_time.assume_utc();
    let fresh = request
        .fresh_login
        .as_deref()
        .and_then(|m| fresh_login_since(&key, client.id, m, now))
        .is_some_and(|asked_at| millis(signed_in_at) >= asked_at);
    let too_old = request.max_age.is_some_and(|max| (now - signed_in_at).whole_seconds() > max);
    if (request.prompt.login || too_old) && !fresh {
        if request.prompt.none {
            return Ok(refuse(Refusal::new("login_required", "the sign-in is older than max_age allows")));
        }
        return Ok(sign_in());
    }

    let code = || {
        let code = random_token();
        let row = CodeRow {
            code_hash: token_hash(&code),
            client_id: client.id,
            user_id: user,
            session_id: session,
            redirect_uri: target.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            scope: request.scopes.to_string(),
            auth_time,
            issued_at: to_db_time(now),
            expires_at: to_db_time(now + CODE_TTL),
            spent_at: None,
        };
        (code, row)
    };
    match decision {
        Some(Decision::Deny) => Ok(refuse(Refusal::new("access_denied", "the person declined"))),
        Some(Decision::Approve) => {
            let (code, row) = code();
            write_tx(conn, |conn| {
                let before = store::consent(conn, user, client.id)?.map(|s| Scopes::parse(&s)).unwrap_or_default();
                store::save_consent(
                    conn,
                    user,
                    client.id,
                    &before.union(&request.scopes).to_string(),
                    to_db_time(now),
                )?;
                store::insert_code(conn, &row)
            })?;
            Ok(Outcome::ToClient(target.redirect(&issuer, &[("code", &code)])))
        }
        None => {
            let granted = store::consent(conn, user, client.id)?.map(|s| Scopes::parse(&s));
            let covered = granted.is_some_and(|g| request.scopes.is_subset(&g));
            if covered && !request.prompt.consent {
                let (code, row) = code();
                store::insert_code(conn, &row)?;
                return Ok(Outcome::ToClient(target.redirect(&issuer, &[("code", &code)])));
            }
            if request.prompt.none {
                return Ok(refuse(Refusal::new("consent_required", "the person has not allowed this application yet")));
            }
            Ok(Outcome::Consent(Box::new(ConsentView {
                client_id: client.id,
                client_name: client.name,
                redirect_uri: target.redirect_uri.clone(),
                scopes: request.scopes,
                params,
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fresh_sign_in_marker_is_bound_to_its_client_and_time() {
        let key = CsrfKey::new([3; 64]);
        let client = ClientId::new();
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let marker = fresh_login_marker(&key, client, now);
        assert_eq!(fresh_login_since(&key, client, &marker, now), Some(millis(now)));
        assert_eq!(fresh_login_since(&key, ClientId::new(), &marker, now), None, "another client");
        assert_eq!(fresh_login_since(&CsrfKey::new([4; 64]), client, &marker, now), None, "another key");
        assert_eq!(fresh_login_since(&key, client, &marker, now + FRESH_LOGIN_WINDOW + time::Duration::SECOND), None);
        let (_, mac) = marker.split_once('.').unwrap_or_default();
        let earlier = format!("{}.{mac}", millis(now) - 60_000);
        assert_eq!(fresh_login_since(&key, client, &earlier, now), None, "a moved time");
        assert_eq!(fresh_login_since(&key, client, "garbage", now), None);
    }
}
