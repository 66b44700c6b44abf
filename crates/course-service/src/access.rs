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
//! Staff are teacher accounts with a relationship to the course (`course_staff`); only `teacher`
//! tokens are ever staff. A staff member is a teacher of the course (its creator or a
//! co-teacher: [`TeacherOf`]) or a grader (staff, but no teacher: [`StaffOf`] only). The API, the
//! pages and grading-service all go through here.

use crate::error::CourseError;
use crate::store::{CourseRow, MaterialRow};
use diesel::dsl::exists;
use diesel::prelude::*;
use lectern_common::AuthUser;
use lectern_common::db::DbConnection;
use lectern_common::ids::{CourseId, UserId};
use lectern_common::schema::{course_staff, courses, enrollments};
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
    /// gradebook. Every teacher of the course is staff ([`From<TeacherOf>`]); a grader is staff
    /// without being a teacher, so what staff may do takes `StaffOf`, and what only teachers may
    /// do (editing, enrollments, staff, assignments, extensions, releasing grades, the audit
    /// trail) takes `TeacherOf`.
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

/// A staff member's relationship to a course, as `course_staff.role` stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Every right of a teacher of the course.
    Teacher,
    /// Sees assignments, submissions and their files; grades; reads the gradebook. Nothing else.
    Grader,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Grader => "grader",
        }
    }

    /// The stored value; anything else is a broken row, which grants nothing.
    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "teacher" => Some(Self::Teacher),
            "grader" => Some(Self::Grader),
            _ => None,
        }
    }
}

/// How a caller stands to a course they can see: what [`standing`] found.
#[derive(Debug)]
pub enum Standing {
    /// A teacher who teaches this course (its creator or a co-teacher).
    Teacher(TeacherOf<Course>),
    /// A grader of this course: staff, but no teacher.
    Grader(StaffOf<Course>),
    /// A student enrolled in it.
    Enrolled(EnrolledIn<Course>),
    /// Anyone else signed in, for a published course.
    Visitor(Course),
}

impl Standing {
    pub fn course(&self) -> &Course {
        match self {
            Self::Teacher(t) => t.object(),
            Self::Grader(g) => g.object(),
            Self::Enrolled(e) => e.object(),
            Self::Visitor(c) => c,
        }
    }

    pub fn is_teacher(&self) -> bool {
        matches!(self, Self::Teacher(_))
    }

    /// A teacher or a grader of the course.
    pub fn is_staff(&self) -> bool {
        matches!(self, Self::Teacher(_) | Self::Grader(_))
    }

    pub fn is_enrolled(&self) -> bool {
        matches!(self, Self::Enrolled(_))
    }

    /// Editing, materials, enrollments, assignments, releasing grades: a teacher of the course.
    pub fn teacher(self) -> Result<TeacherOf<Course>, CourseError> {
        match self {
            Self::Teacher(t) => Ok(t),
            Self::Grader(_) | Self::Enrolled(_) | Self::Visitor(_) => {
                Err(CourseError::Forbidden("only a teacher of this course may do this"))
            }
        }
    }

    /// Everyone's work, grading, the gradebook: staff of the course.
    pub fn staff(self) -> Result<StaffOf<Course>, CourseError> {
        match self {
            Self::Teacher(t) => Ok(t.into()),
            Self::Grader(g) => Ok(g),
            Self::Enrolled(_) | Self::Visitor(_) => {
                Err(CourseError::Forbidden("only staff of this course may do this"))
            }
        }
    }

    /// Reading materials, listing assignments: staff and enrolled students.
    pub fn member(self) -> Result<MemberOf<Course>, CourseError> {
        match self {
            Self::Teacher(t) => Ok(t.into()),
            Self::Grader(g) => Ok(g.into()),
            Self::Enrolled(e) => Ok(e.into()),
            Self::Visitor(_) => Err(CourseError::Forbidden("enroll in this course to see its contents")),
        }
    }

    /// Handing in work: only enrolled students.
    pub fn enrolled(self) -> Result<EnrolledIn<Course>, CourseError> {
        match self {
            Self::Enrolled(e) => Ok(e),
            Self::Teacher(_) | Self::Grader(_) | Self::Visitor(_) => {
                Err(CourseError::Forbidden("only students enrolled in this course may do this"))
            }
        }
    }
}

