//! Who may do what to an assignment or a submission, decided by the database (docs/security.md,
//! access rules, grading rows).
//!
//! Courses are course-service's business: an assignment is reached through its course with
//! [`course_service::course_access`]. A submission is loaded *for* a user with a scoped query:
//! its own student, or a teacher of its course; for anyone else it does not exist (404).

use crate::error::GradingError;
use crate::store::{AssignmentRow, SubmissionRow};
use course_service::store::CourseRow;
use course_service::{CourseAccess, course_access};
use diesel::dsl::exists;
use diesel::prelude::*;
use lectern_common::AuthUser;
use lectern_common::db::{DbConnection, MultiBackend};
use lectern_common::ids::{AssignmentId, SubmissionId};
use lectern_common::schema::{assignments, course_teachers, submissions};
use token_claims::Role;

/// How the caller stands to a submission they may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmissionAccess {
    /// The student who made it.
    Owner,
    /// A teacher of its course.
    Teacher,
}

impl SubmissionAccess {
    /// Grading and the grade history: a teacher of the course. Its student is refused with 403
    /// (the role forbids grading; the submission's existence is no secret to its own student).
    pub fn require_teacher(self) -> Result<(), GradingError> {
        match self {
            Self::Teacher => Ok(()),
            Self::Owner => Err(GradingError::Forbidden("only a teacher of this course may grade")),
        }
    }
}

/// Loads a submission (with its assignment) *for* `user`: its student, or a teacher of its
/// course. Anyone else (another student, another teacher) gets `NotFound`, as for an id that
/// does not exist.
pub fn find_submission_for(
    conn: &mut DbConnection,
    id: SubmissionId,
    user: &AuthUser,
) -> Result<(SubmissionRow, AssignmentRow, SubmissionAccess), GradingError> {
    let mut query = submissions::table
        .inner_join(assignments::table)
        .filter(submissions::id.eq(id))
        .select((SubmissionRow::as_select(), AssignmentRow::as_select()))
        .into_boxed::<MultiBackend>();
    let access = match user.role {
        Role::Student => {
            query = query.filter(submissions::student_id.eq(user.id));
            SubmissionAccess::Owner
        }
        Role::Teacher => {
            query = query.filter(exists(
                course_teachers::table
                    .filter(course_teachers::course_id.eq(assignments::course_id))
                    .filter(course_teachers::teacher_id.eq(user.id)),
            ));
            SubmissionAccess::Teacher
        }
    };
    let (submission, assignment) =
        query.first::<(SubmissionRow, AssignmentRow)>(conn).optional()?.ok_or(GradingError::NotFound)?;
    Ok((submission, assignment, access))
}

/// Loads an assignment with its course and the caller's relationship to that course. An
/// assignment of a course the caller may not see is `NotFound`.
pub fn assignment_for(
    conn: &mut DbConnection,
    id: AssignmentId,
    user: &AuthUser,
) -> Result<(AssignmentRow, CourseRow, CourseAccess), GradingError> {
    let assignment = crate::store::find_assignment(conn, id)?.ok_or(GradingError::NotFound)?;
    let (course, access) = course_access(conn, assignment.course_id, user)?;
    Ok((assignment, course, access))
}
