//! End-to-end: the `dcrawl` binary against a hostile server on 127.0.0.1 (issue 7, item 1).
//! Every misbehaviour must become a failed check (`error` or `failure`) with a reason a person
//! can act on, within the target's timeout; memory stays bounded when every misbehaviour is
//! checked at once; and a daemon checking all of them keeps its other targets on schedule.
//! The server is `support/hostile.rs` (HTTP/1.1, by path) and `support/hostile_h2.rs` (HTTP/2
//! over TLS, one listener each).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/hostile_h2.rs"]
mod hostile_h2;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use daemon_support::{Daemon, find_target, peak_rss_kib, sample, wait_output, write_atomic};
use hostile::Hostile;
use hostile_h2::H2;
use serde_json::Value;

/// The timeout of every hostile target.
const TIMEOUT: Duration = Duration::from_secs(2);
/// What a run may take beyond the timeout: process start, evaluation, a loaded machine.
const SLACK: Duration = Duration::from_secs(3);
/// What a check's own duration may exceed the timeout by (a late timer on a loaded machine).
const LATE: Duration = Duration::from_secs(1);
/// Peak RSS allowed to `dcrawl check` over every case at once.
const MAX_RSS_KIB: u64 = 150 * 1024;
/// The `defaults` of every spec (max_body leaves room for the ~1.1 MB deep HTML page).
const DEFAULTS: &str = "defaults:\n  timeout: 2s\n  max_body: 2MiB\n  tls_verify: false\n";

/// Where a case's target is.
#[derive(Clone, Copy)]
enum At {
    /// A path on the HTTP/1.1 server.
    Path(&'static str),
    /// An HTTP/2 listener.
    H2(H2),
}

/// One hostile case and what dcrawl must make of it.
struct Case {
    /// Target name.
    name: &'static str,
    /// Where the misbehaviour is served.
    at: At,
    /// The target's `expect` as flow YAML (empty: the default, status 2xx).
    expect: &'static str,
    /// `success`, `failure` or `error`.
    outcome: &'static str,
    /// Words the reason (the error, else the first failure) must contain.
    reason: &'static str,
}

/// HTML assertions for the deep pages (which are refused before any is run).
const DEEP_HTML: &str =
    r#"{html: [{css: div, count: 100000}, {css: "body div > p.x", text: bottom}, {css: span}]}"#;

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "silent", at: At::Path("/silent"), expect: "", outcome: "error", reason: "timeout after 2s" },
    Case { name: "slowloris", at: At::Path("/slowloris"), expect: "", outcome: "error", reason: "timeout after 2s" },
    Case { name: "trickle", at: At::Path("/trickle"), expect: "", outcome: "error", reason: "timeout after 2s" },
    Case { name: "trickle-head", at: At::Path("/trickle-head"), expect: "", outcome: "error", reason: "timeout after 2s" },
    Case { name: "huge", at: At::Path("/huge"), expect: "", outcome: "error", reason: "body larger than max_body (2 MiB)" },
    Case { name: "huge-unsized", at: At::Path("/huge-unsized"), expect: "", outcome: "error", reason: "body larger than max_body (2 MiB)" },
    Case { name: "gzip-bomb", at: At::Path("/gzip-bomb"), expect: "", outcome: "error", reason: "body larger than max_body (2 MiB)" },
    Case { name: "length-short", at: At::Path("/length-short"), expect: "", outcome: "error", reason: "error reading body: connection closed before the body was complete" },
    Case { name: "length-long", at: At::Path("/length-long"), expect: "{body: {contains: rest}}", outcome: "failure", reason: "expected body to contain \"rest\", found \"hello\"" },
    Case { name: "length-conflict", at: At::Path("/length-conflict"), expect: "", outcome: "error", reason: "content-length" },
    Case { name: "reset", at: At::Path("/reset"), expect: "", outcome: "error", reason: "error reading body: connection reset by peer" },
    Case { name: "redirect-endless", at: At::Path("/redirect/0"), expect: "", outcome: "error", reason: "too many redirects (more than 10)" },
    Case { name: "redirect-loop", at: At::Path("/loop-a"), expect: "", outcome: "error", reason: "redirect loop: " },
    Case { name: "redirect-file", at: At::Path("/redirect-file"), expect: "", outcome: "error", reason: "redirect to unsupported URL \"file:///etc/passwd\"" },
    Case { name: "invalid-utf8", at: At::Path("/invalid-utf8"), expect: "{html: [{css: p}]}", outcome: "error", reason: "undecodable body: invalid UTF-8 at byte 33" },
    Case { name: "binary-status", at: At::Path("/binary"), expect: "{status: 200}", outcome: "success", reason: "" },
    Case { name: "binary-html", at: At::Path("/binary"), expect: "{html: [{css: p}]}", outcome: "error", reason: "undecodable body: invalid UTF-8 at byte 128" },
    Case { name: "binary-json", at: At::Path("/binary"), expect: "{json: [{path: $.a}]}", outcome: "error", reason: "undecodable body: invalid UTF-8 at byte 128" },
    Case { name: "deep-html", at: At::Path("/deep-html"), expect: DEEP_HTML, outcome: "error", reason: "undecodable body: HTML nested deeper than 512 elements" },
    Case { name: "deep-html-open", at: At::Path("/deep-html-open"), expect: DEEP_HTML, outcome: "error", reason: "undecodable body: HTML nested deeper than 512 elements" },
    Case { name: "deep-json", at: At::Path("/deep-json"), expect: "{json: [{path: '$[0]'}]}", outcome: "error", reason: "undecodable body: invalid JSON: nested deeper than 128 levels at line 1 column 128" },
    Case { name: "huge-header", at: At::Path("/huge-header"), expect: "", outcome: "error", reason: "response headers too large (more than 408 KiB or 100 fields)" },
    Case { name: "many-headers", at: At::Path("/many-headers"), expect: "", outcome: "error", reason: "response headers too large (more than 408 KiB or 100 fields)" },
    Case { name: "h2-preface", at: At::Path("/h2-preface"), expect: "", outcome: "error", reason: "invalid HTTP version parsed" },
    Case { name: "h2-goaway", at: At::H2(H2::GoAway), expect: "", outcome: "error", reason: "HTTP/2 GOAWAY from the server: unspecific protocol error detected (b\"hostile goodbye\")" },
    Case { name: "h2-reset", at: At::H2(H2::Reset), expect: "", outcome: "error", reason: "HTTP/2 stream reset by the server: unexpected internal error encountered" },
    Case { name: "h2-stall", at: At::H2(H2::Stall), expect: "", outcome: "error", reason: "timeout after 2s" },
    Case { name: "h2-oversized-frame", at: At::H2(H2::OversizedFrame), expect: "", outcome: "error", reason: "error reading body: HTTP/2 protocol error by the server: frame with invalid size" },
    Case { name: "h2-continuation-flood", at: At::H2(H2::ContinuationFlood), expect: "", outcome: "error", reason: "HTTP/2 protocol error by the server: detected excessive load generating behavior" },
    Case { name: "h2-settings-flood", at: At::H2(H2::SettingsFlood), expect: "", outcome: "error", reason: "timeout after 2s" },
];

