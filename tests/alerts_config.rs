#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Alert file loading and validation (CONTRACT §3): every error kind has a fixture whose
//! `FILE:LINE:COLUMN: message` lines are snapshotted; a full valid configuration is checked field
//! by field; the reference doc must equal what the key tables generate; and no input makes the
//! loader panic.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use dcrawl::alert::config::{load_paths, load_sources, reference_markdown};
use dcrawl::alert::{AlertConfig, ChannelKind, MatchValue, SmtpTls, WebhookFormat};
use dcrawl::spec::Source;
use proptest::prelude::*;

/// The environment the fixtures see.
fn test_env(name: &str) -> Option<String> {
    match name {
        "SMTP_PASSWORD" => Some("smtp-pass-123".to_string()),
        "HOOK_TOKEN" => Some("hook-tok-456".to_string()),
        "TEAM" => Some("ops".to_string()),
        _ => None,
    }
}

fn invalid(name: &str) -> String {
    let path = PathBuf::from(format!("tests/fixtures/alerts/invalid/{name}"));
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

invalid_fixture!(yaml_error, "yaml_error.yaml");
invalid_fixture!(unknown_key, "unknown_key.yaml");
invalid_fixture!(wrong_type, "wrong_type.yaml");
invalid_fixture!(missing_required, "missing_required.yaml");
invalid_fixture!(unknown_channel, "unknown_channel.yaml");
invalid_fixture!(bad_regex, "bad_regex.yaml");
invalid_fixture!(bad_email, "bad_email.yaml");
invalid_fixture!(bad_url, "bad_url.yaml");
invalid_fixture!(duplicate_channel, "duplicate_channel");
invalid_fixture!(email_and_webhook, "email_and_webhook.yaml");
invalid_fixture!(bad_template, "bad_template.yaml");
invalid_fixture!(username_without_password, "username_without_password.yaml");
invalid_fixture!(bad_duration, "bad_duration.yaml");
invalid_fixture!(unset_variable, "unset_variable.yaml");
invalid_fixture!(many_errors, "many_errors.yaml");

#[test]
fn many_errors_are_all_reported_at_once_and_sorted() {
    let out = invalid("many_errors.yaml");
    let positions: Vec<(usize, usize)> = out
        .lines()
        .map(|line| {
            let rest = line
                .strip_prefix("tests/fixtures/alerts/invalid/many_errors.yaml:")
                .unwrap_or_else(|| panic!("{line}"));
            let mut parts = rest.splitn(3, ':');
            let l = parts.next().unwrap().parse().unwrap();
            let c = parts.next().unwrap().parse().unwrap();
            (l, c)
        })
        .collect();
    assert!(positions.len() >= 25, "{out}");
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "{out}");
}

#[test]
fn secrets_never_appear_in_messages() {
    let out = invalid("unset_variable.yaml");
    assert!(!out.contains("hook-tok-456"), "{out}");
    let src = Source {
        name: "s.yaml".into(),
        text: "channels:\n  h:\n    webhook: {url: \"${HOOK_TOKEN}\"}\n".into(),
    };
    let err = load_sources(&[src], &test_env).unwrap_err().to_string();
    assert!(err.contains("invalid URL"), "{err}");
    assert!(!err.contains("hook-tok-456"), "{err}");
    assert!(err.contains("***"), "{err}");
}

