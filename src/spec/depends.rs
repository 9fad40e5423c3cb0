//! `depends_on:` of a target: each item names a target of any spec file as `spec/target`.
//!
//! A file can only check the form of its items; whether they name a target, the target itself,
//! or close a cycle is known once every file is read ([`check`]).

use std::collections::HashMap;

use super::walk::{SPEC_NAME, Seen, Walk};
use crate::config::Diagnostic;
use crate::config::yaml::{Node, Pos};

/// (spec, target).
type Key = (String, String);

/// One `depends_on` item, kept until every file is read.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The file it is in.
    pub file: String,
    /// Where the item is.
    pub pos: Pos,
    /// The target that depends.
    pub from: Key,
    /// The target it names.
    pub to: Key,
}

/// What the walk of one spec file found for the cross-file checks.
#[derive(Debug, Default)]
pub struct Found {
    /// Every target declared (compiled or not), so that a target with errors of its own is not
    /// also reported as unknown.
    pub declared: Vec<Key>,
    /// Every `depends_on` item of a well-formed shape.
    pub pending: Vec<Pending>,
}

/// Read `depends_on:` of target `from`: a list of `spec/target`, each once. The references
/// are recorded in the walk for [`check`]; the target keeps them too.
pub fn depends_on(ctx: &mut Walk<'_>, node: &Node, from: &Key) -> Vec<Key> {
    let mut out = Vec::new();
    let Some(items) = ctx.seq(node, "a list of spec/target") else {
        return out;
    };
    let mut seen = Seen::default();
    for item in items {
        let Some(text) = ctx.text(item, "a target as spec/target") else {
            continue;
        };
        let Some(to) = parse(&text) else {
            let msg = format!(
                "invalid dependency {text:?}: expected spec/target (names matching {}), e.g. shop/home",
                SPEC_NAME.shown
            );
            ctx.err(item.pos, msg);
            continue;
        };
        if let Some(first) = seen.first(&text, item.pos) {
            let msg = format!(
                "{text:?} is listed twice in depends_on (first at line {})",
                first.line
            );
            ctx.err(item.pos, msg);
            continue;
        }
        ctx.ext.found.pending.push(Pending {
            file: ctx.file.clone(),
            pos: item.pos,
            from: from.clone(),
            to: to.clone(),
        });
        out.push(to);
    }
    out
}

/// `spec/target`, both valid names.
fn parse(text: &str) -> Option<Key> {
    let (spec, target) = text.trim().split_once('/')?;
    (SPEC_NAME.matches(spec) && SPEC_NAME.matches(target))
        .then(|| (spec.to_string(), target.to_string()))
}

/// Check every item of every file: it names a declared target, not its own, and no chain of
/// them comes back to where it started. Each cycle is reported once, at the item closing it.
pub fn check(declared: &[Key], pending: &[Pending]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut edges: HashMap<&Key, Vec<&Pending>> = HashMap::new();
    for p in pending {
        let at = |message: String| Diagnostic::new(&p.file, p.pos.line, p.pos.column, message);
        if p.to == p.from {
            out.push(at(format!(
                "{}/{} cannot depend on itself",
                p.from.0, p.from.1
            )));
        } else if !declared.contains(&p.to) {
            let (spec, target) = &p.to;
            let why = if declared.iter().any(|(s, _)| s == spec) {
                format!("spec {spec:?} has no target {target:?}")
            } else {
                format!("there is no spec {spec:?}")
            };
            out.push(at(format!("unknown dependency \"{spec}/{target}\": {why}")));
        } else {
            edges.entry(&p.from).or_default().push(p);
        }
    }
    cycles(declared, &edges, &mut out);
    out
}

/// Where a target stands in the search for cycles.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current path.
    Open,
    /// Fully explored.
    Done,
}

/// Depth-first search from every target in order; an edge back onto the current path closes
/// a cycle, reported at that edge's item with the whole path.
fn cycles(declared: &[Key], edges: &HashMap<&Key, Vec<&Pending>>, out: &mut Vec<Diagnostic>) {
    let mut marks: HashMap<&Key, Mark> = HashMap::new();
    for start in declared {
        if marks.contains_key(start) {
            continue;
        }
        // The path from `start`, each target with the index of its next edge to follow.
        let mut path: Vec<(&Key, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Open);
        while let Some((node, next)) = path.last_mut() {
            let node: &Key = node;
            let Some(edge) = edges.get(node).and_then(|e| e.get(*next)).copied() else {
                marks.insert(node, Mark::Done);
                path.pop();
                continue;
            };
            *next += 1;
            match marks.get(&edge.to) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    let from = path.iter().position(|(k, _)| **k == edge.to).unwrap_or(0);
                    let mut names: Vec<String> = path[from..]
                        .iter()
                        .map(|(k, _)| format!("{}/{}", k.0, k.1))
                        .collect();
                    names.push(format!("{}/{}", edge.to.0, edge.to.1));
                    let message = format!("dependency cycle: {}", names.join(" -> "));
                    out.push(Diagnostic::new(
                        &edge.file,
                        edge.pos.line,
                        edge.pos.column,
                        message,
                    ));
                }
                None => {
                    marks.insert(&edge.to, Mark::Open);
                    path.push((&edge.to, 0));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        let (a, b) = s.split_once('/').unwrap();
        (a.to_string(), b.to_string())
    }

    fn dep(line: usize, from: &str, to: &str) -> Pending {
        Pending {
            file: "f.yaml".into(),
            pos: Pos { line, column: 7 },
            from: key(from),
            to: key(to),
        }
    }

    #[test]
    fn parses_spec_slash_target() {
        assert_eq!(parse("core/db"), Some(key("core/db")));
        assert_eq!(parse(" core/db "), Some(key("core/db")));
        for bad in ["db", "core/", "/db", "Core/db", "core/db/x", "core/d b"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_chain_is_fine_and_each_cycle_is_reported_once() {
        let declared = ["a/x", "a/y", "a/z", "b/w"].map(key);
        let chain = [dep(1, "a/z", "a/y"), dep(2, "a/y", "a/x")];
        assert!(check(&declared, &chain).is_empty());
        let looped = [
            dep(1, "a/x", "a/y"),
            dep(2, "a/y", "a/z"),
            dep(3, "a/z", "a/x"),
            dep(4, "b/w", "a/x"),
            dep(5, "b/w", "b/w"),
            dep(6, "b/w", "b/nope"),
            dep(7, "b/w", "c/nope"),
        ];
        let lines: Vec<String> = check(&declared, &looped)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "f.yaml:5:7: b/w cannot depend on itself",
                "f.yaml:6:7: unknown dependency \"b/nope\": spec \"b\" has no target \"nope\"",
                "f.yaml:7:7: unknown dependency \"c/nope\": there is no spec \"c\"",
                "f.yaml:3:7: dependency cycle: a/x -> a/y -> a/z -> a/x",
            ]
        );
    }
}
