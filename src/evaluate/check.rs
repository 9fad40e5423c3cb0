//! The check vocabulary (`equals`, `contains`, `lt`, `type`, `exists`, ...) applied to one
//! subject: a header value, the body, an element's text or attribute, or a JSON node.

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value;

use super::show;
use crate::model::{Check, CheckOp, JsonType};

/// What a check looks at.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// Nothing there: a missing header or attribute, a JSONPath that matched nothing.
    Absent,
    /// Text: a header value, the body, an element's text or an attribute value.
    Text(&'a str),
    /// A JSON node.
    Json(&'a Value),
}

/// Why a check failed. Cheap to make: the message is only formatted when asked for, so
/// counting failures over thousands of matches allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct Mismatch<'a> {
    /// The operation that failed.
    op: &'a CheckOp,
    /// What it looked at.
    subject: Subject<'a>,
    /// What to show of the subject.
    detail: Detail,
}

/// What a failure message shows of its subject.
#[derive(Debug, Clone, Copy)]
enum Detail {
    /// The subject is absent.
    Absent,
    /// The subject as it is.
    Plain,
    /// An excerpt of the subject's text around this byte offset (where a match was found).
    At(usize),
    /// The subject and its type.
    Type(JsonType),
    /// The subject and its length.
    Length(usize),
    /// The subject and why the operation cannot apply to it.
    Inapplicable(&'static str),
}

impl Mismatch<'_> {
    /// The failed operation, e.g. `to contain "Shop"`.
    pub fn expected(&self) -> String {
        describe(self.op)
    }

    /// What was there, e.g. `found "Welcome"` or `but it is absent`.
    pub fn found(&self) -> String {
        let subject = self.subject;
        match self.detail {
            Detail::Absent => "but it is absent".to_string(),
            Detail::Plain => format!("found {}", shown(subject)),
            Detail::At(at) => match text_form(subject) {
                Some(text) => format!("found {}", show::excerpt(&text, at)),
                None => format!("found {}", shown(subject)),
            },
            Detail::Type(t) => format!("found {} ({})", shown(subject), t.name()),
            Detail::Length(n) => format!("found {} (length {n})", shown(subject)),
            Detail::Inapplicable(why) => format!("found {} ({why})", shown(subject)),
        }
    }

    /// `expected NOUN to contain "Shop", found "Welcome"`; `noun` names the subject.
    pub fn message(&self, noun: impl std::fmt::Display) -> String {
        format!("expected {noun} {}, {}", self.expected(), self.found())
    }
}

/// Run every operation of `check` on `subject`; the first failing one is reported.
pub fn run<'a>(check: &'a Check, subject: Subject<'a>) -> Result<(), Mismatch<'a>> {
    for op in &check.ops {
        let detail = match verdict(op, subject) {
            None => continue,
            Some(detail) => detail,
        };
        return Err(Mismatch {
            op,
            subject,
            detail,
        });
    }
    Ok(())
}

fn fail_if_not(ok: bool) -> Option<Detail> {
    if ok { None } else { Some(Detail::Plain) }
}

/// `None` when `op` holds of `subject`, else what the failure should show.
fn verdict(op: &CheckOp, subject: Subject<'_>) -> Option<Detail> {
    if let Subject::Absent = subject {
        return match op {
            CheckOp::Exists(false) => None,
            _ => Some(Detail::Absent),
        };
    }
    match op {
        CheckOp::Equals(v) => fail_if_not(equals(subject, v)),
        CheckOp::NotEquals(v) => fail_if_not(!equals(subject, v)),
        CheckOp::OneOf(vs) => fail_if_not(vs.iter().any(|v| equals(subject, v))),
        CheckOp::Contains(needle) => match contains(subject, needle) {
            Some(found) => fail_if_not(found),
            None => Some(Detail::Inapplicable("not text or an array")),
        },
        CheckOp::NotContains(needle) => match contains(subject, needle) {
            Some(false) => None,
            Some(true) => Some(match text_form(subject) {
                Some(text) => Detail::At(text.find(needle.as_str()).unwrap_or(0)),
                None => Detail::Plain,
            }),
            None => Some(Detail::Inapplicable("not text or an array")),
        },
        CheckOp::Matches(re) => match text_form(subject) {
            Some(text) => fail_if_not(re.is_match(&text)),
            None => Some(Detail::Inapplicable("not text")),
        },
        CheckOp::NotMatches(re) => match text_form(subject) {
            Some(text) => re.find(&text).map(|m| Detail::At(m.start())),
            None => Some(Detail::Inapplicable("not text")),
        },
        CheckOp::Lt(x) => compare(subject, |n| n < *x),
        CheckOp::Le(x) => compare(subject, |n| n <= *x),
        CheckOp::Gt(x) => compare(subject, |n| n > *x),
        CheckOp::Ge(x) => compare(subject, |n| n >= *x),
        CheckOp::Type(t) => {
            let actual = type_of(subject);
            (actual != *t).then_some(Detail::Type(actual))
        }
        CheckOp::Length(range) => match length(subject) {
            Some(n) if range.contains(n as u64) => None,
            Some(n) => Some(Detail::Length(n)),
            None => Some(Detail::Inapplicable("has no length")),
        },
        CheckOp::Empty(want) => fail_if_not(is_empty(subject) == *want),
        CheckOp::Exists(want) => fail_if_not(*want),
    }
}