/// The one scoped query: loads the course *for* `user`, with the user's relationship to it.
pub fn standing(conn: &mut DbConnection, course: CourseId, user: &AuthUser) -> Result<Standing, CourseError> {
    let staff_role = course_staff::table
        .filter(course_staff::course_id.eq(courses::id))
        .filter(course_staff::user_id.eq(user.id))
        .select(course_staff::role)
        .single_value();
    let enrolled = exists(
        enrollments::table.filter(enrollments::course_id.eq(courses::id)).filter(enrollments::student_id.eq(user.id)),
    );
    let found: Option<(CourseRow, Option<String>, bool)> = courses::table
        .filter(courses::id.eq(course))
        .select((CourseRow::as_select(), staff_role, enrolled))
        .first(conn)
        .optional()?;
    let Some((row, staff_role, enrolled)) = found else { return Err(CourseError::NotVisible) };
    // Only teacher tokens are ever staff; only student tokens are ever enrolled.
    let (who, id) = (user.id, row.id);
    let standing = match (user.role, staff_role.as_deref().and_then(StaffRole::from_stored)) {
        (Role::Teacher, Some(StaffRole::Teacher)) => {
            Standing::Teacher(TeacherOf { holder: who, within: id, object: row })
        }
        (Role::Teacher, Some(StaffRole::Grader)) => Standing::Grader(StaffOf { holder: who, within: id, object: row }),
        (Role::Student, _) if enrolled => Standing::Enrolled(EnrolledIn { holder: who, within: id, object: row }),
        (Role::Teacher | Role::Student, _) => Standing::Visitor(row),
    };
    // Graders see an unpublished course too: they may be grading it before it opens.
    if !standing.course().published && !standing.is_staff() {
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

/// The courses `user` is staff of (teacher or grader), as a subquery (`course_id IN (...)`): for
/// scoped queries elsewhere (grading's submissions) that must not repeat what "staff" means. It
/// says what [`standing`]'s `staff_role` says: any row in `course_staff`.
pub fn staff_courses(user: UserId) -> StaffCourses {
    course_staff::table.filter(course_staff::user_id.eq(user)).select(course_staff::course_id)
}

/// The query [`staff_courses`] builds.
pub type StaffCourses = diesel::dsl::Select<
    diesel::dsl::Filter<course_staff::table, diesel::dsl::Eq<course_staff::user_id, UserId>>,
    course_staff::course_id,
>;

/// A registered LTI tool with at least one link in the course: what the tool's services (the
/// roster, the line items of its links) may reach. Not a person, so not one of the capabilities
/// above; made only by [`tool_in`], which the LTI platform calls with the tool its access token
/// names. A tool never reaches a course it has no link in.
#[derive(Clone, Debug)]
pub struct ToolIn<T = Course> {
    tool: lectern_common::ids::ToolId,
    within: CourseId,
    object: T,
}

impl<T> ToolIn<T> {
    /// The tool this was found for.
    pub fn tool(&self) -> lectern_common::ids::ToolId {
        self.tool
    }

    pub fn course_id(&self) -> CourseId {
        self.within
    }

    pub fn object(&self) -> &T {
        &self.object
    }

    /// The same right over something else in the course; `NotFound` for another course's.
    pub fn over<O: InCourse>(&self, object: O) -> Result<ToolIn<O>, CourseError> {
        if object.course_id() != self.within {
            return Err(CourseError::NotFound);
        }
        Ok(ToolIn { tool: self.tool, within: self.within, object })
    }
}

impl<T> std::ops::Deref for ToolIn<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.object
    }
}

/// The course *for* a tool: found only when the tool has a link in it; otherwise `NotFound`,
/// as for a course that does not exist.
pub fn tool_in(
    conn: &mut DbConnection,
    course: CourseId,
    tool: lectern_common::ids::ToolId,
) -> Result<ToolIn<Course>, CourseError> {
    use lectern_common::schema::lti_tool_links;
    let linked = exists(
        lti_tool_links::table
            .filter(lti_tool_links::course_id.eq(courses::id))
            .filter(lti_tool_links::tool_id.eq(tool)),
    );
    let row: Option<CourseRow> = courses::table
        .filter(courses::id.eq(course))
        .filter(linked)
        .select(CourseRow::as_select())
        .first(conn)
        .optional()?;
    let row = row.ok_or(CourseError::NotFound)?;
    Ok(ToolIn { tool, within: row.id, object: row })
}
