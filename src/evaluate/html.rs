//! CSS-selector assertions on the parsed HTML document (parsed once, shared by all).

use scraper::{ElementRef, Html};

use super::check::{self, Subject};
use super::stream::{Found, Item};
use super::{judge, render_if};
use crate::model::HtmlAssertion;
use crate::result::Failure;

/// Collapse text as people read it: runs of whitespace (Unicode, including no-break spaces)
/// become one space, and the ends are trimmed. Written into `out` (cleared first) so one
/// buffer serves every match.
pub fn collapse_into<'t>(pieces: impl IntoIterator<Item = &'t str>, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    for piece in pieces {
        for c in piece.chars() {
            if c.is_whitespace() {
                pending_space = !out.is_empty();
            } else {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(c);
            }
        }
    }
}

/// The text of an element as people read it: every descendant text node, collapsed.
pub fn element_text(element: ElementRef<'_>, out: &mut String) {
    collapse_into(element.text(), out);
}

/// Where the answers for one selector come from: the DOM, or what streaming found.
#[derive(Debug, Clone, Copy)]
pub enum View<'d> {
    /// The parsed document.
    Dom(&'d Html),
    /// The matches the streaming pass collected for this selector.
    Stream(&'d Found),
}

/// One match, from either path.
#[derive(Clone, Copy)]
enum Match<'d> {
    /// A DOM element.
    Dom(ElementRef<'d>),
    /// A streamed match with its text and the assertion's attributes, in `attrs` order.
    Stream(&'d Item),
}

/// Run one `html:` assertion; `buf` is scratch space for element text.
pub fn assert(a: &HtmlAssertion, view: View<'_>, buf: &mut String) -> Option<Failure> {
    let has_checks = a.text.is_some() || !a.attrs.is_empty();
    let prefix = || format!("{} {:?}", a.id, a.css.source);
    let (n, matches): (usize, Vec<Match<'_>>) = match view {
        View::Dom(doc) if has_checks => {
            let all: Vec<Match<'_>> = doc.select(&a.css.selector).map(Match::Dom).collect();
            (all.len(), all)
        }
        View::Dom(doc) => (doc.select(&a.css.selector).count(), Vec::new()),
        View::Stream(found) => (found.count, found.items.iter().map(Match::Stream).collect()),
    };
    if !a.count.contains(n as u64) {
        let message = format!("{}: expected count {}, found {n}", prefix(), a.count);
        return Some(Failure::new(a.id.as_str(), message));
    }
    if !has_checks {
        return None;
    }
    let judged = judge(matches.into_iter(), a.mode, |m, render| {
        check_match(a, m, buf, render)
    })?;
    let message = judged.into_message(&prefix(), n, a.mode, "matches", |i| {
        format!("match {}", i + 1)
    });
    Some(Failure::new(a.id.as_str(), message))
}

/// The text check, then each attribute check, on one match; the failure message is formatted
/// only when `render` asks for it.
fn check_match(
    a: &HtmlAssertion,
    m: Match<'_>,
    buf: &mut String,
    render: bool,
) -> Result<(), String> {
    if let Some(text_check) = &a.text {
        match m {
            Match::Dom(el) => element_text(el, buf),
            Match::Stream(item) => collapse_into([item.text.as_str()], buf),
        }
        check::run(text_check, Subject::Text(buf)).map_err(|m| render_if(render, &m, "text"))?;
    }
    for (i, (name, attr_check)) in a.attrs.iter().enumerate() {
        let value = match m {
            Match::Dom(el) => el.value().attr(name),
            Match::Stream(item) => item.attrs.get(i).and_then(|v| v.as_deref()),
        };
        let subject = value.map_or(Subject::Absent, Subject::Text);
        check::run(attr_check, subject)
            .map_err(|m| render_if(render, &m, format_args!("attribute {name}")))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
