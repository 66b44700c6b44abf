//! "Download all submissions": each student's latest attempt at an assignment in a folder of its
//! own (the text as `submission.txt`, and the files), plus `receipts.csv` listing them, as one zip
//! written while it is sent.
//!
//! The list of what goes in is read once, with the access check (staff of the course). The bytes
//! are then read one entry at a time, each in its own short database hand-off, and written to the
//! response as soon as the entry is in the archive: memory holds one entry, however many students
//! there are, and no connection is held while a slow client reads. Files and attempts never
//! change once stored, so reading them one by one sees what the list saw.
//!
//! Entry names are made by this module alone: every segment is a sanitised name (no `/`, `\`,
//! `..` or control characters) made unique within its folder, so nothing in a student's file
//! names can place an entry outside its folder.

use crate::error::GradingError;
use crate::files::{sanitise_name, unique_names};
use crate::gradebook::csv_cell;
use crate::store;
use actix_web::web::Bytes;
use futures_util::Stream;
use lectern_common::db::{Db, rfc3339};
use lectern_common::ids::SubmissionId;
use std::io::Write;
use std::sync::{Arc, Mutex};
use time::PrimitiveDateTime;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Where an entry's bytes come from.
#[derive(Clone, Debug)]
pub enum Content {
    /// A submission's text.
    Body(SubmissionId),
    /// A stored file, by SHA-256.
    Blob(String),
    /// Made here (the receipts list).
    Inline(String),
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// `folder/name`, or `name` at the top.
    pub path: String,
    pub content: Content,
    pub modified: PrimitiveDateTime,
}

/// What the archive holds, decided before the first byte is sent.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The download's file name.
    pub file_name: String,
    pub entries: Vec<Entry>,
}

/// One student's latest attempt, as the plan needs it.
pub struct Attempt {
    pub submission: SubmissionId,
    pub student_id: String,
    pub student_name: String,
    pub attempt: i32,
    pub submitted_at: PrimitiveDateTime,
    pub late: bool,
    pub has_text: bool,
    pub receipt_sha256: String,
    pub files: Vec<store::FileRow>,
}

/// The entries for these attempts (in the order given), and `receipts.csv` first.
pub fn plan(file_name: String, attempts: &[Attempt], now: PrimitiveDateTime) -> Plan {
    let folders = unique_names(
        attempts
            .iter()
            .map(|a| format!("{} ({})", sanitise_name(&a.student_name), a.student_id.get(..8).unwrap_or(&a.student_id)))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    let mut csv = String::new();
    let header = ["Student", "Student ID", "Folder", "Attempt", "Submitted (UTC)", "Late", "Receipt SHA-256", "Files"];
    csv.push_str(&header.map(csv_cell).join(","));
    csv.push_str("\r\n");
    let mut entries = Vec::new();
    for (a, folder) in attempts.iter().zip(&folders) {
        let row = [
            a.student_name.clone(),
            a.student_id.clone(),
            folder.clone(),
            a.attempt.to_string(),
            rfc3339(a.submitted_at),
            a.late.to_string(),
            a.receipt_sha256.clone(),
            a.files.len().to_string(),
        ];
        csv.push_str(&row.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
        // `submission.txt` is reserved first, so a file of that name becomes `submission (2).txt`.
        let mut names: Vec<&str> = vec!["submission.txt"];
        names.extend(a.files.iter().map(|f| f.name.as_str()));
        let unique = unique_names(names.into_iter());
        if a.has_text {
            entries.push(Entry {
                path: format!("{folder}/{}", unique[0]),
                content: Content::Body(a.submission),
                modified: a.submitted_at,
            });
        }
        for (f, name) in a.files.iter().zip(unique.iter().skip(1)) {
            entries.push(Entry {
                path: format!("{folder}/{name}"),
                content: Content::Blob(f.sha256.clone()),
                modified: a.submitted_at,
            });
        }
    }
    entries.insert(0, Entry { path: "receipts.csv".to_owned(), content: Content::Inline(csv), modified: now });
    Plan { file_name, entries }
}

/// A writer whose bytes the stream takes after each entry.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("sink poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn zip_time(t: PrimitiveDateTime) -> DateTime {
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    u16::try_from(y)
        .ok()
        .and_then(|y| DateTime::from_date_and_time(y, m, d, t.hour(), t.minute(), t.second()).ok())
        .unwrap_or_default()
}

async fn content(db: &Db, content: Content) -> Result<Vec<u8>, GradingError> {
    match content {
        Content::Inline(text) => Ok(text.into_bytes()),
        Content::Body(id) => {
            db.run(move |conn| store::body_of(conn, id)?.map(String::into_bytes).ok_or(GradingError::NotFound)).await
        }
        Content::Blob(sha256) => db.run(move |conn| store::blob(conn, &sha256)?.ok_or(GradingError::NotFound)).await,
    }
}

struct State {
    db: Db,
    zip: Option<ZipWriter<zip::write::StreamWriter<Sink>>>,
    sink: Sink,
    entries: std::vec::IntoIter<Entry>,
}

fn zip_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("writing the archive: {e}"))
}

