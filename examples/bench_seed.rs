//! Seeds a realistic database for `bench/run.sh` (issue 7): 50 teachers, 5,000 students,
//! 1,000 courses with materials and assignments, 20,000 enrollments and 50,000 submissions,
//! some graded, some of them on assignments whose grades are released.
//!
//! ```sh
//! cargo run --release --example bench_seed -- sqlite:///tmp/bench.db --fixtures fixtures.json
//! cargo run --release --example bench_seed -- sqlite:///tmp/bench.db --extra-courses 99000
//! cargo run --release --example bench_seed -- --create-pg postgres://postgres@127.0.0.1:5432/test
//! cargo run --release --example bench_seed -- --drop-pg postgres://postgres@127.0.0.1:5432/test URL
//! ```
//!
//! Rows go in with diesel batch inserts on the concrete connection of each backend (diesel's
//! `MultiConnection` has no batch insert; see `benches/catalog.rs`), 1,000 rows per statement,
//! each table inside a transaction. Every account shares ONE argon2id hash, computed once.
//! Data is pseudo-random from a fixed seed, so two runs build the same shape.

use anyhow::{Context, bail};
use auth_core::password::PasswordHasher;
use clap::Parser;
use course_service::domain::EnrollmentCode;
use course_service::markdown;
use course_service::store::{CourseRow, MaterialRow};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use grading_service::domain::SubmissionBody;
use grading_service::store::{GradeRow, SubmissionRow};
use lectern_common::db::{Db, DbConnection, to_db_time, write_tx};
use lectern_common::ids::{AssignmentId, CourseId, GradeId, MaterialId, SubmissionId, UserId};
use lectern_common::schema::{
    assignments, course_staff, courses, enrollments, grade_history, grades, materials, password_hashes, submissions,
    users,
};
use std::time::Instant;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// The one password of every seeded account.
const PASSWORD: &str = "violet meadow studies algebra";
const TEACHERS: usize = 50;
const STUDENTS: usize = 5_000;
const COURSES: usize = 1_000;
const ENROLLMENTS_PER_STUDENT: usize = 4;
/// Students 0 to CLASS - 1 are all in course 0: the benchmark's class that submits at once.
const CLASS: usize = 16;
/// Accounts the burst test's sign-ins are spread over (students 0100 to 0104).
const BURST_ACCOUNTS: usize = 5;
const MATERIALS_PER_COURSE: usize = 3;
const SUBMISSIONS: usize = 50_000;
/// Rows per INSERT statement: 8 columns x 1,000 stays far below both backends' bind limits.
const CHUNK: usize = 1_000;

#[derive(Parser, Debug)]
#[command(about = "Seed a benchmark database for bench/run.sh")]
struct Args {
    /// `sqlite://PATH` or `postgres://...`; migrations run first.
    url: Option<String>,
    /// Write the ids and accounts the benchmark uses to this JSON file.
    #[arg(long)]
    fixtures: Option<std::path::PathBuf>,
    /// Only add this many more courses (by the seeded teachers) to an already seeded database.
    #[arg(long)]
    extra_courses: Option<usize>,
    /// Create a scratch database on the server of this admin URL and print its URL.
    #[arg(long, value_name = "ADMIN_URL", conflicts_with_all = ["url", "extra_courses", "fixtures"])]
    create_pg: Option<String>,
    /// Drop the scratch database SCRATCH_URL, connecting through ADMIN_URL.
    #[arg(long, num_args = 2, value_names = ["ADMIN_URL", "SCRATCH_URL"], conflicts_with_all = ["url", "extra_courses", "fixtures", "create_pg"])]
    drop_pg: Option<Vec<String>>,
}

/// splitmix64: a small deterministic generator, so the seeded shape is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST: [&str; 24] = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Katherine",
    "Ken",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tony",
    "Leslie",
    "Shafi",
    "Hedy",
    "Dennis",
    "Sophie",
    "Robin",
    "Jean",
    "Karen",
    "Butler",
    "Adele",
];
const LAST: [&str; 24] = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "McCarthy",
    "Johnson",
    "Thompson",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Hoare",
    "Lamport",
    "Goldwasser",
    "Lamarr",
    "Ritchie",
    "Wilson",
    "Milner",
    "Sammet",
    "Jones",
    "Lampson",
    "Goldberg",
];
const LEVEL: [&str; 8] =
    ["Introduction to", "Foundations of", "Applied", "Advanced", "Practical", "Topics in", "A Tour of", "Deep Dive:"];
