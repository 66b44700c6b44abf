//! CSRF protection for forms (docs/security.md, browser pages).
//!
//! A form token is HMAC-SHA256(server key, purpose ‖ binding): bound to the session id (`sid`)
//! for signed-in people, and to a random pre-session cookie for the sign-in and sign-up forms.
//! The key lives in the database (`server_secrets`), so every service process of the split
//! shape accepts the forms the others rendered. Every unsafe request also has its `Origin`
//! (or, failing that, `Referer`) checked against `LECTERN_PUBLIC_URL`.

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::Arc;

/// Name of the hidden form field carrying the token.
pub const FIELD: &str = "csrf_token";
/// Cookie binding the token of forms shown before sign-in.
pub const PRE_SESSION_COOKIE: &str = "lectern_pre";

#[derive(Clone)]
/// A 64-byte key: HMAC-SHA256's block size, so the key is used as is.
pub struct CsrfKey(Arc<[u8; 64]>);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

impl CsrfKey {
    pub fn new(key: [u8; 64]) -> Self {
        Self(Arc::new(key))
    }

    fn mac(&self, purpose: &str, binding: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*self.0).into());
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(binding.as_bytes());
        mac
    }

    pub fn token(&self, purpose: &str, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, binding).finalize().into_bytes())
    }

    /// Constant-time comparison of a presented token.
    pub fn verify(&self, purpose: &str, binding: &str, presented: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(presented) {
            Ok(bytes) => self.mac(purpose, binding).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    pub fn session_token(&self, session: &crate::ids::SessionId) -> String {
        self.token("session", &session.to_string())
    }

    pub fn pre_session_token(&self, cookie_value: &str) -> String {
        self.token("pre-session", cookie_value)
    }
}

/// True when the request comes from a page of our own origin: `Origin` must match when sent;
/// without it, `Referer` must; a request with neither relies on the form token alone.
pub fn same_origin(req: &HttpRequest, public_origin: &str) -> bool {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| o == public_origin);
    }
    if let Some(referer) = req.headers().get(header::REFERER) {
        return referer.to_str().is_ok_and(|r| r == public_origin || r.starts_with(&format!("{public_origin}/")));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn tokens_are_bound_to_their_session() {
        let key = CsrfKey::new([7; 64]);
        let a = crate::ids::SessionId::new();
        let b = crate::ids::SessionId::new();
        let t = key.session_token(&a);
        assert!(key.verify("session", &a.to_string(), &t));
        assert!(!key.verify("session", &b.to_string(), &t));
        assert!(!key.verify("pre-session", &a.to_string(), &t));
        assert!(!key.verify("session", &a.to_string(), "not-base64!"));
        assert!(!CsrfKey::new([8; 64]).verify("session", &a.to_string(), &t));
    }

    #[test]
    fn origin_is_checked_before_referer() {
        let origin = "http://127.0.0.1:8080";
        let ok = TestRequest::post().insert_header(("origin", origin)).to_http_request();
        assert!(same_origin(&ok, origin));
        let evil = TestRequest::post()
            .insert_header(("origin", "http://evil.example"))
            .insert_header(("referer", "http://127.0.0.1:8080/x"))
            .to_http_request();
        assert!(!same_origin(&evil, origin));
        let null = TestRequest::post().insert_header(("origin", "null")).to_http_request();
        assert!(!same_origin(&null, origin));
        let prefix_trick =
            TestRequest::post().insert_header(("referer", "http://127.0.0.1:8080.evil.example/")).to_http_request();
        assert!(!same_origin(&prefix_trick, origin));
        let referer_ok =
            TestRequest::post().insert_header(("referer", "http://127.0.0.1:8080/auth/sessions")).to_http_request();
        assert!(same_origin(&referer_ok, origin));
    }
}