/// The archive as a stream of chunks, one per entry (and the central directory at the end).
pub fn stream(db: Db, plan: Plan) -> impl Stream<Item = Result<Bytes, std::io::Error>> + 'static {
    let sink = Sink::default();
    // Zip64 records wherever an archive of many large files needs them.
    let zip = ZipWriter::new_stream(sink.clone()).set_auto_large_file();
    let state = State { db, zip: Some(zip), sink, entries: plan.entries.into_iter() };
    futures_util::stream::unfold(state, |mut state| async move {
        let mut zip = state.zip.take()?;
        let step: Result<Option<Vec<u8>>, std::io::Error> = async {
            match state.entries.next() {
                Some(entry) => {
                    let bytes = content(&state.db, entry.content).await.map_err(zip_error)?;
                    let options = SimpleFileOptions::default()
                        .compression_method(CompressionMethod::Stored)
                        .last_modified_time(zip_time(entry.modified))
                        .unix_permissions(0o644);
                    zip.start_file(entry.path, options).map_err(zip_error)?;
                    zip.write_all(&bytes)?;
                    drop(bytes);
                    state.zip = Some(zip);
                    Ok(Some(state.sink.take()))
                }
                None => {
                    zip.finish().map_err(zip_error)?;
                    Ok(Some(state.sink.take()))
                }
            }
        }
        .await;
        match step {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), state)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "the submissions archive stopped half-way");
                state.zip = None;
                Some((Err(e), state))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lectern_common::ids::FileId;
    use time::macros::datetime;

    fn file(name: &str) -> store::FileRow {
        store::FileRow {
            id: FileId::new(),
            submission_id: SubmissionId::new(),
            position: 1,
            name: name.to_owned(),
            content_type: "text/plain".into(),
            size: 1,
            sha256: "ab".into(),
        }
    }

    #[test]
    fn every_entry_stays_in_its_own_folder() {
        let attempt = |name: &str, files: Vec<store::FileRow>| Attempt {
            submission: SubmissionId::new(),
            student_id: "0193a0c2-7a4e-7000-8000-000000000001".into(),
            student_name: name.into(),
            attempt: 1,
            submitted_at: datetime!(2026-12-01 10:00:00),
            late: false,
            has_text: true,
            receipt_sha256: "ff".into(),
            files,
        };
        let plan = plan(
            "x.zip".into(),
            &[
                attempt("../../Mallory", vec![file("submission.txt"), file("notes.md"), file("NOTES.md")]),
                attempt("../../Mallory", vec![]),
            ],
            datetime!(2026-12-02 10:00:00),
        );
        let paths: Vec<&str> = plan.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "receipts.csv",
                "Mallory (0193a0c2)/submission.txt",
                "Mallory (0193a0c2)/submission (2).txt",
                "Mallory (0193a0c2)/notes.md",
                "Mallory (0193a0c2)/NOTES (2).md",
                "Mallory (0193a0c2) (2)/submission.txt",
            ]
        );
        for p in paths {
            assert!(!p.split('/').any(|seg| seg == ".." || seg.is_empty()) && !p.contains('\\'), "{p}");
        }
    }
}
