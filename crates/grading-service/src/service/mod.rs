//! What grading-service does, independent of JSON or HTML, split by aggregate: [`assignments`],
//! [`submissions`], [`grades`] (with the gradebook and a student's grades).
//!
//! Each `GradingState` method makes one database hand-off that first turns the caller into a
//! capability (through `access.rs` and course-service's `access.rs`) and then does the work; the
//! functions that write take that capability (`TeacherOf<Assignment>`, `EnrolledIn<Assignment>`,
//! `GraderOf<Submission>`), never a bare user. `api.rs` and `pages.rs` are thin shells.
//!
//! Input is parsed by the shell but its errors surface only after the access check ([`Parsed`]),
//! so a caller who may not act on an object learns nothing from a 422.

pub mod assignments;
pub mod grades;
pub mod submissions;

use crate::domain::Points;
use crate::error::GradingError;
use crate::store::{GradeRow, HistoryRow};
use crate::views::{GradeView, HistoryItem};
use course_service::views::PersonRef;
use lectern_common::DbError;
use lectern_common::db::{Db, DbConnection, rfc3339, to_db_time, write_tx};
use lectern_common::ids::UserId;
use std::collections::HashMap;
use std::sync::Arc;
use token_claims::Clock;

/// Input the shell parsed, with its 422 held back until the caller's access is decided.
pub type Parsed<T> = Result<T, GradingError>;

/// How many times a write that still lost a race on a unique constraint is tried again. Writers
/// of one student's attempts, or of one submission's grade, queue on a row lock first
/// (`store::lock_enrollment`, `store::lock_submission`), so this is a safety net.
const WRITE_RETRIES: usize = 3;

pub struct GradingState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GradingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradingState").finish_non_exhaustive()
    }
}

impl GradingState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    fn now(&self) -> time::PrimitiveDateTime {
        to_db_time(self.clock.now().truncate_to_microsecond())
    }
}

fn is_unique_violation(e: &GradingError) -> bool {
    matches!(
        e,
        GradingError::Db(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        )))
    )
}

/// A read-write transaction, tried again when it lost a race on a unique constraint.
fn write_retrying<T>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, GradingError>,
) -> Result<T, GradingError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match write_tx(conn, &mut work) {
            Err(e) if tries < WRITE_RETRIES && is_unique_violation(&e) => continue,
            other => return other,
        }
    }
}

/// Parsed input again, for a transaction that may be retried (input errors are only ever 422s).
fn again<T: Clone>(input: &Parsed<T>) -> Parsed<T> {
    match input {
        Ok(value) => Ok(value.clone()),
        Err(GradingError::Invalid { field, message }) => Err(GradingError::Invalid { field, message: message.clone() }),
        Err(other) => Err(GradingError::Unexpected(other.to_string())),
    }
}

fn person(names: &HashMap<UserId, String>, id: UserId) -> PersonRef {
    PersonRef { id, display_name: names.get(&id).cloned().unwrap_or_default() }
}

fn grade_view(g: &GradeRow, names: &HashMap<UserId, String>) -> GradeView {
    GradeView {
        score: Points::from_hundredths(g.score_hundredths),
        feedback: g.feedback.clone(),
        graded_by: person(names, g.graded_by),
        graded_at: rfc3339(g.graded_at),
    }
}

fn history_item(h: &HistoryRow, names: &HashMap<UserId, String>) -> HistoryItem {
    HistoryItem {
        id: h.id,
        score: Points::from_hundredths(h.new_score_hundredths),
        previous_score: h.old_score_hundredths.map(Points::from_hundredths),
        feedback: h.feedback.clone(),
        graded_by: person(names, h.graded_by),
        graded_at: rfc3339(h.graded_at),
    }
}
