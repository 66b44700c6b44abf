//! What grading-service does, independent of JSON or HTML. Each function makes one database
//! hand-off that checks access (through `access.rs`) and then does the work; `api.rs` and
//! `pages.rs` are thin shells over these functions.
//!
//! Input is parsed before the hand-off but its errors surface only after the access check, so
//! a caller who may not act on an object learns nothing from a 422.

use crate::access::{SubmissionAccess, assignment_for, find_submission_for};
use crate::domain::{
    AssignmentTitle, DueAt, Feedback, IdempotencyKey, Instructions, MaxPoints, Points, Score, SubmissionBody,
    parse_max_attempts, sha256_hex,
};
use crate::error::GradingError;
use crate::gradebook::Gradebook;
use crate::store::{self, AssignmentRow, GradeRow, HistoryRow, IdempotencyRow, SubmissionRow};
use course_service::CourseAccess;
use course_service::access::course_access;
use course_service::store::{CourseRow, PersonRef};
use lectern_common::db::{Db, DbConnection, rfc3339, to_db_time, write_tx};
use lectern_common::ids::{AssignmentId, CourseId, GradeId, SubmissionId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, DbError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use token_claims::Clock;
use utoipa::ToSchema;

/// How long an `Idempotency-Key` and its reply are kept, at least.
pub const IDEMPOTENCY_RETENTION: time::Duration = time::Duration::hours(24);

/// How many times a write that still lost a race on a unique constraint is tried again. Writers
/// of one student's attempts, or of one submission's grade, queue on a row lock first
/// (`store::lock_enrollment`, `store::lock_submission`), so this is a safety net.
const WRITE_RETRIES: usize = 3;

pub struct GradingState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// Test hook (see [`GradingState::fail_next_grade_after_write`]); never set in production.
    fail_after_grade_write: Arc<AtomicBool>,
}

impl std::fmt::Debug for GradingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradingState").finish_non_exhaustive()
    }
}

// ---- replies -------------------------------------------------------------------------------

/// An assignment as lists show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: AssignmentId,
    pub course_id: CourseId,
    pub title: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub max_points: Points,
    /// Null: unlimited.
    pub max_attempts: Option<i32>,
    pub grades_released: bool,
}

impl From<&AssignmentRow> for AssignmentView {
    fn from(a: &AssignmentRow) -> Self {
        Self {
            id: a.id,
            course_id: a.course_id,
            title: a.title.clone(),
            due_at: rfc3339(a.due_at),
            max_points: Points::from_hundredths(a.max_points_hundredths),
            max_attempts: a.max_attempts,
            grades_released: a.grades_released,
        }
    }
}

/// One assignment, with its instructions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentDetail {
    #[serde(flatten)]
    pub summary: AssignmentView,
    pub instructions: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&AssignmentRow> for AssignmentDetail {
    fn from(a: &AssignmentRow) -> Self {
        Self { summary: a.into(), instructions: a.instructions.clone(), created_at: rfc3339(a.created_at) }
    }
}

