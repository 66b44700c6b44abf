//! An authorization request, parsed and checked without the database.
//!
//! Two stages, because an error may be sent back to the application only once its redirect URI
//! is known to be registered (RFC 6749 §4.1.2.1; RFC 9700 §4.1): [`Target`] reads `client_id`,
//! `redirect_uri` and `state`, whose faults are shown to the person as an error page, never
//! redirected; [`AuthRequest::check`] reads the rest, whose faults are redirected to the
//! application once the target checked out.

use super::Scopes;
use super::store::ClientId;
use lectern_common::extract::urlencode;
use std::str::FromStr;

/// The longest authorization request accepted (query string or form body). A sign-in first
/// carries the whole request in `?next=`, and then again in the sign-in form; past a few KiB
/// gateways answer 414.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// The longest `state` or `nonce` accepted.
pub const MAX_VALUE_CHARS: usize = 1024;

/// Set by Lectern on the request it resumes after a sign-in that `prompt=login` or `max_age`
/// demanded: `T.MAC`, a sign-in at or after `T` satisfies them (see `flow.rs`).
pub const FRESH_LOGIN_PARAM: &str = "lectern_fresh";
/// Set by Lectern on the request it resumes after trying to refresh an expired session cookie,
/// so a failed refresh does not loop.
pub const REFRESHED_PARAM: &str = "lectern_refreshed";

/// A parameter given more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeated;

/// The request's parameters in order, as sent.
#[derive(Clone, Debug, Default)]
pub struct RawParams(Vec<(String, String)>);

impl RawParams {
    /// `application/x-www-form-urlencoded` (a query string or a form body); `None` if it is not.
    pub fn parse(encoded: &str) -> Option<Self> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(encoded).ok().map(Self)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The one value of `name`; `Err(Repeated)` when it is given more than once (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            (_, Some(_)) => Err(Repeated),
        }
    }

    /// A non-empty value (an empty parameter counts as absent, as OpenID Connect Core §3.1.2.1 allows).
    fn value(&self, name: &str) -> Result<Option<&str>, Repeated> {
        Ok(self.get(name)?.filter(|v| !v.is_empty()))
    }

    fn first_duplicate(&self) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, (k, _))| self.0[..*i].iter().any(|(j, _)| j == k))
            .map(|(_, (k, _))| k.as_str())
    }

    /// The same request as a GET URL of the authorization endpoint, without Lectern's own
    /// markers, plus `extra` (to resume it after a sign-in or a refresh).
    pub fn resume_url(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| k != FRESH_LOGIN_PARAM && k != REFRESHED_PARAM)
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        pairs.extend(extra.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))));
        format!("{}?{}", super::AUTHORIZE_PATH, pairs.join("&"))
    }
}

/// A fault the application cannot be told about (its client or redirect URI is unknown or
/// malformed): an error page for the person, and no redirect anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untrusted(pub String);

/// The application and where its answers go, as the request names them (checked against the
/// registration by the caller).
#[derive(Clone, Debug)]
pub struct Target {
    pub client_id: ClientId,
    pub redirect_uri: String,
    /// Echoed in every redirect (absent when missing, repeated or too long).
    pub state: Option<String>,
}

impl Target {
    pub fn read(params: &RawParams) -> Result<Self, Untrusted> {
        let client_id = params
            .value("client_id")
            .map_err(|_| Untrusted("client_id is given more than once.".into()))?
            .ok_or_else(|| Untrusted("The request names no application (client_id is missing).".into()))?;
        let client_id = ClientId::from_str(client_id)
            .map_err(|_| Untrusted("The application is not registered with Lectern.".into()))?;
        let redirect_uri = params
            .value("redirect_uri")
            .map_err(|_| Untrusted("redirect_uri is given more than once.".into()))?
            .ok_or_else(|| Untrusted("The request has no redirect_uri.".into()))?
            .to_owned();
        let state = params.get("state").ok().flatten().filter(|s| s.chars().count() <= MAX_VALUE_CHARS);
        Ok(Self { client_id, redirect_uri, state: state.map(str::to_owned) })
    }

    /// The application's redirect URI with `pairs` added to its query, and `state` and the issuer
    /// (RFC 9207, so an application talking to several providers knows who answered).
    pub fn redirect(&self, issuer: &str, pairs: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        all.push(("iss", issuer));
        let query: Vec<String> = all.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect();
        let separator = if self.redirect_uri.contains('?') { '&' } else { '?' };
        format!("{}{separator}{}", self.redirect_uri, query.join("&"))
    }
}

/// An error sent back to the application (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: String,
}

