//! `dcrawl run`: every target on its own schedule, forever, with hot reload and graceful
//! shutdown.
//!
//! One task per target sleeps until its next due time ([`crate::scheduler::Timing`]), runs the
//! check and records it (metrics, status). A run still in flight when the next is due makes the
//! task skip those ticks and count them, so runs of one target never overlap and no queue grows.
//! Fetch concurrency is bounded by the shared [`Fetcher`].

pub mod reload;
pub mod state;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fetch::Fetcher;
use crate::metrics::Metrics;
use crate::model::{Config, Target};
use crate::result::CheckResult;
use crate::runner::check_target;
use crate::scheduler::{Clock, Timing};
use state::{StatusStore, TargetKey};

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
    /// Unix seconds of the scheduler's last heartbeat (for `/healthz`).
    pub heartbeat: AtomicI64,
}

impl Shared {
    /// Build the shared parts.
    pub fn new(check: CheckFn, metrics: Arc<Metrics>) -> Arc<Shared> {
        Self::with_clock(check, metrics, Clock::new())
    }

    /// Build the shared parts on a given clock.
    pub fn with_clock(check: CheckFn, metrics: Arc<Metrics>, clock: Clock) -> Arc<Shared> {
        Arc::new(Shared {
            check,
            clock,
            metrics,
            status: Arc::default(),
            heartbeat: AtomicI64::new(Utc::now().timestamp()),
        })
    }

    /// Is the scheduler alive (heartbeat within the last 10 s)?
    pub fn alive(&self) -> bool {
        Utc::now().timestamp() - self.heartbeat.load(Ordering::Relaxed) <= 10
    }
}

/// A running target task.
struct Running {
    /// Hash of the target's whole definition: unchanged targets keep their task.
    fingerprint: u64,
    /// Tells the task to stop after its current run.
    stop: watch::Sender<bool>,
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

fn fingerprint(target: &Target) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{target:?}").hash(&mut h);
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
        let mut wanted: HashMap<TargetKey, &Target> = HashMap::new();
        for t in config.targets() {
            wanted.insert((t.spec.clone(), t.name.clone()), t);
        }
        let stale: Vec<TargetKey> = self
            .running
            .iter()
            .filter(|(key, run)| {
                wanted
                    .get(*key)
                    .is_none_or(|t| fingerprint(t) != run.fingerprint)
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(run) = self.running.remove(&key) {
                let _ = run.stop.send(true);
                run.handle.abort();
                if !wanted.contains_key(&key) {
                    // Remove the series only once the aborted task has ended, so a `record`
                    // racing with the abort on another thread cannot bring them back.
                    let metrics = Arc::clone(&self.shared.metrics);
                    let handle = run.handle;
                    tokio::spawn(async move {
                        let _ = handle.await;
                        metrics.remove_target(&key.0, &key.1);
                    });
                }
            }
        }
        for (key, target) in wanted {
            if self.running.contains_key(&key) {
                continue;
            }
            let (stop, stop_rx) = watch::channel(false);
            let target = Arc::new(target.clone());
            let handle = tokio::spawn(target_loop(
                Arc::clone(&target),
                Arc::clone(&self.shared),
                stop_rx,
            ));
            self.running.insert(
                key,
                Running {
                    fingerprint: fingerprint(&target),
                    stop,
                    handle,
                },
            );
        }
    }

