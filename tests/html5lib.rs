//! The html5lib tree-construction suite (`tests/data/html5lib/`) through both HTML paths, via
//! the public evaluation: what a browser's `document.querySelectorAll` and `textContent` give.
//!
//! Every document test (not `#document-fragment`, not `#script-on`) is run twice:
//! - **raw**, the test's input as the page. From the expected tree come exact `count`
//!   assertions for `*`, for every element name in it and for every `parent > child` pair of
//!   names in it, and `text` assertions: for each name, every distinct (collapsed) text of its
//!   elements must be some match's text. Template contents are a separate fragment: they count
//!   for nothing and are no element's text. The DOM path must pass all of them, except for the
//!   cases in [`deviations::KNOWN`]; the streaming path, whenever it answers, must pass all of
//!   them, listed or not.
//! - **wrapped** in a full skeleton (`<!DOCTYPE html><html><head></head><body>` before, in
//!   place of a doctype the input starts with, and `</body></html>` after): the suite has no
//!   tree for that page, so whenever the streaming pass answers the same questions, its
//!   answers become the assertions, which both paths must pass.
//!
//! A listed deviation that passes fails the test too, so that the list stays honest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "html5lib/dat.rs"]
mod dat;
#[path = "html5lib/deviations.rs"]
mod deviations;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dcrawl::evaluate::html::collapse_into;
use dcrawl::evaluate::stream::{self, Query};
use dcrawl::evaluate::{Engine, Evaluation, HtmlPath, Options, evaluate_with};
use dcrawl::fetch::Response;
use dcrawl::model::{
    Check, CheckOp, CountRange, CssSelector, Expect, HtmlAssertion, MatchMode, Severity,
};
use dcrawl::spec::exprs::compile_css;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::json;
use url::Url;

use dat::{Case, Expected};

/// Put around a test's input for its wrapped run.
const WRAP: (&str, &str) = ("<!DOCTYPE html><html><head></head><body>", "</body></html>");

/// `data` without a doctype it starts with (the wrapped page has its own).
fn without_doctype(data: &str) -> &str {
    let starts = data
        .get(..9)
        .is_some_and(|s| s.eq_ignore_ascii_case("<!doctype"));
    match data.find('>') {
        Some(end) if starts => &data[end + 1..],
        _ => data,
    }
}

/// Every document test of the suite, with its file name.
fn cases() -> Vec<(String, Case)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/html5lib");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "{} .dat files", files.len());
    let mut all = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for case in dat::parse(&text) {
            if case.fragment.is_none() && case.scripting != Some(true) {
                all.push((name.clone(), case));
            }
        }
    }
    all
}

/// The type selector of an element name, escaped where CSS needs it.
fn type_selector(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        let plain = c.is_ascii_alphabetic()
            || c == '_'
            || !c.is_ascii()
            || (i > 0 && (c.is_ascii_digit() || c == '-'));
        if plain {
            out.push(c);
        } else {
            let _ = write!(out, "\\{:x} ", u32::from(c));
        }
    }
    out
}

/// Selectors compiled once, by source.
#[derive(Default)]
struct Selectors(HashMap<String, Option<CssSelector>>);

impl Selectors {
    /// The selector of `source`, if it compiles.
    fn get(&mut self, source: String) -> Option<CssSelector> {
        self.0
            .entry(source)
            .or_insert_with_key(|source| compile_css(source).ok())
            .clone()
    }

    /// `*`.
    fn every(&mut self) -> CssSelector {
        self.get("*".to_string()).unwrap()
    }

    /// The type selector of an element name.
    fn name(&mut self, name: &str) -> CssSelector {
        let css = self.get(type_selector(name));
        css.unwrap_or_else(|| panic!("no selector for the element name {name:?}"))
    }

    /// `parent > child`.
    fn child(&mut self, parent: &str, child: &str) -> CssSelector {
        let source = format!("{} > {}", type_selector(parent), type_selector(child));
        let css = self.get(source);
        css.unwrap_or_else(|| panic!("no selector for {parent:?} > {child:?}"))
    }
}

/// A 200 `text/html; charset=utf-8` response with `html` as its body.
fn response(html: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response {
        status: 200,
        headers,
        body: Bytes::from(html.to_string()),
        final_url: Url::parse("http://127.0.0.1/").unwrap(),
        duration: Duration::ZERO,
        tls_not_after: None,
        first_redirect: None,
    }
}

