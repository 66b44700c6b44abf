//! What `Verifier::new` refuses to build.

use std::sync::Arc;

use token_claims::{
    Algorithm, Audience, ConfigError, KeySet, MAX_LEEWAY_SECS, RevokedSessions, SystemClock, Verifier, VerifierConfig,
};

fn build(adjust: impl FnOnce(&mut VerifierConfig)) -> Result<Verifier, ConfigError> {
    let mut config = VerifierConfig::new("lectern", Audience::Grading);
    adjust(&mut config);
    Verifier::new(config, KeySet::default(), Arc::new(SystemClock), Arc::new(RevokedSessions::new()))
}

#[test]
fn defaults_are_eddsa_only_with_30_seconds_of_leeway() {
    let verifier = build(|_| {}).unwrap();
    let config = verifier.config();
    assert_eq!(config.algorithms, [Algorithm::EdDSA]);
    assert_eq!(config.leeway_secs, 30);
    assert_eq!((config.issuer.as_str(), config.audience), ("lectern", Audience::Grading));
}

#[test]
fn hmac_algorithms_are_never_allowed() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let built = build(|config| config.algorithms = vec![Algorithm::EdDSA, alg]);
        assert_eq!(built.err(), Some(ConfigError::AlgorithmNotAllowed(alg)));
    }
}

#[test]
fn only_eddsa_and_es256_may_be_allowed() {
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES384] {
        let built = build(|config| config.algorithms = vec![alg]);
        assert_eq!(built.err(), Some(ConfigError::AlgorithmNotAllowed(alg)));
    }
    assert!(build(|config| config.algorithms = vec![Algorithm::ES256]).is_ok());
}

#[test]
fn an_empty_allow_list_is_refused() {
    let built = build(|config| config.algorithms.clear());
    assert_eq!(built.err(), Some(ConfigError::NoAlgorithms));
}

#[test]
fn leeway_is_capped_at_60_seconds() {
    assert!(build(|config| config.leeway_secs = MAX_LEEWAY_SECS).is_ok());
    let built = build(|config| config.leeway_secs = 61);
    assert_eq!(built.err(), Some(ConfigError::LeewayTooLarge(61)));
    let built = build(|config| config.leeway_secs = u64::MAX);
    assert_eq!(built.err(), Some(ConfigError::LeewayTooLarge(u64::MAX)));
}

#[test]
fn an_empty_issuer_is_refused() {
    let built = build(|config| config.issuer.clear());
    assert_eq!(built.err(), Some(ConfigError::EmptyIssuer));
}

#[test]
fn the_crypto_backend_is_installed() {
    // The start-up check Verifier::new makes; with none or both jsonwebtoken backend features
    // this is None and every Verifier::new fails with NoCryptoBackend.
    assert!(jsonwebtoken::crypto::CryptoProvider::try_get_default().is_some());
}

#[test]
fn the_verifier_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
}
