//! The catalog is the page everyone opens first and it changes rarely, so each process keeps
//! what it last read for a moment (docs/architecture.md: reads that repeat are served from memory where
//! correctness allows):
//! - a catalog page as everyone in its scope sees it (courses, their teachers, the total);
//! - each student's set of enrolled courses (the `enrolled` flags).
//!
//! Writes made through this process empty what they affect at once, so its own users never see
//! stale data, and a read that started before such a write is not stored after it (a
//! [`Ticket`] taken before the read); writes made by another process (a second course replica)
//! show after at most [`TTL`]. The catalog decides nothing about access: `access.rs` always asks
//! the database.

use crate::store::CatalogScope;
use crate::views::CourseItem;
use lectern_common::cache::{FreshCache, Ticket};
use lectern_common::ids::{CourseId, UserId};
use std::collections::HashSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How long another process's write may take to show in this one's catalog.
pub const TTL: Duration = Duration::seconds(2);
/// How many pages, and how many students' enrollment sets, a process keeps at most.
const CAPACITY: u64 = 4_096;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub scope: CatalogScope,
    pub q: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

/// A catalog page before the per-student `enrolled` flags are set.
#[derive(Debug)]
pub struct SharedPage {
    pub items: Vec<CourseItem>,
    pub total: i64,
}

/// Tickets for both maps, taken together before one database read.
#[derive(Clone, Copy, Debug)]
pub struct Tickets {
    pages: Ticket,
    enrollments: Ticket,
}

pub struct CatalogCache {
    pages: FreshCache<PageKey, Arc<SharedPage>>,
    enrollments: FreshCache<UserId, Arc<HashSet<CourseId>>>,
}

impl Default for CatalogCache {
    fn default() -> Self {
        Self { pages: FreshCache::new(CAPACITY, TTL), enrollments: FreshCache::new(CAPACITY, TTL) }
    }
}

impl CatalogCache {
    /// Take these before reading from the database.
    pub fn tickets(&self) -> Tickets {
        Tickets { pages: self.pages.ticket(), enrollments: self.enrollments.ticket() }
    }

    pub fn page(&self, key: &PageKey, now: OffsetDateTime) -> Option<Arc<SharedPage>> {
        self.pages.get(key, now)
    }

    pub fn keep_page(&self, tickets: Tickets, key: PageKey, page: Arc<SharedPage>, now: OffsetDateTime) {
        let _ = self.pages.insert(tickets.pages, key, page, now);
    }

    pub fn enrollments(&self, student: UserId, now: OffsetDateTime) -> Option<Arc<HashSet<CourseId>>> {
        self.enrollments.get(&student, now)
    }

    pub fn keep_enrollments(
        &self,
        tickets: Tickets,
        student: UserId,
        courses: Arc<HashSet<CourseId>>,
        now: OffsetDateTime,
    ) {
        let _ = self.enrollments.insert(tickets.enrollments, student, courses, now);
    }

    /// A course was created, renamed, published or unpublished here.
    pub fn courses_changed(&self) {
        self.pages.invalidate_all();
    }

    /// A student enrolled or left here.
    pub fn enrollments_changed(&self, student: UserId) {
        self.enrollments.invalidate(&student);
    }
}

impl std::fmt::Debug for CatalogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogCache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageKey {
        PageKey { scope: CatalogScope::Published, q: None, page: 1, per_page: 20 }
    }

    /// A page read before this process's own write, offered to the cache after the write, is
    /// refused: otherwise this process's users would see the old catalog for two seconds.
    #[test]
    fn a_page_read_before_a_write_here_is_not_kept_after_it() {
        let cache = CatalogCache::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let student = UserId::new();
        let before_the_write = cache.tickets();
        cache.courses_changed();
        cache.enrollments_changed(student);
        let stale = Arc::new(SharedPage { items: Vec::new(), total: 0 });
        cache.keep_page(before_the_write, key(), Arc::clone(&stale), now);
        cache.keep_enrollments(before_the_write, student, Arc::new(HashSet::new()), now);
        assert!(cache.page(&key(), now).is_none());
        assert!(cache.enrollments(student, now).is_none());
        let after = cache.tickets();
        cache.keep_page(after, key(), stale, now);
        assert!(cache.page(&key(), now).is_some(), "a read after the write is kept");
        assert!(cache.page(&key(), now + TTL).is_none(), "for two seconds");
    }
}
