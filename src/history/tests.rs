//! Roll-ups, uptime and incidents against a series computed by hand, the writer across a
//! restart, maintenance and incidents, and the writer's failure handling (retention:
//! [`super::retention_tests`]).

use super::doc::{self, Options};
use super::ingest::Ingest;
use super::rollup::{Tally, Tier};
use super::*;

/// 2026-11-25T10:50:00Z: the series below crosses 11:00.
pub(crate) const T0: i64 = 1_795_603_800_000;
pub(crate) const S: i64 = 1000;

/// A run of shop/home at `T0 + at_s` seconds.
pub(crate) fn run(at_s: i64, result: &'static str, duration_ms: i64, maintenance: bool) -> Run {
    Run {
        spec: "shop".into(),
        target: "home".into(),
        started_ms: T0 + at_s * S,
        duration_ms,
        result,
        status: (result != "error").then_some(if result == "failure" { 500 } else { 200 }),
        failure: match result {
            "failure" => Some("status: expected 2xx, found 500".into()),
            "error" => Some("error: connection refused".into()),
            "warning" => Some("max_duration: expected <= 250 ms, found 300 ms".into()),
            _ => None,
        },
        maintenance,
        interval_ms: 60 * S,
    }
}

/// Every minute, with a restart gap, a maintenance window and a warning (see `hand_computed`).
pub(crate) fn series() -> (Vec<Run>, Vec<Run>) {
    let before_restart = vec![
        run(0, "success", 100, false),
        run(60, "success", 100, false),
        run(120, "failure", 200, false),
        run(180, "error", 10_000, false),
        run(240, "success", 100, false),
        run(300, "warning", 300, false),
        run(360, "success", 100, false),
    ];
    // The daemon was down from 06:00 (+360 s) to 20:00 (+1200 s) after the hour.
    let after_restart = vec![
        run(1200, "success", 100, true),
        run(1260, "failure", 200, true),
        run(1320, "success", 100, false),
        run(1380, "failure", 200, false),
    ];
    (before_restart, after_restart)
}

/// The series written in two batches with a restart (a new writer on the same file) between.
pub(crate) fn written(dir: &std::path::Path) -> Db {
    let (a, b) = series();
    {
        let mut ingest = Ingest::new(Db::open(dir).unwrap()).unwrap();
        ingest.apply(&a[..3]).unwrap();
        ingest.apply(&a[3..]).unwrap();
    }
    let mut ingest = Ingest::new(Db::open(dir).unwrap()).unwrap();
    ingest.apply(&b).unwrap();
    Db::open_read_only(dir).unwrap()
}

/// "Now": 30 s after the last run.
pub(crate) const NOW: i64 = T0 + 1410 * S;

