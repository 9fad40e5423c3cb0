//! JSONPath (RFC 9535) assertions on the parsed JSON body (parsed once, shared by all).

use serde_json::Value;

use super::check::{self, Subject};
use super::json_prune::{self, End, Need};
use super::{judge, render_if};
use crate::model::{CheckOp, Expect, Extract, ExtractSource, JsonAssertion, JsonPathExpr};
use crate::result::Failure;

/// The JSON document of `text` and the failures of `expect`'s `json:` assertions on it.
///
/// The document is first parsed only as far as the assertions' and `extracts`' paths reach
/// ([`json_prune`]); when everything passes on it, that is the answer (the pruned tree answers
/// those paths as the whole one does). When anything fails, or the text is not JSON, the whole
/// document is parsed and judged, so that every failure, message and error is the whole
/// document's.
pub(super) fn document(
    text: &str,
    expect: &Expect,
    extracts: &[Extract],
) -> Result<(Value, Vec<Failure>), serde_json::Error> {
    let need = need(expect, extracts);
    if !need.is_whole()
        && let Some(doc) = json_prune::parse(text, &need)
    {
        let failures = assert_all(expect, &doc);
        let extracted = extracts
            .iter()
            .filter(|e| matches!(e.source, ExtractSource::Json(_)))
            .all(|e| matches!(super::extract::extract(e, None, Some(&doc)), Some(Ok(_))));
        if failures.is_empty() && extracted {
            #[cfg(test)]
            same_as_whole(text, expect, extracts, &doc);
            return Ok((doc, failures));
        }
    }
    let doc = serde_json::from_str::<Value>(text)?;
    let failures = assert_all(expect, &doc);
    Ok((doc, failures))
}

/// What the `json:` assertions and JSON extracts need of the document.
fn need<'a>(expect: &'a Expect, extracts: &'a [Extract]) -> Need<'a> {
    let mut need = Need::default();
    for a in &expect.json {
        need.add(&a.path.source, end(a));
    }
    for e in extracts {
        if let ExtractSource::Json(path) = &e.source {
            need.add(&path.source, End::Whole);
        }
    }
    need.seal();
    need
}

/// What an assertion needs of the nodes it selects: only their kind and length when it counts
/// them or checks nothing else.
fn end(a: &JsonAssertion) -> End {
    let shape_only = a.value.as_ref().is_none_or(|c| {
        c.ops.iter().all(|op| {
            matches!(
                op,
                CheckOp::Type(_) | CheckOp::Length(_) | CheckOp::Empty(_) | CheckOp::Exists(_)
            )
        })
    });
    if shape_only { End::Shape } else { End::Whole }
}

/// The failures of every `json:` assertion on `doc`, each at its severity.
fn assert_all(expect: &Expect, doc: &Value) -> Vec<Failure> {
    expect
        .json
        .iter()
        .filter_map(|a| assert(a, doc).map(|f| f.with_severity(a.severity)))
        .collect()
}

/// In unit tests, a pruned document that passed must pass whole too, with the same extracts.
#[cfg(test)]
#[allow(clippy::expect_used)]
fn same_as_whole(text: &str, expect: &Expect, extracts: &[Extract], pruned: &Value) {
    let whole: Value = serde_json::from_str(text).expect("a pruned parse of invalid JSON");
    assert_eq!(assert_all(expect, &whole), Vec::new(), "passes only pruned");
    for e in extracts {
        assert_eq!(
            super::extract::extract(e, None, Some(pruned)),
            super::extract::extract(e, None, Some(&whole)),
            "extract {} differs pruned",
            e.name
        );
    }
}

/// Run a compiled JSONPath on a document: the matched nodes, in RFC 9535 order.
/// JSON assertions, JSON extracts and the compliance suite all go through this function.
pub fn query<'v>(path: &JsonPathExpr, document: &'v Value) -> Vec<&'v Value> {
    path.path.query(document).all()
}

/// Run one `json:` assertion.
pub fn assert(a: &JsonAssertion, doc: &Value) -> Option<Failure> {
    let nodes = query(&a.path, doc);
    let n = nodes.len();
    let prefix = || format!("{} {:?}", a.id, a.path.source);
    let fail = |message: String| Some(Failure::new(a.id.as_str(), message));
    match a.count {
        Some(count) if !count.contains(n as u64) => {
            return fail(format!("{}: expected count {count}, found {n}", prefix()));
        }
        None if n == 0 => {
            let accepts_absent = a
                .value
                .as_ref()
                .is_some_and(|c| check::run(c, Subject::Absent).is_ok());
            return if accepts_absent {
                None
            } else {
                fail(format!("{}: matched nothing", prefix()))
            };
        }
        _ => {}
    }
    let value_check = a.value.as_ref()?;
    let judged = judge(nodes.into_iter(), a.mode, |node, render| {
        check::run(value_check, Subject::Json(node)).map_err(|m| render_if(render, &m, "value"))
    })?;
    // Where the failing node is, as a normalized path: only computed for a failure.
    let message = judged.into_message(&prefix(), n, a.mode, "nodes", |index| {
        a.path.path.query_located(doc).get(index).map_or_else(
            || format!("node {}", index + 1),
            |node| node.location().to_string(),
        )
    });
    fail(message)
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
