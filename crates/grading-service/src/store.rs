//! Queries on assignments, submissions, grades, their history and idempotency keys. Each
//! returns the database's answer honestly; `access.rs` and `service.rs` give it meaning.

use course_service::access::staff_courses;
use course_service::views::PersonRef;
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use lectern_common::db::{DbConnection, MultiBackend};
use lectern_common::ids::{AssignmentId, CourseId, FileId, GradeId, SubmissionId, UserId};
use lectern_common::pagination::Pagination;
use lectern_common::schema::{
    assignments, courses, enrollments, extensions, file_blobs, grade_history, grades, idempotency_keys,
    submission_files, submissions, users,
};
use lectern_common::sql::{Bind, Statement};
use std::collections::HashMap;
use time::PrimitiveDateTime;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub id: AssignmentId,
    pub course_id: CourseId,
    pub title: String,
    pub instructions: String,
    pub due_at: PrimitiveDateTime,
    pub max_points_hundredths: i32,
    pub max_attempts: Option<i32>,
    pub grades_released: bool,
    pub created_by: UserId,
    pub created_at: PrimitiveDateTime,
    pub late_percent_per_day: Option<i32>,
    pub late_max_percent: Option<i32>,
    pub close_after_days: Option<i32>,
}

impl AssignmentRow {
    pub fn late_policy(&self) -> Option<crate::late::LatePolicy> {
        crate::late::LatePolicy::from_stored(self.late_percent_per_day, self.late_max_percent, self.close_after_days)
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = submissions)]
pub struct SubmissionRow {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student_id: UserId,
    pub attempt: i32,
    pub body: String,
    pub body_sha256: String,
    pub submitted_at: PrimitiveDateTime,
    pub late: bool,
}

/// A submission without its body, for lists.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = submissions)]
pub struct SubmissionMeta {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student_id: UserId,
    pub attempt: i32,
    pub body_sha256: String,
    pub submitted_at: PrimitiveDateTime,
    pub late: bool,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grades)]
pub struct GradeRow {
    pub submission_id: SubmissionId,
    pub score_hundredths: i32,
    pub feedback: String,
    pub graded_by: UserId,
    pub graded_at: PrimitiveDateTime,
    pub revision: i32,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grade_history)]
pub struct HistoryRow {
    pub id: GradeId,
    pub submission_id: SubmissionId,
    pub revision: i32,
    pub old_score_hundredths: Option<i32>,
    pub new_score_hundredths: i32,
    pub feedback: String,
    pub graded_by: UserId,
    pub graded_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub user_id: UserId,
    pub idempotency_key: String,
    pub request_fingerprint: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: PrimitiveDateTime,
}