/// The reply to a submission: what the student keeps as proof of what they handed in.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Receipt {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    /// 1 for the first attempt.
    pub attempt: i32,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// Submitted after `due_at`.
    pub late: bool,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GradeView {
    pub score: Points,
    pub feedback: String,
    pub graded_by: PersonRef,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

/// A submission in a list (without its body).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubmissionItem {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student: PersonRef,
    pub attempt: i32,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    pub late: bool,
    pub body_sha256: String,
    /// Null when not graded, or for a student until grades are released.
    pub grade: Option<GradeView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubmissionDetail {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student: PersonRef,
    pub attempt: i32,
    pub body: String,
    pub body_sha256: String,
    #[schema(format = DateTime)]
    pub submitted_at: String,
    pub late: bool,
    /// Null when not graded, or for a student until grades are released.
    pub grade: Option<GradeView>,
}

/// One grade ever given to a submission.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryItem {
    pub id: GradeId,
    pub score: Points,
    pub previous_score: Option<Points>,
    pub feedback: String,
    pub graded_by: PersonRef,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CourseRef {
    pub id: CourseId,
    pub title: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AssignmentRef {
    pub id: AssignmentId,
    pub title: String,
    pub max_points: Points,
}

/// One of a student's released grades.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MyGrade {
    pub course: CourseRef,
    pub assignment: AssignmentRef,
    pub submission_id: SubmissionId,
    pub attempt: i32,
    pub score: Points,
    pub feedback: String,
    #[schema(format = DateTime)]
    pub graded_at: String,
}

/// A course's assignments as one caller may see them.
pub struct CourseAssignments {
    pub course: CourseRow,
    pub access: CourseAccess,
    pub page: Paginated<AssignmentView>,
}

/// An assignment's submissions as one caller may see them: every student's latest attempt for
/// a teacher, one's own attempts for a student.
pub struct AssignmentSubmissions {
    pub assignment: AssignmentRow,
    pub course: CourseRow,
    pub access: CourseAccess,
    pub page: Paginated<SubmissionItem>,
}

/// A submission as one caller may see it, with its history for a teacher.
pub struct SubmissionView {
    pub detail: SubmissionDetail,
    pub assignment: AssignmentRow,
    pub access: SubmissionAccess,
    pub history: Vec<HistoryItem>,
}

/// What a submission request answered: a new attempt, or the stored first reply to the same
/// `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct SubmitReply {
    pub status: u16,
    /// The JSON of the reply, exactly as first sent.
    pub body: String,
    pub replayed: bool,
}

impl SubmitReply {
    pub fn receipt(&self) -> Result<Receipt, GradingError> {
        serde_json::from_str(&self.body).map_err(|e| GradingError::Unexpected(format!("stored receipt: {e}")))
    }
}

/// A new assignment's fields, parsed.
#[derive(Clone, Debug)]
pub struct NewAssignment {
    pub title: AssignmentTitle,
    pub instructions: Instructions,
    pub due_at: DueAt,
    pub max_points: MaxPoints,
    pub max_attempts: Option<i32>,
}

/// `POST .../assignments` as sent; numbers stay JSON values so errors can name their field.
#[derive(Clone, Debug, serde::Deserialize, ToSchema)]
#[schema(description = "A new assignment.")]
pub struct AssignmentInput {
    pub title: String,
    #[serde(default)]
    pub instructions: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub due_at: String,
    /// More than 0, at most 100000, at most two decimals.
    #[schema(value_type = f64)]
    pub max_points: serde_json::Value,
    /// A positive whole number; null or left out: unlimited.
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub max_attempts: Option<serde_json::Value>,
}

impl TryFrom<AssignmentInput> for NewAssignment {
    type Error = GradingError;
    fn try_from(b: AssignmentInput) -> Result<Self, GradingError> {
        Ok(Self {
            title: AssignmentTitle::parse(&b.title)?,
            instructions: Instructions::parse(&b.instructions)?,
            due_at: DueAt::parse(&b.due_at)?,
            max_points: MaxPoints::from_json(&b.max_points)?,
            max_attempts: parse_max_attempts(b.max_attempts.as_ref())?,
        })
    }
}

/// A score as it came: a JSON value from the API, text from a page form.
#[derive(Clone, Debug)]
pub enum ScoreInput {
    Json(serde_json::Value),
    Text(String),
}

impl ScoreInput {
    fn parse(&self, max: MaxPoints) -> Result<Score, GradingError> {
        match self {
            Self::Json(v) => Score::from_json(v, max),
            Self::Text(t) => Score::parse(t, max),
        }
    }
}

// ---- helpers -------------------------------------------------------------------------------

fn is_unique_violation(e: &GradingError) -> bool {
    matches!(
        e,
        GradingError::Db(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        )))
    )
}

/// A read-write transaction, tried again when it lost a race on a unique constraint.
fn write_retrying<T>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, GradingError>,
) -> Result<T, GradingError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match write_tx(conn, &mut work) {
            Err(e) if tries < WRITE_RETRIES && is_unique_violation(&e) => continue,
            other => return other,
        }
    }
}