    /// Stop scheduling; wait up to `grace` for in-flight checks to finish.
    pub async fn shutdown(self, grace: Duration) {
        for run in self.running.values() {
            let _ = run.stop.send(true);
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

/// One target, forever: sleep until due, check, record, repeat; skipped ticks are counted.
async fn target_loop(target: Arc<Target>, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
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
        tokio::select! {
            () = tokio::time::sleep_until(clock.instant_at(due)) => {}
            _ = stop.changed() => return,
        }
        let started = clock.now();
        let late = (started - due).to_std().unwrap_or_default();
        shared.metrics.record_lateness(late);
        let result = (shared.check)(Arc::clone(&target)).await;
        tracing::debug!(target = %id, result = result.outcome.as_str(), late_ms = late.as_secs_f64() * 1000.0, "check finished");
        if result.outcome != crate::result::Outcome::Success {
            tracing::info!(target = %id, result = result.outcome.as_str(), error = result.error.as_deref().unwrap_or(""), failures = result.failures.len(), "check did not succeed");
        }
        shared.metrics.record(&result);
        shared.status.record(&result);
        let now = clock.now();
        let skipped = timing.count_due_between(due, now, 100_000);
        if skipped > 0 {
            tracing::warn!(target = %id, skipped, "runs skipped: the previous run was still in flight");
            shared
                .metrics
                .record_skipped(&target.spec, &target.name, skipped);
        }
        if *stop.borrow() {
            return;
        }
        after = now.max(due);
    }
}

#[cfg(test)]
mod tests;

/// Loads the configuration (from files, or bundled sources for the demo).
pub type Loader = Box<dyn Fn() -> Result<Config, crate::spec::Diagnostics> + Send + Sync>;

/// Settings of `dcrawl run`.
pub struct RunOptions {
    /// Where the HTTP endpoints listen.
    pub listen: std::net::SocketAddr,
    /// Paths watched for changes (specs and alerts); empty = no file watching.
    pub watch: Vec<std::path::PathBuf>,
    /// Fetch bounds.
    pub fetch: crate::fetch::FetchOptions,
    /// How long shutdown waits for in-flight checks.
    pub shutdown_grace: Duration,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The initial configuration is invalid.
    #[error("invalid configuration:\n{0}")]
    Config(crate::spec::Diagnostics),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Fetch(#[from] crate::fetch::FetchError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Run the daemon until `shutdown` resolves: load, serve the endpoints, schedule every target,
/// reload on SIGHUP or file changes (keeping the old configuration when the new one is invalid),
/// then stop gracefully. `on_ready` gets the bound address once everything runs.
pub async fn run(
    options: RunOptions,
    load: Loader,
    shutdown: impl std::future::Future<Output = ()>,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), RunError> {
    // Watch and listen for SIGHUP before loading: an edit or a SIGHUP during startup is not
    // lost, and SIGHUP never hits its default action (terminate) once the daemon is ready.
    let mut triggers = reload::triggers(&options.watch);
    let config = load().map_err(RunError::Config)?;
    let metrics = Arc::new(Metrics::new());
    let fetcher = Arc::new(Fetcher::new(options.fetch.clone())?);
    let shared = Shared::new(http_check(fetcher), Arc::clone(&metrics));
    let mut supervisor = Supervisor::new(Arc::clone(&shared));
    supervisor.apply(&config);
    metrics.record_reload(true, supervisor.len());
    tracing::info!(
        specs = config.specs.len(),
        targets = supervisor.len(),
        "configuration loaded"
    );

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| RunError::Listen {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| RunError::Listen {
        addr: options.listen,
        source,
    })?;
    let (server_stop, server_stop_rx) = watch::channel(false);
    let server = tokio::spawn(crate::server::serve(
        listener,
        Arc::clone(&shared),
        server_stop_rx,
    ));
    let heartbeat = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                shared
                    .heartbeat
                    .store(Utc::now().timestamp(), Ordering::Relaxed);
            }
        })
    };
    tracing::info!(%addr, "serving /, /metrics, /api/v1/status and /healthz");
    on_ready(addr);

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(reason) = triggers.rx.recv() => {
                match load() {
                    Ok(config) => {
                        supervisor.apply(&config);
                        metrics.record_reload(true, supervisor.len());
                        tracing::info!(reason, specs = config.specs.len(), targets = supervisor.len(), "configuration reloaded");
                    }
                    Err(diagnostics) => {
                        metrics.record_reload(false, supervisor.len());
                        for d in &diagnostics.0 {
                            tracing::error!(reason, "{d}");
                        }
                        tracing::error!(reason, errors = diagnostics.len(), "new configuration rejected; the previous one keeps running");
                    }
                }
            }
        }
    }
    tracing::info!("shutting down: no new checks; waiting for in-flight ones");
    supervisor.shutdown(options.shutdown_grace).await;
    heartbeat.abort();
    let _ = server_stop.send(true);
    let _ = server.await;
    tracing::info!("stopped");
    Ok(())
}

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
