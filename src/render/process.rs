//! Starting one Chromium under a watchdog, and stopping it for good.
//!
//! The browser is started by a small `sh` watchdog in a new process group (the safe
//! `process_group(0)`; the crate forbids `unsafe`, so no `pre_exec`/`prctl` death signal):
//!
//! ```sh
//! "$@" </dev/null >/dev/null &   # chromium and its flags, in the watchdog's group
//! read -r _                      # returns at end of file: when this process's pipe closes
//! kill -KILL 0                   # the whole group, the watchdog included
//! ```
//!
//! The watchdog's stdin is a pipe whose only writer is this process (the pipe is close-on-exec,
//! so no other child inherits it). It is never written to: it reaches end of file exactly when
//! this process drops its end, which the kernel does whatever way this process ends, `kill -9`
//! included. So a browser never outlives its owner, without polling, and without trusting a pid
//! that may be reused. The orderly stop is the same `SIGKILL` to the group, sent by this process,
//! followed by reaping and removing the profile directory.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, Command};

use super::group::{self, Registry};
use super::{BrowserOptions, RenderError};

/// Profile directories are named `dcrawl-chromium-PID-N-RANDOM` under the temp root, so the
/// directories of a process that died can be told from those of live ones.
const PROFILE_PREFIX: &str = "dcrawl-chromium-";

/// The watchdog script (see the module documentation); `$0` is its name in `ps`.
const WATCHDOG: &str = "\"$@\" </dev/null >/dev/null &\nread -r _\nkill -KILL 0\n";

/// Chromium's flags. The background-networking ones keep it from phoning home, which a closed
/// network refuses and which a monitoring probe should not do anyway.
/// `--no-sandbox`: dcrawl often runs as root in a container, where Chromium's sandbox cannot
/// start; the pages are the operator's own sites.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--password-store=basic",
    "--remote-debugging-port=0",
];

/// The line Chromium prints on stderr once its DevTools endpoint listens.
const LISTENING: &str = "DevTools listening on ";

/// How many of the browser's last stderr lines are kept for error messages.
const TAIL_LINES: usize = 12;

/// Finds `binary`: a path is checked as is, a bare name is looked up on `PATH`.
pub fn find_browser(binary: &Path) -> Result<PathBuf, RenderError> {
    let missing = |hint: String| RenderError::NoBrowser {
        binary: binary.to_owned(),
        hint,
    };
    if binary.as_os_str().is_empty() {
        return Err(missing("the browser path is empty".to_owned()));
    }
    if binary.components().count() > 1 || binary.is_absolute() {
        return match executable(binary) {
            Ok(()) => Ok(binary.to_owned()),
            Err(hint) => Err(missing(hint)),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|candidate| executable(candidate).is_ok())
        .ok_or_else(|| missing("not found on PATH".to_owned()))
}

/// Whether `path` is an executable file, or why not.
fn executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("no such file".to_owned()),
        Err(e) => Err(e.to_string()),
        Ok(meta) if !meta.is_file() => Err("not a file".to_owned()),
        Ok(meta) if meta.permissions().mode() & 0o111 == 0 => Err("not executable".to_owned()),
        Ok(_) => Ok(()),
    }
}

