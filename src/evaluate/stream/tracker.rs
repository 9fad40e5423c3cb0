//! Proof that a streamed page's structure is the tree a browser would build.
//!
//! The streaming parser sees tags as written; the HTML tree builder also closes elements
//! implicitly, re-parents misplaced ones and clones misnested formatting elements. The tracker
//! watches every tag and accepts a page only when none of that can happen: every non-void
//! element is closed explicitly and in order, nothing opens that would implicitly close an open
//! element, none of the elements with special parsing rules (tables, forms controls, foreign
//! content, templates...) appears, and the document skeleton is `<!doctype html>` followed by
//! explicit `html`, `head` and `body` (or, for selectors that look at one element only, no
//! skeleton at all). Otherwise it names the reason and the page goes to the full parser.

/// Elements whose parsing the tracker does not model.
const SPECIAL: u8 = 1;
/// Start tags that close an open `<p>`.
const CLOSES_P: u8 = 2;
/// Elements allowed inside an explicit `<head>`.
const IN_HEAD: u8 = 4;
/// `h1`..`h6`.
const HEADING: u8 = 8;
/// Elements the parser splits when nested in themselves.
const NO_SELF_NESTING: u8 = 16;

/// Deepest nesting streamed. Deeper pages go to the DOM path, which refuses them past
/// [`MAX_OPEN_ELEMENTS`](crate::evaluate::dom::MAX_OPEN_ELEMENTS) (counting the document,
/// `<head>` and, for a fragment, the implied `<html>` and `<body>`: hence the margin, so that a
/// page streamed here is never one the DOM path would refuse).
const MAX_DEPTH: usize = crate::evaluate::dom::MAX_OPEN_ELEMENTS - 8;

/// What the tree builder does specially with an element, as flags.
fn kind(name: &str) -> u8 {
    match name {
        "table" | "caption" | "colgroup" | "col" | "thead" | "tbody" | "tfoot" | "tr" | "td"
        | "th" | "template" | "svg" | "math" | "select" | "option" | "optgroup" | "datalist"
        | "frameset" | "frame" | "noframes" | "plaintext" | "xmp" | "listing" | "noembed"
        | "noscript" | "iframe" | "image" | "isindex" | "rb" | "rp" | "rt" | "rtc" | "applet"
        | "marquee" | "object" | "keygen" | "menuitem" => SPECIAL,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => CLOSES_P | HEADING,
        "address" | "article" | "aside" | "blockquote" | "center" | "details" | "dialog"
        | "dir" | "div" | "dl" | "fieldset" | "figcaption" | "figure" | "footer" | "header"
        | "hgroup" | "hr" | "li" | "dd" | "dt" | "main" | "menu" | "nav" | "ol" | "p" | "pre"
        | "search" | "section" | "summary" | "ul" => CLOSES_P,
        "form" => CLOSES_P | NO_SELF_NESTING,
        "a" | "button" | "nobr" => NO_SELF_NESTING,
        "title" | "meta" | "link" | "style" | "script" | "base" => IN_HEAD,
        _ => 0,
    }
}

/// Where in the document skeleton the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No element yet.
    Start,
    /// `<html>` open, `<head>` not yet.
    Html,
    /// Inside `<head>`.
    Head,
    /// `</head>` seen, `<body>` not yet.
    AfterHead,
    /// Inside `<body>`.
    Body,
    /// `</body>` (or `</html>`) seen: nothing more may open.
    Closed,
    /// No `<html>`: a fragment; only one-element selectors can be answered.
    Fragment,
}

/// Watches the tags of one page.
#[derive(Debug)]
pub(super) struct Tracker {
    /// Open non-void elements: name and id.
    stack: Vec<(String, u32)>,
    /// Next element id.
    next_id: u32,
    /// Skeleton phase.
    phase: Phase,
    /// `<!doctype html>` without public or system id seen.
    doctype_ok: bool,
    /// End tags that closed the element they name (compared with the end tags in the source:
    /// one the streaming parser ignored may have meant something to the tree builder).
    pub explicit_ends: usize,
    /// Why the page cannot be answered by streaming, once known.
    pub hand_over: Option<&'static str>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            stack: Vec::new(),
            next_id: 0,
            phase: Phase::Start,
            doctype_ok: false,
            explicit_ends: 0,
            hand_over: None,
        }
    }
}

impl Tracker {
    fn fail(&mut self, why: &'static str) {
        if self.hand_over.is_none() {
            self.hand_over = Some(why);
        }
    }

    /// A doctype; only `<!doctype html>` (no-quirks, no ids) keeps the stream.
    pub(super) fn doctype(&mut self, name: Option<&str>, public_or_system: bool) {
        if self.phase != Phase::Start || self.doctype_ok {
            self.fail("doctype in an unexpected place");
        } else if name.is_some_and(|n| n.eq_ignore_ascii_case("html")) && !public_or_system {
            self.doctype_ok = true;
        } else {
            self.fail("not an HTML5 doctype (quirks modes differ)");
        }
    }

