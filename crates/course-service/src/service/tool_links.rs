//! Tool links: LTI tools the operator registered (`lectern lti tools add`), placed in a course by
//! one of its teachers, optionally tied to one of its assignments so the tool's scores land there
//! (docs/lti.md). Staff and enrolled students see them on the course page and launch them; the
//! launch itself and the services the tools call belong to the LTI platform (`lti-platform`),
//! which reaches courses only through this module and `access.rs`.
//!
//! Tools are registered by the operator, not by teachers: a teacher chooses among them. The
//! registrations are readable by this service (names, for the links) but written only by
//! auth-core's CLI.

use super::{CourseState, Parsed};
use crate::access::{self, Course, InCourse, MemberOf, StaffRole, Standing, TeacherOf, ToolIn};
use crate::audit::{self, Actor, ObjectRef};
use crate::error::CourseError;
use crate::views::{NewToolLink, ToolLinkView, ToolRef};
use diesel::prelude::*;
use lectern_common::AuthUser;
use lectern_common::db::{DbConnection, write_tx};
use lectern_common::ids::{AssignmentId, CourseId, ToolId, ToolLinkId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::schema::{assignments, lti_tool_links, lti_tools};
use std::str::FromStr;
use time::PrimitiveDateTime;

/// A tool link as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = lti_tool_links)]
pub struct ToolLinkRow {
    pub id: ToolLinkId,
    pub course_id: CourseId,
    pub tool_id: ToolId,
    pub title: String,
    pub assignment_id: Option<AssignmentId>,
    pub created_by: UserId,
    pub created_at: PrimitiveDateTime,
}

impl InCourse for ToolLinkRow {
    fn course_id(&self) -> CourseId {
        self.course_id
    }
}

/// A link's title: 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTitle(String);

impl LinkTitle {
    pub fn parse(raw: &str) -> Result<Self, CourseError> {
        lectern_common::text::bounded(raw, 1, 200).map(Self).map_err(|rule| CourseError::invalid("title", rule))
    }
}

/// What a teacher asks for, parsed.
#[derive(Clone, Debug)]
pub struct LinkDraft {
    pub tool_id: ToolId,
    pub title: LinkTitle,
    pub assignment_id: Option<AssignmentId>,
}

fn parse_id<T: FromStr>(field: &'static str, raw: &str) -> Result<T, CourseError> {
    raw.trim().parse().map_err(|_| CourseError::invalid(field, "must be an id (a UUID)"))
}

impl LinkDraft {
    /// From the form's or the body's text; an empty `assignment_id` is none.
    pub fn parse(tool_id: &str, title: &str, assignment_id: Option<&str>) -> Result<Self, CourseError> {
        Ok(Self {
            tool_id: parse_id("tool_id", tool_id)?,
            title: LinkTitle::parse(title)?,
            assignment_id: assignment_id
                .filter(|a| !a.trim().is_empty())
                .map(|a| parse_id("assignment_id", a))
                .transpose()?,
        })
    }
}

impl TryFrom<NewToolLink> for LinkDraft {
    type Error = CourseError;
    fn try_from(body: NewToolLink) -> Result<Self, CourseError> {
        Self::parse(&body.tool_id, &body.title, body.assignment_id.as_deref())
    }
}

/// How the person launching a link stands to its course: what the launch tells the tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// A teacher of the course (its creator or a co-teacher).
    Teacher,
    /// Staff who grade, without a teacher's other rights.
    Grader,
    /// A student enrolled in it.
    Student,
}

/// A link someone may launch, with how they stand to its course.
#[derive(Clone, Debug)]
pub struct Launchable {
    pub link: MemberOf<ToolLinkRow>,
    pub relation: Relation,
}

/// One member of a course as a tool's roster request sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub relation: Relation,
}

mod store {
    use super::*;

    pub fn links_of(
        conn: &mut DbConnection,
        course: CourseId,
        page: Pagination,
    ) -> QueryResult<(Vec<(ToolLinkRow, String)>, i64)> {
        let rows = lti_tool_links::table
            .inner_join(lti_tools::table)
            .filter(lti_tool_links::course_id.eq(course))
            .order((lti_tool_links::created_at.asc(), lti_tool_links::id.asc()))
            .limit(page.limit())
            .offset(page.offset())
            .select((ToolLinkRow::as_select(), lti_tools::name))
            .load(conn)?;
        let total = lti_tool_links::table.filter(lti_tool_links::course_id.eq(course)).count().get_result(conn)?;
        Ok((rows, total))
    }

    pub fn find(conn: &mut DbConnection, id: ToolLinkId) -> QueryResult<Option<ToolLinkRow>> {
        lti_tool_links::table.find(id).select(ToolLinkRow::as_select()).first(conn).optional()
    }

    pub fn tool_name(conn: &mut DbConnection, tool: ToolId) -> QueryResult<Option<String>> {
        lti_tools::table.find(tool).select(lti_tools::name).first(conn).optional()
    }

