//! Compiling `expect:` (status, headers, body, tls, html, json) and checks; `extract:` is in
//! [`super::extract`].

use super::exprs::compile_regex;
use super::keys::{CHECK, EXPECT, HTML, JSON, LIMIT, SEVERE_RANGE, STATUS, TLS};
use super::walk::{Seen, Walk};
use crate::config::yaml::{Node, Value};
use crate::model::{
    Check, CheckOp, CountRange, Expect, HeaderCheck, HtmlAssertion, JsonAssertion, JsonType,
    MatchMode, Severity, StatusPattern, TlsExpect,
};

/// Compile `expect:`; problems are recorded in `ctx`.
pub(super) fn expect(ctx: &mut Walk<'_>, node: &Node) -> Expect {
    let mut out = Expect::default();
    let Some(f) = ctx.fields(node, &EXPECT) else {
        return out;
    };
    if let Some(n) = f.get("status") {
        (out.status, out.status_severity) = severe_statuses(ctx, n);
    }
    if let Some(n) = f.get("max_duration") {
        (out.max_duration, out.max_duration_severity) = max_duration(ctx, n);
    }
    if let Some(n) = f.get("headers")
        && let Some(entries) = ctx.map(n, "a map of header name to check")
    {
        for (k, v) in entries {
            let name = k.name.to_ascii_lowercase();
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                ctx.err(k.pos, format!("invalid header name {:?}", k.name));
            }
            if let Some((check, severity)) = severe_check(ctx, v) {
                out.headers.push(HeaderCheck {
                    name,
                    check,
                    severity,
                });
            }
        }
    }
    if let Some(n) = f.get("body") {
        let items = match &n.value {
            Value::Seq(items) => items.as_slice(),
            _ => std::slice::from_ref(n),
        };
        for (check, severity) in items.iter().filter_map(|i| severe_check(ctx, i)) {
            match severity {
                Severity::Failure => out.body.push(check),
                Severity::Warning => out.body_warnings.push(check),
            }
        }
    }
    if let Some(n) = f.get("tls")
        && let Some(t) = ctx.fields(n, &TLS)
        && let Some(d) = t.get("min_days_valid")
    {
        let severity = severity(ctx, t.get("severity"));
        out.tls = ctx
            .u32(d, "min_days_valid (days)", 0, u32::MAX)
            .map(|min_days_valid| TlsExpect {
                min_days_valid,
                severity,
            });
    }
    if let Some(n) = f.get("console_errors")
        && let Some((range, severe)) = ctx.range_in(n, "console_errors", &SEVERE_RANGE)
    {
        out.console_errors = Some(range);
        out.console_errors_severity = severity(ctx, severe);
    }
    if let Some(n) = f.get("failed_requests")
        && let Some((range, severe)) = ctx.range_in(n, "failed_requests", &SEVERE_RANGE)
    {
        out.failed_requests = Some(range);
        out.failed_requests_severity = severity(ctx, severe);
    }
    let mut ids = Seen::default();
    if let Some(n) = f.get("html")
        && let Some(items) = ctx.seq(n, "a list of html assertions")
    {
        for (i, item) in items.iter().enumerate() {
            if let Some(a) = html(ctx, item, i, &mut ids) {
                out.html.push(a);
            }
        }
    }
    if let Some(n) = f.get("json")
        && let Some(items) = ctx.seq(n, "a list of json assertions")
    {
        for (i, item) in items.iter().enumerate() {
            if let Some(a) = json(ctx, item, i, &mut ids) {
                out.json.push(a);
            }
        }
    }
    out
}

/// `status`: statuses, or `{in, severity}`.
fn severe_statuses(ctx: &mut Walk<'_>, node: &Node) -> (Vec<StatusPattern>, Severity) {
    if node.as_map().is_none() {
        return (statuses(ctx, node), Severity::Failure);
    }
    let Some(f) = ctx.fields(node, &STATUS) else {
        return (Vec::new(), Severity::Failure);
    };
    let accepted = f.get("in").map(|n| statuses(ctx, n)).unwrap_or_default();
    (accepted, severity(ctx, f.get("severity")))
}

