//! Files handed in with a submission: reading a `multipart/form-data` body as a stream with its
//! limits enforced while it arrives, file names made safe, the receipt that covers the text and
//! every file, and the headers every download carries.
//!
//! Limits (docs/api.md, files): at most [`MAX_FILES`] parts named `files`, each at most
//! [`MAX_FILE_BYTES`], [`MAX_TOTAL_BYTES`] in all, and a `body` text part of at most
//! [`MAX_TEXT_BYTES`]. Going over any of them is a 413 as soon as the byte that breaks it
//! arrives: nothing more is kept in memory, and the rest of the body is read and dropped (up to
//! [`DRAIN_BYTES`]) so the client sees the 413 instead of a reset connection. What is kept is
//! at most one request's files; how many requests may hold theirs at once is
//! `GradingState`'s upload slots.

use crate::domain::{IdempotencyKey, SubmissionBody, sha256_hex};
use crate::error::GradingError;
use actix_web::http::header::HeaderMap;
use actix_web::web;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

/// Files per submission.
pub const MAX_FILES: usize = 10;
/// Bytes per file: 10 MiB.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Bytes of all files of one submission: 25 MiB.
pub const MAX_TOTAL_BYTES: usize = 25 * 1024 * 1024;
/// Bytes of a text part (the body is at most 100,000 characters of up to 4 bytes; a page form's
/// token and key are much smaller).
pub const MAX_TEXT_BYTES: usize = 512 * 1024;
/// Parts in all: the files and the few text fields a form sends. More is not a submission.
pub const MAX_PARTS: usize = MAX_FILES + 4;
/// After a limit is broken, how much more of the body is read (and dropped) so that the client,
/// still sending, reads the 413 rather than a reset. Past this the connection is simply closed.
pub const DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// The longest file name kept, in bytes (common file systems' limit).
pub const MAX_NAME_BYTES: usize = 255;
/// The content type stored when a part declares none, or one that is not a plain `type/subtype`.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// One file as it arrived, hashed while it was read.
#[derive(Clone, Debug)]
pub struct IncomingFile {
    pub name: String,
    pub content_type: String,
    /// Shared, so that a hand-in retried after a lost race is not copied.
    pub bytes: std::sync::Arc<Vec<u8>>,
    pub sha256: String,
}

/// What a submission hands in: text, files, or both.
#[derive(Clone, Debug)]
pub struct Handin {
    /// Exactly as sent; empty when only files were handed in.
    pub body: String,
    pub body_sha256: String,
    pub files: Vec<IncomingFile>,
}

impl Handin {
    /// A text-only submission (the JSON body).
    pub fn text(body: SubmissionBody) -> Self {
        Self { body_sha256: body.sha256_hex(), body: body.into_inner(), files: Vec::new() }
    }

    /// Text (possibly empty) and files; at least one of them. Two files of the same name get
    /// distinct ones (`essay (2).pdf`), as they will be stored.
    pub fn new(body: Option<String>, mut files: Vec<IncomingFile>) -> Result<Self, GradingError> {
        let names = unique_names(files.iter().map(|f| f.name.as_str()));
        for (file, name) in files.iter_mut().zip(names) {
            file.name = name;
        }
        let body = match body {
            Some(text) if !text.trim().is_empty() || files.is_empty() => SubmissionBody::parse(&text)?.into_inner(),
            Some(_) => String::new(),
            None if files.is_empty() => {
                return Err(GradingError::invalid("body", "hand in some text or at least one file"));
            }
            None => String::new(),
        };
        Ok(Self { body_sha256: sha256_hex(body.as_bytes()), body, files })
    }

    /// The receipt's SHA-256 over this hand-in (see [`receipt_sha256`]).
    pub fn receipt_sha256(&self) -> String {
        receipt_sha256(
            &self.body_sha256,
            self.files.iter().map(|f| (f.sha256.as_str(), f.bytes.len() as i64, f.name.as_str())),
        )
    }

    /// What an `Idempotency-Key` is bound to: everything that was sent, the declared content
    /// types included. A text-only hand-in keeps the fingerprint it always had.
    pub fn fingerprint_listing(&self) -> String {
        let mut listing = self.body_sha256.clone();
        for f in &self.files {
            listing.push_str(&format!("\nfile\t{}\t{}\t{}\t{}", f.sha256, f.bytes.len(), f.content_type, f.name));
        }
        listing
    }
}

