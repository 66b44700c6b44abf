//! Scores from LTI tools (docs/lti.md): what the LTI platform's grade service (AGS 2.0) reads and
//! writes through grading. A *line item* is an assignment of the course tied to at least one of
//! the tool's links there; a tool reaches only those, through a [`ToolIn`] that course-service
//! made for it.
//!
//! A score becomes a grade of the student's latest attempt through [`grades::record`], the one
//! way a grade is set: history, penalty, audit entry and all, in the caller's transaction. The
//! audit entry names the tool. A grade names a person as its grader, so a tool's grade is given
//! in the name of the teacher who placed the link (who chose to let the tool grade); the audit
//! entry says it came from the tool. A student who has not handed anything in gets an attempt
//! made for them, recorded as handed in through the tool. The release rule is grading's own:
//! students see the grade once the assignment's grades are released.

use super::grades;
use super::penalty_of;
use crate::access::{self, GraderOf, Submission};
use crate::domain::{Feedback, MaxPoints, Points, Score};
use crate::error::GradingError;
use crate::late;
use crate::store::{self, AssignmentRow, GradeRow};
use crate::views::GradeView;
use course_service::access::{Course, InCourse, ToolIn};
use course_service::audit::Actor;
use course_service::service::tool_links::{self, ToolLinkRow};
use diesel::prelude::*;
use lectern_common::db::DbConnection;
use lectern_common::ids::{AssignmentId, CourseId, ToolId, UserId};
use lectern_common::schema::{assignments, lti_score_times};
use time::PrimitiveDateTime;

/// An assignment a tool may grade, with the tool's first link tied to it.
#[derive(Clone, Debug)]
pub struct LineItem {
    pub assignment: AssignmentRow,
    pub link: ToolLinkRow,
}

impl InCourse for LineItem {
    fn course_id(&self) -> CourseId {
        self.assignment.course_id
    }
}

/// Every line item of the tool in the course, in the order its links were placed.
pub fn line_items(conn: &mut DbConnection, course: &ToolIn<Course>) -> Result<Vec<LineItem>, GradingError> {
    let links = tool_links::links_of_tool(conn, course)?;
    let ids: Vec<AssignmentId> = links.iter().filter_map(|l| l.assignment_id).collect();
    let rows: Vec<AssignmentRow> = assignments::table
        .filter(assignments::id.eq_any(&ids))
        .filter(assignments::course_id.eq(course.course_id()))
        .select(AssignmentRow::as_select())
        .load(conn)?;
    let mut items: Vec<LineItem> = Vec::new();
    for link in links {
        let Some(id) = link.assignment_id else { continue };
        if items.iter().any(|i| i.assignment.id == id) {
            continue;
        }
        if let Some(assignment) = rows.iter().find(|a| a.id == id) {
            items.push(LineItem { assignment: assignment.clone(), link });
        }
    }
    Ok(items)
}

/// One line item *for* the tool: `NotFound` unless the assignment is tied to one of its links in
/// this course (another course's, or one no link of this tool names).
pub fn line_item(
    conn: &mut DbConnection,
    course: &ToolIn<Course>,
    id: AssignmentId,
) -> Result<ToolIn<LineItem>, GradingError> {
    let item = line_items(conn, course)?.into_iter().find(|i| i.assignment.id == id).ok_or(GradingError::NotFound)?;
    Ok(ToolIn::over(course, item)?)
}

/// A score as the tool sent it, read by the LTI platform.
#[derive(Clone, Debug)]
pub struct ToolScore {
    pub tool: ToolId,
    pub tool_name: String,
    pub student: UserId,
    /// `scoreGiven` and `scoreMaximum`; `None` when the tool reported progress only.
    pub given: Option<(f64, f64)>,
    pub comment: Feedback,
    /// The score's own `timestamp`, in UTC.
    pub timestamp: PrimitiveDateTime,
    /// `gradingProgress` is `FullyGraded`: only then does the score become a grade.
    pub final_grade: bool,
}

/// What became of a score.
#[derive(Clone, Debug)]
pub enum Scored {
    /// A grade was set (or changed).
    Graded(GradeView),
    /// Progress without a final score: nothing to grade yet.
    Noted,
}

/// The score in the assignment's points: `given / maximum × max_points`, to the hundredth.
pub fn points_of(given: f64, maximum: f64, max: MaxPoints) -> Result<Score, GradingError> {
    if !given.is_finite() || given < 0.0 {
        return Err(GradingError::invalid("scoreGiven", "must be a number of 0 or more"));
    }
    if !maximum.is_finite() || maximum <= 0.0 {
        return Err(GradingError::invalid("scoreMaximum", "must be a number above 0"));
    }
    if given > maximum {
        return Err(GradingError::invalid(
            "scoreGiven",
            "must not exceed scoreMaximum (Lectern grades have no extra credit)",
        ));
    }
    let hundredths = (given / maximum * f64::from(max.points().hundredths())).round();
    // Within 0..=max by the checks above; the conversion cannot fail.
    let hundredths = hundredths.clamp(0.0, f64::from(max.points().hundredths())) as i64;
    Score::parse(&format!("{}.{:02}", hundredths / 100, hundredths % 100), max)
}

