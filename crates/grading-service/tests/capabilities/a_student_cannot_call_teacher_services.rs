//! A caller proven to be a student cannot reach what only teachers may do, not even by calling
//! the service functions directly: they take a `Teacher`, which a `Student` is not.

use course_service::domain::CourseDraft;
use course_service::service::CourseState;
use grading_service::GradingState;
use grading_service::domain::{Feedback, ScoreInput};
use lectern_common::ids::{CourseId, SubmissionId};
use lectern_common::Student;

async fn as_a_student(courses: &CourseState, grading: &GradingState, student: &Student, draft: CourseDraft) {
    let _ = courses.create_course(student, draft).await;
    let _ = grading.grade(student, SubmissionId::new(), ScoreInput::Text("10".into()), Feedback::parse("")).await;
    let _ = grading.gradebook(student, CourseId::new()).await;
}

fn main() {}
