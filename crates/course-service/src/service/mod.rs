//! What each course-service request does, independent of JSON or HTML, split by aggregate:
//! [`catalog`] (courses and the catalog), [`enrollments`], [`materials`], [`staff`] (with the
//! audit trail's reader), [`tool_links`]. Every change also writes its audit entry
//! (`crate::audit`), in the same transaction.
//!
//! Each `CourseState` method makes one hand-off to the database pool and does all of its queries
//! there; writes run in one transaction, so a failure half-way leaves nothing behind. Inside,
//! `access.rs` turns the caller into a capability first, and the work that writes takes that
//! capability: the public functions of these modules that change anything take a `TeacherOf`,
//! `EnrolledIn` or a role type, never a bare user.
//!
//! Input arrives parsed by the shell as [`Parsed`]: its error is held back until access is
//! decided, so a caller who may not act learns nothing from a 422.

pub mod catalog;
pub mod enrollments;
pub mod materials;
pub mod staff;
pub mod tool_links;

use crate::catalog_cache::CatalogCache;
use crate::error::CourseError;
use lectern_common::db::{Db, to_db_time};
use std::sync::Arc;
use token_claims::Clock;

/// Input the shell parsed, with its 422 held back until the caller's access is decided.
pub type Parsed<T> = Result<T, CourseError>;

pub struct CourseState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    catalog: CatalogCache,
}

impl std::fmt::Debug for CourseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CourseState").finish_non_exhaustive()
    }
}

impl CourseState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, catalog: CatalogCache::default() }
    }

    fn now(&self) -> time::PrimitiveDateTime {
        to_db_time(self.clock.now())
    }
}
