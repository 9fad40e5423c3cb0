//! The time range of a history query or report: `from` and `to` as RFC 3339 times or dates.
//! A date means its UTC midnight for `from` and the end of that day for `to`, so
//! `--from 2026-11-01 --to 2026-11-30` is all of November. By default the range is the last
//! 30 days up to now.

use chrono::{DateTime, NaiveDate, Utc};

/// The default length of a range.
pub const DEFAULT_DAYS: i64 = 30;

/// A resolved range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
}

/// Parse one end of a range; `end` says it is `to` (a date then means the end of that day).
pub fn parse_time(name: &str, text: &str, end: bool) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end { day.succ_opt() } else { Some(day) };
        if let Some(t) = day.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "{name}: expected an RFC 3339 time (2026-11-01T00:00:00Z) or a date (2026-11-01), found {text:?}"
    ))
}

/// The range `from`..`to` (each optional) at `now`: `to` defaults to `now`, `from` to 30 days
/// before `to`; `from` must be before `to`.
pub fn resolve(from: Option<&str>, to: Option<&str>, now: DateTime<Utc>) -> Result<Range, String> {
    let to = match to {
        Some(t) => parse_time("to", t, true)?,
        None => now,
    };
    let from = match from {
        Some(f) => parse_time("from", f, false)?,
        None => to - chrono::Duration::days(DEFAULT_DAYS),
    };
    if from >= to {
        return Err(format!(
            "from ({}) must be before to ({})",
            from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    Ok(Range { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_cover_whole_days_and_defaults_are_the_last_30_days() {
        let now = at("2026-12-10T08:00:00Z");
        let r = resolve(Some("2026-11-01"), Some("2026-11-30"), now).unwrap();
        assert_eq!(r.from, at("2026-11-01T00:00:00Z"));
        assert_eq!(r.to, at("2026-12-01T00:00:00Z"));
        let r = resolve(None, None, now).unwrap();
        assert_eq!((r.from, r.to), (at("2026-11-10T08:00:00Z"), now));
        let r = resolve(Some("2026-12-01T10:00:00+01:00"), None, now).unwrap();
        assert_eq!(r.from, at("2026-12-01T09:00:00Z"));
    }

    #[test]
    fn bad_ranges_say_why() {
        let now = at("2026-12-10T08:00:00Z");
        let e = resolve(Some("yesterday"), None, now).unwrap_err();
        assert!(e.starts_with("from: expected an RFC 3339 time"), "{e}");
        let e = resolve(Some("2026-12-05"), Some("2026-12-01"), now).unwrap_err();
        assert_eq!(
            e,
            "from (2026-12-05T00:00:00Z) must be before to (2026-12-02T00:00:00Z)"
        );
        assert!(resolve(None, Some("2026-13-01"), now).is_err());
    }
}
