//! Deadlines and the late policy (docs/api.md, deadlines): a student's effective due date (their
//! extension, or the assignment's), how many days late an attempt is, the penalty that follows,
//! the final score, and when an assignment closes.
//!
//! The arithmetic is exact: percentages and points are whole hundredths.
//! - Days late: the started 24-hour periods after the effective due date (a microsecond late is
//!   one day; exactly 24 hours late is one day; 24 hours and a microsecond, two).
//! - Penalty: `min(days × percent_per_day, max_percent)`, in hundredths of a percent.
//! - Final score: `score × (100 − penalty) / 100`, rounded half up to a hundredth of a point.
//! - Closed: after `due + close_after_days × 24 h` (at that instant it still accepts work).

use crate::domain::Points;
use crate::error::GradingError;
use serde::Serialize;
use time::{Duration, PrimitiveDateTime};

/// A percentage with at most two decimals, held exactly as hundredths (`1250` is 12.5 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(i32);

impl Percent {
    pub const ZERO: Self = Self(0);
    // 100 %, in hundredths.
    const MAX: i32 = 10_000;

    pub fn from_hundredths(h: i32) -> Self {
        Self(h)
    }

    pub fn hundredths(self) -> i32 {
        self.0
    }

    /// From a JSON number in 0..=100 with at most two decimals; `field` names it in the 422.
    pub fn from_json(value: &serde_json::Value, field: &'static str) -> Result<Self, GradingError> {
        let points =
            crate::domain::MaxPoints::hundredths_of_json(value).map_err(|rule| GradingError::invalid(field, rule))?;
        Self::checked(points, field)
    }

    /// From a page form's text.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, GradingError> {
        let h = crate::domain::MaxPoints::hundredths_of_text(raw).map_err(|rule| GradingError::invalid(field, rule))?;
        Self::checked(h, field)
    }

    fn checked(h: i64, field: &'static str) -> Result<Self, GradingError> {
        if !(0..=i64::from(Self::MAX)).contains(&h) {
            return Err(GradingError::invalid(field, "must be between 0 and 100"));
        }
        i32::try_from(h).map(Self).map_err(|_| GradingError::invalid(field, "must be between 0 and 100"))
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Points::from_hundredths(self.0).fmt(f)
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Points::from_hundredths(self.0).serialize(s)
    }
}

impl utoipa::PartialSchema for Percent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Number)
            .description(Some("A percentage from 0 to 100 with at most two decimals, such as 10 or 12.5"))
            .into()
    }
}

impl utoipa::ToSchema for Percent {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Percent")
    }
}

/// The most days `close_after_days` may be (ten years): far beyond any term, small enough for
/// the arithmetic on dates.
pub const MAX_CLOSE_AFTER_DAYS: i32 = 3650;

/// An assignment's late policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LatePolicy {
    /// Taken off per started day late.
    pub percent_per_day: Percent,
    /// The most that is taken off.
    pub max_percent: Percent,
    /// Days after the (effective) due date after which submissions are refused; null: never.
    pub close_after_days: Option<i32>,
}

impl LatePolicy {
    /// `late_policy` of a JSON body: null or absent for none, else an object with the three members.
    pub fn from_json(value: Option<&serde_json::Value>) -> Result<Option<Self>, GradingError> {
        let object = match value {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::Object(o)) => o,
            Some(_) => return Err(GradingError::invalid("late_policy", "must be an object or null")),
        };
        for key in object.keys() {
            if !matches!(key.as_str(), "percent_per_day" | "max_percent" | "close_after_days") {
                return Err(GradingError::invalid("late_policy", format!("has no member {key:?}")));
            }
        }
        let required = |name: &'static str, field: &'static str| {
            object.get(name).filter(|v| !v.is_null()).ok_or_else(|| GradingError::invalid(field, "is required"))
        };
        let percent_per_day = Percent::from_json(
            required("percent_per_day", "late_policy.percent_per_day")?,
            "late_policy.percent_per_day",
        )?;
        let max_percent =
            Percent::from_json(required("max_percent", "late_policy.max_percent")?, "late_policy.max_percent")?;
        let close_after_days = match object.get("close_after_days") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(close_days(v.as_i64())?),
        };
        Ok(Some(Self { percent_per_day, max_percent, close_after_days }))
    }

    /// From a page form: empty fields (all three) mean no policy.
    pub fn from_form(per_day: &str, max: &str, close: &str) -> Result<Option<Self>, GradingError> {
        let (per_day, max, close) = (per_day.trim(), max.trim(), close.trim());
        if per_day.is_empty() && max.is_empty() && close.is_empty() {
            return Ok(None);
        }
        let per_day = if per_day.is_empty() { "0" } else { per_day };
        let max = if max.is_empty() { "100" } else { max };
        let close_after_days = if close.is_empty() { None } else { Some(close_days(close.parse::<i64>().ok())?) };
        Ok(Some(Self {
            percent_per_day: Percent::parse(per_day, "late_policy.percent_per_day")?,
            max_percent: Percent::parse(max, "late_policy.max_percent")?,
            close_after_days,
        }))
    }

    /// As the assignment row stores it (all three columns NULL for none).
    pub fn from_stored(per_day: Option<i32>, max: Option<i32>, close: Option<i32>) -> Option<Self> {
        Some(Self { percent_per_day: Percent(per_day?), max_percent: Percent(max?), close_after_days: close })
    }

    /// The penalty for an attempt `days_late` days late.
    pub fn penalty(&self, days_late: i64) -> Percent {
        let raw = i64::from(self.percent_per_day.0).saturating_mul(days_late.max(0));
        Percent(i32::try_from(raw.min(i64::from(self.max_percent.0))).unwrap_or(self.max_percent.0))
    }
}