/// The operation as the expected half of a message: `to contain "Shop"`, `to be < 100`.
pub fn describe(op: &CheckOp) -> String {
    match op {
        CheckOp::Equals(v) => format!("to equal {}", show::json(v)),
        CheckOp::NotEquals(v) => format!("not to equal {}", show::json(v)),
        CheckOp::OneOf(vs) => {
            let shown: Vec<String> = vs.iter().map(show::json).collect();
            format!("to be one of [{}]", shown.join(", "))
        }
        CheckOp::Contains(s) => format!("to contain {}", show::quote(s)),
        CheckOp::NotContains(s) => format!("not to contain {}", show::quote(s)),
        CheckOp::Matches(re) => format!("to match {}", regex(re)),
        CheckOp::NotMatches(re) => format!("not to match {}", regex(re)),
        CheckOp::Lt(x) => format!("to be < {x}"),
        CheckOp::Le(x) => format!("to be <= {x}"),
        CheckOp::Gt(x) => format!("to be > {x}"),
        CheckOp::Ge(x) => format!("to be >= {x}"),
        CheckOp::Type(t) => format!("to be of type {}", t.name()),
        CheckOp::Length(range) => format!("to have length {range}"),
        CheckOp::Empty(true) => "to be empty".to_string(),
        CheckOp::Empty(false) => "not to be empty".to_string(),
        CheckOp::Exists(true) => "to exist".to_string(),
        CheckOp::Exists(false) => "to be absent".to_string(),
    }
}

/// A regex as shown in messages: `/^\$\d+$/`.
pub fn regex(re: &Regex) -> String {
    format!("/{}/", re.as_str())
}

/// The subject as shown in messages (quoted text, compact JSON), bounded in length.
pub fn shown(subject: Subject<'_>) -> String {
    match subject {
        Subject::Absent => "nothing".to_string(),
        Subject::Text(t) => show::quote(t),
        Subject::Json(v) => show::json(v),
    }
}

/// Parse a number as people write it: surrounding whitespace and a leading `+`/`-` are
/// allowed, thousands separators are not; infinities and NaN are not numbers.
pub fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Equality: numbers compare numerically; a text subject equals a number when it parses as
/// that number, and a boolean when it reads `true`/`false`.
fn equals(subject: Subject<'_>, expected: &Value) -> bool {
    match subject {
        Subject::Absent => false,
        Subject::Text(t) => text_equals(t, expected),
        Subject::Json(v) => json_equals(v, expected),
    }
}

fn text_equals(text: &str, expected: &Value) -> bool {
    match expected {
        Value::String(s) => text == s,
        Value::Number(n) => parse_number(text).is_some_and(|x| Some(x) == n.as_f64()),
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

fn json_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_equals(x, y))
        }
        (Value::Object(xm), Value::Object(ym)) => {
            xm.len() == ym.len()
                && xm
                    .iter()
                    .all(|(k, x)| ym.get(k).is_some_and(|y| json_equals(x, y)))
        }
        _ => a == b,
    }
}

/// `contains`: substring of text (a number or boolean by its text form), an element of an
/// array equal to the needle, a key of an object. `None` when it cannot apply (null).
fn contains(subject: Subject<'_>, needle: &str) -> Option<bool> {
    match subject {
        Subject::Json(Value::Array(items)) => Some(items.iter().any(|x| text_equals(needle, x))),
        Subject::Json(Value::Object(map)) => Some(map.contains_key(needle)),
        _ => text_form(subject).map(|t| t.contains(needle)),
    }
}

/// The text a text operation works on: the text itself, a JSON string, or the text form of a
/// JSON number or boolean. Borrowed unless a number has to be rendered.
fn text_form<'a>(subject: Subject<'a>) -> Option<Cow<'a, str>> {
    match subject {
        Subject::Text(t) => Some(Cow::Borrowed(t)),
        Subject::Json(Value::String(s)) => Some(Cow::Borrowed(s)),
        Subject::Json(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
        Subject::Json(Value::Bool(b)) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn compare(subject: Subject<'_>, holds: impl Fn(f64) -> bool) -> Option<Detail> {
    let number = match subject {
        Subject::Text(t) => parse_number(t),
        Subject::Json(Value::Number(n)) => n.as_f64(),
        Subject::Json(Value::String(s)) => parse_number(s),
        _ => None,
    };
    match number {
        Some(n) => fail_if_not(holds(n)),
        None => Some(Detail::Inapplicable("not a number")),
    }
}

fn type_of(subject: Subject<'_>) -> JsonType {
    match subject {
        Subject::Absent | Subject::Json(Value::Null) => JsonType::Null,
        Subject::Text(_) | Subject::Json(Value::String(_)) => JsonType::String,
        Subject::Json(Value::Number(_)) => JsonType::Number,
        Subject::Json(Value::Bool(_)) => JsonType::Boolean,
        Subject::Json(Value::Array(_)) => JsonType::Array,
        Subject::Json(Value::Object(_)) => JsonType::Object,
    }
}

fn length(subject: Subject<'_>) -> Option<usize> {
    match subject {
        Subject::Text(t) => Some(t.chars().count()),
        Subject::Json(Value::String(s)) => Some(s.chars().count()),
        Subject::Json(Value::Array(a)) => Some(a.len()),
        Subject::Json(Value::Object(o)) => Some(o.len()),
        _ => None,
    }
}

fn is_empty(subject: Subject<'_>) -> bool {
    match subject {
        Subject::Absent | Subject::Json(Value::Null) => true,
        Subject::Text(t) => t.is_empty(),
        Subject::Json(Value::String(s)) => s.is_empty(),
        Subject::Json(Value::Array(a)) => a.is_empty(),
        Subject::Json(Value::Object(o)) => o.is_empty(),
        Subject::Json(Value::Number(_) | Value::Bool(_)) => false,
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
