//! The schema's building blocks agree with the loader; whole files are validated against it in
//! `tests/schema.rs`.

use regex::Regex;

use super::*;
use crate::config::units::{parse_duration, parse_size};
use crate::model::Schedule;

/// Every table of the spec, alert and web config files.
fn tables() -> Vec<&'static Table> {
    let mut all: Vec<&'static Table> = crate::spec::keys::ALL.to_vec();
    all.extend(crate::alert::config::keys::ALL);
    all.extend(crate::server::web_config::keys::ALL);
    all
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// `pattern` accepts exactly the `accepted` samples among `samples`.
fn agrees(pattern: &str, samples: &[&str], accepted: impl Fn(&str) -> bool) {
    let re = regex(pattern);
    for s in samples {
        assert_eq!(re.is_match(s), accepted(s), "{s:?} against {pattern}");
    }
}

#[test]
fn every_key_has_a_kind_and_rules_name_keys_of_its_map() {
    for table in tables() {
        for key in table.keys {
            assert!(
                !matches!(key.kind, Kind::Unspecified),
                "{}.{} has no kind",
                table.name,
                key.name
            );
            if let Rule::Needs(other) | Rule::Excludes(other) = key.rule {
                assert!(table.allows(other), "{}.{}: {other}", table.name, key.name);
            }
        }
        let alternatives = table.keys.iter().filter(|k| k.rule == Rule::OneOf).count();
        assert_ne!(alternatives, 1, "{}: one_of needs two keys", table.name);
    }
}

#[test]
fn types_shown_to_people_agree_with_kinds() {
    for table in tables() {
        for key in table.keys {
            let word = match key.kind {
                Kind::Int { .. } => "integer",
                Kind::Bool => "boolean",
                Kind::Duration => "duration",
                Kind::Size => "size",
                Kind::Schedule => "schedule",
                Kind::Url => "URL",
                Kind::Css => "CSS selector",
                Kind::JsonPath => "JSONPath",
                Kind::Regex | Kind::Regexes => "regex",
                Kind::Map(_) => "map",
                Kind::List(_) | Kind::NonEmptyList(_) | Kind::ListOrNull(_) => "list",
                Kind::Check(_) | Kind::Checks(_) | Kind::HeaderChecks(_) => "check",
                Kind::Count(_) => "{min, max}",
                Kind::Statuses | Kind::StatusesOr(_) => "status",
                Kind::Headers => "header name",
                _ => "",
            };
            assert!(
                key.ty.contains(word),
                "{}.{}: {:?}",
                table.name,
                key.name,
                key.ty
            );
            if let Kind::Choice(words) = key.kind {
                for w in words {
                    assert!(key.ty.contains(&format!("`{w}`")), "{}: {w}", key.name);
                }
            }
        }
    }
}

#[test]
fn patterns_compile_in_both_dialects_used() {
    // The schema's patterns are ECMA-262 regexes for editors; they use only the syntax that
    // ECMA (with the `u` flag) and Rust's regex share.
    for p in [
        INTERP,
        INT_TEXT,
        BOOL_TEXT,
        NUMBER_TEXT,
        SIZE_TEXT,
        STATUS_TEXT,
        URL_TEXT,
        JSONPATH_TEXT,
        TOKEN,
        METHOD_TEXT,
        BEARER_TOKEN_TEXT,
        USER_NAME,
        &duration_text(),
        &schedule_text(),
    ] {
        regex(p);
        assert!(!p.contains("(?<") && !p.contains("(?i"), "{p}");
    }
}

#[test]
fn duration_pattern_agrees_with_the_loader() {
    let samples = [
        "250ms",
        "10s",
        "1m30s",
        "2h",
        "7d",
        "1h 30m",
        " 5s ",
        "1.5s",
        "3weeks",
        "2 days",
        "10",
        "",
        "ten",
        "5x",
        "10S",
        "1m30",
        "s",
        "-1s",
        "${TIMEOUT}",
    ];
    agrees(&duration_text(), &samples[..18], |s| {
        parse_duration(s).is_ok()
    });
    assert!(regex(&duration_text()).is_match(samples[18]));
}

#[test]
fn size_pattern_agrees_with_the_loader() {
    let samples = [
        "512KiB", "10MiB", "1GB", "1234", "1 kb", "2.5mib", "1e", "7B", "lots", "-1", "10 XB",
        "1.2.3MB", "",
    ];
    agrees(SIZE_TEXT, &samples, |s| parse_size(s).is_ok());
}

#[test]
fn schedule_pattern_agrees_with_the_loader() {
    let samples = [
        "@every 30s",
        "@every 1h30m",
        "@hourly",
        "@midnight",
        "@annually",
        "*/5 * * * *",
        "*/10 * * * * *",
        "0 9 * * 1-5",
        "@every",
        "@often",
        "* * * *",
        "* * * * * * *",
        "@every 10",
        "",
    ];
    agrees(&schedule_text(), &samples, |s| {
        Schedule::parse(s, None).is_ok()
    });
}

