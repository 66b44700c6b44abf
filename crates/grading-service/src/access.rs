//! Who may do what to an assignment or a submission, decided by the database (docs/security.md,
//! access rules, grading rows), and handed on as capabilities.
//!
//! Courses are course-service's business: an assignment is reached through its course with
//! [`course_service::access::standing`], and a right over the course extends to the assignment
//! with `over` (`TeacherOf<Assignment>`, `EnrolledIn<Assignment>`, ...), which refuses an
//! assignment of another course.
//!
//! A submission is loaded *for* a user with one scoped query: its own student gets an
//! [`OwnerOf`], staff of its course a [`GraderOf`] (what "staff" means is course-service's
//! [`staff_courses`](course_service::access::staff_courses), not repeated here); for anyone
//! else it does not exist (404). Both capabilities are made only here.

use crate::error::GradingError;
use crate::store::{self, AssignmentRow, SubmissionRow};
use course_service::access::{self as course_access, Course, InCourse, Standing, staff_courses};
use course_service::views::PersonRef;
use diesel::prelude::*;
use lectern_common::db::{DbConnection, MultiBackend};
use lectern_common::ids::{AssignmentId, CourseId, SubmissionId, UserId};
use lectern_common::schema::{assignments, submissions};
use lectern_common::{AuthUser, Teacher};
use token_claims::Role;

/// An assignment with the course it belongs to.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub row: AssignmentRow,
    pub course: Course,
}

impl InCourse for Assignment {
    fn course_id(&self) -> CourseId {
        self.row.course_id
    }
}

/// A submission with its assignment.
#[derive(Clone, Debug)]
pub struct Submission {
    pub row: SubmissionRow,
    pub assignment: AssignmentRow,
}

impl InCourse for Submission {
    fn course_id(&self) -> CourseId {
        self.assignment.course_id
    }
}

/// The student who made a submission: reads it (and its grade once released).
#[derive(Clone, Debug)]
pub struct OwnerOf<T> {
    // Named so they never shadow a field of `T` reached through `Deref`.
    holder: UserId,
    object: T,
}

/// Staff of the submission's course: reads it with its grade and history, grades it.
#[derive(Clone, Debug)]
pub struct GraderOf<T> {
    holder: PersonRef,
    object: T,
}

impl<T> OwnerOf<T> {
    pub fn student(&self) -> UserId {
        self.holder
    }
    pub fn object(&self) -> &T {
        &self.object
    }
}

impl<T> GraderOf<T> {
    pub fn grader(&self) -> &PersonRef {
        &self.holder
    }
    pub fn object(&self) -> &T {
        &self.object
    }
}

impl<T> std::ops::Deref for OwnerOf<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T> std::ops::Deref for GraderOf<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.object
    }
}

/// How the caller stands to a submission they may read.
#[derive(Clone, Debug)]
pub enum SubmissionAccess {
    Owner(OwnerOf<Submission>),
    Grader(GraderOf<Submission>),
}

impl SubmissionAccess {
    pub fn submission(&self) -> &Submission {
        match self {
            Self::Owner(o) => o.object(),
            Self::Grader(g) => g.object(),
        }
    }

    pub fn is_grader(&self) -> bool {
        matches!(self, Self::Grader(_))
    }
}

/// The one scoped query for submissions: loads one *for* `user`, its student or staff of its
/// course. Anyone else (another student, another teacher) gets `NotFound`, as for an id that
/// does not exist.
pub fn submission_for(
    conn: &mut DbConnection,
    id: SubmissionId,
    user: &AuthUser,
) -> Result<SubmissionAccess, GradingError> {
    let mut query = submissions::table
        .inner_join(assignments::table)
        .filter(submissions::id.eq(id))
        .select((SubmissionRow::as_select(), AssignmentRow::as_select()))
        .into_boxed::<MultiBackend>();
    query = match user.role {
        Role::Student => query.filter(submissions::student_id.eq(user.id)),
        // Only teacher tokens are ever staff.
        Role::Teacher => query.filter(assignments::course_id.eq_any(staff_courses(user.id))),
    };
    let (row, assignment) =
        query.first::<(SubmissionRow, AssignmentRow)>(conn).optional()?.ok_or(GradingError::NotFound)?;
    let object = Submission { row, assignment };
    Ok(match user.role {
        Role::Student => SubmissionAccess::Owner(OwnerOf { holder: user.id, object }),
        Role::Teacher => SubmissionAccess::Grader(GraderOf {
            holder: PersonRef { id: user.id, display_name: user.name.clone() },
            object,
        }),
    })
}

/// [`submission_for`] for a teacher's action (grading, the history): staff of its course, or
/// `NotFound`.
pub fn grader_of(
    conn: &mut DbConnection,
    id: SubmissionId,
    teacher: &Teacher,
) -> Result<GraderOf<Submission>, GradingError> {
    match submission_for(conn, id, teacher.user())? {
        SubmissionAccess::Grader(g) => Ok(g),
        SubmissionAccess::Owner(_) => Err(GradingError::NotFound),
    }
}

/// Loads an assignment with its course and the caller's standing in that course. An assignment
/// of a course the caller may not see is `NotFound`.
pub fn assignment_for(
    conn: &mut DbConnection,
    id: AssignmentId,
    user: &AuthUser,
) -> Result<(Assignment, Standing), GradingError> {
    let row = store::find_assignment(conn, id)?.ok_or(GradingError::NotFound)?;
    let standing = course_access::standing(conn, row.course_id, user)?;
    let course = standing.course().clone();
    Ok((Assignment { row, course }, standing))
}

/// The submission a tool's score grades (`service::tool_scores`): the student's latest attempt at
/// a line item of the tool, made now if they have none (recorded as handed in through the tool).
/// The grade names the teacher who placed the tool's link as its grader; the audit entry names
/// the tool. Made only for a [`ToolIn`] line item, which course-service found for the tool's own
/// link in this course; the caller has checked that the student is enrolled.
pub fn graded_by_tool(
    conn: &mut DbConnection,
    item: &course_service::access::ToolIn<crate::service::tool_scores::LineItem>,
    student: UserId,
    tool_name: &str,
    now: time::PrimitiveDateTime,
) -> Result<GraderOf<Submission>, GradingError> {
    let assignment = &item.assignment;
    let latest: Option<SubmissionRow> = submissions::table
        .filter(submissions::assignment_id.eq(assignment.id))
        .filter(submissions::student_id.eq(student))
        .order(submissions::attempt.desc())
        .select(SubmissionRow::as_select())
        .first(conn)
        .optional()?;
    let row = match latest {
        Some(row) => row,
        None => {
            let body = format!("Handed in through the tool \u{201c}{tool_name}\u{201d}.");
            let due = store::extension_of(conn, assignment.id, student)?.unwrap_or(assignment.due_at);
            let row = SubmissionRow {
                id: lectern_common::ids::SubmissionId::new(),
                assignment_id: assignment.id,
                student_id: student,
                attempt: store::next_attempt(conn, assignment.id, student)?,
                body_sha256: crate::domain::sha256_hex(body.as_bytes()),
                body,
                submitted_at: now,
                late: now > due,
            };
            store::insert_submission(conn, &row)?;
            row
        }
    };
    let placed_by = item.link.created_by;
    let name = store::names_of(conn, &[placed_by])?.remove(&placed_by).unwrap_or_default();
    Ok(GraderOf {
        holder: PersonRef { id: placed_by, display_name: name },
        object: Submission { row, assignment: assignment.clone() },
    })
}
