//! Demo courses for the demo accounts (see auth-core's seed): two published courses with
//! materials, one draft, and Grace enrolled in the first.

use crate::domain::EnrollmentCode;
use crate::markdown;
use crate::store::{self, CourseRow, MaterialRow};
use diesel::prelude::*;
use lectern_common::db::DbConnection;
use lectern_common::ids::{CourseId, MaterialId, UserId};
use lectern_common::schema::users;

fn user(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserId>> {
    users::table.filter(users::email.eq(email)).select(users::id).first(conn).optional()
}

struct DemoCourse {
    teacher: &'static str,
    title: &'static str,
    summary: &'static str,
    published: bool,
    materials: &'static [(&'static str, &'static str)],
    students: &'static [&'static str],
}

const COURSES: [DemoCourse; 3] = [
    DemoCourse {
        teacher: "ada@lectern.test",
        title: "Rust for Beginners",
        summary: "Ownership, borrowing and the type system, one small program at a time.",
        published: true,
        materials: &[
            (
                "Welcome",
                "# Welcome\n\nThis course takes you from `cargo new` to a small web service.\n\n- read each material in order\n- submit the exercises\n",
            ),
            (
                "Ownership",
                "## Ownership\n\nEvery value has exactly **one** owner. When the owner goes out of scope, the value is dropped.\n\n```rust\nlet s = String::from(\"hi\");\nlet t = s; // moved\n```\n",
            ),
            ("Borrowing", "## Borrowing\n\nMany `&T` or one `&mut T`, never both at once.\n"),
        ],
        students: &["grace@lectern.test"],
    },
    DemoCourse {
        teacher: "alan@lectern.test",
        title: "Computability and Logic",
        summary: "What machines can and cannot decide.",
        published: true,
        materials: &[
            ("Turing machines", "# Turing machines\n\nA tape, a head, a finite table of rules.\n"),
            (
                "The halting problem",
                "# The halting problem\n\nNo program decides, for every program and input, whether it halts.\n",
            ),
        ],
        students: &[],
    },
    DemoCourse {
        teacher: "ada@lectern.test",
        title: "Advanced Lifetimes",
        summary: "A draft: only its teacher sees it until it is published.",
        published: false,
        materials: &[],
        students: &[],
    },
];

/// Creates the demo courses whose teacher exists; returns how many it created.
pub fn demo(conn: &mut DbConnection, now: time::PrimitiveDateTime) -> QueryResult<usize> {
    let mut created = 0;
    for course in &COURSES {
        let Some(teacher) = user(conn, course.teacher)? else { continue };
        let row = CourseRow {
            id: CourseId::new(),
            title: course.title.to_owned(),
            summary: course.summary.to_owned(),
            published: course.published,
            enrollment_code: EnrollmentCode::generate().as_str().to_owned(),
            created_by: teacher,
            created_at: now,
            updated_at: now,
        };
        store::insert_course(conn, &row)?;
        for (position, (title, body)) in (1..).zip(course.materials) {
            store::insert_material(
                conn,
                &MaterialRow {
                    id: MaterialId::new(),
                    course_id: row.id,
                    title: (*title).to_owned(),
                    body_markdown: (*body).to_owned(),
                    body_html: markdown::render(body),
                    position,
                    created_at: now,
                    updated_at: now,
                },
            )?;
        }
        for email in course.students {
            if let Some(student) = user(conn, email)? {
                store::enroll(conn, row.id, student, now)?;
            }
        }
        created += 1;
    }
    Ok(created)
}
