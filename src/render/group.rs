//! Browser process groups: who is in them (from `/proc`), how much memory they hold, killing and
//! reaping them, and the registry of every group the renderer started.
//!
//! Each browser runs in a process group of its own whose leader is the watchdog shell (see
//! `process.rs`), so a group is named by the watchdog's pid. Killing is one `SIGKILL` to the whole
//! group. Reaping: when Chromium's main process dies its helpers are orphaned; the renderer makes
//! this process a child subreaper so they are re-parented here rather than to an init that may not
//! reap (containers without `--init`), and reaps them with `waitpid(-pgid)`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitOptions};

/// One process seen in `/proc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    /// Its pid.
    pub pid: i32,
    /// Its process group.
    pub pgrp: i32,
    /// Whether it has exited and waits to be reaped (a zombie holds no memory and runs nothing).
    pub zombie: bool,
    /// Its resident memory in bytes.
    pub rss: u64,
}

/// The fields of `/proc/PID/stat` that matter here: state, process group and RSS in pages.
fn parse_stat(stat: &str) -> Option<(char, i32, u64)> {
    // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses, so split after the
    // last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let pgrp = fields.get(2)?.parse().ok()?;
    // Field 24 of the whole line (rss) is the 22nd after the comm.
    let rss_pages = fields.get(21)?.parse().ok()?;
    Some((state, pgrp, rss_pages))
}

/// Every process in one of `pgids`, read from `/proc` (processes that vanish meanwhile are
/// skipped).
pub(crate) fn members(pgids: &[i32]) -> Vec<Member> {
    if pgids.is_empty() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let page = rustix::param::page_size() as u64;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, pgrp, rss_pages)) = parse_stat(&stat)
            && pgids.contains(&pgrp)
        {
            found.push(Member {
                pid,
                pgrp,
                zombie: matches!(state, 'Z' | 'X'),
                rss: rss_pages * page,
            });
        }
    }
    found
}

/// Live browser processes among `members`: not zombies, and not the watchdog shell that leads
/// each group.
pub(crate) fn browser_processes(members: &[Member]) -> usize {
    members
        .iter()
        .filter(|m| !m.zombie && m.pid != m.pgrp)
        .count()
}

/// Resident memory of the live processes of group `pgid`, in bytes (the sum of their RSS, which
/// counts pages they share more than once: an upper bound).
pub(crate) fn group_rss(pgid: i32) -> u64 {
    members(&[pgid])
        .iter()
        .filter(|m| !m.zombie)
        .map(|m| m.rss)
        .sum()
}

/// Sends `SIGKILL` to every process of group `pgid`; a group already gone is fine.
pub(crate) fn kill_group(pgid: i32) {
    if let Some(pid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    }
}

/// Makes this process the reaper of its descendants' orphans, once. Without it a killed
/// browser's helpers go to init, which in a bare container is this program's own ancestor or
/// nothing that reaps.
pub(crate) fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    });
}

/// Reaps whatever of group `pgid` has exited and is a child of this process. Returns whether the
/// group is gone: no process left in it, or only zombies that belong to someone else.
fn reap_once(pgid: i32) -> bool {
    let Some(pid) = Pid::from_raw(pgid) else {
        return true;
    };
    let ours_left = loop {
        match rustix::process::waitpgid(pid, WaitOptions::NOHANG) {
            Ok(Some(_)) => continue,
            Ok(None) => break true,
            // ECHILD: no child of ours in that group (any more).
            Err(_) => break false,
        }
    };
    let left = members(&[pgid]);
    left.is_empty() || (!ours_left && left.iter().all(|m| m.zombie))
}

/// Reaps group `pgid` (already killed) until it is gone or `within` has passed; returns whether
/// it is gone.
pub(crate) async fn reap_group(pgid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if reap_once(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One group the renderer started.
#[derive(Debug)]
struct Group {
    /// The browser's profile directory, removed once the group is gone.
    profile: PathBuf,
    /// Set when its owner dropped it without the orderly kill: [`Registry::sweep`] finishes the
    /// job.
    abandoned: bool,
}

/// Every browser process group the renderer started and has not finished cleaning up: the
/// source of the process gauge and the list shutdown kills.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// By process group id (a std mutex: held for map operations only).
    groups: Mutex<HashMap<i32, Group>>,
}

impl Registry {
    /// Locks the map; a poisoned lock still holds a usable map.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Group>> {
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a new group.
    pub(super) fn add(&self, pgid: i32, profile: PathBuf) {
        self.lock().insert(
            pgid,
            Group {
                profile,
                abandoned: false,
            },
        );
    }

    /// Forgets a group that has been killed, reaped and cleaned up.
    pub(super) fn remove(&self, pgid: i32) {
        self.lock().remove(&pgid);
    }

    /// Marks a group its owner killed without waiting (a dropped browser) for [`Self::sweep`].
    pub(super) fn abandon(&self, pgid: i32) {
        if let Some(group) = self.lock().get_mut(&pgid) {
            group.abandoned = true;
        }
    }

    /// The ids of all recorded groups.
    pub(super) fn pgids(&self) -> Vec<i32> {
        self.lock().keys().copied().collect()
    }

    /// Live browser processes of all recorded groups.
    pub(super) fn processes(&self) -> usize {
        browser_processes(&members(&self.pgids()))
    }

    /// Sends `SIGKILL` to every recorded group (shutdown).
    pub(super) fn kill_all(&self) {
        for pgid in self.pgids() {
            kill_group(pgid);
        }
    }

    /// Reaps abandoned groups that are gone by now and removes their profile directories.
    pub(super) fn sweep(&self) {
        let abandoned: Vec<(i32, PathBuf)> = self
            .lock()
            .iter()
            .filter(|(_, g)| g.abandoned)
            .map(|(pgid, g)| (*pgid, g.profile.clone()))
            .collect();
        for (pgid, profile) in abandoned {
            kill_group(pgid);
            if reap_once(pgid) {
                let _ = std::fs::remove_dir_all(&profile);
                self.remove(pgid);
            }
        }
    }
}

impl Drop for Registry {
    /// The last owner is gone (the renderer and all its browsers dropped without a shutdown):
    /// kill what is left and remove the profiles.
    fn drop(&mut self) {
        let groups = std::mem::take(&mut *self.lock());
        for (pgid, group) in groups {
            kill_group(pgid);
            reap_once(pgid);
            let _ = std::fs::remove_dir_all(&group.profile);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "4242 (chro) me (x)) S 1 4200 4200 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 \
                    9 0 12345 987654 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(parse_stat(line), Some(('S', 4200, 321)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) Z"), None);
    }

    #[test]
    fn own_process_is_found_with_memory() {
        let me = rustix::process::getpid().as_raw_pid();
        let group = rustix::process::getpgrp().as_raw_pid();
        let found = members(&[group]);
        let mine = found.iter().find(|m| m.pid == me);
        assert!(mine.is_some_and(|m| !m.zombie && m.rss > 0), "{found:?}");
        assert!(members(&[]).is_empty());
    }

    #[test]
    fn leaders_and_zombies_are_not_browser_processes() {
        let m = |pid, zombie| Member {
            pid,
            pgrp: 10,
            zombie,
            rss: 1,
        };
        assert_eq!(
            browser_processes(&[m(10, false), m(11, false), m(12, true)]),
            1
        );
    }
}
