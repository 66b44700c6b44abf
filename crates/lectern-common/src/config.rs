//! `Config::from_env`: the `LECTERN_*` variables of docs/api.md, read once at start into typed fields.
//!
//! A bad value stops start-up with an error that names the variable. Tests build a `Config`
//! directly (or through [`Config::from_lookup`]) and never touch the process environment.

use std::net::SocketAddr;
use std::time::Duration;

/// Largest clock-skew leeway docs/security.md allows.
pub const MAX_LEEWAY_SECS: u64 = 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `LECTERN_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `LECTERN_DATABASE_URL`: `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// `LECTERN_DATABASE_READ_URL`: optional, PostgreSQL only: standbys for reads that may be a
    /// moment behind (catalog, course pages, materials); see [`crate::db::Db::run_read`].
    pub database_read_url: Option<String>,
    /// `LECTERN_PUBLIC_URL`: the origin users see, without a trailing slash.
    pub public_url: String,
    /// `LECTERN_ISSUER`: the `iss` of access tokens.
    pub issuer: String,
    /// `LECTERN_ACCESS_TTL_SECS`: access-token lifetime.
    pub access_ttl: Duration,
    /// `LECTERN_LEEWAY_SECS`: clock-skew leeway, at most 60 s.
    pub leeway: Duration,
    /// `LECTERN_REFRESH_GRACE_SECS`: concurrent-tab grace for a spent refresh token; zero turns it off.
    pub refresh_grace: Duration,
    /// `LECTERN_AUTH_URL`: split shape only, where JWKS is fetched from.
    pub auth_url: Option<String>,
    /// `LECTERN_LOG`: tracing filter.
    pub log_filter: String,
    /// `LECTERN_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `LECTERN_SESSION_IDLE_SECS`: a session unused this long is over (default 14 days).
    pub session_idle: Duration,
    /// `LECTERN_SESSION_MAX_SECS`: no session outlives this (default 30 days).
    pub session_absolute: Duration,
    /// `LECTERN_TRUSTED_PROXIES`: comma-separated addresses of the gateway(s) whose
    /// `X-Forwarded-For` is believed (for per-address throttling). Empty: the peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `LECTERN_KEY_ENCRYPTION_KEY_FILE`: auth-core's key-encryption key, which seals the private
    /// signing keys and auth-core's secrets in the database. Default with SQLite: `PATH.kek` beside
    /// the database file; required with PostgreSQL. Created (mode 0600) when missing.
    pub key_encryption_key_file: Option<std::path::PathBuf>,
    /// HTTP worker threads; `None` is one per core. (Not an environment variable: tests use it.)
    pub workers: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://lectern.db".into(),
            database_read_url: None,
            public_url: "http://127.0.0.1:8080".into(),
            issuer: "lectern".into(),
            access_ttl: Duration::from_secs(900),
            leeway: Duration::from_secs(30),
            refresh_grace: Duration::from_secs(10),
            auth_url: None,
            log_filter: "info".into(),
            log_format: LogFormat::Text,
            session_idle: Duration::from_secs(14 * 24 * 3600),
            session_absolute: Duration::from_secs(30 * 24 * 3600),
            trusted_proxies: Vec::new(),
            key_encryption_key_file: None,
            workers: None,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests can pass a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        if let Some(v) = get("LECTERN_ADDR") {
            config.addr =
                v.trim().parse().map_err(|_| err("LECTERN_ADDR", "expected HOST:PORT, for example 127.0.0.1:8080"))?;
        }
        if let Some(v) = get("LECTERN_DATABASE_URL") {
            config.database_url = v.trim().to_owned();
        }
        let backend = crate::db::Backend::from_url(&config.database_url)
            .map_err(|e| err("LECTERN_DATABASE_URL", &e.to_string()))?;
        if let Some(v) = get("LECTERN_DATABASE_READ_URL") {
            let url = v.trim().to_owned();
            if backend != crate::db::Backend::Postgres || crate::db::Backend::from_url(&url).ok() != Some(backend) {
                return Err(err(
                    "LECTERN_DATABASE_READ_URL",
                    "expected a postgres:// URL of standbys, beside a postgres:// LECTERN_DATABASE_URL",
                ));
            }
            config.database_read_url = Some(url);
        }
        if let Some(v) = get("LECTERN_PUBLIC_URL") {
            config.public_url = v.trim().trim_end_matches('/').to_owned();
        }
        if !(config.public_url.starts_with("http://") || config.public_url.starts_with("https://")) {
            return Err(err("LECTERN_PUBLIC_URL", "expected an http:// or https:// URL"));
        }
        if let Some(v) = get("LECTERN_ISSUER") {
            config.issuer = v.trim().to_owned();
        }
        if let Some(secs) = secs(&get, "LECTERN_ACCESS_TTL_SECS")? {
            if secs == 0 || secs > 24 * 3600 {
                return Err(err("LECTERN_ACCESS_TTL_SECS", "must be between 1 and 86400"));
            }
            config.access_ttl = Duration::from_secs(secs);
        }
        if let Some(secs) = secs(&get, "LECTERN_LEEWAY_SECS")? {
            if secs > MAX_LEEWAY_SECS {
                return Err(err("LECTERN_LEEWAY_SECS", "must be at most 60"));
            }
            config.leeway = Duration::from_secs(secs);
        }
        if let Some(secs) = secs(&get, "LECTERN_REFRESH_GRACE_SECS")? {
            if secs > 300 {
                return Err(err("LECTERN_REFRESH_GRACE_SECS", "must be at most 300"));
            }
            config.refresh_grace = Duration::from_secs(secs);
        }
        if let Some(v) = get("LECTERN_AUTH_URL") {
            let v = v.trim().trim_end_matches('/').to_owned();
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                return Err(err("LECTERN_AUTH_URL", "expected an http:// or https:// URL"));
            }
            config.auth_url = Some(v);
        }
        if let Some(v) = get("LECTERN_LOG") {
            tracing_subscriber::EnvFilter::try_new(v.trim()).map_err(|e| err("LECTERN_LOG", &e.to_string()))?;
            config.log_filter = v.trim().to_owned();
        }
        if let Some(v) = get("LECTERN_KEY_ENCRYPTION_KEY_FILE") {
            config.key_encryption_key_file = Some(v.trim().into());
        }
        if let Some(v) = get("LECTERN_LOG_FORMAT") {
            config.log_format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(err("LECTERN_LOG_FORMAT", "expected text or json")),
            };
        }
        if let Some(v) = get("LECTERN_TRUSTED_PROXIES") {
            config.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| a.parse().map_err(|_| err("LECTERN_TRUSTED_PROXIES", "expected comma-separated IP addresses")))
                .collect::<Result<_, _>>()?;
        }
        if let Some(secs) = secs(&get, "LECTERN_SESSION_IDLE_SECS")? {
            config.session_idle = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = secs(&get, "LECTERN_SESSION_MAX_SECS")? {
            config.session_absolute = Duration::from_secs(secs.max(1));
        }
        Ok(config)
    }

    /// Where auth-core's key-encryption key lives: the configured file, or beside the SQLite file.
    pub fn key_encryption_key_path(&self) -> Result<std::path::PathBuf, ConfigError> {
        if let Some(path) = &self.key_encryption_key_file {
            return Ok(path.clone());
        }
        match crate::db::Backend::from_url(&self.database_url) {
            Ok(crate::db::Backend::Sqlite) => Ok(format!("{}.kek", crate::db::sqlite_path(&self.database_url)).into()),
            _ => Err(err(
                "LECTERN_KEY_ENCRYPTION_KEY_FILE",
                "required with PostgreSQL: a file only auth-core can read, holding the key that seals signing keys",
            )),
        }
    }

    /// Cookies get `Secure` whenever users reach Lectern over https.
    pub fn cookies_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn err(variable: &'static str, message: &str) -> ConfigError {
    ConfigError { variable, message: message.to_owned() }
}

