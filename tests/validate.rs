#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Spec loading and validation: every error kind has a fixture whose `FILE:LINE:COLUMN: message`
//! lines are snapshotted; a full valid spec is checked field by field; the reference doc must
//! equal what the key tables generate; and no input makes the loader panic.

use std::path::PathBuf;
use std::time::Duration;

use dcrawl::model::{
    CheckOp, Config, CountRange, ExtractSource, JsonType, MatchMode, RequestBody, StatusPattern,
};
use dcrawl::spec::{Source, load_paths, load_sources, reference_markdown};
use proptest::prelude::*;
use serde_json::json;

/// The environment the fixtures see.
fn test_env(name: &str) -> Option<String> {
    match name {
        "API_KEY" => Some("key-123456".to_string()),
        "TOKEN" => Some("tok-abcdef".to_string()),
        "WHO" => Some("ci".to_string()),
        _ => None,
    }
}

fn invalid(name: &str) -> String {
    let path = PathBuf::from(format!("tests/fixtures/specs/invalid/{name}"));
    match load_paths(&[path], &test_env) {
        Ok(_) => panic!("{name} should be rejected"),
        Err(d) => d.to_string(),
    }
}

macro_rules! invalid_fixture {
    ($test:ident, $file:expr) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!(stringify!($test), invalid($file));
        }
    };
}

invalid_fixture!(syntax_error, "syntax_error.yaml");
invalid_fixture!(unknown_key, "unknown_key.yaml");
invalid_fixture!(wrong_type, "wrong_type.yaml");
invalid_fixture!(missing_required, "missing_required.yaml");
invalid_fixture!(duplicate_spec, "duplicate_spec");
invalid_fixture!(duplicate_target, "duplicate_target.yaml");
invalid_fixture!(invalid_css, "invalid_css.yaml");
invalid_fixture!(invalid_regex, "invalid_regex.yaml");
invalid_fixture!(invalid_jsonpath, "invalid_jsonpath.yaml");
invalid_fixture!(invalid_cron, "invalid_cron.yaml");
invalid_fixture!(invalid_timezone, "invalid_timezone.yaml");
invalid_fixture!(invalid_url, "invalid_url.yaml");
invalid_fixture!(invalid_duration, "invalid_duration.yaml");
invalid_fixture!(invalid_size, "invalid_size.yaml");
invalid_fixture!(body_and_json, "body_and_json.yaml");
invalid_fixture!(unset_variable, "unset_variable.yaml");
invalid_fixture!(bad_status, "bad_status.yaml");
invalid_fixture!(unknown_check_op, "unknown_check_op.yaml");
invalid_fixture!(alias_bomb, "alias_bomb.yaml");
invalid_fixture!(many_errors, "many_errors.yaml");

#[test]
fn many_errors_are_all_reported_at_once() {
    let out = invalid("many_errors.yaml");
    assert!(out.lines().count() >= 15, "{out}");
    for line in out.lines() {
        assert!(
            line.starts_with("tests/fixtures/specs/invalid/many_errors.yaml:"),
            "{line}"
        );
    }
}

#[test]
fn missing_path_and_empty_folder_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = load_paths(&[missing.clone(), dir.path().to_path_buf()], &test_env).unwrap_err();
    let lines: Vec<String> = err.0.iter().map(|d| d.to_string()).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{}:1:1: cannot read", missing.display())))
    );
    assert!(lines.iter().any(|l| l.contains("no spec files")));
}

#[test]
fn folders_are_read_recursively_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let spec =
        |name: &str| format!("name: {name}\ntargets:\n  - name: t\n    url: http://127.0.0.1/\n");
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("b.yaml"), spec("b")).unwrap();
    std::fs::write(dir.path().join("sub/a.yml"), spec("a")).unwrap();
    std::fs::write(dir.path().join("c.yaml"), spec("c")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
    let config = load_paths(&[dir.path().to_path_buf()], &test_env).unwrap();
    let names: Vec<&str> = config.specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["b", "c", "a"]);
    assert_eq!(config.specs[2].file, dir.path().join("sub/a.yml"));
}

