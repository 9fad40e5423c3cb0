//! The status page's summaries: every target's uptime over 24 h, 7 d and 30 d, its latency
//! sparkline and its recent incidents, kept up to date cheaply by a [`Summarizer`].
//!
//! The roll-ups of closed buckets are read once an hour; each refresh reads only the live
//! buckets (the last two hours, and a day whose roll-up is still being added to), the targets'
//! last runs and the recent incidents. A bucket is closed for a target when no run of it can
//! add to it any more: every later write of a target starts at its last run's start (its
//! previous result's time, then its own), so a target whose last run started in the live hours
//! only adds to live buckets. A target whose last run started earlier (an interval over an
//! hour, a daemon that was stopped, a run that took an hour) has its closed buckets read again
//! once it runs.

use std::collections::HashMap;

use super::doc::{Key, WINDOWS, Windows, floor4};
use super::ingest::Last;
use super::query::{Incidents, Tallies, TargetRow, add_open_segments};
use super::rollup::{Plan, TIERS, Tally, Tier, floor, plan};
use super::store::{Db, HistoryError};
use super::{DAY_MS, HOUR_MS};

/// Incidents listed per target on the status page.
pub const PAGE_INCIDENTS: usize = 3;
/// Hours in the status page's latency sparkline.
pub const SPARK_HOURS: i64 = 24;

/// What the status page shows of a target's history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Uptime over the standard windows up to now.
    pub uptime: Windows,
    /// Median latency of each of the last 24 hours, oldest first (`None`: no runs).
    pub spark: Vec<Option<f64>>,
    /// The most recent incidents of the last 30 days.
    pub incidents: Incidents,
    /// Its last run's result, if history has one.
    pub last_result: Option<&'static str>,
}

/// The summaries of every target history knows, at `now` (computed from scratch).
pub fn summaries(db: &Db, now: i64) -> Result<HashMap<Key, Summary>, HistoryError> {
    Summarizer::default().summaries(db, now)
}

/// A sparkline with no values yet.
fn empty_line() -> Vec<Option<f64>> {
    vec![None; SPARK_HOURS as usize]
}

/// Summaries kept up to date cheaply (see the module documentation).
#[derive(Debug, Default)]
pub struct Summarizer {
    /// The hour the closed part was read in (`None` before the first call).
    hour: Option<i64>,
    /// The windows' plans in that hour.
    plans: Vec<Plan>,
    /// Per window, each target's tally of its closed buckets.
    closed: Vec<Tallies>,
    /// Each target's last run when its closed buckets were read.
    seen: HashMap<i64, Option<Last>>,
    /// Each target's median latency per hour of the sparkline's closed hours.
    spark: HashMap<i64, Vec<Option<f64>>>,
}

impl Summarizer {
    /// Every target's summary at `now`, read in one snapshot.
    pub fn summaries(&mut self, db: &Db, now: i64) -> Result<HashMap<Key, Summary>, HistoryError> {
        db.snapshot(|db| self.compute(db, now))
    }

