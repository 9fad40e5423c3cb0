//! End-to-end: crawl targets (CONTRACT §2 "Crawling"), through the `dcrawl` binary against
//! generated sites on 127.0.0.1 that record every request they get. The big shop test derives
//! the exact pages a crawl must fetch from a model of the site; the smaller tests each pin one
//! limit (depth, page cap, concurrency, Crawl-delay, robots, scope, non-HTML pages) as the
//! server observes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/crawl_site.rs"]
mod crawl_site;
#[path = "support/daemon.rs"]
mod daemon_support;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crawl_site::{Model, Page, Rules, Site, model, same_origin, serve, site};
use daemon_support::{Daemon, find_target, sample, wait_output};
use serde_json::Value;
use url::Url;

/// How long one `dcrawl check` may take before the test gives up on it.
const CHECK_DEADLINE: Duration = Duration::from_secs(60);

/// The outcome of one `dcrawl check`.
struct Run {
    /// Exit code.
    code: Option<i32>,
    /// Standard output.
    stdout: String,
    /// Standard error (the log).
    stderr: String,
}

impl Run {
    /// stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The result of target `name`.
    fn result(&self, name: &str) -> Value {
        let doc = self.json();
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no result for {name}: {doc:#}"))
    }
}

/// `dcrawl check --specs FILE ARGS` with `spec` written to FILE, run off the async runtime (the
/// test's servers keep serving), killed after [`CHECK_DEADLINE`].
async fn check(spec: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spec.yaml");
    std::fs::write(&file, spec).unwrap();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let run = run_check(&file, &args);
        drop(dir);
        run
    })
    .await
    .unwrap()
}

fn run_check(file: &Path, args: &[String]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .arg("check")
        .arg("--specs")
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, CHECK_DEADLINE);
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Assert two sets are equal, naming what is missing and what is extra.
fn assert_same_set(got: &BTreeSet<String>, want: &BTreeSet<String>, what: &str) {
    let extra: Vec<_> = got.difference(want).collect();
    let missing: Vec<_> = want.difference(got).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: {} unexpected {extra:?}; {} missing {missing:?}",
        extra.len(),
        missing.len()
    );
}

/// Assert two sequences are equal, naming the first difference.
fn assert_same_list(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(g, w)| g != w)
        .unwrap_or(got.len().min(want.len()));
    let show = |v: &[String]| v[at.min(v.len())..(at + 5).min(v.len())].to_vec();
    panic!(
        "{what}: lengths {} vs {} expected; first difference at index {at}: got {:?}, expected {:?}",
        got.len(),
        want.len(),
        show(got),
        show(want)
    );
}

/// Request targets seen more than once.
fn repeated(site: &Site) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for t in site.targets() {
        *counts.entry(t).or_insert(0) += 1;
    }
    counts.retain(|_, n| *n > 1);
    counts
}

/// The `url` of each entry of `pages`.
fn page_urls(result: &Value) -> Vec<String> {
    result["pages"]
        .as_array()
        .unwrap_or_else(|| panic!("no pages array: {result:#}"))
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_string())
        .collect()
}

/// The URLs of a model's pages, in crawl order.
fn model_urls(m: &Model) -> Vec<String> {
    m.pages.iter().map(|p| p.url.to_string()).collect()
}

/// The page entry for `url`.
fn page<'a>(result: &'a Value, url: &str) -> &'a Value {
    result["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"] == url)
        .unwrap_or_else(|| panic!("no page {url}"))
}

