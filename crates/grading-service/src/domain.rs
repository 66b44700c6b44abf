//! Parsed grading input: points and scores (exact hundredths), titles, instructions, submission
//! bodies, feedback, due dates, attempt limits and idempotency keys. Each type has one
//! constructor, which answers 422 naming the field.

use crate::error::GradingError;
use crate::views::AssignmentInput;
use lectern_common::db::to_db_time;
use lectern_common::timefmt::{LocalTimeError, Zone};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;
use time::format_description::well_known::Rfc3339;

/// An amount of points, held exactly as hundredths of a point. Serialised as a JSON number
/// (`10`, `7.5`, `7.25`) and shown the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i32);

impl Points {
    pub fn from_hundredths(h: i32) -> Self {
        Self(h)
    }

    pub fn hundredths(self) -> i32 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl std::fmt::Display for Points {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, frac) = (self.0 / 100, (self.0 % 100).abs());
        let sign = if self.0 < 0 && whole == 0 { "-" } else { "" };
        match frac {
            0 => write!(f, "{sign}{whole}"),
            f2 if f2 % 10 == 0 => write!(f, "{sign}{whole}.{}", f2 / 10),
            f2 => write!(f, "{sign}{whole}.{f2:02}"),
        }
    }
}

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 { s.serialize_i32(self.0 / 100) } else { s.serialize_f64(self.as_f64()) }
    }
}

/// In OpenAPI documents: a JSON number with at most two decimals.
impl utoipa::PartialSchema for Points {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Number)
            .description(Some("An amount of points with at most two decimals, such as 10, 7.5 or 7.25"))
            .into()
    }
}

impl utoipa::ToSchema for Points {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Points")
    }
}

/// The largest `max_points` an assignment may have.
pub const MAX_POINTS_LIMIT: i64 = 100_000;

/// `12`, `12.5`, `12.50`, `.5`: a non-negative decimal with at most two decimals, in hundredths.
/// Anything else (signs, exponents, three decimals, words) says what is wrong with it.
fn parse_hundredths(raw: &str) -> Result<i64, &'static str> {
    let text = raw.trim();
    if text.starts_with('-') {
        return Err("must not be negative");
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err("must be a number");
    }
    if text.contains('.') && frac.is_empty() {
        return Err("must be a number");
    }
    if frac.len() > 2 {
        return Err("must have at most two decimals");
    }
    // Leading zeros aside, more than 7 digits is above any limit we allow anyway.
    let whole = whole.trim_start_matches('0');
    if whole.len() > 9 {
        return Err("is too large");
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| "must be a number")? };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| "must be a number")? * 10,
        _ => frac.parse().map_err(|_| "must be a number")?,
    };
    Ok(whole * 100 + frac)
}

/// The text of a JSON number as written in decimal (Rust prints `f64` without an exponent).
fn json_number_text(value: &serde_json::Value) -> Option<String> {
    let n = value.as_number()?;
    Some(match (n.as_u64(), n.as_i64(), n.as_f64()) {
        (Some(u), _, _) => u.to_string(),
        (None, Some(i), _) => i.to_string(),
        (None, None, Some(f)) => f.to_string(),
        (None, None, None) => return None,
    })
}

/// An assignment's maximum: more than 0, at most 100,000 points, at most two decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPoints(Points);

impl MaxPoints {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        let h = parse_hundredths(raw).map_err(|m| GradingError::invalid("max_points", m))?;
        if h == 0 {
            return Err(GradingError::invalid("max_points", "must be greater than 0"));
        }
        if h > MAX_POINTS_LIMIT * 100 {
            return Err(GradingError::invalid("max_points", format!("must be at most {MAX_POINTS_LIMIT}")));
        }
        i32::try_from(h).map(|h| Self(Points(h))).map_err(|_| GradingError::invalid("max_points", "is too large"))
    }

    /// From a JSON body, where it must be a number.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, GradingError> {
        let text = json_number_text(value).ok_or_else(|| GradingError::invalid("max_points", "must be a number"))?;
        Self::parse(&text)
    }

    /// Hundredths of a decimal written as text (`12.5` -> 1250), without range checks.
    pub(crate) fn hundredths_of_text(raw: &str) -> Result<i64, &'static str> {
        parse_hundredths(raw)
    }

    /// Hundredths of a JSON number, without range checks; a string is not a number.
    pub(crate) fn hundredths_of_json(value: &serde_json::Value) -> Result<i64, &'static str> {
        parse_hundredths(&json_number_text(value).ok_or("must be a number")?)
    }

    /// A stored maximum (checked when it was written).
    pub fn from_stored(hundredths: i32) -> Self {
        Self(Points(hundredths))
    }

    pub fn points(self) -> Points {
        self.0
    }
}

