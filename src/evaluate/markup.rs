//! One parse of an HTML page for every question asked of it: the `html:` assertions, the CSS
//! extractions and a crawl's links. The streaming path answers when every selector can take it
//! and the page's structure is provably the browser's; otherwise the page is parsed into a DOM.

use std::sync::LazyLock;

use scraper::Html;

use super::dom;
use super::html::View;
use super::stream::{self, Found, Query};
use crate::model::exprs::compile_css;
use crate::model::{CssSelector, Expect, Extract, ExtractSource};

/// Which HTML path to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Streaming when it can answer, else the DOM.
    #[default]
    Auto,
    /// Always the DOM.
    Dom,
    /// Streaming only: a page it cannot answer is reported, not parsed (for tests).
    Stream,
}

/// Which path answered, and why not streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlPath {
    /// The streaming pass.
    Stream,
    /// The DOM, with the reason streaming did not answer (`None`: not tried).
    Dom(Option<&'static str>),
    /// [`Engine::Stream`] and the page needs the DOM.
    Refused(&'static str),
}

/// The links of a page, as written: `<base href>` and each `href` of the `follow` selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The first `base[href]`'s value.
    pub base: Option<String>,
    /// The `href` of every element the `follow` selector matched, in document order.
    pub hrefs: Vec<String>,
}

/// `base[href]`, for links.
static BASE: LazyLock<Option<CssSelector>> = LazyLock::new(|| compile_css("base[href]").ok());

/// The page, parsed one way or the other, and where each question's answer is.
pub(super) struct Markup {
    /// The DOM or the streamed answers.
    parsed: Parsed,
    /// Which path answered.
    pub path: HtmlPath,
    /// `follow`, if links are wanted.
    follow: Option<CssSelector>,
    /// Index of the first extraction's query (after the assertions').
    extract_at: Vec<Option<usize>>,
    /// Index of the `follow` query (then `base`), if links are wanted.
    links_at: Option<usize>,
}

enum Parsed {
    Dom(Box<Html>),
    Stream(Vec<Found>),
    None,
}

impl Markup {
    /// Parse `text` for `expect.html`, the CSS `extract`s and `follow`'s links; a page the DOM
    /// path refuses (nested too deep) is the reason why.
    pub(super) fn parse(
        text: &str,
        expect: &Expect,
        extract: &[Extract],
        follow: Option<&CssSelector>,
        engine: Engine,
    ) -> Result<Markup, String> {
        let mut markup = Markup {
            parsed: Parsed::None,
            path: HtmlPath::Dom(None),
            follow: follow.cloned(),
            extract_at: Vec::with_capacity(extract.len()),
            links_at: None,
        };
        let mut queries: Vec<Query<'_>> = Vec::new();
        let mut streamable = true;
        for a in &expect.html {
            match a.css.fast.as_deref() {
                Some(css) => queries.push(Query {
                    css,
                    text: a.text.is_some(),
                    attrs: a.attrs.iter().map(|(n, _)| n.clone()).collect(),
                }),
                None => streamable = false,
            }
        }
        for ex in extract {
            let (css, text, attrs) = match &ex.source {
                ExtractSource::CssCount(css) => (css, false, Vec::new()),
                ExtractSource::CssText(css) => (css, true, Vec::new()),
                ExtractSource::CssAttr(css, name) => (css, false, vec![name.clone()]),
                ExtractSource::Json(_) => {
                    markup.extract_at.push(None);
                    continue;
                }
            };
            markup.extract_at.push(Some(queries.len()));
            match css.fast.as_deref() {
                Some(fast) => queries.push(Query {
                    css: fast,
                    text,
                    attrs,
                }),
                None => streamable = false,
            }
        }
        if let Some(f) = follow {
            markup.links_at = Some(queries.len());
            match (
                f.fast.as_deref(),
                BASE.as_ref().and_then(|b| b.fast.as_deref()),
            ) {
                (Some(f), Some(b)) => {
                    queries.push(Query {
                        css: f,
                        text: false,
                        attrs: vec!["href".to_string()],
                    });
                    queries.push(Query {
                        css: b,
                        text: false,
                        attrs: vec!["href".to_string()],
                    });
                }
                _ => streamable = false,
            }
        }
        let tried = match (engine, streamable) {
            (Engine::Dom, _) => None,
            (_, false) => Some(Err("a selector the streaming path does not take")),
            (_, true) => Some(stream::run(text, &queries)),
        };
        match (tried, engine) {
            (Some(Ok(found)), _) => {
                markup.parsed = Parsed::Stream(found);
                markup.path = HtmlPath::Stream;
            }
            (Some(Err(why)), Engine::Stream) => markup.path = HtmlPath::Refused(why),
            (tried, _) => {
                markup.parsed = Parsed::Dom(Box::new(dom::parse(text)?));
                markup.path = HtmlPath::Dom(tried.and_then(Result::err));
            }
        }
        Ok(markup)
    }

    /// Where the answers of `expect.html[i]` are (`None` when refused).
    pub(super) fn assertion(&self, i: usize) -> Option<View<'_>> {
        self.view(Some(i))
    }

    /// Where the answers of `extract[j]` are.
    pub(super) fn extraction(&self, j: usize) -> Option<View<'_>> {
        self.view(self.extract_at.get(j).copied().flatten())
    }

    fn view(&self, query: Option<usize>) -> Option<View<'_>> {
        match &self.parsed {
            Parsed::Dom(doc) => Some(View::Dom(doc)),
            Parsed::Stream(found) => found.get(query?).map(View::Stream),
            Parsed::None => None,
        }
    }

    /// The page's links, when `follow` was given.
    pub(super) fn links(&self) -> Option<Links> {
        let follow = self.follow.as_ref()?;
        match &self.parsed {
            Parsed::Dom(doc) => Some(Links {
                base: BASE
                    .as_ref()
                    .and_then(|b| doc.select(&b.selector).next())
                    .and_then(|e| e.value().attr("href"))
                    .map(str::to_string),
                hrefs: doc
                    .select(&follow.selector)
                    .filter_map(|e| e.value().attr("href"))
                    .map(str::to_string)
                    .collect(),
            }),
            Parsed::Stream(found) => {
                let at = self.links_at?;
                let first_attr = |item: &stream::Item| item.attrs.first().cloned().flatten();
                Some(Links {
                    base: found.get(at + 1)?.items.first().and_then(first_attr),
                    hrefs: found.get(at)?.items.iter().filter_map(first_attr).collect(),
                })
            }
            Parsed::None => None,
        }
    }
}
