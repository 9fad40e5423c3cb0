//! Writing a batch of runs: raw rows, roll-ups, incidents and each target's last run, in one
//! transaction. Runs of one target arrive in order (one task records them), so the time the
//! previous run's result held is known when the next run arrives and is added to the
//! roll-ups then; the last run's time is added by readers up to "now" (its open segment).
//!
//! Histograms cannot be summed in SQL, so the writer keeps each target's histogram of its
//! current hour and day in memory and writes it whole; the counters are summed by upserts.
//! When a batch fails, the transaction is rolled back and the in-memory state reloaded from the
//! database, so what is kept stays consistent.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};

use super::latency::Histogram;
use super::rollup::{TIERS, Tally, Tier, segment_end, split};
use super::store::{Db, HistoryError};
use super::{Class, Run, has_response, is_down, result_code};

/// A target's last run: its result holds from `start_ms` until the next run, at most `cap_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last {
    /// When it started.
    pub start_ms: i64,
    /// How its time counts.
    pub class: Class,
    /// How long its result holds at most.
    pub cap_ms: i64,
}

/// What the writer knows of one target.
#[derive(Debug, Default)]
struct Cursor {
    /// Its row id in `targets`.
    id: i64,
    /// Its last run.
    last: Option<Last>,
    /// The last run's result code.
    last_result: i64,
    /// Its open incident's row id.
    open_incident: Option<i64>,
    /// The histogram of its current bucket in each tier: (bucket, histogram).
    hist: [Option<(i64, Histogram)>; 2],
}

/// Changes to one roll-up row in this batch.
#[derive(Debug, Default)]
struct Delta {
    /// Counters to add.
    tally: Tally,
    /// The bucket's whole histogram, when a run added to it.
    latency: Option<Histogram>,
}

/// The writer's state over `history.db`.
pub struct Ingest {
    /// The database, opened for writing.
    db: Db,
    /// Targets by (spec, target).
    targets: HashMap<(String, String), Cursor>,
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Hourly => 0,
        Tier::Daily => 1,
    }
}

impl Ingest {
    /// Take over `db`, loading every target's last run and open incident.
    pub fn new(db: Db) -> Result<Ingest, HistoryError> {
        let mut ingest = Ingest {
            db,
            targets: HashMap::new(),
        };
        ingest.reload()?;
        Ok(ingest)
    }

    /// The database (for pruning between batches).
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn reload(&mut self) -> Result<(), HistoryError> {
        self.targets.clear();
        let mut stmt = self.db.conn.prepare(
            "SELECT id, spec, name, last_start_ms, last_class, last_cap_ms, last_result, open_incident FROM targets",
        )?;
        let rows = stmt.query_map([], |r| {
            let last = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i64>>(5)?) {
                (Some(start_ms), Some(cap_ms)) => Some(Last {
                    start_ms,
                    class: Class::from_code(r.get::<_, Option<i64>>(4)?.unwrap_or(0)),
                    cap_ms,
                }),
                _ => None,
            };
            Ok((
                (r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                Cursor {
                    id: r.get(0)?,
                    last,
                    last_result: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
                    open_incident: r.get(7)?,
                    hist: [None, None],
                },
            ))
        })?;
        for row in rows {
            let (key, cursor) = row?;
            self.targets.insert(key, cursor);
        }
        Ok(())
    }

    /// Write `runs` (in the order each target ran them) in one transaction. On failure nothing
    /// of the batch is kept.
    pub fn apply(&mut self, runs: &[Run]) -> Result<(), HistoryError> {
        let written = self.try_apply(runs);
        if written.is_err() {
            // The transaction was rolled back: forget what this batch changed in memory.
            if let Err(e) = self.reload() {
                tracing::error!(error = %e, "history: cannot reload the writer's state");
                self.targets.clear();
            }
        }
        written
    }

