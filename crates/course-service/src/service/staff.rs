//! Course staff: a teacher of the course adds teacher accounts as co-teachers or graders, changes
//! their role and removes them; staff read the list. A course always keeps at least one teacher,
//! also when two teachers remove each other at the same moment (see `store::lock_course`).

use super::{CourseState, Parsed};
use crate::access::{self, Course, StaffOf, StaffRole, TeacherOf};
use crate::audit::{self, Actor, ObjectRef};
use crate::error::CourseError;
use crate::store;
use crate::views::{PersonRef, StaffList, StaffMember, StaffRequest, StaffUser};
use lectern_common::Teacher;
use lectern_common::db::{DbConnection, rfc3339, write_tx};
use lectern_common::ids::{CourseId, UserId};
use serde_json::json;
use time::PrimitiveDateTime;

/// A staff request, parsed: the account's email (trimmed, lower-cased) and the role.
#[derive(Clone, Debug)]
pub struct StaffChange {
    pub email: String,
    pub role: StaffRole,
}

impl TryFrom<StaffRequest> for StaffChange {
    type Error = CourseError;
    fn try_from(r: StaffRequest) -> Result<Self, CourseError> {
        let email = r.email.trim().to_lowercase();
        if email.is_empty() || email.len() > 254 {
            return Err(CourseError::invalid("email", "the email of a teacher account is required"));
        }
        let role = StaffRole::from_stored(r.role.trim())
            .ok_or_else(|| CourseError::invalid("role", "must be teacher or grader"))?;
        Ok(Self { email, role })
    }
}

fn member(row: store::StaffRow) -> Option<StaffMember> {
    let (person, email, role, at) = row;
    Some(StaffMember {
        user: StaffUser { id: person.id, display_name: person.display_name, email },
        role: StaffRole::from_stored(&role)?,
        added_at: rfc3339(at),
    })
}

/// The course's staff, teachers first (its staff).
pub fn list(conn: &mut DbConnection, course: &StaffOf<Course>) -> Result<Vec<StaffMember>, CourseError> {
    Ok(store::staff_of(conn, course.id)?.into_iter().filter_map(member).collect())
}

fn find(conn: &mut DbConnection, course: CourseId, user: UserId) -> Result<StaffMember, CourseError> {
    store::staff_of(conn, course)?
        .into_iter()
        .filter_map(member)
        .find(|m| m.user.id == user)
        .ok_or(CourseError::NotFound)
}

/// Adds the teacher account with this email, or changes its role: `Ok((true, _))` when newly
/// added (201), `Ok((false, _))` when it was staff already (200). Demoting the last teacher is
/// `LastTeacher` (409).
pub fn add(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    change: StaffChange,
    now: PrimitiveDateTime,
) -> Result<(bool, StaffMember), CourseError> {
    let person: PersonRef = store::find_teacher_by_email(conn, &change.email)?
        .ok_or_else(|| CourseError::invalid("email", "no teacher account has this email"))?;
    let actor = Actor::User(course.user());
    let object = ObjectRef::new("user", person.id);
    let before = store::staff_role(conn, course.id, person.id)?.as_deref().and_then(StaffRole::from_stored);
    let created = match before {
        Some(role) if role == change.role => false,
        Some(role) => {
            if role == StaffRole::Teacher && store::teacher_count(conn, course.id)? <= 1 {
                return Err(CourseError::LastTeacher);
            }
            store::set_staff_role(conn, course.id, person.id, change.role)?;
            let details = json!({"role": change.role, "previous_role": role, "display_name": person.display_name});
            audit::record(conn, course.id, &actor, "staff.role_changed", &object, details, now)?;
            false
        }
        None => {
            store::insert_staff(conn, course.id, person.id, change.role, now)?;
            let details = json!({"role": change.role, "display_name": person.display_name});
            audit::record(conn, course.id, &actor, "staff.added", &object, details, now)?;
            true
        }
    };
    Ok((created, find(conn, course.id, person.id)?))
}

/// Removes someone from the staff (a teacher may remove themselves while another teacher stays).
pub fn remove(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    user: UserId,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    let was = find(conn, course.id, user)?;
    if was.role == StaffRole::Teacher && store::teacher_count(conn, course.id)? <= 1 {
        return Err(CourseError::LastTeacher);
    }
    store::delete_staff(conn, course.id, user)?;
    let details = json!({"role": was.role, "display_name": was.user.display_name});
    audit::record(
        conn,
        course.id,
        &Actor::User(course.user()),
        "staff.removed",
        &ObjectRef::new("user", user),
        details,
        now,
    )
}

/// The audit page's course, entries and the reader's time zone.
pub type AuditPageView =
    (crate::views::CourseView, lectern_common::pagination::Paginated<audit::AuditEntry>, lectern_common::timefmt::Zone);

impl CourseState {
    /// The course's staff (its staff: teachers and graders).
    pub async fn staff(&self, teacher: &Teacher, id: CourseId) -> Result<StaffList, CourseError> {
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                let course = access::standing(conn, id, teacher.user())?.staff()?;
                Ok(StaffList { items: list(conn, &course)? })
            })
            .await
    }

    /// Adds a teacher account to the staff or changes its role (a teacher of the course).
    pub async fn add_staff(
        &self,
        teacher: &Teacher,
        id: CourseId,
        change: Parsed<StaffChange>,
    ) -> Result<(bool, StaffMember), CourseError> {
        let now = self.now();
        let teacher = teacher.clone();
        let outcome = self
            .db
            .run_write(teacher.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    store::lock_course(conn, id)?;
                    let course = access::standing(conn, id, teacher.user())?.teacher()?;
                    add(conn, &course, change?, now)
                })
            })
            .await;
        // Drafts a new staff member may now see in the catalog.
        self.catalog.courses_changed();
        outcome
    }

    /// Removes someone from the staff (a teacher of the course).
    pub async fn remove_staff(&self, teacher: &Teacher, id: CourseId, user: UserId) -> Result<(), CourseError> {
        let now = self.now();
        let teacher = teacher.clone();
        let outcome = self
            .db
            .run_write(teacher.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    store::lock_course(conn, id)?;
                    let course = access::standing(conn, id, teacher.user())?.teacher()?;
                    remove(conn, &course, user, now)
                })
            })
            .await;
        self.catalog.courses_changed();
        outcome
    }

    /// A page of the course's audit trail, newest first (a teacher of the course), with the
    /// caller's time zone when a page asks (`for_page`).
    pub async fn audit(
        &self,
        user: &lectern_common::AuthUser,
        id: CourseId,
        page: lectern_common::pagination::Pagination,
        for_page: bool,
    ) -> Result<AuditPageView, CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let standing = access::standing(conn, id, &user)?;
                let view = super::catalog::view(conn, &standing)?;
                let course = standing.teacher()?;
                let entries = audit::page(conn, &course, page)?;
                Ok((view, entries, lectern_common::timefmt::zone_if(conn, user.id, for_page)?))
            })
            .await
    }
}
