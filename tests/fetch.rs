#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The fetch layer against real servers on 127.0.0.1.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Redirect;
use axum::routing::{any, get};
use dcrawl::fetch::{DEFAULT_USER_AGENT, FetchError, FetchOptions, Fetcher};
use dcrawl::model::{RequestBody, Target};
use futures_util::future::join_all;
use support::*;
use url::Url;

fn fetcher() -> Fetcher {
    Fetcher::new(FetchOptions::default()).unwrap()
}

fn target(url: Url) -> Target {
    Target::new("test", "t", url)
}

fn at(base: &Url, path: &str) -> Target {
    target(base.join(path).unwrap())
}

/// Echo of the request: `METHOD BODY_LEN content-type=... authorization=... ua=...`.
async fn echo(method: Method, headers: HeaderMap, body: axum::body::Bytes) -> String {
    let h = |name: header::HeaderName| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| "-".into())
    };
    format!(
        "{method} {} content-type={} authorization={} ua={}",
        body.len(),
        h(header::CONTENT_TYPE),
        h(header::AUTHORIZATION),
        h(header::USER_AGENT)
    )
}

// ---------- bodies ----------

#[tokio::test]
async fn plain_200_with_body() {
    let base = serve(Router::new().route("/", get(|| async { "hello world" }))).await;
    let r = fetcher().fetch(&at(&base, "/")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"hello world");
    assert_eq!(r.final_url, base.join("/").unwrap());
    assert_eq!(r.tls_not_after, None);
    assert!(r.headers.contains_key(header::CONTENT_TYPE));
}

#[tokio::test]
async fn gzip_and_brotli_bodies_are_decompressed() {
    let text = "compressed hello ".repeat(100);
    let gz = gzip(text.as_bytes());
    let br = brotli_stored(text.as_bytes());
    let router = Router::new()
        .route(
            "/gz",
            get(move || async move { ([(header::CONTENT_ENCODING, "gzip")], gz) }),
        )
        .route(
            "/br",
            get(move || async move { ([(header::CONTENT_ENCODING, "br")], br) }),
        );
    let base = serve(router).await;
    let f = fetcher();
    for path in ["/gz", "/br"] {
        let r = f.fetch(&at(&base, path)).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(std::str::from_utf8(&r.body).unwrap(), text, "{path}");
    }
}

#[tokio::test]
async fn corrupt_gzip_is_undecodable() {
    let router = Router::new().route(
        "/",
        get(|| async {
            (
                [(header::CONTENT_ENCODING, "gzip")],
                "this is not gzip at all",
            )
        }),
    );
    let base = serve(router).await;
    let err = fetcher().fetch(&at(&base, "/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Undecodable(_)), "{err:?}");
    assert!(err.to_string().starts_with("undecodable body: "), "{err}");
}

#[tokio::test]
async fn default_user_agent_and_override() {
    let base = serve(Router::new().route("/", any(echo))).await;
    let f = fetcher();
    let r = f.fetch(&at(&base, "/")).await.unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.ends_with(&format!("ua={DEFAULT_USER_AGENT}")),
        "{text}"
    );
    assert!(DEFAULT_USER_AGENT.starts_with("dcrawl/"));

    let mut t = at(&base, "/");
    t.headers = vec![("User-Agent".into(), "probe/1".into())];
    let r = f.fetch(&t).await.unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.ends_with("ua=probe/1"), "{text}");
}

#[tokio::test]
async fn json_and_raw_bodies_are_sent() {
    let base = serve(Router::new().route("/", any(echo))).await;
    let f = fetcher();
    let mut t = at(&base, "/");
    t.method = Method::POST;
    t.body = Some(RequestBody::Json(serde_json::json!({"a": [1, 2]})));
    let r = f.fetch(&t).await.unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.starts_with("POST 11 content-type=application/json "),
        "{text}"
    );

    t.method = Method::PUT;
    t.body = Some(RequestBody::Raw("abc".into()));
    let r = f.fetch(&t).await.unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.starts_with("PUT 3 "), "{text}");
}

// ---------- timeouts and connection errors ----------

