//! The outcome of checking a target once: data first, rendered later (text, JSON, metrics, alerts).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

pub use crate::model::Severity;
use crate::model::Target;

/// `success`, `warning`, `failure` or `error`, as the contract defines them; ordered from best
/// to worst, so that the worst of several is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every assertion held.
    Success,
    /// A response came and only assertions of `severity: warning` failed.
    Warning,
    /// A response came but an assertion failed.
    Failure,
    /// No usable response.
    Error,
}

impl Outcome {
    /// Every outcome, best to worst (the order of the enum).
    pub const ALL: [Outcome; 4] = [
        Outcome::Success,
        Outcome::Warning,
        Outcome::Failure,
        Outcome::Error,
    ];

    /// The verdict on a response: `error` when it was unusable, else `failure` when an
    /// assertion failed, else `warning` when only `severity: warning` assertions failed, else
    /// `success`. Every kind of check decides by this one rule.
    pub fn judge(unusable: bool, failures: &[Failure]) -> Outcome {
        if unusable {
            Outcome::Error
        } else if failures.iter().any(|f| f.severity == Severity::Failure) {
            Outcome::Failure
        } else if failures.is_empty() {
            Outcome::Success
        } else {
            Outcome::Warning
        }
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Warning => "warning",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
    }

    /// `failure` or `error`: the run failed (a warning did not).
    pub fn is_failing(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Error)
    }
}

/// One failed assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Failure {
    /// Stable assertion id: `status`, `headers.content-type`, `html[0]`, `extract.NAME`...
    pub assertion: String,
    /// What was expected and what was found.
    pub message: String,
    /// `warning` for an assertion of `severity: warning` (shown only then, as
    /// `"severity": "warning"`).
    #[serde(default, skip_serializing_if = "Severity::is_failure")]
    pub severity: Severity,
}

impl Failure {
    /// Build a failure (of the default severity).
    pub fn new(assertion: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            assertion: assertion.into(),
            message: message.into(),
            severity: Severity::Failure,
        }
    }

    /// The same failure with `severity`.
    pub fn with_severity(self, severity: Severity) -> Failure {
        Failure { severity, ..self }
    }

    /// Is it only a warning?
    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    /// The failure with every secret in its message replaced by `***`.
    pub fn redacted(self, secrets: &[String]) -> Failure {
        Failure {
            message: crate::model::redact(&self.message, secrets),
            ..self
        }
    }

    /// One line for people: `ASSERTION: MESSAGE`, without repeating the id when the message
    /// already starts with it (`html[0] "ul > li": expected count >= 10, found 3`); a warning
    /// starts with `warning: `.
    pub fn line(&self) -> String {
        match self.severity {
            Severity::Failure => self.text(),
            Severity::Warning => format!("warning: {}", self.text()),
        }
    }

    /// [`Failure::line`] without the `warning: ` mark.
    pub fn text(&self) -> String {
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
    /// Every step of a flow target's run, in order (`None` for other targets).
    pub steps: Option<Vec<StepResult>>,
    /// What rendering in a browser gave (`None` for targets that are not rendered).
    pub rendered: Option<Box<RenderInfo>>,
}

/// A rendered target's extras.
#[derive(Debug, Clone)]
pub struct RenderInfo {
    /// Time the browser took, from navigation to the serialised DOM (and screenshot).
    pub duration: Duration,
    /// The screenshot to keep (PNG), when `render.screenshot` asks for one this run. The daemon
    /// writes it to the state directory and drops it from the result it keeps.
    pub screenshot: Option<bytes::Bytes>,
}

impl CheckResult {
    /// A result for `target` with nothing observed yet (success until something says otherwise).
    pub fn blank(target: &Target, started_at: SystemTime) -> CheckResult {
        CheckResult {
            spec: target.spec.clone(),
            target: target.name.clone(),
            url: target.redact(target.url.as_str()),
            outcome: Outcome::Success,
            error: None,
            status: None,
            duration: Duration::ZERO,
            failures: Vec::new(),
            extracted: BTreeMap::new(),
            response_size: None,
            tls_not_after: None,
            started_at,
            crawl: None,
            steps: None,
            rendered: None,
        }
    }

