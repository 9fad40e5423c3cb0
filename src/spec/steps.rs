//! Compiling `vars:` and `steps:` of a target (a multi-step flow): each step's request, its
//! expectations and captures, and every `{{name}}` reference checked against the variables and
//! the captures of earlier steps.

use std::time::Duration;

use serde_json::Value as Json;
use url::Url;

use super::expect::{css, expect, jsonpath, regex};
use super::keys::{CAPTURE, STEP};
use super::walk::{Fields, IDENTIFIER, SPEC_NAME, Seen, Walk};
use crate::config::yaml::{Key, Node, Pos};
use crate::model::flow::{
    BodyTemplate, Capture, CaptureSource, CssValue, Flow, Piece, Step, Template,
};

/// What a flow's steps inherit from the target: the request settings of `defaults` (steps
/// keep their own `timeout` and `follow_redirects`).
pub(crate) struct Inherited {
    /// `defaults.timeout` (a target's `timeout` is the whole flow's).
    pub timeout: Duration,
    /// The target's redirect limit.
    pub follow_redirects: u32,
}

/// A name in scope, with where it was defined and by which step (`None`: `vars`).
struct Defined {
    /// Its position.
    pos: Pos,
    /// Index of the step that captures it.
    step: Option<usize>,
}

/// `vars` and `steps` of a target's fields: `None` when the target has no `steps` (or they
/// are invalid; problems are recorded in `ctx`).
pub(crate) fn flow(ctx: &mut Walk<'_>, f: &Fields<'_>, inherited: &Inherited) -> Option<Flow> {
    let Some((steps_key, steps_node)) = f.entry("steps") else {
        // `vars` without `steps` is reported by the key table.
        return None;
    };
    // `url` next to `steps` is reported by the key table (exactly one of them).
    for other in ["crawl", "render", "method", "body", "json", "extract"] {
        if let Some((key, _)) = f.entry(other) {
            ctx.exclusive(
                key,
                steps_key,
                &format!(
                    "`{other}` and `steps` are exclusive: a flow's requests are its steps{}",
                    if other == "crawl" {
                        " (a flow step may not crawl)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    let mut scope: Vec<(String, Defined)> = Vec::new();
    let mut vars = Vec::new();
    if let Some(node) = f.get("vars") {
        for (k, v) in ctx.named(node, "variable", &IDENTIFIER) {
            if let Some(value) = ctx.text(v, "a variable value (a scalar)") {
                scope.push((
                    k.name.clone(),
                    Defined {
                        pos: k.pos,
                        step: None,
                    },
                ));
                vars.push((k.name.clone(), value));
            }
        }
    }
    let timeout = f.get("timeout").and_then(|n| ctx.duration(n));
    let items = ctx.seq(steps_node, "a list of steps")?;
    if items.is_empty() {
        ctx.err(
            steps_node.pos,
            "`steps` is empty: a flow needs at least one step",
        );
        return None;
    }
    // Captures are known before the steps are compiled, so a reference to a later step's
    // capture can say which step captures it.
    let mut later: Vec<(String, usize)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(captures) = item
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.name == "capture"))
            && let Some(entries) = captures.1.as_map()
        {
            later.extend(entries.iter().map(|(k, _)| (k.name.clone(), i)));
        }
    }
    let mut names = Seen::default();
    let mut steps = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let refs = Refs {
            scope: &scope,
            later: &later,
            step: i,
        };
        let Some((compiled, name, pos, captured)) = step(ctx, item, inherited, &refs) else {
            ok = false;
            continue;
        };
        if let Some(name) = &name
            && let Some(first) = names.first(name, pos)
        {
            let msg = format!(
                "duplicate step name {name:?} (first defined at line {})",
                first.line
            );
            ctx.err(pos, msg);
            ok = false;
        }
        for (name, key) in captured {
            if let Some((_, d)) = scope.iter().find(|(n, _)| *n == name) {
                let what = if d.step.is_some() {
                    "a capture"
                } else {
                    "a variable"
                };
                let msg = format!(
                    "`{name}` is already {what} (defined at line {}): names are given once",
                    d.pos.line
                );
                ctx.err(key, msg);
                ok = false;
            } else {
                scope.push((
                    name,
                    Defined {
                        pos: key,
                        step: Some(i),
                    },
                ));
            }
        }
        match compiled {
            Some(step) => steps.push(step),
            None => ok = false,
        }
    }
    ok.then_some(Flow {
        vars,
        timeout,
        steps,
    })
}

/// What `{{name}}` may refer to at one step.
struct Refs<'a> {
    /// Variables and the captures of earlier steps.
    scope: &'a [(String, Defined)],
    /// Every capture of the flow with its step.
    later: &'a [(String, usize)],
    /// The step being compiled.
    step: usize,
}

/// A step (`None` when invalid), its name and the position of it, and the names it captures
/// with their positions (known even when the step is invalid, so later steps can use them).
type Compiled = (Option<Step>, Option<String>, Pos, Vec<(String, Pos)>);

