#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bad files and bad bodies: whatever a spec or alert file holds, the loaders either load it or
//! answer with `FILE:LINE:COLUMN` diagnostics that point inside the file, and whatever a
//! response body holds, the evaluators never panic. YAML bombs (aliases, deep nesting) are
//! rejected quickly with a clear error and no stack overflow.
//!
//! `scripts/fuzz` checks the same properties under libFuzzer for longer (`fuzz/`); each of its
//! finds is a regression test here, named after what it found.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dcrawl::evaluate::{Engine, Options, evaluate_with};
use dcrawl::fetch::Response;
use dcrawl::model::Target;
use dcrawl::spec::{Diagnostic, Source, load_sources};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngSeed;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

/// Secrets the examples take from the environment; no diagnostic may print one back.
const SECRETS: &[(&str, &str)] = &[
    ("API_KEY", "key-secret-1"),
    ("TOKEN", "tok-secret-2"),
    ("SMTP_PASSWORD", "smtp-secret-3"),
    ("HOOK_TOKEN", "hook-secret-4"),
];

/// The examples' variables: the secrets above; every other one has a default.
fn env(name: &str) -> Option<String> {
    let secret = SECRETS.iter().find(|(n, _)| *n == name);
    secret.map(|(_, v)| v.to_string())
}

/// Which loader a file goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Spec,
    Alert,
}

/// Load one file; `Err` holds its diagnostics, already checked: each names the file, points
/// inside it and is one non-empty line.
fn load(kind: Kind, text: &str) -> Result<(), Vec<Diagnostic>> {
    let (name, source) = match kind {
        Kind::Spec => ("specs/bad.yaml", "spec"),
        Kind::Alert => ("alerts/bad.yaml", "alert"),
    };
    let sources = [Source {
        name: name.into(),
        text: text.into(),
    }];
    let result = match kind {
        Kind::Spec => load_sources(&sources, &env).map(drop),
        Kind::Alert => dcrawl::alert::config::load_sources(&sources, &env).map(drop),
    };
    let Err(diags) = result else {
        return Ok(());
    };
    assert!(!diags.is_empty(), "{source} rejected without a diagnostic");
    let lines = text.matches('\n').count() + text.matches('\r').count() + 1;
    let width = text.split(['\n', '\r']).map(|l| l.chars().count()).max();
    for d in &diags.0 {
        assert_eq!(d.file, name, "{d}");
        assert!(
            (1..=lines + 1).contains(&d.line),
            "line outside the file: {d}"
        );
        assert!(
            d.column >= 1 && d.column <= width.unwrap_or(0) + 1,
            "column outside: {d}"
        );
        assert!(!d.message.trim().is_empty(), "{d:?}");
        assert_eq!(
            d.to_string().lines().count(),
            1,
            "printed on several lines: {d:?}"
        );
        for (_, secret) in SECRETS {
            assert!(!d.message.contains(secret), "secret printed: {d}");
        }
    }
    Err(diags.0)
}

/// The one diagnostic of a file that must be rejected.
fn only_error(kind: Kind, text: &str) -> String {
    match load(kind, text) {
        Ok(()) => panic!("{kind:?} file should be rejected"),
        Err(d) => {
            assert_eq!(d.len(), 1, "{d:?}");
            d[0].to_string()
        }
    }
}

/// The example files of each kind (they all load: see `example_files_load`).
fn examples(kind: Kind) -> Vec<String> {
    let paths: &[&str] = match kind {
        Kind::Spec => &[
            "specs/shop.yaml",
            "specs/api.yaml",
            "specs/internal.yaml",
            "src/demo/specs/shop.yaml",
            "src/demo/specs/api.yaml",
            "tests/fixtures/specs/valid/full.yaml",
        ],
        Kind::Alert => &[
            "alerts/routes.yaml",
            "src/demo/specs/alerts.yaml",
            "tests/fixtures/alerts/valid/full.yaml",
        ],
    };
    let read = |p: &&str| std::fs::read_to_string(Path::new(p)).unwrap();
    paths.iter().map(read).collect()
}

#[test]
fn example_files_load() {
    // `specs/shop.yaml` depends on a target of `specs/api.yaml`: the example specs load as the
    // set `dcrawl validate --specs specs` reads; every other example loads on its own.
    let together = dcrawl::spec::load_paths(&[std::path::PathBuf::from("specs")], &env);
    assert!(together.is_ok(), "specs/: {:?}", together.err());
    for kind in [Kind::Spec, Kind::Alert] {
        for (i, text) in examples(kind).iter().enumerate() {
            if kind == Kind::Spec && text.contains("depends_on: [api/") {
                continue;
            }
            assert_eq!(load(kind, text), Ok(()), "{kind:?} example {i}");
        }
    }
}

