//! Submissions: enrolled students hand in immutable attempts, text and files (with
//! `Idempotency-Key` replays); staff see every student's latest attempt, students their own;
//! files are downloaded by the submission's student and the course's staff.

use super::{
    GradingState, Parsed, again, files_and_receipt, grade_view, history_item, penalty_of, person, write_retrying,
};
use crate::access::{Assignment, SubmissionAccess, assignment_for, submission_for};
use crate::domain::{IdempotencyKey, sha256_hex};
use crate::error::GradingError;
use crate::files::Handin;
use crate::late;
use crate::store::{self, FileRow, IdempotencyRow, SubmissionRow};
use crate::views::{
    AssignmentSubmissions, ExtensionItem, Receipt, SubmissionDetail, SubmissionItem, SubmissionView, SubmitReply,
};
use course_service::access::{EnrolledIn, StaffOf, Standing};
use course_service::service::enrollments;
use course_service::views::PersonRef;
use lectern_common::db::{DbConnection, rfc3339, to_db_time};
use lectern_common::ids::{AssignmentId, FileId, SubmissionId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{AuthUser, Student};
use std::collections::HashMap;
use time::PrimitiveDateTime;

/// How long an `Idempotency-Key` and its reply are kept, at least.
pub const IDEMPOTENCY_RETENTION: time::Duration = time::Duration::hours(24);

/// What an `Idempotency-Key` is bound to: the assignment and everything handed in (a text-only
/// hand-in's fingerprint is the one it always was: the assignment and the body's hash).
fn fingerprint(assignment: AssignmentId, handin: &Handin) -> String {
    sha256_hex(format!("POST submissions\n{assignment}\n{}", handin.fingerprint_listing()).as_bytes())
}

/// A new attempt by the enrolled student, or for an `Idempotency-Key` they used before with the
/// same request, the first reply again. Files are stored once per SHA-256: a blob already there
/// (from any submission) is only pointed at.
pub fn submit(
    conn: &mut DbConnection,
    assignment: &EnrolledIn<Assignment>,
    handin: Handin,
    key: Option<IdempotencyKey>,
    now: PrimitiveDateTime,
    kept_since: PrimitiveDateTime,
) -> Result<SubmitReply, GradingError> {
    let (id, student) = (assignment.row.id, assignment.user());
    let fingerprint = fingerprint(id, &handin);
    // The key is looked up before the attempt's lock is taken: of two requests with one key at
    // once, the second finds nothing, waits for the first, then fails on the key's unique
    // constraint and is tried again by the caller (`write_retrying`), which finds the key.
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
    let due = store::extension_of(conn, id, student)?.unwrap_or(assignment.row.due_at);
    let policy = assignment.row.late_policy();
    if late::is_closed(policy.as_ref(), due, now) {
        let closed_at = late::closes_at(policy.as_ref(), due).map(rfc3339).unwrap_or_default();
        return Err(GradingError::Closed(closed_at));
    }
    // From here to the commit, the student's other attempts at this assignment wait.
    let attempt = store::next_attempt(conn, id, student)?;
    if let Some(max) = assignment.row.max_attempts
        && attempt > max
    {
        // The error rolls the count back with the rest of the transaction.
        return Err(GradingError::AttemptsUsedUp(max));
    }
    let Handin { body, body_sha256, files } = handin;
    let row = SubmissionRow {
        id: SubmissionId::new(),
        assignment_id: id,
        student_id: student,
        attempt,
        body_sha256,
        body,
        submitted_at: now,
        late: now > due,
    };
    store::insert_submission(conn, &row)?;
    let mut rows = Vec::with_capacity(files.len());
    for (position, file) in files.into_iter().enumerate() {
        store::store_blob(conn, &file.sha256, &file.bytes, now)?;
        rows.push(FileRow {
            id: FileId::new(),
            submission_id: row.id,
            position: i32::try_from(position + 1).unwrap_or(i32::MAX),
            name: file.name,
            content_type: file.content_type,
            size: i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
            sha256: file.sha256,
        });
    }
    store::insert_files(conn, &rows)?;
    let (files, receipt_sha256) = files_and_receipt(&row.body_sha256, &rows);
    let receipt = Receipt {
        id: row.id,
        assignment_id: id,
        attempt: row.attempt,
        submitted_at: rfc3339(row.submitted_at),
        late: row.late,
        body_sha256: row.body_sha256.clone(),
        files,
        receipt_sha256,
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

/// List items of one assignment's attempts: files, receipts, grades with their penalties
/// (`due_of`: each student's extension, if any).
fn items(
    conn: &mut DbConnection,
    assignment: &crate::store::AssignmentRow,
    rows: Listed,
    grades_visible: bool,
    due_of: &HashMap<UserId, PrimitiveDateTime>,
) -> Result<Vec<SubmissionItem>, GradingError> {
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
    let ids: Vec<SubmissionId> = rows.iter().map(|(s, _, _)| s.id).collect();
    let mut files = store::files_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(s, name, g)| {
            let extension = due_of.get(&s.student_id).copied();
            let penalty = penalty_of(assignment, extension, s.submitted_at);
            let (file_views, receipt_sha256) =
                files_and_receipt(&s.body_sha256, &files.remove(&s.id).unwrap_or_default());
            SubmissionItem {
                id: s.id,
                assignment_id: s.assignment_id,
                student: match name {
                    Some(display_name) => PersonRef { id: s.student_id, display_name },
                    None => person(&names, s.student_id),
                },
                attempt: s.attempt,
                submitted_at: rfc3339(s.submitted_at),
                late: s.submitted_at > extension.unwrap_or(assignment.due_at),
                body_sha256: s.body_sha256,
                files: file_views,
                receipt_sha256,
                grade: g.filter(|_| grades_visible).map(|g| grade_view(&g, &names, penalty)),
            }
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
    let due_of = store::extensions_of_assignment(conn, assignment.row.id)?;
    Ok(Paginated::new(items(conn, &assignment.row, rows, true, &due_of)?, page, total))
}

/// The student's own attempts, newest first, grades hidden until released.
pub fn own(
    conn: &mut DbConnection,
    assignment: &EnrolledIn<Assignment>,
    page: Pagination,
) -> Result<Paginated<SubmissionItem>, GradingError> {
    let (rows, total) = store::own_attempts(conn, assignment.row.id, assignment.user(), page)?;
    let rows = rows.into_iter().map(|(s, g)| (s, None, g)).collect();
    let mut due_of = HashMap::new();
    if let Some(due) = store::extension_of(conn, assignment.row.id, assignment.user())? {
        due_of.insert(assignment.user(), due);
    }
    Ok(Paginated::new(items(conn, &assignment.row, rows, assignment.row.grades_released, &due_of)?, page, total))
}

/// A file and its bytes, for whoever may read its submission.
pub struct Download {
    pub file: FileRow,
    pub bytes: Vec<u8>,
}

/// What the "all submissions" zip of an assignment holds (staff of the course).
pub fn archive_plan(
    conn: &mut DbConnection,
    assignment: &StaffOf<Assignment>,
    now: PrimitiveDateTime,
) -> Result<crate::archive::Plan, GradingError> {
    let rows = store::all_latest_attempts(conn, assignment.row.id)?;
    let ids: Vec<SubmissionId> = rows.iter().map(|(s, _)| s.id).collect();
    let mut files = store::files_of(conn, &ids)?;
    let extensions = store::extensions_of_assignment(conn, assignment.row.id)?;
    let empty_body = sha256_hex(b"");
    let attempts: Vec<crate::archive::Attempt> = rows
        .into_iter()
        .map(|(s, name)| {
            let file_rows = files.remove(&s.id).unwrap_or_default();
            let (_, receipt_sha256) = files_and_receipt(&s.body_sha256, &file_rows);
            let due = extensions.get(&s.student_id).copied().unwrap_or(assignment.row.due_at);
            crate::archive::Attempt {
                submission: s.id,
                student_id: s.student_id.to_string(),
                student_name: name,
                attempt: s.attempt,
                submitted_at: s.submitted_at,
                late: s.submitted_at > due,
                has_text: s.body_sha256 != empty_body,
                receipt_sha256,
                files: file_rows,
            }
        })
        .collect();
    let title = crate::files::sanitise_name(&assignment.row.title);
    Ok(crate::archive::plan(format!("{title} - submissions.zip"), &attempts, now))
}

impl GradingState {
    /// The plan of an assignment's "all submissions" zip, after the access check (staff).
    pub async fn archive(&self, user: &AuthUser, id: AssignmentId) -> Result<crate::archive::Plan, GradingError> {
        let user = user.clone();
        let now = self.now();
        self.db
            .run(move |conn| {
                let (assignment, standing) = assignment_for(conn, id, &user)?;
                let assignment = standing.staff()?.over(assignment)?;
                archive_plan(conn, &assignment, now)
            })
            .await
    }

    /// Whether `student` may hand in work for this assignment at all, asked before a multipart
    /// body is read: a caller who may not submit is refused (403, 404) without the server
    /// reading up to 25 MiB first. The submission itself checks again, in its transaction.
    pub async fn may_submit(&self, student: &Student, id: AssignmentId) -> Result<(), GradingError> {
        let student = student.clone();
        self.db
            .run(move |conn| {
                let (assignment, standing) = assignment_for(conn, id, student.user())?;
                standing.enrolled()?.over(assignment)?;
                Ok(())
            })
            .await
    }

    pub async fn submit(
        &self,
        student: &Student,
        id: AssignmentId,
        handin: Parsed<Handin>,
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
                    // Cloning a hand-in shares its files' bytes (`Arc`), it does not copy them.
                    submit(conn, &assignment, again(&handin)?, key?, now, kept_since)
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
        for_page: bool,
    ) -> Result<AssignmentSubmissions, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let (assignment, standing) = assignment_for(conn, id, &user)?;
                let (is_teacher, is_enrolled, is_staff) =
                    (standing.is_teacher(), standing.is_enrolled(), standing.is_staff());
                let mut extension = None;
                let mut extensions = Vec::new();
                let mut roster = Vec::new();
                let page = match standing {
                    Standing::Teacher(teacher) => {
                        let (listed, _) = store::extensions_page(conn, id, Pagination { page: 1, per_page: 100 })?;
                        extensions = listed
                            .into_iter()
                            .map(|(student, due)| ExtensionItem { student, due_at: rfc3339(due) })
                            .collect();
                        let staff: StaffOf<_> = teacher.into();
                        roster = enrollments::roster(conn, &staff)?;
                        latest(conn, &staff.over(assignment.clone())?, page)?
                    }
                    Standing::Grader(grader) => latest(conn, &grader.over(assignment.clone())?, page)?,
                    Standing::Enrolled(enrolled) => {
                        extension = store::extension_of(conn, id, enrolled.user())?;
                        own(conn, &enrolled.over(assignment.clone())?, page)?
                    }
                    // A visitor is no member: the refusal is the one `member()` gives.
                    visitor @ Standing::Visitor(_) => {
                        return Err(visitor.member().err().map_or(GradingError::NotFound, GradingError::from));
                    }
                };
                Ok(AssignmentSubmissions {
                    assignment,
                    is_teacher,
                    is_staff,
                    is_enrolled,
                    extension,
                    extensions,
                    roster,
                    page,
                    zone: lectern_common::timefmt::zone_if(conn, user.id, for_page)?,
                })
            })
            .await
    }

    /// A submission for its student or staff of its course; for a page (`for_page`), with its
    /// grade history and its neighbours in the grading queue for staff, and the caller's zone.
    pub async fn submission(
        &self,
        user: &AuthUser,
        id: SubmissionId,
        for_page: bool,
    ) -> Result<SubmissionView, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let access = submission_for(conn, id, &user)?;
                let (grade, history) = match &access {
                    SubmissionAccess::Grader(g) => {
                        let first = Pagination { page: 1, per_page: 100 };
                        let history = if for_page { store::history_of(conn, g.row.id, first)?.0 } else { Vec::new() };
                        (store::grade_of(conn, id)?, history)
                    }
                    SubmissionAccess::Owner(o) if o.assignment.grades_released => {
                        (store::grade_of(conn, id)?, Vec::new())
                    }
                    SubmissionAccess::Owner(_) => (None, Vec::new()),
                };
                let s = &access.submission().row;
                let assignment = &access.submission().assignment;
                let extension = store::extension_of(conn, assignment.id, s.student_id)?;
                let due = extension.unwrap_or(assignment.due_at);
                let penalty = penalty_of(assignment, extension, s.submitted_at);
                let mut people: Vec<UserId> = vec![s.student_id];
                people.extend(grade.iter().map(|g| g.graded_by));
                people.extend(history.iter().map(|h| h.graded_by));
                let names = store::names_of(conn, &people)?;
                let file_rows = store::files_of(conn, &[s.id])?.remove(&s.id).unwrap_or_default();
                let (files, receipt_sha256) = files_and_receipt(&s.body_sha256, &file_rows);
                let detail = SubmissionDetail {
                    id: s.id,
                    assignment_id: s.assignment_id,
                    student: person(&names, s.student_id),
                    attempt: s.attempt,
                    body: s.body.clone(),
                    body_sha256: s.body_sha256.clone(),
                    files,
                    receipt_sha256,
                    submitted_at: rfc3339(s.submitted_at),
                    late: s.submitted_at > due,
                    due_at: rfc3339(due),
                    grade: grade.as_ref().map(|g| grade_view(g, &names, penalty)),
                };
                let (previous_ungraded, next_ungraded) = if for_page && access.is_grader() {
                    store::queue_neighbours(conn, user.id, assignment.id, s.id, s.submitted_at)?
                } else {
                    (None, None)
                };
                Ok(SubmissionView {
                    detail,
                    history: history.iter().map(|h| history_item(h, &names)).collect(),
                    assignment: assignment.clone(),
                    is_grader: access.is_grader(),
                    previous_ungraded,
                    next_ungraded,
                    zone: lectern_common::timefmt::zone_if(conn, user.id, for_page)?,
                })
            })
            .await
    }

    /// One file of a submission with its bytes: for the submission's student and the course's
    /// staff; for anyone else it does not exist (404).
    pub async fn download(&self, user: &AuthUser, id: SubmissionId, file: FileId) -> Result<Download, GradingError> {
        let user = user.clone();
        self.db
            .run(move |conn| {
                let access = submission_for(conn, id, &user)?;
                let file = store::file_of(conn, access.submission().row.id, file)?.ok_or(GradingError::NotFound)?;
                let bytes = store::blob(conn, &file.sha256)?.ok_or(GradingError::NotFound)?;
                Ok(Download { file, bytes })
            })
            .await
    }
}
