//! JSONPath assertions on a JSON body.

use serde_json::Value;

use crate::model::JsonPathExpr;

/// Run a compiled JSONPath on a document: the matched nodes, in RFC 9535 order.
/// JSON assertions, JSON extracts and the compliance suite all go through this function.
pub fn query<'v>(path: &JsonPathExpr, document: &'v Value) -> Vec<&'v Value> {
    path.path.query(document).all()
}