fn statuses(ctx: &mut Walk<'_>, node: &Node) -> Vec<StatusPattern> {
    match &node.value {
        Value::Seq(items) => {
            if items.is_empty() {
                ctx.err(node.pos, "status list is empty (omit `status` for 2xx)");
            }
            items.iter().filter_map(|n| status(ctx, n)).collect()
        }
        _ => status(ctx, node).into_iter().collect(),
    }
}

fn status(ctx: &mut Walk<'_>, node: &Node) -> Option<StatusPattern> {
    const WHAT: &str = "a status code (100..=599) or a class such as \"2xx\"";
    let code = match &node.value {
        Value::Int(i) => *i,
        Value::Str(s) => {
            let t = ctx.interp(s, node.pos)?;
            let t = t.trim();
            let b = t.as_bytes();
            if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
                return Some(StatusPattern::Class(b[0] - b'0'));
            }
            match t.parse::<i128>() {
                Ok(i) => i,
                Err(_) => {
                    ctx.err(node.pos, format!("invalid status {t:?}: expected {WHAT}"));
                    return None;
                }
            }
        }
        _ => {
            ctx.type_err(node, WHAT);
            return None;
        }
    };
    match u16::try_from(code) {
        Ok(c) if (100..=599).contains(&c) => Some(StatusPattern::Code(c)),
        _ => {
            ctx.err(node.pos, format!("invalid status {code}: expected {WHAT}"));
            None
        }
    }
}

/// `max_duration`: a duration, or `{limit, severity}`.
fn max_duration(ctx: &mut Walk<'_>, node: &Node) -> (Option<std::time::Duration>, Severity) {
    if node.as_map().is_none() {
        return (ctx.duration(node), Severity::Failure);
    }
    let Some(f) = ctx.fields(node, &LIMIT) else {
        return (None, Severity::Failure);
    };
    let limit = f.get("limit").and_then(|n| ctx.duration(n));
    (limit, severity(ctx, f.get("severity")))
}

/// `severity:` `failure` (also when absent) or `warning`.
pub(crate) fn severity(ctx: &mut Walk<'_>, node: Option<&Node>) -> Severity {
    let Some(node) = node else {
        return Severity::Failure;
    };
    match ctx.text(node, "`failure` or `warning`").as_deref() {
        Some("failure") | None => Severity::Failure,
        Some("warning") => Severity::Warning,
        Some(other) => {
            let msg = format!("invalid severity {other:?} (allowed: failure, warning)");
            ctx.err(node.pos, msg);
            Severity::Failure
        }
    }
}

/// The operations a check may have, joined for messages (`severity` where it is allowed).
fn allowed_ops(with_severity: bool) -> String {
    let names: Vec<&str> = CHECK
        .keys
        .iter()
        .map(|k| k.name)
        .filter(|n| with_severity || *n != "severity")
        .collect();
    names.join(", ")
}

/// A check of `headers` or `body`, which may say `severity`.
fn severe_check(ctx: &mut Walk<'_>, node: &Node) -> Option<(Check, Severity)> {
    compile_check(ctx, node, true)
}

/// Compile a check: a scalar (equals) or a map of operations (no `severity`: inside an html
/// or json item the item says it).
pub(super) fn check(ctx: &mut Walk<'_>, node: &Node) -> Option<Check> {
    compile_check(ctx, node, false).map(|(c, _)| c)
}

