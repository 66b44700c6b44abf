//! The functions that write take the capability itself: a user, even a teacher, is not enough.

use course_service::access::Course;
use grading_service::domain::{Feedback, Score};
use lectern_common::db::DbConnection;
use course_service::audit::Actor;
use lectern_common::{AuthUser, Teacher};

fn grade_without_the_right(conn: &mut DbConnection, user: &AuthUser, score: Score, now: time::PrimitiveDateTime) {
    let actor = Actor::User(user.id);
    let _ = grading_service::service::grades::record(conn, user, &actor, score, Feedback::parse("").unwrap(), now);
}

fn edit_without_the_right(conn: &mut DbConnection, teacher: &Teacher, course: Course, now: time::PrimitiveDateTime) {
    let _ = course_service::service::catalog::update(conn, teacher, Default::default(), now);
    let _ = course_service::service::catalog::update(conn, &course, Default::default(), now);
}

fn main() {}
