//! The frontier of a crawl: URL normalisation, scope, the set of URLs seen, and the queue of
//! pages to fetch in breadth-first order.

use std::collections::HashSet;
use std::sync::Arc;

use url::Url;

use crate::model::Crawl;

/// Which URLs a crawl may request.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// `host:port` of the seed, when no `include` is given.
    seed_authority: Option<(String, Option<u16>)>,
    /// `crawl.include` and `crawl.exclude`.
    crawl: Arc<Crawl>,
}

impl Scope {
    /// The scope of a crawl from `seed`: its `include`, else the seed's host and port.
    pub(super) fn new(seed: &Url, crawl: &Arc<Crawl>) -> Scope {
        Scope {
            seed_authority: crawl.include.is_empty().then(|| authority(seed)),
            crawl: Arc::clone(crawl),
        }
    }

    /// May `url` (normalised) be requested?
    pub(super) fn contains(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let included = match &self.seed_authority {
            Some(seed) => authority(url) == *seed,
            None => self.crawl.include.iter().any(|r| r.is_match(url.as_str())),
        };
        included && !self.crawl.exclude.iter().any(|r| r.is_match(url.as_str()))
    }
}

/// Host and effective port of `url`.
fn authority(url: &Url) -> (String, Option<u16>) {
    (
        url.host_str().unwrap_or_default().to_string(),
        url.port_or_known_default(),
    )
}

/// A page waiting to be fetched.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    /// Normalised URL.
    pub url: Url,
    /// Link hops from the seed.
    pub depth: u32,
    /// The page (or sitemap) it was found on.
    pub linked_from: Option<Arc<str>>,
}

/// Every URL seen in this run and the pages planned, in breadth-first order.
///
/// Pages are planned (admitted) in the order their referrers are processed, and referrers are
/// processed in planning order, so the plan is a breadth-first order that does not depend on
/// which response came first.
#[derive(Debug)]
pub(super) struct Frontier {
    /// URLs planned, skipped by robots.txt, or reached by a redirect.
    seen: HashSet<Url>,
    /// The pages planned so far; index = crawl order.
    planned: Vec<Planned>,
    /// `crawl.max_pages`.
    max_pages: usize,
    /// A URL was left out because `max_pages` was reached.
    pub truncated: bool,
}

/// What [`Frontier::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Planned as the next page.
    Planned,
    /// Already seen (or out of budget): nothing to do.
    Known,
}

impl Frontier {
    /// An empty frontier for at most `max_pages` pages.
    pub(super) fn new(max_pages: u32) -> Frontier {
        Frontier {
            seen: HashSet::new(),
            planned: Vec::new(),
            max_pages: usize::try_from(max_pages).unwrap_or(usize::MAX),
            truncated: false,
        }
    }

    /// Has `url` been seen in this run?
    pub(super) fn is_seen(&self, url: &Url) -> bool {
        self.seen.contains(url)
    }

    /// Remember `url` without planning it (robots-disallowed, or where a redirect ended).
    pub(super) fn mark_seen(&mut self, url: Url) -> bool {
        self.seen.insert(url)
    }

    /// Plan `page` unless its URL was seen; when the budget is spent it is left out and the
    /// crawl marked truncated.
    pub(super) fn admit(&mut self, page: Planned) -> Admission {
        if self.seen.contains(&page.url) {
            return Admission::Known;
        }
        if self.planned.len() >= self.max_pages {
            self.truncated = true;
            return Admission::Known;
        }
        self.seen.insert(page.url.clone());
        self.planned.push(page);
        Admission::Planned
    }

    /// The page planned at `index`, if any.
    pub(super) fn get(&self, index: usize) -> Option<&Planned> {
        self.planned.get(index)
    }

    /// Number of pages planned.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.planned.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exprs::compile_css;
    use regex::Regex;

    fn crawl(include: &[&str], exclude: &[&str]) -> Crawl {
        Crawl {
            follow: compile_css("a[href]").unwrap(),
            sitemap: None,
            include: include.iter().map(|r| Regex::new(r).unwrap()).collect(),
            exclude: exclude.iter().map(|r| Regex::new(r).unwrap()).collect(),
            max_depth: 1,
            max_pages: 3,
            concurrency: 1,
            robots: true,
            expect_each: Default::default(),
        }
    }

    fn url(s: &str) -> Url {
        crate::page::normalise(Url::parse(s).unwrap())
    }

    #[test]
    fn normal_form_drops_fragment_default_port_and_case() {
        assert_eq!(
            url("HTTP://Shop.Example.COM:80/a/../b?q=1#top").as_str(),
            "http://shop.example.com/b?q=1"
        );
        assert_eq!(
            url("https://x.test:443/").as_str(),
            url("https://X.test/#f").as_str()
        );
        assert_ne!(url("http://x.test:8080/"), url("http://x.test/"));
    }

    #[test]
    fn default_scope_is_the_seed_host_and_port() {
        let c = Arc::new(crawl(&[], &[r"\.pdf$"]));
        let seed = url("http://127.0.0.1:8080/");
        let scope = Scope::new(&seed, &c);
        assert!(scope.contains(&url("http://127.0.0.1:8080/p/1")));
        assert!(!scope.contains(&url("http://127.0.0.1:8081/p/1")));
        assert!(!scope.contains(&url("http://localhost:8080/p/1")));
        assert!(!scope.contains(&url("http://127.0.0.1:8080/doc.pdf")));
        assert!(!scope.contains(&url("ftp://127.0.0.1:8080/x")));
    }

    #[test]
    fn include_replaces_the_host_scope() {
        let c = Arc::new(crawl(&[r"^http://127\.0\.0\.1:\d+/p/"], &[]));
        let scope = Scope::new(&url("http://127.0.0.1:8080/"), &c);
        assert!(scope.contains(&url("http://127.0.0.1:9999/p/1")));
        assert!(!scope.contains(&url("http://127.0.0.1:8080/c/1")));
    }

    #[test]
    fn frontier_plans_each_url_once_within_budget() {
        let mut f = Frontier::new(2);
        let page = |u: &str| Planned {
            url: url(u),
            depth: 1,
            linked_from: None,
        };
        assert_eq!(f.admit(page("http://a.test/1")), Admission::Planned);
        assert_eq!(f.admit(page("http://a.test/1#x")), Admission::Known);
        assert!(!f.truncated);
        assert_eq!(f.admit(page("http://a.test/2")), Admission::Planned);
        assert_eq!(f.admit(page("http://a.test/3")), Admission::Known);
        assert!(f.truncated);
        assert_eq!(f.len(), 2);
        assert_eq!(f.get(1).unwrap().url.as_str(), "http://a.test/2");
    }
}
