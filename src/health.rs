//! `/healthz`: is the daemon making progress?
//!
//! Nothing here ticks on its own. Each target task reports where it is ([`Pulse`]): waiting for
//! a due time, checking, or recording a finished run; the reload loop beats each time it comes
//! round. The daemon is stalled when a target is more than [`STALL_AFTER`] past its due time
//! without having started (the scheduler is not getting to run it), when a finished run has
//! been recording its result for that long (metrics, status or the alert store is stuck), or
//! when the reload loop has not come round for that long. A check in flight is not judged: a
//! slow one is bounded by its own timeout, and waiting for fetch slots under load is no stall.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::scheduler::Clock;
use crate::status::TargetKey;

/// How long past due, recording, or without a reload-loop beat before the daemon is stalled.
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(30);

/// Where one target task is; see [`Health`]. Written only by its task.
#[derive(Debug, Default)]
pub struct Pulse {
    /// `millis << 2 | phase` in one word, so that a reader never sees one phase with another's
    /// time.
    state: AtomicI64,
}

/// The phases of [`Pulse::state`].
const IDLE: i64 = 0;
const WAITING: i64 = 1;
const CHECKING: i64 = 2;
const RECORDING: i64 = 3;

impl Pulse {
    fn set(&self, phase: i64, at: DateTime<Utc>) {
        self.state
            .store((at.timestamp_millis() << 2) | phase, Ordering::Relaxed);
    }

    /// Sleeping until `due`.
    pub fn waiting(&self, due: DateTime<Utc>) {
        self.set(WAITING, due);
    }

    /// A check started at `at`.
    pub fn checking(&self, at: DateTime<Utc>) {
        self.set(CHECKING, at);
    }

    /// The check finished at `at`; its result is being recorded.
    pub fn recording(&self, at: DateTime<Utc>) {
        self.set(RECORDING, at);
    }

    /// Nothing to do (the task ended, or its schedule has no future run).
    pub fn idle(&self) {
        self.state.store(IDLE, Ordering::Relaxed);
    }

    /// (phase, millis).
    fn read(&self) -> (i64, i64) {
        let s = self.state.load(Ordering::Relaxed);
        (s & 3, s >> 2)
    }
}

/// The daemon's liveness, as `/healthz` reports it.
#[derive(Debug)]
pub struct Health {
    /// The scheduler's clock (follows tokio's paused time in tests).
    clock: Clock,
    /// How long before a lack of progress is a stall.
    stall_after: chrono::Duration,
    /// Every running target task's pulse.
    tasks: Mutex<HashMap<TargetKey, Arc<Pulse>>>,
    /// Millis of the reload loop's last beat; `i64::MIN` until it first beats (no loop, as in
    /// scheduling tests, is not a stalled one).
    reload_loop: AtomicI64,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(Clock::new(), STALL_AFTER)
    }
}

impl Health {
    /// Health on `clock`, stalled after `stall_after` without progress.
    pub fn new(clock: Clock, stall_after: Duration) -> Health {
        Health {
            clock,
            stall_after: chrono::Duration::from_std(stall_after).unwrap_or(chrono::Duration::MAX),
            tasks: Mutex::default(),
            reload_loop: AtomicI64::new(i64::MIN),
        }
    }

    /// A new pulse for the task of `key` (replacing an earlier task's).
    pub fn track(&self, key: TargetKey) -> Arc<Pulse> {
        let pulse = Arc::new(Pulse::default());
        self.lock().insert(key, Arc::clone(&pulse));
        pulse
    }

    /// The task of `key` is gone.
    pub fn untrack(&self, key: &TargetKey) {
        self.lock().remove(key);
    }

    /// The reload loop came round.
    pub fn reload_loop_beat(&self) {
        self.reload_loop
            .store(self.clock.now().timestamp_millis(), Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TargetKey, Arc<Pulse>>> {
        // std Mutex: held for a map update or one pass over the pulses, never across an await.
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Ok` while the daemon makes progress; otherwise what is stuck.
    pub fn check(&self) -> Result<(), String> {
        let now = self.clock.now().timestamp_millis();
        let limit = self.stall_after.num_milliseconds();
        let beat = self.reload_loop.load(Ordering::Relaxed);
        if beat != i64::MIN && now - beat > limit {
            return Err(format!(
                "reload loop stalled: no progress for {}",
                seconds(now - beat)
            ));
        }
        // The worst stuck task, and how many are stuck.
        let mut worst: Option<(i64, i64, &TargetKey)> = None;
        let mut stuck = 0usize;
        let tasks = self.lock();
        for (key, pulse) in tasks.iter() {
            let (phase, at) = pulse.read();
            if !(phase == WAITING || phase == RECORDING) || now - at <= limit {
                continue;
            }
            stuck += 1;
            if worst.is_none_or(|(_, w, _)| now - at > w) {
                worst = Some((phase, now - at, key));
            }
        }
        let Some((phase, behind, (spec, target))) = worst else {
            return Ok(());
        };
        let what = if phase == WAITING {
            format!("was due {} ago and has not started", seconds(behind))
        } else {
            format!("has been recording its result for {}", seconds(behind))
        };
        let others = match stuck - 1 {
            0 => String::new(),
            1 => " (1 more target is stuck)".to_string(),
            n => format!(" ({n} more targets are stuck)"),
        };
        Err(format!("scheduler stalled: {spec}/{target} {what}{others}"))
    }
}

/// `12s` (whole seconds, rounded down).
fn seconds(ms: i64) -> String {
    format!("{}s", ms / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str) -> TargetKey {
        ("s".to_string(), t.to_string())
    }

    #[tokio::test(start_paused = true)]
    async fn overdue_or_stuck_recording_tasks_and_a_silent_reload_loop_are_stalls() {
        let clock = Clock::new();
        let health = Health::new(clock, Duration::from_secs(30));
        assert_eq!(health.check(), Ok(()));
        let a = health.track(key("a"));
        let b = health.track(key("b"));
        a.waiting(clock.now() + chrono::Duration::seconds(10));
        b.checking(clock.now());
        tokio::time::advance(Duration::from_secs(40)).await;
        health.reload_loop_beat();
        // a is 30 s past due: not yet. b has been checking for 40 s: never judged.
        assert_eq!(health.check(), Ok(()), "30 s is the limit, not a stall");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(
            health.check(),
            Err("scheduler stalled: s/a was due 35s ago and has not started".into())
        );
        b.recording(clock.now() - chrono::Duration::seconds(50));
        assert_eq!(
            health.check(),
            Err("scheduler stalled: s/b has been recording its result for 50s (1 more target is stuck)".into())
        );
        // The tasks move on; a removed task no longer counts.
        a.checking(clock.now());
        health.untrack(&key("b"));
        assert_eq!(health.check(), Ok(()));
        b.idle();
        tokio::time::advance(Duration::from_secs(26)).await;
        assert_eq!(
            health.check(),
            Err("reload loop stalled: no progress for 31s".into())
        );
        health.reload_loop_beat();
        assert_eq!(health.check(), Ok(()));
    }
}
