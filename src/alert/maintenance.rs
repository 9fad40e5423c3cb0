//! Maintenance windows (`maintenance:` in alert files): times when matching targets are still
//! checked and recorded, but none of their alerts fires, repeats or resolves.
//!
//! A window is recurring (a cron `schedule` in a `timezone`, each start lasting `duration` of
//! elapsed time) or once (`start` to `end`). Cron times are local times: `0 2 * * *` in
//! `Europe/Berlin` starts at 02:00 Berlin time in winter and in summer. On the night the
//! clocks go forward, a start in the skipped hour happens at the first minute after it (02:30
//! becomes 03:00); on the night they go back, a start in the repeated hour happens once, the
//! first time (at 02:30 summer time).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Matcher, matches_target};
use crate::model::Schedule;

/// How many starts of a recurring window are looked at to find where the current one ends
/// (starts closer together than its duration overlap; they are merged this far).
const MAX_OVERLAPPING_STARTS: usize = 10_000;

/// One `maintenance:` entry.
#[derive(Debug, Clone)]
pub struct Maintenance {
    /// Its name (unique across alert files), shown on the status page and in the API.
    pub name: String,
    /// All must hold for the window to cover a target (empty = every target).
    pub matchers: Vec<Matcher>,
    /// When it is on.
    pub when: When,
}

/// When a window is on.
#[derive(Debug, Clone)]
pub enum When {
    /// From each time of `schedule` for `duration`.
    Recurring {
        /// The starts (cron, in its time zone).
        schedule: Schedule,
        /// How long each lasts (elapsed time).
        duration: Duration,
    },
    /// From `start` to `end`, once.
    Once {
        /// The first instant of the window.
        start: DateTime<Utc>,
        /// The first instant after it.
        end: DateTime<Utc>,
    },
}

/// A window that is on now, for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    /// The window's name.
    pub name: String,
    /// When it ends.
    pub until: DateTime<Utc>,
}

impl Maintenance {
    /// Does this window cover target `target` of spec `spec` with `labels` (at any time)?
    pub fn covers(&self, spec: &str, target: &str, labels: &BTreeMap<String, String>) -> bool {
        matches_target(&self.matchers, spec, target, labels)
    }

    /// If the window is on at `at`, when it ends.
    pub fn on_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.when {
            When::Once { start, end } => (*start <= at && at < *end).then_some(*end),
            When::Recurring { schedule, duration } => {
                let length = chrono::Duration::from_std(*duration).ok()?;
                // The starts in (at - duration, at]: the window of the last one holds `at`.
                let mut last = None;
                let mut after = at.checked_sub_signed(length)?;
                for _ in 0..MAX_OVERLAPPING_STARTS {
                    match schedule.next_after(after) {
                        Some(start) if start <= at => {
                            last = Some(start);
                            after = start;
                        }
                        _ => break,
                    }
                }
                last?.checked_add_signed(length)
            }
        }
    }
}

