//! Compiling the expression languages embedded in specs: CSS selectors, JSONPath, regexes.
//! Validation calls these once; the engine only runs the compiled forms.

use regex::Regex;

use crate::model::{CssSelector, JsonPathExpr};

/// Compile a CSS selector (as scraper/selectors understand it).
pub fn compile_css(source: &str) -> Result<CssSelector, String> {
    scraper::Selector::parse(source)
        .map(|selector| CssSelector {
            source: source.to_string(),
            selector,
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
            path,
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
