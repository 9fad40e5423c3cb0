//! JSONPath (RFC 9535) assertions on the parsed JSON body (parsed once, shared by all).

use serde_json::Value;

use super::check::{self, Subject};
use super::{judge, render_if};
use crate::model::{JsonAssertion, JsonPathExpr};
use crate::result::Failure;

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
