//! Links of a page: the `href` of every element the `follow` selector matches, resolved against
//! `<base href>` (itself resolved against the page URL) or the page URL.

use std::sync::LazyLock;

use scraper::{Html, Selector};
use url::Url;

use super::frontier::normalise;

/// `base[href]`; the first one counts, as in browsers.
static BASE: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("base[href]").ok());

/// The http(s) links of `doc`, normalised, in document order, each once.
pub fn links(doc: &Html, page: &Url, follow: &Selector) -> Vec<Url> {
    let base = BASE
        .as_ref()
        .and_then(|s| doc.select(s).next())
        .and_then(|e| e.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let mut out: Vec<Url> = Vec::new();
    for element in doc.select(follow) {
        let Some(href) = element.value().attr("href") else {
            continue;
        };
        let href = href.trim();
        if href.is_empty() {
            continue;
        }
        let Ok(url) = base.join(href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        let url = normalise(url);
        if !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(html: &str, page: &str) -> Vec<String> {
        let follow = Selector::parse("a[href]").unwrap();
        links(
            &Html::parse_document(html),
            &Url::parse(page).unwrap(),
            &follow,
        )
        .into_iter()
        .map(String::from)
        .collect()
    }

    #[test]
    fn resolves_relative_absolute_and_fragment_links() {
        let got = of(
            r##"<a href="p/2">a</a><a href="../1#x">b</a><a href="/p/2#reviews">c</a>
                <a href="HTTP://EXAMPLE.test:80/z">d</a><a href="#top">e</a>
                <a href="mailto:x@y">m</a><a href="javascript:void(0)">j</a><a href=" ">s</a>
                <a name="nohref">n</a>"##,
            "http://example.test/c/3/",
        );
        assert_eq!(
            got,
            [
                "http://example.test/c/3/p/2",
                "http://example.test/c/1",
                "http://example.test/p/2",
                "http://example.test/z",
                "http://example.test/c/3/",
            ]
        );
    }

    #[test]
    fn base_href_is_honoured() {
        let got = of(
            r#"<html><head><base href="/c/2/"></head><body><a href="p/9">x</a></body></html>"#,
            "http://example.test/deep/page.html",
        );
        assert_eq!(got, ["http://example.test/c/2/p/9"]);
    }
}