/// Removes profile directories under `root` left by dcrawl processes that no longer run (killed
/// with `kill -9`: their watchdogs killed the browsers but cannot remove the directories).
pub(crate) fn sweep_stale_profiles(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROFILE_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if owner != me && !Path::new(&format!("/proc/{owner}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh, empty profile directory under `root`.
fn new_profile(root: &Path) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = root.join(format!(
        "{PROFILE_PREFIX}{}-{n}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(root)?;
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// The last lines the browser printed, for error messages.
type Tail = Arc<Mutex<VecDeque<String>>>;

/// Keeps `line` in `tail`, dropping the oldest beyond [`TAIL_LINES`].
fn remember(tail: &Tail, line: &str) {
    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line.chars().take(300).collect());
}

/// The DevTools address in one line of the browser's stderr, if it is the announcement.
fn devtools_url(line: &str) -> Option<&str> {
    let url = line.trim().strip_prefix(LISTENING)?;
    url.starts_with("ws://").then_some(url)
}

/// A running browser: its watchdog, process group and profile directory. Dropping it kills the
/// group at once (reaping is left to [`Registry::sweep`]); [`BrowserProcess::kill`] is the
/// orderly way.
pub(crate) struct BrowserProcess {
    /// The watchdog shell, leader of the group.
    child: Child,
    /// This process's end of the watchdog's stdin; closing it makes the watchdog kill the group.
    watchdog: Option<ChildStdin>,
    /// The process group (the watchdog's pid).
    pgid: i32,
    /// The browser's `--user-data-dir`.
    profile: PathBuf,
    /// Its last stderr lines.
    tail: Tail,
    /// Where the group is recorded until cleaned up.
    registry: Arc<Registry>,
    /// Whether [`Self::kill`] ran (then drop has nothing left to do).
    stopped: bool,
}

impl BrowserProcess {
    /// Starts the browser of `options` with a fresh profile under its temp directory and waits
    /// up to its launch timeout for the DevTools address. Returns the process and the address.
    pub(super) async fn launch(
        options: &BrowserOptions,
        registry: &Arc<Registry>,
    ) -> Result<(BrowserProcess, String), RenderError> {
        let (root, within) = (&options.temp_dir, options.launch_timeout);
        let binary = find_browser(&options.binary)?;
        let failed = |reason: String| RenderError::Launch {
            binary: binary.clone(),
            reason,
        };
        group::become_subreaper();
        let profile = new_profile(root).map_err(|e| {
            failed(format!(
                "cannot create a profile under {}: {e}",
                root.display()
            ))
        })?;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(WATCHDOG)
            .arg("dcrawl-browser-watchdog")
            .arg(&binary)
            .args(FLAGS)
            .args(&options.extra_args)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(failed(format!("cannot run /bin/sh: {e}")));
            }
        };
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .unwrap_or(0);
        registry.add(pgid, profile.clone());
        let stderr = child.stderr.take();
        let process = BrowserProcess {
            watchdog: child.stdin.take(),
            child,
            pgid,
            profile,
            tail: Tail::default(),
            registry: Arc::clone(registry),
            stopped: false,
        };
        let announced = match stderr {
            Some(stderr) => {
                let announced = announcement(stderr, Arc::clone(&process.tail));
                tokio::time::timeout(within, until_exit(pgid, announced)).await
            }
            None => Ok(None),
        };
        match announced {
            Ok(Some(url)) => Ok((process, url)),
            Ok(None) => {
                let reason = format!(
                    "it exited before announcing DevTools{}",
                    process.last_words()
                );
                process.kill().await;
                Err(failed(reason))
            }
            Err(_) => {
                let reason = format!(
                    "it did not announce DevTools within {}{}",
                    humantime::format_duration(within),
                    process.last_words()
                );
                process.kill().await;
                Err(failed(reason))
            }
        }
    }

    /// The process group id.
    pub(super) fn pgid(&self) -> i32 {
        self.pgid
    }

    /// `"; it said: ..."` with the browser's last stderr lines, or nothing.
    pub(super) fn last_words(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("; it said: {}", lines.join(" | "))
    }

    /// Kills the whole group, reaps it and removes the profile directory.
    pub(super) async fn kill(mut self) {
        self.stop().await;
    }

    /// [`Self::kill`] on a borrowed process.
    async fn stop(&mut self) {
        if self.stopped {
            return;
        }
        group::kill_group(self.pgid);
        self.watchdog = None;
        // Reaping the group below also reaps the watchdog if this wait gives up.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        if group::reap_group(self.pgid, Duration::from_secs(3)).await {
            remove_profile(&self.profile).await;
            self.registry.remove(self.pgid);
        } else {
            self.registry.abandon(self.pgid);
        }
        self.stopped = true;
    }
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        if !self.stopped {
            group::kill_group(self.pgid);
            self.registry.abandon(self.pgid);
        }
    }
}

