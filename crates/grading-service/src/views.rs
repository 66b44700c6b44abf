//! What grading-service's JSON API exchanges: the replies (assignments, receipts, submissions,
//! grades as one caller may see them) and the request bodies as sent, before `domain.rs` parses
//! them; plus the pages' view models, each read in one hand-off.

use crate::access::Assignment;
use crate::domain::Points;
use crate::error::GradingError;
use crate::late::{LatePolicy, Percent};
use crate::store::{AssignmentRow, FileRow};
use course_service::views::PersonRef;
use lectern_common::db::rfc3339;
use lectern_common::ids::{AssignmentId, CourseId, FileId, GradeId, SubmissionId, UserId};
use lectern_common::pagination::Paginated;
use serde::{Deserialize, Serialize};
use time::PrimitiveDateTime;
use utoipa::ToSchema;

/// An assignment as lists show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: AssignmentId,
    pub course_id: CourseId,
    pub title: String,
    /// For a student: their effective due date (their extension, if they have one).
    #[schema(format = DateTime)]
    pub due_at: String,
    /// For a student: whether `due_at` is their own extension. Always false for staff.
    pub extended: bool,
    pub max_points: Points,
    /// Null: unlimited.
    pub max_attempts: Option<i32>,
    pub grades_released: bool,
    /// Null: late work is accepted without penalty.
    pub late_policy: Option<LatePolicy>,
    /// When submissions close (for a student: after their effective due date); null: never.
    #[schema(format = DateTime)]
    pub closes_at: Option<String>,
}

impl AssignmentView {
    /// The assignment as a student with this extension (if any) sees it.
    pub fn for_student(a: &AssignmentRow, extension: Option<PrimitiveDateTime>) -> Self {
        let due = extension.unwrap_or(a.due_at);
        let policy = a.late_policy();
        Self {
            id: a.id,
            course_id: a.course_id,
            title: a.title.clone(),
            due_at: rfc3339(due),
            extended: extension.is_some(),
            max_points: Points::from_hundredths(a.max_points_hundredths),
            max_attempts: a.max_attempts,
            grades_released: a.grades_released,
            closes_at: crate::late::closes_at(policy.as_ref(), due).map(rfc3339),
            late_policy: policy,
        }
    }
}

impl From<&AssignmentRow> for AssignmentView {
    fn from(a: &AssignmentRow) -> Self {
        Self::for_student(a, None)
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

impl AssignmentDetail {
    pub fn for_student(a: &AssignmentRow, extension: Option<PrimitiveDateTime>) -> Self {
        Self {
            summary: AssignmentView::for_student(a, extension),
            instructions: a.instructions.clone(),
            created_at: rfc3339(a.created_at),
        }
    }
}

impl From<&AssignmentRow> for AssignmentDetail {
    fn from(a: &AssignmentRow) -> Self {
        Self::for_student(a, None)
    }
}

/// One file of a submission.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct FileView {
    pub id: FileId,
    /// Sanitised: no folders, no control characters.
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// As the student's browser or client declared it; downloads are always attachments.
    pub content_type: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

impl From<&FileRow> for FileView {
    fn from(f: &FileRow) -> Self {
        Self {
            id: f.id,
            name: f.name.clone(),
            size: f.size,
            content_type: f.content_type.clone(),
            sha256: f.sha256.clone(),
        }
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
    /// Submitted after the student's effective due date.
    pub late: bool,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
    /// The files handed in, in the order they were sent.
    #[serde(default)]
    pub files: Vec<FileView>,
    /// SHA-256 over the body and every file (docs/api.md, "the receipt"), hex.
    #[serde(default)]
    pub receipt_sha256: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GradeView {
    /// As given.
    pub score: Points,
    /// What the late policy takes off this attempt (0 when on time or without a policy).
    pub penalty_percent: Percent,
    /// `score` less the penalty, rounded half up to a hundredth.
    pub final_score: Points,
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
    pub files: Vec<FileView>,
    pub receipt_sha256: String,
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
    pub files: Vec<FileView>,
    pub receipt_sha256: String,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// After the student's effective due date (as it is now: an extension given later counts).
    pub late: bool,
    /// The student's effective due date.
    #[schema(format = DateTime)]
    pub due_at: String,
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
    /// As given.
    pub score: Points,
    pub penalty_percent: Percent,
    /// What counts: `score` less the late penalty.
    pub final_score: Points,
    pub feedback: String,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

/// A course's assignments as one caller may see them.
pub struct CourseAssignments {
    pub course_id: CourseId,
    pub course_title: String,
    pub is_teacher: bool,
    /// A teacher or a grader of the course.
    pub is_staff: bool,
    pub page: Paginated<AssignmentView>,
    /// The caller's time zone, when a page asked for it (else UTC).
    pub zone: lectern_common::timefmt::Zone,
}

/// An assignment's submissions as one caller may see them: every student's latest attempt for
/// staff, one's own attempts for a student.
pub struct AssignmentSubmissions {
    pub assignment: Assignment,
    /// A teacher of the course: releases grades, sets extensions.
    pub is_teacher: bool,
    /// A teacher or a grader: sees everyone's latest attempt.
    pub is_staff: bool,
    pub is_enrolled: bool,
    /// For a student: their own due date, if they have one.
    pub extension: Option<PrimitiveDateTime>,
    /// For a teacher: the first 100 extensions, and the students who could get one.
    pub extensions: Vec<ExtensionItem>,
    pub roster: Vec<PersonRef>,
    pub page: Paginated<SubmissionItem>,
    /// The caller's time zone, when a page asked for it (else UTC).
    pub zone: lectern_common::timefmt::Zone,
}

/// A submission as one caller may see it, with its history for staff.
pub struct SubmissionView {
    pub detail: SubmissionDetail,
    pub assignment: AssignmentRow,
    pub is_grader: bool,
    pub history: Vec<HistoryItem>,
    /// For a grader's page: the previous and next attempts in the assignment's grading queue.
    pub previous_ungraded: Option<lectern_common::ids::SubmissionId>,
    pub next_ungraded: Option<lectern_common::ids::SubmissionId>,
    /// The caller's time zone, for a page (else UTC).
    pub zone: lectern_common::timefmt::Zone,
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

/// A student's own due date on an assignment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ExtensionSet {
    pub student_id: UserId,
    #[schema(format = DateTime)]
    pub due_at: String,
}

/// An extension as the course's staff list them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ExtensionItem {
    pub student: PersonRef,
    #[schema(format = DateTime)]
    pub due_at: String,
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
    /// Null or left out: late work is accepted without penalty.
    #[serde(default)]
    #[schema(value_type = Option<LatePolicy>)]
    pub late_policy: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitInput {
    /// The work handed in (up to 100,000 characters; bodies up to 512 KiB).
    pub body: String,
}

/// `PUT .../extensions/{student_id}`.
#[derive(Deserialize, ToSchema)]
pub struct ExtensionInput {
    /// RFC 3339: the student's own due date.
    #[schema(format = DateTime)]
    #[serde(default)]
    pub due_at: String,
}

/// `multipart/form-data` of a submission: an optional text part and up to 10 files.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SubmitMultipart {
    /// The text handed in (optional when there are files; up to 100,000 characters).
    pub body: Option<String>,
    /// Up to 10 parts named `files`: each at most 10 MiB, 25 MiB in all.
    #[schema(value_type = Vec<String>, format = Binary)]
    pub files: Vec<Vec<u8>>,
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