/// What a selector gives: how many matches and, when asked for, each one's text.
struct Answer {
    /// The selector.
    css: CssSelector,
    /// How many elements it matches.
    count: usize,
    /// Their texts (not yet collapsed), in document order.
    texts: Option<Vec<String>>,
}

/// The assertions that hold when `answers` are right: an exact count for each selector, and
/// for each distinct (collapsed) text of its matches, that some match has that text.
fn expect(answers: &[Answer]) -> Expect {
    let mut html = Vec::new();
    let mut buf = String::new();
    for a in answers {
        let count = CountRange::exactly(a.count as u64);
        html.push(HtmlAssertion {
            id: a.css.source.clone(),
            css: a.css.clone(),
            count,
            text: None,
            attrs: Vec::new(),
            mode: MatchMode::All,
            severity: Severity::Failure,
        });
        let mut seen: Vec<String> = Vec::new();
        for text in a.texts.iter().flatten() {
            collapse_into([text.as_str()], &mut buf);
            if seen.contains(&buf) {
                continue;
            }
            seen.push(buf.clone());
            html.push(HtmlAssertion {
                id: format!("{} text {}", a.css.source, seen.len()),
                css: a.css.clone(),
                count,
                text: Some(Check {
                    ops: vec![CheckOp::Equals(json!(buf))],
                }),
                attrs: Vec::new(),
                mode: MatchMode::Any,
                severity: Severity::Failure,
            });
        }
    }
    Expect {
        html,
        ..Expect::default()
    }
}

/// What the expected tree says each question's answer is: `*`, every element name (with
/// texts) and every parent-child pair of names.
fn expected_answers(expected: &Expected<'_>, selectors: &mut Selectors) -> Vec<Answer> {
    let mut answers = vec![Answer {
        css: selectors.every(),
        count: expected.elements.len(),
        texts: None,
    }];
    for name in expected.names() {
        let texts: Vec<String> = expected.matching(name).map(|e| e.text.clone()).collect();
        answers.push(Answer {
            css: selectors.name(name),
            count: texts.len(),
            texts: Some(texts),
        });
    }
    for (parent, child) in expected.pairs() {
        answers.push(Answer {
            css: selectors.child(parent, child),
            count: expected.children(parent, child),
            texts: None,
        });
    }
    answers
}

/// Evaluate `expect` on `page` by `engine`.
fn run(page: &str, expect: &Expect, engine: Engine) -> Evaluation {
    let options = Options {
        engine,
        follow: None,
    };
    evaluate_with(expect, &[], &response(page), options)
}

/// Why an evaluation did not pass, if it did not.
fn failed(ev: &Evaluation) -> Option<String> {
    let mut out = String::new();
    if let Some(e) = &ev.error {
        let _ = writeln!(out, "    error: {e}");
    }
    for f in &ev.failures {
        let _ = writeln!(out, "    {}", f.message);
    }
    (!out.is_empty()).then_some(out)
}

/// A case, for messages.
fn describe(file: &str, case: &Case) -> String {
    format!("{file} #{} {:?}", case.index, case.data)
}

