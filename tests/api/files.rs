//! File submissions (docs/api.md, files): multipart bodies with their limits (413 beyond, nothing
//! stored), blobs stored once per SHA-256, the receipt over text and files, downloads that are
//! always attachments, the zip of all latest attempts, `Idempotency-Key` on multipart, the page
//! form with its CSRF token, and a server's memory under 25 MiB uploads.

use crate::helpers::{Backend, Browser, Cast, Part, TEACHER_PASSWORD, TestApp, csrf_token, multipart};
use crate::on_both_backends;
use diesel::prelude::*;
use lectern_common::schema::{file_blobs, submission_files, submissions};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Read;

on_both_backends!(
    files_are_stored_once_and_covered_by_the_receipt,
    downloads_are_attachments_whatever_the_type,
    limits_answer_413_and_store_nothing,
    malformed_multipart_bodies_are_4xx_problems,
    idempotent_retries_work_for_multipart,
    the_zip_holds_each_latest_attempt_in_its_own_folder,
    the_page_form_sends_files_with_its_csrf_token,
);

const MIB: usize = 1024 * 1024;

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn essay(cast: &Cast) -> String {
    let resp = cast
        .app
        .post_json(
            &format!("/api/grading/courses/{}/assignments", cast.course_id()),
            Some(&cast.teacher.access_token),
            &json!({"title": "Essay", "due_at": "2026-12-24T12:00:00Z", "max_points": 10}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn submissions_path(a: &str) -> String {
    format!("/api/grading/assignments/{a}/submissions")
}

/// (blobs, their bytes in all, file links, submissions) in the database.
async fn stored(app: &TestApp) -> (i64, i64, i64, i64) {
    app.db
        .run(|conn| -> Result<_, lectern_common::DbError> {
            let blobs: i64 = file_blobs::table.count().get_result(conn)?;
            let sizes: Vec<i64> = file_blobs::table.select(file_blobs::size).load(conn)?;
            let links: i64 = submission_files::table.count().get_result(conn)?;
            let attempts: i64 = submissions::table.count().get_result(conn)?;
            Ok((blobs, sizes.iter().sum(), links, attempts))
        })
        .await
        .unwrap()
}

async fn files_are_stored_once_and_covered_by_the_receipt(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let pdf = b"%PDF-1.7 pretend this is an essay".to_vec();
    let notebook = vec![7u8; 300_000];
    let parts = [
        Part::text("body", "See the attached essay."),
        Part::file("essay.pdf", "application/pdf", pdf.clone()),
        Part::file("analysis.ipynb", "application/x-ipynb+json", notebook.clone()),
    ];
    let resp = cast.app.post_multipart(&submissions_path(&a), Some(&cast.enrolled.access_token), &parts, None).await;
    assert_eq!(resp.status(), 201);
    assert!(resp.headers()["location"].to_str().unwrap().starts_with("/api/grading/submissions/"));
    let receipt: Value = resp.json().await.unwrap();
    let files = receipt["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        (files[0]["name"].as_str(), files[0]["size"].as_i64(), files[0]["content_type"].as_str()),
        (Some("essay.pdf"), Some(pdf.len() as i64), Some("application/pdf"))
    );
    assert_eq!(files[0]["sha256"], hex(&pdf));
    assert_eq!(files[1]["sha256"], hex(&notebook));
    // The receipt, recomputed as docs/api.md says.
    let body_sha = hex(b"See the attached essay.");
    assert_eq!(receipt["body_sha256"], body_sha);
    let listing = format!(
        "lectern-receipt-v1\nbody {body_sha}\nfile {} {} essay.pdf\nfile {} {} analysis.ipynb\n",
        hex(&pdf),
        pdf.len(),
        hex(&notebook),
        notebook.len()
    );
    assert_eq!(receipt["receipt_sha256"], hex(listing.as_bytes()));
    // The submission shows the same, to its student and the staff.
    for who in [&cast.enrolled, &cast.grader] {
        let seen: Value = cast
            .app
            .get(&format!("/api/grading/submissions/{}", receipt["id"].as_str().unwrap()), Some(&who.access_token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["files"], receipt["files"]);
        assert_eq!(seen["receipt_sha256"], receipt["receipt_sha256"]);
    }
    assert_eq!(stored(&cast.app).await, (2, (pdf.len() + notebook.len()) as i64, 2, 1));

    // The same essay again (a second attempt), and by a classmate: linked, not stored again.
    let resp =
        cast.app.post_multipart(&submissions_path(&a), Some(&cast.enrolled.access_token), &parts[1..2], None).await;
    assert_eq!(resp.status(), 201);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["body_sha256"], hex(b""), "no text: the hash of nothing");
    let barbara = cast.app.student("Barbara").await;
    cast.app.enroll(&barbara, &cast.course).await;
    let resp = cast
        .app
        .post_multipart(
            &submissions_path(&a),
            Some(&barbara.access_token),
            &[Part::file("mine.pdf", "application/pdf", pdf.clone())],
            None,
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        stored(&cast.app).await,
        (2, (pdf.len() + notebook.len()) as i64, 4, 3),
        "stored once however often sent"
    );
    // Two files of one name get distinct names, in the order sent.
    let dup = [
        Part::file("notes.txt", "text/plain", b"one".to_vec()),
        Part::file("notes.txt", "text/plain", b"two".to_vec()),
    ];
    let resp = cast.app.post_multipart(&submissions_path(&a), Some(&barbara.access_token), &dup, None).await;
    let names: Vec<String> = resp.json::<Value>().await.unwrap()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["notes.txt", "notes (2).txt"]);
}

async fn downloads_are_attachments_whatever_the_type(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let html = b"<script>alert(document.cookie)</script>".to_vec();
    let parts = [
        Part::file("../../../etc/evil.html", "text/html", html.clone()),
        Part::file("Übung \"1\".txt", "text/plain; charset=utf-8", b"Aufgabe".to_vec()),
        Part::file("data.bin", "not a type", vec![0u8, 1, 2]),
    ];
    let resp = cast.app.post_multipart(&submissions_path(&a), Some(&cast.enrolled.access_token), &parts, None).await;
    assert_eq!(resp.status(), 201);
    let receipt: Value = resp.json().await.unwrap();
    let files = receipt["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["evil.html", "Übung %221%22.txt", "data.bin"], "paths dropped; a browser's %22 kept as sent");
    let types: Vec<&str> = files.iter().map(|f| f["content_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["text/html", "text/plain", "application/octet-stream"]);
    let s = receipt["id"].as_str().unwrap();
    for (file, bytes, disposition) in [
        (&files[0], html.as_slice(), "attachment; filename=\"evil.html\""),
        (
            &files[1],
            b"Aufgabe".as_slice(),
            "attachment; filename=\"_bung %221%22.txt\"; filename*=UTF-8''%C3%9Cbung%20%25221%2522.txt",
        ),
    ] {
        let path = format!("/api/grading/submissions/{s}/files/{}", file["id"].as_str().unwrap());
        for who in [&cast.enrolled, &cast.teacher, &cast.grader] {
            let resp = cast.app.get(&path, Some(&who.access_token)).await;
            assert_eq!(resp.status(), 200);
            let h = resp.headers();
            assert_eq!(h["content-disposition"], disposition);
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["content-security-policy"], "sandbox");
            assert!(h["cache-control"].to_str().unwrap().contains("no-store"));
            assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes);
        }
    }
    // The pages' download (cookie) carries the same headers.
    let mut browser = Browser::new(&cast.app);
    browser.sign_in("ada@example.org", TEACHER_PASSWORD).await;
    let resp = browser.get(&format!("/grading/submissions/{s}/files/{}", files[0]["id"].as_str().unwrap())).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-security-policy"], "sandbox");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    // A file id of another submission is not found through this one.
    let other = cast
        .app
        .post_multipart(
            &submissions_path(&a),
            Some(&cast.enrolled.access_token),
            &[Part::file("x.txt", "text/plain", b"x".to_vec())],
            None,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let crossed = format!("/api/grading/submissions/{s}/files/{}", other["files"][0]["id"].as_str().unwrap());
    assert_eq!(cast.app.get(&crossed, Some(&cast.teacher.access_token)).await.status(), 404);
}

async fn limits_answer_413_and_store_nothing(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let path = submissions_path(&a);
    let token = Some(cast.enrolled.access_token.as_str());
    let eleven: Vec<Part> =
        (0..11).map(|i| Part::file(&format!("f{i}.txt"), "text/plain", vec![b'a' + i as u8; 10])).collect();
    let cases: Vec<(&str, Vec<Part>)> = vec![
        ("eleven files", eleven),
        ("a file over 10 MiB", vec![Part::file("big.bin", "application/octet-stream", vec![1u8; 10 * MIB + 1])]),
        (
            "three files of 9 MiB",
            (0..3)
                .map(|i| Part::file(&format!("part{i}.bin"), "application/octet-stream", vec![i as u8; 9 * MIB]))
                .collect(),
        ),
        ("a text part over 512 KiB", vec![Part::text("body", &"a".repeat(512 * 1024 + 1))]),
    ];
    for (what, parts) in cases {
        let resp = cast.app.post_multipart(&path, token, &parts, None).await;
        assert_eq!(resp.status(), 413, "{what}");
        let problem = TestApp::problem(resp).await;
        assert_eq!(problem["status"], 413, "{what}");
        assert_eq!(stored(&cast.app).await, (0, 0, 0, 0), "{what}: nothing stored");
    }
    // A request declaring more than any submission may be is refused before it is read.
    let (content_type, _) = multipart(&[]);
    let resp = cast
        .app
        .api
        .post(cast.app.url(&path))
        .bearer_auth(&cast.enrolled.access_token)
        .header("content-type", content_type)
        .header("content-length", (40 * MIB).to_string())
        .body(vec![0u8; 0])
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }
    // Up to the limits it is taken: ten files, two of 10 MiB, 25 MiB in all.
    let mut parts: Vec<Part> =
        (0..8).map(|i| Part::file(&format!("s{i}.txt"), "text/plain", vec![b'a' + i as u8; 10])).collect();
    parts.push(Part::file("a.bin", "application/octet-stream", vec![1u8; 10 * MIB]));
    parts.push(Part::file("b.bin", "application/octet-stream", vec![2u8; 15 * MIB - 80]));
    let resp = cast.app.post_multipart(&path, token, &parts, None).await;
    assert_eq!(resp.status(), 413, "b.bin is over 10 MiB");
    parts.pop();
    parts.push(Part::file("b.bin", "application/octet-stream", vec![2u8; 10 * MIB]));
    parts.push(Part::file("c.bin", "application/octet-stream", vec![3u8; 5 * MIB - 80]));
    parts.remove(0);
    assert_eq!(parts.len(), 10);
    let resp = cast.app.post_multipart(&path, token, &parts, None).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(stored(&cast.app).await.3, 1);
    // A refused caller is refused before the body is read: 403 for a classmate of no course, not 413.
    let resp = cast
        .app
        .post_multipart(
            &path,
            Some(&cast.other_student.access_token),
            &[Part::file("big.bin", "application/octet-stream", vec![1u8; 11 * MIB])],
            None,
        )
        .await;
    assert_eq!(resp.status(), 403);
}

async fn malformed_multipart_bodies_are_4xx_problems(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let url = cast.app.url(&submissions_path(&a));
    let send = |content_type: &'static str, body: &'static [u8]| {
        let (client, url, token) = (cast.app.api.clone(), url.clone(), cast.enrolled.access_token.clone());
        async move {
            client.post(url).bearer_auth(token).header("content-type", content_type).body(body).send().await.unwrap()
        }
    };
    for (what, content_type, body, status) in [
        ("no boundary", "multipart/form-data", &b"--x\r\n"[..], 400),
        (
            "a broken stream",
            "multipart/form-data; boundary=x",
            &b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a\"\r\n\r\nabc"[..],
            400,
        ),
        ("nothing handed in", "multipart/form-data; boundary=x", &b"--x--\r\n"[..], 422),
        (
            "an unknown part",
            "multipart/form-data; boundary=x",
            &b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nabc\r\n--x--\r\n"[..],
            422,
        ),
        (
            "only blank text",
            "multipart/form-data; boundary=x",
            &b"--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n   \r\n--x--\r\n"[..],
            422,
        ),
    ] {
        let resp = send(content_type, body).await;
        assert_eq!(resp.status(), status, "{what}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{what}");
    }
    assert_eq!(stored(&cast.app).await, (0, 0, 0, 0));
}

async fn idempotent_retries_work_for_multipart(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let path = submissions_path(&a);
    let token = Some(cast.enrolled.access_token.as_str());
    let parts = [Part::text("body", "with a file"), Part::file("essay.pdf", "application/pdf", vec![5u8; 200_000])];
    let first = cast.app.post_multipart(&path, token, &parts, Some("retry-me")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = cast.app.post_multipart(&path, token, &parts, Some("retry-me")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first, "the first reply, files and receipt included");
    assert_eq!(stored(&cast.app).await.3, 1, "one attempt");
    // The key is bound to the whole request: another file, another name or another type is 422.
    for changed in [
        [Part::text("body", "with a file"), Part::file("essay.pdf", "application/pdf", vec![6u8; 200_000])],
        [Part::text("body", "with a file"), Part::file("essay-v2.pdf", "application/pdf", vec![5u8; 200_000])],
        [Part::text("body", "with a file"), Part::file("essay.pdf", "application/octet-stream", vec![5u8; 200_000])],
    ] {
        let resp = cast.app.post_multipart(&path, token, &changed, Some("retry-me")).await;
        assert_eq!(resp.status(), 422);
        assert_eq!(TestApp::problem(resp).await["errors"][0]["field"], "Idempotency-Key");
    }
    assert_eq!(stored(&cast.app).await.3, 1);
}

async fn the_zip_holds_each_latest_attempt_in_its_own_folder(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let path = submissions_path(&a);
    let barbara = cast.app.student("Barbara").await;
    cast.app.enroll(&barbara, &cast.course).await;
    // Grace's first attempt is superseded by her second; Barbara tries to climb out of her folder.
    cast.app.post_multipart(&path, Some(&cast.enrolled.access_token), &[Part::text("body", "draft")], None).await;
    let grace = [Part::text("body", "Final text."), Part::file("essay.pdf", "application/pdf", b"PDF bytes".to_vec())];
    assert_eq!(cast.app.post_multipart(&path, Some(&cast.enrolled.access_token), &grace, None).await.status(), 201);
    let evil = [
        Part::file("../../../../tmp/pwned.sh", "text/x-sh", b"rm -rf".to_vec()),
        Part::file("..\\..\\win.ini", "text/plain", b"[boot]".to_vec()),
        Part::file("submission.txt", "text/plain", b"not the text".to_vec()),
    ];
    assert_eq!(cast.app.post_multipart(&path, Some(&barbara.access_token), &evil, None).await.status(), 201);

    let resp = cast.app.get(&format!("{path}.zip"), Some(&cast.grader.access_token)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"Essay - submissions.zip\"")
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let bytes = resp.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut entries = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        assert!(f.enclosed_name().is_some(), "{name} stays inside the archive");
        assert!(
            !name.split('/').any(|seg| seg == ".." || seg.is_empty()) && !name.contains('\\') && !name.starts_with('/'),
            "{name}"
        );
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        entries.insert(name, content);
    }
    let g = format!("Grace ({})", &cast.enrolled.id[..8]);
    let b = format!("Barbara ({})", &barbara.id[..8]);
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    let mut want = vec![
        format!("{b}/pwned.sh"),
        format!("{b}/submission (2).txt"),
        format!("{b}/win.ini"),
        format!("{g}/essay.pdf"),
        format!("{g}/submission.txt"),
        "receipts.csv".to_owned(),
    ];
    want.sort();
    assert_eq!(names, want);
    assert_eq!(entries[&format!("{g}/submission.txt")], b"Final text.", "the latest attempt only");
    assert_eq!(entries[&format!("{g}/essay.pdf")], b"PDF bytes");
    assert_eq!(entries[&format!("{b}/submission (2).txt")], b"not the text");
    let csv = String::from_utf8(entries["receipts.csv"].clone()).unwrap();
    assert!(
        csv.starts_with("Student,Student ID,Folder,Attempt,Submitted (UTC),Late,Receipt SHA-256,Files\r\n"),
        "{csv}"
    );
    assert!(csv.contains(&format!("Grace,{},{g},2,", cast.enrolled.id)), "{csv}");
    // No attempt yet: an archive with the receipts list alone.
    let empty = essay(&cast).await;
    let resp = cast
        .app
        .get(&format!("/api/grading/assignments/{empty}/submissions.zip"), Some(&cast.teacher.access_token))
        .await;
    let zip = zip::ZipArchive::new(std::io::Cursor::new(resp.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(zip.len(), 1);
}

async fn the_page_form_sends_files_with_its_csrf_token(backend: Backend) {
    let cast = Cast::new(backend).await;
    let a = essay(&cast).await;
    let mut grace = Browser::new(&cast.app);
    grace.sign_in("grace@example.org", crate::helpers::STUDENT_PASSWORD).await;
    let (html, token) = grace.page(&format!("/grading/assignments/{a}")).await;
    assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("type=\"file\" name=\"files\" multiple"));
    assert_eq!(token, csrf_token(&html));
    let action = format!("/grading/assignments/{a}/submissions");
    let post = |parts: Vec<Part>, origin: &'static str| {
        let (content_type, body) = multipart(&parts);
        let cookie = grace.cookies.iter().map(|(n, (v, _))| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
        let origin = if origin.is_empty() { cast.app.config.public_url.clone() } else { origin.to_owned() };
        cast.app
            .api
            .post(cast.app.url(&action))
            .header("cookie", cookie)
            .header("origin", origin)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let file = || Part::file("essay.txt", "text/plain", b"From the form.".to_vec());
    // Without the token, with a wrong one, with the file before the token, from another origin: 403.
    for (what, parts, origin) in [
        ("no token", vec![Part::text("body", "x"), file()], ""),
        ("a wrong token", vec![Part::text("csrf_token", "forged"), file()], ""),
        ("the file before the token", vec![file(), Part::text("csrf_token", &token)], ""),
        ("another origin", vec![Part::text("csrf_token", &token), file()], "http://evil.example"),
    ] {
        let resp = post(parts, origin).await.unwrap();
        assert_eq!(resp.status(), 403, "{what}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{what}: an error page");
    }
    assert_eq!(stored(&cast.app).await, (0, 0, 0, 0));
    // The form as a browser sends it: token first, the key, the text, the files; an empty file
    // input sends an empty part, which is no file.
    let parts = vec![
        Part::text("csrf_token", &token),
        Part::text("idempotency_key", "form-key-1"),
        Part::text("body", "Text from the form."),
        file(),
        Part {
            name: "files".into(),
            filename: Some(String::new()),
            content_type: Some("application/octet-stream".into()),
            data: Vec::new(),
        },
    ];
    let resp = post(parts.clone(), "").await.unwrap();
    assert_eq!(resp.status(), 303);
    let receipt = resp.headers()["location"].to_str().unwrap().to_owned();
    // Posting the same form twice makes one attempt.
    assert_eq!(post(parts, "").await.unwrap().headers()["location"].to_str().unwrap(), receipt);
    assert_eq!(stored(&cast.app).await, (1, 14, 1, 1));
    let (html, _) = grace.page(&receipt).await;
    assert!(html.contains("essay.txt") && html.contains("Text from the form."));
    assert!(html.contains("/files/"), "a download link");
}
