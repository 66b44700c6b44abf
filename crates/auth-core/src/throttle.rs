//! Throttling of the endpoints that make auth-core hash (docs/security.md, passwords and sign-in):
//! at most 5 password checks per account and 20 per client address in 15 minutes, and at most 20
//! sign-ups per address in an hour. Over the limit: 429 with `Retry-After`.
//!
//! An attempt is *reserved* before any work is done, under one lock for all its keys, so requests
//! in flight count as much as finished ones: 60 parallel guesses at one account get 5 password
//! checks, not however many passed a check before the first failure was written down. A sign-in
//! that succeeds gives its reservation back; a failed one keeps it as the record of the failure; a
//! reservation dropped without an outcome (the database was down, nothing was checked) is given
//! back too.
//!
//! Kept in memory per auth process, on the injected clock. With several auth replicas each
//! counts on its own, so the effective limit is per replica (docs/operations.md).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};
use token_claims::Clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub attempts: usize,
    pub window: Duration,
}

/// Password checks per account.
pub const SIGN_IN_PER_ACCOUNT: Limit = Limit { attempts: 5, window: Duration::minutes(15) };
/// Password checks per client address, across accounts.
pub const SIGN_IN_PER_ADDRESS: Limit = Limit { attempts: 20, window: Duration::minutes(15) };
/// Sign-ups per client address, whatever their outcome (each costs a strength check and a hash,
/// and a 409 tells whether an email has an account).
pub const SIGN_UP_PER_ADDRESS: Limit = Limit { attempts: 20, window: Duration::hours(1) };
/// Past this many tracked keys, keys whose attempts all left their window are swept.
const SWEEP_AT: usize = 10_000;
/// Account keys are emails; longer input is cut so an attacker cannot make the map hold megabytes.
const MAX_KEY_CHARS: usize = 256;

#[derive(Clone, Copy, Debug)]
struct Attempt {
    at: OffsetDateTime,
    id: u64,
    /// Finished and kept (a failure, or a sign-up); an unsettled attempt is still in flight.
    settled: bool,
}

#[derive(Default)]
struct Table {
    keys: HashMap<String, (Limit, VecDeque<Attempt>)>,
}

#[derive(Clone)]
pub struct Throttle {
    clock: Arc<dyn Clock>,
    table: Arc<Mutex<Table>>,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

/// The keys one sign-in attempt counts against.
pub fn sign_in_keys(account: &str, address: &str) -> [(String, Limit); 2] {
    [(key("sign-in:account", account), SIGN_IN_PER_ACCOUNT), (key("sign-in:address", address), SIGN_IN_PER_ADDRESS)]
}

/// The key one sign-up attempt counts against.
pub fn sign_up_keys(address: &str) -> [(String, Limit); 1] {
    [(key("sign-up:address", address), SIGN_UP_PER_ADDRESS)]
}

fn key(kind: &str, value: &str) -> String {
    let value: String = value.chars().take(MAX_KEY_CHARS).collect();
    format!("{kind}:{value}")
}

/// One attempt, counted from the moment it was reserved. Settle it with [`Reservation::succeeded`]
/// (given back) or [`Reservation::keep`]; dropping it unsettled gives it back.
#[must_use = "a reservation is given back when dropped"]
pub struct Reservation {
    throttle: Throttle,
    keys: Vec<String>,
    id: u64,
    done: bool,
}

impl Reservation {
    /// The attempt stays counted until it leaves its window: a failed sign-in, or any sign-up.
    pub fn keep(mut self) {
        self.throttle.settle(&self.keys, self.id, false);
        self.done = true;
    }

    /// A sign-in that succeeded: its reservation is given back, and the account's earlier failures
    /// are forgotten (the address's are not).
    pub fn succeeded(mut self) {
        self.throttle.settle(&self.keys, self.id, true);
        self.done = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            self.throttle.release(&self.keys, self.id);
        }
    }
}