/// Parsed input again, for a transaction that may be retried (input errors are only ever 422s).
fn again<T: Clone>(input: &Result<T, GradingError>) -> Result<T, GradingError> {
    match input {
        Ok(value) => Ok(value.clone()),
        Err(GradingError::Invalid { field, message }) => Err(GradingError::Invalid { field, message: message.clone() }),
        Err(other) => Err(GradingError::Unexpected(other.to_string())),
    }
}

fn person(names: &HashMap<UserId, String>, id: UserId) -> PersonRef {
    PersonRef { id, display_name: names.get(&id).cloned().unwrap_or_default() }
}

fn grade_view(g: &GradeRow, names: &HashMap<UserId, String>) -> GradeView {
    GradeView {
        score: Points::from_hundredths(g.score_hundredths),
        feedback: g.feedback.clone(),
        graded_by: person(names, g.graded_by),
        graded_at: rfc3339(g.graded_at),
    }
}

fn history_item(h: &HistoryRow, names: &HashMap<UserId, String>) -> HistoryItem {
    HistoryItem {
        id: h.id,
        score: Points::from_hundredths(h.new_score_hundredths),
        previous_score: h.old_score_hundredths.map(Points::from_hundredths),
        feedback: h.feedback.clone(),
        graded_by: person(names, h.graded_by),
        graded_at: rfc3339(h.graded_at),
    }
}

/// Students see grades only once the teacher released the assignment; teachers always do.
fn grade_visible(access: SubmissionAccess, assignment: &AssignmentRow) -> bool {
    match access {
        SubmissionAccess::Teacher => true,
        SubmissionAccess::Owner => assignment.grades_released,
    }
}

/// What an `Idempotency-Key` is bound to: the assignment and the exact body.
fn fingerprint(assignment: AssignmentId, body: &SubmissionBody) -> String {
    sha256_hex(format!("POST submissions\n{assignment}\n{}", body.sha256_hex()).as_bytes())
}

