//! The streaming HTML path: the selector assertions that matter most (count, text, attribute)
//! answered in one pass over the page with `lol_html`, without building a DOM.
//!
//! A streaming parser sees tags as written, not the tree the HTML tree builder makes of them, so
//! every page is watched by a `tracker::Tracker`: the answers are used only when the page's
//! structure provably is that tree. Otherwise (implied end tags, misnesting, tables, templates,
//! foreign content, entities whose meaning needs more rules...) [`run`] returns the reason and
//! the caller asks the DOM path, which gives the same answers a browser would. Text and
//! attribute values are entity-decoded here, as the tree builder would.

mod entities;
mod tracker;

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::LazyLock;

use lol_html::html_content::{Element, TextType};
use lol_html::{DocumentContentHandlers, ElementContentHandlers, HtmlRewriter, Settings};

use crate::model::FastCss;
use tracker::Tracker;

/// One selector to answer: how many elements match, and for each its text and/or attributes.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// The selector, compiled for streaming.
    pub css: &'a FastCss,
    /// Collect each match's text.
    pub text: bool,
    /// Collect these attributes of each match.
    pub attrs: Vec<String>,
}

/// What one query found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Number of matches.
    pub count: usize,
    /// Text and attributes of each match, in document order (when asked for).
    pub items: Vec<Item>,
}

/// One match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// Its descendant text, entity-decoded, not yet collapsed.
    pub text: String,
    /// The asked-for attributes, decoded, in query order.
    pub attrs: Vec<Option<String>>,
}

/// `*`, for the tracker's handler: compiled once, not per page.
static EVERY_ELEMENT: LazyLock<Option<lol_html::Selector>> = LazyLock::new(|| "*".parse().ok());

/// The HTML namespace, the only one streamed.
const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Per-query state while streaming.
#[derive(Debug, Default)]
struct Collecting {
    /// Collect text.
    text: bool,
    /// Attributes to collect.
    attrs: Vec<String>,
    /// What was found.
    found: Found,
    /// Matches still open (item index, element id) whose text is being collected.
    open: Vec<(usize, u32)>,
}

/// Everything the handlers share.
#[derive(Debug, Default)]
struct State {
    tracker: Tracker,
    queries: Vec<Collecting>,
    /// Matches open for text, over all queries.
    open_text: usize,
    /// The text node being read (chunks are joined before decoding).
    text: String,
    /// Attributes a selector tests, checked for `&` (set only when the page has one).
    amp_attrs: Vec<String>,
    /// Id of the element whose start tag is being handled (`None` for a void element).
    current: Option<u32>,
    /// Where the last `<pre>` or `<textarea>` start tag ended: a newline right there is
    /// dropped, as the tree builder does.
    newline_dropped_at: Option<usize>,
    /// Where the text node being read starts.
    text_at: usize,
    /// `</x` sequences inside text (scripts, styles, titles) and comments: not end tags.
    ends_in_text: usize,
}

impl State {
    /// A start tag: track it, and remember its id for the query handlers.
    fn start(&mut self, el: &mut Element<'_, '_>, state: &Rc<RefCell<State>>) {
        let name = el.tag_name();
        if matches!(name.as_str(), "pre" | "textarea") {
            self.newline_dropped_at = Some(el.source_location().bytes().end);
        }
        if el.namespace_uri() != HTML_NS {
            self.tracker.hand_over = self.tracker.hand_over.or(Some("foreign content"));
        }
        for a in &self.amp_attrs {
            if el.get_attribute(a).is_some_and(|v| v.contains('&')) {
                self.tracker.hand_over = self.tracker.hand_over.or(Some(
                    "a character reference in an attribute a selector tests",
                ));
            }
        }
        let id = self
            .tracker
            .start(name, !el.can_have_content(), el.is_self_closing());
        self.current = id;
        if let Some(id) = id
            && let Some(handlers) = el.end_tag_handlers()
        {
            let state = Rc::clone(state);
            handlers.push(Box::new(move |end| {
                // lol_html also runs this when another end tag closed the element implicitly:
                // the tracker compares the names.
                state.borrow_mut().end(id, &end.name());
                Ok(())
            }));
        }
    }

    /// The end tag of element `id`.
    fn end(&mut self, id: u32, tag: &str) {
        self.tracker.end(id, tag);
        for q in &mut self.queries {
            while q.open.last().is_some_and(|(_, e)| *e == id) {
                q.open.pop();
                self.open_text -= 1;
            }
        }
    }

    /// A match of query `qi`.
    fn matched(&mut self, qi: usize, el: &Element<'_, '_>) {
        let current = self.current;
        let Some(q) = self.queries.get_mut(qi) else {
            return;
        };
        q.found.count += 1;
        if !q.text && q.attrs.is_empty() {
            return;
        }
        let mut item = Item::default();
        for name in &q.attrs {
            let value = match el.get_attribute(name) {
                Some(raw) => match entities::decode(&raw) {
                    Some(v) if !v.contains(['\r', '\0']) => Some(v.into_owned()),
                    _ => {
                        self.tracker.hand_over = self
                            .tracker
                            .hand_over
                            .or(Some("an attribute value that needs the full parser"));
                        None
                    }
                },
                None => None,
            };
            item.attrs.push(value);
        }
        q.found.items.push(item);
        if q.text
            && let Some(id) = current
        {
            q.open.push((q.found.items.len() - 1, id));
            self.open_text += 1;
        }
    }