impl Refusal {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { error, description: description.into() }
    }

    fn invalid(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
}

/// `prompt` (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// No page may be shown: answer at once or say why not.
    pub none: bool,
    /// Sign in again, whatever the session.
    pub login: bool,
    /// Ask for consent again, whatever was remembered.
    pub consent: bool,
}

/// The rest of a well-formed request.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub scopes: Scopes,
    pub nonce: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)), 43 characters.
    pub code_challenge: String,
    pub prompt: Prompt,
    /// Seconds since the person signed in beyond which they sign in again.
    pub max_age: Option<i64>,
    /// Lectern's marker of a sign-in it demanded (unverified here).
    pub fresh_login: Option<String>,
    /// Lectern's marker of a refresh already tried.
    pub refreshed: bool,
}

fn is_base64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl AuthRequest {
    /// Checks everything but the target; `encoded_len` is the size of the query or form as sent.
    pub fn check(params: &RawParams, encoded_len: usize) -> Result<Self, Refusal> {
        if encoded_len > MAX_REQUEST_BYTES {
            return Err(Refusal::invalid(format!("the request is longer than {MAX_REQUEST_BYTES} bytes")));
        }
        if let Some(name) = params.first_duplicate() {
            return Err(Refusal::invalid(format!("{name} is given more than once")));
        }
        let get = |name: &str| params.value(name).ok().flatten();
        match get("response_type") {
            None => return Err(Refusal::invalid("response_type is missing")),
            Some("code") => {}
            Some(other) => {
                return Err(Refusal::new(
                    "unsupported_response_type",
                    format!("response_type {other:?} is not supported; only \"code\""),
                ));
            }
        }
        if get("request").is_some() {
            return Err(Refusal::new("request_not_supported", "request objects are not supported"));
        }
        if get("request_uri").is_some() {
            return Err(Refusal::new("request_uri_not_supported", "request_uri is not supported"));
        }
        if get("registration").is_some() {
            return Err(Refusal::new("registration_not_supported", "the registration parameter is not supported"));
        }
        if let Some(mode) = get("response_mode")
            && mode != "query"
        {
            return Err(Refusal::invalid(format!("response_mode {mode:?} is not supported; only \"query\"")));
        }
        let scope = get("scope").unwrap_or_default();
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(Refusal::new("invalid_scope", "the scope must include openid"));
        }
        let scopes = Scopes::parse(scope);
        let Some(challenge) = get("code_challenge") else {
            return Err(Refusal::invalid("PKCE is required: code_challenge is missing"));
        };
        match get("code_challenge_method") {
            Some("S256") => {}
            None | Some("plain") => {
                return Err(Refusal::invalid("code_challenge_method must be S256 (plain is not accepted)"));
            }
            Some(other) => return Err(Refusal::invalid(format!("code_challenge_method {other:?} is not supported"))),
        }
        if challenge.len() != 43 || !is_base64url(challenge) {
            return Err(Refusal::invalid("code_challenge must be BASE64URL(SHA-256(code_verifier)): 43 characters"));
        }
        if get("state").is_some_and(|s| s.chars().count() > MAX_VALUE_CHARS) {
            return Err(Refusal::invalid(format!("state is longer than {MAX_VALUE_CHARS} characters")));
        }
        let nonce = get("nonce");
        if nonce.is_some_and(|n| n.chars().count() > MAX_VALUE_CHARS) {
            return Err(Refusal::invalid(format!("nonce is longer than {MAX_VALUE_CHARS} characters")));
        }
        let mut prompt = Prompt::default();
        for word in get("prompt").unwrap_or_default().split(' ').filter(|w| !w.is_empty()) {
            match word {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                // One account per browser: there is nothing to select.
                "select_account" => {}
                other => return Err(Refusal::invalid(format!("prompt value {other:?} is not supported"))),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(Refusal::invalid("prompt=none cannot be combined with other values"));
        }
        let max_age = match get("max_age") {
            None => None,
            Some(raw) => match raw.parse::<u32>() {
                Ok(secs) => Some(i64::from(secs)),
                Err(_) => return Err(Refusal::invalid("max_age must be a whole number of seconds")),
            },
        };
        Ok(Self {
            scopes,
            nonce: nonce.map(str::to_owned),
            code_challenge: challenge.to_owned(),
            prompt,
            max_age,
            fresh_login: get(FRESH_LOGIN_PARAM).map(str::to_owned),
            refreshed: get(REFRESHED_PARAM).is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn query(extra: &str) -> String {
        format!(
            "response_type=code&client_id=6f1e8a3c-2b7d-4f3e-9a41-0c5d2e7b8f90&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
             &scope=openid+profile&state=s1&nonce=n1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
        )
    }

    fn params(extra: &str) -> RawParams {
        RawParams::parse(&query(extra)).unwrap()
    }

    fn refusal(raw: &RawParams) -> Refusal {
        AuthRequest::check(raw, 100).unwrap_err()
    }

    fn without(name: &str) -> RawParams {
        RawParams(params("").0.into_iter().filter(|(k, _)| k != name).collect())
    }

    #[test]
    fn a_good_request_reads_whole() {
        let req = AuthRequest::check(&params("&prompt=login&max_age=30"), 300).unwrap();
        assert_eq!(req.scopes.to_string(), "openid profile");
        assert_eq!(req.nonce.as_deref(), Some("n1"));
        assert!(req.prompt.login && !req.prompt.none);
        assert_eq!(req.max_age, Some(30));
        let target = Target::read(&params("")).unwrap();
        assert_eq!(target.redirect_uri, "https://rp.example/cb");
        assert_eq!(target.state.as_deref(), Some("s1"));
    }

    #[test]
    fn each_fault_has_its_error() {
        assert_eq!(refusal(&without("response_type")).error, "invalid_request");
        let token = RawParams::parse(&query("").replace("response_type=code", "response_type=token")).unwrap();
        assert_eq!(refusal(&token).error, "unsupported_response_type");
        assert_eq!(refusal(&params("&request=eyJ")).error, "request_not_supported");
        assert_eq!(refusal(&params("&request_uri=https%3A%2F%2Fx")).error, "request_uri_not_supported");
        assert_eq!(refusal(&params("&registration=%7B%7D")).error, "registration_not_supported");
        assert_eq!(refusal(&params("&response_mode=fragment")).error, "invalid_request");
        assert_eq!(refusal(&without("scope")).error, "invalid_scope");
        assert_eq!(refusal(&without("code_challenge")).error, "invalid_request");
        assert_eq!(refusal(&without("code_challenge_method")).error, "invalid_request", "plain by default");
        assert_eq!(refusal(&params("&prompt=none+login")).error, "invalid_request");
        assert_eq!(refusal(&params("&prompt=bogus")).error, "invalid_request");
        assert_eq!(refusal(&params("&max_age=-1")).error, "invalid_request");
        assert_eq!(refusal(&params("&state=again")).error, "invalid_request", "a repeated parameter");
        assert_eq!(AuthRequest::check(&params(""), MAX_REQUEST_BYTES + 1).unwrap_err().error, "invalid_request");
    }

    #[test]
    fn the_target_is_read_first_and_never_trusted_blindly() {
        assert!(Target::read(&without("client_id")).is_err());
        assert!(Target::read(&without("redirect_uri")).is_err());
        assert!(Target::read(&params("&client_id=other")).is_err(), "repeated");
        let long =
            RawParams::parse(&query("").replace("state=s1", &format!("state={}", "s".repeat(MAX_VALUE_CHARS + 1))))
                .unwrap();
        assert_eq!(Target::read(&long).unwrap().state, None, "an over-long state is not echoed");
        assert_eq!(refusal(&long).error, "invalid_request");
        assert_eq!(Target::read(&params("&state=again")).unwrap().state, None, "nor a repeated one");
    }

    #[test]
    fn redirects_keep_the_registered_query_and_add_state_and_iss() {
        let mut target = Target::read(&params("")).unwrap();
        assert_eq!(
            target.redirect("https://lectern.example", &[("code", "abc")]),
            "https://rp.example/cb?code=abc&state=s1&iss=https%3A%2F%2Flectern.example"
        );
        target.redirect_uri = "https://rp.example/cb?tenant=a".into();
        target.state = None;
        assert_eq!(
            target.redirect("https://lectern.example", &[("error", "access_denied")]),
            "https://rp.example/cb?tenant=a&error=access_denied&iss=https%3A%2F%2Flectern.example"
        );
    }

    #[test]
    fn resuming_drops_lectern_markers() {
        let url = params("&lectern_fresh=1.x&lectern_refreshed=1").resume_url(&[(REFRESHED_PARAM, "1")]);
        assert!(url.starts_with("/auth/oauth/authorize?response_type=code&"), "{url}");
        assert_eq!(url.matches("lectern_refreshed=1").count(), 1);
        assert!(!url.contains("lectern_fresh"));
        assert!(lectern_common::extract::safe_next(Some(&url), "https://lectern.example") == url, "{url}");
    }
}
