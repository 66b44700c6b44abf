//! Submissions: enrolled students hand in immutable attempts (with `Idempotency-Key` replays);
//! staff see every student's latest attempt, students their own.

use super::{GradingState, Parsed, again, grade_view, history_item, person, write_retrying};
use crate::access::{Assignment, SubmissionAccess, assignment_for, submission_for};
use crate::domain::{IdempotencyKey, SubmissionBody, sha256_hex};
use crate::error::GradingError;
use crate::store::{self, IdempotencyRow, SubmissionRow};
use crate::views::{AssignmentSubmissions, Receipt, SubmissionDetail, SubmissionItem, SubmissionView, SubmitReply};
use course_service::access::{EnrolledIn, StaffOf, Standing};
use course_service::views::PersonRef;
use lectern_common::db::{DbConnection, rfc3339, to_db_time};
use lectern_common::ids::{AssignmentId, SubmissionId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, Student};
use time::PrimitiveDateTime;

/// How long an `Idempotency-Key` and its reply are kept, at least.
pub const IDEMPOTENCY_RETENTION: time::Duration = time::Duration::hours(24);

/// What an `Idempotency-Key` is bound to: the assignment and the exact body.
fn fingerprint(assignment: AssignmentId, body: &SubmissionBody) -> String {
    sha256_hex(format!("POST submissions\n{assignment}\n{}", body.sha256_hex()).as_bytes())
}

/// A new attempt by the enrolled student, or for an `Idempotency-Key` they used before with the
/// same request, the first reply again.
pub fn submit(
    conn: &mut DbConnection,
    assignment: &EnrolledIn<Assignment>,
    body: SubmissionBody,
    key: Option<IdempotencyKey>,
    now: PrimitiveDateTime,
    kept_since: PrimitiveDateTime,
) -> Result<SubmitReply, GradingError> {
    let (id, student) = (assignment.row.id, assignment.user());
    store::lock_enrollment(conn, assignment.course_id(), student)?;
    let fingerprint = fingerprint(id, &body);
    if let Some(key) = &key {
        store::purge_idempotent(conn, student, kept_since)?;
        if let Some(first) = store::find_idempotent(conn, student, key.as_str())? {
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
    let made = store::attempts_made(conn, id, student)?;
    if let Some(max) = assignment.row.max_attempts
        && made >= max
    {
        return Err(GradingError::AttemptsUsedUp(max));
    }
    let row = SubmissionRow {
        id: SubmissionId::new(),
        assignment_id: id,
        student_id: student,
        attempt: made + 1,
        body_sha256: body.sha256_hex(),
        body: body.into_inner(),
        submitted_at: now,
        late: now > assignment.row.due_at,
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
                user_id: student,
                idempotency_key: key.as_str().to_owned(),
                request_fingerprint: fingerprint,
                response_status: 201,
                response_body: json.clone(),
                created_at: now,
            },
        )?;
    }
    Ok(SubmitReply { status: 201, body: json, replayed: false })
}

/// Attempts with the student's name when the query had it, and their grades if visible.
type Listed = Vec<(crate::store::SubmissionMeta, Option<String>, Option<crate::store::GradeRow>)>;

fn items(conn: &mut DbConnection, rows: Listed, grades_visible: bool) -> Result<Vec<SubmissionItem>, GradingError> {
    // Graders of visible grades, and the student where the query did not name them.
    let mut people: Vec<UserId> = Vec::new();
    for (s, name, g) in &rows {
        if name.is_none() {
            people.push(s.student_id);
        }
        if let Some(g) = g.as_ref().filter(|_| grades_visible) {
            people.push(g.graded_by);
        }
    }
    people.sort_unstable();
    people.dedup();
    let names = store::names_of(conn, &people)?;
    Ok(rows
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
            grade: g.filter(|_| grades_visible).map(|g| grade_view(&g, &names)),
        })
        .collect())
}

/// Every student's latest attempt, with its grade (staff of the course).
pub fn latest(
    conn: &mut DbConnection,
    assignment: &StaffOf<Assignment>,
    page: Pagination,
) -> Result<Paginated<SubmissionItem>, GradingError> {
    let (rows, total) = store::latest_attempts(conn, assignment.row.id, page)?;
    let rows = rows.into_iter().map(|(s, name, g)| (s, Some(name), g)).collect();
    Ok(Paginated::new(items(conn, rows, true)?, page, total))
}