    /// A chunk of text; a whole text node is decoded and handed to the open matches.
    fn text(&mut self, chunk: &str, at: usize, kind: TextType, last: bool) {
        if self.text.is_empty() {
            self.text_at = at;
        }
        self.text.push_str(chunk);
        if !last {
            return;
        }
        let raw = std::mem::take(&mut self.text);
        self.tracker.text(&raw);
        if kind != TextType::Data {
            // Data text cannot hold `</x` (that starts a tag); raw text and RCDATA can.
            self.ends_in_text += end_tags(&raw);
        }
        let drop_newline = self.newline_dropped_at == Some(self.text_at);
        if self.open_text > 0 {
            let decoded = if matches!(kind, TextType::Data | TextType::RCData) {
                match entities::decode(&raw) {
                    Some(d) => d,
                    None => {
                        self.tracker.hand_over = self
                            .tracker
                            .hand_over
                            .or(Some("a character reference that needs the full parser"));
                        Cow::Borrowed(raw.as_str())
                    }
                }
            } else {
                Cow::Borrowed(raw.as_str())
            };
            let mut node: &str = &decoded;
            if drop_newline {
                node = node
                    .strip_prefix("\r\n")
                    .or_else(|| node.strip_prefix('\n'))
                    .or_else(|| node.strip_prefix('\r'))
                    .unwrap_or(node);
            }
            for q in &mut self.queries {
                for (i, _) in &q.open {
                    if let Some(item) = q.found.items.get_mut(*i) {
                        item.text.push_str(node);
                    }
                }
            }
        }
        self.text = raw;
        self.text.clear();
    }
}

/// Answer `queries` over the page `html` in one streaming pass, or say why the page needs the
/// full parser.
pub fn run(html: &str, queries: &[Query<'_>]) -> Result<Vec<Found>, &'static str> {
    if memchr::memchr(0, html.as_bytes()).is_some() {
        return Err("a NUL character");
    }
    let has_amp = memchr::memchr(b'&', html.as_bytes()).is_some();
    let state = Rc::new(RefCell::new(State {
        queries: queries
            .iter()
            .map(|q| Collecting {
                text: q.text,
                attrs: q.attrs.clone(),
                ..Collecting::default()
            })
            .collect(),
        amp_attrs: if has_amp {
            let mut names: Vec<String> = queries
                .iter()
                .flat_map(|q| q.css.tested_attrs.iter().cloned())
                .collect();
            names.sort();
            names.dedup();
            names
        } else {
            Vec::new()
        },
        ..State::default()
    }));
    let mut settings = Settings::new().with_strict(false);
    let s = Rc::clone(&state);
    settings = settings.append_document_content_handler(
        DocumentContentHandlers::default()
            .doctype(move |d: &mut lol_html::html_content::Doctype<'_>| {
                let ids = d.public_id().is_some() || d.system_id().is_some();
                s.borrow_mut().tracker.doctype(d.name().as_deref(), ids);
                Ok(())
            })
            .comments({
                let s = Rc::clone(&state);
                move |c: &mut lol_html::html_content::Comment<'_>| {
                    s.borrow_mut().ends_in_text += end_tags(&c.text());
                    Ok(())
                }
            })
            .text({
                let s = Rc::clone(&state);
                move |t: &mut lol_html::html_content::TextChunk<'_>| {
                    let at = t.source_location().bytes().start;
                    s.borrow_mut()
                        .text(t.as_str(), at, t.text_type(), t.last_in_text_node());
                    Ok(())
                }
            }),
    );
    let all = EVERY_ELEMENT
        .as_ref()
        .ok_or("internal: the `*` selector did not compile")?;
    let s = Rc::clone(&state);
    settings = settings.append_element_content_handler((
        Cow::Borrowed(all),
        ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
            let mut st = s.borrow_mut();
            st.start(el, &s);
            // Handed over: stop reading (the tracker's checks cost up to the nesting depth per
            // tag, so a deep page must not be read to its end here).
            match st.tracker.hand_over {
                Some(why) => Err(why.into()),
                None => Ok(()),
            }
        }),
    ));
    for (qi, q) in queries.iter().enumerate() {
        let s = Rc::clone(&state);
        settings = settings.append_element_content_handler((
            Cow::Borrowed(&q.css.selector),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                s.borrow_mut().matched(qi, el);
                Ok(())
            }),
        ));
    }
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    let written = rewriter
        .write(html.as_bytes())
        .and_then(|()| rewriter.end());
    if written.is_err() {
        return Err(state
            .borrow()
            .tracker
            .hand_over
            .unwrap_or("the streaming parser gave up"));
    }
    let state = Rc::try_unwrap(state)
        .map_err(|_| "internal: handlers still hold the state")?
        .into_inner();
    let mut state = state;
    state.tracker.finish();
    if let Some(why) = state.tracker.hand_over {
        return Err(why);
    }
    if state.tracker.is_fragment() && queries.iter().any(|q| !q.css.local) {
        return Err("a fragment without <html>, and a selector that looks at its ancestors");
    }
    if end_tags(html) != state.tracker.explicit_ends + state.ends_in_text {
        return Err("an end tag the streaming parser ignored (the tree builder may not have)");
    }
    Ok(state.queries.into_iter().map(|q| q.found).collect())
}

/// How many end tags (`</` and a letter) `html` holds, counting also any in scripts, comments
/// or attribute values (which only makes the check stricter).
fn end_tags(html: &str) -> usize {
    let bytes = html.as_bytes();
    memchr::memchr_iter(b'<', bytes)
        .filter(|at| {
            bytes.get(at + 1) == Some(&b'/')
                && bytes.get(at + 2).is_some_and(u8::is_ascii_alphabetic)
        })
        .count()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
