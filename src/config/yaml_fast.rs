//! A fast path for [`super::yaml::parse_unpositioned`]: the tree built straight from the YAML
//! parser's events (granit-parser, the parser serde-saphyr itself drives), without serde-saphyr's
//! deserializer, location tracking and budget bookkeeping on top.
//!
//! It only answers when it is sure to give the tree serde-saphyr would give. Anything it does
//! not handle exactly as serde-saphyr does — a syntax error, a tag, an anchor or alias, a merge
//! key, a duplicate key, a second document, a `%YAML` directive, a plain scalar that might be a
//! float or a radix or underscored integer, a key that is not a plain word, nesting or sizes near
//! a budget — makes it return `None`, and the caller parses the file with serde-saphyr, which
//! then also reports the error. Its events and options are serde-saphyr's, so a file it accepts
//! is one serde-saphyr accepts too (yaml_fast_tests.rs compares both on every YAML file of the
//! repository and on tricky snippets).

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle};

use super::yaml::{Key, MAX_DEPTH, Node, Pos, Value};

/// The tree of `text` without positions (every [`Pos`] 0:0), or `None` when serde-saphyr must
/// decide.
pub(super) fn parse(text: &str) -> Option<Node> {
    // Directives (`%YAML`, `%TAG`) are left to serde-saphyr.
    if text.starts_with('%') || text.contains("\n%") {
        return None;
    }
    let mut b = Builder {
        parser: Parser::new_from_str_with_options(text, options()),
        events: 0,
        scalar_bytes: 0,
        comments: 0,
        // serde-saphyr's budgets as `yaml::options` sets them, with a wide margin.
        max_events: 1_000_000.max(text.len()) / 2,
        max_nodes: 250_000.max(text.len() / 2) / 2,
        nodes: 0,
        seqs: Vec::new(),
        maps: Vec::new(),
    };
    match b.next()? {
        Event::StreamStart => {}
        _ => return None,
    }
    let root = match b.next()? {
        Event::StreamEnd => return Some(null()),
        Event::DocumentStart(_, None) => match b.next()? {
            Event::DocumentEnd => null(),
            first => {
                let value = b.value(first, 0)?;
                match b.next()? {
                    Event::DocumentEnd => {}
                    _ => return None,
                }
                Node {
                    pos: Pos::default(),
                    value,
                }
            }
        },
        _ => return None,
    };
    match b.next()? {
        Event::StreamEnd => Some(root),
        _ => None,
    }
}

fn null() -> Node {
    Node {
        pos: Pos::default(),
        value: Value::Null,
    }
}

/// The parser options serde-saphyr 2.2 uses with the budget `yaml::options` sets.
fn options() -> granit_parser::Options {
    let budget = serde_saphyr::Budget::default();
    let mut o = granit_parser::Options::default();
    o.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    o.flow_nesting_limit = MAX_DEPTH;
    o.block_nesting_limit = o.block_nesting_limit.max(MAX_DEPTH + 1);
    o.emit_comments = true;
    o.max_buffered_comment_events = budget.max_buffered_comment_events;
    let defaults = serde_saphyr::Options::default();
    o.strict_indentation = defaults.strict_indentation;
    o.bom_inside_document_as_content = defaults.bom_inside_document_as_content;
    o
}

/// The event stream and what has been counted of it.
struct Builder<'a> {
    /// The parser over the text.
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    /// Events read, comments excluded.
    events: usize,
    /// Bytes of scalar text.
    scalar_bytes: usize,
    /// Comment events (serde-saphyr buffers them, within a budget).
    comments: usize,
    /// Bail out past this many events.
    max_events: usize,
    /// Scalars, sequences and maps.
    nodes: usize,
    /// Bail out past this many nodes.
    max_nodes: usize,
    /// Items of the sequences being read, a buffer per depth (reused: each finished sequence
    /// is copied out at its exact size, without the growth of a fresh `Vec`).
    seqs: Vec<Vec<Node>>,
    /// Entries of the maps being read, likewise.
    maps: Vec<Vec<(Key, Node)>>,
}

