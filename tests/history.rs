//! History through the endpoints: `/api/v1/history` and its validation, badges (valid SVG,
//! headers, 304, 404) and the status page, in process over a recorded series; then the real
//! daemon for a few seconds, its history in the API and on `/`, and `dcrawl report` reading the
//! state directory while the daemon writes it and after it stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use daemon_support::Daemon;
use dcrawl::history::{Counters, HistoryOptions, Recorder, Run};
use dcrawl::metrics::Metrics;
use dcrawl::model::{Config, Spec, Target};
use dcrawl::result::{CheckResult, Outcome};
use dcrawl::server::history::HistoryHandle;
use dcrawl::server::{Health, ServerHandle, StatusStore, router};
use serde_json::Value;
use tower::ServiceExt as _;

/// A run of shop/NAME `ago_s` seconds ago.
fn run(name: &str, ago_s: i64, result: &'static str) -> Run {
    Run {
        spec: "shop".into(),
        target: name.into(),
        started_ms: chrono::Utc::now().timestamp_millis() - ago_s * 1000,
        duration_ms: 40,
        result,
        status: Some(if result == "success" { 200 } else { 500 }),
        failure: (result == "failure").then(|| "status: expected 2xx, found 500".to_string()),
        maintenance: false,
        interval_ms: 60_000,
    }
}

/// Endpoints over history of shop/home (an hour of runs every minute, five failing in a row,
/// the last 200 s ago so that its result's 120 s are all past) and shop/api (never run); the
/// recorder must outlive the requests.
fn endpoints(dir: &std::path::Path) -> (axum::Router, Arc<Recorder>) {
    let targets = ["home", "api"]
        .map(|n| Target::new("shop", n, url::Url::parse("http://127.0.0.1:9/").unwrap()));
    let config = Config {
        specs: vec![Spec {
            name: "shop".into(),
            file: "shop.yaml".into(),
            labels: Default::default(),
            targets: targets.to_vec(),
        }],
    };
    let status = StatusStore::default();
    status.apply_config(&config);
    let mut last = CheckResult::blank(&targets[0], std::time::SystemTime::now());
    last.outcome = Outcome::Success;
    status.record(&last);
    let recorder = Recorder::open(dir, HistoryOptions::default(), Counters::default()).unwrap();
    for i in (0..60).rev() {
        let failing = (20..25).contains(&i);
        recorder.record_run(run(
            "home",
            i * 60 + 200,
            if failing { "failure" } else { "success" },
        ));
    }
    recorder.flush();
    let handle = ServerHandle {
        metrics: Arc::new(Metrics::new()),
        status: Arc::new(status),
        health: Arc::new(Health::default()),
        history: Some(Arc::new(HistoryHandle::new(recorder.reader()))),
        screenshots: None,
        silences: None,
    };
    (router(handle), recorder)
}

