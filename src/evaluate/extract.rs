//! Extraction: numbers taken from the parsed page or JSON document.

use std::borrow::Cow;

use serde_json::Value;

use super::check::{parse_number, regex};
use super::html::{View, collapse_into, element_text};
use super::json::query;
use super::show;
use crate::model::{Extract, ExtractSource};

/// Extract one value. `None` when the document it needs is unavailable (the body could not
/// be decoded, which is reported once as the evaluation's error); `Err` says why not.
pub(super) fn extract<'d>(
    ex: &Extract,
    html: Option<View<'d>>,
    json: Option<&'d Value>,
) -> Option<Result<f64, String>> {
    let raw: Result<Cow<'d, str>, String> = match &ex.source {
        ExtractSource::CssCount(css) => {
            let n = match html? {
                View::Dom(doc) => doc.select(&css.selector).count(),
                View::Stream(found) => found.count,
            };
            if ex.regex.is_none() {
                return Some(Ok(n as f64));
            }
            Ok(Cow::Owned(n.to_string()))
        }
        ExtractSource::CssText(css) => {
            let mut text = String::new();
            let found = match html? {
                View::Dom(doc) => doc
                    .select(&css.selector)
                    .next()
                    .map(|el| element_text(el, &mut text)),
                View::Stream(found) => found
                    .items
                    .first()
                    .map(|item| collapse_into([item.text.as_str()], &mut text)),
            };
            match found {
                Some(()) => Ok(Cow::Owned(text)),
                None => Err(format!("no match for {:?}", css.source)),
            }
        }
        ExtractSource::CssAttr(css, name) => {
            let first: Option<Option<Cow<'d, str>>> = match html? {
                View::Dom(doc) => doc
                    .select(&css.selector)
                    .next()
                    .map(|el| el.value().attr(name).map(Cow::Borrowed)),
                View::Stream(found) => found.items.first().map(|item| {
                    item.attrs
                        .first()
                        .and_then(|v| v.as_deref())
                        .map(|v| Cow::Owned(v.to_string()))
                }),
            };
            match first {
                Some(Some(v)) => Ok(v),
                Some(None) => Err(format!(
                    "{:?} matched but has no attribute {name:?}",
                    css.source
                )),
                None => Err(format!("no match for {:?}", css.source)),
            }
        }
        ExtractSource::Json(path) => match query(path, json?).first() {
            Some(Value::Number(n)) if ex.regex.is_none() => {
                return Some(n.as_f64().ok_or_else(|| format!("{n} is not a number")));
            }
            Some(Value::Number(n)) => Ok(Cow::Owned(n.to_string())),
            Some(Value::String(s)) => Ok(Cow::Borrowed(s.as_str())),
            Some(other) => Err(format!("{} is not a number", show::json(other))),
            None => Err(format!("no match for {:?}", path.source)),
        },
    };
    Some(raw.and_then(|text| number(ex, &text)))
}

