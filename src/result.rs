//! The outcome of checking a target once: data first, rendered later (text, JSON, metrics, alerts).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// `success`, `failure` or `error`, as the contract defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every assertion held.
    Success,
    /// A response came but an assertion failed.
    Failure,
    /// No usable response.
    Error,
}

impl Outcome {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
    }
}

/// One failed assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Failure {
    /// Stable assertion id: `status`, `headers.content-type`, `html[0]`, `extract.NAME`...
    pub assertion: String,
    /// What was expected and what was found.
    pub message: String,
}

impl Failure {
    /// Build a failure.
    pub fn new(assertion: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            assertion: assertion.into(),
            message: message.into(),
        }
    }

    /// The failure with every secret in its message replaced by `***`.
    pub fn redacted(self, secrets: &[String]) -> Failure {
        Failure {
            message: crate::model::redact(&self.message, secrets),
            assertion: self.assertion,
        }
    }

    /// One line for people: `ASSERTION: MESSAGE`, without repeating the id when the message
    /// already starts with it (`html[0] "ul > li": expected count >= 10, found 3`).
    pub fn line(&self) -> String {
        if self.message.starts_with(&self.assertion) {
            self.message.clone()
        } else {
            format!("{}: {}", self.assertion, self.message)
        }
    }
}

/// The result of one check run of one target.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
    /// The requested URL (secrets redacted).
    pub url: String,
    /// The verdict.
    pub outcome: Outcome,
    /// The reason when `outcome` is `Error`.
    pub error: Option<String>,
    /// HTTP status of the final response, if one came.
    pub status: Option<u16>,
    /// Time to the full body (or to the error).
    pub duration: Duration,
    /// Failed assertions.
    pub failures: Vec<Failure>,
    /// Extracted values by name.
    pub extracted: BTreeMap<String, f64>,
    /// Size of the (decompressed) body, if read.
    pub response_size: Option<u64>,
    /// Leaf certificate expiry, Unix seconds, for https.
    pub tls_not_after: Option<i64>,
    /// When the run started.
    pub started_at: SystemTime,
    /// What a crawl target's run found, page by page (`None` for other targets).
    pub crawl: Option<Box<CrawlReport>>,
}

impl CheckResult {
    /// A copy to keep until the next run: a crawl keeps its counts, failed pages and slowest
    /// page, not every page.
    pub fn to_keep(&self) -> CheckResult {
        CheckResult {
            spec: self.spec.clone(),
            target: self.target.clone(),
            url: self.url.clone(),
            outcome: self.outcome,
            error: self.error.clone(),
            status: self.status,
            duration: self.duration,
            failures: self.failures.clone(),
            extracted: self.extracted.clone(),
            response_size: self.response_size,
            tls_not_after: self.tls_not_after,
            started_at: self.started_at,
            crawl: self.crawl.as_ref().map(|c| Box::new(c.summary())),
        }
    }
}

/// The pages of one crawl run and their counts.
#[derive(Debug, Clone, Default)]
pub struct CrawlReport {
    /// Every page fetched, the seed first, in crawl order.
    pub pages: Vec<PageResult>,
    /// Pages that passed.
    pub ok: u64,
    /// Pages that failed or got no response.
    pub failed: u64,
    /// Distinct in-scope URLs not requested because robots.txt disallows them.
    pub robots_skipped: u64,
    /// `max_pages` stopped the crawl with URLs left.
    pub truncated: bool,
}

impl CrawlReport {
    /// The page that took longest, if any was fetched.
    pub fn slowest(&self) -> Option<&PageResult> {
        self.pages.iter().max_by_key(|p| p.duration)
    }

    /// The counts with only the pages worth keeping between runs: the failed ones and the
    /// slowest (a daemon holds this, not every page).
    pub fn summary(&self) -> CrawlReport {
        let slowest = self.slowest().map(|p| p.url.as_str());
        CrawlReport {
            pages: self
                .pages
                .iter()
                .filter(|p| p.outcome != Outcome::Success || Some(p.url.as_str()) == slowest)
                .cloned()
                .collect(),
            ..*self
        }
    }

    /// The pages that did not pass, in crawl order.
    pub fn failed_pages(&self) -> impl Iterator<Item = &PageResult> {
        self.pages.iter().filter(|p| p.outcome != Outcome::Success)
    }
}

/// One page of a crawl.
#[derive(Debug, Clone)]
pub struct PageResult {
    /// Its normalised URL (secrets redacted).
    pub url: String,
    /// Link hops from the seed (sitemap entries are 0, like the seed).
    pub depth: u32,
    /// The first page (in crawl order) that linked to it, or the sitemap that listed it.
    pub linked_from: Option<String>,
    /// Its verdict.
    pub outcome: Outcome,
    /// Why it got no response.
    pub error: Option<String>,
    /// Its status, if a response came.
    pub status: Option<u16>,
    /// Time to its full body (or to the error).
    pub duration: Duration,
    /// Its failed assertions (ids as in `expect_each`, or the seed's `expect`).
    pub failures: Vec<Failure>,
}
