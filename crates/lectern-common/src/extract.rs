//! Identity by extractor type: a handler's signature states what it requires.
//!
//! - [`AuthUser`]: a verified access token from `Authorization: Bearer` or the `lectern_at`
//!   cookie; otherwise 401 with the RFC 6750 challenge.
//! - [`Teacher`] / [`Student`]: an `AuthUser` of that role; the other role gets 403. Made only
//!   here, so service functions take them as proof of the role.
//! - [`MaybeAuthUser`]: no credentials is `None`, but *bad* credentials are still 401.
//! - [`Page<R>`] ([`PageUser`], [`PageTeacher`], [`PageStudent`]): for HTML pages; an anonymous
//!   visitor is sent to sign-in, an expired cookie to the transparent refresh, both with `?next=`
//!   the page asked for; the wrong role gets the error page with the API's 403.
//! - [`SecureForm<T, R>`] / [`AnonForm`]: a posted form whose role, CSRF token and origin checked out.
//!
//! Every token goes through the one [`Verifier`](token_claims::Verifier) of the service that
//! mounted the route. Extractors never log the token.

use crate::csrf::{self, CsrfKey};
use crate::ids::{SessionId, UserId};
use crate::problem::{Challenge, PageError, Problem};
use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::sync::Arc;
use token_claims::{Role, VerifiedClaims, Verifier, VerifyError};

/// Cookie holding the access token for pages (over http; see [`CookieNames`]).
pub const ACCESS_COOKIE: &str = "lectern_at";
/// Cookie holding the refresh token; only ever sent to `/auth`.
pub const REFRESH_COOKIE: &str = "lectern_rt";

/// The cookies' names. When the public URL is https they carry the prefixes browsers enforce: the
/// access cookie (Path=/) is `__Host-`, so it is only ever set by this host, over https, for the
/// whole site; the refresh and pre-session cookies are scoped to `/auth`, which `__Host-` does not
/// allow, so they are `__Secure-` (set only over https, and without a `Domain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieNames {
    pub access: &'static str,
    pub refresh: &'static str,
    pub pre_session: &'static str,
    /// `Secure` on every cookie.
    pub secure: bool,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        if secure {
            Self {
                access: "__Host-lectern_at",
                refresh: "__Secure-lectern_rt",
                pre_session: "__Secure-lectern_pre",
                secure,
            }
        } else {
            Self { access: ACCESS_COOKIE, refresh: REFRESH_COOKIE, pre_session: csrf::PRE_SESSION_COOKIE, secure }
        }
    }

    /// A cookie that deletes `name` at `path` (a prefixed cookie can only be deleted over https).
    pub fn removal(&self, name: &'static str, path: &'static str) -> actix_web::cookie::Cookie<'static> {
        let mut c = actix_web::cookie::Cookie::build(name, "").path(path).http_only(true).secure(self.secure).finish();
        c.make_removal();
        c
    }
}

/// What a service's identity extractors need, registered as `web::Data<Identity>` on the
/// service's scopes (each service verifies with its own audience).
#[derive(Clone)]
pub struct Identity {
    pub verifier: Arc<Verifier>,
    /// Signs and checks the CSRF tokens of this service's forms.
    pub csrf: CsrfKey,
    /// The key of the sign-out button every page shows (posted to auth-core from pages of any
    /// service): the course and grading services' key, which auth-core can read too. auth-core's
    /// other forms use its own key, which no other service can read.
    pub sign_out_csrf: CsrfKey,
    /// `scheme://host[:port]` of `LECTERN_PUBLIC_URL`, compared with `Origin`.
    pub public_origin: String,
    pub cookies: CookieNames,
}

impl Identity {
    pub fn new(verifier: Arc<Verifier>, csrf: CsrfKey, public_url: &str) -> Self {
        Self {
            verifier,
            sign_out_csrf: csrf.clone(),
            csrf,
            public_origin: origin_of(public_url),
            cookies: CookieNames::new(public_url.starts_with("https://")),
        }
    }
}

/// `https://host:port/some/path` → `https://host:port`.
pub fn origin_of(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    match url[scheme_end..].find('/') {
        Some(slash) => url[..scheme_end + slash].to_owned(),
        None => url.to_owned(),
    }
}

