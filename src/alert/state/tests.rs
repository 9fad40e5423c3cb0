//! Unit tests of the alert state machine.
use super::*;
use std::time::Duration;

fn route(after: u32, repeat: Option<u64>, resolved: bool) -> Route {
    Route {
        matchers: vec![],
        channels: vec!["c".into()],
        after,
        repeat: repeat.map(Duration::from_secs),
        resolved,
        severity: Severity::Failure,
    }
}

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

#[test]
fn fires_after_n_failures_then_resolves() {
    let r = route(3, None, true);
    let routes = [(route_key(0, &r), &r)];
    let mut a = TargetAlert::default();
    assert!(
        a.observe(Outcome::Failure, t(0), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(a.shown(), Shown::Pending);
    assert!(
        a.observe(Outcome::Error, t(60), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Failure, t(120), &routes, Quiet::default()),
        vec![(routes[0].0.clone(), Transition::Fire)]
    );
    assert_eq!(a.shown(), Shown::Firing);
    assert_eq!(a.failing_since, Some(t(0)));
    // Still failing: no new notification without repeat.
    assert!(
        a.observe(Outcome::Failure, t(180), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Success, t(240), &routes, Quiet::default()),
        vec![(routes[0].0.clone(), Transition::Resolve)]
    );
    assert_eq!(a.shown(), Shown::Ok);
    assert_eq!(a.consecutive_failures, 0);
}

#[test]
fn a_success_before_after_resets_the_streak() {
    let r = route(2, None, true);
    let routes = [(route_key(0, &r), &r)];
    let mut a = TargetAlert::default();
    a.observe(Outcome::Failure, t(0), &routes, Quiet::default());
    assert!(
        a.observe(Outcome::Success, t(60), &routes, Quiet::default())
            .is_empty(),
        "pending never notified: no resolve"
    );
    assert!(
        a.observe(Outcome::Failure, t(120), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Failure, t(180), &routes, Quiet::default())
            .len(),
        1
    );
}

#[test]
fn repeats_while_firing() {
    let r = route(1, Some(3600), true);
    let routes = [(route_key(0, &r), &r)];
    let mut a = TargetAlert::default();
    assert_eq!(
        a.observe(Outcome::Failure, t(0), &routes, Quiet::default())[0].1,
        Transition::Fire
    );
    assert!(
        a.observe(Outcome::Failure, t(1800), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Failure, t(3600), &routes, Quiet::default())[0].1,
        Transition::Repeat
    );
    assert!(
        a.observe(Outcome::Failure, t(5000), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Failure, t(7200), &routes, Quiet::default())[0].1,
        Transition::Repeat
    );
}

#[test]
fn resolved_false_stays_silent_on_recovery() {
    let r = route(1, None, false);
    let routes = [(route_key(0, &r), &r)];
    let mut a = TargetAlert::default();
    assert_eq!(
        a.observe(Outcome::Failure, t(0), &routes, Quiet::default())
            .len(),
        1
    );
    assert!(
        a.observe(Outcome::Success, t(60), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(a.shown(), Shown::Ok);
    // The next streak fires again.
    assert_eq!(
        a.observe(Outcome::Failure, t(120), &routes, Quiet::default())
            .len(),
        1
    );
}

#[test]
fn routes_with_different_after_fire_independently() {
    let fast = route(1, None, true);
    let slow = Route {
        channels: vec!["pager".into()],
        ..route(3, None, true)
    };
    let routes = [(route_key(0, &fast), &fast), (route_key(1, &slow), &slow)];
    let mut a = TargetAlert::default();
    assert_eq!(
        a.observe(Outcome::Failure, t(0), &routes, Quiet::default()),
        vec![(routes[0].0.clone(), Transition::Fire)]
    );
    assert!(
        a.observe(Outcome::Failure, t(60), &routes, Quiet::default())
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Failure, t(120), &routes, Quiet::default()),
        vec![(routes[1].0.clone(), Transition::Fire)]
    );
    let resolved = a.observe(Outcome::Success, t(180), &routes, Quiet::default());
    assert_eq!(resolved.len(), 2);
}

#[test]
fn flapping_target_fires_once_per_streak() {
    let r = route(2, None, true);
    let routes = [(route_key(0, &r), &r)];
    let mut a = TargetAlert::default();
    let mut fired = 0;
    let mut resolved = 0;
    // fail, ok, fail, ok ... never two in a row: never fires.
    for i in 0..20 {
        let o = if i % 2 == 0 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        for (_, tr) in a.observe(o, t(i * 60), &routes, Quiet::default()) {
            match tr {
                Transition::Fire => fired += 1,
                Transition::Resolve => resolved += 1,
                Transition::Repeat => {}
            }
        }
    }
    assert_eq!((fired, resolved), (0, 0));
    // fail, fail, ok repeated: fires and resolves once per cycle.
    for i in 0..9 {
        let o = if i % 3 == 2 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        for (_, tr) in a.observe(o, t(2000 + i * 60), &routes, Quiet::default()) {
            match tr {
                Transition::Fire => fired += 1,
                Transition::Resolve => resolved += 1,
                Transition::Repeat => {}
            }
        }
    }
    assert_eq!((fired, resolved), (3, 3));
}

#[test]
fn warning_routes_count_warnings_and_failure_routes_do_not() {
    let fail = route(1, None, true);
    let warn = Route {
        channels: vec!["w".into()],
        severity: Severity::Warning,
        ..route(1, None, true)
    };
    let routes = [(route_key(0, &fail), &fail), (route_key(1, &warn), &warn)];
    assert_ne!(
        routes[0].0,
        route_key(
            0,
            &Route {
                severity: Severity::Warning,
                ..fail.clone()
            }
        )
    );
    let mut a = TargetAlert::default();
    assert_eq!(
        a.observe(Outcome::Warning, t(0), &routes, Quiet::default()),
        vec![(routes[1].0.clone(), Transition::Fire)]
    );
    assert_eq!(a.shown(), Shown::Firing);
    assert_eq!((a.consecutive_failures, a.consecutive_warnings), (0, 1));
    // Worse: the failure route fires; the warning route keeps firing, silently.
    assert_eq!(
        a.observe(Outcome::Failure, t(60), &routes, Quiet::default()),
        vec![(routes[0].0.clone(), Transition::Fire)]
    );
    assert_eq!(a.streak(Severity::Warning), (2, Some(t(0))));
    // Back to a warning: the failure route resolves, the warning route still fires.
    assert_eq!(
        a.observe(Outcome::Warning, t(120), &routes, Quiet::default()),
        vec![(routes[0].0.clone(), Transition::Resolve)]
    );
    assert_eq!(
        a.observe(Outcome::Success, t(180), &routes, Quiet::default()),
        vec![(routes[1].0.clone(), Transition::Resolve)]
    );
    assert_eq!(a.shown(), Shown::Ok);
}

const BLOCKED: Quiet = Quiet {
    maintenance: false,
    blocked: true,
};
const WINDOW: Quiet = Quiet {
    maintenance: true,
    blocked: false,
};

#[test]
fn a_blocked_alert_does_not_fire_or_repeat_but_resolves() {
    let r = route(2, Some(60), true);
    let routes = [(route_key(0, &r), &r)];
    let mut a = TargetAlert::default();
    for i in 0..5 {
        assert!(
            a.observe(Outcome::Failure, t(i * 60), &routes, BLOCKED)
                .is_empty()
        );
    }
    assert_eq!(a.shown(), Shown::Pending);
    // The dependency recovered, the target still fails: it fires now.
    assert_eq!(
        a.observe(Outcome::Failure, t(300), &routes, Quiet::default()),
        vec![(routes[0].0.clone(), Transition::Fire)]
    );
    // Blocked again while firing: no repeats, but recovery resolves.
    assert!(
        a.observe(Outcome::Failure, t(600), &routes, BLOCKED)
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Success, t(660), &routes, BLOCKED),
        vec![(routes[0].0.clone(), Transition::Resolve)]
    );
}

#[test]
fn a_maintenance_window_holds_every_transition_and_the_next_run_judges() {
    let r = route(2, Some(60), true);
    let routes = [(route_key(0, &r), &r)];
    let quiet = Quiet::default();
    // Fails through a whole window: fires once, after it.
    let mut a = TargetAlert::default();
    for i in 0..5 {
        assert!(
            a.observe(Outcome::Failure, t(i * 60), &routes, WINDOW)
                .is_empty()
        );
    }
    assert_eq!(a.consecutive_failures, 5);
    assert_eq!(
        a.observe(Outcome::Failure, t(300), &routes, quiet),
        vec![(routes[0].0.clone(), Transition::Fire)]
    );
    // Firing when a window starts, failing when it ends: one reminder after it.
    assert!(
        a.observe(Outcome::Failure, t(330), &routes, WINDOW)
            .is_empty()
    );
    assert!(
        a.observe(Outcome::Success, t(390), &routes, WINDOW)
            .is_empty()
    );
    assert!(
        a.observe(Outcome::Failure, t(450), &routes, WINDOW)
            .is_empty()
    );
    assert_eq!(a.shown(), Shown::Firing, "nothing resolves in a window");
    assert_eq!(
        a.observe(Outcome::Failure, t(460), &routes, quiet),
        vec![(routes[0].0.clone(), Transition::Repeat)]
    );
    assert!(
        a.observe(Outcome::Failure, t(470), &routes, quiet)
            .is_empty()
    );
    // Firing when a window starts, recovered in it: resolved after it.
    assert!(
        a.observe(Outcome::Success, t(480), &routes, WINDOW)
            .is_empty()
    );
    assert_eq!(
        a.observe(Outcome::Success, t(540), &routes, quiet),
        vec![(routes[0].0.clone(), Transition::Resolve)]
    );
    // Failing and recovering inside a window: nothing at all.
    assert!(
        a.observe(Outcome::Failure, t(600), &routes, WINDOW)
            .is_empty()
    );
    assert!(
        a.observe(Outcome::Failure, t(660), &routes, WINDOW)
            .is_empty()
    );
    assert!(
        a.observe(Outcome::Success, t(720), &routes, WINDOW)
            .is_empty()
    );
    assert!(
        a.observe(Outcome::Success, t(780), &routes, quiet)
            .is_empty()
    );
    assert_eq!(
        a,
        TargetAlert {
            routes: a.routes.clone(),
            ..TargetAlert::default()
        }
    );
    assert!(!a.routes[&routes[0].0].held);
}

#[test]
fn a_removed_route_is_forgotten() {
    let r = route(1, None, true);
    let mut a = TargetAlert::default();
    a.observe(
        Outcome::Failure,
        t(0),
        &[(route_key(0, &r), &r)],
        Quiet::default(),
    );
    assert_eq!(a.shown(), Shown::Firing);
    a.observe(Outcome::Failure, t(60), &[], Quiet::default());
    assert_eq!(a.shown(), Shown::Pending);
}
