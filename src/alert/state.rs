//! The per-target alert state machine (pure: no I/O, no clock of its own).
//!
//! For each route that applies to a target: `ok` → `pending` (failed runs < `after`) → `firing`
//! (notify) → re-notify every `repeat` while firing → `resolved` on the first success (notify if
//! the route says so) → `ok`.
//!
//! [`Quiet`] holds transitions back: in a maintenance window nothing fires, repeats or resolves
//! (the runs still count, and the first run after the window judges them; an alert still firing
//! then is notified once more), and while a dependency fails nothing fires or repeats.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Route, Severity};
use crate::result::Outcome;

/// A route's identity across reloads: its position, channels and severity. A route whose
/// definition changes starts from `ok`.
pub fn route_key(index: usize, route: &Route) -> String {
    match route.severity {
        Severity::Failure => format!("{index}:{}", route.channels.join(",")),
        Severity::Warning => format!("{index}:{}:warning", route.channels.join(",")),
    }
}

/// Where one route stands for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteState {
    /// Notified as firing and not yet resolved.
    pub firing: bool,
    /// When it last notified (fire or repeat).
    pub last_notified: Option<DateTime<Utc>>,
    /// A maintenance window held this route back while it fired or failed: the first run
    /// after the window notifies where it stands.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// What keeps a target's alerts quiet during one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quiet {
    /// A maintenance window is on: no alert fires, repeats or resolves; the runs still count.
    pub maintenance: bool,
    /// A dependency fails: no alert fires or repeats; resolving goes on.
    pub blocked: bool,
}

/// A target's alert state, persisted in the state directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetAlert {
    /// Failed runs (failure or error) in a row.
    pub consecutive_failures: u32,
    /// Start of the current failing streak.
    pub failing_since: Option<DateTime<Utc>>,
    /// Runs in a row that were not a success (warning, failure or error), for routes with
    /// `severity: warning`.
    #[serde(default)]
    pub consecutive_warnings: u32,
    /// Start of the current streak of runs that were not a success.
    #[serde(default)]
    pub warning_since: Option<DateTime<Utc>>,
    /// State per route key.
    pub routes: BTreeMap<String, RouteState>,
}

/// What a run changed for one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Crossed `after`: notify as firing.
    Fire,
    /// Still firing and `repeat` elapsed: notify again.
    Repeat,
    /// Recovered while firing, and the route wants to hear it.
    Resolve,
}

/// The state shown on the status page and in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// No failing streak.
    Ok,
    /// Failing, but no route has fired yet.
    Pending,
    /// At least one route fired.
    Firing,
}

impl Shown {
    /// `ok`, `pending` or `firing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Ok => "ok",
            Shown::Pending => "pending",
            Shown::Firing => "firing",
        }
    }
}

impl TargetAlert {
    /// Take one run's outcome at `at` into account for the routes that apply to this target
    /// (`(key, route)`), returning the transitions to notify, per route key. Routes no longer
    /// applying are forgotten.
    pub fn observe(
        &mut self,
        outcome: Outcome,
        at: DateTime<Utc>,
        routes: &[(String, &Route)],
        quiet: Quiet,
    ) -> Vec<(String, Transition)> {
        self.routes
            .retain(|key, _| routes.iter().any(|(k, _)| k == key));
        streak(
            outcome.is_failing(),
            at,
            &mut self.consecutive_failures,
            &mut self.failing_since,
        );
        streak(
            outcome != Outcome::Success,
            at,
            &mut self.consecutive_warnings,
            &mut self.warning_since,
        );
        let mut out = Vec::new();
        for (key, route) in routes {
            let (count, _) = self.streak(route.severity);
            if quiet.maintenance {
                if count > 0 || self.routes.get(key).is_some_and(|s| s.firing) {
                    self.routes.entry(key.clone()).or_default().held = true;
                }
                continue;
            }
            if count == 0 {
                if let Some(state) = self.routes.get_mut(key) {
                    state.held = false;
                    if state.firing {
                        state.firing = false;
                        state.last_notified = None;
                        if route.resolved {
                            out.push((key.clone(), Transition::Resolve));
                        }
                    }
                }
                continue;
            }
            let state = self.routes.entry(key.clone()).or_default();
            if quiet.blocked {
                // Nothing fires while a dependency fails; a held reminder waits for the end.
                continue;
            }
            let held = std::mem::take(&mut state.held);
            if !state.firing {
                if count >= route.after {
                    state.firing = true;
                    state.last_notified = Some(at);
                    out.push((key.clone(), Transition::Fire));
                }
            } else if held {
                // Still firing after a maintenance window: say so once.
                state.last_notified = Some(at);
                out.push((key.clone(), Transition::Repeat));
            } else if let (Some(repeat), Some(last)) = (route.repeat, state.last_notified)
                && chrono::Duration::from_std(repeat).is_ok_and(|r| at - last >= r)
            {
                state.last_notified = Some(at);
                out.push((key.clone(), Transition::Repeat));
            }
        }
        out
    }

    /// The current streak that routes of `severity` count: runs in a row and since when.
    pub fn streak(&self, severity: Severity) -> (u32, Option<DateTime<Utc>>) {
        match severity {
            Severity::Failure => (self.consecutive_failures, self.failing_since),
            Severity::Warning => (self.consecutive_warnings, self.warning_since),
        }
    }

    /// What the status page shows.
    pub fn shown(&self) -> Shown {
        if self.routes.values().any(|r| r.firing) {
            Shown::Firing
        } else if self.consecutive_failures > 0 {
            Shown::Pending
        } else {
            Shown::Ok
        }
    }
}

/// Extend a streak with a run that counts against it (`bad`), or end it.
fn streak(bad: bool, at: DateTime<Utc>, count: &mut u32, since: &mut Option<DateTime<Utc>>) {
    if bad {
        *count = count.saturating_add(1);
        since.get_or_insert(at);
    } else {
        *count = 0;
        *since = None;
    }
}

#[cfg(test)]
mod tests {
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
}
