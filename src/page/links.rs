//! Links of a page (what a crawl follows): the `href` of every element the `follow` selector matches (collected by
//! the evaluation's one parse), resolved against `<base href>` or the page URL.

use url::Url;

use crate::evaluate::Links;

/// The contract's normal form: fragment dropped; scheme and host lower-cased and the default
/// port removed (the `url` crate's parser already does both).
pub(crate) fn normalise(mut url: Url) -> Url {
    url.set_fragment(None);
    url
}

/// The http(s) links of a page at `page`, resolved against its `<base href>` (itself resolved
/// against the page URL) or the page URL, normalised, in document order, each once.
pub(crate) fn resolve(links: &Links, page: &Url) -> Vec<Url> {
    let base = links
        .base
        .as_deref()
        .and_then(|href| page.join(href.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let mut out: Vec<Url> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for href in &links.hrefs {
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
        if seen.insert(url.clone()) {
            out.push(url);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The links of `html` at `page`, by both HTML paths (which must agree).
    fn of(html: &str, page: &str) -> Vec<String> {
        use crate::evaluate::{Engine, Options, evaluate_with};
        use crate::fetch::Response;
        let follow = crate::model::exprs::compile_css("a[href]").unwrap();
        let response = Response {
            status: 200,
            headers: Default::default(),
            body: bytes::Bytes::from(html.to_string()),
            final_url: Url::parse(page).unwrap(),
            duration: Default::default(),
            tls_not_after: None,
            first_redirect: None,
        };
        let mut answers = Vec::new();
        for engine in [Engine::Dom, Engine::Auto] {
            let options = Options {
                engine,
                follow: Some(&follow),
            };
            let ev = evaluate_with(&Default::default(), &[], &response, options);
            let links = resolve(&ev.links.unwrap(), &response.final_url);
            answers.push(links.into_iter().map(String::from).collect::<Vec<_>>());
        }
        assert_eq!(answers[0], answers[1]);
        answers.swap_remove(0)
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
