//! Secrets are never printed back (CONTRACT §1): values from `${VAR}` and credential-named header
//! values are planted in a spec and an alert file, a local server echoes every one of them back
//! (in the body, a header, a redirect URL), and then every output dcrawl has is grepped for them:
//! `check` in text and JSON with debug logs, `validate` errors, the daemon's debug logs in text
//! and JSON, `/`, `/api/v1/status`, `/metrics`, the JSON, Slack and Alertmanager payloads it
//! posts, and its state directory on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use daemon_support::Daemon;
use tokio::net::TcpListener;

/// From the environment (`${PLANT_TOKEN}`): in a URL query (where it is percent-encoded) and an
/// `Authorization` header.
const ENV_TOKEN: &str = "tok-PLANTED env<4711>";
/// A literal value of a header named like a credential.
const API_KEY: &str = "key-PLANTED-literal-0815";
/// A cookie value.
const COOKIE: &str = "cookie-PLANTED-9999";
/// The webhook's own bearer token (`${HOOK_TOKEN}` in the alert file).
const HOOK_TOKEN: &str = "hook-PLANTED-1234";
/// An SMTP password that is never used (the channel is never routed to), only loaded.
const SMTP_PASSWORD: &str = "smtp-PLANTED-5678";

/// The token a flow's login step returns and captures with `secret: true`; the next step sends
/// it in a URL query (percent-encoded) and a header, and the site echoes it back.
const FLOW_TOKEN: &str = "flow-PLANTED tok<77>";

const ALL: [&str; 6] = [
    ENV_TOKEN,
    API_KEY,
    COOKIE,
    HOOK_TOKEN,
    SMTP_PASSWORD,
    FLOW_TOKEN,
];

/// Fail, naming the secret and where it appeared, if any planted secret is in `text`.
fn assert_clean(what: &str, text: &str) {
    for secret in ALL {
        // The distinctive middle part too, so that partial leaks are caught.
        for needle in [secret, "PLANTED"] {
            if let Some(at) = text.find(needle) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(120)
                    .map_or(0, |(i, _)| i);
                let to = (at + 120).min(text.len());
                let to = (to..=text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap();
                panic!(
                    "{what} leaks a secret ({needle:?}):\n...{}...",
                    &text[from..to]
                );
            }
        }
    }
}

/// Everything a request carried, as one line: query, Authorization, X-Api-Key and Cookie.
fn echo_line(uri: &Uri, headers: &HeaderMap) -> String {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    format!(
        "query={} auth={} key={} cookie={}",
        uri.query().unwrap_or(""),
        h("authorization"),
        h("x-api-key"),
        h("cookie")
    )
}

/// A page that echoes the request's credentials in its `<h1>`, a header and its title, and
/// links to itself with the same query (a crawl finds URLs that carry the token).
async fn echo_html(uri: Uri, headers: HeaderMap) -> Response {
    let line = echo_line(&uri, &headers);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::HeaderName::from_static("x-echo"), line.clone()),
        ],
        format!(
            "<!doctype html><html><head><title>{line}</title></head><body><h1>{line}</h1>\
             <a href=\"/echo?{}&page=2\">next</a></body></html>",
            uri.query().unwrap_or("")
        ),
    )
        .into_response()
}

/// A JSON document echoing the credentials.
async fn echo_json(uri: Uri, headers: HeaderMap) -> Response {
    let line = echo_line(&uri, &headers);
    axum::Json(serde_json::json!({ "auth": line, "items": [line] })).into_response()
}

/// Redirects to itself, with the query (and its token) kept: a redirect loop naming the URL.
async fn redirect_loop(uri: Uri) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, uri.to_string())],
        "loop",
    )
        .into_response()
}

/// A 500 whose body is the echo line: a failing status with a secret-bearing body.
async fn error_page(uri: Uri, headers: HeaderMap) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, echo_line(&uri, &headers)).into_response()
}