/// A caller whose access token verified.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: UserId,
    pub session: SessionId,
    pub role: Role,
    pub name: String,
    /// `exp` of the token, seconds since the epoch.
    pub expires_at: i64,
}

impl From<VerifiedClaims> for AuthUser {
    fn from(c: VerifiedClaims) -> Self {
        Self {
            id: UserId(c.user_id),
            session: SessionId(c.session_id),
            role: c.role,
            name: c.name,
            expires_at: c.expires_at,
        }
    }
}

/// Why a request carries no usable identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No credentials at all.
    Missing,
    /// Credentials that failed verification (the reason is for logs and metrics only).
    Invalid(VerifyError),
    /// A token in the query string: never accepted, since URLs end up in logs and histories.
    TokenInQuery,
    /// A cookie-authenticated unsafe request from another origin.
    CrossSite,
    /// The service forgot to register its `Identity` (a deployment bug: 500).
    Misconfigured,
}

impl Rejection {
    pub fn problem(&self) -> Problem {
        match self {
            Self::Missing => Problem::unauthorized(Challenge::Bearer),
            Self::Invalid(_) | Self::TokenInQuery => Problem::unauthorized(Challenge::InvalidToken),
            Self::CrossSite => Problem::forbidden("cross-site request refused"),
            Self::Misconfigured => Problem::internal(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Header,
    Cookie,
}

/// The request's access token: borrowed from the `Authorization` header (no copy on the path
/// every API call takes), or the access cookie's value.
fn token_of<'r>(req: &'r HttpRequest, cookie: &str) -> Result<Option<(Cow<'r, str>, Source)>, Rejection> {
    if query_has_token(req.query_string()) {
        return Err(Rejection::TokenInQuery);
    }
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        // UTF-8 is all a string needs (checked many bytes at a time, where `to_str`'s visible-ASCII
        // check goes byte by byte over a token of ~700): the verifier refuses anything that is
        // not three base64url segments.
        let value = std::str::from_utf8(value.as_bytes()).map_err(|_| Rejection::Invalid(VerifyError::Malformed))?;
        let (scheme, token) = value.split_once(' ').ok_or(Rejection::Invalid(VerifyError::Malformed))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Rejection::Invalid(VerifyError::Malformed));
        }
        return Ok(Some((Cow::Borrowed(token.trim()), Source::Header)));
    }
    Ok(req
        .cookie(cookie)
        .map(|c| (Cow::<str>::Owned(c.value().to_owned()), Source::Cookie))
        .filter(|(t, _)| !t.is_empty()))
}

fn query_has_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        name.eq_ignore_ascii_case("access_token") || name.eq_ignore_ascii_case("token")
    })
}

/// Verifies the request's credentials once; the outcome is kept in the request extensions so
/// that several extractors on one handler do not verify twice.
async fn authenticate(req: &HttpRequest) -> Result<Option<AuthUser>, Rejection> {
    if let Some(done) = req.extensions().get::<Result<Option<AuthUser>, Rejection>>() {
        return done.clone();
    }
    let outcome = authenticate_uncached(req).await;
    if let Err(Rejection::Invalid(reason)) = &outcome {
        tracing::debug!(reason = reason.reason(), rule = reason.rule(), "token rejected");
        if let Some(metrics) = req.app_data::<web::Data<crate::metrics::Metrics>>() {
            metrics.token_rejections.with_label_values(&[reason.reason()]).inc();
        }
    }
    req.extensions_mut().insert(outcome.clone());
    outcome
}

async fn authenticate_uncached(req: &HttpRequest) -> Result<Option<AuthUser>, Rejection> {
    let Some(identity) = req.app_data::<web::Data<Identity>>() else {
        tracing::error!("no Identity registered for this route");
        return Err(Rejection::Misconfigured);
    };
    let Some((token, source)) = token_of(req, identity.cookies.access)? else {
        return Ok(None);
    };
    let claims = match identity.verifier.verify(&token) {
        Err(VerifyError::UnknownKid) => identity.verifier.verify_refreshing(&token).await,
        other => other,
    }
    .map_err(Rejection::Invalid)?;
    // A cookie rides along with any request the browser makes, so an unsafe request that
    // authenticates by cookie must come from our own pages.
    if source == Source::Cookie && !is_safe(req.method()) && !csrf::same_origin(req, &identity.public_origin) {
        return Err(Rejection::CrossSite);
    }
    Ok(Some(claims.into()))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequest for AuthUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(&req).await {
                Ok(Some(user)) => Ok(user),
                Ok(None) => Err(Rejection::Missing.problem()),
                Err(rejection) => Err(rejection.problem()),
            }
        })
    }
}

