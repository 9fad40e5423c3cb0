//! The series every target has, kept as one entry per target instead of one per family.
//!
//! Eleven families of `{spec, target}` series each hold a hash-map entry, two label strings and
//! a separately allocated metric per target: about 1.5 KB a target, 15 MB at 10,000 targets
//! (heaptrack). Here a target's values sit in one [`Series`] under its names, and a
//! [`Collector`] writes them out family by family, through the same encoder the families use,
//! so the exposition has the same lines (these families now come after the registered ones).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::histogram::exponential_buckets;

use crate::result::Outcome;

/// Buckets of the duration histograms: 5 ms .. ~41 s in 14 doubling buckets, then `+Inf`.
const BUCKETS: usize = 15;

/// A duration histogram: a count per bucket (not cumulative) and the sum.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Hist {
    counts: [u64; BUCKETS],
    sum: f64,
}

impl Hist {
    /// Count `v` in the first bucket whose bound is at least `v` (`NaN` in `+Inf`), as
    /// prometheus-client's histogram does.
    pub(super) fn observe(&mut self, bounds: &[f64; BUCKETS], v: f64) {
        self.sum += v;
        let i = if v.is_nan() {
            BUCKETS - 1
        } else {
            bounds.iter().position(|b| *b >= v).unwrap_or(BUCKETS - 1)
        };
        self.counts[i] += 1;
    }
}

/// Label values a target has used in the families keyed by more than its names, so that its
/// series can be removed with it.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Assertion ids that have failed at least once.
    pub(super) assertions: BTreeSet<String>,
    /// Extracted value names the last run set.
    pub(super) extracted: BTreeSet<String>,
    /// Crawl page result labels that were set.
    pub(super) crawl: BTreeSet<String>,
    /// Flow step names that were recorded.
    pub(super) steps: BTreeSet<String>,
}

/// One target's values; `None` where its series does not exist (yet, or any more).
#[derive(Debug, Default)]
pub(super) struct Series {
    pub(super) success: Option<i64>,
    pub(super) duration: Option<Hist>,
    /// Runs by result, in the order of [`Outcome::ALL`].
    pub(super) checks: [Option<u64>; 4],
    pub(super) status: Option<i64>,
    pub(super) size: Option<i64>,
    pub(super) last_run: Option<f64>,
    pub(super) tls_expiry: Option<i64>,
    /// Boxed: only rendered targets have one.
    pub(super) render: Option<Box<Hist>>,
    pub(super) skipped: Option<u64>,
    pub(super) alert_firing: Option<i64>,
    pub(super) maintenance: Option<i64>,
    /// Boxed: most targets never fail an assertion, extract, crawl or run steps.
    pub(super) seen: Option<Box<Seen>>,
}

/// A spec's targets' [`Series`], by target name.
type SpecSeries = HashMap<Box<str>, Mutex<Series>>;

/// Every target's [`Series`], by spec and target name.
#[derive(Debug)]
pub(super) struct Targets {
    by_spec: RwLock<HashMap<Box<str>, SpecSeries>>,
    bounds: [f64; BUCKETS],
}

impl Default for Targets {
    fn default() -> Self {
        let mut bounds = [f64::INFINITY; BUCKETS];
        for (b, v) in bounds.iter_mut().zip(exponential_buckets(0.005, 2.0, 14)) {
            *b = v;
        }
        Targets {
            by_spec: RwLock::default(),
            bounds,
        }
    }
}

impl Targets {
    /// Run `f` on the target's series, created empty if it has none.
    pub(super) fn with<R>(&self, spec: &str, target: &str, f: impl FnOnce(&mut Series) -> R) -> R {
        {
            let map = self.by_spec.read().unwrap_or_else(|p| p.into_inner());
            if let Some(series) = map.get(spec).and_then(|t| t.get(target)) {
                return f(&mut series.lock().unwrap_or_else(|p| p.into_inner()));
            }
        }
        // A target's first series: the names are copied only on this path.
        let mut map = self.by_spec.write().unwrap_or_else(|p| p.into_inner());
        let series = map
            .entry(spec.into())
            .or_default()
            .entry(target.into())
            .or_default();
        f(series.get_mut().unwrap_or_else(|p| p.into_inner()))
    }