    pub fn tools(conn: &mut DbConnection) -> QueryResult<Vec<(ToolId, String)>> {
        lti_tools::table
            .order((lti_tools::name.asc(), lti_tools::id.asc()))
            .select((lti_tools::id, lti_tools::name))
            .load(conn)
    }

    /// Assignments are grading-service's; a link names one, so this service reads their ids
    /// and titles (and the composite foreign key holds a link to its course's assignments).
    pub fn assignment_in(conn: &mut DbConnection, id: AssignmentId, course: CourseId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            assignments::table.filter(assignments::id.eq(id)).filter(assignments::course_id.eq(course)),
        ))
        .get_result(conn)
    }

    pub fn assignments_of(conn: &mut DbConnection, course: CourseId) -> QueryResult<Vec<(AssignmentId, String)>> {
        assignments::table
            .filter(assignments::course_id.eq(course))
            .order((assignments::due_at.asc(), assignments::id.asc()))
            .select((assignments::id, assignments::title))
            .load(conn)
    }

    pub fn insert(conn: &mut DbConnection, row: &ToolLinkRow) -> QueryResult<()> {
        diesel::insert_into(lti_tool_links::table).values(row).execute(conn).map(|_| ())
    }

    pub fn delete(conn: &mut DbConnection, id: ToolLinkId) -> QueryResult<()> {
        diesel::delete(lti_tool_links::table.find(id)).execute(conn).map(|_| ())
    }
}

fn view(row: ToolLinkRow, tool_name: String) -> ToolLinkView {
    ToolLinkView {
        id: row.id,
        title: row.title,
        tool: ToolRef { id: row.tool_id, name: tool_name },
        assignment_id: row.assignment_id,
    }
}

/// A page of the course's tool links, oldest first (its staff and enrolled students).
pub fn list(
    conn: &mut DbConnection,
    course: &MemberOf<Course>,
    page: Pagination,
) -> Result<Paginated<ToolLinkView>, CourseError> {
    let (rows, total) = store::links_of(conn, course.id, page)?;
    Ok(Paginated::new(rows.into_iter().map(|(row, name)| view(row, name)).collect(), page, total))
}

/// Places a registered tool in the course (a teacher of it): 422 naming `tool_id` for a tool
/// that is not registered, `assignment_id` for an assignment of another course (or none).
pub fn add(
    conn: &mut DbConnection,
    course: &TeacherOf<Course>,
    draft: LinkDraft,
    now: PrimitiveDateTime,
) -> Result<ToolLinkView, CourseError> {
    let Some(tool_name) = store::tool_name(conn, draft.tool_id)? else {
        return Err(CourseError::invalid("tool_id", "no registered tool has this id"));
    };
    if let Some(assignment) = draft.assignment_id
        && !store::assignment_in(conn, assignment, course.id)?
    {
        return Err(CourseError::invalid("assignment_id", "not an assignment of this course"));
    }
    let row = ToolLinkRow {
        id: ToolLinkId::new(),
        course_id: course.id,
        tool_id: draft.tool_id,
        title: draft.title.0,
        assignment_id: draft.assignment_id,
        created_by: course.user(),
        created_at: now,
    };
    store::insert(conn, &row)?;
    let details = serde_json::json!({"tool_id": row.tool_id, "tool": tool_name, "title": row.title, "assignment_id": row.assignment_id});
    let object = ObjectRef::new("tool_link", row.id);
    audit::record(conn, course.id, &Actor::User(course.user()), "tool_link.added", &object, details, now)?;
    Ok(view(row, tool_name))
}

/// Removes a link (a teacher of its course). Grades its tool posted stay.
pub fn remove(
    conn: &mut DbConnection,
    link: &TeacherOf<ToolLinkRow>,
    now: PrimitiveDateTime,
) -> Result<(), CourseError> {
    store::delete(conn, link.id)?;
    let details =
        serde_json::json!({"tool_id": link.tool_id, "title": link.title, "assignment_id": link.assignment_id});
    let object = ObjectRef::new("tool_link", link.id);
    audit::record(conn, link.course_id, &Actor::User(link.user()), "tool_link.removed", &object, details, now)
}

/// A link as the course page shows it: with its assignment's title.
#[derive(Clone, Debug)]
pub struct LinkOnPage {
    pub link: ToolLinkView,
    pub assignment_title: Option<String>,
}

/// The course's links for its page (its members), oldest first.
pub fn for_page(conn: &mut DbConnection, course: &MemberOf<Course>) -> Result<Vec<LinkOnPage>, CourseError> {
    let rows: Vec<(ToolLinkRow, String, Option<String>)> = lti_tool_links::table
        .inner_join(lti_tools::table)
        .left_join(assignments::table.on(lti_tool_links::assignment_id.eq(assignments::id.nullable())))
        .filter(lti_tool_links::course_id.eq(course.id))
        .order((lti_tool_links::created_at.asc(), lti_tool_links::id.asc()))
        .select((ToolLinkRow::as_select(), lti_tools::name, assignments::title.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, name, assignment_title)| LinkOnPage { link: view(row, name), assignment_title })
        .collect())
}

