//! `check --format json`: one JSON document, exactly as CONTRACT §4 describes.

use serde::Serialize;
use serde_json::Value;

use super::Summary;
use crate::result::{CheckResult, Failure};

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
                duration_seconds: (r.duration.as_secs_f64() * 1e6).round() / 1e6,
                failures: &r.failures,
                extracted: r
                    .extracted
                    .iter()
                    .map(|(k, v)| (k.clone(), number_value(*v)))
                    .collect(),
            })
            .collect(),
        summary: Summary::of(results),
    };
    // Serialising plain structs of strings and numbers cannot fail; fall back to an empty
    // document rather than panicking if it ever did.
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| String::from("{}"))
}
