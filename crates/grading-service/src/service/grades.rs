//! Grades: staff of the course grade and regrade (every grade kept in the history) and read the
//! gradebook; a student reads their released grades.

use super::{GradingState, Parsed, again, history_item, penalty_of, write_retrying};
use crate::access::{GraderOf, Submission, grader_of};
use crate::domain::{Feedback, MaxPoints, Points, Score, ScoreInput};
use crate::error::GradingError;
use crate::gradebook::Gradebook;
use crate::store::{self, GradeRow, HistoryRow};
use crate::views::{AssignmentRef, CourseRef, GradeView, HistoryItem, MyGrade};
use course_service::access::{self as course_access, Course, StaffOf};
use course_service::audit::{self, Actor, ObjectRef};
use course_service::service::enrollments;
use lectern_common::db::{DbConnection, rfc3339};
use lectern_common::ids::{CourseId, GradeId, SubmissionId, UserId};
use lectern_common::pagination::{Paginated, Pagination};
use lectern_common::{Student, Teacher};
use time::PrimitiveDateTime;

/// Grades (or regrades) a submission: the grade, its history row and its audit entry, in the
/// caller's transaction, so all are written or none. This is the one way a grade is set: the
/// grading pages and API call it with the grader as `actor`; anything else that sets grades
/// (a tool posting scores) calls it with itself as the actor.
pub fn record(
    conn: &mut DbConnection,
    submission: &GraderOf<Submission>,
    actor: &Actor,
    score: Score,
    feedback: Feedback,
    now: PrimitiveDateTime,
) -> Result<GradeView, GradingError> {
    let id = submission.row.id;
    store::lock_submission(conn, id)?;
    let feedback = feedback.into_inner();
    let grader = submission.grader();
    let previous = store::grade_of(conn, id)?;
    let row = GradeRow {
        submission_id: id,
        score_hundredths: score.points().hundredths(),
        feedback: feedback.clone(),
        graded_by: grader.id,
        graded_at: now,
        revision: previous.as_ref().map_or(1, |p| p.revision + 1),
    };
    store::write_grade(conn, &row, previous.is_none())?;
    store::insert_history(
        conn,
        &HistoryRow {
            id: GradeId::new(),
            submission_id: id,
            revision: row.revision,
            old_score_hundredths: previous.as_ref().map(|p| p.score_hundredths),
            new_score_hundredths: row.score_hundredths,
            feedback,
            graded_by: grader.id,
            graded_at: now,
        },
    )?;
    let assignment = &submission.assignment;
    let extension = store::extension_of(conn, assignment.id, submission.row.student_id)?;
    let penalty = penalty_of(assignment, extension, submission.row.submitted_at);
    let final_score = crate::late::final_score(score.points(), penalty);
    let details = serde_json::json!({
        "student_id": submission.row.student_id,
        "assignment_id": assignment.id,
        "attempt": submission.row.attempt,
        "score": score.points(),
        "previous_score": previous.as_ref().map(|p| Points::from_hundredths(p.score_hundredths)),
        "penalty_percent": penalty,
        "final_score": final_score,
        "revision": row.revision,
    });
    let object = ObjectRef::new("submission", id);
    audit::record(conn, assignment.course_id, actor, "grade.recorded", &object, details, now)?;
    Ok(GradeView {
        score: score.points(),
        penalty_percent: penalty,
        final_score,
        feedback: row.feedback,
        graded_by: grader.clone(),
        graded_at: rfc3339(now),
    })
}

/// A page of every grade given to a submission, newest first (staff of its course).
pub fn history(
    conn: &mut DbConnection,
    submission: &GraderOf<Submission>,
    page: Pagination,
) -> Result<Paginated<HistoryItem>, GradingError> {
    let (rows, total) = store::history_of(conn, submission.row.id, page)?;
    let graders: Vec<UserId> = rows.iter().map(|h| h.graded_by).collect();
    let names = store::names_of(conn, &graders)?;
    Ok(Paginated::new(rows.iter().map(|h| history_item(h, &names)).collect(), page, total))
}

