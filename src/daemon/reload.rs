//! Reload triggers: SIGHUP and changes to files under the watched paths (debounced).

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// How long the files must be quiet before a change triggers a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Keeps the file watcher alive; reload requests arrive on the receiver.
pub struct Triggers {
    /// The watcher (dropping it stops watching).
    _watcher: Option<notify::RecommendedWatcher>,
    /// The single files watched through their folders ([`Triggers::watch_files`]), with the
    /// watcher doing it.
    files: Option<(Vec<PathBuf>, notify::RecommendedWatcher)>,
    /// Feeds the debouncer; the file watcher sends on a clone.
    raw_tx: mpsc::UnboundedSender<&'static str>,
    /// One message per (debounced) reload request.
    pub rx: mpsc::Receiver<&'static str>,
}

impl Triggers {
    /// Watch exactly these single files (the web config, its certificate and key) from now on,
    /// besides the paths given to [`triggers`]. Each is watched through its folder, not its
    /// inode: certificate renewers replace files (certbot swaps symlinks, Kubernetes swaps the
    /// `..data` link of a mounted Secret), and a watch on the old file would see nothing.
    /// Folders that cannot be watched are skipped with a warning.
    pub fn watch_files(&mut self, files: &[PathBuf]) {
        let mut files = files.to_vec();
        files.sort();
        files.dedup();
        if self
            .files
            .as_ref()
            .is_some_and(|(watched, _)| *watched == files)
        {
            return;
        }
        let names: HashSet<OsString> = files
            .iter()
            .filter_map(|f| f.file_name().map(ToOwned::to_owned))
            .collect();
        let tx = self.raw_tx.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && !event.kind.is_access()
                && event.paths.iter().any(|p| is_watched_file(p, &names))
            {
                let _ = tx.send("file change");
            }
        });
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "file watching unavailable; reload with SIGHUP");
                return;
            }
        };
        let folders: BTreeSet<&Path> = files
            .iter()
            .map(|f| match f.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            })
            .collect();
        for folder in folders {
            if let Err(e) = watcher.watch(folder, RecursiveMode::NonRecursive) {
                tracing::warn!(path = %folder.display(), error = %e, "not watching this folder for changes");
            }
        }
        self.files = Some((files, watcher));
    }
}

/// Is a change to `path`, in the folder of a watched file, one that may change that file? Its
/// own name, or a name starting with `..` (Kubernetes updates the files of a mounted Secret or
/// ConfigMap by swapping the `..data` link they point through).
fn is_watched_file(path: &Path, names: &HashSet<OsString>) -> bool {
    path.file_name()
        .is_some_and(|n| names.contains(n) || n.as_encoded_bytes().starts_with(b".."))
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
        files: None,
        raw_tx,
        rx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_file_is_its_name_or_a_kubernetes_data_link() {
        let names = HashSet::from([OsString::from("web.yml"), OsString::from("tls.crt")]);
        for hit in [
            "/etc/dcrawl/web.yml",
            "./tls.crt",
            "/s/..data",
            "/s/..2024_01_01.123",
        ] {
            assert!(is_watched_file(Path::new(hit), &names), "{hit}");
        }
        for miss in ["/etc/dcrawl/web.yml.tmp~", "/etc/dcrawl/app.log", "/"] {
            assert!(!is_watched_file(Path::new(miss), &names), "{miss}");
        }
    }
}
