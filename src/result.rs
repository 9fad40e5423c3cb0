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
}
