//! Schedules: `@every DURATION`, `@hourly`/`@daily`/`@weekly`/`@monthly`/`@yearly`, and 5- or
//! 6-field cron (seconds first) in a time zone (default UTC).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// A parsed schedule.
#[derive(Clone)]
pub struct Schedule {
    /// As written (for display).
    source: String,
    /// What it means.
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Every(Duration),
    Cron(Box<Cron>, Tz),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?} in {})", self.source, self.timezone())
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.timezone() == other.timezone()
    }
}

impl Schedule {
    /// Parse `text` in time zone `tz` (an IANA name such as `Europe/Berlin`; `None` = UTC).
    pub fn parse(text: &str, tz: Option<&str>) -> Result<Schedule, String> {
        let tz: Tz = match tz {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name).map_err(|_| {
                format!("unknown time zone {name:?} (use an IANA name such as Europe/Berlin)")
            })?,
        };
        let trimmed = text.trim();
        let source = trimmed.to_string();
        if let Some(rest) = trimmed.strip_prefix("@every") {
            let d = crate::config::units::parse_duration(rest.trim())
                .map_err(|e| format!("invalid schedule {trimmed:?}: {e}"))?;
            if d < Duration::from_secs(1) {
                return Err(format!(
                    "invalid schedule {trimmed:?}: the interval must be at least 1s"
                ));
            }
            return Ok(Schedule {
                source,
                kind: Kind::Every(d),
            });
        }
        let pattern = match trimmed {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(format!(
                    "invalid schedule {other:?}: expected @every DURATION, @hourly, @daily, @weekly, @monthly, @yearly or a 5- or 6-field cron expression"
                ));
            }
            other => other,
        };
        let fields = pattern.split_whitespace().count();
        if fields != 5 && fields != 6 {
            return Err(format!(
                "invalid schedule {trimmed:?}: a cron expression has 5 fields (minute first) or 6 (seconds first), found {fields}"
            ));
        }
        let parser = CronParser::builder().seconds(Seconds::Optional).build();
        let cron = parser
            .parse(pattern)
            .map_err(|e| format!("invalid cron expression {trimmed:?}: {e}"))?;
        Ok(Schedule {
            source,
            kind: Kind::Cron(Box::new(cron), tz),
        })
    }

    /// `@every d` (d is clamped to at least 1 s).
    pub fn every(d: Duration) -> Schedule {
        let d = d.max(Duration::from_secs(1));
        Schedule {
            source: format!("@every {}", humantime::format_duration(d)),
            kind: Kind::Every(d),
        }
    }

    /// The fixed interval of an `@every` schedule.
    pub fn interval(&self) -> Option<Duration> {
        match self.kind {
            Kind::Every(d) => Some(d),
            Kind::Cron(..) => None,
        }
    }

    /// The time zone of a cron schedule (UTC for `@every`).
    pub fn timezone(&self) -> Tz {
        match &self.kind {
            Kind::Every(_) => Tz::UTC,
            Kind::Cron(_, tz) => *tz,
        }
    }

    /// The first due time strictly after `after`; for `@every`, `after + interval`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Every(d) => chrono::Duration::from_std(*d)
                .ok()
                .and_then(|d| after.checked_add_signed(d)),
            Kind::Cron(cron, tz) => cron
                .find_next_occurrence(&after.with_timezone(tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn every_adds_interval() {
        let s = Schedule::parse("@every 1h30m", None).unwrap();
        assert_eq!(s.interval(), Some(Duration::from_secs(5400)));
        assert_eq!(
            s.next_after(at("2026-01-01T00:00:00Z")),
            Some(at("2026-01-01T01:30:00Z"))
        );
    }

    #[test]
    fn five_and_six_field_cron() {
        let five = Schedule::parse("*/5 * * * *", None).unwrap();
        assert_eq!(
            five.next_after(at("2026-01-01T00:01:00Z")),
            Some(at("2026-01-01T00:05:00Z"))
        );
        let six = Schedule::parse("*/10 * * * * *", None).unwrap();
        assert_eq!(
            six.next_after(at("2026-01-01T00:00:01Z")),
            Some(at("2026-01-01T00:00:10Z"))
        );
    }

    #[test]
    fn macros_and_timezone() {
        let s = Schedule::parse("@daily", Some("Europe/Berlin")).unwrap();
        // Midnight in Berlin (winter, UTC+1) is 23:00 UTC.
        assert_eq!(
            s.next_after(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()),
            Some(at("2026-01-01T23:00:00Z"))
        );
        let h = Schedule::parse("@hourly", None).unwrap();
        assert_eq!(
            h.next_after(at("2026-01-01T10:15:00Z")),
            Some(at("2026-01-01T11:00:00Z"))
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "@every",
            "@every 0s",
            "@every x",
            "@sometimes",
            "* * *",
            "61 * * * *",
            "* * * * * * *",
        ] {
            assert!(
                Schedule::parse(bad, None).is_err(),
                "{bad} should be rejected"
            );
        }
        assert!(
            Schedule::parse("@daily", Some("Mars/Base"))
                .unwrap_err()
                .contains("time zone")
        );
    }
}
