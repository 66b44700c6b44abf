//! Times as people read them, in one place: an account's time zone ([`Zone`], an IANA name from
//! the tz database `jiff` bundles, so nothing needs installing), instants shown in it
//! ("Mon 7 Dec 2026, 17:00 CET", with "in 3 days" where it helps) inside
//! `<time datetime="RFC 3339 UTC">` elements ([`TimeFmt`], [`LocalTime`]), and the `datetime-local`
//! values of forms read in it ([`Zone::read_local`]). The JSON API never comes here: it stays UTC.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::fmt;

/// The zone of an account that never chose one (docs/decisions.md).
pub const DEFAULT_ZONE: &str = "UTC";

/// The longest time zone name accepted (the longest IANA name is about 32 characters).
const MAX_NAME: usize = 64;

/// An IANA time zone, by name.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Zone {
    pub fn utc() -> Self {
        Self { name: DEFAULT_ZONE.to_owned(), tz: TimeZone::UTC }
    }

    /// A zone by its IANA name (`Europe/Paris`, `Asia/Kolkata`, `UTC`), or `None` for a name the
    /// bundled tz database does not know.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let tz = jiff::tz::db().get(name).ok()?;
        // The database's own spelling (names are matched without regard to case).
        let canonical = tz.iana_name().unwrap_or(name).to_owned();
        Some(Self { name: canonical, tz })
    }

    /// The zone stored for an account: its name, or UTC should the name ever be unknown.
    pub fn from_stored(name: &str) -> Self {
        Self::parse(name).unwrap_or_else(Self::utc)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every zone name the bundled database knows, sorted: the choices of the account form. Made
    /// once per process (about 600 names), not on each render of that page.
    pub fn all_names() -> &'static [String] {
        static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
            let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_owned()).collect();
            names.sort();
            names.dedup();
            names
        });
        &NAMES
    }

    /// A wall-clock time typed into a form (`datetime-local`: `2026-12-07T17:00`, seconds
    /// optional) read in this zone, as a UTC instant. Where the clocks go forward the time does
    /// not exist: that is refused ([`LocalTimeError::Skipped`]) rather than moved, so a deadline is
    /// never set to a time nobody typed. Where they go back it happens twice: the earlier of the
    /// two is taken (the first time the clock shows it), and the page shows the instant with its
    /// abbreviation (CEST, not CET) so the teacher sees which.
    pub fn read_local(&self, raw: &str) -> Result<time::OffsetDateTime, LocalTimeError> {
        let civil: DateTime = raw.trim().parse().map_err(|_| LocalTimeError::Malformed)?;
        let ambiguous = self.tz.to_ambiguous_timestamp(civil);
        let offset = match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            AmbiguousOffset::Gap { .. } => return Err(LocalTimeError::Skipped),
            AmbiguousOffset::Fold { before, .. } => before,
        };
        let ts = offset.to_timestamp(civil).map_err(|_| LocalTimeError::Malformed)?;
        to_offset_date_time(ts).ok_or(LocalTimeError::Malformed)
    }

    /// The `datetime-local` value that shows this instant in this zone (to prefill a form).
    pub fn local_input(&self, t: time::PrimitiveDateTime) -> String {
        let zoned = to_timestamp(t).to_zoned_datetime(self.tz.clone());
        zoned.strftime("%Y-%m-%dT%H:%M").to_string()
    }
}

/// The time zone of an account, read on the connection of a page's own work (one hand-off).
pub fn zone_of(conn: &mut crate::db::DbConnection, user: crate::ids::UserId) -> diesel::QueryResult<Zone> {
    use crate::schema::users;
    use diesel::prelude::*;
    let name: Option<String> = users::table.find(user).select(users::time_zone).first(conn).optional()?;
    Ok(name.map_or_else(Zone::utc, |n| Zone::from_stored(&n)))
}

/// Whether a service call that pages and the API share also reads the caller's time zone: pages
/// do, on the connection of their own work; the API shows no times in a zone, so it does not.
pub fn zone_if(conn: &mut crate::db::DbConnection, user: crate::ids::UserId, page: bool) -> diesel::QueryResult<Zone> {
    if page { zone_of(conn, user) } else { Ok(Zone::utc()) }
}

/// Why a form's local time could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalTimeError {
    /// Not a `datetime-local` value.
    Malformed,
    /// The clocks skip this time in the zone (the start of summer time).
    Skipped,
}

fn to_timestamp(t: time::PrimitiveDateTime) -> Timestamp {
    let micros = t.assume_utc().unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).ok().and_then(|m| Timestamp::from_microsecond(m).ok()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn to_offset_date_time(ts: Timestamp) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts.as_microsecond()) * 1_000).ok()
}

/// Formats instants for one page: in the reader's zone, relative to the page's "now".
#[derive(Clone, Debug)]
pub struct TimeFmt {
    zone: Zone,
    now: Timestamp,
}