    fn compute(&mut self, db: &Db, now: i64) -> Result<HashMap<Key, Summary>, HistoryError> {
        let hour = floor(now, HOUR_MS);
        // Buckets that end by `live_from` are closed; the hour before this one is still live
        // (a run now adds its previous result's time to it).
        let live_from = hour - HOUR_MS;
        let first_spark = hour - (SPARK_HOURS - 1) * HOUR_MS;
        let plans: Vec<Plan> = WINDOWS
            .iter()
            .map(|(_, len)| plan(now - len, now, now))
            .collect();
        let rows = db.targets()?;
        if self.hour != Some(hour) || self.plans != plans {
            self.closed = db.closed_tallies(&plans, live_from, None)?;
            self.spark.clear();
            for (id, bucket, h) in db.hourly_latency_since(first_spark)? {
                if bucket < live_from {
                    set_slot(
                        self.spark.entry(id).or_insert_with(empty_line),
                        first_spark,
                        bucket,
                        h.quantile(0.5),
                    );
                }
            }
            self.seen = rows.iter().map(|r| (r.id, r.last)).collect();
            self.hour = Some(hour);
            self.plans = plans;
        } else {
            for r in &rows {
                if self.may_have_reached_closed_buckets(r, live_from) {
                    self.reread(db, r, live_from, first_spark)?;
                }
            }
        }

        let mut windows = self.closed.clone();
        let mut spark = self.spark.clone();
        for (tier, bucket) in live_buckets(&self.plans, hour, live_from) {
            let in_plans: Vec<bool> = self.plans.iter().map(|p| p.counts(tier, bucket)).collect();
            let in_spark = tier == Tier::Hourly && bucket >= first_spark;
            if !in_spark && !in_plans.contains(&true) {
                continue;
            }
            for (id, t, h) in db.bucket_rows(tier, bucket)? {
                for (w, _) in windows.iter_mut().zip(&in_plans).filter(|(_, c)| **c) {
                    w.entry(id).or_default().add(&t);
                }
                if let (true, Some(h)) = (in_spark, h) {
                    set_slot(
                        spark.entry(id).or_insert_with(empty_line),
                        first_spark,
                        bucket,
                        h.quantile(0.5),
                    );
                }
            }
        }
        add_open_segments(&rows, &self.plans, now, None, &mut windows);

        let mut incidents = db.incidents(now - 30 * DAY_MS, now + 1, PAGE_INCIDENTS, None)?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let w = |i: usize| {
                windows
                    .get(i)?
                    .get(&r.id)
                    .and_then(Tally::uptime)
                    .map(floor4)
            };
            out.insert(
                (r.spec, r.target),
                Summary {
                    uptime: Windows {
                        day: w(0),
                        week: w(1),
                        month: w(2),
                    },
                    spark: spark.remove(&r.id).unwrap_or_default(),
                    incidents: incidents.remove(&r.id).unwrap_or_default(),
                    last_result: r.last.map(|_| r.last_result),
                },
            );
        }
        Ok(out)
    }

    /// Has `r` run since its closed buckets were read, from a last run that started before the
    /// live hours (or is it new)? Then the runs may have added to its closed buckets.
    fn may_have_reached_closed_buckets(&self, r: &TargetRow, live_from: i64) -> bool {
        match self.seen.get(&r.id) {
            None => true,
            Some(seen) => *seen != r.last && seen.is_none_or(|l| l.start_ms < live_from),
        }
    }

    /// Read `r`'s closed buckets (tallies and sparkline) again.
    fn reread(
        &mut self,
        db: &Db,
        r: &TargetRow,
        live_from: i64,
        first_spark: i64,
    ) -> Result<(), HistoryError> {
        let fresh = db.closed_tallies(&self.plans, live_from, Some(r.id))?;
        for (cache, mut fresh) in self.closed.iter_mut().zip(fresh) {
            match fresh.remove(&r.id) {
                Some(t) => cache.insert(r.id, t),
                None => cache.remove(&r.id),
            };
        }
        let mut line = empty_line();
        for (bucket, _, h) in db.series(r.id, Tier::Hourly, first_spark, live_from)? {
            set_slot(&mut line, first_spark, bucket, h.quantile(0.5));
        }
        self.spark.insert(r.id, line);
        self.seen.insert(r.id, r.last);
        Ok(())
    }
}

/// Put the value of the hour starting at `bucket` into its slot of a sparkline that starts at
/// `first`.
fn set_slot(line: &mut [Option<f64>], first: i64, bucket: i64, value: Option<f64>) {
    let slot = usize::try_from((bucket - first) / HOUR_MS).unwrap_or(usize::MAX);
    if let Some(s) = line.get_mut(slot) {
        *s = value;
    }
}

