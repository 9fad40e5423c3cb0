//! Maintenance windows through the target tasks and the alert engine on tokio's paused time:
//! a clock started on the nights Europe/Berlin changes its clocks (and before a local
//! midnight), a stand-in check that fails when told, and the notifications the engine queues.
//! Samples are taken minutes away from every window edge (a target runs once a minute).

use chrono::{DateTime, Utc};

use super::*;
use crate::alert::channels::Deliverer;
use crate::alert::store::Store;
use crate::config::Source;
use crate::health::Health;
use crate::model::{Schedule, Spec};
use crate::result::{Failure, Outcome};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap()
}

/// A target task, the engine (its outbox in memory, never delivered) and the clock.
struct Rig {
    shared: Arc<Shared>,
    store: Arc<Store>,
    clock: Clock,
    _supervisor: Supervisor,
}

/// Start `s/t` (every minute) at wall time `start`, failing while `fails(now)`, with the
/// alert file `alerts` (a channel `hook` is defined for it).
fn rig(start: &str, fails: fn(DateTime<Utc>) -> bool, alerts: &str) -> Rig {
    let clock = Clock::starting_at(at(start));
    let store = Arc::new(Store::in_memory().unwrap());
    let metrics = Arc::new(Metrics::new());
    let engine = AlertEngine::new(
        Arc::clone(&store),
        Arc::new(Deliverer::new(Duration::from_secs(1)).unwrap()),
        Arc::clone(&metrics),
        None,
    )
    .unwrap();
    let text =
        format!("channels:\n  hook: {{webhook: {{url: \"http://127.0.0.1:9/\"}}}}\n{alerts}");
    let source = Source {
        name: "alerts.yaml".into(),
        text,
    };
    engine.set_config(crate::alert::config::load_sources(&[source], &|_| None).unwrap());
    let check: CheckFn = Arc::new(move |target: Arc<Target>| {
        Box::pin(async move {
            let mut r = CheckResult::blank(&target, std::time::SystemTime::now());
            if fails(clock.now()) {
                r.outcome = Outcome::Failure;
                r.failures = vec![Failure::new("status", "expected 2xx, found 500")];
            }
            r
        })
    });
    let health = Arc::new(Health::new(clock, crate::health::STALL_AFTER));
    let shared = Shared::build(check, metrics, clock, Some(engine), health);
    let mut supervisor = Supervisor::new(Arc::clone(&shared));
    let mut t = Target::new("s", "t", url::Url::parse("http://127.0.0.1:9/").unwrap());
    t.schedule = Schedule::parse("@every 1m", None).unwrap();
    supervisor.apply(&Config {
        specs: vec![Spec {
            name: "s".into(),
            file: "s.yaml".into(),
            labels: Default::default(),
            targets: vec![t],
        }],
    });
    Rig {
        shared,
        store,
        clock,
        _supervisor: supervisor,
    }
}

/// What a sample sees.
#[derive(Debug, PartialEq)]
struct Seen {
    /// The window on the status page: (name, until).
    window: Option<(String, DateTime<Utc>)>,
    /// `dcrawl_maintenance{spec="s",target="t"}`.
    gauge: Option<f64>,
    /// Notifications queued so far: (status, repeat).
    queued: Vec<(String, bool)>,
}

impl Rig {
    /// Run on until wall time `t`, then look.
    async fn at(&self, t: &str) -> Seen {
        tokio::time::sleep_until(self.clock.instant_at(at(t))).await;
        let snapshot = self.shared.status.snapshot();
        let state = &snapshot[0].1.targets[0].1;
        let text = self.shared.metrics.encode_text();
        let gauge = text.lines().find_map(|l| {
            l.strip_prefix("dcrawl_maintenance{spec=\"s\",target=\"t\"} ")
                .and_then(|v| v.parse().ok())
        });
        let queued = self
            .store
            .due(i64::MAX, 100)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.notification.status.as_str().to_string(),
                    r.notification.repeat,
                )
            })
            .collect();
        Seen {
            window: state.maintenance.clone().map(|m| (m.name, m.until)),
            gauge,
            queued,
        }
    }
}

fn fire() -> (String, bool) {
    ("firing".into(), false)
}
fn repeat() -> (String, bool) {
    ("firing".into(), true)
}
fn resolve() -> (String, bool) {
    ("resolved".into(), false)
}

