//! Enrollments: a student enrolls with the course's code or leaves; a teacher of the course
//! enrolls a student by email, removes one, and lists them; staff read the roster.

use super::{CourseState, Parsed};
use crate::access::{self, Course, EnrolledIn, StaffOf, Standing, TeacherOf};
use crate::audit::{self, Actor, ObjectRef};
use crate::domain::EnrollmentCode;
use crate::error::CourseError;
use crate::store;
use crate::views::{EnrollmentView, PersonRef};
use lectern_common::db::{DbConnection, rfc3339, write_tx};
use lectern_common::ids::{CourseId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, Student};
use time::PrimitiveDateTime;
use token_claims::Role;

/// Enrolls `student` in the course; `true` when newly enrolled. Only a teacher of the course
/// enrolls someone else, so it takes [`TeacherOf`].
pub fn add(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    student: PersonRef,
    now: PrimitiveDateTime,
) -> Result<(bool, EnrollmentView), CourseError> {
    record(conn, course.id, &Actor::User(course.user()), student, now)
}

fn record(
    conn: &mut DbConnection,
    course: CourseId,
    actor: &Actor,
    student: PersonRef,
    now: PrimitiveDateTime,
) -> Result<(bool, EnrollmentView), CourseError> {
    let created = store::enroll(conn, course, student.id, now)?;
    if created {
        let how = if *actor == Actor::User(student.id) { "code" } else { "teacher" };
        let details = serde_json::json!({"display_name": student.display_name, "by": how});
        audit::record(conn, course, actor, "enrollment.added", &ObjectRef::new("user", student.id), details, now)?;
    }
    let enrolled_at = store::enrolled_at(conn, course, student.id)?.unwrap_or(now);
    Ok((created, EnrollmentView { course_id: course, student, enrolled_at: rfc3339(enrolled_at) }))
}

fn removed(
    conn: &mut DbConnection,
    course: CourseId,
    actor: UserId,
    student: UserId,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    let how = if actor == student { "left" } else { "teacher" };
    let details = serde_json::json!({"by": how});
    audit::record(
        conn,
        course,
        &Actor::User(actor),
        "enrollment.removed",
        &ObjectRef::new("user", student),
        details,
        now,
    )
}

/// A page of the course's students (a teacher of it).
pub fn list(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    page: Pagination,
) -> Result<Paginated<EnrollmentView>, CourseError> {
    let (rows, total) = store::students_of(conn, course.id, page)?;
    let items = rows
        .into_iter()
        .map(|(student, at)| EnrollmentView { course_id: course.id, student, enrolled_at: rfc3339(at) })
        .collect();
    Ok(Paginated::new(items, page, total))
}

/// Every student of the course in name order (the gradebook's rows): staff of the course.
pub fn roster(conn: &mut DbConnection, course: &StaffOf<Course>) -> Result<Vec<PersonRef>, CourseError> {
    store::all_students_of(conn, course.id).map_err(CourseError::from)
}

/// The student ends their own enrollment; work and grades stay.
pub fn leave(
    conn: &mut DbConnection,
    enrolled: &EnrolledIn<Course>,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    if !store::unenroll(conn, enrolled.course_id(), enrolled.user())? {
        return Err(CourseError::NotFound);
    }
    removed(conn, enrolled.course_id(), enrolled.user(), enrolled.user(), now)
}

/// A teacher of the course ends a student's enrollment; work and grades stay.
pub fn remove(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    student: UserId,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    if !store::unenroll(conn, course.id, student)? {
        return Err(CourseError::NotFound);
    }
    removed(conn, course.id, course.user(), student, now)
}

impl CourseState {
    /// A student enrolls with the course's code: `Ok(true)` when newly enrolled (201),
    /// `Ok(false)` when already enrolled (200).
    pub async fn enroll_with_code(
        &self,
        student: &Student,
        id: CourseId,
        code: Parsed<String>,
    ) -> Result<(bool, EnrollmentView), CourseError> {
        let student = student.clone();
        let now = self.now();
        let outcome = self
            .db
            .run_write(student.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let standing = access::standing(conn, id, student.user())?;
                    let typed = code?;
                    if !standing.is_enrolled() && !EnrollmentCode::matches(&standing.course().enrollment_code, &typed) {
                        return Err(CourseError::WrongCode);
                    }
                    let me = PersonRef { id: student.id, display_name: student.name.clone() };
                    record(conn, id, &Actor::User(student.id), me, now)
                })
            })
            .await?;
        self.catalog.enrollments_changed(outcome.1.student.id);
        Ok(outcome)
    }

    /// A teacher of the course enrolls the student with this email.
    pub async fn enroll_by_email(
        &self,
        user: &AuthUser,
        id: CourseId,
        email: Parsed<Option<String>>,
    ) -> Result<(bool, EnrollmentView), CourseError> {
        let user = user.clone();
        let now = self.now();
        let outcome = self
            .db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let course = access::standing(conn, id, &user)?.teacher()?;
                    // Teachers never enroll themselves; a teacher of the course enrolls students by email.
                    let email =
                        email?.ok_or(CourseError::Forbidden("teachers do not enroll; add a student by email"))?;
                    let email = email.trim().to_lowercase();
                    let student = store::find_student_by_email(conn, &email)?
                        .ok_or_else(|| CourseError::invalid("student_email", "no student has this email"))?;
                    let student = store::person(conn, student)?.ok_or(CourseError::NotFound)?;
                    add(conn, &course, student, now)
                })
            })
            .await?;
        self.catalog.enrollments_changed(outcome.1.student.id);
        Ok(outcome)
    }

    /// A teacher of the course removes a student, or a student leaves. Work and grades stay.
    pub async fn unenroll(&self, user: &AuthUser, id: CourseId, student: UserId) -> Result<(), CourseError> {
        let user = user.clone();
        let now = self.now();
        self.db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| match access::standing(conn, id, &user)? {
                    Standing::Teacher(course) => remove(conn, &course, student, now),
                    Standing::Enrolled(enrolled) if enrolled.user() == student => leave(conn, &enrolled, now),
                    // A student asking to end their own enrollment where there is none.
                    Standing::Visitor(_) if user.role == Role::Student && user.id == student => {
                        Err(CourseError::NotFound)
                    }
                    Standing::Grader(_) | Standing::Enrolled(_) | Standing::Visitor(_) => Err(CourseError::Forbidden(
                        "only a teacher of this course, or the student, may end an enrollment",
                    )),
                })
            })
            .await?;
        self.catalog.enrollments_changed(student);
        Ok(())
    }

    pub async fn students(
        &self,
        user: &AuthUser,
        id: CourseId,
        page: Pagination,
    ) -> Result<Paginated<EnrollmentView>, CourseError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let course = access::standing(conn, id, &user)?.teacher()?;
                list(conn, &course, page)
            })
            .await
    }
}