/// The buckets that are not closed at `hour` (they end after `live_from`) and may count: the
/// last two hours, and the days holding them.
fn live_buckets(plans: &[Plan], hour: i64, live_from: i64) -> Vec<(Tier, i64)> {
    let mut out = Vec::new();
    for tier in TIERS {
        let mut buckets = vec![tier.bucket(live_from), tier.bucket(hour)];
        buckets.dedup();
        for b in buckets {
            let counted = plans.iter().any(|p| p.counts(tier, b));
            if b + tier.len_ms() > live_from && (counted || tier == Tier::Hourly) {
                out.push((tier, b));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Run;
    use crate::history::ingest::Ingest;
    use crate::history::tests::{T0, run};

    const MIN: i64 = 60_000;

    /// A run of `target` at `at` (Unix ms) on `@every every_ms`.
    fn at(target: &str, at: i64, every_ms: i64, result: &'static str, maint: bool) -> Run {
        Run {
            target: target.into(),
            started_ms: at,
            interval_ms: every_ms,
            ..run(0, result, 20 + (at / MIN) % 7 * 10, maint)
        }
    }

    /// Runs of three targets around the hour `h`, the ones that start by `cut` and the rest
    /// up to `h + 20 min`: `a` every minute (failures, warnings and a maintenance window), `b`
    /// every 2 h (failing from `h - 90 min` until its next run at `h + 30 min`), `c` every
    /// minute but stopped from `h - 3 h` to `h + 10 min` (a restart gap).
    fn runs(h: i64, cut: i64) -> (Vec<Run>, Vec<Run>) {
        let mut all = Vec::new();
        for m in 0..(2 * 24 * 60 + 20) {
            let t = h - 2 * DAY_MS + m * MIN + 7_000;
            let result = match m % 37 {
                0 | 1 => "failure",
                5 => "warning",
                9 => "error",
                _ => "success",
            };
            let maint = (h - 5 * HOUR_MS..h - 4 * HOUR_MS).contains(&t);
            all.push(at("a", t, MIN, result, maint));
            if t < h - 3 * HOUR_MS || t > h + 10 * MIN {
                all.push(at("c", t + 1_000, MIN, "success", false));
            }
        }
        for k in (0..24).rev() {
            let t = h - 90 * MIN - k * 2 * HOUR_MS;
            all.push(at(
                "b",
                t,
                2 * HOUR_MS,
                if k == 0 { "failure" } else { "success" },
                false,
            ));
        }
        all.push(at("b", h + 30 * MIN, 2 * HOUR_MS, "success", false));
        all.sort_by_key(|r| r.started_ms);
        all.into_iter().partition(|r| r.started_ms <= cut)
    }

    /// A summarizer that read its closed hours at `h + 5 s` and refreshes at `h + 40 min` after
    /// more runs says what summaries computed from scratch then say.
    fn refresh_matches_scratch(h: i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
        let (before, after) = runs(h, h + 5_000);
        for chunk in before.chunks(300) {
            ingest.apply(chunk).unwrap();
        }
        let db = Db::open_read_only(dir.path()).unwrap();
        let mut summarizer = Summarizer::default();
        let first = summarizer.summaries(&db, h + 5_000).unwrap();
        assert_eq!(first, summaries(&db, h + 5_000).unwrap());
        for chunk in after.chunks(7) {
            ingest.apply(chunk).unwrap();
        }
        let now = h + 40 * MIN;
        let refreshed = summarizer.summaries(&db, now).unwrap();
        let scratch = summaries(&db, now).unwrap();
        for key in scratch.keys() {
            assert_eq!(refreshed[key], scratch[key], "{key:?}");
        }
        assert_eq!(refreshed.len(), 3);
        // The refresh saw `b`'s failure and `c`'s gap at all: the windows are not flawless.
        let b = &scratch[&("shop".to_string(), "b".to_string())];
        assert!(b.uptime.day.unwrap() < 95.0, "{b:?}");
        assert!(b.spark.iter().any(Option::is_some));
        let a = &scratch[&("shop".to_string(), "a".to_string())];
        assert!(a.incidents.total > 0 && a.uptime.month.unwrap() < 100.0);
    }

    #[test]
    fn a_refresh_within_the_hour_equals_summaries_from_scratch() {
        let midnight = floor(T0, DAY_MS) + DAY_MS;
        // After midnight: yesterday's daily roll-up counts and is still being added to.
        refresh_matches_scratch(midnight);
        // In the afternoon: only hours are live.
        refresh_matches_scratch(midnight + 14 * HOUR_MS);
    }

    #[test]
    fn live_buckets_are_the_last_two_hours_and_a_counted_day() {
        let midnight = floor(T0, DAY_MS) + DAY_MS;
        let plans_at = |now: i64| -> Vec<Plan> {
            WINDOWS
                .iter()
                .map(|(_, len)| plan(now - len, now, now))
                .collect()
        };
        let live = |now: i64| {
            let hour = floor(now, HOUR_MS);
            live_buckets(&plans_at(now), hour, hour - HOUR_MS)
        };
        let afternoon = midnight + 14 * HOUR_MS + 5;
        assert_eq!(
            live(afternoon),
            [
                (Tier::Hourly, afternoon - 5 - HOUR_MS),
                (Tier::Hourly, afternoon - 5)
            ]
        );
        assert_eq!(
            live(midnight + 5),
            [
                (Tier::Hourly, midnight - HOUR_MS),
                (Tier::Hourly, midnight),
                (Tier::Daily, midnight - DAY_MS)
            ]
        );
    }
}
