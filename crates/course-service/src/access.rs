//! Who may do what to a course, decided by the database (docs/security.md, access rules).
//!
//! The role in the token says which *kind* of action a caller may attempt; these scoped queries
//! say how the caller stands to *this* course. A course the caller may not see is `NotVisible`
//! (404, so existence never leaks); a visible course without the needed relationship is
//! `Forbidden` (403). The API, the pages and grading-service all go through here.

use crate::error::CourseError;
use crate::store::CourseRow;
use diesel::dsl::exists;
use diesel::prelude::*;
use lectern_common::AuthUser;
use lectern_common::db::DbConnection;
use lectern_common::ids::{CourseId, UserId};
use lectern_common::schema::{course_teachers, courses, enrollments};
use token_claims::Role;

/// How the caller stands to a course they can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CourseAccess {
    /// A teacher who teaches this course.
    Teacher,
    /// A student enrolled in it.
    Enrolled,
    /// Anyone else signed in, for a published course.
    Visible,
}

impl CourseAccess {
    /// Editing, adding materials or assignments, the gradebook: only the course's teachers.
    pub fn require_teacher(self) -> Result<(), CourseError> {
        match self {
            Self::Teacher => Ok(()),
            Self::Enrolled | Self::Visible => Err(CourseError::Forbidden("only a teacher of this course may do this")),
        }
    }

    /// Reading materials, listing assignments: the course's teachers and enrolled students.
    pub fn require_member(self) -> Result<(), CourseError> {
        match self {
            Self::Teacher | Self::Enrolled => Ok(()),
            Self::Visible => Err(CourseError::Forbidden("enroll in this course to see its contents")),
        }
    }

    /// Submitting work: only enrolled students.
    pub fn require_enrolled(self) -> Result<(), CourseError> {
        match self {
            Self::Enrolled => Ok(()),
            Self::Teacher | Self::Visible => {
                Err(CourseError::Forbidden("only students enrolled in this course may do this"))
            }
        }
    }
}

/// Loads the course *for* `user`, with the user's relationship to it, in one query.
pub fn course_access(
    conn: &mut DbConnection,
    course: CourseId,
    user: &AuthUser,
) -> Result<(CourseRow, CourseAccess), CourseError> {
    let teaches = exists(
        course_teachers::table
            .filter(course_teachers::course_id.eq(courses::id))
            .filter(course_teachers::teacher_id.eq(user.id)),
    );
    let enrolled = exists(
        enrollments::table.filter(enrollments::course_id.eq(courses::id)).filter(enrollments::student_id.eq(user.id)),
    );
    let found: Option<(CourseRow, bool, bool)> = courses::table
        .filter(courses::id.eq(course))
        .select((CourseRow::as_select(), teaches, enrolled))
        .first(conn)
        .optional()?;
    let Some((row, teaches, enrolled)) = found else { return Err(CourseError::NotVisible) };
    let access = match user.role {
        Role::Teacher if teaches => CourseAccess::Teacher,
        Role::Student if enrolled => CourseAccess::Enrolled,
        Role::Teacher | Role::Student => CourseAccess::Visible,
    };
    if !row.published && access != CourseAccess::Teacher {
        return Err(CourseError::NotVisible);
    }
    Ok((row, access))
}

/// Whether `teacher` teaches `course` (no visibility rules: for callers that already checked).
pub fn teaches(conn: &mut DbConnection, course: CourseId, teacher: UserId) -> QueryResult<bool> {
    diesel::select(exists(
        course_teachers::table
            .filter(course_teachers::course_id.eq(course))
            .filter(course_teachers::teacher_id.eq(teacher)),
    ))
    .get_result(conn)
}

/// Whether `student` is enrolled in `course`.
pub fn is_enrolled(conn: &mut DbConnection, course: CourseId, student: UserId) -> QueryResult<bool> {
    diesel::select(exists(
        enrollments::table.filter(enrollments::course_id.eq(course)).filter(enrollments::student_id.eq(student)),
    ))
    .get_result(conn)
}
