//! Tools registered by the operator (`lectern lti tools add|list|remove`).
//!
//! Registering a tool gives it a client id and a deployment id (UUIDs) and records where Lectern
//! sends people (its login initiation URL and redirect URIs, matched as exact strings), what the
//! launch names as its target, and where its public keys are (the JWKS that client assertions are
//! verified against). The registration holds nothing secret: the tool proves itself with its own
//! private key, never with a shared secret.
//!
//! URLs are checked once, here: absolute, no fragment, no credentials, https — or plain http on
//! the loopback interface, for a tool on the same machine (and the test suite's).

use crate::endpoints::Endpoints;
use crate::error::LtiError;
use diesel::prelude::*;
use lectern_common::db::{DbConnection, from_db_time, to_db_time, write_tx};
use lectern_common::ids::ToolId;
use lectern_common::schema::{lti_tool_redirect_uris, lti_tools};
use time::OffsetDateTime;

/// The longest URL accepted (they travel in query strings).
pub const MAX_URL_CHARS: usize = 1000;
/// The most redirect URIs one tool may register.
pub const MAX_REDIRECT_URIS: usize = 20;

/// A tool as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = lti_tools)]
pub struct ToolRow {
    pub id: ToolId,
    pub name: String,
    pub client_id: String,
    pub deployment_id: String,
    pub login_url: String,
    pub target_link_uri: String,
    pub jwks_url: String,
    pub created_at: time::PrimitiveDateTime,
}

/// What the operator asks for.
#[derive(Clone, Debug)]
pub struct NewTool {
    pub name: String,
    pub login_url: String,
    pub redirect_uris: Vec<String>,
    pub jwks_url: String,
    pub target_link_uri: String,
}

/// What registration prints: everything the tool's own configuration needs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Registered {
    pub id: ToolId,
    pub issuer: String,
    pub client_id: String,
    pub deployment_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// A registered tool, as `lectern lti tools list` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ToolInfo {
    pub id: ToolId,
    pub name: String,
    pub client_id: String,
    pub deployment_id: String,
    pub login_url: String,
    pub redirect_uris: Vec<String>,
    pub target_link_uri: String,
    pub jwks_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A tool's name as teachers see it: 1 to 100 characters, no control characters.
