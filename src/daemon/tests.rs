//! Scheduling with tokio's paused time: every schedule kind, no overlap, spreading, skips,
//! reload and shutdown. A stand-in check records when it ran; virtual time makes hours instant.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;

use super::*;
use crate::health::Health;
use crate::model::{Schedule, Spec};
use crate::result::Outcome;

/// Records every check: who ran when, and how many ran at once.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, chrono::DateTime<Utc>)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Recorder {
    fn times(&self, name: &str) -> Vec<chrono::DateTime<Utc>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .collect()
    }
}

fn checker(rec: Arc<Recorder>, clock: Clock, takes: Duration) -> CheckFn {
    Arc::new(move |target: Arc<Target>| {
        let rec = Arc::clone(&rec);
        Box::pin(async move {
            rec.calls
                .lock()
                .unwrap()
                .push((target.name.clone(), clock.now()));
            let now = rec.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            rec.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(takes).await;
            rec.in_flight.fetch_sub(1, Ordering::SeqCst);
            success(&target, takes)
        })
    })
}

fn success(target: &Target, took: Duration) -> CheckResult {
    CheckResult {
        spec: target.spec.clone(),
        target: target.name.clone(),
        url: target.url.to_string(),
        outcome: Outcome::Success,
        error: None,
        status: Some(200),
        duration: took,
        failures: vec![],
        extracted: Default::default(),
        response_size: Some(1),
        tls_not_after: None,
        started_at: std::time::SystemTime::now(),
        crawl: None,
        steps: None,
        rendered: None,
    }
}

fn config(targets: &[(&str, &str)]) -> Config {
    let targets = targets
        .iter()
        .map(|(name, schedule)| {
            let mut t = Target::new("s", name, url::Url::parse("http://127.0.0.1:9/").unwrap());
            t.schedule = Schedule::parse(schedule, None).unwrap();
            t
        })
        .collect();
    Config {
        specs: vec![Spec {
            name: "s".into(),
            file: "s.yaml".into(),
            labels: Default::default(),
            targets,
        }],
    }
}

struct Harness {
    rec: Arc<Recorder>,
    shared: Arc<Shared>,
    supervisor: Supervisor,
}

fn harness(takes: Duration) -> Harness {
    let rec = Arc::new(Recorder::default());
    let clock = Clock::new();
    let shared = Shared::with_clock(
        checker(Arc::clone(&rec), clock, takes),
        Arc::new(Metrics::new()),
        clock,
    );
    let supervisor = Supervisor::new(Arc::clone(&shared));
    Harness {
        rec,
        shared,
        supervisor,
    }
}

fn gaps(times: &[chrono::DateTime<Utc>]) -> Vec<i64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect()
}

async fn advance(d: Duration) {
    tokio::time::sleep(d).await;
}

#[tokio::test(start_paused = true)]
async fn every_runs_at_exact_intervals() {
    let mut h = harness(Duration::from_millis(10));
    h.supervisor.apply(&config(&[("a", "@every 10s")]));
    advance(Duration::from_secs(101)).await;
    let times = h.rec.times("a");
    assert!((10..=11).contains(&times.len()), "{} runs", times.len());
    assert!(
        gaps(&times).iter().all(|g| *g == 10_000),
        "{:?}",
        gaps(&times)
    );
}

#[tokio::test(start_paused = true)]
async fn cron_with_seconds_and_hourly_macro() {
    let mut h = harness(Duration::from_millis(10));
    h.supervisor
        .apply(&config(&[("sec", "*/15 * * * * *"), ("hourly", "@hourly")]));
    advance(Duration::from_secs(3 * 3600 + 120)).await;
    let sec = h.rec.times("sec");
    assert!(sec.len() > 700);
    assert!(gaps(&sec).iter().all(|g| *g == 15_000));
    let hourly = h.rec.times("hourly");
    assert!((3..=4).contains(&hourly.len()), "{hourly:?}");
    assert!(gaps(&hourly).iter().all(|g| *g == 3_600_000));
    // Spread: within the first minute after the hour.
    for t in hourly {
        assert_eq!(chrono::Timelike::minute(&t), 0, "{t}");
    }
}

#[tokio::test(start_paused = true)]
async fn slow_runs_never_overlap_and_skipped_ticks_are_counted() {
    let mut h = harness(Duration::from_secs(25));
    h.supervisor.apply(&config(&[("slow", "@every 10s")]));
    advance(Duration::from_secs(105)).await;
    let times = h.rec.times("slow");
    assert_eq!(h.rec.max_in_flight.load(Ordering::SeqCst), 1);
    assert!(
        gaps(&times).iter().all(|g| *g == 30_000),
        "{:?}",
        gaps(&times)
    );
    let finished = times.len() - usize::from(h.rec.in_flight.load(Ordering::SeqCst) > 0);
    let text = h.shared.metrics.encode_text();
    let expected = format!(
        "dcrawl_skipped_runs_total{{spec=\"s\",target=\"slow\"}} {}",
        finished * 2
    );
    assert!(text.contains(&expected), "want {expected} in\n{text}");
}