fn close_days(raw: Option<i64>) -> Result<i32, GradingError> {
    raw.and_then(|n| i32::try_from(n).ok()).filter(|n| (0..=MAX_CLOSE_AFTER_DAYS).contains(n)).ok_or_else(|| {
        GradingError::invalid(
            "late_policy.close_after_days",
            format!("must be a whole number of days from 0 to {MAX_CLOSE_AFTER_DAYS}, or null"),
        )
    })
}

const DAY_MICROS: i128 = 86_400 * 1_000_000;

/// Started 24-hour periods between `due` and `submitted` (0 when on time).
pub fn days_late(due: PrimitiveDateTime, submitted: PrimitiveDateTime) -> i64 {
    let micros = (submitted - due).whole_microseconds();
    if micros <= 0 {
        return 0;
    }
    i64::try_from((micros + DAY_MICROS - 1) / DAY_MICROS).unwrap_or(i64::MAX)
}

/// The penalty an attempt carries under `policy` (none without a policy).
pub fn penalty(policy: Option<&LatePolicy>, due: PrimitiveDateTime, submitted: PrimitiveDateTime) -> Percent {
    policy.map_or(Percent::ZERO, |p| p.penalty(days_late(due, submitted)))
}

/// `score` less `penalty`, rounded half up to a hundredth of a point.
pub fn final_score(score: Points, penalty: Percent) -> Points {
    let kept = i64::from(Percent::MAX - penalty.0.clamp(0, Percent::MAX));
    let h = (i64::from(score.hundredths()) * kept + i64::from(Percent::MAX) / 2) / i64::from(Percent::MAX);
    Points::from_hundredths(i32::try_from(h).unwrap_or(score.hundredths()))
}

/// Whether an attempt at `now` comes after the assignment closed for a student whose effective
/// due date is `due`.
pub fn is_closed(policy: Option<&LatePolicy>, due: PrimitiveDateTime, now: PrimitiveDateTime) -> bool {
    match policy.and_then(|p| p.close_after_days) {
        Some(days) => now > due + Duration::days(i64::from(days)),
        None => false,
    }
}

