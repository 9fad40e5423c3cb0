//! Evaluation: a response against a target's expectations and extractions.
//!
//! The HTTP-level assertions (`http`: status, duration, headers, TLS) need no body text.
//! Everything else shares one decoded text (`body`), at most one HTML parse (`html`) and
//! one JSON parse ([`json`]), made only when some assertion or extract needs them. Checks
//! ([`check`]) are the common vocabulary; failures carry stable assertion ids and say what was
//! expected and what was found.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

mod body;
pub mod capture;
pub mod check;
mod dom;
mod extract;
pub mod html;
mod http;
pub mod json;
mod json_prune;
mod markup;
mod show;
pub mod stream;

use crate::fetch::Response;
use markup::Markup;
pub use markup::{Engine, HtmlPath, Links};

use crate::model::{CssSelector, Expect, Extract, ExtractSource, MatchMode};
use crate::result::Failure;

/// What evaluating one response yielded.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Failed assertions (empty = success).
    pub failures: Vec<Failure>,
    /// Extracted values by name.
    pub extracted: BTreeMap<String, f64>,
    /// Set when the body could not be decoded for the assertions that need it (=> `error`);
    /// when it is neither the HTML nor the JSON they need, both reasons, `; `-separated.
    pub error: Option<String>,
    /// The page's links, when [`Options::follow`] asked for them and the page is HTML.
    pub links: Option<Links>,
    /// Which HTML path answered, when the page was parsed as HTML.
    pub html_path: Option<HtmlPath>,
}

/// How to evaluate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Which HTML path to use.
    pub engine: Engine,
    /// Also collect the `href`s of this selector's matches (and `<base href>`), for a crawl.
    pub follow: Option<&'a CssSelector>,
}

/// Evaluate `response` against `expect` and `extract`. The body is decoded and parsed at most
/// once (one HTML parse, one JSON parse) and shared by every assertion.
pub fn evaluate(expect: &Expect, extract: &[Extract], response: &Response) -> Evaluation {
    evaluate_with(expect, extract, response, Options::default())
}

/// [`evaluate`] with [`Options`].
pub fn evaluate_with(
    expect: &Expect,
    extract: &[Extract],
    response: &Response,
    options: Options<'_>,
) -> Evaluation {
    let now = unix_now();
    let ev = evaluate_at(expect, extract, response, now, options);
    // In unit tests every page the streaming path answers is also run through the DOM path:
    // both must say the same.
    #[cfg(test)]
    if ev.html_path == Some(HtmlPath::Stream) {
        let dom = Options {
            engine: Engine::Dom,
            ..options
        };
        let other = evaluate_at(expect, extract, response, now, dom);
        assert_eq!(ev.failures, other.failures, "failures differ by HTML path");
        assert_eq!(
            ev.extracted, other.extracted,
            "extracted values differ by HTML path"
        );
        assert_eq!(ev.links, other.links, "links differ by HTML path");
    }
    ev
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
    options: Options<'_>,
) -> Evaluation {
    let mut ev = Evaluation::default();
    let failures = &mut ev.failures;
    failures.extend(
        http::status(&expect.status, response.status)
            .map(|f| f.with_severity(expect.status_severity)),
    );
    failures.extend(http::max_duration(expect, response));
    http::headers(&expect.headers, &response.headers, failures);

    let needs_html = options.follow.is_some()
        || !expect.html.is_empty()
        || extract
            .iter()
            .any(|e| !matches!(e.source, ExtractSource::Json(_)));
    let needs_json = !expect.json.is_empty()
        || extract
            .iter()
            .any(|e| matches!(e.source, ExtractSource::Json(_)));
    let needs_text =
        needs_html || needs_json || !expect.body.is_empty() || !expect.body_warnings.is_empty();
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
        let warning = |f: Failure| f.with_severity(crate::result::Severity::Warning);
        failures.extend(http::body(&expect.body_warnings, text).map(warning));
    }
    failures.extend(http::tls(expect.tls, response, now));

    let Some(text) = text else {
        return ev;
    };
    let markup = if needs_html {
        match Markup::parse(&text, expect, extract, options.follow, options.engine) {
            Ok(markup) => Some(markup),
            Err(e) => {
                add_error(&mut ev.error, e);
                None
            }
        }
    } else {
        None
    };
    let mut json_failures = Vec::new();
    let json = if needs_json {
        match json::document(&text, expect, extract) {
            Ok((doc, failed)) => {
                json_failures = failed;
                Some(doc)
            }
            Err(e) => {
                add_error(&mut ev.error, json_error(&e));
                None
            }
        }
    } else {
        None
    };
    if let Some(markup) = &markup {
        ev.html_path = Some(markup.path);
        ev.links = markup.links();
        let mut buf = String::new();
        for (i, a) in expect.html.iter().enumerate() {
            if let Some(view) = markup.assertion(i) {
                let failed = html::assert(a, view, &mut buf);
                ev.failures
                    .extend(failed.map(|f| f.with_severity(a.severity)));
            }
        }
    }
    ev.failures.extend(json_failures);
    for (j, ex) in extract.iter().enumerate() {
        let view = markup.as_ref().and_then(|m| m.extraction(j));
        match extract::extract(ex, view, json.as_ref()) {
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

/// Record why the body is not usable: a second reason (the page is neither HTML nor JSON) is
/// added to the first, not put in its place.
fn add_error(error: &mut Option<String>, why: String) {
    match error {
        None => *error = Some(why),
        Some(first) => {
            first.push_str("; ");
            first.push_str(why.strip_prefix(UNDECODABLE).unwrap_or(&why));
        }
    }
}

/// How every reason for an unusable body starts.
const UNDECODABLE: &str = "undecodable body: ";

/// Why a body is not JSON. serde_json stops at 128 levels of nesting (its recursion limit, which
/// keeps a hostile document from overflowing the stack); say so in words.
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.strip_prefix("recursion limit exceeded") {
        Some(at) => format!("undecodable body: invalid JSON: nested deeper than 128 levels{at}"),
        None => format!("undecodable body: invalid JSON: {text}"),
    }
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
