//! The endpoints' accept loop: HTTP/1.1 (over TLS when configured) within [`Limits`], so that
//! a slow or greedy client cannot hold the server.
//!
//! - At most `max_connections` connections are served at once: a slot is taken before
//!   `accept`, so further clients wait in the kernel's listen backlog, not in memory.
//! - The TLS handshake and each request head must arrive within `header_read_timeout` (hyper's
//!   header timer, which also closes idle keep-alive connections): a slowloris client that
//!   trickles its headers is disconnected.
//! - Once a request's head has arrived, its connection is closed `request_timeout` later if it
//!   is still busy (a client that does not read its response, or a stuck handler); a new request
//!   on the same connection starts a new period.
//! - Request heads are bounded ([`MAX_REQUEST_HEAD`]); the routes are `GET` only and never read
//!   a request body, but for `POST`/`DELETE` of `/api/v1/silences`, which read at most
//!   [`super::silences::MAX_BODY`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::web_config::{Limits, Live};

/// Largest request line plus headers, in bytes (hyper's read buffer).
pub const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// How long a connection past its deadline may take to close cleanly before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Pause after a failed `accept` (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Serve `router` on `listener` until `stop` turns true, then let open connections finish
/// (each is bounded by the request timeout). Each new connection speaks TLS with the
/// certificate `web` holds when it is accepted (plain HTTP when `web` has no TLS).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    web: Arc<Live>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = tcp.set_nodelay(true);
        let (router, tls, stop) = (router.clone(), web.tls_acceptor(), stop.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let Some(acceptor) = tls else {
                return connection(tcp, router, limits, stop).await;
            };
            match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => connection(stream, router, limits, stop).await,
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let wait = limits.request_timeout + limits.header_read_timeout + CLOSE_GRACE;
    if tokio::time::timeout(wait, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::debug!("connections still open at shutdown were dropped");
    }
}

/// Sleep until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Serve one connection: HTTP/1.1 with the header timer, and a watchdog that closes it
/// `request_timeout` after its latest request's head arrived.
async fn connection<S>(io: S, router: Router, limits: Limits, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (deadline_tx, mut deadline_rx) = watch::channel(None::<Instant>);
    let timeout = limits.request_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        deadline_tx.send_replace(Some(Instant::now() + timeout));
        router.clone().oneshot(request)
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_REQUEST_HEAD)
        .max_buf_size(MAX_REQUEST_HEAD);
    let conn = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let deadline = *deadline_rx.borrow_and_update();
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            Ok(()) = deadline_rx.changed() => {}
            () = sleep_until(deadline) => break,
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    tracing::debug!(timeout = ?limits.request_timeout, "request timeout: closing the connection");
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
}
