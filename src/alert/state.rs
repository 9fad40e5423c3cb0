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
mod tests;
