#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The alert engine through the library, against receivers on 127.0.0.1: what a hanging
//! Alertmanager must not hold up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use dcrawl::alert::channels::Deliverer;
use dcrawl::alert::engine::AlertEngine;
use dcrawl::alert::store::Store;
use dcrawl::alert::{
    AlertConfig, AlertmanagerChannel, Channel, ChannelKind, MatchValue, Matcher, Route,
    WebhookChannel, WebhookFormat,
};
use dcrawl::metrics::Metrics;
use dcrawl::result::{CheckResult, Outcome};
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

/// Serve `router` on 127.0.0.1; its base URL.
async fn serve(router: Router) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// A stand-in Alertmanager counting its requests; once `hang` is set it never answers.
#[derive(Default)]
struct FakeAlertmanager {
    requests: AtomicUsize,
    hang: AtomicBool,
}

async fn alerts(State(am): State<Arc<FakeAlertmanager>>) -> StatusCode {
    am.requests.fetch_add(1, Ordering::SeqCst);
    if am.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

fn channel(name: &str, kind: ChannelKind) -> (String, Channel) {
    let channel = Channel {
        name: name.into(),
        kind,
        template: None,
        secrets: Default::default(),
    };
    (name.to_string(), channel)
}

/// Target `target` alerts to `channel` after one failed run.
fn route(target: &str, channel: &str) -> Route {
    Route {
        matchers: vec![Matcher {
            key: "target".into(),
            value: MatchValue::Equals(target.into()),
        }],
        channels: vec![channel.into()],
        after: 1,
        repeat: None,
        resolved: true,
        severity: Default::default(),
    }
}

fn failed(target: &str) -> CheckResult {
    CheckResult {
        spec: "s".into(),
        target: target.into(),
        url: "http://127.0.0.1:9/".into(),
        outcome: Outcome::Error,
        error: Some("connection refused".into()),
        status: None,
        duration: Duration::ZERO,
        failures: vec![],
        extracted: Default::default(),
        response_size: None,
        tls_not_after: None,
        started_at: SystemTime::now(),
        crawl: None,
        steps: None,
        rendered: None,
    }
}

/// Poll `done` every 10 ms for up to 20 s; `false` if it never held.
async fn eventually(done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Issue 13 item 11: re-posts to Alertmanager were awaited inside the engine's loop (up to the
/// delivery timeout per channel), so a hanging Alertmanager held up every other channel's
/// notifications and the shutdown. Here it hangs for good, and neither waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_alertmanager_delays_no_other_delivery_nor_shutdown() {
    let am = Arc::new(FakeAlertmanager::default());
    let am_url = serve(
        Router::new()
            .route("/api/v2/alerts", post(alerts))
            .with_state(Arc::clone(&am)),
    )
    .await;
    let hooked = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hooked);
    let hook_url = serve(Router::new().route(
        "/hook",
        post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::NO_CONTENT }
        }),
    ))
    .await;
    let config = AlertConfig {
        channels: [
            channel(
                "am",
                ChannelKind::Alertmanager(AlertmanagerChannel { url: am_url }),
            ),
            channel(
                "hook",
                ChannelKind::Webhook(WebhookChannel {
                    url: hook_url.join("/hook").unwrap(),
                    format: WebhookFormat::Json,
                    headers: vec![],
                }),
            ),
        ]
        .into_iter()
        .collect(),
        routes: vec![route("a", "am"), route("b", "hook")],
        maintenance: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    // A delivery timeout far beyond the test: a hanging request stays in flight throughout.
    let deliverer = Arc::new(Deliverer::new(Duration::from_secs(3600)).unwrap());
    let engine = |store: Arc<Store>| {
        let engine = AlertEngine::new(
            store,
            Arc::clone(&deliverer),
            Arc::new(Metrics::new()),
            None,
        )
        .unwrap();
        engine.set_config(config.clone());
        engine
    };
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let labels = BTreeMap::new();

    // a fires: its notification is delivered to the Alertmanager, which still answers.
    let first = engine(Arc::clone(&store));
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(Arc::clone(&first).run(stop_rx));
    first
        .observe(
            &labels,
            &failed("a"),
            Default::default(),
            chrono::Utc::now(),
        )
        .await;
    assert!(eventually(|| am.requests.load(Ordering::SeqCst) >= 1).await);
    let _ = stop.send(true);
    task.await.unwrap();
    let answered = am.requests.load(Ordering::SeqCst);

    // After a restart a is still firing: the first re-post tick (at once) re-posts it, and
    // from now on the Alertmanager never answers.
    am.hang.store(true, Ordering::SeqCst);
    let engine = engine(store);
    engine
        .observe(
            &labels,
            &failed("a"),
            Default::default(),
            chrono::Utc::now(),
        )
        .await;
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(Arc::clone(&engine).run(stop_rx));
    assert!(
        eventually(|| am.requests.load(Ordering::SeqCst) > answered).await,
        "a was not re-posted"
    );
    // While that re-post hangs, b fires: its webhook gets it.
    engine
        .observe(
            &labels,
            &failed("b"),
            Default::default(),
            chrono::Utc::now(),
        )
        .await;
    assert!(
        eventually(|| hooked.load(Ordering::SeqCst) == 1).await,
        "the webhook waited for the hanging Alertmanager"
    );
    let _ = stop.send(true);
    let stopped = tokio::time::timeout(Duration::from_secs(20), task).await;
    assert!(
        stopped.is_ok(),
        "shutdown waited for the hanging Alertmanager"
    );
}
