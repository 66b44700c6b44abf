//! Extensions: a teacher of the course gives an enrolled student their own due date on an
//! assignment, or takes it back; staff list them. The student's effective due date decides
//! `late`, the late penalty and when the assignment closes for them (`late.rs`).

use super::{GradingState, Parsed};
use crate::access::{Assignment, assignment_for};
use crate::domain::DueAt;
use crate::error::GradingError;
use crate::store;
use crate::views::{ExtensionItem, ExtensionSet};
use course_service::access::{StaffOf, TeacherOf};
use course_service::audit::{self, Actor, ObjectRef};
use lectern_common::AuthUser;
use lectern_common::db::{DbConnection, rfc3339, write_tx};
use lectern_common::ids::{AssignmentId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use serde_json::json;
use time::PrimitiveDateTime;

/// Gives `student` their own due date (a teacher of the course); `student` must be enrolled.
pub fn set(
    conn: &mut DbConnection,
    assignment: &TeacherOf<Assignment>,
    student: UserId,
    due: DueAt,
    now: PrimitiveDateTime,
) -> Result<ExtensionSet, GradingError> {
    if !store::is_enrolled(conn, assignment.course_id(), student)? {
        return Err(GradingError::invalid("student_id", "is not a student enrolled in this course"));
    }
    let previous = store::extension_of(conn, assignment.row.id, student)?;
    store::put_extension(conn, assignment.row.id, student, due.get(), assignment.user(), now)?;
    let details = json!({
        "student_id": student,
        "due_at": rfc3339(due.get()),
        "previous_due_at": previous.map(rfc3339),
        "assignment_due_at": rfc3339(assignment.row.due_at),
    });
    let object = ObjectRef::new("assignment", assignment.row.id);
    audit::record(
        conn,
        assignment.course_id(),
        &Actor::User(assignment.user()),
        "extension.set",
        &object,
        details,
        now,
    )?;
    Ok(ExtensionSet { student_id: student, due_at: rfc3339(due.get()) })
}

/// Takes a student's own due date back; removing one that is not there changes nothing.
pub fn remove(
    conn: &mut DbConnection,
    assignment: &TeacherOf<Assignment>,
    student: UserId,
    now: PrimitiveDateTime,
) -> Result<(), GradingError> {
    let previous = store::extension_of(conn, assignment.row.id, student)?;
    if store::delete_extension(conn, assignment.row.id, student)? {
        let details = json!({"student_id": student, "previous_due_at": previous.map(rfc3339)});
        let object = ObjectRef::new("assignment", assignment.row.id);
        let actor = Actor::User(assignment.user());
        audit::record(conn, assignment.course_id(), &actor, "extension.removed", &object, details, now)?;
    }
    Ok(())
}

/// A page of the assignment's extensions, by student name (staff of the course).
pub fn list(
    conn: &mut DbConnection,
    assignment: &StaffOf<Assignment>,
    page: Pagination,
) -> Result<Paginated<ExtensionItem>, GradingError> {
    let (rows, total) = store::extensions_page(conn, assignment.row.id, page)?;
    let items = rows.into_iter().map(|(student, due)| ExtensionItem { student, due_at: rfc3339(due) }).collect();
    Ok(Paginated::new(items, page, total))
}

impl GradingState {
    pub async fn set_extension(
        &self,
        user: &AuthUser,
        id: AssignmentId,
        student: UserId,
        due: Parsed<DueAt>,
    ) -> Result<ExtensionSet, GradingError> {
        let now = self.now();
        let user = user.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (assignment, standing) = assignment_for(conn, id, &user)?;
                    let assignment = standing.teacher()?.over(assignment)?;
                    set(conn, &assignment, student, due?, now)
                })
            })
            .await
    }

    pub async fn remove_extension(
        &self,
        user: &AuthUser,
        id: AssignmentId,
        student: UserId,
    ) -> Result<(), GradingError> {
        let now = self.now();
        let user = user.clone();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (assignment, standing) = assignment_for(conn, id, &user)?;
                    let assignment = standing.teacher()?.over(assignment)?;
                    remove(conn, &assignment, student, now)
                })
            })
            .await
    }

    pub async fn extensions(
        &self,
        user: &AuthUser,
        id: AssignmentId,
        page: Pagination,
    ) -> Result<Paginated<ExtensionItem>, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (assignment, standing) = assignment_for(conn, id, &user)?;
                let assignment = standing.staff()?.over(assignment)?;
                list(conn, &assignment, page)
            })
            .await
    }
}
