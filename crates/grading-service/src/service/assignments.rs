//! Assignments: listed and read by the course's members, created and released by its teachers.

use super::{GradingState, Parsed};
use crate::access::{Assignment, assignment_for};
use crate::domain::NewAssignment;
use crate::error::GradingError;
use crate::store::{self, AssignmentRow};
use crate::views::{AssignmentDetail, AssignmentView, CourseAssignments};
use course_service::access::{self as course_access, Course, MemberOf, Standing, TeacherOf};
use course_service::audit::{self, Actor, ObjectRef};
use lectern_common::db::{DbConnection, write_tx};
use lectern_common::ids::{AssignmentId, CourseId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, Teacher};
use time::PrimitiveDateTime;

/// A page of the course's assignments (its members), each with the caller's effective due date
/// when `student` is a student of it.
pub fn list(
    conn: &mut DbConnection,
    course: &MemberOf<Course>,
    student: Option<lectern_common::ids::UserId>,
    page: Pagination,
) -> Result<Paginated<AssignmentView>, GradingError> {
    let (rows, total) = store::assignments_of(conn, course.id, page)?;
    let extended = match student {
        Some(s) => store::extensions_of_student(conn, s, &rows.iter().map(|a| a.id).collect::<Vec<_>>())?,
        None => Default::default(),
    };
    let items = rows.iter().map(|a| AssignmentView::for_student(a, extended.get(&a.id).copied())).collect();
    Ok(Paginated::new(items, page, total))
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
        late_percent_per_day: new.late_policy.map(|p| p.percent_per_day.hundredths()),
        late_max_percent: new.late_policy.map(|p| p.max_percent.hundredths()),
        close_after_days: new.late_policy.and_then(|p| p.close_after_days),
    };
    store::insert_assignment(conn, &row)?;
    let details = serde_json::json!({
        "title": row.title,
        "due_at": lectern_common::db::rfc3339(row.due_at),
        "max_points": crate::domain::Points::from_hundredths(row.max_points_hundredths),
        "max_attempts": row.max_attempts,
        "late_policy": row.late_policy(),
    });
    let object = ObjectRef::new("assignment", row.id);
    audit::record(conn, course.id, &Actor::User(course.user()), "assignment.created", &object, details, now)?;
    Ok(AssignmentDetail::from(&row))
}

/// From now on the assignment's students see their grades and feedback (a teacher of its
/// course). Releasing twice is harmless.
pub fn release(
    conn: &mut DbConnection,
    assignment: &TeacherOf<Assignment>,
    now: PrimitiveDateTime,
) -> Result<AssignmentDetail, GradingError> {
    if !assignment.row.grades_released {
        store::release_grades(conn, assignment.row.id)?;
        let object = ObjectRef::new("assignment", assignment.row.id);
        let details = serde_json::json!({"title": assignment.row.title});
        audit::record(
            conn,
            assignment.course_id(),
            &Actor::User(assignment.user()),
            "grades.released",
            &object,
            details,
            now,
        )?;
    }
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
        for_page: bool,
    ) -> Result<CourseAssignments, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let standing = course_access::standing(conn, course, &user)?;
                let (is_teacher, is_staff) = (standing.is_teacher(), standing.is_staff());
                let student = standing.is_enrolled().then_some(user.id);
                let member = standing.member()?;
                Ok(CourseAssignments {
                    course_id: member.id,
                    course_title: member.title.clone(),
                    is_teacher,
                    is_staff,
                    page: list(conn, &member, student, page)?,
                    zone: lectern_common::timefmt::zone_if(conn, user.id, for_page)?,
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
                let extension = match &standing {
                    Standing::Enrolled(e) => store::extension_of(conn, id, e.user())?,
                    _ => None,
                };
                let assignment = standing.member()?.over(assignment)?;
                Ok(AssignmentDetail::for_student(&assignment.row, extension))
            })
            .await
    }

    pub async fn release(&self, teacher: &Teacher, id: AssignmentId) -> Result<AssignmentDetail, GradingError> {
        let teacher = teacher.clone();
        let now = self.now();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (assignment, standing) = assignment_for(conn, id, teacher.user())?;
                    release(conn, &standing.teacher()?.over(assignment)?, now)
                })
            })
            .await
    }
}
