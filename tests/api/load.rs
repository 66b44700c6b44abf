//! Students submitting an assignment as fast as they can, each submission under its own
//! `Idempotency-Key` and retried with the same key until it is acknowledged, while a test takes
//! the database away. Every reply is logged, so the test can say what clients saw (503s with
//! `Retry-After`, never a 500), and [`verify_stored`] checks the database afterwards: every
//! acknowledged submission is there, and no submission is stored twice.

use crate::helpers::{Actor, TestApp};
use lectern_common::schema::submissions;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One reply a student got.
#[derive(Clone, Debug)]
pub struct Reply {
    pub student: usize,
    pub sent: Instant,
    pub done: Instant,
    /// 0: no HTTP reply at all (the connection to Lectern failed).
    pub status: u16,
    pub retry_after: bool,
    pub problem_json: bool,
}

/// A submission the server acknowledged (201, or the stored reply replayed for a retried key).
#[derive(Clone, Debug)]
pub struct Ack {
    pub key: String,
    pub id: String,
    /// Which student (index into the load's students).
    pub student: usize,
    /// When the acknowledgement arrived.
    pub done: Instant,
}

pub struct SubmissionLoad {
    log: Arc<Mutex<Vec<Reply>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Ack>>>,
}

/// How long a student waits before retrying after a failure. Shorter than the `Retry-After`
/// Lectern sends (1 s), so that the test sees the first moment the service is back.
const RETRY_PAUSE: Duration = Duration::from_millis(25);

