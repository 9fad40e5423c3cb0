//! History: every run of every target, kept in `history.db` in the state directory, rolled up
//! for uptime over months, incidents, badges and `dcrawl report`.
//!
//! Data flows like this:
//!
//! 1. The daemon hands each finished run to the [`writer::Recorder`]: a bounded queue to one
//!    dedicated thread, so the scheduler never waits on the disk (a full queue drops the run and
//!    counts it; a failed write is logged and counted, never fatal).
//! 2. The thread writes batches in one transaction each ([`ingest`]): the raw run, the time its
//!    *previous* run's result held, added to hourly and daily roll-ups ([`rollup`]), the run's
//!    latency into the roll-ups' histograms ([`latency`]), and the target's incident, opened or
//!    closed. Each target's last run (its "open segment") is kept with it, so a restart resumes
//!    where it stopped. Once an hour it prunes: raw runs after 7 days, hourly roll-ups after 90,
//!    daily roll-ups and incidents after 2 years ([`store`]).
//! 3. Readers ([`query`], [`doc`], [`summary`]) open the database read-only (WAL: while the
//!    daemon writes) and answer from the roll-ups: the status page's summaries, `/api/v1/history`,
//!    badges, and [`report`] (`dcrawl report`, no daemon needed).
//!
//! **Uptime** is time-weighted: a run's result holds from its start until the next run starts,
//! but at most twice the target's interval; beyond that (the daemon was stopped, a run hung)
//! the time is unknown and counts neither as up nor down. Time in maintenance is left out too.
//! Any result but `failure` and `error` (a `warning`, say) is up.
//!
//! An **incident** is a maximal stretch of runs that are not up: it starts at the first such
//! run's start and ends at the next up run's start (or is still open). A failing run during
//! maintenance opens none.

pub mod doc;
pub mod ingest;
pub mod latency;
pub mod query;
pub mod range;
pub mod report;
mod report_html;
pub mod rollup;
pub mod store;
pub mod summary;
pub mod writer;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{Schedule, Target};
use crate::result::CheckResult;

pub use store::{Db, HistoryError};
pub use writer::{Counters, HistoryOptions, Recorder};

/// The database file inside the state directory.
pub const DB_FILE: &str = "history.db";

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Raw runs are kept this long.
pub const RAW_KEEP_MS: i64 = 7 * DAY_MS;
/// Hourly roll-ups are kept this long.
pub const HOURLY_KEEP_MS: i64 = 90 * DAY_MS;
/// Daily roll-ups and incidents are kept this long (two years).
pub const DAILY_KEEP_MS: i64 = 731 * DAY_MS;
/// A failure message longer than this is cut (at a character boundary) before it is stored.
pub const MAX_FAILURE_CHARS: usize = 500;

/// How a stretch of time counts toward uptime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Any result but `failure` and `error`.
    Up,
    /// `failure` or `error`.
    Down,
    /// In maintenance: left out of uptime, whatever the result.
    Maintenance,
}

impl Class {
    /// The stored code.
    pub fn code(self) -> i64 {
        match self {
            Class::Up => 0,
            Class::Down => 1,
            Class::Maintenance => 2,
        }
    }

    /// From the stored code (anything unknown is up, like an unknown result).
    pub fn from_code(code: i64) -> Class {
        match code {
            1 => Class::Down,
            2 => Class::Maintenance,
            _ => Class::Up,
        }
    }
}

/// Does a result (by its contract name) count as down? Only `failure` and `error` do: a
/// `warning`, and any result added later, is up.
pub fn is_down(result: &str) -> bool {
    matches!(result, "failure" | "error")
}

/// Did a result get a usable response (so that its duration is a latency)? All but `error`.
pub fn has_response(result: &str) -> bool {
    result != "error"
}

/// The stored code of a result name. Names are the contract's; codes keep the raw table small.
pub fn result_code(result: &str) -> i64 {
    match result {
        "success" => 0,
        "failure" => 1,
        "error" => 2,
        "warning" => 3,
        _ => 4,
    }
}

/// The result name of a stored code.
pub fn result_name(code: i64) -> &'static str {
    match code {
        0 => "success",
        1 => "failure",
        2 => "error",
        3 => "warning",
        _ => "other",
    }
}