/// The case named `name`.
fn case(name: &str) -> &'static Case {
    CASES.iter().find(|c| c.name == name).unwrap()
}

/// The spec's target entry for `case` on `server` (with an optional schedule).
fn target_yaml(server: &Hostile, case: &Case, schedule: Option<&str>) -> String {
    let url = match case.at {
        At::Path(path) => server.url(path),
        At::H2(which) => server.h2_url(which),
    };
    let mut out = format!("  - name: {}\n    url: {url}\n", case.name);
    if !case.expect.is_empty() {
        out.push_str(&format!("    expect: {}\n", case.expect));
    }
    if let Some(schedule) = schedule {
        out.push_str(&format!("    schedule: \"{schedule}\"\n"));
    }
    out
}

/// A spec `hostile` with the given target entries, written to `dir/hostile.yaml`.
fn write_spec(dir: &Path, targets: &[String]) {
    let text = format!("name: hostile\n{DEFAULTS}targets:\n{}", targets.concat());
    write_atomic(&dir.join("hostile.yaml"), &text);
}

/// What one `dcrawl check` did.
struct Run {
    /// Exit code.
    code: Option<i32>,
    /// stdout as JSON.
    json: Value,
    /// Wall time of the whole process.
    wall: Duration,
    /// Peak resident set size (VmHWM) seen while it ran, KiB.
    peak_rss_kib: u64,
    /// Its log.
    stderr: String,
}

impl Run {
    /// The result of target `name`.
    fn result(&self, name: &str) -> &Value {
        self.json["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target"] == name)
            .unwrap_or_else(|| panic!("no result for {name}: {:#}", self.json))
    }
}

