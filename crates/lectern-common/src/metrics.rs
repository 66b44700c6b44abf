//! Prometheus metrics at `/metrics` on every service: requests and latency by route template
//! and status (actix-web-prom), plus what matters for access control: token rejections by
//! reason, sign-ins and their failures, JWKS refreshes.
//!
//! `/metrics` is for the scraper on the internal network; the gateway does not route it.

use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::{IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// `lectern_token_rejections_total{reason}`: the `VerifyError::reason()` of refused tokens.
    pub token_rejections: IntCounterVec,
    /// `lectern_sign_ins_total{outcome}`: success, failure, throttled.
    pub sign_ins: IntCounterVec,
    /// `lectern_jwks_refreshes_total{outcome}`: success, failure.
    pub jwks_refreshes: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn counter(registry: &Registry, name: &str, help: &str, label: &str) -> Result<IntCounterVec, prometheus::Error> {
    let c = IntCounterVec::new(Opts::new(name, help).namespace("lectern"), &[label])?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        Ok(Self {
            token_rejections: counter(
                &registry,
                "token_rejections_total",
                "Access tokens refused, by reason",
                "reason",
            )?,
            sign_ins: counter(&registry, "sign_ins_total", "Sign-in attempts, by outcome", "outcome")?,
            jwks_refreshes: counter(
                &registry,
                "jwks_refreshes_total",
                "JWKS fetches from auth-core, by outcome",
                "outcome",
            )?,
            registry,
        })
    }

    /// The request middleware; it also serves `GET /metrics`. Unmatched paths are counted under
    /// one label so that scanners cannot blow up the label set.
    pub fn middleware(&self, service: &str) -> Result<PrometheusMetrics, prometheus::Error> {
        let labels = std::iter::once(("service".to_owned(), service.to_owned())).collect();
        PrometheusMetricsBuilder::new("lectern")
            .registry(self.registry.clone())
            .endpoint("/metrics")
            .const_labels(labels)
            .mask_unmatched_patterns("UNKNOWN")
            .build()
            .map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    pub fn sign_in(&self, outcome: &str) {
        self.sign_ins.with_label_values(&[outcome]).inc();
    }
}