/// A check and its severity, with `severity` allowed among its keys or not.
fn compile_check(
    ctx: &mut Walk<'_>,
    node: &Node,
    with_severity: bool,
) -> Option<(Check, Severity)> {
    let entries = match &node.value {
        Value::Map(entries) => entries,
        Value::Seq(_) => {
            ctx.err(
                node.pos,
                "expected a check (a scalar, or a map of operations such as {contains: x}), found a sequence",
            );
            return None;
        }
        _ => {
            let v = ctx.json(node);
            let ops = vec![CheckOp::Equals(v)];
            return Some((Check { ops }, Severity::Failure));
        }
    };
    if entries.is_empty() {
        ctx.err(
            node.pos,
            format!(
                "a check needs at least one operation (allowed: {})",
                allowed_ops(with_severity)
            ),
        );
        return None;
    }
    let mut ops = Vec::new();
    let mut ok = true;
    let mut severe = Severity::Failure;
    for (k, v) in entries {
        let op = match k.name.as_str() {
            "severity" if with_severity => {
                severe = severity(ctx, Some(v));
                continue;
            }
            "severity" => {
                let msg = "`severity` belongs to the whole html or json item, not to one of its checks: move it up to the item";
                ctx.err(k.pos, msg);
                None
            }
            "equals" => Some(CheckOp::Equals(ctx.json(v))),
            "not_equals" => Some(CheckOp::NotEquals(ctx.json(v))),
            "contains" => ctx.text(v, "a string").map(CheckOp::Contains),
            "not_contains" => ctx.text(v, "a string").map(CheckOp::NotContains),
            "matches" => regex(ctx, v).map(CheckOp::Matches),
            "not_matches" => regex(ctx, v).map(CheckOp::NotMatches),
            "one_of" => ctx
                .seq(v, "a list of values")
                .map(|items| CheckOp::OneOf(items.iter().map(|i| ctx.json(i)).collect())),
            "lt" => ctx.number(v, "a number").map(CheckOp::Lt),
            "le" => ctx.number(v, "a number").map(CheckOp::Le),
            "gt" => ctx.number(v, "a number").map(CheckOp::Gt),
            "ge" => ctx.number(v, "a number").map(CheckOp::Ge),
            "type" => json_type(ctx, v).map(CheckOp::Type),
            "length" => ctx.range(v, "length").map(CheckOp::Length),
            "empty" => ctx.bool(v, "a boolean").map(CheckOp::Empty),
            "exists" => ctx.bool(v, "a boolean").map(CheckOp::Exists),
            other => {
                ctx.err(
                    k.pos,
                    format!(
                        "unknown check operation `{other}` (allowed: {})",
                        allowed_ops(with_severity)
                    ),
                );
                None
            }
        };
        match op {
            Some(op) => ops.push(op),
            None => ok = false,
        }
    }
    if ops.is_empty() && ok {
        let msg = format!(
            "a check needs at least one operation besides `severity` (allowed: {})",
            allowed_ops(with_severity)
        );
        ctx.err(node.pos, msg);
        return None;
    }
    ok.then_some((Check { ops }, severe))
}

pub(crate) fn regex(ctx: &mut Walk<'_>, node: &Node) -> Option<regex::Regex> {
    let s = ctx.text(node, "a regex string")?;
    compile_regex(&s).map_err(|e| ctx.err(node.pos, e)).ok()
}

fn json_type(ctx: &mut Walk<'_>, node: &Node) -> Option<JsonType> {
    let s = ctx.text(node, "a type name")?;
    let t = match s.as_str() {
        "string" => JsonType::String,
        "number" => JsonType::Number,
        "boolean" => JsonType::Boolean,
        "null" => JsonType::Null,
        "array" => JsonType::Array,
        "object" => JsonType::Object,
        _ => {
            ctx.err(
                node.pos,
                format!(
                    "unknown type {s:?} (allowed: string, number, boolean, null, array, object)"
                ),
            );
            return None;
        }
    };
    Some(t)
}

