//! Arbitrary bytes as a response body, evaluated against fixed CSS assertions, extractions and
//! a crawl's link selector on every HTML path (auto, DOM only, streaming only): no panic, no
//! hang, no unbounded allocation.
#![no_main]

use std::sync::LazyLock;

use dcrawl::evaluate::Engine;
use dcrawl::model::{Config, CssSelector};
use dcrawl::spec::exprs::compile_css;
use dcrawl_fuzz::{evaluate, fixed_config, response, target};
use libfuzzer_sys::fuzz_target;

/// `stream`: selectors the streaming path can answer; `dom`: some it cannot (`+`, `~`,
/// `:last-child`, `:has`, ...), so the page always goes to the DOM.
const SPEC: &str = r#"
name: fuzz
targets:
  - name: stream
    url: http://127.0.0.1:8080/page
    expect:
      body: [{not_contains: Exception}, {not_matches: '(?i)stack\s+trace'}]
      html:
        - css: "ul.products > li"
          count: {min: 1, max: 500}
        - css: "span.price"
          text: {matches: '^\$\d+\.\d\d$'}
          match: any
        - css: h1
          text: {contains: Shop, length: {min: 2, max: 80}}
        - css: a.logo
          attr: {href: /}
        - css: "nav a"
          attr: {href: {matches: '^/', not_contains: "javascript:"}}
        - css: .error-banner
          count: 0
        - css: "li:nth-child(2n+1) a[data-id]"
          attr: {data-id: {ge: 0, lt: 1000000}}
        - css: "p:not(.x) b, i, em"
          text: {not_equals: "", one_of: [a, b, "1.5"]}
          match: any
        - css: "title"
          text: {empty: false, not_matches: '^\s*$'}
        - css: "*"
          count: {min: 0}
        - css: "div#main [class~=card][data-x^=a]"
          attr: {title: {exists: true}, data-x: {contains: b}}
    extract:
      - name: items
        css: "ul.products > li"
      - name: price
        css: span.price
        text: true
        regex: '([0-9]+\.[0-9]+)'
      - name: first_id
        css: "li a"
        attr: data-id
  - name: dom
    url: http://127.0.0.1:8080/page
    expect:
      html:
        - css: "li + li"
          count: {max: 1000}
        - css: "td:last-child"
          text: {not_contains: error}
        - css: "div:has(> span.price)"
          count: {min: 1}
        - css: "h2 ~ p:only-child"
          text: {length: {max: 10}}
        - css: ":root > body:empty"
          count: 0
    extract:
      - name: rows
        css: "tr:nth-last-child(1) td"
"#;

static CONFIG: LazyLock<Config> = LazyLock::new(|| fixed_config(SPEC));
static FOLLOW: LazyLock<CssSelector> = LazyLock::new(|| match compile_css("a[href], area[href]") {
    Ok(css) => css,
    Err(e) => panic!("{e}"),
});

fuzz_target!(|data: &[u8]| {
    let response = response(data, "text/html; charset=utf-8");
    let stream = target(&CONFIG, "stream");
    for engine in [Engine::Auto, Engine::Dom, Engine::Stream] {
        let ev = evaluate(stream, &response, engine, Some(&FOLLOW));
        if ev.error.is_none() {
            assert!(ev.html_path.is_some(), "an HTML page without a path");
        }
    }
    let dom = target(&CONFIG, "dom");
    let _ = evaluate(dom, &response, Engine::Auto, None);
});
