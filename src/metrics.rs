//! dcrawl's Prometheus metrics (their names and labels are a fixed interface), through the official `prometheus-client`.
//!
//! Served as OpenMetrics when the scraper asks for it and as the classic text format otherwise.
//! A target's series are tracked so that all of them disappear when it is removed at reload.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::result::{CheckResult, Outcome};

/// Content-Type of the OpenMetrics exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content-Type of the classic Prometheus text exposition.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every dcrawl metric, registered once.
pub struct Metrics {
    /// The registry all metrics are encoded from.
    registry: Registry,
    /// The `{spec, target}` series of every target (and `dcrawl_checks`), one entry each.
    series: Arc<Targets>,
    assertion_failures: Family<AssertionLabels, Counter>,
    extracted: Family<NameLabels, FloatGauge>,
    crawl_pages: Family<ResultLabels, Gauge>,
    step_duration: Family<StepLabels, FloatGauge>,
    browser_processes: Gauge,
    browser_restarts: Counter,
    step_success: Family<StepLabels, Gauge>,
    notifications: Family<ChannelLabels, Counter>,
    notifications_pending: Gauge,
    config_reload_success: Gauge,
    config_reload_timestamp: FloatGauge,
    targets: Gauge,
    /// `dcrawl_shard{index,count}`: one series, 1, naming this process's shard.
    shard: Family<ShardLabels, Gauge>,
    schedule_lateness: Histogram,
    /// `dcrawl_history_write_errors_total` and `dcrawl_history_dropped_runs_total`.
    history: crate::history::Counters,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Register every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            series: Arc::default(),
            assertion_failures: Family::default(),
            extracted: Family::default(),
            crawl_pages: Family::default(),
            step_duration: Family::default(),
            browser_processes: Gauge::default(),
            browser_restarts: Counter::default(),
            step_success: Family::default(),
            notifications: Family::default(),
            notifications_pending: Gauge::default(),
            config_reload_success: Gauge::default(),
            config_reload_timestamp: FloatGauge::default(),
            targets: Gauge::default(),
            shard: Family::default(),
            schedule_lateness: Histogram::new([
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
            history: crate::history::Counters::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register_collector(Box::new(TargetCollector(m.series.clone())));
        r.register(
            "dcrawl_assertion_failures",
            "Failed assertions by assertion id",
            m.assertion_failures.clone(),
        );
        r.register(
            "dcrawl_extracted_value",
            "Value extracted by the target's `extract` entry `name`",
            m.extracted.clone(),
        );
        r.register(
            "dcrawl_crawl_pages",
            "Pages of the last crawl run by result (ok, failed)",
            m.crawl_pages.clone(),
        );
        r.register(
            "dcrawl_step_duration_seconds",
            "Time of the flow step's request in the target's last run",
            m.step_duration.clone(),
        );
        r.register(
            "dcrawl_step_success",
            "1 if the flow step passed in the target's last run, 0 if it failed or was skipped",
            m.step_success.clone(),
        );
        r.register(
            "dcrawl_browser_processes",
            "Chromium processes running for render targets (browsers and their helpers)",
            m.browser_processes.clone(),
        );
        r.register(
            "dcrawl_browser_restarts",
            "Browsers killed and replaced (recycled, timed out, crashed or over memory)",
            m.browser_restarts.clone(),
        );
        r.register(
            "dcrawl_notifications",
            "Notification delivery attempts by channel and result (sent, failed)",
            m.notifications.clone(),
        );
        r.register(
            "dcrawl_notifications_pending",
            "Notifications waiting in the outbox",
            m.notifications_pending.clone(),
        );
        r.register(
            "dcrawl_config_reload_success",
            "1 if the last configuration (re)load succeeded, else 0",
            m.config_reload_success.clone(),
        );
        r.register(
            "dcrawl_config_reload_timestamp_seconds",
            "Unix time of the last successful configuration load",
            m.config_reload_timestamp.clone(),
        );
        r.register(
            "dcrawl_targets",
            "Targets this instance checks",
            m.targets.clone(),
        );
        r.register(
            "dcrawl_shard",
            "Always 1; index and count say which shard of the targets this instance checks",
            m.shard.clone(),
        );
        m.set_shard(0, 1);
        r.register(
            "dcrawl_schedule_lateness_seconds",
            "How late scheduled runs started against their due time",
            m.schedule_lateness.clone(),
        );
        r.register(
            "dcrawl_history_write_errors",
            "Runs not kept in history because writing their batch failed",
            m.history.write_errors.clone(),
        );
        r.register(
            "dcrawl_history_dropped_runs",
            "Runs not kept in history because its queue was full",
            m.history.dropped.clone(),
        );
        let build_info: Family<VersionLabels, Gauge> = Family::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        r.register(
            "dcrawl_build_info",
            "Always 1; the version label says which dcrawl runs",
            build_info,
        );
        Metrics { registry, ..m }
    }

    /// The counters history increments when it loses runs.
    pub fn history_counters(&self) -> crate::history::Counters {
        self.history.clone()
    }

    /// Record one check result of a target.
    pub fn record(&self, r: &CheckResult) {
        // A warning is not a failure: the check passed, with warnings.
        let success = !r.outcome.is_failing();
        let started = r
            .started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let bounds = self.series.bounds();
        self.series.with(&r.spec, &r.target, |series| {
            series.success = Some(i64::from(success));
            series
                .duration
                .get_or_insert_default()
                .observe(bounds, r.duration.as_secs_f64());
            if let Some(i) = Outcome::ALL.iter().position(|o| *o == r.outcome) {
                *series.checks[i].get_or_insert(0) += 1;
            }
            series.status = Some(r.status.map_or(0, i64::from));
            // Size, certificate expiry and extracted values are those of the last run: a run
            // that did not measure one (an error, a value not found) removes its series, so
            // that no stale value passes for a current one.
            series.size = r
                .response_size
                .map(|size| i64::try_from(size).unwrap_or(i64::MAX));
            series.last_run = Some(started);
            series.tls_expiry = r.tls_not_after;
            if let Some(rendered) = &r.rendered {
                series
                    .render
                    .get_or_insert_default()
                    .observe(bounds, rendered.duration.as_secs_f64());
            }
            self.record_keyed(r, &mut series.seen);
        });
        if let Some(crawl) = &r.crawl {
            self.record_crawl(&r.spec, &r.target, crawl.ok, crawl.failed);
        }
    }

    /// The series of `r` with a third label: failed assertions, extracted values, flow steps.
    fn record_keyed(&self, r: &CheckResult, seen: &mut Option<Box<Seen>>) {
        let keyed = !r.failures.is_empty() || !r.extracted.is_empty() || r.steps.is_some();
        if !keyed && seen.as_ref().is_none_or(|s| s.extracted.is_empty()) {
            return;
        }
        let entry = seen.get_or_insert_default();
        for f in &r.failures {
            self.assertion_failures
                .get_or_create(&AssertionLabels {
                    spec: r.spec.clone(),
                    target: r.target.clone(),
                    assertion: f.assertion.clone(),
                })
                .inc();
            entry.assertions.insert(f.assertion.clone());
        }
        for name in &entry.extracted {
            if !r.extracted.contains_key(name) {
                self.extracted.remove(&NameLabels {
                    spec: r.spec.clone(),
                    target: r.target.clone(),
                    name: name.clone(),
                });
            }
        }
        entry.extracted.clear();
        for (name, value) in &r.extracted {
            self.extracted
                .get_or_create(&NameLabels {
                    spec: r.spec.clone(),
                    target: r.target.clone(),
                    name: name.clone(),
                })
                .set(*value);
            entry.extracted.insert(name.clone());
        }
        for step in r.steps.iter().flatten() {
            let labels = StepLabels {
                spec: r.spec.clone(),
                target: r.target.clone(),
                step: step.name.clone(),
            };
            let passed = step.outcome.is_some_and(|o| !o.is_failing());
            self.step_success
                .get_or_create(&labels)
                .set(i64::from(passed));
            if step.outcome.is_some() {
                self.step_duration
                    .get_or_create(&labels)
                    .set(step.duration.as_secs_f64());
            }
            entry.steps.insert(step.name.clone());
        }
    }

    /// Record the page counts of a crawl run.
    pub fn record_crawl(&self, spec: &str, target: &str, ok: u64, failed: u64) {
        self.series.with(spec, target, |series| {
            for (result, n) in [("ok", ok), ("failed", failed)] {
                let labels = ResultLabels {
                    spec: spec.into(),
                    target: target.into(),
                    result: result.into(),
                };
                self.crawl_pages
                    .get_or_create(&labels)
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
                series
                    .seen
                    .get_or_insert_default()
                    .crawl
                    .insert(result.to_string());
            }
        });
    }

    /// The browsers' process count and restarts so far (a counter only moves up).
    pub fn set_browsers(&self, processes: usize, restarts: u64) {
        self.browser_processes
            .set(i64::try_from(processes).unwrap_or(i64::MAX));
        let seen = self.browser_restarts.get();
        if restarts > seen {
            self.browser_restarts.inc_by(restarts - seen);
        }
    }

    /// A scheduled run started `late` after its due time.
    pub fn record_lateness(&self, late: std::time::Duration) {
        self.schedule_lateness.observe(late.as_secs_f64());
    }

    /// A scheduled run of the target was skipped (the previous one was still in flight).
    pub fn record_skipped(&self, spec: &str, target: &str, n: u64) {
        self.series.with(spec, target, |series| {
            *series.skipped.get_or_insert(0) += n;
        });
    }

    /// Set whether the target's alert is firing.
    pub fn set_alert_firing(&self, spec: &str, target: &str, firing: bool) {
        self.series.with(spec, target, |series| {
            series.alert_firing = Some(i64::from(firing));
        });
    }

    /// Set whether a maintenance window covers the target.
    pub fn set_maintenance(&self, spec: &str, target: &str, on: bool) {
        self.series.with(spec, target, |series| {
            series.maintenance = Some(i64::from(on));
        });
    }

    /// Count one delivery attempt of a notification.
    pub fn record_notification(&self, channel: &str, sent: bool) {
        let result = if sent { "sent" } else { "failed" };
        self.notifications
            .get_or_create(&ChannelLabels {
                channel: channel.into(),
                result: result.into(),
            })
            .inc();
    }

    /// Set the number of notifications waiting in the outbox.
    pub fn set_notifications_pending(&self, n: u64) {
        self.notifications_pending
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Record a configuration (re)load: success sets the timestamp and the target count.
    pub fn record_reload(&self, success: bool, targets: usize) {
        self.config_reload_success.set(i64::from(success));
        if success {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            self.config_reload_timestamp.set(now);
            self.targets.set(i64::try_from(targets).unwrap_or(i64::MAX));
        }
    }

    /// Name this process's shard (`index` of `count`; 0 of 1 when not sharded).
    pub fn set_shard(&self, index: u32, count: u32) {
        self.shard.clear();
        self.shard
            .get_or_create(&ShardLabels {
                index: index.to_string(),
                count: count.to_string(),
            })
            .set(1);
    }

    /// Remove every series of a target (it was removed from the configuration).
    pub fn remove_target(&self, spec: &str, target: &str) {
        let seen = self.series.remove(spec, target);
        if let Some(seen) = seen {
            for assertion in seen.assertions {
                self.assertion_failures.remove(&AssertionLabels {
                    spec: spec.into(),
                    target: target.into(),
                    assertion,
                });
            }
            for name in seen.extracted {
                self.extracted.remove(&NameLabels {
                    spec: spec.into(),
                    target: target.into(),
                    name,
                });
            }
            for result in seen.crawl {
                self.crawl_pages.remove(&ResultLabels {
                    spec: spec.into(),
                    target: target.into(),
                    result,
                });
            }
            for step in seen.steps {
                let labels = StepLabels {
                    spec: spec.into(),
                    target: target.into(),
                    step,
                };
                self.step_duration.remove(&labels);
                self.step_success.remove(&labels);
            }
        }
    }

    /// Encode as OpenMetrics text (ends with `# EOF`).
    pub fn encode_openmetrics(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Encode as the classic Prometheus text format (0.0.4).
    pub fn encode_text(&self) -> String {
        openmetrics_to_text(&self.encode_openmetrics())
    }

    /// Encode for a scraper's `Accept` header: (body, Content-Type).
    pub fn encode_for(&self, accept: Option<&str>) -> (String, &'static str) {
        if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
            (self.encode_openmetrics(), OPENMETRICS_CONTENT_TYPE)
        } else {
            (self.encode_text(), TEXT_CONTENT_TYPE)
        }
    }
}

mod exposition;
mod labels;
mod targets;
#[cfg(test)]
mod tests;

use exposition::openmetrics_to_text;
pub use labels::TargetLabels;
use labels::{
    AssertionLabels, ChannelLabels, NameLabels, ResultLabels, ShardLabels, StepLabels,
    VersionLabels,
};
use targets::{Seen, TargetCollector, Targets};