/// Students x assignments with each student's latest attempt's final score (staff of the course).
pub fn gradebook(conn: &mut DbConnection, course: &StaffOf<Course>) -> Result<Gradebook, GradingError> {
    let assignments = store::all_assignments_of(conn, course.id)?;
    let students = enrollments::roster(conn, course)?;
    let extensions = store::extensions_of_course(conn, course.id)?;
    let by_id: std::collections::HashMap<_, _> = assignments.iter().map(|a| (a.id, a)).collect();
    let cells: Vec<_> = store::latest_scores_of_course(conn, course.id)?
        .into_iter()
        .map(|(assignment, student, submission, score, submitted_at)| {
            let final_score = score.and_then(|h| {
                let a = by_id.get(&assignment)?;
                let penalty = penalty_of(a, extensions.get(&(assignment, student)).copied(), submitted_at);
                Some(crate::late::final_score(Points::from_hundredths(h), penalty).hundredths())
            });
            (assignment, student, submission, final_score)
        })
        .collect();
    Ok(Gradebook::build(course.object(), &assignments, students, &cells))
}

/// A student's grades on released assignments: a role-level read, so it takes a [`Student`].
pub fn released(
    conn: &mut DbConnection,
    student: &Student,
    page: Pagination,
    order: store::GradeOrder,
) -> Result<Paginated<MyGrade>, GradingError> {
    let (rows, total) = store::released_grades_of(conn, student.id, page, order)?;
    let items = rows
        .into_iter()
        .map(|(r, extension)| {
            let penalty = penalty_of(&r.assignment, extension, r.submitted_at);
            let score = Points::from_hundredths(r.grade.score_hundredths);
            (r, penalty, score)
        })
        .map(|(r, penalty, score)| MyGrade {
            course: CourseRef { id: r.course_id, title: r.course_title },
            assignment: AssignmentRef {
                id: r.assignment.id,
                title: r.assignment.title,
                max_points: Points::from_hundredths(r.assignment.max_points_hundredths),
            },
            submission_id: r.submission_id,
            attempt: r.attempt,
            score,
            penalty_percent: penalty,
            final_score: crate::late::final_score(score, penalty),
            feedback: r.grade.feedback,
            graded_at: rfc3339(r.grade.graded_at),
        })
        .collect();
    Ok(Paginated::new(items, page, total))
}

impl GradingState {
    /// Grades (or regrades) a submission: the grade and its history row in one transaction.
    pub async fn grade(
        &self,
        teacher: &Teacher,
        id: SubmissionId,
        score: ScoreInput,
        feedback: Parsed<Feedback>,
    ) -> Result<GradeView, GradingError> {
        let now = self.now();
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                write_retrying(conn, |conn| {
                    let submission = grader_of(conn, id, &teacher)?;
                    // The score's range is the assignment's, known only now.
                    let score = score.parse(MaxPoints::from_stored(submission.assignment.max_points_hundredths))?;
                    let actor = Actor::User(submission.grader().id);
                    record(conn, &submission, &actor, score, again(&feedback)?, now)
                })
            })
            .await
    }

    /// Every grade ever given to a submission, newest first (staff of its course).
    pub async fn history(
        &self,
        teacher: &Teacher,
        id: SubmissionId,
        page: Pagination,
    ) -> Result<Paginated<HistoryItem>, GradingError> {
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                let submission = grader_of(conn, id, &teacher)?;
                history(conn, &submission, page)
            })
            .await
    }

    /// A student's grades on released assignments.
    /// A student's released grades, with their time zone when a page asks (`for_page`).
    pub async fn my_grades(
        &self,
        student: &Student,
        page: Pagination,
        for_page: bool,
    ) -> Result<(Paginated<MyGrade>, lectern_common::timefmt::Zone), GradingError> {
        let student = student.clone();
        self.db
            .run(move |conn| {
                let grades = released(conn, &student, page, store::GradeOrder::ByCourse)?;
                Ok((grades, lectern_common::timefmt::zone_if(conn, student.id, for_page)?))
            })
            .await
    }

    pub async fn gradebook(&self, teacher: &Teacher, course: CourseId) -> Result<Gradebook, GradingError> {
        let teacher = teacher.clone();
        self.db
            .run(move |conn| {
                let course = course_access::standing(conn, course, teacher.user())?.staff()?;
                gradebook(conn, &course)
            })
            .await
    }
}
