//! `dcrawl schema`: the committed schema files are what the code generates and what the command
//! prints; every example file (and the README's web config) is valid against them; and files the
//! loader rejects for an unknown key, a wrong type or a bad value are invalid against them too,
//! at the same place (what an editor underlines while a spec is typed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use dcrawl::schema::{Format, render};
use dcrawl::spec::Source;
use jsonschema::Validator;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dcrawl() -> Command {
    let mut cmd = Command::cargo_bin("dcrawl").unwrap();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

#[test]
fn schema_files_are_current() {
    for format in Format::ALL {
        let path = root().join("docs/schema").join(format.file_name());
        let generated = render(&format.schema());
        if std::env::var_os("UPDATE_REFERENCE").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{} is out of date: run `UPDATE_REFERENCE=1 cargo test --test schema`",
            path.display()
        );
    }
}

#[test]
fn dcrawl_schema_prints_and_writes_them() {
    for (args, format) in [
        (&["schema"][..], Format::Spec),
        (&["schema", "spec"][..], Format::Spec),
        (&["schema", "alerts"][..], Format::Alerts),
        (&["schema", "web"][..], Format::Web),
        (&["schema", "web-config"][..], Format::Web),
    ] {
        let out = dcrawl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout, render(&format.schema()), "{args:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dcrawl()
        .args(["schema", "--out"])
        .arg(dir.path().join("schemas"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for format in Format::ALL {
        let path = dir.path().join("schemas").join(format.file_name());
        assert!(stdout.contains(&path.display().to_string()), "{stdout}");
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, render(&format.schema()));
    }

    let both = dcrawl()
        .args(["schema", "alerts", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "a format and --out conflict");
}

/// A YAML file as the JSON an editor validates: YAML 1.2, where only `true` and `false` are
/// booleans (the loader also reads unquoted `yes`, `no`, `on`, `off`, `y` and `n` as booleans,
/// and the schema accepts those strings where a boolean goes).
fn instance(text: &str) -> Result<Value, String> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<Option<Value>>(text, options)
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}

fn validator(format: Format) -> Validator {
    let schema = format.schema().to_value();
    assert!(
        jsonschema::draft7::meta::is_valid(&schema),
        "not a draft-07 schema"
    );
    jsonschema::draft7::new(&schema).unwrap()
}

/// Each schema error as `INSTANCE_PATH: message`.
fn errors(validator: &Validator, name: &str, text: &str) -> Vec<String> {
    let instance = instance(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The files of each format that the loader accepts: examples, the demo's and valid fixtures.
fn valid_files(format: Format) -> Vec<PathBuf> {
    let r = root();
    let mut files = Vec::new();
    match format {
        Format::Spec => {
            yaml_files(&r.join("specs"), &mut files);
            files.push(r.join("src/demo/specs/shop.yaml"));
            files.push(r.join("src/demo/specs/api.yaml"));
            yaml_files(&r.join("tests/fixtures/specs/valid"), &mut files);
        }
        Format::Alerts => {
            yaml_files(&r.join("alerts"), &mut files);
            files.push(r.join("src/demo/specs/alerts.yaml"));
            yaml_files(&r.join("tests/fixtures/alerts/valid"), &mut files);
        }
        Format::Web => {}
    }
    files
}

#[test]
fn example_demo_and_fixture_files_are_valid() {
    for (format, at_least) in [(Format::Spec, 6), (Format::Alerts, 4)] {
        let v = validator(format);
        let files = valid_files(format);
        assert!(files.len() >= at_least, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file.display().to_string();
            assert_eq!(errors(&v, &name, &text), Vec::<String>::new(), "{name}");
        }
    }
}

#[test]
fn example_files_name_their_schema() {
    let mut files = Vec::new();
    yaml_files(&root().join("specs"), &mut files);
    yaml_files(&root().join("alerts"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let schema = if file.starts_with(root().join("specs")) {
            "spec.schema.json"
        } else {
            "alerts.schema.json"
        };
        let modeline = format!("# yaml-language-server: $schema=../docs/schema/{schema}\n");
        assert!(text.starts_with(&modeline), "{}", file.display());
        let target = file.parent().unwrap().join("../docs/schema").join(schema);
        assert!(target.is_file(), "{}", target.display());
    }
}

/// Every `(pointer, property schema)` of a schema's maps, the root's and the definitions'.
fn properties(schema: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut maps = vec![("".to_string(), schema)];
    for (id, def) in schema["definitions"].as_object().unwrap() {
        maps.push((format!("/definitions/{id}"), def));
    }
    for (at, map) in maps {
        for (key, property) in map["properties"].as_object().unwrap() {
            out.push((format!("{at}/properties/{key}"), property.clone()));
        }
    }
    out
}

#[test]
fn documented_defaults_are_valid_values() {
    let mut checked = 0;
    for format in Format::ALL {
        let schema = format.schema().to_value();
        for (at, property) in properties(&schema) {
            let Some(default) = property.get("default") else {
                continue;
            };
            let mut standalone = property.clone();
            standalone["definitions"] = schema["definitions"].clone();
            let v = jsonschema::draft7::new(&standalone).unwrap();
            assert!(v.is_valid(default), "{at}: default {default}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

/// Loader errors of one file of `format` (with `${VAR}` unset unless it has a default). A web
/// config is checked by `dcrawl validate --web-config`, next to the example specs and alerts.
fn loader_errors(format: Format, text: &str) -> Option<String> {
    if format == Format::Web {
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path().join("web.yml");
        std::fs::write(&web, text).unwrap();
        let out = dcrawl()
            .arg("validate")
            .arg("--specs")
            .arg(root().join("specs"))
            .arg("--alerts")
            .arg(root().join("alerts"))
            .arg("--web-config")
            .arg(&web)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        return match out.status.code() {
            Some(0) => None,
            Some(2) => Some(stderr),
            other => panic!("dcrawl validate exited with {other:?}: {stderr}"),
        };
    }
    let sources = [Source {
        name: "t.yaml".into(),
        text: text.into(),
    }];
    let no_env = |_: &str| None;
    match format {
        Format::Spec => dcrawl::spec::load_sources(&sources, &no_env)
            .err()
            .map(|d| d.to_string()),
        Format::Alerts => dcrawl::alert::config::load_sources(&sources, &no_env)
            .err()
            .map(|d| d.to_string()),
        Format::Web => unreachable!("checked above"),
    }
}

/// `base` with each mutation must be rejected by the loader and by the schema, with a schema
/// error at `path` whose message names `word`.
fn assert_mutations_rejected(format: Format, base: &str, cases: &[(&str, &str, &str, &str)]) {
    let v = validator(format);
    assert_eq!(loader_errors(format, base), None, "the base must load");
    assert_eq!(errors(&v, "base.yaml", base), Vec::<String>::new());
    for (from, to, path, word) in cases {
        assert!(base.contains(from), "{from:?} is not in the base");
        let text = base.replacen(from, to, 1);
        assert!(
            loader_errors(format, &text).is_some(),
            "the loader accepts {to:?}"
        );
        let errs = errors(&v, "t.yaml", &text);
        let hit = errs
            .iter()
            .any(|e| e.starts_with(&format!("{path}: ")) && e.contains(word));
        assert!(
            hit,
            "{to:?}: no error at {path:?} naming {word:?}: {errs:#?}"
        );
    }
}

const SPEC_BASE: &str = "name: s
labels: {team: web}
targets:
  - name: t
    url: http://127.0.0.1/
    timeout: 5s
    retries: 1
    body: hello
    expect:
      status: 200
      html:
        - css: h1
          text: {contains: Shop}
          match: all
      json:
        - path: $.a
          value: {type: string}
    extract:
      - name: n
        css: li
";

/// Mutations of `SPEC_BASE`: (from, to, path of the schema error, a word in its message).
#[rustfmt::skip]
const SPEC_MISTAKES: &[(&str, &str, &str, &str)] = &[
    ("name: s\n", "name: s\nschedul: '@hourly'\n", "", "schedul"),
    ("    timeout", "    expct: {}\n    timeout", "/targets/0", "expct"),
    ("{contains: Shop}", "{contain: Shop}", "/targets/0/expect/html/0/text", "contain"),
    ("match: all", "match: some", "/targets/0/expect/html/0/match", "some"),
    ("{type: string}", "{type: integer}", "/targets/0/expect/json/0/value/type", "integer"),
    ("timeout: 5s", "timeout: 10", "/targets/0/timeout", "string"),
    ("timeout: 5s", "timeout: 5 secs and a bit", "/targets/0/timeout", "does not match"),
    ("retries: 1", "retries: 11", "/targets/0/retries", "maximum"),
    ("retries: 1", "retries: many", "/targets/0/retries", "does not match"),
    ("retries: 1", "max_body: lots", "/targets/0/max_body", "does not match"),
    ("status: 200", "status: 700", "/targets/0/expect/status", "maximum"),
    ("status: 200", "status: [200, 6xx]", "/targets/0/expect/status/1", "does not match"),
    // Without `url` a target needs `steps`: exactly one of the two.
    ("    url: http://127.0.0.1/\n", "", "/targets/0", "oneOf"),
    ("url: http://", "url: ftp://", "/targets/0/url", "does not match"),
    ("    body: hello\n", "    body: hello\n    json: {a: 1}\n", "/targets/0", "json"),
    ("    expect:\n", "    expect_each: {status: 200}\n    expect:\n", "/targets/0", "crawl"),
    ("        css: li\n", "        css: li\n        path: $.a\n", "/targets/0/extract/0", ""),
    ("        css: li\n", "        text: true\n", "/targets/0/extract/0", ""),
    ("name: s\n", "name: s\nschedule: every 5 minutes\n", "/schedule", "does not match"),
    ("{team: web}", "{9team: web}", "/labels", "9team"),
    ("match: all", "count: -1", "/targets/0/expect/html/0/count", "minimum"),
    ("    body: hello\n", "    body: hello\n    headers: {Content Type: x}\n", "/targets/0/headers", "Content Type"),
    ("- name: t", "- name: T", "/targets/0/name", "does not match"),
    ("targets:\n", "defaults: {tls_verify: maybe}\ntargets:\n", "/defaults/tls_verify", "does not match"),
];

#[test]
fn spec_mistakes_are_flagged_where_they_are() {
    assert_mutations_rejected(Format::Spec, SPEC_BASE, SPEC_MISTAKES);
}

const ALERTS_BASE: &str = "channels:
  ops:
    webhook: {url: \"http://127.0.0.1:9/hook\", format: json}
  mail:
    email:
      smtp: {host: 127.0.0.1, port: 2525, tls: none, username: u, password: pw}
      from: dcrawl@example.com
      to: [ops@example.com]
routes:
  - match: {spec: shop}
    channels: [ops, mail]
    after: 2
    repeat: 4h
";

/// Mutations of `ALERTS_BASE`, as `SPEC_MISTAKES`.
#[rustfmt::skip]
const ALERT_MISTAKES: &[(&str, &str, &str, &str)] = &[
    ("routes:", "route:", "", "route"),
    ("format: json", "format: xml", "/channels/ops/webhook/format", "xml"),
    ("tls: none", "tls: ssl", "/channels/mail/email/smtp/tls", "ssl"),
    ("port: 2525", "port: 70000", "/channels/mail/email/smtp/port", "maximum"),
    (", password: pw", "", "/channels/mail/email/smtp", "password"),
    ("    webhook: {", "    alertmanager: {url: \"http://127.0.0.1:9093\"}\n    webhook: {", "/channels/ops", ""),
    ("    webhook: {url: \"http://127.0.0.1:9/hook\", format: json}\n", "    template: {body: x}\n", "/channels/ops", ""),
    ("channels: [ops, mail]", "channels: []", "/routes/0/channels", ""),
    ("channels: [ops, mail]", "channels: [ops, ops]", "/routes/0/channels", ""),
    ("after: 2", "after: 0", "/routes/0/after", "minimum"),
    ("repeat: 4h", "repeat: 4", "/routes/0/repeat", "string"),
    ("  ops:\n", "  Ops:\n", "/channels", "Ops"),
    ("to: [ops@example.com]", "to: []", "/channels/mail/email/to", ""),
    ("      from:", "      form:", "/channels/mail/email", "form"),
    ("{spec: shop}", "{spec: shop, 9x: a}", "/routes/0/match", "9x"),
];

#[test]
fn alert_mistakes_are_flagged_where_they_are() {
    assert_mutations_rejected(Format::Alerts, ALERTS_BASE, ALERT_MISTAKES);
}

/// A web config the loader accepts (TLS is left out: the loader reads its files).
fn web_base() -> String {
    let hash = bcrypt::hash("pw", 4).unwrap();
    format!(
        "basic_auth_users:\n  alice: \"{hash}\"\n\
         bearer_tokens: [\"s3cr3t-token.v1~+/==\"]\n\
         protect_metrics: true\n\
         limits: {{header_read_timeout: 5s, request_timeout: 10s, max_connections: 256}}\n"
    )
}

/// Mutations of `web_base()`, as `SPEC_MISTAKES`.
#[rustfmt::skip]
const WEB_MISTAKES: &[(&str, &str, &str, &str)] = &[
    ("protect_metrics: true", "protect_metric: true", "", "protect_metric"),
    ("protect_metrics: true", "protect_metrics: maybe", "/protect_metrics", "does not match"),
    ("max_connections: 256", "max_connections: -1", "/limits/max_connections", "minimum"),
    ("max_connections: 256", "max_connections: 100001", "/limits/max_connections", "maximum"),
    ("max_connections: 256", "max_conections: 256", "/limits", "max_conections"),
    ("request_timeout: 10s", "request_timeout: 10", "/limits/request_timeout", "string"),
    ("header_read_timeout: 5s", "header_read_timeout: soon", "/limits/header_read_timeout", "does not match"),
    ("  alice:", "  \"alice:admin\":", "/basic_auth_users", "alice:admin"),
    ("[\"s3cr3t", "[\"bad token\", \"s3cr3t", "/bearer_tokens/0", "does not match"),
    ("bearer_tokens: [\"s3cr3t-token.v1~+/==\"]", "bearer_tokens: {t: x}", "/bearer_tokens", "array"),
    ("limits:", "tls_server_config: {cert_file: server.crt}\nlimits:", "/tls_server_config", "key_file"),
];

#[test]
fn web_config_mistakes_are_flagged_where_they_are() {
    assert_mutations_rejected(Format::Web, &web_base(), WEB_MISTAKES);
}

/// The example web config of the README's "Securing the endpoints".
fn readme_web_config() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("```yaml\n# web.yml")
        .expect("the README's web config")
        + 8;
    let len = readme[start..].find("```").unwrap();
    readme[start..start + len].to_string()
}

#[test]
fn the_readme_web_config_and_an_empty_one_are_valid() {
    let v = validator(Format::Web);
    let example = readme_web_config();
    assert!(example.contains("tls_server_config"), "{example}");
    assert_eq!(errors(&v, "README.md", &example), Vec::<String>::new());
    assert_eq!(errors(&v, "empty.yml", "# nothing\n"), Vec::<String>::new());
    assert_eq!(loader_errors(Format::Web, "# nothing\n"), None);
    let one_token = "bearer_tokens: \"${DCRAWL_TOKEN:-t0ken}\"\nprotect_metrics: \"${P:-true}\"\n";
    assert_eq!(loader_errors(Format::Web, one_token), None);
    assert_eq!(errors(&v, "one.yml", one_token), Vec::<String>::new());
}

#[test]
fn interpolated_values_are_not_flagged() {
    let spec = "name: ${SPEC_NAME:-s}
schedule: ${SCHEDULE:-@hourly}
defaults:
  timeout: ${TIMEOUT:-5s}
  retries: ${RETRIES:-1}
  max_body: ${MAX_BODY:-1MiB}
  tls_verify: ${VERIFY:-true}
targets:
  - name: t
    url: ${BASE:-http://127.0.0.1}/
    method: ${METHOD:-GET}
    crawl: {max_pages: \"${PAGES:-10}\", robots: \"false\"}
    expect:
      status: ${STATUS:-200}
      html:
        - css: h1
          match: ${MATCH:-any}
          count: {min: \"${MIN:-1}\"}
      json:
        - path: $.a
          value: {lt: \"${MAX:-5}\", type: \"${TYPE:-number}\"}
";
    let alerts = "channels:
  ops:
    webhook: {url: \"${HOOK_URL:-http://127.0.0.1:9/hook}\", format: \"${FORMAT:-slack}\"}
  mail:
    email:
      smtp: {host: \"${SMTP_HOST:-127.0.0.1}\", port: \"${SMTP_PORT:-25}\", tls: \"${TLS:-none}\"}
      from: dcrawl@example.com
      to: ops@example.com
routes:
  - channels: [ops, mail]
    after: ${AFTER:-3}
    repeat: ${REPEAT:-1h}
    resolved: ${RESOLVED:-false}
";
    for (format, text) in [(Format::Spec, spec), (Format::Alerts, alerts)] {
        assert_eq!(loader_errors(format, text), None, "{format:?}");
        assert_eq!(
            errors(&validator(format), "i.yaml", text),
            Vec::<String>::new()
        );
    }
}

/// Invalid fixtures the schema cannot flag: their problems are semantic (syntax of regexes,
/// selectors, JSONPath, cron and time zones; unique names; unset variables; channel names),
/// or the file is not YAML at all.
const SEMANTIC_ONLY: [&str; 16] = [
    "alerts/invalid/bad_email.yaml",
    "alerts/invalid/bad_regex.yaml",
    "alerts/invalid/bad_template.yaml",
    "alerts/invalid/duplicate_channel/a.yaml",
    "alerts/invalid/duplicate_channel/b.yaml",
    "alerts/invalid/unknown_channel.yaml",
    "alerts/invalid/unset_variable.yaml",
    "specs/invalid/duplicate_spec/a.yaml",
    "specs/invalid/duplicate_spec/b.yaml",
    "specs/invalid/duplicate_target.yaml",
    "specs/invalid/invalid_cron.yaml",
    "specs/invalid/invalid_css.yaml",
    "specs/invalid/invalid_jsonpath.yaml",
    "specs/invalid/invalid_regex.yaml",
    "specs/invalid/invalid_timezone.yaml",
    "specs/invalid/unset_variable.yaml",
];

#[test]
fn invalid_fixtures_are_flagged_unless_semantic() {
    let fixtures = root().join("tests/fixtures");
    let mut accepted = BTreeSet::new();
    let mut flagged = 0;
    for (format, dir) in [(Format::Spec, "specs"), (Format::Alerts, "alerts")] {
        let v = validator(format);
        let mut files = Vec::new();
        yaml_files(&fixtures.join(dir).join("invalid"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let rel = file.strip_prefix(&fixtures).unwrap().display().to_string();
            let Ok(json) = instance(&text) else {
                continue; // not YAML (a syntax error, an alias bomb): no schema applies
            };
            if v.is_valid(&json) {
                accepted.insert(rel);
            } else {
                flagged += 1;
            }
        }
    }
    let expected: BTreeSet<String> = SEMANTIC_ONLY.iter().map(|s| s.to_string()).collect();
    assert_eq!(accepted, expected);
    assert!(flagged >= 15, "{flagged}");
}
