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
pub const MAX_AGE_CAP: Duration = Duration::from_secs(300);
/// And not more often than this, even with `max-age=0`.
const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// How soon to retry after a failed fetch.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// A key set is a few hundred bytes per key; anything this large is not ours.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The whole fetch, connect included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// An HTTP client for fetching key sets: https through rustls (system roots), plain http for an
/// internal network, no redirects followed (a key set is fetched from exactly the configured
/// URL), a timeout on the whole exchange. Bodies are read with [`read_capped`].
pub fn key_fetch_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .build()
}

/// A reqwest error with its causes (its own message is only "error sending request").
pub fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// When the periodic refresh fetches again: after the key set's `max-age` (clamped to 5 s .. 5
/// minutes) when the fetch worked, 5 s after a failure.
pub fn next_fetch_in(fetched: bool, max_age: Duration) -> Duration {
    if fetched { max_age.clamp(MIN_INTERVAL, MAX_AGE_CAP) } else { RETRY_AFTER_FAILURE }
}

/// The body of `resp`, or an error once it exceeds `cap` bytes (announced or read).
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(format!("body larger than {cap} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading body: {}", describe(&e)))? {
        if body.len() + chunk.len() > cap {
            return Err(format!("body larger than {cap} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

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

/// Whether a key the verifiers skipped deserves a warning. auth-core publishes keys that access
/// verifiers have no use for (the RS256 keys of OpenID Connect ID tokens): a well-formed key of an
/// algorithm they do not accept is expected, every fetch, and logged at debug only. A malformed
/// key (no kid, wrong type or length, not a curve point) is worth a warning.
pub fn worth_a_warning(rejected: &token_claims::KeyRejection) -> bool {
    !matches!(rejected.reason, token_claims::KeySetError::UnsupportedAlg(_))
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
        Self::with_timeout(auth_url, metrics, FETCH_TIMEOUT)
    }

    pub fn with_timeout(auth_url: &str, metrics: Option<Metrics>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = key_fetch_client(timeout)?;
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
        let resp =
            self.client.get(&self.url).send().await.map_err(|e| format!("GET {}: {}", self.url, describe(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("GET {}: {}", self.url, resp.status()));
        }
        let age = max_age(resp.headers().get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()));
        let body = read_capped(resp, MAX_JWKS_BYTES).await.map_err(|e| format!("JWKS: {e}"))?;
        let body = String::from_utf8(body).map_err(|_| "JWKS: not UTF-8".to_owned())?;
        let keys = KeySet::from_jwks_json(&body).map_err(|e| format!("JWKS: {e}"))?;
        for rejected in keys.rejected() {
            if worth_a_warning(rejected) {
                tracing::warn!(kid = ?rejected.kid, reason = %rejected.reason, "JWKS key skipped");
            } else {
                tracing::debug!(kid = ?rejected.kid, reason = %rejected.reason, "JWKS key of another algorithm skipped");
            }
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
                let fetched = match self.fetch().await {
                    Ok(keys) => {
                        for v in &verifiers {
                            v.set_keys(keys.clone());
                        }
                        true
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "JWKS refresh failed; serving with the cached keys");
                        false
                    }
                };
                let wait = next_fetch_in(fetched, self.max_age.lock().map(|a| *a).unwrap_or(MAX_AGE_CAP));
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
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A one-shot HTTP server answering every connection with `reply` (or never, for `None`);
    /// returns its URL and a counter of connections.
    fn server(reply: Option<String>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                match &reply {
                    Some(reply) => drop(stream.write_all(reply.as_bytes())),
                    // Hold the connection open without answering until the client gives up.
                    None => drop(stream.read(&mut buf)),
                }
            }
        });
        (url, seen)
    }

    fn ok(body: &str) -> String {
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn the_periodic_refresh_follows_max_age_within_bounds_and_retries_soon() {
        let s = Duration::from_secs;
        assert_eq!(next_fetch_in(true, s(60)), s(60));
        assert_eq!(next_fetch_in(true, s(0)), s(5), "at most every 5 s");
        assert_eq!(next_fetch_in(true, s(86_400)), s(300), "at least every 5 minutes");
        assert_eq!(next_fetch_in(false, s(60)), s(5), "5 s after a failure");
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (elsewhere, contacted) = server(Some(ok(r#"{"keys":[]}"#)));
        let (url, _) = server(Some(format!(
            "HTTP/1.1 302 Found\r\nlocation: {elsewhere}/.well-known/jwks.json\r\ncontent-length: 0\r\n\r\n"
        )));
        let source = JwksSource::new(&url, None).unwrap();
        let error = source.fetch().await.unwrap_err();
        assert!(error.contains("302"), "{error}");
        assert_eq!(contacted.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect target was fetched");
    }

    #[tokio::test]
    async fn oversized_key_sets_are_refused() {
        let huge = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(MAX_JWKS_BYTES));
        let (url, _) = server(Some(ok(&huge)));
        let error = JwksSource::new(&url, None).unwrap().fetch().await.unwrap_err();
        assert!(error.contains("larger than"), "{error}");
        // Without a Content-Length the cap holds while reading.
        let chunked = format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{huge}");
        let (url, _) = server(Some(chunked));
        let error = JwksSource::new(&url, None).unwrap().fetch().await.unwrap_err();
        assert!(error.contains("larger than"), "{error}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let (url, _) = server(None);
        let source = JwksSource::with_timeout(&url, None, Duration::from_millis(200)).unwrap();
        let error = source.fetch().await.unwrap_err();
        assert!(error.to_lowercase().contains("timed out") || error.contains("timeout"), "{error}");
        assert!(!source.health().has_keys);
    }

    #[tokio::test]
    async fn https_urls_are_fetched_over_tls() {
        // A plain-http listener behind an https URL: the client must attempt a TLS handshake
        // (and fail it), where a client without TLS would refuse the scheme outright.
        let (url, contacted) = server(Some(ok("{}")));
        let https = url.replace("http://", "https://");
        let error = JwksSource::new(&https, None).unwrap().fetch().await.unwrap_err();
        assert!(!error.contains("scheme"), "{error}");
        assert_eq!(contacted.load(std::sync::atomic::Ordering::SeqCst), 1, "a connection was made: {error}");
    }

    #[tokio::test]
    async fn keys_of_other_algorithms_are_skipped_quietly_and_bad_keys_loudly() {
        // An RSA key as auth-core publishes it for ID tokens, a good Ed25519 key, and a broken one.
        let rsa = r#"{"kty":"RSA","n":"sXch","e":"AQAB","kid":"rsa-1","alg":"RS256","use":"sig"}"#;
        let ed = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed-1","alg":"EdDSA","use":"sig"}"#;
        let short = r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"ed-bad","alg":"EdDSA","use":"sig"}"#;
        let (url, _) = server(Some(ok(&format!(r#"{{"keys":[{rsa},{ed},{short}]}}"#))));
        let keys = JwksSource::new(&url, None).unwrap().fetch().await.unwrap();
        assert_eq!(keys.kids().collect::<Vec<_>>(), ["ed-1"]);
        let loud: Vec<Option<String>> =
            keys.rejected().iter().filter(|r| worth_a_warning(r)).map(|r| r.kid.clone()).collect();
        assert_eq!(keys.rejected().len(), 2);
        assert_eq!(loud, [Some("ed-bad".to_owned())], "only the malformed key is worth a warning");
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age(Some("public, max-age=60")), Some(Duration::from_secs(60)));
        assert_eq!(max_age(Some("max-age=0")), Some(Duration::ZERO));
        assert_eq!(max_age(Some("no-store")), None);
        assert_eq!(max_age(None), None);
    }
}