#[test]
fn hand_computed() {
    let dir = tempfile::tempdir().unwrap();
    let db = written(dir.path());
    let rows = db.targets().unwrap();
    assert_eq!(rows.len(), 1);
    // Up: 0-60, 60-120, 240-300, 300-360 (the warning), 360-480 (capped at twice the
    // interval; 480-1200 is unknown), 1320-1380. Down: 120-180, 180-240, 1380-now (30 s,
    // still holding). Maintenance: 1200-1320, the failure in it included.
    let want = Tally {
        up_ms: 420 * S,
        down_ms: 150 * S,
        maint_ms: 120 * S,
        runs: 11,
        down_runs: 3,
    };
    let (plan, tallies) = db.tallies(&rows, T0, NOW, NOW, None).unwrap();
    assert_eq!(tallies[&rows[0].id], want);
    assert_eq!(plan.from, T0 - 50 * 60 * S);
    let uptime = want.uptime().unwrap();
    assert!((uptime - 100.0 * 420.0 / 570.0).abs() < 1e-9, "{uptime}");
    // The same through the one-target path.
    let (_, one) = db.tallies(&rows, T0, NOW, NOW, Some(rows[0].id)).unwrap();
    assert_eq!(one[&rows[0].id], want);
    // Hour by hour: up to 11:00 (+600 s) and after.
    let (_, before) = db.tallies(&rows, T0, T0 + 600 * S, NOW, None).unwrap();
    assert_eq!(
        before[&rows[0].id],
        Tally {
            up_ms: 360 * S,
            down_ms: 120 * S,
            maint_ms: 0,
            runs: 7,
            down_runs: 2
        }
    );

    let docs = doc::build(
        &db,
        &[("shop".into(), "home".into())],
        T0,
        NOW,
        NOW,
        Options {
            incidents_limit: 10,
            series: true,
        },
    )
    .unwrap();
    let d = &docs[0];
    assert_eq!(d.range.uptime_percent, Some(doc::floor4(uptime)));
    assert_eq!(d.range.up_seconds, 420.0);
    assert_eq!(d.range.maintenance_seconds, 120.0);
    // Counted from 10:00 to now: 4410 s, of which 690 s are known.
    assert_eq!(d.range.unknown_seconds, 4410.0 - 690.0);
    assert_eq!((d.range.runs, d.range.failed_runs), (11, 3));
    assert_eq!(d.uptime.day, d.range.uptime_percent);
    // Incidents, the most recent first: one open since +1380 s, one from +120 s to +240 s
    // (two failed runs); the failure in maintenance opened none.
    assert_eq!(d.incidents_total, 2);
    let open = &d.incidents[0];
    assert!(open.open && open.end.is_none());
    assert_eq!(open.start.timestamp_millis(), T0 + 1380 * S);
    assert_eq!(open.duration_seconds, 30.0);
    let closed = &d.incidents[1];
    assert_eq!(
        (
            closed.start.timestamp_millis(),
            closed.end.map(|e| e.timestamp_millis())
        ),
        (T0 + 120 * S, Some(T0 + 240 * S))
    );
    assert_eq!((closed.duration_seconds, closed.failed_runs), (120.0, 2));
    assert_eq!(closed.result, "failure");
    assert_eq!(
        closed.first_failure.as_deref(),
        Some("status: expected 2xx, found 500")
    );
    // Latency: runs with a response outside maintenance: 100 ms x5, 200 ms x2, 300 ms.
    assert_eq!(d.latency.runs, 8);
    let near = |got: Option<f64>, want: f64| {
        let got = got.unwrap();
        assert!((got - want).abs() / want < 0.05, "{got} vs {want}");
    };
    near(d.latency.p50_seconds, 0.1);
    near(d.latency.p95_seconds, 0.3);
    near(d.latency.p99_seconds, 0.3);
    let series = d.latency_series.as_ref().unwrap();
    assert_eq!(series.step, "1h");
    assert_eq!(
        series.points.iter().map(|p| p.runs).collect::<Vec<_>>(),
        [7, 4]
    );
}