impl Default for TimeFmt {
    fn default() -> Self {
        Self { zone: Zone::utc(), now: Timestamp::UNIX_EPOCH }
    }
}

/// What the templates hand to [`TimeFmt::at`]: a stored instant, or the RFC 3339 text of a view.
pub trait Instant {
    fn instant(&self) -> Option<time::PrimitiveDateTime>;
}

impl Instant for time::PrimitiveDateTime {
    fn instant(&self) -> Option<time::PrimitiveDateTime> {
        Some(*self)
    }
}

impl Instant for str {
    fn instant(&self) -> Option<time::PrimitiveDateTime> {
        time::OffsetDateTime::parse(self, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(crate::db::to_db_time)
    }
}

impl Instant for String {
    fn instant(&self) -> Option<time::PrimitiveDateTime> {
        self.as_str().instant()
    }
}

impl<T: Instant + ?Sized> Instant for &T {
    fn instant(&self) -> Option<time::PrimitiveDateTime> {
        (**self).instant()
    }
}

impl TimeFmt {
    pub fn new(zone: Zone, now: time::OffsetDateTime) -> Self {
        Self { zone, now: to_timestamp(crate::db::to_db_time(now)) }
    }

    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// `<time datetime="2026-12-07T16:00:00Z">Mon 7 Dec 2026, 17:00 CET</time>`.
    pub fn at(&self, t: impl Instant) -> LocalTime {
        self.make(t, false)
    }

    /// As [`at`](Self::at), followed by how far it is from now: "(in 3 days)", "(2 hours ago)".
    pub fn due(&self, t: impl Instant) -> LocalTime {
        self.make(t, true)
    }

    /// The readable text alone, without the element.
    pub fn text(&self, t: impl Instant) -> String {
        self.make(t, false).text
    }

    /// The `datetime-local` value of an instant in this zone.
    pub fn input(&self, t: impl Instant) -> String {
        t.instant().map(|t| self.zone.local_input(t)).unwrap_or_default()
    }

    fn make(&self, t: impl Instant, relative: bool) -> LocalTime {
        let Some(t) = t.instant() else {
            return LocalTime { utc: String::new(), text: String::new(), relative: None };
        };
        let ts = to_timestamp(t);
        let zoned = ts.to_zoned_datetime(self.zone.tz.clone());
        let info = self.zone.tz.to_offset_info(ts);
        let abbreviation = info.abbreviation();
        // Zones without a lettered abbreviation ("+0530", "-03" in the tz database) show
        // the offset, always as +HHMM.
        let label = if abbreviation.chars().any(|c| c.is_ascii_alphabetic()) {
            abbreviation.to_owned()
        } else {
            zoned.strftime("%z").to_string()
        };
        LocalTime {
            utc: ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            text: format!("{}, {} {label}", zoned.strftime("%a %-d %b %Y"), zoned.strftime("%H:%M")),
            relative: relative.then(|| relative_text(ts.as_second() - self.now.as_second())),
        }
    }
}

/// "in 3 days", "2 hours ago", "in 5 minutes", "just now": the largest whole unit.
pub fn relative_text(seconds: i64) -> String {
    let abs = seconds.unsigned_abs();
    let (n, unit) = match abs {
        0..60 => return "just now".to_owned(),
        60..3_600 => (abs / 60, "minute"),
        3_600..86_400 => (abs / 3_600, "hour"),
        _ => (abs / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if seconds > 0 { format!("in {n} {unit}{plural}") } else { format!("{n} {unit}{plural} ago") }
}

/// An instant as a page shows it. Displays as a whole `<time>` element; its parts are plain
/// text made here (digits, names of days and months, a tz database abbreviation), escaped anyway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// RFC 3339 in UTC, to the second: the element's `datetime`.
    pub utc: String,
    /// "Mon 7 Dec 2026, 17:00 CET".
    pub text: String,
    /// "in 3 days", when asked for.
    pub relative: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.utc.is_empty() {
            return Ok(());
        }
        write!(f, "<time datetime=\"{}\">{}</time>", escape(&self.utc), escape(&self.text))?;
        if let Some(rel) = &self.relative {
            write!(f, " <small class=\"muted\">({})</small>", escape(rel))?;
        }
        Ok(())
    }
}

impl askama::filters::HtmlSafe for LocalTime {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use time::macros::datetime;

    fn fmt_in(zone: &str) -> TimeFmt {
        TimeFmt::new(Zone::parse(zone).unwrap(), datetime!(2026-12-04 16:00 UTC))
    }

