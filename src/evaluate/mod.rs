//! Evaluation: a response against a target's expectations and extractions.
//!
//! The HTTP-level assertions ([`http`]: status, duration, headers, TLS) need no body text.
//! Everything else shares one decoded text ([`body`]), at most one HTML parse ([`html`]) and
//! one JSON parse ([`json`]), made only when some assertion or extract needs them. Checks
//! ([`check`]) are the common vocabulary; failures carry stable assertion ids and say what was
//! expected and what was found.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

mod body;
pub mod check;
mod extract;
pub mod html;
mod http;
pub mod json;
mod show;

use scraper::Html;
use serde_json::Value;

use crate::fetch::Response;
use crate::model::{Expect, Extract, ExtractSource, MatchMode};
use crate::result::Failure;

/// What evaluating one response yielded.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Failed assertions (empty = success).
    pub failures: Vec<Failure>,
    /// Extracted values by name.
    pub extracted: BTreeMap<String, f64>,
    /// Set when the body could not be decoded for the assertions that need it (=> `error`).
    pub error: Option<String>,
}

/// Evaluate `response` against `expect` and `extract`. The body is decoded and parsed at most
/// once (one HTML parse, one JSON parse) and shared by every assertion.
pub fn evaluate(expect: &Expect, extract: &[Extract], response: &Response) -> Evaluation {
    let now = unix_now();
    evaluate_at(expect, extract, response, now, None)
}

/// [`evaluate`], also handing the parsed HTML document to `visit` (a crawl takes its links
/// from it). The page is parsed once for the assertions and the visitor.
pub fn evaluate_visiting(
    expect: &Expect,
    extract: &[Extract],
    response: &Response,
    visit: &mut dyn FnMut(&Html),
) -> Evaluation {
    evaluate_at(expect, extract, response, unix_now(), Some(visit))
}

/// Now as Unix seconds.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// [`evaluate`] with the current time (Unix seconds) given, for TLS expiry.
fn evaluate_at(
    expect: &Expect,
    extract: &[Extract],
    response: &Response,
    now: i64,
    visit: Option<&mut dyn FnMut(&Html)>,
) -> Evaluation {
    let mut ev = Evaluation::default();
    let failures = &mut ev.failures;
    failures.extend(http::status(&expect.status, response.status));
    failures.extend(http::max_duration(expect, response));
    http::headers(&expect.headers, &response.headers, failures);

    let needs_html = visit.is_some()
        || !expect.html.is_empty()
        || extract
            .iter()
            .any(|e| !matches!(e.source, ExtractSource::Json(_)));
    let needs_json = !expect.json.is_empty()
        || extract
            .iter()
            .any(|e| matches!(e.source, ExtractSource::Json(_)));
    let needs_text = needs_html || needs_json || !expect.body.is_empty();
    let text = if needs_text {
        match body::decode(&response.headers, &response.body) {
            Ok(text) => Some(text),
            Err(e) => {
                ev.error = Some(e);
                None
            }
        }
    } else {
        None
    };
    if let Some(text) = &text {
        failures.extend(http::body(&expect.body, text));
    }
    failures.extend(http::tls(expect.tls, response, now));

    let Some(text) = text else {
        return ev;
    };
    let html = needs_html.then(|| Html::parse_document(&text));
    let json = if needs_json {
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                ev.error = Some(format!("undecodable body: invalid JSON: {e}"));
                None
            }
        }
    } else {
        None
    };
    if let Some(doc) = &html {
        if let Some(visit) = visit {
            visit(doc);
        }
        let mut buf = String::new();
        for a in &expect.html {
            ev.failures.extend(html::assert(a, doc, &mut buf));
        }
    }
    if let Some(doc) = &json {
        for a in &expect.json {
            ev.failures.extend(json::assert(a, doc));
        }
    }
    for ex in extract {
        match extract::extract(ex, html.as_ref(), json.as_ref()) {
            Some(Ok(value)) => {
                ev.extracted.insert(ex.name.clone(), value);
            }
            Some(Err(why)) => ev
                .failures
                .push(Failure::new(format!("extract.{}", ex.name), why)),
            None => {}
        }
    }
    ev
}

/// The first failing item of a `match: all`/`any` assertion, and how many failed.
struct Judged {
    /// Index of the first failing item.
    index: usize,
    /// Its failure message.
    message: String,
    /// How many items failed (all of them for `any`).
    failed: usize,
}

impl Judged {
    /// The message of an assertion over `n` items (`matches`, `nodes`): the first failure as
    /// it is when there is one item, else with `place(index)` and how many failed.
    fn into_message(
        self,
        prefix: &str,
        n: usize,
        mode: MatchMode,
        items: &str,
        place: impl FnOnce(usize) -> String,
    ) -> String {
        let Judged {
            index,
            message,
            failed,
        } = self;
        if n == 1 {
            return format!("{prefix}: {message}");
        }
        let at = place(index);
        match mode {
            MatchMode::All => format!("{prefix}: {message} at {at} ({failed} of {n} failed)"),
            MatchMode::Any => format!("{prefix}: none of {n} {items} passed; at {at}: {message}"),
        }
    }
}

/// Run `check` on each item: `all` fails if any item fails (every item is run, to count them),
/// `any` fails if no item passes. No items is a vacuous pass either way. `check`'s flag says
/// whether its failure message is wanted (only the first one is shown; the rest are counted).
fn judge<T>(
    items: impl Iterator<Item = T>,
    mode: MatchMode,
    mut check: impl FnMut(T, bool) -> Result<(), String>,
) -> Option<Judged> {
    let mut first: Option<Judged> = None;
    let mut failed = 0;
    for (index, item) in items.enumerate() {
        match check(item, first.is_none()) {
            Ok(()) if mode == MatchMode::Any => return None,
            Ok(()) => {}
            Err(message) => {
                failed += 1;
                if first.is_none() {
                    first = Some(Judged {
                        index,
                        message,
                        failed: 0,
                    });
                }
            }
        }
    }
    first.map(|j| Judged { failed, ..j })
}

/// The mismatch's message when `render`, else an empty (unallocated) string.
fn render_if(render: bool, mismatch: &check::Mismatch<'_>, noun: impl std::fmt::Display) -> String {
    if render {
        mismatch.message(noun)
    } else {
        String::new()
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
