//! Validation of the quiet-time keys: `severity` on assertions and routes, `depends_on` on
//! targets and `maintenance` in alert files. Every mistake is reported at its
//! `FILE:LINE:COLUMN`, all at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use dcrawl::alert::maintenance::When;
use dcrawl::model::Severity;
use dcrawl::spec::{Source, load_paths, load_sources};

fn no_env(_: &str) -> Option<String> {
    None
}

/// The errors of loading spec files (name, text), one line each.
fn spec_errors(files: &[(&str, &str)]) -> Vec<String> {
    let sources: Vec<Source> = files
        .iter()
        .map(|(name, text)| Source {
            name: (*name).into(),
            text: (*text).into(),
        })
        .collect();
    match load_sources(&sources, &no_env) {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(|d| d.to_string()).collect(),
    }
}

const HEAD: &str = "name: s\ntargets:\n  - name: t\n    url: http://127.0.0.1/\n";

#[test]
fn severities_compile_where_they_are_allowed() {
    let text = format!(
        "{HEAD}    expect:\n      max_duration: {{limit: 800ms, severity: warning}}\n      headers:\n        x-a: {{exists: true, severity: warning}}\n        x-b: {{exists: true}}\n      body: [{{contains: a}}, {{contains: b, severity: warning}}]\n      tls: {{min_days_valid: 3, severity: warning}}\n      html: [{{css: p, severity: warning}}, {{css: q}}]\n      json: [{{path: $.a, severity: warning}}]\n"
    );
    let config = load_sources(
        &[Source {
            name: "s.yaml".into(),
            text,
        }],
        &no_env,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let e = &config.specs[0].targets[0].expect;
    assert_eq!(e.max_duration, Some(std::time::Duration::from_millis(800)));
    assert_eq!(e.max_duration_severity, Severity::Warning);
    assert_eq!(
        e.headers.iter().map(|h| h.severity).collect::<Vec<_>>(),
        [Severity::Warning, Severity::Failure]
    );
    assert_eq!((e.body.len(), e.body_warnings.len()), (1, 1));
    assert_eq!(e.tls.map(|t| t.severity), Some(Severity::Warning));
    assert_eq!(
        e.html.iter().map(|h| h.severity).collect::<Vec<_>>(),
        [Severity::Warning, Severity::Failure]
    );
    assert_eq!(e.json[0].severity, Severity::Warning);
    // The plain form of max_duration is a failure.
    let plain = format!("{HEAD}    expect: {{max_duration: 2s}}\n");
    assert!(spec_errors(&[("p.yaml", &plain)]).is_empty());
    assert_eq!(e.status_severity, Severity::Failure);
}

#[test]
fn status_and_browser_counts_take_a_severity_in_their_map_forms() {
    let text = format!(
        "{HEAD}    render: {{}}\n    expect:\n      status: {{in: [200, 3xx], severity: warning}}\n      console_errors: {{max: 0, severity: warning}}\n      failed_requests: {{max: 2}}\n"
    );
    let config = load_sources(
        &[Source {
            name: "s.yaml".into(),
            text,
        }],
        &no_env,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let e = &config.specs[0].targets[0].expect;
    assert_eq!(e.status.len(), 2);
    assert_eq!(e.status_severity, Severity::Warning);
    assert_eq!(e.console_errors.and_then(|r| r.max), Some(0));
    assert_eq!(e.console_errors_severity, Severity::Warning);
    assert_eq!(e.failed_requests.and_then(|r| r.max), Some(2));
    assert_eq!(e.failed_requests_severity, Severity::Failure);

    let wrong = format!(
        "{HEAD}    render: {{}}\n    expect:\n      status: {{severity: warning}}\n      console_errors: {{max: 0, severity: loud}}\n      failed_requests: {{limit: 1}}\n"
    );
    assert_eq!(
        spec_errors(&[("w.yaml", &wrong)]),
        [
            "w.yaml:7:15: missing required key `in` in status",
            "w.yaml:8:42: invalid severity \"loud\" (allowed: failure, warning)",
            "w.yaml:9:24: failed_requests range needs min, max or both",
            "w.yaml:9:25: unknown key `limit` in browser count (allowed: min, max, severity)",
        ]
    );
}

#[test]
fn severity_mistakes_are_positioned() {
    let text = format!(
        "{HEAD}    expect:\n      max_duration: {{severity: warning}}\n      headers: {{x-a: {{severity: warning}}}}\n      tls: {{min_days_valid: 1, severity: page}}\n      html:\n        - css: p\n          text: {{contains: a, severity: warning}}\n          severity: critical\n      json: [{{path: $.a, value: {{exists: true, severity: warning}}}}]\n"
    );
    assert_eq!(
        spec_errors(&[("e.yaml", &text)]),
        [
            "e.yaml:6:21: missing required key `limit` in max_duration",
            "e.yaml:7:22: a check needs at least one operation besides `severity` (allowed: equals, not_equals, contains, not_contains, matches, not_matches, one_of, lt, le, gt, ge, type, length, empty, exists, severity)",
            "e.yaml:8:42: invalid severity \"page\" (allowed: failure, warning)",
            "e.yaml:11:31: `severity` belongs to the whole html or json item, not to one of its checks: move it up to the item",
            "e.yaml:12:21: invalid severity \"critical\" (allowed: failure, warning)",
            "e.yaml:13:48: `severity` belongs to the whole html or json item, not to one of its checks: move it up to the item",
        ]
    );
}

/// The errors of the spec files under `path`, as printed.
fn invalid_specs(path: &str) -> String {
    match load_paths(&[PathBuf::from(path)], &no_env) {
        Ok(_) => panic!("{path} should be rejected"),
        Err(d) => d.to_string(),
    }
}

/// Unknown targets and specs, a target naming itself, a malformed item, one named twice, not a
/// list, and a cycle through two files (reported once, where it closes); a target with errors
/// of its own (`core/bad`) is still a known one.
#[test]
fn depends_on_mistakes_across_files() {
    insta::assert_snapshot!(
        "depends_on",
        invalid_specs("tests/fixtures/specs/invalid/depends_on")
    );
}

#[test]
fn depends_on_compiles_across_files() {
    let core = "name: core\ntargets:\n  - name: db\n    url: http://127.0.0.1/\n";
    let shop = "name: shop\ntargets:\n  - name: home\n    url: http://127.0.0.1/\n    depends_on: [core/db]\n  - name: api\n    url: http://127.0.0.1/\n    depends_on: [shop/home, core/db]\n";
    let sources = [("core.yaml", core), ("shop.yaml", shop)].map(|(name, text)| Source {
        name: name.into(),
        text: text.into(),
    });
    let config = load_sources(&sources, &no_env).unwrap_or_else(|d| panic!("{d}"));
    let api = config.targets().find(|t| t.name == "api").unwrap();
    assert_eq!(
        api.depends_on,
        [
            ("shop".to_string(), "home".to_string()),
            ("core".to_string(), "db".to_string())
        ]
    );
    assert!(
        config
            .targets()
            .find(|t| t.name == "db")
            .unwrap()
            .depends_on
            .is_empty()
    );
}

/// Every mistake of a `maintenance:` list, each at its position.
#[test]
fn maintenance_mistakes_are_positioned() {
    let path = PathBuf::from("tests/fixtures/alerts/invalid/maintenance.yaml");
    let out = match dcrawl::alert::config::load_paths(&[path], &no_env) {
        Ok(_) => panic!("maintenance.yaml should be rejected"),
        Err(d) => d.to_string(),
    };
    insta::assert_snapshot!("maintenance", out);
}

#[test]
fn maintenance_windows_compile() {
    let text = "maintenance:\n  - name: nightly\n    match: {spec: shop, team: '~web|ops'}\n    schedule: \"0 2 * * 1-5\"\n    duration: 30m\n    timezone: Europe/Berlin\n  - name: migration\n    start: \"2026-11-25T02:00:00+01:00\"\n    end: 2026-11-25T04:00:00Z\n";
    let config = dcrawl::alert::config::load_sources(
        &[Source {
            name: "a.yaml".into(),
            text: text.into(),
        }],
        &no_env,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let [nightly, migration] = &config.maintenance[..] else {
        panic!("{:?}", config.maintenance)
    };
    assert_eq!(nightly.name, "nightly");
    assert_eq!(nightly.matchers.len(), 2);
    let labels = [("team".to_string(), "ops".to_string())]
        .into_iter()
        .collect();
    assert!(nightly.covers("shop", "home", &labels));
    assert!(!nightly.covers("blog", "home", &labels));
    let When::Recurring { schedule, duration } = &nightly.when else {
        panic!("{:?}", nightly.when)
    };
    assert_eq!(schedule.timezone(), chrono_tz::Europe::Berlin);
    assert_eq!(*duration, std::time::Duration::from_secs(1800));
    let When::Once { start, end } = migration.when else {
        panic!("{:?}", migration.when)
    };
    assert_eq!(start.to_rfc3339(), "2026-11-25T01:00:00+00:00");
    assert_eq!(end.to_rfc3339(), "2026-11-25T04:00:00+00:00");
}
