use super::*;
use crate::model::exprs::compile_css;

fn css(s: &str) -> crate::model::CssSelector {
    compile_css(s).unwrap()
}

/// Stream `html` for `(selector, text, attrs)` queries.
fn stream(html: &str, queries: &[(&str, bool, &[&str])]) -> Result<Vec<Found>, &'static str> {
    let compiled: Vec<(crate::model::CssSelector, Vec<String>)> = queries
        .iter()
        .map(|(s, _, a)| (css(s), a.iter().map(|x| x.to_string()).collect()))
        .collect();
    let qs: Vec<Query<'_>> = compiled
        .iter()
        .zip(queries)
        .map(|((c, attrs), (_, text, _))| Query {
            css: c.fast.as_deref().unwrap(),
            text: *text,
            attrs: attrs.clone(),
        })
        .collect();
    run(html, &qs)
}

const PAGE: &str = "<!doctype html><html><head><meta charset=utf-8><title>T &amp; co</title></head>\
<body><ul class=products><li><a href=\"/p/1?a=1&amp;b=2\">One</a> <span class=price>$1.00</span></li>\
<li><a href=\"/p/2\">Two &lt;2&gt;</a> <span class=price>$2.50</span></li></ul>\
<pre>\nkept</pre><p>para<br>graph</p></body></html>";

#[test]
fn counts_texts_and_attributes_of_a_well_formed_page() {
    let got = stream(
        PAGE,
        &[
            ("ul.products > li", false, &[]),
            ("span.price", true, &[]),
            ("li a", true, &["href", "data-x"]),
            ("title", true, &[]),
            ("pre", true, &[]),
            ("p", true, &[]),
        ],
    )
    .unwrap();
    assert_eq!(got[0].count, 2);
    assert!(got[0].items.is_empty());
    let prices: Vec<&str> = got[1].items.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(prices, ["$1.00", "$2.50"]);
    assert_eq!(
        got[2].items[0].attrs,
        [Some("/p/1?a=1&b=2".to_string()), None]
    );
    assert_eq!(got[2].items[1].text, "Two <2>");
    assert_eq!(got[3].items[0].text, "T & co");
    assert_eq!(got[4].items[0].text, "kept");
    assert_eq!(got[5].items[0].text, "paragraph");
}

#[test]
fn nested_matches_each_get_their_text() {
    let got = stream(
        "<!doctype html><div class=x>a<div class=x>b</div>c</div>",
        &[(".x", true, &[])],
    )
    .unwrap();
    let texts: Vec<&str> = got[0].items.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, ["abc", "b"]);
}

#[test]
fn sloppy_markup_is_handed_over() {
    for (html, why) in [
        ("<!doctype html><ul><li>one<li>two</ul>", "<li>"),
        ("<!doctype html><p>a<div>b</div>", "implicitly closes"),
        (
            "<!doctype html><b><i>x</b></i>",
            "another element's end tag",
        ),
        (
            "<!doctype html><b><i>x</b>y</i>z",
            "another element's end tag",
        ),
        (
            "<!doctype html><div><span>x</div></span>",
            "another element's end tag",
        ),
        ("<!doctype html><div><span>x</span>", "never closed"),
        (
            "<!doctype html><table><tr><td>1</td></tr></table>",
            "special",
        ),
        ("<ul><li>x</li></ul>", "doctype"),
        ("<!doctype html><p>x</p></p>", "ignored"),
        ("<!doctype html><h2>A</h3>B</h2>", "ignored"),
        ("<!doctype html><a href=\"/a\0b\">x</a>", "NUL"),
        (
            "<!doctype html><span>&copy 2024</span>",
            "character reference",
        ),
        ("<!doctype html><svg><circle/></svg>", "foreign"),
    ] {
        let got = stream(html, &[("li, span, p, td", true, &[])]).expect_err(html);
        assert!(got.contains(why), "{html}: {got}");
    }
}

#[test]
fn fragments_answer_only_one_element_selectors() {
    let html = "<!doctype html><span class=price>$1</span>";
    assert_eq!(
        stream(html, &[("span.price", false, &[])]).unwrap()[0].count,
        1
    );
    let err = stream(html, &[("div > span", false, &[])]).unwrap_err();
    assert!(err.contains("fragment"), "{err}");
}

#[test]
fn entities_in_tested_attributes_hand_over() {
    let html = "<!doctype html><a class=\"a&#32;b\" href=\"?x=1&amp;y=2\">x</a>";
    assert!(stream(html, &[(".b", false, &[])]).is_err());
    // The same `&` in an attribute no selector tests is fine.
    let got = stream(html, &[("a", false, &["href"])]).unwrap();
    assert_eq!(got[0].items[0].attrs[0].as_deref(), Some("?x=1&y=2"));
}

#[test]
fn end_tags_are_counted() {
    assert_eq!(end_tags("</p></P ></pre></p/><p></ x></3"), 4);
}

#[test]
fn a_deep_page_is_handed_over_without_reading_it_all() {
    let page = format!(
        "<!doctype html><html><head></head><body>{}{}</body></html>",
        "<div>".repeat(200_000),
        "</div>".repeat(200_000)
    );
    let started = std::time::Instant::now();
    assert_eq!(
        stream(&page, &[("div", false, &[])]),
        Err("elements nested too deep")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