/// GET `uri` (with `headers`): (status, headers, body).
async fn get(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn the_history_api_answers_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _recorder) = endpoints(dir.path());
    let (status, headers, body) = get(&app, "/api/v1/history?spec=shop&target=home", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let home = &doc["targets"][0];
    assert_eq!(
        (home["spec"].as_str(), home["target"].as_str()),
        (Some("shop"), Some("home"))
    );
    assert_eq!(home["range"]["runs"], 60);
    assert_eq!(home["range"]["failed_runs"], 5);
    // 59 minutes between runs and the last run's 2 minutes known, 5 minutes of it down.
    assert_eq!(home["uptime"]["24h"], 91.8032);
    assert_eq!(home["range"]["up_seconds"], 3360.0);
    assert_eq!(home["range"]["down_seconds"], 300.0);
    assert_eq!(home["uptime"]["30d"], home["uptime"]["24h"]);
    assert_eq!(home["incidents_total"], 1);
    let incident = &home["incidents"][0];
    assert_eq!(incident["open"], false);
    assert_eq!(incident["duration_seconds"], 300.0);
    assert_eq!(incident["first_failure"], "status: expected 2xx, found 500");
    assert_eq!(home["latency_series"]["step"], "1d");
    assert!(home["latency"]["p50_seconds"].as_f64().unwrap() > 0.03);

    // All targets by default, in configuration order; a target without runs is empty.
    let (_, _, body) = get(&app, "/api/v1/history?from=2020-01-01", &[]).await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["home", "api"]);
    assert!(doc["targets"][1]["range"]["uptime_percent"].is_null());
    assert_eq!(doc["from"], "2020-01-01T00:00:00Z");

    // A short range gets hourly points.
    let from = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    let uri = format!(
        "/api/v1/history?target=home&from={}",
        url::form_urlencoded::byte_serialize(from.as_bytes()).collect::<String>()
    );
    let (_, _, body) = get(&app, &uri, &[]).await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    let points = doc["targets"][0]["latency_series"]["points"]
        .as_array()
        .unwrap();
    assert_eq!(doc["targets"][0]["latency_series"]["step"], "1h");
    assert_eq!(
        points
            .iter()
            .map(|p| p["runs"].as_i64().unwrap())
            .sum::<i64>(),
        60
    );

    for (uri, code, message) in [
        (
            "/api/v1/history?from=yesterday",
            400,
            "from: expected an RFC 3339 time (2026-11-01T00:00:00Z) or a date (2026-11-01), found \"yesterday\"",
        ),
        (
            "/api/v1/history?from=2026-11-05&to=2026-11-01",
            400,
            "from (2026-11-05T00:00:00Z) must be before to (2026-11-02T00:00:00Z)",
        ),
        (
            "/api/v1/history?form=2026-11-01",
            400,
            "unknown parameter \"form\" (known: spec, target, from, to)",
        ),
        (
            "/api/v1/history?spec=shop&spec=api",
            400,
            "parameter \"spec\" is given twice",
        ),
        (
            "/api/v1/history?spec=nope",
            404,
            "no spec named \"nope\" (specs: shop)",
        ),
        (
            "/api/v1/history?spec=shop&target=nope",
            404,
            "no target named \"nope\" in the selected specs",
        ),
    ] {
        let (status, headers, body) = get(&app, uri, &[]).await;
        assert_eq!(status.as_u16(), code, "{uri}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["error"], message, "{uri}");
    }
}

/// The texts of an SVG document (parsed as XML) and its root's width.
fn svg_texts(svg: &str) -> (u32, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut width, mut texts, mut in_text) = (0, Vec::new(), false);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == "svg" => {
                let w = e.try_get_attribute("width").unwrap().unwrap();
                width = w.value.parse().unwrap();
            }
            Event::Start(e) if e.name().as_ref() == "text" => {
                in_text = true;
                texts.push(String::new());
            }
            Event::End(e) if e.name().as_ref() == "text" => in_text = false,
            Event::Text(t) if in_text => texts.last_mut().unwrap().push_str(&t.xml10_content()),
            Event::Eof => break,
            _ => {}
        }
    }
    (width, texts)
}

#[tokio::test]
async fn badges_are_svg_with_cache_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _recorder) = endpoints(dir.path());
    let (status, headers, body) = get(&app, "/badge/shop/home.svg", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(headers[header::CACHE_CONTROL], "max-age=60");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let (width, texts) = svg_texts(&body);
    assert!(width > 40, "{width}");
    assert_eq!(texts, ["status", "status", "up", "up"]);
    // Revalidation with the ETag.
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let (status, headers, body) =
        get(&app, "/badge/shop/home.svg", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers[header::ETAG].to_str().unwrap(), etag);

    let (status, _, body) = get(&app, "/badge/shop/home.svg?window=7d", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, texts) = svg_texts(&body);
    assert_eq!(texts[0], "uptime 7d");
    assert_eq!(texts[2], "91.80%");
    let (_, _, body) = get(&app, "/badge/shop/api.svg?window=30d&label=API", &[]).await;
    assert_eq!(svg_texts(&body).1, ["API", "API", "no data", "no data"]);
    let (_, _, body) = get(&app, "/badge/shop/api.svg", &[]).await;
    assert_eq!(svg_texts(&body).1[2], "pending");

    let (status, headers, body) = get(&app, "/badge/shop/nope.svg", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(svg_texts(&body).1[2], "not found");
    let (status, _, _) = get(&app, "/badge/shop/home.png", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (uri, message) in [
        (
            "/badge/shop/home.svg?window=1s",
            "window: \"1s\" is not between 1h and 731d",
        ),
        ("/badge/shop/home.svg?window=week", "window: "),
        (
            "/badge/shop/home.svg?style=flat",
            "unknown parameter \"style\" (known: window, label)",
        ),
    ] {
        let (status, _, body) = get(&app, uri, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body.starts_with(message), "{uri}: {body}");
    }
}

#[tokio::test]
async fn the_status_page_shows_uptime_a_sparkline_and_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _recorder) = endpoints(dir.path());
    let (status, _, page) = get(&app, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("uptime 24 h 91.803% · 7 d 91.803% · 30 d 91.803%"),
        "{page}"
    );
    assert!(
        page.contains("<svg width=\"93\" height=\"16\" role=\"img\""),
        "{page}"
    );
    assert!(page.contains("median latency per hour, last 24 h"));
    assert!(page.contains("<li>incident "), "{page}");
    assert!(
        page.contains("(5 min): status: expected 2xx, found 500"),
        "{page}"
    );
    assert!(!page.contains("<script"));
    assert!(page.contains("href=\"/api/v1/history\""));
}

