//! The catalog is the page everyone opens first and it changes rarely, so each process keeps
//! what it last read for a moment (docs/architecture.md: reads that repeat are served from memory where
//! correctness allows):
//! - a catalog page as everyone in its scope sees it (courses, their teachers, the total);
//! - each student's set of enrolled courses (the `enrolled` flags).
//!
//! Writes made through this process empty what they affect at once, so its own users never see
//! stale data; writes made by another process (a second course replica) show after at most
//! [`TTL`]. The catalog decides nothing about access: `access.rs` always asks the database.

use crate::service::CourseItem;
use crate::store::CatalogScope;
use lectern_common::ids::{CourseId, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// How long another process's write may take to show in this one's catalog.
pub const TTL: Duration = Duration::seconds(2);
const CAPACITY: usize = 4_096;

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

/// Values with the instant they were read.
type Timed<K, V> = Mutex<HashMap<K, (OffsetDateTime, V)>>;

#[derive(Default)]
pub struct CatalogCache {
    pages: Timed<PageKey, Arc<SharedPage>>,
    enrollments: Timed<UserId, Arc<HashSet<CourseId>>>,
}

fn fresh<K: Eq + std::hash::Hash, V: Clone>(map: &Timed<K, V>, key: &K, now: OffsetDateTime) -> Option<V> {
    let map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(key).filter(|(at, _)| now - *at < TTL).map(|(_, v)| v.clone())
}

fn keep<K: Eq + std::hash::Hash, V>(map: &Timed<K, V>, key: K, value: V, now: OffsetDateTime) {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= CAPACITY {
        map.retain(|_, (at, _)| now - *at < TTL);
        if map.len() >= CAPACITY {
            map.clear();
        }
    }
    map.insert(key, (now, value));
}

impl CatalogCache {
    pub fn page(&self, key: &PageKey, now: OffsetDateTime) -> Option<Arc<SharedPage>> {
        fresh(&self.pages, key, now)
    }

    pub fn keep_page(&self, key: PageKey, page: Arc<SharedPage>, now: OffsetDateTime) {
        keep(&self.pages, key, page, now);
    }

    pub fn enrollments(&self, student: UserId, now: OffsetDateTime) -> Option<Arc<HashSet<CourseId>>> {
        fresh(&self.enrollments, &student, now)
    }

    pub fn keep_enrollments(&self, student: UserId, courses: Arc<HashSet<CourseId>>, now: OffsetDateTime) {
        keep(&self.enrollments, student, courses, now);
    }

    /// A course was created, renamed, published or unpublished here.
    pub fn courses_changed(&self) {
        self.pages.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// A student enrolled or left here.
    pub fn enrollments_changed(&self, student: UserId) {
        self.enrollments.lock().unwrap_or_else(PoisonError::into_inner).remove(&student);
    }
}

impl std::fmt::Debug for CatalogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogCache")
    }
}
