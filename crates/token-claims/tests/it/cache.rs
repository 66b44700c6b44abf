//! The verified-token cache: a repeat of a token skips the signature check, but never its
//! expiry, never a revocation, and never a key-set change.

use crate::support::{Fixture, LEEWAY, LIFETIME, NOW, SESSION, at, key_set};
use token_claims::{VERIFIED_CACHE_BYTES, VerifyError, verified_weight};

#[test]
fn a_repeated_token_is_served_from_the_cache_with_the_same_claims() {
    let f = Fixture::new();
    let token = f.token();
    let first = f.verify(&token).unwrap();
    assert_eq!(f.verifier.cached_tokens(), 1);
    assert_eq!(f.verify(&token).unwrap(), first);
    assert_eq!(f.verifier.cached_tokens(), 1);
}

#[test]
fn a_cached_token_still_expires() {
    let f = Fixture::new();
    let token = f.token();
    f.verify(&token).unwrap();
    f.clock.set(at(NOW + LIFETIME + LEEWAY));
    assert!(f.verify(&token).is_ok(), "inside the leeway");
    f.clock.set(at(NOW + LIFETIME + LEEWAY + 1));
    assert_eq!(f.verify(&token), Err(VerifyError::Expired));
    assert_eq!(f.verifier.cached_tokens(), 0, "the expired entry is gone");
}

#[test]
fn a_cached_token_of_a_revoked_session_is_refused_at_once() {
    let f = Fixture::new();
    let token = f.token();
    f.verify(&token).unwrap();
    f.revoked.insert(SESSION);
    assert_eq!(f.verify(&token), Err(VerifyError::Revoked));
}

#[test]
fn a_key_set_change_forgets_cached_tokens() {
    let f = Fixture::new();
    let token = f.token();
    f.verify(&token).unwrap();
    // The token's key leaves the set (retired): it must stop verifying now, not when its cache entry would.
    f.verifier.set_keys(key_set(&[&f.es256]));
    assert_eq!(f.verifier.cached_tokens(), 0);
    assert_eq!(f.verify(&token), Err(VerifyError::UnknownKid));
}

#[test]
fn a_tampered_copy_of_a_cached_token_is_verified_from_scratch() {
    let f = Fixture::new();
    let token = f.token();
    f.verify(&token).unwrap();
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(f.verify(&tampered).is_err());
}

#[test]
fn the_cache_is_bounded() {
    let f = Fixture::new();
    // Identical claims sign to identical EdDSA tokens (deterministic signatures): one entry.
    f.verify(&f.token()).unwrap();
    f.verify(&f.token()).unwrap();
    assert_eq!(f.verifier.cached_tokens(), 1);
    // The cache is bounded by what its tokens weigh: verify more tokens than fit.
    let one = verified_weight(&f.token(), &f.verify(&f.token()).unwrap());
    assert!(one > f.token().len(), "a token weighs at least its bytes");
    let fit = usize::try_from(VERIFIED_CACHE_BYTES).unwrap() / one;
    let mut claims = crate::support::claims();
    for i in 0..fit + fit / 4 {
        claims["jti"] = serde_json::json!(uuid::Uuid::from_u128(i as u128).to_string());
        f.verify(&f.token_with_claims(claims.clone())).unwrap();
    }
    assert!(f.verifier.cached_bytes() <= VERIFIED_CACHE_BYTES, "{} bytes", f.verifier.cached_bytes());
    assert!(f.verifier.cached_tokens() <= fit + fit / 20, "{} tokens of about {one} bytes", f.verifier.cached_tokens());
}

#[test]
fn a_token_weighs_its_bytes_and_its_claims() {
    let f = Fixture::new();
    let mut claims = f.verify(&f.token()).unwrap();
    claims.name = String::new();
    let short = verified_weight("a.b.c", &claims);
    let long = verified_weight(&"x".repeat(2_000), &claims);
    assert!(long >= short + 1_995);
    let mut named = claims.clone();
    named.name = "n".repeat(500);
    assert!(verified_weight("a.b.c", &named) >= short + 500);
}

/// A revocation check that, once armed, retires the token's key in the middle of a verification:
/// after the signature checked out against the old key set and before the result is stored.
/// That is exactly where a concurrent key rotation can land, driven here without threads.
struct RetireKeysMidVerification {
    verifier: std::sync::OnceLock<std::sync::Weak<token_claims::Verifier>>,
    replacement: std::sync::Mutex<Option<token_claims::KeySet>>,
}

impl token_claims::RevocationCheck for RetireKeysMidVerification {
    fn is_revoked(&self, _: &uuid::Uuid) -> bool {
        let replacement = self.replacement.lock().unwrap().take();
        if let (Some(keys), Some(verifier)) = (replacement, self.verifier.get().and_then(|v| v.upgrade())) {
            verifier.set_keys(keys);
        }
        false
    }
}

#[test]
fn a_token_verified_across_a_key_set_change_is_not_cached_after_it() {
    use crate::support::{ISSUER, TestKey, at};
    use std::sync::{Arc, Mutex, OnceLock};
    use token_claims::{Audience, ManualClock, Verifier, VerifierConfig};

    let (old, new) = (TestKey::ed25519(), TestKey::ed25519());
    let hook = Arc::new(RetireKeysMidVerification { verifier: OnceLock::new(), replacement: Mutex::new(None) });
    let verifier = Arc::new(
        Verifier::new(
            VerifierConfig::new(ISSUER, Audience::Courses),
            key_set(&[&old]),
            Arc::new(ManualClock::new(at(NOW))),
            hook.clone(),
        )
        .unwrap(),
    );
    hook.verifier.set(Arc::downgrade(&verifier)).unwrap();
    let token = old.sign(&old.header(), &crate::support::claims());

    *hook.replacement.lock().unwrap() = Some(key_set(&[&new]));
    assert!(verifier.verify(&token).is_ok(), "verified against the key set it started with");
    assert_eq!(verifier.cached_tokens(), 0, "but not kept: the key set changed before it was stored");
    assert_eq!(verifier.verify(&token), Err(VerifyError::UnknownKid), "the retired key stops verifying now");
}