/// 2026-03-29, Berlin 02:00 CET -> 03:00 CEST. A window from 01:30 local for 2 hours runs from
/// 00:30Z to 02:30Z (04:30 CEST). The alert fires before it and repeats every 30 minutes; in
/// the window nothing is queued; the first run after it says once that it still fires.
#[tokio::test(start_paused = true)]
async fn spring_forward_window_holds_repeats_and_reminds_once_after() {
    let alerts = "routes:\n  - channels: [hook]\n    after: 1\n    repeat: 30m\nmaintenance:\n  - name: nightly\n    schedule: \"30 1 * * *\"\n    timezone: Europe/Berlin\n    duration: 2h\n";
    let rig = rig("2026-03-28T23:00:00Z", |_| true, alerts);
    let before = rig.at("2026-03-29T00:25:00Z").await;
    assert_eq!(before.window, None);
    assert_eq!(before.gauge, Some(0.0));
    assert_eq!(before.queued, [fire(), repeat(), repeat()]);
    let until = at("2026-03-29T02:30:00Z");
    for t in [
        "2026-03-29T00:35:00Z",
        "2026-03-29T01:30:00Z",
        "2026-03-29T02:25:00Z",
    ] {
        let inside = rig.at(t).await;
        assert_eq!(inside.window, Some(("nightly".into(), until)), "{t}");
        assert_eq!(inside.gauge, Some(1.0), "{t}");
        assert_eq!(inside.queued.len(), 3, "{t}: {:?}", inside.queued);
    }
    let after = rig.at("2026-03-29T02:45:00Z").await;
    assert_eq!(after.window, None);
    assert_eq!(after.gauge, Some(0.0));
    assert_eq!(after.queued, [fire(), repeat(), repeat(), repeat()]);
    let later = rig.at("2026-03-29T03:15:00Z").await;
    assert_eq!(later.queued.len(), 5, "repeats go on: {:?}", later.queued);
}

/// 2026-10-25, Berlin 03:00 CEST -> 02:00 CET: 02:30 local happens at 00:30Z and at 01:30Z.
/// A window from 02:30 for an hour starts once (00:30Z to 01:30Z). The target starts failing
/// in it: the alert fires at the first run after the window, not before, not twice.
#[tokio::test(start_paused = true)]
async fn fall_back_window_starts_once_and_the_alert_fires_after_it() {
    let alerts = "routes:\n  - channels: [hook]\n    after: 2\nmaintenance:\n  - name: patch\n    match: {spec: s}\n    schedule: \"30 2 * * *\"\n    timezone: Europe/Berlin\n    duration: 1h\n";
    let rig = rig(
        "2026-10-24T23:00:00Z",
        |now| now >= at("2026-10-25T00:40:00Z"),
        alerts,
    );
    assert_eq!(rig.at("2026-10-25T00:25:00Z").await.window, None);
    let until = at("2026-10-25T01:30:00Z");
    for t in ["2026-10-25T00:35:00Z", "2026-10-25T01:25:00Z"] {
        let inside = rig.at(t).await;
        assert_eq!(inside.window, Some(("patch".into(), until)), "{t}");
        assert!(inside.queued.is_empty(), "{t}: {:?}", inside.queued);
    }
    // The repeated 02:30 (01:30Z) starts no second window.
    for t in ["2026-10-25T01:35:00Z", "2026-10-25T02:05:00Z"] {
        let after = rig.at(t).await;
        assert_eq!(after.window, None, "{t}");
        assert_eq!(after.queued, [fire()], "{t}");
    }
}

/// A window from 23:45 Berlin (22:45Z in January) for 30 minutes crosses local midnight. A
/// firing alert whose target recovers in it is resolved after it, not in it.
#[tokio::test(start_paused = true)]
async fn a_window_across_midnight_resolves_after_it() {
    let alerts = "routes:\n  - channels: [hook]\n    after: 1\nmaintenance:\n  - name: midnight\n    schedule: \"45 23 * * *\"\n    timezone: Europe/Berlin\n    duration: 30m\n";
    let rig = rig(
        "2026-01-15T22:00:00Z",
        |now| now < at("2026-01-15T23:00:00Z"),
        alerts,
    );
    assert_eq!(rig.at("2026-01-15T22:40:00Z").await.queued, [fire()]);
    let inside = rig.at("2026-01-15T23:10:00Z").await;
    assert_eq!(
        inside.window,
        Some(("midnight".into(), at("2026-01-15T23:15:00Z")))
    );
    assert_eq!(
        inside.queued,
        [fire()],
        "recovered in the window: no resolve yet"
    );
    let after = rig.at("2026-01-15T23:20:00Z").await;
    assert_eq!(after.window, None);
    assert_eq!(after.queued, [fire(), resolve()]);
}
