//! The status page at `/`: what an on-call person reads at a glance. Server-rendered HTML
//! (minijinja, auto-escaped), no JavaScript, auto-refreshing, readable on a phone.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::doc::Key;
use crate::history::summary::Summary;
use crate::report::format_number;
use crate::report::text::format_duration;
use crate::result::Outcome;
use crate::shard::Share;
use crate::status::{SpecState, TargetState};

const TEMPLATE: &str = include_str!("status.html");

/// Seconds between automatic refreshes of the page.
pub const REFRESH_SECONDS: u32 = 10;

#[derive(Serialize)]
struct PageView {
    generated: String,
    refresh: u32,
    total: usize,
    ok: usize,
    /// Targets whose last run was a warning.
    warning: usize,
    failing: usize,
    pending: usize,
    /// "shard 1/3: 997 of 3000 targets" when sharded.
    shard: Option<String>,
    specs: Vec<SpecView>,
    /// Whether history is kept (links `/api/v1/history`).
    history_kept: bool,
}

#[derive(Serialize)]
struct SpecView {
    name: String,
    labels: String,
    failing: usize,
    targets: Vec<TargetView>,
}

#[derive(Serialize)]
struct TargetView {
    name: String,
    url: String,
    class: &'static str,
    word: &'static str,
    status: String,
    duration: String,
    last_run: String,
    next_run: String,
    schedule: String,
    error: Option<String>,
    failures: Vec<String>,
    crawl: Option<String>,
    steps: Vec<StepView>,
    extracted: String,
    alert: Option<String>,
    /// `maintenance NAME until TIME` and `blocked by spec/target`, while they keep its alerts
    /// quiet.
    quiet: Vec<String>,
    history: Vec<HistoryMark>,
    screenshot: Option<String>,
    /// Uptime, latency sparkline and incidents, when history is kept (markup, escaped).
    uptime: Option<minijinja::Value>,
}

/// One step of a flow target's last run.
#[derive(Serialize)]
struct StepView {
    line: String,
    class: &'static str,
    failures: Vec<String>,
}

#[derive(Serialize)]
struct HistoryMark {
    class: &'static str,
    title: String,
}

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago".
pub fn ago(d: Duration) -> String {
    human(d) + " ago"
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86400),
    }
}

fn class_of(outcome: Option<Outcome>) -> (&'static str, &'static str) {
    match outcome {
        Some(Outcome::Success) => ("ok", "OK"),
        Some(Outcome::Warning) => ("warn", "WARN"),
        Some(Outcome::Failure) => ("fail", "FAIL"),
        Some(Outcome::Error) => ("error", "ERROR"),
        None => ("pending", "PENDING"),
    }
}

/// `step 2/3 profile: FAIL 401 12 ms` and the step's failures, for each step.
fn step_views(steps: &[crate::result::StepResult]) -> Vec<StepView> {
    let total = steps.len();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (class, word) = match s.outcome {
                None => ("pending", "skipped"),
                o => class_of(o),
            };
            let mut line = format!("step {}/{total} {}: {word}", i + 1, s.name);
            if s.outcome.is_some() {
                let status = s.status.map_or_else(|| "—".to_string(), |c| c.to_string());
                line = format!("{line} {status} {}", format_duration(s.duration));
            }
            let mut failures: Vec<String> = s.error.iter().map(|e| format!("error: {e}")).collect();
            failures.extend(s.failures.iter().map(|f| f.line()));
            StepView {
                line,
                class,
                failures,
            }
        })
        .collect()
}

fn since(now: DateTime<Utc>, t: SystemTime) -> Duration {
    (now - DateTime::<Utc>::from(t))
        .to_std()
        .unwrap_or_default()
}

