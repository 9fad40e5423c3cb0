#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The daemon's run loop through the library (`dcrawl::daemon::run`) with a stand-in loader:
//! what a reload must not do to the checks that are due meanwhile.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use dcrawl::daemon::{self, Loader, RunOptions};
use dcrawl::fetch::FetchOptions;
use dcrawl::load::Loaded;
use dcrawl::shard::Shard;
use dcrawl::spec::Source;

/// Daemon options on a free loopback port, watching `watch`.
fn options(dir: &std::path::Path, watch: Vec<std::path::PathBuf>) -> RunOptions {
    RunOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        watch,
        fetch: FetchOptions::default(),
        shutdown_grace: Duration::from_secs(5),
        state_dir: dir.join("state"),
        external_url: None,
        web_config: None,
        shard: Shard::WHOLE,
    }
}

/// Issue 13 item 7: a reload read and compiled every spec on an async worker, so on a busy (or,
/// here, single-threaded) runtime nothing else ran until it was done. A reload now takes 3 s
/// (a stand-in loader that sleeps) and the target, due every second, keeps being checked.
#[tokio::test]
async fn checks_stay_on_schedule_while_a_reload_loads() {
    let hits: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = Arc::clone(&hits);
    let site = support::serve(Router::new().route(
        "/",
        get(move || {
            seen.lock().unwrap().push(Instant::now());
            async { "ok" }
        }),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    std::fs::create_dir(&watched).unwrap();
    let source = Source {
        name: "s.yaml".into(),
        text: format!("name: s\nschedule: \"@every 1s\"\ntargets:\n  - name: a\n    url: {site}\n"),
    };
    let loads = Arc::new(AtomicUsize::new(0));
    let reload_window: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::default();
    let loader: Loader = {
        let (loads, window) = (Arc::clone(&loads), Arc::clone(&reload_window));
        Box::new(move || {
            if loads.fetch_add(1, Ordering::SeqCst) == 1 {
                let started = Instant::now();
                std::thread::sleep(Duration::from_secs(3));
                *window.lock().unwrap() = Some((started, Instant::now()));
            }
            Ok(Loaded {
                specs: dcrawl::spec::load_sources(std::slice::from_ref(&source), &|_| None)?,
                alerts: Default::default(),
            })
        })
    };
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(daemon::run(
        options(dir.path(), vec![watched.clone()]),
        loader,
        async move {
            let _ = stop_rx.await;
        },
        |_| {},
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while hits.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the target never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A file change under a watched path: one (debounced) reload.
    std::fs::write(watched.join("touch.yaml"), "x").unwrap();
    let (from, to) = loop {
        if let Some(window) = *reload_window.lock().unwrap() {
            break window;
        }
        assert!(Instant::now() < deadline, "the reload never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let during = hits
        .lock()
        .unwrap()
        .iter()
        .filter(|t| **t > from && **t < to)
        .count();
    assert!(
        during >= 2,
        "{during} checks during a 3 s reload of a target due every second"
    );
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}
