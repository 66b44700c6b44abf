//! A bounded copy of values read from the database, fresh for a while by the injected clock.
//!
//! Services keep reads that repeat (catalog pages, a student's enrollments, account copies) in
//! a [`FreshCache`]. Storage and eviction are moka's (bounded, TinyLFU); freshness is judged by
//! the service's [`Clock`](token_claims::Clock), so tests move time instead of sleeping.
//!
//! A read that started before this process changed the data must not be stored after the change
//! (it would serve the old value for a whole lifetime). So a reader takes a [`Ticket`] before it
//! reads, and [`FreshCache::insert`] stores only while no invalidation happened since; the check
//! and the store happen under the same lock an invalidation takes, so none can slip between.

use std::hash::Hash;
use std::sync::{PoisonError, RwLock};
use time::{Duration, OffsetDateTime};

/// When a value was read, and the value.
#[derive(Clone)]
struct Entry<V> {
    read_at: OffsetDateTime,
    value: V,
}

/// Proof of when a read started: the cache's generation at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a ticket is what a read hands to `insert`"]
pub struct Ticket(u64);

pub struct FreshCache<K, V> {
    entries: moka::sync::Cache<K, Entry<V>>,
    ttl: Duration,
    /// Moves on every invalidation; inserts hold it for reading, invalidations for writing.
    generation: RwLock<u64>,
}

impl<K, V> std::fmt::Debug for FreshCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl<K, V> FreshCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `capacity` values, each served for `ttl` after it was read.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self { entries: moka::sync::Cache::new(capacity), ttl, generation: RwLock::new(0) }
    }

    /// Take this before reading the value from the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(*self.generation.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The value, if it was read less than `ttl` before `now`.
    pub fn get(&self, key: &K, now: OffsetDateTime) -> Option<V> {
        self.entries.get(key).filter(|e| now - e.read_at < self.ttl).map(|e| e.value)
    }

    /// Keeps a value read at `now` under `ticket`; refused when the cache was invalidated since
    /// the ticket was taken. Returns whether it was kept.
    pub fn insert(&self, ticket: Ticket, key: K, value: V, now: OffsetDateTime) -> bool {
        let generation = self.generation.read().unwrap_or_else(PoisonError::into_inner);
        if *generation != ticket.0 {
            return false;
        }
        self.entries.insert(key, Entry { read_at: now, value });
        true
    }

    /// Forgets one value; reads in flight are not stored.
    pub fn invalidate(&self, key: &K) {
        let mut generation = self.generation.write().unwrap_or_else(PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        self.entries.invalidate(key);
    }

    /// Forgets every value; reads in flight are not stored.
    pub fn invalidate_all(&self) {
        let mut generation = self.generation.write().unwrap_or_else(PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        self.entries.invalidate_all();
    }

    /// How many values are held (after moka's pending evictions are applied).
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    #[test]
    fn values_are_fresh_for_their_ttl_by_the_given_clock() {
        let cache = FreshCache::new(10, Duration::seconds(2));
        assert!(cache.insert(cache.ticket(), "k", 1, at(100)));
        assert_eq!(cache.get(&"k", at(101)), Some(1));
        assert_eq!(cache.get(&"k", at(102)), None, "two seconds later it is stale");
    }

    #[test]
    fn a_read_that_started_before_an_invalidation_is_not_stored_after_it() {
        let cache = FreshCache::new(10, Duration::seconds(2));
        // The reader takes its ticket, then reads the old value from the database...
        let ticket = cache.ticket();
        // ...meanwhile this process writes and invalidates...
        cache.invalidate_all();
        // ...and only then does the reader try to keep what it read.
        assert!(!cache.insert(ticket, "page", "old", at(0)));
        assert_eq!(cache.get(&"page", at(0)), None, "the old value would be served for the whole TTL");
        let ticket = cache.ticket();
        cache.invalidate(&"other");
        assert!(!cache.insert(ticket, "page", "old", at(0)), "one key's invalidation counts too");
        assert!(cache.insert(cache.ticket(), "page", "new", at(0)));
        assert_eq!(cache.get(&"page", at(1)), Some("new"));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = FreshCache::new(100, Duration::seconds(2));
        for i in 0..1_000 {
            let _ = cache.insert(cache.ticket(), i, i, at(0));
        }
        assert!(cache.len() <= 100, "{}", cache.len());
    }
}
