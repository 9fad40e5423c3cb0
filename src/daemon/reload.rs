//! Reload triggers: SIGHUP and changes to files under the watched paths (debounced).

use std::path::PathBuf;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// How long the files must be quiet before a change triggers a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Keeps the file watcher alive; reload requests arrive on the receiver.
pub struct Triggers {
    /// The watcher (dropping it stops watching).
    _watcher: Option<notify::RecommendedWatcher>,
    /// One message per (debounced) reload request.
    pub rx: mpsc::Receiver<&'static str>,
}

/// Watch `paths` (files or folders, recursively) and SIGHUP; every burst of changes yields one
/// reload request after [`DEBOUNCE`] of quiet. Paths that do not exist are skipped with a warning.
pub fn triggers(paths: &[PathBuf]) -> Triggers {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<&'static str>();
    let (tx, rx) = mpsc::channel(1);
    let watcher = if paths.is_empty() {
        None
    } else {
        let fs_tx = raw_tx.clone();
        match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && !event.kind.is_access()
            {
                let _ = fs_tx.send("file change");
            }
        }) {
            Ok(mut w) => {
                for p in paths {
                    if let Err(e) = w.watch(p, RecursiveMode::Recursive) {
                        tracing::warn!(path = %p.display(), error = %e, "not watching this path for changes");
                    }
                }
                Some(w)
            }
            Err(e) => {
                tracing::warn!(error = %e, "file watching unavailable; reload with SIGHUP");
                None
            }
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let sig_tx = raw_tx.clone();
        // Installed now, not in the task: SIGHUP must never hit its default action (terminate).
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        if sig_tx.send("SIGHUP").is_err() {
                            return;
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
        }
    }
    drop(raw_tx);
    tokio::spawn(async move {
        while let Some(first) = raw_rx.recv().await {
            let mut reason = first;
            // Debounce: wait until nothing new arrived for DEBOUNCE.
            while let Ok(Some(next)) = tokio::time::timeout(DEBOUNCE, raw_rx.recv()).await {
                if next == "SIGHUP" {
                    reason = next;
                }
            }
            // A reload already pending reads the newest files anyway: coalesce.
            if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(reason) {
                return;
            }
        }
    });
    Triggers {
        _watcher: watcher,
        rx,
    }
}
