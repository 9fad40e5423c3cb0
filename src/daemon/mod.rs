//! `dcrawl run`: every target on its own schedule, forever, with hot reload and graceful
//! shutdown.
//!
//! One task per target sleeps until its next due time (`crate::scheduler::Timing`), runs the
//! check and records it (metrics, status). A run still in flight when the next is due makes the
//! task skip those ticks and count them, so runs of one target never overlap and no queue grows.
//! Fetch concurrency is bounded by the shared [`Fetcher`].

mod quiet;
pub mod reload;
mod run;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::alert::engine::AlertEngine;
use crate::fetch::Fetcher;
use crate::health::{Health, Pulse};
use crate::metrics::Metrics;
use crate::model::{Config, Target};
use crate::result::CheckResult;
use crate::runner::check_target;
use crate::scheduler::{Clock, Timing};
use crate::server::ServerHandle;
use crate::shard::{Shard, Share};
use crate::status::{StatusStore, TargetKey};

/// Default bound on how long shutdown waits for in-flight checks.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs one check of a target (fetch + evaluate in production; a stand-in in scheduling tests).
pub type CheckFn =
    Arc<dyn Fn(Arc<Target>) -> futures_util::future::BoxFuture<'static, CheckResult> + Send + Sync>;

/// The production [`CheckFn`]: fetch with `fetcher`, evaluate, build the result.
pub fn http_check(fetcher: Arc<Fetcher>) -> CheckFn {
    Arc::new(move |target: Arc<Target>| {
        let fetcher = Arc::clone(&fetcher);
        Box::pin(async move { check_target(&fetcher, &target).await })
    })
}

/// What every target task shares.
pub struct Shared {
    /// Runs a check.
    pub check: CheckFn,
    /// The scheduler's clock.
    pub clock: Clock,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Per-target state for the status page and API.
    pub status: Arc<StatusStore>,
    /// Liveness for `/healthz`.
    pub health: Arc<Health>,
    /// The alert engine, when alerting runs.
    pub alerts: Option<Arc<AlertEngine>>,
    /// Where rendered targets' screenshots go (set by `run`, which knows the state directory).
    pub screenshots: std::sync::OnceLock<Arc<crate::screenshots::Screenshots>>,
    /// History of every run, when kept (set once at start).
    pub history: std::sync::OnceLock<Arc<crate::history::Recorder>>,
}

impl Shared {
    /// Build the shared parts.
    pub fn new(check: CheckFn, metrics: Arc<Metrics>) -> Arc<Shared> {
        Self::with_clock(check, metrics, Clock::new())
    }

    /// Build the shared parts on a given clock.
    pub fn with_clock(check: CheckFn, metrics: Arc<Metrics>, clock: Clock) -> Arc<Shared> {
        let health = Arc::new(Health::new(clock, crate::health::STALL_AFTER));
        Self::build(check, metrics, clock, None, health)
    }

    /// Build the shared parts with everything given (`health` on the same clock).
    pub fn build(
        check: CheckFn,
        metrics: Arc<Metrics>,
        clock: Clock,
        alerts: Option<Arc<AlertEngine>>,
        health: Arc<Health>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            alerts,
            check,
            clock,
            metrics,
            status: Arc::default(),
            health,
            screenshots: std::sync::OnceLock::new(),
            history: std::sync::OnceLock::new(),
        })
    }

    /// What the endpoints get: metrics, status and health, not the rest of the daemon.
    pub fn server_handle(&self) -> ServerHandle {
        ServerHandle {
            metrics: Arc::clone(&self.metrics),
            status: Arc::clone(&self.status),
            health: Arc::clone(&self.health),
            screenshots: self.screenshots.get().cloned(),
            history: self
                .history
                .get()
                .map(|h| Arc::new(crate::server::history::HistoryHandle::new(h.reader()))),
            silences: self.alerts.as_ref().map(|a| a.silences()),
        }
    }
}

/// A spec's labels, shared by its targets' tasks.
type Labels = std::collections::BTreeMap<String, String>;

/// A running target task.
struct Running {
    /// [`Target::fingerprint`] with the labels: unchanged targets keep their task.
    fingerprint: u64,
    /// Tells the task to stop after its current run.
    stop: Arc<Stop>,
    /// The task.
    handle: JoinHandle<()>,
}

/// Owns the target tasks and reconciles them with each (re)loaded configuration.
pub struct Supervisor {
    /// Shared parts.
    shared: Arc<Shared>,
    /// Tasks by (spec, target).
    running: HashMap<TargetKey, Running>,
}