/// What a mutation does to a file's lines.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Indent(Index, usize),
    Insert(Index, Index, &'static str),
    Truncate(Index),
}

/// Everything that breaks YAML or the schema when dropped somewhere.
#[rustfmt::skip]
const INSERTS: &[&str] = &[
    "*a", "&a ", "*undefined", "<<: *a", "!!str ", "!!int ", "!!binary ", "!custom ", "{", "}",
    "[", "]", ":", ": ", "- ", "? ", "\t", "\0", "\u{feff}", "|", ">-", "\"", "'", "#", "---\n",
    "...\n", "%YAML 1.2\n", "~", ".nan", "-.inf", "99999999999999999999999999999", "1e400",
    "-9223372036854775809", "0x7fffffffffffffff", "${", "${TOKEN}", "${UNSET}", "$${", "\r",
    "\u{2028}", "\u{85}", "é", "\\",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<Index>;
    prop_oneof![
        at().prop_map(Mutation::Delete),
        at().prop_map(Mutation::Duplicate),
        (at(), at()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (at(), 0..13usize).prop_map(|(a, n)| Mutation::Indent(a, n)),
        (at(), at(), prop::sample::select(INSERTS)).prop_map(|(a, b, s)| Mutation::Insert(a, b, s)),
        at().prop_map(Mutation::Truncate),
    ]
}

/// Apply `mutations` to `text`'s lines.
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::Delete(i) => drop(lines.remove(i.index(n))),
            Mutation::Duplicate(i) => lines.insert(i.index(n), lines[i.index(n)].clone()),
            Mutation::Swap(i, j) => lines.swap(i.index(n), j.index(n)),
            Mutation::Indent(i, spaces) => {
                let line = &mut lines[i.index(n)];
                *line = format!("{}{}", " ".repeat(*spaces), line.trim_start());
            }
            Mutation::Insert(i, at, s) => {
                let line = &mut lines[i.index(n)];
                let chars: Vec<char> = line.chars().collect();
                let k = at.index(chars.len() + 1);
                *line = chars[..k]
                    .iter()
                    .chain(s.chars().collect::<Vec<_>>().iter())
                    .chain(&chars[k..])
                    .collect();
            }
            Mutation::Truncate(i) => lines.truncate(i.index(n)),
        }
    }
    lines.join("\n") + "\n"
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0xbad_f11e),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn random_bytes_are_loaded_or_diagnosed(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load(Kind::Spec, &text);
        let _ = load(Kind::Alert, &text);
    }

    #[test]
    fn mutated_spec_files_are_loaded_or_diagnosed(
        file in 0..6usize,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = mutate(&examples(Kind::Spec)[file], &mutations);
        let _ = load(Kind::Spec, &text);
    }

    #[test]
    fn mutated_alert_files_are_loaded_or_diagnosed(
        file in 0..3usize,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = mutate(&examples(Kind::Alert)[file], &mutations);
        let _ = load(Kind::Alert, &text);
    }
}

/// A target asking everything of a body: CSS assertions both HTML paths take, some only the
/// DOM takes, JSONPath with filters and descendants, body checks and every kind of extract.
const EVAL_SPEC: &str = r#"
name: bodies
targets:
  - name: stream
    url: http://127.0.0.1/
    expect:
      body: [{not_contains: Exception}, {not_matches: '(?i)stack\s+trace'}]
      html:
        - {css: "ul.products > li", count: {min: 1, max: 50}}
        - {css: span.price, text: {matches: '^\$\d+\.\d\d$'}, match: any}
        - {css: "a.logo, nav a", attr: {href: {matches: '^/', not_contains: "javascript:"}}}
        - {css: "li:nth-child(2n+1) [data-id]", attr: {data-id: {ge: 0}}}
        - {css: "p:not(.x) b", text: {one_of: [a, b], length: {max: 3}}}
        - {css: title, text: {empty: false}}
    extract:
      - {name: items, css: "ul.products > li"}
      - {name: price, css: span.price, text: true, regex: '([0-9]+\.[0-9]+)'}
      - {name: first_id, css: "li a", attr: data-id}
  - name: dom
    url: http://127.0.0.1/
    expect:
      html:
        - {css: "li + li", count: {max: 100}}
        - {css: "td:last-child", text: {not_contains: error}}
        - {css: "div:has(> span)", count: 0}
  - name: json
    url: http://127.0.0.1/
    expect:
      json:
        - {path: $.status, value: ok}
        - {path: $.items, value: {type: array, length: {min: 1}}}
        - {path: "$.items[*].price", value: {type: number, gt: 0}}
        - {path: "$..name", value: {matches: '^[A-Z]'}, match: any}
        - {path: "$.items[?@.price > 10]", count: {max: 5}}
        - {path: "$..[?length(@) > 2]", count: {max: 1000}}
        - {path: $.error, count: 0}
    extract:
      - {name: depth, path: $.queue.depth}
