//! Compiling the expression languages embedded in specs: CSS selectors, JSONPath, regexes.
//! Validation calls these once; the engine only runs the compiled forms.

use regex::Regex;

use std::sync::Arc;

use crate::model::{CssSelector, FastCss, JsonPathExpr};

/// Compile a CSS selector (as scraper/selectors understand it), and for the streaming path
/// too when it can take it.
pub fn compile_css(source: &str) -> Result<CssSelector, String> {
    scraper::Selector::parse(source)
        .map(|selector| CssSelector {
            source: source.to_string(),
            selector: Arc::new(selector),
            fast: fast_css(source).map(Arc::new),
        })
        .map_err(|e| format!("invalid CSS selector {source:?}: {}", css_reason(&e)))
}

/// A one-line reason; scraper renders some errors as "please report" plus a Debug dump.
fn css_reason(e: &scraper::error::SelectorErrorKind) -> String {
    match e {
        scraper::error::SelectorErrorKind::UnexpectedSelectorParseError(kind) => {
            let debug = format!("{kind:?}");
            let variant = debug.split('(').next().unwrap_or("");
            let mut words = String::new();
            for c in variant.chars() {
                if c.is_ascii_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.push(c.to_ascii_lowercase());
            }
            if words.is_empty() {
                "unsupported selector".to_string()
            } else {
                words
            }
        }
        other => one_line(&other.to_string()).to_lowercase(),
    }
}

/// Compile an RFC 9535 JSONPath query.
pub fn compile_jsonpath(source: &str) -> Result<JsonPathExpr, String> {
    if !source.trim_start().starts_with('$') {
        return Err(format!(
            "invalid JSONPath {source:?}: a query starts with `$` (e.g. $.items[*])"
        ));
    }
    serde_json_path::JsonPath::parse(source)
        .map(|path| JsonPathExpr {
            source: source.to_string(),
            path: Arc::new(path),
        })
        .map_err(|e| {
            format!(
                "invalid JSONPath {source:?}: {} at offset {}",
                e.message(),
                e.position()
            )
        })
}

/// Compile a regex, bounding its compiled size so a hostile pattern cannot exhaust memory.
pub fn compile_regex(source: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(source)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regex {source:?}: {}", one_line(&e.to_string())))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_and_rejects() {
        assert!(compile_css("ul.products > li").is_ok());
        let err = compile_css("ul >> li").unwrap_err();
        assert!(err.contains("invalid CSS selector"), "{err}");
        assert!(!err.contains('\n') && !err.contains("report"), "{err}");
        assert!(
            compile_jsonpath("items")
                .unwrap_err()
                .contains("starts with `$`")
        );
        assert!(compile_jsonpath("$.items[*].price").is_ok());
        assert!(
            compile_jsonpath("$.items[")
                .unwrap_err()
                .contains("invalid JSONPath")
        );
        assert!(compile_regex(r"^\$\d+\.\d\d$").is_ok());
        assert!(compile_regex("(").unwrap_err().contains("invalid regex"));
    }
}

/// Attributes whose values selectors match case-insensitively on HTML elements (Selectors 4,
/// HTML "case-sensitivity of selectors"); the streaming path leaves them to the DOM path.
const CASE_INSENSITIVE_ATTRS: &[&str] = &[
    "accept",
    "accept-charset",
    "align",
    "alink",
    "axis",
    "bgcolor",
    "charset",
    "checked",
    "clear",
    "codetype",
    "color",
    "compact",
    "declare",
    "defer",
    "dir",
    "direction",
    "disabled",
    "enctype",
    "face",
    "frame",
    "hreflang",
    "http-equiv",
    "lang",
    "language",
    "link",
    "media",
    "method",
    "multiple",
    "nohref",
    "noresize",
    "noshade",
    "nowrap",
    "readonly",
    "rel",
    "rev",
    "rules",
    "scope",
    "scrolling",
    "selected",
    "shape",
    "target",
    "text",
    "type",
    "valign",
    "valuetype",
    "vlink",
];

/// The streaming form of a selector, when `lol_html` parses it and a conservative scan finds
/// nothing whose meaning could differ from the DOM path's.
fn fast_css(source: &str) -> Option<FastCss> {
    let selector: lol_html::Selector = source.parse().ok()?;
    let mut tested: Vec<String> = Vec::new();
    let mut local = true;
    for part in split_top(source, ',') {
        let part = part.trim();
        let chars: Vec<char> = part.chars().collect();
        let mut i = 0;
        let mut depth = 0usize;
        let type_name: String = chars
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if part.starts_with('*') || matches!(type_name.as_str(), "html" | "head" | "body") {
            local = false;
        }
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' => return None,
                '[' => {
                    let close = chars[i..].iter().position(|c| *c == ']')? + i;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let name: String = inner
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                        .collect::<String>()
                        .to_ascii_lowercase();
                    if inner.contains('=') {
                        let value = inner.split('=').nth(1).unwrap_or_default().trim();
                        if CASE_INSENSITIVE_ATTRS.contains(&name.as_str()) || value.contains(' ') {
                            return None;
                        }
                    }
                    tested.push(name);
                    i = close;
                }
                '.' => tested.push("class".into()),
                '#' => tested.push("id".into()),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ':' => local = false,
                '>' | '+' | '~' => local = false,
                c if c.is_whitespace() && depth == 0 => local = false,
                _ => {}
            }
            i += 1;
        }
    }
    tested.sort();
    tested.dedup();
    Some(FastCss {
        selector,
        local,
        tested_attrs: tested,
    })
}

/// `s` split at `sep` outside brackets and parentheses.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod fast_tests {
    use super::*;

    fn fast(s: &str) -> Option<(bool, Vec<String>)> {
        fast_css(s).map(|f| (f.local, f.tested_attrs))
    }

    #[test]
    fn local_selectors_and_tested_attributes() {
        assert_eq!(fast("span.price"), Some((true, vec!["class".into()])));
        assert_eq!(
            fast("a[href], #main"),
            Some((true, vec!["href".into(), "id".into()]))
        );
        assert_eq!(
            fast("ul.products > li"),
            Some((false, vec!["class".into()]))
        );
        assert_eq!(fast("nav a"), Some((false, vec![])));
        assert_eq!(fast("li:nth-child(2)"), Some((false, vec![])));
        assert_eq!(fast("body"), Some((false, vec![])));
        assert_eq!(fast("*"), Some((false, vec![])));
    }

    #[test]
    fn what_could_differ_stays_on_the_dom_path() {
        assert!(fast_css("input[type=password]").is_none());
        assert!(fast_css("a[title=\"a b\"]").is_none());
        assert_eq!(fast("a[href^=\"/\"]"), Some((true, vec!["href".into()])));
        assert!(fast_css("li:last-child").is_none());
        assert!(fast_css("a:has(img)").is_none());
        assert!(fast_css("p + p").is_none());
    }
}