/// Request targets other than robots.txt.
fn page_targets(site: &Site) -> BTreeSet<String> {
    site.targets()
        .into_iter()
        .filter(|t| t != "/robots.txt")
        .collect()
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A site with robots.txt `robots` and `pages`.
fn with_robots(
    robots: &'static str,
    pages: impl Fn(&str) -> Option<Page> + Send + Sync + 'static,
) -> crawl_site::SiteFn {
    site(move |_, target| {
        if target == "/robots.txt" {
            Some(Page::raw(200, "text/plain", robots))
        } else {
            pages(target)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawls_the_shop_exactly_as_modelled() {
    let other = serve(site(|_, _| Some(Page::html(["/"])))).await;
    let shop = serve(crawl_site::shop(other.base.clone())).await;
    let b = &shop.base;
    let spec = format!(
        r#"
name: shop
targets:
  - name: catalogue
    url: {b}
    expect:
      status: 200
      html:
        - css: "nav a"
          count: {{min: 10}}
    crawl:
      sitemap: {b}sitemap_index.xml
      exclude: ['[?&]sort=']
      max_depth: 3
      max_pages: 1000
      concurrency: 8
    expect_each:
      status: 200
      max_duration: 1s
      html:
        - css: span.price
        - css: .error-banner
          count: 0
          name: no-error-banner
"#
    );
    let run = check(&spec, &["--format", "json"]).await;

    // The model of this crawl.
    let sitemap_a = b.join("sitemap-a.xml").unwrap();
    let sitemap_b = b.join("sitemap-b.xml.gz").unwrap();
    let entries: Vec<(Url, Url)> = crawl_site::sitemap_a(b, &other.base)
        .iter()
        .map(|u| (Url::parse(u).unwrap(), sitemap_a.clone()))
        .chain(
            crawl_site::sitemap_b(b)
                .iter()
                .map(|u| (Url::parse(u).unwrap(), sitemap_b.clone())),
        )
        .collect();
    let exclude = regex::Regex::new("[?&]sort=").unwrap();
    let origin = same_origin(b);
    let in_scope = |u: &Url| origin(u) && !exclude.is_match(u.as_str());
    let allowed = |u: &Url| !u.path().starts_with("/private/");
    let m = model(
        &shop,
        b,
        &entries,
        &Rules {
            max_depth: 3,
            max_pages: 1000,
            in_scope: &in_scope,
            allowed: &allowed,
        },
    );
    // The model itself, against facts known about the site.
    assert!(!m.truncated);
    assert!(m.pages.len() > crawl_site::PRODUCTS, "{}", m.pages.len());
    let skipped: BTreeSet<String> = m.robots_skipped.iter().map(|u| u.path().into()).collect();
    assert_same_set(
        &skipped,
        &set([
            "/private/",
            "/private/admin",
            "/private/c3-secret",
            "/private/sitemap-only",
            "/private/wishlist/0",
            "/private/wishlist/50",
            "/private/wishlist/100",
            "/private/wishlist/150",
            "/private/wishlist/200",
            "/private/wishlist/250",
        ]),
        "model's robots-skipped URLs",
    );

    // What the server saw: exactly the modelled pages, robots.txt and the three sitemap files,
    // each once; nothing of the other host, the private section or the decoys.
    let mut want = m.targets();
    want.extend(set([
        "/robots.txt",
        "/sitemap_index.xml",
        "/sitemap-a.xml",
        "/sitemap-b.xml.gz",
    ]));
    let targets = shop.targets();
    assert_same_set(
        &targets.iter().cloned().collect(),
        &want,
        "requests to the shop",
    );
    assert_eq!(repeated(&shop), BTreeMap::new(), "requested more than once");
    assert_eq!(
        other.targets(),
        Vec::<String>::new(),
        "other host requested"
    );
    for t in &targets {
        assert!(
            !t.starts_with("/private/")
                && !t.starts_with("/decoy/")
                && !t.contains("trap")
                && !t.contains("sort="),
            "{t} requested"
        );
    }
    // robots.txt came before every crawled page but the seed.
    let robots_at = targets.iter().position(|t| t == "/robots.txt").unwrap();
    let modelled = m.targets();
    let first_page = targets
        .iter()
        .position(|t| t != "/" && modelled.contains(t))
        .unwrap();
    assert!(
        robots_at < first_page,
        "robots.txt requested after {}",
        targets[first_page]
    );
    // Hard-coded facts the model must agree with.
    for (path, depth, from) in [
        ("/", 0, None),
        ("/landing/spring", 0, Some(sitemap_a.to_string())),
        ("/p/5", 0, Some(sitemap_a.to_string())),
        ("/landing/winter", 0, Some(sitemap_b.to_string())),
        ("/p/1", 1, Some(shop.url("/"))),
        ("/c/4", 1, Some(shop.url("/"))),
        ("/discontinued", 2, Some(shop.url("/c/4"))),
        ("/p/300", 2, Some(shop.url("/c/9"))),
        ("/img/missing.png", 3, Some(shop.url("/p/123"))),
        ("/c/2/items/1", 2, Some(shop.url("/c/2"))),
        ("/p/250/reviews", 3, Some(shop.url("/p/250"))),
        ("/deals/autumn", 1, Some(shop.url("/landing/autumn"))),
    ] {
        let p = m.page(&shop.url(path));
        assert_eq!(
            (p.depth, p.linked_from.as_ref().map(Url::to_string)),
            (depth, from),
            "{path}"
        );
    }
    for absent in ["/c/items/1", "/p/0/reviews/2", "/p/-1"] {
        assert!(!targets.iter().any(|t| t == absent), "{absent} requested");
    }

    // The JSON result.
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    let r = run.result("catalogue");
    assert_eq!(r["result"], "failure", "{r:#}");
    assert_eq!(r["status"], 200);
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["url"], b.as_str());
    assert_same_list(&page_urls(&r), &model_urls(&m), "pages in crawl order");

    let url = |p: &str| shop.url(p);
    let slow = format!("/p/{}", crawl_site::SLOW);
    let no_price = format!("/p/{}", crawl_site::NO_PRICE);
    let banner = format!("/p/{}", crawl_site::BANNER);
    // (path, assertion id, fragment of the reason)
    let failing: BTreeMap<String, (&str, &str)> = [
        ("/discontinued".to_string(), ("status", "found 404")),
        ("/p/300".to_string(), ("status", "found 404")),
        ("/img/missing.png".to_string(), ("status", "found 404")),
        (no_price.clone(), ("html[0]", "span.price")),
        (banner.clone(), ("no-error-banner", ".error-banner")),
        (slow.clone(), ("max_duration", "expected <= 1s")),
    ]
    .into_iter()
    .map(|(p, v)| (url(&p), v))
    .collect();
    for (p, want) in r["pages"].as_array().unwrap().iter().zip(&m.pages) {
        let u = want.url.as_str();
        assert_eq!(p["depth"], want.depth, "depth of {u}");
        assert_eq!(
            p["linked_from"].as_str(),
            want.linked_from.as_ref().map(Url::as_str),
            "linked_from of {u}"
        );
        assert_eq!(p["status"], want.status, "status of {u}");
        assert_eq!(p["error"], Value::Null, "error of {u}");
        assert!(p["duration_seconds"].as_f64().is_some(), "{p}");
        match failing.get(u) {
            None => {
                assert_eq!(p["result"], "success", "{p}");
                assert_eq!(p["failures"], serde_json::json!([]), "{p}");
            }
            Some((id, fragment)) => {
                assert_eq!(p["result"], "failure", "{p}");
                let f = p["failures"].as_array().unwrap();
                assert_eq!(f.len(), 1, "{p}");
                assert!(
                    f[0]["assertion"].as_str().unwrap().ends_with(id),
                    "{p}: {id}"
                );
                assert!(
                    f[0]["message"].as_str().unwrap().contains(fragment),
                    "{p}: {fragment}"
                );
            }
        }
    }
    assert!(page(&r, &url(&slow))["duration_seconds"].as_f64().unwrap() >= 1.4);

    // The target's failures: the seed has none; then one per failing page in crawl order, as
    // `page.ID`, `URL: reason (linked from URL)`.
    let want_failures: Vec<(String, String, String, &str)> = m
        .pages
        .iter()
        .filter_map(|p| {
            let (id, fragment) = failing.get(p.url.as_str())?;
            Some((
                format!("page.{id}"),
                p.url.to_string(),
                p.linked_from.as_ref().unwrap().to_string(),
                *fragment,
            ))
        })
        .collect();
    let got = r["failures"].as_array().unwrap();
    assert_eq!(
        got.iter()
            .map(|f| f["assertion"].as_str().unwrap())
            .collect::<Vec<_>>(),
        want_failures
            .iter()
            .map(|w| w.0.as_str())
            .collect::<Vec<_>>(),
        "failures: {got:#?}"
    );
    for (f, (_, u, from, fragment)) in got.iter().zip(&want_failures) {
        let msg = f["message"].as_str().unwrap();
        assert!(msg.starts_with(&format!("{u}: ")), "{msg}");
        assert!(msg.ends_with(&format!(" (linked from {from})")), "{msg}");
        assert!(msg.contains(fragment), "{msg}: {fragment}");
    }
    // One hard-coded: the first broken link, from the category that links it before /p/200.
    // (The reason may or may not repeat the assertion id: `status: expected ...`.)
    let discontinued = got[want_failures
        .iter()
        .position(|w| w.1 == url("/discontinued"))
        .unwrap()]["message"]
        .as_str()
        .unwrap();
    assert!(
        discontinued.starts_with(&format!("{}: ", url("/discontinued")))
            && discontinued.contains("expected 200, found 404")
            && discontinued.ends_with(&format!(" (linked from {})", url("/c/4"))),
        "{discontinued}"
    );

    let crawl = &r["crawl"];
    let n = m.pages.len();
    assert_eq!(crawl["pages"], n, "{crawl}");
    assert_eq!(crawl["ok"], n - 6, "{crawl}");
    assert_eq!(crawl["failed"], 6, "{crawl}");
    assert_eq!(crawl["robots_skipped"], 10, "{crawl}");
    assert_eq!(crawl["truncated"], false, "{crawl}");
    assert_eq!(crawl["slowest"]["url"], url(&slow), "{crawl}");
    assert!(crawl["slowest"]["duration_seconds"].as_f64().unwrap() >= 1.4);
    assert_eq!(
        run.json()["summary"],
        serde_json::json!({"success": 0, "warning": 0, "failure": 1, "error": 0})
    );
}

/// Three targets on three copies of an endless tree (three links per page): depth 0, 1 and 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_depth_bounds_the_link_hops() {
    let trees = [
        serve(crawl_site::tree()).await,
        serve(crawl_site::tree()).await,
        serve(crawl_site::tree()).await,
    ];
    let mut spec = String::from("name: trees\ntargets:\n");
    for (depth, t) in trees.iter().enumerate() {
        spec.push_str(&format!(
            "  - name: d{depth}\n    url: {}\n    crawl: {{max_depth: {depth}}}\n",
            t.base
        ));
    }
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for (depth, (t, count)) in trees.iter().zip([1, 4, 13]).enumerate() {
        let origin = same_origin(&t.base);
        let m = model(
            t,
            &t.base,
            &[],
            &Rules {
                max_depth: depth,
                max_pages: 100,
                in_scope: &origin,
                allowed: &|_| true,
            },
        );
        assert_eq!(m.pages.len(), count);
        assert_same_set(&page_targets(t), &m.targets(), &format!("d{depth}"));
        assert_eq!(repeated(t), BTreeMap::new(), "d{depth}");
        assert!(t.count("/robots.txt") <= 1, "d{depth}");
        let r = run.result(&format!("d{depth}"));
        assert_eq!(r["result"], "success", "{r:#}");
        assert_same_list(&page_urls(&r), &model_urls(&m), &format!("d{depth}"));
        let deepest = r["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["depth"].as_u64().unwrap())
            .max();
        assert_eq!(deepest, Some(depth as u64));
        assert_eq!(r["crawl"]["pages"], count);
        assert_eq!(r["crawl"]["truncated"], false);
    }
    // The default is 1.
    let t = serve(crawl_site::tree()).await;
    let run = check(
        &format!(
            "name: tree\ntargets:\n  - name: t\n    url: {}\n    crawl: {{}}\n",
            t.base
        ),
        &["--format", "json"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(page_targets(&t), set(["/", "/n0", "/n1", "/n2"]));
}

/// `max_pages` caps the pages fetched exactly, seed included, keeping the first in BFS order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_pages_keeps_the_first_pages_in_breadth_first_order() {
    // (max_depth, max_pages, pages, truncated)
    let cases = [(5, 7, 7, true), (2, 12, 12, true), (2, 13, 13, false)];
    let mut trees = Vec::new();
    let mut spec = String::from("name: caps\ntargets:\n");
    for (i, (depth, cap, _, _)) in cases.iter().enumerate() {
        let t = serve(crawl_site::tree()).await;
        spec.push_str(&format!(
            "  - name: c{i}\n    url: {}\n    crawl: {{max_depth: {depth}, max_pages: {cap}, concurrency: 4}}\n",
            t.base
        ));
        trees.push(t);
    }
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for (i, (t, (depth, cap, pages, truncated))) in trees.iter().zip(cases).enumerate() {
        let origin = same_origin(&t.base);
        let m = model(
            t,
            &t.base,
            &[],
            &Rules {
                max_depth: depth,
                max_pages: cap,
                in_scope: &origin,
                allowed: &|_| true,
            },
        );
        assert_eq!(
            (m.pages.len(), m.truncated),
            (pages, truncated),
            "model c{i}"
        );
        assert_same_set(&page_targets(t), &m.targets(), &format!("c{i}"));
        assert_eq!(repeated(t), BTreeMap::new(), "c{i}");
        let r = run.result(&format!("c{i}"));
        assert_same_list(&page_urls(&r), &model_urls(&m), &format!("c{i}"));
        assert_eq!(r["crawl"]["pages"], pages, "c{i}: {:#}", r["crawl"]);
        assert_eq!(r["crawl"]["truncated"], truncated, "c{i}: {:#}", r["crawl"]);
    }
    // Hard-coded: the first seven of the deep one.
    assert_eq!(
        page_targets(&trees[0]),
        set(["/", "/n0", "/n1", "/n2", "/n0-0", "/n0-1", "/n0-2"])
    );
}

/// A seed linking `n` pages that each take 50 ms.
fn fan_out(n: usize) -> crawl_site::SiteFn {
    site(move |_, target| {
        if target == "/" {
            return Some(Page::html((0..n).map(|i| format!("/s/{i}"))));
        }
        let i: usize = target.strip_prefix("/s/")?.parse().ok()?;
        (i < n).then(|| Page::html(["/"]).with_delay(Duration::from_millis(50)))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_pages_in_flight() {
    let four = serve(fan_out(24)).await;
    let one = serve(fan_out(8)).await;
    let spec = format!(
        "name: fan\ntargets:\n\
         \x20 - name: four\n    url: {}\n    crawl: {{concurrency: 4}}\n\
         \x20 - name: one\n    url: {}\n    crawl: {{concurrency: 1}}\n",
        four.base, one.base
    );
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(four.in_flight.total.load(Ordering::SeqCst), 24);
    let max4 = four.in_flight.max.load(Ordering::SeqCst);
    assert!((2..=4).contains(&max4), "concurrency 4: {max4} in flight");
    assert_eq!(one.in_flight.total.load(Ordering::SeqCst), 8);
    assert_eq!(one.in_flight.max.load(Ordering::SeqCst), 1, "concurrency 1");
    assert_eq!(run.result("four")["crawl"]["pages"], 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_delay_spaces_the_requests_to_a_host() {
    let s = serve(with_robots(
        "User-agent: *\nCrawl-delay: 0.3\n",
        |target| match target {
            "/" => Some(Page::html((1..=5).map(|i| format!("/d/{i}")))),
            t if t.starts_with("/d/") => Some(Page::html(["/"])),
            _ => None,
        },
    ))
    .await;
    let spec = format!(
        "name: polite\ntargets:\n  - name: t\n    url: {}\n    crawl: {{concurrency: 4}}\n",
        s.base
    );
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let hits: Vec<_> = s
        .hits()
        .into_iter()
        .filter(|h| h.target.starts_with("/d/"))
        .collect();
    assert_eq!(hits.len(), 5, "{:?}", s.targets());
    for pair in hits.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(250),
            "{} then {} only {gap:?} apart",
            pair[0].target,
            pair[1].target
        );
    }
    assert_eq!(s.count("/robots.txt"), 1);
}

/// Pages of the robots tests: `/` links a private and a public page; `/private/start` too.
fn private_and_public(target: &str) -> Option<Page> {
    match target {
        "/" | "/private/start" => Some(Page::html(["/private/a", "/pub/b"])),
        "/private/a" | "/pub/b" => Some(Page::html(["/"])),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_obeyed_except_for_the_seed_and_can_be_turned_off() {
    const ROBOTS: &str = "User-agent: *\nDisallow: /private/\n";
    let obey = serve(with_robots(ROBOTS, private_and_public)).await;
    let seed_disallowed = serve(with_robots(ROBOTS, private_and_public)).await;
    let ignore = serve(with_robots(ROBOTS, private_and_public)).await;
    let no_robots = serve(site(|_, t| private_and_public(t))).await;
    let spec = format!(
        "name: robots\ntargets:\n\
         \x20 - name: obey\n    url: {}\n    crawl: {{}}\n\
         \x20 - name: seed-disallowed\n    url: {}private/start\n    crawl: {{}}\n\
         \x20 - name: ignore\n    url: {}\n    crawl: {{robots: false}}\n\
         \x20 - name: no-robots\n    url: {}\n    crawl: {{}}\n",
        obey.base, seed_disallowed.base, ignore.base, no_robots.base
    );
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);

    assert_same_set(
        &obey.targets().into_iter().collect(),
        &set(["/", "/robots.txt", "/pub/b"]),
        "obey",
    );
    assert_eq!(repeated(&obey), BTreeMap::new());
    assert_eq!(run.result("obey")["crawl"]["robots_skipped"], 1);
    assert_eq!(run.result("obey")["crawl"]["pages"], 2);

    assert_same_set(
        &seed_disallowed.targets().into_iter().collect(),
        &set(["/private/start", "/robots.txt", "/pub/b"]),
        "seed-disallowed",
    );
    assert_eq!(run.result("seed-disallowed")["crawl"]["robots_skipped"], 1);

    assert_same_set(
        &ignore.targets().into_iter().collect(),
        &set(["/", "/private/a", "/pub/b"]),
        "robots: false",
    );
    assert_eq!(run.result("ignore")["crawl"]["robots_skipped"], 0);

    // A 404 robots.txt allows everything.
    assert_same_set(
        &no_robots.targets().into_iter().collect(),
        &set(["/", "/robots.txt", "/private/a", "/pub/b"]),
        "404 robots.txt",
    );
    assert_eq!(run.result("no-robots")["crawl"]["robots_skipped"], 0);
}

/// `include` replaces the same-host default (a matching URL on another port is crawled, with
/// that host's own robots.txt); `exclude` removes URLs from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_and_exclude_decide_the_scope() {
    let other = serve(site(|_, t| match t {
        "/p/9" => Some(Page::html(["/p/10"])),
        _ => None,
    }))
    .await;
    let o = other.base.clone();
    let main = serve(site(move |_, t| match t {
        "/" => Some(Page::html([
            "/p/1".to_string(),
            "/c/1".to_string(),
            "/p/2?x=1".to_string(),
            format!("{o}p/9"),
            format!("{o}c/9"),
        ])),
        "/p/1" | "/c/1" | "/p/2?x=1" => Some(Page::html(["/"])),
        _ => None,
    }))
    .await;
    let spec = format!(
        "name: scope\ntargets:\n  - name: t\n    url: {}\n    crawl:\n      include: ['/p/']\n      exclude: ['x=1$']\n",
        main.base
    );
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_same_set(
        &main.targets().into_iter().collect(),
        &set(["/", "/robots.txt", "/p/1"]),
        "main host",
    );
    assert_same_set(
        &other.targets().into_iter().collect(),
        &set(["/robots.txt", "/p/9"]),
        "other host",
    );
    assert_eq!(repeated(&other), BTreeMap::new());
    let r = run.result("t");
    assert_eq!(
        page_urls(&r),
        [main.url("/"), main.url("/p/1"), other.url("/p/9")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_never_leave_the_scope() {
    let other = serve(site(|_, t| match t {
        "/landing" => Some(Page::html(["/deeper"])),
        _ => None,
    }))
    .await;
    let away = other.url("/landing");
    let main = serve(site(move |_, t| match t {
        "/" => Some(Page::html(["/moved", "/away", "/p/1"])),
        "/moved" => Some(Page::redirect(301, "/p/2")),
        "/away" => Some(Page::redirect(302, &away)),
        "/p/1" | "/p/2" => Some(Page::html(Vec::<String>::new())),
        _ => None,
    }))
    .await;
    let spec = format!(
        "name: scope\ntargets:\n  - name: t\n    url: {}\n    crawl: {{robots: false}}\n",
        main.base
    );
    let run = check(&spec, &["--format", "json"]).await;
    // The redirect within the scope is followed; the one to another host is not.
    assert_eq!(other.targets(), Vec::<String>::new(), "{}", run.stdout);
    assert_same_set(
        &main.targets().into_iter().collect(),
        &set(["/", "/moved", "/p/2", "/away", "/p/1"]),
        "main host",
    );
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let r = run.result("t");
    assert_eq!(page(&r, &main.url("/moved"))["status"], 200, "{r:#}");
    let away_page = page(&r, &main.url("/away"));
    assert_eq!(away_page["status"], 302, "{r:#}");
    assert_eq!(away_page["result"], "failure", "{r:#}");
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{r:#}");
    assert_eq!(failures[0]["assertion"], "page.status");
}

/// A seed linking pages of every type: JSON and an image (checked for status only, never parsed
/// for links), a 404 JSON, a 500 HTML page (not followed), an XHTML page (followed), and a
/// page slower than the target's timeout.
fn mixed() -> crawl_site::SiteFn {
    site(|_, t| {
        let trap = |name: &str| format!("<html><body><a href=\"/{name}-trap\">x</a></body></html>");
        match t {
            "/" => Some(Page::html([
                "/data.json",
                "/logo.png",
                "/missing.json",
                "/err.html",
                "/x.xhtml",
                "/slow.html",
            ])),
            "/data.json" => Some(Page::raw(
                200,
                "application/json",
                format!("{{\"html\": \"{}\"}}", trap("json").replace('"', "\\\"")),
            )),
            "/logo.png" => Some(Page::raw(200, "image/png", trap("png"))),
            "/missing.json" => Some(Page::raw(
                404,
                "application/json",
                format!("{{\"html\": \"{}\"}}", trap("missing").replace('"', "\\\"")),
            )),
            "/err.html" => Some(Page::html(["/from-500"]).with_status(500)),
            "/x.xhtml" => Some(Page::html(["/from-xhtml"]).with_type("application/xhtml+xml")),
            "/from-xhtml" | "/from-500" => Some(Page::html(["/"])),
            "/slow.html" => {
                Some(Page::html(["/from-slow"]).with_delay(Duration::from_millis(1500)))
            }
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_html_pages_get_http_checks_only_and_are_not_parsed() {
    let s = serve(mixed()).await;
    let spec = format!(
        "name: mixed\ntargets:\n  - name: t\n    url: {}\n    timeout: 1s\n    crawl: {{max_depth: 2, robots: false}}\n    expect_each:\n      status: 200\n      html:\n        - css: span.price\n",
        s.base
    );
    let run = check(&spec, &["--format", "json"]).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let requested: BTreeSet<String> = s.targets().into_iter().collect();
    assert_same_set(
        &requested,
        &set([
            "/",
            "/data.json",
            "/logo.png",
            "/missing.json",
            "/err.html",
            "/x.xhtml",
            "/slow.html",
            "/from-xhtml",
        ]),
        "requests",
    );
    let r = run.result("t");
    assert_eq!(r["result"], "failure", "{r:#}");
    let from = s.url("/");
    let failures: Vec<(&str, &str)> = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["assertion"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failures.iter().map(|f| f.0).collect::<Vec<_>>(),
        ["page.status", "page.status", "page.error"],
        "{failures:#?}"
    );
    for ((_, msg), (path, fragment)) in failures.iter().zip([
        ("/missing.json", "found 404"),
        ("/err.html", "found 500"),
        ("/slow.html", "timeout"),
    ]) {
        assert!(msg.starts_with(&format!("{}: ", s.url(path))), "{msg}");
        assert!(msg.contains(fragment), "{msg}: {fragment}");
        assert!(msg.ends_with(&format!(" (linked from {from})")), "{msg}");
    }
    for ok in ["/data.json", "/logo.png", "/x.xhtml", "/from-xhtml"] {
        let p = page(&r, &s.url(ok));
        assert_eq!(p["result"], "success", "{p}");
        assert_eq!(p["status"], 200, "{p}");
    }
    assert_eq!(page(&r, &s.url("/from-xhtml"))["depth"], 2);
    let slow = page(&r, &s.url("/slow.html"));
    assert_eq!(slow["result"], "error", "{slow}");
    assert_eq!(slow["status"], Value::Null, "{slow}");
    assert!(
        slow["error"].as_str().unwrap().contains("timeout"),
        "{slow}"
    );
    let crawl = &r["crawl"];
    assert_eq!(crawl["pages"], 8, "{crawl}");
    assert_eq!(crawl["ok"], 5, "{crawl}");
    assert_eq!(crawl["failed"], 3, "{crawl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_text_shows_page_counts_and_failing_urls() {
    let s = serve(site(|_, t| match t {
        "/" => Some(Page::html(["/ok", "/gone", "/noprice"])),
        "/ok" => Some(Page::html(["/"])),
        "/noprice" => Some(Page::html(["/"]).with_extra("<p>ask us</p>")),
        _ => None,
    }))
    .await;
    let spec = format!(
        "name: text\ntargets:\n  - name: t\n    url: {}\n    crawl: {{robots: false}}\n    expect_each:\n      html:\n        - css: span.price\n",
        s.base
    );
    let run = check(&spec, &[]).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let text = &run.stdout;
    assert!(text.contains("pages: 2 ok, 2 failed"), "{text}");
    for failing in ["/gone", "/noprice"] {
        let url = s.url(failing);
        assert!(
            text.lines()
                .any(|l| l.contains(&url) && l.contains("page.")),
            "no failure line for {url}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_exports_page_counts_and_failed_pages_but_no_page_urls() {
    let shop = serve(site(|_, t| {
        if t == "/" {
            return Some(Page::html((1..=6).chain([404]).map(|i| format!("/p/{i}"))));
        }
        let n: usize = t.strip_prefix("/p/")?.parse().ok()?;
        match n {
            1..=5 => Some(Page::html(["/"])),
            6 => Some(Page::html(["/"]).with_extra("<p>no price</p>")),
            _ => None,
        }
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.yaml"),
        format!(
            "name: shop\nschedule: \"@every 1s\"\ntargets:\n  - name: catalogue\n    url: {}\n    crawl: {{robots: false}}\n    expect_each:\n      html:\n        - css: span.price\n",
            shop.base
        ),
    )
    .unwrap();
    let d = Daemon::start_on(dir.path()).await;
    let ok = "dcrawl_crawl_pages{spec=\"shop\",target=\"catalogue\",result=\"ok\"}";
    let failed = "dcrawl_crawl_pages{spec=\"shop\",target=\"catalogue\",result=\"failed\"}";
    let text = d
        .until_metrics("crawl page counts", Duration::from_secs(20), |m| {
            sample(m, ok).is_some() && sample(m, failed).is_some()
        })
        .await;
    assert_eq!(sample(&text, ok), Some(6.0), "{text}");
    assert_eq!(sample(&text, failed), Some(2.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "dcrawl_check_success{spec=\"shop\",target=\"catalogue\"}"
        ),
        Some(0.0),
        "{text}"
    );
    for line in text.lines() {
        assert!(!line.contains("/p/"), "a page URL in the metrics: {line}");
    }

    let t = find_target(&d.status().await, "shop", "catalogue").unwrap();
    let crawl = &t["crawl"];
    assert_eq!(crawl["pages"], 8, "{t:#}");
    assert_eq!(crawl["ok"], 6, "{t:#}");
    assert_eq!(crawl["failed"], 2, "{t:#}");
    assert_eq!(crawl["truncated"], false, "{t:#}");
    let failed_pages = crawl["failed_pages"].as_array().unwrap();
    let by_url: BTreeMap<&str, &Value> = failed_pages
        .iter()
        .map(|p| (p["url"].as_str().unwrap(), p))
        .collect();
    assert_eq!(
        by_url.keys().copied().collect::<Vec<_>>(),
        [shop.url("/p/404").as_str(), shop.url("/p/6").as_str()],
        "{t:#}"
    );
    let gone = by_url[shop.url("/p/404").as_str()];
    assert_eq!(gone["status"], 404);
    assert_eq!(gone["result"], "failure");
    assert_eq!(gone["linked_from"], shop.url("/"));
    assert!(
        gone["failures"][0]["assertion"]
            .as_str()
            .unwrap()
            .ends_with("status"),
        "{gone}"
    );
    let no_price = by_url[shop.url("/p/6").as_str()];
    assert_eq!(no_price["status"], 200);
    assert!(
        no_price["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("span.price"),
        "{no_price}"
    );
    d.stop().await;
}
