//! The one page check every kind of target shares: fetch a URL with a target's request
//! settings, evaluate the response, redact what it found and decide the verdict.
//!
//! A plain target is one page check ([`crate::runner`]); a crawl is one per page it reaches
//! ([`crate::crawl`]), taking each page's links from the same HTML parse the assertions use.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::CONTENT_TYPE;
use url::Url;

mod links;
pub(crate) mod render;

use crate::evaluate::{Options, evaluate, evaluate_with};
use crate::fetch::{Fetcher, Response, Within};
use crate::model::{CssSelector, Expect, Extract, Target};
use crate::result::{CheckResult, Failure, Outcome};
pub(crate) use links::{normalise, resolve as resolve_links};

/// How to check a page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checks<'a> {
    /// Assertions for an HTML response (`expect_each`, or the seed's `expect`).
    pub expect: &'a Expect,
    /// Assertions for any other response (only the HTTP-level ones of `expect_each`).
    pub non_html: &'a Expect,
    /// Values to extract (the seed only).
    pub extract: &'a [Extract],
    /// Links to take from a 2xx HTML page, if its links are followed.
    pub follow: Option<&'a CssSelector>,
    /// With a wrong status, report only that (a crawled page); the seed reports everything.
    pub status_only: bool,
}

impl<'a> Checks<'a> {
    /// Everything a target's own `expect` and `extract` ask of its page, no links.
    pub(crate) fn of(target: &'a Target) -> Checks<'a> {
        Checks {
            expect: &target.expect,
            non_html: &target.expect,
            extract: &target.extract,
            follow: None,
            status_only: false,
        }
    }
}

/// What checking a page found.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// The verdict.
    pub outcome: Outcome,
    /// Why no response came.
    pub error: Option<String>,
    /// Status of the response.
    pub status: Option<u16>,
    /// Time to the full body or the error.
    pub duration: Duration,
    /// Decompressed body size.
    pub size: Option<u64>,
    /// Certificate expiry (https).
    pub tls_not_after: Option<i64>,
    /// Where redirects ended.
    pub final_url: Option<Url>,
    /// Failed assertions; only `status` when the status is wrong (the rest would be noise).
    pub failures: Vec<Failure>,
    /// Extracted values.
    pub extracted: BTreeMap<String, f64>,
    /// Links found (normalised, in document order, each once).
    pub links: Vec<Url>,
}

/// The result of a page task that ended abnormally.
pub(crate) fn aborted() -> Checked {
    Checked {
        outcome: Outcome::Error,
        error: Some("internal error: the page check ended abnormally".into()),
        status: None,
        duration: Duration::ZERO,
        size: None,
        tls_not_after: None,
        final_url: None,
        failures: Vec::new(),
        extracted: BTreeMap::new(),
        links: Vec::new(),
    }
}

/// Fetch `url` with `request`'s settings and check the response.
pub(crate) async fn check(
    fetcher: &Fetcher,
    request: &Target,
    url: &Url,
    checks: Checks<'_>,
    within: Option<Within<'_>>,
) -> Checked {
    let start = Instant::now();
    match fetcher.fetch_within(request, url, within).await {
        Err(e) => Checked {
            error: Some(request.redact(&e.to_string())),
            duration: start.elapsed(),
            ..aborted()
        },
        Ok(response) => evaluated(request, &response, checks),
    }
}

/// Check a response that came (fetched by [`check`], or by a caller that needs the response
/// itself afterwards).
pub(crate) fn evaluated(request: &Target, response: &Response, checks: Checks<'_>) -> Checked {
    let evaluation = if is_html(response) {
        let follow = checks
            .follow
            .filter(|_| (200..300).contains(&response.status));
        let options = Options {
            follow,
            ..Options::default()
        };
        evaluate_with(checks.expect, checks.extract, response, options)
    } else {
        evaluate(checks.non_html, checks.extract, response)
    };
    let links_found = evaluation
        .links
        .as_ref()
        .map(|l| resolve_links(l, &response.final_url))
        .unwrap_or_default();
    let mut failures: Vec<Failure> = evaluation
        .failures
        .into_iter()
        .map(|f| f.redacted(&request.secrets))
        .collect();
    let mut error = evaluation.error;
    if checks.status_only
        && let Some(status) = failures.iter().position(|f| f.assertion == "status")
    {
        let only = failures.swap_remove(status);
        failures = vec![only];
        error = None;
    }
    let outcome = Outcome::judge(error.is_some(), &failures);
    Checked {
        outcome,
        error: error.map(|e| request.redact(&e)),
        status: Some(response.status),
        duration: response.duration,
        size: Some(response.body.len() as u64),
        tls_not_after: response.tls_not_after,
        final_url: Some(response.final_url.clone()),
        failures,
        extracted: evaluation.extracted,
        links: links_found,
    }
}

/// Is the response HTML? By its Content-Type, or, without one, by a body that starts with `<`.
fn is_html(response: &Response) -> bool {
    match response.headers.get(CONTENT_TYPE) {
        Some(v) => {
            let v = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
            v.starts_with("text/html") || v.starts_with("application/xhtml+xml")
        }
        None => response
            .body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<'),
    }
}

/// The HTTP-level part of `expect` (status, headers, duration, TLS): what applies to a page
/// that is not HTML.
pub(crate) fn http_only(expect: &Expect) -> Expect {
    Expect {
        status: expect.status.clone(),
        status_severity: expect.status_severity,
        max_duration: expect.max_duration,
        max_duration_severity: expect.max_duration_severity,
        headers: expect.headers.clone(),
        body: Vec::new(),
        body_warnings: Vec::new(),
        tls: expect.tls,
        html: Vec::new(),
        json: Vec::new(),
        console_errors: None,
        console_errors_severity: Default::default(),
        failed_requests: None,
        failed_requests_severity: Default::default(),
    }
}

impl CheckResult {
    /// The result of one page check of `target`.
    pub(crate) fn of_page(target: &Target, started_at: SystemTime, page: Checked) -> CheckResult {
        CheckResult {
            outcome: page.outcome,
            error: page.error,
            status: page.status,
            duration: page.duration,
            failures: page.failures,
            extracted: page.extracted,
            response_size: page.size,
            tls_not_after: page.tls_not_after,
            ..CheckResult::blank(target, started_at)
        }
    }
}
