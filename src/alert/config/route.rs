//! Compiling one entry of `routes:`. Channel names are only collected here: they are checked
//! against the channels of every alert file once all files are read.

use std::time::Duration;

use super::keys::ROUTE;
use crate::alert::{DEFAULT_AFTER, MatchValue, Matcher, Route, Severity};
use crate::config::walk::{Ctx, IDENTIFIER};
use crate::config::yaml::{Node, Pos};

/// Shortest `repeat` accepted (a shorter one would flood the channels).
const MIN_REPEAT: Duration = Duration::from_secs(1);

/// A route read from one file.
pub(super) struct Parsed {
    /// The route, when it had no error of its own (channel names not yet checked).
    pub route: Option<Route>,
    /// Each channel name with the position of its list item.
    pub channels: Vec<(String, Pos)>,
}

/// Compile one route. Its channel names are returned even when the rest has errors, so that
/// unknown names are reported in the same run.
pub(super) fn route(ctx: &mut Ctx<'_>, node: &Node) -> Parsed {
    let before = ctx.diags.len();
    let mut parsed = Parsed {
        route: None,
        channels: Vec::new(),
    };
    let Some(f) = ctx.fields(node, &ROUTE) else {
        return parsed;
    };
    let matchers = f.get("match").map(|n| matchers(ctx, n)).unwrap_or_default();
    if let Some(n) = f.get("channels") {
        parsed.channels = channels(ctx, n);
    }
    let after = f
        .get("after")
        .map_or(Some(DEFAULT_AFTER), |n| after(ctx, n));
    let repeat = f.get("repeat").and_then(|n| {
        let d = ctx.duration(n)?;
        if d < MIN_REPEAT {
            let shown = humantime::format_duration(d);
            ctx.err(n.pos, format!("repeat must be at least 1s, found {shown}"));
            return None;
        }
        Some(d)
    });
    let resolved = f
        .get("resolved")
        .map_or(Some(true), |n| ctx.bool(n, "a boolean"));
    let severity = f.get("severity").map_or(Severity::Failure, |n| {
        match ctx.text(n, "`failure` or `warning`").as_deref() {
            Some("warning") => Severity::Warning,
            Some("failure") | None => Severity::Failure,
            Some(other) => {
                let msg = format!(
                    "invalid severity {other:?} (allowed: failure, warning; to match a label `severity`, put it under `match`)"
                );
                ctx.err(n.pos, msg);
                Severity::Failure
            }
        }
    });
    if ctx.diags.len() != before {
        return parsed;
    }
    if let (Some(after), Some(resolved)) = (after, resolved) {
        parsed.route = Some(Route {
            matchers,
            channels: parsed.channels.iter().map(|(n, _)| n.clone()).collect(),
            after,
            repeat,
            resolved,
            severity,
        });
    }
    parsed
}

/// `after:` an integer of at least 1 (a numeric string too, as `${VAR}` gives).
fn after(ctx: &mut Ctx<'_>, node: &Node) -> Option<u32> {
    let n = ctx.int(node, "an integer (after)", i128::MIN, i128::MAX)?;
    if n < 1 {
        ctx.err(node.pos, format!("after must be at least 1, found {n}"));
        return None;
    }
    let too_large = || format!("after must be at most {}, found {n}", u32::MAX);
    u32::try_from(n)
        .map_err(|_| ctx.err(node.pos, too_large()))
        .ok()
}

/// `match:` key -> value or `'~regex'`.
pub(super) fn matchers(ctx: &mut Ctx<'_>, node: &Node) -> Vec<Matcher> {
    let mut out = Vec::new();
    let Some(entries) = ctx.map(node, "a map of `spec`, `target` or label name to value") else {
        return out;
    };
    for (k, v) in entries {
        if !IDENTIFIER.matches(&k.name) {
            ctx.err(
                k.pos,
                format!(
                    "invalid match key {:?}: expected `spec`, `target` or a label name matching {}",
                    k.name, IDENTIFIER.shown
                ),
            );
            continue;
        }
        let Some(text) = ctx.text(v, "a value to match (a string, or '~regex')") else {
            continue;
        };
        let value = match MatchValue::parse(&text) {
            Ok(value) => value,
            Err(e) => {
                ctx.err(v.pos, e);
                continue;
            }
        };
        out.push(Matcher {
            key: k.name.clone(),
            value,
        });
    }
    out
}