/// The student's own attempts, newest first, grades hidden until released.
pub fn own(
    conn: &mut DbConnection,
    assignment: &EnrolledIn<Assignment>,
    page: Pagination,
) -> Result<Paginated<SubmissionItem>, GradingError> {
    let (rows, total) = store::own_attempts(conn, assignment.row.id, assignment.user(), page)?;
    let rows = rows.into_iter().map(|(s, g)| (s, None, g)).collect();
    Ok(Paginated::new(items(conn, rows, assignment.row.grades_released)?, page, total))
}

impl GradingState {
    pub async fn submit(
        &self,
        student: &Student,
        id: AssignmentId,
        body: Parsed<SubmissionBody>,
        key: Option<Parsed<IdempotencyKey>>,
    ) -> Result<SubmitReply, GradingError> {
        let now = self.now();
        let kept_since = to_db_time(self.clock.now() - IDEMPOTENCY_RETENTION);
        let student = student.clone();
        self.db
            .run(move |conn| {
                write_retrying(conn, |conn| {
                    let (assignment, standing) = assignment_for(conn, id, student.user())?;
                    let assignment = standing.enrolled()?.over(assignment)?;
                    let key = key.as_ref().map(again).transpose();
                    submit(conn, &assignment, again(&body)?, key?, now, kept_since)
                })
            })
            .await
    }

    /// Every student's latest attempt for staff of the course; one's own attempts (newest
    /// first, grades hidden until released) for an enrolled student.
    pub async fn submissions(
        &self,
        user: &AuthUser,
        id: AssignmentId,
        page: Pagination,
    ) -> Result<AssignmentSubmissions, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (assignment, standing) = assignment_for(conn, id, &user)?;
                let (is_teacher, is_enrolled) = (standing.is_teacher(), standing.is_enrolled());
                let page = match standing {
                    Standing::Teacher(teacher) => {
                        latest(conn, &StaffOf::from(teacher).over(assignment.clone())?, page)?
                    }
                    Standing::Enrolled(enrolled) => own(conn, &enrolled.over(assignment.clone())?, page)?,
                    // A visitor is no member: the refusal is the one `member()` gives.
                    visitor @ Standing::Visitor(_) => {
                        return Err(visitor.member().err().map_or(GradingError::NotFound, GradingError::from));
                    }
                };
                Ok(AssignmentSubmissions { assignment, is_teacher, is_enrolled, page })
            })
            .await
    }

    /// A submission for its student or staff of its course; with its grade history for staff
    /// when `with_history`.
    pub async fn submission(
        &self,
        user: &AuthUser,
        id: SubmissionId,
        with_history: bool,
    ) -> Result<SubmissionView, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let access = submission_for(conn, id, &user)?;
                let (grade, history) = match &access {
                    SubmissionAccess::Grader(g) => {
                        let first = Pagination { page: 1, per_page: 100 };
                        let history =
                            if with_history { store::history_of(conn, g.row.id, first)?.0 } else { Vec::new() };
                        (store::grade_of(conn, id)?, history)
                    }
                    SubmissionAccess::Owner(o) if o.assignment.grades_released => {
                        (store::grade_of(conn, id)?, Vec::new())
                    }
                    SubmissionAccess::Owner(_) => (None, Vec::new()),
                };
                let s = &access.submission().row;
                let mut people: Vec<UserId> = vec![s.student_id];
                people.extend(grade.iter().map(|g| g.graded_by));
                people.extend(history.iter().map(|h| h.graded_by));
                let names = store::names_of(conn, &people)?;
                let detail = SubmissionDetail {
                    id: s.id,
                    assignment_id: s.assignment_id,
                    student: person(&names, s.student_id),
                    attempt: s.attempt,
                    body: s.body.clone(),
                    body_sha256: s.body_sha256.clone(),
                    submitted_at: rfc3339(s.submitted_at),
                    late: s.late,
                    grade: grade.as_ref().map(|g| grade_view(g, &names)),
                };
                Ok(SubmissionView {
                    detail,
                    history: history.iter().map(|h| history_item(h, &names)).collect(),
                    assignment: access.submission().assignment.clone(),
                    is_grader: access.is_grader(),
                })
            })
            .await
    }
}