    /// Is the innermost open element among `names` one of `hits`?
    fn innermost_is(&self, names: &[&str], hits: &[&str]) -> bool {
        self.stack
            .iter()
            .rev()
            .find(|(n, _)| names.contains(&n.as_str()))
            .is_some_and(|(n, _)| hits.contains(&n.as_str()))
    }

    fn is_open(&self, name: &str) -> bool {
        self.stack.iter().any(|(n, _)| n == name)
    }

    /// A start tag. Returns the element's id, which its end tag must bring back (`None` for a
    /// void element, which has no end).
    pub(super) fn start(&mut self, name: String, void: bool, self_closing: bool) -> Option<u32> {
        let name_ref = name.as_str();
        let id = self.check_start(name_ref, void, self_closing)?;
        self.stack.push((name, id));
        Some(id)
    }

    /// The checks of a start tag, and its id unless it is void.
    fn check_start(&mut self, name: &str, void: bool, self_closing: bool) -> Option<u32> {
        if !self.doctype_ok {
            self.fail("no <!doctype html>");
        }
        let kind = kind(name);
        if kind & SPECIAL != 0 {
            self.fail("an element with special parsing rules");
        }
        if self_closing && !void {
            self.fail("a self-closed non-void element");
        }
        if self.stack.len() >= MAX_DEPTH {
            self.fail("elements nested too deep");
        }
        self.skeleton(name, kind);
        if kind & CLOSES_P != 0 && self.is_open("p") {
            self.fail("an element that implicitly closes <p>");
        }
        if name == "li" && self.innermost_is(&["li", "ul", "ol", "menu"], &["li"]) {
            self.fail("<li> inside an open <li>");
        }
        if matches!(name, "dd" | "dt") && self.innermost_is(&["dd", "dt", "dl"], &["dd", "dt"]) {
            self.fail("<dd>/<dt> inside an open <dd>/<dt>");
        }
        if kind & HEADING != 0
            && self
                .stack
                .last()
                .is_some_and(|(n, _)| self::kind(n) & HEADING != 0)
        {
            self.fail("a heading directly inside a heading");
        }
        if kind & NO_SELF_NESTING != 0 && self.is_open(name) {
            self.fail("an element nested in itself that the parser splits");
        }
        if void {
            return None;
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        Some(id)
    }

    /// The skeleton rules for a start tag.
    fn skeleton(&mut self, name: &str, kind: u8) {
        let top = self.stack.last().map(|(n, _)| n.as_str());
        match (self.phase, name) {
            (Phase::Start, "html") => self.phase = Phase::Html,
            (Phase::Start, _) => self.phase = Phase::Fragment,
            (Phase::Html, "head") => self.phase = Phase::Head,
            (Phase::Head, _) if top == Some("head") && kind & IN_HEAD == 0 => {
                self.fail("an element the parser moves out of <head>");
            }
            (Phase::AfterHead, "body") => self.phase = Phase::Body,
            (_, "html" | "head" | "body") => self.fail("a misplaced html, head or body"),
            (Phase::Html | Phase::AfterHead | Phase::Closed, _) => {
                self.fail("an element outside head and body");
            }
            _ => {}
        }
    }

    /// The end of the element `id`, by an end tag named `tag`.
    pub(super) fn end(&mut self, id: u32, tag: &str) {
        let name = match self.stack.last() {
            Some((_, top)) if *top == id => self.stack.pop().map(|(n, _)| n).unwrap_or_default(),
            _ => {
                self.fail("an element closed implicitly or out of order");
                return;
            }
        };
        if name == tag {
            self.explicit_ends += 1;
        } else {
            self.fail("an element closed by another element's end tag");
        }
        match name.as_str() {
            "head" if self.phase == Phase::Head => self.phase = Phase::AfterHead,
            "body" | "html" if self.phase == Phase::Body => self.phase = Phase::Closed,
            _ => {}
        }
    }

    /// Text (raw). Text the parser would move or drop keeps only whitespace.
    pub(super) fn text(&mut self, text: &str) {
        let misplaced = match self.phase {
            Phase::Start | Phase::Html | Phase::AfterHead | Phase::Closed => true,
            Phase::Head => self.stack.last().is_some_and(|(n, _)| n == "head"),
            Phase::Body | Phase::Fragment => false,
        };
        if misplaced && !text.chars().all(|c| c.is_ascii_whitespace()) {
            self.fail("text outside the body");
        }
    }

    /// The end of the page: every element but the skeleton must have been closed explicitly
    /// (an end tag the streaming parser ignored leaves one open; the tree builder may have
    /// acted on it), and a document must have written its `<head>` and `<body>` (the parser
    /// adds those it implies, elements the streamed answers would lack).
    pub(super) fn finish(&mut self) {
        if matches!(self.phase, Phase::Html | Phase::Head | Phase::AfterHead) {
            self.fail("an implied <head> or <body>");
        }
        if self
            .stack
            .iter()
            .any(|(n, _)| !matches!(n.as_str(), "html" | "body"))
        {
            self.fail("an element never closed explicitly");
        }
    }

    /// Is the page a fragment (no `<html>`, or no element at all)?
    pub(super) fn is_fragment(&self) -> bool {
        matches!(self.phase, Phase::Fragment | Phase::Start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `(name, void, self_closing)` starts and `/name` ends; returns the hand-over reason.
    fn run(events: &[&str]) -> Option<&'static str> {
        let mut t = Tracker::default();
        t.doctype(Some("html"), false);
        let mut ids: Vec<(String, u32)> = Vec::new();
        for e in events {
            if let Some(name) = e.strip_prefix('/') {
                let pos = ids.iter().rposition(|(n, _)| n == name).unwrap();
                let (n, id) = ids.remove(pos);
                t.end(id, &n);
            } else {
                let void = matches!(*e, "br" | "img" | "meta" | "hr");
                if let Some(id) = t.start(e.to_string(), void, false) {
                    ids.push((e.to_string(), id));
                }
            }
        }
        t.hand_over
    }

    #[test]
    fn well_formed_documents_stream() {
        let doc = [
            "html", "head", "meta", "title", "/title", "/head", "body", "ul", "li", "a", "/a",
            "br", "/li", "li", "/li", "/ul", "p", "span", "/span", "/p", "/body", "/html",
        ];
        assert_eq!(run(&doc), None);
        assert_eq!(
            run(&["ul", "li", "ul", "li", "/li", "/ul", "/li", "/ul"]),
            None
        );
    }

    #[test]
    fn what_the_tree_builder_would_change_hands_over() {
        for (doc, why) in [
            (&["ul", "li", "li", "/ul"][..], "<li> inside"),
            (&["p", "div", "/div", "/p"], "implicitly closes <p>"),
            (&["a", "a", "/a", "/a"], "nested in itself"),
            (&["b", "i", "/b", "/i"], "out of order"),
            (&["table", "/table"], "special"),
            (&["html", "div"], "outside head and body"),
            (&["html", "head", "div"], "moves out of <head>"),
            (&["h1", "h2", "/h2", "/h1"], "heading"),
            (&["dl", "dt", "dd", "/dd", "/dt", "/dl"], "<dd>/<dt>"),
        ] {
            let got = run(doc).unwrap_or_default();
            assert!(got.contains(why), "{doc:?}: {got:?}");
        }
    }

    #[test]
    fn deep_nesting_hands_over() {
        let nest = |depth: usize| {
            let mut doc = vec!["div"; depth];
            doc.extend(vec!["/div"; depth]);
            run(&doc)
        };
        assert_eq!(nest(MAX_DEPTH), None);
        assert_eq!(nest(MAX_DEPTH + 1), Some("elements nested too deep"));
    }

    #[test]
    fn doctype_text_and_fragments() {
        let mut t = Tracker::default();
        t.start("div".into(), false, false);
        assert_eq!(t.hand_over, Some("no <!doctype html>"));
        let mut t = Tracker::default();
        t.doctype(Some("html"), true);
        assert!(t.hand_over.unwrap().contains("quirks"));
        let mut t = Tracker::default();
        t.doctype(Some("html"), false);
        t.start("div".into(), false, false);
        assert!(t.is_fragment());
        t.text("hello");
        assert_eq!(t.hand_over, None);
        let mut t = Tracker::default();
        t.doctype(Some("HTML"), false);
        assert!(t.is_fragment());
        t.start("html".into(), false, false);
        assert!(!t.is_fragment());
        t.text("  \n");
        assert_eq!(t.hand_over, None);
        t.text("stray");
        assert_eq!(t.hand_over, Some("text outside the body"));
    }

    #[test]
    fn implied_head_or_body_hands_over() {
        for doc in [
            &["html", "/html"][..],
            &["html"],
            &["html", "head", "/head"],
        ] {
            let mut t = Tracker::default();
            t.doctype(Some("html"), false);
            let mut ids = Vec::new();
            for e in doc {
                match e.strip_prefix('/') {
                    Some(name) => t.end(ids.pop().unwrap(), name),
                    None => ids.extend(t.start(e.to_string(), false, false)),
                }
            }
            t.finish();
            assert_eq!(t.hand_over, Some("an implied <head> or <body>"), "{doc:?}");
        }
    }
}