fn full() -> Config {
    let path = PathBuf::from("tests/fixtures/specs/valid/full.yaml");
    load_paths(&[path], &test_env).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn full_spec_compiles_every_key() {
    let config = full();
    assert_eq!(config.specs.len(), 1);
    let spec = &config.specs[0];
    assert_eq!(spec.name, "shop");
    assert_eq!(
        spec.file,
        PathBuf::from("tests/fixtures/specs/valid/full.yaml")
    );
    assert_eq!(
        spec.labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("severity", "page"), ("team", "web"), ("tier", "1")]
    );
    assert_eq!(spec.targets.len(), 3);

    let home = &spec.targets[0];
    assert_eq!(home.id(), "shop/home");
    assert_eq!(home.url.as_str(), "https://shop.example.com/");
    assert_eq!(home.method, reqwest::Method::GET);
    assert_eq!(
        home.headers,
        vec![
            ("User-Agent".to_string(), "dcrawl".to_string()),
            ("accept".to_string(), "text/html".to_string()),
            ("X-Api-Key".to_string(), "key-123456".to_string()),
            ("Authorization".to_string(), "Bearer tok-abcdef".to_string()),
        ]
    );
    assert_eq!(home.body, None);
    assert_eq!(home.schedule.to_string(), "@every 30s");
    assert_eq!(home.schedule.interval(), Some(Duration::from_secs(30)));
    assert_eq!(home.timeout, Duration::from_secs(2));
    assert_eq!(home.retries, 1);
    assert_eq!(home.max_body, 2048);
    assert_eq!(home.follow_redirects, 0);
    assert!(home.tls_verify);
    for secret in ["key-123456", "tok-abcdef", "Bearer tok-abcdef"] {
        assert!(
            home.secrets.iter().any(|s| s == secret),
            "{secret} in {:?}",
            home.secrets
        );
    }
    assert_eq!(home.redact("got Bearer tok-abcdef"), "got ***");

    let e = &home.expect;
    assert_eq!(
        e.status,
        [StatusPattern::Code(200), StatusPattern::Class(3)]
    );
    assert_eq!(e.max_duration, Some(Duration::from_millis(800)));
    assert_eq!(e.headers.len(), 2);
    assert_eq!(e.headers[0].name, "content-type");
    assert!(matches!(&e.headers[0].check.ops[..], [CheckOp::Contains(s)] if s == "text/html"));
    assert_eq!(e.headers[1].name, "x-frame-options");
    assert!(matches!(
        e.headers[1].check.ops[..],
        [CheckOp::Exists(true)]
    ));
    assert!(matches!(&e.body[0].ops[..], [CheckOp::NotContains(s)] if s == "Exception"));
    assert_eq!(e.tls.map(|t| t.min_days_valid), Some(14));
    let ids: Vec<&str> = e.html.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "html[0]",
            "html[1]",
            "html[2]",
            "html[3]",
            "prices-formatted"
        ]
    );
    assert_eq!(e.html[0].css.source, "ul.products > li");
    assert_eq!(
        e.html[0].count,
        CountRange {
            min: Some(10),
            max: None
        }
    );
    assert_eq!(
        e.html[1].count,
        CountRange {
            min: Some(1),
            max: None
        }
    );
    assert!(
        matches!(&e.html[1].text.as_ref().unwrap().ops[..], [CheckOp::Contains(s)] if s == "Shop")
    );
    assert_eq!(e.html[2].attrs.len(), 1);
    assert_eq!(e.html[2].attrs[0].0, "href");
    assert!(matches!(&e.html[2].attrs[0].1.ops[..], [CheckOp::Equals(v)] if *v == json!("/")));
    assert_eq!(e.html[3].count, CountRange::exactly(0));
    assert_eq!(e.html[4].mode, MatchMode::Any);
    assert_eq!(e.html[0].mode, MatchMode::All);
    match &e.html[4].text.as_ref().unwrap().ops[..] {
        [CheckOp::Matches(r)] => {
            assert_eq!(r.as_str(), r"^\$\d+\.\d\d$");
            assert!(r.is_match("$12.50"));
        }
        other => panic!("{other:?}"),
    }

    let x: Vec<&str> = home.extract.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        x,
        [
            "products_listed",
            "cheapest_price",
            "logo_width",
            "queue_depth"
        ]
    );
    assert!(
        matches!(&home.extract[0].source, ExtractSource::CssCount(c) if c.source == "ul.products > li")
    );
    assert!(
        matches!(&home.extract[1].source, ExtractSource::CssText(c) if c.source == "span.price")
    );
    assert_eq!(
        home.extract[1].regex.as_ref().unwrap().as_str(),
        r"([0-9]+\.[0-9]+)"
    );
    assert!(
        matches!(&home.extract[2].source, ExtractSource::CssAttr(c, a) if c.source == "img.logo" && a == "width")
    );
    assert!(
        matches!(&home.extract[3].source, ExtractSource::Json(p) if p.source == "$.queue.depth")
    );
    assert!(home.extract[0].regex.is_none());
}

