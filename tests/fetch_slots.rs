#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Issue 13 item 10: which concurrency slots a fetch holds, and when. Slots were held through
//! retry backoff sleeps, and a redirect to another host ran under the first host's slot, so
//! the per-host bound did not hold for the host redirected to. Real servers on 127.0.0.1 count
//! the requests they have in flight.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::routing::get;
use dcrawl::fetch::{FetchOptions, Fetcher};
use dcrawl::model::Target;
use futures_util::future::join_all;
use support::{InFlight, base, read_head};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use url::Url;

fn fetcher(per_host: usize) -> Arc<Fetcher> {
    Arc::new(
        Fetcher::new(FetchOptions {
            per_host,
            ..FetchOptions::default()
        })
        .unwrap(),
    )
}

fn target(url: Url) -> Target {
    Target::new("test", "t", url)
}

/// `/sleep/{ms}`: counted in flight while it sleeps, then `ok`.
async fn sleepy(State(seen): State<Arc<InFlight>>, Path(ms): Path<u64>) -> &'static str {
    seen.hold(Duration::from_millis(ms)).await;
    "ok"
}

/// A host whose `/sleep/{ms}` counts its requests in flight.
async fn counted_host() -> (Url, Arc<InFlight>) {
    let seen = Arc::new(InFlight::default());
    let router = Router::new()
        .route("/sleep/{ms}", get(sleepy))
        .with_state(Arc::clone(&seen));
    (support::serve(router).await, seen)
}

/// A host whose `/go` redirects to `to`.
async fn redirecting_host(to: Url) -> Url {
    let to = to.to_string();
    support::serve(Router::new().route("/go", get(move || async move { Redirect::to(&to) }))).await
}

#[tokio::test]
async fn a_redirect_runs_under_the_slot_of_the_host_it_goes_to() {
    let (b, seen) = counted_host().await;
    let mut targets = Vec::new();
    for _ in 0..4 {
        // Four other hosts, each redirecting to b: each has a slot of its own to spare.
        let a = redirecting_host(b.join("/sleep/150").unwrap()).await;
        targets.push(target(a.join("/go").unwrap()));
    }
    for _ in 0..2 {
        targets.push(target(b.join("/sleep/150").unwrap()));
    }
    let f = fetcher(1);
    let results = join_all(targets.iter().map(|t| f.fetch(t))).await;
    for r in results {
        assert_eq!(r.unwrap().status, 200);
    }
    assert_eq!(seen.total.load(Ordering::SeqCst), 6);
    assert_eq!(
        seen.max.load(Ordering::SeqCst),
        1,
        "b had more requests in flight than --per-host 1"
    );
}

#[tokio::test]
async fn redirect_chains_crossing_each_others_hosts_do_not_deadlock() {
    // a/go -> b/sleep and b2/go -> a2/sleep, where a = a2 and b = b2 as hosts: with one slot
    // per host, a fetch holding its first host's slot while waiting for the next would wait
    // for the other forever.
    let seen = Arc::new(InFlight::default());
    let (la, lb) = (
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let a = base(la.local_addr().unwrap(), "http");
    let b = base(lb.local_addr().unwrap(), "http");
    let router = |other: Url| {
        let other = other.join("/sleep/200").unwrap().to_string();
        Router::new()
            .route("/go", get(move || async move { Redirect::to(&other) }))
            .route("/sleep/{ms}", get(sleepy))
            .with_state(Arc::clone(&seen))
    };
    let (ra, rb) = (router(b.clone()), router(a.clone()));
    tokio::spawn(async move { axum::serve(la, ra).await.unwrap() });
    tokio::spawn(async move { axum::serve(lb, rb).await.unwrap() });
    let f = fetcher(1);
    let (x, y) = (
        target(a.join("/go").unwrap()),
        target(b.join("/go").unwrap()),
    );
    let both = tokio::time::timeout(Duration::from_secs(8), async {
        tokio::join!(f.fetch(&x), f.fetch(&y))
    })
    .await
    .expect("the two redirect chains waited for each other");
    assert_eq!(both.0.unwrap().status, 200);
    assert_eq!(both.1.unwrap().status, 200);
}

#[tokio::test]
async fn waiting_for_the_slot_of_a_redirect_host_is_not_part_of_the_timeout() {
    let (b, _) = counted_host().await;
    let a = redirecting_host(b.join("/sleep/0").unwrap()).await;
    let f = fetcher(1);
    let mut busy = target(b.join("/sleep/1500").unwrap());
    busy.timeout = Duration::from_secs(10);
    let mut hop = target(a.join("/go").unwrap());
    hop.timeout = Duration::from_secs(1);
    let busy = tokio::spawn({
        let f = Arc::clone(&f);
        async move { f.fetch(&busy).await }
    });
    // b's one slot is taken by the slow request before the redirect reaches it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = f.fetch(&hop).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.duration < Duration::from_secs(1),
        "the wait was counted: {:?}",
        r.duration
    );
    assert!(busy.await.unwrap().is_ok());
}

/// A host whose `/drop` resets every connection (a transport error, retried) and whose other
/// paths answer `ok`. Returns its URL and the number of `/drop` requests.
async fn dropping_host() -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = base(listener.local_addr().unwrap(), "http");
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&drops);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                if head.starts_with(b"GET /drop ") {
                    counted.fetch_add(1, Ordering::SeqCst);
                    #[allow(deprecated)]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    return;
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, drops)
}

#[tokio::test]
async fn a_retry_backoff_holds_no_slot() {
    let (host, drops) = dropping_host().await;
    let f = fetcher(1);
    let mut failing = target(host.join("/drop").unwrap());
    // Backoffs of 100, 200 and 400 ms between four attempts.
    failing.retries = 3;
    let failing = tokio::spawn({
        let f = Arc::clone(&f);
        async move { f.fetch(&failing).await }
    });
    while drops.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The host's one slot is free while the failing fetch sleeps before its next attempt.
    let ok = f.fetch(&target(host.join("/ok").unwrap())).await.unwrap();
    assert_eq!(&ok.body[..], b"ok");
    assert!(
        !failing.is_finished(),
        "the other fetch waited for every retry of the failing one"
    );
    assert!(failing.await.unwrap().is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}