impl SubmissionLoad {
    pub fn start(app: &TestApp, assignment: &str, students: &[Actor]) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let url = app.url(&format!("/api/grading/assignments/{assignment}/submissions"));
        let tasks = students
            .iter()
            .enumerate()
            .map(|(n, student)| {
                let (log, stop, client, url) = (Arc::clone(&log), Arc::clone(&stop), client.clone(), url.clone());
                let token = student.access_token.clone();
                tokio::spawn(async move {
                    let mut acks = Vec::new();
                    while !stop.load(Ordering::Acquire) {
                        let key = uuid::Uuid::new_v4().to_string();
                        // The same key until acknowledged, as a client that cares about its work does.
                        loop {
                            let sent = Instant::now();
                            let resp = client
                                .post(&url)
                                .bearer_auth(&token)
                                .header("Idempotency-Key", &key)
                                .json(&json!({ "body": format!("Essay under key {key}") }))
                                .send()
                                .await;
                            let mut reply = Reply {
                                student: n,
                                sent,
                                done: Instant::now(),
                                status: 0,
                                retry_after: false,
                                problem_json: false,
                            };
                            let acked = match resp {
                                Ok(resp) => {
                                    reply.status = resp.status().as_u16();
                                    reply.retry_after = resp.headers().contains_key("retry-after");
                                    reply.problem_json = resp
                                        .headers()
                                        .get("content-type")
                                        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
                                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                                    reply.done = Instant::now();
                                    (reply.status == 201 || reply.status == 200)
                                        .then(|| body["id"].as_str().map(str::to_owned))
                                        .flatten()
                                }
                                Err(_) => None,
                            };
                            let (status, done) = (reply.status, reply.done);
                            log.lock().unwrap().push(reply);
                            if let Some(id) = acked {
                                acks.push(Ack { key: key.clone(), id, student: n, done });
                                break;
                            }
                            if (400..500).contains(&status) {
                                // A refusal a retry cannot change; the test reports it.
                                break;
                            }
                            tokio::time::sleep(RETRY_PAUSE).await;
                        }
                    }
                    acks
                })
            })
            .collect();
        Self { log, stop, tasks }
    }

    pub fn replies(&self) -> Vec<Reply> {
        self.log.lock().unwrap().clone()
    }

    /// Polls (every 10 ms) until `done` holds for the replies so far; panics after `limit`.
    pub async fn until(&self, what: &str, limit: Duration, done: impl Fn(&[Reply]) -> bool) {
        let start = Instant::now();
        loop {
            if done(&self.log.lock().unwrap()) {
                return;
            }
            assert!(start.elapsed() < limit, "gave up after {limit:?} waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the students (each finishes the submission in hand) and returns what they saw.
    pub async fn finish(self) -> (Vec<Ack>, Vec<Reply>) {
        self.stop.store(true, Ordering::Release);
        let mut acks = Vec::new();
        for task in self.tasks {
            acks.extend(task.await.unwrap());
        }
        let replies = self.log.lock().unwrap().clone();
        (acks, replies)
    }
}

/// What the clients saw, counted.
#[derive(Debug, Default)]
pub struct Seen {
    pub acknowledged: usize,
    pub unavailable: usize,
    pub unavailable_without_retry_after: usize,
    pub unavailable_not_problem_json: usize,
    pub server_errors: usize,
    pub no_reply: usize,
    pub other: Vec<u16>,
}

pub fn count(replies: &[Reply]) -> Seen {
    let mut seen = Seen::default();
    for r in replies {
        match r.status {
            200 | 201 => seen.acknowledged += 1,
            503 => {
                seen.unavailable += 1;
                seen.unavailable_without_retry_after += usize::from(!r.retry_after);
                seen.unavailable_not_problem_json += usize::from(!r.problem_json);
            }
            0 => seen.no_reply += 1,
            s if s >= 500 => seen.server_errors += 1,
            s => seen.other.push(s),
        }
    }
    seen
}

/// The first acknowledgement of a request sent after `since`, as time after `since`.
pub fn first_success_after(replies: &[Reply], since: Instant) -> Option<Duration> {
    replies.iter().filter(|r| r.sent >= since && matches!(r.status, 200 | 201)).map(|r| r.done - since).min()
}

/// What the database holds against what was acknowledged.
#[derive(Debug)]
pub struct Stored {
    pub rows: usize,
    /// Acknowledged submissions the database does not have.
    pub lost: usize,
    /// Rows no acknowledgement names: a key stored twice (every key ends acknowledged).
    pub duplicated: usize,
}

/// Reads the assignment's submissions at `db_url` and compares them with the acknowledgements.
pub fn verify_stored(db_url: &str, assignment: &str, acks: &[Ack]) -> Stored {
    use diesel::prelude::*;
    let mut conn = lectern_common::db::establish(db_url).expect("connect to verify");
    let rows: Vec<(String, String, i32)> = submissions::table
        .filter(submissions::assignment_id.eq(assignment))
        .select((submissions::id, submissions::student_id, submissions::attempt))
        .load(&mut conn)
        .expect("read submissions");
    let ids: HashSet<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
    let acked: HashMap<&str, &str> = acks.iter().map(|a| (a.id.as_str(), a.key.as_str())).collect();
    let keys: HashSet<&str> = acks.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), acks.len(), "each key is acknowledged once");
    assert_eq!(acked.len(), acks.len(), "two keys acknowledged with one submission id");
    let attempts: HashSet<(&str, i32)> = rows.iter().map(|(_, s, a)| (s.as_str(), *a)).collect();
    assert_eq!(attempts.len(), rows.len(), "attempt numbers are distinct per student");
    Stored {
        rows: rows.len(),
        lost: acks.iter().filter(|a| !ids.contains(a.id.as_str())).count(),
        duplicated: rows.iter().filter(|(id, _, _)| !acked.contains_key(id.as_str())).count(),
    }
}

/// A teacher's published course with an assignment of unlimited attempts, and `n` enrolled
/// students signed in.
pub struct Classroom {
    pub course: Value,
    pub assignment: String,
    pub students: Vec<Actor>,
}

impl Classroom {
    pub async fn new(app: &TestApp, n: usize) -> Self {
        let teacher = app.teacher("Ada").await;
        let course = app.create_course(&teacher, "Databases", true).await;
        let resp = app
            .post_json(
                &format!("/api/grading/courses/{}/assignments", course["id"].as_str().unwrap()),
                Some(&teacher.access_token),
                &json!({
                    "title": "Essay on durability",
                    "instructions": "As many drafts as you like.",
                    "due_at": "2027-01-31T12:00:00Z",
                    "max_points": 10,
                    "max_attempts": null,
                }),
            )
            .await;
        assert_eq!(resp.status(), 201, "create assignment");
        let assignment = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let mut students = Vec::new();
        for i in 0..n {
            let student = app.student(&format!("Student {i}")).await;
            app.enroll(&student, &course).await;
            students.push(student);
        }
        Self { course, assignment, students }
    }
}
