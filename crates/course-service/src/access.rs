//! Who may do what to a course, decided by the database (docs/security.md, access rules), and
//! handed on as capabilities.
//!
//! The role in the token says which *kind* of action a caller may attempt (`Teacher`, `Student`
//! from lectern-common); the one scoped query here, [`standing`], says how the caller stands to
//! *this* course. A course the caller may not see is `NotVisible` (404, so existence never
//! leaks); a visible course without the needed relationship is `Forbidden` (403).
//!
//! What the query finds comes back as a capability: [`TeacherOf`], [`StaffOf`], [`MemberOf`],
//! [`EnrolledIn`]. Their fields are private and this module is the only place that makes them,
//! so a function that takes `&TeacherOf<Course>` cannot be reached without the query having said
//! so. Each carries the object it is about (the course, or with [`TeacherOf::over`] something in
//! it, such as a material or an assignment) and the caller it was found for.
//!
//! Staff are teacher accounts with a relationship to the course; only `teacher` tokens are ever
//! staff. Today every staff member is a teacher of the course; a grader will be staff too, but
//! no teacher (see [`StaffOf`]). The API, the pages and grading-service all go through here.

use crate::error::CourseError;
use crate::store::{CourseRow, MaterialRow};
use diesel::dsl::exists;
use diesel::prelude::*;
use lectern_common::AuthUser;
use lectern_common::db::DbConnection;
use lectern_common::ids::{CourseId, UserId};
use lectern_common::schema::{course_teachers, courses, enrollments};
use token_claims::Role;

/// A course as loaded for a caller who may see it.
pub type Course = CourseRow;

/// Something that belongs to exactly one course: a capability over the course extends to it.
pub trait InCourse {
    fn course_id(&self) -> CourseId;
}

impl InCourse for CourseRow {
    fn course_id(&self) -> CourseId {
        self.id
    }
}

impl InCourse for MaterialRow {
    fn course_id(&self) -> CourseId {
        self.course_id
    }
}

macro_rules! capability {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        // Clone copies a right that was found, it makes none.
        #[derive(Clone, Debug)]
        pub struct $name<T = Course> {
            // Named so they never shadow a field of `T` reached through `Deref`.
            holder: UserId,
            within: CourseId,
            object: T,
        }

        impl<T> $name<T> {
            /// The caller this was found for.
            pub fn user(&self) -> UserId {
                self.holder
            }

            /// The course the right is in.
            pub fn course_id(&self) -> CourseId {
                self.within
            }

            /// What the right is over.
            pub fn object(&self) -> &T {
                &self.object
            }

            pub fn into_object(self) -> T {
                self.object
            }

            /// The same right over something else in the same course; `NotFound` when it is in
            /// another course (so a right never travels between courses).
            pub fn over<O: InCourse>(&self, object: O) -> Result<$name<O>, CourseError> {
                if object.course_id() != self.within {
                    return Err(CourseError::NotFound);
                }
                Ok($name { holder: self.holder, within: self.within, object })
            }
        }

        impl<T> std::ops::Deref for $name<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.object
            }
        }
    };
}

capability!(
    /// A teacher of the course (its creator or a co-teacher): every right over it.
    TeacherOf
);
capability!(
    /// Staff of the course: who sees all of its students' work, grades it and reads the
    /// gradebook. Every teacher of the course is staff ([`From<TeacherOf>`]); a grader will be
    /// staff without being a teacher, so what staff may do takes `StaffOf`, and what only
    /// teachers may do (editing, enrollments, assignments, releasing grades) takes `TeacherOf`.
    StaffOf
);
capability!(
    /// Staff of the course or a student enrolled in it: who reads its materials and assignments.
    MemberOf
);
capability!(
    /// A student enrolled in the course: who hands in work.
    EnrolledIn
);

impl<T> From<TeacherOf<T>> for StaffOf<T> {
    fn from(t: TeacherOf<T>) -> Self {
        Self { holder: t.holder, within: t.within, object: t.object }
    }
}

impl<T> From<StaffOf<T>> for MemberOf<T> {
    fn from(s: StaffOf<T>) -> Self {
        Self { holder: s.holder, within: s.within, object: s.object }
    }
}

