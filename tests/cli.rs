//! End-to-end: the `dcrawl` binary against the demo shop served on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// Serve the demo shop on a free loopback port from a background runtime; returns its base URL.
fn serve_demo_shop() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let addr = dcrawl::demo::site::spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .unwrap();
            tx.send(addr).unwrap();
            std::future::pending::<()>().await;
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn dcrawl() -> Command {
    let mut cmd = Command::cargo_bin("dcrawl").unwrap();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

const SHOP_SPEC: &str = r#"
name: shop
targets:
  - name: products
    url: BASE/products
    expect:
      status: 200
      html:
        - css: "ul.products > li"
          count: {min: 10}
        - css: "span.price"
          text: {matches: '^\$\d+\.\d\d$'}
    extract:
      - name: products_listed
        css: "ul.products > li"
  - name: broken
    url: BASE/products/7
    expect:
      html:
        - css: span.price
          name: has-price
  - name: missing
    url: BASE/no-such-page
  - name: health
    url: BASE/api/health
    expect:
      json:
        - path: $.status
          value: ok
    extract:
      - name: queue_depth
        path: $.queue.depth
"#;

#[test]
fn check_json_reports_every_outcome_and_exits_1() {
    let base = serve_demo_shop();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shop.yaml", &SHOP_SPEC.replace("BASE", &base));
    let out = dcrawl()
        .args(["check", "--specs"])
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let by_name = |n: &str| results.iter().find(|r| r["target"] == n).unwrap();

    let products = by_name("products");
    assert_eq!(products["result"], "success");
    assert_eq!(products["status"], 200);
    assert_eq!(products["error"], Value::Null);
    assert_eq!(products["extracted"]["products_listed"], 12);
    assert_eq!(products["url"], format!("{base}/products"));
    assert!(products["duration_seconds"].as_f64().unwrap() > 0.0);

    let broken = by_name("broken");
    assert_eq!(broken["result"], "failure");
    assert_eq!(broken["failures"][0]["assertion"], "has-price");

    let missing = by_name("missing");
    assert_eq!(missing["result"], "failure");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["failures"][0]["assertion"], "status");

    let health = by_name("health");
    assert_eq!(health["result"], "success");
    assert_eq!(health["extracted"]["queue_depth"], 3);

    assert_eq!(
        doc["summary"],
        serde_json::json!({"success": 2, "warning": 0, "failure": 2, "error": 0})
    );
}

#[test]
fn check_text_lists_failures_and_summary() {
    let base = serve_demo_shop();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shop.yaml", &SHOP_SPEC.replace("BASE", &base));
    let out = dcrawl()
        .args(["check", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("FAIL  shop/broken"), "{text}");
    assert!(text.contains("has-price"), "{text}");
    assert!(text.contains("extracted: products_listed=12"), "{text}");
    assert!(
        text.contains("4 targets: 2 success, 2 failure, 0 error"),
        "{text}"
    );
}

#[test]
fn check_selects_spec_and_target_and_exits_0_when_all_pass() {
    let base = serve_demo_shop();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shop.yaml", &SHOP_SPEC.replace("BASE", &base));
    let out = dcrawl()
        .args([
            "check", "--spec", "shop", "--target", "health", "--format", "json", "--specs",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["results"].as_array().unwrap().len(), 1);
    assert_eq!(doc["results"][0]["target"], "health");

    let unknown = dcrawl()
        .args(["check", "--spec", "nope", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no spec named \"nope\""));
}

#[test]
fn connection_refused_is_an_error_result() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "down.yaml",
        &format!("name: down\ntargets:\n  - name: gone\n    url: http://127.0.0.1:{port}/\n"),
    );
    let out = dcrawl()
        .args(["check", "--format", "json", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["results"][0]["result"], "error");
    assert_eq!(doc["results"][0]["status"], Value::Null);
    assert!(
        doc["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
}

#[test]
fn validate_ok_and_invalid() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "shop.yaml",
        &SHOP_SPEC.replace("BASE", "http://127.0.0.1:9"),
    );
    // Run in the temporary folder: no `alerts` folder there, and that is fine.
    let ok = dcrawl()
        .current_dir(dir.path())
        .args(["validate", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap().trim(),
        "1 specs, 4 targets, 0 channels, 0 routes OK"
    );

    write(
        dir.path(),
        "bad.yaml",
        "name: bad\ntargets:\n  - name: x\n    url: http://127.0.0.1:9/\n    expct: {}\n",
    );
    let bad = dcrawl()
        .args(["validate", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("bad.yaml:5:5:"), "{err}");
    assert!(err.contains("expct"), "{err}");
}

#[test]
fn example_specs_are_valid() {
    let out = dcrawl()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SHOP_URL")
        .env_remove("API_URL")
        .env_remove("API_TOKEN")
        .env_remove("SMTP_HOST")
        .env_remove("SMTP_PORT")
        .env_remove("SMTP_PASSWORD")
        .env_remove("HOOK_URL")
        .env_remove("HOOK_TOKEN")
        .args(["validate", "--specs", "specs", "--alerts", "alerts"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("4 specs"), "{stdout}");
    assert!(stdout.contains("5 channels, 4 routes OK"), "{stdout}");
}

#[test]
fn demo_runs_one_round_against_its_shop() {
    let out = dcrawl()
        .args(["demo", "--once"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ok    shop/products"), "{text}");
    assert!(text.contains("FAIL  shop/product-7"), "{text}");
    // The crawl reaches every product page from the list and finds the one without a price.
    assert!(text.contains("FAIL  shop/catalogue"), "{text}");
    assert!(text.contains("pages: 12 ok, 1 failed"), "{text}");
    assert!(
        text.contains("page.has-price: http://127.0.0.1:")
            && text.contains("/products/7: has-price \"span.price\": expected count >= 1, found 0 (linked from http://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("ok    api/health"), "{text}");
    assert!(text.contains("extracted: queue_depth=3"), "{text}");
}

/// Connections accepted so far by a non-blocking listener.
fn accepted(listener: &std::net::TcpListener) -> usize {
    let mut n = 0;
    while listener.accept().is_ok() {
        n += 1;
    }
    n
}

#[test]
fn deny_private_networks_refuses_loopback_before_connecting() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "local.yaml",
        &format!(
            "name: local\ndefaults: {{timeout: 1s}}\ntargets:\n  - name: literal\n    url: http://127.0.0.1:{port}/\n  - name: named\n    url: http://localhost:{port}/\n"
        ),
    );
    let out = dcrawl()
        .args([
            "check",
            "--deny-private-networks",
            "--format",
            "json",
            "--specs",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["result"], "error", "{r}");
        let error = r["error"].as_str().unwrap();
        assert!(
            error.starts_with("refused by --deny-private-networks: "),
            "{error}"
        );
    }
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1 is a private")
    );
    assert!(
        results[1]["error"]
            .as_str()
            .unwrap()
            .contains("localhost resolves only to")
    );
    assert_eq!(accepted(&listener), 0, "a refused target was connected to");

    // The same specs without the flag (here through the environment variable set to false)
    // do connect: the refusal above came from the flag.
    let out = dcrawl()
        .env("DCRAWL_DENY_PRIVATE_NETWORKS", "false")
        .args(["check", "--format", "json", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(accepted(&listener) >= 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!doc.to_string().contains("deny-private-networks"), "{doc}");

    // And the environment variable turns it on like the flag.
    let out = dcrawl()
        .env("DCRAWL_DENY_PRIVATE_NETWORKS", "true")
        .args(["check", "--target", "literal", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refused by --deny-private-networks"),
        "{text}"
    );
    assert_eq!(accepted(&listener), 0);
}