fn full() -> AlertConfig {
    let path = PathBuf::from("tests/fixtures/alerts/valid");
    load_paths(&[path], &test_env).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn full_config_compiles_every_key() {
    let config = full();
    let names: Vec<&str> = config.channels.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "am",
            "hook-b",
            "oncall-email",
            "ops-hook",
            "starttls-email",
            "tls-email"
        ]
    );
    for (name, channel) in &config.channels {
        assert_eq!(&channel.name, name);
    }

    let mail = &config.channels["oncall-email"];
    let ChannelKind::Email(e) = &mail.kind else {
        panic!("{:?}", mail.kind)
    };
    assert_eq!(e.host, "127.0.0.1");
    assert_eq!(e.port, 2525);
    assert_eq!(e.tls, SmtpTls::None);
    assert_eq!(e.username.as_deref(), Some("dcrawl"));
    assert_eq!(
        e.password.as_ref().map(|p| p.expose().as_str()),
        Some("smtp-pass-123")
    );
    assert!(!e.tls_verify);
    assert_eq!(e.from, "dcrawl <dcrawl@example.com>");
    assert_eq!(e.to, ["oncall@example.com", "Ops Team <ops@example.com>"]);
    assert_eq!(&mail.secrets[..], ["smtp-pass-123"]);
    let t = mail.template.as_ref().unwrap();
    assert_eq!(
        t.subject.as_deref(),
        Some("[{{ status | upper }}] {{ spec }}/{{ target }}")
    );
    assert!(
        t.body
            .as_deref()
            .unwrap()
            .starts_with("{{ spec }}/{{ target }} is")
    );
    assert_eq!(t.payload, None);

    // Ports and security by `tls`, and the defaults.
    let ChannelKind::Email(tls) = &config.channels["tls-email"].kind else {
        panic!()
    };
    assert_eq!((tls.tls, tls.port), (SmtpTls::Tls, 465));
    assert!(tls.tls_verify);
    assert_eq!((tls.username.as_ref(), tls.password.as_ref()), (None, None));
    assert_eq!(tls.to, ["oncall@example.com"]);
    assert!(config.channels["tls-email"].secrets.is_empty());
    assert!(config.channels["tls-email"].template.is_none());
    let ChannelKind::Email(st) = &config.channels["starttls-email"].kind else {
        panic!()
    };
    assert_eq!((st.tls, st.port), (SmtpTls::Starttls, 587));
    assert_eq!(st.host, "::1");
    assert_eq!(
        st.to,
        ["oncall@example.com"],
        "the ${{ONCALL:-...}} default"
    );

    let hook = &config.channels["ops-hook"];
    let ChannelKind::Webhook(w) = &hook.kind else {
        panic!()
    };
    assert_eq!(w.url.as_str(), "http://127.0.0.1:8080/hook");
    assert_eq!(w.format, WebhookFormat::Json);
    assert_eq!(
        w.headers,
        [
            (
                "Authorization".to_string(),
                "Bearer hook-tok-456".to_string()
            ),
            ("X-Team".to_string(), "web".to_string()),
        ]
    );
    for secret in ["hook-tok-456", "Bearer hook-tok-456"] {
        assert!(
            hook.secrets.iter().any(|s| s == secret),
            "{:?}",
            hook.secrets
        );
    }
    assert!(!hook.secrets.iter().any(|s| s == "web"));
    assert_eq!(
        hook.template.as_ref().unwrap().payload.as_deref(),
        Some(r#"{"text": "{{ spec }}"}"#)
    );

    let ChannelKind::Webhook(slack) = &config.channels["hook-b"].kind else {
        panic!()
    };
    assert_eq!(slack.format, WebhookFormat::Slack);
    assert_eq!(slack.url.as_str(), "https://127.0.0.1:8443/slack");
    assert!(slack.headers.is_empty());

    let ChannelKind::Alertmanager(am) = &config.channels["am"].kind else {
        panic!()
    };
    assert_eq!(am.url.as_str(), "http://127.0.0.1:9093/");
}

