//! Capabilities have private fields: outside the access module that owns them nobody can make
//! one, so holding one proves that its scoped query said so.

use course_service::access::{Course, TeacherOf};
use course_service::views::PersonRef;
use grading_service::access::{GraderOf, Submission};

fn forge_a_course_right(course: Course) -> TeacherOf<Course> {
    TeacherOf { holder: course.created_by, within: course.id, object: course }
}

fn forge_a_grader(submission: Submission, grader: PersonRef) -> GraderOf<Submission> {
    GraderOf { holder: grader, object: submission }
}

fn main() {}
