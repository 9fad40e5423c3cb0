//! Filling `history.db` directly, as the writer would have left it after D days: targets, hourly
//! and daily roll-ups, incidents, and the raw runs of the last R days.

use std::time::{Duration, Instant};

use anyhow::Result;
use dcrawl::history::latency::Histogram;
use dcrawl::history::rollup::floor;
use dcrawl::history::{DAY_MS, Db, HOUR_MS, HOURLY_KEEP_MS};
use rusqlite::params;

use crate::Args;

/// A stable pseudo-random number for (a, b).
pub fn mix(a: i64, b: i64) -> u64 {
    let mut x =
        (a as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (b as u64).wrapping_add(0x632b_e59b);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

/// Target `i`'s offset within the minute, as the scheduler spreads targets.
pub fn offset(i: i64) -> i64 {
    (mix(i, 7) % 60_000) as i64
}

/// Target `i`'s typical latency.
pub fn base_ms(i: i64) -> u64 {
    20 + mix(i, 3) % 180
}

/// Does target `i` have an incident in hour number `k`? About one in 240 hours.
fn incident_hour(i: i64, k: i64) -> bool {
    mix(i, k).is_multiple_of(240)
}

/// Four hours' worth (60 runs) of latency histograms for target `i`.
fn variants(i: i64) -> [Histogram; 4] {
    let base = base_ms(i);
    std::array::from_fn(|v| {
        let mut h = Histogram::new();
        for k in 0..60u64 {
            let spread = [80, 90, 100, 110, 130][((k * 7 + v as u64 * 3) % 5) as usize];
            let outlier = if k == 59 { 4 } else { 1 };
            h.add(Duration::from_millis(base * spread * outlier / 100));
        }
        h
    })
}

/// Fill a new database in `a.dir` with history ending at `t_end`.
pub fn fill(a: &Args, t_end: i64) -> Result<()> {
    let started = Instant::now();
    let mut db = Db::open(&a.dir)?;
    // Nothing to lose in a benchmark's fill: no fsync.
    db.connection().execute_batch("PRAGMA synchronous = OFF;")?;
    write_rollups(&mut db, a, t_end)?;
    write_raw(&mut db, a, t_end)?;
    db.connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    eprintln!(
        "history_bench: filled in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Targets, roll-ups and incidents of `a.days` days ending at `t_end`.
pub fn write_rollups(db: &mut Db, a: &Args, t_end: i64) -> Result<()> {
    let n = a.targets;
    let conn = db.connection();
    {
        let tx = conn.transaction()?;
        let mut stmt = tx.prepare(
            "INSERT INTO targets (id, spec, name, last_start_ms, last_class, last_cap_ms, last_result) VALUES (?1, ?2, ?3, ?4, 0, 120000, 0)",
        )?;
        for i in 0..n {
            let last = t_end - 60_000 + offset(i);
            stmt.execute(params![
                i + 1,
                format!("bench-{:02}", i / 100),
                format!("t{i}"),
                last
            ])?;
        }
        drop(stmt);
        tx.commit()?;
    }
    let hists: Vec<[Histogram; 4]> = (0..n).map(variants).collect();
    let blobs: Vec<[Vec<u8>; 4]> = hists
        .iter()
        .map(|v| v.each_ref().map(Histogram::encode))
        .collect();
    let start = floor(t_end - a.days * DAY_MS, DAY_MS);
    let hourly_from = t_end - HOURLY_KEEP_MS;
    let mut day_acc: Vec<(i64, i64, Histogram)> = vec![(0, 0, Histogram::new()); n as usize];
    let mut hour = start;
    let started = Instant::now();
    while hour < t_end {
        let k = hour / HOUR_MS;
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO hourly (bucket, target_id, up_ms, down_ms, maint_ms, runs, down_runs, latency) VALUES (?1, ?2, ?3, ?4, 0, 60, ?5, ?6)",
            )?;
            let mut incident = tx.prepare_cached(
                "INSERT INTO incidents (target_id, start_ms, end_ms, result, first_failure, failed_runs) VALUES (?1, ?2, ?3, 1, 'status: expected 2xx, found 503', 5)",
            )?;
            for i in 0..n {
                let down = incident_hour(i, k);
                let down_ms = if down { 300_000 } else { 0 };
                let v = (mix(i, k) % 4) as usize;
                if hour >= hourly_from {
                    put.execute(params![
                        hour,
                        i + 1,
                        HOUR_MS - down_ms,
                        down_ms,
                        if down { 5 } else { 0 },
                        blobs[i as usize][v]
                    ])?;
                }
                let acc = &mut day_acc[i as usize];
                acc.0 += down_ms;
                acc.1 += i64::from(down) * 5;
                acc.2.merge(&hists[i as usize][v]);
                if down {
                    let s = hour + 10 * 60_000 + offset(i);
                    incident.execute(params![i + 1, s, s + 300_000])?;
                }
            }
            if (hour + HOUR_MS) % DAY_MS == 0 || hour + HOUR_MS >= t_end {
                let day = floor(hour, DAY_MS);
                let hours = (hour + HOUR_MS - day) / HOUR_MS;
                let mut put_day = tx.prepare_cached(
                    "INSERT INTO daily (bucket, target_id, up_ms, down_ms, maint_ms, runs, down_runs, latency) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)",
                )?;
                for (i, acc) in day_acc.iter_mut().enumerate() {
                    put_day.execute(params![
                        day,
                        i as i64 + 1,
                        hours * HOUR_MS - acc.0,
                        acc.0,
                        hours * 60,
                        acc.1,
                        acc.2.encode()
                    ])?;
                    *acc = (0, 0, Histogram::new());
                }
            }
        }
        tx.commit()?;
        hour += HOUR_MS;
        if (hour - start) % (10 * DAY_MS) == 0 {
            eprintln!(
                "history_bench: roll-ups up to day {} of {} ({:.0} s)",
                (hour - start) / DAY_MS,
                a.days,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Raw runs of the last `a.raw_days` days before `t_end`, a run per target and minute.
pub fn write_raw(db: &mut Db, a: &Args, t_end: i64) -> Result<()> {
    let n = a.targets;
    let order = by_offset(n);
    let conn = db.connection();
    let from = t_end - a.raw_days * DAY_MS;
    let started = Instant::now();
    let mut minute = from;
    while minute < t_end {
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO runs (target_id, started_ms, duration_ms, result, status, failure, maintenance) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
            )?;
            for _ in 0..10 {
                let in_hour = (minute % HOUR_MS) / 60_000;
                for &i in &order {
                    let failing = (10..15).contains(&in_hour) && incident_hour(i, minute / HOUR_MS);
                    let duration = i64::try_from(
                        base_ms(i) * [80, 90, 100, 110, 130][(mix(i, minute) % 5) as usize] / 100,
                    )
                    .unwrap_or(0);
                    put.execute(params![
                        i + 1,
                        minute + offset(i),
                        duration,
                        i64::from(failing),
                        if failing { 503 } else { 200 },
                        failing.then_some("status: expected 2xx, found 503")
                    ])?;
                }
                minute += 60_000;
            }
        }
        tx.commit()?;
        if (minute - from) % DAY_MS == 0 {
            eprintln!(
                "history_bench: raw runs up to day {} of {} ({:.0} s)",
                (minute - from) / DAY_MS,
                a.raw_days,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Target numbers in the order they run within a minute.
pub fn by_offset(n: i64) -> Vec<i64> {
    let mut order: Vec<i64> = (0..n).collect();
    order.sort_by_key(|&i| offset(i));
    order
}