#[tokio::test]
async fn body_that_stalls_times_out() {
    let base =
        raw_then_stall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part of it").await;
    let mut t = at(&base, "/");
    t.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let err = fetcher().fetch(&t).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err, FetchError::Timeout(Duration::from_millis(500)));
    assert_eq!(err.to_string(), "timeout after 500ms");
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn server_that_never_answers_times_out() {
    let base = black_hole().await;
    let mut t = at(&base, "/");
    t.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = fetcher().fetch(&t).await.unwrap_err();
    assert_eq!(err, FetchError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn connection_refused() {
    let base = closed_port().await;
    let err = fetcher().fetch(&at(&base, "/")).await.unwrap_err();
    assert_eq!(err, FetchError::Transport("connection refused".into()));
    assert_eq!(err.to_string(), "connection refused");
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_transport_error() {
    let base = raw_then_close(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    let err = fetcher().fetch(&at(&base, "/")).await.unwrap_err();
    assert_eq!(
        err,
        FetchError::Transport("invalid HTTP version parsed".into())
    );
}

#[tokio::test]
async fn connection_closed_mid_body_is_a_body_error() {
    let base = raw_then_close(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort").await;
    let mut t = at(&base, "/");
    t.retries = 2;
    let err = fetcher().fetch(&t).await.unwrap_err();
    assert!(matches!(err, FetchError::Body(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "error reading body: connection closed before the body was complete"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn non_http_target_is_rejected() {
    let err = fetcher()
        .fetch(&target(Url::parse("ftp://127.0.0.1/x").unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidRequest(_)), "{err:?}");
}

// ---------- body size limits ----------

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn endless_plain_body_stops_at_max_body() {
    // A chunked body that never ends: the fetch can only finish by stopping at the limit.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let router = Router::new().route(
        "/",
        get(move || {
            let counter = Arc::clone(&counter);
            async move {
                let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
                let stream = futures_util::stream::repeat_with(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(chunk.clone())
                });
                Body::from_stream(stream)
            }
        }),
    );
    let base = serve(router).await;
    let mut t = at(&base, "/");
    t.max_body = MIB;
    let err = fetcher().fetch(&t).await.unwrap_err();
    assert_eq!(err, FetchError::BodyTooLarge { limit: MIB });
    assert_eq!(err.to_string(), "body larger than max_body (1 MiB)");
    assert!(
        sent.load(Ordering::SeqCst) > 16,
        "the server did send past the limit"
    );
}

#[tokio::test]
async fn gzip_bomb_stops_at_max_body() {
    let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
    assert!(bomb.len() < 200 * 1024, "the bomb is small: {}", bomb.len());
    let router = Router::new().route(
        "/",
        get(move || async move { ([(header::CONTENT_ENCODING, "gzip")], bomb) }),
    );
    let base = serve(router).await;
    let mut t = at(&base, "/");
    t.max_body = MIB;
    let err = fetcher().fetch(&t).await.unwrap_err();
    assert_eq!(err, FetchError::BodyTooLarge { limit: MIB });

    // Within the limit the same bytes decode fine.
    t.max_body = 64 * MIB;
    let r = fetcher().fetch(&t).await.unwrap();
    assert_eq!(r.body.len(), 50 * 1024 * 1024);
}

#[tokio::test]
async fn content_length_over_limit_fails_without_reading() {
    // The server announces 10 GB and then stalls: reading would end in a timeout.
    let base = raw_then_stall(b"HTTP/1.1 200 OK\r\ncontent-length: 10000000000\r\n\r\n").await;
    let mut t = at(&base, "/");
    t.timeout = Duration::from_secs(30);
    let err = fetcher().fetch(&t).await.unwrap_err();
    assert_eq!(
        err,
        FetchError::BodyTooLarge {
            limit: dcrawl::model::DEFAULT_MAX_BODY
        }
    );
    assert_eq!(err.to_string(), "body larger than max_body (10 MiB)");
}

#[tokio::test]
async fn body_exactly_at_limit_is_accepted() {
    let router = Router::new().route("/", get(|| async { vec![b'y'; 1000] }));
    let base = serve(router).await;
    let mut t = at(&base, "/");
    t.max_body = 1000;
    assert_eq!(fetcher().fetch(&t).await.unwrap().body.len(), 1000);
    t.max_body = 999;
    assert_eq!(
        fetcher().fetch(&t).await.unwrap_err(),
        FetchError::BodyTooLarge { limit: 999 }
    );
}

// ---------- redirects ----------

fn redirect_router() -> Router {
    Router::new()
        .route("/r1", get(|| async { Redirect::to("/r2") }))
        .route("/r2", get(|| async { Redirect::to("r3") }))
        .route("/r3", get(|| async { Redirect::permanent("/final") }))
        .route("/final", get(|| async { "arrived" }))
        .route("/loop-a", get(|| async { Redirect::to("/loop-b") }))
        .route("/loop-b", get(|| async { Redirect::to("/loop-a") }))
        .route(
            "/ftp",
            get(|| async { Redirect::to("ftp://127.0.0.1/file") }),
        )
        .route("/see-other", any(|| async { Redirect::to("/echo") }))
        .route("/temporary", any(|| async { Redirect::temporary("/echo") }))
        .route("/echo", any(echo))
}

#[tokio::test]
async fn redirect_chain_of_three_is_followed() {
    let base = serve(redirect_router()).await;
    let r = fetcher().fetch(&at(&base, "/r1")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.final_url, base.join("/final").unwrap());
    assert_eq!(&r.body[..], b"arrived");
}

#[tokio::test]
async fn redirect_limit_exceeded() {
    let base = serve(redirect_router()).await;
    let mut t = at(&base, "/r1");
    t.follow_redirects = 2;
    let err = fetcher().fetch(&t).await.unwrap_err();
    assert_eq!(err, FetchError::TooManyRedirects(2));
    assert_eq!(err.to_string(), "too many redirects (more than 2)");
    t.follow_redirects = 3;
    assert_eq!(fetcher().fetch(&t).await.unwrap().status, 200);
}

#[tokio::test]
async fn redirect_loop_is_detected() {
    let base = serve(redirect_router()).await;
    let err = fetcher().fetch(&at(&base, "/loop-a")).await.unwrap_err();
    let a = base.join("/loop-a").unwrap();
    let b = base.join("/loop-b").unwrap();
    assert_eq!(err.to_string(), format!("redirect loop: {a} -> {b} -> {a}"));
}

#[tokio::test]
async fn follow_redirects_zero_returns_the_302() {
    let base = serve(redirect_router()).await;
    let mut t = at(&base, "/r1");
    t.follow_redirects = 0;
    let r = fetcher().fetch(&t).await.unwrap();
    assert_eq!(r.status, 303); // axum's Redirect::to is a 303 See Other
    assert_eq!(r.headers[header::LOCATION], "/r2");
    assert_eq!(r.final_url, base.join("/r1").unwrap());

    let raw =
        raw_then_stall(b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n")
            .await;
    let mut t = at(&raw, "/");
    t.follow_redirects = 0;
    let r = fetcher().fetch(&t).await.unwrap();
    assert_eq!(r.status, 302);
}

#[tokio::test]
async fn redirect_to_ftp_is_an_error() {
    let base = serve(redirect_router()).await;
    let err = fetcher().fetch(&at(&base, "/ftp")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "redirect to unsupported URL \"ftp://127.0.0.1/file\""
    );
}

#[tokio::test]
async fn see_other_after_post_becomes_get_without_body() {
    let base = serve(redirect_router()).await;
    let mut t = at(&base, "/see-other");
    t.method = Method::POST;
    t.body = Some(RequestBody::Json(serde_json::json!({"k": "v"})));
    let r = fetcher().fetch(&t).await.unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.starts_with("GET 0 content-type=- "), "{text}");
    assert_eq!(r.final_url, base.join("/echo").unwrap());
}

#[tokio::test]
async fn temporary_redirect_keeps_method_and_body() {
    let base = serve(redirect_router()).await;
    let mut t = at(&base, "/temporary");
    t.method = Method::POST;
    t.body = Some(RequestBody::Raw("12345".into()));
    let r = fetcher().fetch(&t).await.unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.starts_with("POST 5 "), "{text}");
}

#[tokio::test]
async fn credentials_do_not_cross_origins() {
    let other = serve(Router::new().route("/echo", any(echo))).await;
    let target_url = other.join("/echo").unwrap().to_string();
    let same = serve(
        Router::new()
            .route(
                "/away",
                get(move || async move { Redirect::to(&target_url) }),
            )
            .route("/here", get(|| async { Redirect::to("/echo") }))
            .route("/echo", any(echo)),
    )
    .await;
    let f = fetcher();
    let mut t = at(&same, "/here");
    t.headers = vec![("Authorization".into(), "Bearer tok".into())];
    let text = String::from_utf8(f.fetch(&t).await.unwrap().body.to_vec()).unwrap();
    assert!(text.contains("authorization=Bearer tok"), "{text}");

    let mut t = at(&same, "/away");
    t.headers = vec![("Authorization".into(), "Bearer tok".into())];
    let text = String::from_utf8(f.fetch(&t).await.unwrap().body.to_vec()).unwrap();
    assert!(text.contains("authorization=-"), "{text}");
}

// ---------- retries ----------

#[tokio::test]
async fn retries_after_dropped_connections() {
    let (base, seen) = flaky(2).await;
    let mut t = at(&base, "/");
    t.retries = 2;
    let r = fetcher().fetch(&t).await.unwrap();
    assert_eq!(&r.body[..], b"ok");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn no_retries_means_the_first_error_counts() {
    let (base, seen) = flaky(2).await;
    let err = fetcher().fetch(&at(&base, "/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_500_is_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let router = Router::new().route(
        "/",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }
        }),
    );
    let base = serve(router).await;
    let mut t = at(&base, "/");
    t.retries = 3;
    let r = fetcher().fetch(&t).await.unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

// ---------- TLS ----------

#[tokio::test]
async fn self_signed_certificate_is_rejected_when_verifying() {
    let cert = self_signed(2031, 5, 17);
    let base = serve_tls(Router::new().route("/", get(|| async { "secure" })), &cert).await;
    let err = fetcher().fetch(&at(&base, "/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Tls(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("TLS: "), "{text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn self_signed_certificate_accepted_without_verify_and_expiry_read() {
    let cert = self_signed(2031, 5, 17);
    let base = serve_tls(Router::new().route("/", get(|| async { "secure" })), &cert).await;
    let mut t = at(&base, "/");
    t.tls_verify = false;
    let r = fetcher().fetch(&t).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"secure");
    assert_eq!(r.tls_not_after, Some(cert.not_after));
    assert_eq!(cert.not_after, 1_936_742_400); // 2031-05-17T00:00:00Z
}

// ---------- concurrency bounds ----------

#[tokio::test]
async fn per_host_bound_is_respected() {
    let state = Arc::new(InFlight::default());
    let s = Arc::clone(&state);
    let router = Router::new().route(
        "/",
        get(move || {
            let s = Arc::clone(&s);
            async move {
                s.hold(Duration::from_millis(50)).await;
                "done"
            }
        }),
    );
    let base = serve(router).await;
    let f = Fetcher::new(FetchOptions {
        concurrency: 64,
        per_host: 3,
        ..FetchOptions::default()
    })
    .unwrap();
    let t = at(&base, "/");
    let results = join_all((0..20).map(|_| f.fetch(&t))).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status == 200))
    );
    assert_eq!(state.total.load(Ordering::SeqCst), 20);
    assert_eq!(state.max.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn global_bound_spans_hosts() {
    let state = Arc::new(InFlight::default());
    let make = |state: Arc<InFlight>| {
        Router::new().route(
            "/",
            get(move || {
                let s = Arc::clone(&state);
                async move {
                    s.hold(Duration::from_millis(50)).await;
                    "done"
                }
            }),
        )
    };
    let a = serve(make(Arc::clone(&state))).await;
    let b = serve(make(Arc::clone(&state))).await;
    let f = Fetcher::new(FetchOptions {
        concurrency: 2,
        per_host: 8,
        ..FetchOptions::default()
    })
    .unwrap();
    let targets: Vec<Target> = (0..12)
        .map(|i| at(if i % 2 == 0 { &a } else { &b }, "/"))
        .collect();
    let results = join_all(targets.iter().map(|t| f.fetch(t))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(state.total.load(Ordering::SeqCst), 12);
    assert_eq!(state.max.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn tasks_queued_on_a_busy_host_do_not_hold_global_slots() {
    let done: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let slow = serve(Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            "slow"
        }),
    ))
    .await;
    let quick = serve(Router::new().route("/", get(|| async { "quick" }))).await;
    let f = Fetcher::new(FetchOptions {
        concurrency: 2,
        per_host: 1,
        ..FetchOptions::default()
    })
    .unwrap();
    let slow_t = at(&slow, "/");
    let quick_t = at(&quick, "/");
    let slow_jobs = (0..5).map(|_| {
        let done = Arc::clone(&done);
        let f = f.clone();
        let t = slow_t.clone();
        async move {
            f.fetch(&t).await.unwrap();
            done.lock().unwrap().push("slow");
        }
    });
    let handles: Vec<_> = slow_jobs.map(tokio::spawn).collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    f.fetch(&quick_t).await.unwrap();
    done.lock().unwrap().push("quick");
    for h in handles {
        h.await.unwrap();
    }
    let order = done.lock().unwrap().clone();
    let quick_at = order.iter().position(|s| *s == "quick").unwrap();
    assert!(quick_at < 4, "quick waited behind the slow host: {order:?}");
}

#[test]
fn zero_bounds_are_rejected() {
    let err = Fetcher::new(FetchOptions {
        concurrency: 0,
        per_host: 1,
        ..FetchOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, FetchError::Setup(_)), "{err:?}");
}