fn match_mode(ctx: &mut Walk<'_>, node: Option<&Node>) -> MatchMode {
    let Some(node) = node else {
        return MatchMode::All;
    };
    match ctx.text(node, "`all` or `any`").as_deref() {
        Some("all") | None => MatchMode::All,
        Some("any") => MatchMode::Any,
        Some(other) => {
            ctx.err(
                node.pos,
                format!("invalid match {other:?} (allowed: all, any)"),
            );
            MatchMode::All
        }
    }
}

/// The id of an assertion: its `name` or `KIND[INDEX]`; duplicates are reported.
fn assertion_id(
    ctx: &mut Walk<'_>,
    name: Option<&Node>,
    kind: &str,
    index: usize,
    ids: &mut Seen,
) -> String {
    let Some(n) = name else {
        return format!("{kind}[{index}]");
    };
    let Some(id) = ctx.text(n, "a name string") else {
        return format!("{kind}[{index}]");
    };
    if id.trim().is_empty() {
        ctx.err(n.pos, "assertion name must not be empty");
    } else if let Some(first) = ids.first(&id, n.pos) {
        let msg = format!(
            "duplicate assertion name {id:?} (first used at line {})",
            first.line
        );
        ctx.err(n.pos, msg);
    }
    id
}

fn html(ctx: &mut Walk<'_>, node: &Node, index: usize, ids: &mut Seen) -> Option<HtmlAssertion> {
    let f = ctx.fields(node, &HTML)?;
    let id = assertion_id(ctx, f.get("name"), "html", index, ids);
    let css = f.get("css").and_then(|n| css(ctx, n));
    let count = match f.get("count") {
        Some(n) => ctx.range(n, "count"),
        None => Some(CountRange {
            min: Some(1),
            max: None,
        }),
    };
    let text = f.get("text").map(|n| check(ctx, n));
    let mut attrs = Vec::new();
    let mut attrs_ok = true;
    if let Some(n) = f.get("attr") {
        match ctx.map(n, "a map of attribute name to check") {
            Some(entries) => {
                for (k, v) in entries {
                    match check(ctx, v) {
                        Some(c) => attrs.push((k.name.clone(), c)),
                        None => attrs_ok = false,
                    }
                }
            }
            None => attrs_ok = false,
        }
    }
    let mode = match_mode(ctx, f.get("match"));
    let severity = severity(ctx, f.get("severity"));
    let text = match text {
        Some(Some(c)) => Some(c),
        Some(None) => return None,
        None => None,
    };
    if !attrs_ok {
        return None;
    }
    Some(HtmlAssertion {
        id,
        css: css?,
        count: count?,
        text,
        attrs,
        mode,
        severity,
    })
}

fn json(ctx: &mut Walk<'_>, node: &Node, index: usize, ids: &mut Seen) -> Option<JsonAssertion> {
    let f = ctx.fields(node, &JSON)?;
    let id = assertion_id(ctx, f.get("name"), "json", index, ids);
    let path = f.get("path").and_then(|n| jsonpath(ctx, n));
    let count = f.get("count").map(|n| ctx.range(n, "count"));
    let value = f.get("value").map(|n| check(ctx, n));
    let mode = match_mode(ctx, f.get("match"));
    let severity = severity(ctx, f.get("severity"));
    Some(JsonAssertion {
        id,
        path: path?,
        count: match count {
            Some(c) => Some(c?),
            None => None,
        },
        value: match value {
            Some(v) => Some(v?),
            None => None,
        },
        mode,
        severity,
    })
}

pub(crate) fn css(ctx: &mut Walk<'_>, node: &Node) -> Option<crate::model::CssSelector> {
    let s = ctx.text(node, "a CSS selector string")?;
    ctx.ext.css(&s).map_err(|e| ctx.err(node.pos, e)).ok()
}

pub(crate) fn jsonpath(ctx: &mut Walk<'_>, node: &Node) -> Option<crate::model::JsonPathExpr> {
    let s = ctx.text(node, "a JSONPath string")?;
    ctx.ext.jsonpath(&s).map_err(|e| ctx.err(node.pos, e)).ok()
}