#[test]
fn scalar_patterns_agree_with_the_loader() {
    let ints = ["7", " 12 ", "+3", "-1", "1.5", "seven", ""];
    agrees(INT_TEXT, &ints, |s| s.trim().parse::<u64>().is_ok());
    let bools = [
        "true", "false", " true ", "True", "yes", "No", "off", "y", "maybe", "1", "",
    ];
    agrees(BOOL_TEXT, &bools, |s| {
        let yaml = format!("v: {s}");
        let root = crate::config::yaml::parse("b.yaml", &yaml).unwrap();
        let mut ctx = crate::config::walk::Ctx::<()>::new("b.yaml", &|_: &str| None);
        ctx.bool(&root.as_map().unwrap()[0].1, "a boolean")
            .is_some()
    });
    let numbers = ["1", "-2.5", ".5", "1.", "1e3", "+4", "abc", "1,5", "", "."];
    agrees(NUMBER_TEXT, &numbers, |s| s.trim().parse::<f64>().is_ok());
    let statuses = ["200", "2xx", "5XX", "599", "600", "6xx", "20", "ok"];
    agrees(STATUS_TEXT, &statuses, |s| {
        let code = s.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c));
        let class = s.len() == 3
            && (b'1'..=b'5').contains(&s.as_bytes()[0])
            && s[1..].eq_ignore_ascii_case("xx");
        code || class
    });
    let interpolated = regex(INT_TEXT);
    assert!(interpolated.is_match("${RETRIES:-1}"));
    assert!(!interpolated.is_match("$RETRIES"));
}

#[test]
fn name_patterns_are_the_loaders() {
    let spec = spec_schema();
    let name = spec.pointer("/properties/name").unwrap();
    assert_eq!(name["type"], serde_json::json!(["string", "integer"]));
    let pattern = regex(name["pattern"].as_str().unwrap());
    for (s, ok) in [
        ("shop", true),
        ("web-2", true),
        ("Shop", false),
        ("${NAME}", true),
    ] {
        assert_eq!(pattern.is_match(s), ok, "{s}");
    }
    let extract = spec
        .pointer("/definitions/extract_item/properties/name")
        .unwrap();
    assert_eq!(extract["type"], "string");
}

#[test]
fn rules_and_defaults_are_in_the_schema() {
    let spec = spec_schema();
    let target = spec.pointer("/definitions/target").unwrap();
    assert_eq!(
        target["dependencies"]["expect_each"],
        serde_json::json!(["crawl"])
    );
    assert_eq!(
        target["dependencies"]["body"],
        serde_json::json!({"not": {"required": ["json"]}})
    );
    assert_eq!(target["additionalProperties"], false);
    assert_eq!(target["required"], serde_json::json!(["name"]));
    let url_or_steps = target["oneOf"].as_array().map(Vec::len);
    assert_eq!(url_or_steps, Some(2), "a target has `url` or `steps`");
    let extract = spec.pointer("/definitions/extract_item/oneOf").unwrap();
    assert_eq!(extract.as_array().map(Vec::len), Some(2));
    let defaults = spec.pointer("/definitions/defaults/properties").unwrap();
    assert_eq!(defaults["timeout"]["default"], "10s");
    assert_eq!(defaults["retries"]["default"], 0);
    assert_eq!(defaults["tls_verify"]["default"], true);
    let html_name = spec
        .pointer("/definitions/html_item/properties/name")
        .unwrap();
    assert!(html_name.get("default").is_none(), "{html_name}");

    let alerts = alerts_schema();
    assert_eq!(
        alerts.get("type"),
        Some(&serde_json::json!(["object", "null"]))
    );
    let channel = alerts.pointer("/definitions/channel/oneOf").unwrap();
    assert_eq!(channel.as_array().map(Vec::len), Some(3));
    let smtp = alerts.pointer("/definitions/smtp").unwrap();
    assert_eq!(
        smtp["dependencies"]["username"],
        serde_json::json!(["password"])
    );
    assert_eq!(
        smtp["properties"]["tls"]["anyOf"][0]["enum"],
        serde_json::json!(["starttls", "tls", "none"])
    );
}

#[test]
fn writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schemas");
    let written = write_all(&out).unwrap();
    assert_eq!(
        written,
        [
            out.join(SPEC_FILE),
            out.join(ALERTS_FILE),
            out.join(WEB_FILE)
        ]
    );
    let spec = std::fs::read_to_string(&written[0]).unwrap();
    assert_eq!(spec, render(&spec_schema()));
    assert!(spec.ends_with("}\n"));
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let err = write_all(&blocked.join("sub")).unwrap_err();
    assert!(err.to_string().starts_with("cannot write "), "{err}");
}
