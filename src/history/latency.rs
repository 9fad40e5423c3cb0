//! A mergeable latency histogram: what an hourly or daily roll-up keeps of its runs' durations,
//! so that percentiles over a month come from 720 small histograms instead of 43,200 runs.
//!
//! Buckets grow by 2^(1/8) (about 9 %) from 1 µs to 2^30 µs (about 18 minutes); a quantile is
//! the geometric middle of its bucket, within ±4.5 % of the true value. Stored sparse: one
//! byte of bucket index and a LEB128 count per non-empty bucket, so a steady target's hour is
//! a few bytes.

/// Buckets per doubling.
const PER_DOUBLING: f64 = 8.0;
/// The last bucket (everything from 2^30 µs up).
const LAST: u8 = 240;

/// Counts per bucket, sorted by bucket index, no zero counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// (bucket index, count), sorted by index.
    buckets: Vec<(u8, u64)>,
}

/// The bucket of a duration in microseconds: 0 below 1 µs, then `floor(8 log2 us) + 1`.
fn bucket_of(micros: u64) -> u8 {
    if micros == 0 {
        return 0;
    }
    let i = (PER_DOUBLING * (micros as f64).log2()).floor() + 1.0;
    if i >= f64::from(LAST) {
        LAST
    } else {
        // In 1..LAST: the cast cannot truncate.
        i as u8
    }
}

/// The value a bucket stands for, in seconds: the geometric middle of its bounds.
fn value_of(bucket: u8) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    let low = (f64::from(bucket) - 1.0) / PER_DOUBLING;
    2f64.powf(low + 0.5 / PER_DOUBLING) / 1e6
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram::default()
    }

    /// Count one duration.
    pub fn add(&mut self, d: std::time::Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.add_bucket(bucket_of(micros), 1);
    }

    fn add_bucket(&mut self, bucket: u8, n: u64) {
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 += n,
            Err(i) => self.buckets.insert(i, (bucket, n)),
        }
    }

    /// Add every count of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for &(b, n) in &other.buckets {
            self.add_bucket(b, n);
        }
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|(_, n)| n).sum()
    }

    /// Nothing counted?
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The `q`-quantile (0 < q <= 1) in seconds, `None` when empty: the value of the bucket
    /// holding the `ceil(q * count)`-th smallest duration.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(value_of(b));
            }
        }
        self.buckets.last().map(|&(b, _)| value_of(b))
    }

    /// The stored form: per non-empty bucket its index byte and a LEB128 count.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buckets.len() * 2);
        for &(b, mut n) in &self.buckets {
            out.push(b);
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out
    }

    /// Read the stored form back; a truncated or disordered blob yields what could be read.
    pub fn decode(bytes: &[u8]) -> Histogram {
        let mut h = Histogram::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            let (mut n, mut shift) = (0u64, 0u32);
            while i < bytes.len() {
                let byte = bytes[i];
                i += 1;
                if shift < 64 {
                    n |= u64::from(byte & 0x7f) << shift;
                }
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            if n > 0 {
                h.add_bucket(b.min(LAST), n);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quantiles_are_within_five_percent() {
        let mut h = Histogram::new();
        for i in 1..=1000 {
            h.add(ms(i));
        }
        for (q, want) in [(0.5, 0.5), (0.95, 0.95), (0.99, 0.99), (1.0, 1.0)] {
            let got = h.quantile(q).unwrap();
            assert!((got - want).abs() / want < 0.05, "q{q}: {got} vs {want}");
        }
        assert_eq!(Histogram::new().quantile(0.5), None);
    }

    #[test]
    fn merging_equals_counting_together() {
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        for i in 0..50 {
            a.add(ms(i * 3));
            all.add(ms(i * 3));
            b.add(ms(400 + i));
            all.add(ms(400 + i));
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.count(), 100);
    }

    #[test]
    fn stored_form_round_trips_and_is_small() {
        let mut h = Histogram::new();
        for _ in 0..60 {
            h.add(ms(12));
        }
        h.add(Duration::ZERO);
        h.add(Duration::from_secs(100_000));
        for _ in 0..300 {
            h.add(ms(13));
        }
        let bytes = h.encode();
        assert!(bytes.len() <= 10, "{bytes:?}");
        assert_eq!(Histogram::decode(&bytes), h);
        // Garbage never panics.
        let _ = Histogram::decode(&[0xff, 0xff, 0xff]);
        let _ = Histogram::decode(&[
            250, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1,
        ]);
    }
}