/// Apply the optional regex (group 1, or the whole match without groups) and parse a number.
fn number(ex: &Extract, text: &str) -> Result<f64, String> {
    let picked = match &ex.regex {
        None => text,
        Some(re) => {
            let caps = re.captures(text).ok_or_else(|| {
                format!("regex {} does not match {}", regex(re), show::quote(text))
            })?;
            let group = if re.captures_len() > 1 { 1 } else { 0 };
            caps.get(group).map(|m| m.as_str()).ok_or_else(|| {
                format!(
                    "regex {} matched {} but its group 1 took no part",
                    regex(re),
                    show::quote(text)
                )
            })?
        }
    };
    parse_number(picked).ok_or_else(|| format!("{} is not a number", show::quote(picked)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exprs::{compile_css, compile_jsonpath, compile_regex};
    use scraper::Html;
    use serde_json::json;

    fn ex(source: ExtractSource, regex: Option<&str>) -> Extract {
        Extract {
            name: "x".to_string(),
            source,
            regex: regex.map(|r| compile_regex(r).unwrap()),
        }
    }

    fn css(s: &str) -> crate::model::CssSelector {
        compile_css(s).unwrap()
    }

    const PAGE: &str = r#"<ul class="products">
        <li><span class="price" data-cents="1299">  $12.99 </span></li>
        <li><span class="price" data-cents="abc">$1,299.00</span></li>
        <li><span class="price">  </span></li>
    </ul><p id="n">+42</p><p id="stock">In stock: 17 items</p>"#;

    fn on_page(e: &Extract) -> Result<f64, String> {
        let doc = Html::parse_document(PAGE);
        extract(e, Some(View::Dom(&doc)), None).unwrap()
    }

    #[test]
    fn css_count_text_and_attr() {
        assert_eq!(
            on_page(&ex(ExtractSource::CssCount(css("ul.products > li")), None)),
            Ok(3.0)
        );
        assert_eq!(
            on_page(&ex(ExtractSource::CssCount(css("table")), None)),
            Ok(0.0)
        );
        assert_eq!(
            on_page(&ex(ExtractSource::CssText(css("#n")), None)),
            Ok(42.0)
        );
        let cents = ExtractSource::CssAttr(css("span.price"), "data-cents".into());
        assert_eq!(on_page(&ex(cents, None)), Ok(1299.0));
    }

    #[test]
    fn regex_takes_group_one_or_the_whole_match() {
        let price = ex(
            ExtractSource::CssText(css("span.price")),
            Some(r"\$([0-9]+\.[0-9]+)"),
        );
        assert_eq!(on_page(&price), Ok(12.99));
        let whole = ex(ExtractSource::CssText(css("#stock")), Some(r"\d+"));
        assert_eq!(on_page(&whole), Ok(17.0));
        let count = ex(ExtractSource::CssCount(css("li")), Some(r"^(\d)$"));
        assert_eq!(on_page(&count), Ok(3.0));
    }

    #[test]
    fn failures_say_why() {
        assert_eq!(
            on_page(&ex(ExtractSource::CssText(css("span.cost")), None)),
            Err(r#"no match for "span.cost""#.to_string())
        );
        assert_eq!(
            on_page(&ex(ExtractSource::CssText(css("#stock")), None)),
            Err(r#""In stock: 17 items" is not a number"#.to_string())
        );
        assert_eq!(
            on_page(&ex(
                ExtractSource::CssAttr(css("#n"), "data-x".into()),
                None
            )),
            Err(r##""#n" matched but has no attribute "data-x""##.to_string())
        );
        assert_eq!(
            on_page(&ex(
                ExtractSource::CssText(css("#stock")),
                Some(r"price (\d+)")
            )),
            Err(r#"regex /price (\d+)/ does not match "In stock: 17 items""#.to_string())
        );
        assert_eq!(
            on_page(&ex(ExtractSource::CssText(css("#stock")), Some(r"(x)?\d+"))),
            Err(
                r#"regex /(x)?\d+/ matched "In stock: 17 items" but its group 1 took no part"#
                    .to_string()
            )
        );
        // Thousands separators are not removed.
        let second = ex(
            ExtractSource::CssText(css("li:nth-child(2) span")),
            Some(r"\$(.*)"),
        );
        assert_eq!(
            on_page(&second),
            Err(r#""1,299.00" is not a number"#.to_string())
        );
        // Empty text after collapsing whitespace.
        assert_eq!(
            on_page(&ex(
                ExtractSource::CssText(css("li:nth-child(3) span")),
                None
            )),
            Err(r#""" is not a number"#.to_string())
        );
    }

    #[test]
    fn json_number_or_numeric_string() {
        let doc = json!({"queue": {"depth": 17, "lag": " -2.5 ", "name": "q", "ok": true}, "items": [3, 4]});
        let at = |p: &str, re: Option<&str>| {
            extract(
                &ex(ExtractSource::Json(compile_jsonpath(p).unwrap()), re),
                None,
                Some(&doc),
            )
            .unwrap()
        };
        assert_eq!(at("$.queue.depth", None), Ok(17.0));
        assert_eq!(at("$.queue.lag", None), Ok(-2.5));
        assert_eq!(at("$.items[*]", None), Ok(3.0));
        assert_eq!(at("$.queue.depth", Some("^(\\d)")), Ok(1.0));
        assert_eq!(
            at("$.queue.name", None),
            Err(r#""q" is not a number"#.to_string())
        );
        assert_eq!(
            at("$.queue.ok", None),
            Err("true is not a number".to_string())
        );
        assert_eq!(
            at("$.queue", None),
            Err(r#"{"depth":17,"lag":" -2.5 ","name":"q","ok":true} is not a number"#.to_string())
        );
        assert_eq!(
            at("$.missing", None),
            Err(r#"no match for "$.missing""#.to_string())
        );
    }

    #[test]
    fn skipped_without_its_document() {
        let e = ex(ExtractSource::CssCount(css("li")), None);
        assert!(extract(&e, None, None).is_none());
        let j = ex(ExtractSource::Json(compile_jsonpath("$.a").unwrap()), None);
        assert!(extract(&j, None, None).is_none());
    }
}