impl Throttle {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock, table: Arc::default(), next_id: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves one attempt against every key, or none: `Err(seconds)` until the oldest attempt of
    /// a full key leaves its window.
    pub fn reserve(&self, keys: &[(String, Limit)]) -> Result<Reservation, u64> {
        let now = self.clock.now();
        let mut table = self.lock();
        if table.keys.len() >= SWEEP_AT {
            table.keys.retain(|_, (limit, attempts)| attempts.back().is_some_and(|a| a.at + limit.window > now));
        }
        let mut wait = 0u64;
        for (name, limit) in keys {
            if let Some((_, attempts)) = table.keys.get_mut(name) {
                while attempts.front().is_some_and(|a| a.at + limit.window <= now) {
                    attempts.pop_front();
                }
                if attempts.len() >= limit.attempts
                    && let Some(oldest) = attempts.front()
                {
                    let secs = (oldest.at + limit.window - now).whole_seconds().max(1);
                    wait = wait.max(u64::try_from(secs).unwrap_or(1));
                }
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        for (name, limit) in keys {
            let (_, attempts) = table.keys.entry(name.clone()).or_insert_with(|| (*limit, VecDeque::new()));
            attempts.push_back(Attempt { at: now, id, settled: false });
        }
        drop(table);
        Ok(Reservation { throttle: self.clone(), keys: keys.iter().map(|(k, _)| k.clone()).collect(), id, done: false })
    }

    fn release(&self, keys: &[String], id: u64) {
        let mut table = self.lock();
        for name in keys {
            if let Some((_, attempts)) = table.keys.get_mut(name) {
                attempts.retain(|a| a.id != id);
            }
        }
    }

    fn settle(&self, keys: &[String], id: u64, success: bool) {
        let mut table = self.lock();
        for (i, name) in keys.iter().enumerate() {
            let Some((_, attempts)) = table.keys.get_mut(name) else { continue };
            if success {
                // The first key is the account's: its settled failures are forgotten too.
                attempts.retain(|a| a.id != id && !(i == 0 && a.settled));
            } else if let Some(a) = attempts.iter_mut().find(|a| a.id == id) {
                a.settled = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use token_claims::ManualClock;

    fn throttle() -> (Throttle, ManualClock) {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
        (Throttle::new(Arc::new(clock.clone())), clock)
    }

    #[test]
    fn the_account_is_throttled_after_five_failures_until_the_window_passes() {
        let (throttle, clock) = throttle();
        for _ in 0..5 {
            throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.1")).unwrap().keep();
            clock.advance(Duration::seconds(1));
        }
        let wait = throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.2")).err().unwrap();
        assert!((890..=900).contains(&wait), "{wait}");
        assert!(throttle.reserve(&sign_in_keys("bob@example.org", "10.0.0.1")).is_ok(), "the address has 5 of 20");
        clock.advance(Duration::seconds(i64::try_from(wait).unwrap()));
        assert!(throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.2")).is_ok());
    }

    #[test]
    fn attempts_in_flight_count_before_any_outcome() {
        let (throttle, _) = throttle();
        let held: Vec<Reservation> = (0..5)
            .map(|i| throttle.reserve(&sign_in_keys("ada@example.org", &format!("10.0.0.{i}"))).unwrap())
            .collect();
        assert!(
            throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.99")).is_err(),
            "five checks of one account are in flight: a sixth waits, from any address"
        );
        drop(held);
        assert!(throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.99")).is_ok(), "given back unsettled");
    }

    #[test]
    fn the_address_is_throttled_across_accounts() {
        let (throttle, _) = throttle();
        let held: Vec<Reservation> = (0..20)
            .map(|i| throttle.reserve(&sign_in_keys(&format!("u{i}@example.org"), "10.0.0.9")).unwrap())
            .collect();
        assert!(throttle.reserve(&sign_in_keys("new@example.org", "10.0.0.9")).is_err());
        assert!(throttle.reserve(&sign_in_keys("new@example.org", "10.0.0.8")).is_ok());
        drop(held);
    }

    #[test]
    fn a_refused_reservation_counts_against_no_key() {
        let (throttle, _) = throttle();
        for _ in 0..5 {
            throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.1")).unwrap().keep();
        }
        for _ in 0..30 {
            assert!(throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.1")).is_err());
        }
        for i in 0..15 {
            assert!(throttle.reserve(&sign_in_keys(&format!("u{i}@example.org"), "10.0.0.1")).is_ok(), "{i}");
        }
    }

    #[test]
    fn success_gives_back_its_attempt_and_clears_the_account() {
        let (throttle, _) = throttle();
        for _ in 0..4 {
            throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.1")).unwrap().keep();
        }
        throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.1")).unwrap().succeeded();
        for _ in 0..5 {
            throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.3")).unwrap().keep();
        }
        assert!(throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.3")).is_err());
    }

    #[test]
    fn success_does_not_clear_other_attempts_in_flight() {
        let (throttle, _) = throttle();
        let in_flight: Vec<Reservation> =
            (0..4).map(|_| throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.1")).unwrap()).collect();
        throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.2")).unwrap().succeeded();
        let fifth = throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.3")).unwrap();
        assert!(throttle.reserve(&sign_in_keys("ada@example.org", "10.0.0.3")).is_err(), "4 + 1 in flight");
        drop((in_flight, fifth));
    }

    #[test]
    fn sign_ups_count_per_address_whatever_their_outcome() {
        let (throttle, clock) = throttle();
        for _ in 0..20 {
            throttle.reserve(&sign_up_keys("10.0.0.1")).unwrap().keep();
        }
        let wait = throttle.reserve(&sign_up_keys("10.0.0.1")).err().unwrap();
        assert!((3590..=3600).contains(&wait), "{wait}");
        assert!(throttle.reserve(&sign_up_keys("10.0.0.2")).is_ok());
        clock.advance(Duration::hours(1));
        assert!(throttle.reserve(&sign_up_keys("10.0.0.1")).is_ok());
    }

    #[test]
    fn keys_are_capped_in_length() {
        let long = "a".repeat(10_000);
        assert!(sign_in_keys(&long, "x")[0].0.len() < 300);
    }
}
