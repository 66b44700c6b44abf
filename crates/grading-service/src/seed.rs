//! The demo seed's assignments: two for each course that has no assignment yet,
//! so running the seed again adds nothing. Runs inside the seed's transaction.

use crate::error::GradingError;
use crate::store::{self, AssignmentRow};
use diesel::prelude::*;
use lectern_common::db::DbConnection;
use lectern_common::ids::{AssignmentId, CourseId, UserId};
use lectern_common::schema::{assignments, courses};
use time::{Duration, PrimitiveDateTime};

struct DemoAssignment {
    title: &'static str,
    instructions: &'static str,
    due_in_days: i64,
    max_points_hundredths: i32,
    max_attempts: Option<i32>,
}

const DEMO_ASSIGNMENTS: [DemoAssignment; 2] = [
    DemoAssignment {
        title: "Reading reflection",
        instructions: "Read the first material of the course and write, in a few paragraphs, what surprised you and one question you still have.",
        due_in_days: 7,
        max_points_hundredths: 1_000,
        max_attempts: Some(3),
    },
    DemoAssignment {
        title: "Project proposal",
        instructions: "Propose a small project that uses what the course teaches: the goal, the first steps, and how you will know it works.",
        due_in_days: 14,
        max_points_hundredths: 2_000,
        max_attempts: None,
    },
];

/// Adds the demo assignments; returns how many it created.
pub fn demo(conn: &mut DbConnection, now: PrimitiveDateTime) -> Result<usize, GradingError> {
    // Each course gets its set from the teacher who created it.
    let courses_without: Vec<(CourseId, UserId)> = courses::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            assignments::table.filter(assignments::course_id.eq(courses::id)),
        )))
        .order((courses::title.asc(), courses::id.asc()))
        .select((courses::id, courses::created_by))
        .load(conn)?;
    let mut created = 0;
    for (course, teacher) in courses_without {
        for demo in &DEMO_ASSIGNMENTS {
            store::insert_assignment(
                conn,
                &AssignmentRow {
                    id: AssignmentId::new(),
                    course_id: course,
                    title: demo.title.to_owned(),
                    instructions: demo.instructions.to_owned(),
                    due_at: (now + Duration::days(demo.due_in_days)).replace_time(time::macros::time!(17:00)),
                    max_points_hundredths: demo.max_points_hundredths,
                    max_attempts: demo.max_attempts,
                    grades_released: false,
                    created_by: teacher,
                    created_at: now,
                    late_percent_per_day: None,
                    late_max_percent: None,
                    close_after_days: None,
                },
            )?;
            created += 1;
        }
    }
    Ok(created)
}
