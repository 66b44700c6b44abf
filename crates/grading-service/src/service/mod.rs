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
pub mod extensions;
pub mod grades;
pub mod home;
pub mod submissions;
pub mod tool_scores;

use crate::domain::Points;
use crate::error::GradingError;
use crate::late::{self, Percent};
use crate::store::{AssignmentRow, FileRow, GradeRow, HistoryRow};
use crate::views::{FileView, GradeView, HistoryItem};
use course_service::views::PersonRef;
use lectern_common::DbError;
use lectern_common::db::{Db, DbConnection, rfc3339, to_db_time, write_tx};
use lectern_common::ids::UserId;
use std::collections::HashMap;
use std::sync::Arc;
use token_claims::Clock;

/// Input the shell parsed, with its 422 held back until the caller's access is decided.
pub type Parsed<T> = Result<T, GradingError>;

/// How many times a write that lost a race on a unique constraint is tried again. Writers of one
/// student's attempts at an assignment, or of one submission's grade, queue on a row lock
/// (`store::next_attempt`, `store::lock_submission`); what still races is a second request with
/// an `Idempotency-Key` being written, which finds the key when tried again.
const WRITE_RETRIES: usize = 3;

/// How many multipart uploads one process holds in memory at once (each at most 25 MiB of files);
/// more wait for a slot, up to [`UPLOAD_WAIT`].
pub const UPLOAD_SLOTS: usize = 4;
/// How long an upload waits for a slot before it is answered 503 with `Retry-After`.
pub const UPLOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

pub struct GradingState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    uploads: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for GradingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradingState").finish_non_exhaustive()
    }
}

impl GradingState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, uploads: Arc::new(tokio::sync::Semaphore::new(UPLOAD_SLOTS)) }
    }

    /// A slot for one upload's files in memory, held until the returned permit is dropped.
    pub async fn upload_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, GradingError> {
        match tokio::time::timeout(UPLOAD_WAIT, Arc::clone(&self.uploads).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(GradingError::Busy),
        }
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

/// A grade with the late penalty its attempt carries (`penalty`: see `late.rs`).
fn grade_view(g: &GradeRow, names: &HashMap<UserId, String>, penalty: Percent) -> GradeView {
    let score = Points::from_hundredths(g.score_hundredths);
    GradeView {
        score,
        penalty_percent: penalty,
        final_score: late::final_score(score, penalty),
        feedback: g.feedback.clone(),
        graded_by: person(names, g.graded_by),
        graded_at: rfc3339(g.graded_at),
    }
}

/// The penalty an attempt submitted at `submitted` carries, for a student whose effective due
/// date is their extension (if any) or the assignment's.
fn penalty_of(
    assignment: &AssignmentRow,
    extension: Option<time::PrimitiveDateTime>,
    submitted: time::PrimitiveDateTime,
) -> Percent {
    late::penalty(assignment.late_policy().as_ref(), extension.unwrap_or(assignment.due_at), submitted)
}

/// A submission's files and receipt, from its body's hash and its file rows.
fn files_and_receipt(body_sha256: &str, files: &[FileRow]) -> (Vec<FileView>, String) {
    let receipt =
        crate::files::receipt_sha256(body_sha256, files.iter().map(|f| (f.sha256.as_str(), f.size, f.name.as_str())));
    (files.iter().map(FileView::from).collect(), receipt)
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
