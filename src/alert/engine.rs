//! The alert engine: check results in, durable notifications out.
//!
//! [`AlertEngine::observe`] runs the state machine for a finished check and, in one SQLite
//! transaction, saves the new state and queues its notifications; it never talks to a receiver,
//! so a slow or dead receiver cannot delay checks. [`AlertEngine::run`] delivers the outbox with
//! exponential backoff and jitter (up to 24 h), and re-posts firing alerts to Alertmanager every
//! minute (resolved ones for 5 minutes), as Alertmanager requires (`src/alert/repost.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use super::AlertConfig;
use super::channels::Deliverer;
use super::notification::{AlertStatus, Notification};
use super::repost::{InFlight, Reposts};
use super::silence::Silences;
use super::state::{Quiet, Shown, TargetAlert, Transition, route_key};
use super::store::{OutboxRow, Store, StoreError};
use crate::metrics::Metrics;
use crate::result::{CheckResult, Failure};

/// Undelivered notifications are dropped after this long.
pub const MAX_DELIVERY_AGE: Duration = Duration::from_secs(24 * 3600);
/// First retry delay; doubles per attempt.
pub const RETRY_BASE: Duration = Duration::from_secs(5);
/// Longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(600);
/// Alertmanager re-post period for firing alerts.
pub const AM_REPOST: Duration = Duration::from_secs(60);
/// How long resolved alerts keep being re-posted to Alertmanager.
pub const AM_RESOLVED_FOR: Duration = Duration::from_secs(300);
/// How much longer than the delivery timeout a row stays leased while in flight.
pub const DELIVERY_LEASE_MARGIN: Duration = Duration::from_secs(5);
/// At most this many failures go into one notification.
pub const MAX_FAILURES_LISTED: usize = 20;

mod hold;

type Key = (String, String);

/// See the module documentation.
pub struct AlertEngine {
    /// Durable state and outbox.
    store: Arc<Store>,
    /// Sends to receivers.
    deliverer: Arc<Deliverer>,
    /// Notification counters and the pending gauge.
    metrics: Arc<Metrics>,
    /// The running alert configuration.
    config: RwLock<Arc<AlertConfig>>,
    /// Alert state per target (mirrors the store).
    states: Mutex<HashMap<Key, TargetAlert>>,
    /// Alerts to re-post to Alertmanager.
    reposts: Reposts,
    /// Wakes the delivery loop when something was queued.
    wake: Notify,
    /// The running silences (kept in the same store).
    silences: Arc<Silences>,
    /// Public URL of the status page, for links.
    external_url: Option<String>,
}

/// Delay before retry number `attempts + 1`: 5 s doubling to 10 min, ±20 % jitter.
pub fn backoff(attempts: u32) -> Duration {
    let base = RETRY_BASE
        .saturating_mul(1u32 << attempts.min(16))
        .min(RETRY_MAX);
    base.mul_f64(0.8 + fastrand::f64() * 0.4)
}

impl AlertEngine {
    /// Open the engine on `store`, restoring every saved alert state.
    pub fn new(
        store: Arc<Store>,
        deliverer: Arc<Deliverer>,
        metrics: Arc<Metrics>,
        external_url: Option<String>,
    ) -> Result<Arc<AlertEngine>, StoreError> {
        let states = store.load_states()?;
        metrics.set_notifications_pending(store.pending()?);
        let silences = Arc::new(Silences::load(Arc::clone(&store))?);
        Ok(Arc::new(AlertEngine {
            store,
            deliverer,
            metrics,
            config: RwLock::new(Arc::new(AlertConfig::default())),
            states: Mutex::new(states),
            reposts: Reposts::default(),
            wake: Notify::new(),
            silences,
            external_url,
        }))
    }

