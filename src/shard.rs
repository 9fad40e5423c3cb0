//! Sharding: `dcrawl run --shard I/N` checks only the targets of shard `I` of `N`.
//!
//! Every process loads and validates the whole configuration, so `validate`, a reload and an
//! invalid file behave the same in every shard; each then keeps only its own targets.
//!
//! Which shard owns a target depends on nothing but its id `spec/target` and `N`, the same in
//! every process, platform and dcrawl version:
//!
//! 1. the key is the 64-bit FNV-1a hash of the UTF-8 bytes of `spec/target` (Fowler, Noll, Vo;
//!    offset basis `0xcbf29ce484222325`, prime `0x100000001b3`, as in
//!    <http://www.isthe.com/chongo/tech/comp/fnv/>): `stable_hash`, which also spreads targets
//!    over their schedule. Not std's `DefaultHasher`, whose output may change between Rust
//!    releases;
//! 2. the key goes to a shard by the jump consistent hash of Lamping and Veach, "A Fast, Minimal
//!    Memory, Consistent Hash Algorithm" (2014, <https://arxiv.org/abs/1406.2294>). Going from `N`
//!    to `N + 1` shards moves only about `1 / (N + 1)` of the targets, all of them into the new
//!    shard; none moves between the old ones.
//!
//! A crawl target is one target: its pages are never split between shards.
//!
//! Besides `I/N`, the index may come from a Kubernetes StatefulSet pod name (`dcrawl-2` has
//! ordinal 2): `auto/N` reads it from `HOSTNAME` (a pod's host name is its name), and
//! `NAME-ORDINAL/N` takes it from the name given, e.g. `$(POD_NAME)/3`.

use std::fmt;
use std::str::FromStr;

use crate::model::Config;
use crate::scheduler::stable_hash;

/// One shard of several: this process checks the targets of shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// 0-based, below `count`.
    index: u32,
    /// At least 1.
    count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

/// Why a `--shard` value is not usable. The messages do not repeat the value: clap's
/// `invalid value '3/3' for '--shard <I/N>': ...` already shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not of the form `I/N`.
    #[error(
        "expected I/N with 0 <= I < N (e.g. 1/3), auto/N (the StatefulSet ordinal from HOSTNAME) or POD-ORDINAL/N (e.g. dcrawl-2/3)"
    )]
    Syntax,
    /// `N` is not a whole number of at least 1.
    #[error("the shard count N must be a whole number of at least 1")]
    Count,
    /// `I` is not below `N`.
    #[error(
        "shard index {index} is not below the shard count {count}: shards are numbered 0 to {last}",
        last = count - 1
    )]
    Index {
        /// The index.
        index: u64,
        /// The count.
        count: u32,
    },
    /// `auto/N` without a host name.
    #[error("auto/N takes the StatefulSet ordinal from HOSTNAME, which is not set")]
    NoHostname,
    /// The pod name does not end in `-ORDINAL`.
    #[error(
        "cannot take a StatefulSet ordinal from {name:?}: expected a pod name ending in -NUMBER, like dcrawl-2"
    )]
    NoOrdinal {
        /// The name without an ordinal.
        name: String,
    },
    /// The pod's ordinal is not below `N`.
    #[error(
        "pod {name:?} has ordinal {ordinal}, not below the shard count {count}: set N to the StatefulSet's replicas"
    )]
    OrdinalRange {
        /// The pod name.
        name: String,
        /// Its ordinal.
        ordinal: u64,
        /// The count.
        count: u32,
    },
}

impl Shard {
    /// Not sharded: one shard that owns every target.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// 0-based index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// Number of shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Parse `I/N`, `auto/N` or `POD-ORDINAL/N`; `auto` reads this machine's host name.
    pub fn parse(given: &str) -> Result<Shard, ShardError> {
        Shard::parse_with(given, &host_name)
    }

