//! Schema-walker helpers shared by every configuration file: read typed values out of the positioned tree, collecting every problem
//! as a diagnostic instead of stopping at the first.

use std::time::Duration;

use serde_json::Value as Json;
use url::Url;

use super::EnvLookup;
use super::diag::Diagnostic;
use super::interp::interpolate;
use super::keys::{Kind, Rule, Table};
use super::units;
use super::yaml::{Key, Node, Pos, Value};

/// A name syntax: which characters may start and continue a name, and how it is shown.
#[derive(Debug)]
pub struct NamePattern {
    /// The pattern as shown in messages.
    pub shown: &'static str,
    /// Allowed first characters.
    first: fn(char) -> bool,
    /// Allowed following characters.
    rest: fn(char) -> bool,
}

impl NamePattern {
    /// Does `s` follow the pattern?
    pub fn matches(&self, s: &str) -> bool {
        let mut chars = s.chars();
        chars.next().is_some_and(self.first) && chars.all(self.rest)
    }
}

/// Spec and target names.
pub(crate) const SPEC_NAME: NamePattern = NamePattern {
    shown: "^[a-z0-9][a-z0-9_-]*$",
    first: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    rest: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-',
};

/// Extracted value names (they become metric label values).
pub(crate) const EXTRACT_NAME: NamePattern = NamePattern {
    shown: "^[a-z_][a-z0-9_]*$",
    first: |c| c.is_ascii_lowercase() || c == '_',
    rest: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
};

/// Label names and environment variable names.
pub(crate) const IDENTIFIER: NamePattern = NamePattern {
    shown: "^[a-zA-Z_][a-zA-Z0-9_]*$",
    first: |c| c.is_ascii_alphabetic() || c == '_',
    rest: |c| c.is_ascii_alphanumeric() || c == '_',
};

/// Names already used in one scope, so a duplicate can point back at the first.
#[derive(Default)]
pub(crate) struct Seen(std::collections::HashMap<String, Pos>);

impl Seen {
    /// Record `name` at `pos`; if it was used before, the first position instead.
    pub(crate) fn first(&mut self, name: &str, pos: Pos) -> Option<Pos> {
        match self.0.get(name) {
            Some(first) => Some(*first),
            None => {
                self.0.insert(name.to_string(), pos);
                None
            }
        }
    }
}

/// Walking state: the current file, the environment, and what has been found so far.
///
/// `X` is what one kind of file keeps besides (the spec loader's cache of compiled
/// expressions); alert and web config files keep nothing.
pub struct Ctx<'a, X = ()> {
    /// The file being walked, as the user named it.
    pub file: String,
    /// Where `${VAR}` values come from.
    pub env: EnvLookup<'a>,
    /// Every problem found so far.
    pub diags: Vec<Diagnostic>,
    /// Values interpolated from the environment so far (redacted later).
    pub secrets: Vec<String>,
    /// What this kind of file keeps while it is walked.
    pub ext: X,
}

/// The entries of a map that passed the key check.
pub struct Fields<'n> {
    /// The map's entries in document order.
    entries: &'n [(Key, Node)],
    /// The table they were checked against (its kinds give integer ranges).
    table: &'static Table,
}

impl<'n> Fields<'n> {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entry(name).map(|(_, v)| v)
    }

    /// The key and value of `name`, if present.
    pub fn entry(&self, name: &str) -> Option<&'n (Key, Node)> {
        self.entries.iter().find(|(k, _)| k.name == name)
    }
}

impl<'a, X: Default> Ctx<'a, X> {
    /// A walker for `file`.
    pub fn new(file: &str, env: EnvLookup<'a>) -> Self {
        Ctx {
            file: file.to_string(),
            env,
            diags: Vec::new(),
            secrets: Vec::new(),
            ext: X::default(),
        }
    }
}

