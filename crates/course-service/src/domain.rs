//! Parsed course input: titles, summaries, Markdown bodies, positions, searches and enrollment
//! codes, and the whole inputs the services take. Shells (api.rs, pages.rs) parse what they
//! received into these, each rule in one place, so the API and the pages answer the same 422
//! naming the same field.

use crate::error::CourseError;
use crate::views::{CoursePatch, MaterialPatch, NewCourse, NewMaterial};
use subtle::ConstantTimeEq;

fn bounded(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, CourseError> {
    lectern_common::text::bounded(raw, min, max).map_err(|rule| CourseError::invalid(field, rule))
}

/// 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseTitle(String);

impl CourseTitle {
    pub fn parse(raw: &str) -> Result<Self, CourseError> {
        bounded("title", raw, 1, 200).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Up to 2,000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary(String);

impl Summary {
    pub fn parse(raw: &str) -> Result<Self, CourseError> {
        bounded("summary", raw, 0, 2_000).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A material's title: 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaterialTitle(String);

impl MaterialTitle {
    pub fn parse(raw: &str) -> Result<Self, CourseError> {
        bounded("title", raw, 1, 200).map(Self)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Markdown of up to 50,000 characters (counted in characters, not bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaterialBody(String);

impl MaterialBody {
    pub fn parse(raw: &str) -> Result<Self, CourseError> {
        if raw.chars().count() > 50_000 {
            return Err(CourseError::invalid("body_markdown", "must be at most 50000 characters"));
        }
        lectern_common::text::no_control_chars(raw).map_err(|rule| CourseError::invalid("body_markdown", rule))?;
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A material's place in its course: 0 to 10,000.
pub fn parse_position(raw: i64) -> Result<i32, CourseError> {
    i32::try_from(raw)
        .ok()
        .filter(|p| (0..=10_000).contains(p))
        .ok_or_else(|| CourseError::invalid("position", "must be between 0 and 10000"))
}

/// Crockford's base-32 alphabet: no I, L, O or U, so codes survive being read aloud.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LEN: usize = 12;

/// An enrollment code: 12 characters of base 32, 60 random bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentCode(String);

impl EnrollmentCode {
    pub fn generate() -> Self {
        let bytes: [u8; CODE_LEN] = rand::random();
        Self(bytes.iter().map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)])).collect())
    }

    /// What a person typed: case, spaces and dashes do not matter.
    pub fn normalise(typed: &str) -> String {
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect()
    }

    /// Constant-time comparison with a stored code.
    pub fn matches(stored: &str, typed: &str) -> bool {
        let typed = Self::normalise(typed);
        typed.len() == stored.len() && bool::from(typed.as_bytes().ct_eq(stored.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A catalog search: at most 200 characters as sent; blank is no search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchText(Option<String>);

impl SearchText {
    pub fn parse(raw: Option<&str>) -> Result<Self, CourseError> {
        let Some(raw) = raw else { return Ok(Self(None)) };
        if raw.chars().count() > 200 {
            return Err(CourseError::invalid("q", "must be at most 200 characters"));
        }
        let q = raw.trim();
        Ok(Self((!q.is_empty()).then(|| q.to_owned())))
    }

    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

/// A new course.
#[derive(Clone, Debug)]
pub struct CourseDraft {
    pub title: CourseTitle,
    pub summary: Summary,
    pub published: bool,
}

impl TryFrom<NewCourse> for CourseDraft {
    type Error = CourseError;
    fn try_from(b: NewCourse) -> Result<Self, CourseError> {
        Ok(Self { title: CourseTitle::parse(&b.title)?, summary: Summary::parse(&b.summary)?, published: b.published })
    }
}

/// Changes to a course; `None` keeps the value.
#[derive(Clone, Debug, Default)]
pub struct CourseEdit {
    pub title: Option<CourseTitle>,
    pub summary: Option<Summary>,
    pub published: Option<bool>,
}

impl TryFrom<CoursePatch> for CourseEdit {
    type Error = CourseError;
    fn try_from(p: CoursePatch) -> Result<Self, CourseError> {
        Ok(Self {
            title: p.title.as_deref().map(CourseTitle::parse).transpose()?,
            summary: p.summary.as_deref().map(Summary::parse).transpose()?,
            published: p.published,
        })
    }
}

/// A new material; without a position it goes after the last one.
#[derive(Clone, Debug)]
pub struct MaterialDraft {
    pub title: MaterialTitle,
    pub body: MaterialBody,
    pub position: Option<i32>,
}

impl TryFrom<NewMaterial> for MaterialDraft {
    type Error = CourseError;
    fn try_from(b: NewMaterial) -> Result<Self, CourseError> {
        Ok(Self {
            title: MaterialTitle::parse(&b.title)?,
            body: MaterialBody::parse(&b.body_markdown)?,
            position: b.position.map(parse_position).transpose()?,
        })
    }
}

/// Changes to a material; `None` keeps the value.
#[derive(Clone, Debug, Default)]
pub struct MaterialEdit {
    pub title: Option<MaterialTitle>,
    pub body: Option<MaterialBody>,
    pub position: Option<i32>,
}

impl TryFrom<MaterialPatch> for MaterialEdit {
    type Error = CourseError;
    fn try_from(p: MaterialPatch) -> Result<Self, CourseError> {
        Ok(Self {
            title: p.title.as_deref().map(MaterialTitle::parse).transpose()?,
            body: p.body_markdown.as_deref().map(MaterialBody::parse).transpose()?,
            position: p.position.map(parse_position).transpose()?,
        })
    }
}

/// A page form's position field: empty means "after the last one".
pub fn parse_form_position(raw: Option<&str>) -> Result<Option<i32>, CourseError> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => {
            let n = p.parse::<i64>().map_err(|_| CourseError::invalid("position", "must be a whole number"))?;
            parse_position(n).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn titles_and_summaries_have_limits() {
        assert_eq!(CourseTitle::parse("  Rust  ").unwrap().into_inner(), "Rust");
        assert!(CourseTitle::parse("").is_err());
        assert!(CourseTitle::parse(&"é".repeat(200)).is_ok(), "characters, not bytes");
        assert!(CourseTitle::parse(&"a".repeat(201)).is_err());
        assert!(Summary::parse("").is_ok());
        assert!(Summary::parse(&"a".repeat(2_001)).is_err());
        assert!(MaterialBody::parse(&"é".repeat(50_000)).is_ok());
        assert!(MaterialBody::parse(&"a".repeat(50_001)).is_err());
        assert!(CourseTitle::parse("a\u{7}b").is_err());
        assert_eq!(parse_position(3).unwrap(), 3);
        assert!(parse_position(-1).is_err());
        assert!(parse_position(10_001).is_err());
    }

    #[test]
    fn searches_are_at_most_200_characters_as_sent() {
        assert_eq!(SearchText::parse(None).unwrap().get(), None);
        assert_eq!(SearchText::parse(Some("  ")).unwrap().get(), None);
        assert_eq!(SearchText::parse(Some(" rust ")).unwrap().get(), Some("rust"));
        assert!(SearchText::parse(Some(&"é".repeat(200))).is_ok());
        let too_long = SearchText::parse(Some(&"a".repeat(201))).unwrap_err();
        assert!(matches!(too_long, CourseError::Invalid { field: "q", .. }), "{too_long}");
    }

    #[test]
    fn codes_are_random_and_forgiving_to_type() {
        let a = EnrollmentCode::generate();
        assert_eq!(a.as_str().len(), 12);
        assert_ne!(a, EnrollmentCode::generate());
        let typed = format!(" {}-{} ", a.as_str()[..6].to_lowercase(), &a.as_str()[6..]);
        assert!(EnrollmentCode::matches(a.as_str(), &typed));
        assert!(!EnrollmentCode::matches(a.as_str(), &a.as_str()[..11]));
        assert!(!EnrollmentCode::matches(a.as_str(), "000000000000"));
    }
}