/// Run `dcrawl check --specs DIR --format json ARGS`, sampling its peak RSS until it exits;
/// killed (and the test failed) if it runs for 60 s.
fn check(dir: &Path, args: &[&str]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .args(["check", "--format", "json", "--specs"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, Duration::from_secs(60));
    let json = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nlog:\n{}",
            out.stdout, out.stderr
        )
    });
    Run {
        code: out.status.code(),
        json,
        wall: out.wall,
        peak_rss_kib: out.peak_rss_kib,
        stderr: out.stderr,
    }
}

/// The reason of a result: its error, else its first failure's message.
fn reason(result: &Value) -> String {
    match result["error"].as_str() {
        Some(error) => error.to_string(),
        None => result["failures"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Assert that `result` is what `case` demands, and came within the timeout.
fn assert_case(case: &Case, result: &Value, log: &str) {
    let why = reason(result);
    assert_eq!(
        result["result"], case.outcome,
        "{}: {result:#}\nlog:\n{log}",
        case.name
    );
    assert!(
        why.contains(case.reason),
        "{}: reason {why:?} does not say {:?}",
        case.name,
        case.reason
    );
    let took = result["duration_seconds"].as_f64().unwrap();
    assert!(
        took < (TIMEOUT + LATE).as_secs_f64(),
        "{}: took {took} s",
        case.name
    );
}

/// Check the one case `name` through the binary, alone, and assert everything about it.
fn run_case(name: &str) {
    let case = case(name);
    let server = Hostile::start();
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), &[target_yaml(&server, case, None)]);
    let run = check(dir.path(), &[]);
    let result = run.result(name);
    assert_case(case, result, &run.stderr);
    let want_code = if case.outcome == "success" { 0 } else { 1 };
    assert_eq!(run.code, Some(want_code), "{name}: {:#}", run.json);
    assert!(
        run.wall < TIMEOUT + SLACK,
        "{name}: dcrawl check took {:?}",
        run.wall
    );
    eprintln!(
        "{name}: {} {:?} in {:.3} s (process {:.3} s, peak RSS {} KiB)",
        result["result"],
        reason(result),
        result["duration_seconds"].as_f64().unwrap(),
        run.wall.as_secs_f64(),
        run.peak_rss_kib
    );
}

/// One test per case.
macro_rules! cases {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            run_case($name);
        }
    )*};
}

cases! {
    accepts_and_never_answers => "silent",
    headers_then_stalled_body => "slowloris",
    body_trickles_a_byte_a_second => "trickle",
    head_trickles_a_byte_a_second => "trickle-head",
    one_gigabyte_with_content_length => "huge",
    one_gigabyte_without_content_length => "huge-unsized",
    gzip_bomb => "gzip-bomb",
    content_length_longer_than_body => "length-short",
    content_length_shorter_than_body => "length-long",
    conflicting_content_lengths => "length-conflict",
    reset_mid_body => "reset",
    endless_redirects => "redirect-endless",
    redirect_loop => "redirect-loop",
    redirect_to_file_scheme => "redirect-file",
    invalid_utf8_under_html_assertions => "invalid-utf8",
    binary_body_with_status_only_passes => "binary-status",
    binary_body_under_html_assertions => "binary-html",
    binary_body_under_json_assertions => "binary-json",
    html_nested_100000_deep_with_end_tags => "deep-html",
    html_nested_100000_deep_without_end_tags => "deep-html-open",
    json_nested_100000_deep => "deep-json",
    header_line_of_100_megabytes => "huge-header",
    ten_thousand_header_fields => "many-headers",
    http2_preface_to_an_http1_client => "h2-preface",
    http2_goaway => "h2-goaway",
    http2_stream_reset => "h2-reset",
    http2_stalled_body => "h2-stall",
    http2_oversized_frame => "h2-oversized-frame",
    http2_continuation_flood => "h2-continuation-flood",
    http2_settings_flood => "h2-settings-flood",
}