impl<X> Ctx<'_, X> {
    /// Record a problem at `pos`.
    pub fn err(&mut self, pos: Pos, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(
            self.file.clone(),
            pos.line,
            pos.column,
            message,
        ));
    }

    /// Check that `node` is a map with only `table`'s keys and all its required ones.
    pub fn fields<'n>(&mut self, node: &'n Node, table: &'static Table) -> Option<Fields<'n>> {
        let Some(entries) = node.as_map() else {
            self.type_err(node, &format!("a map ({})", table.name));
            return None;
        };
        for (k, _) in entries {
            if !table.allows(&k.name) {
                self.err(
                    k.pos,
                    format!(
                        "unknown key `{}` in {} (allowed: {})",
                        k.name,
                        table.name,
                        table.allowed()
                    ),
                );
            }
        }
        for k in table.keys.iter().filter(|k| k.required) {
            if !entries.iter().any(|(e, _)| e.name == k.name) {
                self.err(
                    node.pos,
                    format!("missing required key `{}` in {}", k.name, table.name),
                );
            }
        }
        self.relations(entries, table);
        Some(Fields { entries, table })
    }

    /// Check the `needs`, `excludes` and `one_of` rules of `table` among `entries` (a map with
    /// none of its `one_of` keys is left to the caller, who knows what to call the map).
    fn relations(&mut self, entries: &[(Key, Node)], table: &Table) {
        let present = |name: &str| entries.iter().find(|(k, _)| k.name == name).map(|(k, _)| k);
        let mut first_of: Option<&Key> = None;
        for (key, _) in entries {
            let Some(doc) = table.keys.iter().find(|k| k.name == key.name) else {
                continue;
            };
            match doc.rule {
                Rule::Needs(other) if present(other).is_none() => {
                    self.err(key.pos, doc.broken(other));
                }
                Rule::Excludes(other) => {
                    if let Some(o) = present(other) {
                        self.exclusive(key, o, &doc.broken(other));
                    }
                }
                Rule::OneOf => match first_of {
                    None => first_of = Some(key),
                    Some(first) => {
                        let first_doc = table.keys.iter().find(|k| k.name == first.name);
                        let message = first_doc.map_or_else(String::new, |d| d.broken(&key.name));
                        self.err(key.pos, message);
                    }
                },
                _ => {}
            }
        }
    }

    /// Interpolate a string value at `pos`, recording env values and errors. `None` when a
    /// reference failed (already reported), so the value is not judged any further.
    pub fn interp(&mut self, s: &str, pos: Pos) -> Option<String> {
        let r = interpolate(s, self.env);
        self.secrets.extend(r.from_env);
        if r.errors.is_empty() {
            return Some(r.text);
        }
        for e in r.errors {
            self.err(pos, e);
        }
        None
    }

    /// A scalar as text (strings interpolated; numbers and booleans as written).
    pub fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => self.interp(s, node.pos),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.type_err(node, what);
                None
            }
        }
    }

    /// A string that must follow `pattern` (a name).
    pub fn name(&mut self, node: &Node, pattern: &NamePattern) -> Option<String> {
        let s = self.text(node, "a name string")?;
        if pattern.matches(&s) {
            Some(s)
        } else {
            self.err(
                node.pos,
                format!("invalid name {s:?}: must match {}", pattern.shown),
            );
            None
        }
    }

    /// Report two keys that cannot be used together, at the later one.
    pub fn exclusive(&mut self, a: &Key, b: &Key, message: &str) {
        let later = if a.pos > b.pos { a } else { b };
        self.err(later.pos, message);
    }

    /// Record "expected WHAT, found KIND" at `node`.
    pub fn type_err(&mut self, node: &Node, what: &str) {
        let msg = format!("expected {what}, found {}", node.value.kind());
        self.err(node.pos, msg);
    }

    /// A typed scalar: `direct` reads it from the YAML value; a string is interpolated and
    /// handed to `parse` (so `${VAR}` can supply numbers and booleans).
    fn scalar<T>(
        &mut self,
        node: &Node,
        what: &str,
        direct: impl Fn(&Value) -> Option<T>,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        if let Some(v) = direct(&node.value) {
            return Some(v);
        }
        let Value::Str(s) = &node.value else {
            self.type_err(node, what);
            return None;
        };
        let t = self.interp(s, node.pos)?;
        let parsed = parse(t.trim());
        if parsed.is_none() {
            self.err(node.pos, format!("expected {what}, found string {t:?}"));
        }
        parsed
    }

    /// An integer in `lo..=hi` (a numeric string is accepted too).
    pub fn int(&mut self, node: &Node, what: &str, lo: i128, hi: i128) -> Option<i128> {
        let direct = |v: &Value| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        };
        let n = self.scalar(node, what, direct, |t| t.parse().ok())?;
        if n < lo || n > hi {
            let range = if hi == i128::from(u32::MAX) || hi == i128::from(u64::MAX) {
                format!("at least {lo}")
            } else {
                format!("between {lo} and {hi}")
            };
            self.err(node.pos, format!("{what} must be {range}, found {n}"));
            return None;
        }
        Some(n)
    }

    /// A `u32` in `lo..=hi`.
    pub fn u32(&mut self, node: &Node, what: &str, lo: u32, hi: u32) -> Option<u32> {
        self.int(node, what, i128::from(lo), i128::from(hi))
            .and_then(|n| u32::try_from(n).ok())
    }

    /// The integer at key `name` of `f`, in the range its table gives (`Kind::Int`); `None`
    /// when absent or invalid (reported).
    pub fn int_key(&mut self, f: &Fields<'_>, name: &str) -> Option<u32> {
        let node = f.get(name)?;
        let (lo, hi) = match f.table.keys.iter().find(|k| k.name == name).map(|k| k.kind) {
            Some(Kind::Int { min, max }) => (min, max),
            _ => (0, u64::MAX),
        };
        let clip = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        self.u32(node, name, clip(lo), clip(hi))
    }

    /// A non-negative count.
    pub fn u64(&mut self, node: &Node, what: &str) -> Option<u64> {
        self.int(node, what, 0, i128::from(u64::MAX))
            .and_then(|n| u64::try_from(n).ok())
    }

    /// A number (integer, float or numeric string).
    pub fn number(&mut self, node: &Node, what: &str) -> Option<f64> {
        let direct = |v: &Value| match v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        let parse = |t: &str| t.parse::<f64>().ok().filter(|f| f.is_finite());
        self.scalar(node, what, direct, parse)
    }

    /// A boolean (or the string `true`/`false`).
    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        let direct = |v: &Value| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        };
        let parse = |t: &str| match t {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        self.scalar(node, what, direct, parse)
    }

    /// A duration such as `10s`.
    pub fn duration(&mut self, node: &Node) -> Option<Duration> {
        let s = self.text(node, "a duration string (e.g. 10s)")?;
        units::parse_duration(&s)
            .map_err(|e| self.err(node.pos, e))
            .ok()
    }

    /// A size such as `10MiB` or a number of bytes.
    pub fn size(&mut self, node: &Node) -> Option<u64> {
        if let Value::Int(_) = node.value {
            return self.u64(node, "a size");
        } else if let Value::Float(_) = node.value {
            self.err(node.pos, "expected a size (e.g. 10MiB or a whole number of bytes), found a fractional number");
            return None;
        }
        let s = self.text(node, "a size string (e.g. 10MiB)")?;
        units::parse_size(&s)
            .map_err(|e| self.err(node.pos, e))
            .ok()
    }

    /// A sequence's items, or a positioned type error.
    pub fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.type_err(node, what);
                None
            }
        }
    }

    /// A map's entries (any keys), or a positioned type error.
    pub fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            _ => {
                self.type_err(node, what);
                None
            }
        }
    }

    /// The entries of a map whose keys are names following `pattern` (`what`: "label",
    /// "variable", ...): each other key is reported as `invalid WHAT name "KEY": must match
    /// PATTERN` and left out.
    pub fn named<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        pattern: &NamePattern,
    ) -> Vec<&'n (Key, Node)> {
        let Some(entries) = self.map(node, &format!("a map of {what} name to value")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries {
            if pattern.matches(&entry.0.name) {
                out.push(entry);
            } else {
                let msg = format!(
                    "invalid {what} name {:?}: must match {}",
                    entry.0.name, pattern.shown
                );
                self.err(entry.0.pos, msg);
            }
        }
        out
    }

    /// Any value as JSON (strings interpolated).
    pub fn json(&mut self, node: &Node) -> Json {
        match &node.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => i64::try_from(*i)
                .map(Json::from)
                .or_else(|_| u64::try_from(*i).map(Json::from))
                .unwrap_or_else(|_| Json::from(*i as f64)),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Str(s) => self.interp(s, node.pos).map_or(Json::Null, Json::String),
            Value::Seq(items) => Json::Array(items.iter().map(|n| self.json(n)).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), self.json(v)))
                    .collect(),
            ),
        }
    }

    /// A header map: valid names and values, no name twice (case-insensitively).
    pub fn headers(&mut self, node: &Node) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let Some(entries) = self.map(node, "a map of header name to value") else {
            return out;
        };
        for (k, v) in entries {
            let mut ok = true;
            if reqwest::header::HeaderName::from_bytes(k.name.as_bytes()).is_err() {
                self.err(k.pos, format!("invalid header name {:?}", k.name));
                ok = false;
            } else if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&k.name)) {
                self.err(k.pos, format!("header {:?} is given twice", k.name));
                ok = false;
            }
            let Some(value) = self.text(v, "a header value string") else {
                continue;
            };
            if reqwest::header::HeaderValue::from_str(&value).is_err() {
                self.err(
                    v.pos,
                    format!(
                        "invalid value of header {:?} (control characters or non-ASCII)",
                        k.name
                    ),
                );
                ok = false;
            }
            if ok {
                out.push((k.name.clone(), value));
            }
        }
        out
    }

    /// An `http`/`https` URL with a host, or `None` (with the problem recorded at the value).
    pub fn url(&mut self, node: &Node) -> Option<Url> {
        let text = self.text(node, "a URL string")?;
        let problem = match Url::parse(text.trim()) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                format!("URL scheme must be http or https, found {:?}", u.scheme())
            }
            Ok(u) if u.host_str().is_none_or(str::is_empty) => "URL has no host".to_string(),
            Ok(u) => return Some(u),
            Err(e) => format!("invalid URL {text:?}: {e}"),
        };
        self.err(node.pos, problem);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml::parse;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn typed_reads_report_positions() {
        let root = parse(
            "t.yaml",
            "a: [1]\nb: 11\nc: \"7\"\nd: 10\ne: {min: 3, max: 1}\n",
        )
        .unwrap();
        let m = root.as_map().unwrap();
        let mut ctx: Ctx<'_, crate::spec::walk::Compiled> = Ctx::new("t.yaml", &no_env);
        assert_eq!(ctx.duration(&m[0].1), None);
        assert_eq!(ctx.u32(&m[1].1, "retries", 0, 10), None);
        assert_eq!(ctx.u32(&m[2].1, "retries", 0, 10), Some(7));
        assert_eq!(ctx.duration(&m[3].1), None);
        assert_eq!(ctx.range(&m[4].1, "count"), None);
        let lines: Vec<String> = ctx.diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "t.yaml:1:4: expected a duration string (e.g. 10s), found a sequence",
                "t.yaml:2:4: retries must be between 0 and 10, found 11",
                "t.yaml:4:4: duration \"10\" has no unit (expected e.g. 10s or 10ms)",
                "t.yaml:5:4: count range has min 3 greater than max 1",
            ]
        );
    }

    use crate::config::keys::{Kind, Table, key};

    static RELATED: Table = Table {
        name: "thing",
        title: "",
        intro: "",
        keys: &[
            key("a", "", "", "").needs("b"),
            key("b", "", "", ""),
            key("c", "", "", "")
                .excludes("b")
                .because("`{a}` beside `{b}`: pick one"),
            key("x", "", "", "").one_of(),
            key("y", "", "", "").one_of(),
            key("n", "integer 2..=5", "", "").of(Kind::Int { min: 2, max: 5 }),
        ],
    };

    /// The table's `needs`, `excludes`, `one_of` and integer ranges are enforced by the walker,
    /// with the table's own wording, at the offending key.
    #[test]
    fn key_tables_enforce_relations_and_ranges() {
        let root = parse("t.yaml", "a: 1\nc: 2\nb: 3\nx: 4\ny: 5\nn: 6\n").unwrap();
        let mut ctx: Ctx<'_> = Ctx::new("t.yaml", &no_env);
        let f = ctx.fields(&root, &RELATED).unwrap();
        assert_eq!(ctx.int_key(&f, "n"), None);
        let lines: Vec<String> = ctx.diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            [
                "t.yaml:3:1: `c` beside `b`: pick one",
                "t.yaml:5:1: `x` and `y` are exclusive",
                "t.yaml:6:4: n must be between 2 and 5, found 6",
            ]
        );
        let root = parse("t.yaml", "a: 1\nn: 3\n").unwrap();
        let mut ctx: Ctx<'_> = Ctx::new("t.yaml", &no_env);
        let f = ctx.fields(&root, &RELATED).unwrap();
        assert_eq!(ctx.int_key(&f, "n"), Some(3));
        let lines: Vec<String> = ctx.diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(lines, ["t.yaml:1:1: `a` needs `b`"]);
    }
}
