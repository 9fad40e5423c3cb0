//! Roll-ups: time a result held, split over UTC hours and days, and which roll-ups answer a
//! range of time. Pure arithmetic on Unix milliseconds; [`super::ingest`] writes what this
//! computes and [`super::query`] reads it back.

use super::{Class, DAY_MS, HOUR_MS, HOURLY_KEEP_MS};

/// A roll-up tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// UTC hours, kept 90 days.
    Hourly,
    /// UTC days, kept 2 years.
    Daily,
}

/// Both tiers, in the order they are written.
pub const TIERS: [Tier; 2] = [Tier::Hourly, Tier::Daily];

impl Tier {
    /// Length of one bucket.
    pub fn len_ms(self) -> i64 {
        match self {
            Tier::Hourly => HOUR_MS,
            Tier::Daily => DAY_MS,
        }
    }

    /// Its table.
    pub fn table(self) -> &'static str {
        match self {
            Tier::Hourly => "hourly",
            Tier::Daily => "daily",
        }
    }

    /// The start of the bucket holding `t`.
    pub fn bucket(self, t: i64) -> i64 {
        floor(t, self.len_ms())
    }

    /// `1h` or `1d`, as a series' step is shown.
    pub fn step(self) -> &'static str {
        match self {
            Tier::Hourly => "1h",
            Tier::Daily => "1d",
        }
    }
}

/// `t` rounded down to a multiple of `unit`.
pub fn floor(t: i64, unit: i64) -> i64 {
    t.div_euclid(unit) * unit
}

/// `t` rounded up to a multiple of `unit`.
pub fn ceil(t: i64, unit: i64) -> i64 {
    let f = floor(t, unit);
    if f == t { t } else { f.saturating_add(unit) }
}

/// Time and runs of one target in one bucket (or summed over many).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Time up.
    pub up_ms: i64,
    /// Time down.
    pub down_ms: i64,
    /// Time in maintenance (left out of uptime).
    pub maint_ms: i64,
    /// Runs started.
    pub runs: i64,
    /// Runs that were down (outside maintenance).
    pub down_runs: i64,
}

impl Tally {
    /// Add `ms` of time counted as `class`.
    pub fn add_time(&mut self, class: Class, ms: i64) {
        match class {
            Class::Up => self.up_ms += ms,
            Class::Down => self.down_ms += ms,
            Class::Maintenance => self.maint_ms += ms,
        }
    }

    /// Add everything of `other`.
    pub fn add(&mut self, other: &Tally) {
        self.up_ms += other.up_ms;
        self.down_ms += other.down_ms;
        self.maint_ms += other.maint_ms;
        self.runs += other.runs;
        self.down_runs += other.down_runs;
    }

    /// Up time as a percentage of the time known to be up or down; `None` when none is known.
    pub fn uptime(&self) -> Option<f64> {
        let known = self.up_ms + self.down_ms;
        (known > 0).then(|| 100.0 * self.up_ms as f64 / known as f64)
    }

    /// Time in `span_ms` that is neither up, down nor maintenance.
    pub fn unknown_ms(&self, span_ms: i64) -> i64 {
        (span_ms - self.up_ms - self.down_ms - self.maint_ms).max(0)
    }
}

/// Where a result stops holding: at the next run's start, at most `cap_ms` after its own.
pub fn segment_end(start: i64, cap_ms: i64, next_start: i64) -> i64 {
    next_start.min(start.saturating_add(cap_ms))
}

/// `[start, end)` split over the buckets of `tier`: (bucket start, milliseconds in it).
pub fn split(tier: Tier, start: i64, end: i64) -> impl Iterator<Item = (i64, i64)> {
    let len = tier.len_ms();
    let mut at = start;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let bucket = floor(at, len);
        let stop = end.min(bucket + len);
        let piece = (bucket, stop - at);
        at = stop;
        Some(piece)
    })
}

/// Milliseconds of `[a0, a1)` inside `[b0, b1)`.
pub fn overlap(a0: i64, a1: i64, b0: i64, b1: i64) -> i64 {
    (a1.min(b1) - a0.max(b0)).max(0)
}

/// Which roll-ups answer a range, and the range they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The start actually counted (rounded down to an hour, or to a day when hourly roll-ups
    /// of that time are gone).
    pub from: i64,
    /// The end actually counted (rounded up likewise).
    pub to: i64,
    /// Contiguous pieces `[start, end)` and the tier that holds each.
    pub pieces: Vec<(Tier, i64, i64)>,
}