#[test]
fn every_case_at_once_in_bounded_memory() {
    let server = Hostile::start();
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<String> = CASES
        .iter()
        .map(|c| target_yaml(&server, c, None))
        .collect();
    write_spec(dir.path(), &targets);
    // Every case in flight together: no per-host queueing behind the slow ones.
    let run = check(dir.path(), &["--per-host", "64"]);
    for case in CASES {
        assert_case(case, run.result(case.name), &run.stderr);
    }
    assert_eq!(run.code, Some(1));
    assert!(run.wall < TIMEOUT + SLACK, "took {:?}", run.wall);
    let sent = &server.sent;
    let (huge, inflated, header) = (
        sent.huge_unsized.load(Ordering::Relaxed),
        sent.bomb_inflated.load(Ordering::Relaxed),
        sent.header.load(Ordering::Relaxed),
    );
    eprintln!(
        "all {} cases: {:.3} s, peak RSS {} KiB; the server wrote {} bytes of the sized and \
         {huge} of the unsized gigabyte, {} compressed bytes of the bomb ({inflated} inflated), \
         {header} bytes of the header line",
        CASES.len(),
        run.wall.as_secs_f64(),
        run.peak_rss_kib,
        sent.huge.load(Ordering::Relaxed),
        sent.bomb_wire.load(Ordering::Relaxed),
    );
    // The limits, not a shy server, stopped the big ones.
    assert!(huge > 2 << 20, "{huge}");
    assert!(inflated > 2 << 20, "{inflated}");
    assert!(header > 400 << 10, "{header}");
    assert!(run.peak_rss_kib > 0, "VmHWM was never read");
    assert!(
        run.peak_rss_kib < MAX_RSS_KIB,
        "peak RSS {} KiB",
        run.peak_rss_kib
    );
}

/// The metric series of `target`'s runs with `result`.
fn checks_total(target: &str, result: &str) -> String {
    format!("dcrawl_checks_total{{spec=\"hostile\",target=\"{target}\",result=\"{result}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_keeps_the_schedule_of_healthy_targets() {
    let server = Hostile::start();
    let dir = tempfile::tempdir().unwrap();
    let mut targets: Vec<String> = CASES
        .iter()
        .map(|c| target_yaml(&server, c, Some("@every 3s")))
        .collect();
    targets.push(format!(
        "  - name: healthy\n    url: {}\n    schedule: \"@every 1s\"\n",
        server.healthy
    ));
    write_spec(dir.path(), &targets);
    let d = Daemon::start_on(dir.path()).await;
    let healthy = checks_total("healthy", "success");
    let within = Duration::from_secs(15);
    let first = d
        .until_metrics("the healthy target's first run", within, |m| {
            sample(m, &healthy).is_some()
        })
        .await;
    let (from, started) = (sample(&first, &healthy).unwrap(), Instant::now());
    tokio::time::sleep(Duration::from_secs(6)).await;
    let metrics = d.metrics().await;
    let runs = sample(&metrics, &healthy).unwrap() - from;
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!("healthy: {runs} successful runs in {elapsed:.2} s");
    assert!(runs >= 4.0, "{runs} runs in {elapsed:.2} s\n{metrics}");
    let skipped = "dcrawl_skipped_runs_total{spec=\"hostile\",target=\"healthy\"}";
    assert_eq!(sample(&metrics, skipped).unwrap_or(0.0), 0.0, "{metrics}");
    for result in ["failure", "error"] {
        assert_eq!(sample(&metrics, &checks_total("healthy", result)), None);
    }

    assert_eq!(d.get_with("/healthz", &[]).await.status(), 200);
    let status = d
        .until_status("every hostile target's first result", within, |doc| {
            CASES.iter().all(|c| {
                find_target(doc, "hostile", c.name).is_some_and(|t| !t["result"].is_null())
            })
        })
        .await;
    for case in CASES {
        let t = find_target(&status, "hostile", case.name).unwrap();
        assert_eq!(t["result"], case.outcome, "{}: {t:#}", case.name);
        if case.outcome == "error" {
            let error = t["error"].as_str().unwrap_or_default();
            assert!(error.contains(case.reason), "{}: {error}", case.name);
        }
    }
    if let Some(kib) = peak_rss_kib(d.pid()) {
        eprintln!("daemon peak RSS {kib} KiB");
        assert!(kib < MAX_RSS_KIB, "daemon peak RSS {kib} KiB");
    }
    d.stop().await;
}

#[test]
fn every_misbehaviour_has_a_case() {
    for (path, what) in hostile::PATHS {
        assert!(
            CASES
                .iter()
                .any(|c| matches!(c.at, At::Path(p) if p == *path)),
            "no case for {path} ({what})"
        );
    }
    for which in H2::ALL {
        assert!(
            CASES
                .iter()
                .any(|c| matches!(c.at, At::H2(w) if w == which)),
            "no case for {which:?}"
        );
    }
}