/// `channels:` a non-empty list of names, each given once.
fn channels(ctx: &mut Ctx<'_>, node: &Node) -> Vec<(String, Pos)> {
    let mut out: Vec<(String, Pos)> = Vec::new();
    let Some(items) = ctx.seq(node, "a list of channel names") else {
        return out;
    };
    if items.is_empty() {
        ctx.err(node.pos, "`channels` is empty: give at least one channel");
    }
    for item in items {
        let Some(name) = ctx.text(item, "a channel name") else {
            continue;
        };
        if let Some((_, first)) = out.iter().find(|(n, _)| *n == name) {
            let msg = format!(
                "channel {name:?} is listed twice in this route (first at line {})",
                first.line
            );
            ctx.err(item.pos, msg);
            continue;
        }
        out.push((name, item.pos));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::yaml::parse;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn compile(text: &str) -> (Option<Route>, Vec<String>) {
        let root = parse("r.yaml", text).unwrap();
        let mut ctx = Ctx::new("r.yaml", &no_env);
        let parsed = route(&mut ctx, &root);
        (
            parsed.route,
            ctx.diags.iter().map(|d| d.to_string()).collect(),
        )
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn applies_with_equals_and_regex() {
        let (r, errs) =
            compile("match: {spec: shop, target: '~home|api-.*', severity: page}\nchannels: [a]\n");
        assert!(errs.is_empty(), "{errs:?}");
        let r = r.unwrap();
        let page = labels(&[("severity", "page"), ("team", "web")]);
        assert!(r.applies("shop", "home", &page));
        assert!(r.applies("shop", "api-v2", &page));
        // Anchored: a partial match is not enough.
        assert!(!r.applies("shop", "homepage", &page));
        assert!(!r.applies("shop", "my-api-v2", &page));
        // Every matcher must hold.
        assert!(!r.applies("blog", "home", &page));
        assert!(!r.applies("shop", "home", &labels(&[("severity", "ticket")])));
        // A missing label does not match, not even an all-matching regex.
        assert!(!r.applies("shop", "home", &labels(&[])));
    }

    #[test]
    fn regex_on_labels_and_alternation_stays_anchored() {
        let (r, errs) = compile("match: {team: '~web|ops'}\nchannels: [a]\n");
        assert!(errs.is_empty(), "{errs:?}");
        let r = r.unwrap();
        assert!(r.applies("s", "t", &labels(&[("team", "ops")])));
        assert!(r.applies("s", "t", &labels(&[("team", "web")])));
        assert!(!r.applies("s", "t", &labels(&[("team", "webops")])));
        let (r, _) = compile("match: {team: '~.*'}\nchannels: [a]\n");
        assert!(!r.unwrap().applies("s", "t", &labels(&[])));
    }

    #[test]
    fn no_match_applies_to_every_target_with_defaults() {
        let (r, errs) = compile("channels: [a, b]\n");
        assert!(errs.is_empty(), "{errs:?}");
        let r = r.unwrap();
        assert!(r.matchers.is_empty());
        assert!(r.applies("any", "thing", &labels(&[])));
        assert_eq!(r.channels, ["a", "b"]);
        assert_eq!(r.after, DEFAULT_AFTER);
        assert_eq!(r.repeat, None);
        assert!(r.resolved);
    }

    #[test]
    fn numbers_match_as_text() {
        let (r, errs) = compile("match: {tier: 1}\nchannels: [a]\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert!(r.unwrap().applies("s", "t", &labels(&[("tier", "1")])));
    }

    #[test]
    fn escaping_the_anchor_is_a_bad_regex() {
        let (r, errs) = compile("match: {target: '~a)|(b'}\nchannels: [a]\n");
        assert!(r.is_none());
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("r.yaml:1:17: invalid regex \"a)|(b\""),
            "{errs:?}"
        );
    }

    #[test]
    fn route_errors() {
        let (r, errs) =
            compile("match: {9x: a}\nchannels: [a, a]\nafter: 0\nrepeat: 500ms\nresolved: maybe\n");
        assert!(r.is_none());
        assert_eq!(
            errs,
            [
                "r.yaml:1:9: invalid match key \"9x\": expected `spec`, `target` or a label name matching ^[a-zA-Z_][a-zA-Z0-9_]*$",
                "r.yaml:2:15: channel \"a\" is listed twice in this route (first at line 2)",
                "r.yaml:3:8: after must be at least 1, found 0",
                "r.yaml:4:9: repeat must be at least 1s, found 500ms",
                "r.yaml:5:11: expected a boolean, found string \"maybe\"",
            ]
        );
        let (_, errs) = compile("channels: []\n");
        assert_eq!(
            errs,
            ["r.yaml:1:11: `channels` is empty: give at least one channel"]
        );
    }
}