    /// The result of a check task that ended abnormally (it panicked): an error, never dropped.
    pub fn aborted(target: &Target) -> CheckResult {
        CheckResult {
            outcome: Outcome::Error,
            error: Some("internal error: the check ended abnormally".into()),
            ..CheckResult::blank(target, SystemTime::now())
        }
    }

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
            steps: self.steps.clone(),
            rendered: self.rendered.as_ref().map(|r| {
                Box::new(RenderInfo {
                    duration: r.duration,
                    screenshot: None,
                })
            }),
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

/// One step of a flow run.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// The step's name.
    pub name: String,
    /// The URL requested (secrets redacted); `None` when no request was made.
    pub url: Option<String>,
    /// Its verdict; `None` when it was skipped (an earlier step failed).
    pub outcome: Option<Outcome>,
    /// Status of its response, if one came.
    pub status: Option<u16>,
    /// Time to its full body (or to the error).
    pub duration: Duration,
    /// Its failed assertions and captures (ids without the `step.NAME.` prefix).
    pub failures: Vec<Failure>,
    /// Why it got no usable response.
    pub error: Option<String>,
}

impl StepResult {
    /// A step that did not run because an earlier one failed.
    pub fn skipped(name: &str) -> StepResult {
        StepResult {
            name: name.to_string(),
            url: None,
            outcome: None,
            status: None,
            duration: Duration::ZERO,
            failures: Vec::new(),
            error: None,
        }
    }

    /// A step that got no usable response.
    pub fn error(name: &str, url: Option<String>, reason: String) -> StepResult {
        StepResult {
            outcome: Some(Outcome::Error),
            url,
            error: Some(reason),
            ..StepResult::skipped(name)
        }
    }

    /// `success`, `warning`, `failure`, `error` or `skipped`.
    pub fn result_str(&self) -> &'static str {
        self.outcome.map_or("skipped", Outcome::as_str)
    }

    /// The same with every secret replaced by `***`.
    pub fn redact(&mut self, secrets: &[String]) {
        if let Some(u) = &mut self.url {
            *u = crate::redact::redact(u, secrets);
        }
        if let Some(e) = &mut self.error {
            *e = crate::redact::redact(e, secrets);
        }
        for f in &mut self.failures {
            f.message = crate::redact::redact(&f.message, secrets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_beats_warning_and_error_beats_both() {
        let warn = Failure::new("max_duration", "slow").with_severity(Severity::Warning);
        let fail = Failure::new("status", "expected 2xx, found 500");
        assert_eq!(Outcome::judge(false, &[]), Outcome::Success);
        assert_eq!(
            Outcome::judge(false, std::slice::from_ref(&warn)),
            Outcome::Warning
        );
        assert_eq!(
            Outcome::judge(false, &[warn.clone(), fail.clone()]),
            Outcome::Failure
        );
        assert_eq!(Outcome::judge(true, &[warn.clone(), fail]), Outcome::Error);
        assert_eq!(
            Outcome::judge(true, std::slice::from_ref(&warn)),
            Outcome::Error
        );
        // The worst of several is their max.
        assert!(Outcome::Success < Outcome::Warning && Outcome::Warning < Outcome::Failure);
        assert!(Outcome::Failure < Outcome::Error);
        assert!(!Outcome::Warning.is_failing() && Outcome::Failure.is_failing());
        assert_eq!(warn.line(), "warning: max_duration: slow");
        assert_eq!(warn.text(), "max_duration: slow");
    }

    #[test]
    fn only_warnings_say_their_severity_in_json() {
        let fail = Failure::new("status", "m");
        assert_eq!(
            serde_json::to_value(&fail).unwrap(),
            serde_json::json!({"assertion": "status", "message": "m"})
        );
        let warn = fail.with_severity(Severity::Warning);
        assert_eq!(
            serde_json::to_value(&warn).unwrap(),
            serde_json::json!({"assertion": "status", "message": "m", "severity": "warning"})
        );
        // Stored notifications from before severities existed still read back.
        let old: Failure = serde_json::from_str(r#"{"assertion":"a","message":"b"}"#).unwrap();
        assert_eq!(old.severity, Severity::Failure);
    }
}
