//! What file uploads cost the server's memory: the real `lectern serve all` binary in its own
//! process (so the figures are the server's alone), its peak resident memory (`VmHWM`, reset
//! through `/proc/PID/clear_refs`) around one 25 MiB upload, then around eight and sixteen at
//! once, while `/healthz` keeps answering. The figures are printed; the assertions are the
//! bounds that matter: one upload costs less than three times its size, every upload of a crowd
//! is taken, and sixteen at once never cost sixteen uploads' files (a few hold theirs, the others
//! wait for a slot without being read), and the zip of all sixteen (400 MiB) is streamed without
//! the server holding it.

use crate::helpers::Part;
use crate::helpers::{Backend, STUDENT_PASSWORD, TEACHER_PASSWORD, TestDb, multipart, poll_json};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

on_both_backends!(uploads_keep_the_servers_memory_bounded);

const MIB: u64 = 1024 * 1024;

/// (VmRSS, VmHWM) of a process, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak (`VmHWM`) to the current resident size.
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn uploads_keep_the_servers_memory_bounded(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |cmd: &mut Command| {
        cmd.env("LECTERN_ADDR", format!("127.0.0.1:{port}"))
            .env("LECTERN_DATABASE_URL", db.url())
            .env("LECTERN_PUBLIC_URL", &base)
            .env("LECTERN_KEY_ENCRYPTION_KEY_FILE", dir.path().join("kek"))
            .env("LECTERN_LOG", "warn");
    };
    let mut add = Command::new(env!("CARGO_BIN_EXE_lectern"));
    add.args(["users", "add", "--email", "ada@example.org", "--name", "Ada", "--role", "teacher"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    env(&mut add);
    let mut child = add.spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{TEACHER_PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "lectern users add: {}", String::from_utf8_lossy(&out.stderr));
    let mut serve = Command::new(env!("CARGO_BIN_EXE_lectern"));
    serve.args(["serve", "all"]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    env(&mut serve);
    let server = Server(serve.spawn().unwrap());
    let pid = server.0.id();
    poll_json(&format!("{base}/readyz"), |(status, _)| *status == 200).await;

    let client = reqwest::Client::new();
    let token = |email: &str, password: &str| {
        let client = client.clone();
        let (url, body) = (format!("{base}/api/auth/token"), json!({"email": email, "password": password}));
        async move {
            let v: Value = client.post(url).json(&body).send().await.unwrap().json().await.unwrap();
            v["access_token"].as_str().unwrap().to_owned()
        }
    };
    let teacher = token("ada@example.org", TEACHER_PASSWORD).await;
    let course: Value = client
        .post(format!("{base}/api/courses"))
        .bearer_auth(&teacher)
        .json(&json!({"title": "Big files", "published": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a: Value = client
        .post(format!("{base}/api/grading/courses/{}/assignments", course["id"].as_str().unwrap()))
        .bearer_auth(&teacher)
        .json(&json!({"title": "Theses", "due_at": "2030-01-01T00:00:00Z", "max_points": 10}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{base}/api/grading/assignments/{}/submissions", a["id"].as_str().unwrap());
    let mut students = Vec::new();
    for i in 0..16 {
        let email = format!("student{i}@example.org");
        let signup = json!({"email": email, "password": STUDENT_PASSWORD, "display_name": format!("Student {i}")});
        assert_eq!(client.post(format!("{base}/api/auth/signup")).json(&signup).send().await.unwrap().status(), 201);
        let t = token(&email, STUDENT_PASSWORD).await;
        let enroll = json!({"enrollment_code": course["enrollment_code"]});
        let resp = client
            .post(format!("{base}/api/courses/{}/enrollments", course["id"].as_str().unwrap()))
            .bearer_auth(&t)
            .json(&enroll)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        students.push(t);
    }
    // 25 MiB of files (10 + 10 + 5 MiB less the multipart framing), different for each upload.
    let body_of = |seed: u8| {
        let file = |n: u8, size: u64| {
            Part::file(
                &format!("part{n}.bin"),
                "application/octet-stream",
                vec![seed.wrapping_mul(31).wrapping_add(n); size as usize],
            )
        };
        multipart(&[file(1, 10 * MIB), file(2, 10 * MIB), file(3, 5 * MIB - 600)])
    };
    let upload = |token: String, seed: u8| {
        let (client, url) = (client.clone(), url.clone());
        let (content_type, body) = body_of(seed);
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Warm up with a small one (connections, first statements), then one 25 MiB upload alone.
    let small = multipart(&[Part::file("small.txt", "text/plain", b"warm".to_vec())]);
    let resp =
        client.post(&url).bearer_auth(&students[0]).header("content-type", small.0).body(small.1).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let (rss_before, _) = memory(pid);
    reset_peak(pid);
    assert_eq!(upload(students[0].clone(), 1).await, 201);
    let (rss_after, peak) = memory(pid);
    let one = peak.saturating_sub(rss_before);

    // Eight at once, then sixteen, while the health check keeps answering.
    let mut rounds = Vec::new();
    for n in [8usize, 16] {
        reset_peak(pid);
        let (rss_before_many, _) = memory(pid);
        let uploads = futures_util::future::join_all(
            students[..n].iter().enumerate().map(|(i, t)| upload(t.clone(), (n + i) as u8)),
        );
        let health = async {
            let mut answered = 0;
            for _ in 0..20 {
                if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
                    answered += 1;
                }
                tokio::task::yield_now().await;
            }
            answered
        };
        let (statuses, answered) = tokio::join!(uploads, health);
        let (_, peak_many) = memory(pid);
        assert!(statuses.iter().all(|s| *s == 201), "every upload is taken: {statuses:?}");
        assert_eq!(answered, 20, "the server kept answering");
        rounds.push((n, peak_many.saturating_sub(rss_before_many), peak_many));
    }
    println!(
        "upload memory ({backend:?}): one 25 MiB upload raised the server's peak RSS by {:.1} MiB (RSS {:.1} -> {:.1} MiB); {}",
        one as f64 / MIB as f64,
        rss_before as f64 / MIB as f64,
        rss_after as f64 / MIB as f64,
        rounds
            .iter()
            .map(|(n, delta, peak)| format!(
                "{n} at once: +{:.1} MiB (peak {:.1} MiB)",
                *delta as f64 / MIB as f64,
                *peak as f64 / MIB as f64
            ))
            .collect::<Vec<_>>()
            .join("; "),
    );
    // The zip of every latest attempt (16 students, 25 MiB each): streamed entry by entry, so the
    // server's memory does not grow with the archive.
    reset_peak(pid);
    let (rss_before_zip, _) = memory(pid);
    let started = std::time::Instant::now();
    let mut resp = client.get(format!("{url}.zip")).bearer_auth(&teacher).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut zipped = 0usize;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        zipped += chunk.len();
    }
    let (_, peak_zip) = memory(pid);
    let zip_cost = peak_zip.saturating_sub(rss_before_zip);
    println!(
        "zip ({backend:?}): 16 students' latest attempts, {:.1} MiB, streamed in {:.2} s; the server's peak RSS rose by {:.1} MiB",
        zipped as f64 / MIB as f64,
        started.elapsed().as_secs_f64(),
        zip_cost as f64 / MIB as f64,
    );
    assert!(zipped as u64 > 16 * 25 * MIB, "every file is in the archive");
    assert!(zip_cost < 100 * MIB, "the archive is not held in memory: {zip_cost} bytes");
    assert_eq!(client.get(format!("{base}/readyz")).send().await.unwrap().status(), 200);
    assert!(one < 3 * 25 * MIB, "one 25 MiB upload cost {one} bytes");
    // Sixteen uploads at once never hold sixteen uploads' files: a few hold theirs (the upload
    // slots), the others wait unread. What stays above that is the allocator's per-thread
    // arenas keeping freed buffers, which the thread count bounds, not the number of uploads.
    let peak16 = rounds[1].2;
    assert!(peak16 < rss_before + 16 * 25 * MIB, "16 at once peaked at {peak16} bytes from {rss_before}");
}
