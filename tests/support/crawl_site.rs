//! Generated websites for the crawl tests, and a model of the crawl they should see.
//!
//! A site is a function from a request target (`/path?query`) to a [`Page`] (or `None`: a
//! plain-text 404). The server renders HTML pages from their list of links, records every
//! request it gets (target and arrival time) and counts the slow requests in flight. The same
//! function feeds [`model`], a breadth-first crawl written from CONTRACT §2 "Crawling", so a
//! test derives the exact set and order of pages a crawl must fetch instead of hard-coding them.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use url::{Position, Url};

use crate::support::InFlight;

/// One page of a site.
#[derive(Debug, Clone)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: String,
    /// For HTML: the `href` of each `<a>`, as written in the document, in document order.
    pub links: Vec<String>,
    /// For HTML: the `<base href>`, if any.
    pub base: Option<String>,
    /// For HTML: markup placed at the start of `<body>` (a price, an error banner).
    pub extra: String,
    /// For non-HTML pages: the whole body (HTML bodies are rendered from the fields above).
    pub raw: Option<Vec<u8>>,
    /// Time the server waits before answering; such requests are counted in flight.
    pub delay: Duration,
    /// A `Location` header (for redirects).
    pub location: Option<String>,
}

impl Page {
    /// A 200 `text/html` page with these links and a `span.price`.
    pub fn html<S: Into<String>>(links: impl IntoIterator<Item = S>) -> Page {
        Page {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            links: links.into_iter().map(Into::into).collect(),
            base: None,
            extra: PRICE.into(),
            raw: None,
            delay: Duration::ZERO,
            location: None,
        }
    }

    /// A page with a raw body of any type (not HTML: never parsed by the crawler).
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Page {
        Page {
            status,
            content_type: content_type.into(),
            links: vec![],
            base: None,
            extra: String::new(),
            raw: Some(body.into()),
            delay: Duration::ZERO,
            location: None,
        }
    }

    /// A redirect with this status to `location`.
    pub fn redirect(status: u16, location: &str) -> Page {
        Page {
            location: Some(location.to_string()),
            ..Page::raw(status, "text/plain", "")
        }
    }

    /// Set `<base href>`.
    pub fn with_base(mut self, base: &str) -> Page {
        self.base = Some(base.into());
        self
    }

    /// Replace the markup at the start of `<body>` (the default is a price).
    pub fn with_extra(mut self, extra: &str) -> Page {
        self.extra = extra.into();
        self
    }

    /// Answer after `delay`.
    pub fn with_delay(mut self, delay: Duration) -> Page {
        self.delay = delay;
        self
    }

    /// Set the status.
    pub fn with_status(mut self, status: u16) -> Page {
        self.status = status;
        self
    }

    /// Set the content type.
    pub fn with_type(mut self, content_type: &str) -> Page {
        self.content_type = content_type.into();
        self
    }

    /// Is this an HTML page (a crawler parses it for links when it is 2xx)?
    pub fn is_html(&self) -> bool {
        self.raw.is_none()
            && (self.content_type.starts_with("text/html")
                || self.content_type.starts_with("application/xhtml+xml"))
    }

    /// Does a crawler follow this page's links?
    pub fn followed(&self) -> bool {
        (200..300).contains(&self.status) && self.is_html()
    }

    /// The response body.
    pub fn body(&self, path: &str) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let base = self
            .base
            .as_ref()
            .map(|b| format!("<base href=\"{b}\">"))
            .unwrap_or_default();
        let links: String = self
            .links
            .iter()
            .map(|href| format!("<li><a href=\"{href}\">{href}</a></li>\n"))
            .collect();
        // Things that are not `a[href]` and must never be requested by the default `follow`.
        let decoys = "<link rel=\"stylesheet\" href=\"/decoy/style.css\">\
            <img src=\"/decoy/img.png\" alt=\"\"><map name=m><area href=\"/decoy/area\" alt=\"\"></map>\
            <a name=\"top\">no href</a><div data-href=\"/decoy/div\"></div>";
        format!(
            "<!doctype html>\n<html><head><title>{path}</title>{base}</head>\n<body>{extra}\n\
             <nav><ul>\n{links}</ul></nav>\n{decoys}\n</body></html>\n",
            extra = self.extra
        )
        .into_bytes()
    }
}

/// The `span.price` every HTML page has by default.
pub const PRICE: &str = "<span class=\"price\">$9.99</span>";

/// A site: (its own base URL, request target `/path?query`) -> page; `None` is a 404.
pub type SiteFn = Arc<dyn Fn(&Url, &str) -> Option<Page> + Send + Sync>;