impl Plan {
    /// Does the bucket of `tier` starting at `bucket` count in this plan?
    pub fn counts(&self, tier: Tier, bucket: i64) -> bool {
        self.pieces
            .iter()
            .any(|&(t, a, b)| t == tier && a <= bucket && bucket < b)
    }
}

/// The pieces for `[from, to)` at `now`: whole days from daily roll-ups, the hours at either
/// end from hourly ones while those are kept (90 days), else days throughout.
pub fn plan(from: i64, to: i64, now: i64) -> Plan {
    let hourly_since = ceil(now - HOURLY_KEEP_MS, HOUR_MS);
    let mut pieces = Vec::new();
    let mut push = |tier, a: i64, b: i64| {
        if a < b {
            pieces.push((tier, a, b));
        }
    };
    let (a, b);
    if from >= hourly_since {
        a = floor(from, HOUR_MS);
        b = ceil(to, HOUR_MS).max(a);
        let (d0, d1) = (ceil(a, DAY_MS), floor(b, DAY_MS));
        if d0 < d1 {
            push(Tier::Hourly, a, d0);
            push(Tier::Daily, d0, d1);
            push(Tier::Hourly, d1, b);
        } else {
            push(Tier::Hourly, a, b);
        }
    } else {
        a = floor(from, DAY_MS);
        let last_day = floor(ceil(to, HOUR_MS), DAY_MS).max(a);
        if last_day >= hourly_since {
            b = ceil(to, HOUR_MS).max(a);
            push(Tier::Daily, a, last_day);
            push(Tier::Hourly, last_day, b);
        } else {
            b = ceil(to, DAY_MS).max(a);
            push(Tier::Daily, a, b);
        }
    }
    Plan {
        from: a,
        to: b,
        pieces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;
    const D: i64 = DAY_MS;

    #[test]
    fn a_segment_is_split_at_hour_and_day_boundaries() {
        let start = D - H - 30 * 60_000; // 22:30
        let end = D + 15 * 60_000; // next day 00:15
        let hours: Vec<_> = split(Tier::Hourly, start, end).collect();
        assert_eq!(
            hours,
            [(D - 2 * H, 30 * 60_000), (D - H, H), (D, 15 * 60_000)]
        );
        let days: Vec<_> = split(Tier::Daily, start, end).collect();
        assert_eq!(days, [(0, 90 * 60_000), (D, 15 * 60_000)]);
        assert_eq!(split(Tier::Hourly, 5, 5).count(), 0);
        assert_eq!(segment_end(0, 120_000, 60_000), 60_000);
        assert_eq!(segment_end(0, 120_000, 600_000), 120_000);
    }

    #[test]
    fn plans_use_days_in_the_middle_and_hours_at_the_ends() {
        let now = 200 * D + 10 * H + 5;
        // The last 24 h: hours of yesterday from 10:00, then today's hours up to 11:00.
        let p = plan(now - D, now, now);
        assert_eq!((p.from, p.to), (199 * D + 10 * H, 200 * D + 11 * H));
        assert_eq!(
            p.pieces,
            [(Tier::Hourly, 199 * D + 10 * H, 200 * D + 11 * H)]
        );
        // 30 d: hours, whole days, hours.
        let p = plan(now - 30 * D, now, now);
        assert_eq!(
            p.pieces,
            [
                (Tier::Hourly, 170 * D + 10 * H, 171 * D),
                (Tier::Daily, 171 * D, 200 * D),
                (Tier::Hourly, 200 * D, 200 * D + 11 * H)
            ]
        );
        // Within one hour.
        let p = plan(now - 1, now, now);
        assert_eq!(
            p.pieces,
            [(Tier::Hourly, 200 * D + 10 * H, 200 * D + 11 * H)]
        );
        // Older than the hourly roll-ups: days, and today's hours.
        let p = plan(now - 100 * D, now, now);
        assert_eq!(
            p.pieces,
            [
                (Tier::Daily, 100 * D, 200 * D),
                (Tier::Hourly, 200 * D, 200 * D + 11 * H)
            ]
        );
        // Entirely older: days only.
        let p = plan(10 * D + 5, 20 * D + 5, now);
        assert_eq!(p.pieces, [(Tier::Daily, 10 * D, 21 * D)]);
    }

    #[test]
    fn uptime_leaves_unknown_and_maintenance_out() {
        let mut t = Tally::default();
        assert_eq!(t.uptime(), None);
        t.add_time(Class::Up, 900);
        t.add_time(Class::Down, 100);
        t.add_time(Class::Maintenance, 5000);
        assert_eq!(t.uptime(), Some(90.0));
        assert_eq!(t.unknown_ms(10_000), 4000);
    }
}