    /// [`Shard::parse`] with the host name from `host_name` (for tests).
    pub fn parse_with(
        given: &str,
        host_name: &dyn Fn() -> Option<String>,
    ) -> Result<Shard, ShardError> {
        let (left, right) = given.split_once('/').ok_or(ShardError::Syntax)?;
        let (left, right) = (left.trim(), right.trim());
        let count = digits(right)
            .filter(|&n| n >= 1)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(ShardError::Count)?;
        if let Some(index) = digits(left) {
            return u32::try_from(index)
                .ok()
                .and_then(|i| Shard::new(i, count))
                .ok_or(ShardError::Index { index, count });
        }
        let name = if left.eq_ignore_ascii_case("auto") {
            host_name()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .ok_or(ShardError::NoHostname)?
        } else if left.contains('-') && left.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            left.to_string()
        } else {
            return Err(ShardError::Syntax);
        };
        let Some(ordinal) = ordinal(&name) else {
            return Err(ShardError::NoOrdinal { name });
        };
        u32::try_from(ordinal)
            .ok()
            .and_then(|i| Shard::new(i, count))
            .ok_or(ShardError::OrdinalRange {
                name,
                ordinal,
                count,
            })
    }

    /// Does this shard check the target `spec/target`?
    pub fn owns(self, spec: &str, target: &str) -> bool {
        self.count == 1 || bucket(spec, target, self.count) == self.index
    }

    /// `config` with only this shard's targets; specs left without a target are dropped.
    pub fn select(self, config: &Config) -> Config {
        if self.count == 1 {
            return config.clone();
        }
        let specs = config
            .specs
            .iter()
            .filter_map(|spec| {
                let mut kept = spec.clone();
                kept.targets.retain(|t| self.owns(&t.spec, &t.name));
                (!kept.targets.is_empty()).then_some(kept)
            })
            .collect();
        Config { specs }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        Shard::parse(s)
    }
}

/// What a shard took of a configuration: shown in the log, the status page and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    /// The shard.
    pub shard: Shard,
    /// Targets this shard checks.
    pub owned: usize,
    /// Targets in the whole configuration.
    pub total: usize,
}

impl Share {
    /// The share of a shard that is the only one (`shard.count() == 1`): every target.
    pub fn whole(shard: Shard, config: &Config) -> Share {
        let total = config.targets().count();
        Share {
            shard,
            owned: total,
            total,
        }
    }

    /// The share of `shard` in `config`, and the configuration it keeps.
    pub fn of(shard: Shard, config: &Config) -> (Share, Config) {
        let kept = shard.select(config);
        let share = Share {
            shard,
            owned: kept.targets().count(),
            total: config.targets().count(),
        };
        (share, kept)
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shard {}: {} of {} targets",
            self.shard, self.owned, self.total
        )
    }
}

/// The shard (0-based, below `count`) that owns `spec/target` when there are `count` shards.
pub fn bucket(spec: &str, target: &str, count: u32) -> u32 {
    jump_consistent_hash(stable_hash(&format!("{spec}/{target}")), count)
}

/// Lamping and Veach's jump consistent hash: the bucket in `0..buckets` of `key` (0 when
/// `buckets` is 0). A transcription of the paper's reference code. Its double arithmetic is
/// correctly rounded IEEE 754 on every platform with SSE2 or an FPU of its own (all of Rust's
/// tier-1 targets), so the result is the same everywhere; tests pin reference values.
pub fn jump_consistent_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // `as` saturates; the quotient is at most 2^31 and `b + 1` at most 2^32.
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(b.max(0)).unwrap_or(0)
}

/// A string of ASCII digits as a number (no sign, no spaces); `None` otherwise or on overflow.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The ordinal of a StatefulSet pod name: the number after its last `-` (`dcrawl-2` -> 2).
fn ordinal(name: &str) -> Option<u64> {
    let (prefix, number) = name.rsplit_once('-')?;
    if prefix.is_empty() {
        return None;
    }
    digits(number)
}

/// This machine's host name: `HOSTNAME` (set in every container; a pod's is its name), else the
/// kernel's (Linux), for hosts where the shell does not export it.
fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
}

#[cfg(test)]
mod tests;
