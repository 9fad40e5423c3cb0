//! What the daemon knows about each target: its last result, recent history and next run.
//! The status page and `/api/v1/status` read it; the target tasks write it. It sits beside
//! [`crate::metrics`] and [`crate::health`]: the three are what the endpoints are handed
//! ([`crate::server::ServerHandle`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::RwLock;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::alert::maintenance::Active;
use crate::model::Config;
use crate::result::{CheckResult, Outcome};
use crate::shard::Share;

/// How many past outcomes each target keeps for the history strip.
pub(crate) const HISTORY_LEN: usize = 30;

/// (spec, target).
pub(crate) type TargetKey = (String, String);

/// One past run, for the history strip: its verdict and when it started (to the millisecond),
/// packed in 8 bytes (each target keeps [`HISTORY_LEN`] of them: 2.4 MB at 10,000 targets, a
/// third of what an `Outcome` and a `SystemTime` take).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastRun(u64);

impl PastRun {
    /// A run with `outcome` that started `at` (before 1970 counts as 1970).
    pub fn new(outcome: Outcome, at: SystemTime) -> PastRun {
        let millis = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let code = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0) as u64;
        PastRun(millis.min(u64::MAX >> 2) << 2 | code)
    }

    /// Its verdict.
    pub fn outcome(self) -> Outcome {
        Outcome::ALL[(self.0 & 3) as usize]
    }

    /// When it started, to the millisecond.
    pub fn at(self) -> SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.0 >> 2)
    }
}

/// The state of one target.
#[derive(Debug, Clone)]
pub struct TargetState {
    /// The URL (secrets redacted).
    pub url: String,
    /// The schedule as written.
    pub schedule: String,
    /// The last completed run (boxed: most of a state's size, and a target that has not run
    /// yet needs none).
    pub last: Option<Box<CheckResult>>,
    /// Recent outcomes, oldest first, at most [`HISTORY_LEN`].
    pub history: VecDeque<PastRun>,
    /// When it runs next.
    pub next_run: Option<DateTime<Utc>>,
    /// Alert state (`ok`, `pending`, `firing`), once alerts are configured.
    pub alert: Option<String>,
    /// The URL path of its latest screenshot (rendered targets that kept one).
    pub screenshot: Option<String>,
    /// `spec/target` of a failing dependency that keeps this failing target's alerts quiet.
    pub blocked_by: Option<String>,
    /// The maintenance window covering it now.
    pub maintenance: Option<Active>,
    /// The silence holding its notifications back now: (id, until).
    pub silenced: Option<(String, DateTime<Utc>)>,
}

/// A spec's labels and its targets' states, for display.
#[derive(Debug, Clone, Default)]
pub struct SpecState {
    /// The spec's labels.
    pub labels: BTreeMap<String, String>,
    /// Its targets in file order: (name, state).
    pub targets: Vec<(String, TargetState)>,
}

/// A spec's place in the configuration: (name, labels, target names in file order).
type SpecLayout = (String, BTreeMap<String, String>, Vec<String>);

/// Every target's state, keyed by (spec, target), plus the configured order.
#[derive(Debug, Default)]
pub struct StatusStore {
    /// Target states.
    targets: RwLock<BTreeMap<TargetKey, TargetState>>,
    /// Spec order and labels of the running configuration: (spec, labels, target names).
    layout: RwLock<Vec<SpecLayout>>,
    /// Which shard this process is and how many targets it took (0/1 and all when unsharded).
    share: RwLock<Share>,
}