/// No credentials: `None`. Bad credentials: 401, never silently anonymous.
#[derive(Clone, Debug)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequest for MaybeAuthUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(MaybeAuthUser).map_err(|r| r.problem()) })
    }
}

/// A role a verified caller can be proven to have. The role types are made only here, from a
/// verified [`AuthUser`] whose token carries that role, so holding a [`Teacher`] is proof of a
/// teacher's token: a service function that takes `&Teacher` cannot be called for a student.
pub trait CallerRole: Sized {
    /// The caller with this role, or the refusal (403) that says who may do this.
    fn from_user(user: AuthUser) -> Result<Self, Problem>;
    /// Who the caller is.
    fn user(&self) -> &AuthUser;
}

impl CallerRole for AuthUser {
    fn from_user(user: AuthUser) -> Result<Self, Problem> {
        Ok(user)
    }
    fn user(&self) -> &AuthUser {
        self
    }
}

macro_rules! role_type {
    ($(#[$meta:meta])* $name:ident, $role:expr, $refusal:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name(AuthUser);

        impl $name {
            /// What a caller without this role is told (403).
            pub const REFUSAL: &'static str = $refusal;

            /// The caller, kept as verified.
            pub fn user(&self) -> &AuthUser {
                &self.0
            }

            pub fn into_user(self) -> AuthUser {
                self.0
            }
        }

        impl TryFrom<AuthUser> for $name {
            type Error = Problem;
            fn try_from(user: AuthUser) -> Result<Self, Problem> {
                if user.role == $role { Ok($name(user)) } else { Err(Problem::forbidden($refusal)) }
            }
        }

        impl CallerRole for $name {
            fn from_user(user: AuthUser) -> Result<Self, Problem> {
                Self::try_from(user)
            }
            fn user(&self) -> &AuthUser {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = AuthUser;
            fn deref(&self) -> &AuthUser {
                &self.0
            }
        }

        impl FromRequest for $name {
            type Error = Problem;
            type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = AuthUser::from_request(req, payload);
                Box::pin(async move { Self::try_from(user.await?) })
            }
        }
    };
}

role_type!(
    /// A signed-in teacher; a student gets 403.
    Teacher,
    Role::Teacher,
    "only teachers may do this"
);
role_type!(
    /// A signed-in student; a teacher gets 403.
    Student,
    Role::Student,
    "only students may do this"
);

/// A signed-in caller of role `R` on an HTML page: [`PageUser`], [`PageTeacher`] or
/// [`PageStudent`]. A page handler's signature states its rule exactly as an API handler's does.
/// An anonymous visitor is sent to sign-in and an expired cookie to the transparent refresh; a
/// caller of the wrong role gets the error page with the API's 403 and its words.
#[derive(Clone, Debug)]
pub struct Page<R = AuthUser>(pub R);

/// Any signed-in person on a page.
pub type PageUser = Page<AuthUser>;
/// A signed-in teacher on a page.
pub type PageTeacher = Page<Teacher>;
/// A signed-in student on a page.
pub type PageStudent = Page<Student>;

impl<R> std::ops::Deref for Page<R> {
    type Target = R;
    fn deref(&self) -> &R {
        &self.0
    }
}

impl<R: CallerRole> Page<R> {
    /// The CSRF token for forms on this user's pages.
    pub fn csrf_token(&self, req: &HttpRequest) -> String {
        req.app_data::<web::Data<Identity>>().map(|i| i.csrf.session_token(&self.0.user().session)).unwrap_or_default()
    }

    /// The page context for this user.
    pub fn ctx(&self, req: &HttpRequest) -> crate::PageCtx {
        let sign_out = req
            .app_data::<web::Data<Identity>>()
            .map(|i| i.sign_out_csrf.session_token(&self.0.user().session))
            .unwrap_or_default();
        crate::PageCtx::for_user(self.0.user(), self.csrf_token(req), sign_out)
    }

    /// The caller with their role, for the service.
    pub fn into_inner(self) -> R {
        self.0
    }
}

/// Where to send a page request that has no usable identity.
fn page_redirect(req: &HttpRequest, rejection: &Rejection) -> actix_web::Error {
    let next = local_next(req);
    let (target, clear) = match rejection {
        Rejection::Invalid(VerifyError::Expired) => (format!("/auth/refresh?next={}", urlencode(&next)), false),
        Rejection::Missing => (format!("/auth/sign-in?next={}", urlencode(&next)), false),
        Rejection::Invalid(_) | Rejection::TokenInQuery => (format!("/auth/sign-in?next={}", urlencode(&next)), true),
        Rejection::CrossSite => {
            return PageError(Problem::forbidden("This form came from another site and was refused.")).into();
        }
        Rejection::Misconfigured => return PageError(Problem::internal()).into(),
    };
    // 303 turns the follow-up into a GET; 307 keeps a posted form so it is not lost when the
    // access cookie expired while the page was open (the refresh answers 307 back to it).
    let status = if is_safe(req.method()) { StatusCode::SEE_OTHER } else { StatusCode::TEMPORARY_REDIRECT };
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::LOCATION, target)).insert_header((header::CACHE_CONTROL, "no-store"));
    if clear && let Some(identity) = req.app_data::<web::Data<Identity>>() {
        resp.cookie(identity.cookies.removal(identity.cookies.access, "/"));
    }
    actix_web::error::InternalError::from_response("", resp.finish()).into()
}

