//! Reading history back: targets and their last runs, time-weighted tallies over a range,
//! latency histograms and series, and incidents. Everything comes from the roll-ups and the
//! incident table (raw runs are the record, not read here), so a month of 10,000 targets is a
//! few hundred thousand rows.

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::params;

use super::ingest::Last;
use super::latency::Histogram;
use super::rollup::{Plan, TIERS, Tally, Tier, overlap, plan};
use super::store::{Db, HistoryError};
use super::{Class, result_name};

/// Each target's tally (by target id).
pub type Tallies = HashMap<i64, Tally>;

/// A target known to history.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    /// Row id.
    pub id: i64,
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
    /// Its last run, whose result holds until the next (at most its cap).
    pub last: Option<Last>,
    /// The last run's result name.
    pub last_result: &'static str,
}

/// One incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// The first run that was not up.
    pub start_ms: i64,
    /// The next up run's start; `None` while open.
    pub end_ms: Option<i64>,
    /// The first run's result (`failure` or `error`).
    pub result: &'static str,
    /// The first run's first failure or error.
    pub first_failure: Option<String>,
    /// Runs that were not up during it.
    pub failed_runs: i64,
}

/// A target's incidents in a range: the most recent first, at most a limit, and how many in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incidents {
    /// The most recent ones.
    pub list: Vec<Incident>,
    /// How many overlap the range.
    pub total: u64,
}

/// A read-only connection shared by the endpoints (`std::sync::Mutex`: queries are short and
/// run off the async workers).
pub struct Reader {
    /// The connection.
    db: Mutex<Db>,
}

impl Reader {
    /// Wrap a read-only `db`.
    pub fn new(db: Db) -> Reader {
        Reader { db: Mutex::new(db) }
    }

