//! What history says about a target, as one document: uptime over the standard windows and
//! the asked range, latency percentiles and series, incidents. `/api/v1/history` and
//! `dcrawl report` serialize the same [`TargetHistory`]; the status page gets a smaller
//! [`Summary`] of every target at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::latency::Histogram;
use super::query::{Incident, TargetRow};
use super::rollup::{Tally, Tier, floor};
use super::store::{Db, HistoryError};
use super::{DAY_MS, HOUR_MS, HOURLY_KEEP_MS};

/// The standard uptime windows: name and length.
pub const WINDOWS: [(&str, i64); 3] = [("24h", DAY_MS), ("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS)];

/// (spec, target).
pub type Key = (String, String);

/// Uptime percentages over the standard windows (`None`: nothing known).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Windows {
    /// The last 24 hours.
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    /// The last 7 days.
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    /// The last 30 days.
    #[serde(rename = "30d")]
    pub month: Option<f64>,
}

/// Uptime and time over the asked range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeDoc {
    /// Start counted (the asked start rounded down to the hour, or the day for old data).
    pub from: DateTime<Utc>,
    /// End counted (the asked end rounded up likewise, at most now).
    pub to: DateTime<Utc>,
    /// Up time over time known to be up or down, in percent.
    pub uptime_percent: Option<f64>,
    /// Time up.
    pub up_seconds: f64,
    /// Time down.
    pub down_seconds: f64,
    /// Time in maintenance.
    pub maintenance_seconds: f64,
    /// Time nothing was known (no daemon, a run past twice its interval).
    pub unknown_seconds: f64,
    /// Runs started.
    pub runs: i64,
    /// Runs that were not up (outside maintenance).
    pub failed_runs: i64,
}

/// Latency percentiles over the runs that got a response, outside maintenance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_seconds: Option<f64>,
    /// 95th percentile.
    pub p95_seconds: Option<f64>,
    /// 99th percentile.
    pub p99_seconds: Option<f64>,
    /// Runs counted.
    pub runs: u64,
}

impl Percentiles {
    /// The percentiles of `h`.
    pub fn of(h: &Histogram) -> Percentiles {
        Percentiles {
            p50_seconds: h.quantile(0.50),
            p95_seconds: h.quantile(0.95),
            p99_seconds: h.quantile(0.99),
            runs: h.count(),
        }
    }
}

/// One point of a latency series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Start of its bucket.
    pub at: DateTime<Utc>,
    /// Runs started in it.
    pub runs: i64,
    /// Median latency.
    pub p50_seconds: Option<f64>,
    /// 95th percentile latency.
    pub p95_seconds: Option<f64>,
}

/// Latency per hour (ranges up to 7 days) or per day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// `1h` or `1d`.
    pub step: &'static str,
    /// Buckets with runs, oldest first.
    pub points: Vec<Point>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentDoc {
    /// The first run that was not up.
    pub start: DateTime<Utc>,
    /// The next up run's start; `null` while open.
    pub end: Option<DateTime<Utc>>,
    /// Still open?
    pub open: bool,
    /// From start to end (or to now while open).
    pub duration_seconds: f64,
    /// The first run's result.
    pub result: &'static str,
    /// The first run's first failure or error.
    pub first_failure: Option<String>,
    /// Runs that were not up during it.
    pub failed_runs: i64,
}

/// Everything history says about one target over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetHistory {
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
    /// Uptime over the 24 h, 7 d and 30 d before the range's end.
    pub uptime: Windows,
    /// The range.
    pub range: RangeDoc,
    /// Latency percentiles over the range.
    pub latency: Percentiles,
    /// Latency over the range, bucket by bucket (the API has it; reports leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_series: Option<Series>,
    /// Incidents overlapping the range, the most recent first.
    pub incidents: Vec<IncidentDoc>,
    /// How many incidents overlap the range (more than listed when the list is cut).
    pub incidents_total: u64,
}

/// What to include.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Incidents listed per target at most.
    pub incidents_limit: usize,
    /// Include the latency series.
    pub series: bool,
}