"#;

static EVAL_TARGETS: std::sync::LazyLock<Vec<Target>> = std::sync::LazyLock::new(|| {
    let source = Source {
        name: "bodies.yaml".into(),
        text: EVAL_SPEC.into(),
    };
    let config = load_sources(&[source], &env).unwrap_or_else(|d| panic!("{d}"));
    config.targets().cloned().collect()
});

const CONTENT_TYPES: &[&str] = &[
    "text/html; charset=utf-8",
    "text/html; charset=windows-1252",
    "text/html; charset=utf-16le",
    "application/json",
    "text/plain; charset=nonsense",
];

fn response(content_type: &str, body: &[u8]) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    Response {
        status: 200,
        headers,
        body: Bytes::copy_from_slice(body),
        final_url: "http://127.0.0.1/".parse().unwrap(),
        duration: Duration::from_millis(3),
        tls_not_after: None,
        first_redirect: None,
    }
}

/// Every target of [`EVAL_SPEC`] on `body`, on every HTML path, with links collected.
fn evaluate_everything(content_type: &str, body: &[u8]) {
    let response = response(content_type, body);
    let follow = dcrawl::spec::exprs::compile_css("a[href]").unwrap();
    for target in EVAL_TARGETS.iter() {
        for engine in [Engine::Auto, Engine::Dom, Engine::Stream] {
            let options = Options {
                engine,
                follow: Some(&follow),
            };
            let ev = evaluate_with(&target.expect, &target.extract, &response, options);
            match &ev.error {
                Some(e) => assert!(e.starts_with("undecodable body"), "{e}"),
                None => assert!(ev.html_path.is_some(), "an HTML page that no path answered"),
            }
        }
    }
}

/// Tag soup: the pieces pages are made of, in any order and nesting.
#[rustfmt::skip]
const HTML_PIECES: &[&str] = &[
    "<!doctype html>", "<html>", "</html>", "<body>", "</body>", "<title>", "</title>",
    "<ul class=\"products\">", "</ul>", "<li>", "</li>", "<li data-id=\"7\">", "<a href=\"/p\">",
    "<a class=logo href=javascript:x>", "</a>", "<span class=price>", "</span>", "$1.00", "<p>",
    "</p>", "<b>", "</b>", "<table>", "<td>", "<tr>", "</td>", "<div>", "</div>", "<script>",
    "</script>", "<template>", "<svg>", "<!--", "-->", "&amp;", "&#0;", "&nbsp", "\0", " ", "\n",
    "<", ">", "\"", "=",
];

/// JSON-ish soup: valid documents often, broken ones as often.
#[rustfmt::skip]
const JSON_PIECES: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"status\"", "\"ok\"", "\"items\"", "\"price\"", "\"name\"",
    "\"Ab\"", "\"queue\"", "\"depth\"", "1", "20", "-0", "1e308", "1e999", "true", "null",
    "\"\\ud800\"", " ",
];

/// Up to `n` of `pieces`, concatenated.
fn soup(pieces: &'static [&'static str], n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces), 0..n).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn random_bodies_never_panic(
        ct in prop::sample::select(CONTENT_TYPES),
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        evaluate_everything(ct, &body);
    }

    #[test]
    fn html_soup_never_panics(
        ct in prop::sample::select(CONTENT_TYPES),
        body in soup(HTML_PIECES, 80),
    ) {
        evaluate_everything(ct, body.as_bytes());
    }

    #[test]
    fn json_soup_never_panics(body in soup(JSON_PIECES, 60)) {
        evaluate_everything("application/json", body.as_bytes());
    }
}

