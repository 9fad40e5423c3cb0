//! `check --format json`: one JSON document, in the documented shape (each result, then a summary).

use serde::Serialize;
use serde_json::Value;

use super::Summary;
use crate::result::{CheckResult, CrawlReport, Failure, PageResult, StepResult};

#[derive(Serialize)]
struct Document<'a> {
    results: Vec<ResultJson<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct ResultJson<'a> {
    spec: &'a str,
    target: &'a str,
    url: &'a str,
    result: &'static str,
    error: Option<&'a str>,
    status: Option<u16>,
    duration_seconds: f64,
    failures: &'a [Failure],
    extracted: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<Vec<PageJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crawl: Option<CrawlJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<StepJson<'a>>>,
}

/// One step of a flow as JSON (`check --format json` and `/api/v1/status`).
#[derive(Serialize)]
pub struct StepJson<'a> {
    name: &'a str,
    url: Option<&'a str>,
    result: &'static str,
    status: Option<u16>,
    duration_seconds: f64,
    failures: &'a [Failure],
    error: Option<&'a str>,
}

impl<'a> StepJson<'a> {
    /// The JSON form of `s`.
    pub fn of(s: &'a StepResult) -> StepJson<'a> {
        StepJson {
            name: &s.name,
            url: s.url.as_deref(),
            result: s.result_str(),
            status: s.status,
            duration_seconds: seconds(s.duration),
            failures: &s.failures,
            error: s.error.as_deref(),
        }
    }
}

/// Seconds rounded to the microsecond.
fn seconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// One page of a crawl as JSON.
#[derive(Serialize)]
pub struct PageJson<'a> {
    url: &'a str,
    depth: u32,
    linked_from: Option<&'a str>,
    result: &'static str,
    error: Option<&'a str>,
    status: Option<u16>,
    duration_seconds: f64,
    failures: &'a [Failure],
}

impl<'a> PageJson<'a> {
    /// The JSON form of `p`.
    pub fn of(p: &'a PageResult) -> PageJson<'a> {
        PageJson {
            url: &p.url,
            depth: p.depth,
            linked_from: p.linked_from.as_deref(),
            result: p.outcome.as_str(),
            error: p.error.as_deref(),
            status: p.status,
            duration_seconds: seconds(p.duration),
            failures: &p.failures,
        }
    }
}

/// The counts of a crawl run as JSON (`check --format json` and `/api/v1/status`).
#[derive(Serialize)]
pub struct CrawlJson<'a> {
    pages: u64,
    ok: u64,
    failed: u64,
    robots_skipped: u64,
    truncated: bool,
    slowest: Option<Slowest<'a>>,
}

/// The slowest page of a crawl run.
#[derive(Serialize)]
struct Slowest<'a> {
    url: &'a str,
    duration_seconds: f64,
}

impl<'a> CrawlJson<'a> {
    /// The JSON form of `c`'s counts.
    pub fn of(c: &'a CrawlReport) -> CrawlJson<'a> {
        CrawlJson {
            pages: c.ok + c.failed,
            ok: c.ok,
            failed: c.failed,
            robots_skipped: c.robots_skipped,
            truncated: c.truncated,
            slowest: c.slowest().map(|p| Slowest {
                url: &p.url,
                duration_seconds: seconds(p.duration),
            }),
        }
    }
}

/// A JSON number for an extracted value: an integer when it has no fraction.
pub fn number_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Render all results and their summary as one pretty-printed JSON document.
pub fn render(results: &[CheckResult]) -> String {
    let doc = Document {
        results: results
            .iter()
            .map(|r| ResultJson {
                spec: &r.spec,
                target: &r.target,
                url: &r.url,
                result: r.outcome.as_str(),
                error: r.error.as_deref(),
                status: r.status,
                duration_seconds: seconds(r.duration),
                failures: &r.failures,
                extracted: r
                    .extracted
                    .iter()
                    .map(|(k, v)| (k.clone(), number_value(*v)))
                    .collect(),
                pages: r
                    .crawl
                    .as_ref()
                    .map(|c| c.pages.iter().map(PageJson::of).collect()),
                crawl: r.crawl.as_deref().map(CrawlJson::of),
                steps: r
                    .steps
                    .as_ref()
                    .map(|s| s.iter().map(StepJson::of).collect()),
            })
            .collect(),
        summary: Summary::of(results),
    };
    // Serialising plain structs of strings and numbers cannot fail; fall back to an empty
    // document rather than panicking if it ever did.
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| String::from("{}"))
}
