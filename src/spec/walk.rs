//! The spec loader's additions to the shared walker ([`crate::config::walk`]): a cache of
//! compiled expressions, and count ranges.

use std::collections::HashMap;

use super::exprs::{compile_css, compile_jsonpath};
use crate::config::walk::Ctx;
use crate::config::yaml::Node;
use crate::model::{CountRange, CssSelector, JsonPathExpr};

pub(crate) use crate::config::walk::{EXTRACT_NAME, Fields, IDENTIFIER, SPEC_NAME, Seen};

/// The walker of spec files: it keeps the expressions compiled so far, by source text
/// (thousands of targets often share a few).
pub(crate) type Walk<'a> = Ctx<'a, Compiled>;

/// Compiled expressions by their source text (each compiled once per file).
#[derive(Default)]
pub struct Compiled {
    /// CSS selectors.
    css: HashMap<String, Result<CssSelector, String>>,
    /// JSONPath queries.
    jsonpath: HashMap<String, Result<JsonPathExpr, String>>,
    /// Targets and `depends_on` items, checked across files once all are read.
    pub found: super::depends::Found,
}

impl Compiled {
    /// [`compile_css`], cached.
    pub fn css(&mut self, source: &str) -> Result<CssSelector, String> {
        if let Some(hit) = self.css.get(source) {
            return hit.clone();
        }
        let compiled = compile_css(source);
        self.css.insert(source.to_string(), compiled.clone());
        compiled
    }

    /// [`compile_jsonpath`], cached.
    pub fn jsonpath(&mut self, source: &str) -> Result<JsonPathExpr, String> {
        if let Some(hit) = self.jsonpath.get(source) {
            return hit.clone();
        }
        let compiled = compile_jsonpath(source);
        self.jsonpath.insert(source.to_string(), compiled.clone());
        compiled
    }
}

impl<X> Ctx<'_, X> {
    /// An integer (exactly) or `{min, max}`.
    pub fn range(&mut self, node: &Node, what: &str) -> Option<CountRange> {
        self.range_in(node, what, &super::keys::RANGE)
            .map(|(range, _)| range)
    }

    /// A count range whose map form has the keys of `table` (`min`, `max`, maybe `severity`):
    /// the range, and the map's `severity` if it has one.
    pub fn range_in<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        table: &'static crate::config::keys::Table,
    ) -> Option<(CountRange, Option<&'n Node>)> {
        if node.as_map().is_none() {
            return self
                .u64(node, &format!("{what} (an integer or {{min, max}})"))
                .map(|n| (CountRange::exactly(n), None));
        }
        let f = self.fields(node, table)?;
        let min = f.get("min").and_then(|n| self.u64(n, "min (an integer)"));
        let max = f.get("max").and_then(|n| self.u64(n, "max (an integer)"));
        if f.get("min").is_none() && f.get("max").is_none() {
            self.err(node.pos, format!("{what} range needs min, max or both"));
            return None;
        }
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            self.err(
                node.pos,
                format!("{what} range has min {a} greater than max {b}"),
            );
            return None;
        }
        Some((CountRange { min, max }, f.get("severity")))
    }
}
