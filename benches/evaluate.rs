//! Evaluation alone, no network: a ~40 KB shop page against 3 CSS assertions and a ~5 KB JSON
//! document against 5 JSONPath checks, the same pages and checks as `scripts/bench` W2 and W3.
//! Parse-only baselines show how much of the time is the parser's.
//!
//! Run: `cargo bench --bench evaluate` (throughput is in documents per second of one core).

// A benchmark whose fixture does not load or does not pass must stop at once and say why.
#![allow(clippy::expect_used, clippy::panic, reason = "benchmark fixtures")]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dcrawl::evaluate::evaluate;
use dcrawl::fetch::Response;
use dcrawl::model::Target;
use dcrawl::spec::{self, Source};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use url::Url;

/// Items in `ul.products`, as in `scripts/gen-site.py`.
const PRODUCTS: usize = 30;

/// The shop page `i` of `scripts/gen-site.py` (~40 KB).
fn page(i: usize, pages: usize) -> String {
    let nav: String = (1..=10)
        .map(|k| format!("<a href=\"/p/{n}.html\">Page {n}</a> ", n = (i + k) % pages))
        .collect();
    let desc = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(21);
    let items: String = (0..PRODUCTS)
        .map(|k| {
            format!(
                "<li class=\"item\"><a href=\"/p/{}.html\" data-id=\"{k}\">Product {i}-{k}</a> \
                 <span class=\"price\">${}.{:02}</span><p class=\"desc\">{desc}</p></li>",
                (i * 7 + k) % pages,
                (k * 3 + i) % 200 + 1,
                k % 100
            )
        })
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Page {i}</title></head><body>\
         <header><a class=\"logo\" href=\"/\">Bench Shop</a><nav>{nav}</nav></header>\
         <main><h1>Shop page {i}</h1><ul class=\"products\">{items}</ul></main>\
         <footer>Bench footer</footer></body></html>"
    )
}

/// The JSON document `i` of `scripts/gen-site.py` (~5 KB).
fn doc(i: usize) -> String {
    let items: Vec<serde_json::Value> = (0..75)
        .map(|k| {
            serde_json::json!({
                "id": k,
                "name": format!("item {i}-{k}"),
                "price": ((k * 3 + i) % 200) as f64 + 1.5,
                "tags": ["a", "b"],
            })
        })
        .collect();
    serde_json::json!({"status": "ok", "page": i, "db": {"latency_ms": 12}, "items": items})
        .to_string()
}

/// The one target of a spec whose target has `expect` (YAML, indented for a target).
fn target(expect: &str) -> Target {
    let text = format!(
        "name: bench\ntargets:\n  - name: t\n    url: http://127.0.0.1/x\n    expect:\n{expect}"
    );
    let sources = [Source {
        name: "bench.yaml".into(),
        text,
    }];
    let config = spec::load_sources(&sources, &spec::process_env)
        .unwrap_or_else(|d| panic!("the benchmark spec does not load:\n{d}"));
    config
        .targets()
        .next()
        .cloned()
        .expect("the benchmark spec has a target")
}

/// A 200 response with `body` and `content_type`, as the fetcher would hand it over.
fn response(body: String, content_type: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Response {
        status: 200,
        headers,
        body: Bytes::from(body),
        final_url: Url::parse("http://127.0.0.1/x").expect("a valid URL"),
        duration: Duration::from_millis(3),
        tls_not_after: None,
        first_redirect: None,
    }
}

/// The three assertions of workload W2: a count, a text check, an attribute check.
const HTML_EXPECT: &str = "      html:
        - css: \"ul.products > li\"
          count: 30
        - css: h1
          text: {contains: Shop}
        - css: a.logo
          attr: {href: /}
";

/// The five JSONPath checks of workload W3.
const JSON_EXPECT: &str = "      json:
        - path: $.status
          value: ok
        - path: $.items
          value: {type: array, length: {min: 1}}
        - path: $.db.latency_ms
          value: {lt: 100}
        - path: $.items[*].price
          value: {type: number, gt: 0}
        - path: $.error
          count: 0
";

fn html(c: &mut Criterion) {
    let target = target(HTML_EXPECT);
    let body = page(7, 1000);
    let response = response(body.clone(), "text/html; charset=utf-8");
    let ev = evaluate(&target.expect, &target.extract, &response);
    assert!(
        ev.failures.is_empty() && ev.error.is_none(),
        "the benchmark page must pass: {ev:?}"
    );

    let mut g = c.benchmark_group("html_40k");
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate_3_assertions", |b| {
        b.iter(|| evaluate(&target.expect, &target.extract, black_box(&response)));
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| scraper::Html::parse_document(black_box(&body)));
    });
    g.finish();
}

fn json(c: &mut Criterion) {
    let target = target(JSON_EXPECT);
    let body = doc(7);
    let response = response(body.clone(), "application/json");
    let ev = evaluate(&target.expect, &target.extract, &response);
    assert!(
        ev.failures.is_empty() && ev.error.is_none(),
        "the benchmark document must pass: {ev:?}"
    );

    let mut g = c.benchmark_group("json_5k");
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate_5_checks", |b| {
        b.iter(|| evaluate(&target.expect, &target.extract, black_box(&response)));
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&body)));
    });
    g.finish();
}

criterion_group!(benches, html, json);
criterion_main!(benches);