const SUBJECT: [&str; 20] = [
    "Rust",
    "Algorithms",
    "Databases",
    "Linear Algebra",
    "Operating Systems",
    "Compilers",
    "Networks",
    "Cryptography",
    "Statistics",
    "Type Theory",
    "Distributed Systems",
    "Web Services",
    "Concurrency",
    "Machine Learning",
    "Logic",
    "Numerical Methods",
    "Graph Theory",
    "Computer Architecture",
    "Software Testing",
    "Functional Programming",
];
const WORDS: [&str; 32] = [
    "ownership",
    "borrowing",
    "the",
    "a",
    "value",
    "moves",
    "into",
    "function",
    "each",
    "thread",
    "owns",
    "its",
    "data",
    "queries",
    "index",
    "an",
    "ordered",
    "tree",
    "so",
    "lookups",
    "stay",
    "fast",
    "when",
    "tables",
    "grow",
    "proof",
    "by",
    "induction",
    "on",
    "length",
    "of",
    "list",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        let w = rng.pick(&WORDS);
        if i == 0 {
            let mut chars = w.chars();
            if let Some(c) = chars.next() {
                s.extend(c.to_uppercase());
                s.push_str(chars.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push('.');
    s
}

fn paragraph(rng: &mut Rng, sentences: usize) -> String {
    (0..sentences)
        .map(|_| {
            let words = 6 + rng.below(10);
            sentence(rng, words)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn course_title(rng: &mut Rng, i: usize) -> String {
    format!("{} {} {}", rng.pick(&LEVEL), rng.pick(&SUBJECT), 100 + i % 900)
}

fn material_markdown(rng: &mut Rng, title: &str) -> String {
    let mut md = format!("# {title}\n\n{}\n\n## Key ideas\n\n", paragraph(rng, 4));
    for _ in 0..4 {
        md.push_str(&format!("- **{}** {}\n", rng.pick(&WORDS), sentence(rng, 8)));
    }
    md.push_str("\n```rust\nfn main() {\n    let v = vec![1, 2, 3];\n    let total: i32 = v.iter().sum();\n    println!(\"{total}\");\n}\n```\n\n");
    md.push_str(&format!(
        "## Exercises\n\n1. {}\n2. {}\n\n{}\n",
        sentence(rng, 9),
        sentence(rng, 11),
        paragraph(rng, 5)
    ));
    md
}

/// One batched INSERT per `CHUNK` rows, on the concrete connection of the backend.
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut inserted = 0usize;
        for chunk in $rows.chunks(CHUNK) {
            inserted += match &mut *$conn {
                DbConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                DbConnection::Postgresql(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
        inserted
    }};
}

fn phase<T>(label: &str, work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let started = Instant::now();
    let out = work().with_context(|| format!("seeding {label}"))?;
    eprintln!("  {label:<12} {:>6.2} s", started.elapsed().as_secs_f64());
    Ok(out)
}

#[derive(serde::Serialize)]
struct Fixtures {
    password: &'static str,
    student_email: String,
    /// Students of course 0, who submit to `assignment_id` at once in the benchmark.
    class_emails: Vec<String>,
    /// Signs in on the sign-in route (at concurrency 4, within its per-account throttle).
    burst_email: String,
    /// Sign in during the burst test, one account per sign-in client: auth-core refuses a sixth
    /// password check in flight for one account, which 50 sign-ins a second at one account reach.
    burst_emails: Vec<String>,
    teacher_email: String,
    course_id: CourseId,
    material_id: MaterialId,
    assignment_id: AssignmentId,
    submission_id: SubmissionId,
}

struct Course {
    id: CourseId,
    teacher: UserId,
    published: bool,
}

struct Assignment {
    id: AssignmentId,
    course: usize,
    due_at: PrimitiveDateTime,
    released: bool,
    max_attempts: Option<i32>,
}

fn seed(conn: &mut DbConnection, now: OffsetDateTime) -> anyhow::Result<Fixtures> {
    let mut rng = Rng(0x1EC7_E4B3_4C4D);
    let at = to_db_time(now);

    // ---- users: every account shares one argon2id hash of PASSWORD ------------------------
    let hash = phase("hash", || {
        let hasher = PasswordHasher::new().map_err(|e| anyhow::anyhow!("{e}"))?;
        hasher.hash_now(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let teacher_ids: Vec<UserId> = (0..TEACHERS).map(|_| UserId::new()).collect();
    let student_ids: Vec<UserId> = (0..STUDENTS).map(|_| UserId::new()).collect();
    phase("users", || {
        let mut rows = Vec::with_capacity(TEACHERS + STUDENTS);
        let people = teacher_ids.iter().map(|id| (id, "teacher")).chain(student_ids.iter().map(|id| (id, "student")));
        for (i, (id, role)) in people.enumerate() {
            let n = if role == "teacher" { i } else { i - TEACHERS };
            let name = format!("{} {}", FIRST[n % FIRST.len()], LAST[(n / FIRST.len()) % LAST.len()]);
            rows.push((
                users::id.eq(*id),
                users::email.eq(format!("{role}{n:04}@bench.test")),
                users::display_name.eq(name),
                users::role.eq(role),
                users::created_at.eq(to_db_time(now - Duration::days(400) + Duration::minutes(i64::try_from(i)?))),
            ));
        }
        let hashes: Vec<_> = teacher_ids
            .iter()
            .chain(&student_ids)
            .map(|id| (password_hashes::user_id.eq(*id), password_hashes::hash.eq(hash.clone())))
            .collect();
        write_tx(conn, |conn| -> anyhow::Result<usize> {
            Ok(insert_chunks!(conn, users::table, rows) + insert_chunks!(conn, password_hashes::table, hashes))
        })
    })?;

    // ---- courses: course i is created and taught by teacher i % 50; 1 in 20 is a draft -----
    let mut course_list = Vec::with_capacity(COURSES);
    phase("courses", || {
        let mut rows = Vec::with_capacity(COURSES);
        let mut teachers = Vec::with_capacity(COURSES);
        for i in 0..COURSES {
            let c = Course { id: CourseId::new(), teacher: teacher_ids[i % TEACHERS], published: i % 20 != 19 };
            let created = to_db_time(now - Duration::days(300) + Duration::hours(i64::try_from(i)?));
            rows.push(CourseRow {
                id: c.id,
                title: course_title(&mut rng, i),
                summary: sentence(&mut rng, 14),
                published: c.published,
                enrollment_code: EnrollmentCode::generate().as_str().to_owned(),
                created_by: c.teacher,
                created_at: created,
                updated_at: created,
            });
            teachers.push((
                course_staff::course_id.eq(c.id),
                course_staff::user_id.eq(c.teacher),
                course_staff::role.eq("teacher"),
                course_staff::added_at.eq(created),
            ));
            course_list.push(c);
        }
        write_tx(conn, |conn| -> anyhow::Result<()> {
            insert_chunks!(conn, courses::table, rows);
            insert_chunks!(conn, course_staff::table, teachers);
            Ok(())
        })
    })?;
    let published: Vec<usize> = (0..COURSES).filter(|i| course_list[*i].published).collect();

    // ---- enrollments: each student in 4 distinct published courses; students 0 to 15 (the
    // benchmark's class submitting at once) in course 0 ---------------------------------------
    let mut enrolled: Vec<(usize, usize)> = Vec::with_capacity(STUDENTS * ENROLLMENTS_PER_STUDENT);
    phase("enrollments", || {
        let mut rows = Vec::with_capacity(STUDENTS * ENROLLMENTS_PER_STUDENT);
        for (s, student) in student_ids.iter().enumerate() {
            let mut mine: Vec<usize> = if s < CLASS { vec![0] } else { Vec::new() };
            while mine.len() < ENROLLMENTS_PER_STUDENT {
                let c = published[rng.below(published.len())];
                if !mine.contains(&c) {
                    mine.push(c);
                }
            }
            for c in mine {
                let when = to_db_time(now - Duration::days(60) + Duration::minutes(i64::try_from(rng.below(30_000))?));
                rows.push((
                    enrollments::course_id.eq(course_list[c].id),
                    enrollments::student_id.eq(*student),
                    enrollments::enrolled_at.eq(when),
                ));
                enrolled.push((s, c));
            }
        }
        write_tx(conn, |conn| -> anyhow::Result<usize> { Ok(insert_chunks!(conn, enrollments::table, rows)) })
    })?;

    // ---- materials: 3 per course, rendered and sanitised as the service does --------------
    let mut first_material = None;
    phase("materials", || {
        let mut rows = Vec::with_capacity(COURSES * MATERIALS_PER_COURSE);
        for (i, c) in course_list.iter().enumerate() {
            for position in 1..=MATERIALS_PER_COURSE {
                let title = format!("Week {position}: {}", rng.pick(&SUBJECT));
                let body = material_markdown(&mut rng, &title);
                let id = MaterialId::new();
                if i == 0 && position == 1 {
                    first_material = Some(id);
                }
                rows.push(MaterialRow {
                    id,
                    course_id: c.id,
                    title,
                    body_html: markdown::render(&body),
                    body_markdown: body,
                    position: i32::try_from(position)?,
                    created_at: at,
                    updated_at: at,
                });
            }
        }
        write_tx(conn, |conn| -> anyhow::Result<usize> { Ok(insert_chunks!(conn, materials::table, rows)) })
    })?;

    // ---- assignments: 2 per course. The first: due two weeks ago, unlimited attempts, grades
    // released in even courses. The second: due next week, 3 attempts, not released. ---------
    let mut assignment_list: Vec<Assignment> = Vec::with_capacity(COURSES * 2);
    phase("assignments", || {
        let mut rows = Vec::with_capacity(COURSES * 2);
        for (i, c) in course_list.iter().enumerate() {
            for k in 0..2 {
                let a = Assignment {
                    id: AssignmentId::new(),
                    course: i,
                    due_at: to_db_time(if k == 0 { now - Duration::days(14) } else { now + Duration::days(7) }),
                    released: k == 0 && i % 2 == 0,
                    max_attempts: if k == 0 { None } else { Some(3) },
                };
                rows.push((
                    assignments::id.eq(a.id),
                    assignments::course_id.eq(c.id),
                    assignments::title.eq(if k == 0 { "Reading reflection" } else { "Project proposal" }),
                    assignments::instructions.eq(paragraph(&mut rng, 3)),
                    assignments::due_at.eq(a.due_at),
                    assignments::max_points_hundredths.eq(if k == 0 { 1_000 } else { 2_000 }),
                    assignments::max_attempts.eq(a.max_attempts),
                    assignments::grades_released.eq(a.released),
                    assignments::created_by.eq(c.teacher),
                    assignments::created_at.eq(to_db_time(now - Duration::days(30))),
                ));
                assignment_list.push(a);
            }
        }
        write_tx(conn, |conn| -> anyhow::Result<usize> { Ok(insert_chunks!(conn, assignments::table, rows)) })
    })?;

    // ---- submissions: every enrolled student hands in every assignment of the course once, and
    // a random quarter of those a second time: 40,000 + 10,000. About 60% of latest attempts
    // are graded (all of student 0's, so the benchmark's grade list is not empty). ------------
    let pairs: Vec<(usize, usize)> =
        enrolled.iter().flat_map(|&(s, c)| [(s, 2 * c), (s, 2 * c + 1)]).collect::<Vec<_>>();
    let mut attempts = vec![1i32; pairs.len()];
    let mut extra = SUBMISSIONS.saturating_sub(pairs.len());
    while extra > 0 {
        let p = rng.below(pairs.len());
        if attempts[p] < 3 {
            attempts[p] += 1;
            extra -= 1;
        }
    }
    let mut graded_submission = None;
    let (submitted, graded) = phase("submissions", || {
        let mut subs = Vec::with_capacity(SUBMISSIONS);
        let mut grade_rows = Vec::new();
        let mut history = Vec::new();
        for (&(s, a), &n) in pairs.iter().zip(&attempts) {
            let assignment = &assignment_list[a];
            let teacher = course_list[assignment.course].teacher;
            for attempt in 1..=n {
                // Mostly on time; one in ten attempts of the past-due assignment is late.
                let offset = Duration::hours(i64::try_from(rng.below(240))? + 1);
                let late = assignment.due_at < at && rng.chance(10);
                let submitted_at = if late { assignment.due_at + offset } else { assignment.due_at - offset };
                let submitted_at = submitted_at.min(at);
                let sentences = 3 + rng.below(6);
                let body =
                    SubmissionBody::parse(&paragraph(&mut rng, sentences)).map_err(|e| anyhow::anyhow!("{e}"))?;
                let id = SubmissionId::new();
                let row = SubmissionRow {
                    id,
                    assignment_id: assignment.id,
                    student_id: student_ids[s],
                    attempt,
                    body_sha256: body.sha256_hex(),
                    body: body.into_inner(),
                    submitted_at,
                    late: submitted_at > assignment.due_at,
                };
                if attempt == n && (s == 0 || rng.chance(60)) {
                    let score = i32::try_from(rng.below(1_001))?;
                    let graded_at = submitted_at + Duration::hours(30);
                    let feedback = sentence(&mut rng, 12);
                    if s == 0 && assignment.course == 0 && assignment.max_attempts.is_none() {
                        graded_submission = Some(id);
                    }
                    grade_rows.push(GradeRow {
                        submission_id: id,
                        score_hundredths: score,
                        feedback: feedback.clone(),
                        graded_by: teacher,
                        graded_at,
                        revision: 1,
                    });
                    history.push((
                        grade_history::id.eq(GradeId::new()),
                        grade_history::submission_id.eq(id),
                        grade_history::revision.eq(1),
                        grade_history::old_score_hundredths.eq(None::<i32>),
                        grade_history::new_score_hundredths.eq(score),
                        grade_history::feedback.eq(feedback),
                        grade_history::graded_by.eq(teacher),
                        grade_history::graded_at.eq(graded_at),
                    ));
                }
                subs.push(row);
            }
        }
        write_tx(conn, |conn| -> anyhow::Result<(usize, usize)> {
            let submitted = insert_chunks!(conn, submissions::table, subs);
            let graded = insert_chunks!(conn, grades::table, grade_rows);
            insert_chunks!(conn, grade_history::table, history);
            Ok((submitted, graded))
        })
    })?;
    let released = assignment_list.iter().filter(|a| a.released).count();
    eprintln!(
        "  {TEACHERS} teachers, {STUDENTS} students, {COURSES} courses ({} published), {} enrollments, {} materials, {} assignments ({released} released), {submitted} submissions, {graded} graded",
        published.len(),
        enrolled.len(),
        COURSES * MATERIALS_PER_COURSE,
        assignment_list.len(),
    );

    Ok(Fixtures {
        password: PASSWORD,
        student_email: "student0000@bench.test".into(),
        class_emails: (0..CLASS).map(|n| format!("student{n:04}@bench.test")).collect(),
        burst_email: "student0001@bench.test".into(),
        burst_emails: (0..BURST_ACCOUNTS).map(|n| format!("student{:04}@bench.test", 100 + n)).collect(),
        teacher_email: "teacher0000@bench.test".into(),
        course_id: course_list[0].id,
        material_id: first_material.context("course 0 has no material")?,
        assignment_id: assignment_list[0].id,
        submission_id: graded_submission.context("student 0 has no graded submission in course 0")?,
    })
}

/// Adds `count` more courses (with their teacher rows) by the teachers already seeded.
fn add_courses(conn: &mut DbConnection, count: usize, now: OffsetDateTime) -> anyhow::Result<()> {
    let mut rng = Rng(0x5CA1_AB1E);
    let teachers: Vec<UserId> = users::table.filter(users::role.eq("teacher")).select(users::id).load(conn)?;
    if teachers.is_empty() {
        bail!("no teachers: seed the database first");
    }
    let existing: i64 = courses::table.count().get_result(conn)?;
    let base = usize::try_from(existing)?;
    let at = to_db_time(now);
    // On PostgreSQL, one transaction per 1,000 courses: the `catalog_stats` trigger updates one
    // row per published course, and a single transaction's chain of versions of that row makes
    // the load quadratic (99,000 courses: ~90 s in one transaction, ~12 s like this). SQLite
    // wants the opposite: each commit rewrites most leaf pages of the random-keyed indexes.
    let per_tx = if matches!(conn, DbConnection::Postgresql(_)) { CHUNK } else { count.max(1) };
    phase("courses", || {
        let mut done = 0;
        while done < count {
            let n = per_tx.min(count - done);
            let mut rows = Vec::with_capacity(n);
            let mut taught = Vec::with_capacity(n);
            for k in 0..n {
                let i = base + done + k;
                let teacher = teachers[rng.below(teachers.len())];
                let id = CourseId::new();
                rows.push(CourseRow {
                    id,
                    title: course_title(&mut rng, i),
                    summary: sentence(&mut rng, 14),
                    published: i % 20 != 19,
                    enrollment_code: EnrollmentCode::generate().as_str().to_owned(),
                    created_by: teacher,
                    created_at: at,
                    updated_at: at,
                });
                taught.push((
                    course_staff::course_id.eq(id),
                    course_staff::user_id.eq(teacher),
                    course_staff::role.eq("teacher"),
                    course_staff::added_at.eq(at),
                ));
            }
            write_tx(conn, |conn| -> anyhow::Result<()> {
                insert_chunks!(conn, courses::table, rows);
                insert_chunks!(conn, course_staff::table, taught);
                Ok(())
            })?;
            done += n;
        }
        Ok(())
    })?;
    let total: i64 = courses::table.count().get_result(conn)?;
    eprintln!("  the database now holds {total} courses");
    Ok(())
}

fn scratch_name(url: &str) -> anyhow::Result<&str> {
    let name = url.rsplit_once('/').map(|(_, n)| n).unwrap_or_default();
    let name = name.split_once('?').map_or(name, |(n, _)| n);
    if !name.starts_with("lectern_bench_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("refusing to drop {name:?}: not a scratch database of this program");
    }
    Ok(name)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(admin) = args.create_pg {
        let name = format!("lectern_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin).with_context(|| format!("connecting to {admin}"))?;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        println!("{base}/{name}");
        return Ok(());
    }
    if let Some(pair) = args.drop_pg {
        let [admin, scratch] = pair.as_slice() else { bail!("--drop-pg ADMIN_URL SCRATCH_URL") };
        let name = scratch_name(scratch)?;
        let mut conn = diesel::PgConnection::establish(admin).with_context(|| format!("connecting to {admin}"))?;
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        return Ok(());
    }
    let url = args.url.context("a database URL is required (sqlite://PATH or postgres://...)")?;
    let db = Db::connect(&url)?;
    db.migrate()?;
    let mut pooled = db.get()?;
    let conn: &mut DbConnection = &mut pooled;
    if let DbConnection::Sqlite(c) = &mut *conn {
        // SQLite's default page cache (2 MiB) spills to the WAL mid-transaction once the random
        // UUID keys of several indexes outgrow it: ~30 page writes per course. The seed is not
        // what is measured, so give it room.
        c.batch_execute("PRAGMA cache_size = -262144")?;
    }
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    if let Some(count) = args.extra_courses {
        add_courses(conn, count, now)?;
    } else {
        let already: i64 = users::table.count().get_result(&mut *conn)?;
        if already > 0 {
            bail!("the database already has users: seed an empty database");
        }
        let fixtures = seed(conn, now)?;
        if let Some(path) = &args.fixtures {
            std::fs::write(path, serde_json::to_vec_pretty(&fixtures)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    // The planner's statistics, as autovacuum would gather them soon after a bulk load; doing
    // it now keeps a background ANALYZE from landing in the middle of a measurement.
    if let DbConnection::Postgresql(c) = &mut *conn {
        phase("analyze", || Ok(c.batch_execute("ANALYZE")?))?;
    }
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
