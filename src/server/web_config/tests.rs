//! Loading the web config: keys, positions, defaults, and secrets kept out of every message.

use std::path::Path;

use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("from-env-T0ken".into()),
        "BAD_TOKEN" => Some("has space-s3cret".into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<WebConfig, Diagnostics> {
    load_source("web.yml", text, Path::new("."), &env)
}

fn errors(text: &str) -> Vec<String> {
    load(text)
        .unwrap_err()
        .0
        .iter()
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn no_file_and_empty_file_give_the_defaults() {
    for c in [
        load_optional(None, &env).unwrap(),
        load("# nothing\n").unwrap(),
    ] {
        assert!(c.tls.is_none());
        assert!(c.auth.is_open());
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.scheme(), "http");
    }
}

#[test]
fn a_full_file_loads() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let c = load(&format!(
        "basic_auth_users:\n  alice: \"{hash}\"\nbearer_tokens: [\"${{TOKEN}}\", abc.DEF-1~+/==]\n\
         protect_metrics: true\nlimits: {{header_read_timeout: 2s, request_timeout: 1m, max_connections: \"8\"}}\n"
    ))
    .unwrap();
    assert!(c.auth.protects("/metrics"));
    assert!(!c.auth.protects("/healthz"));
    assert_eq!(
        c.limits,
        Limits {
            header_read_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(60),
            max_connections: 8,
        }
    );
}

#[test]
fn every_problem_is_positioned() {
    let lines = errors(
        "tls_server_config: {cert_file: missing.crt}\n\
         basic_auth_users:\n  \"a:b\": x\n  bob: \"$2y$10$short\"\n\
         bearer_tokens: [\"\", \"${NOPE}\"]\n\
         limits: {request_timeout: 0s, max_connections: 0, idle: 1s}\n\
         tls: {}\n",
    );
    assert_eq!(
        lines,
        vec![
            "web.yml:1:20: missing required key `key_file` in tls_server_config",
            "web.yml:3:3: invalid user name \"a:b\": must be non-empty, without `:`",
            "web.yml:4:8: invalid bcrypt hash for user \"bob\": the hash format is malformed; expected \
             60 ASCII bytes (a hash looks like `$2y$10$` and 53 more characters, as `htpasswd -nBC 10 \
             bob` prints)",
            "web.yml:5:17: this bearer token is empty (is its variable set?)",
            "web.yml:5:21: environment variable `NOPE` is not set (use ${NOPE:-default} for a default)",
            "web.yml:6:27: request_timeout must be more than 0",
            "web.yml:6:48: max_connections must be between 1 and 100000, found 0",
            "web.yml:6:51: unknown key `idle` in limits (allowed: header_read_timeout, \
             request_timeout, max_connections)",
            "web.yml:7:1: unknown key `tls` in web config (allowed: tls_server_config, \
             basic_auth_users, bearer_tokens, protect_metrics, limits)",
        ]
    );
}

#[test]
fn tls_files_are_read_relative_to_the_file_and_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("s.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("s.key"), key.serialize_pem()).unwrap();
    let file = dir.path().join("web.yml");
    std::fs::write(
        &file,
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n",
    )
    .unwrap();
    let c = load_file(&file, &env).unwrap();
    assert_eq!(c.scheme(), "https");
    assert_eq!(c.tls.unwrap().cert_file, dir.path().join("s.crt"));

    std::fs::write(
        &file,
        "tls_server_config:\n  cert_file: s.crt\n  key_file: nope.key\n",
    )
    .unwrap();
    let e = load_file(&file, &env).unwrap_err().to_string();
    let at = format!("{}:3:13: cannot read the key file ", file.display());
    assert!(e.starts_with(&at), "{e}");
    assert!(e.contains("nope.key"), "{e}");
}

#[test]
fn protect_metrics_needs_credentials() {
    assert_eq!(
        errors("protect_metrics: true\n"),
        vec![
            "web.yml:1:18: protect_metrics needs credentials: add basic_auth_users or bearer_tokens"
        ]
    );
}

/// No token, password hash or value from the environment shows in an error message or in the
/// loaded configuration's `Debug` output (what a log line would print).
#[test]
fn secrets_never_show() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let text = format!(
        "basic_auth_users: {{alice: \"{hash}\"}}\nbearer_tokens: [\"${{TOKEN}}\", \"${{BAD_TOKEN}}\", \
         \"file token\"]\nlimits: {{request_timeout: \"${{TOKEN}}\"}}\n"
    );
    let shown = load(&text).unwrap_err().to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
    for secret in ["from-env-T0ken", "s3cret", "file token", hash.as_str()] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("***"), "{shown}");

    let ok = load(&format!(
        "basic_auth_users: {{alice: \"{hash}\"}}\nbearer_tokens: [\"${{TOKEN}}\"]\n"
    ))
    .unwrap();
    let debug = format!("{ok:?}");
    assert!(debug.contains("alice"), "{debug}");
    assert!(!debug.contains("from-env-T0ken"), "{debug}");
    assert!(!debug.contains(&hash) && !debug.contains("$2"), "{debug}");
}
