//! What grading-service's JSON API exchanges: the replies (assignments, receipts, submissions,
//! grades as one caller may see them) and the request bodies as sent, before `domain.rs` parses
//! them; plus the pages' view models, each read in one hand-off.

use crate::access::Assignment;
use crate::domain::Points;
use crate::error::GradingError;
use crate::store::AssignmentRow;
use course_service::views::PersonRef;
use lectern_common::db::rfc3339;
use lectern_common::ids::{AssignmentId, CourseId, GradeId, SubmissionId};
use lectern_common::pagination::Paginated;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An assignment as lists show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: AssignmentId,
    pub course_id: CourseId,
    pub title: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub max_points: Points,
    /// Null: unlimited.
    pub max_attempts: Option<i32>,
    pub grades_released: bool,
}

impl From<&AssignmentRow> for AssignmentView {
    fn from(a: &AssignmentRow) -> Self {
        Self {
            id: a.id,
            course_id: a.course_id,
            title: a.title.clone(),
            due_at: rfc3339(a.due_at),
            max_points: Points::from_hundredths(a.max_points_hundredths),
            max_attempts: a.max_attempts,
            grades_released: a.grades_released,
        }
    }
}

/// One assignment, with its instructions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentDetail {
    #[serde(flatten)]
    pub summary: AssignmentView,
    pub instructions: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&AssignmentRow> for AssignmentDetail {
    fn from(a: &AssignmentRow) -> Self {
        Self { summary: a.into(), instructions: a.instructions.clone(), created_at: rfc3339(a.created_at) }
    }
}

/// The reply to a submission: what the student keeps as proof of what they handed in.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Receipt {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    /// 1 for the first attempt.
    pub attempt: i32,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// Submitted after `due_at`.
    pub late: bool,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GradeView {
    pub score: Points,
    pub feedback: String,
    pub graded_by: PersonRef,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

/// A submission in a list (without its body).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubmissionItem {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student: PersonRef,
    pub attempt: i32,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    pub late: bool,
    pub body_sha256: String,
    /// Null when not graded, or for a student until grades are released.
    pub grade: Option<GradeView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubmissionDetail {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student: PersonRef,
    pub attempt: i32,
    pub body: String,
    pub body_sha256: String,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    pub late: bool,
    /// Null when not graded, or for a student until grades are released.
    pub grade: Option<GradeView>,
}

/// One grade ever given to a submission.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryItem {
    pub id: GradeId,
    pub score: Points,
    pub previous_score: Option<Points>,
    pub feedback: String,
    pub graded_by: PersonRef,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CourseRef {
    pub id: CourseId,
    pub title: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentRef {
    pub id: AssignmentId,
    pub title: String,
    pub max_points: Points,
}

/// One of a student's released grades.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MyGrade {
    pub course: CourseRef,
    pub assignment: AssignmentRef,
    pub submission_id: SubmissionId,
    pub attempt: i32,
    pub score: Points,
    pub feedback: String,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

/// A course's assignments as one caller may see them.
pub struct CourseAssignments {
    pub course_id: CourseId,
    pub course_title: String,
    pub is_teacher: bool,
    pub page: Paginated<AssignmentView>,
}

/// An assignment's submissions as one caller may see them: every student's latest attempt for
/// staff, one's own attempts for a student.
pub struct AssignmentSubmissions {
    pub assignment: Assignment,
    pub is_teacher: bool,
    pub is_enrolled: bool,
    pub page: Paginated<SubmissionItem>,
}

/// A submission as one caller may see it, with its history for staff.
pub struct SubmissionView {
    pub detail: SubmissionDetail,
    pub assignment: AssignmentRow,
    pub is_grader: bool,
    pub history: Vec<HistoryItem>,
}

/// What a submission request answered: a new attempt, or the stored first reply to the same
/// `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct SubmitReply {
    pub status: u16,
    /// The JSON of the reply, exactly as first sent.
    pub body: String,
    pub replayed: bool,
}

impl SubmitReply {
    pub fn receipt(&self) -> Result<Receipt, GradingError> {
        serde_json::from_str(&self.body).map_err(|e| GradingError::Unexpected(format!("stored receipt: {e}")))
    }
}

// ---- request bodies, as sent (domain.rs parses them) ------------------------------------------

/// `POST .../assignments` as sent; numbers stay JSON values so errors can name their field.
#[derive(Clone, Debug, serde::Deserialize, ToSchema)]
#[schema(description = "A new assignment.")]
pub struct AssignmentInput {
    pub title: String,
    #[serde(default)]
    pub instructions: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub due_at: String,
    /// More than 0, at most 100000, at most two decimals.
    #[schema(value_type = f64)]
    pub max_points: serde_json::Value,
    /// A positive whole number; null or left out: unlimited.
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub max_attempts: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitInput {
    /// The work handed in (up to 100,000 characters; bodies up to 512 KiB).
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
pub struct GradeInput {
    // Kept as JSON so that a string or a missing score is a 422 naming `score`.
    /// 0 to the assignment's `max_points`, at most two decimals.
    #[serde(default)]
    #[schema(value_type = f64, required = true)]
    pub score: serde_json::Value,
    #[serde(default)]
    pub feedback: String,
}