fn target_view(name: &str, s: &TargetState, now: DateTime<Utc>) -> TargetView {
    let last = s.last.as_ref();
    let (class, word) = class_of(last.map(|r| r.outcome));
    TargetView {
        name: name.to_string(),
        url: s.url.clone(),
        class,
        word,
        status: last
            .and_then(|r| r.status)
            .map_or_else(|| "—".into(), |c| c.to_string()),
        duration: last.map_or_else(|| "—".into(), |r| format_duration(r.duration)),
        last_run: last.map_or_else(|| "not yet".into(), |r| ago(since(now, r.started_at))),
        next_run: s.next_run.map_or_else(
            || "—".into(),
            |t| {
                (t - now)
                    .to_std()
                    .map_or_else(|_| "now".into(), |d| format!("in {}", human(d)))
            },
        ),
        schedule: s.schedule.clone(),
        error: last.and_then(|r| r.error.clone()),
        failures: last
            .map(|r| shown_failures(&r.failures))
            .unwrap_or_default(),
        crawl: last
            .and_then(|r| r.crawl.as_deref())
            .map(crate::report::text::crawl_line),
        steps: last
            .and_then(|r| r.steps.as_ref())
            .map(|steps| step_views(steps))
            .unwrap_or_default(),
        extracted: last
            .map(|r| {
                r.extracted
                    .iter()
                    .map(|(k, v)| format!("{k}={}", format_number(*v)))
                    .collect::<Vec<_>>()
                    .join("  ")
            })
            .unwrap_or_default(),
        alert: s.alert.clone(),
        screenshot: s.screenshot.clone(),
        quiet: s
            .maintenance
            .iter()
            .map(|m| {
                let until = m.until.format("%Y-%m-%d %H:%M UTC");
                format!("maintenance {} until {until}", m.name)
            })
            .chain(s.silenced.iter().map(|(id, until)| {
                let until = until.format("%Y-%m-%d %H:%M UTC");
                format!("silenced until {until} ({id})")
            }))
            .chain(s.blocked_by.iter().map(|b| format!("blocked by {b}")))
            .collect(),
        history: s
            .history
            .iter()
            .map(|h| HistoryMark {
                class: class_of(Some(h.outcome())).0,
                title: format!("{} {}", h.outcome().as_str(), ago(since(now, h.at()))),
            })
            .collect(),
        uptime: None,
    }
}

fn is_failing(t: &TargetView) -> bool {
    t.class == "fail" || t.class == "error"
}

/// Render the page of this shard's specs and targets.
pub fn render(
    specs: &[(String, SpecState)],
    share: Share,
    now: DateTime<Utc>,
) -> Result<String, minijinja::Error> {
    render_with(specs, share, now, None)
}

/// Render the page, with each target's uptime and incidents from `history` when kept.
pub fn render_with(
    specs: &[(String, SpecState)],
    share: Share,
    now: DateTime<Utc>,
    history: Option<&HashMap<Key, Summary>>,
) -> Result<String, minijinja::Error> {
    let mut views: Vec<SpecView> = specs
        .iter()
        .map(|(name, spec)| {
            let mut targets: Vec<TargetView> = spec
                .targets
                .iter()
                .map(|(n, t)| {
                    let mut view = target_view(n, t, now);
                    view.uptime =
                        history
                            .and_then(|h| h.get(&(name.clone(), n.clone())))
                            .map(|s| {
                                let view =
                                    super::history::uptime_view(s, name, n, now.timestamp_millis());
                                minijinja::Value::from_safe_string(view.html())
                            });
                    view
                })
                .collect();
            // Failing targets first; otherwise keep file order (the sort is stable).
            targets.sort_by_key(|t| !is_failing(t));
            SpecView {
                name: name.clone(),
                labels: spec
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                failing: targets.iter().filter(|t| is_failing(t)).count(),
                targets,
            }
        })
        .collect();
    views.sort_by_key(|s| s.failing == 0);
    let all = views.iter().flat_map(|s| s.targets.iter());
    let (mut total, mut ok, mut warning, mut failing, mut pending) = (0, 0, 0, 0, 0);
    for t in all {
        total += 1;
        match t.class {
            "ok" => ok += 1,
            "warn" => warning += 1,
            "pending" => pending += 1,
            _ => failing += 1,
        }
    }
    let view = PageView {
        generated: now.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        refresh: REFRESH_SECONDS,
        total,
        ok,
        warning,
        failing,
        pending,
        shard: (share.shard.count() > 1).then(|| share.to_string()),
        specs: views,
        history_kept: history.is_some(),
    };
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("status.html", TEMPLATE)?;
    env.get_template("status.html")?
        .render(minijinja::value::Serde(&view))
}

/// Most failure lines shown per target; a crawl may fail on thousands of pages.
const MAX_FAILURES_SHOWN: usize = 20;

/// The failure lines of a target, at most [`MAX_FAILURES_SHOWN`] and then a count.
fn shown_failures(failures: &[crate::result::Failure]) -> Vec<String> {
    let mut lines: Vec<String> = failures
        .iter()
        .take(MAX_FAILURES_SHOWN)
        .map(crate::result::Failure::line)
        .collect();
    if failures.len() > MAX_FAILURES_SHOWN {
        lines.push(format!(
            "… and {} more ({} in all; /api/v1/status lists every failed page)",
            failures.len() - MAX_FAILURES_SHOWN,
            failures.len()
        ));
    }
    lines
}