/// A score: 0 to the assignment's `max_points`, at most two decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score(Points);

impl Score {
    pub fn parse(raw: &str, max: MaxPoints) -> Result<Self, GradingError> {
        let h = parse_hundredths(raw).map_err(|m| GradingError::invalid("score", m))?;
        if h > i64::from(max.0.0) {
            return Err(GradingError::invalid("score", format!("must be between 0 and max_points ({})", max.0)));
        }
        i32::try_from(h).map(|h| Self(Points(h))).map_err(|_| GradingError::invalid("score", "is too large"))
    }

    /// From a JSON body, where it must be a number (`"7"` as a string is refused).
    pub fn from_json(value: &serde_json::Value, max: MaxPoints) -> Result<Self, GradingError> {
        let text = json_number_text(value).ok_or_else(|| GradingError::invalid("score", "must be a number"))?;
        Self::parse(&text, max)
    }

    pub fn points(self) -> Points {
        self.0
    }
}

fn no_control_chars(field: &'static str, text: &str) -> Result<(), GradingError> {
    lectern_common::text::no_control_chars(text).map_err(|rule| GradingError::invalid(field, rule))
}

/// Trimmed text of `min..=max` characters (not bytes), without control characters.
fn bounded(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, GradingError> {
    lectern_common::text::bounded(raw, min, max).map_err(|rule| GradingError::invalid(field, rule))
}

/// 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentTitle(String);

impl AssignmentTitle {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        bounded("title", raw, 1, 200).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Up to 20,000 characters of plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instructions(String);

impl Instructions {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        bounded("instructions", raw, 0, 20_000).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Up to 10,000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feedback(String);

impl Feedback {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        bounded("feedback", raw, 0, 10_000).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a student hands in: 1 to 100,000 characters, kept exactly as sent (no trimming: the
/// receipt's SHA-256 is of these bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionBody(String);

pub const BODY_MAX_CHARS: usize = 100_000;

impl SubmissionBody {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        if raw.trim().is_empty() {
            return Err(GradingError::invalid("body", "must not be empty"));
        }
        if raw.chars().count() > BODY_MAX_CHARS {
            return Err(GradingError::invalid("body", format!("must be at most {BODY_MAX_CHARS} characters")));
        }
        no_control_chars("body", raw)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-case hex SHA-256 of the UTF-8 bytes: what the receipt shows.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A due date: RFC 3339 with an offset, stored as UTC, to the microsecond (what both databases keep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueAt(PrimitiveDateTime);

impl DueAt {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        time::OffsetDateTime::parse(raw.trim(), &Rfc3339)
            .map(|t| Self(to_db_time(t.truncate_to_microsecond())))
            .map_err(|_| GradingError::invalid("due_at", "must be an RFC 3339 time, like 2026-12-01T17:00:00Z"))
    }

    /// From a page form: RFC 3339, or a `datetime-local` value (`2026-12-01T17:00`) read in
    /// `zone` (the one the form was shown in). A time the clocks skip in that zone is refused with
    /// a 422 naming it; one that happens twice is the earlier (`timefmt::Zone::read_local`).
    pub fn parse_form(raw: &str, zone: &Zone) -> Result<Self, GradingError> {
        let text = raw.trim();
        if let Ok(due) = Self::parse(text) {
            return Ok(due);
        }
        match zone.read_local(text) {
            Ok(t) => Ok(Self(to_db_time(t.truncate_to_microsecond()))),
            Err(LocalTimeError::Skipped) => Err(GradingError::invalid(
                "due_at",
                format!(
                    "{text} does not exist in {}: the clocks skip it when summer time starts; choose another time",
                    zone.name()
                ),
            )),
            Err(LocalTimeError::Malformed) => {
                Err(GradingError::invalid("due_at", "must be a date and time, like 2026-12-01T17:00"))
            }
        }
    }

    pub fn get(self) -> PrimitiveDateTime {
        self.0
    }
}

/// How many attempts a student may make: 1 to 1,000, or none given for unlimited.
pub fn parse_max_attempts(raw: Option<&serde_json::Value>) -> Result<Option<i32>, GradingError> {
    let invalid = || GradingError::invalid("max_attempts", "must be a whole number from 1 to 1000, or null");
    match raw {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| (1..=1000).contains(n))
            .map(Some)
            .ok_or_else(invalid),
    }
}

/// A page form's attempts field: empty means unlimited.
pub fn parse_form_max_attempts(raw: &str) -> Result<Option<i32>, GradingError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let n: i64 = text
        .parse()
        .map_err(|_| GradingError::invalid("max_attempts", "must be a whole number from 1 to 1000, or empty"))?;
    parse_max_attempts(Some(&serde_json::Value::from(n)))
}

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters (a UUID is typical).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, GradingError> {
        let ok = !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(GradingError::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new assignment's fields, parsed.
#[derive(Clone, Debug)]
pub struct NewAssignment {
    pub title: AssignmentTitle,
    pub instructions: Instructions,
    pub due_at: DueAt,
    pub max_points: MaxPoints,
    pub max_attempts: Option<i32>,
    pub late_policy: Option<crate::late::LatePolicy>,
}

impl TryFrom<AssignmentInput> for NewAssignment {
    type Error = GradingError;
    fn try_from(b: AssignmentInput) -> Result<Self, GradingError> {
        Ok(Self {
            title: AssignmentTitle::parse(&b.title)?,
            instructions: Instructions::parse(&b.instructions)?,
            due_at: DueAt::parse(&b.due_at)?,
            max_points: MaxPoints::from_json(&b.max_points)?,
            max_attempts: parse_max_attempts(b.max_attempts.as_ref())?,
            late_policy: crate::late::LatePolicy::from_json(b.late_policy.as_ref())?,
        })
    }
}

/// A score as it came: a JSON value from the API, text from a page form. It can only be parsed
/// against the assignment's `max_points`, so it is parsed once the submission is found.
#[derive(Clone, Debug)]
pub enum ScoreInput {
    Json(serde_json::Value),
    Text(String),
}

impl ScoreInput {
    pub fn parse(&self, max: MaxPoints) -> Result<Score, GradingError> {
        match self {
            Self::Json(v) => Score::from_json(v, max),
            Self::Text(t) => Score::parse(t, max),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn field(e: GradingError) -> &'static str {
        match e {
            GradingError::Invalid { field, .. } => field,
            other => unreachable!("{other}"),
        }
    }

    #[test]
    fn scores_are_exact_hundredths_within_the_maximum() {
        let max = MaxPoints::parse("10").unwrap();
        assert_eq!(Score::parse("10", max).unwrap().points().hundredths(), 1000);
        assert_eq!(Score::parse("0", max).unwrap().points().hundredths(), 0);
        assert_eq!(Score::parse("7.5", max).unwrap().points().hundredths(), 750);
        assert_eq!(Score::parse("7.25", max).unwrap().points().hundredths(), 725);
        assert_eq!(Score::parse(".5", max).unwrap().points().hundredths(), 50);
        assert_eq!(Score::parse("007.10", max).unwrap().points().hundredths(), 710);
        for bad in ["10.01", "11", "-1", "-0.5", "7.125", "abc", "", ".", "7.", "1e1", "+1", "NaN", "1 2"] {
            assert_eq!(field(Score::parse(bad, max).unwrap_err()), "score", "{bad}");
        }
        assert_eq!(Score::from_json(&json!(7.5), max).unwrap().points().hundredths(), 750);
        assert_eq!(Score::from_json(&json!(0.07), max).unwrap().points().hundredths(), 7);
        assert!(Score::from_json(&json!(7.125), max).is_err());
        assert!(Score::from_json(&json!(-1), max).is_err());
        assert!(Score::from_json(&json!("7"), max).is_err());
        assert!(Score::from_json(&json!(null), max).is_err());
        assert!(Score::from_json(&json!(1e300), max).is_err());
    }

    #[test]
    fn max_points_are_positive_and_bounded() {
        assert_eq!(MaxPoints::from_json(&json!(12.5)).unwrap().points().hundredths(), 1250);
        for bad in [json!(0), json!(-3), json!(100_000.01), json!("10"), json!(1.005)] {
            assert_eq!(field(MaxPoints::from_json(&bad).unwrap_err()), "max_points");
        }
    }

    #[test]
    fn points_print_without_needless_zeros() {
        let p = |h| Points::from_hundredths(h).to_string();
        assert_eq!([p(1000), p(750), p(725), p(5), p(0)], ["10", "7.5", "7.25", "0.05", "0"]);
        assert_eq!(serde_json::to_string(&[Points(1000), Points(750), Points(7)]).unwrap(), "[10,7.5,0.07]");
    }

    #[test]
    fn texts_have_limits_in_characters() {
        assert!(AssignmentTitle::parse("  Essay ").unwrap().into_inner() == "Essay");
        assert!(AssignmentTitle::parse(" ").is_err());
        assert!(AssignmentTitle::parse(&"é".repeat(200)).is_ok());
        assert!(AssignmentTitle::parse(&"a".repeat(201)).is_err());
        assert!(SubmissionBody::parse(&"é".repeat(100_000)).is_ok());
        assert!(SubmissionBody::parse(&"a".repeat(100_001)).is_err());
        assert!(SubmissionBody::parse("  ").is_err());
        assert!(SubmissionBody::parse("nul\0byte").is_err());
        assert_eq!(SubmissionBody::parse(" kept as sent\n").unwrap().as_str(), " kept as sent\n");
        assert!(Feedback::parse("").is_ok());
    }

    #[test]
    fn the_receipt_hash_is_sha256_hex() {
        assert_eq!(
            SubmissionBody::parse("abc").unwrap().sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn due_dates_are_rfc3339_in_utc() {
        let due = DueAt::parse("2026-12-01T18:00:00+01:00").unwrap().get();
        assert_eq!(due, time::macros::datetime!(2026-12-01 17:00:00));
        assert!(DueAt::parse("2026-12-01 17:00").is_err());
        assert!(DueAt::parse("tomorrow").is_err());
        let utc = Zone::utc();
        assert_eq!(
            DueAt::parse_form("2026-12-01T17:00", &utc).unwrap().get(),
            time::macros::datetime!(2026-12-01 17:00:00)
        );
    }

    #[test]
    fn form_due_dates_are_read_in_the_forms_zone() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(
            DueAt::parse_form("2026-12-01T17:00", &paris).unwrap().get(),
            time::macros::datetime!(2026-12-01 16:00:00)
        );
        // An RFC 3339 time carries its own offset: the zone does not apply.
        assert_eq!(
            DueAt::parse_form("2026-12-01T17:00:00Z", &paris).unwrap().get(),
            time::macros::datetime!(2026-12-01 17:00:00)
        );
        let skipped = DueAt::parse_form("2026-03-29T02:30", &paris).unwrap_err();
        assert!(skipped.to_string().contains("does not exist in Europe/Paris"), "{skipped}");
        assert!(DueAt::parse_form("soon", &paris).is_err());
    }

    #[test]
    fn attempts_and_keys() {
        assert_eq!(parse_max_attempts(None).unwrap(), None);
        assert_eq!(parse_max_attempts(Some(&json!(null))).unwrap(), None);
        assert_eq!(parse_max_attempts(Some(&json!(3))).unwrap(), Some(3));
        for bad in [json!(0), json!(-1), json!(1.5), json!("2"), json!(1001)] {
            assert!(parse_max_attempts(Some(&bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_form_max_attempts("").unwrap(), None);
        assert_eq!(parse_form_max_attempts("2").unwrap(), Some(2));
        assert!(parse_form_max_attempts("two").is_err());
        assert!(IdempotencyKey::parse("8e0f6f3c-1").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
