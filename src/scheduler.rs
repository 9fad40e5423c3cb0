//! When each target runs: due times from its schedule plus a stable per-target offset, so that
//! targets sharing a schedule are spread over the interval instead of firing in one burst.
//!
//! Due times are computed from the wall clock each time (never by accumulating sleeps), so the
//! schedule does not drift however long the daemon runs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::Schedule;

/// The largest spread applied to cron schedules: a cron target runs within this long after its
/// cron time (or within its period, if shorter).
pub(crate) const MAX_CRON_SPREAD: Duration = Duration::from_secs(60);

/// Wall-clock time derived from tokio's monotonic clock: it never jumps when the system clock is
/// stepped, and in tests it follows tokio's paused time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall time at creation.
    wall0: DateTime<Utc>,
    /// Monotonic time at creation.
    inst0: tokio::time::Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock starting at the current wall time.
    pub fn new() -> Clock {
        Clock::starting_at(Utc::now())
    }

    /// A clock that reads `wall` now (tests on tokio's paused time start it at a chosen date).
    pub fn starting_at(wall: DateTime<Utc>) -> Clock {
        Clock {
            wall0: wall,
            inst0: tokio::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.inst0.elapsed()).unwrap_or_default();
        self.wall0 + elapsed
    }

    /// The monotonic instant at which wall time `t` is reached (now if it is past).
    pub fn instant_at(&self, t: DateTime<Utc>) -> tokio::time::Instant {
        let wait = (t - self.now()).to_std().unwrap_or_default();
        tokio::time::Instant::now() + wait
    }
}

/// A stable 64-bit hash of a target id (FNV-1a): the same id gets the same offset in every
/// process and version, which keeps replicas and restarts in step.
pub(crate) fn stable_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A target's place in time: its schedule and its offset within the schedule's period.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    /// The schedule.
    schedule: Schedule,
    /// Stable offset in `[0, spread)`.
    offset: chrono::Duration,
}

impl Timing {
    /// The timing of target `id` (e.g. `shop/home`) on `schedule`.
    pub(crate) fn new(schedule: &Schedule, id: &str, now: DateTime<Utc>) -> Timing {
        let spread = match schedule.interval() {
            Some(every) => every,
            None => cron_period(schedule, now).map_or(MAX_CRON_SPREAD, |p| p.min(MAX_CRON_SPREAD)),
        };
        let spread_ms = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX).max(1);
        let offset_ms = stable_hash(id) % spread_ms;
        let offset = chrono::Duration::milliseconds(i64::try_from(offset_ms).unwrap_or(0));
        Timing {
            schedule: schedule.clone(),
            offset,
        }
    }

    /// The offset within the period.
    #[cfg(test)]
    pub(crate) fn offset(&self) -> Duration {
        self.offset.to_std().unwrap_or_default()
    }

    /// The first due time strictly after `after`.
    pub(crate) fn next_due(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.schedule.interval() {
            Some(every) => {
                // Due times are epoch + offset + k * every.
                let every_ms = i64::try_from(every.as_millis()).ok()?.max(1);
                let since = after.timestamp_millis() - self.offset.num_milliseconds();
                let k = since.div_euclid(every_ms) + 1;
                DateTime::from_timestamp_millis(
                    k.checked_mul(every_ms)? + self.offset.num_milliseconds(),
                )
            }
            None => {
                let base = self
                    .schedule
                    .next_after(after.checked_sub_signed(self.offset)?)?;
                base.checked_add_signed(self.offset)
            }
        }
    }

    /// How many due times fall in `(from, to]`, capped at `cap` (for counting skipped runs).
    pub(crate) fn count_due_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: u64,
    ) -> u64 {
        let mut n = 0;
        let mut t = from;
        while n < cap {
            match self.next_due(t) {
                Some(next) if next <= to => {
                    n += 1;
                    t = next;
                }
                _ => break,
            }
        }
        n
    }
}

/// The gap between two consecutive occurrences of a cron schedule after `now`.
fn cron_period(schedule: &Schedule, now: DateTime<Utc>) -> Option<Duration> {
    let a = schedule.next_after(now)?;
    let b = schedule.next_after(a)?;
    (b - a).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn every_is_aligned_and_offset_stably() {
        let s = Schedule::parse("@every 1m", None).unwrap();
        let now = at("2026-11-25T10:00:30Z");
        let t = Timing::new(&s, "shop/home", now);
        assert_eq!(
            t.offset(),
            Timing::new(&s, "shop/home", at("2030-01-01T00:00:00Z")).offset()
        );
        assert!(t.offset() < Duration::from_secs(60));
        let due = t.next_due(now).unwrap();
        assert!(due > now && due <= now + chrono::Duration::seconds(60));
        // Consecutive due times are exactly one interval apart: no drift.
        let next = t.next_due(due).unwrap();
        assert_eq!(next - due, chrono::Duration::seconds(60));
        assert_eq!(
            (due.timestamp_millis() - t.offset().as_millis() as i64) % 60_000,
            0
        );
    }

    #[test]
    fn many_targets_on_one_schedule_are_spread() {
        let s = Schedule::parse("@every 1m", None).unwrap();
        let now = at("2026-11-25T10:00:00Z");
        let mut per_second = [0u32; 60];
        for i in 0..10_000 {
            let t = Timing::new(&s, &format!("spec/t{i}"), now);
            per_second[t.offset().as_secs() as usize] += 1;
        }
        // 10,000 targets over 60 s: about 167 per second; none is a burst.
        let max = per_second.iter().max().copied().unwrap();
        let min = per_second.iter().min().copied().unwrap();
        assert!(max < 250 && min > 100, "min {min} max {max}");
    }

    #[test]
    fn cron_targets_run_within_the_spread_after_cron_time() {
        let s = Schedule::parse("*/5 * * * *", None).unwrap();
        let now = at("2026-11-25T10:01:00Z");
        let t = Timing::new(&s, "api/health", now);
        assert!(t.offset() < MAX_CRON_SPREAD);
        let due = t.next_due(now).unwrap();
        let cron_time = at("2026-11-25T10:05:00Z");
        assert_eq!(
            due,
            cron_time + chrono::Duration::from_std(t.offset()).unwrap()
        );
        let secs = Schedule::parse("*/10 * * * * *", None).unwrap();
        assert!(Timing::new(&secs, "a/b", now).offset() < Duration::from_secs(10));
    }

    #[test]
    fn counts_skipped_ticks() {
        let s = Schedule::parse("@every 10s", None).unwrap();
        let t = Timing::new(&s, "x/y", at("2026-01-01T00:00:00Z"));
        let due = t.next_due(at("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(
            t.count_due_between(due, due + chrono::Duration::seconds(35), 100),
            3
        );
        assert_eq!(
            t.count_due_between(due, due + chrono::Duration::seconds(5), 100),
            0
        );
        assert_eq!(
            t.count_due_between(due, due + chrono::Duration::days(1), 5),
            5
        );
    }
}