/// The path and query the request asked for, for `?next=`.
fn local_next(req: &HttpRequest) -> String {
    match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => "/".to_owned(),
    }
}

/// Percent-encodes a query value (`application/x-www-form-urlencoded`).
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).map(|s| s[2..].to_owned()).unwrap_or_default()
}

/// Where a page goes when `?next=` is missing or refused.
pub const DEFAULT_NEXT: &str = "/home";

/// A redirect target (`?next=`) is kept only when it is a path that stays on this site: it starts
/// with one `/`, holds no whitespace, control character or backslash anywhere (browsers strip tabs
/// and newlines and read `\` as `/`, which turns `/<TAB>/evil.example` into `//evil.example`), and,
/// resolved against the public URL, still has the public URL's origin. Anything else is
/// [`DEFAULT_NEXT`].
pub fn safe_next(next: Option<&str>, public_origin: &str) -> String {
    let Some(n) = next else { return DEFAULT_NEXT.to_owned() };
    let shaped = n.starts_with('/')
        && !n.starts_with("//")
        && !n.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\');
    let same_origin = || {
        let base = url::Url::parse(public_origin).ok()?;
        let target = base.join(n).ok()?;
        (target.origin() == base.origin()).then_some(())
    };
    if shaped && same_origin().is_some() { n.to_owned() } else { DEFAULT_NEXT.to_owned() }
}

impl Identity {
    /// The same identity with another key for the sign-out button (auth-core's pages).
    pub fn with_sign_out_key(mut self, key: CsrfKey) -> Self {
        self.sign_out_csrf = key;
        self
    }

    /// [`safe_next`] against this service's public origin.
    pub fn safe_next(&self, next: Option<&str>) -> String {
        safe_next(next, &self.public_origin)
    }
}

impl<R: CallerRole + 'static> FromRequest for Page<R> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = match authenticate(&req).await {
                Ok(Some(user)) => user,
                Ok(None) => return Err(page_redirect(&req, &Rejection::Missing)),
                Err(rejection) => return Err(page_redirect(&req, &rejection)),
            };
            R::from_user(user).map(Page).map_err(|refusal| PageError(refusal).into())
        })
    }
}

fn find_field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes::<T>(body).map_err(|e| {
        PageError(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the form could not be read: {e}")))
    })
}

fn form_refused() -> PageError {
    PageError(Problem::forbidden(
        "This form has expired or came from another site. Go back, reload the page and try again.",
    ))
}

