//! End-to-end: the `dcrawl run` daemon as a process — hot reload by file edits and SIGHUP,
//! graceful shutdown with a check in flight, the HTTP endpoints and the status page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
mod support;

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use daemon_support::{Daemon, find_target, run_to_exit, sample, write_atomic};
use serde_json::Value;

/// Deadline for anything that takes a reload and a run or two (runs every second).
const SOON: Duration = Duration::from_secs(20);

/// The demo shop on 127.0.0.1; returns `http://127.0.0.1:PORT` (no trailing slash).
async fn shop() -> String {
    let url = support::serve(dcrawl::demo::site::router(None)).await;
    url.as_str().trim_end_matches('/').to_string()
}

/// A spec `shop` checking every second, with the given targets as (name, url).
fn spec(targets: &[(&str, &str)]) -> String {
    let mut s = String::from("name: shop\nschedule: \"@every 1s\"\ntargets:\n");
    for (name, url) in targets {
        s.push_str(&format!("  - name: {name}\n    url: {url}\n"));
    }
    s
}

fn result_is(doc: &Value, target: &str, result: &str) -> bool {
    find_target(doc, "shop", target).is_some_and(|t| t["result"] == result)
}

fn success_series(target: &str) -> String {
    format!("dcrawl_check_success{{spec=\"shop\",target=\"{target}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_by_editing_files_adds_changes_and_removes_targets() {
    let base = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.yaml");
    let health = format!("{base}/api/health");
    write_atomic(&file, &spec(&[("a", &health)]));
    let d = Daemon::start_on(dir.path()).await;
    d.until_status("a succeeds", SOON, |doc| result_is(doc, "a", "success"))
        .await;

    // Add (edited in place, as many editors do): the new target shows up in the status and,
    // once it ran, in the metrics.
    let products = format!("{base}/products");
    std::fs::write(&file, spec(&[("a", &health), ("b", &products)])).unwrap();
    d.until_status("b listed and run", SOON, |doc| {
        result_is(doc, "b", "success")
    })
    .await;
    let text = d
        .until_metrics("b's series", SOON, |m| {
            sample(m, &success_series("b")) == Some(1.0)
        })
        .await;
    assert_eq!(sample(&text, "dcrawl_targets"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "dcrawl_config_reload_success"), Some(1.0));

    // Change: the new URL replaces the old one.
    let home = format!("{base}/");
    write_atomic(&file, &spec(&[("a", &health), ("b", &home)]));
    let doc = d
        .until_status("b's new URL", SOON, |doc| {
            find_target(doc, "shop", "b").is_some_and(|t| t["url"] == home.as_str())
        })
        .await;
    assert_eq!(find_target(&doc, "shop", "a").unwrap()["url"], health);

    // Remove: every series of b disappears; a keeps its own.
    write_atomic(&file, &spec(&[("a", &health)]));
    let text = d
        .until_metrics("b's series gone", SOON, |m| !m.contains("target=\"b\""))
        .await;
    assert_eq!(sample(&text, &success_series("a")), Some(1.0), "{text}");
    assert_eq!(sample(&text, "dcrawl_targets"), Some(1.0), "{text}");
    let doc = d.status().await;
    assert!(find_target(&doc, "shop", "b").is_none(), "{doc}");

    // Invalid edit: rejected, reported by the gauge and the log; the old target keeps running.
    write_atomic(
        &file,
        &format!("{}    expct: {{}}\n", spec(&[("a", &health), ("c", &home)])),
    );
    d.until_metrics("reload failure", SOON, |m| {
        sample(m, "dcrawl_config_reload_success") == Some(0.0)
    })
    .await;
    let before = d.target("shop", "a").await.unwrap()["last_run"].clone();
    let doc = d
        .until_status("a runs again after the rejected reload", SOON, |doc| {
            find_target(doc, "shop", "a").is_some_and(|t| t["last_run"] != before)
        })
        .await;
    assert!(find_target(&doc, "shop", "c").is_none(), "{doc}");
    assert!(result_is(&doc, "a", "success"), "{doc}");
    let text = d.metrics().await;
    assert_eq!(sample(&text, "dcrawl_targets"), Some(1.0), "{text}");
    let log = d.log();
    assert!(log.contains("shop.yaml:") && log.contains("expct"), "{log}");

    // Fix: accepted again.
    write_atomic(&file, &spec(&[("a", &health), ("c", &home)]));
    let text = d
        .until_metrics("reload success after the fix", SOON, |m| {
            sample(m, "dcrawl_config_reload_success") == Some(1.0)
        })
        .await;
    assert_eq!(sample(&text, "dcrawl_targets"), Some(2.0), "{text}");
    d.until_status("c listed", SOON, |doc| {
        find_target(doc, "shop", "c").is_some()
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads() {
    let base = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.yaml");
    write_atomic(&file, &spec(&[("a", &format!("{base}/api/health"))]));
    let d = Daemon::start_on(&file).await;
    let first = sample(&d.metrics().await, "dcrawl_config_reload_timestamp_seconds").unwrap();
    assert!(first > 0.0);
    d.signal("HUP");
    let text = d
        .until_metrics("a new reload timestamp", SOON, |m| {
            sample(m, "dcrawl_config_reload_timestamp_seconds").is_some_and(|t| t > first)
        })
        .await;
    assert_eq!(sample(&text, "dcrawl_config_reload_success"), Some(1.0));
    assert_eq!(sample(&text, "dcrawl_targets"), Some(1.0));
    // SIGHUP reloads; it does not stop the daemon.
    assert_eq!(d.get_with("/healthz", &[]).await.status(), 200);
    d.stop().await;
}

/// Signals sent as soon as the daemon says it serves are handled, never the default action
/// (SIGHUP and SIGTERM would kill it). The race this guards against was narrow, so try a few
/// times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_right_after_start_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idle.yaml");
    write_atomic(
        &file,
        "name: idle\nschedule: \"@every 1h\"\ntargets:\n  - name: a\n    url: http://127.0.0.1:9/\n",
    );
    let args = || [OsString::from("--specs"), file.clone().into()];
    for _ in 0..10 {
        let mut d = Daemon::start_and_signal(args(), Some("TERM")).await;
        let status = d.wait_exit(Duration::from_secs(15)).await;
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{status:?}\n{}",
            d.log()
        );
    }
    for _ in 0..10 {
        let mut d = Daemon::start_and_signal(args(), Some("HUP")).await;
        d.until("the SIGHUP reload", SOON, || async {
            let log = d.log();
            if log.contains("configuration reloaded") {
                Ok(())
            } else {
                Err(log)
            }
        })
        .await;
        assert!(d.wait_exit(Duration::ZERO).await.is_none(), "{}", d.log());
        d.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_check_in_flight_exits_0_within_the_grace_period() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let slow = Router::new().route(
        "/",
        get(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }
        }),
    );
    let url = support::serve(slow).await;
    let dir = tempfile::tempdir().unwrap();
    write_atomic(
        &dir.path().join("slow.yaml"),
        &format!(
            "name: slow\nschedule: \"@every 1s\"\ntargets:\n  - name: hang\n    url: {url}\n    timeout: 60s\n"
        ),
    );
    let d = Daemon::start_on(dir.path()).await;
    d.until("the check to reach the server", SOON, || async {
        let n = seen.load(Ordering::SeqCst);
        if n >= 1 { Ok(n) } else { Err(n.to_string()) }
    })
    .await;
    // The request now hangs for 30 s (timeout 60 s): shutdown must not wait for it beyond the
    // 10 s grace period. `stop` allows 15 s.
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_content_negotiation() {
    let base = shop().await;
    let dir = tempfile::tempdir().unwrap();
    write_atomic(
        &dir.path().join("shop.yaml"),
        &spec(&[("a", &format!("{base}/api/health"))]),
    );
    let d = Daemon::start_on(dir.path()).await;

    let health = d.get_with("/healthz", &[]).await;
    assert_eq!(health.status(), 200);

    d.until_metrics("a's first run", SOON, |m| {
        sample(m, &success_series("a")) == Some(1.0)
    })
    .await;
    let text = d.get_with("/metrics", &[]).await;
    assert_eq!(text.status(), 200);
    let ct = content_type(&text);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let body = text.text().await.unwrap();
    assert!(!body.contains("# EOF"), "{body}");
    assert!(
        body.contains("# TYPE dcrawl_checks_total counter"),
        "{body}"
    );
    assert!(body.contains("dcrawl_build_info{version=\""), "{body}");

    let om = d
        .get_with(
            "/metrics",
            &[(
                "accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            )],
        )
        .await;
    assert_eq!(om.status(), 200);
    let ct = content_type(&om);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let body = om.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# TYPE dcrawl_checks counter"), "{body}");
    assert!(
        body.contains("dcrawl_checks_total{spec=\"shop\",target=\"a\",result=\"success\"}"),
        "{body}"
    );

    let api = d.get_with("/api/v1/status", &[]).await;
    assert!(content_type(&api).starts_with("application/json"));
    // Ctrl-C stops it as cleanly as SIGTERM.
    d.stop_with("INT", Duration::from_secs(15)).await;
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Undo HTML escaping (named entities minijinja and browsers use, and numeric ones).
fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let decoded = tail.find(';').filter(|&j| j <= 10).and_then(|j| {
            let entity = &tail[1..j];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, j + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_lists_targets_and_escaped_failures() {
    let base = shop().await;
    let dir = tempfile::tempdir().unwrap();
    write_atomic(
        &dir.path().join("shop.yaml"),
        &format!(
            r#"name: shop
schedule: "@every 1s"
targets:
  - name: healthy
    url: {base}/api/health
  - name: broken-page
    url: {base}/products/7
    expect:
      status: 201
      body: {{contains: "<script>alert(1)</script>"}}
      html:
        - css: "span.price"
          name: has-price
"#
        ),
    );
    let d = Daemon::start_on(dir.path()).await;
    let doc = d
        .until_status("both targets ran", SOON, |doc| {
            result_is(doc, "healthy", "success") && result_is(doc, "broken-page", "failure")
        })
        .await;
    let broken = find_target(&doc, "shop", "broken-page").unwrap();
    let failures = broken["failures"].as_array().unwrap();
    let ids: Vec<&str> = failures
        .iter()
        .map(|f| f["assertion"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["status", "body", "has-price"], "{broken}");

    let page = d.get_with("/", &[]).await;
    assert_eq!(page.status(), 200);
    assert!(content_type(&page).starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<meta http-equiv=\"refresh\""), "{html}");
    for name in ["shop", "healthy", "broken-page"] {
        assert!(html.contains(name), "{name} missing from\n{html}");
    }
    // Every failure message is shown (once the page's escaping is undone).
    let text = unescape_html(&html);
    for f in failures {
        let message = f["message"].as_str().unwrap();
        assert!(
            text.contains(message),
            "failure message {message:?} missing from\n{html}"
        );
    }
    // The expected text holds markup: it must appear escaped, never as live markup.
    assert!(text.contains("<script>alert(1)</script>"));
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    d.stop().await;
}

#[test]
fn invalid_config_at_start_exits_2_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    write_atomic(
        &file,
        "name: bad\ntargets:\n  - name: x\n    url: http://127.0.0.1:9/\n    expct: {}\n",
    );
    let (status, stderr) = run_to_exit(
        [
            OsString::from("run"),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--specs".into(),
            dir.path().into(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    let expected = format!("{}:5:5:", Path::new(&file).display());
    assert!(
        stderr.contains(&expected),
        "{expected} missing in\n{stderr}"
    );
    assert!(stderr.contains("expct"), "{stderr}");
}

/// Issue 13 item 5: a taken `--listen` port is reported before anything starts — no check
/// runs, no state directory is created — and the daemon exits 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_listen_port_exits_2_before_anything_runs() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let target = support::serve(Router::new().route(
        "/",
        get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { "ok" }
        }),
    ))
    .await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_atomic(
        &dir.path().join("s.yaml"),
        &format!("name: s\nschedule: \"@every 1s\"\ntargets:\n  - name: a\n    url: {target}\n"),
    );
    let state = dir.path().join("state");
    let args: Vec<OsString> = vec![
        "run".into(),
        "--listen".into(),
        addr.to_string().into(),
        "--specs".into(),
        dir.path().join("s.yaml").into(),
        "--state-dir".into(),
        state.clone().into(),
    ];
    let (status, stderr) =
        tokio::task::spawn_blocking(move || run_to_exit(args, Duration::from_secs(30)))
            .await
            .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}: ")),
        "{stderr}"
    );
    assert!(
        !state.exists(),
        "the state directory was created:\n{stderr}"
    );
    assert!(!stderr.contains("configuration loaded"), "{stderr}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the target was checked");
    drop(taken);
}