#[test]
fn full_config_routes_in_file_order() {
    let config = full();
    assert_eq!(config.routes.len(), 3);

    let r = &config.routes[0];
    let keys: Vec<&str> = r.matchers.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["spec", "severity", "target"]);
    assert!(matches!(&r.matchers[0].value, MatchValue::Equals(v) if v == "shop"));
    assert!(matches!(&r.matchers[1].value, MatchValue::Equals(v) if v == "page"));
    assert!(
        matches!(&r.matchers[2].value, MatchValue::Regex(re) if re.as_str() == "^(?:home|api-.*)$")
    );
    assert_eq!(r.channels, ["oncall-email", "am"]);
    assert_eq!(r.after, 3);
    assert_eq!(r.repeat, Some(Duration::from_secs(4 * 3600)));
    assert!(!r.resolved);
    let labels: BTreeMap<String, String> = [("severity".to_string(), "page".to_string())].into();
    assert!(r.applies("shop", "api-v1", &labels));
    assert!(!r.applies("shop", "blog", &labels));

    let every = &config.routes[1];
    assert!(every.matchers.is_empty());
    assert_eq!(every.channels, ["ops-hook", "tls-email", "starttls-email"]);
    assert_eq!(every.after, dcrawl::alert::DEFAULT_AFTER);
    assert_eq!(every.repeat, None);
    assert!(every.resolved);

    // From more/routes.yaml: a channel of the other file, values from ${VAR} and defaults.
    let more = &config.routes[2];
    assert!(matches!(&more.matchers[0].value, MatchValue::Equals(v) if v == "ops"));
    assert_eq!(more.channels, ["hook-b"]);
    assert_eq!(more.after, 5);
    assert!(more.resolved);
}

#[test]
fn missing_paths_and_empty_files_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let config = load_paths(&[dir.path().join("alerts")], &test_env).unwrap();
    assert!(config.channels.is_empty() && config.routes.is_empty());
    let config = load_paths(&[dir.path().to_path_buf()], &test_env).unwrap();
    assert!(config.channels.is_empty() && config.routes.is_empty());
    let config = load_paths(&[], &test_env).unwrap();
    assert!(config.channels.is_empty());
    std::fs::write(dir.path().join("a.yaml"), "# nothing yet\n").unwrap();
    std::fs::write(dir.path().join("b.yml"), "channels:\nroutes:\n").unwrap();
    let config = load_paths(&[dir.path().to_path_buf()], &test_env).unwrap();
    assert!(config.channels.is_empty() && config.routes.is_empty());
}

#[test]
fn unreadable_file_is_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bin.yaml");
    std::fs::write(&file, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let err = load_paths(&[dir.path().to_path_buf()], &test_env).unwrap_err();
    let lines: Vec<String> = err.0.iter().map(|d| d.to_string()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{}:1:1: cannot read:", file.display())),
        "{lines:?}"
    );
}

#[test]
fn top_level_must_be_a_map() {
    let src = Source {
        name: "l.yaml".into(),
        text: "- channels: {}\n".into(),
    };
    let err = load_sources(&[src], &test_env).unwrap_err().to_string();
    assert_eq!(
        err,
        "l.yaml:1:1: expected a map (alert file), found a sequence"
    );
}

#[test]
fn alert_reference_doc_is_current() {
    let path = "docs/alert-reference.md";
    let generated = reference_markdown();
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        std::fs::create_dir_all("docs").unwrap();
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{path} is out of date: run `UPDATE_REFERENCE=1 cargo test --test alerts_config`"
    );
    for key in ["smtp", "tls_verify", "format", "payload", "after", "repeat"] {
        assert!(generated.contains(&format!("| `{key}` |")), "{key}");
    }
}

fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("channels:".to_string()),
        Just("routes:".to_string()),
        Just("  - ".to_string()),
        Just("  am:".to_string()),
        Just("email:".to_string()),
        Just("webhook:".to_string()),
        Just("alertmanager:".to_string()),
        Just("smtp: ".to_string()),
        Just("host: ".to_string()),
        Just("port: ".to_string()),
        Just("tls: ".to_string()),
        Just("username: ".to_string()),
        Just("password: ".to_string()),
        Just("from: ".to_string()),
        Just("to: ".to_string()),
        Just("url: ".to_string()),
        Just("headers: ".to_string()),
        Just("template: ".to_string()),
        Just("body: ".to_string()),
        Just("match: ".to_string()),
        Just("after: ".to_string()),
        Just("repeat: ".to_string()),
        Just("'~(".to_string()),
        Just("{{ x ".to_string()),
        Just("{% for %}".to_string()),
        Just("a <b@c>".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(", ".to_string()),
        Just("\n".to_string()),
        Just("    ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("${SMTP_PASSWORD}".to_string()),
        Just("${".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("http://127.0.0.1/".to_string()),
        "[a-z0-9_:.@~ -]{0,8}",
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
    fn yamlish_strings_never_panic(text in yamlish(), second in yamlish()) {
        let sources = [
            Source { name: "p.yaml".into(), text },
            Source { name: "q.yaml".into(), text: second },
        ];
        if let Err(d) = load_sources(&sources, &test_env) {
            prop_assert!(!d.is_empty());
            for diag in &d.0 {
                prop_assert!(diag.line >= 1 && diag.column >= 1);
                prop_assert!(!diag.message.contains("smtp-pass-123"), "{}", diag);
            }
        }
    }
}

fn dcrawl_in(dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("dcrawl").unwrap();
    cmd.current_dir(dir).env_remove("RUST_LOG");
    cmd
}

const SPEC: &str = "name: site\ntargets:\n  - name: home\n    url: http://127.0.0.1:9/\n";

#[test]
fn validate_counts_channels_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("specs")).unwrap();
    std::fs::create_dir_all(dir.path().join("alerts/team")).unwrap();
    std::fs::write(dir.path().join("specs/site.yaml"), SPEC).unwrap();
    std::fs::write(
        dir.path().join("alerts/channels.yaml"),
        "channels:\n  am:\n    alertmanager: {url: http://127.0.0.1:9093}\n  hook:\n    webhook: {url: http://127.0.0.1:9/}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alerts/team/routes.yaml"),
        "routes:\n  - channels: [am]\n  - match: {spec: site}\n    channels: [hook]\n  - channels: [am, hook]\n",
    )
    .unwrap();
    let out = dcrawl_in(dir.path()).arg("validate").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "1 specs, 1 targets, 2 channels, 3 routes OK"
    );
}

#[test]
fn validate_reports_spec_and_alert_errors_together() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-spec.yaml"), "name: site\ntargets: []\n").unwrap();
    std::fs::write(
        dir.path().join("b-alerts.yaml"),
        "routes:\n  - channels: [nowhere]\n",
    )
    .unwrap();
    let out = dcrawl_in(dir.path())
        .args([
            "validate",
            "--specs",
            "a-spec.yaml",
            "--alerts",
            "b-alerts.yaml",
        ])
        .args(["--alerts", "no-such-folder"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].starts_with("a-spec.yaml:2:10: `targets` is empty"),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "b-alerts.yaml:2:16: unknown channel \"nowhere\" (no channels are defined)"
    );
    assert!(
        lines[2].starts_with("no-such-folder:1:1: cannot read:"),
        "{err}"
    );
    assert_eq!(lines[3], "3 errors found; nothing was run");
}

#[test]
fn example_alerts_templates_render() {
    let config =
        load_paths(&[PathBuf::from("alerts")], &|_| None).unwrap_or_else(|d| panic!("{d}"));
    let facts = serde_json::json!({
        "status": "firing", "spec": "shop", "target": "home", "url": "http://127.0.0.1/",
        "labels": {"team": "web"}, "since": "2026-11-25T10:00:00Z", "consecutive_failures": 3,
        "result": "failure", "failures": [{"assertion": "html[0]", "message": "expected count >= 10, found 3"}],
    });
    let env = minijinja::Environment::new();
    let mut rendered = 0;
    for channel in config.channels.values() {
        let Some(t) = &channel.template else { continue };
        for (part, source) in [
            ("subject", &t.subject),
            ("body", &t.body),
            ("payload", &t.payload),
        ] {
            let Some(source) = source else { continue };
            let out = env
                .render_str(source, minijinja::value::Serde(&facts))
                .unwrap_or_else(|e| panic!("{} {part}: {e}", channel.name));
            assert!(out.contains("shop"), "{} {part}: {out}", channel.name);
            if part == "payload" {
                serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| {
                    panic!("{} payload is not JSON ({e}): {out}", channel.name)
                });
            }
            rendered += 1;
        }
    }
    assert_eq!(rendered, 4);
}