/// The target site, on 127.0.0.1.
async fn site() -> String {
    let app = Router::new()
        .route("/echo", get(echo_html))
        .route("/json", get(echo_json))
        .route("/loop", get(redirect_loop))
        .route("/error", get(error_page))
        .route(
            "/login",
            axum::routing::post(|| async { axum::Json(serde_json::json!({"token": FLOW_TOKEN})) }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Every POST body a receiver got, with its path.
type Posts = Arc<Mutex<Vec<(String, String)>>>;

/// Records any POST (webhook JSON, Slack, Alertmanager's `/api/v2/alerts`).
async fn receiver() -> (String, Posts) {
    let posts: Posts = Arc::default();
    let app = Router::new()
        .fallback(|State(posts): State<Posts>, req: Request| async move {
            let path = req.uri().path().to_string();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            posts
                .lock()
                .unwrap()
                .push((path, String::from_utf8_lossy(&body).into_owned()));
            StatusCode::OK
        })
        .with_state(posts.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), posts)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The spec: every target carries the planted credentials and fails in its own way, each
/// failure quoting what the server echoed.
fn spec(site: &str) -> String {
    let closed = closed_port();
    format!(
        r#"name: vault
schedule: "@every 1s"
defaults:
  timeout: 2s
  headers:
    Authorization: "Bearer ${{PLANT_TOKEN}}"
    X-Api-Key: "{API_KEY}"
    Cookie: "session={COOKIE}"
targets:
  - name: echo-html
    url: "{site}/echo?api_token=${{PLANT_TOKEN}}"
    expect:
      headers: {{x-echo: "nope"}}
      body: [{{contains: "nope"}}]
      html:
        - {{css: h1, text: "nope"}}
        - {{css: title, text: {{matches: "^nope$"}}}}
    extract:
      - {{name: heading, css: h1, text: true}}
  - name: echo-json
    url: "{site}/json?api_token=${{PLANT_TOKEN}}"
    expect:
      json:
        - {{path: $.auth, value: "nope"}}
        - {{path: "$.items[*]", value: {{one_of: [a, b]}}}}
    extract:
      - {{name: auth, path: $.auth}}
  - name: crawl
    url: "{site}/echo?api_token=${{PLANT_TOKEN}}"
    expect: {{status: 200}}
    crawl: {{max_depth: 2, robots: false}}
    expect_each:
      html: [{{css: h1, text: "nope"}}]
  - name: loop
    url: "{site}/loop?api_token=${{PLANT_TOKEN}}"
  - name: error
    url: "{site}/error?api_token=${{PLANT_TOKEN}}"
  - name: down
    url: "http://127.0.0.1:{closed}/?api_token=${{PLANT_TOKEN}}"
  - name: flow
    steps:
      - name: login
        url: "{site}/login"
        method: POST
        capture:
          token: {{json: $.token, secret: true}}
      - name: me
        url: "{site}/json?flow_token={{{{token}}}}"
        headers: {{Authorization: "Bearer {{{{token}}}}"}}
        expect:
          json: [{{path: $.auth, value: "nope"}}]
      - name: again
        url: "{site}/echo?flow_token={{{{token}}}}"
        always_run: true
        expect:
          html: [{{css: h1, text: "nope"}}]
"#
    )
}

/// Alert routes: every target to a JSON webhook, a Slack webhook and Alertmanager, all on the
/// local receiver; an email channel holds a password that is only loaded.
fn alerts(receiver: &str) -> String {
    format!(
        r#"channels:
  hook:
    webhook:
      url: "{receiver}/hook"
      headers: {{Authorization: "Bearer ${{HOOK_TOKEN}}"}}
  slack:
    webhook: {{url: "{receiver}/slack", format: slack}}
  am:
    alertmanager: {{url: "{receiver}"}}
  mail:
    email:
      smtp: {{host: 127.0.0.1, port: {closed}, tls: none, username: u, password: "${{SMTP_PASSWORD}}"}}
      from: "dcrawl <dcrawl@example.com>"
      to: [oncall@example.com]
routes:
  - channels: [hook, slack, am]
    after: 1
"#,
        closed = closed_port()
    )
}

const ENV: [(&str, &str); 4] = [
    ("PLANT_TOKEN", ENV_TOKEN),
    ("HOOK_TOKEN", HOOK_TOKEN),
    ("SMTP_PASSWORD", SMTP_PASSWORD),
    ("RUST_LOG", "debug"),
];

/// `dcrawl ARGS` with the planted environment: exit code and stdout + stderr.
fn dcrawl(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .args(args)
        .envs(ENV)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Every file under `dir`, read as bytes and decoded lossily.
fn files_text(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.push_str(&files_text(&path));
        } else {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_never_appear_in_any_output() {
    let site = site().await;
    let (hooks, posts) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    let alert_dir = dir.path().join("alerts");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::create_dir_all(&alert_dir).unwrap();
    std::fs::write(specs.join("vault.yaml"), spec(&site)).unwrap();
    std::fs::write(alert_dir.join("routes.yaml"), alerts(&hooks)).unwrap();
    let specs_arg = specs.to_str().unwrap().to_string();
    let alerts_arg = alert_dir.to_str().unwrap().to_string();

    // `check`, text and JSON, with debug logs on stderr.
    for format in ["text", "json"] {
        let (code, out) = dcrawl(&["check", "--specs", &specs_arg, "--format", format]);
        assert_eq!(code, Some(1), "{out}");
        // The checks really saw the echoed secrets (else this test proves nothing).
        assert!(out.contains("***"), "check --format {format}:\n{out}");
        assert_clean(&format!("check --format {format}"), &out);
        if format == "json" {
            // The flow's captured token really came back from the site, redacted.
            assert!(
                out.contains("flow_token=***"),
                "the flow token was not echoed: {out}"
            );
        }
    }

    // `validate` with errors made of secrets: a duration, a status and a URL from the token.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("bad.yaml"),
        "name: bad\ntargets:\n  - name: t\n    url: \"${PLANT_TOKEN}\"\n    timeout: \"${PLANT_TOKEN}\"\n    headers: {\"X-Token\": \"${PLANT_TOKEN}\\u0007\"}\n",
    )
    .unwrap();
    let (code, out) = dcrawl(&[
        "validate",
        "--specs",
        bad.to_str().unwrap(),
        "--alerts",
        &alerts_arg,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("bad.yaml:4:"), "{out}");
    assert_clean("validate", &out);

    // The daemon, text logs then JSON logs.
    for log_format in ["text", "json"] {
        posts.lock().unwrap().clear();
        let daemon = Daemon::start_with_env(
            [
                "--specs",
                &specs_arg,
                "--alerts",
                &alerts_arg,
                "--log-format",
                log_format,
            ],
            &ENV,
        )
        .await;
        let mut waited = Duration::ZERO;
        // Until every channel got its alerts and the redirect-loop target (whose error the log
        // quotes, redacted) has run: it may come last in its second.
        while !(["/hook", "/slack", "/api/v2/alerts"]
            .iter()
            .all(|p| posts.lock().unwrap().iter().filter(|(q, _)| q == p).count() >= 5)
            && daemon.log().contains("vault/loop"))
        {
            assert!(
                waited < Duration::from_secs(30),
                "alerts did not arrive: {:?}\n{}",
                posts.lock().unwrap(),
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        }
        let page = daemon.text("/").await;
        let status = daemon.text("/api/v1/status").await;
        let metrics = daemon.metrics().await;
        assert!(status.contains("***"), "{status}");
        assert!(page.contains("***"), "{page}");
        assert_clean("the status page", &page);
        assert_clean("/api/v1/status", &status);
        assert_clean("/metrics", &metrics);
        for (path, body) in posts.lock().unwrap().iter() {
            assert_clean(&format!("the payload posted to {path}"), body);
        }
        let mut daemon = daemon;
        daemon.signal("TERM");
        let exit = daemon.wait_exit(Duration::from_secs(20)).await;
        assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", daemon.log());
        let log = daemon.log();
        assert!(
            log.contains("***"),
            "the {log_format} log quotes no redacted failure:\n{log}"
        );
        assert_clean(&format!("the daemon's {log_format} log"), &log);
        assert_clean("the state directory", &files_text(&daemon.state_dir()));
    }
}

/// Issue 13 item 9: targets and channels derived `Debug` with their credentials inside, so any
/// `?target` in a log line would have printed them. Their `Debug` shows every field but no
/// secret: `${VAR}` values in URLs, headers and bodies, credential headers, passwords.
#[test]
fn debug_of_targets_and_channels_shows_no_secret() {
    let env = |name: &str| {
        ENV.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let bodies = r#"name: posts
targets:
  - name: raw
    url: http://127.0.0.1:9/
    method: POST
    body: "token=${PLANT_TOKEN}"
  - name: json
    url: http://127.0.0.1:9/
    method: POST
    json: {token: "${PLANT_TOKEN}", nested: ["${HOOK_TOKEN}"]}
"#;
    let source = |name: &str, text: String| dcrawl::spec::Source {
        name: name.into(),
        text,
    };
    let specs = dcrawl::spec::load_sources(
        &[
            source("vault.yaml", spec("http://127.0.0.1:9")),
            source("posts.yaml", bodies.to_string()),
        ],
        &env,
    )
    .unwrap();
    for t in specs.targets() {
        assert_clean(&format!("Debug of {}", t.id()), &format!("{t:?}"));
        assert_clean(&format!("pretty Debug of {}", t.id()), &format!("{t:#?}"));
        assert!(format!("{t:?}").contains("***"), "{t:?}");
    }
    assert_clean("Debug of the configuration", &format!("{specs:?}"));
    // The secrets are still there to be used.
    let raw = specs.targets().find(|t| t.name == "raw").unwrap();
    assert!(raw.secrets.iter().any(|s| s == ENV_TOKEN));
    assert!(matches!(&raw.body, Some(dcrawl::model::RequestBody::Raw(b)) if b.contains(ENV_TOKEN)));

    let alerts = dcrawl::alert::config::load_sources(
        &[source("alerts.yaml", alerts("http://127.0.0.1:9"))],
        &env,
    )
    .unwrap();
    for (name, channel) in &alerts.channels {
        assert_clean(
            &format!("Debug of channel {name}"),
            &format!("{channel:#?}"),
        );
        assert_clean(
            &format!("Debug of channel {name}'s settings"),
            &format!("{:?}", channel.kind),
        );
    }
    assert_clean("Debug of the alert configuration", &format!("{alerts:?}"));
    let dcrawl::alert::ChannelKind::Email(mail) = &alerts.channels["mail"].kind else {
        panic!("mail is an email channel");
    };
    assert_eq!(
        mail.password.as_ref().map(|p| p.expose().as_str()),
        Some(SMTP_PASSWORD)
    );
}
