//! What the fuzz targets share: the environment the loaders see, the properties every loader
//! answer must have, and the fixed targets whose expectations the evaluator targets run.
//!
//! A fuzz target panics on purpose when a property fails: libFuzzer then saves the input.

use std::time::Duration;

use bytes::Bytes;
use dcrawl::evaluate::{Engine, Evaluation, Options, evaluate_with};
use dcrawl::fetch::Response;
use dcrawl::model::{Config, CssSelector, Target};
use dcrawl::spec::{Diagnostics, Source, load_sources};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

/// The value of `${TOKEN}`: a secret that no diagnostic may print back.
pub const SECRET: &str = "hunter2-fuzz-secret";

/// The environment of every loader target.
pub fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" | "SMTP_PASSWORD" => Some(SECRET.to_string()),
        "PORT" => Some("8080".to_string()),
        "URL" => Some("http://127.0.0.1:8080".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// Input bytes as the loaders see a file: `read_to_string` rejects invalid UTF-8 before any
/// YAML is parsed, so a lossy conversion keeps the fuzzer's mutations useful.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Line breaks as YAML counts them (`\r\n`, `\r`, `\n`), plus the Unicode ones for slack.
fn lines_and_width(text: &str) -> (usize, usize) {
    let (mut lines, mut width, mut col) = (1, 0, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            lines += 1;
            col = 0;
        } else {
            col += 1;
            width = width.max(col);
        }
    }
    (lines, width)
}

/// What every rejected file's diagnostics must be: at least one; each names the file, points
/// inside it (1-based, at most one past the last line or the longest line's end), is one
/// non-empty line, and never prints the secret back (unless the file itself holds it).
pub fn check_diagnostics(name: &str, text: &str, diags: &Diagnostics) {
    assert!(!diags.is_empty(), "rejected without a diagnostic");
    let (lines, width) = lines_and_width(text);
    for d in &diags.0 {
        assert_eq!(d.file, name, "{d}");
        assert!(
            d.line >= 1 && d.line <= lines + 1,
            "line outside the file: {d}"
        );
        assert!(
            d.column >= 1 && d.column <= width + 1,
            "column outside the file: {d}"
        );
        assert!(!d.message.trim().is_empty(), "empty message: {d}");
        let shown = d.to_string();
        assert!(
            !shown.contains(['\n', '\r']),
            "printed on several lines: {d:?}"
        );
        assert!(
            !d.message.contains(SECRET) || text.contains(SECRET),
            "secret printed: {d}"
        );
    }
}

/// Load a fixed spec (the evaluator targets' expectations); it must load.
pub fn fixed_config(yaml: &str) -> Config {
    let source = Source {
        name: "fixed.yaml".into(),
        text: yaml.into(),
    };
    match load_sources(&[source], &env) {
        Ok(config) => config,
        Err(d) => panic!("the fixed spec does not load:\n{d}"),
    }
}

/// The target named `name` of `config`.
pub fn target<'c>(config: &'c Config, name: &str) -> &'c Target {
    match config.targets().find(|t| t.name == name) {
        Some(t) => t,
        None => panic!("no target {name}"),
    }
}

/// Other `Content-Type`s a response may be sent with: a first input byte below their number
/// picks one (and is not part of the body), so text seeds are used as they are.
const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("text/html"),
    Some("text/html; charset=iso-8859-1"),
    Some("text/html; charset=shift_jis"),
    Some("text/html; charset=utf-16le"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain; charset=bogus"),
    Some("application/octet-stream"),
];

/// A 200 response with `data` as its body, sent as `content_type` unless the first byte picks
/// another (see [`CONTENT_TYPES`]).
pub fn response(data: &[u8], content_type: &'static str) -> Response {
    let (content_type, body) = match data.split_first() {
        Some((&b, rest)) if usize::from(b) < CONTENT_TYPES.len() => {
            (CONTENT_TYPES[usize::from(b)], rest)
        }
        _ => (Some(content_type), data),
    };
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    Response {
        status: 200,
        headers,
        body: Bytes::copy_from_slice(body),
        final_url: url::Url::parse("http://127.0.0.1:8080/page").unwrap_or_else(|e| panic!("{e}")),
        duration: Duration::from_millis(5),
        tls_not_after: None,
        first_redirect: None,
    }
}

/// Evaluate `target`'s expectations and extractions on `response` with `engine`, collecting
/// the links of `follow` when given.
pub fn evaluate(
    target: &Target,
    response: &Response,
    engine: Engine,
    follow: Option<&CssSelector>,
) -> Evaluation {
    let options = Options { engine, follow };
    evaluate_with(&target.expect, &target.extract, response, options)
}