fn secs(get: &impl Fn(&str) -> Option<String>, variable: &'static str) -> Result<Option<u64>, ConfigError> {
    get(variable)
        .map(|v| v.trim().parse::<u64>().map_err(|_| err(variable, "expected a whole number of seconds")))
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_api_table() {
        let c = with(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://lectern.db");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.issuer, "lectern");
        assert_eq!(c.access_ttl.as_secs(), 900);
        assert_eq!(c.leeway.as_secs(), 30);
        assert_eq!(c.refresh_grace.as_secs(), 10);
        assert_eq!(c.auth_url, None);
        assert!(!c.cookies_secure());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("LECTERN_ADDR", "nowhere"),
            ("LECTERN_DATABASE_URL", "mysql://x"),
            ("LECTERN_PUBLIC_URL", "ftp://x"),
            ("LECTERN_ACCESS_TTL_SECS", "ten"),
            ("LECTERN_LEEWAY_SECS", "61"),
            ("LECTERN_REFRESH_GRACE_SECS", "-1"),
            ("LECTERN_AUTH_URL", "jwks"),
            ("LECTERN_LOG_FORMAT", "xml"),
            ("LECTERN_TRUSTED_PROXIES", "10.0.0.1, nginx"),
            // Standbys of a SQLite file do not exist.
            ("LECTERN_DATABASE_READ_URL", "postgres://standby/lectern"),
        ] {
            let e = with(&[(var, value)]).unwrap_err();
            assert_eq!(e.variable, var, "{var}={value}");
        }
    }

    #[test]
    fn values_are_read() {
        let c = with(&[
            ("LECTERN_ADDR", "0.0.0.0:9000"),
            ("LECTERN_PUBLIC_URL", "https://lectern.example/"),
            ("LECTERN_LEEWAY_SECS", "60"),
            ("LECTERN_REFRESH_GRACE_SECS", "0"),
            ("LECTERN_DATABASE_URL", "postgres://postgres@127.0.0.1/test"),
        ])
        .unwrap();
        assert_eq!(c.addr.port(), 9000);
        assert_eq!(c.public_url, "https://lectern.example");
        assert!(c.cookies_secure());
        assert_eq!(c.leeway.as_secs(), 60);
        assert_eq!(c.refresh_grace.as_secs(), 0);
        assert_eq!(c.database_read_url, None);
        let c = with(&[
            ("LECTERN_DATABASE_URL", "postgres://h1,h2/lectern?target_session_attrs=read-write"),
            ("LECTERN_DATABASE_READ_URL", "postgres://h2,h1/lectern?target_session_attrs=prefer-standby"),
        ])
        .unwrap();
        assert_eq!(
            c.database_read_url.as_deref(),
            Some("postgres://h2,h1/lectern?target_session_attrs=prefer-standby")
        );
    }
}
