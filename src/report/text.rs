//! `check` text output: one line per target, its failures below it, then a summary.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Summary, format_number};
use crate::result::{CheckResult, CrawlReport, Outcome, StepResult};

/// Text rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Use ANSI colours (a terminal without NO_COLOR).
    pub color: bool,
}

/// Human-friendly duration: `0.4 ms`, `41 ms`, `1.25 s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Render one result: the target line, then its error, failures and extracted values indented.
pub fn render_result(r: &CheckResult, id_width: usize, style: Style) -> String {
    let (word, color) = match r.outcome {
        Outcome::Success => ("ok   ", "32"),
        Outcome::Warning => ("WARN ", "33"),
        Outcome::Failure => ("FAIL ", "31;1"),
        Outcome::Error => ("ERROR", "33;1"),
    };
    let id = format!("{}/{}", r.spec, r.target);
    let status = r
        .status
        .map_or_else(|| "---".to_string(), |s| s.to_string());
    let mut out = format!(
        "{} {id:<id_width$}  {status:>3}  {:>9}\n",
        paint(style, color, word),
        format_duration(r.duration)
    );
    if let Some(reason) = &r.error {
        let _ = writeln!(out, "      error: {reason}");
    }
    if let Some(c) = &r.crawl {
        let _ = writeln!(out, "      {}", crawl_line(c));
    }
    match &r.steps {
        Some(steps) => render_steps(steps, &mut out),
        None => {
            for f in &r.failures {
                let _ = writeln!(out, "      {}", f.line());
            }
        }
    }
    if !r.extracted.is_empty() {
        let values: Vec<String> = r
            .extracted
            .iter()
            .map(|(k, v)| format!("{k}={}", format_number(*v)))
            .collect();
        let _ = writeln!(out, "      extracted: {}", values.join(" "));
    }
    if r.outcome != Outcome::Success {
        let _ = writeln!(out, "      url: {}", r.url);
    }
    out
}

/// A flow's steps: `step 2/3 profile: FAIL 401 12 ms`, each failure under its step.
fn render_steps(steps: &[StepResult], out: &mut String) {
    let total = steps.len();
    for (i, s) in steps.iter().enumerate() {
        let word = match s.outcome {
            Some(Outcome::Success) => "ok",
            Some(Outcome::Warning) => "WARN",
            Some(Outcome::Failure) => "FAIL",
            Some(Outcome::Error) => "ERROR",
            None => "skipped",
        };
        let mut line = format!("      step {}/{total} {}: {word}", i + 1, s.name);
        if s.outcome.is_some() {
            let status = s
                .status
                .map_or_else(|| "---".to_string(), |c| c.to_string());
            let _ = write!(line, " {status} {}", format_duration(s.duration));
        }
        let _ = writeln!(out, "{line}");
        if let Some(e) = &s.error {
            let _ = writeln!(out, "        error: {e}");
        }
        for f in &s.failures {
            let _ = writeln!(out, "        {}", f.line());
        }
    }
}

/// `pages: 498 ok, 5 failed; slowest http://… (1.21 s)`, plus robots and truncation notes.
pub fn crawl_line(c: &CrawlReport) -> String {
    let mut line = format!("pages: {} ok, {} failed", c.ok, c.failed);
    if c.robots_skipped > 0 {
        let _ = write!(line, ", {} disallowed by robots.txt", c.robots_skipped);
    }
    if c.truncated {
        line.push_str(", stopped at max_pages");
    }
    if let Some(p) = c.slowest() {
        let _ = write!(
            line,
            "; slowest {} ({})",
            p.url,
            format_duration(p.duration)
        );
    }
    line
}

/// The closing summary line.
pub fn render_summary(results: &[CheckResult], elapsed: Duration) -> String {
    let s = Summary::of(results);
    let warnings = if s.warning > 0 {
        format!(", {} warning", s.warning)
    } else {
        String::new()
    };
    format!(
        "{} target{}: {} success{warnings}, {} failure, {} error in {}\n",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        s.success,
        s.failure,
        s.error,
        format_duration(elapsed)
    )
}

/// Render every result and the summary.
pub fn render(results: &[CheckResult], elapsed: Duration, style: Style) -> String {
    let width = results
        .iter()
        .map(|r| r.spec.len() + r.target.len() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in results {
        out.push_str(&render_result(r, width, style));
    }
    out.push_str(&render_summary(results, elapsed));
    out
}