    /// Run `f` on the connection. Blocks: call it off the async workers.
    pub fn with<T>(&self, f: impl FnOnce(&Db) -> T) -> T {
        f(&self.db.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// `AND target_id = ?3` when only one target is wanted.
fn only_clause(only: Option<i64>) -> &'static str {
    if only.is_some() {
        " AND target_id = ?3"
    } else {
        ""
    }
}

impl Db {
    /// Run `f` in one read transaction, so that all it reads is of one moment: a batch the
    /// writer commits meanwhile is seen whole or not at all (otherwise a run's previous
    /// result could be counted twice, once in the roll-ups and once as the open segment).
    pub fn snapshot<T>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let tx = self.conn.unchecked_transaction()?;
        let out = f(self)?;
        tx.commit()?;
        Ok(out)
    }

    /// Every target history knows, by spec and name.
    pub fn targets(&self) -> Result<Vec<TargetRow>, HistoryError> {
        self.targets_where("", params![])
    }

    fn targets_where(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<TargetRow>, HistoryError> {
        let sql = format!(
            "SELECT id, spec, name, last_start_ms, last_class, last_cap_ms, last_result FROM targets {filter} ORDER BY spec, name"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, |r| {
            let last = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i64>>(5)?) {
                (Some(start_ms), Some(cap_ms)) => Some(Last {
                    start_ms,
                    class: Class::from_code(r.get::<_, Option<i64>>(4)?.unwrap_or(0)),
                    cap_ms,
                }),
                _ => None,
            };
            Ok(TargetRow {
                id: r.get(0)?,
                spec: r.get(1)?,
                target: r.get(2)?,
                last,
                last_result: result_name(r.get::<_, Option<i64>>(6)?.unwrap_or(0)),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many targets history knows.
    pub fn target_count(&self) -> Result<usize, HistoryError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM targets", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// One target, if history knows it.
    pub fn target(&self, spec: &str, name: &str) -> Result<Option<TargetRow>, HistoryError> {
        Ok(self
            .targets_where("WHERE spec = ?1 AND name = ?2", params![spec, name])?
            .pop())
    }

    /// Time-weighted tallies over `[from, to)` at `now` for `targets` (or the one with id
    /// `only`), with the plan that says which range they cover. The last run's time counts up
    /// to `now` (at most its cap).
    pub fn tallies(
        &self,
        targets: &[TargetRow],
        from: i64,
        to: i64,
        now: i64,
        only: Option<i64>,
    ) -> Result<(Plan, Tallies), HistoryError> {
        let mut all = self.tallies_many(targets, &[(from, to)], now, only)?;
        Ok(all
            .pop()
            .unwrap_or_else(|| (plan(from, to, now), HashMap::new())))
    }

    /// [`Db::tallies`] over several ranges at once: each roll-up row is read once, however
    /// many ranges it counts in.
    pub fn tallies_many(
        &self,
        targets: &[TargetRow],
        ranges: &[(i64, i64)],
        now: i64,
        only: Option<i64>,
    ) -> Result<Vec<(Plan, Tallies)>, HistoryError> {
        let plans: Vec<Plan> = ranges.iter().map(|&(f, t)| plan(f, t, now)).collect();
        let mut out = self.closed_tallies(&plans, i64::MAX, only)?;
        add_open_segments(targets, &plans, now, only, &mut out);
        Ok(plans.into_iter().zip(out).collect())
    }

    /// The roll-up rows counted in each of `plans` of buckets that end by `until`, per target
    /// (or for `only`); no open segments.
    pub fn closed_tallies(
        &self,
        plans: &[Plan],
        until: i64,
        only: Option<i64>,
    ) -> Result<Vec<Tallies>, HistoryError> {
        let mut out: Vec<Tallies> = vec![HashMap::new(); plans.len()];
        for tier in TIERS {
            let mut spans: Vec<(i64, i64)> = plans
                .iter()
                .flat_map(|p| p.pieces.iter())
                .filter(|(t, _, _)| *t == tier)
                .map(|&(_, a, b)| (a, b.min(until.saturating_sub(tier.len_ms()) + 1)))
                .filter(|(a, b)| a < b)
                .collect();
            spans.sort_unstable();
            let mut merged: Vec<(i64, i64)> = Vec::new();
            for (a, b) in spans {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            let sql = format!(
                "SELECT target_id, bucket, up_ms, down_ms, maint_ms, runs, down_runs
                 FROM {} WHERE bucket >= ?1 AND bucket < ?2{}",
                tier.table(),
                only_clause(only)
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            for (a, b) in merged {
                let mut rows = match only {
                    Some(id) => stmt.query(params![a, b, id])?,
                    None => stmt.query(params![a, b])?,
                };
                while let Some(r) = rows.next()? {
                    let (id, bucket): (i64, i64) = (r.get(0)?, r.get(1)?);
                    let t = Tally {
                        up_ms: r.get(2)?,
                        down_ms: r.get(3)?,
                        maint_ms: r.get(4)?,
                        runs: r.get(5)?,
                        down_runs: r.get(6)?,
                    };
                    for (p, tallies) in plans.iter().zip(out.iter_mut()) {
                        if p.counts(tier, bucket) {
                            tallies.entry(id).or_default().add(&t);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every target's row of the bucket of `tier` starting at `bucket`: (target, counters,
    /// latency).
    pub fn bucket_rows(
        &self,
        tier: Tier,
        bucket: i64,
    ) -> Result<Vec<(i64, Tally, Option<Histogram>)>, HistoryError> {
        let sql = format!(
            "SELECT target_id, up_ms, down_ms, maint_ms, runs, down_runs, latency FROM {} WHERE bucket = ?1",
            tier.table()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![bucket], |r| {
            let blob: Option<Vec<u8>> = r.get(6)?;
            Ok((
                r.get(0)?,
                Tally {
                    up_ms: r.get(1)?,
                    down_ms: r.get(2)?,
                    maint_ms: r.get(3)?,
                    runs: r.get(4)?,
                    down_runs: r.get(5)?,
                },
                blob.map(|b| Histogram::decode(&b)),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Latency histograms over the pieces of `p`, per target (or for `only`).
    pub fn latency(
        &self,
        p: &Plan,
        only: Option<i64>,
    ) -> Result<HashMap<i64, Histogram>, HistoryError> {
        let mut out: HashMap<i64, Histogram> = HashMap::new();
        for &(tier, a, b) in &p.pieces {
            let sql = format!(
                "SELECT target_id, latency FROM {} WHERE bucket >= ?1 AND bucket < ?2{} AND latency IS NOT NULL",
                tier.table(),
                only_clause(only)
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?));
            let rows = match only {
                Some(id) => stmt.query_map(params![a, b, id], map)?,
                None => stmt.query_map(params![a, b], map)?,
            };
            for row in rows {
                let (id, blob) = row?;
                out.entry(id).or_default().merge(&Histogram::decode(&blob));
            }
        }
        Ok(out)
    }

    /// One target's buckets of `tier` in `[from, to)`, oldest first: (bucket, runs, latency).
    pub fn series(
        &self,
        id: i64,
        tier: Tier,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, i64, Histogram)>, HistoryError> {
        let sql = format!(
            "SELECT bucket, runs, latency FROM {} WHERE target_id = ?1 AND bucket >= ?2 AND bucket < ?3 ORDER BY bucket",
            tier.table()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![id, from, to], |r| {
            let blob: Option<Vec<u8>> = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                blob.map(|b| Histogram::decode(&b)).unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Hourly latency histograms of every target from `from` on: (target, bucket, histogram).
    pub fn hourly_latency_since(
        &self,
        from: i64,
    ) -> Result<Vec<(i64, i64, Histogram)>, HistoryError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT target_id, bucket, latency FROM hourly WHERE bucket >= ?1 AND latency IS NOT NULL",
        )?;
        let rows = stmt.query_map(params![from], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                Histogram::decode(&r.get::<_, Vec<u8>>(2)?),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Incidents overlapping `[from, to)`, per target (or for `only`): the `limit` most recent
    /// and the count.
    pub fn incidents(
        &self,
        from: i64,
        to: i64,
        limit: usize,
        only: Option<i64>,
    ) -> Result<HashMap<i64, Incidents>, HistoryError> {
        let sql = format!(
            "SELECT target_id, start_ms, end_ms, result, first_failure, failed_runs FROM incidents
             WHERE start_ms < ?2 AND (end_ms IS NULL OR end_ms > ?1){}
             ORDER BY target_id, start_ms DESC",
            only_clause(only)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, i64>(0)?,
                Incident {
                    start_ms: r.get(1)?,
                    end_ms: r.get(2)?,
                    result: result_name(r.get(3)?),
                    first_failure: r.get(4)?,
                    failed_runs: r.get(5)?,
                },
            ))
        };
        let rows = match only {
            Some(id) => stmt.query_map(params![from, to, id], map)?,
            None => stmt.query_map(params![from, to], map)?,
        };
        let mut out: HashMap<i64, Incidents> = HashMap::new();
        for row in rows {
            let (id, incident) = row?;
            let entry = out.entry(id).or_default();
            entry.total += 1;
            if entry.list.len() < limit {
                entry.list.push(incident);
            }
        }
        Ok(out)
    }
}

/// Add each target's open segment (its last run's result, holding until `now`, at most its cap)
/// to each plan's tallies.
pub fn add_open_segments(
    targets: &[TargetRow],
    plans: &[Plan],
    now: i64,
    only: Option<i64>,
    out: &mut [Tallies],
) {
    for t in targets.iter().filter(|t| only.is_none_or(|id| id == t.id)) {
        let Some(last) = t.last else { continue };
        let end = (last.start_ms.saturating_add(last.cap_ms)).min(now);
        for (p, tallies) in plans.iter().zip(out.iter_mut()) {
            let ms = overlap(last.start_ms, end, p.from, p.to);
            if ms > 0 {
                tallies.entry(t.id).or_default().add_time(last.class, ms);
            }
        }
    }
}