/// One request the server got.
#[derive(Debug, Clone)]
pub struct Hit {
    /// `/path?query` as received.
    pub target: String,
    /// When the handler started.
    pub at: Instant,
}

/// A running site.
#[derive(Clone)]
pub struct Site {
    /// `http://127.0.0.1:PORT/`.
    pub base: Url,
    /// Its pages.
    pub pages: SiteFn,
    /// Every request, in arrival order.
    pub log: Arc<Mutex<Vec<Hit>>>,
    /// Requests of delayed pages in flight.
    pub in_flight: Arc<InFlight>,
}

struct Shared {
    base: Url,
    pages: SiteFn,
    log: Arc<Mutex<Vec<Hit>>>,
    in_flight: Arc<InFlight>,
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let target = req.uri().path_and_query().map_or_else(
        || req.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    s.log.lock().unwrap().push(Hit {
        target: target.clone(),
        at: Instant::now(),
    });
    let Some(page) = (s.pages)(&s.base, &target) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    if !page.delay.is_zero() {
        s.in_flight.hold(page.delay).await;
    }
    let mut resp = (
        StatusCode::from_u16(page.status).unwrap(),
        page.body(&target),
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&page.content_type).unwrap(),
    );
    if let Some(location) = &page.location {
        resp.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(location).unwrap());
    }
    resp
}

/// Serve `pages` on a free port of 127.0.0.1.
pub async fn serve(pages: SiteFn) -> Site {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = crate::support::base(listener.local_addr().unwrap(), "http")
        .join("/")
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(InFlight::default());
    let shared = Arc::new(Shared {
        base: base.clone(),
        pages: Arc::clone(&pages),
        log: Arc::clone(&log),
        in_flight: Arc::clone(&in_flight),
    });
    let router = Router::new().fallback(handle).with_state(shared);
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Site {
        base,
        pages,
        log,
        in_flight,
    }
}

/// Wrap a closure as a [`SiteFn`].
pub fn site(f: impl Fn(&Url, &str) -> Option<Page> + Send + Sync + 'static) -> SiteFn {
    Arc::new(f)
}

impl Site {
    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().clone()
    }

    /// Every request target so far, in arrival order.
    pub fn targets(&self) -> Vec<String> {
        self.hits().into_iter().map(|h| h.target).collect()
    }

    /// How often `target` was requested.
    pub fn count(&self, target: &str) -> usize {
        self.hits().iter().filter(|h| h.target == target).count()
    }

    /// `base` joined with `path`, as a string.
    pub fn url(&self, path: &str) -> String {
        self.base.join(path).unwrap().to_string()
    }

    /// Forget the requests seen so far.
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// `/path?query` of a URL.
pub fn request_target(url: &Url) -> String {
    url[Position::BeforePath..Position::AfterQuery].to_string()
}

/// One page of a modelled crawl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPage {
    /// Normalised URL.
    pub url: Url,
    /// Link hops from the seed (sitemap entries are 0).
    pub depth: usize,
    /// First page that linked to it (a sitemap file for sitemap entries); `None` for the seed.
    pub linked_from: Option<Url>,
    /// The status the site answers with.
    pub status: u16,
}

/// The crawl a site should see.
#[derive(Debug, Clone)]
pub struct Model {
    /// Pages fetched, in crawl order.
    pub pages: Vec<ModelPage>,
    /// In-scope URLs not requested because robots.txt disallows them.
    pub robots_skipped: BTreeSet<Url>,
    /// Did `max_pages` stop the crawl with URLs left?
    pub truncated: bool,
}

impl Model {
    /// The request targets of the pages.
    pub fn targets(&self) -> BTreeSet<String> {
        self.pages.iter().map(|p| request_target(&p.url)).collect()
    }

    /// The page at `url`.
    pub fn page(&self, url: &str) -> &ModelPage {
        self.pages
            .iter()
            .find(|p| p.url.as_str() == url)
            .unwrap_or_else(|| panic!("{url} is not in the model"))
    }
}

/// The crawl rules of a target.
pub struct Rules<'a> {
    /// `crawl.max_depth`.
    pub max_depth: usize,
    /// `crawl.max_pages`.
    pub max_pages: usize,
    /// Scope: include/exclude (and the default same-origin rule).
    pub in_scope: &'a dyn Fn(&Url) -> bool,
    /// robots.txt for the product token `dcrawl`.
    pub allowed: &'a dyn Fn(&Url) -> bool,
}