/// Raw runs: the DOM path must give the expected tree's answers except for the listed
/// deviations (and must not give them for those), the streaming path whenever it answers.
#[test]
fn tree_construction_raw() {
    let started = Instant::now();
    let mut selectors = Selectors::default();
    let known: BTreeMap<(&str, usize), &str> = deviations::KNOWN
        .iter()
        .map(|(file, index, why)| ((*file, *index), *why))
        .collect();
    assert_eq!(
        known.len(),
        deviations::KNOWN.len(),
        "a deviation listed twice"
    );
    let (mut run_count, mut passed, mut deviated, mut streamed) = (0, 0, 0, 0);
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let cases = cases();
    for (file, case) in &cases {
        let expected = Expected::of(&case.document);
        let expect = expect(&expected_answers(&expected, &mut selectors));
        run_count += 1;
        let dom = run(&case.data, &expect, Engine::Dom);
        let listed = known.get_key_value(&(file.as_str(), case.index));
        match (failed(&dom), listed) {
            (None, None) => passed += 1,
            (Some(_), Some((key, _))) => {
                deviated += 1;
                seen.push(*key);
            }
            (Some(why), None) => problems.push(format!(
                "{}: the DOM path differs from the suite:\n{why}",
                describe(file, case)
            )),
            (None, Some((key, reason))) => {
                seen.push(*key);
                problems.push(format!(
                    "{}: listed as a deviation ({reason}) but passes: take it off the list",
                    describe(file, case)
                ));
            }
        }
        let fast = run(&case.data, &expect, Engine::Stream);
        if fast.html_path == Some(HtmlPath::Stream) {
            streamed += 1;
            if let Some(why) = failed(&fast) {
                problems.push(format!(
                    "{}: the streaming path differs from the suite:\n{why}",
                    describe(file, case)
                ));
            }
        }
    }
    for (file, case) in &cases {
        let listed = known.get(&(file.as_str(), case.index));
        if listed == Some(&deviations::SCRIPTING_OFF) && case.scripting != Some(false) {
            problems.push(format!("{file} #{} is not a #script-off case", case.index));
        }
    }
    for (file, index, why) in deviations::KNOWN {
        if !seen.contains(&(*file, *index)) {
            problems.push(format!(
                "{file} #{index} is listed ({why}) but is not a document test of the suite"
            ));
        }
    }
    let reasons: Vec<String> = deviations::REASONS
        .iter()
        .map(|r| {
            let n = deviations::KNOWN.iter().filter(|d| d.2 == *r).count();
            format!("{n}× {r}")
        })
        .collect();
    eprintln!(
        "html5lib raw: {run_count} cases run, {passed} passed, {deviated} known deviations \
         ({}), {streamed} answered by the streaming path; {:.1?}",
        reasons.join("; "),
        started.elapsed()
    );
    assert!(run_count > 1400, "only {run_count} cases");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Wrapped runs: wherever the streaming pass answers, both paths must give its answers.
#[test]
fn tree_construction_wrapped() {
    let started = Instant::now();
    let mut selectors = Selectors::default();
    let (mut run_count, mut streamed) = (0, 0);
    let mut refused: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    for (file, case) in &cases() {
        run_count += 1;
        let page = format!("{}{}{}", WRAP.0, without_doctype(&case.data), WRAP.1);
        // The questions of the raw run, answered by the streaming pass where it can.
        let expected = Expected::of(&case.document);
        let questions: Vec<Answer> = expected_answers(&expected, &mut selectors)
            .into_iter()
            .filter(|a| a.css.fast.is_some())
            .collect();
        let queries: Vec<Query<'_>> = questions
            .iter()
            .map(|a| Query {
                css: a.css.fast.as_deref().unwrap(),
                text: a.texts.is_some(),
                attrs: Vec::new(),
            })
            .collect();
        let found = match stream::run(&page, &queries) {
            Ok(found) => found,
            Err(why) => {
                *refused.entry(why).or_default() += 1;
                continue;
            }
        };
        streamed += 1;
        let answers: Vec<Answer> = questions
            .iter()
            .zip(found)
            .map(|(q, f)| Answer {
                css: q.css.clone(),
                count: f.count,
                texts: q
                    .texts
                    .as_ref()
                    .map(|_| f.items.into_iter().map(|i| i.text).collect()),
            })
            .collect();
        let expect = expect(&answers);
        for engine in [Engine::Dom, Engine::Stream] {
            let ev = run(&page, &expect, engine);
            let path = match engine {
                Engine::Dom => HtmlPath::Dom(None),
                _ => HtmlPath::Stream,
            };
            assert_eq!(
                ev.html_path,
                Some(path),
                "{} (wrapped)",
                describe(file, case)
            );
            if let Some(why) = failed(&ev) {
                problems.push(format!(
                    "{} (wrapped): {engine:?} differs from the streaming pass:\n{why}",
                    describe(file, case)
                ));
            }
        }
    }
    eprintln!(
        "html5lib wrapped: {run_count} cases run, {streamed} answered by the streaming path \
         and agreed on by both; {:.1?}",
        started.elapsed()
    );
    for (why, n) in &refused {
        eprintln!("  handed over {n:>4}×: {why}");
    }
    assert!(streamed > 100, "only {streamed} wrapped cases streamed");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
