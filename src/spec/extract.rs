//! Compiling `extract:`: values taken from a response (JSONPath, CSS text, attribute or count,
//! regex) and exported as metrics.

use super::expect::{css, jsonpath, regex};
use super::keys::EXTRACT;
use super::walk::{EXTRACT_NAME, Seen, Walk};
use crate::config::yaml::Node;
use crate::model::{Extract, ExtractSource};

/// Compile `extract:`; names must be unique in the target.
pub(super) fn extracts(ctx: &mut Walk<'_>, node: &Node) -> Vec<Extract> {
    let mut out = Vec::new();
    let Some(items) = ctx.seq(node, "a list of extract items") else {
        return out;
    };
    let mut seen = Seen::default();
    for item in items {
        let Some(f) = ctx.fields(item, &EXTRACT) else {
            continue;
        };
        let name = f.get("name").and_then(|n| ctx.name(n, &EXTRACT_NAME));
        if let (Some(n), Some(node)) = (&name, f.get("name"))
            && let Some(first) = seen.first(n, node.pos)
        {
            let msg = format!(
                "duplicate extract name {n:?} (first used at line {})",
                first.line
            );
            ctx.err(node.pos, msg);
        }
        // Outer None: the regex is invalid; inner None: there is none.
        let regex = match f.get("regex") {
            Some(n) => regex(ctx, n).map(Some),
            None => Some(None),
        };
        let source = extract_source(ctx, item, &f);
        if let (Some(name), Some(source), Some(regex)) = (name, source, regex) {
            out.push(Extract {
                name,
                source,
                regex,
            });
        }
    }
    out
}

fn extract_source(
    ctx: &mut Walk<'_>,
    item: &Node,
    f: &super::walk::Fields<'_>,
) -> Option<ExtractSource> {
    let css_e = f.entry("css");
    let path_e = f.entry("path");
    let text_e = f.entry("text");
    let attr_e = f.entry("attr");
    // Both sources, or `text`/`attr` without `css`: reported by the key table.
    if css_e.is_some() && path_e.is_some() {
        return None;
    }
    if let Some((_, p)) = path_e {
        let path = jsonpath(ctx, p)?;
        return (text_e.is_none() && attr_e.is_none()).then_some(ExtractSource::Json(path));
    }
    let Some((_, c)) = css_e else {
        ctx.err(item.pos, "extract item needs a source: `css` or `path`");
        return None;
    };
    let sel = css(ctx, c);
    let text = text_e.and_then(|(_, n)| ctx.bool(n, "a boolean"));
    let attr = attr_e.and_then(|(_, n)| ctx.text(n, "an attribute name"));
    if let (Some((t, _)), Some((a, _))) = (text_e, attr_e)
        && text == Some(true)
    {
        ctx.exclusive(t, a, "`text` and `attr` are exclusive");
        return None;
    }
    let sel = sel?;
    Some(match (attr, text) {
        (Some(a), _) => ExtractSource::CssAttr(sel, a),
        (None, Some(true)) => ExtractSource::CssText(sel),
        _ => ExtractSource::CssCount(sel),
    })
}