/// A form posted by a signed-in caller of role `R` from one of our pages: the role, the
/// session-bound CSRF token and the origin all checked out (in that order, so a caller of the
/// wrong role is told so whatever the form holds).
#[derive(Debug)]
pub struct SecureForm<T, R = AuthUser> {
    pub user: Page<R>,
    pub form: T,
}

/// Which key a form's token is checked against.
#[derive(Clone, Copy)]
enum FormKey {
    /// The service's own ([`Identity::csrf`]).
    Service,
    /// The sign-out button's ([`Identity::sign_out_csrf`]).
    SignOut,
}

/// The checks every signed-in form passes, in order: the caller (role `R`), the origin, the
/// session-bound token under `key`. Returns the caller and the body.
async fn checked_form<R: CallerRole + 'static>(
    req: HttpRequest,
    body: impl std::future::Future<Output = Result<web::Bytes, actix_web::Error>>,
    key: FormKey,
) -> Result<(Page<R>, web::Bytes), actix_web::Error> {
    let user = Page::<R>::from_request(&req, &mut Payload::None).await?;
    let identity = req.app_data::<web::Data<Identity>>().ok_or_else(|| PageError(Problem::internal()))?;
    if !csrf::same_origin(&req, &identity.public_origin) {
        return Err(form_refused().into());
    }
    let body = body.await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| form_refused())?;
    let token = find_field(&pairs, csrf::FIELD).unwrap_or_default();
    let key = match key {
        FormKey::Service => &identity.csrf,
        FormKey::SignOut => &identity.sign_out_csrf,
    };
    if !key.verify("session", &user.0.user().session.to_string(), token) {
        return Err(form_refused().into());
    }
    Ok((user, body))
}

impl<T: DeserializeOwned + 'static, R: CallerRole + 'static> FromRequest for SecureForm<T, R> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let (user, body) = checked_form::<R>(req, body, FormKey::Service).await?;
            Ok(SecureForm { user, form: parse_form(&body)? })
        })
    }
}

/// The sign-out button's post: like [`SecureForm`], with the token checked against the sign-out
/// key ([`Identity::sign_out_csrf`]), since the button is rendered by whichever service served
/// the page.
#[derive(Debug)]
pub struct SignOutForm {
    pub user: PageUser,
}

impl FromRequest for SignOutForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let (user, _) = checked_form::<AuthUser>(req, body, FormKey::SignOut).await?;
            Ok(SignOutForm { user })
        })
    }
}