impl<'a> Builder<'a> {
    /// The next event that is not a comment; `None` on a parse error or near a budget.
    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let (event, _) = self.parser.next_event()?.ok()?;
            if let Event::Comment(text, _) = &event {
                self.comments += 1;
                self.scalar_bytes += text.len();
                if self.comments > 1_000 {
                    return None;
                }
                continue;
            }
            self.events += 1;
            if self.events > self.max_events {
                return None;
            }
            return Some(event);
        }
    }

    /// The value starting with `event`, at nesting `depth`.
    fn value(&mut self, event: Event<'a>, depth: usize) -> Option<Value> {
        self.nodes += 1;
        if self.nodes > self.max_nodes || depth + 2 >= MAX_DEPTH {
            return None;
        }
        match event {
            Event::Scalar(text, style, 0, None) => {
                self.scalar_bytes += text.len();
                if self.scalar_bytes > 32 << 20 {
                    return None;
                }
                scalar(text, style)
            }
            Event::SequenceStart(_, 0, None) => {
                if self.seqs.len() <= depth {
                    self.seqs.resize_with(depth + 1, Vec::new);
                }
                loop {
                    match self.next()? {
                        Event::SequenceEnd => {
                            let items = self.seqs.get_mut(depth)?;
                            return Some(Value::Seq(exact(items)));
                        }
                        e => {
                            let value = self.value(e, depth + 1)?;
                            self.seqs.get_mut(depth)?.push(Node {
                                pos: Pos::default(),
                                value,
                            });
                        }
                    }
                }
            }
            Event::MappingStart(_, 0, None) => {
                if self.maps.len() <= depth {
                    self.maps.resize_with(depth + 1, Vec::new);
                }
                loop {
                    let name = match self.next()? {
                        Event::MappingEnd => {
                            let entries = self.maps.get_mut(depth)?;
                            return Some(Value::Map(exact(entries)));
                        }
                        Event::Scalar(text, style, 0, None) => key(text, style)?,
                        _ => return None,
                    };
                    if self.maps.get(depth)?.iter().any(|(k, _)| k.name == name) {
                        return None;
                    }
                    let first = self.next()?;
                    let value = self.value(first, depth + 1)?;
                    self.maps.get_mut(depth)?.push((
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
            }
            _ => None,
        }
    }
}

/// Move the items out of a reused buffer into a `Vec` of exactly their number.
fn exact<T>(buffer: &mut Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(buffer.len());
    out.append(buffer);
    out
}

/// A map key: plain or quoted text that cannot mean anything but itself.
fn key(text: Cow<'_, str>, style: ScalarStyle) -> Option<String> {
    let plain_word = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
        && !is_bool(&text)
        && !matches!(&*text, "null" | "Null" | "NULL" | "<<");
    let quoted =
        matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) && !text.is_empty();
    match style {
        ScalarStyle::Plain if plain_word => Some(text.into_owned()),
        _ if quoted && plain_word => Some(text.into_owned()),
        _ => None,
    }
}

/// A value scalar as serde-saphyr's `deserialize_any` types it (YAML 1.1 booleans, core-schema
/// nulls and integers), or `None` when it might be a number of another form.
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::Str(text.into_owned()));
    }
    let t: &str = &text;
    if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if let Some(b) = bool_of(t) {
        return Some(Value::Bool(b));
    }
    let first = t.as_bytes().first().copied().unwrap_or(b' ');
    if first == b'+' || first == b'.' || t.starts_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    if first == b'-' {
        let digits = &t[1..];
        return decimal(digits)
            .filter(|_| !digits.starts_with('0'))
            .map(|v| Value::Int(-v));
    }
    if !first.is_ascii_digit() {
        // Neither an integer nor a float can start so (`inf`, `nan` stay strings).
        return Some(Value::Str(text.into_owned()));
    }
    let end = t
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(t.len());
    let (digits, rest) = t.split_at(end);
    match rest.as_bytes().first() {
        None if digits == "0" || !digits.starts_with('0') => decimal(digits).map(Value::Int),
        // A leading zero (legacy octal), a radix prefix, a float, an underscore, base 60.
        None => None,
        Some(b'x' | b'o' | b'b' | b'X' | b'O' | b'B') if digits == "0" => None,
        Some(b'.' | b'_' | b'e' | b'E' | b':') => None,
        // `10s`, `2xx`, `1h30m`: digits then a letter no number has there.
        Some(_) => Some(Value::Str(text.into_owned())),
    }
}

/// 1 to 18 ASCII digits as a number (so that it fits an `i64` either way).
fn decimal(digits: &str) -> Option<i128> {
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// YAML 1.1 booleans, as serde-saphyr reads them by default (case-insensitive).
fn bool_of(t: &str) -> Option<bool> {
    let is = |w: &str| t.eq_ignore_ascii_case(w);
    if is("true") || is("yes") || is("y") || is("on") {
        Some(true)
    } else if is("false") || is("no") || is("n") || is("off") {
        Some(false)
    } else {
        None
    }
}

fn is_bool(t: &str) -> bool {
    bool_of(t).is_some()
}

#[cfg(test)]
#[path = "yaml_fast_tests.rs"]
mod tests;
