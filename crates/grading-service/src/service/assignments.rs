//! Assignments: listed and read by the course's members, created and released by its teachers.

use super::{GradingState, Parsed};
use crate::access::{Assignment, assignment_for};
use crate::domain::NewAssignment;
use crate::error::GradingError;
use crate::store::{self, AssignmentRow};
use crate::views::{AssignmentDetail, AssignmentView, CourseAssignments};
use course_service::access::{self as course_access, Course, MemberOf, TeacherOf};
use lectern_common::db::{DbConnection, write_tx};
use lectern_common::ids::{AssignmentId, CourseId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, Teacher};
use time::PrimitiveDateTime;

/// A page of the course's assignments (its members).
pub fn list(
    conn: &mut DbConnection,
    course: &MemberOf<Course>,
    page: Pagination,
) -> Result<Paginated<AssignmentView>, GradingError> {
    let (rows, total) = store::assignments_of(conn, course.id, page)?;
    Ok(Paginated::new(rows.iter().map(AssignmentView::from).collect(), page, total))
}

/// Adds an assignment to the course (a teacher of it).
pub fn create(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    new: NewAssignment,
    now: PrimitiveDateTime,
) -> Result<AssignmentDetail, GradingError> {
    let row = AssignmentRow {
        id: AssignmentId::new(),
        course_id: course.id,
        title: new.title.into_inner(),
        instructions: new.instructions.into_inner(),
        due_at: new.due_at.get(),
        max_points_hundredths: new.max_points.points().hundredths(),
        max_attempts: new.max_attempts,
        grades_released: false,
        created_by: course.user(),
        created_at: now,
    };
    store::insert_assignment(conn, &row)?;
    Ok(AssignmentDetail::from(&row))
}

/// From now on the assignment's students see their grades and feedback (a teacher of its
/// course). Releasing twice is harmless.
pub fn release(conn: &mut DbConnection, assignment: &TeacherOf<Assignment>) -> Result<AssignmentDetail, GradingError> {
    store::release_grades(conn, assignment.row.id)?;
    let mut row = assignment.row.clone();
    row.grades_released = true;
    Ok(AssignmentDetail::from(&row))
}

impl GradingState {
    pub async fn list_assignments(
        &self,
        user: &AuthUser,
        course: CourseId,
        page: Pagination,
    ) -> Result<CourseAssignments, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let standing = course_access::standing(conn, course, &user)?;
                let is_teacher = standing.is_teacher();
                let member = standing.member()?;
                Ok(CourseAssignments {
                    course_id: member.id,
                    course_title: member.title.clone(),
                    is_teacher,
                    page: list(conn, &member, page)?,
                })
            })
            .await
    }

    pub async fn create_assignment(
        &self,
        teacher: &Teacher,
        course: CourseId,
        input: Parsed<NewAssignment>,
    ) -> Result<AssignmentDetail, GradingError> {
        let now = self.now();
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let course = course_access::teacher_of(conn, course, &teacher)?;
                    create(conn, &course, input?, now)
                })
            })
            .await
    }

    /// An assignment, with its instructions, for its course's members.
    pub async fn assignment(&self, user: &AuthUser, id: AssignmentId) -> Result<AssignmentDetail, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (assignment, standing) = assignment_for(conn, id, &user)?;
                let assignment = standing.member()?.over(assignment)?;
                Ok(AssignmentDetail::from(&assignment.row))
            })
            .await
    }

    pub async fn release(&self, teacher: &Teacher, id: AssignmentId) -> Result<AssignmentDetail, GradingError> {
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (assignment, standing) = assignment_for(conn, id, teacher.user())?;
                    release(conn, &standing.teacher()?.over(assignment)?)
                })
            })
            .await
    }
}