/// One run as history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
    /// When it started, Unix milliseconds.
    pub started_ms: i64,
    /// How long it took, milliseconds.
    pub duration_ms: i64,
    /// The result's contract name (`success`, `failure`, `error`, `warning`).
    pub result: &'static str,
    /// HTTP status of the final response, if one came.
    pub status: Option<u16>,
    /// The first failure as the result shows it (secrets already redacted), or the error.
    pub failure: Option<String>,
    /// Was the target in maintenance during the run?
    pub maintenance: bool,
    /// The target's interval at the time (its result holds at most twice that).
    pub interval_ms: i64,
}

impl Run {
    /// The run `result` of `target`; `maintenance` says whether a maintenance window covered it.
    pub fn of(target: &Target, result: &CheckResult, maintenance: bool) -> Run {
        let started: DateTime<Utc> = result.started_at.into();
        let failure = result
            .error
            .as_ref()
            .map(|e| format!("error: {e}"))
            .or_else(|| result.failures.first().map(crate::result::Failure::line))
            .map(|text| cut(&text, MAX_FAILURE_CHARS));
        Run {
            spec: result.spec.clone(),
            target: result.target.clone(),
            started_ms: started.timestamp_millis(),
            duration_ms: i64::try_from(result.duration.as_millis()).unwrap_or(i64::MAX),
            result: result.outcome.as_str(),
            status: result.status,
            failure,
            maintenance,
            interval_ms: millis(expected_interval(&target.schedule, started)),
        }
    }

    /// How its time counts.
    pub fn class(&self) -> Class {
        if self.maintenance {
            Class::Maintenance
        } else if is_down(self.result) {
            Class::Down
        } else {
            Class::Up
        }
    }

    /// How long its result holds at most: twice its interval.
    pub fn cap_ms(&self) -> i64 {
        self.interval_ms.max(1_000).saturating_mul(2)
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Milliseconds of `d`, saturating.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The time between runs of `schedule` around `at`: the `@every` interval, or the gap between
/// the next two cron times (one minute when the schedule has no future).
pub fn expected_interval(schedule: &Schedule, at: DateTime<Utc>) -> Duration {
    if let Some(every) = schedule.interval() {
        return every;
    }
    let gap = schedule
        .next_after(at)
        .and_then(|a| schedule.next_after(a).map(|b| b - a))
        .and_then(|d| d.to_std().ok());
    gap.unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn only_failure_and_error_are_down() {
        assert!(is_down("failure") && is_down("error"));
        for up in ["success", "warning", "anything-added-later"] {
            assert!(!is_down(up), "{up}");
        }
        for name in ["success", "failure", "error", "warning"] {
            assert_eq!(result_name(result_code(name)), name);
        }
    }

    #[test]
    fn interval_of_every_and_cron() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let every = Schedule::parse("@every 30s", None).unwrap();
        assert_eq!(expected_interval(&every, at), Duration::from_secs(30));
        let cron = Schedule::parse("*/5 * * * *", None).unwrap();
        assert_eq!(expected_interval(&cron, at), Duration::from_secs(300));
    }

    /// The daemon says whether a maintenance window covered a run; history keeps the flag and
    /// counts the run's time as maintenance whatever its result.
    #[test]
    fn a_run_in_maintenance_counts_as_maintenance_whatever_its_result() {
        let url = url::Url::parse("http://127.0.0.1:9/").unwrap();
        let target = Target::new("shop", "home", url);
        let mut result = CheckResult::blank(&target, std::time::SystemTime::now());
        result.outcome = crate::result::Outcome::Failure;
        let outside = Run::of(&target, &result, false);
        assert_eq!((outside.class(), outside.maintenance), (Class::Down, false));
        let inside = Run::of(&target, &result, true);
        assert_eq!(
            (inside.class(), inside.maintenance),
            (Class::Maintenance, true)
        );
        assert_eq!(inside.result, "failure");
        result.outcome = crate::result::Outcome::Success;
        assert_eq!(Run::of(&target, &result, true).class(), Class::Maintenance);
        assert_eq!(Run::of(&target, &result, false).class(), Class::Up);
        for code in [0, 1, 2] {
            assert_eq!(Class::from_code(code).code(), code);
        }
    }

    #[test]
    fn long_failures_are_cut_at_a_character() {
        assert_eq!(cut("ééé", 2), "éé…");
        assert_eq!(cut("ab", 2), "ab");
    }
}

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod retention_tests;
#[cfg(test)]
pub(crate) mod tests;