/// The window covering a target at `at`, if any: of several, the one that ends last.
pub fn active(
    windows: &[Maintenance],
    spec: &str,
    target: &str,
    labels: &BTreeMap<String, String>,
    at: DateTime<Utc>,
) -> Option<Active> {
    windows
        .iter()
        .filter(|w| w.covers(spec, target, labels))
        .filter_map(|w| w.on_until(at).map(|until| (w, until)))
        .max_by_key(|(_, until)| *until)
        .map(|(w, until)| Active {
            name: w.name.clone(),
            until,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn recurring(cron: &str, tz: &str, minutes: u64) -> Maintenance {
        Maintenance {
            name: "w".into(),
            matchers: Vec::new(),
            when: When::Recurring {
                schedule: Schedule::parse(cron, Some(tz)).unwrap(),
                duration: Duration::from_secs(minutes * 60),
            },
        }
    }

    /// The instants (every minute from `from` to `to`) where `w` switches on or off.
    fn edges(w: &Maintenance, from: &str, to: &str) -> Vec<(String, bool)> {
        let (mut t, end) = (at(from), at(to));
        let mut on = w.on_until(t).is_some();
        let mut out = Vec::new();
        while t <= end {
            let now = w.on_until(t).is_some();
            if now != on {
                out.push((t.format("%Y-%m-%dT%H:%MZ").to_string(), now));
                on = now;
            }
            t += chrono::Duration::minutes(1);
        }
        out
    }

    #[test]
    fn a_nightly_window_follows_local_time_over_the_year() {
        let w = recurring("30 1 * * *", "Europe/Berlin", 60);
        // Winter (UTC+1): 00:30Z; summer (UTC+2): 23:30Z the day before.
        assert_eq!(
            w.on_until(at("2026-01-10T00:45:00Z")),
            Some(at("2026-01-10T01:30:00Z"))
        );
        assert_eq!(w.on_until(at("2026-01-10T01:30:00Z")), None);
        assert_eq!(
            w.on_until(at("2026-07-09T23:30:00Z")),
            Some(at("2026-07-10T00:30:00Z"))
        );
        assert_eq!(w.on_until(at("2026-07-09T23:29:59Z")), None);
    }

    #[test]
    fn spring_forward_moves_a_start_in_the_skipped_hour_to_its_end() {
        // 2026-03-29: Berlin goes from 02:00 CET to 03:00 CEST (01:00Z).
        let skipped = recurring("30 2 * * *", "Europe/Berlin", 60);
        assert_eq!(
            edges(&skipped, "2026-03-28T00:00:00Z", "2026-03-30T06:00:00Z"),
            [
                ("2026-03-28T01:30Z".into(), true),
                ("2026-03-28T02:30Z".into(), false),
                // 02:30 does not exist: the window starts at 03:00 CEST.
                ("2026-03-29T01:00Z".into(), true),
                ("2026-03-29T02:00Z".into(), false),
                ("2026-03-30T00:30Z".into(), true),
                ("2026-03-30T01:30Z".into(), false),
            ]
        );
        // A window across the change lasts its elapsed duration: 01:30 CET + 2 h = 04:30 CEST.
        let across = recurring("30 1 * * *", "Europe/Berlin", 120);
        assert_eq!(
            across.on_until(at("2026-03-29T01:00:00Z")),
            Some(at("2026-03-29T02:30:00Z"))
        );
    }

    #[test]
    fn fall_back_starts_a_window_in_the_repeated_hour_once() {
        // 2026-10-25: Berlin goes from 03:00 CEST back to 02:00 CET (01:00Z); 02:30 happens
        // at 00:30Z and again at 01:30Z.
        let repeated = recurring("30 2 * * *", "Europe/Berlin", 30);
        assert_eq!(
            edges(&repeated, "2026-10-24T12:00:00Z", "2026-10-26T06:00:00Z"),
            [
                ("2026-10-25T00:30Z".into(), true),
                ("2026-10-25T01:00Z".into(), false),
                ("2026-10-26T01:30Z".into(), true),
                ("2026-10-26T02:00Z".into(), false),
            ]
        );
    }

    #[test]
    fn a_window_across_midnight_and_overlapping_starts() {
        let w = recurring("0 23 * * *", "UTC", 120);
        assert_eq!(
            w.on_until(at("2026-12-31T23:59:59Z")),
            Some(at("2027-01-01T01:00:00Z"))
        );
        assert_eq!(
            w.on_until(at("2027-01-01T00:59:59Z")),
            Some(at("2027-01-01T01:00:00Z"))
        );
        assert_eq!(w.on_until(at("2027-01-01T01:00:00Z")), None);
        // Starts every 10 minutes, each for 15: on all the time, until 15 min after the last.
        let dense = recurring("*/10 * * * *", "UTC", 15);
        assert_eq!(
            dense.on_until(at("2026-01-01T10:12:00Z")),
            Some(at("2026-01-01T10:25:00Z"))
        );
    }

    #[test]
    fn a_once_window_and_the_one_that_ends_last_wins() {
        let once = Maintenance {
            name: "migration".into(),
            matchers: Vec::new(),
            when: When::Once {
                start: at("2026-05-01T08:00:00Z"),
                end: at("2026-05-01T12:00:00Z"),
            },
        };
        assert_eq!(once.on_until(at("2026-05-01T07:59:59Z")), None);
        assert_eq!(
            once.on_until(at("2026-05-01T08:00:00Z")),
            Some(at("2026-05-01T12:00:00Z"))
        );
        assert_eq!(once.on_until(at("2026-05-01T12:00:00Z")), None);
        let daily = Maintenance {
            name: "daily".into(),
            ..recurring("0 9 * * *", "UTC", 60)
        };
        let all = [once, daily];
        let none = BTreeMap::new();
        let got = active(&all, "s", "t", &none, at("2026-05-01T09:30:00Z"));
        assert_eq!(
            got,
            Some(Active {
                name: "migration".into(),
                until: at("2026-05-01T12:00:00Z")
            })
        );
        assert_eq!(
            active(&all, "s", "t", &none, at("2026-05-02T08:30:00Z")),
            None
        );
    }
}
