//! The daemon's life: load, serve, schedule, alert, reload, stop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Shared, Supervisor, http_check, reload};
use crate::alert::channels::Deliverer;
use crate::alert::engine::AlertEngine;
use crate::alert::store::Store;
use crate::fetch::Fetcher;
use crate::health::Health;
use crate::load::Loaded;
use crate::metrics::Metrics;
use crate::scheduler::Clock;
use crate::server::web_config::{self, WebConfig};
use crate::shard::Shard;

/// How often the reload loop beats for `/healthz` while idle.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Loads the configuration (from files, or bundled sources for the demo).
pub type Loader = Box<dyn Fn() -> Result<Loaded, crate::spec::Diagnostics> + Send + Sync>;

/// Settings of `dcrawl run`.
pub struct RunOptions {
    /// Where the HTTP endpoints listen.
    pub listen: std::net::SocketAddr,
    /// Paths watched for changes (specs and alerts); empty = no file watching.
    pub watch: Vec<PathBuf>,
    /// Fetch bounds.
    pub fetch: crate::fetch::FetchOptions,
    /// How long shutdown waits for in-flight checks and notifications.
    pub shutdown_grace: Duration,
    /// Where alert states and the notification outbox live.
    pub state_dir: PathBuf,
    /// Public URL of the status page, for links in notifications.
    pub external_url: Option<String>,
    /// The web config file (TLS, credentials, limits of the endpoints); `None`: plain HTTP,
    /// open, default limits. Reloaded with the specs and alerts (it, its certificate and its
    /// key are watched too), except its limits and whether TLS is on, which are fixed at start.
    pub web_config: Option<PathBuf>,
    /// The shard of the targets this process checks ([`Shard::WHOLE`]: all of them).
    pub shard: Shard,
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
    /// The state directory could not be used.
    #[error("{0}")]
    State(#[from] crate::alert::store::StoreError),
    /// The history database could not be opened.
    #[error("{0}")]
    History(#[from] crate::history::HistoryError),
    /// The notification client could not be built.
    #[error("cannot build the notification client: {0}")]
    Delivery(#[from] crate::alert::channels::DeliveryError),
    /// Loading the configuration did not finish (its thread panicked).
    #[error("loading the configuration failed: {0}")]
    Load(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why (not a `source`: the message already says it, and `main` prints error chains).
        reason: std::io::Error,
    },
}

/// Run the daemon until `shutdown` resolves: load, serve the endpoints, schedule every target,
/// alert, reload on SIGHUP or file changes (keeping the old configuration when the new one is
/// invalid), then stop gracefully. `on_ready` gets the endpoints' base URL
/// (`http://ADDR` or `https://ADDR`) once everything runs.
pub async fn run(
    options: RunOptions,
    load: Loader,
    shutdown: impl std::future::Future<Output = ()>,
    on_ready: impl FnOnce(&str),
) -> Result<(), RunError> {
    // Watch and listen for SIGHUP before loading: an edit or a SIGHUP during startup is not
    // lost, and SIGHUP never hits its default action (terminate) once the daemon is ready.
    let mut triggers = reload::triggers(&options.watch);
    let web_file = options.web_config.as_deref();
    triggers.watch_files(&watched_web_files(web_file, &WebConfig::default()));
    let load = Arc::new(load);
    let (web, loaded) = {
        let (load, file) = (Arc::clone(&load), options.web_config.clone());
        off_runtime(move || {
            // The web config's problems and the specs' and alerts' are reported together.
            let web = web_config::load_optional(file.as_deref(), &crate::spec::process_env);
            let web_problems = web.as_ref().err().cloned().unwrap_or_default();
            let loaded = web_problems.combine(load())?;
            Ok((web?, loaded))
        })
        .await
        .map_err(RunError::Load)?
        .map_err(RunError::Config)?
    };
    triggers.watch_files(&watched_web_files(web_file, &web));
    // Bind before starting anything: a taken port must not have run checks, opened the state
    // directory or started the alert engine.
    let listen_error = |reason| RunError::Listen {
        addr: options.listen,
        reason,
    };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let metrics = Arc::new(Metrics::new());
    let fetcher = Arc::new(Fetcher::new(options.fetch.clone())?);
    let renderer = fetcher.renderer().clone();
    let store = Arc::new(Store::open(&options.state_dir)?);
    let deliverer = Arc::new(Deliverer::new(crate::alert::channels::DEFAULT_TIMEOUT)?);
    let engine = AlertEngine::new(
        store,
        deliverer,
        Arc::clone(&metrics),
        options.external_url.clone(),
    )?;
    engine.set_config(loaded.alerts.clone());
    let (engine_stop, engine_stop_rx) = watch::channel(false);
    let release_task = tokio::spawn(Arc::clone(&engine).release_loop(engine_stop_rx.clone()));
    let engine_task = tokio::spawn(Arc::clone(&engine).run(engine_stop_rx));

    let clock = Clock::new();
    let shared = Shared::build(
        http_check(fetcher),
        Arc::clone(&metrics),
        clock,
        Some(engine.clone()),
        Arc::new(Health::new(clock, crate::health::STALL_AFTER)),
    );
    let history = crate::history::Recorder::open(
        &options.state_dir,
        crate::history::HistoryOptions::default(),
        metrics.history_counters(),
    )?;
    let _ = shared.history.set(Arc::clone(&history));
    let mut supervisor = Supervisor::new(Arc::clone(&shared));
    let share = supervisor.apply_shard(&loaded.specs, options.shard);
    metrics.set_shard(options.shard.index(), options.shard.count());
    metrics.record_reload(true, supervisor.len());
    if options.shard.count() > 1 {
        tracing::info!("{share}");
    }
    tracing::info!(
        specs = loaded.specs.specs.len(),
        targets = supervisor.len(),
        channels = loaded.alerts.channels.len(),
        routes = loaded.alerts.routes.len(),
        state_dir = %options.state_dir.display(),
        "configuration loaded"
    );
    // The tasks hold their own copies of the targets: the loaded ones would only take room.
    drop(loaded);

    let _ = shared
        .screenshots
        .set(Arc::new(crate::screenshots::Screenshots::new(
            &options.state_dir,
        )));
    let (server_stop, server_stop_rx) = watch::channel(false);
    let browsers = {
        let (renderer, metrics) = (renderer.clone(), Arc::clone(&metrics));
        let mut stop = server_stop_rx.clone();
        tokio::spawn(async move {
            loop {
                metrics.set_browsers(renderer.processes(), renderer.restarts());
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.changed() => break,
                }
            }
        })
    };
    let base = format!("{}://{addr}", web.scheme());
    let (tls, auth) = (web.tls.is_some(), !web.auth.is_open());
    let live = Arc::new(web_config::Live::new(web));
    let server = tokio::spawn(crate::server::serve(
        listener,
        shared.server_handle(),
        Arc::clone(&live),
        server_stop_rx,
    ));
    tracing::info!(%addr, tls, auth, "serving /, /metrics, /api/v1/status, /api/v1/history, /api/v1/silences, /badge/SPEC/TARGET.svg and /healthz");
    on_ready(&base);

    tokio::pin!(shutdown);
    // The loop's own beat for `/healthz`: it stops when the loop is stuck (in a reload, say).
    let mut beat = tokio::time::interval(HEARTBEAT);
    // Whether the last refresh had windows or silences to show (the next clears them).
    let mut quiet_shown = false;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = beat.tick() => {
                shared.health.reload_loop_beat();
                let now = clock.now();
                let quiet = engine.has_maintenance() || engine.silences().any_active(now);
                if quiet || quiet_shown {
                    super::refresh_quiet(&shared, &engine, now);
                    quiet_shown = quiet;
                }
            }
            Some(reason) = triggers.rx.recv() => {
                let (load, file, current) =
                    (Arc::clone(&load), options.web_config.clone(), live.current());
                // Reading and compiling thousands of targets takes a while: not on a worker
                // that target tasks need to start on time.
                let reloaded = off_runtime(move || {
                    // The web config is part of the configuration: a problem in it or in the
                    // specs and alerts rejects the whole reload.
                    let web = reload_web_config(file.as_deref(), &current);
                    let web_problems = web.as_ref().err().cloned().unwrap_or_default();
                    let loaded = web_problems.combine(load())?;
                    Ok((web?, loaded))
                })
                .await;
                let reloaded: Result<_, crate::spec::Diagnostics> = match reloaded {
                    Ok(r) => r,
                    Err(e) => {
                        metrics.record_reload(false, supervisor.len());
                        tracing::error!(reason, error = %e, "reload failed; the previous configuration keeps running");
                        continue;
                    }
                };
                match reloaded {
                    Ok((web, loaded)) => {
                        if let Some(web) = web {
                            triggers.watch_files(&watched_web_files(web_file, &web));
                            live.replace(web);
                        }
                        engine.set_config(loaded.alerts.clone());
                        let share = supervisor.apply_shard(&loaded.specs, options.shard);
                        metrics.record_reload(true, supervisor.len());
                        if options.shard.count() > 1 {
                            tracing::info!(reason, "{share}");
                        }
                        tracing::info!(reason, specs = loaded.specs.specs.len(), targets = supervisor.len(), channels = loaded.alerts.channels.len(), routes = loaded.alerts.routes.len(), "configuration reloaded");
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
    tracing::info!("shutting down: no new checks; waiting for in-flight checks and notifications");
    let deadline = tokio::time::Instant::now() + options.shutdown_grace;
    supervisor.shutdown(options.shutdown_grace).await;
    // Every browser of a render target is stopped (its process group killed) with the checks.
    renderer.shutdown().await;
    // Write the runs still queued for history (the target tasks have stopped).
    let _ = tokio::task::spawn_blocking(move || history.close()).await;
    let _ = engine_stop.send(true);
    if tokio::time::timeout_at(
        deadline.max(tokio::time::Instant::now() + Duration::from_secs(1)),
        engine_task,
    )
    .await
    .is_err()
    {
        tracing::warn!("notifications still in flight were left in the outbox for the next start");
    }
    let _ = release_task.await;
    let _ = server_stop.send(true);
    let _ = server.await;
    let _ = browsers.await;
    tracing::info!("stopped");
    Ok(())
}

/// Run `f` on tokio's blocking pool and wait for it; `Err` if it panicked.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())
}

/// The web config file and the certificate and key it names: what a reload watches.
fn watched_web_files(file: Option<&Path>, web: &WebConfig) -> Vec<PathBuf> {
    file.map(Path::to_path_buf)
        .into_iter()
        .chain(web.files())
        .collect()
}

/// Load the web config `file` again (`None` without one) and check that it may replace
/// `current`. New limits are ignored, with a warning: they apply from the next start.
fn reload_web_config(
    file: Option<&Path>,
    current: &WebConfig,
) -> Result<Option<WebConfig>, crate::spec::Diagnostics> {
    let Some(file) = file else {
        return Ok(None);
    };
    let mut web = web_config::load_file(file, &crate::spec::process_env)?;
    web_config::check_reload(current, &web, &file.display().to_string())?;
    if web.limits != current.limits {
        tracing::warn!(
            file = %file.display(),
            "the web config's limits changed; they apply after a restart"
        );
        web.limits = current.limits;
    }
    Ok(Some(web))
}
