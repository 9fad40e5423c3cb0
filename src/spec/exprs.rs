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
        .map_err(|e| format!("invalid CSS selector {source:?}: {e}"))
}

/// Compile an RFC 9535 JSONPath query.
pub fn compile_jsonpath(source: &str) -> Result<JsonPathExpr, String> {
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
        assert!(
            compile_css("ul >> li")
                .unwrap_err()
                .contains("invalid CSS selector")
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
