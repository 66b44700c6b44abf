//! `lectern backup PATH` while students submit: the copy restores, holds every submission
//! acknowledged before the backup began and none twice, and a Lectern started on it serves them.

use crate::helpers::{Backend, TestDb, spawn_app_with, spawn_on};
use crate::load::{Ack, Classroom, SubmissionLoad, count, verify_stored};
use crate::on_both_backends;
use crate::own_postgres::{pg_bin, run};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

on_both_backends!(a_backup_taken_under_write_load_restores_every_acknowledged_submission);

async fn a_backup_taken_under_write_load_restores_every_acknowledged_submission(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.workers = Some(2)).await;
    let class = Classroom::new(&app, 4).await;
    let load = SubmissionLoad::start(&app, &class.assignment, &class.students);
    load.until("20 acknowledged submissions", Duration::from_secs(60), |r| count(r).acknowledged >= 20).await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(if backend == Backend::Sqlite { "backup.db" } else { "backup.dump" });
    let begun = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (path, url) = (path.clone(), app.config.database_url.clone());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_lectern"))
                .arg("backup")
                .arg(&path)
                .env("LECTERN_DATABASE_URL", url)
                .env("LECTERN_LOG", "error")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let ended = Instant::now();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acked_by_then = load_acks_so_far(&load);
    load.until("20 more acknowledgements after the backup", Duration::from_secs(60), |r| {
        r.iter().filter(|x| x.sent >= ended && matches!(x.status, 200 | 201)).count() >= 20
    })
    .await;
    let (acks, replies) = load.finish().await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    let size = std::fs::metadata(&path).unwrap().len();

    // Restore: SQLite's copy is a database file; a PostgreSQL dump goes into a new database. The
    // signing keys in it are sealed with auth-core's key-encryption key, which goes with it.
    let kek = app.config.key_encryption_key_file.clone().unwrap();
    let restored = match backend {
        Backend::Sqlite => TestDb::Shared { url: format!("sqlite://{}", path.display()), kek },
        Backend::Postgres => {
            let db = TestDb::new(Backend::Postgres);
            std::fs::copy(&kek, db.kek_path()).unwrap();
            let mut restore = std::process::Command::new(pg_bin().join("pg_restore"));
            restore.args(["--no-owner", "--exit-on-error", "--dbname", db.url()]).arg(&path);
            run(restore, "pg_restore");
            db
        }
    };
    let before: Vec<Ack> = acks.iter().filter(|a| a.done <= begun).cloned().collect();
    let in_backup = verify_stored(restored.url(), &class.assignment, &before);
    let against_all = verify_stored(restored.url(), &class.assignment, &acks);
    println!(
        "backup ({backend:?}): {} bytes, mode {mode:o}, took {:.2} s under load; acknowledged {} in all, {} before it \
         began, {} while it ran; the restore holds {} rows, lost {} of those before, {} rows no acknowledgement names",
        size,
        (ended - begun).as_secs_f64(),
        acks.len(),
        before.len(),
        acked_by_then.saturating_sub(before.len()),
        in_backup.rows,
        in_backup.lost,
        against_all.duplicated,
    );
    assert_eq!(in_backup.lost, 0, "an acknowledged submission is missing from the backup");
    assert_eq!(against_all.duplicated, 0, "the backup holds a submission twice or one never acknowledged");
    assert!(in_backup.rows >= before.len() && in_backup.rows <= acks.len());
    assert_eq!(mode, 0o600, "the backup holds the signing keys");
    assert_eq!(count(&replies).server_errors, 0);

    // A Lectern started on the restored copy serves what was acknowledged, to its owner.
    let restored_app = spawn_on(restored, |_| {}).await;
    let ack = &before[before.len() / 2];
    let resp = restored_app
        .get(&format!("/api/grading/submissions/{}", ack.id), Some(&class.students[ack.student].access_token))
        .await;
    assert_eq!(resp.status(), 200);
}

/// Acknowledgements counted so far (only for the report).
fn load_acks_so_far(load: &SubmissionLoad) -> usize {
    count(&load.replies()).acknowledged
}