    #[test]
    fn a_winter_instant_in_paris_reads_as_cet() {
        let t = fmt_in("Europe/Paris").due(datetime!(2026-12-07 16:00));
        assert_eq!(t.text, "Mon 7 Dec 2026, 17:00 CET");
        assert_eq!(t.utc, "2026-12-07T16:00:00Z");
        assert_eq!(t.relative.as_deref(), Some("in 3 days"));
        assert_eq!(
            t.to_string(),
            "<time datetime=\"2026-12-07T16:00:00Z\">Mon 7 Dec 2026, 17:00 CET</time> <small class=\"muted\">(in 3 days)</small>"
        );
    }

    #[test]
    fn summer_time_changes_the_offset_and_the_abbreviation() {
        let f = fmt_in("Europe/Paris");
        // 2026-03-29 01:00 UTC: clocks in Paris jump from 02:00 CET to 03:00 CEST.
        assert_eq!(f.text(datetime!(2026-03-29 00:59)), "Sun 29 Mar 2026, 01:59 CET");
        assert_eq!(f.text(datetime!(2026-03-29 01:00)), "Sun 29 Mar 2026, 03:00 CEST");
        // 2026-10-25 01:00 UTC: back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
        assert_eq!(f.text(datetime!(2026-10-25 00:30)), "Sun 25 Oct 2026, 02:30 CEST");
        assert_eq!(f.text(datetime!(2026-10-25 01:30)), "Sun 25 Oct 2026, 02:30 CET");
    }

    #[test]
    fn a_half_hour_offset_and_a_lettered_abbreviation() {
        assert_eq!(fmt_in("Asia/Kolkata").text(datetime!(2026-12-07 12:00)), "Mon 7 Dec 2026, 17:30 IST");
        assert_eq!(fmt_in("Australia/Adelaide").text(datetime!(2026-12-07 12:00)), "Mon 7 Dec 2026, 22:30 ACDT");
    }

    #[test]
    fn a_zone_without_a_lettered_abbreviation_shows_its_offset() {
        // The tz database names Colombo's time "+0530" and São Paulo's "-03".
        assert_eq!(fmt_in("Asia/Colombo").text(datetime!(2026-12-07 12:00)), "Mon 7 Dec 2026, 17:30 +0530");
        assert_eq!(fmt_in("America/Sao_Paulo").text(datetime!(2026-12-07 12:00)), "Mon 7 Dec 2026, 09:00 -0300");
    }

    #[test]
    fn utc_and_rfc3339_text_from_views() {
        let f = fmt_in("UTC");
        let t = f.at("2026-11-30T03:08:44.881421481Z");
        assert_eq!(t.text, "Mon 30 Nov 2026, 03:08 UTC");
        assert_eq!(t.utc, "2026-11-30T03:08:44Z");
        assert_eq!(t.relative, None);
        assert_eq!(f.at("not a time").to_string(), "");
    }

    #[test]
    fn relative_times_use_the_largest_whole_unit() {
        assert_eq!(relative_text(0), "just now");
        assert_eq!(relative_text(59), "just now");
        assert_eq!(relative_text(60), "in 1 minute");
        assert_eq!(relative_text(-2 * 3_600 - 5), "2 hours ago");
        assert_eq!(relative_text(86_400), "in 1 day");
        assert_eq!(relative_text(-3 * 86_400), "3 days ago");
    }

    #[test]
    fn zone_names_are_checked_against_the_database() {
        assert_eq!(Zone::parse("europe/paris").unwrap().name(), "Europe/Paris");
        assert!(Zone::parse("Mars/Olympus_Mons").is_none());
        assert!(Zone::parse("").is_none());
        assert!(Zone::parse("Europe/Paris\u{0}").is_none());
        assert!(Zone::parse(&"A".repeat(100)).is_none());
        assert_eq!(Zone::from_stored("nonsense").name(), "UTC");
        let all = Zone::all_names();
        assert!(all.iter().any(|n| n == "Europe/Paris") && all.iter().any(|n| n == "UTC"));
    }

    #[test]
    fn local_form_times_are_read_in_the_zone() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(paris.read_local("2026-12-07T17:00").unwrap(), datetime!(2026-12-07 16:00 UTC));
        assert_eq!(paris.read_local("2026-07-07T17:00:30").unwrap(), datetime!(2026-07-07 15:00:30 UTC));
        assert_eq!(paris.local_input(datetime!(2026-12-07 16:00)), "2026-12-07T17:00");
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.read_local("2026-12-07T17:30").unwrap(), datetime!(2026-12-07 12:00 UTC));
        assert_eq!(paris.read_local("tomorrow"), Err(LocalTimeError::Malformed));
    }

    #[test]
    fn a_skipped_local_time_is_refused_and_a_repeated_one_is_the_earlier() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(paris.read_local("2026-03-29T02:30"), Err(LocalTimeError::Skipped));
        // 02:30 on 25 October happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
        assert_eq!(paris.read_local("2026-10-25T02:30").unwrap(), datetime!(2026-10-25 00:30 UTC));
    }
}
