//! CSS-selector assertions on the parsed HTML document (parsed once, shared by all).

use scraper::{ElementRef, Html};

use super::check::{self, Subject};
use super::{judge, render_if};
use crate::model::HtmlAssertion;
use crate::result::Failure;

/// The text of an element as people read it: every descendant text node, runs of whitespace
/// (Unicode, including no-break spaces) collapsed to one space, trimmed. Written into `out`
/// (cleared first) so one buffer serves every match.
pub fn element_text(element: ElementRef<'_>, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    for piece in element.text() {
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

/// Run one `html:` assertion; `buf` is scratch space for element text.
pub fn assert(a: &HtmlAssertion, doc: &Html, buf: &mut String) -> Option<Failure> {
    let has_checks = a.text.is_some() || !a.attrs.is_empty();
    let prefix = || format!("{} {:?}", a.id, a.css.source);
    let (n, matches) = if has_checks {
        let all: Vec<ElementRef<'_>> = doc.select(&a.css.selector).collect();
        (all.len(), all)
    } else {
        (doc.select(&a.css.selector).count(), Vec::new())
    };
    if !a.count.contains(n as u64) {
        let message = format!("{}: expected count {}, found {n}", prefix(), a.count);
        return Some(Failure::new(a.id.as_str(), message));
    }
    let judged = judge(matches.into_iter(), a.mode, |el, render| {
        check_element(a, el, buf, render)
    })?;
    let message = judged.into_message(&prefix(), n, a.mode, "matches", |i| {
        format!("match {}", i + 1)
    });
    Some(Failure::new(a.id.as_str(), message))
}

/// The text check, then each attribute check, on one matched element; the failure message is
/// formatted only when `render` asks for it.
fn check_element(
    a: &HtmlAssertion,
    el: ElementRef<'_>,
    buf: &mut String,
    render: bool,
) -> Result<(), String> {
    if let Some(text_check) = &a.text {
        element_text(el, buf);
        check::run(text_check, Subject::Text(buf)).map_err(|m| render_if(render, &m, "text"))?;
    }
    for (name, attr_check) in &a.attrs {
        let subject = el.value().attr(name).map_or(Subject::Absent, Subject::Text);
        check::run(attr_check, subject)
            .map_err(|m| render_if(render, &m, format_args!("attribute {name}")))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
