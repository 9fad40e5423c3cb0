//! The read side at "now": the status page's summaries and render, the history API's documents,
//! and `dcrawl report` over one month (the library call, and the release binary when it is
//! built beside this example).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use dcrawl::history::doc::{self, Options};
use dcrawl::history::range::Range;
use dcrawl::history::{DAY_MS, Db, report};

use crate::Args;

/// What the read side took.
pub struct Reads {
    /// The summaries, computed from scratch (the first refresh of an hour).
    pub summaries_first: Duration,
    /// The summaries, refreshed within the hour.
    pub summaries_refresh: Duration,
    /// The status page with history: time, bytes.
    pub page: (Duration, usize),
    /// The status page without history: time, bytes.
    pub plain_page: (Duration, usize),
    /// API documents (built and serialised), one target over 1, 30 and 90 days.
    pub api_one: [Duration; 3],
    /// Bytes of JSON of one target over 30 days.
    pub api_one_bytes: usize,
    /// API documents of one spec (100 targets) over 30 days.
    pub api_spec: Duration,
    /// API documents of every target over 30 days: time, bytes.
    pub api_all: (Duration, usize),
    /// The report over the last 30 days, text: time, lines.
    pub report_text: (Duration, usize),
    /// The same as CSV.
    pub report_csv: Duration,
    /// `dcrawl report` run as a process, when the binary is there.
    pub report_binary: Option<Duration>,
}

/// The median of `rounds` timings of `f`, and its last result.
pub fn time<T>(rounds: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let t = Instant::now();
        last = Some(f()?);
        times.push(t.elapsed());
    }
    times.sort();
    let out = last.context("no rounds")?;
    Ok((times[times.len() / 2], out))
}

/// A Unix millisecond time as a date.
pub fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

/// The configuration the benchmark's targets would have: 100 specs of 100 targets.
fn config(n: i64) -> Result<dcrawl::model::Config> {
    let mut specs: Vec<dcrawl::model::Spec> = Vec::new();
    for i in 0..n {
        let url = url::Url::parse(&format!("http://127.0.0.1:9/{i}"))?;
        let t = dcrawl::model::Target::new(&format!("bench-{:02}", i / 100), &format!("t{i}"), url);
        match specs.last_mut() {
            Some(s) if s.name == t.spec => s.targets.push(t),
            _ => specs.push(dcrawl::model::Spec {
                name: t.spec.clone(),
                file: PathBuf::from(format!("{}.yaml", t.spec)),
                labels: Default::default(),
                targets: vec![t],
            }),
        }
    }
    Ok(dcrawl::model::Config { specs })
}

/// Time the read side over `db` at `now`.
pub fn measure(a: &Args, db: &Db, now: i64) -> Result<Reads> {
    let mut summarizer = dcrawl::history::summary::Summarizer::default();
    let (summaries_first, _) = time(1, || Ok(summarizer.summaries(db, now + 1_000)?))?;
    let (summaries_refresh, summaries) = time(3, || Ok(summarizer.summaries(db, now + 6_000)?))?;

    let status = dcrawl::server::StatusStore::default();
    status.apply_config(&config(a.targets)?);
    let snapshot = status.snapshot();
    let (page_t, page) = time(3, || {
        Ok(dcrawl::server::page::render_with(
            &snapshot,
            status.share(),
            at(now),
            Some(&summaries),
        )?)
    })?;
    let (plain_t, plain) = time(3, || {
        Ok(dcrawl::server::page::render(
            &snapshot,
            status.share(),
            at(now),
        )?)
    })?;

    let rows: Vec<(String, String)> = db
        .targets()?
        .into_iter()
        .map(|r| (r.spec, r.target))
        .collect();
    let one = [("bench-00".to_string(), "t5".to_string())];
    let spec00: Vec<(String, String)> = rows
        .iter()
        .filter(|(s, _)| s == "bench-00")
        .cloned()
        .collect();
    let api = |wanted: &[(String, String)], days: i64| {
        let opts = Options {
            incidents_limit: 100,
            series: true,
        };
        let docs = doc::build(db, wanted, now - days * DAY_MS, now, now, opts)?;
        Ok(serde_json::to_string(&docs)?.len())
    };
    let (api_day, _) = time(5, || api(&one, 1))?;
    let (api_month, api_one_bytes) = time(5, || api(&one, 30))?;
    let (api_quarter, _) = time(5, || api(&one, 90))?;
    let (api_spec, _) = time(3, || api(&spec00, 30))?;
    let api_all = time(1, || api(&rows, 30))?;

    let range = Range {
        from: at(now - 30 * DAY_MS),
        to: at(now),
    };
    let (report_t, lines) = time(3, || {
        let r = report::build(db, range, None, None, at(now))?;
        Ok(report::render(&r, report::Format::Text).lines().count())
    })?;
    let (report_csv, _) = time(3, || {
        let r = report::build(db, range, None, None, at(now))?;
        Ok(report::render(&r, report::Format::Csv))
    })?;
    let report_binary = match binary() {
        Some(bin) => Some(time(3, || run_report(&bin, &a.dir, range))?.0),
        None => None,
    };
    Ok(Reads {
        summaries_first,
        summaries_refresh,
        page: (page_t, page.len()),
        plain_page: (plain_t, plain.len()),
        api_one: [api_day, api_month, api_quarter],
        api_one_bytes,
        api_spec,
        api_all,
        report_text: (report_t, lines),
        report_csv,
        report_binary,
    })
}

/// The `dcrawl` binary of the same profile as this example, if it is built.
fn binary() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("dcrawl"))
        .filter(|p| p.is_file())
}

/// `dcrawl report --state-dir DIR --from .. --to ..`, its output discarded.
fn run_report(bin: &Path, dir: &Path, range: Range) -> Result<()> {
    let out = std::process::Command::new(bin)
        .args(["report", "--state-dir"])
        .arg(dir)
        .args(["--from", &range.from.to_rfc3339()])
        .args(["--to", &range.to.to_rfc3339()])
        .output()?;
    if !out.status.success() {
        bail!(
            "dcrawl report failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
