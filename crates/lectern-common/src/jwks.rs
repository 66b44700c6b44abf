//! The split shape: course and grading services take their keys only from
//! `LECTERN_AUTH_URL/.well-known/jwks.json`.
//!
//! - cached, and refetched when the reply's `Cache-Control: max-age` runs out;
//! - refetched on an unknown `kid` at most once per 30 s (the `Verifier` enforces that);
//! - while auth-core is unreachable the cached keys stay in force, with a warning in the log and
//!   in `/readyz`.

use crate::metrics::Metrics;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use token_claims::{KeySet, KeySource, Verifier};

/// Refetch at least this often, even when auth-core allows caching longer.
const MAX_AGE_CAP: Duration = Duration::from_secs(300);
/// And not more often than this, even with `max-age=0`.
const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// How soon to retry after a failed fetch.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// What `/readyz` reports about the key set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwksHealth {
    /// Keys were fetched at least once.
    pub has_keys: bool,
    /// The last fetch failed (the cached keys are in use).
    pub last_error: Option<String>,
}

pub struct JwksSource {
    client: reqwest::Client,
    url: String,
    metrics: Option<Metrics>,
    health: Mutex<JwksHealth>,
    /// `max-age` of the last good reply.
    max_age: Mutex<Duration>,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksSource").field("url", &self.url).finish_non_exhaustive()
    }
}

/// `Cache-Control: public, max-age=60` → 60 s; absent or unparsable → `None`.
pub fn max_age(cache_control: Option<&str>) -> Option<Duration> {
    cache_control?
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl JwksSource {
    /// `auth_url` is `LECTERN_AUTH_URL` (scheme, host and port of auth-core).
    pub fn new(auth_url: &str, metrics: Option<Metrics>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        Ok(Self {
            client,
            url: format!("{}/.well-known/jwks.json", auth_url.trim_end_matches('/')),
            metrics,
            health: Mutex::default(),
            max_age: Mutex::new(Duration::from_secs(60)),
        })
    }

    pub fn health(&self) -> JwksHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn record(&self, outcome: Result<(), String>) {
        if let Some(m) = &self.metrics {
            m.jwks_refreshes.with_label_values(&[if outcome.is_ok() { "success" } else { "failure" }]).inc();
        }
        if let Ok(mut h) = self.health.lock() {
            match outcome {
                Ok(()) => *h = JwksHealth { has_keys: true, last_error: None },
                Err(e) => h.last_error = Some(e),
            }
        }
    }

    async fn fetch_once(&self) -> Result<KeySet, String> {
        let resp = self.client.get(&self.url).send().await.map_err(|e| format!("GET {}: {e}", self.url))?;
        if !resp.status().is_success() {
            return Err(format!("GET {}: {}", self.url, resp.status()));
        }
        let age = max_age(resp.headers().get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()));
        let body = resp.text().await.map_err(|e| format!("reading JWKS: {e}"))?;
        let keys = KeySet::from_jwks_json(&body).map_err(|e| format!("JWKS: {e}"))?;
        for rejected in keys.rejected() {
            tracing::warn!(kid = ?rejected.kid, reason = %rejected.reason, "JWKS key skipped");
        }
        if keys.is_empty() {
            return Err("JWKS has no usable key".into());
        }
        if let (Some(age), Ok(mut slot)) = (age, self.max_age.lock()) {
            *slot = age;
        }
        Ok(keys)
    }

    /// Keeps `verifiers` supplied with keys for as long as the runtime runs.
    pub fn spawn_refresh(self: Arc<Self>, verifiers: Vec<Arc<Verifier>>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let wait = match self.fetch().await {
                    Ok(keys) => {
                        for v in &verifiers {
                            v.set_keys(keys.clone());
                        }
                        self.max_age.lock().map(|a| *a).unwrap_or(MAX_AGE_CAP).clamp(MIN_INTERVAL, MAX_AGE_CAP)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "JWKS refresh failed; serving with the cached keys");
                        RETRY_AFTER_FAILURE
                    }
                };
                tokio::time::sleep(wait).await;
            }
        })
    }
}

impl KeySource for JwksSource {
    fn fetch(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<KeySet, String>> + Send + '_>> {
        Box::pin(async move {
            let outcome = self.fetch_once().await;
            self.record(outcome.as_ref().map(|_| ()).map_err(Clone::clone));
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age(Some("public, max-age=60")), Some(Duration::from_secs(60)));
        assert_eq!(max_age(Some("max-age=0")), Some(Duration::ZERO));
        assert_eq!(max_age(Some("no-store")), None);
        assert_eq!(max_age(None), None);
    }
}
