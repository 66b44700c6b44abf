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
use crate::views::{CourseItem, PersonRef};
use lectern_common::cache::{FreshCache, Ticket};
use lectern_common::ids::{CourseId, UserId};
use std::collections::HashSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How long another process's write may take to show in this one's catalog.
pub const TTL: Duration = Duration::seconds(2);
/// How many bytes of catalog pages a process keeps at most (a page of 20 courses with their
/// teachers weighs a few KiB).
pub const PAGE_BYTES: u64 = 4 << 20;
/// How many bytes of students' enrollment sets a process keeps at most.
pub const ENROLLMENT_BYTES: u64 = 2 << 20;

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

/// What a page and its key hold: the courses, their texts and their teachers' names.
pub fn page_weight(key: &PageKey, page: &Arc<SharedPage>) -> usize {
    use std::mem::size_of;
    let key_bytes = size_of::<PageKey>() + key.q.as_ref().map_or(0, String::capacity);
    let items: usize = page
        .items
        .iter()
        .map(|c| {
            c.title.capacity()
                + c.summary.capacity()
                + c.teachers.capacity() * size_of::<PersonRef>()
                + c.teachers.iter().map(|t| t.display_name.capacity()).sum::<usize>()
        })
        .sum();
    // The `Arc`'s two counters, the page, its item slots, and what the items point to.
    key_bytes
        + 2 * size_of::<usize>()
        + size_of::<SharedPage>()
        + page.items.capacity() * size_of::<CourseItem>()
        + items
}

/// What a student's enrollment set holds: a hash table of course ids (one control byte each).
pub fn enrollments_weight(_: &UserId, courses: &Arc<HashSet<CourseId>>) -> usize {
    use std::mem::size_of;
    size_of::<UserId>()
        + 2 * size_of::<usize>()
        + size_of::<HashSet<CourseId>>()
        + courses.capacity() * (size_of::<CourseId>() + 1)
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
        Self {
            pages: FreshCache::new(PAGE_BYTES, TTL, page_weight),
            enrollments: FreshCache::new(ENROLLMENT_BYTES, TTL, enrollments_weight),
        }
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

    /// How many bytes the kept pages weigh.
    pub fn page_bytes(&self) -> u64 {
        self.pages.weighed_bytes()
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
    use lectern_common::cache::ENTRY_OVERHEAD;

    fn course(title: &str, summary: &str, teachers: &[&str]) -> CourseItem {
        CourseItem {
            id: CourseId::new(),
            title: title.to_owned(),
            summary: summary.to_owned(),
            published: true,
            teachers: teachers.iter().map(|t| PersonRef { id: UserId::new(), display_name: (*t).to_owned() }).collect(),
            enrolled: false,
        }
    }

    /// A page weighs at least its texts: longer summaries and more teachers weigh more.
    #[test]
    fn a_page_weighs_what_its_courses_hold() {
        let empty = Arc::new(SharedPage { items: Vec::new(), total: 0 });
        let small = Arc::new(SharedPage { items: vec![course("Rust", "short", &["Ada"])], total: 1 });
        let long_summary = "x".repeat(10_000);
        let large = Arc::new(SharedPage {
            items: vec![course("Rust", &long_summary, &["Ada", "Grace"]), course("Go", "short", &["Rob"])],
            total: 2,
        });
        let (w_empty, w_small, w_large) =
            (page_weight(&key(), &empty), page_weight(&key(), &small), page_weight(&key(), &large));
        assert!(w_empty > 0);
        assert!(w_small >= w_empty + "Rust".len() + "short".len() + "Ada".len(), "{w_small}");
        assert!(w_large >= w_small + 10_000, "{w_large}");
        let searched = PageKey { q: Some("y".repeat(150)), ..key() };
        assert!(page_weight(&searched, &empty) >= w_empty + 150, "the key's search text counts");
    }

    #[test]
    fn an_enrollment_set_weighs_by_its_courses() {
        let student = UserId::new();
        let none = enrollments_weight(&student, &Arc::new(HashSet::new()));
        let many: HashSet<CourseId> = (0..1_000).map(|_| CourseId::new()).collect();
        let weighed = enrollments_weight(&student, &Arc::new(many));
        assert!(weighed >= none + 1_000 * std::mem::size_of::<CourseId>(), "{weighed}");
    }

    /// Pages are kept up to the cache's bytes, however many there are: a flood of large pages
    /// leaves the cache within [`PAGE_BYTES`].
    #[test]
    fn the_page_copy_is_bounded_by_bytes() {
        let cache = CatalogCache::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let summary = "s".repeat(2_000);
        let page = Arc::new(SharedPage { items: (0..20).map(|_| course("T", &summary, &["A"])).collect(), total: 20 });
        let one = page_weight(&key(), &page) + ENTRY_OVERHEAD;
        let fits = usize::try_from(PAGE_BYTES).unwrap() / one;
        for n in 0..u32::try_from(fits * 3).unwrap() {
            cache.keep_page(cache.tickets(), PageKey { page: n + 1, ..key() }, Arc::clone(&page), now);
        }
        assert!(cache.page_bytes() <= PAGE_BYTES, "{} bytes kept", cache.page_bytes());
        assert!(cache.pages.len() <= fits as u64, "{} pages of {one} bytes kept", cache.pages.len());
    }

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