/// Every run the scheduler makes is recorded in history, once, by the time the daemon has
/// shut down and closed it.
#[tokio::test(start_paused = true)]
async fn every_run_is_recorded_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(Duration::from_millis(10));
    let history = crate::history::Recorder::open(
        dir.path(),
        crate::history::HistoryOptions::default(),
        crate::history::Counters::default(),
    )
    .unwrap();
    assert!(h.shared.history.set(Arc::clone(&history)).is_ok());
    let mut supervisor = h.supervisor;
    supervisor.apply(&config(&[("a", "@every 10s"), ("b", "@every 7s")]));
    advance(Duration::from_secs(101)).await;
    supervisor.shutdown(Duration::from_secs(10)).await;
    history.close();
    let db = crate::history::Db::open_read_only(dir.path()).unwrap();
    let runs = |name: &str| {
        let row = db.target("s", name).unwrap().unwrap();
        let (_, t) = db
            .tallies(
                std::slice::from_ref(&row),
                0,
                i64::MAX / 2,
                i64::MAX / 2,
                Some(row.id),
            )
            .unwrap();
        t[&row.id].runs as usize
    };
    let (a, b) = (h.rec.times("a").len(), h.rec.times("b").len());
    assert!(a >= 10 && b >= 14, "{a} {b}");
    assert_eq!((runs("a"), runs("b")), (a, b));
    assert_eq!(db.raw_count().unwrap() as usize, a + b);
}

#[tokio::test(start_paused = true)]
async fn targets_sharing_a_schedule_are_spread_over_the_interval() {
    let mut h = harness(Duration::from_millis(1));
    let names: Vec<String> = (0..600).map(|i| format!("t{i}")).collect();
    let targets: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "@every 1m")).collect();
    h.supervisor.apply(&config(&targets));
    advance(Duration::from_secs(60)).await;
    let calls = h.rec.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 600, "each target once per minute");
    let mut per_second = std::collections::HashMap::new();
    for (_, t) in &calls {
        *per_second.entry(t.timestamp()).or_insert(0) += 1;
    }
    assert!(
        per_second.len() >= 55,
        "runs fell in only {} distinct seconds",
        per_second.len()
    );
    assert!(
        per_second.values().all(|n| *n <= 30),
        "a burst: {:?}",
        per_second.values().max()
    );
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_targets_and_drops_removed_ones() {
    let mut h = harness(Duration::from_millis(10));
    h.supervisor
        .apply(&config(&[("keep", "@every 10s"), ("gone", "@every 10s")]));
    advance(Duration::from_secs(35)).await;
    h.supervisor
        .apply(&config(&[("keep", "@every 10s"), ("new", "@every 5s")]));
    assert_eq!(h.supervisor.len(), 2);
    let gone_before = h.rec.times("gone").len();
    assert!(gone_before >= 3);
    advance(Duration::from_secs(35)).await;
    assert_eq!(
        h.rec.times("gone").len(),
        gone_before,
        "a removed target keeps running"
    );
    let keep = h.rec.times("keep");
    assert!(
        gaps(&keep).iter().all(|g| *g == 10_000),
        "the unchanged target was rescheduled: {:?}",
        gaps(&keep)
    );
    assert!(h.rec.times("new").len() >= 6);
    let text = h.shared.metrics.encode_text();
    assert!(!text.contains("target=\"gone\""), "{text}");
    assert!(text.contains("target=\"keep\""));
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_in_flight_checks_within_the_grace_period() {
    let mut h = harness(Duration::from_secs(5));
    h.supervisor.apply(&config(&[("a", "@every 10s")]));
    // Wait until the first run is in flight.
    while h.rec.in_flight.load(Ordering::SeqCst) == 0 {
        advance(Duration::from_millis(100)).await;
    }
    let started = tokio::time::Instant::now();
    h.supervisor.shutdown(Duration::from_secs(10)).await;
    assert!(started.elapsed() <= Duration::from_secs(5));
    assert_eq!(
        h.rec.in_flight.load(Ordering::SeqCst),
        0,
        "the in-flight check finished"
    );
    let snapshot = h.shared.status.snapshot();
    assert!(snapshot.is_empty() || snapshot[0].1.targets.iter().all(|(_, t)| t.last.is_some()));

    let mut slow = harness(Duration::from_secs(300));
    slow.supervisor.apply(&config(&[("a", "@every 10s")]));
    while slow.rec.in_flight.load(Ordering::SeqCst) == 0 {
        advance(Duration::from_millis(100)).await;
    }
    let started = tokio::time::Instant::now();
    slow.supervisor.shutdown(Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

/// Issue 13 item 6: `/healthz` was fed by a ticker of its own, so it said "alive" while the
/// scheduler could not run anything. Here a stand-in check blocks the runtime's only thread
/// for 3 s on its first run: target `b`, due every second, cannot start, and health says so
/// (then recovers once the runtime is free again).
#[test]
fn health_reports_targets_the_scheduler_cannot_start() {
    let hogged = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let check: CheckFn = Arc::new(move |target: Arc<Target>| {
        let hogged = Arc::clone(&hogged);
        Box::pin(async move {
            if target.name == "hog" && !hogged.swap(true, Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs(3));
            }
            success(&target, Duration::ZERO)
        })
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let clock = runtime.block_on(async { Clock::new() });
    let health = Arc::new(Health::new(clock, Duration::from_millis(300)));
    let shared = Shared::build(
        check,
        Arc::new(Metrics::new()),
        clock,
        None,
        Arc::clone(&health),
    );
    let (done, done_rx) = tokio::sync::oneshot::channel::<()>();
    let scheduler = std::thread::spawn(move || {
        runtime.block_on(async move {
            let mut supervisor = Supervisor::new(shared);
            supervisor.apply(&config(&[("hog", "@every 1s"), ("b", "@every 1s")]));
            let _ = done_rx.await;
            supervisor.shutdown(Duration::from_secs(1)).await;
        });
    });
    let poll = |want_ok: bool| {
        let started = std::time::Instant::now();
        loop {
            let now = health.check();
            if now.is_ok() == want_ok {
                return now;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "health stayed {now:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let stalled = poll(false).unwrap_err();
    assert!(
        stalled.starts_with("scheduler stalled: s/b was due ")
            && stalled.ends_with(" ago and has not started"),
        "{stalled}"
    );
    assert_eq!(poll(true), Ok(()));
    let _ = done.send(());
    scheduler.join().unwrap();
}