    fn try_apply(&mut self, runs: &[Run]) -> Result<(), HistoryError> {
        let tx = self.db.conn.transaction()?;
        let mut deltas: HashMap<(Tier, i64, i64), Delta> = HashMap::new();
        let mut incident_runs: HashMap<i64, i64> = HashMap::new();
        let mut touched: Vec<(String, String)> = Vec::new();
        for run in runs {
            let key = (run.spec.clone(), run.target.clone());
            if !self.targets.contains_key(&key) {
                let id = target_id(&tx, &run.spec, &run.target)?;
                self.targets.insert(
                    key.clone(),
                    Cursor {
                        id,
                        ..Cursor::default()
                    },
                );
            }
            let Some(cursor) = self.targets.get_mut(&key) else {
                continue;
            };
            insert_run(&tx, cursor.id, run)?;
            // The previous result held until now (at most its cap).
            if let Some(last) = cursor.last {
                let end = segment_end(last.start_ms, last.cap_ms, run.started_ms);
                for tier in TIERS {
                    for (bucket, ms) in split(tier, last.start_ms, end) {
                        let d = deltas.entry((tier, bucket, cursor.id)).or_default();
                        d.tally.add_time(last.class, ms);
                    }
                }
            }
            let class = run.class();
            for tier in TIERS {
                let bucket = tier.bucket(run.started_ms);
                let d = deltas.entry((tier, bucket, cursor.id)).or_default();
                d.tally.runs += 1;
                if class == Class::Down {
                    d.tally.down_runs += 1;
                }
                if !run.maintenance && has_response(run.result) {
                    let slot = &mut cursor.hist[tier_index(tier)];
                    if slot.as_ref().is_none_or(|(b, _)| *b != bucket) {
                        let hist = match &d.latency {
                            Some(h) => h.clone(),
                            None => stored_latency(&tx, tier, bucket, cursor.id)?,
                        };
                        *slot = Some((bucket, hist));
                    }
                    if let Some((_, hist)) = slot {
                        hist.add(std::time::Duration::from_millis(
                            u64::try_from(run.duration_ms).unwrap_or(0),
                        ));
                        d.latency = Some(hist.clone());
                    }
                }
            }
            track_incident(&tx, cursor, run, &mut incident_runs)?;
            cursor.last = Some(Last {
                start_ms: run.started_ms,
                class,
                cap_ms: run.cap_ms(),
            });
            cursor.last_result = result_code(run.result);
            touched.push(key);
        }
        for ((tier, bucket, id), d) in &deltas {
            upsert(&tx, *tier, *bucket, *id, d)?;
        }
        for (id, n) in incident_runs {
            tx.prepare_cached("UPDATE incidents SET failed_runs = failed_runs + ?2 WHERE id = ?1")?
                .execute(params![id, n])?;
        }
        touched.sort();
        touched.dedup();
        for key in &touched {
            if let Some(c) = self.targets.get(key) {
                save_cursor(&tx, c)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The id of spec/target, creating its row.
fn target_id(tx: &Transaction<'_>, spec: &str, name: &str) -> Result<i64, HistoryError> {
    tx.prepare_cached("INSERT INTO targets (spec, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute(params![spec, name])?;
    Ok(tx
        .prepare_cached("SELECT id FROM targets WHERE spec = ?1 AND name = ?2")?
        .query_row(params![spec, name], |r| r.get(0))?)
}

fn insert_run(tx: &Transaction<'_>, id: i64, run: &Run) -> Result<(), HistoryError> {
    tx.prepare_cached(
        "INSERT INTO runs (target_id, started_ms, duration_ms, result, status, failure, maintenance) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        run.started_ms,
        run.duration_ms,
        result_code(run.result),
        run.status,
        run.failure,
        run.maintenance
    ])?;
    Ok(())
}

/// The stored histogram of a bucket (empty when it has none yet).
fn stored_latency(
    tx: &Transaction<'_>,
    tier: Tier,
    bucket: i64,
    id: i64,
) -> Result<Histogram, HistoryError> {
    let sql = format!(
        "SELECT latency FROM {} WHERE bucket = ?1 AND target_id = ?2",
        tier.table()
    );
    let blob: Option<Option<Vec<u8>>> = tx
        .prepare_cached(&sql)?
        .query_row(params![bucket, id], |r| r.get(0))
        .optional()?;
    Ok(blob
        .flatten()
        .map(|b| Histogram::decode(&b))
        .unwrap_or_default())
}

fn upsert(
    tx: &Transaction<'_>,
    tier: Tier,
    bucket: i64,
    id: i64,
    d: &Delta,
) -> Result<(), HistoryError> {
    let sql = format!(
        "INSERT INTO {} (bucket, target_id, up_ms, down_ms, maint_ms, runs, down_runs, latency)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (bucket, target_id) DO UPDATE SET
           up_ms = up_ms + excluded.up_ms, down_ms = down_ms + excluded.down_ms,
           maint_ms = maint_ms + excluded.maint_ms, runs = runs + excluded.runs,
           down_runs = down_runs + excluded.down_runs,
           latency = coalesce(excluded.latency, latency)",
        tier.table()
    );
    let t = &d.tally;
    tx.prepare_cached(&sql)?.execute(params![
        bucket,
        id,
        t.up_ms,
        t.down_ms,
        t.maint_ms,
        t.runs,
        t.down_runs,
        d.latency.as_ref().map(Histogram::encode)
    ])?;
    Ok(())
}

/// Open, extend or close the target's incident. A run that is not down closes it (in
/// maintenance too); a down run outside maintenance opens one or counts in the open one; a down
/// run in maintenance changes nothing.
fn track_incident(
    tx: &Transaction<'_>,
    cursor: &mut Cursor,
    run: &Run,
    extra_runs: &mut HashMap<i64, i64>,
) -> Result<(), HistoryError> {
    let down = is_down(run.result);
    match cursor.open_incident {
        Some(id) if !down => {
            tx.prepare_cached("UPDATE incidents SET end_ms = ?2 WHERE id = ?1")?
                .execute(params![id, run.started_ms])?;
            cursor.open_incident = None;
        }
        Some(id) if !run.maintenance => *extra_runs.entry(id).or_default() += 1,
        None if down && !run.maintenance => {
            tx.prepare_cached(
                "INSERT INTO incidents (target_id, start_ms, result, first_failure) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![cursor.id, run.started_ms, result_code(run.result), run.failure])?;
            cursor.open_incident = Some(tx.last_insert_rowid());
        }
        _ => {}
    }
    Ok(())
}

fn save_cursor(tx: &Transaction<'_>, c: &Cursor) -> Result<(), HistoryError> {
    tx.prepare_cached(
        "UPDATE targets SET last_start_ms = ?2, last_class = ?3, last_cap_ms = ?4, last_result = ?5, open_incident = ?6 WHERE id = ?1",
    )?
    .execute(params![
        c.id,
        c.last.map(|l| l.start_ms),
        c.last.map(|l| l.class.code()),
        c.last.map(|l| l.cap_ms),
        c.last_result,
        c.open_incident
    ])?;
    Ok(())
}
