//! Multi-step flows end to end: the real binary against a small app behind a login on
//! 127.0.0.1 (tests/support/flow_app.rs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flow_app.rs"]
mod flow_app;
#[path = "support/receivers.rs"]
mod receivers;
mod support;

use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use serde_json::Value;

/// `dcrawl ARGS` with `spec` as the only spec file; returns the output.
async fn dcrawl(spec: String, args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.yaml");
    std::fs::write(&file, spec).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcrawl"));
    cmd.args(args)
        .arg("--specs")
        .arg(&file)
        .env("NO_COLOR", "1");
    cmd.env("FLOW_PASSWORD", flow_app::PASSWORD);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (out, dir)
}

/// `check --format json` of `spec`: the first result, and the whole output.
async fn check(spec: String) -> (Value, Output) {
    let (out, _dir) = dcrawl(spec, &["check", "--format", "json"]).await;
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (doc["results"][0].clone(), out)
}

fn steps(r: &Value) -> Vec<(String, String)> {
    r["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps: {r:#}"))
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn spec(base: &url::Url, steps: &str) -> String {
    format!(
        "name: app\ntargets:\n  - name: flow\n    vars: {{user: alice, base: \"{}\"}}\n    steps:\n{steps}",
        base.as_str().trim_end_matches('/')
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn form_login_with_csrf_and_a_session_cookie_set_on_a_302() {
    let app = flow_app::start().await;
    let (r, out) = check(spec(
        &app.base,
        r##"      - name: form
        url: "{{base}}/login"
        capture:
          csrf: {css: 'input[name="csrf"]', attr: value}
          title: {css: title}
      - name: login
        url: "{{base}}/login"
        method: POST
        headers: {Content-Type: application/x-www-form-urlencoded}
        body: "user={{user}}&password=pa%20ss%26word&csrf={{csrf}}"  # form-encoded by hand
        follow_redirects: 0
        expect: {status: 302}
        capture:
          next: {header: Location}
          where: {redirect: true}
          session: {cookie: SID, secret: true}
      - name: account
        url: "{{where}}"
        expect:
          html: [{css: h1, text: {equals: Welcome alice}}]
        capture:
          order: {css: "#order", attr: data-id}
          heading: {css: h1, text: true, regex: 'Welcome (\w+)'}
          code: {status: true}
          landed: {url: true}
"##,
    ))
    .await;
    assert_eq!(r["result"], "success", "{r:#}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        steps(&r),
        [
            ("form", "success"),
            ("login", "success"),
            ("account", "success")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(r["steps"][1]["status"], 302);
    // The session cookie is a secret capture: never printed back.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(flow_app::SESSION), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_login_bearer_token_order_created_and_read_back_by_id() {
    let app = flow_app::start().await;
    let (r, out) = check(spec(
        &app.base,
        r##"      - name: login
        url: "{{base}}/api/login"
        method: POST
        json: {user: "{{user}}", password: "${FLOW_PASSWORD}"}
        expect: {status: 200}
        capture:
          token: {json: $.token, secret: true}
      - name: order
        url: "{{base}}/api/orders"
        method: POST
        headers: {Authorization: "Bearer {{token}}"}
        json: {item: "tea \"green\" & {{user}}"}
        expect: {status: 201}
        capture:
          id: {json: $.id}
      - name: read
        url: "{{base}}/api/orders/{{id}}"
        headers: {Authorization: "Bearer {{token}}"}
        expect:
          json:
            - {path: $.item, value: "tea \"green\" & alice"}
      - name: logout
        url: "{{base}}/api/logout"
        method: POST
        always_run: true
"##,
    ))
    .await;
    assert_eq!(r["result"], "success", "{r:#}");
    // The id "o 1/19?" went into the URL percent-encoded: the app found it.
    let orders = app.seen.orders.lock().unwrap().clone();
    assert_eq!(orders.len(), 1);
    assert!(orders.contains_key("o 1/19?"), "{orders:?}");
    assert_eq!(app.seen.logouts.load(Ordering::SeqCst), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(flow_app::TOKEN), "token leaked: {text}");
    assert!(
        r["steps"][2]["url"]
            .as_str()
            .unwrap()
            .contains("o%201%2F19%3F"),
        "{r:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_middle_step_skips_the_rest_but_always_run_cleanup_runs() {
    let app = flow_app::start().await;
    let (r, out) = check(spec(
        &app.base,
        r##"      - name: login
        url: "{{base}}/api/login"
        method: POST
        json: {user: "{{user}}", password: wrong}
        capture:
          token: {json: $.token}
      - name: profile
        url: "{{base}}/api/me"
        headers: {Authorization: "Bearer {{token}}"}
      - name: logout
        url: "{{base}}/api/logout"
        method: POST
        always_run: true
"##,
    ))
    .await;
    assert_eq!(r["result"], "failure", "{r:#}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        steps(&r),
        [
            ("login", "failure"),
            ("profile", "skipped"),
            ("logout", "success")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let ids: Vec<&str> = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["assertion"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["step.login.status"], "{r:#}");
    assert_eq!(
        app.seen.me.load(Ordering::SeqCst),
        0,
        "profile must not run"
    );
    assert_eq!(
        app.seen.logouts.load(Ordering::SeqCst),
        1,
        "cleanup must run"
    );

    // The text output names the step.
    let (text, _dir) = dcrawl(
        spec(
            &app.base,
            r##"      - name: login
        url: "{{base}}/api/login"
        method: POST
        json: {user: "{{user}}", password: wrong}
      - name: profile
        url: "{{base}}/api/me"
"##,
        ),
        &["check"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("step 1/2 login: FAIL 401"), "{stdout}");
    assert!(stdout.contains("step 2/2 profile: skipped"), "{stdout}");
    assert!(
        stdout.contains("status: expected 2xx, found 401"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capture_that_finds_nothing_fails_its_step() {
    let app = flow_app::start().await;
    let (r, _) = check(spec(
        &app.base,
        r##"      - name: login
        url: "{{base}}/api/login"
        method: POST
        json: {user: "{{user}}", password: "${FLOW_PASSWORD}"}
        capture:
          token: {json: $.nothing}
          sid: {cookie: SID}
          h: {header: X-Missing}
          r: {regex: 'id=(\d+)'}
      - name: next
        url: "{{base}}/api/me"
"##,
    ))
    .await;
    assert_eq!(r["result"], "failure", "{r:#}");
    let ids: Vec<&str> = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["assertion"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "step.login.capture.token",
            "step.login.capture.sid",
            "step.login.capture.h",
            "step.login.capture.r"
        ]
    );
    assert!(
        r["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("found nothing"),
        "{r:#}"
    );
    assert_eq!(steps(&r)[1].1, "skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flow_timeout_bounds_the_whole_run() {
    let app = flow_app::start().await;
    let text = format!(
        "name: app\ntargets:\n  - name: flow\n    timeout: 1s\n    steps:\n      - name: slow\n        url: \"{}slow\"\n        timeout: 10s\n      - name: after\n        url: \"{}api/me\"\n",
        app.base, app.base
    );
    let started = std::time::Instant::now();
    let (r, _) = check(text).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(r["result"], "error", "{r:#}");
    let error = r["error"].as_str().unwrap();
    assert!(error.starts_with("step 1/2 slow: flow timeout"), "{error}");
    assert_eq!(steps(&r)[1].1, "skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_and_tokens_never_follow_a_redirect_to_another_origin() {
    let app = flow_app::start().await;
    let (r, _) = check(spec(
        &app.base,
        r##"      - name: login
        url: "{{base}}/api/login"
        method: POST
        json: {user: "{{user}}", password: "${FLOW_PASSWORD}"}
        capture:
          token: {json: $.token, secret: true}
      - name: form
        url: "{{base}}/login"
        method: POST
        headers: {Content-Type: application/x-www-form-urlencoded}
        body: "user=a&password=pa%20ss%26word&csrf=csrf-123"
        follow_redirects: 0
        expect: {status: 302}
      - name: away
        url: "{{base}}/away"
        headers: {Authorization: "Bearer {{token}}"}
"##,
    ))
    .await;
    assert_eq!(r["result"], "success", "{r:#}");
    let foreign = app.seen.foreign.lock().unwrap().clone();
    assert_eq!(foreign, vec![(None, None)], "credentials crossed origins");
}

#[tokio::test(flavor = "multi_thread")]
async fn references_are_encoded_for_urls_and_json_and_expanded_once() {
    let app = flow_app::start().await;
    let (r, _) = check(
        spec(
            &app.base,
            r##"      - name: first
        url: "{{base}}/echo?q=a"
        capture:
          tricky: {regex: '"q":"(a)"'}
      - name: second
        url: "{{base}}/echo?q={{odd}}&u={{user}}"
        method: POST
        headers: {X-Note: "note {{user}} {{odd}}"}
        json: {text: "{{odd}}", list: ["{{user}}", 1]}
"##,
        )
        .replace(
            "vars: {user: alice,",
            "vars: {user: alice, odd: \"a&b=c d/\\\"{{user}}\\\"\",",
        ),
    )
    .await;
    assert_eq!(r["result"], "success", "{r:#}");
    let echo = app.seen.echo.lock().unwrap().clone().unwrap();
    let odd = "a&b=c d/\"{{user}}\"";
    assert_eq!(echo["query"]["q"], odd, "{echo:#}");
    assert_eq!(echo["query"]["u"], "alice");
    assert_eq!(echo["x_note"], format!("note alice {odd}"));
    assert_eq!(echo["body"]["text"], odd);
    assert_eq!(echo["body"]["list"], serde_json::json!(["alice", 1]));
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_names_every_mistake_at_its_position() {
    let text = r##"name: app
targets:
  - name: flow
    url: http://127.0.0.1:1/
    vars: {user: alice}
    steps:
      - name: a
        url: "http://127.0.0.1:1/{{later}}/{{nope}}"
        capture:
          user: {json: $.x}
      - name: a
        url: "http://127.0.0.1:1/{{user}}"
        capture:
          later: {json: $.y}
          bad: {json: $.z, header: X}
          none: {secret: true}
  - name: crawler
    crawl: {}
    steps:
      - name: s
        url: http://127.0.0.1:1/
"##;
    let (out, _dir) = dcrawl(text.to_string(), &["validate"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "flow.yaml:6:5: `url` and `steps` are exclusive",
        "flow.yaml:8:14: `{{later}}` is used before the step that captures it (step 2)",
        "flow.yaml:8:14: unknown name `{{nope}}`",
        "flow.yaml:10:11: `user` is already a variable (defined at line 5)",
        "flow.yaml:11:15: duplicate step name \"a\" (first defined at line 7)",
        "flow.yaml:15:28: `json` and `header` are exclusive",
        "flow.yaml:16:17: capture `none` needs a source",
        "flow.yaml:19:5: `crawl` and `steps` are exclusive",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_a_flow_on_schedule_and_its_alert_names_the_failing_step() {
    let app = flow_app::start().await;
    let hook = receivers::WebhookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (specs, alerts) = (dir.path().join("specs"), dir.path().join("alerts"));
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::create_dir_all(&alerts).unwrap();
    // The login works; the profile step sends no token, so it fails every run.
    let flow = format!(
        "name: app\nschedule: \"@every 1s\"\ntargets:\n  - name: flow\n    steps:\n      - name: login\n        url: \"{b}api/login\"\n        method: POST\n        json: {{user: a, password: \"${{FLOW_PASSWORD}}\"}}\n        capture: {{token: {{json: $.token, secret: true}}}}\n      - name: profile\n        url: \"{b}api/me\"\n      - name: logout\n        url: \"{b}api/logout\"\n        method: POST\n        always_run: true\n",
        b = app.base
    );
    std::fs::write(specs.join("app.yaml"), flow).unwrap();
    std::fs::write(
        alerts.join("routes.yaml"),
        format!(
            "channels:\n  hook:\n    webhook: {{url: \"{}\"}}\nroutes:\n  - channels: [hook]\n    after: 2\n",
            hook.url("/ok")
        ),
    )
    .unwrap();
    let d = daemon_support::Daemon::start_with_env(
        [
            std::ffi::OsString::from("--specs"),
            specs.clone().into_os_string(),
            std::ffi::OsString::from("--alerts"),
            alerts.clone().into_os_string(),
        ],
        &[("FLOW_PASSWORD", flow_app::PASSWORD)],
    )
    .await;
    let within = std::time::Duration::from_secs(20);
    d.until("a firing notification", within, || async {
        let n = hook.all().len();
        if n >= 1 {
            Ok(())
        } else {
            Err(format!("{n} received"))
        }
    })
    .await;
    let firing: Value = serde_json::from_slice(&hook.all()[0].body).unwrap();
    assert_eq!(firing["status"], "firing", "{firing:#}");
    assert_eq!(
        firing["failures"][0]["assertion"], "step.profile.status",
        "{firing:#}"
    );
    // Every run logged out, the step metrics are there, the status API shows each step.
    let metrics = d.metrics().await;
    assert!(
        metrics.contains("dcrawl_step_success{spec=\"app\",target=\"flow\",step=\"login\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dcrawl_step_success{spec=\"app\",target=\"flow\",step=\"profile\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("dcrawl_step_duration_seconds{spec=\"app\",target=\"flow\",step=\"logout\"}")
    );
    let target = d.target("app", "flow").await.unwrap();
    let shown: Vec<&str> = target["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["success", "failure", "success"], "{target:#}");
    assert!(app.seen.logouts.load(Ordering::SeqCst) >= 2);
    let page = d.text("/").await;
    assert!(page.contains("step 2&#x2f;3 profile: FAIL 401"), "{page}");
    assert!(!page.contains(flow_app::TOKEN) && !metrics.contains(flow_app::TOKEN));
    d.stop().await;
}