/// A percentage cut (not rounded) to 4 decimals, so 99.99996 never shows as 100.
pub fn floor4(p: f64) -> f64 {
    (p * 10_000.0).floor() / 10_000.0
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// An incident for people and machines; an open one lasts until `now`.
pub fn incident_doc(i: &Incident, now: i64) -> IncidentDoc {
    IncidentDoc {
        start: time(i.start_ms),
        end: i.end_ms.map(time),
        open: i.end_ms.is_none(),
        duration_seconds: secs(i.end_ms.unwrap_or(now).max(i.start_ms) - i.start_ms),
        result: i.result,
        first_failure: i.first_failure.clone(),
        failed_runs: i.failed_runs,
    }
}

/// Fewer targets than this (or fewer than a tenth of all) are read one at a time.
const FEW: usize = 50;

/// The documents of `wanted` targets (in that order) over `[from, to)` at `now`, all read in
/// one snapshot. Targets history has never seen get empty documents.
pub fn build(
    db: &Db,
    wanted: &[Key],
    from: i64,
    to: i64,
    now: i64,
    options: Options,
) -> Result<Vec<TargetHistory>, HistoryError> {
    db.snapshot(|db| build_in(db, wanted, from, to, now, options))
}

fn build_in(
    db: &Db,
    wanted: &[Key],
    from: i64,
    to: i64,
    now: i64,
    options: Options,
) -> Result<Vec<TargetHistory>, HistoryError> {
    // A few of many targets: one at a time, each query narrowed to it by its index, instead of
    // reading every target's rows.
    if wanted.len() > 1 && (wanted.len() <= FEW || wanted.len() * 10 < db.target_count()?) {
        let mut out = Vec::with_capacity(wanted.len());
        for key in wanted {
            out.extend(build_in(
                db,
                std::slice::from_ref(key),
                from,
                to,
                now,
                options,
            )?);
        }
        return Ok(out);
    }
    let rows: Vec<TargetRow> = match wanted {
        [one] => db.target(&one.0, &one.1)?.into_iter().collect(),
        _ => db.targets()?,
    };
    let by_key: HashMap<(&str, &str), &TargetRow> = rows
        .iter()
        .map(|r| ((r.spec.as_str(), r.target.as_str()), r))
        .collect();
    let find = |k: &Key| by_key.get(&(k.0.as_str(), k.1.as_str())).copied();
    // One target: every query is narrowed to it.
    let only = match wanted {
        [one] => Some(find(one).map_or(-1, |r| r.id)),
        _ => None,
    };
    let end = to.min(now);
    let mut ranges = vec![(from, to)];
    ranges.extend(WINDOWS.iter().map(|(_, len)| (end - len, end)));
    let mut all = db.tallies_many(&rows, &ranges, now, only)?.into_iter();
    let (plan, tallies) = all
        .next()
        .unwrap_or_else(|| (super::rollup::plan(from, to, now), HashMap::new()));
    let windows: Vec<HashMap<i64, Tally>> = all.map(|(_, t)| t).collect();
    let latency = db.latency(&plan, only)?;
    let incidents = db.incidents(from, to, options.incidents_limit, only)?;
    let counted_to = plan.to.min(now.max(plan.from));
    let mut out = Vec::with_capacity(wanted.len());
    for key in wanted {
        let row = find(key);
        let id = row.map_or(-1, |r| r.id);
        let t = tallies.get(&id).copied().unwrap_or_default();
        let w = |i: usize| windows.get(i)?.get(&id).and_then(Tally::uptime).map(floor4);
        let series = match (options.series, row) {
            (true, Some(r)) => Some(series(db, r.id, from, to, now)?),
            (true, None) => Some(Series {
                step: series_tier(from, to, now).step(),
                points: Vec::new(),
            }),
            (false, _) => None,
        };
        let inc = incidents.get(&id).cloned().unwrap_or_default();
        out.push(TargetHistory {
            spec: key.0.clone(),
            target: key.1.clone(),
            uptime: Windows {
                day: w(0),
                week: w(1),
                month: w(2),
            },
            range: RangeDoc {
                from: time(plan.from),
                to: time(counted_to),
                uptime_percent: t.uptime().map(floor4),
                up_seconds: secs(t.up_ms),
                down_seconds: secs(t.down_ms),
                maintenance_seconds: secs(t.maint_ms),
                unknown_seconds: secs(t.unknown_ms(counted_to - plan.from)),
                runs: t.runs,
                failed_runs: t.down_runs,
            },
            latency: latency.get(&id).map(Percentiles::of).unwrap_or_default(),
            latency_series: series,
            incidents: inc.list.iter().map(|i| incident_doc(i, now)).collect(),
            incidents_total: inc.total,
        });
    }
    Ok(out)
}

/// Hourly points for ranges up to 7 days whose hours are still kept, else daily.
fn series_tier(from: i64, to: i64, now: i64) -> Tier {
    if to - from <= 7 * DAY_MS && from >= now - HOURLY_KEEP_MS + HOUR_MS {
        Tier::Hourly
    } else {
        Tier::Daily
    }
}

fn series(db: &Db, id: i64, from: i64, to: i64, now: i64) -> Result<Series, HistoryError> {
    let tier = series_tier(from, to, now);
    let points = db
        .series(id, tier, floor(from, tier.len_ms()), to)?
        .into_iter()
        .map(|(bucket, runs, h)| Point {
            at: time(bucket),
            runs,
            p50_seconds: h.quantile(0.50),
            p95_seconds: h.quantile(0.95),
        })
        .collect();
    Ok(Series {
        step: tier.step(),
        points,
    })
}

/// Uptime of spec/target over the `len_ms` before `now`, read in one snapshot: `None` when
/// history has never seen the target, `Some(None)` when nothing is known in the window.
pub fn window_uptime(
    db: &Db,
    spec: &str,
    target: &str,
    len_ms: i64,
    now: i64,
) -> Result<Option<Option<f64>>, HistoryError> {
    db.snapshot(|db| {
        let Some(row) = db.target(spec, target)? else {
            return Ok(None);
        };
        let (_, tallies) = db.tallies(
            std::slice::from_ref(&row),
            now - len_ms,
            now,
            now,
            Some(row.id),
        )?;
        Ok(Some(
            tallies.get(&row.id).and_then(Tally::uptime).map(floor4),
        ))
    })
}
