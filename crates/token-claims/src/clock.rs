//! Time as a parameter.
//!
//! Expiry, leeway and the key-refresh rate limit read an injected [`Clock`], so tests move time
//! with [`ManualClock`] instead of sleeping. [`ManualClock`] is part of the public API because the
//! integration tests of the other crates drive their services with it.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// The current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, truncated to whole microseconds so that an instant stored in PostgreSQL
/// (microsecond precision) or SQLite reads back equal to the one that was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().truncate_to_microsecond()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves the clock by `by` (negative moves it back), saturating at the representable range.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now.saturating_add(by);
    }

    /// Puts the clock at `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.lock() = to;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A plain value cannot be left half-written, so a poisoned lock is still usable.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::new(datetime!(2026-11-28 12:00 UTC));
        let other = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-11-28 12:00 UTC));
        other.advance(Duration::seconds(30));
        assert_eq!(clock.now(), datetime!(2026-11-28 12:00:30 UTC));
        clock.set(datetime!(2027-01-01 0:00 UTC));
        assert_eq!(other.now(), datetime!(2027-01-01 0:00 UTC));
    }

    #[test]
    fn system_clock_has_whole_microseconds() {
        assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
    }
}
