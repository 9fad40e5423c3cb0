//! The DOM path's parse: html5ever into scraper's tree, fed a slice at a time so that a page
//! nested too deep is refused instead of parsed in quadratic time.
//!
//! The HTML tree builder scans its stack of open elements for most tags (is a `<p>` in button
//! scope? which element does this end tag close?), so N nested elements cost O(N²): 100,000
//! nested `<div>`s take minutes, and selector matching and element text walk that depth again.
//! Browsers cap the depth of the tree (Blink at 512); dcrawl refuses such a page with a reason.
//! The cap is checked on the tree builder's own state after every slice of input, so a refused
//! page costs at most a slice's worth of work past the cap.
//!
//! Template contents and what the tree builder removed from the document are taken out of the
//! tree after the parse (see [`keep_only_the_document`]).

use std::cell::RefCell;
use std::collections::HashSet;

use html5ever::driver::{self, ParseOpts};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{Tracer, TreeSink};
use scraper::{Html, HtmlTreeSink};

/// Most elements the tree builder may hold (its open elements and active formatting elements,
/// the document and `<head>`): a document nested deeper is refused.
pub(super) const MAX_OPEN_ELEMENTS: usize = 512;

/// Bytes of input parsed between two checks of the depth.
const SLICE: usize = 4096;

/// A node of scraper's tree, as the tree builder holds it.
type Handle = <HtmlTreeSink as TreeSink>::Handle;

/// Collects the distinct handles the tree builder holds (open elements and active formatting
/// elements overlap).
#[derive(Default)]
struct Held(RefCell<HashSet<Handle>>);

impl Tracer for Held {
    type Handle = Handle;

    fn trace_handle(&self, node: &Handle) {
        self.0.borrow_mut().insert(*node);
    }
}

/// Parse `text` as an HTML document, or say why not: nested more than [`MAX_OPEN_ELEMENTS`]
/// deep. The tree is the one `Html::parse_document` builds.
pub(super) fn parse(text: &str) -> Result<Html, String> {
    let sink = HtmlTreeSink::new(Html::new_document());
    let mut parser = driver::parse_document(sink, ParseOpts::default());
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(SLICE);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (slice, tail) = rest.split_at(end);
        parser.process(StrTendril::from_slice(slice));
        rest = tail;
        let held = Held::default();
        parser.tokenizer.sink.trace_handles(&held);
        if held.0.borrow().len() > MAX_OPEN_ELEMENTS {
            return Err(format!(
                "undecodable body: HTML nested deeper than {MAX_OPEN_ELEMENTS} elements"
            ));
        }
    }
    let mut doc = parser.finish();
    keep_only_the_document(&mut doc);
    Ok(doc)
}

/// Take out of scraper's tree every node that is not in the document, so that no selector
/// matches it and no element's text includes it, as in a browser:
/// - template contents, a separate document fragment (which scraper keeps as the template's
///   child);
/// - what the tree builder removed from the document with its subtree: the `<body>` that a
///   `<frameset>` replaces.
///
/// scraper's `select` walks every node it ever made and skips only those without a parent, so
/// each node of those subtrees is detached.
fn keep_only_the_document(doc: &mut Html) {
    let fragments: Vec<_> = doc
        .tree
        .nodes()
        .filter(|n| n.value().is_fragment() && n.parent().is_some())
        .map(|n| n.id())
        .collect();
    for id in fragments {
        if let Some(mut fragment) = doc.tree.get_mut(id) {
            fragment.detach();
        }
    }
    let root = doc.tree.root().id();
    let detached: Vec<_> = doc
        .tree
        .nodes()
        .filter(|n| n.parent().is_none() && n.id() != root && n.has_children())
        .map(|n| n.id())
        .collect();
    for id in detached {
        let nodes: Vec<_> = doc
            .tree
            .get(id)
            .map(|n| n.descendants().skip(1).map(|d| d.id()).collect())
            .unwrap_or_default();
        for id in nodes {
            if let Some(mut node) = doc.tree.get_mut(id) {
                node.detach();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    fn nested(depth: usize) -> String {
        format!(
            "<!doctype html><html><body>{}<p>bottom</p>{}</body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        )
    }

    #[test]
    fn same_tree_as_one_parse() {
        // Multi-byte characters, character references and CR LF across slice boundaries,
        // comments, a table, misnesting.
        let mut page = String::from("<!doctype html><title>t</title><table><tr><td>a");
        for i in 0..2000 {
            page.push_str(&format!(
                "<p class=\"c{i}\">Grüße\r\n<b>€{i} &amp; &notin &#x20AC;<i>ü</b></i><!-- x --></p>"
            ));
        }
        let chunked = parse(&page).unwrap();
        let whole = Html::parse_document(&page);
        assert!(page.len() > 10 * SLICE);
        assert_eq!(chunked.html(), whole.html());
    }

    #[test]
    fn template_contents_are_taken_out() {
        let doc =
            parse("<template><p>a<template><i>b</i></template></p></template><p>c</p>").unwrap();
        let all = Selector::parse("*").unwrap();
        let names: Vec<&str> = doc.select(&all).map(|e| e.value().name()).collect();
        assert_eq!(names, ["html", "head", "template", "body", "p"]);
        let html = Selector::parse("html").unwrap();
        let text: String = doc.select(&html).flat_map(|e| e.text()).collect();
        assert_eq!(text, "c");
    }

    #[test]
    fn a_body_replaced_by_a_frameset_is_taken_out() {
        let doc = parse("<!doctype html><div><p></p></div><frameset><frame>").unwrap();
        let all = Selector::parse("*").unwrap();
        let names: Vec<&str> = doc.select(&all).map(|e| e.value().name()).collect();
        assert_eq!(names, ["html", "head", "frameset", "frame"]);
    }

    #[test]
    fn deep_but_not_too_deep_is_parsed() {
        let doc = parse(&nested(500)).unwrap();
        let divs = Selector::parse("div").unwrap();
        assert_eq!(doc.select(&divs).count(), 500);
        let p = Selector::parse("body div > p").unwrap();
        assert_eq!(doc.select(&p).count(), 1);
    }

    #[test]
    fn too_deep_is_refused_fast() {
        let started = std::time::Instant::now();
        for page in [
            nested(100_000),
            "<div>".repeat(100_000),
            "<b>".repeat(100_000),
        ] {
            assert_eq!(
                parse(&page).unwrap_err(),
                "undecodable body: HTML nested deeper than 512 elements"
            );
        }
        // Misnested formatting elements are reopened in every paragraph, each inside the last.
        let reopened: String = (0..1000).map(|i| format!("<p><b id={i}>x</p>")).collect();
        assert!(parse(&reopened).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