/// One step; with the position of its name and the names it captures (with their positions).
fn step(
    ctx: &mut Walk<'_>,
    node: &Node,
    inherited: &Inherited,
    refs: &Refs<'_>,
) -> Option<Compiled> {
    let f = ctx.fields(node, &STEP)?;
    let name_node = f.get("name");
    let name = name_node.and_then(|n| ctx.name(n, &SPEC_NAME));
    let url = f.get("url").and_then(|n| url_template(ctx, n, refs));
    let method = match f.get("method") {
        Some(n) => super::compile::method(ctx, n),
        None => Some(reqwest::Method::GET),
    };
    let mut headers = Vec::new();
    if let Some(n) = f.get("headers") {
        for (k, v) in ctx.headers(n) {
            if let Some(t) = template(ctx, &v, n.pos, refs) {
                headers.push((k, t));
            }
        }
    }
    let body = match (f.entry("body"), f.entry("json")) {
        // Both: reported by the key table (`body` excludes `json`).
        (Some(_), Some(_)) => None,
        (Some((_, b)), None) => ctx
            .text(b, "a body string")
            .and_then(|s| template(ctx, &s, b.pos, refs))
            .map(BodyTemplate::Raw),
        (None, Some((_, j))) => {
            let json = ctx.json(j);
            check_json_refs(ctx, &json, j.pos, refs);
            Some(BodyTemplate::Json(json))
        }
        (None, None) => None,
    };
    let expect = f.get("expect").map(|n| expect(ctx, n)).unwrap_or_default();
    let timeout = f
        .get("timeout")
        .and_then(|n| ctx.duration(n))
        .unwrap_or(inherited.timeout);
    let follow_redirects = ctx
        .int_key(&f, "follow_redirects")
        .unwrap_or(inherited.follow_redirects);
    let always_run = f
        .get("always_run")
        .and_then(|n| ctx.bool(n, "a boolean"))
        .unwrap_or(false);
    let mut captured = Vec::new();
    let mut capture = Vec::new();
    if let Some(n) = f.get("capture") {
        for (k, v) in ctx.named(n, "capture", &IDENTIFIER) {
            if let Some(c) = capture_of(ctx, k, v) {
                captured.push((k.name.clone(), k.pos));
                capture.push(c);
            }
        }
    }
    let pos = name_node.map_or(node.pos, |n| n.pos);
    let valid = (|| Some((name.clone()?, url?, method?)))();
    let Some((step_name, url, method)) = valid else {
        return Some((None, name, pos, captured));
    };
    let step = Step {
        name: step_name,
        url,
        method,
        headers,
        body,
        expect,
        timeout,
        follow_redirects,
        capture,
        always_run,
    };
    Some((Some(step), name, pos, captured))
}

/// One capture: exactly one source (or `regex` alone, on the body), `regex` and `secret`.
fn capture_of(ctx: &mut Walk<'_>, key: &Key, node: &Node) -> Option<Capture> {
    let f = ctx.fields(node, &CAPTURE)?;
    const SOURCES: [&str; 7] = [
        "json", "header", "cookie", "css", "status", "url", "redirect",
    ];
    let given: Vec<&(Key, Node)> = SOURCES.iter().filter_map(|s| f.entry(s)).collect();
    let regex = f.get("regex").and_then(|n| regex(ctx, n));
    if given.len() > 1 {
        let (a, b) = (&given[0].0, &given[1].0);
        ctx.exclusive(
            a,
            b,
            &format!(
                "`{}` and `{}` are exclusive: a capture has one source",
                a.name, b.name
            ),
        );
        return None;
    }
    // `text` or `attr` without `css` is reported by the key table.
    if (f.get("text").is_some() || f.get("attr").is_some()) && f.get("css").is_none() {
        return None;
    }
    let flag = |ctx: &mut Walk<'_>, n: &Node| ctx.bool(n, "a boolean (true)").unwrap_or(false);
    let source = match given.first() {
        None if f.get("regex").is_some() => CaptureSource::Body,
        None => {
            let msg = format!(
                "capture `{}` needs a source: one of `json`, `header`, `cookie`, `css`, `regex`, `status`, `url` or `redirect`",
                key.name
            );
            ctx.err(node.pos, msg);
            return None;
        }
        Some((k, v)) => match k.name.as_str() {
            "json" => CaptureSource::Json(jsonpath(ctx, v)?),
            "header" => CaptureSource::Header(ctx.text(v, "a header name")?.to_ascii_lowercase()),
            "cookie" => CaptureSource::Cookie(ctx.text(v, "a cookie name")?),
            "css" => {
                let sel = css(ctx, v);
                let attr = f.get("attr").and_then(|n| ctx.text(n, "an attribute name"));
                let text = f.get("text").map(|n| flag(ctx, n));
                if attr.is_some() && text == Some(true) {
                    ctx.err(v.pos, "`text` and `attr` are exclusive");
                    return None;
                }
                let value = attr.map_or(CssValue::Text, CssValue::Attr);
                CaptureSource::Css(sel?, value)
            }
            other => {
                if !flag(ctx, v) {
                    ctx.err(
                        v.pos,
                        format!("`{other}: true` is the only form of this source"),
                    );
                    return None;
                }
                match other {
                    "status" => CaptureSource::Status,
                    "url" => CaptureSource::FinalUrl,
                    _ => CaptureSource::Redirect,
                }
            }
        },
    };
    if f.get("regex").is_some() && regex.is_none() {
        return None;
    }
    let secret = f
        .get("secret")
        .and_then(|n| ctx.bool(n, "a boolean"))
        .unwrap_or(false);
    Some(Capture {
        name: key.name.clone(),
        source,
        regex,
        secret,
    })
}

