//! `render` targets end to end: `dcrawl check` renders a local single-page app in real
//! Chromium and asserts on the DOM its scripts built (tests/render_support).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "render_support/mod.rs"]
mod render_support;

use std::process::Command;

use serde_json::Value;

/// `dcrawl check --format json` of `spec`: the first result and the exit code.
async fn check(spec: String, browser: &std::path::Path) -> (Value, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(&file, spec).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcrawl"));
    cmd.args(["check", "--format", "json", "--specs"])
        .arg(&file)
        .arg("--browser")
        .arg(browser)
        .env("TMPDIR", dir.path());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // Every browser was stopped with the process: none is left under its temporary directory.
    let left = render_support::processes_under(dir.path());
    assert!(left.is_empty(), "browser processes left: {left:?}");
    (doc["results"][0].clone(), out.status.code())
}

fn ids(r: &Value) -> Vec<String> {
    r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["assertion"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rendered_dom_is_asserted_on_like_any_page() {
    let Some(browser) = render_support::chromium() else {
        return;
    };
    let _turn = render_support::one_at_a_time().await;
    let base = render_support::serve().await;
    let spec = format!(
        r#"name: app
targets:
  - name: spa
    url: "{base}?delay=300"
    render: {{wait_for: ".ready", timeout: 20s, viewport: {{width: 800, height: 600}}}}
    expect:
      status: 200
      headers: {{x-app: spa}}
      html:
        - {{css: ".orders li", count: 3}}
        - {{css: ".ready", text: "ready at last"}}
      console_errors: {{min: 1}}
      failed_requests: 2
    extract:
      - {{name: items, css: ".orders li"}}
  - name: strict
    url: "{base}?delay=300"
    render: {{wait_for: ".ready"}}
    expect:
      html: [{{css: ".orders li", count: {{min: 10}}}}]
      console_errors: 0
      failed_requests: 0
  - name: lenient
    url: "{base}?delay=300"
    render: {{wait_for: ".ready"}}
    expect:
      console_errors: {{max: 0, severity: warning}}
      failed_requests: {{max: 0, severity: warning}}
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(&file, &spec).unwrap();
    let (r, code) = check(spec.clone(), &browser).await;
    assert_eq!(r["result"], "success", "{r:#}");
    assert_eq!(
        r["extracted"]["items"], 3,
        "the list the script built: {r:#}"
    );
    assert_eq!(code, Some(1), "the strict target fails");

    let out = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .args(["check", "--format", "json", "--target", "strict", "--specs"])
        .arg(&file)
        .arg("--browser")
        .arg(&browser)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let strict = &doc["results"][0];
    assert_eq!(strict["result"], "failure", "{strict:#}");
    assert_eq!(
        ids(strict),
        ["html[0]", "console_errors", "failed_requests"],
        "{strict:#}"
    );
    let messages: Vec<&str> = strict["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].contains("found 3"), "{messages:?}");
    assert!(
        messages[1].contains("bad thing"),
        "the console error is listed: {messages:?}"
    );
    assert!(
        messages[2].contains("missing"),
        "the failed URLs are listed: {messages:?}"
    );

    // The same counts said with `severity: warning`: the run is a warning, and check passes.
    let out = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .args([
            "check", "--format", "json", "--target", "lenient", "--specs",
        ])
        .arg(&file)
        .arg("--browser")
        .arg(&browser)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lenient = &doc["results"][0];
    assert_eq!(lenient["result"], "warning", "{lenient:#}");
    assert_eq!(
        ids(lenient),
        ["console_errors", "failed_requests"],
        "{lenient:#}"
    );
    assert_eq!(out.status.code(), Some(0), "{lenient:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_browser_a_render_target_is_an_error_saying_how_to_install_one() {
    let base = render_support::serve().await;
    let spec =
        format!("name: app\ntargets:\n  - name: spa\n    url: \"{base}\"\n    render: {{}}\n");
    let (r, code) = check(spec, std::path::Path::new("/nonexistent/chromium")).await;
    assert_eq!(r["result"], "error", "{r:#}");
    assert_eq!(code, Some(1));
    let error = r["error"].as_str().unwrap();
    assert!(error.contains("apt-get install chromium"), "{error}");
    assert!(error.contains("--browser PATH"), "{error}");
}

#[test]
fn validate_warns_when_render_targets_have_no_browser() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        "name: app\ntargets:\n  - name: spa\n    url: \"http://127.0.0.1:1/\"\n    render: {}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .args(["validate", "--specs"])
        .arg(&file)
        .env("DCRAWL_BROWSER", "/nonexistent/chromium")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning, not an error: {stderr}"
    );
    assert!(stderr.contains("warning: 1 render target(s)"), "{stderr}");
    assert!(stderr.contains("apt-get install chromium"), "{stderr}");
}