/// Same scheme, host and port as `base`.
pub fn same_origin(base: &Url) -> impl Fn(&Url) -> bool + '_ {
    move |u: &Url| u.origin() == base.origin()
}

/// The crawl of `site` from `seed` (plus `sitemap` entries as (entry, sitemap file)), as
/// CONTRACT §2 describes it: breadth-first, level by level, page order then link order, each
/// normalised URL once; links only from 2xx HTML pages above `max_depth`; the first
/// `max_pages` pages.
pub fn model(site: &Site, seed: &Url, sitemap: &[(Url, Url)], rules: &Rules) -> Model {
    let normalise = |u: &Url| {
        let mut u = u.clone();
        u.set_fragment(None);
        u
    };
    let mut seen: HashSet<Url> = HashSet::new();
    let mut robots_skipped = BTreeSet::new();
    // Decide about a discovered URL: Some(url) when it is to be fetched.
    let admit = |u: Url, seen: &mut HashSet<Url>, skipped: &mut BTreeSet<Url>| {
        if !matches!(u.scheme(), "http" | "https") || seen.contains(&u) || !(rules.in_scope)(&u) {
            return None;
        }
        seen.insert(u.clone());
        if !(rules.allowed)(&u) {
            skipped.insert(u);
            return None;
        }
        Some(u)
    };
    let seed = normalise(seed);
    seen.insert(seed.clone());
    let mut level: Vec<(Url, Option<Url>)> = vec![(seed, None)];
    for (entry, file) in sitemap {
        if let Some(u) = admit(normalise(entry), &mut seen, &mut robots_skipped) {
            level.push((u, Some(file.clone())));
        }
    }
    let mut pages = Vec::new();
    let mut depth = 0;
    loop {
        let mut next = Vec::new();
        for (url, from) in &level {
            if pages.len() == rules.max_pages {
                return Model {
                    pages,
                    robots_skipped,
                    truncated: true,
                };
            }
            assert_eq!(
                url.origin(),
                site.base.origin(),
                "the model knows one site only: {url}"
            );
            let page = (site.pages)(&site.base, &request_target(url));
            pages.push(ModelPage {
                url: url.clone(),
                depth,
                linked_from: from.clone(),
                status: page.as_ref().map_or(404, |p| p.status),
            });
            let Some(page) = page else { continue };
            if depth >= rules.max_depth || !page.followed() {
                continue;
            }
            let base = match &page.base {
                Some(b) => url.join(b).unwrap(),
                None => url.clone(),
            };
            for href in &page.links {
                let Ok(link) = base.join(href) else { continue };
                if let Some(u) = admit(normalise(&link), &mut seen, &mut robots_skipped) {
                    next.push((u, Some(url.clone())));
                }
            }
        }
        if next.is_empty() {
            return Model {
                pages,
                robots_skipped,
                truncated: false,
            };
        }
        level = next;
        depth += 1;
    }
}

/// A tree of HTML pages: `/` links `/n0`, `/n1`, `/n2`; `/n0` links `/n0-0`, `/n0-1`,
/// `/n0-2`, and so on without end. Every page also links back to `/` and to its parent.
pub fn tree() -> SiteFn {
    site(|_, target| {
        let children =
            |prefix: &str| -> Vec<String> { (0..3).map(|i| format!("{prefix}{i}")).collect() };
        if target == "/" {
            let mut links = children("/n");
            links.push("/".into());
            return Some(Page::html(links));
        }
        let name = target.strip_prefix("/n")?;
        if name.is_empty() || !name.split('-').all(|d| matches!(d, "0" | "1" | "2")) {
            return None;
        }
        let parent = match target.rfind('-') {
            Some(i) => target[..i].to_string(),
            None => "/".to_string(),
        };
        let mut links = children(&format!("{target}-"));
        links.push("/".into());
        links.push(parent);
        Some(Page::html(links))
    })
}

/// gzip `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    crate::support::gzip(data)
}