    /// Adopt a (re)loaded alert configuration.
    pub fn set_config(&self, config: AlertConfig) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        self.wake.notify_one();
    }

    fn config(&self) -> Arc<AlertConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The maintenance window covering a target at `at`, if any.
    pub fn maintenance(
        &self,
        spec: &str,
        target: &str,
        labels: &BTreeMap<String, String>,
        at: chrono::DateTime<Utc>,
    ) -> Option<super::maintenance::Active> {
        super::maintenance::active(&self.config().maintenance, spec, target, labels, at)
    }

    /// Are there maintenance windows at all?
    pub fn has_maintenance(&self) -> bool {
        !self.config().maintenance.is_empty()
    }

    /// The alert state of a target for display.
    pub fn shown(&self, spec: &str, target: &str) -> Shown {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .get(&(spec.to_string(), target.to_string()))
            .map_or(Shown::Ok, TargetAlert::shown)
    }

    /// Forget a removed target.
    pub fn forget(&self, spec: &str, target: &str) {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(spec.to_string(), target.to_string()));
        self.reposts.forget(spec, target);
        let store = Arc::clone(&self.store);
        let (spec, target) = (spec.to_string(), target.to_string());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.remove_state(&spec, &target) {
                tracing::error!(error = %e, "could not forget a removed target's alert state");
            }
        });
    }

    /// Take a finished check into account at `now` (the daemon's clock): update the target's
    /// alert state, queue the notifications its transitions cause, none while `quiet` holds
    /// them back. Returns the state to display.
    pub async fn observe(
        &self,
        labels: &BTreeMap<String, String>,
        result: &CheckResult,
        quiet: Quiet,
        now: chrono::DateTime<Utc>,
    ) -> Shown {
        let config = self.config();
        let routes: Vec<(String, &super::Route)> = config
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.applies(&result.spec, &result.target, labels))
            .map(|(i, r)| (route_key(i, r), r))
            .collect();
        let key = (result.spec.clone(), result.target.clone());
        let (before, after, transitions) = {
            let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
            let state = states.entry(key.clone()).or_default();
            let before = state.clone();
            let transitions = state.observe(result.outcome, now, &routes, quiet);
            (before, state.clone(), transitions)
        };
        let shown = after.shown();
        let template = |status: AlertStatus, channel: &str, repeat: bool| Notification {
            channel: channel.to_string(),
            status,
            spec: result.spec.clone(),
            target: result.target.clone(),
            url: result.url.clone(),
            labels: labels.clone(),
            since: before.failing_since.or(after.failing_since).unwrap_or(now),
            resolved_at: (status == AlertStatus::Resolved).then_some(now),
            consecutive_failures: if status == AlertStatus::Resolved {
                before.consecutive_failures
            } else {
                after.consecutive_failures
            },
            result: result.outcome.as_str().to_string(),
            error: result.error.clone(),
            failures: listed_failures(&result.failures),
            repeat,
            status_page: self.external_url.clone(),
            screenshot_url: self.external_url.as_ref().and_then(|base| {
                let kept = result.rendered.as_ref()?.screenshot.as_ref()?;
                (!kept.is_empty()).then(|| {
                    let path =
                        crate::screenshots::Screenshots::url_path(&result.spec, &result.target);
                    format!("{}{}", base.trim_end_matches('/'), path)
                })
            }),
            created_at: now,
        };
        let mut queue = Vec::new();
        // A silence holds this run's notifications back (and keeps Alertmanager's view as is).
        let silenced = self
            .silences
            .covering(&result.spec, &result.target, labels, now)
            .is_some();
        let mut held = Vec::new();
        for (route, transition) in &transitions {
            let Some((_, r)) = routes.iter().find(|(k, _)| k == route) else {
                continue;
            };
            for channel in &r.channels {
                let n = match transition {
                    Transition::Fire => template(AlertStatus::Firing, channel, false),
                    Transition::Repeat => template(AlertStatus::Firing, channel, true),
                    Transition::Resolve => template(AlertStatus::Resolved, channel, false),
                };
                let n = of_streak(n, r.severity, &before, &after);
                if silenced {
                    held.push(hold::held(route, *transition, n));
                } else {
                    queue.push(n);
                }
            }
        }
        if !silenced {
            self.reposts
                .track(&config, &routes, &after, &queue, &template);
        }
        // A target no route applies to keeps its streak in memory only: persisting it would
        // cost a synchronous write per failed run for nothing that could ever notify.
        let worth_saving = !routes.is_empty() || before.routes != after.routes;
        if (worth_saving && before != after) || !queue.is_empty() || !held.is_empty() {
            let store = Arc::clone(&self.store);
            let (spec, target) = key;
            let n = queue.len();
            let saved = tokio::task::spawn_blocking(move || {
                let now_ms = now.timestamp_millis();
                store.commit_with_held(&spec, &target, &after, &queue, &held, now_ms)?;
                // The pending gauge counts what is queued from the moment it is queued.
                if queue.is_empty() {
                    Ok(None)
                } else {
                    store.pending().map(Some)
                }
            })
            .await;
            match saved {
                Ok(Ok(pending)) => {
                    if let Some(pending) = pending {
                        self.metrics.set_notifications_pending(pending);
                    }
                    if n > 0 {
                        self.wake.notify_one();
                    }
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "could not save alert state; notifications of this run may be lost")
                }
                Err(e) => tracing::error!(error = %e, "saving alert state was interrupted"),
            }
        }
        shown
    }

    /// Deliver the outbox and re-post to Alertmanager until `stop`; then finish what is in
    /// flight.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut repost = tokio::time::interval(AM_REPOST);
        repost.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Each delivery and each channel's re-post is its own task: a hanging receiver delays
        // nobody else, and the loop never waits for one.
        let mut deliveries = tokio::task::JoinSet::new();
        let mut reposts = InFlight::default();
        loop {
            while deliveries.try_join_next().is_some() {}
            Arc::clone(&self).deliver_due(&mut deliveries).await;
            let wait = self.next_wait().await;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
                _ = repost.tick() => {
                    self.reposts.start(&self.config(), &self.deliverer, &mut reposts, Utc::now());
                }
                changed = stop.changed() => {
                    // A dropped sender is a stop too: `changed` would fail at once forever.
                    if changed.is_err() || *stop.borrow() {
                        // Re-posts are repeated anyway: not worth waiting for.
                        reposts.abort();
                        // Let deliveries in flight finish (the caller bounds how long).
                        while deliveries.join_next().await.is_some() {}
                        return;
                    }
                }
            }
        }
    }

    async fn next_wait(&self) -> Duration {
        let store = Arc::clone(&self.store);
        let next = tokio::task::spawn_blocking(move || store.next_due_ms()).await;
        match next {
            Ok(Ok(Some(ms))) => Duration::from_millis(
                u64::try_from(ms - Utc::now().timestamp_millis()).unwrap_or(0),
            )
            .min(AM_REPOST),
            _ => AM_REPOST,
        }
    }

    /// Start delivering every due notification, each in its own task in `tasks`. A row is
    /// leased while in flight (the delivery timeout plus a margin), so it is not taken twice.
    pub async fn deliver_due(self: Arc<Self>, tasks: &mut tokio::task::JoinSet<()>) {
        let store = Arc::clone(&self.store);
        let now_ms = Utc::now().timestamp_millis();
        let lease_ms =
            i64::try_from((self.deliverer.timeout() + DELIVERY_LEASE_MARGIN).as_millis())
                .unwrap_or(60_000);
        let due = match tokio::task::spawn_blocking(move || {
            store.claim_due(now_ms, now_ms + lease_ms, 64)
        })
        .await
        {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return;
            }
            Err(_) => return,
        };
        if due.is_empty() {
            return;
        }
        let config = self.config();
        for row in due {
            let engine = Arc::clone(&self);
            let config = Arc::clone(&config);
            tasks.spawn(async move {
                engine.attempt(&config, row).await;
                let store = Arc::clone(&engine.store);
                if let Ok(Ok(n)) = tokio::task::spawn_blocking(move || store.pending()).await {
                    engine.metrics.set_notifications_pending(n);
                }
                // A failed attempt set a new due time: let the loop recompute its wait.
                engine.wake.notify_one();
            });
        }
    }

    async fn attempt(&self, config: &AlertConfig, row: OutboxRow) {
        let n = &row.notification;
        let outcome = match config.channels.get(&n.channel) {
            None => Err((format!("channel {:?} no longer exists", n.channel), true)),
            Some(channel) => self
                .deliverer
                .deliver(channel, n)
                .await
                .map_err(|e| (e.to_string(), e.is_permanent())),
        };
        let store = Arc::clone(&self.store);
        let now_ms = Utc::now().timestamp_millis();
        let id = row.id;
        let write = match outcome {
            Ok(()) => {
                self.metrics.record_notification(&n.channel, true);
                tracing::info!(channel = %n.channel, target = %format!("{}/{}", n.spec, n.target), status = ?n.status, "notification delivered");
                tokio::task::spawn_blocking(move || store.delivered(id)).await
            }
            Err((reason, permanent)) => {
                self.metrics.record_notification(&n.channel, false);
                let age =
                    Duration::from_millis(u64::try_from(now_ms - row.created_at_ms).unwrap_or(0));
                if permanent || age >= MAX_DELIVERY_AGE {
                    tracing::error!(channel = %n.channel, reason = %reason, attempts = row.attempts + 1, "notification dropped: {}", if permanent { "the receiver rejected it" } else { "undelivered for 24 h" });
                    tokio::task::spawn_blocking(move || store.delivered(id)).await
                } else {
                    let delay = backoff(row.attempts);
                    tracing::warn!(channel = %n.channel, reason = %reason, retry_in = ?delay, "notification not delivered; will retry");
                    let next = now_ms + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                    tokio::task::spawn_blocking(move || store.retry_later(id, next, &reason)).await
                }
            }
        };
        if let Ok(Err(e)) = write {
            tracing::error!(error = %e, "cannot update the outbox");
        }
    }
}

