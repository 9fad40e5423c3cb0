//! A JSON body parsed only as far as a target's paths can reach.
//!
//! A target asks a few paths of a document; building every object, key and string of it (the
//! whole `Value`) is most of the cost of a JSON check. [`Need`] says, from the paths' text, which
//! members each node must keep: a name segment keeps that member, a wildcard, index or slice
//! keeps every element and member, and anything else (a descendant segment, a filter, a union)
//! keeps the whole subtree from there. A path that ends in a type or length check only needs the
//! node's shape: its kind and its elements and member keys, with `null` standing for values no
//! path reaches. Skipped values are still parsed by serde_json, with the same recursion limit,
//! so a pruned parse fails exactly when the whole parse fails.
//!
//! The pruned tree answers every path of the need exactly when a check passes. Messages show
//! values, so a caller re-parses the whole document when anything fails (see `json::document`).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// What of a node the paths need.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Need<'a> {
    /// All of it.
    whole: bool,
    /// Its kind and length: every element and every member key, values as `null` where no
    /// path goes on into them.
    shape: bool,
    /// Members needed by name (with what `each` needs merged in, once [`Need::seal`] ran).
    names: Vec<(&'a str, Need<'a>)>,
    /// What every element and member needs.
    each: Option<Box<Need<'a>>>,
}

/// What a path needs of the nodes it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Their values (an equality, a number, a pattern, an extract).
    Whole,
    /// Only their kind and length (`type`, `length`, `empty`, `exists`, a count).
    Shape,
}

/// One step of a path that the need follows.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    /// A member by name.
    Name(&'a str),
    /// Every element and member (a wildcard; an index or slice, which select among them).
    Each,
}

impl<'a> Need<'a> {
    /// Is the whole document needed (so that a plain parse is the cheaper one)?
    pub(super) fn is_whole(&self) -> bool {
        self.whole
    }

    /// Add what `path` (RFC 9535 text that compiled) needs, `end` at the nodes it selects.
    pub(super) fn add(&mut self, path: &'a str, end: End) {
        let (steps, rest) = steps(path);
        // A filter may query the root (`[?@.a == $.b]`): any `$` past the steps followed makes
        // the whole document needed.
        if rest.is_some_and(|rest| rest.contains('$')) {
            self.whole = true;
            return;
        }
        let mut node = self;
        for step in steps {
            if node.whole {
                return;
            }
            node = match step {
                Step::Name(name) => node.child(name),
                Step::Each => node.each.get_or_insert_with(Box::default),
            };
        }
        match (rest, end) {
            (None, End::Shape) => node.shape = true,
            _ => node.whole = true,
        }
    }

    /// The need of member `name`, created empty.
    fn child(&mut self, name: &'a str) -> &mut Need<'a> {
        let at = match self.names.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                self.names.push((name, Need::default()));
                self.names.len() - 1
            }
        };
        &mut self.names[at].1
    }

    /// Merge `each` into every named member and drop what a whole node makes moot, so that a
    /// member's need is one lookup.
    pub(super) fn seal(&mut self) {
        if self.whole {
            self.shape = false;
            self.names.clear();
            self.each = None;
            return;
        }
        if let Some(each) = &mut self.each {
            each.seal();
            let each: &Need<'a> = each;
            for (_, need) in &mut self.names {
                need.union(each);
            }
        }
        for (_, need) in &mut self.names {
            need.seal();
        }
    }

    /// Add everything `other` needs.
    fn union(&mut self, other: &Need<'a>) {
        self.whole |= other.whole;
        self.shape |= other.shape;
        for (name, need) in &other.names {
            self.child(name).union(need);
        }
        if let Some(each) = &other.each {
            self.each.get_or_insert_with(Box::default).union(each);
        }
    }

    /// What member `key` needs, if anything.
    fn member(&self, key: &str) -> Option<&Need<'a>> {
        self.names
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, need)| need)
            .or(self.each.as_deref())
    }
}

