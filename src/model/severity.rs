//! How much a failed assertion counts.

use serde::Serialize;

/// How much a failed assertion counts: `failure` (the default) fails the run, `warning` only
/// makes it a `warning` (`severity: warning` in the spec).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the run.
    #[default]
    Failure,
    /// Makes the run a warning.
    Warning,
}

impl Severity {
    /// Is this the default (`failure`)? Failures of the default severity are shown without it.
    pub fn is_failure(&self) -> bool {
        *self == Severity::Failure
    }

    /// `failure` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Failure => "failure",
            Severity::Warning => "warning",
        }
    }
}
