//! Retention: each tier pruned at its age, old ranges answered from the daily roll-ups once
//! the hourly ones are gone, and the recorder pruning in its own thread.

use super::ingest::Ingest;
use super::rollup::{Tally, Tier};
use super::tests::{S, T0, run};
use super::*;

#[test]
fn retention_prunes_each_tier() {
    let dir = tempfile::tempdir().unwrap();
    let now = T0 + 1000 * DAY_MS;
    let at = |days_ago: i64, result: &'static str| Run {
        started_ms: now - days_ago * DAY_MS,
        ..run(0, result, 100, false)
    };
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    let runs = [
        at(800, "failure"),
        at(799, "success"),
        at(700, "success"),
        at(91, "success"),
        at(89, "success"),
        at(8, "success"),
        at(6, "success"),
        Run {
            started_ms: now - HOUR_MS,
            ..run(0, "success", 100, false)
        },
    ];
    ingest.apply(&runs).unwrap();
    let db = Db::open(dir.path()).unwrap();
    let buckets = |tier: Tier| {
        let sql = format!("SELECT bucket FROM {} ORDER BY bucket", tier.table());
        let mut stmt = db.conn.prepare(&sql).unwrap();
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .collect::<Result<Vec<i64>, _>>()
            .unwrap()
    };
    assert_eq!(db.raw_count().unwrap(), 8);
    assert!(buckets(Tier::Hourly)[0] < now - 700 * DAY_MS);
    while db.prune(now).unwrap() {}
    // Raw: only the last 7 days.
    assert_eq!(db.raw_count().unwrap(), 2);
    // Hourly: nothing older than 90 days; 89 days ago is kept.
    let hourly = buckets(Tier::Hourly);
    assert!(hourly[0] >= now - HOURLY_KEEP_MS - HOUR_MS, "{hourly:?}");
    assert!(hourly.contains(&Tier::Hourly.bucket(now - 89 * DAY_MS)));
    // Daily: two years; 700 and 91 days ago are kept, 800 is gone.
    let daily = buckets(Tier::Daily);
    assert!(!daily.contains(&Tier::Daily.bucket(now - 800 * DAY_MS)));
    assert!(daily.contains(&Tier::Daily.bucket(now - 700 * DAY_MS)));
    assert!(daily.contains(&Tier::Daily.bucket(now - 91 * DAY_MS)));
    // The incident of 800 days ago ended 799 days ago: gone.
    let incidents: i64 = db
        .conn
        .query_row("SELECT COUNT(*) FROM incidents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(incidents, 0);
}

/// Runs older than the hourly roll-ups still count, from the daily ones, in whole days.
#[test]
fn old_ranges_are_answered_from_daily_roll_ups() {
    let dir = tempfile::tempdir().unwrap();
    let day = rollup::floor(T0, DAY_MS);
    // One day every 10 minutes, failing from 06:00 to 07:00.
    let runs: Vec<Run> = (0..144)
        .map(|i| {
            let failing = (36..42).contains(&i);
            Run {
                started_ms: day + i * 600 * S,
                interval_ms: 600 * S,
                ..run(0, if failing { "failure" } else { "success" }, 50, false)
            }
        })
        .collect();
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    ingest.apply(&runs).unwrap();
    let db = Db::open(dir.path()).unwrap();
    let rows = db.targets().unwrap();
    let id = rows[0].id;
    // The next day, from the hourly roll-ups (two half days: a whole day would be read from
    // the daily roll-up).
    let then = day + DAY_MS + HOUR_MS;
    let mut fresh = Tally::default();
    for (a, b) in [
        (day, day + 12 * HOUR_MS),
        (day + 12 * HOUR_MS, day + DAY_MS),
    ] {
        let (plan, t) = db.tallies(&rows, a, b, then, None).unwrap();
        assert!(plan.pieces.iter().all(|(tier, _, _)| *tier == Tier::Hourly));
        fresh.add(&t[&id]);
    }
    assert_eq!(
        (fresh.down_ms, fresh.runs, fresh.down_runs),
        (3600 * S, 144, 6)
    );
    // 100 days later, with the hourly roll-ups pruned: an hour of that day is answered with
    // the whole day, from the daily roll-up, and it says the same.
    let later = day + 100 * DAY_MS;
    while db.prune(later).unwrap() {}
    assert_eq!(db.rollup_count(Tier::Hourly).unwrap(), 0);
    let (plan, old) = db
        .tallies(&rows, day + HOUR_MS, day + 2 * HOUR_MS, later, None)
        .unwrap();
    assert_eq!(plan.pieces, [(Tier::Daily, day, day + DAY_MS)]);
    assert_eq!(old[&id], fresh);
}

/// The recorder prunes in its own thread, without being asked: at start and then every
/// `prune_every`.
#[test]
fn the_recorder_prunes_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    // Ten minutes into the hour: each run and its result's two minutes are in one hour.
    let now = rollup::floor(chrono::Utc::now().timestamp_millis(), HOUR_MS) + 10 * 60 * S;
    let at = |days_ago: i64| Run {
        started_ms: now - days_ago * DAY_MS,
        ..run(0, "success", 100, false)
    };
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    ingest.apply(&[at(100), at(8), at(1)]).unwrap();
    drop(ingest);
    let options = HistoryOptions {
        prune_every: std::time::Duration::from_millis(50),
        ..HistoryOptions::default()
    };
    let recorder = Recorder::open(dir.path(), options, Counters::default()).unwrap();
    let reader = recorder.reader();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let counts = || {
        reader.with(|db| {
            (
                db.raw_count().unwrap(),
                db.rollup_count(Tier::Hourly).unwrap(),
            )
        })
    };
    while counts() != (1, 2) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Raw: the last 7 days; hourly: the last 90 days (the runs of 8 days and 1 day ago).
    assert_eq!(counts(), (1, 2));
    // And again later, with no run recorded through the recorder: another writer adds a
    // roll-up of 100 days ago, and it goes too.
    ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    ingest
        .apply(&[Run {
            target: "other".into(),
            ..at(100)
        }])
        .unwrap();
    while counts().1 != 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(counts().1, 2);
    drop(recorder);
}