impl<T> From<TeacherOf<T>> for MemberOf<T> {
    fn from(t: TeacherOf<T>) -> Self {
        StaffOf::from(t).into()
    }
}

impl<T> From<EnrolledIn<T>> for MemberOf<T> {
    fn from(e: EnrolledIn<T>) -> Self {
        Self { holder: e.holder, within: e.within, object: e.object }
    }
}

/// How a caller stands to a course they can see: what [`standing`] found.
#[derive(Debug)]
pub enum Standing {
    /// A teacher who teaches this course.
    Teacher(TeacherOf<Course>),
    /// A student enrolled in it.
    Enrolled(EnrolledIn<Course>),
    /// Anyone else signed in, for a published course.
    Visitor(Course),
}

impl Standing {
    pub fn course(&self) -> &Course {
        match self {
            Self::Teacher(t) => t.object(),
            Self::Enrolled(e) => e.object(),
            Self::Visitor(c) => c,
        }
    }

    pub fn is_teacher(&self) -> bool {
        matches!(self, Self::Teacher(_))
    }

    pub fn is_enrolled(&self) -> bool {
        matches!(self, Self::Enrolled(_))
    }

    /// Editing, materials, enrollments, assignments, releasing grades: a teacher of the course.
    pub fn teacher(self) -> Result<TeacherOf<Course>, CourseError> {
        match self {
            Self::Teacher(t) => Ok(t),
            Self::Enrolled(_) | Self::Visitor(_) => {
                Err(CourseError::Forbidden("only a teacher of this course may do this"))
            }
        }
    }

    /// Everyone's work, grading, the gradebook: staff of the course.
    pub fn staff(self) -> Result<StaffOf<Course>, CourseError> {
        self.teacher().map(StaffOf::from)
    }

    /// Reading materials, listing assignments: staff and enrolled students.
    pub fn member(self) -> Result<MemberOf<Course>, CourseError> {
        match self {
            Self::Teacher(t) => Ok(t.into()),
            Self::Enrolled(e) => Ok(e.into()),
            Self::Visitor(_) => Err(CourseError::Forbidden("enroll in this course to see its contents")),
        }
    }

    /// Handing in work: only enrolled students.
    pub fn enrolled(self) -> Result<EnrolledIn<Course>, CourseError> {
        match self {
            Self::Enrolled(e) => Ok(e),
            Self::Teacher(_) | Self::Visitor(_) => {
                Err(CourseError::Forbidden("only students enrolled in this course may do this"))
            }
        }
    }
}

/// The one scoped query: loads the course *for* `user`, with the user's relationship to it.
pub fn standing(conn: &mut DbConnection, course: CourseId, user: &AuthUser) -> Result<Standing, CourseError> {
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
    // Only teacher tokens are ever staff; only student tokens are ever enrolled.
    let (who, id) = (user.id, row.id);
    let standing = match user.role {
        Role::Teacher if teaches => Standing::Teacher(TeacherOf { holder: who, within: id, object: row }),
        Role::Student if enrolled => Standing::Enrolled(EnrolledIn { holder: who, within: id, object: row }),
        Role::Teacher | Role::Student => Standing::Visitor(row),
    };
    if !standing.course().published && !standing.is_teacher() {
        return Err(CourseError::NotVisible);
    }
    Ok(standing)
}

/// [`standing`] for a teacher's action: a teacher of the course, or 403 (404 when unseen).
pub fn teacher_of(
    conn: &mut DbConnection,
    course: CourseId,
    teacher: &lectern_common::Teacher,
) -> Result<TeacherOf<Course>, CourseError> {
    standing(conn, course, teacher.user())?.teacher()
}

/// The courses `user` is staff of, as a subquery (`course_id IN (...)`): for scoped queries
/// elsewhere (grading's submissions) that must not repeat what "staff" means. It says what
/// [`standing`]'s `teaches` says; when staff gain roles (graders), both change here together.
pub fn staff_courses(user: UserId) -> StaffCourses {
    course_teachers::table.filter(course_teachers::teacher_id.eq(user)).select(course_teachers::course_id)
}

/// The query [`staff_courses`] builds.
pub type StaffCourses = diesel::dsl::Select<
    diesel::dsl::Filter<course_teachers::table, diesel::dsl::Eq<course_teachers::teacher_id, UserId>>,
    course_teachers::course_id,
>;
