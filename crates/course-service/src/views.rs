//! What course-service's JSON API exchanges: the replies (views of courses, materials and
//! enrollments as one caller may see them) and the request bodies as sent, before `domain.rs`
//! parses them. Pages render the same views.

use crate::access::{StaffRole, Standing};
use crate::store::{CourseRow, MaterialRow};
use lectern_common::db::rfc3339;
use lectern_common::ids::{CourseId, MaterialId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A person as other people see them.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct PersonRef {
    pub id: UserId,
    pub display_name: String,
}

/// A catalog entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CourseItem {
    pub id: CourseId,
    pub title: String,
    pub summary: String,
    pub published: bool,
    pub teachers: Vec<PersonRef>,
    pub enrolled: bool,
}

/// A course as its reader may see it; `enrollment_code` only for its teachers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CourseView {
    pub id: CourseId,
    pub title: String,
    pub summary: String,
    pub published: bool,
    pub teachers: Vec<PersonRef>,
    pub enrolled: bool,
    /// Only for the course's teachers: what students type to enroll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_code: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl CourseView {
    /// The course as `standing` lets its caller see it.
    pub fn of(standing: &Standing, teachers: Vec<PersonRef>) -> Self {
        let row: &CourseRow = standing.course();
        Self {
            id: row.id,
            title: row.title.clone(),
            summary: row.summary.clone(),
            published: row.published,
            teachers,
            enrolled: standing.is_enrolled(),
            enrollment_code: standing.is_teacher().then(|| row.enrollment_code.clone()),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MaterialItem {
    pub id: MaterialId,
    pub title: String,
    pub position: i32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MaterialView {
    pub id: MaterialId,
    pub course_id: CourseId,
    pub title: String,
    pub body_markdown: String,
    /// Rendered from Markdown and sanitised with an allow-list when written.
    pub body_html: String,
    pub position: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<MaterialRow> for MaterialView {
    fn from(row: MaterialRow) -> Self {
        Self {
            id: row.id,
            course_id: row.course_id,
            title: row.title,
            body_markdown: row.body_markdown,
            body_html: row.body_html,
            position: row.position,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EnrollmentView {
    pub course_id: CourseId,
    pub student: PersonRef,
    #[schema(format = DateTime)]
    pub enrolled_at: String,
}

/// A staff member as the course's staff see them (with the email: they add people by email).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffUser {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
}

/// One of a course's staff.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffMember {
    pub user: StaffUser,
    pub role: StaffRole,
    #[schema(format = DateTime)]
    pub added_at: String,
}

/// `GET /api/courses/{id}/staff`: the whole staff (a course has few), teachers first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub items: Vec<StaffMember>,
}

/// The course page's whole view model, read in one hand-off.
#[derive(Clone, Debug)]
pub struct CoursePageView {
    pub course: CourseView,
    pub is_teacher: bool,
    /// A grader of the course: staff, but no teacher.
    pub is_grader: bool,
    pub is_enrolled: bool,
    /// For its staff.
    pub staff: Vec<StaffMember>,
    /// For its teachers and enrolled students.
    pub materials: Vec<MaterialItem>,
    /// For its teachers: the first 100 students, and how many there are.
    pub students: Vec<EnrollmentView>,
    pub student_total: i64,
    /// For its staff and enrolled students: the LTI tools placed in it.
    pub tool_links: Vec<crate::service::tool_links::LinkOnPage>,
    /// For its teachers: what the add form offers.
    pub link_choices: crate::service::tool_links::LinkChoices,
    /// The reader's time zone.
    pub zone: lectern_common::timefmt::Zone,
}

/// A material page's whole view model, read in one hand-off.
#[derive(Clone, Debug)]
pub struct MaterialPageView {
    pub course: CourseView,
    pub material: MaterialView,
    pub is_teacher: bool,
}

// ---- request bodies, as sent (domain.rs parses them) ------------------------------------------

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewCourse {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub published: bool,
}

/// Any of the fields; those left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct CoursePatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub published: Option<bool>,
}

/// A teacher of the course adds a teacher account to its staff, or changes its role.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct StaffRequest {
    /// The email of a teacher account.
    #[serde(default)]
    pub email: String,
    /// `teacher` (a co-teacher: every right of a teacher of the course) or `grader`.
    #[schema(value_type = StaffRole)]
    #[serde(default)]
    pub role: String,
}

/// A student enrolls with the code; a teacher of the course enrolls a student by email.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct EnrollRequest {
    pub enrollment_code: Option<String>,
    pub student_email: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewMaterial {
    pub title: String,
    #[serde(default)]
    pub body_markdown: String,
    /// 0 to 10000, its place in the course's list; after the last one when left out.
    pub position: Option<i64>,
}

/// Any of the fields; those left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct MaterialPatch {
    pub title: Option<String>,
    pub body_markdown: Option<String>,
    pub position: Option<i64>,
}

/// A registered LTI tool, as a course shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct ToolRef {
    pub id: lectern_common::ids::ToolId,
    pub name: String,
}

/// A tool placed in a course; `assignment_id` is where its scores land (null: none).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ToolLinkView {
    pub id: lectern_common::ids::ToolLinkId,
    pub title: String,
    pub tool: ToolRef,
    pub assignment_id: Option<lectern_common::ids::AssignmentId>,
}

/// `POST /api/courses/{id}/tool-links`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewToolLink {
    /// A registered tool (`lectern lti tools list`).
    pub tool_id: String,
    pub title: String,
    /// An assignment of this course whose grades the tool's scores become, or null.
    #[serde(default)]
    pub assignment_id: Option<String>,
}