/// The receipt: SHA-256 (lower-case hex) of this UTF-8 text, each line ending in `\n`:
///
/// ```text
/// lectern-receipt-v1
/// body <SHA-256 of the body's UTF-8 bytes, hex; of the empty string when there is no text>
/// file <SHA-256 of the file, hex> <size in bytes, decimal> <file name as stored>
/// ...                                   (one `file` line per file, in the order they were sent)
/// ```
///
/// Stored names never hold a control character, so a name cannot forge a line. Anyone holding the
/// text and the files can recompute it.
pub fn receipt_sha256<'a>(body_sha256: &str, files: impl Iterator<Item = (&'a str, i64, &'a str)>) -> String {
    let mut text = format!("lectern-receipt-v1\nbody {body_sha256}\n");
    for (sha256, size, name) in files {
        text.push_str(&format!("file {sha256} {size} {name}\n"));
    }
    sha256_hex(text.as_bytes())
}

/// A client's file name made safe to store, show and use as a download or zip entry name: only
/// its last path segment (after `/` or `\`), without control characters or the characters
/// Windows forbids (`<>:"|?*`), without leading and trailing dots and spaces, at most
/// [`MAX_NAME_BYTES`] bytes (cut on a character boundary, keeping a short extension); `file`
/// when nothing is left.
pub fn sanitise_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return "file".to_owned();
    }
    if trimmed.len() <= MAX_NAME_BYTES {
        return trimmed.to_owned();
    }
    let extension = trimmed.rsplit_once('.').map(|(_, e)| e).filter(|e| e.len() <= 16 && !e.is_empty());
    let room = MAX_NAME_BYTES - extension.map_or(0, |e| e.len() + 1);
    let mut cut = room;
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    match extension {
        Some(e) => format!("{}.{e}", &trimmed[..cut]),
        None => trimmed[..cut].to_owned(),
    }
}

/// Names made unique within one listing (case-insensitively, as on the file systems people unzip
/// to): the second `essay.pdf` becomes `essay (2).pdf`.
pub fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .map(|name| {
            let mut candidate = name.to_owned();
            let (stem, ext) = match name.rsplit_once('.') {
                Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
                _ => (name.to_owned(), String::new()),
            };
            let mut n = 2;
            while !seen.insert(candidate.to_lowercase()) {
                candidate = format!("{stem} ({n}){ext}");
                n += 1;
            }
            candidate
        })
        .collect()
}

/// A declared content type kept if it is a plain `type/subtype` (parameters dropped), else
/// [`DEFAULT_CONTENT_TYPE`]. It is only ever information: downloads are attachments whatever it says.
pub fn sanitise_content_type(declared: Option<&str>) -> String {
    let Some(raw) = declared else { return DEFAULT_CONTENT_TYPE.to_owned() };
    let essence = raw.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) => essence,
        _ => DEFAULT_CONTENT_TYPE.to_owned(),
    }
}