impl StatusStore {
    /// Adopt a (re)loaded configuration: new targets appear, removed ones disappear, kept ones
    /// keep their results and history.
    pub fn apply_config(&self, config: &Config) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        let mut keep = BTreeMap::new();
        for t in config.targets() {
            let key = (t.spec.clone(), t.name.clone());
            let mut state = targets.remove(&key).unwrap_or_else(|| TargetState {
                url: String::new(),
                schedule: String::new(),
                last: None,
                history: VecDeque::new(),
                next_run: None,
                alert: None,
                screenshot: None,
                blocked_by: None,
                maintenance: None,
                silenced: None,
            });
            state.url = t.redact(t.url.as_str());
            state.schedule = t.schedule.to_string();
            keep.insert(key, state);
        }
        *targets = keep;
        let layout = config
            .specs
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.labels.clone(),
                    s.targets.iter().map(|t| t.name.clone()).collect(),
                )
            })
            .collect();
        *self.layout.write().unwrap_or_else(|p| p.into_inner()) = layout;
    }

    /// Set this process's share of the targets (at start and every reload).
    pub fn set_share(&self, share: Share) {
        *self.share.write().unwrap_or_else(|p| p.into_inner()) = share;
    }

    /// This process's share of the targets.
    pub fn share(&self) -> Share {
        *self.share.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Record a finished run.
    pub fn record(&self, result: &CheckResult) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = targets.get_mut(&(result.spec.clone(), result.target.clone())) {
            state
                .history
                .push_back(PastRun::new(result.outcome, result.started_at));
            while state.history.len() > HISTORY_LEN {
                state.history.pop_front();
            }
            // A crawl's passing pages are counted, not kept: the daemon holds its failures.
            state.last = Some(Box::new(result.to_keep()));
        }
    }

    /// Set when a target runs next.
    pub fn set_next_run(&self, spec: &str, target: &str, at: Option<DateTime<Utc>>) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = targets.get_mut(&(spec.to_string(), target.to_string())) {
            state.next_run = at;
        }
    }

    /// Note that a target has a screenshot at `path`.
    pub fn set_screenshot(&self, spec: &str, target: &str, path: String) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = targets.get_mut(&(spec.to_string(), target.to_string())) {
            state.screenshot = Some(path);
        }
    }

    /// The outcome of a target's last run, if it ran (and is one of this process's).
    pub fn last_outcome(&self, spec: &str, target: &str) -> Option<Outcome> {
        let targets = self.targets.read().unwrap_or_else(|p| p.into_inner());
        let state = targets.get(&(spec.to_string(), target.to_string()))?;
        state.last.as_ref().map(|r| r.outcome)
    }

    /// The first of `deps` whose last run failed (`failure` or `error`), as `spec/target`.
    /// A dependency this process does not check (another shard's) never blocks.
    pub fn failing_dependency(&self, deps: &[(String, String)]) -> Option<String> {
        deps.iter()
            .find(|(s, t)| self.last_outcome(s, t).is_some_and(Outcome::is_failing))
            .map(|(s, t)| format!("{s}/{t}"))
    }

    /// Set which failing dependency keeps a target's alerts quiet (`None`: none).
    pub fn set_blocked_by(&self, spec: &str, target: &str, blocked_by: Option<String>) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = targets.get_mut(&(spec.to_string(), target.to_string())) {
            state.blocked_by = blocked_by;
        }
    }

    /// Set the maintenance window covering a target (`None`: none); says whether that changed.
    pub fn set_maintenance(&self, spec: &str, target: &str, window: Option<Active>) -> bool {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        match targets.get_mut(&(spec.to_string(), target.to_string())) {
            Some(state) if state.maintenance != window => {
                state.maintenance = window;
                true
            }
            _ => false,
        }
    }

    /// Set the silence covering a target, (id, until) (`None`: none).
    pub fn set_silenced(
        &self,
        spec: &str,
        target: &str,
        silenced: Option<(String, DateTime<Utc>)>,
    ) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = targets.get_mut(&(spec.to_string(), target.to_string())) {
            state.silenced = silenced;
        }
    }

    /// Every target of the running configuration in order, with its spec's labels.
    pub fn targets_with_labels(&self) -> Vec<(String, String, BTreeMap<String, String>)> {
        let layout = self.layout.read().unwrap_or_else(|p| p.into_inner());
        layout
            .iter()
            .flat_map(|(spec, labels, names)| {
                names
                    .iter()
                    .map(move |n| (spec.clone(), n.clone(), labels.clone()))
            })
            .collect()
    }

    /// Set a target's alert state.
    pub fn set_alert(&self, spec: &str, target: &str, alert: &str) {
        let mut targets = self.targets.write().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = targets.get_mut(&(spec.to_string(), target.to_string())) {
            state.alert = Some(alert.to_string());
        }
    }

    /// Every (spec, target) of the running configuration, in configuration order.
    pub fn keys(&self) -> Vec<TargetKey> {
        let layout = self.layout.read().unwrap_or_else(|p| p.into_inner());
        layout
            .iter()
            .flat_map(|(spec, _, names)| names.iter().map(|n| (spec.clone(), n.clone())))
            .collect()
    }

    /// The last result of spec/target: `None` when it is not configured, `Some(None)` before
    /// its first run.
    pub fn configured_outcome(&self, spec: &str, target: &str) -> Option<Option<Outcome>> {
        let targets = self.targets.read().unwrap_or_else(|p| p.into_inner());
        targets
            .get(&(spec.to_string(), target.to_string()))
            .map(|s| s.last.as_ref().map(|r| r.outcome))
    }

    /// A consistent copy of everything, in configuration order.
    pub fn snapshot(&self) -> Vec<(String, SpecState)> {
        let layout = self
            .layout
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let targets = self.targets.read().unwrap_or_else(|p| p.into_inner());
        layout
            .into_iter()
            .map(|(spec, labels, names)| {
                let states = names
                    .into_iter()
                    .filter_map(|n| {
                        targets
                            .get(&(spec.clone(), n.clone()))
                            .map(|s| (n, s.clone()))
                    })
                    .collect();
                (
                    spec,
                    SpecState {
                        labels,
                        targets: states,
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_past_run_keeps_its_outcome_and_start_to_the_millisecond() {
        let at = UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456);
        for outcome in [
            Outcome::Success,
            Outcome::Warning,
            Outcome::Failure,
            Outcome::Error,
        ] {
            let run = PastRun::new(outcome, at);
            assert_eq!(run.outcome(), outcome);
            assert_eq!(
                run.at(),
                UNIX_EPOCH + Duration::from_millis(1_800_000_000_123)
            );
        }
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(PastRun::new(Outcome::Error, before).at(), UNIX_EPOCH);
        assert_eq!(std::mem::size_of::<PastRun>(), 8);
    }
}