    /// The duration histograms' bucket bounds.
    pub(super) fn bounds(&self) -> &[f64; BUCKETS] {
        &self.bounds
    }

    /// Remove the target's series, giving back what it had seen.
    pub(super) fn remove(&self, spec: &str, target: &str) -> Option<Seen> {
        let mut map = self.by_spec.write().unwrap_or_else(|p| p.into_inner());
        let targets = map.get_mut(spec)?;
        let series = targets.remove(target);
        if targets.is_empty() {
            map.remove(spec);
        }
        series
            .and_then(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()).seen)
            .map(|seen| *seen)
    }

    /// Encode a family of gauges, one per target where `value` gives one.
    fn gauges<V: prometheus_client::encoding::EncodeGaugeValue>(
        &self,
        encoder: &mut DescriptorEncoder<'_>,
        family: (&str, &str, MetricType),
        value: impl Fn(&Series) -> Option<V>,
    ) -> std::fmt::Result {
        self.family(encoder, family, value, |spec, target, v, f| {
            f.gauge(&names(spec, target), v)
        })
    }

    /// Encode one family: its descriptor, then each target's series where `value` gives one.
    fn family<T>(
        &self,
        encoder: &mut DescriptorEncoder<'_>,
        (name, help, kind): (&str, &str, MetricType),
        value: impl Fn(&Series) -> Option<T>,
        mut write: impl FnMut(&str, &str, T, &mut FamilyWriter<'_, '_>) -> std::fmt::Result,
    ) -> std::fmt::Result {
        let map = self.by_spec.read().unwrap_or_else(|p| p.into_inner());
        let lock =
            |series: &Mutex<Series>| value(&series.lock().unwrap_or_else(|p| p.into_inner()));
        // A family without series is left out, as prometheus-client leaves out an empty one.
        if !map
            .values()
            .flat_map(HashMap::values)
            .any(|s| lock(s).is_some())
        {
            return Ok(());
        }
        // `Registry::register` ends a help text with a period; so does this.
        let help = format!("{help}.");
        let mut metric = encoder.encode_descriptor(name, &help, None, kind)?;
        for (spec, targets) in map.iter() {
            for (target, series) in targets {
                if let Some(v) = lock(series) {
                    write(spec, target, v, &mut FamilyWriter(&mut metric))?;
                }
            }
        }
        Ok(())
    }
}

/// The metric encoder of one family, for its series.
pub(super) struct FamilyWriter<'e, 'm>(&'e mut prometheus_client::encoding::MetricEncoder<'m>);

impl FamilyWriter<'_, '_> {
    fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
        &mut self,
        labels: &[(&str, &str)],
        v: V,
    ) -> std::fmt::Result {
        self.0.encode_family(&labels)?.encode_gauge(&v)
    }

    fn counter(&mut self, labels: &[(&str, &str)], v: u64) -> std::fmt::Result {
        self.0
            .encode_family(&labels)?
            .encode_counter::<NoLabelSet, _, u64>(&v, None)
    }

    fn histogram(
        &mut self,
        labels: &[(&str, &str)],
        h: &Hist,
        bounds: &[f64; BUCKETS],
    ) -> std::fmt::Result {
        let mut buckets = [(0.0, 0); BUCKETS];
        for (b, (bound, count)) in buckets.iter_mut().zip(bounds.iter().zip(h.counts)) {
            *b = (*bound, count);
        }
        let count = h.counts.iter().sum();
        self.0
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(h.sum, count, &buckets, None)
    }
}

/// A family: (name, help, type).
type Family = (&'static str, &'static str, MetricType);