/// `Content-Disposition: attachment` for `name`: an ASCII `filename` (other characters as `_`)
/// for old clients, and RFC 6266's `filename*` in UTF-8 when the name is not plain ASCII.
pub fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    if ascii == name {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let mut encoded = String::new();
    for b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(b) {
            encoded.push(char::from(*b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The headers of every download, whatever was declared: an attachment, never sniffed, and a
/// sandbox should a browser render it anyway; private to whoever asked.
pub fn download_headers(name: &str) -> [(actix_web::http::header::HeaderName, String); 4] {
    use actix_web::http::header;
    [
        (header::CONTENT_DISPOSITION, attachment(name)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ]
}

/// Checks a page form's CSRF token, which must come before any file (the form puts it first).
pub type TokenCheck = Box<dyn Fn(&str) -> bool>;

/// A multipart submission as read: the text, the files, and a page form's key.
#[derive(Debug)]
pub struct Upload {
    pub body: Option<String>,
    pub files: Vec<IncomingFile>,
    /// A page form's `idempotency_key` field (the API uses the header).
    pub idempotency_key: Option<Result<IdempotencyKey, GradingError>>,
}

fn too_large(what: &str) -> GradingError {
    GradingError::TooLarge(format!(
        "{what}: a submission takes at most {MAX_FILES} files, each at most {} MiB, {} MiB in all",
        MAX_FILE_BYTES / (1024 * 1024),
        MAX_TOTAL_BYTES / (1024 * 1024)
    ))
}

fn malformed(e: impl std::fmt::Display) -> GradingError {
    GradingError::BadRequest(format!("the multipart body could not be read: {e}"))
}

/// Reads a `multipart/form-data` submission. `csrf`: for page forms, the check of the
/// `csrf_token` field, which must pass before any file is read.
pub async fn read(
    headers: &HeaderMap,
    payload: web::Payload,
    csrf: Option<TokenCheck>,
) -> Result<Upload, GradingError> {
    if let Some(length) = headers
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > (MAX_TOTAL_BYTES + MAX_TEXT_BYTES * 2 + 64 * 1024) as u64
    {
        return Err(too_large("the request is too large"));
    }
    let mut parts = actix_multipart::Multipart::new(headers, payload);
    let mut upload = Upload { body: None, files: Vec::new(), idempotency_key: None };
    let mut token_ok = csrf.is_none();
    let mut total = 0usize;
    let mut seen = 0usize;
    let outcome: Result<(), GradingError> = async {
        while let Some(field) = parts.next().await {
            let mut field = field.map_err(malformed)?;
            seen += 1;
            if seen > MAX_PARTS {
                return Err(too_large("too many parts"));
            }
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "files" => {
                    if !token_ok {
                        return Err(GradingError::Forbidden(
                            "This form has expired or came from another site. Go back, reload the page and try again.",
                        ));
                    }
                    let raw_name = field
                        .content_disposition()
                        .and_then(|cd| cd.get_filename().map(str::to_owned))
                        .unwrap_or_default();
                    let content_type = sanitise_content_type(field.content_type().map(|m| m.essence_str()));
                    // The chunks as they came, joined once at the end into a buffer of the exact
                    // size (growing one by doubling would hold up to twice the file meanwhile).
                    let mut chunks = Vec::new();
                    let mut size = 0usize;
                    let mut hasher = Sha256::new();
                    while let Some(chunk) = field.next().await {
                        let chunk = chunk.map_err(malformed)?;
                        if size + chunk.len() > MAX_FILE_BYTES {
                            return Err(too_large(&format!("the file {:?} is too large", sanitise_name(&raw_name))));
                        }
                        if total + chunk.len() > MAX_TOTAL_BYTES {
                            return Err(too_large("the files are too large together"));
                        }
                        total += chunk.len();
                        size += chunk.len();
                        hasher.update(&chunk);
                        chunks.push(chunk);
                    }
                    let mut bytes = Vec::with_capacity(size);
                    for chunk in chunks {
                        bytes.extend_from_slice(&chunk);
                    }
                    // A form's file input left empty still sends a part, without a name or bytes.
                    if raw_name.is_empty() && bytes.is_empty() {
                        continue;
                    }
                    if upload.files.len() == MAX_FILES {
                        return Err(too_large("too many files"));
                    }
                    let digest = hasher.finalize();
                    let sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
                    upload.files.push(IncomingFile {
                        name: sanitise_name(&raw_name),
                        content_type,
                        bytes: std::sync::Arc::new(bytes),
                        sha256,
                    });
                }
                "body" | "csrf_token" | "idempotency_key" => {
                    let mut text = Vec::new();
                    while let Some(chunk) = field.next().await {
                        let chunk = chunk.map_err(malformed)?;
                        if text.len() + chunk.len() > MAX_TEXT_BYTES {
                            return Err(too_large(&format!("the part {name:?} is too large")));
                        }
                        text.extend_from_slice(&chunk);
                    }
                    let text = String::from_utf8(text).map_err(|_| {
                        GradingError::invalid(if name == "body" { "body" } else { "form" }, "must be UTF-8 text")
                    })?;
                    match name.as_str() {
                        "body" => upload.body = Some(text),
                        "csrf_token" => token_ok = csrf.as_ref().is_none_or(|check| check(&text)),
                        _ if !text.is_empty() => upload.idempotency_key = Some(IdempotencyKey::parse(&text)),
                        _ => {}
                    }
                }
                other => {
                    return Err(GradingError::Invalid {
                        field: "multipart",
                        message: format!("unknown part {:?}: send `body` and `files`", sanitise_name(other)),
                    });
                }
            }
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) if !token_ok => Err(GradingError::Forbidden(
            "This form has expired or came from another site. Go back, reload the page and try again.",
        )),
        Ok(()) => Ok(upload),
        Err(e) => {
            // Whatever was kept goes now; the rest of the body is read and dropped, within reason.
            drop(upload);
            if matches!(e, GradingError::TooLarge(_) | GradingError::Forbidden(_)) {
                drain(&mut parts).await;
            }
            Err(e)
        }
    }
}

/// Reads what is left of a refused body without keeping it, up to [`DRAIN_BYTES`].
async fn drain(parts: &mut actix_multipart::Multipart) {
    let mut dropped = 0usize;
    while let Some(Ok(mut field)) = parts.next().await {
        while let Some(Ok(chunk)) = field.next().await {
            dropped += chunk.len();
            if dropped > DRAIN_BYTES {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_dangerous_characters() {
        assert_eq!(sanitise_name("essay.pdf"), "essay.pdf");
        assert_eq!(sanitise_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitise_name("C:\\Users\\me\\notes.txt"), "notes.txt");
        assert_eq!(sanitise_name(".."), "file");
        assert_eq!(sanitise_name(""), "file");
        assert_eq!(sanitise_name("  .hidden. "), "hidden");
        assert_eq!(sanitise_name("a\nb\tc\u{0}.txt"), "a_b_c_.txt");
        assert_eq!(sanitise_name("what?<now>|*\".md"), "what__now____.md");
        assert_eq!(sanitise_name("Übung ñ 例.pdf"), "Übung ñ 例.pdf");
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = sanitise_name(&long);
        assert!(cut.len() <= MAX_NAME_BYTES && cut.ends_with(".pdf"), "{cut}");
    }

    #[test]
    fn names_are_unique_within_a_listing() {
        let names = unique_names(["essay.pdf", "Essay.PDF", "essay.pdf", "notes", "notes"].into_iter());
        assert_eq!(names, ["essay.pdf", "Essay (2).PDF", "essay (3).pdf", "notes", "notes (2)"]);
    }

    #[test]
    fn content_types_are_plain_or_octet_stream() {
        assert_eq!(sanitise_content_type(Some("application/pdf")), "application/pdf");
        assert_eq!(sanitise_content_type(Some("Text/HTML; charset=utf-8")), "text/html");
        assert_eq!(sanitise_content_type(Some("nonsense")), DEFAULT_CONTENT_TYPE);
        assert_eq!(sanitise_content_type(Some("a/b\r\nX-Evil: 1")), DEFAULT_CONTENT_TYPE);
        assert_eq!(sanitise_content_type(None), DEFAULT_CONTENT_TYPE);
    }

    #[test]
    fn attachments_name_the_file_in_ascii_and_utf8() {
        assert_eq!(attachment("essay.pdf"), "attachment; filename=\"essay.pdf\"");
        assert_eq!(
            attachment("Übung 1.pdf"),
            "attachment; filename=\"_bung 1.pdf\"; filename*=UTF-8''%C3%9Cbung%201.pdf"
        );
    }

    #[test]
    fn the_receipt_covers_text_and_files_in_order() {
        let empty = sha256_hex(b"");
        let text_only = receipt_sha256(&empty, std::iter::empty());
        assert_eq!(text_only, sha256_hex(format!("lectern-receipt-v1\nbody {empty}\n").as_bytes()));
        let a = receipt_sha256(&empty, [("aa", 1, "x.txt"), ("bb", 2, "y.txt")].into_iter());
        let b = receipt_sha256(&empty, [("bb", 2, "y.txt"), ("aa", 1, "x.txt")].into_iter());
        let c = receipt_sha256(&empty, [("aa", 1, "x.txt"), ("bb", 2, "z.txt")].into_iter());
        assert_ne!(a, b, "the order counts");
        assert_ne!(a, c, "the names count");
        assert_eq!(
            a,
            sha256_hex(format!("lectern-receipt-v1\nbody {empty}\nfile aa 1 x.txt\nfile bb 2 y.txt\n").as_bytes())
        );
    }

    #[test]
    fn a_handin_needs_text_or_a_file() {
        assert!(Handin::new(None, Vec::new()).is_err());
        assert!(Handin::new(Some("  ".into()), Vec::new()).is_err());
        let file = IncomingFile {
            name: "a".into(),
            content_type: "text/plain".into(),
            bytes: std::sync::Arc::new(b"x".to_vec()),
            sha256: sha256_hex(b"x"),
        };
        let h = Handin::new(Some(" ".into()), vec![file.clone()]).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(h.body, "");
        let h = Handin::new(Some("kept as sent ".into()), vec![file]).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(h.body, "kept as sent ");
    }
}
