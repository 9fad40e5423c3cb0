//! Rendering results for people ([`text`]) and machines ([`json`]).

pub mod json;
pub mod text;

use crate::result::{CheckResult, Outcome};

/// `text` with `& < > " '` escaped, for HTML (and XML) content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Counts of each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Targets whose every assertion held.
    pub success: usize,
    /// Targets where only `severity: warning` assertions failed.
    pub warning: usize,
    /// Targets with a failed assertion.
    pub failure: usize,
    /// Targets with no usable response.
    pub error: usize,
}

impl Summary {
    /// Count the outcomes of `results`.
    pub fn of(results: &[CheckResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.outcome {
                Outcome::Success => s.success += 1,
                Outcome::Warning => s.warning += 1,
                Outcome::Failure => s.failure += 1,
                Outcome::Error => s.error += 1,
            }
        }
        s
    }

    /// Did everything pass (warnings pass)?
    pub fn all_ok(&self) -> bool {
        self.failure == 0 && self.error == 0
    }
}

/// Format an extracted value: integers without a fraction, others as they are.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