#[test]
fn hourly_and_daily_roll_ups_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    // Every 7 minutes for three days, failing one run in five.
    let runs: Vec<Run> = (0..(3 * 24 * 60 / 7))
        .map(|i| {
            run(
                i * 420,
                if i % 5 == 0 { "failure" } else { "success" },
                50,
                false,
            )
        })
        .map(|r| Run {
            interval_ms: 420 * S,
            ..r
        })
        .collect();
    for chunk in runs.chunks(100) {
        ingest.apply(chunk).unwrap();
    }
    let db = Db::open_read_only(dir.path()).unwrap();
    let sum = |tier: Tier| {
        let sql = format!(
            "SELECT SUM(up_ms), SUM(down_ms), SUM(runs), SUM(down_runs) FROM {}",
            tier.table()
        );
        db.conn
            .query_row(&sql, [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap()
    };
    assert_eq!(sum(Tier::Hourly), sum(Tier::Daily));
    let (up, down, n, failed): (i64, i64, i64, i64) = sum(Tier::Hourly);
    assert_eq!(n, runs.len() as i64);
    assert_eq!(failed, runs.len().div_ceil(5) as i64);
    // Every run but the last closed a 420 s segment.
    assert_eq!(up + down, (runs.len() as i64 - 1) * 420 * S);
}

/// `run`, moved to the last hours (the recorder prunes by the real clock).
fn recent(at_s: i64) -> Run {
    let base = rollup::floor(chrono::Utc::now().timestamp_millis(), HOUR_MS) - 2 * HOUR_MS;
    let r = run(at_s, "success", 100, false);
    Run {
        started_ms: r.started_ms - T0 + base,
        ..r
    }
}

#[test]
fn a_failed_write_is_counted_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let counters = Counters::default();
    let recorder = Recorder::open(dir.path(), HistoryOptions::default(), counters.clone()).unwrap();
    recorder.record_run(recent(0));
    recorder.flush();
    // Someone breaks the table under the writer.
    let other = rusqlite::Connection::open(store::path_in(dir.path())).unwrap();
    other
        .execute_batch("ALTER TABLE runs RENAME TO runs_moved")
        .unwrap();
    recorder.record_run(recent(60));
    recorder.flush();
    assert_eq!(counters.write_errors.get(), 1);
    other
        .execute_batch("ALTER TABLE runs_moved RENAME TO runs")
        .unwrap();
    recorder.record_run(recent(120));
    recorder.flush();
    assert_eq!(counters.write_errors.get(), 1);
    let db = Db::open_read_only(dir.path()).unwrap();
    assert_eq!(db.raw_count().unwrap(), 2);
    // The failed batch left nothing behind: the first run's result holds until the third.
    let rows = db.targets().unwrap();
    let t0 = recent(0).started_ms;
    let (_, t) = db
        .tallies(&rows, t0, t0 + 120 * S, t0 + 120 * S, None)
        .unwrap();
    assert_eq!(t[&rows[0].id].up_ms, 120 * S);
    assert_eq!(t[&rows[0].id].runs, 2);
    // After closing, runs are dropped and counted, never blocking.
    recorder.close();
    recorder.record_run(recent(180));
    assert_eq!(counters.dropped.get(), 1);
}

#[test]
fn a_read_only_reader_sees_a_live_writer() {
    let dir = tempfile::tempdir().unwrap();
    let recorder =
        Recorder::open(dir.path(), HistoryOptions::default(), Counters::default()).unwrap();
    let reader = recorder.reader();
    recorder.record_run(recent(0));
    recorder.flush();
    assert_eq!(reader.with(|db| db.raw_count().unwrap()), 1);
    recorder.record_run(recent(60));
    recorder.flush();
    assert_eq!(reader.with(|db| db.raw_count().unwrap()), 2);
    // A separate read-only open (as `dcrawl report` does) while the writer is open.
    assert_eq!(
        Db::open_read_only(dir.path()).unwrap().raw_count().unwrap(),
        2
    );
}

