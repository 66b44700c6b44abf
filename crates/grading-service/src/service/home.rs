//! Where people start (`/home`): a teacher's grading queue across the courses they are staff of,
//! a student's work due soon across the courses they are enrolled in with their recent released
//! grades. Role-level reads, so they take a [`Teacher`] or a [`Student`]: what each may see is
//! bounded by the query itself (staff courses, enrollments, released grades), one hand-off each.

use super::GradingState;
use super::grades::released;
use crate::domain::Points;
use crate::error::GradingError;
use crate::late;
use crate::store::{self, Awaiting, GradeOrder};
use crate::views::MyGrade;
use lectern_common::db::to_db_time;
use lectern_common::ids::{AssignmentId, CourseId, SubmissionId};
use lectern_common::pagination::Pagination;
use lectern_common::timefmt::{Zone, zone_of};
use lectern_common::{Student, Teacher};
use time::{Duration, PrimitiveDateTime};

/// How many attempts a teacher's home lists (the oldest; the total is shown beside them).
pub const QUEUE_LIMIT: i64 = 100;
/// How far ahead a student's home looks for due dates, and how long it keeps listing work that
/// is overdue but still accepted (when no cut-off ends it sooner).
pub const DUE_WINDOW_DAYS: i64 = 14;
/// How many recent released grades a student's home lists.
pub const RECENT_GRADES: u32 = 5;

/// A teacher's home.
#[derive(Clone, Debug)]
pub struct TeacherHome {
    pub queue: Vec<Awaiting>,
    /// Every attempt awaiting a grade, of which `queue` is the oldest.
    pub total: i64,
    pub zone: Zone,
}

/// Where a student stands on an assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DueState {
    NotSubmitted,
    /// Handed in (the latest attempt), not graded, or graded but not released.
    Submitted {
        submission_id: SubmissionId,
        attempt: i32,
    },
    /// Graded and released: the score that counts (after any late penalty) out of the maximum.
    Graded {
        submission_id: SubmissionId,
        final_score: Points,
        max_points: Points,
    },
}

/// One assignment on a student's home.
#[derive(Clone, Debug)]
pub struct DueItem {
    pub course_id: CourseId,
    pub course_title: String,
    pub assignment_id: AssignmentId,
    pub title: String,
    /// The student's own due date: their extension, or the assignment's.
    pub due_at: PrimitiveDateTime,
    pub extended: bool,
    /// Past its due date, still accepted (late).
    pub overdue: bool,
    /// When late work stops being accepted, if it ever does.
    pub closes_at: Option<PrimitiveDateTime>,
    pub state: DueState,
}

/// A student's home.
#[derive(Clone, Debug)]
pub struct StudentHome {
    pub due: Vec<DueItem>,
    pub recent: Vec<MyGrade>,
    pub zone: Zone,
}

/// What a student's home lists, from the rows [`store::due_from`] found: work due from now to
/// `DUE_WINDOW_DAYS` ahead, and work past due but still accepted, for `DUE_WINDOW_DAYS` after its
/// due date or until its cut-off, whichever is sooner; by effective due date.
fn due_items(
    rows: Vec<store::DueRow>,
    latest: &std::collections::HashMap<AssignmentId, store::Graded>,
    now: PrimitiveDateTime,
) -> Vec<DueItem> {
    let horizon = now + Duration::days(DUE_WINDOW_DAYS);
    let mut items: Vec<DueItem> = rows
        .into_iter()
        .filter_map(|(a, course_title, extension)| {
            let due = extension.unwrap_or(a.due_at);
            let policy = a.late_policy();
            let overdue = due < now;
            let shown = if overdue {
                !late::is_closed(policy.as_ref(), due, now) && now - due <= Duration::days(DUE_WINDOW_DAYS)
            } else {
                due <= horizon
            };
            if !shown {
                return None;
            }
            let state = match latest.get(&a.id) {
                None => DueState::NotSubmitted,
                Some((s, Some(g))) if a.grades_released => {
                    let penalty = late::penalty(policy.as_ref(), due, s.submitted_at);
                    DueState::Graded {
                        submission_id: s.id,
                        final_score: late::final_score(Points::from_hundredths(g.score_hundredths), penalty),
                        max_points: Points::from_hundredths(a.max_points_hundredths),
                    }
                }
                Some((s, _)) => DueState::Submitted { submission_id: s.id, attempt: s.attempt },
            };
            Some(DueItem {
                course_id: a.course_id,
                course_title,
                assignment_id: a.id,
                title: a.title,
                due_at: due,
                extended: extension.is_some(),
                overdue,
                closes_at: late::closes_at(policy.as_ref(), due),
                state,
            })
        })
        .collect();
    items.sort_by_key(|i| (i.due_at, i.assignment_id.to_string()));
    items
}

impl GradingState {
    /// A teacher's grading queue across the courses they are staff of, in one hand-off (two
    /// queries: the oldest [`QUEUE_LIMIT`] and the count), with their time zone.
    pub async fn teacher_home(&self, teacher: &Teacher) -> Result<TeacherHome, GradingError> {
        let id = teacher.id;
        self.db
            .run_read(Some(id), move |conn| {
                let (queue, total) = store::awaiting_grading(conn, id, QUEUE_LIMIT)?;
                Ok(TeacherHome { queue, total, zone: zone_of(conn, id)? })
            })
            .await
    }

    /// A student's work due soon with where they stand on it, and their recent released grades,
    /// in one hand-off.
    pub async fn student_home(&self, student: &Student) -> Result<StudentHome, GradingError> {
        let student = student.clone();
        let now = to_db_time(self.clock.now());
        self.db
            .run_read(Some(student.id), move |conn| {
                let from = now - Duration::days(DUE_WINDOW_DAYS);
                let rows = store::due_from(conn, student.id, from)?;
                let ids: Vec<AssignmentId> = rows.iter().map(|(a, _, _)| a.id).collect();
                let latest = store::latest_own_attempts(conn, student.id, &ids)?;
                let recent =
                    released(conn, &student, Pagination { page: 1, per_page: RECENT_GRADES }, GradeOrder::Recent)?;
                Ok(StudentHome {
                    due: due_items(rows, &latest, now),
                    recent: recent.items,
                    zone: zone_of(conn, student.id)?,
                })
            })
            .await
    }

    /// The attempts before and after a submission in its assignment's grading queue, for a
    /// grader of it (see `store::queue_neighbours`).
    pub async fn queue_neighbours(
        &self,
        teacher: &Teacher,
        id: SubmissionId,
    ) -> Result<(Option<SubmissionId>, Option<SubmissionId>), GradingError> {
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                let s = crate::access::grader_of(conn, id, &teacher)?;
                Ok(store::queue_neighbours(conn, teacher.id, s.assignment.id, s.row.id, s.row.submitted_at)?)
            })
            .await
    }
}
