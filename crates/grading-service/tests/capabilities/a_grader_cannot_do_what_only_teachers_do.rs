//! A grader is staff, not a teacher: with its `StaffOf`, it grades and reads (see the other
//! cases), but the functions only a teacher of the course may call take `TeacherOf` and refuse it.

use course_service::access::{Course, StaffOf};
use grading_service::access::Assignment;
use grading_service::domain::DueAt;
use lectern_common::db::DbConnection;
use lectern_common::ids::UserId;

fn what_a_grader_may_not_do(
    conn: &mut DbConnection,
    course: &StaffOf<Course>,
    assignment: &StaffOf<Assignment>,
    student: UserId,
    now: time::PrimitiveDateTime,
) {
    let _ = grading_service::service::assignments::release(conn, assignment, now);
    let _ = grading_service::service::extensions::set(conn, assignment, student, DueAt::parse("2026-12-01T17:00:00Z").unwrap(), now);
    let _ = course_service::service::staff::remove(conn, course, student, now);
    let _ = course_service::audit::page(conn, course, lectern_common::pagination::Pagination { page: 1, per_page: 20 });
}

fn main() {}