/// Removes a dead browser's profile (thousands of files: off the async threads), retrying
/// briefly in case a dying process still wrote.
async fn remove_profile(profile: &Path) {
    for _ in 0..5 {
        if tokio::fs::remove_dir_all(profile).await.is_ok() || !profile.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `announced` unless the browser of group `pgid` exits first (then `None`): the watchdog
/// keeps stderr open, so a browser that dies at start would otherwise be noticed only at the
/// launch timeout. Exited means seen running once and no live process but the watchdog now.
async fn until_exit(pgid: i32, announced: impl Future<Output = Option<String>>) -> Option<String> {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut seen_running = false;
    tokio::pin!(announced);
    loop {
        tokio::select! {
            url = &mut announced => return url,
            _ = tick.tick() => {
                let running = group::browser_processes(&group::members(&[pgid])) > 0;
                if seen_running && !running {
                    return None;
                }
                seen_running |= running;
            }
        }
    }
}

/// Reads the browser's stderr until the DevTools announcement and returns its address, then
/// keeps draining stderr in the background (a full pipe would block the browser). `None` when
/// stderr closes first.
async fn announcement(stderr: ChildStderr, tail: Tail) -> Option<String> {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(url) = devtools_url(&line) {
            let url = url.to_owned();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    remember(&tail, &line);
                }
            });
            return Some(url);
        }
        remember(&tail, &line);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_is_recognised() {
        assert_eq!(
            devtools_url("DevTools listening on ws://127.0.0.1:4321/devtools/browser/ab-cd\n"),
            Some("ws://127.0.0.1:4321/devtools/browser/ab-cd")
        );
        assert_eq!(devtools_url("[1:2:ERROR:bus.cc] Failed to connect"), None);
        assert_eq!(devtools_url("DevTools listening on nothing"), None);
    }

    #[test]
    fn missing_browsers_are_explained() {
        let err = find_browser(Path::new("/nonexistent/chromium")).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
        let err = find_browser(Path::new("no-such-browser-dcrawl")).unwrap_err();
        assert!(err.to_string().contains("not found on PATH"), "{err}");
        assert!(err.to_string().contains("--browser PATH"), "{err}");
        let plain =
            std::env::temp_dir().join(format!("dcrawl-not-a-browser-{}", fastrand::u64(..)));
        std::fs::write(&plain, "").unwrap();
        let err = find_browser(&plain).unwrap_err();
        std::fs::remove_file(&plain).unwrap();
        assert!(err.to_string().contains("not executable"), "{err}");
        let err = find_browser(&std::env::temp_dir()).unwrap_err();
        assert!(err.to_string().contains("not a file"), "{err}");
        assert!(find_browser(Path::new("sh")).is_ok());
    }

    #[test]
    fn profiles_of_dead_owners_are_swept() {
        let root = std::env::temp_dir().join(format!("dcrawl-sweep-test-{}", fastrand::u64(..)));
        let dead = root.join(format!("{PROFILE_PREFIX}999999999-0-00000000"));
        let mine = root.join(format!("{PROFILE_PREFIX}{}-0-00000000", std::process::id()));
        let other = root.join("unrelated");
        for dir in [&dead, &mine, &other] {
            std::fs::create_dir_all(dir).unwrap();
        }
        sweep_stale_profiles(&root);
        assert!(!dead.exists());
        assert!(mine.exists() && other.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        let tail = Tail::default();
        for i in 0..20 {
            remember(&tail, &format!("line {i}"));
        }
        let tail = tail.lock().unwrap();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.front().map(String::as_str), Some("line 8"));
    }
}
