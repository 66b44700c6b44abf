//! Applications registered by the operator (`lectern oidc clients add|list|remove`).
//!
//! A confidential client gets a secret of 256 random bits, shown once and stored as its SHA-256;
//! a public client (an app that cannot keep a secret) has none and relies on PKCE alone. Redirect
//! URIs are matched as exact strings, so they are checked here, once: absolute, no fragment, no
//! credentials, and either https, http on the loopback interface (RFC 8252 §7.3, an app on the
//! same machine), or a private-use scheme with a dot in it (RFC 8252 §7.1, `com.example.app:/cb`).

use super::store::{self, ClientId, ClientRow};
use super::{random_token, token_hash};
use crate::error::AuthError;
use crate::keys::IdTokenAlg;
use lectern_common::db::{DbConnection, from_db_time, to_db_time, write_tx};
use time::OffsetDateTime;

/// The longest redirect URI accepted (it travels in URLs, twice when a sign-in comes first).
pub const MAX_REDIRECT_URI_CHARS: usize = 1000;
/// The most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 20;

/// What the operator asks for.
#[derive(Clone, Debug)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// No secret: PKCE alone protects its codes.
    pub public: bool,
    pub id_token_alg: IdTokenAlg,
}

/// What registration prints: the secret exists only here, never again.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Registered {
    pub client_id: ClientId,
    pub client_secret: Option<String>,
}

/// A registered client, as `lectern oidc clients list` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClientInfo {
    pub client_id: ClientId,
    pub name: String,
    pub public: bool,
    pub id_token_alg: String,
    pub redirect_uris: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn invalid(field: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::invalid(field, message)
}

/// An application's name as the consent page shows it: 1 to 100 characters, no control characters.
pub fn check_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 || name.chars().any(char::is_control) {
        return Err(invalid("name", "must be 1 to 100 characters without control characters"));
    }
    Ok(name.to_owned())
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    }
}

/// Checks one redirect URI; it is stored exactly as given (authorization requests must repeat it
/// character for character).
pub fn check_redirect_uri(raw: &str) -> Result<String, AuthError> {
    let refuse = |why: &str| invalid("redirect_uri", format!("{raw:?}: {why}"));
    if raw.is_empty() || raw.chars().count() > MAX_REDIRECT_URI_CHARS {
        return Err(refuse(&format!("must be 1 to {MAX_REDIRECT_URI_CHARS} characters")));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("must not contain spaces or control characters"));
    }
    if raw.contains('#') {
        return Err(refuse("must not contain a fragment (RFC 6749 §3.1.2)"));
    }
    let url = url::Url::parse(raw).map_err(|e| refuse(&format!("not an absolute URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not carry credentials"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if url.host().as_ref().is_some_and(is_loopback) => Ok(raw.to_owned()),
        "http" => Err(refuse("plain http is allowed only on the loopback interface (127.0.0.1, [::1], localhost)")),
        scheme if scheme.contains('.') => Ok(raw.to_owned()),
        _ => Err(refuse("must be https, http on loopback, or a private-use scheme such as com.example.app:/callback")),
    }
}

/// Registers a client; the secret in the reply is the only copy there will ever be.
pub fn register(conn: &mut DbConnection, new: &NewClient, now: OffsetDateTime) -> Result<Registered, AuthError> {
    let name = check_name(&new.name)?;
    if new.redirect_uris.is_empty() || new.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid("redirect_uri", format!("give 1 to {MAX_REDIRECT_URIS} redirect URIs")));
    }
    let mut uris = Vec::with_capacity(new.redirect_uris.len());
    for raw in &new.redirect_uris {
        let uri = check_redirect_uri(raw)?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    let secret = (!new.public).then(random_token);
    let row = ClientRow {
        id: ClientId::new(),
        name,
        secret_hash: secret.as_deref().map(token_hash),
        id_token_alg: new.id_token_alg.as_str().to_owned(),
        created_at: to_db_time(now),
    };
    write_tx(conn, |conn| store::insert_client(conn, &row, &uris).map_err(AuthError::from))?;
    Ok(Registered { client_id: row.id, client_secret: secret })
}

/// Every client, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<ClientInfo>, AuthError> {
    let mut out = Vec::new();
    for row in store::all_clients(conn)? {
        out.push(ClientInfo {
            client_id: row.id,
            name: row.name,
            public: row.secret_hash.is_none(),
            id_token_alg: row.id_token_alg,
            redirect_uris: store::redirect_uris(conn, row.id)?,
            created_at: from_db_time(row.created_at),
        });
    }
    Ok(out)
}

/// Removes a client with its codes, tokens and consents; false when no client has that id.
pub fn remove(conn: &mut DbConnection, id: ClientId) -> Result<bool, AuthError> {
    write_tx(conn, |conn| store::delete_client(conn, id).map_err(AuthError::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_safe_to_send_codes_to() {
        for good in [
            "https://forum.example.org/oidc/callback",
            "https://forum.example.org/cb?tenant=a",
            "http://127.0.0.1:8123/callback",
            "http://[::1]:9000/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check_redirect_uri(good).ok().as_deref(), Some(good), "{good}");
        }
        for bad in [
            "",
            "/callback",
            "forum.example.org/cb",
            "http://forum.example.org/cb",
            "http://127.0.0.1.evil.example/cb",
            "https://forum.example.org/cb#frag",
            "https://user:pw@forum.example.org/cb",
            "https://forum.example.org/c b",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "myapp:/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check_redirect_uri(&format!("https://x.example/{}", "a".repeat(1000))).is_err());
    }

    #[test]
    fn names_are_short_plain_text() {
        assert_eq!(check_name("  Forum ").ok().as_deref(), Some("Forum"));
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
        assert!(check_name("a\u{7}b").is_err());
    }
}
