//! HTML assertions: counts, text and attribute checks, all/any, broken markup.

use serde_json::json;

use super::*;
use crate::model::exprs::{compile_css, compile_regex};
use crate::model::{Check, CheckOp, CountRange, MatchMode, Severity};

const SHOP: &str = r#"<!doctype html><html><head><title>Shop</title></head><body>
<h1>  Welcome
   to <em>our</em>&nbsp;store </h1>
<a class="logo" href="/home">Logo</a>
<ul class="products">
  <li><span class="price">$12.99</span></li>
  <li><span class="price">$3.50</span></li>
  <li><span class="price">call us</span></li>
</ul>
</body></html>"#;

fn assertion(css: &str) -> HtmlAssertion {
    HtmlAssertion {
        id: "html[0]".to_string(),
        css: compile_css(css).unwrap(),
        count: CountRange {
            min: Some(1),
            max: None,
        },
        text: None,
        attrs: Vec::new(),
        mode: MatchMode::All,
        severity: Severity::Failure,
    }
}

fn one(op: CheckOp) -> Check {
    Check { ops: vec![op] }
}

/// Run `a` on `page` by the DOM path, and by the streaming path when it takes the page: both
/// must give the same answer.
fn run_on(page: &str, a: &HtmlAssertion) -> Option<String> {
    let doc = Html::parse_document(page);
    let dom = assert(a, View::Dom(&doc), &mut String::new());
    if let Some(fast) = a.css.fast.as_deref() {
        let query = super::super::stream::Query {
            css: fast,
            text: a.text.is_some(),
            attrs: a.attrs.iter().map(|(n, _)| n.clone()).collect(),
        };
        if let Ok(found) = super::super::stream::run(page, &[query]) {
            let streamed = assert(a, View::Stream(&found[0]), &mut String::new());
            assert_eq!(dom, streamed, "the two HTML paths disagree on {page}");
        }
    }
    dom.map(|f| {
        assert_eq!(f.assertion, a.id);
        f.message
    })
}

#[test]
fn text_is_collapsed_and_trimmed() {
    let doc = Html::parse_document(SHOP);
    let h1 = doc
        .select(&compile_css("h1").unwrap().selector)
        .next()
        .unwrap();
    let mut buf = String::from("left over");
    element_text(h1, &mut buf);
    assert_eq!(buf, "Welcome to our store");
    let doc = Html::parse_document("<p><b>a</b>b <i> c </i></p>");
    let p = doc
        .select(&compile_css("p").unwrap().selector)
        .next()
        .unwrap();
    element_text(p, &mut buf);
    assert_eq!(buf, "ab c");
}

#[test]
fn count_ranges() {
    let mut a = assertion("ul.products > li");
    assert_eq!(run_on(SHOP, &a), None);
    a.count = CountRange {
        min: Some(10),
        max: None,
    };
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"html[0] "ul.products > li": expected count >= 10, found 3"#
    );
    let mut banner = assertion(".error-banner");
    banner.count = CountRange::exactly(0);
    assert_eq!(run_on(SHOP, &banner), None);
    let mut h1 = assertion("h1");
    h1.count = CountRange::exactly(0);
    assert_eq!(
        run_on(SHOP, &h1).unwrap(),
        r#"html[0] "h1": expected count 0, found 1"#
    );
    let missing = assertion("span.price-tag");
    assert_eq!(
        run_on(SHOP, &missing).unwrap(),
        r#"html[0] "span.price-tag": expected count >= 1, found 0"#
    );
}

#[test]
fn text_check_on_a_single_match() {
    let mut a = assertion("h1");
    a.id = "html[1]".to_string();
    a.text = Some(one(CheckOp::Contains("store".into())));
    assert_eq!(run_on(SHOP, &a), None);
    a.text = Some(one(CheckOp::Contains("Shop".into())));
    assert_eq!(
        run_on("<h1>Welcome</h1>", &a).unwrap(),
        r#"html[1] "h1": expected text to contain "Shop", found "Welcome""#
    );
}

#[test]
fn attribute_checks_and_missing_attributes() {
    let mut a = assertion("a.logo");
    a.attrs = vec![("href".into(), one(CheckOp::Equals(json!("/"))))];
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"html[0] "a.logo": expected attribute href to equal "/", found "/home""#
    );
    a.attrs = vec![("href".into(), one(CheckOp::Equals(json!("/home"))))];
    assert_eq!(run_on(SHOP, &a), None);
    a.attrs = vec![("title".into(), one(CheckOp::Exists(true)))];
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"html[0] "a.logo": expected attribute title to exist, but it is absent"#
    );
    a.attrs = vec![("target".into(), one(CheckOp::Exists(false)))];
    assert_eq!(run_on(SHOP, &a), None);
}

#[test]
fn match_all_reports_the_first_failing_match_and_how_many_failed() {
    let mut a = assertion("span.price");
    a.id = "prices-formatted".to_string();
    a.text = Some(one(CheckOp::Matches(
        compile_regex(r"^\$\d+\.\d\d$").unwrap(),
    )));
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"prices-formatted "span.price": expected text to match /^\$\d+\.\d\d$/, found "call us" at match 3 (1 of 3 failed)"#
    );
    a.text = Some(one(CheckOp::Contains("$1".into())));
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"prices-formatted "span.price": expected text to contain "$1", found "$3.50" at match 2 (2 of 3 failed)"#
    );
}

#[test]
fn match_any_needs_one_passing_match() {
    let mut a = assertion("span.price");
    a.mode = MatchMode::Any;
    a.text = Some(one(CheckOp::Contains("call".into())));
    assert_eq!(run_on(SHOP, &a), None);
    a.text = Some(one(CheckOp::Contains("free".into())));
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"html[0] "span.price": none of 3 matches passed; at match 1: expected text to contain "free", found "$12.99""#
    );
}

#[test]
fn checks_are_vacuous_when_nothing_may_match() {
    for mode in [MatchMode::All, MatchMode::Any] {
        let mut a = assertion(".error-banner");
        a.count = CountRange::exactly(0);
        a.mode = mode;
        a.text = Some(one(CheckOp::Contains("x".into())));
        assert_eq!(run_on(SHOP, &a), None);
    }
}

#[test]
fn broken_html_is_recovered_like_a_browser() {
    // Implied end tags, an unclosed list, stray closing tags.
    let broken = "<ul class=products><li>one<li>two<li>three</div></ul><p>after";
    let mut a = assertion("ul.products > li");
    a.count = CountRange::exactly(3);
    assert_eq!(run_on(broken, &a), None);
    let mut last = assertion("li:last-child");
    last.text = Some(one(CheckOp::Equals(json!("three"))));
    assert_eq!(run_on(broken, &last), None);
    let mut p = assertion("p");
    p.text = Some(one(CheckOp::Equals(json!("after"))));
    assert_eq!(run_on(broken, &p), None);
    // Nested anchors are split as browsers do.
    let mut anchors = assertion("a");
    anchors.count = CountRange::exactly(2);
    assert_eq!(run_on("<a>A<a>B", &anchors), None);
}

#[test]
fn text_and_attr_checks_together() {
    let mut a = assertion("a.logo");
    a.text = Some(one(CheckOp::Equals(json!("Logo"))));
    a.attrs = vec![("href".into(), one(CheckOp::Contains("home".into())))];
    assert_eq!(run_on(SHOP, &a), None);
    a.attrs
        .push(("class".into(), one(CheckOp::Equals(json!("brand")))));
    assert_eq!(
        run_on(SHOP, &a).unwrap(),
        r#"html[0] "a.logo": expected attribute class to equal "brand", found "logo""#
    );
}