impl GradingState {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, fail_after_grade_write: Arc::new(AtomicBool::new(false)) }
    }

    /// Test hook: the next grade write of *this* state fails after the grade row is written and
    /// before its history row is, as a crash there would. Nothing in the application calls it;
    /// the test harness builds its own `GradingState` over the test database to use it.
    pub fn fail_next_grade_after_write(&self) {
        self.fail_after_grade_write.store(true, Ordering::SeqCst);
    }

    fn now(&self) -> time::PrimitiveDateTime {
        to_db_time(self.clock.now().truncate_to_microsecond())
    }

    pub async fn list_assignments(
        &self,
        user: AuthUser,
        course: CourseId,
        page: Pagination,
    ) -> Result<CourseAssignments, GradingError> {
        self.db
            .run(move |conn| {
                let (course, access) = course_access(conn, course, &user)?;
                access.require_member()?;
                let (rows, total) = store::assignments_of(conn, course.id, page)?;
                let items = rows.iter().map(AssignmentView::from).collect();
                Ok(CourseAssignments { course, access, page: Paginated::new(items, page, total) })
            })
            .await
    }

    pub async fn create_assignment(
        &self,
        teacher: AuthUser,
        course: CourseId,
        input: Result<NewAssignment, GradingError>,
    ) -> Result<AssignmentDetail, GradingError> {
        let now = self.now();
        self.db
            .run(move |conn| {
                let (course, access) = course_access(conn, course, &teacher)?;
                access.require_teacher()?;
                let new = input?;
                let row = AssignmentRow {
                    id: AssignmentId::new(),
                    course_id: course.id,
                    title: new.title.into_inner(),
                    instructions: new.instructions.into_inner(),
                    due_at: new.due_at.get(),
                    max_points_hundredths: new.max_points.points().hundredths(),
                    max_attempts: new.max_attempts,
                    grades_released: false,
                    created_by: teacher.id,
                    created_at: now,
                };
                store::insert_assignment(conn, &row)?;
                Ok(AssignmentDetail::from(&row))
            })
            .await
    }

    /// An assignment for its course's teachers and enrolled students.
    pub async fn assignment(
        &self,
        user: AuthUser,
        id: AssignmentId,
    ) -> Result<(AssignmentRow, CourseRow, CourseAccess), GradingError> {
        self.db
            .run(move |conn| {
                let found = assignment_for(conn, id, &user)?;
                found.2.require_member()?;
                Ok(found)
            })
            .await
    }

    /// From now on the assignment's students see their grades and feedback. Releasing twice is
    /// harmless.
    pub async fn release(&self, teacher: AuthUser, id: AssignmentId) -> Result<AssignmentDetail, GradingError> {
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (mut assignment, _, access) = assignment_for(conn, id, &teacher)?;
                    access.require_teacher()?;
                    store::release_grades(conn, id)?;
                    assignment.grades_released = true;
                    Ok(AssignmentDetail::from(&assignment))
                })
            })
            .await
    }

    /// A new attempt, or, for an `Idempotency-Key` this student used before with the same
    /// request, the first reply again.
    pub async fn submit(
        &self,
        student: AuthUser,
        id: AssignmentId,
        body: Result<SubmissionBody, GradingError>,
        key: Option<Result<IdempotencyKey, GradingError>>,
    ) -> Result<SubmitReply, GradingError> {
        let now = self.now();
        let kept_since = to_db_time(self.clock.now() - IDEMPOTENCY_RETENTION);
        self.db
            .run(move |conn| {
                write_retrying(conn, |conn| {
                    let (assignment, _, access) = assignment_for(conn, id, &student)?;
                    access.require_enrolled()?;
                    store::lock_enrollment(conn, assignment.course_id, student.id)?;
                    let body = again(&body)?;
                    let key = key.as_ref().map(again).transpose()?;
                    let fingerprint = fingerprint(id, &body);
                    if let Some(key) = &key {
                        store::purge_idempotent(conn, student.id, kept_since)?;
                        if let Some(first) = store::find_idempotent(conn, student.id, key.as_str())? {
                            if first.request_fingerprint != fingerprint {
                                return Err(GradingError::KeyReused);
                            }
                            return Ok(SubmitReply {
                                status: u16::try_from(first.response_status).unwrap_or(200),
                                body: first.response_body,
                                replayed: true,
                            });
                        }
                    }
                    let made = store::attempts_made(conn, id, student.id)?;
                    if let Some(max) = assignment.max_attempts
                        && made >= max
                    {
                        return Err(GradingError::AttemptsUsedUp(max));
                    }
                    let row = SubmissionRow {
                        id: SubmissionId::new(),
                        assignment_id: id,
                        student_id: student.id,
                        attempt: made + 1,
                        body_sha256: body.sha256_hex(),
                        body: body.into_inner(),
                        submitted_at: now,
                        late: now > assignment.due_at,
                    };
                    store::insert_submission(conn, &row)?;
                    let receipt = Receipt {
                        id: row.id,
                        assignment_id: id,
                        attempt: row.attempt,
                        submitted_at: rfc3339(row.submitted_at),
                        late: row.late,
                        body_sha256: row.body_sha256.clone(),
                    };
                    let json = serde_json::to_string(&receipt).map_err(|e| GradingError::Unexpected(e.to_string()))?;
                    if let Some(key) = &key {
                        store::insert_idempotent(
                            conn,
                            &IdempotencyRow {
                                user_id: student.id,
                                idempotency_key: key.as_str().to_owned(),
                                request_fingerprint: fingerprint,
                                response_status: 201,
                                response_body: json.clone(),
                                created_at: now,
                            },
                        )?;
                    }
                    Ok(SubmitReply { status: 201, body: json, replayed: false })
                })
            })
            .await
    }

    /// Every student's latest attempt for a teacher of the course; one's own attempts (newest
    /// first, grades hidden until released) for an enrolled student.
    pub async fn submissions(
        &self,
        user: AuthUser,
        id: AssignmentId,
        page: Pagination,
    ) -> Result<AssignmentSubmissions, GradingError> {
        self.db
            .run(move |conn| {
                let (assignment, course, access) = assignment_for(conn, id, &user)?;
                access.require_member()?;
                let (rows, total, visible) = match access {
                    CourseAccess::Teacher => {
                        let (rows, total) = store::latest_attempts(conn, id, page)?;
                        let rows: Vec<_> = rows.into_iter().map(|(s, name, g)| (s, Some(name), g)).collect();
                        (rows, total, true)
                    }
                    CourseAccess::Enrolled | CourseAccess::Visible => {
                        let (rows, total) = store::own_attempts(conn, id, user.id, page)?;
                        let rows: Vec<_> = rows.into_iter().map(|(s, g)| (s, None, g)).collect();
                        (rows, total, assignment.grades_released)
                    }
                };
                // Graders of visible grades, and the student where the query did not name them.
                let mut people: Vec<UserId> = Vec::new();
                for (s, name, g) in &rows {
                    if name.is_none() {
                        people.push(s.student_id);
                    }
                    if let Some(g) = g.as_ref().filter(|_| visible) {
                        people.push(g.graded_by);
                    }
                }
                people.sort_unstable();
                people.dedup();
                let names = store::names_of(conn, &people)?;
                let items = rows
                    .into_iter()
                    .map(|(s, name, g)| SubmissionItem {
                        id: s.id,
                        assignment_id: s.assignment_id,
                        student: match name {
                            Some(display_name) => PersonRef { id: s.student_id, display_name },
                            None => person(&names, s.student_id),
                        },
                        attempt: s.attempt,
                        submitted_at: rfc3339(s.submitted_at),
                        late: s.late,
                        body_sha256: s.body_sha256,
                        grade: g.filter(|_| visible).map(|g| grade_view(&g, &names)),
                    })
                    .collect();
                Ok(AssignmentSubmissions { assignment, course, access, page: Paginated::new(items, page, total) })
            })
            .await
    }

    /// A submission for its student or a teacher of its course; with its grade history for a
    /// teacher when `with_history`.
    pub async fn submission(
        &self,
        user: AuthUser,
        id: SubmissionId,
        with_history: bool,
    ) -> Result<SubmissionView, GradingError> {
        self.db
            .run(move |conn| {
                let (s, assignment, access) = find_submission_for(conn, id, &user)?;
                let grade = if grade_visible(access, &assignment) { store::grade_of(conn, id)? } else { None };
                let history = if with_history && access == SubmissionAccess::Teacher {
                    store::history_of(conn, id, Pagination { page: 1, per_page: 100 })?.0
                } else {
                    Vec::new()
                };
                let mut people: Vec<UserId> = vec![s.student_id];
                people.extend(grade.iter().map(|g| g.graded_by));
                people.extend(history.iter().map(|h| h.graded_by));
                let names = store::names_of(conn, &people)?;
                let detail = SubmissionDetail {
                    id: s.id,
                    assignment_id: s.assignment_id,
                    student: person(&names, s.student_id),
                    attempt: s.attempt,
                    body: s.body,
                    body_sha256: s.body_sha256,
                    submitted_at: rfc3339(s.submitted_at),
                    late: s.late,
                    grade: grade.as_ref().map(|g| grade_view(g, &names)),
                };
                Ok(SubmissionView {
                    detail,
                    history: history.iter().map(|h| history_item(h, &names)).collect(),
                    assignment,
                    access,
                })
            })
            .await
    }

    /// Grades (or regrades) a submission: the grade and its history row in one transaction.
    pub async fn grade(
        &self,
        teacher: AuthUser,
        id: SubmissionId,
        score: ScoreInput,
        feedback: String,
    ) -> Result<GradeView, GradingError> {
        let now = self.now();
        let fail = Arc::clone(&self.fail_after_grade_write);
        self.db
            .run(move |conn| {
                write_retrying(conn, |conn| {
                    let (_, assignment, access) = find_submission_for(conn, id, &teacher)?;
                    access.require_teacher()?;
                    store::lock_submission(conn, id)?;
                    let max = MaxPoints::from_stored(assignment.max_points_hundredths);
                    let score = score.parse(max)?;
                    let feedback = Feedback::parse(&feedback)?.into_inner();
                    let previous = store::grade_of(conn, id)?;
                    let row = GradeRow {
                        submission_id: id,
                        score_hundredths: score.points().hundredths(),
                        feedback: feedback.clone(),
                        graded_by: teacher.id,
                        graded_at: now,
                        revision: previous.as_ref().map_or(1, |p| p.revision + 1),
                    };
                    store::write_grade(conn, &row, previous.is_none())?;
                    if fail.swap(false, Ordering::SeqCst) {
                        return Err(GradingError::Injected);
                    }
                    store::insert_history(
                        conn,
                        &HistoryRow {
                            id: GradeId::new(),
                            submission_id: id,
                            revision: row.revision,
                            old_score_hundredths: previous.map(|p| p.score_hundredths),
                            new_score_hundredths: row.score_hundredths,
                            feedback,
                            graded_by: teacher.id,
                            graded_at: now,
                        },
                    )?;
                    Ok(GradeView {
                        score: score.points(),
                        feedback: row.feedback,
                        graded_by: PersonRef { id: teacher.id, display_name: teacher.name.clone() },
                        graded_at: rfc3339(now),
                    })
                })
            })
            .await
    }

    /// Every grade ever given to a submission, newest first (teachers of its course).
    pub async fn history(
        &self,
        teacher: AuthUser,
        id: SubmissionId,
        page: Pagination,
    ) -> Result<Paginated<HistoryItem>, GradingError> {
        self.db
            .run(move |conn| {
                let (_, _, access) = find_submission_for(conn, id, &teacher)?;
                access.require_teacher()?;
                let (rows, total) = store::history_of(conn, id, page)?;
                let graders: Vec<UserId> = rows.iter().map(|h| h.graded_by).collect();
                let names = store::names_of(conn, &graders)?;
                let items = rows.iter().map(|h| history_item(h, &names)).collect();
                Ok(Paginated::new(items, page, total))
            })
            .await
    }

    /// A student's grades on released assignments.
    pub async fn my_grades(&self, student: AuthUser, page: Pagination) -> Result<Paginated<MyGrade>, GradingError> {
        self.db
            .run(move |conn| {
                let (rows, total) = store::released_grades_of(conn, student.id, page)?;
                let items = rows
                    .into_iter()
                    .map(|r| MyGrade {
                        course: CourseRef { id: r.course_id, title: r.course_title },
                        assignment: AssignmentRef {
                            id: r.assignment.id,
                            title: r.assignment.title,
                            max_points: Points::from_hundredths(r.assignment.max_points_hundredths),
                        },
                        submission_id: r.submission_id,
                        attempt: r.attempt,
                        score: Points::from_hundredths(r.grade.score_hundredths),
                        feedback: r.grade.feedback,
                        graded_at: rfc3339(r.grade.graded_at),
                    })
                    .collect();
                Ok(Paginated::new(items, page, total))
            })
            .await
    }

    /// Students x assignments with each student's latest attempt's score (teachers of the course).
    pub async fn gradebook(&self, teacher: AuthUser, course: CourseId) -> Result<Gradebook, GradingError> {
        self.db
            .run(move |conn| {
                let (course, access) = course_access(conn, course, &teacher)?;
                access.require_teacher()?;
                let assignments = store::all_assignments_of(conn, course.id)?;
                let students = course_service::store::all_students_of(conn, course.id)?;
                let cells = store::latest_scores_of_course(conn, course.id)?;
                Ok(Gradebook::build(&course, &assignments, students, &cells))
            })
            .await
    }
}