/// The steps of `path` this module understands, and the text it did not follow (the node
/// after the last step needs its whole subtree), `None` when it followed all of it.
fn steps(path: &str) -> (Vec<Step<'_>>, Option<&str>) {
    const BLANK: &[char] = &[' ', '\t', '\n', '\r'];
    let mut out = Vec::new();
    let Some(mut rest) = path.strip_prefix('$') else {
        return (out, Some(path));
    };
    loop {
        rest = rest.trim_start_matches(BLANK);
        if rest.is_empty() {
            return (out, None);
        }
        let step = if rest.starts_with("..") {
            None
        } else if let Some(r) = rest.strip_prefix(".*") {
            Some((Step::Each, r))
        } else if let Some(r) = rest.strip_prefix('.') {
            let len = r
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let (name, after) = r.split_at(len);
            let ends =
                after.is_empty() || after.starts_with(['.', '[']) || after.starts_with(BLANK);
            let valid = len > 0 && !name.starts_with(|c: char| c.is_ascii_digit()) && ends;
            valid.then_some((Step::Name(name), after))
        } else if let Some(r) = rest.strip_prefix('[') {
            bracket(r.trim_start_matches(BLANK)).and_then(|(step, after)| {
                let after = after.trim_start_matches(BLANK).strip_prefix(']')?;
                Some((step, after))
            })
        } else {
            None
        };
        let Some((step, after)) = step else {
            return (out, Some(rest));
        };
        out.push(step);
        rest = after;
    }
}

/// One selector of a bracketed selection (`*`, `'name'`, an index or a slice) and the text
/// after it; `None` for anything else (a filter, several selectors, an escaped name).
fn bracket(text: &str) -> Option<(Step<'_>, &str)> {
    if let Some(after) = text.strip_prefix('*') {
        return Some((Step::Each, after));
    }
    if let Some(quote) = text.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &text[1..];
        let end = body.find(quote)?;
        let name = &body[..end];
        return (!name.contains('\\')).then(|| (Step::Name(name), &body[end + 1..]));
    }
    let len = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || b" -:\t\n\r".contains(b))
        .count();
    let selector = &text[..len];
    (selector.contains(|c: char| c.is_ascii_digit() || c == ':'))
        .then(|| (Step::Each, &text[len..]))
}

/// The tree of `text` as far as `need` reaches; `None` when it is not JSON, or is JSON only the
/// whole parse reads right (serde_json's raw-value key), so that the caller parses it whole.
pub(super) fn parse(text: &str, need: &Need<'_>) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Prune(need).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

/// The key serde_json's `Value` reads as an embedded raw value (its `raw_value` feature).
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Builds a node as far as its need reaches.
struct Prune<'n, 'a>(&'n Need<'a>);

impl<'de> DeserializeSeed<'de> for Prune<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.whole {
            Value::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Prune<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    // Scalars are kept as `Value`'s own visitor keeps them.
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        match self.0.each.as_deref() {
            Some(each) => {
                while let Some(item) = seq.next_element_seed(Prune(each))? {
                    items.push(item);
                }
            }
            None => {
                while seq.next_element_seed(Skip)?.is_some() {
                    if self.0.shape {
                        items.push(Value::Null);
                    }
                }
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            match self.0.member(&key) {
                Some(need) => {
                    let value = map.next_value_seed(Prune(need))?;
                    members.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value_seed(Skip)?;
                    if self.0.shape {
                        members.insert(key.into_owned(), Value::Null);
                    }
                }
            }
        }
        Ok(Value::Object(members))
    }
}

/// A member key, borrowed from the text unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        raw_value_key(v)?;
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        raw_value_key(v)?;
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// serde_json's raw-value key makes `Value` read its object differently: leave it to the
/// whole parse.
fn raw_value_key<E: de::Error>(key: &str) -> Result<(), E> {
    if key == RAW_VALUE_KEY {
        Err(E::custom("raw value key"))
    } else {
        Ok(())
    }
}

/// Parses a value and keeps nothing of it (through `deserialize_any`, as `Value` does, so that
/// the same recursion limit and errors apply).
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Key)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "json_prune_tests.rs"]
mod tests;