/// A notification of a `severity: warning` route tells of the streak that route counts (runs
/// that were not a success), not of the failing streak.
fn of_streak(
    mut n: Notification,
    severity: super::Severity,
    before: &TargetAlert,
    after: &TargetAlert,
) -> Notification {
    if severity == super::Severity::Warning {
        let ((was, was_since), (now, now_since)) =
            (before.streak(severity), after.streak(severity));
        n.since = was_since.or(now_since).unwrap_or(n.since);
        n.consecutive_failures = if n.status == AlertStatus::Resolved {
            was
        } else {
            now
        };
    }
    n
}

/// The failures listed in a notification: at most [`MAX_FAILURES_LISTED`], then a count.
fn listed_failures(failures: &[Failure]) -> Vec<Failure> {
    let mut out: Vec<Failure> = failures.iter().take(MAX_FAILURES_LISTED).cloned().collect();
    if failures.len() > MAX_FAILURES_LISTED {
        out.push(Failure::new(
            "more",
            format!(
                "and {} more failures ({} in all)",
                failures.len() - MAX_FAILURES_LISTED,
                failures.len()
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13 item 5: the loop ended up spinning when its stop sender was dropped (a failed
    /// start returned early and dropped it).
    #[tokio::test]
    async fn a_dropped_stop_sender_ends_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let engine = AlertEngine::new(
            Arc::new(Store::open(dir.path()).unwrap()),
            Arc::new(Deliverer::new(Duration::from_secs(1)).unwrap()),
            Arc::new(Metrics::new()),
            None,
        )
        .unwrap();
        let (stop, stop_rx) = watch::channel(false);
        drop(stop);
        let ended = tokio::time::timeout(Duration::from_secs(10), engine.run(stop_rx)).await;
        assert!(
            ended.is_ok(),
            "the engine loop kept running without a stop sender"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempts in 0..30 {
            let expected = RETRY_BASE
                .saturating_mul(1 << attempts.min(16))
                .min(RETRY_MAX);
            let d = backoff(attempts);
            assert!(
                d >= expected.mul_f64(0.8) && d <= expected.mul_f64(1.2),
                "attempt {attempts}: {d:?}"
            );
        }
        assert!(backoff(0) < Duration::from_secs(7));
        assert!(backoff(20) <= RETRY_MAX.mul_f64(1.2));
    }

    #[test]
    fn long_failure_lists_are_capped_with_a_count() {
        let many: Vec<Failure> = (0..25)
            .map(|i| Failure::new(format!("page[{i}]"), "broken"))
            .collect();
        let listed = listed_failures(&many);
        assert_eq!(listed.len(), MAX_FAILURES_LISTED + 1);
        assert_eq!(
            listed.last().map(|f| f.message.as_str()),
            Some("and 5 more failures (25 in all)")
        );
        assert_eq!(listed_failures(&many[..3]).len(), 3);
    }
}
