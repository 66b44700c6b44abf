//! Unknown `kid`s: `verify_refreshing` fetches at most once per 30 s (by the injected clock).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use time::Duration;
use token_claims::{Audience, KeySet, KeySource, ManualClock, RevokedSessions, Verifier, VerifierConfig, VerifyError};

use crate::support::*;

/// Serves whatever key set it is given and counts fetches.
#[derive(Default)]
struct FakeSource {
    keys: Mutex<Option<KeySet>>,
    fetches: AtomicUsize,
}

impl FakeSource {
    fn serving(keys: KeySet) -> Arc<Self> {
        let source = Self::default();
        source.serve(keys);
        Arc::new(source)
    }

    fn serve(&self, keys: KeySet) {
        *self.keys.lock().unwrap() = Some(keys);
    }

    fn fail(&self) {
        *self.keys.lock().unwrap() = None;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl KeySource for FakeSource {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<KeySet, String>> + Send + '_>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let keys = self.keys.lock().unwrap().clone();
        Box::pin(async move { keys.ok_or_else(|| "JWKS endpoint unreachable".to_owned()) })
    }
}

struct Setup {
    clock: ManualClock,
    source: Arc<FakeSource>,
    verifier: Verifier,
}

/// A verifier that starts trusting `initial`, with a source serving `served`.
fn setup(initial: &[&TestKey], served: &[&TestKey]) -> Setup {
    let clock = ManualClock::new(at(NOW));
    let source = FakeSource::serving(key_set(served));
    let verifier = Verifier::new(
        VerifierConfig::new(ISSUER, Audience::Courses),
        key_set(initial),
        Arc::new(clock.clone()),
        Arc::new(RevokedSessions::new()),
    )
    .unwrap()
    .with_key_source(source.clone());
    Setup { clock, source, verifier }
}

fn token(key: &TestKey) -> String {
    key.sign(&key.header(), &claims())
}

#[test]
fn an_unknown_kid_triggers_one_fetch_and_the_new_key_verifies() {
    let (old, new) = (TestKey::ed25519(), TestKey::ed25519());
    let setup = setup(&[&old], &[&old, &new]);
    assert_eq!(setup.verifier.verify(&token(&new)), Err(VerifyError::UnknownKid));
    assert_eq!(setup.source.fetches(), 0, "verify() never fetches");

    assert_eq!(block_on(setup.verifier.verify_refreshing(&token(&new))), Ok(verified()));
    assert_eq!(setup.source.fetches(), 1);
    // The new keys are kept: the same token no longer needs a fetch, nor do the old key's.
    assert_eq!(setup.verifier.verify(&token(&new)), Ok(verified()));
    assert_eq!(block_on(setup.verifier.verify_refreshing(&token(&old))), Ok(verified()));
    assert_eq!(setup.source.fetches(), 1);
}

#[test]
fn unknown_kids_fetch_at_most_once_per_30_seconds() {
    let (known, stranger, rotated) = (TestKey::ed25519(), TestKey::ed25519(), TestKey::ed25519());
    let setup = setup(&[&known], &[&known]);

    let outcome = block_on(setup.verifier.verify_refreshing(&token(&stranger)));
    assert_eq!(outcome, Err(VerifyError::UnknownKid));
    assert_eq!(setup.source.fetches(), 1);

    // Another unknown kid within the interval: no fetch, even though the source has the key.
    setup.source.serve(key_set(&[&known, &rotated]));
    setup.clock.advance(Duration::seconds(29));
    let outcome = block_on(setup.verifier.verify_refreshing(&token(&rotated)));
    assert_eq!(outcome, Err(VerifyError::UnknownKid));
    assert_eq!(setup.source.fetches(), 1);

    // 30 s after the first fetch: fetch again, and the newly fetched key verifies.
    setup.clock.advance(Duration::seconds(1));
    let outcome = block_on(setup.verifier.verify_refreshing(&token(&rotated)));
    assert_eq!(outcome, Ok(verified()));
    assert_eq!(setup.source.fetches(), 2);
}

#[test]
fn a_failed_fetch_counts_against_the_interval_and_keeps_the_keys() {
    let (known, stranger) = (TestKey::ed25519(), TestKey::ed25519());
    let setup = setup(&[&known], &[]);
    setup.source.fail();
    let outcome = block_on(setup.verifier.verify_refreshing(&token(&stranger)));
    assert_eq!(outcome, Err(VerifyError::UnknownKid));
    let outcome = block_on(setup.verifier.verify_refreshing(&token(&stranger)));
    assert_eq!(outcome, Err(VerifyError::UnknownKid));
    assert_eq!(setup.source.fetches(), 1);
    assert_eq!(setup.verifier.verify(&token(&known)), Ok(verified()));
}

#[test]
fn a_fetched_set_without_usable_keys_does_not_replace_the_current_one() {
    let (known, stranger) = (TestKey::ed25519(), TestKey::ed25519());
    let setup = setup(&[&known], &[]);
    let outcome = block_on(setup.verifier.verify_refreshing(&token(&stranger)));
    assert_eq!(outcome, Err(VerifyError::UnknownKid));
    assert_eq!(setup.source.fetches(), 1);
    assert_eq!(setup.verifier.verify(&token(&known)), Ok(verified()));
    assert!(block_on(setup.verifier.refresh_keys()).is_err());
    assert_eq!(setup.verifier.keys().len(), 1);
}

#[test]
fn other_failures_never_fetch() {
    let known = TestKey::ed25519();
    let setup = setup(&[&known], &[&known]);
    let expired = known.sign(&known.header(), &with(claims(), "exp", serde_json::json!(NOW - 3600)));
    for token in ["garbage".to_owned(), expired, token(&TestKey::p256())] {
        assert_ne!(block_on(setup.verifier.verify_refreshing(&token)), Err(VerifyError::UnknownKid));
    }
    assert_eq!(block_on(setup.verifier.verify_refreshing(&token(&known))), Ok(verified()));
    assert_eq!(setup.source.fetches(), 0);
}

#[test]
fn refresh_keys_fetches_unconditionally() {
    let (old, new) = (TestKey::ed25519(), TestKey::ed25519());
    let setup = setup(&[&old], &[&new]);
    block_on(setup.verifier.refresh_keys()).unwrap();
    block_on(setup.verifier.refresh_keys()).unwrap();
    assert_eq!(setup.source.fetches(), 2);
    assert_eq!(setup.verifier.keys().kids().collect::<Vec<_>>(), [new.kid.as_str()]);
    assert_eq!(setup.verifier.verify(&token(&new)), Ok(verified()));
    assert_eq!(setup.verifier.verify(&token(&old)), Err(VerifyError::UnknownKid));
    setup.source.fail();
    assert!(block_on(setup.verifier.refresh_keys()).is_err());
}

#[test]
fn set_keys_replaces_the_key_set() {
    let (old, new) = (TestKey::ed25519(), TestKey::ed25519());
    let setup = setup(&[&old], &[]);
    setup.verifier.set_keys(key_set(&[&new]));
    assert_eq!(setup.verifier.verify(&token(&new)), Ok(verified()));
    assert_eq!(setup.verifier.verify(&token(&old)), Err(VerifyError::UnknownKid));
}

#[test]
fn without_a_source_nothing_is_fetched() {
    let fixture = Fixture::new();
    let stranger = TestKey::ed25519();
    let outcome = block_on(fixture.verifier.verify_refreshing(&token(&stranger)));
    assert_eq!(outcome, Err(VerifyError::UnknownKid));
    assert_eq!(block_on(fixture.verifier.refresh_keys()), Ok(()));
}

#[test]
fn verify_refreshing_can_run_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let fixture = Fixture::new();
    let future = fixture.verifier.verify_refreshing("token");
    assert_send(&future);
    assert!(block_on(future).is_err());
}