/// Split `text` into a [`Template`], checking each `{{name}}` against what is in scope.
fn template(ctx: &mut Walk<'_>, text: &str, pos: Pos, refs: &Refs<'_>) -> Option<Template> {
    let template = match parse_template(text) {
        Ok(t) => t,
        Err(e) => {
            ctx.err(pos, e);
            return None;
        }
    };
    let mut ok = true;
    for name in template.names() {
        if refs.scope.iter().any(|(n, _)| n == name) {
            continue;
        }
        ok = false;
        let message = match refs.later.iter().find(|(n, _)| n == name) {
            Some((_, at)) if *at == refs.step => {
                format!(
                    "`{{{{{name}}}}}` is captured by this same step: it can be used from the next step on"
                )
            }
            Some((_, at)) => format!(
                "`{{{{{name}}}}}` is used before the step that captures it (step {})",
                at + 1
            ),
            None => format!(
                "unknown name `{{{{{name}}}}}`: not a variable (`vars`) nor a capture of an earlier step"
            ),
        };
        ctx.err(pos, message);
    }
    ok.then_some(template)
}

/// A step URL: a template whose expansion (with any values) is an http(s) URL.
fn url_template(ctx: &mut Walk<'_>, node: &Node, refs: &Refs<'_>) -> Option<Template> {
    let text = ctx.text(node, "a URL string")?;
    let t = template(ctx, text.trim(), node.pos, refs)?;
    // A reference that begins the URL stands for its base; any other for a path or query part.
    let sample: String = t
        .pieces
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            Piece::Text(s) => s.as_str(),
            Piece::Var(_) if i == 0 => "http://base.invalid",
            Piece::Var(_) => "x",
        })
        .collect();
    match Url::parse(&sample) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            Some(t)
        }
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            ctx.err(
                node.pos,
                format!("URL scheme must be http or https, found {:?}", u.scheme()),
            );
            None
        }
        Ok(_) => {
            ctx.err(node.pos, "URL has no host");
            None
        }
        Err(e) => {
            ctx.err(node.pos, format!("invalid URL {text:?}: {e}"));
            None
        }
    }
}

/// Check the references in every string of a `json:` body.
fn check_json_refs(ctx: &mut Walk<'_>, json: &Json, pos: Pos, refs: &Refs<'_>) {
    match json {
        Json::String(s) => {
            template(ctx, s, pos, refs);
        }
        Json::Array(items) => items
            .iter()
            .for_each(|v| check_json_refs(ctx, v, pos, refs)),
        Json::Object(map) => map
            .values()
            .for_each(|v| check_json_refs(ctx, v, pos, refs)),
        _ => {}
    }
}

/// `text` split at `{{name}}` references (spaces inside the braces are allowed).
pub fn parse_template(text: &str) -> Result<Template, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            return Err(format!(
                "unterminated `{{{{` in {text:?}: write `{{{{name}}}}`"
            ));
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let name = rest[open + 2..open + 2 + close].trim();
        if !IDENTIFIER.matches(name) {
            return Err(format!(
                "invalid reference `{{{{{name}}}}}`: a name must match {}",
                IDENTIFIER.shown
            ));
        }
        pieces.push(Piece::Var(name.to_string()));
        rest = &rest[open + 2 + close + 2..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(Template { pieces })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_at_references() {
        let t = parse_template("https://h/{{ id }}/x?q={{q}}").unwrap();
        assert_eq!(
            t.pieces,
            vec![
                Piece::Text("https://h/".into()),
                Piece::Var("id".into()),
                Piece::Text("/x?q=".into()),
                Piece::Var("q".into()),
            ]
        );
        assert_eq!(parse_template("plain").unwrap(), Template::text("plain"));
        assert_eq!(parse_template("").unwrap(), Template::text(""));
        assert!(
            parse_template("a {{b")
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(
            parse_template("{{b-c}}")
                .unwrap_err()
                .contains("invalid reference")
        );
    }

    #[test]
    fn expansion_is_never_recursive() {
        let t = parse_template("{{a}}-{{b}}").unwrap();
        let v = |n: &str| {
            Some(if n == "a" {
                "{{b}}".to_string()
            } else {
                "B".to_string()
            })
        };
        assert_eq!(t.expand(v, |s| s.to_string()), "{{b}}-B");
    }
}
