//! JSONPath (RFC 9535) assertions on the parsed JSON body (parsed once, shared by all).

use serde_json::Value;

use super::check::{self, Subject};
use super::{Judged, judge, render_if};
use crate::model::{JsonAssertion, JsonPathExpr, MatchMode};
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
    let Judged {
        index,
        message,
        failed,
    } = judge(nodes.into_iter(), a.mode, |node, render| {
        check::run(value_check, Subject::Json(node)).map_err(|m| render_if(render, &m, "value"))
    })?;
    if n == 1 {
        return fail(format!("{}: {message}", prefix()));
    }
    // Where the failing node is, as a normalized path; only computed on failure.
    let location = a.path.path.query_located(doc).get(index).map_or_else(
        || format!("node {}", index + 1),
        |node| node.location().to_string(),
    );
    match a.mode {
        MatchMode::All => fail(format!(
            "{}: {message} at {location} ({failed} of {n} failed)",
            prefix()
        )),
        MatchMode::Any => fail(format!(
            "{}: none of {n} nodes passed; at {location}: {message}",
            prefix()
        )),
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
