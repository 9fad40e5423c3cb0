//! Stage 1: YAML text -> a small positioned tree.
//!
//! serde-saphyr stops at the first serde error, so specs are not deserialized into typed structs
//! directly. Each file is parsed into [`Node`]s that keep the 1-based position of every value and
//! key; the schema walker then reports every problem of the tree at once. Only YAML syntax
//! errors, duplicate keys and budget breaches (alias bombs, absurd nesting) abort a file here.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::diag::Diagnostic;

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A map key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as written (scalar keys are kept as their text).
    pub name: String,
    /// Where the key starts.
    pub pos: Pos,
}

/// One YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// What it is.
    pub value: Value,
}

/// The kinds of YAML values a spec can hold. Quoted scalars are always strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string (any quoted scalar, or a plain one that is not a number/bool/null).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// "a string", "a sequence", ... for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a map",
        }
    }
}

impl Node {
    /// The entries of a map node, or `None`.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// Deepest nesting of lists and maps in a file. A spec needs about 10 levels (a check's
/// `one_of` list inside an `attr` of an `html` item of a target); a request's `json` body or an
/// `equals` value may nest more, but never this deep.
pub(crate) const MAX_DEPTH: usize = 32;

/// Parse one file. Errors abort the file and are positioned.
pub(crate) fn parse(file: &str, text: &str) -> Result<Node, Diagnostic> {
    match serde_saphyr::from_str_with_options::<Option<Spanned<Value>>>(text, options(text)) {
        Ok(Some(s)) => Ok(Node {
            pos: pos(&s),
            value: s.value,
        }),
        Ok(None) => Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
        }),
        Err(e) => Err(diagnostic(file, &e)),
    }
}

/// Parse one file without positions: every [`Pos`] in the tree is 0:0. Several times faster than
/// [`parse`] (serde-saphyr builds a location pair for every value and key); the tree holds the
/// same values, so a walk over it finds the same problems, only not where they are. Loading
/// uses it first and parses again with [`parse`] only when something is wrong. Errors (syntax,
/// duplicate keys, budgets) are the same, and positioned, as [`parse`]'s.
pub(crate) fn parse_unpositioned(file: &str, text: &str) -> Result<Node, Diagnostic> {
    match super::yaml_fast::parse(text) {
        Some(node) => Ok(node),
        None => parse_plain(file, text),
    }
}

/// [`parse_unpositioned`] by serde-saphyr alone.
pub(crate) fn parse_plain(file: &str, text: &str) -> Result<Node, Diagnostic> {
    match serde_saphyr::from_str_with_options::<Option<Plain>>(text, options(text)) {
        Ok(Some(Plain(value))) => Ok(Node {
            pos: Pos::default(),
            value,
        }),
        Ok(None) => Ok(Node {
            pos: Pos::default(),
            value: Value::Null,
        }),
        Err(e) => Err(diagnostic(file, &e)),
    }
}

/// The parser's options for `text`: no snippets in messages, budgets that grow with the input.
fn options(text: &str) -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // A generated spec of 10,000 targets has over a million parser events and 250,000 nodes.
    // Every event and node but an alias replay (budgeted separately) consumes input (a node at
    // least two bytes), so budgets that grow with the input still stop alias bombs.
    let mut budget = options.budget.clone().unwrap_or_default();
    budget.max_events = budget.max_events.max(text.len());
    budget.max_nodes = budget.max_nodes.max(text.len() / 2);
    // Each level of nesting costs the recursive deserializer stack (about 32 KiB in a debug
    // build), so the default of 64 levels overflowed a 2 MiB thread; no valid file comes near.
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    options.budget = Some(budget);
    options
}

/// A parse error as a positioned diagnostic.
fn diagnostic(file: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((1, 1));
    let message = clean_message(&e.without_snippet().to_string());
    Diagnostic::new(file, line, column, message)
}

/// serde-saphyr's messages may carry their own "at line X column Y" suffix, a hint about its
/// options, and newlines; keep one clean line, since the position is printed in front.
fn clean_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or("").trim();
    let mut msg = first.to_string();
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    if let Some(i) = msg.find(", set DuplicateKeyPolicy") {
        msg.truncate(i);
    }
    let msg = msg.trim_end_matches(['.', ':', ' ']).to_string();
    if msg.contains("multiple YAML documents") {
        return "invalid YAML: a spec file holds one YAML document, found several (`---`)".into();
    }
    // The budget's depth and the parser's own nesting limits ("recursion limit").
    if msg.contains("budget breached: Depth") || msg.contains("recursion limit exceeded") {
        return format!("invalid YAML: lists and maps nested deeper than {MAX_DEPTH} levels");
    }
    if msg.contains("budget breached") {
        return format!(
            "invalid YAML: {msg} (the document expands to too much data; check anchors and aliases)"
        );
    }
    if msg.is_empty() {
        "invalid YAML".to_string()
    } else {
        format!("invalid YAML: {msg}")
    }
}

fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line() as usize,
        column: s.referenced.column() as usize,
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor::<true>)
    }
}

/// A value whose nested values and keys are read without positions.
struct Plain(Value);

impl<'de> Deserialize<'de> for Plain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ValueVisitor::<false>)
            .map(Plain)
    }
}

/// Builds a [`Value`]; with `SPANS` its items and entries carry their positions.
struct ValueVisitor<const SPANS: bool>;

impl<'de, const SPANS: bool> Visitor<'de> for ValueVisitor<SPANS> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        if !SPANS {
            while let Some(Plain(value)) = seq.next_element::<Plain>()? {
                items.push(Node {
                    pos: Pos::default(),
                    value,
                });
            }
            return Ok(Value::Seq(items));
        }
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(Node {
                pos: pos(&item),
                value: item.value,
            });
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        if !SPANS {
            while let Some(name) = map.next_key::<String>()? {
                let Plain(value) = map.next_value::<Plain>()?;
                entries.push((
                    Key {
                        name,
                        pos: Pos::default(),
                    },
                    Node {
                        pos: Pos::default(),
                        value,
                    },
                ));
            }
            return Ok(Value::Map(entries));
        }
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Value>>()?;
            entries.push((
                Key {
                    pos: pos(&key),
                    name: key.value,
                },
                Node {
                    pos: pos(&value),
                    value: value.value,
                },
            ));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse("t.yaml", text).unwrap()
    }

    #[test]
    fn positions_and_types() {
        let n = p("a: 1\nb: \"200\"\nc:\n  - x\n  - {d: true}\ne: 1.5\nf: ~\n");
        let m = n.as_map().unwrap();
        assert_eq!(m[0].0.name, "a");
        assert_eq!(m[0].0.pos, Pos { line: 1, column: 1 });
        assert_eq!(m[0].1.value, Value::Int(1));
        assert_eq!(m[0].1.pos, Pos { line: 1, column: 4 });
        assert_eq!(m[1].1.value, Value::Str("200".into()));
        let Value::Seq(items) = &m[2].1.value else {
            panic!("seq")
        };
        assert_eq!(items[0].pos, Pos { line: 4, column: 5 });
        assert_eq!(items[1].as_map().unwrap()[0].1.value, Value::Bool(true));
        assert_eq!(m[3].1.value, Value::Float(1.5));
        assert_eq!(m[4].1.value, Value::Null);
    }

    #[test]
    fn errors_are_positioned() {
        let e = parse("t.yaml", "a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse("t.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{e}");
    }

    #[test]
    fn empty_file_is_null() {
        assert_eq!(p("# nothing\n").value, Value::Null);
        assert_eq!(p("").value, Value::Null);
    }
}