#[test]
fn batches_are_written_when_due_and_when_full_without_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let options = HistoryOptions {
        flush_every: std::time::Duration::from_millis(200),
        batch_max: 3,
        ..HistoryOptions::default()
    };
    let recorder = Recorder::open(dir.path(), options, Counters::default()).unwrap();
    let reader = recorder.reader();
    let written_within = |n: i64, within: std::time::Duration| {
        let started = std::time::Instant::now();
        loop {
            let count = reader.with(|db| db.raw_count().unwrap());
            if count >= n || started.elapsed() >= within {
                return count;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    // Idle since it started (it pruned, then sleeps until the next prune an hour away): the
    // first run of a batch must still be written once the batch is due.
    std::thread::sleep(std::time::Duration::from_millis(300));
    recorder.record_run(recent(0));
    assert_eq!(written_within(1, std::time::Duration::from_secs(10)), 1);
    // A full batch is written at once, before it is due.
    let long = HistoryOptions {
        flush_every: std::time::Duration::from_secs(3600),
        batch_max: 3,
        ..HistoryOptions::default()
    };
    drop(recorder);
    let recorder = Recorder::open(dir.path(), long, Counters::default()).unwrap();
    let reader = recorder.reader();
    for at in [60, 120] {
        recorder.record_run(recent(at));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        reader.with(|db| db.raw_count().unwrap()),
        1,
        "two runs wait"
    );
    recorder.record_run(recent(180));
    let started = std::time::Instant::now();
    while reader.with(|db| db.raw_count().unwrap()) < 4
        && started.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(reader.with(|db| db.raw_count().unwrap()), 4);
    // Closing writes what waits.
    recorder.record_run(recent(240));
    recorder.close();
    assert_eq!(
        Db::open_read_only(dir.path()).unwrap().raw_count().unwrap(),
        5
    );
}

#[test]
fn one_at_a_time_and_all_at_once_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    // 60 targets over three days, each failing now and then, some in maintenance.
    let runs: Vec<Run> = (0..3 * 24 * 4)
        .flat_map(|k| {
            (0..60).map(move |t| {
                let result = if (k + t) % 17 == 0 {
                    "failure"
                } else {
                    "success"
                };
                Run {
                    target: format!("t{t}"),
                    interval_ms: 15 * 60 * S,
                    ..run(k * 900 + t, result, 10 + t, (k + t) % 23 == 0)
                }
            })
        })
        .collect();
    for chunk in runs.chunks(500) {
        ingest.apply(chunk).unwrap();
    }
    let db = Db::open_read_only(dir.path()).unwrap();
    let rows = db.targets().unwrap();
    let keys: Vec<doc::Key> = rows
        .iter()
        .map(|r| (r.spec.clone(), r.target.clone()))
        .collect();
    let now = T0 + 3 * DAY_MS + HOUR_MS / 2;
    let opts = Options {
        incidents_limit: 5,
        series: false,
    };
    let from = T0 + 12 * HOUR_MS;
    let all = doc::build(&db, &keys, from, now, now, opts).unwrap();
    let one_by_one: Vec<_> = keys
        .iter()
        .flat_map(|k| doc::build(&db, std::slice::from_ref(k), from, now, now, opts).unwrap())
        .collect();
    assert_eq!(all.len(), 60);
    assert_eq!(all, one_by_one);
    assert!(
        all.iter()
            .all(|d| d.incidents_total > 0 && d.range.maintenance_seconds > 0.0)
    );
    // The summaries' windows are the documents' windows.
    let summaries = summary::summaries(&db, now).unwrap();
    for d in &all {
        let s = &summaries[&(d.spec.clone(), d.target.clone())];
        assert_eq!(s.uptime, d.uptime, "{}", d.target);
    }
}

/// A failing run opens an incident; failing runs in maintenance neither count in it nor open
/// one, and a passing run in maintenance closes it.
#[test]
fn maintenance_neither_opens_nor_extends_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    ingest
        .apply(&[
            run(0, "success", 100, false),
            run(60, "failure", 100, false),
            run(120, "failure", 100, true),
            run(180, "success", 100, true),
            run(240, "error", 100, true),
            run(300, "success", 100, false),
        ])
        .unwrap();
    let db = Db::open_read_only(dir.path()).unwrap();
    let rows = db.targets().unwrap();
    let now = T0 + 360 * S;
    let (_, t) = db.tallies(&rows, T0, now, now, None).unwrap();
    assert_eq!(
        t[&rows[0].id],
        Tally {
            up_ms: 120 * S,
            down_ms: 60 * S,
            maint_ms: 180 * S,
            runs: 6,
            down_runs: 1,
        }
    );
    let incidents = db.incidents(T0, now, 10, None).unwrap();
    let list = &incidents[&rows[0].id].list;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0].start_ms, list[0].end_ms, list[0].failed_runs),
        (T0 + 60 * S, Some(T0 + 180 * S), 1)
    );
}
