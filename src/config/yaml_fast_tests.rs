//! The fast path answers only with serde-saphyr's own tree.

use std::path::Path;

use super::parse;
use crate::config::yaml::parse_plain;

/// `text` gives serde-saphyr's tree or no answer; returns whether it answered.
fn agrees(name: &str, text: &str) -> bool {
    let Some(fast) = parse(text) else {
        return false;
    };
    match parse_plain(name, text) {
        Ok(slow) => assert_eq!(fast, slow, "{name}: trees differ for {text:?}"),
        Err(e) => {
            panic!("{name}: the fast path accepted what serde-saphyr rejects ({e}): {text:?}")
        }
    }
    true
}

const SNIPPETS: &[&str] = &[
    "a: yes",
    "a: Y",
    "a: n",
    "a: True",
    "a: OFF",
    "a: on",
    "a: 0x1F",
    "a: 0X1F",
    "a: 0o17",
    "a: 0b101",
    "a: 010",
    "a: 0",
    "a: -0",
    "a: -5",
    "a: +5",
    "a: 1_000",
    "a: 1e3",
    "a: 1E3",
    "a: .5",
    "a: 1.",
    "a: 1.5",
    "a: -.inf",
    "a: .nan",
    "a: inf",
    "a: nan",
    "a: infinity",
    "a: -inf",
    "a: 1:30",
    "a: 12:30:00",
    "a: 2001-12-14",
    "a: 2xx",
    "a: 10s",
    "a: 1h30m",
    "a: 0s",
    "a: 10MiB",
    "a: 99999999999999999999",
    "a: 123456789012345678",
    "a: -x",
    "a: -",
    "a: ~",
    "a:",
    "a: null",
    "a: NULL",
    "a: 'null'",
    "a: \"1\"",
    "a: '~'",
    "a: \"\"",
    "a: |\n  x\n  y\n",
    "a: >\n  x\n  y\n",
    "a: &x 1\nb: *x",
    "<<: {a: 1}",
    "a: 1\na: 2",
    "a: 1\n\"a\": 2",
    "!!str a: 1",
    "a: !!int '1'",
    "a: !custom x",
    "%YAML 1.2\n---\na: 1",
    "a: 1\n---\nb: 2",
    "---\na: 1\n...\n",
    "[1, 2]",
    "- a\n- b: c",
    "a: [1, {b: 2}]",
    "? complex\n: v",
    "? [a]\n: v",
    "a: b: c",
    "a: [1, 2",
    "a:\tb",
    "a: $.x",
    "a: ^\\$\\d+$",
    "a: ${VAR}",
    "a: $${VAR}",
    "a: @every 1m",
    "a: \"@every 1m\"",
    "\"quoted key\": 1",
    "'y': 1",
    "y: 1",
    "1: x",
    "true: x",
    "~: x",
    "\"\": x",
    "a: {b: {c: [d, {e: f}]}}",
    "# only a comment\n",
    "",
    "a: 1 # comment\n# another\nb: 2",
    "a: 'it''s'",
    "a: \"\\t\\u00e9\"",
    "a: [a, b, ]",
    "a: {,}",
    "\u{feff}a: 1",
    "a: 1\n\u{feff}b: 2",
    "  a: 1\n b: 2",
    "a:\n- 1\n- 2",
    "a:\n  - 1\n   - 2",
    "a: x\n  y",
    "a: 'x\n  y'",
    "a: -1-2",
    "a: 5%",
    "a: 1/2",
    "a: 1 2",
    "a: 0.0.1",
    "a: 08",
    "a: 1e",
    "a: 0x",
    "a: 9223372036854775808",
    "a: -9223372036854775809",
    "a: *unknown",
    "a: &x [1]\nb: *x",
    "a: !!binary aGk=",
];

#[test]
fn snippets_agree() {
    let mut answered = 0;
    for s in SNIPPETS {
        answered += usize::from(agrees("snippet.yaml", s));
    }
    assert!(answered > 30, "only {answered} snippets took the fast path");
}

#[test]
fn nesting_agrees() {
    for depth in [10, 28, 29, 30, 31, 32, 33, 40] {
        let flow = format!("a: {}1{}", "[".repeat(depth), "]".repeat(depth));
        agrees("deep.yaml", &flow);
        let mut block = String::new();
        for i in 0..depth {
            block.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
        }
        block.push_str(&format!("{}v: 1\n", "  ".repeat(depth)));
        agrees("deep.yaml", &block);
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() && !matches!(name, "target" | ".git" | "node_modules") {
            yaml_files(&p, out);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_yaml_file_of_the_repository_agrees() {
    let mut files = Vec::new();
    yaml_files(Path::new(env!("CARGO_MANIFEST_DIR")), &mut files);
    assert!(files.len() > 10, "{files:?}");
    let mut answered = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        answered += usize::from(agrees(&f.display().to_string(), &text));
    }
    assert!(
        answered * 2 > files.len(),
        "{answered} of {} files",
        files.len()
    );
}

#[test]
fn generated_bench_specs_take_the_fast_path() {
    let mut text = String::from("name: bench\ntargets:\n");
    for i in 0..50 {
        text.push_str(&format!(
            "  - name: t{i}\n    url: http://127.0.0.1:18080/j/{i}.json\n    timeout: 10s\n    \
             expect:\n      status: [200, 3xx]\n      json:\n        - path: $.status\n          \
             value: ok\n        - path: $.items\n          value: {{type: array, length: {{min: 1}}}}\n        \
             - path: $.db.latency_ms\n          value: {{lt: 100}}\n        - path: $.error\n          count: 0\n"
        ));
    }
    assert!(agrees("bench.yaml", &text));
}