pub(super) const SUCCESS: Family = (
    "dcrawl_check_success",
    "1 if the target's last check passed (success or warning), else 0",
    MetricType::Gauge,
);
pub(super) const DURATION: Family = (
    "dcrawl_check_duration_seconds",
    "Time to the full response body of each check",
    MetricType::Histogram,
);
pub(super) const CHECKS: Family = (
    "dcrawl_checks",
    "Check runs by result (success, warning, failure, error)",
    MetricType::Counter,
);
pub(super) const STATUS: Family = (
    "dcrawl_http_status_code",
    "HTTP status of the target's last response (0: none)",
    MetricType::Gauge,
);
pub(super) const SIZE: Family = (
    "dcrawl_response_size_bytes",
    "Decompressed body size of the last response",
    MetricType::Gauge,
);
pub(super) const LAST_RUN: Family = (
    "dcrawl_last_run_timestamp_seconds",
    "Unix time the target's last check started",
    MetricType::Gauge,
);
pub(super) const TLS: Family = (
    "dcrawl_tls_cert_expiry_timestamp_seconds",
    "Unix time the leaf TLS certificate expires",
    MetricType::Gauge,
);
pub(super) const RENDER: Family = (
    "dcrawl_render_duration_seconds",
    "Time a rendered target's page took in the browser",
    MetricType::Histogram,
);
pub(super) const SKIPPED: Family = (
    "dcrawl_skipped_runs",
    "Scheduled runs skipped because the previous run was still in flight",
    MetricType::Counter,
);
pub(super) const FIRING: Family = (
    "dcrawl_alert_firing",
    "1 while the target's alert is firing, else 0",
    MetricType::Gauge,
);
pub(super) const MAINTENANCE: Family = (
    "dcrawl_maintenance",
    "1 while a maintenance window of the alert files covers the target, else 0",
    MetricType::Gauge,
);

/// The families this collector writes (for the tests; `encode` names each).
#[cfg(test)]
pub(super) const FAMILIES: [Family; 11] = [
    SUCCESS,
    DURATION,
    CHECKS,
    STATUS,
    SIZE,
    LAST_RUN,
    TLS,
    RENDER,
    SKIPPED,
    FIRING,
    MAINTENANCE,
];

/// The `{spec, target}` labels.
fn names<'a>(spec: &'a str, target: &'a str) -> [(&'static str, &'a str); 2] {
    [("spec", spec), ("target", target)]
}

/// Writes every target's series; registered once, sharing the [`Targets`] of the metrics.
#[derive(Debug)]
pub(super) struct TargetCollector(pub(super) std::sync::Arc<Targets>);

impl Collector for TargetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let t = &*self.0;
        let e = &mut encoder;
        let b = &t.bounds;
        t.gauges(e, SUCCESS, |s| s.success)?;
        t.family(
            e,
            DURATION,
            |s| s.duration,
            |sp, tg, h, f| f.histogram(&names(sp, tg), &h, b),
        )?;
        t.family(
            e,
            CHECKS,
            |s| s.checks.iter().any(Option::is_some).then_some(s.checks),
            |sp, tg, counts, f| {
                for (result, n) in Outcome::ALL.iter().zip(counts) {
                    if let Some(n) = n {
                        f.counter(
                            &[("spec", sp), ("target", tg), ("result", result.as_str())],
                            n,
                        )?;
                    }
                }
                Ok(())
            },
        )?;
        t.gauges(e, STATUS, |s| s.status)?;
        t.gauges(e, SIZE, |s| s.size)?;
        t.gauges(e, LAST_RUN, |s| s.last_run)?;
        t.gauges(e, TLS, |s| s.tls_expiry)?;
        t.family(
            e,
            RENDER,
            |s| s.render.as_deref().copied(),
            |sp, tg, h, f| f.histogram(&names(sp, tg), &h, b),
        )?;
        t.family(
            e,
            SKIPPED,
            |s| s.skipped,
            |sp, tg, v, f| f.counter(&names(sp, tg), v),
        )?;
        t.gauges(e, FIRING, |s| s.alert_firing)?;
        t.gauges(e, MAINTENANCE, |s| s.maintenance)?;
        Ok(())
    }
}