/// Records a tool's score for a student of the course, in the caller's transaction: the
/// student must be enrolled (else 422 naming `userId`), a score older than the last one on record
/// for this line item and student is refused (409, AGS 2.0: a platform keeps the latest), and a
/// final score becomes the grade of the student's latest attempt, through [`grades::record`].
pub fn record(
    conn: &mut DbConnection,
    item: &ToolIn<LineItem>,
    score: ToolScore,
    now: PrimitiveDateTime,
) -> Result<Scored, GradingError> {
    let assignment = &item.assignment;
    if !store::is_enrolled(conn, assignment.course_id, score.student)? {
        return Err(GradingError::invalid("userId", "is not a student enrolled in this course"));
    }
    // A score that cannot be a grade is refused before anything is recorded of it.
    let points = match score.given.filter(|_| score.final_grade) {
        Some((given, maximum)) => {
            Some(points_of(given, maximum, MaxPoints::from_stored(assignment.max_points_hundredths))?)
        }
        None => None,
    };
    store::lock_enrollment(conn, assignment.course_id, score.student)?;
    let last: Option<PrimitiveDateTime> = lti_score_times::table
        .find((assignment.id, score.student))
        .select(lti_score_times::scored_at)
        .first(conn)
        .optional()?;
    if last.is_some_and(|last| score.timestamp < last) {
        return Err(GradingError::Stale(
            "a score with a later timestamp is on record for this line item and user".into(),
        ));
    }
    match last {
        Some(_) => diesel::update(lti_score_times::table.find((assignment.id, score.student)))
            .set(lti_score_times::scored_at.eq(score.timestamp))
            .execute(conn)?,
        None => diesel::insert_into(lti_score_times::table)
            .values((
                lti_score_times::assignment_id.eq(assignment.id),
                lti_score_times::student_id.eq(score.student),
                lti_score_times::scored_at.eq(score.timestamp),
            ))
            .execute(conn)?,
    };
    let Some(points) = points else {
        return Ok(Scored::Noted);
    };
    let submission: GraderOf<Submission> = access::graded_by_tool(conn, item, score.student, &score.tool_name, now)?;
    let actor = Actor::Other { kind: "tool", id: score.tool.to_string(), name: score.tool_name };
    Ok(Scored::Graded(grades::record(conn, &submission, &actor, points, score.comment, now)?))
}

/// A student's current result on a line item: their latest attempt's grade.
#[derive(Clone, Debug)]
pub struct ToolResult {
    pub student: UserId,
    /// After any late penalty: what the gradebook shows.
    pub final_score: Points,
    pub max_points: Points,
    pub comment: String,
}

/// The results of a line item (one student's with `student`), by student id.
pub fn results(
    conn: &mut DbConnection,
    item: &ToolIn<LineItem>,
    student: Option<UserId>,
) -> Result<Vec<ToolResult>, GradingError> {
    use lectern_common::schema::{grades, submissions};
    let assignment = &item.assignment;
    let later = diesel::alias!(submissions as later);
    let newer = later
        .filter(later.field(submissions::assignment_id).eq(submissions::assignment_id))
        .filter(later.field(submissions::student_id).eq(submissions::student_id))
        .filter(later.field(submissions::attempt).gt(submissions::attempt));
    let mut query = submissions::table
        .inner_join(grades::table)
        .filter(submissions::assignment_id.eq(assignment.id))
        .filter(diesel::dsl::not(diesel::dsl::exists(newer)))
        .order(submissions::student_id.asc())
        .select((submissions::student_id, submissions::submitted_at, GradeRow::as_select()))
        .into_boxed::<lectern_common::db::MultiBackend>();
    if let Some(student) = student {
        query = query.filter(submissions::student_id.eq(student));
    }
    let rows: Vec<(UserId, PrimitiveDateTime, GradeRow)> = query.load(conn)?;
    let extensions = store::extensions_of_assignment(conn, assignment.id)?;
    Ok(rows
        .into_iter()
        .map(|(student, submitted_at, grade)| {
            let penalty = penalty_of(assignment, extensions.get(&student).copied(), submitted_at);
            ToolResult {
                student,
                final_score: late::final_score(Points::from_hundredths(grade.score_hundredths), penalty),
                max_points: Points::from_hundredths(assignment.max_points_hundredths),
                comment: grade.feedback,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_scaled_to_the_assignments_points() {
        let ten = MaxPoints::from_stored(1000);
        let points = |g, m| points_of(g, m, ten).map(|s| s.points().hundredths());
        assert_eq!(points(8.0, 10.0).ok(), Some(800));
        assert_eq!(points(1.0, 3.0).ok(), Some(333));
        assert_eq!(points(45.0, 50.0).ok(), Some(900));
        assert_eq!(points(0.0, 1.0).ok(), Some(0));
        assert_eq!(points(10.0, 10.0).ok(), Some(1000));
        assert!(points(11.0, 10.0).is_err(), "no extra credit");
        assert!(points(-1.0, 10.0).is_err());
        assert!(points(1.0, 0.0).is_err());
        assert!(points(f64::NAN, 10.0).is_err());
        assert!(points(1.0, f64::INFINITY).is_err());
    }
}
