//! The two HTML paths must agree: whenever the streaming path answers a page (arbitrary bytes
//! here), its failures, extracted values and links must equal the DOM path's.
#![no_main]

use std::sync::LazyLock;

use dcrawl::evaluate::{Engine, HtmlPath};
use dcrawl::model::{Config, CssSelector};
use dcrawl::spec::exprs::compile_css;
use dcrawl_fuzz::{evaluate, fixed_config, response, target};
use libfuzzer_sys::fuzz_target;

/// Selectors the streaming path takes, with text and attribute checks that expose what each
/// path found (count, first failing match's text or attribute).
const SPEC: &str = r#"
name: fuzz
targets:
  - name: paths
    url: http://127.0.0.1:8080/page
    expect:
      html:
        - css: li
          text: {equals: "?"}
        - css: "ul > li a"
          attr: {href: "?", class: "?"}
        - css: p
          text: {equals: "?"}
        - css: "div.a, span#b"
          text: {equals: "?"}
        - css: "td"
          count: 0
        - css: "b:nth-child(2)"
          count: 0
        - css: "title"
          text: {equals: "?"}
        - css: "body *"
          count: 0
        - css: "[data-x]"
          attr: {data-x: "?"}
    extract:
      - name: first_li
        css: li
        text: true
      - name: anchors
        css: a
"#;

static CONFIG: LazyLock<Config> = LazyLock::new(|| fixed_config(SPEC));
static FOLLOW: LazyLock<CssSelector> = LazyLock::new(|| match compile_css("a[href]") {
    Ok(css) => css,
    Err(e) => panic!("{e}"),
});

fuzz_target!(|data: &[u8]| {
    let response = response(data, "text/html; charset=utf-8");
    let t = target(&CONFIG, "paths");
    let fast = evaluate(t, &response, Engine::Auto, Some(&FOLLOW));
    if fast.html_path != Some(HtmlPath::Stream) {
        return;
    }
    let dom = evaluate(t, &response, Engine::Dom, Some(&FOLLOW));
    assert_eq!(fast.failures, dom.failures, "failures differ by HTML path");
    assert_eq!(
        fast.extracted, dom.extracted,
        "extracted values differ by HTML path"
    );
    assert_eq!(fast.links, dom.links, "links differ by HTML path");
});