/// A form posted before sign-in (sign-in, sign-up): the token is bound to the pre-session cookie.
#[derive(Debug)]
pub struct AnonForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for AnonForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let identity = req.app_data::<web::Data<Identity>>().ok_or_else(|| PageError(Problem::internal()))?;
            if !csrf::same_origin(&req, &identity.public_origin) {
                return Err(form_refused().into());
            }
            let cookie = req.cookie(identity.cookies.pre_session).map(|c| c.value().to_owned()).unwrap_or_default();
            let body = body.await?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| form_refused())?;
            let token = find_field(&pairs, csrf::FIELD).unwrap_or_default();
            if cookie.is_empty() || !identity.csrf.verify("pre-session", &cookie, token) {
                return Err(form_refused().into());
            }
            Ok(AnonForm(parse_form(&body)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_this_site() {
        let origin = "https://lectern.example";
        assert_eq!(safe_next(Some("/courses/1?x=2"), origin), "/courses/1?x=2");
        assert_eq!(safe_next(Some("/courses?q=a%20b"), origin), "/courses?q=a%20b");
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "/x/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/x\r\nSet-Cookie: a=b",
            // Browsers strip tab, CR and LF from URLs: these would become `//other.host/`.
            "/\t/other.host/",
            "/\n/other.host/",
            "/\r/other.host/",
            "/ /other.host/",
            "/\u{a0}/other.host/",
            "/\u{2028}/other.host/",
            "/\u{7f}x",
            "/courses?q=a b",
            "",
            "courses",
        ] {
            assert_eq!(safe_next(Some(evil), origin), DEFAULT_NEXT, "{evil:?}");
        }
        assert_eq!(safe_next(None, origin), DEFAULT_NEXT);
    }

    #[test]
    fn tokens_in_the_query_string_are_spotted() {
        assert!(query_has_token("access_token=abc"));
        assert!(query_has_token("page=2&ACCESS_TOKEN=abc"));
        assert!(query_has_token("token=abc"));
        assert!(!query_has_token("page=2&q=token"));
    }

    #[test]
    fn origin_is_the_scheme_host_and_port() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://lectern.example/app"), "https://lectern.example");
        assert_eq!(urlencode("/courses?q=a b&x=1"), "%2Fcourses%3Fq%3Da+b%26x%3D1");
    }

    mod extractors {
        #![allow(clippy::unwrap_used)]
        use super::super::*;
        use actix_web::{App, HttpResponse, test, web};
        use token_claims::{Audience, KeySet, ManualClock, RevokedSessions, VerifierConfig};

        fn identity() -> web::Data<Identity> {
            let clock = ManualClock::new(time::OffsetDateTime::UNIX_EPOCH);
            let verifier = token_claims::Verifier::new(
                VerifierConfig::new("lectern", Audience::Courses),
                KeySet::default(),
                Arc::new(clock),
                Arc::new(RevokedSessions::new()),
            )
            .unwrap();
            web::Data::new(Identity::new(Arc::new(verifier), CsrfKey::new([1; 64]), "http://127.0.0.1:8080"))
        }

        async fn who(user: MaybeAuthUser) -> HttpResponse {
            HttpResponse::Ok().body(if user.0.is_some() { "someone" } else { "anonymous" })
        }

        async fn page(user: PageUser) -> HttpResponse {
            HttpResponse::Ok().body(user.name.clone())
        }

        #[actix_web::test]
        async fn maybe_auth_user_is_anonymous_without_a_token_but_refuses_a_bad_one() {
            let app = test::init_service(App::new().app_data(identity()).route("/who", web::get().to(who))).await;
            let resp = test::call_service(&app, test::TestRequest::get().uri("/who").to_request()).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(test::read_body(resp).await, "anonymous");
            let bad =
                test::TestRequest::get().uri("/who").insert_header(("authorization", "Bearer a.b.c")).to_request();
            let resp = test::call_service(&app, bad).await;
            assert_eq!(resp.status(), 401, "a bad token is not the same as no token");
            assert_eq!(
                resp.headers().get("www-authenticate").unwrap(),
                r#"Bearer realm="lectern", error="invalid_token""#
            );
            let cookie = test::TestRequest::get()
                .uri("/who")
                .cookie(actix_web::cookie::Cookie::new(ACCESS_COOKIE, "x.y.z"))
                .to_request();
            assert_eq!(test::call_service(&app, cookie).await.status(), 401, "a bad cookie too");
            let query = test::TestRequest::get().uri("/who?access_token=abc").to_request();
            assert_eq!(test::call_service(&app, query).await.status(), 401, "a token in the query string");
        }

        #[actix_web::test]
        async fn page_user_redirects_anonymous_visitors_and_clears_bad_cookies() {
            let app = test::init_service(App::new().app_data(identity()).route("/courses", web::get().to(page))).await;
            let resp = test::call_service(&app, test::TestRequest::get().uri("/courses?q=a").to_request()).await;
            assert_eq!(resp.status(), 303);
            assert_eq!(resp.headers().get("location").unwrap(), "/auth/sign-in?next=%2Fcourses%3Fq%3Da");
            let bad = test::TestRequest::get()
                .uri("/courses")
                .cookie(actix_web::cookie::Cookie::new(ACCESS_COOKIE, "x.y.z"))
                .to_request();
            let resp = test::call_service(&app, bad).await;
            assert_eq!(resp.status(), 303);
            let set_cookie = resp.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
            assert!(set_cookie.starts_with("lectern_at=;") && set_cookie.contains("Max-Age=0"), "{set_cookie}");
            let post = test::TestRequest::post().uri("/courses").to_request();
            let app = test::init_service(App::new().app_data(identity()).route("/courses", web::post().to(page))).await;
            assert_eq!(test::call_service(&app, post).await.status(), 307, "a posted form is kept for after sign-in");
        }
    }
}