/// What makes a task's run change: the target's definition and its spec's labels (alerts).
fn fingerprint(target: &Target, labels: &Labels) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    target.fingerprint().hash(&mut h);
    labels.hash(&mut h);
    h.finish()
}

impl Supervisor {
    /// A supervisor with no targets yet.
    pub fn new(shared: Arc<Shared>) -> Supervisor {
        Supervisor {
            shared,
            running: HashMap::new(),
        }
    }

    /// Number of running target tasks.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Is nothing running?
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Adopt `config`: start new and changed targets, stop removed and changed ones (and drop
    /// their metric series), leave unchanged ones running on their schedule.
    pub fn apply(&mut self, config: &Config) {
        self.shared.status.apply_config(config);
        let mut wanted: HashMap<TargetKey, (&Target, Arc<Labels>)> = HashMap::new();
        for spec in &config.specs {
            let labels = Arc::new(spec.labels.clone());
            for t in &spec.targets {
                wanted.insert((t.spec.clone(), t.name.clone()), (t, Arc::clone(&labels)));
            }
        }
        let stale: Vec<TargetKey> = self
            .running
            .iter()
            .filter(|(key, run)| {
                wanted
                    .get(*key)
                    .is_none_or(|(t, labels)| fingerprint(t, labels) != run.fingerprint)
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(run) = self.running.remove(&key) {
                run.stop.stop();
                run.handle.abort();
                self.shared.health.untrack(&key);
                if !wanted.contains_key(&key) {
                    // Remove the series only once the aborted task has ended, so a `record`
                    // racing with the abort on another thread cannot bring them back.
                    let metrics = Arc::clone(&self.shared.metrics);
                    let alerts = self.shared.alerts.clone();
                    let handle = run.handle;
                    tokio::spawn(async move {
                        let _ = handle.await;
                        metrics.remove_target(&key.0, &key.1);
                        if let Some(alerts) = alerts {
                            alerts.forget(&key.0, &key.1);
                        }
                    });
                }
            }
        }
        for (key, (target, labels)) in wanted {
            if self.running.contains_key(&key) {
                continue;
            }
            let stop = Arc::new(Stop::default());
            let target = Arc::new(target.clone());
            let fingerprint = fingerprint(&target, &labels);
            let pulse = self.shared.health.track(key.clone());
            let handle = tokio::spawn(target_loop(
                Arc::clone(&target),
                labels,
                Arc::clone(&self.shared),
                pulse,
                Arc::clone(&stop),
            ));
            self.running.insert(
                key,
                Running {
                    fingerprint,
                    stop,
                    handle,
                },
            );
        }
    }

    /// Adopt the targets of `shard` in `config` (every shard loads and validates all of it) and
    /// publish the share to the status page and the API.
    pub fn apply_shard(&mut self, config: &Config, shard: Shard) -> Share {
        if shard.count() == 1 {
            // The whole configuration: no filtered copy of it.
            let share = Share::whole(shard, config);
            self.apply(config);
            self.shared.status.set_share(share);
            return share;
        }
        let (share, kept) = Share::of(shard, config);
        self.apply(&kept);
        self.shared.status.set_share(share);
        share
    }

    /// Stop scheduling; wait up to `grace` for in-flight checks to finish.
    pub async fn shutdown(self, grace: Duration) {
        for run in self.running.values() {
            run.stop.stop();
        }
        let handles: Vec<JoinHandle<()>> = self.running.into_values().map(|r| r.handle).collect();
        let aborts: Vec<_> = handles.iter().map(|h| h.abort_handle()).collect();
        let all = futures_util::future::join_all(handles);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(grace = ?grace, "checks still in flight at the end of the shutdown grace period were cancelled");
            for a in aborts {
                a.abort();
            }
        }
    }
}

/// Tells one target's task to stop after its current run: a flag and a bell, a fraction of a
/// `watch` channel's 344 bytes, which 10,000 targets each carried.
#[derive(Default)]
struct Stop {
    stopped: std::sync::atomic::AtomicBool,
    bell: tokio::sync::Notify,
}

impl Stop {
    fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.bell.notify_waiters();
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resolves once [`Stop::stop`] has been called (at once if it already was).
    async fn stopped(&self) {
        let rung = self.bell.notified();
        tokio::pin!(rung);
        // Registered before the flag is read, so a stop in between is not missed.
        rung.as_mut().enable();
        if self.is_stopped() {
            return;
        }
        rung.await;
    }
}

/// Marks a task's pulse idle however the task ends (returned, stopped or aborted).
struct IdleOnDrop(Arc<Pulse>);

impl Drop for IdleOnDrop {
    fn drop(&mut self) {
        self.0.idle();
    }
}

/// One target, forever: sleep until due, check, record, repeat; skipped ticks are counted.
/// `pulse` tells `/healthz` where the task is.
async fn target_loop(
    target: Arc<Target>,
    labels: Arc<Labels>,
    shared: Arc<Shared>,
    pulse: Arc<Pulse>,
    stop: Arc<Stop>,
) {
    let pulse = IdleOnDrop(pulse);
    let id = target.id();
    let clock = shared.clock;
    let timing = Timing::new(&target.schedule, &id, clock.now());
    let mut after = clock.now();
    loop {
        let Some(due) = timing.next_due(after) else {
            tracing::warn!(target = %id, schedule = %target.schedule, "the schedule has no future run");
            shared.status.set_next_run(&target.spec, &target.name, None);
            return;
        };
        shared
            .status
            .set_next_run(&target.spec, &target.name, Some(due));
        pulse.0.waiting(due);
        tokio::select! {
            () = tokio::time::sleep_until(clock.instant_at(due)) => {}
            () = stop.stopped() => return,
        }
        let started = clock.now();
        pulse.0.checking(started);
        let late = (started - due).to_std().unwrap_or_default();
        shared.metrics.record_lateness(late);
        // Boxed: the result is held across the awaits below, and whatever is held across an
        // await is carried in the task of every target for its whole life.
        let result = Box::new((shared.check)(Arc::clone(&target)).await);
        pulse.0.recording(clock.now());
        tracing::debug!(target = %id, result = result.outcome.as_str(), late_ms = late.as_secs_f64() * 1000.0, "check finished");
        if result.outcome != crate::result::Outcome::Success {
            tracing::info!(target = %id, result = result.outcome.as_str(), error = result.error.as_deref().unwrap_or(""), failures = result.failures.len(), "check did not succeed");
        }
        shared.metrics.record(&result);
        if let Some(png) = result.rendered.as_ref().and_then(|r| r.screenshot.clone())
            && let Some(shots) = shared.screenshots.get()
        {
            // Boxed, like the alert engine's call: an await point's state is part of every
            // target's task for its whole life, and these are the large ones.
            Box::pin(shots.save(&target.spec, &target.name, png)).await;
        }
        if let Some(shots) = shared.screenshots.get()
            && shots.has(&target.spec, &target.name)
        {
            let path = crate::screenshots::Screenshots::url_path(&target.spec, &target.name);
            shared
                .status
                .set_screenshot(&target.spec, &target.name, path);
        }
        shared.status.record(&result);
        let mut in_maintenance = false;
        if let Some(alerts) = &shared.alerts {
            let now = clock.now();
            let quiet = quiet::of_run(&shared, alerts, &target, &labels, &result, now);
            in_maintenance = quiet.maintenance;
            let shown = Box::pin(alerts.observe(&labels, &result, quiet, now)).await;
            shared
                .status
                .set_alert(&target.spec, &target.name, shown.as_str());
            shared.metrics.set_alert_firing(
                &target.spec,
                &target.name,
                shown == crate::alert::state::Shown::Firing,
            );
        }
        if let Some(history) = shared.history.get() {
            history.record(&target, &result, in_maintenance);
        }
        let now = clock.now();
        let skipped = timing.count_due_between(due, now, 100_000);
        if skipped > 0 {
            tracing::warn!(target = %id, skipped, "runs skipped: the previous run was still in flight");
            shared
                .metrics
                .record_skipped(&target.spec, &target.name, skipped);
        }
        if stop.is_stopped() {
            return;
        }
        after = now.max(due);
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod quiet_tests;

pub use crate::load::Loaded;
pub use quiet::refresh_quiet;
pub use run::{Loader, RunError, RunOptions, run};

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (inside the
/// runtime), not when the future is first polled, so a signal arriving between the call and the
/// first poll still stops the daemon gracefully instead of killing it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            let (mut int, mut term) = match (int, term) {
                (Ok(int), Ok(term)) => (int, term),
                _ => {
                    tracing::warn!("cannot listen for SIGINT/SIGTERM");
                    return std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