/// `text` is rejected with one error containing `expected`, in under 20 s even in a debug
/// build on a busy machine (an alias bomb takes about a second there).
fn rejected_quickly(kind: Kind, text: &str, expected: &str) -> String {
    let start = Instant::now();
    let error = only_error(kind, text);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(20), "{kind:?} took {took:?}");
    assert!(error.contains(expected), "{error}");
    error
}

/// Nine aliases per level, nine levels: about 390 million leaves once expanded.
fn billion_laughs() -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text
}

#[test]
fn billion_laughs_in_an_alert_file_is_rejected_quickly() {
    let bomb = billion_laughs();
    let text = format!("channels:\n  x:\n    webhook: {{url: http://127.0.0.1/}}\n{bomb}");
    let e = rejected_quickly(Kind::Alert, &text, "budget breached");
    assert!(e.starts_with("alerts/bad.yaml:"), "{e}");
    assert!(e.contains("check anchors and aliases"), "{e}");
    // As a route's `match` value too, where the tree is not walked at all.
    let nested: String = bomb.lines().map(|l| format!("      {l}\n")).collect();
    let text = format!("routes:\n  - channels: []\n    match:\n{nested}");
    rejected_quickly(Kind::Alert, &text, "check anchors and aliases");
}

/// A chain of aliases, each one level deeper than the last: small text, deep tree.
fn alias_chain(levels: usize) -> String {
    let mut text = String::from("x0: &x0 [leaf]\n");
    for i in 1..levels {
        text.push_str(&format!("x{i}: &x{i} [*x{}]\n", i - 1));
    }
    text
}

#[test]
fn nesting_through_aliases_is_rejected() {
    for kind in [Kind::Spec, Kind::Alert] {
        rejected_quickly(kind, &alias_chain(100), "nested deeper than 32 levels");
    }
}

#[test]
fn a_hundred_thousand_brackets_are_rejected_without_stack_overflow() {
    let cases = [
        ("[".repeat(100_000), "1:33"),
        ("{".repeat(100_000), "1:33"),
        ("{a: ".repeat(100_000), "1:129"),
        (
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            "1:33",
        ),
        ("- ".repeat(100_000), "1:65"),
    ];
    for kind in [Kind::Spec, Kind::Alert] {
        for (text, at) in &cases {
            let e = rejected_quickly(kind, text, "lists and maps nested deeper than 32 levels");
            assert!(e.contains(&format!(".yaml:{at}: invalid YAML: ")), "{e}");
        }
    }
}

/// Found by writing this file: 64 levels of block maps (under the old default limit of 64)
/// overflowed the 2 MiB stack of a test thread in the recursive deserializer.
#[test]
fn regression_64_nested_block_maps_overflowed_the_stack() {
    for depth in [64, 1000] {
        let text: String = (0..depth)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        for kind in [Kind::Spec, Kind::Alert] {
            let e = rejected_quickly(kind, &text, "lists and maps nested deeper than 32 levels");
            assert!(e.contains(".yaml:33:33: "), "{e}");
        }
    }
}

#[test]
fn a_request_json_body_29_levels_deep_still_loads() {
    let body = format!("{}1{}", "{a: ".repeat(26), "}".repeat(26));
    let text =
        format!("name: s\ntargets:\n  - name: t\n    url: http://127.0.0.1/\n    json: {body}\n");
    assert_eq!(load(Kind::Spec, &text), Ok(()));
}

/// Found by `scripts/fuzz` (alert_load): a key with a line break (a quoted `"a\nb"`, or a plain
/// flow key over several lines) was quoted raw in "unknown key", so the diagnostic took several
/// lines.
#[test]
fn regression_a_key_with_a_line_break_is_reported_on_one_line() {
    let key = "\"a\\nb\\u001b[31m\": 1\n";
    let spec = format!("name: s\ntargets: [{{name: t, url: 'http://127.0.0.1/'}}]\n{key}");
    let alert = format!("channels:\n  am:\n    alertmanager: {{url: http://127.0.0.1/}}\n{key}");
    let flow = "channels:\n  am:\n    alertmanager: {url: 'http://1/', x\n\n\n y}\n";
    for (kind, text) in [
        (Kind::Spec, spec.as_str()),
        (Kind::Alert, &alert),
        (Kind::Alert, flow),
    ] {
        let e = only_error(kind, text);
        assert!(e.contains("unknown key `"), "{e}");
        assert!(e.contains("\\n"), "{e}");
        assert!(!e.contains('\u{1b}'), "{e}");
    }
}
