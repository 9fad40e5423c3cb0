//! The benchmark's results as a Markdown table (what `scripts/bench history` appends to
//! BENCHMARKS.md).

use std::fmt::Write as _;
use std::time::Duration;

use crate::Args;
use crate::reads::Reads;
use crate::writer::{Batches, daemon_flush_secs};

/// What the database holds once filled and written to.
pub struct Size {
    /// The file's size in bytes (after a checkpoint: no WAL).
    pub file: u64,
    /// Bytes per table and index.
    pub tables: Vec<(String, u64)>,
    /// Raw runs stored.
    pub raw_runs: i64,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The table: a row per measure, with notes.
pub fn render(a: &Args, size: &Size, writes: &[Batches], r: &Reads) -> String {
    let mut out = String::from("| measure | value | notes |\n|---|---|---|\n");
    let mut row = |what: &str, value: String, note: String| {
        let _ = writeln!(out, "| {what} | {value} | {note} |");
    };
    let n = a.targets;
    let tables = size
        .tables
        .iter()
        .map(|(t, b)| format!("{t} {}", mb(*b)))
        .collect::<Vec<_>>()
        .join(", ");
    row(
        "database",
        mb(size.file),
        format!(
            "{n} targets, {} d of roll-ups, {} d of raw runs ({} rows): {tables}",
            a.days, a.raw_days, size.raw_runs
        ),
    );
    let target_days = (n * a.raw_days) as f64;
    let raw_bytes: u64 = size
        .tables
        .iter()
        .filter(|(t, _)| t == "runs")
        .map(|(_, b)| b)
        .sum();
    if target_days > 0.0 {
        row(
            "raw runs per target-day",
            format!("{:.1} KB", raw_bytes as f64 / target_days / 1e3),
            format!(
                "{:.1} bytes per run",
                raw_bytes as f64 / size.raw_runs.max(1) as f64
            ),
        );
    }
    let per_second = n as f64 / 60.0;
    for w in writes {
        let daemon = if w.secs == daemon_flush_secs() {
            " (the daemon's flush)"
        } else {
            ""
        };
        row(
            &format!("insert, {} s batches{daemon}", w.secs),
            format!(
                "{:.1} µs CPU per run, {:.0} bytes written per run",
                w.cpu_us, w.bytes
            ),
            format!(
                "{} runs in batches of {}: {:.2}% of one core, {:.0} KB/s written at {per_second:.0} runs/s",
                w.runs,
                w.batch,
                w.cpu_us * per_second / 1e6 * 100.0,
                w.bytes * per_second / 1e3
            ),
        );
    }
    row(
        "status page: summaries, first of the hour",
        ms(r.summaries_first),
        "every target's 24 h / 7 d / 30 d uptime, 24 h sparkline, 3 recent incidents".into(),
    );
    row(
        "status page: summaries, refresh",
        ms(r.summaries_refresh),
        format!(
            "the live hours, last runs and incidents again; at most every {} s while the page is viewed",
            dcrawl::server::history::SUMMARY_TTL.as_secs()
        ),
    );
    row(
        "status page: render",
        ms(r.page.0),
        format!(
            "{} with history, {} without ({})",
            mb(r.page.1 as u64),
            mb(r.plain_page.1 as u64),
            ms(r.plain_page.0)
        ),
    );
    let api_notes = [
        "hourly series".to_string(),
        format!("daily series, {} bytes of JSON", r.api_one_bytes),
        "daily series".to_string(),
    ];
    for ((days, t), note) in [1, 30, 90].iter().zip(r.api_one).zip(api_notes) {
        row(
            &format!("history API, one target, {days} d"),
            ms(t),
            format!("documents built and serialised (no HTTP); {note}"),
        );
    }
    row(
        "history API, one spec (100 targets), 30 d",
        ms(r.api_spec),
        "documents built and serialised (no HTTP)".into(),
    );
    row(
        "history API, all targets, 30 d",
        ms(r.api_all.0),
        format!("{} of JSON", mb(r.api_all.1 as u64)),
    );
    row(
        "report, one month, text",
        ms(r.report_text.0),
        format!("library call; {} lines", r.report_text.1),
    );
    row(
        "report, one month, csv",
        ms(r.report_csv),
        "library call".into(),
    );
    if let Some(t) = r.report_binary {
        row(
            "`dcrawl report`, one month",
            ms(t),
            "the dcrawl binary beside this example: start, open read-only, build, print".into(),
        );
    }
    out
}
