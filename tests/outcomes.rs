//! Every way a check run ends, through the runner: `success`, `failure` and each kind of
//! `error` (CONTRACT §2), against real servers on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use dcrawl::fetch::{FetchOptions, Fetcher};
use dcrawl::model::{
    CountRange, Expect, HtmlAssertion, JsonAssertion, MatchMode, Severity, Target,
};
use dcrawl::result::{CheckResult, Outcome};
use dcrawl::runner::check_target;
use dcrawl::spec::exprs::{compile_css, compile_jsonpath};
use url::Url;

fn router() -> Router {
    Router::new()
        .route(
            "/ok",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<ul class=products><li>a<li>b</ul>",
                )
            }),
        )
        .route(
            "/bad-utf8",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    vec![b'<', b'p', b'>', 0xff, 0xfe, b'x'],
                )
            }),
        )
        .route(
            "/bad-json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"status\": ",
                )
            }),
        )
        .route(
            "/broken-html",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<ul class=products><li>one<li>two</ul><div><p>unclosed <b>tags",
                )
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { "x".repeat(2 * 1024 * 1024) }))
        .route(
            "/gzip-bomb",
            get(|| async {
                (
                    [(header::CONTENT_ENCODING, "gzip")],
                    support::gzip(&vec![0u8; 20 * 1024 * 1024]),
                )
                    .into_response()
            }),
        )
        .route("/loop-a", get(|| async { Redirect::temporary("/loop-b") }))
        .route("/loop-b", get(|| async { Redirect::temporary("/loop-a") }))
        .route(
            "/teapot",
            get(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "no coffee") }),
        )
}

fn html_count(css: &str, min: u64) -> HtmlAssertion {
    HtmlAssertion {
        id: "html[0]".into(),
        css: compile_css(css).unwrap(),
        count: CountRange {
            min: Some(min),
            max: None,
        },
        text: None,
        attrs: vec![],
        mode: MatchMode::All,
        severity: Severity::Failure,
    }
}

async fn run(base: &Url, path: &str, edit: impl FnOnce(&mut Target)) -> CheckResult {
    let mut target = Target::new(
        "t",
        path.trim_start_matches('/')
            .replace(['/', '-'], "_")
            .as_str(),
        base.join(path).unwrap(),
    );
    target.timeout = Duration::from_millis(500);
    edit(&mut target);
    let fetcher = Fetcher::new(FetchOptions::default()).unwrap();
    check_target(&fetcher, &target).await
}

fn assert_error(r: &CheckResult, needle: &str) {
    assert_eq!(r.outcome, Outcome::Error, "{r:?}");
    let reason = r.error.as_deref().unwrap_or_default();
    assert!(reason.contains(needle), "expected {needle:?} in {reason:?}");
}

#[tokio::test]
async fn success_and_failure() {
    let base = support::serve(router()).await;
    let ok = run(&base, "/ok", |t| {
        t.expect.html = vec![html_count("ul.products > li", 2)]
    })
    .await;
    assert_eq!(ok.outcome, Outcome::Success, "{ok:?}");
    assert_eq!(ok.status, Some(200));
    assert!(ok.error.is_none() && ok.failures.is_empty());

    let fail = run(&base, "/ok", |t| {
        t.expect.html = vec![html_count("ul.products > li", 3)]
    })
    .await;
    assert_eq!(fail.outcome, Outcome::Failure);
    assert_eq!(fail.failures[0].assertion, "html[0]");
    assert!(
        fail.failures[0]
            .message
            .contains("expected count >= 3, found 2"),
        "{:?}",
        fail.failures
    );

    let teapot = run(&base, "/teapot", |_| {}).await;
    assert_eq!(teapot.outcome, Outcome::Failure);
    assert_eq!(teapot.failures[0].message, "expected 2xx, found 418");
}

#[tokio::test]
async fn broken_html_is_recovered_like_a_browser() {
    let base = support::serve(router()).await;
    let r = run(&base, "/broken-html", |t| {
        t.expect.html = vec![html_count("ul.products > li", 2), html_count("div p b", 1)]
    })
    .await;
    assert_eq!(r.outcome, Outcome::Success, "{r:?}");
}

#[tokio::test]
async fn undecodable_bodies_are_errors_with_the_status_kept() {
    let base = support::serve(router()).await;
    let utf8 = run(&base, "/bad-utf8", |t| {
        t.expect.html = vec![html_count("p", 1)]
    })
    .await;
    assert_error(&utf8, "undecodable body: invalid UTF-8");
    assert_eq!(utf8.status, Some(200));
    // Without assertions that need the text, the same body is fine.
    assert_eq!(
        run(&base, "/bad-utf8", |_| {}).await.outcome,
        Outcome::Success
    );

    let json = run(&base, "/bad-json", |t| {
        t.expect = Expect {
            json: vec![JsonAssertion {
                id: "json[0]".into(),
                path: compile_jsonpath("$.status").unwrap(),
                count: None,
                value: None,
                mode: MatchMode::All,
                severity: Severity::Failure,
            }],
            ..Expect::default()
        }
    })
    .await;
    assert_error(&json, "undecodable body: invalid JSON");
}

#[tokio::test]
async fn transport_errors() {
    let base = support::serve(router()).await;
    let slow = run(&base, "/slow", |_| {}).await;
    assert_error(&slow, "timeout");
    assert_eq!(slow.status, None);
    assert!(
        slow.duration < Duration::from_secs(3),
        "the timeout covers the whole request: {:?}",
        slow.duration
    );

    let refused = run(&support::closed_port().await, "/", |_| {}).await;
    assert_error(&refused, "refused");

    let big = run(&base, "/big", |t| t.max_body = 1024 * 1024).await;
    assert_error(&big, "body larger than max_body (1 MiB)");
    let bomb = run(&base, "/gzip-bomb", |t| t.max_body = 1024 * 1024).await;
    assert_error(&bomb, "body larger than max_body (1 MiB)");

    let looped = run(&base, "/loop-a", |_| {}).await;
    assert_error(&looped, "redirect loop");
}

#[tokio::test]
async fn self_signed_tls_depends_on_tls_verify() {
    let cert = support::self_signed(2040, 1, 1);
    let base = support::serve_tls(router(), &cert).await;
    let verified = run(&base, "/ok", |_| {}).await;
    assert_error(&verified, "TLS");
    let unverified = run(&base, "/ok", |t| t.tls_verify = false).await;
    assert_eq!(unverified.outcome, Outcome::Success, "{unverified:?}");
    assert_eq!(unverified.tls_not_after, Some(cert.not_after));
}
