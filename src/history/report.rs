//! `dcrawl report`: per-target uptime, incidents and latency percentiles over a range, from the
//! state directory alone (read-only; a running daemon keeps writing meanwhile), as text, JSON,
//! CSV or a standalone HTML page.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::doc::{self, Key, Options, TargetHistory};
use super::range::Range;
use super::store::{Db, HistoryError};
use crate::report::text::format_duration;

/// Incidents listed per target at most.
pub const MAX_INCIDENTS: usize = 1000;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Text,
    /// One JSON document.
    Json,
    /// A header and one row per target.
    Csv,
    /// A standalone page, no JavaScript.
    Html,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the database failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// `--spec` or `--target` names nothing history knows.
    #[error("{0}")]
    Unknown(String),
}

/// A report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Start of the range asked for.
    pub from: DateTime<Utc>,
    /// End of the range asked for.
    pub to: DateTime<Utc>,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// Every selected target, by spec and name.
    pub targets: Vec<TargetHistory>,
}

/// The report over `range` of the targets `spec` and `target` select (all by default).
pub fn build(
    db: &Db,
    range: Range,
    spec: Option<&str>,
    target: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let rows = db.targets()?;
    if let Some(s) = spec
        && !rows.iter().any(|r| r.spec == s)
    {
        let mut known: Vec<&str> = rows.iter().map(|r| r.spec.as_str()).collect();
        known.dedup();
        return Err(ReportError::Unknown(format!(
            "no history of a spec named {s:?} (specs with history: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let wanted: Vec<Key> = rows
        .iter()
        .filter(|r| spec.is_none_or(|s| r.spec == s) && target.is_none_or(|t| r.target == t))
        .map(|r| (r.spec.clone(), r.target.clone()))
        .collect();
    if let Some(t) = target
        && wanted.is_empty()
    {
        return Err(ReportError::Unknown(format!(
            "no history of a target named {t:?} in the selected specs"
        )));
    }
    let options = Options {
        incidents_limit: MAX_INCIDENTS,
        series: false,
    };
    let (from, to) = (range.from.timestamp_millis(), range.to.timestamp_millis());
    let targets = doc::build(db, &wanted, from, to, now.timestamp_millis(), options)?;
    Ok(Report {
        from: range.from,
        to: range.to,
        generated_at: now,
        targets,
    })
}

/// Render `report` in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Csv => csv(report),
        Format::Html => super::report_html::render(report),
    }
}

/// `2026-11-03 10:00:00 UTC`.
pub fn when(t: DateTime<Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `99.953%` (cut, not rounded, so only a flawless range shows `100%`), `—` when unknown.
pub fn percent(p: Option<f64>) -> String {
    match p {
        None => "—".to_string(),
        Some(p) if p >= 100.0 => "100%".to_string(),
        Some(p) => format!("{:.3}%", (p * 1000.0).floor() / 1000.0),
    }
}

/// `0 s`, `42 s`, `20 min 34 s`, `3 h 5 min`, `2 d 4 h`.
pub fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let (big, big_unit, small, small_unit) = if d > 0 {
        (d, "d", h, "h")
    } else if h > 0 {
        (h, "h", m, "min")
    } else if m > 0 {
        (m, "min", sec, "s")
    } else {
        return format!("{sec} s");
    };
    if small == 0 {
        format!("{big} {big_unit}")
    } else {
        format!("{big} {big_unit} {small} {small_unit}")
    }
}

/// A latency for people, `—` when none.
pub fn latency(seconds: Option<f64>) -> String {
    seconds.map_or_else(
        || "—".to_string(),
        |s| format_duration(std::time::Duration::try_from_secs_f64(s).unwrap_or_default()),
    )
}

/// `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The cells of a target's row in the text and HTML tables.
pub fn cells(t: &TargetHistory) -> [String; 11] {
    [
        format!("{}/{}", t.spec, t.target),
        percent(t.range.uptime_percent),
        span(t.range.down_seconds),
        span(t.range.maintenance_seconds),
        span(t.range.unknown_seconds),
        thousands(t.range.runs),
        thousands(t.range.failed_runs),
        t.incidents_total.to_string(),
        latency(t.latency.p50_seconds),
        latency(t.latency.p95_seconds),
        latency(t.latency.p99_seconds),
    ]
}

/// The column titles of [`cells`].
pub const HEADINGS: [&str; 11] = [
    "target",
    "uptime",
    "down",
    "maintenance",
    "unknown",
    "runs",
    "failed",
    "incidents",
    "p50",
    "p95",
    "p99",
];

/// One line per incident: `START → END  DURATION  RESULT  FIRST FAILURE (N failed runs)`.
pub fn incident_line(i: &doc::IncidentDoc) -> String {
    let end = i.end.map_or_else(|| "open".to_string(), when);
    let mut line = format!(
        "{} → {end}  {}  {}",
        when(i.start),
        span(i.duration_seconds),
        i.result
    );
    if let Some(f) = &i.first_failure {
        let _ = write!(line, "  {f}");
    }
    let runs = if i.failed_runs == 1 { "run" } else { "runs" };
    let _ = write!(line, "  ({} failed {runs})", thousands(i.failed_runs));
    line
}

fn text(report: &Report) -> String {
    let mut out = format!(
        "dcrawl report: {} to {} ({}), {} target{}\n\n",
        when(report.from),
        when(report.to),
        span((report.to - report.from).num_seconds() as f64),
        report.targets.len(),
        if report.targets.len() == 1 { "" } else { "s" }
    );
    if report.targets.is_empty() {
        out.push_str("No history in this state directory yet.\n");
        return out;
    }
    let rows: Vec<[String; 11]> = report.targets.iter().map(cells).collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                let _ = write!(l, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(l, "  {}{cell}", " ".repeat(pad));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&HEADINGS.map(String::from)));
    for row in &rows {
        out.push_str(&line(row));
    }
    let total: u64 = report.targets.iter().map(|t| t.incidents_total).sum();
    if total > 0 {
        out.push_str("\nIncidents, the most recent first:\n");
        for t in report.targets.iter().filter(|t| t.incidents_total > 0) {
            let _ = writeln!(out, "  {}/{}", t.spec, t.target);
            for i in &t.incidents {
                let _ = writeln!(out, "    {}", incident_line(i));
            }
            let more = t.incidents_total.saturating_sub(t.incidents.len() as u64);
            if more > 0 {
                let _ = writeln!(out, "    … and {more} more");
            }
        }
    }
    out.push_str(
        "\nUptime is time up over time known up or down (maintenance and unknown time left out);\n\
         latency percentiles are over runs that got a response, outside maintenance (±5 %).\n",
    );
    out
}

/// A CSV field, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV header.
pub const CSV_HEADER: &str = "spec,target,from,to,uptime_percent,up_seconds,down_seconds,maintenance_seconds,unknown_seconds,runs,failed_runs,incidents,p50_seconds,p95_seconds,p99_seconds";

fn csv(report: &Report) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for t in &report.targets {
        let r = &t.range;
        let cols = [
            field(&t.spec),
            field(&t.target),
            r.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            opt(r.uptime_percent),
            r.up_seconds.to_string(),
            r.down_seconds.to_string(),
            r.maintenance_seconds.to_string(),
            r.unknown_seconds.to_string(),
            r.runs.to_string(),
            r.failed_runs.to_string(),
            t.incidents_total.to_string(),
            opt(t.latency.p50_seconds),
            opt(t.latency.p95_seconds),
            opt(t.latency.p99_seconds),
        ];
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(span(0.0), "0 s");
        assert_eq!(span(42.0), "42 s");
        assert_eq!(span(1234.0), "20 min 34 s");
        assert_eq!(span(1200.0), "20 min");
        assert_eq!(span(3600.0 * 3.0 + 300.0), "3 h 5 min");
        assert_eq!(span(86_400.0 * 30.0), "30 d");
        assert_eq!(percent(Some(99.99996)), "99.999%");
        assert_eq!(percent(Some(100.0)), "100%");
        assert_eq!(percent(None), "—");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