/// What the add form offers a teacher of the course.
#[derive(Clone, Debug, Default)]
pub struct LinkChoices {
    /// Every registered tool.
    pub tools: Vec<ToolRef>,
    /// The course's assignments (id, title), by due date.
    pub assignments: Vec<(AssignmentId, String)>,
}

/// The registered tools and the course's assignments, for a teacher of the course.
pub fn choices(conn: &mut DbConnection, course: &TeacherOf<Course>) -> Result<LinkChoices, CourseError> {
    let tools = store::tools(conn)?.into_iter().map(|(id, name)| ToolRef { id, name }).collect();
    Ok(LinkChoices { tools, assignments: store::assignments_of(conn, course.id)? })
}

/// A link *for* the person who wants to launch it: staff and enrolled students of its course.
/// A link of a course they may not see is 404; of a visible course they are not in, 403.
pub fn launchable(conn: &mut DbConnection, id: ToolLinkId, user: &AuthUser) -> Result<Launchable, CourseError> {
    let row = store::find(conn, id)?.ok_or(CourseError::NotFound)?;
    let standing = access::standing(conn, row.course_id, user)?;
    let relation = match &standing {
        Standing::Teacher(_) => Relation::Teacher,
        Standing::Grader(_) => Relation::Grader,
        Standing::Enrolled(_) => Relation::Student,
        Standing::Visitor(_) => {
            return Err(CourseError::Forbidden("only staff and students of this course may open its tools"));
        }
    };
    Ok(Launchable { link: MemberOf::over(&standing.member()?, row)?, relation })
}

/// The links a tool has in a course (the tool's own: what its services may reach).
pub fn links_of_tool(conn: &mut DbConnection, course: &ToolIn<Course>) -> Result<Vec<ToolLinkRow>, CourseError> {
    Ok(lti_tool_links::table
        .filter(lti_tool_links::course_id.eq(course.course_id()))
        .filter(lti_tool_links::tool_id.eq(course.tool()))
        .order((lti_tool_links::created_at.asc(), lti_tool_links::id.asc()))
        .select(ToolLinkRow::as_select())
        .load(conn)?)
}

/// The course's members for a tool's roster request: its staff, then its enrolled students, each
/// group by name. `offset`/`limit` page through them in that order; the total comes with them.
pub fn members_for_tool(
    conn: &mut DbConnection,
    course: &ToolIn<Course>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Member>, i64), CourseError> {
    use lectern_common::schema::{course_staff, enrollments, users};
    let id = course.course_id();
    let staff: Vec<(UserId, String, String, String)> = course_staff::table
        .inner_join(users::table)
        .filter(course_staff::course_id.eq(id))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name, users::email, course_staff::role))
        .load(conn)?;
    let students: Vec<(UserId, String, String)> = enrollments::table
        .inner_join(users::table)
        .filter(enrollments::course_id.eq(id))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name, users::email))
        .load(conn)?;
    let all: Vec<Member> = staff
        .into_iter()
        .map(|(id, name, email, role)| {
            let relation = match StaffRole::from_stored(&role) {
                Some(StaffRole::Grader) => Relation::Grader,
                _ => Relation::Teacher,
            };
            ((id, name, email), relation)
        })
        .chain(students.into_iter().map(|s| (s, Relation::Student)))
        .map(|((user_id, display_name, email), relation)| Member { user_id, display_name, email, relation })
        .collect();
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
    let take = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
    Ok((all.into_iter().skip(skip).take(take).collect(), total))
}

impl CourseState {
    /// The course's tool links (its staff and enrolled students).
    pub async fn tool_links(
        &self,
        user: &AuthUser,
        course: CourseId,
        page: Pagination,
    ) -> Result<Paginated<ToolLinkView>, CourseError> {
        let (reader, user) = (user.id, user.clone());
        self.db
            .decide_then_read(
                reader,
                move |conn| access::standing(conn, course, &user)?.member(),
                move |conn, course| list(conn, &course, page),
            )
            .await
    }

    pub async fn add_tool_link(
        &self,
        user: &AuthUser,
        course: CourseId,
        draft: Parsed<LinkDraft>,
    ) -> Result<ToolLinkView, CourseError> {
        let now = self.now();
        let user = user.clone();
        self.db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let course = access::standing(conn, course, &user)?.teacher()?;
                    add(conn, &course, draft?, now)
                })
            })
            .await
    }

    pub async fn remove_tool_link(&self, user: &AuthUser, course: CourseId, id: ToolLinkId) -> Result<(), CourseError> {
        let now = self.now();
        let user = user.clone();
        self.db
            .run_write(user.id, move |conn| {
                write_tx(conn, |conn: &mut DbConnection| {
                    let teacher = access::standing(conn, course, &user)?.teacher()?;
                    let row = store::find(conn, id)?.ok_or(CourseError::NotFound)?;
                    remove(conn, &TeacherOf::over(&teacher, row)?, now)
                })
            })
            .await
    }
}