/// One file of a submission (its bytes are in `file_blobs`, under `sha256`).
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = submission_files)]
pub struct FileRow {
    pub id: FileId,
    pub submission_id: SubmissionId,
    pub position: i32,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

diesel::alias!(submissions as later_attempts: LaterAttempts);

/// One page of rows, and how many rows match in all.
pub type Listed<T> = (Vec<T>, i64);
/// An attempt and its grade, if graded.
pub type Graded = (SubmissionMeta, Option<GradeRow>);
/// A student's latest attempt, the student's display name, and its grade.
pub type LatestAttempt = (SubmissionMeta, String, Option<GradeRow>);
/// A gradebook cell: assignment, student, latest attempt, its score in hundredths (as given), and
/// when it was submitted (for the late penalty).
pub type LatestScore = (AssignmentId, UserId, SubmissionId, Option<i32>, PrimitiveDateTime);

// ---- locks ---------------------------------------------------------------------------------

/// Queues concurrent writers for one student's work in a course (a tool's scores): on PostgreSQL
/// it locks the enrollment row for the rest of the transaction; SQLite's `BEGIN IMMEDIATE`
/// already lets one writer in at a time. Attempts are numbered under their own, narrower lock
/// ([`next_attempt`]).
pub(crate) fn lock_enrollment(conn: &mut DbConnection, course: CourseId, student: UserId) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => enrollments::table
            .filter(enrollments::course_id.eq(course))
            .filter(enrollments::student_id.eq(student))
            .select(enrollments::student_id)
            .for_update()
            .load::<UserId>(pg)
            .map(drop),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Queues concurrent graders of one submission (see [`lock_enrollment`]).
pub(crate) fn lock_submission(conn: &mut DbConnection, id: SubmissionId) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => {
            submissions::table.find(id).select(submissions::id).for_update().load::<SubmissionId>(pg).map(drop)
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

// ---- assignments ---------------------------------------------------------------------------

pub(crate) fn insert_assignment(conn: &mut DbConnection, row: &AssignmentRow) -> QueryResult<()> {
    diesel::insert_into(assignments::table).values(row).execute(conn).map(drop)
}

pub(crate) fn find_assignment(conn: &mut DbConnection, id: AssignmentId) -> QueryResult<Option<AssignmentRow>> {
    assignments::table.find(id).select(AssignmentRow::as_select()).first(conn).optional()
}

/// A page of a course's assignments in their stable order (due date, then id).
pub(crate) fn assignments_of(
    conn: &mut DbConnection,
    course: CourseId,
    page: Pagination,
) -> QueryResult<Listed<AssignmentRow>> {
    let rows = assignments::table
        .filter(assignments::course_id.eq(course))
        .order((assignments::due_at.asc(), assignments::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(AssignmentRow::as_select())
        .load(conn)?;
    let total = assignments::table.filter(assignments::course_id.eq(course)).count().get_result(conn)?;
    Ok((rows, total))
}

/// Every assignment of a course, in the same order (gradebook columns).
pub(crate) fn all_assignments_of(conn: &mut DbConnection, course: CourseId) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .filter(assignments::course_id.eq(course))
        .order((assignments::due_at.asc(), assignments::id.asc()))
        .select(AssignmentRow::as_select())
        .load(conn)
}

/// A student's own due date for an assignment, if they have one.
pub(crate) fn extension_of(
    conn: &mut DbConnection,
    assignment: AssignmentId,
    student: UserId,
) -> QueryResult<Option<PrimitiveDateTime>> {
    extensions::table.find((assignment, student)).select(extensions::due_at).first(conn).optional()
}

/// A student's extensions on any of these assignments.
pub(crate) fn extensions_of_student(
    conn: &mut DbConnection,
    student: UserId,
    ids: &[AssignmentId],
) -> QueryResult<HashMap<AssignmentId, PrimitiveDateTime>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    extensions::table
        .filter(extensions::student_id.eq(student))
        .filter(extensions::assignment_id.eq_any(ids))
        .select((extensions::assignment_id, extensions::due_at))
        .load::<(AssignmentId, PrimitiveDateTime)>(conn)
        .map(|rows| rows.into_iter().collect())
}

/// Every extension of an assignment, by student.
pub(crate) fn extensions_of_assignment(
    conn: &mut DbConnection,
    assignment: AssignmentId,
) -> QueryResult<HashMap<UserId, PrimitiveDateTime>> {
    extensions::table
        .filter(extensions::assignment_id.eq(assignment))
        .select((extensions::student_id, extensions::due_at))
        .load::<(UserId, PrimitiveDateTime)>(conn)
        .map(|rows| rows.into_iter().collect())
}

/// Every extension on the course's assignments.
pub(crate) fn extensions_of_course(
    conn: &mut DbConnection,
    course: CourseId,
) -> QueryResult<HashMap<(AssignmentId, UserId), PrimitiveDateTime>> {
    extensions::table
        .inner_join(assignments::table)
        .filter(assignments::course_id.eq(course))
        .select((extensions::assignment_id, extensions::student_id, extensions::due_at))
        .load::<(AssignmentId, UserId, PrimitiveDateTime)>(conn)
        .map(|rows| rows.into_iter().map(|(a, s, due)| ((a, s), due)).collect())
}

/// A page of an assignment's extensions, by student name.
pub(crate) fn extensions_page(
    conn: &mut DbConnection,
    assignment: AssignmentId,
    page: Pagination,
) -> QueryResult<Listed<(PersonRef, PrimitiveDateTime)>> {
    let rows: Vec<(UserId, String, PrimitiveDateTime)> = extensions::table
        .inner_join(users::table)
        .filter(extensions::assignment_id.eq(assignment))
        .order((users::display_name.asc(), users::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select((users::id, users::display_name, extensions::due_at))
        .load(conn)?;
    let total = extensions::table.filter(extensions::assignment_id.eq(assignment)).count().get_result(conn)?;
    Ok((rows.into_iter().map(|(id, display_name, due)| (PersonRef { id, display_name }, due)).collect(), total))
}

/// Sets a student's due date (a second one replaces the first).
pub(crate) fn put_extension(
    conn: &mut DbConnection,
    assignment: AssignmentId,
    student: UserId,
    due: PrimitiveDateTime,
    by: UserId,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    let replaced = diesel::update(extensions::table.find((assignment, student)))
        .set((extensions::due_at.eq(due), extensions::granted_by.eq(by), extensions::granted_at.eq(now)))
        .execute(conn)?;
    if replaced == 0 {
        diesel::insert_into(extensions::table)
            .values((
                extensions::assignment_id.eq(assignment),
                extensions::student_id.eq(student),
                extensions::due_at.eq(due),
                extensions::granted_by.eq(by),
                extensions::granted_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn delete_extension(
    conn: &mut DbConnection,
    assignment: AssignmentId,
    student: UserId,
) -> QueryResult<bool> {
    diesel::delete(extensions::table.find((assignment, student))).execute(conn).map(|n| n > 0)
}

/// Whether `student` is enrolled in `course` (extensions are for enrolled students).
pub(crate) fn is_enrolled(conn: &mut DbConnection, course: CourseId, student: UserId) -> QueryResult<bool> {
    diesel::select(exists(
        enrollments::table.filter(enrollments::course_id.eq(course)).filter(enrollments::student_id.eq(student)),
    ))
    .get_result(conn)
}

pub(crate) fn release_grades(conn: &mut DbConnection, id: AssignmentId) -> QueryResult<()> {
    diesel::update(assignments::table.find(id)).set(assignments::grades_released.eq(true)).execute(conn).map(drop)
}

// ---- submissions ---------------------------------------------------------------------------

/// Numbers the student's next attempt at the assignment, in one statement that also queues
/// every other writer of their attempts at it until this transaction ends: an upsert of their
/// row in `attempt_counts` (PostgreSQL locks the row; SQLite's `BEGIN IMMEDIATE` already lets one
/// writer in at a time). The lock is held across the insert and the commit only, not across
/// the reads that come before. Without a row yet (the first attempt, or attempts stored by
/// something that does not count, like the seeders) the count starts from the attempts stored.
pub(crate) fn next_attempt(conn: &mut DbConnection, assignment: AssignmentId, student: UserId) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Made {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        made: i32,
    }
    let (assignment, student) = (assignment.to_string(), student.to_string());
    let statement = Statement::new(
        "INSERT INTO attempt_counts (assignment_id, student_id, made) \
         SELECT ?, ?, COALESCE(MAX(attempt), 0) + 1 FROM submissions WHERE assignment_id = ? AND student_id = ? \
         ON CONFLICT (assignment_id, student_id) DO UPDATE SET made = attempt_counts.made + 1 \
         RETURNING made",
        vec![Bind::Text(assignment.clone()), Bind::Text(student.clone()), Bind::Text(assignment), Bind::Text(student)],
    );
    // An upsert always returns its one row.
    statement.rows::<Made>(conn)?.pop().map(|m| m.made).ok_or(diesel::result::Error::NotFound)
}

pub(crate) fn insert_submission(conn: &mut DbConnection, row: &SubmissionRow) -> QueryResult<()> {
    diesel::insert_into(submissions::table).values(row).execute(conn).map(drop)
}

/// A page of one student's attempts at an assignment, newest first.
pub(crate) fn own_attempts(
    conn: &mut DbConnection,
    assignment: AssignmentId,
    student: UserId,
    page: Pagination,
) -> QueryResult<Listed<Graded>> {
    let rows = submissions::table
        .left_join(grades::table)
        .filter(submissions::assignment_id.eq(assignment))
        .filter(submissions::student_id.eq(student))
        .order(submissions::attempt.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select((SubmissionMeta::as_select(), Option::<GradeRow>::as_select()))
        .load(conn)?;
    let total = submissions::table
        .filter(submissions::assignment_id.eq(assignment))
        .filter(submissions::student_id.eq(student))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// A page of every student's latest attempt at an assignment, by student name then id.
pub(crate) fn latest_attempts(
    conn: &mut DbConnection,
    assignment: AssignmentId,
    page: Pagination,
) -> QueryResult<Listed<LatestAttempt>> {
    let later = later_attempts
        .filter(later_attempts.field(submissions::assignment_id).eq(submissions::assignment_id))
        .filter(later_attempts.field(submissions::student_id).eq(submissions::student_id))
        .filter(later_attempts.field(submissions::attempt).gt(submissions::attempt));
    let rows = submissions::table
        .inner_join(users::table)
        .left_join(grades::table)
        .filter(submissions::assignment_id.eq(assignment))
        .filter(not(exists(later)))
        .order((users::display_name.asc(), users::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select((SubmissionMeta::as_select(), users::display_name, Option::<GradeRow>::as_select()))
        .load(conn)?;
    // One latest attempt per student who submitted.
    let total = submissions::table
        .filter(submissions::assignment_id.eq(assignment))
        .select(diesel::dsl::count(submissions::student_id).aggregate_distinct())
        .first(conn)?;
    Ok((rows, total))
}

/// Every student's latest attempt at an assignment, by student name then id, without bodies.
pub(crate) fn all_latest_attempts(
    conn: &mut DbConnection,
    assignment: AssignmentId,
) -> QueryResult<Vec<(SubmissionMeta, String)>> {
    let later = later_attempts
        .filter(later_attempts.field(submissions::assignment_id).eq(submissions::assignment_id))
        .filter(later_attempts.field(submissions::student_id).eq(submissions::student_id))
        .filter(later_attempts.field(submissions::attempt).gt(submissions::attempt));
    submissions::table
        .inner_join(users::table)
        .filter(submissions::assignment_id.eq(assignment))
        .filter(not(exists(later)))
        .order((users::display_name.asc(), users::id.asc()))
        .select((SubmissionMeta::as_select(), users::display_name))
        .load(conn)
}

/// A submission's text.
pub(crate) fn body_of(conn: &mut DbConnection, id: SubmissionId) -> QueryResult<Option<String>> {
    submissions::table.find(id).select(submissions::body).first(conn).optional()
}

/// For every assignment of a course: each student's latest attempt and its score, if graded.
pub(crate) fn latest_scores_of_course(conn: &mut DbConnection, course: CourseId) -> QueryResult<Vec<LatestScore>> {
    let later = later_attempts
        .filter(later_attempts.field(submissions::assignment_id).eq(submissions::assignment_id))
        .filter(later_attempts.field(submissions::student_id).eq(submissions::student_id))
        .filter(later_attempts.field(submissions::attempt).gt(submissions::attempt));
    submissions::table
        .inner_join(assignments::table)
        .left_join(grades::table)
        .filter(assignments::course_id.eq(course))
        .filter(not(exists(later)))
        .select((
            submissions::assignment_id,
            submissions::student_id,
            submissions::id,
            grades::score_hundredths.nullable(),
            submissions::submitted_at,
        ))
        .load(conn)
}

// ---- files ---------------------------------------------------------------------------------

/// Stores a file's bytes unless a blob with this SHA-256 is there already (then nothing is sent
/// to the database but the lookup). `true` when this call stored them.
pub(crate) fn store_blob(
    conn: &mut DbConnection,
    sha256: &str,
    content: &[u8],
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let known: bool = diesel::select(exists(file_blobs::table.find(sha256))).get_result(conn)?;
    if known {
        return Ok(false);
    }
    let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
    let row = (
        file_blobs::sha256.eq(sha256),
        file_blobs::size.eq(size),
        file_blobs::content.eq(content),
        file_blobs::created_at.eq(now),
    );
    // Another submission may store the same bytes at the same moment: its row is as good as ours.
    let inserted = match conn {
        DbConnection::Postgresql(pg) => {
            diesel::insert_into(file_blobs::table).values(row).on_conflict_do_nothing().execute(pg)?
        }
        DbConnection::Sqlite(lite) => diesel::insert_or_ignore_into(file_blobs::table).values(row).execute(lite)?,
    };
    Ok(inserted > 0)
}

pub(crate) fn insert_files(conn: &mut DbConnection, rows: &[FileRow]) -> QueryResult<()> {
    // One statement each: a multi-row insert does not build for the two-backend connection.
    for row in rows {
        diesel::insert_into(submission_files::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The files of these submissions, each list in the order they were sent.
pub(crate) fn files_of(
    conn: &mut DbConnection,
    ids: &[SubmissionId],
) -> QueryResult<HashMap<SubmissionId, Vec<FileRow>>> {
    let mut map: HashMap<SubmissionId, Vec<FileRow>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows: Vec<FileRow> = submission_files::table
        .filter(submission_files::submission_id.eq_any(ids))
        .order((submission_files::submission_id.asc(), submission_files::position.asc()))
        .select(FileRow::as_select())
        .load(conn)?;
    for row in rows {
        map.entry(row.submission_id).or_default().push(row);
    }
    Ok(map)
}

/// One file of a submission.
pub(crate) fn file_of(conn: &mut DbConnection, submission: SubmissionId, file: FileId) -> QueryResult<Option<FileRow>> {
    submission_files::table
        .filter(submission_files::id.eq(file))
        .filter(submission_files::submission_id.eq(submission))
        .select(FileRow::as_select())
        .first(conn)
        .optional()
}

/// The bytes stored under a SHA-256.
pub(crate) fn blob(conn: &mut DbConnection, sha256: &str) -> QueryResult<Option<Vec<u8>>> {
    file_blobs::table.find(sha256).select(file_blobs::content).first(conn).optional()
}

// ---- grades --------------------------------------------------------------------------------

pub(crate) fn grade_of(conn: &mut DbConnection, submission: SubmissionId) -> QueryResult<Option<GradeRow>> {
    grades::table.find(submission).select(GradeRow::as_select()).first(conn).optional()
}

/// Writes the current grade of a submission: an insert for the first grade, an update after.
pub(crate) fn write_grade(conn: &mut DbConnection, row: &GradeRow, first: bool) -> QueryResult<()> {
    if first {
        diesel::insert_into(grades::table).values(row).execute(conn).map(drop)
    } else {
        diesel::update(grades::table.find(row.submission_id))
            .set((
                grades::score_hundredths.eq(row.score_hundredths),
                grades::feedback.eq(&row.feedback),
                grades::graded_by.eq(row.graded_by),
                grades::graded_at.eq(row.graded_at),
                grades::revision.eq(row.revision),
            ))
            .execute(conn)
            .map(drop)
    }
}

pub(crate) fn insert_history(conn: &mut DbConnection, row: &HistoryRow) -> QueryResult<()> {
    diesel::insert_into(grade_history::table).values(row).execute(conn).map(drop)
}

/// A page of a submission's grade history, newest first.
pub(crate) fn history_of(
    conn: &mut DbConnection,
    submission: SubmissionId,
    page: Pagination,
) -> QueryResult<Listed<HistoryRow>> {
    let rows = grade_history::table
        .filter(grade_history::submission_id.eq(submission))
        .order(grade_history::revision.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select(HistoryRow::as_select())
        .load(conn)?;
    let total = grade_history::table.filter(grade_history::submission_id.eq(submission)).count().get_result(conn)?;
    Ok((rows, total))
}

/// One of a student's released grades, with what it is for.
#[derive(Clone, Debug)]
pub struct ReleasedGrade {
    pub course_id: CourseId,
    pub course_title: String,
    pub assignment: AssignmentRow,
    pub submission_id: SubmissionId,
    pub attempt: i32,
    pub submitted_at: PrimitiveDateTime,
    pub grade: GradeRow,
}

/// How a list of released grades is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradeOrder {
    /// By course title, then the assignments' order, then the newest attempt first ("my grades").
    ByCourse,
    /// The most recently graded first (a student's home).
    Recent,
}

/// A page of a student's grades on released assignments, in `order`; each with the student's
/// extension of its assignment (for the late penalty), read in the same statement.
pub(crate) fn released_grades_of(
    conn: &mut DbConnection,
    student: UserId,
    page: Pagination,
    order: GradeOrder,
) -> QueryResult<Listed<(ReleasedGrade, Option<PrimitiveDateTime>)>> {
    let base = || {
        submissions::table
            .inner_join(grades::table)
            .inner_join(assignments::table.inner_join(courses::table))
            .filter(submissions::student_id.eq(student))
            // The column itself, not `= $n` with `true` bound: with a constant in the text
            // PostgreSQL finds its generic plan as good as a custom one and stops planning this
            // statement on every call (0.75 ms a time; tests/api/grading.rs).
            .filter(assignments::grades_released)
    };
    type Line =
        (CourseId, String, AssignmentRow, SubmissionId, i32, PrimitiveDateTime, GradeRow, Option<PrimitiveDateTime>);
    let with_extension = || {
        base().left_join(
            extensions::table.on(extensions::assignment_id
                .eq(submissions::assignment_id)
                .and(extensions::student_id.eq(submissions::student_id))),
        )
    };
    let ordered = match order {
        GradeOrder::ByCourse => with_extension()
            .order((
                courses::title.asc(),
                courses::id.asc(),
                assignments::due_at.asc(),
                assignments::id.asc(),
                submissions::attempt.desc(),
            ))
            .into_boxed::<MultiBackend>(),
        GradeOrder::Recent => {
            with_extension().order((grades::graded_at.desc(), submissions::id.asc())).into_boxed::<MultiBackend>()
        }
    };
    let rows: Vec<Line> = ordered
        .limit(page.limit())
        .offset(page.offset())
        .select((
            courses::id,
            courses::title,
            AssignmentRow::as_select(),
            submissions::id,
            submissions::attempt,
            submissions::submitted_at,
            GradeRow::as_select(),
            extensions::due_at.nullable(),
        ))
        .load(conn)?;
    let total = match page.total_if_last(rows.len()) {
        Some(total) => total,
        None => base().count().get_result(conn)?,
    };
    let items = rows
        .into_iter()
        .map(|(course_id, course_title, assignment, submission_id, attempt, submitted_at, grade, extension)| {
            let grade =
                ReleasedGrade { course_id, course_title, assignment, submission_id, attempt, submitted_at, grade };
            (grade, extension)
        })
        .collect();
    Ok((items, total))
}

// ---- homes ---------------------------------------------------------------------------------

/// A latest attempt that has no grade yet, as a grading queue shows it.
#[derive(Queryable, Clone, Debug)]
pub struct Awaiting {
    pub submission_id: SubmissionId,
    pub attempt: i32,
    pub submitted_at: PrimitiveDateTime,
    pub late: bool,
    pub assignment_id: AssignmentId,
    pub assignment_title: String,
    pub course_id: CourseId,
    pub course_title: String,
    pub student_name: String,
}

/// The filter of a grading queue: latest attempts with no grade, at assignments of the courses
/// `staff` is staff of (any role: `course_service::access::staff_courses`).
macro_rules! queue_base {
    ($staff:expr) => {{
        let later = later_attempts
            .filter(later_attempts.field(submissions::assignment_id).eq(submissions::assignment_id))
            .filter(later_attempts.field(submissions::student_id).eq(submissions::student_id))
            .filter(later_attempts.field(submissions::attempt).gt(submissions::attempt));
        submissions::table
            .inner_join(users::table)
            .inner_join(assignments::table.inner_join(courses::table))
            .left_join(grades::table)
            .filter(assignments::course_id.eq_any(staff_courses($staff)))
            .filter(not(exists(later)))
            .filter(grades::submission_id.nullable().is_null())
    }};
}

/// The grading queue of a staff member: each student's latest attempt at each assignment of
/// their courses that has no grade, oldest first (then by id, so the order is total), at most
/// `limit` of them, and how many there are in all.
pub(crate) fn awaiting_grading(conn: &mut DbConnection, staff: UserId, limit: i64) -> QueryResult<Listed<Awaiting>> {
    let rows = queue_base!(staff)
        .order((submissions::submitted_at.asc(), submissions::id.asc()))
        .limit(limit)
        .select((
            submissions::id,
            submissions::attempt,
            submissions::submitted_at,
            submissions::late,
            assignments::id,
            assignments::title,
            courses::id,
            courses::title,
            users::display_name,
        ))
        .load::<Awaiting>(conn)?;
    let total = queue_base!(staff).count().get_result(conn)?;
    Ok((rows, total))
}

/// The attempts before and after `current` in its assignment's grading queue (same order as
/// [`awaiting_grading`]), `current` itself left out: the previous one, and the next one, or
/// when nothing comes after it, the first (so "next" goes back to attempts passed over).
pub(crate) fn queue_neighbours(
    conn: &mut DbConnection,
    staff: UserId,
    assignment: AssignmentId,
    current: SubmissionId,
    submitted_at: PrimitiveDateTime,
) -> QueryResult<(Option<SubmissionId>, Option<SubmissionId>)> {
    let after = submissions::submitted_at
        .gt(submitted_at)
        .or(submissions::submitted_at.eq(submitted_at).and(submissions::id.gt(current)));
    let before = submissions::submitted_at
        .lt(submitted_at)
        .or(submissions::submitted_at.eq(submitted_at).and(submissions::id.lt(current)));
    // The first attempt of the assignment's queue that passes `filter`, in `order`.
    macro_rules! first_in_queue {
        ($filter:expr, $order:expr) => {
            queue_base!(staff)
                .filter(submissions::assignment_id.eq(assignment))
                .filter($filter)
                .order($order)
                .select(submissions::id)
                .first::<SubmissionId>(conn)
                .optional()
        };
    }
    let forwards = (submissions::submitted_at.asc(), submissions::id.asc());
    let previous = first_in_queue!(before, (submissions::submitted_at.desc(), submissions::id.desc()))?;
    let next = match first_in_queue!(after, forwards)? {
        Some(id) => Some(id),
        None => first_in_queue!(submissions::id.ne(current), forwards)?,
    };
    Ok((previous, next))
}

/// An assignment a student may have to hand in, with its course's title and the student's own
/// due date if they have one.
pub type DueRow = (AssignmentRow, String, Option<PrimitiveDateTime>);

/// The assignments of the courses `student` is enrolled in whose due date (the assignment's, or
/// the student's extension) is `from` or later, by the assignment's due date. The caller narrows
/// to the effective due date it wants; one query.
pub(crate) fn due_from(conn: &mut DbConnection, student: UserId, from: PrimitiveDateTime) -> QueryResult<Vec<DueRow>> {
    let enrolled = enrollments::table.filter(enrollments::student_id.eq(student)).select(enrollments::course_id);
    assignments::table
        .inner_join(courses::table)
        .left_join(
            extensions::table.on(extensions::assignment_id.eq(assignments::id).and(extensions::student_id.eq(student))),
        )
        .filter(assignments::course_id.eq_any(enrolled))
        .filter(assignments::due_at.ge(from).or(extensions::due_at.nullable().ge(from)))
        .order((assignments::due_at.asc(), assignments::id.asc()))
        .select((AssignmentRow::as_select(), courses::title, extensions::due_at.nullable()))
        .load(conn)
}

/// A student's latest attempt at each of these assignments, with its grade if it has one.
pub(crate) fn latest_own_attempts(
    conn: &mut DbConnection,
    student: UserId,
    ids: &[AssignmentId],
) -> QueryResult<HashMap<AssignmentId, Graded>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let later = later_attempts
        .filter(later_attempts.field(submissions::assignment_id).eq(submissions::assignment_id))
        .filter(later_attempts.field(submissions::student_id).eq(submissions::student_id))
        .filter(later_attempts.field(submissions::attempt).gt(submissions::attempt));
    submissions::table
        .left_join(grades::table)
        .filter(submissions::student_id.eq(student))
        .filter(submissions::assignment_id.eq_any(ids))
        .filter(not(exists(later)))
        .select((SubmissionMeta::as_select(), Option::<GradeRow>::as_select()))
        .load::<Graded>(conn)
        .map(|rows| rows.into_iter().map(|(s, g)| (s.assignment_id, (s, g))).collect())
}

/// Display names of these users.
pub(crate) fn names_of(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<HashMap<UserId, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(UserId, String)>(conn)
        .map(|rows| rows.into_iter().collect())
}

// ---- idempotency keys ----------------------------------------------------------------------

pub(crate) fn find_idempotent(conn: &mut DbConnection, user: UserId, key: &str) -> QueryResult<Option<IdempotencyRow>> {
    idempotency_keys::table.find((user, key)).select(IdempotencyRow::as_select()).first(conn).optional()
}

pub(crate) fn insert_idempotent(conn: &mut DbConnection, row: &IdempotencyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(row).execute(conn).map(drop)
}

/// Forgets this user's keys made before `before` (they are kept at least 24 hours).
pub(crate) fn purge_idempotent(conn: &mut DbConnection, user: UserId, before: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(user))
            .filter(idempotency_keys::created_at.lt(before)),
    )
    .execute(conn)
}
