//! The tools' public keys, fetched from the JWKS URL each registered, to verify their client
//! assertions. Fetched as auth-core's own key set is fetched by the other services
//! (`lectern_common::jwks`): https through rustls (or http on loopback, where registration allows
//! it), no redirects followed, at most 64 KiB, 3 seconds for the whole exchange.
//!
//! Each tool's set is kept for its `Cache-Control: max-age` (clamped to 5 s .. 5 minutes, 5
//! minutes without one), judged by the injected clock. An assertion naming a `kid` the kept set
//! lacks refetches it, at most once per 30 s per tool, so a tool that rotated its key is
//! recognised at once while a stream of made-up kids cannot turn Lectern into a fetching loop.
//! One fetch per tool at a time: concurrent requests wait for it and share its answer.

use crate::tools::ToolRow;
use jsonwebtoken::jwk::Jwk;
use lectern_common::ids::ToolId;
use lectern_common::jwks::{MAX_JWKS_BYTES, describe, key_fetch_client, max_age, next_fetch_in, read_capped};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use token_claims::Clock;

/// The least time between two fetches of one tool's keys triggered by unknown kids.
pub const UNKNOWN_KID_INTERVAL: time::Duration = time::Duration::seconds(30);
/// The whole fetch, connect included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest a tool's keys are kept without `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Clone)]
struct Entry {
    url: String,
    keys: Vec<Jwk>,
    fetched_at: OffsetDateTime,
    fresh_until: OffsetDateTime,
}

pub struct ToolKeys {
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<ToolId, Entry>>,
    /// One fetch in flight per tool.
    fetching: Mutex<HashMap<ToolId, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for ToolKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolKeys").finish_non_exhaustive()
    }
}

/// Why no key could be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The tool's set has no usable key with this `kid`.
    UnknownKid,
    /// The set could not be fetched or read.
    Fetch(String),
}

impl ToolKeys {
    pub fn new(clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: key_fetch_client(FETCH_TIMEOUT)?,
            clock,
            cache: Mutex::default(),
            fetching: Mutex::default(),
        })
    }

    fn cached(&self, tool: &ToolRow) -> Option<Entry> {
        let cache = self.cache.lock().ok()?;
        cache.get(&tool.id).filter(|e| e.url == tool.jwks_url).cloned()
    }

    fn fetch_lock(&self, tool: ToolId) -> Arc<tokio::sync::Mutex<()>> {
        match self.fetching.lock() {
            Ok(mut map) => Arc::clone(map.entry(tool).or_default()),
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The tool's key named `kid`.
    pub async fn key(&self, tool: &ToolRow, kid: &str) -> Result<Jwk, KeyError> {
        let now = self.clock.now();
        let usable = |e: &Entry| e.fresh_until > now;
        if let Some(entry) = self.cached(tool).filter(usable)
            && let Some(key) = find(&entry.keys, kid)
        {
            return Ok(key);
        }
        let lock = self.fetch_lock(tool.id);
        let _fetching = lock.lock().await;
        // Someone else may have fetched while this request waited.
        if let Some(entry) = self.cached(tool) {
            let found = find(&entry.keys, kid);
            let recently = entry.fetched_at + UNKNOWN_KID_INTERVAL > now;
            match found {
                Some(key) if usable(&entry) => return Ok(key),
                None if usable(&entry) && recently => return Err(KeyError::UnknownKid),
                _ => {}
            }
        }
        let (keys, age) = self.fetch(&tool.jwks_url).await.map_err(KeyError::Fetch)?;
        let age = next_fetch_in(true, age.unwrap_or(DEFAULT_MAX_AGE));
        let entry = Entry {
            url: tool.jwks_url.clone(),
            keys,
            fetched_at: now,
            fresh_until: now + time::Duration::try_from(age).unwrap_or(time::Duration::minutes(5)),
        };
        let found = find(&entry.keys, kid);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(tool.id, entry);
        }
        found.ok_or(KeyError::UnknownKid)
    }

    async fn fetch(&self, url: &str) -> Result<(Vec<Jwk>, Option<Duration>), String> {
        let resp = self.client.get(url).send().await.map_err(|e| format!("GET {url}: {}", describe(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: {}", resp.status()));
        }
        let age = max_age(resp.headers().get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()));
        let body = read_capped(resp, MAX_JWKS_BYTES).await.map_err(|e| format!("the tool's JWKS: {e}"))?;
        Ok((parse(&body)?, age))
    }
}

/// The keys of a JWKS document; entries that are no JWK at all are skipped (a key of a type this
/// platform does not use is kept, and refused where it would be used: `token.rs`).
pub fn parse(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| "the tool's JWKS is not JSON".to_owned())?;
    let keys = doc.get("keys").and_then(|k| k.as_array()).ok_or("the tool's JWKS has no \"keys\" array")?;
    Ok(keys.iter().filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok()).collect())
}

fn find(keys: &[Jwk], kid: &str) -> Option<Jwk> {
    keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_that_are_no_key_are_skipped() {
        let body =
            br#"{"keys":[{"kty":"RSA","n":"sXch","e":"AQAB","kid":"a","alg":"RS256"},{"kty":"weird","kid":"b"},42]}"#;
        let keys = parse(body).unwrap_or_default();
        assert_eq!(keys.len(), 2, "a key of another type is kept, to be refused where it is used");
        assert!(find(&keys, "a").is_some() && find(&keys, "b").is_some());
        assert!(parse(b"[]").is_err());
        assert!(parse(b"not json").is_err());
    }
}
