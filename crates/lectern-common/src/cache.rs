//! A bounded copy of values read from the database, fresh for a while by the injected clock.
//!
//! Services keep reads that repeat (catalog pages, a student's enrollments, account copies) in
//! a [`FreshCache`]. Storage and eviction are moka's (TinyLFU), bounded by the *bytes* the
//! values hold (each cache's weigher estimates them), not by their count: a few large catalog
//! pages and many small account copies cost what they weigh. Freshness is judged by the
//! service's [`Clock`](token_claims::Clock), so tests move time instead of sleeping; moka also
//! drops each value once its time to live has passed in real time, so stale values do not sit
//! in memory until something evicts them.
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

/// The hasher of Lectern's in-memory caches: foldhash (fast, seeded per process, not
/// cryptographic; keys are ids and tokens that were already verified, or parsed query values
/// whose number the cache's capacity bounds anyway).
pub type CacheHasher = foldhash::fast::RandomState;

/// What moka's bookkeeping costs per entry, on top of the key and value (an estimate: the
/// entry's node, its place in the access order and the frequency sketch).
pub const ENTRY_OVERHEAD: usize = 160;

/// Estimates the bytes one key and value hold on the heap and inline.
pub type Weigher<K, V> = fn(&K, &V) -> usize;

/// A weight as moka wants it (`u32`), saturating.
pub fn weight(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

pub struct FreshCache<K, V> {
    entries: moka::sync::Cache<K, Entry<V>, CacheHasher>,
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
    /// Values weighing at most `max_bytes` in all (by `weigher`, plus [`ENTRY_OVERHEAD`] each),
    /// each served for `ttl` after it was read.
    pub fn new(max_bytes: u64, ttl: Duration, weigher: Weigher<K, V>) -> Self {
        let live = std::time::Duration::try_from(ttl).unwrap_or(std::time::Duration::ZERO);
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |key: &K, entry: &Entry<V>| weight(weigher(key, &entry.value).saturating_add(ENTRY_OVERHEAD)))
            .time_to_live(live)
            .build_with_hasher(CacheHasher::default());
        Self { entries, ttl, generation: RwLock::new(0) }
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

    /// How many bytes the held values weigh (after moka's pending evictions are applied).
    pub fn weighed_bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
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

    /// Integers weighing 100 bytes each (plus the entry overhead).
    fn hundred<K>(_: &K, _: &i32) -> usize {
        100
    }

    fn cache<K: Hash + Eq + Send + Sync + 'static>(max_bytes: u64) -> FreshCache<K, i32> {
        FreshCache::new(max_bytes, Duration::seconds(2), hundred)
    }

    #[test]
    fn values_are_fresh_for_their_ttl_by_the_given_clock() {
        let cache = cache(1 << 20);
        assert!(cache.insert(cache.ticket(), "k", 1, at(100)));
        assert_eq!(cache.get(&"k", at(101)), Some(1));
        assert_eq!(cache.get(&"k", at(102)), None, "two seconds later it is stale");
    }

    #[test]
    fn a_read_that_started_before_an_invalidation_is_not_stored_after_it() {
        let cache = FreshCache::new(1 << 20, Duration::seconds(2), |_: &&str, v: &&str| v.len());
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
    fn the_cache_is_bounded_by_what_its_values_weigh() {
        // Room for 100 entries of 100 + ENTRY_OVERHEAD bytes.
        let max = 100 * (100 + ENTRY_OVERHEAD as u64);
        let cache = cache(max);
        for i in 0..1_000 {
            let _ = cache.insert(cache.ticket(), i, i, at(0));
        }
        assert!(cache.len() <= 100, "{}", cache.len());
        assert!(cache.weighed_bytes() <= max, "{}", cache.weighed_bytes());
        // Heavier values: fewer of them fit in the same bytes.
        let heavy = FreshCache::new(max, Duration::seconds(2), |_: &i32, _: &i32| 1_000);
        for i in 0..1_000 {
            let _ = heavy.insert(heavy.ticket(), i, i, at(0));
        }
        assert!(heavy.len() <= max / 1_000, "{}", heavy.len());
        assert!(heavy.weighed_bytes() <= max);
    }

    #[test]
    fn a_value_heavier_than_the_whole_cache_is_not_kept() {
        let cache: FreshCache<i32, i32> = cache(50);
        let _ = cache.insert(cache.ticket(), 1, 1, at(0));
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.get(&1, at(0)), None);
    }
}