#[test]
fn full_spec_merges_defaults_and_interpolates() {
    let config = full();
    let api = &config.specs[0].targets[1];
    assert_eq!(
        api.url.as_str(),
        "http://127.0.0.1:8080/api/health?literal=${x}"
    );
    assert_eq!(api.method, reqwest::Method::POST);
    assert_eq!(
        api.body,
        Some(RequestBody::Json(json!({"probe": true, "who": "ci"})))
    );
    // Inherited from the spec: schedule + timezone, and every default.
    assert_eq!(api.schedule.to_string(), "*/5 * * * *");
    assert_eq!(api.schedule.timezone(), chrono_tz::Europe::Berlin);
    assert_eq!(api.timeout, Duration::from_secs(5));
    assert_eq!(api.retries, 2);
    assert_eq!(api.max_body, 1024 * 1024);
    assert_eq!(api.follow_redirects, 3);
    assert!(!api.tls_verify);
    assert_eq!(
        api.headers,
        vec![
            ("User-Agent".to_string(), "dcrawl".to_string()),
            ("Accept".to_string(), "*/*".to_string()),
            ("X-Api-Key".to_string(), "key-123456".to_string()),
        ]
    );
    // The spec-level env value and the credential header, not a 2-char env value.
    assert!(api.secrets.iter().any(|s| s == "key-123456"));
    assert!(
        !api.secrets.iter().any(|s| s == "tok-abcdef"),
        "{:?}",
        api.secrets
    );
    assert!(!api.secrets.iter().any(|s| s == "ci"));

    let e = &api.expect;
    assert_eq!(e.status, [StatusPattern::Code(200)]);
    assert_eq!(e.body.len(), 2);
    assert!(e.html.is_empty());
    let ids: Vec<&str> = e.json.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "json[0]", "json[1]", "json[2]", "prices", "json[4]", "json[5]", "json[6]"
        ]
    );
    assert!(
        matches!(&e.json[0].value.as_ref().unwrap().ops[..], [CheckOp::Equals(v)] if *v == json!("ok"))
    );
    assert_eq!(e.json[0].count, None);
    assert!(matches!(
        &e.json[1].value.as_ref().unwrap().ops[..],
        [
            CheckOp::Type(JsonType::Array),
            CheckOp::Length(CountRange {
                min: Some(1),
                max: Some(50)
            })
        ]
    ));
    assert!(
        matches!(&e.json[2].value.as_ref().unwrap().ops[..], [CheckOp::Lt(a), CheckOp::Ge(b)] if *a == 100.0 && *b == 0.0)
    );
    assert!(
        matches!(&e.json[3].value.as_ref().unwrap().ops[..], [CheckOp::Type(JsonType::Number), CheckOp::Gt(g), CheckOp::Le(l)] if *g == 0.0 && *l == 1e6)
    );
    assert_eq!(e.json[3].mode, MatchMode::Any);
    assert_eq!(e.json[4].count, Some(CountRange::exactly(0)));
    assert!(e.json[4].value.is_none());
    match &e.json[5].value.as_ref().unwrap().ops[..] {
        [
            CheckOp::OneOf(vs),
            CheckOp::NotEquals(ne),
            CheckOp::Equals(eq),
            CheckOp::Empty(false),
        ] => {
            assert_eq!(vs, &vec![json!("fast"), json!("slow")]);
            assert_eq!(ne, &json!("broken"));
            assert_eq!(eq, &json!("fast"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.json[6].count,
        Some(CountRange {
            min: None,
            max: Some(1)
        })
    );
    assert!(
        matches!(&e.json[6].value.as_ref().unwrap().ops[..], [CheckOp::Length(r)] if *r == CountRange::exactly(3))
    );

    let raw = &config.specs[0].targets[2];
    assert_eq!(raw.body, Some(RequestBody::Raw("plain ci".to_string())));
    assert_eq!(raw.method, reqwest::Method::GET);
    assert!(raw.expect.status.is_empty(), "default is 2xx (empty)");
}

#[test]
fn target_defaults_without_defaults_block() {
    let src = Source {
        name: "min.yaml".into(),
        text: "name: min\ntargets:\n  - name: t\n    url: http://127.0.0.1/\n".into(),
    };
    let config = load_sources(&[src], &test_env).unwrap();
    let t = &config.specs[0].targets[0];
    let d = dcrawl::model::Target::new("min", "t", t.url.clone());
    assert_eq!(t.schedule, d.schedule);
    assert_eq!(t.schedule.to_string(), "@every 1m");
    assert_eq!(
        (
            t.timeout,
            t.retries,
            t.max_body,
            t.follow_redirects,
            t.tls_verify
        ),
        (
            d.timeout,
            d.retries,
            d.max_body,
            d.follow_redirects,
            d.tls_verify
        )
    );
    assert!(t.headers.is_empty() && t.secrets.is_empty() && t.extract.is_empty());
}

#[test]
fn secrets_never_appear_in_messages() {
    let src = Source {
        name: "s.yaml".into(),
        text: "name: s\ntargets:\n  - name: t\n    url: \"${TOKEN}\"\n".into(),
    };
    let err = load_sources(&[src], &test_env).unwrap_err().to_string();
    assert!(err.contains("invalid URL"), "{err}");
    assert!(!err.contains("tok-abcdef"), "{err}");
    assert!(err.contains("***"), "{err}");
}

#[test]
fn reference_doc_is_current() {
    let path = "docs/spec-reference.md";
    let generated = reference_markdown();
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        std::fs::create_dir_all("docs").unwrap();
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{path} is out of date: run `UPDATE_REFERENCE=1 cargo test --test validate`"
    );
}

fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("name: ".to_string()),
        Just("targets:".to_string()),
        Just("  - ".to_string()),
        Just("    url: ".to_string()),
        Just("expect:".to_string()),
        Just("html:".to_string()),
        Just("json:".to_string()),
        Just("css: ".to_string()),
        Just("path: ".to_string()),
        Just("count: ".to_string()),
        Just("status: ".to_string()),
        Just("extract:".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(", ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("${X}".to_string()),
        Just("${".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("http://127.0.0.1/".to_string()),
        Just("$.a[".to_string()),
        "[a-z0-9_:. -]{0,8}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = load_sources(&[Source { name: "p.yaml".into(), text }], &test_env);
    }

    #[test]
    fn yamlish_strings_never_panic(text in yamlish()) {
        let result = load_sources(&[Source { name: "p.yaml".into(), text }], &test_env);
        if let Err(d) = result {
            prop_assert!(!d.is_empty());
            for diag in &d.0 {
                prop_assert!(diag.line >= 1 && diag.column >= 1);
            }
        }
    }
}

fn errors_of(text: &str) -> Vec<String> {
    let src = Source {
        name: "e.yaml".into(),
        text: text.into(),
    };
    match load_sources(&[src], &test_env) {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn edge_cases_are_positioned_errors() {
    let head = "name: s\ntargets:\n  - name: t\n    url: http://127.0.0.1/\n";
    // Every problem of a crawl is reported at once, at its position.
    let e = errors_of(&format!(
        "{head}    crawl: {{max_pages: 0, concurrency: 300, follow: 'a[', include: '(', sitemap: 'ftp://x/', robots: 1, depth: 2}}\n    expect_each: {{status: 999}}\n"
    ));
    assert_eq!(e.len(), 8, "{e:?}");
    for (i, (pos, text)) in [
        (
            "5:105",
            "unknown key `depth` in crawl (allowed: follow, sitemap, include",
        ),
        ("6:27", "999"),
        ("5:53", "invalid CSS selector"),
        ("5:82", "URL scheme must be http or https"),
        ("5:68", "invalid regex"),
        ("5:24", "max_pages must be between 1 and"),
        ("5:40", "concurrency must be between 1 and 256"),
        ("5:102", "expected a boolean"),
    ]
    .iter()
    .enumerate()
    {
        assert!(
            e.iter()
                .any(|m| m.starts_with(&format!("e.yaml:{pos}: ")) && m.contains(text)),
            "{i}: {pos} {text} not in {e:?}"
        );
    }
    let e = errors_of(&format!("{head}    expect_each: {{status: 200}}\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("e.yaml:5:5: `expect_each` needs `crawl`"),
        "{e:?}"
    );
    assert_eq!(
        errors_of(&format!("{head}    crawl: {{}}\n")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors_of("# nothing here\n"),
        ["e.yaml:1:1: empty spec file: expected a map with `name` and `targets`"]
    );
    let e = errors_of(&format!("{head}---\n{head}"));
    assert!(e[0].contains("one YAML document"), "{e:?}");
    let e = errors_of(&format!("{head}    headers: {{Accept: a, accept: b}}\n"));
    assert_eq!(e, ["e.yaml:5:26: header \"accept\" is given twice"]);
    let e = errors_of(&format!(
        "{head}    expect:\n      html: [{{css: a, name: x}}]\n      json: [{{path: $.a, name: x}}]\n"
    ));
    assert_eq!(
        e,
        ["e.yaml:7:32: duplicate assertion name \"x\" (first used at line 6)"]
    );
    let e = errors_of("name: s\ntargets: []\n");
    assert_eq!(
        e,
        ["e.yaml:2:10: `targets` is empty: a spec needs at least one target"]
    );
    let e = errors_of("[1, 2]\n");
    assert_eq!(e, ["e.yaml:1:1: expected a map (spec), found a sequence"]);
}

#[test]
fn strings_may_carry_numbers_and_booleans() {
    let text = "name: s\ntargets:\n  - name: t\n    url: http://127.0.0.1/\n    retries: \"${RETRIES:-3}\"\n    tls_verify: \"false\"\n    expect: {status: \"204\"}\n";
    let config = load_sources(
        &[Source {
            name: "n.yaml".into(),
            text: text.into(),
        }],
        &test_env,
    )
    .unwrap();
    let t = &config.specs[0].targets[0];
    assert_eq!(t.retries, 3);
    assert!(!t.tls_verify);
    assert_eq!(t.expect.status, [StatusPattern::Code(204)]);
}

#[test]
fn ten_thousand_targets_load_from_one_file() {
    // Over a million YAML events: the parser's event budget grows with the input (an alias
    // bomb is still stopped: see `alias_bomb`).
    let mut text = String::from("name: big\ntargets:\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "  - name: t{i}\n    url: http://127.0.0.1:8080/p/{i}.html\n    expect:\n      status: 200\n      html:\n        - css: \"ul.products > li\"\n          count: {{min: 30}}\n        - css: \"span.price\"\n          text: {{matches: '^\\$'}}\n        - css: \"a.logo\"\n          attr: {{href: /}}\n"
        ));
    }
    let src = Source {
        name: "big.yaml".into(),
        text,
    };
    let config = load_sources(&[src], &test_env).unwrap();
    assert_eq!(config.targets().count(), 10_000);
}
