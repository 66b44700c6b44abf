//! Queries on courses, teachers, enrollments and materials. Each returns the database's answer
//! honestly; `access.rs` and the services give it meaning. The functions are this crate's own:
//! other crates reach courses through `access.rs` and the services, with a capability.

use crate::access::StaffRole;
use crate::views::PersonRef;
use diesel::prelude::*;
use lectern_common::db::DbConnection;
use lectern_common::ids::{CourseId, MaterialId, UserId};
use lectern_common::pagination::Pagination;
use lectern_common::role_column::RoleColumn;
use lectern_common::schema::{course_staff, courses, enrollments, materials, users};
use lectern_common::sql::{Bind, Statement};
use std::collections::HashSet;
use time::PrimitiveDateTime;
use token_claims::Role;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = courses)]
pub struct CourseRow {
    pub id: CourseId,
    pub title: String,
    pub summary: String,
    pub published: bool,
    pub enrollment_code: String,
    pub created_by: UserId,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = materials)]
pub struct MaterialRow {
    pub id: MaterialId,
    pub course_id: CourseId,
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub position: i32,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

/// A material as a course's table of contents lists it.
#[derive(Queryable, Clone, Debug)]
pub struct MaterialListRow {
    pub id: MaterialId,
    pub title: String,
    pub position: i32,
}

/// What the catalog may show this caller: published courses, and the drafts of the courses a
/// teacher account is staff of (teacher or grader).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CatalogScope {
    Published,
    PublishedOrTaughtBy(UserId),
}

/// `%`, `_` and `\` in a search are literal characters, not patterns.
fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// One line of the catalog query: the total, and a course of the page with one of its teachers
/// (a course without teachers once, with no teacher; no course at all on a page past the end).
#[derive(QueryableByName, Debug)]
struct CatalogLine {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    id: Option<CourseId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    title: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    summary: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    published: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    teacher_id: Option<UserId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    teacher_name: Option<String>,
}

/// A course of a catalog page with its teachers (not its graders), in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogCourse {
    pub id: CourseId,
    pub title: String,
    pub summary: String,
    pub published: bool,
    pub teachers: Vec<PersonRef>,
}

/// The catalog page's SQL with `?` placeholders, and what to bind to them, in order. One
/// statement: the page of courses (title, then id) joined to their teachers through
/// `course_staff`'s primary key, and the total. Without a search the total reads the
/// trigger-maintained `catalog_stats` row (plus a teacher's own drafts, an indexed lookup)
/// instead of counting every published course; with one, it counts the matches.
fn catalog_sql(scope: CatalogScope, q: Option<&str>, page: Pagination) -> (String, Vec<Bind>) {
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let mut binds = Vec::new();
    let filter = |binds: &mut Vec<Bind>| {
        let mut sql = String::from("c.published = TRUE");
        if let CatalogScope::PublishedOrTaughtBy(teacher) = scope {
            sql = "(c.published = TRUE OR c.id IN (SELECT course_id FROM course_staff WHERE user_id = ?))".into();
            binds.push(Bind::Text(teacher.to_string()));
        }
        if let Some(q) = q {
            sql.push_str(" AND lower(c.title) LIKE ? ESCAPE '\\'");
            binds.push(Bind::Text(like_pattern(q)));
        }
        sql
    };
    let page_filter = filter(&mut binds);
    binds.push(Bind::Int(page.limit()));
    binds.push(Bind::Int(page.offset()));
    let total = if q.is_some() {
        format!("(SELECT COUNT(*) FROM courses c WHERE {})", filter(&mut binds))
    } else {
        let mut total = String::from("COALESCE((SELECT published_courses FROM catalog_stats WHERE id = 1), 0)");
        if let CatalogScope::PublishedOrTaughtBy(teacher) = scope {
            total.push_str(
                " + (SELECT COUNT(*) FROM course_staff s JOIN courses c ON c.id = s.course_id \
                 WHERE s.user_id = ? AND c.published = FALSE)",
            );
            binds.push(Bind::Text(teacher.to_string()));
        }
        total
    };
    let sql = format!(
        "WITH page AS (\
            SELECT c.id, c.title, c.summary, c.published FROM courses c WHERE {page_filter} \
            ORDER BY c.title, c.id LIMIT ? OFFSET ?), \
         total AS (SELECT {total} AS n) \
         SELECT total.n AS total, page.id AS id, page.title AS title, page.summary AS summary, \
                page.published AS published, u.id AS teacher_id, u.display_name AS teacher_name \
         FROM total \
         LEFT JOIN page ON 1 = 1 \
         LEFT JOIN course_staff s ON s.course_id = page.id AND s.role = '{teacher}' \
         LEFT JOIN users u ON u.id = s.user_id \
         ORDER BY page.title, page.id, u.display_name, u.id",
        teacher = StaffRole::Teacher.as_str(),
    );
    (sql, binds)
}