/// A `<urlset>` sitemap of these URLs.
pub fn urlset(urls: &[String]) -> String {
    let entries: String = urls
        .iter()
        .map(|u| format!("  <url><loc>{u}</loc><changefreq>daily</changefreq></url>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{entries}</urlset>\n"
    )
}

/// A `<sitemapindex>` of these sitemap URLs.
pub fn sitemap_index(urls: &[String]) -> String {
    let entries: String = urls
        .iter()
        .map(|u| format!("  <sitemap><loc>{u}</loc></sitemap>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{entries}</sitemapindex>\n"
    )
}

/// Products of [`shop`]: `/p/0` .. `/p/299`.
pub const PRODUCTS: usize = 300;
/// Products per category; category `c` lists `/p/{30c}` .. `/p/{30c+29}`.
pub const PER_CATEGORY: usize = 30;
/// Categories: `/c/0` .. `/c/9`.
pub const CATEGORIES: usize = PRODUCTS / PER_CATEGORY;
/// The product page without a `span.price`.
pub const NO_PRICE: usize = 77;
/// The product page showing an `.error-banner`.
pub const BANNER: usize = 150;
/// The product page that answers after [`SLOW_FOR`].
pub const SLOW: usize = 250;
/// How long [`SLOW`] takes.
pub const SLOW_FOR: Duration = Duration::from_millis(1500);

/// robots.txt of [`shop`]: the `dcrawl` group disallows `/private/` (and `/sitemap`, which must
/// not matter: sitemap files are exempt); the `*` group, which must not apply to `dcrawl`,
/// disallows nearly everything.
pub const SHOP_ROBOTS: &str = "\
User-agent: otherbot
Disallow: /

User-agent: dcrawl
Disallow: /private/
Disallow: /sitemap

User-agent: *
Disallow: /p/
Disallow: /c/
Disallow: /landing/
";

/// Entries of `/sitemap-a.xml` of the shop at `base` (`other` is another server).
pub fn sitemap_a(base: &Url, other: &Url) -> Vec<String> {
    vec![
        base.to_string(),
        format!("{base}landing/spring"),
        format!("{base}landing/summer"),
        format!("{base}private/sitemap-only"),
        format!("{base}p/5"),
        format!("{other}from-sitemap"),
    ]
}

/// Entries of `/sitemap-b.xml.gz` of the shop at `base`.
pub fn sitemap_b(base: &Url) -> Vec<String> {
    vec![
        format!("{base}landing/autumn"),
        format!("{base}landing/winter#top"),
        format!("{base}c/3?sort=price"),
    ]
}

/// The landing pages (only reachable through the sitemap).
pub const SEASONS: [&str; 4] = ["spring", "summer", "autumn", "winter"];

/// A shop of a few hundred pages with link cycles, every form of link (relative, root-relative,
/// absolute, scheme-relative, `<base href>`, fragments, upper-case scheme), links to another
/// server, a section disallowed by robots.txt, a sitemap index with a gzipped child, three
/// broken links (`/discontinued` first linked from `/c/4`, `/p/300` from `/c/9`,
/// `/img/missing.png` from `/p/123`), a product without price ([`NO_PRICE`]), one with an error
/// banner ([`BANNER`]) and a slow one ([`SLOW`]).
pub fn shop(other: Url) -> SiteFn {
    site(move |base, target| {
        let b = base.as_str().trim_end_matches('/');
        let o = other.as_str();
        let path = target.split('?').next().unwrap_or(target);
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let num = |s: &str| s.parse::<usize>().ok();
        match segs.as_slice() {
            [""] => Some(home(b, o)),
            ["robots.txt"] => Some(Page::raw(200, "text/plain", SHOP_ROBOTS)),
            ["sitemap_index.xml"] => Some(Page::raw(
                200,
                "application/xml",
                sitemap_index(&[
                    format!("{b}/sitemap-a.xml"),
                    format!("{b}/sitemap-b.xml.gz"),
                ]),
            )),
            ["sitemap-a.xml"] => Some(Page::raw(
                200,
                "application/xml",
                urlset(&sitemap_a(base, &other)),
            )),
            ["sitemap-b.xml.gz"] => Some(Page::raw(
                200,
                "application/gzip",
                gzip(urlset(&sitemap_b(base)).as_bytes()),
            )),
            ["c", n] => num(n).filter(|n| *n < CATEGORIES).map(|n| category(b, n)),
            ["c", "2", "items", k] => num(k).filter(|k| *k < 3).map(|_| Page::html(["/"])),
            ["p", n] => num(n).filter(|n| *n < PRODUCTS).map(product(o)),
            ["p", n, "reviews"] => num(n)
                .filter(|n| *n < PRODUCTS && n % 10 == 0)
                .map(|n| Page::html([format!("/p/{n}"), "reviews/2".to_string()])),
            ["p", n, "reviews", "2"] => num(n)
                .filter(|n| *n < PRODUCTS && n % 10 == 0)
                .map(|_| Page::html(["/"])),
            ["landing", s] => SEASONS.iter().position(|x| x == s).map(|i| {
                Page::html([
                    format!("/deals/{s}"),
                    format!("/p/{}", 12 + i * 31),
                    "/".to_string(),
                ])
            }),
            ["deals", s] if SEASONS.contains(s) => Some(Page::html(["/", "../landing/spring"])),
            ["img", "logo.png"] => Some(Page::raw(
                200,
                "image/png",
                &b"\x89PNG\r\n\x1a\n<a href=\"/png-trap\">x</a>"[..],
            )),
            ["api", "products.json"] => Some(Page::raw(
                200,
                "application/json",
                r#"{"items": [], "html": "<a href=\"/json-trap\">x</a>"}"#,
            )),
            ["private", ..] => Some(Page::html(["/private/deeper"])),
            _ => None,
        }
    })
}

/// `/` of the shop.
fn home(b: &str, o: &str) -> Page {
    let upper = b.replacen("http://", "HTTP://", 1);
    let scheme_relative = b.trim_start_matches("http:");
    Page::html([
        "/c/0".to_string(),
        "c/1".into(),
        "./c/2".into(),
        "/c/3".into(),
        format!("{b}/c/4"),
        "/c/5#top".into(),
        "/c/6".into(),
        "/c/7".into(),
        "/c/8".into(),
        "/c/9".into(),
        "/p/1#reviews".into(),
        format!("{upper}/p/1"),
        "/p/1".into(),
        format!("{scheme_relative}/p/2"),
        format!("{b}/p/1#x"),
        "p/4".into(),
        "/c/1?sort=price".into(),
        "/private/admin".into(),
        "/private/".into(),
        format!("{o}elsewhere"),
        format!("{o}p/1"),
        "/img/logo.png".into(),
        "/api/products.json".into(),
        "mailto:shop@example.com".into(),
        "javascript:void(0)".into(),
        "tel:+100".into(),
        "#top".into(),
        String::new(),
        "/".into(),
    ])
}

/// `/c/N`: links home, to the next category, to itself with and without a sort order, and to
/// its products in varied forms; `/c/2` has `<base href="/c/2/">` and relative `items/K` links.
fn category(b: &str, n: usize) -> Page {
    let mut links = vec![
        "/".to_string(),
        format!("/c/{}", (n + 1) % CATEGORIES),
        format!("/c/{n}"),
        format!("/c/{n}?sort=price"),
    ];
    for i in n * PER_CATEGORY..(n + 1) * PER_CATEGORY {
        links.push(if n == 2 {
            // Relative to the base /c/2/.
            if i % 2 == 0 {
                format!("/p/{i}")
            } else {
                format!("../../p/{i}")
            }
        } else {
            match i % 5 {
                0 => format!("/p/{i}"),
                1 => format!("../p/{i}"),
                2 => format!("{b}/p/{i}"),
                3 => format!("/p/{i}#specs"),
                _ => format!("./../p/{i}"),
            }
        });
    }
    match n {
        2 => links.extend((0..3).map(|k| format!("items/{k}"))),
        3 => links.push("/private/c3-secret".into()),
        4 => links.push("/discontinued".into()),
        9 => links.push("/p/300".into()),
        _ => {}
    }
    let page = Page::html(links);
    if n == 2 {
        page.with_base("/c/2/")
    } else {
        page
    }
}

/// `/p/N`: links home, its category and its neighbours in the category (a cycle); every tenth
/// links its reviews (relative), every fiftieth a private wishlist and the other server.
fn product(o: &str) -> impl Fn(usize) -> Page + '_ {
    move |i| {
        let c = i / PER_CATEGORY;
        let first = c * PER_CATEGORY;
        let prev = first + (i - first + PER_CATEGORY - 1) % PER_CATEGORY;
        let next = first + (i - first + 1) % PER_CATEGORY;
        let mut links = vec![
            "/".to_string(),
            format!("/c/{c}"),
            format!("/p/{prev}"),
            format!("/p/{next}#top"),
        ];
        if i % 10 == 0 {
            links.push(format!("{i}/reviews"));
        }
        if i % 50 == 0 {
            links.push(format!("/private/wishlist/{i}"));
            links.push(format!("{o}p/{i}"));
        }
        match i {
            200 => links.push("/discontinued".into()),
            123 => links.push("../img/missing.png".into()),
            _ => {}
        }
        let page = Page::html(links);
        match i {
            NO_PRICE => page.with_extra("<p>Price on request</p>"),
            BANNER => page.with_extra(&format!(
                "{PRICE}<div class=\"error-banner\">Stock service unavailable</div>"
            )),
            SLOW => page.with_delay(SLOW_FOR),
            _ => page,
        }
    }
}