/// A spec `shop` on `@every 1s`: `home` on the demo shop, `down` on a closed port.
fn spec(base: &str) -> String {
    format!(
        "name: shop\nschedule: \"@every 1s\"\ntargets:\n  - name: home\n    url: {base}/\n  \
         - name: down\n    url: http://127.0.0.1:9/\n    timeout: 1s\n"
    )
}

/// `dcrawl report ARGS` (stdout, exit code).
fn report(args: &[&str]) -> (String, i32) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_history_and_report_reads_it() {
    let base = support::serve(dcrawl::demo::site::router(None)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.yaml"),
        spec(base.as_str().trim_end_matches('/')),
    )
    .unwrap();
    let mut d = Daemon::start_on(dir.path()).await;
    let doc = d
        .until(
            "history of both targets",
            Duration::from_secs(30),
            || async {
                let body = d.text("/api/v1/history?spec=shop").await;
                let doc: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
                let runs = |i: usize| doc["targets"][i]["range"]["runs"].as_i64().unwrap_or(0);
                if runs(0) >= 2 && runs(1) >= 2 {
                    Ok(doc)
                } else {
                    Err(body)
                }
            },
        )
        .await;
    let home = &doc["targets"][0];
    assert_eq!(home["target"], "home");
    assert_eq!(home["range"]["failed_runs"], 0);
    assert_eq!(home["uptime"]["24h"], 100.0);
    let down = &doc["targets"][1];
    assert_eq!(down["range"]["uptime_percent"], 0.0);
    assert_eq!(down["incidents"][0]["open"], true);
    assert_eq!(down["incidents"][0]["result"], "error");
    assert!(
        down["incidents"][0]["first_failure"]
            .as_str()
            .unwrap()
            .starts_with("error: "),
        "{down}"
    );
    let page = d
        .until(
            "uptime on the status page",
            Duration::from_secs(30),
            || async {
                let page = d.text("/").await;
                if page.contains("uptime 24 h 100%") && page.contains("uptime 24 h 0.000%") {
                    Ok(page)
                } else {
                    Err(page)
                }
            },
        )
        .await;
    assert!(page.contains("<li>incident "), "{page}");
    let badge = d.get_with("/badge/shop/down.svg", &[]).await;
    assert_eq!(badge.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(svg_texts(&badge.text().await.unwrap()).1[2], "down");
    let metrics = d.metrics().await;
    assert!(
        metrics.contains("dcrawl_history_write_errors_total 0"),
        "{metrics}"
    );

    // The report reads the state directory while the daemon writes it...
    let state = d.state_dir();
    let state = state.to_str().unwrap();
    let (json, code) = report(&["--state-dir", state, "--format", "json"]);
    assert_eq!(code, 0, "{json}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 2, "{doc}");
    d.signal("TERM");
    let stopped = d.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(stopped.and_then(|s| s.code()), Some(0), "{}", d.log());
    // ...and after it stopped.
    let (text, code) = report(&["--state-dir", state, "--target", "down"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("shop/down") && !text.contains("shop/home"),
        "{text}"
    );
    assert!(text.contains("→ open"), "{text}");
    let (text, code) = report(&["--state-dir", state, "--from", "tomorrow"]);
    assert_eq!(code, 2);
    assert!(text.contains("from: expected an RFC 3339 time"), "{text}");
    let (text, code) = report(&["--state-dir", "/nonexistent/state"]);
    assert_eq!(code, 2);
    assert!(text.contains("no history in /nonexistent/state"), "{text}");
}