/// One catalog page in a stable order (title, then id), each course with its teachers, and how
/// many match in all: one database round trip.
pub(crate) fn catalog_page(
    conn: &mut DbConnection,
    scope: CatalogScope,
    q: Option<&str>,
    page: Pagination,
) -> QueryResult<(Vec<CatalogCourse>, i64)> {
    let (sql, binds) = catalog_sql(scope, q, page);
    // Kept prepared (`lectern_common::sql`): the text depends only on the scope and whether
    // there is a search.
    let lines: Vec<CatalogLine> = Statement::new(sql, binds).rows(conn)?;
    let total = lines.first().map_or(0, |l| l.total);
    let mut courses: Vec<CatalogCourse> = Vec::with_capacity(lines.len());
    for line in lines {
        let Some(id) = line.id else { continue };
        if courses.last().is_none_or(|c| c.id != id) {
            courses.push(CatalogCourse {
                id,
                title: line.title.unwrap_or_default(),
                summary: line.summary.unwrap_or_default(),
                published: line.published.unwrap_or_default(),
                teachers: Vec::new(),
            });
        }
        if let (Some(course), Some(teacher), Some(name)) = (courses.last_mut(), line.teacher_id, line.teacher_name) {
            course.teachers.push(PersonRef { id: teacher, display_name: name });
        }
    }
    Ok((courses, total))
}

/// The teachers of a course (not its graders), in name order.
pub(crate) fn teachers_of(conn: &mut DbConnection, course: CourseId) -> QueryResult<Vec<PersonRef>> {
    course_staff::table
        .inner_join(users::table)
        .filter(course_staff::course_id.eq(course))
        .filter(course_staff::role.eq(StaffRole::Teacher.as_str()))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name))
        .load::<(UserId, String)>(conn)
        .map(|rows| rows.into_iter().map(|(id, display_name)| PersonRef { id, display_name }).collect())
}

/// Every course `student` is enrolled in.
pub(crate) fn enrollments_of(conn: &mut DbConnection, student: UserId) -> QueryResult<HashSet<CourseId>> {
    enrollments::table
        .filter(enrollments::student_id.eq(student))
        .select(enrollments::course_id)
        .load::<CourseId>(conn)
        .map(|v| v.into_iter().collect())
}

/// A new course, taught by its creator.
pub(crate) fn insert_course(conn: &mut DbConnection, row: &CourseRow) -> QueryResult<()> {
    diesel::insert_into(courses::table).values(row).execute(conn)?;
    insert_staff(conn, row.id, row.created_by, StaffRole::Teacher, row.created_at)
}

