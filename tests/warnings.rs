//! `severity: warning` end to end: `dcrawl check` against the demo shop (a warning exits 0,
//! prints `WARN` and is counted in the JSON summary; a failure beats it), and the daemon
//! routing warnings to their own webhook and not to the failure route.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flaky.rs"]
mod flaky;

use std::net::SocketAddr;
use std::time::Duration;

use assert_cmd::Command;
use daemon_support::{Daemon, find_target, sample};
use flaky::{Hook, Site};
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

fn dcrawl() -> Command {
    let mut cmd = Command::cargo_bin("dcrawl").unwrap();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// `warned` fails only warnings (status, html, a header, a body check, tls on plain http);
/// `both` fails a warning and a failure; `fine` passes.
const SPEC: &str = r#"
name: shop
targets:
  - name: warned
    url: BASE/products
    expect:
      status: {in: [201], severity: warning}
      max_duration: {limit: 30s, severity: warning}
      headers:
        x-served-by: {exists: true, severity: warning}
      body:
        - {not_contains: Exception}
        - {contains: "free shipping", severity: warning}
      tls: {min_days_valid: 1, severity: warning}
      html:
        - css: ".banner"
          name: banner
          severity: warning
        - css: "ul.products > li"
  - name: both
    url: BASE/api/health
    expect:
      json:
        - path: $.version
          value: {exists: true}
          name: has-version
          severity: warning
        - path: $.status
          value: degraded
  - name: fine
    url: BASE/api/health
"#;

fn spec_dir(base: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.yaml"), SPEC.replace("BASE", base)).unwrap();
    dir
}

#[test]
fn check_exits_0_on_warnings_and_prints_them() {
    let base = serve_demo_shop();
    let dir = spec_dir(&base);
    let only = dcrawl()
        .args(["check", "--target", "warned", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(only.stdout).unwrap();
    assert_eq!(only.status.code(), Some(0), "{text}");
    assert!(text.starts_with("WARN  shop/warned"), "{text}");
    for line in [
        "      warning: status: expected 201, found 200",
        "      warning: headers.x-served-by: ",
        "      warning: body: ",
        "      warning: tls: not an https response",
        "      warning: banner \".banner\": expected count >= 1, found 0",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert!(
        text.contains("1 target: 0 success, 1 warning, 0 failure, 0 error"),
        "{text}"
    );

    // With a failure among them, the run fails (exit 1); its warnings are still marked.
    let all = dcrawl()
        .args(["check", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(all.stdout).unwrap();
    assert_eq!(all.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  shop/both"), "{text}");
    assert!(text.contains("      warning: has-version "), "{text}");
    assert!(text.contains("      json[1] \"$.status\": "), "{text}");
    assert!(
        text.contains("3 targets: 1 success, 1 warning, 1 failure, 0 error"),
        "{text}"
    );
}

#[test]
fn check_json_says_warning_and_counts_it() {
    let base = serve_demo_shop();
    let dir = spec_dir(&base);
    let out = dcrawl()
        .args(["check", "--format", "json", "--specs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| {
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target"] == n)
            .unwrap()
            .clone()
    };
    let warned = by_name("warned");
    assert_eq!(warned["result"], "warning");
    let failures = warned["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 5, "{failures:?}");
    assert!(
        failures.iter().all(|f| f["severity"] == "warning"),
        "{failures:?}"
    );
    let both = by_name("both");
    assert_eq!(both["result"], "failure");
    assert_eq!(both["failures"][0]["severity"], "warning");
    // A failure of the default severity does not say it.
    assert_eq!(both["failures"][1].get("severity"), None);
    assert_eq!(by_name("fine")["result"], "success");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"success": 1, "warning": 1, "failure": 1, "error": 0})
    );
}

const SOON: Duration = Duration::from_secs(20);

/// A target whose body never says `v2` (a warning) on a site switched between 200 and 500:
/// the warning route hears of the warning, the failure route only of the failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_go_to_the_warning_route_and_not_to_the_failure_route() {
    let site = Site::start(true).await;
    let pager = Hook::start(200).await;
    let chat = Hook::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let (specs, alerts) = (dir.path().join("specs"), dir.path().join("alerts"));
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::create_dir_all(&alerts).unwrap();
    std::fs::write(
        specs.join("shop.yaml"),
        format!(
            "name: shop\nschedule: \"@every 1s\"\ntargets:\n  - name: home\n    url: {}\n    expect:\n      body: {{contains: v2, severity: warning}}\n",
            site.url
        ),
    )
    .unwrap();
    std::fs::write(
        alerts.join("alerts.yaml"),
        format!(
            "channels:\n  pager: {{webhook: {{url: \"{}\"}}}}\n  chat: {{webhook: {{url: \"{}\"}}}}\nroutes:\n  - channels: [pager]\n    after: 1\n  - channels: [chat]\n    after: 2\n    severity: warning\n",
            pager.url, chat.url
        ),
    )
    .unwrap();
    let d = Daemon::start([
        "--specs".into(),
        specs.into_os_string(),
        "--alerts".into(),
        alerts.into_os_string(),
    ])
    .await;
    let firing = |hook: &Hook| -> Vec<Value> {
        hook.accepted()
            .into_iter()
            .filter(|b| b["status"] == "firing")
            .collect()
    };
    let warned = d
        .until("the warning route to fire", SOON, || async {
            let got = firing(&chat);
            if got.is_empty() {
                Err(format!("{:?}", chat.accepted()))
            } else {
                Ok(got)
            }
        })
        .await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["result"], "warning");
    assert_eq!(warned[0]["consecutive_failures"], 2);
    assert_eq!(warned[0]["failures"][0]["assertion"], "body");
    assert_eq!(warned[0]["failures"][0]["severity"], "warning");
    let m = d.metrics().await;
    let series = |name: &str| format!("{name}{{spec=\"shop\",target=\"home\"}}");
    assert_eq!(
        sample(&m, &series("dcrawl_check_success")),
        Some(1.0),
        "{m}"
    );
    assert!(
        sample(
            &m,
            "dcrawl_checks_total{spec=\"shop\",target=\"home\",result=\"warning\"}"
        )
        .is_some_and(|n| n >= 2.0),
        "{m}"
    );
    let doc = d.status().await;
    let t = find_target(&doc, "shop", "home").unwrap();
    assert_eq!(t["result"], "warning");
    assert_eq!(t["alert"], "firing");
    assert_eq!(doc["summary"]["warning"], 1);
    assert!(pager.accepted().is_empty(), "{:?}", pager.accepted());

    // Worse: the failure route fires; the warning route, already firing, says nothing new.
    site.set_up(false);
    d.until("the failure route to fire", SOON, || async {
        let got = firing(&pager);
        if got.is_empty() {
            Err("none".into())
        } else {
            Ok(())
        }
    })
    .await;
    // Better again (still a warning): the failure route resolves, the warning route keeps firing.
    site.set_up(true);
    d.until("the failure route to resolve", SOON, || async {
        let all = pager.accepted();
        if all.iter().any(|b| b["status"] == "resolved") {
            Ok(())
        } else {
            Err(format!("{all:?}"))
        }
    })
    .await;
    let pager_all = pager.accepted();
    assert_eq!(pager_all.len(), 2, "{pager_all:?}");
    assert_eq!(pager_all[0]["result"], "failure");
    assert_eq!(pager_all[1]["result"], "warning");
    let chat_all = chat.accepted();
    assert_eq!(
        chat_all.len(),
        1,
        "the warning route was told again: {chat_all:?}"
    );
    d.stop().await;
}