pub fn check_name(raw: &str) -> Result<String, LtiError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 || name.chars().any(char::is_control) {
        return Err(LtiError::invalid("name", "must be 1 to 100 characters without control characters"));
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

/// Checks one of a tool's URLs; it is stored exactly as given.
pub fn check_url(field: &'static str, raw: &str) -> Result<String, LtiError> {
    let refuse = |why: &str| LtiError::invalid(field, format!("{raw:?}: {why}"));
    if raw.is_empty() || raw.chars().count() > MAX_URL_CHARS {
        return Err(refuse(&format!("must be 1 to {MAX_URL_CHARS} characters")));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("must not contain spaces or control characters"));
    }
    if raw.contains('#') {
        return Err(refuse("must not contain a fragment"));
    }
    let url = url::Url::parse(raw).map_err(|e| refuse(&format!("not an absolute URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not carry credentials"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if url.host().as_ref().is_some_and(is_loopback) => Ok(raw.to_owned()),
        "http" => Err(refuse("plain http is allowed only on the loopback interface (127.0.0.1, [::1], localhost)")),
        _ => Err(refuse("must be https (or http on the loopback interface)")),
    }
}

/// Registers a tool; answers what its configuration needs.
pub fn register(
    conn: &mut DbConnection,
    new: &NewTool,
    endpoints: &Endpoints,
    now: OffsetDateTime,
) -> Result<Registered, LtiError> {
    let name = check_name(&new.name)?;
    if new.redirect_uris.is_empty() || new.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(LtiError::invalid("redirect_uri", format!("give 1 to {MAX_REDIRECT_URIS} redirect URIs")));
    }
    let mut uris = Vec::with_capacity(new.redirect_uris.len());
    for raw in &new.redirect_uris {
        let uri = check_url("redirect_uri", raw)?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    let row = ToolRow {
        id: ToolId::new(),
        name,
        client_id: uuid::Uuid::new_v4().to_string(),
        deployment_id: uuid::Uuid::new_v4().to_string(),
        login_url: check_url("login_url", &new.login_url)?,
        target_link_uri: check_url("target_link_uri", &new.target_link_uri)?,
        jwks_url: check_url("jwks_url", &new.jwks_url)?,
        created_at: to_db_time(now),
    };
    write_tx(conn, |conn| {
        diesel::insert_into(lti_tools::table).values(&row).execute(conn)?;
        for uri in &uris {
            diesel::insert_into(lti_tool_redirect_uris::table)
                .values((lti_tool_redirect_uris::tool_id.eq(row.id), lti_tool_redirect_uris::uri.eq(uri)))
                .execute(conn)?;
        }
        Ok::<_, LtiError>(())
    })?;
    Ok(Registered {
        id: row.id,
        issuer: endpoints.issuer().to_owned(),
        client_id: row.client_id,
        deployment_id: row.deployment_id,
        authorization_endpoint: endpoints.authorize(),
        token_endpoint: endpoints.token(),
        jwks_uri: endpoints.jwks(),
    })
}

/// Every tool, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<ToolInfo>, LtiError> {
    let rows: Vec<ToolRow> = lti_tools::table
        .order((lti_tools::created_at.asc(), lti_tools::id.asc()))
        .select(ToolRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(ToolInfo {
            redirect_uris: redirect_uris(conn, row.id)?,
            id: row.id,
            name: row.name,
            client_id: row.client_id,
            deployment_id: row.deployment_id,
            login_url: row.login_url,
            target_link_uri: row.target_link_uri,
            jwks_url: row.jwks_url,
            created_at: from_db_time(row.created_at),
        });
    }
    Ok(out)
}

/// Removes a tool with its links in every course, its tokens and what it spent; false when no
/// tool has that id. Grades it posted stay.
pub fn remove(conn: &mut DbConnection, id: ToolId) -> Result<bool, LtiError> {
    write_tx(conn, |conn| Ok(diesel::delete(lti_tools::table.find(id)).execute(conn)? > 0))
}

pub fn redirect_uris(conn: &mut DbConnection, tool: ToolId) -> QueryResult<Vec<String>> {
    lti_tool_redirect_uris::table
        .filter(lti_tool_redirect_uris::tool_id.eq(tool))
        .order(lti_tool_redirect_uris::uri.asc())
        .select(lti_tool_redirect_uris::uri)
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: ToolId) -> QueryResult<Option<ToolRow>> {
    lti_tools::table.find(id).select(ToolRow::as_select()).first(conn).optional()
}

pub fn find_by_client_id(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<ToolRow>> {
    lti_tools::table.filter(lti_tools::client_id.eq(client_id)).select(ToolRow::as_select()).first(conn).optional()
}

/// The tool and whether `redirect_uri` is one of its registered ones (exactly).
pub fn find_with_redirect(
    conn: &mut DbConnection,
    client_id: &str,
    redirect_uri: &str,
) -> QueryResult<Option<(ToolRow, bool)>> {
    let Some(tool) = find_by_client_id(conn, client_id)? else { return Ok(None) };
    let registered = diesel::select(diesel::dsl::exists(
        lti_tool_redirect_uris::table
            .filter(lti_tool_redirect_uris::tool_id.eq(tool.id))
            .filter(lti_tool_redirect_uris::uri.eq(redirect_uri)),
    ))
    .get_result(conn)?;
    Ok(Some((tool, registered)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_urls_must_be_https_or_loopback() {
        for good in [
            "https://tool.example.org/lti/login",
            "https://tool.example.org/launch?x=1",
            "http://127.0.0.1:5000/login",
            "http://localhost:5000/jwks",
            "http://[::1]:9000/launch",
        ] {
            assert_eq!(check_url("login_url", good).ok().as_deref(), Some(good), "{good}");
        }
        for bad in [
            "",
            "/login",
            "tool.example.org/login",
            "http://tool.example.org/login",
            "http://127.0.0.1.evil.example/login",
            "https://tool.example.org/login#x",
            "https://user:pw@tool.example.org/login",
            "https://tool.example.org/a b",
            "javascript:alert(1)",
            "ftp://tool.example.org/jwks",
            "com.example.app:/cb",
        ] {
            assert!(check_url("login_url", bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check_url("jwks_url", &format!("https://x.example/{}", "a".repeat(1000))).is_err());
    }

    #[test]
    fn names_are_short_plain_text() {
        assert_eq!(check_name("  Quiz Tool ").ok().as_deref(), Some("Quiz Tool"));
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
        assert!(check_name("a\u{1b}b").is_err());
    }
}