pub(crate) fn insert_staff(
    conn: &mut DbConnection,
    course: CourseId,
    user: UserId,
    role: StaffRole,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(course_staff::table)
        .values((
            course_staff::course_id.eq(course),
            course_staff::user_id.eq(user),
            course_staff::role.eq(role.as_str()),
            course_staff::added_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub(crate) fn set_staff_role(
    conn: &mut DbConnection,
    course: CourseId,
    user: UserId,
    role: StaffRole,
) -> QueryResult<()> {
    diesel::update(course_staff::table.find((course, user)))
        .set(course_staff::role.eq(role.as_str()))
        .execute(conn)
        .map(drop)
}

pub(crate) fn delete_staff(conn: &mut DbConnection, course: CourseId, user: UserId) -> QueryResult<bool> {
    diesel::delete(course_staff::table.find((course, user))).execute(conn).map(|n| n > 0)
}

/// One staff row: the user, their email, the role as stored and when they were added.
pub type StaffRow = (PersonRef, String, String, PrimitiveDateTime);

/// A course's staff: teachers first, then graders, each in name order.
pub(crate) fn staff_of(conn: &mut DbConnection, course: CourseId) -> QueryResult<Vec<StaffRow>> {
    let rows: Vec<(UserId, String, String, String, PrimitiveDateTime)> = course_staff::table
        .inner_join(users::table)
        .filter(course_staff::course_id.eq(course))
        .order((course_staff::role.desc(), users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name, users::email, course_staff::role, course_staff::added_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, display_name, email, role, at)| (PersonRef { id, display_name }, email, role, at))
        .collect())
}

/// The stored role of `user` on the course's staff, if any.
pub(crate) fn staff_role(conn: &mut DbConnection, course: CourseId, user: UserId) -> QueryResult<Option<String>> {
    course_staff::table.find((course, user)).select(course_staff::role).first(conn).optional()
}

/// How many teachers the course has (graders not counted).
pub(crate) fn teacher_count(conn: &mut DbConnection, course: CourseId) -> QueryResult<i64> {
    course_staff::table
        .filter(course_staff::course_id.eq(course))
        .filter(course_staff::role.eq(StaffRole::Teacher.as_str()))
        .count()
        .get_result(conn)
}

/// The teacher account with this (lower-cased) email, if there is one.
pub(crate) fn find_teacher_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<PersonRef>> {
    users::table
        .filter(users::email.eq(email))
        .filter(users::role.eq(RoleColumn(Role::Teacher)))
        .select((users::id, users::display_name))
        .first::<(UserId, String)>(conn)
        .optional()
        .map(|found| found.map(|(id, display_name)| PersonRef { id, display_name }))
}

/// Queues writers that change one course's staff: on PostgreSQL it locks the course row for the
/// rest of the transaction, *before* the caller's standing is read, so two teachers removing each
/// other at once are served one after the other and the second sees the first's change (and is
/// no teacher any more). SQLite's `BEGIN IMMEDIATE` already lets one writer in at a time.
pub(crate) fn lock_course(conn: &mut DbConnection, course: CourseId) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => {
            courses::table.find(course).select(courses::id).for_update().load::<CourseId>(pg).map(drop)
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = courses)]
pub struct CourseChanges {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub published: Option<bool>,
    pub updated_at: Option<PrimitiveDateTime>,
}

pub(crate) fn update_course(conn: &mut DbConnection, id: CourseId, changes: &CourseChanges) -> QueryResult<()> {
    diesel::update(courses::table.find(id)).set(changes).execute(conn).map(drop)
}

/// Enrolls a student; false when they already were. The insert runs in a savepoint, so losing a
/// race to a concurrent enrollment does not abort the caller's transaction (PostgreSQL would).
pub(crate) fn enroll(
    conn: &mut DbConnection,
    course: CourseId,
    student: UserId,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    if enrolled_at(conn, course, student)?.is_some() {
        return Ok(false);
    }
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(enrollments::table)
            .values((
                enrollments::course_id.eq(course),
                enrollments::student_id.eq(student),
                enrollments::enrolled_at.eq(now),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Ends an enrollment (work and grades stay); false when there was none.
pub(crate) fn unenroll(conn: &mut DbConnection, course: CourseId, student: UserId) -> QueryResult<bool> {
    diesel::delete(
        enrollments::table.filter(enrollments::course_id.eq(course)).filter(enrollments::student_id.eq(student)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// A page of a course's students, in name order, with when they enrolled.
pub(crate) fn students_of(
    conn: &mut DbConnection,
    course: CourseId,
    page: Pagination,
) -> QueryResult<(Vec<(PersonRef, PrimitiveDateTime)>, i64)> {
    let rows: Vec<(UserId, String, PrimitiveDateTime)> = enrollments::table
        .inner_join(users::table)
        .filter(enrollments::course_id.eq(course))
        .order((users::display_name.asc(), users::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select((users::id, users::display_name, enrollments::enrolled_at))
        .load(conn)?;
    let total = enrollments::table.filter(enrollments::course_id.eq(course)).count().get_result(conn)?;
    Ok((rows.into_iter().map(|(id, display_name, at)| (PersonRef { id, display_name }, at)).collect(), total))
}

/// Every student of a course, in name order (gradebook rows).
pub(crate) fn all_students_of(conn: &mut DbConnection, course: CourseId) -> QueryResult<Vec<PersonRef>> {
    enrollments::table
        .inner_join(users::table)
        .filter(enrollments::course_id.eq(course))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name))
        .load::<(UserId, String)>(conn)
        .map(|rows| rows.into_iter().map(|(id, display_name)| PersonRef { id, display_name }).collect())
}

/// The student with this (lower-cased) email, if there is one.
pub(crate) fn find_student_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserId>> {
    users::table
        .filter(users::email.eq(email))
        .filter(users::role.eq(RoleColumn(Role::Student)))
        .select(users::id)
        .first(conn)
        .optional()
}

/// A page of a course's materials, in position order.
pub(crate) fn materials_of(
    conn: &mut DbConnection,
    course: CourseId,
    page: Pagination,
) -> QueryResult<(Vec<MaterialListRow>, i64)> {
    let rows = materials::table
        .filter(materials::course_id.eq(course))
        .order((materials::position.asc(), materials::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select((materials::id, materials::title, materials::position))
        .load(conn)?;
    let total = materials::table.filter(materials::course_id.eq(course)).count().get_result(conn)?;
    Ok((rows, total))
}

pub(crate) fn find_material(conn: &mut DbConnection, id: MaterialId) -> QueryResult<Option<MaterialRow>> {
    materials::table.find(id).select(MaterialRow::as_select()).first(conn).optional()
}

/// Which course a material belongs to (the access decision needs no more of it).
pub(crate) fn material_course(conn: &mut DbConnection, id: MaterialId) -> QueryResult<Option<CourseId>> {
    materials::table.find(id).select(materials::course_id).first(conn).optional()
}

pub(crate) fn insert_material(conn: &mut DbConnection, row: &MaterialRow) -> QueryResult<()> {
    diesel::insert_into(materials::table).values(row).execute(conn).map(drop)
}

/// The position after the last material of a course.
pub(crate) fn next_position(conn: &mut DbConnection, course: CourseId) -> QueryResult<i32> {
    let max: Option<i32> = materials::table
        .filter(materials::course_id.eq(course))
        .select(diesel::dsl::max(materials::position))
        .first(conn)?;
    Ok(max.map_or(1, |m| m.saturating_add(1)))
}

pub(crate) fn update_material(conn: &mut DbConnection, row: &MaterialRow) -> QueryResult<()> {
    diesel::update(materials::table.find(row.id))
        .set((
            materials::title.eq(&row.title),
            materials::body_markdown.eq(&row.body_markdown),
            materials::body_html.eq(&row.body_html),
            materials::position.eq(row.position),
            materials::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .map(drop)
}

pub(crate) fn delete_material(conn: &mut DbConnection, id: MaterialId) -> QueryResult<()> {
    diesel::delete(materials::table.find(id)).execute(conn).map(drop)
}

/// A user as other people see them.
pub(crate) fn person(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<PersonRef>> {
    users::table
        .find(id)
        .select((users::id, users::display_name))
        .first::<(UserId, String)>(conn)
        .optional()
        .map(|found| found.map(|(id, display_name)| PersonRef { id, display_name }))
}

/// When a student enrolled, if they are enrolled.
pub(crate) fn enrolled_at(
    conn: &mut DbConnection,
    course: CourseId,
    student: UserId,
) -> QueryResult<Option<PrimitiveDateTime>> {
    enrollments::table.find((course, student)).select(enrollments::enrolled_at).first(conn).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_literal() {
        assert_eq!(like_pattern("Rust"), "%rust%");
        assert_eq!(like_pattern("100%_\\"), "%100\\%\\_\\\\%");
    }
}
