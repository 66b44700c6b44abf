//! auth-core as an OpenID Connect provider ("Sign in with Lectern"), for the other applications a
//! school runs. Authorization code flow only, PKCE (S256) required of every client; docs/oidc.md
//! says how to connect an application, docs/security.md ("OpenID Connect") lists the rules and the
//! tests that hold them.
//!
//! - `clients.rs`: clients registered by the operator (`lectern oidc clients`), secrets hashed;
//! - `request.rs`: an authorization request, parsed and checked (pure);
//! - `flow.rs`: what the authorize endpoint and the consent form decide, in one database call;
//! - `token.rs`: the token endpoint (codes single use, bound to client, redirect URI, verifier);
//! - `userinfo.rs`: the claims for an opaque access token;
//! - `pages.rs` and `api.rs`: the HTTP shells; `store.rs`: the queries.
//!
//! The issuer is `LECTERN_PUBLIC_URL` (OpenID Connect wants a URL); it differs from the `iss` of
//! Lectern's access tokens (`LECTERN_ISSUER`) on purpose, as do `typ` and `aud`: an ID token is
//! never an access token.

pub mod api;
pub mod clients;
pub mod flow;
pub mod pages;
pub mod request;
pub mod store;
pub mod token;
pub mod userinfo;

use crate::store::UserRow;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// An authorization code lives this long (OpenID Connect and RFC 6749 advise minutes at most).
pub const CODE_TTL: time::Duration = time::Duration::seconds(60);
/// Lifetime of an ID token: it is checked once, when the application receives it.
pub const ID_TOKEN_TTL: time::Duration = time::Duration::minutes(10);
/// Lifetime of the opaque access token that reads the userinfo endpoint. There are no refresh
/// tokens for applications: they sign the person in again when they need fresh claims.
pub const ACCESS_TOKEN_TTL: time::Duration = time::Duration::minutes(10);

/// Where the endpoints live (docs/api.md, OpenID Connect).
pub const AUTHORIZE_PATH: &str = "/auth/oauth/authorize";
pub const CONSENT_PATH: &str = "/auth/oauth/consent";
pub const TOKEN_PATH: &str = "/api/auth/oauth/token";
pub const USERINFO_PATH: &str = "/api/auth/oauth/userinfo";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The scopes Lectern knows; others in a request are ignored (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    OpenId,
    Profile,
    Email,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::OpenId, Scope::Profile, Scope::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "openid",
            Self::Profile => "profile",
            Self::Email => "email",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A set of known scopes, written space-separated in a fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// The known scopes of a space-separated `scope` value; unknown ones are dropped.
    pub fn parse(raw: &str) -> Self {
        Self(raw.split(' ').filter_map(Scope::parse).collect())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, of: &Scopes) -> bool {
        self.0.is_subset(&of.0)
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).copied().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&words.join(" "))
    }
}

/// The name of the claim carrying Lectern's role: namespaced under the issuer, as OpenID Connect
/// asks of claims it does not define (Core §5.1.2).
pub fn role_claim(issuer: &str) -> String {
    format!("{issuer}/claims/role")
}

/// 256 random bits, base64url: codes, access tokens, client secrets.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What the database keeps of a code, token or secret: base64url(SHA-256).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Exactly the shape [`random_token`] makes (43 base64url characters): anything else cannot be one
/// of ours and is refused before any lookup.
pub fn well_formed_token(token: &str) -> bool {
    token.len() == 43 && URL_SAFE_NO_PAD.decode(token).is_ok_and(|b| b.len() == 32)
}

/// The claims about a person that `scopes` let an application learn: `sub` always, `name` with
/// `profile`, `email` and `email_verified` with `email`, and the role (namespaced) always.
/// `email_verified` is false: Lectern never checks that an address reaches its owner.
pub fn user_claims(user: &UserRow, scopes: &Scopes, issuer: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), user.id.to_string().into());
    if scopes.contains(Scope::Profile) {
        claims.insert("name".into(), user.display_name.clone().into());
    }
    if scopes.contains(Scope::Email) {
        claims.insert("email".into(), user.email.clone().into());
        claims.insert("email_verified".into(), false.into());
    }
    claims.insert(role_claim(issuer), user.role.0.as_str().into());
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_keep_the_known_words_in_a_fixed_order() {
        let s = Scopes::parse("email openid  groups profile openid");
        assert_eq!(s.to_string(), "openid profile email");
        assert!(Scopes::parse("openid").is_subset(&s));
        assert!(!s.is_subset(&Scopes::parse("openid profile")));
        assert_eq!(Scopes::parse("").to_string(), "");
        assert_eq!(Scopes::parse("OPENID").to_string(), "", "scope values are case-sensitive");
    }

    #[test]
    fn tokens_have_one_shape_and_are_stored_hashed() {
        let t = random_token();
        assert!(well_formed_token(&t));
        assert!(!well_formed_token(&t[1..]));
        assert!(!well_formed_token("a.b.c"));
        assert_ne!(token_hash(&t), t);
        assert_eq!(token_hash(&t), token_hash(&t));
    }
}