/// When submissions close for a student whose effective due date is `due`, if they ever do.
pub fn closes_at(policy: Option<&LatePolicy>, due: PrimitiveDateTime) -> Option<PrimitiveDateTime> {
    policy.and_then(|p| p.close_after_days).map(|days| due + Duration::days(i64::from(days)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const DUE: PrimitiveDateTime = datetime!(2026-12-01 17:00:00);

    #[test]
    fn days_late_count_started_periods() {
        assert_eq!(days_late(DUE, DUE), 0);
        assert_eq!(days_late(DUE, DUE - Duration::hours(3)), 0);
        assert_eq!(days_late(DUE, DUE + Duration::microseconds(1)), 1);
        assert_eq!(days_late(DUE, DUE + Duration::hours(24)), 1);
        assert_eq!(days_late(DUE, DUE + Duration::hours(24) + Duration::microseconds(1)), 2);
        assert_eq!(days_late(DUE, DUE + Duration::days(9) + Duration::minutes(1)), 10);
    }

    #[test]
    fn the_penalty_grows_per_day_up_to_its_cap() {
        let p = LatePolicy { percent_per_day: Percent(1250), max_percent: Percent(3000), close_after_days: None };
        assert_eq!(p.penalty(0), Percent(0));
        assert_eq!(p.penalty(1), Percent(1250));
        assert_eq!(p.penalty(2), Percent(2500));
        assert_eq!(p.penalty(3), Percent(3000));
        assert_eq!(p.penalty(1_000_000_000_000), Percent(3000));
        assert_eq!(penalty(None, DUE, DUE + Duration::days(5)), Percent::ZERO);
        assert_eq!(penalty(Some(&p), DUE, DUE + Duration::hours(25)), Percent(2500));
    }

    #[test]
    fn final_scores_round_half_up_to_hundredths() {
        let f = |score: i32, pct: i32| final_score(Points::from_hundredths(score), Percent(pct)).hundredths();
        assert_eq!(f(1000, 0), 1000);
        assert_eq!(f(1000, 1000), 900);
        assert_eq!(f(750, 1250), 656); // 6.5625 -> 6.56
        assert_eq!(f(725, 1000), 653); // 6.525 -> 6.53 (half up)
        assert_eq!(f(1, 5000), 1); // 0.005 -> 0.01
        assert_eq!(f(999, 10000), 0);
        assert_eq!(f(0, 2500), 0);
    }

    #[test]
    fn an_assignment_closes_after_its_days() {
        let p = LatePolicy { percent_per_day: Percent(0), max_percent: Percent(0), close_after_days: Some(2) };
        assert!(!is_closed(Some(&p), DUE, DUE + Duration::days(2)));
        assert!(is_closed(Some(&p), DUE, DUE + Duration::days(2) + Duration::microseconds(1)));
        assert!(!is_closed(None, DUE, DUE + Duration::days(400)));
        let zero = LatePolicy { close_after_days: Some(0), ..p };
        assert!(is_closed(Some(&zero), DUE, DUE + Duration::seconds(1)));
        assert_eq!(closes_at(Some(&p), DUE), Some(DUE + Duration::days(2)));
    }

    #[test]
    fn policies_parse_with_named_fields() {
        let field = |v: serde_json::Value| match LatePolicy::from_json(Some(&v)) {
            Err(GradingError::Invalid { field, .. }) => field,
            other => unreachable!("{other:?}"),
        };
        let ok =
            LatePolicy::from_json(Some(&json!({"percent_per_day": 12.5, "max_percent": 50, "close_after_days": 3})))
                .unwrap()
                .unwrap();
        assert_eq!((ok.percent_per_day, ok.max_percent, ok.close_after_days), (Percent(1250), Percent(5000), Some(3)));
        assert!(LatePolicy::from_json(None).unwrap().is_none());
        assert!(LatePolicy::from_json(Some(&json!(null))).unwrap().is_none());
        let no_close = LatePolicy::from_json(Some(&json!({"percent_per_day": 0, "max_percent": 0}))).unwrap().unwrap();
        assert_eq!(no_close.close_after_days, None);
        assert_eq!(field(json!({"percent_per_day": 101, "max_percent": 50})), "late_policy.percent_per_day");
        assert_eq!(field(json!({"percent_per_day": 1.005, "max_percent": 50})), "late_policy.percent_per_day");
        assert_eq!(field(json!({"percent_per_day": -1, "max_percent": 50})), "late_policy.percent_per_day");
        assert_eq!(field(json!({"percent_per_day": "5", "max_percent": 50})), "late_policy.percent_per_day");
        assert_eq!(field(json!({"percent_per_day": 5})), "late_policy.max_percent");
        assert_eq!(
            field(json!({"percent_per_day": 5, "max_percent": 50, "close_after_days": 1.5})),
            "late_policy.close_after_days"
        );
        assert_eq!(
            field(json!({"percent_per_day": 5, "max_percent": 50, "close_after_days": -1})),
            "late_policy.close_after_days"
        );
        assert_eq!(field(json!({"percent_per_day": 5, "max_percent": 50, "grace": 1})), "late_policy");
        assert_eq!(field(json!([1, 2])), "late_policy");
        assert_eq!(LatePolicy::from_form("", "", "").unwrap(), None);
        assert_eq!(
            LatePolicy::from_form("10", "", "2").unwrap(),
            Some(LatePolicy { percent_per_day: Percent(1000), max_percent: Percent(10000), close_after_days: Some(2) })
        );
    }
}
