//! Sign-in throttling (docs/security.md): repeated failures per account and per client address are
//! answered 429 with `Retry-After` until the oldest failure leaves the window.
//!
//! Kept in memory per auth process, on the injected clock. With several auth replicas each
//! counts on its own, so the effective limit is per replica (documented in the README).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};
use token_claims::Clock;

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub failures: usize,
    pub window: Duration,
}

/// Five failures per account, twenty per address, in fifteen minutes.
pub const PER_ACCOUNT: Limit = Limit { failures: 5, window: Duration::minutes(15) };
pub const PER_ADDRESS: Limit = Limit { failures: 20, window: Duration::minutes(15) };
/// Past this many tracked keys, expired entries are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Clone)]
pub struct Throttle {
    clock: Arc<dyn Clock>,
    failures: Arc<Mutex<HashMap<String, VecDeque<OffsetDateTime>>>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

impl Throttle {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock, failures: Arc::default() }
    }

    fn keys(account: &str, address: &str) -> [(String, Limit); 2] {
        [(format!("account:{account}"), PER_ACCOUNT), (format!("address:{address}"), PER_ADDRESS)]
    }

    /// `Err(seconds)` when either key is over its limit.
    pub fn check(&self, account: &str, address: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = 0u64;
        for (key, limit) in Self::keys(account, address) {
            if let Some(times) = map.get_mut(&key) {
                while times.front().is_some_and(|t| *t + limit.window <= now) {
                    times.pop_front();
                }
                if times.len() >= limit.failures
                    && let Some(oldest) = times.front()
                {
                    let secs = (*oldest + limit.window - now).whole_seconds().max(1);
                    wait = wait.max(u64::try_from(secs).unwrap_or(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    pub fn record_failure(&self, account: &str, address: &str) {
        let now = self.clock.now();
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= SWEEP_AT {
            let longest = PER_ACCOUNT.window.max(PER_ADDRESS.window);
            map.retain(|_, times| times.back().is_some_and(|t| *t + longest > now));
        }
        for (key, limit) in Self::keys(account, address) {
            let times = map.entry(key).or_default();
            times.push_back(now);
            while times.len() > limit.failures {
                times.pop_front();
            }
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn record_success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&format!("account:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use token_claims::ManualClock;

    #[test]
    fn the_account_is_throttled_after_five_failures_until_the_window_passes() {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
        let throttle = Throttle::new(Arc::new(clock.clone()));
        for _ in 0..5 {
            assert_eq!(throttle.check("ada@example.org", "10.0.0.1"), Ok(()));
            throttle.record_failure("ada@example.org", "10.0.0.1");
            clock.advance(Duration::seconds(1));
        }
        let wait = throttle.check("ada@example.org", "10.0.0.2").unwrap_err();
        assert!((890..=900).contains(&wait), "{wait}");
        assert_eq!(throttle.check("bob@example.org", "10.0.0.1"), Ok(()), "the address has 5 of its 20");
        clock.advance(Duration::seconds(i64::try_from(wait).unwrap_or(900)));
        assert_eq!(throttle.check("ada@example.org", "10.0.0.2"), Ok(()));
    }

    #[test]
    fn the_address_is_throttled_across_accounts() {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
        let throttle = Throttle::new(Arc::new(clock));
        for i in 0..20 {
            throttle.record_failure(&format!("user{i}@example.org"), "10.0.0.9");
        }
        assert!(throttle.check("new@example.org", "10.0.0.9").is_err());
        assert_eq!(throttle.check("new@example.org", "10.0.0.8"), Ok(()));
    }

    #[test]
    fn success_clears_the_account() {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
        let throttle = Throttle::new(Arc::new(clock));
        for _ in 0..4 {
            throttle.record_failure("ada@example.org", "10.0.0.1");
        }
        throttle.record_success("ada@example.org");
        throttle.record_failure("ada@example.org", "10.0.0.1");
        assert_eq!(throttle.check("ada@example.org", "10.0.0.3"), Ok(()));
    }
}
